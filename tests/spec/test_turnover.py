"""turnover: was the pupil's teacher in a subject replaced during the term, or did they leave
the school since the term before? Spec tables in, expected flags out.

One school (12345678), maths (MA) only, one class per activity. Spring 2026 (``2026VT``) has
one lesson per activity on 2 March; autumn 2026 (``2026HT``) four, 14–17 September. A
substitute is a teacher added by a lesson's teacher exception.

    pupil  class  2026VT            2026HT                                   turnover in 2026HT
    1      100    act 10: 50        act 11: 51                               50 left the school
    2      101    act 20: 52        act 21: 52                               none
    3      102    act 30: 53        act 31: 54 (53 now teaches act 40)       none: 53 is still there
    4      104                      act 41: 55 to the 15th, 56 from the 16th  55 replaced by 56
    5      105                      act 51: 57, on the 17th 90 stands in     none: a substitute
    6      105 → 104 on the 16th    act 51 (57), then act 41 (56)            none: a change of class
    7      106                      act 61: 58, joined by 59 on the 16th     none: nobody left

Teacher 50 teaches nothing at the school in the autumn: as the schedule shows it, 50 has left.
"""

from __future__ import annotations

import pytest

from linkage.research import pupil_figures, turnover
from tests.spec.tables import dicts, research, spec_tables

SPRING, AUTUMN = ["2026-03-02"], ["2026-09-14", "2026-09-15", "2026-09-16", "2026-09-17"]
ACTIVITIES = {  # activity: class, days
    10: (100, SPRING),
    20: (101, SPRING),
    30: (102, SPRING),
    11: (100, AUTUMN),
    21: (101, AUTUMN),
    31: (102, AUTUMN),
    40: (103, AUTUMN),
    41: (104, AUTUMN),
    51: (105, AUTUMN),
    61: (106, AUTUMN),
}


def _tables() -> dict[str, object]:
    activities = ["activity_pid | school_code | syllabus_pid"]
    groups = ["activity_pid | group_pid"]
    lessons = ["lesson_pid | activity_pid | local_date | start_time | minutes | cancelled"]
    for activity, (group, days) in ACTIVITIES.items():
        activities.append(f"{activity} | 12345678 | 900")
        groups.append(f"{activity} | {group}")
        for i, day in enumerate(days):
            lessons.append(f"{activity * 10 + i} | {activity} | {day} | {day} 07:00:00 | 60 | F")
    return spec_tables(
        activities="\n".join(activities),
        activity_groups="\n".join(groups),
        lessons="\n".join(lessons),
        syllabuses="syllabus_pid | subject_code\n900 | MA",
        group_memberships="""
            group_pid | student_pid | start_date | end_date
            100       | 1           |            |
            101       | 2           |            |
            102       | 3           |            |
            104       | 4           |            |
            105       | 5           |            |
            105       | 6           |            | 2026-09-15
            104       | 6           | 2026-09-16 |
            106       | 7           |            |
        """,
        enrolments="""
            student_pid | school_code | grade
            1           | 12345678    | 7
            2           | 12345678    | 7
            3           | 12345678    | 7
            4           | 12345678    | 7
            5           | 12345678    | 7
            6           | 12345678    | 7
            7           | 12345678    | 7
        """,
        activity_teachers="""
            activity_pid | teacher_pid | start_date | end_date
            10           | 50          |            |
            11           | 51          |            |
            20           | 52          |            |
            21           | 52          |            |
            30           | 53          |            |
            31           | 54          |            |
            40           | 53          |            |
            41           | 55          |            | 2026-09-15
            41           | 56          | 2026-09-16 |
            51           | 57          |            |
            61           | 58          |            |
            61           | 59          | 2026-09-16 |
        """,
        lesson_teacher_exceptions="""
            lesson_pid | teacher_pid | participates
            513        | 57          | F
            513        | 90          | T
        """,
    )


@pytest.fixture(scope="module")
def built() -> tuple[dict[tuple[int, str], dict[str, object]], ...]:
    t = _tables()
    f = pupil_figures(t)
    hits = turnover(t, f.terms, f.teachers, f.taught)
    rows = research(t)["exposure"]
    by_flag = {(r["student_pid"], r["term"]): r for r in dicts(hits)}
    by_row = {(r["student_pid"], r["term"]): r for r in dicts(rows)}
    return by_flag, by_row  # type: ignore[return-value]


def test_who_is_hit_in_the_autumn(built: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    flags, _ = built
    got = {
        p: (r["teacher_replaced"], r["teacher_left"], r["turnover_hit"])
        for (p, term), r in flags.items()
        if term == "2026HT"
    }
    assert got == {
        1: (False, True, True),  # 50 taught pupil 1 in the spring and nothing here now
        2: (False, False, False),  # the same teacher both terms
        3: (False, False, False),  # a new teacher, but 53 still teaches at the school
        4: (True, False, True),  # 55's lessons ended, 56's began, on the pupil's activity
        5: (False, False, False),  # 57 off for one lesson, a substitute in: not turnover
        6: (False, False, False),  # the pupil moved class: the teachers stayed
        7: (False, False, False),  # 59 joined, 58 stayed
    }


def test_the_first_term_sees_no_departures(built: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    flags, _ = built
    spring = {p: r["turnover_hit"] for (p, term), r in flags.items() if term == "2026VT"}
    assert spring == {1: False, 2: False, 3: False}


def test_exposure_carries_the_flag(built: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    flags, rows = built
    assert {k: r["turnover_hit"] for k, r in rows.items()} == {
        k: r["turnover_hit"] for k, r in flags.items()
    }
    # a change of class is a teacher switch, but not turnover
    assert (rows[(6, "2026HT")]["teacher_switches"], rows[(6, "2026HT")]["turnover_hit"]) == (
        1,
        False,
    )
