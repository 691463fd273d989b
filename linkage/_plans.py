"""Compiled build plans: the SQL a DuckDB build runs, compiled once from the Ibis expressions
and run again without them.

The research tables are written once, as Ibis expressions (``linkage/research/``). On a small
build, building and compiling those expressions costs as much as running them: about 1.5 s of
a 5 s build at 20,000 pupils, with 0.5 s more to import Ibis. Yet on DuckDB, with the basis
lessons, the statements depend only on the code and on the schemas of the tables read, never
on the data: the tables are read through views of fixed names, every constant is in the code,
and an incremental build's months and terms are one-column tables too
(``linkage._incremental.scope_files``), not values in its statements. So the statements of
such a build, in the order the build runs them (``DuckDBBackend.steps``), are kept with the
package as its **compiled plan** (``linkage/research/plans/``, one per ``variant``: full or
incremental, with or without ``student_lessons``; written by ``scripts/compile_plans.py``), and
a build runs them as they are (``linkage._build``).

A plan is used only when it is the plan of the code running: its ``key`` is a SHA-256 of the
plan format, the Ibis, SQLGlot and DuckDB versions (DuckDB reports the column types Ibis
compiles against) and the text of every module whose change could change a statement
(``SOURCES``); a plan whose key differs is not used, and the build compiles its expressions as
before (a test fails while the kept plans are stale). It is used only on tables of the schemas
it was compiled against (the canonical tables, and the research snapshot an incremental build
adds to), compared file by file. A build from classes, on Spark, or with a stale plan compiles
its expressions.

Each ``Step`` is one thing the build did: read Parquet files as a view (``view``:
``canonical_<table>``; ``research_<table>`` for a table just written; for an incremental build
``previous_<table>`` and ``scope_<month|term|read>``), run statements that make or drop an
intermediate result (``run``), or write a ``SELECT``'s rows to a table's Parquet file
(``write``; ``period`` is the build's first and last day).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

PLAN_FORMAT = 2  # 2: the schemas as DuckDB reads them
_HERE = Path(__file__).parent
PLANS = _HERE / "research" / "plans"
# the modules whose text decides the statements of a build: the expressions, the backend that
# compiles and runs them, the build that orders them, the canonical schemas, the incremental
# build's parts and scope tables, this module (and the canonical tables' names: the views read)
SOURCES = (
    *sorted(p.relative_to(_HERE).as_posix() for p in (_HERE / "research").rglob("*.py")),
    "_backends.py",
    "_build.py",
    "_canonical.py",
    "_canonical_names.py",
    "_incremental.py",
    "_plans.py",
)
# Ibis emits SQL with SQLGlot, from the column types DuckDB reports for the tables it reads
_COMPILERS = ("ibis-framework", "sqlglot", "duckdb")


@dataclass(frozen=True)
class Step:
    """One thing a build did, in order: ``view`` (``name`` a view of Parquet files), ``run``
    (``sql``, the statements that make or drop intermediate result ``name``), ``write``
    (``sql``, one ``SELECT`` whose rows are written as table ``name``)."""

    kind: str
    name: str
    sql: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompiledPlan:
    key: str
    schemas: dict[str, str]  # table read (``table_schemas``) → the columns it was compiled against
    steps: tuple[Step, ...]

    def to_json(self) -> str:
        steps = [{"kind": s.kind, "name": s.name, "sql": list(s.sql)} for s in self.steps]
        body = {"format": PLAN_FORMAT, "key": self.key, "schemas": self.schemas, "steps": steps}
        return json.dumps(body, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> CompiledPlan:
        body = json.loads(text)
        steps = tuple(Step(s["kind"], s["name"], tuple(s["sql"])) for s in body["steps"])
        return cls(str(body["key"]), dict(body["schemas"]), steps)


def variant(incremental: bool, student_lessons: bool) -> str:
    """The plan's name: a full or an incremental build, with or without ``student_lessons``."""
    return ("incremental" if incremental else "full") + (
        "-with-student-lessons" if student_lessons else ""
    )


VARIANTS = tuple(variant(i, s) for i in (False, True) for s in (False, True))


def code_key() -> str:
    """The key of the running code's plans (see the module's docstring)."""
    digest = hashlib.sha256(f"medler build plan {PLAN_FORMAT}\n".encode())
    for name in _COMPILERS:
        digest.update(f"{name} {metadata.version(name)}\n".encode())
    for source in SOURCES:
        digest.update(f"{source}\n".encode())
        digest.update((_HERE / source).read_bytes().replace(b"\r\n", b"\n"))
    return digest.hexdigest()


def table_schemas(files: dict[str, list[Path]]) -> dict[str, str]:
    """Each table's columns and their types as DuckDB reads them (the canonical tables and,
    for an incremental build, ``previous_<table>``): what the views the statements read are
    made of (not nullability or metadata, which the views do not carry); parts that differ are
    each listed. Read by DuckDB from the files' footers (a build never loads pyarrow)."""
    from linkage._snapshot import footer_reader

    schemas = {}
    with footer_reader().cursor() as con:
        for name, parts in sorted(files.items()):
            seen = dict.fromkeys(
                "\n".join(
                    f"{column}: {kind}"
                    for column, kind, *_ in con.execute(
                        "DESCRIBE SELECT * FROM read_parquet(?)", [str(part)]
                    ).fetchall()
                )
                for part in parts
            )
            schemas[name] = "\n|\n".join(seen)
    return schemas


def find_plan(name: str, files: dict[str, list[Path]]) -> CompiledPlan | None:
    """The kept plan ``name`` (a ``variant``), if it is the running code's and was compiled
    against the schemas of ``files`` (the tables the build reads); else None (the build
    compiles)."""
    path = PLANS / f"{name}.json"
    try:
        plan = CompiledPlan.from_json(path.read_text(encoding="utf-8"))
        running = code_key()  # needs the modules' text, which an install may lack
    except (OSError, ValueError, KeyError, TypeError, metadata.PackageNotFoundError):
        return None
    if plan.key != running or plan.schemas != table_schemas(files):
        return None
    return plan


def save_plan(plan: CompiledPlan, name: str, folder: Path = PLANS) -> Path:
    """Write ``plan`` as the kept plan ``name`` (atomically)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.json"
    handle, temporary = tempfile.mkstemp(prefix=".plan-", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(plan.to_json())
    os.chmod(temporary, 0o644)  # read by whoever runs a build, as the package's other files
    os.replace(temporary, target)
    return target


def compile_plan(name: str) -> CompiledPlan:
    """The plan ``name`` (a ``variant``), compiled by building the research tables of an
    empty canonical snapshot (every canonical table, no rows) with the expressions; an
    incremental one, by adding a month to the research snapshot of that build."""
    from linkage._build import ALL_TABLES, RESEARCH, TABLES, build_research_tables, build_with
    from linkage._canonical import SCHEMAS
    from linkage._incremental import Plan, previous_parts
    from linkage._snapshot import SnapshotWriter, current_snapshot
    from linkage.research import snapshot_files

    incremental, student_lessons = name.startswith("incremental"), name.endswith("lessons")
    with tempfile.TemporaryDirectory(prefix="medler-plan-") as scratch:
        data_dir = Path(scratch)
        with SnapshotWriter(data_dir, kind="canonical") as writer:
            for table, schema in SCHEMAS.items():
                writer.ensure(table, schema)
            writer.commit({})
        report = build_research_tables(data_dir, student_lessons=student_lessons, compiled=False)
        files = snapshot_files(current_snapshot(data_dir))
        if incremental:  # the statements do not depend on the months (``Scope``)
            plan = Plan(current_snapshot(data_dir / RESEARCH), ("0001-01",), ("0001HT",))
            built = previous_parts(plan, ALL_TABLES if student_lessons else TABLES)
            files |= {f"previous_{t}": [p.any_part] for t, p in built.items()}
            report = build_with(
                data_dir,
                current_snapshot(data_dir),
                plan,
                student_lessons=student_lessons,
                compiled=False,
            )
        schemas = table_schemas(files)
    steps = report.steps
    last = (steps[-1].kind, steps[-1].name) if steps else None
    if report.basis != "lessons" or last != ("write", "period"):
        raise RuntimeError(f"the build of an empty snapshot recorded no plan {name}")
    if incremental and report.incremental is None:
        raise RuntimeError("the build of an empty snapshot was not an incremental one")
    return CompiledPlan(code_key(), schemas, steps)
