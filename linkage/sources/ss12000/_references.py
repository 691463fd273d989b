"""The reference map of an SS 12000 snapshot (``linkage._canonical.REFERENCES``): what a weekly
delivery's lessons, attendance and absence notices may refer to, so that a delivery whose other
resources are unchanged resolves its references without reading those resources again.

Each accepted pupil, activity, duty and organisation is one row: its source id keyed by
``Pseudonymiser.reference_keys`` (scoped by the source and the kind: the map holds no source
id) and what the id resolved to in the read that wrote the map. A delivery keys the ids its
pages refer to in the same way and looks them up (``_state.Accepted.prime``): an id the map
does not hold is unknown, as it would be to a full read of the same files (unless its 64-bit
key is another id's, a chance of about one in 2⁶³ per pair).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from linkage._canonical import REFERENCE_KINDS, REFERENCE_SCHEMA, REFERENCES
from linkage._snapshot import table_files
from linkage.sources.ss12000._state import Accepted, ReferenceMap, Resolved
from pseudonymise import CollisionError, Pseudonymiser


def reference_table(accepted: Accepted, pseudonymiser: Pseudonymiser, source: str) -> pa.Table:
    """The reference map of what ``accepted`` holds, once every resource is read."""
    objects: dict[str, dict[str, Resolved]] = {
        "student": {rid: (pid, None, None) for rid, pid in accepted.students.items()},
        "activity": {rid: (pid, None, None) for rid, pid in accepted.activities.items()},
        "duty": {rid: (pid, teacher, None) for rid, (pid, teacher) in accepted.duties.items()},
        "organisation": {
            rid: (None, None, accepted.schools.get(rid)) for rid in sorted(accepted.organisations)
        },
    }
    parts = []
    for kind in REFERENCE_KINDS:
        ids = list(objects[kind])
        keys = _keys(pseudonymiser, source, kind, ids)
        if len(set(keys)) != len(keys):  # two ids of one kind with one key: never silently
            raise CollisionError(
                f"two {kind} ids of the source have the same reference key; rotate the key "
                "('medler keys rotate') and ingest again: under another key they will almost "
                "surely differ"
            )
        values = [objects[kind][rid] for rid in ids]
        parts.append(
            pa.table(
                {
                    "kind": pa.array([kind] * len(ids), pa.string()),
                    "reference": pa.array(keys, pa.int64()),
                    "pid": pa.array([v[0] for v in values], pa.int64()),
                    "teacher_pid": pa.array([v[1] for v in values], pa.int64()),
                    "school_code": pa.array([v[2] for v in values], pa.string()),
                },
                schema=REFERENCE_SCHEMA,
            )
        )
    return pa.concat_tables(parts)


def load_reference_map(snapshot: Path, pseudonymiser: Pseudonymiser, source: str) -> ReferenceMap:
    """The reference map of ``snapshot``, to resolve a delivery's references with."""
    table = pa.concat_tables(
        pq.ParquetFile(p).read().cast(REFERENCE_SCHEMA) for p in table_files(snapshot, REFERENCES)
    )
    by_kind: dict[str, dict[int, Resolved]] = {kind: {} for kind in REFERENCE_KINDS}
    for kind, reference, pid, teacher_pid, school_code in zip(
        *(table[c].to_pylist() for c in REFERENCE_SCHEMA.names), strict=True
    ):
        by_kind.setdefault(kind, {})[reference] = (pid, teacher_pid, school_code)

    def key(kind: str, ids: list[str]) -> list[int]:
        return _keys(pseudonymiser, source, kind, ids)

    return ReferenceMap(key, by_kind)


def _keys(pseudonymiser: Pseudonymiser, source: str, kind: str, ids: list[str]) -> list[int]:
    if not ids:
        return []
    keyed = pseudonymiser.reference_keys(f"{source}:{kind}", pl.Series(ids, dtype=pl.String))
    return [int(k) for k in keyed.to_list()]
