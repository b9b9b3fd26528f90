"""Value sensitivity: would a test notice if a printed value were wrong?

Coverage proves that a passing test *calls* each printed value; it does not prove that the test
would fail if the value were wrong (``assert isinstance(x(), int)`` calls ``x`` and checks nothing
the book prints). So, for every printed value, ``measure()`` runs the tests that call it once more
with the value's result replaced by a *perturbed* one, changed beyond the precision it is printed
with; a value is **pinned** when, for every part of it the book prints, at least one of those tests
then fails. ``invoke verify`` reports every value that is not pinned at its ``@value`` line.

What is perturbed. Each print of a value (``\\VAR{ stats.mean | fixed(3) }``) names the part printed
(``stats['mean']``, found again in the value's result by the path the template took to it) and the
filter that printed it (for a value printed in many parts, a table printed entry by entry, ``PARTS``
of them, spread evenly over the parts). That part alone is changed, by its type, and the change is checked to show
in what the filter prints (``visible``); if it does not, the change is made larger:

- ``bool``: negated.
- ``int`` (numpy integers too): + 1; printed with a precision (``sig(2)`` of 123456), + 3 units of
  the last printed digit, at least 1.
- ``fractions.Fraction``: + 1/(2 q) for denominator q (so 1/2 becomes 3/4); printed with a precision,
  + 3 units of the last printed digit.
- ``float`` (numpy floats too): + 3 units of the last printed digit: 3·10⁻ⁿ for ``fixed(n)`` and
  ``coords(n)``, 3·10⁻ⁿ⁻² for ``percent(n)``, 3 units of the n-th significant digit for ``sig(n)``
  and ``sci(n)`` (a relative change).
- ``str``: a single letter (an option "B") becomes the next one ("C"); other text gets a character
  appended. ``solman.tex(...)``: its last stand-alone capital letter (``\\textbf{B}``) becomes the
  next one; without one, a character is appended.
- sympy numbers: + 1 (a rational p/q: + 1/(2q)); printed with a precision, + 3 units of the last
  printed digit. Symbolic expressions: + one of their symbols (else times 2, else + 1). Other sympy
  objects (an ``Interval``): one of their arguments, changed so.
- numpy arrays, sympy matrices, lists and tuples printed whole: their middle entry, perturbed as above.

Only printed values count (not those that only decide a condition), and figures do not (``measured_prints``). A value one of whose tests fails
(or that no passing test calls) is reported by the test and coverage checks and is not measured here.
Values computed from a perturbed value are not recomputed: a test that calls the perturbed value
directly sees the perturbation, and that is what is measured.

Running. The perturbations run in fresh interpreters (one per core, each given whole chapters) under
pytest with solman's perturbing plugin (``solman.checking.perturbing``), which re-runs the selected tests
in place; pytest's account of a failure is not made, since only whether a test fails counts. Results
are cached per value under the chapter's tests key plus the value's perturbation spec (its printed parts
and filters, and the tests that call it), so an unchanged project pays nothing for them the second time.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from numbers import Integral
from typing import TYPE_CHECKING

from solman.errors import Location, SolmanError, VerificationFailure
from solman.values.evaluation import Tex, freeze, is_array, is_sympy, library_types

if TYPE_CHECKING:
    from solman.project.settings import Project
    from solman.rendering.render import Rendered
    from solman.checking.testrun import TestResults

log = logging.getLogger("solman")

SPEC_VERSION = "1"  # part of every cache key: a change to the perturbation rules measures everything again
PARTS = 6  # printed parts perturbed per value at most (a table printed entry by entry: spread over it)
SCALES = 12  # how many times a change that does not show is made ten times larger before giving up


class Unperturbable(Exception):
    """A printed part that cannot be found again in the value, or changed."""


# --- perturbations -------------------------------------------------------------------------------

def parse_filter(spec: str) -> tuple[str, tuple, dict]:
    """``"fixed(3)"`` as ``("fixed", (3,), {})``; a use's filter spec as the renderer records it."""
    node = ast.parse(spec, mode="eval").body
    if isinstance(node, ast.Name):
        return node.id, (), {}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return (node.func.id, tuple(ast.literal_eval(a) for a in node.args),
                {k.arg: ast.literal_eval(k.value) for k in node.keywords})
    raise Unperturbable(f"unknown filter {spec}")


def printed(obj: object, spec: str) -> str:
    """What the filter ``spec`` prints for ``obj``."""
    from solman.values.filters import FILTERS

    name, args, kwargs = parse_filter(spec)
    if name not in FILTERS:
        raise Unperturbable(f"unknown filter {name}")
    return FILTERS[name](obj, *args, **kwargs)


def visible(old: object, new: object, spec: str) -> bool:
    """Whether ``new`` prints differently from ``old`` with ``spec``: the change is beyond its precision."""
    try:
        return printed(new, spec) != printed(old, spec)
    except Exception:  # noqa: BLE001 (the changed object does not print at all: not a usable perturbation)
        return False


def perturb(obj: object, spec: str) -> object:
    """``obj`` changed by its kind (see the module's docstring) so that it prints differently with ``spec``."""
    for candidate in candidates(obj, spec):
        if visible(obj, candidate, spec):
            return candidate
    raise Unperturbable(f"no change of this {type(obj).__name__} shows in what {spec} prints")


def last_digit(obj: object, spec: str) -> Fraction | None:
    """One unit of the last digit ``spec`` prints of the number ``obj``; None when it prints exactly."""
    name, args, _ = parse_filter(spec)
    if name in ("fixed", "coords") and args:
        return Fraction(1, 10 ** args[0])
    if name == "percent" and args:
        return Fraction(1, 10 ** (args[0] + 2))
    if name in ("sig", "sci") and args:
        try:
            number = Decimal(str(float(obj)))
        except (TypeError, ValueError, OverflowError):
            return Fraction(1, 10 ** max(args[0] - 1, 0))
        exponent = number.adjusted() if number else 0
        return Fraction(10) ** (exponent - args[0] + 1)
    return None


def candidates(obj: object, spec: str):
    """Changes of ``obj``, smallest first; ``perturb`` takes the first that shows."""
    if isinstance(obj, (bool, *library_types("numpy", "bool_"))):
        yield type(obj)(not obj)
        return
    if isinstance(obj, str):
        yield from text_changes(obj)
        return
    if is_array(obj):
        yield from entry_changes(obj, spec)
        return
    if is_sympy(obj):
        yield from sympy_changes(obj, spec)
        return
    if isinstance(obj, (list, tuple)):
        if not obj:
            return
        middle = len(obj) // 2
        for item in candidates(obj[middle], spec):
            items = list(obj)
            items[middle] = item
            yield type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
        return
    unit = last_digit(obj, spec)
    if isinstance(obj, Integral):
        step = 1 if unit is None or unit <= 1 else int(3 * unit)
        for scale in range(SCALES):
            yield type(obj)(int(obj) + step * 10 ** scale)
        return
    if isinstance(obj, Fraction):
        step = Fraction(1, 2 * obj.denominator) if unit is None else 3 * unit
        for scale in range(SCALES):
            yield obj + step * 10 ** scale
        return
    if isinstance(obj, (float, *library_types("numpy", "floating"))):
        step = float(3 * unit) if unit is not None else max(abs(float(obj)), 1.0) * 1e-3
        for scale in range(SCALES):
            yield type(obj)(float(obj) + step * 10 ** scale)
        yield type(obj)(float(obj) * 2 + 1)  # a float so large that small steps vanish in its rounding


def text_changes(obj: str):
    """A single letter becomes the next; in ``tex(...)`` the last stand-alone capital; otherwise append."""
    kind = Tex if isinstance(obj, Tex) else type(obj)
    pattern = r"(?<![\\A-Za-z])[A-Z](?![A-Za-z])" if isinstance(obj, Tex) else r"^\s*[A-Za-z]\s*$"
    letters = list(re.finditer(pattern, obj) if isinstance(obj, Tex) else re.finditer(r"[A-Za-z]", obj)
                   if re.match(pattern, obj) else [])
    if letters:
        at = letters[-1].start()
        letter = obj[at]
        following = "A" if letter == "Z" else "a" if letter == "z" else chr(ord(letter) + 1)
        yield kind(obj[:at] + following + obj[at + 1:])
    yield kind(obj + "x")


def entry_changes(array: object, spec: str):
    """A numpy array with its middle entry changed (read-only if the original was)."""
    if not array.size:
        return
    middle = array.size // 2
    for entry in candidates(array.flat[middle], spec):
        changed = array.copy()
        changed.flat[middle] = entry
        changed.setflags(write=array.flags.writeable)
        yield changed


def sympy_changes(obj: object, spec: str):
    import sympy

    if isinstance(obj, sympy.MatrixBase):
        if not len(obj):
            return
        middle = len(obj) // 2
        for entry in sympy_changes(obj[middle], spec):
            changed = obj.as_mutable()
            changed[middle] = entry
            yield changed.as_immutable() if isinstance(obj, sympy.ImmutableMatrix) else changed
        return
    if not isinstance(obj, sympy.Expr):  # a set, an interval: one of its numbers or expressions changed
        for index, argument in enumerate(obj.args):
            if isinstance(argument, sympy.Expr):
                for changed in sympy_changes(argument, spec):
                    try:
                        yield obj.func(*obj.args[:index], changed, *obj.args[index + 1:])
                    except Exception:  # noqa: BLE001, S112 (an interval whose ends crossed, say)
                        continue
        return
    if obj.is_number:
        unit = last_digit(obj, spec) if obj.is_real else None
        if unit is not None:
            step = sympy.Rational(3 * unit.numerator, unit.denominator)
        elif obj.is_Rational and not obj.is_Integer:
            step = sympy.Rational(1, 2 * obj.q)
        else:
            step = sympy.Integer(1)
        for scale in range(SCALES):
            yield obj + step * 10 ** scale
        return
    for symbol in sorted(obj.free_symbols, key=str):
        yield obj + symbol
    yield 2 * obj
    yield obj + 1


# --- the printed part of a value -----------------------------------------------------------------

def parse_path(expr: str) -> list[list[str]]:
    """The steps from a value to the part a use printed: ``"stats['mean'].x"`` as
    ``[["item", "'mean'"], ["attr", "x"]]`` (the renderer names parts this way)."""
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise Unperturbable(f"cannot find {expr} in the value") from None
    steps = []
    while not isinstance(node, ast.Name):
        if isinstance(node, ast.Subscript):
            steps.append(["item", ast.get_source_segment(expr, node.slice)])
        elif isinstance(node, ast.Attribute):
            steps.append(["attr", node.attr])
        else:
            raise Unperturbable(f"cannot find {expr} in the value")
        node = node.value
    return steps[::-1]


def _key(obj: object, text: str) -> object:
    if isinstance(obj, Mapping):
        for key in obj:
            if repr(key) == text:
                return key
        raise Unperturbable(f"no key {text}")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise Unperturbable(f"cannot index with {text}") from None


def part_of(obj: object, path: list[list[str]]) -> object:
    for kind, text in path:
        obj = getattr(obj, text) if kind == "attr" else obj[_key(obj, text)]
    return obj


def replaced(obj: object, path: list[list[str]], new: object) -> object:
    """A copy of ``obj`` whose part at ``path`` is ``new`` (``obj`` itself is not changed)."""
    if not path:
        return new
    (kind, text), rest = path[0], path[1:]
    if kind == "attr":
        child = replaced(getattr(obj, text), rest, new)
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            try:
                return dataclasses.replace(obj, **{text: child})
            except (TypeError, ValueError):
                pass
        if hasattr(obj, "_replace"):
            return obj._replace(**{text: child})
        clone = copy.copy(obj)
        object.__setattr__(clone, text, child)
        return clone
    key = _key(obj, text)
    child = replaced(obj[key], rest, new)
    if isinstance(obj, Mapping):
        items = dict(obj)
        items[key] = child
        return items if type(obj) is dict else type(obj)(items)
    if isinstance(obj, (list, tuple)):
        items = list(obj)
        items[key] = child
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
    if is_array(obj):
        changed = obj.copy()
        changed[key] = child
        changed.setflags(write=obj.flags.writeable)
        return changed
    if is_sympy(obj) and hasattr(obj, "as_mutable"):
        changed = obj.as_mutable()
        changed[key] = child
        return changed.as_immutable() if isinstance(obj, library_types("sympy", "ImmutableMatrix")) else changed
    raise Unperturbable(f"cannot change a part of a {type(obj).__name__}")


def perturbed_value(result: object, expr: str, spec: str) -> tuple[object, object, object]:
    """``(the value's result with the part printed by expr changed, that part, its change)``."""
    path = parse_path(expr)
    part = part_of(result, path)
    change = perturb(part, spec)
    return freeze(replaced(result, path, change)), part, change


def described(expr: str, was: object, now: object) -> tuple[str, str, str]:
    """``(the printed expression or its changed entry, what it was, what it is now)``, for a report."""
    spot, a, b = changed_entry(was, now)
    return expr + spot, shown(a), shown(b)


def changed_entry(was: object, now: object) -> tuple[str, object, object]:
    """Where ``now`` differs from ``was`` inside an array, matrix, list or tuple: ``("[i]", entry, entry)``."""
    if is_array(was) or isinstance(was, library_types("sympy", "MatrixBase")):
        entries = list(zip(list(was.reshape(-1) if is_array(was) else was), list(now.reshape(-1) if is_array(now)
                                                                                 else now)))
        for index, (a, b) in enumerate(entries):
            if a is not b and a != b:
                spot = divmod(index, was.shape[1]) if len(was.shape) == 2 else (index,)
                return "[" + ", ".join(map(str, spot)) + "]", a, b
    if isinstance(was, (list, tuple)) and len(was) == len(now):
        for index, (a, b) in enumerate(zip(was, now)):
            if a is not b:
                inner, x, y = changed_entry(a, b)
                return f"[{index}]{inner}", x, y
    return "", was, now


def shown(obj: object, width: int = 60) -> str:
    text = repr(obj).replace("\n", " ")
    return text if len(text) <= width else text[:width - 3] + "..."


# --- what is measured, and the results ------------------------------------------------------------

@dataclass
class Sensitivity:
    """Each printed value's measurement: pinned (True), not pinned (False), or not measured (None)."""

    values: dict[str, dict] = field(default_factory=dict)  # value key -> name, chapter, path, line, pinned, parts
    fresh: int = 0  # values measured by this call (the others came from the cache)

    def pinned(self, key: str) -> bool | None:
        return self.values.get(key, {}).get("pinned")

    def figure(self, keys: set[str] | None = None) -> tuple[int, int]:
        """``(pinned, printed)`` over ``keys`` (every printed value by default)."""
        keys = set(self.values) if keys is None else keys
        return sum(1 for key in keys if self.pinned(key)), len(keys)


def measured_prints(uses: list) -> list:
    """The prints whose values are measured: all but figures (``| figure``). A figure is a picture of data,
    not a number that can be changed beyond a precision; its tests read the data it plots, and the values
    of that data are measured where they are printed (solman.values.figures)."""
    return [use for use in uses if use.latex is not None and use.filter.split("(")[0] != "figure"]


def printed_parts(chapters: dict[tuple[str, str], Rendered]) -> dict[str, dict[str, dict]]:
    """Chapter id -> value key -> its name and the (expression, filter) of every print of it (figures aside)."""
    found: dict[str, dict[str, dict]] = {}
    for (chapter_id, _), rendered in sorted(chapters.items()):
        for use in measured_prints(rendered.uses):
            entry = found.setdefault(chapter_id, {}).setdefault(use.key, {"name": use.value, "parts": set()})
            entry["parts"].add((use.expr, use.filter))
    return found


def measure(project: Project, chapters: dict[tuple[str, str], Rendered], results: TestResults) -> Sensitivity:
    """Every printed value's sensitivity, from the cache where its chapter's tests and its prints are unchanged."""
    from solman.values.cache import ChapterCache

    sensitivity = Sensitivity()
    jobs: dict[str, dict] = {}
    stores = {}
    callers: dict[str, list[tuple[str, str]]] = {}  # value key -> (node id, outcome) of each test calling it
    for nodeid, test in sorted(results.tests.items()):
        for value_key in test["values"]:
            callers.setdefault(value_key, []).append((nodeid, test["outcome"]))
    for chapter_id, values in printed_parts(chapters).items():
        chapter = project.chapter(chapter_id)
        cache = ChapterCache(project, chapter)
        key = cache.tests_key() + SPEC_VERSION
        cached = cache.load("sensitivity", key) or {}
        stores[chapter_id] = (cache, key, {})
        for value_key, entry in values.items():
            tests = callers.get(value_key, [])
            parts = spread(sorted(entry["parts"]), PARTS)
            spec = hashlib.sha256(json.dumps([parts, tests]).encode()).hexdigest()
            record = {"name": entry["name"], "chapter": chapter_id, "spec": spec, "pinned": None, "parts": []}
            if not tests or any(outcome != "passed" for _, outcome in tests):
                pass  # untested or failing: the coverage and test checks say so
            elif cached.get(value_key, {}).get("spec") == spec:
                record = cached[value_key]
            else:
                jobs[value_key] = {"chapter": chapter_id, "record": record,
                                   "parts": [{"expr": expr, "filter": spec_} for expr, spec_ in parts],
                                   "tests": [nodeid for nodeid, _ in tests]}
            sensitivity.values[value_key] = record
            stores[chapter_id][2][value_key] = record
    if jobs:
        measured = run_in_parallel(project, jobs)
        for value_key, job in jobs.items():
            found = measured.get(value_key, {"parts": [{"error": "the value was not found in the test process"}]})
            job["record"].update(path=found.get("path"), line=found.get("line"), parts=found["parts"],
                                 pinned=all(p.get("caught_by") for p in found["parts"]))
        sensitivity.fresh = len(jobs)
    for cache, key, records in stores.values():
        cache.store("sensitivity", key, records)
    return sensitivity


def spread(items: list, most: int) -> list:
    """At most ``most`` of ``items``, evenly spread from the first to the last."""
    if len(items) <= most:
        return items
    return [items[round(i * (len(items) - 1) / (most - 1))] for i in range(most)]


def run_in_parallel(project: Project, jobs: dict[str, dict]) -> dict[str, dict]:
    """The perturbations of ``jobs``, one test process per core, each given whole chapters (a module's
    tests run where it is collected), the most parts first to the process with the fewest."""
    from concurrent.futures import ThreadPoolExecutor

    parts: dict[str, int] = {}
    for job in jobs.values():
        parts[job["chapter"]] = parts.get(job["chapter"], 0) + len(job["parts"])
    groups: list[list[str]] = [[] for _ in range(min(len(parts), os.cpu_count() or 1))]
    for chapter_id in sorted(parts, key=lambda c: (-parts[c], c)):
        min(groups, key=lambda g: sum(parts[c] for c in g)).append(chapter_id)
    log.info("measuring the sensitivity of %d printed value(s)%s", len(jobs),
             f" in {len(groups)} processes" if len(groups) > 1 else "")
    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        runs = [pool.submit(run_perturbations, project, sorted(group),
                            {key: job for key, job in jobs.items() if job["chapter"] in group}) for group in groups]
        return {key: found for run in runs for key, found in run.result().items()}


def run_perturbations(project: Project, chapter_ids: list[str], jobs: dict[str, dict]) -> dict[str, dict]:
    """Run the perturbations of ``jobs`` (value key -> parts and tests) in a fresh pytest process."""
    from solman.checking.testrun import crash_frame, run_pytest, scratch_folder

    with scratch_folder(project) as scratch:
        plan, report = scratch / "sensitivity-plan.json", scratch / "sensitivity.json"
        journal = report.with_suffix(".journal")
        plan.write_text(json.dumps({"report": str(report), "values": {
            key: {"parts": [{**part, "path": path_or_none(part["expr"])} for part in job["parts"]], "tests": job["tests"]}
            for key, job in sorted(jobs.items())}}, indent=1), encoding="utf-8")
        # no pytest-timeout: the plugin stops a perturbed test itself when it runs far longer than unperturbed
        process = run_pytest(project, scratch, ["-p", "solman.checking.perturbing", f"--solman-sensitivity={plan}"],
                             [project.chapter(c) for c in chapter_ids])
        if not report.exists():
            running = None
            try:
                for line in journal.read_text(encoding="utf-8").splitlines():
                    running = json.loads(line)
            except (OSError, ValueError):
                pass
            output = process.stdout.splitlines()[-20:] + process.stderr.splitlines()[-20:]
            if running:
                where = crash_frame(project, process.stderr) or Location.of(running["path"], running["line"],
                                                                            project.root)
                raise VerificationFailure(
                    f"the test process ended while value '{running['name']}' was perturbed "
                    f"({running['expr']} changed to {running['now']}), exit code {process.returncode}",
                    location=where, details=output[-10:],
                    hint="a test must fail, not end its process, when a value it checks is wrong")
            raise VerificationFailure(f"the sensitivity of the printed values could not be measured "
                                      f"(exit code {process.returncode})", details=output,
                                      hint="the output above is pytest's; run `python -m pytest verify` to see it whole")
        return json.loads(report.read_text(encoding="utf-8"))["values"]


def path_or_none(expr: str) -> list[list[str]] | None:
    try:
        return parse_path(expr)
    except Unperturbable:
        return None


# --- the check ----------------------------------------------------------------------------------

def sensitivity_check(project: Project, chapters: dict[tuple[str, str], Rendered], results: TestResults
                      ) -> tuple[Sensitivity | None, list[SolmanError]]:
    """The measurement, and one failure per printed value that is not pinned, at its ``@value`` line."""
    try:
        sensitivity = measure(project, chapters, results)
    except SolmanError as error:
        return None, [error]
    return sensitivity, unpinned(project, sensitivity)


def unpinned(project: Project, sensitivity: Sensitivity) -> list[SolmanError]:
    failures = []
    for record in sensitivity.values.values():
        if record["pinned"] is not False:
            continue
        location = Location.of(record["path"], record["line"], project.root) if record.get("path") else None
        missed = [p for p in record["parts"] if not p.get("caught_by")]
        details = [f"{p['expr']} | {p['filter']}: " + (f"cannot be perturbed ({p['error']})" if p.get("error")
                   else f"{p.get('entry', p['expr'])} changed from {p['was']} to {p['now']}: its tests still pass")
                   for p in missed]
        name = record["name"]
        failures.append(VerificationFailure(
            f"chapter {record['chapter']}: value '{name}' is not pinned: no test fails when it is wrong "
            "beyond its printed precision", location=location, details=details,
            hint=f"make a test compare {name}() with an independent computation, exactly or within the "
            "precision it is printed with; a test that only checks its type or compares it with itself "
            "proves nothing"))
    return failures
