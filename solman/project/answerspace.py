r"""Answer space in the problems edition, in exam.cls's vocabulary.

A question of the problems edition can be followed by room for the student's answer, so that the
edition can be handed out as an exam paper. Three places say how much, each overriding the next:
``question(..., space="5cm", fill="lines")``, the chapter's ``answer_space(...)`` (from that line
on) and ``[tool.solman.answer_space]`` in ``pyproject.toml``. The chapter's and the project's
defaults give space to open questions only: the options of a multiple-choice or true/false question
are answered where they stand, so such a question has space only when it says ``space=`` itself.

``space`` is a TeX length (a number and one of ``UNITS``: ``"4cm"``, ``"1.5in"``), ``"stretch"``
(the rest of the page; exam.cls writes ``\vspace*{\stretch{1}}``) or ``"0"`` (``None`` in a
template, ``0`` in TOML): no space. ``fill`` is what is drawn in it (``FILLS``). The solutions edition
ignores all of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FILLS = {  # our name: what exam.cls calls it
    "blank": r"\vspace*{...}",
    "lines": r"\fillwithlines{...}",
    "dotted": r"\fillwithdottedlines{...}",
    "box": r"\makeemptybox{...}",
    "grid": r"\fillwithgrid{...}",
}
DEFAULT_FILL = "blank"
STRETCH = "stretch"  # the rest of the page
NONE = "0"  # no space: a question's way to opt out of a default
UNITS = {"cm": 72.27 / 2.54, "mm": 72.27 / 25.4, "in": 72.27, "pt": 1.0, "em": 11.0, "ex": 5.0}  # in pt (em, ex: 11pt type)
LARGEST = 50 * UNITS["cm"]  # taller than the text of any page; solman.sty shortens a space to the page it is on
LENGTH = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)")
EXAMPLE = 'space="4cm"'
OPEN_KINDS = ("open", "essay")  # the question kinds the chapter's and project's default space applies to


@dataclass(frozen=True)
class AnswerSpace:
    """What a question, a chapter or the project says of answer space; ``None`` where it says nothing."""

    space: str | None = None  # a length ("4cm"), STRETCH or NONE
    fill: str | None = None  # one of FILLS

    def drawn(self, kind: str, *defaults: AnswerSpace) -> tuple[str, str] | None:
        """The ``(space, fill)`` a question of ``kind`` gets with this, its own setting, over ``defaults``
        (the chapter's, then the project's); ``None`` when it gets no space."""
        spaces = (self, *defaults) if kind in OPEN_KINDS or self.space is not None else (self,)
        space = next((layer.space for layer in spaces if layer.space is not None), NONE)
        fill = next((layer.fill for layer in (self, *defaults) if layer.fill is not None), DEFAULT_FILL)
        return None if space == NONE else (space, fill)

    def over(self, default: AnswerSpace) -> AnswerSpace:
        """This setting, with ``default``'s where this one says nothing."""
        return AnswerSpace(self.space if self.space is not None else default.space,
                           self.fill if self.fill is not None else default.fill)


def space_of(given: object) -> str:
    """``given`` as a space: a length as TeX reads it, STRETCH, or NONE; ``ValueError`` saying why not."""
    if given is None or isinstance(given, (int, float)) and not isinstance(given, bool) and given == 0:
        return NONE
    if not isinstance(given, str):
        raise ValueError(f"space must be a length in quotes such as \"4cm\", not {given!r}")
    text = given.strip()
    if text in (STRETCH, NONE):
        return text
    match = LENGTH.fullmatch(text)
    if not match:
        raise ValueError(f"space {given!r} is not a length: write a number and a unit, such as \"4cm\", "
                         f"or \"{STRETCH}\" for the rest of the page")
    number, unit = float(match[1]), match[2]
    if unit not in UNITS:
        raise ValueError(f"space {given!r} has the unit {unit!r}; use one of {', '.join(UNITS)}")
    if number == 0:
        return NONE
    if number * UNITS[unit] > LARGEST:
        raise ValueError(f"space {given!r} is taller than any page")
    return f"{match[1]}{unit}"


def fill_of(given: object) -> str:
    """``given`` as a fill, or ``ValueError`` naming the fills."""
    if not isinstance(given, str) or given not in FILLS:
        raise ValueError(f"unknown fill {given!r}: use one of {', '.join(FILLS)}")
    return str(given)
