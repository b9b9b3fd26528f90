"""The project: ``[tool.solman]`` settings and the chapter/verify pairs they name."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from solman.errors import ConfigError, Location, SolmanError, TemplateError, ValueFailure, raise_collected, read_utf8
from solman.project.answerspace import FILLS, AnswerSpace, fill_of, space_of
from solman.project.language import LANGUAGES as LANGUAGE_TABLE
from solman.project.printing import EXAMPLE as PRINTING_EXAMPLE
from solman.project.printing import Printing, printing_of

if TYPE_CHECKING:
    from solman.variants.params import Variant

CHAPTER_ID = re.compile(r"[a-z][a-z0-9_]*")
SETTINGS = {
    "title": str,
    "subtitle": str,
    "author": str,
    "year": int,
    "chapters": list,
    "templates": str,
    "language": str,  # of every word solman prints: one of LANGUAGES
    "sandbox": bool,  # false runs LaTeX outside bubblewrap: unsafe, see README's "Security"
    "timeout": float,  # seconds per value and per test; an int is fine too (checked on its own)
    "answer_space": dict,  # the problems edition's default answer space: space, fill (solman/project/answerspace.py)
    "printing": dict,  # how sympy values are written: log, transpose, surds, order, normal, bold (solman/project/printing.py)
}
BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "rendering" / "templates"
TIMEOUT = 300  # seconds: the flagship's slowest value or test takes a few
EDITIONS = ("solutions", "problems")
LANGUAGES = tuple(LANGUAGE_TABLE)  # "en", "fr", "de": English, French, German (solman/project/language.py)
YEARS = (1, 9999)  # a date a PDF can carry (and Python's datetime can represent)


@dataclass(frozen=True)
class Chapter:
    """One source document: its template and its verify module."""

    id: str
    template: Path
    verify: Path


@dataclass(frozen=True)
class Project:
    root: Path
    title: str
    subtitle: str
    author: str
    year: int
    chapters: tuple[Chapter, ...]
    templates: Path  # the project's overrides of the built-in templates (need not exist)
    build: Path
    language: str = "en"  # one of LANGUAGES
    sandbox: bool = True  # LaTeX runs in bubblewrap
    timeout: float = TIMEOUT  # seconds a value or a test may run
    answer_space: AnswerSpace = AnswerSpace()  # the default for open questions of the problems edition
    printing: Printing = Printing()  # noqa: RUF009 (frozen) the printing policy of every chapter (a chapter's printing() over it)
    variant: Variant | None = None  # a student's variant (solman.variants): its id on every page, its givens drawn
    formats: Path | None = None  # preloaded formats shared with other builds of the same preambles (variants)

    def chapter(self, chapter_id: str) -> Chapter:
        """The chapter called ``chapter_id``, or a ``ConfigError`` listing the known ones."""
        for chapter in self.chapters:
            if chapter.id == chapter_id:
                return chapter
        known = ", ".join(c.id for c in self.chapters) or "none"
        raise ConfigError(f"no chapter '{chapter_id}' in this project (chapters: {known})",
                          location=Location.of(self.root / "pyproject.toml", None, self.root),
                          hint="chapters are listed in [tool.solman] chapters = [...]")

    @property
    def template_folders(self) -> tuple[Path, ...]:
        """Where templates are looked up, first match wins: the project's overrides, then solman's own."""
        return (self.templates, BUILTIN_TEMPLATES) if self.templates.is_dir() else (BUILTIN_TEMPLATES,)

    def template(self, name: str) -> Path:
        """The file ``name`` (a shell, the style, ...): the project's override if it has one, else solman's."""
        return next((f / name for f in self.template_folders if (f / name).is_file()), BUILTIN_TEMPLATES / name)

    def template_files(self) -> dict[str, Path]:
        """Every template file by its path under the folder, overrides replacing solman's files of that name."""
        files: dict[str, Path] = {}
        for folder in reversed(self.template_folders):
            files.update({p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()
                          and not any(part.startswith(".") or part == "__pycache__"
                                      for part in p.relative_to(folder).parts)})
        return dict(sorted(files.items()))

    def relative(self, path: Path) -> str:
        """``path`` as the author sees it, relative to the project root."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()


def load_project(root: Path | str = ".", build: Path | str | None = None) -> Project:
    """Read ``pyproject.toml`` in ``root`` and check that every chapter it names exists."""
    root = Path(root).resolve()
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise ConfigError(f"no pyproject.toml in {root}", hint="run solman from the project's root folder")
    text = read_utf8(pyproject, ConfigError, root)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match[1]) if match else len(text.splitlines())  # "at end of document"
        raise ConfigError(f"pyproject.toml is not valid TOML: {exc}",
                          location=Location.of(pyproject, line, root),
                          hint='TOML wants strings in quotes and lists in brackets: title = "...", '
                          'chapters = ["a", "b"]') from None
    settings = data.get("tool", {}).get("solman")
    if settings is None:
        raise ConfigError("pyproject.toml has no [tool.solman] table",
                          location=Location.of(pyproject, None, root),
                          hint='add [tool.solman] with title = "..." and chapters = ["<id>", ...]')

    def at(key: str) -> Location:
        return Location.of(pyproject, line_of(text, key), root)

    errors: list[ConfigError] = []
    timeout = settings.get("timeout", TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        errors.append(ConfigError(f"setting 'timeout' must be a positive number of seconds, not {timeout!r}",
                                  location=at("timeout"),
                                  hint=f"for example: timeout = {TIMEOUT} (how long one value or one test may run)"))
    for key, kind in SETTINGS.items():
        if key == "timeout":
            continue
        if key in settings and not isinstance(settings[key], kind):
            example = '"fr"' if key == "language" else '{log = "ln"}' if key == "printing" else \
                {"str": '"text"', "int": "2026", "list": '["chapter_id"]', "bool": "false",
                 "dict": '{space = "3cm", fill = "lines"}'}[kind.__name__]
            errors.append(ConfigError(f"setting '{key}' must be a {kind.__name__}", location=at(key),
                                      hint=f"for example: {key} = {example}"))
    year = settings.get("year")
    if isinstance(year, int) and not isinstance(year, bool) and not YEARS[0] <= year <= YEARS[1]:
        errors.append(ConfigError(f"year {year} is out of range", location=at("year"),
                                  hint=f"the manual's year, between {YEARS[0]} and {YEARS[1]}: for example year = 2026"))
    for key in settings:
        if key not in SETTINGS:
            errors.append(ConfigError(f"unknown setting '{key}' in [tool.solman]", location=at(key),
                                      hint=f"known settings: {', '.join(SETTINGS)}"))
    language = settings.get("language", "en")
    if isinstance(language, str) and language not in LANGUAGES:
        errors.append(ConfigError(f"unknown language '{language}'", location=at("language"),
                                  hint=f"use one of: {', '.join(LANGUAGES)} "
                                  f"({', '.join(l.name for l in LANGUAGE_TABLE.values())})"))
    answer_space = settings.get("answer_space", {})
    answer_space = read_answer_space(answer_space, text, pyproject, root, errors) \
        if isinstance(answer_space, dict) else AnswerSpace()
    printing = settings.get("printing", {})
    printing = read_printing(printing, text, pyproject, root, errors) if isinstance(printing, dict) else Printing()
    raise_collected(errors)

    templates = root / settings.get("templates", "templates")
    if "templates" in settings and not templates.is_dir():
        raise ConfigError(f"the templates folder {templates} does not exist", location=at("templates"),
                          hint="point the setting templates at the folder of your overrides of solman's "
                          "templates, or remove the setting")
    chapters = []
    seen = set()
    for chapter_id in settings.get("chapters", []):
        def location(chapter_id=chapter_id) -> Location:  # read the file only when there is an error
            return Location.of(pyproject, line_of(text, f'"{chapter_id}"'), root)
        if not isinstance(chapter_id, str) or not CHAPTER_ID.fullmatch(chapter_id):
            errors.append(ConfigError(f"chapter id {chapter_id!r} is not valid", location=location(),
                                      hint="use lower-case letters, digits and underscores, "
                                      "starting with a letter"))
            continue
        if chapter_id in seen:
            errors.append(ConfigError(f"chapter '{chapter_id}' is listed twice", location=location(),
                                      hint="list each chapter once, in the order of the manual"))
            continue
        seen.add(chapter_id)
        chapter = Chapter(chapter_id, root / "chapters" / f"{chapter_id}.tex.j2",
                          root / "verify" / f"{chapter_id}.py")
        for needed in (chapter.template, chapter.verify):
            if not needed.is_file():
                errors.append(ConfigError(
                    f"chapter '{chapter_id}' needs {needed.relative_to(root).as_posix()}, which does not exist",
                    location=location(), hint="create it, or remove the id from chapters"))
        chapters.append(chapter)
    raise_collected(errors)
    raise_collected(unreadable_sources(root, templates))

    return Project(
        root=root,
        title=settings.get("title", "Solutions"),
        subtitle=settings.get("subtitle", ""),
        author=settings.get("author", ""),
        year=settings.get("year", 0),
        chapters=tuple(chapters),
        templates=templates,
        build=Path(build).resolve() if build else root / "build",
        language=language,
        sandbox=settings.get("sandbox", True),
        timeout=timeout,
        answer_space=answer_space,
        printing=printing,
    )


ANSWER_SPACE_HINT = 'for example: answer_space = {space = "3cm", fill = "lines"} in [tool.solman]'


def read_answer_space(table: dict, text: str, pyproject: Path, root: Path, errors: list[ConfigError]) -> AnswerSpace:
    """``[tool.solman.answer_space]`` (or ``answer_space = {...}``); each mistake is added to ``errors``
    at its line."""
    def at(key: str) -> Location:
        return Location.of(pyproject, line_of(text, key, within="answer_space"), root)

    read: dict[str, str | None] = {"space": None, "fill": None}
    for key, given in table.items():
        if key not in read:
            errors.append(ConfigError(f"unknown setting '{key}' in answer_space", location=at(key),
                                      hint="answer_space knows space (a length such as \"3cm\") and fill "
                                      f"({', '.join(FILLS)})"))
            continue
        try:
            read[key] = space_of(given) if key == "space" else fill_of(given)
        except ValueError as exc:
            errors.append(ConfigError(f"answer_space: {exc}", location=at(key), hint=ANSWER_SPACE_HINT))
    return AnswerSpace(**read)


def read_printing(table: dict, text: str, pyproject: Path, root: Path, errors: list[ConfigError]) -> Printing:
    """``[tool.solman.printing]`` (or ``printing = {...}``); each mistake is added to ``errors`` at its line."""
    policy, mistakes = printing_of(table)
    for key, message in mistakes:
        errors.append(ConfigError(message, location=Location.of(pyproject, line_of(text, key, within="printing"), root),
                                  hint=PRINTING_EXAMPLE))
    return policy


def find_project(named: str | None, start: Path) -> Path:
    """The project's folder: ``named`` (``-C DIR``, ``SOLMAN_PROJECT``), else the nearest folder from
    ``start`` upwards whose pyproject.toml has a ``[tool.solman]`` table."""
    if named:
        return Path(named).expanduser().resolve()
    for folder in (start.resolve(), *start.resolve().parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and re.search(r"^\[tool\.solman\]", pyproject.read_text(errors="replace"), re.M):
            return folder
    raise ConfigError(f"no solman project in {start.resolve()} or above it",
                      hint="run this in a project's folder (its pyproject.toml has [tool.solman]), name one "
                      "with -C DIR or SOLMAN_PROJECT, or start one with: solman init DIR")


CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # LaTeX cannot print these; tab and newline pass
TEXT_SUFFIXES = {".j2", ".tex", ".sty", ".cls"}


def unreadable_sources(root: Path, templates: Path) -> list[SolmanError]:
    """Every template and verify module that is not UTF-8, and every template with a control character.

    Checked before anything is rendered or imported, so that the error names the file, its line and
    the byte, in the category of the file: template (3) or value (4).
    """
    errors: list[SolmanError] = []
    sources = [(p, TemplateError) for folder in (root / "chapters", templates) if folder.is_dir()
               for p in sorted(folder.rglob("*")) if p.suffix in TEXT_SUFFIXES and p.is_file()]
    sources += [(p, ValueFailure) for p in sorted((root / "verify").glob("*.py"))]
    for path, kind in sources:
        try:
            text = read_utf8(path, kind, root)
        except SolmanError as error:
            errors.append(error)
            continue
        except OSError:
            continue  # unreadable for another reason: reported where it is read
        control = CONTROL.search(text) if kind is TemplateError else None
        if control:
            line = text.count("\n", 0, control.start()) + 1
            column = control.start() - (text.rfind("\n", 0, control.start()) + 1) + 1
            char = control[0]
            errors.append(TemplateError(
                f"control character U+{ord(char):04X} ({CONTROL_NAMES.get(char, 'a control character')}) "
                f"at column {column}, which LaTeX cannot print",
                location=Location.of(path, line, root),
                hint=f"remove it (an editor may show it as {caret(char)}, or not at all)"))
    return errors


def caret(char: str) -> str:
    """How terminals and editors show a control character: ^G for BEL, ^? for DEL."""
    return "^?" if char == "\x7f" else f"^{chr(ord(char) + 64)}" if ord(char) < 32 else f"<U+{ord(char):04X}>"


CONTROL_NAMES = {"\x00": "NUL", "\x07": "BEL", "\x08": "BS", "\x0b": "VT", "\x0c": "FF", "\x1b": "ESC", "\x7f": "DEL"}


def line_of(text: str, needle: str, within: str | None = None) -> int | None:
    """The first line in ``[tool.solman]`` that mentions ``needle`` (to point at a setting); with
    ``within``, the line of the key ``needle =`` from the first line that mentions ``within`` on (a key of
    a table in ``[tool.solman]``)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "[tool.solman]"), 0)
    if within is not None:
        start = next((i for i, line in enumerate(lines[start:], start=start) if within in line), start)
        key = re.compile(rf"(?<![\w-]){re.escape(needle)}\s*=")  # the key itself, not answer_space's "space"
        return next((number for number, line in enumerate(lines[start:], start=start + 1) if key.search(line)), None)
    for number, line in enumerate(lines[start:], start=start + 1):
        if needle in line:
            return number
    return None
