"""student_lessons on the synthetic municipality recovers the planted truth."""

from __future__ import annotations

import shutil

import ibis
import polars as pl
import pytest

from linkage import current_snapshot, ingest_register
from linkage.research import open_snapshot, student_lessons
from tests.unit.linkage.ingest.conftest import Ingested, ingested, session_key

__all__ = ["ingested", "session_key"]


@pytest.fixture(scope="module")
def built(ingested: Ingested, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    data = tmp_path_factory.mktemp("built") / "data"
    shutil.copytree(ingested.data_dir, data)
    registers = ingested.extract.out / "registers"
    ingest_register(
        "teachers", registers / "teacher_register.csv", data, key_file=ingested.key_file
    )
    con = ibis.duckdb.connect()
    table = student_lessons(open_snapshot(current_snapshot(data), con))
    return pl.from_arrow(con.to_pyarrow(table))


def test_one_row_per_pupil_and_held_lesson(built: pl.DataFrame, ingested: Ingested) -> None:
    assert built.height == ingested.extract.truth["counts"]["attendance_records"]
    assert built.select("student_pid", "lesson_pid").is_unique().all()
    assert built["grade"].null_count() == 0
    assert set(built["grade_band"]) == {"F-3", "4-6", "7-9"}
    assert set(built["weekday"]) <= {1, 2, 3, 4, 5}


def test_certified_share_and_absence_match_the_truth(
    built: pl.DataFrame, ingested: Ingested
) -> None:
    figures = ingested.extract.truth["figures"]
    certified = built.filter(pl.col("certified"))["minutes"].sum() / built["minutes"].sum()
    assert certified == pytest.approx(figures["certified_share_of_pupil_minutes"], abs=1e-6)
    reported = built.filter(pl.col("reported"))
    absent = reported["valid_absence_minutes"].sum() + reported["invalid_absence_minutes"].sum()
    assert absent / reported["minutes"].sum() == pytest.approx(
        figures["absence_rate_over_reported"], abs=1e-6
    )
