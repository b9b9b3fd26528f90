"""The flagship manual shipped in this repository builds and verifies, from scratch."""

import pytest
from conftest import REPO

from solman.build import build
from solman.project import load_project
from solman.verification import verify

pytestmark = pytest.mark.tex


def test_the_flagship_manual_builds_and_verifies(tmp_path):
    project = load_project(REPO, build=tmp_path / "build")
    built = build(project)
    assert built.warnings == []
    report = verify(project)
    assert report.ok, "\n".join(f.render() for f in report.failures)
    assert set(report.pdfs.values()) == {"current"} and len(report.pdfs) == 2 + 2 * len(project.chapters)
