"""Differentially private releases with OpenDP: zero-concentrated DP (ρ), Gaussian noise.

The privacy unit is one person (a pupil, or a teacher for tables of teachers) with all of
their rows. Rows are first collapsed to one row per person and cell (``_frames.Collapse``) and
each person keeps at most ``max_rows_per_unit`` rows beforehand, so a person reaches at most
``G = min(max_rows_per_unit, the product of the group-by keys' max_keys_per_unit, cells)``
cells, once each: the bounds OpenDP is given are enforced, never assumed. Cells are the
product of the group-by columns' *public* key values, passed explicitly (a left join from the
key set), so no δ is spent on which keys exist.

The noise scale is calibrated directly: the measurement is built once at scale 1, its loss ρ₁
read off, and since a Gaussian mechanism's ρ falls with the square of its scale, the scale for
the target ρ is ``sqrt(ρ₁ / ρ)``; the measurement is then built at that scale and its loss
verified. OpenDP's own path (``Context``) binary-searches the scale, building the measurement
dozens of times per query.

Per cell the measurement releases the number of persons (``n``) and, per measure, a noisy sum
(and, for means, a noisy count of persons with a value; for ratios, a noisy sum of each
column). A quantile is read from a second measurement: a noisy histogram of the measure over
public bins in each cell (the bins are a further public key, so each person still touches one
group per cell). The two run one after the other on the same rows, and their losses add
(zCDP composes by sums); both share one scale, calibrated together.

Every released column's noise (its distribution and scale, as OpenDP reports it) is kept, and
the intervals are computed from it exactly (``_intervals``): the discrete Gaussian's own
quantile for counts, Fieller's interval for a noisy sum over a noisy count or sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import opendp.prelude as dp
import polars as pl
from opendp.accuracy import summarize_polars_measurement
from opendp.extras.polars import DPExpr

from release._errors import PrivacyInvariantBroken
from release._frames import BIN, ROW, Collapse
from release._intervals import ALPHA, QUANTILE_BINS, Noise
from release._measures import half_width, kind
from release._policy import Table
from release._results import Cell
from release._spec import QuerySpec

dp.enable_features("contrib")

CALIBRATION_TRIES = 8
HIST = "hist:"  # a quantile's histogram: per cell, the noisy count of each bin, in bin order


@dataclass(frozen=True)
class Measurements:
    """The measurements of one release, run in turn on the same collapsed rows: the cells'
    counts and sums, then one histogram per quantile's measure, joined into one row per cell
    (a histogram as a list of counts, ``hist:<column>``)."""

    parts: tuple[Any, ...]
    by: tuple[str, ...]
    bins: tuple[str, ...]

    def __call__(self, rows: pl.LazyFrame) -> pl.DataFrame:
        main, *histograms = (_collected(part(rows)) for part in self.parts)
        for column, counts in zip(self.bins, histograms, strict=True):
            name = HIST + column
            lists = (
                counts.sort([*self.by, BIN + column])
                .group_by(list(self.by) or pl.lit(0), maintain_order=True)
                .agg(pl.col(name).cast(pl.Float64))
            )
            if self.by:
                main = main.join(lists, on=list(self.by), how="left", nulls_equal=True)
            else:
                main = main.with_columns(pl.lit(lists[name][0]).alias(name))
        return main

    def map(self, d_in: Any) -> float:
        return sum(float(part.map(d_in)) for part in self.parts)


def _collected(released: Any) -> pl.DataFrame:
    out = released.collect() if hasattr(released, "collect") else released
    assert isinstance(out, pl.DataFrame)
    return out


@dataclass(frozen=True)
class DpPlan:
    """Calibrated measurements, ready to run, with what they cost and the noise each released
    column carries (``noise``: distribution and scale, as OpenDP reports them)."""

    measurement: Measurements
    rho: float
    scale: float
    noise: dict[str, Noise]

    @property
    def accuracy(self) -> dict[str, float | None]:
        """Per released column, the 95 % half-width of its noise."""
        return accuracy_at(self, ALPHA)

    def rescaled(self, factor: float) -> DpPlan:
        """The same plan with every scale multiplied by ``factor`` (and ρ divided by its
        square): what the planner reads, never run."""
        noise = {k: v.scaled(factor) for k, v in self.noise.items()}
        return DpPlan(self.measurement, self.rho / factor**2, self.scale * factor, noise)


def _expressions(c: Collapse) -> list[pl.Expr]:
    exprs = [dp.len(signed=True).alias("n")]
    for m, bounds in c.means.items():
        if m in c.quantile_only:
            continue
        # a mean's numerator is ``total:m``, apart from a sum of the same column (``sum:m``)
        exprs.append(DPExpr(pl.col(m).fill_null(0.0)).sum(bounds).alias(f"total:{m}"))
        exprs.append(DPExpr(pl.col(m)).count(signed=True).alias(f"count:{m}"))
    for m, (lo, hi) in c.sums.items():
        bound = (lo * c.max_rows, hi * c.max_rows)
        exprs.append(DPExpr(pl.col(f"sum:{m}").fill_null(0.0)).sum(bound).alias(f"sum:{m}"))
    for f in c.flags:
        exprs.append(DPExpr(pl.col(f).fill_null(0.0)).sum((0.0, 1.0)).alias(f"sum:{f}"))
    return exprs


def plan_release(
    c: Collapse,
    schema: dict[str, pl.DataType],
    keys: pl.DataFrame | None,
    rho: float,
    *,
    max_persons: int,
    quantiles: dict[str, tuple[str, float]] | None = None,
) -> DpPlan:
    """Build and calibrate the measurements for collapsed rows with ``schema``, grouped by
    ``c.by`` over the public ``keys`` (None for an ungrouped query). ``quantiles`` is kept for
    the callers' sake: the histograms come from ``c.bins``."""
    empty = pl.LazyFrame(schema={**schema, ROW: pl.Boolean()})
    domain = dp.domain_of(empty, infer=True)
    by = list(c.by)
    cells = keys.height if keys is not None else 1
    reach = max(1, min(c.reach, cells))
    domain = dp.with_margin(
        domain, dp.polars.Margin(by=by, invariant="keys" if by else None, max_length=max_persons)
    )
    bounds = [dp.polars.Bound(by=[], per_group=reach)]
    if by:
        bounds.append(dp.polars.Bound(by=by, per_group=1, num_groups=reach))
    for m in c.bins:  # a person's collapsed row per cell falls in one bin
        binned = [*by, BIN + m]
        domain = dp.with_margin(
            domain, dp.polars.Margin(by=binned, invariant="keys", max_length=max_persons)
        )
        bounds.append(dp.polars.Bound(by=binned, per_group=1, num_groups=reach))
    metric, d_in = dp.unit_of(contributions=bounds)
    exprs = _expressions(c)
    if by:
        assert keys is not None
        plans = [
            keys.lazy().join(empty.group_by(by).agg(exprs), on=by, how="left", nulls_equal=True)
        ]
    else:
        plans = [empty.select(exprs)]
    for m in c.bins:
        binned = [*by, BIN + m]
        bins = pl.DataFrame({BIN + m: list(range(QUANTILE_BINS))}, schema={BIN + m: pl.Int64})
        grid = keys.join(bins, how="cross") if keys is not None else bins
        counts = empty.group_by(binned).agg(dp.len(signed=True).alias(HIST + m))
        plans.append(grid.lazy().join(counts, on=binned, how="left", nulls_equal=True))
    measure = dp.zero_concentrated_divergence()

    def make(scale: float) -> Measurements:
        return Measurements(
            tuple(
                dp.m.make_private_lazyframe(domain, metric, measure, plan, global_scale=scale)
                for plan in plans
            ),
            tuple(by),
            c.bins,
        )

    unit_loss = float(make(1.0).map(d_in))
    scale = math.sqrt(unit_loss / rho)
    for _ in range(CALIBRATION_TRIES):
        measurement = make(scale)
        spent = float(measurement.map(d_in))
        if spent <= rho:
            break
        scale *= 1 + 1e-9 + (spent - rho) / rho
    else:
        raise PrivacyInvariantBroken(
            "the calibrated measurement costs more than its budget; this is a bug in medler, "
            "and nothing was released"
        )
    return DpPlan(measurement, spent, scale, noise_of(measurement))


def noise_of(measurements: Measurements) -> dict[str, Noise]:
    """The noise OpenDP says each released column carries: its distribution and scale."""
    noise = {}
    for part in measurements.parts:
        for row in summarize_polars_measurement(part, ALPHA).iter_rows(named=True):
            distribution = str(row["distribution"])
            if "Gaussian" not in distribution:
                raise PrivacyInvariantBroken(
                    f"column {row['column']} carries {distribution} noise, which medler does "
                    "not know the intervals of; this is a bug in medler"
                )
            noise[str(row["column"])] = Noise(float(row["scale"]), "Integer" in distribution)
    return noise


def accuracy_at(plan: DpPlan, alpha: float) -> dict[str, float | None]:
    """The half-width of each released column's (1 − alpha) interval."""
    return {column: n.half_width(alpha) for column, n in plan.noise.items()}


def dp_cells(
    released: pl.DataFrame, spec: QuerySpec, table: Table, noise: dict[str, Noise]
) -> list[Cell]:
    """The cells of an OpenDP release, in key order: each measure's estimate with its 95 %
    interval and half-width, clipped to what the measure can be (post-processing: free)."""
    by = list(spec.keys)
    ordered = released.sort(by, nulls_last=True) if by else released
    out = []
    for row in ordered.iter_rows(named=True):
        values: dict[str, float | None] = {}
        widths: dict[str, float | None] = {}
        lower: dict[str, float | None] = {}
        upper: dict[str, float | None] = {}
        for m in spec.measures:
            estimate = kind(m).estimate(row, m, noise, table, ALPHA)
            values[m.name], lower[m.name], upper[m.name] = estimate
            widths[m.name] = half_width(estimate)
        keys = {k: row[k] for k in by}
        out.append(Cell(keys, "released", values, widths, lower=lower, upper=upper))
    return out
