"""Values and tests of chapter variant_exam: a short exam whose givens are drawn for each student.

Five questions remix flagship problems: the GCN propagation matrix of ETH Zurich's Deep Learning
exam (2020, problem 4.1), the determinant from eigenpairs and a trace of EPFL's CS-433 exam (2024,
Q10), the dropout and weight-decay equivalence of Mila's IFT6135 (H2021, assignment 3, question 1),
and two questions of ours on a convolution layer (its parameter count, a multiple-choice question
whose distractors are drawn with it, and its output size). Every given is a ``@parameter``: the
default variant prints the sources' givens, each student's variant draws its own, and every test
here holds for every draw (``invoke stress --chapter variant_exam`` runs them over many seeds).
"""

import itertools
import string
from fractions import Fraction

import numpy as np
import sympy as sp

from solman import parameter, value

# =============================================================================================
# Question 1: the GCN propagation matrix of a small graph (ETH Zurich 2020, problem 4.1)
# =============================================================================================

NODES = 4


def is_connected(adjacency) -> bool:
    """Every node reached from node 0 by a search along the edges."""
    reached, frontier = {0}, [0]
    while frontier:
        node = frontier.pop()
        for other, edge in enumerate(adjacency[node]):
            if edge and other not in reached:
                reached.add(other)
                frontier.append(other)
    return len(reached) == len(adjacency)


def is_complete(adjacency) -> bool:
    return all(adjacency[i][j] for i in range(len(adjacency)) for j in range(len(adjacency)) if i != j)


@parameter(default=((0, 1, 1, 0), (1, 0, 1, 0), (1, 1, 0, 1), (0, 0, 1, 0)),
           nice={"connected": is_connected, "not complete": lambda a: not is_complete(a)})
def adjacency(rng):
    """A random simple graph on four nodes: each edge present with probability 1/2 (ETH's graph by default)."""
    upper = np.triu(rng.integers(0, 2, size=(NODES, NODES)), k=1)
    return tuple(tuple(int(x) for x in row) for row in upper + upper.T)


@value
def graph():
    """The adjacency matrix A as printed."""
    return sp.Matrix(adjacency())


@value
def adjacency_tilde():
    """A~ = A + I: every node gets a self-loop."""
    return graph() + sp.eye(NODES)


@value
def degree():
    """D: the degree matrix of A~ (its row sums on the diagonal)."""
    return sp.diag(*[sum(adjacency_tilde().row(i)) for i in range(NODES)])


@value
def gcn_q():
    """Q = D^(-1/2) A~ D^(-1/2), exactly."""
    root = sp.diag(*[1 / sp.sqrt(degree()[i, i]) for i in range(NODES)])
    return sp.simplify(root * adjacency_tilde() * root)


def test_graph_is_simple_undirected_and_connected():
    a = np.array(graph(), dtype=int)
    assert (a == a.T).all() and not a.diagonal().any() and set(a.flat) <= {0, 1}
    assert (np.linalg.matrix_power(a + np.eye(NODES, dtype=int), NODES - 1) > 0).all()  # every pair joined


def test_adjacency_tilde_adds_self_loops():
    assert adjacency_tilde() - graph() == sp.eye(NODES)


def test_gcn_q_matches_numpy():
    a = np.array(adjacency(), dtype=float) + np.eye(NODES)
    d = a.sum(axis=1)
    expected = a / np.sqrt(np.outer(d, d))
    assert np.allclose(np.array(gcn_q().evalf(), dtype=float), expected, atol=1e-12)


def test_degree_counts_neighbours_and_self():
    expected = np.diag([1 + sum(row) for row in adjacency()])
    assert np.array_equal(np.array(degree(), dtype=int), expected)


def test_gcn_q_has_top_eigenvalue_one_with_root_degree_eigenvector():
    """For a connected graph, Q's largest eigenvalue is 1, with eigenvector D^(1/2) 1 (and no other above)."""
    q = np.array(gcn_q().evalf(), dtype=float)
    root = np.sqrt(np.array([degree()[i, i] for i in range(NODES)], dtype=float))
    assert np.allclose(q @ root, root)
    assert abs(np.linalg.eigvalsh(q).max() - 1) < 1e-12


# =============================================================================================
# Question 2: a determinant from two eigenvectors and the trace (EPFL CS-433 2024, Q10)
# =============================================================================================

def third_eigenvalue_of(givens) -> int:
    return givens["trace"] - 2 * givens["eigenvalue"]


def completes_basis(givens) -> bool:
    """v1, v2 and e3 are a basis: the matrix built from them in the solution exists."""
    (a, b, _), (c, d, _) = givens["vectors"]
    return a * d - b * c != 0


@parameter(default={"vectors": ((1, 2, 1), (1, 1, 0)), "eigenvalue": 4, "trace": 2},
           nice={"eigenvectors independent": completes_basis,
                 "third eigenvalue distinct": lambda g: third_eigenvalue_of(g) != g["eigenvalue"],
                 "non-zero determinant": lambda g: third_eigenvalue_of(g) != 0})
def eigen_givens(rng):
    """Two eigenvectors with small integer entries for one eigenvalue between 2 and 5, and a trace."""
    vectors = tuple(tuple(int(x) for x in rng.integers(-2, 3, size=3)) for _ in range(2))
    return {"vectors": vectors, "eigenvalue": int(rng.integers(2, 6)), "trace": int(rng.integers(-9, 10))}


@value
def eigenvectors():
    return [sp.Matrix(v) for v in eigen_givens()["vectors"]]


@value
def eigenvalue():
    return eigen_givens()["eigenvalue"]


@value
def trace():
    return eigen_givens()["trace"]


@value
def third_eigenvalue():
    """The trace is the sum of the eigenvalues: lambda + lambda + lambda_3 = trace(A)."""
    return trace() - 2 * eigenvalue()


@value
def determinant():
    """The product of the eigenvalues."""
    return eigenvalue() ** 2 * third_eigenvalue()


@value
def eigen_matrix():
    """An A meeting every condition: V diag(lambda, lambda, lambda_3) V^(-1) with V = [v1 v2 e3]."""
    v1, v2 = eigenvectors()
    basis = sp.Matrix.hstack(v1, v2, sp.Matrix([0, 0, 1]))
    return basis * sp.diag(eigenvalue(), eigenvalue(), third_eigenvalue()) * basis.inv()


def test_eigen_matrix_meets_every_condition():
    a = eigen_matrix()
    for v in eigenvectors():
        assert a * v == eigenvalue() * v
    assert a.trace() == trace()


def test_third_eigenvalue_is_the_spectrum_left():
    assert sp.Matrix(eigen_matrix()).eigenvals() == ({eigenvalue(): 2, third_eigenvalue(): 1})


def test_determinant_matches_numpy():
    assert round(np.linalg.det(np.array(eigen_matrix(), dtype=float))) == determinant()


def test_default_variant_has_the_exam_determinant():
    """EPFL's published answer, -96, for the exam's givens."""
    if eigen_givens.default == eigen_givens():
        assert determinant() == -96


# =============================================================================================
# Question 3: dropout on the inputs of linear regression is weight decay (IFT6135 H2021 A3, Q1)
# =============================================================================================

KEEP = (Fraction(1, 2), Fraction(3, 5), Fraction(2, 3), Fraction(3, 4), Fraction(4, 5), Fraction(5, 6))


def full_rank(givens) -> bool:
    return sp.Matrix(givens["X"]).rank() == 2


def minimiser_by_hand(givens) -> bool:
    """The answer's fractions have at most three-digit denominators, as the exam's (31/61, 50/61): without this
    rule half the draws ask for fractions such as -2550/7343, far more work by hand than the default variant."""
    x, y, p = sp.Matrix(givens["X"]), sp.Matrix(givens["y"]), sp.Rational(givens["p"].numerator, givens["p"].denominator)
    gram = x.T * x
    w = (p * gram + (1 - p) * sp.diag(gram[0, 0], gram[1, 1])).LUsolve(x.T * y)
    return all(sp.fraction(entry)[1] < 1000 for entry in w)


@parameter(default={"X": ((1, 2), (2, 1), (0, 3)), "y": (3, 1, 2), "p": Fraction(3, 4)},
           nice={"X has full column rank": full_rank,
                 "no zero column": lambda g: all(any(row[j] for row in g["X"]) for j in range(2)),
                 "answer fit for a hand computation": minimiser_by_hand})
def regression(rng):
    """A 3 x 2 design with entries in -3..3, targets in -3..3, and a keep probability p."""
    return {"X": tuple(tuple(int(x) for x in row) for row in rng.integers(-3, 4, size=(3, 2))),
            "y": tuple(int(x) for x in rng.integers(-3, 4, size=3)),
            "p": KEEP[int(rng.integers(len(KEEP)))]}


@value
def design():
    return sp.Matrix(regression()["X"])


@value
def targets():
    return sp.Matrix(regression()["y"])


@value
def keep():
    """p, the probability that an input is kept."""
    return regression()["p"]


@value
def gamma_squared():
    """Gamma^2 = diag(X^T X): the squared norms of X's columns."""
    x = design()
    return sp.diag(*[(x.T * x)[j, j] for j in range(x.cols)])


@value
def dropout_lambda():
    """lambda = (1 - p) / p."""
    return (1 - keep()) / keep()


@value
def dropout_weights():
    """w = (1/p) (X^T X + lambda Gamma^2)^(-1) X^T y, exactly."""
    x, y, p = design(), targets(), sp.Rational(keep().numerator, keep().denominator)
    return (x.T * x + sp.Rational(dropout_lambda().numerator, dropout_lambda().denominator) * gamma_squared()).inv() \
        * x.T * y / p


def test_dropout_weights_minimise_the_enumerated_expected_loss():
    """E_R ||y - (X o R) w||^2 summed over all 2^6 masks with their probabilities (exact fractions): its
    minimiser M^(-1) b, with M = E[(X o R)^T (X o R)] and b = E[(X o R)^T y], is the printed w."""
    x = np.array(design().tolist(), dtype=object)
    y = np.array(list(targets()), dtype=object)
    p = keep()
    m = np.zeros((2, 2), dtype=object) + Fraction(0)
    b = np.zeros(2, dtype=object) + Fraction(0)
    for bits in itertools.product((0, 1), repeat=x.size):
        mask = np.array(bits, dtype=object).reshape(x.shape)
        probability = np.prod([p if bit else 1 - p for bit in bits])
        xr = x * mask
        m = m + probability * (xr.T @ xr)
        b = b + probability * (xr.T @ y)
    assert sp.Matrix(m.tolist()).inv() * sp.Matrix(b.tolist()) == dropout_weights()


def test_gamma_squared_holds_the_squared_column_norms():
    x = np.array(design(), dtype=float)
    assert np.array_equal(np.array(gamma_squared(), dtype=float), np.diag((x ** 2).sum(axis=0)))


def test_dropout_lambda_at_the_instance():
    assert dropout_lambda() * keep() + keep() == 1


# =============================================================================================
# Questions 4 and 5: a convolution layer (ours)
# =============================================================================================

def conv_counts(layer) -> list[int]:
    """The options of question 4 before shuffling: the right count, then three classic slips."""
    k, c_in, c_out = layer["k"], layer["c_in"], layer["c_out"]
    return [(k * k * c_in + 1) * c_out,  # weights and one bias per output channel
            k * k * c_in * c_out,  # the biases forgotten
            (k * c_in + 1) * c_out,  # a k-wide kernel taken for k x k
            (k * k + 1) * c_in * c_out]  # one bias per input and output channel


@parameter(default={"k": 3, "c_in": 3, "c_out": 16, "order": (2, 0, 3, 1)},
           nice={"distinct options": lambda layer: len(set(conv_counts(layer))) == 4})
def conv_layer(rng):
    """A k x k convolution from c_in to c_out channels, and the order its four options are printed in."""
    return {"k": int(rng.choice([1, 3, 5, 7])), "c_in": int(rng.choice([1, 3, 8, 16])),
            "c_out": int(rng.choice([4, 8, 16, 32, 64])), "order": tuple(int(i) for i in rng.permutation(4))}


@value
def kernel():
    return conv_layer()["k"]


@value
def channels_in():
    return conv_layer()["c_in"]


@value
def channels_out():
    return conv_layer()["c_out"]


@value
def conv_options():
    """The four counts in the printed order."""
    counts = conv_counts(conv_layer())
    return [counts[i] for i in conv_layer()["order"]]


@value
def conv_parameter_count():
    return (kernel() ** 2 * channels_in() + 1) * channels_out()


@value
def conv_answer():
    """The letter of the right option."""
    return string.ascii_uppercase[conv_options().index(conv_parameter_count())]


def test_conv_parameter_count_from_the_tensors_shapes():
    """A layer's tensors: a weight of shape (c_out, c_in, k, k) and a bias of shape (c_out,)."""
    weight = np.zeros((channels_out(), channels_in(), kernel(), kernel()))
    bias = np.zeros(channels_out())
    assert weight.size + bias.size == conv_parameter_count()
    assert conv_options()[string.ascii_uppercase.index(conv_answer())] == weight.size + bias.size
    assert len(set(conv_options())) == 4


def test_conv_options_are_the_count_and_three_slips_in_the_drawn_order():
    """The slips, from tensors: no bias; a kernel k wide and one deep; a bias per input and output channel."""
    weight = np.zeros((channels_out(), channels_in(), kernel(), kernel()))
    flat = np.zeros((channels_out(), channels_in(), kernel()))
    counts = [weight.size + channels_out(), weight.size, flat.size + channels_out(),
              weight.size + channels_in() * channels_out()]
    assert conv_options() == [counts[i] for i in conv_layer()["order"]]


@parameter(default={"n": 7, "k": 3, "padding": 1, "stride": 2},
           nice={"windows tile the input": lambda g: (g["n"] + 2 * g["padding"] - g["k"]) % g["stride"] == 0,
                 "kernel fits": lambda g: g["k"] <= g["n"] + 2 * g["padding"],
                 "every window reads the input": lambda g: g["padding"] < g["k"]})
def sliding(rng):
    """An input width, an odd kernel, a padding and a stride."""
    return {"n": int(rng.integers(5, 33)), "k": int(rng.choice([1, 3, 5, 7])),
            "padding": int(rng.integers(0, 4)), "stride": int(rng.integers(1, 4))}


@value
def input_width():
    return sliding()["n"]


@value
def output_kernel():
    return sliding()["k"]


@value
def padding():
    return sliding()["padding"]


@value
def stride():
    return sliding()["stride"]


@value
def output_width():
    """(n + 2 padding - k) / stride + 1."""
    return (input_width() + 2 * padding() - output_kernel()) // stride() + 1


def test_output_width_counts_the_windows():
    """Slide the kernel over the padded input, one stride at a time, and count where it fits."""
    padded = np.pad(np.arange(input_width()), padding())
    windows = np.lib.stride_tricks.sliding_window_view(padded, output_kernel())[::stride()]
    assert len(windows) == output_width()


def test_no_window_reads_only_padding():
    """A window lying wholly in the padding (a 1-wide kernel with padding 2, say) is a degenerate layer."""
    padded = np.pad(np.ones(input_width()), padding())
    windows = np.lib.stride_tricks.sliding_window_view(padded, output_kernel())[::stride()]
    assert all(window.any() for window in windows)


def test_the_windows_cover_the_padded_input_exactly():
    """The last window ends at the padded input's end (the nice rule: the windows tile the input)."""
    assert (output_width() - 1) * stride() + output_kernel() == input_width() + 2 * padding()
