"""The synthetic municipality, ingested: everything accounted for, dirt where it belongs."""

from __future__ import annotations

import json

import polars as pl
import pytest

from linkage import read_manifest
from linkage._snapshot import file_sha256
from tests.unit.linkage.ingest.conftest import Ingested


def test_every_record_is_accepted_or_quarantined(ingested: Ingested) -> None:
    layout = ingested.extract.truth["layout"]["ss12000"]
    for resource, count in ingested.report.counts.items():
        expected = layout.get(resource, {"records": 0, "pages": 0})  # synth makes no grades
        assert count.read == expected["records"], resource
        assert count.read == count.accepted + count.quarantined, resource
        assert count.pages == expected["pages"], resource


def test_canonical_tables_hold_what_was_generated(ingested: Ingested) -> None:
    counts = ingested.extract.truth["counts"]
    snap = ingested.snapshot
    rows = {name: entry["rows"] for name, entry in read_manifest(snap)["tables"].items()}
    assert rows["students"] == counts["pupils"]
    assert rows["lessons"] == counts["lessons"]
    assert rows["attendance"] == counts["attendance_records"]
    assert rows["absence_notices"] == counts["absence_notices"]
    assert rows["schools"] == counts["schools"]
    assert (
        rows["staff"] == counts["teachers"] + counts["substitute_teachers"] + counts["principals"]
    )
    assert rows["lesson_student_exceptions"] == counts["pupil_exception_entries"]
    assert rows["lesson_teacher_exceptions"] == counts["teacher_exception_entries"]
    for name, count in rows.items():
        assert pl.scan_parquet(snap / f"{name}.parquet").select(pl.len()).collect().item() == count


def test_absence_figures_survive_ingestion(ingested: Ingested) -> None:
    figures = ingested.extract.truth["figures"]
    att = pl.read_parquet(ingested.snapshot / "attendance.parquet").filter(pl.col("reported"))
    absent = att["valid_absence_minutes"].sum() + att["invalid_absence_minutes"].sum()
    offered = att["present_minutes"].sum() + att["other_minutes"].sum() + absent
    assert absent / offered == pytest.approx(figures["absence_rate_over_reported"], abs=1e-6)


def test_planted_identity_dirt_is_recorded_with_its_reason(ingested: Ingested) -> None:
    kinds = ingested.extract.truth["counts"]["identity_numbers"]
    q = pl.read_parquet(ingested.snapshot / "quarantine.parquet")
    people = q.filter(pl.col("resource") == "persons")
    reasons = people.group_by("reason").len().sort("reason")
    assert dict(reasons.iter_rows()) == {
        "national ID: check-digit": kinds["wrong_check_digit"],
        "national ID: interim-not-allowed": kinds["interim"],
        "national ID: missing": kinds["missing"],
    }
    # Under the default policy these pupils are kept, with a negative source-local pseudonym.
    assert set(people["outcome"]) == {"kept-local"}
    students = pl.read_parquet(ingested.snapshot / "students.parquet")
    local = students.filter(pl.col("id_status") == "local")
    assert local.height == people.height
    assert (local["student_pid"] < 0).all()
    assert (students.filter(pl.col("id_status") == "linked")["student_pid"] >= 0).all()
    # Shapes are redacted: digits become 9, letters A.
    assert set("".join(people["shape"].to_list())) <= set("9A-null")


def test_the_manifest_records_sources_hashes_and_key_id_only(ingested: Ingested) -> None:
    manifest = read_manifest(ingested.snapshot)
    key = json.loads(ingested.key_file.read_text(encoding="utf-8"))
    assert manifest["key"]["key_id"] == key["key_id"]
    assert key["key"] not in json.dumps(manifest)
    extract = ingested.extract.out / "ss12000"
    files = sorted(p for p in extract.rglob("*.json"))
    assert sorted(manifest["source"]["files"]) == [p.relative_to(extract).as_posix() for p in files]
    for name, entry in manifest["tables"].items():
        assert file_sha256(ingested.snapshot / entry["file"]) == entry["sha256"], name
    assert manifest["records"]["attendances"]["read"] == ingested.report.counts["attendances"].read


def test_reingesting_the_same_extract_gives_the_same_content(ingested: Ingested, tmp_path) -> None:
    from linkage import current_snapshot, ingest_extract

    again = tmp_path / "again"
    ingest_extract(ingested.extract.out / "ss12000", again, key_file=ingested.key_file)
    first, second = read_manifest(ingested.snapshot), read_manifest(current_snapshot(again))
    for name in ("students", "lessons", "attendance", "group_memberships", "activity_teachers"):
        a = pl.read_parquet(ingested.snapshot / f"{name}.parquet").drop("ingested_at")
        b = pl.read_parquet(current_snapshot(again) / f"{name}.parquet").drop("ingested_at")
        assert a.equals(b), name
        assert first["tables"][name]["rows"] == second["tables"][name]["rows"]


def test_the_column_wise_paths_equal_the_record_path(
    ingested: Ingested, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lesson and attendance pages are taken whole when they are clean; record by record gives
    the same tables."""
    from linkage import current_snapshot, ingest_extract
    from linkage.sources.ss12000 import _ingest

    whole = {resource: lambda *arguments: False for resource in _ingest.PREFETCHED}
    monkeypatch.setattr(_ingest, "PREFETCHED", whole)
    slow = tmp_path / "slow"
    ingest_extract(ingested.extract.out / "ss12000", slow, key_file=ingested.key_file)
    for name in (
        "lessons",
        "lesson_student_exceptions",
        "lesson_teacher_exceptions",
        "attendance",
        "quarantine",
    ):
        a = pl.read_parquet(ingested.snapshot / f"{name}.parquet").drop("ingested_at", strict=False)
        b = pl.read_parquet(current_snapshot(slow) / f"{name}.parquet").drop(
            "ingested_at", strict=False
        )
        assert a.height > 0, name
        assert a.equals(b), name
    attendance = pl.read_parquet(ingested.snapshot / "attendance.parquet")
    assert attendance.height == ingested.extract.truth["counts"]["attendance_records"]
