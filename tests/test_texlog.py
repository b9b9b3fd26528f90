"""The LaTeX log parser: the stopping error with its context, and located warnings."""

from pathlib import Path

from solman.latex.texlog import parse_log

LOG = r"""This is pdfTeX, Version 3.141592653-2.6-1.40.24 (TeX Live 2022/Debian) (preloaded format=pdflatex)
(./manual.tex
LaTeX2e <2022-11-01> patch level 1
(/usr/share/texlive/texmf-dist/tex/latex/base/book.cls
Document Class: book 2022/07/02 v1.4n Standard LaTeX document class
(/usr/share/texlive/texmf-dist/tex/latex/base/bk11.clo))
(./chapters/one.tex
Overfull \hbox (12.5pt too wide) in paragraph at lines 7--9
[]\T1/ppl/m/n/10.95 (+20) some (text) that did not fit
 []

LaTeX Warning: Reference `fig:x' on page 1 undefined on input line 12.

Underfull \hbox (badness 10000) in paragraph at lines 14--14
[]

Package hyperref Warning: Token not allowed in a PDF string (Unicode):
(hyperref)                removing `\quad' on input line 20.

) (./chapters/two.tex
Overfull \hbox (0.3pt too wide) in paragraph at lines 3--3
[]
 []

./chapters/two.tex:5: Undefined control sequence.
l.5 What is \halfof
                    one?
Here is how much of TeX's memory you used:
"""


def parsed(tmp_path: Path):
    for name in ("manual.tex", "chapters/one.tex", "chapters/two.tex"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    return parse_log(LOG, tmp_path)


def test_the_error_with_its_file_line_and_context(tmp_path: Path):
    errors = [e for e in parsed(tmp_path) if e.kind == "error"]
    assert len(errors) == 1
    assert (errors[0].file, errors[0].line, errors[0].message) == ("chapters/two.tex", 5, "Undefined control sequence.")
    assert errors[0].context == r"What is \halfof one?"


def test_warnings_are_attributed_to_the_file_being_read(tmp_path: Path):
    entries = parsed(tmp_path)
    overfull = [(e.file, e.line, e.amount) for e in entries if e.kind == "overfull"]
    assert overfull == [("chapters/one.tex", 7, 12.5), ("chapters/two.tex", 3, 0.3)]
    references = [(e.file, e.line, e.message) for e in entries if e.kind == "undefined-reference"]
    assert references == [("chapters/one.tex", 12, "Reference 'fig:x' undefined")]
    warnings = [(e.file, e.line) for e in entries if e.kind == "warning"]
    assert warnings == [("chapters/one.tex", 20)]
    assert "removing `\\quad'" in [e for e in entries if e.kind == "warning"][0].message


def test_an_empty_log_has_no_entries(tmp_path: Path):
    assert parse_log("", tmp_path) == []


PDFTEX_LOG = r"""(./manual.tex
(./chapters/one.tex
pdfTeX warning (ext4): destination with the same identifier (name{equation.5.0.1}) has been already used, duplicate ignored
<to be read again> 
                   \relax 
l.292 \begin{equation}
                      
LaTeX Font Warning: Font shape `T1/lmtt/bx/n' undefined
(Font)              using `T1/lmtt/m/n' instead on input line 31.

) [3]
pdfTeX warning (dest): name{q:demo:9z} has been referenced but does not exist, replaced by a fixed one

)
"""


def test_pdftex_warnings_and_font_substitutions_are_seen_and_located(tmp_path: Path):
    for name in ("manual.tex", "chapters/one.tex"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    entries = [(e.kind, e.file, e.line, e.message) for e in parse_log(PDFTEX_LOG, tmp_path)]
    assert entries == [
        ("pdftex", "chapters/one.tex", 292,
         "destination with the same identifier (name{equation.5.0.1}) has been already used, duplicate ignored"),
        ("font", "chapters/one.tex", 31, "Font shape `T1/lmtt/bx/n' undefined using `T1/lmtt/m/n' instead on input line 31."),
        ("pdftex", None, None, "name{q:demo:9z} has been referenced but does not exist, replaced by a fixed one"),
    ]


def test_a_pdftex_fatal_error_is_placed_at_the_line_naming_its_file(tmp_path: Path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "one.tex").write_text("First.\nsee \\pdfximage{/etc/x.png}\\pdfrefximage\n")
    log = ("(./chapters/one.tex\n"
           "!pdfTeX error: pdflatex (file /etc/x.png): cannot find image file\n"
           " ==> Fatal error occurred, no output PDF file produced!\n")
    errors = [e for e in parse_log(log, tmp_path) if e.kind == "error"]
    assert [(e.file, e.line, e.message) for e in errors] == [
        ("chapters/one.tex", 2, "pdfTeX error: cannot find image file")]
    log = "(./chapters/one.tex\n!pdfTeX error: pdflatex: cannot find image file /etc/x.png\n"
    assert [(e.file, e.line) for e in parse_log(log, tmp_path)] == [("chapters/one.tex", 2)]
