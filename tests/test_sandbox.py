r"""LaTeX in its sandbox: pdfTeX's own primitives cannot read, write or run anything outside build/tex.

kpathsea's openin_any/openout_any bind TeX's \input and \openout, not pdfTeX's primitives:
``\pdfobj stream file {/etc/passwd}`` copied the file into the student PDF. Each case puts
one primitive into the fixture chapter and builds: LaTeX must stop with an error at the
chapter's line, or produce a PDF without a byte of the file (looked for in the text and in
the decompressed streams), and nothing outside build/tex may change.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, edit, snapshot

from solman.latex import sandbox
from solman.build.pipeline import build
from solman.errors import ConfigError, MissingTool, SolmanError
from solman.latex.pdfs import pdf_text
from solman.project.settings import load_project

SECRET = Path("/etc/passwd")  # readable by the tests, never by LaTeX
LINE = "chapters/demo.tex.j2:16"  # "What is half of one?"


@dataclass
class Primitive:
    name: str
    tex: str  # {root}: the project's root; {marker}: a path outside the project that must not appear
    message: str | None  # the LaTeX error expected at LINE; None where pdfTeX silently gets nothing
    hint: str = ""


PRIMITIVES = [
    Primitive("pdfobj stream file", r"\immediate\pdfobj stream file {/etc/passwd}\pdfrefobj\pdflastobj",
              "/etc/passwd not found", "LaTeX reads only files under build/tex"),
    Primitive("pdfobj of a project file",
              r"\immediate\pdfobj stream file {../../pyproject.toml}\pdfrefobj\pdflastobj",
              "../../pyproject.toml not found", "LaTeX reads only files under build/tex"),
    Primitive("pdfximage outside build/tex", r"see \pdfximage{{root}/outside.png}\pdfrefximage\pdflastximage",
              "pdfTeX error: cannot find image file", "LaTeX reads only files under build/tex"),
    Primitive("pdffiledump", r"dump \pdffiledump length 100 {/etc/passwd} end", None),
    Primitive("pdfmdfivesum file", r"sum \pdfmdfivesum file {/etc/passwd} end", None),
    Primitive("piped input", r'\input|"echo leaked"', "can't find file", "LaTeX runs no programs"),
    Primitive("input of a system file", r"\input{/etc/hostname}", "not found", "LaTeX reads only files under build/tex"),
    Primitive("openout to the project", r"\newwrite\f \immediate\openout\f={root}/escaped.txt",
              "I can't write on file", "LaTeX may write only inside build/tex"),
    Primitive("openout to /tmp", r"\newwrite\f \immediate\openout\f={marker}", "I can't write on file",
              "LaTeX may write only inside build/tex"),
    Primitive("write18", r"\immediate\write18{touch {marker}}", None),
]



def png() -> bytes:
    """A 2x2 grey image, valid for pdfTeX."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80\x80" * 2)) + chunk(b"IEND", b""))


def decompressed(pdf: bytes) -> bytes:
    """The PDF with every Flate stream inflated (object streams too), as qpdf --qdf would show it."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            parts.append(zlib.decompressobj().decompress(pdf[match.end():]))
        except zlib.error:
            pass
    return b"\n".join(parts)


def traces_of(secret: bytes) -> list[str]:
    """What a leak of ``secret`` would look like in a PDF: a line of it, its hex dump, its MD5."""
    first = secret.splitlines()[0].decode()
    return [first, secret[:20].hex().upper(), hashlib.md5(secret).hexdigest().upper()]


def outside_build_tex(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and not p.relative_to(root).as_posix().startswith("build/")}


@pytest.mark.tex
@pytest.mark.parametrize("primitive", PRIMITIVES, ids=[p.name for p in PRIMITIVES])
def test_pdftex_primitives_reach_nothing_outside_build_tex(built: Path, tmp_path: Path, primitive: Primitive):
    (built / "outside.png").write_bytes(png())  # a real image, readable by anyone but LaTeX
    marker = tmp_path / "outside.txt"
    tex = primitive.tex.replace("{root}", built.as_posix()).replace("{marker}", marker.as_posix())
    before = snapshot(built)
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", tex)
    files = outside_build_tex(built)
    failed = None
    try:
        build(load_project(built))
    except SolmanError as error:
        failed = error
    if primitive.message is None:
        assert failed is None, failed.render()
        for pdf in (built / "build").rglob("*.pdf"):
            text, raw = pdf_text(pdf), decompressed(pdf.read_bytes())
            for trace in traces_of(SECRET.read_bytes()):
                assert trace not in text and trace.encode() not in raw, f"{pdf} holds {trace!r}"
    else:
        assert failed is not None, f"{tex} built"
        assert failed.category == "latex" and str(failed.location) == LINE, failed.render()
        assert primitive.message in failed.message, failed.render()
        assert primitive.hint in failed.hint, failed.render()
        assert failed.location.text == tex
        assert snapshot(built) == before
    assert outside_build_tex(built) == files  # the project, but for build/, as it was
    assert not marker.exists() and not (built / "escaped.txt").exists()


@pytest.mark.tex
def test_the_sandbox_alone_stops_what_kpathsea_would_allow(tmp_path: Path):
    """With kpathsea told to allow everything, the OS sandbox still shows TeX nothing but its folder."""
    folder = tmp_path / "build" / "tex"
    folder.mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("not for TeX\n")
    outside = tmp_path / "written-outside.txt"
    ran = tmp_path / "shell-escape-ran"
    (folder / "probe.tex").write_text("\n".join([  # plain pdfTeX primitives, in -ini mode
        r"\catcode`\{=1 \catcode`\}=2",
        r"\openin1=/etc/passwd \message{[passwd:\ifeof1 absent\else READABLE\fi]}",
        r"\openin1=../../secret.txt \message{[project:\ifeof1 absent\else READABLE\fi]}",
        rf"\immediate\openout1={outside} \immediate\write1{{x}}\immediate\closeout1",
        r"\immediate\openout1=inside.txt \immediate\write1{x}\immediate\closeout1",
        r"\message{[hostname:\pdffilesize{/etc/hostname}]}",
        rf"\immediate\write18{{touch {ran}}}",  # even a program it runs writes only into the sandbox
        r"\end",
    ]))
    environment = dict(sandbox.environment({}), openin_any="a", openout_any="a", shell_escape="t")
    run = subprocess.run(sandbox.wrap(["pdftex", "-ini", "-interaction=nonstopmode", "probe.tex"], folder),
                         cwd=folder, env=environment, capture_output=True, text=True, check=False)
    assert "[passwd:absent]" in run.stdout and "[project:absent]" in run.stdout, run.stdout
    assert "[hostname:]" in run.stdout, run.stdout
    assert (folder / "inside.txt").exists() and not outside.exists() and not ran.exists()


@pytest.mark.tex
def test_without_bubblewrap_the_build_stops_and_says_how_to_install_it(built: Path, monkeypatch):
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "bwrap" else real(name, *a, **k))
    sandbox.probe.cache_clear()
    try:
        edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half?")
        with pytest.raises(MissingTool) as caught:
            build(load_project(built))
        assert caught.value.exit_code == 8 and "bubblewrap (bwrap) is not installed" in caught.value.message
        assert "apt-get install bubblewrap" in caught.value.hint and "sandbox = false" in caught.value.hint
        # a project that opts out builds without it
        edit(built / "pyproject.toml", "year = 2026", "year = 2026\nsandbox = false")
        build(load_project(built))
        assert "What is one half?" in pdf_text(built / "build" / "problems.pdf")
    finally:
        sandbox.probe.cache_clear()


@pytest.mark.tex
def test_the_command_line_exits_8_without_bubblewrap(built: Path, tmp_path: Path):
    bin_without_bwrap = tmp_path / "bin"
    bin_without_bwrap.mkdir()
    for program in Path("/usr/bin").iterdir():
        if program.name != "bwrap":
            (bin_without_bwrap / program.name).symlink_to(program)
    environment = dict(os.environ, SOLMAN_PROJECT=str(built), PATH=str(bin_without_bwrap))
    edit(built / "chapters" / "demo.tex.j2", "What is half of one?", "What is one half?")
    run = subprocess.run([sys.executable, "-m", "invoke", "pdf", "--quiet"], cwd=REPO, env=environment,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 8, run.stderr
    assert run.stderr.startswith("environment: LaTeX cannot run contained: bubblewrap (bwrap) is not installed")
    assert "hint: install bubblewrap" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("setting", ['"no"', "0", '"false"'])
def test_the_sandbox_setting_must_be_a_bool(project_dir: Path, setting: str):
    edit(project_dir / "pyproject.toml", "year = 2026", f"year = 2026\nsandbox = {setting}")
    with pytest.raises(ConfigError) as caught:
        load_project(project_dir)
    assert str(caught.value.location) == "pyproject.toml:6"
    assert caught.value.message == "setting 'sandbox' must be a bool" and "sandbox = false" in caught.value.hint


def test_the_sandbox_is_on_unless_the_project_turns_it_off(project_dir: Path):
    assert load_project(project_dir).sandbox is True
    edit(project_dir / "pyproject.toml", "year = 2026", "year = 2026\nsandbox = false")
    assert load_project(project_dir).sandbox is False


@pytest.mark.tex
def test_the_sandbox_binds_the_tex_tree_but_not_the_users_files():
    bound = sandbox.read_only_paths()
    tree = subprocess.run(["kpsewhich", "-var-value=TEXMFDIST"], capture_output=True, text=True, check=False)
    kpsewhich = tree.stdout.strip()
    assert any(kpsewhich == p or kpsewhich.startswith(f"{p}/") for p in bound), bound
    for private in ("/etc", "/etc/passwd", "/home", "/root", "/proc", "/tmp", str(REPO), os.path.expanduser("~")):
        assert not any(private == p or private.startswith(f"{p}/") for p in bound), (private, bound)


@pytest.mark.tex
def test_a_bubblewrap_that_cannot_start_is_reported_with_what_it_said(monkeypatch):
    monkeypatch.setattr(sandbox, "base_arguments", lambda: ("--no-such-option",))
    sandbox.probe.cache_clear()
    try:
        with pytest.raises(MissingTool) as caught:
            sandbox.require_sandbox()
    finally:
        sandbox.probe.cache_clear()
    assert caught.value.message == "LaTeX cannot run contained: bubblewrap cannot create a sandbox here"
    assert any("--no-such-option" in d for d in caught.value.details) and "sandbox = false" in caught.value.hint
