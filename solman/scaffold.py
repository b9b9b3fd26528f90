"""``invoke new``: a new chapter that builds and verifies at once.

It writes ``chapters/<id>.tex.j2`` (one problem, one question with its solution) and
``verify/<id>.py`` (one value and a test that checks it independently), and adds the id to
``chapters`` in ``[tool.solman]``, editing the TOML text in place so that the author's
formatting and comments survive. It never overwrites anything.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ConfigError, Location
from .filters import text
from .project import CHAPTER_ID, line_of, load_project

TEMPLATE = r"""\chapter{{{title}}}
\source{{Where these problems come from: the institution, the course, its teachers and the date.
Say here what the chapter covers, and that the problems are restated in our own words.}}

\VAR{{ problem("A first problem", 1) }}
\BLOCK{{ call question("1a", points=1) }}
Restate the problem in your own words, with its givens exact. For example: what is
$1 + 2 + \dots + n$ for $n = 10$?
\BLOCK{{ call solution() }}
By Gauss's pairing, $1 + 2 + \dots + n = \frac{{n(n+1)}}{{2}}$, which is $\VAR{{ triangle_number }}$ here.
\BLOCK{{ endcall }}
\BLOCK{{ endcall }}
"""

VERIFY = '''"""Values and tests of chapter {id}: {title}."""

from solman import value


@value
def triangle_number():
    """1 + 2 + ... + 10, by the closed form n (n + 1) / 2."""
    n = 10
    return n * (n + 1) // 2


def test_triangle_number_is_the_sum_done_the_long_way():
    assert triangle_number() == sum(range(1, 11))
'''


def new_chapter(root: Path, chapter_id: str, title: str) -> list[Path]:
    """Create a chapter; return the files written (the two new files and pyproject.toml)."""
    project = load_project(root)
    pyproject = project.root / "pyproject.toml"
    if not CHAPTER_ID.fullmatch(chapter_id):
        raise ConfigError(f"chapter id {chapter_id!r} is not valid",
                          hint="use lower-case letters, digits and underscores, starting with a letter, "
                          "for example ml_final_2025")
    if not title.strip():
        raise ConfigError("the chapter needs a title", hint='invoke new <id> --title "Machine Learning, final exam 2025"')
    if any(c.id == chapter_id for c in project.chapters):
        raise ConfigError(f"chapter '{chapter_id}' is already in the project",
                          location=Location.of(pyproject, line_of(pyproject.read_text(), f'"{chapter_id}"'),
                                               project.root),
                          hint="pick another id")
    template = project.root / "chapters" / f"{chapter_id}.tex.j2"
    verify = project.root / "verify" / f"{chapter_id}.py"
    for path in (template, verify):
        if path.exists():
            raise ConfigError(f"{project.relative(path)} already exists; not overwriting it",
                              location=Location.of(path, None, project.root),
                              hint="remove it first, or pick another id")
    template.parent.mkdir(exist_ok=True)
    verify.parent.mkdir(exist_ok=True)
    template.write_text(TEMPLATE.format(title=text(title)), encoding="utf-8")
    verify.write_text(VERIFY.format(id=chapter_id, title=title), encoding="utf-8")
    pyproject.write_text(registered(pyproject.read_text(encoding="utf-8"), chapter_id), encoding="utf-8")
    return [template, verify, pyproject]


def registered(toml: str, chapter_id: str) -> str:
    """``toml`` with ``chapter_id`` appended to ``chapters`` in ``[tool.solman]``."""
    section = re.search(r"^\[tool\.solman\][ \t]*$", toml, flags=re.M)
    if section is None:
        return toml.rstrip("\n") + f'\n\n[tool.solman]\nchapters = ["{chapter_id}"]\n'
    end = re.search(r"^\[", toml[section.end():], flags=re.M)
    body_end = section.end() + end.start() if end else len(toml)
    body = toml[section.end():body_end]
    chapters = re.search(r"^chapters[ \t]*=[ \t]*\[(?P<items>[^\]]*)\]", body, flags=re.M)
    if chapters is None:
        return toml[:section.end()] + f'\nchapters = ["{chapter_id}"]' + toml[section.end():]
    items = chapters["items"]
    stripped = items.rstrip()
    separator = "" if not stripped.strip() else ("" if stripped.endswith(",") else ",")
    multiline = "\n" in items
    addition = f'{separator}\n    "{chapter_id}",\n' if multiline else f'{separator}{" " if separator else ""}"{chapter_id}"'
    start = section.end() + chapters.start("items")
    return toml[:start] + stripped + addition + toml[start + len(items):]
