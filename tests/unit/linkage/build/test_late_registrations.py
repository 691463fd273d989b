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
from polars.testing import assert_frame_equal

from linkage import build_research_tables, current_snapshot, ingest_extract, read_manifest
from linkage._build import RESEARCH, STUDENT_LESSONS, TABLES
from linkage._registers import ingest_register
from linkage.sources.synthetic import DELIVERIES, SynthConfig, generate_municipality
from medler.errors import InputFileError
from pseudonymise import create_key_file

CONFIG = SynthConfig(students=100, seed=11, weeks=6, deliveries=2)


@dataclass(frozen=True)
class Source:
    extract: Path
    week5: Path
    week6: Path
    registers: Path
    key: Path
    moved: dict[str, object]  # the registration taken from the extract, delivered late


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


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    root = tmp_path_factory.mktemp("late")
    out = generate_municipality(CONFIG, root / "extract").out
    key = root / "key.json"
    create_key_file(key)
    week6 = out / DELIVERIES / "week-06"
    moved = _move_first_registration(out / "ss12000", week6)
    return Source(
        out / "ss12000", out / DELIVERIES / "week-05", week6, out / "registers", key, moved
    )


def _registers(source: Source, data: Path) -> None:
    for kind, name in (("teachers", "teacher"), ("students", "student")):
        ingest_register(kind, source.registers / f"{name}_register.csv", data, key_file=source.key)


def _tables(data: Path) -> dict[str, pl.DataFrame]:
    snapshot = current_snapshot(data / RESEARCH)
    files = read_manifest(snapshot)["tables"]
    return {
        name: pl.read_parquet(snapshot / files[name]["file"]) for name in (*TABLES, STUDENT_LESSONS)
    }


def test_a_late_registration_recomputes_its_month_and_equals_a_full_rebuild(
    source: Source, tmp_path: Path
) -> None:
    data, full = tmp_path / "weekly", tmp_path / "full"
    ingest_extract(source.extract, data, key_file=source.key)
    _registers(source, data)
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
    _registers(source, full)
    build_research_tables(full, student_lessons=True)
    weekly, reference = _tables(data), _tables(full)
    for name in (*TABLES, STUDENT_LESSONS):
        left, right = weekly[name], reference[name]
        assert left.schema == right.schema, name
        assert left.height == right.height > 0, name
        columns = left.columns
        assert_frame_equal(
            left.sort(columns, nulls_last=True),
            right.sort(columns, nulls_last=True),
            check_exact=False,
            rel_tol=1e-12,
            abs_tol=0,
        )
    # the late registration reached August: the pupil's lesson of 17 August is registered
    august = weekly["student_lessons"].filter(pl.col("month") == "2026-08")
    assert august.height == reference["student_lessons"].filter(pl.col("month") == "2026-08").height


def test_a_delivery_that_changes_a_registration_held_is_refused(
    source: Source, tmp_path: Path
) -> None:
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
