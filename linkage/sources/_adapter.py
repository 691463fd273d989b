"""What every source adapter gets and gives back, and what a source format is.

A ``SourceFormat`` is one format ``medler ingest`` reads: its ``--format`` name, how to
recognise an extract of it, its adapter, and the words the ingest's errors use for it. Each is
defined in its own package (``linkage.sources.<format>._format``) and registered by one line in
``linkage.sources.SOURCE_FORMATS``; ``ingest_extract``, the command line's ``--format`` and the
docs read the registry, so a new format touches its own folder and that one line
(docs/how-to/add-a-source-format.md).

``ingest_extract`` (linkage/_ingest.py) prepares an ``AdapterContext``: the extract's folder, the
snapshot being written, the pseudonymiser, the quarantine, the ID policy, the source name and
the ingest time. An adapter reads the extract, writes canonical tables (see ``_canonical``) with
``context.writer.write(table, pyarrow_table)``, records every record it sets aside in
``context.quarantine``, and returns an ``AdapterResult``.

An adapter's ``warnings`` say what the office should know; its ``alerts`` say that something
the research tables need is missing as a whole (a resource the extract lacks, every link of a
relation set aside): the command line prints them loudly, and ``--strict`` refuses the ingest.
``context.compat`` names the vendor quirks the office chose to map (``linkage.sources._compat``);
an adapter maps a quirk only when it is named there.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linkage._snapshot import SnapshotWriter
from linkage.sources._quarantine import Quarantine
from pseudonymise import IdPolicy, Pseudonymiser


@dataclass
class ResourceCount:
    """Records of one resource (or file):
    ``read == accepted + quarantined + superseded + deleted``.

    ``superseded``: a later extract holds a newer version of the record. ``deleted``: a later
    (or the same) extract lists the record's id as deleted."""

    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    pages: int = 0
    superseded: int = 0
    deleted: int = 0


@dataclass(frozen=True)
class Reused:
    """The resources other than the bulk ones of a weekly delivery whose files did not change
    since the snapshot it is added onto (``linkage._deliveries.reuse``): not read again. Their
    tables are shared and the delivery's references resolve through the snapshot's reference map
    (``linkage._canonical.REFERENCES``). ``files``: their files, with the SHA-256 checked;
    ``records``, ``warnings`` and ``modified_later``: what the snapshot recorded of them."""

    snapshot: Path
    files: dict[Path, str]
    records: dict[str, ResourceCount]
    warnings: tuple[str, ...]
    modified_later: dict[str, int]


@dataclass(frozen=True)
class AdapterContext:
    root: Path
    writer: SnapshotWriter
    pseudonymiser: Pseudonymiser
    quarantine: Quarantine
    policy: IdPolicy
    source: str
    ingested_at: dt.datetime
    progress: Callable[[str, int], None] | None = None
    updates: tuple[Path, ...] = ()  # incremental extracts after ``root``, oldest first
    compat: frozenset[str] = frozenset()  # vendor quirks to map (``_compat.QUIRKS``)
    # a weekly delivery added onto the current snapshot (``linkage._deliveries``): the bulk
    # resources (lessons, attendance, absence notices) are read only from the last extract,
    # the rest from every extract; the earlier snapshot's lessons are known
    delivery: bool = False
    earlier_lessons: frozenset[int] = frozenset()
    # a delivery whose other resources are unchanged: what is taken from the snapshot it is
    # added onto instead of reading them again
    reused: Reused | None = None


@dataclass
class AdapterResult:
    standard: str  # e.g. "SS 12000 v2.1", "OneRoster 1.1"
    counts: dict[str, ResourceCount]
    files: list[Path]  # every file read, for the manifest's hashes
    warnings: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)  # something needed is missing as a whole
    # the sha256 of files the adapter hashed as it read them (the others are hashed after)
    hashes: dict[Path, str] = field(default_factory=dict)
    # per resource: records of an earlier extract modified later than the version kept
    modified_later: dict[str, int] = field(default_factory=dict)


Adapter = Callable[[AdapterContext], AdapterResult]


_NAME = re.compile(r"^[a-z][a-z0-9-]*$")

# ``check(new, earlier, manifest)``: refuses (``InputFileError``) the delivery folder ``new``
# before anything is read, given the extract and the deliveries already ingested (``earlier``,
# oldest first) and the manifest of the snapshot it would be added onto
DeliveryCheck = Callable[[Path, list[Path], dict[str, Any]], None]


@dataclass(frozen=True)
class DeliveryRules:
    """How a weekly delivery of a format is added onto the current snapshot
    (``linkage._deliveries``; ``medler ingest … --delivery``).

    ``what`` names such a delivery with its article ("an SS 12000 incremental extract").
    ``bulk`` names the resources whose earlier weeks the snapshot keeps, not read again: the
    delivery holds only later weeks of them, and becomes one new part of their tables
    (lessons, attendance, absence notices). Empty: every table is read again from the extract
    and every delivery, and the ones that came out the same are shared. ``reread`` names the
    resources read again every time (their earlier quarantine entries are replaced), unless
    none of their files changed: ``reread_files(folder)`` lists a folder's files of them (and
    of its deletions), and a format that writes a reference map
    (``linkage._canonical.REFERENCES``) then reads none of them again
    (``AdapterContext.reused``). ``check`` refuses a delivery that cannot be added, before
    anything is read. ``full_build`` says why an incremental build after such a delivery is a
    full one (``None``: it recomputes the months the delivery touched)."""

    what: str
    check: DeliveryCheck
    bulk: frozenset[str] = frozenset()
    reread: frozenset[str] = frozenset()
    full_build: str | None = None
    reread_files: Callable[[Path], list[Path]] | None = None


@dataclass(frozen=True)
class SourceFormat:
    """One source format ``medler ingest`` reads.

    ``name`` is its ``--format`` value (lower case, never ``auto``). ``kind`` names an extract
    of it with its article, as errors say it ("an SS 12000 extract"); ``looks`` says what such
    a folder holds, for the error when no format recognises a folder; ``label`` names the
    standard ("SS 12000"), and ``updates`` what its incremental extracts hold, for the error
    when a later folder is not one. ``looks_like(folder)`` recognises an extract without
    reading its records (formats are tried in the registry's order, the first that recognises
    a folder reads it); ``ingest`` is the adapter. ``delivery`` says how a weekly delivery of
    it is added (``None``: its extracts are ingested in full only)."""

    name: str
    kind: str
    looks: str
    label: str
    updates: str
    looks_like: Callable[[Path], bool]
    ingest: Adapter
    delivery: DeliveryRules | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or self.name == "auto":
            raise ValueError(
                f"a source format's name is lower-case letters, digits and hyphens, and not "
                f"'auto' (which detects the format), not {self.name!r}"
            )
