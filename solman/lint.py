r"""The hard-coded-number lint: numbers typed into solutions instead of printed from values.

A result typed by hand is exactly what solman exists to prevent: no test checks it, and it
drifts silently when the code changes. The lint reads the literal text of every
``\BLOCK{ call solution() }`` in a chapter template and flags decimals, numbers of two or more
digits and hand-typed matrices. It leaves alone what is not a result: single digits in
formulas, exponents and subscripts, lengths (``3pt``), option lists (``[width=8cm]``), colour
mixes, labels and references, and the source's own numbering (``Eq.~(12)``, ``question 4.1``,
``Assignment 7``). A number typed on purpose is marked ``\lit{...}``: visible in the source and
counted in the summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2 import nodes

from .project import Project

NUMBERING_WORDS = (
    r"Eqs?\.|Equations?|equations?|Figures?|figures?|Figs?\.|Tables?|tables?|Problems?|problems?|Questions?|"
    r"questions?|Sections?|sections?|Chapters?|chapters?|Assignments?|assignments?|Parts?|parts?|Exercises?|"
    r"exercises?|Lemmas?|Theorems?|Appendix|Footnotes?|footnotes?|pages?|lines?|Steps?|steps?|Options?|options?|"
    r"Q|A|\\S"
)
NUMBER_REF = r"\(?\d+(?:\.\d+)*[a-z]?\)?(?:\s*\([a-z]+\))?"
EXEMPT = [
    re.compile(r"(?<!\\)%[^\n]*"),  # comments
    re.compile(r"\\(?:lit|label|ref|eqref|pageref|cite|url|href|includegraphics|input|hyperref|vspace|hspace|"
               r"rule|setlength|addvspace|kern|raisebox|phantom|hphantom|vphantom|ding|setcounter|addtocounter|"
               r"multicolumn|multirow|renewcommand|newcommand|providecommand|arraystretch)\*?"
               r"(?:\[[^\]]*\])*(?:\{(?:[^{}]|\{[^{}]*\})*\})*"),
    re.compile(r"-?\d*\.?\d+\s*(?:pt|mm|cm|em|ex|in|bp|pc|sp|mu)\b"),  # lengths
    re.compile(r"\b10(?=\s*\^)"),  # the base of a power of ten
    re.compile(r"[\^_]\s*(?:\{(?:[^{}]|\{[^{}]*\})*\}|-?\d+)"),  # exponents and subscripts
    re.compile(r"![\d.]+"),  # colour mixes: solaccent!40
    re.compile(rf"(?:{NUMBERING_WORDS})[~\s]*{NUMBER_REF}(?:(?:\s*(?:,|and|or|--|–|to)\s*|~){NUMBER_REF})*"),
    re.compile(r"(?:(?<=^)|(?<=[\s~]))\(\d{1,3}\)(?=[\s.,;:~)]|$)"),  # an equation number in prose: "(18) holds"
]
MATRIX = re.compile(r"\\begin\{([pbvBV]?matrix|array)\}(.*?)\\end\{\1\}", re.S)
DECIMAL = re.compile(r"(?<![\w.])\d*\.\d+(?!\w|\.\d)")
MULTI_DIGIT = re.compile(r"(?<![\w.])\d{2,}(?!\w|\.\d)")
LITERAL = re.compile(r"\\lit\{")


@dataclass(frozen=True)
class Finding:
    template: Path
    line: int
    text: str
    what: str


def lint_template(path: Path) -> tuple[list[Finding], int]:
    """The typed numbers in the solutions of one template, and how many ``\\lit`` it marks."""
    ast = _environment().parse(path.read_text(encoding="utf-8"), filename=str(path))
    findings: list[Finding] = []
    literals = 0
    for block in ast.find_all(nodes.CallBlock):
        call = block.call
        if not (isinstance(call.node, nodes.Name) and call.node.name == "solution"):
            continue
        for data in block.find_all(nodes.TemplateData):
            literals += len(LITERAL.findall(data.data))
            findings.extend(lint_text(path, data.data, data.lineno))
    return sorted(set(findings), key=lambda f: (f.line, f.text)), literals


def lint_text(path: Path, text: str, first_line: int) -> list[Finding]:
    """The typed numbers in one stretch of literal solution text starting at ``first_line``."""
    masked = _blank_options(text)
    for pattern in EXEMPT:
        masked = pattern.sub(_blank, masked)
    findings = []
    for match in MATRIX.finditer(masked):
        if re.search(r"\d", match[2]):
            findings.append(_finding(path, text, first_line, match.start(), "a matrix typed by hand",
                                     match[0].split("\\end")[0][:40]))
            masked = masked[:match.start()] + _blank(match) + masked[match.end():]
    for pattern, what in ((DECIMAL, "a decimal number"), (MULTI_DIGIT, "a number")):
        for match in pattern.finditer(masked):
            findings.append(_finding(path, text, first_line, match.start(), what, match[0]))
    return findings


def lint_project(project: Project) -> tuple[list[Finding], int]:
    findings, literals = [], 0
    for chapter in project.chapters:
        found, marked = lint_template(chapter.template)
        findings += found
        literals += marked
    return findings, literals


def _finding(path: Path, text: str, first_line: int, position: int, what: str, shown: str) -> Finding:
    return Finding(path, first_line + text.count("\n", 0, position), shown.strip(), what)


def _blank_options(text: str) -> str:
    """Blank every option list ``[...]`` that follows a command or environment, across lines.

    Options are layout (``[width=0.6\\textwidth, ymin=-1.2]``), not results. Brackets nest, and
    braces inside an option list may hold brackets of their own.
    """
    out = list(text)
    position = 0
    while (start := text.find("[", position)) != -1:
        position = start + 1
        if start == 0 or not re.match(r"[a-zA-Z}\]]", text[start - 1]):
            continue
        depth, end = 0, None
        for index in range(start, len(text)):
            char = text[index]
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
                if depth == 0:
                    end = index
                    break
        if end is None or text[end] != "]":
            continue
        for index in range(start, end + 1):
            if out[index] != "\n":
                out[index] = " "
        position = end + 1
    return "".join(out)


def _blank(match: re.Match) -> str:
    """The match replaced by spaces, newlines kept, so positions and line numbers do not move."""
    return re.sub(r"[^\n]", " ", match[0])


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        block_start_string=r"\BLOCK{", block_end_string="}", variable_start_string=r"\VAR{",
        variable_end_string="}", comment_start_string=r"\#{", comment_end_string="}",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
