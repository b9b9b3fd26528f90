"""The programs solman needs beyond Python: TeX Live, latexmk, poppler and bubblewrap, from Debian's packages."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

from solman.errors import MissingTool

log = logging.getLogger("solman")

# Debian package -> what we look for to know it is installed (programs, or files kpsewhich finds).
DEBIAN_PACKAGES = {
    "texlive-latex-base": ["pdflatex", "kpsewhich", "hyperref.sty", "geometry.sty", "mathpazo.sty",
                           "babel.sty", "english.ldf"],
    "texlive-latex-recommended": ["microtype.sty", "xcolor.sty", "booktabs.sty", "mathtools.sty"],
    "texlive-latex-extra": ["tcolorbox.sty", "titlesec.sty", "enumitem.sty", "fancyhdr.sty", "mylatexformat.ltx"],
    "texlive-fonts-recommended": ["pplr8t.tfm", "zplmr7t.tfm"],
    "texlive-pictures": ["pgfplots.sty", "tikz.sty"],
    "texlive-lang-french": ["french.ldf"],  # babel's French (language = "fr"), its hyphenation patterns
    "texlive-lang-german": ["ngerman.ldf"],  # babel's German (language = "de"), its hyphenation patterns
    "lmodern": ["lmodern.sty"],
    "latexmk": ["latexmk"],
    "poppler-utils": ["pdfinfo", "pdftotext", "pdftoppm"],
    "bubblewrap": ["bwrap"],  # the sandbox LaTeX runs in (solman.latex.sandbox)
}
# The HTML edition (invoke html, and its browser checks): LaTeXML converts the LaTeX, Chromium loads the pages,
# npm installs axe-core (package.json). Installed by `invoke setup --html` only: most projects never need them.
HTML_PACKAGES = {
    "latexml": ["latexmlc"],
    "chromium": ["chromium"],
    "npm": ["npm"],
}
SANDBOX_PACKAGE = "bubblewrap"  # required by solman.latex.sandbox, with its own message, unless sandbox = false


def missing_packages(html: bool = False) -> list[str]:
    """The Debian packages whose programs or TeX files cannot be found (with ``html``, the HTML edition's too)."""
    missing = [p for p, programs in HTML_PACKAGES.items() if html and not all(shutil.which(n) for n in programs)]
    kpsewhich = shutil.which("kpsewhich")
    files = [f for needs in DEBIAN_PACKAGES.values() for f in needs if "." in f]
    found = set()
    if kpsewhich:
        result = subprocess.run([kpsewhich, *files], capture_output=True, text=True, check=False)
        found = {os.path.basename(line) for line in result.stdout.splitlines()}
    for package, needs in DEBIAN_PACKAGES.items():
        for need in needs:
            present = need in found if "." in need else shutil.which(need) is not None
            if not present:
                missing.append(package)
                break
    return missing


def install_command(packages: list[str]) -> list[str]:
    """The apt-get command that installs ``packages`` (through sudo when not root and sudo is there)."""
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    return ["sudo", *command] if os.geteuid() != 0 and shutil.which("sudo") else command


def as_root_hint(packages: list[str]) -> str:
    """What to run as root to install ``packages`` when this user can be neither root nor sudo."""
    return f"as root, run: apt-get update && {' '.join(install_command(packages))}; then run `invoke setup` again"


def require_tex(only: tuple[str, ...] | None = None) -> None:
    """Stop with instructions, not a traceback, when TeX Live, latexmk or poppler is missing.

    ``only`` limits the check to some packages (``("poppler-utils",)`` to read PDFs back). bubblewrap is
    checked by ``solman.latex.sandbox.require_sandbox`` instead: a project may do without it.
    """
    missing = [p for p in missing_packages() if (p in only if only is not None else p != SANDBOX_PACKAGE)]
    if missing:
        hint = (f"run `invoke setup`, or install them yourself: {' '.join(install_command(missing))}"
                if _can_be_root() else as_root_hint(missing))
        raise MissingTool(f"TeX Live is incomplete: missing Debian packages {' '.join(missing)}", hint=hint)


def _can_be_root() -> bool:
    """Whether apt-get can run as root here: we are root, or sudo is installed."""
    return os.geteuid() == 0 or shutil.which("sudo") is not None


def install_tex(html: bool = False) -> list[str]:
    """Install the missing packages with apt-get (with ``html``, LaTeXML and Chromium too); return what was
    installed (nothing if complete)."""
    missing = missing_packages(html=True) if html else missing_packages()
    if not missing:
        log.info("TeX Live, latexmk, poppler and bubblewrap are installed: nothing to do")
        return []
    if not shutil.which("apt-get"):
        raise MissingTool(
            f"this system has no apt-get; install these Debian packages or their equivalents: {' '.join(missing)}",
            hint="on other systems, TeX Live's scheme-medium plus latexmk, tcolorbox, titlesec, enumitem, "
            "pgfplots and poppler's utilities give the same",
        )
    if not _can_be_root():
        raise MissingTool(f"installing {' '.join(missing)} needs root, and this system has no sudo",
                          hint=as_root_hint(missing))
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log.info("installing %s with apt-get (a few minutes)", " ".join(missing))
    for command in ([*prefix, "apt-get", "update", "-q"], install_command(missing)):
        log.info("$ %s", " ".join(command))
        if subprocess.run(command, env=environment, check=False).returncode != 0:
            raise MissingTool(f"`{' '.join(command)}` failed", hint="read apt-get's messages above")
    still = missing_packages(html=True) if html else missing_packages()
    if still:
        raise MissingTool(f"after installing, still missing: {' '.join(still)}")
    return missing


def install_axe(root) -> bool:
    """``npm ci`` in ``root`` when it has a package.json (axe-core for the browser checks) whose packages
    are not installed yet; whether it ran."""
    from pathlib import Path

    root = Path(root)
    if not (root / "package.json").exists() or (root / "node_modules" / "axe-core" / "axe.min.js").exists():
        return False
    log.info("$ npm ci  (in %s)", root)
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=root, check=False)
    if done.returncode != 0:
        raise MissingTool("`npm ci` failed: axe-core is not installed", hint="read npm's messages above")
    return True
