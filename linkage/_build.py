"""``build_research_tables``: the current canonical snapshot → a new research snapshot.

Research snapshots live under ``DATA_DIR/research/`` (``snapshots/<id>/``, ``CURRENT``), are
immutable, and record in their manifest the canonical snapshot they were built from. Tables are
streamed from the engine in batches, so memory does not grow with their size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends.duckdb import Backend

from linkage._snapshot import SnapshotWriter, current_snapshot, read_manifest
from linkage.build import open_snapshot, student_lessons

RESEARCH = "research"
BATCH_ROWS = 500_000


@dataclass(frozen=True)
class BuildReport:
    snapshot_id: str
    built_from: str
    rows: dict[str, int]


def build_research_tables(data_dir: Path) -> BuildReport:
    canonical = current_snapshot(data_dir)
    source = read_manifest(canonical)
    con = ibis.duckdb.connect()
    tables = open_snapshot(canonical, con)
    research = {"student_lessons": student_lessons(tables)}
    rows: dict[str, int] = {}
    with SnapshotWriter(data_dir / RESEARCH, kind="research") as writer:
        for name, expression in research.items():
            rows[name] = 0
            for batch in _batches(con, expression):
                writer.write(name, pa.Table.from_batches([batch]))
                rows[name] += batch.num_rows
            if rows[name] == 0:
                writer.write(name, con.to_pyarrow(expression.limit(0)))
        snapshot_id = writer.commit({
            "built_from": {"snapshot_id": source["snapshot_id"], "key": source.get("key")},
        })  # fmt: skip
    return BuildReport(snapshot_id, source["snapshot_id"], rows)


def _batches(con: Backend, expression: ir.Table) -> pa.RecordBatchReader:
    """The result in batches of ``BATCH_ROWS``. ibis 12.0's ``to_pyarrow_batches`` calls a
    method duckdb 2.0 removed, so the expression is compiled to DuckDB SQL and streamed on the
    backend's own connection, where its tables are registered."""
    sql = ibis.to_sql(expression, dialect="duckdb")
    reader: pa.RecordBatchReader = con.con.sql(sql).to_arrow_reader(BATCH_ROWS)
    return reader
