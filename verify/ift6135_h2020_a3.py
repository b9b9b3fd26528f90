"""Values and tests of chapter ift6135_h2020_a3 (Mila IFT6135-H2020, Assignment 3, theory part).

Question by question: masked convolutions (Q1), the reparameterisation trick and the change of
variables (Q2), amortised inference (Q3, whose examples are shared with chapter ift6135_h2021_a3), the importance-weighted
bound (Q4), invertibility of flows (Q5) and the dynamics of simultaneous gradient descent-ascent (Q6).
"""

from __future__ import annotations

import itertools
import math
import re
from fractions import Fraction

import numpy as np
import sympy as sp
from scipy import integrate, optimize, special, stats
from scipy.signal import correlate2d

from finite_differences import gradient as numeric_gradient
from solman import checks, tex, value

# ================================================================================================
# Question 1: receptive fields of two masked 3x3 convolutions
# ================================================================================================

GRID = 5  # the feature maps are 5 x 5, pixels labelled 11 ... 55 (row, then column)
OUTPUT_PIXEL = (3, 4)  # pixel 34


@value
def q1_mask_a():
    """(M^A)_ij = 1 if i = 2 and j < 2, 1 if i = 3, 0 elsewhere (indices from 1), as restored."""
    return sp.Matrix(3, 3, lambda i, j: 1 if (i + 1 == 2 and j + 1 < 2) or i + 1 == 3 else 0)


@value
def q1_mask_b():
    """(M^B)_ij = 1 if i = 2 and j <= 2, 1 if i = 3, 0 elsewhere (indices from 1), as restored."""
    return sp.Matrix(3, 3, lambda i, j: 1 if (i + 1 == 2 and j + 1 <= 2) or i + 1 == 3 else 0)


def _masks():
    return {"A": q1_mask_a(), "B": q1_mask_b()}


def _taps(mask):
    """Offsets (di, dj) read by an unmasked kernel entry: without flipping, entry (i, j) of the
    kernel centred on output (r, c) multiplies input (r + i - 2, c + j - 2)."""
    return [(i - 1, j - 1) for i in range(3) for j in range(3) if mask[i, j] == 1]


def _reads(pixel, mask):
    """The pixels of the previous map that one masked layer reads at `pixel` (zero padding drops
    the positions off the map)."""
    r, c = pixel
    return {(r + di, c + dj) for di, dj in _taps(mask)
            if 1 <= r + di <= GRID and 1 <= c + dj <= GRID}


def _label(pixel):
    return 10 * pixel[0] + pixel[1]


def _past(pixel):
    """The pixels before `pixel` in the order the masks impose: rows from the bottom (5) up to the
    top (1), left to right inside a row."""
    r, c = pixel
    return {(i, j) for i in range(1, GRID + 1) for j in range(1, GRID + 1) if i > r or (i == r and j < c)}


def _grid_cells(on):
    """The 25 cells of a 5 x 5 picture (x = column - 1, y = 5 - row), `on` filled."""
    return [{"x": c - 1, "y": GRID - r, "label": _label((r, c)),
             "style": "hon" if (r, c) in on else "hoff"}
            for r in range(1, GRID + 1) for c in range(1, GRID + 1)]


@value
def q1_reads():
    """For each mask, the input pixels that output (r, c) reads, in words (LaTeX)."""
    def shift(symbol, d):
        return symbol if d == 0 else f"{symbol}{'+' if d > 0 else '-'}{abs(d)}"
    return {name: tex(", ".join(f"$({shift('r', di)}, {shift('c', dj)})$" for di, dj in _taps(mask)))
            for name, mask in _masks().items()}


@value
def q1_mask_cells():
    """The two masks as 3 x 3 pictures: kernel entry (i, j) at x = j - 1, y = 3 - i."""
    return {name: [{"x": j, "y": 2 - i, "style": "hon" if mask[i, j] == 1 else "hoff",
                    "label": f"{i + 1}{j + 1}"} for i in range(3) for j in range(3)]
            for name, mask in _masks().items()}


@value
def q1_map_cells():
    """Figure 1 (left) of the assignment: the 5 x 5 map numbered row then column."""
    return _grid_cells(set())


@value
def q1_output_cell():
    """Where pixel 34 sits in the pictures."""
    r, c = OUTPUT_PIXEL
    return {"x": c - 1, "y": GRID - r, "label": _label(OUTPUT_PIXEL)}


@value
def q1_past():
    """The pixels that come before 34 in the order the masks impose, as labels."""
    return sorted(_label(p) for p in _past(OUTPUT_PIXEL))


@value
def q1_reachable():
    """The past pixels that two 3 x 3 layers could reach at all (within two rows and columns of 34)."""
    r, c = OUTPUT_PIXEL
    return sorted(_label(p) for p in _past(OUTPUT_PIXEL) if abs(p[0] - r) <= 2 and abs(p[1] - c) <= 2)


@value
def q1_reachable_size():
    return len(q1_reachable())


@value
def q1_cases():
    """The four cases (first layer, second layer): the hidden units that output 34 reads, the
    receptive field in the input (set propagation through the two masks), and its pictures."""
    cases = []
    for qid, (first, second) in zip(("1.1", "1.2", "1.3", "1.4"), itertools.product("AB", repeat=2)):
        hidden = _reads(OUTPUT_PIXEL, _masks()[second])
        field = set().union(*(_reads(h, _masks()[first]) for h in hidden))
        past = _past(OUTPUT_PIXEL)
        cases.append({
            "id": qid, "first": first, "second": second,
            "hidden": sorted(_label(p) for p in hidden),
            "field": sorted(_label(p) for p in field),
            "size": len(field),
            "missed": sorted(_label(p) for p in past - field),
            "leaked": sorted(_label(p) for p in field - past),
            "blind": sorted(set(q1_reachable()) - {_label(p) for p in field}),
            "unit_reads": [{"unit": _label(h), "reads": sorted(_label(p) for p in _reads(h, _masks()[first]))}
                           for h in sorted(hidden)],
            "hidden_cells": _grid_cells(hidden),
            "field_cells": _grid_cells(field),
        })
    return cases


@value
def q1_fields():
    """The answers of 1.1 to 1.4: the receptive field of each case, as labels. A value of its own because
    the problem statement prints q1_cases (each case's masks), and an answer must not be printed there."""
    return [case["field"] for case in q1_cases()]


def _conv_same(x, kernel):
    """Plain cross-correlation with zero padding 1, written out with loops (no kernel flipping)."""
    padded = np.pad(x, 1)
    out = np.zeros_like(x, dtype=float)
    for r in range(x.shape[0]):
        for c in range(x.shape[1]):
            out[r, c] = float(np.sum(padded[r:r + 3, c:c + 3] * kernel))
    return out


def test_q1_masks_as_restored():
    a, b = np.array(q1_mask_a(), dtype=int), np.array(q1_mask_b(), dtype=int)
    assert a.tolist() == [[0, 0, 0], [1, 0, 0], [1, 1, 1]]
    assert b.tolist() == [[0, 0, 0], [1, 1, 0], [1, 1, 1]]
    assert (b - a).sum() == 1 and b[1, 1] == 1 and a[1, 1] == 0  # B adds the centre only


@checks("1.1")
def test_q1_scipy_correlate_is_cross_correlation_without_flipping():
    rng = np.random.default_rng(0)
    x, k = rng.normal(size=(5, 5)), rng.normal(size=(3, 3))
    assert np.allclose(correlate2d(x, k, mode="same"), _conv_same(x, k))


def test_q1_fields_by_impulses_through_masked_convolutions():
    """Method 1: push a unit impulse from every input pixel through the two masked layers
    (scipy's correlate2d, positive random weights so nothing cancels) and see whether it reaches 34."""
    rng = np.random.default_rng(1)
    masks = {"A": np.array(q1_mask_a(), dtype=float), "B": np.array(q1_mask_b(), dtype=float)}
    for case in q1_cases():
        k1 = rng.uniform(0.5, 1.5, size=(3, 3)) * masks[case["first"]]
        k2 = rng.uniform(0.5, 1.5, size=(3, 3)) * masks[case["second"]]
        field = []
        for r, c in itertools.product(range(5), range(5)):
            x = np.zeros((5, 5))
            x[r, c] = 1.0
            out = correlate2d(correlate2d(x, k1, mode="same"), k2, mode="same")
            if out[2, 3] != 0:
                field.append(10 * (r + 1) + c + 1)
        assert field == case["field"], case["id"]
        assert case["size"] == len(field)


def test_q1_fields_by_jacobian_of_a_nonlinear_network():
    """Method 2: a two-layer masked CNN with tanh, signed random weights and biases; the receptive
    field is where d out_34 / d x is non-zero, found by central differences."""
    rng = np.random.default_rng(2)
    masks = {"A": np.array(q1_mask_a(), dtype=float), "B": np.array(q1_mask_b(), dtype=float)}
    for case in q1_cases():
        k1 = rng.normal(size=(3, 3)) * masks[case["first"]]
        k2 = rng.normal(size=(3, 3)) * masks[case["second"]]

        def net(x):
            return _conv_same(np.tanh(_conv_same(x, k1) + 0.3), k2)[2, 3]

        x0 = rng.normal(size=(5, 5))
        field = []
        for r, c in itertools.product(range(5), range(5)):
            e = np.zeros((5, 5))
            e[r, c] = 1e-6
            if abs(net(x0 + e) - net(x0 - e)) / 2e-6 > 1e-7:
                field.append(10 * (r + 1) + c + 1)
        assert field == case["field"], case["id"]


def test_q1_fields_by_products_of_dependency_matrices():
    """Method 3: each masked layer as a 25 x 25 0/1 matrix (output pixel, input pixel it reads, from the
    masks of the statement as given, zero padding dropping what falls off the map); the receptive field
    of 34 is the non-zero part of its row of the product of the two matrices."""
    given = {"A": [[0, 0, 0], [1, 0, 0], [1, 1, 1]], "B": [[0, 0, 0], [1, 1, 0], [1, 1, 1]]}

    def layer(mask):
        m = np.zeros((25, 25), dtype=int)
        for r, c, i, j in itertools.product(range(5), range(5), range(3), range(3)):
            rr, cc = r + i - 1, c + j - 1
            if mask[i][j] and 0 <= rr < 5 and 0 <= cc < 5:
                m[5 * r + c, 5 * rr + cc] = 1
        return m

    fields = []
    for first, second in (("A", "A"), ("A", "B"), ("B", "A"), ("B", "B")):
        row = (layer(given[second]) @ layer(given[first]))[5 * 2 + 3]
        fields.append([10 * (k // 5 + 1) + k % 5 + 1 for k in np.nonzero(row)[0]])
    assert q1_fields() == fields
    assert [len(f) for f in fields] == [8, 10, 10, 11]


def test_q1_hidden_units_and_ordering_claims():
    aa, ab, ba, bb = q1_cases()
    assert aa["hidden"] == ba["hidden"] == [33, 43, 44, 45]
    assert ab["hidden"] == bb["hidden"] == [33, 34, 43, 44, 45]
    assert ab["field"] == ba["field"]  # the two mixed cases agree
    assert 33 in aa["missed"] and 34 not in aa["field"]  # A then A is blind to the left neighbour
    assert aa["leaked"] == ab["leaked"] == ba["leaked"] == [] and bb["leaked"] == [34]
    assert set(ab["missed"]) == {31, 41, 51}  # only what two 3 x 3 layers cannot reach
    assert q1_reachable_size() == 10 == len(ab["field"])
    assert ab["field"] == q1_reachable() and set(q1_reachable()) <= set(q1_past())
    assert sorted(set(q1_reachable()) - set(aa["field"])) == [33, 45] == aa["blind"]
    assert ab["blind"] == ba["blind"] == bb["blind"] == []
    for case in q1_cases():  # the union of the listed unit reads is the field
        assert sorted(set().union(*(u["reads"] for u in case["unit_reads"]))) == case["field"]
        assert [u["unit"] for u in case["unit_reads"]] == case["hidden"]
    assert len(q1_past()) == 13 and 34 not in q1_past()
    # the pictures mark exactly the listed pixels
    for case in q1_cases():
        on = sorted(cell["label"] for cell in case["field_cells"] if cell["style"] == "hon")
        assert on == case["field"]
    assert q1_output_cell() == {"x": 3, "y": 2, "label": 34}
    assert len(q1_map_cells()) == 25 and {c["label"] for c in q1_map_cells()} == \
        {10 * r + c for r in range(1, 6) for c in range(1, 6)}
    cells = q1_mask_cells()
    for name, mask in (("A", q1_mask_a()), ("B", q1_mask_b())):
        assert sum(cell["style"] == "hon" for cell in cells[name]) == sum(mask)
    assert str(q1_reads()["A"]).count("$(") == 4 and str(q1_reads()["B"]).count("$(") == 5
    assert "(r, c)" in str(q1_reads()["B"]) and "(r, c)" not in str(q1_reads()["A"])


def _check_pixel_pictures(cells, on, size, label_of):
    """A picture of a size x size grid as the template draws it: every entry (row i, column j, read
    back from the cell's own label) sits at x = j - 1, y = size - i, each position exactly once, and
    it is shaded exactly when its label is in `on`."""
    assert len(cells) == size * size
    seen = set()
    for cell in cells:
        i, j = divmod(int(str(cell["label"])), 10)
        assert cell["label"] == label_of(i, j), cell
        assert (cell["x"], cell["y"]) == (j - 1, size - i), cell
        assert cell["style"] == ("hon" if (i, j) in on else "hoff"), cell
        seen.add((i, j))
    assert seen == {(i, j) for i in range(1, size + 1) for j in range(1, size + 1)}


def _impulse_set(kernel, pixel):
    """The pixels (1-based) of a 5 x 5 input whose unit impulse reaches output `pixel` through one
    cross-correlation with `kernel` (scipy's correlate2d, zero padding)."""
    found = set()
    for r, c in itertools.product(range(5), range(5)):
        x = np.zeros((5, 5))
        x[r, c] = 1.0
        if correlate2d(x, kernel, mode="same")[pixel[0] - 1, pixel[1] - 1] != 0:
            found.add((r + 1, c + 1))
    return found


def test_q1_pictures_mark_the_pixels_found_by_impulses():
    """Every drawn grid against the geometry of the figure (position from the label's digits) and its
    shading against impulses pushed through scipy's correlate2d with the masks of the statement."""
    given = {"A": np.array([[0, 0, 0], [1, 0, 0], [1, 1, 1]]), "B": np.array([[0, 0, 0], [1, 1, 0], [1, 1, 1]])}
    _check_pixel_pictures(q1_map_cells(), set(), 5, lambda i, j: 10 * i + j)
    for name, mask in given.items():
        on = {(i + 1, j + 1) for i in range(3) for j in range(3) if mask[i, j] == 1}
        _check_pixel_pictures(q1_mask_cells()[name], on, 3, lambda i, j: f"{i}{j}")
    rng = np.random.default_rng(22)
    for case in q1_cases():
        k1 = rng.uniform(0.5, 1.5, size=(3, 3)) * given[case["first"]]
        k2 = rng.uniform(0.5, 1.5, size=(3, 3)) * given[case["second"]]
        hidden = _impulse_set(k2, (3, 4))
        assert case["hidden"] == sorted(10 * r + c for r, c in hidden), case["id"]
        _check_pixel_pictures(case["hidden_cells"], hidden, 5, lambda i, j: 10 * i + j)
        field = set().union(*(_impulse_set(k1, h) for h in hidden))
        _check_pixel_pictures(case["field_cells"], field, 5, lambda i, j: 10 * i + j)
        for unit in case["unit_reads"]:
            reads = _impulse_set(k1, divmod(unit["unit"], 10))
            assert unit["reads"] == sorted(10 * r + c for r, c in reads), (case["id"], unit["unit"])


def test_q1_reads_in_words_match_impulses():
    """The printed tap lists, parsed back, are the offsets at which an impulse at the centre of a
    5 x 5 map reaches the output through correlate2d with the mask (each listed once, in reading order)."""
    given = {"A": np.array([[0, 0, 0], [1, 0, 0], [1, 1, 1]]), "B": np.array([[0, 0, 0], [1, 1, 0], [1, 1, 1]])}
    pattern = re.compile(r"\$\(r([+-]\d)?, c([+-]\d)?\)\$")
    for name, mask in given.items():
        text = str(q1_reads()[name])
        pieces = text.split(", $")
        offsets = []
        for k, piece in enumerate(pieces):
            match = pattern.fullmatch(piece if k == 0 else "$" + piece)
            assert match is not None, (name, piece)
            offsets.append(tuple(int(g) if g else 0 for g in match.groups()))
        x = np.zeros((5, 5))
        x[2, 2] = 1.0  # input pixel (3, 3); output (r, c) reads it at offset (3 - r, 3 - c)
        out = correlate2d(x, mask.astype(float), mode="same")
        expected = sorted((2 - r, 2 - c) for r, c in zip(*np.nonzero(out)))
        assert offsets == expected, name


def test_q1_past_and_reachable_by_enumerating_the_generation_order():
    """The past of 34 as a prefix of the generation order written out (rows 5 to 1, left to right),
    the reachable part as the past pixels that some pair of 3 x 3 taps (offsets -1..1 each) reaches,
    and the framed output cell as the map's cell labelled 34 (third row, fourth column: a given)."""
    order = [10 * r + c for r in range(5, 0, -1) for c in range(1, 6)]
    assert q1_past() == sorted(order[:order.index(34)])
    steps = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)]
    two_steps = {(3 + a1 + a2, 4 + b1 + b2) for (a1, b1) in steps for (a2, b2) in steps}
    assert q1_reachable() == sorted(p for p in q1_past() if divmod(p, 10) in two_steps)
    assert q1_reachable_size() == len(q1_reachable())
    (framed,) = [cell for cell in q1_map_cells() if cell["label"] == 34]
    assert q1_output_cell() == {"x": framed["x"], "y": framed["y"], "label": 3 * 10 + 4}


# ================================================================================================
# Question 2: reparameterisation and the change of variables
# ================================================================================================

def _diag_symbols(k):
    z0 = sp.symbols(f"u1:{k + 1}", real=True)
    mu = sp.symbols(f"m1:{k + 1}", real=True)
    sigma = sp.symbols(f"s1:{k + 1}", positive=True)
    return z0, mu, sigma


def _typed_diag_density(z, mu, sigma):
    """The result of Q2.1 exactly as printed: prod_k (2 pi sigma_k^2)^(-1/2) exp(-(z_k - mu_k)^2 / (2 sigma_k^2))."""
    return np.prod(np.exp(-(z - mu) ** 2 / (2 * sigma ** 2)) / np.sqrt(2 * np.pi * sigma ** 2))


def _typed_affine_density(z, mu, s):
    """The result of Q2.3 exactly as printed: (2 pi)^(-K/2) |det S|^(-1) exp(-1/2 (z-mu)^T (S S^T)^(-1) (z-mu))."""
    k, d = len(mu), z - mu
    return (2 * np.pi) ** (-k / 2) / abs(np.linalg.det(s)) * np.exp(-0.5 * d @ np.linalg.inv(s @ s.T) @ d)


@value
def q2_diag_jacobian():
    """The Jacobian of g(z0) = mu + sigma * z0 for K = 4, symbolically: diagonal."""
    z0, mu, sigma = _diag_symbols(4)
    g = sp.Matrix([mu[i] + sigma[i] * z0[i] for i in range(4)])
    jac = g.jacobian(sp.Matrix(z0))
    names = sp.symbols("sigma_1:5", positive=True)
    return jac.subs(dict(zip(sigma, names)))


@value
def q2_tril_jacobian():
    """The Jacobian of g(z0) = mu + S z0 with S lower triangular (K = 4), symbolically: S itself."""
    z0 = sp.Matrix(sp.symbols("u1:5", real=True))
    s = sp.Matrix(4, 4, lambda i, j: sp.Symbol(f"S_{{{i + 1}{j + 1}}}") if j <= i else 0)
    return (sp.Matrix(sp.symbols("m1:5")) + s * z0).jacobian(z0)


@value
def q2_tril_det():
    """det of that Jacobian, as sympy computes it."""
    return sp.factor(q2_tril_jacobian().det())


@value
def q2_dense_det_terms():
    """How many products the Leibniz expansion of a dense 4 x 4 determinant has."""
    dense = sp.Matrix(4, 4, lambda i, j: sp.Symbol(f"a{i}{j}"))
    return len(sp.Add.make_args(sp.expand(dense.det())))


K_SYMBOL = sp.Symbol("K", integer=True, positive=True)


def _det_cost_order(nonzero):
    """The cost of |det J| for K x K Jacobians whose entry (i, j) is non-zero where nonzero(i, j), as a
    big-O of K: the multiplications of the Leibniz expansion once its zero products are dropped, counted
    by sympy for K = 1 to 6, and the degree of the polynomial in K through those counts."""
    counts = []
    for k in range(1, 7):
        jac = sp.Matrix(k, k, lambda i, j: sp.Symbol(f"j_{i}_{j}") if nonzero(i, j) else 0)
        products = sp.Add.make_args(sp.expand(jac.det(method="berkowitz")))
        counts.append((k, sum(len(sp.Mul.make_args(p)) - 1 for p in products)))
    degree = sp.degree(sp.interpolate(counts, K_SYMBOL), K_SYMBOL)
    return "O(K)" if degree == 1 else f"O(K^{degree})"


@value
def q2_diag_det_cost():
    """The answer of 2.2: the time to evaluate |det J| of g(z0) = mu + sigma * z0 (a diagonal Jacobian)."""
    return _det_cost_order(lambda i, j: i == j)


@value
def q2_tril_det_cost():
    """The answer of 2.4: the time to evaluate |det J| of g(z0) = mu + S z0, S lower triangular."""
    return _det_cost_order(lambda i, j: j <= i)


@value
def q2_affine_law():
    """The answer of 2.3: the mean and covariance of g(Z0) = mu + S Z0 with Z0 ~ N(0, I_K), from
    E[Z0] = 0 and Cov(Z0) = I_K (matrix symbols of size K)."""
    s, mu = sp.MatrixSymbol("S", K_SYMBOL, K_SYMBOL), sp.MatrixSymbol("mu", K_SYMBOL, 1)
    mean = (mu + s * sp.ZeroMatrix(K_SYMBOL, 1)).doit()
    covariance = (s * sp.Identity(K_SYMBOL) * s.T).doit()
    return (mean, covariance)


def _operations_of_the_product_of_the_diagonal(matrix):
    """Multiplications a loop over the non-zero products of the Leibniz expansion makes (itertools)."""
    k = len(matrix)
    count = 0
    for perm in itertools.permutations(range(k)):
        if all(matrix[i][perm[i]] != 0 for i in range(k)):
            count += k - 1
    return count


def test_q2_2_and_2_4_det_costs_by_enumerating_permutations():
    """The multiplications of |det J|, counted over the permutations whose product has no zero factor
    (itertools, not sympy), grow linearly in K for diagonal and triangular Jacobians (a least-squares
    line fits them exactly; a dense one grows faster than any line), so both answers are O(K)."""
    rng = np.random.default_rng(26)
    for nonzero, answer in ((lambda i, j: i == j, q2_diag_det_cost()), (lambda i, j: j <= i, q2_tril_det_cost())):
        ks = np.arange(1, 8)
        counts = [_operations_of_the_product_of_the_diagonal(
            [[rng.uniform(1, 2) if nonzero(i, j) else 0 for j in range(k)] for i in range(k)]) for k in ks]
        slope, intercept = np.polyfit(ks, counts, 1)
        assert np.allclose(np.polyval([slope, intercept], ks), counts) and slope > 0.5
        assert answer == "O(K)"
    dense = [_operations_of_the_product_of_the_diagonal(np.ones((k, k))) for k in range(1, 7)]
    assert not np.allclose(np.polyval(np.polyfit(range(1, 7), dense, 1), range(1, 7)), dense)


@checks("2.3")
def test_q2_3_affine_law_by_sampling():
    """The printed mean and covariance, with random numbers for mu and S (K = 3), against the sample mean
    and covariance of mu + S z0 for z0 drawn from N(0, I)."""
    mean, covariance = q2_affine_law()
    rng = np.random.default_rng(27)
    k = 3
    s, mu = rng.normal(size=(k, k)), rng.normal(size=(k, 1))
    names = {sym.name: sym for sym in (mean.atoms(sp.MatrixSymbol) | covariance.atoms(sp.MatrixSymbol))}
    assert set(names) == {"S", "mu"}
    subs = {names["S"]: sp.Matrix(s), names["mu"]: sp.Matrix(mu)}
    mean_k = np.array(sp.Matrix(mean.xreplace(subs).doit()), dtype=float)
    cov_k = np.array(sp.Matrix(covariance.xreplace(subs).doit()), dtype=float)
    samples = mu.ravel() + rng.normal(size=(200_000, k)) @ s.T
    assert np.allclose(samples.mean(axis=0), mean_k.ravel(), atol=0.03)
    assert np.allclose(np.cov(samples.T), cov_k, atol=0.05 * np.abs(cov_k).max())


@checks("2.1")
def test_q2_1_change_of_variables_symbolically():
    """Sympy for K = 3: q(z0) / |det J| at z0 = g^{-1}(z) is the product of N(mu_k, sigma_k^2) densities."""
    z0, mu, sigma = _diag_symbols(3)
    z = sp.symbols("z1:4", real=True)
    g = sp.Matrix([mu[i] + sigma[i] * z0[i] for i in range(3)])
    jac_det = g.jacobian(sp.Matrix(z0)).det()
    inverse = {z0[i]: (z[i] - mu[i]) / sigma[i] for i in range(3)}
    assert sp.simplify(g.subs(inverse) - sp.Matrix(z)) == sp.zeros(3, 1)  # it is the inverse
    q0 = sp.prod([sp.exp(-u ** 2 / 2) / sp.sqrt(2 * sp.pi) for u in z0])
    by_formula = (q0 / sp.Abs(jac_det)).subs(inverse)
    normal = sp.prod([sp.exp(-(z[i] - mu[i]) ** 2 / (2 * sigma[i] ** 2)) / sp.sqrt(2 * sp.pi * sigma[i] ** 2)
                      for i in range(3)])
    assert sp.simplify(by_formula - normal) == 0


@checks("2.1")
def test_q2_1_typed_density_matches_scipy_normal_at_random_points():
    rng = np.random.default_rng(3)
    for k in (1, 3, 6):
        for _ in range(10):
            mu, sigma, z = rng.normal(size=k), rng.uniform(0.2, 3, size=k), rng.normal(size=k) * 2
            expected = stats.multivariate_normal(mu, np.diag(sigma ** 2)).pdf(z)
            assert math.isclose(_typed_diag_density(z, mu, sigma), expected, rel_tol=1e-10)
            # and directly by Eq. (1): push z back and divide by |det J| = prod sigma
            z0 = (z - mu) / sigma
            assert math.isclose(stats.multivariate_normal(np.zeros(k)).pdf(z0) / np.prod(sigma), expected,
                                rel_tol=1e-10)


@checks("2.1")
def test_q2_diag_density_by_sampling():
    """Samples of mu + sigma * z0 have the mean and the diagonal covariance of N(mu, diag sigma^2)."""
    rng = np.random.default_rng(4)
    mu, sigma = np.array([1.0, -2.0, 0.5]), np.array([0.5, 2.0, 1.5])
    samples = mu + sigma * rng.normal(size=(200_000, 3))
    assert np.allclose(samples.mean(axis=0), mu, atol=0.02)
    assert np.allclose(np.cov(samples.T), np.diag(sigma ** 2), atol=0.03)


def test_q2_jacobians_have_the_claimed_structure():
    jd = q2_diag_jacobian()
    assert all(jd[i, j] == 0 for i in range(4) for j in range(4) if i != j)
    assert sp.simplify(jd.det() - sp.prod([jd[i, i] for i in range(4)])) == 0
    jt = q2_tril_jacobian()
    assert all(jt[i, j] == 0 for i in range(4) for j in range(4) if j > i)
    assert sp.expand(q2_tril_det() - sp.prod([jt[i, i] for i in range(4)])) == 0
    assert q2_dense_det_terms() == math.factorial(4)
    # numerically: the determinant of a random lower-triangular matrix is its diagonal product
    rng = np.random.default_rng(5)
    for k in (3, 10, 50):
        s = np.tril(rng.normal(size=(k, k)))
        np.fill_diagonal(s, rng.uniform(0.5, 1.5, size=k))
        assert math.isclose(np.linalg.slogdet(s)[1], np.log(np.diag(s)).sum(), rel_tol=1e-9)


def test_q2_2_tril_jacobian_entrywise_against_finite_differences():
    """Every entry of the printed Jacobian, at random numbers for the S_ij, against central differences
    of z0 -> mu + S z0 with S the random lower-triangular matrix (numpy, no sympy differentiation)."""
    jac = q2_tril_jacobian()
    names = {s.name: s for s in jac.free_symbols}
    rng = np.random.default_rng(23)
    for _ in range(3):
        s = np.tril(rng.normal(size=(4, 4)))
        mu, z0 = rng.normal(size=4), rng.normal(size=4)
        numeric = np.array([numeric_gradient(lambda v, i=i, mu=mu, s=s: (mu + s @ v)[i], z0) for i in range(4)])
        ours = np.array(jac.subs({names[f"S_{{{i + 1}{j + 1}}}"]: s[i, j] for i in range(4) for j in range(i + 1)}),
                        dtype=float)
        assert np.allclose(ours, numeric, atol=1e-8)


def test_q2_1_diag_jacobian_and_tril_det_against_numpy():
    """Every entry of the printed diagonal Jacobian, at random sigma_k, against central differences of
    z0 -> mu + sigma * z0; the printed det of the triangular Jacobian against numpy's LU determinant
    of random lower-triangular matrices."""
    jac = q2_diag_jacobian()
    names = {s.name: s for s in jac.free_symbols}
    assert set(names) == {f"sigma_{k}" for k in range(1, 5)}
    det = q2_tril_det()
    s_names = {s.name: s for s in det.free_symbols}
    rng = np.random.default_rng(24)
    for _ in range(3):
        sigma, mu, z0 = rng.uniform(0.2, 3, size=4), rng.normal(size=4), rng.normal(size=4)
        numeric = np.array([numeric_gradient(lambda v, i=i, mu=mu, sigma=sigma: (mu + sigma * v)[i], z0)
                            for i in range(4)])
        ours = np.array(jac.subs({names[f"sigma_{k + 1}"]: sigma[k] for k in range(4)}), dtype=float)
        assert np.allclose(ours, numeric, atol=1e-8)
        s = np.tril(rng.normal(size=(4, 4)))
        values = {s_names[name]: s[i, j] for i in range(4) for j in range(i + 1)
                  if (name := f"S_{{{i + 1}{j + 1}}}") in s_names}
        assert math.isclose(float(det.subs(values)), np.linalg.det(s), rel_tol=1e-10)


@checks("2.3")
def test_q2_3_change_of_variables_symbolically():
    """Sympy for K = 2 with a general S: q(z0)/|det J| at z0 = S^{-1}(z - mu) is the N(mu, S S^T) density."""
    s = sp.Matrix(2, 2, sp.symbols("s11 s12 s21 s22", real=True))
    mu, z = sp.Matrix(sp.symbols("m1 m2", real=True)), sp.Matrix(sp.symbols("z1 z2", real=True))
    z0 = s.inv() * (z - mu)
    jac = (mu + s * sp.Matrix(sp.symbols("u1 u2"))).jacobian(sp.Matrix(sp.symbols("u1 u2")))
    assert jac == s
    cov = s * s.T
    # exponents: z0^T z0 = (z - mu)^T (S S^T)^{-1} (z - mu)
    assert sp.simplify((z0.T * z0)[0] - ((z - mu).T * cov.inv() * (z - mu))[0]) == 0
    # normalisers: |det J| = |det S| = det(S S^T)^{1/2}
    assert sp.expand(jac.det() ** 2 - cov.det()) == 0


@checks("2.3")
def test_q2_3_typed_density_matches_scipy_normal_with_cov_s_st():
    rng = np.random.default_rng(6)
    for k in (1, 2, 3, 5):
        for _ in range(10):
            s = rng.normal(size=(k, k))
            mu, z = rng.normal(size=k), rng.normal(size=k) * 1.5
            expected = stats.multivariate_normal(mu, s @ s.T).pdf(z)
            assert math.isclose(_typed_affine_density(z, mu, s), expected, rel_tol=1e-8)
            # Eq. (1) directly: q0(S^{-1}(z - mu)) / |det S|
            z0 = np.linalg.solve(s, z - mu)
            direct = stats.multivariate_normal(np.zeros(k)).pdf(z0) / abs(np.linalg.det(s))
            assert math.isclose(direct, expected, rel_tol=1e-8)
    # samples of mu + S z0 have covariance S S^T
    s, mu = rng.normal(size=(3, 3)), rng.normal(size=3)
    samples = mu + rng.normal(size=(200_000, 3)) @ s.T
    assert np.allclose(np.cov(samples.T), s @ s.T, atol=0.05 * np.abs(s @ s.T).max())


# ================================================================================================
# Question 3: amortised inference. The statement is Question 2 of the H2021 assignment; the two chapters print the
# same examples, so the values (and the tests that check them independently) are imported from that chapter's
# module, not recomputed here. The solution text of each chapter is its own.
# ================================================================================================

import ift6135_h2021_a3 as h2021  # noqa: E402
from ift6135_h2021_a3 import (  # noqa: E402,F401  (printed by this chapter)
    q2_counterexample_kl, q2_counterexample_q, q2_counterexample_theta, q2_counts, q2_ecll, q2_ecll_minus_rhs,
    q2_entropy_q, q2_evidence_values, q2_fixed_q, q2_gap_table, q2_larger_divergence, q2_log_evidence, q2_mean_bias,
    q2_parameter_counts, q2_posterior, q2_posterior_at_ml, q2_theta_ecll, q2_theta_ecll_at_posterior, q2_theta_ml,
    q2_x)

Q3_M, Q3_S2 = sp.symbols("m s^2", positive=True)


@value
def q3_ecll_maximiser_formula():
    """The maximiser in theta of the ECLL of q = N(m, s^2) in the linear-Gaussian example: solve d ECLL / d theta = 0
    with E_q[z] = m and E_q[z^2] = m^2 + s^2."""
    theta, z = h2021.THETA, h2021.ZS
    x = q2_x()
    log_joint = -(x - theta * z) ** 2 / 2 - z ** 2 / 2  # log p(x | z) p(z) up to constants
    expanded = sp.Poly(sp.expand(log_joint), z)
    moments = {0: 1, 1: Q3_M, 2: Q3_M ** 2 + Q3_S2}
    ecll = sum(c * moments[k[0]] for k, c in zip(expanded.monoms(), expanded.coeffs()))
    (root,) = sp.solve(sp.diff(ecll, theta), theta)
    return sp.factor(root)


@checks("3.1")
def test_q3_1_identity_maximisers_and_em_fixed_point_as_in_h2021():
    # the checks of the shared values, by quadrature and numerical optimisation (chapter ift6135_h2021_a3, 2.1)
    h2021.test_q2_ecll_identity_by_quadrature_at_several_theta()
    h2021.test_q2_posterior_is_the_normalised_joint()
    h2021.test_q2_maximisers_against_a_numerical_optimiser()
    h2021.test_q2_em_fixed_point_when_q_is_the_posterior_at_theta_ml()


@checks("3.1")
def test_q3_1_published_only_if_fails_and_the_maximiser_formula():
    # the erratum: a q that is not the posterior at theta_ML has the same ECLL maximiser (quadrature, optimiser)
    h2021.test_published_only_if_claim_of_2_1_is_wrong()
    formula = q3_ecll_maximiser_formula()
    x = float(q2_x())
    rng = np.random.default_rng(31)
    for _ in range(6):
        m, s2 = rng.normal(), rng.uniform(0.1, 2.0)
        s = math.sqrt(s2)
        ecll = lambda t: integrate.quad(  # noqa: E731
            lambda z: stats.norm.pdf(z, m, s) * (stats.norm.logpdf(x, t * z, 1) + stats.norm.logpdf(z)),
            m - 12 * s, m + 12 * s)[0]
        best = optimize.minimize_scalar(lambda t: -ecll(t), bounds=(-20, 20), method="bounded",
                                        options={"xatol": 1e-10}).x
        assert math.isclose(best, float(formula.subs({Q3_M: m, Q3_S2: s2})), rel_tol=1e-6, abs_tol=1e-8)
    # the counterexample and the posterior at theta_ML both sit on theta_q = theta_ML, with different (m, s^2)
    for q in (q2_counterexample_q(), q2_posterior_at_ml()):
        assert sp.simplify(formula.subs({Q3_M: q["m"], Q3_S2: q["s2"]}) - q2_theta_ml()) == 0
    assert q2_counterexample_q() != q2_posterior_at_ml()


@checks("3.2")
def test_q3_2_amortised_divergence_is_larger_as_in_h2021():
    h2021.test_q2_poisson_elbo_closed_form_against_quadrature()
    h2021.test_q2_instance_fits_are_maxima_of_their_elbo()
    h2021.test_q2_encoder_is_a_stationary_point_of_the_total_elbo()
    h2021.test_q2_gap_table_kl_by_direct_quadrature_and_the_amortisation_gap()
    h2021.test_q2_no_encoder_beats_the_instance_wise_optimum()
    h2021.test_q2_larger_divergence_by_direct_quadrature()
    assert q2_counts() == [0, 1, 4, 12]


@checks("3.3")
def test_q3_3_bias_and_storage_as_in_h2021():
    h2021.test_q2_mean_bias_and_parameter_counts()


@checks("3.1")
def test_q3_1_ecll_is_log_evidence_minus_kl_minus_entropy():
    """E_q[log p(x, z)] = log p(x) - KL(q || p(z|x)) - H[q], on random Gaussian models and proposals."""
    rng = np.random.default_rng(21)
    for _ in range(5):
        x, m, s, prior_var = rng.normal() * 2, rng.normal(), rng.uniform(0.3, 2), rng.uniform(0.5, 2)
        log_joint = lambda z: stats.norm.logpdf(z, 0, math.sqrt(prior_var)) + stats.norm.logpdf(x, z, 1)  # noqa: E731
        ecll = integrate.quad(lambda z: stats.norm.pdf(z, m, s) * log_joint(z), -40, 40)[0]
        log_px = stats.norm.logpdf(x, 0, math.sqrt(prior_var + 1))
        post_var = prior_var / (prior_var + 1)
        post_mean = post_var * x
        kl = math.log(math.sqrt(post_var) / s) + (s ** 2 + (m - post_mean) ** 2) / (2 * post_var) - 0.5
        entropy = 0.5 * math.log(2 * math.pi * math.e * s ** 2)
        assert math.isclose(ecll, log_px - kl - entropy, rel_tol=1e-8)
        assert not math.isclose(ecll, log_px - kl + entropy, rel_tol=1e-3)  # the sign matters


# ================================================================================================
# Question 4: the importance-weighted bound as an ELBO with a refined proposal
# ================================================================================================
# Model: p(z) = N(0, 1), p(x | z) = N(x; z, 1), observed x = 2; proposal q(z | x) = N(1/2, 1).

Q4_X, Q4_M, Q4_S = 2, Fraction(1, 2), 1
Q4_KS = (1, 2, 5, 20)


@value
def q4_model():
    """The givens of the test model."""
    return {"x": Q4_X, "m": Q4_M, "s": Q4_S}


def _log_joint(z, x=Q4_X):
    return stats.norm.logpdf(z) + stats.norm.logpdf(x, z, 1.0)


def _log_q(z, m=Q4_M, s=Q4_S):
    return stats.norm.logpdf(z, float(m), float(s))


@value
def q4_log_evidence():
    """log p(x) exactly: x ~ N(0, 2) marginally."""
    x = sp.Integer(Q4_X)
    return sp.simplify(sp.log(sp.exp(-x ** 2 / 4) / sp.sqrt(4 * sp.pi)))


@value
def q4_posterior():
    """The exact posterior p(z | x) = N(x/2, 1/2): mean and variance."""
    return {"mean": sp.Rational(Q4_X, 2), "var": sp.Rational(1, 2)}


@value
def q4_kl_q_posterior():
    """KL(q || p(z|x)) between two normals, exactly."""
    m, s2 = sp.Rational(Q4_M.numerator, Q4_M.denominator), sp.Integer(Q4_S) ** 2
    pm, pv = q4_posterior()["mean"], q4_posterior()["var"]
    return sp.simplify(sp.log(sp.sqrt(pv) / sp.sqrt(s2)) + (s2 + (m - pm) ** 2) / (2 * pv) - sp.Rational(1, 2))


@value
def q4_elbo():
    """L_1[q] = log p(x) - KL(q || p(z|x)), exactly."""
    return sp.simplify(q4_log_evidence() - q4_kl_q_posterior())


class _Laplace:
    """L_K[q] and q_K(z) as one-dimensional integrals, for any K.

    With w = p(x, z) / q(z) (scaled by p(x)) and phi(t) = E_q[exp(-t w)]:
    E log sum_j w_j = int_0^inf (exp(-t) - phi(t)^K) dt / t   (Frullani), and
    q_K(z) = K q(z) w(z) E[1 / (w(z) + w_2 + ... + w_K)] = K q(z) w(z) int_0^inf exp(-t w(z)) phi(t)^(K-1) dt.
    The t-integrals run over u = log t on a fine grid; phi by Gauss-Hermite quadrature under q.
    """

    def __init__(self, x=Q4_X, m=Q4_M, s=Q4_S):
        self.x, self.m, self.s = x, float(m), float(s)
        self.log_px = stats.norm.logpdf(x, 0.0, math.sqrt(2.0))
        nodes, weights = np.polynomial.hermite_e.hermegauss(200)
        self.gh_w = weights / math.sqrt(2 * math.pi)
        self.gh_wq = self.w(self.m + self.s * nodes)
        self.u = np.linspace(-15.0, 45.0, 6001)
        self.t = np.exp(self.u)
        self.phi = np.exp(-np.outer(self.t, self.gh_wq)) @ self.gh_w

    def w(self, z):
        return np.exp(_log_joint(z, self.x) - _log_q(z, self.m, self.s) - self.log_px)

    def bound(self, k):
        return integrate.trapezoid(np.exp(-self.t) - self.phi ** k, self.u) - math.log(k) + self.log_px

    def q_k(self, z, k):
        wz = self.w(np.asarray(z, dtype=float))
        inner = integrate.trapezoid(self.t * np.exp(-np.outer(wz, self.t)) * self.phi ** (k - 1), self.u, axis=1)
        return k * np.exp(_log_q(z, self.m, self.s)) * wz * inner


Q4_ZGRID = np.linspace(-6.0, 7.0, 1301)


def _elbo_of_density(density, zgrid=Q4_ZGRID, x=Q4_X):
    """L_1[q'] = int q' log(p(x, z) / q') dz for a density given on a grid (trapezoid)."""
    safe = np.maximum(density, 1e-300)
    return integrate.trapezoid(np.where(density > 0, density * (_log_joint(zgrid, x) - np.log(safe)), 0.0), zgrid)


@value
def q4_table():
    """For K in (1, 2, 5, 20): L_K[q], L_1[q_K] and the mass of q_K (all from the Laplace integrals)."""
    lap = _Laplace()
    rows = []
    for k in Q4_KS:
        qk = lap.q_k(Q4_ZGRID, k)
        rows.append({"K": k, "LK": lap.bound(k), "L1qK": _elbo_of_density(qk),
                     "mass": integrate.trapezoid(qk, Q4_ZGRID)})
    return rows


@value
def q4_curves():
    """q, q_2, q_5 and the posterior on [-3, 4], for the figure."""
    lap = _Laplace()
    z = np.linspace(-3.0, 4.0, 71)
    post = stats.norm.pdf(z, 1.0, math.sqrt(0.5))
    return {"q": np.column_stack([z, lap.q_k(z, 1)]), "q2": np.column_stack([z, lap.q_k(z, 2)]),
            "q5": np.column_stack([z, lap.q_k(z, 5)]), "post": np.column_stack([z, post])}


@value
def q4_qtilde_mass_example():
    """q~(z | x, z_2) for K = 2 and z_2 = 0 is not normalised: its integral over z."""
    w2 = math.exp(_log_joint(0.0) - _log_q(0.0))

    def qtilde(z):
        return math.exp(_log_joint(z)) / (0.5 * (math.exp(_log_joint(z) - _log_q(z)) + w2))

    return integrate.quad(qtilde, -np.inf, np.inf)[0]


def test_q4_exact_quantities_by_quadrature():
    evidence = integrate.quad(lambda z: math.exp(_log_joint(z)), -np.inf, np.inf)[0]
    assert math.isclose(float(q4_log_evidence()), math.log(evidence), rel_tol=1e-10)
    elbo = integrate.quad(lambda z: math.exp(_log_q(z)) * (_log_joint(z) - _log_q(z)), -30, 30)[0]
    assert math.isclose(float(q4_elbo()), elbo, rel_tol=1e-10)
    post = q4_posterior()
    mean = integrate.quad(lambda z: z * math.exp(_log_joint(z)) / evidence, -np.inf, np.inf)[0]
    var = integrate.quad(lambda z: (z - mean) ** 2 * math.exp(_log_joint(z)) / evidence, -np.inf, np.inf)[0]
    assert math.isclose(float(post["mean"]), mean, rel_tol=1e-9) and math.isclose(float(post["var"]), var, rel_tol=1e-9)
    kl = integrate.quad(lambda z: math.exp(_log_q(z)) * (_log_q(z) - stats.norm.logpdf(z, mean, math.sqrt(var))),
                        -30, 30)[0]
    assert math.isclose(float(q4_kl_q_posterior()), kl, rel_tol=1e-9)
    assert q4_model() == {"x": 2, "m": Fraction(1, 2), "s": 1}


def test_q4_bounds_match_monte_carlo():
    """L_K by plain Monte Carlo (fixed seed, 200 000 draws of z_1..z_K), within 5 standard errors."""
    rng = np.random.default_rng(7)
    table = {row["K"]: row for row in q4_table()}
    assert math.isclose(table[1]["LK"], float(q4_elbo()), abs_tol=1e-6)
    for k in (2, 5, 20):
        z = rng.normal(float(Q4_M), Q4_S, size=(200_000, k))
        est = special.logsumexp(_log_joint(z) - _log_q(z), axis=1) - math.log(k)
        assert abs(est.mean() - table[k]["LK"]) < 5 * est.std() / math.sqrt(len(est))


def test_q4_l2_by_two_dimensional_quadrature():
    """K = 2 by tensor Gauss-Hermite quadrature over (z_1, z_2): no Laplace transform involved."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(120)
    weights = weights / math.sqrt(2 * math.pi)
    z = float(Q4_M) + Q4_S * nodes
    lw = _log_joint(z) - _log_q(z)
    inner = np.logaddexp.outer(lw, lw) - math.log(2)
    assert math.isclose(weights @ inner @ weights, q4_table()[1]["LK"], abs_tol=1e-6)


def _qtilde(zs, others, k):
    """The unnormalised refined proposal q~(z | x, z_2..z_K): rows z in `zs`, columns the rows
    (z_2..z_K) of `others`; the weights are combined in log space."""
    zs = np.atleast_1d(np.asarray(zs, dtype=float))
    lw = _log_joint(zs) - _log_q(zs)
    lw_others = special.logsumexp(_log_joint(others) - _log_q(others), axis=1)
    log_mean = np.logaddexp.outer(lw, lw_others) - math.log(k)
    return np.exp(_log_joint(zs)[:, None] - log_mean)


def test_q4_1_average_elbo_of_qtilde_equals_lk():
    """Q4.1 numerically: E_{z_2:K} L_1[q~] equals L_K, with L_1[q~] = int q~ log(p/q~) by quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / math.sqrt(2 * math.pi)
    z2s = float(Q4_M) + Q4_S * nodes
    zgrid = np.linspace(-8, 9, 1701)
    qt = _qtilde(zgrid, z2s[:, None], 2)  # rows z, columns z_2
    l1 = integrate.trapezoid(qt * (_log_joint(zgrid)[:, None] - np.log(qt)), zgrid, axis=0)
    assert math.isclose(weights @ l1, q4_table()[1]["LK"], abs_tol=1e-6)
    # K = 5 with Monte Carlo over z_2..z_5 (fixed seed); 3 standard errors
    rng = np.random.default_rng(8)
    others = rng.normal(float(Q4_M), Q4_S, size=(4000, 4))
    qt = _qtilde(zgrid, others, 5)
    l1 = integrate.trapezoid(qt * (_log_joint(zgrid)[:, None] - np.log(qt)), zgrid, axis=0)
    assert abs(l1.mean() - q4_table()[2]["LK"]) < 3 * l1.std() / math.sqrt(len(l1))


def test_q4_2_qk_is_a_density_and_the_chain_of_bounds_holds():
    table = q4_table()
    for row in table:
        assert abs(row["mass"] - 1) < 1e-4
    l1, log_px = float(q4_elbo()), float(q4_log_evidence())
    for row in table[1:]:
        assert l1 < row["LK"] < row["L1qK"] < log_px
    for before, after in zip(table, table[1:]):  # both bounds improve with K
        assert before["LK"] < after["LK"] and before["L1qK"] < after["L1qK"]
    assert math.isclose(table[0]["L1qK"], l1, abs_tol=1e-5)  # q_1 = q


def test_q4_2_qk_matches_direct_averages_of_qtilde():
    """q_K(z) = E[q~(z | ...)] estimated independently: nested quadrature (K = 2) and Monte Carlo (K = 5)."""
    lap = _Laplace()
    zs = np.linspace(-2, 4, 13)
    nodes, weights = np.polynomial.hermite_e.hermegauss(150)
    z2s = float(Q4_M) + Q4_S * nodes
    direct2 = _qtilde(zs, z2s[:, None], 2) @ weights / math.sqrt(2 * math.pi)
    assert np.allclose(lap.q_k(zs, 2), direct2, rtol=1e-6, atol=1e-9)
    rng = np.random.default_rng(9)
    others = rng.normal(float(Q4_M), Q4_S, size=(100_000, 4))
    direct5 = _qtilde(zs, others, 5).mean(axis=1)
    assert np.allclose(lap.q_k(zs, 5), direct5, rtol=5e-3, atol=1e-4)
    # and L_1[q_2] from the nested-quadrature density on the grid
    dens = _qtilde(Q4_ZGRID, z2s[:, None], 2) @ weights / math.sqrt(2 * math.pi)
    assert math.isclose(_elbo_of_density(dens), q4_table()[1]["L1qK"], abs_tol=1e-5)
    assert math.isclose(integrate.trapezoid(dens, Q4_ZGRID), 1.0, abs_tol=1e-6)


@checks("4.2")
def test_q4_chain_on_random_models():
    """The chain L_1 <= L_K <= L_1[q_K] <= log p(x) on random observations and proposals (K = 3)."""
    rng = np.random.default_rng(10)
    for _ in range(4):
        x, m, s = rng.uniform(-3, 3), rng.uniform(-1, 2), rng.uniform(0.8, 1.3)
        lap = _Laplace(x, m, s)
        l1 = integrate.quad(lambda z: math.exp(_log_q(z, m, s)) * (_log_joint(z, x) - _log_q(z, m, s)), -40, 40)[0]
        qk = lap.q_k(Q4_ZGRID, 3)
        assert abs(integrate.trapezoid(qk, Q4_ZGRID) - 1) < 1e-4
        assert l1 <= lap.bound(3) <= _elbo_of_density(qk, x=x) <= lap.log_px


def test_q4_qtilde_is_not_normalised_but_the_curves_are_densities():
    assert abs(q4_qtilde_mass_example() - 1) > 0.01
    curves = q4_curves()
    for key in ("q", "q2", "q5", "post"):
        assert curves[key].shape == (71, 2) and (curves[key][:, 1] >= 0).all()
    assert np.allclose(curves["q"][:, 1], stats.norm.pdf(curves["q"][:, 0], 0.5, 1.0), atol=1e-6)
    # q_5 is closer to the posterior than q_2, which is closer than q (sup distance on the grid)
    gap = {key: np.abs(curves[key][:, 1] - curves["post"][:, 1]).max() for key in ("q", "q2", "q5")}
    assert gap["q5"] < gap["q2"] < gap["q"]


def _weight_sum_distribution(count, h=2e-4, nodes=200):
    """The law of w_1 + ... + w_count for iid z_j ~ q and w = p(x, z) / q(z), on the grid s = h n.

    An independent route to the bounds: the law of one weight is taken from Gauss-Hermite quadrature
    under q (`nodes` atoms), each atom split between its two neighbouring grid points so that mass and
    mean are kept (the error in E f(S) is at most h^2 max|f''| / 8 per atom), and the count-fold sum by
    one FFT power of the grid law. No Laplace transform and no Frullani integral involved."""
    x, weights = np.polynomial.hermite_e.hermegauss(nodes)
    z = float(Q4_M) + Q4_S * x
    w = np.exp(_log_joint(z) - _log_q(z))
    lo = np.floor(w / h).astype(int)
    frac = w / h - lo
    size = count * (lo.max() + 2)
    one = np.zeros(size)
    np.add.at(one, lo, weights / math.sqrt(2 * math.pi) * (1 - frac))
    np.add.at(one, lo + 1, weights / math.sqrt(2 * math.pi) * frac)
    law = np.fft.irfft(np.fft.rfft(one) ** count, size)
    return h * np.arange(size), law


def _q_k_by_weight_sums(zs, k):
    """q_K(z) = K p(x, z) E[1 / (w(z) + S_{K-1})], the expectation over the grid law of S_{K-1}."""
    s, law = _weight_sum_distribution(k - 1)
    wz = np.exp(_log_joint(zs) - _log_q(zs))
    return k * np.exp(_log_joint(zs)) * np.array([law @ (1 / (a + s)) for a in wz])


def test_q4_table_and_curves_entrywise_by_the_law_of_the_weight_sum():
    """K = 5 and K = 20 rows of the table and the q_5 curve from the law of the weight sum:
    L_K = E log(S_K / K) and q_K as above, L_1[q_K] on a wider, finer grid than the table's.
    Tolerances: 2e-5 for the bounds (the Laplace integrals' own grid error reaches 2e-5 at K = 20;
    half a printed unit is 5e-5), 5e-6 for the density curves (their own error is about 1e-6)."""
    table = {row["K"]: row for row in q4_table()}
    zgrid = np.linspace(-8.0, 9.0, 1701)
    for k in (5, 20):
        s, law = _weight_sum_distribution(k)
        positive = s > 0
        assert abs(law[~positive].sum()) < 1e-12  # S_K = 0 has no mass (up to FFT round-off)
        assert math.isclose(law[positive] @ np.log(s[positive] / k), table[k]["LK"], abs_tol=2e-5), k
        density = _q_k_by_weight_sums(zgrid, k)
        assert math.isclose(_elbo_of_density(density, zgrid), table[k]["L1qK"], abs_tol=3e-5), k
        assert math.isclose(integrate.trapezoid(density, zgrid), table[k]["mass"], abs_tol=2e-5), k
    curves = q4_curves()
    z = np.linspace(-3.0, 4.0, 71)
    for key in ("q", "q2", "q5", "post"):
        assert np.array_equal(curves[key][:, 0], z)
    assert np.allclose(curves["q5"][:, 1], _q_k_by_weight_sums(z, 5), rtol=0, atol=5e-6)
    # q_2 by nested Gauss-Hermite quadrature over z_2 (150 nodes)
    nodes, weights = np.polynomial.hermite_e.hermegauss(150)
    direct2 = _qtilde(z, (float(Q4_M) + Q4_S * nodes)[:, None], 2) @ weights / math.sqrt(2 * math.pi)
    assert np.allclose(curves["q2"][:, 1], direct2, rtol=0, atol=5e-6)
    # the posterior by Bayes' rule, the evidence by adaptive quadrature
    evidence = integrate.quad(lambda t: math.exp(_log_joint(t)), -np.inf, np.inf)[0]
    assert np.allclose(curves["post"][:, 1], np.exp(_log_joint(z)) / evidence, rtol=0, atol=1e-12)


def test_q4_qtilde_mass_by_a_grid_in_log_space():
    """The mass of q~(z | x, z_2 = 0) for K = 2 again, by the trapezoid rule on [-30, 30] with the
    weights combined in log space (the value uses adaptive quadrature on the plain ratio); 1e-8."""
    zgrid = np.linspace(-30.0, 30.0, 24001)
    mass = integrate.trapezoid(_qtilde(zgrid, np.zeros((1, 1)), 2)[:, 0], zgrid)
    assert math.isclose(q4_qtilde_mass_example(), mass, abs_tol=1e-8)


# ================================================================================================
# Question 5: invertibility of flows
# ================================================================================================


Q5_RELU_EXAMPLE = (2, 1, -1)  # the instance (a, b, c) chosen for the example of Q5.1


@value
def q5_relu_collision():
    """g(z) = a ReLU(b z + c) with a = 2, b = 1, c = -1: two inputs with the same output."""
    a, b, c = Q5_RELU_EXAMPLE
    z1, z2 = Fraction(-c - 1, b), Fraction(-c - 2, b)
    return {"a": a, "b": b, "c": c, "z1": z1, "z2": z2, "g": a * max(0, b * z1 + c)}


def test_q5_1_collision_and_random_draws():
    col = q5_relu_collision()

    def g(z, a, b, c):
        return a * max(0.0, b * z + c)

    assert col["z1"] != col["z2"]
    assert g(col["z1"], col["a"], col["b"], col["c"]) == g(col["z2"], col["a"], col["b"], col["c"]) == col["g"]
    # the printed instance is the chosen one (givens of the example, not results) ...
    assert (col["a"], col["b"], col["c"]) == Q5_RELU_EXAMPLE
    # ... and its two inputs are the ones the text derives, bz + c = -1 and bz + c = -2, solved by sympy
    z = sp.Symbol("z")
    for key, level in (("z1", -1), ("z2", -2)):
        (root,) = sp.solve(sp.Eq(col["b"] * z + col["c"], level), z)
        assert sp.Rational(col[key].numerator, col[key].denominator) == root, key
    rng = np.random.default_rng(11)
    for _ in range(1000):  # any parameters: z = (-c - 1)/b and (-c - 2)/b collide (b = 0: g is constant)
        a, b, c = rng.normal(size=3)
        z1, z2 = (-c - 1) / b, (-c - 2) / b
        assert g(z1, a, b, c) == g(z2, a, b, c) == 0.0


def _q5_2_parts(z, w, a, b):
    """s = sum_i w_i sigma(a_i z + b_i) and 1 - s = sum_i w_i sigma(-(a_i z + b_i)), both without cancellation."""
    pre = np.outer(a, z) + b[:, None]
    return pre, np.sum(w[:, None] * special.expit(pre), axis=0), np.sum(w[:, None] * special.expit(-pre), axis=0)


def _q5_2_g(z, w, a, b):
    _, s, one_minus_s = _q5_2_parts(z, w, a, b)
    return np.log(s) - np.log(one_minus_s)  # sigma^{-1}(s) = log(s / (1 - s))


def _q5_2_slope(z, w, a, b):
    """The analytic derivative: sum_i w_i a_i sigma'(a_i z + b_i) / (s (1 - s))."""
    pre, s, one_minus_s = _q5_2_parts(z, w, a, b)
    num = np.sum((w * a)[:, None] * special.expit(pre) * special.expit(-pre), axis=0)
    return num / (s * one_minus_s)


@value
def q5_monotone_check():
    """Random parameter draws (N from 1 to 6, w on the simplex, a > 0, b any): the smallest value of
    g'(z) / (min_i a_i) found on a grid of z; positive means g increases everywhere we looked."""
    rng = np.random.default_rng(12)
    z = np.linspace(-8, 8, 321)
    positive = 0
    for _ in range(500):
        n = int(rng.integers(1, 7))
        w = rng.dirichlet(np.ones(n))
        a, b = rng.lognormal(0, 1, size=n), rng.normal(0, 3, size=n)
        positive += int((_q5_2_slope(z, w, a, b) > 0).sum())
    return {"draws": 500, "points": len(z), "positive": positive}


@value
def q5_sigmoid_flow_derivative():
    """g'(z) for N = 2 as sympy differentiates it, simplified, to compare with the derived formula."""
    z = sp.Symbol("z", real=True)
    w1, a1, a2 = sp.symbols("w_1 a_1 a_2", positive=True)
    b1, b2 = sp.symbols("b_1 b_2", real=True)
    sig = lambda u: 1 / (1 + sp.exp(-u))  # noqa: E731
    s = w1 * sig(a1 * z + b1) + (1 - w1) * sig(a2 * z + b2)
    return sp.diff(sp.log(s / (1 - s)), z)


def test_q5_2_derivative_formula_and_monotonicity():
    # the derived formula equals sympy's derivative at random points
    expr = q5_sigmoid_flow_derivative()
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    f = sp.lambdify(syms, expr)
    rng = np.random.default_rng(13)
    for _ in range(20):
        a1, a2, b1, b2, w1, z = rng.uniform(0.1, 3), rng.uniform(0.1, 3), rng.normal(), rng.normal(), \
            rng.uniform(0.05, 0.95), rng.normal() * 2
        vals = dict(a_1=a1, a_2=a2, b_1=b1, b_2=b2, w_1=w1, z=z)
        ours = _q5_2_slope(np.array([z]), np.array([w1, 1 - w1]), np.array([a1, a2]), np.array([b1, b2]))[0]
        assert math.isclose(f(*[vals[s.name] for s in syms]), ours, rel_tol=1e-9)
    # finite differences and the values of g themselves, on fresh random draws
    check = q5_monotone_check()
    assert check["positive"] == check["draws"] * check["points"] and check["draws"] == 500 and check["points"] == 321
    for _ in range(300):
        n = int(rng.integers(1, 7))
        w = rng.dirichlet(np.ones(n))
        a, b = rng.lognormal(0, 1, size=n), rng.normal(0, 3, size=n)
        z = np.linspace(-6, 6, 241)
        gz = _q5_2_g(z, w, a, b)
        assert (np.diff(gz) > 0).all()
        h = 1e-5
        fd = (_q5_2_g(z + h, w, a, b) - _q5_2_g(z - h, w, a, b)) / (2 * h)
        assert np.allclose(fd, _q5_2_slope(z, w, a, b), rtol=1e-4, atol=1e-8)
    # the range is all of R: g -> -inf and +inf at the ends
    w, a, b = np.array([0.3, 0.7]), np.array([1.0, 2.0]), np.array([0.0, 1.0])
    assert _q5_2_g(np.array([-30.0]), w, a, b)[0] < -25 and _q5_2_g(np.array([30.0]), w, a, b)[0] > 25


@checks("5.3")
def test_q5_3_residual_examples():
    z = np.linspace(-50, 50, 2001)
    g = z + (np.arctan(z) - z)  # f' = 1/(1+z^2) - 1 > -1: increasing, but bounded by pi/2
    assert (np.diff(g) > 0).all() and np.abs(g).max() < math.pi / 2
    g2 = z - 2 * np.sin(z)  # f' = -2 cos z dips below -1: g is not monotone, so it collides
    assert (np.diff(g2) < 0).any()
    # an explicit collision of g2: three distinct roots of z - 2 sin z = 0, found by bisection
    from scipy.optimize import brentq
    target = 0.0
    roots = [brentq(lambda t: t - 2 * math.sin(t) - target, lo, hi) for lo, hi in ((-3, -1), (-0.5, 0.5), (1, 3))]
    assert len({round(r, 6) for r in roots}) == 3


# --- Q5.4: the radial flow ----------------------------------------------------------------------

def _radial(z, z0, alpha, beta):
    d = z - z0
    r = np.linalg.norm(d, axis=-1, keepdims=True)
    return z + beta / (alpha + r) * d


def _radial_inverse(y, z0, alpha, beta):
    """r from the quadratic r^2 + (alpha + beta - R) r - alpha R = 0 (its non-negative root), then
    z = z0 + (y - z0) (alpha + r) / (alpha + r + beta)."""
    d = y - z0
    big_r = np.linalg.norm(d, axis=-1, keepdims=True)
    p = big_r - alpha - beta
    r = 0.5 * (p + np.sqrt(p * p + 4 * alpha * big_r))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(big_r > 0, (alpha + r) / (alpha + r + beta), 1.0)
    return z0 + d * scale


@value
def q5_radial_r_formula():
    """The unique r >= 0 with r (1 + beta/(alpha + r)) = R, for beta >= -alpha."""
    r, big_r = sp.symbols("r R", nonnegative=True)
    alpha = sp.Symbol("alpha", positive=True)
    beta = sp.Symbol("beta", real=True)
    p = big_r - alpha - beta
    return sp.Mul(sp.Rational(1, 2), p + sp.sqrt(p ** 2 + 4 * alpha * big_r), evaluate=False)


@value
def q5_radial_det():
    """det J of the radial flow in R^D: (1 + beta h)^(D-1) (1 + beta h + beta h'(r) r)."""
    r, alpha = sp.Symbol("r", nonnegative=True), sp.Symbol("alpha", positive=True)
    beta, dim = sp.Symbol("beta", real=True), sp.Symbol("D", integer=True, positive=True)
    h = 1 / (alpha + r)
    return (1 + beta * h) ** (dim - 1) * (1 + sp.factor(beta * h + beta * sp.diff(h, r) * r))


Q5_ROUNDTRIP_DRAWS, Q5_ROUNDTRIP_BATCH = 200, 50  # the design of the experiment: draws, points z (and y) per draw


@value
def q5_radial_roundtrip():
    """The inverse on random points: largest |g^{-1}(g(z)) - z| and |g(g^{-1}(y)) - y| over random
    draws of D, z0, alpha > 0 and beta >= -alpha (including the boundary beta = -alpha), and the
    bound the text prints: the smallest power of ten above both (its exponent, `decade`)."""
    rng = np.random.default_rng(14)
    worst, worst_boundary, count, draws = 0.0, 0.0, 0, 0
    for trial in range(Q5_ROUNDTRIP_DRAWS):
        dim = int(rng.integers(1, 6))
        z0, alpha = rng.normal(size=dim), rng.lognormal(0, 1)
        boundary = trial % 4 == 0
        beta = -alpha if boundary else -alpha + rng.lognormal(0, 1.5) * rng.choice([0.01, 1, 10])
        z = z0 + rng.normal(size=(Q5_ROUNDTRIP_BATCH, dim)) * rng.lognormal(0, 1)
        y = z0 + rng.normal(size=(Q5_ROUNDTRIP_BATCH, dim)) * rng.lognormal(0, 1)
        err = max(np.abs(_radial_inverse(_radial(z, z0, alpha, beta), z0, alpha, beta) - z).max() / (1 + np.abs(z).max()),
                  np.abs(_radial(_radial_inverse(y, z0, alpha, beta), z0, alpha, beta) - y).max() / (1 + np.abs(y).max()))
        count += len(z) + len(y)
        draws += 1
        if boundary:
            worst_boundary = max(worst_boundary, err)
        else:
            worst = max(worst, err)
    decade = math.floor(math.log10(max(worst, worst_boundary))) + 1
    return {"points": count, "draws": draws, "worst": worst, "worst_boundary": worst_boundary, "decade": decade}


@value
def q5_radial_collision():
    """beta < -alpha: alpha = 1, beta = -2, z0 = 0 in R^2, y = (1/10, 0) has three preimages."""
    r = sp.Symbol("r", positive=True)
    alpha, beta, big_r = 1, -2, sp.Rational(1, 10)
    rho = r * (alpha + beta + r) / (alpha + r)  # signed radius: y - z0 = rho(r) z~
    same = sp.solve(sp.Eq(rho, big_r), r)  # z~ = +y/|y|
    flipped = sp.solve(sp.Eq(rho, -big_r), r)  # z~ = -y/|y|
    points = [sp.Matrix([root, 0]) for root in same] + [sp.Matrix([-root, 0]) for root in flipped]
    return {"alpha": alpha, "beta": beta, "y": sp.Matrix([big_r, 0]), "R": big_r,
            "rs": sorted(same + flipped, key=float), "points": points,
            "firsts": [sp.together(v) for v in sorted((pt[0] for pt in points), key=float)]}


def test_q5_4_r_formula_solves_the_radius_equation():
    f = sp.lambdify(sorted(q5_radial_r_formula().free_symbols, key=lambda s: s.name), q5_radial_r_formula())
    rng = np.random.default_rng(15)
    for _ in range(500):
        alpha = rng.lognormal(0, 1)
        beta = -alpha + rng.lognormal(0, 1) * rng.choice([0, 1])
        big_r = rng.lognormal(0, 2)
        r = f(big_r, alpha, beta)  # arguments sorted by name: R, alpha, beta
        assert r >= 0 and math.isclose(r * (1 + beta / (alpha + r)), big_r, rel_tol=1e-9)
        # uniqueness: rho(r) = r (1 + beta/(alpha + r)) is strictly increasing on a fine grid
        grid = np.linspace(0, 5 * (big_r + alpha + abs(beta)), 2001)
        assert (np.diff(grid * (1 + beta / (alpha + grid))) > 0).all()


def test_q5_4_inverse_round_trips_on_random_points():
    rt = q5_radial_roundtrip()
    assert rt["draws"] == Q5_ROUNDTRIP_DRAWS  # a given of the experiment's design
    assert rt["points"] == 2 * Q5_ROUNDTRIP_BATCH * rt["draws"]  # z and y points of every draw
    # the printed bound 10^decade holds for both errors, is the tightest power of ten that does, and
    # is round-off: within a hundred units of double precision (eps = 2.2e-16)
    errors = (rt["worst"], rt["worst_boundary"])
    assert all(e < 10.0 ** rt["decade"] for e in errors) and max(errors) >= 10.0 ** (rt["decade"] - 1)
    assert 10.0 ** rt["decade"] <= 100 * np.finfo(float).eps
    # an independent inversion: solve g(z) = y with a numerical root finder on random instances
    from scipy.optimize import fsolve
    rng = np.random.default_rng(16)
    for _ in range(20):
        dim = 3
        z0, alpha = rng.normal(size=dim), rng.lognormal(0, 0.5)
        beta = -alpha + rng.lognormal(0, 1)
        y = z0 + rng.normal(size=dim)
        z = fsolve(lambda v: _radial(v, z0, alpha, beta) - y, y)
        assert np.allclose(_radial(z, z0, alpha, beta), y, atol=1e-9)
        assert np.allclose(z, _radial_inverse(y, z0, alpha, beta), atol=1e-7)


def test_q5_4_det_formula_against_finite_differences_and_the_boundary():
    expr = q5_radial_det()
    syms = {s.name: s for s in expr.free_symbols}
    rng = np.random.default_rng(17)
    for _ in range(30):
        dim = int(rng.integers(1, 5))
        z0, alpha = rng.normal(size=dim), rng.lognormal(0, 0.5)
        beta = -alpha + rng.lognormal(0, 1) - 0.5
        z = z0 + rng.normal(size=dim)
        h = 1e-6
        jac = np.column_stack([(_radial(z + h * e, z0, alpha, beta) - _radial(z - h * e, z0, alpha, beta)) / (2 * h)
                               for e in np.eye(dim)])
        r = np.linalg.norm(z - z0)
        ours = float(expr.subs({syms["r"]: r, syms["alpha"]: alpha, syms["beta"]: beta, syms["D"]: dim}))
        assert math.isclose(np.linalg.det(jac), ours, rel_tol=1e-5, abs_tol=1e-8)
    # at the boundary beta = -alpha the determinant vanishes at z0 (r = 0), and only there
    at_z0 = expr.subs({syms["beta"]: -syms["alpha"], syms["r"]: 0, syms["D"]: 2})
    assert sp.simplify(at_z0) == 0
    near = expr.subs({syms["beta"]: -1, syms["alpha"]: 1, syms["D"]: 2})
    assert all(float(near.subs(syms["r"], rv)) > 0 for rv in (1e-3, 0.5, 3, 100))


def test_q5_4_below_the_boundary_three_points_collide():
    col = q5_radial_collision()
    assert len(col["points"]) == 3 and len(set(col["rs"])) == 3 and col["R"] == sp.Rational(1, 10)
    assert sorted(col["firsts"], key=float) == col["firsts"] and len(set(col["firsts"])) == 3
    assert all(p[1] == 0 and any(sp.simplify(p[0] - f) == 0 for f in col["firsts"]) for p in col["points"])
    y = np.array([float(v) for v in col["y"]])
    for p in col["points"]:
        z = np.array([float(v) for v in p])
        assert np.allclose(_radial(z, np.zeros(2), col["alpha"], col["beta"]), y, atol=1e-12)
        # exactly, with sympy
        zz = sp.Matrix(p)
        r = sp.sqrt(zz.dot(zz))
        assert sp.simplify(zz + col["beta"] / (col["alpha"] + r) * zz - col["y"]) == sp.zeros(2, 1)
    # and the radius map is not monotone there: rho(r) = r(r - 1)/(r + 1) dips below zero
    grid = np.linspace(0, 3, 301)
    assert (grid * (grid - 1) / (grid + 1)).min() < -0.1


# ================================================================================================
# Question 6: simultaneous gradient descent-ascent on V(d, g) = d g
# ================================================================================================

ALPHA = sp.Symbol("alpha", positive=True)
Q6_ALPHA = Fraction(1, 5)
Q6_STEPS = 60


@value
def q6_update_matrix():
    """A with [d_{k+1}, g_{k+1}] = A [d_k, g_k]: d ascends (+alpha dV/dd = alpha g), g descends."""
    d, g = sp.symbols("d g", real=True)
    v = d * g
    new = sp.Matrix([d + ALPHA * sp.diff(v, d), g - ALPHA * sp.diff(v, g)])
    return new.jacobian(sp.Matrix([d, g]))


@value
def q6_fixed_points():
    """Solutions of A x = x (for alpha > 0) and of grad V = 0."""
    d, g = sp.symbols("d g", real=True)
    fixed = sp.solve(list((q6_update_matrix() - sp.eye(2)) * sp.Matrix([d, g])), [d, g], dict=True)
    stationary = sp.solve([sp.diff(d * g, d), sp.diff(d * g, g)], [d, g], dict=True)
    return {"map": [(s[d], s[g]) for s in fixed], "gradient": [(s[d], s[g]) for s in stationary]}


@value
def q6_eigenvalues():
    """The eigenvalues of A, exactly."""
    return sorted(q6_update_matrix().eigenvals(), key=lambda e: sp.im(e).subs(ALPHA, 1))


@value
def q6_ata_scale():
    """The common diagonal entry of A^T A."""
    return q6_ata()[0, 0]


@value
def q6_modulus():
    """|lambda| = sqrt(1 + alpha^2)."""
    return sp.simplify(sp.Abs(q6_eigenvalues()[0]))


@value
def q6_ata():
    """A^T A = (1 + alpha^2) I: A is a scaled rotation."""
    a = q6_update_matrix()
    return sp.simplify(a.T * a)


@value
def q6_hessian_eigenvalues():
    """The eigenvalues of the Hessian of V: the stationary point is a saddle."""
    d, g = sp.symbols("d g", real=True)
    return sorted(sp.hessian(d * g, (d, g)).eigenvals())


@value
def q6_run():
    """Iterate the map from (d_0, g_0) = (1, 0) with alpha = 1/5 (exact rationals)."""
    a = q6_update_matrix().subs(ALPHA, sp.Rational(Q6_ALPHA.numerator, Q6_ALPHA.denominator))
    x = sp.Matrix([1, 0])
    path = [x]
    for _ in range(Q6_STEPS):
        x = a * x
        path.append(x)
    return {"alpha": Q6_ALPHA, "steps": Q6_STEPS,
            "path": [(float(p[0]), float(p[1])) for p in path],
            "final_radius": float(sp.sqrt(path[-1].dot(path[-1]))),
            "growth": float(sp.sqrt(1 + sp.Rational(1, 25))),
            "turn_degrees": math.degrees(math.atan(float(Q6_ALPHA)))}


@value
def q6_circle():
    """The unit circle: the orbit of the continuous-time flow from (1, 0), for comparison."""
    t = np.linspace(0, 2 * math.pi, 121)
    return np.column_stack([np.cos(t), -np.sin(t)])


@value
def q6_alternating_matrix():
    """For comparison: alternating updates (d first, then g with the new d)."""
    d, g = sp.symbols("d g", real=True)
    d_new = d + ALPHA * g
    g_new = g - ALPHA * d_new
    return sp.Matrix([d_new, g_new]).jacobian(sp.Matrix([d, g]))


@value
def q6_alternating_det():
    return sp.simplify(q6_alternating_matrix().det())


def test_q6_update_matrix_from_finite_difference_gradients():
    a = q6_update_matrix()
    rng = np.random.default_rng(18)
    for _ in range(10):
        alpha, x = rng.uniform(0.01, 2), rng.normal(size=2)
        grad = numeric_gradient(lambda v: v[0] * v[1], x)  # (dV/dd, dV/dg)
        step = np.array([x[0] + alpha * grad[0], x[1] - alpha * grad[1]])
        assert np.allclose(np.array(a.subs(ALPHA, alpha), dtype=float) @ x, step, atol=1e-8)


def test_q6_fixed_point_eigenvalues_and_growth():
    assert q6_fixed_points() == {"map": [(0, 0)], "gradient": [(0, 0)]}
    rng = np.random.default_rng(19)
    for alpha in rng.uniform(0.01, 3, size=10):
        a = np.array(q6_update_matrix().subs(ALPHA, alpha), dtype=float)
        assert abs(np.linalg.det(a - np.eye(2))) > 0  # A - I invertible: (0, 0) is the only fixed point
        numeric = np.sort_complex(np.linalg.eigvals(a))
        ours = np.sort_complex(np.array([complex(e.subs(ALPHA, alpha)) for e in q6_eigenvalues()]))
        assert np.allclose(numeric, ours)
        assert math.isclose(abs(numeric[0]), float(q6_modulus().subs(ALPHA, alpha)), rel_tol=1e-12)
        assert np.allclose(a.T @ a, np.array(q6_ata().subs(ALPHA, alpha), dtype=float))
    assert [float(e) for e in q6_hessian_eigenvalues()] == [-1.0, 1.0]
    for alpha in (0.3, 1.7):
        a = np.array(q6_update_matrix().subs(ALPHA, alpha), dtype=float)
        lams = [complex(e.subs(ALPHA, alpha)) for e in q6_eigenvalues()]
        assert all(np.isclose(np.linalg.det(a - lam * np.eye(2)), 0) for lam in lams)
        assert lams[0].imag < 0 < lams[1].imag and lams[0] == lams[1].conjugate()  # printed in this order
        assert math.isclose(float(q6_ata_scale().subs(ALPHA, alpha)), np.linalg.norm(a, 2) ** 2)


def test_q6_iterates_spiral_out_at_the_predicted_rate():
    run = q6_run()
    alpha = float(run["alpha"])
    assert len(run["path"]) == run["steps"] + 1  # (d_0, g_0) and one point per printed step
    x = np.array([1.0, 0.0])
    a = np.array([[1, alpha], [-alpha, 1]])
    for k, point in enumerate(run["path"]):
        assert np.allclose(point, x)
        assert math.isclose(np.linalg.norm(x), (1 + alpha ** 2) ** (k / 2), rel_tol=1e-12)
        x = a @ x
    assert math.isclose(run["final_radius"], (1 + alpha ** 2) ** (run["steps"] / 2), rel_tol=1e-12)
    assert math.isclose(run["final_radius"], math.hypot(*run["path"][-1]), rel_tol=1e-12)
    assert math.isclose(run["growth"], math.hypot(1, alpha)) and run["final_radius"] > 3
    # the angle turned per step, measured on the iterates, is arctan(alpha) (clockwise)
    angles = np.unwrap(np.arctan2([p[1] for p in run["path"]], [p[0] for p in run["path"]]))
    assert np.allclose(-np.diff(angles), math.radians(run["turn_degrees"]))
    # the continuous flow (d' = g, g' = -d) keeps d^2 + g^2 fixed: the circle
    from scipy.integrate import solve_ivp
    sol = solve_ivp(lambda t, v: [v[1], -v[0]], (0, 2 * math.pi), [1.0, 0.0], rtol=1e-10, atol=1e-12,
                    t_eval=np.linspace(0, 2 * math.pi, 121))
    assert np.allclose(sol.y.T, q6_circle(), atol=1e-7)


def test_q6_closed_form_of_the_iterates():
    """d_k = rho^k (d0 cos k theta + g0 sin k theta), g_k = rho^k (g0 cos k theta - d0 sin k theta)."""
    rng = np.random.default_rng(20)
    for _ in range(5):
        alpha, x0 = rng.uniform(0.05, 1.5), rng.normal(size=2)
        a = np.array(q6_update_matrix().subs(ALPHA, alpha), dtype=float)
        rho, theta = math.sqrt(1 + alpha ** 2), math.atan(alpha)
        x = x0.copy()
        for k in range(30):
            closed = rho ** k * np.array([x0[0] * math.cos(k * theta) + x0[1] * math.sin(k * theta),
                                          x0[1] * math.cos(k * theta) - x0[0] * math.sin(k * theta)])
            assert np.allclose(x, closed, rtol=1e-10, atol=1e-12)
            x = a @ x


def test_q6_alternating_updates_stay_bounded():
    assert q6_alternating_det() == 1
    for alpha in np.linspace(0.05, 1.95, 20):  # |trace| < 2: a complex pair on the unit circle
        alt = np.array(q6_alternating_matrix().subs(ALPHA, alpha), dtype=float)
        assert abs(np.trace(alt)) < 2 and np.allclose(np.abs(np.linalg.eigvals(alt)), 1.0)
    alt = np.array(q6_alternating_matrix().subs(ALPHA, 2.5), dtype=float)
    assert np.abs(np.linalg.eigvals(alt)).max() > 1  # beyond alpha = 2 it diverges too
    a = np.array(q6_alternating_matrix().subs(ALPHA, 0.2), dtype=float)
    assert np.allclose(np.abs(np.linalg.eigvals(a)), 1.0)
    x, norms = np.array([1.0, 0.0]), []
    for _ in range(2000):
        x = a @ x
        norms.append(np.linalg.norm(x))
    assert max(norms) < 1.2 and min(norms) > 0.8


def test_q6_alternating_matrix_against_the_updates_and_the_hessian_numerically():
    """A_alt against the two updates applied one after the other (numpy), its determinant against
    numpy's; the Hessian's eigenvalues against numpy's, on a finite-difference Hessian of V = d g."""
    rng = np.random.default_rng(25)
    for alpha in rng.uniform(0.01, 3, size=5):
        x = rng.normal(size=2)
        d = x[0] + alpha * x[1]  # d ascends first ...
        g = x[1] - alpha * d  # ... then g descends with the new d
        alt = np.array(q6_alternating_matrix().subs(ALPHA, alpha), dtype=float)
        assert np.allclose(alt @ x, [d, g], atol=1e-12)
        assert math.isclose(float(q6_alternating_det().subs(ALPHA, alpha)), np.linalg.det(alt), rel_tol=1e-12)
    hessian = np.array([numeric_gradient(lambda v, i=i: numeric_gradient(lambda u: u[0] * u[1], v, h=1e-4)[i],
                                         rng.normal(size=2), h=1e-4) for i in range(2)])
    assert np.allclose(np.sort(np.linalg.eigvalsh((hessian + hessian.T) / 2)),
                       [float(e) for e in q6_hessian_eigenvalues()], atol=1e-6)
