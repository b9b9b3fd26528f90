"""Caches under ``build/cache``, keyed by content so that they can never serve anything stale.

A chapter's *verify key* hashes its verify module, every project-local module it imported
(recorded when it was last imported), the installed Python packages and solman's own code.
Under that key solman keeps the chapter's computed values and its test results. A chapter's
*render key* adds the templates, the project's settings and the chapter order; under it
solman keeps the rendered ``.tex`` of each edition. Everything here reads files and hashes
them; nothing imports sympy or numpy, so that checking whether a build has anything to do
is instant.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import sys
import threading
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

from solman.project.settings import Chapter, Project
from solman.values.reads import ENGINE

log = logging.getLogger("solman")



@cache
def engine_hash() -> str:
    """solman's own code and the installed packages: a change to either invalidates every cache."""
    digest = hashlib.sha256(sys.version.encode())
    for path in sorted(ENGINE.rglob("*")):  # its code and its built-in templates
        if path.is_file() and path.suffix != ".pyc":
            digest.update(path.relative_to(ENGINE).as_posix().encode() + path.read_bytes())
    for folder in sorted({p for p in sys.path if p.endswith("-packages") and os.path.isdir(p)}):
        digest.update(" ".join(sorted(n for n in os.listdir(folder) if n.endswith(".dist-info"))).encode())
    return digest.hexdigest()


_contents: dict[Path, tuple[tuple[int, int], str]] = {}
_watchers: list[dict[Path, str]] = []


def content_hash(path: Path) -> str:
    """The hash of one file, read again only when its size or modification time changed."""
    try:
        stat = path.stat()
    except OSError:
        found = "<missing>"
    else:
        seen = (stat.st_mtime_ns, stat.st_size)
        known = _contents.get(path)
        if known is None or known[0] != seen:
            known = _contents[path] = (seen, hashlib.sha256(path.read_bytes()).hexdigest())
        found = known[1]
    for hashes in _watchers:
        hashes[path] = found
    return found


@contextlib.contextmanager
def hashes_taken() -> Iterator[dict[Path, str]]:
    """Every file hashed inside the block, with its hash: ``unchanged()`` tells later whether it still holds."""
    hashes: dict[Path, str] = {}
    _watchers.append(hashes)
    try:
        yield hashes
    finally:
        _watchers.remove(hashes)


def unchanged(hashes: dict[Path, str]) -> bool:
    """Whether every file still has the hash it had (no one edited it since)."""
    return all(content_hash(path) == found for path, found in hashes.items())


def file_hash(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode() + content_hash(path).encode())
    return digest.hexdigest()


_listings: dict[Path, tuple[tuple, list[Path]]] = {}


def shared_templates(folder: Path) -> str:
    """The hash of what all chapters may include: every file under chapters/ but the chapter templates."""
    # a file added or removed changes the time of the folder that holds it
    stamp = tuple((d, os.stat(d).st_mtime_ns) for d, _, _ in os.walk(folder))
    known = _listings.get(folder)
    if known is None or known[0] != stamp:
        extras = sorted(p for p in folder.rglob("*") if p.is_file() and not (p.suffix == ".j2" and p.parent == folder))
        known = _listings[folder] = (stamp, extras)
    return file_hash(*known[1])


_bypassed = threading.Event()


@contextlib.contextmanager
def bypassed() -> Iterator[None]:
    """Inside the block no cache entry is read (everything is computed afresh), but fresh results are
    stored: ``invoke verify --fresh``."""
    _bypassed.set()
    try:
        yield
    finally:
        _bypassed.clear()


class ProjectCache:
    """Entries stored under ``build/cache/<folder>``, each with the key it is valid for."""

    def __init__(self, project: Project, folder: str) -> None:
        self.project = project
        self.folder = project.build / "cache" / folder

    def load(self, name: str, key: str) -> object | None:
        """The entry ``name`` if it was stored under ``key`` (never while caches are ``bypassed``)."""
        if _bypassed.is_set():
            return None
        try:
            with open(self.folder / f"{name}.pickle", "rb") as handle:
                stored_key, payload = pickle.load(handle)
        except (OSError, EOFError, pickle.PickleError, ValueError, TypeError, AttributeError, ImportError):
            return None
        return payload if stored_key == key else None

    def store(self, name: str, key: str, payload: object) -> None:
        try:
            data = pickle.dumps((key, payload), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a value pickle cannot handle: simply not cached
            log.debug("not caching %s: %s", name, exc)
            return
        self._write(f"{name}.pickle", data)

    def _write(self, name: str, data: bytes) -> None:
        from solman.build.outputs import replace_atomically

        replace_atomically(self.folder / name, data)


class ChapterCache(ProjectCache):
    """The cached values, test results and renders of one chapter."""

    def __init__(self, project: Project, chapter: Chapter) -> None:
        super().__init__(project, chapter.id)
        self.chapter = chapter

    # --- keys --------------------------------------------------------------------------------

    def reads(self, kind: str = "values") -> list[Path]:
        """Project files read last time the chapter's ``kind`` ran: ``values`` (its module and values,
        with the local modules they import) or ``tests``; recorded by ``record_reads``."""
        try:
            names = json.loads((self.folder / "reads.json").read_text()).get(kind, [])
        except (OSError, ValueError, AttributeError):
            return []
        return [self.project.root / name for name in names]

    def record_reads(self, kind: str, reads: list[str]) -> None:
        """Add ``reads`` (project-relative paths) to what ``kind`` is known to read; nothing is forgotten,
        so a key never loses a file some run of the code read."""
        with _reads_lock:  # the values (rendering) and the tests (a background thread) both record
            known = {k: [self.project.relative(p) for p in self.reads(k)] for k in ("values", "tests")}
            merged = sorted(set(known[kind]) | set(reads))
            if merged != known[kind]:
                known[kind] = merged
                self._write("reads.json", json.dumps(known, indent=1).encode())

    def input_files(self, edition: str | None = None) -> list[Path]:
        """Every project file the chapter's printed values come from: its verify module and what its values
        read; for the solutions edition (``edition=None`` too) also what its tests read (the appendix)."""
        files = [self.chapter.verify, *self.reads("values")]
        if edition != "problems":
            files += self.reads("tests")
        return sorted(set(files))

    def values_key(self) -> str:
        """What the chapter's values depend on: its module, the files its values read, the engine, and the
        variant selected (its parameters draw other givens)."""
        from solman.variants import current_seed

        seed = current_seed()
        drawn = f":variant={seed}" if seed is not None else ""  # the default variant's keys are as they were
        return file_hash(self.chapter.verify, *self.reads("values")) + engine_hash() + drawn

    def tests_key(self) -> str:
        """What the chapter's test results depend on: the values' inputs, the files its tests read, and
        the time each test may take (a test that timed out may pass with more)."""
        return self.values_key() + file_hash(*self.reads("tests")) + f":{self.project.timeout!r}"

    def render_key(self, edition: str, shared: str | None = None) -> str:
        """Everything a chapter's rendering depends on (``shared``: ``shared_templates()``, if known)."""
        settings = [self.project.title, self.project.author, [c.id for c in self.project.chapters], edition,
                    self.project.language, self.project.printing.setting()]
        if self.project.variant is not None:  # its id and name are on every page
            settings.append([self.project.variant.id, self.project.variant.name, self.project.variant.seed])
        if edition == "problems":  # the solutions edition has no answer space
            settings.append([self.project.answer_space.space, self.project.answer_space.fill])
        shared = shared or shared_templates(self.chapter.template.parent)
        parts = (self.values_key(), file_hash(self.chapter.template), shared, json.dumps(settings))
        return hashlib.sha256("".join(parts).encode()).hexdigest()


_reads_lock = threading.Lock()


class CachedValue:
    """A value as the cache knows it; asking for a result that was never computed imports the module."""

    def __init__(self, name: str, meta: dict, source: ChapterValues) -> None:
        self.name = name
        self.key = meta["key"]
        self.path = Path(meta["path"])
        self.line = meta["line"]
        self._meta = meta
        self._source = source

    def __call__(self) -> object:
        if "result" in self._meta:
            return self._meta["result"]
        return self._source.real()[self.name]()


class ChapterValues(Mapping):
    """The values a chapter's template sees: from the cache when it is valid, else from its module.

    The verify module is imported only when a value is needed that the cache does not hold.
    Author code runs inside ``watching()`` (importing the module here, computing a value in the
    renderer), which records the project files it reads; ``save()`` stores those with every result
    computed so far, under the chapter's values key.
    """

    def __init__(self, project: Project, chapter: Chapter, cache: ChapterCache) -> None:
        from solman.values.reads import Reads

        self.project = project
        self.chapter = chapter
        self.cache = cache
        self.reads = Reads(project.root)
        self._real: dict | None = None
        stored = cache.load("values", cache.values_key())
        self._values: dict = ({name: CachedValue(name, meta, self) for name, meta in stored.items()}
                              if stored is not None else self.real())

    def watching(self):
        """Run author code of this chapter: what it reads becomes part of the chapter's keys."""
        return self.reads.watching()

    def real(self) -> dict:
        """The value functions of the freshly imported verify module."""
        if self._real is None:
            from solman.values.evaluation import load_module, values_of

            # imported afresh, so that the import is seen (and a long-running watch runs today's helpers)
            forget_local_modules(self.chapter.verify.parent, self.cache.reads("values"))
            with self.watching():
                module = load_module(self.chapter.verify, f"solman_verify_{self.chapter.id}", self.project.root,
                                     self.project.timeout)
            self._real = values_of(module)
        return self._real

    def __getitem__(self, name: str):
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def save(self) -> None:
        """Record what the values read, then store the results known now (cached or freshly computed)
        under the values key that includes those reads."""
        from solman.values.evaluation import _UNSET

        self.cache.record_reads("values", self.reads.paths())
        stored = {}
        for name, value in self._values.items():
            meta = {"key": value.key, "path": str(value.path), "line": value.line}
            if isinstance(value, CachedValue) and "result" in value._meta:
                result = value._meta["result"]
            else:
                real = self._real[name] if self._real is not None else None
                result = real._result if real is not None else _UNSET
            if result is not _UNSET and round_trips(result):
                meta["result"] = result
            stored[name] = meta
        self.cache.store("values", self.cache.values_key(), stored)


def forget_local_modules(folder: Path, imported: list[Path]) -> None:
    """Drop the author's helper modules from ``sys.modules``, so that importing runs today's code.

    A long-running process (``invoke watch``) would otherwise keep using a helper as it was when
    first imported, however often it is edited.
    """
    stale = {str(p) for p in imported} | {os.path.realpath(p) for p in imported}
    names = {p.stem for p in folder.glob("*.py")} | {p.name for p in folder.iterdir() if (p / "__init__.py").exists()}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in names or getattr(module, "__file__", None) in stale:
            del sys.modules[name]


def round_trips(obj: object) -> bool:
    """Whether ``obj`` comes back from pickle exactly as it is (so a build from the cache prints what a
    clean build prints). Not so for everything: sympy re-evaluates an expression built with
    ``evaluate=False`` when it is unpickled, and prints it differently; such a result is recomputed."""
    from solman.values.evaluation import fingerprint

    try:
        again = pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # a value pickle cannot handle is simply recomputed next time
        return False
    return type(again) is type(obj) and fingerprint(again) == fingerprint(obj)
