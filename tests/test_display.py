"""The display contract: printed LaTeX read back and compared with the value."""

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from solman import filters
from solman.display import Unreadable, compare, parse_expression, parse_number

x = sp.Symbol("x")


@pytest.mark.parametrize("obj, spec", [
    (sp.Matrix([[1, sp.Rational(1, 2)], [sp.sqrt(3) / 6, 0]]), "latex"),
    (Fraction(-3, 4), "latex"), (12345, "latex"), (sp.sqrt(2) / 2, "latex"),
    (x ** 2 + 2 * x, "latex"), (sp.log(x) / (1 + sp.exp(-x)), "latex"), (sp.Function("f")(x), "latex"),
    (sp.Symbol("x_1") ** 2, "latex"), (sp.Rational(5, 24) - sp.sqrt(73) / 24, "latex"),
    ([1, Fraction(1, 2)], "latex"), (0.1234, "fixed(2)"), (np.array([[0.5, 1 / 3]]), "fixed(3)"),
    (0.000123456, "sci(3)"), (0.1234, "percent(1)"), (123456.0, "sig(2)"), (True, "latex"),
    ("R&D: 100%", "latex"), (sp.Matrix([1, 2]), "latex"), (sp.pi, "latex"), (2 * sp.Symbol("lambda"), "latex"),
    (sp.tanh(x), "latex"), (sp.oo, "latex"), (sp.Symbol("alpha", real=True) * 2, "latex"),
    (sp.Symbol("S_{11}") * sp.Symbol("S_{22}"), "latex"),
    (sp.Symbol("a") + sp.Symbol("b") * sp.Symbol("i") + sp.Symbol("e"), "latex"),
    ([0.25, -1.5], "fixed(2)"), (sp.Max(0, x) + sp.Max(0, -x), "latex"), (sp.Interval(0, 1), "latex"),
    (sp.sign(x - 1), "latex"), (sp.Symbol("n") - sp.Symbol("l") + 1, "latex"), ([(0.0, 0.25), (0.5, 1.0)], "coords(2)"), (np.int64(7), "latex"),
])
def test_every_filter_output_reads_back_as_its_value(obj, spec):
    name, _, digits = spec.partition("(")
    function = filters.FILTERS[name]
    latex = function(obj, int(digits[:-1])) if digits else function(obj)
    assert compare(obj, latex, spec) is None


@pytest.mark.parametrize("obj, latex, spec, problem", [
    (0.1234, "0.13", "fixed(2)", "shows 0.13"),
    (0.1234, "0.123", "fixed(2)", "3 decimals, 2 were asked for"),
    (Fraction(1, 3), r"\frac{1}{4}", "latex", "shows 1/4"),
    (-2, "2", "latex", "shows 2"),
    (sp.Matrix([[1, 2], [3, 4]]), r"\begin{bmatrix}1 & 3\\2 & 4\end{bmatrix}", "latex", "entry (1, 2)"),
    (sp.Matrix([[1, 2]]), r"\begin{bmatrix}1\\2\end{bmatrix}", "latex", "2x1 array"),
    (0.000123456, r"1.24 \times 10^{-4}", "sci(3)", "shows"),
    (0.5, r"50.0\,\%", "percent(1)", None),
    (0.5, r"5.0\,\%", "percent(1)", "shows"),
    ([0.25, -1.5], r"0.25,\allowbreak\ -1.49", "fixed(2)", "item 1: shows"),
])
def test_a_wrong_display_is_named(obj, latex, spec, problem):
    found = compare(obj, latex, spec)
    assert (found is None) if problem is None else (problem in found)


def test_unreadable_latex_is_reported_as_such():
    with pytest.raises(Unreadable):
        parse_expression(r"\int_0^1 x\, dx")
    with pytest.raises(Unreadable):
        parse_number("about 3")


def test_parse_number():
    assert parse_number(r"-12\,345.5") == Fraction(-24691, 2)
    assert parse_number(r"1.5 \times 10^{-3}") == Fraction(3, 2000)
