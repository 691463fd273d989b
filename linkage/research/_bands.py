"""Bands: a measure cut at published edges into labels that are public keys.

The labels are fixed here and in ``policies/catalogue.toml`` (``[keys]``), never read from the
data, so a release may group by a band at no cost in ``dp`` mode. Every band includes its lower
edge: a pupil absent exactly 5 % of their reported minutes is in ``5-10%``.

- ``absence_band``: absent minutes over reported minutes, in the bands Statistics Sweden's and
  SKL's (SKR's) absence material uses, < 5, 5–10, 10–20, 20–50 and ≥ 50 %. Compared in integer
  arithmetic like the persistent and severe thresholds (``_rates``); null when nothing was
  reported.
- ``merit_band``: the merit value at the edges the catalogue publishes for ``merit_value``.
- ``experience_band``: a teacher's years of experience, 0–2 (a novice), 3–9, 10–19 and 20+.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

# (label, lower edge): each band runs from its edge up to the next band's
ABSENCE_BANDS = (("<5%", 0), ("5-10%", 5), ("10-20%", 10), ("20-50%", 20), (">=50%", 50))
MERIT_BANDS = (
    ("<100", 0),
    ("100-160", 100),
    ("160-200", 160),
    ("200-240", 200),
    ("240-280", 240),
    (">=280", 280),
)
EXPERIENCE_BANDS = (("0-2", 0), ("3-9", 3), ("10-19", 10), ("20+", 20))


def _cut(
    bands: tuple[tuple[str, int], ...],
    at_least: Callable[[int], ir.BooleanValue],
    known: ir.BooleanValue,
) -> ir.StringValue:
    """The label of the highest band whose edge the value reaches (``at_least(edge)``); null
    when the value is not ``known``."""
    higher = [(at_least(edge), label) for label, edge in reversed(bands[1:])]
    return ibis.cases((~known, ibis.null("string")), *higher, else_=ibis.literal(bands[0][0]))


def absence_band(absent: ir.NumericValue, reported: ir.NumericValue) -> ir.StringValue:
    """The band of ``absent / reported``, exactly (``absent × 100 ≥ reported × edge``)."""
    return _cut(
        ABSENCE_BANDS,
        lambda edge: absent * 100 >= reported * edge,
        reported.notnull() & (reported > 0) & absent.notnull(),
    )


def merit_band(merit_value: ir.NumericValue) -> ir.StringValue:
    return _cut(MERIT_BANDS, lambda edge: merit_value >= edge, merit_value.notnull())


def experience_band(years: ir.NumericValue) -> ir.StringValue:
    return _cut(EXPERIENCE_BANDS, lambda edge: years >= edge, years.notnull())
