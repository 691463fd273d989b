"""Where releases are kept: every release (with its values: they have left the service) and
every refusal, one JSON line each, under ``DATA_DIR/release/``. The engine uses it to return an
identical query's earlier release instead of drawing new noise, and to audit a new
disclosure-controlled output with a project's earlier ones (releases and previews: the linked
audit).

The governance layer replaces this file with database tables (projects, ledger, audit chain);
the engine only needs ``find`` , ``earlier`` and ``add``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol


class ReleaseStore(Protocol):
    def find(self, project: str, snapshot: str, digest: str) -> dict[str, Any] | None: ...

    def earlier(self, project: str, snapshot: str, table: str) -> list[dict[str, Any]]: ...

    def regimes(self, project: str, table: str) -> set[str]: ...

    def add(self, record: dict[str, Any]) -> None: ...

    def all(self) -> list[dict[str, Any]]: ...


class FileStore:
    """Release records in ``folder/releases.jsonl`` (appended, flushed and synced)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "releases.jsonl"

    def _records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def all(self) -> list[dict[str, Any]]:
        """Every record, oldest first."""
        return self._records()

    def find(self, project: str, snapshot: str, digest: str) -> dict[str, Any] | None:
        for record in reversed(self._records()):
            if (record["project"], record["snapshot"], record["digest"]) == (
                project, snapshot, digest,
            ) and record["status"] == "released":  # fmt: skip
                return record
        return None

    def earlier(self, project: str, snapshot: str, table: str) -> list[dict[str, Any]]:
        return [
            r for r in self._records()
            if r["project"] == project and r["snapshot"] == snapshot
            and r["spec"]["table"] == table and r["status"] in ("released", "previewed")
        ]  # fmt: skip

    def regimes(self, project: str, table: str) -> set[str]:
        """The modes in which ``project`` has had outputs on ``table``, on any snapshot."""
        return {r["mode"] for r in self._records()
                if r["project"] == project and r["spec"]["table"] == table
                and r["status"] in ("released", "previewed")}  # fmt: skip

    def add(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())


class MemoryStore:
    """Release records in memory (tests, the dummy mode)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def find(self, project: str, snapshot: str, digest: str) -> dict[str, Any] | None:
        for record in reversed(self.records):
            if (record["project"], record["snapshot"], record["digest"], record["status"]) == (
                project, snapshot, digest, "released",
            ):  # fmt: skip
                return record
        return None

    def earlier(self, project: str, snapshot: str, table: str) -> list[dict[str, Any]]:
        return [
            r for r in self.records
            if r["project"] == project and r["snapshot"] == snapshot
            and r["spec"]["table"] == table and r["status"] in ("released", "previewed")
        ]  # fmt: skip

    def regimes(self, project: str, table: str) -> set[str]:
        """The modes in which ``project`` has had outputs on ``table``, on any snapshot."""
        return {r["mode"] for r in self.records
                if r["project"] == project and r["spec"]["table"] == table
                and r["status"] in ("released", "previewed")}  # fmt: skip

    def add(self, record: dict[str, Any]) -> None:
        self.records.append(json.loads(json.dumps(record)))

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(json.dumps(r)) for r in self.records]


def exact_outputs(records: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """How many exact (``sdc``) tables were released and previewed, per budget scope
    (``dataset``, ``project:<id>``, ``researcher:<project>:<id>``): what the ρ figures do not
    show, shown beside them."""
    counts: dict[str, list[int]] = {}
    for record in records:
        if record.get("mode") != "sdc" or record["status"] not in ("released", "previewed"):
            continue
        which = 0 if record["status"] == "released" else 1
        project, requester = record["project"], record["requester"]
        for scope in ("dataset", f"project:{project}", f"researcher:{project}:{requester}"):
            counts.setdefault(scope, [0, 0])[which] += 1
    return {scope: (n[0], n[1]) for scope, n in counts.items()}
