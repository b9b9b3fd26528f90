"""``invoke pdf``: render, compile and publish, in that order; nothing is published unless all succeed.

A build first checks the stamps: when every requested PDF was built from exactly today's
sources, it stops there, without importing the renderer, sympy or numpy. Otherwise chapters
are rendered (from the cache where their sources did not change), the tests the appendix
reports are run (likewise), and only targets whose inputs changed are compiled.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from solman.values.cache import hashes_taken, unchanged
from solman.errors import LatexError, Location, SolmanError, disk_full, raise_collected, writing_failure, writing_in
from solman.project.settings import Project
from solman.build.stamps import published, target_stamps, up_to_date
from solman.project.targets import Target, plan_targets, provenance_file

if TYPE_CHECKING:
    from solman.latex.latexmk import Compiled
    from solman.checking.testrun import TestResults
    from solman.rendering.sources import Sources
    from solman.latex.texlog import LogEntry

log = logging.getLogger("solman")

OVERFULL_TOLERANCE_PT = 1.0


@dataclass
class Built:
    folder: Path  # build/
    targets: list[Target]
    compiled: dict[str, Compiled] = field(default_factory=dict)  # the targets compiled this time
    warnings: list[str] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)  # seconds spent rendering, testing, compiling
    records: dict[str, dict] = field(default_factory=dict)  # the manifest's record of each PDF, by output

    def pages(self, target: Target) -> int:
        """The PDF's page count, as the manifest recorded it when the PDF was compiled."""
        return self.records[target.output]["pages"]


def build(project: Project, *, chapter: str | None = None, edition: str | None = None, manual: bool = False,
          jobs: int | None = None, draft: bool = False) -> Built:
    """Build the PDFs of the whole manual, or of one chapter, one edition, or the manual alone.

    Nothing is published unless every test of the chapters built passes and every value they print is
    called by a passing test; ``draft`` publishes anyway, with DRAFT across every page.
    """
    targets = plan_targets(project, chapter, edition, manual)
    from solman.build.outputs import lock

    with hashes_taken() as hashed:  # the sources as they are before the build reads them
        stamps = target_stamps(project, targets)
    with writing_in(project.build, project.root), lock(project.build, exclusive=False):  # the results as one
        # set: not while another build publishes (the lock is a file in build/: a failure to make it is located)
        records = up_to_date(project, targets, stamps, draft)
    if records is not None:
        log.info("up to date: nothing to build")
        return Built(project.build, targets, records=records)
    from solman.latex.latexmk import source_date_epoch
    from solman.build.manifest import load_manifest, records_by_output
    from solman.build.outputs import publish, write_if_changed
    from solman.rendering.sources import Sources, assemble, render_chapters
    from solman.checking.testrun import TestResults, test_results
    from solman.latex.toolchain import require_tex

    require_tex()
    if project.sandbox:
        from solman.latex.sandbox import require_sandbox

        require_sandbox()
    else:
        log.info("LaTeX runs without a sandbox (sandbox = false): it can read and write any file you can")
    stages = Stopwatch()
    tex = project.build / "tex"
    # Exclusive: this build writes build/. Called with the lock already held (verify --pdf holds it
    # shared and builds a reference PDF; export holds it exclusively), the hold is shared, upgraded.
    with writing_in(project.build, project.root), lock(project.build, exclusive=True), \
            ThreadPoolExecutor(max_workers=2) as background, \
            Compiler(tex, project.year, jobs, stages, project.sandbox, project.formats) as compiler:
        built_chapters = [project.chapter(c) for c in dict.fromkeys(c for t in targets for c in t.chapters)]
        log.info("rendering %d chapter(s)", len(built_chapters))
        tests = background.submit(test_results, project, built_chapters)
        background.submit(warm_formats, project, tex, targets)  # also while the chapters render
        with stages("render"):  # while the tests run
            chapters = render_chapters(project, targets)
        manifest = load_or_empty(project, load_manifest)
        sources = Sources(chapters=chapters)
        current: dict[str, dict | None] = {}
        results, marked = None, False
        if draft:  # whether the PDFs say DRAFT depends on the checks: know before compiling anything
            with stages("waiting for the tests"):
                results = tests.result()
            marked = passes_checks(project, chapters, results, draft) is False
        # The problems edition prints no test results: unless --draft, it compiles while the tests still
        # run, and is published only if they pass.
        for group in ([t for t in targets if t.edition != "solutions"], [t for t in targets if t.edition == "solutions"]):
            if not group:
                continue
            if group[0].edition == "solutions" and results is None:
                with stages("waiting for the tests"):
                    results = tests.result()
                passes_checks(project, chapters, results, draft)
            sensitivity = None
            if group[0].edition == "solutions":  # the appendix states it; cached, so usually free
                with stages("sensitivity"):
                    sensitivity = measured_sensitivity(project, chapters, results)
            part = assemble(project, group, chapters, results if group[0].edition == "solutions" else TestResults(),
                            draft=marked, sensitivity=sensitivity)
            write_if_changed(tex, part.files())
            sources.merge(part)
            current.update({t.name: published(project, manifest, t, part.digests[t.name]) for t in group})
            stale = [t for t in group if current[t.name] is None]
            for target in stale:
                write_if_changed(tex, {provenance_file(target.name): part.provenance_json(target.name)})
                # the embedded file's date is part of the PDF: keep it fixed
                os.utime(tex / provenance_file(target.name), (source_date_epoch(project.year),) * 2)
            compiler.submit(stale)
        if results is None:  # only the problems edition was built
            with stages("waiting for the tests"):
                passes_checks(project, chapters, tests.result(), draft)
        stale = [t for t in targets if current[t.name] is None]
        if len(stale) < len(targets):
            log.info("unchanged: %s", ", ".join(t.output for t in targets if current[t.name] is not None))
        with stages("checks for verify"):  # while LaTeX runs: display and lint results, cached for verify
            from solman.checking.verification import head_start

            head_start(project, chapters)
        compiled = compiler.wait()
        raise_collected(latex_errors(project, sources, compiled))
        warnings = {t.name: located_warnings(project, sources, compiled[t.name], compiler.splits[t.name])
                    if t.name in compiled else current[t.name]["warnings"] for t in targets}
        # This build recorded what the values and tests read: stamp the PDFs with keys that include it,
        # unless a source was edited while it ran (then the old stamps make the next build look again).
        if unchanged(hashed):
            stamps = target_stamps(project, targets)
        final = record(sources, targets, compiled, current, stamps, warnings, manifest)
        publish(project.build, {t.output: compiled[t.name].pdf for t in stale}, final)
        timings = {"seconds": stages.seconds, "compiled": sorted(t.output for t in stale)}
        (project.build / "timings.json").write_text(json.dumps(timings, indent=1))
    messages = sorted({warning_text(w) for ws in warnings.values() for w in ws})
    if marked:
        messages.append("this is a DRAFT: every PDF built says so on every page, and `invoke verify` rejects it")
    for message in messages:
        log.warning("%s", message)
    return Built(project.build, targets, compiled, messages, stages.seconds, records_by_output(final["outputs"]))


def passes_checks(project: Project, chapters: dict, results: TestResults, draft: bool) -> bool:
    """Whether every test of the chapters built passes and every value they print is called by a passing
    test. If not, the build fails (naming each failing test and untested value) unless it is a draft."""
    from solman.checking.testrun import failed_tests, untested_values

    built = {chapter_id for chapter_id, _ in chapters}
    failures = [*failed_tests(project, results.of_chapters([project.chapter(c) for c in sorted(built)])),
                *untested_values(project, chapters, results)]
    if failures and not draft:
        raise_collected(failures)
    for failure in failures:
        log.warning("%s", failure.render())
    return not failures


def measured_sensitivity(project: Project, chapters: dict, results: TestResults):
    """Which printed values are pinned, for the appendix; not measurable (a test process that died) is
    said there, and `invoke verify` reports why. A value that is not pinned does not stop the build."""
    from solman.checking.sensitivity import measure

    try:
        return measure(project, chapters, results)
    except SolmanError as error:
        log.warning("the sensitivity of the printed values was not measured: %s", error.message)
        return None


def warm_formats(project: Project, tex: Path, targets: list[Target]) -> None:
    """Build the preloaded-preamble formats the targets will need (their shells' preambles are known now)."""
    from solman.latex.latexmk import prepare_format
    from solman.build.outputs import write_if_changed
    from solman.rendering.sources import render_target_shell, static_files
    from solman.project.targets import chapter_numbers

    try:
        write_if_changed(tex, static_files(project))  # the styles the formats load
        numbers = chapter_numbers(project)
        preambles = {render_target_shell(project, t, numbers).text: t for t in targets}
        for text, target in preambles.items():
            prepare_format(tex, target.name, project.year, text, sandboxed=project.sandbox,
                           shared=project.formats)
    except Exception as exc:  # only a head start: the compile step builds what is missing itself
        log.debug("could not build the formats early: %s", exc)


class Stopwatch:
    """Seconds spent in each named stage: ``with stages("render"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started


def load_or_empty(project: Project, load) -> dict:
    try:
        return load(project.build / "manifest.json")
    except SolmanError as error:
        if "format" in error.message:  # written by another version of solman: a full build replaces it
            log.info("build/manifest.json is from another version of solman: rebuilding every PDF")
        else:
            log.warning("replacing an unreadable manifest (%s)", error.message)
        return {"outputs": {}, "renders": {}}


class Compiler:
    """latexmk runs, ``jobs`` at once (one per core by default), started as targets become ready."""

    def __init__(self, tex: Path, year: int, jobs: int | None, stages: Stopwatch, sandboxed: bool = True,
                 formats: Path | None = None) -> None:
        self.tex, self.year, self.stages, self.sandboxed, self.formats = tex, year, stages, sandboxed, formats
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.futures: dict[str, tuple[Target, object]] = {}
        self.splits: dict[str, list] = {}  # target name -> the questions its PDF splits across pages
        self.started: float | None = None

    def __enter__(self) -> Compiler:
        self.pool = ThreadPoolExecutor(max_workers=self.jobs)
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True)

    def submit(self, targets: list[Target]) -> None:
        """Start compiling ``targets``, the biggest first."""
        from solman.latex.latexmk import prepare_format

        if targets and self.started is None:
            self.started = time.perf_counter()
        for target in sorted(targets, key=lambda t: -len(t.chapters)):
            preloaded = prepare_format(self.tex, target.name, self.year,  # here, not in parallel: built once
                                       sandboxed=self.sandboxed, shared=self.formats)
            self.futures[target.name] = (target, self.pool.submit(self.compile, target.name, preloaded))

    def compile(self, name: str, preloaded: str | None) -> Compiled:
        """latexmk on one target, then the questions its PDF splits across pages, read here while the other
        targets compile rather than after them all."""
        from solman.checking.pages import page_splits
        from solman.latex.latexmk import run_latexmk

        result = run_latexmk(self.tex, name, self.year, preloaded, sandboxed=self.sandboxed)
        self.splits[name] = page_splits(result.pdf) if result.ok and result.pdf.exists() else []
        return result

    def wait(self) -> dict[str, Compiled]:
        """Every run's outcome, logged as it finishes."""
        from concurrent.futures import as_completed

        compiled = {}
        names = {future: target for target, future in self.futures.values()}
        for number, future in enumerate(as_completed(names), start=1):
            target = names[future]
            compiled[target.name] = result = future.result()
            log.info("%s %s (%d/%d, %.1f s)", "compiled" if result.ok else "FAILED", target.output, number,
                     len(names), result.seconds)
        if self.started is not None:
            self.stages.seconds["compile"] = time.perf_counter() - self.started
        return compiled


def latex_errors(project: Project, sources: Sources, compiled: dict[str, Compiled]) -> list[SolmanError]:
    """One error per distinct LaTeX failure, located in the template that produced it."""
    from solman.latex.texlog import LogEntry

    errors: dict[tuple[str, str], SolmanError] = {}
    for result in compiled.values():
        if result.ok:
            continue
        if disk_full(result.log.parent):  # LaTeX could not write its output (or even its log)
            return [writing_failure(OSError(errno.ENOSPC, "LaTeX stopped"), result.log.parent, project.root)]
        entries = result.errors or [LogEntry("error", "latexmk failed without a LaTeX error in the log",
                                             None, None, result.output.strip()[-600:])]
        entry = entries[0]
        location = locate(project, sources, entry.file, entry.line)
        details = []
        if entry.context:
            details.append(f"LaTeX was reading: {entry.context}")
        for use in printed_on(sources, entry.file, entry.line):
            details.append(f"that line prints value '{use.expr}' as: {use.latex[:120]}")
        if entry.file and entry.line:
            details.append(f"generated file: {project.relative(project.build / 'tex' / entry.file)}:{entry.line}")
        details.append(f"full log: {project.relative(result.log)}")
        key = (str(location), entry.message)
        errors.setdefault(key, LatexError(entry.message, location=location, details=details,
                                          hint=latex_hint(entry)))
    return list(errors.values())


def printed_on(sources: Sources, file: str | None, line: int | None) -> list:
    """The values printed on one line of a generated file (their LaTeX may be what LaTeX choked on)."""
    rendered = next((r for r in sources.rendered() if r.name == file), None)
    if rendered is None or not line:
        return []
    return [u for u in rendered.uses if u.output_line == line and u.latex is not None]


def located_warnings(project: Project, sources: Sources, result: Compiled, splits: list) -> list[dict]:
    """The warnings a finished chapter must not have, located in the templates."""
    found = []
    for entry in result.entries:
        if entry.kind == "overfull" and entry.amount <= OVERFULL_TOLERANCE_PT:
            continue
        if entry.kind not in ("overfull", "undefined-reference", "missing-character", "pdftex", "font"):
            continue
        location = locate(project, sources, entry.file, entry.line)
        what = {"overfull": f"overfull box, {entry.amount:g}pt too wide",
                "undefined-reference": entry.message,
                "missing-character": f"missing character: {entry.message}",
                "pdftex": f"pdfTeX, on the page written near this line: {entry.message}",
                "font": f"font substituted: {entry.message}"}[entry.kind]
        found.append({"kind": entry.kind, "what": what,
                      "file": location.path if location else None, "line": location.line if location else None})
    return found + split_warnings(project, sources, splits)


def split_warnings(project: Project, sources: Sources, splits: list) -> list[dict]:
    """The questions a finished PDF splits across pages (``Compiler.splits``), at their template lines."""
    from solman.checking.pages import split_location

    found = []
    for split in splits:
        location = split_location(project.root, sources.chapters, split)
        found.append({"kind": "page-split", "what": split.message,
                      "file": location.path if location else None, "line": location.line if location else None})
    return found


def warning_text(warning: dict) -> str:
    where = f"{warning['file']}:{warning['line']}: " if warning["line"] else f"{warning['file']}: " \
        if warning["file"] else ""
    return f"{where}{'pages' if warning['kind'] == 'page-split' else 'latex'}: {warning['what']}"


def locate(project: Project, sources: Sources, file: str | None, line: int | None) -> Location | None:
    """Where generated ``file:line`` came from: a template line, a static file, or the file itself."""
    if file is None:
        return None
    rendered = next((r for r in sources.rendered() if r.name == file), None)
    if rendered is not None and line:
        origin = rendered.sources.locate(line)
        if origin:
            return Location.of(origin[0], origin[1], project.root)
    if rendered is not None:  # LaTeX gave no line (a page-level warning): the template, at least
        return Location.of(project.root / rendered.template, None, project.root)
    static = project.template(file)
    if file in sources.static and static.exists():
        return Location.of(static, line, project.root)
    return Location.of(project.build / "tex" / file, line, project.root)


def latex_hint(entry: LogEntry) -> str:
    message = entry.message
    if "Undefined control sequence" in message:
        return "a macro is misspelt or its package is not loaded (in solman.sty, or a templates/solman.sty of your own)"
    if "Missing $ inserted" in message:
        return r"math outside math mode: wrap it in $...$, or print text values with | text"
    if "Environment" in message and "undefined" in message:
        return "the environment's package is not loaded, or its name is misspelt"
    if "|" in message and "can't find file" in message:
        return "LaTeX runs no programs: piped input (\\input|\"...\") and \\write18 are disabled"
    if any(said in message for said in ("not found", "can't find file", "cannot find", "cannot open")):
        return ("LaTeX reads only files under build/tex and the TeX installation; "
                "put figures and styles in templates/")
    if "Extra alignment tab" in message:
        return ("a matrix (or table) has more columns than declared: amsmath's matrices allow 10 "
                r"(\setcounter{MaxMatrixCols}{n} allows n; solman raises it for the matrices it prints)")
    if "Unable to read an entire line" in message or "capacity exceeded" in message:
        return ("the LaTeX is too large for TeX (a line longer than its buffer, or more than its memory): "
                "a value printing a huge matrix or text? print a part of it")
    if "can't write on file" in message:
        return "LaTeX may write only inside build/tex, where solman runs it"
    return "the line shown produced the LaTeX that failed; the full log has LaTeX's own account"


def record(sources: Sources, targets: list[Target], compiled: dict[str, Compiled], current: dict[str, dict | None],
           stamps: dict[str, str], warnings: dict[str, list[dict]], old: dict) -> dict:
    """The manifest of build/ once this build's PDFs are published (with them, as one set)."""
    from solman.build.manifest import merge, output_record
    from solman.latex.pdfs import page_count
    from solman.rendering.sources import sha256

    renders: dict[str, dict] = {}
    outputs = []
    for target in targets:
        if target.name in compiled:
            output, used = output_record(sources.provenance[target.name],
                                         sha256(compiled[target.name].pdf.read_bytes()), warnings[target.name])
            output["pages"] = page_count(compiled[target.name].pdf)
            renders.update(used)
        else:
            output = dict(current[target.name])
        output["stamp"] = stamps[target.name]
        outputs.append(output)
    return merge(old, renders, outputs)
