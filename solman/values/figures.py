r"""Figures: a value may return a matplotlib figure, which the manual includes as a vector PDF.

A value that returns a ``matplotlib.figure.Figure`` (or a list, tuple or dict holding figures) is
saved, the moment it is computed, as a ``SavedFigure``: the figure's PDF, written reproducibly
(no dates, a fixed producer, fixed compression, so the same figure gives the same bytes in any
process), and the figure object itself for the value's tests. The PDF is what the build uses:
the cache keeps its bytes (never the figure), its fingerprint is the bytes' hash, and
``\VAR{ curve | figure(0.8) }`` writes ``\includegraphics[width=0.8\linewidth]{figures/<hash>.pdf}``,
the file being written under ``build/tex/figures`` with the chapter's ``.tex``. A figure changed
by its code has another name, so the ``.tex`` that includes it changes too: stamps, the manifest
and drift follow as for any printed value.

While a value runs, matplotlib's built-in defaults with solman's figure style over them are in
force (serif type in the size of the manual's captions, a transparent background, fonts embedded
as TrueType, so a figure's words are text in the PDF), whether matplotlib was imported before the
value or inside it, and whatever a matplotlibrc says; the settings are restored afterwards and
figures the value opened with pyplot are closed, so that no state passes from one value to the
next and a figure's bytes do not depend on what ran before it. A value may set its own style
inside (``with matplotlib.rc_context({...}):``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import importlib.machinery
import io
import os
import sys
from collections.abc import Iterator
from types import ModuleType

FOLDER = "figures"  # under build/tex, where the chapters' .tex find them
PRODUCER = "solman with matplotlib"  # not matplotlib's version string: the bytes depend on the code, not on it
STYLE = {
    "font.family": "serif",
    "font.serif": ["STIXGeneral", "DejaVu Serif"],  # shipped with matplotlib: the same type on every machine
    "mathtext.fontset": "stix",
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.2,
    "figure.figsize": (4.8, 2.8),  # inches: about the manual's text width, scaled by | figure(width)
    "figure.dpi": 100,
    "figure.facecolor": "none",  # transparent: a figure sits on a solution box's tint as text does
    "axes.facecolor": "none",
    "pdf.fonttype": 42,  # TrueType: the figure's words are text in the PDF, found by search and pdftotext
    "pdf.compression": 6,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
}


# settings of the session, not of a figure's look (those matplotlib's styles leave alone too)
SESSION = frozenset({"backend", "backend_fallback", "date.epoch", "docstring.hardcopy", "figure.max_open_warning",
                     "figure.raise_window", "interactive", "savefig.directory", "timezone", "tk.window_focus",
                     "toolbar", "webagg.address", "webagg.open_in_browser", "webagg.port", "webagg.port_retries"})


class SavedFigure:
    """A figure as the manual includes it: its PDF bytes, and (when computed in this process) the figure.

    ``figure`` is the ``matplotlib.figure.Figure`` the value returned, for its tests to read the data it
    plots (``fig.figure.axes[0].lines[0].get_ydata()``); it is not kept by the cache, and the build uses
    only ``pdf``. Two saved figures are equal when their PDFs are.
    """

    __slots__ = ("figure", "pdf", "sha256")

    def __init__(self, pdf: bytes, figure: object = None) -> None:
        self.pdf = pdf
        self.figure = figure
        self.sha256 = hashlib.sha256(pdf).hexdigest()

    @property
    def name(self) -> str:
        """The file the chapter includes, under build/tex: named by its content."""
        return f"{FOLDER}/{self.sha256[:16]}.pdf"

    def __reduce__(self):  # the cache keeps the bytes, never the figure object
        return SavedFigure, (self.pdf,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SavedFigure) and other.pdf == self.pdf

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __repr__(self) -> str:
        return f"<figure {self.sha256[:16]} ({len(self.pdf)} bytes of PDF)>"


def is_matplotlib_figure(obj: object) -> bool:
    """Whether ``obj`` is a matplotlib figure, asked without importing matplotlib."""
    module = sys.modules.get("matplotlib.figure")
    return module is not None and isinstance(obj, module.Figure)


def saved(obj: object) -> object:
    """``obj`` with every matplotlib figure in it (itself, or in a list, tuple or dict) saved as a PDF."""
    if "matplotlib.figure" not in sys.modules:
        return obj
    return _saved(obj, 0)


def _saved(obj: object, depth: int) -> object:
    if is_matplotlib_figure(obj):
        return save(obj)
    if depth > 20:
        return obj
    if type(obj) is list:
        return [_saved(item, depth + 1) for item in obj]
    if type(obj) is tuple:
        return tuple(_saved(item, depth + 1) for item in obj)
    if type(obj) is dict:
        return {key: _saved(item, depth + 1) for key, item in obj.items()}
    return obj


def save(figure: object) -> SavedFigure:
    """The figure's PDF, the same bytes in every process: no creation or modification date, a fixed
    producer and compression; the figure is then closed in pyplot (if pyplot holds it)."""
    import matplotlib

    buffer = io.BytesIO()
    metadata = {"Creator": "solman", "Producer": PRODUCER, "CreationDate": None, "ModDate": None}
    fixed = {key: STYLE[key] for key in ("pdf.fonttype", "pdf.compression")}
    with matplotlib.rc_context(fixed):
        figure.savefig(buffer, format="pdf", metadata=metadata, bbox_inches=STYLE["savefig.bbox"],
                       pad_inches=STYLE["savefig.pad_inches"])
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(figure)
    return SavedFigure(buffer.getvalue(), figure)


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """While a value runs: matplotlib's own defaults with solman's figure style over them (not the user's
    matplotlibrc, nor what an earlier value set), restored afterwards; figures it opened in pyplot are
    closed. So a figure is drawn the same whatever ran before it in the process: a build of one chapter,
    of all, or from the cache give the same bytes. Most values draw nothing: while matplotlib is not
    imported, nothing is done but to watch for its import, which sets the style as it happens."""
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is None:
        watch_import()
    pyplot = sys.modules.get("matplotlib.pyplot")
    before = set(pyplot.get_fignums()) if pyplot is not None else set()
    saved = None
    if matplotlib is not None:  # as matplotlib.rc_context does, without validating again what is valid
        saved = {key: item for key, item in dict.items(matplotlib.rcParams) if key != "backend"}
        dict.update(matplotlib.rcParams, baseline(matplotlib))
    try:
        yield
    finally:
        if saved is not None:
            dict.update(matplotlib.rcParams, saved)
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            for number in set(pyplot.get_fignums()) - before:
                pyplot.close(number)


_baseline: dict[int, dict] = {}  # id of the matplotlib module -> its settings for a value


def baseline(matplotlib: ModuleType) -> dict:
    """matplotlib's built-in defaults (rcdefaults: not a matplotlibrc file's) with solman's style over them,
    validated once per process: about 6 ms, against microseconds to apply for every value."""
    known = _baseline.get(id(matplotlib))
    if known is None:
        saved = {key: item for key, item in dict.items(matplotlib.rcParams) if key != "backend"}
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(STYLE)
        known = _baseline[id(matplotlib)] = {key: item for key, item in dict.items(matplotlib.rcParams)
                                             if key not in SESSION}
        dict.update(matplotlib.rcParams, saved)
    return known


class StyleOnImport(importlib.abc.MetaPathFinder):
    """Imported inside a value, matplotlib starts from the same settings as when imported before it."""

    def find_spec(self, name: str, path: object, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if name != "matplotlib":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader, load = spec.loader, spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            dict.update(module.rcParams, baseline(module))

        loader.exec_module = exec_module  # this spec's own loader (a new one for every search)
        return spec


_hook = StyleOnImport()


def watch_import() -> None:
    if _hook not in sys.meta_path:
        sys.meta_path.insert(0, _hook)


def headless() -> None:
    """Draw without a display: pyplot, imported by a value, picks the Agg backend (unless told otherwise)."""
    os.environ.setdefault("MPLBACKEND", "Agg")


def figure_files(objects: list[object]) -> dict[str, bytes]:
    """The files under build/tex that the printed ``objects`` include: every saved figure's PDF, by name."""
    return {obj.name: obj.pdf for obj in objects if isinstance(obj, SavedFigure)}
