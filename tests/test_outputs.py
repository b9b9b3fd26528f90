"""Writing into build/: atomic replacement, safe when two threads of one build write the same file."""

import threading
from pathlib import Path

import pytest

from solman.outputs import replace_atomically, write_if_changed


def test_two_threads_replacing_one_file_both_succeed(tmp_path: Path):
    # A build's background thread (formats) and its main thread (assembly) both write build/tex's
    # style when it changed; they must not share a temporary file.
    target = tmp_path / "solman.sty"
    failures = []
    start = threading.Barrier(2)

    def write(content: bytes) -> None:
        start.wait()
        try:
            for _ in range(300):
                replace_atomically(target, content)
        except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(c,)) for c in (b"a" * 50_000, b"b" * 50_000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert target.read_bytes() in (b"a" * 50_000, b"b" * 50_000)
    assert [p.name for p in tmp_path.iterdir()] == ["solman.sty"]  # no temporary left behind


def test_write_if_changed_writes_only_what_differs(tmp_path: Path):
    assert write_if_changed(tmp_path, {"a.tex": b"1", "sub/b.tex": b"2"}) == ["a.tex", "sub/b.tex"]
    assert write_if_changed(tmp_path, {"a.tex": b"1", "sub/b.tex": b"3"}) == ["sub/b.tex"]
    assert (tmp_path / "sub" / "b.tex").read_bytes() == b"3"


def test_publish_says_whether_it_started_and_finished(tmp_path: Path):
    from solman import outputs

    build = tmp_path / "build"
    with outputs.build_lock(build):
        assert outputs.publishing == "not started"
        new = tmp_path / "new.pdf"
        new.write_bytes(b"%PDF new")
        with pytest.raises(FileNotFoundError):  # stopped halfway: the manifest is new, a PDF not yet
            outputs.publish(build, {"manual.pdf": new, "problems.pdf": tmp_path / "missing.pdf"}, {}, {})
        assert outputs.publishing == "under way"
        outputs.publish(build, {"manual.pdf": new}, {}, {})
        assert outputs.publishing == "done"
    with outputs.build_lock(build):  # the next build of the same process starts afresh
        assert outputs.publishing == "not started"
