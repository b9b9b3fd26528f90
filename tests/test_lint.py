"""The hard-coded-number lint: typed results flagged, numbering and layout left alone."""

from pathlib import Path

import pytest

from solman.checking.lint import lint_template, lint_text, problem_numbers
from solman.project.language import LANGUAGES


@pytest.mark.parametrize("text, flagged", [
    ("The value is 0.25 and there are 12 items.", ["0.25", "12"]),
    (r"See Eq.~(12), question 4.1, Figure 3, Assignment 11, problems 2.3 (a) and 3.1.", []),
    (r"$x^{12}$, $a_{10}$, $10^{-3}$, \vspace{12pt}, \begin{axis}[xmin=-10, width=0.6\textwidth]", []),
    (r"Kipf and Welling \lit{(2017)}, drawn in solaccent!40", []),
    (r"$\frac{12}{5}$ and $\frac{1}{2}$", ["12"]),
    (r"% 3.14 only in a comment", []),
    (r"$A = \begin{bmatrix}1 & 0\\0 & 1\end{bmatrix}$", [r"\begin{bmatrix}1 & 0\\0 & 1"]),
    (r"$\begin{pmatrix}a\\b\end{pmatrix}$", []),
    ("so (18) minimises it", []),
    ("\\begin{axis}[xlabel={step $t$}, ymin=-1.2,\n  legend style={fill opacity=0.8}, height=0.46\\textwidth]", []),
    ("$f(x) = 12$ at $x = (12)$", ["12", "12"]),
    (r"$\phi'(10) = 1$ and $f(20)$, $g_{(10)}$", ["10", "20"]),
    (r"questions~5.3 and~5.6, Figures 2 and~3", []),
])
def test_lint_text(text, flagged):
    assert [f.text for f in lint_text(Path("t"), text, 1)] == flagged


@pytest.mark.parametrize("code, text, flagged", [
    ("en", r"Typed the French way: $3{,}14$ and $12{,}5$; a list 1,5 is not a decimal.", ["3{,}14", "12{,}5"]),
    ("fr", r"La valeur est 0,5, soit $0{,}50$ (ou 2.5), à l'exercice 12 du chapitre 3, $x_{1,2}$ et (1, 2).",
     ["0,5", "0{,}50", "2.5"]),
    ("de", r"Der Wert ist 3,147 (Aufgabe 4.1, Kapitel 2, Abbildung 3 und Gl.~(7)).", ["3,147"]),
])
def test_lint_reads_decimals_in_the_projects_language(code, text, flagged):
    """A comma between digits is a decimal where the language says so; ``{,}`` is one in any language.
    French and German numbering words are the source's numbering, as the English ones are."""
    assert sorted(f.text for f in lint_text(Path("t"), text, 1, LANGUAGES[code])) == sorted(flagged)


def test_only_solutions_are_linted_and_lines_are_exact(tmp_path: Path):
    template = tmp_path / "c.tex.j2"
    template.write_text(
        "Problem text with 3.5 and 42 is a given.\n"
        "\\BLOCK{ call question('1') }\n"
        "Also 17 here.\n"
        "\\BLOCK{ call solution() }\n"
        "First line.\n"
        "The answer is 0.75 \\VAR{ x } and \\lit{1999}.\n"
        "\\BLOCK{ if x }\n"
        "Inside a branch: 128.\n"
        "\\BLOCK{ endif }\n"
        "\\BLOCK{ endcall }\n"
        "\\BLOCK{ endcall }\n")
    findings, literals = lint_template(template)
    assert [(f.line, f.text, f.what) for f in findings] == [(6, "0.75", "a decimal number"), (8, "128", "a number")]
    assert literals == 1


def lint_of(tmp_path: Path, text: str) -> list[tuple[int, str, str]]:
    template = tmp_path / "c.tex.j2"
    template.write_text(text)
    return [(f.line, f.text, f.what) for f in lint_template(template)[0]]


def test_numbers_typed_as_jinja_literals_in_a_solution_are_flagged(tmp_path: Path):
    assert lint_of(tmp_path,
                   "\\BLOCK{ set given = 12.5 }\n"
                   "\\BLOCK{ set width = 0.6 }\n"
                   "\\BLOCK{ call question('1') }\n"
                   "Given \\VAR{ 3.25 } and \\VAR{ width }.\n"
                   "\\BLOCK{ call solution() }\n"
                   "It is \\VAR{ \"0.7072\" }, or \\VAR{ 0.70734 | fixed(4) }, \\VAR{ x | fixed(4) }.\n"
                   "\\BLOCK{ set y = 2.5 }\\VAR{ y } and \\VAR{ given }; \\VAR{ m[10] } \\VAR{ see('c', '2.1') }\n"
                   "\\BLOCK{ endcall }\n"
                   "\\BLOCK{ endcall }\n") == [
        (1, "12.5", "a decimal number"),  # set outside the solution, printed in it
        (6, "0.7072", "a decimal number"), (6, "0.70734", "a decimal number"), (7, "2.5", "a decimal number")]


def test_text_only_the_solutions_edition_shows_is_linted_as_a_solution(tmp_path: Path):
    assert lint_of(tmp_path,
                   "\\BLOCK{ call question('1') }\n"
                   "Given 3.5 in both editions.\n"
                   "\\BLOCK{ if edition == \"solutions\" } The answer is 0.7072. \\BLOCK{ endif }\n"
                   "\\BLOCK{ if edition == \"problems\" }Given 42.\\BLOCK{ else }Typed 17.\\BLOCK{ endif }\n"
                   "\\BLOCK{ if \"problems\" != edition }Also 0.25.\\BLOCK{ endif }\n"
                   "\\BLOCK{ endcall }\n") == [
        (3, "0.7072", "a decimal number"), (4, "17", "a number"), (5, "0.25", "a decimal number")]


def test_the_numbers_typed_into_problem_text_are_what_the_separation_check_compares(tmp_path: Path):
    template = tmp_path / "c.tex.j2"
    template.write_text("\\BLOCK{ call question('1') }\nGiven 3.147 and \\VAR{ 12.5 }, question 4.1.\n"
                        "\\BLOCK{ call solution() }\nIt is 0.7072.\n\\BLOCK{ endcall }\n"
                        "\\BLOCK{ if edition == \"problems\" }Hint: 2.25.\\BLOCK{ endif }\n\\BLOCK{ endcall }\n")
    assert [(f.line, f.text) for f in problem_numbers(template)] == [(2, "12.5"), (2, "3.147"), (6, "2.25")]
