"""The verification appendix: per question, the values it prints and the tests that call them."""

from pathlib import Path

from solman.appendix import FAILING, UNTESTED, VERIFIED, chapter_entries, status_file, value_status
from solman.project import load_project
from solman.rendering import render_chapter
from solman.sources import load_values
from solman.testrun import TestResults


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
