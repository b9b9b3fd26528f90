"""Per-student variants: drawn givens (params), building every variant (builds), stress tests (stress).

Which variant is selected lives here, not in ``params``: every build's cache keys ask (``current_seed``),
and the package is light to import where ``params`` is not (it brings the value machinery).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

ENVIRONMENT = "SOLMAN_VARIANT"  # the selected variant's seed, for processes the build starts

_selected: list[int] = []  # the seed selected in this process (innermost last)


def current_seed() -> int | None:
    """The seed of the variant selected now, or None for the default variant."""
    if _selected:
        return _selected[-1]
    text = os.environ.get(ENVIRONMENT, "").strip()
    return int(text) if text else None


@contextlib.contextmanager
def selected(seed: int | None) -> Iterator[None]:
    """Compute parameters for the variant ``seed`` inside the block (None: the default variant), here and in
    the processes started inside it."""
    before = os.environ.get(ENVIRONMENT)
    if seed is None:
        os.environ.pop(ENVIRONMENT, None)
    else:
        _selected.append(seed)
        os.environ[ENVIRONMENT] = str(seed)
    try:
        yield
    finally:
        if seed is not None:
            _selected.pop()
        if before is None:
            os.environ.pop(ENVIRONMENT, None)
        else:
            os.environ[ENVIRONMENT] = before
