"""OneRoster 1.0/1.1/1.2 CSV set → canonical tables.

Rules (docs/reference/oneroster.md says the same for users of medler):
- The first set must be **bulk**. Delta sets may follow it (``medler ingest BULK DELTA …``,
  oldest first): they are read newest first, a row whose sourcedId came from a newer set is
  superseded, and a ``tobedeleted`` row of a delta deletes that sourcedId from the older sets.
  Both are counted per file (``read = accepted + quarantined + superseded + deleted``).
- Every row read is accepted or quarantined with its file, 1-based row, column and reason;
  the counts are kept per file stem (``read = accepted + quarantined``).
- A ``tobedeleted`` row in a bulk file is an object that no longer exists: it is
  quarantined with the reason ``tobedeleted`` (so it is counted and visible), and a reference
  to it is quarantined as ``<object> is tobedeleted``.
- A reference to an object that is not accepted (an enrollment of an unknown user or class,
  a class of an unknown school) quarantines the row with ``unknown <object>`` (or
  ``<object> was quarantined``). A reference the object can do without (a class's course or
  terms, a user's organisations) only records a note under ``<file>.<column>`` and keeps it.
- Duplicates: the first row with a ``sourcedId`` is kept; later ones are ``duplicate
  sourcedId``.
- A **weekly delivery** (``medler ingest BULK EARLIER… NEW --delivery``, ``linkage._deliveries``)
  reads every set by these same rules, and must fit the snapshot it is added onto: a
  ``tobedeleted`` row of the new delta whose sourcedId the older sets do not hold (or hold as
  deleted), and a reference in the new delta to a sourcedId that no set holds (``unknown
  <object>``), refuse it with the file, row and column.
- Dropped at the door: names, usernames, e-mail, phone, SMS, passwords, userIds, agents,
  titles, class codes, locations, user profiles' credentials, and every demographic column but
  the birth year and sex.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from linkage._canonical import SCHEMAS
from linkage._snapshot import SnapshotWriter
from linkage.sources._adapter import AdapterContext, AdapterResult, ResourceCount
from linkage.sources._quarantine import Quarantine
from linkage.sources.oneroster import _fields as f
from linkage.sources.oneroster._classes import Classes
from linkage.sources.oneroster._people import People
from linkage.sources.oneroster._reader import (
    FILES,
    MANIFEST,
    Manifest,
    Row,
    find_file,
    read_manifest,
    read_rows,
)
from linkage.sources.oneroster._reading import Handler, Org
from medler.errors import InputFileError, MedlerInternalError
from pseudonymise import CollisionError, Domain, IdPolicy, OrganiserType, Pseudonymiser

NO_LESSONS = (
    "OneRoster has no lesson times and no attendance: the lessons, attendance and "
    "absence_notices tables are empty; 'medler build' links pupils and teachers per class "
    "and term instead (exposure weighted by classes, not minutes), and leaves "
    "student_lessons, the absence tables, student_profiles and quality empty"
)
_OUT_OF_SCOPE = (
    "lineItems",
    "results",
    "categories",
    "resources",
    "classResources",
    "courseResources",
    "userResources",
    "scoreScales",
    "lineItemLearningObjectiveIds",
    "lineItemScoreScales",
    "resultLearningObjectiveIds",
    "resultScoreScales",
)


@dataclass
class OneRosterIngest:
    """Reads one bulk set into the canonical tables of a snapshot being written."""

    root: Path
    writer: SnapshotWriter
    pseudonymiser: Pseudonymiser
    quarantine: Quarantine
    source: str
    policy: IdPolicy
    ingested_at: dt.datetime
    manifest: Manifest
    counts: dict[str, ResourceCount] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # what was accepted, by sourcedId
    orgs: dict[str, Org] = field(default_factory=dict)
    sessions: dict[str, tuple[dt.date | None, dt.date | None]] = field(default_factory=dict)
    courses: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    # sourcedIds set aside, by file stem: tobedeleted, or quarantined for another reason
    deleted: dict[str, set[str]] = field(default_factory=dict)
    rejected: dict[str, set[str]] = field(default_factory=dict)
    _issued: dict[str, set[int]] = field(default_factory=dict)
    # delta sets after the bulk set, oldest first, with their manifests
    updates: tuple[tuple[Path, Manifest], ...] = ()
    # a weekly delivery: the newest delta set, which must fit the sets before it
    delivery: Path | None = None
    _label: dict[str, str] = field(default_factory=dict)

    @property
    def standard(self) -> str:
        return f"OneRoster {self.manifest.version or '1.1'}"

    # --- reading -------------------------------------------------------------------------------
    def present(self, stem: str) -> bool:
        return bool(self._sets(stem))

    def _sets(self, stem: str) -> list[tuple[Path, str, bool]]:
        """Where ``stem`` is read from, newest first: (folder, file label, is the bulk set)."""
        many = bool(self.updates)
        found = [
            (root, f"{root.name}/{stem}.csv", False)
            for root, manifest in reversed(self.updates)
            if manifest.mode(stem) == "delta"
        ]
        if self.manifest.mode(stem) == "bulk":
            found.append(
                (self.root, f"{self.root.name}/{stem}.csv" if many else f"{stem}.csv", True)
            )
        return found

    def each_row(
        self, stem: str, handler: Handler, progress: Callable[[str, int], None] | None = None
    ) -> None:
        """Call ``handler`` on every row of a file; it accepts or raises ``BadField``.
        Duplicates and ``tobedeleted`` rows of the bulk set are quarantined before the handler
        sees them. With delta sets, the newest set is read first: a row whose sourcedId came
        from a newer set is superseded, and a ``tobedeleted`` row of a delta deletes its
        sourcedId from the older sets (both counted, never quarantined)."""
        count = self.counts.setdefault(stem, ResourceCount())
        newer: set[str] = set()
        gone: set[str] = set()
        removals = _Removals()
        for root, label, is_bulk in self._sets(stem):
            path = find_file(root, stem)
            assert path is not None  # checked against the manifest in ``run``
            self.files.append(path)
            self._label[stem] = label
            count.pages += 1
            shadows, deletes = self._read_set(
                stem, root, is_bulk, handler, count, (newer, gone), removals
            )
            newer |= shadows
            gone |= deletes
        removals.unheld.update(removals.undecided)
        if removals.unheld:
            self._refuse_removals(stem, removals.unheld)
        if progress is not None:
            progress(stem, count.read)

    def _read_set(
        self,
        stem: str,
        root: Path,
        is_bulk: bool,
        handler: Handler,
        count: ResourceCount,
        newer_sets: tuple[set[str], set[str]],
        removals: _Removals,
    ) -> tuple[set[str], set[str]]:
        """One set's rows of ``stem``; returns the sourcedIds it holds and those it deletes."""
        newer, gone = newer_sets
        in_delivery = root == self.delivery
        seen: set[str] = set()
        shadows: set[str] = set()
        deletes: set[str] = set()
        for position, row in read_rows(root, stem):
            count.read += 1
            sid = None
            try:
                sid = f.sourced_id(row)
                assert sid is not None
                if not in_delivery:
                    removals.find(sid, row)
                if sid in newer:
                    count.superseded += 1
                    continue
                if sid in gone:
                    count.deleted += 1
                    continue
                _check_width(row)
                if sid in seen:
                    raise f.BadField("sourcedId", "duplicate sourcedId")
                seen.add(sid)
                if f.status(row) == f.DELETED:
                    if not is_bulk:
                        deletes.add(sid)
                        count.deleted += 1
                        if in_delivery:
                            removals.undecided[sid] = position
                        continue
                    self.deleted.setdefault(stem, set()).add(sid)
                    raise f.BadField("status", f.DELETED)
                if not is_bulk:
                    shadows.add(sid)
                handler(position, row)
            except f.BadField as error:
                if sid is not None and error.reason not in ("duplicate sourcedId", f.DELETED):
                    self.rejected.setdefault(stem, set()).add(sid)
                count.quarantined += 1
                self.reject(stem, position, error)
                continue
            count.accepted += 1
        return shadows, deletes

    def _refuse_removals(self, stem: str, unheld: dict[str, int]) -> None:
        assert self.delivery is not None
        first = min(unheld.values())
        raise InputFileError(
            f"{self.delivery.name}/{stem}.csv row {first}: sourcedId is tobedeleted, but the "
            f"snapshot holds no such record ({len(unheld):,} such rows in the file): the delta "
            "does not fit the snapshot in use (was it made from another export?). Give the "
            "sets the delta follows, or ingest the bulk set and every delta set in full "
            "(without --delivery)"
        )

    def check_fits(self) -> None:
        """A delivery whose rows refer to a sourcedId that no set holds does not fit the
        snapshot: refused with the first such row."""
        if self.delivery is None:
            return
        prefix = f"{self.delivery.name}/"
        unknown = [
            row
            for row in self.quarantine.rows
            if row[1].startswith(prefix) and row[4].startswith("unknown ")
        ]
        if unknown:
            _, label, position, column, reason, _, _ = min(unknown, key=lambda r: (r[1], r[2]))
            raise InputFileError(
                f"{label} row {position}: {column} refers to "
                f"{reason.removeprefix('unknown ')} that neither the snapshot nor the delta "
                f"holds ({len(unknown):,} such references in the delta): the delta does not "
                "fit the snapshot in use (was it made from another export?). Give the sets the "
                "delta follows, or ingest the bulk set and every delta set in full (without "
                "--delivery)"
            )

    def reject(self, stem: str, position: int, error: f.BadField) -> None:
        label = self._label.get(stem, f"{stem}.csv")
        self.quarantine.add(stem, label, position, error.field, error.reason, error.value)

    def unaccept(self, stem: str, position: int, sid: str, error: f.BadField) -> None:
        """Quarantine a row that ``each_row`` had accepted (set aside by a later check)."""
        count = self.counts[stem]
        count.accepted -= 1
        count.quarantined += 1
        self.rejected.setdefault(stem, set()).add(sid)
        self.reject(stem, position, error)

    def note(self, where: str, stem: str, position: int, error: f.BadField) -> None:
        """A problem with part of a row that is kept (not counted as quarantined)."""
        label = self._label.get(stem, f"{stem}.csv")
        self.quarantine.add(where, label, position, error.field, error.reason, error.value)

    def missing(self, stem: str, noun: str, sid: str | None) -> str:
        """Why a reference to ``sid`` in file ``stem`` cannot be followed."""
        if sid is not None and sid in self.deleted.get(stem, ()):
            return f"{noun} is tobedeleted"
        if sid is not None and sid in self.rejected.get(stem, ()):
            return f"{noun} was quarantined"
        return f"unknown {noun}"

    # --- pseudonyms and writing ----------------------------------------------------------------
    def pids(self, domain: Domain, ids: list[str], *, scope: str) -> list[int]:
        """Pseudonyms of distinct source identifiers, scoped by the source and ``scope``."""
        if not ids:
            return []
        series = self.pseudonymiser.pseudonymise(
            domain, pl.Series(ids, dtype=pl.String), scope=f"{self.source}:{scope}"
        )
        pids = [int(x) for x in series.to_list()]
        known = self._issued.setdefault(domain.value, set())
        if len(set(pids)) != len(pids) or known & set(pids):
            raise CollisionError(
                f"two identifiers of the OneRoster set share a pseudonym in domain "
                f"'{domain.value}'; rotate the key ('medler keys rotate') and ingest again"
            )
        known.update(pids)
        return pids

    def write(self, table: str, rows: list[dict[str, Any]], source_file: str) -> None:
        if not rows:
            return
        schema = SCHEMAS[table]
        lineage = {
            "source_standard": self.standard,
            "source_file": source_file,
            "ingested_at": self.ingested_at,
        }
        columns = {
            name: [lineage[name]] * len(rows) if name in lineage else [r.get(name) for r in rows]
            for name in schema.names
        }
        self.writer.write(table, pa.table(columns, schema=schema))

    # --- organisations, sessions, courses ------------------------------------------------------
    def school_of(self, org: str | None) -> str | None:
        """The sourcedId of the school an organisation is or belongs to (its nearest ``school``
        ancestor), or None."""
        hops = 0
        while org is not None and org in self.orgs and hops < 32:
            if self.orgs[org].type == "school":
                return org
            org, hops = self.orgs[org].parent, hops + 1
        return None

    def school_code(self, org: str | None) -> str | None:
        school = self.school_of(org)
        return self.orgs[school].code if school is not None else None

    def _org(self, position: int, row: Row) -> None:
        sid = str(f.sourced_id(row))
        org_type = row.get("type", "").strip()
        if not org_type:
            raise f.BadField("type", "missing")
        code = row.get("identifier", "").strip() or sid
        if org_type == "school" and any(
            o.type == "school" and o.code == code for o in self.orgs.values()
        ):
            raise f.BadField("identifier", "school code of another school", code)
        self.orgs[sid] = Org(org_type, code, f.sourced_id(row, "parentSourcedId", required=False))

    def _session(self, position: int, row: Row) -> None:
        start, end = f.date(row, "startDate"), f.date(row, "endDate")
        if start and end and end < start:
            raise f.BadField("endDate", "before startDate", row.get("endDate"))
        self.sessions[str(f.sourced_id(row))] = (start, end)

    def _course(self, position: int, row: Row) -> None:
        org = f.sourced_id(row, "orgSourcedId", required=False)
        if org is not None and org not in self.orgs:
            raise f.BadField("orgSourcedId", self.missing("orgs", "organisation", org))
        self.courses[str(f.sourced_id(row))] = (
            f.listed(row, "subjectCodes"),
            f.listed(row, "subjects"),
        )

    def write_schools(self) -> None:
        rows = [
            {
                "school_code": o.code,
                "municipality_code": None,
                "organisation_type": "school",
                "school_types": None,
                "organiser_type": OrganiserType.UNKNOWN.value,
            }
            for o in self.orgs.values()
            if o.type == "school"
        ]
        self.write("schools", rows, "orgs.csv")
        if rows:  # OneRoster has no organisation number, nor any other sign of the organiser
            self.warnings.append(
                f"{len(rows):,} school units have no organiser type (they are counted as "
                "'unknown'): OneRoster's orgs.csv does not say who runs a school"
            )

    # --- the whole set ---------------------------------------------------------------------------
    def check_manifest(self) -> None:
        delta = [f"{s}.csv" for s in FILES if self.manifest.mode(s) == "delta"]
        if delta:
            raise InputFileError(
                f"{MANIFEST} marks {', '.join(delta)} as delta: a delta set holds only the "
                "changes since an earlier export; ingest the bulk set first and the delta sets "
                "after it, oldest first ('medler ingest BULK DELTA …')"
            )
        for root, manifest in self.updates:
            bulk = [f"{s}.csv" for s in FILES if manifest.mode(s) == "bulk"]
            if bulk:
                raise InputFileError(
                    f"{root.name}/{MANIFEST} marks {', '.join(bulk)} as bulk: a set given after "
                    "the first must be a delta set (files 'delta' or 'absent'); ingest a newer "
                    "bulk set on its own instead"
                )
        for stem in FILES:
            for root, _label, _bulk in self._sets(stem):
                if find_file(root, stem) is None:
                    raise InputFileError(
                        f"{MANIFEST} of {root.name} lists {stem}.csv but the set has no such "
                        "file; export the whole set again, or mark the file absent"
                    )
        if not self.manifest.present:
            self.warnings.append(
                f"the set has no {MANIFEST}: read as a OneRoster 1.0 bulk set (1.0 came without "
                "a manifest), every file in the folder as bulk"
            )
        elif self.manifest.version is None:
            self.warnings.append(f"{MANIFEST} gives no oneroster.version; read as 1.1")
        for stem in self.manifest.blank:
            self.warnings.append(f"{MANIFEST} gives {stem} no mode; the file is taken as absent")
        for stem in ("orgs", "users", "classes", "enrollments"):
            if not self.present(stem):
                why = "absent in the manifest" if self.manifest.present else "no such file"
                self.alerts.append(
                    f"the set has no {stem}.csv ({why}): the research tables need it"
                )
        skipped = [s for s in _OUT_OF_SCOPE if self.manifest.mode(s) != "absent"]
        if skipped:
            self.warnings.append(
                f"not read (grades and resources are out of scope): "
                f"{', '.join(f'{s}.csv' for s in skipped)}"
            )
        self.warnings.append(NO_LESSONS)

    def run(self, progress: Callable[[str, int], None] | None = None) -> None:
        self.check_manifest()
        self.each_row("orgs", self._org, progress)
        self.write_schools()
        self.each_row("academicSessions", self._session, progress)
        self.each_row("courses", self._course, progress)
        people = People(self)
        people.read(progress)
        classes = Classes(self, people)
        classes.read(progress)
        people.write_staff(classes.teacher_rows)
        self.check_fits()


@dataclass
class _Removals:
    """A delivery's ``tobedeleted`` rows, by sourcedId → row: ``undecided`` until the newest
    older set that holds the sourcedId is read, ``unheld`` when it holds it deleted."""

    undecided: dict[str, int] = field(default_factory=dict)
    unheld: dict[str, int] = field(default_factory=dict)

    def find(self, sid: str, row: Row) -> None:
        """An older set's row: whether a removal of the delivery's deletes a record held."""
        if sid in self.undecided:
            at = self.undecided.pop(sid)
            if row.get("status", "").strip().lower() == f.DELETED:
                self.unheld[sid] = at


def _check_width(row: Row) -> None:
    """A row with more cells than the header, or fewer than it names, is set aside: which
    cells are missing or extra cannot be known."""
    if "(extra)" in row:
        raise f.BadField("(row)", "more cells than the header", row["(extra)"])
    if "(short)" in row:
        raise f.BadField("(row)", f"fewer cells than the header ({row['(short)']})")


def ingest_oneroster(context: AdapterContext) -> AdapterResult:
    """The OneRoster adapter: every file of a bulk set, in dependency order."""
    ingest = OneRosterIngest(
        root=context.root,
        writer=context.writer,
        pseudonymiser=context.pseudonymiser,
        quarantine=context.quarantine,
        source=context.source,
        policy=context.policy,
        ingested_at=context.ingested_at,
        manifest=read_manifest(context.root, manifestless=True),
        updates=tuple((u, read_manifest(u)) for u in context.updates),
        delivery=context.updates[-1] if context.delivery and context.updates else None,
    )
    ingest.run(context.progress)
    manifest = find_file(context.root, "manifest")
    files = [manifest, *ingest.files] if manifest is not None else ingest.files
    for stem, count in ingest.counts.items():
        if count.read != count.accepted + count.quarantined + count.superseded + count.deleted:
            raise MedlerInternalError(f"the counts of {stem}.csv do not add up; this is a bug")
    return AdapterResult(ingest.standard, ingest.counts, files, ingest.warnings, ingest.alerts)
