"""The author's path: a new chapter, live rebuilds, verification and an Overleaf export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, edit

from solman.build.pipeline import build
from solman.errors import ConfigError
from solman.latex.pdfs import pdf_text
from solman.project.settings import load_project
from solman.exports.keys import write_keys
from solman.project.scaffold import init_project, new_chapter, registered
from solman.checking.verification import verify


@pytest.mark.parametrize("before, after", [
    ('[tool.solman]\ntitle = "T"\nchapters = ["a", "b"]\n', '[tool.solman]\ntitle = "T"\nchapters = ["a", "b", "new"]\n'),
    ('[tool.solman]\nchapters = []\n', '[tool.solman]\nchapters = ["new"]\n'),
    ('[tool.solman]\nchapters = [\n    "a",\n    "b",\n]\n[tool.other]\nx = 1\n',
     '[tool.solman]\nchapters = [\n    "a",\n    "b",\n    "new",\n]\n[tool.other]\nx = 1\n'),
    ('[tool.solman]\nchapters = [\n  "a"\n]  # the order of the book\n',
     '[tool.solman]\nchapters = [\n  "a",\n    "new",\n]  # the order of the book\n'),
    ('[tool.solman]\ntitle = "T"\n', '[tool.solman]\nchapters = ["new"]\ntitle = "T"\n'),
    ('[project]\nname = "x"\n', '[project]\nname = "x"\n\n[tool.solman]\nchapters = ["new"]\n'),
])
def test_registering_keeps_the_authors_formatting(before: str, after: str):
    assert registered(before, "new") == after


def test_new_refuses_bad_ids_duplicates_and_overwriting(project_dir: Path):
    with pytest.raises(ConfigError, match="not valid"):
        new_chapter(project_dir, "Bad-Id", "Title")
    with pytest.raises(ConfigError, match="already in the project"):
        new_chapter(project_dir, "demo", "Title")
    (project_dir / "verify" / "taken.py").write_text("")
    before = (project_dir / "pyproject.toml").read_text()
    with pytest.raises(ConfigError, match="verify/taken.py already exists; not overwriting it"):
        new_chapter(project_dir, "taken", "Title")
    assert (project_dir / "verify" / "taken.py").read_text() == ""
    assert (project_dir / "pyproject.toml").read_text() == before
    assert not (project_dir / "chapters" / "taken.tex.j2").exists()


def test_a_new_project_has_an_answer_key_with_no_question_left_open(tmp_path: Path):
    init_project(tmp_path / "course", "Statistics")
    [path] = write_keys(load_project(tmp_path / "course"))
    [question] = json.loads(path.read_text())["questions"]
    assert question["answer"] == {"kind": "number", "value": 55, "exact": "55", "tolerance": 0.0, "latex": "55"}


@pytest.mark.tex
def test_the_tutorial_from_a_new_chapter_to_an_export(tmp_path: Path):
    """docs/authors-guide.md, followed step by step."""
    # 0. a course of one's own; 1. a new chapter builds and verifies at once
    project_dir = tmp_path / "my-course"
    init_project(project_dir, "Machine Learning, exams 2025", "A. Teacher")
    new_chapter(project_dir, "ml_final", "Machine Learning & Friends, final exam")
    project = load_project(project_dir)
    build(project, chapter="ml_final")
    report = verify(load_project(project_dir))
    assert report.ok or all("stale" in f.message or "cannot be verified" in f.message for f in report.failures)

    # 2. a value, its test, a figure and an erratum, as the guide writes them
    with open(project_dir / "verify" / "ml_final.py", "a") as module:
        module.write(GUIDE_VALUES)
    edit(project_dir / "chapters" / "ml_final.tex.j2", "\\BLOCK{ endcall }\n\\BLOCK{ endcall }\n",
         "\\BLOCK{ endcall }\n\\BLOCK{ endcall }\n" + GUIDE_QUESTION)
    build(load_project(project_dir))
    report = verify(load_project(project_dir))
    assert report.ok, "\n".join(f.render() for f in report.failures)
    text = pdf_text(project_dir / "build" / "chapters" / "ml_final-solutions.pdf")
    assert "0.693" in text and "Erratum" in text and "Machine Learning & Friends" in text
    # its answer key: the example question's answer and the guide's, as the guide shows it
    [key] = [json.loads(path.read_text()) for path in write_keys(load_project(project_dir))
             if path.name == "ml_final.json"]
    answers = {question["id"]: question["answer"] for question in key["questions"]}
    assert answers["1b"] == {"kind": "number", "value": 0.6931471805599453, "exact": None, "tolerance": 0.0005,
                             "latex": "0.693"}
    assert answers["1a"]["value"] == 55

    # 3. the exports (the chapter, the whole manual) compile on their own, with latexmk alone
    for selection, name in ((["--chapter", "ml_final"], "ml_final-solutions"), ([], "manual-solutions")):
        archive = subprocess.run([sys.executable, "-m", "invoke", "export", *selection], cwd=REPO,
                                 env=dict(os.environ, SOLMAN_PROJECT=str(project_dir)), capture_output=True, text=True)
        assert archive.returncode == 0, archive.stderr
        unpacked = tmp_path / "overleaf"
        with zipfile.ZipFile(project_dir / archive.stdout.strip()) as bundle:
            names = bundle.namelist()
            bundle.extractall(unpacked)
            # solman's marker for its preloaded preamble (solman.latex.latexmk) is not for people
            assert not [n for n in names if b"endofdump" in bundle.read(n)]
        folder = unpacked / name
        assert {f"{name}/main.tex", f"{name}/latexmkrc", f"{name}/solman.sty",
                f"{name}/chapters/ml_final-solutions.tex"} <= set(names), names
        assert not any(n.endswith((".j2", ".py")) for n in names)
        assert any(n.startswith(f"{name}/figures/") and n.endswith(".pdf") for n in names), names  # the plot
        compiled = subprocess.run(["latexmk", "-interaction=nonstopmode"], cwd=folder, capture_output=True,
                                  text=True, env={k: v for k, v in os.environ.items()
                                                  if not k.startswith(("openin", "openout"))})
        assert compiled.returncode == 0, compiled.stdout[-2000:]
        assert "0.693" in pdf_text(folder / "main.pdf")


GUIDE_VALUES = '''

import math

from solman import tex


@value
def log_two():
    """ln 2, the entropy of a fair coin in nats."""
    return math.log(2)


@value
def entropy_curve():
    """Points (p, H(p)) of the binary entropy, for the figure."""
    return [(p / 20, -(p / 20) * math.log(p / 20) - (1 - p / 20) * math.log(1 - p / 20)) for p in range(1, 20)]


import matplotlib.figure


@value
def entropy_plot():
    """The binary entropy, drawn by matplotlib."""
    fig = matplotlib.figure.Figure(figsize=(4, 2.4))
    ax = fig.subplots()
    ax.plot(*zip(*entropy_curve()))
    ax.set_xlabel("$p$")
    ax.set_ylabel("$H(p)$")
    return fig


def test_the_plot_draws_the_entropy_curve():
    line = entropy_plot().figure.axes[0].lines[0]
    assert list(zip(line.get_xdata(), line.get_ydata())) == entropy_curve()


def test_log_two_is_the_entropy_of_a_fair_coin():
    assert abs(log_two() - (-2 * 0.5 * math.log(0.5))) < 1e-15


def test_the_curve_peaks_at_one_half_with_height_log_two():
    p, h = max(entropy_curve(), key=lambda point: point[1])
    assert p == 0.5 and abs(h - log_two()) < 1e-12
'''

GUIDE_QUESTION = r"""
\BLOCK{ call question("1b", points=1, answer=log_two) }
What is the largest entropy of a coin, in nats?
\BLOCK{ call solution() }
It is $\ln 2 = \VAR{ log_two | fixed(3) }$, for a fair coin:
\begin{center}
\begin{tikzpicture}
\begin{axis}[width=0.6\textwidth, height=0.4\textwidth, xlabel=$p$, ylabel=$H(p)$]
\addplot[thick, solaccent] coordinates {\VAR{ entropy_curve | coords(3) }};
\end{axis}
\end{tikzpicture}
\end{center}
\begin{center}
\VAR{ entropy_plot | figure(0.7) }
\end{center}
\begin{erratum}[base of the logarithm]
The source writes $\log_2 2$ for the same quantity: that is the entropy in bits.
\end{erratum}
\BLOCK{ endcall }
\BLOCK{ endcall }
"""


@pytest.mark.tex
def test_watch_rebuilds_on_save_reports_errors_and_stops_on_ctrl_c(project_dir: Path):
    environment = dict(os.environ, SOLMAN_PROJECT=str(project_dir))
    process = subprocess.Popen([sys.executable, "-m", "invoke", "watch", "--chapter", "demo", "--edition", "problems"],
                               cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    lines: list[str] = []

    def wait_for(text: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if text in line:
                return
        pytest.fail(f"no {text!r} in: {''.join(lines)}")

    try:
        wait_for("watching")
        pdf = project_dir / "build" / "chapters" / "demo-problems.pdf"
        edit(project_dir / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half of one?")
        wait_for("rebuilt build/chapters/demo-problems.pdf")
        assert "one half of one" in pdf_text(pdf)
        good = pdf.read_bytes()
        edit(project_dir / "chapters" / "demo.tex.j2", r"$A = \VAR{ matrix }$", r"$A = \VAR{ matrixx }$")
        wait_for("watching on")
        assert any("chapters/demo.tex.j2:8: template: 'matrixx' is undefined" in line for line in lines)
        assert pdf.read_bytes() == good
        edit(project_dir / "chapters" / "demo.tex.j2", r"\VAR{ matrixx }", r"\VAR{ matrix }")
        wait_for("up to date")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert "stopped watching" in rest and process.returncode == 0
