"""``invoke bench --variants``: per-student variants of variant_exam at scale, locally and on a Dask cluster.

Measures, on a copy of the flagship (only its variant_exam chapter is built): one variant; ``count``
variants with two processes (the target); the rates of one process and of a local Dask cluster of two
single-threaded workers started with Dask's commands, on ``min(count, 20)`` variants each. The target:
``count`` variants with two processes within 1.2 x (one variant's time x count / 2), under 2 GiB. Recorded in README.md between its variants markers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from dev.bench import (
    BenchReport,
    Goal,
    Measure,
    copy_project,
    named,
    record_in_readme,
    run_timed,
    task_environment,
)
from solman.errors import MissingTool

CHAPTER = "variant_exam"
RATE_SAMPLE = 20  # variants built to measure the rates of one process and of the Dask cluster


def variants_command(count: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "invoke", "variants", "--chapter", CHAPTER, "--count", str(count), "--quiet",
            *options]


def fresh_run(repo: Path, project: Path, count: int, *options: str) -> Measure:
    """``invoke variants`` from an empty variants folder (each variant's build is cold)."""
    shutil.rmtree(project / "build", ignore_errors=True)
    return run_timed(variants_command(count, *options), repo, task_environment(project))


def bench_variants(repo: Path, work: Path, count: int) -> BenchReport:
    report = BenchReport(f"{count} variants")
    if work.exists():
        shutil.rmtree(work)
    project = copy_project(repo, work / "subject")
    one = fresh_run(repo, project, 1, "--jobs", "1")
    report.measures.append(named(one, "one variant (both editions, tests, key)"))
    sample = min(count, RATE_SAMPLE)  # a rate needs no hundred variants: the serial run would take 20 min
    serial = fresh_run(repo, project, sample, "--jobs", "1")
    report.measures.append(named(serial, f"{sample} variants, 1 process",
                                 f"{60 * sample / serial.seconds:.1f} variants/min"))
    parallel = fresh_run(repo, project, count, "--jobs", "2")
    report.measures.append(named(parallel, f"{count} variants, 2 processes",
                                 f"{60 * count / parallel.seconds:.1f} variants/min"))
    with dask_cluster(work) as address:
        cluster = fresh_run(repo, project, sample, "--scheduler", address)
    report.measures.append(Measure(f"{sample} variants, Dask (2 workers)", cluster.seconds, None,
                                   f"{60 * sample / cluster.seconds:.1f} variants/min; workers' memory not sampled"))
    ideal = one.seconds * count / 2
    report.goals.append(Goal(f"{count} variants on 2 cores <= 1.2 x (one x {count} / 2)",
                             f"{parallel.seconds / ideal:.2f} x", "1.20 x", parallel.seconds <= 1.2 * ideal))
    report.goals.append(Goal("peak memory of the 2-process run < 2 GiB", f"{parallel.peak_mib:.0f} MiB", "2048 MiB",
                             parallel.peak_mib < 2048))
    return report


class dask_cluster:
    """``dask scheduler`` and two ``dask worker --nthreads 1`` on loopback, random ports."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> str:
        dask = Path(sys.executable).with_name("dask")
        if not dask.exists():
            raise MissingTool("the dask command is not installed", hint="pip install 'solman-tex[cluster]'")
        info = self.work / "scheduler.json"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.processes.append(subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                                "--no-dashboard", "--scheduler-file", str(info)], **quiet))
        for _ in range(600):
            if info.exists() and info.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        for n in range(2):
            self.processes.append(subprocess.Popen([str(dask), "worker", address, "--nthreads", "1", "--no-dashboard",
                                                    "--host", "127.0.0.1", "--local-directory",
                                                    str(self.work / f"worker{n}")], **quiet))
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        return address

    def __exit__(self, *exc: object) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            process.wait(timeout=60)


def record_variants_in_readme(readme: Path, report: BenchReport, machine: str) -> None:
    record_in_readme(readme, report, f"Measured by `invoke bench --variants` on {machine}, {report.size} of {CHAPTER}",
                     "bench-variants")
