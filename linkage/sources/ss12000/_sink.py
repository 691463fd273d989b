"""Where the pages of an SS 12000 extract go: records counted, set aside with their reason,
pseudonymised and written, the same way for every resource.

Rules:
- A record's position is 1-based within its page; every record read is counted once, and is
  then accepted, quarantined (with file, position, field and reason), superseded or deleted.
- Duplicates: the first record with an id is kept, and later ones are quarantined as
  ``duplicate id`` (for the resources in ``DEDUPED``).
- Incremental extracts are read newest first: a record whose id came from a later extract is
  superseded, one whose id a later (or the same) extract deleted is dropped.
- A pseudonym met before in a domain must belong to another id (ids are deduplicated first):
  a collision across pages, refused like one within a page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from linkage._canonical import SCHEMAS
from linkage._snapshot import SnapshotWriter
from linkage.sources._adapter import ResourceCount
from linkage.sources._quarantine import Quarantine
from linkage.sources.ss12000 import _fields as f
from linkage.sources.ss12000._reader import STANDARD, Page
from pseudonymise import CollisionError, Domain, Pseudonymiser

Row = dict[str, Any]

DEDUPED = frozenset(
    {
        "organisations",
        "persons",
        "duties",
        "groups",
        "syllabuses",
        "activities",
        "calendarEvents",
        "absences",
        "grades",
    }
)


@dataclass
class PageSink:
    """Counts, quarantines, pseudonymises and writes the records of one extract's pages."""

    writer: SnapshotWriter
    quarantine: Quarantine
    pseudonymiser: Pseudonymiser
    source: str
    ingested_at: dt.datetime
    # per resource: records of an earlier extract modified after the later version kept
    stale: dict[str, int] = field(default_factory=dict)
    _seen: dict[str, set[str]] = field(default_factory=dict)
    # ids of the resource being read that came from a later extract (with their
    # meta.modified), ids deleted by a later or the same extract, and this extract's ids
    _newer: dict[str, str] = field(default_factory=dict)
    _gone: set[str] = field(default_factory=set)
    _pending: dict[str, str] = field(default_factory=dict)
    _base: bool = True
    _issued: dict[str, set[int]] = field(default_factory=dict)

    @cached_property
    def ingested_at_column(self) -> pl.Expr:
        """``ingested_at`` as a literal column, made once: a time-zone-aware literal costs
        Polars about a third of a millisecond, paid for every table of every page otherwise."""
        return pl.lit(self.ingested_at).alias("ingested_at")

    # --- incremental extracts --------------------------------------------------------------
    def start_resource(self) -> None:
        """A new resource: no id is shadowed yet."""
        self._newer, self._gone = {}, set()

    def start_extract(self, deleted: set[str], *, base: bool) -> None:
        """The next (older) extract of the resource; ``deleted``: the ids it deletes; ``base``:
        no older extract follows, so its ids need not be remembered."""
        self._gone |= deleted
        self._base = base
        self._pending = {}

    def finish_extract(self) -> None:
        self._newer.update(self._pending)

    def shadowed(self, ids: pl.Series) -> bool:
        """True when any of ``ids`` is superseded or deleted: then records go one by one."""
        if not self._newer and not self._gone:
            return False
        listed = ids.to_list()
        return not (self._newer.keys().isdisjoint(listed) and self._gone.isdisjoint(listed))

    def remember(self, ids: pl.Series, stamps: pl.Series) -> None:
        """A page of an extract that older ones follow, taken whole: its ids, with their
        ``meta.modified`` (``stamps``, as written; null where absent), supersede the older
        extracts' records with the same ids (as ``records`` notes them one by one)."""
        if self._base:
            return
        normalised = {stamp: _utc(stamp) for stamp in stamps.unique().to_list()}
        for rid, stamp in zip(ids.to_list(), stamps.to_list(), strict=True):
            self._pending.setdefault(rid, normalised[stamp])

    def claim(self, resource: str, ids: pl.Series) -> bool:
        """For a page taken whole: True, and the ids remembered, when none of them is met twice
        in the page or was met before; otherwise False, and nothing remembered."""
        if resource not in DEDUPED:
            return True
        seen = self._seen.setdefault(resource, set())
        if ids.n_unique() != len(ids) or any(rid in seen for rid in ids.to_list()):
            return False
        seen.update(ids.to_list())
        return True

    # --- records ---------------------------------------------------------------------------
    def records(self, page: Page, count: ResourceCount, resource: str) -> list[tuple[int, Any]]:
        """The page's records with their 1-based positions, duplicates quarantined."""
        seen = self._seen.setdefault(resource, set()) if resource in DEDUPED else None
        out = []
        for position, record in enumerate(page.records, start=1):
            count.read += 1
            rid = record.get("id") if isinstance(record, dict) else None
            if isinstance(rid, str):
                if rid in self._newer:
                    count.superseded += 1
                    if modified(record) > self._newer[rid]:
                        self.stale[resource] = self.stale.get(resource, 0) + 1
                    continue
                if rid in self._gone:
                    count.deleted += 1
                    continue
                if not self._base:
                    self._pending.setdefault(rid, modified(record))
                if seen is not None:
                    if rid in seen:
                        self.reject(count, resource, page, position, "id", "duplicate id", rid)
                        continue
                    seen.add(rid)
            out.append((position, record))
        return out

    def reject(
        self,
        count: ResourceCount,
        resource: str,
        page: Page,
        position: int,
        field_name: str,
        reason: str,
        value: object = None,
    ) -> None:
        """Quarantine a whole record."""
        count.quarantined += 1
        self.quarantine.add(resource, page.source_file, position, field_name, reason, value)

    def bad(
        self, count: ResourceCount, resource: str, page: Page, position: int, error: f.BadField
    ) -> None:
        self.reject(count, resource, page, position, error.field, error.reason, error.value)

    def nested(self, where: str, page: Page, position: int, error: f.BadField) -> None:
        """Set aside one entry of a record's nested list (the record itself is kept)."""
        self.quarantine.add(
            where, page.source_file, position, error.field, error.reason, error.value
        )

    # --- pseudonyms ------------------------------------------------------------------------
    def pids(self, domain: Domain, ids: list[str], *, scope: str | None = None) -> list[int]:
        """Pseudonyms of new objects (ids already deduplicated)."""
        if not ids:
            return []
        if scope is not None:
            scope = f"{self.source}:{scope}"
        series = self.pseudonymiser.pseudonymise(
            domain, pl.Series(ids, dtype=pl.String), scope=scope
        )
        pids = [int(x) for x in series.to_list()]
        self.refuse_collisions(domain, pids)
        return pids

    def pid_column(self, domain: Domain, ids: list[str] | pl.Series) -> np.ndarray:
        """Pseudonyms of references (ids may repeat), as an int64 array."""
        if not len(ids):
            return np.zeros(0, dtype=np.int64)
        series = ids if isinstance(ids, pl.Series) else pl.Series(ids, dtype=pl.String)
        return self.pseudonymiser.pseudonymise(domain, series).to_numpy()

    def refuse_collisions(self, domain: Domain, pids: list[int]) -> None:
        known = self._issued.setdefault(domain.value, set())
        shared = sum(1 for pid in pids if pid in known)
        if shared:
            noun = "pseudonym is" if shared == 1 else "pseudonyms are"
            raise CollisionError(
                f"{shared} {noun} shared by different identifiers in domain '{domain.value}' "
                "across pages of the extract; rotate the key ('medler keys rotate') and ingest "
                "again: under another key they will almost surely differ"
            )
        known.update(pids)

    # --- writing ---------------------------------------------------------------------------
    def write(self, table: str, rows: list[Row], page: Page) -> None:
        """Rows of canonical ``table`` from ``page``, with their lineage."""
        if not rows:
            return
        schema = SCHEMAS[table]
        lineage = {
            "source_standard": STANDARD,
            "source_file": page.source_file,
            "ingested_at": self.ingested_at,
        }
        columns = {
            name: [row.get(name) for row in rows]
            if name not in lineage
            else [lineage[name]] * len(rows)
            for name in schema.names
        }
        self.writer.write(table, pa.table(columns, schema=schema))

    def write_table(self, table: str, data: pa.Table) -> None:
        """A whole Arrow table of canonical ``table`` (lineage included), cast to its schema."""
        self.writer.write(table, data.cast(SCHEMAS[table]))


def modified(record: dict[str, Any]) -> str:
    """A record's ``meta.modified`` in UTC (ISO 8601), or "" when absent or unreadable."""
    meta = record.get("meta")
    return _utc(meta.get("modified") if isinstance(meta, dict) else None)


def _utc(value: object) -> str:
    """A ``meta.modified`` value in UTC (ISO 8601), or "" when absent or unreadable."""
    if not isinstance(value, str):
        return ""
    try:
        return (
            dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC).isoformat()
        )
    except ValueError:
        return ""
