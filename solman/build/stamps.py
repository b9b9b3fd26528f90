"""Whether a build has anything to do, decided from file hashes alone: no rendering, no sympy.

The stamp of a target hashes everything its PDF depends on: the render keys of its chapters
(templates, verify modules and the project files their values read, installed packages,
solman's code), for the solutions edition what its tests read too, the templates folder and
the project's settings. A target whose published PDF carries the same
stamp, and whose PDF file is the one recorded, is up to date.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from solman.values.cache import ChapterCache, engine_hash, file_hash, shared_templates
from solman.build.manifest import load_outputs, records_by_output
from solman.project.settings import Project
from solman.project.targets import Target


def target_stamps(project: Project, targets: list[Target]) -> dict[str, str]:
    """The stamp of each target (each chapter's render key is computed once, however many targets share it)."""
    files = project.template_files()
    templates = hashlib.sha256(json.dumps([[name, file_hash(path)] for name, path in files.items()]).encode()).hexdigest()
    settings = [project.title, project.subtitle, project.author, project.year, [c.id for c in project.chapters],
                project.language, project.printing.setting()]
    keys: dict[tuple[str, str], str] = {}
    shared = shared_templates(project.root / "chapters")
    stamps = {}
    for target in targets:
        for c in target.chapters:
            if (c, target.edition) not in keys:
                cache = ChapterCache(project, project.chapter(c))
                keys[c, target.edition] = cache.render_key(target.edition, shared) + (
                    cache.tests_key() if target.edition == "solutions" else "")  # its appendix: the test results
        parts = {"engine": engine_hash(), "templates": templates, "settings": settings,
                 "chapters": [keys[c, target.edition] for c in target.chapters]}
        stamps[target.name] = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
    return stamps


def up_to_date(project: Project, targets: list[Target], stamps: dict[str, str], draft: bool = False
               ) -> dict[str, dict] | None:
    """The manifest's record of each target's PDF, by output, when every one was built from exactly
    today's sources (``stamps``) and is not a draft unless ``draft``; None when there is something to build."""
    try:
        outputs = load_outputs(project.build / "manifest.json")
    except Exception:  # an absent or unreadable manifest just means: build
        return None
    records = records_by_output(outputs)
    for target in targets:
        record = records.get(target.output)
        pdf = project.build / target.output
        if record is None or record.get("stamp") != stamps[target.name] or not pdf.is_file():
            return None
        if record.get("draft") and not draft:  # the same sources, but their checks failed
            return None
        if hashlib.sha256(pdf.read_bytes()).hexdigest() != record["pdf"]:
            return None
    return records


def published(project: Project, manifest: dict, target: Target, digest: str) -> dict | None:
    """The record of the PDF in build/ if it was built from exactly these sources (same digest)."""
    record = manifest["outputs"].get(digest)
    pdf: Path = project.build / target.output
    if record is None or record["output"] != target.output or not pdf.is_file():
        return None
    return record if hashlib.sha256(pdf.read_bytes()).hexdigest() == record["pdf"] else None
