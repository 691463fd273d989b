"""SS 12000 v2.1 extract → canonical tables, one page at a time.

Rules:
- Every record read is accepted or quarantined with its file, position, field and reason;
  the counts are kept per resource (``read = accepted + quarantined``).
- A reference to an object that was not accepted earlier (a membership of an unknown person, a
  lesson of an unknown activity) quarantines the record, or, for a nested list entry, just that
  entry (recorded under ``<resource>.<field>``).
- Duplicates: the first record with an id is kept, and later ones are quarantined as
  ``duplicate id``.
- A person with an enrolment is a pupil, pseudonymised in the ``student`` domain; a person
  without one is staff (``teacher`` domain). A national ID that cannot be linked gives a
  source-local pseudonym or quarantines the person, as the ID policy says; either way the
  reason is recorded.
- A person with neither an enrolment nor a duty (a guardian, say) is read and accepted but not
  stored: no table holds them, and a warning counts them. The quarantine's ``kept-local``
  entries are of people stored (pupils, and staff with a duty).
- An activity's teacher is a duty (``{"duty": {"id": …}}``). A source that names the person
  instead (``{"person": …}``) has each such link set aside with a reason naming the switch;
  with ``--compat activity-teachers-as-person`` it is read as that person's duty at the
  activity's organisation, or their only duty.
- A school unit's organiser type (municipal, independent, regional, state) is derived from
  the organisation number of the ``Huvudman`` above it (``_organisers``); where it cannot be,
  it is ``unknown``, the school unit is kept, and the reason is recorded and counted.
- Dropped at the door: names, e-mail, eduPersonPrincipalNames, photos, addresses, phone
  numbers, signatures, group and activity display names, comments and absence reasons. The
  birth date becomes a birth year; the security marking becomes a flag.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from linkage._canonical import SCHEMAS
from linkage._snapshot import SnapshotWriter
from linkage.sources._adapter import AdapterContext, AdapterResult, ResourceCount
from linkage.sources._compat import ACTIVITY_TEACHERS_AS_PERSON
from linkage.sources._quarantine import KEPT_LOCAL, KEPT_UNKNOWN, Quarantine
from linkage.sources.ss12000 import _fields as f
from linkage.sources.ss12000._dedupe import deduplicate_attendance
from linkage.sources.ss12000._organisers import OrgNode, find_organiser_type, org_node
from linkage.sources.ss12000._reader import (
    OPTIONAL_RESOURCES,
    RESOURCES,
    STANDARD,
    Page,
    read_deletions,
    read_pages,
    resource_files,
)
from pseudonymise import CollisionError, Domain, IdPolicy, IdStatus, Pseudonymiser

Row = dict[str, Any]
_Person = tuple[int, str, Any, dict[str, Any]]  # position, source id, civicNo value, record


@dataclass
class Ss12000Ingest:
    """Reads one extract into the canonical tables of a snapshot being written."""

    root: Path
    writer: SnapshotWriter
    pseudonymiser: Pseudonymiser
    quarantine: Quarantine
    source: str
    policy: IdPolicy
    ingested_at: dt.datetime
    as_of: dt.date | None = None
    counts: dict[str, ResourceCount] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    compat: frozenset[str] = frozenset()
    # what was accepted, by source id
    schools: dict[str, str] = field(default_factory=dict)  # school unit → school code
    organisations: set[str] = field(default_factory=set)
    # organisations as the organiser walk needs them, and school rows waiting for their kind
    _org_nodes: dict[str, OrgNode] = field(default_factory=dict)
    _school_rows: list[tuple[str, str, int, Row]] = field(default_factory=list)
    students: dict[str, int] = field(default_factory=dict)  # person id → student_pid
    staff: dict[str, int] = field(default_factory=dict)  # person id → teacher_pid
    duties: dict[str, tuple[int, int]] = field(default_factory=dict)  # → (duty_pid, teacher_pid)
    person_duties: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # → (duty, at)
    # staff kept under a local pseudonym, recorded once they are known to have a duty
    _local_staff: dict[str, tuple[str, int, str, Any]] = field(default_factory=dict)
    _by_person: int = 0  # teacher links read from {"person": …} (the compat switch)
    groups: dict[str, int] = field(default_factory=dict)
    syllabuses: dict[str, int] = field(default_factory=dict)
    activities: dict[str, int] = field(default_factory=dict)
    lessons: set[int] = field(default_factory=set)
    # column-wise views for the attendance fast path, built once when first needed
    student_frame: pl.DataFrame | None = None
    lesson_array: np.ndarray | None = None
    updates: tuple[Path, ...] = ()
    _seen: dict[str, set[str]] = field(default_factory=dict)
    # incremental extracts: ids of the resource being read that came from a later extract
    # (with their meta.modified), ids deleted by a later or the same extract, and pending ids
    _newer: dict[str, str] = field(default_factory=dict)
    _gone: set[str] = field(default_factory=set)
    _pending: dict[str, str] = field(default_factory=dict)
    _base: bool = True
    _stale: int = 0
    _issued: dict[str, set[int]] = field(default_factory=dict)
    delivery: bool = False  # bulk resources from the last extract only (a weekly delivery)

    def run(self, progress: Callable[[str, int], None] | None = None) -> None:
        """Every resource in dependency order. With incremental extracts, each resource is read
        from the newest extract to the oldest: a record whose id came from a later extract is
        superseded, and one whose id a later (or the same) extract deleted is dropped."""
        roots = [self.root, *self.updates]
        deletions = [read_deletions(root) for root in roots]
        for resource in RESOURCES:
            count = self.counts.setdefault(resource, ResourceCount())
            handler = getattr(self, f"_page_{resource}")
            self._newer, self._gone = {}, set()
            for k in reversed(range(len(roots))):
                if self.delivery and resource in BULK and k < len(roots) - 1:
                    continue  # already in the snapshot the delivery is added onto
                self._gone |= deletions[k].get(resource, set())
                # a delivery's bulk records are the only ones read: nothing older to shadow
                self._base = k == 0 or (self.delivery and resource in BULK)
                pending: dict[str, str] = {}
                self._pending = pending
                for read in read_pages(roots[k], resource):
                    page = read
                    if len(roots) > 1:  # name the extract too
                        page = Page(f"{roots[k].name}/{read.source_file}", read.records)
                    count.pages += 1
                    handler(page, count)
                    if progress is not None:
                        progress(resource, count.read)
                self._newer.update(pending)
            if (
                count.pages == 0
                and resource not in OPTIONAL_RESOURCES
                and not (self.delivery and resource in BULK)
            ):
                self.alerts.append(f"the extract has no '{resource}' resource")
            if resource == "organisations":
                self._settle_schools()
            if resource == "duties":
                self._settle_staff()
        if self._stale:
            self.warnings.append(
                f"{self._stale} records of an earlier extract were modified later (meta.modified) "
                "than the version kept from a later extract; the later extract's version was kept"
            )

        if self._by_person:
            self.warnings.append(
                f"--compat {ACTIVITY_TEACHERS_AS_PERSON}: {self._by_person:,} teacher links of "
                "activities named a person, not a duty, and were read as the person's duty"
            )

    def _settle_staff(self) -> None:
        """Once duties are read: staff with a duty are stored, so their local pseudonyms are
        recorded; persons with neither an enrolment nor a duty are not stored, and counted."""
        for rid, (source_file, position, reason, value) in self._local_staff.items():
            if rid in self.person_duties:
                self.quarantine.add(
                    "persons", source_file, position, "civicNo", reason, value, outcome=KEPT_LOCAL
                )
        self._local_staff = {}
        unstored = sum(1 for rid in self.staff if rid not in self.person_duties)
        if unstored:
            self.warnings.append(
                f"{unstored:,} persons have neither an enrolment nor a duty (guardians, for "
                "instance): they are not data subjects of the research tables and are not stored"
            )

    # --- helpers -------------------------------------------------------------------------------
    def _records(self, page: Page, count: ResourceCount, resource: str) -> list[tuple[int, Any]]:
        """The page's records with their 1-based positions, duplicates quarantined."""
        seen = self._seen.setdefault(resource, set()) if resource in _DEDUPED else None
        out = []
        for position, record in enumerate(page.records, start=1):
            count.read += 1
            rid = record.get("id") if isinstance(record, dict) else None
            if isinstance(rid, str):
                if rid in self._newer:
                    count.superseded += 1
                    if _modified(record) > self._newer[rid]:
                        self._stale += 1
                    continue
                if rid in self._gone:
                    count.deleted += 1
                    continue
                if not self._base:
                    self._pending.setdefault(rid, _modified(record))
                if seen is not None:
                    if rid in seen:
                        self._reject(count, resource, page, position, "id", "duplicate id", rid)
                        continue
                    seen.add(rid)
            out.append((position, record))
        return out

    def shadowed(self, ids: pl.Series) -> bool:
        """True when any of ``ids`` is superseded or deleted, or the page is not from the base
        extract (whose ids later extracts must know): then records go one by one."""
        if not self._base:
            return True
        shadow = [*self._newer, *self._gone]
        return bool(shadow) and bool(ids.is_in(pl.Series(shadow, dtype=pl.String)).any())

    def _reject(
        self,
        count: ResourceCount,
        resource: str,
        page: Page,
        position: int,
        field_name: str,
        reason: str,
        value: object = None,
    ) -> None:
        count.quarantined += 1
        self.quarantine.add(resource, page.source_file, position, field_name, reason, value)

    def _bad(
        self, count: ResourceCount, resource: str, page: Page, position: int, error: f.BadField
    ) -> None:
        self._reject(count, resource, page, position, error.field, error.reason, error.value)

    def _nested(self, where: str, page: Page, position: int, error: f.BadField) -> None:
        self.quarantine.add(
            where, page.source_file, position, error.field, error.reason, error.value
        )

    def _pids(self, domain: Domain, ids: list[str], *, scope: str | None = None) -> list[int]:
        """Pseudonyms of new objects (ids already deduplicated). A pseudonym met before must
        then belong to another id: a collision across pages, refused like one within a page."""
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

    def _write(self, table: str, rows: list[Row], page: Page) -> None:
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

    # --- organisations -------------------------------------------------------------------------
    def _page_organisations(self, page: Page, count: ResourceCount) -> None:
        for position, record in self._records(page, count, "organisations"):
            try:
                rid = f.record_id(record)
                org_type = f.text(record, "organisationType", required=True)
                code = f.text(record, "schoolUnitCode")
                if org_type == "Skolenhet" and not code:
                    raise f.BadField("schoolUnitCode", "a school unit without a school unit code")
                types = record.get("schoolTypes") or []
                if not isinstance(types, list):
                    raise f.BadField("schoolTypes", "not a list", types)
            except f.BadField as error:
                self._bad(count, "organisations", page, position, error)
                continue
            count.accepted += 1
            self.organisations.add(rid)
            self._org_nodes[rid] = org_node(record, str(org_type))
            if code:
                self.schools[rid] = code
                self._school_rows.append(
                    (
                        rid,
                        page.source_file,
                        position,
                        {
                            "school_code": code,
                            "municipality_code": f.text(record, "municipalityCode"),
                            "organisation_type": org_type,
                            "school_types": ",".join(str(t) for t in types),
                        },
                    )
                )

    def _settle_schools(self) -> None:
        """Once every organisation is read: each school unit's organiser kind, from the chain
        of parents up to its Huvudman (``_organisers``); the schools are written then. A school
        unit whose kind is unknown is kept, named in the quarantine table (``kept-unknown``)
        with the field and reason, and counted in a warning."""
        by_file: dict[str, list[Row]] = {}
        unknown: dict[str, int] = {}
        for rid, source_file, position, row in self._school_rows:
            found = find_organiser_type(rid, self._org_nodes)
            row["organiser_type"] = found.organiser_type.value
            if found.reason is not None:
                unknown[found.reason] = unknown.get(found.reason, 0) + 1
                self.quarantine.add(
                    "organisations",
                    source_file,
                    position,
                    found.field or "parentOrganisation",
                    found.reason,
                    outcome=KEPT_UNKNOWN,
                )
            by_file.setdefault(source_file, []).append(row)
        for source_file, rows in by_file.items():
            self._write("schools", rows, Page(source_file, []))
        self._school_rows, self._org_nodes = [], {}
        if unknown:
            total = sum(unknown.values())
            reasons = "; ".join(f"{n:,}: {reason}" for reason, n in sorted(unknown.items()))
            self.warnings.append(
                f"{total:,} school units have no organiser type (they are counted as "
                f"'unknown'; the quarantine table names each, as kept-unknown): {reasons}"
            )

    # --- persons -------------------------------------------------------------------------------
    def _page_persons(self, page: Page, count: ResourceCount) -> None:
        people: list[_Person] = []
        for position, record in self._records(page, count, "persons"):
            try:
                rid = f.record_id(record)
                civic = record.get("civicNo")
                value = civic.get("value") if isinstance(civic, dict) else None
                if civic is not None and not isinstance(civic, dict):
                    raise f.BadField("civicNo", "not an object", civic)
                enrolments = record.get("enrolments") or []
                if not isinstance(enrolments, list):
                    raise f.BadField("enrolments", "not a list", enrolments)
                f.date(record, "birthDate")
            except f.BadField as error:
                self._bad(count, "persons", page, position, error)
                continue
            people.append((position, rid, value, record))
        for is_student in (True, False):
            group = [p for p in people if bool(p[3].get("enrolments")) is is_student]
            if group:
                self._persons(page, count, group, Domain.STUDENT if is_student else Domain.TEACHER)

    def _persons(
        self, page: Page, count: ResourceCount, people: list[_Person], domain: Domain
    ) -> None:
        values = pl.Series(
            [v if isinstance(v, str) else None for _, _, v, _ in people], dtype=pl.String
        )
        local = pl.Series([rid for _, rid, _, _ in people], dtype=pl.String)
        result = self.pseudonymiser.pseudonymise_people(
            domain,
            values,
            local_ids=local,
            source=self.source,
            policy=self.policy,
            as_of=self.as_of,
        )
        pid_col = domain.column
        students, enrolments = [], []
        for (position, rid, value, record), pid, status, reason in zip(
            people,
            result[pid_col].to_list(),
            result["id_status"].to_list(),
            result["id_reason"].to_list(),
            strict=True,
        ):
            if status == IdStatus.QUARANTINED.value:
                self._reject(
                    count, "persons", page, position, "civicNo", f"national ID: {reason}", value
                )
                continue
            if status == IdStatus.LOCAL.value and domain is Domain.TEACHER:
                self._local_staff[rid] = (
                    page.source_file,
                    position,
                    f"national ID: {reason}",
                    value,
                )
            elif status == IdStatus.LOCAL.value:
                self.quarantine.add(
                    "persons",
                    page.source_file,
                    position,
                    "civicNo",
                    f"national ID: {reason}",
                    value,
                    outcome=KEPT_LOCAL,
                )
            count.accepted += 1
            if domain is Domain.TEACHER:
                self.staff[rid] = int(pid)
                continue
            self.students[rid] = int(pid)
            birth = f.date(record, "birthDate")
            students.append(
                {
                    "student_pid": int(pid),
                    "id_status": status,
                    "birth_year": birth.year if birth else None,
                    "sex": record.get("sex") if isinstance(record.get("sex"), str) else None,
                    "protected_identity": record.get("securityMarking") not in (None, "Ingen"),
                }
            )
            for i, enrolment in enumerate(record.get("enrolments") or []):
                try:
                    if not isinstance(enrolment, dict):
                        raise f.BadField(f"enrolments[{i}]", "not an object", enrolment)
                    school = f.reference(enrolment, "enroledAt")
                    if school not in self.schools:
                        raise f.BadField(f"enrolments[{i}].enroledAt", "unknown school unit")
                    grade = f.integer(enrolment, "schoolYear")
                    enrolments.append(
                        {
                            "student_pid": int(pid),
                            "school_code": self.schools[school],
                            "school_type": f.text(enrolment, "schoolType"),
                            "grade": grade,
                            "start_date": f.date(enrolment, "startDate"),
                            "end_date": f.date(enrolment, "endDate"),
                        }
                    )
                except f.BadField as error:
                    self._nested("persons.enrolments", page, position, error)
        self._write("students", students, page)
        self._write("enrolments", enrolments, page)

    # --- duties ----------------------------------------------------------------------------------
    def _page_duties(self, page: Page, count: ResourceCount) -> None:
        accepted: list[tuple[str, Row]] = []
        holders: dict[str, tuple[str, str]] = {}  # duty id → (person id, dutyAt id)
        for position, record in self._records(page, count, "duties"):
            try:
                rid = f.record_id(record)
                person = f.reference(record, "person")
                if person not in self.staff:
                    reason = "a pupil, not staff" if person in self.students else "unknown person"
                    raise f.BadField("person", reason)
                at = f.reference(record, "dutyAt")
                if at not in self.schools and at not in self.organisations:
                    raise f.BadField("dutyAt", "unknown organisation")
                row: Row = {
                    "teacher_pid": self.staff[str(person)],
                    "id_status": None,
                    "school_code": self.schools.get(str(at)),
                    "duty_role": f.text(record, "dutyRole", required=True),
                    "duty_percent": f.integer(record, "dutyPercent"),
                    "start_date": f.date(record, "startDate"),
                    "end_date": f.date(record, "endDate"),
                }
            except f.BadField as error:
                self._bad(count, "duties", page, position, error)
                continue
            row["id_status"] = "local" if row["teacher_pid"] < 0 else "linked"
            accepted.append((rid, row))
            holders[rid] = (str(person), str(at))
        for (rid, row), pid in zip(
            accepted, self._pids(Domain.DUTY, [r for r, _ in accepted]), strict=True
        ):
            row["duty_pid"] = pid
            self.duties[rid] = (pid, int(row["teacher_pid"]))
            person, at = holders[rid]
            self.person_duties.setdefault(person, []).append((rid, at))
        count.accepted += len(accepted)
        self._write("staff", [row for _, row in accepted], page)

    # --- groups -----------------------------------------------------------------------------------
    def _page_groups(self, page: Page, count: ResourceCount) -> None:
        accepted: list[tuple[str, Row, list[Row]]] = []
        for position, record in self._records(page, count, "groups"):
            try:
                rid = f.record_id(record)
                org = f.reference(record, "organisation")
                if org not in self.organisations:
                    raise f.BadField("organisation", "unknown organisation")
                row: Row = {
                    "school_code": self.schools.get(str(org)),
                    "group_type": f.text(record, "groupType", required=True),
                    "school_type": f.text(record, "schoolType"),
                    "start_date": f.date(record, "startDate"),
                    "end_date": f.date(record, "endDate"),
                }
                memberships = record.get("groupMemberships") or []
                if not isinstance(memberships, list):
                    raise f.BadField("groupMemberships", "not a list", memberships)
            except f.BadField as error:
                self._bad(count, "groups", page, position, error)
                continue
            members = []
            for i, membership in enumerate(memberships):
                try:
                    if not isinstance(membership, dict):
                        raise f.BadField(f"groupMemberships[{i}]", "not an object", membership)
                    person = f.reference(membership, "person")
                    if person not in self.students:
                        reason = "staff, not a pupil" if person in self.staff else "unknown person"
                        raise f.BadField(f"groupMemberships[{i}].person", reason)
                    members.append(
                        {
                            "student_pid": self.students[str(person)],
                            "start_date": f.date(membership, "startDate"),
                            "end_date": f.date(membership, "endDate"),
                        }
                    )
                except f.BadField as error:
                    self._nested("groups.groupMemberships", page, position, error)
            accepted.append((rid, row, members))
        pids = self._pids(Domain.GROUP, [rid for rid, _, _ in accepted])
        memberships_out = []
        for (rid, row, members), pid in zip(accepted, pids, strict=True):
            self.groups[rid] = pid
            row["group_pid"] = pid
            memberships_out += [{**m, "group_pid": pid} for m in members]
        count.accepted += len(accepted)
        self._write("groups", [row for _, row, _ in accepted], page)
        self._write("group_memberships", memberships_out, page)

    # --- syllabuses -------------------------------------------------------------------------------
    def _page_syllabuses(self, page: Page, count: ResourceCount) -> None:
        accepted: list[tuple[str, Row]] = []
        for position, record in self._records(page, count, "syllabuses"):
            try:
                rid = f.record_id(record)
                f.text(record, "subjectName", required=True)
                row: Row = {
                    "subject_code": f.text(record, "subjectCode"),
                    "school_type": f.text(record, "schoolType"),
                    "language_code": f.text(record, "languageCode"),
                    "official": f.boolean(record, "official"),
                }
            except f.BadField as error:
                self._bad(count, "syllabuses", page, position, error)
                continue
            accepted.append((rid, row))
        pids = self._pids(Domain.SCHOOL_LOCAL_ID, [r for r, _ in accepted], scope="syllabus")
        for (rid, row), pid in zip(accepted, pids, strict=True):
            self.syllabuses[rid] = row["syllabus_pid"] = pid
        count.accepted += len(accepted)
        self._write("syllabuses", [row for _, row in accepted], page)

    # --- activities -------------------------------------------------------------------------------
    def _page_activities(self, page: Page, count: ResourceCount) -> None:
        accepted: list[tuple[str, Row, list[int], list[Row]]] = []
        for position, record in self._records(page, count, "activities"):
            try:
                rid = f.record_id(record)
                org = f.reference(record, "organisation")
                if org not in self.organisations:
                    raise f.BadField("organisation", "unknown organisation")
                syllabus = f.reference(record, "syllabus", required=False)
                if syllabus is not None and syllabus not in self.syllabuses:
                    raise f.BadField("syllabus", "unknown syllabus")
                groups = record.get("groups")
                if not isinstance(groups, list) or not groups:
                    raise f.BadField(
                        "groups", "missing or empty (an activity needs a group)", groups
                    )
                row = {
                    "school_code": self.schools.get(str(org)),
                    "syllabus_pid": self.syllabuses.get(syllabus) if syllabus else None,
                    "activity_type": f.text(record, "activityType"),
                    "minutes_planned": f.integer(record, "minutesPlanned"),
                    "start_date": f.date(record, "startDate"),
                    "end_date": f.date(record, "endDate"),
                }
                teachers = record.get("teachers") or []
                if not isinstance(teachers, list):
                    raise f.BadField("teachers", "not a list", teachers)
            except f.BadField as error:
                self._bad(count, "activities", page, position, error)
                continue
            group_pids, assigned = self._activity_links(page, position, groups, teachers, str(org))
            accepted.append((rid, row, group_pids, assigned))
        pids = self._pids(Domain.ACTIVITY, [rid for rid, _, _, _ in accepted])
        links, teachers_out = [], []
        for (rid, row, group_pids, assigned), pid in zip(accepted, pids, strict=True):
            self.activities[rid] = row["activity_pid"] = pid
            links += [{"activity_pid": pid, "group_pid": g} for g in group_pids]
            teachers_out += [{**a, "activity_pid": pid} for a in assigned]
        count.accepted += len(accepted)
        self._write("activities", [row for _, row, _, _ in accepted], page)
        self._write("activity_groups", links, page)
        self._write("activity_teachers", teachers_out, page)

    def _activity_links(
        self, page: Page, position: int, groups: list[Any], teachers: list[Any], org: str
    ) -> tuple[list[int], list[Row]]:
        """The activity's known groups and teacher assignments; unknown ones are set aside."""
        group_pids = []
        for i, ref in enumerate(groups):
            if isinstance(ref, dict) and ref.get("id") in self.groups:
                group_pids.append(self.groups[ref["id"]])
            else:
                self._nested(
                    "activities.groups", page, position, f.BadField(f"groups[{i}]", "unknown group")
                )
        assigned = []
        for i, assignment in enumerate(teachers):
            try:
                if not isinstance(assignment, dict):
                    raise f.BadField(f"teachers[{i}]", "not an object", assignment)
                duty: str | None = (
                    self._duty_of_person(assignment, i, org)
                    if "duty" not in assignment and "person" in assignment
                    else f.reference(assignment, "duty")
                )
                if duty not in self.duties:
                    raise f.BadField(f"teachers[{i}].duty", "unknown duty")
                duty_pid, teacher_pid = self.duties[str(duty)]
                assigned.append(
                    {
                        "duty_pid": duty_pid,
                        "teacher_pid": teacher_pid,
                        "start_date": f.date(assignment, "startDate"),
                        "end_date": f.date(assignment, "endDate"),
                    }
                )
            except f.BadField as error:
                self._nested("activities.teachers", page, position, error)
        return group_pids, assigned

    def _duty_of_person(self, assignment: dict[str, Any], i: int, org: str) -> str:
        """A teacher link that names a person instead of a duty (a vendor quirk): set aside
        unless the office chose ``--compat activity-teachers-as-person``; then the person's
        duty at the activity's organisation (or its school unit), or their only duty."""
        if ACTIVITY_TEACHERS_AS_PERSON not in self.compat:
            raise f.BadField(
                f"teachers[{i}].duty",
                "missing: the link names a person, not a duty (if the source always does, "
                f"ingest with --compat {ACTIVITY_TEACHERS_AS_PERSON})",
            )
        person = str(f.reference(assignment, "person"))
        held = self.person_duties.get(person, [])
        if not held:
            reason = "a pupil, not staff" if person in self.students else "no duty"
            raise f.BadField(f"teachers[{i}].person", reason)
        school = self.schools.get(org)
        here = [d for d, at in held if at == org or (school and self.schools.get(at) == school)]
        if len(here) == 1 or (not here and len(held) == 1):
            self._by_person += 1
            return (here or [held[0][0]])[0]
        raise f.BadField(
            f"teachers[{i}].person",
            "several duties at the activity's organisation"
            if here
            else "several duties, none at the activity's organisation",
        )

    # --- lessons ----------------------------------------------------------------------------------
    def _page_calendarEvents(self, page: Page, count: ResourceCount) -> None:
        from linkage.sources.ss12000._bulk import lessons_page

        lessons_page(self, page, count)

    def _page_attendances(self, page: Page, count: ResourceCount) -> None:
        from linkage.sources.ss12000._bulk import attendance_page

        attendance_page(self, page, count)

    def _page_absences(self, page: Page, count: ResourceCount) -> None:
        from linkage.sources.ss12000._bulk import absences_page

        absences_page(self, page, count)

    def _page_grades(self, page: Page, count: ResourceCount) -> None:
        from linkage.sources.ss12000._results import grades_page

        grades_page(self, page, count)

    def _page_aggregatedAttendance(self, page: Page, count: ResourceCount) -> None:
        from linkage.sources.ss12000._results import aggregated_page

        aggregated_page(self, page, count)


# The resources that grow week by week: a weekly delivery adds these, and only these, in parts.
BULK = ("calendarEvents", "attendances", "absences")

_DEDUPED = frozenset(
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


def _modified(record: dict[str, Any]) -> str:
    meta = record.get("meta")
    value = meta.get("modified") if isinstance(meta, dict) else None
    if not isinstance(value, str):
        return ""
    try:
        return (
            dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC).isoformat()
        )
    except ValueError:
        return ""


def ingest_ss12000(context: AdapterContext) -> AdapterResult:
    """The SS 12000 adapter: every resource of the extract (and of its incremental updates,
    newest first), in dependency order."""
    ingest = Ss12000Ingest(
        root=context.root,
        writer=context.writer,
        pseudonymiser=context.pseudonymiser,
        quarantine=context.quarantine,
        source=context.source,
        policy=context.policy,
        ingested_at=context.ingested_at,
        updates=context.updates,
        compat=context.compat,
        delivery=context.delivery,
        lessons=set(context.earlier_lessons),
    )
    ingest.run(context.progress)
    context.writer.rewrite(
        "attendance",
        lambda old, new: deduplicate_attendance(
            old, new, context.quarantine, ingest.counts["attendances"]
        ),
    )
    roots = (context.root, *context.updates)
    files = [
        p
        for k, root in enumerate(roots)
        for r in (*RESOURCES, "deletedEntities")
        if not (context.delivery and r in BULK and k < len(roots) - 1)
        for p in resource_files(root, r)
    ]
    return AdapterResult(STANDARD, ingest.counts, files, ingest.warnings, ingest.alerts)
