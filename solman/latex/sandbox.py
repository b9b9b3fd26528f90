r"""The operating-system sandbox every TeX process runs in: bubblewrap (``bwrap``).

kpathsea's ``openin_any``/``openout_any`` and ``shell_escape`` are advice that pdfTeX's own
primitives ignore: ``\pdfobj stream file {/etc/passwd}`` copies the file into the PDF. So
latexmk (Perl) and the pdfLaTeX it starts run in a mount namespace that holds only

- read-only: the programs and their libraries (``/usr/bin``, ``/usr/lib``, ``/usr/lib64`` and
  the ``/bin``, ``/lib``... links to them), Perl's library, the TeX tree as kpsewhich reports it
  (TEXMFROOT, the trees of the ls-R databases, TEXMFSYSVAR, TEXMFSYSCONFIG, the texmf.cnf
  folders; on Debian ``/usr/share/texlive``, ``/usr/share/texmf``, ``/var/lib/texmf``,
  ``/etc/texmf``, ``/usr/local/share/texmf``) and ``/etc/ld.so.cache``;
- read-write: ``build/tex`` at its real path (so relative paths keep working);
- a private, empty ``/tmp`` (also ``HOME``), a minimal ``/dev``, no ``/proc``;

with no network and no other namespace shared (``--unshare-all``), no capabilities, its own
session (TeX cannot reach the terminal), and killed with solman. Not ``/etc/passwd``, not
``/home``, not the project. The environment is built from scratch: nothing of the caller's
(tokens, TEXINPUTS) reaches TeX.

Whether bubblewrap works is checked once per process, by starting ``true`` in the sandbox.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from pathlib import Path

from solman.errors import MissingTool

log = logging.getLogger("solman")

# kpathsea variables naming the trees TeX reads; the user's own trees (TEXMFHOME, TEXMFVAR,
# TEXMFCONFIG, under $HOME) are left out on purpose: the build must not depend on them.
TEX_TREES = ("TEXMFROOT", "TEXMFSYSVAR", "TEXMFSYSCONFIG")
SYSTEM = ("/usr/bin", "/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32")
TOP_LEVEL = ("/bin", "/lib", "/lib64", "/lib32", "/libx32")  # links to /usr on merged-/usr systems
PROGRAMS = ("latexmk", "pdftex", "pdflatex", "kpsewhich", "perl", "sh")
FORBIDDEN = ("/home", "/root", "/etc/passwd", "/proc", "/tmp")  # never bound, whatever a tool reports
UNAVAILABLE_HINT = ("install bubblewrap (`invoke setup` does, or: apt-get install bubblewrap); or, knowing that "
                    "LaTeX can then read and write any file you can, set `sandbox = false` in [tool.solman]")


def wrap(command: list[str], folder: Path) -> list[str]:
    """``command`` run in the sandbox, with ``folder`` (build/tex) its only writable place and its cwd."""
    require_sandbox()
    folder = Path(folder).resolve()
    return ["bwrap", *base_arguments(), "--bind", str(folder), str(folder), "--chdir", str(folder), "--", *command]


def environment(settings: dict[str, str]) -> dict[str, str]:
    """The whole environment of a contained TeX run: a PATH to the programs, HOME in the private /tmp,
    and ``settings``; nothing inherited."""
    return {"PATH": search_path(), "HOME": "/tmp", "LC_ALL": "C", **settings}


def require_sandbox() -> None:
    """Stop with instructions when bubblewrap is missing or cannot start a sandbox here."""
    problem = probe()
    if problem:
        message, details = problem
        raise MissingTool(message, hint=UNAVAILABLE_HINT, details=details)


@functools.cache
def probe() -> tuple[str, list[str]] | None:
    """Why no sandbox can be made on this machine, or None: checked once per process."""
    if shutil.which("bwrap") is None:
        return "LaTeX cannot run contained: bubblewrap (bwrap) is not installed", []
    try:
        started = subprocess.run(["bwrap", *base_arguments(), "--chdir", "/", "--", "true"],
                                 env=environment({}), capture_output=True, text=True, errors="replace",
                                 stdin=subprocess.DEVNULL, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"LaTeX cannot run contained: bubblewrap did not start ({exc})", []
    if started.returncode != 0:
        said = (started.stderr.strip() or started.stdout.strip() or f"exit code {started.returncode}")[-400:]
        return ("LaTeX cannot run contained: bubblewrap cannot create a sandbox here",
                [f"bwrap said: {said}",
                 "bubblewrap needs user namespaces (in a container: a seccomp/AppArmor profile that allows them)"])
    return None


@functools.cache
def base_arguments() -> tuple[str, ...]:
    """bwrap's arguments for everything but the build folder."""
    arguments = ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                 "--dev", "/dev", "--tmpfs", "/tmp"]
    for link in TOP_LEVEL:
        if os.path.islink(link):
            arguments += ["--symlink", os.readlink(link), link]
    for path in read_only_paths():
        arguments += ["--ro-bind", path, path]
    return tuple(arguments)


def read_only_paths() -> list[str]:
    """The folders and files TeX, latexmk and Perl need, outermost only, each existing."""
    wanted = [*SYSTEM, *(p for p in TOP_LEVEL if not os.path.islink(p)), "/etc/ld.so.cache",
              *tex_trees(), *perl_library(), *(os.path.dirname(p) for p in program_paths())]
    existing = [p for p in wanted if p and os.path.exists(p)]
    kept: list[str] = []
    # a path through a link (Perl's /usr/share/perl/5.36) is bound where it is asked for and where it leads
    for path in sorted({os.path.normpath(p) for p in existing} | {os.path.realpath(p) for p in existing}):
        if any(path == f or path.startswith(f"{f}/") for f in FORBIDDEN) or path == "/":
            log.debug("sandbox: not binding %s", path)
            continue
        if not any(path.startswith(f"{k}/") for k in kept):
            kept.append(path)
    return kept


def tex_trees() -> list[str]:
    """The TeX installation's folders, as kpsewhich reports them (without the user's own trees)."""
    kpsewhich = shutil.which("kpsewhich")
    if kpsewhich is None:
        return []
    asked = [*(f"-var-value={v}" for v in TEX_TREES), "--expand-braces=$TEXMFDBS", "--show-path=cnf"]
    found = []
    for argument in asked:  # one at a time: kpsewhich prints nothing for a variable it does not know
        result = subprocess.run([kpsewhich, argument], capture_output=True, text=True, check=False)
        for entry in result.stdout.strip().split(os.pathsep):
            entry = entry.strip().lstrip("!")
            if entry.startswith("/") and "//" not in entry:
                found.append(entry.rstrip("/"))
    home = os.path.expanduser("~")
    return [f for f in found if not (home != "/" and (f == home or f.startswith(f"{home}/")))]


def perl_library() -> list[str]:
    """Perl's module folders (latexmk is Perl), but not its configuration in /etc."""
    perl = shutil.which("perl")
    if perl is None:
        return []
    result = subprocess.run([perl, "-e", "print join(qq(\\n), @INC)"], capture_output=True, text=True, check=False)
    return [p for p in result.stdout.splitlines() if p.startswith("/") and not p.startswith("/etc/")]


def program_paths() -> list[str]:
    found = (shutil.which(p) for p in PROGRAMS)
    return [os.path.realpath(p) for p in found if p]


@functools.cache
def search_path() -> str:
    """PATH inside the sandbox: the folders of the programs TeX runs, then the system's."""
    folders = [os.path.dirname(p) for p in (shutil.which(p) for p in PROGRAMS) if p]
    return os.pathsep.join(dict.fromkeys([*folders, "/usr/bin", "/bin"]))
