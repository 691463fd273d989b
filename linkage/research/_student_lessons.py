"""``student_lessons``: one row per pupil and held lesson, the base of every research table.

Columns: ``student_pid, lesson_pid, school_code, subject_code, grade, grade_band, local_date,
term, month, start_time`` (UTC), ``start_hour`` (local clock, as written), ``weekday`` (1 =
Monday), ``minutes`` (offered to the pupil), ``reported``, ``present_minutes``,
``valid_absence_minutes``, ``invalid_absence_minutes``, ``other_minutes`` (null where not
reported), ``teachers`` (how many), ``substitute`` (any), ``certified`` (a teacher certified in
the subject for the pupil's grade band), ``legitimated`` (a teacher with a licence),
``mean_experience``, ``novice`` (a teacher with under three years) and ``new_to_school`` (a
teacher who arrived at the school this school year).

The pupil's grade is their enrolment's grade at the lesson's school on the lesson's day.
Certification and experience come from the teacher register; a teacher missing from it counts
as neither certified nor legitimated, and has no experience.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from linkage.research._calendar import month, school_year_start, term
from linkage.research._participation import lesson_pupils, lesson_teachers

NOVICE_YEARS = 3
BANDS = ("F-3", "4-6", "7-9")
BAND_GRADES = ((0, 3), (4, 6), (7, 9))  # the grades of each band of BANDS


def grade_band(grade: ir.IntegerValue) -> ir.StringValue:
    """F–3 (förskoleklass counts as grade 0), 4–6 or 7–9."""
    return ibis.cases(
        (grade <= 3, "F-3"), (grade <= 6, "4-6"), (grade <= 9, "7-9"), else_=ibis.null("string")
    )


def lesson_facts(t: dict[str, ir.Table], taught: ir.Table | None = None) -> ir.Table:
    """One row per held lesson: its activity, where and when it was, its subject, a pupil's
    minutes in it (``lesson_minutes``, but for a student exception's own) and a teacher's
    (``teacher_minutes``), and what its teachers
    were (how many, substitute, licensed, experience, novice, new, and per grade band whether
    one is certified in the subject for that band). Small (one row per lesson): the build
    computes it once, so that pupils are joined to lessons in a single join. ``taught``:
    ``lesson_teachers(t)``, or the same already computed."""
    lessons = t["lessons"].filter(~t["lessons"].cancelled)
    activities = t["activities"].select("activity_pid", "school_code", "syllabus_pid")
    subjects = t["syllabuses"].select("syllabus_pid", "subject_code")
    lesson_info = (
        lessons.select(
            "lesson_pid",
            "activity_pid",
            "local_date",
            "start_time",
            "local_start_minute",
            lesson_minutes=ibis.coalesce(lessons.teaching_length_student, lessons.minutes),
            teacher_minutes=ibis.coalesce(lessons.teaching_length_teacher, lessons.minutes),
        )
        .join(activities, "activity_pid")
        .left_join(subjects, "syllabus_pid")
        .select(
            "lesson_pid",
            "activity_pid",
            "local_date",
            "start_time",
            "local_start_minute",
            "lesson_minutes",
            "teacher_minutes",
            "school_code",
            "subject_code",
        )
    )
    lesson_info = lesson_info.mutate(
        term=term(lesson_info.local_date),
        month=month(lesson_info.local_date),
        start_hour=(lesson_info.local_start_minute // 60).cast("int8"),
        weekday=(lesson_info.local_date.day_of_week.index() + 1).cast("int8"),
    )
    teachers = (lesson_teachers(t) if taught is None else taught).join(
        lesson_info.select(
            "lesson_pid", "subject_code", year=school_year_start(lesson_info.local_date)
        ),
        "lesson_pid",
    )
    register = t["teacher_register"].select(
        "teacher_pid", "legitimated", "experience_years", "arrival_year"
    )
    teachers = teachers.left_join(register, "teacher_pid").drop("teacher_pid_right")
    per_lesson = teachers.group_by("lesson_pid").aggregate(
        teachers=teachers.teacher_pid.nunique(),
        substitute=teachers.substitute.any(),
        legitimated=teachers.legitimated.fill_null(False).any(),
        mean_experience=teachers.experience_years.mean(),
        novice=(teachers.experience_years < NOVICE_YEARS).fill_null(False).any(),
        new_to_school=(teachers.arrival_year >= teachers.year).fill_null(False).any(),
    )
    # per lesson, for each grade band, whether a teacher of it is certified in its subject for
    # that band: a lesson-level lookup, so pupils are joined to lessons once
    c = t["teacher_certifications"]
    held_by = teachers.join(
        c, [teachers.teacher_pid == c.teacher_pid, teachers.subject_code == c.subject_code]
    )
    bands = held_by.group_by("lesson_pid").aggregate(
        **{f"certified_{i}": (held_by.grade_band == band).any() for i, band in enumerate(BANDS)}
    )
    lesson_level = (
        lesson_info.left_join(per_lesson, "lesson_pid")
        .drop("lesson_pid_right")
        .left_join(bands, "lesson_pid")
        .drop("lesson_pid_right")
    )
    return lesson_level


def student_lessons(t: dict[str, ir.Table], facts: ir.Table | None = None) -> ir.Table:
    """``facts``: ``lesson_facts(t)``, or the same already computed."""
    lesson_level = lesson_facts(t) if facts is None else facts
    joined = lesson_pupils(t, with_attendance=True).join(lesson_level, "lesson_pid")
    band = grade_band(joined.grade)
    certified = ibis.cases(
        *((band == b, joined[f"certified_{i}"].fill_null(False)) for i, b in enumerate(BANDS)),
        else_=False,
    )
    joined = joined.mutate(grade_band=band, certified=certified)
    return joined.select(
        "student_pid",
        "lesson_pid",
        "school_code",
        "subject_code",
        "grade",
        "grade_band",
        "local_date",
        "term",
        "month",
        "start_time",
        "start_hour",
        "weekday",
        minutes=joined.minutes,
        reported=joined.reported.fill_null(False),
        present_minutes=joined.present_minutes,
        valid_absence_minutes=joined.valid_absence_minutes,
        invalid_absence_minutes=joined.invalid_absence_minutes,
        other_minutes=joined.other_minutes,
        teachers=joined.teachers.fill_null(0),
        substitute=joined.substitute.fill_null(False),
        certified=joined.certified.fill_null(False),
        legitimated=joined.legitimated.fill_null(False),
        mean_experience=joined.mean_experience,
        novice=joined.novice.fill_null(False),
        new_to_school=joined.new_to_school.fill_null(False),
    )


def main_school(student_lessons: ir.Table, key: list[str]) -> ir.Table:
    """Per ``key``: the school with most minutes (ties go to the lowest school code) and the
    pupil's highest grade there."""
    sl = student_lessons
    by_school = sl.group_by([*key, "school_code"]).aggregate(
        school_minutes=sl.minutes.sum(), school_grade=sl.grade.max()
    )
    return pick_main_school(by_school, key)


def pick_main_school(by_school: ir.Table, key: list[str]) -> ir.Table:
    """``main_school`` from rows already summed per ``key`` and school (``school_minutes``,
    ``school_grade``)."""
    most = by_school.group_by(key).aggregate(most=by_school.school_minutes.max())
    top = by_school.join(most, key).filter(lambda x: x.school_minutes == x.most)
    first = top.group_by(key).aggregate(school_code=top.school_code.min())
    chosen = first.join(by_school, [*key, "school_code"])
    return chosen.select(*key, "school_code", grade=chosen.school_grade)
