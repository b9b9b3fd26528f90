"""The formatting filters: exact things print exactly, floats only with a precision, text escaped."""

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from solman.values.filters import FILTERS, FilterError, coords, fixed, latex, percent, sci, sig, text
from solman.values.evaluation import tex


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
    assert set(FILTERS) == {"latex", "fixed", "sig", "sci", "percent", "text", "coords", "figure"}
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


# --- bad input: sizes, precisions, cycles, control characters (issue 16) ----------------------

def test_integers_print_exactly_beyond_pythons_4300_digit_limit():
    import sys

    big = 10 ** 5000 + 7
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # only to compute the expected digits here
    try:
        expected = str(big)
    finally:
        sys.set_int_max_str_digits(previous)
    assert latex(big).replace(r"\,", "") == expected
    assert latex(-big).startswith(r"-100\,000\,000")
    assert latex(Fraction(big, 3)).startswith(r"\frac{100\,000")
    assert fixed(big, 2) == expected + ".00"
    assert sci(big, 3) == r"1.00 \times 10^{5000}"
    assert fixed(1e308, 2).startswith("10000000000000000109790636294404554174049230967731184633681068290315758540491")


def test_absurd_integers_are_refused_with_a_hint():
    with pytest.raises(FilterError, match=r"about 20001 digits is too long to print exactly .* \| sci\(n\)"):
        latex(10 ** 20000)
    with pytest.raises(FilterError, match="too long to print in full"):
        fixed(10 ** 20000, 2)
    assert sci(10 ** 20000, 2) == r"1.0 \times 10^{20000}"


@pytest.mark.parametrize("call, message", [
    (lambda: fixed(1, 100000), "fixed(n) needs a whole number 0 <= n <= 50, not 100000"),
    (lambda: fixed(1, 51), "0 <= n <= 50"),
    (lambda: sig(1, 0), "sig(n) needs a whole number 1 <= n <= 50, not 0"),
    (lambda: sci(1, 0), "sci(n) needs a whole number 1 <= n <= 50"),
    (lambda: percent(1, 1000), "percent(n) needs a whole number 0 <= n <= 50"),
])
def test_precisions_are_bounded(call, message):
    with pytest.raises(FilterError) as caught:
        call()
    assert message in str(caught.value)
    assert fixed(Fraction(1, 3), 50) == "0." + "3" * 50


def test_a_list_that_contains_itself_is_refused_not_a_recursion_error():
    loop: list = [1]
    loop.append(loop)
    for printing in (latex, lambda x: fixed(x, 2), lambda x: sig(x, 2)):
        with pytest.raises(FilterError, match="the value contains itself"):
            printing(loop)
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(FilterError, match="nests lists more than 50 deep"):
        latex(deep)
    assert latex([[1, 2], [3]]) == r"1,\allowbreak\ 2,\allowbreak\ 3"  # nesting as such is fine


@pytest.mark.parametrize("char, name", [("\x00", "NUL"), ("\x1b", "ESC"), ("\x07", "BEL"), ("\x7f", "DEL"),
                                        ("\x85", "a control character")])
def test_control_characters_are_refused_in_text_and_in_tex(char, name):
    with pytest.raises(FilterError, match=rf"the text 'ab.*' has the control character U\+{ord(char):04X} "
                                          rf"\({name}\) at position 3"):
        text(f"ab{char}c")
    with pytest.raises(FilterError, match=rf"the LaTeX .* has the control character U\+{ord(char):04X} \({name}\) "
                                          "at line 2, column 2"):
        latex(tex(f"\\alpha\nx{char}"))
    with pytest.raises(FilterError, match="control character"):
        latex(["fine", tex(char)])
    assert text("tab\tand\nnewline") == "tab\tand\nnewline"  # whitespace is not a control character here


def test_wide_matrices_raise_amsmath_column_limit_for_themselves():
    wide = latex(np.arange(24).reshape(2, 12))
    assert wide.startswith(r"\begingroup\setcounter{MaxMatrixCols}{12}\begin{bmatrix}0 & 1")
    assert wide.endswith(r"\end{bmatrix}\endgroup")
    rational = latex(sp.Matrix(1, 11, lambda i, j: sp.Rational(1, j + 1)))
    assert rational.startswith(r"\begingroup\setcounter{MaxMatrixCols}{11}\renewcommand*{\arraystretch}{1.6}")
    assert fixed(np.ones((1, 13)), 1).startswith(r"\begingroup\setcounter{MaxMatrixCols}{13}")
    assert latex(sp.Matrix(1, 10, lambda i, j: j)).startswith(r"\begin{bmatrix}")  # ten: amsmath's default


def test_a_matrix_too_large_for_tex_is_refused_before_latex():
    with pytest.raises(FilterError, match=r"a 200x200 matrix is too large to print: its LaTeX has \d+ characters, "
                                          "and TeX reads a line of at most 200000"):
        latex(sp.Matrix(200, 200, lambda i, j: i + j))
    with pytest.raises(FilterError, match="a 200x200 matrix is too large"):
        fixed(np.zeros((200, 200)), 2)
    with pytest.raises(FilterError, match="a str is too large to print"):
        text("x" * 100_001)


def _corpus(size: int, seed: int = 0) -> str:
    """Random text of ``size`` pieces: ASCII, LaTeX's specials, accented and other letters pylatexenc knows."""
    import random

    pieces = list("abcdefghij ABCXYZ 0123456789 .,;:!?()[]<>'\"/|+-=*@ \n\t &%$#_{}~^\\ éüößçñÅøæœ αβγΩ —–…“”‘’«» "
                  "€£¥°±×÷ ﬁ ½ \u00a0 Ω ℃ 𝐀 ∑ ∞ ≤ →") + ["e\u0301", "o\u0308", "n\u0303"]
    rng = random.Random(seed)
    return "".join(rng.choice(pieces) for _ in range(size))


def test_escaping_matches_pylatexenc_character_for_character():
    from solman.values.filters import _encoder

    for seed in range(5):
        corpus = _corpus(4000, seed)
        assert text(corpus) == _encoder().unicode_to_latex(corpus)
    for odd in ["a\u0308b", "\u0301x", "x\u0301\u0308", "中", "ǅ"]:  # what pylatexenc refuses, solman refuses
        try:
            expected = _encoder().unicode_to_latex(odd)
        except ValueError:
            with pytest.raises(FilterError, match="has no LaTeX form"):
                text(odd)
        else:
            assert text(odd) == expected


def test_escaping_is_linear_pylatexenc_is_asked_once_per_new_character(monkeypatch):
    """pylatexenc's encoder is quadratic (0.3 MB: seconds, 3 MB: minutes); solman's table asks it once per
    distinct character, then str.translate does the work: counting those calls tests the complexity."""
    from solman.values import filters

    calls = []
    real = filters._encode
    monkeypatch.setattr(filters, "_TABLE", filters._Table())  # an empty table: count from nothing
    monkeypatch.setattr(filters, "_encode", lambda s: calls.append(len(s)) or real(s))
    small, large = _corpus(300_000, 1), _corpus(3_000_000, 2)
    escaped = filters._escape(small)
    after_small = len(calls)
    assert filters._escape(large).count(r"\&") == large.count("&")
    distinct = len(set(small) | set(large))
    accents = len(filters._ACCENTED.findall(small)) + len(filters._ACCENTED.findall(large))
    assert after_small <= len(set(small)) + len(filters._ACCENTED.findall(small))
    assert len(calls) <= distinct + accents  # per distinct character and accented letter, not per character
    assert all(n <= 3 for n in calls)  # each call encodes a character or a letter with its accents
    assert escaped.count(r"\%") == small.count("%")
