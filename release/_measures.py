"""One home per measure kind: what a measure's value is in an exact (``sdc``) table, how it is
estimated from a differentially private release with its interval, what it can be whatever
the data, and what the preview says of its accuracy.

A measure is one statistic per cell (``_spec.Measure``). Counts count persons; ``share`` is the
share of a cell's persons with a flag; ``sum`` and ``mean`` are of a bounded measure column,
each person's value clamped to the catalogue's bounds; ``ratio`` is one column's sum over
another's; ``quantile`` is of a bounded measure. In ``dp`` mode a count is the noisy number of
persons ``n``; a sum is a noisy sum; a mean, share or ratio is a noisy sum over another noisy
sum or count, with Fieller's interval from the two noises (``_intervals``); a quantile is read
from a noisy histogram over public bins, with the edges its counts allow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from release._intervals import (
    ALPHA,
    Noise,
    bin_edges,
    fieller,
    fieller_half_width,
    histogram_quantile,
    z_of,
)
from release._policy import Table
from release._spec import Measure

Estimate = tuple[float | None, float | None, float | None]  # value, lower, upper
Noises = dict[str, Noise]
PREVIEW_PERSONS = 100  # the preview states a mean's or share's half-width in a cell this size


@dataclass(frozen=True)
class Kind:
    """The behaviour shared by every kind; each subclass overrides what differs."""

    name: ClassVar[str]

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        """The value in a row of ``_frames.exact_table``."""
        raise NotImplementedError

    def estimate(
        self, row: dict[str, Any], m: Measure, noise: Noises, table: Table, alpha: float
    ) -> Estimate:
        """The value and its (1 − α) interval from a row of an OpenDP release, given the
        noise on each released column."""
        raise NotImplementedError

    def value_range(self, m: Measure, table: Table) -> tuple[float, float]:
        """What the value can be, whatever the data."""
        assert m.column is not None
        bounds = table.columns[m.column].bounds
        return bounds if bounds is not None else (-math.inf, math.inf)

    def preview(self, m: Measure, noise: Noises, table: Table) -> dict[str, float | None]:
        """What the preview says of the value's accuracy (95 % half-widths), from the noise
        alone: never from the data."""
        return {"half_width": None}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _width(noise: Noises, column: str, alpha: float = ALPHA) -> float | None:
    return noise[column].half_width(alpha) if column in noise else None


def _plain(
    value: Any, noise: Noises, column: str, bounds: tuple[float, float], alpha: float
) -> Estimate:
    """A value with symmetric noise: value ± its half-width, clipped to what it can be."""
    if value is None:
        return None, None, None
    v = min(max(float(value), bounds[0]), bounds[1])
    width = _width(noise, column, alpha)
    if width is None:
        return v, None, None
    # both ends clipped into what the value can be, so the interval always holds the value
    # it is shown with (noise that pushes the whole interval below the least possible value
    # gives the least value and the interval [least, least])
    low, high = float(value) - width, float(value) + width
    return v, min(max(low, bounds[0]), bounds[1]), min(max(high, bounds[0]), bounds[1])


class CountStudents(Kind):
    name = "count_students"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        return _float(row.get("students"))

    def estimate(
        self, row: dict[str, Any], m: Measure, noise: Noises, table: Table, alpha: float
    ) -> Estimate:
        return _plain(row["n"] or 0, noise, "n", self.value_range(m, table), alpha)

    def value_range(self, m: Measure, table: Table) -> tuple[float, float]:
        return 0.0, math.inf

    def preview(self, m: Measure, noise: Noises, table: Table) -> dict[str, float | None]:
        return {"half_width": _width(noise, "n")}


class CountTeachers(CountStudents):
    name = "count_teachers"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        return _float(row.get("teachers"))


class _Quotient(Kind):
    """A noisy sum over another noisy sum or count: a mean, a share, a ratio."""

    denominator_word: ClassVar[str] = "count"  # the preview's name for the denominator

    def parts(self, m: Measure) -> tuple[str, str]:
        """The released numerator and denominator columns."""
        raise NotImplementedError

    def estimate(
        self, row: dict[str, Any], m: Measure, noise: Noises, table: Table, alpha: float
    ) -> Estimate:
        top, bottom = self.parts(m)
        return fieller(
            row[top], row[bottom], noise[top], noise[bottom], self.value_range(m, table), alpha
        )

    def typical(self, m: Measure, table: Table) -> float:
        """What one person adds to the denominator, for the preview and the planner."""
        return 1.0

    def planned_half_width(
        self, m: Measure, noise: Noises, table: Table, persons: float, alpha: float = ALPHA
    ) -> float:
        """The half-width in a cell of ``persons``, at the value in the measure's range
        where it is widest (the value is not known before the release)."""
        top, bottom = self.parts(m)
        lo, hi = self.value_range(m, table)
        hi = hi if math.isfinite(hi) else 1.0
        lo = lo if math.isfinite(lo) else -hi
        size = persons * self.typical(m, table)
        values = [lo + (hi - lo) * i / 20 for i in range(21)]
        return max(
            fieller_half_width(v, size, noise[top], noise[bottom], (lo, hi), alpha) for v in values
        )

    def preview(self, m: Measure, noise: Noises, table: Table) -> dict[str, float | None]:
        top, bottom = self.parts(m)
        return {
            "numerator_half_width": _width(noise, top),
            f"{self.denominator_word}_half_width": _width(noise, bottom),
            f"half_width_if_{PREVIEW_PERSONS}_persons": self.planned_half_width(
                m, noise, table, PREVIEW_PERSONS
            ),
        }


class Share(_Quotient):
    name = "share"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        return _float(row.get(f"share:{m.column}"))

    def parts(self, m: Measure) -> tuple[str, str]:
        return f"sum:{m.column}", "n"

    def value_range(self, m: Measure, table: Table) -> tuple[float, float]:
        return 0.0, 1.0


class Sum(Kind):
    name = "sum"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        return _float(row.get(f"sum:{m.column}"))

    def estimate(
        self, row: dict[str, Any], m: Measure, noise: Noises, table: Table, alpha: float
    ) -> Estimate:
        column = f"sum:{m.column}"
        return _plain(row[column], noise, column, self.value_range(m, table), alpha)

    def value_range(self, m: Measure, table: Table) -> tuple[float, float]:
        lo, hi = super().value_range(m, table)
        return (0.0 if lo >= 0 else -math.inf), (0.0 if hi <= 0 else math.inf)

    def preview(self, m: Measure, noise: Noises, table: Table) -> dict[str, float | None]:
        return {"half_width": _width(noise, f"sum:{m.column}")}


class Mean(_Quotient):
    name = "mean"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        return _float(row.get(f"mean:{m.column}"))

    def parts(self, m: Measure) -> tuple[str, str]:
        return f"total:{m.column}", f"count:{m.column}"


class Ratio(_Quotient):
    name = "ratio"
    denominator_word = "denominator"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        top, bottom = row.get(f"sum:{m.numerator}"), row.get(f"sum:{m.denominator}")
        if top is None or not bottom:
            return None
        return float(top) / float(bottom)

    def parts(self, m: Measure) -> tuple[str, str]:
        return f"sum:{m.numerator}", f"sum:{m.denominator}"

    def value_range(self, m: Measure, table: Table) -> tuple[float, float]:
        assert m.numerator is not None and m.denominator is not None
        top = table.columns[m.numerator].bounds or (-math.inf, math.inf)
        bottom = table.columns[m.denominator].bounds or (0.0, math.inf)
        if top[0] >= 0 and bottom[0] >= 0:
            return 0.0, math.inf
        return -math.inf, math.inf

    def typical(self, m: Measure, table: Table) -> float:
        """A person's denominator at the middle of its bounds (the planner takes a figure)."""
        assert m.denominator is not None
        lo, hi = table.columns[m.denominator].bounds or (0.0, 1.0)
        return (lo + hi) / 2


class Quantile(Kind):
    name = "quantile"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        return _float(row.get(m.name))

    def estimate(
        self, row: dict[str, Any], m: Measure, noise: Noises, table: Table, alpha: float
    ) -> Estimate:
        assert m.column is not None and m.q is not None
        column = f"hist:{m.column}"
        counts = row.get(column)
        edges = bin_edges(self.value_range(m, table))
        if not counts:
            counts = [0.0] * (len(edges) - 1)
        return histogram_quantile(counts, edges, m.q, noise[column], alpha)

    def preview(self, m: Measure, noise: Noises, table: Table) -> dict[str, float | None]:
        """Persons: how far the count below the quantile may be off (its rank), and the
        bins' width, the least the interval can be."""
        assert m.column is not None and m.q is not None
        column = f"hist:{m.column}"
        if column not in noise:
            return {"rank_half_width": None, "bin_width": None}
        edges = bin_edges(self.value_range(m, table))
        bins = len(edges) - 1
        spread = noise[column].scale * math.sqrt(bins * m.q * (1 - m.q))
        return {"rank_half_width": z_of() * spread, "bin_width": edges[1] - edges[0]}


KINDS: dict[str, Kind] = {
    k.name: k() for k in (CountStudents, CountTeachers, Share, Sum, Mean, Ratio, Quantile)
}

RATIO_NOTE = (
    "means, shares and ratios are a noisy sum divided by a noisy count or sum; their interval "
    "is Fieller's, from both noises, and covers the truth 95 % of the time"
)
QUANTILE_NOTE = (
    "quantiles are read from a noisy histogram over public bins; their interval runs between "
    "the bin edges the noisy counts allow"
)


def kind(m: Measure) -> Kind:
    return KINDS[m.kind]


def is_ratio(m: Measure) -> bool:
    return m.kind in ("mean", "share", "ratio")


def notes(measures: tuple[Measure, ...]) -> list[str]:
    """The notes a dp release or preview carries for its measures."""
    out = [RATIO_NOTE] if any(is_ratio(m) for m in measures) else []
    return out + ([QUANTILE_NOTE] if any(m.kind == "quantile" for m in measures) else [])


def half_width(estimate: Estimate) -> float | None:
    """The larger distance from the value to its interval's ends (None: open or unknown)."""
    value, low, high = estimate
    if value is None or low is None or high is None:
        return None
    return max(value - low, high - value)
