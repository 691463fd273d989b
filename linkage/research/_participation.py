"""Who was in which lesson.

Rules (docs/reference/indicators.md):

- Only held lessons count: a cancelled lesson has no pupils and no teachers.
- **Pupils** of a lesson: the members of the activity's groups on the lesson's day (a membership
  counts from its start date to its end date, both inclusive; a missing date is open), plus
  pupils a student exception adds (``participates``), minus those it removes.
- A pupil's **minutes** in a lesson: the student exception's teaching length, else the lesson's
  teaching length for students, else end − start.
- **Teachers** of a lesson: the activity's teachers assigned on the lesson's day, plus teachers a
  teacher exception adds, minus those it removes. A teacher added by an exception who is not
  assigned to the activity that day is a **substitute**.

The expressions grow with lessons × group sizes (the size of the answer), never with all
pupils × all lessons.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def _on_day(table: ir.Table, day: ir.Column) -> ir.BooleanValue:
    return (table.start_date.isnull() | (table.start_date <= day)) & (
        table.end_date.isnull() | (day <= table.end_date)
    )


def _held(t: dict[str, ir.Table]) -> ir.Table:
    lessons = t["lessons"]
    return lessons.filter(~lessons.cancelled)


ATTENDANCE = (
    "reported",
    "present_minutes",
    "valid_absence_minutes",
    "invalid_absence_minutes",
    "other_minutes",
)


def lesson_pupils(
    t: dict[str, ir.Table], *, with_attendance: bool = False, pairs: ir.Table | None = None
) -> ir.Table:
    """One row per pupil and held lesson: ``lesson_pid, student_pid, minutes, grade`` (and,
    ``with_attendance``, the pupil's registration for the lesson: ``ATTENDANCE``). With
    ``pairs`` (``student_pid, activity_pid``), only those pupils' lessons of those activities.

    ``grade`` is the pupil's enrolment grade at the lesson's school on its day (the highest, if
    enrolments overlap; null without one). Group members and student exceptions, each with the
    pupil's enrolments that day, are stacked and grouped once per pupil and lesson, instead of
    being joined pairwise (a union, an anti-join and two lookups)."""
    held = _held(t)
    where = (
        held.select("lesson_pid", "activity_pid", "local_date")
        .left_join(t["activities"].select("activity_pid", "school_code"), "activity_pid")
        .drop("activity_pid_right")
    )
    links = t["activity_groups"].join(t["group_memberships"], "group_pid")
    if pairs is not None:  # before the lessons are joined: the pairs are few (and distinct)
        links = links.join(pairs, ["student_pid", "activity_pid"])
    members = where.join(links, "activity_pid")
    members = members.filter(_on_day(members, members.local_date)).select(
        "lesson_pid",
        "student_pid",
        "local_date",
        "school_code",
        member=ibis.literal(True),
        added=ibis.literal(False),
        removed=ibis.literal(False),
        own_length=ibis.null("int32"),
    )
    ex = t["lesson_student_exceptions"].join(
        where.select("lesson_pid", "activity_pid", "local_date", "school_code"), "lesson_pid"
    )
    if pairs is not None:
        ex = ex.join(pairs, ["student_pid", "activity_pid"])
    ex = ex.select(
        "lesson_pid",
        "student_pid",
        "local_date",
        "school_code",
        member=ibis.literal(False),
        added=ex.participates,
        removed=~ex.participates,
        own_length=ex.teaching_length,
    )
    people = members.union(ex, distinct=False)
    e = t["enrolments"]
    graded = people.left_join(
        e,
        [
            people.student_pid == e.student_pid,
            people.school_code == e.school_code,
            e.start_date.isnull() | (e.start_date <= people.local_date),
            e.end_date.isnull() | (people.local_date <= e.end_date),
        ],
    )
    stacked = graded.select(
        "lesson_pid", "student_pid", "member", "added", "removed", "own_length", "grade"
    )
    attendance: dict[str, ir.Value] = {}
    if with_attendance:
        # the registrations are stacked and grouped with the members, not joined to them
        # afterwards: a join of two tables the size of the answer is the costliest step, and
        # a grouping spills to disk gracefully where such a join may not
        a = t["attendance"]
        if pairs is not None:  # only the registrations of these pupils' lessons
            seats = people.select("lesson_pid", "student_pid")
            a = a.semi_join(seats, ["lesson_pid", "student_pid"])
        nothing = {"reported": ibis.null("boolean")} | {
            c: ibis.null("int32") for c in ATTENDANCE[1:]
        }
        stacked = stacked.mutate(**nothing).union(
            a.select(
                "lesson_pid",
                "student_pid",
                member=ibis.literal(False),
                added=ibis.literal(False),
                removed=ibis.literal(False),
                own_length=ibis.null("int32"),
                grade=ibis.null("int8"),
                **{c: a[c] for c in ATTENDANCE},
            ),
            distinct=False,
        )
        attendance = {"reported": stacked.reported.any()} | {
            c: stacked[c].max() for c in ATTENDANCE[1:]
        }
    grouped = stacked.group_by(["lesson_pid", "student_pid"]).aggregate(
        member=stacked.member.any(),
        added=stacked.added.any(),
        removed=stacked.removed.any(),
        own_length=stacked.own_length.max(),
        grade=stacked.grade.max(),
        **attendance,
    )
    seated = grouped.filter((grouped.member | grouped.added) & ~grouped.removed)
    seated = seated.join(
        held.select(
            "lesson_pid", lesson_length=held.teaching_length_student, lesson_minutes=held.minutes
        ),
        "lesson_pid",
    )
    return seated.select(
        "lesson_pid",
        "student_pid",
        minutes=ibis.coalesce(seated.own_length, seated.lesson_length, seated.lesson_minutes),
        grade=seated.grade,
        **{c: seated[c] for c in (ATTENDANCE if with_attendance else ())},
    )


def lesson_teachers(t: dict[str, ir.Table]) -> ir.Table:
    """One row per teacher and held lesson: ``lesson_pid, teacher_pid, substitute``."""
    held = _held(t)
    assigned = held.select("lesson_pid", "activity_pid", "local_date").join(
        t["activity_teachers"], "activity_pid"
    )
    assigned = assigned.filter(_on_day(assigned, assigned.local_date)).select(
        "lesson_pid", "teacher_pid"
    )
    exceptions = t["lesson_teacher_exceptions"]
    # a teacher may be named twice for one lesson (under two duties): once is enough
    added = (
        exceptions.filter(exceptions.participates).select("lesson_pid", "teacher_pid").distinct()
    )
    removed = exceptions.filter(~exceptions.participates).select("lesson_pid", "teacher_pid")
    substitutes = added.semi_join(held, "lesson_pid").anti_join(
        assigned, ["lesson_pid", "teacher_pid"]
    )
    present = assigned.union(added.semi_join(held, "lesson_pid"), distinct=True).anti_join(
        removed, ["lesson_pid", "teacher_pid"]
    )
    marked = present.left_join(
        substitutes.mutate(is_sub=ibis.literal(True)), ["lesson_pid", "teacher_pid"]
    )
    return marked.select("lesson_pid", "teacher_pid", substitute=marked.is_sub.fill_null(False))
