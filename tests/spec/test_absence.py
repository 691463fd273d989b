"""student_months and student_terms: absence indicators. Spec tables in, expected rows out.

Every pupil is in class 100, whose Swedish lessons (activity 11) are 60 minutes. Pupil 1's
lessons, one row each (``-`` = not reported):

    day                lesson  registration
    Mon 31 Aug         1       valid absence 60
                       2       invalid absence 60          → a day absent
    Tue  1 Sep         3       present 60
                       4       other 60 (elsewhere)         → attended
    Wed  2 Sep         5       -
                       6       invalid absence 60           → a day absent (lesson 5 unknown)
    Thu  3 Sep 23:30   7       -  (crosses midnight: it is Thursday's lesson)
    Fri  4 Sep         8       cancelled (never counts)

Pupils 2–4 sit ten lessons in September (9–18) with exactly 10 %, 50 % and 20 % absence.
"""

from __future__ import annotations

import pytest

from tests.spec.tables import dicts, research, spec_tables

PUPIL_1 = [  # lesson, day, start (UTC), reported, present, valid, invalid, other
    (1, "2026-08-31", "06:00", "T", 0, 60, 0, 0),
    (2, "2026-08-31", "07:00", "T", 0, 0, 60, 0),
    (3, "2026-09-01", "06:00", "T", 60, 0, 0, 0),
    (4, "2026-09-01", "07:00", "T", 0, 0, 0, 60),
    (5, "2026-09-02", "06:00", "F", None, None, None, None),
    (6, "2026-09-02", "07:00", "T", 0, 0, 60, 0),
    (7, "2026-09-03", "21:30", "F", None, None, None, None),
]
ABSENT_LESSONS = {2: 1, 3: 5, 4: 2}  # pupils 2-4: lessons absent (invalid) of ten


def _tables() -> dict[str, object]:
    lessons = ["lesson_pid | activity_pid | local_date | start_time | minutes | cancelled"]
    attendance = [
        "lesson_pid | student_pid | reported | present_minutes | "
        "valid_absence_minutes | invalid_absence_minutes | other_minutes"
    ]
    for lesson, day, start, reported, *minutes in PUPIL_1:
        lessons.append(f"{lesson} | 11 | {day} | {day} {start}:00 | 60 | F")
        if reported == "T":
            attendance.append(f"{lesson} | 1 | T | " + " | ".join(str(m) for m in minutes))
    lessons.append("8 | 11 | 2026-09-04 | 2026-09-04 06:00:00 | 60 | T")
    for lesson in range(9, 19):
        day = f"2026-09-{lesson - 1:02d}"
        lessons.append(f"{lesson} | 12 | {day} | {day} 06:00:00 | 60 | F")
        for pupil, absent in ABSENT_LESSONS.items():
            away = lesson - 9 < absent
            attendance.append(
                f"{lesson} | {pupil} | T | {0 if away else 60} | 0 | {60 if away else 0} | 0"
            )
    return spec_tables(
        activities="""
            activity_pid | school_code | syllabus_pid
            11           | 12345678    | 901
            12           | 12345678    | 901
        """,
        syllabuses="""
            syllabus_pid | subject_code
            901          | SV
        """,
        activity_groups="""
            activity_pid | group_pid
            11           | 100
            12           | 101
        """,
        group_memberships="""
            group_pid | student_pid
            100       | 1
            101       | 2
            101       | 3
            101       | 4
        """,
        enrolments="""
            student_pid | school_code | grade
            1           | 12345678    | 5
            2           | 12345678    | 5
            3           | 12345678    | 5
            4           | 12345678    | 5
        """,
        student_register="""
            student_pid | merit_value
            1           | 212.5
        """,
        lessons="\n".join(lessons),
        attendance="\n".join(attendance),
    )


@pytest.fixture(scope="module")
def built() -> tuple[dict[tuple[int, str], dict[str, object]], dict[int, dict[str, object]]]:
    t = _tables()
    tables = research(t)
    months, terms = tables["student_months"], tables["student_terms"]
    by_month = {(r["student_pid"], r["month"]): r for r in dicts(months)}
    by_term = {r["student_pid"]: r for r in dicts(terms)}
    return by_month, by_term  # type: ignore[return-value]


def test_pupil_1_by_month(built: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    by_month, _ = built
    august, september = by_month[(1, "2026-08")], by_month[(1, "2026-09")]
    assert (august["lessons"], august["planned_minutes"], august["reported_minutes"]) == (
        2,
        120,
        120,
    )
    assert august["absence_rate_reported"] == 1.0
    assert (august["days_absent"], august["over_20_percent"]) == (1, True)
    # lessons 3-7; reported 3, 4, 6; absent 60 of 180 reported, of 300 planned
    assert (september["lessons"], september["reported_lessons"]) == (5, 3)
    assert september["absence_rate_reported"] == pytest.approx(60 / 180)
    assert september["absence_rate_planned"] == pytest.approx(60 / 300)
    assert (september["days_absent"], september["over_20_percent"]) == (1, True)
    assert september["term"] == "2026HT" and september["school_code"] == "12345678"


def test_pupil_1_over_the_term(built: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    _, by_term = built
    row = by_term[1]
    assert (
        row["lessons"],
        row["reported_lessons"],
        row["planned_minutes"],
        row["reported_minutes"],
    ) == (7, 5, 420, 300)
    assert (
        row["valid_absence_minutes"],
        row["invalid_absence_minutes"],
        row["absent_minutes"],
    ) == (60, 120, 180)
    assert row["absence_rate_reported"] == pytest.approx(180 / 300)
    assert row["absence_rate_planned"] == pytest.approx(180 / 420)
    assert row["valid_absence_rate"] == pytest.approx(60 / 300)
    assert row["invalid_absence_rate"] == pytest.approx(120 / 300)
    assert row["reported_share"] == pytest.approx(5 / 7)
    assert (row["persistent_absence"], row["severe_absence"]) == (True, True)
    assert (row["any_month_over_20_percent"], row["days_absent"]) == (True, 2)
    assert row["many_days_absent"] is False
    assert row["merit_value"] == 212.5


def test_thresholds_are_exact(built: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    _, by_term = built
    got = {
        p: (
            by_term[p]["persistent_absence"],
            by_term[p]["severe_absence"],
            by_term[p]["any_month_over_20_percent"],
            by_term[p]["days_absent"],
        )
        for p in ABSENT_LESSONS
    }
    assert got == {
        2: (True, False, False, 1),  # exactly 10 %: persistent
        3: (True, True, True, 5),  # exactly 50 %: severe
        4: (True, False, False, 2),  # exactly 20 % in the month: not *over* 20 %
    }
    assert by_term[2]["merit_value"] is None


def test_fifteen_days_absent() -> None:
    lessons = ["lesson_pid | activity_pid | local_date | minutes | cancelled"]
    attendance = [
        "lesson_pid | student_pid | reported | present_minutes | "
        "valid_absence_minutes | invalid_absence_minutes"
    ]
    for day in range(1, 16):
        lessons.append(f"{day} | 11 | 2026-10-{day:02d} | 60 | F")
        attendance.append(f"{day} | 1 | T | 0 | 60 | 0")
    t = spec_tables(
        activities="activity_pid | school_code\n11 | 12345678",
        activity_groups="activity_pid | group_pid\n11 | 100",
        group_memberships="group_pid | student_pid\n100 | 1",
        lessons="\n".join(lessons),
        attendance="\n".join(attendance),
    )
    (row,) = dicts(research(t)["student_terms"])
    assert (row["days_absent"], row["many_days_absent"]) == (15, True)


def test_sex_is_the_school_system_s_code_and_unknown_otherwise() -> None:
    """Pupil 1 is recorded as Kvinna, pupil 2 as Man, pupil 3 with no sex and pupil 4 with a
    value outside SS 12000's code list; every pupil has a sex in both tables."""
    t = _tables()
    t["students"] = spec_tables(
        students="""
        student_pid | sex
        1           | Kvinna
        2           | Man
        3           |
        4           | Annat
    """
    )["students"]
    tables = research(t)
    months, terms = tables["student_months"], tables["student_terms"]
    expected = {1: "Kvinna", 2: "Man", 3: "Okänt", 4: "Okänt"}
    assert {r["student_pid"]: r["sex"] for r in dicts(terms)} == expected
    assert {(r["student_pid"], r["sex"]) for r in dicts(months)} == {
        (1, "Kvinna"),
        (2, "Man"),
        (3, "Okänt"),
        (4, "Okänt"),
    }


def test_a_pupil_missing_from_the_students_table_is_of_unknown_sex() -> None:
    t = _tables()  # no students table: every pupil is missing from it
    terms = research(t)["student_terms"]
    assert {r["sex"] for r in dicts(terms)} == {"Okänt"}
    assert len(dicts(terms)) == 4


def _two_schools(schools: str) -> dict[str, object]:
    """Pupil 1's lessons at school 12345678, pupils 2-4's at school 87654321."""
    t = _tables()
    t["activities"] = spec_tables(
        activities="""
            activity_pid | school_code | syllabus_pid
            11           | 12345678    | 901
            12           | 87654321    | 901
        """
    )["activities"]
    t["schools"] = spec_tables(schools=schools)["schools"]
    return t


def _organisers(t: dict[str, object]) -> tuple[dict[int, str], set[tuple[int, str]]]:
    tables = research(t)
    months, terms = tables["student_months"], tables["student_terms"]
    by_term = {r["student_pid"]: r["organiser_type"] for r in dicts(terms)}
    by_month = {(r["student_pid"], r["organiser_type"]) for r in dicts(months)}
    return by_term, by_month


def test_organiser_type_is_that_of_the_pupil_s_school() -> None:
    by_term, by_month = _organisers(
        _two_schools("""
        school_code | organiser_type
        12345678    | independent
        87654321    | state
    """)
    )
    assert by_term == {1: "independent", 2: "state", 3: "state", 4: "state"}
    assert by_month == {(1, "independent"), (2, "state"), (3, "state"), (4, "state")}


def test_organiser_type_is_unknown_for_a_missing_or_ambiguous_school() -> None:
    """12345678 is not in the schools table; two school units with the code 87654321 name
    different kinds of organiser. Neither is guessed."""
    by_term, by_month = _organisers(
        _two_schools("""
        school_code | organiser_type
        87654321    | municipal
        87654321    | state
    """)
    )
    assert by_term == dict.fromkeys((1, 2, 3, 4), "unknown")
    assert {kind for _, kind in by_month} == {"unknown"}
