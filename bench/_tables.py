"""The files of a snapshot's tables, as the benchmarks read them: one file per table, or its
parts (a table added to by weekly deliveries, or a research table an incremental build wrote
beside the parts it shares), without medler's own code."""

from __future__ import annotations

import json
from pathlib import Path


def snapshot_tables(data_dir: Path) -> dict[str, list[Path]]:
    """The files of each table of the current snapshot of ``data_dir`` (a data directory, or
    its ``research`` folder)."""
    snapshot = data_dir / "snapshots" / (data_dir / "CURRENT").read_text(encoding="utf-8").strip()
    manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    return {
        name: [snapshot / part["file"] for part in entry.get("files", [entry])]
        for name, entry in manifest["tables"].items()
    }


def research_tables(data_dir: Path) -> dict[str, list[Path]]:
    """The files of each table of the current research snapshot of ``data_dir``."""
    return snapshot_tables(data_dir / "research")


def files_sql(paths: list[Path]) -> str:
    """``paths`` as a DuckDB list of strings."""
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"
