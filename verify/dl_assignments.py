"""Values and tests of chapter dl_assignments ("Deep Learning: assignments with solutions").

Eleven short assignments whose source ships its own solutions. Every result of ours is checked
on random instances (finite differences, Monte Carlo, exact enumeration, numerical optimisers),
and every formula, index range, claim or remark of the published solutions is implemented as
printed and put to the same independent check:

* a function decorated ``@published(...)`` returns True when the published item, as printed,
  passes the check, and False when it fails;
* for each such function ``published_x`` there is a test named ``test_published_x_holds`` or
  ``test_published_x_fails`` asserting that outcome (the consistency test below insists the
  name matches the outcome);
* the chapter's summary table is the value ``summary_rows``, derived from these outcomes.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np
import sympy as sp
from scipy import integrate, optimize, stats

from finite_differences import gradient as numeric_gradient
from solman import checks, tex, value

# --- the register of published items -------------------------------------------------------------


@dataclass(frozen=True)
class PublishedItem:
    name: str  # the check's function name; its test is test_<name>_holds or test_<name>_fails
    part: str  # question id: "A1", "A3b", ...
    where: str  # where it is printed in the source (LaTeX)
    claim: str  # what it says (LaTeX, short)
    kind: str  # "formula" (an equation, index range, result) or "reasoning" (a justification, remark)
    main: bool  # the part's final published result
    check: Callable[[], bool]


ITEMS: dict[str, PublishedItem] = {}
PARTS = ["A1", "A2", "A3a", "A3b", "A4", "A5", "A6", "A7", "A8a", "A8b", "A9", "A10", "A11"]


def published(part: str, where: str, claim: str, kind: str = "formula", main: bool = False):
    """Register a check of one published item; the check returns True when the item holds."""
    if kind not in ("formula", "reasoning"):
        raise ValueError(kind)

    def register(check: Callable[[], bool]) -> Callable[[], bool]:
        ITEMS[check.__name__] = PublishedItem(check.__name__, part, where, claim, kind, main, check)
        return check

    return register


def _test_name(item: PublishedItem, holds: bool) -> str:
    return f"test_{item.name}_{'holds' if holds else 'fails'}"


@functools.cache
def _outcome(name: str) -> bool:
    return bool(ITEMS[name].check())


# --- shared numerical tools ----------------------------------------------------------------------


def _sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def _logit(p):
    return np.log(p / (1.0 - p))


def _fsum_mean_var(y) -> tuple[float, float]:
    """Mean and variance (divisor m) by correctly rounded sums (math.fsum), two passes: a summation
    independent of numpy's pairwise one, for reproducing the Monte Carlo statistics the chapter prints."""
    values = np.asarray(y, dtype=float).ravel().tolist()
    mean = math.fsum(values) / len(values)
    return mean, math.fsum((v - mean) ** 2 for v in values) / len(values)


def _power_of_ten_above(x: float) -> int:
    """The smallest integer e with 0 < x < 10^e: a measured round-off is printed as the bound 10^e."""
    e = math.ceil(math.log10(x))
    return e + 1 if 10.0**e <= x else e


def _tex_name(name: str) -> str:
    r"""A test's name in typewriter type, breakable after each underscore."""
    return r"\texttt{" + r"\_\allowbreak ".join(name.split("_")) + "}"


# =================================================================================================
# Assignment 1: node statistics
# =================================================================================================


@value
def a1_given():
    """The Monte Carlo instance: n inputs, Var x_i = sigma^2, Var w_i = sigma~^2."""
    return {"n": 8, "sigma2": Fraction(2), "sigma_tilde2": Fraction(1, 4), "samples": 200_000}


@value
def a1_x_atom():
    """x_i = +-sqrt(sigma^2) with probability 1/2 each: mean 0, variance sigma^2."""
    return sp.sqrt(a1_given()["sigma2"])


@value
def a1_w_halfwidth():
    """w_i uniform on [-h, h] with h^2/3 = sigma~^2."""
    return sp.sqrt(3 * sp.Rational(a1_given()["sigma_tilde2"]))


@value
def a1_variance():
    """Var y = n sigma~^2 sigma^2, exactly, for the instance."""
    g = a1_given()
    return g["n"] * g["sigma_tilde2"] * g["sigma2"]


@functools.cache
def _a1_samples() -> np.ndarray:
    g = a1_given()
    rng = np.random.default_rng(101)
    shape = (g["samples"], g["n"])
    x = float(a1_x_atom()) * rng.choice([-1.0, 1.0], size=shape)
    w = rng.uniform(-float(a1_w_halfwidth()), float(a1_w_halfwidth()), size=shape)
    return (w * x).sum(axis=1)


@value
def a1_monte_carlo():
    """Sample mean and variance of y with their standard errors."""
    y = _a1_samples()
    m = len(y)
    centred = y - y.mean()
    var = float(centred.var())
    return {"mean": float(y.mean()), "mean_se": float(y.std() / math.sqrt(m)), "var": var,
            "var_se": float(math.sqrt(((centred**4).mean() - var**2) / m))}


def _moments(dist: dict) -> tuple[Fraction, Fraction]:
    mean = sum(p * v for v, p in dist.items())
    return mean, sum(p * (v - mean) ** 2 for v, p in dist.items())


def _product_distribution(dx: dict, dy: dict, op) -> dict:
    out: dict = {}
    for (u, p), (v, q) in itertools.product(dx.items(), dy.items()):
        out[op(u, v)] = out.get(op(u, v), 0) + p * q
    return out


@value
def a1_counterexample():
    """Independent X uniform on {0, 2} and Y uniform on {1, 3}: exact moments of X, Y and XY."""
    dx = {Fraction(0): Fraction(1, 2), Fraction(2): Fraction(1, 2)}
    dy = {Fraction(1): Fraction(1, 2), Fraction(3): Fraction(1, 2)}
    (ex, vx), (ey, vy) = _moments(dx), _moments(dy)
    _, vxy = _moments(_product_distribution(dx, dy, lambda u, v: u * v))
    return {"x_support": sorted(dx), "y_support": sorted(dy), "ex": ex, "vx": vx, "ey": ey, "vy": vy,
            "vxy": vxy, "vx_vy": vx * vy}


def _random_discrete(rng, size=3) -> dict:
    values = [Fraction(int(v)) for v in rng.choice(np.arange(-5, 6), size=size, replace=False)]
    weights = [int(w) for w in rng.integers(1, 6, size=size)]
    return {v: Fraction(w, sum(weights)) for v, w in zip(values, weights)}


@published("A1", "Eq.~(1)", r"$\mathbb{E}[y] = 0$")
def published_a1_mean() -> bool:
    mc = a1_monte_carlo()
    return abs(mc["mean"] - 0) < 4 * mc["mean_se"]


@published("A1", "text before (2)", r"$\mathbb{V}[XY] = \mathbb{V}[X]\mathbb{V}[Y]$ for any independent $X, Y$",
           kind="reasoning")
def published_a1_product_rule() -> bool:
    """As printed: the rule for any independent pair; exact enumeration on random pairs decides."""
    rng = np.random.default_rng(11)
    for _ in range(50):
        dx, dy = _random_discrete(rng), _random_discrete(rng)
        _, vxy = _moments(_product_distribution(dx, dy, lambda u, v: u * v))
        if vxy != _moments(dx)[1] * _moments(dy)[1]:
            return False
    return True


@published("A1", "text before (2)", r"$\mathbb{V}[X + Y] = \mathbb{V}[X] + \mathbb{V}[Y]$ for independent $X, Y$",
           kind="reasoning")
def published_a1_sum_rule() -> bool:
    rng = np.random.default_rng(12)
    for _ in range(50):
        dx, dy = _random_discrete(rng), _random_discrete(rng)
        _, vsum = _moments(_product_distribution(dx, dy, lambda u, v: u + v))
        if vsum != _moments(dx)[1] + _moments(dy)[1]:
            return False
    return True


@published("A1", "Eq.~(2)", r"$\mathbb{V}[y] = n\tilde\sigma^2\sigma^2$", main=True)
def published_a1_variance() -> bool:
    mc = a1_monte_carlo()
    return abs(mc["var"] - float(a1_variance())) < 4 * mc["var_se"]


def test_a1_given_distributions_have_the_stated_moments():
    g = a1_given()
    h = float(a1_w_halfwidth())
    w_var = integrate.quad(lambda t: t * t / (2 * h), -h, h)[0]
    assert math.isclose(w_var, float(g["sigma_tilde2"]), rel_tol=1e-12)
    assert math.isclose(float(a1_x_atom()) ** 2, float(g["sigma2"]), rel_tol=1e-12)
    assert a1_variance() == 4


def test_a1_monte_carlo_matches_the_closed_form():
    mc = a1_monte_carlo()
    assert abs(mc["mean"]) < 4 * mc["mean_se"]
    assert abs(mc["var"] - float(a1_variance())) < 4 * mc["var_se"]
    assert mc["var_se"] < 0.02 * float(a1_variance())  # the run is long enough to be informative


def test_a1_monte_carlo_reproduced_from_the_printed_instance():
    """The printed statistics, recomputed from the printed givens (the same draws: seed 101, x_i a random
    sign times sigma, w_i uniform on [-h, h] with h^2/3 = sigma~^2) with exact-rounding sums (math.fsum)
    instead of numpy's; tolerance 1e-9, far below the printed 10^-4 and 10^-3."""
    g = a1_given()
    mc = a1_monte_carlo()
    m, n = g["samples"], g["n"]
    rng = np.random.default_rng(101)
    signs = rng.choice([-1.0, 1.0], size=(m, n))
    h = math.sqrt(3 * float(g["sigma_tilde2"]))
    w = rng.uniform(-h, h, size=(m, n))
    y = math.sqrt(float(g["sigma2"])) * (signs * w).sum(axis=1)
    mean, var = _fsum_mean_var(y)
    fourth = math.fsum(((y - mean) ** 4).tolist()) / m
    assert abs(mc["mean"] - mean) < 1e-9 and abs(mc["var"] - var) < 1e-9
    assert abs(mc["mean_se"] - math.sqrt(var / m)) < 1e-9  # standard error of a mean
    assert abs(mc["var_se"] - math.sqrt((fourth - var**2) / m)) < 1e-9  # of a variance, from the 4th moment
    # and the printed closed form n sigma~^2 sigma^2, from the printed givens, lies within 4 standard errors
    assert abs(mc["var"] - n * float(g["sigma_tilde2"]) * float(g["sigma2"])) < 4 * mc["var_se"]


def test_a1_counterexample_moments_from_its_printed_supports():
    """X and Y uniform on the printed supports: numpy's moments of the supports (and of the four products)
    against the exact enumeration of the value."""
    c = a1_counterexample()
    xs, ys = np.array(c["x_support"], dtype=float), np.array(c["y_support"], dtype=float)
    assert len(xs) == len(ys) == 2
    assert math.isclose(xs.mean(), float(c["ex"]), abs_tol=1e-12) and math.isclose(ys.mean(), float(c["ey"]), abs_tol=1e-12)
    assert math.isclose(xs.var(), float(c["vx"]), abs_tol=1e-12) and math.isclose(ys.var(), float(c["vy"]), abs_tol=1e-12)
    assert math.isclose(np.outer(xs, ys).var(), float(c["vxy"]), abs_tol=1e-12)
    assert math.isclose(xs.var() * ys.var(), float(c["vx_vy"]), abs_tol=1e-12)


def test_published_a1_mean_holds():
    assert published_a1_mean()


def test_published_a1_variance_holds():
    assert published_a1_variance()


@checks("A1")
def test_published_a1_sum_rule_holds():
    assert published_a1_sum_rule()


def test_published_a1_product_rule_fails():
    assert not published_a1_product_rule()
    c = a1_counterexample()
    # the counterexample by Monte Carlo, independent of the exact enumeration in the value
    rng = np.random.default_rng(13)
    x, y = 2.0 * rng.integers(0, 2, 400_000), 1.0 + 2.0 * rng.integers(0, 2, 400_000)
    assert abs((x * y).var() - float(c["vxy"])) < 0.05 and c["vxy"] == 6 and c["vx_vy"] == 1


def test_a1_corrected_product_rule_holds_exactly():
    """V[XY] = V[X]V[Y] + V[X]E[Y]^2 + V[Y]E[X]^2, so the printed rule needs zero means."""
    rng = np.random.default_rng(14)
    for _ in range(100):
        dx, dy = _random_discrete(rng), _random_discrete(rng)
        (ex, vx), (ey, vy) = _moments(dx), _moments(dy)
        _, vxy = _moments(_product_distribution(dx, dy, lambda u, v: u * v))
        assert vxy == vx * vy + vx * ey**2 + vy * ex**2
    c = a1_counterexample()
    assert c["vxy"] == c["vx"] * c["vy"] + c["vx"] * c["ey"] ** 2 + c["vy"] * c["ex"] ** 2


# --- the answer: the two moments as formulas ----------------------------------------------------

A1_N, A1_SIGMA, A1_SIGMA_TILDE = sp.symbols("n sigma sigmatilde", positive=True)


@value
def a1_moments():
    """(E[y], Var[y]) as formulas in n, sigma and sigma~, from the moments of one product w_i x_i: its factors
    are independent, so E[w x] = E[w] E[x] and E[w^2 x^2] = E[w^2] E[x^2]; the n products are independent,
    so their means and variances add."""
    mean_w = mean_x = sp.Integer(0)
    second_w, second_x = A1_SIGMA_TILDE**2 + mean_w**2, A1_SIGMA**2 + mean_x**2
    mean_product = mean_w * mean_x
    var_product = second_w * second_x - mean_product**2
    return (A1_N * mean_product, sp.expand(A1_N * var_product))


def test_a1_moments_by_monte_carlo_and_exact_enumeration():
    """The formulas against the Monte Carlo run of the instance, and against an exact enumeration of every
    outcome for n = 3 inputs on {-1, 1} and weights on {-2, 0, 2} (no independence rule used)."""
    mean, var = a1_moments()
    g, mc = a1_given(), a1_monte_carlo()
    at = {A1_N: g["n"], A1_SIGMA: sp.sqrt(g["sigma2"]), A1_SIGMA_TILDE: sp.sqrt(g["sigma_tilde2"])}
    assert abs(float(mean.subs(at)) - mc["mean"]) < 4 * mc["mean_se"]
    assert abs(float(var.subs(at)) - mc["var"]) < 4 * mc["var_se"]
    n, xs, ws = 3, (-1, 1), (-2, 0, 2)
    outcomes = [sum(w * x for w, x in zip(wv, xv))
                for xv in itertools.product(xs, repeat=n) for wv in itertools.product(ws, repeat=n)]
    e_y = Fraction(sum(outcomes), len(outcomes))
    var_y = Fraction(sum(o * o for o in outcomes), len(outcomes)) - e_y**2
    at = {A1_N: n, A1_SIGMA: 1, A1_SIGMA_TILDE: sp.sqrt(sp.Rational(8, 3))}
    assert mean.subs(at) == e_y and var.subs(at) == sp.Rational(var_y.numerator, var_y.denominator)


# =================================================================================================
# Assignment 2: backpropagation through y_i = a (x_i + x_{i+2}) + b
# =================================================================================================


def _a2_forward(a: float, b: float, x: np.ndarray) -> np.ndarray:
    return a * (x[:-2] + x[2:]) + b


def _a2_grad_x_ours(a, g: list) -> list:
    """dL/dx_j = a (g_j [j <= N-2] + g_{j-2} [j >= 3]), j = 1..N (1-based)."""
    n = len(g) + 2
    return [a * ((g[j - 1] if j <= n - 2 else 0) + (g[j - 3] if j >= 3 else 0)) for j in range(1, n + 1)]


def _a2_published_cases(a, g: list, j: int) -> list:
    """Eq. (6) as printed: every case whose condition holds at j, evaluated; None where g is undefined."""
    n = len(g) + 2

    def gg(i):
        return g[i - 1] if 1 <= i <= n - 2 else None

    out = []
    if j <= 2:
        out.append(("j <= 2", None if gg(j) is None else a * gg(j)))
    if 2 <= j <= n - 2:
        out.append(("j = 2..N-2", None if gg(j) is None or gg(j - 2) is None else a * (gg(j) + gg(j - 2))))
    if j >= n - 2:
        out.append(("j >= N-2", None if gg(j - 2) is None else a * gg(j - 2)))
    return out


@value
def a2_instance():
    """A small instance: N = 7, integer data, integer upstream gradient g = dL/dy."""
    return {"N": 7, "a": 3, "b": -1, "x": [2, -1, 4, 0, 3, -2, 1], "g": [1, -2, 3, 2, -1]}


@value
def a2_grad_x():
    """Our dL/dx on the instance (a row vector, j = 1..N)."""
    inst = a2_instance()
    return sp.Matrix([_a2_grad_x_ours(inst["a"], inst["g"])])


@value
def a2_grad_a():
    inst = a2_instance()
    x, g = inst["x"], inst["g"]
    return sum(g[i] * (x[i] + x[i + 2]) for i in range(len(g)))


@value
def a2_grad_b():
    return sum(a2_instance()["g"])


@value
def a2_published_at_n_minus_2():
    """At j = N-2 the printed middle and last cases both apply and disagree; the true value."""
    inst = a2_instance()
    n = inst["N"]
    cases = dict(_a2_published_cases(inst["a"], inst["g"], n - 2))
    return {"j": n - 2, "middle": cases["j = 2..N-2"], "last": cases["j >= N-2"],
            "true": _a2_grad_x_ours(inst["a"], inst["g"])[n - 3]}


def _a2_fd(a, b, x, g):
    """Finite differences of L = <g, y> in a, b and x."""
    x = np.asarray(x, dtype=float)
    g = np.asarray(g, dtype=float)
    da = numeric_gradient(lambda t: g @ _a2_forward(t[0], b, x), np.array([a], dtype=float))[0]
    db = numeric_gradient(lambda t: g @ _a2_forward(a, t[0], x), np.array([b], dtype=float))[0]
    dx = numeric_gradient(lambda t: g @ _a2_forward(a, b, t), x)
    return da, db, dx


@published("A2", "Eq.~(4)", r"$\mathrm{d}L/\mathrm{d}b = \sum_{i=1}^{N-2} g_i$")
def published_a2_grad_b() -> bool:
    rng = np.random.default_rng(21)
    for n in range(3, 12):
        a, b, x, g = rng.normal(), rng.normal(), rng.normal(size=n), rng.normal(size=n - 2)
        if not math.isclose(_a2_fd(a, b, x, g)[1], sum(g[i - 1] for i in range(1, n - 1)), abs_tol=1e-6):
            return False
    return True


@published("A2", "Eq.~(5)", r"$\mathrm{d}L/\mathrm{d}a = \sum_{i=1}^{N-2} g_i (x_i + x_{i+2})$")
def published_a2_grad_a() -> bool:
    rng = np.random.default_rng(22)
    for n in range(3, 12):
        a, b, x, g = rng.normal(), rng.normal(), rng.normal(size=n), rng.normal(size=n - 2)
        printed = sum(g[i - 1] * (x[i - 1] + x[i + 1]) for i in range(1, n - 1))
        if not math.isclose(_a2_fd(a, b, x, g)[0], printed, abs_tol=1e-6):
            return False
    return True


@published("A2", "Eq.~(6), middle", r"$\mathrm{d}L/\mathrm{d}x_j = \sum_{i=1}^{N-2} g_i a\,([j = i] + [j = i + 2])$")
def published_a2_grad_x_sum() -> bool:
    rng = np.random.default_rng(25)
    for n in range(3, 12):
        a, b, x, g = rng.normal(), rng.normal(), rng.normal(size=n), rng.normal(size=n - 2)
        printed = [sum(g[i - 1] * a * ((j == i) + (j == i + 2)) for i in range(1, n - 1)) for j in range(1, n + 1)]
        if not np.allclose(printed, _a2_fd(a, b, x, g)[2], atol=1e-6):
            return False
    return True


@published("A2", "Eq.~(6)", r"the three cases $j \le 2$, $j = 2, \dots, N-2$, $j \ge N-2$ of $\mathrm{d}L/\mathrm{d}x_j$",
           main=True)
def published_a2_grad_x_cases() -> bool:
    """Each printed case must give the finite-difference value wherever its condition holds."""
    rng = np.random.default_rng(23)
    for n in range(5, 12):
        a, b, x, g = rng.normal(), rng.normal(), rng.normal(size=n), rng.normal(size=n - 2)
        dx = _a2_fd(a, b, x, g)[2]
        for j in range(1, n + 1):
            for _, printed in _a2_published_cases(a, list(g), j):
                if printed is None or not math.isclose(printed, dx[j - 1], abs_tol=1e-6):
                    return False
    return True


_A2_RANDOM_SIZES = range(3, 14)  # the sizes N of test_a2_our_gradients_match_finite_differences


@value
def a2_random_sizes():
    """The sizes N of the random instances on which the gradients are checked."""
    return {"low": _A2_RANDOM_SIZES[0], "high": _A2_RANDOM_SIZES[-1]}


def test_a2_our_gradients_match_finite_differences():
    rng = np.random.default_rng(24)
    checked = []
    for n in _A2_RANDOM_SIZES:
        checked.append(n)
        a, b, x, g = rng.normal(), rng.normal(), rng.normal(size=n), rng.normal(size=n - 2)
        da, db, dx = _a2_fd(a, b, x, g)
        assert np.allclose(_a2_grad_x_ours(a, list(g)), dx, atol=1e-6)
        assert math.isclose(da, float(g @ (x[:-2] + x[2:])), abs_tol=1e-6)
        assert math.isclose(db, float(g.sum()), abs_tol=1e-6)
    # the printed range is the range this test went through; 3 is the smallest N with an output
    assert a2_random_sizes() == {"low": min(checked), "high": max(checked)} and min(checked) == 3


def test_a2_instance_is_the_printed_check_instance():
    """The givens of our check instance, as the chapter states them. The gradients pin most of them
    (test above), but not b (the layer is affine in b, so no gradient depends on it) nor x_4 (it enters
    dL/da with weight g_2 + g_4 = 0 here): this literal copy of the givens does."""
    assert a2_instance() == {"N": 7, "a": 3, "b": -1, "x": [2, -1, 4, 0, 3, -2, 1], "g": [1, -2, 3, 2, -1]}


def test_a2_instance_values_match_finite_differences():
    inst = a2_instance()
    da, db, dx = _a2_fd(inst["a"], inst["b"], inst["x"], inst["g"])
    assert np.allclose(np.array(a2_grad_x(), dtype=float).ravel(), dx, atol=1e-6)
    assert math.isclose(a2_grad_a(), da, abs_tol=1e-6) and math.isclose(a2_grad_b(), db, abs_tol=1e-6)
    assert len(inst["x"]) == inst["N"] and len(inst["g"]) == inst["N"] - 2


@checks("A2")
def test_a2_jacobian_from_sympy_has_two_bands():
    """Symbolic check: x_j enters y_j (j <= N-2) and y_{j-2} (j >= 3), each with weight a."""
    n = 7
    a, b = sp.symbols("a b")
    xs = sp.symbols(f"x1:{n + 1}")
    ys = [a * (xs[i] + xs[i + 2]) + b for i in range(n - 2)]
    jac = sp.Matrix([[sp.diff(y, xj) for xj in xs] for y in ys])
    expected = sp.Matrix(n - 2, n, lambda i, j: a if j in (i, i + 2) else 0)
    assert jac == expected


@checks("A2")
def test_published_a2_grad_b_holds():
    assert published_a2_grad_b()


@checks("A2")
def test_published_a2_grad_a_holds():
    assert published_a2_grad_a()


@checks("A2")
def test_published_a2_grad_x_sum_holds():
    assert published_a2_grad_x_sum()


def test_published_a2_grad_x_cases_fails():
    assert not published_a2_grad_x_cases()
    inst = a2_instance()
    at = a2_published_at_n_minus_2()
    da, db, dx = _a2_fd(inst["a"], inst["b"], inst["x"], inst["g"])
    assert math.isclose(at["middle"], dx[at["j"] - 1], abs_tol=1e-6)  # the middle case is right there
    assert not math.isclose(at["last"], dx[at["j"] - 1], abs_tol=1e-3)  # the last case is not
    assert at["true"] == at["middle"] == 6 and at["last"] == 9
    assert at["j"] == len(inst["x"]) - 2  # j = N - 2, with N counted from the data
    a, g = inst["a"], inst["g"]  # the two printed cases at j, 1-based: a (g_j + g_{j-2}) and a g_{j-2}
    assert at["middle"] == a * (g[at["j"] - 1] + g[at["j"] - 3]) and at["last"] == a * g[at["j"] - 3]
    # at j = 2 the printed middle case needs g_0, which does not exist
    assert dict(_a2_published_cases(inst["a"], inst["g"], 2))["j = 2..N-2"] is None


# --- the answer: the three gradients as formulas ------------------------------------------------

A2_I, A2_J, A2_N = sp.symbols("i j N", integer=True)
A2_A, A2_B = sp.symbols("a b")
A2_G, A2_X = sp.IndexedBase("g"), sp.IndexedBase("x")


@value
def a2_gradients():
    """(dL/da, dL/db, dL/dx_j) by the chain rule dL/dtheta = sum_i g_i dy_i/dtheta, the sum over
    i = 1..N-2 done by sympy; the conditions 1 <= j <= N, true of every input, are dropped."""
    i, j, n = A2_I, A2_J, A2_N
    y = A2_A * (A2_X[i] + A2_X[i + 2]) + A2_B

    def chain(theta):
        return sp.Sum(A2_G[i] * sp.diff(y, theta), (i, 1, n - 2))

    dx = chain(A2_X[j]).doit().subs({sp.Ge(j, 1): True, sp.Le(j, n): True, sp.Ge(n, j): True})
    return (chain(A2_A), chain(A2_B), dx)


def _a2_evaluate(expr, a, x, g, j=None):
    """A formula of a2_gradients at numbers: N = len(x), inputs x and upstream gradient g (1-based)."""
    at = {A2_N: len(x), A2_A: a, **({A2_J: j} if j is not None else {})}
    e = expr.subs(at).doit()
    values = {A2_X[k + 1]: v for k, v in enumerate(x)} | {A2_G[k + 1]: v for k, v in enumerate(g)}
    return float(e.subs(values))


def test_a2_gradient_formulas_match_finite_differences():
    da, db, dx = a2_gradients()
    rng = np.random.default_rng(2)
    for n in range(3, 9):
        a, b = float(rng.normal()), float(rng.normal())
        x, g = rng.normal(size=n), rng.normal(size=n - 2)
        fd_x = numeric_gradient(lambda t, a=a, b=b, g=g: g @ _a2_forward(a, b, t), x)
        fd_a = numeric_gradient(lambda t, b=b, x=x, g=g: g @ _a2_forward(t[0], b, x), np.array([a]))[0]
        fd_b = numeric_gradient(lambda t, a=a, x=x, g=g: g @ _a2_forward(a, t[0], x), np.array([b]))[0]
        assert math.isclose(_a2_evaluate(da, a, x, g), fd_a, abs_tol=1e-6)
        assert math.isclose(_a2_evaluate(db, a, x, g), fd_b, abs_tol=1e-6)
        assert np.allclose([_a2_evaluate(dx, a, x, g, j) for j in range(1, n + 1)], fd_x, atol=1e-6)


# =================================================================================================
# Assignment 3: SGD with regularisation (smoothed gradients; the proximal step)
# =================================================================================================


@value
def a3_q():
    """Smoothing parameter of the exponential average in the check."""
    return Fraction(1, 10)


@value
def a3_variance_ratio():
    """Stationary Var(g~) / Var(g) = q / (2 - q) for i.i.d. gradient noise."""
    q = a3_q()
    return q / (2 - q)


@value
def a3_mc():
    """Monte Carlo of the stationary variance ratio: chains x steps, noise N(mu, 1)."""
    chains, steps, mu = 4000, 120, 0.7
    q = float(a3_q())
    rng = np.random.default_rng(31)
    smoothed = np.full(chains, mu)
    for _ in range(steps):
        smoothed = (1 - q) * smoothed + q * rng.normal(mu, 1.0, size=chains)
    var = float(smoothed.var())
    return {"chains": chains, "steps": steps, "ratio": var, "se": var * math.sqrt(2 / (chains - 1))}


def _a3_prox_objective(theta, theta_t, gt, lam, eps_p):
    return gt @ (theta - theta_t) + lam / 2 * theta @ theta + (theta - theta_t) @ (theta - theta_t) / (2 * eps_p)


def _a3_instance(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=4), rng.normal(size=4), float(rng.uniform(0.1, 2)), float(rng.uniform(0.05, 1.5))


@value
def a3_remark_instance():
    """lambda and eps of the remark's check, and eps' = eps / (1 - lambda eps)."""
    lam, eps = Fraction(1, 2), Fraction(1, 4)
    return {"lam": lam, "eps": eps, "eps_prime": eps / (1 - lam * eps)}


@published("A3a", "Eq.~(8)", r"the exponential average $\tilde g^t$ reduces the variance of $g^t$", main=True)
def published_a3_smoothing() -> bool:
    mc = a3_mc()
    return mc["ratio"] + 4 * mc["se"] < 1


@published("A3a", "Eq.~(9)", r"$\nabla\tilde L(\theta^t) = g^t + \lambda\theta^t$, used with $\tilde g^t$ in place of $g^t$")
def published_a3_sgd_step() -> bool:
    rng = np.random.default_rng(32)
    for _ in range(20):
        theta, lam = rng.normal(size=5), float(rng.uniform(0.01, 3))
        fd = numeric_gradient(lambda t: lam / 2 * t @ t, theta)
        if not np.allclose(fd, lam * theta, atol=1e-6):
            return False
    return True


@published("A3b", "Eq.~(11)", r"stationarity: $\tilde g^t + \lambda\theta + (\theta - \theta^t)/\varepsilon' = 0$")
def published_a3_stationarity() -> bool:
    for seed in range(20):
        theta_t, gt, lam, eps_p = _a3_instance(300 + seed)
        res = optimize.minimize(_a3_prox_objective, np.zeros(4), args=(theta_t, gt, lam, eps_p), tol=1e-12)
        theta = res.x
        if not np.allclose(gt + lam * theta + (theta - theta_t) / eps_p, 0, atol=1e-5):
            return False
    return True


@published("A3b", "Eq.~(12)", r"$\theta^{t+1} = (\theta^t - \varepsilon'\tilde g^t)/(\varepsilon'\lambda + 1)$", main=True)
def published_a3_prox_solution() -> bool:
    for seed in range(20):
        theta_t, gt, lam, eps_p = _a3_instance(300 + seed)
        res = optimize.minimize(_a3_prox_objective, np.zeros(4), args=(theta_t, gt, lam, eps_p), tol=1e-12)
        if not np.allclose(res.x, (theta_t - eps_p * gt) / (eps_p * lam + 1), atol=1e-5):
            return False
    return True


@published("A3b", "Remark", r"with $\varepsilon' = \varepsilon/(1 - \lambda\varepsilon)$, (12) is the SGD step (9)",
           kind="reasoning")
def published_a3_remark() -> bool:
    rng = np.random.default_rng(33)
    for _ in range(50):
        theta_t, gt = rng.normal(size=4), rng.normal(size=4)
        lam = float(rng.uniform(0.1, 2))
        eps = float(rng.uniform(0.01, 0.99)) / lam  # lambda eps < 1, where eps' > 0
        eps_p = eps / (1 - lam * eps)
        res = optimize.minimize(_a3_prox_objective, np.zeros(4), args=(theta_t, gt, lam, eps_p), tol=1e-12)
        if not np.allclose(res.x, theta_t - eps * (gt + lam * theta_t), atol=1e-5):
            return False
    return True


def test_a3_variance_ratio_matches_monte_carlo():
    mc = a3_mc()
    assert abs(mc["ratio"] - float(a3_variance_ratio())) < 4 * mc["se"]
    assert a3_variance_ratio() == Fraction(1, 19)


def test_a3_monte_carlo_reproduced_by_the_explicit_weighted_sum():
    """The same draws (seed 31, drawn as one steps x chains block, in the same order) summed in closed form,
    g~^T = (1-q)^T mu + q sum_k (1-q)^(T-k) g^k, instead of by the recursion; variance by math.fsum.
    Tolerance 1e-9, far below the printed 10^-4."""
    mc = a3_mc()
    chains, steps, mu, q = mc["chains"], mc["steps"], 0.7, float(a3_q())
    noise = np.random.default_rng(31).normal(mu, 1.0, size=(steps, chains))
    weights = q * (1 - q) ** np.arange(steps - 1, -1, -1)
    _, var = _fsum_mean_var((1 - q) ** steps * mu + weights @ noise)
    assert abs(mc["ratio"] - var) < 1e-9
    assert abs(mc["se"] - var * math.sqrt(2 / (chains - 1))) < 1e-9  # se of a normal sample's variance


def test_a3_variance_ratio_series_sums_to_the_closed_form():
    """q^2 sum_k (1-q)^(2k) = q/(2-q), summed symbolically."""
    k = sp.symbols("k", integer=True, nonnegative=True)
    q = sp.Rational(a3_q())
    series = q**2 * sp.summation(((1 - q) ** 2) ** k, (k, 0, sp.oo))
    assert sp.simplify(series - sp.Rational(a3_variance_ratio())) == 0 and 0 < q < 1


@checks("A3a")
def test_a3_bias_of_a_zero_start_is_removed_by_dividing_by_one_minus_decay():
    rng = np.random.default_rng(34)
    q, mu, t = 0.1, 0.7, 15
    smoothed = np.zeros(200_000)
    for _ in range(t):
        smoothed = (1 - q) * smoothed + q * rng.normal(mu, 1.0, size=smoothed.size)
    assert abs(smoothed.mean() - (1 - (1 - q) ** t) * mu) < 0.005
    assert abs(smoothed.mean() / (1 - (1 - q) ** t) - mu) < 0.01


def test_a3_remark_instance_and_the_reverse_map():
    r = a3_remark_instance()
    assert r["lam"] * r["eps"] < 1 and r["eps_prime"] == Fraction(2, 7)
    # reverse: any eps' > 0 corresponds to eps = eps' / (1 + lambda eps') < 1/lambda
    assert r["eps_prime"] / (1 + r["lam"] * r["eps_prime"]) == r["eps"]
    theta_t, gt = np.array([1.0, -2.0, 0.5, 3.0]), np.array([0.3, 0.1, -1.0, 2.0])
    lam, eps, eps_p = (float(r[k]) for k in ("lam", "eps", "eps_prime"))
    res = optimize.minimize(_a3_prox_objective, np.zeros(4), args=(theta_t, gt, lam, eps_p), tol=1e-12)
    assert np.allclose(res.x, theta_t - eps * (gt + lam * theta_t), atol=1e-6)


def test_published_a3_smoothing_holds():
    assert published_a3_smoothing()


@checks("A3a")
def test_published_a3_sgd_step_holds():
    assert published_a3_sgd_step()


@checks("A3b")
def test_published_a3_stationarity_holds():
    assert published_a3_stationarity()


@checks("A3b")
def test_published_a3_prox_solution_holds():
    assert published_a3_prox_solution()


@checks("A3b")
def test_published_a3_remark_holds():
    assert published_a3_remark()


# --- the answer of (b): the proximal step as a formula ------------------------------------------

A3_THETA_T, A3_G_TILDE, A3_LAMBDA, A3_EPS_PRIME = sp.symbols("theta^t gtilde^t lambda varepsilonprime")


@value
def a3b_step():
    """theta^{t+1}: the objective (7) separates over the coordinates, and each is a strictly convex quadratic
    whose minimiser is the root of its derivative, solved by sympy."""
    theta = sp.Symbol("theta")
    objective = (A3_G_TILDE * (theta - A3_THETA_T) + A3_LAMBDA / 2 * theta**2
                 + (theta - A3_THETA_T) ** 2 / (2 * A3_EPS_PRIME))
    (root,) = sp.solve(sp.diff(objective, theta), theta)
    return root


def test_a3b_step_is_the_minimiser_found_by_an_optimiser():
    step = sp.lambdify((A3_THETA_T, A3_G_TILDE, A3_LAMBDA, A3_EPS_PRIME), a3b_step(), "numpy")
    for seed in range(340, 350):
        theta_t, gt, lam, eps_p = _a3_instance(seed)
        res = optimize.minimize(_a3_prox_objective, np.zeros(4), args=(theta_t, gt, lam, eps_p), tol=1e-12)
        assert np.allclose(step(theta_t, gt, lam, eps_p), res.x, atol=1e-5)


# =================================================================================================
# Assignment 4: adversarial attack under a box constraint
# =================================================================================================


@value
def a4_instance():
    """A two-pixel picture for the figure: x, the gradient g of f_y at x, and the radius eps."""
    return {"x": [Fraction(3, 5), Fraction(2, 5)], "g": [Fraction(1), Fraction(-2)], "eps": Fraction(1, 10)}


def _sign(v):
    return (v > 0) - (v < 0)


@value
def a4_ours():
    """x~ = x - eps sign(g), exactly."""
    inst = a4_instance()
    return [xi - inst["eps"] * _sign(gi) for xi, gi in zip(inst["x"], inst["g"])]


@value
def a4_published():
    """The point printed as the solution: x~_i = -eps sign(g_i)."""
    inst = a4_instance()
    return [-inst["eps"] * _sign(gi) for gi in inst["g"]]


@value
def a4_published_distance():
    """max_i |x~_i - x_i| for the printed point: it should be below eps."""
    inst = a4_instance()
    return max(abs(p - xi) for p, xi in zip(a4_published(), inst["x"]))


@value
def a4_infimum():
    """The infimum of g^T (x~ - x) over the box: -eps ||g||_1."""
    inst = a4_instance()
    return -inst["eps"] * sum(abs(gi) for gi in inst["g"])


@value
def a4_figure():
    """Coordinates for the figure: box corners, the two points, and a level line through our corner."""
    inst = a4_instance()
    x, g, eps = inst["x"], inst["g"], inst["eps"]
    ours = a4_ours()
    # level line g^T z = g^T ours, drawn for z_1 in a range around the box
    level = g[0] * ours[0] + g[1] * ours[1]
    line = [(float(z1), float((level - g[0] * z1) / g[1])) for z1 in (x[0] - 3 * eps, x[0] + 3 * eps)]
    norm = math.hypot(float(g[0]), float(g[1]))
    published = tuple(float(v) for v in a4_published())
    return {"x": [(float(x[0]), float(x[1]))], "lo": [(float(x[0] - eps), float(x[1] - eps))],
            "hi": [(float(x[0] + eps), float(x[1] + eps))], "ours": [(float(ours[0]), float(ours[1]))],
            "published": [published], "level": line,
            "arrow": [(float(x[0]) - 0.25 * float(g[0]) / norm, float(x[1]) - 0.25 * float(g[1]) / norm)],
            "xaxis": [(published[0] - 0.1, 0.0), (float(x[0]) + 0.25, 0.0)],
            "yaxis": [(0.0, -0.05), (0.0, float(x[1]) + 0.4)]}


def _a4_linprog(g: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
    res = optimize.linprog(g, bounds=list(zip(x - eps, x + eps)), method="highs")
    return res.x


@published("A4", "Eq.~(13)", r"$f_y(\tilde x) \approx f_y(x) + g^{\mathsf T}(\tilde x - x)$ near $x$")
def published_a4_linearisation() -> bool:
    """The first-order error of log-softmax shrinks like eps^2."""
    rng = np.random.default_rng(41)
    v, c, x = rng.normal(size=(3, 5)), rng.normal(size=3), rng.normal(size=5)
    f = lambda t: (v @ t + c)[0] - np.log(np.exp(v @ t + c).sum())  # noqa: E731
    g = numeric_gradient(f, x)
    d = rng.normal(size=5)
    ratios = [abs(f(x + e * d) - f(x) - e * g @ d) / e**2 for e in (1e-1, 1e-2, 1e-3)]
    return max(ratios) < 10 and ratios[-1] < 2 * ratios[0] + 1e-9


@published("A4", "Eqs.~(14)--(15)", r"the task has a minimiser over the box $|\tilde x_i - x_i| < \varepsilon$")
def published_a4_open_box() -> bool:
    """In the open box every feasible point c is beaten by c + (corner - c)/2, itself feasible."""
    rng = np.random.default_rng(42)
    for _ in range(200):
        g, x, eps = rng.normal(size=5), rng.normal(size=5), 0.1
        corner = x - eps * np.sign(g)
        candidate = x + eps * rng.uniform(-1, 1, size=5) * rng.uniform(0.5, 1 - 1e-12)
        better = candidate + 0.5 * (corner - candidate)
        if not (np.all(np.abs(better - x) < eps) and g @ (better - x) < g @ (candidate - x)):
            return True  # a feasible point with no better feasible point would be a minimiser
    return False


@published("A4", "last line", r"the task decomposes into independent tasks for each $\tilde x_i$", kind="reasoning")
def published_a4_separable() -> bool:
    """Solving each coordinate's interval problem alone gives the joint linear program's optimum."""
    rng = np.random.default_rng(47)
    for _ in range(20):
        g, x, eps = rng.normal(size=5), rng.normal(size=5), 0.1
        each = [optimize.linprog([g[i]], bounds=[(x[i] - eps, x[i] + eps)], method="highs").x[0] for i in range(5)]
        if not math.isclose(g @ np.array(each), g @ _a4_linprog(g, x, eps), abs_tol=1e-9):
            return False
    return True


@published("A4", "last line", r"$\tilde x_i^* = -\varepsilon \operatorname{sign}(g_i)$", main=True)
def published_a4_solution() -> bool:
    rng = np.random.default_rng(43)
    for _ in range(20):
        g, x, eps = rng.normal(size=5), rng.normal(size=5), 0.1
        printed = -eps * np.sign(g)
        best = _a4_linprog(g, x, eps)
        if not (np.all(np.abs(printed - x) <= eps + 1e-12) and math.isclose(g @ printed, g @ best, abs_tol=1e-9)):
            return False
    return True


def test_a4_ours_matches_linear_programming():
    rng = np.random.default_rng(44)
    for _ in range(30):
        g, x, eps = rng.normal(size=6), rng.normal(size=6), float(rng.uniform(0.01, 0.5))
        assert np.allclose(_a4_linprog(g, x, eps), x - eps * np.sign(g), atol=1e-9)
    inst = a4_instance()
    g, x, eps = (np.array(inst[k], dtype=float) for k in ("g", "x")), None, float(inst["eps"])
    g, x = list(g)
    assert np.allclose(_a4_linprog(g, x, eps), np.array(a4_ours(), dtype=float))
    assert math.isclose(float(a4_infimum()), g @ (np.array(a4_ours(), dtype=float) - x))


@checks("A4")
def test_a4_fgsm_corner_is_the_best_corner_of_the_true_log_probability():
    """Brute force over the 2^5 corners, and a bound-constrained optimiser on the true f_y."""
    rng = np.random.default_rng(45)
    for _ in range(5):
        v, c, x = rng.normal(size=(3, 5)), rng.normal(size=3), rng.normal(size=5)
        f = lambda t: (v @ t + c)[0] - np.log(np.exp(v @ t + c).sum())  # noqa: E731
        g, eps = numeric_gradient(f, x), 0.01
        corners = [x + eps * np.array(s) for s in itertools.product([-1, 1], repeat=5)]
        best = min(corners, key=f)
        assert np.allclose(best, x - eps * np.sign(g))
        res = optimize.minimize(f, x, bounds=list(zip(x - eps, x + eps)), method="L-BFGS-B")
        assert f(res.x) >= f(best) - 1e-9 and np.allclose(res.x, best, atol=1e-6)


def test_a4_the_open_box_infimum_is_approached_but_not_attained():
    inst = a4_instance()
    g, x, eps = np.array(inst["g"], float), np.array(inst["x"], float), float(inst["eps"])
    rng = np.random.default_rng(46)
    pts = x + eps * rng.uniform(-1, 1, size=(10_000, 2)) * (1 - 1e-9)
    assert np.all((pts - x) @ g > float(a4_infimum()))
    approach = [g @ (-(1 - 1 / k) * eps * np.sign(g)) for k in (10, 100, 1000)]
    assert np.all(np.diff(approach) < 0) and approach[-1] - float(a4_infimum()) < 1e-3


def test_a4_figure_points_are_consistent():
    fig = a4_figure()
    (lo,), (hi,), (ours,), (pub,), (x,) = fig["lo"], fig["hi"], fig["ours"], fig["published"], fig["x"]
    assert lo[0] <= ours[0] <= hi[0] and lo[1] <= ours[1] <= hi[1] and math.isclose(hi[0] - x[0], 0.1)
    assert not (lo[0] <= pub[0] <= hi[0]) and np.allclose(pub, [float(v) for v in a4_published()])
    g = np.array(a4_instance()["g"], dtype=float)
    (p, q) = fig["level"]
    assert math.isclose(g @ np.array(p), g @ np.array(ours)) and math.isclose(g @ np.array(q), g @ np.array(p))
    assert fig["xaxis"][0][0] < pub[0] and fig["yaxis"][1][1] > hi[1]


def test_a4_figure_coordinates_from_the_instance():
    """Every coordinate of the figure, entrywise within 1e-9 (printed to 10^-3), from the instance: the
    minimiser by linear programming, the printed point -eps sign(g), the box x +- eps, the arrow 0.25 along
    -g/||g||, the level line g^T z = g^T x~* at z_1 = x_1 -+ 3 eps, and the axes (drawing margins 0.1,
    0.25, 0.05, 0.4 past the points they must reach)."""
    inst = a4_instance()
    x, g, eps = (np.array([float(v) for v in inst[k]]) for k in ("x", "g")), None, float(inst["eps"])
    x, g = list(x)
    best = _a4_linprog(g, x, eps)
    pub = -eps * np.sign(g)
    ends = [x[0] - 3 * eps, x[0] + 3 * eps]
    expected = {"x": [x], "lo": [x - eps], "hi": [x + eps], "ours": [best], "published": [pub],
                "level": [(z1, (g @ best - g[0] * z1) / g[1]) for z1 in ends],
                "arrow": [x - 0.25 * g / np.linalg.norm(g)],
                "xaxis": [(pub[0] - 0.1, 0.0), (x[0] + 0.25, 0.0)], "yaxis": [(0.0, -0.05), (0.0, x[1] + 0.4)]}
    fig = a4_figure()
    assert fig.keys() == expected.keys()
    for key, points in expected.items():
        assert np.allclose(np.array(fig[key], dtype=float), np.array(points, dtype=float), rtol=0, atol=1e-9), key


@checks("A4")
def test_published_a4_linearisation_holds():
    assert published_a4_linearisation()


@checks("A4")
def test_published_a4_open_box_fails():
    assert not published_a4_open_box()


@checks("A4")
def test_published_a4_separable_holds():
    assert published_a4_separable()


def test_published_a4_solution_fails():
    assert not published_a4_solution()
    assert a4_published_distance() == Fraction(7, 10) > a4_instance()["eps"]


# --- the answer: the attack as a formula --------------------------------------------------------

A4_X, A4_G, A4_EPS = sp.symbols("x_i g_i varepsilon", real=True)


@value
def a4_attack():
    """x~*_i: the linear program separates over the coordinates, and g_i delta_i over [-eps, eps] is smallest
    at the end opposite to the sign of g_i, where it is -eps |g_i| (sympy checks this for either sign)."""
    delta = -A4_EPS * sp.sign(A4_G)
    for sign in (1, -1):  # g_i > 0, g_i < 0: the chosen end attains the smaller of g_i (-eps), g_i eps
        g = sign * sp.Symbol("gamma", positive=True)
        eps = sp.Symbol("e", positive=True)
        chosen = (g * delta).subs({A4_G: g, A4_EPS: eps})
        if sp.simplify(chosen - sp.Min(-g * eps, g * eps)) != 0:
            raise ArithmeticError("the chosen end is not the minimiser")
    return A4_X + delta


def test_a4_attack_formula_is_the_linear_programming_solution():
    attack = sp.lambdify((A4_X, A4_G, A4_EPS), a4_attack(), "numpy")
    rng = np.random.default_rng(44)
    for _ in range(20):
        x, g, eps = rng.normal(size=6), rng.normal(size=6), float(rng.uniform(0.01, 1))
        assert np.allclose(attack(x, g, eps), _a4_linprog(g, x, eps), atol=1e-8)
    inst = a4_instance()
    exact = [a4_attack().subs({A4_X: x, A4_G: g, A4_EPS: inst["eps"]}) for x, g in zip(inst["x"], inst["g"])]
    assert exact == [sp.Rational(v.numerator, v.denominator) for v in a4_ours()]


# =================================================================================================
# Assignment 5: KL divergence and cross-entropy
# =================================================================================================


@value
def a5_model():
    """A discrete generator p*(x, y) with x, y in {1, 2, 3}: p*(x) and the rows p*(y | x)."""
    return {"px": [Fraction(1, 2), Fraction(1, 3), Fraction(1, 6)],
            "py_x": sp.Matrix([[sp.Rational(1, 2), sp.Rational(1, 4), sp.Rational(1, 4)],
                               [sp.Rational(1, 5), sp.Rational(3, 5), sp.Rational(1, 5)],
                               [sp.Rational(1, 10), sp.Rational(1, 5), sp.Rational(7, 10)]])}


def _a5_arrays():
    m = a5_model()
    return np.array([float(p) for p in m["px"]]), np.array(m["py_x"], dtype=float)


def _a5_model_probs(theta: np.ndarray) -> np.ndarray:
    """p(y | x; theta): logits alpha_y + beta_y x with class 1's logits fixed at 0 (4 parameters)."""
    alpha, beta = np.r_[0.0, theta[:2]], np.r_[0.0, theta[2:]]
    logits = alpha[None, :] + np.arange(1, 4)[:, None] * beta[None, :]
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def _a5_expected_kl(theta):
    px, pyx = _a5_arrays()
    return float(px @ np.array([stats.entropy(pyx[i], _a5_model_probs(theta)[i]) for i in range(3)]))


def _a5_expected_ce(theta):
    px, pyx = _a5_arrays()
    return float(-px @ (pyx * np.log(_a5_model_probs(theta))).sum(axis=1))


@value
def a5_example():
    """For x = 1 and the uniform model: KL, cross-entropy, sum p* log p*, and the printed sum p* p*."""
    p = np.array(a5_model()["py_x"].row(0), dtype=float).ravel()
    q = np.full(3, 1 / 3)
    return {"kl": float(np.sum(p * np.log(p / q))), "ce": float(-np.sum(p * np.log(q))),
            "neg_entropy": float(np.sum(p * np.log(p))), "printed_sum": 3 / 8 + float(-np.sum(p * np.log(q)))}


@value
def a5_printed_first_term():
    """The first term of (17) as printed, sum_y p*(y|x) p*(y|x), for x = 1, exactly."""
    row = a5_model()["py_x"].row(0)
    return sum(v * v for v in row)


@value
def a5_argmins():
    """Minimisers of the expected KL and of the expected cross-entropy over the 4 parameters."""
    kl = optimize.minimize(_a5_expected_kl, np.zeros(4), method="BFGS", options={"gtol": 1e-10})
    ce = optimize.minimize(_a5_expected_ce, np.full(4, 0.5), method="BFGS", options={"gtol": 1e-10})
    return {"kl": kl.x, "ce": ce.x, "kl_min": float(kl.fun), "ce_min": float(ce.fun),
            "distance": float(np.max(np.abs(kl.x - ce.x)))}


@value
def a5_argmins_within():
    """The exponent e of the smallest power of ten above the distance between the two minimisers: the
    text prints the bound 10^e (the distance itself is the optimiser's tolerance at work)."""
    return _power_of_ten_above(a5_argmins()["distance"])


@value
def a5_expected_entropy():
    """E_{p*(x)} H(p*(y|x)): the constant gap between the two objectives."""
    px, pyx = _a5_arrays()
    return float(px @ np.array([stats.entropy(r) for r in pyx]))


@published("A5", "Eq.~(16)", r"$D_{\mathrm{KL}} = \int_y p^*(y\mid x)\log\frac{p^*(y\mid x)}{p(y\mid x;\theta)}$")
def published_a5_definition() -> bool:
    rng = np.random.default_rng(51)
    for _ in range(30):
        p, q = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4))
        if not math.isclose(np.sum(p * np.log(p / q)), stats.entropy(p, q), rel_tol=1e-12):
            return False
    return True


@published("A5", "Eq.~(17)", r"$D_{\mathrm{KL}} = \int_y p^*(y\mid x)\,p^*(y\mid x) - \int_y p^*(y\mid x)\log p(y\mid x;\theta)$")
def published_a5_decomposition() -> bool:
    rng = np.random.default_rng(52)
    for _ in range(30):
        p, q = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4))
        if not math.isclose(stats.entropy(p, q), np.sum(p * p) - np.sum(p * np.log(q)), rel_tol=1e-9):
            return False
    return True


@published("A5", "last paragraph", r"the first term does not depend on $\theta$, so both objectives have the same minimisers",
           kind="reasoning", main=True)
def published_a5_equivalence() -> bool:
    m = a5_argmins()
    rng = np.random.default_rng(53)
    gaps = [_a5_expected_ce(t) - _a5_expected_kl(t) for t in rng.normal(size=(20, 4))]
    return m["distance"] < 1e-4 and np.ptp(gaps) < 1e-12


def test_a5_model_rows_are_distributions():
    m = a5_model()
    assert sum(m["px"]) == 1 and all(sum(m["py_x"].row(i)) == 1 for i in range(3))


def test_a5_example_numbers():
    ex = a5_example()
    # by hand: p = (1/2, 1/4, 1/4), q uniform
    assert math.isclose(ex["ce"], math.log(3)) and math.isclose(ex["neg_entropy"], -1.5 * math.log(2))
    assert math.isclose(ex["kl"], ex["neg_entropy"] + ex["ce"])  # the corrected (17)
    assert a5_printed_first_term() == sp.Rational(3, 8)
    assert abs(float(a5_printed_first_term()) + ex["ce"] - ex["kl"]) > 1
    assert math.isclose(ex["printed_sum"], float(a5_printed_first_term()) + ex["ce"])


def test_a5_both_objectives_share_the_minimiser_and_differ_by_the_entropy():
    m = a5_argmins()
    assert m["distance"] < 1e-4
    assert math.isclose(m["distance"], float(np.max(np.abs(m["kl"] - m["ce"]))), rel_tol=1e-12)
    e = a5_argmins_within()  # the printed bound 10^e holds, and is the sharpest power of ten that does
    assert m["distance"] < 10.0**e and m["distance"] >= 10.0 ** (e - 1)
    assert math.isclose(m["ce_min"] - m["kl_min"], a5_expected_entropy(), abs_tol=1e-9)
    # the model is restricted: its best fit is not p* itself, so the minimum KL is positive
    assert m["kl_min"] > 1e-3
    # gradient of the expected KL vanishes at the CE minimiser (finite differences)
    assert np.allclose(numeric_gradient(_a5_expected_kl, m["ce"]), 0, atol=1e-6)
    px, pyx = _a5_arrays()
    assert math.isclose(a5_expected_entropy(), float(-px @ (pyx * np.log(pyx)).sum(axis=1)))


@checks("A5")
def test_published_a5_definition_holds():
    assert published_a5_definition()


@checks("A5")
def test_published_a5_decomposition_fails():
    assert not published_a5_decomposition()
    rng = np.random.default_rng(54)  # ours, with the logarithm, holds
    for _ in range(30):
        p, q = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4))
        assert math.isclose(stats.entropy(p, q), np.sum(p * np.log(p)) - np.sum(p * np.log(q)), rel_tol=1e-9)


def test_published_a5_equivalence_holds():
    assert published_a5_equivalence()


# =================================================================================================
# Assignment 6: the composite proximal step for rho(||theta||)
# =================================================================================================


def _a6_objective(theta, theta_t, g, eps, rho):
    return g @ (theta - theta_t) + rho(np.linalg.norm(theta)) + (theta - theta_t) @ (theta - theta_t) / (2 * eps)


def _a6_minimise(theta_t, g, eps, rho, starts=8, seed=0):
    """Global minimiser by a numerical optimiser from several starts (no use of the closed form)."""
    rng = np.random.default_rng(seed)
    best = None
    for k in range(starts):
        start = theta_t + rng.normal(size=theta_t.size) * (1 + k)
        res = optimize.minimize(_a6_objective, start, args=(theta_t, g, eps, rho), method="BFGS",
                                options={"gtol": 1e-11})
        if best is None or res.fun < best.fun:
            best = res
    return best.x


@value
def a6_decreasing():
    """rho(r) = exp(-r), a decreasing penalty: the instance, the root l and the sign of eps rho'(l)/l."""
    given = {"theta_t": [1, 2, -1], "g": [Fraction(1, 2), -1, 1], "eps": Fraction(1, 2)}
    theta_t, g = np.array(given["theta_t"], dtype=float), np.array([float(v) for v in given["g"]])
    eps = float(given["eps"])
    a = theta_t - eps * g
    norm_a = float(np.linalg.norm(a))
    l = optimize.brentq(lambda t: t - eps * math.exp(-t) - norm_a, 0.0, norm_a + 1)
    return {**given, "theta_t_f": theta_t, "g_f": g, "a": a, "norm_a": norm_a, "l": l, "ratio": -eps * math.exp(-l) / l}


@value
def a6_decreasing_theta():
    """The closed-form step a l / ||a|| for the decreasing penalty (a list, for printing)."""
    d = a6_decreasing()
    return [float(v) for v in d["a"] / d["norm_a"] * d["l"]]


@value
def a6_remark_ratios():
    """For eps = 1/2, 1/10, 1/100: the norm l of the numerically found minimiser, eps rho'(l)/l and the
    residual of (20) without absolute values, for rho(r) = exp(-r) on the instance above."""
    d = a6_decreasing()
    rows = []
    for eps in (Fraction(1, 2), Fraction(1, 10), Fraction(1, 100)):
        theta = _a6_minimise(d["theta_t_f"], d["g_f"], float(eps), lambda r: math.exp(-r))
        l = float(np.linalg.norm(theta))
        norm_a = float(np.linalg.norm(d["theta_t_f"] - float(eps) * d["g_f"]))
        rows.append({"eps": eps, "l": l, "ratio": -float(eps) * math.exp(-l) / l,
                     "residual": abs(l - float(eps) * math.exp(-l) - norm_a)})
    return rows


@value
def a6_remark_max_residual():
    """The largest residual of (20), without absolute values, over the three step sizes."""
    return max(r["residual"] for r in a6_remark_ratios())


@value
def a6_remark_residual_within():
    """The exponent e of the smallest power of ten above the largest residual: the text prints 10^e."""
    return _power_of_ten_above(a6_remark_max_residual())


@value
def a6_bump():
    """A non-convex penalty rho(r) = exp(-(r - 9/4)^2 / (2 s^2)) with s = 1/2, ||a|| = 2, eps = 1:
    the roots of l + eps rho'(l) = ||a||, their objective h(l), and the curvature bound."""
    r0, s, norm_a, eps = 2.25, 0.5, 2.0, 1.0
    drho = lambda r: -(r - r0) / s**2 * math.exp(-((r - r0) ** 2) / (2 * s**2))  # noqa: E731
    rho = lambda r: math.exp(-((r - r0) ** 2) / (2 * s**2))  # noqa: E731
    grid = np.linspace(0.0, 5.0, 5001)
    f = [t + eps * drho(t) - norm_a for t in grid]
    roots = [optimize.brentq(lambda t: t + eps * drho(t) - norm_a, grid[i], grid[i + 1])
             for i in range(len(grid) - 1) if f[i] * f[i + 1] < 0]
    h = [(t - norm_a) ** 2 / (2 * eps) + rho(t) for t in roots]
    return {"roots": roots, "h": h, "argmin": int(np.argmin(h)), "eps_max": Fraction(1, 4),
            "r0": Fraction(9, 4), "s": Fraction(1, 2), "norm_a": 2, "eps": 1}


@value
def a6_lasso():
    """rho(r) = mu r with ||a|| < eps mu: the printed equation's root is negative, the step is theta = 0."""
    theta_t, g, eps, mu = np.array([0.3, -0.2, 0.1]), np.array([0.2, 0.2, -0.4]), 0.5, 1.0
    a = theta_t - eps * g
    return {"norm_a": float(np.linalg.norm(a)), "eps_mu": eps * mu, "root": float(np.linalg.norm(a)) - eps * mu,
            "theta_t": theta_t, "g": g, "eps": eps, "mu": mu}


@published("A6", "Eq.~(19)", r"stationarity: $g + \rho'(\|\theta\|)\,\theta/\|\theta\| + (\theta - \theta^t)/\varepsilon = 0$")
def published_a6_stationarity() -> bool:
    d = a6_decreasing()
    theta = _a6_minimise(d["theta_t_f"], d["g_f"], float(d["eps"]), lambda r: math.exp(-r))
    r = np.linalg.norm(theta)
    return bool(np.allclose(d["g_f"] - math.exp(-r) * theta / r + (theta - d["theta_t_f"]) / float(d["eps"]), 0, atol=1e-6))


@published("A6", "after (19)", r"$\theta$ is proportional to $a = \theta^t - \varepsilon g$")
def published_a6_direction() -> bool:
    rng = np.random.default_rng(61)
    for _ in range(10):
        theta_t, g = rng.normal(size=3), rng.normal(size=3)
        theta = _a6_minimise(theta_t, g, 0.3, lambda r: math.log1p(r * r), starts=4)
        a = theta_t - 0.3 * g
        if abs(abs(theta @ a) - np.linalg.norm(theta) * np.linalg.norm(a)) > 1e-6:
            return False
    return True


@published("A6", "Eq.~(20)", r"$\varepsilon\rho'(\|\theta\|) + \|\theta\| = \|a\|$")
def published_a6_norm_equation() -> bool:
    rng = np.random.default_rng(62)
    for _ in range(10):
        theta_t, g = rng.normal(size=3), rng.normal(size=3)
        theta = _a6_minimise(theta_t, g, 0.3, lambda r: math.log1p(r * r), starts=4)
        r = np.linalg.norm(theta)
        if abs(0.3 * 2 * r / (1 + r * r) + r - np.linalg.norm(theta_t - 0.3 * g)) > 1e-6:
            return False
    return True


@published("A6", "last paragraph", r"with $l = \|\theta\|$: $\varepsilon\rho'(\|\theta\|)/\|\theta\| + 1 = \|a\|/l$")
def published_a6_factor() -> bool:
    rng = np.random.default_rng(65)
    for _ in range(8):
        theta_t, g, eps = rng.normal(size=3), rng.normal(size=3), float(rng.uniform(0.05, 1))
        theta = _a6_minimise(theta_t, g, eps, lambda r: math.exp(-r), starts=4)
        l = float(np.linalg.norm(theta))
        if not math.isclose(eps * -math.exp(-l) / l + 1, np.linalg.norm(theta_t - eps * g) / l, rel_tol=1e-6):
            return False
    return True


@published("A6", "statement", r"$\theta = a\,l/\|a\|$ with $l + \varepsilon\rho'(l) = \|a\|$ (small $\varepsilon$)", main=True)
def published_a6_solution() -> bool:
    rng = np.random.default_rng(63)
    penalties = [(lambda r: math.exp(-r), lambda r: -math.exp(-r)),
                 (lambda r: math.log1p(r * r), lambda r: 2 * r / (1 + r * r)),
                 (lambda r: r**4 / 4, lambda r: r**3)]
    for rho, drho in penalties:
        for _ in range(4):
            theta_t, g, eps = rng.normal(size=3), rng.normal(size=3), 0.1
            a = theta_t - eps * g
            l = optimize.brentq(lambda t: t + eps * drho(t) - np.linalg.norm(a), 1e-9, 10)
            theta = _a6_minimise(theta_t, g, eps, rho, starts=4)
            if not np.allclose(theta, a / np.linalg.norm(a) * l, atol=1e-5):
                return False
    return True


@published("A6", "last paragraph", r"(20) needs $\varepsilon$ small so that $\varepsilon\rho'(\|\theta\|)/\|\theta\| > 0$; otherwise take absolute values",
           kind="reasoning")
def published_a6_remark() -> bool:
    """As printed, positivity of eps rho'/||theta|| is what makes (20) valid. With rho decreasing it
    is negative for every eps, yet the minimiser satisfies (20) without absolute values."""
    for row in a6_remark_ratios():  # minimisers found numerically for three step sizes
        if row["residual"] < 1e-6 and row["ratio"] < 0:
            return False  # (20) holds although the printed condition fails
    return True


def test_a6_decreasing_penalty_closed_form_matches_the_optimiser():
    d = a6_decreasing()
    theta = _a6_minimise(d["theta_t_f"], d["g_f"], float(d["eps"]), lambda r: math.exp(-r))
    assert np.allclose(theta, a6_decreasing_theta(), atol=1e-6)
    assert d["ratio"] < 0 and math.isclose(d["l"] - 0.5 * math.exp(-d["l"]), d["norm_a"])
    assert np.allclose(d["a"], np.array([1, 2, -1]) - 0.5 * np.array([0.5, -1, 1]))
    # the printed givens are the ones computed with: a = theta^t - eps g exactly, against the float arrays
    theta_t, g, eps = ([Fraction(v) for v in d[k]] for k in ("theta_t", "g")), None, Fraction(d["eps"])
    theta_t, g = list(theta_t)
    assert np.array_equal(np.array(theta_t, dtype=float), d["theta_t_f"]) and np.array_equal(np.array(g, dtype=float), d["g_f"])
    a = [t - eps * gi for t, gi in zip(theta_t, g)]
    assert np.allclose(d["a"], np.array(a, dtype=float), rtol=0, atol=1e-15)
    assert math.isclose(d["norm_a"], math.sqrt(sum(v * v for v in a)), rel_tol=1e-14)


def test_a6_remark_ratios_are_negative_while_20_holds():
    rows = a6_remark_ratios()
    assert [r["eps"] for r in rows] == [Fraction(1, 2), Fraction(1, 10), Fraction(1, 100)]
    d = a6_decreasing()
    for r in rows:
        eps = float(r["eps"])
        root = optimize.brentq(lambda t: t - eps * math.exp(-t) - np.linalg.norm(d["theta_t_f"] - eps * d["g_f"]), 0, 10)
        assert abs(r["l"] - root) < 1e-6 and r["residual"] < 1e-6 and r["ratio"] < 0
        assert abs(r["ratio"] - (-eps * math.exp(-root) / root)) < 1e-6  # at the root, not the minimiser
    assert a6_remark_max_residual() < 1e-6 and a6_remark_max_residual() == max(r["residual"] for r in rows)
    e = a6_remark_residual_within()  # the printed bound 10^e holds, and is the sharpest power of ten that does
    assert a6_remark_max_residual() < 10.0**e and a6_remark_max_residual() >= 10.0 ** (e - 1)
    assert math.isclose(rows[0]["l"], d["l"], rel_tol=1e-6) and math.isclose(rows[0]["ratio"], d["ratio"], rel_tol=1e-5)


@checks("A6")
def test_a6_the_scalar_factor_is_positive_at_every_minimiser():
    """1 + eps rho'(l)/l = ||a||/l > 0: the absolute-value branch never describes the minimiser."""
    rng = np.random.default_rng(64)
    for _ in range(10):
        theta_t, g, eps = rng.normal(size=3), rng.normal(size=3), float(rng.uniform(0.05, 2))
        theta = _a6_minimise(theta_t, g, eps, lambda r: math.exp(-r), starts=4)
        l = np.linalg.norm(theta)
        assert 1 + eps * -math.exp(-l) / l > 0
        assert theta @ (theta_t - eps * g) > 0


def test_a6_bump_has_three_roots_and_only_one_is_the_step():
    b = a6_bump()
    assert len(b["roots"]) == 3 and b["argmin"] == 0 and b["h"][0] < min(b["h"][1:])
    r0, s = float(b["r0"]), float(b["s"])
    rho = lambda r: math.exp(-((r - r0) ** 2) / (2 * s**2))  # noqa: E731
    # brute force over l on a fine grid, and over theta in R^3 with the optimiser
    grid = np.linspace(0, 5, 200_001)
    h = (grid - 2.0) ** 2 / 2 + np.exp(-((grid - r0) ** 2) / (2 * s**2))
    assert abs(grid[np.argmin(h)] - b["roots"][0]) < 1e-4
    theta_t, g = np.array([2.0, 0.0, 0.0]), np.zeros(3)  # a = theta_t, ||a|| = 2
    theta = _a6_minimise(theta_t, g, 1.0, rho, starts=12)
    assert abs(np.linalg.norm(theta) - b["roots"][0]) < 1e-5
    # each root is a critical point of h; h'' < 0 at the middle one (a local maximum)
    hpp = lambda t: (rho(t + 1e-4) - 2 * rho(t) + rho(t - 1e-4)) / 1e-8 + 1  # noqa: E731
    assert hpp(b["roots"][1]) < 0 < hpp(b["roots"][0]) and hpp(b["roots"][2]) > 0
    # below eps = s^2 the root is unique
    assert b["eps_max"] == b["s"] ** 2
    for eps in (0.2, 0.24):
        f = lambda t: t + eps * -(t - r0) / s**2 * math.exp(-((t - r0) ** 2) / (2 * s**2)) - 2  # noqa: E731
        vals = np.array([f(t) for t in np.linspace(0, 5, 5001)])
        assert np.sum(vals[:-1] * vals[1:] < 0) == 1


def test_a6_bump_roots_and_h_by_mpmath():
    """The roots of l + eps rho'(l) = ||a|| and h at them, recomputed with mpmath at 30 digits (bisection
    brackets from a coarse grid, then mpmath's solver) from the printed r0, s, ||a||, eps; within 1e-9."""
    import mpmath

    b = a6_bump()
    r0, s, na, eps = (mpmath.mpf(sp.Rational(b[k]).p) / sp.Rational(b[k]).q for k in ("r0", "s", "norm_a", "eps"))
    with mpmath.workdps(30):
        rho = lambda t: mpmath.exp(-((t - r0) ** 2) / (2 * s**2))  # noqa: E731
        f = lambda t: t - eps * (t - r0) / s**2 * rho(t) - na  # noqa: E731
        grid = [mpmath.mpf(k) / 100 for k in range(501)]
        roots = [mpmath.findroot(f, (u, v), solver="anderson") for u, v in itertools.pairwise(grid) if f(u) * f(v) < 0]
        h = [(t - na) ** 2 / (2 * eps) + rho(t) for t in roots]
    assert len(roots) == len(b["roots"]) == 3
    assert np.allclose(b["roots"], [float(t) for t in roots], rtol=0, atol=1e-9)
    assert np.allclose(b["h"], [float(v) for v in h], rtol=0, atol=1e-9)
    assert b["argmin"] == int(np.argmin([float(v) for v in h]))


def test_a6_lasso_numbers_from_the_instance():
    """||a|| and eps mu in exact decimal arithmetic from the stored instance (printed to 10^-3 and 10^-1)."""
    d = a6_lasso()
    dec = lambda v: Fraction(repr(float(v)))  # noqa: E731  (the decimal the float was typed as)
    a = [dec(t) - dec(d["eps"]) * dec(gi) for t, gi in zip(d["theta_t"], d["g"])]
    assert math.isclose(d["norm_a"], math.sqrt(sum(v * v for v in a)), rel_tol=1e-14)
    assert d["eps_mu"] == float(dec(d["eps"]) * dec(d["mu"]))
    assert math.isclose(d["root"], d["norm_a"] - d["eps_mu"], rel_tol=1e-14) and d["root"] < 0


def test_a6_lasso_step_is_zero_when_the_root_is_negative():
    d = a6_lasso()
    assert d["root"] < 0
    h = lambda l: (l - d["norm_a"]) ** 2 / (2 * d["eps"]) + d["mu"] * l  # noqa: E731
    res = optimize.minimize_scalar(h, bounds=(0, 2), method="bounded", options={"xatol": 1e-10})
    assert res.x < 1e-6
    res3 = optimize.minimize(_a6_objective, d["theta_t"], args=(d["theta_t"], d["g"], d["eps"], lambda r: d["mu"] * r),
                             method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000})
    assert np.linalg.norm(res3.x) < 1e-6


@checks("A6")
def test_a6_quadratic_penalty_gives_back_assignment_3():
    lam, eps, l, na = sp.symbols("lambda epsilon l n_a", positive=True)
    root = sp.solve(sp.Eq(l + eps * sp.diff(lam * l**2 / 2, l), na), l)
    assert root == [na / (1 + eps * lam)]


def test_published_a6_stationarity_holds():
    assert published_a6_stationarity()


@checks("A6")
def test_published_a6_direction_holds():
    assert published_a6_direction()


@checks("A6")
def test_published_a6_norm_equation_holds():
    assert published_a6_norm_equation()


@checks("A6")
def test_published_a6_solution_holds():
    assert published_a6_solution()


@checks("A6")
def test_published_a6_factor_holds():
    assert published_a6_factor()


def test_published_a6_remark_fails():
    assert not published_a6_remark()


# =================================================================================================
# Assignment 7: shift of the class prior
# =================================================================================================


@value
def a7_model():
    """K = 3 classes, x in {1..5}: class-conditionals p(x | y) (rows), training prior p(y), real prior p*(y)."""
    r = sp.Rational
    return {"px_y": sp.Matrix([[r(2, 5), r(3, 10), r(1, 5), r(1, 10), 0],
                               [r(1, 10), r(1, 5), r(2, 5), r(1, 5), r(1, 10)],
                               [0, r(1, 10), r(1, 5), r(3, 10), r(2, 5)]]),
            "prior": [Fraction(1, 2), Fraction(1, 3), Fraction(1, 6)],
            "prior_star": [Fraction(1, 6), Fraction(1, 3), Fraction(1, 2)]}


def _a7_tables():
    m = a7_model()
    px_y = [[Fraction(int(v.p), int(v.q)) for v in m["px_y"].row(y)] for y in range(3)]
    return px_y, m["prior"], m["prior_star"]


def _a7_posterior(prior) -> list[list[Fraction]]:
    """Exact Bayes: p(y | x) for a given prior; rows indexed by x."""
    px_y, _, _ = _a7_tables()
    out = []
    for x in range(5):
        joint = [px_y[y][x] * prior[y] for y in range(3)]
        out.append([j / sum(joint) for j in joint])
    return out


@value
def a7_reweighted():
    """The network's outputs p(y|x) reweighted by p*(y)/p(y) and renormalised (rows: x = 1..5)."""
    _, prior, star = _a7_tables()
    out = []
    for row in _a7_posterior(prior):
        w = [row[y] * star[y] / prior[y] for y in range(3)]
        out.append([sp.Rational(v.numerator, v.denominator) / sp.Rational(sum(w).numerator, sum(w).denominator)
                    for v in w])
    return sp.Matrix(out)


@value
def a7_reweighted_by_class():
    """The same table transposed: row y, column x, for printing beside p(x | y)."""
    return a7_reweighted().T


def _a7_error(decision, prior) -> Fraction:
    px_y, _, _ = _a7_tables()
    return 1 - sum(px_y[decision[x]][x] * prior[decision[x]] for x in range(5))


@value
def a7_decisions():
    """Decisions (1-based classes, x = 1..5) of the plain and of the reweighted network."""
    _, prior, _ = _a7_tables()
    plain = [max(range(3), key=lambda y: row[y]) + 1 for row in _a7_posterior(prior)]
    rw = a7_reweighted()
    adjusted = [max(range(3), key=lambda y: rw[x, y]) + 1 for x in range(5)]
    return {"plain": plain, "adjusted": adjusted}


@value
def a7_errors():
    """Error rates on the real data (prior p*) of both decision rules, exactly."""
    _, _, star = _a7_tables()
    d = a7_decisions()
    return {"plain": _a7_error([c - 1 for c in d["plain"]], star),
            "adjusted": _a7_error([c - 1 for c in d["adjusted"]], star)}


@published("A7", "first display", r"$p(x,y) = p(x\mid y)p(y) = p(y\mid x)p(x)$; in application $p(x\mid y)$ is unchanged")
def published_a7_factorisation() -> bool:
    px_y, prior, star = _a7_tables()
    for pr in (prior, star):  # training data, then the application with p(x | y) kept
        post = _a7_posterior(pr)
        px = [sum(px_y[y][x] * pr[y] for y in range(3)) for x in range(5)]
        if not all(px_y[y][x] * pr[y] == post[x][y] * px[x] for x in range(5) for y in range(3)):
            return False
    return True


@published("A7", "third display", r"$p_a(y\mid x) \propto \frac{p^*(y)}{p(y)}\,p(y\mid x)$")
def published_a7_reweighting() -> bool:
    _, _, star = _a7_tables()
    exact = _a7_posterior(star)
    rw = a7_reweighted()
    return all(rw[x, y] == sp.Rational(exact[x][y].numerator, exact[x][y].denominator) for x in range(5) for y in range(3))


@published("A7", "last sentence", r"deciding for the largest reweighted output is optimal for the 0/1 loss", main=True)
def published_a7_decision() -> bool:
    _, _, star = _a7_tables()
    best = min(_a7_error(list(d), star) for d in itertools.product(range(3), repeat=5))
    return a7_errors()["adjusted"] == best


def test_a7_model_tables_are_distributions():
    m = a7_model()
    assert all(sum(m["px_y"].row(y)) == 1 for y in range(3))
    assert sum(m["prior"]) == 1 and sum(m["prior_star"]) == 1


def test_a7_reweighted_posterior_matches_sampling_from_the_real_distribution():
    """Monte Carlo: draw (x, y) with the real prior and count, independent of Bayes' rule."""
    m = a7_model()
    px_y = np.array(m["px_y"], dtype=float)
    rng = np.random.default_rng(71)
    y = rng.choice(3, size=300_000, p=[float(p) for p in m["prior_star"]])
    u = rng.random(y.size)
    x = (u[:, None] > np.cumsum(px_y[y], axis=1)).sum(axis=1)
    counts = np.zeros((5, 3))
    np.add.at(counts, (x, y), 1)
    freq = counts / counts.sum(axis=1, keepdims=True)
    assert np.allclose(freq, np.array(a7_reweighted(), dtype=float), atol=0.01)
    assert np.allclose(freq.T, np.array(a7_reweighted_by_class(), dtype=float), atol=0.01)


def test_a7_errors_and_the_brute_force_optimum():
    _, _, star = _a7_tables()
    errors = {d: _a7_error(list(d), star) for d in itertools.product(range(3), repeat=5)}
    best = min(errors.values())
    e = a7_errors()
    assert e["adjusted"] == best < e["plain"]
    assert e == {"plain": Fraction(29, 60), "adjusted": Fraction(23, 60)}
    assert a7_decisions()["plain"] != a7_decisions()["adjusted"]


def test_a7_decisions_are_the_unique_brute_force_optima():
    """Over all 3^5 deterministic rules, exact error rates from p(x | y) and a prior alone (no posterior):
    the plain decisions are the unique optimum under the training prior, the reweighted ones under the real one."""
    _, prior, star = _a7_tables()
    d = a7_decisions()
    for name, pr in (("plain", prior), ("adjusted", star)):
        errors = {rule: _a7_error(list(rule), pr) for rule in itertools.product(range(3), repeat=5)}
        best = min(errors.values())
        assert [rule for rule, e in errors.items() if e == best] == [tuple(c - 1 for c in d[name])], name


def test_published_a7_factorisation_holds():
    assert published_a7_factorisation()


def test_published_a7_reweighting_holds():
    assert published_a7_reweighting()


def test_published_a7_decision_holds():
    assert published_a7_decision()


# --- the answer: the score to maximise -----------------------------------------------------------

A7_Y, A7_X = sp.symbols("y x")


class _Conditional(sp.Function):
    """p(y | x), printed so."""

    def _latex(self, printer, exp=None):
        shown = rf"p({printer._print(self.args[0])} \mid {printer._print(self.args[1])})"
        return shown if exp is None else rf"{shown}^{{{exp}}}"

    def _sympystr(self, printer):
        return f"p({printer._print(self.args[0])}|{printer._print(self.args[1])})"


@value
def a7_score():
    """The function of y whose argmax is the decision: the real posterior p_a(y | x) up to a factor free of y,
    from the real joint p(x | y) p*(y), with p(x | y) = p(y | x) p(x) / p(y) by Bayes on the training data,
    divided by p(x)."""
    p, p_star = sp.Function("p"), sp.Function("p^*")
    joint_real = _Conditional(A7_Y, A7_X) * p(A7_X) / p(A7_Y) * p_star(A7_Y)
    return sp.simplify(joint_real / p(A7_X))


def test_a7_score_decides_as_the_best_of_all_rules():
    """The score evaluated with the network's outputs (Bayes in floating point), maximised over y, against the
    best of all 3^5 decision rules on the real data; renormalised, it is the real posterior."""
    px_y = np.array(a7_model()["px_y"].tolist(), dtype=float)
    prior, star = (np.array([float(v) for v in a7_model()[k]]) for k in ("prior", "prior_star"))
    outputs = px_y * prior[:, None] / (px_y * prior[:, None]).sum(axis=0)  # the trained network, p(y | x)
    p, p_star = sp.Function("p"), sp.Function("p^*")
    scores = np.array([[float(a7_score().subs({_Conditional(A7_Y, A7_X): outputs[y, x]})
                              .subs({p_star(A7_Y): star[y], p(A7_Y): prior[y]})) for x in range(5)] for y in range(3)])
    real = px_y * star[:, None] / (px_y * star[:, None]).sum(axis=0)
    assert np.allclose(scores / scores.sum(axis=0), real, atol=1e-12)
    best = min(itertools.product(range(3), repeat=5), key=lambda rule: 1 - sum(real[rule[x], x] * (px_y[:, x] @ star)
                                                                                 for x in range(5)))
    assert tuple(scores.argmax(axis=0)) == best


# =================================================================================================
# Assignment 8: online k-means
# =================================================================================================


def _a8_data(seed=81, m=60):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 4.0]])
    return centres[rng.integers(0, 3, size=m)] + rng.normal(scale=0.6, size=(m, 2))


def _a8_online(data, centres, rate):
    """One pass of online k-means; rate(t, n_k) gives the step; returns centres and assignments."""
    y = np.array(centres, dtype=float)
    counts = np.ones(len(y))
    assigned: list[list[int]] = [[] for _ in y]
    for t, x in enumerate(data, start=1):
        k = int(np.argmin(((y - x) ** 2).sum(axis=1)))
        counts[k] += 1
        y[k] += rate(t, counts[k]) * (x - y[k])
        assigned[k].append(t - 1)
    return y, assigned


@value
def a8_constant_rate():
    """The constant rate alpha of the check and the stationary variance ratio alpha / (2 - alpha)."""
    alpha = Fraction(1, 10)
    return {"alpha": alpha, "ratio": alpha / (2 - alpha)}


@value
def a8_mc():
    """Monte Carlo: one centre, data N(0, 1); spread of y_T after T steps over many runs."""
    runs, steps = 4000, 400
    rng = np.random.default_rng(82)
    alpha = float(a8_constant_rate()["alpha"])
    y_const = np.full(runs, 3.0)
    y_mean = np.full(runs, 3.0)
    for t in range(1, steps + 1):
        x = rng.normal(size=runs)
        y_const += alpha * (x - y_const)
        y_mean += (x - y_mean) / t
    v = float(y_const.var())
    return {"runs": runs, "steps": steps, "var_const": v, "se_const": v * math.sqrt(2 / (runs - 1)),
            "var_mean": float(y_mean.var())}


@value
def a8_fast_decay_weight():
    """prod_{t>=1} (1 - 1/(t+1)^2): the weight the start y_0 keeps forever with alpha_t = 1/(t+1)^2."""
    t, big_t = sp.symbols("t T", integer=True, positive=True)
    partial = sp.simplify(sp.product(t * (t + 2) / (t + 1) ** 2, (t, 1, big_t)))  # 1 - 1/(t+1)^2, factored
    return sp.limit(partial, big_t, sp.oo)


@value
def a8_trajectories():
    """One run for the figure: y_t for three rates, data N(0, 1), y_0 = 3, every second step."""
    rng = np.random.default_rng(83)
    x = rng.normal(size=200)
    alpha = float(a8_constant_rate()["alpha"])
    rates = {"constant": lambda t: alpha, "harmonic": lambda t: 1 / t, "fast": lambda t: 1 / (t + 1) ** 2}
    out = {}
    for name, rate in rates.items():
        y, path = 3.0, [(0, 3.0)]
        for t in range(1, 201):
            y += rate(t) * (x[t - 1] - y)
            if t % 2 == 0:
                path.append((t, y))
        out[name] = path
    out["mean"] = float(x.mean())
    out["mean_line"] = [(0, out["mean"]), (200, out["mean"])]
    return out


@published("A8a", "gradient display", r"$\nabla_{y_k} f = 2(y_k - x)$ for the closest centre $k$, $0$ otherwise")
def published_a8_gradient() -> bool:
    rng = np.random.default_rng(84)
    for _ in range(20):
        y, x = rng.normal(size=(3, 2)), rng.normal(size=2)
        f = lambda flat: np.min(((flat.reshape(3, 2) - x) ** 2).sum(axis=1))  # noqa: E731
        k = int(np.argmin(((y - x) ** 2).sum(axis=1)))
        printed = np.zeros((3, 2))
        printed[k] = 2 * (y[k] - x)
        if not np.allclose(numeric_gradient(f, y.ravel()).reshape(3, 2), printed, atol=1e-6):
            return False
    return True


@published("A8a", "steps (1)--(2)", r"update $y_k \leftarrow y_k + \alpha(t)(x - y_k)$ of the closest centre", main=True)
def published_a8_update() -> bool:
    """With alpha = 1/n_k the online centres are the running means of their points (MacQueen)."""
    data = _a8_data()
    start = data[:3]
    y, assigned = _a8_online(data[3:], start, lambda t, n: 1 / n)
    for k in range(3):
        pts = np.vstack([start[k]] + [data[3 + i] for i in assigned[k]])
        if not np.allclose(y[k], pts.mean(axis=0), atol=1e-12):
            return False
    return True


@published("A8a", "last sentences", r"with a constant rate the centres keep oscillating and do not converge", kind="reasoning")
def published_a8_constant_rate() -> bool:
    mc = a8_mc()
    return mc["var_const"] - 4 * mc["se_const"] > 10 * mc["var_mean"]


@checks("A8a")
def test_a8_online_update_equals_the_batch_mean_of_the_assigned_points():
    data = _a8_data(seed=85, m=90)
    y, assigned = _a8_online(data[3:], data[:3], lambda t, n: 1 / n)
    for k in range(3):
        members = np.vstack([data[k]] + [data[3 + i] for i in assigned[k]])
        assert np.allclose(y[k], members.mean(axis=0))


def test_a8_constant_rate_variance_matches_monte_carlo():
    mc = a8_mc()
    c = a8_constant_rate()
    assert abs(mc["var_const"] - float(c["ratio"])) < 4 * mc["se_const"]
    assert c["ratio"] == Fraction(1, 19) and abs(mc["var_mean"] - 1 / mc["steps"]) < 0.0005


def test_a8_constant_rate_ratio_is_the_sum_of_the_squared_weights():
    """y_T - E y_T = alpha sum_k (1-alpha)^k x_{T-k}: its variance alpha^2 sum (1-alpha)^(2k), summed by sympy."""
    c = a8_constant_rate()
    k = sp.symbols("k", integer=True, nonnegative=True)
    alpha = sp.Rational(c["alpha"].numerator, c["alpha"].denominator)
    series = alpha**2 * sp.summation((1 - alpha) ** (2 * k), (k, 0, sp.oo))
    assert sp.nsimplify(series) == sp.Rational(c["ratio"].numerator, c["ratio"].denominator)
    assert 0 < alpha < 1


def test_a8_monte_carlo_reproduced_in_closed_form():
    """The same draws (seed 82, one steps x runs block, in the same order), with the recursions solved in
    closed form: y_T = (1-alpha)^T y_0 + alpha sum_t (1-alpha)^(T-t) x_t, and with alpha_t = 1/t the mean
    of x_1..x_T; variances by math.fsum. Tolerance 1e-9, far below the printed 10^-4."""
    mc = a8_mc()
    runs, steps = mc["runs"], mc["steps"]
    alpha = float(a8_constant_rate()["alpha"])
    x = np.random.default_rng(82).normal(size=(steps, runs))
    weights = alpha * (1 - alpha) ** np.arange(steps - 1, -1, -1)
    _, var_const = _fsum_mean_var(3.0 * (1 - alpha) ** steps + weights @ x)
    _, var_mean = _fsum_mean_var(x.mean(axis=0))
    assert abs(mc["var_const"] - var_const) < 1e-9 and abs(mc["var_mean"] - var_mean) < 1e-9
    assert abs(mc["se_const"] - var_const * math.sqrt(2 / (runs - 1))) < 1e-9


def test_a8_trajectories_match_the_closed_forms():
    """Each plotted point (printed to 10^-3) within 1e-9 of the solved recursion on the same data (seed 83):
    y_t = prod_k (1 - r_k) y_0 + sum_k r_k x_k prod_{j > k} (1 - r_j), with the products in closed form:
    (1-alpha)^(t-k) for the constant rate, the running mean for r = 1/t, and for r_j = 1/(j+1)^2 the
    telescoping prod_{j=a}^{b} j (j+2)/(j+1)^2 = a (b+2) / ((a+1)(b+1))."""
    tr = a8_trajectories()
    x = np.random.default_rng(83).normal(size=200)
    alpha = float(a8_constant_rate()["alpha"])

    def fast_prod(a, b):
        return a * (b + 2) / ((a + 1) * (b + 1)) if a <= b else 1.0

    def solved(name, t):
        if name == "harmonic":
            return 3.0 if t == 0 else math.fsum(x[:t]) / t
        if name == "constant":
            return (1 - alpha) ** t * 3.0 + math.fsum(alpha * (1 - alpha) ** (t - k) * x[k - 1] for k in range(1, t + 1))
        return fast_prod(1, t) * 3.0 + math.fsum(x[k - 1] / (k + 1) ** 2 * fast_prod(k + 1, t) for k in range(1, t + 1))

    for name in ("constant", "harmonic", "fast"):
        path = np.array(tr[name], dtype=float)
        assert np.array_equal(path[:, 0], np.arange(0, 201, 2)), name
        assert np.allclose(path[:, 1], [solved(name, int(t)) for t in path[:, 0]], rtol=0, atol=1e-9), name
    assert math.isclose(tr["mean"], math.fsum(x) / 200, abs_tol=1e-12)
    assert np.allclose(np.array(tr["mean_line"], dtype=float), [(0, math.fsum(x) / 200), (200, math.fsum(x) / 200)],
                       rtol=0, atol=1e-12)


def test_a8_fast_decay_keeps_half_of_the_start():
    assert a8_fast_decay_weight() == sp.Rational(1, 2)
    assert math.isclose(math.prod(1 - 1 / (t + 1) ** 2 for t in range(1, 200_000)), 0.5, rel_tol=1e-5)
    # so the limit depends on where one starts: two starts, same data, different limits
    rng = np.random.default_rng(86)
    x = rng.normal(size=5000)
    ends = []
    for y in (3.0, -3.0):
        for t in range(1, 5001):
            y += (x[t - 1] - y) / (t + 1) ** 2
        ends.append(y)
    assert abs(ends[0] - ends[1] - 3.0) < 0.01  # half of the 6 between the starts survives


def test_a8_trajectories_end_where_the_analysis_says():
    tr = a8_trajectories()
    assert math.isclose(tr["harmonic"][-1][1], tr["mean"], abs_tol=1e-12)
    assert abs(tr["fast"][-1][1] - 1.5) < 0.3
    assert len(tr["constant"]) == 101 and tr["constant"][0] == (0, 3.0)
    assert tr["mean_line"][1] == (tr["harmonic"][-1][0], tr["mean"])


@checks("A8a")
def test_published_a8_gradient_holds():
    assert published_a8_gradient()


@checks("A8a")
def test_published_a8_update_holds():
    assert published_a8_update()


def test_published_a8_constant_rate_holds():
    assert published_a8_constant_rate()


# --- 8 (b): run-time, by counting the arithmetic of instrumented implementations ----------------


class _Counter:
    def __init__(self):
        self.ops = 0

    def sqdist(self, u, v):
        self.ops += len(u)  # one subtract-square-add per coordinate
        return float(((u - v) ** 2).sum())

    def axpy(self, n):
        self.ops += n


def _a8_sgd_epoch_ops(data, centres) -> int:
    c = _Counter()
    y = np.array(centres, dtype=float)
    for x in data:
        k = min(range(len(y)), key=lambda j: c.sqdist(x, y[j]))
        y[k] += 0.1 * (x - y[k])
        c.axpy(len(x))
    return c.ops


def _a8_lloyd_iteration_ops(data, centres) -> int:
    c = _Counter()
    y = np.array(centres, dtype=float)
    labels = [min(range(len(y)), key=lambda j: c.sqdist(x, y[j])) for x in data]
    for k in range(len(y)):
        members = [x for x, lab in zip(data, labels) if lab == k]
        for _ in members:
            c.axpy(len(data[0]))  # accumulate the sum
        c.axpy(len(data[0]))  # divide by the count
    return c.ops


@value
def a8_counts():
    """Operation counts for n = 2, m = 60, K = 3, and the formulas they follow."""
    n, m, k = 2, 60, 3
    return {"n": n, "m": m, "K": k, "sgd": n * m * k + n * m, "lloyd": n * m * k + n * m + n * k}


@published("A8b", "8 (b)", r"one SGD epoch costs $O(nmK)$", main=True)
def published_a8_sgd_cost() -> bool:
    rng = np.random.default_rng(87)
    for n, m, k in [(2, 30, 3), (3, 50, 5), (5, 40, 2), (4, 20, 8)]:
        ops = _a8_sgd_epoch_ops(rng.normal(size=(m, n)), rng.normal(size=(k, n)))
        if not (n * m * k <= ops <= 2 * n * m * k):
            return False
    return True


@published("A8b", "8 (b)", r"a k-means iteration costs $O(nmK)$, dominated by the assignment step")
def published_a8_lloyd_cost() -> bool:
    rng = np.random.default_rng(88)
    for n, m, k in [(2, 30, 3), (3, 50, 5), (5, 40, 2), (4, 20, 8)]:
        ops = _a8_lloyd_iteration_ops(rng.normal(size=(m, n)), rng.normal(size=(k, n)))
        if not (n * m * k <= ops <= 3 * n * m * k and n * m * k >= ops - n * m * k):
            return False
    return True


def test_a8_counts_match_the_instrumented_implementations():
    ct = a8_counts()
    data, centres = _a8_data(), _a8_data(seed=89, m=3)
    assert data.shape == (ct["m"], ct["n"]) and centres.shape[0] == ct["K"]
    assert _a8_sgd_epoch_ops(data, centres) == ct["sgd"]
    assert _a8_lloyd_iteration_ops(data, centres) == ct["lloyd"]


@checks("A8b")
def test_published_a8_sgd_cost_holds():
    assert published_a8_sgd_cost()


@checks("A8b")
def test_published_a8_lloyd_cost_holds():
    assert published_a8_lloyd_cost()


# --- the answer of (b): both operation counts as polynomials --------------------------------------

A8_N, A8_M, A8_K = sp.symbols("n m K", positive=True, integer=True)
A8_MONOMIALS = [sp.Mul(*c) for r in range(4) for c in itertools.combinations((A8_N, A8_M, A8_K), r)]


def _a8_counted(n: int, m: int, k: int, seed: int) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    data, centres = rng.normal(size=(m, n)), rng.normal(size=(k, n))
    return _a8_sgd_epoch_ops(data, centres), _a8_lloyd_iteration_ops(data, centres)


@value
def a8b_operation_counts():
    """(online epoch, Lloyd iteration): the operations the instrumented implementations count, as polynomials
    in n, m, K of degree at most one in each, fitted exactly on the 8 sizes of a 2 x 2 x 2 grid."""
    sizes = list(itertools.product((2, 3), (4, 5), (2, 3)))
    basis = sp.Matrix([[mono.subs({A8_N: n, A8_M: m, A8_K: k}) for mono in A8_MONOMIALS] for n, m, k in sizes])
    counted = [_a8_counted(n, m, k, seed) for seed, (n, m, k) in enumerate(sizes)]
    fits = [basis.LUsolve(sp.Matrix([c[which] for c in counted])) for which in (0, 1)]
    return tuple(sp.expand(sum(c * mono for c, mono in zip(fit, A8_MONOMIALS))) for fit in fits)


def test_a8b_operation_counts_predict_other_sizes_and_are_order_nmk():
    """The fitted polynomials against the counts at sizes outside the fitting grid, and their leading term."""
    polys = a8b_operation_counts()
    for seed, (n, m, k) in enumerate([(1, 7, 4), (5, 17, 3), (4, 30, 8), (7, 11, 1)]):
        counted = _a8_counted(n, m, k, 800 + seed)
        assert tuple(int(p.subs({A8_N: n, A8_M: m, A8_K: k})) for p in polys) == counted
    for p in polys:  # O(nmK): the term nmK, with coefficient 1, and terms of lower degree only
        poly = sp.Poly(p, A8_N, A8_M, A8_K)
        assert poly.coeff_monomial(A8_N * A8_M * A8_K) == 1 and poly.total_degree() == 3
        assert all(sum(monomial) < 3 for monomial in poly.monoms() if monomial != (1, 1, 1))


# =================================================================================================
# Assignment 9: backpropagation through a normalised linear layer
# =================================================================================================


def _a9_forward(w, b, x):
    return (w @ x + b) / np.linalg.norm(w, axis=1)


def _a9_ours(w, b, x, g):
    norms = np.linalg.norm(w, axis=1)
    y = _a9_forward(w, b, x)
    db = g / norms
    dx = w.T @ (g / norms)
    dw = (g / norms)[:, None] * (x[None, :] - y[:, None] * w / norms[:, None])
    return db, dx, dw


def _a9_instance(seed):
    rng = np.random.default_rng(seed)
    m, n = 3, 4
    return rng.normal(size=(m, n)), rng.normal(size=m), rng.normal(size=n), rng.normal(size=m)


def _a9_fd(w, b, x, g):
    db = numeric_gradient(lambda t: g @ _a9_forward(w, t, x), b)
    dx = numeric_gradient(lambda t: g @ _a9_forward(w, b, t), x)
    dw = numeric_gradient(lambda t: g @ _a9_forward(t, b, x), w)
    return db, dx, dw


@value
def a9_errors():
    """Largest deviation from finite differences on one random instance: ours and the printed (22), (24)."""
    w, b, x, g = _a9_instance(91)
    m = len(b)
    norms = np.linalg.norm(w, axis=1)
    fd_db, fd_dx, fd_dw = _a9_fd(w, b, x, g)
    db, dx, dw = _a9_ours(w, b, x, g)
    printed_db = np.array([g[(i + 1) % m] / norms[(i + 1) % m] for i in range(m)])  # index j != i
    summed = sum(g[k] * (x / norms[k] - (w[k] @ x + b[k]) * w[k] / norms[k] ** 3) for k in range(m))
    printed_dw = np.tile(summed, (m, 1))
    return {"ours": float(max(np.abs(db - fd_db).max(), np.abs(dx - fd_dx).max(), np.abs(dw - fd_dw).max())),
            "printed_db": float(np.abs(printed_db - fd_db).max()), "printed_dw": float(np.abs(printed_dw - fd_dw).max())}


@value
def a9_errors_within():
    """The exponent e of the smallest power of ten above our largest deviation: the text prints 10^e."""
    return _power_of_ten_above(a9_errors()["ours"])


@published("A9", "Eq.~(21)", r"$\mathrm{d}L/\mathrm{d}\theta = \sum_i g_i\,\partial y_i/\partial\theta$")
def published_a9_chain_rule() -> bool:
    w, b, x, g = _a9_instance(92)
    jac = np.array([numeric_gradient(lambda t: _a9_forward(w, b, t)[i], x) for i in range(len(b))])
    return bool(np.allclose(g @ jac, numeric_gradient(lambda t: g @ _a9_forward(w, b, t), x), atol=1e-6))


@published("A9", "Eq.~(22)", r"$\mathrm{d}L/\mathrm{d}b_i = g_i\,\partial y_i/\partial b_i = g_j/\|w_j\|$")
def published_a9_grad_b() -> bool:
    for seed in range(93, 98):
        w, b, x, g = _a9_instance(seed)
        norms = np.linalg.norm(w, axis=1)
        m = len(b)
        printed = np.array([g[(i + 1) % m] / norms[(i + 1) % m] for i in range(m)])  # j != i, as in the text
        if not np.allclose(printed, _a9_fd(w, b, x, g)[0], atol=1e-6):
            return False
    return True


@published("A9", "Eq.~(23)", r"$\mathrm{d}L/\mathrm{d}x_j = \sum_i g_i w_{ij}/\|w_i\|$")
def published_a9_grad_x() -> bool:
    for seed in range(93, 98):
        w, b, x, g = _a9_instance(seed)
        printed = np.array([sum(g[i] * w[i, j] / np.linalg.norm(w[i]) for i in range(len(b))) for j in range(len(x))])
        if not np.allclose(printed, _a9_fd(w, b, x, g)[1], atol=1e-6):
            return False
    return True


@published("A9", "Eq.~(24)", r"$\mathrm{d}L/\mathrm{d}w_i = \sum_i g_i\bigl(x/\|w_i\| - (w_i^{\mathsf T}x + b_i)\,w_i/\|w_i\|^3\bigr)$",
           main=True)
def published_a9_grad_w() -> bool:
    for seed in range(93, 98):
        w, b, x, g = _a9_instance(seed)
        m = len(b)
        norms = np.linalg.norm(w, axis=1)
        summed = sum(g[k] * (x / norms[k] - (w[k] @ x + b[k]) * w[k] / norms[k] ** 3) for k in range(m))
        if not np.allclose(np.tile(summed, (m, 1)), _a9_fd(w, b, x, g)[2], atol=1e-6):
            return False
    return True


def test_a9_ours_matches_finite_differences():
    for seed in range(900, 910):
        w, b, x, g = _a9_instance(seed)
        for ours, fd in zip(_a9_ours(w, b, x, g), _a9_fd(w, b, x, g)):
            assert np.allclose(ours, fd, atol=1e-6)
    e = a9_errors()
    assert e["ours"] < 1e-7 and e["printed_db"] > 0.1 and e["printed_dw"] > 0.1


def test_a9_printed_deviations_against_the_analytic_gradients():
    """The printed deviations of (22) and (24), measured here against our analytic gradients (checked
    against finite differences above) instead of finite differences, and with (24) written as the sum
    of the rows of our weight gradient: they agree within 1e-7 (printed to 10^-3)."""
    w, b, x, g = _a9_instance(91)
    db, _, dw = _a9_ours(w, b, x, g)
    printed_db = np.roll(g / np.linalg.norm(w, axis=1), -1)  # g_j / ||w_j|| with j the next index, cyclically
    printed_dw = np.tile(dw.sum(axis=0), (len(b), 1))  # sum_i g_i dy_i/dw_i, the same for every row
    e = a9_errors()
    assert abs(e["printed_db"] - np.abs(printed_db - db).max()) < 1e-7
    assert abs(e["printed_dw"] - np.abs(printed_dw - dw).max()) < 1e-7
    within = a9_errors_within()  # the printed bound 10^e holds, and is the sharpest power of ten that does
    assert e["ours"] < 10.0**within and e["ours"] >= 10.0 ** (within - 1)


@checks("A9")
def test_a9_the_weight_gradient_row_i_depends_on_row_i_only():
    """Perturbing w_k (k != i) leaves dL/dw_i unchanged up to the factor through g, here fixed."""
    w, b, x, g = _a9_instance(911)
    dw = _a9_ours(w, b, x, g)[2]
    w2 = w.copy()
    w2[1] += 0.5
    dw2 = _a9_ours(w2, b, x, g)[2]
    assert np.allclose(dw[0], dw2[0]) and np.allclose(dw[2], dw2[2]) and not np.allclose(dw[1], dw2[1])


@checks("A9")
def test_published_a9_chain_rule_holds():
    assert published_a9_chain_rule()


@checks("A9")
def test_published_a9_grad_b_fails():
    assert not published_a9_grad_b()
    w, b, x, g = _a9_instance(93)  # with j replaced by i it holds
    assert np.allclose(g / np.linalg.norm(w, axis=1), _a9_fd(w, b, x, g)[0], atol=1e-6)


@checks("A9")
def test_published_a9_grad_x_holds():
    assert published_a9_grad_x()


@checks("A9")
def test_published_a9_grad_w_fails():
    assert not published_a9_grad_w()
    w, b, x, g = _a9_instance(94)  # without the sum it holds
    norms = np.linalg.norm(w, axis=1)
    rows = np.array([g[i] * (x / norms[i] - (w[i] @ x + b[i]) * w[i] / norms[i] ** 3) for i in range(len(b))])
    assert np.allclose(rows, _a9_fd(w, b, x, g)[2], atol=1e-6)


# --- the answer: the three gradients as formulas -------------------------------------------------


class _Norm(sp.Function):
    """||w_i||, printed so."""

    def _latex(self, printer, exp=None):
        shown = rf"\|{printer._print(self.args[0])}\|"
        return shown if exp is None else rf"{shown}^{{{exp}}}"

    def _sympystr(self, printer):
        return f"norm({printer._print(self.args[0])})"


class _Dot(sp.Function):
    """w_i^T x, printed so."""

    def _latex(self, printer, exp=None):
        shown = rf"{printer._print(self.args[0])}^{{\top}} {printer._print(self.args[1])}"
        return shown if exp is None else rf"\left({shown}\right)^{{{exp}}}"

    def _sympystr(self, printer):
        return f"dot({printer._print(self.args[0])}, {printer._print(self.args[1])})"


A9_I, A9_M = sp.symbols("i m", integer=True, positive=True)
A9_W, A9_G, A9_B = sp.IndexedBase("w"), sp.IndexedBase("g"), sp.IndexedBase("b")
A9_X = sp.Symbol("x")


@value
def a9_gradients():
    """(grad_{w_i} L, dL/db_i, grad_x L) by the chain rule on y_i = (s_i + b_i)/r_i with s_i = w_i^T x and
    r_i = ||w_i||, whose gradients are grad_w s = x, grad_w r = w/r and grad_x s_i = w_i (x and w_i stand for
    vectors: every product is a scalar times a vector)."""
    i = A9_I
    s, r = sp.symbols("s r", positive=True)
    y = (s + A9_B[i]) / r
    named = {s: _Dot(A9_W[i], A9_X), r: _Norm(A9_W[i])}
    grad_w = A9_G[i] * (sp.diff(y, s) * A9_X + sp.diff(y, r) * A9_W[i] / r)
    grad_b = A9_G[i] * sp.diff(y, A9_B[i])
    grad_x = sp.Sum(A9_G[i] * sp.diff(y, s) * A9_W[i], (i, 1, A9_M))
    return tuple(e.subs(named) for e in (grad_w, grad_b, grad_x))


def _a9_formula_at(expr, w, b, x, g, row=None):
    """A formula of a9_gradients on numbers, coordinate by coordinate (row: the 0-based i of w_i, b_i)."""
    m, n = w.shape
    e = expr.subs(A9_M, m).doit() if row is None else expr.subs(A9_I, row + 1)
    e = e.replace(_Norm, lambda v: sp.Float(np.linalg.norm(w[int(v.indices[0]) - 1])))
    e = e.replace(_Dot, lambda v, _: sp.Float(w[int(v.indices[0]) - 1] @ x))
    scalars = {A9_G[k + 1]: g[k] for k in range(m)} | {A9_B[k + 1]: b[k] for k in range(m)}
    return np.array([float(e.subs(scalars | {A9_X: x[j]} | {A9_W[k + 1]: w[k, j] for k in range(m)}))
                     for j in range(n)])


def test_a9_gradient_formulas_match_finite_differences():
    grad_w, grad_b, grad_x = a9_gradients()
    for seed in range(930, 933):
        w, b, x, g = _a9_instance(seed)
        fd_db, fd_dx, fd_dw = _a9_fd(w, b, x, g)
        assert np.allclose(_a9_formula_at(grad_x, w, b, x, g), fd_dx, atol=1e-6)
        for row in range(len(b)):
            assert np.allclose(_a9_formula_at(grad_w, w, b, x, g, row), fd_dw[row], atol=1e-6)
            assert np.allclose(_a9_formula_at(grad_b, w, b, x, g, row), fd_db[row], atol=1e-6)


# =================================================================================================
# Assignment 10: the optimal decoder variance of a Gaussian VAE
# =================================================================================================


@value
def a10_vae():
    """A toy VAE with d = 2, a one-dimensional latent, a linear decoder mu(z) = W z + c, Gaussian
    encoder q(z | x_i) = N(m_i, s_i^2), and four equally likely data points x_i."""
    return {"d": 2,
            "data": np.array([[1.0, 2.0], [-0.5, 1.0], [2.0, -1.0], [0.0, 0.5]]),
            "W": [0.8, -0.6], "c": [0.3, 0.6], "m": [0.9, -0.4, 1.8, -0.1], "s": [0.5, 0.3, 0.7, 0.4]}


def _a10_model() -> dict:
    """The toy VAE with every entry as a numpy array."""
    return {k: (v if k == "d" else np.asarray(v, dtype=float)) for k, v in a10_vae().items()}


def _a10_expected_sq(v) -> float:
    """E_{p_d} E_q ||x - mu(z)||^2 in closed form: ||x - W m - c||^2 + s^2 ||W||^2."""
    resid = v["data"] - v["m"][:, None] * v["W"][None, :] - v["c"][None, :]
    return float(np.mean((resid**2).sum(axis=1) + v["s"] ** 2 * (v["W"] @ v["W"])))


@functools.cache
def _a10_nodes():
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    return nodes, weights / weights.sum()


def _a10_expected_loglik(sigma: float) -> float:
    """E_{p_d} E_q log N(x; mu(z), sigma^2 I) by Gauss-Hermite quadrature and scipy's log density."""
    v = _a10_model()
    nodes, weights = _a10_nodes()
    total = 0.0
    for x, m, s in zip(v["data"], v["m"], v["s"]):
        z = m + s * nodes
        mu = z[:, None] * v["W"][None, :] + v["c"][None, :]
        total += weights @ stats.norm.logpdf(x[None, :], loc=mu, scale=sigma).sum(axis=1)
    return total / len(v["data"])


@value
def a10_sigma2():
    """The optimal sigma^2: the formula (1/d) E E ||x - mu(z)||^2 and a numerical optimiser of the ELBO."""
    v = _a10_model()
    res = optimize.minimize_scalar(lambda s: -_a10_expected_loglik(s), bounds=(0.05, 5), method="bounded",
                                   options={"xatol": 1e-10})
    return {"formula": _a10_expected_sq(v) / v["d"], "optimiser": float(res.x) ** 2}


@value
def a10_mc():
    """Monte Carlo estimate of E E ||x - mu(z)||^2 (samples per data point, standard error)."""
    v = _a10_model()
    rng = np.random.default_rng(101)
    per_point = 50_000
    values = []
    for x, m, s in zip(v["data"], v["m"], v["s"]):
        z = rng.normal(m, s, size=per_point)
        mu = z[:, None] * v["W"][None, :] + v["c"][None, :]
        values.append(((x[None, :] - mu) ** 2).sum(axis=1))
    values = np.concatenate(values)
    return {"samples": per_point, "mean": float(values.mean()), "se": float(values.std() / math.sqrt(values.size))}


@value
def a10_printed_mass():
    """The total mass of the printed density (25) for d = 1 and sigma = 4, by quadrature (it should be 1)."""
    sigma = 4.0
    mass = integrate.quad(lambda t: 1 / math.sqrt(2 * math.pi * sigma) * math.exp(-t * t / (2 * sigma**2)),
                          -np.inf, np.inf)[0]
    return {"sigma": 4, "mass": mass}


@value
def a10_log_gap():
    """(26) as printed minus the true log density, for d = 3 (it should be 0)."""
    d, sigma = 3, 1.3
    rng = np.random.default_rng(102)
    x, mu = rng.normal(size=d), rng.normal(size=d)
    r2 = float(((x - mu) ** 2).sum())
    printed = -d / 2 * d * math.log(2 * math.pi) - d * math.log(sigma) - r2 / (2 * sigma**2)
    true = float(stats.multivariate_normal.logpdf(x, mean=mu, cov=sigma**2 * np.eye(d)))
    return {"d": d, "gap": printed - true}


def _a10_mean_kl(v) -> float:
    """E_{p_d} KL(q(z | x) || p(z)) for the standard normal prior, in closed form."""
    return float(np.mean(0.5 * (v["s"] ** 2 + v["m"] ** 2 - 1) - np.log(v["s"])))


@value
def a10_elbo_constant():
    """C, the part of the toy model's ELBO that does not depend on sigma: -(d/2) log(2 pi) - E KL(q || p),
    with the standard normal prior p(z) = N(0, 1)."""
    v = _a10_model()
    return -v["d"] / 2 * math.log(2 * math.pi) - _a10_mean_kl(v)


@value
def a10_curve():
    """ELBO(sigma) - C, the terms of the ELBO that depend on sigma, for the figure: the full ELBO (reconstruction
    term by quadrature, divergence in closed form) minus the constant C, so that the curve is what its axis says."""
    v = _a10_model()
    constant, kl = a10_elbo_constant(), _a10_mean_kl(v)
    elbo_minus_c = lambda sigma: _a10_expected_loglik(sigma) - kl - constant  # noqa: E731
    star = math.sqrt(a10_sigma2()["formula"])
    sigmas = np.linspace(0.3 * star, 4.0 * star, 75)
    return {"points": [(float(s), elbo_minus_c(float(s))) for s in sigmas],
            "star": [(star, elbo_minus_c(star))],
            "inflection": [(math.sqrt(3) * star, elbo_minus_c(math.sqrt(3) * star))]}


@value
def a10_curvature():
    """Second derivative in sigma of the expected log-likelihood at sigma* and at 2 sigma*."""
    v = _a10_model()
    r2, d = _a10_expected_sq(v), v["d"]
    second = lambda s: d / s**2 - 3 * r2 / s**4  # noqa: E731
    star = math.sqrt(r2 / d)
    return {"at_star": second(star), "at_twice": second(2 * star), "star": star}


@published("A10", "Eq.~(25)", r"$p(x\mid z) = (1/\sqrt{2\pi\sigma})^d\exp(-\|x - \mu(z)\|^2/(2\sigma^2))$")
def published_a10_density() -> bool:
    return abs(a10_printed_mass()["mass"] - 1) < 1e-6


@published("A10", "Eq.~(26)", r"$\log p(x\mid z) = -\frac d2 d\log(2\pi) - d\log\sigma - \|x - \mu(z)\|^2/(2\sigma^2)$")
def published_a10_log_density() -> bool:
    return abs(a10_log_gap()["gap"]) < 1e-9


@published("A10", "after (26)", r"the log density is a convex function of $\sigma$", kind="reasoning")
def published_a10_convexity() -> bool:
    rng = np.random.default_rng(103)
    x, mu = rng.normal(size=2), rng.normal(size=2)
    f = lambda s: float(stats.multivariate_normal.logpdf(x, mean=mu, cov=s * s * np.eye(2)))  # noqa: E731
    second = [(f(s + 1e-3) - 2 * f(s) + f(s - 1e-3)) / 1e-6 for s in np.linspace(0.2, 5, 40)]
    return min(second) >= -1e-6


@published("A10", "before (27)", r"the divergence term does not depend on $\sigma$", kind="reasoning")
def published_a10_kl_free() -> bool:
    """The full ELBO (with the closed-form KL to a standard normal prior) and the reconstruction term
    alone have the same derivative in sigma."""
    v = _a10_model()
    kl = float(np.mean(0.5 * (v["s"] ** 2 + v["m"] ** 2 - 1) - np.log(v["s"])))
    full = lambda t: _a10_expected_loglik(t) - kl  # noqa: E731
    for sigma in (0.5, 0.9, 1.6):
        d_full = (full(sigma + 1e-5) - full(sigma - 1e-5)) / 2e-5
        d_rec = (_a10_expected_loglik(sigma + 1e-5) - _a10_expected_loglik(sigma - 1e-5)) / 2e-5
        if not math.isclose(d_full, d_rec, rel_tol=1e-7):
            return False
    return kl > 0


@published("A10", "Eq.~(27)", r"$\partial_\sigma$ and the expectations may be interchanged")
def published_a10_interchange() -> bool:
    v = _a10_model()
    nodes, weights = _a10_nodes()
    for sigma in (0.6, 1.0, 1.7):
        lhs = (_a10_expected_loglik(sigma + 1e-5) - _a10_expected_loglik(sigma - 1e-5)) / 2e-5
        rhs = 0.0
        for x, m, s in zip(v["data"], v["m"], v["s"]):
            mu = (m + s * nodes)[:, None] * v["W"][None, :] + v["c"][None, :]
            f = lambda t: stats.norm.logpdf(x[None, :], loc=mu, scale=t).sum(axis=1)  # noqa: E731
            rhs += weights @ ((f(sigma + 1e-5) - f(sigma - 1e-5)) / 2e-5)
        if not math.isclose(lhs, rhs / len(v["data"]), rel_tol=1e-6, abs_tol=1e-7):
            return False
    return True


@published("A10", "Eq.~(28)", r"$\partial_\sigma\log p(x\mid z) = -d/\sigma + \|x - \mu(z)\|^2/\sigma^3$")
def published_a10_derivative() -> bool:
    rng = np.random.default_rng(104)
    for d in (1, 2, 5):
        x, mu, sigma = rng.normal(size=d), rng.normal(size=d), float(rng.uniform(0.3, 3))
        f = lambda s: float(stats.multivariate_normal.logpdf(x, mean=mu, cov=s[0] ** 2 * np.eye(d)))  # noqa: E731
        printed = -d / sigma + ((x - mu) ** 2).sum() / sigma**3
        if not math.isclose(numeric_gradient(f, np.array([sigma]))[0], printed, rel_tol=1e-6):
            return False
    return True


@published("A10", "Eqs.~(29a)--(29c)", r"$\sigma^2 = \frac1d\,\mathbb{E}_{p_d(x)}\mathbb{E}_{q(z\mid x)}\|x - \mu(z)\|^2$", main=True)
def published_a10_optimum() -> bool:
    s = a10_sigma2()
    return math.isclose(s["formula"], s["optimiser"], rel_tol=1e-6)


@published("A10", "Remark", r"same form as the maximum-likelihood variance estimate from supervised samples",
           kind="reasoning")
def published_a10_remark() -> bool:
    rng = np.random.default_rng(105)
    d, n = 3, 500
    mu = rng.normal(size=(n, d))
    x = mu + 0.7 * rng.normal(size=(n, d))
    _, scale = stats.norm.fit((x - mu).ravel(), floc=0)
    return math.isclose(scale**2, float(((x - mu) ** 2).sum(axis=1).mean() / d), rel_tol=1e-9)


def test_a10_sigma2_formula_matches_the_optimiser_and_monte_carlo():
    s = a10_sigma2()
    assert math.isclose(s["formula"], s["optimiser"], rel_tol=1e-6)
    mc = a10_mc()
    assert abs(mc["mean"] - a10_vae()["d"] * s["formula"]) < 4 * mc["se"]
    # the closed form of R, by brute-force Monte Carlo on the printed model, independent of _a10_model
    v = a10_vae()
    rng = np.random.default_rng(107)
    total = 0.0
    for (x1, x2), m, sd in zip(v["data"].tolist(), v["m"], v["s"]):
        z = rng.normal(m, sd, size=100_000)
        total += np.mean((x1 - v["W"][0] * z - v["c"][0]) ** 2 + (x2 - v["W"][1] * z - v["c"][1]) ** 2) / 4
    assert abs(total - v["d"] * s["formula"]) < 0.02


def test_a10_monte_carlo_reproduced_by_the_expanded_square():
    """The same draws (seed 101) with ||x - W z - c||^2 expanded as ||x - c||^2 - 2 z W^T (x - c) + z^2 ||W||^2,
    mean and standard error by math.fsum; tolerance 1e-9, far below the printed 10^-4."""
    mc = a10_mc()
    v = a10_vae()
    w_vec, c = np.array(v["W"], dtype=float), np.array(v["c"], dtype=float)
    rng = np.random.default_rng(101)
    values = []
    for x, m, s in zip(v["data"], v["m"], v["s"]):
        z = rng.normal(m, s, size=mc["samples"])
        r = x - c
        values.append(r @ r - 2 * z * (w_vec @ r) + z**2 * (w_vec @ w_vec))
    mean, var = _fsum_mean_var(np.concatenate(values))
    assert abs(mc["mean"] - mean) < 1e-9
    assert abs(mc["se"] - math.sqrt(var / (len(values) * mc["samples"]))) < 1e-9


def _a10_closed_form_objective():
    """E_{p_d} E_q log N(x; mu(z), sigma^2 I) = -(d/2) log(2 pi) - d log sigma - R/(2 sigma^2), with
    R = mean_i (||x_i - W m_i - c||^2 + s_i^2 ||W||^2) summed by hand from the printed model."""
    v = a10_vae()
    d, w_vec, c = v["d"], v["W"], v["c"]
    r2 = math.fsum(sum((xj - wj * m - cj) ** 2 + s * s * wj * wj for xj, wj, cj in zip(x, w_vec, c))
                   for x, m, s in zip(v["data"].tolist(), v["m"], v["s"])) / len(v["m"])
    return (lambda sigma: -d / 2 * math.log(2 * math.pi) - d * math.log(sigma) - r2 / (2 * sigma**2)), math.sqrt(r2 / d)


def test_a10_curve_matches_the_closed_form_objective():
    """Each plotted point (printed to 10^-4) within 1e-9 of the closed form -d log sigma - R/(2 sigma^2), the
    terms in sigma only; the curve was computed by Gauss-Hermite quadrature of scipy's log density."""
    objective, star = _a10_closed_form_objective()
    d = a10_vae()["d"]
    in_sigma = lambda t: objective(t) + d / 2 * math.log(2 * math.pi)  # noqa: E731  (drop the constant term)
    assert math.isclose(in_sigma(1.0), -d * star ** 2 / 2, rel_tol=1e-12)  # at sigma = 1 only -R/2 is left
    curve = a10_curve()
    sigmas = np.linspace(0.3 * star, 4.0 * star, 75)
    expected = {"points": [(t, in_sigma(t)) for t in sigmas], "star": [(star, in_sigma(star))],
                "inflection": [(math.sqrt(3) * star, in_sigma(math.sqrt(3) * star))]}
    for key, points in expected.items():
        assert np.allclose(np.array(curve[key], dtype=float), np.array(points), rtol=0, atol=1e-9), key


def test_a10_curve_is_the_elbo_minus_its_constant():
    """The full ELBO, with the divergence to the N(0, 1) prior integrated by quadrature (not the closed form), minus
    each plotted value is the same number at every sigma, and that number is the printed C."""
    v = _a10_model()
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    kl = np.mean([weights @ (stats.norm.logpdf(m + s * nodes, m, s) - stats.norm.logpdf(m + s * nodes))
                  for m, s in zip(v["m"], v["s"])])
    constant = a10_elbo_constant()
    for sigma, plotted in a10_curve()["points"][::7]:
        elbo = _a10_expected_loglik(sigma) - kl
        assert abs((elbo - plotted) - constant) < 1e-10
    # C holds -(d/2) log(2 pi): the curve without it would be off by that much
    assert constant < -v["d"] / 2 * math.log(2 * math.pi) < 0


def test_a10_curvature_matches_second_differences():
    """The second derivative in sigma, by central second differences of the quadrature-based objective
    (Richardson-extrapolated from h = 10^-2 and h/2), at sigma* = sqrt of the optimiser's sigma^2 and at
    twice it; within 1e-6 (printed to 10^-3)."""
    c = a10_curvature()
    star = math.sqrt(a10_sigma2()["optimiser"])
    assert math.isclose(c["star"], star, rel_tol=1e-6)
    f = _a10_expected_loglik

    def second(sigma, h):
        return (f(sigma + h) - 2 * f(sigma) + f(sigma - h)) / h**2

    for key, sigma in (("at_star", star), ("at_twice", 2 * star)):
        assert abs(c[key] - (4 * second(sigma, 5e-3) - second(sigma, 1e-2)) / 3) < 1e-6, key


def test_a10_printed_density_has_mass_sqrt_sigma():
    pm = a10_printed_mass()
    assert math.isclose(pm["mass"], math.sqrt(pm["sigma"]), rel_tol=1e-8) and pm["sigma"] == 4


def test_a10_log_gap_is_the_extra_factor_d():
    lg = a10_log_gap()
    d = lg["d"]
    assert math.isclose(lg["gap"], -(d * (d - 1) / 2) * math.log(2 * math.pi), rel_tol=1e-9)


def test_a10_curvature_changes_sign_at_sqrt3_sigma_star():
    c = a10_curvature()
    assert c["at_star"] < 0 < c["at_twice"]
    curve = a10_curve()
    pts = np.array(curve["points"])
    second = np.diff(pts[:, 1], 2)
    change = pts[1:-1, 0][np.argmax(second > 0)]
    assert abs(change - curve["inflection"][0][0]) < 2 * (pts[1, 0] - pts[0, 0])
    assert math.isclose(c["at_star"], -2 * a10_vae()["d"] / c["star"] ** 2, rel_tol=1e-9)
    assert np.argmax(pts[:, 1]) == np.argmin(np.abs(pts[:, 0] - curve["star"][0][0]))
    # the unique stationary point is the maximum: the objective falls on both sides
    assert curve["star"][0][1] > max(pts[0, 1], pts[-1, 1])


@checks("A10")
def test_a10_reparametrised_in_precision_the_objective_is_concave():
    """In tau = 1/sigma^2: (d/2) log tau - tau r^2 / 2 + const, concave for every r."""
    tau = sp.symbols("tau", positive=True)
    d, r2 = sp.symbols("d r2", positive=True)
    assert sp.simplify(sp.diff(d / 2 * sp.log(tau) - tau * r2 / 2, tau, 2) + d / (2 * tau**2)) == 0


def test_published_a10_density_fails():
    assert not published_a10_density()
    sigma = 4.0  # ours, with sigma outside the square root, has mass 1
    mass = integrate.quad(lambda t: 1 / (math.sqrt(2 * math.pi) * sigma) * math.exp(-t * t / (2 * sigma**2)), -np.inf, np.inf)[0]
    assert math.isclose(mass, 1, rel_tol=1e-8)


def test_published_a10_log_density_fails():
    assert not published_a10_log_density()
    rng = np.random.default_rng(106)
    d, sigma = 3, 1.3
    x, mu = rng.normal(size=d), rng.normal(size=d)
    ours = -d / 2 * math.log(2 * math.pi) - d * math.log(sigma) - ((x - mu) ** 2).sum() / (2 * sigma**2)
    assert math.isclose(ours, stats.multivariate_normal.logpdf(x, mean=mu, cov=sigma**2 * np.eye(d)))


@checks("A10")
def test_published_a10_convexity_fails():
    assert not published_a10_convexity()


def test_published_a10_kl_free_holds():
    assert published_a10_kl_free()


def test_published_a10_interchange_holds():
    assert published_a10_interchange()


@checks("A10")
def test_published_a10_derivative_holds():
    assert published_a10_derivative()


def test_published_a10_optimum_holds():
    assert published_a10_optimum()


@checks("A10")
def test_published_a10_remark_holds():
    assert published_a10_remark()


# =================================================================================================
# Assignment 11: mirror descent with the Bernoulli divergence
# =================================================================================================


@value
def a11_instance():
    """x^0 in (0, 1)^4, the gradient g = grad f(x^0), and the step eps."""
    return {"x0": [Fraction(1, 5), Fraction(1, 2), Fraction(7, 10), Fraction(9, 10)],
            "g": [1, -2, Fraction(1, 2), 3], "eps": Fraction(1, 2)}


def _a11_arrays():
    inst = a11_instance()
    return np.array([float(v) for v in inst["x0"]]), np.array([float(v) for v in inst["g"]]), float(inst["eps"])


def _a11_objective_i(t, x0, g, eps):
    return g * (t - x0) + (t * math.log(t / x0) + (1 - t) * math.log((1 - t) / (1 - x0))) / eps


def _a11_numeric_prox(x0, g, eps):
    return np.array([optimize.minimize_scalar(_a11_objective_i, bounds=(1e-12, 1 - 1e-12), args=(x0[i], g[i], eps),
                                              method="bounded", options={"xatol": 1e-12}).x for i in range(len(x0))])


@value
def a11_ours():
    """x_i = sigmoid(logit x0_i - eps g_i)."""
    x0, g, eps = _a11_arrays()
    return [float(v) for v in _sigmoid(_logit(x0) - eps * g)]


@value
def a11_line2():
    """The root of the second printed line, 0 = -eps g_i + logit x_i - logit x0_i."""
    x0, g, eps = _a11_arrays()
    return [float(v) for v in _sigmoid(_logit(x0) + eps * g)]


@published("A11", "hint", r"the problem is convex", kind="reasoning")
def published_a11_convex() -> bool:
    rng = np.random.default_rng(111)
    for _ in range(20):
        x0, g, eps = float(rng.uniform(0.05, 0.95)), float(rng.normal()), float(rng.uniform(0.1, 2))
        ts = np.linspace(0.01, 0.99, 99)
        second = [(_a11_objective_i(t + 1e-4, x0, g, eps) - 2 * _a11_objective_i(t, x0, g, eps)
                   + _a11_objective_i(t - 1e-4, x0, g, eps)) / 1e-8 for t in ts]
        if min(second) <= 0:
            return False
    return True


@published("A11", "first line", r"$0 = g_i + \frac1\varepsilon\bigl(\log\frac{x_i}{x_i^0} - \log\frac{1-x_i}{1-x_i^0}\bigr)$")
def published_a11_line1() -> bool:
    rng = np.random.default_rng(112)
    for _ in range(20):
        x0, g, eps, t = float(rng.uniform(0.05, 0.95)), float(rng.normal()), float(rng.uniform(0.1, 2)), float(rng.uniform(0.05, 0.95))
        fd = numeric_gradient(lambda s: _a11_objective_i(s[0], x0, g, eps), np.array([t]))[0]
        printed = g + (math.log(t / x0) - math.log((1 - t) / (1 - x0))) / eps
        if not math.isclose(fd, printed, rel_tol=1e-6, abs_tol=1e-8):
            return False
    return True


@published("A11", "second line", r"$0 = -\varepsilon g_i + \log\frac{x_i}{1-x_i} - \log\frac{x_i^0}{1-x_i^0}$")
def published_a11_line2() -> bool:
    return bool(np.allclose(a11_line2(), _a11_numeric_prox(*_a11_arrays()), atol=1e-6))


@published("A11", "third line", r"$\log\frac{x_i}{1-x_i} = \log\frac{x_i^0}{1-x_i^0} - \varepsilon g_i$")
def published_a11_line3() -> bool:
    x0, g, eps = _a11_arrays()
    x = _a11_numeric_prox(x0, g, eps)
    return bool(np.allclose(_logit(x), _logit(x0) - eps * g, atol=1e-5))


@published("A11", "last line", r"$x_i = \operatorname{sigmoid}\bigl(\log\frac{x_i^0}{1-x_i^0} - \varepsilon g_i\bigr)$", main=True)
def published_a11_solution() -> bool:
    rng = np.random.default_rng(113)
    for _ in range(10):
        x0, g, eps = rng.uniform(0.05, 0.95, size=4), rng.normal(size=4), float(rng.uniform(0.1, 2))
        if not np.allclose(_a11_numeric_prox(x0, g, eps), _sigmoid(_logit(x0) - eps * g), atol=1e-6):
            return False
    return True


@published("A11", "Remark", r"iterated steps are $y^{t+1} = y^t - \varepsilon g$, $x^{t+1} = \operatorname{sigmoid}(y^{t+1})$",
           kind="reasoning")
def published_a11_remark() -> bool:
    """Five proximal steps on f(x) = ||x - c||^2 / 2, solved numerically, against the logit recursion."""
    c = np.array([0.9, 0.1, 0.6])
    x = np.array([0.3, 0.6, 0.2])
    y = _logit(x)
    for _ in range(5):
        x = _a11_numeric_prox(x, x - c, 0.7)
        y = y - 0.7 * (_sigmoid(y) - c)
        if not np.allclose(x, _sigmoid(y), atol=1e-6):
            return False
    return True


def test_a11_ours_matches_the_numerical_optimiser():
    assert np.allclose(a11_ours(), _a11_numeric_prox(*_a11_arrays()), atol=1e-7)
    assert a11_instance()["eps"] == Fraction(1, 2) and len(a11_instance()["x0"]) == 4
    assert not np.allclose(a11_line2(), a11_ours(), atol=1e-2)


def test_a11_line2_is_the_root_of_the_printed_second_line():
    """Each entry (printed to 10^-4) against brentq's root of -eps g_i + logit x_i - logit x0_i = 0, within 1e-10."""
    x0, g, eps = _a11_arrays()
    roots = [optimize.brentq(lambda t, a=a, gi=gi: -eps * gi + math.log(t / (1 - t)) - math.log(a / (1 - a)),
                             1e-12, 1 - 1e-12, xtol=1e-15) for a, gi in zip(x0, g)]
    assert np.allclose(a11_line2(), roots, rtol=0, atol=1e-10)


@checks("A11")
def test_a11_the_recursion_is_not_gradient_descent_on_the_logits():
    """Gradient descent on y would use grad_y f = grad_x f * x (1 - x), a different step."""
    c, y = np.array([0.9, 0.1, 0.6]), _logit(np.array([0.3, 0.6, 0.2]))
    x = _sigmoid(y)
    fd = numeric_gradient(lambda t: 0.5 * ((_sigmoid(t) - c) ** 2).sum(), y)
    assert np.allclose(fd, (x - c) * x * (1 - x), atol=1e-8) and not np.allclose(fd, x - c, atol=1e-2)


@checks("A11")
def test_published_a11_convex_holds():
    assert published_a11_convex()


@checks("A11")
def test_published_a11_line1_holds():
    assert published_a11_line1()


def test_published_a11_line2_fails():
    assert not published_a11_line2()


def test_published_a11_line3_holds():
    assert published_a11_line3()


@checks("A11")
def test_published_a11_solution_holds():
    assert published_a11_solution()


@checks("A11")
def test_published_a11_remark_holds():
    assert published_a11_remark()


# --- the answer: the step as a formula -----------------------------------------------------------

A11_X0, A11_EPS = sp.symbols("x_i^0 varepsilon", positive=True)
A11_G = sp.Symbol("g_i", real=True)


@value
def a11_step():
    """x_i: the objective separates over the coordinates; the root of each strictly convex term's derivative,
    solved by sympy."""
    t = sp.Symbol("t", positive=True)
    term = A11_G * (t - A11_X0) + (t * sp.log(t / A11_X0) + (1 - t) * sp.log((1 - t) / (1 - A11_X0))) / A11_EPS
    (root,) = sp.solve(sp.diff(term, t), t)
    return root


def test_a11_step_is_the_minimiser_found_by_an_optimiser():
    """The formula against a bounded scalar optimiser, on the instance and on random ones (gradients of
    either sign: the formula holds for every real g_i)."""
    step = sp.lambdify((A11_X0, A11_G, A11_EPS), a11_step(), "numpy")
    rng = np.random.default_rng(1100)
    cases = [_a11_arrays()] + [(rng.uniform(0.05, 0.95, 5), rng.normal(scale=2, size=5), float(rng.uniform(0.1, 2)))
                               for _ in range(5)]
    for x0, g, eps in cases:
        assert np.allclose(step(x0, g, eps), _a11_numeric_prox(x0, g, eps), atol=1e-7)


# =================================================================================================
# The summary: every published item and its verdict, per assignment part
# =================================================================================================

PART_TITLES = {"A1": "Node statistics", "A2": "Backpropagation", "A3a": "Smoothed SGD",
               "A3b": "Proximal step", "A4": "Adversarial attack", "A5": "KL and cross-entropy",
               "A6": "Composite proximal step", "A7": "Shift of prior", "A8a": "Online k-means",
               "A8b": "k-means run time", "A9": "Normalised layer", "A10": "VAE variance",
               "A11": "Mirror descent"}


def _status(items: list[PublishedItem]) -> str:
    if any(i.kind == "formula" and not _outcome(i.name) for i in items):
        return "corrected"
    if any(not _outcome(i.name) for i in items):
        return "justification corrected"
    return "correct"


@value
def summary_rows():
    """One row per part: its status, decided by the outcomes of the checks of its published items,
    and the tests that decided it (the failing ones, or the test of the final result)."""
    rows = []
    for part in PARTS:
        items = [i for i in ITEMS.values() if i.part == part]
        failing = [i for i in items if not _outcome(i.name)]
        deciding = failing or [i for i in items if i.main]
        rows.append({"part": part, "title": PART_TITLES[part], "status": _status(items),
                     "held": sum(_outcome(i.name) for i in items), "checked": len(items),
                     "tests": [_test_name(i, _outcome(i.name)) for i in deciding],
                     "tests_tex": tex(r"\newline ".join(_tex_name(_test_name(i, _outcome(i.name))) for i in deciding))})
    return rows


@value
def published_items():
    """Every published item checked, in order, with its verdict and the test that decides it."""
    seen: set[str] = set()
    return [{"part": i.part, "first": i.part not in seen and not seen.add(i.part),
             "where": tex(i.where), "claim": tex(i.claim),
             "verdict": "holds" if _outcome(i.name) else "fails",
             "test": tex(_tex_name(_test_name(i, _outcome(i.name))))} for i in ITEMS.values()]


@value
def published_item_chunks():
    """The item list cut at part boundaries into pieces of at most 16 rows, one table each."""
    chunks: list[list] = [[]]
    for part in PARTS:
        rows = [r for r in published_items() if r["part"] == part]
        if len(chunks[-1]) + len(rows) > 16:
            chunks.append([])
        chunks[-1].extend(rows)
    return chunks


@value
def summary_counts():
    """How many published items were checked, how many fail, and how many parts have each status."""
    rows = summary_rows()
    return {"checked": len(ITEMS), "failing": sum(not _outcome(n) for n in ITEMS),
            "correct": sum(r["status"] == "correct" for r in rows),
            "corrected": sum(r["status"] == "corrected" for r in rows),
            "justification": sum(r["status"] == "justification corrected" for r in rows)}


def test_every_published_item_has_a_test_named_by_its_outcome():
    """The test cited for an item is named by the item's outcome; pytest runs it with the others,
    so a cited test that did not pass would fail the suite."""
    module = globals()
    for item in ITEMS.values():
        outcome = _outcome(item.name)
        assert callable(module.get(_test_name(item, outcome))), f"{item.name}: no {_test_name(item, outcome)}"
        assert _test_name(item, not outcome) not in module


def test_summary_rows_are_backed_by_the_named_tests():
    module = globals()
    for row in summary_rows():
        assert row["tests"], row
        assert all(callable(module.get(name)) for name in row["tests"])
        fails = [n for n in row["tests"] if n.endswith("_fails")]
        kinds = {ITEMS[n[len("test_"):-len("_fails")]].kind for n in fails}
        if row["status"] == "correct":
            assert not fails and row["held"] == row["checked"]
        elif row["status"] == "corrected":
            assert "formula" in kinds
        else:
            assert kinds == {"reasoning"}
    assert [r["part"] for r in summary_rows()] == PARTS
    assert all(any(i.part == p and i.main for i in ITEMS.values()) for p in PARTS)
    assert sum(i.main for i in ITEMS.values()) == len(PARTS)


def test_summary_rows_match_the_checks_run_again():
    """Each row against the checks of its part's published items, run again here (not through the cached
    outcomes): items held and checked, the status (a failing formula: corrected; only failing reasoning:
    justification corrected), the deciding tests and their typeset names. The title is the part's name,
    a given of the table."""
    module = globals()
    rows = summary_rows()
    assert [r["part"] for r in rows] == PARTS
    for row in rows:
        items = [i for i in ITEMS.values() if i.part == row["part"]]
        holds = {i.name: bool(i.check()) for i in items}
        failing = [i for i in items if not holds[i.name]]
        assert (row["held"], row["checked"]) == (sum(holds.values()), len(items))
        status = ("corrected" if any(i.kind == "formula" for i in failing)
                  else "justification corrected" if failing else "correct")
        assert row["status"] == status
        names = [f"test_{i.name}_{'holds' if holds[i.name] else 'fails'}" for i in failing or [i for i in items if i.main]]
        assert row["tests"] == names and all(callable(module.get(n)) for n in names)
        assert str(row["tests_tex"]) == r"\newline ".join(r"\texttt{" + n.replace("_", r"\_\allowbreak ") + "}" for n in names)
        assert row["title"] == PART_TITLES[row["part"]]


def test_summary_statuses_agree_with_the_reading_of_the_source():
    """Our reading, typed independently: which parts of the published solutions are wrong, and how."""
    expected = {"A1": "justification corrected", "A2": "corrected", "A3a": "correct", "A3b": "correct",
                "A4": "corrected", "A5": "corrected", "A6": "justification corrected", "A7": "correct",
                "A8a": "correct", "A8b": "correct", "A9": "corrected", "A10": "corrected", "A11": "corrected"}
    assert {r["part"]: r["status"] for r in summary_rows()} == expected
    c = summary_counts()
    assert (c["correct"], c["corrected"], c["justification"]) == (5, 6, 2)
    assert c["failing"] == 12 and c["checked"] == len(published_items())
    assert [p["verdict"] for p in published_items()].count("fails") == c["failing"]
    chunks = published_item_chunks()
    assert [r for ch in chunks for r in ch] == published_items() and all(len(ch) <= 16 for ch in chunks)
    assert [r["part"] for r in published_items() if r["first"]] == PARTS
