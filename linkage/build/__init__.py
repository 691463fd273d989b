"""The research-table build, written once as portable relational expressions (Ibis), run on
DuckDB by default.

Modules
- ``_tables``: the canonical tables of a snapshot as Ibis tables.
- ``_participation``: who was in which lesson: the pupils (with their minutes) and the
  teachers (with substitutes marked) of every held lesson.
- ``_student_lessons``: ``student_lessons``, one row per pupil and held lesson.
"""

from linkage.build._participation import lesson_pupils, lesson_teachers
from linkage.build._student_lessons import student_lessons
from linkage.build._tables import open_snapshot

__all__ = ["lesson_pupils", "lesson_teachers", "open_snapshot", "student_lessons"]
