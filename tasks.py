"""The flagship manual's commands: solman's tasks, as every project has them, and two for solman's developers.

`test` runs solman's own test suite (tests/) with the flagship's verify modules, and `bench`
measures the engine on this repository's manual and records its table in README.md; a course
built with solman has neither.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from invoke import Collection, Exit, task

from solman.tasks import configure_logging, ns as solman_tasks, reported

REPOSITORY = Path(__file__).resolve().parent


@task(help={
    "quick": "small sizes, for CI: the fixture project instead of the flagship, smaller generated manuals",
    "record": "write the results into README.md's performance section (the default for the full size)",
    "variants": "measure per-student variants instead: COUNT of variant_exam on 2 processes, rates of 1 and Dask",
    "count": "how many variants --variants builds (default 100)",
    "suite": "measure the test suite instead: invoke test next to the same suite in one process",
})
def bench(c, quick=False, record=None, variants=False, count=100, suite=False):
    """Measure builds: cold, no-op, one value changed, verify, 100 chapters, against PythonTeX and the TeX floor."""
    configure_logging()
    with reported():
        import platform

        from dev.bench import bench as run_bench
        from dev.bench import bench_suite, record_in_readme

        machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
        if variants:
            from dev.variantsbench import bench_variants, record_variants_in_readme

            report = bench_variants(REPOSITORY, REPOSITORY / "build" / "bench-variants", int(count))
        elif suite:
            report = bench_suite(REPOSITORY)
        else:
            report = run_bench(REPOSITORY, REPOSITORY / "build" / "bench", quick=quick)
        print(report.table())
        if record if record is not None else not quick:
            if variants:
                record_variants_in_readme(REPOSITORY / "README.md", report, machine)
            else:
                record_in_readme(REPOSITORY / "README.md", report, f"Measured by `invoke bench{' --suite' * suite}` "
                                 f"on {machine}", "bench-suite" if suite else "bench")
            print("recorded in README.md")
        if not all(goal.met is not False for goal in report.goals):
            print("some targets are not met", file=sys.stderr)


@task(help={"k": "only run tests whose names match this pytest -k expression"})
def test(c, k=None):
    """Run the whole test suite: the engine's tests and every verify module's tests, one process per core."""
    import shlex

    # pytest-xdist: the TeX tests spend most of their time in single-threaded LaTeX runs; work stealing
    # keeps both cores busy to the end (the flagship test alone takes minutes)
    command = [sys.executable, "-m", "pytest", "-q", "-n", "auto", "--dist", "worksteal"]
    if k:
        command += ["-k", k]
    result = c.run(shlex.join(command), warn=True, pty=False)
    if result.exited != 0:
        raise Exit(code=result.exited)


ns = Collection(*solman_tasks.tasks.values(), test, bench)
