"""What a build makes: one PDF per target, the manual or one chapter, in one edition."""

from __future__ import annotations

from dataclasses import dataclass

from solman.project.settings import EDITIONS, Project


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

    def selection(self) -> dict:
        """The options of ``plan_targets`` (and ``build``) that select this target alone."""
        if self.is_manual:
            return {"edition": self.edition, "manual": True}
        return {"chapter": self.chapters[0], "edition": self.edition}


def plan_targets(project: Project, chapter: str | None = None, edition: str | None = None,
                 manual: bool = False) -> list[Target]:
    """The PDFs to build: everything, or one chapter's, one edition's, or the manual alone."""
    editions = [edition] if edition else list(EDITIONS)
    chapters = [] if manual else [project.chapter(chapter)] if chapter else list(project.chapters)
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


def provenance_file(target: str) -> str:
    return f"provenance/{target}.json"


def chapter_numbers(project: Project) -> dict[str, int]:
    return {c.id: n for n, c in enumerate(project.chapters, start=1)}
