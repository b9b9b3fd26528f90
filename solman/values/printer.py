r"""How a sympy value is written: sympy's LaTeX printer, taught the project's printing policy.

The filters (``solman/values/filters.py``) stay the one registry of how values become LaTeX; for a
sympy object they call ``latex_of`` here, which owns how mathematics looks on the page
(``solman/project/printing.py`` says what the author chose). Beyond sympy's own printer:

- a function of one symbol or number is written without parentheses, ``\cos\omega``, ``\ln 2``,
  ``t \ln t``, ``\sin^{2}\omega``; of anything else with parentheses sized to what they hold, and
  with no gap between the name and the parenthesis (sympy's ``\log{\left(\pi \right)}`` is typeset
  "log (π)"): ``\ln(2 \pi)``, ``\ln\mathopen{}\left(\frac{e \pi}{6}\right)``;
- ``\ln`` or ``\log``, ``^{\top}`` or ``^{T}``, ``\frac{1}{\sqrt{3}}`` or ``\frac{\sqrt{3}}{3}``, sums by
  descending degree or in the expression's order, and symbols printed bold, as the policy says;
- fractional powers as ``x^{3/2}``, not ``x^{\frac{3}{2}}`` with its tiny fraction;
- a difference of two terms starting with the positive one (``1 - p``, ``x_n - \mu``), and a product's
  factors in parentheses last (``w_n q_{k,n} \left(x_n - \mu\right)^{2}``), unless ``order = "source"``;
- in a language other than English, the language's words in case distinctions and booleans.

The display contract (``solman/checking/display.py``) reads every one of these forms back.
"""

from __future__ import annotations

import functools

from solman.project.language import ENGLISH, Language
from solman.project.printing import DEFAULT, Printing

BARE = ("sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "coth", "log")  # written \cos\omega
TALL = (r"\frac", r"\sum", r"\prod", r"\int", r"\begin", r"\sqrt", r"\left", r"\binom", r"\lim")
ORDER = {"descending": "lex", "source": "none"}


def latex_of(obj: object, settings: dict, policy: Printing = DEFAULT, notation: Language = ENGLISH) -> str:
    """``obj``'s LaTeX under ``policy`` (complete: every choice made), in ``notation``'s words, with
    ``settings`` for sympy's printer (the template's own, over the policy's)."""
    chosen = {"fold_frac_powers": True, "order": ORDER[policy.order], "ln_notation": policy.log == "ln",
              **settings}
    if notation.decimal != ".":
        chosen["decimal_separator"] = "comma"
    return _printer()(policy, notation, chosen).doprint(obj)


@functools.cache
def _printer():
    """The printer class (made on first use: sympy is imported late)."""
    import sympy
    from sympy.printing.conventions import split_super_sub
    from sympy.printing.latex import LatexPrinter

    class Printer(LatexPrinter):
        """sympy's LaTeX printer with solman's printing policy and a language's words."""

        def __init__(self, policy: Printing, notation: Language, settings: dict) -> None:
            super().__init__(settings)
            self.policy = policy
            self.words = notation.words
            self.bold = set(policy.bold or ())

        # --- functions: \cos\omega, \ln(2\pi), \ln\mathopen{}\left(\frac{a}{b}\right) ---------------

        def _print_Function(self, expr, exp=None) -> str:
            name = expr.func.__name__
            if name in BARE and len(expr.args) == 1:
                return self._operator(self._hprint_Function(name), expr.args[0], exp)
            latex = super()._print_Function(expr, exp)
            opening = latex.find(r"{\left(")
            if opening > 0 and latex.endswith(r" \right)}") and latex[0] == "\\":  # an operator name: \Gamma, \operatorname{f}
                return latex[:opening] + r"\mathopen{}\left(" + latex[opening + len(r"{\left("):-len(r" \right)}")] \
                    + r"\right)"
            return latex

        def _print_log(self, expr, exp=None) -> str:
            return self._operator(r"\ln" if self._settings["ln_notation"] else r"\log", expr.args[0], exp)

        def _operator(self, name: str, argument, exp) -> str:
            """An operator name applied to one argument: bare when it is one symbol or number,
            in parentheses (sized to it, without a gap) otherwise."""
            if exp is not None:
                name = rf"{name}^{{{exp}}}"
            shown = self._print(argument)
            if argument.is_Symbol or argument.is_Integer and argument > 0 or argument in (sympy.pi, sympy.E):
                return rf"{name} {shown}" if shown[0].isalnum() else rf"{name}{shown}"
            if not any(tall in shown for tall in TALL):
                return rf"{name}({shown})"
            return rf"{name}\mathopen{{}}\left({shown}\right)"

        # --- transposes, surds, bold symbols ------------------------------------------------

        def _print_Transpose(self, expr) -> str:
            latex = super()._print_Transpose(expr)
            return latex[:-len("^{T}")] + r"^{\top}" if self.policy.transpose == "top" else latex

        def _print_Mul(self, expr) -> str:
            if self.policy.surds == "keep":
                kept = self._surd_below(expr)
                if kept is not None:
                    return kept
            if self._settings["order"] != "none":
                grouped = self._parentheses_last(expr)
                if grouped is not None:
                    return grouped
            return super()._print_Mul(expr)

        def _parentheses_last(self, expr) -> str | None:
            r"""A product without a denominator with its factors in parentheses last, as one writes
            ``w_n q_{k,n} \left(x_n - \mu\right)^{2}`` (sympy: ``\left(- \mu + x_n\right)^{2} q_{k,n} w_n``);
            None when sympy's order already does that, or for a product with a denominator."""
            sign = ""
            if expr.could_extract_minus_sign():
                sign, expr = "- ", -expr
                if not expr.is_Mul:
                    return None
            factors = list(expr.as_ordered_factors())
            if any(f.is_Pow and f.exp.is_negative or f.is_Rational and not f.is_Integer for f in factors):
                return None
            parenthesised = [f for f in factors if f.is_Add or f.is_Pow and f.base.is_Add]
            grouped = [f for f in factors if f not in parenthesised] + parenthesised
            if grouped == factors:
                return None
            parts = []
            for i, factor in enumerate(grouped):
                shown = self._print(factor)
                if self._needs_mul_brackets(factor, first=i == 0, last=i == len(grouped) - 1):
                    shown = rf"\left({shown}\right)"
                parts.append(shown)
            return sign + self._settings["mul_symbol_latex"].join(parts)

        def _print_Add(self, expr, order=None) -> str:
            r"""sympy's sum, but a difference of two terms starts with the positive one: ``x_n - \mu``,
            ``1 - p`` (sympy: ``- \mu + x_n``, ``- p + 1``)."""
            terms = list(self._as_ordered_terms(expr, order=order))
            if self._settings["order"] != "none" and order != "none" and len(terms) == 2 \
                    and terms[0].could_extract_minus_sign() and not terms[1].could_extract_minus_sign():
                first, second = self._print(terms[1]), self._print(-terms[0])
                if self._needs_add_brackets(-terms[0]):
                    second = rf"\left({second}\right)"
                return f"{first} - {second}"
            return super()._print_Add(expr, order)

        def _surd_below(self, expr) -> str | None:
            r"""``c \sqrt{n} x`` with ``n`` dividing ``c``'s denominator as ``\frac{p x}{(q/n) \sqrt{n}}``:
            ``\frac{\sqrt{3}}{3}`` as ``\frac{1}{\sqrt{3}}``; None for any other product."""
            coefficient, rest = expr.as_coeff_Mul()
            surds = [f for f in sympy.Mul.make_args(rest)
                     if f.is_Pow and f.base.is_Integer and f.base > 1 and f.exp == sympy.S.Half]
            if not coefficient.is_Rational or len(surds) != 1:
                return None
            n, p, q = int(surds[0].base), int(coefficient.p), int(coefficient.q)
            if q % n:
                return None
            top = self._print(abs(p) * rest / surds[0])
            below = (f"{q // n} " if q != n else "") + rf"\sqrt{{{n}}}"
            return ("- " if p < 0 else "") + rf"\frac{{{top}}}{{{below}}}"

        def _print_Symbol(self, expr, style="plain") -> str:
            if self.bold and "{" not in expr.name and split_super_sub(expr.name)[0] in self.bold \
                    and expr not in self._settings["symbol_names"]:
                name, supers, subs = self._split_super_sub(expr.name)  # translated: "mu" is \mu
                latex = rf"\boldsymbol{{{name}}}" if name.startswith("\\") else rf"\mathbf{{{name}}}"
                if supers:
                    latex += "^{" + " ".join(supers) + "}"
                if subs:
                    latex += "_{" + " ".join(subs) + "}"
                return latex
            return super()._print_Symbol(expr, style)

        # --- the language's words -------------------------------------------------------------

        def _print_Piecewise(self, expr) -> str:
            return (super()._print_Piecewise(expr).replace(r"\text{for}", rf"\text{{{self.words['cases_for']}}}")
                    .replace(r"\text{otherwise}", rf"\text{{{self.words['cases_otherwise']}}}"))

        def _print_BooleanTrue(self, expr) -> str:
            return rf"\text{{{self.words['sympy_true']}}}"

        def _print_BooleanFalse(self, expr) -> str:
            return rf"\text{{{self.words['sympy_false']}}}"

    return Printer
