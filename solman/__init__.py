"""solman: LaTeX solution manuals whose every number is computed and tested by Python.

Verify modules need only ``value`` (to declare what a chapter may print), ``tex`` (to
return trusted LaTeX) and ``checks`` (for a test that calls no printed value, the question it
checks); the rest of the engine is driven by the invoke tasks in tasks.py.
"""

from .declarations import checks
from .values import tex, value

__all__ = ["checks", "tex", "value"]
