"""What a build makes, and the LaTeX sources each PDF is compiled from.

A target is one PDF: the whole manual in one edition, or one chapter in one edition. Its
sources are the chapters' rendered ``.tex``, the rendered shell around them, and the static
files of ``templates/`` (the style). The digest of a target is a hash of all of them; it is
stamped into the PDF and recorded in the manifest, so a PDF can always be traced back to
exactly what it was built from.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field

from .errors import SolmanError, raise_collected
from .project import EDITIONS, Chapter, Project
from .rendering import Rendered, render_chapter, render_shell
from .values import ValueFunction, load_module, values_of

log = logging.getLogger("solman")

DIGEST_PLACEHOLDER = "solman-digest-placeholder"


@dataclass(frozen=True)
class Target:
    name: str  # base name of the .tex under build/tex
    edition: str
    chapters: tuple[str, ...]
    shell: str  # template in templates/
    output: str  # PDF path under build/

    @property
    def is_manual(self) -> bool:
        return self.shell == "manual.tex.j2"


@dataclass
class Sources:
    """Every generated file of a build, and for each target its inputs and digest."""

    chapters: dict[tuple[str, str], Rendered] = field(default_factory=dict)
    shells: dict[str, Rendered] = field(default_factory=dict)
    static: dict[str, bytes] = field(default_factory=dict)
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)  # target -> file -> sha256
    digests: dict[str, str] = field(default_factory=dict)

    def files(self) -> dict[str, bytes]:
        """Every file to write under build/tex, by relative name."""
        files = dict(self.static)
        for rendered in [*self.chapters.values(), *self.shells.values()]:
            files[rendered.name] = rendered.text.encode("utf-8")
        return files


def plan_targets(project: Project, chapter: str | None = None, edition: str | None = None) -> list[Target]:
    """The PDFs to build: everything, or one chapter's, or one edition's."""
    editions = [edition] if edition else list(EDITIONS)
    chapters = [project.chapter(chapter)] if chapter else list(project.chapters)
    targets = []
    if chapter is None:
        all_ids = tuple(c.id for c in project.chapters)
        for ed in editions:
            output = "manual.pdf" if ed == "solutions" else "problems.pdf"
            targets.append(Target(f"manual-{ed}", ed, all_ids, "manual.tex.j2", output))
    for c in chapters:
        for ed in editions:
            targets.append(Target(f"{c.id}-{ed}", ed, (c.id,), "chapter.tex.j2", f"chapters/{c.id}-{ed}.pdf"))
    return targets


def load_values(project: Project, chapter: Chapter) -> dict[str, ValueFunction]:
    """The values a chapter's template sees."""
    module = load_module(chapter.verify, f"solman_verify_{chapter.id}", project.root)
    return values_of(module)


def assemble(project: Project, targets: list[Target]) -> Sources:
    """Render every chapter and shell the targets need; report all broken chapters at once."""
    sources = Sources()
    errors: list[SolmanError] = []
    needed = {(c, t.edition) for t in targets for c in t.chapters}
    for chapter in project.chapters:
        editions = [e for e in EDITIONS if (chapter.id, e) in needed]
        if not editions:
            continue
        try:
            values = load_values(project, chapter)
            for edition in editions:
                log.debug("rendering %s (%s)", chapter.id, edition)
                sources.chapters[chapter.id, edition] = render_chapter(project, chapter, values, edition)
        except SolmanError as error:
            errors.append(error)
    raise_collected(errors)
    sources.static = {
        path.name: path.read_bytes()
        for path in sorted(project.templates.iterdir())
        if path.is_file() and not path.name.endswith(".j2")
    }
    for target in targets:
        shell = render_target_shell(project, target, DIGEST_PLACEHOLDER)
        inputs = {name: sha256(data) for name, data in sources.static.items()}
        for chapter_id in target.chapters:
            rendered = sources.chapters[chapter_id, target.edition]
            inputs[rendered.name] = sha256(rendered.text.encode())
        inputs[shell.name] = sha256(shell.text.encode())
        digest = sha256(json.dumps(inputs, sort_keys=True).encode())
        sources.inputs[target.name] = inputs
        sources.digests[target.name] = digest
        sources.shells[target.name] = render_target_shell(project, target, digest)
    return sources


def render_target_shell(project: Project, target: Target, digest: str) -> Rendered:
    position = {c.id: number for number, c in enumerate(project.chapters, start=1)}
    context = {
        "title": project.title,
        "subtitle": project.subtitle,
        "author": project.author,
        "year": project.year,
        "chapters": [{"id": c, "input": f"chapters/{c}-{target.edition}", "number": position[c]}
                     for c in target.chapters],
        "digest": digest,
    }
    return render_shell(project, target.shell, f"{target.name}.tex", target.edition, context)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
