"""LaTeX as the HTML a learning platform shows: text as HTML, formulas as TeX for MathJax, figures as files."""

from __future__ import annotations

import pytest

from solman.exports.html import Converter, definitions, expand, float_labels


@pytest.mark.parametrize(("latex", "html"), [
    (r"A \textbf{bold} and \emph{new} word.", "<p>A <strong>bold</strong> and <em>new</em> word.</p>"),
    (r"Inline $x < y$ stays TeX.", r"<p>Inline \(x &lt; y\) stays TeX.</p>"),
    ("One.\n\nTwo.", "<p>One.</p><p>Two.</p>"),
    (r"\[ a \allowbreak b \]", r"<p>\[ a b \]</p>"),
    (r"$\begingroup\renewcommand*{\arraystretch}{1.6}\begin{bmatrix}1\\2\end{bmatrix}\endgroup$",
     r"<p>\(\begin{bmatrix}1\\2\end{bmatrix}\)</p>"),
    (r"\begin{align*} a &= b \end{align*}", r"<p>\begin{align*} a &amp;= b \end{align*}</p>"),
    (r"\begin{itemize}\item one \item two\end{itemize}", "<ul><li>one</li><li>two</li></ul>"),
    (r"\begin{tabular}{ll}\toprule a & b \\ \midrule 1 & 2 \\ \bottomrule\end{tabular}",
     ('<table border="1" style="border-collapse:collapse"><tbody><tr><td>a</td><td>b</td></tr>'
      "<tr><td>1</td><td>2</td></tr></tbody></table>")),
    (r"``quoted'' -- and~\lit{3}", "<p>“quoted” – and&#160;3</p>"),
    (r"Wrong.\corrected{the source says 2}", "<p>Wrong. (corrected: the source says 2)</p>"),
])
def test_latex_becomes_html_with_tex_formulas(latex: str, html: str):
    converter = Converter()
    assert converter.html(latex) == html
    assert converter.warnings == []


def test_the_chapter_macros_are_expanded_in_formulas():
    macros = definitions(r"\providecommand{\ethE}{\mathbf{E}}" "\n" r"\newcommand{\pair}[2]{(#1, #2)}")
    assert expand(r"\ethE[x] = \pair{a}{b}", macros) == r"{\mathbf{E}}[x] = {(a, b)}"
    assert Converter(macros).html(r"$\ethE[x]$") == r"<p>\({\mathbf{E}}[x]\)</p>"


def test_figures_become_files_and_an_unknown_environment_is_a_warning():
    drawn = []
    converter = Converter(figure=lambda kind, source: drawn.append((kind, source)) or "a.png")
    html = converter.html("\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}\n\n"
                          "\\includegraphics[width=0.5\\linewidth]{figures/ab.pdf}")
    assert html.count('<img src="@@PLUGINFILE@@/a.png"') == 2
    assert [kind for kind, _ in drawn] == ["tikz", "graphics"] and drawn[1][1] == "figures/ab.pdf"
    assert converter.html(r"\begin{weird}text\end{weird}") == "<p>text</p>"
    assert converter.warnings == ["environment weird is shown as its text: a learning platform cannot show it"]
    lost = Converter()
    lost.html(r"\begin{tikzpicture}\end{tikzpicture}")
    assert lost.warnings == ["a TikZ picture could not be exported as an image"]


def test_a_reference_to_a_figure_or_table_is_its_number_in_the_pdf():
    latex = (r"\begin{figure}\caption{One}\label{fig:a}\end{figure}"
             r"\begin{table}\caption{Two}\label{tab:b}\end{table}"
             r"\captionof{figure}{Three}\label{fig:c}")
    labels = float_labels(latex, 3)
    assert labels == {"fig:a": "3.1", "tab:b": "3.1", "fig:c": "3.2"}
    assert Converter(labels=labels).html(r"Figure~\ref{fig:c} and Table~\ref{tab:b}") == \
        "<p>Figure&#160;3.2 and Table&#160;3.1</p>"
