"""A weekly delivery whose other resources are unchanged reads only its own weeks: the pupils,
activities, duties and organisations its records refer to are resolved through the snapshot's
reference map (keyed source ids), and the snapshot it writes is the one a delivery that reads
every resource again writes: every table, the quarantine, the counts, warnings and alerts."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow.parquet as pq
import pytest

import linkage._ingest as ingest_module
from linkage import current_snapshot, ingest_extract, read_manifest
from linkage._canonical import REFERENCE_SCHEMA, REFERENCES
from linkage._deliveries import Reuse
from linkage._snapshot import file_sha256, table_files
from linkage.sources.ss12000._ingest import BULK
from linkage.sources.synthetic import SynthConfig
from tests.weekly_data import Deliveries, ingest_registers, make_deliveries

CONFIG = SynthConfig(students=200, seed=8, weeks=6, deliveries=2)
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Deliveries:
    return make_deliveries(CONFIG, tmp_path_factory.mktemp("reuse"))


def _edit(folder: Path, resource: str, change: Any) -> None:
    """``change(records)`` on the first page of ``resource`` in ``folder``."""
    page = sorted((folder / resource).glob("*.json"))[0]
    body = orjson.loads(page.read_bytes())
    change(body["data"])
    page.write_bytes(orjson.dumps(body))


def _awkward_week(source: Deliveries, root: Path) -> Path:
    """Week 5 with records that send its pages record by record: a lesson of an unknown
    activity, an attendance record of an unknown pupil, an absence notice of an unknown
    organisation; the rest of those pages must resolve as a full read resolves them."""
    week = root / "week-05"
    shutil.copytree(source.week5, week)

    def lesson(records: list[dict[str, Any]]) -> None:
        records[0]["activity"] = {"id": UNKNOWN}

    def attendance(records: list[dict[str, Any]]) -> None:
        records[1]["student"] = {"id": UNKNOWN}

    def absence(records: list[dict[str, Any]]) -> None:
        records[0]["organisation"] = {"id": UNKNOWN}

    _edit(week, "calendarEvents", lesson)
    _edit(week, "attendances", attendance)
    _edit(week, "absences", absence)
    return week


def _deliver(
    source: Deliveries, data: Path, week: Path, *, reread: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[ingest_module.IngestReport, set[str]]:
    """Ingest the extract and the registers into ``data``, then ``week`` as a delivery, either
    as it is (the other resources unchanged: not read again) or made to read every resource
    again; returns the delivery's report and the resources it read."""
    ingest_extract(source.extract, data, key_file=source.key)
    ingest_registers(source, data)
    read: set[str] = set()
    with monkeypatch.context() as patch:
        if reread:
            patch.setattr(ingest_module, "reuse", lambda *_args: Reuse(None, "asked to", {}))
        report = ingest_extract(
            source.extract,
            data,
            key_file=source.key,
            updates=[week],
            delivery=True,
            progress=lambda resource, _n: read.add(resource),
        )
    return report, read


def _rows(snapshot: Path, name: str, con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """The rows of a table, sorted, without the time of the ingest."""
    files = [str(p) for p in table_files(snapshot, name)]
    columns = [c for c in pq.read_schema(files[0]).names if c != "ingested_at"]
    listed = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in columns)
    return sorted(
        con.execute(f"SELECT {listed} FROM read_parquet(?)", [files]).fetchall(), key=repr
    )


def test_a_delivery_onto_unchanged_resources_reads_only_its_weeks(
    source: Deliveries, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    week = _awkward_week(source, tmp_path)
    reused, reused_read = _deliver(
        source, tmp_path / "reused", week, reread=False, monkeypatch=monkeypatch
    )
    again, again_read = _deliver(
        source, tmp_path / "again", week, reread=True, monkeypatch=monkeypatch
    )
    # only the weeks were read; the other way reads every resource again
    assert reused_read == set(BULK) and again_read > set(BULK)
    a, b = current_snapshot(tmp_path / "reused"), current_snapshot(tmp_path / "again")
    ma, mb = read_manifest(a), read_manifest(b)
    assert set(ma["tables"]) == set(mb["tables"])
    con = duckdb.connect()
    for name in ma["tables"]:
        assert _rows(a, name, con) == _rows(b, name, con), name
    for key in ("records", "warnings", "modified_later", "alerts", "compat", "registers"):
        assert ma[key] == mb[key], key
    assert ma["source"]["files"] == mb["source"]["files"]
    mine = ("onto", "read_again")
    assert {k: v for k, v in ma["delivery"].items() if k not in mine} == {
        k: v for k, v in mb["delivery"].items() if k not in mine
    }
    assert ma["delivery"]["changed"] == []
    assert (ma["delivery"]["read_again"], mb["delivery"]["read_again"]) == (None, "asked to")
    # the records set aside were set aside either way, and are named by the week's files
    entries = {(r[0], r[3], r[4]) for r in _rows(a, "quarantine", con) if "week-05/" in r[1]}
    assert {
        ("calendarEvents", "activity", "unknown activity"),
        ("attendances", "student", "unknown pupil"),
        ("absences", "organisation", "unknown organisation"),
    } <= entries
    assert (reused.quarantine_entries, reused.kept_local) == (
        again.quarantine_entries,
        again.kept_local,
    )
    assert reused.kept_local > 0  # the extract's people kept with a local pseudonym are counted
    assert (reused.warnings, reused.alerts) == (again.warnings, again.alerts)
    assert {n: vars(c) for n, c in reused.counts.items() if n in BULK} == {
        n: vars(c) for n, c in again.counts.items() if n in BULK
    }
    # the unchanged tables are the earlier snapshot's files, the reference map among them
    before = read_manifest(Path(a.parent / ma["delivery"]["onto"]))
    assert ma["tables"][REFERENCES]["sha256"] == before["tables"][REFERENCES]["sha256"]
    assert ma["tables"]["students"]["sha256"] == before["tables"]["students"]["sha256"]


def test_the_reference_map_holds_keys_not_source_ids(source: Deliveries, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ingest_extract(source.extract, data, key_file=source.key)
    snapshot = current_snapshot(data)
    (path,) = table_files(snapshot, REFERENCES)
    table = pq.read_table(path)
    assert table.schema.equals(REFERENCE_SCHEMA)
    kinds = table["kind"].to_pylist()
    students = pq.read_table(table_files(snapshot, "students")[0])
    assert kinds.count("student") == students.num_rows
    assert (
        kinds.count("activity") == pq.read_metadata(table_files(snapshot, "activities")[0]).num_rows
    )
    # no source id is kept: none of the extract's ids appears in the file, in any form
    ids = set()
    for page in (source.extract / "persons").glob("*.json"):
        ids.update(r["id"] for r in orjson.loads(page.read_bytes())["data"])
    raw = path.read_bytes()
    assert not any(i.encode() in raw for i in ids)
    keys = table["reference"].to_pylist()
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("extract", "ss12000/groups/page-000001.json changed since the snapshot"),
        ("added", "ss12000/groups/page-000099.json is new since the snapshot"),
        ("removed", "ss12000/syllabuses/page-000001.json is gone since the snapshot"),
        ("delivery", "week-05 holds syllabuses/page-000001.json"),
        ("compat", "the vendor quirks mapped (--compat) are not the snapshot's"),
    ],
)
def test_a_changed_resource_is_read_again(
    source: Deliveries, tmp_path: Path, change: str, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of the other resources that changed since the snapshot (or is new, or gone, or
    one the delivery brings, or another vendor quirk mapped) means every resource is read
    again, and the delivery's record says why; no file is hashed twice on the way."""
    extract = tmp_path / "ss12000"
    shutil.copytree(source.extract, extract)
    week = tmp_path / "week-05"
    shutil.copytree(source.week5, week)
    data = tmp_path / "data"
    ingest_extract(extract, data, key_file=source.key)
    compat: tuple[str, ...] = ()
    first = sorted((extract / "syllabuses").glob("*.json"))[0]
    if change == "extract":  # a group's display name edited: the tables come out the same
        _edit(extract, "groups", lambda records: records[0].update(displayName="7A (renamed)"))
    elif change == "added":  # an empty page more
        (extract / "groups" / "page-000099.json").write_bytes(orjson.dumps({"data": []}))
    elif change == "removed":
        first.unlink()
    elif change == "delivery":
        (week / "syllabuses").mkdir()
        shutil.copy(first, week / "syllabuses")
    else:
        compat = ("activity-teachers-as-person",)
    read: set[str] = set()
    hashed: list[Path] = []

    def counted(path: Path) -> str:
        hashed.append(path)
        return file_sha256(path)

    for where in ("linkage._deliveries", "linkage._ingest"):
        monkeypatch.setattr(f"{where}.file_sha256", counted)
    report = ingest_extract(
        extract,
        data,
        key_file=source.key,
        updates=[week],
        delivery=True,
        compat=compat,
        progress=lambda resource, _n: read.add(resource),
    )
    assert len(hashed) == len(set(hashed))
    assert "persons" in read and "activities" in read
    assert report.delivery is not None
    assert report.delivery["read_again"] == why
    # what was read again came out as the snapshot holds it, but for the page removed
    assert ("syllabuses" in report.delivery["changed"]) == (change == "removed")


def test_records_modified_later_are_counted_as_a_read_again_counts_them(
    source: Deliveries, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An incremental extract that sends three lessons again, modified before the extract's
    versions (they are superseded, and the warning counts them): a later delivery that does
    not read the other resources again warns as one that does, which reads lessons from the
    delivery alone and so counts none of those three."""
    update = tmp_path / "update"
    (update / "calendarEvents").mkdir(parents=True)
    page = sorted((source.extract / "calendarEvents").glob("*.json"))[0]
    records = orjson.loads(page.read_bytes())["data"][:3]
    for record in records:
        record["meta"] = {"created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z"}
    (update / "calendarEvents" / "page-000001.json").write_bytes(orjson.dumps({"data": records}))
    week = tmp_path / "week-05"
    shutil.copytree(source.week5, week)
    snapshots = {}
    for way in ("reused", "again"):
        data = tmp_path / way
        first = ingest_extract(source.extract, data, key_file=source.key, updates=[update])
        assert any(
            "3 records of an earlier extract were modified later" in w for w in first.warnings
        )
        with monkeypatch.context() as patch:
            if way == "again":
                patch.setattr(ingest_module, "reuse", lambda *_args: Reuse(None, "asked to", {}))
            report = ingest_extract(
                source.extract, data, key_file=source.key, updates=[update, week], delivery=True
            )
        assert report.delivery is not None
        assert (report.delivery["read_again"] is None) == (way == "reused")
        assert not any("modified later" in w for w in report.warnings), way
        snapshots[way] = read_manifest(current_snapshot(data))
    assert snapshots["reused"]["warnings"] == snapshots["again"]["warnings"]
    assert snapshots["reused"]["modified_later"] == snapshots["again"]["modified_later"] == {}


def test_a_snapshot_of_another_medler_is_read_again(
    source: Deliveries, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How the other resources are read may change between versions: a delivery onto a
    snapshot another version made reads them again."""
    data = tmp_path / "data"
    ingest_extract(source.extract, data, key_file=source.key)
    monkeypatch.setattr("linkage._deliveries.__version__", "99.0.0")
    report = ingest_extract(
        source.extract, data, key_file=source.key, updates=[source.week5], delivery=True
    )
    assert report.delivery is not None
    assert report.delivery["read_again"].startswith("the snapshot was made by medler ")
    assert report.delivery["read_again"].endswith(", this is 99.0.0")
