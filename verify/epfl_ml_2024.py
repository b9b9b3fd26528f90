"""Values and tests of chapter epfl_ml_2024 (EPFL CS-433 Machine Learning, final exam, 18 Jan 2024)."""

import string

import numpy as np
import sympy as sp

from solman import value

# --- Question 10: a determinant from eigenvectors and the trace --------------------------------


@value
def q10_eigenvectors():
    """The two given eigenvectors, both for the eigenvalue 4."""
    return [sp.Matrix([1, 2, 1]), sp.Matrix([1, 1, 0])]


@value
def q10_eigenvalue():
    return 4


@value
def q10_trace():
    return 2


@value
def q10_options():
    """The options as printed, in order; None stands for 'cannot be determined'."""
    return [-16, 128, 16, None, -128, -96]


@value
def q10_dimension():
    """The eigenvectors live in R^3, so A is 3 x 3."""
    return len(q10_eigenvectors()[0])


@value
def q10_third_eigenvalue():
    """The trace is the sum of the eigenvalues: 4 + 4 + lambda_3 = trace(A)."""
    return q10_trace() - 2 * q10_eigenvalue()


@value
def q10_determinant():
    """The determinant is the product of the eigenvalues."""
    return q10_eigenvalue() ** 2 * q10_third_eigenvalue()


@value
def q10_matrix():
    """An explicit A meeting every condition: V diag(4, 4, -6) V^(-1) with V = [v1 v2 e3]."""
    v1, v2 = q10_eigenvectors()
    basis = sp.Matrix.hstack(v1, v2, sp.Matrix([0, 0, 1]))
    return basis * sp.diag(q10_eigenvalue(), q10_eigenvalue(), q10_third_eigenvalue()) * basis.inv()


@value
def q10_answer():
    """The letter of the option equal to the determinant."""
    return string.ascii_uppercase[q10_options().index(q10_determinant())]


@value
def q10_wrong_option_traces():
    """For each wrong numeric option, the trace A would need to have that determinant (given the double 4)."""
    return {string.ascii_uppercase[i]: q10_eigenvalue() * 2 + sp.Rational(option, q10_eigenvalue() ** 2)
            for i, option in enumerate(q10_options()) if option is not None and option != q10_determinant()}


def test_q10_matrix_meets_every_condition():
    assert [list(v) for v in q10_eigenvectors()] == [[1, 2, 1], [1, 1, 0]]  # as printed in the exam
    a = np.array(q10_matrix(), dtype=float)
    for v in ([1, 2, 1], [1, 1, 0]):
        assert np.allclose(a @ np.array(v, dtype=float), 4 * np.array(v, dtype=float))
    assert np.isclose(np.trace(a), 2)
    assert np.isclose(np.linalg.det(a), q10_determinant())


def test_q10_determinant_does_not_depend_on_the_unknown_third_eigenvector():
    rng = np.random.default_rng(10)
    v = np.array([[1, 2, 1], [1, 1, 0]], dtype=float).T
    for _ in range(200):
        basis = np.column_stack([v, rng.normal(size=3)])
        lam3 = 2 - 8  # the trace condition, solved by hand
        a = basis @ np.diag([4, 4, lam3]) @ np.linalg.inv(basis)
        assert np.isclose(np.linalg.det(a), -96, rtol=1e-6)
    assert q10_determinant() == -96 and q10_third_eigenvalue() == lam3


def test_q10_the_eigenvectors_are_independent_so_4_is_a_double_eigenvalue():
    assert np.linalg.matrix_rank(np.array([[1, 2, 1], [1, 1, 0]])) == 2
    assert q10_dimension() == 3 and q10_eigenvalue() == 4 and q10_trace() == 2


def test_q10_answer_is_the_option_matching_numpy():
    determinant = round(np.linalg.det(np.array(q10_matrix(), dtype=float)))
    options = q10_options()
    assert options[ord(q10_answer()) - ord("A")] == determinant
    assert q10_answer() == "F" and options.count(determinant) == 1


def test_q10_each_wrong_option_needs_another_trace():
    for letter, trace in q10_wrong_option_traces().items():
        option = q10_options()[ord(letter) - ord("A")]
        assert 4 * 4 * (trace - 8) == option and trace != 2
    assert sorted(q10_wrong_option_traces()) == ["A", "B", "C", "E"]
