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

Nothing here is weighted by minutes: a share is of the pupil's **classes** in the subject that
term (``exposure``) or of the teacher's classes (``teacher_terms``). The minutes, lessons and
absence columns are null, never zero.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.datatypes as dt_
import ibis.expr.schema as sch
import ibis.expr.types as ir

from linkage.build._calendar import school_year_start
from linkage.build._rates import rate
from linkage.build._student_lessons import BANDS, NOVICE_YEARS, grade_band, pick_main_school
from linkage.build._teachers import BAND_GRADES, teacher_rows
from linkage.build._turnover import next_term

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


def _known(table: ir.Table) -> ir.Table:
    """``table`` with the codes of no school and no subject null again."""
    codes = ("school_code", "subject_code")
    return table.mutate(**{c: table[c].nullif(NO_SCHOOL) for c in codes if c in table.columns})


def class_student_teachers(links: ir.Table) -> ir.Table:
    """``student_teachers`` at class level: one row per pupil × term × subject × teacher
    linked; ``minutes`` and ``first_regular`` (a lesson's start) are unknown."""
    return _known(
        links.select(*KEY, "teacher_pid")
        .distinct()
        .mutate(
            minutes=ibis.null("int64"),
            regular=ibis.literal(True),
            first_regular=ibis.null(dt_.Timestamp(timezone="UTC")),
        )
    )


def _certified_for(table: ir.Table, t: dict[str, ir.Table]) -> ir.Table:
    """``table`` (with ``teacher_pid, subject_code``) with ``cert_0..2``: the teacher holds a
    certification in the subject for each band of ``BANDS``."""
    c = t["teacher_certifications"]
    held = c.group_by(["teacher_pid", "subject_code"]).aggregate(
        **{f"cert_{i}": (c.grade_band == band).any() for i, band in enumerate(BANDS)}
    )
    return table.left_join(held, ["teacher_pid", "subject_code"]).drop(
        "teacher_pid_right", "subject_code_right"
    )


def class_turnover(
    windows: ir.Table, teachers: ir.Table, pupils: ir.Table, links: ir.Table
) -> ir.Table:
    """Per pupil × term × subject, ``turnover_hit``, the rule of ``_turnover`` on days instead
    of lessons: on one class, a teacher's link with the pupil ended before the pupil's last
    day in it and a different teacher's began after the pupil's first, both later than the
    first teacher's (replaced); or a teacher of the pupil in the subject at a school last term
    teaches no class there this term while the pupil has the subject there (left)."""
    on = [*KEY, "activity_pid"]
    span = pupils.select(*on, p_first=pupils.first, p_last=pupils.last)
    runs = links.select(*on, "teacher_pid", "first", "last").join(span, on)
    stopped = runs.filter(runs.last < runs.p_last)
    began = runs.filter(runs.first > runs.p_first).select(
        *on, new_teacher=runs.teacher_pid, new_first=runs.first, new_last=runs.last
    )
    pairs = stopped.join(
        began,
        [
            *on,
            stopped.teacher_pid != began.new_teacher,
            began.new_first > stopped.first,
            began.new_last > stopped.last,
        ],
    )
    replaced = pairs.select(*KEY).distinct().mutate(replaced=ibis.literal(True))
    present = (
        teachers.join(windows.select(*LINK, "school_code"), LINK)
        .select("teacher_pid", "school_code", "term")
        .distinct()
    )
    before = links.select(*KEY, "school_code", "teacher_pid").distinct()
    carried = before.mutate(term=next_term(before.term))
    left = (
        carried.semi_join(pupils.select(*KEY, "school_code"), [*KEY, "school_code"])
        .anti_join(present, ["teacher_pid", "school_code", "term"])
        .select(*KEY)
        .distinct()
        .mutate(left=ibis.literal(True))
    )
    rows = pupils.select(*KEY).distinct()
    for hits in (replaced, left):
        rows = rows.left_join(hits, KEY).drop(*(f"{k}_right" for k in KEY))
    return rows.select(
        *KEY, turnover_hit=rows.replaced.fill_null(False) | rows.left.fill_null(False)
    )


def class_exposure(
    t: dict[str, ir.Table], pupils: ir.Table, links: ir.Table, turnover: ir.Table
) -> ir.Table:
    """``exposure`` at class level: one row per pupil × term × subject, its shares of the
    pupil's classes; the school is the one with most classes (ties: the lowest code)."""
    register = t["teacher_register"].select(
        "teacher_pid", "legitimated", "experience_years", "arrival_year"
    )
    tl = _certified_for(links, t).left_join(register, "teacher_pid").drop("teacher_pid_right")
    band = grade_band(tl.grade)
    certified = ibis.cases(
        *((band == b, tl[f"cert_{i}"].fill_null(False)) for i, b in enumerate(BANDS)),
        else_=False,
    )
    per_class = tl.group_by([*LINK, "student_pid"]).aggregate(
        certified=certified.any(),
        legitimated=tl.legitimated.fill_null(False).any(),
        mean_experience=tl.experience_years.mean(),
        novice=(tl.experience_years < NOVICE_YEARS).fill_null(False).any(),
        new_to_school=(tl.arrival_year >= tl.year).fill_null(False).any(),
    )
    p = pupils.left_join(per_class, [*LINK, "student_pid"]).drop(
        *(f"{k}_right" for k in [*LINK, "student_pid"])
    )
    flags = ("certified", "legitimated", "novice", "new_to_school")
    by_school = p.group_by([*KEY, "school_code"]).aggregate(
        classes=p.count(),
        **{f: p[f].fill_null(False).cast("int64").sum() for f in flags},
        experience_weight=p.mean_experience.notnull().cast("int64").sum(),
        experience_sum=p.mean_experience.sum(),
        first=p.first.min(),
        school_grade=p.grade.max(),
    )
    summed = ["classes", *flags, "experience_weight", "experience_sum"]
    totals = by_school.group_by(KEY).aggregate(
        first=by_school.first.min(), **{c: by_school[c].sum() for c in summed}
    )
    school = pick_main_school(by_school.rename(school_minutes="classes"), KEY)
    per_teacher = links.group_by([*KEY, "teacher_pid"]).aggregate(
        together=links.count(), since=links.first.min()
    )
    pt = per_teacher.join(totals.select(*KEY, "first"), KEY)
    teachers = pt.group_by(KEY).aggregate(
        teachers=pt.count(),
        main_classes=pt.together.max(),
        teacher_switches=(pt.since > pt.first).cast("int64").sum(),
    )
    j = totals.join(school, KEY)
    for right in (teachers, turnover):
        j = j.left_join(right, KEY).drop(*(f"{k}_right" for k in KEY))
    n = j.classes
    unknown_int, unknown_share = ibis.null("int64"), ibis.null("float64")
    return _known(j).select(
        *KEY,
        "school_code",
        "grade",
        grade_band=grade_band(j.grade),
        lessons=unknown_int,
        minutes=unknown_int,
        teachers=j.teachers.fill_null(0),
        main_teacher_share=rate(j.main_classes.fill_null(0), n),
        teacher_switches=j.teacher_switches.fill_null(0),
        turnover_hit=j.turnover_hit.fill_null(False),
        certified_share=rate(j.certified, n),
        legitimated_share=rate(j.legitimated, n),
        mean_experience=rate(j.experience_sum, j.experience_weight),
        novice_share=rate(j.novice, n),
        new_teacher_share=rate(j.new_to_school, n),
        two_teacher_share=unknown_share,
        substitute_share=unknown_share,
        certified_minutes=unknown_int,
        legitimated_minutes=unknown_int,
        novice_minutes=unknown_int,
        new_teacher_minutes=unknown_int,
        substitute_minutes=unknown_int,
        reported_share=unknown_share,
        absence_rate_reported=unknown_share,
        absence_rate_planned=unknown_share,
    )


def class_teacher_terms(
    t: dict[str, ir.Table], windows: ir.Table, teachers: ir.Table, pupils: ir.Table
) -> ir.Table:
    """``teacher_terms`` at class level: per teacher × term × school, ``certified_share`` is of
    the teacher's classes (certified in the class's subject for every grade band among its
    pupils); lessons and minutes are unknown."""
    present = pupils.group_by(LINK).aggregate(
        **{
            f"has_{i}": ((pupils.grade >= lo) & (pupils.grade <= hi)).any()
            for i, (lo, hi) in enumerate(BAND_GRADES)
        }
    )
    taught = teachers.join(windows.select(*LINK, "school_code", "subject_code", "year"), LINK)
    taught = _certified_for(taught.left_join(present, LINK).drop(*(f"{k}_right" for k in LINK)), t)
    has = [taught[f"has_{i}"].fill_null(False) for i in range(len(BANDS))]
    cert = [taught[f"cert_{i}"].fill_null(False) for i in range(len(BANDS))]
    covered = (~has[0] | cert[0]) & (~has[1] | cert[1]) & (~has[2] | cert[2])
    certified = (has[0] | has[1] | has[2]) & covered
    per_term = taught.group_by(["teacher_pid", "term", "school_code"]).aggregate(
        year=taught.year.max(), classes=taught.count(), certified=certified.cast("int64").sum()
    )
    return _known(
        teacher_rows(
            t,
            per_term.select(
                "teacher_pid",
                "term",
                "school_code",
                "year",
                lessons=ibis.null("int64"),
                minutes=ibis.null("int64"),
                substitute_lessons=ibis.null("int64"),
                regular=ibis.literal(True),
                certified_share=rate(per_term.certified, per_term.classes),
            ),
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
