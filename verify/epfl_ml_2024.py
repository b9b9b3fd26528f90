"""Values and tests of chapter epfl_ml_2024 (EPFL CS-433 Machine Learning, final exam, 18 Jan 2024).

One section per question, values first, then their tests. Multiple-choice answers are letters
decided by a computation on every option; true/false answers are booleans decided by a check or
a counterexample. Algorithms without a library here (k-means, Gaussian-mixture EM, a hard-margin
SVM, least absolute deviations) live in epfl_ml_2024_algorithms.py.
"""

import itertools
import math
import string
from fractions import Fraction

import matplotlib.figure
import numpy as np
import sympy as sp
from scipy import integrate, stats
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, logsumexp, softmax
from scipy.spatial import cKDTree
from scipy.stats import truncnorm

from epfl_ml_2024_algorithms import (clustering_accuracy, em_1d, gmm_em, gmm_em_step, gmm_loglik, hard_svm,
                                     kmeans, kmeans_cost, least_absolute_deviations, linearly_separable,
                                     max_min_bilinear, min_max_bilinear, nearest)
from solman import checks, tex, value

LETTERS = string.ascii_uppercase
SOLACCENT, SOLRULE, ERRATA = "#1c3e6e", "#7894be", "#9e3416"  # the colours of solman.sty, for figures


def rounding_exponent(x):
    """The largest integer k with |x| < 10^-k: what a printed bound "below 10^-k" on a rounding error says.
    (A rounding error itself has no independent value to test; the bound it obeys has.)"""
    x = abs(float(x))
    if x == 0:
        raise ValueError("an exact zero has no rounding exponent")
    k = math.floor(-math.log10(x))
    while x >= 10.0 ** -k:
        k -= 1
    while x < 10.0 ** -(k + 1):
        k += 1
    return k


def letter_of_unique_true(checks):
    """The letter of the only option whose check is True; an error if there is not exactly one."""
    true = [letter for letter, ok in checks.items() if ok]
    if len(true) != 1:
        raise ValueError(f"expected exactly one correct option, found {true}")
    return true[0]


# =============================================================================================
# Q1, Q2: MSE and MAE of the three data sets of Figure 1 (model y = x)
# =============================================================================================


@value
def fig1_data():
    """The data points of Figure 1 (restored from the original exam), one list per panel. The exam names the
    panels A, B, C, letters its options also use; we call them D1, D2, D3."""
    return {
        "D1": [(1, 1), (2, 2), (2, 5), (4, 4), (5, 5), (6, 6), (7, 7), (8, 8)],
        "D2": [(1, 1), (2, 2), (3, 3), (5, 3), (5, 5), (5, 7), (7, 7), (8, 8)],
        "D3": [(1, 1), (2, 3), (3, 4), (4, 5), (5, 6), (6, 5), (7, 7), (8, 8)],
    }


@value
def fig1_residuals():
    """The residuals y - x of every point under the model y = x."""
    return {name: [y - x for x, y in points] for name, points in fig1_data().items()}


@value
def fig1_off_model():
    """The points not on the line y = x, with their residual, per data set."""
    return {name: [{"x": x, "y": y, "r": y - x} for x, y in points if y != x]
            for name, points in fig1_data().items()}


@value
def q1_mse():
    """MSE of the model y = x on each data set, exactly."""
    return {name: Fraction(sum(r * r for r in res), len(res)) for name, res in fig1_residuals().items()}


@value
def q1_mse_numerators():
    """The sums of squared residuals (the MSE times 8), to show the arithmetic."""
    return {name: sum(r * r for r in res) for name, res in fig1_residuals().items()}


@value
def q2_mae():
    """MAE of the model y = x on each data set, exactly."""
    return {name: Fraction(sum(abs(r) for r in res), len(res)) for name, res in fig1_residuals().items()}


@value
def q2_mae_numerators():
    return {name: sum(abs(r) for r in res) for name, res in fig1_residuals().items()}


@value
def q2_error_sizes():
    """Per data set, the number of points off the line and the common size |r| of their residuals (every data set
    of Figure 1 has residuals of a single size)."""
    out = {}
    for name, res in fig1_residuals().items():
        sizes = {abs(r) for r in res if r != 0}
        (size,) = sizes
        out[name] = {"count": sum(r != 0 for r in res), "size": size}
    return out


@value
def q1_options():
    """The options of Q1 in the exam's order: a strict ordering (first > second > third) or 'equal'."""
    return [("D2", "D1", "D3"), ("D2", "D3", "D1"), "equal", ("D1", "D3", "D2"), ("D3", "D2", "D1"),
            ("D1", "D2", "D3"), ("D3", "D1", "D2")]


@value
def q2_options():
    """The options of Q2 in the exam's order."""
    return [("D1", "D3", "D2"), ("D2", "D3", "D1"), ("D1", "D2", "D3"), ("D3", "D1", "D2"), ("D2", "D1", "D3"),
            "equal", ("D3", "D2", "D1")]


def ordering_option_holds(option, losses):
    if option == "equal":
        return len(set(losses.values())) < len(losses)
    first, second, third = option
    return losses[first] > losses[second] > losses[third]


@value
def q1_answer():
    return letter_of_unique_true({LETTERS[i]: ordering_option_holds(o, q1_mse()) for i, o in enumerate(q1_options())})


@value
def q2_answer():
    return letter_of_unique_true({LETTERS[i]: ordering_option_holds(o, q2_mae()) for i, o in enumerate(q2_options())})


def test_fig1_data_has_eight_points_per_panel_and_a_few_off_the_line():
    data = fig1_data()
    assert all(len(points) == 8 for points in data.values())
    assert [len(v) for v in fig1_off_model().values()] == [1, 2, 5]
    assert fig1_residuals()["D2"] == [0, 0, 0, -2, 0, 2, 0, 0]


def test_q1_q2_losses_match_numpy():
    for name, points in fig1_data().items():
        xy = np.array(points, dtype=float)
        assert np.isclose(float(q1_mse()[name]), np.mean((xy[:, 1] - xy[:, 0]) ** 2))
        assert np.isclose(float(q2_mae()[name]), np.mean(np.abs(xy[:, 1] - xy[:, 0])))
        assert q1_mse_numerators()[name] == 8 * q1_mse()[name]
        assert q2_mae_numerators()[name] == 8 * q2_mae()[name]


def test_q1_q2_published_values_agree():
    assert q1_mse() == {"D1": Fraction(9, 8), "D2": Fraction(8, 8), "D3": Fraction(5, 8)}
    assert q2_mae() == {"D1": Fraction(3, 8), "D2": Fraction(4, 8), "D3": Fraction(5, 8)}


@checks("q2")
def test_q2_squaring_leaves_unit_errors_alone_and_magnifies_the_others():
    # the published sentence "the square shrinks them" (the small errors of C, here D3) is false: they are +-1
    for name, points in fig1_data().items():
        r = np.array([y - x for x, y in points])
        off = r[r != 0]
        assert q2_error_sizes()[name] == {"count": off.size, "size": int(np.abs(off).max())}
        assert np.all(np.abs(off) == np.abs(off).min())  # one size per data set
    assert q2_error_sizes() == {"D1": {"count": 1, "size": 3}, "D2": {"count": 2, "size": 2},
                                "D3": {"count": 5, "size": 1}}
    d3 = np.array([y - x for x, y in fig1_data()["D3"]])
    assert np.array_equal(d3 ** 2, np.abs(d3))          # squares of +-1 and 0 are the values' sizes: nothing shrinks
    assert q2_mae()["D3"] == q1_mse()["D3"]
    for name in ("D1", "D2"):                             # and the square magnifies errors of size 2 or more
        res = np.array([y - x for x, y in fig1_data()[name]])
        assert np.sum(res ** 2) > np.sum(np.abs(res))


def test_q1_q2_answers_are_the_orderings_by_brute_force():
    for options, losses, answer in ((q1_options(), q1_mse(), q1_answer()), (q2_options(), q2_mae(), q2_answer())):
        ranking = tuple(sorted(losses, key=lambda k: -losses[k]))
        assert options[LETTERS.index(answer)] == ranking
        assert len(options) == 7 and len(set(map(str, options))) == 7
        assert sum(o == ranking for o in options) == 1
    assert (q1_answer(), q2_answer()) == ("F", "G")


# =============================================================================================
# Q3: Laplace likelihood
# =============================================================================================


@value
def q3_data():
    """A small data set with scalar inputs, to compare the four formulations on a grid."""
    return {"x": [1, 2, 3, 4, 5], "y": [2, 3, 7, 8, 9]}


@value
def q3_b():
    return Fraction(1, 2)


def q3_objectives():
    """The four formulations as (direction, function of w) for the scalar model y = w x."""
    x, y = (np.array(q3_data()[k], dtype=float) for k in ("x", "y"))
    b = float(q3_b())

    def loglik(w):
        return float(np.sum(-np.log(2 * b) - np.abs(y - w * x) / b))

    return {
        "A": ("min", lambda w: float(np.sum(np.abs(y - w * x)))),
        "B": ("min", lambda w: float(np.sum(np.abs(y - w * x) / b))),
        "C": ("max", lambda w: float(np.exp(loglik(w)))),
        "D": ("min", loglik),
    }


@value
def q3_grid_step():
    """The step of the grid on which the four objectives are optimised."""
    return Fraction(1, 100)


def q3_grid(half_width, step):
    """The exact grid -half_width, -half_width + step, ..., half_width (step must divide 2 half_width)."""
    count = Fraction(2 * half_width) / step
    assert count.denominator == 1, "the step must divide the width of the grid"
    return [-half_width + k * step for k in range(int(count) + 1)]


def q3_grid_optimisers(half_width, step=None):
    """The grid point that optimises each formulation on [-half_width, half_width] (first one on ties)."""
    grid = q3_grid(half_width, q3_grid_step() if step is None else step)
    result = {}
    for letter, (direction, f) in q3_objectives().items():
        values = np.array([f(float(w)) for w in grid])
        index = values.argmin() if direction == "min" else values.argmax()
        result[letter] = Fraction(grid[index])
    return result


@value
def q3_grid_optimisers_narrow():
    """The optimiser of each formulation over the grid w in [-4, 4] (step q3_grid_step)."""
    return q3_grid_optimisers(4)


@value
def q3_grid_optimisers_wide():
    """The same over the grid w in [-8, 8]: an optimiser that moves with the grid does not exist."""
    return q3_grid_optimisers(8)


@value
def q3_mle():
    """The maximiser of the likelihood on the grid."""
    return q3_grid_optimisers_narrow()["C"]


@value
def q3_abs_residual_sum_at_mle():
    """sum |y_n - w x_n| at the MLE (objective A), and objective B there: they differ by the factor 1/b."""
    direction_a, f_a = q3_objectives()["A"]
    direction_b, f_b = q3_objectives()["B"]
    w = float(q3_mle())
    return {"A": Fraction(round(f_a(w))), "B": Fraction(round(f_b(w)))}


@value
def q3_answer():
    """The formulation whose optimiser is not the MLE (or does not exist)."""
    narrow, wide = q3_grid_optimisers_narrow(), q3_grid_optimisers_wide()
    return letter_of_unique_true({k: not (narrow[k] == wide[k] == q3_mle()) for k in narrow})


def test_q3_mle_is_the_weighted_median_of_slopes():
    x, y = np.array(q3_data()["x"], float), np.array(q3_data()["y"], float)
    result = minimize_scalar(lambda w: np.sum(np.abs(y - w * x)), bounds=(-10, 10), method="bounded",
                             options={"xatol": 1e-10})
    assert abs(result.x - float(q3_mle())) < 1e-4
    # the subgradient condition: 0 lies in sum_n -x_n sign(r_n) + [-x_n, x_n] over zero residuals
    r = y - float(q3_mle()) * x
    fixed = -np.sum(x[r != 0] * np.sign(r[r != 0]))
    assert abs(fixed) <= np.sum(x[r == 0])


def test_q3_equivalent_formulations_share_the_optimiser_and_d_runs_to_the_edge():
    narrow, wide = q3_grid_optimisers_narrow(), q3_grid_optimisers_wide()
    assert narrow["A"] == narrow["B"] == narrow["C"] == wide["C"] == 2
    assert narrow["D"] == -4 and wide["D"] == -8
    x, y = np.array(q3_data()["x"], float), np.array(q3_data()["y"], float)
    loglik = [np.sum(-np.log(2 * 0.5) - np.abs(y - w * x) / 0.5) for w in (-10.0, -100.0, -1000.0)]
    assert loglik[0] > loglik[1] > loglik[2]  # unbounded below: argmin log p does not exist
    assert q3_answer() == "D"


def test_q3_grid_step_is_the_resolution_of_the_printed_optimisers():
    step = q3_grid_step()
    assert step == Fraction(1, 100)
    narrow, wide = q3_grid_optimisers_narrow(), q3_grid_optimisers_wide()
    # every printed optimiser is a point of a grid of this step, and the grid is the one printed
    for w in list(narrow.values()) + list(wide.values()):
        assert (w / step).denominator == 1
    x, y = np.array(q3_data()["x"], float), np.array(q3_data()["y"], float)
    grid = np.linspace(-4, 4, int(8 / step) + 1)
    assert np.isclose(grid[1] - grid[0], float(step))
    brute = grid[np.argmin([np.sum(np.abs(y - w * x)) for w in grid])]
    assert np.isclose(brute, float(narrow["A"]))
    # on this grid the optimiser of A is a strict local minimum: one step either way costs more
    objective_a = q3_objectives()["A"][1]
    w = float(narrow["A"])
    assert objective_a(w - float(step)) > objective_a(w) < objective_a(w + float(step))
    # the table depends on the step: on a grid of step 4/5 (which misses w = 2) A, B and C land elsewhere
    coarse = q3_grid_optimisers(4, Fraction(4, 5))
    assert coarse["A"] == coarse["B"] == coarse["C"] != narrow["A"] and abs(coarse["A"] - narrow["A"]) < Fraction(4, 5)


def test_published_q3_justification_the_factor_changes_the_value_is_wrong():
    """The published solution says the factor 1/b 'does not change the value': it scales the value."""
    values = q3_abs_residual_sum_at_mle()
    x, y = np.array(q3_data()["x"], float), np.array(q3_data()["y"], float)
    assert values["A"] == np.sum(np.abs(y - 2 * x)) == 3
    assert values["B"] == values["A"] / q3_b() != values["A"]  # the value changes ...
    assert q3_grid_optimisers_narrow()["A"] == q3_grid_optimisers_narrow()["B"]  # ... the minimiser does not


# =============================================================================================
# Q4: a gradient step on a strictly convex function
# =============================================================================================


def q4_loss_table():
    """Strictly convex losses with their derivative and minimiser."""
    return [
        ("(w-1)^2", lambda w: (w - 1) ** 2, lambda w: 2 * (w - 1), 1.0),
        ("e^{w} - 2w", lambda w: np.exp(w) - 2 * w, lambda w: np.exp(w) - 2, math.log(2)),
        ("w^4 + w", lambda w: w ** 4 + w, lambda w: 4 * w ** 3 + 1, -(0.25 ** (1 / 3))),
        (r"\log\cosh(w-2)", lambda w: np.log(np.cosh(w - 2)), lambda w: np.tanh(w - 2), 2.0),
    ]


@value
def q4_losses():
    """The strictly convex losses we test, as LaTeX."""
    return [tex(name) for name, *_ in q4_loss_table()]


@value
def q4_trials():
    """Random trials: for every loss, points w_t > w* and step sizes; counts of each sign pattern."""
    rng = np.random.default_rng(4)
    counts = {"A": 0, "B": 0, "C": 0, "D": 0}
    total = 0
    for _, _, grad, w_star in q4_loss_table():
        for _ in range(250):
            w_t = w_star + rng.uniform(1e-3, 3.0)
            gamma = 10 ** rng.uniform(-3, 0)
            g = grad(w_t)
            w_next = w_t - gamma * g
            key = {(True, True): "A", (False, True): "B", (True, False): "C", (False, False): "D"}[(g > 0, w_next < w_t)]
            counts[key] += 1
            total += 1
    return {"total": total, "counts": counts}


@value
def q4_answer():
    counts = q4_trials()["counts"]
    return letter_of_unique_true({k: v == q4_trials()["total"] for k, v in counts.items()})


@value
def q4_overshoot():
    """L(w) = w^2, w_t = 1, step 3/2: the iterate decreases but moves away from w* = 0."""
    w_t, gamma = Fraction(1), Fraction(3, 2)
    w_next = w_t - gamma * 2 * w_t
    return {"w_t": w_t, "gamma": gamma, "w_next": w_next, "gap_before": abs(w_t), "gap_after": abs(w_next)}


def test_q4_gradient_positive_and_step_down_by_finite_differences():
    rng = np.random.default_rng(40)
    for _, loss, grad, w_star in q4_loss_table():
        h = 1e-6
        assert abs((loss(w_star + h) - loss(w_star - h)) / (2 * h)) < 1e-5  # w* is stationary
        for w in w_star + rng.uniform(0.01, 3, size=20):
            fd = (loss(w + h) - loss(w - h)) / (2 * h)
            assert np.isclose(fd, grad(w), rtol=1e-5, atol=1e-7) and fd > 0
            second = (loss(w + 1e-3) - 2 * loss(w) + loss(w - 1e-3)) / 1e-6
            assert second > 0  # strictly convex there
    assert q4_trials()["total"] == 1000 and q4_trials()["counts"]["A"] == 1000
    assert q4_answer() == "A" and len(q4_losses()) == 4


def test_published_q4_justification_moves_closer_is_wrong():
    """The published solution says the step 'moves closer to the optimum': not for a large step."""
    o = q4_overshoot()
    w = 1.0
    w_next = w - 1.5 * 2 * w  # gradient descent on w^2 with step 1.5
    assert o["w_next"] == w_next == -2 and w_next < w  # it decreases, as option (A) says
    assert o["gap_after"] == 2 * o["gap_before"]  # ... but it is twice as far from w* = 0
    assert w_next ** 2 > w ** 2


@checks("q4")
def test_q4_statement_strict_convexity_gives_a_minimum_is_wrong():
    """The question says L 'is strictly convex, so it has a unique minimum': e^w is strictly convex with none."""
    w = sp.Symbol("w", real=True)
    loss = sp.exp(w)
    assert sp.diff(loss, w, 2).is_positive  # strictly convex
    assert sp.solve(sp.Eq(sp.diff(loss, w), 0), w) == []  # no stationary point, hence no minimiser
    assert sp.limit(loss, w, -sp.oo) == 0 and all(float(loss.subs(w, v)) > 0 for v in (-50, 0, 50))
    iterate = 0.0
    for _ in range(1000):  # gradient descent decreases forever
        iterate -= 0.5 * math.exp(iterate)
    assert iterate < -5


# =============================================================================================
# Q5: logistic regression
# =============================================================================================


@value
def q5_separable_data():
    """Six points in the plane, labels +-1, separable by a line through the origin."""
    return {"x": [[1, 2], [2, 3], [3, Fraction(3, 2)], [-1, -1], [-2, Fraction(1, 2)], [0, -2]],
            "y": [1, 1, 1, -1, -1, -1]}


@value
def q5_points():
    """The inputs of the separable data, one dict per point, for printing."""
    return [{"x1": a, "x2": b} for a, b in q5_separable_data()["x"]]


@value
def q5_gd_last_step():
    return max(q5_gd_iterates())


def q5_arrays(extra_point=False):
    d = q5_separable_data()
    x = np.array([[float(v) for v in row] for row in d["x"]])
    y = np.array(d["y"], dtype=float)
    if extra_point:
        x, y = np.vstack([x, [[2.0, 2.0]]]), np.append(y, -1.0)  # a mislabelled point: not separable
    return x, y


def logistic_loss(theta, x, y):
    """Mean logistic loss with labels +-1: mean log(1 + exp(-y x.theta))."""
    return float(np.mean(np.logaddexp(0.0, -y * (x @ theta))))


def logistic_gradient(theta, x, y):
    return -(x * (y * expit(-y * (x @ theta)))[:, None]).mean(0)


def q5_gradient_descent(steps, checkpoints):
    x, y = q5_arrays()
    theta = np.zeros(2)
    out = {}
    for t in range(1, steps + 1):
        theta = theta - 1.0 * logistic_gradient(theta, x, y)
        if t in checkpoints:
            out[t] = theta.copy()
    return out


@value
def q5_gd_norms():
    """||theta_t|| of gradient descent (step 1, from 0) on the separable data, at t = 10, 100, 1000, 10000."""
    return {t: float(np.linalg.norm(v)) for t, v in q5_gd_iterates().items()}


@value
def q5_gd_iterates():
    return q5_gradient_descent(10_000, (10, 100, 1000, 10_000))


@value
def q5_max_margin_direction():
    """The hard-margin SVM (no intercept) weight vector of the separable data, exactly."""
    return sp.Matrix([sp.Rational(5, 8), sp.Rational(1, 2)])


@value
def q5_gd_angle_to_max_margin():
    """Angle in degrees between theta_t (t = 10 000) and the max-margin direction."""
    theta = q5_gd_iterates()[10_000]
    w = np.array(q5_max_margin_direction(), dtype=float).ravel()
    return float(np.degrees(np.arccos(np.clip(theta @ w / np.linalg.norm(theta) / np.linalg.norm(w), -1, 1))))


@value
def q5_other_separator_angle():
    """Angle in degrees between the separating direction (1, 1) and the max-margin direction."""
    w = np.array(q5_max_margin_direction(), dtype=float).ravel()
    v = np.array([1.0, 1.0])
    return float(np.degrees(np.arccos(v @ w / np.linalg.norm(v) / np.linalg.norm(w))))


@value
def q5_nonseparable_fits():
    """On the data plus the mislabelled point (2, 2): the logistic-regression minimiser, the
    least-squares fit of the +-1 labels, and the gradient norm of the logistic loss at each."""
    x, y = q5_arrays(extra_point=True)
    result = minimize(logistic_loss, np.zeros(2), args=(x, y), jac=logistic_gradient, method="BFGS",
                      options={"gtol": 1e-12})
    theta_lr = result.x
    theta_ls = np.linalg.lstsq(x, y, rcond=None)[0]
    return {"lr": theta_lr, "ls": theta_ls,
            "grad_lr": float(np.linalg.norm(logistic_gradient(theta_lr, x, y))),
            "grad_ls": float(np.linalg.norm(logistic_gradient(theta_ls, x, y))),
            "separable": bool(linearly_separable(x, y))}


@value
def q5_checks():
    """Whether each option's claim survives a computation."""
    x, y = q5_arrays(extra_point=True)
    fits = q5_nonseparable_fits()
    rng = np.random.default_rng(5)
    # (B) a closed form like the normal equations needs an affine gradient; test midpoints
    affine = True
    for _ in range(20):
        a, b = rng.normal(size=2), rng.normal(size=2)
        mid = logistic_gradient((a + b) / 2, x, y)
        affine &= bool(np.allclose(mid, (logistic_gradient(a, x, y) + logistic_gradient(b, x, y)) / 2))
    norms = list(q5_gd_norms().values())
    return {
        # (A) on non-separable data no margin exists, yet logistic regression has a finite minimiser
        "A": fits["separable"],
        "B": affine,
        # (C) the least-squares weights are a stationary point of the logistic loss?
        "C": fits["grad_ls"] < 1e-6,
        # (D) the norm keeps growing, by about the same amount per decade of steps (log t)
        "D": all(b - a > 1 for a, b in zip(norms, norms[1:])),
    }


@value
def q5_answer():
    return letter_of_unique_true(q5_checks())


def test_q5_max_margin_direction_matches_a_numerical_svm():
    x, y = q5_arrays()
    w, _ = hard_svm(x, y, bias=False)
    assert np.allclose(w, np.array(q5_max_margin_direction(), dtype=float).ravel(), atol=1e-5)
    margins = y * (x @ np.array([0.625, 0.5]))
    assert np.isclose(margins.min(), 1) and np.sum(np.isclose(margins, 1)) == 2


def test_q5_norm_grows_like_log_t_and_the_loss_keeps_falling():
    x, y = q5_arrays()
    norms = q5_gd_norms()
    steps = sorted(norms)
    increments = np.diff([norms[t] for t in steps])
    assert np.all(increments > 1.5) and np.all(increments < 2.2)  # about the same per decade: log growth
    assert linearly_separable(x, y)
    losses = [logistic_loss(q5_gd_iterates()[t], x, y) for t in steps]
    assert all(a > b > 0 for a, b in zip(losses, losses[1:]))
    # no finite minimiser: scaling any separating direction up lowers the loss towards 0
    w = np.array([0.625, 0.5])
    assert logistic_loss(100 * w, x, y) < logistic_loss(10 * w, x, y) < logistic_loss(w, x, y)


def test_q5_printed_points_are_the_data():
    x, y = q5_arrays()
    assert np.array_equal(np.array([[float(p["x1"]), float(p["x2"])] for p in q5_points()]), x)
    assert q5_gd_last_step() == 10_000 and list(y) == [1, 1, 1, -1, -1, -1]


def test_q5_checks_and_answer():
    fits = q5_nonseparable_fits()
    assert not fits["separable"] and fits["grad_lr"] < 1e-8 and fits["grad_ls"] > 1e-2
    assert np.linalg.norm(fits["lr"] - fits["ls"]) > 0.1
    assert q5_checks() == {"A": False, "B": False, "C": False, "D": True} and q5_answer() == "D"


def test_published_q5_any_separating_solution_is_wrong():
    """The published solution says logistic regression 'finds any solution that separates two classes'.
    Gradient descent singles out one: its direction tends to the max-margin direction."""
    assert q5_gd_angle_to_max_margin() < 0.1
    assert q5_other_separator_angle() > 5  # (1, 1) separates too, but GD does not go there
    x, y = q5_arrays()
    assert np.all(y * (x @ np.array([1.0, 1.0])) > 0)


# =============================================================================================
# Q6: 1-NN on a p-dimensional plane
# =============================================================================================


def q6_plane_sampler(d, p, seed):
    """Uniform samples of [0,1]^d intersected with a random p-dimensional plane through its centre."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(d, p)))

    def sample(n):
        out, have = [], 0
        while have < n:
            t = rng.uniform(-1, 1, size=(4 * n, p)) * np.sqrt(d) / 2
            x = 0.5 + t @ basis.T
            keep = x[np.all((x >= 0) & (x <= 1), axis=1)]
            out.append(keep)
            have += len(keep)
        return np.vstack(out)[:n]

    return sample


@value
def q6_dimensions():
    return {"d": 10, "p": [1, 2, 3], "n": [250, 1000, 4000]}


@value
def q6_nn_slopes():
    """Slope of log(mean nearest-neighbour distance) against log N for data on a p-plane in R^10."""
    dims = q6_dimensions()
    slopes = {}
    for p in dims["p"]:
        sample = q6_plane_sampler(dims["d"], p, seed=60 + p)
        means = []
        for n in dims["n"]:
            train, test = sample(n), sample(1000)
            means.append(cKDTree(train).query(test)[0].mean())
        slopes[p] = float(np.polyfit(np.log(dims["n"]), np.log(means), 1)[0])
    return slopes


@value
def q6_required_n():
    """The smallest N with 4 c sqrt(p) N^(-1/(p+1)) <= eps, for c = 1 and eps = 1/2, p = 1..5, in exact
    integers: N >= (8 sqrt(p))^(p+1) iff N^2 >= (64 p)^(p+1). (Floating point gave 32 768 001 for p = 5,
    where the bound holds with equality at N = 8^6 5^3 = 32 768 000.)"""
    out = {}
    for p in range(1, 6):
        bound = (64 * p) ** (p + 1)  # (4 c sqrt(p) / eps)^(2 (p + 1)) with c = 1, eps = 1/2
        root = math.isqrt(bound)
        out[p] = root if root * root == bound else root + 1
    return out


@value
def q6_required_n_ratios():
    n = q6_required_n()
    return [n[p + 1] / n[p] for p in range(1, 5)]


@value
def q6_answer():
    """N depends on p (slopes near -1/p, not -1/d) and grows geometrically in p: option (C)."""
    slopes, d = q6_nn_slopes(), q6_dimensions()["d"]
    tracks_p = all(abs(s + 1 / p) < 0.03 and abs(s + 1 / d) > 0.1 for p, s in slopes.items())
    geometric = all(r >= 2 for r in q6_required_n_ratios())
    return letter_of_unique_true({"A": tracks_p and not geometric, "B": not tracks_p and not geometric,
                                  "C": tracks_p and geometric, "D": not tracks_p and geometric})


def test_q6_nearest_neighbour_distance_shrinks_like_n_to_minus_one_over_p():
    for p, slope in q6_nn_slopes().items():
        assert abs(slope + 1 / p) < 0.03
    # an independent check on the flat 2-torus (no embedding, no boundary): E[nn distance] = 0.5 N^(-1/2)
    rng = np.random.default_rng(600)
    for n in (400, 1600):
        train, test = rng.uniform(size=(n, 2)), rng.uniform(size=(400, 2))
        gap = np.abs(test[:, None] - train[None])
        dist = np.sqrt((np.minimum(gap, 1 - gap) ** 2).sum(-1)).min(1)
        assert abs(dist.mean() * math.sqrt(n) - 0.5) < 0.03


def test_q6_dimensions_are_those_simulated():
    dims = q6_dimensions()
    assert dims["d"] == 10 and dims["p"] == [1, 2, 3] and dims["n"] == [250, 1000, 4000]
    sample = q6_plane_sampler(dims["d"], 2, seed=7)
    pts = sample(500)
    assert pts.shape == (500, 10) and np.all((pts >= 0) & (pts <= 1))
    # the sample lies on a 2-dimensional affine plane: centred points have rank 2
    assert np.linalg.matrix_rank(pts - pts.mean(0), tol=1e-9) == 2


def test_q6_required_n_solves_the_bound_and_grows_faster_than_two_to_the_p():
    # exact: N is the ceiling of (4 c sqrt(p) / eps)^(p+1), by sympy, and the bound holds at N but not at N - 1
    # (compared in exact arithmetic: 4 sqrt(p) N^(-1/(p+1)) <= 1/2 iff N >= (8 sqrt(p))^(p+1))
    required = q6_required_n()
    for p, n in required.items():
        assert isinstance(n, int)
        exact = (4 * 1 * sp.sqrt(p) / sp.Rational(1, 2)) ** (p + 1)
        assert n == int(sp.ceiling(exact))
        assert sp.Integer(n) >= exact and sp.Integer(n - 1) < exact
    assert required[5] == 32_768_000 == 8 ** 6 * 5 ** 3  # equality case: (8 sqrt 5)^6 is an integer
    # the printed ratios are those of the exact integers (to well below the printed 0.1)
    for p, r in zip(range(1, 5), q6_required_n_ratios()):
        assert abs(r - Fraction(required[p + 1], required[p])) < 1e-9
    assert all(r > 2 for r in q6_required_n_ratios()) and q6_answer() == "C"


# =============================================================================================
# Q7: weighted k-means
# =============================================================================================


@value
def q7_data():
    """Eight points in the plane with weights, two clusters, and a starting pair of centres."""
    return {"x": [[0, 0], [1, 0], [0, 1], [4, 4], [5, 4], [4, 5], [2, 3], [3, 1]],
            "w": [1, 1, 6, 1, 2, 8, 3, 1],
            "mu": [[1, 1], [4, 3]]}


@value
def q7_points():
    return [{"x1": a, "x2": b} for a, b in q7_data()["x"]]


@value
def q7_centres():
    return [{"x1": a, "x2": b} for a, b in q7_data()["mu"]]


def q7_arrays():
    d = q7_data()
    return np.array(d["x"], float), np.array(d["w"], float), np.array(d["mu"], float)


def weighted_kmeans_loss(x, w, labels, centres):
    return float(np.sum(w * ((x - centres[labels]) ** 2).sum(1)))


def q7_update(option, x, w, mu):
    """One update of each option of Q7: the assignment, then the centres."""
    dist = ((x[:, None] - mu[None]) ** 2).sum(-1)
    labels = (w[:, None] * dist).argmin(1) if option in "AB" else dist.argmin(1)
    z = np.eye(len(mu))[labels]
    if option in "AC":
        centres = (z.T @ x) / z.sum(0)[:, None]
    elif option == "B":
        centres = (z.T @ (w[:, None] * x)) / z.sum(0)[:, None]
    else:
        centres = (z.T @ (w[:, None] * x)) / (z.T @ w)[:, None]
    return labels, centres


@value
def q7_option_losses():
    """The weighted loss after one update of each option, from the same start."""
    x, w, mu = q7_arrays()
    return {o: weighted_kmeans_loss(x, w, *q7_update(o, x, w, mu)) for o in "ABCD"}


@value
def q7_constant_weight_centres():
    """With w = 2 everywhere, the centres of option (B) are twice the cluster means."""
    x, _, mu = q7_arrays()
    w = np.full(len(x), 2.0)
    return {o: q7_update(o, x, w, mu)[1] for o in "BD"}


@value
def q7_answer():
    """The option whose update is the exact minimiser of the loss in z (for fixed mu) then in mu."""
    x, w, mu = q7_arrays()
    best = {}
    for option in "ABCD":
        labels, centres = q7_update(option, x, w, mu)
        exact_labels = min(itertools.product(range(2), repeat=len(x)),
                           key=lambda z: weighted_kmeans_loss(x, w, np.array(z), mu))
        exact_centres = np.array([minimize(lambda m, k=k: np.sum(w[labels == k] * ((x[labels == k] - m) ** 2).sum(1)),
                                           centres[k] + 1.0).x for k in range(2)])
        best[option] = bool(np.array_equal(labels, np.array(exact_labels))
                            and np.allclose(centres, exact_centres, atol=1e-4))
    return letter_of_unique_true(best)


def test_q7_weighted_mean_minimises_the_weighted_loss_in_mu():
    x, w, mu = q7_arrays()
    labels, centres = q7_update("D", x, w, mu)
    for k in range(2):
        grad = -2 * np.sum((w[labels == k])[:, None] * (x[labels == k] - centres[k]), axis=0)
        assert np.allclose(grad, 0)
    losses = q7_option_losses()
    assert losses["D"] < losses["A"] == losses["C"] and losses["D"] < losses["B"]
    assert min(losses, key=losses.get) == "D" == q7_answer()


def test_q7_printed_data_are_the_data_used():
    x, w, mu = q7_arrays()
    assert np.array_equal(np.array([[p["x1"], p["x2"]] for p in q7_points()], float), x)
    assert np.array_equal(np.array([[c["x1"], c["x2"]] for c in q7_centres()], float), mu)
    assert list(w) == q7_data()["w"] and len(x) == 8


def test_q7_constant_weights_expose_option_b():
    x, _, mu = q7_arrays()
    labels = ((x[:, None] - mu[None]) ** 2).sum(-1).argmin(1)
    means = np.array([x[labels == k].mean(0) for k in range(2)])
    centres = q7_constant_weight_centres()
    assert np.allclose(centres["D"], means) and np.allclose(centres["B"], 2 * means)


# =============================================================================================
# Q8: k-means versus a Gaussian mixture on four stand-in data sets
# =============================================================================================


def rotation(angle):
    return np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])


Q8_SHAPES = {
    # (centre, spread along the axis, spread across it, angle of the axis); the exam's data sets A-D are D1-D4 here
    "D1": [((0, 3), 1.2, 0.4, 0.5), ((5, 0), 1.2, 0.4, 0.5), ((-4, -3), 1.2, 0.4, 0.5)],
    "D2": [((-4.5, 2.5), 1.5, 0.3, math.pi / 4), ((-1.5, -1.5), 1.5, 0.3, math.pi / 4), ((7, -1), 0.6, 0.6, 0)],
    "D3": [((-2, 4), 1.6, 0.3, 1.2), ((-4, -3.5), 1.6, 0.3, 0), ((5, 0), 1.6, 0.3, 0.8)],
    "D4": [((-4, 0), 0.4, 3.0, 0), ((0, 4), 0.25, 0.25, 0), ((6, 0), 1.5, 1.5, 0)],
}


def q8_make(seed, per_cluster=30):
    """The four stand-in data sets (truncated Gaussian clusters with the shapes of Figure 2)."""
    rng = np.random.default_rng(seed)
    data = {}
    for name, shapes in Q8_SHAPES.items():
        clusters = []
        for centre, along, across, angle in shapes:
            z = truncnorm.rvs(-2.5, 2.5, size=(per_cluster, 2), random_state=rng)
            clusters.append((z * [along, across]) @ rotation(angle).T + np.array(centre, float))
        data[name] = clusters
    return data


def q8_analyse(clusters, seed):
    x = np.vstack(clusters)
    truth = np.repeat(np.arange(len(clusters)), [len(c) for c in clusters])
    centres = np.array([c.mean(0) for c in clusters])
    km_cost, km_labels, _ = kmeans(x, 3, seed=seed)
    gmm_ll, gmm_labels, *_ = gmm_em(x, 3, seed=seed)
    return {"voronoi_misassigned": int(np.sum(nearest(x, centres) != truth)),
            "kmeans_accuracy": clustering_accuracy(km_labels, truth),
            "kmeans_cost": km_cost, "true_cost": kmeans_cost(x, truth),
            "gmm_accuracy": clustering_accuracy(gmm_labels, truth),
            "kmeans_labels": km_labels, "truth": truth}


@value
def q8_seed():
    return 3


@value
def q8_datasets():
    """The stand-in data sets drawn in the figure: points per cluster and the cluster centres."""
    data = q8_make(q8_seed())
    return {name: {"clusters": clusters, "centres": [c.mean(0) for c in clusters]} for name, clusters in data.items()}


@value
def q8_results():
    """Best-of-restarts k-means and GMM on each stand-in, compared with the true clusters."""
    out = {}
    for name, d in q8_datasets().items():
        r = q8_analyse(d["clusters"], seed=80)
        out[name] = {k: r[k] for k in ("voronoi_misassigned", "kmeans_accuracy", "kmeans_cost", "true_cost",
                                      "gmm_accuracy")}
        out[name]["kmeans_errors"] = int(round((1 - r["kmeans_accuracy"]) * len(r["truth"])))
        out[name]["gmm_errors"] = int(round((1 - r["gmm_accuracy"]) * len(r["truth"])))
    return out


@value
def q8_d4_kmeans_groups():
    """Stand-in D4 split by the best k-means partition (for the solution figure), with its centres."""
    d = q8_datasets()["D4"]
    x = np.vstack(d["clusters"])
    _, labels, centres = kmeans(x, 3, seed=80)
    return {"groups": [x[labels == j] for j in range(3)], "centres": centres}


@value
def q8_d4_misassigned_points():
    """Points of stand-in D4 that are nearer to another true centre than to their own."""
    d = q8_datasets()["D4"]
    x = np.vstack(d["clusters"])
    truth = np.repeat(np.arange(3), [len(c) for c in d["clusters"]])
    wrong = nearest(x, np.array(d["centres"])) != truth
    return x[wrong]


@value
def q8_plot_box():
    """The plotted window of the Q8 panels: x range, then y range."""
    return {"xmin": -9, "xmax": 11, "ymin": -8, "ymax": 9}


@value
def q8_d4_bisector():
    """The perpendicular bisector of the left and top centres of stand-in D4, clipped to the plot box."""
    a, b = np.array(q8_datasets()["D4"]["centres"][0]), np.array(q8_datasets()["D4"]["centres"][1])
    mid, normal = (a + b) / 2, b - a
    direction = np.array([-normal[1], normal[0]]) / np.linalg.norm(normal)
    box = q8_plot_box()
    limits = []
    for axis, (low, high) in enumerate(((box["xmin"], box["xmax"]), (box["ymin"], box["ymax"]))):
        if abs(direction[axis]) > 1e-12:
            t1, t2 = (low - mid[axis]) / direction[axis], (high - mid[axis]) / direction[axis]
            limits.append((min(t1, t2), max(t1, t2)))
    t_low, t_high = max(lo for lo, _ in limits), min(hi for _, hi in limits)
    return np.array([mid + t_low * direction, mid + t_high * direction])


@value
def q8_answer():
    """Only GMM clusters X perfectly, for the data set X of each option; (C) says k-means fails on all."""
    r = q8_results()

    def only_gmm(name):
        return r[name]["gmm_accuracy"] == 1 and r[name]["kmeans_accuracy"] < 1

    return letter_of_unique_true({"A": only_gmm("D2"), "B": only_gmm("D4"),
                                  "C": all(v["kmeans_accuracy"] < 1 for v in r.values()),
                                  "D": only_gmm("D3"), "E": only_gmm("D1")})


def test_q8_gmm_is_perfect_everywhere_and_kmeans_fails_only_on_d():
    r = q8_results()
    assert all(v["gmm_accuracy"] == 1.0 and v["gmm_errors"] == 0 for v in r.values())
    assert [v["kmeans_errors"] for v in r.values()][:3] == [0, 0, 0] and r["D4"]["kmeans_errors"] > 0
    assert [v["kmeans_accuracy"] == 1.0 for v in r.values()] == [True, True, True, False]
    for name in ("D1", "D2", "D3"):  # the true partition is a Lloyd fixed point and the best k-means cost found
        assert r[name]["voronoi_misassigned"] == 0 and np.isclose(r[name]["kmeans_cost"], r[name]["true_cost"])
    assert r["D4"]["voronoi_misassigned"] == len(q8_d4_misassigned_points()) > 0
    assert r["D4"]["kmeans_cost"] < r["D4"]["true_cost"]  # k-means prefers another partition
    assert q8_answer() == "B"


@checks("q8")
def test_q8_conclusion_holds_for_other_samples_of_the_same_shapes():
    for seed in (1, 2):
        for name, clusters in q8_make(seed).items():
            r = q8_analyse(clusters, seed=seed)
            assert r["gmm_accuracy"] == 1.0
            assert (r["kmeans_accuracy"] == 1.0) == (name != "D4")


def test_q8_kmeans_groups_of_d_are_a_voronoi_partition_that_differs_from_the_truth():
    g = q8_d4_kmeans_groups()
    for j, group in enumerate(g["groups"]):
        assert np.all(nearest(group, g["centres"]) == j)  # a Lloyd fixed point
        assert np.allclose(group.mean(0), g["centres"][j])
    d = q8_datasets()["D4"]
    sizes = sorted(len(group) for group in g["groups"])
    assert sizes != sorted(len(c) for c in d["clusters"]) or not all(
        any(np.array_equal(np.sort(group, 0), np.sort(c, 0)) for c in d["clusters"]) for group in g["groups"])
    cost = sum(((group - group.mean(0)) ** 2).sum() for group in g["groups"])
    assert np.isclose(cost, q8_results()["D4"]["kmeans_cost"])


def test_q8_misassigned_points_lie_beyond_the_bisector():
    d = q8_datasets()["D4"]
    a, b = np.array(d["centres"][0]), np.array(d["centres"][1])
    for p in q8_d4_misassigned_points():
        assert np.linalg.norm(p - b) < np.linalg.norm(p - a) or np.linalg.norm(p - d["centres"][2]) < np.linalg.norm(p - a)
    ends = q8_d4_bisector()
    box = q8_plot_box()
    for e in ends:
        assert np.isclose(np.linalg.norm(e - a), np.linalg.norm(e - b))
        assert box["xmin"] - 1e-9 <= e[0] <= box["xmax"] + 1e-9 and box["ymin"] - 1e-9 <= e[1] <= box["ymax"] + 1e-9
    on_edge = [np.isclose(e[0], [box["xmin"], box["xmax"]]).any() or np.isclose(e[1], [box["ymin"], box["ymax"]]).any()
               for e in ends]
    assert all(on_edge)


@checks("q8")
def test_q8_kmeans_and_em_implementations_on_an_easy_case():
    rng = np.random.default_rng(800)
    x = np.vstack([rng.normal(c, 0.3, size=(20, 2)) for c in ((0, 0), (5, 0), (0, 5))])
    truth = np.repeat(np.arange(3), 20)
    _, labels, centres = kmeans(x, 3, seed=1)
    assert clustering_accuracy(labels, truth) == 1.0
    ll, labels, pis, means, covs = gmm_em(x, 3, seed=1)
    assert clustering_accuracy(labels, truth) == 1.0 and np.isclose(pis.sum(), 1)
    # EM never decreases the likelihood
    p, m, c = np.full(3, 1 / 3), x[[0, 1, 2]], np.array([np.eye(2)] * 3)
    previous = -np.inf
    for _ in range(15):
        p, m, c = gmm_em_step(x, p, m, c)
        now = gmm_loglik(x, p, m, c)
        assert now >= previous - 1e-9
        previous = now


# =============================================================================================
# Q10: a determinant from eigenvectors and the trace (the pilot)
# =============================================================================================

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


# =============================================================================================
# Q9: ReLU-normalised attention
# =============================================================================================


def relu_attention_weights(q, k):
    s = np.maximum(q @ k.T, 0.0)
    return s / s.sum(1, keepdims=True)


def softmax_attention_weights(q, k):
    return softmax(q @ k.T / math.sqrt(k.shape[1]), axis=1)


def q9_inputs(seed):
    rng = np.random.default_rng(seed)
    t_in, t_out, dim = 7, 5, 4
    q = rng.normal(size=(t_out, dim))
    k = rng.normal(size=(t_in, dim))
    k[0] = q.mean(0) + 0.1  # keeps every row of ReLU(q k^T) away from all zeros
    return q, k, rng.normal(size=(t_in, 3))


@value
def q9_scale():
    return 3


@value
def q9_measurements():
    """Max changes of P under Q -> 3Q for both mechanisms, and the row sums / minimum of the ReLU weights."""
    q, k, _ = q9_inputs(9)
    a = q9_scale()
    relu, soft = relu_attention_weights(q, k), softmax_attention_weights(q, k)
    return {"relu_change": float(np.abs(relu_attention_weights(a * q, k) - relu).max()),
            "softmax_change": float(np.abs(softmax_attention_weights(a * q, k) - soft).max()),
            "relu_row_sum_error": float(np.abs(relu.sum(1) - 1).max()),
            "relu_min": float(relu.min())}


@value
def q9_relu_change_exponent():
    """The printed bound 10^-k on the change of the ReLU weights under Q -> 3Q (a rounding error)."""
    return rounding_exponent(q9_measurements()["relu_change"])


@value
def q9_checks():
    """Each claim of Q9 put to a test on random inputs."""
    q, k, v = q9_inputs(9)
    m = q9_measurements()
    perm = np.random.default_rng(90).permutation(len(k))
    # (E) permuting the key/value tokens leaves the output unchanged for both: no notion of order
    same_after_perm = all(np.allclose(f(q, k[perm]) @ v[perm], f(q, k) @ v)
                          for f in (relu_attention_weights, softmax_attention_weights))
    # (D) standard attention is non-linear too: softmax(2X) != 2 softmax(X) style additivity fails
    soft_linear = np.allclose(softmax_attention_weights(2 * q, k), 2 * softmax_attention_weights(q, k))
    checks = {
        "A": False,  # both compute all T_out x T_in scores: O(T_out T_in D); see the test
        "B": not (m["relu_row_sum_error"] < 1e-12 and m["relu_min"] >= 0),
        "C": m["relu_change"] < 1e-12 and m["softmax_change"] > 1e-3,
        "D": soft_linear,
        "E": not same_after_perm,
    }
    checks["F"] = not any(checks.values())
    return checks


@value
def q9_answer():
    return letter_of_unique_true(q9_checks())


def test_q9_relu_attention_is_scale_invariant_and_softmax_is_not():
    rng = np.random.default_rng(91)
    for _ in range(50):
        q, k = rng.normal(size=(4, 3)), rng.normal(size=(6, 3))
        if np.any(np.maximum(q @ k.T, 0).sum(1) == 0):
            continue
        alpha = rng.uniform(0.1, 10)
        p = relu_attention_weights(q, k)
        assert np.allclose(relu_attention_weights(alpha * q, k), p)
        assert np.allclose(p.sum(1), 1) and p.min() >= 0
    m = q9_measurements()
    assert m["relu_change"] < 1e-12 < 1e-3 < m["softmax_change"]


def test_q9_scale_is_the_one_measured():
    q, k, _ = q9_inputs(9)
    a = q9_scale()
    assert a == 3
    recomputed = np.abs(softmax_attention_weights(a * q, k) - softmax_attention_weights(q, k)).max()
    assert np.isclose(recomputed, q9_measurements()["softmax_change"])
    manual = np.maximum(3 * q @ k.T, 0) / np.maximum(3 * q @ k.T, 0).sum(1, keepdims=True)
    assert np.allclose(manual, relu_attention_weights(q, k))


def test_q9_both_mechanisms_cost_the_same_number_of_products():
    # count the multiply-adds of the two weight computations through the shapes they multiply
    q, k, v = q9_inputs(9)
    counts = []
    for f in (relu_attention_weights, softmax_attention_weights):
        p = f(q, k)
        counts.append(q.shape[0] * k.shape[0] * q.shape[1] + p.shape[0] * p.shape[1] * v.shape[1])
    assert counts[0] == counts[1]
    assert q9_checks() == {"A": False, "B": False, "C": True, "D": False, "E": False, "F": False}
    assert q9_answer() == "C"


# =============================================================================================
# Q11: bias-variance with input-dependent noise
# =============================================================================================


@value
def q11_setup():
    """The simulation: f(x) = sin(2 pi x), g(x) = 1 + x, eps uniform with sigma = 1/2,
    x ~ U[0, 1], S = 6 points, h_S the least-squares line, x0 = 9/10."""
    return {"sigma": Fraction(1, 2), "x0": Fraction(9, 10), "n": 6, "runs": 400_000}


def q11_f(x):
    return np.sin(2 * np.pi * x)


def q11_g(x):
    return 1 + x


def q11_simulate(seed):
    s = q11_setup()
    rng = np.random.default_rng(seed)
    runs, n, sigma, x0 = s["runs"], s["n"], float(s["sigma"]), float(s["x0"])
    half_width = math.sqrt(3) * sigma  # uniform on [-a, a] has variance a^2 / 3
    x = rng.uniform(size=(runs, n))
    y = q11_f(x) + rng.uniform(-half_width, half_width, size=(runs, n)) * q11_g(x)
    xm, ym = x.mean(1, keepdims=True), y.mean(1, keepdims=True)
    slope = ((x - xm) * (y - ym)).sum(1) / ((x - xm) ** 2).sum(1)
    h = ym[:, 0] + slope * (x0 - xm[:, 0])
    eps = rng.uniform(-half_width, half_width, size=runs)
    return h, eps


@value
def q11_estimates():
    """Monte Carlo estimate of the expected error and of the three candidate expressions."""
    s = q11_setup()
    sigma, x0 = float(s["sigma"]), float(s["x0"])
    h, eps = q11_simulate(11)
    f0, g0 = q11_f(x0), q11_g(x0)
    mean_sq = np.mean((f0 - h) ** 2)
    return {
        "truth": float(np.mean((f0 + eps * g0 - h) ** 2)),
        "A": float(sigma ** 2 * g0 ** 2 + mean_sq),
        "B": float(sigma ** 2 * g0 ** 2 + 2 * g0 * sigma * np.mean(f0 - h) + mean_sq),
        "C": float(sigma ** 2 + (f0 - h.mean()) ** 2 + np.mean((h - h.mean()) ** 2)),
        "bias": float(np.mean(f0 - h)),
    }


@value
def q11_answer():
    e = q11_estimates()
    matches = {k: abs(e[k] - e["truth"]) < 0.01 * e["truth"] for k in "ABC"}
    matches["D"] = not any(matches.values())
    return letter_of_unique_true(matches)


def test_q11_monte_carlo_agrees_with_option_a_only():
    e = q11_estimates()
    # option (A) is exact; its Monte Carlo gap is the sample mean of 2 eps g (f - h): a few standard errors
    assert abs(e["A"] - e["truth"]) < 0.01 * e["truth"]
    assert abs(e["B"] - e["truth"]) > 0.05 * e["truth"] and abs(e["C"] - e["truth"]) > 0.05 * e["truth"]
    # C differs from A by sigma^2 (g(x0)^2 - 1), B by 2 g sigma E[f - h]
    assert np.isclose(e["A"] - e["C"], 0.25 * (1.9 ** 2 - 1), rtol=1e-9)
    assert np.isclose(e["B"] - e["A"], 2 * 1.9 * 0.5 * e["bias"], rtol=1e-9)
    assert q11_answer() == "A"


def test_q11_a_second_seed_and_exact_noise_moments():
    h, eps = q11_simulate(12)
    f0, g0 = math.sin(2 * math.pi * 0.9), 1.9
    truth = np.mean((f0 + eps * g0 - h) ** 2)
    assert abs(truth - (0.25 * g0 ** 2 + np.mean((f0 - h) ** 2))) < 0.01 * truth
    a = math.sqrt(3) * 0.5
    assert np.isclose(integrate.quad(lambda e: e * e / (2 * a), -a, a)[0], 0.25)  # the noise variance


# =============================================================================================
# Q12: cost of (masked) self-attention
# =============================================================================================


@value
def q12_lengths():
    return [64, 128, 256, 512]


@value
def q12_score_counts():
    """Query-key scores computed for n tokens: with BERT's attention every token attends to every
    token (the [MASK] tokens are inputs, not holes in the attention), so all n x n pairs; even a
    causal mask would keep the n (n + 1) / 2 pairs on and below the diagonal."""
    counts = {}
    for n in q12_lengths():
        full = np.ones((n, n), dtype=bool)
        causal = np.tril(full)
        counts[n] = {"full": int(np.count_nonzero(full)), "causal": int(np.count_nonzero(causal))}
    return counts


@value
def q12_exponent():
    """The growth exponent of the full count, fitted on the lengths (log-log slope)."""
    lengths = q12_lengths()
    slope = np.polyfit(np.log(lengths), np.log([q12_score_counts()[n]["full"] for n in lengths]), 1)[0]
    return Fraction(round(slope, 6)).limit_denominator(10)


@value
def q12_answer():
    exponents = {"A": 3, "B": None, "C": 1, "D": Fraction(1, 2), "E": 2}
    return letter_of_unique_true({k: v == q12_exponent() for k, v in exponents.items()})


def test_q12_quadratic_count():
    counts = q12_score_counts()
    for n in q12_lengths():
        assert counts[n]["full"] == n * n and counts[n]["causal"] == n * (n + 1) // 2
        assert counts[n]["causal"] > n * math.log2(n)  # more than n log n already at these sizes
    ratios = [counts[2 * n]["causal"] / counts[n]["causal"] for n in q12_lengths()[:-1]]
    assert all(3.9 < r < 4.1 for r in ratios)  # doubling n quadruples the work
    assert q12_exponent() == 2 and q12_answer() == "E"


# =============================================================================================
# True/false questions Q13-Q32
# =============================================================================================

# --- Q13, Q14: scaling and centring the features of least squares ----------------------------


def q13_problem():
    rng = np.random.default_rng(13)
    x = rng.normal(size=(30, 4)) * np.array([1.0, 10.0, 0.1, 3.0]) + np.array([5.0, -2.0, 1.0, 0.0])
    y = x @ np.array([1.0, -0.5, 2.0, 0.3]) + rng.normal(size=30)
    x_test = rng.normal(size=(10, 4)) * np.array([1.0, 10.0, 0.1, 3.0])
    return x, y, x_test


def least_squares_predict(x, y, x_test, ridge=0.0, bias=False):
    if bias:
        x, x_test = np.column_stack([np.ones(len(x)), x]), np.column_stack([np.ones(len(x_test)), x_test])
    w = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    return x_test @ w


@value
def q13_scales():
    """The feature scales used in the check (nonzero, very different)."""
    return [Fraction(1, 10), 7, Fraction(1, 1000), 50]


@value
def q13_ridge_lambda():
    """The ridge penalty of the contrast in the Q13 check."""
    return 10


@value
def q13_gaps():
    """Largest change of a test prediction when the features are scaled: least squares vs ridge
    (penalty q13_ridge_lambda)."""
    x, y, x_test = q13_problem()
    s = np.array([float(v) for v in q13_scales()])
    lam = float(q13_ridge_lambda())
    return {"least_squares": float(np.abs(least_squares_predict(x * s, y, x_test * s) - least_squares_predict(x, y, x_test)).max()),
            "ridge": float(np.abs(least_squares_predict(x * s, y, x_test * s, ridge=lam)
                                  - least_squares_predict(x, y, x_test, ridge=lam)).max())}


@value
def q13_least_squares_gap_exponent():
    """The printed bound 10^-k on the change of the least-squares predictions under scaling (rounding)."""
    return rounding_exponent(q13_gaps()["least_squares"])


@value
def q13_answer():
    return q13_gaps()["least_squares"] < 1e-8


@value
def q14_gaps():
    """Largest change of a test prediction when the features are centred with the training mean:
    with a bias term, and without one."""
    x, y, x_test = q13_problem()
    m = x.mean(0)
    return {"with_bias": float(np.abs(least_squares_predict(x - m, y, x_test - m, bias=True)
                                      - least_squares_predict(x, y, x_test, bias=True)).max()),
            "without_bias": float(np.abs(least_squares_predict(x - m, y, x_test - m)
                                         - least_squares_predict(x, y, x_test)).max())}


@value
def q14_with_bias_gap_exponent():
    """The printed bound 10^-k on the change of the predictions with a bias under centring (rounding)."""
    return rounding_exponent(q14_gaps()["with_bias"])


@value
def q14_answer():
    return q14_gaps()["with_bias"] < 1e-8


def test_q13_scaling_is_a_reparametrisation_of_least_squares():
    x, y, x_test = q13_problem()
    s = np.diag([float(v) for v in q13_scales()])
    w = np.linalg.lstsq(x, y, rcond=None)[0]
    w_scaled = np.linalg.lstsq(x @ s, y, rcond=None)[0]
    assert np.allclose(w_scaled, np.linalg.solve(s, w))  # w' = S^-1 w
    assert q13_gaps()["least_squares"] < 1e-8 and q13_gaps()["ridge"] > 1e-2 and q13_answer() is True


def ridge_by_augmented_least_squares(x, y, x_test, lam):
    """Ridge as ordinary least squares on [X; sqrt(lam) I], [y; 0] (an independent route to the solution)."""
    d = x.shape[1]
    w = np.linalg.lstsq(np.vstack([x, math.sqrt(lam) * np.eye(d)]), np.concatenate([y, np.zeros(d)]), rcond=None)[0]
    return x_test @ w


def test_q13_ridge_gap_is_computed_with_the_printed_lambda():
    lam = q13_ridge_lambda()
    assert lam == 10
    x, y, x_test = q13_problem()
    s = np.array([float(v) for v in q13_scales()])

    def gap(penalty):
        return np.abs(ridge_by_augmented_least_squares(x * s, y, x_test * s, penalty)
                      - ridge_by_augmented_least_squares(x, y, x_test, penalty)).max()

    assert np.isclose(gap(float(lam)), q13_gaps()["ridge"], rtol=1e-6)
    # the gap is the penalty's doing: it vanishes without it and differs for another penalty
    assert gap(0.0) < 1e-8
    assert not np.isclose(gap(float(lam) / 10), q13_gaps()["ridge"], rtol=1e-2)
    assert not np.isclose(gap(float(lam) * 10), q13_gaps()["ridge"], rtol=1e-2)


def test_q14_centring_moves_only_the_bias():
    x, y, x_test = q13_problem()
    m = x.mean(0)
    ones = np.ones((len(x), 1))
    w = np.linalg.lstsq(np.hstack([ones, x]), y, rcond=None)[0]
    w_c = np.linalg.lstsq(np.hstack([ones, x - m]), y, rcond=None)[0]
    assert np.allclose(w_c[1:], w[1:]) and np.isclose(w_c[0], w[0] + m @ w[1:])
    assert q14_gaps()["with_bias"] < 1e-8 and q14_gaps()["without_bias"] > 1e-2 and q14_answer() is True


# --- Q15: polynomial feature expansion -------------------------------------------------------


def q15_problem():
    rng = np.random.default_rng(15)
    x = np.sort(rng.uniform(-1, 1, 15))
    y = np.sin(2 * x) + 0.2 * rng.normal(size=15)
    x_test = rng.uniform(-1, 1, 500)
    return x, y, x_test, np.sin(2 * x_test) + 0.2 * rng.normal(size=500)


@value
def q15_degrees():
    return [1, 3, 5, 8, 11, 14]


@value
def q15_errors():
    """Training and test MSE of least squares on polynomial features of increasing degree."""
    x, y, x_test, y_test = q15_problem()
    out = {}
    for degree in q15_degrees():
        v, v_test = np.vander(x, degree + 1), np.vander(x_test, degree + 1)
        w = np.linalg.lstsq(v, y, rcond=None)[0]
        out[degree] = {"train": float(np.mean((v @ w - y) ** 2)), "test": float(np.mean((v_test @ w - y_test) ** 2))}
    return out


@value
def q15_answer():
    """True only if adding features could raise the training error (underfitting)."""
    train = [e["train"] for e in q15_errors().values()]
    return any(b > a + 1e-12 for a, b in zip(train, train[1:]))


def test_q15_training_error_never_increases_and_test_error_explodes():
    errors = q15_errors()
    train = [errors[d]["train"] for d in q15_degrees()]
    assert all(b <= a + 1e-12 for a, b in zip(train, train[1:])) and train[-1] < 1e-12  # 15 points, degree 14
    assert errors[14]["test"] > 10 * errors[3]["test"]  # overfitting, not underfitting
    # nested models: the degree-3 fit is a degree-5 model with two zero coefficients
    x, y, *_ = q15_problem()
    w3 = np.linalg.lstsq(np.vander(x, 4), y, rcond=None)[0]
    assert np.isclose(np.mean((np.vander(x, 6) @ np.concatenate([[0, 0], w3]) - y) ** 2), errors[3]["train"])
    assert q15_answer() is False


# --- Q16: ridge regression -------------------------------------------------------------------


def q16_problem():
    rng = np.random.default_rng(16)
    x = rng.normal(size=(40, 6))
    x[:, 5] = x[:, 4] + 1e-4 * rng.normal(size=40)  # two nearly identical columns
    y = x[:, 0] - 2 * x[:, 1] + 0.1 * rng.normal(size=40)
    return x, y


def lasso_ista(x, y, lam, steps=20000):
    """min ||y - X w||^2 + lam ||w||_1 by proximal gradient (soft thresholding)."""
    step = 1 / (2 * np.linalg.norm(x, 2) ** 2)
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        v = w - step * 2 * x.T @ (x @ w - y)
        w = np.sign(v) * np.maximum(np.abs(v) - step * lam, 0)
    return w


@value
def q16_lambda():
    return 1


@value
def q16_facts():
    """Condition numbers of X^T X and X^T X + lambda I, and exact zeros of the ridge and lasso solutions."""
    x, y = q16_problem()
    lam = float(q16_lambda())
    gram = x.T @ x
    ridge = np.linalg.solve(gram + lam * np.eye(6), x.T @ y)
    lasso = lasso_ista(x, y, 10 * lam)
    return {"cond_plain": float(np.linalg.cond(gram)), "cond_ridge": float(np.linalg.cond(gram + lam * np.eye(6))),
            "ridge_zeros": int(np.sum(ridge == 0)), "ridge_smallest": float(np.abs(ridge).min()),
            "lasso_zeros": int(np.sum(lasso == 0)), "lasso_lambda": 10 * q16_lambda()}


@value
def q16_answer():
    f = q16_facts()
    return f["cond_ridge"] < f["cond_plain"] / 1000 and f["ridge_zeros"] == 0


def test_q16_ridge_conditions_but_does_not_sparsify():
    x, y = q16_problem()
    assert q16_lambda() == 1
    f = q16_facts()
    eig = np.linalg.eigvalsh(x.T @ x)
    assert np.isclose(f["cond_ridge"], (eig.max() + 1) / (eig.min() + 1), rtol=1e-6)
    assert f["cond_plain"] > 1e6 and f["cond_ridge"] < 1e3
    # the ridge solution minimises the ridge objective (gradient zero) and has no zero entry
    ridge = np.linalg.solve(x.T @ x + np.eye(6), x.T @ y)
    assert np.allclose(-2 * x.T @ (y - x @ ridge) + 2 * ridge, 0, atol=1e-8)
    assert f["ridge_zeros"] == 0 and f["ridge_smallest"] > 1e-4
    # the lasso (for contrast) sets coordinates exactly to zero; its solution satisfies the KKT conditions
    lasso = lasso_ista(x, y, 10.0)
    g = -2 * x.T @ (y - x @ lasso)
    penalty = f["lasso_lambda"]  # the KKT conditions hold for the printed penalty
    assert np.all(np.abs(g[lasso == 0]) <= penalty + 1e-6) and np.allclose(g[lasso != 0], -penalty * np.sign(lasso[lasso != 0]), atol=1e-4)
    assert f["lasso_zeros"] >= 3 and q16_answer() is True


# --- Q17: full-batch versus mini-batch gradient descent --------------------------------------


def q17_problem():
    rng = np.random.default_rng(17)
    n = q17_budget()["n"]
    x = rng.normal(size=(n, 10)) * np.geomspace(1, 0.1, 10)  # an ill-conditioned design
    y = x @ rng.normal(size=10) + 0.1 * rng.normal(size=n)
    return x, y


@value
def q17_budget():
    return {"epochs": 2, "batch": 20, "n": 2000}


@value
def q17_losses():
    """Least-squares loss after the same number of gradient evaluations (two passes over the data):
    full-batch gradient descent (two steps) versus mini-batch SGD (two hundred steps)."""
    x, y = q17_problem()
    n = len(x)
    lipschitz = np.linalg.eigvalsh(x.T @ x / n).max()

    def loss(w):
        return float(np.mean((x @ w - y) ** 2) / 2)

    w = np.zeros(10)
    for _ in range(q17_budget()["epochs"]):
        w = w - (1 / lipschitz) * x.T @ (x @ w - y) / n
    gd = loss(w)
    rng = np.random.default_rng(170)
    w = np.zeros(10)
    batch = q17_budget()["batch"]
    for _ in range(q17_budget()["epochs"]):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            w = w - 0.5 * x[idx].T @ (x[idx] @ w - y[idx]) / batch
    return {"initial": loss(np.zeros(10)), "gd": gd, "sgd": loss(w), "sgd_steps": q17_budget()["epochs"] * n // batch}


@value
def q17_answer():
    losses = q17_losses()
    return losses["gd"] <= losses["sgd"]


def test_q17_sgd_wins_at_equal_cost():
    x, y = q17_problem()
    losses = q17_losses()
    w_star = np.linalg.lstsq(x, y, rcond=None)[0]
    floor = np.mean((x @ w_star - y) ** 2) / 2
    assert losses["sgd"] < 2 * floor < losses["gd"] < losses["initial"]
    assert losses["sgd_steps"] == 200 and len(x) == q17_budget()["n"] and q17_answer() is False


# --- Q18: robustness of MAE versus MSE -------------------------------------------------------


@value
def q18_outlier():
    """The outlier of data set D1 (its only point off y = x): its position in the list, its x, its y,
    and the y it is moved up to in the check."""
    (index, (x, y)), = [(i, p) for i, p in enumerate(fig1_data()["D1"]) if p[0] != p[1]]
    return {"index": index, "x": x, "original": y, "moved": 105}


@value
def q18_fits():
    """Least-squares (MSE) and least-absolute-deviation (MAE) lines through data set D1 of Figure 1,
    and both after its outlier is moved up (q18_outlier)."""
    out = {}
    outlier = q18_outlier()
    for label in ("original", "moved"):
        pts = [(x, y) for x, y in fig1_data()["D1"]]
        pts[outlier["index"]] = (outlier["x"], outlier[label])
        x = sp.Matrix([[1, px] for px, _ in pts])
        y = sp.Matrix([py for _, py in pts])
        b, a = list((x.T * x).inv() * x.T * y)
        lad_a, lad_b = least_absolute_deviations(np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float))
        out[label] = {"mse": (sp.nsimplify(a), sp.nsimplify(b)),
                      "mae": (Fraction(lad_a).limit_denominator(1000), Fraction(lad_b).limit_denominator(1000))}
    return out


@value
def q18_answer():
    f = q18_fits()
    mae_stays = f["original"]["mae"] == f["moved"]["mae"]
    mse_moves = f["original"]["mse"] != f["moved"]["mse"]
    return mae_stays and mse_moves


def test_q18_outlier_is_the_point_off_the_line_and_the_fits_use_its_moved_position():
    outlier = q18_outlier()
    assert (outlier["x"], outlier["original"], outlier["moved"]) == (2, 5, 105)
    pts = np.array(fig1_data()["D1"], dtype=float)
    off = np.flatnonzero(pts[:, 1] != pts[:, 0])
    assert list(off) == [outlier["index"]] and tuple(pts[off[0]]) == (outlier["x"], outlier["original"])
    assert outlier["moved"] > outlier["original"]  # moved up
    # the printed least-squares line after the move is the fit through the moved point, and not through the old one
    moved = pts.copy()
    moved[outlier["index"], 1] = outlier["moved"]
    a, b = (float(v) for v in q18_fits()["moved"]["mse"])
    assert np.allclose(np.polyfit(moved[:, 0], moved[:, 1], 1), [a, b])
    assert not np.allclose(np.polyfit(pts[:, 0], pts[:, 1], 1), [a, b])
    # least squares is linear in y: the move shifts the line by the hat-matrix response to (moved - original)
    design = np.column_stack([pts[:, 0], np.ones(len(pts))])
    shift = np.linalg.pinv(design)[:, outlier["index"]] * (outlier["moved"] - outlier["original"])
    a0, b0 = (float(v) for v in q18_fits()["original"]["mse"])
    assert np.allclose([a - a0, b - b0], shift)


def test_q18_fits_are_optimal():
    for label in ("original", "moved"):
        pts = np.array(fig1_data()["D1"], dtype=float)
        pts[q18_outlier()["index"], 1] = q18_outlier()[label]
        f = q18_fits()[label]
        a, b = (float(v) for v in f["mse"])
        assert np.allclose(np.polyfit(pts[:, 0], pts[:, 1], 1), [a, b])
        a_lad, b_lad = (float(v) for v in f["mae"])
        best = np.sum(np.abs(pts[:, 1] - a_lad * pts[:, 0] - b_lad))
        result = minimize(lambda t: np.sum(np.abs(pts[:, 1] - t[0] * pts[:, 0] - t[1])), [0.5, 1.0], method="Nelder-Mead",
                          options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 5000})
        assert best <= result.fun + 1e-8
    assert q18_fits()["original"]["mae"] == (1, 0) and q18_answer() is True


# --- Q19: one SGD step of logistic regression ------------------------------------------------


@value
def q19_example():
    """A correctly classified example (label 1, score 3) and the step size."""
    return {"x": [1, 2], "y": 1, "theta": [1, 1], "gamma": Fraction(1, 10)}


@value
def q19_step():
    """The SGD update -gamma (sigma(x.theta) - y) x on that example."""
    e = q19_example()
    x, theta = np.array(e["x"], float), np.array(e["theta"], float)
    return -float(e["gamma"]) * (expit(x @ theta) - e["y"]) * x


@value
def q19_score():
    e = q19_example()
    return sum(a * b for a, b in zip(e["x"], e["theta"]))


@value
def q19_answer():
    return bool(np.allclose(q19_step(), 0))


def test_q19_step_is_the_negative_gradient_and_nonzero():
    e = q19_example()
    x, theta = np.array(e["x"], float), np.array(e["theta"], float)

    def nll(t):
        p = 1 / (1 + np.exp(-x @ t))
        return -(e["y"] * np.log(p) + (1 - e["y"]) * np.log(1 - p))

    h = 1e-6
    grad = np.array([(nll(theta + h * u) - nll(theta - h * u)) / (2 * h) for u in np.eye(2)])
    assert np.allclose(q19_step(), -float(e["gamma"]) * grad, atol=1e-9)  # with the printed step size
    assert q19_score() == float(x @ theta) == 3
    assert x @ theta > 0 and np.linalg.norm(q19_step()) > 1e-3 and q19_answer() is False


# --- Q20 (nullified): linear separability, kernels and regularisers --------------------------


@value
def q20_xor():
    """XOR: points and labels."""
    return {"x": [[0, 0], [1, 1], [0, 1], [1, 0]], "y": [-1, -1, 1, 1]}


@value
def q20_xor_points():
    return [{"x1": p[0], "x2": p[1], "y": y} for p, y in zip(q20_xor()["x"], q20_xor()["y"])]


@value
def q20_separability():
    """Linear separability of XOR in the input space, and after the feature map (x1, x2, x1 x2)."""
    d = q20_xor()
    x, y = np.array(d["x"], float), np.array(d["y"], float)
    mapped = np.column_stack([x, x[:, 0] * x[:, 1]])
    return {"input": bool(linearly_separable(x, y)), "features": bool(linearly_separable(mapped, y))}


@value
def q20_answer():
    """The regulariser part fails: a penalty changes which separator is chosen, not whether one exists."""
    return q20_separability()["input"]


def test_q20_xor_is_not_linearly_separable_but_is_after_the_feature_map():
    s = q20_separability()
    assert s == {"input": False, "features": True}
    assert [(p["x1"], p["x2"], p["y"]) for p in q20_xor_points()] == [(0, 0, -1), (1, 1, -1), (0, 1, 1), (1, 0, 1)]
    # independent: any (w, b) gives one sign error on XOR (sum of the constraints is contradictory)
    rng = np.random.default_rng(20)
    x, y = np.array(q20_xor()["x"], float), np.array(q20_xor()["y"], float)
    for _ in range(2000):
        w, b = rng.normal(size=2), rng.normal()
        assert np.any(y * (x @ w + b) <= 0)
    w, b = np.array([2.0, 2.0, -4.0]), -1.0  # a separator in feature space
    mapped = np.column_stack([x, x[:, 0] * x[:, 1]])
    assert np.all(y * (mapped @ w + b) > 0)
    assert q20_answer() is False


# --- Q21: kernels and infinite-dimensional features ------------------------------------------


@value
def q21_points():
    return list(range(10))


@value
def q21_gram_min_eigenvalue():
    """Smallest eigenvalue of the Gaussian-kernel matrix exp(-(x - x')^2 / 2) on the points 0, ..., 9."""
    x = np.array(q21_points(), float)
    return float(np.linalg.eigvalsh(np.exp(-(x[:, None] - x[None, :]) ** 2 / 2)).min())


@value
def q21_truncation_errors():
    """|k(x, x') - <phi_K(x), phi_K(x')>| for x = 1, x' = 3/2, with the first K + 1 features
    phi_j(x) = exp(-x^2 / 2) x^j / sqrt(j!)."""
    x, xp = 1.0, 1.5
    exact = math.exp(-(x - xp) ** 2 / 2)
    out = {}
    for k in (1, 3, 5, 10):
        phi = [math.exp(-x * x / 2) * x ** j / math.sqrt(math.factorial(j)) for j in range(k + 1)]
        phip = [math.exp(-xp * xp / 2) * xp ** j / math.sqrt(math.factorial(j)) for j in range(k + 1)]
        out[k] = abs(exact - sum(a * b for a, b in zip(phi, phip)))
    return out


@value
def q21_answer():
    return q21_gram_min_eigenvalue() > 1e-6 and all(e > 0 for e in q21_truncation_errors().values())


def test_q21_gaussian_kernel_needs_infinitely_many_features():
    # full rank for every number of distinct points: no feature space of finite dimension m fits n > m points
    for n in (2, 5, 10):
        x = np.arange(n, dtype=float)
        assert np.linalg.matrix_rank(np.exp(-(x[:, None] - x[None, :]) ** 2 / 2)) == n
    errors = q21_truncation_errors()
    values = [errors[k] for k in sorted(errors)]
    assert all(b < a for a, b in zip(values, values[1:])) and values[-1] < 1e-6 and values[-1] > 0
    # the series is exact in the limit: sum_j (x x')^j / j! = exp(x x')
    assert np.isclose(sum(1.5 ** j / math.factorial(j) for j in range(40)) * math.exp(-1 / 2 - 1.125), math.exp(-0.125))
    assert q21_gram_min_eigenvalue() > 1e-2 and q21_answer() is True


# --- Q22: number of support vectors ----------------------------------------------------------


@value
def q22_data():
    """Points on the lines x1 = -1 (label -1) and x1 = +1 (label +1), five on each."""
    pts = [[s, h] for s in (-1, 1) for h in range(5)]
    return {"x": pts, "y": [-1] * 5 + [1] * 5}


@value
def q22_svm():
    x, y = np.array(q22_data()["x"], float), np.array(q22_data()["y"], float)
    w, b = hard_svm(x, y)
    on_margin = int(np.sum(np.isclose(y * (x @ w + b), 1, atol=1e-5)))
    return {"w": [Fraction(round(v, 6)).limit_denominator(100) for v in w], "b": Fraction(round(b, 6)).limit_denominator(100),
            "on_margin": on_margin, "upper_bound": 2 * x.shape[1]}


@value
def q22_answer():
    s = q22_svm()
    return 2 <= s["on_margin"] <= s["upper_bound"]


def test_q22_all_ten_points_lie_on_the_margin():
    s = q22_svm()
    assert s["w"] == [1, 0] and s["b"] == 0
    x, y = np.array(q22_data()["x"], float), np.array(q22_data()["y"], float)
    assert np.allclose(y * (x @ np.array([1.0, 0.0])), 1)  # every point has functional margin exactly 1
    # no separator has a larger geometric margin: the classes are at distance 2 along x1
    rng = np.random.default_rng(22)
    for _ in range(500):
        w = rng.normal(size=2)
        w /= np.linalg.norm(w)
        margins = y * (x @ w)
        assert margins.min() <= 1 + 1e-12
    assert s["on_margin"] == 10 > s["upper_bound"] == 4 and q22_answer() is False


# --- Q23: bilinear min-max -------------------------------------------------------------------


def q23_matrices():
    rng = np.random.default_rng(23)
    return [rng.normal(size=(4, 5)) for _ in range(3)]


@value
def q23_games():
    """max-min and min-max of w^T M alpha over two simplices, for random 4 x 5 matrices M."""
    return [{"maxmin": float(max_min_bilinear(m)), "minmax": float(min_max_bilinear(m))} for m in q23_matrices()]


@value
def q23_convex_convex():
    """For G(w, alpha) = (w - alpha)^2 on [0, 1]^2 (convex in both, not concave in alpha):
    max_alpha min_w G and min_w max_alpha G."""
    w, a = sp.symbols("w alpha", real=True)
    inner_min = sp.Integer(0)  # min over w in [0, 1] of (w - alpha)^2 is 0, at w = alpha
    inner_max = sp.Max((w - 0) ** 2, (w - 1) ** 2)  # a convex function of alpha peaks at an end point
    minmax = min(inner_max.subs(w, v) for v in [sp.Rational(k, 100) for k in range(101)])
    return {"maxmin": inner_min, "minmax": sp.nsimplify(minmax)}


@value
def q23_answer():
    return all(abs(g["maxmin"] - g["minmax"]) < 1e-8 for g in q23_games())


def test_q23_minimax_equality_by_an_independent_search():
    rng = np.random.default_rng(230)
    for g, m in zip(q23_games(), q23_matrices()):
        # a mixed strategy alpha guarantees min_i (M alpha)_i; random strategies never beat the LP value
        alphas = rng.dirichlet(np.ones(5), size=4000)
        ws = rng.dirichlet(np.ones(4), size=4000)
        assert (m @ alphas.T).min(0).max() <= g["maxmin"] + 1e-9
        assert (m.T @ ws.T).max(0).min() >= g["minmax"] - 1e-9
        assert abs(g["maxmin"] - g["minmax"]) < 1e-8
    assert q23_answer() is True


def test_q23_the_hypotheses_matter():
    c = q23_convex_convex()
    grid = np.linspace(0, 1, 201)
    g = (grid[:, None] - grid[None, :]) ** 2  # rows w, columns alpha
    assert np.isclose(g.min(0).max(), float(c["maxmin"])) and np.isclose(g.max(1).min(), float(c["minmax"]))
    assert c["maxmin"] == 0 and c["minmax"] == sp.Rational(1, 4)


@checks("q23")
def test_published_q23_justification_without_compactness_fails():
    """The published solution justifies the equality by convexity-concavity alone. G(w, alpha) = w - alpha is
    linear in both, but on R x R: sup_alpha inf_w G = -oo < +oo = inf_w sup_alpha G."""
    w, a = sp.symbols("w alpha", real=True)
    g = w - a
    assert sp.limit(g, w, -sp.oo) == -sp.oo  # inf over w is -oo for every alpha
    assert sp.limit(g, a, -sp.oo) == sp.oo  # sup over alpha is +oo for every w
    # on the compact square [-R, R]^2 both sides agree (equal to 0), as the theorem says
    for r in (1.0, 10.0, 100.0):
        grid = np.linspace(-r, r, 101)
        table = grid[:, None] - grid[None, :]
        assert np.isclose(table.min(0).max(), 0) and np.isclose(table.max(1).min(), 0)


# --- Q24: EM and the global maximum ----------------------------------------------------------


@value
def q24_design():
    """Three clusters of fifty points, unit variance, at these centres."""
    return {"centres": [-10, 0, 10], "per_cluster": 50, "n": 150}


def q24_sample():
    rng = np.random.default_rng(24)
    d = q24_design()
    return np.concatenate([rng.normal(c, 1, d["per_cluster"]) for c in d["centres"]])


@value
def q24_runs():
    """EM (300 iterations) for three components from two starts: near the clusters, and with two
    components in the left cluster and a wide one over the other two."""
    x = q24_sample()
    runs = {}
    for name, (m, v) in {"good": ([-10, 0, 10], [1, 1, 1]), "bad": ([-10.5, -9.5, 5], [0.5, 0.5, 25])}.items():
        means, variances, pis, ll = em_1d(x, m, v, [1 / 3] * 3 if name == "good" else [0.25, 0.25, 0.5], 300)
        runs[name] = {"start": m, "means": list(means), "loglik": ll}
    return runs


@value
def q24_degenerate():
    """Log-likelihood when one component sits on a data point with standard deviation s = 10^-k, k = 3, 6, 9."""
    x = q24_sample()
    out = {}
    for k in (3, 6, 9):  # s = 10^-k
        covs = np.array([[[10.0 ** (-2 * k)]], [[1.0]], [[100.0]]])
        means = np.array([[x[0]], [0.0], [0.0]])
        out[k] = gmm_loglik(x[:, None], np.full(3, 1 / 3), means, covs)
    return out


@value
def q24_answer():
    r = q24_runs()
    return abs(r["good"]["loglik"] - r["bad"]["loglik"]) < 1e-6


def test_q24_bad_start_is_a_stationary_point_with_lower_likelihood():
    x = q24_sample()
    r = q24_runs()
    assert r["bad"]["loglik"] < r["good"]["loglik"] - 50
    assert len(x) == q24_design()["n"] and np.allclose(sorted(r["good"]["means"]), q24_design()["centres"], atol=0.5)
    # EM has converged there: one more step changes nothing
    means, variances, pis, ll = em_1d(x, [-10.5, -9.5, 5], [0.5, 0.5, 25], [0.25, 0.25, 0.5], 300)
    means2, variances2, pis2, ll2 = em_1d(x, means, variances, pis, 1)
    assert np.allclose(means, means2, atol=1e-6) and abs(ll - ll2) < 1e-8
    # the log-likelihood there is a local maximum along random directions
    rng = np.random.default_rng(240)
    theta = np.concatenate([means, np.log(variances)])
    def ll_of(t):
        return gmm_loglik(x[:, None], pis, t[:3, None], np.exp(t[3:])[:, None, None])
    for _ in range(50):
        d = rng.normal(size=6) * 1e-3
        assert ll_of(theta + d) <= ll_of(theta) + 1e-9
    assert q24_answer() is False


def test_q24_likelihood_is_unbounded():
    values = list(q24_degenerate().values())
    assert values[0] < values[1] < values[2]
    assert np.isclose(values[2] - values[1], np.log(1000), rtol=1e-6)  # grows like -log s


# --- Q25: posterior of the latent assignment -------------------------------------------------


@value
def q25_mixture():
    return {"pi": [Fraction(3, 10), Fraction(7, 10)], "mu": [0, 1], "sigma": [Fraction(1, 10), 1], "x": 0}


@value
def q25_values():
    """pi_k N(x | mu_k, sigma_k^2) at x = 0, their sum, and the normalised posteriors."""
    m = q25_mixture()
    joint = [float(p) * stats.norm.pdf(m["x"], mu, float(s)) for p, mu, s in zip(m["pi"], m["mu"], m["sigma"])]
    total = sum(joint)
    return {"joint": joint, "total": total, "posterior": [j / total for j in joint]}


@value
def q25_answer():
    v = q25_values()
    return bool(abs(v["total"] - 1) < 1e-9 and all(0 <= j <= 1 for j in v["joint"]))


def test_q25_posterior_by_monte_carlo():
    m = q25_mixture()
    rng = np.random.default_rng(25)
    n = 2_000_000
    z = rng.uniform(size=n) < 0.3
    x = np.where(z, rng.normal(0, 0.1, n), rng.normal(1, 1, n))
    near = np.abs(x - m["x"]) < 0.01
    posterior_first = np.mean(z[near])
    v = q25_values()
    assert abs(posterior_first - v["posterior"][0]) < 0.01  # Bayes' rule, normalised
    assert v["joint"][0] > 1 and abs(v["total"] - 1) > 0.1 and q25_answer() is False


# --- Q26 (removed): receptive field after average pooling ------------------------------------


def receptive_field_side(layers, size=24):
    """Side length of the set of input pixels that influence the centre unit of the last layer.
    layers: list of ('conv', k) (stride 1) or ('pool', k) (stride k), with all-positive weights."""
    def forward(image):
        out = image
        for kind, k in layers:
            if kind == "conv":
                out = sum(out[i:out.shape[0] - k + 1 + i, j:out.shape[1] - k + 1 + j] for i in range(k) for j in range(k))
            else:
                h, w = out.shape[0] // k * k, out.shape[1] // k * k
                out = out[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))
        return out

    base = forward(np.zeros((size, size)))
    centre = (base.shape[0] // 2, base.shape[1] // 2)
    influence = np.zeros((size, size), dtype=bool)
    for i in range(size):
        for j in range(size):
            image = np.zeros((size, size))
            image[i, j] = 1.0
            influence[i, j] = forward(image)[centre] != 0
    rows, cols = np.nonzero(influence)
    return int(rows.max() - rows.min() + 1)


@value
def q26_receptive_fields():
    """Receptive-field sides: after a 3 x 3 convolution, after it plus 2 x 2 average pooling (stride 2),
    and after one more 3 x 3 convolution."""
    return {"conv": receptive_field_side([("conv", 3)]),
            "conv_pool": receptive_field_side([("conv", 3), ("pool", 2)]),
            "conv_pool_conv": receptive_field_side([("conv", 3), ("pool", 2), ("conv", 3)]),
            "conv_conv": receptive_field_side([("conv", 3), ("conv", 3)])}


@value
def q26_answer():
    r = q26_receptive_fields()
    return r["conv_pool"] > r["conv"]


def test_q26_receptive_fields_follow_the_recursion():
    r = q26_receptive_fields()
    # r_out = r_in + (k - 1) * jump, the jump being the product of the strides so far
    assert r["conv"] == 1 + (3 - 1) * 1
    assert r["conv_pool"] == r["conv"] + (2 - 1) * 1
    assert r["conv_pool_conv"] == r["conv_pool"] + (3 - 1) * 2
    assert r["conv_conv"] == r["conv"] + (3 - 1) * 1
    assert receptive_field_side([("pool", 2)]) == 2 and q26_answer() is True


# --- Q27: cost of a transformer forward pass -------------------------------------------------


class MacCounter:
    """Counts the multiply-adds of matrix products, from the shapes of their operands."""

    def __init__(self):
        self.count = 0

    def matmul(self, a, b):
        self.count += int(np.prod(a.shape[:-1])) * a.shape[-1] * b.shape[-1]
        return a @ b


def transformer_forward_macs(n, layers, s, d, seed=27):
    """Run an encoder-only transformer (one head, MLP of width 4D) and count its multiply-adds."""
    rng = np.random.default_rng(seed)
    counter = MacCounter()
    h = rng.normal(size=(n, s, d))
    for _ in range(layers):
        wq, wk, wv, wo = (rng.normal(size=(d, d)) / math.sqrt(d) for _ in range(4))
        w1, w2 = rng.normal(size=(d, 4 * d)) / math.sqrt(d), rng.normal(size=(4 * d, d)) / math.sqrt(4 * d)
        q, k, v = counter.matmul(h, wq), counter.matmul(h, wk), counter.matmul(h, wv)
        scores = counter.matmul(q, np.swapaxes(k, 1, 2)) / math.sqrt(d)
        attn = counter.matmul(softmax(scores, axis=-1), v)
        h = h + counter.matmul(attn, wo)
        h = h + counter.matmul(np.maximum(counter.matmul(h, w1), 0), w2)
    return counter.count


@value
def q27_macs_per_layer():
    """Multiply-adds per sequence and layer, as a polynomial in S and D: 12 S D^2 + 2 S^2 D."""
    s, d = sp.symbols("S D", positive=True)
    return 12 * s * d ** 2 + 2 * s ** 2 * d


@value
def q27_width():
    """The model width D at which the cost ratio is evaluated for growing S."""
    return 64


@value
def q27_ratios():
    """Multiply-adds divided by N L S D^2, for D = q27_width and growing S."""
    s, d = sp.symbols("S D", positive=True)
    per = q27_macs_per_layer()
    width = q27_width()
    return {length: per.subs({s: length, d: width}) / (length * width ** 2) for length in (64, 512, 4096)}


@value
def q27_answer():
    ratios = list(q27_ratios().values())
    return bool(ratios[-1] <= 2 * ratios[0])


def test_q27_count_matches_an_instrumented_forward_pass():
    s, d = sp.symbols("S D", positive=True)
    for n, layers, length, dim in ((2, 1, 5, 4), (1, 3, 16, 8), (3, 2, 32, 4)):
        counted = transformer_forward_macs(n, layers, length, dim)
        assert counted == n * layers * q27_macs_per_layer().subs({s: length, d: dim})
    ratios = q27_ratios()
    assert ratios[64] == 14 and ratios[4096] == 140 and q27_answer() is False


def test_q27_ratios_are_for_the_printed_width():
    width = q27_width()
    assert width == 64
    ratios = q27_ratios()
    # an instrumented forward pass at this width reproduces the printed ratios (the sequences it can afford)
    for length in (64, 512):
        assert Fraction(transformer_forward_macs(1, 1, length, width), length * width ** 2) == ratios[length]
    # the ratio is 12 + 2 S / D: it depends on the width as printed, and another width gives other numbers
    for length, ratio in ratios.items():
        assert ratio == 12 + Fraction(2 * length, width)
        assert ratio != 12 + Fraction(2 * length, 2 * width)


# --- Q28: adversarial training and standard accuracy -----------------------------------------


@value
def q28_model():
    """The model of Tsipras et al. (2019): y = +-1, x_1 = y with probability p (else -y), and d weak
    features x_j ~ N(eta y, 1); the adversary moves every coordinate by at most eps (l_inf)."""
    return {"p": Fraction(9, 10), "d": 100, "eta": Fraction(1, 5), "eps": Fraction(2, 5)}


def q28_accuracies(a, b, robust):
    """Standard or robust accuracy of sign(a x_1 + b sum_j x_j) with a, b >= 0, exactly."""
    m = q28_model()
    p, d, eta, eps = float(m["p"]), m["d"], float(m["eta"]), float(m["eps"])
    shift = eps * (a + d * b) if robust else 0.0
    if b == 0:
        return p if a > shift else 0.0
    sd = b * math.sqrt(d)
    return (p * stats.norm.cdf((a + b * d * eta - shift) / sd)
            + (1 - p) * stats.norm.cdf((-a + b * d * eta - shift) / sd))


@value
def q28_results():
    """Over linear classifiers (a, b) = (cos t, sin t), t on a grid: the most accurate one and the
    most robust one (what adversarial training selects), with both accuracies."""
    grid = np.linspace(0, math.pi / 2, 2001)
    rows = [(math.cos(t), math.sin(t)) for t in grid]
    standard = [q28_accuracies(a, b, robust=False) for a, b in rows]
    robust = [q28_accuracies(a, b, robust=True) for a, b in rows]
    i, j = int(np.argmax(standard)), int(np.argmax(robust))
    return {"standard_fit": {"standard": standard[i], "robust": robust[i]},
            "robust_fit": {"standard": standard[j], "robust": robust[j]}}


@value
def q28_answer():
    r = q28_results()
    return bool(r["robust_fit"]["standard"] < r["standard_fit"]["standard"])


def test_q28_accuracies_by_monte_carlo():
    m = q28_model()
    rng = np.random.default_rng(28)
    n, d = 200_000, m["d"]
    y = rng.choice([-1.0, 1.0], size=n)
    x1 = np.where(rng.uniform(size=n) < 0.9, y, -y)
    weak_sum = rng.normal(0.2 * d * y, math.sqrt(d))  # the sum of the d weak features
    for a, b in ((1.0, 0.0), (0.0, 1.0), (0.6, 0.8)):
        score = a * x1 + b * weak_sum
        assert abs(np.mean(np.sign(score) == y) - q28_accuracies(a, b, False)) < 0.003
        worst = score - y * 0.4 * (a + d * b) * 1.0  # the l_inf adversary pushes every coordinate against y
        assert abs(np.mean(np.sign(worst) * y > 0) - q28_accuracies(a, b, True)) < 0.003
    r = q28_results()
    assert r["standard_fit"]["standard"] > 0.97 and r["standard_fit"]["robust"] < 0.1
    assert np.isclose(r["robust_fit"]["standard"], 0.9) and np.isclose(r["robust_fit"]["robust"], 0.9)
    assert q28_answer() is True


# --- Q29: FastText objective -----------------------------------------------------------------


@value
def q29_counterexample():
    """With f the identity, a scalar example y = 1, x = e_1, W = (1), Z = (-1): the objective at
    (W, Z), at (-W, -Z) and at their midpoint (0, 0)."""
    def objective(w, z):
        return 1 * w * z * 1
    return {"first": objective(1, -1), "second": objective(-1, 1), "midpoint": objective(0, 0)}


@value
def q29_hessian_eigenvalues():
    w, z = sp.symbols("W Z", real=True)
    return sorted(sp.hessian(w * z, (w, z)).eigenvals())


@value
def q29_answer():
    c = q29_counterexample()
    return c["midpoint"] <= (c["first"] + c["second"]) / 2


def test_q29_bilinear_objective_is_not_convex():
    c = q29_counterexample()
    assert c["midpoint"] > Fraction(c["first"] + c["second"], 2)  # Jensen's inequality fails
    assert q29_hessian_eigenvalues() == [-1, 1]
    # random instances of the matrix form y W Z^T x also break midpoint convexity
    rng = np.random.default_rng(29)
    found = 0
    for _ in range(200):
        w1, w2 = rng.normal(size=(1, 3)), rng.normal(size=(1, 3))
        z1, z2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
        x = rng.normal(size=5)
        def f(w, z):
            return (w @ z.T @ x).item()
        found += f((w1 + w2) / 2, (z1 + z2) / 2) > (f(w1, z1) + f(w2, z2)) / 2 + 1e-12
    assert found > 20 and q29_answer() is False


# --- Q30, Q31: Hoeffding with the training set -----------------------------------------------


def one_nn_true_error(x_train, labels, p_one):
    """Exact true error of 1-NN on X ~ U[0, 1] with labels Y ~ Bernoulli(p_one) independent of X:
    each Voronoi cell (an interval) errs with probability p_one (label 0) or 1 - p_one (label 1)."""
    order = np.argsort(x_train)
    xs, ls = x_train[order], labels[order]
    edges = np.concatenate([[0.0], (xs[1:] + xs[:-1]) / 2, [1.0]])
    return float(np.sum(np.diff(edges) * np.where(ls == 1, 1 - p_one, p_one)))


@value
def q30_setup():
    return {"n": 2000, "delta": Fraction(1, 20), "p_one": Fraction(3, 10), "repeats": 200}


@value
def q30_threshold():
    """sqrt((b - a)^2 ln(2 / delta) / (2 n)) for the 0-1 loss (b - a = 1)."""
    s = q30_setup()
    return math.sqrt(math.log(2 / float(s["delta"])) / (2 * s["n"]))


def q30_q31_simulation(seed):
    s = q30_setup()
    rng = np.random.default_rng(seed)
    p = float(s["p_one"])
    rows = []
    for _ in range(s["repeats"]):
        x = rng.uniform(size=s["n"])
        labels = (rng.uniform(size=s["n"]) < p).astype(int)
        x_val = rng.uniform(size=s["n"])
        labels_val = (rng.uniform(size=s["n"]) < p).astype(int)
        nn_true = one_nn_true_error(x, labels, p)
        # 1-NN has training error 0; the constant classifier 0 (k = n, majority vote) has training error mean(labels)
        rows.append({"nn_true": nn_true, "const_train": float(labels.mean()), "const_true": p,
                     "nn_val": float(np.mean(labels[nearest_1d(x, x_val)] != labels_val)),
                     "const_val": float(labels_val.mean())})
    return rows


def nearest_1d(x_train, x_query):
    """Index of the nearest training point of every query (one dimension, by sorting)."""
    order = np.argsort(x_train)
    xs = x_train[order]
    pos = np.clip(np.searchsorted(xs, x_query), 1, len(xs) - 1)
    left_closer = (x_query - xs[pos - 1]) <= (xs[pos] - x_query)
    return order[np.where(left_closer, pos - 1, pos)]


@value
def q30_results():
    """Over repeated training sets: the mean gap |L_D - L_S| of 1-NN, and how often it exceeds the threshold."""
    rows = q30_q31_simulation(30)
    gaps = [abs(r["nn_true"] - 0.0) for r in rows]
    return {"mean_gap": float(np.mean(gaps)), "violation_rate": float(np.mean([g >= q30_threshold() for g in gaps]))}


@value
def q30_answer():
    return q30_results()["violation_rate"] <= float(q30_setup()["delta"])


@value
def q30_published_sum_example():
    """The published solution writes the training error as a sum without 1/n: for n = 10 points and
    three mistakes it gives 3 instead of 3/10."""
    losses = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    return {"sum": sum(losses), "mean": Fraction(sum(losses), len(losses)), "n": len(losses)}


def test_q30_memorising_classifier_breaks_the_bound():
    rows = q30_q31_simulation(300)
    for r in rows[:20]:
        assert 0.3 < r["nn_true"] < 0.55
    assert abs(np.mean([r["nn_true"] for r in rows]) - 2 * 0.3 * 0.7) < 0.01  # E L_D = 2 p (1 - p)
    assert q30_results()["violation_rate"] == 1.0 and q30_results()["mean_gap"] > 10 * q30_threshold()
    # on a fresh test set the same classifier obeys Hoeffding (the published corrected statement)
    gaps = [abs(r["nn_true"] - r["nn_val"]) for r in rows]
    assert np.mean([g >= q30_threshold() for g in gaps]) <= 0.05
    assert q30_answer() is False


def test_published_q30_training_error_without_one_over_n_is_wrong():
    e = q30_published_sum_example()
    assert e["sum"] == 3 and e["mean"] == Fraction(3, 10)
    assert e["sum"] > 1  # the printed "training error" leaves [a, b] = [0, 1]: it is n times the average
    assert e["mean"] * e["n"] == e["sum"]


@value
def q31_threshold():
    """2 sqrt((b - a)^2 ln(2K / delta) / (2 n)) with K = 2 hyperparameter values."""
    s = q30_setup()
    return 2 * math.sqrt(math.log(2 * 2 / float(s["delta"])) / (2 * s["n"]))


@value
def q31_results():
    """k-NN with k in {1, n}: selection by training error picks k = 1; by validation error, k = n.
    How often L_D(selected) >= L_D(best) + threshold."""
    rows = q30_q31_simulation(31)
    by_train = [r["nn_true"] if 0.0 < r["const_train"] else r["const_true"] for r in rows]
    by_val = [r["nn_true"] if r["nn_val"] < r["const_val"] else r["const_true"] for r in rows]
    best = [min(r["nn_true"], r["const_true"]) for r in rows]
    return {"train_rate": float(np.mean([s >= b + q31_threshold() for s, b in zip(by_train, best)])),
            "val_rate": float(np.mean([s >= b + q31_threshold() for s, b in zip(by_val, best)])),
            "mean_selected_true_error": float(np.mean(by_train)), "best_true_error": float(np.mean(best))}


@value
def q31_answer():
    return q31_results()["train_rate"] <= float(q30_setup()["delta"])


def test_q31_selection_by_training_error_fails_and_by_validation_works():
    r = q31_results()
    assert r["train_rate"] == 1.0 and r["val_rate"] <= 0.05
    assert r["mean_selected_true_error"] > r["best_true_error"] + q31_threshold()
    assert np.isclose(r["best_true_error"], 0.3)  # the constant classifier is the better one
    assert q31_answer() is False


# --- Q32: teacher forcing --------------------------------------------------------------------


def causal_lm_logits(tokens, params):
    """A one-layer causal self-attention language model: logits for the next token at every position."""
    emb, pos, wq, wk, wv, wout = params
    h = emb[tokens] + pos[:len(tokens)]
    scores = (h @ wq) @ (h @ wk).T / math.sqrt(h.shape[1])
    scores = np.where(np.tril(np.ones_like(scores, dtype=bool)), scores, -np.inf)
    return (softmax(scores, axis=1) @ (h @ wv)) @ wout


def q32_params():
    rng = np.random.default_rng(32)
    vocab, dim, length = 11, 8, 12
    return (rng.normal(size=(vocab, dim)), rng.normal(size=(length, dim)), *(rng.normal(size=(dim, dim)) for _ in range(3)),
            rng.normal(size=(dim, vocab))), rng.integers(0, vocab, size=length)


@value
def q32_results():
    """Teacher forcing: one pass over the true sequence gives the prediction for every position; it equals
    the prediction from the true prefix alone, and the model's own predictions are never fed back."""
    params, tokens = q32_params()
    full = causal_lm_logits(tokens, params)
    gap = max(float(np.abs(full[t] - causal_lm_logits(tokens[:t + 1], params)[t]).max()) for t in range(len(tokens)))
    predicted = full.argmax(1)[:-1]
    return {"max_gap": gap, "length": len(tokens), "wrong_predictions": int(np.sum(predicted != tokens[1:]))}


@value
def q32_max_gap_exponent():
    """The printed bound 10^-k on the gap between one causal pass and prefix-by-prefix logits (rounding)."""
    return rounding_exponent(q32_results()["max_gap"])


@value
def q32_answer():
    return False if q32_results()["max_gap"] < 1e-9 else True


def test_q32_one_causal_pass_equals_prefix_by_prefix_evaluation():
    params, tokens = q32_params()
    r = q32_results()
    assert r["max_gap"] < 1e-9 and r["wrong_predictions"] > 0
    # the mask hides the future: changing the last token leaves every earlier prediction unchanged
    emb, pos, wq, wk, wv, wout = params
    changed = tokens.copy()
    changed[-1] = (changed[-1] + 1) % 11
    assert np.allclose(causal_lm_logits(changed, params)[:-1], causal_lm_logits(tokens, params)[:-1])
    assert q32_answer() is False


# =============================================================================================
# Open questions Q33-Q42
# =============================================================================================

# --- Q33: a network with a fixed normalisation as activation ---------------------------------


def q33_instance(seed, m=4, d=3):
    rng = np.random.default_rng(seed)
    return {"W": rng.normal(size=(m, d)), "v": rng.normal(size=m), "gamma": rng.normal(size=m),
            "beta": rng.uniform(0.5, 2, size=m) * rng.choice([-1, 1], size=m), "x": rng.normal(size=d),
            "y": rng.normal()}


def q33_network(p, x, W=None, centred=False):
    """f(x) = v^T ((W x - gamma) / beta); with centred=True, gamma_i = mean_j (w_j^T x) for every i."""
    W = p["W"] if W is None else W
    pre = W @ x
    gamma = np.full_like(pre, pre.mean()) if centred else p["gamma"]
    return float(p["v"] @ ((pre - gamma) / p["beta"]))


def q33_network_exact(p, x):
    """The centred f(x) in exact rational arithmetic on the instance's numbers: f(0) is exactly 0, and is
    printed as 0, not as a float's 0.0."""
    W, v, beta = ([[Fraction(float(e)) for e in row] for row in p["W"]],
                  *([Fraction(float(e)) for e in p[k]] for k in ("v", "beta")))
    pre = [sum((w * Fraction(xk) for w, xk in zip(row, x)), Fraction(0)) for row in W]
    gamma = sum(pre, Fraction(0)) / len(pre)
    return sum(((vi * (wx - gamma) / bi) for vi, wx, bi in zip(v, pre, beta)), Fraction(0))


def q33_loss_hessian(p, centred=False, h=1e-4):
    """Finite-difference Hessian of (f(x) - y)^2 with respect to vec(W)."""
    m, d = p["W"].shape

    def loss(flat):
        return (q33_network(p, p["x"], flat.reshape(m, d), centred) - p["y"]) ** 2

    w0 = p["W"].ravel()
    n = w0.size
    hess = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            e_i, e_j = np.eye(n)[i] * h, np.eye(n)[j] * h
            hess[i, j] = (loss(w0 + e_i + e_j) - loss(w0 + e_i - e_j) - loss(w0 - e_i + e_j) + loss(w0 - e_i - e_j)) / (4 * h * h)
    return hess


@value
def q33_hessian_spectrum():
    """Extreme eigenvalues of the loss Hessian in vec(W) (finite differences, m = 4, d = 3), for the fixed
    gamma and for the centred gamma of part (c), with the closed-form value 2 ||v/beta||^2 ||x||^2
    (times (1 - ...) for (c)) of the single nonzero eigenvalue."""
    out = {}
    for label, centred in (("fixed", False), ("centred", True)):
        eig = np.linalg.eigvalsh(q33_loss_hessian(q33_instance(33), centred))
        out[label] = {"min": float(eig.min()), "max": float(eig.max()), "positive": int(np.sum(eig > 1e-4))}
    return out


@value
def q33_hessian_min_exponents():
    """The printed bounds 10^-k on |smallest eigenvalue| of the finite-difference Hessians (zero up to rounding)."""
    return {label: rounding_exponent(v["min"]) for label, v in q33_hessian_spectrum().items()}


@value
def q33_affine_check():
    """For (c): f(0), and the largest gap between the slope of f in x and the slope W^T (v / beta) of (a)."""
    p = q33_instance(33)
    d = p["x"].size
    slope = np.array([q33_network(p, np.eye(d)[i], centred=True) - q33_network(p, np.zeros(d), centred=True)
                      for i in range(d)])
    return {"f_at_zero": q33_network_exact(p, [0] * d),
            "slope_change": float(np.abs(slope - p["W"].T @ (p["v"] / p["beta"])).max())}


@value
def q33_published_bias_gap():
    """The published (b) rewrites the loss as (x'^T w' - b')^2 with b' = b - y; the gap to the true loss
    on a random instance, in exact rational arithmetic on the instance's numbers (so ours, with
    b' = b + y, has gap exactly 0, and no rounding error can make it anything else)."""
    p = q33_instance(33)
    W, v, gamma, beta, x = ([[Fraction(float(e)) for e in row] for row in p["W"]],
                            *([Fraction(float(e)) for e in p[k]] for k in ("v", "gamma", "beta", "x")))
    y = Fraction(float(p["y"]))
    pre = [sum(w * xk for w, xk in zip(row, x)) for row in W]
    a = [vi / bi for vi, bi in zip(v, beta)]
    xw, b = sum(ai * wx for ai, wx in zip(a, pre)), sum(ai * gi for ai, gi in zip(a, gamma))
    true = (sum(vi * (wx - gi) / bi for vi, wx, gi, bi in zip(v, pre, gamma, beta)) - y) ** 2
    return {"published": float(abs((xw - (b - y)) ** 2 - true)), "ours": abs((xw - (b + y)) ** 2 - true)}


@checks("q33")
def test_q33_network_is_affine_in_x_symbolically():
    m, d = 3, 2
    W = sp.Matrix(m, d, lambda i, j: sp.Symbol(f"w{i}{j}"))
    v, gamma, beta = (sp.Matrix(m, 1, lambda i, _: sp.Symbol(f"{n}{i}")) for n in ("v", "g", "b"))
    x = sp.Matrix(d, 1, lambda i, _: sp.Symbol(f"x{i}"))
    f = sum(v[i] * ((W * x)[i] - gamma[i]) / beta[i] for i in range(m))
    a = W.T * sp.Matrix(m, 1, lambda i, _: v[i] / beta[i])
    b = sum(v[i] * gamma[i] / beta[i] for i in range(m))
    assert sp.simplify(f - ((a.T * x)[0] - b)) == 0
    assert all(sp.diff(f, xi, 2) == 0 for xi in x)  # no curvature in x
    # (c): gamma_i = (1/m) sum_j w_j^T x makes f linear in x (no bias) and still linear in W
    mean_pre = sum((W * x)[i] for i in range(m)) / m
    f_c = sum(v[i] * ((W * x)[i] - mean_pre) / beta[i] for i in range(m))
    assert f_c.subs({xi: 0 for xi in x}) == 0
    assert all(sp.diff(f_c, wij, 2) == 0 for wij in W) and all(sp.diff(f_c, xi, 2) == 0 for xi in x)


def test_q33_loss_is_convex_in_w():
    s = q33_hessian_spectrum()
    for label in ("fixed", "centred"):
        assert s[label]["min"] > -1e-4 and s[label]["positive"] == 1  # PSD, rank one: 2 g g^T
    p = q33_instance(33)
    g = np.outer(p["v"] / p["beta"], p["x"]).ravel()
    assert np.isclose(s["fixed"]["max"], 2 * g @ g, rtol=1e-4)
    # random chords: the loss lies below the chord (Jensen), for both versions
    rng = np.random.default_rng(330)
    for centred in (False, True):
        for _ in range(200):
            p = q33_instance(int(rng.integers(1 << 30)))
            w1, w2, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.uniform()
            loss = lambda w: (q33_network(p, p["x"], w, centred) - p["y"]) ** 2
            assert loss(t * w1 + (1 - t) * w2) <= t * loss(w1) + (1 - t) * loss(w2) + 1e-9


def test_published_q33c_justification_gamma_only_in_the_bias_is_wrong():
    """The published (c) says gamma 'only contributes linearly to the bias term b'. With gamma the mean of
    the pre-activations, gamma depends on x: the bias vanishes and the slope changes."""
    c = q33_affine_check()
    assert c["f_at_zero"] == 0 and c["slope_change"] > 0.1
    assert math.isclose(float(q33_network_exact(q33_instance(33), q33_instance(33)["x"])),
                        q33_network(q33_instance(33), q33_instance(33)["x"], centred=True), rel_tol=1e-12)


def test_published_q33b_sign_of_y_is_wrong():
    g = q33_published_bias_gap()
    assert g["ours"] == 0 and g["published"] > 1e-2
    # the same in floating point: ours is within rounding of the true loss, the published one is not
    p = q33_instance(33)
    a = p["v"] / p["beta"]
    ours = (a @ p["W"] @ p["x"] - (a @ p["gamma"] + p["y"])) ** 2 - (q33_network(p, p["x"]) - p["y"]) ** 2
    assert abs(ours) < 1e-12


@value
def q33_answer():
    """The three verdicts, decided symbolically on a generic network (m = 3, d = 2, every entry a symbol):
    f is affine in x when its second derivatives in x vanish; the loss (f - y)^2 is convex in W when f is
    affine in W, its Hessian then being 2 grad f grad f^T; (c) repeats both with the centred gamma."""
    m, d = 3, 2
    W = sp.Matrix(m, d, lambda i, j: sp.Symbol(f"w{i}{j}"))
    v, gamma, beta = (sp.Matrix(m, 1, lambda i, _, n=n: sp.Symbol(f"{n}{i}")) for n in ("v", "g", "b"))
    x = sp.Matrix(d, 1, lambda i, _: sp.Symbol(f"x{i}"))
    pre = W * x
    mean_pre = sum(pre) / m

    def verdicts(shift):
        f = sum(v[i] * (pre[i] - shift[i]) / beta[i] for i in range(m))
        affine_in_x = all(sp.diff(f, a, b) == 0 for a in x for b in x)
        if not all(sp.diff(f, a, b) == 0 for a in W for b in W):
            raise ArithmeticError("f is not affine in W: convexity is not decided by this argument")
        return affine_in_x, True

    fixed, centred = verdicts(list(gamma)), verdicts([mean_pre] * m)
    yes = {True: "yes", False: "no"}
    changed = [yes[before != after] for before, after in zip(fixed, centred)]
    return f"(a) {yes[fixed[0]]}; (b) {yes[fixed[1]]}; (c) {changed[0]} for (a), {changed[1]} for (b)"


def test_q33_answer_by_additivity_and_chords():
    """f is affine in x exactly when f(x1) + f(x2) - f(0) = f(x1 + x2) for all x1, x2; the loss is convex in W
    when it lies below its chords: both tested on random instances, for the fixed and the centred gamma."""
    rng = np.random.default_rng(3300)
    found = {}
    for centred in (False, True):
        affine = convex = True
        for _ in range(100):
            p = q33_instance(int(rng.integers(1 << 30)))
            x1, x2, zero = rng.normal(size=3), rng.normal(size=3), np.zeros(3)
            f = lambda x, w=None, p=p, centred=centred: q33_network(p, x, w, centred)
            affine &= abs(f(x1) + f(x2) - f(zero) - f(x1 + x2)) < 1e-9
            w1, w2, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.uniform()
            loss = lambda w, f=f, p=p: (f(p["x"], w) - p["y"]) ** 2
            convex &= loss(t * w1 + (1 - t) * w2) <= t * loss(w1) + (1 - t) * loss(w2) + 1e-9
        found[centred] = (affine, convex)
    yes = {True: "yes", False: "no"}
    expected = (f"(a) {yes[found[False][0]]}; (b) {yes[found[False][1]]}; "
                f"(c) {yes[found[False][0] != found[True][0]]} for (a), {yes[found[False][1] != found[True][1]]} for (b)")
    assert q33_answer() == expected


# --- Q34: GeLU -------------------------------------------------------------------------------


Q34_Z, Q34_C = sp.symbols("z c", real=True)
Q34_SIGMA = sp.Function("sigma")


def q34_logistic(t):
    return 1 / (1 + sp.exp(-t))


@value
def q34_c():
    return Fraction(1702, 1000)


@value
def q34_derivative():
    """phi'(z) = sigma(cz) (1 + cz (1 - sigma(cz))), written with sigma."""
    s = Q34_SIGMA(Q34_C * Q34_Z)
    return s * (1 + Q34_C * Q34_Z * (1 - s))


@value
def q34_derivative_exp():
    """The same derivative written with exponentials: (1 + e^{-cz} + cz e^{-cz}) / (1 + e^{-cz})^2."""
    e = sp.exp(-Q34_C * Q34_Z)
    return (1 + e + Q34_C * Q34_Z * e) / (1 + e) ** 2


@value
def q34_limits():
    """The limits of phi'(z) at -oo and +oo, by sympy on the exponential form (c > 0 symbolic). (Sympy 1.14
    returns 0 at +oo for the sigma form, a wrong value that the numerical test would catch.)"""
    c = sp.Symbol("c", positive=True)
    d = q34_derivative_exp().subs(Q34_C, c)
    return {"minus": sp.limit(d, Q34_Z, -sp.oo), "plus": sp.limit(d, Q34_Z, sp.oo)}


def q34_derivative_numeric(z, c=1.702):
    """phi'(z), evaluated stably for large |z| (expit avoids overflowing e^{-cz})."""
    s = expit(c * z)
    return s * (1 + c * z * expit(-c * z))


@value
def q34_far_points():
    """The distances |z| at which phi' is evaluated far from 0, nearest first."""
    return [10, 20]


@value
def q34_far_values():
    """With c = 1.702 and z running over q34_far_points (same order): phi'(-z), phi'(z), and phi'(z) - 1,
    evaluated stably."""
    points = [float(z) for z in q34_far_points()]
    return {"minus": [float(q34_derivative_numeric(-z)) for z in points],
            "plus": [float(q34_derivative_numeric(z)) for z in points],
            # phi'(z) - 1 = -phi'(-z), by the symmetry phi'(z) + phi'(-z) = 1, without cancellation
            "excess": [-float(q34_derivative_numeric(-z)) for z in points]}


@value
def q34_extremes():
    """Where phi' changes sign, and its minimum and maximum (at the points where phi'' = 0)."""
    c = float(q34_c())
    zero = float(sp.nsolve(1 + sp.Symbol("u") * (1 - q34_logistic(sp.Symbol("u"))), sp.Symbol("u"), -1.3)) / c
    low = minimize_scalar(lambda z: q34_derivative_numeric(z, c), bounds=(-5, 0), method="bounded",
                          options={"xatol": 1e-10})
    return {"zero": zero, "zero_abs": abs(zero), "argmin": float(low.x), "min": float(low.fun), "argmax": -float(low.x),
            "max": float(q34_derivative_numeric(-low.x, c)), "gelu_min": zero * float(expit(c * zero))}


@value
def q34_curve():
    """(z, phi'(z)) on [-4, 4] for the figure."""
    zs = np.linspace(-4, 4, 81)
    return np.column_stack([zs, q34_derivative_numeric(zs)])


def test_q34_derivative_matches_sympy_and_finite_differences():
    z, c = Q34_Z, Q34_C
    phi = z * q34_logistic(c * z)
    for form in (q34_derivative().replace(Q34_SIGMA, q34_logistic), q34_derivative_exp()):
        assert sp.simplify(sp.diff(phi, z) - form) == 0
    rng = np.random.default_rng(34)
    for zz in rng.uniform(-6, 6, 50):
        h = 1e-6
        fd = ((zz + h) * expit(1.702 * (zz + h)) - (zz - h) * expit(1.702 * (zz - h))) / (2 * h)
        assert np.isclose(fd, q34_derivative_numeric(zz), atol=1e-8)


def test_q34_limits_symbolic_and_numeric():
    assert q34_limits() == {"minus": 0, "plus": 1}
    far = {"minus": dict(zip(q34_far_points(), q34_far_values()["minus"])),
           "plus": dict(zip(q34_far_points(), q34_far_values()["plus"])),
           "excess": dict(zip(q34_far_points(), q34_far_values()["excess"]))}
    assert abs(far["minus"][20]) < 1e-12 and abs(far["plus"][20] - 1) < 1e-12
    assert abs(far["minus"][10]) < 1e-5 and abs(far["plus"][10] - 1) < 1e-5
    # high precision, where naive floating point overflows: z = -50 with mpmath
    import mpmath
    mpmath.mp.dps = 50
    z = mpmath.mpf(-50)
    s = 1 / (1 + mpmath.e ** (-1.702 * z))
    value_at = s * (1 + 1.702 * z * (1 - s))
    assert abs(value_at) < mpmath.mpf(10) ** -30
    assert (far["minus"][20] < 0) and (far["plus"][20] > 1)  # approached from below 0 and from above 1
    for z, excess in far["excess"].items():
        assert np.isclose(excess, float(mpmath.mpf(1) - 1) + float((lambda s: s * (1 + 1.702 * z * (1 - s)) - 1)(
            1 / (1 + mpmath.e ** (-1.702 * mpmath.mpf(z))))), rtol=1e-8)


def test_q34_far_values_are_taken_at_the_printed_points():
    points = q34_far_points()
    assert points == [10, 20]
    far = q34_far_values()
    import mpmath
    with mpmath.workdps(50):
        def exact(z):  # phi'(z) in 50-digit arithmetic, c = 1.702
            s = 1 / (1 + mpmath.exp(-mpmath.mpf("1.702") * z))
            return s * (1 + mpmath.mpf("1.702") * z * (1 - s))
        for i, z in enumerate(points):
            assert np.isclose(far["minus"][i], float(exact(mpmath.mpf(-z))), rtol=1e-8, atol=0)
            assert np.isclose(far["excess"][i], float(exact(mpmath.mpf(z)) - 1), rtol=1e-8, atol=0)
            assert np.isclose(far["plus"][i], float(exact(mpmath.mpf(z))), rtol=1e-12)
    # the values depend on the point: farther out they are smaller by orders of magnitude
    assert abs(far["minus"][1]) < 1e-6 * abs(far["minus"][0])
    # the gap to ReLU's derivative is largest at the first point and shrinks beyond it (claim of (c))
    zs = np.linspace(points[0], 60, 5001)
    gap = np.maximum(np.abs(q34_derivative_numeric(zs) - 1), np.abs(q34_derivative_numeric(-zs)))
    assert np.all(np.diff(gap) <= 0) and np.isclose(gap[0], far["excess"][0], rtol=1e-9)


def test_q34_symmetry_and_extremes():
    d = q34_derivative().replace(Q34_SIGMA, q34_logistic)
    assert sp.simplify(d + d.subs(Q34_Z, -Q34_Z) - 1) == 0  # phi'(z) + phi'(-z) = 1
    e = q34_extremes()
    assert abs(q34_derivative_numeric(e["zero"])) < 1e-9 and e["zero_abs"] == -e["zero"]
    assert abs(q34_derivative_numeric(e["zero_abs"]) - 1) < 1e-9
    assert np.isclose(e["min"] + e["max"], 1) and e["min"] < 0 and e["max"] > 1
    grid = np.linspace(-8, 8, 160001)
    values = q34_derivative_numeric(grid)
    assert np.isclose(values.min(), e["min"], atol=1e-9) and np.isclose(grid[values.argmin()], e["argmin"], atol=1e-3)
    gelu = grid * expit(1.702 * grid)
    assert np.isclose(gelu.min(), e["gelu_min"], atol=1e-8)
    assert q34_c() == Fraction(851, 500) and q34_curve().shape == (81, 2)


@value
def q34_answer():
    """(a) and (b) together: the derivative, then its limits at -oo and +oo."""
    limits = q34_limits()
    return (q34_derivative(), limits["minus"], limits["plus"])


def test_q34_answer_by_finite_differences_and_far_points():
    derivative, minus, plus = q34_answer()
    numeric = sp.lambdify(Q34_Z, derivative.replace(Q34_SIGMA, lambda t: 1 / (1 + sp.exp(-t))).subs(Q34_C, 1.702))
    gelu = lambda z: z / (1 + math.exp(-1.702 * z))
    for z in np.linspace(-5, 5, 41):
        h = 1e-6
        assert math.isclose(numeric(z), (gelu(z + h) - gelu(z - h)) / (2 * h), abs_tol=1e-8)
    assert abs(q34_derivative_numeric(-60.0) - minus) < 1e-20 and abs(q34_derivative_numeric(60.0) - plus) < 1e-15


# --- Q35-Q38: EM for a weighted Gaussian mixture ---------------------------------------------


Q35_N, Q35_K, Q35_n = sp.symbols("N K n", integer=True, positive=True)
Q35_k = sp.Symbol("k", integer=True, positive=True)
Q35_W = sp.IndexedBase("w")
Q35_Q = sp.IndexedBase("q")  # q[k, n] stands for q_kn^(t)
Q35_X = sp.IndexedBase("x")
Q35_MU_NEW = sp.Symbol(r"\mu_k^{(t+1)}")


@value
def q35_mu_update():
    n = Q35_n
    return sp.Sum(Q35_W[n] * Q35_Q[Q35_k, n] * Q35_X[n], (n, 1, Q35_N)) / sp.Sum(Q35_W[n] * Q35_Q[Q35_k, n], (n, 1, Q35_N))


@value
def q36_var_update():
    n = Q35_n
    return (sp.Sum(Q35_W[n] * Q35_Q[Q35_k, n] * (Q35_X[n] - Q35_MU_NEW) ** 2, (n, 1, Q35_N))
            / sp.Sum(Q35_W[n] * Q35_Q[Q35_k, n], (n, 1, Q35_N)))


@value
def q37_pi_update():
    n = Q35_n
    return sp.Sum(Q35_W[n] * Q35_Q[Q35_k, n], (n, 1, Q35_N)) / sp.Sum(Q35_W[n], (n, 1, Q35_N))


def q35_instance(seed=35, n=9, k=3):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(-2, 0.5, 3), rng.normal(0.5, 0.7, 3), rng.normal(3, 0.4, n - 6)])
    w = rng.uniform(0.2, 3.0, n)
    q = rng.dirichlet(np.ones(k), size=n)  # any responsibilities with rows summing to one
    return x, w, q


def q35_evaluate(expr, x, w, q, k, mu_new=None):
    """Evaluate one of the printed update formulas for component k on concrete arrays."""
    subs_sum = expr.subs(Q35_N, len(x)).doit()
    values = {Q35_k: k + 1}
    if mu_new is not None:
        values[Q35_MU_NEW] = mu_new
    subs_sum = subs_sum.subs(values)
    table = {}
    for i in range(len(x)):
        table[Q35_X[i + 1]] = x[i]
        table[Q35_W[i + 1]] = w[i]
        for j in range(q.shape[1]):
            table[Q35_Q[j + 1, i + 1]] = q[i, j]
    return float(subs_sum.xreplace(table))


def q35_m_step_objective(params, x, w, q):
    """sum_n w_n sum_k q_kn [log pi_k + log N(x_n | mu_k, sigma_k^2)], with pi = softmax(a), sigma = exp(s)."""
    k = q.shape[1]
    a, mu, s = params[:k], params[k:2 * k], params[2 * k:]
    log_pi = a - logsumexp(a)
    log_n = stats.norm.logpdf(x[:, None], mu[None, :], np.exp(s)[None, :])
    return float(np.sum(w[:, None] * q * (log_pi[None, :] + log_n)))


@value
def q35_numeric_check():
    """The closed-form M-step and a numerical maximiser (BFGS) of the M-step objective on a random instance."""
    x, w, q = q35_instance()
    k = q.shape[1]
    closed = {"mu": [q35_evaluate(q35_mu_update(), x, w, q, j) for j in range(k)],
              "pi": [q35_evaluate(q37_pi_update(), x, w, q, j) for j in range(k)]}
    closed["var"] = [q35_evaluate(q36_var_update(), x, w, q, j, mu_new=closed["mu"][j]) for j in range(k)]
    result = minimize(lambda p: -q35_m_step_objective(p, x, w, q), np.zeros(3 * k), method="BFGS",
                      options={"gtol": 1e-10})
    a, mu, s = result.x[:k], result.x[k:2 * k], result.x[2 * k:]
    numeric = {"mu": list(mu), "var": list(np.exp(2 * s)), "pi": list(np.exp(a - logsumexp(a)))}
    return {"closed": closed, "numeric": numeric}


@value
def q35_check_rows():
    """The check of Q35-Q37 as table rows, one per component."""
    c = q35_numeric_check()
    return [{"k": j + 1, **{f"{side}_{key}": c[side][key][j] for side in ("closed", "numeric") for key in ("mu", "var", "pi")}}
            for j in range(3)]


def test_q35_q36_q37_closed_form_is_the_maximiser():
    c = q35_numeric_check()
    for key in ("mu", "var", "pi"):
        assert np.allclose(c["closed"][key], c["numeric"][key], atol=1e-5), key
    for row in q35_check_rows():
        for key in ("mu", "var", "pi"):
            assert abs(row[f"closed_{key}"] - row[f"numeric_{key}"]) < 1e-5
    x, w, q = q35_instance()
    # the closed forms, rewritten directly with numpy, agree too
    mass = (w[:, None] * q).sum(0)
    assert np.allclose(c["closed"]["mu"], (w[:, None] * q * x[:, None]).sum(0) / mass)
    assert np.allclose(c["closed"]["pi"], mass / w.sum()) and np.isclose(sum(c["closed"]["pi"]), 1)
    # no perturbation of the closed form improves the objective
    params = np.concatenate([np.log(c["closed"]["pi"]), c["closed"]["mu"], 0.5 * np.log(c["closed"]["var"])])
    best = q35_m_step_objective(params, x, w, q)
    rng = np.random.default_rng(350)
    for _ in range(200):
        assert q35_m_step_objective(params + 1e-3 * rng.normal(size=params.size), x, w, q) <= best + 1e-12


def test_q35_q36_q37_printed_formulas_give_the_numerical_maximiser():
    """Evaluate the printed sympy formulas themselves on the random instance and compare with BFGS."""
    x, w, q = q35_instance()
    numeric = q35_numeric_check()["numeric"]
    for j in range(3):
        mu = q35_evaluate(q35_mu_update(), x, w, q, j)
        assert abs(mu - numeric["mu"][j]) < 1e-5
        assert abs(q35_evaluate(q36_var_update(), x, w, q, j, mu_new=mu) - numeric["var"][j]) < 1e-5
        assert abs(q35_evaluate(q37_pi_update(), x, w, q, j) - numeric["pi"][j]) < 1e-5
    assert q35_mu_update().has(Q35_W) and q37_pi_update().has(Q35_Q)


@checks("q35")
def test_q35_gradients_vanish_at_the_closed_form():
    x, w, q = q35_instance()
    c = q35_numeric_check()["closed"]
    for j in range(3):
        r = w * q[:, j]
        assert np.isclose(np.sum(r * (x - c["mu"][j])), 0, atol=1e-10)  # d/dmu_k
        assert np.isclose(np.sum(r * (-0.5 / c["var"][j] + 0.5 * (x - c["mu"][j]) ** 2 / c["var"][j] ** 2)), 0, atol=1e-10)


@checks("q35")
def test_q35_statement_untransposed_density_is_wrong():
    """The Gaussian density of the paper reads exp(-(x - mu) Sigma^{-1} (x - mu) / 2): for d > 1 the
    untransposed product of a column vector, a matrix and a column vector is undefined."""
    diff, sigma_inv = np.ones((2, 1)), np.eye(2)
    try:
        diff @ sigma_inv
        raise AssertionError("the untransposed product should not exist")
    except ValueError:
        pass
    assert (diff.T @ sigma_inv @ diff).shape == (1, 1)


@value
def q38_example():
    """A small one-dimensional data set with integer weights, and a starting two-component mixture."""
    return {"x": [-2, -1, 0, 1, 3, 4], "w": [1, 3, 1, 2, 1, 2],
            "pi": [Fraction(1, 2), Fraction(1, 2)], "mu": [-1, 2], "var": [1, 1]}


@value
def q38_one_step():
    """One EM step on the weighted data, and one unweighted step on the data with x_n repeated w_n times."""
    e = q38_example()
    x = np.array(e["x"], float)[:, None]
    w = np.array(e["w"], float)
    pis, mus = np.array([float(p) for p in e["pi"]]), np.array(e["mu"], float)[:, None]
    covs = np.array(e["var"], float)[:, None, None]
    weighted = gmm_em_step(x, pis, mus, covs, weights=w)
    duplicated = gmm_em_step(np.repeat(x, e["w"], axis=0), pis, mus, covs)
    pack = lambda r: {"pi": list(r[0]), "mu": list(r[1][:, 0]), "var": list(r[2][:, 0, 0])}
    return {"weighted": pack(weighted), "duplicated": pack(duplicated), "n_duplicated": int(sum(e["w"]))}


def test_q38_duplication_reproduces_the_weighted_step_and_objective():
    s = q38_one_step()
    for key in ("pi", "mu", "var"):
        assert np.allclose(s["weighted"][key], s["duplicated"][key], atol=1e-12)
    e = q38_example()
    x = np.array(e["x"], float)[:, None]
    rng = np.random.default_rng(38)
    for _ in range(20):  # the objectives agree for every parameter value, not only after one step
        pis = rng.dirichlet(np.ones(2))
        mus = rng.normal(size=(2, 1))
        covs = rng.uniform(0.3, 3, size=(2, 1, 1))
        assert np.isclose(gmm_loglik(x, pis, mus, covs, weights=np.array(e["w"], float)),
                          gmm_loglik(np.repeat(x, e["w"], axis=0), pis, mus, covs))
    assert s["n_duplicated"] == 10


@value
def q38_answer():
    """Yes when the unweighted objective of the data with x_n repeated w_n times is the weighted one (sympy sums
    the w_n equal terms) and one EM step on the repeated data is the weighted step (on the example)."""
    w, r, term = sp.Symbol("w", integer=True, positive=True), sp.Symbol("r", integer=True), sp.Symbol("ell")
    same_objective = sp.simplify(sp.summation(term, (r, 1, w)) - w * term) == 0
    s = q38_one_step()
    same_step = all(np.allclose(s["weighted"][k], s["duplicated"][k], atol=1e-12) for k in ("pi", "mu", "var"))
    return "Yes" if same_objective and same_step else "No"


def _q38_em_1d(x, w, pi, mu, var, steps):
    """Weighted EM for a one-dimensional mixture, written out for this test (the verify module's uses matrices)."""
    pi, mu, var = (np.array(a, dtype=float) for a in (pi, mu, var))
    for _ in range(steps):
        dens = pi * np.exp(-(x[:, None] - mu) ** 2 / (2 * var)) / np.sqrt(2 * np.pi * var)
        q = w[:, None] * dens / dens.sum(axis=1, keepdims=True)
        mass = q.sum(axis=0)
        pi, mu = mass / w.sum(), (q * x[:, None]).sum(axis=0) / mass
        var = (q * (x[:, None] - mu) ** 2).sum(axis=0) / mass
    return pi, mu, var


def test_q38_answer_by_running_em_on_repeated_data():
    rng = np.random.default_rng(3800)
    agree = True
    for _ in range(10):
        x, w = rng.normal(size=8) * 3, rng.integers(1, 5, size=8)
        start = (rng.dirichlet(np.ones(2)), rng.normal(size=2), rng.uniform(0.5, 2, size=2))
        weighted = _q38_em_1d(x, w.astype(float), *start, steps=5)
        repeated = _q38_em_1d(np.repeat(x, w), np.ones(int(w.sum())), *start, steps=5)
        agree &= all(np.allclose(a, b, atol=1e-10) for a, b in zip(weighted, repeated))
    assert q38_answer() == ("Yes" if agree else "No")


# --- Q39-Q42: diffusion ----------------------------------------------------------------------


@value
def q39_forward_marginal():
    """Mean factor and variance of X_t given X_0 = x_0, by unrolling the recursion symbolically."""
    alpha = sp.Symbol("alpha", positive=True)
    t = sp.Symbol("t", integer=True, nonnegative=True)
    return {"mean_factor": alpha ** t, "variance": 1 - alpha ** (2 * t)}


@value
def q39_simulation():
    """Forward chain with alpha = 9/10 for T = 100 steps from a two-point data distribution in one dimension:
    the final sample mean and variance, and the Kolmogorov-Smirnov p-value against N(0, 1)."""
    rng = np.random.default_rng(39)
    alpha, steps, n = 0.9, 100, 20000
    x = np.where(rng.uniform(size=n) < 0.3, 3.0, -2.0)
    for _ in range(steps):
        x = alpha * x + math.sqrt(1 - alpha ** 2) * rng.normal(size=n)
    return {"alpha": Fraction(9, 10), "steps": steps, "n": n, "mean": float(x.mean()), "var": float(x.var()),
            "ks_pvalue": float(stats.kstest(x, "norm").pvalue), "alpha_t": alpha ** steps}


@value
def q39_invalid_alphas():
    """The transition variance 1 - alpha^2 at alpha = 1 and at alpha = 3/2."""
    return {"one": {"alpha": sp.Integer(1), "variance": 1 - sp.Integer(1) ** 2},
            "above": {"alpha": sp.Rational(3, 2), "variance": 1 - sp.Rational(3, 2) ** 2}}


def test_q39_recursion_gives_the_marginal():
    alpha, t = sp.Symbol("alpha", positive=True), sp.Symbol("t", integer=True, nonnegative=True)
    m = q39_forward_marginal()
    # X_{t+1} = alpha X_t + sqrt(1 - alpha^2) eps: mean factor times alpha, variance alpha^2 var + 1 - alpha^2
    assert sp.simplify(alpha * m["mean_factor"] - m["mean_factor"].subs(t, t + 1)) == 0
    assert sp.simplify(alpha ** 2 * m["variance"] + 1 - alpha ** 2 - m["variance"].subs(t, t + 1)) == 0
    assert m["mean_factor"].subs(t, 0) == 1 and m["variance"].subs(t, 0) == 0
    assert sp.limit(m["variance"].subs(alpha, sp.Rational(9, 10)), t, sp.oo) == 1
    assert sp.limit(m["mean_factor"].subs(alpha, sp.Rational(9, 10)), t, sp.oo) == 0


def test_q39_simulation_ends_standard_normal():
    s = q39_simulation()
    assert abs(s["mean"]) < 0.03 and abs(s["var"] - 1) < 0.03 and s["ks_pvalue"] > 0.01
    assert s["alpha_t"] < 1e-4


def test_q39_statement_alpha_only_positive_is_wrong():
    v = q39_invalid_alphas()
    for case in v.values():
        assert float(case["variance"]) == 1 - float(case["alpha"]) ** 2
    assert v["one"]["variance"] == 0 and v["above"]["variance"] < 0  # alpha = 1 freezes the chain, alpha > 1 is no Gaussian
    rng = np.random.default_rng(390)
    x0 = np.where(rng.uniform(size=5000) < 0.3, 3.0, -2.0)
    x = x0.copy()
    for _ in range(100):
        x = 1.0 * x + 0.0 * rng.normal(size=x.size)
    assert np.array_equal(x, x0)  # with alpha = 1, X_T = X_0 ~ p_data, not N(0, 1)


class _Normal(sp.Function):
    """The normal distribution N(m x_0, s I_d), printed with the chapter's symbol."""

    def _latex(self, printer, exp=None):
        mean, var = self.args
        m = r"\mathbf{0}" if mean == 0 else rf"{printer._print(mean)}\,\mathbf{{x}}_0"
        s = r"\mathbf{I}_d" if var == 1 else rf"{printer._print(var)}\,\mathbf{{I}}_d"
        return rf"\normaldist({m}, {s})"

    def _sympystr(self, printer):
        mean, var = self.args
        m = "0" if mean == 0 else f"{printer._print(mean)}*x_0"
        s = "I_d" if var == 1 else f"{printer._print(var)}*I_d"
        return f"N({m}, {s})"


@value
def q39_limit():
    """The law of X_T as T -> oo, for 0 < alpha < 1: the limits of the mean factor and the variance of X_T given
    X_0 = x_0 (a Gaussian, whatever x_0)."""
    alpha = sp.Symbol("alpha", positive=True)
    t = sp.Symbol("t", integer=True, nonnegative=True)
    marginal = q39_forward_marginal()
    a = sp.Symbol("a", positive=True)  # alpha = 1 / (1 + a): every alpha in (0, 1)
    limit = {k: sp.limit(marginal[k].subs(alpha, 1 / (1 + a)), t, sp.oo) for k in ("mean_factor", "variance")}
    return _Normal(limit["mean_factor"], limit["variance"])


def test_q39_limit_by_simulating_the_chain():
    """The limit's mean and variance against the simulated chain, and against a long chain from a far start."""
    mean, var = q39_limit().args
    s = q39_simulation()
    assert abs(s["mean"] - float(mean)) < 0.03 and abs(s["var"] - float(var)) < 0.03
    rng = np.random.default_rng(3900)
    x = np.full(20000, 50.0)
    for _ in range(300):
        x = 0.95 * x + math.sqrt(1 - 0.95**2) * rng.normal(size=x.size)
    assert abs(x.mean() - float(mean)) < 0.05 and abs(x.var() - float(var)) < 0.05
    assert stats.kstest(x, "norm", args=(float(mean), math.sqrt(float(var)))).pvalue > 0.001


@value
def q40_gaussian_mean_gap():
    """For p_data = N(0, I) (stationary): the exact backward mean is alpha x_{t+1}; the approximate mean
    (2 - alpha) x + (1 - alpha^2) grad log p(x) with grad log p(x) = -x; their difference per unit of x."""
    alpha = sp.Symbol("alpha", positive=True)
    return sp.factor((2 - alpha) - (1 - alpha ** 2) - alpha)


@value
def q40_tweedie_expansion():
    """1/alpha to first order around alpha = 1: the approximation behind the mean (2 - alpha) x."""
    alpha = sp.Symbol("alpha", positive=True)
    return sp.series(1 / alpha, alpha, 1, 2).removeO()


def test_q40_gaussian_backward_mean():
    alpha = sp.Symbol("alpha", positive=True)
    assert sp.expand(q40_gaussian_mean_gap() - (alpha - 1) ** 2) == 0
    assert sp.expand(q40_tweedie_expansion() - (2 - alpha)) == 0
    # exact backward mean for the stationary Gaussian chain, by simulation: E[X_t | X_{t+1}] = alpha X_{t+1}
    rng = np.random.default_rng(40)
    a = 0.8
    xt = rng.normal(size=400000)
    xnext = a * xt + math.sqrt(1 - a * a) * rng.normal(size=xt.size)
    slope = np.sum(xt * xnext) / np.sum(xnext * xnext)
    assert abs(slope - a) < 0.005


Q41_DATA = {"weights": (0.4, 0.6), "means": (-2.0, 1.5), "sds": (0.5, 0.3)}


@value
def q41_setup():
    """One-dimensional check: p_data a two-component Gaussian mixture, alpha^t = 4/5."""
    return {"alpha_t": Fraction(4, 5), "weights": [Fraction(2, 5), Fraction(3, 5)], "means": [-2, Fraction(3, 2)],
            "sds": [Fraction(1, 2), Fraction(3, 10)]}


def q41_marginal(x):
    """Density and score of X_t = a X_0 + s xi, a mixture of N(a m_i, a^2 v_i + s^2)."""
    a = 0.8
    s2 = 1 - a * a
    dens, dens_prime = 0.0, 0.0
    for w, m, sd in zip(*Q41_DATA.values()):
        var = a * a * sd * sd + s2
        comp = w * np.exp(-(x - a * m) ** 2 / (2 * var)) / np.sqrt(2 * np.pi * var)
        dens = dens + comp
        dens_prime = dens_prime - comp * (x - a * m) / var
    return dens, dens_prime / dens


@value
def q41_thetas():
    """Linear score models s(x) = theta_1 x + theta_2 at which both objectives are evaluated."""
    return [(Fraction(-1), Fraction(0)), (Fraction(-2), Fraction(1, 2)), (Fraction(1, 2), Fraction(-1))]


def q41_denoising_objective(t1, t2, nodes=20):
    """(1/2) E_{X_0} E_{X_t | X_0} (t1 X_t + t2 - grad log p(X_t | X_0))^2 by Gauss-Hermite quadrature in
    (u, xi), with X_0 = m + sd u for each mixture component and X_t = a X_0 + s xi (exact: the integrand
    is a polynomial of degree two)."""
    a = 0.8
    s = math.sqrt(1 - a * a)
    u, wu = np.polynomial.hermite_e.hermegauss(nodes)
    wu = wu / wu.sum()
    total = 0.0
    for w, m, sd in zip(*Q41_DATA.values()):
        x0 = m + sd * u[:, None]
        xi = u[None, :]
        xt = a * x0 + s * xi
        target = -(xt - a * x0) / (s * s)
        total += w * float(np.sum(wu[:, None] * wu[None, :] * 0.5 * (t1 * xt + t2 - target) ** 2))
    return total


@value
def q41_objectives():
    """For each theta: the explicit objective (1/2) E (grad log p(X_t) - s(X_t))^2 (quadrature with the
    exact marginal score), the denoising objective (Gauss-Hermite quadrature), and their difference."""
    out = []
    for t1, t2 in q41_thetas():
        t1, t2 = float(t1), float(t2)
        explicit = integrate.quad(lambda x: 0.5 * q41_marginal(x)[0] * (q41_marginal(x)[1] - t1 * x - t2) ** 2,
                                  -12, 12, limit=200, epsabs=1e-12, epsrel=1e-12)[0]
        denoising = q41_denoising_objective(t1, t2)
        out.append({"explicit": explicit, "denoising": denoising, "difference": explicit - denoising})
    return out


def _q41_noised_samples(seed: int, n: int, a: float = 0.8):
    """n draws of x_0 from the data mixture and of the noise xi: (xi, x_t = a x_0 + s xi, s = sqrt(1 - a^2))."""
    rng = np.random.default_rng(seed)
    s = math.sqrt(1 - a * a)
    comp = rng.uniform(size=n) < Q41_DATA["weights"][0]
    x0 = np.where(comp, rng.normal(Q41_DATA["means"][0], Q41_DATA["sds"][0], n),
                  rng.normal(Q41_DATA["means"][1], Q41_DATA["sds"][1], n))
    xi = rng.normal(size=n)
    return xi, a * x0 + s * xi, s


def _q41_binned_targets():
    """The bin centres in [-5/2, 2] (bins of width 1/10) and, in each, the average of the denoising targets
    -xi / s over 10^6 samples of x_t: the best denoising predictor over all functions, E[target | X_t = x]."""
    xi, xt, s = _q41_noised_samples(seed=410, n=1_000_000)
    edges = np.linspace(-2.5, 2.0, 46)
    which = np.digitize(xt, edges) - 1
    inside = (which >= 0) & (which < len(edges) - 1)
    sums = np.bincount(which[inside], weights=(-xi / s)[inside], minlength=len(edges) - 1)
    counts = np.bincount(which[inside], minlength=len(edges) - 1)
    return (edges[1:] + edges[:-1]) / 2, sums / counts


@value
def q41_learned_score_error():
    """The best denoising predictor over all functions is the regression function E[target | X_t = x];
    estimated by averaging the targets -xi / s in bins of width 1/10 of x_t (10^6 samples), its largest gap
    to the true marginal score at the bin centres in [-5/2, 2] (where the data are)."""
    centres, means = _q41_binned_targets()
    return float(np.abs(means - q41_marginal(centres)[1]).max())


@value
def q41_score_figure():
    """The true marginal score of X_t (line), the averaged denoising targets of q41_learned_score_error
    (dots), and the density of X_t (shaded, on its own scale): the denoising regression learns the score
    where the data lie."""
    fig = matplotlib.figure.Figure(figsize=(4.8, 2.5))
    ax = fig.subplots()
    density = ax.twinx()
    x = np.linspace(-3.5, 3.0, 261)
    dens, score = q41_marginal(x)
    density.fill_between(x, dens, color=SOLRULE, alpha=0.25, linewidth=0)
    density.set_ylim(0, 2.2 * dens.max())
    density.set_yticks([])
    density.set_ylabel(r"density $p(x_t)$", color="0.45")
    centres, means = _q41_binned_targets()
    ax.plot(x, score, color=SOLACCENT, label=r"score $\nabla\,\log p(x_t)$")
    ax.plot(centres, means, "o", color=ERRATA, markersize=2.6,
            label=r"mean of the targets $\nabla\,\log p(x_t \mid x_0)$ near $x_t$")
    ax.set_zorder(density.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.axhline(0, color="0.7", linewidth=0.5)
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel(r"$x_t$")
    ax.set_ylabel("score")
    ax.legend(loc="upper right", frameon=False)
    return fig


@checks("q41")
def test_q41_score_identity_by_quadrature():
    """grad log p(x_t) = E[grad log p(x_t | X_0) | X_t = x_t], at a few points."""
    a, s2 = 0.8, 0.36

    def p0(x0):
        return sum(w * stats.norm.pdf(x0, m, sd) for w, m, sd in zip(*Q41_DATA.values()))

    for x in (-2.0, -0.5, 0.7, 1.5):
        num = integrate.quad(lambda x0: p0(x0) * stats.norm.pdf(x, a * x0, math.sqrt(s2)) * (-(x - a * x0) / s2), -8, 8, limit=200)[0]
        den = integrate.quad(lambda x0: p0(x0) * stats.norm.pdf(x, a * x0, math.sqrt(s2)), -8, 8, limit=200)[0]
        assert np.isclose(num / den, q41_marginal(x)[1], rtol=1e-6)
        h = 1e-5
        assert np.isclose((np.log(q41_marginal(x + h)[0]) - np.log(q41_marginal(x - h)[0])) / (2 * h), q41_marginal(x)[1], rtol=1e-5)


def test_q41_objectives_differ_by_a_constant():
    rows = q41_objectives()
    diffs = [r["difference"] for r in rows]
    assert max(diffs) - min(diffs) < 1e-7  # the same constant for every theta
    assert rows[1]["explicit"] - rows[0]["explicit"] > 0.1  # while the objectives themselves vary a lot
    # the constant is (1/2) E||grad log p(X_t)||^2 - (1/2) E||grad log p(X_t|X_0)||^2 = (1/2) J - 1/(2 s^2)
    fisher = integrate.quad(lambda x: q41_marginal(x)[0] * q41_marginal(x)[1] ** 2, -12, 12, limit=200)[0]
    assert abs(np.mean(diffs) - (0.5 * fisher - 0.5 / 0.36)) < 1e-7
    # Monte Carlo of the denoising objective agrees with the quadrature
    xi, xt, sd_t = _q41_noised_samples(seed=41, n=400_000)
    for (t1, t2), r in zip(q41_thetas(), rows):
        mc = 0.5 * np.mean((float(t1) * xt + float(t2) + xi / sd_t) ** 2)
        assert abs(mc - r["denoising"]) < 0.02
    setup = q41_setup()
    assert setup["alpha_t"] == Fraction(4, 5)
    for key in ("weights", "means", "sds"):  # the printed parameters are those simulated
        assert [float(v) for v in setup[key]] == list(Q41_DATA[key])


def test_q41_denoising_regression_learns_the_marginal_score():
    assert q41_learned_score_error() < 0.15


@value
def q42_score_substituted():
    """grad log p(x_t | x_0) after substituting x_t = alpha^t x_0 + sqrt(1 - alpha^{2t}) xi."""
    alpha, t, x0, xi = sp.symbols("alpha t x_0 xi", positive=True)
    sigma_t = sp.sqrt(1 - alpha ** (2 * t))
    xt = alpha ** t * x0 + sigma_t * xi
    return sp.simplify(-(xt - alpha ** t * x0) / (1 - alpha ** (2 * t)))


@value
def q42_loss_factor():
    """(1/2)(s - grad log p)^2 with s = -xi_hat / sigma_t equals this factor times (1/2)(xi_hat - xi)^2."""
    alpha, t, xi, xi_hat = sp.symbols("alpha t xi xihat", positive=True)
    sigma_t = sp.sqrt(1 - alpha ** (2 * t))
    ratio = sp.simplify(((-xi_hat / sigma_t) - q42_score_substituted().subs(sp.Symbol("xi", positive=True), xi)) ** 2
                        / (xi_hat - xi) ** 2)
    factor = 1 / (1 - alpha ** (2 * t))
    if sp.simplify(ratio - factor) != 0:
        raise ValueError(f"unexpected factor {ratio}")
    return factor


def test_q42_noise_prediction_form():
    alpha, t, xi = sp.symbols("alpha t xi", positive=True)
    assert sp.simplify(q42_score_substituted() + xi / sp.sqrt(1 - alpha ** (2 * t))) == 0
    assert sp.simplify(q42_loss_factor() - 1 / (1 - alpha ** (2 * t))) == 0
    # Monte Carlo: the two losses differ by exactly that factor for a crude noise predictor
    rng = np.random.default_rng(42)
    a_t, n = 0.8, 100000
    x0, xi_s = rng.normal(1.0, 0.5, n), rng.normal(size=n)
    s = math.sqrt(1 - a_t ** 2)
    xt = a_t * x0 + s * xi_s
    xi_hat = 0.5 * xt  # any predictor
    score_loss = np.mean((-xi_hat / s + (xt - a_t * x0) / s ** 2) ** 2)
    noise_loss = np.mean((xi_hat - xi_s) ** 2)
    assert np.isclose(score_loss, noise_loss / s ** 2, rtol=1e-10)


# =============================================================================================
# Independent checks of printed values, question by question (each compares a printed number with a
# computation that does not share the value's code path, or a given with the exam's statement)
# =============================================================================================


def test_q1_q2_options_are_the_exams():
    # the source's given: the options of Q1 and Q2 in the exam's order (shared/seeds, questions 1 and 2), with the
    # exam's data-set letters A, B, C renamed D1, D2, D3 (the option letters (A)-(G) would clash with them)
    renamed = {"A": "D1", "B": "D2", "C": "D3"}

    def rename(options):
        return [o if o == "equal" else tuple(renamed[name] for name in o) for o in options]
    assert q1_options() == rename([("B", "A", "C"), ("B", "C", "A"), "equal", ("A", "C", "B"), ("C", "B", "A"),
                                   ("A", "B", "C"), ("C", "A", "B")])
    assert q2_options() == rename([("A", "C", "B"), ("B", "C", "A"), ("A", "B", "C"), ("C", "A", "B"),
                                   ("B", "A", "C"), "equal", ("C", "B", "A")])


def test_fig1_off_model_table_entrywise_by_numpy():
    for name, points in fig1_data().items():
        xy = np.array(points)
        off = xy[xy[:, 1] != xy[:, 0]]
        printed = fig1_off_model()[name]
        assert [(p["x"], p["y"], p["r"]) for p in printed] == [(int(a), int(b), int(b - a)) for a, b in off]


def test_q3_wide_grid_optimisers_by_vectorised_brute_force():
    x, y = np.array(q3_data()["x"], float), np.array(q3_data()["y"], float)
    b = float(q3_b())
    grid = np.linspace(-8, 8, 1601)  # step 1/100, the printed step
    residuals = np.abs(y[None, :] - grid[:, None] * x[None, :]).sum(1)
    loglik = len(x) * -math.log(2 * b) - residuals / b
    brute = {"A": grid[residuals.argmin()], "B": grid[(residuals / b).argmin()], "C": grid[loglik.argmax()],
             "D": grid[loglik.argmin()]}
    wide = q3_grid_optimisers_wide()
    for letter, w in brute.items():
        assert abs(float(wide[letter]) - w) < 1e-9, letter


Q4_SYMBOL = sp.Symbol("w", real=True)
# the printed LaTeX of each loss, read as a sympy expression (a misprinted name finds no entry)
Q4_PRINTED_AS = {"(w-1)^2": (Q4_SYMBOL - 1) ** 2, "e^{w} - 2w": sp.exp(Q4_SYMBOL) - 2 * Q4_SYMBOL,
                 "w^4 + w": Q4_SYMBOL ** 4 + Q4_SYMBOL, r"\log\cosh(w-2)": sp.log(sp.cosh(Q4_SYMBOL - 2))}


def test_q4_printed_losses_are_the_functions_tested():
    w = Q4_SYMBOL
    for name, (_, loss, grad, w_star) in zip(q4_losses(), q4_loss_table()):
        expr = Q4_PRINTED_AS[str(name)]
        for point in (-1.3, 0.2, 0.9, 2.5):
            assert np.isclose(float(expr.subs(w, point)), loss(point), rtol=1e-12)
            assert np.isclose(float(sp.diff(expr, w).subs(w, point)), grad(point), rtol=1e-12)
        assert abs(float(sp.nsolve(sp.diff(expr, w), w, w_star + 0.1)) - w_star) < 1e-9  # the stated minimiser
        # convex, with L'' vanishing at most at isolated points (w^4 + w at 0): strictly convex
        assert all(float(sp.diff(expr, w, 2).subs(w, t)) >= 0 for t in np.linspace(-3, 3, 13))


def test_q4_overshoot_numbers_by_sympy():
    o = q4_overshoot()
    w = Q4_SYMBOL
    loss = w ** 2
    w_next = sp.Rational(o["w_t"]) - sp.Rational(o["gamma"]) * sp.diff(loss, w).subs(w, sp.Rational(o["w_t"]))
    assert w_next == sp.Rational(o["w_next"])
    assert abs(w_next) == o["gap_after"] and abs(sp.Rational(o["w_t"])) == o["gap_before"]


def q5_gd_by_tanh(steps, checkpoints):
    """Gradient descent on the mean logistic loss, written with sigma(-m) = (1 - tanh(m / 2)) / 2."""
    x, y = q5_arrays()
    theta, out = np.zeros(2), {}
    for t in range(1, steps + 1):
        margins = y * (x @ theta)
        theta = theta + ((0.5 * (1 - np.tanh(margins / 2)) * y)[:, None] * x).sum(0) / len(y)
        if t in checkpoints:
            out[t] = theta.copy()
    return out


def test_q5_norms_and_angle_by_an_independent_gradient_descent():
    x, y = q5_arrays()
    rng = np.random.default_rng(55)
    for theta in rng.normal(size=(5, 2)):  # the gradient formula, against central differences
        fd = [(logistic_loss(theta + h, x, y) - logistic_loss(theta - h, x, y)) / 2e-6 for h in np.eye(2) * 1e-6]
        assert np.allclose(fd, logistic_gradient(theta, x, y), atol=1e-8)
    iterates = q5_gd_by_tanh(10_000, (10, 100, 1000, 10_000))
    for t, norm in q5_gd_norms().items():
        assert abs(norm - np.linalg.norm(iterates[t])) < 1e-9
    w, _ = hard_svm(x, y, bias=False)  # the max-margin direction by a numerical SVM
    theta = iterates[10_000]
    angle = math.degrees(math.acos(theta @ w / np.linalg.norm(theta) / np.linalg.norm(w)))
    assert abs(q5_gd_angle_to_max_margin() - angle) < 1e-3  # the SVM solver is accurate to about 1e-6


def test_q5_other_separator_angle_exactly():
    # the angle between (1, 1) and (5/8, 1/2) is 45 degrees minus atan(4/5)
    exact = 45 - sp.atan(sp.Rational(4, 5)) * 180 / sp.pi
    assert abs(q5_other_separator_angle() - float(exact)) < 1e-9


def test_q5_nonseparable_fits_exactly_and_by_newton():
    fits = q5_nonseparable_fits()
    d = q5_separable_data()
    rows = [[sp.Rational(a), sp.Rational(b)] for a, b in d["x"]] + [[2, 2]]
    labels = sp.Matrix(d["y"] + [-1])
    design = sp.Matrix(rows)
    exact_ls = (design.T * design).solve(design.T * labels)  # normal equations in rationals
    assert np.allclose(fits["ls"], [float(v) for v in exact_ls], atol=1e-12)
    # Newton's method on the logistic loss (its Hessian written out), from zero
    x, y = q5_arrays(extra_point=True)
    theta = np.zeros(2)
    for _ in range(50):
        p = expit(y * (x @ theta))
        grad = -(x * (y * (1 - p))[:, None]).mean(0)
        hess = (x.T * (p * (1 - p))) @ x / len(y)
        theta = theta - np.linalg.solve(hess, grad)
    assert np.allclose(fits["lr"], theta, atol=1e-7)
    # the gradient norm at the least-squares weights, summed term by term in plain floats
    ls = [float(v) for v in exact_ls]
    terms = [[-yy * xx[j] / (1 + math.exp(yy * (xx[0] * ls[0] + xx[1] * ls[1]))) for xx, yy in zip(x, y)]
             for j in range(2)]
    assert abs(fits["grad_ls"] - math.hypot(*(math.fsum(t) / len(y) for t in terms))) < 1e-12


def test_q6_slopes_by_brute_force_distances():
    from scipy.spatial.distance import cdist
    dims = q6_dimensions()
    for p, slope in q6_nn_slopes().items():
        sample = q6_plane_sampler(dims["d"], p, seed=60 + p)  # the same samples, drawn in the same order
        means = []
        for n in dims["n"]:
            train, test = sample(n), sample(1000)
            means.append(cdist(test, train).min(1).mean())
        design = np.column_stack([np.log(dims["n"]), np.ones(len(dims["n"]))])
        fitted = np.linalg.lstsq(design, np.log(means), rcond=None)[0][0]
        assert abs(slope - fitted) < 1e-9


def test_q7_option_losses_in_exact_arithmetic():
    d = q7_data()
    x = [tuple(Fraction(v) for v in p) for p in d["x"]]
    w = [Fraction(v) for v in d["w"]]
    mu = [tuple(Fraction(v) for v in c) for c in d["mu"]]

    def sq(a, b):
        return sum((ai - bi) ** 2 for ai, bi in zip(a, b))

    exact = {}
    for option in "ABCD":
        if option in "AB":  # argmin_k w_n ||x_n - mu_k||^2
            labels = [min(range(2), key=lambda k: wn * sq(xn, mu[k])) for xn, wn in zip(x, w)]
        else:
            labels = [min(range(2), key=lambda k: sq(xn, mu[k])) for xn in x]
        centres = []
        for k in range(2):
            members = [(xn, wn) for xn, wn, label in zip(x, w, labels) if label == k]
            if option in "AC":
                centres.append(tuple(sum(xn[j] for xn, _ in members) / len(members) for j in range(2)))
            elif option == "B":
                centres.append(tuple(sum(wn * xn[j] for xn, wn in members) / len(members) for j in range(2)))
            else:
                total = sum(wn for _, wn in members)
                centres.append(tuple(sum(wn * xn[j] for xn, wn in members) / total for j in range(2)))
        exact[option] = sum(wn * sq(xn, centres[label]) for xn, wn, label in zip(x, w, labels))
    losses = q7_option_losses()
    for option, expected in exact.items():
        assert abs(losses[option] - expected) < 1e-9, option


def test_q8_plotted_data_are_the_data_analysed():
    results = q8_results()
    for name, d in q8_datasets().items():
        cost = 0.0
        for cluster, centre in zip(d["clusters"], d["centres"]):
            assert np.allclose(centre, cluster.sum(0) / len(cluster), atol=1e-12)
            # within-cluster sum of squares by the pairwise formula sum_{i<j} |x_i - x_j|^2 / n
            gaps = cluster[:, None, :] - cluster[None, :, :]
            cost += (gaps ** 2).sum() / 2 / len(cluster)
        assert abs(cost - results[name]["true_cost"]) < 1e-8, name
        assert all(cluster.shape == (30, 2) for cluster in d["clusters"])


def test_q8_misassigned_points_by_brute_force():
    d = q8_datasets()["D4"]
    expected = []
    for own, cluster in enumerate(d["clusters"]):
        for point in cluster:
            distances = [math.dist(point, c) for c in d["centres"]]
            if min(range(3), key=distances.__getitem__) != own:
                expected.append(point)
    assert np.allclose(q8_d4_misassigned_points(), np.array(expected), atol=1e-12)


def test_q8_plot_box_frames_the_data():
    # the printed window is the plotted one: every point of every stand-in lies at least 1 unit inside it
    # (no mark is clipped) and at most 2.5 units from each side (the clusters fill the panel)
    points = np.vstack([np.vstack(d["clusters"]) for d in q8_datasets().values()])
    box = q8_plot_box()
    margins = [points[:, 0].min() - box["xmin"], box["xmax"] - points[:, 0].max(),
               points[:, 1].min() - box["ymin"], box["ymax"] - points[:, 1].max()]
    assert all(1 <= m <= 2.5 for m in margins), margins


def test_rounding_exponents_are_true_bounds():
    # each printed "below 10^-k" holds, and k is the tightest such power (so k + 1 would be false)
    for measured, k in ((q9_measurements()["relu_change"], q9_relu_change_exponent()),
                        (q13_gaps()["least_squares"], q13_least_squares_gap_exponent()),
                        (q14_gaps()["with_bias"], q14_with_bias_gap_exponent()),
                        (q32_results()["max_gap"], q32_max_gap_exponent()),
                        (q33_hessian_spectrum()["fixed"]["min"], q33_hessian_min_exponents()["fixed"]),
                        (q33_hessian_spectrum()["centred"]["min"], q33_hessian_min_exponents()["centred"])):
        assert Fraction(abs(measured)) < Fraction(1, 10 ** k)
        assert k >= 6  # rounding (or finite-difference rounding) level, as the text says
    assert rounding_exponent(0.05) == 1 and rounding_exponent(0.1) == 0 and rounding_exponent(-3e-7) == 6


def test_q11_truth_by_conditioning_on_the_inputs():
    """Given the inputs x, h_S is linear in y: h = sum_i l_i y_i with l_i = 1/n + (x_i - xbar)(x0 - xbar)/Sxx, so
    E[(f0 + eps g0 - h)^2 | x] = sigma^2 g0^2 + (f0 - sum_i l_i f(x_i))^2 + sigma^2 sum_i l_i^2 g(x_i)^2 exactly.
    Averaging this over the simulated inputs leaves only the Monte Carlo error of the noise, whose standard
    error is computed here (about 0.004: h has heavy tails when the inputs bunch up, which is why the estimate
    is printed to two decimals); the printed estimate must agree within 2.5 standard errors, below 0.01."""
    s = q11_setup()
    sigma, x0, n, runs = float(s["sigma"]), float(s["x0"]), s["n"], s["runs"]
    rng = np.random.default_rng(11)
    x = rng.uniform(size=(runs, n))  # the inputs of the simulation (drawn first from its generator)
    xm = x.mean(1, keepdims=True)
    weights = 1 / n + (x - xm) * (x0 - xm) / ((x - xm) ** 2).sum(1, keepdims=True)
    f0, g0 = math.sin(2 * math.pi * x0), 1 + x0
    conditional = (sigma * g0) ** 2 + (f0 - (weights * np.sin(2 * np.pi * x)).sum(1)) ** 2 \
        + sigma ** 2 * (weights ** 2 * (1 + x) ** 2).sum(1)
    h, eps = q11_simulate(11)
    assert len(h) == runs
    per_run = (f0 + eps * g0 - h) ** 2
    standard_error = np.std(per_run - conditional) / math.sqrt(runs)
    assert 2.5 * standard_error < 0.01  # tighter than a unit of the printed second decimal
    assert abs(q11_estimates()["truth"] - conditional.mean()) < 2.5 * standard_error
    assert abs(q11_estimates()["truth"] - per_run.mean()) < 1e-12  # the printed setup is the one simulated


def test_q14_without_bias_gap_by_lstsq():
    x, y, x_test = q13_problem()
    m = x.mean(0)
    centred = (x_test - m) @ np.linalg.lstsq(x - m, y, rcond=None)[0]
    plain = x_test @ np.linalg.lstsq(x, y, rcond=None)[0]
    assert abs(q14_gaps()["without_bias"] - np.abs(centred - plain).max()) < 1e-8


def test_q15_errors_by_a_legendre_basis():
    from numpy.polynomial import legendre
    x, y, x_test, y_test = q15_problem()
    for degree, e in q15_errors().items():
        coefficients = legendre.legfit(x, y, degree)
        train = np.mean((legendre.legval(x, coefficients) - y) ** 2)
        test = np.mean((legendre.legval(x_test, coefficients) - y_test) ** 2)
        assert abs(e["train"] - train) < 1e-8 and abs(e["test"] - test) < 1e-6 * test, degree


def test_q16_condition_numbers_and_ridge_by_svd_and_coordinate_descent():
    x, y = q16_problem()
    f = q16_facts()
    singular = np.linalg.svd(x, compute_uv=False)
    assert abs(f["cond_plain"] / (singular[0] / singular[-1]) ** 2 - 1) < 1e-6
    ridge = np.linalg.lstsq(np.vstack([x, np.eye(6)]), np.concatenate([y, np.zeros(6)]), rcond=None)[0]
    assert abs(f["ridge_smallest"] / np.abs(ridge).min() - 1) < 1e-6
    # the lasso with the printed penalty by cyclic coordinate descent: the same exact zeros
    lam, w = f["lasso_lambda"], np.zeros(6)
    for _ in range(3000):
        for j in range(6):
            rho = x[:, j] @ (y - x @ w + x[:, j] * w[j])
            w[j] = np.sign(rho) * max(abs(rho) - lam / 2, 0) / (x[:, j] @ x[:, j])
    assert int(np.sum(w == 0)) == f["lasso_zeros"]


def test_q17_losses_by_closed_form_and_batched_sgd():
    x, y = q17_problem()
    budget = q17_budget()
    n = budget["n"]
    losses = q17_losses()
    assert abs(losses["initial"] - y @ y / (2 * n)) < 1e-12
    # k steps of gradient descent with step 1/L from 0: w_k = (I - (I - H / L)^k) H^-1 b
    hessian, b = x.T @ x / n, x.T @ y / n
    eig, vec = np.linalg.eigh(hessian)
    factor = 1 - (1 - eig / eig.max()) ** budget["epochs"]
    w = vec @ (factor / eig * (vec.T @ b))
    assert abs(losses["gd"] - np.mean((x @ w - y) ** 2) / 2) < 1e-12
    rng = np.random.default_rng(170)
    w = np.zeros(10)
    for _ in range(budget["epochs"]):
        for idx in rng.permutation(n).reshape(-1, budget["batch"]):  # n / batch mini-batches per pass
            w -= 0.5 * np.mean((x[idx] @ w - y[idx])[:, None] * x[idx], axis=0)
    assert abs(losses["sgd"] - np.mean((x @ w - y) ** 2) / 2) < 1e-12


def test_q21_gram_eigenvalue_and_truncation_in_high_precision():
    import mpmath
    with mpmath.workdps(30):
        points = [mpmath.mpf(v) for v in q21_points()]
        gram = mpmath.matrix([[mpmath.exp(-(a - b) ** 2 / 2) for b in points] for a in points])
        smallest = min(mpmath.eigsy(gram)[0])
        assert abs(q21_gram_min_eigenvalue() - float(smallest)) < 1e-10
        x, xp = mpmath.mpf(1), mpmath.mpf("1.5")
        for k, error in q21_truncation_errors().items():
            # the tail of exp(x x') = sum_j (x x')^j / j!, times exp(-(x^2 + x'^2) / 2)
            tail = mpmath.exp(-(x * x + xp * xp) / 2) * mpmath.nsum(lambda j: (x * xp) ** j / mpmath.factorial(j),
                                                                  [k + 1, mpmath.inf])
            assert abs(error / float(tail) - 1) < 1e-6, k


def em_1d_by_log_responsibilities(x, means, variances, pis, iterations):
    """Textbook one-dimensional EM with log-space responsibilities (independent of gmm_em_step)."""
    means, variances, pis = (np.array(v, float) for v in (means, variances, pis))
    for _ in range(iterations):
        log_joint = np.log(pis) + stats.norm.logpdf(x[:, None], means, np.sqrt(variances))
        resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
        mass = resp.sum(0)
        means = (resp * x[:, None]).sum(0) / mass
        variances = (resp * (x[:, None] - means) ** 2).sum(0) / mass
        pis = mass / len(x)
    loglik = logsumexp(np.log(pis) + stats.norm.logpdf(x[:, None], means, np.sqrt(variances)), axis=1).sum()
    return means, loglik


def test_q24_runs_and_degenerate_likelihood_independently():
    x = q24_sample()
    runs = q24_runs()
    starts = {"good": ([-10, 0, 10], [1, 1, 1], [1 / 3] * 3), "bad": ([-10.5, -9.5, 5], [0.5, 0.5, 25], [0.25, 0.25, 0.5])}
    for name, (m, v, p) in starts.items():
        means, loglik = em_1d_by_log_responsibilities(x, m, v, p, 300)
        assert np.allclose(runs[name]["means"], means, atol=1e-6) and abs(runs[name]["loglik"] - loglik) < 1e-6
    for k, printed in q24_degenerate().items():
        sds = np.array([10.0 ** -k, 1.0, 10.0])
        loglik = logsumexp(np.log(1 / 3) + stats.norm.logpdf(x[:, None], [x[0], 0.0, 0.0], sds), axis=1).sum()
        assert abs(printed - loglik) < 1e-6, k


def test_q25_values_exactly():
    m = q25_mixture()
    x = sp.Integer(m["x"])
    joint = [sp.Rational(p) / (sp.Rational(s) * sp.sqrt(2 * sp.pi)) * sp.exp(-(x - mu) ** 2 / (2 * sp.Rational(s) ** 2))
             for p, mu, s in zip(m["pi"], m["mu"], m["sigma"])]
    v = q25_values()
    total = sum(joint)
    assert all(abs(a - float(b)) < 1e-12 for a, b in zip(v["joint"], joint))
    assert abs(v["total"] - float(total)) < 1e-12
    assert all(abs(a - float(b / total)) < 1e-12 for a, b in zip(v["posterior"], joint))


def test_q28_results_by_a_continuous_optimiser():
    m = q28_model()
    p, d, eta, eps = float(m["p"]), m["d"], float(m["eta"]), float(m["eps"])

    def phi(z):
        return 0.5 * math.erfc(-z / math.sqrt(2))

    def accuracy(t, robust):
        a, b = math.cos(t), math.sin(t)
        shift = eps * (a + d * b) if robust else 0.0
        sd = b * math.sqrt(d)
        return p * phi((a + b * d * eta - shift) / sd) + (1 - p) * phi((-a + b * d * eta - shift) / sd)

    best = minimize_scalar(lambda t: -accuracy(t, False), bounds=(1e-6, math.pi / 2), method="bounded",
                           options={"xatol": 1e-10})
    r = q28_results()["standard_fit"]
    # the grid of 2001 angles is within 4e-4 rad of the optimum: the accuracies agree to well below 0.03 %
    assert abs(r["standard"] - accuracy(best.x, False)) < 1e-6
    assert abs(r["robust"] - accuracy(best.x, True)) < 1e-4


def test_q29_counterexample_by_sympy():
    w, z = sp.symbols("W Z", real=True)
    objective = 1 * w * z * 1  # y W Z^T x with y = 1, x = e_1 and f the identity
    c = q29_counterexample()
    assert (c["first"], c["second"], c["midpoint"]) == (objective.subs({w: 1, z: -1}), objective.subs({w: -1, z: 1}),
                                                        objective.subs({w: 0, z: 0}))


def q30_hoeffding_radius(n, delta, hypotheses=1):
    """The t with 2 K exp(-2 n t^2) = delta, found by root finding (not by the closed form)."""
    from scipy.optimize import brentq
    return brentq(lambda t: 2 * hypotheses * math.exp(-2 * n * t * t) - float(delta), 0, 1, xtol=1e-15)


def q30_nn_errors_by_kd_tree(seed):
    """Per training set of the simulation: the true error of 1-NN, the validation errors of 1-NN and of the
    constant 0, and const_true. The true error is integrated exactly: the 1-NN prediction can change only at a
    midpoint of two consecutive training points, so it is constant on each interval between those candidate
    breakpoints; a k-d tree predicts at the centre of each interval, weighted by its length."""
    s = q30_setup()
    rng = np.random.default_rng(seed)
    p = float(s["p_one"])
    rows = []
    for _ in range(s["repeats"]):  # the same draws, in the same order, as the simulation
        x = rng.uniform(size=s["n"])
        labels = (rng.uniform(size=s["n"]) < p).astype(int)
        x_val = rng.uniform(size=s["n"])
        labels_val = (rng.uniform(size=s["n"]) < p).astype(int)
        tree = cKDTree(x[:, None])
        xs = np.sort(x)
        cuts = np.concatenate([[0.0], (xs[1:] + xs[:-1]) / 2, [1.0]])
        predicted = labels[tree.query(((cuts[1:] + cuts[:-1]) / 2)[:, None])[1]]
        rows.append({"nn_true": float(np.sum(np.diff(cuts) * np.where(predicted == 1, 1 - p, p))),
                     "nn_val": float(np.mean(labels[tree.query(x_val[:, None])[1]] != labels_val)),
                     "const_val": float(labels_val.mean()), "const_train": float(labels.mean())})
    return rows


def test_q30_threshold_and_results_independently():
    s = q30_setup()
    assert abs(q30_threshold() - q30_hoeffding_radius(s["n"], s["delta"])) < 1e-12
    rows = q30_nn_errors_by_kd_tree(30)
    assert len(rows) == s["repeats"]
    assert abs(q30_results()["mean_gap"] - np.mean([r["nn_true"] for r in rows])) < 1e-9
    assert q30_results()["violation_rate"] == np.mean([r["nn_true"] >= q30_threshold() for r in rows])


def test_q31_threshold_and_results_independently():
    s = q30_setup()
    # union bound over K = 2 values of k, and the factor 2 of comparing two estimates
    assert abs(q31_threshold() - 2 * q30_hoeffding_radius(s["n"], s["delta"], hypotheses=2)) < 1e-12
    rows = q30_nn_errors_by_kd_tree(31)
    p = float(s["p_one"])
    r = q31_results()
    by_train = [row["nn_true"] if 0.0 < row["const_train"] else p for row in rows]
    assert abs(r["mean_selected_true_error"] - np.mean(by_train)) < 1e-9
    by_val = [row["nn_true"] if row["nn_val"] < row["const_val"] else p for row in rows]
    best = [min(row["nn_true"], p) for row in rows]
    assert r["val_rate"] == np.mean([a >= b + q31_threshold() for a, b in zip(by_val, best)])


def test_q32_wrong_predictions_prefix_by_prefix():
    params, tokens = q32_params()
    r = q32_results()
    assert r["length"] == len(tokens) == params[1].shape[0]  # the sequence fills the position table
    wrong = sum(int(causal_lm_logits(tokens[:t + 1], params)[t].argmax() != tokens[t + 1]) for t in range(len(tokens) - 1))
    assert r["wrong_predictions"] == wrong


def test_q33_printed_numbers_by_closed_forms():
    p = q33_instance(33)
    a = p["v"] / p["beta"]
    centred = a - a.mean()  # f = sum_j (a_j - mean(a)) w_j.x once gamma is the mean pre-activation
    s = q33_hessian_spectrum()
    assert abs(s["centred"]["max"] / (2 * (centred @ centred) * (p["x"] @ p["x"])) - 1) < 1e-5
    slope_change = np.abs(p["W"].T @ centred - p["W"].T @ a).max()  # = |mean(a)| max_k |sum_i W_ik|
    assert abs(q33_affine_check()["slope_change"] - slope_change) < 1e-9
    u = a @ p["W"] @ p["x"] - a @ p["gamma"]  # f(x) = a.Wx - b with b = a.gamma
    # the published (u + y)^2 and the true (u - y)^2 differ by |4 u y|
    f = q33_network(p, p["x"])
    assert abs(f - u) < 1e-12
    gap = abs((a @ p["W"] @ p["x"] - (a @ p["gamma"] - p["y"])) ** 2 - (f - p["y"]) ** 2)
    assert abs(q33_published_bias_gap()["published"] - 4 * abs(f * p["y"])) < 1e-9 and abs(gap - 4 * abs(f * p["y"])) < 1e-9


def test_q34_curve_in_high_precision():
    import mpmath
    curve = q34_curve()
    assert curve.shape == (81, 2)
    with mpmath.workdps(30):
        c = mpmath.mpf("1.702")
        for i, (z, derivative) in enumerate(curve):
            assert abs(z - (i / 10 - 4)) < 1e-12
            exact = mpmath.diff(lambda t: t / (1 + mpmath.exp(-c * t)), mpmath.mpf(i) / 10 - 4)
            assert abs(derivative - float(exact)) < 1e-9


def test_q38_weighted_step_by_the_closed_forms():
    e = q38_example()
    x, w = np.array(e["x"], float), np.array(e["w"], float)
    pis, mus, var = np.array([float(v) for v in e["pi"]]), np.array(e["mu"], float), np.array(e["var"], float)
    joint = pis * stats.norm.pdf(x[:, None], mus, np.sqrt(var))
    q = joint / joint.sum(1, keepdims=True)
    mass = (w[:, None] * q).sum(0)
    mu_new = (w[:, None] * q * x[:, None]).sum(0) / mass  # the updates of Q35-Q37
    var_new = (w[:, None] * q * (x[:, None] - mu_new) ** 2).sum(0) / mass
    step = q38_one_step()
    for key, expected in (("pi", mass / w.sum()), ("mu", mu_new), ("var", var_new)):
        assert np.allclose(step["weighted"][key], expected, atol=1e-12), key
    assert step["n_duplicated"] == sum(e["w"])


def test_q39_simulation_by_the_unrolled_chain():
    sim = q39_simulation()
    alpha, steps, n = float(sim["alpha"]), sim["steps"], sim["n"]
    rng = np.random.default_rng(39)
    x0 = np.where(rng.uniform(size=n) < 0.3, 3.0, -2.0)
    noise = np.array([rng.normal(size=n) for _ in range(steps)])  # the draws of the chain, in order
    # X_T = alpha^T X_0 + sqrt(1 - alpha^2) sum_s alpha^(T - 1 - s) eps_s
    x = alpha ** steps * x0 + math.sqrt(1 - alpha ** 2) * (alpha ** np.arange(steps - 1, -1, -1)) @ noise
    assert abs(sim["mean"] - math.fsum(x) / n) < 1e-9
    assert abs(sim["var"] - math.fsum((x - x.mean()) ** 2) / n) < 1e-9
    # Kolmogorov-Smirnov statistic by hand, and its p-value from the distribution of the statistic
    xs = np.sort(x)
    cdf = stats.norm.cdf(xs)
    statistic = max((np.arange(1, n + 1) / n - cdf).max(), (cdf - np.arange(n) / n).max())
    assert abs(sim["ks_pvalue"] - stats.kstwo.sf(statistic, n)) < 1e-6


def test_q41_objectives_by_exact_moments_and_mpmath():
    import mpmath
    setup = q41_setup()
    a = Fraction(setup["alpha_t"])
    s2 = 1 - a * a  # 9/25: s = 3/5
    s = Fraction(3, 5)
    assert s * s == s2
    mean = sum(w * m for w, m in zip(setup["weights"], setup["means"]))
    second = sum(w * (m * m + sd * sd) for w, m, sd in zip(setup["weights"], setup["means"], setup["sds"]))
    rows = q41_objectives()
    for (t1, t2), row in zip(q41_thetas(), rows):
        # (1/2) E (t1 (a X0 + s xi) + t2 + xi / s)^2, with X0 and xi independent, in exact arithmetic
        c = t1 * s + 1 / s
        exact = ((t1 * a) ** 2 * second + t2 * t2 + 2 * t1 * a * t2 * mean + c * c) / 2
        assert abs(row["denoising"] - float(exact)) < 1e-9
    def mp(q):
        q = Fraction(q)
        return mpmath.mpf(q.numerator) / q.denominator

    with mpmath.workdps(20):
        def marginal(x):
            dens, slope = 0, 0
            for w, m, sd in zip(setup["weights"], setup["means"], setup["sds"]):
                var = mp(a * a * sd * sd + s2)
                comp = mp(w) * mpmath.npdf(x, mp(a * m), mpmath.sqrt(var))
                dens, slope = dens + comp, slope - comp * (x - mp(a * m)) / var
            return dens, slope / dens
        for (t1, t2), row in zip(q41_thetas(), rows):
            explicit = mpmath.quad(lambda x, t1=t1, t2=t2: marginal(x)[0] * (marginal(x)[1] - mp(t1) * x - mp(t2)) ** 2 / 2,
                                   [-mpmath.inf, -1.6, 1.2, mpmath.inf])
            assert abs(row["explicit"] - float(explicit)) < 1e-8


def test_q41_figure_plots_the_marginal_score_and_the_averaged_targets():
    """What the figure draws, read back from it: the line is the score of the mixture N(a m_i, a^2 sd_i^2 + s^2)
    (by scipy's densities and a central difference), the dots the targets averaged in each bin (by
    scipy's binned_statistic), and the largest gap between them the printed q41_learned_score_error."""
    from scipy.stats import binned_statistic

    figure = q41_score_figure().figure
    score_axes = next(ax for ax in figure.axes if ax.lines)
    line, dots = score_axes.lines[0], score_axes.lines[1]
    x = line.get_xdata()

    def log_density(z):
        return np.log(sum(w * stats.norm.pdf(z, 0.8 * m, math.sqrt(0.64 * sd * sd + 0.36))
                          for w, m, sd in zip(*Q41_DATA.values())))

    h = 1e-5
    assert np.allclose(line.get_ydata(), (log_density(x + h) - log_density(x - h)) / (2 * h), atol=1e-6)
    assert x.min() < -2.5 and x.max() > 2.0  # the whole range of the dots
    xi, xt, s = _q41_noised_samples(seed=410, n=1_000_000)
    edges = np.linspace(-2.5, 2.0, 46)
    means = binned_statistic(xt, -xi / s, statistic="mean", bins=edges).statistic
    assert np.allclose(dots.get_xdata(), (edges[1:] + edges[:-1]) / 2)
    assert np.allclose(dots.get_ydata(), means, atol=1e-12)
    gap = np.abs(dots.get_ydata() - np.interp(dots.get_xdata(), x, line.get_ydata())).max()
    assert abs(gap - q41_learned_score_error()) < 5e-3  # the printed gap is the one drawn (up to interpolation)


def test_q41_learned_score_error_by_binned_statistics():
    from scipy.stats import binned_statistic
    xi, xt, s = _q41_noised_samples(seed=410, n=1_000_000)
    edges = np.linspace(-2.5, 2.0, 46)
    means = binned_statistic(xt, -xi / s, statistic="mean", bins=edges).statistic
    centres = (edges[1:] + edges[:-1]) / 2
    assert abs(q41_learned_score_error() - np.abs(means - q41_marginal(centres)[1]).max()) < 1e-9
    # the bin means estimate (p(b) - p(a)) / P(a < X_t < b), the exact mean of the score over a bin: within
    # five standard errors in every bin
    counts = np.histogram(xt, edges)[0]
    spread = binned_statistic(xt, -xi / s, statistic="std", bins=edges).statistic
    for lo, hi, estimate, count, sd in zip(edges[:-1], edges[1:], means, counts, spread):
        mass = integrate.quad(lambda x: q41_marginal(x)[0], lo, hi, epsabs=1e-13)[0]
        exact = (q41_marginal(hi)[0] - q41_marginal(lo)[0]) / mass
        assert abs(estimate - exact) < 5 * sd / math.sqrt(count)
