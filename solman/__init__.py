"""solman: LaTeX solution manuals whose every number is computed and tested by Python.

Verify modules need only ``value`` (to declare what a chapter may print), ``parameter`` (a given
drawn for each student's variant), ``tex`` (to
return trusted LaTeX) and ``checks`` (for a test that calls no printed value, the question it
checks); the rest of the engine is driven by the tasks in ``solman.tasks`` (the `solman` command,
or `invoke` with a project's tasks.py).

The package follows the pipeline: ``project`` (settings, chapters, new projects), ``values`` (what
a chapter prints, its filters and caches), ``rendering`` (templates to LaTeX, the built-in
templates), ``latex`` (latexmk in its sandbox, its logs), ``build`` (the pipeline, stamps, publishing),
``checking`` (tests, coverage, sensitivity, display, lint, leaks, drift), ``exports`` (answer keys,
Overleaf; other formats such as LMS question banks and an HTML edition belong here, each in its own
module); per-student variants are a stage of their own (``variants``) that drives the others.
``errors`` is the one error vocabulary, ``tasks`` and ``cli`` the commands.
"""

__version__ = "0.2.0"

from solman.values.declarations import checks
from solman.values.evaluation import tex, value
from solman.variants.params import parameter

__all__ = ["checks", "parameter", "tex", "value"]
