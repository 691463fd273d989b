"""Pages parsed by worker processes give the very snapshot one process gives: the same canonical
tables row for row, the same manifest counts and the same quarantine, bad records included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from linkage import current_snapshot, ingest_extract, read_manifest
from linkage._snapshot import file_sha256, table_files
from linkage.sources.ss12000 import _parallel
from linkage.sources.synthetic import SynthConfig, generate_municipality


def spoil(extract: Path) -> None:
    """Bad records planted in a clean extract: each must be quarantined with its field."""

    def edit(resource: str, page: int, change: Any) -> None:
        path = sorted((extract / resource).glob("*.json"))[page]
        document = orjson.loads(path.read_bytes())
        change(document["data"])
        path.write_bytes(orjson.dumps(document))

    def split(resource: str, parts: int) -> None:
        """Each page of ``resource`` as ``parts`` pages, in the same order."""
        pages = sorted((extract / resource).glob("*.json"))
        records = [r for path in pages for r in orjson.loads(path.read_bytes())["data"]]
        for path in pages:
            path.unlink()
        size = -(-len(records) // parts)
        for part in range(parts):
            page = {"data": records[part * size : (part + 1) * size]}
            (extract / resource / f"page-{part + 1:06d}.json").write_bytes(orjson.dumps(page))

    def attendance(records: list[dict[str, Any]]) -> None:
        records[0]["attendanceMinutes"] = -5  # below 0
        records[1]["student"] = {"id": "no-such-pupil"}  # unknown pupil
        records[2]["isReported"] = "yes"  # not true or false
        records[3]["calendarEvent"] = {"id": "no-such-lesson"}  # unknown lesson
        records[4]["attendanceMinutes"] = 5.0  # not a whole number
        records.append(dict(records[5]))  # the same lesson and pupil again

    def lessons(records: list[dict[str, Any]]) -> None:
        records[0]["endTime"] = records[0]["startTime"]  # not after startTime
        records[1]["activity"] = "x"  # not a reference object

    def persons(records: list[dict[str, Any]]) -> None:
        records[0]["birthDate"] = "someday"

    split("attendances", 5)  # pages enough to spread over the workers
    split("calendarEvents", 3)
    edit("attendances", 1, attendance)
    edit("attendances", 3, lambda records: records.insert(0, 7))  # not a JSON object
    edit("calendarEvents", 1, lessons)
    edit("persons", 0, persons)


def contents(data_dir: Path) -> dict[str, Any]:
    """Every table's rows (without the ingest time) and the manifest's counts."""
    snapshot = current_snapshot(data_dir)
    manifest = read_manifest(snapshot)
    tables = {
        name: pl.concat([pl.read_parquet(p) for p in table_files(snapshot, name)]).drop(
            "ingested_at", strict=False
        )
        for name in manifest["tables"]
    }
    return {"tables": tables, "records": manifest["records"], "files": manifest["source"]["files"]}


@pytest.fixture(scope="module")
def spoilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("parallel")
    extract = generate_municipality(SynthConfig(students=300, seed=5, weeks=1), root / "extract")
    spoil(extract.out / "ss12000")
    return extract.out / "ss12000"


def test_workers_and_one_process_give_the_same_snapshot(
    spoilt: Path, session_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_parallel, "WORKERS", 1)
    ingest_extract(spoilt, tmp_path / "serial", key_file=session_key)
    monkeypatch.setattr(_parallel, "WORKERS", 2)
    ingest_extract(spoilt, tmp_path / "parallel", key_file=session_key)
    serial, parallel = contents(tmp_path / "serial"), contents(tmp_path / "parallel")
    assert serial["records"] == parallel["records"]
    assert serial["files"] == parallel["files"]
    # every source file's hash, whether a worker took it as it read the page or not
    assert serial["files"] == {
        path.relative_to(spoilt).as_posix(): file_sha256(path) for path in spoilt.rglob("*.json")
    }
    assert serial["tables"].keys() == parallel["tables"].keys()
    for name, table in serial["tables"].items():
        assert table.equals(parallel["tables"][name]), name
    # the planted records are there, each with its file, position and field
    quarantine = serial["tables"]["quarantine"]
    fields = set(quarantine.select("resource", "field").iter_rows())
    assert {
        ("attendances", "attendanceMinutes"),
        ("attendances", "student"),
        ("attendances", "isReported"),
        ("attendances", "calendarEvent"),
        ("attendances", "(record)"),
        ("attendances", "(calendarEvent, student)"),
        ("calendarEvents", "endTime"),
        ("calendarEvents", "activity"),
        ("persons", "birthDate"),
    } <= fields
    counts = serial["records"]
    for resource, count in counts.items():
        assert count["read"] == count["accepted"] + count["quarantined"], resource
    planted = quarantine.filter(
        (pl.col("resource") == "attendances") & (pl.col("outcome") == "quarantined")
    )
    assert planted.height == counts["attendances"]["quarantined"] > 7
    assert json.dumps(counts, sort_keys=True) == json.dumps(parallel["records"], sort_keys=True)


def test_a_page_that_is_not_json_is_named_when_a_worker_parsed_it(
    spoilt: Path, session_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from medler.errors import InputFileError

    monkeypatch.setattr(_parallel, "WORKERS", 2)
    extract = tmp_path / "extract"
    shutil.copytree(spoilt, extract)
    (extract / "attendances" / "page-000004.json").write_text('{"data": [', encoding="utf-8")
    with pytest.raises(
        InputFileError,
        match=r"^attendances/page-000004\.json is not valid JSON \(unexpected end of data",
    ):
        ingest_extract(extract, tmp_path / "data", key_file=session_key)
    assert not (tmp_path / "data" / "CURRENT").exists()  # nothing switched in
    assert not list((tmp_path / "data").glob("snapshots/.staging-*"))  # nor left half written
