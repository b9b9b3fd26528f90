"""The verification appendix: for every question, the values it prints and the tests that check them.

A question's tests are those that call its values and those declared for it with ``@checks``
(``solman.values.declarations``). Its status, the mark beside its solution: *verified* (every value it
prints is called by a passing test), *failing* (one of its tests fails), *untested* (a value it
prints is called by no passing test), or *reasoning* (it prints no computed value: nothing
computed to check, whatever tests are declared for it).

Each chapter gets two generated files for the solutions edition: ``status/<id>.tex`` sets
the status of every solution (read in the preamble, so each solution can carry a margin mark
linking to its entry) and ``appendix/<id>.tex`` is the chapter's part of the appendix, rendered
from ``templates/appendix.tex.j2``.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from solman.project.language import language
from solman.project.settings import Project
from solman.rendering.render import Rendered, render_shell
from solman.checking.testrun import TestResults

if TYPE_CHECKING:
    from solman.checking.sensitivity import Sensitivity

VERIFIED, FAILING, UNTESTED, REASONING = "verified", "failing", "untested", "reasoning"


def value_status(tests: list[tuple[str, str]]) -> str:
    """Verified by a passing test, failing when any of its tests fails, untested otherwise."""
    outcomes = {outcome for _, outcome in tests}
    if outcomes & {"failed", "error"}:
        return FAILING
    return VERIFIED if "passed" in outcomes else UNTESTED


def chapter_entries(rendered: Rendered, results: TestResults, sensitivity: Sensitivity | None = None,
                    code: str = "en") -> list[dict]:
    """One entry per question (and one for values printed outside questions, labelled in the language
    ``code``), with statuses and the tests declared for it; with ``sensitivity``, each printed value says
    whether it is pinned (True, False, or None: not measured)."""
    entries = []
    groups = [(q.id, q.label, f"q:{rendered.chapter}:{q.id}") for q in rendered.questions]
    if any(u.question is None for u in rendered.uses):
        groups.append((None, language(code).words["chapter_text"], f"q:{rendered.chapter}:"))
    for question, label, anchor in groups:
        values = {}
        for use in rendered.uses:
            if use.question == question and use.value not in values:
                tests = results.tests_of(use.key)
                values[use.value] = {"name": use.value, "given": use.role == "problem",
                                     "status": value_status(tests),
                                     "pinned": sensitivity.pinned(use.key) if sensitivity is not None else None,
                                     "tests": [{"name": name, "outcome": outcome} for name, outcome in tests]}
        declared = results.declaring(rendered.chapter, question) if question is not None else []
        statuses = {v["status"] for v in values.values()}
        if declared and value_status(declared) == FAILING:
            statuses.add(FAILING)
        status = FAILING if FAILING in statuses else UNTESTED if UNTESTED in statuses else \
            VERIFIED if values else REASONING
        entries.append({"id": question, "label": label, "anchor": anchor, "status": status,
                        "printed": list(values.values()),
                        "checks": [{"name": name, "outcome": outcome} for name, outcome in declared]})
    return entries


def status_file(entries: list[dict], sensitivity: tuple[int, int] | None = None) -> bytes:
    """``\\solmansetstatus{anchor}{status}`` for every question: read before the solutions; with the
    chapter's sensitivity figure, ``\\solmansensitivity{pinned}{printed}`` (summed for the appendix's intro)."""
    lines = [f"\\solmansetstatus{{{e['anchor']}}}{{{e['status']}}}" for e in entries if e["id"] is not None]
    if sensitivity is not None:
        lines.append(f"\\solmansensitivity{{{sensitivity[0]}}}{{{sensitivity[1]}}}")
    return ("\n".join(lines) + "\n").encode()


def render_appendix(project: Project, rendered: Rendered, number: int, entries: list[dict]) -> Rendered:
    """The chapter's part of the verification appendix (cached by content)."""
    from solman.values.cache import ProjectCache, engine_hash, file_hash

    context = {"chapter": {"id": rendered.chapter, "number": number, "title": rendered.title,
                           "entries": entries},
               "language": project.language, "words": dict(language(project.language).words)}
    key = hashlib.sha256(json.dumps([file_hash(project.template("appendix.tex.j2")), engine_hash(),
                                     context]).encode()).hexdigest()
    store = ProjectCache(project, "appendix")
    found = store.load(rendered.chapter, key)
    if found is None:
        found = render_shell(project, "appendix.tex.j2", f"appendix/{rendered.chapter}.tex", "solutions", context)
        store.store(rendered.chapter, key, found)
    return found
