"""Grades and aggregated attendance: checked, pseudonymised, quarantined with reasons."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from linkage import current_snapshot, ingest_extract
from linkage.sources.synthetic import SynthConfig, generate_municipality
from tests.unit.linkage.ingest.conftest import Ingested


def _records(extract: Path, resource: str) -> list[dict[str, Any]]:
    return [
        r
        for p in sorted((extract / resource).glob("*.json"))
        for r in orjson.loads(p.read_bytes())["data"]
    ]


def _write(extract: Path, resource: str, data: list[dict[str, Any]]) -> None:
    (extract / resource).mkdir()
    page = {"data": data, "pageToken": None}
    (extract / resource / "page-000001.json").write_bytes(orjson.dumps(page))


def test_grades_and_aggregated_attendance(ingested: Ingested, tmp_path: Path) -> None:
    made = generate_municipality(SynthConfig(students=120, seed=9, weeks=1), tmp_path / "synth")
    extract = tmp_path / "extract"
    shutil.copytree(made.out / "ss12000", extract)
    pupil = next(p for p in _records(extract, "persons") if p.get("enrolments"))
    school = pupil["enrolments"][0]["enroledAt"]["id"]
    syllabus = _records(extract, "syllabuses")[0]["id"]
    activity = _records(extract, "activities")[0]["id"]
    teacher = _records(extract, "duties")[0]["person"]["id"]
    meta = {"created": "2027-06-10T10:00:00+02:00", "modified": "2027-06-10T10:00:00+02:00"}
    grade = {
        "id": "7e0d0000-0000-4000-8000-000000000001",
        "meta": meta,
        "student": {"id": pupil["id"]},
        "organisation": {"id": school},
        "syllabus": {"id": syllabus},
        "gradingTeacher": {"id": teacher},
        "registeredBy": {"id": teacher},
        "registeredDate": "2027-06-10",
        "gradeValue": "B",
        "finalGrade": True,
        "adaptedStudyPlan": "fri text",
        "remark": "fri text",
        "semester": "VT",
        "year": 2027,
    }
    _write(
        extract,
        "grades",
        [
            grade,
            {**grade, "id": "7e0d0000-0000-4000-8000-000000000002", "gradeValue": "Bra"},
            {
                **grade,
                "id": "7e0d0000-0000-4000-8000-000000000003",
                "student": {"id": "7e0d0000-0000-4000-8000-0000000000ff"},
            },
        ],
    )
    aggregate = {
        "activity": {"id": activity},
        "student": {"id": pupil["id"]},
        "startDate": "2026-08-17",
        "endDate": "2026-08-21",
        "attendanceSum": 250,
        "validAbsenceSum": 50,
        "invalidAbsenceSum": 0,
        "otherAttendanceSum": 0,
        "reportedSum": 300,
        "offeredSum": 300,
    }
    _write(
        extract,
        "aggregatedAttendance",
        [
            aggregate,
            {**aggregate, "endDate": "2026-08-01"},
            {**aggregate, "activity": {"id": "7e0d0000-0000-4000-8000-0000000000ee"}},
            {k: v for k, v in aggregate.items() if k != "attendanceSum"},
        ],
    )
    report = ingest_extract(extract, tmp_path / "data", key_file=ingested.key_file)
    g, a = report.counts["grades"], report.counts["aggregatedAttendance"]
    assert (g.read, g.accepted, g.quarantined) == (3, 1, 2)
    assert (a.read, a.accepted, a.quarantined) == (4, 1, 3)
    snap = current_snapshot(tmp_path / "data")
    grades = pl.read_parquet(snap / "grades.parquet")
    assert grades.select("grade", "final_grade", "semester", "year").row(0) == (
        "B",
        True,
        "VT",
        2027,
    )
    assert grades["grading_teacher_pid"][0] is not None and grades["syllabus_pid"][0] is not None
    assert "fri text" not in str(grades.to_dicts())
    sums = pl.read_parquet(snap / "aggregated_attendance.parquet")
    assert sums.select("present_minutes", "valid_absence_minutes", "offered_minutes").row(0) == (
        250,
        50,
        300,
    )
    q = pl.read_parquet(snap / "quarantine.parquet").filter(
        pl.col("resource").is_in(["grades", "aggregatedAttendance"])
    )
    assert sorted(zip(q["resource"], q["position"], q["field"], q["reason"], strict=True)) == [
        ("aggregatedAttendance", 2, "endDate", "before startDate"),
        ("aggregatedAttendance", 3, "activity", "unknown activity"),
        ("aggregatedAttendance", 4, "attendanceSum", "missing"),
        ("grades", 2, "gradeValue", "not a grade of the Swedish grading scales"),
        ("grades", 3, "student", "unknown pupil"),
    ]
    assert not any("grades" in w or "aggregated" in w for w in report.warnings)
