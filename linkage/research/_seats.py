"""Who sat in which lesson, counted per group of pupils who sat the same lessons, not per pupil.

Every research table but ``student_lessons`` is a sum, a minimum or a maximum over the pupils'
lessons (``_participation``: members of the activity's groups on the day, plus and minus the
student exceptions; minutes; the pupil's grade that day). Most pupils sit every lesson of an
activity between two dates with one grade. Their lessons are the same for each pupil of such a
**segment**, so the figures are summed once per segment (per term, and per month), and only
then joined to the pupils: the work grows with lessons × segments (a few per activity), not
pupils × lessons.

- A **plain** pair of pupil and activity: one membership reaches the activity (one group, one
  pair of dates), no student exception names the pupil for one of its held lessons, and at
  most one of the pupil's enrolments at the activity's school overlaps the membership. Its
  pupil sits every held lesson of the activity on a day in ``[first, last]`` (the membership's
  dates, open ends at ``FIRST_DAY`` and ``LAST_DAY``), for the lesson's own minutes, with the
  enrolment's grade on the days in ``[enrolled_from, enrolled_to]`` and none on the others.
  Its **segment** is ``SEGMENT``: the activity and those dates and grade (``NO_GRADE`` for
  none).
- Every other pair is **irregular**: a pupil in two groups of the activity or in one twice,
  an exception (added, removed, other minutes), two enrolments: its lessons are derived one by
  one, by the rules of ``_participation``, as ``student_lessons`` is.

Attendance is registered per pupil and lesson, so it is read once, row by row
(``registrations``): a registration counts where its pupil sat the lesson (a plain pair's
dates, or the irregular rows). The canonical snapshot holds at most one registration per
pupil and lesson (the ingest keeps the latest: ``linkage/sources/ss12000/_dedupe.py``).

The results, by pupil (``pupil_terms``, ``pupil_months``, ``pupil_teachers``, ``pupil_days``,
``registered``) and by lesson (``lessons_seen``), are what the research tables aggregate
(``linkage/research/_pipeline.py``).
They are exactly the figures ``student_lessons`` would give (``tests/spec``, and the reference
SQL of ``bench/bench_build.py``, which works per pupil and lesson).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from linkage.research._calendar import month, term, term_key, term_of_key
from linkage.research._participation import lesson_pupils
from linkage.research._student_lessons import BAND_GRADES, BANDS, grade_band

FIRST_DAY = dt.date(1900, 1, 1)  # an open start: before every lesson
LAST_DAY = dt.date(9999, 12, 31)  # an open end: after every lesson
NO_GRADE = -1  # in a segment's key: no grade (no enrolment at the school, or none recorded)
SEGMENT = ["activity_pid", "first", "last", "enrolled_from", "enrolled_to", "grade_key"]
PAIR = ["student_pid", "activity_pid"]
# what a pupil's lesson is described by, wherever the pupils of a lesson are grouped
LESSON = ["activity_pid", "school_code", "subject_code", "term", "month"]


def _first(day: ir.DateValue) -> ir.DateValue:
    return day.fill_null(ibis.date(FIRST_DAY))


def _last(day: ir.DateValue) -> ir.DateValue:
    return day.fill_null(ibis.date(LAST_DAY))


def pairs(t: dict[str, ir.Table], facts: ir.Table) -> ir.Table:
    """One row per pair of pupil and activity with a held lesson (``facts``:
    ``lesson_facts(t)``) that a membership or a student exception links: ``PAIR``, ``plain``
    and, for a plain pair, its ``SEGMENT`` (null for an irregular one)."""
    taught = facts.select("activity_pid").distinct()
    links = (
        t["activity_groups"]
        .select("activity_pid", "group_pid")
        .join(
            t["group_memberships"].select("group_pid", "student_pid", "start_date", "end_date"),
            "group_pid",
        )
        .semi_join(taught, "activity_pid")
    )
    members = links.group_by(PAIR).aggregate(
        memberships=links.count(),
        first=_first(links.start_date).min(),
        last=_last(links.end_date).max(),
    )
    ex = t["lesson_student_exceptions"].join(
        facts.select("lesson_pid", "activity_pid"), "lesson_pid"
    )
    excepted = ex.select(*PAIR).distinct()
    single = members.filter(members.memberships == 1).anti_join(excepted, PAIR)
    single = single.join(t["activities"].select("activity_pid", "school_code"), "activity_pid")
    e = t["enrolments"]
    e = e.select(
        e_student=e.student_pid,
        e_school=e.school_code,
        e_first=_first(e.start_date),
        e_last=_last(e.end_date),
        e_grade=e.grade,
        matched=ibis.literal(1),
    )
    graded = single.left_join(
        e,
        [
            single.student_pid == e.e_student,
            single.school_code == e.e_school,
            e.e_first <= single.last,
            single.first <= e.e_last,
        ],
    )
    per_pair = graded.group_by([*PAIR, "first", "last"]).aggregate(
        enrolments=graded.matched.count(),
        enrolled_from=ibis.greatest(graded.e_first, graded.first).min(),
        enrolled_to=ibis.least(graded.e_last, graded.last).max(),
        grade=graded.e_grade.max(),
    )
    # with no grade known, the enrolment's dates say nothing: one segment for every such pupil
    known = per_pair.grade.notnull()
    plain = per_pair.filter(per_pair.enrolments <= 1).select(
        *PAIR,
        plain=ibis.literal(True),
        first=per_pair.first,
        last=per_pair.last,
        enrolled_from=ibis.ifelse(known, per_pair.enrolled_from, ibis.date(LAST_DAY)),
        enrolled_to=ibis.ifelse(known, per_pair.enrolled_to, ibis.date(FIRST_DAY)),
        grade_key=per_pair.grade.cast("int16").fill_null(NO_GRADE),
    )
    irregular = (
        members.filter(members.memberships > 1)
        .select(*PAIR)
        .union(excepted, distinct=False)
        .union(per_pair.filter(per_pair.enrolments > 1).select(*PAIR), distinct=False)
        .distinct()
    )
    nothing = {c: ibis.null(plain.schema()[c]) for c in SEGMENT[1:]}
    return plain.union(
        irregular.select(*PAIR, plain=ibis.literal(False), **nothing), distinct=False
    )


def _row_figures(j: ir.Table, grade: ir.IntegerValue, minutes: ir.IntegerValue) -> dict:
    """A pupil's lesson as ``student_lessons`` describes it, from the lesson's facts ``j``."""
    band = grade_band(grade)
    certified = ibis.cases(
        *((band == b, j[f"certified_{i}"].fill_null(False)) for i, b in enumerate(BANDS)),
        else_=False,
    )
    return {
        "lesson_pid": j.lesson_pid,
        **{c: j[c] for c in LESSON},
        "local_date": j.local_date,
        "start_time": j.start_time,
        "grade": grade,
        "minutes": minutes,
        "teachers": j.teachers.fill_null(0),
        "substitute": j.substitute.fill_null(False),
        "certified": certified.fill_null(False),
        "legitimated": j.legitimated.fill_null(False),
        "mean_experience": j.mean_experience,
        "novice": j.novice.fill_null(False),
        "new_to_school": j.new_to_school.fill_null(False),
    }


def plain(paired: ir.Table) -> ir.Table:
    """The plain pairs of ``pairs``."""
    return paired.filter(paired.plain)


def irregular(paired: ir.Table) -> ir.Table:
    """The irregular pairs of ``pairs`` (``PAIR``)."""
    return paired.filter(~paired.plain).select(*PAIR)


def templates(plain: ir.Table, facts: ir.Table) -> ir.Table:
    """One row per segment and lesson it sits: ``SEGMENT`` and the pupil's lesson."""
    keys = plain.select(*SEGMENT).distinct()
    j = keys.join(facts, "activity_pid")
    j = j.filter((j.first <= j.local_date) & (j.local_date <= j.last))
    enrolled = (j.enrolled_from <= j.local_date) & (j.local_date <= j.enrolled_to)
    grade = ibis.ifelse(enrolled, j.grade_key.cast("int8"), ibis.null("int8"))
    return j.select(*SEGMENT[1:], **_row_figures(j, grade, j.lesson_minutes))


def irregular_lessons(t: dict[str, ir.Table], facts: ir.Table, irregular: ir.Table) -> ir.Table:
    """One row per pupil and lesson of the irregular pairs: ``student_pid`` and the pupil's
    lesson, as ``student_lessons`` has them (their registrations: ``registrations``)."""
    seats = lesson_pupils(t, pairs=irregular).join(facts, "lesson_pid")
    return seats.select("student_pid", **_row_figures(seats, seats.grade, seats.minutes))


REGISTRATION = [
    "student_pid",
    "lesson_pid",
    "activity_pid",
    "local_date",
    "term_key",
    "reported",
    "reported_minutes",
    "valid_absence_minutes",
    "invalid_absence_minutes",
    "attended",
]
REGISTERED = [
    "reported_lessons",
    "reported_minutes",
    "valid_absence_minutes",
    "invalid_absence_minutes",
]


def registrations(
    t: dict[str, ir.Table], facts: ir.Table, plain: ir.Table, irregular_rows: ir.Table
) -> ir.Table:
    """One row per registration of a held lesson (``REGISTRATION``, and ``registered_at``
    where reported): the minutes, absent minutes and attended (present or elsewhere) minutes
    of a reported lesson the pupil sat, else nothing. The one pass over pupils × lessons: the
    attendance is joined to the lessons, then to the plain pairs and the irregular pupils'
    lessons (written in that order, for an engine that joins as written); a registration of
    neither is of a lesson the pupil did not sit."""
    a = t["attendance"]
    j = a.select(
        "lesson_pid",
        "student_pid",
        "reported",
        "reported_at",
        "present_minutes",
        "valid_absence_minutes",
        "invalid_absence_minutes",
        "other_minutes",
    ).join(
        facts.select("lesson_pid", "activity_pid", "local_date", "lesson_minutes"),
        "lesson_pid",
    )
    p = plain.select(
        p_student=plain.student_pid,
        p_activity=plain.activity_pid,
        p_first=plain.first,
        p_last=plain.last,
    )
    i = irregular_rows.select(
        i_lesson=irregular_rows.lesson_pid,
        i_student=irregular_rows.student_pid,
        i_minutes=irregular_rows.minutes,
    )
    j = j.left_join(p, [j.student_pid == p.p_student, j.activity_pid == p.p_activity])
    j = j.left_join(i, [j.lesson_pid == i.i_lesson, j.student_pid == i.i_student])
    sat = ((j.p_first <= j.local_date) & (j.local_date <= j.p_last)).fill_null(False)
    minutes = ibis.ifelse(j.i_lesson.notnull(), j.i_minutes, j.lesson_minutes)
    # a registration of a pupil who did not sit the lesson counts for nothing but the time the
    # lesson was first registered (``quality``)
    reported = (sat | j.i_lesson.notnull()) & j.reported.fill_null(False)
    return j.select(
        *REGISTRATION[:4],
        term_key=term_key(j.local_date),
        registered_at=ibis.ifelse(
            j.reported.fill_null(False), j.reported_at, ibis.null(j.reported_at.type())
        ),
        reported=reported,
        reported_minutes=ibis.ifelse(reported, minutes, 0),
        valid_absence_minutes=ibis.ifelse(reported, j.valid_absence_minutes.fill_null(0), 0),
        invalid_absence_minutes=ibis.ifelse(reported, j.invalid_absence_minutes.fill_null(0), 0),
        attended=ibis.ifelse(
            reported, j.present_minutes.fill_null(0) + j.other_minutes.fill_null(0), 0
        ),
    )


def registered(table: ir.Table, key: list[str]) -> ir.Table:
    """Per ``key``: the sums of ``REGISTERED`` (over ``registrations`` or ``pupil_days``)."""
    return table.group_by(key).aggregate(**_registered_sums(table))


def _registered_sums(table: ir.Table) -> dict[str, ir.Scalar]:
    """The sums of ``REGISTERED``: over ``registrations`` (``reported_lessons`` counted from
    ``reported``: the pupils × lessons table is kept one column narrower), or over rows that
    have summed them already (``pupil_days``)."""
    sums = {c: table[c].sum() for c in REGISTERED if c in table.columns}
    if "reported_lessons" not in table.columns:
        sums["reported_lessons"] = table.reported.cast("int64").sum()
    return {c: sums[c] for c in REGISTERED}


def _where(flag: ir.BooleanValue, value: ir.IntegerValue) -> ir.IntegerScalar:
    return ibis.ifelse(flag, value, 0).sum()


def _lesson_sums(r: ir.Table) -> dict[str, ir.Scalar]:
    """What a pupil's lessons add up to (per pupil and term, or per segment and term)."""
    return {
        "lessons": r.count(),
        "minutes": r.minutes.sum(),
        "certified_minutes": _where(r.certified, r.minutes),
        "legitimated_minutes": _where(r.legitimated, r.minutes),
        "novice_minutes": _where(r.novice, r.minutes),
        "new_teacher_minutes": _where(r.new_to_school, r.minutes),
        "two_teacher_minutes": _where(r.teachers >= 2, r.minutes),
        "substitute_minutes": _where(r.substitute, r.minutes),
        "experience_weight": _where(r.mean_experience.notnull(), r.minutes),
        "experience_sum": (r.mean_experience * r.minutes).sum(),
        "first_start": r.start_time.min(),
        "last_start": r.start_time.max(),
        "grade": r.grade.max(),
    }


SUMMED = [
    "lessons",
    "minutes",
    "certified_minutes",
    "legitimated_minutes",
    "novice_minutes",
    "new_teacher_minutes",
    "two_teacher_minutes",
    "substitute_minutes",
    "experience_weight",
    "experience_sum",
]


def activity_info(facts: ir.Table) -> ir.Table:
    """One row per activity with a held lesson: ``activity_pid, school_code, subject_code``."""
    return facts.select("activity_pid", "school_code", "subject_code").distinct()


def pupil_terms(
    plain: ir.Table,
    template: ir.Table,
    irregular_rows: ir.Table,
    registrations: ir.Table,
    info: ir.Table,
) -> ir.Table:
    """One row per pupil, activity and term with a lesson: ``PAIR``, ``school_code``,
    ``subject_code``, ``term``, the sums of ``SUMMED`` and ``REGISTERED`` over the pupil's
    lessons, ``first_start``, ``last_start`` and the highest ``grade``. ``info``:
    ``activity_info(facts)``."""
    by_segment = template.group_by([*SEGMENT, "term"]).aggregate(**_lesson_sums(template))
    seated = plain.select(*PAIR, *SEGMENT[1:]).join(by_segment, SEGMENT)
    columns = [*PAIR, "term", *SUMMED, "first_start", "last_start", "grade"]
    by_pupil = irregular_rows.group_by([*PAIR, "term"]).aggregate(**_lesson_sums(irregular_rows))
    lessons = seated.select(*columns).union(by_pupil.select(*columns), distinct=False)
    by_key = registered(registrations, [*PAIR, "term_key"])
    on_record = by_key.mutate(term=term_of_key(by_key.term_key)).drop("term_key")
    j = lessons.left_join(on_record, [*PAIR, "term"]).join(info, "activity_pid")
    return j.select(
        *PAIR,
        "school_code",
        "subject_code",
        "term",
        *SUMMED,
        **{c: j[c].fill_null(0) for c in REGISTERED},
        first_start=j.first_start,
        last_start=j.last_start,
        grade=j.grade,
    )


def pupil_months(
    plain: ir.Table, template: ir.Table, irregular_rows: ir.Table, info: ir.Table
) -> ir.Table:
    """One row per pupil, month and school with a lesson: ``student_pid, month, term,
    school_code, lessons, minutes`` and the highest ``grade``."""

    def sums(r: ir.Table) -> dict[str, ir.Scalar]:
        return {"lessons": r.count(), "minutes": r.minutes.sum(), "grade": r.grade.max()}

    by_segment = template.group_by([*SEGMENT, "term", "month"]).aggregate(**sums(template))
    seated = plain.select(*PAIR, *SEGMENT[1:]).join(by_segment, SEGMENT)
    by_pupil = irregular_rows.group_by([*PAIR, "term", "month"]).aggregate(**sums(irregular_rows))
    columns = [*PAIR, "term", "month", "lessons", "minutes", "grade"]
    rows = seated.select(*columns).union(by_pupil.select(*columns), distinct=False)
    rows = rows.join(info.select("activity_pid", "school_code"), "activity_pid")
    return rows.group_by(["student_pid", "month", "school_code"]).aggregate(
        term=rows.term.max(),
        lessons=rows.lessons.sum(),
        minutes=rows.minutes.sum(),
        grade=rows.grade.max(),
    )


def pupil_days(registrations: ir.Table) -> ir.Table:
    """One row per pupil and school day with a registration of a lesson the pupil sat:
    ``student_pid, local_date``, the sums of ``REGISTERED``, ``attended`` (present or
    elsewhere) minutes of the reported lessons, and the day's ``term`` and ``month``."""
    r = registrations
    days = r.group_by(["student_pid", "local_date"]).aggregate(
        **_registered_sums(r), attended=r.attended.sum()
    )
    return days.mutate(term=term(days.local_date), month=month(days.local_date))


def pupil_teachers(
    plain: ir.Table, template: ir.Table, irregular_rows: ir.Table, taught: ir.Table
) -> ir.Table:
    """One row per pupil, activity, term and teacher met: ``PAIR``, ``LESSON`` but the month,
    ``teacher_pid``, ``minutes`` together, ``regular`` (met once as the activity's own
    teacher), and the first and last such lesson's start (``first_regular``,
    ``last_regular``)."""
    key = ["activity_pid", "school_code", "subject_code", "term", "teacher_pid"]

    def sums(m: ir.Table) -> dict[str, ir.Scalar]:
        # typed as the start (in UTC): a kept table holds the same instants
        regular_start = ibis.ifelse(~m.substitute, m.start_time, ibis.null(m.start_time.type()))
        return {
            "minutes": m.minutes.sum(),
            "regular": (~m.substitute).any(),
            "first_regular": regular_start.min(),
            "last_regular": regular_start.max(),
        }

    # the lesson's own ``substitute`` (any teacher) is not the teacher's: take the teacher's
    lesson = ["lesson_pid", "school_code", "subject_code", "term", "start_time", "minutes"]
    t_met = template.select(*SEGMENT, *lesson).join(taught, "lesson_pid")
    by_segment = t_met.group_by([*SEGMENT[1:], *key]).aggregate(**sums(t_met))
    seated = plain.select(*PAIR, *SEGMENT[1:]).join(by_segment, SEGMENT)
    i_met = irregular_rows.select("student_pid", "activity_pid", *lesson).join(taught, "lesson_pid")
    by_pupil = i_met.group_by(["student_pid", *key]).aggregate(**sums(i_met))
    columns = ["student_pid", *key, "minutes", "regular", "first_regular", "last_regular"]
    return seated.select(*columns).union(by_pupil.select(*columns), distinct=False)


def lessons_seen(template: ir.Table, irregular_rows: ir.Table, registrations: ir.Table) -> ir.Table:
    """One row per held lesson with a pupil: ``lesson_pid``, ``reported`` (a pupil's
    attendance was registered), ``first_reported`` (the first registration of the lesson, any
    pupil's) and ``has_0..2``: a pupil of the lesson is in each grade band of ``BANDS`` (from
    the integer grade)."""
    rows = template.select("lesson_pid", "grade").union(
        irregular_rows.select("lesson_pid", "grade"), distinct=False
    )
    bands = rows.group_by("lesson_pid").aggregate(
        **{
            f"has_{i}": ((rows.grade >= lo) & (rows.grade <= hi)).any()
            for i, (lo, hi) in enumerate(BAND_GRADES)
        }
    )
    r = registrations
    reported = r.group_by("lesson_pid").aggregate(
        reported=r.reported.any(), first_reported=r.registered_at.min()
    )
    j = bands.left_join(reported, "lesson_pid")
    return j.select(
        "lesson_pid",
        reported=j.reported.fill_null(False),
        first_reported=j.first_reported,
        **{f"has_{i}": j[f"has_{i}"] for i in range(len(BANDS))},
    )
