"""The project files author code reads while it runs: part of every key, stamp and provenance.

A value may open a data file (``open``, ``Path.read_text``, ``np.load``, ``json.load``) or
import a local module inside its body; a test may do the same. Python reports every ``open``
and every import to audit hooks (PEP 578), so solman installs one hook per process and, while
author code runs inside ``Reads.watching()``, notes every file opened for reading and every
module imported. An import statement of a module that is already imported raises no audit
event, so ``builtins.__import__`` is wrapped as well (the documented way to observe imports).

Only files of the project count (not build/, not solman, not a virtual environment): files
outside it (the standard library, site-packages, the TeX tree) are covered by the recorded
package and tool versions. What escapes the hook: C code that opens files itself (``fopen``)
and files read through a subprocess; a value should read its data with Python or numpy.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib.util
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

_state = threading.local()  # .active: the Reads being recorded on this thread, innermost last
_installed = False
_install_lock = threading.Lock()


class Reads:
    """The files and modules that author code read, collected over any number of ``watching()`` spans."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.files: set[str] = set()
        self.modules: set[str] = set()

    @contextlib.contextmanager
    def watching(self) -> Iterator[Reads]:
        """Record what the code run inside the block opens and imports, on this thread."""
        install()
        active = getattr(_state, "active", None)
        _state.active = [*(active or ()), self]
        try:
            yield self
        finally:
            _state.active = active

    def paths(self) -> list[str]:
        """The project files read, relative to the project root, sorted."""
        found = set(self.files)
        for name in self.modules:
            file = getattr(sys.modules.get(name), "__file__", None)
            if file:
                found.add(os.path.abspath(file))
        return sorted({relative for path in found if (relative := project_file(path, self.root))})


ENGINE = Path(__file__).resolve().parent.parent  # the solman package, wherever it is installed


def project_file(path: str, root: Path) -> str | None:
    """``path`` relative to ``root`` if it is one of the author's files, else None."""
    try:
        relative = Path(os.path.realpath(path)).relative_to(root)
    except ValueError:
        return None
    parts = relative.parts
    if (not parts or parts[0] in ("build", ".git") or {".venv", "site-packages", "__pycache__"} & set(parts)
            or Path(os.path.realpath(path)).is_relative_to(ENGINE)):  # solman's own files are in its version
        return None
    return relative.as_posix()


def install() -> None:
    """The audit hook and the import wrapper, once per process (audit hooks cannot be removed)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        sys.addaudithook(_audit)
        builtins.__import__ = _importing(builtins.__import__)
        _installed = True


def _audit(event: str, args: tuple) -> None:
    if event != "open" and event != "import":
        return
    active = getattr(_state, "active", None)
    if not active:
        return
    if event == "import":
        for reads in active:
            reads.modules.add(args[0])
        return
    path, mode, flags = args
    if not isinstance(path, (str, bytes)):  # a file descriptor, or None
        return
    if mode is None:  # os.open: reading unless opened write-only
        if flags is not None and flags & os.O_ACCMODE == os.O_WRONLY:
            return
    elif "r" not in mode and "+" not in mode:
        return
    full = os.path.abspath(os.fsdecode(path))
    for reads in active:
        reads.files.add(full)


def _importing(original):
    def __import__(name, globals=None, locals=None, fromlist=(), level=0):
        module = original(name, globals, locals, fromlist, level)
        active = getattr(_state, "active", None)
        if active:
            try:
                full = importlib.util.resolve_name("." * level + name, (globals or {}).get("__package__")) \
                    if level else name
            except (ImportError, ValueError):
                full = name
            names = {full, *(f"{full}.{item}" for item in fromlist or () if item != "*")}
            for reads in active:
                reads.modules |= names
        return module

    return __import__
