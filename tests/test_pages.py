"""solman.checking.pages: no question split across pages (issue 19, "no bad breaks").

The checker reads the position marks solman.sty leaves (named destinations); it is tested on a PDF made by
hand with marks on chosen pages, on the fixture project with questions at a page's foot (kept whole by
the style) and one too long for a page (caught, warned at its template line, failed by verify), and on
the flagship's built PDFs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURE

from solman.build.pipeline import build
from solman.checking.pages import Split, page_splits, question_marks
from solman.checking.verification import verify
from solman.project.settings import load_project

pytestmark = pytest.mark.tex


def marked_pdf(folder: Path, pages: list[list[str]]) -> Path:
    """A PDF whose page i carries the destinations named in ``pages[i]``, as solman.sty names them."""
    body = "\\newpage\n".join("".join(f"\\pdfdest name{{solman.{name}}} xyz\\relax\n" for name in names) + "x\n"
                              for names in pages)
    (folder / "marks.tex").write_text(f"\\documentclass{{article}}\\begin{{document}}\n{body}\\end{{document}}\n")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "marks.tex"], cwd=folder,
                   capture_output=True, check=True)
    return folder / "marks.pdf"


def test_each_rule_is_checked_on_the_pages_of_the_marks(tmp_path):
    pdf = marked_pdf(tmp_path, [
        ["q:c:1.head.1", "q:c:1.option.2", "q:c:2.head.4"],
        ["q:c:1.options.3", "q:c:2.option.5", "q:c:2.options.6", "q:c:4.1d.stem.7"],
        ["q:c:4.1d.solution.8", "q:c:5.head.9", "q:c:5.option.10", "q:c:5.options.11", "q:c:5.stem.12",
         "q:c:5.solution.13", "other.destination"],
    ])
    assert question_marks(pdf)["q:c:4.1d"] == {"stem": [2], "solution": [3]}  # an id with a dot
    assert page_splits(pdf) == [
        Split("q:c:1", "question 1's options start on page 1 and end on page 2"),
        Split("q:c:2", "question 2's heading is on page 1, its options on page 2"),
        Split("q:c:4.1d", "question 4.1d's statement ends on page 2, its solution starts on page 3"),
    ]
    assert page_splits(pdf)[2].chapter == "c" and page_splits(pdf)[2].question == "4.1d"


def test_a_pdf_without_marks_has_no_splits(tmp_path):
    assert page_splits(marked_pdf(tmp_path, [["unrelated"], []])) == []


OPTIONS = "\\begin{options}\n" + "".join(f"\\item Option number {i}.\n" for i in range(1, 5)) + "\\end{options}\n"
QUESTIONS = r"""
\VAR{ problem("Page feet", 3) }
\clearpage
\noindent\rule{1pt}{16cm}

\BLOCK{ call question("3a", kind="mcq") }
Which option is kept with this stem at the foot of the page?
It has two lines of stem.
""" + OPTIONS + r"""\BLOCK{ call solution() }
All of them.
\BLOCK{ endcall }
\BLOCK{ endcall }
\clearpage
\noindent\rule{1pt}{16.3cm}

\BLOCK{ call question("3b") }
An open question whose stem ends at the foot of a page, three lines long: it must not stay there
without its solution, whose first lines come on the same page as the stem's end, in the solutions
edition; in the problems edition it is simply a question.
\BLOCK{ call solution() }
The solution starts here.
\BLOCK{ endcall }
\BLOCK{ endcall }
\clearpage
\noindent\rule{1pt}{13.5cm}

\BLOCK{ call question("3e") }
A short stem, with room under it for the first lines of a solution, but not for its display.
\BLOCK{ call solution() }
The solution opens with a display that does not break:
\begin{align*}
a &= 1 \\ b &= 2 \\ c &= 3 \\ d &= 4 \\ e &= 5 \\ f &= 6 \\ g &= 7 \\ h &= 8
\end{align*}
\BLOCK{ endcall }
\BLOCK{ endcall }
\clearpage

\BLOCK{ call question("3d") }
\noindent\rule{1pt}{14.5cm}

A display of six lines that reaches the foot of the page moves to the next page whole:
\begin{align*}
a &= \text{RowOne} \\ b &= \text{RowTwo} \\ c &= \text{RowThree} \\
d &= \text{RowFour} \\ e &= \text{RowFive} \\ f &= \text{RowSix}
\end{align*}
after which this text goes on, and then a paragraph of several lines
ends the statement, its last line never alone at the top of a page, as its first line is never
alone at the foot of one: these lines fill the width of the text several times, so the paragraph has
at least three lines, and more than that.
\BLOCK{ endcall }

\BLOCK{ call question("3c", kind="mcq") }
A question with more options than a page holds.
\begin{options}
""" + "".join(f"\\item Option number {i} of many, long enough to fill two lines of the text's width with "
                                   "words that say no more than that they are here to fill it.\n" for i in range(1, 27)) + r"""\end{options}
\BLOCK{ call solution() }
None.
\BLOCK{ endcall }
\BLOCK{ endcall }
"""


@pytest.fixture(scope="module")
def feet(tmp_path_factory) -> tuple[Path, object]:
    """The fixture project with the questions above, built: its folder and the build's outcome."""
    root = tmp_path_factory.mktemp("feet") / "project"
    shutil.copytree(FIXTURE, root)
    with open(root / "chapters" / "demo.tex.j2", "a", encoding="utf-8") as handle:
        handle.write(QUESTIONS)
    return root, build(load_project(root))


def question_line(root: Path, question: str) -> int:
    lines = (root / "chapters" / "demo.tex.j2").read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if f'question("{question}"' in line)


@pytest.mark.parametrize("pdf", ["manual.pdf", "problems.pdf", "chapters/demo-solutions.pdf",
                                 "chapters/demo-problems.pdf"])
def test_a_question_at_a_page_foot_moves_whole_and_only_one_taller_than_a_page_splits(feet, pdf):
    root, _ = feet
    marks = question_marks(root / "build" / pdf)
    a, b = marks["q:demo:3a"], marks["q:demo:3b"]
    assert a["head"] == a["option"] == a["options"]  # the heading, stem and options moved on together
    if "solutions" in pdf or pdf == "manual.pdf":
        assert a["stem"] == a["solution"] == a["head"]
        assert b["stem"] == b["solution"]  # the stem's end went with its solution
        assert marks["q:demo:3e"]["stem"] == marks["q:demo:3e"]["solution"]  # and with a display opening it
    splits = page_splits(root / "build" / pdf)
    assert [s.question for s in splits] == ["3c"], splits
    assert "options start on page" in splits[0].message


def page_texts(pdf: Path) -> list[str]:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout.split("\f")


@pytest.mark.parametrize("pdf", ["chapters/demo-solutions.pdf", "chapters/demo-problems.pdf"])
def test_a_display_at_a_page_foot_does_not_break(feet, pdf):
    root, _ = feet
    pages = [i for i, text in enumerate(page_texts(root / "build" / pdf)) if "RowOne" in text or "RowSix" in text]
    assert len(pages) == 1, pages  # both rows on one page


def test_invoke_pdf_warns_of_each_split_at_its_template_line(feet):
    root, built = feet
    where = f"chapters/demo.tex.j2:{question_line(root, '3c')}: pages: question 3c's options start on page"
    assert [w for w in built.warnings if "pages:" in w] and all(w.startswith(where) for w in built.warnings
                                                                  if "pages:" in w)


def test_verify_fails_on_a_split_and_names_the_pdf_and_the_question(feet):
    root, _ = feet
    report = verify(load_project(root))
    splits = [f for f in report.failures if "options start on page" in f.message]
    assert not report.ok and {f.message.split(":")[0] for f in splits} == {
        "build/manual.pdf", "build/problems.pdf", "build/chapters/demo-solutions.pdf",
        "build/chapters/demo-problems.pdf"}
    assert all(str(f.location) == f"chapters/demo.tex.j2:{question_line(root, '3c')}" for f in splits)
    assert not [f for f in report.failures if "LaTeX warning" in f.message]  # reported once, not twice
