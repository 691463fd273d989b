"""The build after a OneRoster delivery: a full one that says why (the class-level tables rest
on every class's links), and equal to a full rebuild of the same sets, on both engines."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from linkage import (
    build_research_tables,
    current_snapshot,
    ingest_extract,
    table_files,
)
from linkage._build import RESEARCH, TABLES
from linkage.sources.oneroster._delivery import FULL_BUILD
from tests.spark import on_spark
from tests.unit.linkage.oneroster.conftest import session_key
from tests.unit.linkage.oneroster.delivery_sets import sets

__all__ = ["session_key", "sets"]


def _research(data: Path) -> dict[str, pl.DataFrame]:
    snapshot = current_snapshot(data / RESEARCH)
    return {name: pl.read_parquet(table_files(snapshot, name)) for name in TABLES}


def _weekly_equals_full(
    sets: tuple[Path, Path, Path], tmp_path: Path, key: Path, engine: str
) -> None:
    bulk, week2, week3 = sets
    data, full = tmp_path / "weekly", tmp_path / "full"
    ingest_extract(bulk, data, key_file=key)
    build_research_tables(data, engine=engine, spark_master="local[2]")
    for updates in ([week2], [week2, week3]):
        ingest_extract(bulk, data, key_file=key, updates=updates, delivery=True)
        report = build_research_tables(
            data, engine=engine, spark_master="local[2]", incremental=True
        )
        folder = updates[-1].name
        assert report.incremental == {"full": f"the delivery {folder}: {FULL_BUILD}"}
        assert report.basis == "classes"
    ingest_extract(bulk, full, key_file=key, updates=[week2, week3])
    build_research_tables(full, engine=engine, spark_master="local[2]")
    weekly, reference = _research(data), _research(full)
    for name in TABLES:
        left, right = weekly[name], reference[name]
        assert left.schema == right.schema, name
        columns = left.columns
        assert_frame_equal(
            left.sort(columns, nulls_last=True), right.sort(columns, nulls_last=True)
        )
    # the deliveries reached the class-level tables: t3 teaches maths in spring, English exists
    terms = weekly["student_teachers"].filter(pl.col("term") == "2025VT")
    assert sorted(terms["subject_code"].unique().to_list()) == ["EN", "MA", "SV"]
    assert weekly["exposure"].height > 0


def test_a_build_after_a_oneroster_delivery_is_full_and_equals_a_full_rebuild(
    sets: tuple[Path, Path, Path], tmp_path: Path, session_key: Path
) -> None:
    _weekly_equals_full(sets, tmp_path, session_key, "duckdb")


@on_spark
def test_a_build_after_a_oneroster_delivery_equals_a_full_rebuild_on_spark(
    sets: tuple[Path, Path, Path], tmp_path: Path, session_key: Path
) -> None:
    _weekly_equals_full(sets, tmp_path, session_key, "spark")
