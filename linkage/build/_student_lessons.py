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

from linkage.build._calendar import month, school_year_start, term
from linkage.build._participation import _on_day, lesson_teachers

NOVICE_YEARS = 3


def grade_band(grade: ir.IntegerValue) -> ir.StringValue:
    """F–3 (förskoleklass counts as grade 0), 4–6 or 7–9."""
    return ibis.cases(
        (grade <= 3, "F-3"), (grade <= 6, "4-6"), (grade <= 9, "7-9"), else_=ibis.null("string")
    )


def student_lessons(t: dict[str, ir.Table]) -> ir.Table:
    lessons = t["lessons"].filter(~t["lessons"].cancelled)
    activities = t["activities"].select("activity_pid", "school_code", "syllabus_pid")
    subjects = t["syllabuses"].select("syllabus_pid", "subject_code")
    lesson_info = (
        lessons.select("lesson_pid", "activity_pid", "local_date", "start_time",
                       "local_start_minute")
        .join(activities, "activity_pid")
        .left_join(subjects, "syllabus_pid")
        .select("lesson_pid", "local_date", "start_time", "local_start_minute", "school_code",
                "subject_code")
    )  # fmt: skip
    pupils = _seated(t, lessons, activities, lesson_info)
    pupils = pupils.mutate(grade_band=grade_band(pupils.grade))

    teachers = lesson_teachers(t).join(
        lesson_info.select("lesson_pid", "subject_code",
                           year=school_year_start(lesson_info.local_date)),
        "lesson_pid",
    )  # fmt: skip
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
    certifications = t["teacher_certifications"]
    certified = (
        teachers.join(certifications, [teachers.teacher_pid == certifications.teacher_pid,
                                       teachers.subject_code == certifications.subject_code])
        .select("lesson_pid", "grade_band")
        .distinct()
        .mutate(certified=ibis.literal(True))
    )  # fmt: skip
    joined = (
        pupils.left_join(per_lesson, "lesson_pid")
        .drop("lesson_pid_right")
        .left_join(certified, ["lesson_pid", "grade_band"])
        .drop("lesson_pid_right", "grade_band_right")
    )
    return joined.select(
        "student_pid", "lesson_pid", "school_code", "subject_code", "grade", "grade_band",
        "local_date",
        term=term(joined.local_date), month=month(joined.local_date),
        start_time=joined.start_time,
        start_hour=(joined.local_start_minute // 60).cast("int8"),
        weekday=(joined.local_date.day_of_week.index() + 1).cast("int8"),
        minutes=joined.minutes,
        reported=joined.reported.fill_null(False),
        present_minutes=joined.present_minutes, valid_absence_minutes=joined.valid_absence_minutes,
        invalid_absence_minutes=joined.invalid_absence_minutes, other_minutes=joined.other_minutes,
        teachers=joined.teachers.fill_null(0),
        substitute=joined.substitute.fill_null(False),
        certified=joined.certified.fill_null(False),
        legitimated=joined.legitimated.fill_null(False),
        mean_experience=joined.mean_experience,
        novice=joined.novice.fill_null(False),
        new_to_school=joined.new_to_school.fill_null(False),
    )  # fmt: skip


def main_school(student_lessons: ir.Table, key: list[str]) -> ir.Table:
    """Per ``key``: the school with most minutes (ties go to the lowest school code) and the
    pupil's highest grade there."""
    sl = student_lessons
    by_school = sl.group_by([*key, "school_code"]).aggregate(
        school_minutes=sl.minutes.sum(), school_grade=sl.grade.max()
    )
    most = by_school.group_by(key).aggregate(most=by_school.school_minutes.max())
    top = by_school.join(most, key).filter(lambda x: x.school_minutes == x.most)
    first = top.group_by(key).aggregate(school_code=top.school_code.min())
    chosen = first.join(by_school, [*key, "school_code"])
    return chosen.select(*key, "school_code", grade=chosen.school_grade)


_ATTENDANCE = ("present_minutes", "valid_absence_minutes", "invalid_absence_minutes",
               "other_minutes")  # fmt: skip


def _seated(
    t: dict[str, ir.Table], held: ir.Table, activities: ir.Table, lesson_info: ir.Table
) -> ir.Table:
    """The pupils of every held lesson (the rules of ``lesson_pupils``) with their grade and
    attendance. Group members and student exceptions (with the pupil's enrolments that day)
    are stacked and grouped once per pupil and lesson, instead of joined pairwise."""
    where = held.select("lesson_pid", "activity_pid", "local_date").join(
        activities.select("activity_pid", "school_code"), "activity_pid"
    )
    members = where.join(t["activity_groups"], "activity_pid").join(
        t["group_memberships"], "group_pid"
    )
    members = members.filter(_on_day(members, members.local_date)).select(
        "lesson_pid", "student_pid", "local_date", "school_code",
        member=ibis.literal(True), added=ibis.literal(False), removed=ibis.literal(False),
        own_length=ibis.null("int32"),
    )  # fmt: skip
    ex = t["lesson_student_exceptions"].join(
        where.select("lesson_pid", "local_date", "school_code"), "lesson_pid"
    )
    ex = ex.select(
        "lesson_pid", "student_pid", "local_date", "school_code",
        member=ibis.literal(False), added=ex.participates, removed=~ex.participates,
        own_length=ex.teaching_length,
    )  # fmt: skip
    people = members.union(ex, distinct=False)
    e = t["enrolments"]
    graded = people.left_join(
        e,
        [people.student_pid == e.student_pid, people.school_code == e.school_code,
         e.start_date.isnull() | (e.start_date <= people.local_date),
         e.end_date.isnull() | (people.local_date <= e.end_date)],
    )  # fmt: skip
    stacked = graded.select(
        "lesson_pid", "student_pid", "member", "added", "removed", "own_length", "grade"
    )
    grouped = stacked.group_by(["lesson_pid", "student_pid"]).aggregate(
        member=stacked.member.any(),
        added=stacked.added.any(),
        removed=stacked.removed.any(),
        own_length=stacked.own_length.max(),
        grade=stacked.grade.max(),
    )
    seated = grouped.filter((grouped.member | grouped.added) & ~grouped.removed)
    lengths = held.select(
        "lesson_pid", lesson_length=held.teaching_length_student, lesson_minutes=held.minutes
    )
    attendance = t["attendance"].select("lesson_pid", "student_pid", "reported", *_ATTENDANCE)
    seated = (
        seated.join(lengths, "lesson_pid")
        .join(lesson_info, "lesson_pid")
        .left_join(attendance, ["lesson_pid", "student_pid"])
    )
    return seated.select(
        "lesson_pid", "student_pid", "grade", "reported", *_ATTENDANCE,
        "local_date", "start_time", "local_start_minute", "school_code", "subject_code",
        minutes=ibis.coalesce(seated.own_length, seated.lesson_length, seated.lesson_minutes),
    )  # fmt: skip
