r"""The questions of a rendered chapter as items a learning platform imports.

An item is one question of the solutions edition, taken from the very LaTeX the PDF is compiled
from: its statement (with the text that introduces its problem and section, so that it stands on its
own), its options, its worked solution, its points, and its answer from the answer key (the value
the solution prints, with its tolerance). Its type is what a platform grades:

=========================  ==================================================================
question                   item
=========================  ==================================================================
``kind="mcq"``             multiple choice: the options, the correct one
``kind="tf"``              true/false
open, a number answer      numerical: the value, tolerance from its printed precision or ``tol=``
open, a text answer        short answer: the text
open, any other answer     essay, its answer and the worked solution as feedback
``kind="essay"``           essay, the worked solution as feedback (graded by hand)
open, no answer            essay, the same, with a warning: give it ``answer=`` or ``kind="essay"``
=========================  ==================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from solman.exports.html import definitions
from solman.exports.keys import chapter_key
from solman.rendering.render import Rendered

QUESTION = re.compile(r"\\begin\{question\}\{(?P<label>(?:[^{}]|\{[^{}]*\})*)\}\{(?:[^{}]|\{[^{}]*\})*\}"
                      r"\{q:(?P<chapter>[^:}]*):(?P<id>[^}]*)\}")
PROBLEM = re.compile(r"^\\problem(?:\[[^\]]*\])?\{(?P<number>[^{}]*)\}\{(?P<title>.*)\}\s*$", re.MULTILINE)
SECTION = re.compile(r"^\\(?:sub)*section\*?\{.*\}\s*$", re.MULTILINE)
STATEMENT = re.compile(r"\\begin\{statement\}(?:\[solution\])?\n?(?P<body>.*?)\\end\{statement\}", re.DOTALL)
SOLUTION = re.compile(r"\\begin\{solution\}\{[^}]*\}\n?(?P<body>.*?)\\end\{solution\}", re.DOTALL)
OPTIONS = re.compile(r"\\begin\{options\}(?P<body>.*?)\\end\{options\}", re.DOTALL)
ITEM = re.compile(r"\\item\b\s*")


@dataclass
class Item:
    """One question of a chapter, as the LMS writers need it (LaTeX, converted to HTML by them)."""

    chapter: str
    id: str
    label: str
    kind: str  # "multichoice", "truefalse", "numerical", "shortanswer" or "essay"
    points: float | None
    problem: str | None
    context: str  # the LaTeX that introduces the question's problem and section
    statement: str
    options: list[str] = field(default_factory=list)
    solution: str = ""
    answer: dict | None = None  # the key's answer: kind, value, tolerance, latex
    template: str | None = None
    line: int | None = None
    by_hand: bool = False  # kind="essay": its answer is reasoning, graded by hand

    @property
    def name(self) -> str:
        """The question's label as plain text ("Q10", "3.2 (i)")."""
        from solman.exports.banks import plain

        return plain(self.label)


def chapter_items(rendered: Rendered) -> list[Item]:
    """The items of one rendered chapter (solutions edition), in the order of the chapter."""
    text = rendered.text
    key = {q["id"]: q for q in chapter_key(rendered)["questions"]}
    questions = {q.id: q for q in rendered.questions}
    spans = question_spans(text)
    items = []
    for question_id, (start, end) in spans.items():
        question = questions[question_id]
        block = text[start:end]
        statement_match = STATEMENT.search(block)
        statement = statement_match["body"] if statement_match else ""
        options = []
        found = OPTIONS.search(statement)
        if found:
            options = [o.strip() for o in ITEM.split(found["body"])[1:]]
            statement = statement[:found.start()] + statement[found.end():]
        solution_match = SOLUTION.search(block)
        answer = key[question_id]["answer"]
        items.append(Item(rendered.chapter or "", question_id, question.label, item_kind(question.kind, answer),
                          question.points, question.problem, context_before(text, start, spans),
                          statement.strip(), options, solution_match["body"].strip() if solution_match else "",
                          answer, question.template, question.line, question.kind == "essay"))
    return items


def item_kind(kind: str, answer: dict | None) -> str:
    if kind == "mcq":
        return "multichoice"
    if kind == "tf":
        return "truefalse"
    if answer is not None and answer["kind"] == "number":
        return "numerical"
    if answer is not None and answer["kind"] == "text":
        return "shortanswer"
    return "essay"


def question_spans(text: str) -> dict[str, tuple[int, int]]:
    """Question id -> (start, end) of its ``question`` environment in the rendered chapter."""
    spans = {}
    for match in QUESTION.finditer(text):
        end = text.find("\\end{question}", match.end())
        spans[match["id"]] = (match.start(), end + len("\\end{question}") if end >= 0 else len(text))
    return spans


def context_before(text: str, start: int, spans: dict[str, tuple[int, int]]) -> str:
    """The text that introduces the question at ``start``: its problem's introduction, and the
    introduction of its section when it is in one (the questions before it left out)."""
    problems = [m for m in PROBLEM.finditer(text) if m.start() < start]
    if not problems:
        return ""
    begin = problems[-1].end()
    pieces, at = [], begin
    for first, last in sorted(spans.values()):
        if last <= begin or first >= start:
            continue
        pieces.append(text[at:first])
        at = last
    pieces.append(text[at:start])
    between = "".join(pieces)
    sections = list(SECTION.finditer(between))
    if not sections:
        return between.strip()
    intro, current = between[:sections[0].start()], between[sections[-1].start():]
    return (intro.strip() + "\n\n" + current.strip()).strip()


def chapter_macros(rendered: Rendered):
    """The macros the chapter defines, for formulas (solman.exports.html)."""
    return definitions(rendered.text)
