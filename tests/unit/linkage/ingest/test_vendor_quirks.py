"""SS 12000 exports as real vendors write them, on a small hand-made extract: teacher links given
by person (lost loudly, or mapped under --compat), a missing resource, a byte-order mark in
JSON, and guardians (read, not stored, not counted as people kept). Counts always add up."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from linkage import build_research_tables, current_snapshot, ingest_extract, read_manifest
from linkage.sources._compat import ACTIVITY_TEACHERS_AS_PERSON
from medler.errors import InputFileError, UsageError

PUPIL_PIN = "189001019802"  # Skatteverket's reserved test number: valid, and nobody's
SCHOOL = "0a0b0c0d-0000-4000-8000-000000000001"
OTHER_SCHOOL = "0a0b0c0d-0000-4000-8000-00000000000b"
PUPIL, TEACHER, GUARDIAN = "p-pupil", "p-teacher", "p-guardian"


def _extract() -> dict[str, list[dict[str, Any]]]:
    """One school, a pupil, a teacher (no civic number), a guardian, a group, an activity whose
    teacher is a duty, two lessons with a registration each, and an absence notice."""
    ref = lambda rid: {"id": rid}  # noqa: E731
    lesson = lambda rid, day: {  # noqa: E731
        "id": rid,
        "activity": ref("a-ma"),
        "startTime": f"2026-09-{day}T08:00:00+02:00",
        "endTime": f"2026-09-{day}T09:00:00+02:00",
    }
    attendance = lambda rid, event: {  # noqa: E731
        "id": rid,
        "calendarEvent": ref(event),
        "student": ref(PUPIL),
        "isReported": True,
        "attendanceMinutes": 60,
        "validAbsenceMinutes": 0,
        "invalidAbsenceMinutes": 0,
    }
    return {
        "organisations": [
            {"id": SCHOOL, "organisationType": "Skolenhet", "schoolUnitCode": "12345678"},
            {"id": OTHER_SCHOOL, "organisationType": "Skolenhet", "schoolUnitCode": "87654321"},
        ],
        "persons": [
            {
                "id": PUPIL,
                "civicNo": {"value": PUPIL_PIN},
                "birthDate": "1890-01-01",
                "enrolments": [{"enroledAt": ref(SCHOOL), "schoolYear": 7, "schoolType": "GR"}],
            },
            {"id": TEACHER, "birthDate": "1980-05-05"},
            {"id": GUARDIAN, "birthDate": "1975-03-03"},
        ],
        "duties": [
            {"id": "d-1", "person": ref(TEACHER), "dutyAt": ref(SCHOOL), "dutyRole": "Lärare"}
        ],
        "groups": [
            {
                "id": "g-7a",
                "organisation": ref(SCHOOL),
                "groupType": "Undervisning",
                "groupMemberships": [{"person": ref(PUPIL)}],
            }
        ],
        "syllabuses": [{"id": "s-ma", "subjectName": "Matematik", "subjectCode": "MA"}],
        "activities": [
            {
                "id": "a-ma",
                "organisation": ref(SCHOOL),
                "syllabus": ref("s-ma"),
                "groups": [ref("g-7a")],
                "teachers": [{"duty": ref("d-1")}],
            }
        ],
        "calendarEvents": [lesson("l-1", "07"), lesson("l-2", "08")],
        "attendances": [attendance("at-1", "l-1"), attendance("at-2", "l-2")],
        "absences": [
            {
                "id": "ab-1",
                "student": ref(PUPIL),
                "type": "Anmäld",
                "startTime": "2026-09-09T08:00:00+02:00",
                "endTime": "2026-09-09T16:00:00+02:00",
            }
        ],
    }


def _write(root: Path, extract: dict[str, list[dict[str, Any]]], *, bom: bool = False) -> Path:
    for resource, records in extract.items():
        folder = root / resource
        folder.mkdir(parents=True, exist_ok=True)
        page = orjson.dumps({"data": records, "pageToken": None})
        (folder / "page-000001.json").write_bytes((b"\xef\xbb\xbf" if bom else b"") + page)
    return root


def _by_person(extract: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The vendor's shape: an activity's teacher named by person, not by duty."""
    changed = copy.deepcopy(extract)
    changed["activities"][0]["teachers"] = [{"person": {"id": TEACHER}}]
    return changed


def _counts_add_up(data: Path) -> dict[str, Any]:
    manifest = read_manifest(current_snapshot(data))
    for name, c in manifest["records"].items():
        assert c["read"] == c["accepted"] + c["quarantined"] + c["superseded"] + c["deleted"], name
    return manifest


def _rows(data: Path, table: str) -> int:
    return pl.read_parquet(current_snapshot(data) / f"{table}.parquet").height


def test_the_standard_shape_builds_lesson_level_links(tmp_path: Path, session_key: Path) -> None:
    source = _write(tmp_path / "extract", _extract())
    report = ingest_extract(source, tmp_path / "data", key_file=session_key, source_name="v")
    assert report.alerts == []
    _counts_add_up(tmp_path / "data")
    assert _rows(tmp_path / "data", "activity_teachers") == 1


def test_teachers_given_by_person_are_lost_loudly(tmp_path: Path, session_key: Path) -> None:
    source = _write(tmp_path / "extract", _by_person(_extract()))
    report = ingest_extract(source, tmp_path / "data", key_file=session_key, source_name="v")
    manifest = _counts_add_up(tmp_path / "data")
    assert _rows(tmp_path / "data", "activity_teachers") == 0
    assert (
        report.alerts
        == manifest["alerts"]
        == [
            "no activity has a teacher (activity_teachers is empty, activities has 1 rows): "
            "exposure, student_teachers and teacher_terms will be empty; 1 entries of "
            "activities.teachers were set aside, most as 'teachers[].duty: missing: the link names "
            "a person, not a duty (if the source always does, ingest with --compat "
            "activity-teachers-as-person)' (see the quarantine table)"
        ]
    )
    quarantine = pl.read_parquet(current_snapshot(tmp_path / "data") / "quarantine.parquet")
    assert quarantine.filter(pl.col("resource") == "activities.teachers").select(
        "source_file", "position", "field"
    ).rows() == [("activities/page-000001.json", 1, "teachers[0].duty")]


def test_strict_refuses_an_ingest_that_lost_a_relation(tmp_path: Path, session_key: Path) -> None:
    good = _write(tmp_path / "good", _extract())
    ingest_extract(good, tmp_path / "data", key_file=session_key, source_name="v", strict=True)
    before = (tmp_path / "data" / "CURRENT").read_text(encoding="utf-8")
    source = _write(tmp_path / "extract", _by_person(_extract()))
    with pytest.raises(InputFileError) as caught:
        ingest_extract(source, tmp_path / "data", key_file=session_key, strict=True)
    message = str(caught.value)
    assert message.startswith(
        f"--strict: {source} was not ingested, because no activity has a teacher"
    )
    assert message.endswith(
        "Nothing was written; the snapshot in use is unchanged. Correct the extract (or name "
        "the vendor's quirk with --compat), or ingest without --strict"
    )
    assert (tmp_path / "data" / "CURRENT").read_text(encoding="utf-8") == before


def test_the_compat_switch_maps_a_person_to_their_duty(tmp_path: Path, session_key: Path) -> None:
    source = _write(tmp_path / "extract", _by_person(_extract()))
    data = tmp_path / "data"
    report = ingest_extract(
        source,
        data,
        key_file=session_key,
        source_name="v",
        strict=True,
        compat=[ACTIVITY_TEACHERS_AS_PERSON],
    )
    manifest = _counts_add_up(data)
    assert report.alerts == []
    assert manifest["compat"] == [ACTIVITY_TEACHERS_AS_PERSON]
    assert (
        "--compat activity-teachers-as-person: 1 teacher links of activities named a person, "
        "not a duty, and were read as the person's duty"
    ) in report.warnings
    teachers = pl.read_parquet(current_snapshot(data) / "activity_teachers.parquet")
    staff = pl.read_parquet(current_snapshot(data) / "staff.parquet")
    assert teachers["duty_pid"].to_list() == staff["duty_pid"].to_list()
    # the same links as the standard shape gives: the research tables are no longer empty
    built = build_research_tables(data)
    assert built.rows["exposure"] == 1
    assert built.rows["student_teachers"] == 1
    assert built.rows["teacher_terms"] == 1


def test_the_compat_switch_refuses_what_it_cannot_map(tmp_path: Path, session_key: Path) -> None:
    extract = _by_person(_extract())
    # a second duty at another school, and a link naming the pupil
    extract["duties"].append(
        {
            "id": "d-2",
            "person": {"id": TEACHER},
            "dutyAt": {"id": OTHER_SCHOOL},
            "dutyRole": "Lärare",
        }
    )
    extract["activities"][0]["teachers"].append({"person": {"id": PUPIL}})
    extract["activities"].append(
        {
            **extract["activities"][0],
            "id": "a-other",
            "organisation": {"id": "0a0b0c0d-0000-4000-8000-00000000000c"},
        }
    )
    source = _write(tmp_path / "extract", extract)
    ingest_extract(
        source,
        tmp_path / "data",
        key_file=session_key,
        source_name="v",
        compat=[ACTIVITY_TEACHERS_AS_PERSON],
    )
    _counts_add_up(tmp_path / "data")
    quarantine = pl.read_parquet(current_snapshot(tmp_path / "data") / "quarantine.parquet")
    assert quarantine.filter(pl.col("resource").str.starts_with("activities")).select(
        "resource", "position", "field", "reason"
    ).rows() == [
        ("activities.teachers", 1, "teachers[1].person", "a pupil, not staff"),
        ("activities", 2, "organisation", "unknown organisation"),
    ]
    # the duty at the activity's school is chosen among the teacher's two
    assert _rows(tmp_path / "data", "activity_teachers") == 1


def test_an_unknown_compat_switch_is_named(tmp_path: Path, session_key: Path) -> None:
    source = _write(tmp_path / "extract", _extract())
    with pytest.raises(UsageError) as caught:
        ingest_extract(source, tmp_path / "data", key_file=session_key, compat=["teachers"])
    assert str(caught.value) == (
        "--compat teachers is not a known quirk; the known ones are: activity-teachers-as-person"
    )


def test_a_missing_resource_is_an_alert(tmp_path: Path, session_key: Path) -> None:
    extract = _extract()
    del extract["attendances"]
    source = _write(tmp_path / "extract", extract)
    report = ingest_extract(source, tmp_path / "data", key_file=session_key)
    assert report.alerts[0] == "the extract has no 'attendances' resource"
    with pytest.raises(InputFileError, match="because the extract has no 'attendances' resource"):
        ingest_extract(source, tmp_path / "data", key_file=session_key, strict=True)


def test_a_byte_order_mark_is_skipped_in_json(tmp_path: Path, session_key: Path) -> None:
    source = _write(tmp_path / "extract", _extract(), bom=True)
    report = ingest_extract(source, tmp_path / "data", key_file=session_key)
    assert report.alerts == []
    assert {n: c.accepted for n, c in report.counts.items() if c.read} == {
        "organisations": 2,
        "persons": 3,
        "duties": 1,
        "groups": 1,
        "syllabuses": 1,
        "activities": 1,
        "calendarEvents": 2,
        "attendances": 2,
        "absences": 1,
    }


def test_guardians_are_not_counted_as_people_kept(tmp_path: Path, session_key: Path) -> None:
    """The teacher and the guardian have no civic number; only the teacher is stored (a duty),
    so only the teacher is a person kept with a source-local pseudonym."""
    source = _write(tmp_path / "extract", _extract())
    report = ingest_extract(source, tmp_path / "data", key_file=session_key)
    assert report.kept_local == 1
    quarantine = pl.read_parquet(current_snapshot(tmp_path / "data") / "quarantine.parquet")
    kept = quarantine.filter(pl.col("outcome") == "kept-local")
    assert kept.select("resource", "position", "field").rows() == [("persons", 2, "civicNo")]
    assert (
        "1 persons have neither an enrolment nor a duty (guardians, for instance): they are not "
        "data subjects of the research tables and are not stored"
    ) in report.warnings
    assert _rows(tmp_path / "data", "staff") == 1
    assert _rows(tmp_path / "data", "students") == 1
