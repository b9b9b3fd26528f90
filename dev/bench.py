"""``invoke bench``: what builds cost, measured in one run, next to the TeX floor and PythonTeX.

Every measurement runs the real command in a fresh process (``invoke pdf`` through the
project's own tasks), timed on the wall clock, with the peak memory of its whole process tree
sampled from ``/proc``. The subjects are copies made in a scratch folder, never the project's
own ``build/``:

(a)-(d) the flagship manual (the fixture project with ``quick``): a cold build (next to the floor, the
        tests alone and the sensitivity measurement alone), a no-op rebuild (also on a terminal, next to
        ``python -c "import invoke"``), and ``invoke verify`` right after ``invoke pdf`` next to
        ``invoke verify --fresh``;
(c)     a rebuild of the manual of (e) after one value changed;
(e)     a generated manual of many chapters and values, compiled serially and in parallel;
(f)     the same generated content as one document, built by solman, by bare latexmk on
        solman's rendered ``.tex`` (the floor), and by PythonTeX (latexmk with its rule);
(g)     the HTML edition of the subject of (a), beside its PDF build: ``invoke html`` right after
        ``invoke pdf`` (every chapter converted by LaTeXML), then again (nothing converted).

``bench_suite`` (``invoke bench --suite``) times ``invoke test`` next to the same suite in one process.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from solman.errors import MissingTool, SolmanError
from solman.project.language import STYLE, language_style
from solman.project.printing import STYLE as PRINTING_STYLE
from solman.project.printing import Printing, printing_style
from solman.project.settings import BUILTIN_TEMPLATES

log = logging.getLogger("solman")

SIZES = {
    "quick": {"manual": (10, 20), "document": (5, 20)},
    "full": {"manual": (100, 50), "document": (20, 50)},
}
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measure:
    label: str
    seconds: float
    peak_mib: float | None = None
    note: str = ""
    stdout: str = field(default="", repr=False)  # what the measured command printed
    cpu: float | None = None  # seconds of CPU time the machine spent while it ran (see machine_cpu)


@dataclass
class Goal:
    name: str
    measured: str
    limit: str
    met: bool | None  # None: could not be measured


@dataclass
class BenchReport:
    size: str
    measures: list[Measure] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)

    def table(self) -> str:
        rows = [("measurement", "time", "CPU time", "peak memory", "notes")]
        rows += [(m.label, f"{m.seconds:.2f} s", f"{m.cpu:.1f} s" if m.cpu is not None else "",
                  f"{m.peak_mib:.0f} MiB" if m.peak_mib else "", m.note) for m in self.measures]
        goals = [("target", "measured", "limit", "met")]
        goals += [(g.name, g.measured, g.limit, {True: "yes", False: "NO", None: "not measured"}[g.met])
                  for g in self.goals]
        return markdown(rows) + "\n\n" + markdown(goals)


def named(measure: Measure, label: str, note: str = "") -> Measure:
    """A run's measure (from ``run_timed``) under the label and note of its row."""
    return dataclasses.replace(measure, label=label, note=note)


def machine_cpu() -> float | None:
    """Seconds of CPU time every core of the machine has spent busy since it started (``/proc/stat``: user,
    nice, system, irq and softirq time), or None where there is no ``/proc/stat``.

    The bench runs alone, so what the machine spends during a run is the run's cost (an idle machine here
    spends 0.006 cores). The kernel's own account of a process's descendants (``RUSAGE_CHILDREN``) misses
    TeX run in bubblewrap's PID namespace: 7.6 s of CPU counted for 127 s of serial compiling."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(field) for field in stat.readline().split()[1:8]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = ticks
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def cpu_between(before: float | None, after: float | None) -> float | None:
    return after - before if before is not None and after is not None else None


def over_cores(measure: Measure, label: str) -> Measure:
    """The row of ``measure``'s CPU time over the cores: the least time its work can take on them."""
    cores = os.cpu_count() or 1
    return Measure(f"{label} / {cores} cores", measure.cpu / cores, None,
                   f"its cores busy {measure.cpu / cores / measure.seconds:.0%} of its time")


def markdown(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def bench(repo: Path, work: Path, quick: bool) -> BenchReport:
    """Run every measurement; the report holds the table and the targets met or missed."""
    size = "quick" if quick else "full"
    report = BenchReport(size)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    subject = copy_project(repo / ("tests/fixture_project" if quick else "."), work / "subject")
    measure_subject(repo, subject, report, "fixture project" if quick else "flagship manual")
    chapters, values = SIZES[size]["manual"]
    measure_manual(repo, write_synthetic(work / "manual", chapters, values), report, chapters, values)
    chapters, values = SIZES[size]["document"]
    measure_document(repo, work, chapters, values, report)
    return report


def bench_suite(repo: Path) -> BenchReport:
    """``invoke test`` as authors of solman run it (one process per core), next to the same suite in one
    process (``-n 0``): the same tests, none skipped, in both."""
    report = BenchReport("suite")
    log.info("the test suite, one process per core (invoke test)")
    parallel = run_timed([sys.executable, "-m", "invoke", "test"], repo)
    log.info("the same suite in one process")
    serial = run_timed([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider"], repo)
    outcomes = [outcome_counts(measure.stdout) for measure in (parallel, serial)]
    report.measures += [
        named(parallel, f"invoke test ({os.cpu_count()} processes)", outcomes[0]),
        named(serial, "the same suite in one process (-n 0)", outcomes[1])]
    if serial.cpu is not None and parallel.cpu is not None:
        report.measures += [over_cores(serial, "    the least its work can take: its CPU time"),
                            over_cores(parallel, "    invoke test's CPU time")]
    ratio = parallel.seconds / serial.seconds
    report.goals.append(Goal("invoke test <= 0.6 x the suite in one process", f"{ratio:.2f} x", "0.60 x",
                             ratio <= 0.6))
    report.goals.append(Goal("the same tests run and pass in both, none skipped", outcomes[0], outcomes[1],
                             outcomes[0] == outcomes[1] and "skipped" not in outcomes[0]))
    return report


def outcome_counts(output: str) -> str:
    """The outcomes on pytest's summary line ("1543 passed, 1 failed"), its warnings and time aside."""
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    counts = re.findall(r"(\d+ (?:passed|failed|skipped|errors?|xfailed|xpassed))\b", lines[-1]) if lines else []
    return ", ".join(counts) or "no summary"


# --- (a)-(d): the flagship manual ---------------------------------------------------------------

def measure_subject(repo: Path, subject: Path, report: BenchReport, name: str) -> None:
    log.info("(a) cold build of the %s", name)
    cold = run_task(repo, subject, "pdf")
    values = run_timed([sys.executable, "-c", COMPUTE_VALUES, str(subject)], repo)
    tests = run_timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "verify"], subject,
                      dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1"))
    floor = bare_latexmk(subject / "build" / "tex", subject.parent / "floor-subject", jobs=os.cpu_count() or 1)
    sensitivity = sensitivity_alone(repo, subject)
    report.measures += [named(cold, f"(a) cold full build, {name}"),
                        named(values, "    value computation alone"),
                        named(tests, "    the tests alone (the build runs them for its appendix)"),
                        sensitivity,
                        named(floor, f"    bare latexmk on the rendered .tex, {os.cpu_count()} at once (floor)")]
    if all(m.cpu is not None for m in (cold, values, tests, sensitivity, floor)):
        cores = os.cpu_count() or 1
        parts = (values.cpu + tests.cpu + sensitivity.cpu + floor.cpu) / cores
        report.measures += [
            Measure(f"    the CPU time of these four parts / {cores} cores", parts, None,
                    "no schedule of them on these cores is shorter"),
            over_cores(cold, "    the cold build's own CPU time")]
    limit = max(floor.seconds, tests.seconds)
    report.goals.append(Goal("cold build <= max(floor, tests alone)", f"{cold.seconds:.1f} s", f"{limit:.1f} s",
                             cold.seconds <= limit))
    limit = max(floor.seconds, tests.seconds + sensitivity.seconds)
    report.goals.append(Goal("    the same, counting the sensitivity it prints", f"{cold.seconds:.1f} s",
                             f"{limit:.1f} s", cold.seconds <= limit))
    limit = 1.3 * (values.seconds + floor.seconds)
    report.goals.append(Goal("cold build <= 1.3 x (values + floor)", f"{cold.seconds:.1f} s",
                             f"{limit:.1f} s", cold.seconds <= limit))
    limit = 1.3 * (values.seconds + tests.seconds + floor.seconds)
    report.goals.append(Goal("    the same, counting the tests the build runs", f"{cold.seconds:.1f} s",
                             f"{limit:.1f} s", cold.seconds <= limit))

    log.info("(b) no-op rebuild")
    as_authors_run_it = [sys.executable, "-m", "invoke", "pdf"]  # not --quiet: it lists the PDFs and their pages
    noop = min((run_timed(as_authors_run_it, repo, task_environment(subject)) for _ in range(3)),
               key=lambda m: m.seconds)
    imports = subprocess.run([sys.executable, "-X", "importtime", *as_authors_run_it[1:]], cwd=repo,
                             env=task_environment(subject), capture_output=True, text=True)
    heavy = sorted({m for m in ("sympy", "numpy", "jinja2") if re.search(rf"\|\s+{m}$", imports.stderr, re.M)})
    report.measures.append(named(noop, "(b) no-op rebuild (invoke pdf, best of 3)",
                                 "imports " + (", ".join(heavy) if heavy else "neither sympy nor numpy")))
    report.goals.append(Goal("no-op rebuild < 0.3 s, no sympy or numpy", f"{noop.seconds:.2f} s", "0.30 s",
                             noop.seconds < 0.3 and not {"sympy", "numpy"} & set(heavy)))
    terminal, python = on_terminal(as_authors_run_it, [sys.executable, "-c", "import invoke"], repo,
                                   task_environment(subject))
    report.measures += [
        Measure("    the same on a terminal (a pty), best of 9", terminal, None, "as an author sees it"),
        Measure("    python -c 'import invoke' on a terminal, best of 9", python, None, "run in turn with it")]
    report.goals.append(Goal("no-op on a terminal <= 1.6 x import invoke", f"{terminal / python:.2f} x", "1.60 x",
                             terminal <= 1.6 * python))

    log.info("(g) the HTML edition, beside the PDF build")
    html = run_task(repo, subject, "html")  # the PDFs are current: LaTeXML and the pictures alone
    html_again = run_task(repo, subject, "html")
    report.measures += [
        named(html, "(g) invoke html after invoke pdf (every chapter page converted)",
              f"beside the cold PDF build's {cold.seconds:.1f} s"),
        named(html_again, "    invoke html again (no chapter converted)")]

    log.info("(d) invoke verify, right after invoke pdf, and invoke verify --fresh")
    verified = run_task(repo, subject, "verify")  # the builds of (a) and (b) just ran: as an author runs it
    fresh = run_task(repo, subject, "verify", "--fresh")
    report.measures += [
        named(verified, "(d) invoke verify after invoke pdf (reuses its results)"),
        named(fresh, "    invoke verify --fresh (runs every test and check afresh)")]
    ratio = verified.seconds / fresh.seconds
    report.goals.append(Goal("verify after pdf <= 0.2 x verify --fresh", f"{ratio:.2f} x", "0.20 x", ratio <= 0.2))


def on_terminal(command: list[str], baseline: list[str], cwd: Path, env: dict[str, str], runs: int = 9
                ) -> tuple[float, float]:
    """The best wall-clock times of ``command`` and ``baseline``, each run ``runs`` times in turn on a
    pseudo-terminal (stdin, stdout and stderr), as from an author's terminal: what loads only on a
    terminal is counted, and the two share the machine's state as it drifts."""
    best = [float("inf"), float("inf")]
    for _ in range(runs):
        for index, args in enumerate((command, baseline)):
            best[index] = min(best[index], through_pty(args, cwd, env))
    return best[0], best[1]


def through_pty(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    import pty

    terminal, side = pty.openpty()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=side, stdout=side, stderr=side)
    os.close(side)
    output = b""
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # EIO: every process holding the terminal closed it
            break
        if not chunk:
            break
        output += chunk
    returncode = process.wait()
    seconds = time.perf_counter() - started
    os.close(terminal)
    if returncode != 0:
        raise SolmanError(f"`{' '.join(command)}` failed on a terminal during the benchmark (exit {returncode})",
                          details=output.decode(errors="replace").splitlines()[-12:])
    return seconds


def sensitivity_alone(repo: Path, subject: Path) -> Measure:
    """How long measuring every printed value's sensitivity takes from cold, with the tests' results and
    the chapters rendered beforehand (not counted): the part of a cold build the appendix's figure costs."""
    measure = run_timed([sys.executable, "-c", MEASURE_SENSITIVITY, str(subject), str(subject.parent / "sensitivity")],
                        repo)
    timed = json.loads(measure.stdout)
    return Measure("    the sensitivity measurement alone (the appendix states it)", timed["seconds"], measure.peak_mib,
                   cpu=timed["cpu"])


MEASURE_SENSITIVITY = """
import json, sys, time
from dev.bench import cpu_between, machine_cpu
from solman.checking.sensitivity import measure
from solman.checking.testrun import run_tests
from solman.project.settings import load_project
from solman.project.targets import plan_targets
from solman.rendering.sources import render_chapters
project = load_project(sys.argv[1], build=sys.argv[2])
chapters, results = render_chapters(project, plan_targets(project)), run_tests(project)
started, used = time.perf_counter(), machine_cpu()
measure(project, chapters, results)
print(json.dumps({"seconds": time.perf_counter() - started, "cpu": cpu_between(used, machine_cpu())}))
"""


COMPUTE_VALUES = """
import sys
from solman.project.settings import load_project
from solman.values.evaluation import load_module, values_of
project = load_project(sys.argv[1])
for chapter in project.chapters:
    for function in values_of(load_module(chapter.verify, "bench_" + chapter.id, project.root)).values():
        function()
"""


# --- (c), (e): a generated manual ----------------------------------------------------------------

def measure_manual(repo: Path, project: Path, report: BenchReport, chapters: int, values: int) -> None:
    label = f"{chapters} chapters x {values} values"
    log.info("(e) %s, cold, parallel", label)
    parallel = run_task(repo, project, "pdf")
    parallel_compile = stage(project, "compile")
    for generated in ("tex/out", "chapters"):
        shutil.rmtree(project / "build" / generated, ignore_errors=True)
    for generated in (*project.joinpath("build").glob("*.pdf"), project / "build" / "manifest.json"):
        generated.unlink()
    log.info("(e) %s, compiled serially", label)
    serial = run_task(repo, project, "pdf", "--jobs", "1")
    serial_compile = stage(project, "compile")
    report.measures += [
        named(parallel, f"(e) cold build, {label}, 2 LaTeX runs at once",
              f"compiling {parallel_compile:.1f} s"),
        named(serial, "    the same compiled serially",
              f"compiling {serial_compile:.1f} s")]
    ratio = parallel_compile / serial_compile
    report.goals.append(Goal("parallel compile <= 0.65 x serial", f"{ratio:.2f} x", "0.65 x", ratio <= 0.65))
    report.goals.append(Goal("peak memory of the parallel build < 1 GiB", f"{parallel.peak_mib:.0f} MiB",
                             "1024 MiB", parallel.peak_mib < 1024))

    log.info("(c) one value changed")
    verify_module = project / "verify" / "c001.py"
    verify_module.write_text(verify_module.read_text().replace("SHIFT = 0", "SHIFT = 1"))
    changed = run_task(repo, project, "pdf")
    recompile = stage(project, "compile")
    timings = json.loads((project / "build" / "timings.json").read_text())
    others = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timings["seconds"].items() if name != "compile")
    report.measures.append(named(changed, f"(c) rebuild after one value changed ({label})",
                                 f"compiling {recompile:.1f} s: {', '.join(timings['compiled'])}; "
                                 f"its other stages: {others}"))
    report.goals.append(Goal("one-value rebuild <= 1.3 x its compile", f"{changed.seconds / recompile:.2f} x",
                             "1.30 x", changed.seconds <= 1.3 * recompile))


def stage(project: Path, name: str) -> float:
    return json.loads((project / "build" / "timings.json").read_text())["seconds"].get(name, 0.0)


# --- (f): one document, solman against PythonTeX ---------------------------------------------

def measure_document(repo: Path, work: Path, chapters: int, values: int, report: BenchReport) -> None:
    """The values are printed in the problem texts and solman builds the problems edition: the same
    document PythonTeX builds, values embedded, no solutions (so no tests and no appendix)."""
    label = f"{chapters} chapters x {values} values in one document"
    project = write_synthetic(work / "document", chapters, values, in_solution=False)
    log.info("(f) %s: solman", label)
    solman = run_task(repo, project, "pdf", "--manual", "--edition", "problems")
    floor = bare_latexmk(project / "build" / "tex", work / "floor-document", jobs=1, only="manual-problems")
    report.measures += [named(solman, f"(f) {label}: solman (problems edition)"),
                        named(floor, "    bare latexmk on solman's rendered .tex (floor)")]
    if not pythontex_ready():
        report.measures.append(Measure("    PythonTeX", 0.0, None, "not measured: PythonTeX is not installed "
                                       "(Debian package texlive-extra-utils)"))
        report.goals.append(Goal("solman <= 0.6 x PythonTeX", "-", "0.60 x", None))
        return
    log.info("(f) %s: PythonTeX", label)
    pythontex = pythontex_build(write_pythontex(work / "pythontex", chapters, values))
    report.measures.append(named(pythontex, "    PythonTeX (latexmk with its pythontex rule)"))
    ratio = solman.seconds / pythontex.seconds
    report.goals.append(Goal("solman <= 0.6 x PythonTeX", f"{ratio:.2f} x", "0.60 x", ratio <= 0.6))


def pythontex_ready() -> bool:
    """PythonTeX is installed, or can be (as root, with apt); otherwise the comparison is not measured."""
    found = shutil.which("pythontex") and subprocess.run(["kpsewhich", "pythontex.sty"], capture_output=True,
                                                         text=True).stdout.strip()
    if found:
        return True
    if shutil.which("apt-get") and os.geteuid() == 0:
        log.info("installing PythonTeX (texlive-extra-utils) for the comparison")
        installed = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                                    "texlive-extra-utils"], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
                                   capture_output=True, text=True)
        return installed.returncode == 0 and bool(shutil.which("pythontex"))
    log.warning("PythonTeX is not installed and cannot be installed here; install the Debian package "
                "texlive-extra-utils to measure the comparison")
    return False


PYTHONTEX_RC = r"""
$pythontex = 'pythontex %O %S';
$extra_rule_spec{'pythontex'} = [ 'internal', '', 'mypythontex', "%Y%R.pytxcode", "%Ypythontex-files-%R/%R.pytxmcr", "%R", 1 ];
sub mypythontex {
   my $result_dir = $aux_dir1."pythontex-files-$$Pbase";
   my $ret = Run_subst( $pythontex, 2 );
   rdb_add_generated( glob "$result_dir/*" );
   return $ret;
}
"""


def pythontex_build(folder: Path) -> Measure:
    (folder / "latexmkrc").write_text(PYTHONTEX_RC)
    command = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-r", "latexmkrc", "document.tex"]
    measure = run_timed(command, folder)
    if not (folder / "document.pdf").exists():
        raise SolmanError("the PythonTeX build failed", hint=f"see {folder / 'document.log'}")
    return measure


# --- the generated content ------------------------------------------------------------------------

def synthetic_value(chapter: int, k: int) -> tuple[str, str, str, str]:
    """One generated value: its Python expression, an independent test of it (``{v}`` stands for the
    value), the filter solman prints it with, and the expression PythonTeX prints."""
    shift = "SHIFT" if (chapter, k) == (1, 1) else "0"  # the value the benchmark changes
    kind = k % 4
    if kind == 0:
        return f"{k} * {k + chapter}", f"{{v}} == {k * (k + chapter)}", "", f"{k * (k + chapter)}"
    if kind == 1:
        return (f"Fraction({k} + {shift}, {k + 1})", f"{{v}} * {k + 1} == {k} + {shift}", "",
                f"sp.latex(sp.Rational({k}, {k + 1}))")
    if kind == 2:
        return (f"math.sqrt({k * chapter})", f"abs({{v}} ** 2 - {k * chapter}) < 1e-9", " | fixed(3)",
                f"f'{{math.sqrt({k * chapter}):.3f}}'")
    return (f"sp.sqrt({k}) / {chapter + 1}", f"{{v}} ** 2 == sp.Rational({k}, {(chapter + 1) ** 2})", "",
            f"sp.latex(sp.sqrt({k}) / {chapter + 1})")


def write_synthetic(folder: Path, chapters: int, values: int, in_solution: bool = True) -> Path:
    """A solman project of ``chapters`` chapters printing ``values`` values each, with their tests.

    The values are printed in each question's solution, or (``in_solution=False``) in its text.
    """
    ids = [f"c{n:03d}" for n in range(1, chapters + 1)]
    (folder / "chapters").mkdir(parents=True)
    (folder / "verify").mkdir()
    listed = ", ".join(f'"{i}"' for i in ids)
    (folder / "pyproject.toml").write_text(
        f'[tool.solman]\ntitle = "Synthetic manual"\nauthor = "solman bench"\nyear = 2026\nchapters = [{listed}]\n')
    for n, chapter_id in enumerate(ids, start=1):
        module = ["import math", "from fractions import Fraction", "", "import sympy as sp", "",
                  "from solman import value", "", "SHIFT = 0", ""]
        lines = [f"\\chapter{{Synthetic chapter {n}}}", "\\VAR{ problem(\"Values\", 1) }",
                 "\\BLOCK{ call question(\"1\") }", "Print the values of this chapter.",
                 *(["\\BLOCK{ call solution() }"] if in_solution else []), "\\begin{align*}"]
        row, tests = [], []
        for k in range(1, values + 1):
            compute, test, printer, _ = synthetic_value(n, k)
            module += ["", "@value", f"def v{k:02d}():", f"    return {compute}", ""]
            tests.append("    assert " + test.format(v=f"v{k:02d}()"))
            row.append(f"v_{{{k}}} &= \\VAR{{ v{k:02d}{printer} }}")
            if len(row) == 3 or k == values:
                lines.append(" & ".join(row) + (" \\\\" if k < values else ""))
                row = []
        lines += ["\\end{align*}", *(["\\BLOCK{ endcall }"] if in_solution else []), "\\BLOCK{ endcall }", ""]
        module += ["", "def test_values():", *tests, ""]
        (folder / "chapters" / f"{chapter_id}.tex.j2").write_text("\n".join(lines))
        (folder / "verify" / f"{chapter_id}.py").write_text("\n".join(module))
    return folder


def write_pythontex(folder: Path, chapters: int, values: int) -> Path:
    """The same content as one PythonTeX document."""
    folder.mkdir(parents=True)
    body = ["\\documentclass[11pt,twoside,openright]{book}", "\\usepackage{solman}", "\\usepackage{pythontex}",
            "\\begin{document}", "\\begin{pycode}", "import math", "import sympy as sp", "\\end{pycode}",
            "\\tableofcontents"]
    for n in range(1, chapters + 1):
        body += [f"\\chapter{{Synthetic chapter {n}}}", "\\section{Values}", "Print the values of this chapter.",
                 "\\begin{align*}"]
        row = []
        for k in range(1, values + 1):
            row.append(f"v_{{{k}}} &= \\py{{{synthetic_value(n, k)[3]}}}")
            if len(row) == 3 or k == values:
                body.append(" & ".join(row) + (" \\\\" if k < values else ""))
                row = []
        body.append("\\end{align*}")
    body.append("\\end{document}")
    (folder / "document.tex").write_text("\n".join(body) + "\n")
    shutil.copy(BUILTIN_TEMPLATES / "solman.sty", folder / "solman.sty")
    (folder / STYLE).write_bytes(language_style("en"))  # solman.sty loads the words of the language
    (folder / PRINTING_STYLE).write_bytes(printing_style(Printing()))  # and the printing policy's macros
    return folder


# --- running and timing ---------------------------------------------------------------------------

def copy_project(source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for name in ("chapters", "verify", "pyproject.toml"):
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source / name, target / name)
    if (source / "templates").is_dir():
        shutil.copytree(source / "templates", target / "templates")
    return target


def task_environment(project: Path) -> dict[str, str]:
    return dict(os.environ, SOLMAN_PROJECT=str(project))


def run_task(repo: Path, project: Path, *arguments: str) -> Measure:
    """``invoke <arguments>`` on ``project``, as an author runs it."""
    measure = run_timed([sys.executable, "-m", "invoke", arguments[0], "--quiet" if arguments[0] == "pdf" else "",
                         *arguments[1:]], repo, task_environment(project))
    return measure


def run_timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Measure:
    """Run ``command``, timing it and sampling the resident memory of its whole process tree."""
    command = [part for part in command if part]
    before, started = machine_cpu(), time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]
    sampler = threading.Thread(target=sample_memory, args=(process, peak), daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds, cpu = time.perf_counter() - started, cpu_between(before, machine_cpu())
    sampler.join()
    if process.returncode != 0:
        raise SolmanError(f"`{' '.join(command)}` failed during the benchmark (exit {process.returncode})",
                          details=(stdout + stderr).strip().splitlines()[-12:])
    return Measure(" ".join(command), seconds, peak[0], stdout=stdout, cpu=cpu)


def sample_memory(process: subprocess.Popen, peak: list[float]) -> None:
    while process.poll() is None:
        peak[0] = max(peak[0], tree_rss_mib(process.pid))
        time.sleep(0.05)  # a twentieth of a second: no process that matters lives shorter


def tree_rss_mib(root: int) -> float:
    """Resident memory of ``root`` and all its descendants, in MiB.

    Sampled every 50 ms while a measured run uses both cores, so it reads one short line per process
    (``/proc/<pid>/stat``: parent and resident pages) rather than parsing each ``status`` file, which
    cost a sixth of a core and slowed the very runs it measured.
    """
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as file:
                fields = file.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(entry)] = int(fields[1])  # the fields after the name: state, ppid, ..., rss is the 22nd
        rss[int(entry)] = int(fields[21])
    tree, frontier = {root}, [root]
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(pid, 0) for pid in tree) * PAGE / 2**20


BARE_LATEXMK = """
import subprocess, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from solman.latex.latexmk import LATEXMK_FLAGS, PDFLATEX, latex_environment, prepare_format
folder, jobs, targets = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
formats = {target: prepare_format(folder, target, 2026) for target in targets}  # the formats solman made
def run(target):
    pdflatex = PDFLATEX.replace("%O", f"-fmt={formats[target]} %O") if formats[target] else PDFLATEX
    subprocess.run(["latexmk", *LATEXMK_FLAGS, f"-outdir=out/{target}", pdflatex, f"{target}.tex"], cwd=folder,
                   env=latex_environment(2026), capture_output=True, check=True)
with ThreadPoolExecutor(max_workers=jobs) as pool:
    list(pool.map(run, targets))
"""


def bare_latexmk(tex: Path, folder: Path, jobs: int, only: str | None = None) -> Measure:
    """latexmk alone, cold, on solman's rendered targets: what the compiles cost without solman."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(tex, folder, ignore=shutil.ignore_patterns("out"))
    built = json.loads((tex.parent / "manifest.json").read_text())["outputs"].values()
    targets = sorted((r["target"] for r in built if only is None or r["target"] == only),
                     key=lambda t: (not t.startswith("manual"), t))  # the big ones first, as solman does
    return run_timed([sys.executable, "-c", BARE_LATEXMK, str(folder), str(jobs), *targets], folder)


def record_in_readme(readme: Path, report: BenchReport, caption: str, section: str = "bench") -> None:
    """Replace the README's results of ``section`` (between its markers) with this run's, under ``caption``."""
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    text = readme.read_text()
    if start not in text:
        raise MissingTool(f"README.md has no performance section {section} to update",
                          hint=f"add the markers {start} and {end} under the Performance heading")
    block = f"{start}\n_{caption}._\n\n{report.table()}\n{end}"
    readme.write_text(re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S))
