"""Where each line of a generated ``.tex`` came from, so LaTeX errors point at the template.

While a template is lexed, ``LineMarks`` puts an invisible mark ``(template, line)`` at the
start of every line of literal text and before every ``\\VAR{...}``. After rendering,
``strip_marks`` removes the marks and returns the clean text with a ``SourceMap``: for each
output line, the template line that produced its start (lines printed by a multi-line value
belong to the ``\\VAR`` that printed them). Printed values carry a second kind of mark, a
use number, so each use learns its template line too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

LINE_MARK = "\x1e{name}\x1f{line}\x1e"
USE_MARK = "\x02{index}\x03"
MARKS = re.compile("\x1e([^\x1f\x1e]*)\x1f(\\d+)\x1e|\x02(\\d+)\x03")


class LineMarks(Extension):
    """Mark each template line in the output (see the module's docstring)."""

    def filter_stream(self, stream: TokenStream):
        name = stream.filename or stream.name or "<string>"
        for token in stream:
            if token.type == "data":
                lines = token.value.split("\n")
                marked = [LINE_MARK.format(name=name, line=token.lineno) + lines[0]]
                marked += [LINE_MARK.format(name=name, line=token.lineno + i) + text
                           for i, text in enumerate(lines[1:], start=1)]
                yield Token(token.lineno, "data", "\n".join(marked))
            elif token.type == "variable_begin":
                yield Token(token.lineno, "data", LINE_MARK.format(name=name, line=token.lineno))
                yield token
            else:
                yield token


@dataclass
class SourceMap:
    """Output line (1-based) to ``(template file, template line)``."""

    origins: list[tuple[str, int] | None] = field(default_factory=list)

    def locate(self, line: int) -> tuple[str, int] | None:
        if 1 <= line <= len(self.origins):
            return self.origins[line - 1]
        return None


def strip_marks(marked: str) -> tuple[str, SourceMap, dict[int, tuple[tuple[str, int] | None, int]]]:
    """Remove every mark; return the text, its source map, and where each use was printed.

    The third result maps a use number to ``(template origin, output line)``.
    """
    pieces: list[str] = []
    origins: list[tuple[str, int] | None] = []
    uses: dict[int, tuple[tuple[str, int] | None, int]] = {}
    current: tuple[str, int] | None = None
    line_origin: tuple[str, int] | None = None  # origin of the output line being written
    position = 0
    for match in MARKS.finditer(marked):
        chunk = marked[position:match.start()]
        pieces.append(chunk)
        for _ in range(chunk.count("\n")):
            origins.append(line_origin or current)
            line_origin = None
        if match.group(3) is None:
            current = (match.group(1), int(match.group(2)))
            if line_origin is None:
                line_origin = current
        else:
            uses[int(match.group(3))] = (current, len(origins) + 1)
        position = match.end()
    tail = marked[position:]
    pieces.append(tail)
    for _ in range(tail.count("\n")):
        origins.append(line_origin or current)
        line_origin = None
    if not tail.endswith("\n"):
        origins.append(line_origin or current)
    return "".join(pieces), SourceMap(origins), uses


def remove_marks(marked: str) -> str:
    """The text without marks (for pieces that need no source map)."""
    return MARKS.sub("", marked)
