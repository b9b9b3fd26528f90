"""Shared fixtures: a fresh copy of the fixture project, and TeX tests that skip only without TeX."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from solman.latex.toolchain import missing_packages
from solman.project.settings import load_project

REPO = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixture_project"
sys.path.insert(0, str(REPO))  # the developers' modules (dev/, tasks.py) are the repository's, not solman's

_missing = missing_packages()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The flagship's tests first: they share one long build (test_flagship.py), so their chain of work
    starts with the session while the other worker runs the rest. Tests marked ``tex`` need TeX Live:
    skipped without it, unless SOLMAN_REQUIRE_TEX is set (CI)."""
    items.sort(key=lambda item: item.path.name != "test_flagship.py")  # stable: the rest keep their order
    if not _missing:
        return
    if os.environ.get("SOLMAN_REQUIRE_TEX"):
        raise pytest.UsageError(f"SOLMAN_REQUIRE_TEX is set but TeX Live is incomplete: {' '.join(_missing)}")
    skip = pytest.mark.skip(reason=f"TeX Live is incomplete ({' '.join(_missing)}); run `invoke setup`")
    for item in items:
        if "tex" in item.keywords:
            item.add_marker(skip)


def once(tmp_path_factory: pytest.TempPathFactory, worker_id: str, name: str,
         produce: Callable[[Path], dict]) -> tuple[Path, dict]:
    """Run ``produce(folder)`` once per test session, even with several xdist workers (the first to come
    runs it under a file lock, the others wait and share its folder and its JSON result, or its failure);
    return the folder and the result."""
    base = tmp_path_factory.getbasetemp()
    base = base if worker_id == "master" else base.parent  # the workers' common folder
    folder, done = base / name, base / f"{name}.json"
    with open(base / f"{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if not done.exists():
            folder.mkdir(exist_ok=True)
            try:
                outcome = {"result": produce(folder)}
            except BaseException as error:
                outcome = {"failed": f"{type(error).__name__}: {error}"}
                done.write_text(json.dumps(outcome))
                raise
            done.write_text(json.dumps(outcome))
    outcome = json.loads(done.read_text())
    if "failed" in outcome:
        pytest.fail(f"{name} failed in another worker: {outcome['failed']}")
    return folder, outcome["result"]


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A copy of the fixture project (it uses solman's built-in templates)."""
    target = tmp_path / "project"
    shutil.copytree(FIXTURE, target)
    return target


@pytest.fixture
def project(project_dir: Path):
    return load_project(project_dir)


OUTPUTS = ["manual.pdf", "problems.pdf", "chapters/demo-solutions.pdf", "chapters/demo-problems.pdf"]


@pytest.fixture(scope="session")
def built_once(tmp_path_factory) -> Path:
    """The fixture project, built once per test session; tests get copies of it (see ``built``)."""
    from solman.build.pipeline import build

    root = tmp_path_factory.mktemp("built") / "project"
    shutil.copytree(FIXTURE, root)
    build(load_project(root))
    return root


@pytest.fixture
def built(built_once: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built fixture project, free to break."""
    copy = tmp_path / "project"
    shutil.copytree(built_once, copy)
    return copy


def snapshot(root: Path) -> dict[str, bytes]:
    """The published outputs, byte for byte: what a failed build must leave untouched."""
    return {name: (root / "build" / name).read_bytes() for name in [*OUTPUTS, "manifest.json"]}


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must occur) by ``new`` in ``path``."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def override(root: Path, name: str) -> Path:
    """The project's own copy of solman's template ``name`` (templates/<name>), to edit."""
    from solman.project.settings import BUILTIN_TEMPLATES

    target = root / "templates" / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BUILTIN_TEMPLATES / name, target)
    return target


@pytest.fixture(scope="session")
def lms_exports(tmp_path_factory) -> dict:
    """A project whose chapter has every kind of question (tests/lms_chapter.py), exported once per test
    session in both LMS formats: its root, and the ``Export`` of each format (files, warnings, banks)."""
    from lms_chapter import make_project

    from solman.exports.banks import export_banks

    root = make_project(tmp_path_factory.mktemp("lms") / "project", FIXTURE)
    project = load_project(root)
    return {"root": root, "moodle": export_banks(project, "moodle"), "qti": export_banks(project, "qti")}
