"""``ingest_extract``: one source extract → a new canonical snapshot.

The snapshot is written in a staging folder and switched in only when complete (see
``_snapshot``), so an interrupted ingest leaves the previous snapshot in use. The manifest
records, per resource, the records read, accepted and quarantined, the source files with their
SHA-256, the key id (never the key), the ID policy and the software version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from linkage._canonical import QUARANTINE_SCHEMA, SCHEMAS
from linkage._snapshot import SnapshotWriter, file_sha256
from linkage.sources._quarantine import Quarantine
from linkage.sources.ss12000 import STANDARD, ResourceCount, Ss12000Ingest, looks_like_ss12000
from linkage.sources.ss12000._reader import RESOURCES, resource_files
from medler.errors import InputFileError, UsageError
from pseudonymise import IdPolicy, Pseudonymiser

FORMATS = ("auto", "ss12000", "oneroster")


@dataclass
class IngestReport:
    snapshot_id: str
    standard: str
    counts: dict[str, ResourceCount]
    quarantine_entries: int
    kept_local: int
    warnings: list[str]


def detect_format(source_dir: Path) -> str:
    if looks_like_ss12000(source_dir):
        return "ss12000"
    if (source_dir / "manifest.csv").is_file():
        return "oneroster"
    raise InputFileError(
        f"{source_dir} holds neither an SS 12000 extract (folders or files named after the "
        f"resources: {', '.join(RESOURCES)}) nor a OneRoster CSV set (manifest.csv); "
        "point at the extract's folder, or pass --format"
    )


def ingest_extract(
    source_dir: Path,
    data_dir: Path,
    *,
    key_file: Path | None = None,
    source_format: str = "auto",
    source_name: str | None = None,
    policy: IdPolicy | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> IngestReport:
    """Read the extract in ``source_dir`` into a new snapshot under ``data_dir``."""
    if source_format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not '{source_format}'")
    if not source_dir.is_dir():
        raise InputFileError(f"{source_dir} is not a folder; point at the extract's folder")
    fmt = detect_format(source_dir) if source_format == "auto" else source_format
    if fmt == "oneroster":
        raise UsageError(
            "OneRoster CSV ingestion is not available in this version; export the school "
            "system's data as SS 12000 JSON, or use --format ss12000"
        )
    policy = policy or IdPolicy()
    source = source_name or source_dir.resolve().name
    ingested_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    quarantine = Quarantine()
    with Pseudonymiser.from_key_file(key_file) as pseudonymiser, SnapshotWriter(data_dir) as writer:
        ingest = Ss12000Ingest(
            root=source_dir, writer=writer, pseudonymiser=pseudonymiser, quarantine=quarantine,
            source=source, policy=policy, ingested_at=ingested_at,
        )  # fmt: skip
        ingest.run(progress)
        for name, schema in SCHEMAS.items():
            writer.ensure(name, schema)
        writer.write("quarantine", quarantine.table())
        writer.ensure("quarantine", QUARANTINE_SCHEMA)
        files = [p for r in RESOURCES for p in resource_files(source_dir, r)]
        snapshot_id = writer.commit({
            "source": {
                "standard": STANDARD,
                "name": source,
                "files": {p.relative_to(source_dir).as_posix(): file_sha256(p) for p in files},
            },
            "key": asdict(pseudonymiser.key_ref),
            "id_policy": {k: str(v) for k, v in asdict(policy).items()},
            "records": {name: asdict(c) for name, c in ingest.counts.items()},
            "warnings": ingest.warnings,
        })  # fmt: skip
    kept_local = sum(1 for row in quarantine.rows if row[6] == "kept-local")
    return IngestReport(snapshot_id, STANDARD, ingest.counts, len(quarantine.rows), kept_local,
                        ingest.warnings)  # fmt: skip
