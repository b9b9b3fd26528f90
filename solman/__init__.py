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

__all__ = ["checks", "parameter", "tex", "value"]
_HOMES = {"checks": "solman.values.declarations", "tex": "solman.values.evaluation",
          "value": "solman.values.evaluation", "parameter": "solman.variants.params"}


def __getattr__(name: str) -> object:
    """The verify modules' names, imported when first asked for (PEP 562): the commands import
    ``solman.tasks``, and a no-op `invoke pdf` needs none of them."""
    if name not in _HOMES:
        raise AttributeError(f"module 'solman' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
