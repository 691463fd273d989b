"""On the synthetic municipality, the lesson participation derived from groups, dated
memberships, assignments and exceptions is exactly what the school system recorded."""

from __future__ import annotations

import ibis
import polars as pl

from linkage.research import lesson_pupils, lesson_teachers, open_snapshot
from tests.unit.linkage.ingest.conftest import Ingested, ingested, session_key

__all__ = ["ingested", "session_key"]


def test_derived_pupils_and_minutes_equal_the_attendance_records(ingested: Ingested) -> None:
    con = ibis.duckdb.connect()
    tables = open_snapshot(ingested.snapshot, con)
    derived = pl.from_arrow(con.to_pyarrow(lesson_pupils(tables))).sort("lesson_pid", "student_pid")
    recorded = (
        pl.read_parquet(ingested.snapshot / "attendance.parquet")
        .select(
            "lesson_pid",
            "student_pid",
            minutes=pl.col("present_minutes").fill_null(0)
            + pl.col("valid_absence_minutes").fill_null(0)
            + pl.col("invalid_absence_minutes").fill_null(0)
            + pl.col("other_minutes").fill_null(0),
            reported="reported",
        )
        .sort("lesson_pid", "student_pid")
    )
    assert derived.height == ingested.extract.truth["counts"]["attendance_records"]
    assert derived.select("lesson_pid", "student_pid").equals(
        recorded.select("lesson_pid", "student_pid")
    )
    reported = recorded.filter(pl.col("reported"))
    check = derived.join(reported, on=["lesson_pid", "student_pid"])
    assert check.height == reported.height
    assert (check["minutes"] == check["minutes_right"]).all()


def test_substitutes_and_two_teacher_lessons_match_the_truth(ingested: Ingested) -> None:
    con = ibis.duckdb.connect()
    teachers = pl.from_arrow(con.to_pyarrow(lesson_teachers(open_snapshot(ingested.snapshot, con))))
    counts = ingested.extract.truth["counts"]
    # A substitute is any teacher not assigned to the activity that day: a stand-in for the
    # teacher (substituted lessons) or an extra teacher joining.
    assert (
        teachers.filter(pl.col("substitute"))["lesson_pid"].n_unique()
        == (counts["lessons_with_unassigned_teacher"])
    )
    assert counts["lessons_with_unassigned_teacher"] > counts["substituted_lessons"] > 0
    per_lesson = teachers.group_by("lesson_pid").len()
    assert per_lesson.filter(pl.col("len") >= 2).height == counts["two_teacher_lessons"]
    held = counts["lessons"] - counts["cancelled_lessons"]
    assert per_lesson.height == held - counts["lessons_without_teacher"]
