"""The names of the canonical tables, in the order of their schemas (``linkage._canonical``),
without loading pyarrow: a build reads them from a snapshot's manifest and writes its tables
with the engine, and never needs the schemas themselves (pyarrow's import is 0.1–0.2 s of a
build's start)."""

CANONICAL_TABLES: tuple[str, ...] = (
    "schools",
    "students",
    "enrolments",
    "staff",
    "groups",
    "group_memberships",
    "syllabuses",
    "activities",
    "activity_groups",
    "activity_teachers",
    "lessons",
    "lesson_student_exceptions",
    "lesson_teacher_exceptions",
    "attendance",
    "absence_notices",
    "grades",
    "aggregated_attendance",
    "teacher_register",
    "teacher_certifications",
    "student_register",
    "student_grades",
)
