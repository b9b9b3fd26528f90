"""How a value becomes LaTeX: pure formatting filters, all in one registry.

Exact things print exactly (integers, fractions, sympy objects, integer matrices); a
floating-point number prints only through a filter that names its precision, because a
float printed "as is" would show digits nobody checked. Numbers are formatted for math
mode; strings are escaped for text mode. Every filter takes the plain Python object and
returns a ``str``; bad input raises ``FilterError`` with a message for the author.

The filters that write numbers take the project's ``language`` (templates never pass it: the
engine does): in French and German the decimal marker is a comma, ``{,}`` in math so that TeX adds
no space after it, and the items of a list are separated by semicolons; booleans, and the words
sympy writes into a case distinction, are the language's words. ``coords`` writes TikZ input, which
is not typeset, and keeps its full stops.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import sys
import threading
import unicodedata
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction
from numbers import Integral, Real

from solman.project.language import LANGUAGES, Language
from solman.project.printing import DEFAULT, Printing
from solman.values.evaluation import Tex, is_array, is_matrix, is_sympy, library_types, matrix_rows
from solman.values.figures import SavedFigure
from solman.values.printer import latex_of


class FilterError(ValueError):
    """A value cannot be printed the way the template asks."""


SYMPY_SETTINGS = {"mat_str": "bmatrix", "mat_delim": ""}
SYMPY_OPTIONS = {"order", "ln_notation", "fold_frac_powers", "fold_short_frac", "inv_trig_style", "mul_symbol",
                 "root_notation", "imaginary_unit", "symbol_names", "long_frac_ratio", "min", "max"}
PRECISION = 200  # decimal digits carried while rounding (more when a number has more digits than that)
MAX_DECIMALS = 50  # fixed(n), sig(n), sci(n): more digits than any measurement or check could mean
MAX_DIGITS = 10_000  # an integer printed exactly: Python's own str() stops at 4300 digits, solman at this
MAX_LATEX = 100_000  # characters of LaTeX one value may print: TeX Live reads lines of at most 200000
MAX_MATRIX_COLUMNS = 10  # amsmath's default MaxMatrixCols; a wider matrix raises it for itself
LIST_SEPARATOR = r"{separator}\allowbreak\ "  # inline math does not break after a comma unless told it may


def _bounded(func):
    """A filter whose LaTeX must fit TeX's line buffer: a value printing more is refused here, at its
    template line, rather than by TeX ("Unable to read an entire line") with no line to show."""

    @functools.wraps(func)
    def bounded(obj: object, *args: object, **kwargs: object) -> str:
        latex = func(obj, *args, **kwargs)
        if len(latex) > MAX_LATEX:
            what = (f"a {len(_rows(obj))}x{max((len(r) for r in _rows(obj)), default=0)} matrix"
                    if is_matrix(obj) else f"a {type(obj).__name__}")
            raise FilterError(f"{what} is too large to print: its LaTeX has {len(latex)} characters, and TeX reads "
                              f"a line of at most 200000 (solman allows {MAX_LATEX} per value); print a part of it")
        return latex

    return bounded


# --- the filters --------------------------------------------------------------------------

@_bounded
def latex(obj: object, *, language: str = "en", printing: Printing | None = None, **settings: object) -> str:
    """The default: exact LaTeX for exact values; floats are refused (they need a precision).

    Sympy objects are printed under the ``printing`` policy (the project's, or its chapter's: the
    engine passes it, as it passes ``language``); ``settings`` go to sympy's printer over it, among
    them ``order="none"`` (keep the expression's own term order) and ``ln_notation=True``; see SYMPY_OPTIONS.
    """
    unknown = set(settings) - SYMPY_OPTIONS
    if unknown:
        raise FilterError(f"latex() does not know {', '.join(sorted(unknown))}; it takes "
                          f"{', '.join(sorted(SYMPY_OPTIONS))}")
    notation = _language(language)
    if isinstance(obj, Tex):
        return _trusted(obj)
    if isinstance(obj, bool) or _is_numpy(obj, "bool_"):
        return rf"\text{{{notation.words['true' if obj else 'false']}}}"
    if isinstance(obj, str):
        return text(obj)
    if isinstance(obj, (list, tuple)):
        with _inside(obj):
            return _separator(notation).join(latex(item, language=language, printing=printing, **settings)
                                             for item in obj)
    if is_sympy(obj):
        return _sympy_latex(obj, settings, notation, printing)
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


@_bounded
def fixed(obj: object, digits: int, *, language: str = "en") -> str:
    """Numbers (and matrices, arrays, lists of them) with ``digits`` decimals."""
    _check_digits(digits, "fixed")
    return _each_number(obj, lambda x: _fixed(x, digits), _language(language))


@_bounded
def sig(obj: object, digits: int, *, language: str = "en") -> str:
    """Numbers with ``digits`` significant digits, in positional notation."""
    _check_digits(digits, "sig", minimum=1)
    return _each_number(obj, lambda x: _sig(x, digits), _language(language))


@_bounded
def sci(obj: object, digits: int, *, language: str = "en") -> str:
    r"""Numbers in scientific notation with ``digits`` significant digits: ``1.23 \times 10^{-4}``."""
    _check_digits(digits, "sci", minimum=1)
    return _each_number(obj, lambda x: _sci(x, digits), _language(language))


@_bounded
def percent(obj: object, digits: int, *, language: str = "en") -> str:
    r"""A fraction as a percentage with ``digits`` decimals: 0.1234 becomes ``12.3\,\%`` (``12{,}3\,\%`` in French)."""
    _check_digits(digits, "percent")
    return _each_number(obj, lambda x: _fixed(x * 100, digits) + r"\,\%", _language(language))


@_bounded
def text(obj: object) -> str:
    """A string, with LaTeX's special characters and non-ASCII letters escaped.

    Control characters (U+0000 to U+001F but tab and newline, DEL, U+0080 to U+009F) are refused:
    LaTeX cannot print them, and in a value they are almost always a mistake (a stray escape sequence).
    """
    if isinstance(obj, Tex):
        return _trusted(obj)
    if not isinstance(obj, str):
        raise FilterError(f"text() prints strings, not {type(obj).__name__}")
    return _escape(obj)


@_bounded
def coords(obj: object, digits: int) -> str:
    """Points ``[(x, y), ...]`` (or an n-by-2 array) as TikZ/pgfplots coordinates ``(x,y) ...``."""
    _check_digits(digits, "coords")
    rows = _rows(obj) if is_matrix(obj) else obj
    try:
        points = [tuple(point) for point in rows]
    except TypeError:
        raise FilterError("coords() needs a list of points (x, y)") from None
    return " ".join("(" + ",".join(_fixed(x, digits) for x in point) + ")" for point in points)


def figure(obj: object, width: object = 1) -> str:
    r"""A figure a value returned (a matplotlib Figure), included ``width`` times the line width (0 < width <= 1):
    ``\includegraphics[width=0.8\linewidth]{figures/<hash>.pdf}``; the build writes the PDF there."""
    if not isinstance(obj, SavedFigure):
        raise FilterError(f"figure() includes a figure that a value returns (a matplotlib Figure), "
                          f"not {_kind(obj)}")
    if isinstance(width, bool) or not isinstance(width, Real) or not 0 < width <= 1:
        raise FilterError(f"figure(width) takes the share of the line width, 0 < width <= 1, not {width!r}")
    return rf"\includegraphics[width={float(width):g}\linewidth]{{{obj.name}}}"


FILTERS = {
    "latex": latex,
    "fixed": fixed,
    "sig": sig,
    "sci": sci,
    "percent": percent,
    "text": text,
    "coords": coords,
    "figure": figure,
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


def _precision(x: Fraction | Decimal, decimals: int = 0) -> Context:
    """A context that carries every integer digit of ``x`` and ``decimals`` more (at least PRECISION)."""
    if isinstance(x, Decimal):
        whole = max(x.adjusted() + 1, 0)
    else:
        whole = max(abs(x.numerator).bit_length() - x.denominator.bit_length(), 0) * 0.302 + 2
    if whole > MAX_DIGITS:
        raise FilterError(f"a number of about {int(whole)} digits is too long to print in full "
                          f"(solman prints at most {MAX_DIGITS}); print it with | sci(n)")
    return Context(prec=max(PRECISION, int(whole) + decimals + 10))


def _fixed(x: object, digits: int) -> str:
    real = _real(x)
    with localcontext(_precision(real, digits)):
        rounded = _decimal(real).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        return _signless_zero(format(rounded, "f"))


def _sig(x: object, digits: int) -> str:
    real = _real(x)
    with localcontext(_precision(real)):
        number = _decimal(real)
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
    """An integer; five digits and more are grouped in threes with thin spaces.

    Any integer up to MAX_DIGITS digits prints exactly (Python's ``str()`` refuses more than 4300);
    a longer one is refused, with a hint to print it in scientific notation.
    """
    digits = _digits(abs(n))
    if len(digits) >= 5:
        groups = [digits[max(i - 3, 0):i] for i in range(len(digits), 0, -3)][::-1]
        digits = r"\,".join(groups)
    return ("-" if n < 0 else "") + digits


def _digits(n: int) -> str:
    """The decimal digits of ``n >= 0``, beyond Python's limit on int-to-str conversion (Decimal has none)."""
    if n.bit_length() < 14_000:  # fewer than 4300 digits: str() may convert it
        return str(n)
    if n.bit_length() * 0.30103 > MAX_DIGITS + 1:  # counted without converting an absurdly large number
        raise FilterError(f"an integer of about {int(n.bit_length() * 0.30103) + 1} digits is too long to print "
                          f"exactly (solman prints at most {MAX_DIGITS}); print it with | sci(n)")
    digits = str(Decimal(n))
    if len(digits) > MAX_DIGITS:
        raise FilterError(f"an integer of {len(digits)} digits is too long to print exactly "
                          f"(solman prints at most {MAX_DIGITS}); print it with | sci(n)")
    return digits


def _fraction(q: Fraction) -> str:
    sign = "-" if q < 0 else ""
    return rf"{sign}\frac{{{_integer(abs(q.numerator))}}}{{{_integer(q.denominator)}}}"


# --- containers ---------------------------------------------------------------------------

def _each_number(obj: object, show, notation: Language) -> str:
    """Apply ``show`` to a number, or to every entry of a matrix, array or list; in ``notation``'s
    decimal marker and list separator (``show`` writes Python's full stop)."""
    if is_array(obj) or is_matrix(obj):
        return _matrix([[notation.number(show(x)) for x in row] for row in _rows(obj)])
    if isinstance(obj, (list, tuple)):
        with _inside(obj):
            return _separator(notation).join(_each_number(item, show, notation) for item in obj)
    return notation.number(show(obj))


def _separator(notation: Language) -> str:
    return LIST_SEPARATOR.format(separator=notation.separator)


def _language(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except (KeyError, TypeError):
        raise FilterError(f"unknown language {code!r}; solman writes {', '.join(LANGUAGES)}") from None


_path = threading.local()  # the containers being printed, outermost first
MAX_NESTING = 50


@contextlib.contextmanager
def _inside(container: object):
    """Print a list inside ``container``: refuse a list that contains itself, or lists nested absurdly deep."""
    path = _path.__dict__.setdefault("ids", [])
    if id(container) in path:
        raise FilterError(f"the value contains itself (a {type(container).__name__} that is one of its own "
                          "items); it cannot be printed")
    if len(path) >= MAX_NESTING:
        raise FilterError(f"the value nests lists more than {MAX_NESTING} deep; index it, or print its parts")
    path.append(id(container))
    try:
        yield
    finally:
        path.pop()


def _matrix(rows: list[list[str]]) -> str:
    body = r"\\".join(" & ".join(row) for row in rows)
    return _spaced(rf"\begin{{bmatrix}}{body}\end{{bmatrix}}", max((len(row) for row in rows), default=0))


def _spaced(latex: str, columns: int = 0) -> str:
    """A matrix with fractions gets taller rows, so that stacked fractions do not touch; one wider than
    amsmath's default ten columns raises MaxMatrixCols (a global counter: it only ever allows more)."""
    prefix = ""
    if columns > MAX_MATRIX_COLUMNS:
        prefix += rf"\setcounter{{MaxMatrixCols}}{{{columns}}}"
    if r"\begin{bmatrix}" in latex and r"\frac" in latex:
        prefix += r"\renewcommand*{\arraystretch}{1.6}"
    return rf"\begingroup{prefix}{latex}\endgroup" if prefix else latex


def _sympy_latex(obj: object, settings: dict | None = None, notation: Language | None = None,
                 policy: Printing | None = None) -> str:
    """A sympy object's LaTeX under the printing ``policy`` (solman/values/printer.py), with solman's
    settings (matrices as ``bmatrix``) and the template's; in a language other than English, sympy's
    separators for a comma decimal and the language's words in cases and booleans."""
    import sympy

    if obj.atoms(sympy.Float):
        raise FilterError(
            f"the sympy expression {obj} contains floating-point numbers; make it exact "
            "(sympy.Rational, sympy.nsimplify) or print numbers with | fixed(n)"
        )
    columns = max((m.cols for m in _sympy_matrices(obj)), default=0)
    settings = {**SYMPY_SETTINGS, **(settings or {})}
    policy = (policy or DEFAULT).complete()
    return _spaced(latex_of(obj, settings, policy, notation or LANGUAGES["en"]), columns)


def _sympy_matrices(obj: object) -> list:
    """The matrices in a sympy object (the object itself, if it is one)."""
    matrix = library_types("sympy", "MatrixBase")
    if isinstance(obj, matrix):
        return [obj]
    return [node for node in sys.modules["sympy"].preorder_traversal(obj) if isinstance(node, matrix)]


@functools.cache
def _encoder():
    from pylatexenc.latexencode import UnicodeToLatexEncoder

    return UnicodeToLatexEncoder(non_ascii_only=False, replacement_latex_protection="braces-after-macro",
                                 unknown_char_policy="fail")


class _Table(dict):
    """Each character's LaTeX, as pylatexenc writes it, asked of pylatexenc once per character.

    pylatexenc's own encoder copies the rest of the string at every character (quadratic: 0.3 MB
    take seconds, 3 MB minutes); a table applied with ``str.translate`` takes linear time, in the
    manner of Sphinx's ``texescape``.
    """

    def __missing__(self, code: int) -> str:
        self[code] = latex = _encode(chr(code))
        return latex


def _encode(text: str) -> str:
    """pylatexenc's LaTeX for a few characters (one, or a letter and its combining accents)."""
    import logging

    pylatexenc_log = logging.getLogger("pylatexenc")  # it logs what it then raises: say it once, ours
    level = pylatexenc_log.level
    pylatexenc_log.setLevel(logging.CRITICAL)
    try:
        return _encoder().unicode_to_latex(text)
    except ValueError:
        raise FilterError(f"{text!r} ({', '.join(_char_name(c) for c in text)}) has no LaTeX form solman knows; "
                          "write it with tex(...)") from None
    finally:
        pylatexenc_log.setLevel(level)


_TABLE = _Table()
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # all but tab, newline, return
_COMBINING = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_ACCENTED = re.compile(f"([^{_COMBINING}][{_COMBINING}]+)")  # pylatexenc writes these as one accent macro


def _escape(s: str) -> str:
    """``s`` escaped for text mode, exactly as pylatexenc escapes it, in linear time."""
    control = _CONTROL.search(s)
    if control:
        raise FilterError(control_message(s, control.start(), "the text"))
    pieces = _ACCENTED.split(s)  # plain runs, and (at odd indices) letters with their accents
    return "".join(_encode(piece) if i % 2 else piece.translate(_TABLE) for i, piece in enumerate(pieces))


def control_message(s: str, at: int, what: str) -> str:
    """What to say about the control character at ``s[at]``: which one, and where."""
    char = s[at]
    line = s.count("\n", 0, at) + 1
    column = at - (s.rfind("\n", 0, at) + 1) + 1
    where = f"line {line}, column {column}" if "\n" in s else f"position {at + 1}"
    return (f"{what} {_clip(s)} has the control character U+{ord(char):04X} ({_char_name(char)}) at {where}, "
            "which LaTeX cannot print; remove it")


def _char_name(char: str) -> str:
    names = {"\x00": "NUL", "\x07": "BEL", "\x08": "BS", "\x1b": "ESC", "\x7f": "DEL", "\x0c": "FF", "\x0b": "VT"}
    return names.get(char) or unicodedata.name(char, "a control character" if unicodedata.category(char) == "Cc" else f"U+{ord(char):04X}")


def _clip(s: str, width: int = 40) -> str:
    return repr(s) if len(s) <= width else repr(s[:width]) + f"... ({len(s)} characters)"


def _trusted(latex: Tex) -> str:
    """LaTeX from ``tex(...)``, printed as written, once it holds no control character."""
    control = _CONTROL.search(latex)
    if control:
        raise FilterError(control_message(latex, control.start(), "the LaTeX"))
    return str(latex)


# --- type tests that do not import numpy or sympy -----------------------------------------

def _is_numpy(obj: object, kind: str) -> bool:
    return isinstance(obj, library_types("numpy", kind))


def _rows(obj: object) -> list[list[object]]:
    try:
        return matrix_rows(obj)
    except ValueError as exc:
        raise FilterError(str(exc) if is_matrix(obj) else _unprintable(obj)) from None


def _check_digits(digits: object, name: str, minimum: int = 0) -> None:
    if isinstance(digits, bool) or not isinstance(digits, int) or not minimum <= digits <= MAX_DECIMALS:
        raise FilterError(f"{name}(n) needs a whole number {minimum} <= n <= {MAX_DECIMALS}, not {digits!r}")


def _kind(obj: object) -> str:
    return "None" if obj is None else f"a {type(obj).__name__}"


def _unprintable(obj: object) -> str:
    if isinstance(obj, SavedFigure):
        return r"the value is a figure: include it with | figure(width), as in \VAR{ name | figure(0.8) }"
    if obj is None:
        return "the value is None; did the value function forget to return?"
    if isinstance(obj, dict):
        return "a dict cannot be printed as a whole; index it, as in value['key']"
    if isinstance(obj, complex):
        return f"the complex number {obj} cannot be printed where a real is expected"
    return (f"cannot print a value of type {type(obj).__name__}; a value may be a number, a sympy object, "
            "an array, a string, tex(...) or a list of these")
