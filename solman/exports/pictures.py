r"""The figures of exported questions as PNG images a learning platform shows.

A value's figure (``\VAR{ curve | figure(0.8) }``) is the PDF the build includes; a TikZ picture is
drawn by pdfLaTeX with the manual's own style (``solman.sty`` and its companions), all of a
chapter's pictures in one run, each cut to its size by the ``preview`` package, in the same
sandbox as the build. ``pdftoppm`` turns each page into a PNG. Images are named by the hash of
their source, and kept in ``build/export/.pictures`` so that the next export reuses them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from solman.exports.html import closing_brace
from solman.project.settings import Project
from solman.rendering.render import Rendered

RESOLUTION = 150  # pixels per inch: sharp on screens, small in a question bank
DEFINITIONS = re.compile(r"\\(?:providecommand|newcommand|renewcommand|tikzset|pgfplotsset|definecolor)\b")
PREAMBLE = r"""\documentclass{book}
\usepackage{solman}
\usepackage[active,tightpage]{preview}
\PreviewEnvironment{tikzpicture}
\setlength\PreviewBorder{2pt}
"""


class Pictures:
    """The images of one export: converted figures, and TikZ pictures waiting to be drawn."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.folder = project.build / "export" / ".pictures"
        self.files: dict[str, bytes] = {}
        self.pending: dict[str, dict[str, str]] = {}  # chapter preamble -> name -> TikZ source

    def name(self, kind: str, source: str, rendered: Rendered) -> str | None:
        """The file name of a figure (``graphics``: a file the chapter includes; ``tikz``: a picture)."""
        if kind == "graphics":
            pdf = rendered.figures.get(source) or rendered.figures.get(f"{source}.pdf")
            if pdf is None:
                return None
            name = f"{hashlib.sha256(pdf).hexdigest()[:16]}.png"
            if name not in self.files:
                self.files[name] = self.cached(name) or self.keep(name, png_pages(pdf, self.folder)[0])
            return name
        preamble = chapter_definitions(rendered.text)
        name = f"tikz-{hashlib.sha256((preamble + source).encode()).hexdigest()[:16]}.png"
        if name not in self.files:
            found = self.cached(name)
            if found is not None:
                self.files[name] = found
            else:
                self.pending.setdefault(preamble, {})[name] = source
        return name

    def cached(self, name: str) -> bytes | None:
        path = self.folder / name
        return path.read_bytes() if path.is_file() else None

    def keep(self, name: str, data: bytes) -> bytes:
        from solman.build.outputs import replace_atomically

        replace_atomically(self.folder / name, data)
        return data

    def draw(self, warnings: list[str]) -> None:
        """Draw the pending TikZ pictures, one pdfLaTeX run per chapter (several at once); a picture that
        fails is a warning."""
        from concurrent.futures import ThreadPoolExecutor

        groups = list(self.pending.items())
        with ThreadPoolExecutor(max_workers=max(1, min(len(groups), os.cpu_count() or 1))) as pool:
            drawn = list(pool.map(lambda job: self.draw_group(job[0], job[1], job[2]),
                                  [(index, preamble, pictures) for index, (preamble, pictures) in enumerate(groups)]))
        for (preamble, pictures), (pages, log) in zip(groups, drawn):
            names = list(pictures)
            if len(pages) != len(names):
                warnings.append(f"export: {len(names)} TikZ pictures could not be drawn as images (see {log})")
                continue
            for name, data in zip(names, pages):
                self.files[name] = self.keep(name, data)
        self.pending.clear()

    def draw_group(self, index: int, preamble: str, pictures: dict[str, str]) -> tuple[list[bytes], str]:
        """The pages of one run: ``pictures`` drawn with the chapter's ``preamble``; and its log's path."""
        from solman.latex.latexmk import run_tex
        from solman.rendering.sources import static_files

        work = self.folder / f"tex-{index}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        for name, data in static_files(self.project).items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_bytes(data)
        body = "\n".join(f"{source}\n\\clearpage" for source in pictures.values())
        (work / "pictures.tex").write_text(f"{PREAMBLE}{preamble}\n\\begin{{document}}\n{body}\n\\end{{document}}\n",
                                           encoding="utf-8")
        run = run_tex(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "pictures.tex"], work,
                      self.project.year, self.project.sandbox)
        pdf = work / "pictures.pdf"
        pages = png_pages(pdf.read_bytes(), work) if run.returncode == 0 and pdf.exists() else []
        log = self.project.relative(work / "pictures.log")
        if len(pages) == len(pictures):
            shutil.rmtree(work, ignore_errors=True)
        return pages, log


def chapter_definitions(text: str) -> str:
    r"""The chapter's own macros and TikZ styles (``\providecommand``, ``\tikzset`` ...), which its
    pictures may use, as preamble lines."""
    lines = []
    for match in DEFINITIONS.finditer(text):
        end = match.end() + (text.startswith("*", match.end()))
        for _ in range(3):  # \newcommand{\name}[1]{body}, \definecolor{name}{model}{value}
            while text.startswith(" ", end):
                end += 1
            close = text.find("]", end) if text.startswith("[", end) else \
                closing_brace(text, end) if text.startswith("{", end) else None
            if close is None or close < 0:
                break
            end = close + 1
        lines.append(text[match.start():end])
    return "\n".join(dict.fromkeys(lines))


def png_pages(pdf: bytes, folder: Path) -> list[bytes]:
    """Each page of ``pdf`` as a PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "pages.pdf"
    source.write_bytes(pdf)
    for old in folder.glob("page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", str(RESOLUTION), str(source), str(folder / "page")],
                   check=True, capture_output=True)
    pages = sorted(folder.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    data = [p.read_bytes() for p in pages]
    for path in [source, *pages]:
        path.unlink()
    return data
