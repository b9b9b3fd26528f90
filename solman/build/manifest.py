"""The manifest, ``build/manifest.json``: what every PDF in ``build/`` was built from.

``renders`` holds, by the hash of each rendered chapter ``.tex``, the questions of that
chapter and every value it printed (expression, LaTeX, hash of the value, question, template
line). ``outputs`` holds, by digest, each PDF: its path, edition, the hashes of its inputs,
the chapter renders it contains, the source commit and tool versions, its page count, its
LaTeX warnings, for the solutions edition its sensitivity figure (values pinned, printed, and
those not pinned; see ``sensitivity``), and in ``"pdf"`` the sha256 of the PDF file's bytes. Every output has its
``"pdf"``, whether compiled by this build or kept from an earlier one. A PDF's digest is
stamped in its metadata, so any copy of it leads back to its record; the PDF also embeds its
own provenance (see ``sources``). Builds are byte-reproducible, so ``"pdf"`` is also the
sha256 of any faithful copy: ``invoke verify`` calls a PDF current only when its bytes hash
to the ``"pdf"`` of the record of its digest (see ``verification.drift_check``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from importlib import metadata
from pathlib import Path

from typing import TYPE_CHECKING

from solman.errors import DriftError, Location

if TYPE_CHECKING:
    from solman.project.settings import Project
    from solman.rendering.render import Rendered

FORMAT = 4  # 4: outputs record the project files read, test outcomes, drafts


def render_record(rendered: Rendered) -> dict:
    return {
        "name": rendered.name,
        "chapter": rendered.chapter,
        "edition": Path(rendered.name).stem.rpartition("-")[2],
        "title": rendered.title,
        "template": rendered.template,
        "questions": [dataclasses.asdict(q) for q in rendered.questions],
        "values": [u.record() for u in rendered.uses],
    }


def output_record(provenance: dict, pdf_sha: str, warnings: list[dict]) -> tuple[dict, dict[str, dict]]:
    """The manifest's record of one PDF, and the chapter renders it refers to (by hash)."""
    renders = {provenance["inputs"][r["name"]]: r for r in provenance["chapters"].values()}
    record = {key: value for key, value in provenance.items() if key not in ("chapters", "format", "solman")}
    record["chapters"] = {chapter: provenance["inputs"][r["name"]] for chapter, r in provenance["chapters"].items()}
    record["pdf"] = pdf_sha
    record["warnings"] = warnings
    return record, renders


def records_by_output(outputs: dict) -> dict[str, dict]:
    """The manifest's record of each PDF (its ``outputs``, by digest), by its path under ``build/``."""
    return {record["output"]: record for record in outputs.values()}


def empty_manifest() -> dict:
    return {"format": FORMAT, "outputs": {}, "renders": {}}


def load_manifest(path: Path) -> dict:
    """The manifest at ``path``, or an empty one when there is none yet."""
    if not path.exists():
        return empty_manifest()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DriftError(f"the manifest cannot be read: {exc}", location=Location(str(path)),
                         hint="run `invoke clean` and `invoke pdf` to rebuild from scratch") from None
    if data.get("format") != FORMAT:
        raise DriftError(f"the manifest has format {data.get('format')!r}, this solman writes {FORMAT}",
                         location=Location(str(path)), hint="run `invoke pdf` to rebuild")
    return data


OUTPUTS_FIRST = f'{{"format":{FORMAT},"outputs":'  # how a manifest of this format made by merge() begins


def load_outputs(path: Path) -> dict:
    """The manifest's ``outputs`` at ``path``, all the no-op check reads: decoded alone when they come first,
    as ``merge`` writes them, since the renders after them are most of the file (1.2 of the flagship's 1.3 MB,
    8 ms of its no-op). Raises as ``load_manifest`` does, or ``json.JSONDecodeError``."""
    text = path.read_text(encoding="utf-8")
    if text.startswith(OUTPUTS_FIRST):
        return json.JSONDecoder().raw_decode(text, len(OUTPUTS_FIRST))[0]
    return load_manifest(path)["outputs"]


def merge(old: dict, renders: dict[str, dict], outputs: list[dict]) -> dict:
    """The manifest after a build: outputs not rebuilt now are kept; renders no output refers to are dropped."""
    rebuilt = {record["output"] for record in outputs}
    kept = {d: r for d, r in old.get("outputs", {}).items() if r["output"] not in rebuilt}
    outputs_by_digest = {**kept, **{record["digest"]: record for record in outputs}}
    every_render = {**old.get("renders", {}), **renders}
    used = {sha for record in outputs_by_digest.values() for sha in record["chapters"].values()}
    return {  # the outputs before the renders: see load_outputs
        "format": FORMAT,
        "outputs": dict(sorted(outputs_by_digest.items(), key=lambda item: item[1]["output"])),
        "renders": {sha: r for sha, r in sorted(every_render.items()) if sha in used},
    }


def tool_versions(project: Project) -> dict[str, str]:
    """Versions of everything that shapes the output (asked once per installation, then cached)."""
    import shutil

    from solman.values.cache import ProjectCache, engine_hash

    programs = [shutil.which(p) or p for p in ("pdflatex", "latexmk")]
    key = engine_hash() + "".join(f"{p}:{os.stat(p).st_mtime_ns}" if os.path.exists(p) else p for p in programs)
    store = ProjectCache(project, "tools")
    found = store.load("versions", key)
    if found is None:
        found = ask_versions()
        store.store("versions", key, found)
    return found


def ask_versions() -> dict[str, str]:
    import platform

    from solman import __version__

    versions = {"python": platform.python_version(), "solman": __version__}  # its code's own version, installed or not
    for package in ("jinja2", "sympy", "numpy", "scipy", "matplotlib", "pylatexenc"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    for program, pattern in (("pdflatex", r"pdfTeX [^\n]*"), ("latexmk", r"Version [\w.]+")):
        try:
            out = subprocess.run([program, "--version"], capture_output=True, text=True, check=False).stdout
            match = re.search(pattern, out)
            versions[program] = match[0] if match else out.splitlines()[0]
        except (OSError, IndexError):
            versions[program] = "not found"
    return versions
