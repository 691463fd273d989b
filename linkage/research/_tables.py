"""The canonical tables of a snapshot, as Ibis tables on one backend connection."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from linkage._canonical_names import CANONICAL_TABLES
from linkage._snapshot import read_manifest, table_parts

if TYPE_CHECKING:
    import ibis
    from ibis.backends.duckdb import Backend


def snapshot_files(snapshot: Path) -> dict[str, list[Path]]:
    """The Parquet files of every canonical table the build reads (a table added to by weekly
    deliveries is held in parts, one file each)."""
    tables = read_manifest(snapshot)["tables"]
    return {
        name: [snapshot / part["file"] for part in table_parts(tables[name])]
        for name in CANONICAL_TABLES
        if name in tables
    }


def open_snapshot(snapshot: Path, con: Backend | None = None) -> dict[str, ibis.Table]:
    """Every canonical table of ``snapshot`` (read lazily from its Parquet files)."""
    import ibis

    con = con or ibis.duckdb.connect()
    return {
        name: con.read_parquet(paths, table_name=f"canonical_{name}")
        for name, paths in snapshot_files(snapshot).items()
    }
