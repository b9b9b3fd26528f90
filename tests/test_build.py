"""The whole pipeline on the fixture project, with real latexmk runs."""

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import OUTPUTS, edit, override, snapshot

from solman.build.pipeline import build
from solman.errors import Errors, LatexError, TemplateError, VerificationFailure
from solman.latex.pdfs import pdf_text, read_digest, read_provenance
from solman.project.settings import load_project
from solman.checking.verification import verify

pytestmark = pytest.mark.tex


def test_every_pdf_is_written_and_carries_its_digest(built: Path):
    manifest = json.loads((built / "build" / "manifest.json").read_text())
    by_output = {record["output"]: digest for digest, record in manifest["outputs"].items()}
    assert sorted(by_output) == sorted(OUTPUTS)
    for output in OUTPUTS:
        assert read_digest(built / "build" / output) == by_output[output]
    render = manifest["renders"][manifest["outputs"][by_output["manual.pdf"]]["chapters"]["demo"]]
    assert [q["id"] for q in render["questions"]] == ["1a", "1b", "2"]
    printed = {(v["question"], v["expr"]): v["latex"] for v in render["values"]}
    assert printed["1a", "eigenvalues[0]"] == "1" and printed["1a", "eigenvalues[1]"] == "3"
    assert printed["2", "pi_estimate"] == "3.147"
    record = manifest["outputs"][by_output["manual.pdf"]]
    assert record["tools"]["sympy"] and record["tools"]["pdflatex"].startswith("pdfTeX")
    assert record["commit"] == "not in a git repository"


def test_page_counts_are_recorded_at_compile_time_and_match_the_pdfs(built: Path, monkeypatch):
    done = build(load_project(built))  # up to date: nothing compiled, the counts come from the manifest

    def reread(pdf):
        raise AssertionError(f"{pdf} was opened to count its pages")

    monkeypatch.setattr("solman.latex.pdfs.page_count", reread)
    for target in done.targets:  # pdftotext ends every page with a form feed
        assert done.pages(target) == pdf_text(built / "build" / target.output).count("\f") > 0


def test_the_pdf_shows_the_computed_values(built: Path):
    text = pdf_text(built / "build" / "manual.pdf")
    assert "3.147" in text and "Deep Learning & Friends: 100% verified" in text


def test_the_problems_edition_has_no_solutions(built: Path):
    text = pdf_text(built / "build" / "problems.pdf")
    assert "Find the eigenvalues" in text
    assert "Solution" not in text and "characteristic polynomial" not in text and "3.147" not in text
    tex = (built / "build" / "tex" / "chapters" / "demo-problems.tex").read_text()
    assert "characteristic polynomial" not in tex


def test_verify_passes_on_a_fresh_build(built: Path):
    report = verify(load_project(built))
    assert report.ok, [f.render() for f in report.failures]
    assert set(report.pdfs.values()) == {"current"}
    assert report.summary()[-1].endswith("VERIFIED") and "value coverage 100%" in report.summary()[-1]


def test_a_word_changed_in_a_template_makes_the_pdfs_stale(built: Path):
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is half of unity?")
    report = verify(load_project(built))
    drift = [f for f in report.failures if f.category == "drift"]
    assert len(drift) == 1 and "4 PDF(s) are stale" in drift[0].message
    assert str(drift[0].location) == "chapters/demo.tex.j2:16"
    assert "chapter demo: text changed at chapters/demo.tex.j2:16" in drift[0].details


def test_a_changed_value_computation_names_the_value(built: Path):
    edit(built / "verify" / "demo.py", "return Fraction(1, 2)", "return Fraction(1, 3)")
    report = verify(load_project(built))
    drift = next(f for f in report.failures if f.category == "drift")
    assert "chapter demo: value 'half' changed (printed in 1b): half prints \\frac{1}{3}, was \\frac{1}{2}" \
        in drift.details
    assert any("test_half_is_half failed" in f.message for f in report.failures)


def test_removing_the_only_test_of_a_printed_value_fails_coverage(built: Path):
    edit(built / "verify" / "demo.py", "def test_half_is_half():\n    assert half() + half() == 1\n", "")
    report = verify(load_project(built))
    coverage, drift = report.failures
    assert coverage.message == "chapter demo: value 'half' is printed (question 1b) but no passing test exercises it"
    assert coverage.location.path == "chapters/demo.tex.j2"
    # the appendix of the solutions PDFs showed the test: it names exactly the test that went
    assert drift.details == ("chapter demo: test test_half_is_half was removed", "verify/demo.py changed")


def test_an_unknown_name_keeps_the_previous_pdfs(built: Path):
    before = snapshot(built)
    edit(built / "chapters" / "demo.tex.j2", r"$\VAR{ half }$", r"$\VAR{ halve }$")
    with pytest.raises(TemplateError) as caught:
        build(load_project(built))
    assert str(caught.value.location) == "chapters/demo.tex.j2:18"
    assert "did you mean half?" in caught.value.hint
    assert snapshot(built) == before


def test_a_latex_error_is_located_and_keeps_the_previous_pdfs(built: Path):
    before = snapshot(built)
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", r"What is \halfof one?")
    with pytest.raises(LatexError) as caught:
        build(load_project(built))
    error = caught.value
    assert str(error.location) == "chapters/demo.tex.j2:16"
    assert error.message == "Undefined control sequence."
    assert any(r"\halfof" in d for d in error.details)
    assert snapshot(built) == before


def test_a_chapter_build_leaves_the_manual_record_alone(built: Path):
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half?")
    build(load_project(built), chapter="demo", edition="problems")
    report = verify(load_project(built))
    assert report.pdfs[str(built / "build" / "chapters" / "demo-problems.pdf")] == "current"
    assert report.pdfs[str(built / "build" / "manual.pdf")] == "stale"


def copy_of(built: Path, tmp_path: Path, output: str = "manual.pdf", change=None) -> Path:
    """A copy of a PDF of build/, outside the project (a download), changed by ``change`` on its bytes."""
    data = (built / "build" / output).read_bytes()
    copy = tmp_path / "downloaded.pdf"
    copy.write_bytes(change(data) if change else data)
    return copy


def drift_of(report) -> tuple[int, str]:
    """The exit code `invoke verify` gives for ``report``, and its first failure's message."""
    assert not report.ok
    return report.failures[0].exit_code, report.failures[0].message


def test_verify_pdf_says_a_faithful_copy_is_current(built: Path, tmp_path: Path):
    copy = copy_of(built, tmp_path)
    report = verify(load_project(built), copy)
    assert report.ok, [f.render() for f in report.failures]
    assert report.pdfs == {str(copy): "current"} and "PDFs: 1 of 1 current" in report.summary()


def test_verify_pdf_says_a_copy_with_bytes_appended_was_modified(built: Path, tmp_path: Path):
    # what a PDF editor's incremental update does: the provenance and the digest still read the same
    copy = copy_of(built, tmp_path, change=lambda data: data + b"\n% edited\n%%EOF\n")
    assert read_provenance(copy) is not None and read_digest(copy) == read_digest(built / "build" / "manual.pdf")
    report = verify(load_project(built), copy)
    assert report.pdfs == {str(copy): "modified"}
    assert drift_of(report) == (7, f"{copy.as_posix()} was modified after it was built")
    assert len(report.failures) == 1 and "PDFs: 0 of 1 current (1 modified)" in report.summary()


def test_verify_pdf_says_a_copy_with_one_byte_changed_was_modified(built: Path, tmp_path: Path):
    def one_byte(data: bytes) -> bytes:  # in the uncompressed document information: still a valid PDF
        assert data.count(b"/Producer (pdfTeX-") == 1
        return data.replace(b"/Producer (pdfTeX-", b"/Producer (pdfTeX_")

    copy = copy_of(built, tmp_path, "chapters/demo-solutions.pdf", one_byte)
    original = (built / "build" / "chapters" / "demo-solutions.pdf").read_bytes()
    assert sum(a != b for a, b in zip(copy.read_bytes(), original)) == 1
    assert read_provenance(copy) is not None and "3.147" in pdf_text(copy)
    report = verify(load_project(built), copy)
    assert report.pdfs == {str(copy): "modified"}
    assert drift_of(report) == (7, f"{copy.as_posix()} was modified after it was built")


def test_verify_pdf_builds_what_it_compares_with_when_build_is_gone(built: Path, tmp_path: Path):
    copy = copy_of(built, tmp_path, "manual.pdf")
    shutil.rmtree(built / "build")
    report = verify(load_project(built), copy)
    assert report.ok, [f.render() for f in report.failures]
    assert report.pdfs == {str(copy): "current"}
    # only the target the copy is of was built, and recorded
    assert (built / "build" / "manual.pdf").read_bytes() == copy.read_bytes()
    assert not (built / "build" / "problems.pdf").exists() and not (built / "build" / "chapters").exists()
    manifest = json.loads((built / "build" / "manifest.json").read_text())
    assert [r["output"] for r in manifest["outputs"].values()] == ["manual.pdf"]


def test_verify_pdf_builds_and_finds_a_modified_copy_when_build_is_gone(built: Path, tmp_path: Path):
    copy = copy_of(built, tmp_path, "chapters/demo-problems.pdf", lambda data: data + b"%%EOF\n")
    shutil.rmtree(built / "build")
    report = verify(load_project(built), copy)
    assert report.pdfs == {str(copy): "modified"}
    assert drift_of(report) == (7, f"{copy.as_posix()} was modified after it was built")
    assert (built / "build" / "chapters" / "demo-problems.pdf").exists()


def test_verify_pdf_says_a_copy_from_before_a_value_changed_is_stale(built: Path, tmp_path: Path):
    copy = copy_of(built, tmp_path)
    edit(built / "verify" / "demo.py", "return Fraction(1, 2)", "return Fraction(1, 3)")
    edit(built / "verify" / "demo.py", "assert half() + half() == 1", "assert 3 * half() == 1")
    report = verify(load_project(built), copy)
    assert report.pdfs == {str(copy): "stale"}
    assert drift_of(report) == (7, f"1 PDF(s) are stale, built from sources that have changed since: "
                                   f"{copy.as_posix()}")
    assert "chapter demo: value 'half' changed (printed in 1b): half prints \\frac{1}{3}, was \\frac{1}{2}" \
        in report.failures[0].details
    assert "PDFs: 0 of 1 current (1 stale)" in report.summary()


def test_verify_pdf_says_a_foreign_pdf_is_not_a_solman_pdf(built: Path, tmp_path: Path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x.tex").write_text("\\documentclass{article}\\begin{document}x\\end{document}\n")
    subprocess.run(["pdflatex", "-interaction=batchmode", "x.tex"], cwd=foreign, check=True, capture_output=True)
    report = verify(load_project(built), foreign / "x.pdf")
    assert report.pdfs == {str(foreign / "x.pdf"): "unknown"}
    code, message = drift_of(report)
    assert code == 7 and message == f"{(foreign / 'x.pdf').as_posix()} cannot be verified: it is not a solman PDF " \
        "(it carries no solman provenance)"
    assert "PDFs: 0 of 1 current (1 not verifiable)" in report.summary()


def test_a_modified_pdf_in_build_is_found_by_its_bytes(built: Path):
    manual = built / "build" / "manual.pdf"
    manual.write_bytes(manual.read_bytes() + b"%%EOF\n")
    report = verify(load_project(built))
    assert report.pdfs[str(manual)] == "modified"
    assert drift_of(report) == (7, "build/manual.pdf was modified after it was built")
    assert "PDFs: 3 of 4 current (1 modified)" in report.summary()


def test_the_manifest_records_the_sha256_of_every_output(built: Path):
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half?")
    build(load_project(built), chapter="demo", edition="problems")  # one compiled, three kept
    manifest = json.loads((built / "build" / "manifest.json").read_text())
    assert sorted(r["output"] for r in manifest["outputs"].values()) == sorted(OUTPUTS)
    for record in manifest["outputs"].values():
        assert record["pdf"] == hashlib.sha256((built / "build" / record["output"]).read_bytes()).hexdigest()


def test_the_appendix_lists_values_and_tests_and_turns_red_without_them(built: Path):
    text = pdf_text(built / "build" / "manual.pdf")
    assert "Verification" in text and "test_half_is_half" in text and "Build digest" in text
    assert "Corrected from the source: the source asks for its eigenvectors." in " ".join(text.split())
    assert "test_half_is_half" in pdf_text(built / "build" / "chapters" / "demo-solutions.pdf")
    assert "test_half_is_half" not in pdf_text(built / "build" / "problems.pdf")
    status = (built / "build" / "tex" / "status" / "demo.tex").read_text()
    assert "\\solmansetstatus{q:demo:1b}{verified}" in status

    edit(built / "verify" / "demo.py", "def test_half_is_half():\n    assert half() + half() == 1\n", "")
    before = snapshot(built)
    with pytest.raises(VerificationFailure) as caught:  # a build that would print an untested value fails
        build(load_project(built))
    assert caught.value.exit_code == 6
    assert caught.value.message == "chapter demo: value 'half' is printed (question 1b) but no passing test exercises it"
    assert str(caught.value.location) == "chapters/demo.tex.j2:18"
    assert snapshot(built) == before  # and keeps the last good outputs

    built_again = build(load_project(built), draft=True)  # a draft builds anyway, and says so
    assert any("DRAFT" in w for w in built_again.warnings)
    status = (built / "build" / "tex" / "status" / "demo.tex").read_text()
    assert "\\solmansetstatus{q:demo:1b}{untested}" in status
    assert "no test calls it" in pdf_text(built / "build" / "manual.pdf")
    for output in OUTPUTS:  # DRAFT across every page of every PDF it made, recorded in the manifest
        pages = pdf_text(built / "build" / output).split("\f")[:-1]
        assert pages and all("DRAFT" in page for page in pages), output
    manifest = json.loads((built / "build" / "manifest.json").read_text())
    assert all(record["draft"] for record in manifest["outputs"].values())
    assert build(load_project(built), draft=True).compiled == {}  # a draft of the same sources is current
    report = verify(load_project(built))
    assert not report.ok
    assert any("DRAFT" in f.message for f in report.failures)
    with pytest.raises(VerificationFailure):  # and a build that is not a draft does not take it as current
        build(load_project(built))


def test_a_failing_test_fails_the_build_naming_the_test_and_its_assertion(built: Path):
    edit(built / "verify" / "demo.py", "assert half() + half() == 1", "assert half() + half() == 2")
    before = snapshot(built)
    with pytest.raises(Errors) as caught:
        build(load_project(built))
    assert caught.value.exit_code == 6
    failing, untested = caught.value.errors  # the test, and the value only it called
    assert failing.message == "test test_half_is_half failed"
    assert str(failing.location) == "verify/demo.py:63"
    assert "assert (Fraction(1, 2) + Fraction(1, 2)) == 2" in failing.details
    assert untested.message == "chapter demo: value 'half' is printed (question 1b) but no passing test exercises it"
    assert snapshot(built) == before


def test_a_wrong_rounding_filter_breaks_the_display_contract(built: Path, monkeypatch):
    from decimal import ROUND_UP, Decimal

    from solman.values import filters
    from solman.rendering import render as rendering

    def rounding_away_from_zero(obj, digits):  # 3.1472 becomes 3.148
        return str(Decimal(obj).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_UP))

    monkeypatch.setitem(filters.FILTERS, "fixed", rounding_away_from_zero)
    rendering.environment.cache_clear()
    try:
        report = verify(load_project(built))
    finally:
        rendering.environment.cache_clear()
    display = [f for f in report.failures if "is printed as" in f.message]
    assert len(display) == 1 and "value 'pi_estimate' is printed as '3.148' with fixed(3)" in display[0].message
    assert str(display[0].location) == "chapters/demo.tex.j2:26"


def test_a_number_typed_into_a_solution_is_flagged(built: Path):
    edit(built / "chapters" / "demo.tex.j2", "It is $\\VAR{ half }$,", "It is $\\VAR{ half }$ (that is 0.5),")
    report = verify(load_project(built))
    lint = [f for f in report.failures if "typed into a solution" in f.message]
    assert [(f.message, str(f.location)) for f in lint] == [
        ("a decimal number typed into a solution: 0.5", "chapters/demo.tex.j2:18")]
    assert "\\lit{...}" in lint[0].hint


@pytest.mark.tex
def test_a_project_overrides_a_built_in_shell_and_adds_files_in_subfolders(built: Path):
    edit(override(built, "manual.tex.j2"), r"\tableofcontents", r"\input{extra/notice}\tableofcontents")
    (built / "templates" / "extra").mkdir()
    (built / "templates" / "extra" / "notice.tex").write_text("Printed for the spring term only.\n")
    build(load_project(built))
    assert "Printed for the spring term only." in pdf_text(built / "build" / "manual.pdf")
    assert "Printed for the spring term only." not in pdf_text(built / "build" / "chapters" / "demo-solutions.pdf")
    (built / "templates" / "manual.tex.j2").unlink()  # back to solman's shell: rebuilt without the notice
    build(load_project(built))
    assert "Printed for the spring term only." not in pdf_text(built / "build" / "manual.pdf")


def test_a_shell_that_leaks_solutions_is_caught_in_the_pdf(built: Path):
    edit(override(built, "manual.tex.j2"), r"\input{\VAR{ chapter.input }}",
         r"\input{chapters/\VAR{ chapter.id }-solutions}")
    build(load_project(built))
    report = verify(load_project(built))
    assert any("build/problems.pdf shows solution text" in f.message for f in report.failures)


def test_two_builds_in_different_folders_are_byte_identical(built: Path, tmp_path: Path):
    other = tmp_path / "somewhere" / "else"
    shutil.copytree(built, other, ignore=shutil.ignore_patterns("build"))
    build(load_project(other))
    for output in OUTPUTS:
        assert (other / "build" / output).read_bytes() == (built / "build" / output).read_bytes(), output


def test_overfull_boxes_are_reported_at_their_template_line(built: Path):
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?",
         r"What is half of one? \mbox{" + "overflowing " * 12 + "}")
    build(load_project(built))
    report = verify(load_project(built))
    overfull = [f for f in report.failures if "overfull box" in f.message]
    assert len(overfull) == 1 and str(overfull[0].location) == "chapters/demo.tex.j2:16"


def test_a_reference_to_a_missing_question_is_reported(built: Path):
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", r'What is half of one (\VAR{ see("demo", "9z") })?')
    built_again = build(load_project(built))
    assert any("chapters/demo.tex.j2:16: latex: Hyper reference 'q:demo:9z' undefined" in w
               for w in built_again.warnings)


def test_a_changed_data_file_makes_the_pdfs_stale_and_is_named(built: Path):
    data = built / "verify" / "data" / "graph.json"
    data.parent.mkdir()
    data.write_text('{"edges": [[0, 1], [1, 2]]}')
    demo = built / "verify" / "demo.py"
    demo.write_text(demo.read_text() + "\n\n@value\ndef edges():\n    import json\n    from pathlib import Path\n"
                    "    return len(json.loads((Path(__file__).parent / 'data' / 'graph.json').read_text())['edges'])\n"
                    "\n\ndef test_edges():\n    assert edges() == 2\n")
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", r"What is half of one? ($\VAR{ edges }$ edges)")
    build(load_project(built))
    assert verify(load_project(built)).ok
    assert build(load_project(built)).compiled == {}  # a no-op
    data.write_text('{"edges": [[0, 1]]}')
    report = verify(load_project(built))  # before rebuilding: every PDF is stale, and why
    drift = next(f for f in report.failures if "stale" in f.message)
    assert "verify/data/graph.json changed" in drift.details
    assert "chapter demo: value 'edges' changed (printed in 1b): edges prints 1, was 2" in drift.details
    assert any("test test_edges passed then, failed now" in d for d in drift.details)
    with pytest.raises(Errors) as caught:  # the test that read 2 edges fails now: nothing is published
        build(load_project(built))
    assert caught.value.exit_code == 6 and caught.value.errors[0].message == "test test_edges failed"
    edit(demo, "assert edges() == 2", "assert edges() == 1")
    assert len(build(load_project(built)).compiled) == len(OUTPUTS)
    assert "(1 edges)" in pdf_text(built / "build" / "problems.pdf")
    report = verify(load_project(built))
    assert report.ok, "\n".join(f.render() for f in report.failures)


def test_drift_names_the_one_entry_that_changed(built: Path):
    # one point of the curve moves; a change below the printed precision changes nothing printed
    edit(built / "verify" / "demo.py", "np.column_stack([xs, xs ** 2])",
         "np.column_stack([xs, xs ** 2 + 0.1 * (np.arange(11) == 5) + 1e-9])")
    drift = next(f for f in verify(load_project(built)).failures if "stale" in f.message)
    assert drift.details == ("chapter demo: value 'curve' changed (printed in 2): curve | coords(2) prints "
                             "(0.00,0.00) (0.10,0.01) (0.20,0.04) (..., was (0.00,0.00) (0.10,0.01) (0.20,0.04) (...",
                             "chapter demo: test test_curve_is_parabola passed then, failed now",
                             "verify/demo.py changed")


def test_pdftex_warnings_are_reported_at_their_template_line_and_fail_verify(built: Path):
    # two tagged equations give hyperref the same destination: pdfTeX warns, LaTeX does not; the page
    # they are on is written at the \clearpage after them (a question's statement is a box, set later)
    edit(built / "chapters" / "demo.tex.j2", "\\VAR{ problem(\"Estimation\", 2) }",
         "\\begin{equation} a = b \\tag{A} \\end{equation}\n"
         "\\begin{equation} c = d \\tag{B} \\end{equation}\n\\clearpage\n\\VAR{ problem(\"Estimation\", 2) }")
    built_again = build(load_project(built))
    duplicate = [w for w in built_again.warnings if "(name{equation.1.0.1}) has been already used" in w]
    assert any(w.startswith("chapters/demo.tex.j2:") for w in duplicate)  # where the page was written
    failures = [f for f in verify(load_project(built)).failures if "pdfTeX" in f.message]
    assert any(f.location.path == "chapters/demo.tex.j2" for f in failures)


def counted(monkeypatch, module, name: str) -> list:
    """Replace ``module.name`` by a wrapper that records each call's chapters (or ``all``)."""
    calls, real = [], getattr(module, name)

    def counting(project, chapters=None, *args, **kwargs):
        calls.append(sorted(getattr(c, "id", c) for c in chapters) if chapters is not None else "all")
        return real(project, chapters, *args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_verify_after_pdf_runs_no_test_and_still_catches_drift_a_changed_data_file_and_a_failing_test(
        built: Path, monkeypatch, caplog):
    import solman.checking.testrun

    data = built / "verify" / "graph.json"
    data.write_text('{"edges": [[0, 1], [1, 2]]}')
    demo = built / "verify" / "demo.py"
    demo.write_text(demo.read_text() + "\n\ndef test_edges():\n    import json\n    from pathlib import Path\n"
                    "    edges = json.loads((Path(__file__).parent / 'graph.json').read_text())['edges']\n"
                    "    assert half() * len(edges) == 1\n")
    build(load_project(built))
    runs = counted(monkeypatch, solman.checking.testrun, "run_tests")
    with caplog.at_level("INFO", logger="solman"):
        report = verify(load_project(built))
    assert report.ok, "\n".join(f.render() for f in report.failures)
    assert runs == [] and "running the tests" not in caplog.text  # invoke pdf ran them: their results are reused
    assert report.displayed[0] > 0 and report.sensitivity == (7, 7)  # reused too, and stated all the same

    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half of one?")
    report = verify(load_project(built))
    assert runs == [] and any("4 PDF(s) are stale" in f.message for f in report.failures)

    data.write_text('{"edges": [[0, 1]]}')  # the test reads it: its result is not reused
    report = verify(load_project(built))
    assert runs == [["demo"]]
    assert "test test_edges failed" in [f.message for f in report.failures]
    drift = next(f for f in report.failures if "stale" in f.message)
    assert "verify/graph.json changed" in drift.details


def test_verify_fresh_runs_every_test_and_measures_again(built: Path, monkeypatch):
    import solman.checking.sensitivity
    import solman.checking.testrun

    build(load_project(built))
    runs = counted(monkeypatch, solman.checking.testrun, "run_tests")
    perturbed = []
    real = solman.checking.sensitivity.run_perturbations
    monkeypatch.setattr(solman.checking.sensitivity, "run_perturbations",
                        lambda project, ids, jobs: perturbed.append(len(jobs)) or real(project, ids, jobs))
    assert verify(load_project(built)).ok and runs == [] and perturbed == []
    report = verify(load_project(built), fresh=True)
    assert report.ok, "\n".join(f.render() for f in report.failures)
    assert runs == [["demo"]] and perturbed == [7]


def test_verify_chapter_checks_one_chapter_and_says_what_it_left_out(built: Path):
    from solman.errors import ConfigError

    build(load_project(built))
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half of one?")
    build(load_project(built), chapter="demo")  # the chapter's PDFs only: the combined manual is stale now
    whole = verify(load_project(built))
    assert any("2 PDF(s) are stale" in f.message and "build/manual.pdf" in f.message for f in whole.failures)
    report = verify(load_project(built), chapter="demo")
    assert report.ok, "\n".join(f.render() for f in report.failures)
    assert sorted(report.pdfs) == sorted(str(built / "build" / "chapters" / f"demo-{e}.pdf")
                                         for e in ("problems", "solutions"))
    summary = report.summary()
    assert summary[-1].endswith("chapter demo VERIFIED")
    assert "not checked: the combined manual (build/manual.pdf, build/problems.pdf)" in summary[-2]
    with pytest.raises(ConfigError, match="no chapter 'nope'"):
        verify(load_project(built), chapter="nope")
    with pytest.raises(ConfigError, match="exclude each other"):
        verify(load_project(built), built / "build" / "manual.pdf", chapter="demo")
