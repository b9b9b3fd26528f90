"""Per-student variants: parameters (solman.variants.params) and the variants' builds (solman.variants.builds)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from solman.errors import ConfigError, ValueFailure, VerificationFailure
from solman.project.settings import load_project
from solman.values.cache import ChapterCache
from solman.variants.builds import (
    Outcome,
    build_variants,
    numbered_variants,
    roster_variants,
    variant_seed,
)
from solman.variants.params import (
    current_seed,
    parameter,
    rejections,
    selected,
)

REPO = Path(__file__).resolve().parent.parent

# --- parameters ----------------------------------------------------------------------------------


def fresh(p):
    """The parameter with its result forgotten (a value is computed once per process)."""
    from solman.values.evaluation import _UNSET

    p._result = _UNSET
    return p


def small_int(rng):
    return int(rng.integers(0, 100))


def test_default_variant_gives_the_default_and_a_variant_draws():
    given = parameter(default=7)(small_int)
    assert current_seed() is None
    assert fresh(given)() == 7
    with selected(5):
        drawn = fresh(given)()
    with selected(5):
        assert fresh(given)() == drawn  # the same seed, the same draw
    draws = set()
    for seed in range(20):
        with selected(seed):
            draws.add(fresh(given)())
    assert len(draws) > 5  # seeds draw different givens
    assert fresh(given)() == 7  # and the default is back outside


def test_selected_sets_the_environment_for_processes_started_inside():
    with selected(42):
        out = subprocess.run([sys.executable, "-c", "import os; print(os.environ['SOLMAN_VARIANT'])"],
                             capture_output=True, text=True, check=True).stdout
    assert out.strip() == "42"
    assert current_seed() is None


def test_every_draw_passes_the_nice_rules_and_rejections_are_counted():
    even = parameter(default=2, nice={"even": lambda n: n % 2 == 0})(small_int)
    for seed in range(30):
        with selected(seed):
            assert fresh(even)() % 2 == 0
    assert rejections[even.key]["even"] > 0


def test_no_nice_draw_is_an_error_at_the_parameter_naming_the_rule():
    def never(rng):
        return int(rng.integers(0, 10))

    impossible = parameter(default=-1, nice={"negative": lambda n: n < 0}, tries=50)(never)
    with selected(1), pytest.raises(ValueFailure) as caught:
        fresh(impossible)()
    assert "rule 'negative' rejected 50" in caught.value.message
    assert caught.value.location.line == never.__code__.co_firstlineno
    assert Path(__file__).name in str(caught.value.location)


def test_a_default_that_breaks_its_rules_is_refused():
    with pytest.raises(ValueFailure, match="the default fails the nice rule 'positive'"):
        parameter(default=-3, nice={"positive": lambda n: n > 0})(small_int)


def test_parameters_draw_independently_of_one_another():
    """Each parameter's generator is seeded by its own name: adding one changes no other's draws."""
    def first(rng):
        return float(rng.random())

    alone = parameter(default=0.0)(first)
    with selected(3):
        before = fresh(alone)()
        parameter(default=0.0)(small_int)()  # another parameter drawn first
        assert fresh(parameter(default=0.0)(first))() == before


def test_the_values_key_includes_the_variant(project):
    cache = ChapterCache(project, project.chapter("demo"))
    default = cache.values_key()
    with selected(9):
        assert cache.values_key() != default
    assert cache.values_key() == default


# --- variants ------------------------------------------------------------------------------------

QUIZ_TEMPLATE = r"""\chapter{A quiz with drawn givens}

\BLOCK{ call question("1", points=2, answer=product) }
Multiply $\VAR{ factors[0] }$ by $\VAR{ factors[1] }$.
\BLOCK{ call solution() }
The product is $\VAR{ product }$.
\BLOCK{ endcall }
\BLOCK{ endcall }
"""

QUIZ_VERIFY = '''
"""A quiz whose factors are drawn for each student."""

import sympy as sp

from solman import parameter, value


@parameter(default=(3, 4), nice={"distinct": lambda f: f[0] != f[1]})
def factors(rng):
    return tuple(int(x) for x in rng.integers(2, 13, size=2))


@value
def product():
    return factors()[0] * factors()[1]


def test_product_by_sympy():
    a, b = sp.symbols("a b")
    assert (a * b).subs({a: factors()[0], b: factors()[1]}) == product()
'''


@pytest.fixture
def quiz(project_dir: Path) -> Path:
    """The fixture project with a chapter 'quiz' whose givens are parameters."""
    pyproject = project_dir / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('chapters = ["demo"]', 'chapters = ["demo", "quiz"]'))
    (project_dir / "chapters" / "quiz.tex.j2").write_text(QUIZ_TEMPLATE)
    (project_dir / "verify" / "quiz.py").write_text(QUIZ_VERIFY)
    return project_dir


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def published(root: Path) -> dict[str, bytes]:
    folder = root / "build" / "variants" / "quiz"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".work" not in p.parts}


def test_variant_ids_and_seeds():
    variants = numbered_variants(3, seed=7)
    assert [v.id for v in variants] == ["v001", "v002", "v003"]
    assert variants[0].seed == variant_seed(7, "v001") != variant_seed(8, "v001")
    assert len({v.seed for v in variants}) == 3
    assert numbered_variants(1000, 1)[-1].id == "v1000"


def test_roster_reads_ids_and_names_and_locates_mistakes(tmp_path: Path):
    roster = tmp_path / "students.csv"
    roster.write_text("id,name\nada,Ada Lovelace\nalan,Alan Turing\n")
    assert [(v.id, v.name) for v in roster_variants(roster, 1, tmp_path)] == [("ada", "Ada Lovelace"),
                                                                              ("alan", "Alan Turing")]
    roster.write_text("id,name\nada,Ada\nada,Again\n../x,Bad\nADA,Case\nkey.csv,File\n")
    with pytest.raises(Exception) as caught:
        roster_variants(roster, 1, tmp_path)
    for line in (3, 4, 5, 6):  # 'ADA' is the folder of 'ada' on macOS and Windows; key.csv is the graders' key
        assert f"students.csv:{line}" in caught.value.render()


def test_a_roster_saved_by_a_spreadsheet_is_read_or_its_separator_named(tmp_path: Path):
    roster = tmp_path / "students.csv"
    roster.write_bytes("\ufeffid,name\nada,Ada\n".encode())  # Excel's "CSV UTF-8" begins with a byte-order mark
    assert [v.id for v in roster_variants(roster, 1, tmp_path)] == ["ada"]
    roster.write_text("id,name\nzoe,Zoë Łukasz\nli,李小龙\n", encoding="utf-8")  # checked here, not in a worker
    with pytest.raises(ConfigError) as caught:
        roster_variants(roster, 1, tmp_path)
    assert "students.csv:3: configuration: the name of student 'li' cannot be printed" in caught.value.render()
    assert "students.csv:2" not in caught.value.render()
    roster.write_text("id;name\nada;Ada\n")  # a spreadsheet in a language whose decimal mark is a comma
    with pytest.raises(ConfigError) as caught:
        roster_variants(roster, 1, tmp_path)
    assert "students.csv:1" in caught.value.render() and "separated by ';'" in caught.value.render()


def test_stress_timeout_must_be_a_positive_number_of_seconds():
    """Not a traceback (abc), nor a failure per seed kept as a regression seed (-1), nor the default (0)."""
    from solman.tasks import _seconds

    assert _seconds("--timeout", None) is None and _seconds("--timeout", "2.5") == 2.5
    for bad in ("abc", "-1", "0", "nan", "inf"):
        with pytest.raises(ConfigError, match="--timeout needs a number of seconds above 0"):
            _seconds("--timeout", bad)


def fake_variant_build(root: str, build: str, chapter_id: str, variant) -> Outcome:
    """A variant published without LaTeX: its PDFs' text is its seed, its key's one answer too."""
    from solman.build.outputs import replace_folder
    from solman.variants.builds import variants_folder

    if variant.id == "v003":
        raise KeyboardInterrupt  # Ctrl-C, as the third variant builds
    folder = variants_folder(load_project(root), chapter_id)
    key = {"questions": [{"id": "1", "answer": {"value": variant.seed}}],
           "variant": {"id": variant.id, "name": variant.name, "seed": variant.seed}}
    replace_folder(folder / variant.id, folder / ".work" / variant.id,
                   {"problems.pdf": str(variant.seed).encode(), "key.json": json.dumps(key).encode()})
    return Outcome(variant)


def test_an_interrupted_run_leaves_a_combined_key_that_matches_every_folder(quiz: Path, monkeypatch, caplog):
    """Variants published before Ctrl-C replace an earlier run's: key.csv lists each with its own PDFs' answers,
    and the variants an earlier run left (v004) too, never an earlier answer beside a newer PDF."""
    from concurrent.futures import ThreadPoolExecutor

    from solman.variants import builds

    monkeypatch.setattr(builds, "interrupted", [])  # this process's Ctrl-C message, as if none came before
    monkeypatch.setattr(builds, "build_variant", fake_variant_build)
    monkeypatch.setattr(builds, "executor", lambda jobs, scheduler: ThreadPoolExecutor(1))
    project = load_project(quiz)
    folder = quiz / "build" / "variants" / "quiz"
    build_variants(project, "quiz", [v for v in numbered_variants(4, seed=1) if v.id != "v003"], jobs=1)
    with pytest.raises(KeyboardInterrupt):
        build_variants(project, "quiz", numbered_variants(4, seed=2), jobs=1)
    rows = json.loads((folder / "key.json").read_text())
    assert [r["variant"] for r in rows] == ["v001", "v002", "v004"]
    for row in rows:
        assert str(row["answer"]).encode() == (folder / row["variant"] / "problems.pdf").read_bytes()
        assert row["seed"] == row["answer"]
    new = {v.id: v.seed for v in numbered_variants(4, seed=2)}
    assert [r["seed"] for r in rows[:2]] == [new["v001"], new["v002"]]  # republished before Ctrl-C
    assert "published in build/variants/quiz" in __import__("solman.tasks").tasks._interrupted()
    build_variants(project, "quiz", numbered_variants(1, seed=3), jobs=1)  # a smaller run: the others stay, said
    assert [r["variant"] for r in json.loads((folder / "key.json").read_text())] == ["v001", "v002", "v004"]
    assert "holds 2 variant(s) of an earlier run, listed in its key too: v002, v004" in caplog.text


def test_two_variants_with_one_seed_are_refused(project):
    from solman.variants.builds import Variant

    with pytest.raises(ConfigError, match="variants ada and bob have the same seed, 5: they would be the same exam"):
        build_variants(project, "demo", [Variant("ada", 5), Variant("bob", 5)], jobs=1)


def test_variants_of_a_chapter_without_parameters_are_built_with_a_warning(project, caplog):
    from solman.variants.builds import warn_if_nothing_varies

    warn_if_nothing_varies(project, "demo")
    assert "chapter demo declares no @parameter" in caplog.text


@pytest.mark.tex
def test_variants_are_built_distinct_marked_and_byte_identical_when_rebuilt(quiz: Path):
    project = load_project(quiz)
    variants = numbered_variants(2, seed=1)
    written = build_variants(project, "quiz", variants, jobs=2)
    first = published(quiz)
    assert {"v001/problems.pdf", "v001/solutions.pdf", "v001/key.json", "v002/problems.pdf", "key.csv",
            "key.json"} <= set(first)
    texts = {v.id: pdf_text(quiz / "build" / "variants" / "quiz" / v.id / "problems.pdf") for v in variants}
    assert texts["v001"] != texts["v002"]  # distinct givens
    for variant_id, text in texts.items():
        assert variant_id in text and "The product" not in text  # marked; no solution in the problems
    rows = json.loads((quiz / "build" / "variants" / "quiz" / "key.json").read_text())
    assert [(r["variant"], r["question"]) for r in rows] == [("v001", "1"), ("v002", "1")]
    for row in rows:  # the key's answer is the product of the factors that variant printed
        factors = [int(w) for w in texts[row["variant"]].split("Multiply")[1].split(".")[0].split(" by ")]
        assert row["answer"] == factors[0] * factors[1] and row["tolerance"] == 0
    assert [p.name for p in written] == ["key.json", "key.csv"]
    work = quiz / "build" / "variants" / "quiz" / ".work"
    [shared] = (work / "formats").glob("*.fmt")  # the variants' one preamble: its format is built once
    for variant in variants:
        assert (work / variant.id / "tex" / shared.name).read_bytes() == shared.read_bytes()
        fonts = subprocess.run(["pdffonts", str(work.parent / variant.id / "problems.pdf")], capture_output=True,
                               text=True, check=True).stdout
        assert "Type 3" not in fonts  # the mark is set in the text's outline font, not a bitmap one
    shutil.rmtree(quiz / "build" / "variants")
    build_variants(project, "quiz", variants, jobs=1)
    assert published(quiz) == first


@pytest.mark.tex
def test_a_roster_prints_each_students_name(quiz: Path):
    roster = quiz / "students.csv"
    roster.write_text("id,name\nada,Ada Lovelace\n")
    project = load_project(quiz)
    build_variants(project, "quiz", roster_variants(roster, 3, quiz), jobs=1)
    assert "ada (Ada Lovelace)" in pdf_text(quiz / "build" / "variants" / "quiz" / "ada" / "solutions.pdf")


@pytest.mark.tex
def test_a_variant_whose_tests_fail_is_not_published_and_exits_6(quiz: Path):
    verify = quiz / "verify" / "quiz.py"
    verify.write_text(verify.read_text() + textwrap.dedent('''

        def test_only_the_default_factors():
            assert factors() == (3, 4)
        '''))
    project = load_project(quiz)
    [variant] = numbered_variants(1, seed=1)
    with pytest.raises(VerificationFailure) as caught:
        build_variants(project, "quiz", [variant], jobs=1)
    assert caught.value.exit_code == 6
    assert f"variant v001 (seed {variant.seed}) not published" in caught.value.render()
    assert "test_only_the_default_factors" in caught.value.render()
    assert not (quiz / "build" / "variants" / "quiz" / "v001").exists()
    assert not (quiz / "build" / "variants" / "quiz" / "key.csv").exists()


@pytest.mark.tex
def test_invoke_variants_exits_6_naming_the_variant(quiz: Path):
    verify = quiz / "verify" / "quiz.py"
    verify.write_text(verify.read_text() + "\n\ndef test_only_the_default():\n    assert factors() == (3, 4)\n")
    result = subprocess.run([sys.executable, "-m", "solman", "variants", "--chapter", "quiz", "--count", "1"],
                            cwd=quiz, capture_output=True, text=True, check=False)
    assert result.returncode == 6, result.stderr
    assert "variant v001 (seed" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.tex
def test_variants_leave_the_default_build_as_it_was(built: Path):
    """Build the default, then a variant, then the default again: nothing to rebuild, the same PDFs."""
    from conftest import snapshot

    from solman.build.pipeline import build

    before = {name: data for name, data in snapshot(built).items() if name.endswith(".pdf")}
    project = load_project(built)
    build_variants(project, "demo", numbered_variants(1, seed=2), jobs=1)
    again = build(project)
    assert not again.compiled
    assert {name: data for name, data in snapshot(built).items() if name.endswith(".pdf")} == before


# --- stress --------------------------------------------------------------------------------------

def test_stress_runs_values_and_tests_per_seed_and_reports(quiz: Path):
    from solman.variants.stress import stress

    report = stress(load_project(quiz), "quiz", 30, seed=1, jobs=1)
    assert len(report.runs) == 30 and not report.failures
    assert len({run.numbers["product"] for run in report.runs}) > 10
    assert report.rejections["factors"]["distinct"] > 0  # some draws had equal factors
    assert report.draws["factors"] == 30
    page = report.html.read_text()
    assert "<svg" in page and "distinct" in page and "0 failed" in page
    assert not (quiz / "verify" / "quiz.regression-seeds.json").exists()


def test_failing_seeds_are_reported_kept_and_rerun(quiz: Path):
    from solman.variants.stress import check_seed, failed, stress

    verify = quiz / "verify" / "quiz.py"
    verify.write_text(verify.read_text() + "\n\ndef test_small_products():\n    assert product() < 100\n")
    project = load_project(quiz)
    report = stress(project, "quiz", 20, seed=1, jobs=1)
    bad = {run.seed for run in report.runs if run.numbers["product"] >= 100}
    assert bad and {run.seed for run in report.failures} == bad
    assert all("test test_small_products raised AssertionError" in run.errors[0] for run in report.failures)
    kept = json.loads((quiz / "verify" / "quiz.regression-seeds.json").read_text())["seeds"]
    assert set(kept) == bad
    assert failed(report).exit_code == 6 and failed(report).render().count("seed") >= 1
    seed = kept[0]
    assert check_seed(project, "quiz", seed)  # still failing
    again = stress(project, "quiz", 1, seed=99, jobs=1)  # the kept seeds run again, beside the new one
    assert set(kept) <= {run.seed for run in again.runs}


def test_a_seed_that_runs_too_long_is_a_timeout_with_its_seed(quiz: Path):
    from solman.variants.stress import stress

    verify = quiz / "verify" / "quiz.py"
    verify.write_text(verify.read_text() + "\n\ndef test_slow():\n    import time\n    time.sleep(30)\n")
    report = stress(load_project(quiz), "quiz", 2, seed=1, jobs=1, timeout=0.5)
    assert len(report.failures) == 2
    assert all("test test_slow did not return within 0.5 s" in run.errors[0] for run in report.failures)
    assert "did not return" in report.html.read_text()


def test_multiple_choice_questions_and_the_position_test():
    from solman.variants.stress import chi_square, multiple_choice

    project = load_project(REPO)
    assert multiple_choice(project.chapter("variant_exam")) == {"4": ("conv_answer", "conv_options")}
    assert chi_square([0, 1, 2, 3] * 10, 4)[1] > 0.99
    assert chi_square([0] * 40, 4)[1] < 1e-6


def test_the_repositorys_regression_seeds_pass():
    """Seeds that once failed `invoke stress` (kept in verify/<chapter>.regression-seeds.json) are rerun by
    the test suite until they are removed from their file."""
    from solman.variants.stress import check_seed, regression_seeds

    project = load_project(REPO)
    failing = {(c.id, seed): errors for c in project.chapters for seed in regression_seeds(c)
               if (errors := check_seed(project, c.id, seed))}
    assert not failing


# --- on a Dask cluster ---------------------------------------------------------------------------

@pytest.fixture
def dask_cluster(tmp_path: Path):
    """A scheduler and two workers started with Dask's own commands, as a user would, on random ports."""
    pytest.importorskip("distributed")
    import time

    dask = Path(sys.executable).with_name("dask")
    if not dask.exists():
        pytest.skip("the dask command is not installed beside this Python")
    info = tmp_path / "scheduler.json"
    options = ["--no-dashboard"]
    started = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                 "--scheduler-file", str(info), *options],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(600):
            if info.exists() and info.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        started += [subprocess.Popen([str(dask), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                      *options, "--local-directory", str(tmp_path / f"worker{n}")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for n in range(2)]
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            process.wait(timeout=60)


@pytest.mark.tex
def test_variants_built_on_a_dask_cluster_equal_the_local_build(quiz: Path, dask_cluster: str):
    project = load_project(quiz)
    variants = numbered_variants(2, seed=4)
    build_variants(project, "quiz", variants, jobs=2)
    local = published(quiz)
    shutil.rmtree(quiz / "build" / "variants")
    build_variants(project, "quiz", variants, scheduler=dask_cluster)
    assert published(quiz) == local
