"""The ``build/`` folder: generated sources written only when changed, results published atomically.

``build/tex/`` is the working area LaTeX runs in. The results, ``build/*.pdf``,
``build/chapters/*.pdf`` and ``build/manifest.json``, change only when a whole build has
succeeded, each by an atomic rename. The manifest is written twice around the swap (first
listing both the old and the new PDFs, then only the new), so that whenever the process is
stopped, every PDF on disk has its record.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import SolmanError

log = logging.getLogger("solman")


def write_if_changed(folder: Path, files: dict[str, bytes]) -> list[str]:
    """Write each file under ``folder`` unless it already has that content; return those written."""
    written = []
    for name, data in files.items():
        path = folder / name
        if path.exists() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, data)
        written.append(name)
    return written


def replace_atomically(path: Path, data: bytes) -> None:
    """Give ``path`` the content ``data`` in one rename: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # one temporary per writer: two threads of one build may replace the same file at once
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:  # a full disk: leave the old file, and say which one could not be written
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        exc.filename = str(path)
        raise


# Where this process's build is in publishing, for a message that must be true when Ctrl-C
# arrives: "not started" (build/ holds the previous outputs), "under way" (some files may be
# new, others old) or "done". Reset when a build takes the lock.
publishing = "not started"


def publish(build: Path, pdfs: dict[str, Path], during: dict, final: dict) -> None:
    """Put the new PDFs in place, with the manifest always describing every PDF on disk."""
    global publishing
    # Room for every new file next to the old ones, checked before anything changes: a disk that fills up
    # half-way would leave the manifest rewritten for PDFs that are not there.
    needed = sum(source.stat().st_size for source in pdfs.values() if source.exists()) + 2 * len(dump(during))
    if shutil.disk_usage(build).free < needed:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(build / next(iter(pdfs), "manifest.json")))
    publishing = "under way"
    replace_atomically(build / "manifest.json", dump(during))
    for output, source in pdfs.items():
        replace_atomically(build / output, source.read_bytes())
    replace_atomically(build / "manifest.json", dump(final))
    publishing = "done"


def dump(manifest: dict) -> bytes:
    return (json.dumps(manifest, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")  # C encoder: fast


@contextlib.contextmanager
def build_lock(build: Path) -> Iterator[None]:
    """Serialise builds of one project: a second ``invoke pdf`` waits for the first."""
    global publishing
    publishing = "not started"
    build.mkdir(parents=True, exist_ok=True)
    with open(build / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            log.warning("another build of this project is running (%s); waiting for it to finish", holder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        for leftover in build.rglob(".*.tmp"):  # from a build killed while replacing a file
            leftover.unlink(missing_ok=True)
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def clean(build: Path) -> bool:
    """Remove ``build/``; whether there was anything to remove."""
    if not build.exists():
        return False
    if not (build / ".lock").exists() and not (build / "manifest.json").exists() and any(build.iterdir()):
        raise SolmanError(f"{build} does not look like a solman build folder; not removing it",
                          hint="remove it yourself if it holds nothing you need")
    shutil.rmtree(build)
    return True
