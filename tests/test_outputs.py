"""Writing into build/: atomic files, one writer or many readers, and publishing as one set."""

import hashlib
import json
import os
import random
import signal
import threading
from pathlib import Path

import pytest

from solman.build import outputs
from solman.build.outputs import replace_atomically, write_if_changed


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


# --- publishing as one set: a crash at every step leaves the old set or the new one -----------

OUTPUTS = ["manual.pdf", "problems.pdf", "chapters/demo-solutions.pdf"]


def published_set(build: Path) -> dict[str, bytes]:
    """Every file of build/ (the lock file aside): what a reader may see."""
    return {p.relative_to(build).as_posix(): p.read_bytes() for p in sorted(build.rglob("*"))
            if p.is_file() and p.name != outputs.LOCK}


def old_and_new(tmp_path: Path) -> tuple[Path, dict[str, Path], dict, dict[str, bytes], dict[str, bytes]]:
    """build/ holding an old set, the new PDFs (compiled elsewhere) and their manifest, and both sets."""
    build = tmp_path / "build"
    old_manifest = {"outputs": {name: {"pdf": hashlib.sha256(f"old {name}".encode()).hexdigest()} for name in OUTPUTS}}
    for name in OUTPUTS:
        replace_atomically(build / name, f"old {name}".encode())
    replace_atomically(build / "manifest.json", outputs.dump(old_manifest))
    compiled = tmp_path / "out"
    pdfs = {}
    for name in OUTPUTS:
        pdfs[name] = compiled / name.replace("/", "-")
        replace_atomically(pdfs[name], f"new {name}".encode())
    manifest = {"outputs": {name: {"pdf": hashlib.sha256(f"new {name}".encode()).hexdigest()} for name in OUTPUTS}}
    old = published_set(build)
    new = {**{name: f"new {name}".encode() for name in OUTPUTS}, "manifest.json": outputs.dump(manifest)}
    return build, pdfs, manifest, old, new


def in_child(work) -> int:
    """Run ``work`` in a forked child, which ends as a killed process would: no cleanup, no finally."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            work()
        except KeyboardInterrupt:
            code = 130
        except BaseException:  # noqa: BLE001 - the child must never return into pytest
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


RENAMES = len(OUTPUTS) + 1  # the PDFs and the manifest, plus one os.replace: the journal's, the commit


@pytest.mark.parametrize("k", range(RENAMES + 2))
def test_a_publish_killed_after_k_renames_leaves_the_old_set_or_the_new_one(tmp_path: Path, monkeypatch, k: int):
    # kill -9 just before the (k+1)-th os.replace of publish: k = 0 is before the journal commits
    # (the old set stands), k = 1 .. RENAMES after it (the next command completes the new set),
    # k = RENAMES + 1 after the last rename, before the journal is deleted.
    build, pdfs, manifest, old, new = old_and_new(tmp_path)
    real_replace = os.replace
    done = []

    def replace(source, target):
        if len(done) == k:
            os._exit(137)
        done.append(target)
        real_replace(source, target)

    def work():
        monkeypatch.setattr(os, "replace", replace)
        if k == RENAMES + 1:
            monkeypatch.setattr(outputs, "checkpoint", lambda step: os._exit(137) if step == "finished" else None)
        outputs.publish(build, pdfs, manifest)

    assert in_child(work) == 137
    with outputs.lock(build, exclusive=False):  # the next command, a reader
        seen = published_set(build)
    assert seen == (old if k == 0 else new)
    assert not (build / outputs.JOURNAL).exists() and not (build / outputs.STAGING).exists()


def test_a_publish_killed_while_staging_leaves_the_old_set(tmp_path: Path, monkeypatch):
    build, pdfs, manifest, old, _ = old_and_new(tmp_path)
    real_write = outputs.write_synced

    def write(path, data):
        if path.name.startswith("1-"):
            real_write(path, data[:2])  # torn
            os._exit(137)
        real_write(path, data)

    def work():
        monkeypatch.setattr(outputs, "write_synced", write)
        outputs.publish(build, pdfs, manifest)

    assert in_child(work) == 137
    assert (build / outputs.STAGING).exists()
    with outputs.lock(build, exclusive=True):  # the next command, a writer
        assert published_set(build) == old


@pytest.mark.parametrize("k", range(RENAMES + 1))
def test_ctrl_c_during_the_renames_waits_for_them_and_says_so(tmp_path: Path, monkeypatch, k: int):
    # Ctrl-C arriving just before the (k+1)-th os.replace: held back from the commit on, the new set
    # is published whole and the interruption is reported after it, with a message saying so.
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from solman import tasks

    build, pdfs, manifest, _, new = old_and_new(tmp_path)
    real_replace = os.replace
    calls = []
    report = tmp_path / "report"

    def replace(source, target):
        if len(calls) == k:
            os.kill(os.getpid(), signal.SIGINT)
        calls.append(target)
        real_replace(source, target)

    def work():
        monkeypatch.setattr(os, "replace", replace)
        try:
            outputs.publish(build, pdfs, manifest)
        except KeyboardInterrupt:
            report.write_text(f"{outputs.publishing}\n{tasks._interrupted()}")
            raise

    assert in_child(work) == 130
    state, message = report.read_text().split("\n")
    assert state == "done" and message == "interrupted after the new PDFs were published in build/"
    assert published_set(build) == new  # without any recovery: publish finished before Ctrl-C took effect


def test_ctrl_c_while_staging_leaves_the_old_set_and_says_so(tmp_path: Path, monkeypatch):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from solman import tasks

    build, pdfs, manifest, old, _ = old_and_new(tmp_path)
    real_write = outputs.write_synced

    def write(path, data):
        real_write(path, data)
        if path.name.startswith("1-"):
            raise KeyboardInterrupt

    monkeypatch.setattr(outputs, "write_synced", write)
    with pytest.raises(KeyboardInterrupt):
        outputs.publish(build, pdfs, manifest)
    assert tasks._interrupted() == "interrupted; the previous PDFs in build/ are unchanged"
    assert published_set(build) == old  # the staged files are gone at once


def test_a_torn_journal_is_no_commit(tmp_path: Path):
    build, _, _, old, _ = old_and_new(tmp_path)
    (build / outputs.STAGING).mkdir()
    (build / outputs.STAGING / "0-manual.pdf").write_bytes(b"new")
    journal = json.dumps({"solman": "publish-journal", "swaps": [{"staged": ".publish/0-manual.pdf",
                                                                    "target": "manual.pdf", "sha256": "x"}]})
    (build / outputs.JOURNAL).write_text(journal[: len(journal) // 2])
    assert outputs.recover(build) == "undone"
    assert published_set(build) == old


# --- the lock: one writer or many readers ------------------------------------------------------

def lock_state(build: Path, exclusive: bool) -> str:
    """Whether another process could take the lock now: "free" or "taken"."""
    import fcntl

    with open(build / outputs.LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            return "taken"
        fcntl.flock(handle, fcntl.LOCK_UN)
        return "free"


def test_readers_share_the_lock_and_a_writer_excludes_them(tmp_path: Path):
    build = tmp_path / "build"
    with outputs.lock(build, exclusive=False):
        assert lock_state(build, exclusive=False) == "free"
        assert lock_state(build, exclusive=True) == "taken"
    with outputs.lock(build, exclusive=True):
        assert (build / outputs.LOCK).read_text().startswith(f"pid {os.getpid()} ")
        assert lock_state(build, exclusive=False) == "taken"
    assert lock_state(build, exclusive=True) == "free"
    assert (build / outputs.LOCK).read_text() == ""


def test_a_reader_that_builds_upgrades_its_hold_and_does_not_deadlock(tmp_path: Path):
    # verify --pdf holds the lock shared and builds a reference PDF, which takes it exclusively
    build = tmp_path / "build"
    with outputs.lock(build, exclusive=False):
        with outputs.lock(build, exclusive=True):
            assert lock_state(build, exclusive=False) == "taken"
            with outputs.lock(build, exclusive=False):  # the build's no-op check, nested
                pass
            assert lock_state(build, exclusive=False) == "taken"
        assert lock_state(build, exclusive=False) == "free"  # shared again
        assert lock_state(build, exclusive=True) == "taken"
    assert lock_state(build, exclusive=True) == "free"


def test_another_thread_waits_for_the_lock(tmp_path: Path, caplog):
    build = tmp_path / "build"
    events = []
    with outputs.lock(build, exclusive=True):
        def reader():
            with outputs.lock(build, exclusive=False):
                events.append("read")

        thread = threading.Thread(target=reader)
        thread.start()
        thread.join(timeout=0.5)
        events.append("released")
    thread.join()
    assert events == ["released", "read"]
    assert f"another solman command is writing build/ (pid {os.getpid()} building); waiting" in caplog.text


def test_a_reader_finishes_an_interrupted_publish_before_reading(tmp_path: Path):
    build, pdfs, manifest, _, new = old_and_new(tmp_path)
    code = in_child(lambda: (setattr(outputs, "checkpoint", lambda step: os._exit(137) if step == "renamed-1"
                                     else None), outputs.publish(build, pdfs, manifest)))
    assert code == 137
    with outputs.lock(build, exclusive=False):
        assert lock_state(build, exclusive=False) == "free"  # shared again after recovering
        assert published_set(build) == new


def test_clean_empties_build_but_keeps_the_lock_file(tmp_path: Path):
    build, *_ = old_and_new(tmp_path)
    (build / "verify" / "run-1-x").mkdir(parents=True)
    assert outputs.clean(build)
    assert [p.name for p in build.iterdir()] == [outputs.LOCK]
    assert not outputs.clean(build)


def test_clean_waits_for_a_reader(tmp_path: Path):
    build, *_ = old_and_new(tmp_path)
    events = []
    with outputs.lock(build, exclusive=False):
        thread = threading.Thread(target=lambda: events.append(outputs.clean(build)))
        thread.start()
        thread.join(timeout=0.5)
        assert (build / "manual.pdf").exists()
        events.append("released")
    thread.join()
    assert events == ["released", True] and not (build / "manual.pdf").exists()


def test_a_writer_sweeps_what_killed_processes_left(tmp_path: Path):
    build = tmp_path / "build"
    dead = 2 ** 22 + random.Random(0).randrange(1000)  # no such process: above the default pid_max
    (build / "verify" / f"run-{dead}-abc").mkdir(parents=True)
    (build / "verify" / f"run-{os.getpid()}-abc").mkdir()  # this process's own: kept
    (build / f".manual.pdf.{dead}.1.tmp").write_bytes(b"")
    with outputs.lock(build, exclusive=True):
        pass
    assert sorted(p.name for p in build.rglob("*")) == sorted([outputs.LOCK, "verify", f"run-{os.getpid()}-abc"])
