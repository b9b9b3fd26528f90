r"""The display contract: every printed value, read back from its LaTeX, is the value it came from.

A formatting filter could round wrongly, drop a sign, transpose a matrix or print 3 digits
where 2 were asked for; the tests would not notice, because they check the value, not what the
PDF shows. Here each printed value's LaTeX is parsed back, independently of the filters, and
compared with the value within the precision it was printed with: exactly for exact values,
to half a unit of the last printed digit for rounded ones, with the promised number of digits.

The parser reads what the filters and ``sympy.latex`` produce for numbers and simple formulas:
integers (with thin-space groups), decimals, ``\frac``, ``\sqrt``, powers, products, sums,
``\pi``, ``\times 10^{k}``, percentages, ``bmatrix`` and comma-separated lists, plus letters and
Greek letters as symbols and the usual functions. Anything else is reported as not checkable
(counted in the summary), never silently passed.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .rendering import Use
from .values import Tex, is_matrix, is_sympy, matrix_rows

GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
         "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi",
         "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega"}
FUNCTIONS = {"log": "log", "ln": "log", "exp": "exp", "sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh",
             "sinh": "sinh", "cosh": "cosh", "arctan": "atan", "arcsin": "asin", "arccos": "acos"}
TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\\,\d{3})*(?:\.\d+)?|\.\d+)|(?P<command>\\[a-zA-Z]+|\\[,;!: ])"
                   r"|(?P<symbol>[a-zA-Z])|(?P<char>[-+*/^_{}()\[\],|&=]|\\\\))")


class Unreadable(ValueError):
    """LaTeX outside what the parser reads."""


@dataclass
class Finding:
    use: Use
    problem: str


# --- comparing -------------------------------------------------------------------------------

def check_display(uses: list[Use]) -> tuple[list[Finding], int, int]:
    """Compare every printed value with its LaTeX; the findings, and how many were checked / not."""
    findings, checked, unreadable = [], 0, 0
    for use in uses:
        if use.latex is None or isinstance(use.obj, Tex) or (isinstance(use.obj, str) and use.filter == "text"):
            continue
        try:
            problem = compare(use.obj, use.latex, use.filter)
        except Unreadable:
            unreadable += 1
            continue
        checked += 1
        if problem:
            findings.append(Finding(use, problem))
    return findings, checked, unreadable


def compare(obj: object, latex: str, spec: str) -> str | None:
    """Why ``latex`` does not show ``obj`` as ``spec`` promised, or None when it does."""
    name, digits = parse_spec(spec)
    latex = unwrap(latex).replace("\\allowbreak\\ ", " ").replace("\\allowbreak", "")
    if name == "coords":
        shown = [[parse_number(x) for x in point.split(",")] for point in re.findall(r"\(([^()]*)\)", latex)]
        expected = matrix_rows(obj) if is_matrix(obj) else [list(point) for point in obj]
        return compare_grid(expected, shown, lambda e, s: rounded(e, s, digits, "fixed"))
    if isinstance(obj, str):
        return None if unescape(latex) == obj else f"shows {unescape(latex)!r}, the value is {obj!r}"
    if is_bool(obj):
        shown = {r"\text{true}": True, r"\text{false}": False}.get(latex.strip())
        return None if shown == bool(obj) else f"shows {latex!r} for {bool(obj)}"
    if is_matrix(obj):
        return compare_grid(matrix_rows(obj), parse_matrix(latex), lambda e, s: compare_entry(e, s, name, digits))
    if isinstance(obj, (list, tuple)):
        parts = split_top(latex, ",")
        if len(parts) != len(obj):
            return f"shows {len(parts)} items, the value has {len(obj)}"
        for index, (item, part) in enumerate(zip(obj, parts)):
            problem = compare(item, part, spec)
            if problem:
                return f"item {index}: {problem}"
        return None
    return compare_entry(obj, latex, name, digits)


def compare_entry(expected: object, latex: str, name: str, digits: int | None) -> str | None:
    if name in ("fixed", "sig", "sci", "percent"):
        if name == "percent":
            if not latex.rstrip().endswith(r"\,\%"):
                return f"{latex!r} lacks the percent sign"
            latex = latex.rstrip()[:-4]
        shown = parse_number(latex)
        return rounded(expected, shown, digits, name, latex)
    shown = parse_expression(latex, symbols_of(expected))
    return None if same_exact(expected, shown) else f"shows {shown}, the value is {expected}"


def rounded(expected: object, shown: Fraction, digits: int, name: str, latex: str | None = None) -> str | None:
    """Whether ``shown`` is ``expected`` rounded as ``name(digits)`` promised."""
    value = to_fraction(expected)
    if name == "percent":
        value *= 100
    if name == "fixed":
        unit = Fraction(1, 10 ** digits)
        decimals = len(latex.partition(".")[2].strip()) if latex else digits
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
    import sympy

    expected = sympy.sympify(expected.item() if type(expected).__module__ == "numpy" else expected)
    if expected == shown:
        return True
    difference = sympy.simplify(expected - shown)
    if difference == 0:
        return True
    free = sorted(difference.free_symbols, key=str)
    import random

    generator = random.Random(0)  # a formula equal at random points is the same formula
    try:
        if not free:
            return abs(complex(sympy.N(difference, 30))) < 1e-20
        for _ in range(5):
            point = {s: sympy.Rational(generator.randint(1, 97), generator.randint(1, 13)) for s in free}
            if abs(complex(sympy.N(difference.subs(point), 30))) > 1e-15:
                return False
    except (TypeError, ValueError) as exc:  # undefined functions, or no numeric value at those points
        raise Unreadable(f"cannot compare {shown} numerically") from exc
    return True


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


def parse_number(latex: str) -> Fraction:
    """A plain decimal or integer, possibly signed and grouped, or ``m \\times 10^{e}``."""
    text = latex.strip()
    match = re.fullmatch(r"(-?)(\d+(?:\\,\d{3})*(?:\.\d+)?)(?:\s*\\times\s*10\^\{(-?\d+)\})?", text)
    if not match:
        raise Unreadable(latex)
    value = Fraction(Decimal(match[2].replace(r"\,", "")))
    if match[3]:
        value *= Fraction(10) ** int(match[3])
    return -value if match[1] else value


def parse_matrix(latex: str) -> list[list[str]]:
    match = re.fullmatch(r"\\begin\{bmatrix\}(.*)\\end\{bmatrix\}", latex.strip(), flags=re.S)
    if not match:
        raise Unreadable(latex)
    return [[cell.strip() for cell in split_top(row, "&")] for row in split_top(match[1], r"\\")]


def split_top(text: str, separator: str) -> list[str]:
    """Split at ``separator`` outside braces and brackets."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        elif depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse_expression(latex: str, symbols: dict | None = None):
    """A sympy expression for ``latex`` (numbers, fractions, roots, powers, symbols, functions).

    ``symbols`` maps names to the symbols of the value being compared: the LaTeX says
    "alpha" or "e", not which assumptions alpha carries or whether e is a variable.
    """
    return Parser(latex, symbols or {}).parse()


def symbols_of(expected: object) -> dict:
    return {plain_name(str(s)): s for s in getattr(expected, "free_symbols", ())}


def plain_name(name: str) -> str:
    """A symbol's name without LaTeX: ``\\mathit{n}`` is n, ``S_{11}`` is S_11."""
    name = re.sub(r"\\[a-zA-Z]+\{([^{}]*)\}", r"\1", name)
    return name.replace("{", "").replace("}", "").replace("\\", "")


class Parser:
    """Recursive descent: sum := term (('+'|'-') term)*; term := factor (('*'|juxtaposition) factor)*."""

    def __init__(self, latex: str, symbols: dict) -> None:
        self.tokens = tokenize(latex)
        self.position = 0
        self.symbols = symbols

    def parse(self):
        result = self.sum()
        if self.position != len(self.tokens):
            raise Unreadable(f"unexpected {self.tokens[self.position]}")
        return result

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise Unreadable(f"expected {value}, found {token}")
        self.position += 1
        return token

    def sum(self):
        sign = 1
        while self.peek() and self.peek()[1] in "+-":
            sign = -sign if self.take()[1] == "-" else sign
        result = self.term() if sign == 1 else -self.term()
        while self.peek() and self.peek()[1] in ("+", "-"):
            operator = self.take()[1]
            result = result + self.term() if operator == "+" else result - self.term()
        return result

    def term(self):
        result = self.power()
        while True:
            token = self.peek()
            if token is None or token[1] in ("+", "-", ")", "}", "]", ",", "&", "\\\\", r"\right"):
                return result
            if token[1] in (r"\cdot", r"\times", "*"):
                self.take()
            if token[1] == "/":
                self.take()
                result = result / self.power()
                continue
            result = result * self.power()

    def power(self):
        base = self.atom()
        if self.peek() and self.peek()[1] == "_":
            import sympy

            self.take()
            index = self.take()[1] if self.peek()[1] != "{" else self.subscript()
            name = f"{base}_{index}"
            base = self.symbols.get(plain_name(name), sympy.Symbol(name))
        if self.peek() and self.peek()[1] == "^":
            self.take()
            exponent = self.group() if self.peek() and self.peek()[1] == "{" else self.atom()
            return base ** exponent
        return base

    def subscript(self) -> str:
        """The raw text of a braced subscript, as sympy names the symbol ``x_{12}``."""
        self.take("{")
        parts = []
        while self.peek() and self.peek()[1] != "}":
            parts.append(self.take()[1])
        self.take("}")
        return "".join(parts)

    def group(self):
        self.take("{")
        inner = self.sum()
        self.take("}")
        return inner

    def atom(self):
        import sympy

        kind, value = self.take()
        if kind == "number":
            return sympy.Rational(str(Fraction(Decimal(value.replace(r"\,", "")))))
        if kind == "symbol" or (value.startswith("\\") and value[1:] in GREEK):
            name = value.lstrip("\\")
            if self.peek() and self.peek()[1] == "{":  # sympy writes f{\left(x \right)} for a function
                return sympy.Function(name)(self.group())
            if name in self.symbols:
                return self.symbols[name]
            return sympy.E if name == "e" else sympy.I if name == "i" else sympy.Symbol(name)
        if value == "{":
            self.position -= 1
            return self.group()
        if value == "(":
            inner = self.sum()
            self.take(")")
            return inner
        if value == r"\left":
            opening = self.take()[1]
            inner = self.sum()
            if opening == "[" and self.peek() and self.peek()[1] == ",":  # \left[a, b\right]: an interval
                self.take(",")
                upper = self.sum()
                self.take(r"\right")
                self.take("]")
                return sympy.Interval(inner, upper)
            self.take(r"\right")
            self.take()
            return inner
        if value in (r"\frac", r"\dfrac", r"\tfrac"):
            return self.group() / self.group()
        if value == r"\sqrt":
            if self.peek() and self.peek()[1] == "[":
                self.take("[")
                degree = self.sum()
                self.take("]")
                return self.group() ** (1 / degree)
            return sympy.sqrt(self.group())
        if value == r"\pi":
            return sympy.pi
        if value in (r"\mathit", r"\mathrm", r"\operatorname"):  # a name set in a font: \mathit{n}
            name = self.subscript()
            if value == r"\operatorname" and self.peek() and self.peek()[1] in ("{", r"\left"):
                argument = self.group() if self.peek()[1] == "{" else self.atom()
                return getattr(sympy, name, sympy.Function(name))(argument)
            return self.symbols.get(plain_name(name), sympy.Symbol(name))
        if value in (r"\max", r"\min"):  # \max\left(0, x\right)
            self.take(r"\left")
            self.take("(")
            arguments = [self.sum()]
            while self.peek() and self.peek()[1] == ",":
                self.take(",")
                arguments.append(self.sum())
            self.take(r"\right")
            self.take(")")
            return (sympy.Max if value == r"\max" else sympy.Min)(*arguments)
        if value == r"\infty":
            return sympy.oo
        if value.startswith("\\") and value[1:] in FUNCTIONS:
            function = getattr(sympy, FUNCTIONS[value[1:]])
            argument = self.group() if self.peek() and self.peek()[1] == "{" else self.power()
            return function(argument)
        raise Unreadable(f"cannot read {value}")


def tokenize(latex: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = latex.strip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            if text[position:].strip() == "":
                break
            raise Unreadable(f"cannot read {text[position:position + 12]!r}")
        position = match.end()
        kind = match.lastgroup
        value = match[kind]
        if kind == "command" and value in ("\\,", "\\;", "\\!", "\\:", "\\ ", "\\allowbreak"):
            continue
        tokens.append((kind, value))
    return tokens


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
