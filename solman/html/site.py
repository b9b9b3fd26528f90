"""``invoke html``: the HTML edition of the manual in build/html, one page per chapter and edition.

The pages are converted from the very LaTeX the chapter PDFs are compiled from (build/tex, made
current by an ordinary build first, so every check a PDF passes the HTML passes too): LaTeXML
writes the text and the mathematics as MathML, pdfLaTeX draws the pictures as SVG
(``solman.html.figures``). Each chapter is converted in its own work folder, build/html-work/<target>,
all of them at once (``jobs``, one per core by default); a chapter whose LaTeX did not change since
its last conversion (the same build digest, the same binding and converter) is not converted again.

    build/html/index.html                   the contents: every chapter, in both editions
    build/html/solutions/<chapter>.html     a chapter with its solutions and its verification appendix
    build/html/problems/<chapter>.html      a chapter's problems only
    build/html/<edition>/<chapter>/         its pictures (SVG)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from solman.errors import LatexError, Location, SolmanError, raise_collected
from solman.project.settings import Project
from solman.project.targets import (
    Target,
    chapter_numbers,
    plan_targets,
    provenance_file,
)

log = logging.getLogger("solman")

HERE = Path(__file__).parent
BINDING = HERE / "solman.sty.ltxml"
ASSETS = ("solman.css", "solman.js")
LATEXML_STYLES = ("LaTeXML.css", "ltx-book.css")
CONVERTER_VERSION = "1"  # raise when the conversion changes: every chapter is converted again


@dataclass
class Page:
    target: Target
    path: Path  # the page under build/html
    converted: bool  # converted by this build (else its last conversion was current)
    seconds: float = 0.0  # LaTeXML and the pictures, when converted


@dataclass
class Site:
    folder: Path  # build/html
    index: Path
    pages: list[Page] = field(default_factory=list)
    seconds: float = 0.0  # the HTML conversion alone (the PDF build before it aside)

    @property
    def converted(self) -> list[Page]:
        return [p for p in self.pages if p.converted]


def page_path(target: Target) -> str:
    """A chapter page's path under build/html."""
    return f"{target.edition}/{target.chapters[0]}.html"


def build_html(project: Project, jobs: int | None = None, draft: bool = False) -> Site:
    """Build the PDFs' sources (and the PDFs) as ``invoke pdf`` does, then the HTML edition from them."""
    from solman.build.outputs import lock
    from solman.build.pipeline import build
    from solman.errors import writing_in
    from solman.html.latexml import require_latexml

    require_latexml()
    built = build(project, draft=draft)
    started = time.perf_counter()
    targets = [t for t in plan_targets(project) if not t.is_manual]
    with writing_in(project.build, project.root), lock(project.build, exclusive=True):
        records = {t.name: built.records[t.output] for t in targets}
        keys = {t.name: conversion_key(records[t.name]["digest"]) for t in targets}
        work = project.build / "html-work"
        stale = [t for t in targets if not current(work / t.name, keys[t.name])]
        # the largest chapters first: the conversions of the others fill the cores around them
        stale.sort(key=lambda t: -chapter_size(project, t))
        if len(stale) < len(targets):
            log.info("HTML unchanged: %s", ", ".join(page_path(t) for t in targets if t not in stale))
        seconds: dict[str, float] = {}
        errors: list[SolmanError] = []
        workers = max(1, min(len(stale), jobs or os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(convert_target, project, t, work / t.name): t for t in stale}
            for number, (future, target) in enumerate(futures.items(), start=1):
                try:
                    seconds[target.name] = future.result()
                    (work / target.name / "key").write_text(keys[target.name])
                    log.info("converted %s (%d/%d, %.1f s)", page_path(target), number, len(stale),
                             seconds[target.name])
                except SolmanError as error:
                    errors.append(error)
        raise_collected(errors)
        site = write_site(project, targets, work, records)
        site.pages = [Page(t, site.folder / page_path(t), t.name in seconds, seconds.get(t.name, 0.0))
                      for t in targets]
    site.seconds = time.perf_counter() - started
    return site


def chapter_size(project: Project, target: Target) -> int:
    try:
        return (project.build / "tex" / "chapters" / f"{target.name}.tex").stat().st_size
    except OSError:
        return 0


def conversion_key(digest: str) -> str:
    """What a conversion depends on beyond the LaTeX (whose digest it is): the binding, the converter."""
    from solman.html.latexml import latexml_version

    code = [BINDING, HERE / "latexml.py", HERE / "figures.py"]  # how a chapter is converted
    parts = [digest, *(hashlib.sha256(p.read_bytes()).hexdigest() for p in code), CONVERTER_VERSION, latexml_version()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def current(folder: Path, key: str) -> bool:
    try:
        return (folder / "key").read_text() == key and any((folder / "html").glob("*.html"))
    except OSError:
        return False


def convert_target(project: Project, target: Target, folder: Path) -> float:
    """Convert one chapter edition in ``folder``; the seconds it took."""
    from solman.html.figures import draw_pictures, named_svgs
    from solman.html.latexml import convert

    started = time.perf_counter()
    tex = project.build / "tex"
    chapter = f"chapters/{target.chapters[0]}-{target.edition}"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(tex, folder, ignore=lambda where, names: copied_not(Path(where), names, tex, chapter, target))
    shutil.copy2(BINDING, folder / BINDING.name)
    (folder / "key").unlink(missing_ok=True)
    names = draw_pictures(folder, target.name, chapter, project.year, project.sandbox, project.root)
    text = (folder / f"{chapter}.tex").read_text(encoding="utf-8")
    (folder / f"{chapter}-html.tex").write_text(named_svgs(text, names), encoding="utf-8")
    shell = (folder / f"{target.name}.tex").read_text(encoding="utf-8")
    (folder / f"{target.name}-html.tex").write_text(shell.replace(rf"\input{{{chapter}}}", rf"\input{{{chapter}-html}}"),
                                                     encoding="utf-8")
    result = convert(folder, f"{target.name}-html", project.year, project.sandbox)
    if not result.ok:
        raise_collected([conversion_error(project, target, folder, message, file, line)
                         for message, file, line in result.errors[:10]])
    return time.perf_counter() - started


def copied_not(where: Path, names: list[str], tex: Path, chapter: str, target: Target) -> set[str]:
    """What of build/tex a chapter's work folder leaves out: other chapters, formats, LaTeX's own output."""
    relative = where.relative_to(tex)
    if relative == Path("."):
        return {n for n in names if n in ("out",) or n.endswith((".fmt", ".log", ".aux", ".pdf"))
                or (n.endswith(".tex") and (tex / n).is_file() and n.rpartition("-")[2] in ("solutions.tex", "problems.tex")
                    and n != f"{target.name}.tex")}
    if relative == Path("chapters"):
        return {n for n in names if n != f"{Path(chapter).name}.tex"}
    if relative == Path("provenance"):
        return {n for n in names if n != f"{target.name}.json"}
    return set()


def conversion_error(project: Project, target: Target, folder: Path, message: str, file: str | None,
                     line: int | None) -> LatexError:
    """A LaTeXML error, located in build/tex (the text LaTeXML read has the lines of the chapter's)."""
    location = None
    if file:
        name = Path(file).name.replace("-html.tex", ".tex")
        relative = Path(file).parent.name
        generated = project.build / "tex" / (f"{relative}/{name}" if relative in ("chapters", "appendix", "status")
                                              else name)
        location = Location.of(generated, line, project.root)
    return LatexError(f"LaTeXML: {message}", location=location,
                      details=[(f"converting {page_path(target)}; LaTeXML's log: "
                                f"{project.relative(folder / (target.name + '-html.latexml.log'))}")],
                      hint=("a macro LaTeXML does not know: define it in the chapter with \\providecommand "
                            "(see the authors' guide, \"Publish the HTML edition\")"))


def write_site(project: Project, targets: list[Target], work: Path, records: dict[str, dict]) -> Site:
    """Finish every page from its conversion, and write the contents page and the style: build/html replaced
    as a whole, so that a failed or interrupted build leaves the last good site (never half of each)."""
    from solman.build.outputs import replace_folder
    from solman.html.pages import finish_page, write_index
    from solman.project.language import language

    site = project.build / "html"
    files: dict[str, bytes] = {}
    words = html_words(dict(language(project.language).words))
    for name in ASSETS:
        files[name] = (HERE / name).read_bytes()
    for name in LATEXML_STYLES:
        found = latexml_resource(name)
        if found is not None:
            files[name] = found.read_bytes()
    numbers = chapter_numbers(project)
    for target in targets:
        chapter = target.chapters[0]
        folder = work / target.name
        raw = (folder / "html" / f"{target.name}-html.html").read_text(encoding="utf-8")
        provenance = json.loads((project.build / "tex" / provenance_file(target.name)).read_text(encoding="utf-8"))
        if provenance.get("digest") != records[target.name]["digest"]:
            raise LatexError(f"build/tex/{provenance_file(target.name)} is not the provenance of "
                             f"build/{target.output}", hint="run `invoke clean`, then `invoke html` again")
        pictures = f"{target.edition}/{chapter}"
        images = {}
        for source in dict.fromkeys(re.findall(r'<span class="ltx_text solman-picture">([^<]+)</span>', raw)):
            found = next((f for f in (folder / "html" / source, folder / source) if f.is_file()), None)
            if found is not None and not source.startswith("data:"):
                files[f"{pictures}/{found.name}"] = found.read_bytes()
                images[source] = f"{chapter}/{found.name}"
        other = "problems" if target.edition == "solutions" else "solutions"
        links = [(words["contents"], "../index.html"),
                 (words[f"{other}_edition"], f"../{other}/{chapter}.html")]
        page = finish_page(raw, words=words, edition=target.edition, up="../", links=links,
                           provenance=provenance, images=images)
        files[page_path(target)] = page.encode("utf-8")
    entries = [(numbers[c.id], provenance_title(project, c.id, targets), c.id) for c in project.chapters]
    files["index.html"] = write_index(project, words, entries, records, targets).encode("utf-8")
    replace_folder(site, work, files)
    return Site(site, site / "index.html")


def provenance_title(project: Project, chapter: str, targets: list[Target]) -> str:
    target = next(t for t in targets if t.chapters[0] == chapter)
    provenance = json.loads((project.build / "tex" / provenance_file(target.name)).read_text(encoding="utf-8"))
    return provenance["chapters"][chapter].get("title") or chapter


def html_words(words: dict) -> dict:
    """The language's words as plain text (the table is written for LaTeX: ~ is a non-breaking space)."""
    return {key: value.replace("~", "\u00a0") for key, value in words.items()}


def latexml_resource(name: str) -> Path | None:
    """One of LaTeXML's own style sheets (shipped with its Perl modules)."""
    import subprocess

    found = subprocess.run(["perl", "-MLaTeXML::Util::Pathname", "-e",
                            "print pathname_find('" + name + "', paths => [map { \"$_/LaTeXML/resources/CSS\" } @INC])"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return Path(found) if found and Path(found).exists() else None
