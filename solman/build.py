"""``invoke pdf``: render, compile and publish, in that order; nothing is published unless all succeed."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .errors import LatexError, Location, SolmanError, raise_collected
from .latexmk import Compiled, run_latexmk, source_date_epoch
from .manifest import load_manifest, merge, output_record
from .outputs import build_lock, publish, write_if_changed
from .pdfs import page_count
from .project import Project
from .targets import Sources, Target, assemble, needs_tests, plan_targets, provenance_file, render_chapters, sha256
from .testrun import run_tests
from .texlog import LogEntry
from .toolchain import require_tex

log = logging.getLogger("solman")

OVERFULL_TOLERANCE_PT = 1.0


@dataclass
class Built:
    targets: list[Target]
    compiled: dict[str, Compiled]
    warnings: list[str]

    def pages(self, target: Target) -> int:
        return page_count(self.compiled[target.name].pdf)


def build(project: Project, *, chapter: str | None = None, edition: str | None = None) -> Built:
    """Build the PDFs of the whole manual, or of one chapter or one edition."""
    require_tex()
    targets = plan_targets(project, chapter, edition)
    with build_lock(project.build):
        log.info("rendering %d chapter(s)", len({c for t in targets for c in t.chapters}))
        chapters = render_chapters(project, targets)
        results = run_tests(project, [project.chapter(c) for c in needs_tests(targets)])
        sources = assemble(project, targets, chapters, results)
        tex = project.build / "tex"
        write_if_changed(tex, sources.files())
        for target in targets:  # the embedded file's date is part of the PDF: keep it fixed
            os.utime(tex / provenance_file(target.name), (source_date_epoch(project.year),) * 2)
        compiled = compile_targets(tex, targets, project.year)
        raise_collected(latex_errors(project, sources, compiled))
        warnings = {t.name: located_warnings(project, sources, compiled[t.name]) for t in targets}
        during, final = record(project, sources, targets, compiled, warnings)
        publish(project.build, {t.output: compiled[t.name].pdf for t in targets}, during, final)
    messages = sorted({warning_text(w) for ws in warnings.values() for w in ws})
    unchecked = [f"{chapter} {entry['id'] or 'text'}" for chapter, entries in sources.entries.items()
                 for entry in entries if entry["status"] != "verified"]
    if unchecked:
        messages.append(f"{len(unchecked)} solution(s) print values that no passing test checks "
                        f"({', '.join(unchecked[:6])}{', ...' if len(unchecked) > 6 else ''}); "
                        "`invoke verify` names them")
    for message in messages:
        log.warning("%s", message)
    return Built(targets, compiled, messages)


def compile_targets(tex: Path, targets: list[Target], year: int) -> dict[str, Compiled]:
    """Run latexmk on every target, as many at once as there are cores, biggest first."""
    ordered = sorted(targets, key=lambda t: -len(t.chapters))
    workers = max(1, min(len(ordered), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {t.name: pool.submit(run_latexmk, tex, t.name, year) for t in ordered}
        compiled = {}
        for target in ordered:
            compiled[target.name] = result = futures[target.name].result()
            log.info("%s %s (%.1f s)", "compiled" if result.ok else "FAILED", target.output, result.seconds)
    return compiled


def latex_errors(project: Project, sources: Sources, compiled: dict[str, Compiled]) -> list[SolmanError]:
    """One error per distinct LaTeX failure, located in the template that produced it."""
    errors: dict[tuple[str, str], SolmanError] = {}
    for result in compiled.values():
        if result.ok:
            continue
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


def located_warnings(project: Project, sources: Sources, result: Compiled) -> list[dict]:
    """The warnings a finished chapter must not have, located in the templates."""
    found = []
    for entry in result.entries:
        if entry.kind == "overfull" and entry.amount <= OVERFULL_TOLERANCE_PT:
            continue
        if entry.kind not in ("overfull", "undefined-reference", "missing-character"):
            continue
        location = locate(project, sources, entry.file, entry.line)
        what = {"overfull": f"overfull box, {entry.amount:g}pt too wide",
                "undefined-reference": entry.message,
                "missing-character": f"missing character: {entry.message}"}[entry.kind]
        found.append({"kind": entry.kind, "what": what,
                      "file": location.path if location else None, "line": location.line if location else None})
    return found


def warning_text(warning: dict) -> str:
    where = f"{warning['file']}:{warning['line']}: " if warning["line"] else f"{warning['file']}: " \
        if warning["file"] else ""
    return f"{where}latex: {warning['what']}"


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
    static = project.templates / file
    if file in sources.static and static.exists():
        return Location.of(static, line, project.root)
    return Location.of(project.build / "tex" / file, line, project.root)


def latex_hint(entry: LogEntry) -> str:
    message = entry.message
    if "Undefined control sequence" in message:
        return "a macro is misspelt or its package is not loaded in templates/solman.sty"
    if "Missing $ inserted" in message:
        return r"math outside math mode: wrap it in $...$, or print text values with | text"
    if "Environment" in message and "undefined" in message:
        return "the environment's package is not loaded, or its name is misspelt"
    if "File" in message and "not found" in message:
        return "LaTeX reads only files under build/tex; put figures and styles in templates/"
    if "can't write on file" in message:
        return "LaTeX may write only inside build/tex, where solman runs it"
    return "the line shown produced the LaTeX that failed; the full log has LaTeX's own account"


def record(project: Project, sources: Sources, targets: list[Target], compiled: dict[str, Compiled],
           warnings: dict[str, list[dict]]) -> tuple[dict, dict]:
    """The manifest to write while the PDFs are swapped in, and the one to keep afterwards."""
    renders: dict[str, dict] = {}
    outputs = []
    for target in targets:
        output, used = output_record(sources.provenance[target.name], sha256(compiled[target.name].pdf.read_bytes()),
                                     warnings[target.name])
        renders.update(used)
        outputs.append(output)
    try:
        old = load_manifest(project.build / "manifest.json")
    except SolmanError as error:
        log.warning("replacing an unreadable manifest (%s)", error.message)
        old = {}
    return merge(old, renders, outputs)
