"""One home per measure kind: what a measure's value is in an exact (``sdc``) table, how it is
estimated from a differentially private release with its interval, what it can be whatever
the data, and what the preview says of its accuracy.

A measure is one statistic per cell (``_spec.Measure``). Counts count persons; ``share`` is the
share of a cell's persons with a flag; ``sum`` and ``mean`` are of a bounded measure column,
each person's value clamped to the catalogue's bounds; ``quantile`` is of a bounded measure.
In ``dp`` mode a count is the noisy number of persons ``n``; a sum is a noisy sum; a mean or a
share is a noisy sum over a noisy count, and its interval the widest ratio the two intervals
allow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from release._policy import Table
from release._spec import Measure

Interval = tuple[float | None, float | None]


@dataclass(frozen=True)
class Kind:
    """The behaviour shared by every kind; each subclass overrides what differs."""

    name: ClassVar[str]

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        """The value in a row of ``_frames.exact_table``."""
        raise NotImplementedError

    def estimate(
        self, row: dict[str, Any], m: Measure, accuracy: dict[str, float | None], table: Table
    ) -> Interval:
        """The value and its half-width from a row of an OpenDP release (``n`` is the cell's
        noisy number of persons)."""
        raise NotImplementedError

    def value_range(self, m: Measure, table: Table) -> tuple[float, float]:
        """What the value can be, whatever the data."""
        assert m.column is not None
        bounds = table.columns[m.column].bounds
        return bounds if bounds is not None else (-math.inf, math.inf)

    def preview(self, m: Measure, accuracy: dict[str, float | None]) -> dict[str, float | None]:
        """What the preview says of the value's accuracy (95 % half-widths)."""
        return {"half_width": None}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


class CountStudents(Kind):
    name = "count_students"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        return _float(row.get("students"))

    def estimate(
        self, row: dict[str, Any], m: Measure, accuracy: dict[str, float | None], table: Table
    ) -> Interval:
        return max(float(row["n"] or 0), 0.0), accuracy.get("n")

    def value_range(self, m: Measure, table: Table) -> tuple[float, float]:
        return 0.0, math.inf

    def preview(self, m: Measure, accuracy: dict[str, float | None]) -> dict[str, float | None]:
        return {"half_width": accuracy.get("n")}


class CountTeachers(CountStudents):
    name = "count_teachers"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        return _float(row.get("teachers"))


class Share(Kind):
    name = "share"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        return _float(row.get(f"share:{m.column}"))

    def estimate(
        self, row: dict[str, Any], m: Measure, accuracy: dict[str, float | None], table: Table
    ) -> Interval:
        total, width = row[f"sum:{m.column}"], accuracy.get(f"sum:{m.column}") or 0.0
        return mean_interval(total, float(row["n"] or 0), width, accuracy.get("n") or 0.0,
                             (0.0, 1.0))  # fmt: skip

    def value_range(self, m: Measure, table: Table) -> tuple[float, float]:
        return 0.0, 1.0

    def preview(self, m: Measure, accuracy: dict[str, float | None]) -> dict[str, float | None]:
        return {"numerator_half_width": accuracy.get(f"sum:{m.column}"),
                "count_half_width": accuracy.get("n")}  # fmt: skip


class Sum(Kind):
    name = "sum"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        return _float(row.get(f"sum:{m.column}"))

    def estimate(
        self, row: dict[str, Any], m: Measure, accuracy: dict[str, float | None], table: Table
    ) -> Interval:
        return row[f"sum:{m.column}"], accuracy.get(f"sum:{m.column}")

    def value_range(self, m: Measure, table: Table) -> tuple[float, float]:
        lo, hi = super().value_range(m, table)
        return (0.0 if lo >= 0 else -math.inf), (0.0 if hi <= 0 else math.inf)

    def preview(self, m: Measure, accuracy: dict[str, float | None]) -> dict[str, float | None]:
        return {"half_width": accuracy.get(f"sum:{m.column}")}


class Mean(Kind):
    name = "mean"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        return _float(row.get(f"mean:{m.column}"))

    def estimate(
        self, row: dict[str, Any], m: Measure, accuracy: dict[str, float | None], table: Table
    ) -> Interval:
        count = float(row[f"count:{m.column}"] or 0)
        return mean_interval(row[f"total:{m.column}"], count,
                             accuracy.get(f"total:{m.column}") or 0.0,
                             accuracy.get(f"count:{m.column}") or 0.0,
                             self.value_range(m, table))  # fmt: skip

    def preview(self, m: Measure, accuracy: dict[str, float | None]) -> dict[str, float | None]:
        return {"numerator_half_width": accuracy.get(f"total:{m.column}"),
                "count_half_width": accuracy.get(f"count:{m.column}")}  # fmt: skip


class Quantile(Kind):
    name = "quantile"

    def exact(self, row: dict[str, Any], m: Measure) -> float | None:
        return _float(row.get(m.name))

    def estimate(
        self, row: dict[str, Any], m: Measure, accuracy: dict[str, float | None], table: Table
    ) -> Interval:
        return row[m.name], None


KINDS: dict[str, Kind] = {
    k.name: k() for k in (CountStudents, CountTeachers, Share, Sum, Mean, Quantile)
}

RATIO_NOTE = (
    "means and shares are a noisy sum divided by a noisy count; their interval is the widest "
    "ratio the two 95 % intervals allow"
)


def kind(m: Measure) -> Kind:
    return KINDS[m.kind]


def is_ratio(m: Measure) -> bool:
    return m.kind in ("mean", "share")


def clip(value: float | None, bounds: tuple[float, float]) -> float | None:
    return None if value is None else min(max(value, bounds[0]), bounds[1])


def interval(value: float | None, width: float | None, bounds: tuple[float, float]) -> Interval:
    if value is None or width is None:
        return None, None
    lo, hi = bounds
    return max(value - width, lo), min(value + width, hi)


def mean_interval(
    total: float, count: float, a_total: float, a_count: float, bounds: Sequence[float]
) -> tuple[float | None, float | None]:
    """A noisy mean ``total / count`` and the half-width of the widest interval the two
    estimates' intervals allow, clipped to the measure's bounds."""
    lo, hi = bounds
    if count <= 0:
        return None, None
    estimate = min(max(total / count, lo), hi)
    low_count = count - a_count
    if low_count <= 0:
        return estimate, (hi - lo) / 2
    candidates = [(total - a_total) / (count + a_count), (total + a_total) / low_count,
                  (total - a_total) / low_count, (total + a_total) / (count + a_count)]  # fmt: skip
    low = max(min(candidates), lo)
    high = min(max(candidates), hi)
    return estimate, max(estimate - low, high - estimate)
