"""exposure: which teachers a pupil met in a subject over a term, and how. Spec tables in,
expected rows out.

One school (12345678), maths (MA) for class 100 (activity 10) and class 101 (activity 12).

    lesson  day         activity 10 teachers               notes
    1       Mon 17 Aug  50                                  pupil 2 excused
    2       Tue 18 Aug  50                                  pupil 4 (class 101) added, 30 minutes
    3       Wed 19 Aug  51 (takes over on the 19th)
    4       Thu 20 Aug  51 + 90 (a second, unassigned teacher: substitute, two teachers)
    5       Fri 21 Aug  cancelled
    6       Mon 24 Aug  90 instead of 51 (substitute)
    7, 8    20, 24 Aug  activity 12 for class 101, teacher 52

Pupil 3 moves from class 100 to class 101 on the 20th. Teacher 50 is certified in MA for 7–9
with 10 years; 51 is licensed, a novice (1 year) and new this year; 52 is certified with 20
years; 90 is not in the register.
"""

from __future__ import annotations

import pytest

from tests.spec.tables import dicts, research, rows, spec_tables

SCHOOL = {
    "activities": """
        activity_pid | school_code | syllabus_pid
        10           | 12345678    | 900
        12           | 12345678    | 900
    """,
    "syllabuses": """
        syllabus_pid | subject_code
        900          | MA
    """,
    "activity_groups": """
        activity_pid | group_pid
        10           | 100
        12           | 101
    """,
    "group_memberships": """
        group_pid | student_pid | start_date | end_date
        100       | 1           |            |
        100       | 2           |            |
        100       | 3           |            | 2026-08-19
        101       | 3           | 2026-08-20 |
        101       | 4           |            |
    """,
    "enrolments": """
        student_pid | school_code | grade | start_date
        1           | 12345678    | 7     | 2026-07-01
        2           | 12345678    | 7     | 2026-07-01
        3           | 12345678    | 7     | 2026-07-01
        4           | 12345678    | 8     | 2026-07-01
    """,
    "lessons": """
        lesson_pid | activity_pid | local_date | start_time          | minutes | cancelled
        1          | 10           | 2026-08-17 | 2026-08-17 06:00:00 | 60      | F
        2          | 10           | 2026-08-18 | 2026-08-18 06:00:00 | 60      | F
        3          | 10           | 2026-08-19 | 2026-08-19 06:00:00 | 60      | F
        4          | 10           | 2026-08-20 | 2026-08-20 06:00:00 | 60      | F
        5          | 10           | 2026-08-21 | 2026-08-21 06:00:00 | 60      | T
        6          | 10           | 2026-08-24 | 2026-08-24 06:00:00 | 60      | F
        7          | 12           | 2026-08-20 | 2026-08-20 08:00:00 | 60      | F
        8          | 12           | 2026-08-24 | 2026-08-24 08:00:00 | 60      | F
    """,
    "lesson_student_exceptions": """
        lesson_pid | student_pid | participates | teaching_length
        1          | 2           | F            |
        2          | 4           | T            | 30
    """,
    "activity_teachers": """
        activity_pid | teacher_pid | start_date | end_date
        10           | 50          |            | 2026-08-18
        10           | 51          | 2026-08-19 |
        12           | 52          |            |
    """,
    "lesson_teacher_exceptions": """
        lesson_pid | teacher_pid | participates
        4          | 90          | T
        6          | 51          | F
        6          | 90          | T
    """,
    "teacher_register": """
        teacher_pid | legitimated | experience_years | arrival_year
        50          | T           | 10               | 2015
        51          | T           | 1                | 2026
        52          | T           | 20               | 2010
    """,
    "teacher_certifications": """
        teacher_pid | subject_code | grade_band
        50          | MA           | 7-9
        52          | MA           | 7-9
    """,
    "attendance": """
        lesson_pid | student_pid | reported | present_minutes | valid_absence_minutes | invalid_absence_minutes | other_minutes
        1          | 1           | T        | 60              | 0                     | 0                       | 0
        2          | 1           | T        | 0               | 60                    | 0                       | 0
        3          | 1           | T        | 50              | 0                     | 10                      | 0
        4          | 1           | F        |                 |                       |                         |
        6          | 1           | T        | 60              | 0                     | 0                       | 0
    """,
}


@pytest.fixture(scope="module")
def table() -> dict[int, dict[str, object]]:
    out = research(spec_tables(**SCHOOL))["exposure"]
    return {row["student_pid"]: row for row in dicts(out)}  # type: ignore[misc]


def test_one_row_per_pupil_term_and_subject(table: dict[int, dict[str, object]]) -> None:
    assert sorted(table) == [1, 2, 3, 4]
    assert {(r["term"], r["subject_code"], r["school_code"]) for r in table.values()} == {
        ("2026HT", "MA", "12345678")
    }
    assert {p: (r["grade"], r["grade_band"]) for p, r in table.items()} == {
        1: (7, "7-9"),
        2: (7, "7-9"),
        3: (7, "7-9"),
        4: (8, "7-9"),
    }


def test_teachers_met_main_teacher_and_switches(table: dict[int, dict[str, object]]) -> None:
    got = {
        p: (
            r["lessons"],
            r["minutes"],
            r["teachers"],
            r["main_teacher_share"],
            r["teacher_switches"],
        )
        for p, r in table.items()
    }
    assert got == {
        # lessons 1-4 and 6 (5 is cancelled); 50, 51 and the substitute 90, 120 minutes each;
        # 51 takes over: one switch (a substitute is never a switch)
        1: (5, 300, 3, pytest.approx(120 / 300), 1),
        # excused from lesson 1: lessons 2 (50), 3, 4 (51), 4 and 6 (90); 51 still takes over
        2: (4, 240, 3, pytest.approx(120 / 240), 1),
        # lessons 1-3 in class 100, then 7 and 8 in class 101: 51 and 52 are new to the pupil
        3: (5, 300, 3, pytest.approx(120 / 300), 2),
        # lesson 2 only (added, 30 minutes), then class 101's lessons 7 and 8
        4: (3, 150, 2, pytest.approx(120 / 150), 1),
    }


def test_shares_of_minutes(table: dict[int, dict[str, object]]) -> None:
    columns = [
        "certified_share",
        "legitimated_share",
        "novice_share",
        "new_teacher_share",
        "two_teacher_share",
        "substitute_share",
        "mean_experience",
    ]
    got = {p: [r[c] for c in columns] for p, r in table.items()}
    assert got[1] == pytest.approx(
        [
            120 / 300,  # lessons 1, 2 with 50
            240 / 300,  # 50 and 51 are licensed; 90 is not in the register
            120 / 300,  # 51 is a novice ...
            120 / 300,  # ... and new to the school
            60 / 300,  # lesson 4: 51 and 90
            120 / 300,  # lessons 4 and 6 had the substitute 90
            (10 * 120 + 1 * 120) / 240,  # lesson 6 (90 only) has no known experience
        ]
    )
    assert got[4] == pytest.approx([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, (10 * 30 + 20 * 120) / 150])


def test_absence_over_reported_and_over_planned_minutes(
    table: dict[int, dict[str, object]],
) -> None:
    row = table[1]
    # lesson 4 was not reported: 4 of 5 lessons reported, 240 reported minutes, 70 absent
    assert row["reported_share"] == pytest.approx(4 / 5)
    assert row["absence_rate_reported"] == pytest.approx(70 / 240)
    assert row["absence_rate_planned"] == pytest.approx(70 / 300)
    assert table[2]["absence_rate_reported"] is None  # nothing reported for pupil 2
    assert table[2]["absence_rate_planned"] == 0.0


def test_student_teachers_lists_every_teacher_met() -> None:
    met = research(spec_tables(**SCHOOL))["student_teachers"].select(
        "student_pid", "teacher_pid", "minutes", "regular"
    )
    assert [r for r in rows(met) if r[0] == 1] == [
        (1, 50, 120, True),
        (1, 51, 120, True),
        (1, 90, 120, False),  # only ever a substitute
    ]
