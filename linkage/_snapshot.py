"""Immutable snapshots of pseudonymised tables under the data directory.

Layout::

    DATA_DIR/
      snapshots/<snapshot_id>/<table>.parquet   one file per table, or parts of one table:
      snapshots/<snapshot_id>/<table>.<tag>.parquet   one per delivery added incrementally,
                                                or per month or term of a research table
      snapshots/<snapshot_id>/manifest.json     row counts, content hashes, key id, sources
      snapshots/.staging-<random>/              a build in progress (never read)
      CURRENT                                   the id of the snapshot in use

A table's manifest entry names its ``file`` (rows, sha256), or, when it is held in parts, its
``files`` (each with its rows and sha256). A research table's parts also list the months or
terms each holds (``periods``), so that an incremental build can share the parts it does not
recompute (``linkage._incremental``). A snapshot never changes, so a new snapshot shares a
file of an earlier one as a hard link (``share``): nothing is copied, and deleting either
snapshot's folder leaves the other's files whole (a file is freed with its last link). Where
the file system has no hard links, the file is copied.

A build writes into a staging folder, renames it into place when complete, and only then
switches ``CURRENT`` with an atomic rename. A crash at any point leaves the previous snapshot
in use and intact; a stale staging folder is removed by the next build.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import secrets
import shutil
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medler import __version__
from medler.errors import InputFileError, OutputLocationError

if TYPE_CHECKING:  # pyarrow is loaded by what writes batches (the ingest), not by a build
    import pyarrow as pa
    import pyarrow.parquet as pq

# Batches being compressed and written in the background, at most (their memory is bounded so).
WRITES_AHEAD = 8
POINTER = "CURRENT"
SNAPSHOTS = "snapshots"
MANIFEST = "manifest.json"


@functools.cache
def footer_reader() -> Any:
    """One in-memory DuckDB database for reading Parquet footers and small files: opening
    one costs ~20 ms, a cursor of it (a connection of its own for each caller) well under
    one."""
    import duckdb

    return duckdb.connect()


def parquet_rows(paths: Path | list[Path]) -> int:
    """Rows of a Parquet file, or of the parts of one table, from their footers. Read by
    DuckDB, so that a build (which writes its tables with the engine) never loads pyarrow
    (0.2 s of a build's start)."""
    listed = [str(p) for p in ([paths] if isinstance(paths, Path) else paths)]
    if not listed:
        return 0
    with footer_reader().cursor() as con:
        row = con.execute(
            "SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(?)", [listed]
        ).fetchone()
    assert row is not None
    return int(row[0])


def parquet_values(path: Path, column: str) -> list[Any]:
    """The distinct values of ``column`` in a Parquet file, sorted (a null last)."""
    with footer_reader().cursor() as con:
        rows = con.execute(
            f'SELECT DISTINCT "{column}" FROM read_parquet(?) ORDER BY 1 NULLS LAST', [str(path)]
        ).fetchall()
    return [row[0] for row in rows]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class _Table:
    schema: pa.Schema
    writer: pq.ParquetWriter
    path: Path
    rows: int = 0


@dataclass
class SnapshotWriter:
    """Writes one snapshot; use as a context manager, then ``commit``."""

    data_dir: Path
    kind: str = "canonical"
    _staging: Path | None = None
    _tables: dict[str, _Table] = field(default_factory=dict)
    # parts written by ``write_file``: table → [{"path", "rows", "periods"?}, …]
    _carried: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # parts shared with earlier snapshots: table → [{"file", "rows", "sha256", "periods"?}, …]
    _shared: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # one thread encodes, compresses and appends the batches, in the order written (pyarrow
    # does so without the GIL, so the caller reads and checks the next page meanwhile)
    _background: ThreadPoolExecutor | None = None
    _writing: deque[Future[None]] = field(default_factory=deque)

    def __enter__(self) -> SnapshotWriter:
        root = self.data_dir / SNAPSHOTS
        try:
            root.mkdir(parents=True, exist_ok=True)
            for stale in root.glob(".staging-*"):
                shutil.rmtree(stale, ignore_errors=True)
            self._staging = root / f".staging-{secrets.token_hex(6)}"
            self._staging.mkdir()
            self._background = ThreadPoolExecutor(1, thread_name_prefix="snapshot-writer")
        except OSError as error:
            raise OutputLocationError(
                f"cannot write to the data directory {self.data_dir} "
                f"({error.strerror or error}); set --data-dir or MEDLER_DATA_DIR to a folder "
                "you may write to"
            ) from error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._background is not None:
            self._background.shutdown(wait=True)  # the writes under way end first
            self._background = None
        for table in self._tables.values():
            table.writer.close()
        if self._staging is not None and self._staging.exists():
            shutil.rmtree(self._staging, ignore_errors=True)

    def write(self, name: str, batch: pa.Table) -> None:
        """Append rows to table ``name`` (created with this batch's schema on first use)."""
        assert self._staging is not None, "use SnapshotWriter as a context manager"
        table = self._tables.get(name)
        if table is None:
            # a table that shares parts of an earlier snapshot gets a new part beside them
            path = self._part_path(name)
            import pyarrow.parquet as pq

            writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
            table = self._tables[name] = _Table(batch.schema, writer, path)
        cast = batch.cast(table.schema)  # a batch that does not fit fails here, in the caller
        table.rows += batch.num_rows
        assert self._background is not None  # made with the staging folder
        self._writing.append(self._background.submit(table.writer.write_table, cast))
        while len(self._writing) > WRITES_AHEAD:
            self._writing.popleft().result()

    def _written(self) -> None:
        """Wait for every batch under way (raising the first failure)."""
        while self._writing:
            self._writing.popleft().result()

    def rewrite(self, name: str, rewrite: Callable[[Path, Path], int | None]) -> None:
        """Close table ``name`` and let ``rewrite(old, new)`` write a replacement file and
        return its row count, or return None to keep the table as it is. For whole-table
        passes such as deduplication; nothing may be appended to the table afterwards."""
        table = self._tables.get(name)
        if table is None:
            return
        self._written()
        table.writer.close()
        replacement = table.path.with_suffix(".rewrite.parquet")
        rows = rewrite(table.path, replacement)
        if rows is not None:
            os.replace(replacement, table.path)
            table.rows = rows

    def carry_over(self, previous: Path, names: Iterable[str]) -> None:
        """Take tables unchanged from an earlier snapshot: every part of each, shared."""
        self.share(previous, names)

    def share(self, previous: Path, names: Iterable[str]) -> None:
        """Share tables ``names`` of the earlier snapshot ``previous`` (hard links where
        possible: a snapshot is never modified, so sharing its files is safe). Rows written to
        such a table afterwards go to a new part beside the shared ones."""
        tables = read_manifest(previous)["tables"]
        for name in names:
            self.share_parts(previous, name, table_parts(tables[name]))

    def share_parts(self, previous: Path, name: str, parts: Iterable[dict[str, Any]]) -> None:
        """Share these parts (``table_parts``) of table ``name`` of the earlier snapshot
        ``previous``, as ``share`` does; parts written to the table later go beside them."""
        assert self._staging is not None
        assert name not in self._tables and name not in self._carried, name
        for part in parts:
            target = self._staging / part["file"]
            try:
                os.link(previous / part["file"], target)
            except OSError:
                shutil.copyfile(previous / part["file"], target)
            self._shared.setdefault(name, []).append(dict(part))

    def shared_files(self, name: str) -> list[Path]:
        """The files of the parts of table ``name`` shared so far, in this snapshot."""
        assert self._staging is not None
        return [self._staging / part["file"] for part in self._shared.get(name, [])]

    def written(self, name: str) -> Path | None:
        """The file written to table ``name`` in this snapshot (closed, so that it can be
        read; nothing may be appended afterwards), or None."""
        table = self._tables.get(name)
        if table is None:
            return None
        self._written()
        table.writer.close()
        return table.path

    def discard(self, name: str) -> None:
        """Forget what was written to table ``name`` in this snapshot (to share instead)."""
        self._written()
        table = self._tables.pop(name, None)
        if table is not None:
            table.writer.close()
            table.path.unlink()

    def write_file(
        self,
        name: str,
        write: Callable[[Path, str | None], None],
        *,
        periods: str | None = None,
        by_period: bool = False,
    ) -> list[Path]:
        """Let ``write(path, None)`` write a part of table ``name`` as one Parquet file (an
        engine writing in parallel, say), or, ``by_period``, ``write(folder, periods)`` write
        it as one file per value of column ``periods`` under ``folder`` (a Hive-partitioned
        folder, as DuckDB's ``PARTITION_BY`` writes it; one empty file when there is no row),
        each of which becomes a part. Returns the files, which can be read before the
        snapshot is committed. A table may be written in several calls, beside parts shared
        with an earlier snapshot (``share_parts``).
        ``periods``: the column (``month`` or ``term``) whose distinct values each part's
        manifest entry lists, so that a later snapshot can tell which parts hold none of the
        periods it recomputes, and share them."""
        assert self._staging is not None, "use SnapshotWriter as a context manager"
        assert name not in self._tables, name
        files = []
        if by_period and periods is not None:
            folder = self._staging / f".{name}.{secrets.token_hex(4)}"
            write(folder, periods)
            for written in sorted(folder.rglob("*.parquet")) if folder.is_dir() else []:
                target = self._part_path(name)
                os.replace(written, target)
                files.append(target)
            shutil.rmtree(folder, ignore_errors=True)
            if not files:
                raise RuntimeError(f"{name}: the engine wrote no file, not even an empty one")
        else:
            files.append(self._part_path(name))
            write(files[0], None)
        for target in files:
            part: dict[str, Any] = {"path": target, "rows": parquet_rows(target)}
            if periods is not None:
                part["periods"] = parquet_values(target, periods)
            self._carried.setdefault(name, []).append(part)
        return files

    def _part_path(self, name: str) -> Path:
        """A new file of table ``name`` in the staging folder: ``<name>.parquet``, or beside
        other parts ``<name>.<tag>.parquet``."""
        assert self._staging is not None
        target = self._staging / f"{name}.parquet"
        while target.exists():
            target = self._staging / f"{name}.{secrets.token_hex(4)}.parquet"
        return target

    def rows(self, name: str) -> int:
        """Rows of table ``name`` so far, shared parts included (0 if none)."""
        shared = sum(int(part["rows"]) for part in self._shared.get(name, []))
        if name in self._tables:
            return shared + self._tables[name].rows
        return shared + sum(int(part["rows"]) for part in self._carried.get(name, []))

    def ensure(self, name: str, schema: pa.Schema) -> None:
        """Make sure table ``name`` exists, empty if nothing was written to it."""
        if name not in self._tables and name not in self._carried and name not in self._shared:
            self.write(name, schema.empty_table())

    def commit(self, manifest: dict[str, Any]) -> str:
        """Close the tables, write the manifest, move the snapshot into place and point
        ``CURRENT`` at it. Returns the snapshot id."""
        assert self._staging is not None
        self._written()
        for table in self._tables.values():
            table.writer.close()
        now = dt.datetime.now(dt.UTC)
        snapshot_id = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        parts: dict[str, list[dict[str, Any]]] = {n: list(p) for n, p in self._shared.items()}
        for name, t in self._tables.items():
            own = {"file": t.path.name, "rows": t.rows, "sha256": file_sha256(t.path)}
            parts.setdefault(name, []).append(own)
        for name, written in self._carried.items():
            for part in written:
                listed = parts.setdefault(name, [])
                if part["rows"] == 0 and (listed or part is not written[-1]):
                    part["path"].unlink()  # an empty part beside others adds nothing
                    continue
                own = {"file": part["path"].name, "rows": part["rows"]}
                own["sha256"] = file_sha256(part["path"])
                if "periods" in part:
                    own["periods"] = part["periods"]
                listed.append(own)
        manifest = {
            "snapshot_id": snapshot_id,
            "kind": self.kind,
            "created": now.isoformat(timespec="seconds"),
            "software_version": __version__,
            **manifest,
            "tables": {name: _entry(parts[name]) for name in sorted(parts)},
        }
        (self._staging / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        final = self.data_dir / SNAPSHOTS / snapshot_id
        os.replace(self._staging, final)
        self._tables.clear()
        self._carried.clear()
        self._shared.clear()
        self._staging = None
        pointer = self.data_dir / POINTER
        tmp = pointer.with_name(f".{POINTER}.{secrets.token_hex(4)}")
        tmp.write_text(snapshot_id + "\n", encoding="utf-8")
        os.replace(tmp, pointer)
        return snapshot_id


def current_snapshot(data_dir: Path) -> Path:
    """The folder of the snapshot in use; a clear error when there is none."""
    pointer = data_dir / POINTER
    if not pointer.is_file():
        raise InputFileError(
            f"the data directory {data_dir} has no snapshot yet; run 'medler ingest' first"
        )
    folder = data_dir / SNAPSHOTS / pointer.read_text(encoding="utf-8").strip()
    if not (folder / MANIFEST).is_file():
        raise InputFileError(
            f"{pointer} names a snapshot that is missing or incomplete ({folder.name}); "
            "run 'medler ingest' again"
        )
    return folder


def read_manifest(snapshot: Path) -> dict[str, Any]:
    return dict(json.loads((snapshot / MANIFEST).read_text(encoding="utf-8")))


def table_rows(snapshot: Path, names: Iterable[str]) -> dict[str, int]:
    manifest = read_manifest(snapshot)
    return {name: int(manifest["tables"][name]["rows"]) for name in names}


def _entry(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """A table's manifest entry: its one file, or its parts (each with the ``periods`` it
    holds, where they were recorded)."""
    listed = [
        {
            "file": p["file"],
            "rows": int(p["rows"]),
            "sha256": p["sha256"],
            **({"periods": list(p["periods"])} if "periods" in p else {}),
        }
        for p in parts
    ]
    if len(listed) == 1:
        return listed[0]
    return {"rows": sum(p["rows"] for p in listed), "files": listed}


def table_parts(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The files of one table's manifest entry, each with its rows and sha256."""
    if "files" in entry:
        return [dict(part) for part in entry["files"]]
    keys = ("file", "rows", "sha256", "periods")
    return [{key: entry[key] for key in keys if key in entry}]


def table_files(snapshot: Path, name: str) -> list[Path]:
    """Every file of table ``name`` in ``snapshot``, in order."""
    entry = read_manifest(snapshot)["tables"][name]
    return [snapshot / part["file"] for part in table_parts(entry)]
