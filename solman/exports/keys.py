"""Answer keys for autograders: one JSON file per chapter, from the values the PDF prints.

A question declares its answer with ``question(..., answer=value)``; the key carries that
value (an option letter, a boolean, a number, a matrix, an expression) together with the
tolerance implied by how the solution prints it. The format is documented by the JSON Schema
``solman/exports/answer-key.schema.json``.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path

from solman.checking.display import parse_spec
from solman.build.outputs import replace_atomically
from solman.project.settings import Project
from solman.rendering.render import Rendered, Use
from solman.rendering.sources import render_chapters, sha256
from solman.project.targets import plan_targets
from solman.values.evaluation import is_matrix, is_sympy, matrix_rows

SCHEMA_ID = "solman-answer-key/1"


def schema() -> dict:
    return json.loads(resources.files("solman.exports").joinpath("answer-key.schema.json").read_text())


def chapter_key(rendered: Rendered) -> dict:
    """The answer key of one chapter's solutions edition."""
    questions = []
    for question in rendered.questions:
        answer = None
        if question.answer is not None:
            uses = [u for u in rendered.uses if u.question == question.id and u.expr == question.answer]
            printed = next((u for u in uses if u.latex is not None), None)
            answer = describe(question.kind, uses[0].obj, printed, question.tolerance)
        questions.append({"id": question.id, "label": question.label, "type": question.kind,
                          "points": question.points, "problem": question.problem, "answer": answer})
    return {"schema": SCHEMA_ID, "chapter": rendered.chapter, "title": rendered.title,
            "source": sha256(rendered.text.encode()), "questions": questions}


def describe(kind: str, obj: object, printed: Use | None, tolerance: float | None = None) -> dict:
    """One answer: its kind, value, exact form and tolerance (``tolerance``, the question's ``tol=``, if
    given; else the printed precision's)."""
    latex = printed.latex if printed else whole_latex(obj)
    if kind == "mcq":
        return {"kind": "option", "value": str(obj), "latex": latex or str(obj)}
    if kind == "tf" or isinstance(obj, bool) or type(obj).__name__ == "bool_":
        return {"kind": "boolean", "value": bool(obj), "latex": latex}
    tolerance = printed_tolerance(printed, obj) if tolerance is None else tolerance
    if is_matrix(obj) and all(_is_number(x) for x in _flatten(obj)):  # a symbolic matrix is an expression
        rows = matrix_rows(obj)
        return {"kind": "matrix", "value": [[_float(x) for x in row] for row in rows],
                "exact": [[_exact(x) for x in row] for row in rows], "tolerance": tolerance, "latex": latex}
    if isinstance(obj, (list, tuple)) and not is_matrix(obj):
        return {"kind": "list", "value": [_float(x) if _is_number(x) else str(x) for x in obj],
                "exact": [_exact(x) for x in obj], "tolerance": tolerance, "latex": latex}
    if _is_number(obj):
        return {"kind": "number", "value": _float(obj), "exact": _exact(obj), "tolerance": tolerance,
                "latex": latex}
    if isinstance(obj, str):
        return {"kind": "text", "value": obj, "latex": latex}
    return {"kind": "expression", "value": str(obj), "latex": latex}


def whole_latex(obj: object) -> str:
    """The LaTeX of an answer the solution prints only in parts (a tuple's entries in an align, say), as
    ``\\VAR{ answer }`` would print it whole (a dict as its entries), so that graders read it in one place;
    "" for what has no LaTeX."""
    from solman.errors import SolmanError
    from solman.values.filters import latex, text

    try:
        if isinstance(obj, dict):
            return r",\ ".join(rf"\text{{{text(key)}}}\colon " + (rf"\left({whole_latex(value)}\right)"
                                                                   if isinstance(value, dict) else whole_latex(value))
                               for key, value in obj.items())
        if obj is None or isinstance(obj, str):
            return rf"\text{{{text('none' if obj is None else obj)}}}"
        return latex(obj)
    except (SolmanError, ValueError, TypeError):
        return ""


def printed_tolerance(printed: Use | None, obj: object) -> float:
    """Half a unit of the last digit the solution shows; 0 for exact rationals, 1e-12 for other exact values."""
    if printed is not None:
        name, digits = parse_spec(printed.filter)
        if name in ("fixed", "percent") and digits is not None:
            return 0.5 * 10.0 ** (-digits) / (100 if name == "percent" else 1)
        if name in ("sig", "sci") and digits is not None:
            magnitude = max((abs(_float(x)) for x in _flatten(obj)), default=0.0)
            exponent = Decimal(magnitude).adjusted() if magnitude else 0
            return 0.5 * 10.0 ** (exponent - digits + 1)
    return 0.0 if all(_is_rational(x) for x in _flatten(obj)) else 1e-12


CSV_COLUMNS = ("chapter", "question", "label", "type", "points", "answer", "tolerance", "exact", "latex")


def write_keys(project: Project) -> list[Path]:
    """Write ``build/keys/<chapter>.json`` and, beside it, ``<chapter>.csv`` (``key_csv``) for every chapter;
    return the JSON files."""
    from solman.build.outputs import lock

    targets = [t for t in plan_targets(project, edition="solutions") if not t.is_manual]
    # Shared: keys reads the caches beside other readers, never while a build writes them; two keys
    # commands write the same files, each by one atomic rename.
    with lock(project.build, exclusive=False):
        rendered = render_chapters(project, targets, objects=True)
        written = []
        for chapter in project.chapters:
            path = project.build / "keys" / f"{chapter.id}.json"
            key = chapter_key(rendered[chapter.id, "solutions"])
            replace_atomically(path, (json.dumps(key, indent=1, ensure_ascii=False) + "\n").encode())
            table = path.with_suffix(".csv")
            replace_atomically(table, key_csv(key).encode())
            written.append(path)
    return written


def key_csv(key: dict) -> str:
    """One chapter's key as a table for graders: one row per question, the answer as a grader reads it
    (an option letter, true/false, a number with its tolerance, a matrix's rows)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for question in key["questions"]:
        answer = question["answer"] or {}
        value = answer.get("value", "")
        shown = ("true" if value else "false") if isinstance(value, bool) else \
            json.dumps(value) if isinstance(value, list) else value
        exact = answer.get("exact")
        writer.writerow([key["chapter"], question["id"], question["label"], question["type"],
                         "" if question["points"] is None else question["points"], shown,
                         "" if answer.get("tolerance") is None else answer["tolerance"],
                         json.dumps(exact) if isinstance(exact, list) else exact or "", answer.get("latex", "")])
    return out.getvalue()


# --- values as numbers -----------------------------------------------------------------------

def _flatten(obj: object) -> list[object]:
    if is_matrix(obj):
        return [x for row in matrix_rows(obj) for x in row]
    if isinstance(obj, (list, tuple)):
        return [x for item in obj for x in _flatten(item)]
    return [obj]


def _is_number(obj: object) -> bool:
    if is_sympy(obj):
        return bool(obj.is_number and obj.is_real)  # a complex number is kept as an expression
    return isinstance(obj, (int, float, Fraction)) or type(obj).__module__ == "numpy"


def _is_rational(obj: object) -> bool:
    if is_sympy(obj):
        return bool(obj.is_Rational)
    return isinstance(obj, (int, Fraction)) or type(obj).__name__.startswith("int")


def _float(obj: object) -> float:
    return float(obj.item() if type(obj).__module__ == "numpy" else obj)


def _exact(obj: object) -> str | None:
    """The exact value as a string; None for a float, which has no exact form worth stating."""
    if is_sympy(obj):
        return str(obj)
    if isinstance(obj, Fraction):
        return str(obj)
    if _is_rational(obj):
        return str(int(obj))
    return None
