"""The planner: what a dp question would cost for the accuracy wanted, before anything is
spent, and how many such questions the remaining budget holds.

A question is a dp spec (its table, grouping, filters and measures: its ρ is ignored), the
persons a typical cell holds (``persons``) and the 95 % half-width wanted (``half_width``),
for one measure or for all. Every released column's noise scale is proportional to one global
scale ``g`` and ρ to ``1 / g²`` (Gaussian noise), so the plan built once for the spec is
rescaled until the measure is as accurate as wanted, and ρ read off. A mean, share or ratio's
half-width depends on its value, which is not known before a release: the planner takes the
value where it is widest (Fieller's interval, ``_measures._Quotient.planned_half_width``).

Nothing here reads a row: the plan comes from the spec, the public keys and the policies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from release._dp import DpPlan
from release._errors import QueryRefused
from release._measures import _Quotient, kind
from release._policy import Table
from release._spec import QuerySpec

SEARCH_STEPS = 80


@dataclass(frozen=True)
class AccuracyPlan:
    """The ρ a question costs for its accuracy, the half-width each measure would then have
    in a cell of ``persons`` (None: not known before a release, a quantile's), and how many
    such questions the smallest remaining budget holds (None without a ledger)."""

    rho: float
    persons: int
    half_width: float
    measure: str | None
    half_widths: dict[str, float | None]
    remaining_rho: float | None = None
    questions: int | None = None


def measure_half_width(
    plan: DpPlan, spec: QuerySpec, table: Table, name: str, persons: float
) -> float | None:
    """The expected 95 % half-width of the measure ``name`` in a cell of ``persons``."""
    (m,) = [x for x in spec.measures if x.name == name]
    behaviour = kind(m)
    if isinstance(behaviour, _Quotient):
        return behaviour.planned_half_width(m, plan.noise, table, persons)
    return behaviour.preview(m, plan.noise, table).get("half_width")


def plan_accuracy(
    plan: DpPlan,
    spec: QuerySpec,
    table: Table,
    *,
    persons: int,
    half_width: float,
    measure: str | None = None,
) -> AccuracyPlan:
    """The least ρ at which ``measure`` (every measure with a half-width known in advance,
    without one) has a 95 % half-width of at most ``half_width`` in a cell of ``persons``."""
    names = [m.name for m in spec.measures]
    if measure is not None and measure not in names:
        raise QueryRefused(f"the spec has no measure {measure!r}; it has {', '.join(names)}")
    wanted = [measure] if measure is not None else names
    planned = [n for n in wanted if measure_half_width(plan, spec, table, n, persons) is not None]
    if not planned:
        raise QueryRefused(
            "a quantile's interval depends on how the values spread, which is not known "
            "before a release; plan a count, sum, mean, share or ratio (the preview states a "
            "quantile's rank half-width)"
        )

    def widest(factor: float) -> float:
        at = plan.rescaled(factor)
        return max(measure_half_width(at, spec, table, n, persons) or 0.0 for n in planned)

    # the half-width grows with the scale: bisect log(factor) between a tiny and a huge one
    low, high = -40.0, 40.0
    if widest(math.exp(low)) > half_width:
        raise QueryRefused(
            f"no ρ gives a half-width of {half_width:g} in cells of {persons} persons: ask "
            "for a wider interval or larger cells"
        )
    for _ in range(SEARCH_STEPS):
        middle = (low + high) / 2
        if widest(math.exp(middle)) <= half_width:
            low = middle
        else:
            high = middle
    chosen = plan.rescaled(math.exp(low))
    widths = {n: measure_half_width(chosen, spec, table, n, persons) for n in names}
    return AccuracyPlan(chosen.rho, persons, half_width, measure, widths)
