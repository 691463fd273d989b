"""``build_research_tables``: the current canonical snapshot → a new research snapshot.

Research snapshots live under ``DATA_DIR/research/`` (``snapshots/<id>/``, ``CURRENT``), are
immutable, and record in their manifest the canonical snapshot they were built from.

``student_lessons`` is written first, by the engine straight to Parquet; every other table is
an aggregate of it (plus the lessons' teachers) and is computed from that file, so the joins
that decide who was in which lesson run once. The engine runs under a memory limit and spills
to a folder inside the data directory, so memory stays bounded whatever the data's size.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow.parquet as pq
from ibis.backends.duckdb import Backend
from ibis.backends.sql.datatypes import DuckDBType

from linkage._snapshot import SnapshotWriter, current_snapshot, read_manifest
from linkage.build import (
    exposure,
    lesson_facts,
    lesson_teachers,
    open_snapshot,
    quality,
    student_days,
    student_lessons,
    student_months,
    student_teachers,
    student_terms,
    teacher_terms,
)
from medler.errors import UsageError

RESEARCH = "research"
TABLES = ("student_lessons", "student_teachers", "exposure", "student_months", "student_terms",
          "teacher_terms", "quality")  # fmt: skip


def _default_memory_limit() -> str:
    """4 GB, or half the machine's memory where that is less."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return "4GB"
    return f"{max(256, min(4096, total // 2**20 // 2))}MB"


DEFAULT_MEMORY_LIMIT = _default_memory_limit()
_MEMORY = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


@dataclass(frozen=True)
class BuildReport:
    snapshot_id: str
    built_from: str
    rows: dict[str, int]


def connect(spill: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> Backend:
    """A DuckDB connection for the build: bounded memory, spilling to ``spill``."""
    if not _MEMORY.fullmatch(memory_limit.strip()):
        raise UsageError(f"memory limit {memory_limit!r} is not a size such as 2GB or 512MB")
    con = ibis.duckdb.connect()
    con.raw_sql(f"SET memory_limit = '{memory_limit}'")
    con.raw_sql(f"SET temp_directory = '{_quoted(str(spill))}'")
    con.raw_sql("SET preserve_insertion_order = false")
    return con


def build_research_tables(
    data_dir: Path, *, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> BuildReport:
    canonical = current_snapshot(data_dir)
    source = read_manifest(canonical)
    rows: dict[str, int] = {}
    spill = Path(tempfile.mkdtemp(prefix=".spill-", dir=_ensure(data_dir / RESEARCH)))
    try:
        con = connect(spill, memory_limit)
        t = open_snapshot(canonical, con)
        with SnapshotWriter(data_dir / RESEARCH, kind="research") as writer:

            def write(name: str, expression: ir.Table) -> ir.Table:
                path = writer.write_file(name, _copy_to(con, expression))
                table = con.read_parquet(path, table_name=f"research_{name}")
                rows[name] = pq.ParquetFile(path).metadata.num_rows
                return table

            # the lesson-level facts, small, as a table of the engine: it then knows their size
            # and joins the pupils to them once
            facts = con.create_table("lesson_facts", lesson_facts(t), temp=True)
            sl = write("student_lessons", student_lessons(t, facts))
            first, last = (
                con.to_pyarrow(sl.aggregate(first=sl.local_date.min(), last=sl.local_date.max()))
                .to_pylist()[0]
                .values()
            )
            met = write("student_teachers", student_teachers(sl, lesson_teachers(t)))
            write("exposure", exposure(sl, met))
            days = con.create_table("student_days", student_days(sl), temp=True)
            months = write("student_months", student_months(sl, days))
            write("student_terms", student_terms(sl, months, t["student_register"], days))
            write("teacher_terms", teacher_terms(t, sl))
            write("quality", quality(t, sl, facts))
            con.disconnect()
            snapshot_id = writer.commit({
                "built_from": {"snapshot_id": source["snapshot_id"], "key": source.get("key")},
                "period": {"first_day": None if first is None else first.isoformat(),
                           "last_day": None if last is None else last.isoformat()},
            })  # fmt: skip
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return BuildReport(snapshot_id, source["snapshot_id"], rows)


def _copy_to(con: Backend, expression: ir.Table) -> Callable[[Path], None]:
    """Write ``expression`` to a Parquet file with the engine's own parallel writer."""

    def write(path: Path) -> None:
        sql = ibis.to_sql(expression, dialect="duckdb")
        # DuckDB sums integers into 128-bit integers, which Parquet stores as doubles: cast every
        # column to the type the expression declares, so counts stay integers in the files.
        casts = ", ".join(
            f'CAST("{name}" AS {DuckDBType.to_string(kind)}) AS "{name}"'
            for name, kind in expression.schema().items()
            if kind.is_integer()
        )
        if casts:
            sql = f"SELECT * REPLACE ({casts}) FROM ({sql})"
        con.raw_sql(f"COPY ({sql}) TO '{_quoted(str(path))}' (FORMAT parquet, COMPRESSION zstd)")

    return write


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
