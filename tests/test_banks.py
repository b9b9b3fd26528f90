"""LMS question banks (invoke export --format moodle|qti): every kind of question, from the same values
as the PDF, and the same numbers read back from the exported files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from conftest import FIXTURE, edit
from lms_chapter import (
    NUMBERS,
    make_project,
    moodle_files,
    moodle_numbers,
    moodle_types,
    qti_numbers,
)

from solman.errors import ConfigError, SolmanError, TemplateError
from solman.exports.banks import export_banks
from solman.project.settings import load_project


@pytest.fixture
def exported(lms_exports) -> dict:
    return lms_exports


def verify_values(root: Path) -> dict[str, float]:
    """The chapter's values, computed by its own verify module (not through solman's keys or writers)."""
    spec = importlib.util.spec_from_file_location("lms_demo_values", root / "verify" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"1c": float(module.ratio()), "1d": float(module.third()), "1e": float(module.count())}


def test_every_kind_of_question_is_exported_without_warnings(exported):
    assert exported["moodle"].warnings == [] and exported["qti"].warnings == []
    [path] = exported["moodle"].paths
    assert path == exported["root"] / "build" / "export" / "moodle" / "demo.xml"
    assert moodle_types(path) == {"demo:1a": "multichoice", "demo:1b": "truefalse", "demo:1c": "numerical",
                                  "demo:1d": "numerical", "demo:1e": "numerical", "demo:1f": "shortanswer",
                                  "demo:1g": "essay", "demo:1h": "essay"}
    [package] = exported["qti"].paths
    assert package == exported["root"] / "build" / "export" / "qti" / "demo.zip"


def test_the_same_numbers_everywhere(exported):
    """Every numeric answer, read back from both files, is the verify module's value, accepted within the
    printed precision (1c prints 3 decimals) or the question's tol= (1d), exactly when exact (1e)."""
    values = verify_values(exported["root"])
    for found in (moodle_numbers(exported["moodle"].paths[0]),
                  {k.removeprefix("i-demo-"): v for k, v in qti_numbers(exported["qti"].paths[0]).items()}):
        found = {k.split(":")[-1]: v for k, v in found.items()}
        assert set(found) == set(NUMBERS)
        for question, (answer, tolerance) in found.items():
            assert answer == values[question], question
            assert tolerance == pytest.approx(NUMBERS[question][1], abs=1e-15), question
            assert abs(answer - NUMBERS[question][0]) <= 1e-12, question


def test_a_figure_travels_with_its_question_as_a_png(exported):
    files = moodle_files(exported["moodle"].paths[0])
    assert len(files) == 1 and next(iter(files.values())).startswith(b"\x89PNG")


def edited_chapter(tmp_path: Path, old: str, new: str) -> Path:
    """The LMS chapter's template in a fresh project, with ``old`` (which must occur) replaced by ``new``."""
    template = make_project(tmp_path / "project", FIXTURE) / "chapters" / "demo.tex.j2"
    edit(template, old, new)
    return template


def line_of(template: Path, question: str) -> int:
    return next(n for n, text in enumerate(template.read_text().splitlines(), 1) if f'"{question}"' in text)


def render_solutions(template: Path) -> None:
    from solman.rendering.render import render_chapter
    from solman.rendering.sources import load_values

    project = load_project(template.parent.parent)
    chapter = project.chapter("demo")
    render_chapter(project, chapter, load_values(project, chapter), "solutions")


def test_an_exact_answer_with_no_short_decimal_needs_tol(tmp_path):
    template = edited_chapter(tmp_path, "answer=third, tol=0.001", "answer=third")
    done = export_banks(load_project(template.parent.parent), "moodle")
    assert done.warnings == [(f"chapters/demo.tex.j2:{line_of(template, '1d')}: export: question 1d: the exact answer "
                              "1/3 has no short decimal, so a platform cannot accept it without a tolerance: give "
                              "question(..., tol=...)")]


def test_an_open_question_without_an_answer_is_a_warning_unless_graded_by_hand(tmp_path):
    """1h is an essay (kind="essay"); made a plain open question, its missing answer= is a warning at its line."""
    template = edited_chapter(tmp_path, 'question("1h", kind="essay")', 'question("1h")')
    done = export_banks(load_project(template.parent.parent), "moodle")
    assert done.warnings == [(f"chapters/demo.tex.j2:{line_of(template, '1h')}: export: question 1h: an open question "
                              "without answer= gives graders no answer: give it answer=value, or kind=\"essay\" when "
                              "its answer is reasoning (a proof, an explanation) graded by hand")]
    assert moodle_types(done.paths[0])["demo:1h"] == "essay"


def test_an_essay_cannot_have_an_answer(tmp_path):
    template = edited_chapter(tmp_path, 'question("1h", kind="essay")', 'question("1h", kind="essay", answer=count)')
    with pytest.raises(TemplateError, match="question '1h' is an essay, graded by hand, so it cannot have answer="):
        render_solutions(template)


@pytest.mark.parametrize("call", ['question("1d", answer=third, tol=-1)', 'question("1d", tol=0.1)',
                                  'question("1d", answer=third, tol="small")'])
def test_tol_must_be_a_non_negative_number_with_an_answer(tmp_path, call):
    template = edited_chapter(tmp_path, 'question("1d", points=1, answer=third, tol=0.001)', call)
    with pytest.raises(TemplateError, match="tol= of question '1d'"):
        render_solutions(template)


def test_an_unknown_format_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="unknown export format 'blackboard'"):
        export_banks(load_project(make_project(tmp_path / "project", FIXTURE)), "blackboard")


def test_a_chapter_whose_tests_fail_is_not_exported(tmp_path):
    root = make_project(tmp_path / "project", FIXTURE)
    verify = root / "verify" / "demo.py"
    verify.write_text(verify.read_text().replace("assert choice() == \"B\"", "assert choice() == \"C\""))
    with pytest.raises(SolmanError, match="test test_values failed"):
        export_banks(load_project(root), "moodle")
    assert not (root / "build" / "export" / "moodle").exists()
