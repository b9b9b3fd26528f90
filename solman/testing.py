"""A pytest plugin that records, for each test, the values its code asked for, and its outcome.

``invoke verify`` runs the verify modules' tests with ``-p solman.testing --solman-report=FILE``;
the report tells which printed values a passing test exercised. A value counts as exercised by
a test when the test (or one of its fixtures) calls it directly, not through another value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import values
from .reads import Reads


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--solman-report", default=None, help="write solman's value-coverage report here")


def pytest_configure(config: pytest.Config) -> None:
    report = config.getoption("--solman-report")
    if report:
        config.pluginmanager.register(Recorder(Path(report), config.rootpath), "solman-recorder")


class Recorder:
    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root
        self.tests: dict[str, dict] = {}
        self.modules: dict[str, list[str]] = {}  # verify module -> project files read while importing it
        self.current: str | None = None
        values.observe(self.saw)

    def saw(self, function: values.ValueFunction) -> None:
        if self.current is not None:
            self.tests[self.current]["values"].add(function.key)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        self.current = item.nodeid
        path, line, _ = item.location
        self.tests[item.nodeid] = {"file": Path(str(item.fspath)).name, "path": path,
                                   "line": (line or 0) + 1, "values": set(), "outcome": "passed"}
        with Reads(self.root).watching() as reads:  # the files a test reads are inputs of its result
            yield
        self.tests[item.nodeid]["reads"] = reads.paths()
        self.current = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector):
        if not isinstance(collector, pytest.Module):
            yield
            return
        with Reads(self.root).watching() as reads:  # importing the module: its top level and helpers
            yield
        self.modules[Path(str(collector.path)).name] = reads.paths()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self.tests.get(report.nodeid)
        if test is None:
            return
        if report.failed:
            test["outcome"] = "failed"
            crash = getattr(report.longrepr, "reprcrash", None)
            test.setdefault("message", crash.message if crash else str(report.longrepr)[-1000:])
        elif report.skipped and test["outcome"] == "passed":
            test["outcome"] = "xfailed" if hasattr(report, "wasxfail") else "skipped"

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.tests[f"collect:{report.nodeid}"] = {"file": report.nodeid, "values": set(), "outcome": "error",
                                                      "message": str(report.longrepr)[-2000:]}

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tests = {nodeid: {**test, "values": sorted(test["values"])} for nodeid, test in self.tests.items()}
        self.path.write_text(json.dumps({"tests": tests, "modules": self.modules}, indent=1), encoding="utf-8")
