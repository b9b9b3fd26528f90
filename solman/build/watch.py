"""``invoke watch``: rebuild on every save, keep the last good PDF, stop cleanly on Ctrl-C.

The watcher polls the project's sources (``pyproject.toml``, ``chapters/``, ``verify/``,
``templates/``) every half second; when something changed and then stayed unchanged for a
moment (an editor's save is often several writes), it builds again. Each build is an ordinary
``build()``: only what changed is recomputed and recompiled, and a failed build leaves the
previous PDFs in place. Failures are handed to ``report`` and watching goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from solman.errors import SolmanError
from solman.project.settings import load_project

log = logging.getLogger("solman")

WATCHED = ("pyproject.toml", "chapters", "verify", "templates")


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Modification time and size of every watched file."""
    found = {}
    for name in WATCHED:
        path = root / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
        for file in files:
            if "__pycache__" in file.parts:
                continue
            stat = file.stat()
            found[str(file)] = (stat.st_mtime_ns, stat.st_size)
    return found


def changed(before: dict, after: dict) -> list[str]:
    return sorted({*before, *after} - {k for k in before if before.get(k) == after.get(k)})


def watch(root: Path, rebuild: Callable[[object], None], report: Callable[[SolmanError], None],
          interval: float = 0.5, settle: float = 0.3, stop: Callable[[], bool] = lambda: False) -> None:
    """Build now and after every change, until interrupted (Ctrl-C) or ``stop()`` is true."""

    def once() -> None:
        try:
            rebuild(load_project(root))
        except SolmanError as error:
            report(error)

    seen = snapshot(root)
    once()
    log.info("watching %s for changes (Ctrl-C to stop)", ", ".join(WATCHED))
    try:
        while not stop():
            time.sleep(interval)
            now = snapshot(root)
            if now == seen:
                continue
            while True:  # wait until the files stop changing
                time.sleep(settle)
                later = snapshot(root)
                if later == now:
                    break
                now = later
            names = [Path(p).relative_to(root).as_posix() for p in changed(seen, now)]
            log.info("changed: %s", ", ".join(names[:5]) + (" ..." if len(names) > 5 else ""))
            seen = now
            once()
    except KeyboardInterrupt:
        log.info("stopped watching")
