"""``exposure``: one row per pupil × term × subject — which teachers the pupil met, and how.

Built from the pupils' lessons summed per pupil, activity and term (``_seats.pupil_terms``)
and ``student_teachers`` (one row per pupil, term, subject and teacher met), as ``student_lessons``
(one row per pupil and held lesson) would sum them. Shares are of the pupil's minutes in the subject
that term; a pupil who met the subject at two schools in one term has one row, filed under the
school with most minutes.

- ``teachers``: distinct teachers met, substitutes included.
- ``main_teacher_share``: minutes with the teacher the pupil spent most minutes with.
- ``teacher_switches``: regular (non-substitute) teachers whose first lesson with the pupil in
  the subject came after the pupil's first lesson in it that term — a teacher taking over, a
  change of class, or a teacher joining.
- ``turnover_hit``: the pupil's teacher in the subject was replaced during the term or left
  the school since the term before (``_turnover``).
- ``certified_share``, ``legitimated_share``, ``novice_share``, ``new_teacher_share``,
  ``two_teacher_share``, ``substitute_share``: minutes of lessons with such a teacher (or two
  teachers, or a substitute) over all minutes.
- ``certified_minutes``, ``legitimated_minutes``, ``novice_minutes``, ``new_teacher_minutes``,
  ``substitute_minutes``: the numerators of those shares, so that a share over many rows is
  exact as a ratio of sums (Σ ``certified_minutes`` ÷ Σ ``minutes``), weighted by minutes.
- ``mean_experience``: minutes-weighted mean of the lessons' mean teacher experience, over lessons
  whose teachers' experience is known.
- Absence: ``absence_rate_reported`` (absent over reported minutes) and ``absence_rate_planned``
  (reported absence over all minutes offered), ``reported_share`` of lessons.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from linkage.research._rates import rate
from linkage.research._seats import SUMMED
from linkage.research._student_lessons import grade_band, pick_main_school

KEY = ["student_pid", "term", "subject_code"]


def student_teachers(pupil_teachers: ir.Table) -> ir.Table:
    """One row per pupil × term × subject × teacher met: ``minutes`` together, ``regular``
    (met at least once as the activity's own teacher) and ``first_regular`` (the first such
    lesson's start). Kept in the research snapshot so that the release layer can count the
    distinct teachers behind any cell of ``exposure`` (a cell must never single out one).
    ``pupil_teachers``: ``linkage.research._seats.pupil_teachers``."""
    met = pupil_teachers
    return met.group_by([*KEY, "teacher_pid"]).aggregate(
        minutes=met.minutes.sum(),
        regular=met.regular.any(),
        first_regular=met.first_regular.min(),
    )


def exposure(pupil_terms: ir.Table, student_teachers: ir.Table, turnover: ir.Table) -> ir.Table:
    """``pupil_terms``: ``linkage.research._seats.pupil_terms`` (per pupil, activity and term);
    ``turnover``: ``linkage.research.turnover`` (one row per pupil × term × subject)."""
    pm = pupil_terms
    totals = pm.group_by(KEY).aggregate(
        first_start=pm.first_start.min(),
        **{c: pm[c].sum() for c in SUMMED},
        reported_lessons=pm.reported_lessons.sum(),
        reported_minutes=pm.reported_minutes.sum(),
        absent_minutes=(pm.valid_absence_minutes + pm.invalid_absence_minutes).sum(),
        lowest_school=pm.school_code.min(),
        highest_school=pm.school_code.max(),
        at_schools=pm.school_code.count(),
        rows=pm.count(),
        highest_grade=pm.grade.max(),
    )
    # the school: the pupil's one school, else the one with most minutes (the few who met the
    # subject at two schools, or at one and at none, are picked among at full length)
    one = (
        (totals.lowest_school == totals.highest_school) & (totals.at_schools == totals.rows)
    ).fill_null(False)
    several = pm.semi_join(totals.filter(~one).select(*KEY), KEY)
    by_school = several.group_by([*KEY, "school_code"]).aggregate(
        school_minutes=several.minutes.sum(), school_grade=several.grade.max()
    )
    picked = pick_main_school(by_school, KEY).rename(
        picked_school="school_code", picked_grade="grade"
    )
    # as a join on the key would: a subject-less lesson is in no pupil's row
    totals = (
        totals.filter(totals.subject_code.notnull())
        .left_join(picked, KEY)
        .drop(*(f"{k}_right" for k in KEY))
    )
    single = (
        (totals.lowest_school == totals.highest_school) & (totals.at_schools == totals.rows)
    ).fill_null(False)
    totals = totals.mutate(
        school_code=ibis.ifelse(single, totals.lowest_school, totals.picked_school),
        grade=ibis.ifelse(single, totals.highest_grade, totals.picked_grade),
    )

    per_teacher = student_teachers.rename(teacher_minutes="minutes")
    with_first = per_teacher.join(totals.select(*KEY, "first_start"), KEY)
    teachers = with_first.group_by(KEY).aggregate(
        teachers=with_first.count(),  # one row per teacher already
        main_teacher_minutes=with_first.teacher_minutes.max(),
        teacher_switches=(with_first.first_regular > with_first.first_start).cast("int64").sum(),
    )
    joined = (
        totals.left_join(teachers, KEY)
        .drop(*(f"{k}_right" for k in KEY))
        .left_join(turnover.select(*KEY, "turnover_hit"), KEY)
        .drop(*(f"{k}_right" for k in KEY))
    )
    m = joined.minutes
    return joined.select(
        *KEY,
        "school_code",
        "grade",
        grade_band=grade_band(joined.grade),
        lessons=joined.lessons,
        minutes=m,
        teachers=joined.teachers.fill_null(0),
        main_teacher_share=rate(joined.main_teacher_minutes.fill_null(0), m),
        teacher_switches=joined.teacher_switches.fill_null(0),
        turnover_hit=joined.turnover_hit.fill_null(False),
        certified_share=rate(joined.certified_minutes, m),
        legitimated_share=rate(joined.legitimated_minutes, m),
        mean_experience=rate(joined.experience_sum, joined.experience_weight),
        novice_share=rate(joined.novice_minutes, m),
        new_teacher_share=rate(joined.new_teacher_minutes, m),
        two_teacher_share=rate(joined.two_teacher_minutes, m),
        substitute_share=rate(joined.substitute_minutes, m),
        certified_minutes=joined.certified_minutes,
        legitimated_minutes=joined.legitimated_minutes,
        novice_minutes=joined.novice_minutes,
        new_teacher_minutes=joined.new_teacher_minutes,
        substitute_minutes=joined.substitute_minutes,
        reported_share=rate(joined.reported_lessons, joined.lessons),
        absence_rate_reported=rate(joined.absent_minutes, joined.reported_minutes),
        absence_rate_planned=rate(joined.absent_minutes, m),
    )
