r"""Running LaTeXML: one chapter's LaTeX to HTML5 with MathML, contained as pdfLaTeX is.

``latexmlc`` (Perl) reads the chapter, its shell and solman's binding ``solman.sty.ltxml`` (the
HTML's reading of solman.sty) and writes one HTML page with presentation MathML, each formula's
TeX kept as an annotation. It runs in the same bubblewrap sandbox as pdfLaTeX
(``solman.latex.sandbox``): it sees only the chapter's work folder and the system's programs and
libraries, so ``\input{/etc/passwd}`` finds nothing, and it can write nowhere else. A project with
``sandbox = false`` runs it bare.
"""

from __future__ import annotations

import functools
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from solman.errors import MissingTool

TIMEOUT = 900  # seconds LaTeXML may take for one chapter (the flagship's largest takes about a minute)
# LaTeXML's messages: "Error:undefined:\foo The token ... at chapters/x.tex; line 12 col 3"
MESSAGE = re.compile(r"^(Error|Fatal):(\S+)\s+(.*?)(?: at ([^;\n]+); line (\d+)(?: col \d+)?)?$", re.MULTILINE)


@dataclass
class Conversion:
    """The outcome of one latexmlc run."""

    ok: bool
    html: Path
    log: Path
    errors: list[tuple[str, str | None, int | None]] = field(default_factory=list)  # message, file, line
    seconds: float = 0.0


def require_latexml() -> None:
    if shutil.which("latexmlc") is None or shutil.which("pdftocairo") is None:
        raise MissingTool("the HTML edition needs LaTeXML (latexmlc) and poppler's pdftocairo",
                          hint="run `invoke setup --html`, or install them yourself: apt-get install latexml poppler-utils")


def convert(work: Path, shell: str, year: int, sandboxed: bool) -> Conversion:
    """Convert ``work/<shell>.tex`` to ``work/html/<shell>.html``."""
    from solman.latex.latexmk import run_tex

    html = work / "html" / f"{shell}.html"
    log_file = work / f"{shell}.latexml.log"
    html.unlink(missing_ok=True)
    command = ["latexmlc", "--quiet", "--format=html5", "--pmml", "--mathtex", "--nodefaultresources",
               f"--timeout={TIMEOUT}", "--path=.", f"--log={log_file.name}",
               f"--dest=html/{shell}.html", f"{shell}.tex"]
    started = time.monotonic()
    run = run_tex(command, work, year, sandboxed)
    seconds = time.monotonic() - started
    said = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else run.stderr
    errors = [(f"{m.group(2)}: {m.group(3)}".strip(), m.group(4), int(m.group(5)) if m.group(5) else None)
              for m in MESSAGE.finditer(said)]
    if not html.exists() and not errors:
        errors.append((f"latexmlc failed: {(run.stderr or run.stdout).strip()[-400:]}", None, None))
    return Conversion(html.exists() and not errors, html, log_file, errors, seconds)


@functools.cache
def latexml_version() -> str:
    """LaTeXML's version line (part of what a conversion depends on)."""
    import subprocess

    result = subprocess.run(["latexmlc", "--VERSION"], capture_output=True, text=True, check=False)
    return (result.stdout + result.stderr).strip().splitlines()[0] if (result.stdout + result.stderr).strip() else ""
