"""An extract with a newer one after it (``medler ingest EXTRACT UPDATE``): the newer extract's
lesson and attendance pages are taken whole as the base extract's are, yet supersede the older
records with the same ids, drop the deleted ones and count an older version modified later
(stale), exactly as reading every record one by one does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from linkage import current_snapshot, ingest_extract, read_manifest
from linkage._snapshot import table_files
from linkage.sources.ss12000 import _ingest
from linkage.sources.synthetic import SynthConfig, generate_municipality

TABLES = ("lessons", "lesson_student_exceptions", "lesson_teacher_exceptions", "attendance")


def _page(records: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"data": records})


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The base extract, and an update of some of its lessons and registrations: changed and
    modified later, one modified *earlier* than the base's version (stale), one deleted, and
    new ones."""
    root = tmp_path_factory.mktemp("updates")
    base = generate_municipality(SynthConfig(students=200, seed=4, weeks=1), root / "x").out
    extract = base / "ss12000"
    lessons = orjson.loads(sorted((extract / "calendarEvents").glob("*.json"))[0].read_bytes())
    attendance = orjson.loads(sorted((extract / "attendances").glob("*.json"))[0].read_bytes())
    later = "2026-09-30T12:00:00+02:00"
    changed_lessons = []
    for i, lesson in enumerate(lessons["data"][:40]):
        stamp = "2026-01-01T00:00:00+01:00" if i == 0 else later  # the first: stale
        changed_lessons.append(
            {**lesson, "cancelled": True, "meta": {**lesson["meta"], "modified": stamp}}
        )
    changed_attendance = [
        {**a, "attendanceMinutes": 0, "invalidAbsenceMinutes": 50, "meta": {"modified": later}}
        for a in attendance["data"][:300]
    ]
    update = root / "update"
    for resource, records in (
        ("calendarEvents", changed_lessons),
        ("attendances", changed_attendance),
    ):
        (update / resource).mkdir(parents=True)
        (update / resource / "page-000001.json").write_bytes(_page(records))
    deleted = {"calendarEvents": [lessons["data"][50]["id"]]}
    (update / "deletedEntities").mkdir()
    (update / "deletedEntities" / "page-000001.json").write_bytes(orjson.dumps({"data": deleted}))
    return extract, update


def _contents(data: Path) -> tuple[dict[str, pl.DataFrame], dict[str, Any], list[str]]:
    snapshot = current_snapshot(data)
    manifest = read_manifest(snapshot)
    tables = {
        name: pl.concat([pl.read_parquet(p) for p in table_files(snapshot, name)])
        .drop("ingested_at")
        .sort(pl.all())
        for name in TABLES
    }
    return tables, manifest["records"], manifest.get("warnings", [])


def test_an_update_taken_whole_equals_one_read_record_by_record(
    extracts: tuple[Path, Path], session_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extract, update = extracts
    taken: list[str] = []

    def noting(handler: Any) -> Any:
        def handle(sink: Any, accepted: Any, name: str, *rest: Any) -> bool:
            done = bool(handler(sink, accepted, name, *rest))
            if done:
                taken.append(name)
            return done

        return handle

    noted = {resource: noting(handler) for resource, handler in _ingest.PREFETCHED.items()}
    monkeypatch.setattr(_ingest, "PREFETCHED", noted)
    whole = ingest_extract(extract, tmp_path / "whole", key_file=session_key, updates=[update])
    # the update's pages were taken whole (the base's, holding ids it supersedes, were not)
    assert {"update/calendarEvents/page-000001.json", "update/attendances/page-000001.json"} <= {
        *taken
    }
    monkeypatch.setattr(
        _ingest,
        "PREFETCHED",
        {resource: lambda *arguments: False for resource in _ingest.PREFETCHED},
    )
    one_by_one = ingest_extract(
        extract, tmp_path / "records", key_file=session_key, updates=[update]
    )
    fast, fast_counts, _ = _contents(tmp_path / "whole")
    slow, slow_counts, _ = _contents(tmp_path / "records")
    assert fast_counts == slow_counts
    assert whole.warnings == one_by_one.warnings
    for name in TABLES:
        assert fast[name].equals(slow[name]), name
    lessons = fast_counts["calendarEvents"]
    assert (lessons["superseded"], lessons["deleted"]) == (40, 1)
    assert fast_counts["attendances"]["superseded"] == 300
    assert any("1 records of an earlier extract were modified later" in w for w in whole.warnings)
    # the update's versions were kept
    assert fast["lessons"]["cancelled"].sum() >= 40
