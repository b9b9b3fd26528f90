"""The author's language: every word solman prints, and every number, in English, French or German."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from conftest import FIXTURE, OUTPUTS, edit
from solman.errors import ConfigError, TemplateError
from solman.latex.toolchain import DEBIAN_PACKAGES
from solman.project.language import LANGUAGES, STYLE, language_style
from solman.project.scaffold import init_project, new_chapter
from solman.project.settings import BUILTIN_TEMPLATES, load_project
from solman.rendering.appendix import FAILING, UNTESTED
from solman.rendering.render import render_chapter
from solman.rendering.sources import load_values, marked_draft, static_files
from solman.values import filters

ENGINE = Path(filters.__file__).resolve().parent.parent
OUTCOMES = {"failed", "error", "skipped", "xfailed"}  # a test's outcomes the appendix shows (passed is not)


# --- the table ---------------------------------------------------------------------------------

def words_used() -> set[str]:
    """Every word key solman's templates, style and code ask for, and those the style looks up by a
    status or an outcome (``\\solmanword{#3}``)."""
    used = {FAILING, UNTESTED, *OUTCOMES}
    for path in BUILTIN_TEMPLATES.rglob("*"):
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        used |= set(re.findall(r"\\solmanword\{(\w+)\}", text)) | set(re.findall(r"\bwords\.(\w+)", text))
    for path in ENGINE.rglob("*.py"):
        used |= set(re.findall(r"""words\[["'](\w+)["']\]""", path.read_text(encoding="utf-8")))
    return used


def test_every_language_has_every_word_and_no_word_is_unused():
    english = set(LANGUAGES["en"].words)
    for language in LANGUAGES.values():
        assert set(language.words) == english, language.code
        assert all(isinstance(w, str) and w.strip() for w in language.words.values()), language.code
    assert words_used() == english


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_the_language_style_loads_babel_and_sets_every_word(code):
    language = LANGUAGES[code]
    style = language_style(code).decode()
    assert f"\\RequirePackage[{language.babel}]{{babel}}" in style
    for key in language.words:
        assert f"\\solmansetword{{{key}}}{{" in style
    assert "\\the\\solman@pinnedcount{}" in style  # the sensitivity figure's counts, summed by solman.sty
    # babel's file for the language is one solman checks for (and `invoke setup` installs)
    assert any(f"{language.babel}.ldf" in needs for needs in DEBIAN_PACKAGES.values())


def test_the_build_writes_the_language_style_unless_the_project_has_its_own(project_dir: Path):
    edit(project_dir / "pyproject.toml", "year = 2026", 'year = 2026\nlanguage = "de"')
    assert static_files(load_project(project_dir))[STYLE] == language_style("de")
    (project_dir / "templates").mkdir()
    (project_dir / "templates" / STYLE).write_text("% mine\n", encoding="utf-8")
    assert static_files(load_project(project_dir))[STYLE] == b"% mine\n"


@pytest.mark.parametrize("setting, message, hint", [
    ('language = "it"', "unknown language 'it'", "use one of: en, fr, de (English, French, German)"),
    ('language = "French"', "unknown language 'French'", "use one of: en, fr, de"),
    ("language = 1", "setting 'language' must be a str", 'for example: language = "fr"'),
])
def test_an_unknown_language_is_a_config_error_at_its_line(project_dir: Path, setting: str, message: str, hint: str):
    edit(project_dir / "pyproject.toml", "year = 2026", f"year = 2026\n{setting}")
    with pytest.raises(ConfigError) as caught:
        load_project(project_dir)
    assert caught.value.message == message
    assert hint in caught.value.hint
    assert str(caught.value.location) == "pyproject.toml:6"


# --- numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("call, english, other", [
    (lambda code: filters.fixed(3.14159, 2, language=code), "3.14", "3{,}14"),
    (lambda code: filters.sig(0.0012345, 3, language=code), "0.00123", "0{,}00123"),
    (lambda code: filters.sci(123456.0, 3, language=code), r"1.23 \times 10^{5}", r"1{,}23 \times 10^{5}"),
    (lambda code: filters.percent(0.1234, 1, language=code), r"12.3\,\%", r"12{,}3\,\%"),
    (lambda code: filters.fixed(12345.5, 1, language=code), "12345.5", "12345{,}5"),
    (lambda code: filters.fixed([0.5, -1.25], 2, language=code), r"0.50,\allowbreak\ -1.25",
     r"0{,}50;\allowbreak\ -1{,}25"),
    (lambda code: filters.fixed(np.array([[0.5, 2]]), 1, language=code), r"\begin{bmatrix}0.5 & 2.0\end{bmatrix}",
     r"\begin{bmatrix}0{,}5 & 2{,}0\end{bmatrix}"),
    (lambda code: filters.latex([sp.Rational(1, 2), 3], language=code), r"\frac{1}{2},\allowbreak\ 3",
     r"\frac{1}{2};\allowbreak\ 3"),
    (lambda code: filters.latex(sp.Tuple(1, sp.Rational(1, 2)), language=code), r"\left( 1, \  \frac{1}{2}\right)",
     r"\left( 1; \  \frac{1}{2}\right)"),
    (lambda code: filters.latex(sp.Interval(0, 1), language=code), r"\left[0, 1\right]", r"\left[0, 1\right]"),
    (lambda code: filters.latex(sp.Matrix([[1, 2]]), language=code), r"\begin{bmatrix}1 & 2\end{bmatrix}",
     r"\begin{bmatrix}1 & 2\end{bmatrix}"),
    (lambda code: filters.latex(12345, language=code), r"12\,345", r"12\,345"),
    (lambda code: filters.coords([(0.5, 0.25)], 2), "(0.50,0.25)", "(0.50,0.25)"),  # TikZ input: not typeset
])
def test_numbers_take_the_languages_decimal_marker_and_list_separator(call, english, other):
    assert call("en") == english
    assert call("fr") == call("de") == other


@pytest.mark.parametrize("code, true, cases", [
    ("en", r"\text{true}", r"\begin{cases} x & \text{for}\: x > 0 \\0 & \text{otherwise} \end{cases}"),
    ("fr", r"\text{vrai}", r"\begin{cases} x & \text{pour}\: x > 0 \\0 & \text{sinon} \end{cases}"),
    ("de", r"\text{wahr}", r"\begin{cases} x & \text{für}\: x > 0 \\0 & \text{sonst} \end{cases}"),
])
def test_the_words_inside_values_are_the_languages(code, true, cases):
    x = sp.Symbol("x")
    assert filters.latex(True, language=code) == true
    assert filters.latex(sp.Piecewise((x, x > 0), (0, True)), language=code) == cases


def test_a_template_cannot_choose_another_language(project_dir: Path):
    (project_dir / "chapters" / "demo.tex.j2").write_text("$\\VAR{ pi_estimate | fixed(2, language='fr') }$\n")
    project = load_project(project_dir)
    chapter = project.chapter("demo")
    with pytest.raises(TemplateError, match="the language is the project's") as caught:
        render_chapter(project, chapter, load_values(project, chapter), "solutions")
    assert caught.value.location.line == 1


# --- the building blocks -----------------------------------------------------------------------

CHAPTER = r"""\chapter{Tests}
\VAR{ points_table() }
\VAR{ problem("Algèbre", 1) }
\BLOCK{ call question("1a", points=1) }a\BLOCK{ endcall }
\BLOCK{ call question("1b", points=1.5) }b \VAR{ see("demo", "1a") }, \VAR{ see("week1", "1a") }\BLOCK{ endcall }
\BLOCK{ call question("q10", points=2) }c $\VAR{ pi_estimate | fixed(2) }$\BLOCK{ endcall }
"""


@pytest.mark.parametrize("code, expected", [
    ("en", [r"\problem[Problem]{1}{Algèbre}", r"{1\,(a)}{1~point}", r"{1\,(b)}{1.5~points}", r"{Q10}{2~points}",
            r"\hyperref[q:demo:1a]{question~1\,(a)}", r"\seequestion{q:week1:1a}{Chapter~2, question~1\,(a)}",
            r"\pointsrow{Problem 1}{Algèbre}{4.5}", r"\pointstotal{4.5}", "c $3.15$"]),
    ("fr", [r"\problem[Problème]{1}{Algèbre}", r"{1\,(a)}{1~point}", r"{1\,(b)}{1,5~point}", r"{Q10}{2~points}",
            r"\hyperref[q:demo:1a]{question~1\,(a)}", r"\seequestion{q:week1:1a}{Chapitre~2, question~1\,(a)}",
            r"\pointsrow{Problème 1}{Algèbre}{4,5}", r"\pointstotal{4,5}", "c $3{,}15$"]),
    ("de", [r"\problem[Aufgabe]{1}{Algèbre}", r"{1\,(a)}{1~Punkt}", r"{1\,(b)}{1,5~Punkte}", r"{F10}{2~Punkte}",
            r"\hyperref[q:demo:1a]{Frage~1\,(a)}", r"\seequestion{q:week1:1a}{Kapitel~2, Frage~1\,(a)}",
            r"\pointsrow{Aufgabe 1}{Algèbre}{4,5}", r"\pointstotal{4,5}", "c $3{,}15$"]),
])
def test_the_building_blocks_speak_the_projects_language(project_dir: Path, code: str, expected: list[str]):
    edit(project_dir / "pyproject.toml", "year = 2026", f'year = 2026\nlanguage = "{code}"')
    new_chapter(project_dir, "week1", "Week 1")  # a second chapter, for a reference across chapters
    (project_dir / "chapters" / "demo.tex.j2").write_text(CHAPTER, encoding="utf-8")
    project = load_project(project_dir)
    chapter = project.chapter("demo")
    text = render_chapter(project, chapter, load_values(project, chapter), "solutions").text
    for shown in expected:
        assert shown in text


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_a_draft_says_so_in_the_projects_language(project, code):
    from solman.rendering.render import render_shell

    shell = render_shell(project, "chapter.tex.j2", "demo-solutions.tex", "problems",
                         {"title": "T", "subtitle": "", "author": "", "year": 2026, "provenance": "p.json",
                          "chapters": [{"id": "demo", "number": 1, "input": "i", "status": "s", "appendix": "a"}],
                          "digest": "d", "commit": "c", "tools": "t", "words": dict(LANGUAGES[code].words)})
    marked = marked_draft(shell, code).text
    words = LANGUAGES[code].words
    assert f"\\bfseries {words['draft']}}}" in marked and words["draft_line"] in marked
    assert marked.count(r"\begin{document}") == 1


# --- the example chapter -----------------------------------------------------------------------

ENGLISH_EXAMPLE = ("Restate the problem", "A first problem", "For example", "triangle_number", "Values and tests")


@pytest.mark.parametrize("code, shown", [
    ("en", ["Restate the problem in your own words", r"\problem[Problem]{1}{A first problem}", "which is $55$"]),
    ("fr", ["Reformulez le problème", r"\problem[Problème]{1}{Un premier problème}", "soit $55$ ici"]),
    ("de", ["Geben Sie die Aufgabe", r"\problem[Aufgabe]{1}{Eine erste Aufgabe}", "hier also $55$"]),
])
def test_the_example_chapter_is_in_the_projects_language(tmp_path: Path, code: str, shown: list[str]):
    root = tmp_path / "course"
    subprocess.run([sys.executable, "-m", "solman", "init", str(root), "--title", "Cours", "--language", code],
                   check=True, capture_output=True, env={k: v for k, v in os.environ.items() if k != "SOLMAN_PROJECT"})
    project = load_project(root)
    chapter = project.chapter("week1")
    template = chapter.template.read_text(encoding="utf-8")
    verify = chapter.verify.read_text(encoding="utf-8")
    if code != "en":
        assert not [phrase for phrase in ENGLISH_EXAMPLE if phrase in template + verify]
    values = load_values(project, chapter)
    text = render_chapter(project, chapter, values, "solutions").text
    for phrase in shown:
        assert phrase in text
    namespace: dict = {}
    exec(compile(verify, str(chapter.verify), "exec"), namespace)  # its test passes
    [test] = [f for name, f in namespace.items() if name.startswith("test_")]
    test()


def test_init_refuses_an_unknown_language(tmp_path: Path):
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        init_project(tmp_path / "course", "Course", language="xx")


# --- the fixture project, built in French and in German ----------------------------------------

def normal(text: str) -> str:
    """Text as compared: one space between words, none before French punctuation, lines joined."""
    text = re.sub(r"[\s\u00a0\u202f\u2009]+", " ", text.replace("~", " "))
    return re.sub(r" ([:;!?])", r"\1", text)


# Words of solman's that the fixture project's PDFs show, by the PDF that shows them
SHOWN = {
    "manual.pdf": ["solutions_edition", "about_book", "build_digest", "problem", "points_heading", "total",
                   "solution", "point", "points", "verification", "chapter", "given", "pinned", "chapter_text",
                   "source_commit", "tools", "corrected"],
    "problems.pdf": ["problems_edition", "about_edition", "build_digest", "problem", "points", "corrected"],
}
LATEX_WORDS = {"en": ("Contents", "Appendix"), "fr": ("Table des matières", "Annexe"),
               "de": ("Inhaltsverzeichnis", "Anhang")}  # babel's


@pytest.mark.tex
@pytest.mark.parametrize("code", ["fr", "de"])
def test_the_fixture_project_builds_and_verifies_in(code: str, tmp_path: Path):
    """One build per language: no LaTeX warnings, every PDF in the language with no English word of
    solman's left, numbers with a decimal comma, and `invoke verify` reads them back and passes."""
    from solman.build.pipeline import build
    from solman.checking.verification import verify_folder
    from solman.latex.pdfs import pdf_text, read_digest

    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    edit(root / "pyproject.toml", "year = 2026", f'year = 2026\nlanguage = "{code}"')
    built = build(load_project(root))
    assert built.warnings == []
    assert all(record["warnings"] == [] for record in built.records.values())

    words, english = LANGUAGES[code].words, LANGUAGES["en"].words
    texts = {output: normal(pdf_text(root / "build" / output)) for output in OUTPUTS}
    for output, keys in SHOWN.items():
        for key in keys:
            assert normal(words[key]) in texts[output], (output, key)
            if english[key] != words[key]:
                assert not re.search(rf"(?<!\w){re.escape(normal(english[key]))}(?!\w)", texts[output]), (output, key)
    assert all(word in texts["manual.pdf"] for word in LATEX_WORDS[code]) and LATEX_WORDS[code][0] in texts["problems.pdf"]
    for output, text in texts.items():
        assert not any(re.search(rf"\b{word}\b", text) for word in LATEX_WORDS["en"]), output
    # babel's French spaces the colon of the fixture's own text ("tests: Deep Learning"); German does not
    spaced = re.search(r"tests\s+:\s*Deep", pdf_text(root / "build" / "manual.pdf")) is not None
    assert spaced == (code == "fr")
    record = built.records["manual.pdf"]
    figure = normal(words["sensitivity"].format(**{k: record["sensitivity"][k] for k in ("pinned", "printed")}))
    assert figure in texts["manual.pdf"]
    # the copyright page shows the digest's first 12 digits; the whole one is in the metadata (and, in
    # the solutions edition, in the verification appendix), never in a problems edition's text
    for output in ("manual.pdf", "problems.pdf"):
        digest = read_digest(root / "build" / output)
        assert normal(f"{words['build_digest']}{words['colon']} {digest[:12]}") in texts[output]
        assert (digest in texts[output]) == (output == "manual.pdf")
    assert read_digest(root / "build" / "chapters/demo-problems.pdf") not in texts["chapters/demo-problems.pdf"]

    # the estimate of pi printed with fixed(3), and the plot's ticks, with a decimal comma
    printed = {v["value"]: v["latex"] for render in json.loads((root / "build" / "manifest.json").read_text())
               ["renders"].values() for v in render["values"]}
    assert re.fullmatch(r"3\{,\}\d{3}", printed["pi_estimate"])
    assert printed["pi_estimate"].replace("{,}", ",") in texts["manual.pdf"]
    assert "0,5" in texts["manual.pdf"] and "0.5" not in texts["manual.pdf"]

    report = verify_folder(root)
    assert report.ok, [f.message for f in report.failures]
    assert report.displayed[0] >= 5  # the display contract read the printed values back, commas and all
