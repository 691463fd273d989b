"""Immutable snapshots of pseudonymised tables under the data directory.

Layout::

    DATA_DIR/
      snapshots/<snapshot_id>/<table>.parquet   one file per table
      snapshots/<snapshot_id>/manifest.json     row counts, content hashes, key id, sources
      snapshots/.staging-<random>/              a build in progress (never read)
      CURRENT                                   the id of the snapshot in use

A build writes into a staging folder, renames it into place when complete, and only then
switches ``CURRENT`` with an atomic rename. A crash at any point leaves the previous snapshot
in use and intact; a stale staging folder is removed by the next build.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from medler import __version__
from medler.errors import InputFileError, OutputLocationError

POINTER = "CURRENT"
SNAPSHOTS = "snapshots"
MANIFEST = "manifest.json"


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
    _carried: dict[str, tuple[Path, pa.Schema, int]] = field(default_factory=dict)

    def __enter__(self) -> SnapshotWriter:
        root = self.data_dir / SNAPSHOTS
        try:
            root.mkdir(parents=True, exist_ok=True)
            for stale in root.glob(".staging-*"):
                shutil.rmtree(stale, ignore_errors=True)
            self._staging = root / f".staging-{secrets.token_hex(6)}"
            self._staging.mkdir()
        except OSError as error:
            raise OutputLocationError(
                f"cannot write to the data directory {self.data_dir} "
                f"({error.strerror or error}); set --data-dir or MEDLER_DATA_DIR to a folder "
                "you may write to"
            ) from error
        return self

    def __exit__(self, *exc: object) -> None:
        for table in self._tables.values():
            table.writer.close()
        if self._staging is not None and self._staging.exists():
            shutil.rmtree(self._staging, ignore_errors=True)

    def write(self, name: str, batch: pa.Table) -> None:
        """Append rows to table ``name`` (created with this batch's schema on first use)."""
        assert self._staging is not None, "use SnapshotWriter as a context manager"
        table = self._tables.get(name)
        if table is None:
            path = self._staging / f"{name}.parquet"
            writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
            table = self._tables[name] = _Table(batch.schema, writer, path)
        table.writer.write_table(batch.cast(table.schema))
        table.rows += batch.num_rows

    def rewrite(self, name: str, rewrite: Callable[[Path, Path], int | None]) -> None:
        """Close table ``name`` and let ``rewrite(old, new)`` write a replacement file and
        return its row count, or return None to keep the table as it is. For whole-table
        passes such as deduplication; nothing may be appended to the table afterwards."""
        table = self._tables.get(name)
        if table is None:
            return
        table.writer.close()
        replacement = table.path.with_suffix(".rewrite.parquet")
        rows = rewrite(table.path, replacement)
        if rows is not None:
            os.replace(replacement, table.path)
            table.rows = rows

    def carry_over(self, previous: Path, names: Iterable[str]) -> None:
        """Take tables unchanged from an earlier snapshot (hard links where possible: a
        snapshot is never modified, so sharing its files is safe)."""
        assert self._staging is not None
        for name in names:
            source = previous / f"{name}.parquet"
            target = self._staging / source.name
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
            schema = pq.read_schema(target)
            rows = pq.ParquetFile(target).metadata.num_rows
            self._carried[name] = (target, schema, rows)

    def write_file(self, name: str, write: Callable[[Path], None]) -> Path:
        """Let ``write(path)`` write table ``name`` as one Parquet file (an engine writing in
        parallel, say); returns the file, which can be read before the snapshot is
        committed."""
        assert self._staging is not None, "use SnapshotWriter as a context manager"
        assert name not in self._tables and name not in self._carried, name
        target = self._staging / f"{name}.parquet"
        write(target)
        metadata = pq.ParquetFile(target)
        self._carried[name] = (target, metadata.schema_arrow, metadata.metadata.num_rows)
        return target

    def rows(self, name: str) -> int:
        """Rows written so far to table ``name`` (0 if none)."""
        if name in self._tables:
            return self._tables[name].rows
        return self._carried[name][2] if name in self._carried else 0

    def ensure(self, name: str, schema: pa.Schema) -> None:
        """Make sure table ``name`` exists, empty if nothing was written to it."""
        if name not in self._tables and name not in self._carried:
            self.write(name, schema.empty_table())

    def commit(self, manifest: dict[str, Any]) -> str:
        """Close the tables, write the manifest, move the snapshot into place and point
        ``CURRENT`` at it. Returns the snapshot id."""
        assert self._staging is not None
        for table in self._tables.values():
            table.writer.close()
        now = dt.datetime.now(dt.UTC)
        snapshot_id = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        manifest = {
            "snapshot_id": snapshot_id,
            "kind": self.kind,
            "created": now.isoformat(timespec="seconds"),
            "software_version": __version__,
            **manifest,
            "tables": {
                name: {"rows": rows, "sha256": file_sha256(path), "file": path.name}
                for name, (path, rows) in sorted(
                    {
                        **{n: (t.path, t.rows) for n, t in self._tables.items()},
                        **{n: (c[0], c[2]) for n, c in self._carried.items()},
                    }.items()
                )
            },
        }
        (self._staging / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        final = self.data_dir / SNAPSHOTS / snapshot_id
        os.replace(self._staging, final)
        self._tables.clear()
        self._carried.clear()
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
