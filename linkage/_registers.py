"""``ingest_register``: a register file into a new snapshot.

The new snapshot holds every table of the current one unchanged (shared, not copied) and the
register's tables, replaced. The manifest keeps the source of the extract and adds the register
file with its SHA-256 and its record counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from linkage._canonical import QUARANTINE_SCHEMA, SCHEMAS
from linkage._ingest import IngestReport
from linkage._snapshot import SnapshotWriter, current_snapshot, file_sha256, read_manifest
from linkage.sources._quarantine import Quarantine
from linkage.sources.registers import REGISTER_KINDS, read_register
from linkage.sources.registers._read import _TABLES, RESOURCE
from medler.errors import InputFileError, UsageError
from pseudonymise import IdPolicy, Pseudonymiser


def ingest_register(
    kind: str,
    path: Path,
    data_dir: Path,
    *,
    key_file: Path | None = None,
    policy: IdPolicy | None = None,
) -> IngestReport:
    if kind not in REGISTER_KINDS:
        raise UsageError(f"the register must be one of {', '.join(REGISTER_KINDS)}, not '{kind}'")
    if not path.is_file():
        raise InputFileError(f"{path} is not a file; give the register file's path")
    previous = current_snapshot(data_dir)
    manifest = read_manifest(previous)
    quarantine = Quarantine()
    with (
        Pseudonymiser.from_key_file(key_file, data_dir=data_dir) as pseudonymiser,
        SnapshotWriter(data_dir) as writer,
    ):
        if manifest.get("key", {}).get("key_id") != pseudonymiser.key_ref.key_id:
            raise InputFileError(
                "the key file is not the key the current snapshot was made with; use the same "
                "key, or ingest the extract again under the new key first"
            )
        rows = read_register(
            kind, path, pseudonymiser, quarantine, _snapshot_policy(manifest, policy)
        )
        replaced = set(_TABLES[kind]) | {"quarantine"}
        writer.carry_over(previous, [n for n in manifest["tables"] if n not in replaced])
        lineage = {
            "source_standard": f"{kind} register",
            "source_file": path.name,
            "ingested_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
        }
        for table in _TABLES[kind]:
            batch = [{**row, **lineage} for row in rows.tables[table]]
            if batch:
                writer.write(table, pa.Table.from_pylist(batch, schema=SCHEMAS[table]))
            writer.ensure(table, SCHEMAS[table])
        # The quarantine keeps what the extract and the other register set aside.
        earlier = pq.read_table(previous / "quarantine.parquet")
        earlier = earlier.filter(pc.not_equal(earlier["resource"], RESOURCE[kind]))
        writer.write(
            "quarantine", pa.concat_tables([earlier.cast(QUARANTINE_SCHEMA), quarantine.table()])
        )
        registers = dict(manifest.get("registers", {}))
        registers[kind] = {
            "file": path.name,
            "sha256": file_sha256(path),
            "records": asdict(rows.count),
        }
        own = {"snapshot_id", "kind", "created", "software_version", "tables", "delivery"}
        kept = {k: v for k, v in manifest.items() if k not in own}
        snapshot_id = writer.commit(
            {**kept, "registers": registers, "previous_snapshot": manifest["snapshot_id"]}
        )
    return IngestReport(
        snapshot_id, f"{kind} register", {RESOURCE[kind]: rows.count}, len(quarantine.rows), 0, []
    )


def _snapshot_policy(manifest: dict[str, Any], policy: IdPolicy | None) -> IdPolicy:
    """The ID policy the snapshot's extract was ingested under: a register must link persons
    the same way, or its pseudonyms would not meet the extract's. ``policy``, when given, must
    be that one."""
    recorded = manifest.get("id_policy")
    try:
        kept = IdPolicy.from_record(recorded) if recorded else IdPolicy()
    except ValueError as error:
        raise InputFileError(
            f"the current snapshot's manifest records an ID policy medler cannot read "
            f"({error}); ingest the extract again"
        ) from None
    if policy is not None and policy != kept:
        raise UsageError(
            f"the current snapshot was ingested under the ID policy ({kept.describe()}); a "
            f"register under another ({policy.describe()}) would link persons differently. "
            "Ingest the extract again under the new policy first"
        )
    return kept
