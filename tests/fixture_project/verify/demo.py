"""Values of the demo chapter, and their tests."""

from fractions import Fraction

import numpy as np
import sympy as sp

from solman import tex, value


@value
def matrix():
    """The given matrix."""
    return sp.Matrix([[2, 1], [1, 2]])


@value
def eigenvalues():
    """Its eigenvalues, smallest first."""
    return sorted(matrix().eigenvals())


@value
def half():
    return Fraction(1, 2)


@value
def pi_estimate():
    """A float: printed only with a precision."""
    rng = np.random.default_rng(0)
    points = rng.random((20000, 2))
    return 4 * float(np.mean((points ** 2).sum(axis=1) <= 1))


@value
def course():
    return "Deep Learning & Friends: 100% verified"


@value
def curve():
    """Points of y = x^2 on [0, 1]."""
    xs = np.linspace(0, 1, 11)
    return np.column_stack([xs, xs ** 2])


@value
def answer_letter():
    return tex(r"\textbf{B}")


def test_eigenvalues_match_numpy():
    expected = np.linalg.eigvalsh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    assert [float(e) for e in eigenvalues()] == list(expected)


def test_matrix_is_symmetric_positive_definite():
    assert matrix().is_symmetric()
    assert all(e > 0 for e in eigenvalues())


def test_half_is_half():
    assert half() + half() == 1


def test_pi_estimate_is_close_to_pi():
    assert abs(pi_estimate() - np.pi) < 0.05
    points = np.random.default_rng(0).random((20000, 2))  # the same points, counted one by one
    assert abs(pi_estimate() - 4 * sum(1 for x, y in points if x * x + y * y <= 1) / len(points)) < 1e-12


def test_course_name_has_special_characters():
    assert "&" in course() and "%" in course()
    assert course() == "Deep Learning & Friends: 100% verified"


def test_curve_is_parabola():
    xs, ys = curve()[:, 0], curve()[:, 1]
    assert np.allclose(ys, xs * xs)


def test_answer_letter():
    assert "B" in answer_letter()
