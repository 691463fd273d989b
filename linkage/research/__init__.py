"""The research-table build, written once as portable relational expressions (Ibis), run on
DuckDB by default.

Modules
- ``_tables``: the canonical tables of a snapshot as Ibis tables.
- ``_pipeline``: ``research_tables``, every research table from the canonical tables, wired
  once for the full and the incremental build (a ``Scope`` of months and terms).
- ``_participation``: who was in which lesson: the pupils (with their minutes) and the
  teachers (with substitutes marked) of every held lesson.
- ``_seats``: the same, summed per segment of pupils who sat the same lessons before it is
  joined to the pupils (work grows with lessons × groups, not pupils × lessons); the one pass
  over pupils × lessons is the attendance.
- ``_student_lessons``: ``student_lessons``, one row per pupil and held lesson (built when
  asked: no other table is made from it).
- ``_exposure``: ``exposure``, per pupil × term × subject: the teachers the pupil met.
- ``_turnover``: per pupil × term × subject, whether the pupil's teacher was replaced or left.
- ``_profiles``: ``student_profiles``, per pupil × term: teaching, turnover, absence and merit
  in one row; ``student_term_teachers``, the teachers behind it.
- ``_absence``: ``student_months`` and ``student_terms``: absence indicators.
- ``_teachers``: ``teacher_terms``: certification, experience and turnover per teacher × term.
- ``_quality``: ``quality``, per school × month: how complete and timely registration is.
- ``_classes``, ``_class_tables``: for a source with classes but no lessons (OneRoster), who
  was taught by whom per class and term, and from it ``student_teachers``, ``exposure`` and
  ``teacher_terms`` with shares of classes, minutes unknown (``linkage/_basis.py`` chooses).
- ``_calendar``, ``_rates``, ``_bands``: terms and months; the rate and threshold functions;
  the bands (public keys) of absence, merit and experience.
- ``_names``: the tables' names and the period (month or term) each is recomputed by.
- ``plans/``: the compiled plans of a full build, the statements run without Ibis
  (``linkage/_plans.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medler._lazy import lazy_exports

if TYPE_CHECKING:
    from linkage.research._absence import student_months, student_terms
    from linkage.research._bands import absence_band, experience_band, merit_band
    from linkage.research._classes import conform
    from linkage.research._exposure import exposure, student_teachers
    from linkage.research._names import PERIOD, RESEARCH_TABLES
    from linkage.research._participation import lesson_pupils, lesson_teachers
    from linkage.research._pipeline import FULL, Figures, Scope, pupil_figures, research_tables
    from linkage.research._profiles import student_profiles, student_term_teachers
    from linkage.research._quality import quality
    from linkage.research._student_lessons import lesson_facts, student_lessons
    from linkage.research._tables import open_snapshot, snapshot_files
    from linkage.research._teachers import teacher_terms
    from linkage.research._turnover import turnover

# where each public name lives; modules load on first use (PEP 562): a build that runs its
# compiled plan (``linkage._plans``) loads no Ibis
_HOME = {
    "FULL": "_pipeline",
    "PERIOD": "_names",
    "RESEARCH_TABLES": "_names",
    "Figures": "_pipeline",
    "Scope": "_pipeline",
    "absence_band": "_bands",
    "conform": "_classes",
    "experience_band": "_bands",
    "exposure": "_exposure",
    "lesson_facts": "_student_lessons",
    "lesson_pupils": "_participation",
    "lesson_teachers": "_participation",
    "merit_band": "_bands",
    "open_snapshot": "_tables",
    "pupil_figures": "_pipeline",
    "quality": "_quality",
    "research_tables": "_pipeline",
    "snapshot_files": "_tables",
    "student_lessons": "_student_lessons",
    "student_months": "_absence",
    "student_profiles": "_profiles",
    "student_teachers": "_exposure",
    "student_term_teachers": "_profiles",
    "student_terms": "_absence",
    "teacher_terms": "_teachers",
    "turnover": "_turnover",
}

__getattr__ = lazy_exports(__name__, _HOME)

__all__ = [
    "FULL",
    "PERIOD",
    "RESEARCH_TABLES",
    "Figures",
    "Scope",
    "absence_band",
    "conform",
    "experience_band",
    "exposure",
    "lesson_facts",
    "lesson_pupils",
    "lesson_teachers",
    "merit_band",
    "open_snapshot",
    "pupil_figures",
    "quality",
    "research_tables",
    "snapshot_files",
    "student_lessons",
    "student_months",
    "student_profiles",
    "student_teachers",
    "student_term_teachers",
    "student_terms",
    "teacher_terms",
    "turnover",
]
