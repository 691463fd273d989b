"""A late registration in a weekly delivery: a pupil's attendance in a lesson of a week already
ingested, registered only now. The delivery adds it, the incremental build recomputes the
lesson's month (August here, though the delivery's own lessons are in September), and every
research table equals a full ingest and rebuild of the same extracts. A registration that
changes one already held is refused."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import orjson
import polars as pl
import pytest

from linkage import build_research_tables, current_snapshot, ingest_extract, read_manifest
from linkage.sources.synthetic import SynthConfig
from medler.errors import InputFileError
from tests.weekly_data import (
    Deliveries,
    assert_same_tables,
    ingest_registers,
    make_deliveries,
    research_tables,
)

CONFIG = SynthConfig(students=100, seed=11, weeks=6, deliveries=2)


def _page(folder: Path) -> Path:
    return next((folder / "attendances").glob("*.json"))


def _move_first_registration(extract: Path, week: Path) -> dict[str, object]:
    """Take the extract's first registration (a lesson of 17 August) out of it, and deliver it
    with ``week`` instead, reported in that week."""
    source, target = _page(extract), _page(week)
    held, later = orjson.loads(source.read_bytes()), orjson.loads(target.read_bytes())
    moved = held["data"].pop(0)
    stamp = later["data"][0]["reportedTimestamp"]
    moved = {**moved, "reportedTimestamp": stamp, "meta": {**moved["meta"], "modified": stamp}}
    later["data"].append(moved)
    source.write_bytes(orjson.dumps(held))
    target.write_bytes(orjson.dumps(later))
    return moved


@dataclass(frozen=True)
class Late:
    source: Deliveries
    moved: dict[str, object]  # the registration taken from the extract, delivered late


@pytest.fixture(scope="module")
def late(tmp_path_factory: pytest.TempPathFactory) -> Late:
    source = make_deliveries(CONFIG, tmp_path_factory.mktemp("late"))
    return Late(source, _move_first_registration(source.extract, source.week6))


def test_a_late_registration_recomputes_its_month_and_equals_a_full_rebuild(
    late: Late, tmp_path: Path
) -> None:
    source = late.source
    data, full = tmp_path / "weekly", tmp_path / "full"
    ingest_extract(source.extract, data, key_file=source.key)
    ingest_registers(source, data)
    build_research_tables(data, student_lessons=True)
    ingest_extract(source.extract, data, key_file=source.key, updates=[source.week5], delivery=True)
    build_research_tables(data, incremental=True, student_lessons=True)
    report = ingest_extract(
        source.extract,
        data,
        key_file=source.key,
        updates=[source.week5, source.week6],
        delivery=True,
    )
    assert report.delivery is not None
    assert (report.delivery["late_registrations"], report.delivery["months"]) == (
        1,
        ["2026-08", "2026-09"],
    )
    manifest = read_manifest(current_snapshot(data))
    for name, c in manifest["records"].items():
        assert c["read"] == c["accepted"] + c["quarantined"] + c["superseded"] + c["deleted"], name
    assert (
        manifest["records"]["attendances"]["accepted"] == manifest["tables"]["attendance"]["rows"]
    )
    built = build_research_tables(data, incremental=True, student_lessons=True)
    assert built.incremental is not None
    assert (built.incremental["months"], built.incremental["terms"]) == (
        ["2026-08", "2026-09"],
        ["2026HT"],
    )
    ingest_extract(source.extract, full, key_file=source.key, updates=[source.week5, source.week6])
    ingest_registers(source, full)
    build_research_tables(full, student_lessons=True)
    weekly, reference = research_tables(data), research_tables(full)
    assert_same_tables(weekly, reference)
    # the late registration reached August: the pupil's lesson of 17 August is registered
    august = weekly["student_lessons"].filter(pl.col("month") == "2026-08")
    assert august.height == reference["student_lessons"].filter(pl.col("month") == "2026-08").height


def test_a_delivery_that_changes_a_registration_held_is_refused(late: Late, tmp_path: Path) -> None:
    source = late.source
    data = tmp_path / "data"
    ingest_extract(source.extract, data, key_file=source.key)
    week = tmp_path / "week-05"
    shutil.copytree(source.week5, week)
    target = _page(week)
    later = orjson.loads(target.read_bytes())
    held = orjson.loads(_page(source.extract).read_bytes())["data"][0]
    stamp = later["data"][0]["reportedTimestamp"]
    later["data"].append(
        {**held, "id": "00000000-0000-4000-8000-000000000001", "reportedTimestamp": stamp}
    )
    target.write_bytes(orjson.dumps(later))
    before = current_snapshot(data)
    with pytest.raises(InputFileError) as caught:
        ingest_extract(source.extract, data, key_file=source.key, updates=[week], delivery=True)
    assert str(caught.value) == (
        "week-05 holds 1 registrations of pupils in lessons of weeks already ingested that are "
        "registered there already (changed since?); a delivery may add late registrations, not "
        "change those held: ingest the extract and every delivery in full (without --delivery)"
    )
    assert current_snapshot(data) == before
