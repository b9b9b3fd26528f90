"""Verification without TeX: test outcomes, value coverage, changed values, leaks in the .tex."""

from pathlib import Path

import pytest
from conftest import edit

from solman.errors import TemplateError, VerificationFailure
from solman.rendering.sources import assemble, render_chapters
from solman.project.targets import plan_targets
from solman.checking.testrun import TestResults, run_tests
from solman.checking.verification import (
    ChapterSummary,
    Report,
    changed_values,
    coverage_check,
    failed_tests,
    leak_check,
    plain_text,
    verify,
    words,
)


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


def test_each_test_run_has_its_own_scratch_folder_under_build_removed_afterwards(project, monkeypatch):
    # verify beside verify (both under the shared lock) must not share a report, a journal or pytest's
    # temporaries; and nothing goes to /tmp (pytest's basetemp, the tests' TMPDIR).
    import subprocess

    real_run = subprocess.run
    runs = []

    def run(command, **kwargs):
        report = next(Path(a.split("=", 1)[1]) for a in command if a.startswith("--solman-report="))
        basetemp = next(Path(a.split("=", 1)[1]) for a in command if a.startswith("--basetemp="))
        runs.append((report, basetemp, Path(kwargs["env"]["TMPDIR"])))
        return real_run(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", run)
    run_tests(project)
    run_tests(project)
    (first, *_), (second, *_) = runs
    assert first.parent != second.parent
    for paths in runs:
        scratch = paths[0].parent
        assert scratch.parent == project.build / "verify" and all(p.is_relative_to(scratch) for p in paths)
        assert not scratch.exists()


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


def test_changed_values_names_what_each_value_printed_and_prints_now():
    old = [{"value": "a", "question": "1a", "expr": "a", "filter": "latex", "latex": "1"},
           {"value": "b", "question": "1b", "expr": "b", "filter": "latex", "latex": "2"},
           {"value": "m", "question": "2", "expr": "m[0]", "filter": "fixed(2)", "latex": "0.50"},
           {"value": "m", "question": "2", "expr": "m[1]", "filter": "fixed(2)", "latex": "0.25"},
           {"value": "gone", "question": "2", "expr": "gone", "filter": "latex", "latex": "7"},
           {"value": "flag", "question": "2", "expr": "flag", "filter": "condition", "latex": None}]

    class Use:
        def __init__(self, **fields):
            self.fields = fields

        def record(self):
            return self.fields

    fresh = [Use(value="a", question="1a", expr="a", filter="latex", latex="3"),
             Use(value="b", question="2", expr="b", filter="latex", latex="2"),  # moved: a text change
             Use(value="m", question="2", expr="m[0]", filter="fixed(2)", latex="0.50"),
             Use(value="m", question="2", expr="m[1]", filter="fixed(2)", latex="0.75"),  # one entry
             Use(value="c", question=None, expr="c", filter="latex", latex="4")]
    assert changed_values(old, fresh) == [
        "value 'a' changed (printed in 1a): a prints 3, was 1",
        "value 'c' is now printed (c, in chapter text)",
        "value 'gone' is no longer printed (gone)",
        "value 'm' changed (printed in 2): m[1] | fixed(2) prints 0.75, was 0.25"]


def test_solution_text_in_the_problems_tex_is_a_leak(project):
    sources = sources_of(project)
    assert leak_check(project, sources, []) == []
    problems = sources.chapters["demo", "problems"]
    problems.text += sources.chapters["demo", "solutions"].solutions[0]
    failures = leak_check(project, sources, [])
    assert len(failures) == 1 and "solution text is in the problems edition" in failures[0].message


def test_coverage_prints_100_percent_only_when_every_value_is_covered():
    almost = Report(chapters=[ChapterSummary("c", questions=1, values=442, covered=441, tests=3, passed=3)],
                    failures=[VerificationFailure("value 'x' is printed but no passing test exercises it")])
    last = almost.summary()[-1]
    assert "100%" not in last and "value coverage 99% (441/442)" in last and last.endswith("NOT VERIFIED")
    every = Report(chapters=[ChapterSummary("c", questions=1, values=442, covered=442, tests=3, passed=3)])
    assert "value coverage 100% (442/442)" in every.summary()[-1] and every.summary()[-1].endswith(" VERIFIED")


def test_sys_exit_while_a_module_is_collected_is_a_collection_error_at_its_line(project, project_dir: Path):
    demo = project_dir / "verify" / "demo.py"
    demo.write_text(demo.read_text() + "\nimport sys\nsys.exit(0)\n")
    failures = failed_tests(project, run_tests(project))
    assert [f.message for f in failures] == ["verify/demo.py cannot be collected"]
    assert str(failures[0].location) == f"verify/demo.py:{len(demo.read_text().splitlines())}"
    assert "sys.exit(0)" in failures[0].render()


@pytest.mark.parametrize("body, how", [
    ("os._exit(0)", "exit code 0"),
    ("os.kill(os.getpid(), signal.SIGKILL)", "killed by signal SIGKILL"),
    ("ctypes.string_at(0)", "killed by signal SIGSEGV"),
], ids=["os._exit", "SIGKILL", "segfault"])
def test_a_test_that_ends_its_process_is_named_at_its_line(project, project_dir: Path, body: str, how: str):
    demo = project_dir / "verify" / "demo.py"
    demo.write_text(demo.read_text() + f"\nimport ctypes, os, signal\n\n\ndef test_ends_the_process():\n    {body}\n")
    with pytest.raises(VerificationFailure) as caught:
        run_tests(project)
    error = caught.value
    assert error.message == f"test test_ends_the_process ended the test process ({how}) before it finished"
    lines = demo.read_text().splitlines()
    assert error.location.path == "verify/demo.py"
    # the test's line; after a segfault, faulthandler's stack names the very line
    assert error.location.line in (lines.index("def test_ends_the_process():") + 1, len(lines))


def test_a_module_that_ends_the_process_while_collected_is_named(project, project_dir: Path):
    demo = project_dir / "verify" / "demo.py"
    demo.write_text(demo.read_text() + "\nimport os\nos._exit(0)\n")
    with pytest.raises(VerificationFailure) as caught:
        run_tests(project)
    assert caught.value.message == ("importing verify/demo.py ended the test process (exit code 0) "
                                    "while its tests were collected")
    assert caught.value.location.path == "verify/demo.py"


def test_verify_reports_a_value_failure_as_a_failure_with_the_summary(project, project_dir: Path):
    edit(project_dir / "chapters" / "demo.tex.j2", "What is half of one?", r"What is half of one? \VAR{ quits }")
    demo = project_dir / "verify" / "demo.py"
    demo.write_text(demo.read_text() + "\n\n@value\ndef quits():\n    import sys\n    sys.exit(0)\n")
    report = verify(project)
    assert not report.ok and report.failures[0].exit_code == 4
    assert str(report.failures[0].location) == f"verify/demo.py:{len(demo.read_text().splitlines())}"
    assert report.summary()[-1].endswith("NOT VERIFIED") and "value coverage not measured" in report.summary()[-1]


def test_verify_reports_tests_that_cannot_run_and_still_checks_the_rest(project, project_dir: Path):
    demo = project_dir / "verify" / "demo.py"
    demo.write_text(demo.read_text() + "\n\ndef test_ends_the_process():\n    import os\n    os._exit(0)\n")
    report = verify(project)
    assert report.failures[0].exit_code == 6 and "ended the test process" in report.failures[0].message
    assert len(report.chapters) == 1  # the chapters were rendered and summarised all the same
    assert "?/" in "\n".join(report.summary()) and report.summary()[-1].endswith("NOT VERIFIED")


def test_a_project_that_does_not_load_is_a_failure_of_the_report(project_dir: Path):
    from solman.checking.verification import verify_folder

    edit(project_dir / "pyproject.toml", "year = 2026", 'year = 2026\ntitel = "typo"')
    report = verify_folder(project_dir)
    assert [f.exit_code for f in report.failures] == [2]
    assert report.summary()[-1] == "value coverage not measured, 1 problem(s): NOT VERIFIED"


def test_each_target_has_the_selection_that_builds_it_alone(project):
    # verify --pdf builds the target a copy claims to be when build/ has no record of it
    for target in plan_targets(project):
        assert plan_targets(project, **target.selection()) == [target]


def test_a_modified_copy_names_the_commit_and_tools_that_also_change_the_bytes(project):
    from solman.checking.verification import modified

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


# --- separation of the editions: what used to pass as VERIFIED ----------------------------------

DEMO = Path("chapters") / "demo.tex.j2"


def leaks_after(project, project_dir: Path, old: str, new: str) -> list:
    edit(project_dir / DEMO, old, new)
    return leak_check(project, sources_of(project), [])


def test_a_solution_quoting_its_question_is_not_a_leak(project, project_dir: Path):
    # the solution restates its question word for word: that is the statement, in both editions
    assert leaks_after(project, project_dir, "It is $",
                       "We are asked: what is half of one? Estimate $\\pi$ by Monte Carlo and draw. It is $") == []


def test_a_corrected_footnote_is_text_of_the_statement_with_words_of_its_own():
    # else "that\\corrected{the exam" reads "thatthe exam", and an erratum quoting the footnote (as the
    # problems PDF shows it) looks like solution text in the problems edition
    assert words(plain_text(r"Prove that\corrected{the exam's Eq.~(9) has $c_n^2$} holds")) == [
        "prove", "that", "the", "exam", "eq", "has", "holds"]


def test_a_reflowed_copy_of_a_solution_sentence_in_the_problems_edition_is_a_leak(project, project_dir: Path):
    failures = leaks_after(project, project_dir, "What is half of one?\n",
                           "What is half of one?\n\\BLOCK{ if edition == \"problems\" }\nHint: the characteristic\n"
                           "polynomial is $(2-\\lambda)^2 - 1$, so\nthe eigenvalues are\n\\BLOCK{ endif }\n")
    assert len(failures) == 1
    assert failures[0].message == ("chapter demo: solution text is in the problems edition: question 1a's solution "
                                   "says \"the characteristic polynomial is so the eigenvalues are\"")
    assert str(failures[0].location) == "chapters/demo.tex.j2:10"  # the solution's line
    problems = next(r for r in sources_of(project).rendered() if r.name == "chapters/demo-problems.tex")
    line = next(n for n, text in enumerate(problems.text.splitlines(), 1) if text.startswith("Hint: the char"))
    assert failures[0].details[0].startswith(f"the problems edition shows it at chapters/demo-problems.tex:{line} ")


def test_a_five_word_phrase_of_a_solution_in_the_problems_edition_is_a_leak(project, project_dir: Path):
    failures = leaks_after(project, project_dir, "Estimate $\\pi$ by Monte Carlo",
                           "Estimate $\\pi$ by Monte Carlo\\BLOCK{ if edition != \"solutions\" } (a fixed seed: "
                           "the estimate is then reproducible)\\BLOCK{ endif }")
    assert [f.message for f in failures] == [("chapter demo: solution text is in the problems edition: question 2's "
                                             "solution says \"fixed seed the estimate is\"")]
    assert str(failures[0].location) == "chapters/demo.tex.j2:26"  # the solution's line


def test_a_value_only_solutions_print_shown_in_the_problems_edition_is_a_leak(project, project_dir: Path):
    failures = leaks_after(project, project_dir, "Find the eigenvalues of $A = \\VAR{ matrix }$.",
                           "Find the eigenvalues of $A = \\VAR{ matrix }$.\\BLOCK{ if edition == \"problems\" } "
                           "(One is $\\VAR{ eigenvalues[0] }$.)\\BLOCK{ endif }")
    assert [f.message for f in failures] == [("chapter demo: the problems edition prints 'eigenvalues[0]' (question 1a), "
                                             "which the solutions edition prints only in solutions")]
    assert str(failures[0].location) == "chapters/demo.tex.j2:8"


def test_the_printed_latex_of_a_solution_only_value_typed_into_a_question_is_a_leak(project, project_dir: Path):
    failures = leaks_after(project, project_dir, "Estimate $\\pi$ by Monte Carlo",
                           "Estimate $\\pi$ (you should find $3.147$) by Monte Carlo")
    assert [f.message for f in failures] == [("chapter demo: 3.147 is typed into the problems edition, and only the "
                                             "solution of question 2 prints it ('pi_estimate')")]
    assert str(failures[0].location) == "chapters/demo.tex.j2:24"  # where it is typed


def test_the_answer_of_a_question_printed_in_the_problems_edition_is_a_leak(project, project_dir: Path):
    edit(project_dir / DEMO, 'question("1b", points=1)', 'question("1b", points=1, kind="mcq", answer=answer_letter)')
    failures = leaks_after(project, project_dir, "What is half of one?",
                           "What is half of one? (Hint: not \\VAR{ answer_letter }.)")
    assert [f.message for f in failures] == [("chapter demo: the problems edition prints 'answer_letter' (question 1b), "
                                             "the answer of question 1b")]
    assert str(failures[0].location) == "chapters/demo.tex.j2:16"


def test_a_mistyped_edition_guard_is_a_template_error_at_its_line(project, project_dir: Path):
    edit(project_dir / DEMO, "What is half of one?",
         "What is half of one?\\BLOCK{ if edition != \"problem\" } It is a half.\\BLOCK{ endif }")
    with pytest.raises(TemplateError) as caught:
        sources_of(project)
    assert caught.value.message == ("edition compared with 'problem', which is not an edition "
                                    "(solutions or problems)")
    assert str(caught.value.location) == "chapters/demo.tex.j2:16"
    edit(project_dir / DEMO, 'edition != "problem"', 'edition in ["solutions", "problem"]')
    with pytest.raises(TemplateError, match="edition compared with 'problem'"):
        sources_of(project)


def test_a_test_that_checks_no_question_fails_verify_at_its_line(project, project_dir: Path):
    demo = project_dir / "verify" / "demo.py"
    demo.write_text(demo.read_text().replace("from solman import tex, value", "from solman import checks, tex, value")
                    + "\n\ndef test_arithmetic():\n    assert 1 + 1 == 2\n"
                    + '\n\n@checks("9z")\ndef test_a_question_that_is_not_there():\n    assert 2 * 2 == 4\n'
                    + '\n\n@checks("1a")\ndef test_trace_is_the_sum_of_the_eigenvalues():\n    assert 2 + 2 == 1 + 3\n')
    lines = demo.read_text().splitlines()
    report = verify(project)
    nothing = [f for f in report.failures if "checks no question" in f.message]
    assert [f.message for f in nothing] == [
        "test test_arithmetic checks no question: it calls no printed value and declares none"]
    assert str(nothing[0].location) == f"verify/demo.py:{lines.index('def test_arithmetic():') + 1}"
    assert "@checks" in nothing[0].hint
    unknown = [f for f in report.failures if "declares question" in f.message]
    assert [f.message for f in unknown] == [
        "test test_a_question_that_is_not_there declares question 9z, which its chapter does not have"]
    declaration = lines.index('@checks("9z")') + 1  # pytest locates a decorated test at its first decorator
    assert str(unknown[0].location) == f"verify/demo.py:{declaration}"
    assert "1a, 1b, 2" in unknown[0].hint
    assert not any("test_trace_is_the_sum" in f.message for f in report.failures)  # declared: it checks 1a
    assert len(report.failures) == 2, "\n".join(f.render() for f in report.failures)
