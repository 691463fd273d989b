"""``student_profiles``: one row per pupil × term, so that questions across the pupil's
teaching, turnover, absence and results are asked of one table.

Built from rows already built: ``student_terms`` gives the row, its school and grade, both
absence rates, the days absent, the merit value and their bands; ``exposure`` summed over the
pupil's subjects gives the minutes and the teacher figures; ``student_term_teachers`` the
distinct teachers. A profile therefore agrees with both tables by construction.

- ``minutes``: every minute offered that term; ``subjects``: subjects with a lesson.
- ``certified_minutes``, ``legitimated_minutes``, ``novice_minutes``, ``new_teacher_minutes``,
  ``substitute_minutes``: summed over the subjects; each ``*_share`` is the sum over
  ``minutes``, so it weights every subject by its minutes (not a mean of subject shares).
- ``teachers``: distinct teachers met that term in any subject, substitutes included.
- ``turnover_subjects``: subjects whose ``exposure.turnover_hit`` is true; ``turnover_hit``:
  any.

``student_term_teachers`` (pupil × term × teacher, with the pupil's ``minutes`` with the
teacher) is the link the release layer counts a profile cell's teachers from. Never released.
"""

from __future__ import annotations

import ibis.expr.types as ir

from linkage.research._rates import rate
from linkage.research._student_lessons import grade_band

KEY = ["student_pid", "term"]
EXPOSURE = ("certified", "legitimated", "novice", "new_teacher", "substitute")


def student_term_teachers(student_teachers: ir.Table) -> ir.Table:
    """One row per pupil × term × teacher met in any subject: ``minutes`` together (summed
    over the subjects) and ``regular`` (met at least once as the activity's own teacher)."""
    st = student_teachers
    return st.group_by([*KEY, "teacher_pid"]).aggregate(
        minutes=st.minutes.sum(), regular=st.regular.any()
    )


def student_profiles(
    exposure: ir.Table, student_terms: ir.Table, term_teachers: ir.Table
) -> ir.Table:
    e = exposure
    summed = e.group_by(KEY).aggregate(
        minutes=e.minutes.sum(),
        subjects=e.count(),
        turnover_subjects=e.turnover_hit.cast("int64").sum(),
        **{f"{x}_minutes": e[f"{x}_minutes"].sum() for x in EXPOSURE},
    )
    tt = term_teachers
    teachers = tt.group_by(KEY).aggregate(teachers=tt.count())  # one row per teacher already
    terms = student_terms.select(
        *KEY,
        "school_code",
        "grade",
        "absence_rate_reported",
        "absence_rate_planned",
        "absence_band",
        "days_absent",
        "merit_value",
        "merit_band",
    )
    j = (
        terms.left_join(summed, KEY)
        .drop(*(f"{k}_right" for k in KEY))
        .left_join(teachers, KEY)
        .drop(*(f"{k}_right" for k in KEY))
    )
    minutes = j.minutes.fill_null(0)
    figures: dict[str, ir.Value] = {}
    for x in EXPOSURE:
        figures[f"{x}_minutes"] = j[f"{x}_minutes"].fill_null(0)
    for x in EXPOSURE:
        figures[f"{x}_share"] = rate(j[f"{x}_minutes"], minutes)
    turnover_subjects = j.turnover_subjects.fill_null(0)
    return j.select(
        *KEY,
        "school_code",
        "grade",
        grade_band=grade_band(j.grade),
        minutes=minutes,
        subjects=j.subjects.fill_null(0),
        teachers=j.teachers.fill_null(0),
        **figures,
        turnover_subjects=turnover_subjects,
        turnover_hit=turnover_subjects > 0,
        absence_rate_reported=j.absence_rate_reported,
        absence_rate_planned=j.absence_rate_planned,
        absence_band=j.absence_band,
        days_absent=j.days_absent,
        merit_value=j.merit_value,
        merit_band=j.merit_band,
    )
