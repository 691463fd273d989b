"""What the data directory holds: every canonical and research snapshot, when it was made,
with which pseudonymisation key version (from its manifest; a research snapshot's is the key of
the canonical snapshot it was built from) and whether it is the one in use.

Retention and crypto-shredding read this; neither opens a table.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from linkage._snapshot import MANIFEST, POINTER, SNAPSHOTS

RESEARCH = "research"  # the research snapshots' folder (``linkage._build``)
KINDS = {"canonical snapshot": "", "research snapshot": RESEARCH}


@dataclass(frozen=True)
class SnapshotEntry:
    kind: str  # canonical snapshot | research snapshot
    id: str
    path: Path
    created: dt.datetime | None  # None: a manifest that does not say (or cannot be read)
    key_id: str | None
    key_version: int | None
    current: bool


def list_snapshots(data_dir: Path) -> list[SnapshotEntry]:
    """Every complete snapshot under ``data_dir``, canonical first, oldest first (a folder
    without a manifest is a build that never finished: not listed, and never in use)."""
    out = []
    for kind, sub in KINDS.items():
        root = data_dir / sub if sub else data_dir
        pointer = root / POINTER
        current = pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else None
        folder = root / SNAPSHOTS
        if not folder.is_dir():
            continue
        found = []
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or not (path / MANIFEST).is_file():
                continue
            found.append(_entry(kind, path, path.name == current))
        out += sorted(found, key=lambda e: (e.created is None, e.created or dt.datetime.min, e.id))
    return out


def _entry(kind: str, path: Path, current: bool) -> SnapshotEntry:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    key = manifest.get("key") if kind == "canonical snapshot" else None
    if kind == "research snapshot":
        key = (manifest.get("built_from") or {}).get("key")
    key = key if isinstance(key, dict) else {}
    created = None
    try:
        created = dt.datetime.fromisoformat(str(manifest["created"]))
        created = created if created.tzinfo else created.replace(tzinfo=dt.UTC)
    except (KeyError, ValueError):
        pass
    version = key.get("version")
    return SnapshotEntry(
        kind,
        path.name,
        path,
        created,
        key.get("key_id"),
        version if isinstance(version, int) else None,
        current,
    )
