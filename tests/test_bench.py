"""The benchmark's own parts: the generated projects, the memory sampler, the README record."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dev.bench import (
    BenchReport,
    Goal,
    Measure,
    on_terminal,
    outcome_counts,
    over_cores,
    record_in_readme,
    run_timed,
    through_pty,
    tree_rss_mib,
    write_pythontex,
    write_synthetic,
)
from solman.errors import SolmanError
from solman.checking.lint import lint_project
from solman.project.settings import load_project
from solman.checking.testrun import run_tests
from solman.latex import sandbox


def test_a_generated_project_is_a_valid_solman_project_whose_tests_pass(tmp_path: Path):
    project = load_project(write_synthetic(tmp_path / "synthetic", chapters=2, values=7))
    assert [c.id for c in project.chapters] == ["c001", "c002"]
    results = run_tests(project)
    assert [t["outcome"] for t in results.tests.values()] == ["passed", "passed"]
    assert {f"c001.py::v{k:02d}" for k in range(1, 8)} <= results.covered()
    assert lint_project(project) == ([], 0)


def test_the_changed_value_keeps_its_test_green(tmp_path: Path):
    root = write_synthetic(tmp_path / "synthetic", chapters=1, values=3)
    module = root / "verify" / "c001.py"
    module.write_text(module.read_text().replace("SHIFT = 0", "SHIFT = 1"))
    assert [t["outcome"] for t in run_tests(load_project(root)).tests.values()] == ["passed"]


def test_the_pythontex_document_prints_the_same_values(tmp_path: Path):
    document = (write_pythontex(tmp_path / "pythontex", chapters=1, values=4) / "document.tex").read_text()
    assert r"\py{sp.latex(sp.Rational(1, 2))}" in document and r"\py{f'{math.sqrt(2):.3f}'}" in document
    assert document.count(r"\py{") == 4


def test_the_pythontex_document_has_every_package_it_loads(tmp_path: Path):
    # (compiling it needs PythonTeX, which only the full benchmark installs): each package it loads is
    # in the TeX installation or next to the document
    import re
    import subprocess

    folder = write_pythontex(tmp_path / "pythontex", chapters=1, values=2)
    loaded = {name.strip() for path in [*folder.glob("*.tex"), *folder.glob("*.sty")]
              for names in re.findall(r"\\(?:usepackage|RequirePackage)(?:\[[^\]]*\])?\{([^}]*)\}", path.read_text())
              for name in names.split(",")}
    installed = subprocess.run(["kpsewhich", *(f"{name}.sty" for name in sorted(loaded))], capture_output=True,
                               text=True).stdout.split()
    found = {Path(path).stem for path in installed}
    missing = {name for name in loaded - found if not (folder / f"{name}.sty").exists()}
    assert "solman" in loaded and "solman-language" in loaded and missing <= {"pythontex"}, missing


def test_memory_of_a_process_tree_counts_its_descendants():
    alone = tree_rss_mib(os.getpid())
    assert 1 < alone < 4096
    code = "import sys, time; block = bytearray(300 * 2**20); print(flush=True); time.sleep(30)"
    with subprocess.Popen(["sh", "-c", f'{sys.executable} -c "{code}"'], stdout=subprocess.PIPE) as shell:
        shell.stdout.readline()  # the grandchild holds its 300 MiB
        try:
            assert tree_rss_mib(os.getpid()) - alone > 280
        finally:
            shell.kill()


def test_cpu_time_counts_tex_run_in_the_sandbox(tmp_path: Path):
    """TeX runs in bubblewrap's PID namespace, which the kernel's account of a process's descendants
    misses; the bench counts the machine's CPU time, so a sandboxed program's is in it."""
    busy = "1 while (times)[0] < 0.6"  # perl spins until it has spent 0.6 s of CPU time
    measure = run_timed(sandbox.wrap(["perl", "-e", busy], tmp_path), tmp_path, sandbox.environment({}))
    assert measure.cpu is not None and measure.cpu >= 0.55, measure


def test_cpu_time_over_the_cores_is_the_least_time_the_work_can_take(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    row = over_cores(Measure("run", seconds=10.0, cpu=15.0), "its CPU time")
    assert (row.label, row.seconds, row.note) == ("its CPU time / 2 cores", 7.5, "its cores busy 75% of its time")


def test_results_are_recorded_between_the_readme_markers(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text("# X\n\n<!-- bench:start -->\nPREVIOUS RESULTS\n<!-- bench:end -->\n\nafter\n")
    report = BenchReport("full", [Measure("(a) cold", 1.5, 100.0)], [Goal("fast", "1.5 s", "2 s", True)])
    record_in_readme(readme, report, "Measured on 2 cores")
    text = readme.read_text()
    assert "PREVIOUS RESULTS" not in text and "| (a) cold" in text and "| fast" in text and text.endswith("after\n")
    readme.write_text("# no markers\n")
    with pytest.raises(Exception, match="no performance section"):
        record_in_readme(readme, report, "Measured on 2 cores")
    readme.write_text("<!-- bench:start -->\nA\n<!-- bench:end -->\n"
                      "<!-- bench-suite:start -->\nB\n<!-- bench-suite:end -->\n")
    record_in_readme(readme, report, "Measured on 2 cores", "bench-suite")
    assert readme.read_text().startswith("<!-- bench:start -->\nA\n") and "_Measured on 2 cores._" in readme.read_text()


def test_commands_are_timed_on_a_terminal(tmp_path: Path):
    tty = "import sys; assert sys.stdin.isatty() and sys.stdout.isatty() and sys.stderr.isatty(); print('x' * 99999)"
    command, baseline = on_terminal([sys.executable, "-c", tty], [sys.executable, "-c", "pass"], tmp_path,
                                    dict(os.environ), runs=2)
    assert command > 0 and baseline > 0
    with pytest.raises(SolmanError, match="failed on a terminal"):
        through_pty([sys.executable, "-c", "raise SystemExit(3)"], tmp_path, dict(os.environ))


def test_the_suites_outcomes_are_read_from_pytests_summary():
    assert outcome_counts("...\n1543 passed, 2 warnings in 812.31s (0:13:32)\n") == "1543 passed"
    assert outcome_counts("=== 1 failed, 1542 passed, 1 skipped in 9.2s ===") == "1 failed, 1542 passed, 1 skipped"
    assert outcome_counts("interrupted") == "no summary"
