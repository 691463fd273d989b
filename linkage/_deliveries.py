"""Weekly deliveries: an SS 12000 incremental extract added onto the current snapshot.

A delivery is the next folder after the extract and the deliveries already ingested (``medler
ingest EXTRACT EARLIER… NEW --delivery``). The new snapshot shares every unchanged file of the
one it is added onto (hard links, ``SnapshotWriter.share``):

- the **bulk tables** (lessons, their exceptions, attendance, absence notices) keep their
  earlier parts, and the delivery's records become one new part of each;
- the **other tables** (schools, pupils, staff, groups, activities, …) are read again from the
  extract and every delivery (they are small, and a delivery may change them); a table whose
  content came out the same is shared, one that changed is written anew and named in the
  manifest;
- the **registers** are shared as they are.

The manifest's ``delivery`` records the snapshot it was added onto, the delivery's first and
last day, the months its lessons fall in (what an incremental build recomputes) and which
tables changed. **Late registrations** (attendance of a pupil in a lesson of the weeks already
held, not yet registered for that pupil) are added with the delivery's part, and the months of
their lessons join the record's months: an incremental build recomputes them. Refused with a
clear error, before anything is written: a delivery for another source, deliveries out of
order, and a delivery that changes the weeks already held (lessons on or before their last
day, a lesson already held, a registration of a pupil in an earlier lesson that is registered
already, deletions of earlier lessons, registrations or absence notices). Those are ingested in
full, without ``--delivery``.

A **OneRoster delta set** is a delivery too (``medler ingest BULK EARLIER-DELTAS… NEW
--delivery``). OneRoster has no bulk tables (no lessons): every table is read again from the
bulk set and every delta set, the new one last, by the adapter's usual rules (newer rows
supersede, ``tobedeleted`` rows delete); a table that came out the same is shared, one that
changed is written anew. Refused as well, before the snapshot is switched: a bulk set (or a
OneRoster 1.0 set, which is one) given as the delivery, a set already ingested that is no
longer the file the snapshot was made from (SHA-256), and a delta that does not fit the
snapshot (a ``tobedeleted`` row of an object the snapshot does not hold, a reference to a
sourcedId neither holds: ``linkage.sources.oneroster._ingest``). Its record says the build is
a full one, and why (``FULL_BUILD``): the class-level tables rest on every class's links.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from linkage._canonical import LINEAGE, QUARANTINE_SCHEMA, SCHEMAS
from linkage._snapshot import (
    SnapshotWriter,
    current_snapshot,
    file_sha256,
    read_manifest,
    table_files,
)
from linkage.sources._adapter import ResourceCount
from linkage.sources.oneroster._reader import FILES as ONEROSTER_FILES
from linkage.sources.oneroster._reader import MANIFEST as ONEROSTER_MANIFEST
from linkage.sources.oneroster._reader import find_file
from linkage.sources.oneroster._reader import read_manifest as read_oneroster_manifest
from linkage.sources.ss12000 import RESOURCES
from linkage.sources.ss12000._ingest import BULK
from linkage.sources.ss12000._reader import read_deletions
from medler.errors import InputFileError, UsageError

# the canonical tables the bulk resources fill: a delivery adds a part to each
BULK_TABLES = (
    "lessons",
    "lesson_student_exceptions",
    "lesson_teacher_exceptions",
    "attendance",
    "absence_notices",
)
REGISTER_TABLES = (
    "teacher_register",
    "teacher_certifications",
    "student_register",
    "student_grades",
)
SMALL_TABLES = tuple(n for n in SCHEMAS if n not in BULK_TABLES and n not in REGISTER_TABLES)
_REREAD = frozenset(r for r in RESOURCES if r not in BULK)  # resources read again every time
_LINEAGE = {name for name, _ in LINEAGE}
_MEMORY_LIMIT = "1GB"  # finding late registrations already held (DuckDB spills beyond it)
FORMATS = ("ss12000", "oneroster")  # the formats a delivery can be added in
FULL_BUILD = (
    "a OneRoster delivery changes classes and their members, and the class-level tables "
    "(exposure, student_teachers, student_term_teachers, teacher_terms) rest on every class's "
    "links in every term it spans: they are built in full"
)


@dataclass(frozen=True)
class Onto:
    """The snapshot a delivery is added onto."""

    snapshot: Path
    manifest: dict[str, Any]
    last_day: dt.date | None
    earlier_lessons: frozenset[int]
    fmt: str = "ss12000"


def check_delivery(
    data_dir: Path, source_dir: Path, updates: list[Path], fmt: str, source_name: str
) -> Onto:
    """The current snapshot, if the last of ``updates`` can be added onto it; else a clear
    error and nothing written."""
    if fmt not in FORMATS:
        raise UsageError(
            "--delivery adds an SS 12000 incremental extract or a OneRoster delta set onto the "
            f"current snapshot; a {fmt} source is ingested in full (without --delivery)"
        )
    if not updates:
        raise UsageError(
            "--delivery needs the new delivery's folder after the extract (and after the "
            "deliveries already ingested, oldest first): medler ingest EXTRACT [EARLIER…] NEW "
            "--delivery"
        )
    try:
        previous = current_snapshot(data_dir)
    except InputFileError:
        raise InputFileError(
            f"the data directory {data_dir} has no snapshot to add the delivery onto; ingest "
            "the extract first (without --delivery)"
        ) from None
    manifest = read_manifest(previous)
    source = manifest.get("source") or {}
    new = updates[-1]
    if source.get("format") != fmt or source.get("name") != source_name:
        raise InputFileError(
            f"{new.name} is a delivery for the source '{source_name}' ({fmt}), but the current "
            f"snapshot holds '{source.get('name')}' ({source.get('format')}); a delivery is "
            "added onto a snapshot of the same source (name it with --source-name, or ingest "
            "it in full)"
        )
    held = list(source.get("updates") or [])
    given = [u.name for u in updates[:-1]]
    if held != given:
        raise InputFileError(
            f"the current snapshot holds the deliveries {held or 'none'}, but {given or 'none'} "
            f"were given before {new.name}; give the extract, then every delivery already "
            "ingested in that order, then the new one"
        )
    if new.name in held:
        raise InputFileError(f"{new.name} is already in the current snapshot")
    if fmt == "oneroster":
        _check_delta_set(new)
        _check_unchanged(manifest, [source_dir, *updates[:-1]])
        return Onto(previous, manifest, None, frozenset(), fmt)
    removed = {r: ids for r, ids in read_deletions(new).items() if r in BULK and ids}
    if removed:
        raise InputFileError(
            f"{new.name}/deletedEntities removes {', '.join(sorted(removed))} records of weeks "
            "already ingested; a weekly delivery only adds weeks. Ingest the extract and every "
            "delivery in full (without --delivery)"
        )
    table = _read(table_files(previous, "lessons"), ["lesson_pid", "local_date"])
    last = pc.max(table["local_date"]).as_py() if table.num_rows else None
    earlier = frozenset(table["lesson_pid"].to_pylist())
    return Onto(previous, manifest, last, earlier)


def finish_delivery(writer: SnapshotWriter, onto: Onto, new: Path) -> dict[str, Any]:
    """After the adapter has read the delivery: refuse it if it reaches back into the weeks
    already held, share every table that did not change, and say what the delivery holds."""
    lessons = _own(writer, "lessons", ["lesson_pid", "local_date"])
    days = lessons["local_date"]
    first = pc.min(days).as_py() if lessons.num_rows else None
    last = pc.max(days).as_py() if lessons.num_rows else None
    if first is not None and onto.last_day is not None and first <= onto.last_day:
        raise InputFileError(
            f"{new.name} holds lessons from {first}, on or before {onto.last_day}, the last "
            "day already ingested: the weeks overlap. A weekly delivery holds only later "
            "weeks; ingest the extract and every delivery in full (without --delivery)"
        )
    pids = lessons["lesson_pid"]
    if pc.any(pc.is_in(pids, pa.array(list(onto.earlier_lessons), pa.int64()))).as_py():
        raise InputFileError(
            f"{new.name} holds lessons already ingested (changed since?); ingest the extract "
            "and every delivery in full (without --delivery)"
        )
    attended = _own(writer, "attendance", ["lesson_pid", "student_pid"])
    late = attended.filter(pc.invert(pc.is_in(attended["lesson_pid"], pids)))
    late_months = _late_months(writer, onto, late, new) if late.num_rows else set()
    changed = []
    for name in SMALL_TABLES:
        if name not in onto.manifest["tables"]:
            continue
        if _same(writer, onto.snapshot, name):
            writer.discard(name)
            writer.share(onto.snapshot, [name])
        else:
            changed.append(name)
    writer.share(onto.snapshot, [n for n in REGISTER_TABLES if n in onto.manifest["tables"]])
    months = sorted({f"{d:%Y-%m}" for d in days.to_pylist() if d is not None} | late_months)
    full = {"full_build": FULL_BUILD} if onto.fmt == "oneroster" else {}
    return {
        "onto": onto.manifest["snapshot_id"],
        "folder": new.name,
        "first_day": None if first is None else first.isoformat(),
        "last_day": None if last is None else last.isoformat(),
        "months": months,
        "changed": changed,
        "late_registrations": late.num_rows,
        **full,
    }


def _late_months(writer: SnapshotWriter, onto: Onto, late: pa.Table, new: Path) -> set[str]:
    """The months of the earlier lessons that ``late`` registrations (of lessons the delivery
    does not hold) belong to; refused if a pupil's registration of such a lesson is held
    already (a changed registration: a full ingest keeps the latest of the two)."""
    own = writer.written("attendance")
    assert own is not None
    earlier = [str(p) for p in table_files(onto.snapshot, "attendance")]
    lessons = [str(p) for p in table_files(onto.snapshot, "lessons")]
    with duckdb.connect() as con:
        con.execute(f"SET memory_limit = '{_MEMORY_LIMIT}'")
        con.execute("SET temp_directory = ?", [str(own.parent / ".duckdb-spill")])
        con.register("late", late)
        changed = con.execute(
            "SELECT count(*) FROM late SEMI JOIN read_parquet(?) AS held "
            "USING (lesson_pid, student_pid)",
            [earlier],
        ).fetchone()
        if changed and changed[0]:
            raise InputFileError(
                f"{new.name} holds {changed[0]:,} registrations of pupils in lessons of weeks "
                "already ingested that are registered there already (changed since?); a "
                "delivery may add late registrations, not change those held: ingest the "
                "extract and every delivery in full (without --delivery)"
            )
        months = con.execute(
            "SELECT DISTINCT strftime(local_date, '%Y-%m') FROM read_parquet(?) AS l "
            "SEMI JOIN late USING (lesson_pid)",
            [lessons],
        ).fetchall()
    return {str(m) for (m,) in months}


def earlier_quarantine(onto: Onto) -> pa.Table:
    """What the snapshot's quarantine holds of records not read again: the bulk resources'
    entries of earlier weeks and the registers'. None for OneRoster: every set is read again."""
    if onto.fmt == "oneroster":
        return QUARANTINE_SCHEMA.empty_table()
    table = _read(table_files(onto.snapshot, "quarantine"), None).cast(QUARANTINE_SCHEMA)
    resource = pc.split_pattern(table["resource"], ".", max_splits=1)
    head = pc.list_element(resource, 0)
    return table.filter(pc.invert(pc.is_in(head, pa.array(sorted(_REREAD)))))


def merged_counts(onto: Onto, counts: dict[str, ResourceCount]) -> dict[str, dict[str, int]]:
    """The snapshot's record counts: the bulk resources' of earlier weeks plus the delivery's,
    every other resource as read this time (for OneRoster, every file)."""
    earlier = onto.manifest.get("records") or {}
    out = {name: asdict(c) for name, c in counts.items()}
    if onto.fmt == "oneroster":
        return out
    for name in BULK:
        before = earlier.get(name) or {}
        out[name] = {k: int(before.get(k, 0)) + v for k, v in out.get(name, {}).items()}
    return out


def earlier_files(onto: Onto, base: str) -> dict[str, str]:
    """The source files of the bulk resources already ingested, with their SHA-256 (not read
    again), named as a full ingest of the extract and its deliveries names them. None for
    OneRoster: every set is read again."""
    if onto.fmt == "oneroster":
        return {}
    source = onto.manifest.get("source") or {}
    files = source.get("files") or {}
    prefix = "" if source.get("updates") else f"{base}/"
    out = {}
    for name, digest in files.items():
        parts = name.split("/")
        resource = parts[0 if prefix else min(1, len(parts) - 1)].removesuffix(".json")
        if resource in BULK:
            out[prefix + name] = digest
    return out


def _read(paths: list[Path], columns: list[str] | None) -> pa.Table:
    return pa.concat_tables([pq.ParquetFile(p).read(columns=columns) for p in paths])


def _own(writer: SnapshotWriter, name: str, columns: list[str]) -> pa.Table:
    path = writer.written(name)
    if path is None:
        return SCHEMAS[name].empty_table().select(columns)
    return pq.ParquetFile(path).read(columns=columns)


def _same(writer: SnapshotWriter, previous: Path, name: str) -> bool:
    """Whether table ``name`` came out as the earlier snapshot holds it (lineage aside)."""
    columns = [c for c in SCHEMAS[name].names if c not in _LINEAGE]
    new = _own(writer, name, columns)
    old = _read(table_files(previous, name), columns)
    return bool(new.cast(old.schema).equals(old))


def _check_delta_set(new: Path) -> None:
    """A OneRoster delivery is a delta set: files ``delta`` or ``absent``, none ``bulk``."""
    if find_file(new, "manifest") is None:
        raise InputFileError(
            f"{new.name} has no {ONEROSTER_MANIFEST}: it is a OneRoster 1.0 set, which is always "
            "a bulk set, and a bulk set replaces what the snapshot holds rather than adding to "
            "it; ingest it on its own, without --delivery"
        )
    manifest = read_oneroster_manifest(new)
    bulk = [f"{stem}.csv" for stem in ONEROSTER_FILES if manifest.mode(stem) == "bulk"]
    if bulk:
        raise InputFileError(
            f"{new.name}/{ONEROSTER_MANIFEST} marks {', '.join(bulk)} as bulk: a bulk set "
            "replaces what the snapshot holds rather than adding to it, so it is no delivery; "
            "ingest it on its own, without --delivery (or ask for a delta set: files 'delta' "
            "or 'absent')"
        )


def _check_unchanged(manifest: dict[str, Any], sets: list[Path]) -> None:
    """Every file the snapshot was made from is still there, unchanged: a OneRoster delivery
    reads them again, and must find what the snapshot holds."""
    files = (manifest.get("source") or {}).get("files") or {}
    by_name: dict[str, Path] = {}
    for folder in sets:
        by_name.setdefault(folder.name, folder)
    for name, digest in files.items():
        if len(sets) == 1:
            path = sets[0] / name
        else:
            head, _, rest = name.partition("/")
            path = by_name[head] / rest if head in by_name else Path(name)
        if not path.is_file() or file_sha256(path) != digest:
            raise InputFileError(
                f"{name} is not the file the current snapshot was ingested from (it is gone, "
                "or its SHA-256 differs): a delivery is added onto the very sets the snapshot "
                "holds; give them as they were, or ingest the bulk set and every delta set in "
                "full (without --delivery)"
            )
