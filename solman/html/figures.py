r"""A chapter's pictures as SVG, for its HTML page.

LaTeXML cannot load TikZ and pgfplots in reasonable time (pgfplots alone takes minutes), and its
own picture driver draws them differently from the PDF. So the pictures are drawn by pdfLaTeX
itself, exactly as in the PDF: the chapter is compiled once with the ``preview`` package active and
every outermost ``tikzpicture`` wrapped in a ``preview`` environment, which makes one tightly cropped
page per picture and discards the rest; poppler's ``pdftocairo`` turns each page into an SVG. A
graphic the chapter includes as a PDF (a matplotlib figure) is converted the same way. The text
LaTeXML reads names the SVGs in place of the pictures (``\solmanpicture{svg/...}``, which the page
makes an ``<img>``; LaTeXML itself would hand SVGs to ImageMagick), line for line, so that its line
numbers are the chapter's.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from solman.errors import LatexError, Location

PICTURE = re.compile(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.DOTALL)
GRAPHIC = re.compile(r"\\includegraphics(\[[^\]]*\])?\{([^}]*\.pdf)\}")
PREVIEW = r"\usepackage[active,tightpage]{preview}\setlength\PreviewBorder{2pt}"


def pictures(text: str) -> list[str]:
    """The outermost ``tikzpicture`` environments of a chapter, in order."""
    return PICTURE.findall(text)


def wrapped_in_previews(text: str) -> str:
    """The chapter with every picture in a ``preview`` environment (one page each)."""
    return PICTURE.sub(lambda m: r"\begin{preview}" + m.group(0) + r"\end{preview}", text)


def named_svgs(text: str, names: list[str]) -> str:
    """The chapter with its pictures replaced by the SVGs ``names`` (in order) and its PDF graphics by
    their SVGs; the same line count, so LaTeXML's line numbers are the chapter's."""
    found = iter(names)

    def picture(match: re.Match) -> str:
        return rf"\solmanpicture{{{next(found)}}}" + "\n" * match.group(0).count("\n")

    text = PICTURE.sub(picture, text)
    return GRAPHIC.sub(lambda m: rf"\solmanpicture{{{m.group(2)[:-4]}.svg}}", text)


def pdf_graphics(text: str) -> list[str]:
    """The PDF files a chapter includes (relative to build/tex)."""
    return [m.group(2) for m in GRAPHIC.finditer(text)]


def to_svg(pdf: Path, page: int, svg: Path) -> None:
    """One page of ``pdf`` as ``svg`` (pdftocairo: text as outlines, the look of the PDF)."""
    result = subprocess.run(["pdftocairo", "-svg", "-f", str(page), "-l", str(page), str(pdf), str(svg)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0 or not svg.exists():
        raise LatexError(f"pdftocairo could not convert page {page} of {pdf.name} to SVG",
                         details=[result.stderr.strip()[-400:]])


def draw_pictures(work: Path, shell: str, chapter: str, year: int, sandboxed: bool, root: Path) -> list[str]:
    """Draw the pictures of ``chapter`` (a .tex under ``work``, read by the shell ``shell``) as SVGs under
    ``work/svg``; return their names relative to ``work``, in the chapter's order."""
    from solman.latex.latexmk import run_tex

    source = work / f"{chapter}.tex"
    text = source.read_text(encoding="utf-8")
    found = pictures(text)
    names = [f"svg/{Path(chapter).name}-{n}.svg" for n in range(1, len(found) + 1)]
    (work / "svg").mkdir(exist_ok=True)
    for graphic in pdf_graphics(text):
        to_svg(work / graphic, 1, work / f"{graphic[:-4]}.svg")
    if not found:
        return names
    (work / f"{chapter}-pictures.tex").write_text(wrapped_in_previews(text), encoding="utf-8")
    shell_text = (work / f"{shell}.tex").read_text(encoding="utf-8")
    shell_text = shell_text.replace(r"\usepackage{solman}", r"\usepackage{solman}" + PREVIEW, 1)
    shell_text = shell_text.replace(rf"\input{{{chapter}}}", rf"\input{{{chapter}-pictures}}")
    (work / f"{shell}-pictures.tex").write_text(shell_text, encoding="utf-8")
    done = run_tex(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
                    f"{shell}-pictures.tex"], work, year, sandboxed)
    pdf = work / f"{shell}-pictures.pdf"
    if done.returncode != 0 or not pdf.exists():
        raise LatexError(f"pdfLaTeX could not draw the pictures of {chapter} for the HTML edition",
                         location=Location.of(work / f"{shell}-pictures.log", None, root),
                         details=[done.stdout.strip()[-600:]])
    pages = page_count(pdf)
    if pages != len(found):
        raise LatexError(f"drawing the {len(found)} pictures of {chapter} for the HTML edition made {pages} pages",
                         location=Location.of(source, None, root),
                         hint="a tikzpicture inside another, or inside a macro, is not drawn on its own page")
    for number, name in enumerate(names, start=1):
        to_svg(pdf, number, work / name)
    return names


def page_count(pdf: Path) -> int:
    from solman.latex.pdfs import page_count as count

    return count(pdf)
