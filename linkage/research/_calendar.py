"""Terms, school years and months of a school day.

The Swedish school year runs from 1 July to 30 June: the autumn term (``HT``) is July–December,
the spring term (``VT``) January–June. A term is written ``<year><HT|VT>`` (``2026HT``,
``2027VT``), the year its days fall in; as text, a year's ``HT`` sorts before its ``VT``
although it comes later (``term_key`` numbers terms in time order). A month is written
``YYYY-MM``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def term(day: ir.DateValue) -> ir.StringValue:
    half = ibis.ifelse(day.month() >= 7, "HT", "VT")
    return day.year().cast("string").concat(half)


def term_key(day: ir.DateValue) -> ir.IntegerValue:
    """The day's term as a number (``2 × year``, plus one for ``HT``): cheaper than ``term``
    to keep and group by in a table of tens of millions of rows (``term_of_key``)."""
    return (day.year() * 2 + (day.month() >= 7).cast("int32")).cast("int32")


def term_of_key(key: ir.IntegerValue) -> ir.StringValue:
    """The term ``term_key`` numbered (``term(day) == term_of_key(term_key(day))``)."""
    return (key // 2).cast("int32").cast("string").concat(ibis.ifelse(key % 2 == 1, "HT", "VT"))


def school_year_start(day: ir.DateValue) -> ir.IntegerValue:
    """The calendar year in which the day's school year began."""
    return ibis.ifelse(day.month() >= 7, day.year(), day.year() - 1)


def month(day: ir.DateValue) -> ir.StringValue:
    return day.strftime("%Y-%m")
