"""Answer space in the problems edition: the vocabulary, and what solman.sty draws, measured on the page."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURE, edit

from solman.build.pipeline import build
from solman.project.answerspace import NONE, AnswerSpace, fill_of, space_of
from solman.project.settings import load_project

BP_PER_CM = 72 / 2.54  # poppler measures in PostScript points
TEXT_WIDTH = 12.8 * BP_PER_CM  # solman.sty: textwidth=128mm
TEXT_TOP = 2.5 * BP_PER_CM - 5  # top=25mm (a line's box reaches a little above it)
TEXT_BOTTOM = (2.5 + 18.6) * BP_PER_CM  # textheight=186mm
LINE_SPACING = 0.25 * 72  # \solmanlinespacing: exam.cls's .25in
GRID = 0.5 * BP_PER_CM  # \solmangridsize: 5mm
DPI = 144  # two pixels per point


# --- the vocabulary -------------------------------------------------------------------------------

@pytest.mark.parametrize("given, read", [("4cm", "4cm"), (" 1.5in ", "1.5in"), (".5mm", ".5mm"), ("12pt", "12pt"),
                                         ("3em", "3em"), ("2ex", "2ex"), ("stretch", "stretch"), ("0", NONE),
                                         ("0cm", NONE), (0, NONE), (0.0, NONE), (None, NONE)])
def test_a_space_is_a_length_stretch_or_nothing(given, read):
    assert space_of(given) == read


@pytest.mark.parametrize("given, message", [
    ("4", "is not a length"), ("4 lines", "has the unit 'lines'"), ("-1cm", "is not a length"),
    ("\\baselineskip", "is not a length"), ("2\\baselineskip", "is not a length"), ("1cm plus 1fil", "is not a length"),
    ("51cm", "taller than any page"), (4, "a length in quotes"), (True, "a length in quotes"), (False, "a length in quotes"),
])
def test_a_space_that_is_not_a_length_says_why(given, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        space_of(given)


def test_fills_are_exam_cls_fills():
    assert [fill_of(f) for f in ("blank", "lines", "dotted", "box", "grid")] == ["blank", "lines", "dotted", "box", "grid"]
    with pytest.raises(ValueError, match="unknown fill 'dottedlines': use one of blank, lines, dotted, box, grid"):
        fill_of("dottedlines")


@pytest.mark.parametrize("kind, own, expected", [
    ("open", AnswerSpace(), ("5cm", "box")),  # the chapter's space, the project's fill
    ("open", AnswerSpace(fill="grid"), ("5cm", "grid")),
    ("open", AnswerSpace(space="1cm"), ("1cm", "box")),
    ("open", AnswerSpace(space=NONE), None),
    ("mcq", AnswerSpace(), None),  # defaults are for open questions
    ("tf", AnswerSpace(space="2cm"), ("2cm", "box")),  # ... unless the question asks
])
def test_a_question_says_first_then_its_chapter_then_the_project(kind, own, expected):
    assert own.drawn(kind, AnswerSpace(space="5cm"), AnswerSpace(space="3cm", fill="box")) == expected
    assert AnswerSpace(fill="lines").over(AnswerSpace("3cm", "box")) == AnswerSpace("3cm", "lines")


# --- the page ---------------------------------------------------------------------------------------

QUESTIONS = r"""
\clearpage
\VAR{ problem("Answer space", 3) }
\BLOCK{ call question("3x") }
No space here.
\BLOCK{ endcall }
\BLOCK{ call question("3a", space="3cm", fill="blank") }
Fill blank.
\BLOCK{ endcall }
\BLOCK{ call question("3y") }
After blank.
\BLOCK{ endcall }
\BLOCK{ call question("3b", space="3cm", fill="lines") }
Fill lines.
\BLOCK{ endcall }
\BLOCK{ call question("3c", space="3cm", fill="dotted") }
Fill dotted.
\BLOCK{ endcall }
\BLOCK{ call question("3d", space="3cm", fill="box") }
Fill box.
\BLOCK{ endcall }
\BLOCK{ call question("3e", space="3cm", fill="grid") }
Fill grid.
\BLOCK{ endcall }
\BLOCK{ call question("3f", space="stretch", fill="lines") }
Fill stretch.
\BLOCK{ endcall }
\BLOCK{ call question("3g") }
Past the end.
\BLOCK{ endcall }
\clearpage
Ruled low.\par\noindent\rule{1pt}{14.5cm}
\BLOCK{ call question("3h", space="stretch") }
Too low on the page.
\BLOCK{ endcall }
\clearpage
Ruled high.\par\noindent\rule{1pt}{11cm}
\BLOCK{ call question("3i", space="stretch") }
High enough on the page.
\BLOCK{ endcall }
\BLOCK{ call question("3j", space="30cm", fill="box") }
Taller than a page.
\BLOCK{ endcall }
\BLOCK{ call question("3k", space="3cm", fill="lines") }
Noted.\footnote{The footnote under the space.}
\begin{figure}[t]\centering\rule{2cm}{1cm}\caption{The figure in place.}\end{figure}
\BLOCK{ endcall }
"""


@dataclass
class Word:
    page: int
    text: str
    x: float
    top: float
    bottom: float


def words(pdf: Path) -> list[Word]:
    """Every word of ``pdf`` with its page and box, in PostScript points from the top left."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    found, page = [], 0
    for line in html.splitlines():
        if "<page " in line:
            page += 1
        elif match := re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)<', line):
            found.append(Word(page, match[4], float(match[1]), float(match[2]), float(match[3])))
    return found


def word(found: list[Word], text: str) -> Word:
    """The first word ``text``, stretched to the start of its line (a statement's box, from the margin)."""
    last = next(w for w in found if w.text == text)
    first = min((w for w in found if w.page == last.page and abs(w.top - last.top) < 1), key=lambda w: w.x)
    return Word(last.page, text, first.x, last.top, last.bottom)


def pixels(pdf: Path, page: int, folder: Path) -> np.ndarray:
    """Page ``page`` in grey, without anti-aliasing (a rule is dark pixels, not a blur)."""
    out = folder / f"page{page}"
    subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(DPI), "-gray", "-aa", "no",
                    "-aaVector", "no", "-singlefile", str(pdf), str(out)], check=True)
    data = (folder / f"page{page}.pgm").read_bytes()
    header = data.split(b"\n", 3)
    width, height = map(int, header[1].split())
    return np.frombuffer(header[3], dtype=np.uint8)[:width * height].reshape(height, width)


def runs(flags: np.ndarray) -> int:
    """How many runs of True ``flags`` has (a rule one or two pixels thick is one run)."""
    return int(np.sum(flags[1:] & ~flags[:-1]) + flags[0])


def below(image: np.ndarray, statement: Word, height: float) -> np.ndarray:
    """Where the space under ``statement`` is: ``height`` points down, the width of the text, dark or not."""
    scale = DPI / 72
    top, left = int((statement.bottom + 1) * scale), int((statement.x - 1) * scale)
    return image[top:int((statement.bottom + height) * scale), left:left + int((TEXT_WIDTH + 2) * scale)] < 200


@pytest.fixture(scope="module")
def spaced(tmp_path_factory) -> tuple[Path, list[Word], Path]:
    """The fixture's problems edition with a problem of answer spaces: its PDF, words and a scratch folder."""
    root = tmp_path_factory.mktemp("spaced") / "project"
    shutil.copytree(FIXTURE, root)
    with open(root / "chapters" / "demo.tex.j2", "a", encoding="utf-8") as handle:
        handle.write(QUESTIONS)
    build(load_project(root), chapter="demo", edition="problems")
    pdf = root / "build" / "chapters" / "demo-problems.pdf"
    return pdf, words(pdf), tmp_path_factory.mktemp("pages")


@pytest.mark.tex
def test_the_text_after_a_space_starts_lower_by_the_space(spaced):
    _, found, _ = spaced
    before, spaced_statement, after = (word(found, w) for w in ("No", "Fill", "After"))
    assert before.page == spaced_statement.page == after.page
    plain = spaced_statement.top - before.top  # from one statement to the next, with no space between
    assert 3 * BP_PER_CM <= (after.top - spaced_statement.top) - plain <= 3 * BP_PER_CM + 12


@pytest.mark.tex
@pytest.mark.parametrize("fill, rows, columns", [
    ("blank", 0, 0),
    ("lines", int(3 * BP_PER_CM // LINE_SPACING), 0),  # 4 lines, 0.25in apart
    ("box", 2, 2),
    ("grid", 7, 26),  # whole 5mm squares: 6 in 3cm, 25 in 128mm
])
def test_each_fill_draws_its_lines_in_exactly_its_space(spaced, fill, rows, columns):
    pdf, found, folder = spaced
    statement = word(found, fill + ".")
    space = below(pixels(pdf, statement.page, folder), statement, 3 * BP_PER_CM + 14)  # a gap, then 3cm
    assert runs(space.mean(axis=1) > 0.5) == rows
    assert runs(space.mean(axis=0) > 0.5) == columns
    if fill in ("box", "grid"):  # from its top line to its bottom line: 3cm (grid: whole squares)
        drawn = np.nonzero(space.mean(axis=1) > 0.5)[0]
        assert (drawn[-1] - drawn[0]) * 72 / DPI == pytest.approx(
            3 * BP_PER_CM if fill == "box" else (rows - 1) * GRID, abs=1.5)


@pytest.mark.tex
def test_dotted_lines_are_dots(spaced):
    pdf, found, folder = spaced
    statement = word(found, "dotted.")
    space = below(pixels(pdf, statement.page, folder), statement, 3 * BP_PER_CM + 14)
    dotted = space.mean(axis=1)
    assert runs(dotted > 0.1) == int(3 * BP_PER_CM // LINE_SPACING) and dotted.max() < 0.5


@pytest.mark.tex
def test_stretch_fills_the_rest_of_the_page_and_the_next_question_starts_a_new_one(spaced):
    pdf, found, folder = spaced
    statement, after = word(found, "stretch."), word(found, "Past")
    assert after.page == statement.page + 1
    assert [w.text for w in found if w.page == after.page and w.top > TEXT_TOP][:3] == ["3", "(g)", "Past"]  # first
    space = below(pixels(pdf, statement.page, folder), statement, TEXT_BOTTOM - statement.bottom)
    lines = np.nonzero(space.mean(axis=1) > 0.5)[0]
    assert runs(space.mean(axis=1) > 0.5) >= 4 * BP_PER_CM // LINE_SPACING  # at least \solmanstretchminimum
    assert (space.shape[0] - lines[-1]) * 72 / DPI < LINE_SPACING + 2  # the last line near the bottom of the text


@pytest.mark.tex
def test_stretch_moves_the_question_on_when_less_than_its_minimum_is_left(spaced):
    _, found, _ = spaced  # 14.5cm of a 18.6cm page used: less than 4cm would be left; 11cm: more
    assert word(found, "Too").page == word(found, "low.").page + 1
    assert word(found, "High").page == word(found, "high.").page


@pytest.mark.tex
def test_a_space_taller_than_a_page_is_shortened_to_fit_on_one(spaced):
    pdf, found, folder = spaced
    statement = word(found, "Taller")  # "Taller than a page.", alone at the top of its page
    box = below(pixels(pdf, statement.page, folder), statement, TEXT_BOTTOM - statement.bottom + 20)
    drawn = np.nonzero(box.mean(axis=1) > 0.5)[0]
    assert len(drawn) and (drawn[-1] - drawn[0]) * 72 / DPI > 15 * BP_PER_CM
    assert statement.bottom + drawn[-1] * 72 / DPI < TEXT_BOTTOM + 1


@pytest.mark.tex
def test_a_statement_with_space_keeps_its_footnotes_and_its_figures_in_place(spaced):
    pdf, found, folder = spaced
    statement, caption = word(found, "Noted."), word(found, "place.")
    footnote = [w for w in found if w.text == "footnote"][0]
    assert statement.page == caption.page == footnote.page
    assert statement.bottom < caption.top  # where it is written, not at the top of a page
    assert footnote.top > caption.bottom + 3 * BP_PER_CM  # under the space


@pytest.mark.tex
def test_a_question_and_its_space_move_to_the_next_page_together(spaced):
    _, found, _ = spaced
    for fill in ("lines", "dotted", "box", "grid"):
        statement = word(found, fill + ".")
        above = max(w.top for w in found if w.page == statement.page and w.top < statement.top - 1)
        heading = [w.text for w in found if w.page == statement.page and w.top == above]
        assert heading[0] == "3" and heading[1].startswith("("), (fill, heading)  # "3 (b)", on the same page
        assert statement.bottom + 3 * BP_PER_CM < TEXT_BOTTOM + 1  # and its space above the page's bottom


@pytest.mark.tex
def test_answer_space_changes_the_problems_edition_only(tmp_path: Path, built: Path):
    solutions = [built / "build" / name for name in ("manual.pdf", "chapters/demo-solutions.pdf",
                                                     "tex/chapters/demo-solutions.tex")]
    before = [path.read_bytes() for path in solutions]
    with open(built / "pyproject.toml", "a", encoding="utf-8") as handle:
        handle.write('\n[tool.solman.answer_space]\nspace = "3cm"\nfill = "lines"\n')
    edit(built / "chapters" / "demo.tex.j2", 'call question("1b", points=1)',
         'call question("1b", points=1, space="4cm", fill="grid")')
    edit(built / "chapters" / "demo.tex.j2", '\\VAR{ problem("Estimation", 2) }',
         '\\VAR{ answer_space(fill="box") }\n\\VAR{ problem("Estimation", 2) }')
    done = build(load_project(built))
    assert sorted(t.output for t in done.targets if t.name in done.compiled) == [
        "chapters/demo-problems.pdf", "problems.pdf"]
    assert [path.read_bytes() for path in solutions] == before
    problems = (built / "build" / "tex" / "chapters" / "demo-problems.tex").read_text()
    assert re.findall(r"\\begin\{withspace\}\{(\w+)\}\{(\w+)\}", problems) == [
        ("3cm", "lines"), ("4cm", "grid"), ("3cm", "box")]
