r"""A chapter's LaTeX as the HTML a learning platform shows: text as HTML, formulas as TeX.

Moodle's MathJax filter, Canvas, ILIAS and OpenOLAT typeset TeX between ``\( \)`` and ``\[ \]``
(and ``\begin{align*}`` ...), so formulas are kept as the manual prints them, with the chapter's own
macros (``\providecommand{\ethE}{\mathbf{E}}``) expanded and the print layout's commands removed
(``\allowbreak``, the ``\arraystretch`` group around a matrix): MathJax knows neither. The text
around them becomes HTML, table-driven: bold, italics, lists, tables, centring, captions. Figures
become image files, named by the ``figure`` function the caller passes (a value's figure by its
PDF, a TikZ picture by its source); anything else unknown keeps its text, and an environment solman
cannot show is reported as a warning, never dropped silently.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pylatexenc import latexwalker
from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.macrospec import EnvironmentSpec, MacroSpec, std_environment

# text macros: (opening tag, closing tag) around the converted argument
STYLES = {"textbf": ("<strong>", "</strong>"), "emph": ("<em>", "</em>"), "textit": ("<em>", "</em>"),
          "texttt": ("<code>", "</code>"), "underline": ("<u>", "</u>"), "textsc": ("", ""), "textrm": ("", ""),
          "textsf": ("", ""), "mbox": ("", ""), "text": ("", ""), "lit": ("", ""), "solmancode": ("<code>", "</code>")}
# macros that print (part of) their last argument as it is
LAST_ARGUMENT = {"hyperref", "seequestion", "href"}
# layout macros without a counterpart on a web page
DROPPED = {"label", "pageref", "centering", "raggedright", "raggedleft", "noindent", "small", "footnotesize",
           "scriptsize", "tiny", "normalsize", "large", "Large", "medskip", "smallskip", "bigskip", "clearpage",
           "newpage", "hfill", "vfill", "vspace", "hspace", "setlength", "providecommand", "newcommand",
           "renewcommand", "allowbreak", "begingroup", "endgroup", "color", "toprule", "midrule", "bottomrule",
           "cmidrule", "hline", "cline", "arraybackslash", "nopagebreak", "pagebreak", "linebreak", "index",
           "phantomsection", "addcontentsline", "tabcolsep", "arraystretch", "iftregtablesep", "protect",
           "relax", "strut", "leavevmode", "problem", "source"}
HEADINGS = {"section": "h3", "subsection": "h4", "subsubsection": "h5", "paragraph": "h6"}
BREAKS = {"\\": "<br/>", "newline": "<br/>", "par": "\n\n"}
BLOCKS = {"center": '<div style="text-align:center">', "flushleft": "<div>", "flushright": '<div style="text-align:right">',
          "minipage": "<div>", "figure": '<div style="text-align:center">', "quote": "<blockquote>",
          "quotation": "<blockquote>", "solutionfigure": '<div style="text-align:center">', "erratum": '<div>',
          "statement": "<div>", "table": '<div style="text-align:center">'}
CLOSING = {"<blockquote>": "</blockquote>"}
LISTS = {"itemize": "ul", "enumerate": "ol", "options": "ol", "description": "ul"}
TABLES = {"tabular", "tabularx", "tabular*", "longtable"}
MATH_ENVIRONMENTS = {"equation", "equation*", "align", "align*", "gather", "gather*", "multline", "multline*",
                     "flalign", "flalign*", "alignat", "alignat*", "eqnarray", "eqnarray*", "displaymath", "math"}
PICTURES = {"tikzpicture"}  # drawn, as a whole, by the figure function
# print-layout commands in formulas that MathJax does not know
MATH_LAYOUT = re.compile(r"\\begingroup\\renewcommand\*?\{\\arraystretch\}\{[\d.]+\}|\\endgroup|\\allowbreak\b ?")
DEFINITION = re.compile(r"\\(?:provide|new|renew)command\*?\s*\{?\\([A-Za-z]+)\}?\s*(?:\[(\d)\])?\s*\{")
PARAGRAPH = re.compile(r"\n\s*\n")
BLOCK_START = re.compile(r"\s*<(?:div|table|ul|ol|blockquote|p|h\d)[ >]")


@dataclass
class Definition:
    """A chapter's macro: ``\\providecommand{\\name}[arguments]{body}``."""

    arguments: int
    body: str


def definitions(latex: str) -> dict[str, Definition]:
    """The macros a chapter defines with ``\\providecommand``, ``\\newcommand`` or ``\\renewcommand``."""
    found = {}
    for match in DEFINITION.finditer(latex):
        end = closing_brace(latex, match.end() - 1)
        if end is not None and match[1] not in ("arraystretch",):
            found[match[1]] = Definition(int(match[2] or 0), latex[match.end():end])
    return found


FLOAT_TOKENS = re.compile(r"\\begin\{(?P<float>figure|table)\*?\}|\\caption(?:of\{(?P<of>figure|table)\})?\s*(?:\[[^\]]*\])?\{"
                          r"|\\label\{(?P<label>[^}]*)\}")


def float_labels(latex: str, chapter: int) -> dict[str, str]:
    """The number LaTeX gives each labelled figure and table of chapter ``chapter`` ("3.2"), for ``\\ref``."""
    counters = {"figure": 0, "table": 0}
    current, last, labels = "figure", None, {}
    for match in FLOAT_TOKENS.finditer(latex):
        if match["float"]:
            current = match["float"]
        elif match["label"] is not None:
            if last is not None:
                labels[match["label"]] = last
        else:
            kind = match["of"] or current
            counters[kind] += 1
            last = f"{chapter}.{counters[kind]}"
    return labels


def closing_brace(text: str, at: int) -> int | None:
    """The index of the brace that closes the one at ``at``, or None."""
    depth = 0
    index = at
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def expand(tex: str, macros: dict[str, Definition], depth: int = 0) -> str:
    """``tex`` with the chapter's macros replaced by their bodies (arguments substituted)."""
    if not macros or depth > 8:
        return tex
    pattern = re.compile(r"\\(" + "|".join(sorted(map(re.escape, macros), key=len, reverse=True)) + r")(?![A-Za-z])")
    out, at = [], 0
    changed = False
    for match in pattern.finditer(tex):
        if match.start() < at:
            continue
        definition = macros[match[1]]
        body, end = definition.body, match.end()
        for number in range(1, definition.arguments + 1):
            while end < len(tex) and tex[end].isspace():
                end += 1
            if end < len(tex) and tex[end] == "{":
                close = closing_brace(tex, end)
                if close is None:
                    break
                argument, end = tex[end + 1:close], close + 1
            else:
                argument, end = tex[end:end + 1], end + 1
            body = body.replace(f"#{number}", argument)
        out.append(tex[at:match.start()] + "{" + body + "}")
        at = end
        changed = True
    out.append(tex[at:])
    result = "".join(out)
    return expand(result, macros, depth + 1) if changed else result


def context_db():
    """pylatexenc's macros, with solman's and the manual's own arguments."""
    db = latexwalker.get_default_latex_context_db()
    db.add_context_category("solman", prepend=True, macros=[
        MacroSpec("lit", "{"), MacroSpec("corrected", "{"), MacroSpec("seequestion", "{{"),
        MacroSpec("hyperref", "[{"), MacroSpec("captionof", "{{"), MacroSpec("caption", "[{"),
        MacroSpec("multicolumn", "{{{"), MacroSpec("cmidrule", "{"), MacroSpec("solmancode", "{"),
        MacroSpec("problem", "[{{"), MacroSpec("source", "{"), MacroSpec("color", "{"), MacroSpec("tag", "{"),
        MacroSpec("includegraphics", "[{"), MacroSpec("ref", "{"), MacroSpec("eqref", "{"), MacroSpec("href", "{{"), MacroSpec("url", "{"),
        MacroSpec("setlength", "{{"), MacroSpec("hspace", "*{"), MacroSpec("vspace", "*{"),
        MacroSpec("providecommand", "*{[{"), MacroSpec("newcommand", "*{[{"), MacroSpec("renewcommand", "*{[{"),
    ], environments=[
        EnvironmentSpec("statement", "["), EnvironmentSpec("solution", "{"), EnvironmentSpec("withspace", "{{"),
        EnvironmentSpec("question", "{{{"), EnvironmentSpec("erratum", "["), EnvironmentSpec("minipage", "[{"),
        EnvironmentSpec("tabularx", "{{"), std_environment("tabular", "{"), EnvironmentSpec("options", ""),
        EnvironmentSpec("tikzpicture", "["),
    ])
    return db


CONTEXT = context_db()


@dataclass
class Converter:
    """Converts the LaTeX of one chapter's questions to HTML; collects its warnings."""

    macros: dict[str, Definition] = field(default_factory=dict)
    figure: Callable[[str, str], str | None] = lambda kind, source: None  # ("graphics"|"tikz", source) -> file
    warnings: list[str] = field(default_factory=list)
    words: dict[str, str] = field(default_factory=lambda: {"corrected": "corrected", "erratum": "Erratum"})
    labels: dict[str, str] = field(default_factory=dict)  # \label -> its number ("2.1"), for \ref

    def html(self, latex: str) -> str:
        """``latex`` (a statement, an option, a solution) as HTML paragraphs."""
        nodes = parse(latex)
        return paragraphs(self.nodes(nodes)).strip()

    def inline(self, latex: str) -> str:
        """``latex`` as HTML without paragraphs (an option, a feedback line)."""
        return self.nodes(parse(latex)).strip().replace("\n\n", "<br/>")

    def math(self, latex: str) -> str:
        """A formula's TeX as MathJax reads it."""
        return html.escape(expand(MATH_LAYOUT.sub("", latex), self.macros), quote=False)

    def nodes(self, nodes) -> str:
        return "".join(self.node(n) for n in nodes or [])

    def node(self, node) -> str:
        if node is None:
            return ""
        if node.isNodeType(latexwalker.LatexCharsNode):
            return chars(node.chars)
        if node.isNodeType(latexwalker.LatexCommentNode):
            return "\n" if node.comment_post_space.count("\n") > 1 else ""
        if node.isNodeType(latexwalker.LatexGroupNode):
            return self.nodes(node.nodelist)
        if node.isNodeType(latexwalker.LatexMathNode):
            inner = "".join(n.latex_verbatim() for n in node.nodelist)
            if node.displaytype == "display":
                return f"\n\\[{self.math(inner)}\\]\n"
            return f"\\({self.math(inner)}\\)"
        if node.isNodeType(latexwalker.LatexSpecialsNode):
            return {"~": "&#160;", "--": "–", "---": "—", "``": "“", "''": "”", "`": "‘", "'": "’",
                    "&": " "}.get(node.specials_chars, html.escape(node.specials_chars))
        if node.isNodeType(latexwalker.LatexMacroNode):
            return self.macro(node)
        if node.isNodeType(latexwalker.LatexEnvironmentNode):
            return self.environment(node)
        return html.escape(node.latex_verbatim())

    def arguments(self, node) -> list:
        return [a for a in (node.nodeargd.argnlist if node.nodeargd else []) if a is not None]

    def text_of(self, argument) -> str:
        return "".join(n.latex_verbatim() for n in argument.nodelist) if hasattr(argument, "nodelist") \
            else argument.latex_verbatim()

    def macro(self, node) -> str:
        name = node.macroname
        arguments = self.arguments(node)
        post = " " if node.macro_post_space and name not in STYLES else ""
        if name in self.macros:
            return self.nodes(parse(expand(node.latex_verbatim(), self.macros))) + post
        if name in STYLES:
            opening, closing = STYLES[name]
            return opening + "".join(self.node(a) for a in arguments[-1:]) + closing
        if name in LAST_ARGUMENT:
            return "".join(self.node(a) for a in arguments[-1:])
        if name in BREAKS:
            return BREAKS[name]
        if name in DROPPED:
            return ""
        if name in ("corrected", "footnote"):
            head = f"{self.words['corrected']}: " if name == "corrected" else ""
            return f" ({head}{self.nodes(arguments[-1].nodelist) if arguments else ''})"
        if name in ("caption", "captionof"):
            return f"\n\n<p><em>{self.node(arguments[-1]) if arguments else ''}</em></p>\n\n"
        if name in HEADINGS:
            return f"\n\n<{HEADINGS[name]}>{self.node(arguments[-1]) if arguments else ''}</{HEADINGS[name]}>\n\n"
        if name in ("ref", "eqref"):
            number = self.labels.get(self.text_of(arguments[-1]).strip(), "") if arguments else ""
            return f"({number})" if name == "eqref" and number else number
        if name == "multicolumn":
            return self.node(arguments[-1]) if arguments else ""
        if name == "url":
            target = self.text_of(arguments[0]) if arguments else ""
            return f'<a href="{html.escape(target)}">{html.escape(target)}</a>'
        if name == "includegraphics":
            source = self.text_of(arguments[-1]) if arguments else ""
            return self.picture("graphics", source)
        if name in ("quad", "qquad", "enspace", "enskip", ",", ";", " ", "thinspace"):
            return " "
        if name == "item":
            return ""  # lists split their items themselves
        text = LatexNodes2Text(math_mode="verbatim").node_to_text(node)
        return html.escape(text) + post

    def environment(self, node) -> str:
        name = node.environmentname
        if name in MATH_ENVIRONMENTS:
            return f"\n{self.math(node.latex_verbatim())}\n"
        if name in PICTURES:
            return self.picture("tikz", node.latex_verbatim())
        if name in LISTS:
            tag = LISTS[name]
            kind = ' type="A"' if name == "options" else ""
            items = "".join(f"<li>{single(paragraphs(self.nodes(item)).strip())}</li>" for item in split_items(node.nodelist))
            return f"\n\n<{tag}{kind}>{items}</{tag}>\n\n"
        if name in TABLES:
            return self.table(node)
        if name in BLOCKS:
            opening = BLOCKS[name]
            closing = CLOSING.get(opening, "</div>")
            head = f"<em>{self.words['erratum']}.</em> " if name == "erratum" else ""
            return f"\n\n{opening}{head}{paragraphs(self.nodes(node.nodelist)).strip()}{closing}\n\n"
        self.warnings.append(f"environment {name} is shown as its text: a learning platform cannot show it")
        return self.nodes(node.nodelist)

    def table(self, node) -> str:
        rows: list[list[str]] = [[]]
        cell: list = []
        spans: list[int] = []

        def close_cell() -> None:
            text = self.nodes(cell).strip()
            span = spans.pop() if spans else 1
            rows[-1].append(f'<td colspan="{span}">{text}</td>' if span > 1 else f"<td>{text}</td>")
            cell.clear()

        for child in node.nodelist or []:
            if child.isNodeType(latexwalker.LatexSpecialsNode) and child.specials_chars == "&":
                close_cell()
            elif child.isNodeType(latexwalker.LatexMacroNode) and child.macroname == "\\":
                close_cell()
                rows.append([])
            else:
                if child.isNodeType(latexwalker.LatexMacroNode) and child.macroname == "multicolumn":
                    arguments = self.arguments(child)
                    try:
                        spans.append(int(self.text_of(arguments[0]).strip()))
                    except (ValueError, IndexError):
                        spans.append(1)
                cell.append(child)
        if any(self.nodes([c]).strip() for c in cell):
            close_cell()
        body = "".join(f"<tr>{''.join(row)}</tr>" for row in rows
                       if row and any(re.sub(r"<[^>]+>", "", c).strip() for c in row))
        return f'\n\n<table border="1" style="border-collapse:collapse"><tbody>{body}</tbody></table>\n\n'

    def picture(self, kind: str, source: str) -> str:
        name = self.figure(kind, source)
        if name is None:
            what = "a TikZ picture" if kind == "tikz" else f"the picture {source}"
            self.warnings.append(f"{what} could not be exported as an image")
            return ""
        return f'<img src="@@PLUGINFILE@@/{html.escape(name)}" alt="figure" style="max-width:100%"/>'


def parse(latex: str):
    walker = latexwalker.LatexWalker(latex, latex_context=CONTEXT, tolerant_parsing=True)
    nodes, _, _ = walker.get_latex_nodes()
    return nodes


def split_items(nodes) -> list[list]:
    """The items of a list environment: the nodes after each ``\\item``."""
    items: list[list] = []
    for node in nodes or []:
        if node.isNodeType(latexwalker.LatexMacroNode) and node.macroname == "item":
            items.append([])
            label = node.nodeargd.argnlist[0] if node.nodeargd and node.nodeargd.argnlist else None
            if label is not None:
                items[-1].extend([*label.nodelist, latexwalker.LatexCharsNode(
                    parsing_state=node.parsing_state, chars=" ", pos=node.pos, len=0)])
        elif items:
            items[-1].append(node)
    return items


def chars(text: str) -> str:
    text = html.escape(text, quote=False)
    return text.replace("---", "—").replace("--", "–").replace("``", "“").replace("''", "”").replace("~", "&#160;")


def paragraphs(text: str) -> str:
    """HTML with blank lines made paragraphs (blocks stay as they are)."""
    parts = [p.strip() for p in PARAGRAPH.split(text)]
    return "".join(p if BLOCK_START.match(p) else f"<p>{p}</p>" for p in parts if p)


def single(html: str) -> str:
    """A list item's HTML without its paragraph when it is one paragraph."""
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        return html[3:-4]
    return html
