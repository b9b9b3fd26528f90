"""Small numpy implementations used by chapter epfl_ml_2024 (no scikit-learn available).

Plain functions with explicit seeds: k-means (Lloyd), Gaussian-mixture EM (full covariances,
optional per-point weights), a hard-margin SVM, least absolute deviations, 1-NN. The values in
verify/epfl_ml_2024.py call them; the tests there check their results independently.
"""

import itertools

import numpy as np
from scipy.optimize import linprog, minimize
from scipy.special import logsumexp

# --- k-means ---------------------------------------------------------------------------------


def kmeans(x, k, seed, restarts=10, iterations=30):
    """Lloyd's algorithm from `restarts` random data points; the run with the lowest cost wins.

    Returns (cost, labels, centres)."""
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(restarts):
        centres = x[rng.choice(len(x), k, replace=False)]
        for _ in range(iterations):
            labels = nearest(x, centres)
            centres = np.array([x[labels == j].mean(0) if np.any(labels == j) else centres[j]
                                for j in range(k)])
        labels = nearest(x, centres)
        cost = float(((x - centres[labels]) ** 2).sum())
        if best is None or cost < best[0] - 1e-9:
            best = (cost, labels, centres)
    return best


def nearest(x, centres):
    """Index of the nearest centre of every row of x."""
    return ((x[:, None, :] - centres[None, :, :]) ** 2).sum(-1).argmin(1)


def kmeans_cost(x, labels):
    """Within-cluster sum of squares of a partition, each cluster at its own mean."""
    return float(sum(((x[labels == j] - x[labels == j].mean(0)) ** 2).sum() for j in np.unique(labels)))


# --- Gaussian mixtures -----------------------------------------------------------------------


def gaussian_logpdf(x, mean, cov):
    """log N(x | mean, cov) for the rows of x (any dimension)."""
    x = np.atleast_2d(x)
    diff = x - mean
    sign, logdet = np.linalg.slogdet(2 * np.pi * cov)
    return -0.5 * np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff) - 0.5 * logdet


def gmm_log_joint(x, pis, means, covs):
    """Matrix of log(pi_k N(x_n | mu_k, Sigma_k)), one row per point, one column per component."""
    return np.stack([np.log(pi) + gaussian_logpdf(x, m, c) for pi, m, c in zip(pis, means, covs)], axis=1)


def gmm_loglik(x, pis, means, covs, weights=None):
    """sum_n w_n log sum_k pi_k N(x_n | mu_k, Sigma_k) (w_n = 1 when weights is None)."""
    per_point = logsumexp(gmm_log_joint(x, pis, means, covs), axis=1)
    return float(per_point.sum() if weights is None else (weights * per_point).sum())


def gmm_responsibilities(x, pis, means, covs):
    """q_kn: the posterior probability of component k for point n (rows sum to one)."""
    joint = gmm_log_joint(x, pis, means, covs)
    return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))


def gmm_em_step(x, pis, means, covs, weights=None, ridge=0.0):
    """One EM step for the (optionally weighted) mixture: E-step, then the closed-form M-step."""
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    q = gmm_responsibilities(x, pis, means, covs) * w[:, None]
    mass = q.sum(0)
    new_pis = mass / w.sum()
    new_means = (q.T @ x) / mass[:, None]
    new_covs = np.array([((q[:, j, None] * (x - new_means[j])).T @ (x - new_means[j])) / mass[j]
                         + ridge * np.eye(x.shape[1]) for j in range(len(pis))])
    return new_pis, new_means, new_covs


def gmm_em(x, k, seed, restarts=5, iterations=100, ridge=1e-6):
    """EM for a k-component mixture with full covariances from random data points as means;
    the run with the highest log-likelihood wins. Returns (loglik, labels, pis, means, covs)."""
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(restarts):
        pis = np.full(k, 1.0 / k)
        means = x[rng.choice(len(x), k, replace=False)]
        covs = np.array([np.cov(x.T) for _ in range(k)])
        for _ in range(iterations):
            pis, means, covs = gmm_em_step(x, pis, means, covs, ridge=ridge)
        loglik = gmm_loglik(x, pis, means, covs)
        if best is None or loglik > best[0] + 1e-9:
            labels = gmm_log_joint(x, pis, means, covs).argmax(1)
            best = (loglik, labels, pis, means, covs)
    return best


def em_1d(x, means, variances, pis, iterations):
    """Plain EM for a one-dimensional mixture; returns (means, variances, pis, loglik)."""
    x2 = np.asarray(x, dtype=float)[:, None]
    covs = np.asarray(variances, dtype=float)[:, None, None]
    m, p = np.asarray(means, dtype=float)[:, None], np.asarray(pis, dtype=float)
    for _ in range(iterations):
        p, m, covs = gmm_em_step(x2, p, m, covs)
    return m[:, 0], covs[:, 0, 0], p, gmm_loglik(x2, p, m, covs)


# --- matching labels -------------------------------------------------------------------------


def clustering_accuracy(labels, truth):
    """Fraction of points put in their true cluster, under the best matching of cluster names."""
    k = int(max(labels.max(), truth.max())) + 1
    return max(float(np.mean(np.array(perm)[labels] == truth)) for perm in itertools.permutations(range(k)))


# --- classifiers and regressions -------------------------------------------------------------


def hard_svm(x, y, bias=True):
    """Hard-margin SVM: min |w|^2 / 2 subject to y_n (w.x_n + b) >= 1 (SLSQP). Returns (w, b)."""
    d = x.shape[1]

    def unpack(theta):
        return (theta[:d], theta[d]) if bias else (theta, 0.0)

    def margins(theta):
        w, b = unpack(theta)
        return y * (x @ w + b) - 1

    start = feasible_separator(x, y, bias)
    result = minimize(lambda t: 0.5 * unpack(t)[0] @ unpack(t)[0], start, method="SLSQP",
                      jac=lambda t: np.concatenate([unpack(t)[0], [0.0]]) if bias else t,
                      constraints=[{"type": "ineq", "fun": margins}], options={"ftol": 1e-12, "maxiter": 500})
    if not result.success:
        raise RuntimeError(f"hard_svm: {result.message}")
    return unpack(result.x)


def feasible_separator(x, y, bias=True):
    """Some (w, b) with y_n (w.x_n + b) >= 1 for all n, from a linear programme (flattened)."""
    n, d = x.shape
    features = np.column_stack([x, np.ones(n)]) if bias else x
    result = linprog(np.zeros(features.shape[1]), A_ub=-(y[:, None] * features), b_ub=-np.ones(n),
                     bounds=[(None, None)] * features.shape[1], method="highs")
    if result.status != 0:
        raise ValueError("the data are not linearly separable")
    return result.x


def least_absolute_deviations(x, y):
    """min over (a, b) of sum |y - a x - b|, as a linear programme. Returns (a, b)."""
    n = len(x)
    # variables: a, b, t_1..t_n with t_n >= |y_n - a x_n - b|
    c = np.concatenate([[0.0, 0.0], np.ones(n)])
    upper = np.column_stack([-x, -np.ones(n), -np.eye(n)])  # y - a x - b <= t
    lower = np.column_stack([x, np.ones(n), -np.eye(n)])  # -(y - a x - b) <= t
    result = linprog(c, A_ub=np.vstack([upper, lower]), b_ub=np.concatenate([-y, y]),
                     bounds=[(None, None), (None, None)] + [(0, None)] * n, method="highs")
    return result.x[0], result.x[1]


def linearly_separable(x, y):
    """Whether some (w, b) has y_n (w.x_n + b) >= 1 for all n (an LP feasibility problem)."""
    n, d = x.shape
    a_ub = -(y[:, None] * np.column_stack([x, np.ones(n)]))
    result = linprog(np.zeros(d + 1), A_ub=a_ub, b_ub=-np.ones(n), bounds=[(None, None)] * (d + 1),
                     method="highs")
    return result.status == 0


def max_min_bilinear(m):
    """max over alpha in the simplex of min over w in the simplex of w^T M alpha, by linear programming.

    The inner minimum over the simplex is attained at a vertex: min_i (M alpha)_i."""
    m = np.asarray(m, dtype=float)
    rows, cols = m.shape
    # variables (alpha, v): maximise v subject to (M alpha)_i >= v, alpha in the simplex
    result = linprog(np.concatenate([np.zeros(cols), [-1.0]]),
                     A_ub=np.column_stack([-m, np.ones(rows)]), b_ub=np.zeros(rows),
                     A_eq=np.concatenate([np.ones(cols), [0.0]])[None], b_eq=[1.0],
                     bounds=[(0, None)] * cols + [(None, None)], method="highs")
    return -result.fun


def min_max_bilinear(m):
    """min over w in the simplex of max over alpha in the simplex of w^T M alpha: min_w max_j (M^T w)_j."""
    m = np.asarray(m, dtype=float)
    rows, cols = m.shape
    result = linprog(np.concatenate([np.zeros(rows), [1.0]]),
                     A_ub=np.column_stack([m.T, -np.ones(cols)]), b_ub=np.zeros(cols),
                     A_eq=np.concatenate([np.ones(rows), [0.0]])[None], b_eq=[1.0],
                     bounds=[(0, None)] * rows + [(None, None)], method="highs")
    return result.fun
