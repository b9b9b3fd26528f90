"""The whole pipeline on the fixture project, with real latexmk runs."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURE, REPO, edit

from solman.build import build
from solman.errors import LatexError, TemplateError
from solman.pdfs import pdf_text, read_digest
from solman.project import load_project
from solman.verification import verify

pytestmark = pytest.mark.tex

OUTPUTS = ["manual.pdf", "problems.pdf", "chapters/demo-solutions.pdf", "chapters/demo-problems.pdf"]


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Path:
    """The fixture project, built once; tests get copies of it."""
    root = tmp_path_factory.mktemp("built") / "project"
    shutil.copytree(FIXTURE, root)
    shutil.copytree(REPO / "templates", root / "templates")
    build(load_project(root))
    return root


@pytest.fixture
def built(built_once: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(built_once, copy)
    return copy


def snapshot(root: Path) -> dict[str, bytes]:
    return {name: (root / "build" / name).read_bytes() for name in [*OUTPUTS, "manifest.json"]}


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
    assert manifest["tools"]["sympy"] and manifest["tools"]["pdflatex"].startswith("pdfTeX")


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
    assert "chapter demo: value 'half' changed (printed in 1b)" in drift.details
    assert any("test_half_is_half failed" in f.message for f in report.failures)


def test_removing_the_only_test_of_a_printed_value_fails_coverage(built: Path):
    edit(built / "verify" / "demo.py", "def test_half_is_half():\n    assert half() + half() == 1\n", "")
    report = verify(load_project(built))
    assert [f.message for f in report.failures] == [
        "chapter demo: value 'half' is printed (question 1b) but no passing test exercises it"]
    assert report.failures[0].location.path == "chapters/demo.tex.j2"


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


def test_verify_pdf_tells_current_from_foreign(built: Path, tmp_path: Path):
    project = load_project(built)
    copy = tmp_path / "downloaded.pdf"
    shutil.copy(built / "build" / "manual.pdf", copy)
    assert verify(project, copy).pdfs == {str(copy): "current"}
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x.tex").write_text("\\documentclass{article}\\begin{document}x\\end{document}\n")
    subprocess.run(["pdflatex", "-interaction=batchmode", "x.tex"], cwd=foreign, check=True, capture_output=True)
    report = verify(project, foreign / "x.pdf")
    assert "not a solman PDF" in report.failures[0].message


def test_a_shell_that_leaks_solutions_is_caught_in_the_pdf(built: Path):
    edit(built / "templates" / "manual.tex.j2", r"\input{\VAR{ chapter.input }}",
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
