"""``teacher_terms``: one row per teacher × term × school where the teacher taught a held lesson.

- ``lessons``, ``minutes``: held lessons taught there that term and their length for the teacher
  (the lesson's teaching length for teachers, else end − start); ``substitute_lessons`` of them
  as a substitute. ``regular``: taught at least one lesson as the activity's own teacher.
- ``certified_share``: minutes in lessons where the teacher is certified in the lesson's subject
  for every grade band among its pupils.
- ``legitimated``, ``experience_years`` (and its ``experience_band``, 0-2, 3-9, 10-19, 20+),
  ``novice`` (< 3 years) and ``new_to_school`` (arrived this school year) from the teacher
  register; null when the teacher is not in it.
- ``leaves``: the teacher leaves the school by the next school year: none of their duties at the
  school is open-ended or runs to 1 August of the following year (null without a duty there).
- ``school_turnover``: the share of the school's regular teachers that term who leave.

Teachers are data subjects too: these rows never leave the service, only aggregates of them.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from linkage.research._bands import experience_band
from linkage.research._calendar import school_year_start
from linkage.research._participation import lesson_teachers
from linkage.research._rates import rate
from linkage.research._student_lessons import BANDS, NOVICE_YEARS, lesson_facts

KEY = ["teacher_pid", "term", "school_code"]


def teacher_terms(
    t: dict[str, ir.Table],
    lessons_seen: ir.Table,
    taught: ir.Table | None = None,
    facts: ir.Table | None = None,
) -> ir.Table:
    """``lessons_seen``: ``linkage.research._seats.lessons_seen`` (per lesson, which grade bands
    its pupils are in); ``taught``, ``facts``: ``lesson_teachers(t)`` and
    ``lesson_facts(t)``, or the same already computed."""
    taught = lesson_teachers(t) if taught is None else taught
    facts = lesson_facts(t, taught) if facts is None else facts
    info = facts.select(
        "lesson_pid",
        "school_code",
        "subject_code",
        "term",
        year=school_year_start(facts.local_date),
        minutes=facts.teacher_minutes,
    )
    taught = taught.join(info, "lesson_pid")

    # per lesson, which grade bands its pupils are in
    present = lessons_seen.select("lesson_pid", *(f"has_{i}" for i in range(len(BANDS))))
    c = t["teacher_certifications"]
    held = c.group_by(["teacher_pid", "subject_code"]).aggregate(
        **{f"cert_{i}": (c.grade_band == band).any() for i, band in enumerate(BANDS)}
    )
    taught = (
        taught.left_join(present, "lesson_pid")
        .drop("lesson_pid_right")
        .left_join(held, ["teacher_pid", "subject_code"])
        .drop("teacher_pid_right", "subject_code_right")
    )
    has = [taught[f"has_{i}"].fill_null(False) for i in range(len(BANDS))]
    cert = [taught[f"cert_{i}"].fill_null(False) for i in range(len(BANDS))]
    any_band = has[0] | has[1] | has[2]
    covered = (~has[0] | cert[0]) & (~has[1] | cert[1]) & (~has[2] | cert[2])
    taught = taught.mutate(certified=any_band & covered)
    is_certified = taught.certified.fill_null(False)
    per_term = taught.group_by(KEY).aggregate(
        year=taught.year.max(),
        lessons=taught.count(),
        minutes=taught.minutes.sum(),
        substitute_lessons=taught.substitute.cast("int64").sum(),
        regular=(~taught.substitute).any(),
        certified_minutes=ibis.ifelse(is_certified, taught.minutes, 0).sum(),
    )
    return teacher_rows(
        t,
        per_term.mutate(certified_share=rate(per_term.certified_minutes, per_term.minutes)).drop(
            "certified_minutes"
        ),
    )


def teacher_rows(t: dict[str, ir.Table], per_term: ir.Table) -> ir.Table:
    """The rows of ``teacher_terms`` from what was taught per ``KEY`` (``year, lessons,
    minutes, substitute_lessons, regular, certified_share``): the register's figures, whether
    the teacher leaves, and the school's turnover. Shared by the lesson-level and the
    class-level build (``_classes``)."""
    register = t["teacher_register"].select(
        "teacher_pid", "legitimated", "experience_years", "arrival_year"
    )
    staff = t["staff"]
    per_duty = staff.select(
        "teacher_pid",
        "school_code",
        open_until=ibis.coalesce(staff.end_date, ibis.date(dt.date.max)),
    )
    duties = per_duty.group_by(["teacher_pid", "school_code"]).aggregate(
        last_day=per_duty.open_until.max()
    )
    joined = per_term.left_join(register, "teacher_pid").left_join(
        duties, ["teacher_pid", "school_code"]
    )
    next_year = ibis.date(joined.year + 1, 8, 1)
    rows = joined.select(
        *KEY,
        "lessons",
        "minutes",
        "substitute_lessons",
        "regular",
        certified_share=joined.certified_share,
        legitimated=joined.legitimated,
        experience_years=joined.experience_years,
        experience_band=experience_band(joined.experience_years),
        novice=joined.experience_years < NOVICE_YEARS,
        new_to_school=joined.arrival_year >= joined.year,
        leaves=ibis.ifelse(
            joined.last_day.isnull(), ibis.null("boolean"), joined.last_day < next_year
        ),
    )
    regular = rows.filter(rows.regular)
    school = regular.group_by(["term", "school_code"]).aggregate(
        leavers=regular.leaves.fill_null(False).cast("int64").sum(),
        known=regular.leaves.notnull().cast("int64").sum(),
    )
    out = rows.left_join(school, ["term", "school_code"])
    return out.select(
        *[c for c in rows.columns],
        school_turnover=rate(out.leavers, out.known),
    )
