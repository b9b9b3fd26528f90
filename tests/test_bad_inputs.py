"""The bad-input corpus: every kind of author mistake, end to end with real latexmk runs.

Each case breaks a copy of the built fixture project in one way and asserts that the build
fails with the right category, at the author's own file and line, with a message and a hint,
and that the previous PDFs and manifest are byte-identical afterwards.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import FIXTURE, REPO, edit, override, snapshot

from solman.build.pipeline import build
from solman.errors import SolmanError
from solman.latex.pdfs import pdf_text
from solman.project.settings import load_project

pytestmark = pytest.mark.tex

VERIFY_LINES = len((FIXTURE / "verify" / "demo.py").read_text().splitlines())


@dataclass
class Case:
    name: str
    edits: list[tuple[str, str, str]]  # (file, old, new); old "" appends
    category: str
    location: str
    message: str
    detail: str = ""


def value(name: str, body: str) -> tuple[str, str, str]:
    return ("verify/demo.py", "", f"\n\n@value\ndef {name}():\n    {body}\n")


def printed(expression: str) -> tuple[str, str, str]:
    return ("chapters/demo.tex.j2", "What is half of one?", f"What is half of one? $\\VAR{{ {expression} }}$")


CASES = [
    Case("unknown name", [("chapters/demo.tex.j2", r"$\VAR{ half }$", r"$\VAR{ halve }$")],
         "template", "chapters/demo.tex.j2:18", "'halve' is undefined"),
    Case("template syntax", [("chapters/demo.tex.j2", "\\BLOCK{ call solution() }\nIt is",
                              "\\BLOCK{ call solution( }\nIt is")],
         "template", "chapters/demo.tex.j2:17", "unexpected"),
    Case("unknown filter", [("chapters/demo.tex.j2", "pi_estimate | fixed(3)", "pi_estimate | fixd(3)")],
         "template", "chapters/demo.tex.j2:26", "No filter named 'fixd'"),
    Case("question misuse", [("chapters/demo.tex.j2", "\\VAR{ points_table() }",
                              "\\BLOCK{ call solution() }x\\BLOCK{ endcall }")],
         "template", "chapters/demo.tex.j2:4", "solution() must be inside a question"),
    Case("latex error in template text", [("chapters/demo.tex.j2", "What is half of one?", r"What is \halfof one?")],
         "latex", "chapters/demo.tex.j2:16", "Undefined control sequence"),
    Case("latex error inside a value", [value("bad_tex", r'return tex(r"\notamacro{1}")'), printed("bad_tex"),
                                        ("verify/demo.py", "", "\n\ndef test_bad_tex():\n    assert 'notamacro' in bad_tex()\n")],
         "latex", "chapters/demo.tex.j2:16", "Undefined control sequence",
         detail=r"that line prints value 'bad_tex' as: \notamacro{1}"),
    Case("latex error in the shell", [("templates/manual.tex.j2", "\\frontmatter", "\\frontmatter\n\\badshellmacro")],
         "latex", "templates/manual.tex.j2:18", "Undefined control sequence"),
    Case("latex error in the style", [("templates/solman.sty", "\\endinput", "\\badstylemacro\n\\endinput")],
         "latex", "templates/solman.sty:", "Undefined control sequence"),
    Case("reading outside the project", [("chapters/demo.tex.j2", "What is half of one?", r"\input{/etc/hostname}")],
         "latex", "chapters/demo.tex.j2:16", "not found"),
    Case("writing outside the project", [("chapters/demo.tex.j2", "What is half of one?",
                                          r"\newwrite\f \immediate\openout\f=/tmp/solman-outside.txt")],
         "latex", "chapters/demo.tex.j2:16", "I can't write on file"),
    Case("exception in a value", [value("ratio_of_nothing", "return 1 / 0"), printed("ratio_of_nothing")],
         "value", f"verify/demo.py:{VERIFY_LINES + 5}", "value 'ratio_of_nothing' raised ZeroDivisionError",
         detail="needed by chapters/demo.tex.j2:16 (question 1b)"),
    Case("NaN", [value("undefined_mean", 'return float("nan")'), printed("undefined_mean | fixed(2)")],
         "value", "chapters/demo.tex.j2:16", "not a finite number"),
    Case("infinity", [value("unbounded", 'return float("inf")'), printed("unbounded | fixed(2)")],
         "value", "chapters/demo.tex.j2:16", "not a finite number"),
    Case("complex where a real is printed", [value("root", "return (-1) ** 0.5"), printed("root | fixed(2)")],
         "value", "chapters/demo.tex.j2:16", "cannot be printed where a real is expected"),
    Case("float without precision", [value("ratio", "return 2 / 3"), printed("ratio")],
         "value", "chapters/demo.tex.j2:16", "needs a precision"),
    Case("unsupported type", [value("thing", "return object()"), printed("thing")],
         "value", "chapters/demo.tex.j2:16", "cannot print a value of type object"),
    Case("value returns None", [value("forgotten", "pass"), printed("forgotten")],
         "value", "chapters/demo.tex.j2:16", "did the value function forget to return"),
    Case("dict printed whole", [value("table", 'return {"a": 1}'), printed("table")],
         "value", "chapters/demo.tex.j2:16", "index it"),
    Case("syntax error in a verify module", [("verify/demo.py", "def half():", "def half(:")],
         "value", "verify/demo.py:", "demo.py does not parse"),
    Case("import error in a verify module", [("verify/demo.py", "import numpy as np", "import numpy as np\nimport nonexistent_helper")],
         "value", "verify/demo.py:6", "No module named 'nonexistent_helper'"),
    Case("unknown setting", [("pyproject.toml", 'year = 2026', 'year = 2026\ntitel = "typo"')],
         "configuration", "pyproject.toml:6", "unknown setting 'titel'"),
    Case("timeout zero", [("pyproject.toml", "year = 2026", "year = 2026\ntimeout = 0")],
         "configuration", "pyproject.toml:6", "setting 'timeout' must be a positive number of seconds, not 0"),
    Case("timeout negative", [("pyproject.toml", "year = 2026", "year = 2026\ntimeout = -1")],
         "configuration", "pyproject.toml:6", "setting 'timeout' must be a positive number of seconds, not -1"),
    Case("timeout not a number", [("pyproject.toml", "year = 2026", 'year = 2026\ntimeout = "abc"')],
         "configuration", "pyproject.toml:6", "setting 'timeout' must be a positive number of seconds, not 'abc'"),
    Case("missing chapter file", [("pyproject.toml", 'chapters = ["demo"]', 'chapters = ["demo", "ghost"]')],
         "configuration", "pyproject.toml:6", "chapters/ghost.tex.j2, which does not exist"),
    Case("answer space that is not a length", [("chapters/demo.tex.j2", 'call question("1b", points=1)',
                                                 'call question("1b", points=1, space="4 lines")')],
         "template", "chapters/demo.tex.j2:15", "question '1b': space '4 lines' has the unit 'lines'"),
    Case("unknown answer space fill", [("pyproject.toml", "year = 2026", 'year = 2026\nanswer_space = {fill = "ruled"}')],
         "configuration", "pyproject.toml:6", "answer_space: unknown fill 'ruled'"),
    # a build that would print anything untested fails (and names it), unless it is a draft
    Case("failing test", [("verify/demo.py", "assert half() + half() == 1", "assert half() + half() == 3")],
         "verification", "verify/demo.py:63", "test test_half_is_half failed",
         detail="assert (Fraction(1, 2) + Fraction(1, 2)) == 3"),
    Case("printed value without a test", [value("untested", "return 7"), printed("untested")],
         "verification", "chapters/demo.tex.j2:16", "value 'untested' is printed (question 1b) but no passing test"),
    Case("skipped test", [("verify/demo.py", "def test_half_is_half():", "import pytest\n\n\n@pytest.mark.skip\ndef test_half_is_half():")],
         "verification", "verify/demo.py:66", "test test_half_is_half was skipped"),
    # sizes, precisions, cycles and characters LaTeX cannot take: refused at the template line, naming the value
    Case("year out of range", [("pyproject.toml", "year = 2026", "year = 99999999999")],
         "configuration", "pyproject.toml:5", "year 99999999999 is out of range"),
    Case("integer too long to print", [value("huge", "return 10 ** 20000"), printed("huge")],
         "value", "chapters/demo.tex.j2:16", "cannot print value 'huge' with latex: an integer of about 20001 digits"),
    Case("integer too long for fixed", [value("huge", "return 10 ** 20000"), printed("huge | fixed(2)")],
         "value", "chapters/demo.tex.j2:16", "cannot print value 'huge' with fixed(2): a number of about"),
    Case("absurd precision", [printed("half | fixed(100000)")],
         "value", "chapters/demo.tex.j2:16", "fixed(n) needs a whole number 0 <= n <= 50, not 100000"),
    Case("no significant digits", [printed("half | sig(0)")],
         "value", "chapters/demo.tex.j2:16", "cannot print value 'half' with sig(0): sig(n) needs a whole number 1 <= n"),
    Case("list that contains itself", [value("loop", "x = []; x.append(x); return x"), printed("loop")],
         "value", "chapters/demo.tex.j2:16", "cannot print value 'loop' with latex: the value contains itself"),
    Case("control character in tex()", [value("escape", 'return tex("a\\x1bb")'), printed("escape")],
         "value", "chapters/demo.tex.j2:16", "has the control character U+001B (ESC) at position 2"),
    Case("control character in a string", [value("bell", 'return "ding\\x07"'), printed("bell")],
         "value", "chapters/demo.tex.j2:16", "has the control character U+0007 (BEL) at position 5"),
    Case("control character in template text", [("chapters/demo.tex.j2", "What is half of one?", "What is half\x00 of one?")],
         "template", "chapters/demo.tex.j2:16", "control character U+0000 (NUL) at column 13"),
    Case("matrix too large for TeX", [value("grid", "import sympy as sp; return sp.Matrix(200, 200, lambda i, j: i + j)"),
                                      printed("grid")],
         "value", "chapters/demo.tex.j2:16", "a 200x200 matrix is too large to print"),
]




def apply(root: Path, edits: list[tuple[str, str, str]]) -> None:
    for file, old, new in edits:
        if file.startswith("templates/"):
            override(root, file.removeprefix("templates/"))
        if old:
            edit(root / file, old, new)
        else:
            with open(root / file, "a", encoding="utf-8") as handle:
                handle.write(new)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_mistake_is_reported_at_its_line_and_loses_nothing(built: Path, case: Case):
    before = snapshot(built)
    apply(built, case.edits)
    with pytest.raises(SolmanError) as caught:
        build(load_project(built))
    error = caught.value
    assert error.category == case.category, error.render()
    assert str(error.location).startswith(case.location), error.render()
    assert case.message in error.message, error.render()
    assert error.hint, error.render()
    if case.detail:
        assert case.detail in error.details, error.render()
    if error.location.line:
        assert error.location.text is not None  # the offending line is shown
    assert snapshot(built) == before
    assert not Path("/tmp/solman-outside.txt").exists()


def test_shell_escape_is_disabled(built: Path, tmp_path: Path):
    marker = tmp_path / "shell-escape-ran"
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?",
         f"What is half of one? \\immediate\\write18{{touch {marker}}}")
    build(load_project(built))
    assert not marker.exists()


def test_special_characters_and_unicode_print_literally(built: Path):
    apply(built, [value("place", 'return "Zürich & Co: 50% of $5, #1 {x} ~ ^ _ café α"'),
                  ("chapters/demo.tex.j2", "What is half of one?", "What is half of one? \\VAR{ place }")])
    edit(built / "verify" / "demo.py", "def test_answer_letter():", "def test_place():\n    assert 'é' in place()\n\n\ndef test_answer_letter():")
    build(load_project(built))
    text = pdf_text(built / "build" / "manual.pdf")
    assert "Zürich & Co: 50% of $5, #1 {x} ~ ^ _ café α" in " ".join(text.split())


def test_nothing_is_written_outside_build(built: Path, tmp_path: Path):
    # The project is a git repository whose index is stale (a tracked file touched since it was
    # written): a plain `git status` would rewrite .git/index. TMPDIR points at an empty folder:
    # pytest, pdfdetach and the tests' temporaries must go under build/ instead.
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=built,
                       check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A", ":!build")
    git("commit", "-q", "-m", "sources")
    os.utime(built / "pyproject.toml", (time.time() - 100,) * 2)  # stale index entry (in the past: git refreshes it)
    index = built / ".git" / "index"
    index_before = (index.read_bytes(), index.stat().st_mtime_ns)

    def files() -> dict[str, bytes]:
        return {str(p.relative_to(built)): p.read_bytes() for p in built.rglob("*")
                if p.is_file() and p.relative_to(built).parts[0] != "build"}

    before = files()
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half of one?")
    changed = files()
    temporary = tmp_path / "tmpdir"
    temporary.mkdir()
    os.utime(temporary, (0, 0))  # a file created there, even if removed since, changes this
    for command in ("pdf", "verify"):
        process = invoke(built, command, "--quiet", env=dict(os.environ, SOLMAN_PROJECT=str(built),
                                                             TMPDIR=str(temporary)))
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
    assert files() == changed and set(changed) == set(before)
    assert (index.read_bytes(), index.stat().st_mtime_ns) == index_before
    assert list(temporary.iterdir()) == [] and temporary.stat().st_mtime == 0
    assert not list((built / "build" / "verify").glob("run-*"))  # each run's scratch is removed


def build_holding_the_lock(built: Path) -> subprocess.Popen:
    """An `invoke pdf` of an edited project, started and holding build/.lock (it names its pid there)."""
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half?")
    first = invoke(built, "pdf", "--quiet")
    lock = built / "build" / ".lock"
    deadline = time.monotonic() + 60
    while "pid" not in (lock.read_text() if lock.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.05)
    return first


def test_verify_started_during_a_build_waits_for_it(built: Path):
    first = build_holding_the_lock(built)
    second = invoke(built, "verify")
    stdout, stderr = second.communicate(timeout=600)
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err
    assert second.returncode == 0, stderr
    assert "another solman command is writing build/ (pid" in stderr
    assert "PDFs: 4 of 4 current" in stdout  # it read the new set, once published


def test_clean_waits_for_a_build_and_keeps_only_the_lock(built: Path):
    first = build_holding_the_lock(built)
    second = invoke(built, "clean")
    stdout, stderr = second.communicate(timeout=600)
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err  # its lock was not removed under it
    assert second.returncode == 0 and "waiting for it to finish" in stderr and "emptied build/" in stdout
    assert [p.name for p in (built / "build").iterdir()] == [".lock"]


# --- an interrupted publish: the old set or the new one, never a mix -----------------------------

PROBLEMS = ["problems.pdf", "chapters/demo-problems.pdf"]  # what `invoke pdf --edition problems` publishes
STEPS = ["staged", "journaled", *(f"renamed-{k}" for k in range(1, len(PROBLEMS) + 2)), "finished"]
SIGINT_STEPS = sorted(random.Random(16).sample(STEPS, 2), key=STEPS.index)  # fixed seed


def whole_new_set(root: Path, before: dict[str, bytes]) -> bool:
    """The new PDFs of the problems edition, the others as before, and a manifest describing every one."""
    import json

    from solman.build.manifest import records_by_output
    from solman.latex.pdfs import read_digest
    from solman.rendering.sources import sha256

    manifest = json.loads((root / "build" / "manifest.json").read_bytes())
    records = records_by_output(manifest["outputs"])
    for output in ["manual.pdf", "problems.pdf", "chapters/demo-solutions.pdf", "chapters/demo-problems.pdf"]:
        pdf = root / "build" / output
        new = output in PROBLEMS
        assert (pdf.read_bytes() != before[output]) == new, output
        assert records[output]["pdf"] == sha256(pdf.read_bytes()), output
        assert read_digest(pdf) in manifest["outputs"] and records[output]["digest"] == read_digest(pdf), output
        if new:
            assert "What is one half?" in pdf_text(pdf), output
    return True


@pytest.mark.parametrize("how, step", [*((signal.SIGKILL, step) for step in STEPS),
                                       *((signal.SIGINT, step) for step in SIGINT_STEPS)],
                         ids=lambda value: value.name if isinstance(value, signal.Signals) else value)
def test_a_publish_interrupted_at_any_step_leaves_the_old_set_or_the_new_one(built: Path, how, step: str):
    before = snapshot(built)
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half?")
    process = invoke(built, "pdf", "--edition", "problems", "--quiet", start_new_session=True,
                     env=dict(os.environ, SOLMAN_PROJECT=str(built), SOLMAN_TEST_PAUSE_IN_PUBLISH=step))
    for line in process.stderr:  # wait until it stops at that step of publishing
        if f"paused in publish at step {step}" in line:
            break
    else:
        pytest.fail(f"the build never reached step {step}: {process.communicate()}")
    os.killpg(process.pid, how)
    _, stderr = process.communicate(timeout=120)
    committed = step != "staged"
    if how == signal.SIGINT:
        assert process.returncode == 130
        assert ("interrupted after the new PDFs were published" if committed
                else "interrupted; the previous PDFs in build/ are unchanged") in stderr
    # the next command, a reader, sees one whole set (and leaves no trace of the interrupted publish)
    verified = invoke(built, "verify", "--quiet")
    stdout, _ = verified.communicate(timeout=600)
    if committed:
        assert whole_new_set(built, before) and "PDFs: 2 of 4 current (2 stale)" in stdout
    else:
        assert snapshot(built) == before and "PDFs: 0 of 4 current (4 stale)" in stdout
    assert not (built / "build" / "publish.journal").exists() and not (built / "build" / ".publish").exists()


# --- the command line: exit codes, no tracebacks, the lock, interruptions ----------------------

def invoke(root: Path, *args: str, **kwargs) -> subprocess.Popen:
    kwargs.setdefault("env", dict(os.environ, SOLMAN_PROJECT=str(root)))
    return subprocess.Popen([sys.executable, "-m", "invoke", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.parametrize("case", [c for c in CASES if c.name in (
    "unknown name", "latex error in template text", "exception in a value", "unknown setting", "failing test",
    "timeout not a number")],
    ids=lambda c: c.name)
def test_the_command_line_prints_the_location_and_exits_with_the_category_code(built: Path, case: Case):
    from solman.errors import EXIT_CODES

    apply(built, case.edits)
    process = invoke(built, "pdf", "--quiet")
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == EXIT_CODES[case.category]
    assert stderr.startswith(f"{case.location}") and f": {case.category}: " in stderr.splitlines()[0]
    assert "Traceback" not in stderr and "hint:" in stderr


def test_a_second_build_waits_for_the_first(built: Path):
    first = build_holding_the_lock(built)
    second = invoke(built, "pdf")
    _, second_err = second.communicate(timeout=600)
    first.communicate(timeout=600)
    assert first.returncode == 0 and second.returncode == 0
    assert "another solman command is writing build/ (pid" in second_err


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill -9"])
def test_an_interrupted_build_leaves_the_previous_outputs(built: Path, how: signal.Signals):
    before = snapshot(built)
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half?")
    process = invoke(built, "pdf", start_new_session=True)
    out = built / "build" / "tex" / "out"
    deadline = time.monotonic() + 120
    while not any(out.glob("*/.unfinished")) and time.monotonic() < deadline:  # LaTeX is running
        time.sleep(0.05)
    time.sleep(0.5)
    os.killpg(process.pid, how)
    _, stderr = process.communicate(timeout=120)
    assert snapshot(built) == before
    if how == signal.SIGINT:
        assert process.returncode == 130 and "previous PDFs in build/ are unchanged" in stderr
    # and the next build works, from whatever the interruption left behind
    build(load_project(built))
    assert "What is one half?" in pdf_text(built / "build" / "problems.pdf")


# --- templates are text: nothing of Python is reachable from them -------------------------------

MARKER = Path("/tmp/solman-pwned")

ATTEMPTS = [
    f'see.__func__.__globals__["sys"].modules["os"].system("touch {MARKER}")',
    '"".__class__.__mro__[1].__subclasses__()',
    "cycler.__init__.__globals__",
    "self",
    "lipsum",
    "range(10**9)",
    "10 ** (10 ** 10)",
    "matrix.T.__class__",
    "half.limit_denominator",
    "half.limit_denominator(3)",
]


@pytest.mark.parametrize("attempt", [*ATTEMPTS, "\\BLOCK{ set x = edition.__class__ }"])
def test_a_template_cannot_reach_python(built: Path, attempt: str):
    MARKER.unlink(missing_ok=True)
    before = snapshot(built)
    statement = attempt if attempt.startswith("\\BLOCK") else f"\\VAR{{ {attempt} }}"
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", f"What is half of one? {statement}")
    process = invoke(built, "pdf", "--quiet")
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 3, stderr
    assert stderr.startswith("chapters/demo.tex.j2:16: template: "), stderr
    assert "Traceback" not in stderr + stdout
    assert ("is undefined" in stderr.splitlines()[0]
            or "hint: templates see only their values and solman's building blocks" in stderr), stderr
    assert not MARKER.exists()
    assert snapshot(built) == before


# --- author code cannot fake success: sys.exit, os._exit, a test process that dies ------------

def appended(text: str) -> tuple[str, str, str]:
    return ("verify/demo.py", "", text)


TIMEOUT = ("pyproject.toml", "year = 2026", "year = 2026\ntimeout = 10")  # seconds: importing sympy included


@dataclass
class Exit:
    name: str
    command: str  # "pdf" or "verify"
    edits: list[tuple[str, str, str]]
    code: int
    location: str
    message: str


EXITS = [
    Exit("sys.exit in a value", "pdf", [value("quits", "import sys; sys.exit(0)"), printed("quits")],
         4, f"verify/demo.py:{VERIFY_LINES + 5}", "value 'quits' called sys.exit(0) or raised SystemExit"),
    Exit("sys.exit while a verify module is imported", "pdf", [appended("\n\nimport sys\nsys.exit(0)\n")],
         4, f"verify/demo.py:{VERIFY_LINES + 4}", "importing demo.py called sys.exit(0) or raised SystemExit"),
    Exit("os._exit in a value", "pdf", [value("quits", "import os; os._exit(0)"), printed("quits")],
         4, f"verify/demo.py:{VERIFY_LINES + 5}", "value 'quits' called os._exit(0)"),
    Exit("os._exit while a verify module is imported", "pdf", [appended("\n\nimport os\nos._exit(0)\n")],
         4, f"verify/demo.py:{VERIFY_LINES + 4}", "importing demo.py called os._exit(0)"),
    Exit("sys.exit in a test", "verify", [appended("\n\ndef test_quits():\n    import sys\n    sys.exit(0)\n")],
         6, f"verify/demo.py:{VERIFY_LINES + 3}", "test test_quits failed"),
    Exit("os._exit in a test", "verify", [appended("\n\ndef test_quits():\n    import os\n    os._exit(0)\n")],
         6, f"verify/demo.py:{VERIFY_LINES + 3}",
         "test test_quits ended the test process (exit code 0) before it finished"),
    Exit("a test that kills its process", "verify",
         [appended("\n\ndef test_quits():\n    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n")],
         6, f"verify/demo.py:{VERIFY_LINES + 3}",
         "test test_quits ended the test process (killed by signal SIGKILL) before it finished"),
    # nothing runs forever: a value or a test still running after timeout seconds is stopped where it is
    Exit("a value that never returns", "pdf",
         [TIMEOUT, value("spins", "while True: pass"), printed("spins")],
         4, f"verify/demo.py:{VERIFY_LINES + 5}", "value 'spins' did not return within 10 s (timeout in [tool.solman])"),
    Exit("a test that never returns, in a build", "pdf", [TIMEOUT, appended("\n\ndef test_spins():\n    while True: pass\n")],
         6, f"verify/demo.py:{VERIFY_LINES + 3}", "test test_spins did not finish within 10 s (timeout in [tool.solman])"),
    Exit("a test that never returns", "verify", [TIMEOUT, appended("\n\ndef test_spins():\n    while True: pass\n")],
         6, f"verify/demo.py:{VERIFY_LINES + 3}", "test test_spins did not finish within 10 s (timeout in [tool.solman])"),
    Exit("verify when a value fails", "verify", [value("quits", "return 1 / 0"), printed("quits")],
         4, f"verify/demo.py:{VERIFY_LINES + 5}", "value 'quits' raised ZeroDivisionError"),
]


@pytest.mark.parametrize("case", EXITS, ids=[c.name for c in EXITS])
def test_author_code_cannot_end_a_command_with_success(built: Path, case: Exit):
    before = snapshot(built)
    apply(built, case.edits)
    process = invoke(built, case.command, "--quiet")
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == case.code, stderr
    first = stderr.splitlines()[0]
    assert first.startswith(f"{case.location}: "), stderr
    assert case.message in first and "hint:" in stderr, stderr
    assert "Traceback" not in stderr + stdout
    if case.command == "verify":  # the summary, on every outcome
        assert stdout.splitlines()[-1].endswith(": NOT VERIFIED"), stdout
    assert snapshot(built) == before


@pytest.mark.parametrize("given", ["missing.pdf", "notes.txt", "folder"])
def test_verify_pdf_of_a_missing_path_or_a_non_pdf_is_a_usage_error_answered_at_once(project_dir: Path, given: str):
    (project_dir / "notes.txt").write_text("not a PDF\n")
    (project_dir / "folder").mkdir()
    process = invoke(project_dir, "verify", "--pdf", str(project_dir / given))
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2
    message = {"missing.pdf": "no such file (given with --pdf)",
               "notes.txt": "not a PDF: it does not start with %PDF- (given with --pdf)",
               "folder": "a folder, not a PDF (given with --pdf)"}[given]
    assert stderr.startswith(f"{given}: configuration: {message}\n"), stderr
    assert "Traceback" not in stderr and "hint:" in stderr
    assert not (project_dir / "build").exists()  # no test ran (build/verify/tests.json), nothing was built


def test_verify_pdf_of_a_modified_copy_exits_with_the_drift_code(built: Path, tmp_path: Path):
    copy = tmp_path / "downloaded.pdf"
    copy.write_bytes((built / "build" / "problems.pdf").read_bytes() + b"%%EOF\n")
    process = invoke(built, "verify", "--pdf", str(copy))
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 7
    assert f"drift: {copy.as_posix()} was modified after it was built" in stderr.splitlines()
    assert "Traceback" not in stderr and "PDFs: 0 of 1 current (1 modified)" in stdout


# --- bytes that are not UTF-8, and a machine that will not let solman write (issue 16) -----------

BYTES = [  # (file, text to replace, its Latin-1 replacement), category, location, message
    (("chapters/demo.tex.j2", "What is half of one?", "What is h\xe9lf of one?"),
     "template", "chapters/demo.tex.j2:16", "chapters/demo.tex.j2 is not UTF-8: byte 0xe9 at line 16, column 10"),
    (("templates/manual.tex.j2", "\\frontmatter", "\\frontmatter % r\xe9sum\xe9"),
     "template", "templates/manual.tex.j2:17", "templates/manual.tex.j2 is not UTF-8: byte 0xe9 at line 17, column 17"),
    (("verify/demo.py", "def half():", "def half():  # \xbd"),
     "value", "verify/demo.py:24", "verify/demo.py is not UTF-8: byte 0xbd at line 24, column 16"),
    (("pyproject.toml", 'title = "Fixture Manual"', 'title = "Fixture Manual \xe9"'),
     "configuration", "pyproject.toml:2", "pyproject.toml is not UTF-8: byte 0xe9 at line 2, column 25"),
]


def latin1(root: Path, file: str, old: str, new: str) -> None:
    if file.startswith("templates/"):
        override(root, file.removeprefix("templates/"))
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_bytes(text.replace(old, new).encode("latin-1"))


@pytest.mark.parametrize("edit_, category, location, message", BYTES, ids=[b[0][0] for b in BYTES])
def test_a_file_that_is_not_utf8_is_named_with_its_line_and_byte(built: Path, edit_, category, location, message):
    before = snapshot(built)
    latin1(built, *edit_)
    with pytest.raises(SolmanError) as caught:
        load_project(built)
    error = caught.value
    assert (error.category, str(error.location), error.message) == (category, location, message), error.render()
    assert error.hint and error.location.text is not None
    process = invoke(built, "verify" if category == "value" else "pdf", "--quiet")
    _, stderr = process.communicate(timeout=300)
    from solman.errors import EXIT_CODES

    assert process.returncode == EXIT_CODES[category], stderr
    assert stderr.startswith(f"{location}: {category}: {message}\n") and "Traceback" not in stderr
    assert snapshot(built) == before


def test_wide_matrices_and_long_integers_print(built: Path):
    apply(built, [value("wide", "import numpy as np; return np.arange(24).reshape(2, 12)"),
                  value("long", "return 10 ** 5000"),
                  ("chapters/demo.tex.j2", "What is half of one?", r"What is half of one? $\VAR{ wide }$ and $\VAR{ long | sci(3) }$"),
                  ("chapters/demo.tex.j2", "\\BLOCK{ call solution() }\nIt is", "\\BLOCK{ call solution() }\n$\\VAR{ long }$ It is"),
                  ("verify/demo.py", "", "\n\ndef test_wide_and_long():\n    assert wide().shape == (2, 12) and long() > 0\n")])
    result = build(load_project(built))
    words = " ".join(pdf_text(built / "build" / "problems.pdf").split())
    assert "0 1 2 3 4 5 6 7 8 9 10 11" in words and "12 13 14 15 16 17 18 19 20 21 22 23" in words
    assert "1.00 × 105000" in words
    # all 5001 digits print (Python's str() stops at 4300): far wider than the page, which LaTeX reports, located
    assert "chapters/demo.tex.j2:17: latex: overfull box" in "\n".join(result.warnings)


def invoke_code(root: Path, *args: str) -> tuple[int, str]:
    process = invoke(root, *args)
    _, stderr = process.communicate(timeout=600)
    assert "Traceback" not in stderr, stderr
    return process.returncode, stderr


@pytest.mark.parametrize("jobs", ["abc", "0", "-1"])
def test_jobs_must_be_a_positive_whole_number(project_dir: Path, jobs: str):
    code, stderr = invoke_code(project_dir, "pdf", f"--jobs={jobs}")
    assert code == 2
    assert stderr.startswith(f"configuration: --jobs needs a whole number of at least 1, not '{jobs}'\n")
    assert not (project_dir / "build").exists()


def test_a_file_named_build_is_an_environment_error(project_dir: Path):
    (project_dir / "build").write_text("my notes\n")
    with pytest.raises(SolmanError) as caught:
        build(load_project(project_dir))
    assert caught.value.category == "environment" and caught.value.exit_code == 8
    assert caught.value.message.startswith("build is a file, where solman needs a folder")
    code, stderr = invoke_code(project_dir, "pdf")
    assert code == 8 and stderr.startswith("environment: build is a file, where solman needs a folder")
    code, stderr = invoke_code(project_dir, "verify")
    assert code == 8 and "environment: build is a file, where solman needs a folder" in stderr
    assert (project_dir / "build").read_text() == "my notes\n"


@contextlib.contextmanager
def mounted(*command: str, target: Path):
    """``mount ... target`` for the block; skipped where mounting is not allowed (it needs root)."""
    result = subprocess.run(["mount", *command, str(target)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here ({result.stderr.strip()}); these checks need root")
    try:
        yield
    finally:
        subprocess.run(["umount", str(target)], check=True)


def test_a_read_only_build_folder_is_an_environment_error(built: Path):
    # As root, chmod -w does not stop writes: the folder is made read-only by a read-only bind mount.
    before = snapshot(built)
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half?")
    with mounted("--bind", "-o", "ro", str(built / "build"), target=built / "build"):
        with pytest.raises(SolmanError) as caught:
            build(load_project(built))
        assert caught.value.category == "environment"
        assert caught.value.message == "cannot write build/.lock: the file system is read-only"
        code, stderr = invoke_code(built, "pdf")
        assert code == 8 and stderr.startswith("environment: cannot write build/.lock: the file system is read-only")
        code, stderr = invoke_code(built, "verify")
        assert code == 8 and "environment: cannot write build/" in stderr
    assert snapshot(built) == before


@pytest.mark.parametrize("free_kb", [0, 20, 200, 900])
def test_a_full_disk_is_an_environment_error_and_loses_nothing(built: Path, free_kb: int):
    """A tmpfs holds build/, filled so that ``free_kb`` remain. Which write fails first depends on that, and on
    the order the threads of a build reach theirs: on this machine, 0 the lock, 20 the test process's report,
    200 LaTeX's output or a cache, 900 the publishing (checked before anything is replaced)."""
    before = snapshot(built)
    saved = built / "build.saved"
    (built / "build").rename(saved)
    (built / "build").mkdir()
    with mounted("-t", "tmpfs", "-o", "size=64m", "tmpfs", target=built / "build"):
        shutil.copytree(saved, built / "build", dirs_exist_ok=True)
        shutil.rmtree(built / "build" / "tex" / "out")  # LaTeX starts afresh: it needs room for its output
        free = shutil.disk_usage(built / "build").free - free_kb * 1024
        with open(built / "build" / "filler", "wb") as filler:
            filler.truncate(0)
            while free > 0:
                try:
                    free -= filler.write(b"\0" * min(free, 1 << 20))
                except OSError:
                    break
        edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half?")
        with pytest.raises(SolmanError) as caught:
            build(load_project(built))
        error = caught.value
        assert (error.category, error.exit_code) == ("environment", 8), error.render()
        assert re.fullmatch(r"the disk is full while writing (in )?build/\S*", error.message), error.render()
        assert "previous PDFs in build/ are unchanged" in error.hint
        assert snapshot(built) == before


def test_replace_atomically_names_the_file_on_a_full_disk_and_keeps_the_old_one(tmp_path: Path, monkeypatch):
    # Simulated at the lowest level (os.fsync of the temporary), as a disk that fills up while writing would.
    import errno

    from solman.build import outputs

    target = tmp_path / "build" / "manifest.json"
    target.parent.mkdir()
    target.write_bytes(b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outputs.os, "fsync", full)
    with pytest.raises(OSError) as caught:
        outputs.replace_atomically(target, b"new")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert target.read_bytes() == b"old" and sorted(p.name for p in target.parent.iterdir()) == ["manifest.json"]
    from solman.errors import writing_failure

    error = writing_failure(caught.value, caught.value.filename, tmp_path)
    assert (error.category, error.message) == ("environment", "the disk is full while writing build/manifest.json")


def test_a_matrix_wider_than_amsmath_allows_in_template_text_is_a_located_latex_error(built: Path):
    before = snapshot(built)
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?",
         "What is half of one? $\\begin{bmatrix}" + " & ".join("0" * 1 for _ in range(11)) + "\\end{bmatrix}$")
    with pytest.raises(SolmanError) as caught:
        build(load_project(built))
    error = caught.value
    assert (error.category, str(error.location)) == ("latex", "chapters/demo.tex.j2:16"), error.render()
    assert "Extra alignment tab" in error.message and "MaxMatrixCols" in error.hint
    assert snapshot(built) == before
