"""Running the verify modules' tests, and what they say about each value.

The tests run in a fresh interpreter under pytest with solman's recorder plugin
(``solman.checking.testing``), which reports each test's outcome and the values the test called
directly. A value is *covered* when at least one passing test called it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from solman.errors import Location, SolmanError, VerificationFailure, disk_full
from solman.project.settings import Chapter, Project

if TYPE_CHECKING:
    from solman.rendering.render import Rendered, Use

log = logging.getLogger("solman")


@dataclass
class TestResults:
    __test__ = False  # not a pytest test class, despite its name

    tests: dict[str, dict] = field(default_factory=dict)  # pytest node id -> outcome, values, location, reads
    modules: dict[str, list[str]] = field(default_factory=dict)  # verify module -> files read importing it
    _by_value: dict | None = field(default=None, repr=False, compare=False)

    def covered(self) -> set[str]:
        """Keys of the values at least one passing test called."""
        return {key for test in self.tests.values() if test["outcome"] == "passed" for key in test["values"]}

    def tests_of(self, key: str) -> list[tuple[str, str]]:
        """``(test name, outcome)`` of every test that called the value ``key``."""
        if self._by_value is None:
            self._by_value = {}
            for nodeid, test in self.tests.items():
                for value in test["values"]:
                    self._by_value.setdefault(value, []).append((nodeid.split("::")[-1], test["outcome"]))
        return self._by_value.get(key, [])

    def declaring(self, chapter: str, question: str) -> list[tuple[str, str]]:
        """``(test name, outcome)`` of every test of the chapter ``chapter`` (its verify module
        ``verify/<chapter>.py``) declared with ``@checks`` for ``question``."""
        return [(nodeid.split("::")[-1], test["outcome"]) for nodeid, test in self.tests.items()
                if question in test.get("checks", ()) and Path(test["file"]).stem == chapter]  # the cheap test first

    def of_chapter(self, chapter: Chapter) -> list[dict]:
        return [t for t in self.tests.values() if t["file"] == chapter.verify.name]

    def of_chapters(self, chapters: list[Chapter]) -> TestResults:
        """The results of these chapters' tests only (collection errors included)."""
        files = {c.verify.name for c in chapters}
        return TestResults({n: t for n, t in self.tests.items() if t["file"] in files},
                           {f: r for f, r in self.modules.items() if f in files})

    def reads(self, chapter: Chapter) -> list[str]:
        """The project files the chapter's tests read (importing the module included)."""
        return sorted({*self.modules.get(chapter.verify.name, ()),
                       *(path for test in self.of_chapter(chapter) for path in test.get("reads", ()))})


def run_tests(project: Project, chapters: list[Chapter] | None = None) -> TestResults:
    """Run the tests of ``chapters`` (all by default) in a fresh interpreter."""
    chapters = list(project.chapters) if chapters is None else chapters
    if not chapters:
        return TestResults()
    with scratch_folder(project) as scratch:
        report = scratch / "tests.json"
        log.info("running the tests of %s", ", ".join(c.id for c in chapters))
        # a test that hangs fails after project.timeout seconds (a SIGALRM in the test process, which
        # raises where the test is running; the session goes on with the next test)
        process = run_pytest(project, scratch, ["-p", "solman.checking.testing", f"--solman-report={report}", "-p",
                                                "pytest_timeout", f"--timeout={project.timeout:g}",
                                                "--timeout-method=signal"], chapters)
        full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(report))  # the report could not be written whole
        if not report.exists():
            raise full if disk_full(report.parent) else died(project, journal_of(report), process)
        log.info("%s", (process.stdout.strip().splitlines() or ["no output"])[-1])
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except ValueError:
            if disk_full(report.parent):
                raise full from None
            raise
    if data.get("interrupted"):  # the report holds only the tests before the interruption: not the results
        raise VerificationFailure("the test run was interrupted before it finished",
                                  details=process.stdout.splitlines()[-5:],
                                  hint="run it again; a test must not raise KeyboardInterrupt")
    return TestResults(data["tests"], data.get("modules", {}))


@contextlib.contextmanager
def scratch_folder(project: Project) -> Iterator[Path]:
    """A folder of this run only, under build/verify, removed afterwards: two commands may run tests at
    once (verify beside verify, under the shared lock), and pytest's and the tests' temporaries go there."""
    (project.build / "verify").mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=project.build / "verify"))
    try:
        (scratch / "tmp").mkdir()
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_pytest(project: Project, scratch: Path, options: list[str], chapters: list[Chapter]
               ) -> subprocess.CompletedProcess:
    """pytest on the chapters' verify modules in a fresh interpreter, with solman's plugin ``options``;
    its temporaries in ``scratch``, nothing written beside the sources, no other plugin loaded."""
    command = [sys.executable, "-m", "pytest", *options, "-p", "no:cacheprovider", f"--basetemp={scratch / 'pytest'}",
               "-q", "--no-header", "--rootdir", str(project.root), *(project.relative(c.verify) for c in chapters)]
    log.debug("$ %s", " ".join(command))
    environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1",  # nothing written next to the sources
                       PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",  # only solman's plugins: others cost a second
                       TMPDIR=str(scratch / "tmp"))
    return subprocess.run(command, cwd=project.root, capture_output=True, text=True, check=False, env=environment)


def journal_of(report: Path) -> Path:
    """Where the recorder (``solman.checking.testing``) journals what it is doing, for a report never written."""
    return report.with_suffix(".journal")


def died(project: Project, journal: Path, process: subprocess.CompletedProcess) -> VerificationFailure:
    """Why the test process ended without a report: the test (or module) it was running, and how it ended."""
    how = (f"killed by signal {signal.Signals(-process.returncode).name}" if process.returncode < 0
           else f"exit code {process.returncode}")
    output = process.stdout.splitlines()[-20:] + process.stderr.splitlines()[-20:]
    fatal = [line for line in process.stderr.splitlines() if line.startswith("Fatal Python error")][:1]
    running, collecting = None, None
    try:
        lines = journal.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:  # the last line, cut short by the end of the process
            continue
        if "started" in event:
            running = event
        elif "finished" in event:
            running = None
        elif "collecting" in event:
            collecting = event
        elif "collected" in event and collecting and event["collected"] == collecting["collecting"]:
            collecting = None
    crash = crash_frame(project, process.stderr)  # faulthandler's stack, after a segfault
    if running is not None:
        name = running["started"].split("::")[-1]
        where = crash if crash and crash.path == running["path"] else Location.of(
            project.root / running["path"], running["line"], project.root)
        return VerificationFailure(
            f"test {name} ended the test process ({how}) before it finished", location=where, details=fatal,
            hint="a test must return or fail, not end its process (os._exit, a signal); a crash without a "
            f"Python error is in compiled code the test calls: `python -m pytest {running['path']} -k "
            f"{name.split('[')[0]}` shows it")
    if collecting is not None:
        where = crash if crash and crash.path == collecting["path"] else Location.of(
            project.root / collecting["path"], None, project.root)
        return VerificationFailure(
            f"importing {collecting['path']} ended the test process ({how}) while its tests were collected",
            location=where, details=fatal,
            hint="a verify module must not end the process when imported (os._exit, a signal)")
    return VerificationFailure(f"the tests could not be run ({how})", details=output,
                               hint="the output above is pytest's; run `python -m pytest verify` to see it whole")


def crash_frame(project: Project, stderr: str) -> Location | None:
    """The innermost frame in the author's files of a stack faulthandler printed (most recent call first)."""
    from solman.values.evaluation import is_author_file

    for match in re.finditer(r'File "([^"]+)", line (\d+)', stderr):
        if is_author_file(Path(match[1]), project.root):
            return Location.of(match[1], int(match[2]), project.root)
    return None


def test_results(project: Project, chapters: list[Chapter], fresh: bool = False) -> TestResults:
    """The test results of ``chapters``: cached where nothing they depend on changed (the key hashes the
    verify module, the files its values and tests read, the packages and solman), run otherwise;
    ``fresh`` runs them all."""
    from solman.values.cache import ChapterCache

    tests: dict[str, dict] = {}
    missing = []
    for chapter in chapters:
        cache = ChapterCache(project, chapter)
        stored = None if fresh else cache.load("tests", cache.tests_key())
        if stored is None:
            missing.append(chapter)
        else:
            tests.update(stored)
    if missing:
        fresh = run_tests(project, missing)
        remember(project, missing, fresh)
        tests.update(fresh.tests)
    return TestResults(tests)


def remember(project: Project, chapters: list[Chapter], results: TestResults) -> None:
    """Record what each chapter's tests read, and cache their results under the key that includes it
    (not when a module failed to collect)."""
    from solman.values.cache import ChapterCache

    for chapter in chapters:
        cache = ChapterCache(project, chapter)
        cache.record_reads("tests", results.reads(chapter))
        own = {nodeid: test for nodeid, test in results.tests.items() if test["file"] == chapter.verify.name}
        if own and all(test["outcome"] != "error" for test in own.values()):
            cache.store("tests", cache.tests_key(), own)


# --- what the results say about a build -----------------------------------------------------------

def failed_tests(project: Project, results: TestResults) -> list[SolmanError]:
    failures = []
    for nodeid, test in results.tests.items():
        if test["outcome"] == "passed":
            continue
        location = Location.of(project.root / test["path"], test.get("line"), project.root) if "path" in test \
            else Location(test["file"])
        name = nodeid.split("::")[-1]
        message = {"failed": f"test {name} failed" if "timeout" not in test else
                   f"test {name} did not finish within {test['timeout']:g} s (timeout in [tool.solman])",
                   "error": f"{test['file']} cannot be collected",
                   "skipped": f"test {name} was skipped",
                   "xfailed": f"test {name} is marked as expected to fail"}[test["outcome"]]
        hint = ("a test must finish: look for a loop that never ends, make the test faster, or raise timeout"
                if "timeout" in test
                else f"run `python -m pytest {test['file']} -k {name.split('[')[0]}` to see the whole failure"
                if test["outcome"] == "failed"
                else f"run `python -m pytest {test['file']}` to see the whole failure" if test["outcome"] == "error"
                else "a check that does not run proves nothing; make it run")
        details = [line for line in test.get("message", "").splitlines()[:6]]
        failures.append(VerificationFailure(message, location=location, details=details, hint=hint))
    return failures


def questionless_tests(project: Project, chapters: dict[tuple[str, str], Rendered], results: TestResults
                       ) -> list[SolmanError]:
    """Tests that check no question: they call no value the chapters print (or decide with) and declare
    none with ``@checks``; and tests that declare a question their chapter does not have. At the test."""
    used = {u.key for rendered in chapters.values() for u in rendered.uses}
    questions: dict[str, set[str]] = defaultdict(set)  # verify file -> its chapter's question ids
    for (chapter_id, _), rendered in chapters.items():
        questions[project.chapter(chapter_id).verify.name] |= {q.id for q in rendered.questions}
    failures = []
    for nodeid, test in results.tests.items():
        if test["file"] not in questions or "path" not in test or nodeid.startswith("collect:"):
            continue
        name = nodeid.split("::")[-1]
        location = Location.of(project.root / test["path"], test.get("line"), project.root)
        declared = test.get("checks", [])
        unknown = [q for q in declared if q not in questions[test["file"]]]
        if unknown:
            known = sorted(questions[test["file"]])
            failures.append(VerificationFailure(
                f"test {name} declares question {', '.join(unknown)}, which its chapter does not have",
                location=location, hint=f"the chapter's questions are {', '.join(known) or 'none'}: "
                "declare the id of the question the test checks, as the template's question(...) gives it"))
        elif not declared and not set(test["values"]) & used:
            failures.append(VerificationFailure(
                f"test {name} checks no question: it calls no printed value and declares none",
                location=location,
                hint='declare the question it checks with @checks("<id>") above it (from solman import checks), '
                "or make it call the printed value it checks"))
    return failures


def untested_values(project: Project, chapters: dict[tuple[str, str], Rendered], results: TestResults
                    ) -> list[SolmanError]:
    """One failure per printed value that no passing test calls, at the first template line printing it."""
    exercised = results.covered()
    untested: dict[tuple[str, str], list[Use]] = defaultdict(list)
    for (chapter_id, _), rendered in chapters.items():
        for use in rendered.uses:
            if use.key not in exercised:
                untested[chapter_id, use.value].append(use)
    failures = []
    for (chapter_id, name), where in untested.items():
        questions = sorted({u.question for u in where if u.question})
        asked = f" (question {', '.join(questions)})" if questions else ""
        failures.append(VerificationFailure(
            f"chapter {chapter_id}: value '{name}' is printed{asked} but no passing test exercises it",
            location=use_location(project, where[0]),
            hint=f"add a test to {project.relative(project.chapter(chapter_id).verify)} that calls {name}() and "
            "checks it against an independent computation"))
    return failures


def use_location(project: Project, use: Use) -> Location | None:
    return Location.of(project.root / use.template, use.line, project.root) if use.template else None
