"""The invoke tasks: instant listing, help for everything, failures as messages with exit codes."""

import fcntl
import io
import json
import logging
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from conftest import REPO, edit

import tasks  # the repository's tasks.py: solman's tasks and the developers'
from solman import tasks as solman_tasks


def run_invoke(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "invoke", *args], cwd=REPO,
                          capture_output=True, text=True)


def test_listing_tasks_imports_neither_sympy_nor_numpy():
    result = run_invoke("--list")
    assert result.returncode == 0
    for name in ("setup", "pdf", "verify", "test", "clean"):
        assert f"  {name} " in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert not {"sympy", "numpy", "jinja2"} & imported


def test_every_task_and_option_has_help():
    for name, task in tasks.ns.tasks.items():
        assert task.__doc__ and task.__doc__.strip(), name
        for parameter in task.get_arguments():
            assert parameter.help, f"{name} --{parameter.name}"


def test_a_bad_option_is_a_message_and_an_exit_code():
    result = run_invoke("pdf", "--edition", "teachers")
    assert result.returncode == 2
    assert "configuration: unknown edition 'teachers'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_interruption_claims_unchanged_outputs_only_before_publishing(monkeypatch):
    from solman.build import outputs

    for state in ("not started", "staging"):
        monkeypatch.setattr(outputs, "publishing", state)
        assert solman_tasks._interrupted() == "interrupted; the previous PDFs in build/ are unchanged"
    monkeypatch.setattr(outputs, "publishing", "committed")
    message = solman_tasks._interrupted()
    assert "unchanged" not in message and "committed" in message and "next solman command" in message
    monkeypatch.setattr(outputs, "publishing", "done")
    assert "unchanged" not in solman_tasks._interrupted()


def run_both(project: Path, *args: str) -> dict[str, subprocess.CompletedProcess]:
    """``invoke ARGS`` (the repository's tasks.py) and ``solman -C PROJECT ARGS``, both on ``project``."""
    environment = {**os.environ, "SOLMAN_PROJECT": str(project)}
    commands = {"invoke": [sys.executable, "-m", "invoke", "-r", str(REPO), *args],
                "solman": [sys.executable, "-m", "solman", "-C", str(project), *args]}
    return {name: subprocess.run(command, cwd=project, env=environment, capture_output=True, text=True)
            for name, command in commands.items()}


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_after_a_task_that_takes_a_word_is_that_tasks_help(project_dir: Path, flag: str):
    before = sorted(p.relative_to(project_dir) for p in project_dir.rglob("*"))
    pyproject = (project_dir / "pyproject.toml").read_text()
    for task, docstring in (("new", "Start a chapter"), ("init", "Start a course")):
        for binary, result in run_both(project_dir, task, flag).items():
            assert result.returncode == 0, (binary, result.stderr)
            usage = "solman" if binary == "solman" else "inv[oke]"
            assert result.stdout.startswith(f"Usage: {usage} [--core-opts] {task} [--options]"), result.stdout
            assert docstring in result.stdout and "--title=STRING" in result.stdout
            assert result.stderr == ""
    assert sorted(p.relative_to(project_dir) for p in project_dir.rglob("*")) == before  # no chapter, no folder
    assert (project_dir / "pyproject.toml").read_text() == pyproject


def test_a_word_that_looks_like_an_option_is_refused(project_dir: Path):
    pyproject = (project_dir / "pyproject.toml").read_text()
    for binary, result in run_both(project_dir, "new", "--tilte").items():
        assert result.returncode == 2, (binary, result.stderr)
        assert result.stderr.startswith("configuration: '--tilte' is not a chapter id: it starts with '-'")
        assert f"`{binary} new --help` lists the options" in result.stderr
        assert "Traceback" not in result.stderr
    assert (project_dir / "pyproject.toml").read_text() == pyproject
    assert not list(project_dir.glob("chapters/-*"))


def test_invoke_test_hands_pytest_the_whole_k_expression(tmp_path: Path):
    # a stand-in for pytest, first on the path, records the arguments it was given
    fake = tmp_path / "fake" / "pytest"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text("import json, os, sys\n"
                                      "open(os.environ['RECORD'], 'w').write(json.dumps(sys.argv[1:]))\n")
    record = tmp_path / "argv.json"
    path = os.pathsep.join(filter(None, [str(fake.parent), os.environ.get("PYTHONPATH")]))
    expression = "not tex and (build or 'keys')"
    result = subprocess.run([sys.executable, "-m", "invoke", "test", "-k", expression], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": path, "RECORD": str(record)},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    arguments = json.loads(record.read_text())
    assert arguments[arguments.index("-k") + 1] == expression
    assert arguments.count("-k") == 1


ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # the colour of warnings


def on_terminal(args: list[str], environment: dict[str, str], columns: int = 60) -> tuple[list[str], int]:
    """Run ``args`` on a pseudo-terminal ``columns`` wide (stdout and stderr both on it); return its lines,
    without colours or trailing spaces, and its exit code."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: its terminal's size first, as a window would set it
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
            os.execve(args[0], args, environment)
        finally:
            os._exit(127)
    output = b""
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(terminal)
    status = os.waitpid(pid, 0)[1]
    text = ESCAPES.sub("", output.decode())
    return [line.rstrip() for line in text.split("\r\n")], os.waitstatus_to_exitcode(status)


def task_environment(project: Path) -> dict[str, str]:
    environment = {**os.environ, "SOLMAN_PROJECT": str(project)}
    environment.pop("COLUMNS", None)  # the terminal's own size, as set by on_terminal
    return environment


@pytest.mark.tex
def test_progress_on_a_terminal_has_no_level_names_and_warnings_say_so(project_dir: Path):
    edit(project_dir / "verify" / "demo.py", "assert half() + half() == 1", "assert half() + half() == 2")
    lines, code = on_terminal([sys.executable, "-m", "invoke", "pdf", "--chapter", "demo", "--edition", "problems",
                               "--draft"], task_environment(project_dir), columns=100)
    assert code == 0, "\n".join(lines)
    assert "running the tests of demo" in lines  # progress, as it is
    assert not [line for line in lines if line.lstrip().startswith(("INFO", "WARNING", "DEBUG"))]
    assert "warning: verify/demo.py:63: verification: test test_half_is_half failed" in lines
    assert [line for line in lines if line.startswith("warning: this is a DRAFT")]
    assert "build/chapters/demo-problems.pdf (1 page)" in lines


HINT = "use lower-case letters, digits and underscores, starting with a letter, for example ml_final_2025"


def test_errors_on_a_terminal_are_wrapped_at_spaces_to_its_width(project_dir: Path):
    lines, code = on_terminal([sys.executable, "-m", "invoke", "new", "Week-1", "--title", "Week one"],
                              task_environment(project_dir), columns=60)
    assert code == 2
    assert lines[:3] == ["configuration: chapter id 'Week-1' is not valid",
                         "  hint: use lower-case letters, digits and underscores,",
                         "        starting with a letter, for example ml_final_2025"]


def test_errors_in_a_pipe_are_not_wrapped(project_dir: Path):
    result = subprocess.run([sys.executable, "-m", "invoke", "new", "Week-1", "--title", "Week one"], cwd=REPO,
                            env={**task_environment(project_dir), "COLUMNS": "60"}, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["configuration: chapter id 'Week-1' is not valid", f"  hint: {HINT}"]


def test_verify_wraps_its_failures_on_a_terminal(project_dir: Path):
    edit(project_dir / "verify" / "demo.py", "assert half() + half() == 1", "assert half() + half() == 2")
    lines, code = on_terminal([sys.executable, "-m", "invoke", "verify", "--chapter", "demo"],
                              task_environment(project_dir), columns=50)
    assert code == 6
    start = lines.index("  hint: add a test to verify/demo.py that calls")
    assert lines[start:start + 3] == ["  hint: add a test to verify/demo.py that calls",
                                      "        half() and checks it against an",
                                      "        independent computation"]
    assert max(map(len, lines[:lines.index("chapter  questions  values  covered  tests  status")])) <= 50


def test_wrapping_keeps_paths_urls_and_hyphenated_words_whole():
    from solman.errors import ConfigError, Location, wrapped

    path = "build/tex/chapters/a-very-long-chapter-name-solutions.log"
    error = ConfigError(f"cannot read {path} after the build", location=Location("chapters/week1.tex.j2", 3),
                        hint="see https://example.org/guide/writing-questions#answers, then run pdf-again")
    lines = wrapped(error.render(), 40).split("\n")
    assert lines == ["chapters/week1.tex.j2:3: configuration:",
                     "    cannot read",
                     f"    {path}",
                     "    after the build",
                     "  hint: see",
                     "        https://example.org/guide/writing-questions#answers,",
                     "        then run pdf-again"]
    assert wrapped(error.render(), None) == error.render()
    assert wrapped("short\n  lines stay", 40) == "short\n  lines stay"


def test_the_readme_export_commands_write_a_bank_per_chapter(tmp_path: Path):
    """README, "Exports to learning platforms": invoke export --format moodle, then --format qti."""
    from conftest import FIXTURE
    from lms_chapter import make_project

    project = make_project(tmp_path / "project", FIXTURE)
    for format, name in (("moodle", "demo.xml"), ("qti", "demo.zip")):
        result = subprocess.run([sys.executable, "-m", "invoke", "-r", str(REPO), "export", "--format", format],
                                cwd=project, capture_output=True, text=True)
        assert (result.returncode, result.stdout.split()) == (0, [f"build/export/{format}/{name}"]), result.stderr
    result = subprocess.run([sys.executable, "-m", "invoke", "-r", str(REPO), "export", "--format", "scorm"],
                            cwd=project, capture_output=True, text=True)
    assert result.returncode == 2 and "unknown export format 'scorm'" in result.stderr


def test_progress_on_a_terminal_is_wrapped_to_its_width_and_warnings_are_coloured(monkeypatch):
    from solman.tasks import _Format, _Terminal

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("COLUMNS", "30")
    stream = Terminal()
    handler = _Terminal(stream)
    handler.setFormatter(_Format())
    for level, message in [(logging.INFO, "rendering 6 chapters"), (logging.WARNING, "a warning long enough to wrap")]:
        handler.emit(logging.LogRecord("solman", level, __file__, 1, message, None, None))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "rendering 6 chapters"
    assert lines[1].startswith("\x1b[1;33mwarning: a warning") and lines[-1].endswith("\x1b[0m")
    assert [len(ESCAPES.sub("", line)) <= 30 for line in lines] == [True] * 3
