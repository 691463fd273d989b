"""``quality``: how complete and timely a school's registration is, per school × month.

- ``scheduled_lessons``: lessons in the schedule, cancelled ones included; ``cancelled_share``.
- ``held_lessons`` and, of those with pupils, ``unreported_share``: no attendance registered for
  any pupil.
- ``late_share``: of reported lessons, those first registered 24 hours or more after the lesson
  ended (``Attendance.reportedTimestamp``).
- ``adjusted_share``: held lessons whose participants were changed for the day (a student or a
  teacher exception); ``teacher_change_share``: a teacher exception alone.
- ``without_teacher_share``: held lessons that no teacher took part in.

The counts behind every share are columns too (``cancelled_lessons``, ``lessons_with_pupils``,
``reported_lessons``, ``late_lessons``, ``adjusted_lessons``, ``teacher_change_lessons``,
``lessons_without_teacher``), with ``two_teacher_lessons`` and ``substitute_lessons`` (a
teacher not assigned to the activity that day took part).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from linkage.research._calendar import month
from linkage.research._rates import rate
from linkage.research._student_lessons import lesson_facts

LATE_AFTER_HOURS = 24


def quality(
    t: dict[str, ir.Table], lessons_seen: ir.Table, facts: ir.Table | None = None
) -> ir.Table:
    """``lessons_seen`` (``linkage.research._seats.lessons_seen``) gives each held lesson with a
    pupil, whether any pupil's attendance was registered and when first; ``facts``
    (``lesson_facts(t)``) its teachers."""
    facts = lesson_facts(t) if facts is None else facts
    lessons = t["lessons"]
    info = lessons.join(t["activities"].select("activity_pid", "school_code"), "activity_pid")
    info = info.select(
        "lesson_pid", "school_code", "end_time", "cancelled", month=month(info.local_date)
    )
    pupils = lessons_seen.select(
        "lesson_pid", "reported", "first_reported", has_pupils=ibis.literal(True)
    )
    teachers = facts.select(
        "lesson_pid",
        has_teacher=facts.teachers > 0,
        n_teachers=facts.teachers,
        has_substitute=facts.substitute,
    )
    s_ex = t["lesson_student_exceptions"].select("lesson_pid").distinct().mutate(s_ex=True)
    t_ex = t["lesson_teacher_exceptions"].select("lesson_pid").distinct().mutate(t_ex=True)
    j = info
    for extra in (pupils, teachers, s_ex, t_ex):
        j = j.left_join(extra, "lesson_pid").drop("lesson_pid_right")
    held = ~j.cancelled
    with_pupils = held & j.has_pupils.fill_null(False)
    reported = with_pupils & j.reported.fill_null(False)
    late = reported & (
        j.first_reported.notnull()
        & (j.first_reported >= j.end_time + ibis.interval(hours=LATE_AFTER_HOURS))
    )
    adjusted = held & (j.s_ex.fill_null(False) | j.t_ex.fill_null(False))

    def n(flag: ir.BooleanValue) -> ir.IntegerScalar:
        return flag.cast("int64").sum()

    agg = j.group_by(["school_code", "month"]).aggregate(
        scheduled_lessons=j.count(),
        cancelled_lessons=n(j.cancelled),
        held_lessons=n(held),
        lessons_with_pupils=n(with_pupils),
        reported_lessons=n(reported),
        late_lessons=n(late),
        adjusted_lessons=n(adjusted),
        teacher_change_lessons=n(held & j.t_ex.fill_null(False)),
        lessons_without_teacher=n(held & ~j.has_teacher.fill_null(False)),
        two_teacher_lessons=n(held & (j.n_teachers.fill_null(0) >= 2)),
        substitute_lessons=n(held & j.has_substitute.fill_null(False)),
    )
    return agg.select(
        *agg.columns,
        cancelled_share=rate(agg.cancelled_lessons, agg.scheduled_lessons),
        unreported_share=rate(
            agg.lessons_with_pupils - agg.reported_lessons, agg.lessons_with_pupils
        ),
        late_share=rate(agg.late_lessons, agg.reported_lessons),
        adjusted_share=rate(agg.adjusted_lessons, agg.held_lessons),
        teacher_change_share=rate(agg.teacher_change_lessons, agg.held_lessons),
        without_teacher_share=rate(agg.lessons_without_teacher, agg.held_lessons),
    )
