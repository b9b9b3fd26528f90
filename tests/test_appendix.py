"""The verification appendix: per question, the values it prints and the tests that call them."""

from pathlib import Path

import pytest

from solman import checks
from solman.project.language import LANGUAGES
from solman.rendering.appendix import (
    FAILING,
    REASONING,
    UNTESTED,
    VERIFIED,
    chapter_entries,
    render_appendix,
    status_file,
    value_status,
)
from solman.project.settings import load_project
from solman.rendering.render import render_chapter
from solman.rendering.sources import load_values
from solman.checking.testrun import TestResults, run_tests


def test_value_status():
    assert value_status([("t", "passed")]) == VERIFIED
    assert value_status([("t", "passed"), ("u", "failed")]) == FAILING
    assert value_status([("t", "skipped")]) == UNTESTED
    assert value_status([]) == UNTESTED


def test_entries_follow_questions_and_tests(project_dir: Path):
    project = load_project(project_dir)
    chapter = project.chapter("demo")
    rendered = render_chapter(project, chapter, load_values(project, chapter), "solutions")
    results = TestResults({
        "verify/demo.py::test_a": {"file": "demo.py", "outcome": "passed",
                                   "values": ["demo.py::matrix", "demo.py::eigenvalues"]},
        "verify/demo.py::test_b": {"file": "demo.py", "outcome": "failed", "values": ["demo.py::half"]},
    })
    entries = {e["id"]: e for e in chapter_entries(rendered, results)}
    assert entries["1a"]["status"] == VERIFIED
    assert [(v["name"], v["given"], v["status"]) for v in entries["1a"]["printed"]] == [
        ("matrix", True, VERIFIED), ("eigenvalues", False, VERIFIED)]
    assert entries["1a"]["printed"][1]["tests"] == [{"name": "test_a", "outcome": "passed"}]
    assert entries["1b"]["status"] == FAILING  # half's only test fails; answer_letter is untested
    assert entries["2"]["status"] == UNTESTED
    assert entries[None]["label"] == "Chapter text"  # the course name printed in \source
    status = status_file(list(entries.values())).decode()
    assert "\\solmansetstatus{q:demo:1a}{verified}" in status
    assert "\\solmansetstatus{q:demo:1b}{failing}" in status and "q:demo:}" not in status


REASONING_QUESTION = r"""
\BLOCK{ call question("3", points=1) }
Why is a symmetric matrix diagonalisable?
\BLOCK{ call solution() }
By the spectral theorem: its eigenvectors can be chosen orthonormal.
\BLOCK{ endcall }
\BLOCK{ endcall }
"""


def reasoning_chapter(project_dir: Path):
    """The demo chapter with a question 3 whose solution is reasoning only: it prints no value."""
    template = project_dir / "chapters" / "demo.tex.j2"
    template.write_text(template.read_text() + REASONING_QUESTION)
    project = load_project(project_dir)
    chapter = project.chapter("demo")
    return project, render_chapter(project, chapter, load_values(project, chapter), "solutions")


def test_a_solution_that_prints_no_value_gets_the_reasoning_mark_not_the_tick(project_dir: Path):
    project, rendered = reasoning_chapter(project_dir)
    results = TestResults({"verify/demo.py::test_a": {"file": "demo.py", "outcome": "passed",
                                                      "values": ["demo.py::half", "demo.py::answer_letter"]}})
    entries = {e["id"]: e for e in chapter_entries(rendered, results)}
    assert entries["3"]["status"] == REASONING and entries["3"]["printed"] == []
    assert entries["1b"]["status"] == VERIFIED
    status = status_file(list(entries.values())).decode()
    assert "\\solmansetstatus{q:demo:3}{reasoning}" in status
    style = (project.template("solman.sty")).read_text()
    assert "\\def\\solman@reasoning{reasoning}" in style  # its own symbol, explained in the appendix's opening
    assert "\\solmanword{verification_intro}" in (project.template("verification-intro.tex")).read_text()
    assert all("\\solmansymbol{reasoning}" in l.words["verification_intro"] for l in LANGUAGES.values())


def test_a_test_declared_with_checks_is_listed_under_its_question(project_dir: Path):
    project, rendered = reasoning_chapter(project_dir)
    results = TestResults({
        "verify/demo.py::test_spectral_theorem": {"file": "demo.py", "outcome": "passed", "values": [],
                                                  "checks": ["3"]},
        "verify/demo.py::test_half_formula": {"file": "demo.py", "outcome": "failed", "values": [],
                                              "checks": ["1b"]},
        "verify/other.py::test_elsewhere": {"file": "other.py", "outcome": "passed", "values": [], "checks": ["3"]},
    })
    entries = {e["id"]: e for e in chapter_entries(rendered, results)}
    assert entries["3"]["checks"] == [{"name": "test_spectral_theorem", "outcome": "passed"}]
    assert entries["3"]["status"] == REASONING  # nothing computed is printed: the tick would claim more
    assert entries["1b"]["checks"] == [{"name": "test_half_formula", "outcome": "failed"}]
    assert entries["1b"]["status"] == FAILING  # a failing test of the question fails it
    assert entries["1a"]["checks"] == []
    appendix = render_appendix(project, rendered, 1, list(entries.values())).text
    assert "\\declaredtests{\\solmancode{test\\_spectral\\_theorem}\\,\\solmanoutcome{passed}}" in appendix


def test_the_recorder_records_what_a_test_declares(project_dir: Path):
    demo = project_dir / "verify" / "demo.py"
    demo.write_text(demo.read_text().replace("from solman import tex, value", "from solman import checks, tex, value")
                    + '\n\n@checks("1a", "2")\ndef test_characteristic_polynomial():\n'
                    "    x = sp.symbols('x')\n    assert sp.expand((2 - x) ** 2 - 1) == x**2 - 4*x + 3\n")
    tests = run_tests(load_project(project_dir)).tests
    declared = next(t for nodeid, t in tests.items() if nodeid.endswith("::test_characteristic_polynomial"))
    assert declared["checks"] == ["1a", "2"] and declared["values"] == [] and declared["outcome"] == "passed"
    assert next(t for n, t in tests.items() if n.endswith("::test_half_is_half"))["checks"] == []


def test_checks_takes_question_ids():
    with pytest.raises(TypeError, match=r'for example @checks\("4.1d"\)'):
        checks()
    with pytest.raises(TypeError, match="not the test itself"):
        checks(lambda: None)

    @checks("1a")
    @checks("2", "1a")
    def test_x():
        pass

    assert test_x.__solman_checks__ == ("2", "1a")
