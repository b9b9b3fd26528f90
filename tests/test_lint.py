"""The hard-coded-number lint: typed results flagged, numbering and layout left alone."""

from pathlib import Path

import pytest

from solman.lint import lint_template, lint_text


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
])
def test_lint_text(text, flagged):
    assert [f.text for f in lint_text(Path("t"), text, 1)] == flagged


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
