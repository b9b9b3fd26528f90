"""``@checks``: the question(s) a test checks, declared by the test itself.

A test checks the questions whose printed values it calls; that is recorded without any
declaration. A test that calls no printed value (it checks a formula a solution derives, for
example numerically) says which question it checks::

    @checks("4.1d")
    def test_gradient_formula_matches_finite_differences(): ...

The verification appendix lists the test under that question, and ``invoke verify`` fails for
a test that calls no printed value and declares no question, or declares one its chapter does
not have.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

Test = TypeVar("Test", bound=Callable)

ATTRIBUTE = "__solman_checks__"  # where the recorder (solman.checking.testing) finds the declared question ids


def checks(*questions: str) -> Callable[[Test], Test]:
    """Declare the ids of the questions (within the test's chapter) that the decorated test checks."""
    if not questions or not all(isinstance(q, str) and q.strip() for q in questions):
        raise TypeError('checks() takes the ids of the questions the test checks, for example @checks("4.1d")'
                        + (", not the test itself: write @checks(...) with the ids" if questions
                           and callable(questions[0]) else ""))

    def declare(test: Test) -> Test:
        if not callable(test):
            raise TypeError("@checks(...) decorates a test function")
        setattr(test, ATTRIBUTE, tuple(dict.fromkeys([*getattr(test, ATTRIBUTE, ()), *questions])))
        return test

    return declare


def declared(test: object) -> list[str]:
    """The question ids ``test`` declares (none when undecorated)."""
    return list(getattr(test, ATTRIBUTE, ()) or ())
