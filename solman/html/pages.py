"""The finished pages of the HTML edition: LaTeXML's output made into solman's pages.

Each chapter page gets the site's navigation, its solutions as ``<details>`` toggles (open; a
button closes or opens them all), text alternatives for its pictures from their captions, and its
provenance: the build digest, source commit and tools in its footer, and in a
``<script type="application/json" id="solman-provenance">`` the same record the PDF embeds, which
``invoke verify --pdf`` reads from a saved page. Pages are written byte-for-byte the same from the
same sources (LaTeXML's date line is removed).
"""

from __future__ import annotations

import html
import json
import re

import lxml.html
from lxml.html import builder as E

STYLES = ("LaTeXML.css", "ltx-book.css", "solman.css")
PROVENANCE_ID = "solman-provenance"
DIGEST_META = "solman-digest"


def finish_page(raw: str, *, words: dict, edition: str, up: str, links: list[tuple[str, str]], provenance: dict,
                images: dict[str, str]) -> str:
    """The page for LaTeXML's ``raw`` HTML. ``up`` leads to the site's root ("../"), ``links`` are the
    navigation's (text, href), ``images`` maps LaTeXML's image names to the site's."""
    document = lxml.html.document_fromstring(raw)
    head = document.find("head")
    for old in head.findall("link"):
        head.remove(old)
    head.append(E.LINK(rel="icon", href="data:,"))  # no favicon request (a 404 in the console)
    for style in STYLES:
        head.append(E.LINK(rel="stylesheet", href=f"{up}{style}"))
    head.append(E.META(name=DIGEST_META, content=provenance["digest"]))
    body = document.find("body")
    for footer in body.xpath('//footer[contains(@class, "ltx_page_footer")]'):
        footer.getparent().remove(footer)
    main = body.xpath('//div[contains(@class, "ltx_page_main")]')[0]
    main.tag = "main"
    navigation = E.NAV(E.UL(*(E.LI(E.A(text, href=href)) for text, href in links)), {"class": "solman-nav"})
    navigation.set("aria-label", words["navigation"])
    if edition == "solutions":
        button = E.BUTTON(words["hide_solutions"], type="button", id="solman-toggle")
        button.set("data-hide", words["hide_solutions"])
        button.set("data-show", words["show_solutions"])
        navigation.append(button)
    body.insert(0, E.HEADER(navigation, {"class": "solman-header"}))
    toggles(body, words)
    describe_images(body, words, images)
    body.append(provenance_footer(provenance, words))
    script = E.SCRIPT(json.dumps(provenance, sort_keys=True, ensure_ascii=False).replace("</", "<\\/"),
                      type="application/json", id=PROVENANCE_ID)
    body.append(script)
    body.append(E.SCRIPT(src=f"{up}solman.js"))
    text = lxml.html.tostring(document, doctype="<!DOCTYPE html>", encoding="unicode")
    return re.sub(r"<!--Generated on .*?-->\n?", "", text)


def toggles(body, words: dict) -> None:
    """Every solution as a ``<details>`` element, open, its heading the summary; the verification mark
    (a link to the appendix) goes under it, since a link inside a summary is a control in a control."""
    for solution in body.xpath('//div[contains(@class, "solman-solution")]'):
        heading = solution.find("h6")
        details = E.DETAILS({"class": "solman-solution", "open": "open"})
        summary = E.SUMMARY(words["solution"])
        details.append(summary)
        if heading is not None:
            for link in heading.xpath(".//a | .//span[contains(@class, 'ltx_ref')]"):
                mark = E.P({"class": "solman-mark"}, words["verification"] + words["colon"] + " ")
                link.tail = None
                mark.append(link)
                details.append(mark)
                break
            solution.remove(heading)
        details.extend(list(solution))
        solution.getparent().replace(solution, details)


def describe_images(body, words: dict, images: dict[str, str]) -> None:
    """Each picture's text alternative: its figure's caption, else the question it belongs to."""
    for picture in body.xpath('//span[contains(@class, "solman-picture")]'):  # \solmanpicture{svg/...}
        image = E.IMG({"class": "solman-picture"})
        image.set("src", picture.text_content().strip())
        image.tail = picture.tail
        picture.getparent().replace(picture, image)
    for image in body.iter("img"):
        source = image.get("src", "")
        image.set("src", images.get(source, source))
        figure = next((a for a in image.iterancestors() if a.tag == "figure"), None)
        caption = figure.find(".//figcaption") if figure is not None else None
        if caption is not None:
            alternative = " ".join(caption.text_content().split())
        else:
            question = next((a for a in image.iterancestors() if "solman-question" in (a.get("class") or "")), None)
            heading = question.find("h6") if question is not None else None
            label = (heading.text or "").strip() if heading is not None else ""  # the label, not its points
            alternative = words["picture"] + (f" ({words['question']} {label})" if label else "")
        image.set("alt", alternative)
        image.attrib.pop("width", None) if image.get("width") == "0" else None


def provenance_footer(provenance: dict, words: dict):
    """The footer every page carries: what it was built from (the PDF's copyright page and appendix say it)."""
    digest = [words["build_digest"] + words["colon"] + " ", E.CODE(provenance["digest"]), E.BR()] \
        if provenance.get("digest") else []  # the contents page has none: each chapter page has its own
    return E.FOOTER({"class": "solman-provenance"}, E.P(
        *digest,
        words["source_commit"] + words["colon"] + " ", E.CODE(str(provenance.get("commit", ""))), E.BR(),
        words["tools"] + words["colon"] + " " + ", ".join(f"{k} {v}" for k, v in provenance.get("tools", {}).items())))


def read_provenance(text: str) -> dict | None:
    """The provenance a saved page carries, or None when it is not a solman page."""
    found = re.search(rf'<script type="application/json" id="{PROVENANCE_ID}">(.*?)</script>', text, re.DOTALL)
    if found is None:
        return None
    try:
        return json.loads(html.unescape(found.group(1)) if "&quot;" in found.group(1) else found.group(1))
    except ValueError:
        return None


def write_index(project, words: dict, entries: list[tuple[int, str, str]], records: dict[str, dict], targets) -> str:
    """The contents page: the manual's title, each chapter with its two editions, and the provenance."""
    rows = []
    for number, title, chapter in entries:
        links = [E.A(words[f"{edition}_edition"], href=f"{edition}/{chapter}.html")
                 for edition in ("solutions", "problems")
                 if any(t.chapters[0] == chapter and t.edition == edition for t in targets)]
        item = E.LI(E.SPAN(f"{words['chapter']} {number}", {"class": "solman-number"}), " ",
                    E.SPAN(title, {"class": "solman-title"}), " ")
        for position, link in enumerate(links):
            item.append(E.SPAN("(" if position == 0 else ", "))
            item.append(link)
        item.append(E.SPAN(")") if links else E.SPAN())
        rows.append(item)
    first = next(iter(records.values()), {})
    provenance = {"digest": "", "commit": first.get("commit", ""), "tools": first.get("tools", {})}
    footer = provenance_footer(provenance, words)
    page = E.HTML(
        E.HEAD(E.META(charset="utf-8"), E.TITLE(project.title),
               E.META(name="viewport", content="width=device-width, initial-scale=1"),
               E.LINK(rel="icon", href="data:,"), E.LINK(rel="stylesheet", href="solman.css")),
        E.BODY(E.MAIN(
            E.H1(project.title),
            *([E.P(project.subtitle, {"class": "solman-subtitle"})] if project.subtitle else []),
            E.P(f"{project.author}, {project.year}" if project.author else str(project.year), {"class": "solman-author"}),
            E.H2(words["contents"]), E.OL(*rows, {"class": "solman-contents"}),
            {"class": "solman-index"}), footer),
        lang=project.language)
    return lxml.html.tostring(page, doctype="<!DOCTYPE html>", encoding="unicode")
