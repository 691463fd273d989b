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
(and, for means, a noisy count of persons with a value). Means are noisy sum ÷ noisy count;
their interval is the widest ratio the two 95 % intervals allow, clipped to the bounds.
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
from release._frames import ROW, Collapse
from release._measures import clip, interval, kind
from release._policy import Table
from release._results import Cell
from release._spec import QuerySpec

dp.enable_features("contrib")

QUANTILE_CANDIDATES = 101  # evenly spaced over the measure's bounds
CALIBRATION_TRIES = 8


@dataclass(frozen=True)
class DpPlan:
    """A calibrated measurement, ready to run, with what it costs and how accurate it is."""

    measurement: Any
    rho: float
    scale: float
    accuracy: dict[str, float | None]  # per released column, the 95 % half-width
    columns: dict[str, str]  # released column → what it estimates


def _expressions(c: Collapse, quantiles: dict[str, tuple[str, float]]) -> list[pl.Expr]:
    exprs = [dp.len(signed=True).alias("n")]
    for m, bounds in c.means.items():
        # a mean's numerator is ``total:m``, apart from a sum of the same column (``sum:m``)
        exprs.append(DPExpr(pl.col(m).fill_null(0.0)).sum(bounds).alias(f"total:{m}"))
        exprs.append(DPExpr(pl.col(m)).count(signed=True).alias(f"count:{m}"))
    for m, (lo, hi) in c.sums.items():
        bound = (lo * c.max_rows, hi * c.max_rows)
        exprs.append(DPExpr(pl.col(f"sum:{m}").fill_null(0.0)).sum(bound).alias(f"sum:{m}"))
    for f in c.flags:
        exprs.append(DPExpr(pl.col(f).fill_null(0.0)).sum((0.0, 1.0)).alias(f"sum:{f}"))
    for name, (m, q) in quantiles.items():
        lo, hi = c.means[m]
        step = (hi - lo) / (QUANTILE_CANDIDATES - 1)
        candidates = [lo + i * step for i in range(QUANTILE_CANDIDATES)]
        exprs.append(DPExpr(pl.col(m).fill_null(lo)).quantile(q, candidates).alias(name))
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
    """Build and calibrate the measurement for collapsed rows with ``schema``, grouped by
    ``c.by`` over the public ``keys`` (None for an ungrouped query)."""
    quantiles = quantiles or {}
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
    metric, d_in = dp.unit_of(contributions=bounds)
    exprs = _expressions(c, quantiles)
    if by:
        assert keys is not None
        plan = keys.lazy().join(empty.group_by(by).agg(exprs), on=by, how="left",
                                nulls_equal=True)  # fmt: skip
    else:
        plan = empty.select(exprs)
    measure = dp.zero_concentrated_divergence()

    def make(scale: float) -> Any:
        return dp.m.make_private_lazyframe(domain, metric, measure, plan, global_scale=scale)

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
    summary = summarize_polars_measurement(measurement, 0.05)
    accuracy = {
        str(row["column"]): (None if row["accuracy"] is None else float(row["accuracy"]))
        for row in summary.iter_rows(named=True)
    }
    return DpPlan(measurement, spent, scale, accuracy, {})


def accuracy_at(plan: DpPlan, alpha: float) -> dict[str, float | None]:
    """The half-width of each released column's (1 − alpha) interval."""
    if math.isclose(alpha, 0.05):
        return plan.accuracy
    summary = summarize_polars_measurement(plan.measurement, alpha)
    return {str(r["column"]): r["accuracy"] for r in summary.iter_rows(named=True)}


def dp_cells(
    released: pl.DataFrame, spec: QuerySpec, table: Table, accuracy: dict[str, float | None]
) -> list[Cell]:
    """The cells of an OpenDP release, in key order: each measure's estimate with its 95 %
    half-width and interval, clipped to what the measure can be (post-processing: free)."""
    by = list(spec.group_by)
    ordered = released.sort(by, nulls_last=True) if by else released
    out = []
    for row in ordered.iter_rows(named=True):
        values: dict[str, float | None] = {}
        widths: dict[str, float | None] = {}
        lower: dict[str, float | None] = {}
        upper: dict[str, float | None] = {}
        for m in spec.measures:
            behaviour = kind(m)
            value, widths[m.name] = behaviour.estimate(row, m, accuracy, table)
            bounds = behaviour.value_range(m, table)
            values[m.name] = clip(value, bounds)
            lower[m.name], upper[m.name] = interval(values[m.name], widths[m.name], bounds)
        keys = {k: row[k] for k in by}
        out.append(Cell(keys, "released", values, widths, lower=lower, upper=upper))
    return out
