"""Values and tests of chapter eth_dl_2020 (ETH Zurich, Deep Learning final exam, 3 Feb 2020).

Layout: one section per problem of the exam, values first, then the tests that check them
independently (finite differences, Monte Carlo, quadrature, brute-force constructions).
"""

import functools
import math
from fractions import Fraction

import numpy as np
import sympy as sp
from scipy import integrate, optimize, stats

from finite_differences import derivative, gradient as numeric_gradient
from solman import checks, tex, value

X_SYM = sp.Symbol("x", real=True)
ALPHA = sp.Symbol("alpha", positive=True)
D_SYM = sp.Symbol("d", positive=True, integer=True)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _matrix_symbol(name, rows=D_SYM, cols=D_SYM):
    """A matrix of symbolic size d named by its LaTeX, for answers written in matrix notation."""
    return sp.MatrixSymbol(name, rows, cols)


def _evaluate_matrix_expression(expression, numbers):
    """A sympy matrix expression evaluated with numpy, each MatrixSymbol (by its name) replaced by an array:
    a second, independent reading of a formula (sympy's own lambdify cannot take LaTeX names)."""
    if isinstance(expression, (sp.MatrixSymbol, sp.Symbol)):
        return np.asarray(numbers[expression.name], dtype=float)
    if isinstance(expression, sp.Transpose):
        return _evaluate_matrix_expression(expression.arg, numbers).T
    if isinstance(expression, sp.BlockMatrix):
        return np.block([[_evaluate_matrix_expression(b, numbers) for b in row] for row in expression.blocks.tolist()])
    if isinstance(expression, sp.HadamardProduct):
        return functools.reduce(np.multiply, (_evaluate_matrix_expression(a, numbers) for a in expression.args))
    if isinstance(expression, (sp.MatAdd, sp.Add)):
        return sum(_evaluate_matrix_expression(a, numbers) for a in expression.args)
    if isinstance(expression, (sp.MatMul, sp.Mul)):
        result = None
        for factor in expression.args:
            value_ = _evaluate_matrix_expression(factor, numbers)
            if result is None:
                result = value_
            elif np.ndim(result) == 2 and np.ndim(value_) == 2:
                result = result @ value_
            else:
                result = result * value_
        return result
    if isinstance(expression, sp.Pow):
        return _evaluate_matrix_expression(expression.base, numbers) ** float(expression.exp)
    if expression.is_number:
        return float(expression)
    raise TypeError(f"cannot evaluate {type(expression).__name__}")


# =============================================================================================
# Problem 1: feedforward networks and backpropagation
# =============================================================================================

# --- 1.1 activation functions ----------------------------------------------------------------


def _relu_expr():
    return sp.Max(0, X_SYM)


def _elu_expr():
    return sp.Piecewise((X_SYM, X_SYM > 0), (ALPHA * (sp.exp(X_SYM) - 1), True))


def _softplus_expr():
    return sp.log(1 + sp.exp(X_SYM))


@value
def relu_derivative():
    """ReLU'(x) away from the kink, by sympy, on each open half-line."""
    left = sp.diff(sp.Integer(0), X_SYM)
    right = sp.diff(X_SYM, X_SYM)
    return sp.Piecewise((left, X_SYM < 0), (right, X_SYM > 0))


@value
def relu_subdifferential():
    """The subdifferential of ReLU at 0: the interval between the one-sided derivatives."""
    return sp.Interval(sp.limit(sp.diff(sp.Integer(0), X_SYM), X_SYM, 0, "-"),
                       sp.limit(sp.diff(X_SYM, X_SYM), X_SYM, 0, "+"))


@value
def elu_derivative():
    """ELU'(x) away from the kink, each branch differentiated by sympy."""
    right = sp.diff(X_SYM, X_SYM)
    left = sp.diff(ALPHA * (sp.exp(X_SYM) - 1), X_SYM)
    return sp.Piecewise((right, X_SYM > 0), (left, X_SYM < 0))


@value
def elu_one_sided_derivatives():
    """The one-sided derivatives of ELU at 0: (left, right)."""
    left = sp.limit(sp.diff(ALPHA * (sp.exp(X_SYM) - 1), X_SYM), X_SYM, 0, "-")
    right = sp.limit(sp.diff(X_SYM, X_SYM), X_SYM, 0, "+")
    return (left, right)


@value
def elu_subdifferential():
    """The subdifferential of ELU at 0 (ELU is convex for 0 < alpha <= 1): [alpha, 1]."""
    left, right = elu_one_sided_derivatives()
    return sp.Interval(left, right)


@value
def softplus_derivative():
    """softplus'(x), by sympy."""
    return sp.simplify(sp.diff(_softplus_expr(), X_SYM))


@value
def softplus_derivative_as_sigmoid():
    """The same derivative written as the logistic sigmoid."""
    return 1 / (1 + sp.exp(-X_SYM))


@value
def relu_via_abs():
    """ReLU(x) = (x + |x|)/2."""
    return sp.Mul(sp.Rational(1, 2), X_SYM + sp.Abs(X_SYM), evaluate=False)


@value
def abs_via_relu():
    """|x| = ReLU(x) + ReLU(-x)."""
    return sp.Max(0, X_SYM) + sp.Max(0, -X_SYM)


@value
def abs_via_relu_alternative():
    """|x| = 2 ReLU(x) - x."""
    return 2 * sp.Max(0, X_SYM) - X_SYM


@value
def abs_net_shapes():
    """Shapes of the given network F(x) = W2 |W1 x + b1|."""
    d = D_SYM
    return {"W1": (d, d), "b1": (d, 1), "W2": (d, d)}


@value
def relu_net_shapes():
    """Shapes of the equivalent ReLU network: W1' = [W1; -W1], b1' = [b1; -b1], W2' = [W2, W2]."""
    d = D_SYM
    return {"W1": (2 * d, d), "b1": (2 * d, 1), "W2": (d, 2 * d)}


@value
def abs_net_param_count():
    return sp.expand(sum(rows * cols for rows, cols in abs_net_shapes().values()))


@value
def relu_net_param_count():
    return sp.expand(sum(rows * cols for rows, cols in relu_net_shapes().values()))


@value
def one_unit_relu_best_error():
    """The best sup-norm error on [-1, 1] of w ReLU(a x + b) + c as an approximation of |x|.

    A single ReLU unit is affine on each side of its kink and constant on one side, so it cannot
    be |x|; the best such unit misses by a fixed amount (found by a grid search over the kink and
    a linear programme for the rest).
    """
    grid = np.linspace(-1, 1, 201)
    target = np.abs(grid)
    best = math.inf
    for kink in np.linspace(-1, 1, 41):
        for side in (1.0, -1.0):  # ReLU(x - kink) or ReLU(kink - x)
            feature = np.maximum(0.0, side * (grid - kink))
            # minimise t subject to |w feature + c - target| <= t, variables (w, c, t)
            a_ub = np.block([[feature[:, None], np.ones((grid.size, 1)), -np.ones((grid.size, 1))],
                             [-feature[:, None], -np.ones((grid.size, 1)), -np.ones((grid.size, 1))]])
            b_ub = np.concatenate([target, -target])
            result = optimize.linprog([0, 0, 1], A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * 3,
                                      method="highs")
            best = min(best, result.fun)
    return float(best)


@value
def activation_derivatives():
    """The key of 1.1a: ReLU', the subdifferential of ReLU at 0, ELU', that of ELU at 0, and softplus' (as the
    logistic sigmoid), in that order."""
    return (relu_derivative(), relu_subdifferential(), elu_derivative(), elu_subdifferential(),
            softplus_derivative_as_sigmoid())


@value
def relu_net_construction():
    """The key of 1.1c: W1' = [W1; -W1], b1' = [b1; -b1], W2' = [W2, W2], as block matrices (their shapes are
    the dimensions the question asks for)."""
    w1, b1, w2 = (_matrix_symbol(r"\mathbf{W}_1"), _matrix_symbol(r"\mathbf{b}_1", D_SYM, 1),
                  _matrix_symbol(r"\mathbf{W}_2"))
    return (sp.BlockMatrix([[w1], [-w1]]), sp.BlockMatrix([[b1], [-b1]]), sp.BlockMatrix([[w2, w2]]))


@checks("1.1a")
def test_relu_and_elu_derivatives_match_finite_differences_off_the_kink():
    rng = np.random.default_rng(11)
    relu_prime = sp.lambdify(X_SYM, relu_derivative(), "numpy")
    for _ in range(50):
        x = rng.uniform(-4, 4)
        alpha = rng.uniform(0.05, 1.0)
        elu = lambda t, a=alpha: t if t > 0 else a * (math.exp(t) - 1)  # noqa: E731
        elu_prime = float(elu_derivative().subs({ALPHA: alpha, X_SYM: x}))
        assert math.isclose(float(relu_prime(x)), derivative(lambda t: max(0.0, t), x), abs_tol=1e-6)
        assert math.isclose(elu_prime, derivative(elu, x), rel_tol=1e-6, abs_tol=1e-8)


def test_softplus_derivative_is_the_logistic_sigmoid_and_matches_finite_differences():
    for x in np.linspace(-6, 6, 25):
        numeric = derivative(lambda t: math.log1p(math.exp(t)), x)
        assert math.isclose(float(softplus_derivative().subs(X_SYM, x)), numeric, rel_tol=1e-7)
        assert math.isclose(float(softplus_derivative_as_sigmoid().subs(X_SYM, x)), numeric, rel_tol=1e-7)


def test_one_sided_quotients_at_the_kink_are_the_ends_of_the_subdifferentials():
    for alpha in (0.1, 0.5, 1.0):
        elu = lambda t, a=alpha: t if t > 0 else a * (math.exp(t) - 1)  # noqa: E731
        for h in (1e-4, 1e-6):
            assert math.isclose(max(0.0, h) / h, float(relu_subdifferential().end))
            assert math.isclose(max(0.0, -h) / -h, float(relu_subdifferential().start), abs_tol=0)
            assert math.isclose(elu(h) / h, float(elu_subdifferential().end.subs(ALPHA, alpha)))
            assert math.isclose(elu(-h) / -h, float(elu_subdifferential().start.subs(ALPHA, alpha)),
                                rel_tol=1e-3)
    left, right = elu_one_sided_derivatives()
    assert left == ALPHA and right == 1


@checks("1.1a")
def test_every_point_of_the_subdifferential_and_no_other_is_a_subgradient():
    ys = np.linspace(-3, 3, 601)
    for alpha in (0.2, 0.7, 1.0):
        elu = np.where(ys > 0, ys, alpha * (np.exp(ys) - 1))
        lo, hi = float(elu_subdifferential().start.subs(ALPHA, alpha)), float(elu_subdifferential().end)
        for g in np.linspace(lo, hi, 7):
            assert (elu >= g * ys - 1e-12).all()
        for g in (lo - 0.01, hi + 0.01):
            assert not (elu >= g * ys - 1e-12).all()
    relu = np.maximum(0, ys)
    for g in np.linspace(0, 1, 9):
        assert (relu >= g * ys).all()
    assert not (relu >= -0.01 * ys).all() and not (relu >= 1.01 * ys).all()


@checks("1.1a")
def test_elu_with_alpha_above_one_has_no_subgradient_at_zero():
    ys = np.linspace(-2, 2, 401)
    elu = np.where(ys > 0, ys, 2.0 * (np.exp(ys) - 1))  # alpha = 2: left slope 2 > right slope 1
    assert not any((elu >= g * ys - 1e-12).all() for g in np.linspace(-1, 3, 401))


@checks("1.1a")
def test_the_key_of_1_1a_is_what_finite_differences_and_one_sided_quotients_give():
    relu_d, relu_sub, elu_d, elu_sub, soft_d = activation_derivatives()
    rng = np.random.default_rng(111)
    for x in rng.uniform(0.05, 4, 20) * rng.choice([-1, 1], 20):
        alpha = rng.uniform(0.05, 1.0)

        def elu(t, a=alpha):
            return t if t > 0 else a * (math.exp(t) - 1)

        assert math.isclose(float(relu_d.subs(X_SYM, x)), derivative(lambda t: max(0.0, t), x), abs_tol=1e-6)
        assert math.isclose(float(elu_d.subs({ALPHA: alpha, X_SYM: x})), derivative(elu, x), rel_tol=1e-6)
        assert math.isclose(float(soft_d.subs(X_SYM, x)), derivative(lambda t: math.log1p(math.exp(t)), x),
                            rel_tol=1e-7)
        h = 1e-7
        assert [float(relu_sub.start), float(relu_sub.end)] == [max(0.0, -h) / -h + 0.0, max(0.0, h) / h]
        assert math.isclose(float(elu_sub.start.subs(ALPHA, alpha)), elu(-h) / -h, rel_tol=1e-6)
        assert math.isclose(float(elu_sub.end.subs(ALPHA, alpha)), elu(h) / h, rel_tol=1e-6)


@checks("1.1c")
def test_the_key_of_1_1c_builds_a_relu_network_equal_to_the_absolute_value_network():
    rng = np.random.default_rng(113)
    w1_new, b1_new, w2_new = relu_net_construction()
    for d in (1, 2, 5):
        numbers = {r"\mathbf{W}_1": rng.normal(size=(d, d)), r"\mathbf{b}_1": rng.normal(size=(d, 1)),
                   r"\mathbf{W}_2": rng.normal(size=(d, d))}
        a, b, c = (_evaluate_matrix_expression(m, numbers) for m in (w1_new, b1_new, w2_new))
        assert a.shape == (2 * d, d) and b.shape == (2 * d, 1) and c.shape == (d, 2 * d)
        for block, shape in zip((w1_new, b1_new, w2_new), (a.shape, b.shape, c.shape)):
            assert tuple(int(n.subs(D_SYM, d)) for n in block.shape) == shape
        for _ in range(5):
            x = rng.normal(size=(d, 1))
            plain = numbers[r"\mathbf{W}_2"] @ np.abs(numbers[r"\mathbf{W}_1"] @ x + numbers[r"\mathbf{b}_1"])
            assert np.allclose(c @ np.maximum(0.0, a @ x + b), plain, rtol=1e-12, atol=1e-12)


def test_relu_abs_identities_hold_on_a_grid():
    xs = np.concatenate([np.linspace(-5, 5, 101), [0.0, 1e-9, -1e-9]])
    for expr, reference in ((relu_via_abs(), np.maximum(0, xs)), (abs_via_relu(), np.abs(xs)),
                            (abs_via_relu_alternative(), np.abs(xs))):
        values = np.array([float(expr.subs(X_SYM, x)) for x in xs])
        assert np.allclose(values, reference, atol=1e-15)


def test_the_relu_network_equals_the_absolute_value_network_on_random_networks():
    rng = np.random.default_rng(13)
    for d in (1, 2, 3, 5, 8):
        w1, w2, b1 = rng.normal(size=(d, d)), rng.normal(size=(d, d)), rng.normal(size=d)
        # the construction of the solution: stack W1 and -W1, b1 and -b1, repeat W2
        w1p, b1p, w2p = np.vstack([w1, -w1]), np.concatenate([b1, -b1]), np.hstack([w2, w2])
        shapes = {name: tuple(int(sp.sympify(s).subs(D_SYM, d)) for s in shape) for name, shape in relu_net_shapes().items()}
        assert w1p.shape == shapes["W1"] and (b1p.size, 1) == shapes["b1"] and w2p.shape == shapes["W2"]
        assert w1p.size + b1p.size + w2p.size == relu_net_param_count().subs(D_SYM, d)
        assert w1.size + b1.size + w2.size == abs_net_param_count().subs(D_SYM, d)
        for _ in range(20):
            x = rng.normal(size=d) * 3
            assert np.allclose(w2 @ np.abs(w1 @ x + b1), w2p @ np.maximum(0, w1p @ x + b1p), atol=1e-12)


def test_one_relu_unit_cannot_be_the_absolute_value():
    # independent check by a generic optimiser from many starts: the error never drops below the LP optimum
    grid = np.linspace(-1, 1, 201)
    rng = np.random.default_rng(3)
    best = math.inf
    for _ in range(12):
        start = rng.normal(size=4)
        result = optimize.minimize(
            lambda p: np.max(np.abs(p[0] * np.maximum(0, p[1] * grid + p[2]) + p[3] - np.abs(grid))),
            start, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-9, "fatol": 1e-12})
        best = min(best, result.fun)
    assert one_unit_relu_best_error() > 0.2
    assert best >= one_unit_relu_best_error() - 2e-3


# --- 1.2 linear networks ---------------------------------------------------------------------


def _separable(points, labels):
    """Whether a hyperplane w.x + b separates the labels (+1/-1) with margin 1: an LP feasibility test."""
    points = np.asarray(points, dtype=float)
    labels = np.asarray(labels, dtype=float)
    a_ub = -labels[:, None] * np.hstack([points, np.ones((len(points), 1))])
    result = optimize.linprog(np.zeros(points.shape[1] + 1), A_ub=a_ub, b_ub=-np.ones(len(points)),
                              bounds=[(None, None)] * (points.shape[1] + 1), method="highs")
    return result.status == 0


def _features(name, points):
    points = np.asarray(points, dtype=float)
    x1, x2 = points[:, 0], points[:, 1]
    return {"a": points, "b": np.column_stack([x1, x2, x1 * x2]),
            "c": np.column_stack([x1, x2, (x1 - x2) ** 2]),
            "d": np.column_stack([x1, x2, x1 ** 2 + x2 ** 2])}[name]


@value
def toy_datasets():
    """Four representative two-class data sets standing in for the exam's lost panels (a)-(d).

    (a) two separated clouds, (b) XOR, (c) a diagonal band, (d) a disc inside a ring. Each entry
    has the points of class + and class -, and whether they are linearly separable before and
    after the transformation proposed in the text (decided by a linear programme).
    """
    rng = np.random.default_rng(12)
    sets = {}
    # (a): two Gaussian clouds
    plus = rng.normal([1.2, 1.0], 0.45, size=(18, 2))
    minus = rng.normal([-1.0, -1.1], 0.45, size=(18, 2))
    sets["a"] = (plus, minus)
    # (b): XOR, one cloud per quadrant, + where x1 x2 > 0
    centres = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]]) * 1.3
    clouds = [c + rng.uniform(-0.55, 0.55, size=(9, 2)) for c in centres]
    sets["b"] = (np.vstack(clouds[:2]), np.vstack(clouds[2:]))
    # (c): + inside the band |x1 - x2| < 1, - outside it on both sides
    candidates = rng.uniform(-2.4, 2.4, size=(400, 2))
    gap = np.abs(candidates[:, 0] - candidates[:, 1])
    sets["c"] = (candidates[gap < 0.8][:18], candidates[gap > 1.4][:18])
    # (d): - in the unit disc, + in the ring 2 <= r <= 2.6
    radius_in = np.sqrt(rng.uniform(0, 1, 16))
    radius_out = rng.uniform(2.0, 2.6, 20)
    angle_in, angle_out = rng.uniform(0, 2 * np.pi, 16), rng.uniform(0, 2 * np.pi, 20)
    sets["d"] = (np.column_stack([radius_out * np.cos(angle_out), radius_out * np.sin(angle_out)]),
                 np.column_stack([radius_in * np.cos(angle_in), radius_in * np.sin(angle_in)]))
    result = {}
    for name, (plus, minus) in sets.items():
        points = np.vstack([plus, minus])
        labels = np.concatenate([np.ones(len(plus)), -np.ones(len(minus))])
        result[name] = {"plus": [tuple(p) for p in plus], "minus": [tuple(p) for p in minus],
                        "linear": _separable(points, labels),
                        "transformed": _separable(_features(name, points), labels)}
    return result


@value
def toy_feature_maps():
    """The transformation proposed for each data set (the identity where none is needed)."""
    return {"a": tex(r"none needed"),
            "b": tex(r"$\phi(\mathbf{x}) = x_1 x_2$"),
            "c": tex(r"$\phi(\mathbf{x}) = (x_1 - x_2)^2$"),
            "d": tex(r"$\phi(\mathbf{x}) = x_1^2 + x_2^2$")}


@value
def ring_radii():
    """Radii of data set (d): class - fills the disc r <= 1, class + the ring 2 <= r <= 13/5."""
    return {"inner": 1, "outer_low": 2, "outer_high": Fraction(13, 5)}


@value
def ring_bias():
    """The bias of y-hat = x1^2 + x2^2 - b: the threshold on r^2 halfway between 1 and 4."""
    radii = ring_radii()
    return Fraction(radii["inner"] ** 2 + radii["outer_low"] ** 2, 2)


FEATURE_X1, FEATURE_X2 = sp.symbols("x_1 x_2", real=True)


@value
def separability_answer():
    """The key of 1.2a for our stand-ins: per data set whether a linear network classifies it as given (the LP of
    toy_datasets) and, where it does not, the feature phi(x) after which a linear model does."""
    x1, x2 = FEATURE_X1, FEATURE_X2
    proposed = {"b": x1 * x2, "c": (x1 - x2) ** 2, "d": x1 ** 2 + x2 ** 2}
    data = toy_datasets()
    return {name: {"separable": data[name]["linear"],
                   "feature": None if data[name]["linear"] else proposed[name]} for name in "abcd"}


@value
def ring_classifier():
    """The key of 1.2b: y-hat = x1^2 + x2^2 - b for data set (d), with b the threshold ring_bias."""
    return FEATURE_X1 ** 2 + FEATURE_X2 ** 2 - ring_bias()


def _hulls_intersect(plus, minus):
    """An independent certificate of non-separability: a point in both convex hulls (an LP)."""
    plus, minus = np.asarray(plus), np.asarray(minus)
    n_plus, n_minus = len(plus), len(minus)
    # variables: convex weights lam (n_plus) and mu (n_minus) with sum lam = sum mu = 1 and
    # sum lam_i p_i = sum mu_j m_j
    a_eq = np.zeros((plus.shape[1] + 2, n_plus + n_minus))
    a_eq[:plus.shape[1], :n_plus] = plus.T
    a_eq[:plus.shape[1], n_plus:] = -minus.T
    a_eq[-2, :n_plus] = 1
    a_eq[-1, n_plus:] = 1
    b_eq = np.concatenate([np.zeros(plus.shape[1]), [1, 1]])
    result = optimize.linprog(np.zeros(n_plus + n_minus), A_eq=a_eq, b_eq=b_eq, bounds=[(0, None)] * (n_plus + n_minus),
                              method="highs")
    return result.status == 0


def test_only_data_set_a_is_linearly_separable_as_given():
    data = toy_datasets()
    for name in "abcd":
        plus, minus = data[name]["plus"], data[name]["minus"]
        assert data[name]["linear"] == (not _hulls_intersect(plus, minus)), name
    assert [data[name]["linear"] for name in "abcd"] == [True, False, False, False]


def test_the_proposed_features_make_every_data_set_separable():
    data = toy_datasets()
    maps = toy_feature_maps()
    for name in "abcd":
        plus, minus = np.asarray(data[name]["plus"]), np.asarray(data[name]["minus"])
        assert data[name]["transformed"]
        assert not _hulls_intersect(_features(name, plus), _features(name, minus))
        assert ("none" in maps[name]) == (name == "a")
    # the separating direction in feature space, checked by hand: the new feature alone separates
    x1, x2 = np.asarray(data["b"]["plus"]).T
    assert (x1 * x2 > 0).all()
    x1, x2 = np.asarray(data["b"]["minus"]).T
    assert (x1 * x2 < 0).all()


def test_the_ring_classifier_is_right_on_every_point_of_data_set_d():
    data = toy_datasets()["d"]
    b = float(ring_bias())
    for point in data["plus"]:
        assert point[0] ** 2 + point[1] ** 2 - b >= 0
    for point in data["minus"]:
        assert point[0] ** 2 + point[1] ** 2 - b < 0
    radii = ring_radii()
    plus_r = np.hypot(*np.asarray(data["plus"]).T)
    minus_r = np.hypot(*np.asarray(data["minus"]).T)
    assert minus_r.max() <= radii["inner"] and radii["outer_low"] <= plus_r.min() <= plus_r.max() <= radii["outer_high"]
    assert radii["inner"] ** 2 < ring_bias() < radii["outer_low"] ** 2
    # the printed b is the maximum-margin threshold on r^2 between the two radius bounds, found by an optimiser
    best = optimize.minimize_scalar(lambda t: -min(t - radii["inner"] ** 2, radii["outer_low"] ** 2 - t),
                                    bounds=(radii["inner"] ** 2, radii["outer_low"] ** 2), method="bounded",
                                    options={"xatol": 1e-10})
    assert abs(best.x - float(ring_bias())) < 1e-6


@checks("1.2a")
def test_the_key_of_1_2a_is_decided_by_convex_hulls_and_its_features_separate():
    data, answer = toy_datasets(), separability_answer()
    for name in "abcd":
        plus, minus = np.asarray(data[name]["plus"]), np.asarray(data[name]["minus"])
        assert answer[name]["separable"] == (not _hulls_intersect(plus, minus)), name
        feature = answer[name]["feature"]
        if feature is None:
            continue
        phi = sp.lambdify((FEATURE_X1, FEATURE_X2), feature, "numpy")
        lifted = [np.column_stack([points, phi(points[:, 0], points[:, 1])]) for points in (plus, minus)]
        assert not _hulls_intersect(*lifted), name


@checks("1.2b")
def test_the_ring_classifier_of_1_2b_classifies_every_point_with_the_widest_margin():
    data = toy_datasets()["d"]
    y_hat = sp.lambdify((FEATURE_X1, FEATURE_X2), ring_classifier(), "numpy")
    plus, minus = np.asarray(data["plus"]), np.asarray(data["minus"])
    assert (y_hat(*plus.T) >= 0).all() and (y_hat(*minus.T) < 0).all()
    # the threshold sits halfway between the disc's radius bound 1 and the ring's 2: equal margins on r^2
    assert math.isclose(float(y_hat(1.0, 0.0)), -float(y_hat(2.0, 0.0)), rel_tol=1e-12)
    assert sp.Poly(ring_classifier(), FEATURE_X1, FEATURE_X2).coeff_monomial(FEATURE_X1 ** 2) == 1


def _uniform_from_raw(bit_generator, low, high, count):
    """Uniform draws rebuilt from the raw 64-bit output: the top 53 bits scaled to [0, 1), then to [low, high)."""
    raw = bit_generator.random_raw(count)
    return low + (high - low) * ((raw >> np.uint64(11)).astype(float) * 2.0 ** -53)


def test_the_plotted_stand_ins_are_the_seeded_draws_the_text_describes():
    # The stand-in data sets are givens of our own, defined by a seed and a recipe (the docstring of
    # toy_datasets). Rebuild every point from the seed without Generator.uniform / Generator.normal: normals
    # as loc + scale * standard_normal, uniforms from the raw bit stream, the band filter as a loop; then check
    # each plotted point (tolerance 1e-12, far below the 0.005 of coords(2)) and the geometry the caption states.
    data = toy_datasets()
    rng = np.random.default_rng(12)
    bits = rng.bit_generator
    plus_a = np.array([1.2, 1.0]) + 0.45 * rng.standard_normal((18, 2))
    minus_a = np.array([-1.0, -1.1]) + 0.45 * rng.standard_normal((18, 2))
    clouds = [1.3 * np.array(c) + _uniform_from_raw(bits, -0.55, 0.55, 18).reshape(9, 2)
              for c in ((1, 1), (-1, -1), (1, -1), (-1, 1))]
    candidates = _uniform_from_raw(bits, -2.4, 2.4, 800).reshape(400, 2)
    band = [p for p in candidates if abs(p[0] - p[1]) < 0.8][:18]
    outside = [p for p in candidates if abs(p[0] - p[1]) > 1.4][:18]
    r_in = np.sqrt(_uniform_from_raw(bits, 0, 1, 16))
    r_out = _uniform_from_raw(bits, 2.0, 2.6, 20)
    t_in, t_out = _uniform_from_raw(bits, 0, 2 * np.pi, 16), _uniform_from_raw(bits, 0, 2 * np.pi, 20)
    expected = {"a": (plus_a, minus_a), "b": (np.vstack(clouds[:2]), np.vstack(clouds[2:])), "c": (band, outside),
                "d": ([(r * math.cos(t), r * math.sin(t)) for r, t in zip(r_out, t_out)],
                      [(r * math.cos(t), r * math.sin(t)) for r, t in zip(r_in, t_in)])}
    for name, (plus, minus) in expected.items():
        for printed, rebuilt in ((data[name]["plus"], plus), (data[name]["minus"], minus)):
            assert np.asarray(printed).shape == np.asarray(rebuilt).shape
            assert np.allclose(np.asarray(printed, dtype=float), np.asarray(rebuilt), rtol=0, atol=1e-12), name
    # the caption's geometry: XOR clouds in the quadrants of their sign, the band, the disc inside the ring
    for point in data["b"]["plus"] + data["b"]["minus"]:
        assert abs(abs(point[0]) - 1.3) <= 0.55 and abs(abs(point[1]) - 1.3) <= 0.55
    assert all(abs(x1 - x2) < 0.8 for x1, x2 in data["c"]["plus"])
    assert all(abs(x1 - x2) > 1.4 for x1, x2 in data["c"]["minus"])


def test_each_printed_feature_map_is_the_feature_the_linear_programme_used():
    # the printed formula is the LaTeX of a sympy expression (braces and \left/\right normalised away) that,
    # evaluated on the points, equals the third column the separability LP was given
    x1, x2 = sp.symbols("x_1 x_2", real=True)
    expressions = {"b": x1 * x2, "c": (x1 - x2) ** 2, "d": x1 ** 2 + x2 ** 2}
    maps, data = toy_feature_maps(), toy_datasets()
    points = np.asarray(data["d"]["plus"] + data["b"]["minus"], dtype=float)

    def plain(latex):
        return latex.replace(r"\left(", "(").replace(r"\right)", ")").replace("_{1}", "_1").replace(
            "_{2}", "_2").replace("^{2}", "^2")

    for name, expression in expressions.items():
        assert str(maps[name]) == rf"$\phi(\mathbf{{x}}) = {plain(sp.latex(expression))}$"
        column = sp.lambdify((x1, x2), expression, "numpy")(points[:, 0], points[:, 1])
        assert np.allclose(column, _features(name, points)[:, 2], rtol=1e-14, atol=0)
    # "none needed" exactly where the data set is separable as given (and the feature map is the identity)
    for name in "abcd":
        assert (str(maps[name]) == "none needed") == data[name]["linear"]
    assert np.array_equal(_features("a", points), points)


# --- 1.3 forward versus reverse mode ---------------------------------------------------------


def _standin_network(seed=7, sizes=(3, 4, 4)):
    """The stand-in for the lost Figure 1: h1 = s(W1 x), h2 = s(W2 h1), y-hat = W3 h2 + h1, l = |y-hat - y|^2 / 2."""
    rng = np.random.default_rng(seed)
    n_x, n_h, _ = sizes
    return {"W1": rng.normal(size=(n_h, n_x)), "W2": rng.normal(size=(n_h, n_h)), "W3": rng.normal(size=(n_h, n_h)),
            "x": rng.normal(size=n_x), "y": rng.normal(size=n_h)}


def _standin_loss_from_h1(net, h1):
    h2 = _sigmoid(net["W2"] @ h1)
    y_hat = net["W3"] @ h2 + h1
    return 0.5 * np.sum((y_hat - net["y"]) ** 2)


def _forward_mode_dl_dh1(net):
    """Forward mode, as in the figure: seed dh1/dh1 = I, then dh2/dh1, dy/dh1, dl/dh1."""
    h1 = _sigmoid(net["W1"] @ net["x"])
    z2 = net["W2"] @ h1
    h2 = _sigmoid(z2)
    y_hat = net["W3"] @ h2 + h1
    dh1 = np.eye(h1.size)
    dh2 = (h2 * (1 - h2))[:, None] * (net["W2"] @ dh1)
    dy = net["W3"] @ dh2 + dh1
    return (y_hat - net["y"]) @ dy, h1


# The stand-in graph, symbolically: every node is a small vector (or matrix) of symbols, and every computed node an
# expression in the symbols of its parents. Two components per vector keep the Jacobians small and non-trivial.
STANDIN_WIDTH = 2
STANDIN_LABELS = {"x": r"\mathbf{x}", "W1": r"\mathbf{W}_1", "h1": r"\mathbf{h}_1", "W2": r"\mathbf{W}_2",
                  "h2": r"\mathbf{h}_2", "W3": r"\mathbf{W}_3", "yhat": r"\hat{\mathbf{y}}", "y": r"\mathbf{y}",
                  "l": "l"}


def _standin_symbols():
    n = STANDIN_WIDTH
    vector = lambda name: sp.Matrix(sp.symbols(f"{name}_0:{n}", real=True))
    matrix = lambda name: sp.Matrix(n, n, sp.symbols(f"{name}_0:{n * n}", real=True))
    return {"x": vector("x"), "W1": matrix("W1"), "h1": vector("h1"), "W2": matrix("W2"), "h2": vector("h2"),
            "W3": matrix("W3"), "yhat": vector("yhat"), "y": vector("y"), "l": sp.Matrix([sp.Symbol("l")])}


def _standin_operations():
    """Each computed node of the stand-in as a sympy expression in its parents' symbols, in forward order."""
    s = _standin_symbols()
    sigmoid = lambda z: z.applyfunc(lambda zi: 1 / (1 + sp.exp(-zi)))
    residual = s["yhat"] - s["y"]
    return s, {"h1": sigmoid(s["W1"] * s["x"]), "h2": sigmoid(s["W2"] * s["h1"]), "yhat": s["W3"] * s["h2"] + s["h1"],
               "l": sp.Matrix([(residual.T * residual)[0] / 2])}


def _owners(expression, symbols):
    """The nodes whose symbols occur in a sympy expression or matrix."""
    free = expression.free_symbols
    return [name for name, block in symbols.items() if free & set(block)]


@value
def standin_graph():
    """The edges of the stand-in for Figure 1, read off the expressions: parent -> child when the child's expression
    contains a symbol of the parent. Values are computed nodes and the input; parameters and the target are leaves
    drawn as boxes. `skip` marks an edge between values that jumps over a value in the forward order."""
    symbols, operations = _standin_operations()
    order = ["x", *operations]
    edges = []
    for child, expression in operations.items():
        for parent in _owners(expression, symbols):
            between = parent in order and order.index(child) - order.index(parent) > 1
            edges.append({"from": parent, "to": child, "value": parent in order, "skip": between})
    return edges


@value
def forward_mode_graph():
    """What a full forward-mode pass for dl/dh1 adds to the graph, from the expressions.

    tangents: every node that depends on h1 (h1 itself is the seed), in forward order, with its label;
    tangent_edges: the edges of standin_graph between them, along which tangents are combined;
    reads: (quantity, node) when the local derivatives d node / d parent, for the parents that carry a tangent,
    contain a symbol of that quantity, i.e. the forward values and parameters the tangent of `node` must read.
    """
    symbols, operations = _standin_operations()
    edges = standin_graph()
    tangents, tangent_edges, reads = ["h1"], [], []
    for child, expression in operations.items():
        carried = [e for e in edges if e["to"] == child and e["from"] in tangents]
        if not carried:
            continue
        tangents.append(child)
        tangent_edges += carried
        local = sp.Matrix.hstack(*[expression.jacobian(symbols[e["from"]]) for e in carried])
        reads += [(quantity, child) for quantity in _owners(local, symbols)]
    return {"tangents": [{"node": name, "label": tex(STANDIN_LABELS[name])} for name in tangents],
            "tangent_edges": tangent_edges, "reads": reads}


@value
def forward_mode_reads():
    """For each tangent after the seed, the LaTeX labels of the quantities its local derivatives read."""
    graph = forward_mode_graph()
    return [{"node": tex(STANDIN_LABELS[t["node"]]),
             "reads": [tex(STANDIN_LABELS[q]) for q, node in graph["reads"] if node == t["node"]]}
            for t in graph["tangents"][1:]]


@value
def mlp_example_layers():
    """Layer widths of a small MNIST classifier, to put numbers on the cost of forward mode."""
    return [784, 100, 10]


@value
def mlp_example_param_count():
    """Its number of trainable parameters (weights and biases), counted from the layer shapes."""
    widths = mlp_example_layers()
    return sum(n_out * n_in + n_out for n_in, n_out in zip(widths[:-1], widths[1:]))


@value
def forward_mode_tangent_nodes():
    """The key of 1.3a: the nodes a full forward-mode pass for dl/dh1 adds, one tangent per node that depends on h1."""
    return [sp.Symbol(rf"\partial {STANDIN_LABELS[t['node']]}/\partial\mathbf{{h}}_1")
            for t in forward_mode_graph()["tangents"]]


@checks("1.3a")
def test_forward_mode_dl_dh1_matches_finite_differences():
    for seed in range(5):
        net = _standin_network(seed)
        forward, h1 = _forward_mode_dl_dh1(net)
        numeric = numeric_gradient(lambda h: _standin_loss_from_h1(net, h), h1)
        assert np.allclose(forward, numeric, atol=1e-7)


# numpy twins of the stand-in's operations, each reading whatever it needs from a dict of free inputs
_STANDIN_NUMERIC = {
    "h1": lambda v: _sigmoid(v["W1"] @ v["x"]),
    "h2": lambda v: _sigmoid(v["W2"] @ v["h1"]),
    "yhat": lambda v: v["W3"] @ v["h2"] + v["h1"],
    "l": lambda v: np.array([0.5 * np.sum((v["yhat"] - v["y"]) ** 2)]),
}


def _standin_random_inputs(rng, n=3):
    shapes = {"x": (n,), "W1": (n, n), "h1": (n,), "W2": (n, n), "h2": (n,), "W3": (n, n), "yhat": (n,), "y": (n,),
              "l": (1,)}
    return {name: rng.normal(size=shape) for name, shape in shapes.items()}


def _local_jacobian(operation, inputs, wrt, eps=1e-6):
    """d operation / d inputs[wrt] by central differences."""
    base = inputs[wrt]
    columns = []
    for index in np.ndindex(base.shape):
        shifted = []
        for sign in (1, -1):
            moved = dict(inputs, **{wrt: base.copy()})
            moved[wrt][index] += sign * eps
            shifted.append(operation(moved))
        columns.append((shifted[0] - shifted[1]) / (2 * eps))
    return np.stack(columns, axis=-1)


@checks("1.3a")
def test_standin_edges_are_the_numeric_dependencies():
    # an edge parent -> child exactly when perturbing the parent (alone) changes the child's operation
    rng = np.random.default_rng(11)
    inputs = _standin_random_inputs(rng)
    found = set()
    for child, operation in _STANDIN_NUMERIC.items():
        for parent in inputs:
            if parent != child and not np.allclose(operation(dict(inputs, **{parent: inputs[parent] + 0.5})),
                                                   operation(inputs), rtol=0, atol=1e-12):
                found.add((parent, child))
    assert {(e["from"], e["to"]) for e in standin_graph()} == found
    assert [(e["from"], e["to"]) for e in standin_graph() if e["skip"]] == [("h1", "yhat")]


@checks("1.3a")
def test_forward_mode_tangents_and_reads_match_perturbed_jacobians():
    graph = forward_mode_graph()
    rng = np.random.default_rng(12)
    inputs = _standin_random_inputs(rng)
    # tangents: the nodes whose value, recomputed along the forward pass from h1, moves when h1 moves
    def forward_from(h1):
        v = dict(inputs, h1=h1)
        for node in ("h2", "yhat", "l"):
            v[node] = _STANDIN_NUMERIC[node](v)
        return v
    moved = forward_from(inputs["h1"] + 0.3)
    base = forward_from(inputs["h1"])
    assert [t["node"] for t in graph["tangents"]] == ["h1"] + [n for n in ("h2", "yhat", "l")
                                                           if not np.allclose(moved[n], base[n], atol=1e-12)]
    # tangent edges: the edges into a tangent node from a tangent node
    tangent_nodes = {t["node"] for t in graph["tangents"]}
    assert graph["tangent_edges"] == [e for e in standin_graph()
                                      if e["from"] in tangent_nodes and e["to"] in tangent_nodes]
    # reads: a quantity is read when perturbing it changes a local Jacobian along a tangent edge
    reads = set()
    for edge in graph["tangent_edges"]:
        parent, child = edge["from"], edge["to"]
        operation = _STANDIN_NUMERIC[child]
        jacobian = _local_jacobian(operation, inputs, parent)
        for quantity in inputs:
            perturbed = dict(inputs, **{quantity: inputs[quantity] + rng.normal(size=inputs[quantity].shape)})
            if np.abs(_local_jacobian(operation, perturbed, parent) - jacobian).max() > 1e-5:
                reads.add((quantity, child))
    assert set(graph["reads"]) == reads
    # the labels are the figure's notation for the nodes, in forward order
    assert [t["label"] for t in graph["tangents"]] == [r"\mathbf{h}_1", r"\mathbf{h}_2", r"\hat{\mathbf{y}}", "l"]
    # the finding this fixes: y-hat is linear in h2, so its tangent reads no forward value at all
    assert not {q for q, node in graph["reads"] if node == "yhat"} & {"h1", "h2", "yhat"}
    assert [r["node"] for r in forward_mode_reads()] == [STANDIN_LABELS[n] for n in ("h2", "yhat", "l")]
    assert [r["reads"] for r in forward_mode_reads()] == [[STANDIN_LABELS[q] for q, node in graph["reads"]
                                                           if node == n] for n in ("h2", "yhat", "l")]


@checks("1.3a")
def test_the_tangent_nodes_of_1_3a_are_the_nodes_a_perturbation_of_h1_moves():
    rng = np.random.default_rng(131)
    order = ["h1", "h2", "yhat", "l"]
    for _ in range(3):
        base = _standin_random_inputs(rng)
        moved = dict(base, h1=base["h1"] + 1e-3 * rng.normal(size=base["h1"].shape))
        changed = ["h1"]
        for node in order[1:]:  # recompute downstream of h1 from each version
            base[node], moved[node] = _STANDIN_NUMERIC[node](base), _STANDIN_NUMERIC[node](moved)
            if not np.allclose(base[node], moved[node], rtol=0, atol=1e-12):
                changed.append(node)
        x_changed = not np.allclose(_STANDIN_NUMERIC["h1"](base), _STANDIN_NUMERIC["h1"](moved))
        assert not x_changed  # h1 = s(W1 x) reads nothing downstream: no tangent for x or W1
        assert [str(n) for n in forward_mode_tangent_nodes()] == \
            [rf"\partial {STANDIN_LABELS[n]}/\partial\mathbf{{h}}_1" for n in changed]


def _mlp_parameters(widths, rng):
    return [(rng.normal(size=(n_out, n_in)) / np.sqrt(n_in), rng.normal(size=n_out))
            for n_in, n_out in zip(widths[:-1], widths[1:])]


def _mlp_loss(params, x, y):
    h = x
    for i, (w, b) in enumerate(params):
        z = w @ h + b
        h = np.tanh(z) if i < len(params) - 1 else z
    return 0.5 * np.sum((h - y) ** 2)


def _mlp_reverse_gradient(params, x, y):
    hs, zs = [x], []
    for i, (w, b) in enumerate(params):
        zs.append(w @ hs[-1] + b)
        hs.append(np.tanh(zs[-1]) if i < len(params) - 1 else zs[-1])
    delta = hs[-1] - y
    grads = []
    for i in reversed(range(len(params))):
        if i < len(params) - 1:
            delta = delta * (1 - np.tanh(zs[i]) ** 2)
        grads.append((np.outer(delta, hs[i]), delta.copy()))
        delta = params[i][0].T @ delta
    return grads[::-1]


def _mlp_forward_mode_directional(params, x, y, tangents):
    """One forward-mode pass: the directional derivative of the loss along one parameter tangent."""
    h, dh = x, np.zeros_like(x)
    for i, ((w, b), (dw, db)) in enumerate(zip(params, tangents)):
        z, dz = w @ h + b, dw @ h + w @ dh + db
        if i < len(params) - 1:
            h, dh = np.tanh(z), (1 - np.tanh(z) ** 2) * dz
        else:
            h, dh = z, dz
    return (h - y) @ dh


@checks("1.3b")
def test_forward_mode_needs_one_pass_per_parameter_and_agrees_with_reverse_mode():
    rng = np.random.default_rng(1)
    widths = [5, 4, 3]
    params = _mlp_parameters(widths, rng)
    x, y = rng.normal(size=5), rng.normal(size=3)
    reverse = _mlp_reverse_gradient(params, x, y)
    passes = 0
    for layer, (w, b) in enumerate(params):
        for which, shape in ((0, w.shape), (1, b.shape)):
            for index in np.ndindex(shape):
                tangents = [(np.zeros_like(w_), np.zeros_like(b_)) for w_, b_ in params]
                tangents[layer][which][index] = 1.0
                passes += 1
                assert math.isclose(_mlp_forward_mode_directional(params, x, y, tangents),
                                    reverse[layer][which][index], rel_tol=1e-9, abs_tol=1e-12)
    assert passes == sum(w.size + b.size for w, b in params)
    # and the reverse-mode gradient is right
    flat = lambda p: _mlp_loss(p, x, y)  # noqa: E731
    numeric_w0 = numeric_gradient(lambda w: flat([(w, params[0][1]), params[1]]), params[0][0])
    assert np.allclose(numeric_w0, reverse[0][0], atol=1e-7)


def test_the_example_network_has_the_printed_number_of_parameters():
    rng = np.random.default_rng(0)
    layers = _mlp_parameters(mlp_example_layers(), rng)
    assert sum(w.size + b.size for w, b in layers) == mlp_example_param_count() == 79510


# --- 1.4 backpropagation ---------------------------------------------------------------------

Y_HAT_I, Y_I, H_I = sp.symbols(r"\hat{y}_i y_i h_i", real=True)


@value
def mae_partial():
    """d|y_hat_i - y_i| / d y_hat_i, by sympy (valid where y_hat_i != y_i)."""
    return sp.diff(sp.Abs(Y_HAT_I - Y_I), Y_HAT_I)


@value
def sigmoid_derivative_in_h():
    """sigma'(z) written in terms of h = sigma(z): sympy's derivative, re-expressed."""
    z = sp.Symbol("z", real=True)
    s = 1 / (1 + sp.exp(-z))
    d_sigma = sp.diff(s, z)
    in_h = sp.simplify(d_sigma.subs(sp.exp(-z), (1 - H_I) / H_I))  # e^{-z} = (1 - h)/h when h = sigma(z)
    tidy = H_I * (1 - H_I)
    if sp.simplify(in_h - tidy) != 0:
        raise ArithmeticError("sigma' is not h (1 - h)")
    return tidy


@value
def mae_weight_gradients():
    """The key of 1.4c: dL/dW2 = (dL/dy-hat) h1^T and dL/dW1 = (dL/dz1) x^T, outer products of column vectors."""
    def column(name):
        return _matrix_symbol(name, D_SYM, 1)

    dl_dyhat, h1 = column(r"\frac{\partial L}{\partial\hat{\mathbf{y}}}"), column(r"\mathbf{h}_1")
    dl_dz1, x = column(r"\frac{\partial L}{\partial\mathbf{z}_1}"), column(r"\mathbf{x}")
    return (dl_dyhat * h1.T, dl_dz1 * x.T)


MAE_GRAPH = {"x": ["z1"], "W1": ["z1"], "z1": ["h1"], "h1": ["yhat"], "W2": ["yhat"], "yhat": ["L"], "y": ["L"]}
MAE_TRAINABLE = ("W1", "W2")


@value
def input_gradients_needed():
    """The key of 1.4d: whether training needs dL/dx or dL/dy. Backpropagation needs dL/dv exactly for the nodes v on
    a path from a trainable parameter to L; x and y are needed only if some parameter lies upstream of them."""
    def downstream(node):
        return {node}.union(*(downstream(child) for child in MAE_GRAPH.get(node, [])))
    on_parameter_paths = set().union(*(downstream(p) for p in MAE_TRAINABLE))
    return bool({"x", "y"} & on_parameter_paths)


def _mae_network(seed, d=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(d, d)), rng.normal(size=(d, d)), rng.normal(size=d), rng.normal(size=d)


def _mae_loss(w1, w2, x, y):
    return np.sum(np.abs(w2 @ _sigmoid(w1 @ x) - y))


def test_mae_partial_and_sigmoid_derivative_are_right():
    rng = np.random.default_rng(2)
    for _ in range(20):
        y_hat, y = rng.normal(size=2)
        numeric = derivative(lambda t: abs(t - y), y_hat)
        assert math.isclose(float(mae_partial().subs({Y_HAT_I: y_hat, Y_I: y})), numeric, rel_tol=1e-6)
        z = rng.normal() * 3
        h = 1 / (1 + math.exp(-z))
        numeric = derivative(lambda t: 1 / (1 + math.exp(-t)), z)
        assert math.isclose(float(sigmoid_derivative_in_h().subs(H_I, h)), numeric, rel_tol=1e-6)


@checks("1.4a", "1.4b", "1.4c")
def test_backpropagation_formulas_of_1_4_match_finite_differences():
    for seed in range(6):
        w1, w2, x, y = _mae_network(seed)
        z1 = w1 @ x
        h1 = _sigmoid(z1)
        y_hat = w2 @ h1
        dl_dyhat = np.sign(y_hat - y)                 # (a)
        dl_dh1 = w2.T @ dl_dyhat
        dl_dz1 = dl_dh1 * h1 * (1 - h1)               # (b)
        dl_dw2 = np.outer(dl_dyhat, h1)               # (c)
        dl_dw1 = np.outer(dl_dz1, x)                  # (c)
        assert np.allclose(dl_dw2, numeric_gradient(lambda w: _mae_loss(w1, w, x, y), w2), atol=1e-6)
        assert np.allclose(dl_dw1, numeric_gradient(lambda w: _mae_loss(w, w2, x, y), w1), atol=1e-6)
        assert np.allclose(dl_dz1, numeric_gradient(lambda z: np.sum(np.abs(w2 @ _sigmoid(z) - y)), z1), atol=1e-6)
        # with the mean instead of the sum every gradient is divided by d
        mean_grad = numeric_gradient(lambda w: _mae_loss(w1, w, x, y) / len(y), w2)
        assert np.allclose(dl_dw2 / len(y), mean_grad, atol=1e-6)


@checks("1.4c")
def test_the_key_of_1_4c_evaluated_on_random_networks_is_the_finite_difference_gradient():
    dw2_formula, dw1_formula = mae_weight_gradients()
    for seed in range(4):
        w1, w2, x, y = _mae_network(seed + 40)
        h1 = _sigmoid(w1 @ x)
        dl_dyhat = np.sign(w2 @ h1 - y)
        numbers = {r"\frac{\partial L}{\partial\hat{\mathbf{y}}}": dl_dyhat[:, None], r"\mathbf{h}_1": h1[:, None],
                   r"\frac{\partial L}{\partial\mathbf{z}_1}": ((w2.T @ dl_dyhat) * h1 * (1 - h1))[:, None],
                   r"\mathbf{x}": x[:, None]}
        assert np.allclose(_evaluate_matrix_expression(dw2_formula, numbers),
                           numeric_gradient(functools.partial(_mae_loss, w1, x=x, y=y), w2), atol=1e-6)
        assert np.allclose(_evaluate_matrix_expression(dw1_formula, numbers),
                           numeric_gradient(functools.partial(_mae_loss, w2=w2, x=x, y=y), w1), atol=1e-6)


@checks("1.4d")
def test_training_of_1_4_never_needs_the_input_or_target_gradients():
    # a backward pass that forms only dL/dy-hat, dL/dh1 and dL/dz1 yields the exact weight gradients, while
    # x and y stay untouched by every update: neither gradient is needed
    assert input_gradients_needed() is False
    for seed in range(3):
        w1, w2, x, y = _mae_network(seed + 50)
        h1 = _sigmoid(w1 @ x)
        dl_dz1 = (w2.T @ np.sign(w2 @ h1 - y)) * h1 * (1 - h1)
        assert np.allclose(np.outer(dl_dz1, x), numeric_gradient(functools.partial(_mae_loss, w2=w2, x=x, y=y), w1),
                           atol=1e-6)
        assert np.allclose(np.outer(np.sign(w2 @ h1 - y), h1),
                           numeric_gradient(functools.partial(_mae_loss, w1, x=x, y=y), w2), atol=1e-6)
    # had x been produced by a trainable embedding E (x = E u), dL/dx would be needed: E's gradient is dL/dx u^T
    rng = np.random.default_rng(51)
    w1, w2, _, y = _mae_network(52)
    emb, u = rng.normal(size=(4, 4)), rng.normal(size=4)
    h1 = _sigmoid(w1 @ emb @ u)
    dl_dx = w1.T @ ((w2.T @ np.sign(w2 @ h1 - y)) * h1 * (1 - h1))
    assert np.allclose(np.outer(dl_dx, u), numeric_gradient(lambda e: _mae_loss(w1, w2, e @ u, y), emb), atol=1e-6)


# --- 1.5 skip connections --------------------------------------------------------------------


@value
def residual_input_gradient():
    """The key of 1.5a: dl/dx = (I + J1)^T grad L(y1), and its dimension (the rows of that column vector)."""
    identity, jacobian = _matrix_symbol(r"\mathbf{I}"), _matrix_symbol(r"\mathbf{J}_1")
    # (I + J1)^T = I + J1^T: the identity is its own transpose
    gradient = sp.MatAdd(identity, jacobian.T) * _matrix_symbol(r"\nabla L(\mathbf{y}_1)", D_SYM, 1)
    return (gradient, gradient.shape[0])


@value
def residual_weight_gradient():
    """The key of 1.5b: the backward recursion g_n = grad L(y_n), g_{j-1} = (I + J_j)^T g_j, and
    dl/dW_k = (phi'(W_k y_{k-1}) o g_k) y_{k-1}^T for f(y, W) = phi(W y)."""
    def column(name):
        return _matrix_symbol(name, D_SYM, 1)

    start = sp.Eq(column(r"\mathbf{g}_n"), column(r"\nabla L(\mathbf{y}_n)"), evaluate=False)
    step = sp.Eq(column(r"\mathbf{g}_{j-1}"),
                 sp.MatAdd(_matrix_symbol(r"\mathbf{I}"), _matrix_symbol(r"\mathbf{J}_j").T) * column(r"\mathbf{g}_j"),
                 evaluate=False)
    weights = sp.HadamardProduct(column(r"\varphi'(\mathbf{W}_k\mathbf{y}_{k-1})"), column(r"\mathbf{g}_k")) \
        * column(r"\mathbf{y}_{k-1}").T
    return (start, step, weights)


def _residual_forward(ws, x):
    ys = [x]
    for w in ws:
        ys.append(np.tanh(w @ ys[-1]) + ys[-1])
    return ys


def _residual_loss(ys):
    return np.sum(np.log1p(np.exp(ys[-1]))) + 0.5 * np.sum(ys[-1] ** 2)


def _residual_loss_gradient(y):
    return _sigmoid(y) + y


@checks("1.5a")
def test_input_gradient_of_one_residual_block():
    rng = np.random.default_rng(5)
    for d in (1, 3, 6):
        w = rng.normal(size=(d, d))
        x = rng.normal(size=d)
        ys = _residual_forward([w], x)
        jacobian = (1 - np.tanh(w @ x) ** 2)[:, None] * w        # df/dx
        formula = (jacobian + np.eye(d)).T @ _residual_loss_gradient(ys[1])
        numeric = numeric_gradient(lambda v: _residual_loss(_residual_forward([w], v)), x)
        assert formula.shape == (d,) and np.allclose(formula, numeric, atol=1e-7)


@checks("1.5b")
def test_weight_gradients_through_a_stack_of_residual_blocks():
    rng = np.random.default_rng(6)
    d, n = 3, 5
    ws = [rng.normal(size=(d, d)) * 0.7 for _ in range(n)]
    x = rng.normal(size=d)
    ys = _residual_forward(ws, x)
    for k in range(1, n):  # 1 <= k < n
        g = _residual_loss_gradient(ys[n])
        for j in range(n, k, -1):  # g_k = prod_{j=k+1}^{n} (I + J_j)^T grad L
            jac = (1 - np.tanh(ws[j - 1] @ ys[j - 1]) ** 2)[:, None] * ws[j - 1]
            g = (np.eye(d) + jac).T @ g
        formula = np.outer((1 - np.tanh(ws[k - 1] @ ys[k - 1]) ** 2) * g, ys[k - 1])

        def loss_of(w, k=k):
            trial = list(ws)
            trial[k - 1] = w
            return _residual_loss(_residual_forward(trial, x))

        assert np.allclose(formula, numeric_gradient(loss_of, ws[k - 1]), atol=1e-6)


@checks("1.5a")
def test_the_key_of_1_5a_evaluated_on_random_blocks_is_the_finite_difference_gradient():
    formula, dimension = residual_input_gradient()
    rng = np.random.default_rng(151)
    for d in (1, 3, 6):
        w, x = rng.normal(size=(d, d)), rng.normal(size=d)
        y1 = _residual_forward([w], x)[1]
        numbers = {r"\mathbf{I}": np.eye(d), r"\mathbf{J}_1": (1 - np.tanh(w @ x) ** 2)[:, None] * w,
                   r"\nabla L(\mathbf{y}_1)": _residual_loss_gradient(y1)[:, None]}
        value_ = _evaluate_matrix_expression(formula, numbers)
        numeric = numeric_gradient(lambda v, w=w: _residual_loss(_residual_forward([w], v)), x)
        assert value_.shape == (int(dimension.subs(D_SYM, d)), 1)
        assert np.allclose(value_[:, 0], numeric, atol=1e-7)


@checks("1.5b")
def test_the_key_of_1_5b_run_as_a_recursion_gives_the_finite_difference_weight_gradients():
    start, step, weights = residual_weight_gradient()
    # each equation defines one gradient: its left side is that gradient alone, what the loop below assigns
    assert [(type(e.lhs), e.lhs.name) for e in (start, step)] == \
        [(sp.MatrixSymbol, r"\mathbf{g}_n"), (sp.MatrixSymbol, r"\mathbf{g}_{j-1}")]
    rng = np.random.default_rng(152)
    d, n = 3, 5
    ws = [rng.normal(size=(d, d)) * 0.7 for _ in range(n)]
    x = rng.normal(size=d)
    ys = _residual_forward(ws, x)
    g = _evaluate_matrix_expression(start.rhs, {r"\nabla L(\mathbf{y}_n)": _residual_loss_gradient(ys[n])[:, None]})
    for k in range(n, 0, -1):  # g holds g_k; then step to g_{k-1}
        if k < n:
            numbers = {r"\varphi'(\mathbf{W}_k\mathbf{y}_{k-1})": (1 - np.tanh(ws[k - 1] @ ys[k - 1]) ** 2)[:, None],
                       r"\mathbf{g}_k": g, r"\mathbf{y}_{k-1}": ys[k - 1][:, None]}

            def loss_of(w, k=k):
                trial = list(ws)
                trial[k - 1] = w
                return _residual_loss(_residual_forward(trial, x))

            assert np.allclose(_evaluate_matrix_expression(weights, numbers), numeric_gradient(loss_of, ws[k - 1]),
                               atol=1e-6)
        jacobian = (1 - np.tanh(ws[k - 1] @ ys[k - 1]) ** 2)[:, None] * ws[k - 1]
        g = _evaluate_matrix_expression(step.rhs, {r"\mathbf{I}": np.eye(d), r"\mathbf{J}_j": jacobian,
                                                   r"\mathbf{g}_j": g})


# =============================================================================================
# Problem 2: convolutional and recurrent networks
# =============================================================================================

# --- 2.1 convolution theory: the moving average of width 5 -----------------------------------

OMEGA = sp.Symbol("omega", positive=True)
Z_SYM = sp.Symbol("z")
I_SYM = sp.Symbol("i", integer=True)


@value
def ma_support():
    """The support of the filter h: the five taps i = -2, ..., 2."""
    return list(range(-2, 3))


@value
def ma_weight():
    """h[i] = 1/5 on the support."""
    return Fraction(1, 5)


def _ma_filter_numpy():
    return np.full(5, float(ma_weight()))


# a sample f[n] of the signal: a sympy function named f, written with square brackets as in the exam
SIGNAL = type("f", (sp.Function,), {"_latex": lambda self, printer: f"f[{printer._print(self.args[0])}]"})
LAG = sp.Symbol("m", integer=True, nonnegative=True)
T_REAL = sp.Symbol("t", real=True)


@value
def ma_convolution():
    """The key of 2.1a: (h * f)[i] = sum_k h[k] f[i - k] over the support of h, with the common weight in front."""
    samples = sp.Add(*(SIGNAL(I_SYM - k) for k in sorted(ma_support(), reverse=True)), evaluate=False)
    return sp.Mul(sp.Rational(ma_weight()), samples, evaluate=False)


@value
def ma_characteristic_polynomial():
    """h * f = f is the recurrence sum_k h[k] f[i-k] = f[i]; with f[i] = z^i it becomes this polynomial.

    5 z^2 (sum_k h[k] z^{-k} - 1), a polynomial of degree 4, factored.
    """
    expression = sum(sp.Rational(ma_weight()) * Z_SYM ** (-k) for k in ma_support()) - 1
    return sp.factor(sp.expand(expression * Z_SYM ** 2 / sp.Rational(ma_weight())))


@value
def ma_characteristic_roots():
    """Its roots with multiplicities: 1 (double) and (-3 +- sqrt 5)/2."""
    return sp.roots(sp.Poly(ma_characteristic_polynomial(), Z_SYM))


@value
def ma_fixed_point_general():
    """Every signal with h * f = f: a + b i + c r1^i + e r2^i (the recurrence has order 4)."""
    a, b, c, e = sp.symbols("a b c e", real=True)
    simple = sorted((r for r, multiplicity in ma_characteristic_roots().items() if multiplicity == 1),
                    key=lambda r: float(r), reverse=True)
    return a + b * I_SYM + c * simple[0] ** I_SYM + e * simple[1] ** I_SYM


@value
def ma_simple_roots():
    """The two roots other than 1, as numbers: (-3 + sqrt 5)/2 and (-3 - sqrt 5)/2."""
    return sorted((r for r, multiplicity in ma_characteristic_roots().items() if multiplicity == 1),
                  key=lambda r: float(r), reverse=True)


@value
def ma_output_mean():
    return 0


@value
def ma_output_variance():
    """Var y[i] = sum_k h[k]^2 for unit-variance uncorrelated inputs."""
    return sum(ma_weight() ** 2 for _ in ma_support())


@value
def ma_output_moments():
    """The key of 2.1c: the mean and the variance of (h * f)[i]."""
    return (ma_output_mean(), ma_output_variance())


@value
def ma_autocovariance():
    """E[y[i] y[i+m]] for lags m = 0, ..., 5: the number of shared taps times h^2."""
    taps = set(ma_support())
    return {lag: sum(ma_weight() ** 2 for k in taps if k + lag in taps) for lag in range(6)}


@value
def ma_output_covariance():
    """The key of 2.1d: E[y[i] y[j]] as a function of the lag m = |i - j|, the number of taps the two windows share
    (len(support) - m while positive) times h^2."""
    width = len(ma_support())
    shared = sp.Add(width, -LAG, evaluate=False)
    per_tap = sp.Rational(ma_weight()) ** 2
    over = sp.Pow(sp.Integer(per_tap.q), -1, evaluate=False)  # h^2 = 1/25: (5 - m)/25
    return sp.Piecewise((sp.Mul(shared, per_tap.p * over, evaluate=False), LAG < width), (0, True))


@value
def ma_covariance_size():
    """How many consecutive outputs the covariance matrix shows."""
    return 7


@value
def ma_covariance_scaled():
    """25 times the covariance matrix of (y[1], ..., y[7]): a banded Toeplitz matrix of integers."""
    n = ma_covariance_size()
    auto = ma_autocovariance()
    scale = 1 / ma_weight() ** 2
    return sp.Matrix(n, n, lambda i, j: int(auto.get(abs(i - j), 0) * scale))


@value
def ma_covariance_scale():
    return ma_weight() ** 2


@value
def ma_covariance_denominator():
    """1 / h^2 = 25, the common denominator of the covariances."""
    return int(1 / ma_weight() ** 2)


@value
def ma_gain():
    """The gain G(omega) = sum_k h[k] cos(omega k) of the symmetric filter, with the common factor 1/5 in front."""
    total = sum(sp.cos(OMEGA * k) for k in ma_support())
    return sp.Mul(sp.Rational(ma_weight()), total, evaluate=False)


@value
def ma_gain_closed_form():
    """The same gain as a ratio of sines (a Dirichlet kernel)."""
    return sp.sin(5 * OMEGA / 2) / (5 * sp.sin(OMEGA / 2))


@value
def ma_gain_series():
    """G(omega) = 1 - omega^2 + O(omega^4)."""
    return sp.series(ma_gain(), OMEGA, 0, 4)


@value
def ma_gain_first_zero():
    """The smallest omega > 0 with G(omega) = 0: a sinusoid of period 5 is removed completely."""
    zeros = sp.solve(sp.sin(5 * OMEGA / 2), OMEGA)  # the numerator of the closed form; omega > 0
    return min(zeros, key=float)


@value
def ma_period_ratio():
    """The key of 2.1e: the period of y = alpha G(omega) sin(omega i) over that of f = alpha sin(omega i), by sympy's
    periodicity on the real line (G(omega) does not depend on i)."""
    alpha = sp.Symbol("alpha", positive=True)
    f = alpha * sp.sin(OMEGA * T_REAL)
    y = alpha * ma_gain() * sp.sin(OMEGA * T_REAL)
    return sp.simplify(sp.periodicity(y, T_REAL) / sp.periodicity(f, T_REAL))


@value
def ma_example():
    """The sinusoid of part (e) with alpha = 1 and omega = pi/8 (period 16), and its filtered version."""
    omega = math.pi / 8
    i = np.arange(0, 33)
    f = np.sin(omega * i)
    padded = np.sin(omega * np.arange(-2, 35))
    y = np.convolve(padded, _ma_filter_numpy(), mode="valid")
    return {"omega": sp.pi / 8, "period": 16, "gain": float(ma_gain().subs(OMEGA, sp.pi / 8).evalf(30)),
            "f": np.column_stack([i, f]), "y": np.column_stack([i, y])}


@value
def ma_weight_sum():
    """sum_k |h[k]| = 1, the constant in the bound of part (f)."""
    return sum(abs(ma_weight()) for _ in ma_support())


def test_the_moving_average_is_numpy_convolution():
    rng = np.random.default_rng(21)
    f = rng.normal(size=40)
    full = np.convolve(f, _ma_filter_numpy(), mode="valid")  # (h * f)[i] for i = 2 .. 37
    by_definition = [sum(f[i - k] for k in ma_support()) * float(ma_weight()) for i in range(2, 38)]
    assert np.allclose(full, by_definition)
    assert ma_support() == [-2, -1, 0, 1, 2] and ma_weight() == Fraction(1, 5)


@checks("2.1a")
def test_the_key_of_2_1a_on_a_random_signal_is_numpy_convolution():
    rng = np.random.default_rng(211)
    signal = rng.normal(size=40)
    reference = np.convolve(signal, _ma_filter_numpy(), mode="same")
    for i in range(2, 38):
        at_i = ma_convolution().subs(I_SYM, i).replace(SIGNAL, lambda n: sp.Float(signal[int(n)], 30))
        assert math.isclose(float(at_i), reference[i], rel_tol=1e-12, abs_tol=1e-12)


@checks("2.1d")
def test_the_key_of_2_1d_is_the_autocorrelation_of_the_filter_and_matches_simulation():
    taps = _ma_filter_numpy()
    autocorrelation = np.correlate(taps, taps, mode="full")[len(taps) - 1:]  # lags 0, 1, ..., 4
    for m in range(9):
        expected = autocorrelation[m] if m < len(taps) else 0.0
        assert math.isclose(float(ma_output_covariance().subs(LAG, m)), expected, rel_tol=1e-12, abs_tol=1e-15)
    rng = np.random.default_rng(212)
    y = np.convolve(rng.normal(size=400_000), taps, mode="valid")
    for m in (0, 2, 5):
        empirical = float(np.mean(y[: len(y) - m] * y[m:]))
        assert abs(empirical - float(ma_output_covariance().subs(LAG, m))) < 0.005


@checks("2.1c")
def test_the_moments_of_the_key_of_2_1c_by_the_filter_taps_and_by_simulation():
    mean, variance = ma_output_moments()
    taps = _ma_filter_numpy()
    assert float(mean) == float(taps.sum()) * 0.0 and math.isclose(float(variance), float(taps @ taps), rel_tol=1e-15)
    rng = np.random.default_rng(213)
    y = np.convolve(rng.normal(size=300_000), taps, mode="valid")
    assert abs(y.mean() - float(mean)) < 0.005 and abs(y.var() - float(variance)) < 0.005


def _smallest_period(samples, tol=1e-9):
    """The smallest p >= 1 with samples[i + p] == samples[i] for every i of the window, or None."""
    for p in range(1, len(samples) // 2):
        if np.allclose(samples[p:], samples[:-p], rtol=0, atol=tol):
            return p
    return None


@checks("2.1e")
def test_the_key_of_2_1e_is_the_ratio_of_the_periods_direct_convolution_shows():
    for numerator, denominator in ((1, 16), (3, 16), (1, 20), (2, 7)):
        omega = 2 * math.pi * numerator / denominator
        i = np.arange(-2, 200)
        f = 1.7 * np.sin(omega * i)
        y = np.convolve(f, _ma_filter_numpy(), mode="valid")
        assert _smallest_period(y) / _smallest_period(f[2:-2]) == float(ma_period_ratio())


def test_every_fixed_point_of_the_filter_is_in_the_four_dimensional_family():
    # (1) each basis signal is left unchanged, checked in exact arithmetic at many i
    roots = ma_simple_roots()
    for basis in (sp.Integer(1), I_SYM, roots[0] ** I_SYM, roots[1] ** I_SYM):
        for i in range(-6, 7):
            filtered = sum(sp.Rational(1, 5) * basis.subs(I_SYM, i - k) for k in range(-2, 3))
            assert abs(sp.N(filtered - basis.subs(I_SYM, i), 60)) < sp.Float(10) ** -45
    # (2) the general solution is unchanged too, for random coefficients
    general = ma_fixed_point_general()
    rng = np.random.default_rng(4)
    coefficients = dict(zip(sorted(general.free_symbols - {I_SYM}, key=str), rng.normal(size=4)))
    numeric = sp.lambdify(I_SYM, general.subs(coefficients), "mpmath")
    for i in range(-5, 6):
        assert abs(sum(numeric(i - k) for k in range(-2, 3)) / 5 - numeric(i)) < 1e-9 * (1 + abs(numeric(i)))
    # (3) on a window of N samples the constraints (h*f)[i] = f[i] at the N - 4 interior points
    #     leave exactly a 4-dimensional space: no other fixed point exists
    n = 30
    constraints = np.zeros((n - 4, n))
    for row, i in enumerate(range(2, n - 2)):
        constraints[row, i - 2:i + 3] = 0.2
        constraints[row, i] -= 1
    assert n - np.linalg.matrix_rank(constraints) == 4
    assert sum(ma_characteristic_roots().values()) == 4 and ma_characteristic_roots()[1] == 2


def test_the_printed_family_has_unit_coefficients_on_the_basis_signals_from_numpy_roots():
    # f[i] = a + b i + c r1^i + e r2^i: the derivative in each free coefficient is one basis signal
    # (1, i, r1^i, r2^i) with coefficient one, and nothing else is left over; r1 > r2 are the two roots
    # of z^4 + z^3 - 4 z^2 + z + 1 other than 1, found here by numpy (tolerance 1e-9, relative)
    general = ma_fixed_point_general()
    symbols = sorted(general.free_symbols - {I_SYM}, key=str)
    assert [str(s) for s in symbols] == ["a", "b", "c", "e"]
    roots = np.sort(np.roots([1, 1, -4, 1, 1]).real)
    simple = [roots[1], roots[0]]  # the double root 1 is the largest pair; keep the others, larger first
    assert np.allclose(roots[2:], 1, atol=1e-6)
    basis = [lambda i: 1.0, lambda i: float(i), lambda i: simple[0] ** i, lambda i: simple[1] ** i]
    for symbol, signal in zip(symbols, basis):
        derivative_in_symbol = sp.lambdify(I_SYM, sp.diff(general, symbol), "mpmath")
        for i in range(-4, 5):
            assert abs(float(derivative_in_symbol(i)) - signal(i)) <= 1e-9 * (1 + abs(signal(i)))
    remainder = general.subs({s: 0 for s in symbols})
    assert remainder == 0


def test_characteristic_polynomial_and_roots_match_numpy():
    coefficients = [float(c) for c in sp.Poly(ma_characteristic_polynomial(), Z_SYM).all_coeffs()]
    assert coefficients == [1, 1, -4, 1, 1]
    numeric = np.sort(np.roots(coefficients).real)
    expected = np.sort([1.0, 1.0] + [float(r) for r in ma_simple_roots()])
    assert np.allclose(numeric, expected, atol=1e-6)
    assert math.isclose(float(ma_simple_roots()[0]) * float(ma_simple_roots()[1]), 1.0)


def test_mean_variance_and_covariance_of_the_output_by_monte_carlo():
    rng = np.random.default_rng(22)
    samples = 200_000
    n = ma_covariance_size()
    f = rng.normal(size=(samples, n + 4))
    y = sum(f[:, 2 - k: 2 - k + n] for k in range(-2, 3)) / 5  # y[j] for j = 0..n-1
    standard_error = 1 / math.sqrt(samples)
    assert abs(y.mean()) < 5 * standard_error
    assert abs(y[:, 0].var() - float(ma_output_variance())) < 0.005
    empirical = np.cov(y, rowvar=False)
    exact = np.array(ma_covariance_scaled(), dtype=float) * float(ma_covariance_scale())
    assert np.abs(empirical - exact).max() < 0.005
    auto = ma_autocovariance()
    assert [auto[m] for m in range(6)] == [Fraction(5 - m, 25) if m < 5 else 0 for m in range(6)]
    assert ma_output_variance() == auto[0] and ma_output_mean() == 0
    assert all(auto[m] == Fraction(max(5 - m, 0), ma_covariance_denominator()) for m in range(6))


def test_a_sinusoid_comes_out_with_the_same_frequency_scaled_by_the_gain():
    rng = np.random.default_rng(23)
    gain = sp.lambdify(OMEGA, ma_gain(), "numpy")
    closed = sp.lambdify(OMEGA, ma_gain_closed_form(), "numpy")
    for _ in range(20):
        alpha, omega = rng.uniform(0.1, 3), rng.uniform(0.01, 3)
        i = np.arange(-2, 60)
        y = np.convolve(alpha * np.sin(omega * i), _ma_filter_numpy(), mode="valid")
        assert np.allclose(y, alpha * gain(omega) * np.sin(omega * i[2:-2]), atol=1e-12)
        assert math.isclose(gain(omega), closed(omega), rel_tol=1e-9, abs_tol=1e-12)
    series = sp.lambdify(OMEGA, ma_gain_series().removeO(), "numpy")
    for omega in (0.01, 0.05, 0.1):
        assert abs(gain(omega) - series(omega)) < omega ** 4
    example = ma_example()
    assert np.allclose(np.asarray(example["y"])[:, 1], example["gain"] * np.asarray(example["f"])[:, 1])
    assert math.isclose(example["gain"], gain(math.pi / 8)) and example["period"] == 16
    assert abs(gain(float(ma_gain_first_zero()))) < 1e-12 and gain(1.2) > 0


def test_the_output_never_exceeds_alpha():
    rng = np.random.default_rng(24)
    for _ in range(200):
        alpha, omega = rng.uniform(0.1, 5), rng.uniform(0.001, math.pi)
        i = np.arange(-2, 2000)
        y = np.convolve(alpha * np.sin(omega * i), _ma_filter_numpy(), mode="valid")
        assert y.max() <= alpha * float(ma_weight_sum()) + 1e-12
    grid = np.linspace(1e-6, 2 * math.pi, 20001)
    gain = sp.lambdify(OMEGA, ma_gain(), "numpy")(grid)
    assert np.abs(gain).max() <= 1 + 1e-12 and ma_weight_sum() == 1


# --- 2.2 convolutional networks for text -----------------------------------------------------

# \mathit{n} prints as n but sorts before l, so that sympy writes n - l + 1 rather than -l + n + 1
N_WORDS = sp.Symbol(r"\mathit{n}", positive=True, integer=True)
M_FILTERS, L_WINDOW = sp.symbols("m l", positive=True, integer=True)


@value
def conv_param_count():
    """m filters, each of d x l weights plus one bias."""
    return M_FILTERS * (D_SYM * L_WINDOW + 1)


@value
def conv_output_shape():
    """m feature maps, each with one entry per window position: n - l + 1."""
    return (M_FILTERS, N_WORDS - L_WINDOW + 1)


def _conv1d_layer(d, m, l_window, rng):
    return {"W": rng.normal(size=(m, d, l_window)), "b": rng.normal(size=m)}


def _conv1d(layer, x):
    m, d, l_window = layer["W"].shape
    n = x.shape[1]
    return np.array([[np.sum(layer["W"][j] * x[:, s:s + l_window]) + layer["b"][j] for s in range(n - l_window + 1)]
                     for j in range(m)])


@value
def inception_example():
    """A 1x1 bottleneck before a second convolution (window 3, 256 filters) on 256 feature maps."""
    m, reduced, window, out = 256, 64, 3, 256
    direct = out * (window * m + 1)
    bottleneck = reduced * (m + 1) + out * (window * reduced + 1)
    return {"m": m, "reduced": reduced, "window": window, "out": out, "direct": direct,
            "bottleneck": bottleneck, "ratio": direct / bottleneck}


def test_conv_layer_parameters_and_output_shape_by_building_it():
    rng = np.random.default_rng(31)
    for d, n, m, l_window in ((3, 10, 4, 2), (5, 7, 2, 3), (2, 6, 3, 6), (4, 12, 5, 1)):
        layer = _conv1d_layer(d, m, l_window, rng)
        count = sum(array.size for array in layer.values())
        subs = {D_SYM: d, N_WORDS: n, M_FILTERS: m, L_WINDOW: l_window}
        assert count == conv_param_count().subs(subs)
        out = _conv1d(layer, rng.normal(size=(d, n)))
        assert out.shape == tuple(int(sp.sympify(s).subs(subs)) for s in conv_output_shape())


def test_the_bottleneck_saves_parameters():
    rng = np.random.default_rng(32)
    example = inception_example()
    m, reduced, window, out = example["m"], example["reduced"], example["window"], example["out"]
    direct = {"W": np.zeros((out, m, window)), "b": np.zeros(out)}
    squeeze = {"W": np.zeros((reduced, m, 1)), "b": np.zeros(reduced)}
    second = {"W": np.zeros((out, reduced, window)), "b": np.zeros(out)}
    assert sum(a.size for a in direct.values()) == example["direct"]
    assert sum(a.size for a in squeeze.values()) + sum(a.size for a in second.values()) == example["bottleneck"]
    assert math.isclose(example["ratio"], example["direct"] / example["bottleneck"]) and example["ratio"] > 2.9
    # a 1x1 convolution mixes the feature maps position by position
    small = _conv1d_layer(4, 2, 1, rng)
    x = rng.normal(size=(4, 6))
    assert np.allclose(_conv1d(small, x), small["W"][:, :, 0] @ x + small["b"][:, None])


# --- 2.3 recurrent networks -------------------------------------------------------------------

T_SYM = sp.Symbol("T", positive=True, integer=True)
K_SYM = sp.Symbol("k", positive=True, integer=True)


@value
def mlp_hidden_sizes():
    """The given widths of the two hidden layers."""
    return (20, 10)


@value
def mlp_param_count():
    """Input T d -> 20 -> 10 -> 1 output unit, no biases."""
    h1, h2 = mlp_hidden_sizes()
    return sp.expand(T_SYM * D_SYM * h1 + h1 * h2 + h2 * 1)


@value
def mlp_param_count_hidden_only():
    """The count without the output unit, for the reading that counts only the hidden layers."""
    h1, h2 = mlp_hidden_sizes()
    return sp.expand(T_SYM * D_SYM * h1 + h1 * h2)


@value
def rnn_param_count():
    """An Elman RNN with k hidden units and one output, no biases: k d + k^2 + k."""
    return sp.expand(K_SYM * D_SYM + K_SYM ** 2 + K_SYM)


@value
def rnn_width_formula():
    """The positive root k of k^2 + (d+1) k = 20 T d + 210."""
    roots = sp.solve(sp.Eq(rnn_param_count(), mlp_param_count()), K_SYM)
    root = roots[0] if len(roots) == 1 else max(roots, key=lambda r: float(r.subs({T_SYM: 10, D_SYM: 10})))
    discriminant = sp.expand((D_SYM + 1) ** 2 + 4 * mlp_param_count())
    tidy = sp.Mul(sp.Rational(1, 2), sp.Add(sp.sqrt(discriminant), -(D_SYM + 1), evaluate=False), evaluate=False)
    if sp.simplify(tidy.doit() - root) != 0:
        raise ArithmeticError("width formula")
    return tidy


@value
def rnn_example():
    """Sizes where the root is an integer: T = 42 words of dimension d = 128 give k = 270."""
    t, d = 42, 128
    k = rnn_width_formula().subs({T_SYM: t, D_SYM: d})
    return {"T": t, "d": d, "k": int(k), "count": int(mlp_param_count().subs({T_SYM: t, D_SYM: d}))}


M_SYM = sp.Symbol("m", positive=True, integer=True)
J_SYM = sp.Symbol("j", nonnegative=True, integer=True)


@value
def rnn_readout_count():
    """The RNN with a readout layer: U (k x d), W (k x k), A (m x k), a bias on j of the m readout units, and the
    output weights w (m): k d + k^2 + m k + j + m."""
    return sp.expand(K_SYM * D_SYM + K_SYM ** 2 + M_SYM * K_SYM + J_SYM + M_SYM)


@functools.lru_cache(maxsize=4)
def _mlp_count_function(count):
    """The MLP's parameter count as a fast integer function of (T, d)."""
    return sp.lambdify((T_SYM, D_SYM), count, modules="math")


def _rnn_construction(t, d):
    """(k, m, j) for sequences of T = t vectors in R^d: the widest k with k(k+d) + k(k+1) <= P, then the readout
    layer takes the rest, P - k(k+d) = m(k+1) + j with 0 <= j <= k (integer division by k + 1)."""
    target = int(_mlp_count_function(mlp_param_count())(t, d))
    k = math.isqrt(((d + 1) ** 2 + 8 * target)) // 4 + 1
    while k * (2 * k + d + 1) > target:
        k -= 1
    m, j = divmod(target - k * (k + d), k + 1)
    return {"T": t, "d": d, "k": k, "m": m, "j": j, "count": target}


@value
def rnn_constructions():
    """The construction for a few sequence shapes, from one word of dimension 1 to long sequences of wide vectors."""
    return [_rnn_construction(t, d) for t, d in ((1, 1), (5, 50), (20, 300), (42, 128), (100, 1000))]


@value
def rnn_construction_range():
    """The shapes on which a test builds the construction and counts its parameters: every T and d up to these."""
    return {"T": 100, "d": 1000}


def _build_mlp(t, d, rng):
    h1, h2 = mlp_hidden_sizes()
    return {"W1": rng.normal(size=(h1, t * d)), "W2": rng.normal(size=(h2, h1)), "w3": rng.normal(size=(1, h2))}


def _build_rnn(k, d, rng):
    return {"U": rng.normal(size=(k, d)), "W": rng.normal(size=(k, k)), "v": rng.normal(size=(1, k))}


def test_mlp_and_rnn_parameter_counts_by_building_the_layers():
    rng = np.random.default_rng(41)
    for t, d in ((3, 2), (5, 7), (12, 4)):
        mlp = _build_mlp(t, d, rng)
        assert sum(a.size for a in mlp.values()) == mlp_param_count().subs({T_SYM: t, D_SYM: d})
        assert sum(a.size for name, a in mlp.items() if name != "w3") == \
            mlp_param_count_hidden_only().subs({T_SYM: t, D_SYM: d})
        x = rng.normal(size=(t, d))
        out = mlp["w3"] @ np.tanh(mlp["W2"] @ np.tanh(mlp["W1"] @ x.reshape(-1)))
        assert out.shape == (1,)
    for k, d in ((1, 1), (4, 3), (9, 5)):
        rnn = _build_rnn(k, d, rng)
        assert sum(a.size for a in rnn.values()) == rnn_param_count().subs({K_SYM: k, D_SYM: d})


def test_the_rnn_example_has_exactly_the_mlps_number_of_parameters():
    example = rnn_example()
    rng = np.random.default_rng(42)
    mlp = _build_mlp(example["T"], example["d"], rng)
    rnn = _build_rnn(example["k"], example["d"], rng)
    assert sum(a.size for a in mlp.values()) == sum(a.size for a in rnn.values()) == example["count"]
    # the RNN runs on a sequence of the given length and returns one score
    h = np.zeros(example["k"])
    for x_t in rng.normal(size=(example["T"], example["d"])) * 0.01:
        h = np.tanh(rnn["U"] @ x_t + rnn["W"] @ h * 0.01)
    assert (rnn["v"] @ h).shape == (1,)
    # the width formula is the positive root, checked on random sizes
    for t, d in ((3, 4), (50, 300), (7, 1)):
        k = float(rnn_width_formula().subs({T_SYM: t, D_SYM: d}))
        assert k > 0 and math.isclose(k * k + (d + 1) * k, 20 * t * d + 210, rel_tol=1e-12)


def _construction_shapes(k, m, j, d):
    return [(k, d), (k, k), (m, k), (j,), (m,)]


def test_the_rnn_construction_matches_the_mlp_for_every_shape_in_range():
    limits = rnn_construction_range()
    assert limits == {"T": 100, "d": 1000}
    h1, h2 = 20, 10
    for t in range(1, limits["T"] + 1):
        for d in range(1, limits["d"] + 1):
            c = _rnn_construction(t, d)
            k, m, j = c["k"], c["m"], c["j"]
            mlp = [(h1, t * d), (h2, h1), (1, h2)]                       # the MLP's arrays, counted directly
            assert sum(math.prod(s) for s in _construction_shapes(k, m, j, d)) == sum(math.prod(s) for s in mlp)
            assert k >= 1 and 0 <= j <= k <= m                           # j biases fit on the m readout units
            assert (k + 1) * (2 * (k + 1) + d + 1) > c["count"]          # and k is the widest the rule allows
    assert [(c["T"], c["d"]) for c in rnn_constructions()] == [(1, 1), (5, 50), (20, 300), (42, 128), (100, 1000)]
    for c in rnn_constructions():
        assert c == _rnn_construction(c["T"], c["d"])
        assert c["count"] == 20 * c["T"] * c["d"] + 210


def test_the_rnn_construction_runs_and_its_count_formula_holds():
    rng = np.random.default_rng(43)
    for c in rnn_constructions()[:3]:
        k, m, j, d = c["k"], c["m"], c["j"], c["d"]
        arrays = [rng.normal(size=s) * 0.1 for s in _construction_shapes(k, m, j, d)]
        u, w, a, bias, out = arrays
        assert sum(x.size for x in arrays) == c["count"]
        assert rnn_readout_count().subs({K_SYM: k, D_SYM: d, M_SYM: m, J_SYM: j}) == c["count"]
        h = np.zeros(k)
        for x_t in rng.normal(size=(c["T"], d)):
            h = np.tanh(u @ x_t + w @ h)
        g = np.tanh(a @ h + np.concatenate([bias, np.zeros(m - j)]))
        assert np.isfinite(np.tanh(out @ g))
    # the count formula on random widths, against the shapes
    for _ in range(50):
        k, m, d = (int(v) for v in rng.integers(1, 40, size=3))
        j = int(rng.integers(0, m + 1))
        assert rnn_readout_count().subs({K_SYM: k, D_SYM: d, M_SYM: m, J_SYM: j}) == \
            sum(math.prod(s) for s in _construction_shapes(k, m, j, d))


def _tied_rnn_loss(ws, u, xs):
    """An RNN whose step t uses its own copy W^(t) of the recurrent matrix; loss |h_T|^2 / 2."""
    h = np.zeros(u.shape[0])
    for w, x in zip(ws, xs):
        h = np.tanh(w @ h + u @ x)
    return 0.5 * np.sum(h ** 2)


@checks("2.3c")
def test_the_gradient_of_a_tied_weight_is_the_sum_of_the_per_step_gradients():
    rng = np.random.default_rng(43)
    k, d, t = 3, 2, 6
    w, u = rng.normal(size=(k, k)), rng.normal(size=(k, d))
    xs = rng.normal(size=(t, d))
    tied = numeric_gradient(lambda v: _tied_rnn_loss([v] * t, u, xs), w)
    per_step = []
    for step in range(t):
        def loss_of_copy(v, step=step):
            ws = [w] * t
            ws = ws[:step] + [v] + ws[step + 1:]
            return _tied_rnn_loss(ws, u, xs)
        per_step.append(numeric_gradient(loss_of_copy, w))
    assert np.allclose(tied, sum(per_step), atol=1e-8)
    assert not np.allclose(per_step[0], per_step[-1])  # the copies really do get different gradients


@value
def forget_horizon():
    """A horizon for the illustration of part (d): 50 steps."""
    return 50


@value
def forget_bias_table():
    """sigma(b_f) and the factor sigma(b_f)^50 by which the cell-state gradient shrinks over 50 steps."""
    rows = []
    for b in (0, 1, 3, 5):
        s = 1 / (1 + math.exp(-b))
        rows.append({"b": b, "gate": s, "retained": s ** forget_horizon()})
    return rows


FORGET_BIAS = sp.Symbol("b_f", real=True)


@value
def forget_bias_condition():
    """The key of 2.3d: the initial forget biases whose gate sigma(b_f) is nearer to 1 than the default's
    sigma(0) = 1/2, so that the product of the gates along the cell state decays more slowly; solved by sympy."""
    gate = 1 / (1 + sp.exp(-FORGET_BIAS))
    return sp.solve_univariate_inequality(gate > gate.subs(FORGET_BIAS, 0), FORGET_BIAS, relational=True)


def _scalar_lstm_cell_trajectory(c0, xs, params):
    """A scalar LSTM; returns C_T. The gates see x_t and h_{t-1}."""
    c, h = c0, 0.0
    for x in xs:
        f = _sigmoid(params["wf_x"] * x + params["wf_h"] * h + params["bf"])
        i = _sigmoid(params["wi_x"] * x + params["wi_h"] * h + params["bi"])
        c_tilde = np.tanh(params["wc_x"] * x + params["wc_h"] * h + params["bc"])
        o = _sigmoid(params["wo_x"] * x + params["wo_h"] * h + params["bo"])
        c = c * f + i * c_tilde
        h = o * np.tanh(c)
    return c


def test_the_cell_state_gradient_is_the_product_of_the_forget_gates():
    rng = np.random.default_rng(44)
    t = forget_horizon()
    xs = rng.normal(size=t)
    for row in forget_bias_table():
        params = {name: rng.normal() * 0.5 for name in ("wf_x", "wi_x", "wc_x", "wo_x", "bi", "bc", "bo")}
        params.update(wf_h=0.0, wi_h=0.0, wc_h=0.0, wo_h=0.0, bf=row["b"])  # isolate the cell path
        # complex-step derivative: exact to rounding, even for factors as small as 1e-17
        numeric = _scalar_lstm_cell_trajectory(0.3 + 1e-30j, xs, params).imag / 1e-30
        gates = _sigmoid(params["wf_x"] * xs + row["b"])
        assert math.isclose(numeric, np.prod(gates), rel_tol=1e-9)
        # with W_f = 0 at initialisation every gate equals sigma(b_f): the tabulated factor
        params["wf_x"] = 0.0
        numeric = _scalar_lstm_cell_trajectory(0.3 + 1e-30j, xs, params).imag / 1e-30
        assert math.isclose(numeric, row["retained"], rel_tol=1e-9)
        assert math.isclose(row["gate"], 1 / (1 + math.exp(-row["b"])))
    retained = [row["retained"] for row in forget_bias_table()]
    assert retained == sorted(retained) and retained[0] < 1e-14 and retained[-1] > 0.5


@checks("2.3d")
def test_exactly_the_biases_of_the_key_of_2_3d_keep_more_gradient_than_the_default():
    rng = np.random.default_rng(231)
    t = forget_horizon()
    xs = rng.normal(size=t)
    params = {name: rng.normal() * 0.5 for name in ("wi_x", "wc_x", "wo_x", "bi", "bc", "bo")}
    params.update(wf_x=0.0, wf_h=0.0, wi_h=0.0, wc_h=0.0, wo_h=0.0)  # W_f = 0 at initialisation

    def kept(b):  # d C_T / d C_0 by the complex step
        return _scalar_lstm_cell_trajectory(0.3 + 1e-30j, xs, dict(params, bf=b)).imag / 1e-30

    default = kept(0.0)
    for b in (-2.0, -0.5, -0.01, 0.01, 0.5, 1.0, 3.0):
        assert bool(forget_bias_condition().subs(FORGET_BIAS, b)) == (kept(b) > default * (1 + 1e-9)), b


# =============================================================================================
# Problem 3: optimisation and learning theory
# =============================================================================================

# --- 3.1 optimisation paths ------------------------------------------------------------------


@value
def paths_problem():
    """The stand-in least-squares problem of Figure 2: f(w) = 1/2 |X w|^2 with X^T X = H.

    H has eigenvalues 1/2 and 5 (condition number 10), its long axis turned by 30 degrees; all three
    methods start at w0 with the learning rate 0.3, momentum uses beta = 0.7.
    """
    return {"eigenvalues": (Fraction(1, 2), 5), "angle": 30, "start": (-3.5, 1.5), "rate": Fraction(3, 10),
            "beta": Fraction(7, 10), "steps": 30}


def _paths_hessian():
    problem = paths_problem()
    angle = math.radians(problem["angle"])
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return rotation @ np.diag([float(e) for e in problem["eigenvalues"]]) @ rotation.T


def _run_method(method, hessian, start, rate, beta, steps):
    w, velocity, accumulated = np.array(start, dtype=float), np.zeros(2), np.zeros(2)
    path = [w.copy()]
    for _ in range(steps):
        g = hessian @ w
        if method == "gd":
            w = w - rate * g
        elif method == "momentum":
            velocity = beta * velocity - rate * g
            w = w + velocity
        else:  # adagrad
            accumulated += g * g
            w = w - rate * g / np.sqrt(accumulated)
        path.append(w.copy())
    return np.array(path)


@value
def paths_panels():
    """The panels (a), (b), (c) of the rebuilt Figure 2, in the order we chose: Adagrad, GD, momentum."""
    problem = paths_problem()
    hessian = _paths_hessian()
    panels = {}
    for letter, method in zip("abc", ("adagrad", "gd", "momentum")):
        panels[letter] = _run_method(method, hessian, problem["start"], float(problem["rate"]),
                                     float(problem["beta"]), problem["steps"])
    return panels


@value
def paths_level_sets():
    """Level sets f = c of f(w) = 1/2 w^T H w: ellipses with semi-axes sqrt(2c / lambda_i)."""
    lam_small, lam_large = (float(e) for e in paths_problem()["eigenvalues"])
    return [{"a": math.sqrt(2 * c / lam_small), "b": math.sqrt(2 * c / lam_large)} for c in (0.2, 1.0, 3.0, 7.0, 13.0, 22.0)]


def _classify_path(path, rate, hessian):
    """Decide the method from the path alone.

    Adagrad's first step moves every coordinate by exactly the learning rate (g / sqrt(g^2) = sign g).
    Gradient descent and momentum share their first step, -rate * gradient; from the second step on,
    momentum adds beta times the previous step, so its second step is not -rate * gradient.
    """
    first = path[1] - path[0]
    if np.allclose(np.abs(first), rate, rtol=1e-9):
        return "adagrad"
    assert np.allclose(first, -rate * hessian @ path[0])
    second = path[2] - path[1]
    return "gd" if np.allclose(second, -rate * hessian @ path[1]) else "momentum"


@value
def paths_answer():
    """The mapping for the rebuilt figure, decided from the paths: method (i)-(iii) -> panel (a)-(c)."""
    problem = paths_problem()
    hessian = _paths_hessian()
    found = {_classify_path(path, float(problem["rate"]), hessian): letter for letter, path in paths_panels().items()}
    return {"i": found["gd"], "ii": found["momentum"], "iii": found["adagrad"]}


@value
def paths_final_distances():
    """Distance to the minimiser w* = 0 after the 30 steps, per panel."""
    return {letter: float(np.linalg.norm(path[-1])) for letter, path in paths_panels().items()}


@value
def paths_final_by_method():
    """The same distances, keyed by method through the mapping of paths_answer."""
    answer, distances = paths_answer(), paths_final_distances()
    return {"gd": distances[answer["i"]], "momentum": distances[answer["ii"]], "adagrad": distances[answer["iii"]]}


@checks("3.1a")
def test_the_classifier_recognises_each_method_on_random_ill_conditioned_problems():
    rng = np.random.default_rng(51)
    for _ in range(40):
        angle = rng.uniform(0, np.pi)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        lam = np.array([rng.uniform(0.2, 1), rng.uniform(4, 10)])
        hessian = rotation @ np.diag(lam) @ rotation.T
        rate = rng.uniform(1.2, 1.9) / lam[1]  # below 2 / lambda_max: gradient descent converges
        start = rng.uniform(-4, 4, size=2)
        for method in ("gd", "momentum", "adagrad"):
            path = _run_method(method, hessian, start, rate, 0.7, 30)
            assert _classify_path(path, rate, hessian) == method


def test_the_rebuilt_panels_are_mapped_correctly():
    answer = paths_answer()
    assert answer == {"i": "b", "ii": "c", "iii": "a"}
    panels = paths_panels()
    problem = paths_problem()
    # independently of the classifier: rerun each update rule and compare with the panels
    h = _paths_hessian()
    w = np.array(problem["start"])
    for step in range(problem["steps"]):
        w = w - 0.3 * h @ w
    assert np.allclose(panels[answer["i"]][-1], w)
    # Adagrad's first step is (rate, rate) times the sign of minus the gradient
    g0 = h @ np.array(problem["start"])
    assert np.allclose(panels[answer["iii"]][1] - panels[answer["iii"]][0], -0.3 * np.sign(g0))
    distances = paths_final_distances()
    assert distances["a"] > distances["b"] and distances["a"] > distances["c"]
    by_method = paths_final_by_method()
    for method, steps_rule in (("gd", "gd"), ("momentum", "momentum"), ("adagrad", "adagrad")):
        path = _run_method(steps_rule, h, problem["start"], 0.3, 0.7, problem["steps"])
        assert math.isclose(by_method[method], np.linalg.norm(path[-1]))
    # the level sets are f = c: check one point on each ellipse
    lam = np.linalg.eigvalsh(h)
    assert np.allclose(sorted(lam), [0.5, 5.0])
    for ellipse, c in zip(paths_level_sets(), (0.2, 1.0, 3.0, 7.0, 13.0, 22.0)):
        direction = np.linalg.eigh(h)[1][:, 0]
        point = ellipse["a"] * direction
        assert math.isclose(0.5 * point @ h @ point, c)
        point = ellipse["b"] * np.linalg.eigh(h)[1][:, 1]   # the short semi-axis, along the steep direction
        assert math.isclose(0.5 * point @ h @ point, c, rel_tol=1e-9)


def test_every_plotted_path_matches_an_independent_closed_form_or_rerun():
    # the panels against computations that share no code with _run_method, each with the printed rate and
    # beta and the printed start, over the printed number of steps (tolerance 1e-9, the plot prints 1e-3):
    # gradient descent w_t = (I - eta H)^t w0 by eigen-decomposition; momentum (w_t, w_{t-1}) by powers of
    # its 4x4 companion matrix; Adagrad rerun coordinate by coordinate in mpmath at 30 digits
    import mpmath

    problem, panels, answer = paths_problem(), paths_panels(), paths_answer()
    eta, beta, steps = float(problem["rate"]), float(problem["beta"]), problem["steps"]
    w0 = np.array(problem["start"], dtype=float)
    lam = [float(e) for e in problem["eigenvalues"]]
    angle = math.radians(problem["angle"])
    u = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    h = u @ np.diag(lam) @ u.T
    gd = np.array([u @ np.diag([(1 - eta * x) ** t for x in lam]) @ u.T @ w0 for t in range(steps + 1)])
    companion = np.block([[(1 + beta) * np.eye(2) - eta * h, -beta * np.eye(2)], [np.eye(2), np.zeros((2, 2))]])
    momentum = np.array([(np.linalg.matrix_power(companion, t) @ np.concatenate([w0, w0]))[:2]
                         for t in range(steps + 1)])
    mpmath.mp.dps = 30
    hm = mpmath.matrix(h.tolist())
    w, accumulated, adagrad = mpmath.matrix(w0.tolist()), [mpmath.mpf(0)] * 2, [w0.copy()]
    for _ in range(steps):
        g = hm * w
        for j in range(2):
            accumulated[j] += g[j] ** 2
        w = mpmath.matrix([w[j] - eta * g[j] / mpmath.sqrt(accumulated[j]) for j in range(2)])
        adagrad.append(np.array([float(w[0]), float(w[1])]))
    for method, letter, expected in (("gd", answer["i"], gd), ("momentum", answer["ii"], momentum),
                                     ("adagrad", answer["iii"], np.array(adagrad))):
        assert panels[letter].shape == (steps + 1, 2), method
        assert np.allclose(panels[letter], expected, rtol=0, atol=1e-9), method


# --- 3.2 true or false -----------------------------------------------------------------------


def _random_least_squares(seed, n=60, d=6, spread=2.0):
    rng = np.random.default_rng(seed)
    scales = np.exp(np.linspace(0, -spread, d))
    x = rng.normal(size=(n, d)) * scales
    y = x @ rng.normal(size=d) + 0.5 * rng.normal(size=n)
    return x, y


@value
def early_stopping_comparison():
    """Gradient descent from 0 stopped after t steps versus ridge regression with lambda = 1/(alpha t).

    Returned: the relative distance of the early-stopped iterate to the matched ridge solution, and
    to the unregularised least-squares solution, for t = 10, 100, 1000 (condition number about 3800).
    """
    x, y = _random_least_squares(61, spread=4.0)
    hessian = x.T @ x
    alpha = 1 / np.linalg.eigvalsh(hessian).max()
    w_ls = np.linalg.solve(hessian, x.T @ y)
    rows = []
    for t in (10, 100, 1000):
        w = np.zeros(x.shape[1])
        for _ in range(t):
            w = w - alpha * x.T @ (x @ w - y)
        ridge = np.linalg.solve(hessian + np.eye(x.shape[1]) / (alpha * t), x.T @ y)
        rows.append({"t": t, "to_ridge": float(np.linalg.norm(w - ridge) / np.linalg.norm(w)),
                     "to_ls": float(np.linalg.norm(w - w_ls) / np.linalg.norm(w))})
    return rows


@value
def tf_early_stopping():
    """(i) is true: the early-stopped iterate is much closer to the matched ridge solution than to least squares."""
    return all(row["to_ridge"] < 0.5 * row["to_ls"] for row in early_stopping_comparison())


@value
def sgd_step_changes():
    """One SGD step (a single example) on a least-squares problem with d = 6: how many coordinates move."""
    x, y = _random_least_squares(62)
    w = np.zeros(x.shape[1])
    i = 17
    new = w - 0.01 * x[i] * (x[i] @ w - y[i])
    return {"changed": int(np.sum(new != w)), "d": x.shape[1]}


@value
def tf_sgd_fraction():
    """(ii) is false: every coordinate moves."""
    changes = sgd_step_changes()
    return changes["changed"] < changes["d"]


@value
def lipschitz_critical_steps():
    """Gradient descent on f(w) = L w^2 / 2 (gradient Lipschitz with constant L) converges iff alpha < 2/L."""
    return {L: Fraction(2, L) for L in (1, 10, 100)}


@value
def tf_lipschitz():
    """(iii) is true: the largest admissible step shrinks as L grows."""
    steps = lipschitz_critical_steps()
    ordered = [steps[L] for L in sorted(steps)]
    return all(a > b for a, b in zip(ordered, ordered[1:]))


def _saddle_gradient(w):
    """f(x, y) = x^2/2 + y^4/4 - y^2/2: a strict saddle at 0, minima at (0, +-1)."""
    return np.array([w[0], w[1] ** 3 - w[1]])


@value
def saddle_escape():
    """Gradient descent from (1, 0) versus noisy gradient descent (noise 0.01), 200 runs of 300 steps."""
    rng = np.random.default_rng(63)
    w = np.array([1.0, 0.0])
    for _ in range(300):
        w = w - 0.1 * _saddle_gradient(w)
    gd_end = w
    escaped = 0
    runs = 200
    ws = np.tile([1.0, 0.0], (runs, 1))
    for _ in range(300):
        grads = np.column_stack([ws[:, 0], ws[:, 1] ** 3 - ws[:, 1]]) + 0.01 * rng.normal(size=(runs, 2))
        ws = ws - 0.1 * grads
    escaped = int(np.sum(np.abs(np.abs(ws[:, 1]) - 1) < 0.1))
    return {"gd_distance_to_saddle": float(np.linalg.norm(gd_end)), "escaped": escaped, "runs": runs}


@value
def tf_saddle():
    """(iv) is true: plain gradient descent converges to the saddle, the noisy runs all leave it."""
    result = saddle_escape()
    return result["gd_distance_to_saddle"] < 1e-6 and result["escaped"] == result["runs"]


@value
def adagrad_steps():
    return 100


@value
def adagrad_rate():
    return Fraction(1, 10)


@value
def adagrad_mean():
    """The mean gradient shared by the three coordinates of the comparison."""
    return 1


@value
def adagrad_sequences():
    """The repeating patterns of the three gradient sequences, all with mean 1: A always 1, B alternately 2 and 0,
    C alternately 4 and -2."""
    return {"A": (1,), "B": (2, 0), "C": (4, -2)}


@value
def adagrad_noise_levels():
    """The standard deviations of the Gaussian gradients (mean 1) of the Monte Carlo check."""
    return (0, 1, 3)


@value
def adagrad_coordinates():
    """Adagrad's step size after the scheduled steps, and the relative variance Var g / (E g)^2, of each coordinate.

    Exact: the relative variance of a repeating pattern is a Fraction, and the step size rate / sqrt(sum of squares)
    a sympy surd.
    """
    steps, rate = adagrad_steps(), adagrad_rate()
    result = {}
    for name, pattern in adagrad_sequences().items():
        g = [Fraction(pattern[s % len(pattern)]) for s in range(steps)]
        mean = sum(g) / steps
        variance = sum((x - mean) ** 2 for x in g) / steps
        result[name] = {"mean": mean, "relative_variance": variance / mean ** 2,
                        "step": sp.Rational(rate) / sp.sqrt(sp.Rational(sum(x * x for x in g)))}
    return result


@value
def tf_adagrad():
    """(v) is true: at an equal mean gradient, the coordinate with more relative variance gets the smaller step."""
    coordinates = adagrad_coordinates()
    by_variance = sorted(coordinates.values(), key=lambda c: c["relative_variance"])
    return all(a["step"] > b["step"] for a, b in zip(by_variance, by_variance[1:])
               if a["relative_variance"] < b["relative_variance"])


def test_early_stopping_tracks_ridge_in_the_eigenbasis():
    rows = early_stopping_comparison()
    x, y = _random_least_squares(61, spread=4.0)
    lam, vectors = np.linalg.eigh(x.T @ x)
    alpha = 1 / lam.max()
    for row in rows:
        t = row["t"]
        gd_filter = 1 - (1 - alpha * lam) ** t                 # spectral filter of t GD steps from 0
        ridge_filter = lam / (lam + 1 / (alpha * t))           # and of ridge regression
        coefficients = vectors.T @ x.T @ y / lam
        w_gd, w_ridge = vectors @ (gd_filter * coefficients), vectors @ (ridge_filter * coefficients)
        w_ls = vectors @ coefficients
        assert math.isclose(row["to_ridge"], np.linalg.norm(w_gd - w_ridge) / np.linalg.norm(w_gd), rel_tol=1e-6)
        assert math.isclose(row["to_ls"], np.linalg.norm(w_gd - w_ls) / np.linalg.norm(w_gd), rel_tol=1e-6)
    assert tf_early_stopping() is True


def test_sgd_moves_every_coordinate():
    changes = sgd_step_changes()
    x, y = _random_least_squares(62)
    assert (x[17] != 0).all() and y[17] != 0  # the stochastic gradient x_i (x_i.w - y_i) has no zero entry
    assert changes == {"changed": 6, "d": 6} and tf_sgd_fraction() is False


def test_gradient_descent_step_limit_is_two_over_l():
    for L, critical in lipschitz_critical_steps().items():
        for factor, converges in ((0.99, True), (1.01, False)):
            w = 1.0
            for _ in range(5000):
                w -= factor * float(critical) * L * w
            assert (abs(w) < 1e-3) == converges
    assert tf_lipschitz() is True


def test_noise_lets_gradient_descent_leave_the_saddle():
    result = saddle_escape()
    # exact: on the line y = 0 the gradient has no y component, so GD can never leave it
    assert _saddle_gradient(np.array([0.3, 0.0]))[1] == 0
    assert result["gd_distance_to_saddle"] < 1e-6 and result["escaped"] == result["runs"] == 200
    # closed form: from (1, 0) the y coordinate stays 0 and x is multiplied by 1 - 0.1 = 0.9 at each of the 300
    # steps, so the distance is 0.9^300 (exact rational, tolerance 1e-9 relative for 300 rounded products)
    assert math.isclose(result["gd_distance_to_saddle"], float(Fraction(9, 10) ** 300), rel_tol=1e-9)
    assert tf_saddle() is True


def _adagrad_run(gradients, rate):
    """Adagrad on f(w) = sum_t g_t w, one row of `gradients` per independent run: the last update and step size."""
    accumulated = np.cumsum(gradients ** 2, axis=-1)
    updates = -rate * gradients / np.sqrt(accumulated)
    return updates[..., -1], rate / np.sqrt(accumulated[..., -1])


def test_adagrad_step_sizes_at_a_fixed_mean_follow_relative_variance():
    coordinates = adagrad_coordinates()
    steps, rate = 100, 0.1
    sequences = {"A": np.ones(steps), "B": np.tile([2.0, 0.0], steps // 2), "C": np.tile([4.0, -2.0], steps // 2)}
    assert adagrad_steps() == steps and adagrad_rate() == Fraction(1, 10) and adagrad_mean() == 1
    assert {k: tuple(map(float, v)) for k, v in adagrad_sequences().items()} == {"A": (1.0,), "B": (2.0, 0.0),
                                                                                "C": (4.0, -2.0)}
    for name, g in sequences.items():
        # Adagrad itself, step by step: the step size is |dw| / |g| at the last (nonzero) gradient
        w, accumulated = 0.0, 0.0
        for gt in g:
            accumulated += gt * gt
            new = w - rate * gt / math.sqrt(accumulated)
            if gt != 0:
                step = abs(new - w) / abs(gt)
            w = new
        assert math.isclose(step, float(coordinates[name]["step"]), rel_tol=1e-12)
        assert math.isclose(g.mean(), float(coordinates[name]["mean"])) and coordinates[name]["mean"] == 1
        assert math.isclose(g.var() / g.mean() ** 2, float(coordinates[name]["relative_variance"]), rel_tol=1e-12)
        # the closed form of the text, exact: rate / (|mean| sqrt(t (1 + rho)))
        rho = coordinates[name]["relative_variance"]
        assert sp.simplify(coordinates[name]["step"] - sp.Rational(1, 10) / sp.sqrt(steps * (1 + sp.Rational(rho)))) == 0
    assert [coordinates[k]["relative_variance"] for k in "ABC"] == [0, 1, 9]
    assert coordinates["A"]["step"] > coordinates["B"]["step"] > coordinates["C"]["step"]
    assert tf_adagrad() is True


def test_adagrad_monte_carlo_step_shrinks_with_relative_variance_and_ignores_scale():
    # Gaussian gradients with mean 1: the step size and the mean update after t steps are both close to
    # rate / sqrt(t (1 + sigma^2)) (the mean is 1), and multiplying all gradients by a constant leaves the updates
    # unchanged; 20000 runs per sigma, fixed seed; tolerance 3% for the step size (the Jensen bias of 1/sqrt is
    # below 1%) and four standard errors plus 2% for the noisier mean update
    rng = np.random.default_rng(7)
    steps, rate, runs = 100, 0.1, 20000
    previous = math.inf
    assert adagrad_noise_levels() == (0, 1, 3) and adagrad_mean() == 1
    for sigma in adagrad_noise_levels():
        g = 1.0 + sigma * rng.standard_normal((runs, steps))
        update, step = _adagrad_run(g, rate)
        predicted = rate / math.sqrt(steps * (1 + sigma ** 2))
        assert math.isclose(step.mean(), predicted, rel_tol=0.03)
        standard_error = update.std() / math.sqrt(runs)
        assert abs(-update.mean() - predicted) <= 4 * standard_error + 0.02 * predicted
        assert step.mean() < previous
        previous = step.mean()
        scaled_update, scaled_step = _adagrad_run(7.0 * g, rate)
        assert np.allclose(scaled_update, update, rtol=1e-12) and np.allclose(7.0 * scaled_step, step, rtol=1e-12)


@checks("3.2(v)")
def test_adagrad_comparison_across_means_confounds_scale():
    # why the mean must be held fixed: gradients alternately 0.12 and -0.08 (mean 0.02, relative variance 25) get a
    # larger step size than gradients always 1, only because they are small; their step size times the mean, the
    # scale-free expected update, is the smaller one, as the fixed-mean comparison predicts
    steps, rate = 100, 0.1
    small = np.tile([0.12, -0.08], steps // 2)
    _, step_small = _adagrad_run(small, rate)
    _, step_one = _adagrad_run(np.ones(steps), rate)
    assert math.isclose(small.var() / small.mean() ** 2, 25, rel_tol=1e-9)
    assert step_small > step_one and step_small * small.mean() < step_one * 1.0


# --- 3.3 gradient descent on least squares ---------------------------------------------------

N_ROWS = sp.Symbol("n", positive=True, integer=True)
MX = sp.MatrixSymbol(r"\mathbf{X}", N_ROWS, D_SYM)
MW = sp.MatrixSymbol(r"\mathbf{w}", D_SYM, 1)
MWT = sp.MatrixSymbol(r"\mathbf{w}_t", D_SYM, 1)
MY = sp.MatrixSymbol(r"\mathbf{y}", N_ROWS, 1)
STEP = sp.Symbol("alpha", positive=True)


@value
def ls_gradient():
    """grad f(w) for f(w) = 1/2 |X w - y|^2, by sympy's matrix calculus."""
    residual = MX * MW - MY
    return sp.simplify(sp.diff(residual.T * residual / 2, MW))


@value
def ls_gradient_at_wt():
    """The gradient at the iterate w_t, as it enters the update (3)."""
    return ls_gradient().subs(MW, MWT)


@value
def ls_hessian():
    """The Hessian X^T X, by differentiating the gradient once more."""
    return sp.diff(ls_gradient(), MW)


@value
def ls_instance():
    """A random instance for the checks: X is 20 x 3 with full column rank, y = X w* exactly."""
    rng = np.random.default_rng(71)
    n, d = 20, 3
    x = rng.normal(size=(n, d)) * np.array([1.0, 0.6, 0.25])
    w_star = rng.normal(size=d)
    lam = np.linalg.eigvalsh(x.T @ x)
    return {"n": n, "d": d, "X": x, "w_star": w_star, "y": x @ w_star, "lambda_min": float(lam.min()), "lambda_max": float(lam.max()),
            "critical": float(2 / lam.max()), "optimal": float(2 / (lam.min() + lam.max())),
            "optimal_rate": float((lam.max() - lam.min()) / (lam.max() + lam.min()))}


STEP = sp.Symbol("alpha", real=True)
LAMBDA_MAX = sp.Symbol(r"\lambda_{\max}", positive=True)


@value
def ls_convergent_steps():
    """The key of 3.3d: the steps alpha with |1 - alpha lambda| < 1 for every eigenvalue lambda of X^T X, solved by
    sympy; the largest eigenvalue binds (for smaller ones the condition is weaker)."""
    return sp.solve_univariate_inequality(sp.Abs(1 - STEP * LAMBDA_MAX) < 1, STEP, relational=False)


def _gd_errors(x, y, w_star, alpha, steps, start=None):
    w = np.zeros(x.shape[1]) if start is None else np.array(start, dtype=float)
    errors = [np.linalg.norm(w - w_star)]
    for _ in range(steps):
        w = w - alpha * x.T @ (x @ w - y)
        errors.append(np.linalg.norm(w - w_star))
    return np.array(errors)


@value
def ls_convergence_runs():
    """Distance to w* over 60 steps for alpha = 0.95, 1.05 times the critical step 2/lambda_max, and the optimal step."""
    inst = ls_instance()
    runs = {}
    for name, factor in (("below", Fraction(19, 20)), ("above", Fraction(21, 20)), ("optimal", None)):
        alpha = inst["optimal"] if factor is None else float(factor) * inst["critical"]
        errors = _gd_errors(inst["X"], inst["y"], inst["w_star"], alpha, 60)
        runs[name] = {"alpha": alpha, "factor": factor if factor is not None else 0,
                      "curve": np.column_stack([np.arange(61)[::2], errors[::2]]),
                      "final": float(errors[-1]), "initial": float(errors[0])}
    return runs


@value
def ls_inconsistent_instance():
    """An inconsistent system (y not in the range of X): Hint 1 fails, the bound (4) still holds."""
    rng = np.random.default_rng(72)
    x = rng.normal(size=(20, 3))
    y = rng.normal(size=20)
    w_star = np.linalg.lstsq(x, y, rcond=None)[0]
    alpha = 1.0 / np.linalg.eigvalsh(x.T @ x).max()
    factor = float(np.linalg.norm(np.eye(3) - alpha * x.T @ x, 2))
    errors = _gd_errors(x, y, w_star, alpha, 40, start=rng.normal(size=3))
    bound = errors[0] * factor ** np.arange(41)
    return {"n": x.shape[0], "d": x.shape[1], "residual": float(np.linalg.norm(x @ w_star - y)), "factor": factor,
            "worst_ratio": float(np.max(errors / bound)), "alpha": alpha}


@checks("3.3a", "3.3b")
def test_gradient_and_hessian_match_finite_differences():
    rng = np.random.default_rng(73)
    for n, d in ((5, 2), (8, 3), (4, 4)):
        x, y, w = rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d)
        subs = {MX: sp.Matrix(x), MY: sp.Matrix(y), MW: sp.Matrix(w)}
        gradient = np.array(ls_gradient().subs(subs).doit(), dtype=float).ravel()
        f = lambda v: 0.5 * np.sum((x @ v - y) ** 2)  # noqa: E731
        assert np.allclose(gradient, numeric_gradient(f, w), atol=1e-6)
        hessian = np.array(ls_hessian().subs({MX: sp.Matrix(x)}).doit(), dtype=float)
        numeric_hessian = np.column_stack([numeric_gradient(lambda v: (x.T @ (x @ v - y))[j], w) for j in range(d)])
        assert np.allclose(hessian, numeric_hessian.T, atol=1e-6)
        assert np.linalg.eigvalsh(hessian).min() >= -1e-12  # positive semidefinite: f is convex
        alpha = 0.1
        at_wt = np.array(ls_gradient_at_wt().subs({**subs, MWT: sp.Matrix(w)}).doit(), dtype=float).ravel()
        step = w - alpha * at_wt
        assert np.allclose(step, w - alpha * numeric_gradient(f, w), atol=1e-6)
        # the rewritten update: w_t - alpha X^T (X w_t - y) = (I - alpha X^T X) w_t + alpha X^T y
        assert np.allclose(step, (np.eye(d) - alpha * x.T @ x) @ w + alpha * x.T @ y)


def test_gradient_and_hessian_are_the_matrix_expressions_of_the_normal_equations():
    """Printed as solman's printing policy writes them (\\mathbf{X}^{\\top}, as in the chapter's text)."""
    assert ls_gradient() == MX.T * (MX * MW - MY)
    assert ls_gradient_at_wt() == MX.T * (MX * MWT - MY)
    assert ls_hessian() == MX.T * MX


def test_convexity_along_random_segments():
    inst = ls_instance()
    x, y = inst["X"], inst["y"]
    f = lambda v: 0.5 * np.sum((x @ v - y) ** 2)  # noqa: E731
    rng = np.random.default_rng(74)
    for _ in range(200):
        a, b, t = rng.normal(size=3), rng.normal(size=3), rng.uniform()
        assert f(t * a + (1 - t) * b) <= t * f(a) + (1 - t) * f(b) + 1e-9
    assert inst["lambda_min"] > 0  # full column rank: the minimiser is unique, f strongly convex
    # the printed size n x d is that of the matrix every check uses, and its rank is d
    assert inst["X"].shape == (inst["n"], inst["d"]) and np.linalg.matrix_rank(inst["X"]) == inst["d"]


def test_critical_step_and_both_runs_match_the_singular_values_and_the_closed_form():
    # lambda_max(X^T X) is the squared largest singular value (an SVD, not eigvalsh): 2 / sigma_max^2 is the
    # critical step (tolerance 1e-10 relative; the text prints 1e-4)
    inst, runs = ls_instance(), ls_convergence_runs()
    sigma = np.linalg.svd(inst["X"], compute_uv=False)
    assert math.isclose(inst["critical"], 2 / sigma[0] ** 2, rel_tol=1e-10)
    # the error curves in closed form: w_t - w* = (I - alpha X^T X)^t (w_0 - w*) with w_0 = 0, in the right
    # singular basis, with alpha the printed fraction of the critical step (tolerance 1e-9 relative)
    _, sigma, vt = np.linalg.svd(inst["X"], full_matrices=False)
    start = vt @ (-inst["w_star"])
    for name in ("below", "above"):
        run = runs[name]
        alpha = float(run["factor"]) * 2 / sigma[0] ** 2
        assert math.isclose(run["alpha"], alpha, rel_tol=1e-10)
        errors = np.array([np.linalg.norm((1 - alpha * sigma ** 2) ** t * start) for t in range(61)])
        assert np.allclose(run["curve"][:, 0], np.arange(0, 61, 2))
        assert np.allclose(run["curve"][:, 1], errors[::2], rtol=1e-9, atol=1e-12), name
        assert math.isclose(run["final"], errors[-1], rel_tol=1e-9)
        assert math.isclose(run["initial"], errors[0], rel_tol=1e-12)
    assert runs["below"]["factor"] < 1 < runs["above"]["factor"]


def test_the_contraction_bound_holds_and_is_attained():
    inst = ls_instance()
    x, y, w_star = inst["X"], inst["y"], inst["w_star"]
    rng = np.random.default_rng(75)
    for alpha in (0.3 * inst["critical"], inst["optimal"], 0.9 * inst["critical"]):
        factor = np.linalg.norm(np.eye(3) - alpha * x.T @ x, 2)
        assert math.isclose(factor, max(abs(1 - alpha * inst["lambda_min"]), abs(1 - alpha * inst["lambda_max"])))
        start = rng.normal(size=3)
        errors = _gd_errors(x, y, w_star, alpha, 30, start=start)
        assert (errors <= errors[0] * factor ** np.arange(31) * (1 + 1e-9)).all()
    # equality when w_1 - w* is the eigenvector that attains the maximum
    alpha = 0.9 * inst["critical"]
    lam, vectors = np.linalg.eigh(x.T @ x)
    errors = _gd_errors(x, y, w_star, alpha, 10, start=w_star + vectors[:, -1])
    assert np.allclose(errors, abs(1 - alpha * lam[-1]) ** np.arange(11))


def test_convergence_just_below_the_critical_step_and_divergence_just_above():
    runs = ls_convergence_runs()
    inst = ls_instance()
    assert runs["below"]["final"] < 0.1 * runs["below"]["initial"]
    assert runs["above"]["final"] > 10 * runs["above"]["initial"]
    assert runs["optimal"]["final"] < 1e-2 * runs["optimal"]["initial"]
    # the critical step from a brute-force scan of step sizes: the last one whose iterates shrink
    scan = np.linspace(0.5, 1.5, 201) * inst["critical"]
    converging = [a for a in scan if _gd_errors(inst["X"], inst["y"], inst["w_star"], a, 400)[-1] < 1.0]
    assert abs(max(converging) - inst["critical"]) <= 0.006 * inst["critical"]
    # the optimal step minimises the contraction factor (checked by a scalar optimiser)
    h = inst["X"].T @ inst["X"]
    best = optimize.minimize_scalar(lambda a: np.linalg.norm(np.eye(3) - a * h, 2),
                                    bounds=(0, inst["critical"]), method="bounded", options={"xatol": 1e-10})
    assert math.isclose(best.x, inst["optimal"], rel_tol=1e-4)
    assert math.isclose(best.fun, inst["optimal_rate"], rel_tol=1e-6)


@checks("3.3d")
def test_gradient_descent_converges_exactly_for_the_steps_of_the_key_of_3_3d():
    inst = ls_instance()
    x, y, w_star = inst["X"], inst["y"], inst["w_star"]
    lam_max = float(np.linalg.svd(x, compute_uv=False)[0] ** 2)
    steps = ls_convergent_steps().subs(LAMBDA_MAX, lam_max)
    critical = 2 / lam_max
    for alpha in (-0.05 * critical, 0.02 * critical, 0.5 * critical, 0.97 * critical, 1.03 * critical, 1.5 * critical):
        errors = _gd_errors(x, y, w_star, alpha, 400, start=w_star + np.ones(inst["d"]))
        # inside, every eigen-component of the error shrinks geometrically; outside, one grows
        assert (alpha in steps) == (errors[-1] < 0.5 * errors[0]), alpha


def test_published_hint_1_y_equals_x_w_star_fails():
    result = ls_inconsistent_instance()
    rng = np.random.default_rng(72)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    w_star = np.linalg.lstsq(x, y, rcond=None)[0]
    assert not np.allclose(x @ w_star, y)                 # Hint 1 as printed: y = X w*, false here
    assert math.isclose(result["residual"], np.linalg.norm(x @ w_star - y)) and result["residual"] > 1.0
    assert np.allclose(x.T @ y, x.T @ x @ w_star)         # what the proof needs: the normal equations
    assert result["worst_ratio"] <= 1 + 1e-9 and result["factor"] < 1
    assert (result["n"], result["d"]) == x.shape   # the printed size is that of the system whose residual is printed


# --- 3.4 generalisation: model averaging and PAC-Bayes ---------------------------------------


@value
def avg_instance():
    """Data for the checks: n = 40 pairs in d = 3, x ~ N(0, I), y = w0.x + noise (sd 1/2); v and S given."""
    rng = np.random.default_rng(81)
    n, d = 40, 3
    w0 = np.array([1.0, -2.0, 0.5])
    x = rng.normal(size=(n, d))
    y = x @ w0 + 0.5 * rng.normal(size=n)
    a = rng.normal(size=(d, d)) * 0.4
    return {"n": n, "d": d, "x": x, "y": y, "w0": w0, "v": np.array([0.8, -1.5, 0.2]), "S": a @ a.T + 0.05 * np.eye(d)}


def _avg_stats():
    inst = avg_instance()
    x, y, n = inst["x"], inst["y"], inst["n"]
    return np.sum(y ** 2), x.T @ y / n, x.T @ x / n


def _noncommuting(name):
    return sp.Symbol(name, commutative=False)


@value
def empirical_risk_expansion():
    """The key of 3.4a: (w^T x_i - y_i)^2 expanded by sympy with non-commuting vectors, x_i^T w = w^T x_i used once the
    outer product x_i x_i^T is grouped, then averaged over i: mean x_i x_i^T = S_n, mean y_i x_i = mu_n,
    mean y_i^2 = c_n^2 / n."""
    w_t, w = _noncommuting(r"\mathbf{w}^{\top}"), _noncommuting(r"\mathbf{w}")
    x, x_t = _noncommuting(r"\mathbf{x}_i"), _noncommuting(r"\mathbf{x}_i^{\top}")
    y, c, n = sp.Symbol("y_i", real=True), sp.Symbol("c_n", positive=True), sp.Symbol("n", positive=True)
    square = sp.expand((w_t * x - y) * (x_t * w - y))
    square = square.subs(x * x_t, _noncommuting(r"\mathbf{S}_n")).subs(x_t * w, w_t * x)
    return square.subs(y * x, _noncommuting(r"\boldsymbol{\mu}_n")).subs(y ** 2, c ** 2 / n)


@value
def avg_risk_terms():
    """R_n(Q) for Q with mean v and covariance S, from Eq. (9) with the constant c_n^2 / n, and its parts."""
    inst = avg_instance()
    c2, mu, s_n = _avg_stats()
    v, s = inst["v"], inst["S"]
    point = c2 / inst["n"] - 2 * v @ mu + v @ s_n @ v
    trace = float(np.trace(s_n @ s))
    return {"c2": float(c2), "c2_over_n": float(c2 / inst["n"]), "point": float(point), "trace": trace,
            "averaged": float(point + trace), "as_printed": float(c2 - 2 * v @ mu + v @ s_n @ v + trace)}


def _uniform_samples(rng, mean, cov, count):
    """Uniform on a parallelepiped with the given mean and covariance: mean + A u, u uniform on [-sqrt3, sqrt3]^d."""
    a = np.linalg.cholesky(cov)
    u = rng.uniform(-math.sqrt(3), math.sqrt(3), size=(count, len(mean)))
    return mean + u @ a.T


@value
def avg_monte_carlo():
    """R_n(Q) estimated by sampling w from Q_N = N(v, S) and from Q_U (uniform, same mean and covariance)."""
    inst = avg_instance()
    rng = np.random.default_rng(82)
    count = 40_000
    x, y, v, s = inst["x"], inst["y"], inst["v"], inst["S"]
    gaussian = rng.multivariate_normal(v, s, size=count)
    uniform = _uniform_samples(rng, v, s, count)
    risk = lambda ws: np.mean((ws @ x.T - y) ** 2, axis=1)  # noqa: E731
    r_gauss, r_unif = risk(gaussian), risk(uniform)
    return {"gaussian": float(r_gauss.mean()), "uniform": float(r_unif.mean()),
            "se": float(max(r_gauss.std(), r_unif.std()) / math.sqrt(count)), "count": count}


@value
def entropy_gap_per_dimension():
    """H(N(0,1)) - H(uniform with variance 1) = 1/2 ln(pi e / 6) nats."""
    gaussian = sp.log(2 * sp.pi * sp.E) / 2
    uniform = sp.log(2 * sp.sqrt(3))
    gap = sp.log(sp.pi * sp.E / 6) / 2
    if sp.simplify(sp.expand_log(gaussian - uniform - gap, force=True)) != 0:
        raise ArithmeticError("entropy gap")
    return gap


@value
def entropy_gap_per_dimension_value():
    return float(entropy_gap_per_dimension())


@value
def prior_variance():
    """gamma = 1, as in the exam's 'w ~ N(0, I)'."""
    return 1


def _kl_gauss_to_prior(v, s, gamma):
    d = len(v)
    return 0.5 * (np.trace(s) / gamma + v @ v / gamma - d + d * math.log(gamma) - math.log(np.linalg.det(s)))


@value
def avg_kl_values():
    """KL(Q || P) for P = N(0, gamma I): Gaussian and uniform Q with the instance's v and S, and their gap."""
    inst = avg_instance()
    v, s, d, gamma = inst["v"], inst["S"], inst["d"], prior_variance()
    kl_gauss = _kl_gauss_to_prior(v, s, gamma)
    entropy_uniform = 0.5 * math.log(np.linalg.det(s)) + d * math.log(2 * math.sqrt(3))
    cross = 0.5 * d * math.log(2 * math.pi * gamma) + (np.trace(s) + v @ v) / (2 * gamma)
    kl_unif = cross - entropy_uniform
    return {"gaussian": float(kl_gauss), "uniform": float(kl_unif), "gap": float(kl_unif - kl_gauss)}


@value
def prior_mass_outside_uniform_support():
    """P(w outside the support of Q_U) under the prior: positive, so KL(P || Q_U) (the printed order) is infinite."""
    inst = avg_instance()
    rng = np.random.default_rng(83)
    w = rng.normal(size=(100_000, inst["d"])) * math.sqrt(prior_variance())
    a = np.linalg.cholesky(inst["S"])
    u = np.linalg.solve(a, (w - inst["v"]).T).T
    return float(np.mean(np.any(np.abs(u) > math.sqrt(3), axis=1)))


@value
def pac_bayes_delta():
    return Fraction(1, 20)


def _pac_bayes_term(kl, n, delta):
    """McAllester's complexity term sqrt((KL + ln(1/delta) + 5/2 ln n + 8) / (2n - 1))."""
    return math.sqrt((kl + math.log(1 / delta) + 2.5 * math.log(n) + 8) / (2 * n - 1))


def _pac_bayes_term_as_printed(kl, n, delta):
    return math.sqrt(kl + math.log(1 / delta) + 2.5 * math.log(n) + 8 / math.sqrt(2 * n - 1))


@value
def pac_bayes_terms_versus_n():
    """The complexity term with KL = 1 and delta = 1/20 for growing n: McAllester's form and the printed form."""
    delta = float(pac_bayes_delta())
    return [{"n": n, "correct": _pac_bayes_term(1.0, n, delta), "printed": _pac_bayes_term_as_printed(1.0, n, delta)}
            for n in (100, 10_000, 1_000_000)]


@value
def pac_bayes_comparison():
    """Part (e) on the instance with v the least-squares fit: the bound for Q = N(v, I) versus the point mass at v."""
    inst = avg_instance()
    x, y, n, d = inst["x"], inst["y"], inst["n"], inst["d"]
    v = np.linalg.lstsq(x, y, rcond=None)[0]
    s_n = x.T @ x / n
    empirical_point = float(np.mean((x @ v - y) ** 2))
    empirical_avg = empirical_point + float(np.trace(s_n))
    kl = _kl_gauss_to_prior(v, np.eye(d), prior_variance())
    term = _pac_bayes_term(kl, n, float(pac_bayes_delta()))
    return {"empirical_point": empirical_point, "empirical_avg": empirical_avg, "trace": float(np.trace(s_n)),
            "kl": float(kl), "term": term, "bound": float(empirical_avg + term)}


KL_NAME = r"\mathrm{KL}(\mathcal{Q} \| P)"


@value
def pac_bayes_bounds():
    """The key of 3.4e: the bound's right-hand side for the point mass at v (its KL is infinite, so +oo), for
    Q = N(v, I), R_n(v) + Tr S_n + sqrt((KL + ln(1/delta) + 5/2 ln n + 8) / (2n - 1)), and that KL, of N(v, I) to the
    prior N(0, gamma I), from the Gaussian divergence 1/2 (tr(S2^-1 S1) + m^T S2^-1 m - d + ln(det S2 / det S1))
    with S1 = I, S2 = gamma I, m = v."""
    d, gamma, n, delta = D_SYM, sp.Symbol("gamma", positive=True), sp.Symbol("n", positive=True), \
        sp.Symbol("delta", positive=True)
    risk, trace, norm2 = sp.symbols(r"\mathcal{R}_n(\mathbf{v}) \operatorname{Tr}(\mathbf{S}_n) \lVert\mathbf{v}\rVert^2",
                                    positive=True)
    divergence = sp.Symbol(KL_NAME, positive=True)
    trace_term, mean_term, log_det = d / gamma, norm2 / gamma, sp.expand_log(sp.log(gamma ** d), force=True)
    kl = sp.Mul(sp.Rational(1, 2), sp.Add(trace_term, mean_term, -d, log_det, evaluate=False), evaluate=False)
    term = sp.sqrt((divergence + sp.log(1 / delta) + sp.Rational(5, 2) * sp.log(n) + 8) / (2 * n - 1))
    point_mass_kl = sp.oo  # a point mass has no density with respect to the Gaussian prior
    return (risk + point_mass_kl, risk + trace + term, kl)


def test_empirical_risk_is_the_quadratic_form_of_part_a():
    inst = avg_instance()
    c2, mu, s_n = _avg_stats()
    rng = np.random.default_rng(84)
    for _ in range(20):
        w = rng.normal(size=3) * 2
        direct = np.mean((inst["x"] @ w - inst["y"]) ** 2)
        assert math.isclose(direct, c2 / inst["n"] - 2 * w @ mu + w @ s_n @ w, rel_tol=1e-10)
    terms = avg_risk_terms()
    assert math.isclose(terms["c2_over_n"], terms["c2"] / inst["n"])
    assert math.isclose(terms["point"], np.mean((inst["x"] @ inst["v"] - inst["y"]) ** 2), rel_tol=1e-10)


@checks("3.4a")
def test_the_key_of_3_4a_is_the_direct_average_of_the_squared_residuals():
    inst = avg_instance()
    x, y, n = inst["x"], inst["y"], inst["n"]
    rng = np.random.default_rng(341)
    for _ in range(10):
        w = rng.normal(size=3) * 2
        numbers = {r"\mathbf{w}^{\top}": w[None, :], r"\mathbf{w}": w[:, None], r"\mathbf{S}_n": x.T @ x / n,
                   r"\boldsymbol{\mu}_n": (x.T @ y / n)[:, None], "c_n": math.sqrt(float(np.sum(y ** 2))), "n": n}
        value_ = np.asarray(_evaluate_matrix_expression(empirical_risk_expansion(), numbers)).item()
        assert math.isclose(value_, float(np.mean((x @ w - y) ** 2)), rel_tol=1e-10)


def test_averaged_risk_matches_monte_carlo_for_gaussian_and_uniform_averaging():
    terms, mc = avg_risk_terms(), avg_monte_carlo()
    tolerance = 5 * mc["se"]
    assert abs(mc["gaussian"] - terms["averaged"]) < tolerance
    assert abs(mc["uniform"] - terms["averaged"]) < tolerance
    assert terms["trace"] > 0 and terms["averaged"] > terms["point"]


def test_trace_term_and_monte_carlo_means_by_the_quadratic_form_of_part_a():
    # tr(S_n S) as the average of x_i^T S x_i over the data (no matrix product S_n S); tolerance 1e-10 relative
    inst, terms, mc = avg_instance(), avg_risk_terms(), avg_monte_carlo()
    x, y, v, s, n = inst["x"], inst["y"], inst["v"], inst["S"], inst["n"]
    assert math.isclose(terms["trace"], sum(row @ s @ row for row in x) / n, rel_tol=1e-10)
    # The Monte Carlo estimates are defined by their seeded draws (count of them printed): redraw them and
    # evaluate each weight's risk by the quadratic form c_n^2/n - 2 w.mu + w^T S_n w of part (a), not by the
    # residuals; the means and the standard error must agree to 1e-9 relative (printed to 1e-3)
    rng = np.random.default_rng(82)
    gaussian = rng.multivariate_normal(v, s, size=mc["count"])
    uniform = v + rng.uniform(-math.sqrt(3), math.sqrt(3), size=(mc["count"], 3)) @ np.linalg.cholesky(s).T
    c2_over_n, mu, s_n = np.sum(y ** 2) / n, x.T @ y / n, x.T @ x / n
    risks = [c2_over_n - 2 * ws @ mu + np.einsum("ki,ij,kj->k", ws, s_n, ws) for ws in (gaussian, uniform)]
    assert math.isclose(mc["gaussian"], risks[0].mean(), rel_tol=1e-9)
    assert math.isclose(mc["uniform"], risks[1].mean(), rel_tol=1e-9)
    assert math.isclose(mc["se"], max(r.std() for r in risks) / math.sqrt(mc["count"]), rel_tol=1e-9)


def test_kl_values_by_exact_cubature_of_the_log_density_ratio():
    # Gauss-Hermite (3 nodes per axis, exact for the quadratic log-ratio) over Q_N = N(v, S) and the tensor
    # Gauss-Legendre rule (2 nodes per axis, exact for quadratics) over the box of Q_U, with scipy's densities;
    # tolerance 1e-9 relative (printed to 1e-3)
    import itertools

    inst, kl = avg_instance(), avg_kl_values()
    v, s, gamma = inst["v"], inst["S"], prior_variance()
    a = np.linalg.cholesky(s)
    prior = stats.multivariate_normal(np.zeros(3), gamma * np.eye(3))
    nodes, weights = np.polynomial.hermite_e.hermegauss(3)
    weights = weights / weights.sum()
    grid = np.array(list(itertools.product(nodes, repeat=3)))
    w = v + grid @ a.T
    cube_weights = np.prod(np.array(list(itertools.product(weights, repeat=3))), axis=1)
    kl_gauss = np.sum(cube_weights * (stats.multivariate_normal(v, s).logpdf(w) - prior.logpdf(w)))
    assert math.isclose(kl["gaussian"], kl_gauss, rel_tol=1e-9)
    nodes, weights = np.polynomial.legendre.leggauss(2)
    grid = math.sqrt(3) * np.array(list(itertools.product(nodes, repeat=3)))
    w = v + grid @ a.T
    cube_weights = np.prod(np.array(list(itertools.product(weights / 2, repeat=3))), axis=1)
    log_q_uniform = -math.log(abs(np.linalg.det(a)) * (2 * math.sqrt(3)) ** 3)   # one over the box volume
    kl_uniform = np.sum(cube_weights * (log_q_uniform - prior.logpdf(w)))
    assert math.isclose(kl["uniform"], kl_uniform, rel_tol=1e-9)


@checks("3.4e")
def test_the_bounds_of_the_key_of_3_4e_on_the_instance_and_by_monte_carlo_kl():
    assert pac_bayes_bounds()[0] == sp.oo
    inst = avg_instance()
    x, y, n, d = inst["x"], inst["y"], inst["n"], inst["d"]
    v = np.linalg.lstsq(x, y, rcond=None)[0]
    gamma, delta = 2.5, 0.05
    # KL(N(v, I) || N(0, gamma I)) by Monte Carlo of the log density ratio, with scipy's densities
    rng = np.random.default_rng(342)
    w = v + rng.normal(size=(200_000, d))
    log_ratio = stats.multivariate_normal(v, np.eye(d)).logpdf(w) - stats.multivariate_normal(np.zeros(d),
                                                                                             gamma * np.eye(d)).logpdf(w)
    kl = float(np.mean(log_ratio))
    expected = float(np.mean((x @ v - y) ** 2)) + float(np.trace(x.T @ x / n)) + \
        math.sqrt((kl + math.log(1 / delta) + 2.5 * math.log(n) + 8) / (2 * n - 1))
    point, averaged, divergence = pac_bayes_bounds()
    averaged = averaged.subs(sp.Symbol(KL_NAME, positive=True), divergence)
    symbols = {str(s): s for s in averaged.free_symbols}
    at = averaged.subs({symbols[r"\mathcal{R}_n(\mathbf{v})"]: float(np.mean((x @ v - y) ** 2)),
                        symbols[r"\operatorname{Tr}(\mathbf{S}_n)"]: float(np.trace(x.T @ x / n)),
                        symbols[r"\lVert\mathbf{v}\rVert^2"]: float(v @ v), symbols["gamma"]: gamma,
                        symbols["delta"]: delta, symbols["n"]: n, symbols["d"]: d})
    assert math.isclose(float(at), expected, rel_tol=1e-3)


def test_prior_mass_outside_the_uniform_box_by_the_gaussian_box_probability():
    # under the prior w ~ N(0, gamma I), u = A^{-1} (w - v) is N(-A^{-1} v, gamma A^{-1} A^{-T}); the mass
    # outside the box |u_j| <= sqrt 3 is one minus scipy's multivariate normal box probability (Genz's
    # algorithm). The printed estimate uses 100 000 draws: standard error below 1e-3, tolerance 4.5e-3.
    inst = avg_instance()
    a_inv = np.linalg.inv(np.linalg.cholesky(inst["S"]))
    law = stats.multivariate_normal(-a_inv @ inst["v"], prior_variance() * a_inv @ a_inv.T, seed=1)
    inside = law.cdf(np.full(3, math.sqrt(3)), lower_limit=np.full(3, -math.sqrt(3)))
    mass = prior_mass_outside_uniform_support()
    assert math.sqrt(mass * (1 - mass) / 100_000) < 1e-3
    assert abs(mass - (1 - inside)) < 4.5e-3


def test_pac_bayes_rows_and_the_comparison_by_independent_formulas():
    # each row against the two complexity terms typed from the source (McAllester's form and the printed
    # form) in mpmath, at the row's own n, KL = 1, delta = 1/20; tolerance 1e-12 relative
    import mpmath

    mpmath.mp.dps = 30
    for row in pac_bayes_terms_versus_n():
        n = mpmath.mpf(row["n"])
        assert math.isclose(row["correct"], float(mpmath.sqrt((1 + mpmath.log(20) + 2.5 * mpmath.log(n) + 8)
                                                              / (2 * n - 1))), rel_tol=1e-12)
        assert math.isclose(row["printed"], float(mpmath.sqrt(1 + mpmath.log(20) + 2.5 * mpmath.log(n)
                                                              + 8 / mpmath.sqrt(2 * n - 1))), rel_tol=1e-12)
    # the empirical risk of the least-squares fit by a QR projection (|y|^2 - |Q^T y|^2) / n, and tr S_n as
    # the squared Frobenius norm of X over n; tolerance 1e-9 relative (printed to 1e-3)
    inst, comparison = avg_instance(), pac_bayes_comparison()
    q, _ = np.linalg.qr(inst["x"])
    assert math.isclose(comparison["empirical_point"], (inst["y"] @ inst["y"] - np.sum((q.T @ inst["y"]) ** 2))
                        / inst["n"], rel_tol=1e-9)
    assert math.isclose(comparison["trace"], np.sum(inst["x"] ** 2) / inst["n"], rel_tol=1e-12)


def test_published_eq_9_with_c_n_squared_is_wrong():
    terms, mc = avg_risk_terms(), avg_monte_carlo()
    assert abs(terms["as_printed"] - mc["gaussian"]) > 100 * mc["se"]  # off by (1 - 1/n) c_n^2
    assert math.isclose(terms["as_printed"] - terms["averaged"], terms["c2"] - terms["c2_over_n"])


@checks("3.4c")
def test_averaging_never_lowers_the_empirical_risk():
    rng = np.random.default_rng(85)
    for _ in range(300):
        d = rng.integers(1, 5)
        b, c = rng.normal(size=(d, d)), rng.normal(size=(d, 2 * d))
        s, s_n = b @ b.T * rng.uniform(0, 2), c @ c.T / (2 * d)
        assert np.trace(s_n @ s) >= -1e-12


def test_kl_of_gaussian_and_uniform_averaging_differ_by_the_entropy_gap():
    inst = avg_instance()
    kl = avg_kl_values()
    assert math.isclose(kl["gap"], inst["d"] * entropy_gap_per_dimension_value(), rel_tol=1e-9)
    # the gap per dimension by quadrature: entropies of N(0,1) and of the uniform law on [-sqrt 3, sqrt 3]
    h_gauss = -integrate.quad(lambda t: stats.norm.pdf(t) * stats.norm.logpdf(t), -12, 12)[0]
    h_unif = math.log(2 * math.sqrt(3))
    assert math.isclose(h_gauss - h_unif, entropy_gap_per_dimension_value(), rel_tol=1e-9)
    assert sp.simplify(entropy_gap_per_dimension() - sp.log(sp.pi * sp.E / 6) / 2) == 0
    # Monte Carlo for both KL divergences
    rng = np.random.default_rng(86)
    v, s = inst["v"], inst["S"]
    w = _uniform_samples(rng, v, s, 200_000)
    log_q = -(0.5 * math.log(np.linalg.det(s)) + 3 * math.log(2 * math.sqrt(3)))
    log_p = stats.multivariate_normal(np.zeros(3), np.eye(3)).logpdf(w)
    assert abs(np.mean(log_q - log_p) - kl["uniform"]) < 0.01
    w = rng.multivariate_normal(v, s, size=200_000)
    log_q = stats.multivariate_normal(v, s).logpdf(w)
    gamma = prior_variance()
    prior = stats.multivariate_normal(np.zeros(3), gamma * np.eye(3))
    assert gamma == 1 and abs(np.mean(log_q - prior.logpdf(w)) - kl["gaussian"]) < 0.01
    # the closed form used for the KL to the prior, at another gamma, against Monte Carlo
    other = stats.multivariate_normal(np.zeros(3), 2.5 * np.eye(3))
    assert abs(np.mean(log_q - other.logpdf(w)) - _kl_gauss_to_prior(v, s, 2.5)) < 0.01


def test_published_kl_order_gives_uniform_averaging_an_infinite_bound_so_it_is_wrong():
    mass = prior_mass_outside_uniform_support()
    assert mass > 0.5
    # independent: the prior density is positive on the whole space while q_U vanishes outside its box,
    # so the integrand p log(p / q_U) is +infinity on a set of positive prior probability
    inst = avg_instance()
    far = inst["v"] + 10 * np.ones(3)
    a = np.linalg.cholesky(inst["S"])
    assert np.any(np.abs(np.linalg.solve(a, far - inst["v"])) > math.sqrt(3))
    assert stats.multivariate_normal(np.zeros(3), np.eye(3)).pdf(far) > 0


def test_published_pac_bayes_complexity_term_grows_with_n_so_it_is_wrong():
    rows = pac_bayes_terms_versus_n()
    printed = [r["printed"] for r in rows]
    correct = [r["correct"] for r in rows]
    assert printed == sorted(printed) and printed[-1] > 5  # a generalisation gap that grows with n: wrong
    assert correct == sorted(correct, reverse=True) and correct[-1] < 0.01
    assert math.isclose(correct[0], math.sqrt((1 + math.log(20) + 2.5 * math.log(100) + 8) / 199))
    assert pac_bayes_delta() == Fraction(1, 20)


def test_gaussian_averaging_gives_a_finite_bound_and_the_population_identity():
    comparison = pac_bayes_comparison()
    inst = avg_instance()
    v = np.linalg.lstsq(inst["x"], inst["y"], rcond=None)[0]
    assert comparison["empirical_avg"] > comparison["empirical_point"]
    assert math.isclose(comparison["empirical_avg"], np.mean((inst["x"] @ v - inst["y"]) ** 2)
                        + np.trace(inst["x"].T @ inst["x"] / inst["n"]))
    assert math.isclose(comparison["kl"], 0.5 * v @ v)  # KL(N(v, I) || N(0, I)) = |v|^2 / 2
    assert math.isclose(comparison["bound"], comparison["empirical_avg"] + comparison["term"])
    assert math.isclose(comparison["term"], math.sqrt((0.5 * v @ v + math.log(20) + 2.5 * math.log(40) + 8) / 79))
    # the point mass: KL(delta_v || P) is infinite; a Gaussian of shrinking width shows the KL blowing up
    kls = [_kl_gauss_to_prior(v, eps * np.eye(3), 1.0) for eps in (1e-2, 1e-4, 1e-8)]
    assert kls == sorted(kls) and kls[-1] > 25
    # the population version of part (c): R(Q) = R(v) + tr(E[x x^T] S) >= R(v), by Monte Carlo (x ~ N(0, I))
    rng = np.random.default_rng(87)
    x = rng.normal(size=(200_000, 3))
    y = x @ inst["w0"] + 0.5 * rng.normal(size=200_000)
    risk_point = np.mean((x @ v - y) ** 2)
    w = v + rng.normal(size=(200_000, 3))
    risk_avg = np.mean((np.sum(x * w, axis=1) - y) ** 2)
    assert abs(risk_avg - (risk_point + 3)) < 0.05 and risk_avg > risk_point


# =============================================================================================
# Problem 4: graph nets, ensembles and generative models
# =============================================================================================

# --- 4.1 graph convolution --------------------------------------------------------------------


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
def degree_matrices():
    """The key of 4.1c: D and D^(-1/2)."""
    return (degree(), degree_inv_sqrt())


@value
def adjacency_meaning():
    """The key of 4.1b: what A is, read off its entries (0/1, symmetric, zero diagonal)."""
    a = adjacency()
    if a != a.T or any(x not in (0, 1) for x in a) or any(a[i, i] for i in range(a.rows)):
        raise ValueError("A is not the adjacency matrix of a simple undirected graph")
    return "the adjacency matrix of the undirected graph G"


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


def _ascending(eigenvalues):
    """Eigenvalues (a sympy eigenvals() dict, with multiplicities) sorted in increasing order."""
    listed = [e for e, multiplicity in eigenvalues.items() for _ in range(multiplicity)]
    return sorted(listed, key=lambda e: float(sp.re(sp.N(e, 30))))


@value
def adjacency_spectrum():
    """The eigenvalues of A, increasing: the roots of its characteristic polynomial, to 30 digits (a cubic factor
    has no simpler closed form)."""
    roots = sp.Poly(adjacency().charpoly(sp.Symbol("lambda")).as_expr(), sp.Symbol("lambda")).nroots(n=30)
    return sorted(sp.re(r) for r in roots)


@value
def adjacency_tilde_spectrum():
    """The eigenvalues of A~ = A + I: those of A, each shifted by one."""
    return [e + 1 for e in adjacency_spectrum()]


def _degree_normalised_adjacency():
    degrees = degrees_of_a()
    scale = sp.diag(*[1 / sp.sqrt(d) for d in degrees])
    return sp.simplify(scale * adjacency() * scale)


@value
def normalised_adjacency_spectrum():
    """The eigenvalues of D_A^(-1/2) A D_A^(-1/2) (the graph without self-loops), exactly, increasing."""
    return _ascending(_degree_normalised_adjacency().eigenvals())


@value
def first_order_filter_spectrum():
    """The eigenvalues of I + D_A^(-1/2) A D_A^(-1/2), Kipf and Welling's filter before their renormalisation."""
    return _ascending((sp.eye(4) + _degree_normalised_adjacency()).eigenvals())


@value
def gcn_q_second_eigenvalue():
    """The largest modulus among Q's eigenvalues other than the top one, 1: the factor by which one layer at least
    shrinks every component orthogonal to D^(1/2) 1."""
    spectrum = gcn_q_spectrum()
    rest = [e for e in spectrum if e != 1]
    return max(rest, key=lambda e: float(abs(e)))


@value
def gcn_q_limit():
    """lim Q^k = D^(1/2) 1 1^T D^(1/2) / tr D: the projection on the top eigenvector, exactly."""
    root = sp.Matrix([sp.sqrt(degree()[i, i]) for i in range(4)])
    return root * root.T / degree().trace()


def test_adjacency_is_symmetric_without_self_loops():
    a = np.array(adjacency(), dtype=int)
    assert (a == a.T).all() and (np.diag(a) == 0).all()


@checks("4.1c")
def test_degrees_count_neighbours_plus_one():
    neighbours = {1: {2, 3}, 2: {1, 3}, 3: {1, 2, 4}, 4: {3}}  # read from the figure's edge list
    assert [degree()[i, i] for i in range(4)] == [len(neighbours[i + 1]) + 1 for i in range(4)]


@checks("4.1c")
def test_degree_inv_sqrt_inverts_the_square_root():
    d = np.array(degree(), dtype=float)
    d_inv_sqrt = np.array(degree_inv_sqrt().evalf(), dtype=float)
    assert np.allclose(d_inv_sqrt @ d @ d_inv_sqrt, np.eye(4))


@checks("4.1c")
def test_the_key_of_4_1c_is_the_degree_matrix_of_the_printed_a_plus_i_and_its_inverse_root():
    a_tilde = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0]], dtype=float) + np.eye(4)
    d, d_inv_sqrt = (np.array(m.evalf(), dtype=float) for m in degree_matrices())
    assert np.array_equal(d, np.diag(a_tilde.sum(axis=1)))
    assert np.allclose(d_inv_sqrt, np.linalg.inv(np.sqrt(d)), rtol=1e-14)  # a diagonal matrix's root entrywise


@checks("4.1b")
def test_a_is_the_adjacency_matrix_of_the_drawn_graph():
    # A has a one exactly where the edge list of the exam's figure joins two nodes, and nowhere else
    edges = {(1, 2), (1, 3), (2, 3), (3, 4)}
    a = adjacency()
    assert all((a[i - 1, j - 1] == 1) == ((min(i, j), max(i, j)) in edges) for i in range(1, 5) for j in range(1, 5))
    # a symmetric 0/1 matrix with a zero diagonal is the adjacency matrix of a simple undirected graph
    symmetric = all(a[i, j] == a[j, i] for i in range(4) for j in range(4))
    assert adjacency_meaning() == f"the adjacency matrix of the {'undirected' if symmetric else 'directed'} graph G"


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


def test_spectra_of_the_propagation_matrices_match_numpy():
    a = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0]], dtype=float)
    d_a = np.diag(a.sum(axis=1) ** -0.5)
    a_tilde = a + np.eye(4)
    d = np.diag(a_tilde.sum(axis=1) ** -0.5)
    expected = {"A": np.linalg.eigvalsh(a), "A~": np.linalg.eigvalsh(a_tilde), "N": np.linalg.eigvalsh(d_a @ a @ d_a),
                "I+N": np.linalg.eigvalsh(np.eye(4) + d_a @ a @ d_a), "Q": np.linalg.eigvalsh(d @ a_tilde @ d)}
    found = {"A": adjacency_spectrum(), "A~": adjacency_tilde_spectrum(), "N": normalised_adjacency_spectrum(),
             "I+N": first_order_filter_spectrum(), "Q": gcn_q_spectrum()}
    for name, eigenvalues in found.items():
        assert np.allclose([float(e) for e in eigenvalues], expected[name], atol=1e-12), name
    assert math.isclose(float(adjacency_tilde_spectrum()[-1]), unnormalised_degree_spectrum_max(), rel_tol=1e-12)
    # the renormalisation pulls the spectrum in: Q's lies inside N's, and I + N reaches 2 (exact values)
    assert min(expected["N"]) < min(expected["Q"]) and math.isclose(max(expected["I+N"]), 2)
    assert gcn_q_spectrum()[-1] == normalised_adjacency_spectrum()[-1] == 1 and first_order_filter_spectrum()[-1] == 2


def test_q_keeps_one_direction_and_shrinks_the_others():
    q = np.array(gcn_q().evalf(), dtype=float)
    second = float(gcn_q_second_eigenvalue())
    limit = np.array(gcn_q_limit().evalf(), dtype=float)
    # the limit of the powers, by repeated multiplication
    power = np.linalg.matrix_power(q, 400)
    assert np.allclose(power, limit, atol=1e-12)
    # the distance to the limit shrinks exactly by the second eigenvalue per layer (Q symmetric)
    for k in range(1, 25):
        gap = np.linalg.norm(np.linalg.matrix_power(q, k) - limit, 2)
        assert math.isclose(gap, second ** k, rel_tol=1e-9)
    # no inflation: ||X Q|| <= ||X|| for random features, with equality along D^(1/2) 1
    rng = np.random.default_rng(41)
    for _ in range(100):
        x = rng.normal(size=(3, 4))
        assert np.linalg.norm(x @ q) <= np.linalg.norm(x) + 1e-12
    top = np.sqrt(np.diag(np.array(degree(), dtype=float)))
    assert math.isclose(np.linalg.norm(q @ top), np.linalg.norm(top))
    # and the shrinking: a signal orthogonal to D^(1/2) 1 loses norm at every layer
    x = rng.normal(size=4)
    x -= (x @ top) / (top @ top) * top
    for _ in range(5):
        shrunk = q @ x
        assert np.linalg.norm(shrunk) <= second * np.linalg.norm(x) + 1e-12
        x = shrunk
    assert 0 < second < 1


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


def test_layout_is_the_square_inscribed_in_the_circle_of_radius_1_6():
    # node k sits at 1.6 i^k (complex powers of i, no trigonometry): (0, 1.6), (-1.6, 0), (0, -1.6), (1.6, 0);
    # tolerance 1e-12 (printed to 1e-3)
    for k, node in enumerate(graph_layout()):
        z = 1.6 * 1j ** (k + 1)
        assert node["label"] == k + 1
        assert abs(node["x"] - z.real) < 1e-12 and abs(node["y"] - z.imag) < 1e-12


def test_propagation_with_q_mixes_exactly_the_neighbourhoods():
    rng = np.random.default_rng(91)
    q = np.array(gcn_q().evalf(), dtype=float)
    x, w = rng.normal(size=(3, 4)), rng.normal(size=(2, 3))
    out = w @ x @ q
    a = np.array(adjacency(), dtype=int)
    for i in range(4):
        neighbourhood = [j for j in range(4) if j == i or a[i, j]]
        assert np.allclose(out[:, i], sum(q[j, i] * (w @ x[:, j]) for j in neighbourhood))
        # changing a node outside the neighbourhood does not change column i
        far = [j for j in range(4) if j not in neighbourhood]
        for j in far:
            x2 = x.copy()
            x2[:, j] += 1
            assert np.allclose((w @ x2 @ q)[:, i], out[:, i])


# --- 4.2 variational autoencoders -------------------------------------------------------------

SSE = sp.Symbol(r"\lVert \mathbf{x}_i - \boldsymbol{\mu}_\theta(\mathbf{z}) \rVert^2", nonnegative=True)
SIGMA = sp.Symbol("sigma", positive=True)
DIM = sp.Symbol("D", positive=True, integer=True)


@value
def gaussian_decoder_log_likelihood():
    """log N(x; mu, sigma^2 I) in dimension D, written with the squared error."""
    return -SSE / (2 * SIGMA ** 2) - DIM / 2 * sp.log(2 * sp.pi * SIGMA ** 2)


@value
def reparam_example():
    """q = N(mu, s^2) with mu = 1/2, s = 1, f(z) = cos z: exact gradient of E f and the reparameterised estimate.

    With z = mu + s eps, grad_mu f = -sin(mu + s eps) and grad_s f = -eps sin(mu + s eps); L = 1000 samples.
    """
    mu, s = sp.Rational(1, 2), sp.Integer(1)
    m, sd = sp.Symbol("mu", real=True), sp.Symbol("s", positive=True)
    expectation = sp.cos(m) * sp.exp(-sd ** 2 / 2)  # E cos(mu + s eps) for eps ~ N(0, 1)
    exact = (sp.diff(expectation, m).subs({m: mu, sd: s}), sp.diff(expectation, sd).subs({m: mu, sd: s}))
    rng = np.random.default_rng(92)
    eps = rng.normal(size=1000)
    z = float(mu) + float(s) * eps
    grad_mu, grad_s = -np.sin(z), -eps * np.sin(z)
    return {"mu": mu, "s": s, "L": eps.size, "expectation": expectation, "exact_mu": exact[0], "exact_s": exact[1],
            "estimate_mu": float(grad_mu.mean()), "estimate_s": float(grad_s.mean()),
            "se_mu": float(grad_mu.std(ddof=1) / math.sqrt(eps.size)), "se_s": float(grad_s.std(ddof=1) / math.sqrt(eps.size))}


PHI, SAMPLES, SAMPLE_INDEX = sp.Symbol(r"\phi", real=True), sp.Symbol("L", positive=True, integer=True), \
    sp.Symbol(r"\ell", positive=True, integer=True)
NOISE = sp.IndexedBase(r"\boldsymbol{\epsilon}")
# the integrand f and the reparameterisation g_phi(x, eps), printed as in the exam
INTEGRAND = type("f", (sp.Function,), {"_latex": lambda self, p: rf"f\bigl({p._print(self.args[0])}\bigr)"})
REPARAMETERISATION = type("g", (sp.Function,), {
    "_latex": lambda self, p: rf"g_{{\phi}}(\mathbf{{x}}, {p._print(self.args[1])})"})


@value
def reparam_estimator():
    """The key of 4.2(ii): the unbiased estimator (1/L) sum_l d/dphi f(g_phi(x, eps_l)), eps_l ~ p(eps) i.i.d."""
    term = sp.Derivative(INTEGRAND(REPARAMETERISATION(PHI, NOISE[SAMPLE_INDEX])), PHI)
    return sp.Mul(1 / SAMPLES, sp.Sum(term, (SAMPLE_INDEX, 1, SAMPLES)), evaluate=False)


@checks("4.2(ii)")
def test_the_estimator_of_4_2ii_averages_to_the_exact_gradient_for_a_gaussian_encoder():
    # f = cos, q = N(mu, s^2) reparameterised as g = mu + s eps; the exact gradients come from the closed form
    # E cos z = cos(mu) exp(-s^2/2) of reparam_example, checked there by quadrature
    example = reparam_example()
    mu, s = float(example["mu"]), float(example["s"])
    rng = np.random.default_rng(421)
    pairs = rng.normal(size=(2, 400_000))
    e = sp.Dummy("e")
    for exact, g, at in ((float(example["exact_mu"]), sp.Lambda((PHI, e), PHI + s * e), mu),   # phi = mu
                         (float(example["exact_s"]), sp.Lambda((PHI, e), mu + PHI * e), s)):  # phi = s
        two = reparam_estimator().subs(SAMPLES, 2).doit().replace(REPARAMETERISATION, g).replace(INTEGRAND, sp.cos)
        estimate = sp.lambdify((NOISE[1], NOISE[2]), two.doit().subs(PHI, at), "numpy")(*pairs)
        assert abs(float(np.mean(estimate)) - exact) < 4 * float(np.std(estimate)) / math.sqrt(pairs.shape[1])


def test_decoder_log_likelihood_matches_scipy():
    rng = np.random.default_rng(93)
    formula = gaussian_decoder_log_likelihood()
    for dim in (1, 3, 7):
        x, mu, sigma = rng.normal(size=dim), rng.normal(size=dim), rng.uniform(0.2, 2)
        reference = stats.multivariate_normal(mu, sigma ** 2 * np.eye(dim)).logpdf(x)
        ours = float(formula.subs({SSE: float(np.sum((x - mu) ** 2)), SIGMA: sigma, DIM: dim}))
        assert math.isclose(ours, reference, rel_tol=1e-10)


def test_maximising_the_reconstruction_term_is_minimising_the_squared_error():
    # a toy decoder mu_theta(z) = theta z with q = N(m, s^2): E_q log p(x|z) is an affine, decreasing
    # function of E_q |x - theta z|^2, so both are optimised by the same theta (found by an optimiser)
    rng = np.random.default_rng(94)
    x, m, s, sigma = rng.normal(size=3), 0.7, 0.4, 0.5
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    z = m + s * nodes

    def expected_sse(theta):
        return float(np.sum(weights * np.sum((x[None, :] - np.outer(z, theta)) ** 2, axis=1)))

    def expected_loglik(theta):
        return float(np.sum(weights * stats.multivariate_normal(np.zeros(3), sigma ** 2 * np.eye(3)).logpdf(
            x[None, :] - np.outer(z, theta))))

    best_sse = optimize.minimize(expected_sse, np.zeros(3)).x
    best_ll = optimize.minimize(lambda t: -expected_loglik(t), np.ones(3)).x
    assert np.allclose(best_sse, best_ll, atol=1e-4)
    theta = rng.normal(size=3)
    expected = float(gaussian_decoder_log_likelihood().subs({SSE: expected_sse(theta), SIGMA: sigma, DIM: 3}))
    assert math.isclose(expected_loglik(theta), expected, rel_tol=1e-9)


def test_the_reparameterised_estimator_is_unbiased():
    example = reparam_example()
    mu, s = float(example["mu"]), float(example["s"])
    exact_mu, exact_s = float(example["exact_mu"]), float(example["exact_s"])
    # the exact gradient by quadrature of the expectation and finite differences in the parameters
    def expectation(m, sd):
        return integrate.quad(lambda z: stats.norm.pdf(z, m, sd) * math.cos(z), -30, 30, limit=200)[0]
    h = 1e-5
    assert math.isclose((expectation(mu + h, s) - expectation(mu - h, s)) / (2 * h), exact_mu, rel_tol=1e-6)
    assert math.isclose((expectation(mu, s + h) - expectation(mu, s - h)) / (2 * h), exact_s, rel_tol=1e-6)
    assert math.isclose(expectation(mu, s), float(example["expectation"].subs({sp.Symbol("mu", real=True): mu,
                                                                                 sp.Symbol("s", positive=True): s})))
    # the printed estimate lies within 4 standard errors of the truth
    assert abs(example["estimate_mu"] - exact_mu) < 4 * example["se_mu"]
    assert abs(example["estimate_s"] - exact_s) < 4 * example["se_s"]
    # The printed estimates are defined by their L seeded draws: redraw L of them and average the gradients
    # written with the addition theorem, sin(mu + s eps) = sin mu cos(s eps) + cos mu sin(s eps); the
    # standard errors from the sums of squares. Tolerance 1e-9 (printed to 1e-4).
    eps = np.random.default_rng(92).normal(size=example["L"])
    sine = math.sin(mu) * np.cos(s * eps) + math.cos(mu) * np.sin(s * eps)
    for key, g in (("mu", -sine), ("s", -eps * sine)):
        count = g.size
        assert abs(example["estimate_" + key] - g.sum() / count) < 1e-9
        variance = (np.sum(g ** 2) - g.sum() ** 2 / count) / (count - 1)
        assert abs(example["se_" + key] - math.sqrt(variance / count)) < 1e-9
    # unbiasedness: many independent estimates from only L = 2 samples average to the exact gradient
    rng = np.random.default_rng(95)
    eps = rng.normal(size=(200_000, 2))
    estimates = np.mean(-np.sin(mu + s * eps), axis=1)
    assert abs(estimates.mean() - exact_mu) < 4 * estimates.std() / math.sqrt(estimates.size)


# --- 4.3 f-divergences and maximum likelihood -------------------------------------------------

_GRID = np.linspace(-14, 14, 14001)


def _quad_on_grid(values):
    return float(np.trapezoid(values, _GRID))


@value
def fdiv_pair():
    """The pair of distributions for the f-divergence table: P = N(0, 1) and Q = N(1, 3/2 squared)."""
    return {"p": (0, 1), "q": (1, Fraction(3, 2))}


def _fdiv_generators():
    return {
        "KL": lambda t: t * np.log(t),
        "reverse KL": lambda t: -np.log(t),
        "chi2": lambda t: (t - 1) ** 2,
        "hellinger": lambda t: (np.sqrt(t) - 1) ** 2,
        "tv": lambda t: 0.5 * np.abs(t - 1),
        "linear": lambda t: t - 1,
    }


@value
def fdiv_table():
    """D_f(P || Q) for six convex f with f(1) = 0, by quadrature, for P != Q and for P = Q."""
    pair = fdiv_pair()
    p = stats.norm.pdf(_GRID, *[float(a) for a in pair["p"]])
    q = stats.norm.pdf(_GRID, *[float(a) for a in pair["q"]])
    table = {}
    for name, f in _fdiv_generators().items():
        table[name] = {"different": _quad_on_grid(q * f(p / q)), "same": _quad_on_grid(q * f(q / q))}
    return table


T_RATIO = sp.Symbol("t", positive=True)


@value
def fdiv_generator_formulas():
    """The generators f(t) of the table, as printed."""
    t = T_RATIO
    return {"KL": t * sp.log(t), "reverse KL": -sp.log(t), "chi2": (t - 1) ** 2,
            "hellinger": (sp.sqrt(t) - 1) ** 2, "tv": sp.Abs(t - 1) / 2, "linear": t - 1}


@value
def kl_fit_mixture():
    """The bimodal p of Figure 4: (N(-2, 0.6^2) + N(2, 0.6^2)) / 2."""
    return {"mean": 2, "sd": Fraction(3, 5)}


def _mixture_pdf(x):
    mix = kl_fit_mixture()
    m, s = float(mix["mean"]), float(mix["sd"])
    return 0.5 * stats.norm.pdf(x, -m, s) + 0.5 * stats.norm.pdf(x, m, s)


def _kl_q_p(m, s):
    q = stats.norm.pdf(_GRID, m, s)
    return _quad_on_grid(np.where(q > 0, q * (stats.norm.logpdf(_GRID, m, s) - np.log(_mixture_pdf(_GRID))), 0))


def _kl_p_q(m, s):
    p = _mixture_pdf(_GRID)
    return _quad_on_grid(p * (np.log(p) - stats.norm.logpdf(_GRID, m, s)))


@value
def kl_forward_fit():
    """argmin_q KL(p || q) over Gaussians: moment matching, mean 0 and variance m^2 + s^2."""
    mix = kl_fit_mixture()
    return {"mean": 0, "sd": sp.sqrt(sp.Rational(mix["mean"]) ** 2 + sp.Rational(mix["sd"]) ** 2)}


@value
def kl_reverse_fit():
    """argmin_q KL(q || p) over Gaussians, by Nelder-Mead from a start on the right: one mode."""
    result = optimize.minimize(lambda t: _kl_q_p(t[0], math.exp(t[1])), [1.0, 0.0], method="Nelder-Mead",
                               options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 4000})
    return {"mean": float(result.x[0]), "sd": float(math.exp(result.x[1]))}


@value
def kl_fit_divergences():
    """Both divergences for both fits, and for the symmetric stationary point of KL(q || p) at mean 0."""
    fwd, rev = kl_forward_fit(), kl_reverse_fit()
    fm, fs = float(fwd["mean"]), float(fwd["sd"])
    centre = optimize.minimize_scalar(lambda log_s: _kl_q_p(0.0, math.exp(log_s)), bounds=(-2, 2), method="bounded",
                                      options={"xatol": 1e-9})
    return {"forward": {"p_q": _kl_p_q(fm, fs), "q_p": _kl_q_p(fm, fs)},
            "reverse": {"p_q": _kl_p_q(rev["mean"], rev["sd"]), "q_p": _kl_q_p(rev["mean"], rev["sd"])},
            "centre": {"sd": float(math.exp(centre.x)), "q_p": float(centre.fun)}}


@value
def kl_fit_answer():
    """Which plot of the rebuilt Figure 4 shows which fit: (i) argmin KL(p||q) is the plotted q with the
    smaller KL(p || q), (ii) argmin KL(q||p) the one with the smaller KL(q || p). Left shows the
    forward fit, right the reverse fit."""
    div = kl_fit_divergences()
    plotted = {"left": div["forward"], "right": div["reverse"]}
    return {"i": min(plotted, key=lambda side: plotted[side]["p_q"]),
            "ii": min(plotted, key=lambda side: plotted[side]["q_p"])}


@value
def kl_fit_curves():
    """Curves for Figure 4: p, the forward fit and the reverse fit on [-5, 5] (81 points each)."""
    xs = np.linspace(-5, 5, 81)
    fwd, rev = kl_forward_fit(), kl_reverse_fit()
    return {"p": np.column_stack([xs, _mixture_pdf(xs)]),
            "forward": np.column_stack([xs, stats.norm.pdf(xs, float(fwd["mean"]), float(fwd["sd"]))]),
            "reverse": np.column_stack([xs, stats.norm.pdf(xs, rev["mean"], rev["sd"])])}


@value
def kl_likelihood_example():
    """KL(p || q_w) + E_p log q_w for q_w = N(w, 1) at several w: the same number, -H(p), every time."""
    p = _mixture_pdf(_GRID)
    rows = []
    for w in (-1.0, 0.0, 0.5, 2.0):
        log_q = stats.norm.logpdf(_GRID, w, 1.0)
        kl, loglik = _kl_p_q(w, 1.0), _quad_on_grid(p * log_q)
        rows.append({"w": w, "kl": kl, "loglik": loglik, "total": kl + loglik})
    return rows


def test_the_printed_generators_are_the_ones_integrated_convex_and_zero_at_one():
    formulas = fdiv_generator_formulas()
    generators = _fdiv_generators()
    assert set(formulas) == set(generators) == set(fdiv_table())
    grid = np.linspace(0.05, 6, 200)
    for name, expression in formulas.items():
        printed = sp.lambdify(T_RATIO, expression, "numpy")
        assert np.allclose(printed(grid), generators[name](grid))
        assert expression.subs(T_RATIO, 1) == 0
        values = printed(grid)
        # convexity on the grid: second differences are non-negative
        assert (values[:-2] + values[2:] - 2 * values[1:-1] >= -1e-12).all()


def test_every_f_divergence_is_nonnegative_and_zero_for_equal_laws():
    table = fdiv_table()
    assert fdiv_pair() == {"p": (0, 1), "q": (1, Fraction(3, 2))}  # the pair behind the closed forms below
    for name, row in table.items():
        assert abs(row["same"]) < 1e-12
        if name != "linear":
            assert row["different"] > 1e-3
    # closed forms for Gaussians as independent checks
    kl = math.log(1.5) + (1 + 1) / (2 * 1.5 ** 2) - 0.5           # KL(N(0,1) || N(1, 1.5^2))
    assert math.isclose(table["KL"]["different"], kl, rel_tol=1e-8)
    reverse = math.log(1 / 1.5) + (1.5 ** 2 + 1) / 2 - 0.5         # KL(Q || P)
    assert math.isclose(table["reverse KL"]["different"], reverse, rel_tol=1e-8)
    bc = math.sqrt(2 * 1.5 / (1 + 1.5 ** 2)) * math.exp(-1 / (4 * (1 + 1.5 ** 2)))
    assert math.isclose(table["hellinger"]["different"], 2 * (1 - bc), rel_tol=1e-8)
    # chi^2(P || Q) = int p^2 / q - 1 = s_q / (s_p^2 sqrt(2 / s_p^2 - 1 / s_q^2)) exp((m_p - m_q)^2 / (2 s_q^2 - s_p^2)) - 1
    chi2 = 1.5 / math.sqrt(2 - 1 / 1.5 ** 2) * math.exp(1 / (2 * 1.5 ** 2 - 1)) - 1
    assert math.isclose(table["chi2"]["different"], chi2, rel_tol=1e-8)
    tv = 0.5 * integrate.quad(lambda t: abs(stats.norm.pdf(t) - stats.norm.pdf(t, 1, 1.5)), -20, 20, points=[-3, 0.6, 2],
                              limit=200)[0]
    assert math.isclose(table["tv"]["different"], tv, rel_tol=1e-6)


def test_published_zero_only_if_equal_claim_for_every_convex_f_fails():
    table = fdiv_table()
    assert abs(table["linear"]["different"]) < 1e-10   # f(t) = t - 1 is convex with f(1) = 0, yet D_f = 0 for P != Q
    rng = np.random.default_rng(96)
    for _ in range(5):
        m, s = rng.normal(), rng.uniform(0.5, 2)
        d = integrate.quad(lambda t: stats.norm.pdf(t, m, s) * (stats.norm.pdf(t) / stats.norm.pdf(t, m, s) - 1),
                           -30, 30)[0]
        assert abs(d) < 1e-8


@checks("4.3(i)")
def test_jensen_gap_shows_nonnegativity_on_random_pairs():
    rng = np.random.default_rng(97)
    for _ in range(10):
        m1, m2, s1, s2 = rng.normal(), rng.normal(), rng.uniform(0.5, 2), rng.uniform(0.5, 2)
        p, q = stats.norm.pdf(_GRID, m1, s1), stats.norm.pdf(_GRID, m2, s2)
        mask = (p > 1e-200) & (q > 1e-200)   # the tails beyond carry no mass worth counting
        p, q = np.where(mask, p, 1.0), np.where(mask, q, 1.0)
        for name, f in _fdiv_generators().items():
            if name == "linear":
                continue
            divergence = _quad_on_grid(np.where(mask, q * f(p / q), 0.0))
            jensen = f(_quad_on_grid(np.where(mask, p, 0.0)))   # f(E_q[p/q]) = f(1) = 0
            assert abs(jensen) < 1e-9 and divergence > 1e-6


def test_kl_minimisation_is_maximum_likelihood():
    rows = kl_likelihood_example()
    constant = rows[0]["kl"] + rows[0]["loglik"]
    for row in rows:
        assert math.isclose(row["kl"] + row["loglik"], constant, abs_tol=1e-9)
        assert math.isclose(row["total"], constant, abs_tol=1e-9)
    # E_p log N(x; w, 1) = -log(2 pi) / 2 - (E_p x^2 - 2 w E_p x + w^2) / 2 with E_p x = 0 and E_p x^2 = m^2 + s^2
    # for the mixture: each row against its own printed w (tolerance 1e-9; the table prints 1e-4)
    mix = kl_fit_mixture()
    second_moment = float(mix["mean"]) ** 2 + float(mix["sd"]) ** 2
    for row in rows:
        assert math.isclose(row["loglik"], -0.5 * math.log(2 * math.pi) - (second_moment + row["w"] ** 2) / 2,
                            rel_tol=1e-9)
    # -H(p) by independent quadrature
    neg_entropy = integrate.quad(lambda t: _mixture_pdf(t) * math.log(_mixture_pdf(t)), -12, 12, points=[-2, 2],
                                 limit=200)[0]
    assert math.isclose(constant, neg_entropy, rel_tol=1e-7)
    # the optimiser finds the same w for both criteria
    best_kl = optimize.minimize_scalar(lambda w: _kl_p_q(w, 1.0), bounds=(-3, 3), method="bounded").x
    best_ll = optimize.minimize_scalar(
        lambda w: -_quad_on_grid(_mixture_pdf(_GRID) * stats.norm.logpdf(_GRID, w, 1.0)), bounds=(-3, 3),
        method="bounded").x
    assert abs(best_kl - best_ll) < 1e-5


def test_forward_fit_is_moment_matching_and_reverse_fit_is_one_mode():
    fwd, rev = kl_forward_fit(), kl_reverse_fit()
    numeric = optimize.minimize(lambda t: _kl_p_q(t[0], math.exp(t[1])), [0.5, 0.0], method="Nelder-Mead",
                                options={"xatol": 1e-9, "fatol": 1e-13}).x
    assert abs(numeric[0] - float(fwd["mean"])) < 1e-5 and math.isclose(math.exp(numeric[1]), float(fwd["sd"]),
                                                                         rel_tol=1e-5)
    assert abs(rev["mean"] - 2) < 0.05 and abs(rev["sd"] - 0.6) < 0.05
    # a stationary point: finite-difference gradient of KL(q || p) vanishes there, and it is a minimum
    h = 1e-4
    for dm, ds in ((h, 0), (0, h)):
        plus, minus = _kl_q_p(rev["mean"] + dm, rev["sd"] + ds), _kl_q_p(rev["mean"] - dm, rev["sd"] - ds)
        centre = _kl_q_p(rev["mean"], rev["sd"])
        assert abs(plus - minus) / (2 * h) < 1e-4 and plus > centre and minus > centre
    div = kl_fit_divergences()
    assert div["forward"]["p_q"] < div["reverse"]["p_q"] and div["reverse"]["q_p"] < div["forward"]["q_p"]
    assert abs(div["reverse"]["q_p"] - math.log(2)) < 0.01    # one of two far-apart modes: about log 2
    assert div["centre"]["q_p"] > div["reverse"]["q_p"]
    # the mirror image is an equally good fit
    assert math.isclose(_kl_q_p(-rev["mean"], rev["sd"]), div["reverse"]["q_p"], rel_tol=1e-9)
    curves = kl_fit_curves()
    assert len(curves["p"]) == 81 and np.allclose(curves["p"][:, 1], curves["p"][::-1, 1])
    # the left curve is the wide, centred one: the moment-matching fit answers (i)
    assert kl_fit_answer() == {"i": "left", "ii": "right"}
    left, right = curves["forward"], curves["reverse"]
    def spread(curve):
        weights = curve[:, 1] / curve[:, 1].sum()
        mean = np.sum(weights * curve[:, 0])
        return np.sqrt(np.sum(weights * (curve[:, 0] - mean) ** 2)), mean

    (sd_left, mean_left), (sd_right, mean_right) = spread(left), spread(right)
    assert sd_left > 2 * sd_right and abs(mean_left) < 1e-9 and mean_right > 1.5


def _mixture_pdf_explicit(x):
    """The mixture density written out with math.exp, without scipy."""
    mix = kl_fit_mixture()
    m, s = float(mix["mean"]), float(mix["sd"])
    return sum(0.5 * math.exp(-(x - c) ** 2 / (2 * s * s)) / (s * math.sqrt(2 * math.pi)) for c in (-m, m))


def _kl_by_quad(density_a, log_a, log_b):
    """KL(a || b) = int a (log a - log b) by adaptive quadrature, split at the modes."""
    return integrate.quad(lambda t: density_a(t) * (log_a(t) - log_b(t)), -20, 20, points=[-2, 0, 2], limit=400,
                          epsabs=1e-13, epsrel=1e-12)[0]


def test_divergences_of_the_fits_and_the_plotted_curves_by_independent_formulas_and_quadrature():
    # the four divergences and the symmetric stationary point by scipy's adaptive quadrature (not the
    # trapezoid grid) with the densities written out; tolerance 1e-6 (printed to 1e-3)
    fwd, rev, div = kl_forward_fit(), kl_reverse_fit(), kl_fit_divergences()

    def gauss(m, s):
        return (lambda t: math.exp(-(t - m) ** 2 / (2 * s * s)) / (s * math.sqrt(2 * math.pi)),
                lambda t: -(t - m) ** 2 / (2 * s * s) - math.log(s * math.sqrt(2 * math.pi)))

    log_p = lambda t: math.log(_mixture_pdf_explicit(t))
    for name, (m, s) in (("forward", (float(fwd["mean"]), float(fwd["sd"]))), ("reverse", (rev["mean"], rev["sd"]))):
        q, log_q = gauss(m, s)
        assert abs(div[name]["p_q"] - _kl_by_quad(_mixture_pdf_explicit, log_p, log_q)) < 1e-6, name
        assert abs(div[name]["q_p"] - _kl_by_quad(q, log_q, log_p)) < 1e-6, name

    def centred(sd):
        q, log_q = gauss(0.0, sd)
        return _kl_by_quad(q, log_q, log_p)

    best = optimize.minimize_scalar(centred, bracket=(0.5, 1.5, 3.0), method="golden", options={"xtol": 1e-8})
    assert abs(div["centre"]["sd"] - best.x) < 1e-4 and abs(div["centre"]["q_p"] - best.fun) < 1e-6
    # the plotted curves against the densities written out: the mixture, N(0, m^2 + s^2), the reverse fit;
    # entrywise, tolerance 1e-12 (the plot prints 1e-3)
    curves = kl_fit_curves()
    mix = kl_fit_mixture()
    moment_sd = math.sqrt(float(mix["mean"]) ** 2 + float(mix["sd"]) ** 2)
    for name, density in (("p", _mixture_pdf_explicit), ("forward", gauss(0.0, moment_sd)[0]),
                          ("reverse", gauss(rev["mean"], rev["sd"])[0])):
        xs = curves[name][:, 0]
        assert np.allclose(xs, np.linspace(-5, 5, 81), rtol=0, atol=1e-12)
        assert np.allclose(curves[name][:, 1], [density(t) for t in xs], rtol=0, atol=1e-12), name


# --- 4.4 GANs ---------------------------------------------------------------------------------

_GAN_NODES, _GAN_WEIGHTS = np.polynomial.hermite_e.hermegauss(80)
_GAN_WEIGHTS = _GAN_WEIGHTS / _GAN_WEIGHTS.sum()


@value
def gan_family():
    """P_r = N(0, 1); the generator G(z) = m + s z with z ~ N(0, 1), so P_g = N(m, s^2); Theta0 = (1, 1/2)."""
    return {"real": (0, 1), "theta0": (1, Fraction(1, 2)), "theta": (Fraction(3, 2), Fraction(4, 5))}


def _gan_densities(x, theta):
    return stats.norm.pdf(x), stats.norm.pdf(x, theta[0], theta[1])


def _log_d_star(x):
    """log D*(x) and log(1 - D*(x)), computed in log space so that the tails do not round to 0 or 1."""
    theta0 = [float(a) for a in gan_family()["theta0"]]
    log_r, log_g0 = stats.norm.logpdf(x), stats.norm.logpdf(x, theta0[0], theta0[1])
    total = np.logaddexp(log_r, log_g0)
    return log_r - total, log_g0 - total


def _d_star(x):
    return np.exp(_log_d_star(x)[0])


def _kl_g_r(theta):
    p_r, p_g = _gan_densities(_GRID, theta)
    return _quad_on_grid(p_g * (stats.norm.logpdf(_GRID, theta[0], theta[1]) - stats.norm.logpdf(_GRID)))


def _jsd_g_r(theta):
    p_r, p_g = _gan_densities(_GRID, theta)
    mid = 0.5 * (p_r + p_g)
    return 0.5 * _quad_on_grid(p_g * np.log(p_g / mid)) + 0.5 * _quad_on_grid(p_r * np.log(p_r / mid))


@value
def gan_identity_i():
    """Both sides of the identity of 4.4 (i) at Theta = (3/2, 4/5): KL(P_g || P_r) and the right-hand side."""
    family = gan_family()
    theta = [float(a) for a in family["theta"]]
    theta0 = [float(a) for a in family["theta0"]]
    left = _kl_g_r(theta)
    p_g = stats.norm.pdf(_GRID, *theta)
    kl_g_g0 = _quad_on_grid(p_g * (stats.norm.logpdf(_GRID, *theta) - stats.norm.logpdf(_GRID, *theta0)))
    x = theta[0] + theta[1] * _GAN_NODES          # G_Theta(z) at the Gauss-Hermite nodes
    log_d, log_one_minus_d = _log_d_star(x)
    right = kl_g_g0 - float(np.sum(_GAN_WEIGHTS * (log_d - log_one_minus_d)))
    return {"left": left, "kl_g_g0": kl_g_g0, "right": right}


def _expected_grad_log(which):
    """E_z[grad_Theta log D*(G(z))] (which = 0) or of log(1 - D*) (which = 1) at Theta0, by Gauss-Hermite.

    The chain rule through x = m + s z: d/dm = d/dx and d/ds = z d/dx.
    """
    m0, s0 = (float(a) for a in gan_family()["theta0"])
    x = m0 + s0 * _GAN_NODES
    h = 1e-6
    slope = (_log_d_star(x + h)[which] - _log_d_star(x - h)[which]) / (2 * h)   # d/dx log D*(x)
    return np.array([np.sum(_GAN_WEIGHTS * slope), np.sum(_GAN_WEIGHTS * slope * _GAN_NODES)])


@value
def gan_gradients():
    """At Theta0: E_z grad log D*(G(z)), E_z grad log(1 - D*(G(z))), and grad [KL - 2 JSD], grad 2 JSD."""
    theta0 = np.array([float(a) for a in gan_family()["theta0"]])
    h = 1e-5

    def grad(fn):
        return np.array([(fn(theta0 + h * e) - fn(theta0 - h * e)) / (2 * h) for e in np.eye(2)])

    return {"log_d": _expected_grad_log(0), "log_one_minus_d": _expected_grad_log(1),
            "kl_minus_2jsd": grad(lambda t: _kl_g_r(t) - 2 * _jsd_g_r(t)), "two_jsd": grad(lambda t: 2 * _jsd_g_r(t)),
            "kl": grad(_kl_g_r)}


def test_gan_identity_i_holds_by_independent_quadrature():
    result = gan_identity_i()
    assert math.isclose(result["left"], result["right"], rel_tol=1e-8)
    # closed-form Gaussian KLs
    (m, s), (m0, s0) = [[float(a) for a in gan_family()[k]] for k in ("theta", "theta0")]
    # KL(N(m, s^2) || N(m_r, s_r^2)) with the printed P_r = N(m_r, s_r^2)
    m_r, s_r = (float(a) for a in gan_family()["real"])
    assert math.isclose(result["left"], math.log(s_r / s) + (s ** 2 + (m - m_r) ** 2) / (2 * s_r ** 2) - 0.5,
                        rel_tol=1e-9)
    assert math.isclose(result["kl_g_g0"], math.log(s0 / s) + (s ** 2 + (m - m0) ** 2) / (2 * s0 ** 2) - 0.5,
                        rel_tol=1e-9)
    # and on random Theta by Monte Carlo over z
    rng = np.random.default_rng(98)
    z = rng.normal(size=400_000)
    for _ in range(3):
        theta = (rng.uniform(-1, 2), rng.uniform(0.4, 1.5))
        x = theta[0] + theta[1] * z
        log_d, log_one_minus_d = _log_d_star(x)
        right = (math.log(s0 / theta[1]) + (theta[1] ** 2 + (theta[0] - m0) ** 2) / (2 * s0 ** 2) - 0.5
                 - np.mean(log_d - log_one_minus_d))
        left = math.log(1 / theta[1]) + (theta[1] ** 2 + theta[0] ** 2) / 2 - 0.5
        assert abs(left - right) < 0.02


def test_eq_18_holds():
    g = gan_gradients()
    assert np.allclose(g["log_one_minus_d"], g["two_jsd"], atol=1e-6)


def test_alternative_update_minimises_kl_minus_two_jsd():
    g = gan_gradients()
    # E grad log D* = - grad [KL - 2 JSD]: descending -E log D* descends KL - 2 JSD
    assert np.allclose(g["log_d"], -g["kl_minus_2jsd"], atol=1e-6)
    # by Monte Carlo over z, independently of the Gauss-Hermite rule
    rng = np.random.default_rng(99)
    z = rng.normal(size=400_000)
    m0, s0 = (float(a) for a in gan_family()["theta0"])
    h = 1e-5
    log_d = lambda x: _log_d_star(x)[0]  # noqa: E731
    mc = np.array([(np.mean(log_d(m0 + h + s0 * z)) - np.mean(log_d(m0 - h + s0 * z))) / (2 * h),
                   (np.mean(log_d(m0 + (s0 + h) * z)) - np.mean(log_d(m0 + (s0 - h) * z))) / (2 * h)])
    assert np.allclose(mc, -g["kl_minus_2jsd"], atol=0.02)


def test_published_sign_of_4_4_ii_is_wrong():
    g = gan_gradients()
    assert not np.allclose(g["log_d"], g["kl_minus_2jsd"], atol=1e-2)   # the identity as printed fails
    assert np.linalg.norm(g["kl_minus_2jsd"]) > 0.1
    # the gradient of KL(P_g || P_g0) vanishes at Theta0, the step the derivation relies on
    theta0 = [float(a) for a in gan_family()["theta0"]]
    h = 1e-5
    for e in np.eye(2):
        plus, minus = np.array(theta0) + h * e, np.array(theta0) - h * e
        kl = lambda t: math.log(theta0[1] / t[1]) + (t[1] ** 2 + (t[0] - theta0[0]) ** 2) / (2 * theta0[1] ** 2) - 0.5  # noqa: E731
        assert abs((kl(plus) - kl(minus)) / (2 * h)) < 1e-8
