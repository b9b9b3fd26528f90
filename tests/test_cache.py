"""Caches keyed by content: they serve what is unchanged and never anything stale."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import edit

from solman import testrun
from solman.cache import ChapterCache, ChapterValues
from solman.project import load_project
from solman.sources import render_chapters
from solman.targets import plan_targets

HELPER = "SCALE = 2\n\n\ndef scaled(x):\n    return SCALE * x\n"


@pytest.fixture
def with_helper(project_dir: Path) -> Path:
    """The fixture project whose verify module imports a local helper module."""
    (project_dir / "verify" / "demo_helper.py").write_text(HELPER)
    edit(project_dir / "verify" / "demo.py", "from solman import tex, value",
         "from demo_helper import scaled\nfrom solman import tex, value")
    edit(project_dir / "verify" / "demo.py", "return Fraction(1, 2)", "return Fraction(scaled(1), 4)")
    return project_dir


def rendered_text(project_dir: Path) -> str:
    project = load_project(project_dir)
    return render_chapters(project, plan_targets(project))["demo", "solutions"].text


def test_the_values_key_covers_imported_helpers(with_helper: Path):
    rendered_text(with_helper)  # imports the module and computes the values, recording what they read
    project = load_project(with_helper)
    cache = ChapterCache(project, project.chapter("demo"))
    assert with_helper / "verify" / "demo_helper.py" in cache.reads("values")
    before = cache.values_key()
    edit(with_helper / "verify" / "demo_helper.py", "SCALE = 2", "SCALE = 3")
    assert cache.values_key() != before


def test_editing_an_imported_helper_invalidates_the_cached_values(with_helper: Path):
    assert r"It is $\frac{1}{2}$" in rendered_text(with_helper)
    edit(with_helper / "verify" / "demo_helper.py", "SCALE = 2", "SCALE = 3")
    assert r"It is $\frac{3}{4}$" in rendered_text(with_helper)


def test_cached_values_render_without_importing_the_module(project_dir: Path):
    rendered_text(project_dir)  # fills the caches
    edit(project_dir / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half of one?")
    project = load_project(project_dir)
    values = ChapterValues(project, project.chapter("demo"), ChapterCache(project, project.chapter("demo")))
    assert values._real is None and values["half"]() == 1 / 2
    assert "What is one half of one?" in rendered_text(project_dir)


def test_a_changed_value_is_recomputed(project_dir: Path):
    assert "$1$ and $3$" in rendered_text(project_dir)
    edit(project_dir / "verify" / "demo.py", "sp.Matrix([[2, 1], [1, 2]])", "sp.Matrix([[3, 1], [1, 3]])")
    assert "$2$ and $4$" in rendered_text(project_dir)


def test_test_results_are_cached_per_verify_module(project_dir: Path, monkeypatch):
    project = load_project(project_dir)
    first = testrun.test_results(project, list(project.chapters))
    assert len(first.tests) == 7
    monkeypatch.setattr(testrun, "run_tests", lambda *a: pytest.fail("the cached results should be used"))
    assert testrun.test_results(project, list(project.chapters)).tests == first.tests
    monkeypatch.undo()
    edit(project_dir / "verify" / "demo.py", "assert half() + half() == 1", "assert half() == 1")
    again = testrun.test_results(project, list(project.chapters))
    assert [t["outcome"] for t in again.tests.values()].count("failed") == 1


def test_a_corrupt_cache_entry_is_ignored(project_dir: Path):
    rendered_text(project_dir)
    for entry in (project_dir / "build" / "cache" / "demo").glob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    assert "What is half of one?" in rendered_text(project_dir)


@pytest.mark.tex
def test_a_no_op_build_imports_neither_sympy_nor_numpy(project_dir: Path):
    program = ("import sys; from solman.project import load_project; from solman.build import build; "
               f"built = build(load_project({str(project_dir)!r})); "
               "print(len(built.compiled), 'sympy' in sys.modules, 'numpy' in sys.modules, 'jinja2' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["4", "True", "True", "True"]
    second = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert second.stdout.split() == ["0", "False", "False", "False"]
    assert "up to date" in second.stderr or second.stderr == ""
