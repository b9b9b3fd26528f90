"""Finding and installing TeX Live: instructions instead of tracebacks."""

import pytest

from solman.latex import toolchain
from solman.errors import MissingTool


def test_with_nothing_on_the_path_every_package_is_missing(monkeypatch):
    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None)
    assert toolchain.missing_packages() == list(toolchain.DEBIAN_PACKAGES)


def test_require_tex_says_what_to_install(monkeypatch):
    monkeypatch.setattr(toolchain, "missing_packages", lambda: ["latexmk", "poppler-utils"])
    with pytest.raises(MissingTool) as caught:
        toolchain.require_tex()
    assert "missing Debian packages latexmk poppler-utils" in caught.value.message
    assert "invoke setup" in caught.value.hint
    assert "apt-get install -y --no-install-recommends latexmk poppler-utils" in caught.value.hint


def test_without_apt_setup_lists_the_packages(monkeypatch):
    monkeypatch.setattr(toolchain, "missing_packages", lambda: ["latexmk"])
    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None)
    with pytest.raises(MissingTool, match="no apt-get; install these Debian packages or their equivalents: latexmk"):
        toolchain.install_tex()


def test_setup_is_idempotent(monkeypatch):
    monkeypatch.setattr(toolchain, "missing_packages", lambda: [])
    monkeypatch.setattr(toolchain.subprocess, "run", lambda *a, **k: pytest.fail("nothing should run"))
    assert toolchain.install_tex() == []
