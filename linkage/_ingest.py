"""``ingest_extract``: one source extract → a new canonical snapshot.

The snapshot is written in a staging folder and switched in only when complete (see
``_snapshot``), so an interrupted ingest leaves the previous snapshot in use. The manifest
records, per resource, the records read, accepted and quarantined, the source files with their
SHA-256, the key id (never the key), the ID policy and the software version.

Source formats (``linkage.sources._adapter.SourceFormat``) are registered in
``linkage.sources.SOURCE_FORMATS``; this module reads the registry and names no format itself.

Alerts (``_completeness``) are loud warnings that something the research tables need is missing
as a whole; with ``strict`` an ingest that has any writes nothing and says why. ``compat`` names
vendor quirks to map (``linkage.sources._compat``), recorded in the manifest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from linkage import sources
from linkage._canonical import QUARANTINE_SCHEMA, SCHEMAS
from linkage._completeness import find_alerts
from linkage._deliveries import (
    BULK_TABLES,
    Onto,
    check_delivery,
    earlier_files,
    earlier_quarantine,
    finish_delivery,
    merged_counts,
    reuse,
    reused_quarantine,
)
from linkage._snapshot import SnapshotWriter, file_sha256
from linkage.sources._adapter import AdapterContext, ResourceCount, SourceFormat
from linkage.sources._compat import compat_switches
from linkage.sources._quarantine import KEPT_LOCAL, Quarantine
from medler._collector import collector_paused
from medler.errors import InputFileError, UsageError
from pseudonymise import IdPolicy, Pseudonymiser


@dataclass
class IngestReport:
    snapshot_id: str
    standard: str
    counts: dict[str, ResourceCount]
    quarantine_entries: int
    kept_local: int
    warnings: list[str]
    alerts: list[str] = field(default_factory=list)
    delivery: dict[str, Any] | None = None  # a weekly delivery: what it added (``_deliveries``)


def detect_format(source_dir: Path) -> SourceFormat:
    """The first registered format that recognises ``source_dir``, else an error that says
    what each format's extract holds."""
    formats = sources.source_formats()
    for fmt in formats:
        if fmt.looks_like(source_dir):
            return fmt
    held = [f"{fmt.kind} ({fmt.looks})" for fmt in formats]
    holds = f"holds neither {' nor '.join(held)}" if len(held) > 1 else f"does not hold {held[0]}"
    raise InputFileError(f"{source_dir} {holds}; point at the extract's folder, or pass --format")


def ingest_extract(
    source_dir: Path,
    data_dir: Path,
    *,
    key_file: Path | None = None,
    source_format: str = "auto",
    source_name: str | None = None,
    policy: IdPolicy | None = None,
    progress: Callable[[str, int], None] | None = None,
    updates: Sequence[Path] = (),
    compat: Sequence[str] = (),
    strict: bool = False,
    delivery: bool = False,
) -> IngestReport:
    """Read the extract in ``source_dir``, and its incremental ``updates`` (oldest first), into a
    new snapshot under ``data_dir``. With ``strict``, an ingest with alerts (a resource missing,
    a whole relation lost) raises ``InputFileError`` and leaves the current snapshot in use.
    With ``delivery``, the last of ``updates`` is a weekly delivery added onto the current
    snapshot, which holds the rest (``linkage._deliveries``)."""
    quirks = compat_switches(compat)
    names = ("auto", *sources.SOURCE_FORMATS)
    if source_format not in names:
        raise UsageError(f"--format must be one of {', '.join(names)}, not '{source_format}'")
    if not source_dir.is_dir():
        raise InputFileError(f"{source_dir} is not a folder; point at the extract's folder")
    chosen = (
        detect_format(source_dir)
        if source_format == "auto"
        else sources.source_format(source_format)
    )
    fmt = chosen.name
    for update in updates:
        if not update.is_dir() or not chosen.looks_like(update):
            what = "; ".join(f"for {f.label}: {f.updates}" for f in sources.source_formats())
            raise InputFileError(
                f"{update} is not {chosen.kind}; the folders after the first are incremental "
                f"extracts of the same format ({what})"
            )
    policy = policy or IdPolicy()
    quarantine = Quarantine()
    source = source_name or source_dir.resolve().name
    onto = check_delivery(data_dir, source_dir, list(updates), chosen, source) if delivery else None
    with (
        Pseudonymiser.from_key_file(key_file, data_dir=data_dir) as pseudonymiser,
        SnapshotWriter(data_dir) as writer,
    ):
        if onto is not None:
            if (onto.manifest.get("key") or {}).get("key_id") != pseudonymiser.key_ref.key_id:
                raise InputFileError(
                    "the key file is not the key the current snapshot was made with; a delivery "
                    "is pseudonymised under the same key as the snapshot it is added onto"
                )
            if onto.manifest.get("id_policy") != policy.as_record():
                raise UsageError(
                    "the current snapshot was ingested under another ID policy; a delivery is "
                    "ingested under the same one (or ingest everything in full)"
                )
            writer.share(onto.snapshot, BULK_TABLES)
        decided = reuse(onto, source_dir, list(updates), quirks) if onto else None
        reused = decided.reused if decided else None
        hashed = decided.hashed if decided else {}  # files whose SHA-256 deciding computed
        context = AdapterContext(
            root=source_dir,
            writer=writer,
            pseudonymiser=pseudonymiser,
            quarantine=quarantine,
            policy=policy,
            source=source,
            ingested_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
            progress=progress,
            updates=tuple(updates),
            compat=quirks,
            delivery=onto is not None,
            earlier_lessons=onto.earlier_lessons if onto is not None else frozenset(),
            reused=reused,
        )
        with collector_paused():  # reading makes no cycles, only work for the collector
            result = chosen.ingest(context)
        more: dict[str, Any] = {}
        carried = (0, 0)  # quarantine entries (and kept-local ones) of resources not read again
        seen = quarantine  # what the alerts name the commonest reasons from
        records = {name: asdict(c) for name, c in result.counts.items()}
        files = {
            _relative(p, source_dir, updates): result.hashes.get(p)
            or hashed.get(p)
            or file_sha256(p)
            for p in result.files
        }
        if onto is not None and decided is not None:
            more = {
                "delivery": finish_delivery(writer, onto, updates[-1], read_again=decided.why),
                "registers": onto.manifest.get("registers", {}),
            }
            records = merged_counts(onto, result.counts)
            files = {**earlier_files(onto, source_dir.name), **files}
            carried, seen = _earlier_quarantine(
                writer, onto, source_dir.name, quarantine, reused is not None
            )
        alerts = [*result.alerts, *find_alerts(result.counts, writer.rows, seen)]
        if strict and alerts:
            raise InputFileError(
                f"--strict: {source_dir} was not ingested, because "
                f"{'; and '.join(alerts)}. Nothing was written; the snapshot in use is "
                "unchanged. Correct the extract (or name the vendor's quirk with --compat), or "
                "ingest without --strict"
            )
        for name, schema in SCHEMAS.items():
            writer.ensure(name, schema)
        writer.write("quarantine", quarantine.table())
        writer.ensure("quarantine", QUARANTINE_SCHEMA)
        snapshot_id = writer.commit(
            {
                "source": {
                    "standard": result.standard,
                    "format": fmt,
                    "name": context.source,
                    "updates": [u.name for u in updates],
                    "files": files,
                },
                "key": asdict(pseudonymiser.key_ref),
                "id_policy": policy.as_record(),
                "records": records,
                "compat": sorted(quirks),
                "warnings": result.warnings,
                "modified_later": result.modified_later,
                "alerts": alerts,
                **more,
            }
        )
    kept_local = sum(1 for row in quarantine.rows if row[6] == KEPT_LOCAL) + carried[1]
    return IngestReport(
        snapshot_id,
        result.standard,
        result.counts,
        len(quarantine.rows) + carried[0],
        kept_local,
        result.warnings,
        alerts,
        more.get("delivery"),
    )


def _earlier_quarantine(
    writer: SnapshotWriter, onto: Onto, base: str, quarantine: Quarantine, reused: bool
) -> tuple[tuple[int, int], Quarantine]:
    """A delivery's quarantine entries taken from the snapshot it is added onto, written; with
    ``reused``, how many are of the resources not read again (and kept-local ones), and the
    quarantine the alerts look in: those entries and the delivery's own."""
    earlier = earlier_quarantine(onto, base, reused=reused)
    writer.write("quarantine", earlier)
    if not reused:
        return (0, 0), quarantine
    counts, mine = reused_quarantine(onto, earlier)
    rows = zip(*(mine[name].to_pylist() for name in QUARANTINE_SCHEMA.names), strict=True)
    return counts, Quarantine([*rows, *quarantine.rows])


def _relative(path: Path, root: Path, updates: Sequence[Path]) -> str:
    """A file's name in the manifest: relative to its extract, prefixed by the extract's folder
    name when there are incremental extracts."""
    for base in (root, *updates):
        if path.is_relative_to(base):
            name = path.relative_to(base).as_posix()
            return f"{base.name}/{name}" if updates else name
    return path.name
