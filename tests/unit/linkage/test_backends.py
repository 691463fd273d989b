"""The build's engines: one clear message for each thing that is missing, and a build under a
tight memory limit that spills instead of failing and writes the same tables."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

from linkage import build_research_tables, current_snapshot, table_files
from linkage._backends import DuckDBBackend, SparkBackend, fitted_memory_limit, open_backend
from linkage._build import RESEARCH, TABLES
from medler.errors import UsageError
from tests.research_data import research_dir

__all__ = ["research_dir"]


def test_an_unknown_engine_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="the engine must be one of duckdb, spark, not 'flink'"):
        open_backend("flink", spill=tmp_path)


def test_a_bad_memory_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="memory limit 'lots' is not a size such as 2GB"):
        DuckDBBackend(tmp_path, "lots")


def test_without_the_spark_extra_the_message_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(UsageError, match=r"needs PySpark: install medler with its spark extra"):
        SparkBackend("local[1]", tmp_path)


def test_without_java_the_message_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    monkeypatch.setattr("linkage._backends.shutil.which", lambda _name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(UsageError, match=r"needs a Java runtime \(17 or newer\)"):
        SparkBackend("local[1]", tmp_path)


def _tables(data: Path) -> dict[str, pl.DataFrame]:
    snapshot = current_snapshot(data / RESEARCH)
    return {n: pl.read_parquet(table_files(snapshot, n)).sort(pl.all()) for n in TABLES}


@pytest.mark.slow
def test_a_build_under_a_tight_memory_limit_spills_and_writes_the_same_tables(
    research_dir: Path, tmp_path: Path
) -> None:
    """Under 128 MB (the default lets DuckDB use gigabytes) the build still completes and
    writes the same tables. At national scale the same limit makes DuckDB spill to the data
    directory: ``bench/bench_scale.py --memory-limit`` shows the peak staying under it."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(research_dir / "snapshots", data / "snapshots")
    (data / "CURRENT").write_text((research_dir / "CURRENT").read_text())
    build_research_tables(data)
    roomy = _tables(data)
    build_research_tables(data, memory_limit="128MB")
    tight = _tables(data)
    for name in TABLES:
        assert tight[name].equals(roomy[name]), name


def test_only_the_default_memory_limit_is_fitted_to_a_small_build() -> None:
    assert fitted_memory_limit(1_000, "4GB") == "256MiB"  # the floor
    assert fitted_memory_limit(1_000_000, "4GB") == "286MiB"  # 300 bytes per registration
    assert fitted_memory_limit(10_000_000, "4GB") == "4GB"  # a large build: as asked
    assert fitted_memory_limit(1_000, "100MB") == "100MB"  # never raised


class _Opened(Exception):
    """Stops a build once its engine would be opened."""


@pytest.mark.parametrize(("given", "opened"), [(None, "256MiB"), ("3GB", "3GB"), ("1GB", "1GB")])
def test_a_memory_limit_the_user_sets_is_used_as_given(
    research_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    given: str | None,
    opened: str,
) -> None:
    """``--memory-limit`` / ``MEDLER_BUILD_MEMORY`` are never lowered to the small build's fit."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(research_dir / "snapshots", data / "snapshots")
    (data / "CURRENT").write_text((research_dir / "CURRENT").read_text())
    seen: list[str] = []

    def spy(_engine: str, *, memory_limit: str, **_options: object) -> None:
        seen.append(memory_limit)
        raise _Opened

    monkeypatch.setattr("linkage._build.open_backend", spy)
    with pytest.raises(_Opened):
        build_research_tables(data, memory_limit=given)
    assert seen == [opened]
