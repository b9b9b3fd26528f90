"""./bootstrap, really run: a copy of the script in a small fake project, with stand-ins for python3, the
virtual environment's python, pip, id, sudo and apt-get that record how they were called."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

# One stand-in for every program: it logs its name and arguments, then plays its part. It runs on the real
# Python with -I -S, so that only the fake project's "installed" packages (.venv/site) can be imported.
STAND_IN = '''#!{python} -IS
import json, os, shutil, stat, sys

NAME = {name!r}
args = sys.argv[1:]
with open(os.environ["BOOTSTRAP_LOG"], "a") as log:
    log.write(json.dumps([NAME, *args]) + "\\n")


def executable(path, source):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as file:
        file.write(source)
    os.chmod(path, 0o755)


if NAME == "id":
    print(os.environ.get("FAKE_UID", "1000"))
elif NAME == "sudo":
    os.execvp(args[0], args)
elif NAME in ("python3", "venv-python"):
    venv = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) if NAME == "venv-python" else None
    if args[:2] == ["-m", "venv"]:
        source = open(__file__).read().replace("NAME = 'python3'", "NAME = 'venv-python'")
        executable(os.path.join(args[2], "bin", "python"), source)
    elif args[:3] == ["-m", "pip", "install"]:
        if os.environ.get("FAKE_PIP_FAILS"):
            sys.exit("pip: no network")
        for module in ("__init__", "cli"):
            executable(os.path.join(venv, "site", "solman", module + ".py"), "")
        executable(os.path.join(venv, "bin", "invoke"), open(__file__).read().replace(
            "NAME = 'venv-python'", "NAME = 'invoke'"))
    elif args[:2] == ["-m", "compileall"]:
        pass
    elif args == ["--version"]:
        print("Python " + os.environ.get("FAKE_PYTHON_VERSION", sys.version.split()[0]))
    else:  # python [-I] -c CODE: run it, seeing what the environment "installed", and the cwd unless -I
        isolated = args[0] == "-I"
        code = args[args.index("-c") + 1]
        sys.version = os.environ.get("FAKE_PYTHON_VERSION", sys.version)
        sys.path[:0] = ([] if isolated else [os.getcwd()]) + ([os.path.join(venv, "site")] if venv else [])
        sys.argv = ["-c"]
        exec(compile(code, "<string>", "exec"), {{"__name__": "__main__"}})
'''

TOOLS = ("dirname", "cat", "rm", "env")  # the real programs the script needs besides the stand-ins


@pytest.fixture
def workplace(tmp_path: Path):
    """A fake project holding a copy of ./bootstrap, and a folder of stand-ins that is the whole PATH."""
    project = tmp_path / "course"
    (project / "solman").mkdir(parents=True)
    (project / "solman" / "cli.py").write_text("")  # importable from the project folder, not installed
    (project / "tasks.py").write_text("")
    (project / "pyproject.toml").write_text('[project]\nname = "course"\n')
    shutil.copy(REPO / "bootstrap", project / "bootstrap")
    shims = tmp_path / "bin"
    shims.mkdir()
    for tool in TOOLS:
        (shims / tool).symlink_to(shutil.which(tool))
    return project, shims


def stand_in(shims: Path, name: str) -> None:
    path = shims / name
    path.write_text(STAND_IN.format(python=sys.executable, name=name))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def bootstrap(project: Path, shims: Path, *args: str, **environment: str) -> tuple[subprocess.CompletedProcess, list]:
    log = project.parent / "calls.jsonl"
    log.unlink(missing_ok=True)
    result = subprocess.run(["/bin/sh", str(project / "bootstrap"), *args], capture_output=True, text=True,
                            cwd=project.parent, timeout=120,
                            env={"PATH": str(shims), "HOME": str(project.parent), "BOOTSTRAP_LOG": str(log),
                                 **environment})
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def pip_runs(calls: list) -> list:
    return [c for c in calls if c[0] == "venv-python" and c[1:3] in (["-m", "pip"], ["-m", "compileall"])]


def test_pip_runs_only_when_what_it_installs_from_changed(workplace):
    project, shims = workplace
    for name in ("python3", "id", "apt-get"):
        stand_in(shims, name)

    result, calls = bootstrap(project, shims, "pdf")
    assert result.returncode == 0, result.stderr
    assert [c[1:3] for c in pip_runs(calls)] == [["-m", "pip"], ["-m", "compileall"]]
    assert ["venv-python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]"] in calls
    assert [c for c in calls if c[0] == "invoke"] == [["invoke", "setup"], ["invoke", "pdf"]]

    # the test suite loads the HTML edition in a browser (CI runs ./bootstrap test): LaTeXML, Chromium, axe-core
    for task in ("test", "html"):
        result, calls = bootstrap(project, shims, task)
        assert result.returncode == 0, result.stderr
        assert [c for c in calls if c[0] == "invoke"] == [["invoke", "setup", "--html"], ["invoke", task]]

    result, calls = bootstrap(project, shims, "pdf")  # nothing changed: neither pip nor compileall
    assert result.returncode == 0, result.stderr
    assert pip_runs(calls) == []
    assert "installing Python packages" not in result.stderr
    assert [c for c in calls if c[0] == "invoke"] == [["invoke", "setup"], ["invoke", "pdf"]]

    # each of these makes the next run install again, and only that one
    def changed_pyproject():
        with (project / "pyproject.toml").open("a") as file:
            file.write('dependencies = ["sympy"]\n')

    def broken_install():
        (project / ".venv" / "site" / "solman" / "cli.py").unlink()

    for change, environment in ((changed_pyproject, {}), (broken_install, {}), (None, {"FAKE_PYTHON_VERSION": "3.13.1"})):
        if change:
            change()
        result, calls = bootstrap(project, shims, "pdf", **environment)
        assert result.returncode == 0, result.stderr
        assert len(pip_runs(calls)) == 2, change or environment
        assert "installing Python packages (pip install -e .[dev])" in result.stderr
        result, calls = bootstrap(project, shims, "pdf", **environment)
        assert pip_runs(calls) == [], change or environment


def test_a_failed_install_is_tried_again(workplace):
    project, shims = workplace
    for name in ("python3", "id", "apt-get"):
        stand_in(shims, name)
    assert bootstrap(project, shims, "pdf")[0].returncode == 0
    with (project / "pyproject.toml").open("a") as file:
        file.write("# changed\n")
    result, calls = bootstrap(project, shims, "pdf", FAKE_PIP_FAILS="1")
    assert result.returncode != 0 and "pip: no network" in result.stderr
    assert not [c for c in calls if c[0] == "invoke"]
    result, calls = bootstrap(project, shims, "pdf")
    assert result.returncode == 0, result.stderr
    assert len(pip_runs(calls)) == 2


def test_without_python_root_or_sudo_it_names_the_command_to_run_as_root(workplace):
    project, shims = workplace
    for name in ("id", "apt-get"):  # no python3, no sudo
        stand_in(shims, name)
    result, calls = bootstrap(project, shims, "pdf")
    assert result.returncode == 1
    assert "As root, run:  apt-get update && apt-get install -y --no-install-recommends python3 python3-venv" \
        in result.stderr
    assert "not found" not in result.stderr
    assert [c[0] for c in calls] == ["id"]  # apt-get never ran


@pytest.mark.parametrize("uid, through_sudo", [("1000", True), ("0", False)])
def test_with_sudo_or_as_root_it_installs_python_with_apt_get(workplace, uid, through_sudo):
    project, shims = workplace
    for name in ("id", "apt-get", "sudo"):
        stand_in(shims, name)
    result, calls = bootstrap(project, shims, "pdf", FAKE_UID=uid)
    assert "installing python3 and python3-venv with apt-get" in result.stderr
    apt = [c for c in calls if c[0] == "apt-get"]
    assert apt == [["apt-get", "update", "-q"],
                   ["apt-get", "install", "-y", "--no-install-recommends", "python3", "python3-venv"]]
    assert any(c[0] == "sudo" for c in calls) is through_sudo
    assert result.returncode == 1  # the stand-in apt-get installed nothing: bootstrap says Python is missing
    assert "solman needs Python 3.11 or newer" in result.stderr
