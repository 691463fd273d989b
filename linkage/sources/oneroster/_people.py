"""Users, their roles, user profiles and demographics → students, enrolments and staff.

- A user is a **student** if any of their roles is ``student`` (1.1: the ``role`` column;
  1.2: ``roles.csv``, and the ``role`` column where a set still has one), and otherwise
  **staff** if any role is a staff role (teacher, administrator, aide, proctor, counselor,
  principal, site/district/system administrator). Anyone else (parents, guardians,
  relatives) is quarantined: they are not data subjects of this service.
- OneRoster has no civic-number field. ``users.identifier`` is taken as the national ID when
  it is one under the ID policy; otherwise the user gets a source-local pseudonym from their
  ``sourcedId`` (or is quarantined, as the policy says), and the reason is recorded, exactly
  as the SS 12000 adapter does with ``civicNo``.
- Staff get one duty (``duty_pid``) per (user, school): from their roles' organisations, and
  from the school of every class they are enrolled in to teach.
- Demographics give a student their birth year (never the date) and sex; staff demographics
  are not kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from linkage.sources._quarantine import KEPT_LOCAL
from linkage.sources.oneroster import _fields as f
from linkage.sources.oneroster._reader import Row
from linkage.sources.oneroster._reading import Reading
from pseudonymise import Domain, IdStatus

STUDENT = "student"
TEACHER = "teacher"
STAFF_ROLES = {
    r.lower(): r
    for r in (
        "teacher",
        "administrator",
        "aide",
        "proctor",
        "counselor",
        "principal",
        "siteAdministrator",
        "districtAdministrator",
        "systemAdministrator",
    )
}
# OneRoster's sex → the SS 12000 words the canonical tables use.
_SEX = {"male": "Man", "female": "Kvinna", "other": "Okänt", "unspecified": "Okänt"}
DutyKey = tuple[str, str]  # (user sourcedId, school sourcedId or else organisation sourcedId)


@dataclass
class User:
    position: int
    identifier: str | None
    grades: list[str]
    # (role, organisation sourcedId or None, begin, end)
    roles: list[tuple[str, str | None, dt.date | None, dt.date | None]] = field(
        default_factory=list
    )

    def has(self, role: str) -> bool:
        return any(r.lower() == role for r, _, _, _ in self.roles)


class People:
    def __init__(self, ingest: Reading) -> None:
        self.ingest = ingest
        self.users: dict[str, User] = {}
        self.students: dict[str, int] = {}
        self.staff: dict[str, int] = {}
        self.duties: dict[DutyKey, dict[str, Any]] = {}
        self._birth: dict[str, tuple[int | None, str | None]] = {}

    # --- reading -------------------------------------------------------------------------------
    def read(self, progress: Callable[[str, int], None] | None) -> None:
        ing = self.ingest
        ing.each_row("users", self._user, progress)
        ing.each_row("roles", self._role, progress)
        ing.each_row("userProfiles", self._profile, progress)
        self._classify()
        self._role_duties()
        ing.each_row("demographics", self._demographic, progress)
        self._write_students()

    def _user(self, position: int, row: Row) -> None:
        sid = str(f.sourced_id(row))
        user = User(position, row.get("identifier", "").strip() or None, f.listed(row, "grades"))
        role = row.get("role", "").strip()
        orgs = f.listed(row, "orgSourcedIds")
        primary = f.sourced_id(row, "primaryOrgSourcedId", required=False)
        if primary is not None and primary not in orgs:
            orgs.append(primary)
        for i, org in enumerate(orgs):
            if org not in self.ingest.orgs:
                reason = self.ingest.missing("orgs", "organisation", org)
                self.ingest.note(
                    "users.orgSourcedIds",
                    "users",
                    position,
                    f.BadField(f"orgSourcedIds[{i}]", reason),
                )
            elif role:
                user.roles.append((role, org, None, None))
        if role and not user.roles:
            user.roles.append((role, None, None, None))
        self.users[sid] = user

    def _known_user(self, row: Row) -> User:
        sid = f.sourced_id(row, "userSourcedId")
        if sid not in self.users:
            raise f.BadField("userSourcedId", self.ingest.missing("users", "user", sid))
        return self.users[str(sid)]

    def _role(self, position: int, row: Row) -> None:
        user = self._known_user(row)
        org = f.sourced_id(row, "orgSourcedId")
        if org not in self.ingest.orgs:
            raise f.BadField("orgSourcedId", self.ingest.missing("orgs", "organisation", org))
        role = row.get("role", "").strip()
        if not role:
            raise f.BadField("role", "missing")
        user.roles.append((role, org, f.date(row, "beginDate"), f.date(row, "endDate")))

    def _profile(self, position: int, row: Row) -> None:
        self._known_user(row)  # nothing of a profile is kept: it holds credentials

    def _classify(self) -> None:
        students, staff = [], []
        for sid, user in self.users.items():
            if user.has(STUDENT):
                students.append(sid)
            elif any(user.has(r) for r in STAFF_ROLES):
                staff.append(sid)
            else:
                shown = user.roles[0][0] if user.roles else None
                reason = "not a student or staff role" if user.roles else "no role"
                self.ingest.unaccept("users", user.position, sid, f.BadField("role", reason, shown))
        self._pseudonymise(students, Domain.STUDENT, self.students)
        self._pseudonymise(staff, Domain.TEACHER, self.staff)

    def _pseudonymise(self, sids: list[str], domain: Domain, out: dict[str, int]) -> None:
        if not sids:
            return
        ing = self.ingest
        result = ing.pseudonymiser.pseudonymise_people(
            domain,
            pl.Series([self.users[s].identifier for s in sids], dtype=pl.String),
            local_ids=pl.Series(sids, dtype=pl.String),
            source=ing.source,
            policy=ing.policy,
        )
        for sid, pid, status, reason in zip(
            sids,
            result[domain.column].to_list(),
            result["id_status"].to_list(),
            result["id_reason"].to_list(),
            strict=True,
        ):
            user = self.users[sid]
            error = f.BadField("identifier", f"national ID: {reason}", user.identifier)
            if status == IdStatus.QUARANTINED.value:
                ing.unaccept("users", user.position, sid, error)
                continue
            if status == IdStatus.LOCAL.value:
                ing.quarantine.add(
                    "users",
                    "users.csv",
                    user.position,
                    error.field,
                    error.reason,
                    error.value,
                    outcome=KEPT_LOCAL,
                )
            out[sid] = int(pid)

    def _demographic(self, position: int, row: Row) -> None:
        sid = str(f.sourced_id(row))
        if sid not in self.students:
            reason = (
                "not a student: staff demographics are not kept"
                if sid in self.staff
                else self.ingest.missing("users", "user", sid)
            )
            raise f.BadField("sourcedId", reason)
        birth = f.date(row, "birthDate")
        sex = row.get("sex", "").strip().lower()
        self._birth[sid] = (birth.year if birth else None, _SEX.get(sex, "Okänt") if sex else None)

    def _write_students(self) -> None:
        students, enrolments = [], []
        for sid, pid in self.students.items():
            user = self.users[sid]
            year, sex = self._birth.get(sid, (None, None))
            status = IdStatus.LOCAL.value if pid < 0 else IdStatus.LINKED.value
            students.append(
                {
                    "student_pid": pid,
                    "id_status": status,
                    "birth_year": year,
                    "sex": sex,
                    "protected_identity": None,
                }
            )
            schools: set[str] = set()
            for role, org, begin, end in user.roles:
                code = self.ingest.school_code(org)
                if role.lower() != STUDENT or code is None or code in schools:
                    continue
                schools.add(code)
                enrolments.append(
                    {
                        "student_pid": pid,
                        "school_code": code,
                        "school_type": None,
                        "grade": f.grade(user.grades),
                        "start_date": begin,
                        "end_date": end,
                    }
                )
        self.ingest.write("students", students, "users.csv")
        self.ingest.write("enrolments", enrolments, "users.csv")

    # --- staff ---------------------------------------------------------------------------------
    def duty(
        self,
        sid: str,
        org: str | None,
        role: str,
        begin: dt.date | None = None,
        end: dt.date | None = None,
    ) -> DutyKey:
        """The duty of staff member ``sid`` at the school of ``org``, made on first need."""
        school = self.ingest.school_of(org)
        key = (sid, school or org or "")
        if key not in self.duties:
            self.duties[key] = {
                "teacher_pid": self.staff[sid],
                "id_status": IdStatus.LOCAL.value if self.staff[sid] < 0 else IdStatus.LINKED.value,
                "school_code": self.ingest.school_code(org),
                "duty_role": role,
                "duty_percent": None,
                "start_date": begin,
                "end_date": end,
            }
        return key

    def _role_duties(self) -> None:
        for sid in self.staff:
            for role, org, begin, end in self.users[sid].roles:
                if role.lower() in STAFF_ROLES:
                    self.duty(sid, org, STAFF_ROLES[role.lower()], begin, end)

    def write_staff(self, teaching: list[tuple[DutyKey, dict[str, Any]]]) -> None:
        """Write every duty (from roles, then from teaching) and the activities' teachers."""
        keys = list(self.duties)
        pids = self.ingest.pids(Domain.DUTY, ["\x1e".join(k) for k in keys], scope="duty")
        rows = []
        for key, pid in zip(keys, pids, strict=True):
            self.duties[key]["duty_pid"] = pid
            rows.append(self.duties[key])
        self.ingest.write("staff", rows, "users.csv")
        teachers = [{**row, "duty_pid": self.duties[key]["duty_pid"]} for key, row in teaching]
        self.ingest.write("activity_teachers", teachers, "enrollments.csv")
