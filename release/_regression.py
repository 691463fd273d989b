"""Regression, as pure maths: least squares and logistic maximum likelihood on a matrix, and
their differentially private counterparts from noisy sufficient statistics. No rows, no
polars, no privacy decisions: ``release._models`` decides what is fitted and what leaves.

Exact fits (``sdc``) follow statsmodels' ``OLS`` and ``Logit`` (the same estimates, standard
errors, t or z statistics and p-values on the same rows): least squares through the
pseudo-inverse of the design, the logistic model by Newton's method to convergence.

Private fits (``dp``) post-process noisy sums of products (sufficient-statistics
perturbation): for a linear model ``XᵀX``, ``Xᵀy`` and ``yᵀy``, released once; for a logistic
model ``Xᵀ W X`` and ``Xᵀ(y − p)`` at the current estimate, released at each of a fixed number
of Newton steps from zero. The noisy ``XᵀX`` is made positive definite (eigenvalues floored)
before it is solved. The error a release states is a parametric bootstrap over the noise: the
released statistics perturbed again by noise of the very scales they carry, solved the same
way, the spread of the solutions around the released estimate giving each coefficient's 95 %
interval for the exact estimate on the same rows (the basic bootstrap interval). For a
logistic model the bootstrap redraws the last step's noise: the earlier steps only move the
point the last step starts from, and Newton's step from near the optimum lands on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

LOGISTIC_TOLERANCE = 1e-10  # Newton's method stops when no estimate moves more than this
LOGISTIC_MAX_STEPS = 100
SEPARATED = 1e-10  # a fitted probability this near 0 or 1: the rows are separated
BOOTSTRAP_DRAWS = 2000
EIGEN_FLOOR = 1e-9  # the least eigenvalue of a noisy XᵀX, relative to its largest


@dataclass(frozen=True)
class Fit:
    """A fitted model: per parameter its estimate, standard error, test statistic (t for a
    linear model, z for a logistic one) and p-value; the rows it was fitted on (``nobs``),
    the residual degrees of freedom, the design's rank and whether the fit converged."""

    estimate: np.ndarray
    std_error: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    nobs: int
    residual_df: int
    rank: int
    converged: bool = True


def fit_linear(data: np.ndarray) -> Fit:
    """Least squares of ``data[:, 0]`` on ``data[:, 1:]`` (the design, its intercept
    included), as statsmodels' ``OLS(y, X).fit()``."""
    y, x = data[:, 0], data[:, 1:]
    nobs, width = x.shape
    rank = int(np.linalg.matrix_rank(x)) if nobs else 0
    if nobs <= width or rank < width:
        return _unfitted(nobs, width, rank)
    pinv = np.linalg.pinv(x, rcond=1e-15)
    estimate = pinv @ y
    residual_df = nobs - rank
    residual = y - x @ estimate
    scale = float(residual @ residual) / residual_df
    std_error = np.sqrt(np.diag(pinv @ pinv.T) * scale)
    t = estimate / std_error
    p_value = 2 * stats.t.sf(np.abs(t), residual_df)
    return Fit(estimate, std_error, t, p_value, nobs, residual_df, rank)


def fit_logistic(data: np.ndarray) -> Fit:
    """Logistic maximum likelihood of the 0/1 ``data[:, 0]`` on ``data[:, 1:]``, as
    statsmodels' ``Logit(y, X).fit()``; ``converged`` is false when the likelihood has no
    maximum (separation: a level or a range of a predictor in which every outcome is the
    same), which the caller refuses."""
    y, x = data[:, 0], data[:, 1:]
    nobs, width = x.shape
    rank = int(np.linalg.matrix_rank(x)) if nobs else 0
    if nobs <= width or rank < width:
        return _unfitted(nobs, width, rank)
    beta = np.zeros(width)
    converged = False
    for _ in range(LOGISTIC_MAX_STEPS):
        p = _expit(x @ beta)
        hessian = x.T @ (x * (p * (1 - p))[:, None])
        step = np.linalg.lstsq(hessian, x.T @ (y - p), rcond=None)[0]
        if not np.all(np.isfinite(step)):  # the likelihood runs off to infinity
            break
        beta = beta + step
        if np.max(np.abs(step)) < LOGISTIC_TOLERANCE:
            converged = True
            break
    p = _expit(x @ beta)
    # (quasi-)separation: rows fitted with certainty, their estimates running off to infinity
    separated = bool(np.any((p < SEPARATED) | (p > 1 - SEPARATED)))
    hessian = x.T @ (x * (p * (1 - p))[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        std_error = np.sqrt(np.diag(np.linalg.pinv(hessian)))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = beta / std_error
    p_value = 2 * stats.norm.sf(np.abs(z))
    ok = converged and not separated and bool(np.all(np.isfinite(std_error)))
    return Fit(beta, std_error, z, p_value, nobs, nobs - rank, rank, ok)


def _unfitted(nobs: int, width: int, rank: int) -> Fit:
    nan = np.full(width, np.nan)
    return Fit(nan, nan, nan, nan, nobs, max(nobs - rank, 0), rank, False)


def _expit(eta: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-np.clip(eta, -700, 700))))


# --- from noisy sufficient statistics ---------------------------------------------------------


def positive_definite(a: np.ndarray) -> np.ndarray:
    """The symmetric ``a`` with its eigenvalues floored to a small positive share of its
    largest, so that it can be solved (noise can make a noisy ``XᵀX`` indefinite)."""
    sym = (a + a.T) / 2
    values, vectors = np.linalg.eigh(sym)
    floor = max(float(np.max(np.abs(values))), 1.0) * EIGEN_FLOOR
    return np.asarray((vectors * np.maximum(values, floor)) @ vectors.T)


def solve_linear(xtx: np.ndarray, xty: np.ndarray) -> np.ndarray:
    """The least-squares estimate from (noisy) ``XᵀX`` and ``Xᵀy``."""
    return np.asarray(np.linalg.solve(positive_definite(xtx), xty))


def linear_std_error(
    xtx: np.ndarray, xty: np.ndarray, yty: float, nobs: float, estimate: np.ndarray
) -> np.ndarray:
    """The model's standard errors from (noisy) sufficient statistics: the residual variance
    ``(yᵀy − 2βᵀXᵀy + βᵀXᵀXβ) / (n − p)`` times the diagonal of ``(XᵀX)⁻¹``; NaN where the
    noisy residual sum of squares is not positive."""
    a = positive_definite(xtx)
    rss = yty - 2 * estimate @ xty + estimate @ a @ estimate
    df = max(nobs - len(estimate), 1.0)
    if not rss > 0:  # the noise swamps the residuals: no error can be stated
        return np.full(len(estimate), np.nan)
    return np.asarray(np.sqrt(np.diag(np.linalg.inv(a)) * float(rss) / df))


def newton_step(beta: np.ndarray, hessian: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """One Newton step of the logistic likelihood from (noisy) ``XᵀWX`` and ``Xᵀ(y − p)``."""
    return np.asarray(beta + np.linalg.solve(positive_definite(hessian), gradient))


@dataclass(frozen=True)
class Statistics:
    """The noisy sums one private fit solves: ``matrix`` (symmetric, ``XᵀX`` or ``XᵀWX``) and
    ``vector`` (``Xᵀy`` or ``Xᵀ(y − p)``) with the noise scale of each entry (``matrix_scale``,
    ``vector_scale``; 0 where an entry is known without noise, such as a structural zero)."""

    matrix: np.ndarray
    vector: np.ndarray
    matrix_scale: np.ndarray
    vector_scale: np.ndarray

    def redrawn(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The statistics perturbed again by noise of their own scales (the bootstrap)."""
        upper = np.triu(rng.standard_normal(self.matrix.shape) * self.matrix_scale)
        noise = upper + np.triu(upper, 1).T
        vector = self.vector + rng.standard_normal(self.vector.shape) * self.vector_scale
        return self.matrix + noise, vector


def bootstrap_interval(
    statistics: Statistics,
    solve: Callable[[np.ndarray, np.ndarray], np.ndarray],
    estimate: np.ndarray,
    *,
    level: float = 0.95,
    draws: int = BOOTSTRAP_DRAWS,
) -> tuple[np.ndarray, np.ndarray]:
    """Each coefficient's ``level`` interval for the exact estimate: the basic bootstrap over
    the noise. ``solve`` maps (matrix, vector) to an estimate as the release did. The draws are
    seeded from the released statistics, so the same release always states the same interval
    (it is post-processing of what was released: it costs nothing)."""
    seed = hashlib.sha256(statistics.matrix.tobytes() + statistics.vector.tobytes()).digest()
    rng = np.random.default_rng(int.from_bytes(seed[:8], "big"))
    solutions = np.array([solve(*statistics.redrawn(rng)) for _ in range(draws)])
    deviation = solutions - estimate
    tail = (1 - level) / 2
    high, low = np.quantile(deviation, [1 - tail, tail], axis=0)
    return estimate - high, estimate - low
