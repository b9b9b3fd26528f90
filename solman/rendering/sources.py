"""The LaTeX sources each PDF is compiled from.

A target (see ``targets``) is one PDF. Its inputs are the chapters' rendered ``.tex``, for the solutions edition each chapter's status
file and appendix section, the rendered shell around them, and the static files of
``templates/`` (the style). The digest of a target is a hash of all of them; it is stamped
into the PDF and recorded in the manifest. Each PDF also embeds its provenance (the digest,
the input hashes, and every question and value its chapters print), so that any copy of it
can be checked against today's sources.
"""

from __future__ import annotations

import hashlib
import json
import logging
import string
import subprocess
from dataclasses import dataclass, field, replace

from solman.rendering.appendix import chapter_entries, render_appendix, status_file
from solman.values.cache import ChapterCache, ChapterValues, ProjectCache, content_hash, engine_hash, file_hash, round_trips
from solman.values.filters import text
from solman.errors import Location, SolmanError, TemplateError, raise_collected
from solman.build.manifest import FORMAT, render_record, tool_versions
from solman.project.language import STYLE, language, language_style
from solman.project.printing import STYLE as PRINTING_STYLE
from solman.project.printing import printing_style
from solman.project.settings import EDITIONS, Chapter, Project
from solman.rendering.render import Rendered, render_chapter, render_shell
from solman.checking.sensitivity import Sensitivity, measured_prints
from solman.project.targets import Target, chapter_numbers, provenance_file
from solman.checking.testrun import TestResults
from solman.values.evaluation import ValueFunction, load_module, values_of

log = logging.getLogger("solman")

PLACEHOLDERS = {"digest": "solman-digest", "commit": "solman-commit", "tools": "solman-tools"}
SOURCE = "source:"  # inputs named so are project files: verify modules and what their values and tests read


@dataclass
class Sources:
    """Every generated file of a build, and for each target its inputs, digest and provenance."""

    chapters: dict[tuple[str, str], Rendered] = field(default_factory=dict)
    appendices: dict[str, Rendered] = field(default_factory=dict)  # chapter id -> its appendix section
    entries: dict[str, list[dict]] = field(default_factory=dict)  # chapter id -> appendix entries
    statuses: dict[str, bytes] = field(default_factory=dict)  # chapter id -> its status file
    outcomes: dict[str, dict[str, str]] = field(default_factory=dict)  # chapter id -> test name -> outcome
    shells: dict[str, Rendered] = field(default_factory=dict)
    static: dict[str, bytes] = field(default_factory=dict)
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)  # target -> file -> sha256
    digests: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, dict] = field(default_factory=dict)

    def merge(self, other: Sources) -> None:
        """Add the generated files, inputs and digests of ``other`` (a build assembles in groups)."""
        for name in ("chapters", "appendices", "entries", "statuses", "outcomes", "shells", "static", "inputs",
                     "digests", "provenance"):
            getattr(self, name).update(getattr(other, name))

    def rendered(self) -> list[Rendered]:
        return [*self.chapters.values(), *self.appendices.values(), *self.shells.values()]

    def files(self) -> dict[str, bytes]:
        """Every generated file to write under build/tex, by relative name (provenance aside)."""
        files = dict(self.static)
        files.update({f"status/{c}.tex": data for c, data in self.statuses.items()})
        for rendered in self.rendered():
            files[rendered.name] = rendered.text.encode("utf-8")
            files.update(rendered.figures)
        return files

    def provenance_json(self, target: str) -> bytes:
        """What the target's PDF embeds (written only for targets that are compiled)."""
        return json.dumps(self.provenance[target], separators=(",", ":"), ensure_ascii=False).encode()


def load_values(project: Project, chapter: Chapter) -> dict[str, ValueFunction]:
    """The values a chapter's template sees."""
    module = load_module(chapter.verify, f"solman_verify_{chapter.id}", project.root, project.timeout)
    return values_of(module)


def render_chapters(project: Project, targets: list[Target], objects: bool = False
                    ) -> dict[tuple[str, str], Rendered]:
    """Every chapter edition the targets need; all broken chapters are reported at once.

    Cached renders are stored without the printed objects, so a build that reuses them never
    imports sympy; ``objects=True`` (verification, answer keys) brings them back.
    """
    rendered: dict[tuple[str, str], Rendered] = {}
    errors: list[SolmanError] = []
    needed = {(c, t.edition) for t in targets for c in t.chapters}
    for chapter in project.chapters:
        editions = [e for e in EDITIONS if (chapter.id, e) in needed]
        if not editions:
            continue
        cache = ChapterCache(project, chapter)
        try:
            values = None
            fresh = []
            for edition in editions:
                key = cache.render_key(edition)
                found = cache.load(f"render-{edition}", key)
                printed = cache.load(f"objects-{edition}", key) if objects and found is not None else None
                if found is not None and objects and printed is None:
                    found = None  # the objects were not kept: render again
                if found is None:
                    log.debug("rendering %s (%s)", chapter.id, edition)
                    values = values or ChapterValues(project, chapter, cache)
                    found = render_chapter(project, chapter, values, edition)
                    fresh.append((edition, found))
                elif printed is not None:
                    found.uses = [replace(u, obj=obj) for u, obj in zip(found.uses, printed)]
                rendered[chapter.id, edition] = found
            if values is not None:
                values.save()  # records what the values read: part of the render key stored below
            for edition, found in fresh:
                key = cache.render_key(edition)
                cache.store(f"render-{edition}", key, replace(found, uses=[replace(u, obj=None) for u in found.uses]))
                printed = [u.obj for u in found.uses]
                if all(round_trips(obj) for obj in printed):  # else they are rendered again when asked for
                    cache.store(f"objects-{edition}", key, printed)
        except SolmanError as error:
            errors.append(error)
    raise_collected(errors)
    return rendered


def needs_tests(targets: list[Target]) -> list[str]:
    """The chapters whose test results the targets print (the solutions edition's appendix)."""
    return sorted({c for t in targets if t.edition == "solutions" for c in t.chapters})


def assemble(project: Project, targets: list[Target], chapters: dict[tuple[str, str], Rendered],
             results: TestResults, draft: bool = False, sensitivity: Sensitivity | None = None) -> Sources:
    """Everything the targets are compiled from, with their digests and provenance; a ``draft`` says
    DRAFT on every page. ``sensitivity`` (when measured) says in the appendix which values are pinned."""
    sources = Sources(chapters=chapters)
    numbers = chapter_numbers(project)
    figures = {}  # chapter id -> (pinned, printed)
    for chapter_id in needs_tests(targets):
        rendered = chapters[chapter_id, "solutions"]
        sources.entries[chapter_id] = entries = chapter_entries(rendered, results, sensitivity, project.language)
        if sensitivity is not None:
            figures[chapter_id] = sensitivity.figure({u.key for u in measured_prints(rendered.uses)})
        sources.statuses[chapter_id] = status_file(entries, figures.get(chapter_id))
        sources.appendices[chapter_id] = render_appendix(project, rendered, numbers[chapter_id], entries)
        sources.outcomes[chapter_id] = {test_name(nodeid): test["outcome"]
                                        for nodeid, test in sorted(results.tests.items())
                                        if test["file"] == project.chapter(chapter_id).verify.name}
    sources.static = static_files(project)
    provenance = {"commit": source_commit(project), "tools": tool_versions(project)}
    for target in targets:
        inputs = {name: sha256(data) for name, data in sources.static.items()}
        for chapter_id in target.chapters:
            inputs[chapters[chapter_id, target.edition].name] = sha256(chapters[chapter_id, target.edition].text.encode())
            inputs.update({name: sha256(data) for name, data in chapters[chapter_id, target.edition].figures.items()})
            if target.edition == "solutions":
                inputs[f"status/{chapter_id}.tex"] = sha256(sources.statuses[chapter_id])
                inputs[sources.appendices[chapter_id].name] = sha256(sources.appendices[chapter_id].text.encode())
            for path in ChapterCache(project, project.chapter(chapter_id)).input_files(target.edition):
                inputs[SOURCE + project.relative(path)] = content_hash(path)
        placeholder = render_target_shell(project, target, numbers)
        if draft:
            placeholder = marked_draft(placeholder, project.language)
        if project.variant is not None:
            placeholder = marked_variant(placeholder, project.variant)
        inputs[placeholder.name] = sha256(placeholder.text.encode())
        digest = sha256(json.dumps(inputs, sort_keys=True).encode())
        sources.inputs[target.name] = inputs
        sources.digests[target.name] = digest
        sources.shells[target.name] = stamped(placeholder, {
            "digest": digest, "commit": text(provenance["commit"]),
            "tools": text(", ".join(f"{k} {v}" for k, v in provenance["tools"].items()))})
        sources.provenance[target.name] = {
            "format": FORMAT, "solman": "provenance", "target": target.name, "output": target.output,
            "edition": target.edition, "draft": draft, "digest": digest, "inputs": inputs,
            "chapters": {c: render_record(chapters[c, target.edition]) for c in target.chapters},
            **({"tests": {c: sources.outcomes[c] for c in target.chapters}} if target.edition == "solutions" else {}),
            **({"sensitivity": sensitivity_record(target.chapters, figures, sources.entries)}
               if target.edition == "solutions" and sensitivity is not None else {}),
            **provenance,
        }
    return sources


def sensitivity_record(chapter_ids: list[str], figures: dict[str, tuple[int, int]], entries: dict[str, list[dict]]
                       ) -> dict:
    """The target's sensitivity figure, as its appendix states it, and the values that are not pinned."""
    unpinned = sorted({f"{c}: {v['name']}" for c in chapter_ids for e in entries[c] for v in e["printed"]
                       if v.get("pinned") is False})
    return {"pinned": sum(figures[c][0] for c in chapter_ids), "printed": sum(figures[c][1] for c in chapter_ids),
            "unpinned": unpinned}


def static_files(project: Project) -> dict[str, bytes]:
    """The template files that are copied, not rendered: the style and its companions, subfolders too;
    and the styles of the project's language (solman-language.sty) and printing policy
    (solman-printing.sty), unless templates/ has its own."""
    copied = {name: path.read_bytes() for name, path in project.template_files().items() if not name.endswith(".j2")}
    return {STYLE: language_style(project.language), PRINTING_STYLE: printing_style(project.printing), **copied}


def render_target_shell(project: Project, target: Target, numbers: dict[str, int]) -> Rendered:
    """The target's shell with placeholders for its stamp (digest, commit, tools): cached by content."""
    context = {
        "title": project.title,
        "subtitle": project.subtitle,
        "author": project.author,
        "year": project.year,
        "chapters": [{"id": c, "number": numbers[c], "input": f"chapters/{c}-{target.edition}",
                      "status": f"status/{c}", "appendix": f"appendix/{c}"} for c in target.chapters],
        "provenance": provenance_file(target.name),
        "language": project.language,
        "words": dict(language(project.language).words),
        **PLACEHOLDERS,
    }
    shell = project.template(target.shell)
    key = sha256(json.dumps([file_hash(shell), engine_hash(), target.edition, context]).encode())
    store = ProjectCache(project, "shells")
    found = store.load(target.name, key)
    if found is None:
        found = render_shell(project, target.shell, f"{target.name}.tex", target.edition, context)
        store.store(target.name, key, found)
    return found


# Behind every page, a large grey DRAFT; above its head, a line that says why (and that text extraction finds).
DRAFT_MARK = (r"\usepackage{graphicx,xcolor}\AddToHook{shipout/background}{\put(0.5\paperwidth,-0.5\paperheight)"
              r"{\makebox(0,0){\rotatebox[origin=c]{55}{\resizebox{0.8\paperwidth}{!}{\color[gray]{0.88}\sffamily"
              r"\bfseries $draft}}}}\put(0.5\paperwidth,-8mm){\makebox[0pt]{\footnotesize\sffamily\color[gray]{0.35}"
              r"$draft_line}}}")  # $draft and $draft_line: the language's words (string.Template)


def marked_draft(shell: Rendered, code: str = "en") -> Rendered:
    r"""The shell with DRAFT (in the language ``code``) across every page, added on the ``\begin{document}``
    line (its source map holds)."""
    if r"\begin{document}" not in shell.text:
        raise TemplateError(f"{shell.template} has no \\begin{{document}}: a draft cannot be marked",
                            location=Location(shell.template))
    words = language(code).words
    mark = string.Template(DRAFT_MARK).substitute(draft=words["draft"], draft_line=words["draft_line"])
    return replace(shell, text=shell.text.replace(r"\begin{document}", mark + r"\begin{document}", 1))


# A student's variant: its id (and the student's name) at the foot of every page, set as a macro that a
# project's solman.sty may redefine.
VARIANT_MARK = (r"\providecommand{\solmanvariantmark}[1]{\AddToHook{shipout/foreground}{\put(0.5\paperwidth,"
                r"-\paperheight+7mm){\makebox[0pt]{\normalfont\footnotesize #1}}}}\solmanvariantmark{$label}")


def marked_variant(shell: Rendered, variant) -> Rendered:
    r"""The shell with the variant's id and name on every page, added on the ``\begin{document}`` line."""
    if r"\begin{document}" not in shell.text:
        raise TemplateError(f"{shell.template} has no \\begin{{document}}: a variant cannot be marked",
                            location=Location(shell.template))
    label = text(f"{variant.id} ({variant.name})" if variant.name else variant.id)
    mark = string.Template(VARIANT_MARK).substitute(label=label)
    return replace(shell, text=shell.text.replace(r"\begin{document}", mark + r"\begin{document}", 1))


def stamped(shell: Rendered, stamp: dict[str, str]) -> Rendered:
    """The shell with its placeholders replaced (same lines, so its source map still holds)."""
    filled = shell.text
    for name, value in stamp.items():
        filled = filled.replace(PLACEHOLDERS[name], value)
    return replace(shell, text=filled)


def source_commit(project: Project) -> str:
    """The git commit the sources are at, marked when there are uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=project.root, capture_output=True,
                              text=True, check=True).stdout.strip()
        # --no-optional-locks: git status would otherwise refresh .git/index, and solman writes only build/
        dirty = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
                               cwd=project.root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not in a git repository"
    return f"{head} with uncommitted changes" if dirty else head


def test_name(nodeid: str) -> str:
    """A test as the appendix and drift reports name it: its function, with parameters."""
    return nodeid.split("::")[-1]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
