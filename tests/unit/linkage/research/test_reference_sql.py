"""The hand-written DuckDB reference of ``bench/bench_build.py`` computes the same
``exposure``, ``student_months`` and ``student_terms`` as the build, on the synthetic
municipality (with its exceptions, substitutes, class moves and unreported lessons). A
benchmark against a baseline that computes something else would measure nothing."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from linkage import build_research_tables, ingest_register
from tests.unit.linkage.ingest.conftest import Ingested, ingested, session_key

__all__ = ["ingested", "session_key"]

BENCH = Path(__file__).resolve().parents[4] / "bench"


def _bench_build(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    pytest.importorskip("duckdb")
    monkeypatch.syspath_prepend(str(BENCH))  # bench_build imports its neighbour _measure
    spec = importlib.util.spec_from_file_location("bench_build", BENCH / "bench_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_sql_equals_the_build(
    ingested: Ingested, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _bench_build(monkeypatch)
    data = tmp_path / "data"
    shutil.copytree(ingested.data_dir, data)
    registers = ingested.extract.out / "registers"
    ingest_register(
        "teachers", registers / "teacher_register.csv", data, key_file=ingested.key_file
    )
    ingest_register(
        "students", registers / "student_register.csv", data, key_file=ingested.key_file
    )
    build_research_tables(data)
    out = tmp_path / "reference"
    monkeypatch.chdir(tmp_path)  # the reference changes into its output folder
    bench.reference(data, out)
    built = bench.research_tables(data)
    assert set(bench.COMPARED) == {"exposure", "student_months", "student_terms"}
    for name in bench.COMPARED:
        problems, _ = bench.compare(name, built[name], out / f"{name}.parquet")
        assert problems == [], name
