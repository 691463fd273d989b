"""Class-level links, for a source with classes but no lessons (OneRoster): who was taught by
whom per class and term, when the minutes are unknown.

Rules (docs/reference/indicators.md, "Class-level tables"):

- A class (an **activity**) runs in the terms its dates span (the class's academic sessions);
  its **window** in a term is that term's days within the class's dates. A class without both
  dates is in no term.
- A **pupil** of a class in a term: a member of one of its groups for at least one day of the
  window (a missing membership date is open); the pupil's days are the window clipped to the
  memberships. Likewise a **teacher** of it: assigned to the activity for a day of the window.
- A pupil and a teacher are **linked** through a class in a term when their days in it overlap;
  the link runs over the overlap. There are no substitutes and no lessons: every teacher is
  the class's own.
- The pupil's grade in a class is their enrolment grade at the class's school during their
  days in it (the highest, if enrolments overlap).

Nothing here is weighted by minutes: ``_class_tables`` builds ``exposure`` and
``teacher_terms`` from these links, with shares of classes; ``class_student_teachers`` is
``student_teachers``. The minutes, lessons and absence columns are null, never zero.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.datatypes as dt_
import ibis.expr.schema as sch
import ibis.expr.types as ir

from linkage.research._calendar import school_year_start

KEY = ["student_pid", "term", "subject_code"]
LINK = ["activity_pid", "term"]
# never a school or subject code (codes are never blank): a class at no known school or
# without a subject keeps its rows, grouped and joined under this value, null in the tables
NO_SCHOOL = NO_SUBJECT = ""


def term_calendar(first: dt.date, last: dt.date) -> list[dict[str, object]]:
    """Every term from the one of ``first`` to the one of ``last``: ``term``, ``first_day``,
    ``last_day`` (``_calendar``: autumn July–December, spring January–June)."""
    rows: list[dict[str, object]] = []
    year, autumn = first.year, first.month >= 7
    while (year, autumn) <= (last.year, last.month >= 7):
        if autumn:
            rows.append(
                {
                    "term": f"{year}HT",
                    "first_day": dt.date(year, 7, 1),
                    "last_day": dt.date(year, 12, 31),
                }
            )
            year, autumn = year + 1, False
        else:
            rows.append(
                {
                    "term": f"{year}VT",
                    "first_day": dt.date(year, 1, 1),
                    "last_day": dt.date(year, 6, 30),
                }
            )
            autumn = True
    return rows


def _days(table: ir.Table, first: ir.DateValue, last: ir.DateValue) -> ir.Table:
    """``table`` clipped to the dated link in it (``start_date``/``end_date``, null = open):
    ``first``, ``last``, kept where they overlap."""
    clipped = table.mutate(
        first=ibis.greatest(first, table.start_date.fill_null(first)),
        last=ibis.least(last, table.end_date.fill_null(last)),
    )
    return clipped.filter(clipped.first <= clipped.last)


def class_windows(t: dict[str, ir.Table], calendar: ir.Table) -> ir.Table:
    """One row per class and term it runs in: ``activity_pid, term, school_code,
    subject_code, year`` (the school year's start), and the window ``first_day``..``last_day``."""
    a = t["activities"].filter(
        t["activities"].start_date.notnull() & t["activities"].end_date.notnull()
    )
    a = a.left_join(t["syllabuses"].select("syllabus_pid", "subject_code"), "syllabus_pid")
    j = a.join(calendar, [a.start_date <= calendar.last_day, calendar.first_day <= a.end_date])
    first = ibis.greatest(j.start_date, j.first_day)
    return j.select(
        "activity_pid",
        "term",
        school_code=j.school_code.fill_null(NO_SCHOOL),
        subject_code=j.subject_code.fill_null(NO_SUBJECT),
        year=school_year_start(first),
        first_day=first,
        last_day=ibis.least(j.end_date, j.last_day),
    )


def class_pupils(t: dict[str, ir.Table], windows: ir.Table) -> ir.Table:
    """One row per pupil of a class in a term: ``LINK, student_pid, school_code,
    subject_code, year, first, last, grade``."""
    members = t["activity_groups"].join(t["group_memberships"], "group_pid")
    j = windows.join(
        members.select("activity_pid", "student_pid", "start_date", "end_date"), "activity_pid"
    )
    days = _days(j, j.first_day, j.last_day)
    e = t["enrolments"]
    graded = days.left_join(
        e,
        [
            days.student_pid == e.student_pid,
            days.school_code == e.school_code,
            e.start_date.isnull() | (e.start_date <= days.last),
            e.end_date.isnull() | (days.first <= e.end_date),
        ],
    )
    return graded.group_by([*LINK, "student_pid", "school_code", "subject_code", "year"]).aggregate(
        first=graded.first.min(), last=graded.last.max(), grade=graded.grade.max()
    )


def class_teachers(t: dict[str, ir.Table], windows: ir.Table) -> ir.Table:
    """One row per teacher of a class in a term: ``LINK, teacher_pid, first, last``."""
    at = t["activity_teachers"].select("activity_pid", "teacher_pid", "start_date", "end_date")
    j = windows.join(at, "activity_pid")
    days = _days(j, j.first_day, j.last_day)
    return days.group_by([*LINK, "teacher_pid"]).aggregate(
        first=days.first.min(), last=days.last.max()
    )


def class_links(pupils: ir.Table, teachers: ir.Table) -> ir.Table:
    """One row per pupil, teacher, class and term where their days overlap: ``LINK,
    student_pid, teacher_pid, school_code, subject_code, year, grade, first, last``."""
    j = pupils.join(teachers.rename(t_first="first", t_last="last"), LINK)
    j = j.mutate(first=ibis.greatest(j.first, j.t_first), last=ibis.least(j.last, j.t_last))
    j = j.filter(j.first <= j.last)
    return j.select(
        *LINK,
        "student_pid",
        "teacher_pid",
        "school_code",
        "subject_code",
        "year",
        "grade",
        "first",
        "last",
    )


def known(table: ir.Table) -> ir.Table:
    """``table`` with the codes of no school and no subject null again."""
    codes = ("school_code", "subject_code")
    return table.mutate(**{c: table[c].nullif(NO_SCHOOL) for c in codes if c in table.columns})


def class_student_teachers(links: ir.Table) -> ir.Table:
    """``student_teachers`` at class level: one row per pupil × term × subject × teacher
    linked; ``minutes`` and ``first_regular`` (a lesson's start) are unknown."""
    return known(
        links.select(*KEY, "teacher_pid")
        .distinct()
        .mutate(
            minutes=ibis.null("int64"),
            regular=ibis.literal(True),
            first_regular=ibis.null(dt_.Timestamp(timezone="UTC")),
        )
    )


def conform(expression: ir.Table, schema: sch.Schema) -> ir.Table:
    """``expression`` with exactly the columns and types of ``schema`` (the lesson-level
    table's), so that both kinds of build write the same files. A timestamp keeps its own
    type: the lesson-level one is declared without its time zone (the minimum of a UTC column
    and a null) though the engines write it in UTC, as the class-level one declares."""
    return expression.select(
        *(
            expression[name]
            if kind.is_timestamp() and expression.schema()[name].is_timestamp()
            else expression[name].cast(kind)
            for name, kind in schema.items()
        )
    )
