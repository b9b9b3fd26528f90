r"""Running latexmk: pdfLaTeX without shell escape, in a sandbox that sees only ``build/tex`` and TeX.

Every TeX process (latexmk, the pdfLaTeX it starts, the ``pdftex -ini`` that builds a format)
runs under bubblewrap (see ``solman.latex.sandbox``): it reads only ``build/tex`` and the TeX tree,
writes only ``build/tex`` and runs nothing, whatever pdfTeX primitive a template uses. Only
a project that sets ``sandbox = false`` runs them bare, contained by kpathsea's settings alone.

Most of a small document's compile time is spent loading the preamble (TikZ, pgfplots,
tcolorbox, hyperref, fonts). A shell whose preamble ends with ``\csname endofdump\endcsname``
is compiled with a format that has that preamble loaded already (mylatexformat), built once
per distinct preamble and kept while the preamble and the styles are unchanged.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from solman.latex.texlog import LogEntry, parse_log

log = logging.getLogger("solman")

LATEXMK_FLAGS = (
    "-pdf",
    "-interaction=nonstopmode",
    "-halt-on-error",
    "-file-line-error",
    "-norc",
    # The page count LaTeX records in the .aux changes once the contents pages appear, which made
    # latexmk run a third pass that changes nothing: solman's shells never print the page count.
    "-e", r"$hash_calc_ignore_pattern{'aux'} = '^\\\\gdef \\\\@abspage@last\{';",
)
PDFLATEX = "-pdflatex=pdflatex -no-shell-escape %O %S"
FORMAT_MARK = r"\csname endofdump\endcsname"


@dataclass
class Compiled:
    """The outcome of one latexmk run."""

    target: str
    ok: bool
    pdf: Path
    log: Path
    entries: list[LogEntry] = field(default_factory=list)
    output: str = ""
    seconds: float = 0.0

    @property
    def errors(self) -> list[LogEntry]:
        return [e for e in self.entries if e.kind == "error"]


def source_date_epoch(year: int) -> int:
    """The fixed time every build claims: 1 January of the manual's year (so builds are reproducible)."""
    return calendar.timegm((year, 1, 1, 0, 0, 0)) if year > 1970 else 0


def latex_environment(year: int, sandboxed: bool = False) -> dict[str, str]:
    """Environment for a contained, reproducible run: in the sandbox, nothing else; bare, the caller's too."""
    epoch = source_date_epoch(year)
    settings = {
        "openin_any": "p",  # no reading outside the folder LaTeX runs in (and TeX's own trees)
        "openout_any": "p",  # no writing outside it
        "shell_escape": "f",
        "max_print_line": "10000",  # one log line per message: errors and warnings parse reliably
        "error_line": "254",
        "half_error_line": "238",
        "SOURCE_DATE_EPOCH": str(epoch),
        "FORCE_SOURCE_DATE": "1",
    }
    if sandboxed:
        from solman.latex.sandbox import environment

        return environment(settings)
    env = dict(os.environ, **settings)
    for inherited in ("TEXINPUTS", "TEXMFHOME", "LATEXMKRC"):  # the build must not depend on the caller's
        env.pop(inherited, None)
    return env


_building = threading.Lock()


def run_tex(command: list[str], folder: Path, year: int, sandboxed: bool) -> subprocess.CompletedProcess:
    """Run a TeX program in ``folder``: in the sandbox unless ``sandboxed`` is False."""
    if sandboxed:
        from solman.latex.sandbox import wrap

        command = wrap(command, folder)
    log.debug("$ %s  (in %s)", " ".join(command), folder)
    return subprocess.run(command, cwd=folder, env=latex_environment(year, sandboxed), capture_output=True,
                          text=True, errors="replace", stdin=subprocess.DEVNULL, check=False)


def prepare_format(folder: Path, target: str, year: int, text: str | None = None, *,
                   sandboxed: bool = True, shared: Path | None = None) -> str | None:
    """The name of a format with ``target``'s preamble preloaded, built when missing; None without one.

    ``text`` is the target's ``.tex`` when it is not written yet (to build the format early). ``shared`` is
    a folder of formats that builds of the same preamble share (a chapter's variants): a format found there
    is linked in rather than built, one built here is added to it. Its name is its preamble's hash.
    """
    text = text if text is not None else (folder / f"{target}.tex").read_text(encoding="utf-8")
    if FORMAT_MARK not in text:
        return None
    source = text.split(FORMAT_MARK)[0] + FORMAT_MARK + "\n\\begin{document}\n\\end{document}\n"
    digest = hashlib.sha256(source.encode())
    for style in sorted(folder.glob("*.sty")):
        digest.update(style.read_bytes())
    digest.update(subprocess.run(["pdftex", "--version"], capture_output=True, text=True).stdout.encode())
    name = f"solman-{digest.hexdigest()[:12]}"
    with _building:  # one build of each format, even when two threads ask at once
        if not (folder / f"{name}.fmt").exists() and not link_shared(shared, folder, f"{name}.fmt"):
            built = build_format(folder, name, source, target, year, sandboxed=sandboxed)
            if built and shared is not None:
                share(folder / f"{name}.fmt", shared)
            return built
    return name


def link_shared(shared: Path | None, folder: Path, file: str) -> bool:
    """Hard-link (or copy, across file systems) ``shared/file`` into ``folder``; False when it is not there."""
    if shared is None or not (shared / file).exists():
        return False
    for old in folder.glob("solman-*.fmt"):
        old.unlink()
    try:
        os.link(shared / file, folder / file)
    except OSError:
        shutil.copyfile(shared / file, folder / file)
    return True


def share(fmt: Path, shared: Path) -> None:
    """Add a format to the shared folder (renamed into place: a build that links it never sees half a file)."""
    shared.mkdir(parents=True, exist_ok=True)
    partial = shared / f".{fmt.name}.{os.getpid()}"
    shutil.copyfile(fmt, partial)
    os.replace(partial, shared / fmt.name)


def build_format(folder: Path, name: str, source: str, target: str, year: int, *,
                 sandboxed: bool = True) -> str | None:
    for old in folder.glob("solman-*.fmt"):  # a preamble that changed leaves its format behind
        old.unlink()
    (folder / f"{name}.tex").write_text(source, encoding="utf-8")
    log.debug("building the format %s for the preamble of %s", name, target)
    built = run_tex(["pdftex", "-ini", "-interaction=nonstopmode", "-halt-on-error", f"-jobname={name}",
                     "&pdflatex", "mylatexformat.ltx", f"{name}.tex"], folder, year, sandboxed)
    if built.returncode != 0 or not (folder / f"{name}.fmt").exists():
        log.warning("could not preload the preamble of %s (see build/tex/%s.log); compiling without it", target, name)
        return None
    return name


def run_latexmk(folder: Path, target: str, year: int, format_name: str | None = None, *,
                sandboxed: bool = True) -> Compiled:
    """Compile ``folder/<target>.tex`` into ``folder/out/<target>/``, with a preloaded format if given."""
    outdir = Path("out") / target
    unfinished = folder / outdir / ".unfinished"
    if unfinished.exists():  # the last run here was interrupted or failed: its aux files cannot be trusted
        shutil.rmtree(folder / outdir)
    unfinished.parent.mkdir(parents=True, exist_ok=True)
    unfinished.touch()
    # solman compiles a target only when its sources changed, so pdfLaTeX must run at least once. latexmk
    # would not see a change that keeps a file's size within the second of its last run (its database
    # keeps whole seconds, and it compares contents only when time or size differ): without its PDF, it runs.
    (folder / outdir / f"{target}.pdf").unlink(missing_ok=True)
    pdflatex = PDFLATEX.replace("%O", f"-fmt={format_name} %O") if format_name else PDFLATEX
    command = ["latexmk", *LATEXMK_FLAGS, f"-outdir={outdir.as_posix()}", pdflatex, f"{target}.tex"]
    started = time.monotonic()
    process = run_tex(command, folder, year, sandboxed)
    seconds = time.monotonic() - started
    log_file = folder / outdir / f"{target}.log"
    entries = parse_log(log_file.read_text(encoding="utf-8", errors="replace"), folder) if log_file.exists() else []
    pdf = folder / outdir / f"{target}.pdf"
    ok = process.returncode == 0 and pdf.exists() and not any(e.kind == "error" for e in entries)
    if ok:
        unfinished.unlink()
    return Compiled(target, ok, pdf, log_file, entries, process.stdout + process.stderr, seconds)
