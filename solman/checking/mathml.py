"""The display contract for the HTML edition: every printed value, found again in the page's MathML.

``solman.checking.display`` proves that each printed value's LaTeX shows the value. The HTML page is
LaTeXML's reading of that LaTeX; here each value is looked for in what the browser renders, the
MathML's own elements (``<mn>``, ``<mo>``, ``<mi>``), never the ``<annotation>`` that keeps the TeX
source: the numbers and minus signs of the value's LaTeX must appear, in its order and next to each
other, in one formula of the page (a value printed in running text, in the page's text). A value
whose LaTeX has no number (a symbol, a word) has nothing to read back this way, and a value printed
in a picture is in an SVG whose text pdfLaTeX drew as outlines, and a text value with formulas in it
spans several formulas: these are counted apart, not read back.
Formulas are searched in the order of the page from the last value found, so that a number is found
in the formula where it is printed rather than anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import lxml.html

from solman.project.language import ENGLISH, Language
from solman.rendering.render import Use

MINUS = "-\u2212"
GROUPED = re.compile(r"(?<=\d)(?:\\,|\\!|\\ |~|\{,\}(?=\d{3}(?!\d)))(?=\d)")  # thin spaces inside a number
TOKEN = re.compile(r"[-\u2212]|\d+(?:\.\d+)?")
MATHML = "http://www.w3.org/1998/Math/MathML"


@dataclass
class Readback:
    findings: list[tuple[Use, str]] = field(default_factory=list)
    checked: int = 0
    without_numbers: int = 0
    mixed: int = 0  # text with formulas in it (several formulas), and graphics: not read back
    in_pictures: int = 0  # values printed in a picture: an SVG, whose text is drawn as outlines


def latex_tokens(latex: str, language: Language = ENGLISH) -> list[str]:
    """The numbers and minus signs of a value's LaTeX, in order (digit groups joined, the decimal marker a
    full stop)."""
    latex = latex.replace("--", " ")  # a dash in text, not two minus signs
    text = re.sub(r"\\renewcommand\*?\{\\arraystretch\}\{[^{}]*\}", " ", latex.replace("\\allowbreak", ""))
    if language.decimal == "{,}":
        text = re.sub(r"(?<=\d)\{,\}(?=\d)", ".", text)
    text = GROUPED.sub("", text)
    text = re.sub(r"\\(?:mathrm|text|operatorname)\{[^{}]*\}", " ", text)  # words: no numbers to read
    return ["-" if t in MINUS else t for t in TOKEN.findall(text)]


def element_tokens(element, language: Language = ENGLISH) -> list[str]:
    """The numbers and minus signs a MathML element shows (annotations left out), in order."""
    found: list[str] = []
    for node in element.iter():
        tag = node.tag.rpartition("}")[2] if isinstance(node.tag, str) else ""
        if tag in ("annotation", "annotation-xml") or any(
                a.tag.rpartition("}")[2] in ("annotation", "annotation-xml") for a in node.iterancestors()
                if isinstance(a.tag, str)):
            continue
        text = (node.text or "").strip()
        if tag == "mn":
            text = text.replace("\u2009", "").replace("\u202f", "").replace(" ", "")
            if language.decimal == "{,}":
                text = text.replace(",", ".")
            if found and found[-1][-1:].isdigit() and previous_was_number(node):
                found[-1] += text  # a number LaTeXML split at its thin spaces: one number
            else:
                found.append(text)
        elif tag == "mo" and text and text in MINUS:
            found.append("-")
    return found


def previous_was_number(node) -> bool:
    """Whether the element before ``node`` is a number too, with only spacing between (``12\\,345``)."""
    parent = node.getparent()
    if parent is None or parent.tag.rpartition("}")[2] not in ("mrow", "math", "semantics", "mstyle", "mpadded"):
        return False  # in a fraction, a script or a root, the numbers are the element's parts
    before = node.getprevious()
    while before is not None and isinstance(before.tag, str) and before.tag.rpartition("}")[2] == "mspace":
        before = before.getprevious()
    return before is not None and isinstance(before.tag, str) and before.tag.rpartition("}")[2] == "mn"


def contains(sequence: list[str], part: list[str]) -> bool:
    n = len(part)
    return any(sequence[i:i + n] == part for i in range(len(sequence) - n + 1))


def picture_lines(tex: str) -> list[range]:
    """The lines of a chapter's LaTeX inside its pictures (drawn as SVG: their text is outlines)."""
    from solman.html.figures import PICTURE

    return [range(tex.count("\n", 0, m.start()) + 1, tex.count("\n", 0, m.end()) + 2) for m in PICTURE.finditer(tex)]


def read_back(page: str, uses: list[Use], language: Language = ENGLISH, pictures: list[range] = ()) -> Readback:
    """Find each printed value of ``uses`` (a chapter edition's, in the order of its LaTeX) in the page; a
    value printed on a line of ``pictures`` is in an SVG's outlines, counted apart."""
    document = lxml.html.document_fromstring(page.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    maths = [m for m in document.iter() if isinstance(m.tag, str) and m.tag.rpartition("}")[2] == "math"]
    formulas = [element_tokens(m, language) for m in maths]
    for math in maths:  # what is left is the running text (not the scripts: the provenance lists every value)
        math.drop_tree()
    for skipped in document.xpath("//script | //style"):
        skipped.drop_tree()
    running = re.sub(r"(?<=\d)[\u2009\u202f\u00a0 ](?=\d{3}(?!\d))", "", document.text_content())  # 20 000
    text = ["-" if t in MINUS else t for t in TOKEN.findall(running)]
    result = Readback()
    cursor = 0
    for use in sorted((u for u in uses if u.latex is not None), key=lambda u: u.output_line or 0):
        if any(use.output_line in lines for lines in pictures):
            result.in_pictures += 1
            continue
        if "$" in use.latex or use.filter.startswith("figure"):  # words with formulas in them, a graphic
            result.mixed += 1
            continue
        wanted = latex_tokens(use.latex, language)
        if not wanted:
            result.without_numbers += 1
            continue
        result.checked += 1
        here = next((i for i in range(cursor, len(formulas)) if contains(formulas[i], wanted)), None)
        if here is None:
            here = next((i for i in range(len(formulas)) if contains(formulas[i], wanted)), None)
        if here is not None:
            cursor = here
        elif not contains(text, wanted):
            result.findings.append((use, f"the page's MathML does not show {' '.join(wanted)}"))
    return result
