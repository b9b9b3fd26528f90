"""The one vocabulary of user-facing errors.

Every failure an author can cause is a ``SolmanError`` with a category, a location in the
author's own files when there is one, the offending source line and a hint. It is printed
as ``path:line: category: message`` without a Python traceback; anything else is a bug in
solman and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A line in one of the author's files, shown relative to the project."""

    path: str
    line: int | None = None
    text: str | None = None  # the source line itself, when it could be read

    @classmethod
    def of(cls, file: Path | str, line: int | None, root: Path | None = None) -> Location:
        """The location of ``line`` in ``file``, reading the line's text if the file exists."""
        file = Path(file)
        shown = file
        if root is not None:
            try:
                shown = file.resolve().relative_to(root.resolve())
            except ValueError:
                shown = file
        text = None
        if line:
            try:
                lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
                if 0 < line <= len(lines):
                    text = lines[line - 1]
            except OSError:
                pass
        return cls(shown.as_posix(), line, text)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


class SolmanError(Exception):
    """A failure the author can fix; ``render()`` is what they read."""

    category = "error"
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
        details: tuple[str, ...] | list[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        self.details = tuple(details)
        self.question: str | None = None  # the question being rendered when it happened, if any

    def render(self) -> str:
        head = f"{self.location}: " if self.location else ""
        lines = [f"{head}{self.category}: {self.message}"]
        if self.location and self.location.text is not None and self.location.text.strip():
            lines.append(f"    {self.location.text.strip()}")
        lines.extend(f"  {detail}" for detail in self.details)
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


LABEL = re.compile(r"\s*(?:\S+: )*")  # a line's indentation and labels: "  hint: ", "path:3: template: "


def wrapped(text: str, width: int | None) -> str:
    """``text`` (a rendered error) with each line longer than ``width`` wrapped at spaces, as for a terminal.

    Words stay whole, paths and URLs too, even past ``width``; a continuation line starts under the text
    it continues, after the line's labels ("hint: "), or 4 columns in when those take half the width.
    ``width`` None leaves ``text`` as it is (not a terminal).
    """
    if width is None:
        return text
    lines = []
    for line in text.split("\n"):
        if len(line) <= width:
            lines.append(line)
            continue
        leading = line[:len(line) - len(line.lstrip())]
        under = LABEL.match(line).end()
        indent = " " * (under if under <= width // 2 else len(leading) + 4)
        lines.extend(textwrap.wrap(line.lstrip(), width, initial_indent=leading, subsequent_indent=indent,
                                   break_long_words=False, break_on_hyphens=False))
    return "\n".join(lines)


class ConfigError(SolmanError):
    """``[tool.solman]`` or the project layout is wrong."""

    category = "configuration"
    exit_code = 2


class TemplateError(SolmanError):
    """A chapter or shell template does not parse or render."""

    category = "template"
    exit_code = 3


class ValueFailure(SolmanError):
    """A value could not be computed, or cannot be printed as asked."""

    category = "value"
    exit_code = 4


class LatexError(SolmanError):
    """LaTeX stopped on an error."""

    category = "latex"
    exit_code = 5


class VerificationFailure(SolmanError):
    """A test failed, a printed value is untested, or solutions leaked into the problems."""

    category = "verification"
    exit_code = 6


class DriftError(SolmanError):
    """A PDF was built from sources that have changed since."""

    category = "drift"
    exit_code = 7


class MissingTool(SolmanError):
    """A program solman needs (TeX Live, latexmk, poppler) is not installed."""

    category = "environment"
    exit_code = 8


class EnvironmentFailure(SolmanError):
    """The machine stopped a build: the disk is full, build/ is read-only or is not a folder."""

    category = "environment"
    exit_code = 8


def writing_failure(exc: OSError, path: Path | str | None, root: Path) -> EnvironmentFailure:
    """What to tell the author when writing ``path`` (under build/) failed with ``exc``."""
    path = Path(path if path is not None else exc.filename or root / "build")
    shown = Location.of(path, None, root).path
    if exc.filename is None:  # a write to an open file: only the folder is known
        shown = f"in {shown}/"
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return EnvironmentFailure(f"the disk is full while writing {shown}",
                                  hint="free some space (or remove build/ with `invoke clean`), then build again; "
                                  "the previous PDFs in build/ are unchanged")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM):
        why = "the file system is read-only" if code == errno.EROFS else "permission denied"
        return EnvironmentFailure(f"cannot write {shown}: {why}",
                                  hint="solman writes everything it generates under build/: make that folder "
                                  "writable for you")
    if code in (errno.EEXIST, errno.ENOTDIR):
        blocking = next((p for p in (path, *path.parents) if p.is_file()), path)
        return EnvironmentFailure(f"{Location.of(blocking, None, root).path} is a file, where solman needs a folder "
                                  f"(writing {shown})",
                                  hint="solman writes under build/, which must be a folder: move that file away")
    return EnvironmentFailure(f"cannot write {shown}: {exc.strerror or exc}",
                              hint="solman writes everything it generates under build/")


@contextlib.contextmanager
def writing_in(build: Path, root: Path) -> Iterator[None]:
    """Turn a failed write under ``build`` (disk full, read-only, a file where a folder should be) into
    an ``EnvironmentFailure`` that names the file; any other ``OSError`` is a bug and stays one."""
    try:
        yield
    except OSError as exc:
        if not writes_under(exc, build):
            raise
        raise writing_failure(exc, exc.filename, root) from None


LOW_SPACE = 1 << 20  # bytes: a write that failed with less than this free most likely failed for space


def disk_full(folder: Path) -> bool:
    """Whether the disk holding ``folder`` is (almost) full: why a program writing there may have stopped."""
    try:
        return shutil.disk_usage(folder).free < LOW_SPACE
    except OSError:
        return False


def writes_under(exc: OSError, build: Path) -> bool:
    """Whether ``exc`` is a failure to write ``build`` or a file in it (or a full disk, wherever)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM, errno.EEXIST, errno.ENOTDIR) or not exc.filename:
        return False
    path, build = Path(os.path.abspath(exc.filename)), Path(os.path.abspath(build))
    return path == build or build in path.parents


def read_utf8(path: Path, kind: type[SolmanError], root: Path | None = None) -> str:
    """The text of ``path``; if it is not UTF-8, a ``kind`` error at the line of the first bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        newline = b"\n"
        line = data.count(newline, 0, exc.start) + 1
        column = exc.start - (data.rfind(newline, 0, exc.start) + 1) + 1
        location = Location.of(path, line, root)
        raise kind(f"{location.path} is not UTF-8: byte 0x{data[exc.start]:02x} at line {line}, column {column}",
                   location=location,
                   hint="save the file as UTF-8 (in most editors: Save with Encoding, UTF-8); the byte shown "
                   "is probably a letter in Latin-1 or Windows-1252") from None


class Errors(SolmanError):
    """Several errors found in one pass, reported together before one abort."""

    def __init__(self, errors: list[SolmanError]) -> None:
        self.errors = errors
        first = errors[0]
        self.category = first.category
        self.exit_code = first.exit_code
        super().__init__(first.message, location=first.location, hint=first.hint, details=first.details)

    def render(self) -> str:
        count = f"{len(self.errors)} errors" if len(self.errors) > 1 else "1 error"
        return "\n".join(e.render() for e in self.errors) + f"\n({count})"


def raise_collected(errors: list[SolmanError]) -> None:
    """Raise the errors of one pass, if any: alone when there is one, grouped otherwise."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise Errors(errors)


EXIT_CODES = {cls.category: cls.exit_code for cls in (
    ConfigError, TemplateError, ValueFailure, LatexError, VerificationFailure, DriftError, MissingTool,
    EnvironmentFailure,
)}
