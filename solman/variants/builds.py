"""``invoke variants``: one chapter built once per student, each variant with its own givens and tests.

A variant is a build of the project restricted to the chapter, with the variant selected (its
parameters draw its givens) and its own build folder, ``build/variants/<chapter>/.work/<variant>``:
its values, test run, caches and PDFs are its own, and the default build is untouched. A variant
whose build fails (its tests fail for its givens, above all) is not published; the others are.
Published: ``build/variants/<chapter>/<variant>/problems.pdf``, ``solutions.pdf`` and ``key.json``,
and the graders' combined key ``key.csv``/``key.json`` beside the variants' folders.

Variants are independent: they run in an executor, a local process pool by default or a Dask
cluster's (``Client.get_executor()``), through one code path. Each variant's seed is derived from
the run's seed and the variant's id, so the same roster and seed give the same PDFs, wherever built.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, as_completed
from contextlib import contextmanager
from pathlib import Path

from solman.errors import (
    ConfigError,
    EnvironmentFailure,
    Location,
    SolmanError,
    ValueFailure,
    VerificationFailure,
    raise_collected,
)
from solman.build.outputs import replace_folder
from solman.project.settings import Project
from solman.variants.params import Variant

log = logging.getLogger("solman")

VARIANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
EDITIONS = {"problems": "problems.pdf", "solutions": "solutions.pdf"}
RESERVED = {"key.json", "key.csv", "stress.html"}  # files beside the variants' folders: no variant is named so


def variants_folder(project: Project, chapter_id: str) -> Path:
    return project.build / "variants" / chapter_id


def variant_seed(seed: int, variant_id: str) -> int:
    """The seed of one variant: a hash of the run's seed and the variant's id (stable across machines)."""
    return int(hashlib.sha256(f"{seed}:{variant_id}".encode()).hexdigest()[:8], 16)


def numbered_variants(count: int, seed: int) -> list[Variant]:
    """``count`` variants, ``v001``, ``v002``, ... (more digits past 999)."""
    if count < 1:
        raise ConfigError(f"--count needs a whole number of at least 1, not {count}", hint="for example --count 4")
    width = max(3, len(str(count)))
    return [Variant(f"v{n:0{width}d}", variant_seed(seed, f"v{n:0{width}d}")) for n in range(1, count + 1)]


def roster_variants(path: Path, seed: int, root: Path) -> list[Variant]:
    """One variant per row of a CSV roster: an ``id`` column (the variant's folder name), an optional ``name``."""
    from solman.errors import read_utf8

    if not path.is_file():
        raise ConfigError(f"no roster at {path}", hint="a CSV file with a header row: id,name")
    text = read_utf8(path, ConfigError, root).removeprefix("\ufeff")  # spreadsheets' "CSV UTF-8" starts with a BOM
    rows = list(csv.reader(io.StringIO(text)))
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    if "id" not in header:
        separator = next((s for s in (";", "\t") if rows and s in rows[0][0]), None)
        raise ConfigError("the roster has no id column", location=Location.of(path, 1, root),
                          hint=(f"its columns are separated by {separator!r}: save it with commas, " if separator else "")
                          + "its first row names the columns: id,name (name is optional)")
    errors, variants, seen = [], [], set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = dict(zip(header, (cell.strip() for cell in row)))
        variant_id, name = cells.get("id", ""), cells.get("name", "")
        if not VARIANT_ID.fullmatch(variant_id):
            errors.append(ConfigError(f"student id {variant_id!r} cannot name a folder", location=Location.of(path, line, root),
                                      hint="use letters, digits, '.', '_' and '-' (starting with a letter or digit)"))
        elif variant_id.casefold() in RESERVED:
            errors.append(ConfigError(f"student id {variant_id!r} is the name of a file beside the variants",
                                      location=Location.of(path, line, root),
                                      hint=f"the variants' folder also holds {', '.join(sorted(RESERVED))}: "
                                      "choose another id"))
        elif variant_id.casefold() in seen:  # 'Ada' and 'ada' are one folder on macOS and Windows
            errors.append(ConfigError(f"student id {variant_id!r} is listed twice", location=Location.of(path, line, root),
                                      hint="each student has one row (ids that differ only in case name one folder "
                                      "on macOS and Windows)"))
        elif (unprintable := unprintable_name(name)) is not None:
            errors.append(ConfigError(f"the name of student {variant_id!r} cannot be printed at the foot of the pages: "
                                      f"{unprintable}", location=Location.of(path, line, root),
                                      hint="write the name without that character (a letter without its accent, say), "
                                      "or leave the name out: the id alone is printed"))
        else:
            seen.add(variant_id.casefold())
            variants.append(Variant(variant_id, variant_seed(seed, variant_id), name))
    raise_collected(errors)
    if not variants:
        raise ConfigError("the roster lists no student", location=Location.of(path, 1, root),
                          hint="one row per student after the header: id,name")
    return variants


def unprintable_name(name: str) -> str | None:
    """Why LaTeX cannot print a student's name on the variant's pages (a character it has no form for), or None."""
    from solman.values.filters import FilterError, text

    try:
        text(name)
    except FilterError as error:
        return str(error).split("; ")[0]
    return None


@dataclasses.dataclass
class Outcome:
    """What became of one variant: published, or the error that stopped it (as text, across processes)."""

    variant: Variant
    error: str | None = None
    category: str = ""


_one_at_a_time = threading.Lock()  # the variant selected is the process's (its environment): one build at a time


def build_variant(root: str, build: str, chapter_id: str, variant: Variant) -> Outcome:
    """Build and publish one variant (in a worker process, local or on a cluster). Every error is returned.

    A Dask worker with several threads would run several at once in one process: they take turns.
    """
    with _one_at_a_time:
        return build_one(root, build, chapter_id, variant)


def build_one(root: str, build: str, chapter_id: str, variant: Variant) -> Outcome:
    from solman.build.pipeline import build as build_pdfs
    from solman.exports.keys import write_keys
    from solman.project.settings import load_project
    from solman.variants.params import selected

    try:
        loaded = load_project(root, build)
        chapter = loaded.chapter(chapter_id)
        work = variants_folder(loaded, chapter_id) / ".work" / variant.id
        # the variants' preambles are the same: their preloaded format is built once, then shared
        project = dataclasses.replace(loaded, build=work, chapters=(chapter,), variant=variant,
                                      formats=work.parent / "formats")
        with selected(variant.seed):
            built = build_pdfs(project, chapter=chapter_id, jobs=1)
            [key] = write_keys(project)
        files = {EDITIONS[target.edition]: (work / target.output).read_bytes() for target in built.targets}
        files["key.json"] = variant_key(key, variant)
        replace_folder(variants_folder(loaded, chapter_id) / variant.id, work, files)
        return Outcome(variant)
    except SolmanError as error:
        return Outcome(variant, error.render(), error.category)
    except Exception as exc:  # noqa: BLE001 (a bug, not the author's: reported with the variant, not lost in a worker)
        return Outcome(variant, f"{type(exc).__name__}: {exc}", "error")


def variant_key(path: Path, variant: Variant) -> bytes:
    """The chapter's answer key with the variant it belongs to (id, student's name, seed): the combined key
    is made from the published folders alone, so it always matches the PDFs beside it."""
    key = json.loads(path.read_text(encoding="utf-8"))
    key["variant"] = {"id": variant.id, "name": variant.name, "seed": variant.seed}
    return (json.dumps(key, indent=1, ensure_ascii=False) + "\n").encode()


def build_variants(project: Project, chapter_id: str, variants: list[Variant], jobs: int | None = None,
                   scheduler: str | None = None) -> list[Path]:
    """Build every variant (``jobs`` at once locally, or on the Dask cluster at ``scheduler``); write the
    combined key of those published. Raises for the variants not published, naming each and its seed."""
    refuse_shared_seeds(variants)
    warn_if_nothing_varies(project, chapter_id)
    folder = variants_folder(project, chapter_id)
    outcomes = []
    try:
        with executor(jobs, scheduler) as pool:
            futures = [pool.submit(build_variant, str(project.root), str(project.build), chapter_id, v)
                       for v in variants]
            for number, future in enumerate(as_completed(futures), start=1):
                outcome = future.result()
                outcomes.append(outcome)
                log.info("variant %d/%d %s (%s)", number, len(variants),
                         "built" if outcome.error is None else "FAILED", outcome.variant.id)
    except KeyboardInterrupt:
        # Some variants may be published already, by workers interrupted after it: the combined key is
        # made again from the folders as they are, so it lists each with the answers of the PDFs beside it.
        interrupted.append(variants_folder_name(project, chapter_id))
        with contextlib.suppress(OSError):
            write_combined_key(folder, variants)
        raise
    order = {v.id: n for n, v in enumerate(variants)}
    outcomes.sort(key=lambda o: order[o.variant.id])
    for outcome in outcomes:  # a variant that failed now keeps no PDFs of an earlier run
        if outcome.error is not None:
            shutil.rmtree(folder / outcome.variant.id, ignore_errors=True)
    written = write_combined_key(folder, variants)
    earlier = [name for name in published_ids(folder) if name not in order]
    if earlier:
        log.warning("%s also holds %d variant(s) of an earlier run, listed in its key too: %s",
                    project.relative(folder), len(earlier), ", ".join(earlier[:5]) + (", ..." if len(earlier) > 5 else ""))
    raise_collected([failure(o) for o in outcomes if o.error is not None])
    return written


def refuse_shared_seeds(variants: list[Variant]) -> None:
    """Two variants with one seed would be one exam under two ids. Seeds are 32-bit hashes, so in a class of a
    thousand this happens about once in ten thousand runs: then another run's seed is needed."""
    first: dict[int, str] = {}
    for variant in variants:
        if variant.seed in first:
            raise ConfigError(f"variants {first[variant.seed]} and {variant.id} have the same seed, {variant.seed}: "
                              "they would be the same exam", hint="choose another --seed")
        first[variant.seed] = variant.id


interrupted: list[str] = []  # the variants' folders of a run interrupted in this process (for its Ctrl-C message)


def variants_folder_name(project: Project, chapter_id: str) -> str:
    return project.relative(variants_folder(project, chapter_id))


def warn_if_nothing_varies(project: Project, chapter_id: str) -> None:
    """A chapter without a parameter gives every student the same givens: allowed (a copy per student, with
    its id on every page), but said, since it is more often a forgotten ``@parameter``."""
    from solman.values.evaluation import load_module, values_of
    from solman.variants.params import parameters_of

    chapter = project.chapter(chapter_id)
    module = load_module(chapter.verify, f"solman_variants_{chapter_id}", project.root, project.timeout)
    if not parameters_of(values_of(module)):
        log.warning("%s: chapter %s declares no @parameter: every variant has the same givens, and differs only "
                    "in the id on its pages", project.relative(chapter.verify), chapter_id)


def failure(outcome: Outcome) -> SolmanError:
    """The error that stopped a variant, named by the variant and its seed (a failing test: exit 6)."""
    kind = {c.category: c for c in (VerificationFailure, ValueFailure, ConfigError)}.get(outcome.category, SolmanError)
    variant = outcome.variant
    return kind(f"variant {variant.id} (seed {variant.seed}) not published",
                details=outcome.error.splitlines(),
                hint=f"reproduce it with SOLMAN_VARIANT={variant.seed}: the chapter's tests "
                "(python -m pytest verify/<chapter>.py) then see that variant's givens")


@contextmanager
def executor(jobs: int | None, scheduler: str | None) -> Iterator[Executor]:
    """A local process pool (``jobs`` processes, one per core by default), or a Dask cluster's executor."""
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise EnvironmentFailure("--scheduler needs dask.distributed, which is not installed",
                                     hint="pip install 'solman-tex[cluster]' (or distributed) where solman runs, "
                                     "and on every worker") from None
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise EnvironmentFailure(f"no Dask scheduler answers at {scheduler}: {exc}",
                                     hint="start one with `dask scheduler` and workers with `dask worker <address>`, "
                                     "all seeing the project's folder at the same path") from None
        with client:
            yield client.get_executor(pure=False)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawned, not forked: a fork of a process with threads (a build's) can inherit a held lock
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def published_ids(folder: Path) -> list[str]:
    """The variants published in ``folder``: its sub-folders holding a variant's key (sorted)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and (p / "key.json").is_file())


def key_rows(folder: Path, variant_ids: list[str]) -> list[dict]:
    """One row per variant and question that has an answer: what a grader compares with."""
    rows = []
    for variant_id in variant_ids:
        key = json.loads((folder / variant_id / "key.json").read_text(encoding="utf-8"))
        if "variant" not in key:  # published before keys named their variant: not listed, rather than wrong
            log.warning("%s/key.json names no variant (an older solman published it): not in the combined key; "
                        "build that variant again", folder / variant_id)
            continue
        variant = Variant(**key["variant"])
        for question in key["questions"]:
            answer = question["answer"]
            if answer is None:
                continue
            rows.append({"variant": variant.id, "name": variant.name, "seed": variant.seed, "question": question["id"],
                         "answer": answer["value"], "exact": answer.get("exact"), "tolerance": answer.get("tolerance", 0)})
    return rows


def cell(obj: object) -> str:
    """A CSV cell: a number or a string as it is, a matrix or list as JSON, nothing as empty."""
    if obj is None:
        return ""
    return str(obj) if isinstance(obj, (str, int, float)) and not isinstance(obj, bool) else json.dumps(obj)


def write_combined_key(folder: Path, variants: list[Variant]) -> list[Path]:
    """``key.json`` and ``key.csv`` (matrices and lists as JSON in their cell) for every variant published in
    ``folder`` (those of ``variants`` first, in their order, then any left by earlier runs), each from its own
    ``key.json``: the answer as a number (or an option's letter), its exact form when it has one, and the
    tolerance. With no variant published, neither file."""
    from solman.build.outputs import replace_atomically

    present = published_ids(folder)
    ids = [v.id for v in variants if v.id in present] + [i for i in present if i not in {v.id for v in variants}]
    if not ids:  # no key of an earlier run stays beside no variant
        for name in ("key.json", "key.csv"):
            (folder / name).unlink(missing_ok=True)
        return []
    rows = key_rows(folder, ids)
    replace_atomically(folder / "key.json", (json.dumps(rows, indent=1, ensure_ascii=False) + "\n").encode())
    text = io.StringIO()
    writer = csv.DictWriter(text, ["variant", "name", "seed", "question", "answer", "exact", "tolerance"],
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "answer": cell(row["answer"]), "exact": cell(row["exact"])})
    replace_atomically(folder / "key.csv", text.getvalue().encode())
    return [folder / "key.json", folder / "key.csv"]
