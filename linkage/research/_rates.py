"""The rate and threshold functions every absence indicator uses.

They are Ibis expressions, so the same definitions run inside the build and on any table of
counts (the England reproduction in the tests runs them on the Department for Education's
published session counts). Thresholds compare with integer arithmetic, so a pupil at exactly
10 % is persistent however the division would have rounded.

Sources: Statistics Sweden and Skolverket's absence report (frånvaro over reported lessons, and
over planned time); the Department for Education's methodology for England (overall rate as the
ratio of sums, persistent ≥ 10 % and severe ≥ 50 % of the pupil's own possible sessions).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

PERSISTENT_PERCENT = 10
SEVERE_PERCENT = 50
MONTH_ALERT_PERCENT = 20
MANY_DAYS_ABSENT = 15


def rate(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """``numerator / denominator``; null when the denominator is zero or missing."""
    return ibis.ifelse(
        denominator > 0, numerator.cast("float64") / denominator, ibis.null("float64")
    )


def at_least_percent(
    part: ir.NumericValue, whole: ir.NumericValue, percent: int
) -> ir.BooleanValue:
    """``part / whole ≥ percent %``, exactly; null when ``whole`` is zero or missing."""
    return ibis.ifelse(whole > 0, part * 100 >= whole * percent, ibis.null("boolean"))


def over_percent(part: ir.NumericValue, whole: ir.NumericValue, percent: int) -> ir.BooleanValue:
    """``part / whole > percent %``, exactly; null when ``whole`` is zero or missing."""
    return ibis.ifelse(whole > 0, part * 100 > whole * percent, ibis.null("boolean"))


def persistent(absent: ir.NumericValue, possible: ir.NumericValue) -> ir.BooleanValue:
    return at_least_percent(absent, possible, PERSISTENT_PERCENT)


def severe(absent: ir.NumericValue, possible: ir.NumericValue) -> ir.BooleanValue:
    return at_least_percent(absent, possible, SEVERE_PERCENT)
