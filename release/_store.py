"""Where releases are kept: every release (with its values: they have left the service) and
every refusal, one JSON line each, under ``DATA_DIR/release/``. The releaser uses it to return an
identical query's earlier release instead of drawing new noise, and to audit a new
disclosure-controlled output with a project's earlier ones (releases and previews: the linked
audit).

The governance layer replaces this file with database tables (projects, ledger, audit chain);
the releaser only needs ``find`` , ``earlier`` and ``add``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from release._results import Cell, Release
from release._spec import QuerySpec
from release.governance import BudgetScope
from release.governance._ledger import scopes_of


class ReleaseStore(Protocol):
    def find(self, project: str, snapshot: str, digest: str) -> dict[str, Any] | None: ...

    def earlier(self, project: str, snapshot: str, table: str) -> list[dict[str, Any]]: ...

    def regimes(self, project: str, table: str) -> set[str]: ...

    def add(self, record: dict[str, Any]) -> None: ...

    def all(self) -> list[dict[str, Any]]: ...

    def forget_values(self, project: str, at: str) -> list[str]: ...


def _forget(records: list[dict[str, Any]], project: str, at: str) -> list[str]:
    """Remove the values of ``project``'s releases from ``records`` (in place), keeping what
    the log and the register show (who, what, when, ρ, the result's digest); returns the ids
    of the project's releases, whose values are now gone. Safe to repeat."""
    ids = []
    for record in records:
        if record["project"] != project or record["status"] != "released":
            continue
        if "release" in record:
            del record["release"]
            record["values_deleted"] = at
        if record.get("release_id"):
            ids.append(str(record["release_id"]))
    return ids


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
            if (
                (record["project"], record["snapshot"], record["digest"])
                == (
                    project,
                    snapshot,
                    digest,
                )
                and record["status"] == "released"
                and "release" in record
            ):
                return record
        return None

    def earlier(self, project: str, snapshot: str, table: str) -> list[dict[str, Any]]:
        return [
            r
            for r in self._records()
            if r["project"] == project
            and r["snapshot"] == snapshot
            and r["spec"]["table"] == table
            and r["status"] in ("released", "previewed")
        ]

    def regimes(self, project: str, table: str) -> set[str]:
        """The modes in which ``project`` has had outputs on ``table``, on any snapshot."""
        return {
            r["mode"]
            for r in self._records()
            if r["project"] == project
            and r["spec"]["table"] == table
            and r["status"] in ("released", "previewed")
        }

    def add(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def forget_values(self, project: str, at: str) -> list[str]:
        """Delete the values of ``project``'s releases (retention): the file is written anew
        beside the old one and renamed over it, so a crash leaves one or the other whole."""
        records = self._records()
        ids = _forget(records, project, at)
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        with temporary.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in records)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.path)
        return ids


class MemoryStore:
    """Release records in memory (tests, the dummy mode)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def find(self, project: str, snapshot: str, digest: str) -> dict[str, Any] | None:
        for record in reversed(self.records):
            if (record["project"], record["snapshot"], record["digest"], record["status"]) == (
                project,
                snapshot,
                digest,
                "released",
            ) and "release" in record:
                return record
        return None

    def earlier(self, project: str, snapshot: str, table: str) -> list[dict[str, Any]]:
        return [
            r
            for r in self.records
            if r["project"] == project
            and r["snapshot"] == snapshot
            and r["spec"]["table"] == table
            and r["status"] in ("released", "previewed")
        ]

    def regimes(self, project: str, table: str) -> set[str]:
        """The modes in which ``project`` has had outputs on ``table``, on any snapshot."""
        return {
            r["mode"]
            for r in self.records
            if r["project"] == project
            and r["spec"]["table"] == table
            and r["status"] in ("released", "previewed")
        }

    def add(self, record: dict[str, Any]) -> None:
        self.records.append(json.loads(json.dumps(record)))

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(json.dumps(r)) for r in self.records]

    def forget_values(self, project: str, at: str) -> list[str]:
        return _forget(self.records, project, at)


def exact_outputs(records: list[dict[str, Any]]) -> dict[BudgetScope, tuple[int, int]]:
    """How many exact (``sdc``) tables were released and previewed, per budget scope (the
    data set, a project, a researcher in it): what the ρ figures do not show, shown beside
    them."""
    counts: dict[BudgetScope, list[int]] = {}
    for record in records:
        if record.get("mode") != "sdc" or record["status"] not in ("released", "previewed"):
            continue
        which = 0 if record["status"] == "released" else 1
        project, requester = record["project"], record["requester"]
        for scope in scopes_of(project, requester):
            counts.setdefault(scope, [0, 0])[which] += 1
    return {scope: (n[0], n[1]) for scope, n in counts.items()}


def record_of(
    project: str,
    requester: str,
    snapshot: str,
    spec: QuerySpec,
    status: str,
    policy: str,
    *,
    release: Release | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "project": project,
        "requester": requester,
        "snapshot": snapshot,
        "digest": spec.digest(),
        "spec": spec.model_dump(mode="json"),
        "mode": spec.mode,
        "status": status,
        "policy_version": policy,
    }
    if reason is not None:
        record["reason"] = reason
    if release is not None:
        record |= {
            "release_id": release.release_id,
            "rho": release.rho,
            "result_digest": release.digest(),
            "release": asdict(release),
        }
    return record


def release_from_record(record: dict[str, Any], *, cached: bool = True) -> Release:
    """A stored release; ``cached``: returned again for an identical query."""
    body = dict(record["release"])
    body["cells"] = [Cell(**c) for c in body["cells"]]
    body["cached"] = cached
    return Release(**body)


def preview_id(spec: QuerySpec) -> str:
    return f"p-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}-{spec.digest()[:8]}"


def output_name(record: dict[str, Any]) -> str:
    return str(record.get("release_id") or record.get("preview_id") or record["digest"][:12])
