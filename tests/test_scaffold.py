"""`solman init`: a course of one's own, laid out as instructors expect, that builds at once.

The end-to-end test installs solman's wheel into a virtual environment outside this repository and
follows README's "Start a course" steps with the `solman` and `invoke` commands of that environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from conftest import REPO

from solman.errors import ConfigError
from solman.latex.toolchain import DEBIAN_PACKAGES
from solman.project.scaffold import init_project
from solman.project.settings import load_project


def test_init_lays_out_a_course_with_an_example_chapter(tmp_path: Path):
    root = tmp_path / "course"
    written = init_project(root, 'Linear "Algebra", 2026', "A. Teacher", "en")
    names = sorted(p.relative_to(root).as_posix() for p in written)
    assert names == sorted([".github/workflows/verify.yml", ".gitignore", "README.md", "chapters/week1.tex.j2",
                            "pyproject.toml", "tasks.py", "templates/.gitkeep", "verify/week1.py"])
    settings = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["solman"]
    assert settings["title"] == 'Linear "Algebra", 2026' and settings["author"] == "A. Teacher"
    assert settings["language"] == "en" and settings["chapters"] == ["week1"]
    project = load_project(root)
    assert [c.id for c in project.chapters] == ["week1"] and project.templates == root / "templates"
    tasks = [line for line in (root / "tasks.py").read_text().splitlines() if line.strip()]
    assert len(tasks) == 2 and tasks[1].startswith("from solman.tasks import ns")
    assert "build/" in (root / ".gitignore").read_text().splitlines()
    workflow = (root / ".github" / "workflows" / "verify.yml").read_text()
    assert all(package in workflow for package in DEBIAN_PACKAGES)
    assert "pip install solman-tex" in workflow and "run: invoke verify" in workflow
    assert not (root / "build").exists()


@pytest.mark.parametrize("existing", ["a file in it", "a file instead"])
def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path, existing: str):
    root = tmp_path / "course"
    if existing == "a file in it":
        root.mkdir()
        (root / "notes.txt").write_text("mine")
    else:
        root.write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        init_project(root, "Course")
    assert (root / "notes.txt").read_text() == "mine" if root.is_dir() else root.read_text() == "mine"


def test_init_takes_an_empty_folder_and_refuses_a_missing_title_or_an_unknown_language(tmp_path: Path):
    with pytest.raises(ConfigError, match="needs a title"):
        init_project(tmp_path / "a", "  ")
    with pytest.raises(ConfigError, match="unknown language 'es'"):
        init_project(tmp_path / "b", "Curso", language="es")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    (tmp_path / "empty").mkdir()
    assert init_project(tmp_path / "empty", "Course")


def run_solman(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solman", *args], cwd=cwd, capture_output=True, text=True,
                          env=env or os.environ.copy())


def test_the_solman_command_says_its_version_and_refuses_to_init_twice(tmp_path: Path):
    from solman import __version__

    assert run_solman("--version", cwd=tmp_path).stdout.strip() == f"solman {__version__}"
    first = run_solman("init", "course", "--title", "Course", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "wrote course/pyproject.toml" in first.stdout and "next: cd course" in first.stdout
    again = run_solman("init", "course", "--title", "Course", cwd=tmp_path)
    assert again.returncode == 2 and "is not empty" in again.stderr and "Traceback" not in again.stderr


def test_a_command_outside_any_project_says_how_to_start_one(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "SOLMAN_PROJECT"}
    result = run_solman("pdf", cwd=tmp_path, env=env)
    assert result.returncode == 2 and "no solman project in" in result.stderr
    assert "solman init DIR" in result.stderr and "Traceback" not in result.stderr


def test_the_project_is_found_from_a_subfolder_or_named_with_C(tmp_path: Path):
    init_project(tmp_path / "course", "Course")
    env = {k: v for k, v in os.environ.items() if k != "SOLMAN_PROJECT"}
    inside = run_solman("new", "week2", "--title", "Week 2", cwd=tmp_path / "course" / "chapters", env=env)
    assert inside.returncode == 0, inside.stderr
    named = run_solman("-C", str(tmp_path / "course"), "new", "week3", "--title", "Week 3", cwd=tmp_path, env=env)
    assert named.returncode == 0, named.stderr
    assert [c.id for c in load_project(tmp_path / "course").chapters] == ["week1", "week2", "week3"]


# --- the wheel, installed outside this repository ---------------------------------------------------

@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtual environment outside the repository with solman's wheel installed (its dependencies are
    this environment's, reached through a .pth file, so that the test needs no network)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy: setuptools writes build/ and *.egg-info next to the sources
    shutil.copytree(REPO / "solman", source / "solman", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(work / "dist"), str(source)], capture_output=True, text=True, cwd=work)
    assert built.returncode == 0, built.stderr
    wheel = next((work / "dist").glob("solman_tex-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                              str(wheel)], capture_output=True, text=True, cwd=work)
    assert install.returncode == 0, install.stderr
    return venv


def test_the_wheel_holds_the_engine_its_templates_and_its_licence(installed: Path):
    python = installed / "bin" / "python"
    probe = subprocess.run([python, "-c", "import solman, importlib.metadata as m; print(solman.__file__); "
                            "print(m.metadata('solman-tex')['License-Expression'])"],
                           capture_output=True, text=True, cwd="/", check=True).stdout.split()
    assert probe[0].startswith(str(installed)) and probe[1] == "MIT"
    package = Path(probe[0]).parent
    for name in ("manual.tex.j2", "chapter.tex.j2", "appendix.tex.j2", "verification-intro.tex", "solman.sty"):
        assert (package / "rendering" / "templates" / name).is_file(), name
    assert (package / "exports" / "answer-key.schema.json").is_file()
    assert not (package.parent / "dev").exists() and not (package.parent / "tasks.py").exists()


@pytest.mark.tex
def test_a_french_course_from_init_to_verify_with_the_installed_commands(installed: Path, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("SOLMAN_PROJECT", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{installed / 'bin'}{os.pathsep}{env['PATH']}"

    def run(*command: str, cwd: Path) -> str:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
        return result.stdout

    invoke = [str(installed / "bin" / "python"), "-m", "invoke"]
    run("solman", "init", "course", "--title", "Algèbre linéaire", "--language", "fr", cwd=tmp_path)
    course = tmp_path / "course"
    run(*invoke, "pdf", cwd=course)
    assert "VERIFIED" in run(*invoke, "verify", cwd=course)
    run("solman", "new", "week2", "--title", "Semaine 2", cwd=course)
    run("solman", "pdf", cwd=course)
    assert "VERIFIED" in run("solman", "verify", cwd=course)
    text = subprocess.run(["pdftotext", "-layout", str(course / "build" / "manual.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Algèbre linéaire" in text and "Semaine 1" in text and "Semaine 2" in text
    assert "Chapitre" in text and "Solution" in text and "Chapter" not in text


def test_invoke_in_a_new_project_and_the_solman_command_have_the_same_tasks_and_help(tmp_path: Path):
    init_project(tmp_path / "course", "Course")
    env = {k: v for k, v in os.environ.items() if k != "SOLMAN_PROJECT"}

    def output(program: str, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", program, *args], cwd=tmp_path / "course", env=env,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.replace("Usage: inv[oke] ", "Usage: solman ").replace("Available tasks:", "Subcommands:")

    assert output("invoke", "--list") == output("solman", "--list")
    for name in ("init", "setup", "new", "pdf", "watch", "verify", "keys", "export", "clean"):
        assert output("invoke", name, "--help") == output("solman", name, "--help"), name
    assert "test" not in output("solman", "--list").split() and "bench" not in output("solman", "--list").split()
