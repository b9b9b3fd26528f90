"""Figures: a value returning a matplotlib figure is saved as a reproducible PDF, cached as bytes, included
with | figure(width), checked by the display check, skipped by the sensitivity check, built into the PDF."""

from __future__ import annotations

import hashlib
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import edit

from solman.checking.display import compare
from solman.checking.sensitivity import measured_prints
from solman.errors import ValueFailure
from solman.project.settings import load_project
from solman.rendering.render import Use, render_chapter
from solman.rendering.sources import load_values, static_files
from solman.values.cache import ChapterCache, ChapterValues, round_trips
from solman.values.evaluation import fingerprint, load_module, value
from solman.values.figures import STYLE, SavedFigure, save
from solman.values.filters import FILTERS, FilterError, figure, latex

REPO = Path(__file__).resolve().parent.parent

CURVE = '''
import matplotlib.pyplot as plt
import numpy as np
from solman import value

@value
def loss_curve():
    """A training loss, drawn."""
    fig, ax = plt.subplots()
    steps = np.arange(1, 41)
    ax.plot(steps, 1 / np.sqrt(steps), label="loss")
    ax.set_xlabel("training steps")
    ax.set_ylabel("loss")
    ax.legend()
    return fig
'''


def saved_curve(scale: float = 1.0) -> SavedFigure:
    import matplotlib.figure

    fig = matplotlib.figure.Figure()
    ax = fig.subplots()
    ax.plot([0, 1, 2], [0, scale, 4 * scale])
    ax.set_xlabel("steps")
    return save(fig)


# --- the PDF: reproducible, vector, fixed metadata ----------------------------------------------------

def test_the_same_figure_gives_the_same_bytes_in_two_processes(tmp_path: Path):
    script = tmp_path / "draw.py"
    script.write_text(CURVE + "\nimport sys\nsys.stdout.buffer.write(loss_curve().pdf)\n", encoding="utf-8")
    runs = [subprocess.run([sys.executable, str(script)], capture_output=True, check=True, cwd=tmp_path,
                           env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": str(epoch)}).stdout
            for epoch in (0, 1_700_000_000)]  # a date in the environment does not reach the figure either
    assert runs[0] == runs[1] and runs[0].startswith(b"%PDF-")
    assert b"CreationDate" not in runs[0] and b"ModDate" not in runs[0]
    assert b"/Producer (solman with matplotlib)" in runs[0]


LAZY = '''
import sys
from solman import value

if sys.argv[1] == "early":
    import matplotlib.pyplot

@value
def drawn():
    import matplotlib.figure

    fig = matplotlib.figure.Figure()
    ax = fig.subplots()
    ax.plot([0, 1, 2], [2, 0, 1])
    ax.set_xlabel("imported late")
    return fig

sys.stdout.buffer.write(drawn().pdf)
'''


def test_a_figure_does_not_depend_on_when_matplotlib_was_imported_nor_on_a_matplotlibrc(tmp_path: Path):
    script = tmp_path / "lazy.py"
    script.write_text(LAZY, encoding="utf-8")
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    early, late = (subprocess.run([sys.executable, str(script), when], capture_output=True, check=True, cwd=tmp_path,
                                  env=env).stdout for when in ("early", "late"))
    (tmp_path / "matplotlibrc").write_text("axes.facecolor: red\nfont.size: 20\n", encoding="utf-8")
    with_rc = subprocess.run([sys.executable, str(script), "late"], capture_output=True, check=True, cwd=tmp_path,
                             env=env).stdout
    assert early == late == with_rc
    (tmp_path / "late.pdf").write_bytes(late)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "late.pdf")], capture_output=True, text=True, check=True).stdout
    assert "STIXGeneral" in fonts  # solman's style, though matplotlib was imported inside the value


def test_a_value_returning_a_figure_gives_its_pdf_and_closes_it(tmp_path: Path):
    import matplotlib
    import matplotlib.pyplot as plt

    (tmp_path / "curve.py").write_text(CURVE, encoding="utf-8")
    module = load_module(tmp_path / "curve.py", "solman_test_curve", tmp_path)
    before = dict(matplotlib.rcParams)
    result = module.loss_curve()
    assert isinstance(result, SavedFigure) and result.name == f"figures/{hashlib.sha256(result.pdf).hexdigest()[:16]}.pdf"
    assert result.figure.axes[0].get_xlabel() == "training steps"  # for the value's tests: the figure itself
    assert plt.get_fignums() == []  # closed: no pyplot state passes to the next value
    assert dict(matplotlib.rcParams) == before  # solman's style held only while the value ran
    text = subprocess.run(["pdftotext", "-", "-"], input=result.pdf, capture_output=True, check=True).stdout
    assert b"training steps" in text  # vector, with its words as text (TrueType fonts)


def test_a_value_draws_in_solmans_style_and_may_set_its_own(tmp_path: Path):
    import matplotlib
    import matplotlib.figure

    @value
    def styled():
        plain = matplotlib.figure.Figure()
        with matplotlib.rc_context({"axes.labelsize": 14}):
            own = matplotlib.figure.Figure()
            size = own.subplots().xaxis.label.get_size()
        return [plain.subplots().xaxis.label.get_size(), size, plain]

    plain_size, own_size, saved_figure = styled()
    assert (plain_size, own_size) == (STYLE["axes.labelsize"], 14)
    assert isinstance(saved_figure, SavedFigure)  # figures inside a list are saved too
    assert saved_figure.figure.get_facecolor()[3] == 0  # transparent, on a solution's tint
    (tmp_path / "plain.pdf").write_bytes(saved_figure.pdf)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "plain.pdf")], capture_output=True, text=True, check=True).stdout
    assert "STIXGeneral" in fonts and "TrueType" in fonts  # serif, and its words are text


# --- the cache keeps bytes; a cached figure is the fresh one --------------------------------------------

def test_the_cache_keeps_the_pdf_not_the_figure():
    fresh = saved_curve()
    again = pickle.loads(pickle.dumps(fresh))
    assert again == fresh and again.pdf == fresh.pdf and again.figure is None
    assert len(pickle.dumps(fresh)) < len(fresh.pdf) + 100  # the bytes and their class: no Figure object
    assert round_trips(fresh) and fingerprint(again) == fingerprint(fresh)
    assert fingerprint(saved_curve(2.0)) != fingerprint(fresh)  # a changed figure is a changed value


def test_a_figure_value_served_from_the_cache_is_the_fresh_one(project_dir: Path):
    (project_dir / "verify" / "demo.py").write_text(CURVE, encoding="utf-8")
    project = load_project(project_dir)
    chapter = project.chapter("demo")
    cache = ChapterCache(project, chapter)
    values = ChapterValues(project, chapter, cache)
    fresh = values["loss_curve"]()
    values.save()
    cached = ChapterValues(project, chapter, ChapterCache(project, chapter))["loss_curve"]
    assert type(cached).__name__ == "CachedValue"  # served without importing the module
    assert cached() == fresh and cached().pdf == fresh.pdf


# --- the filter, and errors at the author's line --------------------------------------------------------

def test_the_figure_filter_includes_the_pdf_by_its_hash():
    fig = saved_curve()
    assert FILTERS["figure"] is figure
    assert figure(fig, 0.8) == rf"\includegraphics[width=0.8\linewidth]{{{fig.name}}}"
    assert figure(fig) == rf"\includegraphics[width=1\linewidth]{{{fig.name}}}"


@pytest.mark.parametrize("width", [0, 1.5, -0.2, "8cm", True])
def test_the_width_is_a_share_of_the_line(width):
    with pytest.raises(FilterError, match="0 < width <= 1"):
        figure(saved_curve(), width)


def test_figure_of_a_number_and_a_figure_printed_as_a_number_are_refused():
    with pytest.raises(FilterError, match="not a float"):
        figure(0.5, 0.8)
    with pytest.raises(FilterError, match=r"\| figure\(width\)"):
        latex(saved_curve())
    with pytest.raises(FilterError, match=r"\| figure\(width\)"):
        FILTERS["fixed"](saved_curve(), 2)


def render(project_dir: Path, template: str, verify: str = CURVE + "\n@value\ndef rate():\n    return 0.25\n"):
    (project_dir / "chapters" / "demo.tex.j2").write_text(template, encoding="utf-8")
    (project_dir / "verify" / "demo.py").write_text(verify, encoding="utf-8")
    project = load_project(project_dir)
    chapter = project.chapter("demo")
    return render_chapter(project, chapter, load_values(project, chapter), "solutions")


def test_a_chapter_includes_a_figure_and_carries_its_file(project_dir: Path):
    rendered = render(project_dir, "\\chapter{Demo}\n\\begin{center}\n\\VAR{ loss_curve | figure(0.8) }\n\\end{center}\n")
    [name] = rendered.figures
    assert rf"\includegraphics[width=0.8\linewidth]{{{name}}}" in rendered.text
    assert rendered.figures[name].startswith(b"%PDF-")
    [use] = rendered.uses
    assert (use.value, use.filter, use.line, use.latex) == ("loss_curve", "figure(0.8)", 3,
                                                              rf"\includegraphics[width=0.8\linewidth]{{{name}}}")


@pytest.mark.parametrize("line, said", [
    (r"$\VAR{ loss_curve }$", "value 'loss_curve' with latex: the value is a figure"),
    (r"$\VAR{ loss_curve | fixed(2) }$", "value 'loss_curve' with fixed(2): the value is a figure"),
    (r"\VAR{ rate | figure(0.5) }", "value 'rate' with figure(0.5): figure() includes a figure"),
])
def test_a_misused_figure_is_an_error_at_the_template_line(project_dir: Path, line: str, said: str):
    with pytest.raises(ValueFailure) as caught:
        render(project_dir, f"\\chapter{{Demo}}\n{line}\n")
    assert said in caught.value.message
    assert str(caught.value.location) == "chapters/demo.tex.j2:2"
    assert "verify/demo.py" not in str(caught.value.location)


# --- the checks: display reads the figure back; sensitivity leaves it to the data's tests ----------------

def test_the_display_check_reads_back_which_figure_is_included():
    fig, other = saved_curve(), saved_curve(3.0)
    shown = figure(fig, 0.8)
    assert compare(fig, shown, "figure(0.8)") is None
    assert "the value's figure is" in compare(other, shown, "figure(0.8)")
    assert "not a figure" in compare(0.5, shown, "figure(0.8)")


def test_figures_are_not_perturbed():
    uses = [Use("curve", "k1", "curve", r"\includegraphics[width=1\linewidth]{figures/x.pdf}", "figure(1)", "h", None,
                "solution"),
            Use("rate", "k2", "rate", "0.25", "fixed(2)", "h", None, "solution"),
            Use("flag", "k3", "flag", None, "condition", "h", None, "solution")]
    assert [u.value for u in measured_prints(uses)] == ["rate"]


# --- templates/ subfolders are copied -------------------------------------------------------------------

def test_files_in_subfolders_of_templates_are_copied(project_dir: Path):
    logo = (project_dir / "templates" / "img" / "logo.pdf")
    logo.parent.mkdir(parents=True)
    logo.write_bytes(saved_curve().pdf)
    (project_dir / "templates" / "img" / "deeper").mkdir()
    (project_dir / "templates" / "img" / "deeper" / "notes.tex").write_text("notes\n", encoding="utf-8")
    copied = static_files(load_project(project_dir))
    assert copied["img/logo.pdf"] == logo.read_bytes()
    assert copied["img/deeper/notes.tex"] == b"notes\n"


# --- end to end: the fixture project with a figure ------------------------------------------------------

FIGURE_VALUE = '''

@value
def parabola_figure():
    """The curve of question 2, drawn by matplotlib."""
    import matplotlib.figure

    fig = matplotlib.figure.Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.plot(curve()[:, 0], curve()[:, 1], label="parabola")
    ax.set_xlabel("abscissa of the curve")
    ax.legend()
    return fig


def test_parabola_figure_plots_the_curve():
    line = parabola_figure().figure.axes[0].lines[0]
    assert np.allclose(line.get_ydata(), line.get_xdata() ** 2)
'''


@pytest.mark.tex
def test_a_figure_is_built_into_the_pdf_and_verified(project_dir: Path):
    from solman.build.pipeline import build
    from solman.checking.verification import verify
    from solman.latex.pdfs import pdf_text

    with open(project_dir / "verify" / "demo.py", "a", encoding="utf-8") as module:
        module.write(FIGURE_VALUE)
    edit(project_dir / "chapters" / "demo.tex.j2", "\\end{tikzpicture}\n\\end{center}\n",
         "\\end{tikzpicture}\n\\end{center}\n\\begin{center}\n\\VAR{ parabola_figure | figure(0.6) }\n\\end{center}\n")
    project = load_project(project_dir)
    build(project)
    [drawn] = (project_dir / "build" / "tex" / "figures").iterdir()
    assert drawn.name == f"{hashlib.sha256(drawn.read_bytes()).hexdigest()[:16]}.pdf"
    manual = project_dir / "build" / "manual.pdf"
    assert "abscissa of the curve" in pdf_text(manual)  # the figure's own words, inside the manual
    assert "abscissa of the curve" not in pdf_text(project_dir / "build" / "problems.pdf")  # a solution's figure
    fonts = subprocess.run(["pdffonts", str(manual)], capture_output=True, text=True, check=True).stdout
    assert "STIXGeneral" in fonts
    report = verify(load_project(project_dir))
    assert report.ok, [f.render() for f in report.failures]
    first = manual.read_bytes()

    shutil.rmtree(project_dir / "build" / "tex")  # the figure comes back from the cache: the same PDF
    for output in ("manual.pdf", "manifest.json"):
        (project_dir / "build" / output).unlink()
    build(load_project(project_dir))
    assert manual.read_bytes() == first

    edit(project_dir / "verify" / "demo.py", 'label="parabola"', 'label="parabola", color="black"')
    report = verify(load_project(project_dir))  # the figure changed: the PDFs are stale
    assert any("parabola_figure" in f.render() for f in report.failures), [f.render() for f in report.failures]
