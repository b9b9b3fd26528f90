"""``invoke export``: the manual, or one chapter, as a plain LaTeX project (no Jinja, no Python).

The zip holds what the PDF was compiled from, exactly: the rendered shell as ``main.tex``, the
rendered chapters, the appendix and status files of the solutions edition, the style, the
provenance the PDF embeds, and a ``latexmkrc``. It compiles with ``latexmk`` on a stock TeX
Live installation or on Overleaf. The archive is reproducible: sorted entries, fixed dates.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from solman.build.pipeline import build
from solman.errors import ConfigError
from solman.latex.latexmk import FORMAT_MARK
from solman.build.outputs import lock, replace_atomically
from solman.project.settings import EDITIONS, Project
from solman.rendering.sources import SOURCE
from solman.project.targets import plan_targets, provenance_file

LATEXMKRC = "# Compile with: latexmk main.tex\n$pdf_mode = 1;\n@default_files = ('main.tex');\n"
README = """This folder was exported by solman from {project}: {what}.

It is plain LaTeX: compile it with `latexmk main.tex` (TeX Live), or upload the zip to Overleaf
(main document: main.tex). The numbers in it were computed and tested when it was exported;
to change them, change the solman project and export again.
"""
FIXED_DATE = (2026, 1, 1, 0, 0, 0)


def export(project: Project, chapter: str | None = None, edition: str = "solutions") -> Path:
    """Build the target if needed and write ``build/export/<target>.zip``; return its path."""
    if edition not in EDITIONS:
        raise ConfigError(f"unknown edition '{edition}'", hint=f"use one of: {', '.join(EDITIONS)}")
    [target] = [t for t in plan_targets(project, chapter, edition, manual=chapter is None)
                if (t.is_manual if chapter is None else not t.is_manual)]
    # Exclusive, not shared: export may build, then reads build/tex, which no other build may change
    # in between, and writes its zip (the build nested here shares this hold).
    with lock(project.build, exclusive=True, doing="exporting"):
        return write_archive(project, target, chapter, edition)


def write_archive(project: Project, target, chapter: str | None, edition: str) -> Path:
    record = build(project, chapter=chapter, edition=edition, manual=chapter is None).records[target.output]
    tex = project.build / "tex"
    files = {name: tex / name for name in record["inputs"] if not name.startswith(SOURCE)}  # not the verify modules
    files[provenance_file(target.name)] = tex / provenance_file(target.name)
    main = files.pop(f"{target.name}.tex")
    what = f"chapter {chapter}" if chapter else "the whole manual"
    archive = project.build / "export" / f"{target.name}.zip"
    content = io.BytesIO()
    with zipfile.ZipFile(content, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        def add(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(f"{target.name}/{name}", date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, data)

        add("main.tex", without_format_mark(main.read_text(encoding="utf-8")).encode())
        for name in sorted(files):
            add(name, files[name].read_bytes())
        add("latexmkrc", LATEXMKRC.encode())
        add("README.txt", README.format(project=project.title, what=f"{what}, {edition} edition").encode())
    replace_atomically(archive, content.getvalue())  # a Ctrl-C leaves the previous zip, not half of one
    return archive


def without_format_mark(shell: str) -> str:
    """The shell without the line that ends the preamble solman preloads as a format (solman.latex.latexmk):
    a marker for solman's compiler, and noise in a project meant for people."""
    lines = shell.splitlines(keepends=True)
    return "".join(line for line in lines if line.strip() != FORMAT_MARK).replace(FORMAT_MARK, "")
