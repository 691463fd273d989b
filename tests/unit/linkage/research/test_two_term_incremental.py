"""Weekly deliveries in a data directory that spans two terms: the incremental build reads the
delivery's term alone, and teacher turnover's look back at the term before (a regular teacher
who left the school) comes from the research snapshot it adds to (``turnover_basis``), not from
the term before's lessons. The tables equal a full rebuild's, on both engines.

The research snapshot holds each table in parts, a file per month or term: a weekly build
shares, as the same files, the parts that hold none of the months or terms it recomputes (the
autumn's rows, in the spring), and writes its own rows as new parts; the release layer reads
every part."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from linkage import (
    build_research_tables,
    current_snapshot,
    ingest_extract,
    read_manifest,
    table_parts,
)
from linkage._build import RESEARCH
from linkage.research._names import PERIOD
from linkage.sources.synthetic import SynthConfig
from release import MemoryStore, QuerySpec, Releaser
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
EXPOSURE_KEY = ["student_pid", "term", "subject_code"]


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


def _weekly(source: Deliveries, data: Path, engine: str) -> list[Path]:
    """The research snapshots of a full build and two weekly builds after it, in order."""
    ingest_extract(source.extract, data, key_file=source.key)
    ingest_registers(source, data)
    build_research_tables(data, engine=engine, spark_master="local[2]", student_lessons=True)
    built = [current_snapshot(data / RESEARCH)]
    for weeks in ([source.week5], [source.week5, source.week6]):
        ingest_extract(source.extract, data, key_file=source.key, updates=weeks, delivery=True)
        report = build_research_tables(
            data, engine=engine, spark_master="local[2]", incremental=True, student_lessons=True
        )
        assert report.incremental is not None, "the build was a full one"
        assert report.incremental["terms"] == [SPRING]
        built.append(current_snapshot(data / RESEARCH))
    return built


def _full(source: Deliveries, data: Path, engine: str) -> None:
    ingest_extract(source.extract, data, key_file=source.key, updates=[source.week5, source.week6])
    ingest_registers(source, data)
    build_research_tables(data, engine=engine, spark_master="local[2]", student_lessons=True)


@pytest.fixture(scope="module")
def built(source: Deliveries, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The weekly data directory and the full one (DuckDB)."""
    root = tmp_path_factory.mktemp("built")
    _weekly(source, root / "weekly", "duckdb")
    _full(source, root / "full", "duckdb")
    return root / "weekly", root / "full"


def test_an_incremental_build_in_the_second_term_equals_a_full_rebuild(
    built: tuple[Path, Path],
) -> None:
    weekly, full = research_tables(built[0]), research_tables(built[1])
    # the data spans both terms, and teachers who left between them hit pupils in the spring:
    # the look back is exercised, not vacuous
    assert sorted(full["exposure"]["term"].unique().to_list()) == ["2026HT", SPRING]
    spring = full["exposure"].filter(pl.col("term") == SPRING)
    assert spring["turnover_hit"].sum() > 0
    assert sorted(weekly["turnover_basis"]["term"].unique().to_list()) == ["2026HT", SPRING]
    assert_same_tables(weekly, full)
    # one row per key: no part is read twice, on either side
    for name, key in (("student_terms", ["student_pid", "term"]), ("exposure", EXPOSURE_KEY)):
        assert not full[name].select(key).is_duplicated().any(), name


def test_a_weekly_build_shares_the_parts_of_periods_it_does_not_recompute(
    built: tuple[Path, Path],
) -> None:
    research = built[0] / RESEARCH / "snapshots"
    snapshots = sorted(research.iterdir(), key=lambda s: read_manifest(s)["created"])
    full, first, second = (read_manifest(s) for s in snapshots[-3:])
    assert "incremental" not in full and first["incremental"] and second["incremental"]
    recomputed = {"month": set(second["incremental"]["months"]), "term": {SPRING}}
    for name, entry in second["tables"].items():
        column = PERIOD[name]
        parts = table_parts(entry)
        earlier = {p["file"]: p for p in table_parts(first["tables"][name])}
        for part in parts:
            file = snapshots[-1] / part["file"]
            # every part says which periods it holds, and holds those
            held = pl.read_parquet(file)[column].unique().sort().to_list()
            assert part["periods"] == held, (name, part["file"])
            if set(held) - recomputed[column]:  # earlier periods: shared, not written again
                assert part["file"] in earlier and set(held).isdisjoint(recomputed[column])
                assert os.path.samefile(file, snapshots[-2] / part["file"]), name
            else:  # the recomputed periods: this build's own part
                assert part["file"] not in earlier, name
        # a file per term, from the full build on: the autumn's is the full build's file
        if column == "term":
            for manifest in (full, first, second):
                held_by_parts = [p["periods"] for p in table_parts(manifest["tables"][name])]
                assert held_by_parts == [["2026HT"], [SPRING]], name
            autumn = table_parts(full["tables"][name])[0]["file"]
            assert os.path.samefile(snapshots[-3] / autumn, snapshots[-1] / autumn), name
        assert sum(p["rows"] for p in parts) == entry["rows"]


def test_the_release_layer_reads_every_part(built: tuple[Path, Path]) -> None:
    """A table held in parts gives the releaser the rows a table in one file does: the cells an
    SDC preview suppresses (which depend on every row's count) are the full build's."""
    spec = QuerySpec.model_validate(
        {
            "table": "student_terms",
            "group_by": ["term", "grade"],
            "mode": "sdc",
            "measures": [{"kind": "count_students"}],
        }
    )
    weekly, full = (Releaser(d, store=MemoryStore()).preview(spec) for d in built)
    assert (
        len(
            table_parts(
                read_manifest(current_snapshot(built[0] / RESEARCH))["tables"]["student_terms"]
            )
        )
        == 2
    )
    assert weekly.cells and weekly.cells == full.cells


@on_spark
def test_an_incremental_build_in_the_second_term_equals_a_full_rebuild_on_spark(
    source: Deliveries, tmp_path: Path
) -> None:
    _weekly(source, tmp_path / "weekly", "spark")
    _full(source, tmp_path / "full", "spark")
    assert_same_tables(research_tables(tmp_path / "weekly"), research_tables(tmp_path / "full"))
