"""Minute-weighted exposure, student_profiles and the bands. Spec tables in, expected rows out.

One school (12345678), grade 7. Class 100 has maths (activity 10) and Swedish (activity 11);
class 101 has maths (activity 12). Teacher 50 is certified in MA and SV for 7–9 with 12 years;
51 is licensed, certified in nothing, a novice (1 year) who arrived this year.

    lesson  day      activity  minutes  teacher  pupil 1 (class 100)   pupil 2 (class 101)
    1       Mon 14   10 MA     120      50       present
    2       Tue 15   10 MA      80      51       valid absence
    3       Wed 16   11 SV     100      50       not reported
    4       Mon 14   12 MA     100      51                             present

Pupil 1: 120 of 200 maths minutes with a certified teacher (0.6), all 100 Swedish minutes;
pupil 2: none of 100. Pupil 1's merit value is 280.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from linkage.research import absence_band, experience_band, merit_band
from linkage.research._bands import ABSENCE_BANDS, EXPERIENCE_BANDS, MERIT_BANDS
from tests.spec.tables import dicts, research, spec_tables

CATALOGUE = Path(__file__).parents[2] / "policies" / "catalogue.toml"

SCHOOL = {
    "activities": """
        activity_pid | school_code | syllabus_pid
        10           | 12345678    | 900
        11           | 12345678    | 901
        12           | 12345678    | 900
    """,
    "syllabuses": """
        syllabus_pid | subject_code
        900          | MA
        901          | SV
    """,
    "activity_groups": """
        activity_pid | group_pid
        10           | 100
        11           | 100
        12           | 101
    """,
    "group_memberships": """
        group_pid | student_pid
        100       | 1
        101       | 2
    """,
    "enrolments": """
        student_pid | school_code | grade
        1           | 12345678    | 7
        2           | 12345678    | 7
    """,
    "lessons": """
        lesson_pid | activity_pid | local_date | start_time          | minutes | cancelled
        1          | 10           | 2026-09-14 | 2026-09-14 06:00:00 | 120     | F
        2          | 10           | 2026-09-15 | 2026-09-15 06:00:00 | 80      | F
        3          | 11           | 2026-09-16 | 2026-09-16 06:00:00 | 100     | F
        4          | 12           | 2026-09-14 | 2026-09-14 09:00:00 | 100     | F
    """,
    "activity_teachers": """
        activity_pid | teacher_pid
        10           | 50
        11           | 50
        12           | 51
    """,
    "lesson_teacher_exceptions": """
        lesson_pid | teacher_pid | participates
        2          | 50          | F
        2          | 51          | T
    """,
    "teacher_register": """
        teacher_pid | legitimated | experience_years | arrival_year
        50          | T           | 12               | 2014
        51          | T           | 1                | 2026
    """,
    "teacher_certifications": """
        teacher_pid | subject_code | grade_band
        50          | MA           | 7-9
        50          | SV           | 7-9
    """,
    "attendance": """
        lesson_pid | student_pid | reported | present_minutes | valid_absence_minutes | invalid_absence_minutes | other_minutes
        1          | 1           | T        | 120             | 0                     | 0                       | 0
        2          | 1           | T        | 0               | 80                    | 0                       | 0
        4          | 2           | T        | 100             | 0                     | 0                       | 0
    """,
    "student_register": """
        student_pid | merit_value
        1           | 280
    """,
}


@pytest.fixture(scope="module")
def built() -> dict[str, list[dict[str, object]]]:
    tables = research(spec_tables(**SCHOOL))
    return {
        name: dicts(tables[name])
        for name in (
            "exposure",
            "student_months",
            "student_terms",
            "student_term_teachers",
            "student_profiles",
        )
    }


def test_minutes_with_a_certified_teacher(built: dict[str, list[dict[str, object]]]) -> None:
    rows = {(r["student_pid"], r["subject_code"]): r for r in built["exposure"]}
    got = {k: (r["minutes"], r["certified_minutes"], r["certified_share"]) for k, r in rows.items()}
    assert got == {
        (1, "MA"): (200, 120, pytest.approx(0.6)),  # lesson 1 (50), not lesson 2 (51)
        (1, "SV"): (100, 100, 1.0),
        (2, "MA"): (100, 0, 0.0),
    }
    novice = {k: (r["novice_minutes"], r["new_teacher_minutes"]) for k, r in rows.items()}
    assert novice == {(1, "MA"): (80, 80), (1, "SV"): (0, 0), (2, "MA"): (100, 100)}
    # 51 stood in for 50 in lesson 2: a substitute
    assert rows[(1, "MA")]["substitute_minutes"] == 80
    assert {r["legitimated_minutes"] for r in rows.values()} == {200, 100}


def test_a_share_over_pupils_weights_by_minutes(
    built: dict[str, list[dict[str, object]]],
) -> None:
    maths = [r for r in built["exposure"] if r["subject_code"] == "MA"]
    exact = sum(r["certified_minutes"] for r in maths) / sum(r["minutes"] for r in maths)
    assert exact == pytest.approx(120 / 300)  # the share of maths minutes: 0.4
    mean_of_shares = sum(r["certified_share"] for r in maths) / len(maths)
    assert mean_of_shares == pytest.approx(0.3)  # what a mean of the pupils' shares gives


def test_a_profile_sums_the_pupils_subjects(built: dict[str, list[dict[str, object]]]) -> None:
    profiles = {r["student_pid"]: r for r in built["student_profiles"]}
    one, two = profiles[1], profiles[2]
    assert (one["term"], one["school_code"], one["grade"], one["grade_band"]) == (
        "2026HT",
        "12345678",
        7,
        "7-9",
    )
    assert (one["minutes"], one["subjects"], one["teachers"]) == (300, 2, 2)
    # 220 of 300 minutes: every subject weighted by its minutes (a mean of the subject
    # shares, 0.6 and 1.0, would say 0.8)
    assert (one["certified_minutes"], one["certified_share"]) == (220, pytest.approx(220 / 300))
    assert (one["novice_minutes"], one["novice_share"]) == (80, pytest.approx(80 / 300))
    assert (one["substitute_share"], one["legitimated_share"]) == (pytest.approx(80 / 300), 1.0)
    assert (two["minutes"], two["teachers"], two["certified_share"]) == (100, 1, 0.0)
    # pupil 1: 80 of 200 reported minutes absent (lesson 3 was not reported), one day absent
    assert one["absence_rate_reported"] == pytest.approx(80 / 200)
    assert one["absence_rate_planned"] == pytest.approx(80 / 300)
    assert (one["days_absent"], one["absence_band"]) == (1, "20-50%")
    assert (one["merit_value"], one["merit_band"]) == (280.0, ">=280")
    assert (two["absence_band"], two["merit_value"], two["merit_band"]) == ("<5%", None, None)
    assert (one["turnover_subjects"], one["turnover_hit"]) == (0, False)


def test_profiles_agree_with_exposure_and_student_terms(
    built: dict[str, list[dict[str, object]]],
) -> None:
    terms = {(r["student_pid"], r["term"]): r for r in built["student_terms"]}
    for profile in built["student_profiles"]:
        key = (profile["student_pid"], profile["term"])
        subjects = [r for r in built["exposure"] if (r["student_pid"], r["term"]) == key]
        for column in [
            "minutes",
            "certified_minutes",
            "legitimated_minutes",
            "novice_minutes",
            "new_teacher_minutes",
            "substitute_minutes",
        ]:
            assert profile[column] == sum(r[column] for r in subjects), (key, column)
        assert profile["minutes"] == terms[key]["planned_minutes"]
        assert profile["turnover_subjects"] == sum(r["turnover_hit"] for r in subjects)
        for column in [
            "school_code",
            "grade",
            "absence_rate_reported",
            "absence_rate_planned",
            "absence_band",
            "days_absent",
            "merit_value",
            "merit_band",
        ]:
            assert profile[column] == terms[key][column], (key, column)
        teachers = [
            r for r in built["student_term_teachers"] if (r["student_pid"], r["term"]) == key
        ]
        assert profile["teachers"] == len(teachers)


def test_months_carry_the_absence_band(built: dict[str, list[dict[str, object]]]) -> None:
    got = {(r["student_pid"], r["month"]): r["absence_band"] for r in built["student_months"]}
    assert got == {(1, "2026-09"): "20-50%", (2, "2026-09"): "<5%"}


ABSENCE = """
    absent | reported | band
    0      | 100      | <5%
    4      | 100      | <5%
    5      | 100      | 5-10%
    1      | 10       | 10-20%
    19     | 100      | 10-20%
    20     | 100      | 20-50%
    1      | 3        | 20-50%
    50     | 100      | >=50%
    60     | 60       | >=50%
    0      | 0        |
"""


def _read(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("|")] for line in text.strip().splitlines()[1:]]


def test_absence_bands_include_their_lower_edge() -> None:
    rows = _read(ABSENCE)
    absent, reported = [int(r[0]) for r in rows], [int(r[1]) for r in rows]
    table = ibis.memtable(pa.table({"absent": absent, "reported": reported}))
    got = dicts(table.select(band=absence_band(table.absent, table.reported)))
    assert [r["band"] for r in got] == [r[2] or None for r in rows]


def test_merit_and_experience_bands() -> None:
    merit = [0.0, 99.5, 100.0, 159.5, 160.0, 240.0, 279.5, 280.0, 340.0, None]
    table = ibis.memtable(pa.table({"merit": pa.array(merit, pa.float32())}))
    got = [r["band"] for r in dicts(table.select(band=merit_band(table.merit)))]
    assert got == [
        "<100",
        "<100",
        "100-160",
        "100-160",
        "160-200",
        "240-280",
        "240-280",
        ">=280",
        ">=280",
        None,
    ]
    years = [0, 2, 3, 9, 10, 19, 20, 45, None]
    table = ibis.memtable(pa.table({"years": pa.array(years, pa.int16())}))
    got = [r["band"] for r in dicts(table.select(band=experience_band(table.years)))]
    assert got == ["0-2", "0-2", "3-9", "3-9", "10-19", "10-19", "20+", "20+", None]


def test_the_band_labels_are_the_catalogues_public_keys() -> None:
    catalogue = tomllib.loads(CATALOGUE.read_text())
    keys = catalogue["keys"]
    for name, bands in [
        ("absence_rate_bands", ABSENCE_BANDS),
        ("merit_bands", MERIT_BANDS),
        ("experience_bands", EXPERIENCE_BANDS),
    ]:
        assert keys[name] == {"source": "list", "values": [label for label, _ in bands]}
    # the merit bands cut where merit_value's published bands do
    edges = catalogue["tables"]["student_terms"]["columns"]["merit_value"]["bands"]
    assert [edge for _, edge in MERIT_BANDS] == edges[:-1]
