"""Who was in which lesson: spec tables in, expected rows out."""

from __future__ import annotations

from linkage.build import lesson_pupils, lesson_teachers
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
    t = spec_tables(**SCHOOL, group_memberships="""
        group_pid | student_pid | start_date | end_date
        100       | 7           |            | 2026-08-17
        101       | 7           | 2026-08-18 |
        100       | 8           |            |
    """)  # fmt: skip
    assert rows(lesson_pupils(t)) == [
        (1, 7, 60),  # class A on the 17th
        (1, 8, 60),
        (2, 8, 50),  # the lesson's teaching length for students, not end - start
        (4, 7, 60),  # class B from the 18th
    ]


def test_student_exceptions_add_remove_and_shorten_but_never_revive_a_cancelled_lesson() -> None:
    t = spec_tables(**SCHOOL, group_memberships="""
        group_pid | student_pid
        100       | 8
        100       | 9
    """, lesson_student_exceptions="""
        lesson_pid | student_pid | participates | teaching_length
        1          | 9           | F            |
        1          | 20          | T            |
        2          | 8           | T            | 30
        5          | 20          | T            |
    """)  # fmt: skip
    assert rows(lesson_pupils(t)) == [
        (1, 8, 60),
        (1, 20, 60),  # added to a lesson of another class
        (2, 8, 30),  # shortened: the exception's length comes first
        (2, 9, 50),
    ]  # pupil 9 excused from lesson 1; lesson 5 is cancelled, so nobody is in it


def test_teachers_substitutes_two_teachers_and_a_switch_mid_term() -> None:
    t = spec_tables(**SCHOOL, activity_teachers="""
        activity_pid | teacher_pid | start_date | end_date
        10           | 50          |            | 2026-08-17
        10           | 51          | 2026-08-18 |
        11           | 60          |            |
        11           | 61          |            |
    """, lesson_teacher_exceptions="""
        lesson_pid | teacher_pid | participates
        3          | 60          | F
        3          | 90          | T
        4          | 61          | T
    """)  # fmt: skip
    assert rows(lesson_teachers(t)) == [
        (1, 50, False),  # before the switch
        (2, 51, False),  # the new teacher takes over on the 18th
        (3, 61, False),
        (3, 90, True),  # 90 stands in for 60: a substitute
        (4, 60, False),  # two teachers: both assigned, neither a substitute
        (4, 61, False),
    ]
