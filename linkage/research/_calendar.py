"""Terms, school years and months of a school day.

The Swedish school year runs from 1 July to 30 June: the autumn term (``HT``) is July–December,
the spring term (``VT``) January–June. A term is written ``<year><HT|VT>`` (``2026HT``,
``2027VT``) so that terms sort in time order; a month is written ``YYYY-MM``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def term(day: ir.DateValue) -> ir.StringValue:
    half = ibis.ifelse(day.month() >= 7, "HT", "VT")
    return day.year().cast("string").concat(half)


def school_year_start(day: ir.DateValue) -> ir.IntegerValue:
    """The calendar year in which the day's school year began."""
    return ibis.ifelse(day.month() >= 7, day.year(), day.year() - 1)


def month(day: ir.DateValue) -> ir.StringValue:
    return day.strftime("%Y-%m")
