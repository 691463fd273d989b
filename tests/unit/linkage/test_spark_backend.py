"""The same build on Apache Spark (local mode) as on the default engine: every research table
equal row for row after sorting, floats within 1e-9. The build is written once, in ibis; only
the engine differs. Skipped, with the reason, where PySpark or Java is missing (``scripts/test.sh``
installs both)."""

from __future__ import annotations

import importlib.util
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from linkage import BACKENDS, build_research_tables, current_snapshot, read_manifest, table_files
from linkage._build import RESEARCH, TABLES
from linkage.sources.synthetic import SynthConfig
from medler.errors import UsageError
from tests.research_data import build_research_data

pytestmark = [
    pytest.mark.slow,
    # py4j keeps its gateway's sockets to the JVM open for the life of the process (a later
    # session reuses them); pytest reports them as unraisable when they are collected
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None,
        reason="the spark extra is not installed (pip install -e '.[spark]')",
    ),
    pytest.mark.skipif(
        shutil.which("java") is None, reason="no Java runtime (scripts/test.sh installs one)"
    ),
]


def _tables(data: Path) -> dict[str, pl.DataFrame]:
    snapshot = current_snapshot(data / RESEARCH)
    return {name: pl.read_parquet(table_files(snapshot, name)) for name in TABLES}


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, pl.DataFrame], ...]]:
    monkeypatch = pytest.MonkeyPatch()
    data = build_research_data(
        tmp_path_factory.mktemp("spark"), SynthConfig(students=900, seed=5, weeks=3)
    )
    duck = _tables(data)
    # results over the direct-result limit are fetched from the driver's block manager, the
    # path a larger build takes: make every result take it
    monkeypatch.setenv(
        "PYSPARK_SUBMIT_ARGS", "--conf spark.task.maxDirectResultSize=1k pyspark-shell"
    )
    build_research_tables(data, engine="spark", spark_master="local[2]")
    spark = _tables(data)
    assert read_manifest(current_snapshot(data / RESEARCH))["engine"] == "spark"
    monkeypatch.undo()
    yield duck, spark


def _same(name: str, left: pl.DataFrame, right: pl.DataFrame) -> None:
    assert left.schema == right.schema, name
    assert left.height == right.height > 0, name
    order = list(left.columns)
    a, b = left.sort(order, nulls_last=True), right.sort(order, nulls_last=True)
    for column in order:
        x, y = a[column].to_list(), b[column].to_list()
        if a.schema[column].is_float():
            bad = [
                i
                for i, (p, q) in enumerate(zip(x, y, strict=True))
                if not (
                    (p is None and q is None)
                    or (
                        p is not None
                        and q is not None
                        and math.isclose(p, q, rel_tol=1e-9, abs_tol=1e-9)
                    )
                )
            ]
            assert not bad, (name, column, [(x[i], y[i]) for i in bad[:3]])
        else:
            assert x == y, (name, column)


@pytest.mark.parametrize("name", TABLES)
def test_spark_builds_the_same_table(both: tuple[dict[str, pl.DataFrame], ...], name: str) -> None:
    duck, spark = both
    _same(name, duck[name], spark[name])


def test_the_organiser_types_compared_are_several(
    both: tuple[dict[str, pl.DataFrame], ...],
) -> None:
    """Three schools, one of them independent: the comparison of organiser_type is not one of
    a column holding a single value."""
    duck, spark = both
    for tables in (duck, spark):
        for name in ("student_terms", "student_months"):
            assert set(tables[name]["organiser_type"]) == {"municipal", "independent"}, name


def test_an_unreachable_master_says_what_to_check(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from linkage._backends import SparkBackend

    with pytest.raises(UsageError, match=r"cannot start Spark on master 'spark://127\.0\.0\.1:9'"):
        SparkBackend("spark://127.0.0.1:9", tmp_path)
    # medler's error is the only one: Spark's own log lines stay silent
    assert " ERROR " not in capfd.readouterr().err


def test_a_session_starts_after_spark_stopped_the_last_one_itself(tmp_path: Path) -> None:
    """Spark may stop its context on its own (a fatal error, a heartbeat lost under load); the
    process still holds it as the active one, and the next build must not be made on it."""
    from linkage._backends import SparkBackend

    first = SparkBackend("local[1]", tmp_path / "first")
    first.session.sparkContext._jsc.sc().stop()  # stopped by the JVM, not through PySpark
    second = SparkBackend("local[1]", tmp_path / "second")
    try:
        assert second.session.range(3).count() == 3
    finally:
        second.close()


def test_the_engines_are_named() -> None:
    assert BACKENDS == ("duckdb", "spark")
