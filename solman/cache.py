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

import hashlib
import json
import logging
import os
import pickle
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from .project import Chapter, Project

log = logging.getLogger("solman")

ENGINE = Path(__file__).resolve().parent


@cache
def engine_hash() -> str:
    """solman's own code and the installed packages: a change to either invalidates every cache."""
    digest = hashlib.sha256(sys.version.encode())
    for path in sorted(ENGINE.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    for folder in sorted({p for p in sys.path if p.endswith("-packages") and os.path.isdir(p)}):
        digest.update(" ".join(sorted(n for n in os.listdir(folder) if n.endswith(".dist-info"))).encode())
    return digest.hexdigest()


_contents: dict[Path, tuple[tuple[int, int], str]] = {}


def content_hash(path: Path) -> str:
    """The hash of one file, read again only when its size or modification time changed."""
    try:
        stat = path.stat()
    except OSError:
        return "<missing>"
    seen = (stat.st_mtime_ns, stat.st_size)
    known = _contents.get(path)
    if known is None or known[0] != seen:
        known = _contents[path] = (seen, hashlib.sha256(path.read_bytes()).hexdigest())
    return known[1]


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


class ProjectCache:
    """Entries stored under ``build/cache/<folder>``, each with the key it is valid for."""

    def __init__(self, project: Project, folder: str) -> None:
        self.project = project
        self.folder = project.build / "cache" / folder

    def load(self, name: str, key: str) -> object | None:
        """The entry ``name`` if it was stored under ``key``."""
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
        from .outputs import replace_atomically

        replace_atomically(self.folder / name, data)


class ChapterCache(ProjectCache):
    """The cached values, test results and renders of one chapter."""

    def __init__(self, project: Project, chapter: Chapter) -> None:
        super().__init__(project, chapter.id)
        self.chapter = chapter

    # --- keys --------------------------------------------------------------------------------

    def imports(self) -> list[Path]:
        """Project-local modules the verify module imported last time it was imported."""
        try:
            names = json.loads((self.folder / "imports.json").read_text())
        except (OSError, ValueError):
            return []
        return [self.project.root / name for name in names]

    def record_imports(self, modules: list[Path]) -> None:
        names = sorted({self.project.relative(m) for m in modules})
        self._write("imports.json", json.dumps(names).encode())

    def verify_key(self) -> str:
        return file_hash(self.chapter.verify, *self.imports()) + engine_hash()

    def render_key(self, edition: str, shared: str | None = None) -> str:
        """Everything a chapter's rendering depends on (``shared``: ``shared_templates()``, if known)."""
        settings = [self.project.title, self.project.author, [c.id for c in self.project.chapters], edition]
        shared = shared or shared_templates(self.chapter.template.parent)
        parts = (self.verify_key(), file_hash(self.chapter.template), shared, json.dumps(settings))
        return hashlib.sha256("".join(parts).encode()).hexdigest()


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
    ``save()`` stores every result computed so far under the chapter's verify key.
    """

    def __init__(self, project: Project, chapter: Chapter, cache: ChapterCache) -> None:
        self.project = project
        self.chapter = chapter
        self.cache = cache
        self._real: dict | None = None
        stored = cache.load("values", cache.verify_key())
        self._values: dict = ({name: CachedValue(name, meta, self) for name, meta in stored.items()}
                              if stored is not None else self.real())

    def real(self) -> dict:
        """The value functions of the freshly imported verify module."""
        if self._real is None:
            from .values import load_module, values_of

            forget_local_modules(self.chapter.verify.parent, self.cache.imports())
            before = set(sys.modules)
            module = load_module(self.chapter.verify, f"solman_verify_{self.chapter.id}", self.project.root)
            local = [Path(m.__file__) for name, m in list(sys.modules.items())
                     if name not in before and getattr(m, "__file__", None) and name != module.__name__
                     and is_local(Path(m.__file__), self.project.root)]
            self.cache.record_imports(local + [p for p in self.cache.imports() if p.exists()])
            self._real = values_of(module)
        return self._real

    def __getitem__(self, name: str):
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def save(self) -> None:
        """Store the results known now (cached or freshly computed) under the current verify key."""
        from .values import _UNSET

        stored = {}
        for name, value in self._values.items():
            meta = {"key": value.key, "path": str(value.path), "line": value.line}
            if isinstance(value, CachedValue) and "result" in value._meta:
                result = value._meta["result"]
            else:
                real = self._real[name] if self._real is not None else None
                result = real._result if real is not None else _UNSET
            if result is not _UNSET and picklable(result):
                meta["result"] = result
            stored[name] = meta
        self.cache.store("values", self.cache.verify_key(), stored)


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


def picklable(obj: object) -> bool:
    try:
        pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # a value pickle cannot handle is simply recomputed next time
        return False
    return True


def is_local(file: Path, root: Path) -> bool:
    from .values import is_author_file

    return is_author_file(file, root)
