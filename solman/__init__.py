"""solman: LaTeX solution manuals whose every number is computed and tested by Python.

Verify modules need only ``value`` (to declare what a chapter may print) and ``tex`` (to
return trusted LaTeX); the rest of the engine is driven by the invoke tasks in tasks.py.
"""

from .values import tex, value

__all__ = ["tex", "value"]

