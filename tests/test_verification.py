"""Verification without TeX: test outcomes, value coverage, changed values, leaks in the .tex."""

from pathlib import Path

from conftest import edit

from solman.sources import assemble, render_chapters
from solman.targets import plan_targets
from solman.testrun import TestResults, run_tests
from solman.verification import changed_values, coverage_check, failed_tests, leak_check


def sources_of(project, results=None):
    targets = plan_targets(project)
    return assemble(project, targets, render_chapters(project, targets), results or TestResults())


def test_run_tests_reports_outcomes_and_the_values_each_test_called(project):
    tests = run_tests(project).tests
    by_name = {nodeid.split("::")[-1]: test for nodeid, test in tests.items()}
    assert by_name["test_half_is_half"] == {**by_name["test_half_is_half"], "outcome": "passed",
                                            "values": ["demo.py::half"]}
    # eigenvalues() calls matrix(), but only eigenvalues was called by the test itself
    assert by_name["test_eigenvalues_match_numpy"]["values"] == ["demo.py::eigenvalues"]
    assert all(test["outcome"] == "passed" for test in tests.values())


def test_failing_and_skipped_tests_are_failures(project, project_dir: Path):
    edit(project_dir / "verify" / "demo.py", "assert half() + half() == 1", "assert half() == 1")
    edit(project_dir / "verify" / "demo.py", "def test_course_name_has_special_characters():",
         "import pytest\n\n\n@pytest.mark.skip(reason='later')\ndef test_course_name_has_special_characters():")
    failures = failed_tests(project, run_tests(project))
    messages = sorted(f.message for f in failures)
    assert messages == ["test test_course_name_has_special_characters was skipped", "test test_half_is_half failed"]
    failed = next(f for f in failures if "failed" in f.message)
    assert failed.location.path == "verify/demo.py" and failed.location.text.startswith("def test_half_is_half")


def test_coverage_names_chapter_question_and_value(project):
    sources = sources_of(project)
    tests = TestResults({"t": {"file": "demo.py", "outcome": "passed",
                               "values": ["demo.py::matrix", "demo.py::eigenvalues"]}})
    summaries, failures = coverage_check(project, sources, tests)
    assert (summaries[0].values, summaries[0].covered, summaries[0].tests, summaries[0].passed) == (7, 2, 1, 1)
    half = next(f for f in failures if "'half'" in f.message)
    assert half.message == "chapter demo: value 'half' is printed (question 1b) but no passing test exercises it"
    assert half.location.path == "chapters/demo.tex.j2" and "VAR{ half }" in half.location.text


def test_a_failing_test_covers_nothing(project):
    sources = sources_of(project)
    tests = TestResults({"t": {"file": "demo.py", "outcome": "failed", "values": ["demo.py::matrix"]}})
    _, failures = coverage_check(project, sources, tests)
    assert any("'matrix'" in f.message for f in failures)


def test_changed_values_groups_by_value_and_question():
    old = [{"value": "a", "question": "1a", "expr": "a", "filter": "latex", "latex": "1"},
           {"value": "b", "question": "1b", "expr": "b", "filter": "latex", "latex": "2"}]

    class Use:
        def __init__(self, **fields):
            self.fields = fields

        def record(self):
            return self.fields

    fresh = [Use(value="a", question="1a", expr="a", filter="latex", latex="3"),
             Use(value="b", question="1b", expr="b", filter="latex", latex="2"),
             Use(value="c", question=None, expr="c", filter="latex", latex="4")]
    assert changed_values(old, fresh) == ["value 'a' changed (printed in 1a)",
                                          "value 'c' changed (printed in chapter text)"]


def test_solution_text_in_the_problems_tex_is_a_leak(project):
    sources = sources_of(project)
    assert leak_check(project, sources, []) == []
    problems = sources.chapters["demo", "problems"]
    problems.text += sources.chapters["demo", "solutions"].solutions[0]
    failures = leak_check(project, sources, [])
    assert len(failures) == 1 and "solution text is in the problems edition" in failures[0].message


def test_each_target_has_the_selection_that_builds_it_alone(project):
    # verify --pdf builds the target a copy claims to be when build/ has no record of it
    for target in plan_targets(project):
        assert plan_targets(project, **target.selection()) == [target]


def test_a_modified_copy_names_the_commit_and_tools_that_also_change_the_bytes(project):
    from solman.verification import modified

    provenance = {"commit": "abc", "tools": {"pdflatex": "pdfTeX 1", "sympy": "1.12"}}
    record = {"output": "manual.pdf", "commit": "def", "tools": {"pdflatex": "pdfTeX 2", "sympy": "1.12"}}
    error = modified(project, Path("/elsewhere/manual.pdf"), provenance, record)
    assert (error.category, error.exit_code) == ("drift", 7)
    assert error.message == "/elsewhere/manual.pdf was modified after it was built"
    assert error.details == ("it records commit abc, the PDF it was compared with def: that alone changes the bytes",
                             "it records other tool versions than the PDF it was compared with: "
                             "pdflatex pdfTeX 1 vs pdfTeX 2")
    assert error.hint.startswith("use build/manual.pdf")
    assert modified(project, Path("/elsewhere/manual.pdf"), provenance, {**provenance, "output": "x"}).details == ()
