"""``invoke verify``: the proof that the manual prints only tested values, from today's sources.

Every check runs, and everything found is reported together:

1. tests: every test in the chapters' verify modules passes (none skipped);
2. coverage: every value printed anywhere is called directly by at least one passing test;
3. display: every printed value, read back from its LaTeX, is the tested value within the
   precision it is shown with;
4. lint: no number is typed into a solution (or text only the solutions edition shows, or a Jinja
   literal printed there) instead of printed from a value;
5. drift: every PDF in ``build/`` (or the one given) was built from sources that render today
   exactly as they did then; otherwise the chapters, questions and values that changed;
6. quality: the current PDFs were built without overfull boxes, undefined references or
   missing characters;
7. separation: no five-word phrase only a solution says, no value only solutions print, and no
   ``answer=`` value is in the problems edition, neither its ``.tex`` nor its PDF;
8. sensitivity: every printed value is pinned: a test fails when it is changed beyond its printed
   precision (see ``sensitivity``);
9. questions: every test checks a question: it calls a printed value, or declares the question with
   ``@checks`` (and the chapter has that question).
10. pages: no question of the current PDFs is split across pages: its heading, stem and options are on
    one page, and its solution starts on the page its statement ends (see ``solman.checking.pages``).

Results are reused when nothing they depend on changed, keyed by content like every cache
(``solman.values.cache``): the tests' outcomes (the key hashes the verify module, the files its values
and tests read, the packages and solman), the display and sensitivity results (the rendered
chapter's key), the lint (the template and solman). Right after ``invoke pdf``, which ran the
tests, verify therefore runs none; ``fresh`` ignores every cache. ``chapter`` checks one chapter
and its PDFs, and the report says what it did not check.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from solman.checking.display import check_display
from solman.errors import (
    ConfigError,
    DriftError,
    Errors,
    Location,
    SolmanError,
    VerificationFailure,
)
from solman.checking.lint import problem_numbers
from solman.checking.pages import page_check
from solman.checking.webpages import page_display, page_drift, page_provenance, page_text, published_pages
from solman.build.manifest import empty_manifest, load_manifest
from solman.latex.pdfs import pdf_text, read_digest, read_provenance
from solman.project.language import ENGLISH, Language, language
from solman.project.settings import Chapter, Project
from solman.rendering.render import Rendered, Use
from solman.checking.sensitivity import sensitivity_check
from solman.rendering.sources import SOURCE, Sources, assemble, render_chapters, sha256
from solman.project.targets import Target, plan_targets
from solman.checking.testrun import (
    TestResults,
    failed_tests,
    questionless_tests,
    test_results,
    untested_values,
    use_location,
)
from solman.latex.toolchain import require_tex

log = logging.getLogger("solman")

PDF_MAGIC = b"%PDF-"  # how every PDF file starts
PDF_STATUSES = {  # what drift_check finds a PDF to be, as the summary counts it
    "current": "current",  # byte for byte the PDF today's sources build
    "stale": "stale",  # built from sources that have changed since
    "modified": "modified",  # its sources are today's, its bytes are not those they build
    "draft": "draft",  # built with --draft while checks failed: never current
    "unknown": "not verifiable",  # not a solman PDF, or not from this project
}
WINDOW = 5  # words: a run this long that only a solution says, found in the problems edition, is a leak


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
    pdfs: dict[str, str] = field(default_factory=dict)  # PDF -> one of PDF_STATUSES
    failures: list[SolmanError] = field(default_factory=list)
    displayed: tuple[int, int] = (0, 0)  # printed values read back, and not readable (symbolic)
    literals: int = 0  # numbers marked \lit in solutions
    coverage_known: bool = True  # False when the tests could not run or the chapters not render
    sensitivity: tuple[int, int] | None = None  # printed values pinned, and printed; None: not measured
    scope: str | None = None  # the chapter checked alone (verify --chapter), or None: the whole manual
    unchecked: list[str] = field(default_factory=list)  # what a check of one chapter left out
    pages: dict[str, str] = field(default_factory=dict)  # HTML page -> current, stale, unknown or draft
    read_from_html: int = 0  # printed values found again in the HTML pages' MathML

    @property
    def ok(self) -> bool:
        return not self.failures

    def ratio(self, part: int, whole: int, whole_known: bool = True) -> str:
        """``part/whole``, or what is known of it when the tests could not run."""
        if self.coverage_known:
            return f"{part}/{whole}"
        return f"?/{whole}" if whole_known else "?"

    def summary(self) -> list[str]:
        """A one-screen table of what was verified."""
        rows = [("chapter", "questions", "values", "covered", "tests", "status")]
        totals = ChapterSummary("total")
        for c in self.chapters:
            status = "ok" if c.covered == c.values and c.passed == c.tests else "FAIL"
            if not self.coverage_known:  # the tests did not run: nothing is known to be covered or to pass
                status = "FAIL"
            rows.append((c.chapter, str(c.questions), str(c.values), self.ratio(c.covered, c.values),
                         self.ratio(c.passed, c.tests, whole_known=False), status))
            for name in ("questions", "values", "covered", "tests", "passed"):
                setattr(totals, name, getattr(totals, name) + getattr(c, name))
        rows.append(("total", str(totals.questions), str(totals.values), self.ratio(totals.covered, totals.values),
                     self.ratio(totals.passed, totals.tests, whole_known=False), "ok" if self.ok else "FAIL"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.insert(-1, "  ".join("-" * w for w in widths))
        checked, unreadable = self.displayed
        lines.append(f"display: {checked} printed values read back and matched"
                     + (f", {unreadable} symbolic ones not readable" if unreadable else ""))
        lines.append(f"lint: {sum(1 for f in self.failures if 'typed into a solution' in f.message)} typed "
                     f"numbers, {self.literals} marked \\lit")
        lines.append(self.pdf_line())
        if self.pages:
            counts = Counter(self.pages.values())
            lines.append(f"HTML: {counts['current']} of {len(self.pages)} pages current, "
                         f"{self.read_from_html} printed values read back from their MathML")
        lines.append("sensitivity: not measured" if self.sensitivity is None
                     else "sensitivity: {}/{} printed values pinned".format(*self.sensitivity))
        if self.unchecked:
            lines.append(f"not checked: {'; '.join(self.unchecked)} (`invoke verify` checks everything)")
        verdict = "VERIFIED" if self.ok else "NOT VERIFIED"
        lines.append(f"value coverage {coverage_text(totals.covered, totals.values, self.coverage_known)}, "
                     f"{len(self.failures)} problem(s): "
                     + (f"chapter {self.scope} {verdict}" if self.scope else verdict))
        return lines

    def pdf_line(self) -> str:
        """How many PDFs are current, and what the others are: stale, modified, not verifiable."""
        if not self.pdfs:
            return "PDFs: none in build/ (nothing to check for drift; run `invoke pdf`)"
        counts = Counter(self.pdfs.values())
        others = [f"{counts[status]} {PDF_STATUSES.get(status, status)}"
                  for status in sorted(counts, key=lambda s: [*PDF_STATUSES, s].index(s)) if status != "current"]
        return f"PDFs: {counts['current']} of {len(self.pdfs)} current" + (f" ({', '.join(others)})" if others else "")


def coverage_text(covered: int, values: int, known: bool = True) -> str:
    """``99% (441/442)``: rounded down, so that 100% means every value, never almost every one."""
    if not known:
        return "not measured"
    if not values:
        return "100% (no printed values)"
    return f"{100 * covered // values}% ({covered}/{values})"


def verify(project: Project, pdf: Path | None = None, chapter: str | None = None, fresh: bool = False) -> Report:
    """Run every check; the report lists what failed (an empty list means verified).

    ``chapter`` checks that chapter alone (its tests, values and PDFs); ``fresh`` reuses no cached
    result. A check that cannot run (the tests crash, a value fails while the chapters render) is a
    failure of the report like any other, so the summary is printed on every outcome.
    """
    from solman.values.cache import bypassed
    from solman.build.outputs import lock

    if pdf is not None and chapter is not None:
        raise ConfigError("--pdf and --chapter exclude each other",
                          hint="--pdf checks the PDF it is given, whatever chapters it holds: drop --chapter")
    if pdf is not None:
        check_pdf_argument(project, pdf)  # at once: before the tests run or anything is built
    scope = [project.chapter(chapter)] if chapter is not None else list(project.chapters)
    # Shared: verify reads build/ and may run beside other readers, never beside a build. To check a
    # copy whose PDF is not in build/, it builds a reference (build_reference): that build upgrades
    # this hold to exclusive and back (see outputs.lock), and verify uses only the record it returns.
    with lock(project.build, exclusive=False), bypassed() if fresh else contextlib.nullcontext():
        return checked(project, pdf, scope, chapter)


def checked(project: Project, pdf: Path | None, scope: list[Chapter], chapter: str | None = None) -> Report:
    """``verify()``'s checks of the chapters ``scope`` (all, or ``chapter`` alone), with the lock held."""
    report = Report(scope=chapter, unchecked=unchecked(project, chapter))
    try:
        results = test_results(project, scope)  # from the cache where nothing they depend on changed
    except SolmanError as error:
        report.failures += errors_of(error)
        report.coverage_known = False
        results = TestResults()
    else:
        report.failures += failed_tests(project, results)
    try:
        targets = plan_targets(project, chapter)
        chapters = render_chapters(project, targets)
    except SolmanError as error:  # nothing below can be checked without the sources
        report.failures += errors_of(error)
        report.coverage_known = False
        return report
    sensitivity, unpinned = sensitivity_check(project, chapters, results) if report.coverage_known else (None, [])
    report.failures += unpinned
    report.sensitivity = sensitivity.figure() if sensitivity is not None else None
    try:
        sources = assemble(project, targets, chapters, results, sensitivity=sensitivity)
    except SolmanError as error:
        report.failures += errors_of(error)
        report.coverage_known = False
        return report
    report.chapters, coverage = coverage_check(project, sources, results, scope)
    if report.coverage_known:  # without test results, "untested" would be a guess
        report.failures += coverage
        report.failures += questionless_tests(project, chapters, results)
    try:
        display, report.displayed = display_check(project, chapters, targets)
    except SolmanError as error:  # the printed objects could not be computed again
        display = errors_of(error)
    report.failures += display
    lint, report.literals = lint_check(project, scope)
    report.failures += lint
    pdfs = [pdf] if pdf else published_pdfs(project.build, targets if chapter else None)
    pages = [p for p in pdfs if p.suffix == ".html"] if pdf else published_pages(project.build, targets if chapter else None)
    pdfs = [p for p in pdfs if p.suffix != ".html"]
    try:
        if pdfs:
            require_tex(only=("poppler-utils",))
        report.pdfs, drift = drift_check(project, sources, pdfs, published=pdf is None)
        report.failures += drift
        current = [p for p in pdfs if report.pdfs.get(str(p)) == "current"]
        if pdf is None:
            report.failures += quality_check(project, current)
        report.pages, drift = page_drift(project, sources, pages)
        report.failures += drift
        current_pages = [p for p in pages if report.pages.get(str(p)) == "current"]
        shown, report.read_from_html = page_display(project, chapters, current_pages)
        report.failures += shown
        report.failures += leak_check(project, sources, current, scope, current_pages)
        report.failures += page_check(project.root, chapters, current, project.relative)
    except SolmanError as error:
        report.failures += errors_of(error)
    return report


def unchecked(project: Project, chapter: str | None) -> list[str]:
    """What checking ``chapter`` alone leaves out: the combined manual and the other chapters."""
    if chapter is None:
        return []
    others = [c.id for c in project.chapters if c.id != chapter]
    manual = [t.output for t in plan_targets(project, manual=True)]
    return [f"the combined manual ({', '.join('build/' + o for o in manual)})"] + (
        [f"chapter{'s' if len(others) > 1 else ''} {', '.join(others)}"] if others else [])


def verify_folder(root: Path, pdf: Path | None = None, chapter: str | None = None, fresh: bool = False) -> Report:
    """``verify()`` of the project in ``root``; a project that does not load is the report's one failure."""
    from solman.project.settings import load_project

    try:
        project = load_project(root)
    except SolmanError as error:
        return Report(failures=errors_of(error), coverage_known=False)
    return verify(project, pdf, chapter, fresh)


def errors_of(error: SolmanError) -> list[SolmanError]:
    """The single errors of ``error``, which may be several reported together."""
    return list(error.errors) if isinstance(error, Errors) else [error]


def check_pdf_argument(project: Project, pdf: Path) -> None:
    """``--pdf`` must name a PDF file: a missing path, a folder or another kind of file is a usage error."""
    location = Location.of(pdf, None, project.root)
    hint = "give the path of a PDF file, for example one downloaded from the course page"
    if pdf.is_dir():
        raise ConfigError("a folder, not a PDF (given with --pdf)", location=location, hint=hint)
    try:
        with open(pdf, "rb") as handle:
            head = handle.read(len(PDF_MAGIC))
    except FileNotFoundError:
        raise ConfigError("no such file (given with --pdf)", location=location, hint=hint) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror} (given with --pdf)", location=location,
                          hint=hint) from None
    if head != PDF_MAGIC and pdf.suffix in (".html", ".htm"):
        if page_provenance(pdf) is None:
            raise ConfigError("not a page of solman's HTML edition: it carries no solman provenance (given with --pdf)",
                              location=location, hint="give a page that `invoke html` wrote, saved as it was served")
        return
    if head != PDF_MAGIC:
        raise ConfigError(f"not a PDF: it does not start with {PDF_MAGIC.decode()} (given with --pdf)",
                          location=location, hint=hint)


# --- 1. tests ----------------------------------------------------------------------------------

# --- 2. coverage -------------------------------------------------------------------------------

def coverage_check(project: Project, sources: Sources, results: TestResults, scope: list[Chapter] | None = None
                   ) -> tuple[list[ChapterSummary], list[SolmanError]]:
    exercised = results.covered()
    summaries = []
    for chapter in project.chapters if scope is None else scope:
        uses = [u for (cid, _), r in sources.chapters.items() if cid == chapter.id for u in r.uses]
        keys = {u.key for u in uses}
        chapter_tests = results.of_chapter(chapter)
        solutions = sources.chapters.get((chapter.id, "solutions"))
        summaries.append(ChapterSummary(
            chapter.id, questions=len(solutions.questions) if solutions else 0, values=len(keys),
            covered=len(keys & exercised), tests=len(chapter_tests),
            passed=sum(1 for t in chapter_tests if t["outcome"] == "passed")))
    return summaries, untested_values(project, sources.chapters, results)


# --- 3. display contract -----------------------------------------------------------------------

def display_check(project: Project, chapters: dict[tuple[str, str], Rendered], targets: list[Target]
                  ) -> tuple[list[SolmanError], tuple[int, int]]:
    """Every printed value read back from its LaTeX; the printed objects, which reading needs, are
    brought back only for chapter editions whose results are not cached (see ``display_results``)."""
    found = display_results(project, chapters)
    missing = [k for k in chapters if k not in found]
    if missing:
        needed = [t for c in sorted({c for c, _ in missing}) for t in plan_targets(project, c)
                  if (c, t.edition) in missing]
        found.update(display_results(project, render_chapters(project, needed, objects=True)))
    failures = []
    for (chapter_id, edition), (findings, _, _) in sorted(found.items()):
        for i, problem in findings:
            use = chapters[chapter_id, edition].uses[i]
            failures.append(VerificationFailure(
                f"value '{use.expr}' is printed as {use.latex!r} with {use.filter}, which {problem}",
                location=use_location(project, use),
                hint="the filter that printed it is wrong: fix it in solman/values/filters.py, or print the value another way"))
    return unique(failures), (sum(f[1] for f in found.values()), sum(f[2] for f in found.values()))


def display_results(project: Project, chapters: dict[tuple[str, str], Rendered]
                    ) -> dict[tuple[str, str], tuple[list[tuple[int, str]], int, int]]:
    """Per chapter edition: the findings (index of the use, problem), and how many prints were read back
    and not readable. Cached under the edition's render key (its values, templates, settings, solman);
    computed where its uses carry their objects (a fresh render), left out where they do not."""
    from solman.values.cache import ChapterCache

    found = {}
    for (chapter_id, edition), rendered in chapters.items():
        cache = ChapterCache(project, project.chapter(chapter_id))
        key = cache.render_key(edition)
        stored = cache.load(f"display-{edition}", key)
        if stored is None and all(u.obj is not None or u.latex is None for u in rendered.uses):
            index = {id(use): i for i, use in enumerate(rendered.uses)}
            findings, checked, unreadable = check_display(rendered.uses, language(project.language))
            stored = ([(index[id(f.use)], f.problem) for f in findings], checked, unreadable)
            cache.store(f"display-{edition}", key, stored)
        if stored is not None:
            found[chapter_id, edition] = stored
    return found


def head_start(project: Project, chapters: dict[tuple[str, str], Rendered]) -> None:
    """What ``invoke pdf`` does for the next ``invoke verify`` while LaTeX runs: the display results of
    the chapters it rendered afresh (their objects are at hand) and the lint, into their caches."""
    try:
        display_results(project, chapters)
        lint_results(project, sorted({project.chapter(c) for c, _ in chapters}, key=lambda c: c.id))
    except Exception as exc:  # noqa: BLE001 (only a head start: verify computes what is missing itself)
        log.debug("could not check the display and lint ahead of verify: %s", exc)


# --- 4. lint -----------------------------------------------------------------------------------

def lint_check(project: Project, scope: list[Chapter]) -> tuple[list[SolmanError], int]:
    """The typed-number lint of the chapters' templates, cached under the template's hash and solman's."""
    findings, literals = lint_results(project, scope)
    failures = [VerificationFailure(
        f"{f.what} typed into a solution: {f.text}", location=Location.of(f.template, f.line, project.root),
        hint="print it from a value (\\VAR{ name }), or, if it is not a result (a year, a count quoted from "
        "the source), mark it as intended with \\lit{...}") for f in findings]
    return failures, literals


def lint_results(project: Project, scope: list[Chapter]) -> tuple[list, int]:
    """The lint's findings and ``\\lit`` count over the chapters, cached under each template's hash and solman's."""
    from solman.values.cache import ChapterCache, engine_hash, file_hash
    from solman.checking.lint import lint_template

    findings, literals = [], 0
    for chapter in scope:
        cache = ChapterCache(project, chapter)
        key = file_hash(chapter.template) + engine_hash() + project.language
        stored = cache.load("lint", key)
        if stored is None:
            stored = lint_template(chapter.template, language(project.language))
            cache.store("lint", key, stored)
        findings += stored[0]
        literals += stored[1]
    return findings, literals


# --- 5. drift ----------------------------------------------------------------------------------

def published_pdfs(build: Path, targets: list[Target] | None = None) -> list[Path]:
    """The PDFs in ``build/``; with ``targets``, only theirs (those that exist)."""
    if targets is not None:
        return [build / t.output for t in targets if (build / t.output).is_file()]
    return sorted(build.glob("*.pdf")) + sorted((build / "chapters").glob("*.pdf"))


def drift_check(project: Project, sources: Sources, pdfs: list[Path], published: bool
                ) -> tuple[dict[str, str], list[SolmanError]]:
    """Each PDF's status and one error for all stale PDFs with what changed.

    A PDF is current exactly when it is, byte for byte, the PDF today's sources build for its
    target (builds are reproducible). Its provenance says which target and inputs it claims;
    inputs that differ from today's make it stale; otherwise its sha256 is compared with that of
    the PDF those inputs build: the one ``build/manifest.json`` records, or, for a copy whose
    build is not recorded (``build/`` cleaned, the target never built), one built now.
    Statuses: "current", "stale", "modified" (its bytes are not those built), "unknown".

    ``published``: the PDFs are those of ``build/``, which must also match ``build/manifest.json``.
    """
    manifest = load_manifest(project.build / "manifest.json") if published else manifest_if_any(project)
    built: dict[str, dict] = dict(manifest["outputs"])  # the record of each digest's PDF, by digest
    status: dict[str, str] = {}
    failures: list[SolmanError] = []
    stale: list[str] = []
    changes: dict[str, Location | None] = {}
    for pdf in pdfs:
        shown = project.relative(pdf)
        provenance = read_provenance(pdf) if pdf.is_file() else None
        why = None
        if not pdf.is_file():
            why = "it does not exist"
        elif provenance is None:
            why = "it is not a solman PDF (it carries no solman provenance)"
        elif published and provenance["digest"] not in manifest["outputs"]:
            why = "it was not built from this project's build/ (its digest is not in build/manifest.json)"
        elif provenance["target"] not in sources.inputs:
            why = "its chapter is no longer part of the project"
        if provenance is not None and provenance.get("draft"):
            status[str(pdf)] = "draft"
            failures.append(VerificationFailure(
                f"{shown} is a DRAFT: it was built with --draft while a test failed or a printed value was untested",
                hint="a draft is never published: fix what `invoke pdf` reports, then build without --draft"))
            continue
        if why:
            status[str(pdf)] = "unknown"
            failures.append(DriftError(f"{shown} cannot be verified: {why}", hint="run `invoke pdf` to rebuild it"))
            continue
        sha = sha256(pdf.read_bytes())
        record = built.get(provenance["digest"])
        if record is not None and sha != record["pdf"]:
            status[str(pdf)] = "modified"
            failures.append(modified(project, pdf, provenance, record))
        elif sources.inputs[provenance["target"]] != provenance["inputs"]:
            status[str(pdf)] = "stale"
            stale.append(shown)
            for change, location in explain_drift(project, provenance, sources):
                changes.setdefault(change, location)
        elif record is None:  # today's inputs, but no record of the PDF they build: build it
            try:
                built[provenance["digest"]] = record = build_reference(project, provenance)
            except SolmanError as error:
                status[str(pdf)] = "unknown"
                failures.append(DriftError(f"{shown} cannot be verified: today's sources do not build "
                                           f"({error.category}: {error.message})", location=error.location,
                                           details=error.details, hint="fix the build, then verify again"))
                continue
            if record["digest"] != provenance["digest"]:
                status[str(pdf)] = "unknown"
                failures.append(DriftError(f"{shown} cannot be verified: the sources changed while it was checked",
                                           hint="run `invoke verify` again"))
            elif sha != record["pdf"]:
                status[str(pdf)] = "modified"
                failures.append(modified(project, pdf, provenance, record))
            else:
                status[str(pdf)] = "current"
        else:
            status[str(pdf)] = "current"
    if stale:
        first = next((location for location in changes.values() if location), None)
        failures.insert(0, DriftError(
            f"{len(stale)} PDF(s) are stale, built from sources that have changed since: {', '.join(stale)}",
            location=first, details=list(changes), hint="run `invoke pdf` to rebuild"))
    return status, failures


def manifest_if_any(project: Project) -> dict:
    """``build/manifest.json``, or an empty one when it is absent or unreadable (a copy is then built anew)."""
    try:
        return load_manifest(project.build / "manifest.json")
    except SolmanError:
        return empty_manifest()


def build_reference(project: Project, provenance: dict) -> dict:
    """Build the target ``provenance`` names from today's sources; the manifest's record of its PDF."""
    from solman.build.pipeline import build

    target = next(t for t in plan_targets(project) if t.name == provenance["target"])
    log.info("building %s from today's sources, to compare the copy with it", target.output)
    return build(project, **target.selection()).records[target.output]


def modified(project: Project, pdf: Path, provenance: dict, record: dict) -> DriftError:
    """The error for a PDF whose bytes are not those its inputs build (``record`` is the PDF they build)."""
    shown = project.relative(pdf)
    details = []  # the commit and the tool versions are printed in the PDF but are not among its inputs
    if provenance.get("commit") != record.get("commit"):
        details.append(f"it records commit {provenance.get('commit')}, the PDF it was compared with "
                       f"{record.get('commit')}: that alone changes the bytes")
    old_tools, new_tools = provenance.get("tools") or {}, record.get("tools") or {}
    tools = [f"{name} {old_tools.get(name)} vs {new_tools.get(name)}"
             for name in sorted(old_tools.keys() | new_tools.keys()) if old_tools.get(name) != new_tools.get(name)]
    if tools:
        details.append(f"it records other tool versions than the PDF it was compared with: {', '.join(tools)}")
    published = pdf.resolve() == (project.build / record["output"]).resolve()
    return DriftError(f"{shown} was modified after it was built", details=details,
                      hint="run `invoke pdf` to rebuild it" if published else
                      f"use build/{record['output']}, the PDF its sources build (`invoke pdf` makes it if missing)")


def explain_drift(project: Project, provenance: dict, sources: Sources) -> list[tuple[str, Location | None]]:
    """Exactly what changed between the build recorded in ``provenance`` and today: values whose printed
    LaTeX changed, template text, project files the values and tests read, test outcomes, shells."""
    changes = []
    edition = provenance["edition"]
    old_inputs = provenance["inputs"]
    fresh_inputs = sources.inputs[provenance["target"]]
    text_changed = set()
    for chapter_id, old in provenance["chapters"].items():
        fresh = sources.chapters[chapter_id, edition]
        if sha256(fresh.text.encode()) == old_inputs[old["name"]]:
            continue
        text_changed.add(chapter_id)
        changed = changed_values(old["values"], fresh.uses)
        if changed:
            changes.extend((f"chapter {chapter_id}: {line}", None) for line in changed)
        else:
            where = first_changed_line(project, fresh, old_inputs[old["name"]])
            changes.append((f"chapter {chapter_id}: text changed{f' at {where}' if where else ''}", where))
    for name in sorted(old_inputs.keys() | fresh_inputs.keys()):
        before, after = old_inputs.get(name), fresh_inputs.get(name)
        if before == after or name.startswith("chapters/"):
            continue
        if name.startswith(SOURCE):
            path = name[len(SOURCE):]
            what = ("is no longer read" if after is None else "is now read" if before is None
                    else "was deleted" if after == "<missing>" else "changed")
            changes.append((f"{path} {what}", Location(path)))
        elif name.startswith(("status/", "appendix/")):
            chapter = Path(name).stem
            lines = changed_outcomes(provenance.get("tests", {}).get(chapter, {}), sources.outcomes.get(chapter, {}))
            if not lines and chapter not in text_changed:  # which test calls which value
                lines = ["verification appendix changed"]
            changes.extend(change for line in lines if (change := (f"chapter {chapter}: {line}", None)) not in changes)
        elif before is None or after is None:
            changes.append((f"{'no longer ' if after is None else ''}part of the build: {name}", None))
        else:
            kind = "style" if name.endswith(".sty") else "document shell" if name.endswith(".tex") else "file"
            changes.append((f"{kind} changed: {name}", None))
    return changes


def changed_outcomes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """One line per test whose outcome changed, that is new, or that is gone."""
    lines = []
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            lines.append(f"test {name} was removed")
        elif name not in before:
            lines.append(f"test {name} is new ({after[name]})")
        elif before[name] != after[name]:
            lines.append(f"test {name} {before[name]} then, {after[name]} now")
    return lines


def changed_values(old: list[dict], fresh: list[Use]) -> list[str]:
    """One line per value whose printed LaTeX changed (old and new), or that is printed or not any more.

    Prints are compared by what they print (value, expression, filter), wherever they stand: a print
    moved to another question is a text change, and a condition (which prints nothing) is not a print.
    """
    def index(uses) -> tuple[dict[tuple, str], dict[tuple, set[str]]]:
        printed, where = {}, defaultdict(set)
        for use in uses:
            if use["latex"] is not None:
                key = (use["value"], use["expr"], use["filter"])
                printed[key] = use["latex"]
                where[key].add(use["question"] or "chapter text")
        return printed, where

    before, _ = index(old)
    after, where = index(u.record() for u in fresh)
    lines = {}
    for key in sorted(before.keys() | after.keys()):
        name, expr, spec = key
        shown = expr if spec == "latex" else f"{expr} | {spec}"
        if key not in after:
            lines.setdefault(name, f"value '{name}' is no longer printed ({shown})")
        elif key not in before:
            lines.setdefault(name, f"value '{name}' is now printed ({shown}, in {', '.join(sorted(where[key]))})")
        elif before[key] != after[key]:
            lines[name] = (f"value '{name}' changed (printed in {', '.join(sorted(where[key]))}): {shown} prints "
                           f"{clipped(after[key])}, was {clipped(before[key])}")
    return list(lines.values())


def clipped(latex: str, width: int = 40) -> str:
    return latex if len(latex) <= width else latex[:width - 3] + "..."


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


# --- 6. quality gates --------------------------------------------------------------------------

def quality_check(project: Project, current_pdfs: list[Path]) -> list[SolmanError]:
    """LaTeX warnings recorded when the current PDFs were built: each one once, at its line."""
    manifest = load_manifest(project.build / "manifest.json")
    failures = []
    for pdf in current_pdfs:
        record = manifest["outputs"][read_digest(pdf)]
        for warning in record["warnings"]:
            if warning["kind"] == "page-split":  # page_check reads them from the PDF itself
                continue
            location = Location.of(project.root / warning["file"], warning["line"], project.root) \
                if warning["file"] else None
            failures.append(VerificationFailure(
                f"LaTeX warning: {warning['what']}", location=location,
                hint="a finished chapter has no overfull boxes, undefined references or missing characters"))
    return unique(failures)


# --- 7. separation of the editions -------------------------------------------------------------
#
# The problems edition may show a solution's words only where the solutions edition shows them
# outside its solutions too: a solution that quotes its question is fine; a phrase that only a
# solution says, found in the problems edition, is a leak. Texts are compared as normalised words
# (LaTeX to text, math dropped, lower case, line breaks, punctuation and numbers ignored), in runs
# of WINDOW words. Values are compared by their uses: a value the solutions edition prints only in
# solutions, or any question's answer=, must not be printed in the problems edition, and the LaTeX
# of a solution-only number must not be typed into it either.

SOLUTION_BLOCK = re.compile(r"^\\begin\{solution\}\{q:[^:\n]*:(?P<question>[^\n]*)\}\n(?P<body>.*?)\\end\{solution\}",
                            re.MULTILINE | re.DOTALL)
LEAK_HINT = ("a problems edition shows only what the solutions edition shows outside its solutions: move the text "
             "or value into solution(), or state it in the question for both editions")


@dataclass
class SolutionText:
    """One solution of the solutions edition: its question, its words and where it starts in the ``.tex``."""

    chapter: str
    question: str
    body: str
    first_line: int  # output line of the body's first line
    rendered: Rendered
    words: list[str] = field(default_factory=list)

    def phrases(self) -> dict[tuple[str, ...], int]:
        return shingles(self.words)

    def location(self, project: Project, index: int) -> Location | None:
        """The template line of the word ``index`` of this solution."""
        line = self.first_line + line_of_word(self.body, index) - 1
        origin = self.rendered.sources.locate(line)
        return Location.of(origin[0], origin[1], project.root) if origin else None


def leak_check(project: Project, sources: Sources, current_pdfs: list[Path], scope: list[Chapter] | None = None,
               pages: list[Path] = ()) -> list[SolmanError]:
    """Solution text or values in the problems edition: its LaTeX, its current PDFs and its HTML ``pages``."""
    failures: list[SolmanError] = []
    statements: set[tuple[str, ...]] = set()  # every phrase the solutions edition shows outside its solutions
    solutions: list[SolutionText] = []
    for chapter in project.chapters if scope is None else scope:
        problems = sources.chapters[chapter.id, "problems"]
        rendered = sources.chapters[chapter.id, "solutions"]
        if r"\begin{solution}" in problems.text:
            failures.append(VerificationFailure(f"chapter {chapter.id}: the problems edition contains a solution",
                                                hint=LEAK_HINT))
        found = solution_texts(chapter.id, rendered)
        own = set(shingles(words(plain_text(SOLUTION_BLOCK.sub("\n", rendered.text)))))
        statements |= own
        solutions += found
        shown_words = words(plain_text(problems.text))
        shown = shingles(shown_words)
        for solution in found:
            leaked = [(i, phrase) for phrase, i in solution.phrases().items() if phrase not in own and phrase in shown]
            if leaked:
                index, phrase = min(leaked)
                where = line_of_word(problems.text, shown[phrase])
                origin = problems.sources.locate(where)
                failures.append(VerificationFailure(
                    f"chapter {chapter.id}: solution text is in the problems edition: question {solution.question}'s "
                    f"solution says \"{leaked_phrase(solution.words, index, {i for i, _ in leaked})}\"",
                    location=solution.location(project, index), hint=LEAK_HINT,
                    details=[f"the problems edition shows it at {problems.name}:{where}"
                             + (f" ({Location.of(origin[0], origin[1], project.root)})" if origin else "")]))
        failures += value_leaks(project, chapter.id, rendered, problems)
    for shell in sources.shells.values():  # title pages, contents: the same in both editions, no solutions
        statements |= set(shingles(words(plain_text(shell.text))))
    shown_texts = [(pdf, lambda pdf=pdf: dehyphenate(pdf_text(pdf))) for pdf in current_pdfs
                   if read_provenance(pdf).get("edition") == "problems"]
    shown_texts += [(page, lambda page=page: page_text(page)) for page in pages
                    if (page_provenance(page) or {}).get("edition") == "problems"]
    for pdf, text in shown_texts:
        shown = set(shingles(words(text())))
        for solution in solutions:
            leaked = [(i, phrase) for phrase, i in solution.phrases().items()
                      if phrase not in statements and phrase in shown]
            if leaked:
                index, _ = min(leaked)
                failures.append(VerificationFailure(
                    f"{project.relative(pdf)} shows solution text: question {solution.question}'s solution "
                    f"(chapter {solution.chapter}) says \"{leaked_phrase(solution.words, index, {i for i, _ in leaked})}\"",
                    location=solution.location(project, index), hint=LEAK_HINT))
    return unique(failures)


def solution_texts(chapter: str, rendered: Rendered) -> list[SolutionText]:
    """The solutions of a solutions edition, each with its question and first line in the ``.tex``."""
    found = []
    for match in SOLUTION_BLOCK.finditer(rendered.text):
        first = rendered.text.count("\n", 0, match.start("body")) + 1
        found.append(SolutionText(chapter, match["question"], match["body"], first, rendered,
                                  words(plain_text(match["body"]))))
    return found


def value_leaks(project: Project, chapter: str, solutions: Rendered, problems: Rendered) -> list[SolmanError]:
    """Values the problems edition prints that the solutions edition keeps to its solutions, and answers."""
    failures: list[SolmanError] = []
    answers = {u.value: u.question for u in [*solutions.uses, *problems.uses] if u.role == "answer"}
    outside = {u.value for u in solutions.uses if u.latex is not None and u.role != "solution"}
    only_solutions = {u.value for u in solutions.uses if u.latex is not None and u.role == "solution"} - outside
    questions = {q.id: q for q in problems.questions}
    for use in problems.uses:
        if use.role == "answer":
            continue
        where = f" (question {use.question})" if use.question else ""
        location = use_location(project, use) or question_location(project, questions.get(use.question))
        if use.value in answers:
            shows = "prints" if use.latex is not None else "decides what it shows with"
            failures.append(VerificationFailure(
                f"chapter {chapter}: the problems edition {shows} '{use.expr}'{where}, the answer of question "
                f"{answers[use.value]}", location=location, hint=LEAK_HINT))
        elif use.latex is not None and use.value in only_solutions:
            failures.append(VerificationFailure(
                f"chapter {chapter}: the problems edition prints '{use.expr}'{where}, which the solutions edition "
                f"prints only in solutions", location=location, hint=LEAK_HINT))
    notation = language(project.language)
    typed = [f for f in problem_numbers(project.chapter(chapter).template, notation) if plain_number(f.text, notation)]
    for use in solutions.uses:
        number = plain_number(use.latex, notation) if use.value in only_solutions and use.latex is not None else None
        if number is None or not distinctive(number):
            continue
        for finding in typed:
            if plain_number(finding.text, notation) == number:
                failures.append(VerificationFailure(
                    f"chapter {chapter}: {number} is typed into the problems edition, and only the solution of "
                    f"question {use.question} prints it ('{use.expr}')", hint=LEAK_HINT,
                    location=Location.of(finding.template, finding.line, project.root)))
    return failures


def distinctive(number: str) -> bool:
    """Whether a printed number is unlikely to be typed by chance: a decimal with three significant
    digits or more (trailing zeros aside: 0.500 is not), or an integer of five digits or more."""
    if "." in number:
        return len(number.lstrip("-").replace(".", "").strip("0")) >= 3
    return len(number.lstrip("-")) >= 5


def plain_number(latex: str, notation: Language = ENGLISH) -> str | None:
    r"""``12\,345`` as ``12345``, ``-0.5`` as is, ``-0{,}5`` (or ``-0,5`` typed) as ``-0.5`` where the comma
    marks decimals; None for what is not a plain number. In English ``{,}`` groups thousands."""
    if notation.decimal != ".":
        latex = latex.replace(notation.decimal, ".").replace(",", ".")
    number = re.sub(r"\\,|\\!|\s|\{,\}", "", latex)
    return number if re.fullmatch(r"-?\d+(?:\.\d+)?", number) else None


def question_location(project: Project, question) -> Location | None:
    if question is None or question.template is None:
        return None
    return Location.of(project.root / question.template, question.line, project.root)


def plain_text(latex: str) -> str:
    converter, walker = _text_converter()
    logging.getLogger("pylatexenc").setLevel(logging.ERROR)  # drafts are not its business to lecture
    try:
        return converter.latex_to_text(latex, latex_context=walker)
    except Exception:  # pylatexenc is lenient, but a half-written draft may still defeat it
        return re.sub(r"\\[a-zA-Z]+|[{}$]", " ", latex)


@functools.cache
def _text_converter():
    """pylatexenc's converter, told solman.sty's macros whose argument is printed text (else it would run
    ``that\\corrected{the exam}`` into one word "thatthe", and the footnote would not count as statement)."""
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
    from pylatexenc.latexwalker import get_default_latex_context_db as walker_context
    from pylatexenc.macrospec import MacroSpec

    text, walker = get_default_latex_context_db(), walker_context()
    text.add_context_category("solman", prepend=True, macros=[MacroTextSpec("corrected", simplify_repl=" %(1)s ")])
    walker.add_context_category("solman", prepend=True, macros=[MacroSpec("corrected", "{")])
    return LatexNodes2Text(math_mode="remove", latex_context=text), walker


def words(text: str) -> list[str]:
    """The words of a text, as the editions are compared: lower case, letters only (two or more)."""
    return re.findall(r"[^\W\d_]{2,}", unicodedata.normalize("NFKC", text).lower())


def dehyphenate(text: str) -> str:
    """PDF text with words hyphenated at line ends joined again."""
    return re.sub(r"(?<=[^\W\d_])-\n\s*(?=[^\W\d_])", "", text)


def shingles(sequence: list[str]) -> dict[tuple[str, ...], int]:
    """Every run of WINDOW words, with the index of its first occurrence."""
    found: dict[tuple[str, ...], int] = {}
    for i in range(len(sequence) - WINDOW + 1):
        found.setdefault(tuple(sequence[i:i + WINDOW]), i)
    return found


def line_of_word(latex: str, index: int) -> int:
    """The line of ``latex`` (1-based) that holds its word ``index``, by bisecting on whole lines."""
    lines = latex.split("\n")
    low, high = 1, len(lines)
    while low < high:
        middle = (low + high) // 2
        if len(words(plain_text("\n".join(lines[:middle])))) > index:
            high = middle
        else:
            low = middle + 1
    return low


def leaked_phrase(sequence: list[str], start: int, leaked: set[int]) -> str:
    """The words of the leaked run that starts at ``start``, as long as it goes on."""
    end = start
    while end + 1 in leaked:
        end += 1
    return " ".join(sequence[start:end + WINDOW])


def unique(failures: list[SolmanError]) -> list[SolmanError]:
    """The failures with duplicates (same place, same message) removed."""
    seen = {}
    for failure in failures:
        seen.setdefault((str(failure.location), failure.message), failure)
    return list(seen.values())
