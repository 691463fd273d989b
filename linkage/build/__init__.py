"""The research-table build, written once as portable relational expressions (Ibis), run on
DuckDB by default.

Modules
- ``_tables``: the canonical tables of a snapshot as Ibis tables.
- ``_participation``: who was in which lesson: the pupils (with their minutes) and the
  teachers (with substitutes marked) of every held lesson.
- ``_student_lessons``: ``student_lessons``, one row per pupil and held lesson.
- ``_exposure``: ``exposure``, per pupil × term × subject: the teachers the pupil met.
- ``_absence``: ``student_months`` and ``student_terms``: absence indicators.
- ``_teachers``: ``teacher_terms``: certification, experience and turnover per teacher × term.
- ``_quality``: ``quality``, per school × month: how complete and timely registration is.
- ``_calendar``, ``_rates``: terms and months; the rate and threshold functions.
"""

from linkage.build._absence import student_days, student_months, student_terms
from linkage.build._exposure import exposure, student_teachers
from linkage.build._participation import lesson_pupils, lesson_teachers
from linkage.build._quality import quality
from linkage.build._student_lessons import lesson_facts, student_lessons
from linkage.build._tables import open_snapshot, snapshot_files
from linkage.build._teachers import teacher_terms

__all__ = ["exposure", "lesson_facts", "lesson_pupils", "lesson_teachers", "open_snapshot",
           "quality", "snapshot_files",
           "student_days", "student_lessons", "student_months", "student_teachers", "student_terms",
           "teacher_terms"]  # fmt: skip
