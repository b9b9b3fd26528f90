"""The project: ``[tool.solman]`` settings and the chapter/verify pairs they name."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, Location, raise_collected

CHAPTER_ID = re.compile(r"[a-z][a-z0-9_]*")
SETTINGS = {
    "title": str,
    "subtitle": str,
    "author": str,
    "year": int,
    "chapters": list,
    "templates": str,
    "sandbox": bool,  # false runs LaTeX outside bubblewrap: unsafe, see README's "Security"
    "timeout": float,  # seconds per value and per test; an int is fine too (checked on its own)
}
TIMEOUT = 300  # seconds: the flagship's slowest value or test takes a few
EDITIONS = ("solutions", "problems")


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
    templates: Path
    build: Path
    sandbox: bool = True  # LaTeX runs in bubblewrap
    timeout: float = TIMEOUT  # seconds a value or a test may run

    def chapter(self, chapter_id: str) -> Chapter:
        """The chapter called ``chapter_id``, or a ``ConfigError`` listing the known ones."""
        for chapter in self.chapters:
            if chapter.id == chapter_id:
                return chapter
        known = ", ".join(c.id for c in self.chapters) or "none"
        raise ConfigError(f"no chapter '{chapter_id}' in this project (chapters: {known})",
                          location=Location.of(self.root / "pyproject.toml", None, self.root),
                          hint="chapters are listed in [tool.solman] chapters = [...]")

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
    text = pyproject.read_text(encoding="utf-8")
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
            example = {"str": '"text"', "int": "2026", "list": '["chapter_id"]', "bool": "false"}[kind.__name__]
            errors.append(ConfigError(f"setting '{key}' must be a {kind.__name__}", location=at(key),
                                      hint=f"for example: {key} = {example}"))
    for key in settings:
        if key not in SETTINGS:
            errors.append(ConfigError(f"unknown setting '{key}' in [tool.solman]", location=at(key),
                                      hint=f"known settings: {', '.join(SETTINGS)}"))
    raise_collected(errors)

    templates = root / settings.get("templates", "templates")
    if not templates.is_dir():
        raise ConfigError(f"the templates folder {templates} does not exist", location=at("templates"),
                          hint="point the setting templates at the folder holding manual.tex.j2 and solman.sty")
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

    return Project(
        root=root,
        title=settings.get("title", "Solutions"),
        subtitle=settings.get("subtitle", ""),
        author=settings.get("author", ""),
        year=settings.get("year", 0),
        chapters=tuple(chapters),
        templates=templates,
        build=Path(build).resolve() if build else root / "build",
        sandbox=settings.get("sandbox", True),
        timeout=timeout,
    )


def line_of(text: str, needle: str) -> int | None:
    """The first line in ``[tool.solman]`` that mentions ``needle`` (to point at a setting)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "[tool.solman]"), 0)
    for number, line in enumerate(lines[start:], start=start + 1):
        if needle in line:
            return number
    return None
