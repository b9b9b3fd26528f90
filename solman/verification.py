"""``invoke verify``: the proof that the manual prints only tested values, from today's sources.

Five checks, all run, all reported together:

1. tests: every test in the chapters' verify modules passes;
2. coverage: every value printed anywhere is called directly by at least one passing test;
3. drift: every PDF in ``build/`` (or the one given) was built from sources that render today
   exactly as they did then; otherwise the chapters, questions and values that changed;
4. quality: the current PDFs were built without overfull boxes, undefined references or
   missing characters;
5. separation: no solution text is in the problems edition, neither its ``.tex`` nor its PDF.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DriftError, Location, SolmanError, VerificationFailure
from .manifest import load_manifest
from .pdfs import pdf_text, read_digest
from .project import Project
from .rendering import Rendered, Use
from .targets import Sources, assemble, plan_targets, sha256
from .toolchain import require_tex

log = logging.getLogger("solman")

WINDOW = 8  # words: a run this long shared by a solution and the problems PDF is a leak


@dataclass
class ChapterSummary:
    chapter: str
    questions: int = 0
    values: int = 0
    covered: int = 0
    tests: int = 0
    passed: int = 0


@dataclass
class Report:
    chapters: list[ChapterSummary] = field(default_factory=list)
    pdfs: dict[str, str] = field(default_factory=dict)  # PDF -> "current" or why not
    failures: list[SolmanError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> list[str]:
        """A one-screen table of what was verified."""
        rows = [("chapter", "questions", "values", "covered", "tests", "status")]
        totals = ChapterSummary("total")
        for c in self.chapters:
            status = "ok" if c.covered == c.values and c.passed == c.tests else "FAIL"
            rows.append((c.chapter, str(c.questions), str(c.values), f"{c.covered}/{c.values}",
                         f"{c.passed}/{c.tests}", status))
            for name in ("questions", "values", "covered", "tests", "passed"):
                setattr(totals, name, getattr(totals, name) + getattr(c, name))
        rows.append(("total", str(totals.questions), str(totals.values), f"{totals.covered}/{totals.values}",
                     f"{totals.passed}/{totals.tests}", "ok" if self.ok else "FAIL"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.insert(-1, "  ".join("-" * w for w in widths))
        current = sum(1 for status in self.pdfs.values() if status == "current")
        lines.append(f"PDFs: {current} of {len(self.pdfs)} current" if self.pdfs else
                     "PDFs: none in build/ (nothing to check for drift; run `invoke pdf`)")
        coverage = 100 * totals.covered / totals.values if totals.values else 100.0
        lines.append(f"value coverage {coverage:.0f}%, {len(self.failures)} problem(s): "
                     f"{'VERIFIED' if self.ok else 'NOT VERIFIED'}")
        return lines


def verify(project: Project, pdf: Path | None = None) -> Report:
    """Run every check; the report lists what failed (an empty list means verified)."""
    tests = run_tests(project)
    sources = assemble(project, plan_targets(project))
    report = Report()
    report.failures += failed_tests(project, tests)
    report.chapters, coverage = coverage_check(project, sources, tests)
    report.failures += coverage
    pdfs = [pdf] if pdf else published_pdfs(project.build)
    if pdfs:
        require_tex(only=("poppler-utils",))
    report.pdfs, drift = drift_check(project, sources, pdfs)
    report.failures += drift
    current = [p for p in pdfs if report.pdfs.get(str(p)) == "current"]
    report.failures += leak_check(project, sources, current)
    report.failures += quality_check(project, current)
    return report


# --- 1. tests ---------------------------------------------------------------------------------

def run_tests(project: Project) -> dict[str, dict]:
    """Run the verify modules' tests in a fresh interpreter; each test's outcome and values."""
    report = project.build / "verify" / "tests.json"
    report.unlink(missing_ok=True)
    files = [project.relative(c.verify) for c in project.chapters]
    command = [sys.executable, "-m", "pytest", "-p", "solman.testing", f"--solman-report={report}",
               "-p", "no:cacheprovider", "-q", "--no-header", "--rootdir", str(project.root), *files]
    log.info("running the tests of %d verify module(s)", len(files))
    process = subprocess.run(command, cwd=project.root, capture_output=True, text=True, check=False)
    if not report.exists():
        raise VerificationFailure("the tests could not be run",
                                  details=process.stdout.splitlines()[-20:] + process.stderr.splitlines()[-20:])
    log.info("%s", (process.stdout.strip().splitlines() or ["no output"])[-1])
    return json.loads(report.read_text(encoding="utf-8"))["tests"]


def failed_tests(project: Project, tests: dict[str, dict]) -> list[SolmanError]:
    failures = []
    for nodeid, test in tests.items():
        if test["outcome"] == "passed":
            continue
        location = Location.of(project.root / test["path"], test.get("line"), project.root) if "path" in test \
            else Location(test["file"])
        message = {"failed": f"test {nodeid.split('::')[-1]} failed",
                   "error": f"{test['file']} cannot be collected",
                   "skipped": f"test {nodeid.split('::')[-1]} was skipped",
                   "xfailed": f"test {nodeid.split('::')[-1]} is marked as expected to fail"}[test["outcome"]]
        hint = None if test["outcome"] in ("failed", "error") else "a check that does not run proves nothing; make it run"
        details = [line for line in test.get("message", "").splitlines()[:6]]
        failures.append(VerificationFailure(message, location=location, details=details, hint=hint))
    return failures


# --- 2. coverage ------------------------------------------------------------------------------

def coverage_check(project: Project, sources: Sources, tests: dict[str, dict]
                   ) -> tuple[list[ChapterSummary], list[SolmanError]]:
    exercised = {key for test in tests.values() if test["outcome"] == "passed" for key in test["values"]}
    summaries, failures = [], []
    for chapter in project.chapters:
        uses = [u for (cid, _), r in sources.chapters.items() if cid == chapter.id for u in r.uses]
        keys = {u.key for u in uses}
        chapter_tests = [t for t in tests.values() if t["file"] == chapter.verify.name]
        solutions = sources.chapters.get((chapter.id, "solutions"))
        summaries.append(ChapterSummary(
            chapter.id, questions=len(solutions.questions) if solutions else 0, values=len(keys),
            covered=len(keys & exercised), tests=len(chapter_tests),
            passed=sum(1 for t in chapter_tests if t["outcome"] == "passed")))
        untested: dict[str, list[Use]] = defaultdict(list)
        for use in uses:
            if use.key not in exercised:
                untested[use.value].append(use)
        for name, where in untested.items():
            first = where[0]
            questions = sorted({u.question for u in where if u.question})
            asked = f" (question {', '.join(questions)})" if questions else ""
            failures.append(VerificationFailure(
                f"chapter {chapter.id}: value '{name}' is printed{asked} but no passing test exercises it",
                location=Location.of(project.root / first.template, first.line, project.root) if first.template
                else None,
                hint=f"add a test to {project.relative(chapter.verify)} that calls {name}() and checks it "
                "against an independent computation"))
    return summaries, failures


# --- 3. drift ---------------------------------------------------------------------------------

def published_pdfs(build: Path) -> list[Path]:
    return sorted(build.glob("*.pdf")) + sorted((build / "chapters").glob("*.pdf"))


def drift_check(project: Project, sources: Sources, pdfs: list[Path]) -> tuple[dict[str, str], list[SolmanError]]:
    """Each PDF's status ("current", "stale", ...) and one error for all stale PDFs and their changes."""
    manifest = load_manifest(project.build / "manifest.json")
    targets = {t.name: t for t in plan_targets(project)}
    status: dict[str, str] = {}
    failures: list[SolmanError] = []
    stale: list[str] = []
    changes: dict[str, Location | None] = {}
    for pdf in pdfs:
        shown = project.relative(pdf)
        if not pdf.is_file():
            failures.append(DriftError(f"{shown} does not exist"))
            status[str(pdf)] = "missing"
            continue
        digest = read_digest(pdf)
        record = manifest["outputs"].get(digest) if digest else None
        if digest is None:
            why = "it is not a solman PDF (it carries no build digest)"
        elif record is None:
            why = "it was not built from this project's build/ (its digest is not in build/manifest.json)"
        elif sha256(pdf.read_bytes()) != record["pdf"]:
            why = "it was modified after it was built"
        elif record["target"] not in targets:
            why = "its chapter is no longer part of the project"
        elif sources.inputs[record["target"]] == record["inputs"]:
            status[str(pdf)] = "current"
            continue
        else:
            status[str(pdf)] = "stale"
            stale.append(shown)
            for change, location in explain_drift(project, manifest, record, sources):
                changes.setdefault(change, location)
            continue
        status[str(pdf)] = "unknown"
        failures.append(DriftError(f"{shown} cannot be verified: {why}", hint="run `invoke pdf` to rebuild it"))
    if stale:
        first = next((location for location in changes.values() if location), None)
        failures.insert(0, DriftError(
            f"{len(stale)} PDF(s) are stale, built from sources that have changed since: {', '.join(stale)}",
            location=first, details=list(changes), hint="run `invoke pdf` to rebuild"))
    return status, failures


def explain_drift(project: Project, manifest: dict, record: dict, sources: Sources
                  ) -> list[tuple[str, Location | None]]:
    """What changed between the build of ``record`` and today: chapters, questions, values."""
    changes = []
    edition = record["edition"]
    fresh_inputs = sources.inputs[record["target"]]
    for chapter_id, old_sha in record["chapters"].items():
        fresh = sources.chapters[chapter_id, edition]
        if sha256(fresh.text.encode()) == old_sha:
            continue
        old = manifest["renders"].get(old_sha, {"values": [], "name": fresh.name})
        changed = changed_values(old["values"], fresh.uses)
        if changed:
            changes.extend((f"chapter {chapter_id}: {line}", None) for line in changed)
        else:
            where = first_changed_line(project, fresh, old_sha)
            changes.append((f"chapter {chapter_id}: text changed{f' at {where}' if where else ''}", where))
    for name, sha in record["inputs"].items():
        if not name.startswith("chapters/") and fresh_inputs.get(name) != sha:
            kind = "style" if name.endswith(".sty") else "document shell"
            changes.append((f"{kind} changed: {name}", None))
    return changes


def changed_values(old: list[dict], fresh: list[Use]) -> list[str]:
    """One line per value whose printed LaTeX changed, appeared or disappeared, with its questions."""
    def index(uses) -> dict[tuple, str | None]:
        return {(u["value"], u["question"], u["expr"], u["filter"]): u["latex"] for u in uses}

    before = index(old)
    after = index(u.__dict__ for u in fresh)
    by_value: dict[str, set[str]] = defaultdict(set)
    for key in before.keys() | after.keys():
        if before.get(key) != after.get(key) or (key in before) != (key in after):
            by_value[key[0]].add(key[1] or "chapter text")
    return [f"value '{name}' changed (printed in {', '.join(sorted(questions))})"
            for name, questions in sorted(by_value.items())]


def first_changed_line(project: Project, fresh: Rendered, old_sha: str) -> Location | None:
    """The template line of the first difference, when the old ``.tex`` is still on disk."""
    old_file = project.build / "tex" / fresh.name
    if not old_file.exists() or sha256(old_file.read_bytes()) != old_sha:
        return None
    old_lines = old_file.read_text(encoding="utf-8").splitlines()
    new_lines = fresh.text.splitlines()
    for number, (a, b) in enumerate(zip(old_lines, new_lines), start=1):
        if a != b:
            break
    else:
        number = min(len(old_lines), len(new_lines)) + 1
    origin = fresh.sources.locate(min(number, len(new_lines)))
    return Location.of(origin[0], origin[1], project.root) if origin else None


# --- 4. quality gates -------------------------------------------------------------------------

def quality_check(project: Project, current_pdfs: list[Path]) -> list[SolmanError]:
    """LaTeX warnings recorded when the current PDFs were built: each one once, at its line."""
    manifest = load_manifest(project.build / "manifest.json")
    seen: dict[tuple, SolmanError] = {}
    for pdf in current_pdfs:
        record = manifest["outputs"][read_digest(pdf)]
        for warning in record["warnings"]:
            key = (warning["file"], warning["line"], warning["what"])
            location = Location.of(project.root / warning["file"], warning["line"], project.root) \
                if warning["file"] else None
            seen.setdefault(key, VerificationFailure(
                f"LaTeX warning in {project.relative(pdf)}: {warning['what']}", location=location,
                hint="a finished chapter has no overfull boxes, undefined references or missing characters"))
    return list(seen.values())


# --- 5. separation of the editions -------------------------------------------------------------

def leak_check(project: Project, sources: Sources, current_pdfs: list[Path]) -> list[SolmanError]:
    failures = []
    solution_words: list[list[str]] = []
    problem_words: set[tuple[str, ...]] = set()
    for chapter in project.chapters:
        problems = sources.chapters[chapter.id, "problems"]
        solutions = sources.chapters[chapter.id, "solutions"]
        if r"\begin{solution}" in problems.text:
            failures.append(VerificationFailure(f"chapter {chapter.id}: the problems edition contains a solution"))
        for body in solutions.solutions:
            for line in body.splitlines():
                line = line.strip()
                if len(line) >= 40 and not line.startswith("%") and line in problems.text:
                    failures.append(VerificationFailure(
                        f"chapter {chapter.id}: solution text is in the problems edition: {line[:60]}..."))
                    break
            solution_words.append(words(plain_text(body)))
        problem_words |= windows(words(plain_text(problems.text)))
    for pdf in current_pdfs:
        if not pdf.name.endswith("problems.pdf"):
            continue
        shown = windows(words(pdf_text(pdf)))
        for body in solution_words:
            leaked = (windows(body) - problem_words) & shown
            if leaked:
                failures.append(VerificationFailure(
                    f"{project.relative(pdf)} shows solution text: \"{' '.join(sorted(leaked)[0])}\""))
                break
    return failures


def plain_text(latex: str) -> str:
    from pylatexenc.latex2text import LatexNodes2Text

    try:
        return LatexNodes2Text(math_mode="remove").latex_to_text(latex)
    except Exception:  # pylatexenc is lenient, but a half-written draft may still defeat it
        return re.sub(r"\\[a-zA-Z]+|[{}$]", " ", latex)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]{2,}", text.lower())


def windows(sequence: list[str]) -> set[tuple[str, ...]]:
    return {tuple(sequence[i:i + WINDOW]) for i in range(len(sequence) - WINDOW + 1)}
