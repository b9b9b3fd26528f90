"""Reading a pdfLaTeX log: the error that stopped it, and the warnings worth an author's time.

The log must come from a run with ``-file-line-error`` and ``max_print_line`` set high, so
that errors read ``file:line: message`` and no line is wrapped. Warnings carry only an input
line; the file they belong to is tracked from the ``(file`` ... ``)`` nesting of the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FILE_LINE_ERROR = re.compile(r"^(?P<file>(?:\.|/)[^:]*?\.\w+):(?P<line>\d+): (?P<message>.*)$")
BARE_ERROR = re.compile(r"^! (?P<message>.*)$")
# pdfTeX's own fatal errors (an image it cannot find) give neither file nor line: the line is the one that
# names the file, in the file being read
PDFTEX_ERROR = re.compile(r"^!\s?pdfTeX error: \S+?(?: \(file (?P<named>[^)]*)\))?: (?P<message>.*)$")
CONTEXT_LINE = re.compile(r"^l\.(?P<line>\d+) ?(?P<text>.*)$")
REFERENCE = re.compile(
    r"LaTeX Warning: (?P<what>Reference|Hyper reference|Citation) [`'](?P<key>[^']*)' on page \S+ undefined "
    r"on input line (?P<line>\d+)"
)
BOX = re.compile(
    r"^(?P<kind>Overfull|Underfull) \\(?P<box>[hv])box \((?:badness (?P<badness>\d+)|(?P<amount>[\d.]+)pt too "
    r"(?:wide|high))\) (?:in paragraph at lines (?P<first>\d+)--\d+|in alignment at lines (?P<align>\d+)--\d+"
    r"|detected at line (?P<at>\d+)|has occurred while \\output is active)"
)
PACKAGE_WARNING = re.compile(r"^(?:LaTeX|Package|Class) (?:(?P<package>\S+) )?Warning: (?P<message>.*)$")
INPUT_LINE = re.compile(r"on input line (\d+)\.?")
MISSING_CHARACTER = re.compile(r"^Missing character: (?P<message>.*)$")
PDFTEX_WARNING = re.compile(r"^pdfTeX warning(?: \((?P<where>[^)]*)\))?: (?P<message>.*)$")
FILE_OPEN = re.compile(r"\(((?:\.|/)?[^\s()]+)")


@dataclass(frozen=True)
class LogEntry:
    kind: str  # error, undefined-reference, overfull, missing-character, pdftex, font, warning
    message: str
    file: str | None  # as written in the log, relative to the folder LaTeX ran in
    line: int | None
    context: str = ""  # for errors: the text TeX was reading when it stopped
    amount: float = 0.0  # for overfull boxes: how far, in pt


def parse_log(text: str, folder: Path) -> list[LogEntry]:
    """The errors and warnings in ``text``, the log of a LaTeX run in ``folder``."""
    entries: list[LogEntry] = []
    stack: list[str | None] = []
    lines = text.splitlines()
    skip_until_blank = False
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if skip_until_blank:
            if not line.strip():
                skip_until_blank = False
            continue
        error = FILE_LINE_ERROR.match(line)
        if error and (folder / error["file"]).exists():
            context, index = read_context(lines, index)
            entries.append(LogEntry("error", error["message"], normalise(error["file"]),
                                    int(error["line"]), context))
            continue
        error = PDFTEX_ERROR.match(line)
        if error:
            file = current(stack)
            named = error["named"] or error["message"].split()[-1]
            entries.append(LogEntry("error", f"pdfTeX error: {error['message']}", file,
                                    line_naming(folder, file, named)))
            continue
        error = BARE_ERROR.match(line)
        if error:
            context, index = read_context(lines, index)
            file, at = current(stack), None
            for following in lines[index:index + 15]:  # "./x.tex:3: Emergency stop." gives the line
                stop = FILE_LINE_ERROR.match(following)
                if stop and (folder / stop["file"]).exists():
                    file, at = normalise(stop["file"]), int(stop["line"])
                    break
            entries.append(LogEntry("error", error["message"], file, at, context))
            continue
        box = BOX.match(line)
        if box:
            skip_until_blank = True
            if box["kind"] == "Overfull":
                at = box["first"] or box["align"] or box["at"]
                entries.append(LogEntry("overfull", line, current(stack), int(at) if at else None,
                                        amount=float(box["amount"] or 0)))
            continue
        reference = REFERENCE.search(line)
        if reference:
            entries.append(LogEntry("undefined-reference", f"{reference['what']} '{reference['key']}' undefined",
                                    current(stack), int(reference["line"])))
        elif missing := MISSING_CHARACTER.match(line):
            entries.append(LogEntry("missing-character", missing["message"], current(stack), None))
        elif pdftex := PDFTEX_WARNING.match(line):
            # pdfTeX's own warnings (duplicate or missing link destinations, PDF inclusions) carry no
            # line; when they arise while reading the source, TeX shows it in an "l.<n>" line below
            at = next((int(context["line"]) for following in lines[index:index + 6]
                       if (context := CONTEXT_LINE.match(following))), None)
            entries.append(LogEntry("pdftex", pdftex["message"], current(stack) if at else None, at))
        elif warning := PACKAGE_WARNING.match(line):
            message = warning["message"]
            while index < len(lines) and lines[index].startswith("(") and warning["package"] and \
                    lines[index].startswith(f"({warning['package']})"):
                message += " " + lines[index][len(warning["package"]) + 2:].strip()
                index += 1
            at = INPUT_LINE.search(message)
            kind = "font" if warning["package"] == "Font" and "instead" in message else "warning"
            entries.append(LogEntry(kind, message, current(stack), int(at[1]) if at else None))
        track_files(line, stack, folder)
    return entries


def line_naming(folder: Path, file: str | None, named: str) -> int | None:
    """The first line of ``file`` (in ``folder``) that mentions ``named``, if any."""
    if not file or not named:
        return None
    try:
        lines = (folder / file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return next((number for number, text in enumerate(lines, start=1) if named in text), None)


def read_context(lines: list[str], index: int) -> tuple[str, int]:
    """The ``l.<n> ...`` line that follows an error, and where reading should resume."""
    for offset in range(index, min(index + 12, len(lines))):
        context = CONTEXT_LINE.match(lines[offset])
        if context:
            following = lines[offset + 1].strip() if offset + 1 < len(lines) else ""
            text = context["text"].rstrip()
            return (f"{text} {following}".strip() if following else text), offset + 1
    return "", index


def track_files(line: str, stack: list[str | None], folder: Path) -> None:
    """Follow the ``(file`` and ``)`` of one log line."""
    position = 0
    while position < len(line):
        char = line[position]
        if char == "(":
            match = FILE_OPEN.match(line, position)
            name = match[1] if match else None
            if name and looks_like_file(name, folder):
                stack.append(normalise(name))
                position = match.end()
                continue
            stack.append(None)
        elif char == ")" and stack:
            stack.pop()
        position += 1


def looks_like_file(name: str, folder: Path) -> bool:
    path = Path(name)
    return (path if path.is_absolute() else folder / path).is_file()


def current(stack: list[str | None]) -> str | None:
    """The innermost file being read."""
    for name in reversed(stack):
        if name is not None:
            return name
    return None


def normalise(name: str) -> str:
    return name[2:] if name.startswith("./") else name
