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


def without_root_or_sudo(monkeypatch, missing: list[str]) -> None:
    monkeypatch.setattr(toolchain, "missing_packages", lambda: missing)
    monkeypatch.setattr(toolchain.os, "geteuid", lambda: 1000)
    real_which = toolchain.shutil.which
    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None if name == "sudo" else real_which(name) or name)
    monkeypatch.setattr(toolchain.subprocess, "run", lambda *a, **k: pytest.fail("nothing should run"))


def test_without_root_or_sudo_setup_names_the_command_to_run_as_root(monkeypatch):
    without_root_or_sudo(monkeypatch, ["latexmk", "lmodern"])
    with pytest.raises(MissingTool) as caught:
        toolchain.install_tex()
    assert caught.value.message == "installing latexmk lmodern needs root, and this system has no sudo"
    assert caught.value.hint == ("as root, run: apt-get update && apt-get install -y --no-install-recommends "
                                 "latexmk lmodern; then run `invoke setup` again")
    with pytest.raises(MissingTool) as caught:
        toolchain.require_tex()
    assert "sudo" not in caught.value.hint and caught.value.hint.startswith("as root, run: apt-get update && ")


def test_with_sudo_the_commands_go_through_it(monkeypatch):
    monkeypatch.setattr(toolchain.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(toolchain.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert toolchain.install_command(["latexmk"])[:2] == ["sudo", "apt-get"]
    monkeypatch.setattr(toolchain.os, "geteuid", lambda: 0)
    assert toolchain.install_command(["latexmk"])[0] == "apt-get"
