"""``invoke new``: a new chapter that builds and verifies at once.

It writes ``chapters/<id>.tex.j2`` (one problem, one question with its solution) and
``verify/<id>.py`` (one value and a test that checks it independently), both in the project's
language (``language`` in ``[tool.solman]``), and adds the id to
``chapters`` in ``[tool.solman]``, editing the TOML text in place so that the author's
formatting and comments survive. It never overwrites anything.
"""

from __future__ import annotations

import re
from pathlib import Path

from solman.errors import ConfigError, Location
from solman.values.filters import text
from solman.project.settings import CHAPTER_ID, LANGUAGES, line_of, load_project

# The example chapter, in each language: its template (str.format: {title}) and the words of its verify module.
TEMPLATE = r"""\chapter{{{title}}}
\source{{{source}}}

\VAR{{ problem("{problem}", 1) }}
\BLOCK{{ call question("1a", points=1, answer={value}) }}
{question}
\BLOCK{{ call solution() }}
{solution}
\BLOCK{{ endcall }}
\BLOCK{{ endcall }}
"""
EXAMPLE_TEXT = {
    "en": {
        "source": "Where these problems come from: the institution, the course, its teachers and the date.\n"
                  "Say here what the chapter covers, and that the problems are restated in our own words.",
        "title": "Week 1", "problem": "A first problem",
        "question": "Restate the problem in your own words, with its givens exact. For example: what is\n"
                    "$1 + 2 + \\dots + n$ for $n = 10$?",
        "solution": "By Gauss's pairing, $1 + 2 + \\dots + n = \\frac{n(n+1)}{2}$, which is "
                    "$\\VAR{ triangle_number }$ here.",
        "value": "triangle_number", "test": "test_triangle_number_is_the_sum_done_the_long_way",
        "module": "Values and tests of chapter", "docstring": "1 + 2 + ... + 10, by the closed form n (n + 1) / 2.",
    },
    "fr": {
        "source": "D'où viennent ces problèmes : l'établissement, le cours, ses enseignants et la date.\n"
                  "Dites ici ce que couvre le chapitre, et que les énoncés sont reformulés avec nos propres mots.",
        "title": "Semaine 1", "problem": "Un premier problème",
        "question": "Reformulez le problème avec vos propres mots, ses données exactes. Par exemple : que vaut\n"
                    "$1 + 2 + \\dots + n$ pour $n = 10$ ?",
        "solution": "En appariant les termes comme Gauss, $1 + 2 + \\dots + n = \\frac{n(n+1)}{2}$, "
                    "soit $\\VAR{ nombre_triangulaire }$ ici.",
        "value": "nombre_triangulaire", "test": "test_nombre_triangulaire_egale_la_somme_terme_a_terme",
        "module": "Valeurs et tests du chapitre", "docstring": "1 + 2 + ... + 10, par la formule n (n + 1) / 2.",
    },
    "de": {
        "source": "Woher diese Aufgaben stammen: die Hochschule, die Vorlesung, ihre Lehrenden und das Datum.\n"
                  "Sagen Sie hier, was das Kapitel behandelt und dass die Aufgaben in eigenen Worten wiedergegeben sind.",
        "title": "Woche 1", "problem": "Eine erste Aufgabe",
        "question": "Geben Sie die Aufgabe in eigenen Worten wieder, mit exakten Angaben. Zum Beispiel: Was ist\n"
                    "$1 + 2 + \\dots + n$ für $n = 10$?",
        "solution": "Paarweise nach Gauß ist $1 + 2 + \\dots + n = \\frac{n(n+1)}{2}$, "
                    "hier also $\\VAR{ dreieckszahl }$.",
        "value": "dreieckszahl", "test": "test_dreieckszahl_ist_die_summe_schritt_fuer_schritt",
        "module": "Werte und Tests des Kapitels", "docstring": "1 + 2 + ... + 10, nach der Formel n (n + 1) / 2.",
    },
}

VERIFY = '''"""{module} {id}: {title}."""

from solman import value


@value
def {value}():
    """{docstring}"""
    n = 10
    return n * (n + 1) // 2


def {test}():
    assert {value}() == sum(range(1, 11))
'''


def example_chapter(language: str, chapter_id: str, title: str) -> tuple[str, str]:
    """The example chapter's template and verify module, in ``language``."""
    words = EXAMPLE_TEXT[language]
    template = TEMPLATE.format(title=text(title), **{k: words[k] for k in ("source", "problem", "question", "solution",
                                                                           "value")})
    verify = VERIFY.format(id=chapter_id, title=title, **{k: words[k] for k in ("module", "value", "docstring", "test")})
    return template, verify


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
    template_text, verify_text = example_chapter(project.language, chapter_id, title)
    template.write_text(template_text, encoding="utf-8")
    verify.write_text(verify_text, encoding="utf-8")
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


DISTRIBUTION = "solman-tex"  # solman's name on PyPI ("solman" there is another project)
EXAMPLE = "week1"  # the example chapter of a new project

PYPROJECT = """\
# {title}: a solutions manual built with solman ({distribution} on PyPI).
[tool.solman]
title = {title_toml}
author = {author_toml}
year = {year}
language = "{language}"
chapters = []
"""

TASKS = '''"""This course's commands: solman's tasks (`invoke --list`; the `solman` command has the same)."""
from solman.tasks import ns  # noqa: F401
'''

GITIGNORE = "build/\n__pycache__/\n.venv/\n"

WORKFLOW = """\
# Builds and verifies the manual on every push and pull request; the PDFs are kept as an artifact.
name: verify
on: [push, pull_request]
jobs:
  verify:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install TeX Live, latexmk, poppler and bubblewrap
        run: |
          sudo apt-get update
          sudo apt-get install -y --no-install-recommends {packages}
          # Ubuntu 24.04 confines unprivileged user namespaces, which bubblewrap (LaTeX's sandbox) needs
          sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0
      - name: Install solman
        # {distribution} from PyPI; until it is published there, install it from a clone of its repository
        run: pip install {distribution}
      - name: Build
        run: invoke pdf
      - name: Verify
        run: invoke verify
      - uses: actions/upload-artifact@v4
        with:
          name: manual
          path: build/*.pdf
"""

README = """\
# {title}

A solutions manual built with solman (`pip install {distribution}`): every number, matrix and
formula it prints is computed by Python in `verify/` and checked by the tests there.

- `invoke pdf` (or `solman pdf`) builds `build/manual.pdf` (problems and solutions),
  `build/problems.pdf` (problems only, for students) and one PDF per chapter in `build/chapters/`.
- `invoke verify` proves the manual before you publish it.
- `invoke new <id> --title "..."` starts a chapter: `chapters/<id>.tex.j2` and `verify/<id>.py`.
- `invoke watch` rebuilds on every save.

The settings (title, author, year, language, the chapters in order) are in `[tool.solman]` in
`pyproject.toml`. `templates/` is for overrides only: a file there named like one of solman's
templates (`solman.sty`, `manual.tex.j2`, `chapter.tex.j2`, ...) replaces it; any other file there
is copied next to the generated LaTeX. Everything solman generates goes to `build/`, which git
ignores. `.github/workflows/verify.yml` builds and verifies the manual on GitHub.
"""


def init_project(folder: Path, title: str, author: str = "", language: str = "en") -> list[Path]:
    """Lay out a new project in ``folder`` (absent or empty) with one example chapter; return its files."""
    import datetime
    import json

    from solman.latex.toolchain import DEBIAN_PACKAGES

    folder = folder.expanduser().resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError(f"{folder} is not empty; solman init starts a project only in a new or empty folder",
                          hint="name a new folder: solman init my-course --title \"...\"")
    if not title.strip():
        raise ConfigError("the project needs a title", hint='solman init DIR --title "Linear Algebra, exams 2026"')
    if language not in LANGUAGES:
        raise ConfigError(f"unknown language '{language}'", hint=f"use one of: {', '.join(LANGUAGES)}")
    files = {
        "pyproject.toml": PYPROJECT.format(title=title, title_toml=json.dumps(title, ensure_ascii=False),
                                           author_toml=json.dumps(author, ensure_ascii=False),
                                           year=datetime.date.today().year, language=language,
                                           distribution=DISTRIBUTION),
        "tasks.py": TASKS,
        "README.md": README.format(title=title, distribution=DISTRIBUTION),
        ".gitignore": GITIGNORE,
        ".github/workflows/verify.yml": WORKFLOW.format(packages=" ".join(DEBIAN_PACKAGES), distribution=DISTRIBUTION),
        "templates/.gitkeep": "",
    }
    written = []
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    example = new_chapter(folder, EXAMPLE, EXAMPLE_TEXT[language]["title"])
    return written + example[:2]
