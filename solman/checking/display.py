r"""The display contract: every printed value, read back from its LaTeX, is the value it came from.

A formatting filter could round wrongly, drop a sign, transpose a matrix or print 3 digits
where 2 were asked for; the tests would not notice, because they check the value, not what the
PDF shows. Here each printed value's LaTeX is parsed back, independently of the filters, and
compared with the value within the precision it was printed with: exactly for exact values,
to half a unit of the last printed digit for rounded ones, with the promised number of digits.

The reader parses what the filters and ``sympy.latex`` print, on its own: numbers (grouped,
decimal, ``\times 10^{k}``, percentages), ``\frac``, roots, powers, products, absolute values,
norms, max/min, floor/ceiling, factorials and binomials, the usual functions, ``cases``
(Piecewise), intervals, sets, tuples, sums, products, integrals, derivatives, ``O(.)``,
relations and logic, matrices, and the value's own symbols and functions by their spelling
(``x_{1}``, ``\hat{y}_i``, ``\sigma\left(x\right)``). What it cannot read, and any value of a
kind it never produces (``unknown_part``), is reported as not checkable (counted in the
summary), never silently passed. Symbolic values are compared by ``same``: part by part for
containers, at points of both signs, zero and complex numbers for expressions.

The reader knows the project's language, and reads its notation only: in French and German the
decimal marker is ``{,}`` (a full stop there, or ``{,}`` in English, is a finding), the items of a
list are separated by ``;`` (sympy's tuples and sets too; its intervals and arguments keep ``,``),
and booleans and case distinctions are in the language's words. ``{,}`` is never a list separator.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from solman.project.language import ENGLISH, Language
from solman.rendering.render import Use
from solman.values.evaluation import Tex, is_matrix, is_sympy, matrix_rows


class Unreadable(ValueError):
    """LaTeX outside what the parser reads."""


@dataclass
class Finding:
    use: Use
    problem: str


# --- comparing -------------------------------------------------------------------------------

def check_display(uses: list[Use], language: Language = ENGLISH) -> tuple[list[Finding], int, int]:
    """Compare every printed value with its LaTeX, written in ``language``; the findings, and how many
    were checked / not."""
    findings, checked, unreadable = [], 0, 0
    for use in uses:
        if use.latex is None or isinstance(use.obj, Tex) or (isinstance(use.obj, str) and use.filter == "text"):
            continue
        try:
            problem = compare(use.obj, use.latex, use.filter, language)
        except Unreadable:
            unreadable += 1
            continue
        checked += 1
        if problem:
            findings.append(Finding(use, problem))
    return findings, checked, unreadable


def compare(obj: object, latex: str, spec: str, language: Language = ENGLISH) -> str | None:
    """Why ``latex`` does not show ``obj`` as ``spec`` promised in ``language``, or None when it does."""
    name, digits = parse_spec(spec)
    if name == "figure":
        return compare_figure(obj, latex)
    latex = unwrap(latex).replace("\\allowbreak\\ ", " ").replace("\\allowbreak", "")
    if name == "coords":
        shown = [[parse_number(x) for x in point.split(",")] for point in re.findall(r"\(([^()]*)\)", latex)]
        expected = matrix_rows(obj) if is_matrix(obj) else [list(point) for point in obj]
        return compare_grid(expected, shown, lambda e, s: rounded(e, s, digits, "fixed"))
    if isinstance(obj, str):
        return None if unescape(latex) == obj else f"shows {unescape(latex)!r}, the value is {obj!r}"
    if is_bool(obj):
        words = language.words
        shown = {rf"\text{{{words['true']}}}": True, rf"\text{{{words['false']}}}": False}.get(latex.strip())
        return None if shown == bool(obj) else f"shows {latex!r} for {bool(obj)}"
    if is_matrix(obj):
        return compare_grid(matrix_rows(obj), parse_matrix(latex),
                            lambda e, s: compare_entry(e, s, name, digits, language))
    if isinstance(obj, (list, tuple)):
        parts = split_top(latex, language.separator)
        if len(parts) != len(obj):
            return f"shows {len(parts)} items, the value has {len(obj)}"
        for index, (item, part) in enumerate(zip(obj, parts)):
            problem = compare(item, part, spec, language)
            if problem:
                return f"item {index}: {problem}"
        return None
    return compare_entry(obj, latex, name, digits, language)


def compare_figure(obj: object, latex: str) -> str | None:
    """A figure is shown when the ``\\includegraphics`` names the file that holds the value's PDF: its
    content hash (solman.values.figures), read back here, against the hash of the value's bytes."""
    match = re.fullmatch(r"\\includegraphics\[width=[\d.]+\\linewidth\]\{figures/([0-9a-f]{16})\.pdf\}", latex.strip())
    if match is None:
        raise Unreadable(latex)
    pdf = getattr(obj, "pdf", None)
    if not isinstance(pdf, bytes):
        return f"includes figures/{match[1]}.pdf, but the value is a {type(obj).__name__}, not a figure"
    if hashlib.sha256(pdf).hexdigest()[:16] != match[1]:
        return f"includes figures/{match[1]}.pdf, but the value's figure is {hashlib.sha256(pdf).hexdigest()[:16]}"
    return None


def compare_entry(expected: object, latex: str, name: str, digits: int | None,
                  language: Language = ENGLISH) -> str | None:
    if name in ("fixed", "sig", "sci", "percent"):
        if name == "percent":
            if not latex.rstrip().endswith(r"\,\%"):
                return f"{latex!r} lacks the percent sign"
            latex = latex.rstrip()[:-4]
        wrong = "{,}" if language.decimal == "." else "."
        if wrong in latex:
            return f"has the decimal marker {wrong!r}; in {language.name} it is {language.decimal!r}"
        shown = parse_number(latex, language)
        return rounded(expected, shown, digits, name, latex, language)
    unknown = unknown_part(expected)
    if unknown is not None:
        raise Unreadable(f"the reader does not know values like {type(unknown).__name__}: {unknown}")
    shown = parse_expression(latex, expected, language)
    try:
        equal = same_exact(expected, shown)
    except Unreadable:
        raise
    except Exception as exc:
        raise Unreadable(f"cannot compare {shown} with the value: {exc}") from exc
    return None if equal else f"shows {shown}, the value is {expected}"


def rounded(expected: object, shown: Fraction, digits: int, name: str, latex: str | None = None,
            language: Language = ENGLISH) -> str | None:
    """Whether ``shown`` is ``expected`` rounded as ``name(digits)`` promised."""
    value = to_fraction(expected)
    if name == "percent":
        value *= 100
    if name == "fixed":
        unit = Fraction(1, 10 ** digits)
        decimals = len(latex.partition(language.decimal)[2].strip()) if latex else digits
        if latex is not None and decimals != digits:
            return f"shows {decimals} decimals, {digits} were asked for"
    else:
        if value == 0:
            return None if shown == 0 else f"shows {float(shown)}, the value is 0"
        exponent = Decimal(abs(value.numerator)).adjusted() - Decimal(value.denominator).adjusted()
        if Fraction(10) ** exponent > abs(value):
            exponent -= 1
        unit = Fraction(10) ** (exponent - digits + 1)
    if abs(shown - value) > unit / 2 + unit / 10 ** 6:
        return f"shows {float(shown)!r}, the value is {float(value)!r} (printed as {name}({digits}))"
    return None


def compare_grid(expected: list[list[object]], shown: list[list[object]], check) -> str | None:
    if len(expected) != len(shown) or any(len(a) != len(b) for a, b in zip(expected, shown)):
        return (f"shows a {len(shown)}x{len(shown[0]) if shown else 0} array, "
                f"the value is {len(expected)}x{len(expected[0]) if expected else 0}")
    for i, (row, shown_row) in enumerate(zip(expected, shown)):
        for j, (e, s) in enumerate(zip(row, shown_row)):
            problem = check(e, s)
            if problem:
                return f"entry ({i + 1}, {j + 1}) {problem}"
    return None


def same_exact(expected: object, shown: object) -> bool:
    """Whether ``shown`` (read from the LaTeX) is the value ``expected``; see ``same``."""
    import sympy

    if type(expected).__module__ == "numpy":
        expected = expected.item()
    return same(sympy.sympify(expected), shown)


TOLERANCE = 10 ** -20  # relative, at points where the values are not exact rationals (evaluated to 30 digits)
POINTS = 12  # assignments of the free symbols tried
SPECIAL = ("Sum", "Product", "Integral", "Order", "Derivative", "Limit", "Subs")
COMMUTATIVE = ("And", "Or", "FiniteSet", "Union", "Intersection", "Xor", "Equivalent")


def same(expected, shown) -> bool:
    """Whether two sympy objects are the same value.

    Containers (matrices, tuples, sets, intervals, relations, logic) are compared part by part;
    unevaluated sums, products, integrals, derivatives and O(.) term by term after renaming their
    bound variables; everything else is a function of its free symbols, compared at points of
    both signs, at zero and at complex points, each as the symbol's assumptions allow (see
    ``points``): exactly where both values are rational there, else to a relative TOLERANCE.
    A point where the value is undefined (log 0, max of a complex number) is skipped; a point
    where only the printed value is undefined is a difference.
    """
    import sympy

    if expected == shown:
        return True
    if isinstance(expected, sympy.MatrixBase) or isinstance(shown, sympy.MatrixBase):
        return (isinstance(expected, sympy.MatrixBase) and isinstance(shown, sympy.MatrixBase)
                and expected.shape == shown.shape and all(same(a, b) for a, b in zip(expected, shown)))
    if not isinstance(shown, sympy.Basic):
        return False
    if isinstance(expected, sympy.Interval):
        return (isinstance(shown, sympy.Interval) and expected.left_open == shown.left_open
                and expected.right_open == shown.right_open and same(expected.start, shown.start)
                and same(expected.end, shown.end))
    if isinstance(expected, sympy.Set) and isinstance(shown, sympy.Set) and not isinstance(shown, sympy.Interval):
        return same_set(expected, shown)
    if isinstance(expected, sympy.core.relational.Relational):
        return (type(expected) is type(shown) and same(expected.lhs, shown.lhs) and same(expected.rhs, shown.rhs))
    if not isinstance(expected, sympy.Expr) or not isinstance(shown, sympy.Expr) or expected.is_Relational:
        return same_parts(expected, shown)
    return same_scalar(expected, shown)


def same_set(expected, shown) -> bool:
    """Two sets of numbers or symbols: the same elements at every point tried, else the same parts."""
    free = sorted(expected.free_symbols | shown.free_symbols, key=str)
    compared = 0
    for point in points(free):
        e, s = value_at(expected, point), value_at(shown, point)
        if e is None or s is None or e.free_symbols or s.free_symbols:
            break
        if e != s and not (e.is_subset(s) and s.is_subset(e)):
            return False
        compared += 1
    return True if compared and compared == len(points(free)) else same_parts(expected, shown)


def same_parts(expected, shown) -> bool:
    """Same class, and the same arguments (in any order for sets and logic)."""
    if type(expected) is not type(shown) or len(expected.args) != len(shown.args):
        return False
    if type(expected).__name__ in COMMUTATIVE:
        remaining = list(shown.args)
        for part in expected.args:
            match = next((i for i, candidate in enumerate(remaining) if same(part, candidate)), None)
            if match is None:
                return False
            remaining.pop(match)
        return True
    return all(same(a, b) for a, b in zip(expected.args, shown.args))


def same_special(expected, shown) -> bool:
    """Two unevaluated operators (sum, integral, O(.)): the same after renaming bound variables."""
    import sympy

    if type(expected) is not type(shown):
        return False
    name = type(expected).__name__
    if name in ("Sum", "Product", "Integral"):
        if len(expected.limits) != len(shown.limits):
            return False
        renamed_e, renamed_s = expected.function, shown.function
        for limit_e, limit_s in zip(expected.limits, shown.limits):
            if len(limit_e) != len(limit_s):
                return False
            dummy = sympy.Dummy()
            if not all(same(a, b) for a, b in zip(limit_e[1:], limit_s[1:])):
                return False
            renamed_e = renamed_e.xreplace({limit_e[0]: dummy})
            renamed_s = renamed_s.xreplace({limit_s[0]: dummy})
        return same(renamed_e, renamed_s)
    if name == "Order":
        return (expected.point == shown.point and [str(v) for v in expected.variables] ==
                [str(v) for v in shown.variables] and same(expected.expr, shown.expr))
    if name == "Derivative":
        return ([(str(v), c) for v, c in expected.variable_count] == [(str(v), c) for v, c in shown.variable_count]
                and same(expected.expr, shown.expr))
    return all(same(a, b) for a, b in zip(expected.args, shown.args)) and len(expected.args) == len(shown.args)


def same_scalar(expected, shown) -> bool:
    import sympy

    expected, shown = opaque(expected, shown)
    if expected is None:
        return False
    free = sorted(expected.free_symbols | shown.free_symbols, key=str)
    evaluated = 0
    for point in points(free):
        e, s = value_at(expected, point), value_at(shown, point)
        if e is None:
            continue  # the value is not defined there
        if s is None:
            return False
        if e == s:
            evaluated += 1
            continue
        if e.is_Rational and s.is_Rational:
            return False
        a, b = numeric(e), numeric(s)
        if a is None:
            continue
        if b is None or sympy.Abs(a - b) > TOLERANCE * max(1, sympy.Abs(a)):
            return False
        evaluated += 1
    if evaluated >= min(3, len(points(free))):
        return True
    if sympy.simplify(expected - shown) == 0:
        return True
    raise Unreadable(f"cannot compare {shown} with the value at enough points")


def opaque(expected, shown):
    """Both sides with their unevaluated operators, indexed objects and undefined functions replaced
    by the same symbols and concrete functions; (None, None) when the operators do not pair up."""
    import sympy
    from sympy.core.function import AppliedUndef

    def outer(expr):
        found = []

        def walk(node):
            if type(node).__name__ in SPECIAL:
                found.append(node)
            else:
                for arg in node.args:
                    walk(arg)
        walk(expr)
        return found

    replacements_e, replacements_s = {}, {}
    remaining = outer(shown)
    for node in outer(expected):
        match = next((i for i, other in enumerate(remaining) if same_special(node, other)), None)
        if match is None:
            return None, None
        placeholder = sympy.Dummy(type(node).__name__)
        replacements_e[node] = placeholder
        replacements_s[remaining.pop(match)] = placeholder
    if remaining:
        return None, None
    expected, shown = expected.xreplace(replacements_e), shown.xreplace(replacements_s)
    for side in (0, 1):
        target = (expected, shown)[side]
        indexed = {i: sympy.Symbol(f"[{i}]") for i in target.atoms(sympy.Indexed)}
        target = target.xreplace(indexed)
        functions = {type(f) for f in target.atoms(sympy.Function)
                     if isinstance(f, AppliedUndef) or not type(f).__module__.startswith("sympy")}
        for function in sorted(functions, key=lambda f: f.__name__):
            target = target.replace(function, concrete(function.__name__))
        expected, shown = (target, shown) if side == 0 else (expected, target)
    return expected, shown


def concrete(name: str):
    """A fixed, everywhere-defined function standing for an undefined one, the same for the same name."""
    import zlib

    import sympy

    seed = zlib.crc32(name.encode())

    def function(*arguments):
        total = sympy.Integer(seed % 7 + 1)
        for index, argument in enumerate(arguments):
            a, b = sympy.Rational(seed % (11 + index) + 1, 7 + index), sympy.Rational(seed % (13 + index) + 2, 5)
            total += sympy.exp(a * argument) + b * argument ** (index + 2)
        return total
    return function


CANDIDATES = ("0", "1", "-1", "1/2", "-3/7", "1/2 + I/3", "13/5", "-11/4", "2", "-2/3 + 5*I/4", "-2", "7/9",
              "-3*I/2", "3", "-5", "5/3", "4", "7", "-9/8")


def points(free: list) -> list[dict]:
    """Up to POINTS assignments of the symbols, each from values its assumptions allow: zero, both
    signs, fractions and complex numbers; a fixed sequence, the same on every run."""
    import sympy

    key = tuple(free)
    if key in POINT_CACHE:
        return POINT_CACHE[key]
    values = [sympy.sympify(v) for v in CANDIDATES]
    allowed = []
    for symbol in free:
        fitting = [v for v in values if all(getattr(v, f"is_{name}") == truth
                                            for name, truth in symbol.assumptions0.items() if name != "commutative")]
        allowed.append(fitting)
    if not free:
        result = [{}]
    elif any(not fitting for fitting in allowed):
        result = []
    else:
        result = [{symbol: fitting[(index + 3 * position * (index // len(fitting) + 1)) % len(fitting)]
                   for position, (symbol, fitting) in enumerate(zip(free, allowed))} for index in range(POINTS)]
    POINT_CACHE[key] = result
    return result


POINT_CACHE: dict = {}


def value_at(expr, point):
    """``expr`` at ``point``, or None where it is not defined."""
    import sympy

    try:
        value = expr.xreplace(point) if point else expr
        if value.has(sympy.nan, sympy.zoo) or value.is_infinite or value.free_symbols:
            return None
        return value
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError, RecursionError):
        return None


def numeric(value):
    """``value`` to 30 digits, or None when it is not a finite number."""
    import sympy

    try:
        result = sympy.N(value, 30)
        parts = result.as_real_imag()
    except (TypeError, ValueError, ArithmeticError):
        return None
    return result if all(p.is_Number and p.is_finite for p in parts) else None


# --- parsing ---------------------------------------------------------------------------------

def parse_spec(spec: str) -> tuple[str, int | None]:
    """A filter and its precision from how it was called: ``fixed(3)``, ``latex``, ``latex(order='none')``."""
    match = re.fullmatch(r"(\w+)(?:\((.*)\))?", spec)
    if not match:
        raise Unreadable(spec)
    return match[1], int(match[2]) if match[2] and match[2].isdigit() else None


def unwrap(latex: str) -> str:
    return re.sub(r"^\\begingroup(?:\\setcounter\{MaxMatrixCols\}\{\d+\})?"
                  r"(?:\\renewcommand\*\{\\arraystretch\}\{[\d.]+\})?(.*)\\endgroup$", r"\1",
                  latex.strip(), flags=re.S)


def parse_number(latex: str, language: Language = ENGLISH) -> Fraction:
    """A plain decimal or integer, possibly signed and grouped, or ``m \\times 10^{e}``, with
    ``language``'s decimal marker."""
    text = latex.strip()
    marker = re.escape(language.decimal)
    match = re.fullmatch(rf"(-?)(\d+(?:\\,\d{{3}})*(?:{marker}\d+)?)(?:\s*\\times\s*10\^\{{(-?\d+)\}})?", text)
    if not match:
        raise Unreadable(latex)
    value = Fraction(Decimal(match[2].replace(r"\,", "").replace(language.decimal, ".")))
    if match[3]:
        value *= Fraction(10) ** int(match[3])
    return -value if match[1] else value


def parse_matrix(latex: str) -> list[list[str]]:
    match = re.fullmatch(r"\\begin\{bmatrix\}(.*)\\end\{bmatrix\}|\\left\[\\begin\{matrix\}(.*)\\end\{matrix\}\\right\]",
                         latex.strip(), flags=re.DOTALL)
    if not match:
        raise Unreadable(latex)
    return [[cell.strip() for cell in split_top(row, "&")] for row in split_top(match[1] or match[2], r"\\")]


def split_top(text: str, separator: str) -> list[str]:
    """Split at ``separator`` outside braces, brackets and environments."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char in "{[(" or text.startswith("\\begin{", i):
            depth += 1
        elif char in "}])" or text.startswith("\\end{", i):
            depth -= 1
        elif depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


KNOWN = {"Symbol", "Dummy", "Pi", "Exp1", "ImaginaryUnit", "Infinity", "NegativeInfinity", "ComplexInfinity", "NaN",
         "EulerGamma", "GoldenRatio", "Add", "Mul", "Pow", "Sum", "Product", "Integral", "Derivative", "Order",
         "Piecewise", "ExprCondPair", "Tuple", "Interval", "FiniteSet", "Union", "Intersection", "Complement",
         "EmptySet", "Reals", "Integers", "Naturals", "Complexes", "Rationals", "Equality", "Unequality",
         "StrictLessThan", "StrictGreaterThan", "LessThan", "GreaterThan", "And", "Or", "Not", "Implies",
         "Equivalent", "BooleanTrue", "BooleanFalse", "Contains", "Indexed", "IndexedBase", "ImmutableDenseMatrix",
         "MutableDenseMatrix", "Abs", "floor", "ceiling", "conjugate", "factorial", "factorial2", "binomial",
         "Max", "Min", "exp", "log", "sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "coth",
         "asin", "acos", "atan", "acot", "asec", "acsc", "asinh", "acosh", "atanh", "acoth", "asech", "acsch",
         "sign", "re", "im", "arg", "erf", "erfc", "erfi", "sinc", "gamma", "zeta", "DiracDelta", "Heaviside",
         "digamma", "dirichlet_eta", "beta"}


def unknown_part(expected: object):
    """The part of ``expected`` that is not of a kind the reader can produce: numbers, symbols,
    arithmetic, the functions it knows, undefined and project-defined functions, sums, integrals,
    O(.), Piecewise, intervals and sets, relations and logic, explicit matrices. A value of another
    kind (a transfer function, a matrix expression, a permutation) may print like something the
    reader knows (a fraction, a product) and is declined rather than misread. The first part of
    another kind, or None."""
    import sympy
    from sympy.core.function import AppliedUndef

    if isinstance(expected, sympy.MatrixBase):
        return next((part for part in map(unknown_part, expected) if part is not None), None)
    if not isinstance(expected, sympy.Basic):
        return None
    for node in sympy.preorder_traversal(expected):
        name = type(node).__name__
        if isinstance(node, (sympy.Rational, AppliedUndef)) or name in KNOWN:
            continue
        if isinstance(node, sympy.Function) and not type(node).__module__.startswith("sympy"):
            continue  # a function the project defines: the reader takes it by name from the value
        return node
    return None


def parse_expression(latex: str, expected: object = None, language: Language = ENGLISH):
    """A sympy object for ``latex`` (written in ``language``), read with the names of ``expected``.

    ``expected`` (the value being compared, or None) only lends its names: the LaTeX says
    "alpha", "\\hat{y}_i" or "\\sigma\\left(x\\right)", not which assumptions alpha carries,
    which symbol a name stands for or that sigma is a function. What the LaTeX says about the
    value itself is read from the LaTeX alone.
    """
    return Parser(latex, Names.of(expected), language).parse()


# --- names -------------------------------------------------------------------------------------

GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
         "kappa", "varkappa", "lambda", "mu", "nu", "xi", "pi", "varpi", "rho", "varrho", "sigma", "varsigma", "tau",
         "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma",
         "Upsilon", "Phi", "Psi", "Omega"}
GREEK_ALIASES = {"lamda": r"\lambda", "Lamda": r"\Lambda", "khi": r"\chi", "omicron": "o", "Alpha": r"\mathrm{A}",
                 "Beta": r"\mathrm{B}", "Epsilon": r"\mathrm{E}", "Zeta": r"\mathrm{Z}", "Eta": r"\mathrm{H}",
                 "Iota": r"\mathrm{I}", "Kappa": r"\mathrm{K}", "Mu": r"\mathrm{M}", "Nu": r"\mathrm{N}",
                 "Omicron": r"\mathrm{O}", "Rho": r"\mathrm{P}", "Tau": r"\mathrm{T}", "Chi": r"\mathrm{X}",
                 "Khi": r"\mathrm{X}"}
ACCENTS = {**{name: "\\" + name + "{#}" for name in ("mathring", "ddddot", "dddot", "ddot", "dot", "check", "breve",
                                                   "acute", "grave", "tilde", "hat", "bar", "vec")},
           "bold": r"\boldsymbol{#}", "bm": r"\boldsymbol{#}", "cal": r"\mathcal{#}", "scr": r"\mathscr{#}",
           "frak": r"\mathfrak{#}", "prime": "{#}'", "prm": "{#}'", "abs": r"\left|{#}\right|",
           "mag": r"\left|{#}\right|", "norm": r"\left\|{#}\right\|", "avg": r"\left\langle{#}\right\rangle"}


def spell(name: str, function: bool = False) -> str:
    """How a symbol's name is conventionally written in LaTeX: ``x_1`` is ``x_{1}``, ``m__1`` is ``m^{1}``,
    ``alphahat`` is ``\\hat{\\alpha}``; a name that already holds LaTeX (a backslash or a brace) stands as it is."""
    if "\\" in name or "{" in name:
        return name
    parts = re.split(r"(?=[_^])", name.replace("__", "^"))
    base, supers, subs = parts[0], [p[1:] for p in parts[1:] if p[0] == "^"], [p[1:] for p in parts[1:] if p[0] == "_"]
    if not base or not all(supers + subs):
        return name
    digits = re.fullmatch(r"([a-zA-Z]+)(\d+)", base)
    if digits:
        base, subs = digits[1], [digits[2], *subs]
    text = spell_word(base)
    if function and len(text) > 1 and text.isalpha():
        text = rf"\operatorname{{{text}}}"
    if supers:
        text += "^{" + " ".join(spell_word(s) for s in supers) + "}"
    if subs:
        text += "_{" + " ".join(spell_word(s) for s in subs) + "}"
    return text


def bold_spellings(name: str) -> list[str]:
    r"""How the printing policy writes the symbol ``name`` bold (``bold = [...]``): ``\mathbf{x}_{1}``,
    ``\boldsymbol{\mu}_{k}``; none for a name that already holds LaTeX."""
    if "\\" in name or "{" in name:
        return []
    spelled = spell(name)
    end = min((i for i in (spelled.find("^{"), spelled.find("_{")) if i > 0), default=len(spelled))
    base, indices = spelled[:end], spelled[end:]
    return [rf"\mathbf{{{base}}}{indices}", rf"\boldsymbol{{{base}}}{indices}"]


def spell_word(word: str) -> str:
    for suffix in sorted(ACCENTS, key=len, reverse=True):
        if word.lower().endswith(suffix) and len(word) > len(suffix):
            return ACCENTS[suffix].replace("#", spell_word(word[:-len(suffix)]))
    if word in GREEK_ALIASES:
        return GREEK_ALIASES[word]
    if word in GREEK:
        return "\\" + word
    return "\\" + word.lower() if word.lower() in GREEK else word


@dataclass
class Names:
    """The names ``expected`` uses: its symbols and functions by spelling, its indexed bases by label."""

    spelled: dict[tuple, tuple[str, object]]  # (spelling as tokens, "symbol" | "function") -> object or None
    functions: dict[str, object]  # function name -> function class
    bases: dict[str, object]  # indexed base label -> IndexedBase

    @classmethod
    def of(cls, expected: object) -> Names:
        import sympy
        from sympy.core.function import AppliedUndef

        names = cls({}, {}, {})
        if expected is None or not hasattr(expected, "free_symbols"):
            return names
        entries = [("symbol", s, [spell(s.name), *bold_spellings(s.name)]) for s in expected.free_symbols
                   if isinstance(s, sympy.Symbol)]
        for applied in expected.atoms(sympy.Function):
            function = type(applied)
            if isinstance(applied, AppliedUndef) or not function.__module__.startswith("sympy"):
                names.functions[function.__name__] = function
                entries.append(("function", function, [spell(function.__name__, function=True),
                                                       rf"\operatorname{{{function.__name__}}}"]))
        for kind, thing, spellings in sorted(entries, key=lambda entry: str(entry[1])):
            for spelling in spellings:
                try:
                    key = spelling_key(tokenize(spelling))
                except Unreadable:
                    continue
                clash = names.spelled.get((key, kind), thing) != thing
                names.spelled[key, kind] = None if clash else thing
        for indexed in expected.atoms(sympy.Indexed):
            names.bases[str(indexed.base.label)] = indexed.base
        return names


def spelling_key(tokens: list[Token]) -> tuple:
    """Tokens compared for a name: values, and whether two letters or digits stand apart."""
    return tuple((t.value, bool(t.gap) and i > 0 and t.kind in ("letter", "number")
                  and tokens[i - 1].kind in ("letter", "number")) for i, t in enumerate(tokens))


# --- tokens ------------------------------------------------------------------------------------

@dataclass
class Token:
    kind: str  # number, command, letter, char
    value: str
    gap: str  # whitespace before it: "", " " or "thin" (a \, \: \; or \ )


TOKEN = (r"(?P<number>\d{1,3}(?:\\,\d{3})+(?!\d)(?:DECIMAL\d+)?|\d+(?:DECIMAL\d+)?|DECIMAL\d+)"
         r"|(?P<command>\\[a-zA-Z]+|\\[,;!: |{}%#&$_]|\\\\)|(?P<letter>[^\W\d_])"
         r"|(?P<char>[-+*/^_{}()\[\],|&=<>!'.:;])")  # DECIMAL: the language's decimal marker; a letter
# may be any (sympy writes names in ASCII, but the words of a case distinction are the language's: \text{für})


@functools.cache
def token_pattern(decimal: str) -> re.Pattern:
    return re.compile(TOKEN.replace("DECIMAL", re.escape(decimal)))


SPACES = {"\\,": "thin", "\\:": "thin", "\\;": "thin", "\\ ": "forced", "\\!": "", "\\quad": " ", "\\qquad": " ",
          "\\allowbreak": ""}


def tokenize(latex: str, language: Language = ENGLISH) -> list[Token]:
    """The tokens of ``latex``; a number's decimal marker is ``language``'s (a number token holds it as ``.``)."""
    tokens, position, gap = [], 0, ""
    text = latex.replace(r"\mathopen{}", "").strip()  # the printer's way to set no gap before \left(
    pattern = token_pattern(language.decimal)
    while position < len(text):
        if text[position].isspace():
            gap = gap or " "
            position += 1
            continue
        match = pattern.match(text, position)
        if not match:
            raise Unreadable(f"cannot read {text[position:position + 12]!r}")
        position = match.end()
        kind = match.lastgroup
        value = match[kind]
        if kind == "number":
            value = value.replace(language.decimal, ".")
        if kind == "command" and value in SPACES:
            gap = max(gap, SPACES[value], key=["", " ", "thin", "forced"].index)
            continue
        tokens.append(Token(kind, value, gap))
        gap = ""
    return tokens


# --- the reader --------------------------------------------------------------------------------

FUNCTIONS = {"log": "log", "ln": "log", "exp": "exp", "sin": "sin", "cos": "cos", "tan": "tan", "cot": "cot",
             "sec": "sec", "csc": "csc", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "coth": "coth",
             "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arg": "arg", "det": "det", "gcd": "gcd",
             "max": "Max", "min": "Min"}
GREEK_FUNCTIONS = {r"\Gamma": "gamma", r"\zeta": "zeta", r"\delta": "DiracDelta", r"\theta": "Heaviside",
                   r"\psi": "digamma", r"\eta": "dirichlet_eta", r"\operatorname{B}": "beta"}
CONSTANTS = {"e": "E", "i": "I", r"\pi": "pi", r"\infty": "oo", r"\gamma": "EulerGamma", r"\phi": "GoldenRatio"}
RELATIONS = {"=": "Eq", r"\neq": "Ne", r"\ne": "Ne", "<": "Lt", ">": "Gt", r"\leq": "Le", r"\le": "Le",
             r"\geq": "Ge", r"\ge": "Ge"}
SETS = {"R": "Reals", "Z": "Integers", "N": "Naturals", "C": "Complexes", "Q": "Rationals"}
ENDS_TERM = {"+", "-", ")", "}", "]", ",", "&", "\\\\", r"\right", r"\end", ";", r"\rightarrow", r"\to",
             r"\wedge", r"\vee", r"\Rightarrow", r"\Leftrightarrow", r"\in", r"\cup", r"\cap", r"\setminus", "|",
             r"\rVert", r"\mid", r"\text"} | set(RELATIONS)


class Parser:
    """Recursive descent over the tokens: proposition, relation, sum, term, factor, atom."""

    def __init__(self, latex: str, names: Names, language: Language = ENGLISH) -> None:
        self.tokens = tokenize(latex, language)
        self.position = 0
        self.names = names
        self.words = language.words
        self.separators = tuple(dict.fromkeys((",", language.separator)))  # of items: ";" too where "," marks decimals
        self.bound: dict[str, object] = {}  # variables of the sums, products and integrals around
        self.integrand = 0  # inside an integral, "\, dx" ends the term

    def parse(self):
        try:
            result = self.proposition()
        except Unreadable:
            raise
        except Exception as exc:
            raise Unreadable(f"what it reads is not a sympy object: {exc}") from exc
        if self.position != len(self.tokens):
            raise Unreadable(f"unexpected {self.tokens[self.position].value}")
        return result

    # tokens

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.position + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token is not None and token.value in values

    def take(self, value: str | None = None) -> Token:
        token = self.peek()
        if token is None or (value is not None and token.value != value):
            raise Unreadable(f"expected {value}, found {token.value if token else 'the end'}")
        self.position += 1
        return token

    def word(self) -> str:
        """The letters of a braced argument, as in ``\\text{for}`` or ``\\mathbb{R}``."""
        self.take("{")
        parts = []
        while not self.at("}"):
            parts.append(self.take().value)
        self.take("}")
        return "".join(parts)

    # levels

    def proposition(self):
        import sympy

        left = self.disjunction()
        if self.at(r"\Rightarrow", r"\Leftrightarrow"):
            operator = self.take().value
            right = self.disjunction()
            return (sympy.Implies if operator == r"\Rightarrow" else sympy.Equivalent)(left, right)
        return left

    def disjunction(self):
        import sympy

        return self.chained(r"\vee", self.conjunction, sympy.Or)

    def conjunction(self):
        import sympy

        return self.chained(r"\wedge", self.relation, sympy.And)

    def chained(self, operator: str, operand, combine):
        """``operand operator operand ...`` as ``combine(*operands)``; a single operand as itself."""
        parts = [operand()]
        while self.at(operator):
            self.take()
            parts.append(operand())
        return combine(*parts) if len(parts) > 1 else parts[0]

    def relation(self):
        import sympy

        if self.at(r"\neg"):
            self.take()
            return sympy.Not(self.relation())
        left = self.sum()
        if self.peek() and self.peek().value in RELATIONS:
            relation = getattr(sympy, RELATIONS[self.take().value])
            return relation(left, self.sum(), evaluate=False)
        if self.at(r"\in"):
            self.take()
            return sympy.Contains(left, self.sum(), evaluate=False)
        return left

    def sum(self):
        import sympy

        sign = 1
        while self.at("+", "-"):
            sign = -sign if self.take().value == "-" else sign
        result = self.term() if sign == 1 else -self.term()
        while self.at("+", "-", r"\cup", r"\cap", r"\setminus"):
            operator = self.take().value
            if operator in ("+", "-"):
                term = self.term()
                result = result + term if operator == "+" else result - term
            else:
                right = self.term()
                result = {r"\cup": sympy.Union, r"\cap": sympy.Intersection,
                          r"\setminus": sympy.Complement}[operator](result, right)
        return result

    def term(self):
        result = self.factor()
        while True:
            token = self.peek()
            if token is None or token.value in ENDS_TERM:
                return result
            if self.integrand and token.value == "d" and token.gap == "thin":
                return result
            if token.value == "{" and not token.gap and self.peek(1) and self.peek(1).value == r"\left":
                raise Unreadable("arguments of something that is not a function")
            if token.value in (r"\cdot", r"\times", "*"):
                self.take()
            elif token.value == "/":
                self.take()
                result = result / self.factor()
                continue
            result = result * self.factor()

    def factor(self):
        import sympy

        base = self.atom()
        while True:
            if self.at("^"):
                self.take()
                if self.transposed():
                    if not isinstance(base, sympy.MatrixBase):
                        raise Unreadable("a transpose of something that is not a matrix")
                    base = base.T
                    continue
                exponent = self.script()
                if isinstance(base, sympy.MatrixBase) and not (exponent.is_Integer and abs(exponent) < 10):
                    raise Unreadable("a matrix to a power")
                base = base ** exponent
            elif self.at("!"):
                self.take()
                if self.at("!") and not self.peek().gap:
                    self.take()
                    base = sympy.factorial2(base)
                else:
                    base = sympy.factorial(base)
            else:
                return base

    def transposed(self) -> bool:
        r"""Whether the superscript ahead is a transpose, ``^{\top}`` or ``^\top`` (taken if so). ``^{T}`` is
        a power of the symbol T: the printing policy's transpose = "T" is not read back."""
        for written in ([r"\top"], ["{", r"\top", "}"], [r"\intercal"], ["{", r"\intercal", "}"]):
            if [t.value for t in self.tokens[self.position:self.position + len(written)]] == written:
                self.position += len(written)
                return True
        return False

    def script(self):
        """A superscript or subscript: a braced group or a single token."""
        if self.at("{"):
            return self.group()
        token = self.take()
        if token.kind == "number":
            return number(token.value)
        self.position -= 1
        return self.atom()

    def group(self):
        self.take("{")
        inner = self.proposition()
        self.take("}")
        return inner

    def arguments(self, opening: str = "(", closing: str = ")") -> list:
        r"""``\left( a, b \right)``, possibly inside braces: ``{\left(x \right)}``."""
        braced = self.at("{")
        if braced:
            self.take("{")
        self.take(r"\left")
        self.take(opening)
        items = [] if self.at(r"\right") else self.items()
        self.take(r"\right")
        self.take(closing)
        if braced:
            self.take("}")
        return items

    def items(self) -> list:
        items = [self.proposition()]
        while self.at(*self.separators):
            self.take()
            items.append(self.proposition())
        return items

    def applied(self) -> bool:
        """Whether a function's arguments follow directly: ``\\left(`` or ``{\\left(``."""
        token, after = self.peek(), self.peek(1)
        if token is None or token.gap or after is None:
            return False
        if token.value == r"\left":
            return after.value == "("
        return token.value == "{" and after.value == r"\left" and self.peek(2) is not None and self.peek(2).value == "("

    # atoms

    def atom(self):
        import sympy

        named = self.named()
        if named is not None:
            return named
        token = self.take()
        kind, value = token.kind, token.value
        if kind == "number":
            return number(value)
        if kind == "letter" or (kind == "command" and value[1:] in GREEK):
            return self.name(value)
        if value == "{":
            self.position -= 1
            inner = self.group()
            if self.at("_") and isinstance(inner, sympy.Symbol):  # {q}_{k,n}: an indexed base
                self.take("_")
                indices = self.script_items()
                return sympy.Indexed(self.names.bases.get(inner.name, sympy.IndexedBase(inner.name)), *indices)
            return inner
        if value == "(":
            inner = self.proposition()
            self.take(")")
            return inner
        if value == r"\left":
            return self.delimited()
        if value == r"\lVert":
            inner = self.sum()
            self.take(r"\rVert")
            return norm(inner)
        if value in (r"\frac", r"\dfrac", r"\tfrac"):
            return self.fraction()
        if value == r"\binom":
            top = self.group()
            return sympy.binomial(top, self.group())
        if value == r"\sqrt":
            if self.at("["):
                self.take("[")
                degree = self.sum()
                self.take("]")
                return sympy.root(self.group(), degree)
            return sympy.sqrt(self.group())
        if value == r"\overline":
            return sympy.conjugate(self.group())
        if value in (r"\sum", r"\prod"):
            return self.big_operator(sympy.Sum if value == r"\sum" else sympy.Product)
        if value in (r"\int", r"\iint", r"\iiint"):
            self.position -= 1
            return self.integral()
        if value == r"\begin":
            return self.environment()
        if value == r"\text":
            text = self.word()
            known = {self.words["sympy_true"]: sympy.true, self.words["sympy_false"]: sympy.false, "NaN": sympy.nan}
            if text in known:
                return known[text]
            raise Unreadable(f"cannot read \\text{{{text}}}")
        if value == r"\tilde" and self.at("{") and self.peek(1).value == r"\infty":
            self.group()
            return sympy.zoo
        if value == r"\mathbb":
            letter = self.word()
            if letter not in SETS:
                raise Unreadable(f"cannot read \\mathbb{{{letter}}}")
            return getattr(sympy.S, SETS[letter])
        if value == r"\emptyset":
            return sympy.EmptySet
        if value in (r"\mathbf", r"\boldsymbol", r"\bm") and self.at("{"):  # a symbol printed bold: bold = [...]
            inner = self.group()
            if not isinstance(inner, sympy.Symbol):
                raise Unreadable(f"{value} of something that is not a symbol")
            return inner
        if value in (r"\mathrm", r"\operatorname", r"\mathit"):
            name = self.word()
            if value == r"\operatorname" or self.applied():
                return self.function(name, rf"{value}{{{name}}}")
            return self.name(name)
        if value[1:] in FUNCTIONS:
            return self.function(FUNCTIONS[value[1:]], value)
        if value in CONSTANTS:
            return getattr(sympy, CONSTANTS[value])
        raise Unreadable(f"cannot read {value}")

    def named(self):
        """The longest name of the expected value's symbols and functions spelled at this point, if any."""
        token = self.peek()
        if token is None or not self.names.spelled or token.value in self.bound:
            return None
        best = None
        for (key, kind), thing in sorted(self.names.spelled.items(), key=lambda item: item[0][1] == "symbol"):
            length = len(key)
            if (best and length <= best[0]) or key != spelling_key(self.tokens[self.position:self.position + length]):
                continue
            following = self.peek(length)
            if kind == "symbol" and following is not None and not following.gap and following.kind == "letter" \
                    and key[-1][0].isalpha():
                continue  # "x" is not the start of "xy"
            if (kind == "function") != self.applies_after(length):
                continue  # a symbol is not applied to arguments (the printer sets a product apart), a function is
            if thing is None:
                raise Unreadable(f"two names are written {''.join(v for v, _ in key)}")
            best = (length, kind, thing)
        if best is None:
            return None
        length, kind, thing = best
        self.position += length
        return thing if kind == "symbol" else self.apply(thing)

    def applies_after(self, length: int) -> bool:
        """Whether arguments follow ``length`` tokens on, perhaps after a power: ``f^{2}{\\left(x \\right)}``."""
        start = self.position
        try:
            self.position += length
            if self.at("^"):
                self.take()
                self.script()
            return self.applied()
        except Unreadable:
            return False
        finally:
            self.position = start

    def apply(self, function):
        """``function`` applied to the arguments that follow, raised to the power written before them."""
        power = None
        if self.at("^"):
            self.take()
            if self.at("{") and self.peek(1).value == r"\left":
                raise Unreadable("a derivative order written as a power")
            power = self.script()
        result = function(*self.arguments())
        return result ** power if power is not None else result

    def name(self, value: str):
        """A letter, a Greek letter or a word: a bound variable, a function, a constant or a new symbol."""
        import sympy

        name = value.lstrip("\\")
        if value in self.bound:
            return self.bound[value]
        if self.applies_after(0) and (value in GREEK_FUNCTIONS or value == "O" or len(name) == 1):
            if value == "O" and self.applied():
                return self.order()
            if value in GREEK_FUNCTIONS:
                return self.apply(getattr(sympy, GREEK_FUNCTIONS[value]))
            if self.at("{") or (self.at("^") and self.applies_after(0)):
                return self.apply(sympy.Function(name))
        following = self.peek()
        if following is not None and not following.gap and following.kind == "letter" and value.isalpha():
            raise Unreadable(f"a word {value}{following.value}... that names no symbol")
        if self.at("_"):
            self.take("_")
            text = self.script_text()
            return self.bound.get(f"{value}_{text}", sympy.Symbol(f"{name}_{text}"))
        if value in CONSTANTS:
            return getattr(sympy, CONSTANTS[value])
        return sympy.Symbol(name)

    def script_text(self) -> str:
        if not self.at("{"):
            return self.take().value
        self.take("{")
        depth, parts = 1, []
        while True:
            token = self.take()
            depth += {"{": 1, "}": -1}.get(token.value, 0)
            if depth == 0:
                return "".join(parts)
            parts.append(token.value)

    def script_items(self) -> list:
        if not self.at("{"):
            return [self.script()]
        self.take("{")
        items = self.items()
        self.take("}")
        return items

    def function(self, name: str, written: str):
        """A function applied to arguments: ``\\sin^{2}{\\left(x \\right)}``, ``f{\\left(x \\right)}``."""
        import sympy

        power = None
        if self.at("^"):
            self.take("^")
            power = self.script()
        if written == "O":
            return self.order()
        function = self.names.functions.get(name)
        if function is None:
            known = GREEK_FUNCTIONS.get(written) or (name if written.startswith("\\") else None)
            function = getattr(sympy, known, None) if known else None
            if not (isinstance(function, type) and issubclass(function, (sympy.Function, sympy.Basic))) \
                    and function not in (sympy.sqrt, sympy.root):
                if written.startswith(r"\operatorname") or (len(name) == 1 and self.at("{")):
                    function = sympy.Function(name)
                else:
                    raise Unreadable(f"cannot read the function {written}")
        if self.applied():
            arguments = self.arguments()
        elif self.at("{"):
            arguments = [self.group()]
        else:
            arguments = [self.factor()]
        result = function(*arguments)
        return result ** power if power is not None else result

    def order(self):
        r"""``O\left(x^{2}\right)`` or ``O\left(x; x\rightarrow \infty\right)``."""
        import sympy

        self.take(r"\left")
        self.take("(")
        expression = self.sum()
        limits = []
        if self.at(";"):
            self.take(";")
            if self.at(r"\left"):
                variables = self.arguments()
            else:
                variables = [self.sum()]
            self.take(r"\rightarrow")
            if self.at(r"\left"):
                points = self.arguments()
            else:
                points = [self.sum()]
            limits = list(zip(variables, points))
        self.take(r"\right")
        self.take(")")
        return sympy.Order(expression, *limits)

    def delimited(self):
        r"""What ``\left`` opens: parentheses, an interval, a tuple, an absolute value, a norm, a set."""
        import sympy

        opening = self.take().value
        if opening in ("(", "[") and self.at(r"\begin"):
            self.take(r"\begin")
            matrix = self.environment(opened=True)
            self.take(r"\right")
            self.take({"(": ")", "[": "]"}[opening])
            return matrix
        if opening in ("(", "["):
            start = self.position
            items = self.items()
            forced = any(t.value in self.separators and self.tokens[i + 1].gap == "forced" for i, t in
                         enumerate(self.tokens[start:self.position], start) if i + 1 < len(self.tokens))
            self.take(r"\right")
            closing = self.take().value
            if forced or (len(items) == 1 and opening == "(" and closing == ")" and
                          self.tokens[start].gap == " " and self.tokens[self.position - 3].value in self.separators):
                if opening == "(" and closing == ")":
                    return sympy.Tuple(*items)
                raise Unreadable("a list")
            if len(items) == 1 and opening == "(" and closing == ")":
                return items[0]
            if len(items) == 2 and closing in (")", "]"):
                return sympy.Interval(items[0], items[1], opening == "(", closing == ")")
            raise Unreadable(f"cannot read \\left{opening} with {len(items)} items \\right{closing}")
        if opening == "|":
            inner = self.sum()
            self.take(r"\right")
            self.take("|")
            return sympy.Abs(inner)
        if opening == r"\|":
            inner = self.sum()
            self.take(r"\right")
            self.take(r"\|")
            return norm(inner)
        if opening in (r"\lfloor", r"\lceil"):
            inner = self.sum()
            self.take(r"\right")
            self.take(r"\rfloor" if opening == r"\lfloor" else r"\rceil")
            return (sympy.floor if opening == r"\lfloor" else sympy.ceiling)(inner)
        if opening == r"\{":
            items = [] if self.at(r"\right") else self.items()
            self.take(r"\right")
            self.take(r"\}")
            return sympy.FiniteSet(*items)
        raise Unreadable(f"cannot read \\left{opening}")

    def fraction(self):
        r"""``\frac{a}{b}``, or a derivative ``\frac{d^{2}}{d x^{2}} f``."""
        start = self.position
        self.take("{")
        if self.at("d", r"\partial") and (self.peek(1).value == "}" or self.peek(1).value == "^"):
            operator = self.take().value
            if self.at("^"):
                self.take("^")
                self.script()
            if self.at("}"):
                self.take("}")
                return self.derivative(operator)
        self.position = start
        top = self.group()
        return top / self.group()

    def derivative(self, operator: str):
        import sympy

        self.take("{")
        variables = []
        while not self.at("}"):
            self.take(operator)
            variable = self.factor()
            if isinstance(variable, sympy.Pow) and variable.exp.is_Integer:
                variables.append((variable.base, int(variable.exp)))
            else:
                variables.append((variable, 1))
        self.take("}")
        return sympy.Derivative(self.factor(), *variables)

    def big_operator(self, operator):
        r"""``\sum_{i=1}^{n} body``; the body is a product, as the printer parenthesises a sum."""
        import sympy

        self.take("_")
        if self.at("{") and self.peek(1).value == r"\substack":
            raise Unreadable("cannot read \\substack")
        self.take("{")
        written = self.take()
        if written.kind != "letter" and written.value[1:] not in GREEK:
            raise Unreadable(f"a sum over {written.value}")
        variable = sympy.Symbol(written.value.lstrip("\\"))
        self.take("=")
        lower = self.sum()
        self.take("}")
        self.take("^")
        upper = self.script()
        saved = dict(self.bound)
        self.bound[written.value] = variable
        try:
            body = self.term()
        finally:
            self.bound = saved
        return operator(body, (variable, lower, upper))

    def integral(self):
        r"""``\int\limits_{a}^{b} f\, dx`` with one or more integral signs, or none of the limits."""
        import sympy

        limits = []
        while self.at(r"\int", r"\iint", r"\iiint"):
            count = {r"\int": 1, r"\iint": 2, r"\iiint": 3}[self.take().value]
            if self.at(r"\limits"):
                self.take()
            if count == 1 and self.at("_"):
                self.take("_")
                lower = self.script()
                self.take("^")
                limits.append((lower, self.script()))
            else:
                limits.extend([()] * count)
        self.integrand += 1
        try:
            body = self.term()
        finally:
            self.integrand -= 1
        variables = []
        while self.at("d") and self.peek().gap == "thin":
            self.take("d")
            token = self.peek()
            if token is None or token.gap:
                raise Unreadable("an integral without its variable")
            variables.append(self.atom())
        if len(variables) != len(limits) or not all(isinstance(v, sympy.Symbol) for v in variables):
            raise Unreadable("an integral whose variables do not match its signs")
        pairs = [(v, *limit) for v, limit in zip(variables, reversed(limits))]
        return sympy.Integral(body, *pairs)

    def environment(self, opened: bool = False):
        """A matrix (``bmatrix``, ``matrix`` inside brackets) or a ``cases`` of a Piecewise."""
        import sympy

        name = self.word()
        if name in ("bmatrix", "pmatrix", "matrix", "smallmatrix") and (opened == (name in ("matrix", "smallmatrix"))):
            rows = [[]]
            while not self.at(r"\end"):
                if self.at("\\\\"):
                    self.take()
                    rows.append([])
                    continue
                rows[-1].append(self.proposition())
                if self.at("&"):
                    self.take()
            self.take(r"\end")
            if self.word() != name:
                raise Unreadable(f"\\begin{{{name}}} does not end")
            if len(set(map(len, rows))) != 1:
                raise Unreadable("rows of different lengths")
            return sympy.ImmutableMatrix(rows)
        if name == "cases" and not opened:
            pieces = []
            while not self.at(r"\end"):
                expression = self.sum()
                self.take("&")
                self.take(r"\text")
                kind = self.word()
                if kind == self.words["cases_for"]:
                    condition = self.proposition()
                elif kind == self.words["cases_otherwise"]:
                    condition = sympy.true
                else:
                    raise Unreadable(f"a case {kind}")
                pieces.append((expression, condition))
                if self.at("\\\\"):
                    self.take()
            self.take(r"\end")
            if self.word() != "cases":
                raise Unreadable("\\begin{cases} does not end")
            return sympy.Piecewise(*pieces)
        raise Unreadable(f"cannot read \\begin{{{name}}}")


def number(text: str):
    import sympy

    return sympy.Rational(str(Fraction(Decimal(text.replace(r"\,", "")))))


def norm(inner):
    import sympy

    if isinstance(inner, sympy.MatrixBase):
        return inner.norm()
    return sympy.Abs(inner)


# --- values ----------------------------------------------------------------------------------

def to_fraction(obj: object) -> Fraction:
    if type(obj).__module__ == "numpy":
        obj = obj.item()
    if isinstance(obj, (int, Fraction)):
        return Fraction(obj)
    if isinstance(obj, float):
        return Fraction(obj)
    if is_sympy(obj):
        if obj.is_Rational:
            return Fraction(int(obj.p), int(obj.q))
        return Fraction(Decimal(str(sys.modules["sympy"].N(obj, 40))))
    return Fraction(Decimal(str(obj)))


def is_bool(obj: object) -> bool:
    return isinstance(obj, bool) or type(obj).__name__ == "bool_"


def unescape(latex: str) -> str:
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text().latex_to_text(latex)
