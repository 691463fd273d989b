"""Absence per pupil × month (``student_months``) and per pupil × term (``student_terms``).

Both formulas of Statistics Sweden's absence report:

- ``absence_rate_reported``: absent minutes over the minutes of the pupil's **reported** lessons
  (lessons whose attendance was registered);
- ``absence_rate_planned``: reported absent minutes over all minutes **planned** for the pupil
  (reported or not), a lower bound when registration is incomplete.

Absent minutes are valid (anmäld, beviljad ledighet) plus invalid (ogiltig) absence minutes;
``other_minutes`` (attending elsewhere) are not absence. A **day absent** is a school day on which
the pupil had at least one reported lesson and attended none of them (no present or other
minutes). Persistent (≥ 10 %) and severe (≥ 50 %) absence, the month alert (> 20 %) and ≥ 15
days are taken over the pupil's own reported time (``_rates``). These are research variables,
built and kept inside the service; they leave it only as counts and shares.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from linkage.build._rates import (
    MANY_DAYS_ABSENT,
    MONTH_ALERT_PERCENT,
    over_percent,
    persistent,
    rate,
    severe,
)
from linkage.build._student_lessons import main_school


def _sums(table: ir.Table, key: list[str]) -> ir.Table:
    rep = table.reported

    def reported(value: ir.IntegerValue) -> ir.IntegerScalar:
        return ibis.ifelse(rep, value.fill_null(0), 0).sum()

    return table.group_by(key).aggregate(
        lessons=table.count(),
        reported_lessons=rep.cast("int64").sum(),
        planned_minutes=table.minutes.sum(),
        reported_minutes=reported(table.minutes),
        valid_absence_minutes=reported(table.valid_absence_minutes),
        invalid_absence_minutes=reported(table.invalid_absence_minutes),
    )


def _days(student_lessons: ir.Table, key: list[str]) -> ir.Table:
    """Per ``key``: school days with a reported lesson, and of those, days absent."""
    sl = student_lessons.filter(student_lessons.reported)
    attended = sl.present_minutes.fill_null(0) + sl.other_minutes.fill_null(0)
    per_day = sl.group_by([*key, "local_date"]).aggregate(attended=attended.sum())
    return per_day.group_by(key).aggregate(
        reported_days=per_day.count(),
        days_absent=(per_day.attended == 0).cast("int64").sum(),
    )


def _rates(sums: ir.Table) -> dict[str, ir.Value]:
    absent = sums.valid_absence_minutes + sums.invalid_absence_minutes
    return {
        "absent_minutes": absent,
        "absence_rate_reported": rate(absent, sums.reported_minutes),
        "absence_rate_planned": rate(absent, sums.planned_minutes),
        "valid_absence_rate": rate(sums.valid_absence_minutes, sums.reported_minutes),
        "invalid_absence_rate": rate(sums.invalid_absence_minutes, sums.reported_minutes),
        "reported_share": rate(sums.reported_lessons, sums.lessons),
    }


COUNTS = ["lessons", "reported_lessons", "planned_minutes", "reported_minutes",
          "valid_absence_minutes", "invalid_absence_minutes"]  # fmt: skip


def student_months(student_lessons: ir.Table) -> ir.Table:
    key = ["student_pid", "month"]
    sl = student_lessons
    sums = _sums(sl, [*key, "term"])
    joined = sums.join(main_school(sl, key), key).left_join(_days(sl, key), key)
    absent = joined.valid_absence_minutes + joined.invalid_absence_minutes
    return joined.select(
        *key, "term", "school_code", "grade", *COUNTS, **_rates(joined),
        days_absent=joined.days_absent.fill_null(0),
        over_20_percent=over_percent(absent, joined.reported_minutes, MONTH_ALERT_PERCENT),
    )  # fmt: skip


def student_terms(
    student_lessons: ir.Table, months: ir.Table, student_register: ir.Table
) -> ir.Table:
    key = ["student_pid", "term"]
    sl = student_lessons
    sums = _sums(sl, key)
    alert = months.group_by(key).aggregate(
        any_month_over_20_percent=months.over_20_percent.fill_null(False).any(),
        days_absent=months.days_absent.sum(),
    )
    register = student_register.select("student_pid", "merit_value")
    joined = (
        sums.join(main_school(sl, key), key).join(alert, key).left_join(register, "student_pid")
    )
    absent = joined.valid_absence_minutes + joined.invalid_absence_minutes
    return joined.select(
        *key, "school_code", "grade", *COUNTS, **_rates(joined),
        persistent_absence=persistent(absent, joined.reported_minutes),
        severe_absence=severe(absent, joined.reported_minutes),
        any_month_over_20_percent=joined.any_month_over_20_percent,
        days_absent=joined.days_absent,
        many_days_absent=joined.days_absent >= MANY_DAYS_ABSENT,
        merit_value=joined.merit_value,
    )  # fmt: skip
