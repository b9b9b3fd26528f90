"""A chapter with every kind of question a learning platform grades, for the LMS export tests
(test_banks, test_moodle, test_qti), and readers of the exported files that share no code with the writers."""

from __future__ import annotations

import base64
import functools
import io
import shutil
import zipfile
from pathlib import Path

from lxml import etree

SCHEMAS = Path(__file__).resolve().parent / "schemas"
QTI_NS = {"q": "http://www.imsglobal.org/xsd/imsqti_v2p1"}

VERIFY = '''
from fractions import Fraction
import sympy as sp
from solman import value

@value
def choice():
    return "B"

@value
def claim():
    return False

@value
def ratio():
    return 0.1234567

@value
def third():
    return Fraction(1, 3)

@value
def count():
    return 12

@value
def word():
    return "ReLU"

@value
def q():
    return sp.Matrix([[1, sp.Rational(1, 2)], [0, sp.sqrt(2)]])

@value
def curve():
    import matplotlib.figure
    fig = matplotlib.figure.Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1, 2], [0, 1, 4])
    return fig

def test_values():
    assert choice() == "B" and claim() is False and abs(ratio() - 0.1234567) < 1e-12
    assert third() == Fraction(1, 3) and count() == 12 and word() == "ReLU" and q()[0, 1] == sp.Rational(1, 2)
    assert curve().figure.axes
'''

TEMPLATE = r"""\chapter{Every kind of question}
\providecommand{\lmsE}{\mathbb{E}}
\VAR{ problem("All kinds", 1) }
Each question has one answer; $\lmsE[x]$ is a mean.

\BLOCK{ call question("1a", points=2, kind="mcq", answer=choice) }
Pick one.
\begin{options}
\item $x < 1$
\item \textbf{bold} $x \ge 1$
\end{options}
\BLOCK{ call solution() }(\VAR{ choice }), because $\lmsE[x] = 1$.\BLOCK{ endcall }
\BLOCK{ endcall }
\BLOCK{ call question("1b", points=1.5, kind="tf", answer=claim) }
True or false: $1 > 2$.
\BLOCK{ call solution() }False.\BLOCK{ endcall }
\BLOCK{ endcall }
\BLOCK{ call question("1c", answer=ratio) }
How big is the ratio?
\BLOCK{ call solution() }It is $\VAR{ ratio | fixed(3) }$.
\begin{center}
\begin{tabular}{ll}
\toprule
a & b \\
\midrule
$1$ & $2$ \\
\bottomrule
\end{tabular}
\end{center}
\BLOCK{ endcall }
\BLOCK{ endcall }
\BLOCK{ call question("1d", points=1, answer=third, tol=0.001) }
What is a third, to three decimals?
\BLOCK{ call solution() }$\VAR{ third }$, drawn here: \VAR{ curve | figure(0.5) }\BLOCK{ endcall }
\BLOCK{ endcall }
\BLOCK{ call question("1e", answer=count) }
How many?
\BLOCK{ call solution() }$\VAR{ count }$.\BLOCK{ endcall }
\BLOCK{ endcall }
\BLOCK{ call question("1f", answer=word) }
Which activation is $\max(0, x)$?
\BLOCK{ call solution() }\VAR{ word }.\BLOCK{ endcall }
\BLOCK{ endcall }
\BLOCK{ call question("1g", answer=q) }
Which matrix?
\BLOCK{ call solution() }
\[
  Q = \VAR{ q }
\]
\BLOCK{ endcall }
\BLOCK{ endcall }
\BLOCK{ call question("1h", kind="essay") }
Why?
\begin{itemize}
\item First reason.
\item Second reason.
\end{itemize}
\BLOCK{ call solution() }Because.\BLOCK{ endcall }
\BLOCK{ endcall }
"""

# what the chapter's numeric questions must accept: question -> (value, tolerance), computed here
NUMBERS = {"1c": (0.1234567, 0.0005), "1d": (1 / 3, 0.001), "1e": (12.0, 0.0)}


def make_project(root: Path, fixture: Path) -> Path:
    """A copy of the fixture project whose only chapter is the one above."""
    shutil.copytree(fixture, root)
    (root / "chapters" / "demo.tex.j2").write_text(TEMPLATE)
    (root / "verify" / "demo.py").write_text(VERIFY)
    return root


# --- readers: lxml and the formats' own element names, nothing from solman.exports ----------------------

def moodle_numbers(path: Path) -> dict[str, tuple[float, float]]:
    """idnumber -> (answer, tolerance) of every numerical question of a Moodle XML file."""
    tree = etree.parse(str(path))
    return {q.findtext("idnumber"): (float(q.findtext("answer/text")), float(q.findtext("answer/tolerance") or 0))
            for q in tree.iterfind("question[@type='numerical']")}


def moodle_types(path: Path) -> dict[str, str]:
    return {q.findtext("idnumber"): q.get("type") for q in etree.parse(str(path)).iterfind("question")
            if q.get("type") != "category"}


def moodle_files(path: Path) -> dict[str, bytes]:
    return {f.get("name"): base64.b64decode(f.text) for f in etree.parse(str(path)).iter("file")}


def qti_items(path: Path) -> dict[str, etree._Element]:
    """File name -> parsed XML of every file of a QTI package (the manifest too)."""
    with zipfile.ZipFile(path) as package:
        return {name: etree.fromstring(package.read(name)) for name in package.namelist() if name.endswith(".xml")}


def qti_numbers(path: Path) -> dict[str, tuple[float, float]]:
    """Item identifier -> (correct response, tolerance) of every float item of a QTI package."""
    found = {}
    for root in qti_items(path).values():
        declared = root.find("q:responseDeclaration[@baseType='float']", QTI_NS)
        if declared is None:
            continue
        value = float(declared.findtext("q:correctResponse/q:value", namespaces=QTI_NS))
        equal = root.find(".//q:equal", QTI_NS)
        found[root.get("identifier")] = (value, float(equal.get("tolerance").split()[0]))
    return found


@functools.cache
def schema(name: str):
    """A schema of tests/schemas, compiled once per test process."""
    path = SCHEMAS / name
    return etree.RelaxNG(etree.parse(str(path))) if path.suffix == ".rng" else etree.XMLSchema(etree.parse(str(path)))


def qti_invalid(path: Path) -> list[str]:
    """The errors of every item and the manifest against the IMS QTI 2.1 and IMS CP 1.1 schemas."""
    item, manifest = schema("qti21/qtiv2p1/imsqti_v2p1.xsd"), schema("qti21/imscp_v1p1.xsd")
    errors = []
    for name, root in qti_items(path).items():
        against = manifest if name == "imsmanifest.xml" else item
        if not against.validate(root):
            errors.extend(f"{path.name}/{name}: {e.message}" for e in against.error_log)
    return errors


def moodle_invalid(path: Path) -> list[str]:
    """The errors of a Moodle XML file against the schema written from Moodle's importer."""
    moodle = schema("moodle/moodle-xml.rng")
    return [] if moodle.validate(etree.parse(str(path))) else [f"{path.name}: {e.message}" for e in moodle.error_log]


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as package:
        return package.namelist()
