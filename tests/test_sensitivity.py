"""Value sensitivity: a printed value is pinned when one of its tests fails if the value is wrong."""

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from conftest import edit

from solman.rendering.appendix import chapter_entries, status_file
from solman.checking.sensitivity import (
    Sensitivity,
    measure,
    parse_path,
    perturb,
    perturbed_value,
    printed,
    replaced,
    spread,
)
from solman.rendering.sources import assemble, render_chapters
from solman.project.targets import plan_targets
from solman.checking.testrun import remember, run_tests
from solman.values.evaluation import tex
from solman.checking.verification import Report, verify

x = sp.Symbol("x")
NOT_PINNED = "no test fails when it is wrong beyond its printed precision"

KINDS = [  # (a printed object, the filter printing it)
    (7, "latex"),
    (123456789, "sig(2)"),
    (np.int64(5), "latex"),
    (3.14159, "fixed(3)"),
    (3.14159, "fixed(0)"),
    (1.0e17, "fixed(3)"),  # so large that 0.003 vanishes in its rounding
    (0.000123456, "sig(2)"),
    (6.02214e23, "sci(3)"),
    (0.1234, "percent(1)"),
    (np.float64(2.5), "fixed(2)"),
    (Fraction(1, 2), "latex"),
    (Fraction(2, 3), "fixed(4)"),
    (True, "latex"),
    ("B", "text"),
    ("Deep Learning & Friends", "text"),
    (tex(r"\textbf{B}"), "latex"),
    (tex(r"\emph{yes}"), "latex"),
    (sp.Integer(4), "latex"),
    (sp.Rational(1, 3), "latex"),
    (sp.sqrt(2), "latex"),
    (sp.sqrt(2), "fixed(3)"),
    (x ** 2 + 1, "latex"),
    (sp.Interval(0, 1), "latex"),
    (sp.ImmutableMatrix([[2, 1], [1, 2]]), "latex"),
    (np.array([[1, 2], [3, 4]]), "latex"),
    (np.linspace(0, 1, 5), "fixed(2)"),
    (np.column_stack([np.linspace(0, 1, 5), np.linspace(0, 1, 5) ** 2]), "coords(2)"),
    ([0.5, 0.25], "fixed(3)"),
    ((1, 2, 3), "latex"),
]


@pytest.mark.parametrize(("obj", "spec"), KINDS, ids=[f"{type(o).__name__}-{s}" for o, s in KINDS])
def test_each_kind_is_perturbed_beyond_its_printed_precision(obj, spec):
    changed = perturb(obj, spec)
    assert type(changed) is type(obj) or isinstance(obj, sp.Basic) and isinstance(changed, sp.Basic)  # 1/3+1/6: Half
    assert printed(changed, spec) != printed(obj, spec)


def test_perturbations_are_small_and_exact_where_the_print_is_exact():
    assert perturb(7, "latex") == 8
    assert perturb(Fraction(1, 2), "latex") == Fraction(3, 4)
    assert perturb("B", "text") == "C"
    assert perturb("yes", "text") == "yesx"
    assert perturb(tex(r"\textbf{B}"), "latex") == tex(r"\textbf{C}")
    assert perturb(3.14159, "fixed(3)") == pytest.approx(3.14459)
    assert perturb(0.000123456, "sig(2)") == pytest.approx(0.000153456)  # 3 units of the second digit, 1e-5
    assert perturb(x ** 2 + 1, "latex") == x ** 2 + x + 1
    matrix = perturb(sp.ImmutableMatrix([[2, 1], [1, 2]]), "latex")
    assert matrix == sp.Matrix([[2, 1], [2, 2]]) and isinstance(matrix, sp.ImmutableMatrix)
    array = np.array([1.0, 2.0, 3.0])
    array.setflags(write=False)
    changed = perturb(array, "fixed(1)")
    assert list(changed) == [1.0, 2.3, 3.0] and not changed.flags.writeable and list(array) == [1.0, 2.0, 3.0]


def test_a_value_printed_in_many_parts_is_perturbed_in_a_few_spread_over_them():
    assert spread(list(range(10)), 4) == [0, 3, 6, 9]
    assert spread([1, 2], 6) == [1, 2]


@dataclass(frozen=True)
class Point:
    x: float
    y: float


def test_only_the_printed_part_of_a_value_is_changed():
    assert parse_path("stats['mean'].x") == [["item", "'mean'"], ["attr", "x"]]
    assert parse_path("grid[0, 1]") == [["item", "0, 1"]]
    result = {"mean": Point(0.5, 1.0), "n": 3}
    changed, was, now = perturbed_value(result, "stats['mean'].x", "fixed(2)")
    assert (was, now) == (0.5, pytest.approx(0.53))
    assert changed == {"mean": Point(pytest.approx(0.53), 1.0), "n": 3} and result["mean"].x == 0.5
    keyed = {x: 1, sp.Symbol("y"): 2}
    assert replaced(keyed, [["item", "y"]], 5) == {x: 1, sp.Symbol("y"): 5}


def test_a_value_whose_test_checks_only_its_type_or_itself_is_not_pinned(project, project_dir):
    edit(project_dir / "verify" / "demo.py", "def test_eigenvalues_match_numpy():",
         "@value\ndef thing():\n    return 42\n\n\n@value\ndef same():\n    return 0.5\n\n\n"
         "def test_thing_is_an_int():\n    assert isinstance(thing(), int)\n\n\n"
         "def test_same_is_itself():\n    assert same() == same()\n\n\ndef test_eigenvalues_match_numpy():")
    edit(project_dir / "chapters" / "demo.tex.j2", "What is half of one?",
         r"What is half of one? $\VAR{ thing }$, $\VAR{ same | fixed(2) }$")
    report = verify(project)
    unpinned = [f for f in report.failures if "not pinned" in f.message]
    assert [(f.exit_code, str(f.location).split(":")[:2], f.message) for f in unpinned] == [
        (6, ["verify/demo.py", "53"], f"chapter demo: value 'thing' is not pinned: {NOT_PINNED}"),
        (6, ["verify/demo.py", "58"], f"chapter demo: value 'same' is not pinned: {NOT_PINNED}")]
    assert list(unpinned[0].details) == ["thing | latex: thing changed from 42 to 43: its tests still pass"]
    assert "independent computation" in unpinned[0].hint
    assert len(report.failures) == 2 and not report.ok
    assert "sensitivity: 7/9 printed values pinned" in report.summary()


def test_the_fixture_is_pinned_and_a_second_run_perturbs_nothing(project):
    results = run_tests(project)
    remember(project, list(project.chapters), results)
    chapters = render_chapters(project, plan_targets(project))
    first = measure(project, chapters, results)
    assert (first.fresh, first.figure()) == (7, (7, 7))
    second = measure(project, chapters, results)
    assert (second.fresh, second.values) == (0, first.values)


def test_chapters_are_measured_in_a_process_per_core_with_the_same_results(project_dir, monkeypatch):
    from solman.checking import sensitivity
    from solman.project.scaffold import new_chapter
    from solman.project.settings import load_project

    new_chapter(project_dir, "week1", "Week 1")
    project = load_project(project_dir)
    results = run_tests(project)
    chapters = render_chapters(project, plan_targets(project))
    processes = []
    real = sensitivity.run_perturbations
    monkeypatch.setattr(sensitivity, "run_perturbations", lambda project, chapter_ids, jobs:
                        processes.append(chapter_ids) or real(project, chapter_ids, jobs))
    monkeypatch.setattr(sensitivity.os, "cpu_count", lambda: 2)
    apart = measure(project, chapters, results)
    assert sorted(processes) == [["demo"], ["week1"]]
    monkeypatch.setattr(sensitivity.os, "cpu_count", lambda: 1)
    (project.build / "cache").rename(project.build / "cache-of-the-first")  # nothing cached: measured again
    together = measure(project, chapters, results)
    assert processes[2:] == [["demo", "week1"]]
    assert together.values == apart.values and together.fresh == apart.fresh
    assert {record["chapter"] for record in apart.values.values()} == {"demo", "week1"}
    assert apart.figure()[0] == apart.figure()[1] > 7


def test_summary_line():
    assert "sensitivity: 3/4 printed values pinned" in Report(sensitivity=(3, 4)).summary()
    assert "sensitivity: not measured" in Report().summary()


def test_the_appendix_and_provenance_say_which_values_are_pinned(project):
    results = run_tests(project)
    targets = plan_targets(project)
    chapters = render_chapters(project, targets)
    keys = {u.key for u in chapters["demo", "solutions"].uses if u.latex is not None}
    sensitivity = Sensitivity({key: {"name": key.split("::")[1], "chapter": "demo", "pinned": key != "demo.py::half"}
                               for key in keys})
    entries = {e["id"]: e for e in chapter_entries(chapters["demo", "solutions"], results, sensitivity)}
    assert {v["name"]: v["pinned"] for v in entries["1b"]["printed"]} == {"half": False, "answer_letter": True}
    assert status_file(list(entries.values()), (6, 7)).decode().endswith("\\solmansensitivity{6}{7}\n")
    sources = assemble(project, targets, chapters, results, sensitivity=sensitivity)
    appendix = sources.appendices["demo"].text
    assert r"\verifiedvalue{half}" in appendix and r"\solmanpinned{not pinned}" in appendix
    assert appendix.count(r"\solmanpinned{pinned}") == 6
    assert "\\solmansensitivity{6}{7}" in sources.statuses["demo"].decode()
    solutions = [t.name for t in targets if t.edition == "solutions"]
    assert all(sources.provenance[name]["sensitivity"] == {"pinned": 6, "printed": 7, "unpinned": ["demo: half"]}
               for name in solutions)
    assert all("sensitivity" not in sources.provenance[t.name] for t in targets if t.edition == "problems")
