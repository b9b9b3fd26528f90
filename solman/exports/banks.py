"""``invoke export --format moodle|qti``: question banks for learning platforms, from the rendered chapters.

Only chapters whose tests pass are exported, as only those are published as PDFs: the numbers a
platform grades with are tested ones.

A bank is one chapter's items (solman.exports.items) with their text converted to HTML
(solman.exports.html) and their figures as image files (solman.exports.pictures). The same
rendered LaTeX and the same answer key feed the PDF, ``invoke keys`` and these banks, so a platform
grades with the numbers the manual prints. What cannot be carried over faithfully (an environment
a platform cannot show, an exact answer with no finite decimal and no ``tol=``) is a warning at the
question's line in the author's template.

A variant chapter (one with ``@parameter`` givens) is exported once per variant, ``v001`` ...
(``--variants N``), each rendered with that variant's givens after the chapter's tests passed for
them, as ``invoke variants`` builds it; the writers then group the questions by question.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from pylatexenc.latex2text import LatexNodes2Text

from solman.errors import ConfigError, Location, VerificationFailure, raise_collected
from solman.exports.html import Converter, float_labels
from solman.exports.items import Item, chapter_items, chapter_macros
from solman.exports.pictures import Pictures
from solman.project.language import language
from solman.project.settings import Project
from solman.rendering.render import Rendered

log = logging.getLogger("solman")

FORMATS = ("moodle", "qti")
DEFAULT_VARIANTS = 5
EXACT_DIGITS = 10  # an exact answer whose decimal needs more digits than this needs tol=


@dataclass
class Entry:
    """One item with its HTML: the question's text, its options, its worked solution."""

    item: Item
    text: str
    options: list[str]
    solution: str
    answer: str  # the answer as the solution prints it (HTML), or ""
    replies: dict[str, str] = field(default_factory=dict)  # "right" and "wrong": the language's feedback

    def feedback(self, correct: bool) -> str:
        """The feedback of a response: right, or what the answer is."""
        return self.replies["right"] if correct else self.replies["wrong"].format(answer=self.answer)


@dataclass
class Bank:
    """One chapter's entries (of one variant, for a variant chapter) and the image files they show."""

    chapter: str
    title: str
    entries: list[Entry]
    files: dict[str, bytes]
    variant: str | None = None


@dataclass
class Export:
    """What ``invoke export --format moodle|qti`` wrote, and its warnings."""

    paths: list[Path]
    warnings: list[str]
    banks: dict[str, list[Bank]]


def export_banks(project: Project, format: str, chapter: str | None = None,
                 variants: int = DEFAULT_VARIANTS, seed: int = 1) -> Export:
    """Write the banks of every chapter (or ``chapter``) in ``format`` under ``build/export/<format>/``."""
    from solman.build.outputs import lock, replace_atomically

    if format not in FORMATS:
        raise ConfigError(f"unknown export format '{format}'",
                          hint="use --format moodle, --format qti or --format overleaf")
    chapters = [project.chapter(chapter)] if chapter else list(project.chapters)
    # Exclusive, as for the Overleaf export: the pictures are drawn in build/export/.pictures, and two exports
    # at once would draw into the same folders.
    with lock(project.build, exclusive=True, doing="exporting"):
        banks, warnings = collect_banks(project, [c.id for c in chapters], variants, seed)
        paths = []
        for chapter_banks in banks.values():
            for name, data in write_format(project, format, chapter_banks).items():
                path = project.build / "export" / format / name
                replace_atomically(path, data)
                paths.append(path)
    for warning in warnings:
        log.warning("%s", warning)
    return Export(paths, warnings, banks)


def write_format(project: Project, format: str, banks: list[Bank]) -> dict[str, bytes]:
    """The files of one chapter's banks: name under build/export/<format>/ -> bytes."""
    if format == "moodle":
        from solman.exports.moodle import moodle_xml

        return {f"{banks[0].chapter}.xml": moodle_xml(banks, f"$course$/top/{plain(project.title)}")}
    from solman.exports.qti import qti_package

    return {f"{banks[0].chapter}.zip": qti_package(banks, plain(project.title))}


def collect_banks(project: Project, chapter_ids: list[str], variants: int = DEFAULT_VARIANTS,
                  seed: int = 1) -> tuple[dict[str, list[Bank]], list[str]]:
    """Chapter id -> its banks (one, or one per variant), and the warnings, from the rendered chapters.

    As ``invoke pdf`` publishes a PDF, a bank is written only when the chapter's tests pass and call every
    value it prints (the test results are cached: right after a build, nothing runs again)."""
    from solman.checking.testrun import failed_tests, test_results, untested_values
    from solman.project.targets import plan_targets
    from solman.rendering.sources import render_chapters

    targets = [t for t in plan_targets(project, edition="solutions") if not t.is_manual
               and set(t.chapters) & set(chapter_ids)]
    rendered = render_chapters(project, targets, objects=True)
    results = test_results(project, [project.chapter(c) for c in chapter_ids])
    raise_collected([*failed_tests(project, results),
                     *untested_values(project, {k: v for k, v in rendered.items() if k[0] in chapter_ids}, results)])
    pictures = Pictures(project)
    banks: dict[str, list[Bank]] = {}
    warnings: list[str] = []
    for chapter_id in chapter_ids:
        chapter = project.chapter(chapter_id)
        if is_variant_chapter(project, chapter):
            banks[chapter_id] = [chapter_bank(project, found, pictures, warnings, variant.id)
                                 for variant, found in variant_renders(project, chapter, variants, seed)]
        else:
            banks[chapter_id] = [chapter_bank(project, rendered[chapter_id, "solutions"], pictures, warnings)]
    pictures.draw(warnings)
    for chapter_banks in banks.values():
        for bank in chapter_banks:
            bank.files.update({name: pictures.files[name] for name in bank.files if name in pictures.files})
    return banks, list(dict.fromkeys(warnings))


def chapter_bank(project: Project, rendered: Rendered, pictures: Pictures, warnings: list[str],
                 variant: str | None = None) -> Bank:
    words = language(project.language).words
    shown: set[str] = set()

    def figure(kind: str, source: str) -> str | None:
        name = pictures.name(kind, source, rendered)
        if name is not None:
            shown.add(name)
        return name

    number = next((n for n, c in enumerate(project.chapters, start=1) if c.id == rendered.chapter), 1)
    converter = Converter(chapter_macros(rendered), figure,
                          words={"corrected": plain(words["corrected"]), "erratum": plain(words["erratum"])},
                          labels=float_labels(rendered.text, number))
    feedback = {"right": html.escape(words["answer_right"]), "wrong": html.escape(words["answer_wrong"])}
    entries = []
    for item in chapter_items(rendered):
        before = len(converter.warnings)
        context = converter.html(item.context)
        entry = Entry(item, (context + "\n" if context else "") + converter.html(item.statement),
                      [converter.inline(option) for option in item.options], converter.html(item.solution),
                      answer_text(converter, item), feedback)
        warnings.extend(located(project, item, w) for w in converter.warnings[before:])
        warnings.extend(located(project, item, w) for w in answer_warnings(item))
        entries.append(entry)
    title = plain(rendered.title or rendered.chapter or "")
    return Bank(rendered.chapter or "", title, entries, {name: b"" for name in shown}, variant)


def answer_text(converter: Converter, item: Item) -> str:
    if item.answer is None:
        return ""
    if item.answer["kind"] == "option":
        return f"({item.answer['value']})"
    if item.answer["kind"] == "boolean" and not item.answer["latex"]:
        return "true" if item.answer["value"] else "false"
    if item.answer["kind"] == "text":
        return html.escape(str(item.answer["value"]), quote=False)
    return converter.inline(f"${item.answer['latex']}$") if item.answer["latex"] else str(item.answer["value"])


def answer_warnings(item: Item) -> list[str]:
    """What a platform could not grade as the manual means it."""
    answer = item.answer
    if item.kind == "multichoice":
        if answer is None:
            return ["a multiple-choice question without answer= is exported without a correct option"]
        if not item.options:
            return ["a multiple-choice question without \\begin{options} ... \\end{options} has no options to export"]
        if not 0 <= ord(answer["value"]) - ord("A") < len(item.options):
            return [f"the answer ({answer['value']}) is not one of the {len(item.options)} options"]
    if item.kind == "truefalse" and answer is None:
        return ["a true/false question without answer= is exported without its truth value"]
    if item.kind == "essay" and answer is None and not item.by_hand:
        return ["an open question without answer= gives graders no answer: give it answer=value, or "
                "kind=\"essay\" when its answer is reasoning (a proof, an explanation) graded by hand"]
    if item.kind == "numerical" and answer["tolerance"] == 0 and not short_decimal(answer["value"]):
        return [(f"the exact answer {answer['exact'] or answer['value']} has no short decimal, so a platform "
                 "cannot accept it without a tolerance: give question(..., tol=...)")]
    return []


def short_decimal(value: float) -> bool:
    return len(repr(float(value)).replace("-", "").replace(".", "").lstrip("0")) <= EXACT_DIGITS


def located(project: Project, item: Item, message: str) -> str:
    where = Location.of(project.root / item.template, item.line, project.root) if item.template else None
    return f"{where}: export: question {item.id}: {message}" if where else f"export: question {item.id}: {message}"


def plain(latex: str) -> str:
    """LaTeX text (a title) as plain text."""
    return " ".join(LatexNodes2Text(math_mode="verbatim").latex_to_text(latex).split())


# --- variant chapters ---------------------------------------------------------------------------

def is_variant_chapter(project: Project, chapter) -> bool:
    from solman.rendering.sources import load_values
    from solman.variants.params import parameters_of

    return bool(parameters_of(load_values(project, chapter)))


def variant_renders(project: Project, chapter, count: int, seed: int):
    """Each variant (``v001`` ...) with its solutions edition, rendered after its tests passed for its givens."""
    from solman.rendering.render import render_chapter
    from solman.rendering.sources import load_values
    from solman.variants.builds import numbered_variants
    from solman.variants.params import selected
    from solman.variants.stress import run_seeds

    chosen = numbered_variants(count, seed)
    runs, _, _, _ = run_seeds(str(project.root), chapter.id, [v.seed for v in chosen], {}, None)
    failed = [(v, run) for v, run in zip(chosen, runs) if run.errors]
    if failed:
        variant, run = failed[0]
        raise VerificationFailure(f"variant {variant.id} of chapter {chapter.id} fails its tests, so it is not exported",
                                  details=run.errors[:3],
                                  hint=f"invoke stress --chapter {chapter.id} shows which givens break them")
    renders = []
    for variant in chosen:
        with selected(variant.seed):
            values = load_values(replace(project, variant=variant), chapter)
            renders.append((variant, render_chapter(project, chapter, values, "solutions")))
    return renders
