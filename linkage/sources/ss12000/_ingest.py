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
- A weekly delivery whose other resources are unchanged (``--delivery``; their files have the
  SHA-256 the snapshot recorded, and the delivery holds none of them) reads only its bulk
  resources: the other tables are shared, the references resolve through the snapshot's
  reference map (``_references``), and the counts and warnings of the resources not read
  again are the snapshot's. Every other ingest writes that map.
- Dropped at the door: names, e-mail, eduPersonPrincipalNames, photos, addresses, phone
  numbers, signatures, group and activity display names, comments and absence reasons. The
  birth date becomes a birth year; the security marking becomes a flag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path

from linkage._canonical import REFERENCES
from linkage.sources._adapter import AdapterContext, AdapterResult, ResourceCount, Reused
from linkage.sources._compat import ACTIVITY_TEACHERS_AS_PERSON
from linkage.sources._quarantine import KEPT_UNKNOWN
from linkage.sources.ss12000 import _fields as f
from linkage.sources.ss12000._bulk import (
    absences_page,
    attendance_columns_page,
    attendance_page,
    lesson_columns_page,
    lessons_page,
)
from linkage.sources.ss12000._columns import Columns
from linkage.sources.ss12000._dedupe import deduplicate_attendance
from linkage.sources.ss12000._organisers import OrgNode, find_organiser_type, org_node
from linkage.sources.ss12000._parallel import PrefetchedPages
from linkage.sources.ss12000._people import PeopleReader
from linkage.sources.ss12000._reader import (
    OPTIONAL_RESOURCES,
    RESOURCES,
    STANDARD,
    Page,
    read_deletions,
    read_page,
    read_pages,
    resource_files,
)
from linkage.sources.ss12000._references import load_reference_map, reference_table
from linkage.sources.ss12000._results import aggregated_page, grades_page
from linkage.sources.ss12000._sink import PageSink, Row
from linkage.sources.ss12000._state import Accepted
from linkage.sources.ss12000._teaching import TeachingReader

# The resources that grow week by week: a weekly delivery adds these, and only these, in parts.
BULK = ("calendarEvents", "attendances", "absences")
# the warning's words for records superseded though modified later than the version kept
MODIFIED_LATER = (
    "records of an earlier extract were modified later (meta.modified) than the version kept "
    "from a later extract"
)

PageHandler = Callable[[Page, ResourceCount], None]
# Resources whose pages workers parse ahead (``_parallel``), and how such a page is taken whole.
PREFETCHED = {"calendarEvents": lesson_columns_page, "attendances": attendance_columns_page}


@dataclass
class Ss12000Ingest:
    """Reads one extract (and its incremental updates) into the canonical tables of a snapshot
    being written: the resources in dependency order, each page by its resource's reader."""

    root: Path
    sink: PageSink
    accepted: Accepted
    people: PeopleReader
    teaching: TeachingReader
    updates: tuple[Path, ...] = ()
    delivery: bool = False  # bulk resources from the last extract only (a weekly delivery)
    # a delivery that reads no other resource again: what the snapshot recorded of them
    reused: Reused | None = None
    counts: dict[str, ResourceCount] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    hashes: dict[Path, str] = field(default_factory=dict)  # source files hashed as read
    # organisations as the organiser walk needs them, and school rows waiting for their kind
    _org_nodes: dict[str, OrgNode] = field(default_factory=dict)
    _school_rows: list[tuple[str, str, int, Row]] = field(default_factory=list)

    def _handlers(self) -> dict[str, PageHandler]:
        sink, accepted = self.sink, self.accepted
        return {
            "organisations": self._page_organisations,
            "persons": self.people.page_persons,
            "duties": self.people.page_duties,
            "groups": self.teaching.page_groups,
            "syllabuses": self.teaching.page_syllabuses,
            "activities": self.teaching.page_activities,
            "calendarEvents": partial(lessons_page, sink, accepted),
            "attendances": partial(attendance_page, sink, accepted),
            "absences": partial(absences_page, sink, accepted),
            "grades": partial(grades_page, sink, accepted),
            "aggregatedAttendance": partial(aggregated_page, sink, accepted),
        }

    def _extracts(self, resource: str) -> list[int]:
        """Indexes of the extracts ``resource`` is read from, newest first."""
        roots = [self.root, *self.updates]
        return [
            k
            for k in reversed(range(len(roots)))
            # a delivery's earlier bulk records are already in the snapshot it is added onto
            if not (self.delivery and resource in BULK and k < len(roots) - 1)
        ]

    def run(self, progress: Callable[[str, int], None] | None = None) -> None:
        """Every resource in dependency order. With incremental extracts, each resource is read
        from the newest extract to the oldest: a record whose id came from a later extract is
        superseded, and one whose id a later (or the same) extract deleted is dropped.
        Lesson and attendance pages are parsed ahead by workers from the start (``_parallel``)."""
        roots = [self.root, *self.updates]
        deletions = [read_deletions(root) for root in roots]
        handlers = self._handlers()
        ahead = [
            (roots[k], path, resource)
            for resource in RESOURCES
            if resource in PREFETCHED
            for k in self._extracts(resource)
            for path in resource_files(roots[k], resource)
        ]
        with PrefetchedPages(ahead) as prefetched:
            self.hashes = prefetched.hashes
            parsed = iter(prefetched)
            for resource in RESOURCES:
                if self.reused is not None and resource not in BULK:
                    self._carry(resource)
                    continue
                count = self.counts.setdefault(resource, ResourceCount())
                self.sink.start_resource()
                for k in self._extracts(resource):
                    # a delivery's bulk records are the only ones read: nothing older to shadow
                    base = k == 0 or (self.delivery and resource in BULK)
                    self.sink.start_extract(deletions[k].get(resource, set()), base=base)
                    prefix = f"{roots[k].name}/" if len(roots) > 1 else ""  # name the extract
                    pages: Iterator[Page | None]
                    if resource in PREFETCHED:
                        pages = self._prefetched(parsed, roots[k], prefix, resource, count)
                    else:
                        pages = (
                            Page(prefix + read.source_file, read.records)
                            for read in read_pages(roots[k], resource)
                        )
                    for page in pages:
                        count.pages += 1
                        if page is not None:  # None: written whole already
                            self.accepted.prime_page(resource, page.records)
                            handlers[resource](page, count)
                        if progress is not None:
                            progress(resource, count.read)
                    self.sink.finish_extract()
                self._finish(resource, count)
        stale = sum(self.modified_later().values())
        if stale:
            self.warnings.append(f"{stale} {MODIFIED_LATER}; the later extract's version was kept")
        if self.teaching.by_person:
            self.warnings.append(
                f"--compat {ACTIVITY_TEACHERS_AS_PERSON}: {self.teaching.by_person:,} teacher "
                "links of activities named a person, not a duty, and were read as the person's "
                "duty"
            )
        if self.reused is None:  # what a later delivery resolves its references with
            self.sink.writer.write(
                REFERENCES,
                reference_table(self.accepted, self.sink.pseudonymiser, self.sink.source),
            )

    def _carry(self, resource: str) -> None:
        """A resource a delivery does not read again: its count as the snapshot recorded it,
        and the alert a read of its unchanged files would give."""
        assert self.reused is not None
        count = self.reused.records.get(resource)
        if count is not None:
            self.counts[resource] = count
        if (count is None or count.pages == 0) and resource not in OPTIONAL_RESOURCES:
            self.alerts.append(f"the extract has no '{resource}' resource")

    def modified_later(self) -> dict[str, int]:
        """Per resource: records of an earlier extract modified later than the version kept
        (for a resource not read again, as the snapshot recorded it)."""
        earlier = {} if self.reused is None else self.reused.modified_later
        mine = {r: n for r, n in earlier.items() if r not in BULK}
        return {**mine, **self.sink.stale}

    def _prefetched(
        self,
        parsed: Iterator[tuple[Path, Path, Columns | None]],
        root: Path,
        prefix: str,
        resource: str,
        count: ResourceCount,
    ) -> Iterator[Page | None]:
        """The pages of ``resource`` of the extract in ``root``: a page parsed and checked by a
        worker is written whole here when its references are known (and None is yielded);
        any other is read again and yielded, to go record by record."""
        whole = PREFETCHED[resource]
        for _, path, columns in islice(parsed, len(resource_files(root, resource))):
            name = prefix + path.relative_to(root).as_posix()
            if columns is not None and whole(self.sink, self.accepted, name, columns, count):
                yield None
                continue
            yield Page(name, read_page(root, path, resource).records)

    def _finish(self, resource: str, count: ResourceCount) -> None:
        if (
            count.pages == 0
            and resource not in OPTIONAL_RESOURCES
            and not (self.delivery and resource in BULK)
        ):
            self.alerts.append(f"the extract has no '{resource}' resource")
        if resource == "organisations":
            self._settle_schools()
        if resource == "duties":
            self.warnings.extend(self.people.settle_staff())

    # --- organisations -------------------------------------------------------------------------
    def _page_organisations(self, page: Page, count: ResourceCount) -> None:
        for position, record in self.sink.records(page, count, "organisations"):
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
                self.sink.bad(count, "organisations", page, position, error)
                continue
            count.accepted += 1
            self.accepted.organisations.add(rid)
            self._org_nodes[rid] = org_node(record, str(org_type))
            if code:
                self.accepted.schools[rid] = code
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
                self.sink.quarantine.add(
                    "organisations",
                    source_file,
                    position,
                    found.field or "parentOrganisation",
                    found.reason,
                    outcome=KEPT_UNKNOWN,
                )
            by_file.setdefault(source_file, []).append(row)
        for source_file, rows in by_file.items():
            self.sink.write("schools", rows, Page(source_file, []))
        self._school_rows, self._org_nodes = [], {}
        if unknown:
            total = sum(unknown.values())
            reasons = "; ".join(f"{n:,}: {reason}" for reason, n in sorted(unknown.items()))
            self.warnings.append(
                f"{total:,} school units have no organiser type (they are counted as "
                f"'unknown'; the quarantine table names each, as kept-unknown): {reasons}"
            )


def ingest_ss12000(context: AdapterContext) -> AdapterResult:
    """The SS 12000 adapter: every resource of the extract (and of its incremental updates,
    newest first), in dependency order."""
    sink = PageSink(
        writer=context.writer,
        quarantine=context.quarantine,
        pseudonymiser=context.pseudonymiser,
        source=context.source,
        ingested_at=context.ingested_at,
    )
    accepted = Accepted(lessons=set(context.earlier_lessons))
    warnings: list[str] = []
    reused = context.reused
    if reused is not None:  # a delivery whose other resources are unchanged
        # their warnings as the snapshot recorded them, but the count of records modified later,
        # which is made again from every resource's (``modified_later``)
        warnings = [w for w in reused.warnings if MODIFIED_LATER not in w]
        accepted.references = load_reference_map(
            reused.snapshot, context.pseudonymiser, context.source
        )
    ingest = Ss12000Ingest(
        root=context.root,
        sink=sink,
        accepted=accepted,
        people=PeopleReader(sink, accepted, context.source, context.policy),
        teaching=TeachingReader(sink, accepted, context.compat),
        updates=context.updates,
        delivery=context.delivery,
        reused=reused,
        warnings=warnings,
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
    hashes = {**(reused.files if reused is not None else {}), **ingest.hashes}
    return AdapterResult(
        STANDARD,
        ingest.counts,
        files,
        ingest.warnings,
        ingest.alerts,
        hashes=hashes,
        modified_later=ingest.modified_later(),
    )
