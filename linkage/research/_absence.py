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
days are taken over the pupil's own reported time (``_rates``). ``absence_band`` is the band of
``absence_rate_reported`` (< 5, 5–10, 10–20, 20–50, ≥ 50 %) and ``merit_band`` that of the merit
value (``_bands``), public keys to group by. ``sex`` is the pupil's sex as the school system
records it (SS 12000 ``Person.sex``: ``Kvinna``, ``Man``, else ``Okänt``), a public category
to group by. These are research variables, built and kept inside the service; they leave it
only as counts and shares.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from linkage.research._bands import absence_band, merit_band
from linkage.research._rates import (
    MANY_DAYS_ABSENT,
    MONTH_ALERT_PERCENT,
    over_percent,
    persistent,
    rate,
    severe,
)
from linkage.research._seats import REGISTERED
from linkage.research._student_lessons import pick_main_school

SEXES = ("Kvinna", "Man")  # SS 12000's Code_Sex; anything else, or nothing, is Okänt
UNKNOWN_SEX = "Okänt"
UNKNOWN_ORGANISER = "unknown"


COUNTS = [
    "lessons",
    "reported_lessons",
    "planned_minutes",
    "reported_minutes",
    "valid_absence_minutes",
    "invalid_absence_minutes",
]


def _sums(by_school: ir.Table, registered: ir.Table, days: ir.Table, key: list[str]) -> ir.Table:
    """Per ``key``: the counts, the main school, and the days absent (a day whose reported
    lessons, at any school, had no attended minutes). ``by_school``: rows of ``key``,
    ``school_code``, ``lessons``, ``minutes``, ``grade``; ``registered``: per ``key``, the
    registrations' sums (``_seats.registered``)."""
    b = by_school
    schools = b.group_by([*key, "school_code"]).aggregate(
        school_minutes=b.minutes.sum(), school_grade=b.grade.max(), lessons=b.lessons.sum()
    )
    totals = schools.group_by(key).aggregate(
        lessons=schools.lessons.sum(), planned_minutes=schools.school_minutes.sum()
    )
    absent_days = days.group_by(key).aggregate(
        days_absent=((days.reported_lessons > 0) & (days.attended == 0)).cast("int64").sum()
    )
    joined = (
        totals.join(pick_main_school(schools, key), key)
        .left_join(registered, key)
        .drop(*(f"{k}_right" for k in key))
        .left_join(absent_days, key)
        .drop(*(f"{k}_right" for k in key))
    )
    return joined.select(
        *key,
        "school_code",
        "grade",
        "lessons",
        "planned_minutes",
        **{c: joined[c].fill_null(0) for c in REGISTERED},
        days_absent=joined.days_absent.fill_null(0),
    )


def _rates(sums: ir.Table) -> dict[str, ir.Value]:
    absent = sums.valid_absence_minutes + sums.invalid_absence_minutes
    return {
        "absent_minutes": absent,
        "absence_rate_reported": rate(absent, sums.reported_minutes),
        "absence_rate_planned": rate(absent, sums.planned_minutes),
        "absence_band": absence_band(absent, sums.reported_minutes),
        "valid_absence_rate": rate(sums.valid_absence_minutes, sums.reported_minutes),
        "invalid_absence_rate": rate(sums.invalid_absence_minutes, sums.reported_minutes),
        "reported_share": rate(sums.reported_lessons, sums.lessons),
    }


def pupil_sex(students: ir.Table) -> ir.Table:
    """One row per pupil of the canonical ``students``: ``sex`` as ``Kvinna``, ``Man`` or
    ``Okänt`` (unknown, or anything else the source wrote)."""
    sex = students.sex
    known = sex.isin(SEXES).fill_null(False)
    return students.group_by("student_pid").aggregate(
        sex=ibis.ifelse(known, sex, ibis.literal(UNKNOWN_SEX)).max()
    )


def _with_sex(table: ir.Table, students: ir.Table) -> ir.Table:
    """``table`` with the pupil's ``sex``: ``Okänt`` for a pupil the students table lacks."""
    sexes = pupil_sex(students)
    joined = table.left_join(sexes, table.student_pid == sexes.student_pid)
    return joined.select(*table.columns, sex=joined.sex.fill_null(UNKNOWN_SEX))


def school_organisers(schools: ir.Table) -> ir.Table:
    """One row per school code of the canonical ``schools``: its ``organiser_type``, or
    ``unknown`` when its school units disagree or none has one."""
    if "organiser_type" not in schools.columns:  # a snapshot ingested before it was derived
        return (
            schools.select("school_code")
            .distinct()
            .mutate(organiser_type=ibis.literal(UNKNOWN_ORGANISER))
        )
    kind = schools.organiser_type
    return schools.group_by("school_code").aggregate(
        organiser_type=ibis.ifelse(kind.nunique() == 1, kind.max(), UNKNOWN_ORGANISER)
    )


def _with_organiser(table: ir.Table, schools: ir.Table) -> ir.Table:
    """``table`` with its school's ``organiser_type``: ``unknown`` for a school not in
    ``schools``."""
    kinds = school_organisers(schools)
    joined = table.left_join(kinds, table.school_code == kinds.school_code)
    return joined.select(
        *table.columns, organiser_type=joined.organiser_type.fill_null(UNKNOWN_ORGANISER)
    )


def student_months(
    pupil_months: ir.Table,
    registered: ir.Table,
    days: ir.Table,
    students: ir.Table,
    *,
    schools: ir.Table,
) -> ir.Table:
    """``pupil_months``, ``days``: ``linkage.research._seats.pupil_months`` and ``pupil_days``;
    ``registered``: the registrations' sums per pupil and month (``_seats.registered``);
    ``students``: the canonical students (their sex); ``schools``: the canonical schools
    (their organiser type)."""
    key = ["student_pid", "month"]
    terms = pupil_months.group_by(key).aggregate(term=pupil_months.term.max())
    joined = _with_sex(_sums(pupil_months, registered, days, key).join(terms, key), students)
    joined = _with_organiser(joined, schools)
    absent = joined.valid_absence_minutes + joined.invalid_absence_minutes
    return joined.select(
        *key,
        "term",
        "school_code",
        "grade",
        "sex",
        "organiser_type",
        *COUNTS,
        **_rates(joined),
        days_absent=joined.days_absent,
        over_20_percent=over_percent(absent, joined.reported_minutes, MONTH_ALERT_PERCENT),
    )


def student_terms(
    pupil_terms: ir.Table,
    registered: ir.Table,
    days: ir.Table,
    months: ir.Table,
    student_register: ir.Table,
    students: ir.Table,
    *,
    schools: ir.Table,
) -> ir.Table:
    """``pupil_terms``: ``linkage.research._seats.pupil_terms``; ``registered``: the
    registrations' sums per pupil and term; ``months``: ``student_months`` of the same pupils
    (whether a month was over 20 %)."""
    key = ["student_pid", "term"]
    alert = months.group_by(key).aggregate(
        any_month_over_20_percent=months.over_20_percent.fill_null(False).any(),
    )
    register = student_register.select("student_pid", "merit_value")
    joined = _with_sex(_sums(pupil_terms, registered, days, key).join(alert, key), students)
    joined = _with_organiser(joined, schools)
    joined = joined.left_join(register, "student_pid")
    absent = joined.valid_absence_minutes + joined.invalid_absence_minutes
    return joined.select(
        *key,
        "school_code",
        "grade",
        "sex",
        "organiser_type",
        *COUNTS,
        **_rates(joined),
        persistent_absence=persistent(absent, joined.reported_minutes),
        severe_absence=severe(absent, joined.reported_minutes),
        any_month_over_20_percent=joined.any_month_over_20_percent,
        days_absent=joined.days_absent,
        many_days_absent=joined.days_absent >= MANY_DAYS_ABSENT,
        merit_value=joined.merit_value,
        merit_band=merit_band(joined.merit_value),
    )
