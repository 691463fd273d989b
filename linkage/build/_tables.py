"""The canonical tables of a snapshot, as Ibis tables on one backend connection."""

from __future__ import annotations

from pathlib import Path

import ibis
from ibis.backends.duckdb import Backend

from linkage._canonical import SCHEMAS
from linkage._snapshot import read_manifest


def snapshot_files(snapshot: Path) -> dict[str, Path]:
    """The Parquet file of every canonical table the build reads."""
    tables = read_manifest(snapshot)["tables"]
    return {name: snapshot / tables[name]["file"] for name in SCHEMAS if name in tables}


def open_snapshot(snapshot: Path, con: Backend | None = None) -> dict[str, ibis.Table]:
    """Every canonical table of ``snapshot`` (read lazily from its Parquet files)."""
    con = con or ibis.duckdb.connect()
    tables = read_manifest(snapshot)["tables"]
    return {
        name: con.read_parquet(snapshot / tables[name]["file"], table_name=f"canonical_{name}")
        for name in SCHEMAS
        if name in tables
    }
