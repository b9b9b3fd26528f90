"""The printer (solman/values/printer.py): each choice of the printing policy, as exact LaTeX, and the
display reader (solman/checking/display.py) reading every form back as the value it came from."""

from __future__ import annotations

import pytest
import sympy as sp

from solman.checking.display import Unreadable, compare, parse_expression
from solman.project.printing import Printing
from solman.values.filters import latex

x, t, w, theta = sp.symbols("x t omega theta")
KEEP = Printing(surds="keep")
LN = Printing(log="ln")


def printed(expr, policy: Printing | None = None, language: str = "en", **settings) -> str:
    return latex(expr, language=language, printing=policy, **settings)


def reads_back(expr, shown: str) -> None:
    assert compare(expr, shown, "latex") is None, shown


CASES = [  # (value, policy, LaTeX): every form the policy prints
    # a function of one symbol or number: no parentheses
    (2 * sp.cos(w) + 2 * sp.cos(2 * w) + 1, None, r"2 \cos\omega + 2 \cos(2 \omega) + 1"),
    (sp.sin(w) * sp.cos(w), None, r"\sin\omega \cos\omega"),
    (sp.sin(w) ** 2, None, r"\sin^{2}\omega"),
    (t * sp.log(t), None, r"t \log t"),
    (t * sp.log(t), LN, r"t \ln t"),
    (sp.log(2) * x, LN, r"x \ln 2"),
    (sp.log(x) ** 2, LN, r"\ln^{2} x"),
    (sp.log(sp.pi) / 2, LN, r"\frac{\ln\pi}{2}"),
    # of anything else: parentheses without the gap of \log{\left(...\right)}, sized when the argument is tall
    (sp.log(2 * sp.pi), LN, r"\ln(2 \pi)"),
    (sp.log(sp.E * sp.pi / 6) / 2, LN, r"\frac{\ln\mathopen{}\left(\frac{e \pi}{6}\right)}{2}"),
    (sp.log(2 * sp.pi * (theta ** 2 + 1)), None, r"\log\mathopen{}\left(2 \pi \left(\theta^{2} + 1\right)\right)"),
    (sp.Function("softplus")(x), None, r"\operatorname{softplus}\mathopen{}\left(x\right)"),
    (sp.gamma(x + 1), None, r"\Gamma\left(x + 1\right)"),
    # fractional powers: x^{3/2}, brackets sized to what they hold
    (x ** sp.Rational(3, 2), None, "x^{3/2}"),
    ((2 * x + 1) ** sp.Rational(3, 2), None, r"\left(2 x + 1\right)^{3/2}"),
    # surds: sympy's rationalised form, or kept in the denominator
    (1 / sp.sqrt(3), None, r"\frac{\sqrt{3}}{3}"),
    (1 / sp.sqrt(3), KEEP, r"\frac{1}{\sqrt{3}}"),
    (sp.sqrt(6) / 12, KEEP, r"\frac{1}{2 \sqrt{6}}"),
    (-sp.sqrt(3) * x / 6, KEEP, r"- \frac{x}{2 \sqrt{3}}"),
    (sp.Rational(5, 24) + sp.sqrt(73) / 24, KEEP, r"\frac{5}{24} + \frac{\sqrt{73}}{24}"),  # 73 does not divide 24
    (sp.Matrix([[1 / sp.sqrt(3), 0], [0, sp.sqrt(2) / 2]]), KEEP,
     (r"\begingroup\renewcommand*{\arraystretch}{1.6}\begin{bmatrix}\frac{1}{\sqrt{3}} & 0\\0 & \frac{1}{\sqrt{2}}"
      r"\end{bmatrix}\endgroup")),
    # polynomials: by descending degree, or as the expression holds them
    (1 + x + x ** 2, None, "x^{2} + x + 1"),
    (sp.Add(1, x, x ** 2, evaluate=False), Printing(order="source"), "1 + x + x^{2}"),
    # a difference starts with its positive term; a product puts its parenthesised factors last
    ((1 - x) / t, None, r"\frac{1 - x}{t}"),
    (sp.sqrt(1 - theta ** 2), None, r"\sqrt{1 - \theta^{2}}"),
    (-x - 1, None, "- x - 1"),
    (t * w * (x - theta) ** 2, None, r"\omega t \left(x - \theta\right)^{2}"),
    (-2 * x * (x + 1) ** 2, None, r"- 2 x \left(x + 1\right)^{2}"),
    # bold symbols, their indices upright
    (sp.Symbol("x_1") + sp.Symbol("mu_k"), Printing(bold=("x", "mu")), r"\boldsymbol{\mu}_{k} + \mathbf{x}_{1}"),
]


@pytest.mark.parametrize("expr, policy, expected", CASES, ids=[case[2] for case in CASES])
def test_each_choice_prints_as_a_mathematician_writes_and_reads_back(expr, policy, expected):
    shown = printed(expr, policy)
    assert shown == expected
    reads_back(expr, shown)


def test_source_order_is_sympy_s_own_order_without_rearrangements():
    for expr in (t * w * (x - theta) ** 2, (1 - x) / t, 1 + x + x ** 2, sp.Add(1, x, x ** 2, evaluate=False)):
        assert printed(expr, Printing(order="source")) == sp.latex(expr, order="none", fold_frac_powers=True)


def test_transposes_print_with_top_or_t():
    X = sp.MatrixSymbol("X", 3, 2)
    assert printed(X.T * X) == r"X^{\top} X"
    assert printed(X.T * X, Printing(transpose="T")) == "X^{T} X"


def test_the_reader_reads_a_transpose_of_a_matrix_and_not_of_a_number():
    assert parse_expression(r"\begin{bmatrix}1 & 2\end{bmatrix}^{\top}") == sp.ImmutableMatrix([[1], [2]])
    assert parse_expression(r"\begin{bmatrix}1 & 2\end{bmatrix}^\top") == sp.ImmutableMatrix([[1], [2]])
    with pytest.raises(Unreadable, match="not a matrix"):
        parse_expression(r"x^{\top}")


def test_a_wrong_value_printed_in_the_new_forms_is_still_caught():
    assert compare(sp.cos(w), r"\sin\omega", "latex") is not None
    assert compare(sp.log(2 * sp.pi), r"\ln(3 \pi)", "latex") is not None
    assert compare(1 / sp.sqrt(3), r"\frac{1}{\sqrt{2}}", "latex") is not None
    assert compare(x ** sp.Rational(3, 2), "x^{2/3}", "latex") is not None
    assert compare(sp.Symbol("x") * 2, r"2 \mathbf{y}", "latex") is not None


def test_a_bare_argument_is_one_factor_only():
    # \ln 2 x is (ln 2) x, as a reader takes it: the printer never writes ln(2x) so
    assert printed(sp.log(2 * x)) == r"\log(2 x)"
    assert parse_expression(r"x \log 2", x * sp.log(2)) == x * sp.log(2)
    assert parse_expression(r"\log 2 \log 3") == sp.log(2) * sp.log(3)


def test_a_template_setting_still_wins_over_the_policy():
    assert printed(sp.log(x), LN, ln_notation=False) == r"\log x"
    assert printed(1 + x + x ** 2, None, order="rev-lex") == "1 + x + x^{2}"


def test_the_language_s_words_and_decimal_comma_go_with_the_policy():
    shown = printed(sp.Piecewise((sp.cos(x), x > 0), (0, True)), LN, language="fr")
    assert shown == r"\begin{cases} \cos x & \text{pour}\: x > 0 \\0 & \text{sinon} \end{cases}"
    assert compare(sp.Piecewise((sp.cos(x), x > 0), (0, True)), shown, "latex",
                   __import__("solman.project.language", fromlist=["LANGUAGES"]).LANGUAGES["fr"]) is None


def test_the_readme_s_table_is_what_the_printer_writes():
    """README.md, "Mathematics as a mathematician writes it": each row's value, sympy's LaTeX, and solman's."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Mathematics as a mathematician writes it", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    names = {"w": sp.Symbol("omega"), "t": t, "x": x, "p": sp.Symbol("p"), "a": sp.Symbol("a"), "b": sp.Symbol("b"),
             "mu": sp.Symbol("mu"), "X": sp.MatrixSymbol("X", 3, 2), "E": sp.E, "pi": sp.pi}
    assert len(rows) >= 9
    for row in rows:
        value, theirs, ours = (cell.strip() for cell in row.strip("|").split(" | "))
        code = re.findall(r"`([^`]*)`", value)
        expr = eval(code[0], {**vars(sp), **names})  # the README's own examples
        policy = Printing(**dict(re.findall(r'(\w+) = "(\w+)"', value)))
        if "bold" in value:
            policy = Printing(bold=("x",))
        assert sp.latex(expr).startswith(re.findall(r"`([^`]*)`", theirs)[0].replace(r" + \dots", "")), row
        assert printed(expr, policy) == re.findall(r"`([^`]*)`", ours)[0], row
