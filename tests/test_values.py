"""Values: computed once, frozen, observed when tests call them directly, fingerprinted."""

import os
import posix
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from solman.values import evaluation as values
from solman.errors import ValueFailure
from solman.values.evaluation import fingerprint, load_module, tex, value, values_of


def test_a_value_is_computed_once():
    calls = []

    @value
    def answer():
        calls.append(1)
        return 42

    assert answer() == 42 and answer() == 42
    assert calls == [1]


def test_arrays_and_matrices_come_back_read_only():
    @value
    def array():
        return np.zeros(3)

    @value
    def matrix():
        return sp.Matrix([[1, 2], [3, 4]])

    with pytest.raises(ValueError):
        array()[0] = 1
    with pytest.raises(TypeError):
        matrix()[0, 0] = 5
    assert matrix() == sp.Matrix([[1, 2], [3, 4]])


def test_a_value_takes_no_arguments():
    with pytest.raises(ValueFailure, match="takes arguments"):
        @value
        def scaled(factor):
            return factor


def test_observers_see_direct_calls_only():
    seen = []

    @value
    def base():
        return 2

    @value
    def derived():
        return base() * 3

    values.observe(lambda function: seen.append(function.name))
    try:
        derived()
        assert seen == ["derived"]  # base() was called by a value, not by the test
        base()
        assert seen == ["derived", "base"]
    finally:
        values._observers.clear()


def test_fingerprint_changes_exactly_when_the_value_does():
    assert fingerprint(sp.Matrix([[1, 2]])) == fingerprint(sp.Matrix([[1, 2]]))
    assert fingerprint(sp.Matrix([[1, 2]])) != fingerprint(sp.Matrix([[1, 3]]))
    assert fingerprint(np.array([1.0, 2.0])) != fingerprint(np.array([1.0, 2.0000001]))
    assert fingerprint(1) != fingerprint(1.0) != fingerprint(Fraction(1))
    assert fingerprint("x") != fingerprint(tex("x"))
    assert fingerprint({"a": [1, 2]}) != fingerprint({"a": [1, 3]})


def test_load_module_reports_syntax_errors_at_their_line(tmp_path: Path):
    module = tmp_path / "verify" / "broken.py"
    module.parent.mkdir()
    module.write_text("from solman import value\n\n@value\ndef x(:\n    return 1\n")
    with pytest.raises(ValueFailure) as caught:
        load_module(module, "broken_syntax", tmp_path)
    assert str(caught.value.location) == "verify/broken.py:4"


def test_load_module_reports_import_errors_at_the_author_line(tmp_path: Path):
    module = tmp_path / "verify" / "broken.py"
    module.parent.mkdir()
    module.write_text("import math\nimport not_a_module_anywhere\n")
    with pytest.raises(ValueFailure, match="not_a_module_anywhere") as caught:
        load_module(module, "broken_import", tmp_path)
    assert str(caught.value.location) == "verify/broken.py:2"


def test_values_of_lists_the_value_functions(tmp_path: Path):
    module = tmp_path / "chapter.py"
    module.write_text("from solman import value\nHELPER = 3\n@value\ndef a():\n    return 1\n"
                      "def test_a():\n    assert a() == 1\n")
    loaded = load_module(module, "chapter_values", tmp_path)
    assert list(values_of(loaded)) == ["a"]
    assert values_of(loaded)["a"].key == "chapter.py::a"


# --- author code cannot end the process --------------------------------------------------------

@pytest.mark.parametrize("call, shown", [("sys.exit(0)", "sys.exit(0) or raised SystemExit"),
                                          ("raise SystemExit", "sys.exit(None) or raised SystemExit"),
                                          ("os._exit(0)", "os._exit(0)")])
def test_ending_the_process_while_imported_is_a_value_failure(tmp_path: Path, call: str, shown: str):
    module = tmp_path / "verify" / "quits.py"
    module.parent.mkdir()
    module.write_text(f"import os\nimport sys\n\ntry:\n    {call}\nexcept Exception:\n    pass\n")
    with pytest.raises(ValueFailure) as caught:
        load_module(module, f"quits_{abs(hash(call))}", tmp_path)
    assert caught.value.message == f"importing quits.py called {shown}"
    assert str(caught.value.location) == "verify/quits.py:5"
    assert os._exit is values._real_exit and posix._exit is values._real_exit  # restored


def test_os_exit_is_intercepted_only_inside_author_code_and_nests():
    with values.intercepted_exit():
        with values.intercepted_exit(), pytest.raises(values.ExitCalled):
            os._exit(3)
        assert os._exit is not values._real_exit  # the outer block still intercepts
        with pytest.raises(values.ExitCalled):
            posix._exit(3)
    assert os._exit is values._real_exit


def test_a_child_forked_by_author_code_still_exits():
    with values.intercepted_exit():
        pid = os.fork()
        if pid == 0:  # the child: os._exit must end it, not raise into a copy of this test
            os._exit(7)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7


def test_a_keyboard_interrupt_while_imported_stays_an_interruption(tmp_path: Path):
    module = tmp_path / "verify" / "interrupted.py"
    module.parent.mkdir()
    module.write_text("raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        load_module(module, "interrupted_module", tmp_path)


def test_a_value_that_contains_itself_has_a_fingerprint_and_round_trips():
    from solman.values.cache import round_trips

    loop: list = [1]
    loop.append(loop)
    other: list = [1]
    other.append(other)
    assert values.canonical(loop) == [{"int": "1"}, {"cycle": 0}]
    assert fingerprint(loop) == fingerprint(other) != fingerprint([1, [1]])
    table: dict = {"a": 1}
    table["self"] = table
    assert values.canonical(table) == {"dict": [["a", {"int": "1"}], ["self", {"cycle": 0}]]}
    assert round_trips(loop) and round_trips(table)


def test_integers_beyond_pythons_str_limit_have_a_fingerprint():
    big = 10 ** 5000 + 1
    assert fingerprint(big) != fingerprint(big + 1)
    assert fingerprint(Fraction(big, 7)) != fingerprint(Fraction(big + 1, 7))
    assert values.canonical(12) == {"int": "12"}  # unchanged for ordinary integers: their hashes stay
