"""Weekly deliveries: two weeks added onto a snapshot, one at a time, share every unchanged
file; the incremental build then recomputes September only, and every research table equals
a full rebuild of the same data, on both engines (every row; floats to 1e-12 relative)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson
import pytest

from linkage import build_research_tables, current_snapshot, ingest_extract, read_manifest
from linkage._deliveries import BULK_TABLES
from linkage._snapshot import file_sha256, table_parts
from linkage.sources.synthetic import SynthConfig
from medler.errors import InputFileError, UsageError
from tests.spark import on_spark
from tests.weekly_data import (
    Deliveries,
    assert_same_tables,
    ingest_registers,
    make_deliveries,
    research_tables,
)

# six weeks from 17 August: four in the extract (August and September), two delivered weekly
CONFIG = SynthConfig(students=200, seed=8, weeks=6, deliveries=2)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Deliveries:
    return make_deliveries(CONFIG, tmp_path_factory.mktemp("weekly"))


def _weekly(source: Deliveries, data: Path, engine: str) -> None:
    """The office's path: the extract and a build, then each week a delivery; the research
    tables are built after the first delivery, and incrementally after the second."""
    ingest_extract(source.extract, data, key_file=source.key)
    ingest_registers(source, data)
    full = build_research_tables(data, engine=engine, spark_master="local[2]", student_lessons=True)
    # a build on DuckDB runs its compiled plan, full or incremental; Spark compiles
    assert (full.compiled_plan is not None) == (engine == "duckdb")
    ingest_extract(source.extract, data, key_file=source.key, updates=[source.week5], delivery=True)
    report = build_research_tables(
        data, engine=engine, spark_master="local[2]", incremental=True, student_lessons=True
    )
    assert report.incremental is not None and report.incremental["months"] == ["2026-09"]
    assert (report.compiled_plan or "").startswith("incremental") == (engine == "duckdb")
    ingest_extract(
        source.extract,
        data,
        key_file=source.key,
        updates=[source.week5, source.week6],
        delivery=True,
    )
    report = build_research_tables(
        data, engine=engine, spark_master="local[2]", incremental=True, student_lessons=True
    )
    assert report.incremental is not None
    assert (report.incremental["months"], report.incremental["terms"]) == (["2026-09"], ["2026HT"])


def _full(source: Deliveries, data: Path, engine: str) -> None:
    """The same data ingested and built in one go."""
    ingest_extract(source.extract, data, key_file=source.key, updates=[source.week5, source.week6])
    ingest_registers(source, data)
    build_research_tables(data, engine=engine, spark_master="local[2]", student_lessons=True)


def test_an_incremental_build_equals_a_full_rebuild(source: Deliveries, tmp_path: Path) -> None:
    _weekly(source, tmp_path / "weekly", "duckdb")
    _full(source, tmp_path / "full", "duckdb")
    incremental = research_tables(tmp_path / "weekly")
    # August was not recomputed, yet is there, as the full rebuild has it
    assert incremental["student_months"]["month"].unique().sort().to_list() == [
        "2026-08",
        "2026-09",
    ]
    assert_same_tables(incremental, research_tables(tmp_path / "full"))


@on_spark
def test_an_incremental_build_equals_a_full_rebuild_on_spark(
    source: Deliveries, tmp_path: Path
) -> None:
    _weekly(source, tmp_path / "weekly", "spark")
    _full(source, tmp_path / "full", "spark")
    assert_same_tables(research_tables(tmp_path / "weekly"), research_tables(tmp_path / "full"))


def test_a_delivery_shares_every_unchanged_file(source: Deliveries, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ingest_extract(source.extract, data, key_file=source.key)
    ingest_registers(source, data)
    before = current_snapshot(data)
    report = ingest_extract(
        source.extract, data, key_file=source.key, updates=[source.week5], delivery=True
    )
    after = current_snapshot(data)
    manifest = read_manifest(after)
    delivery = manifest["delivery"]
    assert (delivery["onto"], delivery["folder"], delivery["changed"]) == (
        before.name,
        "week-05",
        [],
    )
    assert (delivery["first_day"], delivery["last_day"]) == ("2026-09-14", "2026-09-18")
    assert report.delivery == delivery
    old = read_manifest(before)["tables"]
    for name, entry in manifest["tables"].items():
        if name == "quarantine":  # written anew: the earlier weeks' entries and the week's
            assert entry["rows"] >= old[name]["rows"]
            continue
        parts = table_parts(entry)
        earlier = {p["file"] for p in table_parts(old[name])}
        shared = [p for p in parts if p["file"] in earlier]
        if name in ("lessons", "attendance", "absence_notices"):
            assert len(parts) == 2 and len(shared) == 1, name  # the earlier part and the week's
        elif name in BULK_TABLES:  # a week may hold no lesson exception: then no new part
            assert len(shared) == 1 and len(parts) in (1, 2), name
        else:
            assert len(parts) == 1 and len(shared) == 1, name
        for part in shared:  # the same file, not a copy
            assert os.path.samefile(after / part["file"], before / part["file"]), name
        assert sum(p["rows"] for p in parts) == entry["rows"]
    # every record read is accounted for, and the counts are those of the snapshot's rows
    for name, c in manifest["records"].items():
        assert c["read"] == c["accepted"] + c["quarantined"] + c["superseded"] + c["deleted"], name
    assert (
        manifest["records"]["calendarEvents"]["accepted"] == manifest["tables"]["lessons"]["rows"]
    )
    attendance = manifest["tables"]["attendance"]["rows"]
    assert manifest["records"]["attendances"]["accepted"] == attendance
    # the registers were kept
    assert manifest["tables"]["teacher_register"]["rows"] > 0
    assert set(manifest["registers"]) == {"teachers", "students"}


def test_a_kept_snapshot_keeps_its_shared_files_when_the_earlier_one_is_deleted(
    source: Deliveries, tmp_path: Path
) -> None:
    """Deleting a snapshot (as retention does: rename, then remove) frees only what no other
    snapshot shares: the delivery's snapshot stays whole and builds."""
    data = tmp_path / "data"
    ingest_extract(source.extract, data, key_file=source.key)
    ingest_registers(source, data)
    earlier = current_snapshot(data)
    ingest_extract(source.extract, data, key_file=source.key, updates=[source.week5], delivery=True)
    kept = current_snapshot(data)
    trash = earlier.with_name(f".trash-1-{earlier.name}")
    os.replace(earlier, trash)
    shutil.rmtree(trash)
    for entry in read_manifest(kept)["tables"].values():
        for part in table_parts(entry):
            assert file_sha256(kept / part["file"]) == part["sha256"]
    report = build_research_tables(data)
    assert report.rows["student_months"] > 0


def _page(folder: Path, resource: str) -> dict[str, object]:
    return dict(orjson.loads(next((folder / resource).glob("*.json")).read_bytes()))


def test_a_delivery_that_overlaps_the_weeks_held_is_refused(
    source: Deliveries, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    ingest_extract(source.extract, data, key_file=source.key)
    overlap = tmp_path / "week-99"
    for resource in ("calendarEvents", "attendances", "absences"):
        (overlap / resource).mkdir(parents=True)
        shutil.copy(next((source.extract / resource).glob("*.json")), overlap / resource)
    before = current_snapshot(data)
    with pytest.raises(
        InputFileError,
        match=r"week-99 holds lessons from 2026-08-17, on or "
        r"before 2026-09-11, the last day already ingested: the weeks overlap",
    ):
        ingest_extract(source.extract, data, key_file=source.key, updates=[overlap], delivery=True)
    assert current_snapshot(data) == before


def test_a_delivery_for_another_source_or_out_of_order_is_refused(
    source: Deliveries, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    ingest_extract(source.extract, data, key_file=source.key)
    with pytest.raises(InputFileError, match="is a delivery for the source 'elsewhere'"):
        ingest_extract(
            source.extract,
            data,
            key_file=source.key,
            updates=[source.week5],
            delivery=True,
            source_name="elsewhere",
        )
    with pytest.raises(InputFileError, match=r"holds the deliveries none, but \['week-05'\]"):
        ingest_extract(
            source.extract,
            data,
            key_file=source.key,
            updates=[source.week5, source.week6],
            delivery=True,
        )
    with pytest.raises(UsageError, match="--delivery needs the new delivery's folder"):
        ingest_extract(source.extract, data, key_file=source.key, delivery=True)
    with pytest.raises(InputFileError, match="has no snapshot to add the delivery onto"):
        ingest_extract(
            source.extract,
            tmp_path / "empty",
            key_file=source.key,
            updates=[source.week5],
            delivery=True,
        )


def test_an_incremental_build_after_a_register_is_a_full_one_and_says_why(
    source: Deliveries, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    ingest_extract(source.extract, data, key_file=source.key)
    first = build_research_tables(data, incremental=True)
    assert first.incremental == {"full": "there is no research snapshot to add to yet"}
    ingest_registers(source, data)
    report = build_research_tables(data, incremental=True)
    assert report.incremental is not None
    assert "is not a weekly delivery onto the snapshot" in str(report.incremental["full"])
