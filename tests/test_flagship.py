"""The flagship manual shipped in this repository builds and verifies, from scratch, and builds the
same from its caches."""

import csv
import importlib.util
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, once
from lms_chapter import (
    moodle_invalid,
    moodle_numbers,
    moodle_types,
    qti_invalid,
    qti_numbers,
)

from solman.build.pipeline import build
from solman.checking.browser import check_site
from solman.checking.pages import page_splits, question_marks
from solman.checking.verification import verify
from solman.exports.banks import collect_banks, write_format
from solman.exports.keys import write_keys
from solman.html.site import build_html
from solman.latex.pdfs import pdf_text, read_digest
from solman.project.settings import load_project
from solman.project.targets import plan_targets
from solman.rendering.sources import render_chapters
from solman.variants.builds import numbered_variants
from solman.variants.params import selected

# The flagship is built once per test session, shared by the tests below (and by both xdist workers: see
# conftest.once), which then check it side by side. Building it is minutes on 2 busy cores, so these tests
# may take longer than the 600 s pytest-timeout gives a test that might hang (pyproject.toml); still a
# limit, not none. conftest runs them first, so that their chain of work starts with the session.
pytestmark = [pytest.mark.tex, pytest.mark.timeout(1200)]


@pytest.fixture(scope="session")
def flagship(tmp_path_factory, worker_id):
    """The flagship manual, built from scratch once per session; the build's warnings."""
    def produce(folder):
        return {"warnings": build(load_project(REPO, build=folder / "build")).warnings}

    folder, made = once(tmp_path_factory, worker_id, "flagship", produce)
    return load_project(REPO, build=folder / "build"), made


@pytest.fixture(scope="session")
def flagship_site(flagship, tmp_path_factory, worker_id):
    """The flagship's HTML edition (invoke html), from the same build: it builds nothing more than the pages."""
    project, _ = flagship

    def produce(folder):
        site = build_html(project)
        return {"pages": len(site.pages), "converted": len(site.converted), "folder": str(site.folder)}

    _, made = once(tmp_path_factory, worker_id, "flagship-html", produce)
    return project, made


def test_the_flagship_builds_without_warnings(flagship):
    project, made = flagship
    assert made["warnings"] == []
    assert (project.build / "manual.pdf").exists() and (project.build / "problems.pdf").exists()


def test_the_flagship_pages_break_well_and_show_its_corrections(flagship):
    project, _ = flagship
    # No bad breaks: in both editions every question's heading, stem and options share a page, and its
    # solution starts on the page its statement ends (verify checks it too; here it is said outright).
    for edition in ("manual.pdf", "problems.pdf"):
        marks = question_marks(project.build / edition)
        assert len(marks) > 100 and any("option" in parts for parts in marks.values()), edition
        assert page_splits(project.build / edition) == [], edition

    # The statements the ETH exam gets wrong (Eq. (9), 4.3(i), 4.4(ii)) are printed corrected, with a
    # footnote, in both editions; the problems edition shows no 64-digit digest, only its first 12 digits.
    for edition in ("manual.pdf", "problems.pdf"):
        text = " ".join(pdf_text(project.build / edition).split())
        assert text.count("Corrected from the source: the exam") == 3, edition
    digest = read_digest(project.build / "problems.pdf")
    assert digest not in pdf_text(project.build / "problems.pdf") and f"Build digest: {digest[:12]}" in text


def test_a_flagship_build_from_its_caches_is_the_same_build(flagship, tmp_path):
    """Every chapter rendered again with its values taken from the value cache (as after an edit that
    touches templates only), from a copy of the caches: the same .tex, so byte-identical PDFs (they are
    compiled reproducibly)."""
    project, _ = flagship
    shutil.copytree(project.build / "cache", tmp_path / "build" / "cache")
    for render in (tmp_path / "build" / "cache").glob("*/render-*.pickle"):
        render.unlink()
    again = render_chapters(load_project(REPO, build=tmp_path / "build"), plan_targets(project))
    assert len(again) == 2 * len(project.chapters)
    for rendered in again.values():
        assert rendered.text == (project.build / "tex" / rendered.name).read_text(encoding="utf-8"), rendered.name

    # The exams' problems editions are exam papers: room under every open question, none elsewhere.
    for rendered in again.values():
        spaces = rendered.text.count("\\begin{withspace}")
        exam = rendered.chapter in ("eth_dl_2020", "epfl_ml_2024", "variant_exam") and rendered.name.endswith("-problems.tex")
        assert spaces == (sum(q.kind in ("open", "essay") for q in rendered.questions) if exam else 0), rendered.name


def test_the_flagship_verifies_with_its_html_edition(flagship_site):
    """verify proves the PDFs and the HTML pages (values read back from their MathML, no leak, current)."""
    project, made = flagship_site
    assert made["pages"] == 2 * len(project.chapters) and made["converted"] == made["pages"]
    report = verify(project)
    assert report.ok, "\n".join(f.render() for f in report.failures)
    assert set(report.pdfs.values()) == {"current"} and len(report.pdfs) == 2 + 2 * len(project.chapters)
    assert set(report.pages.values()) == {"current"} and len(report.pages) == 2 * len(project.chapters)
    assert report.read_from_html > 300


def test_the_flagship_html_passes_the_browser_checks(flagship_site):
    """Every page in headless Chromium (see test_html.py); the first screens are kept in the repository's
    build/html-check/ for a person to look at."""
    project, made = flagship_site
    axe = REPO / "node_modules" / "axe-core" / "axe.min.js"
    if not axe.exists() and not os.environ.get("SOLMAN_REQUIRE_TEX"):  # CI installs it (invoke setup --html)
        pytest.skip("axe-core is not installed: run `invoke setup --html`")
    pages = check_site(Path(made["folder"]), REPO / "build" / "html-check", axe)
    assert [(p.page, p.problems) for p in pages if p.problems] == []
    assert len(pages) == 1 + 2 * len(project.chapters) and sum(p.maths for p in pages) > 1000


def test_the_flagship_exports_to_learning_platforms(flagship):
    """The LMS exports (README, "Exports"): every chapter in both formats, valid, without warnings; the EPFL
    exam's 12 multiple-choice and 20 true/false questions among them; every numeric answer with its
    tolerance, read back from the files as the verify module computes it (variant_exam: in each variant)."""
    project, _ = flagship
    check_lms_exports(project)

    # Keys graders can use (README, "Answer keys"): every question has its answer, but for the essays, whose
    # answer is reasoning graded by hand (kind="essay"); and the CSV beside each key.
    for path in write_keys(project):
        key = json.loads(path.read_text(encoding="utf-8"))
        assert [q["id"] for q in key["questions"] if q["answer"] is None and q["type"] != "essay"] == [], path.name
        assert [q["id"] for q in key["questions"] if q["answer"] is not None and q["type"] == "essay"] == [], path.name
        rows = list(csv.reader(io.StringIO(path.with_suffix(".csv").read_text(encoding="utf-8"))))
        assert [row[1] for row in rows[1:]] == [q["id"] for q in key["questions"]], path.name


def check_lms_exports(project):
    banks, warnings = collect_banks(project, [c.id for c in project.chapters], variants=2)
    assert warnings == []
    types, numbers = {}, {}
    for chapter_id, chapter_banks in banks.items():
        for format, checks in (("moodle", (moodle_invalid, moodle_numbers)), ("qti", (qti_invalid, qti_numbers))):
            [(name, data)] = write_format(project, format, chapter_banks).items()
            path = project.build / "lms" / format / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            assert checks[0](path) == [], path
            numbers[format, chapter_id] = checks[1](path)
            if format == "moodle":
                types.update(moodle_types(path))
    kinds = [kind for id, kind in types.items() if id.count(":") == 1 or id.endswith(":v001")]
    assert kinds.count("multichoice") >= 12 and kinds.count("truefalse") >= 20
    numerical = [id for id, kind in types.items() if kind == "numerical"]
    assert numerical and set(numerical) == {id for (f, _), found in numbers.items() if f == "moodle" for id in found}
    for (format, chapter_id), found in numbers.items():
        template = (project.root / "chapters" / f"{chapter_id}.tex.j2").read_text()
        names = dict(re.findall(r'call question\("([^"]+)"[^)]*answer=(\w+)', template))
        for id, (answer, tolerance) in found.items():
            question, variant = (id.split(":")[1:] + [None])[:2] if format == "moodle" else \
                re.fullmatch(rf"i-{chapter_id}-(.+?)(?:-(v\d+))?", id).groups()
            seed = next(v.seed for v in numbered_variants(2, 1) if v.id == variant) if variant else None
            with selected(seed):
                spec = importlib.util.spec_from_file_location(f"flagship_{chapter_id}_{seed}",
                                                              project.root / "verify" / f"{chapter_id}.py")
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                value = float(getattr(module, names[question])())
            assert abs(answer - value) <= 1e-12 and tolerance >= 0, (format, id)
