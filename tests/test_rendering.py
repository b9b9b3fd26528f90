"""Rendering: values printed and recorded per question, solutions only where they belong, errors located."""

from pathlib import Path

import pytest

from solman.errors import TemplateError, ValueFailure
from solman.project.settings import load_project
from solman.rendering.render import question_label, render_chapter
from solman.rendering.sources import load_values
from solman.values.evaluation import _UNSET

VERIFY = '''
from fractions import Fraction
import sympy as sp
from solman import value

@value
def given():
    return sp.Matrix([[1, 2], [3, 4]])

@value
def determinant():
    return given().det()

@value
def ratio():
    return 0.123456

@value
def facts():
    return {"name": "R&D", "count": 12}

@value
def broken():
    numbers = [1, 2]
    return numbers[5]
'''


def render(project_dir: Path, template: str, edition: str = "solutions", verify: str = VERIFY):
    (project_dir / "chapters" / "demo.tex.j2").write_text(template, encoding="utf-8")
    (project_dir / "verify" / "demo.py").write_text(verify, encoding="utf-8")
    project = load_project(project_dir)
    chapter = project.chapter("demo")
    values = load_values(project, chapter)
    return render_chapter(project, chapter, values, edition), values


QUESTION = r"""\chapter{Demo}
\BLOCK{ call question("1a", points=2) }
Compute the determinant of $\VAR{ given }$.
\BLOCK{ call solution() }
It is $\VAR{ determinant }$; the ratio is $\VAR{ ratio | fixed(3) }$ and \VAR{ facts.name }.
\BLOCK{ endcall }
\BLOCK{ endcall }
"""


def test_values_are_printed_and_recorded_per_question(project_dir: Path):
    rendered, _ = render(project_dir, QUESTION)
    assert r"$\begin{bmatrix}1 & 2\\3 & 4\end{bmatrix}$" in rendered.text
    assert "It is $-2$; the ratio is $0.123$ and R\\&D." in rendered.text
    assert r"\begin{question}{1\,(a)}{2~points}{q:demo:1a}" in rendered.text
    uses = [(u.value, u.expr, u.latex, u.filter, u.question, u.role, u.line) for u in rendered.uses]
    assert uses == [
        ("given", "given", r"\begin{bmatrix}1 & 2\\3 & 4\end{bmatrix}", "latex", "1a", "problem", 3),
        ("determinant", "determinant", "-2", "latex", "1a", "solution", 5),
        ("ratio", "ratio", "0.123", "fixed(3)", "1a", "solution", 5),
        ("facts", "facts['name']", r"R\&D", "latex", "1a", "solution", 5),
    ]
    assert all(u.template == "chapters/demo.tex.j2" for u in rendered.uses)
    question = rendered.questions[0]
    assert (question.id, question.points, question.kind, question.line) == ("1a", 2, "open", 2)


def test_the_problems_edition_never_evaluates_a_solution(project_dir: Path):
    rendered, values = render(project_dir, QUESTION, edition="problems")
    assert r"\begin{solution}" not in rendered.text and "It is" not in rendered.text
    assert [u.value for u in rendered.uses] == ["given"]
    assert values["ratio"]._result is _UNSET and values["determinant"]._result is _UNSET  # never computed
    assert rendered.solutions == []


def test_solution_text_is_kept_for_the_leak_check(project_dir: Path):
    rendered, _ = render(project_dir, QUESTION)
    assert rendered.solutions == ["It is $-2$; the ratio is $0.123$ and R\\&D.\n"]


def test_a_generated_line_maps_back_to_its_template_line(project_dir: Path):
    rendered, _ = render(project_dir, QUESTION)
    lines = rendered.text.splitlines()
    number = next(i for i, line in enumerate(lines, start=1) if line.startswith("It is"))
    assert rendered.sources.locate(number)[1] == 5
    assert rendered.sources.locate(number)[0].endswith("chapters/demo.tex.j2")


def test_points_table_sums_problems(project_dir: Path):
    template = r"""\VAR{ points_table() }
\VAR{ problem("Algebra", 1) }
\BLOCK{ call question("1a", points=2) }a\BLOCK{ endcall }
\BLOCK{ call question("1b", points=1.5) }b\BLOCK{ endcall }
\VAR{ problem("Analysis", 2) }
\BLOCK{ call question("2", points=3) }c\BLOCK{ endcall }
"""
    rendered, _ = render(project_dir, template)
    assert r"\pointsrow{Problem 1}{Algebra}{3.5}" in rendered.text
    assert r"\pointsrow{Problem 2}{Analysis}{3}" in rendered.text
    assert r"\pointstotal{6.5}" in rendered.text
    assert rendered.text.index("pointstable") < rendered.text.index(r"\problem[Problem]{1}{Algebra}")


def test_a_problem_may_state_its_total(project_dir: Path):
    template = r"""\VAR{ points_table() }
\VAR{ problem("Algebra", 1, points=5) }
\BLOCK{ call question("1a") }a\BLOCK{ endcall }
\VAR{ problem("Analysis", 2, points=3) }
\BLOCK{ call question("2a", points=1) }b\BLOCK{ endcall }
"""
    with pytest.raises(TemplateError, match="the questions of problem 2 have 1 points, but the problem says 3") as caught:
        render(project_dir, template)
    assert str(caught.value.location) == "chapters/demo.tex.j2:4"
    rendered, _ = render(project_dir, template.replace("points=1", "points=3"))
    assert r"\pointsrow{Problem 1}{Algebra}{5}" in rendered.text and r"\pointstotal{8}" in rendered.text


def test_an_unnumbered_part_shows_its_title_once(project_dir: Path):
    template = r"""\VAR{ points_table() }
\VAR{ problem("Multiple choice") }
\BLOCK{ call question("q1", points=2) }a\BLOCK{ endcall }
\VAR{ problem("Open questions", 2, heading="Part") }
\BLOCK{ call question("q2", points=1.5) }b\BLOCK{ endcall }
"""
    rendered, _ = render(project_dir, template)
    assert r"\pointsrow{}{Multiple choice}{2}" in rendered.text
    assert r"\pointsrow{Part 2}{Open questions}{1.5}" in rendered.text
    assert r"\problem[Part]{2}{Open questions}" in rendered.text


@pytest.mark.parametrize("given, shown", [("4.1a", r"4.1\,(a)"), ("3.2(iii)", r"3.2\,(iii)"), ("q10", "Q10"),
                                          ("2", "2"), ("A_1", r"A\_1")])
def test_question_labels(given, shown):
    assert question_label(given) == shown


# --- errors, each at the author's line --------------------------------------------------------

def error_of(project_dir: Path, template: str, verify: str = VERIFY):
    with pytest.raises((TemplateError, ValueFailure)) as caught:
        render(project_dir, template, verify=verify)
    return caught.value


def test_unknown_name_lists_the_available_names(project_dir: Path):
    error = error_of(project_dir, "line one\n$\\VAR{ determinent }$\n")
    assert str(error.location) == "chapters/demo.tex.j2:2"
    assert "'determinent' is undefined" in error.message
    assert "did you mean determinant?" in error.hint and "given" in error.hint


def test_jinja_globals_are_not_visible(project_dir: Path):
    error = error_of(project_dir, "\\BLOCK{ for i in range(3) }x\\BLOCK{ endfor }\n")
    assert "'range' is undefined" in error.message


def test_syntax_error_is_located(project_dir: Path):
    error = error_of(project_dir, "a\nb\n\\BLOCK{ if given }\nno end\n")
    assert isinstance(error, TemplateError)
    assert error.location.path == "chapters/demo.tex.j2" and error.location.line in (3, 4, 5)


def test_an_exception_in_a_value_points_into_the_verify_module(project_dir: Path):
    template = "\\BLOCK{ call question(\"2b\") }\n$\\VAR{ broken }$\n\\BLOCK{ endcall }\n"
    error = error_of(project_dir, template)
    assert isinstance(error, ValueFailure)
    line = VERIFY.splitlines().index("    return numbers[5]") + 1
    assert str(error.location) == f"verify/demo.py:{line}"
    assert "value 'broken' raised IndexError" in error.message
    assert error.details == ("needed by chapters/demo.tex.j2:2 (question 2b)",)
    assert "numbers[5]" in error.render()


def test_a_float_without_precision_names_the_value(project_dir: Path):
    error = error_of(project_dir, "\n$\\VAR{ ratio }$\n")
    assert str(error.location) == "chapters/demo.tex.j2:2"
    assert "value 'ratio'" in error.message and "fixed(n)" in error.message


def test_a_nan_value_is_refused(project_dir: Path):
    verify = VERIFY + "\n@value\ndef undefined_mean():\n    return float('nan')\n"
    error = error_of(project_dir, "$\\VAR{ undefined_mean | fixed(2) }$\n", verify=verify)
    assert "value 'undefined_mean'" in error.message and "not a finite number" in error.message


def test_arithmetic_belongs_in_verify(project_dir: Path):
    error = error_of(project_dir, "$\\VAR{ determinant + 1 }$\n")
    assert "compute derived numbers in verify/" in error.hint


@pytest.mark.parametrize("template, message", [
    ("\\BLOCK{ call question('1') }a\\BLOCK{ endcall }\\BLOCK{ call question('1') }b\\BLOCK{ endcall }\n",
     "used twice"),
    ("\\BLOCK{ call solution() }a\\BLOCK{ endcall }\n", "must be inside a question"),
    ("\\BLOCK{ call question('1') }\\BLOCK{ call question('2') }b\\BLOCK{ endcall }\\BLOCK{ endcall }\n",
     "inside question '1'"),
    ("\\BLOCK{ call question('1', answer='B') }a\\BLOCK{ endcall }\n", "must be a value"),
    ("\\BLOCK{ call question('1', points=-1) }a\\BLOCK{ endcall }\n", "non-negative"),
    ("\\BLOCK{ call question('1', kind='proof') }a\\BLOCK{ endcall }\n", "kind must be one of"),
    ("\\VAR{ points_table() }\n", "no question with points"),
])
def test_question_misuse(project_dir: Path, template: str, message: str):
    error = error_of(project_dir, template)
    assert message in error.message
    assert error.location.path == "chapters/demo.tex.j2"


def test_a_value_may_not_shadow_solman_names(project_dir: Path):
    verify = VERIFY + "\n@value\ndef question():\n    return 1\n"
    error = error_of(project_dir, "x\n", verify=verify)
    assert "hides solman's own name 'question'" in error.message
    assert error.location.path == "verify/demo.py"


def test_a_value_can_index_another(project_dir: Path):
    verify = VERIFY + "\n@value\ndef which():\n    return 'name'\n"
    rendered, _ = render(project_dir, "\\VAR{ facts[which] }\n", verify=verify)
    assert rendered.text == "R\\&D\n"
    assert [(u.value, u.latex) for u in rendered.uses] == [("which", None), ("facts", "R\\&D")]


def test_see_links_questions(project_dir: Path):
    rendered, _ = render(project_dir, 'A \\VAR{ see("demo", "1a") }.\n')
    assert r"A \hyperref[q:demo:1a]{question~1\,(a)}." in rendered.text
    error = error_of(project_dir, 'A \\VAR{ see("nowhere", "1a") }.\n')
    assert "no chapter 'nowhere'" in error.message and str(error.location) == "chapters/demo.tex.j2:1"


@pytest.mark.parametrize("call, shown", [("sys.exit(0)", "called sys.exit(0) or raised SystemExit"),
                                          ("raise SystemExit(0)", "called sys.exit(0) or raised SystemExit"),
                                          ("os._exit(0)", "called os._exit(0)")])
@pytest.mark.parametrize("template", ["$\\VAR{ quits }$\n", "\\BLOCK{ if quits }yes\\BLOCK{ endif }\n"],
                         ids=["printed", "condition"])
def test_a_value_that_ends_the_process_is_a_value_failure(project_dir: Path, call: str, shown: str, template: str):
    verify = VERIFY + f"\nimport os, sys\n\n@value\ndef quits():\n    {call}\n"
    error = error_of(project_dir, template, verify=verify)
    assert isinstance(error, ValueFailure), error
    assert error.message == f"value 'quits' {shown}"
    assert str(error.location) == f"verify/demo.py:{len(verify.splitlines())}"
    assert error.location.text.strip() == call


# --- what a template may touch: its values and the building blocks, nothing of Python ----------

MARKER = Path("/tmp/solman-template-escape")

ESCAPES = [
    f'\\VAR{{ see.__func__.__globals__["sys"].modules["os"].system("touch {MARKER}") }}',
    '\\VAR{ "".__class__.__mro__[1].__subclasses__() }',
    "\\VAR{ cycler.__init__.__globals__ }",
    "\\VAR{ self }",
    "\\VAR{ lipsum }",
    "\\VAR{ range(10**9) }",
    "\\VAR{ 10 ** (10 ** 10) }",
    '\\VAR{ "x" * 10 ** 9 }',
    "\\BLOCK{ set x = edition.__class__ }",
    "\\VAR{ given.T.__class__ }",
    "\\VAR{ given.det }",
    "\\VAR{ given.det() }",
    "\\VAR{ determinant() }",
    '\\VAR{ "{0.__class__}".format(given) }',
    "\\VAR{ edition.upper() }",
    "\\VAR{ (ratio | fixed(2)).ref }",
    '\\VAR{ see["__func__"] }',
    "\\VAR{ see }",
    "\\BLOCK{ for k, v in facts.items() }\\VAR{ v.__class__ }\\BLOCK{ endfor }",
    "\\BLOCK{ for x in given }\\VAR{ loop.__class__ }\\BLOCK{ endfor }",
]


@pytest.mark.parametrize("attempt", ESCAPES)
def test_a_template_reaches_nothing_but_its_values_and_building_blocks(project_dir: Path, attempt: str):
    MARKER.unlink(missing_ok=True)
    error = error_of(project_dir, f"\\chapter{{Demo}}\nSome text {attempt} and more.\n")
    assert isinstance(error, TemplateError), error.render()
    assert str(error.location) == "chapters/demo.tex.j2:2", error.render()
    assert "is undefined" in error.message or error.hint.startswith(
        "templates see only their values and solman's building blocks"), error.render()
    assert not MARKER.exists()


def test_what_templates_use_still_works_in_the_sandbox(project_dir: Path):
    template = r"""\BLOCK{ macro show(v) }[\VAR{ v }]\BLOCK{ endmacro }
\BLOCK{ call question("1", points=2) }\VAR{ problem("P", 1) if false else "" }
\BLOCK{ for k, v in facts.items() }\VAR{ k }=\VAR{ show(v) }\BLOCK{ if not loop.last }, \BLOCK{ endif }\BLOCK{ endfor }
\BLOCK{ for row in given.T }\VAR{ loop.index }:\VAR{ row }\BLOCK{ endfor }
\VAR{ facts.count } \VAR{ given.shape[0] } \VAR{ given.T } \VAR{ see("demo", "1") } \VAR{ 2 ** 10 } \VAR{ 3 * 4 }
\BLOCK{ if edition == "solutions" }S\BLOCK{ endif } \VAR{ "ab" ~ "cd" }
\BLOCK{ endcall }
"""
    rendered, _ = render(project_dir, template)
    assert "name=[R\\&D], count=[12]" in rendered.text
    assert "1:12:33:24:4" in rendered.text  # the entries of the transpose, with the loop's counter
    assert "12 2 \\begin{bmatrix}1 & 3\\\\2 & 4\\end{bmatrix} \\hyperref[q:demo:1]" in rendered.text
    assert "1024 12" in rendered.text and "S abcd" in rendered.text


# --- a value that never returns ------------------------------------------------------------------

def test_a_value_that_never_returns_is_stopped_at_its_line(project_dir: Path):
    pyproject = project_dir / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("[tool.solman]\n", "[tool.solman]\ntimeout = 1\n"))
    verify = VERIFY + "\n@value\ndef spin():\n    while True: pass\n"
    import sympy  # noqa: F401  (imported now, so that importing the module is quick)

    error = error_of(project_dir, "\\BLOCK{ call question(\"2\") }\n$\\VAR{ spin }$\n\\BLOCK{ endcall }\n",
                     verify=verify)
    assert isinstance(error, ValueFailure), error.render()
    assert error.message == "value 'spin' did not return within 1 s (timeout in [tool.solman])"
    assert str(error.location) == f"verify/demo.py:{len(verify.splitlines())}"
    assert error.details == ("needed by chapters/demo.tex.j2:2 (question 2)",)


def test_a_time_limit_leaves_no_alarm_behind():
    import signal

    from solman.values.evaluation import time_limit

    handler = signal.getsignal(signal.SIGALRM)
    outer = signal.getitimer(signal.ITIMER_REAL)[0]
    with time_limit(1000) as limit:
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0
    assert limit.expired is None
    assert signal.getsignal(signal.SIGALRM) is handler
    assert (signal.getitimer(signal.ITIMER_REAL)[0] > 0) == (outer > 0)  # pytest-timeout's, if any, set again


# --- answer space (problems edition) -------------------------------------------------------------

SPACED = r"""\chapter{Demo}
\BLOCK{ call question("1", points=2) }
Open, with the defaults.
\BLOCK{ call solution() }
It is $\VAR{ determinant }$.
\BLOCK{ endcall }
\BLOCK{ endcall }
\BLOCK{ call question("2", kind="mcq") }
Options, answered in place.
\BLOCK{ endcall }
\VAR{ answer_space(space="5cm") }
\BLOCK{ call question("3") }
Open, after the chapter's default.
\BLOCK{ endcall }
\BLOCK{ call question("4", space="2.5in", fill="grid") }
Open, its own.
\BLOCK{ endcall }
\BLOCK{ call question("5", space=None) }
Open, opting out.
\BLOCK{ endcall }
\BLOCK{ call question("6", kind="tf", space="2cm") }
True or false, with space it asks for.
\BLOCK{ endcall }
\BLOCK{ call question("7", fill="dotted") }
Open, another fill.
\BLOCK{ endcall }
"""


def spaces_of(text: str) -> dict[str, tuple[str, str] | None]:
    """Each question's answer space in a rendered chapter, by the anchor's id."""
    import re

    return {match[1]: (match[2], match[3]) if match[2] else None for match in re.finditer(
        r"\\begin\{question\}\{[^}]*\}\{[^}]*\}\{q:demo:([^}]*)\}\n(?:\\begin\{withspace\}\{([^}]*)\}\{([^}]*)\})?",
        text)}


def with_answer_space(project_dir: Path, table: str) -> None:
    with open(project_dir / "pyproject.toml", "a", encoding="utf-8") as handle:
        handle.write(f"\n[tool.solman.answer_space]\n{table}\n")


def test_open_questions_get_the_project_then_the_chapter_default_and_their_own_space(project_dir: Path):
    with_answer_space(project_dir, 'space = "3cm"\nfill = "lines"')
    rendered, _ = render(project_dir, SPACED, edition="problems")
    assert spaces_of(rendered.text) == {
        "1": ("3cm", "lines"), "2": None, "3": ("5cm", "lines"), "4": ("2.5in", "grid"), "5": None,
        "6": ("2cm", "lines"), "7": ("5cm", "dotted")}
    assert ("\\begin{withspace}{3cm}{lines}\nOpen, with the defaults.\n" in rendered.text
            and "Open, with the defaults.\n\n\\end{withspace}\n\\end{question}" in rendered.text)


def test_without_defaults_only_questions_that_ask_get_space_and_it_is_blank(project_dir: Path):
    rendered, _ = render(project_dir, SPACED.replace('\\VAR{ answer_space(space="5cm") }\n', "")
                         .replace('question("7", fill="dotted")', 'question("7")'), edition="problems")
    assert spaces_of(rendered.text) == {"1": None, "2": None, "3": None, "4": ("2.5in", "grid"), "5": None,
                                        "6": ("2cm", "blank"), "7": None}


def test_the_solutions_edition_is_the_same_with_or_without_answer_space(project_dir: Path):
    plain = SPACED.replace('\\VAR{ answer_space(space="5cm") }\n', "")
    for argument in (', space="2.5in", fill="grid"', ", space=None", ', space="2cm"', ', fill="dotted"'):
        plain = plain.replace(argument, "")
    assert "space=" not in plain and "fill=" not in plain
    without, _ = render(project_dir, plain)
    with_answer_space(project_dir, 'space = "stretch"\nfill = "box"')
    spaced, _ = render(project_dir, SPACED)
    assert spaced.text.encode() == without.text.encode()
    line = spaced.text.splitlines().index("Open, after the chapter's default.") + 1
    assert spaced.sources.locate(line)[1] == 13  # the line after answer_space()'s, which is gone


def test_answer_space_prints_nothing_in_the_problems_edition_either(project_dir: Path):
    rendered, _ = render(project_dir, 'A\n\\VAR{ answer_space(fill="box") }\nB \\VAR{ answer_space(space="1cm") }C\n',
                         edition="problems")
    assert rendered.text == "A\nB C\n"


@pytest.mark.parametrize("template, message", [
    ('\\BLOCK{ call question("1", space="4") }a\\BLOCK{ endcall }\n', "space '4' is not a length"),
    ('\\BLOCK{ call question("1", space="4 lines") }a\\BLOCK{ endcall }\n', "has the unit 'lines'"),
    ('\\BLOCK{ call question("1", space="-2cm") }a\\BLOCK{ endcall }\n', "space '-2cm' is not a length"),
    ('\\BLOCK{ call question("1", space="\\\\baselineskip") }a\\BLOCK{ endcall }\n', "is not a length"),
    ('\\BLOCK{ call question("1", space="80cm") }a\\BLOCK{ endcall }\n', "taller than any page"),
    ('\\BLOCK{ call question("1", space=4) }a\\BLOCK{ endcall }\n', 'a length in quotes such as "4cm", not 4'),
    ('\\BLOCK{ call question("1", space="4cm", fill="ruled") }a\\BLOCK{ endcall }\n',
     "unknown fill 'ruled': use one of blank, lines, dotted, box, grid"),
    ('\\BLOCK{ call question("1", fill="lines") }a\\BLOCK{ endcall }\n', "has fill='lines' but no answer space"),
    ('\\BLOCK{ call question("1", space=None, fill="lines") }a\\BLOCK{ endcall }\n', "but no answer space"),
    ('\\VAR{ answer_space(space="3cm") }\\BLOCK{ call question("1", kind="mcq", fill="box") }a\\BLOCK{ endcall }\n',
     "has fill='box' but no answer space"),
    ('\\VAR{ answer_space(fill="dots") }\n', "answer_space(): unknown fill 'dots'"),
    ("\\VAR{ answer_space() }\n", "answer_space() says nothing"),
    ('\\BLOCK{ call question("1") }\\VAR{ answer_space(space="3cm") }\\BLOCK{ endcall }\n',
     "answer_space() cannot be inside a question"),
])
@pytest.mark.parametrize("edition", ["problems", "solutions"])
def test_answer_space_mistakes_are_reported_at_the_line_in_both_editions(project_dir: Path, template: str,
                                                                        message: str, edition: str):
    with pytest.raises(TemplateError) as caught:
        render(project_dir, "\\chapter{Demo}\n" + template, edition=edition)
    assert message in caught.value.message
    assert str(caught.value.location) == "chapters/demo.tex.j2:2" and caught.value.hint


def test_a_mcq_question_says_why_the_default_space_is_not_its_own(project_dir: Path):
    error = error_of(project_dir, '\\VAR{ answer_space(space="3cm") }\n'
                     '\\BLOCK{ call question("1", kind="mcq", fill="box") }a\\BLOCK{ endcall }\n')
    assert error.hint == "a mcq question gets the default space only when it says space= itself"
