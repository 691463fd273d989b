"""Groups, syllabuses and activities: who is taught together, what, and by whom.

Rules:
- A reference to an object that was not accepted earlier (a membership of an unknown person,
  an activity of an unknown organisation) quarantines the record, or, for a nested list entry,
  just that entry (recorded under ``<resource>.<field>``).
- An activity needs a group; its unknown groups and teacher links are set aside one by one.
- An activity's teacher is a duty (``{"duty": {"id": …}}``). A source that names the person
  instead (``{"person": …}``) has each such link set aside with a reason naming the switch;
  with ``--compat activity-teachers-as-person`` it is read as that person's duty at the
  activity's organisation, or their only duty.
- Group and activity display names are dropped at the door.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linkage.sources._adapter import ResourceCount
from linkage.sources._compat import ACTIVITY_TEACHERS_AS_PERSON
from linkage.sources.ss12000 import _fields as f
from linkage.sources.ss12000._reader import Page
from linkage.sources.ss12000._sink import PageSink, Row
from linkage.sources.ss12000._state import Accepted
from pseudonymise import Domain


@dataclass
class TeachingReader:
    """Reads the ``groups``, ``syllabuses`` and ``activities`` pages."""

    sink: PageSink
    accepted: Accepted
    compat: frozenset[str] = frozenset()
    by_person: int = 0  # teacher links read from {"person": …} (the compat switch)

    # --- groups -----------------------------------------------------------------------------------
    def page_groups(self, page: Page, count: ResourceCount) -> None:
        accepted: list[tuple[str, Row, list[Row]]] = []
        for position, record in self.sink.records(page, count, "groups"):
            try:
                rid = f.record_id(record)
                org = f.reference(record, "organisation")
                if org not in self.accepted.organisations:
                    raise f.BadField("organisation", "unknown organisation")
                row: Row = {
                    "school_code": self.accepted.schools.get(str(org)),
                    "group_type": f.text(record, "groupType", required=True),
                    "school_type": f.text(record, "schoolType"),
                    "start_date": f.date(record, "startDate"),
                    "end_date": f.date(record, "endDate"),
                }
                memberships = record.get("groupMemberships") or []
                if not isinstance(memberships, list):
                    raise f.BadField("groupMemberships", "not a list", memberships)
            except f.BadField as error:
                self.sink.bad(count, "groups", page, position, error)
                continue
            members = []
            for i, membership in enumerate(memberships):
                try:
                    if not isinstance(membership, dict):
                        raise f.BadField(f"groupMemberships[{i}]", "not an object", membership)
                    person = f.reference(membership, "person")
                    if person not in self.accepted.students:
                        reason = (
                            "staff, not a pupil"
                            if person in self.accepted.staff
                            else "unknown person"
                        )
                        raise f.BadField(f"groupMemberships[{i}].person", reason)
                    members.append(
                        {
                            "student_pid": self.accepted.students[str(person)],
                            "start_date": f.date(membership, "startDate"),
                            "end_date": f.date(membership, "endDate"),
                        }
                    )
                except f.BadField as error:
                    self.sink.nested("groups.groupMemberships", page, position, error)
            accepted.append((rid, row, members))
        pids = self.sink.pids(Domain.GROUP, [rid for rid, _, _ in accepted])
        memberships_out = []
        for (rid, row, members), pid in zip(accepted, pids, strict=True):
            self.accepted.groups[rid] = pid
            row["group_pid"] = pid
            memberships_out += [{**m, "group_pid": pid} for m in members]
        count.accepted += len(accepted)
        self.sink.write("groups", [row for _, row, _ in accepted], page)
        self.sink.write("group_memberships", memberships_out, page)

    # --- syllabuses -------------------------------------------------------------------------------
    def page_syllabuses(self, page: Page, count: ResourceCount) -> None:
        accepted: list[tuple[str, Row]] = []
        for position, record in self.sink.records(page, count, "syllabuses"):
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
                self.sink.bad(count, "syllabuses", page, position, error)
                continue
            accepted.append((rid, row))
        pids = self.sink.pids(Domain.SCHOOL_LOCAL_ID, [r for r, _ in accepted], scope="syllabus")
        for (rid, row), pid in zip(accepted, pids, strict=True):
            self.accepted.syllabuses[rid] = row["syllabus_pid"] = pid
        count.accepted += len(accepted)
        self.sink.write("syllabuses", [row for _, row in accepted], page)

    # --- activities -------------------------------------------------------------------------------
    def page_activities(self, page: Page, count: ResourceCount) -> None:
        accepted: list[tuple[str, Row, list[int], list[Row]]] = []
        for position, record in self.sink.records(page, count, "activities"):
            try:
                rid = f.record_id(record)
                org = f.reference(record, "organisation")
                if org not in self.accepted.organisations:
                    raise f.BadField("organisation", "unknown organisation")
                syllabus = f.reference(record, "syllabus", required=False)
                if syllabus is not None and syllabus not in self.accepted.syllabuses:
                    raise f.BadField("syllabus", "unknown syllabus")
                groups = record.get("groups")
                if not isinstance(groups, list) or not groups:
                    raise f.BadField(
                        "groups", "missing or empty (an activity needs a group)", groups
                    )
                row = {
                    "school_code": self.accepted.schools.get(str(org)),
                    "syllabus_pid": self.accepted.syllabuses.get(syllabus) if syllabus else None,
                    "activity_type": f.text(record, "activityType"),
                    "minutes_planned": f.integer(record, "minutesPlanned"),
                    "start_date": f.date(record, "startDate"),
                    "end_date": f.date(record, "endDate"),
                }
                teachers = record.get("teachers") or []
                if not isinstance(teachers, list):
                    raise f.BadField("teachers", "not a list", teachers)
            except f.BadField as error:
                self.sink.bad(count, "activities", page, position, error)
                continue
            group_pids, assigned = self._activity_links(page, position, groups, teachers, str(org))
            accepted.append((rid, row, group_pids, assigned))
        pids = self.sink.pids(Domain.ACTIVITY, [rid for rid, _, _, _ in accepted])
        links, teachers_out = [], []
        for (rid, row, group_pids, assigned), pid in zip(accepted, pids, strict=True):
            self.accepted.activities[rid] = row["activity_pid"] = pid
            links += [{"activity_pid": pid, "group_pid": g} for g in group_pids]
            teachers_out += [{**a, "activity_pid": pid} for a in assigned]
        count.accepted += len(accepted)
        self.sink.write("activities", [row for _, row, _, _ in accepted], page)
        self.sink.write("activity_groups", links, page)
        self.sink.write("activity_teachers", teachers_out, page)

    def _activity_links(
        self, page: Page, position: int, groups: list[Any], teachers: list[Any], org: str
    ) -> tuple[list[int], list[Row]]:
        """The activity's known groups and teacher assignments; unknown ones are set aside."""
        group_pids = []
        for i, ref in enumerate(groups):
            if isinstance(ref, dict) and ref.get("id") in self.accepted.groups:
                group_pids.append(self.accepted.groups[ref["id"]])
            else:
                self.sink.nested(
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
                if duty not in self.accepted.duties:
                    raise f.BadField(f"teachers[{i}].duty", "unknown duty")
                duty_pid, teacher_pid = self.accepted.duties[str(duty)]
                assigned.append(
                    {
                        "duty_pid": duty_pid,
                        "teacher_pid": teacher_pid,
                        "start_date": f.date(assignment, "startDate"),
                        "end_date": f.date(assignment, "endDate"),
                    }
                )
            except f.BadField as error:
                self.sink.nested("activities.teachers", page, position, error)
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
        held = self.accepted.person_duties.get(person, [])
        if not held:
            reason = "a pupil, not staff" if person in self.accepted.students else "no duty"
            raise f.BadField(f"teachers[{i}].person", reason)
        school = self.accepted.schools.get(org)
        here = [
            d for d, at in held if at == org or (school and self.accepted.schools.get(at) == school)
        ]
        if len(here) == 1 or (not here and len(held) == 1):
            self.by_person += 1
            return (here or [held[0][0]])[0]
        raise f.BadField(
            f"teachers[{i}].person",
            "several duties at the activity's organisation"
            if here
            else "several duties, none at the activity's organisation",
        )
