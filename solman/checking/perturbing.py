"""A pytest plugin that re-runs tests with printed values perturbed (see ``solman.checking.sensitivity``).

``pytest -p solman.checking.perturbing --solman-sensitivity=PLAN`` collects the verify modules as usual, then,
instead of the normal test loop, takes each value of the plan in turn: for each printed part of it, it
sets the value's cached result to the perturbed one, re-runs the tests that call the value (in place,
with ``_pytest.runner.runtestprotocol``, the mechanism pytest-rerunfailures relies on) until one fails,
and restores the result. Every test is first run once unperturbed, so a failure is the perturbation's
doing. Values that other values compute while a perturbation is in place are forgotten afterwards.
The report (the plan's ``"report"``) is written at the end; a journal line names each perturbation
before it runs, for a process that dies.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from solman.values import evaluation as values
from solman.checking.sensitivity import Unperturbable, described, perturbed_value

PATIENCE = 10.0  # seconds a perturbed test may take beyond ten times its unperturbed run


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--solman-sensitivity", default=None, help="re-run tests with the values of this plan perturbed")


def pytest_configure(config: pytest.Config) -> None:
    plan = config.getoption("--solman-sensitivity")
    if plan:
        # Only whether a perturbed test fails counts: pytest's account of the failure (it parses the
        # module's source for every failing test: 70 % of the run on the flagship) is not made.
        config.option.tbstyle = "no"
        config.pluginmanager.register(Perturber(Path(plan)), "solman-perturber")


class TooSlow(Exception):
    """A perturbed test ran far longer than unperturbed (a loop that no longer converges): it noticed."""


class Perturber:
    def __init__(self, plan: Path) -> None:
        self.plan = json.loads(plan.read_text(encoding="utf-8"))
        self.report = Path(self.plan["report"])
        self.journal = open(self.report.with_suffix(".journal"), "w", encoding="utf-8")  # noqa: SIM115
        self.baseline: dict[str, float | None] = {}  # node id -> seconds unperturbed, None if it fails so
        self.known: tuple[int, list[values.ValueFunction]] = (-1, [])

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        items = {item.nodeid: item for item in session.items}
        found = {}
        for key, job in self.plan["values"].items():
            found[key] = self.measure(key, job, items)
        self.report.write_text(json.dumps({"values": found}, indent=1), encoding="utf-8")
        self.journal.close()
        return True

    def value_functions(self) -> list[values.ValueFunction]:
        """Every value function of the imported modules (looked for again when more modules are imported)."""
        if self.known[0] != len(sys.modules):
            functions = {id(obj): obj for module in list(sys.modules.values())
                         for obj in list(getattr(module, "__dict__", {}).values())
                         if isinstance(obj, values.ValueFunction)}
            self.known = (len(sys.modules), list(functions.values()))
        return self.known[1]

    def measure(self, key: str, job: dict, items: dict[str, pytest.Item]) -> dict:
        function = next((f for f in self.value_functions() if f.key == key), None)
        tests = [items[nodeid] for nodeid in job["tests"] if nodeid in items]
        if function is None:
            return {"parts": [{**part, "error": "the value is not defined in the collected modules"}
                              for part in job["parts"]]}
        record = {"path": str(function.path), "line": function.line, "parts": []}
        try:
            original = function()
        except Exception as exc:  # noqa: BLE001 (its tests passed, so unlikely; the value stays unmeasured)
            record["parts"] = [{**part, "error": f"{type(exc).__name__}: {exc}"} for part in job["parts"]]
            return record
        for test in tests:
            self.run_baseline(test)
        tests.sort(key=lambda test: self.baseline[test.nodeid] or 0.0)  # the quickest to notice first
        for part in job["parts"]:
            record["parts"].append(self.measure_part(function, original, part, tests))
        return record

    def measure_part(self, function: values.ValueFunction, original: object, part: dict,
                     tests: list[pytest.Item]) -> dict:
        result = {"expr": part["expr"], "filter": part["filter"], "caught_by": None}
        try:
            if part.get("path") is None:
                raise Unperturbable(f"cannot find {part['expr']} in the value")
            changed, was, now = perturbed_value(original, part["expr"], part["filter"])
        except Exception as exc:  # noqa: BLE001 (whatever the value is, it is reported, not raised)
            return {**result, "error": str(exc) or type(exc).__name__}
        result["entry"], result["was"], result["now"] = described(part["expr"], was, now)
        self.note(name=function.name, expr=part["expr"], now=result["now"], path=str(function.path),
                  line=function.line)
        others = {f: f._result for f in self.value_functions() if f is not function}
        function._result = changed
        try:
            for test in tests:
                seconds = self.baseline.get(test.nodeid)
                if seconds is not None and self.fails(test, limit=PATIENCE + 10 * seconds):
                    result["caught_by"] = test.nodeid.split("::")[-1]
                    break
        finally:
            function._result = original
            for other, before in others.items():  # computed from the perturbed value: forget
                if other._result is not before:
                    other._result = before
        return result

    def run_baseline(self, test: pytest.Item) -> None:
        import time

        if test.nodeid in self.baseline:
            return
        started = time.perf_counter()
        failed = self.fails(test, limit=None)
        self.baseline[test.nodeid] = None if failed else time.perf_counter() - started

    def fails(self, test: pytest.Item, limit: float | None) -> bool:
        from _pytest.runner import runtestprotocol

        def too_slow(signum, frame):
            raise TooSlow(f"more than {limit:.0f} s")

        previous = signal.signal(signal.SIGALRM, too_slow) if limit else None
        if limit:
            signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            reports = runtestprotocol(test, log=False, nextitem=None)
        finally:
            if limit:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        return any(report.failed for report in reports)

    def note(self, **event: object) -> None:
        self.journal.write(json.dumps(event) + "\n")
        self.journal.flush()
