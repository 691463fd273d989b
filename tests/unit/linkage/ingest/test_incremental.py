"""Incremental SS 12000 extracts: a later version supersedes, deletedEntities deletes, and every
record is still accounted for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from linkage import current_snapshot, ingest_extract, read_manifest
from tests.unit.linkage.ingest.conftest import Ingested

LATER = {"created": "2026-06-01T10:00:00+02:00", "modified": "2026-09-30T18:00:00+02:00"}


def _first(extract: Path, resource: str, where: Any = None) -> dict[str, Any]:
    for page in sorted((extract / resource).glob("*.json")):
        for record in orjson.loads(page.read_bytes())["data"]:
            if where is None or where(record):
                return dict(record)
    raise AssertionError(f"no {resource} record found")


def _write(folder: Path, resource: str, data: Any) -> None:
    (folder / resource).mkdir(parents=True, exist_ok=True)
    page = {"data": data, "pageToken": None}
    (folder / resource / "page-000001.json").write_bytes(orjson.dumps(page))


@pytest.fixture
def update(ingested: Ingested, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """An incremental extract: one pupil and one attendance record changed, one attendance record
    and one absence notice deleted, one new absence notice."""
    base = ingested.extract.out / "ss12000"
    pupil = _first(base, "persons", lambda r: r.get("enrolments") and r.get("sex") == "Kvinna")
    pupil = {**pupil, "sex": "Man", "meta": LATER}
    changed = _first(base, "attendances", lambda r: r["isReported"])
    changed = {
        **changed,
        "meta": LATER,
        "attendanceMinutes": 0,
        "otherAttendanceMinutes": 0,
        "validAbsenceMinutes": 0,
        "invalidAbsenceMinutes": 55,
    }
    gone = _first(base, "attendances", lambda r: r["id"] != changed["id"])
    absence = _first(base, "absences")
    new_absence = {**absence, "id": "6d1c0a7e-1111-4a11-8a11-000000000001", "meta": LATER}
    folder = tmp_path / "update-1"
    _write(folder, "persons", [pupil])
    _write(folder, "attendances", [changed])
    _write(folder, "absences", [new_absence])
    (folder / "deletedEntities").mkdir()
    deletions = {"data": {"attendances": [gone["id"]], "absences": [absence["id"]]}}
    (folder / "deletedEntities" / "page-000001.json").write_bytes(orjson.dumps(deletions))
    return folder, {"changed": changed}


def test_updates_supersede_and_delete(ingested: Ingested, update, tmp_path: Path) -> None:
    folder, _ = update
    data = tmp_path / "data"
    report = ingest_extract(
        ingested.extract.out / "ss12000", data, key_file=ingested.key_file, updates=[folder]
    )
    for resource, c in report.counts.items():
        assert c.read == c.accepted + c.quarantined + c.superseded + c.deleted, resource
    c = report.counts
    assert (c["persons"].superseded, c["attendances"].superseded) == (1, 1)
    assert (c["attendances"].deleted, c["absences"].deleted) == (1, 1)
    snap = current_snapshot(data)
    truth = ingested.extract.truth["counts"]
    attendance = pl.read_parquet(snap / "attendance.parquet")
    assert attendance.height == truth["attendance_records"] - 1
    assert attendance.filter(pl.col("invalid_absence_minutes") == 55).height >= 1
    assert pl.read_parquet(snap / "absence_notices.parquet").height == truth["absence_notices"]
    base_students = pl.read_parquet(ingested.snapshot / "students.parquet")
    students = pl.read_parquet(snap / "students.parquet")
    assert students.height == base_students.height
    assert (students["sex"] == "Man").sum() == (base_students["sex"] == "Man").sum() + 1
    files = read_manifest(snap)["source"]["files"]
    assert "update-1/deletedEntities/page-000001.json" in files
    assert "ss12000/persons/page-000001.json" in files


def test_an_older_version_that_is_newer_is_kept_out_and_reported(
    ingested: Ingested, update, tmp_path: Path
) -> None:
    folder, _ = update
    stale = {
        **_first(folder, "persons"),
        "meta": {"created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z"},
    }
    _write(folder, "persons", [stale])
    report = ingest_extract(
        ingested.extract.out / "ss12000",
        tmp_path / "data",
        key_file=ingested.key_file,
        updates=[folder],
    )
    assert report.warnings[-1] == (
        "1 records of an earlier extract were modified later (meta.modified) than the version "
        "kept from a later extract; the later extract's version was kept"
    )


def test_an_update_that_is_no_extract_is_refused(ingested: Ingested, tmp_path: Path) -> None:
    from medler.errors import InputFileError

    with pytest.raises(
        InputFileError,
        match="is not an SS 12000 extract; the folders after the first are incremental",
    ):
        ingest_extract(
            ingested.extract.out / "ss12000",
            tmp_path / "data",
            key_file=ingested.key_file,
            updates=[tmp_path],
        )


def test_the_same_lesson_and_pupil_twice_keeps_the_latest_registration(
    ingested: Ingested, tmp_path: Path
) -> None:
    """Within one extract: a second attendance record of a (lesson, pupil) pair, registered
    later, replaces the first, which is quarantined with its file and position."""
    import shutil

    extract = tmp_path / "extract"
    shutil.copytree(ingested.extract.out / "ss12000", extract)
    original = _first(extract, "attendances", lambda r: r["isReported"])
    again = {
        **original,
        "id": "6d1c0a7e-2222-4a22-8a22-000000000002",
        "reportedTimestamp": "2026-12-01T12:00:00+01:00",
        "attendanceMinutes": 0,
        "otherAttendanceMinutes": 0,
        "validAbsenceMinutes": 0,
        "invalidAbsenceMinutes": 45,
    }
    _write(extract / "more", "attendances", [again])
    for page in sorted((extract / "more" / "attendances").glob("*.json")):
        page.rename(extract / "attendances" / "page-999999.json")
    report = ingest_extract(extract, tmp_path / "data", key_file=ingested.key_file)
    count = report.counts["attendances"]
    truth = ingested.extract.truth["counts"]
    assert (count.read, count.accepted, count.quarantined) == (
        truth["attendance_records"] + 1,
        truth["attendance_records"],
        1,
    )
    snap = current_snapshot(tmp_path / "data")
    q = pl.read_parquet(snap / "quarantine.parquet").filter(pl.col("resource") == "attendances")
    assert q.select("field", "reason").row(0) == (
        "(calendarEvent, student)",
        "the same lesson and pupil again (the latest registration is kept)",
    )
    assert q["source_file"][0].startswith("attendances/page-0000")  # the earlier one went
    attendance = pl.read_parquet(snap / "attendance.parquet")
    assert attendance.height == truth["attendance_records"]
    assert attendance.filter(pl.col("invalid_absence_minutes") == 45).height >= 1
