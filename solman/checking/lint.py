r"""The hard-coded-number lint: numbers typed into solutions instead of printed from values.

A result typed by hand is exactly what solman exists to prevent: no test checks it, and it
drifts silently when the code changes. The lint reads the literal text of every
``\BLOCK{ call solution() }`` in a chapter template (and of every branch only the solutions
edition renders, and the numbers of Jinja literals printed there) and flags decimals, numbers of two or more
digits and hand-typed matrices. It leaves alone what is not a result: single digits in
formulas, exponents and subscripts, lengths (``3pt``), option lists (``[width=8cm]``), colour
mixes, labels and references, and the source's own numbering (``Eq.~(12)``, ``question 4.1``,
``Assignment 7``, and their French and German counterparts). A number typed on purpose is marked
``\lit{...}``: visible in the source and counted in the summary.

Decimals are flagged in the project's language's notation as well as in English: ``0.5`` and
``0{,}5`` everywhere, and in French and German ``0,5`` too (there the comma between digits is a
decimal marker, not a list separator).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2 import nodes

from solman.project.language import ENGLISH, LANGUAGES, Language
from solman.project.settings import Project

NUMBERING_WORDS = (
    r"Eqs?\.|Equations?|equations?|Figures?|figures?|Figs?\.|Tables?|tables?|Problems?|problems?|Questions?|"
    r"questions?|Sections?|sections?|Chapters?|chapters?|Assignments?|assignments?|Parts?|parts?|Exercises?|"
    r"exercises?|Lemmas?|Theorems?|Appendix|Footnotes?|footnotes?|pages?|lines?|Steps?|steps?|Options?|options?|"
    r"Q|A|\\S|"
    # French and German: exercice 3, chapitre 2, tableau 1, partie 2, équation 4; Aufgabe 3, Kapitel 2, ...
    r"Exercices?|exercices?|Chapitres?|chapitres?|Tableaux?|tableaux?|Parties?|parties?|Équations?|équations?|"
    r"Éq\.|éq\.|Lemmes?|Théorèmes?|Annexe|Étapes?|étapes?|lignes?|Devoirs?|devoirs?|Série|série|"
    r"Aufgaben?|Kapitel|Abschnitte?|Abschnitts|Tabellen?|Abbildung(?:en)?|Abb\.|Gleichung(?:en)?|Gl\.|Teile?|"
    r"Schritte?|Seiten?|Zeilen?|Übungs?(?:blatt)?|Blatt|Fragen?|Satz|Anhang|Fußnoten?"
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
    re.compile(rf"(?:{NUMBERING_WORDS})[~\s]*{NUMBER_REF}(?:(?:[\s~]*(?:,|and|or|--|–|to)[\s~]*|~){NUMBER_REF})*"),
    re.compile(r"(?:(?<=^)|(?<=[\s~]))\(\d{1,3}\)(?=[\s.,;:~)]|$)"),  # an equation number in prose: "(18) holds"
]
MATRIX = re.compile(r"\\begin\{([pbvBV]?matrix|array)\}(.*?)\\end\{\1\}", re.S)
DECIMAL = re.compile(r"(?<![\w.])\d*(?:\.|\{,\})\d+(?!\w|\.\d)")
COMMA_DECIMAL = re.compile(r"(?<![\w.,])\d*(?:\.|\{,\}|,)\d+(?!\w|[.,]\d)")  # where "," marks decimals
MULTI_DIGIT = re.compile(r"(?<![\w.])\d{2,}(?!\w|\.\d)")
LITERAL = re.compile(r"\\lit\{")


@dataclass(frozen=True)
class Finding:
    template: Path
    line: int
    text: str
    what: str


def lint_template(path: Path, language: Language = ENGLISH) -> tuple[list[Finding], int]:
    """The typed numbers in the solutions of one template, and how many ``\\lit`` it marks.

    Solution text is the body of every ``\\BLOCK{ call solution() }`` and every branch that only
    the solutions edition renders (``\\BLOCK{ if edition == "solutions" }``, the ``else`` of
    ``edition == "problems"``). In it, both the literal text and the numbers of Jinja literals
    that are printed or bound (``\\VAR{ "0.7072" }``, ``\\VAR{ 0.70734 | fixed(4) }``,
    ``\\BLOCK{ set x = 12.5 }``) are linted; so is a number set outside a solution and printed in one.
    Decimals are read in ``language``'s notation (and in English's).
    """
    ast = _environment().parse(path.read_text(encoding="utf-8"), filename=str(path))
    scan = _Scan(path, language=language)
    scan.visit(ast, in_solution=False)
    for name in scan.printed_names:
        scan.findings += scan.sets.get(name, [])
    return sorted(set(scan.findings), key=lambda f: (f.line, f.text)), scan.literals


def problem_numbers(path: Path, language: Language = ENGLISH) -> list[Finding]:
    """The numbers typed into what both editions show (problem and chapter text), as the lint finds them
    in solutions: the separation check compares them with the numbers only solutions print."""
    ast = _environment().parse(path.read_text(encoding="utf-8"), filename=str(path))
    scan = _Scan(path, solutions=False, language=language)
    scan.visit(ast, in_solution=False)
    return sorted(set(scan.findings), key=lambda f: (f.line, f.text))


class _Scan:
    """One walk over a template's syntax tree, knowing whether it is in solution text."""

    def __init__(self, path: Path, solutions: bool = True, language: Language = ENGLISH) -> None:
        self.path = path
        self.language = language
        self.solutions = solutions  # False: scan what is not solution text instead
        self.findings: list[Finding] = []
        self.literals = 0
        self.sets: dict[str, list[Finding]] = {}  # numbers set outside solutions, by name
        self.printed_names: set[str] = set()  # names printed in solutions

    def visit(self, node: nodes.Node, in_solution: bool) -> None:
        if isinstance(node, nodes.CallBlock) and isinstance(node.call.node, nodes.Name) \
                and node.call.node.name == "solution":
            for child in node.body:
                self.visit(child, True)
            return
        if isinstance(node, nodes.If):
            edition = _edition_test(node.test)
            for child in node.body:
                self.visit(child, in_solution or edition == "solutions")
            for child in [*node.elif_, *node.else_]:
                self.visit(child, in_solution or edition == "problems")
            return
        scanned = in_solution == self.solutions  # whether this is the text being scanned
        if isinstance(node, nodes.TemplateData):
            if scanned:
                self.literals += len(LITERAL.findall(node.data))
                self.findings += lint_text(self.path, node.data, node.lineno, self.language)
            return
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    self.visit(child, in_solution)
                elif scanned:
                    self.typed(child)
                    self.printed_names |= {n.name for n in _printed(child) if isinstance(n, nodes.Name)}
            return
        if isinstance(node, nodes.Assign):
            if scanned:
                self.typed(node.node)
            elif self.solutions and isinstance(node.target, nodes.Name):
                found = [f for c in _printed(node.node) if isinstance(c, nodes.Const) for f in self.const(c)]
                self.sets.setdefault(node.target.name, []).extend(found)
        if isinstance(node, nodes.For) and scanned:
            self.typed(node.iter)
        for child in node.iter_child_nodes():
            self.visit(child, in_solution)

    def typed(self, expression: nodes.Node) -> None:
        """The numbers typed as Jinja literals in what ``expression`` prints or binds."""
        for node in _printed(expression):
            if isinstance(node, nodes.Const):
                self.findings += self.const(node)

    def const(self, node: nodes.Const) -> list[Finding]:
        value = node.value
        if isinstance(value, str):
            return lint_text(self.path, value, node.lineno, self.language)
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and (isinstance(value, float) or abs(value) >= 10):
            return [Finding(self.path, node.lineno, repr(value),
                                "a decimal number" if isinstance(value, float) else "a number")]
        return []


def _printed(node: nodes.Node) -> list[nodes.Node]:
    """The constants and names whose value ``node`` prints: not filter or call arguments, subscripts or tests."""
    if isinstance(node, (nodes.Const, nodes.Name)):
        return [node]
    if isinstance(node, nodes.Filter):
        return _printed(node.node) if node.node is not None else []
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return [found for item in node.items for found in _printed(item)]
    if isinstance(node, nodes.Dict):
        return [found for item in node.items for found in _printed(item.value)]
    if isinstance(node, nodes.Concat):
        return [found for item in node.nodes for found in _printed(item)]
    if isinstance(node, nodes.CondExpr):
        return [*_printed(node.expr1), *(_printed(node.expr2) if node.expr2 is not None else [])]
    if isinstance(node, nodes.BinExpr):
        return [*_printed(node.left), *_printed(node.right)]
    if isinstance(node, nodes.UnaryExpr):
        return _printed(node.node)
    return []


def _edition_test(test: nodes.Node) -> str | None:
    """The edition a condition selects: ``edition == "solutions"`` and ``edition != "problems"`` select
    "solutions"; the reverse "problems"; any other condition None."""
    if not (isinstance(test, nodes.Compare) and len(test.ops) == 1 and test.ops[0].op in ("eq", "ne")):
        return None
    left, right = test.expr, test.ops[0].expr
    if isinstance(right, nodes.Name):
        left, right = right, left
    if not (isinstance(left, nodes.Name) and left.name == "edition" and isinstance(right, nodes.Const)
            and right.value in ("solutions", "problems")):
        return None
    if test.ops[0].op == "eq":
        return right.value
    return "problems" if right.value == "solutions" else "solutions"


def lint_text(path: Path, text: str, first_line: int, language: Language = ENGLISH) -> list[Finding]:
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
    decimal = COMMA_DECIMAL if language.decimal != "." else DECIMAL
    for pattern, what in ((decimal, "a decimal number"), (MULTI_DIGIT, "a number")):
        for match in pattern.finditer(masked):
            findings.append(_finding(path, text, first_line, match.start(), what, match[0]))
            masked = masked[:match.start()] + _blank(match) + masked[match.end():]  # 14 of 3{,}14 is not a number
    return findings


def lint_project(project: Project) -> tuple[list[Finding], int]:
    findings, literals = [], 0
    for chapter in project.chapters:
        found, marked = lint_template(chapter.template, LANGUAGES[project.language])
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
