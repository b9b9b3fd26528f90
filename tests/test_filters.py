"""The formatting filters: exact things print exactly, floats only with a precision, text escaped."""

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from solman.filters import FILTERS, FilterError, coords, fixed, latex, percent, sci, sig, text
from solman.values import tex


@pytest.mark.parametrize("obj, expected", [
    (3, "3"),
    (-7, "-7"),
    (12345, r"12\,345"),
    (-1234567, r"-1\,234\,567"),
    (1234, "1234"),
    (Fraction(3, 4), r"\frac{3}{4}"),
    (Fraction(-1, 2), r"-\frac{1}{2}"),
    (Fraction(6, 3), "2"),
    (np.int64(5), "5"),
    (True, r"\text{true}"),
    (sp.Rational(1, 3), r"\frac{1}{3}"),
    (sp.sqrt(2) / 2, r"\frac{\sqrt{2}}{2}"),
    (sp.Matrix([[1, sp.Rational(1, 2)], [0, -3]]),
     r"\begingroup\renewcommand*{\arraystretch}{1.6}\begin{bmatrix}1 & \frac{1}{2}\\0 & -3\end{bmatrix}\endgroup"),
    (sp.Matrix([[1, 2], [0, -3]]), r"\begin{bmatrix}1 & 2\\0 & -3\end{bmatrix}"),
    (np.array([[1, 2], [3, 4]]), r"\begin{bmatrix}1 & 2\\3 & 4\end{bmatrix}"),
    (np.array([1, 2]), r"\begin{bmatrix}1\\2\end{bmatrix}"),
    ([1, Fraction(1, 2)], r"1,\allowbreak\ \frac{1}{2}"),
    (tex(r"\alpha"), r"\alpha"),
])
def test_latex_prints_exact_values_exactly(obj, expected):
    assert latex(obj) == expected


@pytest.mark.parametrize("obj", [0.5, np.float64(0.25), np.array([0.5, 1.0]), sp.Float(0.5) * sp.Symbol("x")])
def test_latex_refuses_floats_without_a_precision(obj):
    with pytest.raises(FilterError, match="precision|floating"):
        latex(obj)


@pytest.mark.parametrize("obj, message", [
    (None, "None"),
    ({"a": 1}, "index it"),
    (1 + 2j, "complex"),
    (object(), "cannot print"),
])
def test_latex_explains_what_it_cannot_print(obj, message):
    with pytest.raises(FilterError, match=message):
        latex(obj)


@pytest.mark.parametrize("obj, digits, expected", [
    (3.14159, 2, "3.14"),
    (0.125, 2, "0.13"),  # half up, as on paper (0.125 is exact in binary)
    (2.675, 2, "2.67"),  # the double nearest 2.675 is below it
    (-0.0004, 3, "0.000"),  # no negative zero
    (-1.5, 0, "-2"),
    (Fraction(1, 3), 4, "0.3333"),
    (Fraction(2, 3), 3, "0.667"),
    (7, 2, "7.00"),
    (sp.pi, 5, "3.14159"),
    (sp.sqrt(2), 3, "1.414"),
    (1e30, 1, "1000000000000000019884624838656.0"),
])
def test_fixed(obj, digits, expected):
    assert fixed(obj, digits) == expected


def test_fixed_formats_matrices_and_arrays_entrywise():
    assert fixed(np.array([[0.5, 1 / 3]]), 2) == r"\begin{bmatrix}0.50 & 0.33\end{bmatrix}"
    assert fixed(sp.Matrix([sp.pi, sp.E]), 1) == r"\begin{bmatrix}3.1\\2.7\end{bmatrix}"


@pytest.mark.parametrize("obj, digits, expected", [
    (0.000123456, 3, "0.000123"),
    (123456.0, 2, "120000"),
    (9.996, 3, "10.0"),
    (0.0, 3, "0.00"),
    (Fraction(2, 3), 2, "0.67"),
])
def test_sig(obj, digits, expected):
    assert sig(obj, digits) == expected


@pytest.mark.parametrize("obj, digits, expected", [
    (0.000123456, 3, r"1.23 \times 10^{-4}"),
    (123456.0, 2, r"1.2 \times 10^{5}"),
    (9.96, 2, r"1.0 \times 10^{1}"),
    (5.0, 2, "5.0"),
    (-0.02, 1, r"-2 \times 10^{-2}"),
])
def test_sci(obj, digits, expected):
    assert sci(obj, digits) == expected


def test_percent():
    assert percent(0.1234, 1) == r"12.3\,\%"
    assert percent(Fraction(1, 8), 1) == r"12.5\,\%"


@pytest.mark.parametrize("obj", [float("nan"), float("inf"), np.float64("-inf"), sp.nan, sp.oo])
def test_numeric_filters_refuse_non_finite_numbers(obj):
    with pytest.raises(FilterError, match="finite"):
        fixed(obj, 2)


@pytest.mark.parametrize("obj", [1 + 1j, np.complex128(1j), sp.I + 1])
def test_numeric_filters_refuse_complex_numbers(obj):
    with pytest.raises(FilterError, match="complex"):
        fixed(obj, 2)


def test_numeric_filters_refuse_symbols_and_bad_digits():
    with pytest.raises(FilterError, match="not a number"):
        fixed(sp.Symbol("x"), 2)
    with pytest.raises(FilterError, match="whole number"):
        fixed(1.0, -1)
    with pytest.raises(FilterError, match="whole number"):
        sig(1.0, 0)


def test_text_escapes_latex_and_unicode():
    assert text("50% of A & B_1 {x} #2 $3") == r"50\% of A \& B\_1 \{x\} \#2 \$3"
    assert text("Zürich ~ ^") == r'Z\"urich \textasciitilde{} \textasciicircum{}'
    assert text(tex(r"\emph{kept}")) == r"\emph{kept}"
    with pytest.raises(FilterError, match="strings"):
        text(3)


def test_coords():
    assert coords([(0, 0), (0.5, 0.25)], 2) == "(0.00,0.00) (0.50,0.25)"
    assert coords(np.array([[1.0, 2.0], [3.0, 4.5]]), 1) == "(1.0,2.0) (3.0,4.5)"
    with pytest.raises(FilterError, match="points"):
        coords(3, 1)


def test_registry_holds_every_filter_once():
    assert set(FILTERS) == {"latex", "fixed", "sig", "sci", "percent", "text", "coords"}
    assert all(callable(f) and f.__doc__ for f in FILTERS.values())


def is_tie(x: float, exponent: int) -> bool:
    """Whether x lies exactly halfway between two multiples of 10**exponent (rounding rules differ there)."""
    scaled = Decimal(x).scaleb(-exponent)
    return scaled - scaled.to_integral_value(rounding="ROUND_FLOOR") == Decimal("0.5")


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.integers(min_value=0, max_value=8))
def test_fixed_agrees_with_python_formatting(x, digits):
    """Checked against Python's own correctly rounded formatting, away from exact ties."""
    assume(not is_tie(x, -digits))
    expected = format(x, f".{digits}f")
    assert Decimal(fixed(x, digits)) == Decimal(expected)
    assert len(fixed(x, digits).partition(".")[2]) == digits


@given(st.floats(min_value=1e-12, max_value=1e12), st.integers(min_value=1, max_value=6))
def test_sig_agrees_with_python_scientific_formatting(x, digits):
    assume(not is_tie(x, Decimal(x).adjusted() - digits + 1))
    assert Decimal(sig(x, digits)) == Decimal(format(x, f".{digits - 1}e"))
    mantissa, _, exponent = sci(x, digits).partition(r" \times 10^")
    assert Decimal(mantissa) * Decimal(10) ** int(exponent.strip("{}") or 0) == Decimal(format(x, f".{digits - 1}e"))
