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
# Kept in the research snapshot for the next incremental build, and for nothing else (no
# release reads it): what teacher turnover reads of the term before, each pupil's regular
# teachers per term, subject and school (``_turnover.regular_teachers``), so that an
# incremental build reads the lessons of the delivery's terms only.
TURNOVER_BASIS = "turnover_basis"
KEPT_TABLES = (TURNOVER_BASIS,)
BY_MONTH = ("student_lessons", "student_months", "quality")
PERIOD = {
    name: "month" if name in BY_MONTH else "term" for name in (*RESEARCH_TABLES, *KEPT_TABLES)
}
