"""The HTML edition in ``invoke verify``: each page's drift, its values read back from MathML, its leaks.

A page carries its provenance (``solman.html.pages``), the record its chapter's PDF embeds: it is
current when its inputs are today's, stale otherwise (with what changed, as for a PDF). A page is
not reproducible byte for byte across LaTeXML versions, so unlike a PDF its bytes are not compared
with a record: a page edited by hand after the build is not detected. The values of a current
page are read back from its MathML (``solman.checking.mathml``); the problems edition's pages are
searched for solution text as its PDFs are (``verification.leak_check``).
"""

from __future__ import annotations

from pathlib import Path

from solman.errors import DriftError, SolmanError, VerificationFailure
from solman.project.settings import Project
from solman.project.targets import Target

HTML_HINT = "run `invoke html` to rebuild the HTML edition"


def published_pages(build: Path, targets: list[Target] | None = None) -> list[Path]:
    """The chapter pages in build/html (with ``targets``, only theirs)."""
    folder = build / "html"
    if targets is not None:
        return [folder / f"{t.edition}/{t.chapters[0]}.html" for t in targets if not t.is_manual
                and (folder / f"{t.edition}/{t.chapters[0]}.html").is_file()]
    return sorted(folder.glob("solutions/*.html")) + sorted(folder.glob("problems/*.html"))


def page_provenance(page: Path) -> dict | None:
    from solman.html.pages import read_provenance

    try:
        return read_provenance(page.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def page_drift(project: Project, sources, pages: list[Path]) -> tuple[dict[str, str], list[SolmanError]]:
    """Each page's status (current, stale, unknown, draft) and the errors of the others."""
    from solman.checking.verification import explain_drift

    status: dict[str, str] = {}
    failures: list[SolmanError] = []
    for page in pages:
        shown = project.relative(page)
        provenance = page_provenance(page) if page.is_file() else None
        if provenance is None:
            status[str(page)] = "unknown"
            failures.append(DriftError(f"{shown} cannot be verified: it carries no solman provenance",
                                       hint=HTML_HINT))
        elif provenance.get("draft"):
            status[str(page)] = "draft"
            failures.append(VerificationFailure(f"{shown} is a DRAFT: it was built with --draft", hint=HTML_HINT))
        elif provenance.get("target") not in sources.inputs:
            status[str(page)] = "unknown"
            failures.append(DriftError(f"{shown} cannot be verified: its chapter is no longer part of the project",
                                       hint=HTML_HINT))
        elif sources.inputs[provenance["target"]] != provenance["inputs"]:
            status[str(page)] = "stale"
            changes = [change for change, _ in explain_drift(project, provenance, sources)]
            failures.append(DriftError(f"{shown} is stale: it was built from other sources than today's",
                                       details=changes[:8], hint=HTML_HINT))
        else:
            status[str(page)] = "current"
    return status, failures


def page_display(project: Project, chapters: dict, pages: list[Path]) -> tuple[list[SolmanError], int]:
    """Every value a current page prints, read back from its MathML; the failures and how many were read."""
    from solman.checking.mathml import picture_lines, read_back
    from solman.checking.verification import use_location
    from solman.project.language import language

    failures: list[SolmanError] = []
    checked = 0
    for page in pages:
        provenance = page_provenance(page) or {}
        chapter, edition = next(iter(provenance.get("chapters", {})), None), provenance.get("edition")
        rendered = chapters.get((chapter, edition))
        if rendered is None:
            continue
        found = read_back(page.read_text(encoding="utf-8"), rendered.uses, language(project.language),
                          picture_lines(rendered.text))
        checked += found.checked
        for use, problem in found.findings:
            failures.append(VerificationFailure(
                f"{project.relative(page)}: value '{use.expr}' is printed as {use.latex!r}, but {problem}",
                location=use_location(project, use),
                hint="LaTeXML read the value's LaTeX differently: bind the macro it uses in solman.sty.ltxml"))
    return failures, checked


def page_text(page: Path) -> str:
    """What a page shows as text: its main part, its formulas' annotations (their TeX) left out."""
    import lxml.html

    document = lxml.html.document_fromstring(page.read_bytes(), parser=lxml.html.HTMLParser(encoding="utf-8"))
    for annotation in document.xpath("//*[local-name()='annotation' or local-name()='annotation-xml']"):
        annotation.drop_tree()
    for skipped in document.xpath("//script | //style | //footer | //header"):
        skipped.drop_tree()
    return document.text_content()
