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

A build on DuckDB (full or incremental) runs the statements of its compiled plan when the
package holds the plan of the running code (``linkage._plans``): the same statements the
expressions compile to, without building, compiling or even importing them. Any other build
compiles its expressions, and on DuckDB records its statements (``BuildReport.steps``), from
which the plans are made.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linkage._backends import (
    BACKENDS,
    ComputeBackend,
    DuckDBBackend,
    fitted_memory_limit,
    open_backend,
    sql_quoted,
)
from linkage._basis import CLASSES, LESSONS, build_basis, class_tables, empty_reasons, table_rows
from linkage._incremental import (
    Parts,
    Plan,
    plan_incremental,
    previous_parts,
    scope_files,
    scope_tables,
)
from linkage._plans import CompiledPlan, Step, find_plan, variant
from linkage._snapshot import SnapshotWriter, current_snapshot, footer_reader, read_manifest
from linkage.research._names import KEPT_TABLES, PERIOD, RESEARCH_TABLES
from linkage.research._tables import snapshot_files
from medler.errors import UsageError

if TYPE_CHECKING:
    import ibis.expr.types as ir

RESEARCH = "research"
STUDENT_LESSONS = "student_lessons"  # built only when asked: no other table needs it
# always built: the research tables but student_lessons, and what the next incremental build
# reads of this one (``KEPT_TABLES``)
TABLES = (*(name for name in RESEARCH_TABLES if name != STUDENT_LESSONS), *KEPT_TABLES)
ALL_TABLES = (*RESEARCH_TABLES, *KEPT_TABLES)  # with student_lessons
SPAN = "period"  # the file of the first and last day of a held lesson with a pupil
# (name, write(path, partition column or None)) → the files written, parts of the table
Writes = Callable[[Path, str | None], None]
WriteTable = Callable[[str, Writes], list[Path]]
Views = dict[str, dict[str, list[Path]]]  # a view's prefix → its table → the files (``_views``)


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
    compiled_plan: str | None = None  # the kept plan run (``linkage._plans``), if one was
    # the statements run, when the expressions were compiled on DuckDB (a plan's steps)
    steps: tuple[Step, ...] = field(default=(), repr=False)


def build_research_tables(
    data_dir: Path,
    *,
    memory_limit: str | None = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
    incremental: bool = False,
    student_lessons: bool = False,
    compiled: bool = True,
) -> BuildReport:
    """Build the research tables from the current canonical snapshot on ``engine`` (duckdb or
    spark); the same ibis expressions run on either, and write the same files. With
    ``incremental``, after weekly deliveries only the months and terms they touched are
    recomputed (``linkage._incremental``), when the data allow it; else everything is. With
    ``student_lessons``, that table too (one row per pupil and held lesson). ``memory_limit``:
    the engine's, as given (DuckDB's size syntax); by default half the machine's memory, at
    most 4 GB, and less for a small build. ``compiled``: a DuckDB build may run the compiled
    plan of the running code (``linkage._plans``); without, it compiles."""
    if engine not in BACKENDS:
        raise UsageError(f"the engine must be one of {', '.join(BACKENDS)}, not {engine!r}")
    canonical = current_snapshot(data_dir)
    built = ALL_TABLES if student_lessons else TABLES
    plan = (
        plan_incremental(data_dir, data_dir / RESEARCH, canonical, built) if incremental else None
    )
    return build_with(
        data_dir,
        canonical,
        plan,
        memory_limit=memory_limit,
        engine=engine,
        spark_master=spark_master,
        student_lessons=student_lessons,
        compiled=compiled,
    )


def build_with(
    data_dir: Path,
    canonical: Path,
    plan: Plan | str | None,
    *,
    memory_limit: str | None = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
    student_lessons: bool = False,
    compiled: bool = True,
) -> BuildReport:
    """``build_research_tables`` of the canonical snapshot ``canonical`` (the one its ``plan``
    was made for) with its ``plan``: the months and terms to recompute, or why the build is a
    full one (None: not asked to add to the research snapshot in use)."""
    source = read_manifest(canonical)
    rows: dict[str, int] = {}
    spill = Path(tempfile.mkdtemp(prefix=".spill-", dir=_ensure(data_dir / RESEARCH)))
    try:
        files = snapshot_files(canonical)
        if memory_limit is None:  # the default, fitted to the build's size
            memory_limit = fitted_memory_limit(table_rows(files, "attendance"))
        e = open_backend(engine, spill=spill, memory_limit=memory_limit, spark_master=spark_master)
        # a source without lessons: some tables from its classes instead (linkage/_basis.py)
        basis = build_basis(files)
        if isinstance(plan, Plan) and basis == CLASSES:
            plan = "a build from classes (no lessons) is always a full one"
        built = ALL_TABLES if student_lessons else TABLES
        parts = previous_parts(plan, built) if isinstance(plan, Plan) else {}
        views = _views(files, plan, spill, parts)
        name = variant(isinstance(plan, Plan), student_lessons)
        # on DuckDB: the statements of a compiled plan, or recorded for one
        kept: CompiledPlan | None = None
        if isinstance(e, DuckDBBackend) and basis == LESSONS:
            kept = find_plan(name, _inputs(views)) if compiled else None
            e.steps = [] if kept is None else None
        with SnapshotWriter(data_dir / RESEARCH, kind="research") as writer:
            write, tables = _parts_writer(writer, plan, parts, rows, isinstance(e, DuckDBBackend))
            span = spill / f"{SPAN}.parquet"
            if kept is not None:
                assert isinstance(e, DuckDBBackend)
                _replay(e, kept, views, write, tables, span)
                notes: list[str] = []
                period: tuple[dt.date | None, dt.date | None] = (None, None)
            else:
                notes, period = _compile_and_run(
                    e, views, basis, plan, write, tables, span, spill, student_lessons
                )
            first, last = _period(span, plan) if basis == LESSONS else period
            steps = tuple(e.steps or ()) if isinstance(e, DuckDBBackend) else ()
            e.close()
            empty = empty_reasons(basis, rows, files)
            done: dict[str, Any] | None = None
            if isinstance(plan, Plan):
                done = plan.record()
            elif plan is not None:
                done = {"full": plan}
            used = None if kept is None else f"{name} {kept.key[:16]}"
            snapshot_id = writer.commit(
                {
                    "built_from": {"snapshot_id": source["snapshot_id"], "key": source.get("key")},
                    "period": {
                        "first_day": None if first is None else first.isoformat(),
                        "last_day": None if last is None else last.isoformat(),
                    },
                    "engine": engine,
                    "compiled_plan": used,
                    "basis": basis,
                    "empty_tables": empty,
                    "notes": notes,
                    **({} if done is None else {"incremental": done}),
                }
            )
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return BuildReport(
        snapshot_id, source["snapshot_id"], rows, basis, empty, tuple(notes), done, used, steps
    )


def _parts_writer(
    writer: SnapshotWriter,
    plan: Plan | str | None,
    parts: dict[str, Parts],
    rows: dict[str, int],
    by_period: bool,
) -> tuple[WriteTable, dict[str, list[Path]]]:
    """How the build writes its tables into ``writer`` (counting their ``rows``), and each
    table's files so far: first the parts of the research snapshot added to that hold no
    recomputed period (``parts``), shared. ``by_period`` (DuckDB): a file per month or term,
    each shared by later builds while its period is not recomputed; else (Spark) one file,
    whose periods are recorded (``SnapshotWriter.write_file``)."""
    for table, planned in parts.items():
        assert isinstance(plan, Plan)
        writer.share_parts(plan.previous, table, planned.shared)
    tables = {table: writer.shared_files(table) for table in parts}

    def write(name: str, to: Writes) -> list[Path]:
        paths = writer.write_file(name, to, periods=PERIOD.get(name), by_period=by_period)
        tables.setdefault(name, []).extend(paths)
        rows[name] = writer.rows(name)
        return paths

    return write, tables


def _views(
    files: dict[str, list[Path]], plan: Plan | str | None, scratch: Path, parts: dict[str, Parts]
) -> Views:
    """What a build reads, by the prefix of its view: ``canonical`` (the canonical tables),
    and for an incremental build ``previous`` (of each table of the research snapshot added
    to, the parts whose rows of the periods not recomputed are written again: ``Parts.split``;
    none, as an empty file of the table's columns) and ``scope`` (the months and terms
    recomputed, ``linkage._incremental.scope_files``)."""
    views: Views = {"canonical": files}
    if isinstance(plan, Plan):
        views["previous"] = {
            name: list(planned.split) or [_empty_like(planned.any_part, scratch / f"{name}.0")]
            for name, planned in parts.items()
        }
        views["scope"] = {name: [path] for name, path in scope_files(plan, scratch).items()}
    return views


def _empty_like(part: Path, target: Path) -> Path:
    """An empty Parquet file with the columns of ``part`` (as DuckDB reads and writes them:
    the research tables are written by it, or read by it as these are)."""
    target = target.with_suffix(".parquet")
    with footer_reader().cursor() as con:
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{sql_quoted(str(part))}') LIMIT 0) "
            f"TO '{sql_quoted(str(target))}' (FORMAT parquet)"
        )
    return target


def _inputs(views: Views) -> dict[str, list[Path]]:
    """The files whose schemas a compiled plan must have been compiled against: the
    canonical tables, and the research snapshot an incremental build adds to."""
    previous = {f"previous_{name}": paths for name, paths in views.get("previous", {}).items()}
    return {**views["canonical"], **previous}


def _compile_and_run(
    e: ComputeBackend,
    views: Views,
    basis: str,
    plan: Plan | str | None,
    write: WriteTable,
    tables: dict[str, list[Path]],
    span: Path,
    scratch: Path,
    student_lessons: bool,
) -> tuple[list[str], tuple[dt.date | None, dt.date | None]]:
    """The research tables from their expressions (``linkage.research``), each written with
    ``write`` (``tables``: each table's files so far, its shared parts included); the span of
    the lessons to ``span``. Returns the notes and, for a build from classes, its period."""
    from linkage.research import FULL, conform, research_tables

    files = views["canonical"]
    t = {name: e.read_parquet(path, f"canonical_{name}") for name, path in files.items()}
    classes = class_tables(e, t, files, scratch) if basis == CLASSES else None
    by_classes = classes.tables if classes else {}
    scope, earlier = FULL, {}
    if isinstance(plan, Plan):
        scope = scope_tables(e, {name: paths[0] for name, paths in views["scope"].items()})
        earlier = {
            name: e.read_parquet(paths, f"previous_{name}")
            for name, paths in views["previous"].items()
        }

    def emit(name: str, expression: ir.Table) -> ir.Table:
        if name in by_classes:
            expression = conform(by_classes[name], expression.schema())
        if name in earlier:
            # the split parts' rows of the periods not recomputed, written again (the parts
            # that hold none of them are shared: ``previous_parts``), then the recomputed
            # rows, in the earlier snapshot's columns and types
            before, column = earlier[name], PERIOD[name]
            rest = before.filter(~before[column].isin(scope.of(column)))
            write(name, _writes(e, rest))
            expression = expression.select(*before.columns).cast(before.schema())
        write(name, _writes(e, expression))
        return e.read_parquet(tables[name], f"research_{name}")

    dated = research_tables(
        t,
        emit,
        scope=scope,
        keep=e.keep,
        release=e.release,
        with_student_lessons=student_lessons,
    )
    if classes is None:
        e.write_parquet(dated, span)  # written as every table is (no engine's own fetch)
        return [], (None, None)
    return classes.notes, classes.period


def _writes(e: ComputeBackend, expression: ir.Table) -> Writes:
    """``expression`` written by the engine to a file, or by DuckDB to a folder of files, one
    per value of a column."""

    def to(target: Path, by: str | None) -> None:
        if by is None:
            e.write_parquet(expression, target)
        else:
            assert isinstance(e, DuckDBBackend)
            e.write_parquet(expression, target, by)

    return to


def _replay(
    e: DuckDBBackend,
    plan: CompiledPlan,
    views: Views,
    write: WriteTable,
    tables: dict[str, list[Path]],
    span: Path,
) -> None:
    """Run a compiled plan's steps: its views on these files (``_views``) and on the tables
    as written (``tables``: each table's files, its shared parts included), each part written
    with ``write``, the span of the lessons to ``span``."""
    for step in plan.steps:
        if step.kind == "view":
            origin, _, table = step.name.partition("_")
            e.view(step.name, tables[table] if origin == "research" else views[origin][table])
        elif step.kind == "run":
            e.run(step.name, step.sql)
        elif step.kind == "write" and step.name == SPAN:
            e.copy(step.name, step.sql[0], span)
        elif step.kind == "write":
            write(step.name, partial(e.copy, step.name, step.sql[0]))
        else:
            raise ValueError(f"a compiled plan's step of unknown kind {step.kind!r}")


def _period(span: Path, plan: Plan | str | None) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day of a held lesson with a pupil: those of the scope (``span``),
    and with an incremental build also those of the research snapshot added to."""
    with footer_reader().cursor() as con:
        rows = con.execute(
            f"SELECT first_day, last_day FROM read_parquet('{sql_quoted(str(span))}')"
        ).fetchall()
    ((first_day, last_day),) = rows
    days = [first_day, last_day]
    if isinstance(plan, Plan):
        before = read_manifest(plan.previous).get("period") or {}
        days += [dt.date.fromisoformat(d) for d in before.values() if d]
    known = [d for d in days if d is not None]
    return (min(known), max(known)) if known else (None, None)


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
