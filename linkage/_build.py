"""``build_research_tables``: the current canonical snapshot → a new research snapshot.

Research snapshots live under ``DATA_DIR/research/`` (``snapshots/<id>/``, ``CURRENT``), are
immutable, and record in their manifest the canonical snapshot they were built from.

``student_lessons`` is written first, by the engine straight to Parquet; every other table is
an aggregate of it (plus the lessons' teachers) and is computed from that file, so the joins
that decide who was in which lesson run once. The engine runs under a memory limit and spills
to a folder inside the data directory, so memory stays bounded whatever the data's size.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow.compute as pc
import pyarrow.parquet as pq

from linkage._basis import CLASSES, build_basis, class_tables, empty_reasons
from linkage._engines import (
    DEFAULT_MEMORY_LIMIT,
    ENGINES,
    BuildEngine,
    open_engine,
    parquet_rows,
)
from linkage._incremental import Plan, build_changed, plan_incremental
from linkage._snapshot import SnapshotWriter, current_snapshot, read_manifest
from linkage.build import (
    conform,
    exposure,
    lesson_facts,
    lesson_teachers,
    quality,
    snapshot_files,
    student_days,
    student_lessons,
    student_months,
    student_profiles,
    student_teachers,
    student_term_teachers,
    student_terms,
    teacher_terms,
    turnover,
)
from medler.errors import UsageError

RESEARCH = "research"
TABLES = (
    "student_lessons",
    "student_teachers",
    "exposure",
    "student_months",
    "student_terms",
    "student_term_teachers",
    "student_profiles",
    "teacher_terms",
    "quality",
)


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
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    engine: str = "duckdb",
    spark_master: str | None = None,
    incremental: bool = False,
) -> BuildReport:
    """Build the research tables from the current canonical snapshot on ``engine`` (duckdb or
    spark); the same ibis expressions run on either, and write the same files. With
    ``incremental``, after weekly deliveries only the months and terms they touched are
    recomputed (``linkage._incremental``), when the data allow it; else everything is."""
    if engine not in ENGINES:
        raise UsageError(f"the engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    canonical = current_snapshot(data_dir)
    source = read_manifest(canonical)
    rows: dict[str, int] = {}
    paths: dict[str, Path] = {}
    plan = (
        plan_incremental(data_dir, data_dir / RESEARCH, canonical, TABLES) if incremental else None
    )
    spill = Path(tempfile.mkdtemp(prefix=".spill-", dir=_ensure(data_dir / RESEARCH)))
    try:
        e = open_engine(engine, spill=spill, memory_limit=memory_limit, spark_master=spark_master)
        files = snapshot_files(canonical)
        t = {name: e.read_parquet(path, f"canonical_{name}") for name, path in files.items()}
        # a source without lessons: these tables from its classes instead (linkage/_basis.py)
        basis = build_basis(files)
        classes = class_tables(e, t, files, spill) if basis == CLASSES else None
        by_classes = classes.tables if classes else {}
        if isinstance(plan, Plan) and classes is not None:
            plan = "a build from classes (no lessons) is always a full one"
        with SnapshotWriter(data_dir / RESEARCH, kind="research") as writer:

            def write(name: str, expression: ir.Table) -> ir.Table:
                if name in by_classes:
                    expression = conform(by_classes[name], expression.schema())
                path = writer.write_file(name, lambda target: e.write_parquet(expression, target))
                rows[name], paths[name] = parquet_rows(path), path
                return e.read_parquet(path, f"research_{name}")

            if isinstance(plan, Plan):
                build_changed(e, t, plan, write)
            else:
                _build_all(e, t, write)
            first, last = _date_range(paths["student_lessons"], "local_date")
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


def _build_all(
    e: BuildEngine, t: dict[str, ir.Table], write: Callable[[str, ir.Table], ir.Table]
) -> None:
    """Every research table from every lesson."""
    # the lesson-level facts, small, kept by the engine: it then knows their size
    # and joins the pupils to them once
    facts = e.keep("lesson_facts", lesson_facts(t))
    sl = write("student_lessons", student_lessons(t, facts))
    taught = e.keep("lesson_teachers", lesson_teachers(t))
    met = write("student_teachers", student_teachers(sl, taught))
    exposed = write("exposure", exposure(sl, met, turnover(t, sl, taught)))
    days = e.keep("student_days", student_days(sl))
    months = write("student_months", student_months(sl, t["students"], days, schools=t["schools"]))
    terms = write(
        "student_terms",
        student_terms(sl, months, t["student_register"], t["students"], days, schools=t["schools"]),
    )
    term_teachers = write("student_term_teachers", student_term_teachers(met))
    write("student_profiles", student_profiles(exposed, terms, term_teachers))
    write("teacher_terms", teacher_terms(t, sl))
    write("quality", quality(t, sl, facts))


def _date_range(path: Path, column: str) -> tuple[dt.date | None, dt.date | None]:
    """The first and last value of a date column, from the file's statistics (every engine
    writes them), else by reading the column."""
    meta = pq.ParquetFile(path).metadata
    index = meta.schema.names.index(column)
    lows, highs = [], []
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(index).statistics
        if meta.row_group(group).num_rows == 0:
            continue
        if stats is None or not stats.has_min_max:
            values = pq.read_table(path, columns=[column])[column]
            return pc.min(values).as_py(), pc.max(values).as_py()
        lows.append(stats.min)
        highs.append(stats.max)
    return (min(lows), max(highs)) if lows else (None, None)


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
