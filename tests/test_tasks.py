"""The invoke tasks: instant listing, help for everything, failures as messages with exit codes."""

import subprocess
import sys

from conftest import REPO

from solman import tasks as solman_tasks

import tasks  # the repository's tasks.py: solman's tasks and the developers'


def run_invoke(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "invoke", *args], cwd=REPO,
                          capture_output=True, text=True)


def test_listing_tasks_imports_neither_sympy_nor_numpy():
    result = run_invoke("--list")
    assert result.returncode == 0
    for name in ("setup", "pdf", "verify", "test", "clean"):
        assert f"  {name} " in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert not {"sympy", "numpy", "jinja2"} & imported


def test_every_task_and_option_has_help():
    for name, task in tasks.ns.tasks.items():
        assert task.__doc__ and task.__doc__.strip(), name
        for parameter in task.get_arguments():
            assert parameter.help, f"{name} --{parameter.name}"


def test_a_bad_option_is_a_message_and_an_exit_code():
    result = run_invoke("pdf", "--edition", "teachers")
    assert result.returncode == 2
    assert "configuration: unknown edition 'teachers'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_interruption_claims_unchanged_outputs_only_before_publishing(monkeypatch):
    from solman.build import outputs

    for state in ("not started", "staging"):
        monkeypatch.setattr(outputs, "publishing", state)
        assert solman_tasks._interrupted() == "interrupted; the previous PDFs in build/ are unchanged"
    monkeypatch.setattr(outputs, "publishing", "committed")
    message = solman_tasks._interrupted()
    assert "unchanged" not in message and "committed" in message and "next solman command" in message
    monkeypatch.setattr(outputs, "publishing", "done")
    assert "unchanged" not in solman_tasks._interrupted()
