r"""No bad breaks: whether a question's parts share a page in a built PDF.

solman.sty keeps a question together (its heading, stem and options are one box; its solution keeps its
first lines with them; no display breaks), and leaves position marks that this module reads back: a named
destination ``solman.<anchor>.<what>.<n>`` at the question's heading (``head``), its first option
(``option``), the end of its options (``options``), the end of its statement (``stem``, solutions edition)
and the start of its solution (``solution``). ``pdfinfo -dests`` lists each with its page.

Why position marks and not the text of each page (``pdftotext`` page by page, matching the questions'
words): a mark is exactly where the part is, whatever the text says or how often it says it (options
"(A) True" recur on every page of an exam, a heading "Q7" is also "Q7" in the contents and in a cross
reference); it is invisible and not text, so it changes neither what the PDF shows nor the checks that
read its words; and it is in the PDF itself, so any PDF solman built can be checked, ``--pdf`` included.

The rules (a ``Split`` for each one broken):

- the options: the heading, the first option and the end of the options are on one page;
- the solution: the end of the statement and the start of the solution are on one page (so a stem is
  never alone at a page's foot, its solution on the next page).
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from solman.errors import Location, SolmanError, VerificationFailure
from solman.rendering.render import Rendered

PARTS = ("head", "option", "options", "stem", "solution")
MARK = re.compile(rf"solman\.(?P<anchor>q:[^:]*:.+)\.(?P<part>{'|'.join(PARTS)})\.(?P<number>\d+)")  # \solman@mark
DESTINATION = re.compile(r'^\s*(?P<page>\d+)\s+\[[^\]]*\]\s+"(?P<name>.*)"\s*$')
HINT = ("solman.sty keeps a question's heading, stem and options on one page and its solution's first lines "
        "with them; a statement taller than a page must break: shorten it, or split the question")


@dataclass(frozen=True)
class Split:
    """A question whose parts are on two pages."""

    anchor: str  # q:<chapter>:<question>, as the question's \label
    message: str

    @property
    def chapter(self) -> str:
        return self.anchor.split(":", 2)[1]

    @property
    def question(self) -> str:
        return self.anchor.split(":", 2)[2]


def question_marks(pdf: Path) -> dict[str, dict[str, list[int]]]:
    """The page of each position mark in ``pdf``: anchor -> part -> pages, in the order they were set."""
    listing = subprocess.run(["pdfinfo", "-dests", str(pdf)], capture_output=True, text=True, errors="replace",
                             check=False)
    found: dict[str, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for line in listing.stdout.splitlines():
        match = DESTINATION.match(line)
        mark = MARK.fullmatch(match["name"]) if match else None
        if mark:
            found[mark["anchor"]][mark["part"]].append((int(mark["number"]), int(match["page"])))
    return {anchor: {part: [page for _, page in sorted(marks)] for part, marks in parts.items()}
            for anchor, parts in found.items()}


def page_splits(pdf: Path) -> list[Split]:
    """Every question of ``pdf`` whose parts are not on the pages the rules say (see the module)."""
    splits = []
    marks = question_marks(pdf)
    for anchor, parts in marks.items():
        label = anchor.split(":", 2)[-1]
        heads, first, ends = parts.get("head", []), parts.get("option", []), parts.get("options", [])
        if first and ends and first[0] != ends[-1]:
            splits.append(Split(anchor, f"question {label}'s options start on page {first[0]} and end on "
                                        f"page {ends[-1]}"))
        elif first and heads and heads[0] != first[0]:
            splits.append(Split(anchor, f"question {label}'s heading is on page {heads[0]}, its options on "
                                        f"page {first[0]}"))
        for stem, solution in zip(parts.get("stem", []), parts.get("solution", [])):
            if stem != solution:
                splits.append(Split(anchor, f"question {label}'s statement ends on page {stem}, its solution "
                                            f"starts on page {solution}"))
    return sorted(splits, key=lambda s: (min(p for pages in marks[s.anchor].values() for p in pages), s.message))


def split_location(root: Path, chapters: Mapping[tuple[str, str], Rendered], split: Split) -> Location | None:
    """The template line of the question that splits (``chapters``: the rendered chapters, by (chapter,
    edition))."""
    question = next((q for (chapter, _), rendered in chapters.items() if chapter == split.chapter
                     for q in rendered.questions if q.id == split.question), None)
    if question is None or question.template is None:
        return None
    return Location.of(root / question.template, question.line, root)


def page_check(root: Path, chapters: Mapping[tuple[str, str], Rendered], pdfs: Iterable[Path],
               shown: Callable[[Path], str] = str) -> list[SolmanError]:
    """``invoke verify``'s check: a failure for each question split across pages in each of ``pdfs``,
    at its template line (``chapters``: the rendered chapters, by (chapter, edition))."""
    failures: list[SolmanError] = []
    for pdf in pdfs:
        for split in page_splits(pdf):
            failures.append(VerificationFailure(f"{shown(pdf)}: {split.message} (chapter {split.chapter})",
                                                location=split_location(root, chapters, split), hint=HINT))
    return failures
