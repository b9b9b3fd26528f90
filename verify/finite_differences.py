"""Central finite differences, the independent check the chapters hold their derivatives to.

A local helper module: the chapters import it as ``from finite_differences import ...``, and solman's
value cache hashes it with every verify module that does, so editing it recomputes their values.
"""

import numpy as np

STEP = 1e-6


def derivative(function, x: float, h: float = STEP) -> float:
    """The central difference (f(x + h) - f(x - h)) / 2h of a scalar function of one variable."""
    return (function(x + h) - function(x - h)) / (2 * h)


def gradient(function, array, h: float = STEP) -> np.ndarray:
    """Central differences of a scalar function with respect to every entry of an array of any shape."""
    array = np.array(array, dtype=float)
    result = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        step = np.zeros_like(array)
        step[index] = h
        result[index] = (function(array + step) - function(array - step)) / (2 * h)
    return result


def test_the_differences_match_gradients_known_in_closed_form():
    assert np.isclose(derivative(np.sin, 0.3), np.cos(0.3), atol=1e-9)
    a = np.array([[2.0, -1.0], [0.5, 3.0]])
    w = np.array([[0.3, -0.7], [1.1, 0.2]])
    assert np.allclose(gradient(lambda v: np.sum(a * v**2), w), 2 * a * w, atol=1e-6)
    assert gradient(lambda v: v @ v, [1, 2, 3]).dtype == float  # integer points are widened
    assert not np.allclose(gradient(lambda v: np.sum(v**3), [1.0, 2.0]), [1.0, 4.0], atol=1e-3)
