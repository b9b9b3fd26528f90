"""Caches keyed by content: they serve what is unchanged and never anything stale."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import edit

from solman.checking import testrun
from solman.values.cache import ChapterCache, ChapterValues
from solman.project.settings import load_project
from solman.rendering.sources import render_chapters
from solman.project.targets import plan_targets

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
    program = ("import sys; from solman.project.settings import load_project; from solman.build.pipeline import build; "
               f"built = build(load_project({str(project_dir)!r})); "
               "print(len(built.compiled), 'sympy' in sys.modules, 'numpy' in sys.modules, 'jinja2' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["4", "True", "True", "True"]
    second = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert second.stdout.split() == ["0", "False", "False", "False"]
    assert "up to date" in second.stderr or second.stderr == ""


# --- what a value reads is part of its key (audit hooks) -----------------------------------------

READERS = {
    "open and json.load": ("data/graph.json", '{"edges": [[0, 1], [1, 2]]}', '{"edges": [[0, 1]]}',
                           "import json\n    with open(Path(__file__).parent / 'data' / 'graph.json') as f:\n"
                           "        return len(json.load(f)['edges'])"),
    "Path.read_text": ("data/count.txt", "2", "1",
                       "return int((Path(__file__).parent / 'data' / 'count.txt').read_text())"),
    "numpy.load": ("data/weights.npy", None, None,
                   "return int(np.load(Path(__file__).parent / 'data' / 'weights.npy').sum())"),
    "an import inside the value": ("demo_data.py", "EDGES = 2\n", "EDGES = 1\n",
                                   "import demo_data\n    return demo_data.EDGES"),
}


def write_data(path: Path, content: str | None, edges: int) -> None:
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        np.save(path, np.ones(edges, dtype=np.int64))
    else:
        path.write_text(content)


@pytest.mark.parametrize("reader", READERS, ids=list(READERS))
def test_a_value_that_reads_a_project_file_is_recomputed_when_the_file_changes(project_dir: Path, reader: str):
    name, before, after, body = READERS[reader]
    data = project_dir / "verify" / name
    write_data(data, before, 2)
    demo = project_dir / "verify" / "demo.py"
    demo.write_text(demo.read_text().replace("import numpy as np", "from pathlib import Path\n\nimport numpy as np")
                    + f"\n\n@value\ndef edges():\n    {body}\n")
    edit(project_dir / "chapters" / "demo.tex.j2", "What is half of one?", r"What is half of one? ($\VAR{ edges }$ edges)")
    assert "($2$ edges)" in rendered_text(project_dir)
    project = load_project(project_dir)
    assert data in ChapterCache(project, project.chapter("demo")).reads("values")
    write_data(data, after, 1)
    assert "($1$ edges)" in rendered_text(project_dir)  # not the cached 2


def test_what_the_tests_read_keys_their_cached_results(project_dir: Path):
    expected = project_dir / "verify" / "expected.txt"
    expected.write_text("3")
    demo = project_dir / "verify" / "demo.py"
    demo.write_text(demo.read_text() + "\n\ndef test_eigenvalues_against_a_file():\n"
                    "    from pathlib import Path\n"
                    "    assert eigenvalues()[1] == int((Path(__file__).parent / 'expected.txt').read_text())\n")
    project = load_project(project_dir)
    first = testrun.test_results(project, list(project.chapters))
    assert first.tests["verify/demo.py::test_eigenvalues_against_a_file"]["outcome"] == "passed"
    assert expected in ChapterCache(project, project.chapter("demo")).reads("tests")
    assert expected not in ChapterCache(project, project.chapter("demo")).reads("values")
    expected.write_text("4")
    again = testrun.test_results(project, list(project.chapters))
    assert again.tests["verify/demo.py::test_eigenvalues_against_a_file"]["outcome"] == "failed"


# --- a build from the caches is the same build -----------------------------------------------------

UNEVALUATED = '''

@value
def positive_part():
    """(x + |x|)/2 as written: sympy would reorder it if it were evaluated, and does when unpickled."""
    x = sp.Symbol("x", real=True)
    return sp.Mul(sp.Add(x, sp.Abs(x)), sp.Pow(2, -1, evaluate=False), evaluate=False)


@value
def summary():
    """A dict of every kind a value may return."""
    return {"ratio": Fraction(2, 3), "flag": True, "name": "R&D", "weights": np.array([0.25, 0.75]),
            "matrix": sp.Matrix([[1, sp.sqrt(2)], [0, 1]]), "label": tex(r"\\textbf{A}"), "pair": (1, 2)}


def test_positive_part():
    x = sp.Symbol("x", real=True)
    assert all(positive_part().subs(x, v) == max(v, 0) for v in (-2, 0, 3))


def test_summary():
    assert summary()["ratio"] * 3 == 2 and summary()["weights"].sum() == 1
'''
PRINTS = (r"What is half of one? $\VAR{ positive_part }$, $\VAR{ summary.ratio }$, \VAR{ summary.name }, "
          r"$\VAR{ summary.weights | fixed(2) }$, $\VAR{ summary.matrix }$, \VAR{ summary.label }.")


def with_every_type(root: Path) -> Path:
    demo = root / "verify" / "demo.py"
    demo.write_text(demo.read_text() + UNEVALUATED)
    edit(root / "chapters" / "demo.tex.j2", "What is half of one?", PRINTS)
    return root


def test_a_value_that_pickle_would_change_is_not_served_from_the_cache(project_dir: Path):
    clean = rendered_text(with_every_type(project_dir))
    assert r"\frac{x + \left|{x}\right|}{2}" in clean
    for render in (project_dir / "build" / "cache" / "demo").glob("render-*.pickle"):
        render.unlink()  # the next rendering takes the values from the cache
    assert rendered_text(project_dir) == clean


@pytest.mark.tex
def test_a_build_from_the_caches_is_byte_identical_to_a_clean_build(project_dir: Path):
    import shutil

    from conftest import OUTPUTS, snapshot

    from solman.build.pipeline import build

    root = with_every_type(project_dir)
    build(load_project(root))  # fills the caches
    edit(root / "chapters" / "demo.tex.j2", "Estimate $\\pi$ by Monte Carlo", "Estimate $\\pi$ by sampling")
    assert build(load_project(root)).compiled  # the values come from the caches
    from_caches = snapshot(root)
    shutil.rmtree(root / "build")
    assert len(build(load_project(root)).compiled) == len(OUTPUTS)  # from nothing
    assert snapshot(root) == from_caches  # every PDF and the manifest, byte for byte


def test_an_interrupted_test_run_is_an_error_and_never_results(project_dir: Path):
    # pytest stops at a KeyboardInterrupt (Ctrl-C, or a test raising it) and reports only what ran so far:
    # such a partial report must not pass for the chapter's results, nor be kept as them
    demo = project_dir / "verify" / "demo.py"
    demo.write_text(demo.read_text().replace("def test_", "def test_aaa_interrupts():\n    raise KeyboardInterrupt\n\n\ndef test_", 1))
    from solman.errors import VerificationFailure

    with pytest.raises(VerificationFailure, match="the test run was interrupted before it finished"):
        testrun.run_tests(load_project(project_dir))
