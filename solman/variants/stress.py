"""``invoke stress``: a chapter's values and tests over many variants' seeds, without building PDFs.

For each seed, in worker processes: select the variant, forget every computed value, compute every
value of the chapter's verify module and call each of its tests (plain functions of no argument;
no pytest per seed), within the project's timeout. The report, ``build/variants/<chapter>/stress.html``,
gives the seeds that failed or timed out and why, the range and a histogram of every numeric value,
how often each nice rule rejected a draw, the multiple-choice questions whose options coincide and
whether the correct option's position is uniform (a chi-square test). Failing seeds are added to
``verify/<chapter>.regression-seeds.json``: ``check_seed`` runs a chapter's tests for one seed, and
the test suite reruns every seed listed there.

The seeds are those of ``invoke variants`` with the same ``--seed``: the n-th stress seed is variant
``v00n``'s, so a failing seed names the variant it would break.
"""

from __future__ import annotations

import dataclasses
import html
import inspect
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import as_completed
from fractions import Fraction
from pathlib import Path

from solman.errors import VerificationFailure
from solman.project.settings import Chapter, Project
from solman.variants.builds import executor, numbered_variants, variants_folder

log = logging.getLogger("solman")

CHUNK = 25  # seeds per task: one import of the verify module serves them all
MCQ = re.compile(r'question\(\s*"([^"]+)"[^)]*kind\s*=\s*"mcq"[^)]*answer\s*=\s*(\w+)')
OPTIONS = re.compile(r"\\BLOCK\{\s*for\s+\w+\s+in\s+(\w+)\s*\}")


@dataclasses.dataclass
class SeedRun:
    """One seed's outcome: the numbers its values came to, and what failed."""

    seed: int
    numbers: dict[str, float]
    letters: dict[str, str]  # the answer of each multiple-choice value (a letter)
    options: dict[str, list]  # each options list, as computed
    errors: list[str]


@dataclasses.dataclass
class StressReport:
    chapter: str
    runs: list[SeedRun]
    rejections: dict[str, dict[str, int]]  # parameter -> rule -> draws rejected
    draws: dict[str, int]  # parameter -> draws accepted
    mcq: dict[str, tuple[str, str | None]]  # question id -> (its answer's value, its options' value)
    skipped: list[str]  # tests that take arguments (fixtures): run by pytest only
    html: Path | None = None

    @property
    def failures(self) -> list[SeedRun]:
        return [r for r in self.runs if r.errors]


def verify_tests(module) -> tuple[dict[str, Callable], list[str]]:
    """The module's test functions that take no argument, and the names of those that do."""
    tests, skipped = {}, []
    for name, obj in vars(module).items():
        if name.startswith("test") and inspect.isfunction(obj) and obj.__module__ == module.__name__:
            if inspect.signature(obj).parameters or hasattr(obj, "pytestmark"):
                skipped.append(name)
            else:
                tests[name] = obj
    return tests, sorted(skipped)


def number_of(obj: object) -> float | None:
    """A value as one real number, when it is one (an int, a fraction, a float, a real sympy number)."""
    if isinstance(obj, bool):
        return None
    if isinstance(obj, (int, float, Fraction)):
        return float(obj)
    if type(obj).__module__.startswith("numpy") and getattr(obj, "shape", None) == ():
        return float(obj)
    if type(obj).__module__.startswith("sympy") and getattr(obj, "is_number", False) and obj.is_real:
        return float(obj)
    return None


def load_chapter(root: str, chapter_id: str):
    from solman.project.settings import load_project
    from solman.values.evaluation import load_module

    project = load_project(root)
    chapter = project.chapter(chapter_id)
    module = load_module(chapter.verify, f"solman_stress_{chapter_id}", project.root, project.timeout)
    return project, chapter, module


def run_seeds(root: str, chapter_id: str, seeds: list[int], mcq: dict[str, tuple[str, str | None]],
              timeout: float | None = None) -> tuple[list[SeedRun], dict, dict, list[str]]:
    """Run values and tests for each seed (in a worker). Returns the runs, the rules' rejections and the
    accepted draws counted in this worker, and the tests skipped."""
    from solman.values.evaluation import failure_in_code, time_limit, values_of
    from solman.variants import params

    project, chapter, module = load_chapter(root, chapter_id)
    values = values_of(module)
    tests, skipped = verify_tests(module)
    answers = {name for name, _ in mcq.values()}
    option_lists = {options for _, options in mcq.values() if options}
    runs = []
    params.rejections.clear()
    accepted = Counter()
    limit = timeout or project.timeout
    for seed in seeds:
        run = SeedRun(seed, {}, {}, {}, [])
        forget(values)
        with params.selected(seed):
            for name, function in [*values.items(), *tests.items()]:
                try:
                    with time_limit(limit):
                        result = function()
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # noqa: BLE001 (a failure, a timeout, an exit: each is a finding)
                    who = f"test {name}" if name in tests else f"value '{name}'"
                    run.errors.append(failure_in_code(exc, who, project.root, chapter.verify).render())
                    continue
                if name in tests:
                    continue
                if name in answers:
                    run.letters[name] = str(result)
                elif name in option_lists:
                    run.options[name] = [str(o) for o in result]
                number = number_of(result)
                if number is not None and math.isfinite(number):
                    run.numbers[name] = number
        accepted.update(name for name, v in values.items() if isinstance(v, params.Parameter))
        runs.append(run)
    rejections = {key.split("::")[-1]: dict(counts) for key, counts in params.rejections.items()}
    return runs, rejections, dict(accepted), skipped


def forget(values: dict) -> None:
    """Every value uncomputed, so that the next seed computes them all again."""
    from solman.values.evaluation import _UNSET

    for function in values.values():
        function._result = _UNSET


def multiple_choice(chapter: Chapter) -> dict[str, tuple[str, str | None]]:
    """Each multiple-choice question's answer value, and the value listing its options if the template
    prints them with ``\\BLOCK{ for option in NAME }`` inside the question."""
    text = chapter.template.read_text(encoding="utf-8")
    found = {}
    for match in MCQ.finditer(text):
        rest = text[match.end():]
        end = rest.find('call question(')
        options = OPTIONS.search(rest if end < 0 else rest[:end])
        found[match[1]] = (match[2], options[1] if options else None)
    return found


def stress(project: Project, chapter_id: str, count: int, seed: int = 1, jobs: int | None = None,
           timeout: float | None = None) -> StressReport:
    """Run the chapter over ``count`` seeds and its regression seeds; write the HTML report, and add the seeds
    that failed to the regression seeds."""
    chapter = project.chapter(chapter_id)
    fresh = [v.seed for v in numbered_variants(count, seed)]
    seeds = [*fresh, *(s for s in regression_seeds(chapter) if s not in set(fresh))]  # the old failures again
    mcq = multiple_choice(chapter)
    chunks = [seeds[i:i + CHUNK] for i in range(0, len(seeds), CHUNK)]
    runs, rejections, draws, skipped = [], {}, Counter(), []
    with executor(jobs, None) as pool:
        futures = [pool.submit(run_seeds, str(project.root), chapter_id, chunk, mcq, timeout) for chunk in chunks]
        for future in as_completed(futures):
            chunk_runs, chunk_rejections, accepted, skipped = future.result()
            runs.extend(chunk_runs)
            draws.update(accepted)
            for name, counts in chunk_rejections.items():
                rejections.setdefault(name, Counter()).update(counts)
            log.info("seeds %d/%d run", len(runs), len(seeds))
    order = {s: n for n, s in enumerate(seeds)}
    runs.sort(key=lambda r: order[r.seed])
    report = StressReport(chapter_id, runs, {k: dict(v) for k, v in rejections.items()}, dict(draws), mcq, skipped)
    folder = variants_folder(project, chapter_id)
    folder.mkdir(parents=True, exist_ok=True)
    report.html = folder / "stress.html"
    report.html.write_text(render_html(report), encoding="utf-8")
    if report.failures:
        keep_regression_seeds(chapter, [r.seed for r in report.failures])
    return report


def regression_file(chapter: Chapter) -> Path:
    return chapter.verify.with_name(f"{chapter.id}.regression-seeds.json")


def regression_seeds(chapter: Chapter) -> list[int]:
    path = regression_file(chapter)
    if not path.is_file():
        return []
    return [int(s) for s in json.loads(path.read_text())["seeds"]]


def keep_regression_seeds(chapter: Chapter, seeds: list[int]) -> None:
    kept = sorted(set(regression_seeds(chapter)) | set(seeds))
    regression_file(chapter).write_text(json.dumps({"chapter": chapter.id, "seeds": kept}, indent=1) + "\n")


def check_seed(project: Project, chapter_id: str, seed: int) -> list[str]:
    """The errors of one seed's values and tests (none when it passes): what the test suite reruns."""
    runs, _, _, _ = run_seeds(str(project.root), chapter_id, [seed], {})
    return runs[0].errors


def failed(report: StressReport) -> VerificationFailure | None:
    if not report.failures:
        return None
    first = report.failures[0]
    return VerificationFailure(
        f"chapter {report.chapter}: {len(report.failures)} of {len(report.runs)} seeds failed "
        f"(first: seed {first.seed})", details=first.errors[:3],
        hint=f"see {report.html}; the seeds are kept in verify/{report.chapter}.regression-seeds.json, which "
        "the test suite reruns; SOLMAN_VARIANT=<seed> python -m pytest verify/<chapter>.py shows one")


# --- the report ----------------------------------------------------------------------------------

def chi_square(positions: list[int], options: int) -> tuple[float, float] | None:
    """The chi-square statistic and p-value of the correct option's position against uniform."""
    if options < 2 or len(positions) < 5 * options:
        return None
    from scipy.stats import chisquare

    counts = [positions.count(k) for k in range(options)]
    result = chisquare(counts)
    return float(result.statistic), float(result.pvalue)


def histogram_svg(numbers: list[float], bins: int = 20, width: int = 320, height: int = 60) -> str:
    """A small inline SVG bar chart of ``numbers``."""
    low, high = min(numbers), max(numbers)
    if low == high:
        counts, bins = [len(numbers)], 1
    else:
        counts = [0] * bins
        for x in numbers:
            counts[min(int((x - low) / (high - low) * bins), bins - 1)] += 1
    top = max(counts)
    bar = width / len(counts)
    rects = "".join(f'<rect x="{i * bar:.1f}" y="{height - c / top * height:.1f}" width="{bar - 1:.1f}" '
                    f'height="{c / top * height:.1f}" fill="#4a6fa5"><title>{c}</title></rect>'
                    for i, c in enumerate(counts))
    return f'<svg width="{width}" height="{height}" role="img">{rects}</svg>'


STYLE = ("<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:2px 8px;text-align:left;"
         "vertical-align:middle}table{border-collapse:collapse}tr{border-bottom:1px solid #ddd}.bad{color:#a00}</style>")


def render_html(report: StressReport) -> str:
    e = html.escape
    runs = report.runs
    parts = [f"<!doctype html><meta charset=utf-8><title>Stress test: {e(report.chapter)}</title>",
             STYLE,
             f"<h1>Stress test of chapter {e(report.chapter)}</h1>",
             f"<p>{len(runs)} seeds; <span class={'bad' if report.failures else 'ok'}>{len(report.failures)} failed</span>.</p>"]
    if report.skipped:
        parts.append(f"<p>Tests that take arguments (run by pytest only): {e(', '.join(report.skipped))}</p>")
    parts.append("<h2>Failures and timeouts</h2>")
    if report.failures:
        parts.append("<table><tr><th>seed</th><th>what failed</th></tr>")
        for run in report.failures:
            parts.append(f"<tr><td>{run.seed}</td><td><pre>{e(chr(10).join(run.errors))}</pre></td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>Nice rules</h2><table><tr><th>parameter</th><th>rule</th><th>draws rejected</th>"
                 "<th>share of all draws</th></tr>")
    for name in sorted(set(report.draws) | set(report.rejections)):
        rules = report.rejections.get(name, {}) or {"(none rejected)": 0}
        total = sum(rules.values()) + report.draws.get(name, 0)  # every draw made
        for rule, rejected in sorted(rules.items()):
            rate = f"{rejected / total:.1%}" if total else ""
            parts.append(f"<tr><td>{e(name)}</td><td>{e(rule)}</td><td>{rejected}</td><td>{rate}</td></tr>")
    parts.append("</table>")
    parts.append("<h2>Multiple-choice questions</h2>")
    if report.mcq:
        parts.append("<table><tr><th>question</th><th>options coincide (seeds)</th>"
                     "<th>correct position counts</th><th>chi-square, p</th></tr>")
        for question, (answer, options) in sorted(report.mcq.items()):
            coincide = [r.seed for r in runs if options in r.options and
                        len(set(r.options[options])) < len(r.options[options])]
            positions = [ord(r.letters[answer][0]) - ord("A") for r in runs if answer in r.letters]
            size = max([len(r.options[options]) for r in runs if options in r.options] or [max(positions or [0]) + 1])
            counts = [positions.count(k) for k in range(size)]
            test = chi_square(positions, size)
            verdict = f"{test[0]:.2f}, p = {test[1]:.3f}" if test else "too few seeds"
            parts.append(f"<tr><td>{e(question)}</td><td class={'bad' if coincide else 'ok'}>"
                         f"{len(coincide)} {e(str(coincide[:10]))}</td><td>{counts}</td><td>{verdict}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>Values</h2><table><tr><th>value</th><th>min</th><th>max</th><th>distinct</th>"
                 "<th>histogram</th></tr>")
    names = sorted({n for r in runs for n in r.numbers})
    for name in names:
        numbers = [r.numbers[name] for r in runs if name in r.numbers]
        parts.append(f"<tr><td>{e(name)}</td><td>{min(numbers):.6g}</td><td>{max(numbers):.6g}</td>"
                     f"<td>{len(set(numbers))}</td><td>{histogram_svg(numbers)}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts) + "\n"

