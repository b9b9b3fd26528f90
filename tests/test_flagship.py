"""The flagship manual shipped in this repository builds and verifies, from scratch, and builds the
same from its caches."""

import pytest
from conftest import REPO

from solman.build.pipeline import build
from solman.project.settings import load_project
from solman.rendering.sources import render_chapters
from solman.project.targets import plan_targets
from solman.checking.verification import verify

pytestmark = pytest.mark.tex


def test_the_flagship_manual_builds_and_verifies(tmp_path):
    project = load_project(REPO, build=tmp_path / "build")
    built = build(project)
    assert built.warnings == []
    report = verify(project)
    assert report.ok, "\n".join(f.render() for f in report.failures)
    assert set(report.pdfs.values()) == {"current"} and len(report.pdfs) == 2 + 2 * len(project.chapters)

    # A build from the caches is the same build: render every chapter again with its values
    # taken from the value cache (as after an edit that touches templates only). The PDFs are
    # compiled from these .tex files, reproducibly, so equal .tex means byte-identical PDFs.
    for render in (project.build / "cache").glob("*/render-*.pickle"):
        render.unlink()
    again = render_chapters(load_project(REPO, build=project.build), plan_targets(project))
    assert len(again) == 2 * len(project.chapters)
    for rendered in again.values():
        assert rendered.text == (project.build / "tex" / rendered.name).read_text(encoding="utf-8"), rendered.name
