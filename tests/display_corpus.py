"""A corpus for the display reader that nobody here wrote: sympy's own LaTeX printer tests.

``sympy/printing/tests/test_latex.py`` holds some thousand lines ``assert latex(expr) == r"..."``.
``pairs()`` extracts them with ``ast``: each test function is replayed statement by statement in
a namespace like the test module's (its imports and module-level symbols), so that the local
symbols it defines exist; every ``assert latex(expr) == "..."`` with default settings gives a
pair (expr, latex). Left out: calls with settings (the project prints with sympy's defaults,
matrices aside), expressions holding floating-point numbers (the project refuses to print
those exactly), functions marked XFAIL, and pairs whose assertion does not hold with the
installed sympy.

``measure()`` runs each pair through ``solman.checking.display.compare`` and counts what it reads back
correctly, what it declines as unreadable and what it reads wrongly (read, but not equal).
Run ``python tests/display_corpus.py`` to see the figures and every misread pair.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

MODULE = "sympy.printing.tests.test_latex"


@dataclass
class Figures:
    pairs: int = 0
    read: int = 0
    unreadable: int = 0
    wrong: list[tuple[str, str, str]] = field(default_factory=list)  # (expr source, latex, problem)
    declined: list[tuple[str, str, str]] = field(default_factory=list)


def pairs() -> list[tuple[str, object, str]]:
    """(source of the expression, the expression, its LaTeX) for every usable assertion."""
    import sympy

    module = importlib.import_module(MODULE)
    tree = ast.parse(Path(module.__file__).read_text())
    found = []
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef) or not function.name.startswith("test_"):
            continue
        if any(ast.unparse(d) == "XFAIL" for d in function.decorator_list):
            continue
        namespace = dict(vars(module))
        for statement in function.body:
            pair = assertion(statement)
            if pair is None:
                if isinstance(statement, (ast.Assign, ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
                    quietly(run, ast.Module([statement], []), namespace)
                continue
            source, expected = pair
            expr = quietly(run, ast.Expression(source), namespace)
            if not isinstance(expr, (sympy.Basic, sympy.MatrixBase)) or quietly(expr.atoms, sympy.Float) != set():
                continue
            if quietly(sympy.latex, expr) != expected:
                continue
            found.append((ast.unparse(source), expr, expected))
    return found


def assertion(statement: ast.stmt) -> tuple[ast.expr, str] | None:
    """The expression and string of ``assert latex(expr) == "..."`` without settings, or None."""
    if not isinstance(statement, ast.Assert) or not isinstance(statement.test, ast.Compare):
        return None
    test = statement.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return None
    call, string = test.left, test.comparators[0]
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "latex"
            and len(call.args) == 1 and not call.keywords):
        return None
    if not (isinstance(string, ast.Constant) and isinstance(string.value, str)):
        return None
    return call.args[0], string.value


def run(tree: ast.Module | ast.Expression, namespace: dict):
    """A statement or expression of sympy's test module, run as that module would."""
    if isinstance(tree, ast.Expression):
        return eval(compile(tree, MODULE, "eval"), namespace)
    exec(compile(tree, MODULE, "exec"), namespace)  # noqa: S102 - sympy's own test code
    return None


def quietly(action, *arguments):
    """``action(*arguments)``, or None when it raises; the test module's warnings and prints are not ours."""
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            return action(*arguments)
    except Exception:  # noqa: BLE001 - a statement of another project's test that does not run here
        return None


def measure() -> Figures:
    from solman.checking.display import Unreadable, compare

    figures = Figures()
    for source, expr, latex in pairs():
        figures.pairs += 1
        try:
            problem = compare(expr, latex, "latex")
        except Unreadable as exc:
            figures.unreadable += 1
            figures.declined.append((source, latex, str(exc)))
            continue
        if problem:
            figures.wrong.append((source, latex, problem))
        else:
            figures.read += 1
    return figures


if __name__ == "__main__":
    import sys

    result = measure()
    for source, latex, problem in result.wrong:
        print(f"WRONG {source}\n    {latex}\n    {problem}")
    if "-v" in sys.argv:
        for source, latex, problem in result.declined:
            print(f"DECLINED {source}\n    {latex}\n    {problem}")
    print(f"{result.read} of {result.pairs} read back, {result.unreadable} declined, {len(result.wrong)} wrong")
