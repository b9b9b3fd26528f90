"""The printing policy (solman/project/printing.py): [tool.solman.printing], a chapter's printing(), their
mistakes at their line, and what the build writes for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_project import assert_reported_at, write_project
from test_rendering import render

from solman.errors import Errors, TemplateError
from solman.project.printing import DEFAULT, Printing, printing_of, printing_style
from solman.project.settings import load_project


def test_the_policy_is_read_as_a_table_or_inline_and_defaults_to_sympy_s_choices_made_readable(tmp_path: Path):
    assert load_project(write_project(tmp_path, 'chapters = ["one"]\n')).printing == Printing()
    assert Printing().complete() == DEFAULT == Printing("log", "top", "rationalise", "descending", r"\mathcal{N}", ())
    table = ('chapters = ["one"]\n\n[tool.solman.printing]\nlog = "ln"\ntranspose = "T"\nsurds = "keep"\n'
             'order = "source"\nnormal = "\\\\mathcal{N}"\nbold = ["x", "w", "x"]\n')
    assert load_project(write_project(tmp_path, table)).printing == Printing("ln", "T", "keep", "source", r"\mathcal{N}",
                                                                            ("x", "w"))
    inline = 'printing = {log = "ln"}\nchapters = ["one"]\n'
    assert load_project(write_project(tmp_path, inline)).printing == Printing(log="ln")


@pytest.mark.parametrize("settings, line, message", [
    ('[tool.solman.printing]\nsurds = "keep"\nlog = "lg"\n', 10, "printing: log is one of 'log', 'ln', not 'lg'"),
    ('[tool.solman.printing]\ntranspose = "t"\n', 9, "printing: transpose is one of 'top', 'T', not 't'"),
    ('[tool.solman.printing]\nsurds = "rationalize"\n', 9, "surds is one of 'rationalise', 'keep'"),
    ('[tool.solman.printing]\norder = "ascending"\n', 9, "order is one of 'descending', 'source'"),
    ('[tool.solman.printing]\nbold = "x"\n', 9, "bold is a list of symbol names"),
    ('[tool.solman.printing]\nbold = ["x", "\\\\mathbf{w}"]\n', 9, "bold is a list of symbol names"),
    ('[tool.solman.printing]\nnormal = "\\\\mathcal{N"\n', 9, "normal is the LaTeX of one symbol"),
    ('[tool.solman.printing]\nln = true\n', 9, "unknown printing setting 'ln'; known: log, transpose"),
    ('printing = {log = 2}\n', 7, "log is one of 'log', 'ln', not 2"),
    ('printing = "ln"\n', 7, "setting 'printing' must be a dict"),
])
def test_mistakes_are_reported_at_their_line(tmp_path: Path, settings: str, line: int, message: str):
    assert_reported_at(tmp_path, settings, line, message)


def test_every_mistake_is_reported_at_once(tmp_path: Path):
    write_project(tmp_path, 'chapters = ["one"]\n\n[tool.solman.printing]\nlog = "lg"\nsurds = "none"\n')
    with pytest.raises(Errors) as caught:
        load_project(tmp_path)
    assert [str(e.location) for e in caught.value.errors] == ["pyproject.toml:9", "pyproject.toml:10"]


def test_a_layer_says_only_what_it_gives():
    chapter, mistakes = printing_of({"log": "ln"})
    assert not mistakes
    assert chapter.over(Printing(surds="keep", log="log")).complete() == Printing(
        "ln", "top", "keep", "descending", r"\mathcal{N}", ())


def test_the_normal_distribution_has_one_symbol_for_the_whole_manual():
    assert b"\\providecommand{\\normaldist}{\\mathcal{N}}" in printing_style(Printing())
    assert b"\\providecommand{\\normaldist}{\\operatorname{N}}" in printing_style(Printing(normal=r"\operatorname{N}"))
    assert printing_of({"normal": "N"}, ("log",))[1][0][1].startswith("unknown printing setting 'normal' (the normal")


# --- a chapter's printing() ----------------------------------------------------------------------

VERIFY = '''
import sympy as sp
from solman import value

@value
def gain():
    w = sp.Symbol("omega")
    return sp.log(2) * sp.cos(w) + 1 / sp.sqrt(3)
'''


def test_a_chapter_changes_the_policy_from_its_line_on_over_the_project_s(project_dir: Path):
    with open(project_dir / "pyproject.toml", "a", encoding="utf-8") as handle:
        handle.write('\n[tool.solman.printing]\nsurds = "keep"\n')
    rendered, _ = render(project_dir, "\\chapter{Demo}\n$\\VAR{ gain }$\n\\VAR{ printing(log=\"ln\") }\n"
                         "$\\VAR{ gain }$\n\\VAR{ printing(surds=\"rationalise\") }\n$\\VAR{ gain | latex }$\n",
                         verify=VERIFY)
    assert rendered.text.splitlines()[1:] == [r"$\log 2 \cos\omega + \frac{1}{\sqrt{3}}$",
                                              r"$\ln 2 \cos\omega + \frac{1}{\sqrt{3}}$",
                                              r"$\ln 2 \cos\omega + \frac{\sqrt{3}}{3}$"]


@pytest.mark.parametrize("call, message", [
    ("printing()", "printing() says nothing"),
    ('printing(log="lg")', "printing: log is one of 'log', 'ln', not 'lg'"),
    ('printing(normal="N")', "unknown printing setting 'normal'"),
    ('printing(bold="x")', "bold is a list of symbol names"),
])
def test_a_chapter_s_mistakes_are_template_errors_at_their_line(project_dir: Path, call: str, message: str):
    with pytest.raises(TemplateError) as caught:
        render(project_dir, f"\\chapter{{Demo}}\n\n\\VAR{{ {call} }}\n", verify=VERIFY)
    assert message in caught.value.message and caught.value.hint
    assert str(caught.value.location).endswith("demo.tex.j2:3")


def test_a_template_cannot_pass_a_policy_to_a_filter(project_dir: Path):
    with pytest.raises(TemplateError, match="the printing policy is the project's"):
        render(project_dir, '\\chapter{Demo}\n$\\VAR{ gain | latex(printing="ln") }$\n', verify=VERIFY)


def test_a_change_of_policy_makes_every_output_stale(project_dir: Path):
    from solman.build.stamps import target_stamps
    from solman.project.targets import plan_targets

    def stamps() -> dict[str, str]:
        project = load_project(project_dir)
        return target_stamps(project, plan_targets(project))

    before = stamps()
    with open(project_dir / "pyproject.toml", "a", encoding="utf-8") as handle:
        handle.write('\n[tool.solman.printing]\nlog = "ln"\n')
    after = stamps()
    assert before.keys() == after.keys() and all(before[name] != after[name] for name in before)
