"""The minutes behind a cell, for the teacher rules: a class-level build (OneRoster: lessons
unknown) leaves a pupil's minutes with a teacher null, and each such link then weighs 1, so the
dominance rule compares teachers by the pupils they teach instead of seeing no minutes."""

from __future__ import annotations

import polars as pl

from release._frames import MINUTES, TEACHER, Collapse, PrivateFrame, TeacherLink, teacher_minutes


def _minutes(links: pl.DataFrame) -> dict[tuple[str, int], float]:
    pupils = PrivateFrame(
        "exposure",
        pl.LazyFrame({"student_pid": [1, 2, 3], "school_code": ["S", "S", "T"]}),
    )
    link = TeacherLink(
        PrivateFrame("student_teachers", links.lazy()), ("student_pid",), "teacher_pid"
    )
    c = Collapse(
        by=("school_code",), unit="student_pid", filters=(), means={}, sums={}, flags=(), max_rows=1
    )
    out = teacher_minutes(pupils, c, link)
    return {(r["school_code"], r[TEACHER]): r[MINUTES] for r in out.iter_rows(named=True)}


def test_known_minutes_are_summed() -> None:
    links = pl.DataFrame(
        {"student_pid": [1, 2, 2, 3], "teacher_pid": [7, 7, 8, 9], "minutes": [40, 60, 5, 1]}
    )
    assert _minutes(links) == {("S", 7): 100.0, ("S", 8): 5.0, ("T", 9): 1.0}


def test_a_link_of_unknown_minutes_weighs_one() -> None:
    links = pl.DataFrame(
        {"student_pid": [1, 2, 2, 3], "teacher_pid": [7, 7, 8, 9], "minutes": [None] * 4},
        schema_overrides={"minutes": pl.Int64},
    )
    # teacher 7 teaches both pupils of school S, teacher 8 one of them: 2 against 1, where
    # summing the unknown minutes would have given 0 against 0 (and no dominance to see)
    assert _minutes(links) == {("S", 7): 2.0, ("S", 8): 1.0, ("T", 9): 1.0}
