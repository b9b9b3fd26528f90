"""Values and tests of chapter eth_dl_2020 (ETH Zurich, Deep Learning final exam, 3 Feb 2020)."""

import math

import numpy as np
import sympy as sp

from solman import value

# --- Problem 4.1: graph convolution -----------------------------------------------------------


@value
def adjacency():
    """The adjacency matrix A of Eq. (12), as given."""
    return sp.Matrix([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0]])


@value
def adjacency_tilde():
    """A~ = A + I_4: the graph with a self-loop at every node."""
    return adjacency() + sp.eye(4)


@value
def degree():
    """D: the degree matrix of A~ (row sums on the diagonal)."""
    return sp.diag(*[sum(adjacency_tilde().row(i)) for i in range(4)])


@value
def degree_inv_sqrt():
    """D^(-1/2), exactly."""
    return sp.diag(*[1 / sp.sqrt(degree()[i, i]) for i in range(4)])


@value
def gcn_q():
    """Q = D^(-1/2) A~ D^(-1/2), exactly."""
    return sp.simplify(degree_inv_sqrt() * adjacency_tilde() * degree_inv_sqrt())


@value
def graph_edges():
    """The edges of G read off A (upper triangle), as pairs of 1-based node labels."""
    a = adjacency()
    return [(i + 1, j + 1) for i in range(4) for j in range(i + 1, 4) if a[i, j] == 1]


@value
def graph_layout():
    """Node positions for Figure 3: the four nodes evenly spaced on a circle."""
    return [{"label": k + 1, "x": 1.6 * math.cos(math.pi / 2 + k * math.pi / 2),
             "y": 1.6 * math.sin(math.pi / 2 + k * math.pi / 2)} for k in range(4)]


@value
def gcn_q_spectrum():
    """The eigenvalues of Q, exactly, in increasing order."""
    return sorted(gcn_q().eigenvals(), key=lambda e: float(e))


@value
def degrees_of_a():
    """The degrees in A itself: the diagonal of the other possible reading of the undefined D."""
    return [sum(adjacency().row(i)) for i in range(4)]


@value
def q_with_degrees_of_a_top_eigenvalue():
    """Largest eigenvalue of D_A^(-1/2) A~ D_A^(-1/2): above 1, so that reading does not normalise."""
    d = np.array(degrees_of_a(), dtype=float)
    a_tilde = np.array(adjacency_tilde(), dtype=float)
    return float(max(np.linalg.eigvalsh(a_tilde / np.sqrt(np.outer(d, d)))))


@value
def unnormalised_degree_spectrum_max():
    """The largest eigenvalue of A~ itself, for comparison: repeated propagation would grow like its powers."""
    return float(max(np.linalg.eigvalsh(np.array(adjacency_tilde(), dtype=float))))


def test_adjacency_is_symmetric_without_self_loops():
    a = np.array(adjacency(), dtype=int)
    assert (a == a.T).all() and (np.diag(a) == 0).all()


def test_degrees_count_neighbours_plus_one():
    neighbours = {1: {2, 3}, 2: {1, 3}, 3: {1, 2, 4}, 4: {3}}  # read from the figure's edge list
    assert [degree()[i, i] for i in range(4)] == [len(neighbours[i + 1]) + 1 for i in range(4)]


def test_degree_inv_sqrt_inverts_the_square_root():
    d = np.array(degree(), dtype=float)
    d_inv_sqrt = np.array(degree_inv_sqrt().evalf(), dtype=float)
    assert np.allclose(d_inv_sqrt @ d @ d_inv_sqrt, np.eye(4))


def test_q_matches_an_independent_numpy_computation():
    a_tilde = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0]], dtype=float) + np.eye(4)
    degrees = a_tilde.sum(axis=1)
    expected = a_tilde / np.sqrt(np.outer(degrees, degrees))
    assert np.allclose(np.array(gcn_q().evalf(), dtype=float), expected, atol=1e-12)


def test_q_is_symmetric_with_spectrum_in_minus_one_one_and_top_eigenvector_sqrt_degrees():
    q = np.array(gcn_q().evalf(), dtype=float)
    assert np.allclose(q, q.T)
    eigenvalues = np.linalg.eigvalsh(q)
    assert eigenvalues.min() > -1 and math.isclose(eigenvalues.max(), 1.0)
    top = np.sqrt(np.diag(np.array(degree(), dtype=float)))
    assert np.allclose(q @ top, top)
    assert np.allclose([float(e) for e in gcn_q_spectrum()], np.sort(eigenvalues))


def test_without_normalisation_the_propagation_grows():
    a_tilde = np.array(adjacency_tilde(), dtype=float)
    growth = np.linalg.norm(np.linalg.matrix_power(a_tilde, 20), 2) ** (1 / 20)
    assert math.isclose(unnormalised_degree_spectrum_max(), growth, rel_tol=1e-9)
    assert unnormalised_degree_spectrum_max() > 1


def test_the_degree_matrix_of_a_alone_does_not_normalise():
    a = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0]], dtype=float)
    assert (np.array(degrees_of_a(), dtype=float) == a.sum(axis=1)).all()
    d_inv_sqrt = np.diag(a.sum(axis=1) ** -0.5)
    q_alt = d_inv_sqrt @ (a + np.eye(4)) @ d_inv_sqrt
    # power iteration, independent of eigvalsh: the top eigenvalue is the growth rate of ||Q^k x||
    x = np.ones(4)
    for _ in range(200):
        x = q_alt @ x
        x /= np.linalg.norm(x)
    assert math.isclose(x @ q_alt @ x, q_with_degrees_of_a_top_eigenvalue(), rel_tol=1e-9)
    assert q_with_degrees_of_a_top_eigenvalue() > 1


def test_edges_rebuild_the_adjacency_matrix():
    rebuilt = np.zeros((4, 4), dtype=int)
    for i, j in graph_edges():
        rebuilt[i - 1, j - 1] = rebuilt[j - 1, i - 1] = 1
    assert (rebuilt == np.array(adjacency(), dtype=int)).all()


def test_layout_places_distinct_nodes_one_per_label():
    points = {(round(n["x"], 6), round(n["y"], 6)) for n in graph_layout()}
    assert len(points) == 4 and sorted(n["label"] for n in graph_layout()) == [1, 2, 3, 4]
