"""Persons and duties: who the pupils and the staff are, under which pseudonyms.

Rules:
- A person with an enrolment is a pupil, pseudonymised in the ``student`` domain; a person
  without one is staff (``teacher`` domain). A national ID that cannot be linked gives a
  source-local pseudonym or quarantines the person, as the ID policy says; either way the
  reason is recorded.
- A person with neither an enrolment nor a duty (a guardian, say) is read and accepted but not
  stored: no table holds them, and a warning counts them. The quarantine's ``kept-local``
  entries are of people stored (pupils, and staff with a duty), so staff kept under a local
  pseudonym are recorded only once the duties are read (``settle_staff``).
- The birth date becomes a birth year; the security marking becomes a flag; names, e-mail
  and the like are dropped at the door.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from linkage.sources._adapter import ResourceCount
from linkage.sources._quarantine import KEPT_LOCAL
from linkage.sources.ss12000 import _fields as f
from linkage.sources.ss12000._reader import Page
from linkage.sources.ss12000._sink import PageSink, Row
from linkage.sources.ss12000._state import Accepted
from pseudonymise import Domain, IdPolicy, IdStatus

_Person = tuple[int, str, Any, dict[str, Any]]  # position, source id, civicNo value, record


@dataclass
class PeopleReader:
    """Reads the ``persons`` and ``duties`` pages into ``accepted`` and the snapshot."""

    sink: PageSink
    accepted: Accepted
    source: str
    policy: IdPolicy
    as_of: dt.date | None = None
    # staff kept under a local pseudonym, recorded once they are known to have a duty
    _local_staff: dict[str, tuple[str, int, str, Any]] = field(default_factory=dict)

    def settle_staff(self) -> list[str]:
        """Once duties are read: staff with a duty are stored, so their local pseudonyms are
        recorded; persons with neither an enrolment nor a duty are not stored, and counted."""
        for rid, (source_file, position, reason, value) in self._local_staff.items():
            if rid in self.accepted.person_duties:
                self.sink.quarantine.add(
                    "persons", source_file, position, "civicNo", reason, value, outcome=KEPT_LOCAL
                )
        self._local_staff = {}
        unstored = sum(1 for rid in self.accepted.staff if rid not in self.accepted.person_duties)
        if not unstored:
            return []
        return [
            f"{unstored:,} persons have neither an enrolment nor a duty (guardians, for "
            "instance): they are not data subjects of the research tables and are not stored"
        ]

    # --- persons -------------------------------------------------------------------------------
    def page_persons(self, page: Page, count: ResourceCount) -> None:
        people: list[_Person] = []
        for position, record in self.sink.records(page, count, "persons"):
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
                self.sink.bad(count, "persons", page, position, error)
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
        result = self.sink.pseudonymiser.pseudonymise_people(
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
                self.sink.reject(
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
                self.sink.quarantine.add(
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
                self.accepted.staff[rid] = int(pid)
                continue
            self.accepted.students[rid] = int(pid)
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
                    if school not in self.accepted.schools:
                        raise f.BadField(f"enrolments[{i}].enroledAt", "unknown school unit")
                    grade = f.integer(enrolment, "schoolYear")
                    enrolments.append(
                        {
                            "student_pid": int(pid),
                            "school_code": self.accepted.schools[school],
                            "school_type": f.text(enrolment, "schoolType"),
                            "grade": grade,
                            "start_date": f.date(enrolment, "startDate"),
                            "end_date": f.date(enrolment, "endDate"),
                        }
                    )
                except f.BadField as error:
                    self.sink.nested("persons.enrolments", page, position, error)
        self.sink.write("students", students, page)
        self.sink.write("enrolments", enrolments, page)

    # --- duties ----------------------------------------------------------------------------------
    def page_duties(self, page: Page, count: ResourceCount) -> None:
        accepted: list[tuple[str, Row]] = []
        holders: dict[str, tuple[str, str]] = {}  # duty id → (person id, dutyAt id)
        for position, record in self.sink.records(page, count, "duties"):
            try:
                rid = f.record_id(record)
                person = f.reference(record, "person")
                if person not in self.accepted.staff:
                    reason = (
                        "a pupil, not staff"
                        if person in self.accepted.students
                        else "unknown person"
                    )
                    raise f.BadField("person", reason)
                at = f.reference(record, "dutyAt")
                if at not in self.accepted.schools and at not in self.accepted.organisations:
                    raise f.BadField("dutyAt", "unknown organisation")
                row: Row = {
                    "teacher_pid": self.accepted.staff[str(person)],
                    "id_status": None,
                    "school_code": self.accepted.schools.get(str(at)),
                    "duty_role": f.text(record, "dutyRole", required=True),
                    "duty_percent": f.integer(record, "dutyPercent"),
                    "start_date": f.date(record, "startDate"),
                    "end_date": f.date(record, "endDate"),
                }
            except f.BadField as error:
                self.sink.bad(count, "duties", page, position, error)
                continue
            row["id_status"] = "local" if row["teacher_pid"] < 0 else "linked"
            accepted.append((rid, row))
            holders[rid] = (str(person), str(at))
        for (rid, row), pid in zip(
            accepted, self.sink.pids(Domain.DUTY, [r for r, _ in accepted]), strict=True
        ):
            row["duty_pid"] = pid
            self.accepted.duties[rid] = (pid, int(row["teacher_pid"]))
            person, at = holders[rid]
            self.accepted.person_duties.setdefault(person, []).append((rid, at))
        count.accepted += len(accepted)
        self.sink.write("staff", [row for _, row in accepted], page)
