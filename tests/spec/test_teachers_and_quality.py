"""teacher_terms and quality: spec tables in, expected rows out.

School 12345678, maths (MA). Activity 10 is class 100 (grade 6), activity 11 is a mixed group
101 (grades 6 and 7). Teacher 50 is certified in MA for 4–6 only; 51 for 4–6 and 7–9; 52 is a
novice who arrived this year; 90 stands in once (a substitute).

    lesson  activity  day     teachers   registration
    1       10        17 Aug  50         reported within the hour
    2       10        18 Aug  50         reported 24 hours after the end (late)
    3       11        17 Aug  50, 51     not reported
    4       11        18 Aug  90 for 50  reported; the lesson had a teacher exception
    5       10        19 Aug  -          cancelled
    6       11        1 Sep   -          both teachers removed: no teacher
"""

from __future__ import annotations

import pytest

from tests.spec.tables import dicts, research, spec_tables

SCHOOL = {
    "activities": """
        activity_pid | school_code | syllabus_pid
        10           | 12345678    | 900
        11           | 12345678    | 900
    """,
    "syllabuses": "syllabus_pid | subject_code\n900 | MA",
    "activity_groups": """
        activity_pid | group_pid
        10           | 100
        11           | 101
    """,
    "group_memberships": """
        group_pid | student_pid
        100       | 1
        101       | 2
        101       | 3
    """,
    "enrolments": """
        student_pid | school_code | grade
        1           | 12345678    | 6
        2           | 12345678    | 6
        3           | 12345678    | 7
    """,
    "lessons": """
        lesson_pid | activity_pid | local_date | end_time            | minutes | teaching_length_teacher | cancelled
        1          | 10           | 2026-08-17 | 2026-08-17 07:00:00 | 60      |                         | F
        2          | 10           | 2026-08-18 | 2026-08-18 07:00:00 | 60      | 70                      | F
        3          | 11           | 2026-08-17 | 2026-08-17 09:00:00 | 60      |                         | F
        4          | 11           | 2026-08-18 | 2026-08-18 09:00:00 | 60      |                         | F
        5          | 10           | 2026-08-19 | 2026-08-19 07:00:00 | 60      |                         | T
        6          | 11           | 2026-09-01 | 2026-09-01 09:00:00 | 60      |                         | F
    """,
    "activity_teachers": """
        activity_pid | teacher_pid
        10           | 50
        11           | 50
        11           | 51
    """,
    "lesson_teacher_exceptions": """
        lesson_pid | teacher_pid | participates
        4          | 50          | F
        4          | 90          | T
        6          | 50          | F
        6          | 51          | F
    """,
    "teacher_register": """
        teacher_pid | legitimated | experience_years | arrival_year
        50          | T           | 12               | 2014
        51          | T           | 2                | 2026
    """,
    "teacher_certifications": """
        teacher_pid | subject_code | grade_band
        50          | MA           | 4-6
        51          | MA           | 4-6
        51          | MA           | 7-9
    """,
    "staff": """
        teacher_pid | school_code | start_date | end_date
        50          | 12345678    | 2014-08-01 |
        51          | 12345678    | 2026-08-01 | 2027-06-30
        90          | 12345678    | 2026-08-01 |
    """,
    "attendance": """
        lesson_pid | student_pid | reported | present_minutes | reported_at
        1          | 1           | T        | 60              | 2026-08-17 07:40:00
        2          | 1           | T        | 60              | 2026-08-19 07:00:00
        3          | 2           | F        |                 |
        3          | 3           | F        |                 |
        4          | 2           | T        | 60              | 2026-08-18 09:05:00
        4          | 3           | T        | 60              | 2026-08-18 09:01:00
    """,
}


@pytest.fixture(scope="module")
def tables() -> dict[str, object]:
    return spec_tables(**SCHOOL)


def test_teacher_terms(tables: dict) -> None:  # type: ignore[type-arg]
    got = {r["teacher_pid"]: r for r in dicts(research(tables)["teacher_terms"])}
    assert sorted(got) == [50, 51, 90]
    t50, t51, t90 = got[50], got[51], got[90]
    # lessons 1, 2 (70 minutes for the teacher) and 3; removed from 4 and 6
    assert (t50["lessons"], t50["minutes"], t50["substitute_lessons"]) == (3, 190, 0)
    # lesson 3 has a grade-7 pupil, and 50 is certified for 4-6 only
    assert t50["certified_share"] == pytest.approx(130 / 190)
    assert (t50["legitimated"], t50["experience_years"], t50["novice"]) == (True, 12, False)
    assert (t50["new_to_school"], t50["leaves"], t50["regular"]) == (False, False, True)
    # 51: lessons 3 and 4, certified for both bands; a novice, new, and leaving in June
    assert (t51["lessons"], t51["certified_share"]) == (2, 1.0)
    assert (t51["novice"], t51["new_to_school"], t51["leaves"]) == (True, True, True)
    # 90: one lesson as a substitute; not in the register, so nothing is known about them
    assert (t90["lessons"], t90["substitute_lessons"], t90["regular"]) == (1, 1, False)
    assert (t90["legitimated"], t90["novice"], t90["leaves"]) == (None, None, False)
    assert t90["certified_share"] == 0.0
    # one of the school's two regular teachers leaves (the substitute does not count)
    assert {r["school_turnover"] for r in got.values()} == {0.5}
    assert {r["term"] for r in got.values()} == {"2026HT"}


def test_quality_per_school_and_month(tables: dict) -> None:  # type: ignore[type-arg]
    got = {r["month"]: r for r in dicts(research(tables)["quality"])}
    august, september = got["2026-08"], got["2026-09"]
    assert (august["scheduled_lessons"], august["held_lessons"]) == (5, 4)
    assert august["cancelled_share"] == pytest.approx(1 / 5)
    assert august["unreported_share"] == pytest.approx(1 / 4)  # lesson 3
    assert august["late_share"] == pytest.approx(1 / 3)  # lesson 2, exactly 24 hours late
    assert august["adjusted_share"] == pytest.approx(1 / 4)  # lesson 4
    assert august["teacher_change_share"] == pytest.approx(1 / 4)
    assert august["without_teacher_share"] == 0.0
    # lesson 3 (50 and 51) and lesson 4 (51 and the substitute 90)
    assert (august["two_teacher_lessons"], august["substitute_lessons"]) == (2, 1)
    assert (august["reported_lessons"], august["late_lessons"]) == (3, 1)
    assert (september["held_lessons"], september["without_teacher_share"]) == (1, 1.0)
    assert september["unreported_share"] == 1.0
    assert september["late_share"] is None  # nothing reported, so nothing late
