"""What author code reads: every project file opened for reading and every module imported."""

import importlib
import json
import sys
from pathlib import Path

import pytest

from solman.values.reads import Reads, project_file


@pytest.fixture
def root(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "verify").mkdir()
    (tmp_path / "verify" / "helper_for_reads.py").write_text("VALUE = 1\n")
    (tmp_path / "verify" / "data.json").write_text('{"a": 1}')
    monkeypatch.syspath_prepend(str(tmp_path / "verify"))
    yield tmp_path
    sys.modules.pop("helper_for_reads", None)


def test_files_opened_for_reading_are_recorded_relative_to_the_project(root: Path):
    reads = Reads(root)
    with reads.watching():
        json.loads((root / "verify" / "data.json").read_text())
        (root / "build").mkdir()
        (root / "build" / "out.txt").write_text("written, not read")
        (root / "verify" / "written.txt").write_text("written, not read")
        with open(root / "verify" / "missing.txt", "a"):  # appending is not reading
            pass
    assert reads.paths() == ["verify/data.json"]


def test_an_import_is_recorded_even_of_a_module_already_imported(root: Path):
    importlib.import_module("helper_for_reads")  # imported before: no audit event inside the block
    reads = Reads(root)
    with reads.watching():
        import helper_for_reads  # noqa: F401
    assert reads.paths() == ["verify/helper_for_reads.py"]


def test_nothing_is_recorded_outside_the_block_or_on_other_threads(root: Path):
    import threading

    reads = Reads(root)
    with reads.watching():
        thread = threading.Thread(target=lambda: (root / "verify" / "data.json").read_text())
        thread.start()
        thread.join()
    (root / "verify" / "data.json").read_text()
    assert reads.paths() == []


def test_files_outside_the_project_and_in_its_build_folder_are_not_inputs(root: Path):
    assert project_file(str(root / "verify" / "data.json"), root.resolve()) == "verify/data.json"
    assert project_file(json.__file__, root.resolve()) is None
    for ignored in ("build/tex/x.tex", ".venv/lib/site.py", "verify/__pycache__/x.pyc", ".git/index"):
        assert project_file(str(root / ignored), root.resolve()) is None
