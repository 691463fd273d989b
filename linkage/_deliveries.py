"""Weekly deliveries: an SS 12000 incremental extract or a OneRoster delta set added onto the
current snapshot. What may be added, and how, is the format's ``DeliveryRules``
(``linkage.sources._adapter``; ``SourceFormat.delivery``): a format without them is ingested
in full only.

A delivery is the next folder after the extract and the deliveries already ingested (``medler
ingest EXTRACT EARLIER… NEW --delivery``). The new snapshot shares every unchanged file of the
one it is added onto (hard links, ``SnapshotWriter.share``):

- the **bulk tables** (lessons, their exceptions, attendance, absence notices) keep their
  earlier parts, and the delivery's records become one new part of each;
- the **other tables** (schools, pupils, staff, groups, activities, …) are shared as they are
  when none of their source files changed (each has the SHA-256 the snapshot recorded, none
  was added or removed, the delivery holds none, the ingest maps the same vendor quirks and the
  same medler made the snapshot):
  the delivery's references then resolve through the snapshot's reference map
  (``linkage._canonical.REFERENCES``: keyed source ids, ``reuse``), and the counts,
  quarantine entries and warnings of those resources are the snapshot's. Otherwise they are
  read again from the extract and every delivery; a table whose content came out the same is
  shared, one that changed is written anew and named in the manifest;
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
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from linkage import sources
from linkage._canonical import LINEAGE, QUARANTINE_SCHEMA, REFERENCES, SCHEMAS
from linkage._snapshot import (
    SnapshotWriter,
    current_snapshot,
    file_sha256,
    read_manifest,
    table_files,
)
from linkage.sources._adapter import DeliveryRules, ResourceCount, Reused, SourceFormat
from linkage.sources._quarantine import KEPT_LOCAL
from medler import __version__
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
_LINEAGE = {name for name, _ in LINEAGE}
_MEMORY_LIMIT = "1GB"  # finding late registrations already held (DuckDB spills beyond it)


@dataclass(frozen=True)
class Onto:
    """The snapshot a delivery is added onto."""

    snapshot: Path
    manifest: dict[str, Any]
    last_day: dt.date | None
    earlier_lessons: frozenset[int]
    rules: DeliveryRules


def check_delivery(
    data_dir: Path, source_dir: Path, updates: list[Path], chosen: SourceFormat, source_name: str
) -> Onto:
    """The current snapshot, if the last of ``updates`` can be added onto it; else a clear
    error and nothing written. How a delivery is added is the format's (``chosen.delivery``)."""
    fmt, rules = chosen.name, chosen.delivery
    if rules is None:
        kinds = [f.delivery.what for f in sources.source_formats() if f.delivery is not None]
        raise UsageError(
            f"--delivery adds {' or '.join(kinds)} onto the current snapshot; a {fmt} source is "
            "ingested in full (without --delivery)"
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
    rules.check(new, [source_dir, *updates[:-1]], manifest)
    if not rules.bulk:  # every table is read again: nothing to know of the weeks held
        return Onto(previous, manifest, None, frozenset(), rules)
    table = _read(table_files(previous, "lessons"), ["lesson_pid", "local_date"])
    last = pc.max(table["local_date"]).as_py() if table.num_rows else None
    earlier = frozenset(table["lesson_pid"].to_pylist())
    return Onto(previous, manifest, last, earlier, rules)


@dataclass(frozen=True)
class Reuse:
    """Whether a delivery reuses the snapshot's other resources (``reused``) or reads them
    again (``why``), and the files hashed to decide (their SHA-256 is not computed twice)."""

    reused: Reused | None
    why: str | None
    hashed: dict[Path, str]


def reuse(onto: Onto, source_dir: Path, updates: list[Path], compat: frozenset[str]) -> Reuse:
    """What a delivery takes from the snapshot ``onto`` instead of reading the resources other
    than the bulk ones again (``DeliveryRules.reread_files``), when none of their files of the
    extract and the deliveries already ingested changed since it was made (the same names and
    SHA-256 as it recorded), the new delivery holds none of them, the ingest maps the same
    vendor quirks, the same medler made the snapshot and it holds a reference map. Else why
    they must be read again."""
    files_of = onto.rules.reread_files
    why = _why_read_again(onto, updates[-1], compat)
    if why is not None or files_of is None:
        return Reuse(None, why or "the format reads every resource of every delivery", {})
    recorded = {
        name: digest
        for name, (resource, digest) in _recorded(onto, source_dir.name).items()
        if resource not in onto.rules.bulk
    }
    found: dict[Path, str] = {}
    for root in (source_dir, *updates[:-1]):
        for path in files_of(root):
            name = f"{root.name}/{path.relative_to(root).as_posix()}"
            digest = recorded.pop(name, None)
            found[path] = file_sha256(path)
            if digest != found[path]:
                why = f"{name} {'is new' if digest is None else 'changed'} since the snapshot"
                return Reuse(None, why, found)
    if recorded:
        return Reuse(None, f"{min(recorded)} is gone since the snapshot", found)
    manifest = onto.manifest
    reused = Reused(
        onto.snapshot,
        found,
        {name: ResourceCount(**c) for name, c in (manifest.get("records") or {}).items()},
        tuple(manifest.get("warnings") or ()),
        dict(manifest.get("modified_later") or {}),
    )
    return Reuse(reused, None, found)


def _why_read_again(onto: Onto, new: Path, compat: frozenset[str]) -> str | None:
    """Why a delivery's other resources must be read again, whatever their files hold."""
    rules = onto.rules
    if rules.reread_files is None or not rules.bulk:
        return "the format reads every resource of every delivery"
    if REFERENCES not in onto.manifest["tables"]:
        return "the snapshot holds no reference map (it was made by an earlier version)"
    if onto.manifest.get("software_version") != __version__:
        made = onto.manifest.get("software_version")
        return f"the snapshot was made by medler {made}, this is {__version__}"
    if sorted(onto.manifest.get("compat") or []) != sorted(compat):
        return "the vendor quirks mapped (--compat) are not the snapshot's"
    brought = rules.reread_files(new)
    if brought:
        return f"{new.name} holds {brought[0].relative_to(new).as_posix()}"
    return None


def finish_delivery(
    writer: SnapshotWriter, onto: Onto, new: Path, *, read_again: str | None = None
) -> dict[str, Any]:
    """After the adapter has read the delivery: refuse it if it reaches back into the weeks
    already held, share every table that did not change (every table but the bulk ones, and
    the reference map, when the other resources were not read again: ``read_again`` None),
    and say what the delivery holds and, if the other resources were read again, why."""
    reused = read_again is None
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
    earlier = np.fromiter(onto.earlier_lessons, np.int64, len(onto.earlier_lessons))
    if pc.any(pc.is_in(pids, pa.array(earlier))).as_py():
        raise InputFileError(
            f"{new.name} holds lessons already ingested (changed since?); ingest the extract "
            "and every delivery in full (without --delivery)"
        )
    attended = _own(writer, "attendance", ["lesson_pid", "student_pid"])
    late = attended.filter(pc.invert(pc.is_in(attended["lesson_pid"], pids)))
    late_months = _late_months(writer, onto, late, new) if late.num_rows else set()
    changed = []
    if reused:
        taken = (*SMALL_TABLES, REFERENCES)
        writer.share(onto.snapshot, [n for n in taken if n in onto.manifest["tables"]])
    for name in SMALL_TABLES:
        if reused or name not in onto.manifest["tables"]:
            continue
        if _same(writer, onto.snapshot, name):
            writer.discard(name)
            writer.share(onto.snapshot, [name])
        else:
            changed.append(name)
    writer.share(onto.snapshot, [n for n in REGISTER_TABLES if n in onto.manifest["tables"]])
    delivered = pc.unique(pc.strftime(days.drop_null(), "%Y-%m")).to_pylist()
    months = sorted({str(m) for m in delivered} | late_months)
    full: dict[str, str | None] = {}
    if onto.rules.full_build:
        full["full_build"] = onto.rules.full_build
    if onto.rules.bulk:  # why the other resources were read again (None: they were not)
        full["read_again"] = read_again
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


def earlier_quarantine(onto: Onto, base: str, *, reused: bool = False) -> pa.Table:
    """What the snapshot's quarantine holds of records not read again: the bulk resources'
    entries of earlier weeks and the registers' (``reused``: every entry, no other resource
    being read again either), their files named as an ingest of the extract (folder ``base``)
    and its deliveries names them. None for OneRoster: every set is read again."""
    if not onto.rules.bulk:
        return QUARANTINE_SCHEMA.empty_table()
    table = _read(table_files(onto.snapshot, "quarantine"), None).cast(QUARANTINE_SCHEMA)
    if not (onto.manifest.get("source") or {}).get("updates"):  # named without the folder
        ours = pc.or_(_reread(onto, table), _of(table, onto.rules.bulk))
        named = pc.binary_join_element_wise(base, table["source_file"], "/")
        at = QUARANTINE_SCHEMA.get_field_index("source_file")
        table = table.set_column(at, "source_file", pc.if_else(ours, named, table["source_file"]))
    if reused:
        return table
    return table.filter(pc.invert(_reread(onto, table)))


def reused_quarantine(onto: Onto, carried: pa.Table) -> tuple[tuple[int, int], pa.Table]:
    """Of the entries ``carried`` from the snapshot, those of the resources a delivery did not
    read again (``reuse``): how many, how many of them are people kept with a source-local
    pseudonym (what a read of their unchanged files would have reported), and the entries."""
    mine = carried.filter(_reread(onto, carried))
    kept_local = pc.sum(pc.equal(mine["outcome"], KEPT_LOCAL)).as_py() or 0
    return (mine.num_rows, int(kept_local)), mine


def _reread(onto: Onto, table: pa.Table) -> pa.ChunkedArray:
    """Whether each quarantine entry is of a resource read again (``resource.field`` too)."""
    return _of(table, onto.rules.reread)


def _of(table: pa.Table, resources: frozenset[str]) -> pa.ChunkedArray:
    """Whether each quarantine entry is of one of ``resources`` (``resource.field`` too)."""
    resource = pc.split_pattern(table["resource"], ".", max_splits=1)
    head = pc.list_element(resource, 0)
    return pc.is_in(head, pa.array(sorted(resources), pa.string()))


def merged_counts(onto: Onto, counts: dict[str, ResourceCount]) -> dict[str, dict[str, int]]:
    """The snapshot's record counts: the bulk resources' of earlier weeks plus the delivery's,
    every other resource as read this time (for OneRoster, every file)."""
    earlier = onto.manifest.get("records") or {}
    out = {name: asdict(c) for name, c in counts.items()}
    if not onto.rules.bulk:
        return out
    for name in sorted(onto.rules.bulk):
        before = earlier.get(name) or {}
        out[name] = {k: int(before.get(k, 0)) + v for k, v in out.get(name, {}).items()}
    return out


def earlier_files(onto: Onto, base: str) -> dict[str, str]:
    """The source files of the bulk resources already ingested, with their SHA-256 (not read
    again), named as a full ingest of the extract and its deliveries names them. None for
    OneRoster: every set is read again."""
    if not onto.rules.bulk:
        return {}
    return {
        name: digest
        for name, (resource, digest) in _recorded(onto, base).items()
        if resource in onto.rules.bulk
    }


def _recorded(onto: Onto, base: str) -> dict[str, tuple[str, str]]:
    """The source files the snapshot recorded, with their resource and SHA-256, named as an
    ingest of the extract (folder ``base``) and its deliveries names them (``folder/file``)."""
    source = onto.manifest.get("source") or {}
    files = source.get("files") or {}
    prefix = "" if source.get("updates") else f"{base}/"
    out = {}
    for name, digest in files.items():
        parts = name.split("/")
        resource = parts[0 if prefix else min(1, len(parts) - 1)].removesuffix(".json")
        out[prefix + name] = (resource, str(digest))
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
