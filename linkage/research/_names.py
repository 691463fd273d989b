"""The research tables' names, in the order they are built, and the column each is recomputed
by (kept apart from the expressions, so that naming them loads no Ibis)."""

RESEARCH_TABLES = (
    "student_lessons",
    "student_teachers",
    "exposure",
    "student_months",
    "student_terms",
    "student_term_teachers",
    "student_profiles",
    "teacher_terms",
    "quality",
)
BY_MONTH = ("student_lessons", "student_months", "quality")
PERIOD = {name: "month" if name in BY_MONTH else "term" for name in RESEARCH_TABLES}
