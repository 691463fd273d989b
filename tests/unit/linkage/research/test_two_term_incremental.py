"""Weekly deliveries in a data directory that spans two terms: the incremental build reads the
delivery's term alone, and teacher turnover's look back at the term before (a regular teacher
who left the school) comes from the research snapshot it adds to (``turnover_basis``), not from
the term before's lessons. The tables equal a full rebuild's, on both engines."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from linkage import build_research_tables, ingest_extract
from linkage.sources.synthetic import SynthConfig
from tests.spark import on_spark
from tests.weekly_data import (
    Deliveries,
    assert_same_tables,
    ingest_registers,
    make_deliveries,
    research_tables,
)

# 22 teaching weeks from 17 August 2026: the autumn term and the first weeks of the spring
# term, the last two of them delivered weekly
CONFIG = SynthConfig(students=200, seed=5, weeks=22, deliveries=2)
SPRING = "2027VT"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Deliveries:
    made = make_deliveries(CONFIG, tmp_path_factory.mktemp("two-terms"))
    weeks = sorted(made.week5.parent.iterdir())  # the last two weeks, as delivered
    made = replace(made, week5=weeks[-2], week6=weeks[-1])
    _leaves_at_new_year(made)
    return made


def _leaves_at_new_year(source: Deliveries) -> None:
    """One teacher takes no spring lesson (a teacher exception, not taking part, on each of
    their activities' lessons from 1 January, in the extract and in both deliveries): the
    pupils they taught in the autumn who have the subject at the school in the spring are hit
    by ``teacher_left``, which the spring's build can only see through the autumn."""
    (page,) = sorted((source.extract / "activities").glob("*.json"))
    activities = json.loads(page.read_text(encoding="utf-8"))["data"]
    duty = activities[0]["teachers"][0]["duty"]["id"]
    theirs = {
        a["id"] for a in activities if any(t["duty"]["id"] == duty for t in a.get("teachers", []))
    }
    for folder in (source.extract, source.week5, source.week6):
        for page in sorted((folder / "calendarEvents").glob("*.json")):
            document = json.loads(page.read_text(encoding="utf-8"))
            for lesson in document["data"]:
                if lesson["activity"]["id"] in theirs and lesson["startTime"] >= "2027-01-01":
                    absent = {"duty": {"id": duty}, "participates": False}
                    lesson["teacherExceptions"] = [*lesson.get("teacherExceptions", []), absent]
            page.write_text(json.dumps(document), encoding="utf-8")


def _weekly(source: Deliveries, data: Path, engine: str) -> None:
    ingest_extract(source.extract, data, key_file=source.key)
    ingest_registers(source, data)
    build_research_tables(data, engine=engine, spark_master="local[2]", student_lessons=True)
    for weeks in ([source.week5], [source.week5, source.week6]):
        ingest_extract(source.extract, data, key_file=source.key, updates=weeks, delivery=True)
        report = build_research_tables(
            data, engine=engine, spark_master="local[2]", incremental=True, student_lessons=True
        )
        assert report.incremental is not None, "the build was a full one"
        assert report.incremental["terms"] == [SPRING]


def _full(source: Deliveries, data: Path, engine: str) -> None:
    ingest_extract(source.extract, data, key_file=source.key, updates=[source.week5, source.week6])
    ingest_registers(source, data)
    build_research_tables(data, engine=engine, spark_master="local[2]", student_lessons=True)


def test_an_incremental_build_in_the_second_term_equals_a_full_rebuild(
    source: Deliveries, tmp_path: Path
) -> None:
    _weekly(source, tmp_path / "weekly", "duckdb")
    _full(source, tmp_path / "full", "duckdb")
    weekly, full = research_tables(tmp_path / "weekly"), research_tables(tmp_path / "full")
    # the data spans both terms, and teachers who left between them hit pupils in the spring:
    # the look back is exercised, not vacuous
    assert sorted(full["exposure"]["term"].unique().to_list()) == ["2026HT", SPRING]
    spring = full["exposure"].filter(pl.col("term") == SPRING)
    assert spring["turnover_hit"].sum() > 0
    assert sorted(weekly["turnover_basis"]["term"].unique().to_list()) == ["2026HT", SPRING]
    assert_same_tables(weekly, full)


@on_spark
def test_an_incremental_build_in_the_second_term_equals_a_full_rebuild_on_spark(
    source: Deliveries, tmp_path: Path
) -> None:
    _weekly(source, tmp_path / "weekly", "spark")
    _full(source, tmp_path / "full", "spark")
    assert_same_tables(research_tables(tmp_path / "weekly"), research_tables(tmp_path / "full"))
