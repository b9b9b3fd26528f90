"""A pytest plugin that records, for each test, the values its code asked for, the questions it
declares with ``@checks`` (``solman.values.declarations``), and its outcome.

``invoke verify`` runs the verify modules' tests with ``-p solman.checking.testing --solman-report=FILE``;
the report tells which printed values a passing test exercised. A value counts as exercised by
a test when the test (or one of its fixtures) calls it directly, not through another value.

The report is written when the session ends. A process that ends before that (a test calling
``os._exit``, a crash in compiled code, a kill) writes no report; for that case the recorder
keeps a journal next to it (``journal_of(report)``), one JSON line written and flushed when a
module starts and ends being collected and when a test starts and ends, so that solman can
name what was running when the process died.
"""

from __future__ import annotations

import json
import re
import traceback
from pathlib import Path

import pytest

from solman.values import evaluation as values
from solman.values.declarations import declared
from solman.values.reads import Reads
from solman.checking.testrun import journal_of


TIMED_OUT = re.compile(r"Timeout \(>([0-9.]+)s\) from pytest-timeout")  # pytest-timeout's failure message


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--solman-report", default=None, help="write solman's value-coverage report here")


def pytest_configure(config: pytest.Config) -> None:
    report = config.getoption("--solman-report")
    if report:
        timeout = config.getoption("timeout", None)  # pytest-timeout's, which limits tests but not imports
        config.pluginmanager.register(Recorder(Path(report), config.rootpath, timeout), "solman-recorder")


class Recorder:
    def __init__(self, path: Path, root: Path, timeout: float | None = None) -> None:
        self.path = path
        self.root = root
        self.timeout = float(timeout) if timeout else None  # seconds importing a module may take
        self.interrupted = False  # set by pytest_keyboard_interrupt
        self.tests: dict[str, dict] = {}
        self.modules: dict[str, list[str]] = {}  # verify module -> project files read while importing it
        self.current: str | None = None
        self.exits: dict[str, int | None] = {}  # module -> the line where it ended its own import
        values.observe(self.saw)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.journal = open(journal_of(path), "w", encoding="utf-8")  # noqa: SIM115 (open for the session)

    def note(self, **event: object) -> None:
        """One journal line, on disk (in the OS's hands) before the code it announces runs."""
        self.journal.write(json.dumps(event) + "\n")
        self.journal.flush()

    def pytest_collectstart(self, collector: pytest.Collector) -> None:
        if isinstance(collector, pytest.Module):
            self.note(collecting=collector.nodeid, path=collector.nodeid.split("::")[0])

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector):
        """A module that calls sys.exit while imported, or whose import does not finish in time, is a
        collection error, like any exception.

        pytest lets SystemExit out of collection, which would end the whole session as an
        internal error and leave the module's tests unreported.
        """
        if not isinstance(collector, pytest.Module):
            return (yield)
        reads = Reads(self.root)  # importing the module: its top level and the helpers it imports
        try:
            with reads.watching(), values.time_limit(self.timeout) as limit:
                report = yield
            if limit.expired is not None:  # pytest made it a collection error; say where it was and why
                exc = limit.expired
                frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == collector.path]
                self.exits[collector.nodeid] = frames[-1].lineno if frames else None
                return pytest.CollectReport(
                    collector.nodeid, "failed", f"importing the module did not finish within {exc.seconds:g} s "
                    "(timeout in [tool.solman])", [])
            return report
        except SystemExit as exc:
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == collector.path]
            line = frames[-1].lineno if frames else None
            self.exits[collector.nodeid] = line
            return pytest.CollectReport(
                collector.nodeid, "failed", f"SystemExit: {exc.code!r}: the module called sys.exit({exc.code!r}) "
                "or raised SystemExit while it was imported", [])
        finally:
            self.modules[Path(str(collector.path)).name] = reads.paths()

    def saw(self, function: values.ValueFunction) -> None:
        if self.current is not None:
            self.tests[self.current]["values"].add(function.key)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        self.current = item.nodeid
        path, line, _ = item.location
        self.tests[item.nodeid] = {"file": Path(str(item.fspath)).name, "path": path,
                                   "line": (line or 0) + 1, "values": set(), "outcome": "passed",
                                   "checks": declared(getattr(item, "obj", None))}  # @checks("4.1d")
        self.note(started=item.nodeid, path=path, line=(line or 0) + 1)
        with Reads(self.root).watching() as reads:  # the files a test reads are inputs of its result
            yield
        self.tests[item.nodeid]["reads"] = reads.paths()
        self.note(finished=item.nodeid)
        self.current = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self.tests.get(report.nodeid)
        if test is None:
            return
        if report.failed:
            test["outcome"] = "failed"
            crash = getattr(report.longrepr, "reprcrash", None)
            message = crash.message if crash else str(report.longrepr)[-1000:]
            if message.startswith("SystemExit"):  # pytest fails such a test; say why in the author's words
                message += " (the test called sys.exit() or raised SystemExit)"
            if timed_out := TIMED_OUT.search(message):  # pytest-timeout stopped it where it was running
                test.setdefault("timeout", float(timed_out[1]))
                message = (f"stopped at {Path(crash.path).name}:{crash.lineno} after {timed_out[1]} s"
                           if crash else f"stopped after {timed_out[1]} s")
            test.setdefault("message", message)
        elif report.skipped and test["outcome"] == "passed":
            test["outcome"] = "xfailed" if hasattr(report, "wasxfail") else "skipped"

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self.note(collected=report.nodeid)
        if report.failed:
            self.tests[f"collect:{report.nodeid}"] = {"file": report.nodeid, "values": set(), "outcome": "error",
                                                      "message": str(report.longrepr)[-2000:]}
            if self.exits.get(report.nodeid):  # where the module ended its own import
                self.tests[f"collect:{report.nodeid}"].update(path=report.nodeid, line=self.exits[report.nodeid])

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        # Ctrl-C, or a test raising KeyboardInterrupt: the tests after it never ran. (pytest stops after
        # collection errors with its own subclass, Session.Interrupted: those errors are the results.)
        self.interrupted = excinfo.type is KeyboardInterrupt

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tests = {nodeid: {**test, "values": sorted(test["values"])} for nodeid, test in self.tests.items()}
        self.path.write_text(json.dumps({"tests": tests, "modules": self.modules,
                                         "interrupted": self.interrupted}, indent=1),
                             encoding="utf-8")
        self.note(reported=str(self.path))
        self.journal.close()
