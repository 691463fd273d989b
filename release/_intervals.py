"""Intervals from known noise: what a differentially private value's (1 − α) interval is, given
the exact distribution OpenDP drew its noise from. Pure maths: no data, no OpenDP.

- A count carries discrete Gaussian noise (OpenDP's "Integer Gaussian"): its half-width is the
  least whole number ``h`` with P(|Z| ≤ h) ≥ 1 − α, read off the discrete distribution itself,
  not a continuous bound rounded up.
- A sum of real values carries Gaussian noise (OpenDP's "Float Gaussian", on a lattice far
  finer than any value): ``z · σ``.
- A mean, share or ratio is one noisy sum over another, each with known independent noise.
  Its interval is Fieller's: the values ``r`` for which ``S̃ − r·Ñ`` (Gaussian with variance
  ``σ_S² + r²·σ_N²`` when ``r`` is the truth) lies within ``z`` of its spread. It covers the
  truth with probability 1 − α whatever the cell size, is as tight as the noise allows, and
  where the denominator's noise could make it zero it widens to the whole range the value
  can take: it never claims more than the release holds.
- A quantile comes from a noisy histogram over public bins: the interval keeps the bin edges
  at which the noisy share of persons below is consistent with ``q``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

ALPHA = 0.05
QUANTILE_BINS = 40
"""A dp quantile is read from a noisy histogram of this many equal bins over the measure's
bounds: finer bins resolve more but add noise to the count below any edge."""
EXACT_UP_TO = 200.0  # beyond this scale a discrete Gaussian is a Gaussian to 1e-12


def z_of(alpha: float = ALPHA) -> float:
    return NormalDist().inv_cdf(1 - alpha / 2)


@dataclass(frozen=True)
class Noise:
    """The noise OpenDP adds to one released column: ``integer`` (discrete Gaussian) or not
    (Gaussian), with its scale σ."""

    scale: float
    integer: bool

    def half_width(self, alpha: float = ALPHA) -> float:
        """The half-width of the (1 − α) interval of a value carrying this noise."""
        if self.integer:
            return float(discrete_gaussian_quantile(self.scale, alpha))
        return z_of(alpha) * self.scale

    def scaled(self, factor: float) -> Noise:
        return Noise(self.scale * factor, self.integer)


def discrete_gaussian_quantile(scale: float, alpha: float = ALPHA) -> int:
    """The least whole ``h`` with P(|Z| ≤ h) ≥ 1 − α for Z discrete Gaussian, P(Z = k) ∝
    exp(−k² / 2σ²)."""
    if scale <= 0:
        return 0
    if scale > EXACT_UP_TO:  # P(|Z| ≤ h) = P(|N| ≤ h + ½) to far below any α asked
        return max(0, math.ceil(z_of(alpha) * scale - 0.5))
    top = math.ceil(12 * scale) + 2
    k = np.arange(0, top + 1, dtype=float)
    weights = np.exp(-(k**2) / (2 * scale**2))
    mass = np.concatenate(([weights[0]], 2 * weights[1:]))  # P(|Z| = k), unnormalised
    cover = np.cumsum(mass) / mass.sum()
    return int(np.searchsorted(cover, 1 - alpha - 1e-12))


Bounds = tuple[float, float]


def bin_edges(bounds: Bounds, bins: int = QUANTILE_BINS) -> list[float]:
    """The public edges of the histogram a dp quantile is read from."""
    lo, hi = bounds
    step = (hi - lo) / bins
    return [lo + i * step for i in range(bins)] + [hi]


def fieller(
    numerator: float | None,
    denominator: float | None,
    noise_n: Noise,
    noise_d: Noise,
    bounds: Bounds,
    alpha: float = ALPHA,
) -> tuple[float | None, float | None, float | None]:
    """The estimate of ``numerator / denominator`` and its (1 − α) interval, clipped to
    ``bounds`` (an infinite bound stays open: None)."""
    lo, hi = bounds
    if numerator is None or denominator is None:
        return None, _finite(lo), _finite(hi)
    s, n = float(numerator), float(denominator)
    z2 = z_of(alpha) ** 2
    vs, vn = noise_n.scale**2, noise_d.scale**2
    estimate = min(max(s / n, lo), hi) if n > 0 else None
    a = n * n - z2 * vn
    if a <= 0:  # the denominator may be zero: every value the measure can take
        return estimate, _finite(lo), _finite(hi)
    centre = s * n / a
    spread = math.sqrt(z2 * (vs * a + vn * s * s)) / a
    low, high = max(centre - spread, lo), min(centre + spread, hi)
    if low > high:  # the whole interval lies outside what the value can be (rare): its edge
        low = high = lo if centre < lo else hi
    return estimate, _finite(low), _finite(high)


def fieller_half_width(
    value: float,
    persons: float,
    noise_n: Noise,
    noise_d: Noise,
    bounds: Bounds,
    alpha: float = ALPHA,
) -> float:
    """The expected half-width of a ratio's interval in a cell of ``persons`` (the
    denominator's expected size) whose ratio is ``value``: what the planner solves for."""
    _, low, high = fieller(value * persons, persons, noise_n, noise_d, bounds, alpha)
    if low is None or high is None:
        return math.inf
    return max(value - low, high - value)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def histogram_quantile(
    counts: Sequence[float],
    edges: Sequence[float],
    q: float,
    noise: Noise,
    alpha: float = ALPHA,
) -> tuple[float | None, float | None, float | None]:
    """A quantile from noisy counts per bin (``edges`` has one more entry than ``counts``):
    the estimate, where the noisy cumulative share crosses ``q`` (linear within its bin), and
    the (1 − α) interval between the bin edges at which the counts below are consistent with
    ``q``. An edge e_j is a sure lower bound when D_j = #below(e_j) − q·N is below zero by more
    than z of its noise, an upper bound when above it by more: D_j's noise is a sum of the bins'
    noises with weights (1 − q) below e_j and −q above, so its spread is known exactly."""
    k = len(counts)
    if k == 0 or len(edges) != k + 1:
        raise ValueError("a histogram has one more edge than counts")
    raw = np.asarray([0.0 if c is None else float(c) for c in counts])
    kept = np.clip(raw, 0, None)
    total = kept.sum()
    estimate = None
    if total > 0:
        below = np.concatenate(([0.0], np.cumsum(kept)))
        target = q * total
        j = int(np.searchsorted(below, target, side="left"))
        j = min(max(j, 1), k)
        within = kept[j - 1]
        frac = 0.0 if within <= 0 else (target - below[j - 1]) / within
        estimate = float(edges[j - 1] + min(max(frac, 0.0), 1.0) * (edges[j] - edges[j - 1]))
    z = z_of(alpha)  # per edge; the bins' width already makes it cover more than 1 − α
    sums = np.concatenate(([0.0], np.cumsum(raw)))
    d = sums - q * sums[-1]
    at = np.arange(k + 1)
    sd = noise.scale * np.sqrt(at * (1 - q) ** 2 + (k - at) * q**2)
    sure_below = np.nonzero(d + z * sd < 0)[0]  # the quantile is at or above e_j
    sure_above = np.nonzero(d - z * sd >= 0)[0]  # the quantile is below e_j
    low = float(edges[int(sure_below.max())]) if sure_below.size else float(edges[0])
    high = float(edges[int(sure_above.min())]) if sure_above.size else float(edges[-1])
    if low > high:  # the tests disagree: say so honestly, with the whole range between them
        low, high = min(low, high), max(low, high)
    if estimate is not None:
        estimate = min(max(estimate, low), high)
    return estimate, low, high
