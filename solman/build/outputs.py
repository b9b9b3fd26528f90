"""The ``build/`` folder: one writer or many readers, and results published as one set.

**The lock.** ``build/.lock`` is locked with ``flock``: exclusively by every command that
writes ``build/``'s results (``invoke pdf``, each build of ``invoke watch``, ``invoke export``,
``invoke clean``), shared by those that only read them (``invoke verify``, ``invoke keys``, the
no-op check of ``invoke pdf``). A command that must wait says for whom. The lock file is never
removed (``clean`` empties ``build/`` around it): a process waiting on a removed lock file would
hold a lock nobody else sees.

**Publishing.** ``build/*.pdf``, ``build/chapters/*.pdf`` and ``build/manifest.json`` change
together or not at all, as a database commits a transaction: every new file is first written
(and synced) under ``build/.publish/``; then a journal, ``build/publish.journal``, listing the
renames is written atomically: that is the commit; then the files are renamed into place and the
journal deleted. Whoever takes the lock next, reader or writer, finishes a committed publish that
was interrupted (the renames again: idempotent) or undoes one that was not (the staging folder is
deleted), before it looks at anything. So every command sees the complete previous set or the
complete new one. Ctrl-C during the renames is held back until they are done.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from solman.errors import SolmanError

log = logging.getLogger("solman")

LOCK = ".lock"
STAGING = ".publish"
JOURNAL = "publish.journal"


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


def replace_folder(folder: Path, work: Path, files: dict[str, bytes]) -> None:
    """Replace ``folder`` by one holding ``files`` (by their paths in it), as a whole: written in ``work``, then
    swapped in by two renames. An interruption leaves the old folder, the new one, or (between the renames)
    none: never files of one build beside files of another (a variant's PDFs and key, the HTML edition's pages)."""
    staged, replaced = work / "publishing", work / "replaced"
    for leftover in (staged, replaced):
        shutil.rmtree(leftover, ignore_errors=True)
    for name, data in files.items():
        replace_atomically(staged / name, data)
    if folder.exists():
        os.replace(folder, replaced)
    folder.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, folder)
    shutil.rmtree(replaced, ignore_errors=True)


def dump(manifest: dict) -> bytes:
    return (json.dumps(manifest, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")  # C encoder: fast


# --- publishing: all or nothing --------------------------------------------------------------

# Where this process is in publishing, for a Ctrl-C message that must be true: "not started" or
# "staging" (build/ holds the previous set; staged files are deleted), "committed" (the new set is
# committed and the next command completes it), "done". Reset when a writer takes the lock.
publishing = "not started"


def publish(build: Path, pdfs: dict[str, Path], manifest: dict) -> None:
    """Replace the PDFs ``pdfs`` (output under ``build/`` -> new file) and the manifest, as one set."""
    global publishing
    publishing = "staging"
    staging = build / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    swaps = []
    try:
        files = {**{output: source.read_bytes() for output, source in pdfs.items()}, "manifest.json": dump(manifest)}
        for number, (output, data) in enumerate(files.items()):
            staged = staging / f"{number}-{Path(output).name}"
            write_synced(staged, data)
            swaps.append({"staged": staged.relative_to(build).as_posix(), "target": output,
                          "sha256": hashlib.sha256(data).hexdigest()})
        sync_folder(staging)
        checkpoint("staged")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        publishing = "not started"
        raise
    with held_back(signal.SIGINT):  # from the commit to the end: Ctrl-C waits for the renames
        commit_journal(build, swaps)
        publishing = "committed"
        checkpoint("journaled")
        complete(build, swaps, pause=True)
        publishing = "done"


def write_synced(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def sync_folder(folder: Path) -> None:
    """Make the names in ``folder`` (created, renamed, removed) durable."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def commit_journal(build: Path, swaps: list[dict]) -> None:
    """Write the journal in one rename: from now on, the new set is the published one."""
    body = json.dumps(swaps, sort_keys=True)
    journal = {"solman": "publish-journal", "swaps": swaps, "sha256": hashlib.sha256(body.encode()).hexdigest()}
    written = build / STAGING / JOURNAL  # written whole and synced first: only the rename commits
    write_synced(written, json.dumps(journal).encode())
    os.replace(written, build / JOURNAL)
    sync_folder(build)


def read_journal(build: Path) -> list[dict] | None:
    """The swaps of a committed publish, or None when there is no journal or it is torn."""
    try:
        journal = json.loads((build / JOURNAL).read_text(encoding="utf-8"))
        swaps = journal["swaps"]
        intact = hashlib.sha256(json.dumps(swaps, sort_keys=True).encode()).hexdigest() == journal["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return swaps if intact else None


def complete(build: Path, swaps: list[dict], pause: bool = False) -> None:
    """Rename every staged file into place, then delete the journal and the staging folder.

    Idempotent: a file already renamed (by a process stopped halfway) is not staged any more.
    """
    for number, swap in enumerate(swaps, start=1):
        staged, target = build / swap["staged"], build / swap["target"]
        if staged.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
        elif not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != swap["sha256"]:
            log.warning("build/%s is not the file an interrupted build published; run `invoke pdf` to rebuild it",
                        swap["target"])
        if pause:
            checkpoint(f"renamed-{number}")
    for folder in {(build / swap["target"]).parent for swap in swaps}:
        sync_folder(folder)
    (build / JOURNAL).unlink(missing_ok=True)
    shutil.rmtree(build / STAGING, ignore_errors=True)
    sync_folder(build)
    if pause:
        checkpoint("finished")


def recover(build: Path) -> str | None:
    """Finish a committed publish an interrupted process left, or undo an uncommitted one.

    Returns "completed", "undone" or None (nothing to do). Call only with the lock held exclusively.
    """
    swaps = read_journal(build)
    if swaps is not None:
        complete(build, swaps)
        log.warning("an interrupted build had published new PDFs without finishing: finished it")
        return "completed"
    if (build / JOURNAL).exists() or (build / STAGING).exists():
        (build / JOURNAL).unlink(missing_ok=True)  # torn: the commit never happened
        shutil.rmtree(build / STAGING, ignore_errors=True)
        log.info("removed the files an interrupted build had staged; the previous PDFs stand")
        return "undone"
    return None


def needs_recovery(build: Path) -> bool:
    return (build / JOURNAL).exists() or (build / STAGING).exists()


_arrived: list[int] = []  # signals held back, to deliver when the renames are done


@contextlib.contextmanager
def held_back(signum: int) -> Iterator[None]:
    """Hold back ``signum`` (Ctrl-C) for the duration, then deliver it as if it had just arrived.

    Python runs signal handlers in the main thread only, and only the main thread may install
    them. Called from another thread, this does nothing: Ctrl-C then interrupts the main thread,
    never this one, which goes on to the end of the renames (and a kill is what the journal is for).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _arrived.clear()
    previous = signal.signal(signum, lambda number, frame: _arrived.append(number))
    try:
        yield
    finally:
        signal.signal(signum, previous)
        if _arrived:
            _arrived.clear()
            signal.raise_signal(signum)


def checkpoint(step: str) -> None:
    """A test-only hook: with SOLMAN_TEST_PAUSE_IN_PUBLISH=<step>, stop here until a signal arrives.

    Steps, in order: ``staged``, ``journaled``, ``renamed-1`` ... ``renamed-N``, ``finished``. The
    crash tests kill the process (SIGKILL, SIGINT) while it waits, to hit each moment of publishing.
    """
    if os.environ.get("SOLMAN_TEST_PAUSE_IN_PUBLISH") != step:
        return
    log.warning("paused in publish at step %s", step)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not _arrived:  # a Ctrl-C not held back raises in sleep
        time.sleep(0.02)


# --- the lock --------------------------------------------------------------------------------

@dataclass
class _Held:
    handle: IO[str]
    exclusive: bool


_held = threading.local()  # this thread's lock on each build folder: commands nest (verify builds)


@contextlib.contextmanager
def lock(build: Path, exclusive: bool, doing: str = "building") -> Iterator[None]:
    """Hold ``build/.lock``: ``exclusive`` to write ``build/``'s results, shared to read them.

    Before anything is read, a publish an interrupted process left is finished or undone (under
    the exclusive lock, which a reader takes briefly for that). Nested calls in one thread share
    the lock: a shared hold asked to be exclusive is upgraded, then downgraded again. flock's
    upgrade is not atomic (the shared lock is released first, so two upgrading readers cannot
    deadlock), hence another writer may come in between: the caller must not rely, after an
    upgrade, on what it read from ``build/`` before it. ``verify --pdf`` relies only on the
    record of the reference PDF its nested build returns.
    """
    held: dict[Path, _Held] = _held.__dict__.setdefault("folders", {})
    key = build.resolve()
    current = held.get(key)
    if current is not None and (current.exclusive or not exclusive):
        yield
        return
    if current is not None:  # shared, asked to be exclusive: upgrade for the duration
        acquire(current.handle, build, exclusive=True, doing=doing)
        current.exclusive = True
        try:
            yield
        finally:
            release_holder(current.handle)
            fcntl.flock(current.handle, fcntl.LOCK_SH)
            current.exclusive = False
        return
    build.mkdir(parents=True, exist_ok=True)
    with open(build / LOCK, "a+", encoding="utf-8") as handle:
        acquire(handle, build, exclusive, doing)
        held[key] = _Held(handle, exclusive)
        try:
            yield
        finally:
            del held[key]
            if exclusive:
                release_holder(handle)
            fcntl.flock(handle, fcntl.LOCK_UN)


def acquire(handle: IO[str], build: Path, exclusive: bool, doing: str) -> None:
    """Take the lock (saying for whom we wait, if we must), then recover an interrupted publish."""
    global publishing
    while True:
        wait(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if exclusive:
            publishing = "not started"
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} {doing}")
            handle.flush()
            recover(build)
            sweep(build)
            return
        if handle.seek(0, os.SEEK_END):  # a holder's pid, left by a writer that was killed: no writer now
            release_holder(handle)
        if not needs_recovery(build):
            return
        # a reader found an interrupted publish: recover it exclusively, then read as before
        wait(handle, fcntl.LOCK_EX)
        recover(build)
        fcntl.flock(handle, fcntl.LOCK_UN)


def wait(handle: IO[str], operation: int) -> None:
    try:
        fcntl.flock(handle, operation | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    handle.seek(0)
    holder = handle.read().strip()
    if holder:
        log.warning("another solman command is writing build/ (%s); waiting for it to finish", holder)
    else:
        log.warning("other solman commands are reading build/ (verify, keys); waiting for them to finish")
    fcntl.flock(handle, operation)


def release_holder(handle: IO[str]) -> None:
    handle.seek(0)
    handle.truncate()
    handle.flush()


def sweep(build: Path) -> None:
    """Remove what killed processes left: temporaries of atomic writes, per-run scratch folders.

    Only under the exclusive lock, when no other process works in ``build/``; this process's own
    files (a nested build) are kept.
    """
    own = str(os.getpid())
    for leftover in build.rglob(".*.tmp"):  # .<name>.<pid>.<thread>.tmp
        if leftover.name.split(".")[-3:-2] != [own]:
            leftover.unlink(missing_ok=True)
    for scratch in build.glob("*/run-*"):  # run-<pid>-<random>
        match = re.fullmatch(r"run-(\d+)-.*", scratch.name)
        if scratch.is_dir() and match and match[1] != own:
            shutil.rmtree(scratch, ignore_errors=True)


def clean(build: Path) -> bool:
    """Empty ``build/`` of everything but its lock file, holding the lock; whether there was anything."""
    if not build.exists() or [p.name for p in build.iterdir()] in ([], [LOCK]):
        return False
    if not (build / LOCK).exists() and not (build / "manifest.json").exists():
        raise SolmanError(f"{build} does not look like a solman build folder; not removing it",
                          hint="remove it yourself if it holds nothing you need")
    with lock(build, exclusive=True, doing="cleaning"):
        for path in build.iterdir():
            if path.name == LOCK:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    return True
