"""``build_research_tables``: the current canonical snapshot → a new research snapshot.

Research snapshots live under ``DATA_DIR/research/`` (``snapshots/<id>/``, ``CURRENT``), are
immutable, and record in their manifest the canonical snapshot they were built from.

The tables are computed by ``linkage.research.research_tables``, the one wiring a full and an
incremental build share (``linkage._incremental`` gives the latter its months and terms): the
pupils' lessons are summed per group of pupils who sat the same lessons before they are joined
to the pupils, so no table is made from ``student_lessons``. That table (one row per pupil and
held lesson, by far the largest) is built only when asked (``student_lessons=True``, ``medler
build --student-lessons``). The engine runs under a memory limit and spills to a folder inside
the data directory, so memory stays bounded whatever the data's size.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow.parquet as pq

from linkage._backends import (
    BACKENDS,
    ComputeBackend,
    fitted_memory_limit,
    open_backend,
    parquet_rows,
)
from linkage._basis import CLASSES, build_basis, class_tables, empty_reasons, table_rows
from linkage._incremental import Plan, merge, plan_incremental, previous_tables
from linkage._snapshot import SnapshotWriter, current_snapshot, read_manifest
from linkage.research import FULL, PERIOD, RESEARCH_TABLES, conform, research_tables, snapshot_files
from medler.errors import UsageError

RESEARCH = "research"
STUDENT_LESSONS = "student_lessons"  # built only when asked: no other table needs it
TABLES = tuple(name for name in RESEARCH_TABLES if name != STUDENT_LESSONS)  # always built


@dataclass(frozen=True)
class BuildReport:
    snapshot_id: str
    built_from: str
    rows: dict[str, int]
    basis: str = "lessons"  # or "classes": linkage/_basis.py
    empty: dict[str, str] = field(default_factory=dict)  # empty table → why
    notes: tuple[str, ...] = ()
    # with ``incremental``: what was recomputed (``linkage._incremental``), or why all was
    incremental: dict[str, Any] | None = None


def build_research_tables(
    data_dir: Path,
    *,
    memory_limit: str | None = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
    incremental: bool = False,
    student_lessons: bool = False,
) -> BuildReport:
    """Build the research tables from the current canonical snapshot on ``engine`` (duckdb or
    spark); the same ibis expressions run on either, and write the same files. With
    ``incremental``, after weekly deliveries only the months and terms they touched are
    recomputed (``linkage._incremental``), when the data allow it; else everything is. With
    ``student_lessons``, that table too (one row per pupil and held lesson). ``memory_limit``:
    the engine's, as given (DuckDB's size syntax); by default half the machine's memory, at
    most 4 GB, and less for a small build."""
    if engine not in BACKENDS:
        raise UsageError(f"the engine must be one of {', '.join(BACKENDS)}, not {engine!r}")
    canonical = current_snapshot(data_dir)
    source = read_manifest(canonical)
    built = RESEARCH_TABLES if student_lessons else TABLES
    rows: dict[str, int] = {}
    plan = (
        plan_incremental(data_dir, data_dir / RESEARCH, canonical, built) if incremental else None
    )
    spill = Path(tempfile.mkdtemp(prefix=".spill-", dir=_ensure(data_dir / RESEARCH)))
    try:
        files = snapshot_files(canonical)
        if memory_limit is None:  # the default, fitted to the build's size
            memory_limit = fitted_memory_limit(table_rows(files, "attendance"))
        e = open_backend(engine, spill=spill, memory_limit=memory_limit, spark_master=spark_master)
        t = {name: e.read_parquet(path, f"canonical_{name}") for name, path in files.items()}
        # a source without lessons: these tables from its classes instead (linkage/_basis.py)
        basis = build_basis(files)
        classes = class_tables(e, t, files, spill) if basis == CLASSES else None
        by_classes = classes.tables if classes else {}
        if isinstance(plan, Plan) and classes is not None:
            plan = "a build from classes (no lessons) is always a full one"
        scope = plan.scope if isinstance(plan, Plan) else FULL
        earlier = previous_tables(e, plan) if isinstance(plan, Plan) else {}
        with SnapshotWriter(data_dir / RESEARCH, kind="research") as writer:

            def emit(name: str, expression: ir.Table) -> ir.Table:
                if name in by_classes:
                    expression = conform(by_classes[name], expression.schema())
                if name in earlier:  # the rows out of scope from the earlier snapshot
                    column = PERIOD[name]
                    expression = merge(earlier[name], expression, column, scope.values(column))
                path = writer.write_file(name, lambda target: e.write_parquet(expression, target))
                rows[name] = parquet_rows(path)
                return e.read_parquet(path, f"research_{name}")

            span = research_tables(
                t,
                emit,
                scope=scope,
                keep=e.keep,
                release=e.release,
                with_student_lessons=student_lessons,
            )
            first, last = _period(e, span, plan, spill)
            first, last = classes.period if classes else (first, last)
            e.close()
            empty = empty_reasons(basis, rows, files)
            notes = classes.notes if classes else []
            done: dict[str, Any] | None = None
            if isinstance(plan, Plan):
                done = plan.record()
            elif plan is not None:
                done = {"full": plan}
            snapshot_id = writer.commit(
                {
                    "built_from": {"snapshot_id": source["snapshot_id"], "key": source.get("key")},
                    "period": {
                        "first_day": None if first is None else first.isoformat(),
                        "last_day": None if last is None else last.isoformat(),
                    },
                    "engine": engine,
                    "basis": basis,
                    "empty_tables": empty,
                    "notes": notes,
                    **({} if done is None else {"incremental": done}),
                }
            )
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return BuildReport(snapshot_id, source["snapshot_id"], rows, basis, empty, tuple(notes), done)


def _period(
    e: ComputeBackend, span: ir.Table, plan: Plan | str | None, scratch: Path
) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day of a held lesson with a pupil: those of the scope (``span``),
    and with an incremental build also those of the research snapshot added to."""
    path = scratch / "period.parquet"  # written as every table is (no engine's own fetch)
    e.write_parquet(span, path)
    (row,) = pq.read_table(path).to_pylist()
    days = [row["first_day"], row["last_day"]]
    if isinstance(plan, Plan):
        before = read_manifest(plan.previous).get("period") or {}
        days += [dt.date.fromisoformat(d) for d in before.values() if d]
    known = [d for d in days if d is not None]
    return (min(known), max(known)) if known else (None, None)


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
