"""The flagship manual shipped in this repository builds and verifies, from scratch, and builds the
same from its caches."""

import os

import pytest
from conftest import REPO

from solman.checking.browser import check_site
from solman.html.site import build_html

from solman.build.pipeline import build
from solman.checking.pages import page_splits, question_marks
from solman.latex.pdfs import pdf_text, read_digest
from solman.project.settings import load_project
from solman.rendering.sources import render_chapters
from solman.project.targets import plan_targets
from solman.checking.verification import verify

pytestmark = pytest.mark.tex


def test_the_flagship_manual_builds_and_verifies(tmp_path):
    project = load_project(REPO, build=tmp_path / "build")
    built = build(project)
    assert built.warnings == []
    # The HTML edition, from the same build (invoke html builds nothing more than the pages): verify checks
    # its pages too, and every page passes the browser checks (see test_html.py); the first screens are kept
    # in the repository's build/html-check/ for a person to look at.
    site = build_html(project)
    assert len(site.pages) == 2 * len(project.chapters) and site.converted == site.pages
    report = verify(project)
    assert report.ok, "\n".join(f.render() for f in report.failures)
    assert set(report.pdfs.values()) == {"current"} and len(report.pdfs) == 2 + 2 * len(project.chapters)
    assert set(report.pages.values()) == {"current"} and len(report.pages) == 2 * len(project.chapters)
    assert report.read_from_html > 300
    axe = REPO / "node_modules" / "axe-core" / "axe.min.js"
    if axe.exists() or os.environ.get("SOLMAN_REQUIRE_TEX"):  # CI installs it (invoke setup --html)
        pages = check_site(site.folder, REPO / "build" / "html-check", axe)
        assert [(p.page, p.problems) for p in pages if p.problems] == []
        assert len(pages) == 1 + 2 * len(project.chapters) and sum(p.maths for p in pages) > 1000

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

    # A build from the caches is the same build: render every chapter again with its values
    # taken from the value cache (as after an edit that touches templates only). The PDFs are
    # compiled from these .tex files, reproducibly, so equal .tex means byte-identical PDFs.
    for render in (project.build / "cache").glob("*/render-*.pickle"):
        render.unlink()
    again = render_chapters(load_project(REPO, build=project.build), plan_targets(project))
    assert len(again) == 2 * len(project.chapters)
    for rendered in again.values():
        assert rendered.text == (project.build / "tex" / rendered.name).read_text(encoding="utf-8"), rendered.name

    # The exams' problems editions are exam papers: room under every open question, none elsewhere.
    for rendered in again.values():
        spaces = rendered.text.count("\\begin{withspace}")
        exam = rendered.chapter in ("eth_dl_2020", "epfl_ml_2024") and rendered.name.endswith("-problems.tex")
        assert spaces == (sum(q.kind == "open" for q in rendered.questions) if exam else 0), rendered.name
