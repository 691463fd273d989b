"""The compute backends the research-table build runs on (chosen with ``medler build
--engine``). The build itself is written once, in ibis (``linkage/research/``); a backend only
opens Parquet, keeps an intermediate result (joined as written, where asked), releases it once
consumed, and writes a result to one Parquet file:

- ``duckdb`` (the default): in process, under a memory limit, spilling to a folder inside the
  data directory, so a build larger than memory streams instead of failing.
- ``spark``: Apache Spark (``pip install medler[spark]``, a Java runtime), local or on a cluster
  (``--spark-master``), reading and writing the same Parquet paths or URIs.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from linkage._plans import Step
from medler.errors import UsageError

if TYPE_CHECKING:  # ibis and DuckDB load when a backend is opened, not when this is imported
    import ibis.expr.types as ir

BACKENDS = ("duckdb", "spark")
SPARK_MASTER_ENV = "MEDLER_SPARK_MASTER"
_MEMORY = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def _default_memory_limit() -> str:
    """4 GB, or half the machine's memory where that is less."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return "4GB"
    return f"{max(256, min(4096, total // 2**20 // 2))}MB"


DEFAULT_MEMORY_LIMIT = _default_memory_limit()

# A build's working set in DuckDB is about this much per registration (pupil and lesson): its
# largest intermediate is the registrations, and the hash tables over them. A small build is
# held to it (at least FLOOR) while that is at most SMALL: it fits, so it does not spill, and
# its peak stays below a hand-written script's. A larger build gets the limit asked for (by
# default half the machine, at most 4 GB), under which it spills only when it must.
BYTES_PER_REGISTRATION = 300
FLOOR, SMALL = 256 * 2**20, 512 * 2**20
_UNITS = {"kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _bytes(size: str) -> float:
    number = re.match(r"\d+(\.\d+)?", size.strip())
    unit = size.strip()[number.end() if number else 0 :].strip().lower()
    return float(number.group(0) if number else 0) * _UNITS.get(unit, 1)


def fitted_memory_limit(registrations: int, limit: str = DEFAULT_MEMORY_LIMIT) -> str:
    """The default memory limit for a build of ``registrations`` (rows of the canonical
    attendance): ``limit``, or less for a small build (``BYTES_PER_REGISTRATION``). A limit
    the user set is never fitted: it is used as given."""
    need = max(FLOOR, registrations * BYTES_PER_REGISTRATION)
    if need > SMALL or not _MEMORY.fullmatch(limit.strip()) or _bytes(limit) <= need:
        return limit
    return f"{need // 2**20}MiB"


class ComputeBackend(Protocol):
    name: str

    def read_parquet(self, path: Path | list[Path], name: str) -> ir.Table: ...

    def keep(self, name: str, expression: ir.Table, *, as_written: bool = False) -> ir.Table: ...

    def release(self, name: str) -> None: ...

    def write_parquet(self, expression: ir.Table, path: Path) -> None: ...

    def close(self) -> None: ...


def sql_quoted(text: str) -> str:
    """``text`` as the inside of an SQL string literal."""
    return text.replace("'", "''")


class DuckDBBackend:
    """DuckDB in process: bounded memory, spilling to ``spill``.

    Every statement it runs is its own SQL text, and with ``steps`` set (a list) each is
    recorded as a ``Step`` in the order run: a build's steps are its compiled plan
    (``linkage._plans``), replayed through ``view``, ``run`` and ``copy`` without Ibis."""

    name = "duckdb"

    def __init__(self, spill: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> None:
        if not _MEMORY.fullmatch(memory_limit.strip()):
            raise UsageError(f"memory limit {memory_limit!r} is not a size such as 2GB or 512MB")
        import duckdb

        self.db = duckdb.connect()
        # as Ibis sets a connection up: times in UTC, no Python variables read as tables
        for setting in (
            "SET TimeZone = 'UTC'",
            "SET python_enable_replacements = false",
            f"SET memory_limit = '{memory_limit}'",
            f"SET temp_directory = '{sql_quoted(str(spill))}'",
            "SET preserve_insertion_order = false",
        ):
            self.db.execute(setting)
        self.steps: list[Step] | None = None
        self._ibis: Any = None

    @property
    def con(self) -> Any:
        """Ibis on the same connection, opened when an expression is first compiled."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.duckdb.from_connection(self.db)
        return self._ibis

    def view(self, name: str, paths: list[Path]) -> None:
        """Parquet files (the parts of one table) as view ``name``."""
        files = ", ".join(f"'{sql_quoted(str(p))}'" for p in paths)
        self.db.execute(
            f'CREATE OR REPLACE TEMPORARY VIEW "{name}" AS SELECT * FROM read_parquet([{files}])'
        )
        self._record(Step("view", name))

    def run(self, name: str, statements: tuple[str, ...]) -> None:
        """Statements that make or drop the intermediate result ``name``."""
        for statement in statements:
            self.db.execute(statement)
        self._record(Step("run", name, statements))

    def copy(self, name: str, select: str, path: Path, partition_by: str | None = None) -> None:
        """The rows of ``select`` written to ``path`` (table ``name``) by DuckDB's parallel
        Parquet writer, compressed with Snappy (as Spark writes them): a build writes every
        table it keeps, and an incremental one each week, and Snappy writes a third faster
        than zstd (1.1 million ``exposure`` rows: 0.37 s against 0.55 s) for files a third
        larger (33 against 25 MB). ``partition_by``: ``path`` is a folder, and the rows of each
        value of that column go to a file of their own under it (``column=value/``), the
        column kept in the files (the parts of a research table: ``SnapshotWriter``)."""
        options = "FORMAT parquet, COMPRESSION snappy"
        if partition_by is not None:
            options += f', PARTITION_BY ("{partition_by}"), WRITE_PARTITION_COLUMNS true'
        self.db.execute(f"COPY ({select}) TO '{sql_quoted(str(path))}' ({options})")
        if partition_by is not None and not any(path.rglob("*.parquet")):
            # no row, so no file: one empty file of the columns (part of the same step)
            path.mkdir(parents=True, exist_ok=True)
            empty = sql_quoted(str(path / "empty.parquet"))
            self.db.execute(
                f"COPY (SELECT * FROM ({select}) LIMIT 0) TO '{empty}' "
                "(FORMAT parquet, COMPRESSION snappy)"
            )
        self._record(Step("write", name, (select,)))

    def read_parquet(self, path: Path | list[Path], name: str) -> ir.Table:
        """One file, or the parts of one table (read as one)."""
        self.view(name, path if isinstance(path, list) else [path])
        return self.con.table(name)

    def keep(self, name: str, expression: ir.Table, *, as_written: bool = False) -> ir.Table:
        """An intermediate result as a table of the backend: it then knows its size.
        ``as_written``: the joins in the order written (DuckDB's join-order optimizer would
        guess a range join's size and join the two small tables first, into one as large as
        the result). The table has the column types the expression declares (as Ibis's own
        ``create_table`` makes it)."""
        import ibis

        schema = expression.schema()
        if schema.null_fields:  # as Ibis's own create_table refuses them
            raise ValueError(f"{name}: columns of type null: {', '.join(schema.null_fields)}")
        columns = ", ".join(c.sql("duckdb") for c in schema.to_sqlglot_column_defs("duckdb"))
        names = ", ".join(f'"{column}"' for column in schema.names)
        statements: tuple[str, ...] = (
            f'CREATE TEMPORARY TABLE "{name}" ({columns})',
            f'INSERT INTO temp.main."{name}" ({names}) {ibis.to_sql(expression, dialect="duckdb")}',
        )
        if as_written:
            statements = (
                "SET disabled_optimizers = 'join_order'",
                *statements,
                "RESET disabled_optimizers",
            )
        self.run(name, statements)
        return self.con.table(name, database=("temp", "main"))

    def release(self, name: str) -> None:
        """A kept result no longer needed: its memory is freed."""
        self.run(name, (f'DROP TABLE IF EXISTS temp."{name}"',))

    def write_parquet(
        self, expression: ir.Table, path: Path, partition_by: str | None = None
    ) -> None:
        """With DuckDB's own parallel writer (``partition_by``: as ``copy``). DuckDB sums
        integers into 128-bit integers, which Parquet stores as doubles: every integer column
        is cast to the type the expression declares, so counts stay integers in the files."""
        import ibis

        sql = ibis.to_sql(expression, dialect="duckdb")
        casts = ", ".join(
            f'CAST("{name}" AS {_duckdb_type(kind)}) AS "{name}"'
            for name, kind in expression.schema().items()
            if kind.is_integer()
        )
        if casts:
            sql = f"SELECT * REPLACE ({casts}) FROM ({sql})"
        # the step is the table's (a part of it is ``<table>.<tag>.parquet``, a folder of parts
        # ``.<table>.<tag>``: ``SnapshotWriter``)
        self.copy(path.name.lstrip(".").partition(".")[0], sql, path, partition_by)

    def close(self) -> None:
        self.db.close()

    def _record(self, step: Step) -> None:
        if self.steps is not None:
            self.steps.append(step)


def _duckdb_type(kind: Any) -> str:
    from ibis.backends.sql.datatypes import DuckDBType

    return str(DuckDBType.to_string(kind))


class SparkBackend:
    """Apache Spark through ibis's PySpark backend, on ``master`` (``local[2]``,
    ``spark://host:7077``, ``yarn``, …). Times are UTC, as in the canonical tables."""

    name = "spark"

    def __init__(self, master: str | None, scratch: Path) -> None:
        master = master or os.environ.get(SPARK_MASTER_ENV) or "local[*]"
        try:
            from pyspark.sql import SparkSession
        except ImportError as error:
            raise UsageError(
                "the spark engine needs PySpark: install medler with its spark extra "
                "(pip install -c requirements/constraints.txt -e '.[spark]') and a Java "
                "runtime (17 or newer)"
            ) from error
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise UsageError(
                "the spark engine needs a Java runtime (17 or newer): install one (Debian: "
                "apt-get install default-jre-headless) or set JAVA_HOME"
            )
        self.scratch = scratch
        self._kept: dict[str, Path] = {}
        try:
            from pyspark import SparkContext

            # a context stopped by Spark itself (a fatal error, a lost heartbeat under load)
            # stays the process's active one, and a new session would be made on it and fail:
            # it is let go first
            active = SparkContext._active_spark_context
            if active is not None and active._jsc.sc().isStopped():
                active.stop()
            builder = SparkSession.builder
            if master.startswith("local"):
                # everything in one process: listen and advertise on loopback only (a task's
                # large result is fetched back from the address the driver advertises)
                builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config(
                    "spark.driver.host", "127.0.0.1"
                )
            self.session = (
                builder.master(master)
                .appName("medler-build")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", str(max(2, (os.cpu_count() or 2) * 2)))
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                # silent while reaching the master: a failure is medler's one error line
                # below, not also Spark's own (its level is set to ERROR once started)
                .config("spark.log.level", "OFF")
                .config("spark.sql.parquet.compression.codec", "zstd")
                .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
                .config("spark.sql.ansi.enabled", "false")
                .getOrCreate()
            )
            self.session.range(1).count()  # reach the master now, not half-way through a build
            self.session.sparkContext.setLogLevel("ERROR")
        except Exception as error:  # py4j and Spark raise many kinds; one clear message
            raise UsageError(
                f"cannot start Spark on master {master!r}: {type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''} — check that the master "
                "is reachable (--spark-master or $MEDLER_SPARK_MASTER) and that Java 17 or "
                "newer is installed"
            ) from error
        import ibis

        self.con = ibis.pyspark.connect(self.session)

    def read_parquet(self, path: Path | list[Path], name: str) -> ir.Table:
        """One file, or the parts of one table (read as one)."""
        if isinstance(path, list):
            self.session.read.parquet(*map(str, path)).createOrReplaceTempView(name)
            return self.con.table(name)
        return self.con.read_parquet(str(path), table_name=name)

    def keep(self, name: str, expression: ir.Table, *, as_written: bool = False) -> ir.Table:
        """Written to the scratch folder and read back: Spark then plans from real sizes, and
        the lineage is cut. Spark joins in the order written (``as_written`` is its way)."""
        folder = self.scratch / f"{name}-{uuid.uuid4().hex[:8]}"
        self._frame(expression).write.parquet(str(folder))
        self._kept[name] = folder
        return self.con.read_parquet(str(folder), table_name=name)

    def release(self, name: str) -> None:
        """A kept result no longer needed (every result made from it was kept or written):
        its files are removed."""
        self.session.catalog.dropTempView(name)
        folder = self._kept.pop(name, None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def write_parquet(self, expression: ir.Table, path: Path) -> None:
        """Spark writes a folder of parts; the research snapshot holds one file per table, so
        the parts are written as one and moved into place."""
        folder = self.scratch / f"out-{uuid.uuid4().hex[:8]}"
        self._frame(expression).coalesce(1).write.parquet(str(folder))
        parts = sorted(folder.glob("part-*.parquet"))
        if len(parts) != 1:
            raise RuntimeError(f"Spark wrote {len(parts)} parts for one table")
        shutil.move(str(parts[0]), path)
        shutil.rmtree(folder, ignore_errors=True)

    def _frame(self, expression: ir.Table) -> Any:
        """The expression as a Spark DataFrame with exactly the column types it declares
        (Spark's sums of integers are longs where the expression may say int32)."""
        import ibis
        from ibis.backends.pyspark.datatypes import PySparkType
        from pyspark.sql import functions as f

        frame = self.session.sql(ibis.to_sql(expression, dialect="pyspark"))
        return frame.select(
            *(
                f.col(f"`{name}`").cast(PySparkType.from_ibis(kind)).alias(name)
                for name, kind in expression.schema().items()
            )
        )

    def close(self) -> None:
        self.session.stop()


def open_backend(
    engine: str,
    *,
    spill: Path,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    spark_master: str | None = None,
) -> ComputeBackend:
    if engine == "duckdb":
        return DuckDBBackend(spill, memory_limit)
    if engine == "spark":
        return SparkBackend(spark_master, spill)
    raise UsageError(f"the engine must be one of {', '.join(BACKENDS)}, not {engine!r}")
