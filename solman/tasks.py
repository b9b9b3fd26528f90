"""solman's commands, for the `solman` program and for a project's tasks.py (`from solman.tasks import ns`).

Each task calls one engine function. The project a task works on is the folder named by ``-C DIR``
(the `solman` program) or ``SOLMAN_PROJECT``, else the nearest folder, from the current one
upwards, whose pyproject.toml has a ``[tool.solman]`` table.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

from invoke import Collection, Exit, task


def _root() -> Path:
    """The project's folder (see the module's docstring)."""
    from solman.project.settings import find_project

    return find_project(os.environ.get("SOLMAN_PROJECT"), Path.cwd())


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        return f"warning: {message}" if record.levelno >= logging.WARNING else message


def configure_logging(quiet: bool = False, verbose: bool = False) -> None:
    """Progress on stderr: on a terminal wrapped to its width with warnings in colour, plain lines otherwise
    (CI, pipes)."""
    handler = _Terminal(sys.stderr) if _terminal_width(sys.stderr) else logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Format())  # no level names, but "warning: " before a warning
    logger = logging.getLogger("solman")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


class _Terminal(logging.StreamHandler):
    """Progress on a terminal: wrapped at spaces to its width, as errors are; warnings in bold yellow.

    Not rich's handler, which did this before: importing rich took a quarter of the time a no-op
    `invoke pdf` adds to Python's own start on a terminal (measured with -X importtime), for one colour
    and a wrap.
    """

    def format(self, record: logging.LogRecord) -> str:
        from solman.errors import wrapped

        text = wrapped(super().format(record), _terminal_width(self.stream))
        return f"\x1b[1;33m{text}\x1b[0m" if record.levelno >= logging.WARNING else text


@contextlib.contextmanager
def reported():
    """Turn a solman error into its message and exit code; other exceptions keep their traceback."""
    from solman.errors import SolmanError

    try:
        yield
    except SolmanError as error:
        _print_error(error.render())
        raise Exit(code=error.exit_code) from None
    except OSError as exc:  # writing build/ failed outside a build (verify, keys): the disk, not a bug
        from solman.errors import writes_under, writing_failure

        root = _root()
        if not writes_under(exc, root / "build"):
            raise
        error = writing_failure(exc, exc.filename, root)
        _print_error(error.render())
        raise Exit(code=error.exit_code) from None
    except KeyboardInterrupt:
        print(_interrupted(), file=sys.stderr)
        raise Exit(code=130) from None


def _print_error(text: str) -> None:
    """Print a rendered error on stderr, wrapped at spaces to the terminal's width if stderr is one."""
    from solman.errors import wrapped

    print(wrapped(text, _terminal_width(sys.stderr)), file=sys.stderr, flush=True)


def _terminal_width(stream) -> int | None:
    """The width of the terminal ``stream`` writes to (``COLUMNS`` if set), or None if it is not a terminal."""
    try:
        if not stream.isatty():
            return None
        columns = os.environ.get("COLUMNS", "")
        return int(columns) if columns.isdigit() and int(columns) > 0 else os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):  # closed, or not a real file (pytest's capture)
        return None


def _interrupted() -> str:
    """What an interruption left in build/, as far as this process knows (see solman.build.outputs.publish)."""
    variants = sys.modules.get("solman.variants.builds")
    if variants is not None and variants.interrupted:  # a variant's PDFs are published as soon as it is built
        return (f"interrupted; the variants built before are published in {variants.interrupted[-1]}, "
                "each with the key of its PDFs, and key.csv lists them")
    outputs = sys.modules.get("solman.build.outputs")  # not imported: nothing was published
    state = outputs.publishing if outputs is not None else "not started"
    if state in ("not started", "staging"):
        return "interrupted; the previous PDFs in build/ are unchanged"
    if state == "done":
        return "interrupted after the new PDFs were published in build/"
    return ("interrupted while publishing: the new PDFs are committed, and the next solman command "
            "(any of them) finishes putting them in place in build/")


def _word(task_name: str, value: str, what: str) -> str:
    """A task's positional ``value``, which must not look like an option.

    Invoke fills a task's missing positional argument with whatever word comes next, even
    ``--help``: ``invoke new --help`` would otherwise start a chapter called ``--help``.
    """
    from solman.errors import ConfigError

    if value in ("-h", "--help"):
        _print_help(task_name)
        raise Exit(code=0)
    if value.startswith("-"):
        binary = _binary()
        raise ConfigError(f"{value!r} is not a {what}: it starts with '-', as an option does",
                          hint=f"give the {what} first, for example `{binary} {task_name} {EXAMPLES[task_name]}`; "
                          f"`{binary} {task_name} --help` lists the options")
    return value


EXAMPLES = {"new": 'ml_final_2025 --title "Machine Learning, final exam 2025"', "init": 'my-course --title "Statistics"'}


def _binary() -> str:
    """The command running the tasks, as its help names it: ``solman`` (solman.cli) or invoke's own."""
    return "solman" if "solman.cli" in sys.modules else "invoke"


def _print_help(task_name: str) -> None:
    """Print ``task_name``'s help as ``invoke --help TASK`` (or ``solman --help TASK``) does."""
    from invoke import Program

    binary = "solman" if _binary() == "solman" else "inv[oke]"
    for name, each in ns.tasks.items():  # invoke pops a task's help texts as it parses: give them back
        each.help = dict(HELP[name])
    Program(namespace=ns, binary=binary).run([binary, "--help", task_name], exit=False)


def _project():
    from solman.project.settings import load_project

    return load_project(_root())


@task(help={"folder": "the new project's folder (it must be new or empty)",
            "title": "the manual's title, printed on its title page and in its running heads",
            "author": "the author (or the course's teachers), printed on the title page",
            "language": "the language of every word solman prints: en (English), fr (French) or de (German)"},
      positional=["folder"])
def init(c, folder, title="", author="", language="en"):
    """Start a course: pyproject.toml, tasks.py, README, CI workflow and an example chapter in FOLDER."""
    configure_logging()
    with reported():
        from solman.project.scaffold import EXAMPLE, init_project

        root = Path(_word("init", folder, "folder")).expanduser().resolve()
        for path in init_project(root, title, author, language):
            print(f"wrote {path.relative_to(root.parent).as_posix()}")
        print(f"next: cd {folder} && invoke pdf (or solman pdf) to build it, then invoke verify to check it; "
              f"edit chapters/{EXAMPLE}.tex.j2 and verify/{EXAMPLE}.py, or start another chapter with invoke new")


@task(help={"html": "also LaTeXML, Chromium and npm, for the HTML edition (invoke html) and its browser checks; "
                    "and axe-core (npm ci) where the project has a package.json"})
def setup(c, html=False):
    """Install TeX Live, latexmk, poppler and bubblewrap from Debian's packages if any are missing."""
    configure_logging()
    with reported():
        from solman.latex.toolchain import install_axe, install_tex

        installed = install_tex(html=html)
        if html and install_axe(_project_or_here()):
            installed.append("axe-core (npm)")
        ready = "TeX Live, latexmk, poppler and bubblewrap" + (", LaTeXML, Chromium and axe-core" if html else "")
        print(f"installed: {' '.join(installed)}" if installed else f"{ready} are ready")


def _project_or_here() -> Path:
    """The project's folder, or the current one outside a project (setup needs no project)."""
    from solman.errors import SolmanError

    try:
        return _root()
    except SolmanError:
        return Path.cwd()


SELECTION = {
    "chapter": "only this chapter's PDFs (build/chapters/<id>-<edition>.pdf)",
    "edition": "only this edition: solutions or problems",
    "manual": "only the combined manual (build/manual.pdf, build/problems.pdf), no chapter PDFs",
    "jobs": "how many LaTeX runs at once (default: one per core)",
    "quiet": "print only warnings and errors",
    "verbose": "also print the commands solman runs (latexmk, pytest) and what it takes from its caches",
    "draft": "build even when a test fails or a printed value is untested: every page then says DRAFT, "
             "and `invoke verify` rejects it",
}


def _selection(chapter, edition, manual):
    from solman.errors import ConfigError
    from solman.project.settings import EDITIONS

    if edition not in (None, *EDITIONS):
        raise ConfigError(f"unknown edition '{edition}'", hint=f"use one of: {', '.join(EDITIONS)}")
    if chapter and manual:
        raise ConfigError("--chapter and --manual exclude each other", hint="pick one of them")


def _jobs(jobs) -> int | None:
    """``--jobs`` as a number of LaTeX runs: a whole number of at least 1 (absent: one per core)."""
    from solman.errors import ConfigError

    if jobs is None:
        return None
    text = str(jobs).strip()
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"--jobs needs a whole number of at least 1, not {jobs!r}",
                          hint="for example --jobs 2; leave it out for one LaTeX run per core")
    return int(text)


def _print_outputs(built) -> None:
    for target in built.targets:
        pages = built.pages(target)
        print(f"build/{target.output} ({pages} page{'' if pages == 1 else 's'})")


@task(help=SELECTION)
def pdf(c, chapter=None, edition=None, manual=False, jobs=None, quiet=False, verbose=False, draft=False):
    """Render and compile the manual: build/manual.pdf, build/problems.pdf and one PDF per chapter."""
    configure_logging(quiet, verbose)
    with reported():
        from solman.build.pipeline import build

        _selection(chapter, edition, manual)
        built = build(_project(), chapter=chapter, edition=edition, manual=manual, jobs=_jobs(jobs), draft=draft)
        if not quiet:
            _print_outputs(built)


@task(help={**SELECTION, "draft": "build even when checks fail, marking every page DRAFT (the default; "
                                   "--no-draft keeps the last good PDFs instead)",
            "html": "rebuild the HTML edition instead, served at http://127.0.0.1:PORT/ with live reload",
            "port": "the port --html serves on (default 8000)"})
def watch(c, chapter=None, edition=None, manual=False, jobs=None, quiet=False, verbose=False, draft=True, html=False,
          port=8000):
    """Rebuild on every save of a chapter, verify module, template or pyproject.toml; Ctrl-C stops."""
    configure_logging(quiet, verbose)
    with reported():
        from solman.build.pipeline import build
        from solman.build.watch import watch as watch_sources

        _selection(chapter, edition, manual)
        jobs = _jobs(jobs)
        if html:
            from solman.html.serve import serve_site
            from solman.html.site import build_html

            def rebuild_html(project):
                site = build_html(project, jobs=jobs, draft=draft)
                if site.converted:
                    print(f"rebuilt {', '.join(project.relative(p.path) for p in site.converted)}", flush=True)

            def report_html(error):
                _print_error(error.render())
                print("the previous pages in build/html are unchanged; watching on", file=sys.stderr, flush=True)

            project = _project()
            serve_site(project.root, project.build / "html", rebuild_html, report_html, _number("--port", port, 1))
            return

        def rebuild(project):
            built = build(project, chapter=chapter, edition=edition, manual=manual, jobs=jobs, draft=draft)
            if built.compiled:
                print(f"rebuilt {', '.join('build/' + t.output for t in built.targets if t.name in built.compiled)}",
                      flush=True)

        def report(error):
            _print_error(error.render())
            print("the previous PDFs in build/ are unchanged; watching on", file=sys.stderr, flush=True)

        watch_sources(_root(), rebuild, report)


@task(help={"jobs": "how many chapters LaTeXML converts at once (default: one per core)",
            "quiet": SELECTION["quiet"], "verbose": SELECTION["verbose"], "draft": SELECTION["draft"]})
def html(c, jobs=None, quiet=False, verbose=False, draft=False):
    """Build the HTML edition, build/html: a page per chapter and edition, mathematics as MathML."""
    configure_logging(quiet, verbose)
    with reported():
        from solman.html.site import build_html

        project = _project()
        site = build_html(project, jobs=_jobs(jobs), draft=draft)
        if not quiet:
            converted = len(site.converted)
            print(f"{project.relative(site.index)} ({len(site.pages)} pages, {converted} converted "
                  f"in {site.seconds:.0f} s)")


@task(help={"chapter_id": "the new chapter's id: lower-case letters, digits and underscores",
            "title": "the chapter's title, as it should appear in the manual"}, positional=["chapter_id"])
def new(c, chapter_id, title=""):
    """Start a chapter: chapters/<id>.tex.j2 and verify/<id>.py, registered in pyproject.toml."""
    configure_logging()
    with reported():
        from solman.project.scaffold import new_chapter

        chapter_id = _word("new", chapter_id, "chapter id")
        root = _root()
        for path in new_chapter(root, chapter_id, title):
            print(f"wrote {path.relative_to(root).as_posix()}")
        print(f"next: invoke pdf --chapter {chapter_id} to see it, then invoke verify --chapter {chapter_id} "
              "to check it")


@task(help={"format": "overleaf (default): a plain LaTeX project; moodle: Moodle XML question banks; "
                      "qti: QTI 2.1 packages (Canvas, Blackboard, ILIAS, OpenOLAT)",
            "chapter": "export this chapter only (default: the whole manual)",
            "edition": "overleaf only: solutions (default) or problems",
            "variants": "moodle and qti: how many variants of a chapter with drawn givens (default 5)",
            "seed": "moodle and qti: the seed the variants are drawn with, as for invoke variants (default 1)"})
def export(c, format="overleaf", chapter=None, edition="solutions", variants=None, seed=1):
    """Export the manual: a LaTeX project for Overleaf, or question banks for Moodle and QTI platforms."""
    configure_logging()
    with reported():
        project = _project()
        if format == "overleaf":
            from solman.exports.overleaf import export as export_project

            print(project.relative(export_project(project, chapter, edition)))
            return
        from solman.exports.banks import DEFAULT_VARIANTS, export_banks

        count = _number("--variants", variants, 1) if variants is not None else DEFAULT_VARIANTS
        done = export_banks(project, format, chapter, count, _number("--seed", seed, 0))
        for path in done.paths:
            print(project.relative(path))
        if done.warnings:
            print(f"{len(done.warnings)} warnings: the platform will not show or grade those questions as the PDF does")


@task(help={"pdf": "check this PDF, or this saved page of the HTML edition (for example one downloaded from a "
                   "course page), instead of build/",
            "chapter": "check only this chapter: its tests, values and PDFs (build/chapters/<id>-*.pdf)",
            "fresh": "run every test and check afresh, reusing no cached result",
            "quiet": "print only the problems and the summary",
            "verbose": "also print the commands solman runs"})
def verify(c, pdf=None, chapter=None, fresh=False, quiet=False, verbose=False):
    """Prove the manual: tests pass, every printed value is tested, the PDFs are current."""
    configure_logging(quiet, verbose)
    with reported():
        from solman.checking.verification import verify_folder

        report = verify_folder(_root(), Path(pdf).resolve() if pdf else None, chapter=chapter, fresh=fresh)
        for failure in report.failures:
            _print_error(failure.render())
        print("\n".join(report.summary()))
        if not report.ok:
            raise Exit(code=report.failures[0].exit_code)


@task
def keys(c):
    """Write answer keys for graders: build/keys/<chapter>.json (for autograders) and <chapter>.csv."""
    configure_logging()
    with reported():
        from solman.exports.keys import write_keys

        project = _project()
        for path in write_keys(project):
            print(project.relative(path))
            print(project.relative(path.with_suffix(".csv")))


@task(help={"chapter": "the chapter to build once per student (its parameters are drawn for each)",
            "count": "how many variants: v001, v002, ...",
            "roster": "a CSV file with an id column (each student's variant) and an optional name column",
            "seed": "the run's seed: the same seed and roster give the same PDFs (default 1)",
            "jobs": "variants built at once (default: one per core)",
            "scheduler": "build on this Dask cluster instead, for example tcp://host:8786",
            "quiet": "print only warnings and errors"})
def variants(c, chapter, count=None, roster=None, seed=1, jobs=None, scheduler=None, quiet=False):
    """Build a chapter per student: build/variants/<chapter>/<variant>/problems.pdf, solutions.pdf, key.json."""
    configure_logging(quiet)
    with reported():
        from solman.errors import ConfigError
        from solman.variants.builds import build_variants, numbered_variants, roster_variants

        project = _project()
        if (count is None) == (roster is None):
            raise ConfigError("give either --count N or --roster students.csv",
                              hint="for example: invoke variants --chapter <id> --count 4")
        seed = _number("--seed", seed, 0)
        chosen = roster_variants(Path(roster).resolve(), seed, project.root) if roster else \
            numbered_variants(_number("--count", count, 1), seed)
        for path in build_variants(project, chapter, chosen, jobs=_jobs(jobs), scheduler=scheduler):
            print(project.relative(path))


@task(help={"chapter": "the chapter whose values and tests run for each seed",
            "count": "how many seeds (those of variants v001 ... of invoke variants with the same --seed)",
            "seed": "the run's seed (default 1)",
            "jobs": "worker processes (default: one per core)",
            "timeout": "seconds each value and test may take for one seed (default: the project's timeout)"})
def stress(c, chapter, count=100, seed=1, jobs=None, timeout=None):
    """Run a chapter's values and tests over many variants; report build/variants/<chapter>/stress.html."""
    configure_logging()
    with reported():
        from solman.variants.stress import failed, stress as run_stress

        project = _project()
        report = run_stress(project, chapter, _number("--count", count, 1), _number("--seed", seed, 0),
                            jobs=_jobs(jobs), timeout=_seconds("--timeout", timeout))
        print(f"{len(report.runs) - len(report.failures)} of {len(report.runs)} seeds passed; "
              f"report: {project.relative(report.html)}")
        error = failed(report)
        if error is not None:
            raise error


def _seconds(option: str, text) -> float | None:
    """A positive, finite number of seconds (absent: None)."""
    import math

    from solman.errors import ConfigError

    if text is None:
        return None
    try:
        seconds = float(str(text).strip())
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"{option} needs a number of seconds above 0, not {text!r}", hint=f"for example {option} 60")
    return seconds


def _number(option: str, text, least: int) -> int:
    from solman.errors import ConfigError

    if not str(text).strip().isdigit() or int(text) < least:
        raise ConfigError(f"{option} needs a whole number of at least {least}, not {text!r}")
    return int(text)


@task
def clean(c):
    """Remove everything generated in build/ (waits for a running build to finish)."""
    configure_logging()
    with reported():
        from solman.build.outputs import clean as remove_build

        print("emptied build/ (its lock file, build/.lock, stays)" if remove_build(_root() / "build")
              else "nothing to clean")


ns = Collection(init, setup, new, pdf, html, watch, verify, keys, export, variants, stress, clean)
HELP = {name: dict(task.help) for name, task in ns.tasks.items()}  # the options' help texts, for _print_help
