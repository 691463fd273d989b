"""Who was in which lesson: spec tables in, expected rows out."""

from __future__ import annotations

from linkage.research import lesson_pupils, lesson_teachers
from tests.spec.tables import rows, spec_tables

# Two classes (groups 100, 101), each with a maths activity (10, 11), lessons on two days.
SCHOOL = {
    "activity_groups": """
        activity_pid | group_pid
        10           | 100
        11           | 101
    """,
    "lessons": """
        lesson_pid | activity_pid | local_date | minutes | teaching_length_student | cancelled
        1          | 10           | 2026-08-17 | 60      |                         | F
        2          | 10           | 2026-08-18 | 60      | 50                      | F
        3          | 11           | 2026-08-17 | 60      |                         | F
        4          | 11           | 2026-08-18 | 60      |                         | F
        5          | 10           | 2026-08-19 | 60      |                         | T
    """,
}


def test_a_pupil_changing_class_mid_term_follows_the_dates() -> None:
    t = spec_tables(
        **SCHOOL,
        group_memberships="""
        group_pid | student_pid | start_date | end_date
        100       | 7           |            | 2026-08-17
        101       | 7           | 2026-08-18 |
        100       | 8           |            |
    """,
    )
    assert rows(lesson_pupils(t).drop("grade")) == [
        (1, 7, 60),  # class A on the 17th
        (1, 8, 60),
        (2, 8, 50),  # the lesson's teaching length for students, not end - start
        (4, 7, 60),  # class B from the 18th
    ]


def test_student_exceptions_add_remove_and_shorten_but_never_revive_a_cancelled_lesson() -> None:
    t = spec_tables(
        **SCHOOL,
        group_memberships="""
        group_pid | student_pid
        100       | 8
        100       | 9
    """,
        lesson_student_exceptions="""
        lesson_pid | student_pid | participates | teaching_length
        1          | 9           | F            |
        1          | 20          | T            |
        2          | 8           | T            | 30
        5          | 20          | T            |
    """,
    )
    assert rows(lesson_pupils(t).drop("grade")) == [
        (1, 8, 60),
        (1, 20, 60),  # added to a lesson of another class
        (2, 8, 30),  # shortened: the exception's length comes first
        (2, 9, 50),
    ]  # pupil 9 excused from lesson 1; lesson 5 is cancelled, so nobody is in it


def test_teachers_substitutes_two_teachers_and_a_switch_mid_term() -> None:
    t = spec_tables(
        **SCHOOL,
        activity_teachers="""
        activity_pid | teacher_pid | start_date | end_date
        10           | 50          |            | 2026-08-17
        10           | 51          | 2026-08-18 |
        11           | 60          |            |
        11           | 61          |            |
    """,
        lesson_teacher_exceptions="""
        lesson_pid | teacher_pid | participates
        3          | 60          | F
        3          | 90          | T
        4          | 61          | T
    """,
    )
    assert rows(lesson_teachers(t)) == [
        (1, 50, False),  # before the switch
        (2, 51, False),  # the new teacher takes over on the 18th
        (3, 61, False),
        (3, 90, True),  # 90 stands in for 60: a substitute
        (4, 60, False),  # two teachers: both assigned, neither a substitute
        (4, 61, False),
    ]


def test_student_lessons_certification_follows_the_pupils_grade_band() -> None:
    """Teacher 50 is certified in MA for 4-6 only: certified for the grade-6 pupil, not for the
    grade-7 pupil in the same lesson. Teacher 51 is not in the register at all."""
    from linkage.research import student_lessons

    t = spec_tables(
        lessons="""
            lesson_pid | activity_pid | local_date | minutes | cancelled
            1          | 10           | 2026-08-17 | 60      | F
            2          | 11           | 2026-08-17 | 60      | F
        """,
        activities="""
            activity_pid | school_code | syllabus_pid
            10           | 12345678    | 900
            11           | 12345678    | 900
        """,
        syllabuses="""
            syllabus_pid | subject_code
            900          | MA
        """,
        activity_groups="""
            activity_pid | group_pid
            10           | 100
            11           | 101
        """,
        group_memberships="""
            group_pid | student_pid
            100       | 6
            100       | 7
            101       | 8
        """,
        enrolments="""
            student_pid | school_code | grade | start_date
            6           | 12345678    | 6     | 2026-08-01
            7           | 12345678    | 7     | 2026-08-01
            8           | 12345678    | 6     | 2026-08-01
        """,
        activity_teachers="""
            activity_pid | teacher_pid
            10           | 50
            11           | 51
        """,
        teacher_register="""
            teacher_pid | legitimated | experience_years
            50          | T           | 2
        """,
        teacher_certifications="""
            teacher_pid | subject_code | grade_band
            50          | MA           | 4-6
        """,
    )
    table = student_lessons(t).select(
        "lesson_pid", "student_pid", "grade_band", "certified", "legitimated", "novice", "teachers"
    )
    assert rows(table) == [
        (1, 6, "4-6", True, True, True, 1),
        (1, 7, "7-9", False, True, True, 1),
        (2, 8, "4-6", False, False, False, 1),  # teacher 51 is not in the register
    ]


def test_a_teacher_named_twice_for_one_lesson_counts_once() -> None:
    """Two teacher exceptions for one teacher and lesson (say under two duties): one row."""
    t = spec_tables(
        **SCHOOL,
        lesson_teacher_exceptions="""
        lesson_pid | duty_pid | teacher_pid | participates
        1          | 1        | 90          | T
        1          | 2        | 90          | T
    """,
    )
    assert rows(lesson_teachers(t)) == [(1, 90, True)]
