"""A lesson across midnight or a change of daylight saving time, through ingestion and the
build: its minutes are real elapsed time, its day and start hour are the school's clock as
written, and its term follows its day."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import ibis
import pyarrow.parquet as pq
import pytest

from linkage import current_snapshot, ingest_extract, read_manifest
from linkage.research import open_snapshot, student_lessons
from tests.unit.linkage.ingest.conftest import Ingested, ingested, session_key

__all__ = ["ingested", "session_key"]

EDGES = {  # start, end as written → (UTC start, minutes, local day, local start hour)
    "spring forward": (
        "2027-03-28T01:30:00+01:00",
        "2027-03-28T03:30:00+02:00",
        (dt.datetime(2027, 3, 28, 0, 30, tzinfo=dt.UTC), 60, dt.date(2027, 3, 28), 1),
    ),
    "fall back": (
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:30:00+01:00",
        (dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC), 60, dt.date(2026, 10, 25), 2),
    ),
    "across midnight": (
        "2026-08-20T23:30:00+02:00",
        "2026-08-21T00:30:00+02:00",
        (dt.datetime(2026, 8, 20, 21, 30, tzinfo=dt.UTC), 60, dt.date(2026, 8, 20), 23),
    ),
}


@pytest.fixture(scope="module")
def edged(ingested: Ingested, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("edges")
    extract = root / "ss12000"
    shutil.copytree(ingested.extract.out / "ss12000", extract)
    page = extract / "calendarEvents" / "page-000001.json"
    content = json.loads(page.read_text(encoding="utf-8"))
    for event, (start, end, _) in zip(content["data"], EDGES.values(), strict=False):
        event["startTime"], event["endTime"] = start, end
        event.pop("teachingLengthStudent", None)
        event.pop("teachingLengthTeacher", None)
        event["cancelled"] = False
    page.write_text(json.dumps(content), encoding="utf-8")
    data = root / "data"
    ingest_extract(extract, data, key_file=ingested.key_file)
    return data


def test_ingest_keeps_real_minutes_and_the_written_day_and_clock(edged: Path) -> None:
    snapshot = current_snapshot(edged)
    lessons = pq.read_table(snapshot / read_manifest(snapshot)["tables"]["lessons"]["file"])
    by_start = {row["start_time"]: row for row in lessons.to_pylist()}
    for name, (_, _, (start, minutes, day, hour)) in EDGES.items():
        row = by_start[start]
        assert (row["minutes"], row["local_date"]) == (minutes, day), name
        assert row["local_start_minute"] // 60 == hour, name


def test_student_lessons_use_the_school_clock(edged: Path) -> None:
    con = ibis.duckdb.connect()
    table = student_lessons(open_snapshot(current_snapshot(edged), con))
    rows = con.to_pyarrow(
        table.select("start_time", "local_date", "start_hour", "term", "month", "minutes")
    ).to_pylist()
    for name, (_, _, (start, minutes, day, hour)) in EDGES.items():
        seen = {
            (r["local_date"], r["start_hour"], r["term"], r["month"])
            for r in rows
            if r["start_time"] == start
        }
        term = f"{day.year}{'HT' if day.month >= 7 else 'VT'}"
        assert seen == {(day, hour, term, f"{day:%Y-%m}")}, name
        assert {r["minutes"] for r in rows if r["start_time"] == start} == {minutes}, name
