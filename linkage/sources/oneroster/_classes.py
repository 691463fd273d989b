"""Classes, courses and enrollments → groups, syllabuses, activities and their members.

- A class is a **group** (``Domain.GROUP``): ``homeroom`` classes are ``Klass``, the rest
  (``scheduled``) ``Undervisning``. Each class is also one **activity** (``Domain.ACTIVITY``,
  under its own scope, so an activity's input never equals its group's): the teaching of
  that class's subject to that class. Its dates span the class's known terms.
- The activity's **syllabus** is the pair (course, subject code), pseudonymised in
  ``Domain.SCHOOL_LOCAL_ID`` with the scope ``syllabus``. The subject code is the first of the
  class's ``subjectCodes``, else the course's, else the class's ``subjects``, else the
  course's. Subject codes are public keys and are kept as they are.
- A student enrollment is a **group membership**; a ``teacher`` enrollment is an **activity
  teacher**, under the teacher's duty at the class's school: the class-level build links every
  pupil of the class with it. Another staff enrollment (administrator, aide, proctor…) is
  accepted and gives its user a duty at the class's school, but is not a teaching link (an aide
  is not the pupils' teacher); the warnings count them.
- A teacher enrollment's ``primary`` (``true``/``false``, any case) is kept as
  ``activity_teachers.primary_teacher``; blank is unknown (null), and any other value is noted
  under ``enrollments.primary`` and kept as unknown. The class-level build weighs every teacher
  of a class alike: the flag is carried for research, not used as a weight.
- A class of an unknown school, or an enrollment of an unknown class or user, is quarantined;
  an enrollment whose role does not match the user (a teacher enrolled as a student) too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from linkage.sources.oneroster import _fields as f
from linkage.sources.oneroster._people import STAFF_ROLES, STUDENT, TEACHER, DutyKey, People
from linkage.sources.oneroster._reader import Row
from linkage.sources.oneroster._reading import Reading
from pseudonymise import Domain

_CLASS_TYPES = {"homeroom": "Klass", "scheduled": "Undervisning", "": "Undervisning"}
_ACTIVITY_TYPES = {"Klass": "Annan verksamhet", "Undervisning": "Undervisning"}
_FLAGS = {"true": True, "false": False}
SyllabusKey = tuple[str, str]  # (course sourcedId or "", subject code or "")


@dataclass(frozen=True)
class _Class:
    school_org: str
    group_type: str
    start: dt.date | None
    end: dt.date | None
    syllabus: SyllabusKey | None


class Classes:
    def __init__(self, ingest: Reading, people: People) -> None:
        self.ingest = ingest
        self.people = people
        self.pending: dict[str, _Class] = {}
        self.pids: dict[str, tuple[int, int, str]] = {}  # → (group_pid, activity_pid, org)
        self.memberships: list[dict[str, Any]] = []
        self.teacher_rows: list[tuple[DutyKey, dict[str, Any]]] = []
        self._not_teaching = 0
        self._several_codes = 0

    def read(self, progress: Callable[[str, int], None] | None) -> None:
        self.ingest.each_row("classes", self._class, progress)
        self._write_classes()
        self.ingest.each_row("enrollments", self._enrollment, progress)
        self.ingest.write("group_memberships", self.memberships, "enrollments.csv")
        if self._not_teaching:
            self.ingest.warnings.append(
                f"{self._not_teaching} staff enrollments with a role other than teacher (aide, "
                "administrator, proctor…) give their staff a duty at the class's school but are "
                "not teaching links: their classes' pupils are not linked to them"
            )
        if self._several_codes:
            self.ingest.warnings.append(
                f"{self._several_codes} classes list more than one subject; the first is taken "
                "as the subject of the class's activity"
            )

    # --- classes -------------------------------------------------------------------------------
    def _class(self, position: int, row: Row) -> None:
        ing = self.ingest
        school = f.sourced_id(row, "schoolSourcedId")
        if school not in ing.orgs:
            raise f.BadField("schoolSourcedId", ing.missing("orgs", "school", school))
        class_type = row.get("classType", "").strip().lower()
        if class_type not in _CLASS_TYPES:
            ing.note(
                "classes.classType",
                "classes",
                position,
                f.BadField(
                    "classType", "not homeroom or scheduled: taken as scheduled", class_type
                ),
            )
        course = f.sourced_id(row, "courseSourcedId", required=False)
        if course is not None and course not in ing.courses:
            ing.note(
                "classes.courseSourcedId",
                "classes",
                position,
                f.BadField("courseSourcedId", ing.missing("courses", "course", course)),
            )
            course = None
        starts, ends = [], []
        for i, term in enumerate(f.listed(row, "termSourcedIds")):
            if term in ing.sessions:
                starts.append(ing.sessions[term][0])
                ends.append(ing.sessions[term][1])
            else:
                reason = ing.missing("academicSessions", "academic session", term)
                ing.note(
                    "classes.termSourcedIds",
                    "classes",
                    position,
                    f.BadField(f"termSourcedIds[{i}]", reason),
                )
        code = self._subject(row, course)
        self.pending[str(f.sourced_id(row))] = _Class(
            str(school),
            _CLASS_TYPES.get(class_type, "Undervisning"),
            min((d for d in starts if d), default=None),
            max((d for d in ends if d), default=None),
            (course or "", code or "") if course or code else None,
        )

    def _subject(self, row: Row, course: str | None) -> str | None:
        own_codes, own_names = f.listed(row, "subjectCodes"), f.listed(row, "subjects")
        course_codes, course_names = self.ingest.courses.get(course or "", ([], []))
        for candidates in (own_codes, course_codes, own_names, course_names):
            if candidates:
                self._several_codes += len(candidates) > 1
                return candidates[0]
        return None

    def _write_classes(self) -> None:
        ing = self.ingest
        sids = list(self.pending)
        group_pids = ing.pids(Domain.GROUP, sids, scope="class")
        activity_pids = ing.pids(Domain.ACTIVITY, sids, scope="class-activity")
        syllabuses = self._write_syllabuses()
        groups, activities, links = [], [], []
        for sid, group_pid, activity_pid in zip(sids, group_pids, activity_pids, strict=True):
            c = self.pending[sid]
            code = ing.school_code(c.school_org)
            self.pids[sid] = (group_pid, activity_pid, c.school_org)
            groups.append(
                {
                    "group_pid": group_pid,
                    "school_code": code,
                    "group_type": c.group_type,
                    "school_type": None,
                    "start_date": c.start,
                    "end_date": c.end,
                }
            )
            activities.append(
                {
                    "activity_pid": activity_pid,
                    "school_code": code,
                    "syllabus_pid": syllabuses.get(c.syllabus) if c.syllabus else None,
                    "activity_type": _ACTIVITY_TYPES[c.group_type],
                    "minutes_planned": None,
                    "start_date": c.start,
                    "end_date": c.end,
                }
            )
            links.append({"activity_pid": activity_pid, "group_pid": group_pid})
        ing.write("groups", groups, "classes.csv")
        ing.write("activities", activities, "classes.csv")
        ing.write("activity_groups", links, "classes.csv")

    def _write_syllabuses(self) -> dict[SyllabusKey, int]:
        """One syllabus per (course, subject code): every course's own, and every pair a class
        makes; pseudonymised in ``school-local-id`` under the scope ``syllabus``."""
        keys: dict[SyllabusKey, None] = {}
        for course, (codes, names) in self.ingest.courses.items():
            keys[(course, (codes or names or [""])[0])] = None
        for c in self.pending.values():
            if c.syllabus is not None:
                keys[c.syllabus] = None
        ordered = list(keys)
        pids = self.ingest.pids(
            Domain.SCHOOL_LOCAL_ID, ["\x1e".join(k) for k in ordered], scope="syllabus"
        )
        rows = [
            {
                "syllabus_pid": pid,
                "subject_code": key[1] or None,
                "school_type": None,
                "language_code": None,
                "official": None,
            }
            for key, pid in zip(ordered, pids, strict=True)
        ]
        self.ingest.write("syllabuses", rows, "courses.csv")
        return dict(zip(ordered, pids, strict=True))

    # --- enrollments ---------------------------------------------------------------------------
    def _enrollment(self, position: int, row: Row) -> None:
        ing, people = self.ingest, self.people
        cls = f.sourced_id(row, "classSourcedId")
        if cls not in self.pids:
            raise f.BadField("classSourcedId", ing.missing("classes", "class", cls))
        user = str(f.sourced_id(row, "userSourcedId"))
        if user not in people.students and user not in people.staff:
            raise f.BadField("userSourcedId", ing.missing("users", "user", user))
        school = f.sourced_id(row, "schoolSourcedId", required=False)
        if school is not None and school not in ing.orgs:
            raise f.BadField("schoolSourcedId", ing.missing("orgs", "school", school))
        role = row.get("role", "").strip()
        if not role:
            raise f.BadField("role", "missing")
        begin, end = f.date(row, "beginDate"), f.date(row, "endDate")
        group_pid, activity_pid, org = self.pids[str(cls)]
        if role.lower() == STUDENT:
            if user not in people.students:
                raise f.BadField("userSourcedId", "staff, not a student")
            self.memberships.append(
                {
                    "group_pid": group_pid,
                    "student_pid": people.students[user],
                    "start_date": begin,
                    "end_date": end,
                }
            )
        elif role.lower() in STAFF_ROLES:
            if user not in people.staff:
                raise f.BadField("userSourcedId", "a student, not staff")
            key = people.duty(user, org, STAFF_ROLES[role.lower()])
            if role.lower() != TEACHER:
                self._not_teaching += 1
                return
            self.teacher_rows.append(
                (
                    key,
                    {
                        "activity_pid": activity_pid,
                        "teacher_pid": people.staff[user],
                        "start_date": begin,
                        "end_date": end,
                        "primary_teacher": self._primary(position, row),
                    },
                )
            )
        else:
            raise f.BadField("role", "not a student or staff role", role)

    def _primary(self, position: int, row: Row) -> bool | None:
        """The enrollment's ``primary`` flag: true, false, or unknown (blank or unreadable,
        the latter noted)."""
        value = row.get("primary", "").strip().lower()
        if value in _FLAGS:
            return _FLAGS[value]
        if value:
            reason = "not true or false: taken as unknown"
            error = f.BadField("primary", reason, value)
            self.ingest.note("enrollments.primary", "enrollments", position, error)
        return None
