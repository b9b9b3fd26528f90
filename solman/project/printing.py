r"""The printing policy: how every sympy value is written, configured once for the whole manual.

A mathematician writes ``\cos\omega``, not ``\cos{\left(\omega \right)}``; ``\ln 2`` in a text that
says ln, ``\log 2`` in one that says log; ``\mathbf{X}^{\top}``; ``1/\sqrt{3}`` or ``\sqrt{3}/3`` but
one of them throughout. ``[tool.solman.printing]`` in ``pyproject.toml`` says which, once, for every
chapter; a chapter (or a part of it) may say otherwise with ``\VAR{ printing(log="ln") }``, from that
line on (as ``answer_space()`` does for answer space). ``solman/values/printer.py`` applies it.

=============  =============================  ==========================================================
key            values                         what it does
=============  =============================  ==========================================================
``log``        ``"log"`` (default), ``"ln"``  the natural logarithm's name
``transpose``  ``"top"`` (default), ``"T"``   ``X^{\top}`` or ``X^{T}``
``surds``      ``"rationalise"`` (default),   ``\frac{\sqrt{3}}{3}`` (sympy's own form), or
               ``"keep"``                     ``\frac{1}{\sqrt{3}}``: a surd stays in the denominator
``order``      ``"descending"`` (default),    a sum by descending degree (``x^{2} + x + 1``), or in the
               ``"source"``                   order the value's expression holds its terms
``normal``     a LaTeX symbol,                the normal distribution's one symbol, ``\normaldist`` in
               ``"\\mathcal{N}"`` (default)   every chapter (project-wide only)
``bold``       a list of symbol names         these symbols print bold: ``\mathbf{x}``,
                                              ``\boldsymbol{\mu}`` (their indices stay upright)
=============  =============================  ==========================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

CHOICES = {
    "log": ("log", "ln"),
    "transpose": ("top", "T"),
    "surds": ("rationalise", "keep"),
    "order": ("descending", "source"),
}
KEYS = (*CHOICES, "normal", "bold")
CHAPTER_KEYS = (*CHOICES, "bold")  # the normal distribution's symbol is one for the whole manual
STYLE = "solman-printing.sty"  # written into build/tex: \normaldist (see printing_style)
SYMBOL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")  # a name as sympy.Symbol holds it, before any index


@dataclass(frozen=True)
class Printing:
    """How values are printed; ``None`` where a layer (a chapter's ``printing()``) says nothing."""

    log: str | None = None
    transpose: str | None = None
    surds: str | None = None
    order: str | None = None
    normal: str | None = None
    bold: tuple[str, ...] | None = None

    def over(self, default: Printing) -> Printing:
        """This policy, with ``default``'s choices where this one says nothing."""
        return Printing(**{key: getattr(default, key) if getattr(self, key) is None else getattr(self, key)
                           for key in KEYS})

    def complete(self) -> Printing:
        """Every choice made: this policy over the defaults (``DEFAULT``)."""
        return self.over(DEFAULT)

    def setting(self) -> list:
        """The policy as JSON for a cache key."""
        return [getattr(self, key) if key != "bold" else list(self.bold or ()) for key in KEYS]


DEFAULT = Printing(log="log", transpose="top", surds="rationalise", order="descending", normal=r"\mathcal{N}",
                   bold=())
EXAMPLE = 'for example: [tool.solman.printing] with log = "ln", transpose = "top", surds = "keep", bold = ["x", "w"]'


def printing_of(table: dict, keys: tuple[str, ...] = KEYS) -> tuple[Printing, list[tuple[str, str]]]:
    """``table`` (from ``pyproject.toml`` or a chapter's ``printing(...)``) as a ``Printing``, and the
    mistakes found, each as ``(key, message)``; a key outside ``keys`` is a mistake."""
    read: dict[str, object] = {}
    mistakes: list[tuple[str, str]] = []
    for key, given in table.items():
        if key not in keys:
            extra = " (the normal distribution's symbol is the project's: [tool.solman.printing])" \
                if key == "normal" else ""
            mistakes.append((key, f"unknown printing setting '{key}'{extra}; known: {', '.join(keys)}"))
            continue
        try:
            read[key] = choice_of(key, given)
        except ValueError as exc:
            mistakes.append((key, str(exc)))
    return Printing(**read), mistakes


def choice_of(key: str, given: object) -> object:
    """``given`` as the value of ``key``, or ``ValueError`` saying what it may be."""
    if key in CHOICES:
        if not isinstance(given, str) or given not in CHOICES[key]:
            raise ValueError(f"printing: {key} is one of {', '.join(repr(c) for c in CHOICES[key])}, not {given!r}")
        return given
    if key == "normal":
        if not isinstance(given, str) or not given.strip() or given.count("{") != given.count("}"):
            raise ValueError(f"printing: normal is the LaTeX of one symbol, such as \"\\\\mathcal{{N}}\", not {given!r}")
        return given.strip()
    if isinstance(given, str) or not isinstance(given, (list, tuple)) \
            or not all(isinstance(name, str) and SYMBOL_NAME.fullmatch(name) for name in given):
        raise ValueError(f"printing: bold is a list of symbol names such as [\"x\", \"w\", \"mu\"], not {given!r}")
    return tuple(dict.fromkeys(given))


def printing_style(policy: Printing) -> bytes:
    r"""``solman-printing.sty``: ``\normaldist``, the normal distribution's symbol of the policy."""
    normal = policy.complete().normal
    lines = [
        f"% {STYLE}: written by solman from [tool.solman.printing] (solman/project/printing.py).",
        r"\NeedsTeXFormat{LaTeX2e}",
        r"\ProvidesPackage{solman-printing}[2026/12/03 v0.1 solman's printing policy]",
        rf"\providecommand{{\normaldist}}{{{normal}}}",
        r"\endinput",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def layered(chapter: Printing, project: Printing) -> Printing:
    """The policy in force: the chapter's choices over the project's, over the defaults."""
    return replace(chapter.over(project).complete())
