"""``@parameter``: a given drawn at random for each student's variant, fixed in the default one.

::

    @parameter(default=[[0, 1], [1, 0]], nice={"connected": is_connected})
    def adjacency(rng):
        return (rng.random((4, 4)) < 0.5).astype(int)

A parameter is a value (a chapter prints it, tests call it, with no arguments). In the default
variant (none selected: ``invoke pdf``) it returns ``default``, so a chapter's PDFs are those it had
before it drew anything. In the variant of seed ``s`` it calls the drawing function with a
``numpy.random.Generator`` seeded by ``(s, crc32(name))`` (so each parameter draws independently of
the others, and adding one changes none of them) until a draw passes every nice rule; after
``tries`` rejected draws it fails at the function's line, naming the rule that rejected most.

The variant is selected by ``selected(variant)`` in this process and by ``SOLMAN_VARIANT=<seed>``
in the environment, which ``selected`` also sets, so that the test run (a pytest process started
by the build) computes the same givens.
"""

from __future__ import annotations

import copy
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from solman.errors import Location, ValueFailure
from solman.values.evaluation import ValueFunction
from solman.variants import ENVIRONMENT, current_seed, selected  # noqa: F401 (the variants' API, here too)

TRIES = 1000  # draws a parameter may reject before it fails

rejections: dict[str, Counter] = {}  # parameter key -> nice rule -> rejected draws, in this process


@dataclass(frozen=True)
class Variant:
    """One student's variant: its id (``v001`` or the roster's), the student's name if known, its seed."""

    id: str
    seed: int
    name: str = ""


class Parameter(ValueFunction):
    """A value whose result is ``default`` in the default variant and a nice draw in the others."""

    def __init__(self, draw: Callable, default: object, nice: Mapping[str, Callable[[object], bool]],
                 tries: int = TRIES) -> None:
        super().__init__(lambda: self.given())
        code = draw.__code__
        self.draw, self.default, self.nice, self.tries = draw, default, dict(nice), tries
        self.name = self.__name__ = draw.__name__
        self.__qualname__, self.__module__, self.__doc__ = draw.__qualname__, draw.__module__, draw.__doc__
        self.__wrapped__ = draw
        self.path, self.line = Path(code.co_filename), code.co_firstlineno

    def given(self) -> object:
        seed = current_seed()
        if seed is None:
            return copy.deepcopy(self.default)  # a result is frozen: not the default itself
        import numpy as np

        rng = np.random.default_rng([seed, zlib.crc32(self.name.encode())])
        counts = rejections.setdefault(self.key, Counter())
        for _ in range(self.tries):
            candidate = self.draw(rng)
            failed = next((rule for rule, holds in self.nice.items() if not holds(candidate)), None)
            if failed is None:
                return candidate
            counts[failed] += 1
        worst, times = counts.most_common(1)[0]
        raise ValueFailure(
            f"parameter '{self.name}' found no nice draw in {self.tries} tries for the variant of seed {seed}: "
            f"rule '{worst}' rejected {times} of them", location=Location.of(self.path, self.line, Path.cwd()),
            hint="loosen that rule, or draw from a range where it usually holds")

    def __repr__(self) -> str:
        return f"<parameter {self.name} at {self.path.name}:{self.line}>"


def parameter(*, default: object, nice: Mapping[str, Callable[[object], bool]] | None = None,
              tries: int = TRIES) -> Callable[[Callable], Parameter]:
    """Declare a drawn given: ``default`` in the default variant, else the drawing function's first draw that
    passes every rule of ``nice`` (a name for each rule, and a predicate on the draw)."""
    nice = dict(nice or {})
    bad = [name for name, rule in nice.items() if not callable(rule)]
    if bad:
        raise TypeError(f"nice rules are predicates on a draw; not callable: {', '.join(bad)}")

    def declare(draw: Callable) -> Parameter:
        code = draw.__code__
        if code.co_argcount != 1:
            raise ValueFailure(f"parameter '{draw.__name__}' takes {code.co_argcount} arguments",
                               location=Location.of(code.co_filename, code.co_firstlineno, Path.cwd()),
                               hint="a parameter's function takes one argument, the random generator: def name(rng)")
        failed = [rule for rule, holds in nice.items() if not holds(default)]
        if failed:
            raise ValueFailure(f"parameter '{draw.__name__}': the default fails the nice rule '{failed[0]}'",
                               location=Location.of(code.co_filename, code.co_firstlineno, Path.cwd()),
                               hint="the default variant's givens must be nice too")
        return Parameter(draw, default, nice, tries)

    return declare


def parameters_of(values: Mapping[str, object]) -> dict[str, Parameter]:
    """The parameters among a chapter's values."""
    return {name: v for name, v in values.items() if isinstance(v, Parameter)}
