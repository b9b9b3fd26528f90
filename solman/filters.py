"""How a value becomes LaTeX: pure formatting filters, all in one registry.

Exact things print exactly (integers, fractions, sympy objects, integer matrices); a
floating-point number prints only through a filter that names its precision, because a
float printed "as is" would show digits nobody checked. Numbers are formatted for math
mode; strings are escaped for text mode. Every filter takes the plain Python object and
returns a ``str``; bad input raises ``FilterError`` with a message for the author.
"""

from __future__ import annotations

import functools
import math
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction
from numbers import Integral, Real

from .values import Tex, is_array, is_matrix, is_sympy, library_types, matrix_rows


class FilterError(ValueError):
    """A value cannot be printed the way the template asks."""


SYMPY_SETTINGS = {"mat_str": "bmatrix", "mat_delim": ""}
SYMPY_OPTIONS = {"order", "ln_notation", "fold_frac_powers", "fold_short_frac", "inv_trig_style", "mul_symbol",
                 "root_notation", "imaginary_unit", "symbol_names", "long_frac_ratio", "min", "max"}
PRECISION = 200  # decimal digits carried while rounding
LIST_SEPARATOR = r",\allowbreak\ "  # inline math does not break after a comma unless told it may


# --- the filters --------------------------------------------------------------------------

def latex(obj: object, **settings: object) -> str:
    """The default: exact LaTeX for exact values; floats are refused (they need a precision).

    For sympy objects, ``settings`` are passed to ``sympy.latex``, among them ``order="none"``
    (keep the expression's own term order) and ``ln_notation=True``; see SYMPY_OPTIONS.
    """
    unknown = set(settings) - SYMPY_OPTIONS
    if unknown:
        raise FilterError(f"latex() does not know {', '.join(sorted(unknown))}; it takes "
                          f"{', '.join(sorted(SYMPY_OPTIONS))}")
    if isinstance(obj, Tex):
        return str(obj)
    if isinstance(obj, bool) or _is_numpy(obj, "bool_"):
        return r"\text{true}" if obj else r"\text{false}"
    if isinstance(obj, str):
        return text(obj)
    if isinstance(obj, (list, tuple)):
        return LIST_SEPARATOR.join(latex(item, **settings) for item in obj)
    if is_sympy(obj):
        return _sympy_latex(obj, settings)
    if is_array(obj):
        if obj.dtype.kind not in "iu":
            raise FilterError(f"an array of {obj.dtype} needs a precision: use | fixed(n) or | sig(n)")
        return _matrix([[_integer(int(x)) for x in row] for row in _rows(obj)])
    number = _exact_number(obj)
    if isinstance(number, Fraction):
        return _fraction(number)
    if isinstance(number, int):
        return _integer(number)
    raise FilterError(_unprintable(obj))


def fixed(obj: object, digits: int) -> str:
    """Numbers (and matrices, arrays, lists of them) with ``digits`` decimals."""
    _check_digits(digits, "fixed")
    return _each_number(obj, lambda x: _fixed(x, digits))


def sig(obj: object, digits: int) -> str:
    """Numbers with ``digits`` significant digits, in positional notation."""
    _check_digits(digits, "sig", minimum=1)
    return _each_number(obj, lambda x: _sig(x, digits))


def sci(obj: object, digits: int) -> str:
    r"""Numbers in scientific notation with ``digits`` significant digits: ``1.23 \times 10^{-4}``."""
    _check_digits(digits, "sci", minimum=1)
    return _each_number(obj, lambda x: _sci(x, digits))


def percent(obj: object, digits: int) -> str:
    r"""A fraction as a percentage with ``digits`` decimals: 0.1234 becomes ``12.3\,\%``."""
    _check_digits(digits, "percent")
    return _each_number(obj, lambda x: _fixed(x * 100, digits) + r"\,\%")


def text(obj: object) -> str:
    """A string, with LaTeX's special characters and non-ASCII letters escaped."""
    if isinstance(obj, Tex):
        return str(obj)
    if not isinstance(obj, str):
        raise FilterError(f"text() prints strings, not {type(obj).__name__}")
    return _escape(obj)


def coords(obj: object, digits: int) -> str:
    """Points ``[(x, y), ...]`` (or an n-by-2 array) as TikZ/pgfplots coordinates ``(x,y) ...``."""
    _check_digits(digits, "coords")
    rows = _rows(obj) if is_matrix(obj) else obj
    try:
        points = [tuple(point) for point in rows]
    except TypeError:
        raise FilterError("coords() needs a list of points (x, y)") from None
    return " ".join("(" + ",".join(_fixed(x, digits) for x in point) + ")" for point in points)


FILTERS = {
    "latex": latex,
    "fixed": fixed,
    "sig": sig,
    "sci": sci,
    "percent": percent,
    "text": text,
    "coords": coords,
}


# --- numbers ------------------------------------------------------------------------------

def _exact_number(obj: object) -> int | Fraction | None:
    if isinstance(obj, bool):
        return None
    if isinstance(obj, Integral):
        return int(obj)
    if isinstance(obj, Fraction):
        return obj if obj.denominator != 1 else obj.numerator
    if isinstance(obj, float) or _is_numpy(obj, "floating"):
        raise FilterError(f"the float {float(obj)!r} needs a precision: use | fixed(n), | sig(n) or | sci(n)")
    return None


def _real(obj: object) -> Fraction | Decimal:
    """A real number as an exact Fraction (exact input) or Decimal (float input)."""
    if isinstance(obj, bool):
        raise FilterError("a boolean is not a number")
    if isinstance(obj, complex) or _is_numpy(obj, "complexfloating"):
        raise FilterError(f"the complex number {obj} cannot be printed where a real is expected")
    if isinstance(obj, Integral):
        return Fraction(int(obj))
    if isinstance(obj, (Fraction, Decimal)):
        return obj
    if is_sympy(obj):
        return _sympy_real(obj)
    if isinstance(obj, Real) or _is_numpy(obj, "floating"):
        x = float(obj)
        if math.isnan(x) or math.isinf(x):
            raise FilterError(f"{x} is not a finite number and cannot be printed")
        return Decimal(x)
    raise FilterError(_unprintable(obj))


def _sympy_real(obj: object) -> Fraction | Decimal:
    import sympy

    if not getattr(obj, "is_number", False):
        raise FilterError(f"{obj} is not a number; fixed, sig, sci and percent format numbers")
    if obj.is_Rational:
        return Fraction(int(obj.p), int(obj.q))
    if obj.has(sympy.nan, sympy.zoo) or obj.is_infinite:
        raise FilterError(f"{obj} is not a finite number and cannot be printed")
    real, imag = sympy.N(obj, 40).as_real_imag()
    if imag != 0:
        raise FilterError(f"the complex number {obj} cannot be printed where a real is expected")
    if real.is_finite is not True:
        raise FilterError(f"{obj} is not a finite number and cannot be printed")
    return Decimal(str(real))


def _fixed(x: object, digits: int) -> str:
    with localcontext(Context(prec=PRECISION)):
        rounded = _decimal(_real(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        return _signless_zero(format(rounded, "f"))


def _sig(x: object, digits: int) -> str:
    with localcontext(Context(prec=PRECISION)):
        number = _decimal(_real(x))
        if number == 0:
            return _fixed(0, digits - 1)
        return _signless_zero(format(_round_significant(number, digits), "f"))


def _sci(x: object, digits: int) -> str:
    with localcontext(Context(prec=PRECISION)):
        number = _decimal(_real(x))
        if number == 0:
            return _fixed(0, digits - 1)
        rounded = _round_significant(number, digits)
        exponent = rounded.adjusted()
        mantissa = rounded.scaleb(-exponent).quantize(Decimal(1).scaleb(-(digits - 1)), rounding=ROUND_HALF_UP)
        shown = _signless_zero(format(mantissa, "f"))
        return shown if exponent == 0 else rf"{shown} \times 10^{{{exponent}}}"


def _round_significant(number: Decimal, digits: int) -> Decimal:
    exponent = number.adjusted() - digits + 1
    rounded = number.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)
    if rounded.adjusted() > number.adjusted():  # 9.99 -> 10.0: one digit too many
        rounded = rounded.quantize(Decimal(1).scaleb(exponent + 1), rounding=ROUND_HALF_UP)
    return rounded


def _decimal(x: Fraction | Decimal) -> Decimal:
    if isinstance(x, Decimal):
        return x
    return Decimal(x.numerator) / Decimal(x.denominator)


def _signless_zero(shown: str) -> str:
    return shown[1:] if shown.startswith("-") and set(shown[1:]) <= set("0.") else shown


def _integer(n: int) -> str:
    """An integer; five digits and more are grouped in threes with thin spaces."""
    digits = str(abs(n))
    if len(digits) >= 5:
        groups = [digits[max(i - 3, 0):i] for i in range(len(digits), 0, -3)][::-1]
        digits = r"\,".join(groups)
    return ("-" if n < 0 else "") + digits


def _fraction(q: Fraction) -> str:
    sign = "-" if q < 0 else ""
    return rf"{sign}\frac{{{_integer(abs(q.numerator))}}}{{{_integer(q.denominator)}}}"


# --- containers ---------------------------------------------------------------------------

def _each_number(obj: object, show) -> str:
    """Apply ``show`` to a number, or to every entry of a matrix, array or list."""
    if is_array(obj) or is_matrix(obj):
        return _matrix([[show(x) for x in row] for row in _rows(obj)])
    if isinstance(obj, (list, tuple)):
        return LIST_SEPARATOR.join(_each_number(item, show) for item in obj)
    return show(obj)


def _matrix(rows: list[list[str]]) -> str:
    body = r"\\".join(" & ".join(row) for row in rows)
    return _spaced(rf"\begin{{bmatrix}}{body}\end{{bmatrix}}")


def _spaced(latex: str) -> str:
    """A matrix with fractions gets taller rows, so that stacked fractions do not touch."""
    if r"\begin{bmatrix}" in latex and r"\frac" in latex:
        return rf"\begingroup\renewcommand*{{\arraystretch}}{{1.6}}{latex}\endgroup"
    return latex


def _sympy_latex(obj: object, settings: dict | None = None) -> str:
    import sympy

    if obj.atoms(sympy.Float):
        raise FilterError(
            f"the sympy expression {obj} contains floating-point numbers; make it exact "
            "(sympy.Rational, sympy.nsimplify) or print numbers with | fixed(n)"
        )
    return _spaced(sympy.latex(obj, **{**SYMPY_SETTINGS, **(settings or {})}))


@functools.cache
def _encoder():
    from pylatexenc.latexencode import UnicodeToLatexEncoder

    return UnicodeToLatexEncoder(non_ascii_only=False, replacement_latex_protection="braces-after-macro",
                                 unknown_char_policy="fail")


def _escape(s: str) -> str:
    try:
        return _encoder().unicode_to_latex(s)
    except ValueError as exc:
        raise FilterError(f"the text {s!r} has a character LaTeX cannot print: {exc}") from None


# --- type tests that do not import numpy or sympy -----------------------------------------

def _is_numpy(obj: object, kind: str) -> bool:
    return isinstance(obj, library_types("numpy", kind))


def _rows(obj: object) -> list[list[object]]:
    try:
        return matrix_rows(obj)
    except ValueError as exc:
        raise FilterError(str(exc) if is_matrix(obj) else _unprintable(obj)) from None


def _check_digits(digits: object, name: str, minimum: int = 0) -> None:
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < minimum:
        raise FilterError(f"{name}(n) needs a whole number n >= {minimum}, not {digits!r}")


def _unprintable(obj: object) -> str:
    if obj is None:
        return "the value is None; did the value function forget to return?"
    if isinstance(obj, dict):
        return "a dict cannot be printed as a whole; index it, as in value['key']"
    if isinstance(obj, complex):
        return f"the complex number {obj} cannot be printed where a real is expected"
    return (f"cannot print a value of type {type(obj).__name__}; a value may be a number, a sympy object, "
            "an array, a string, tex(...) or a list of these")
