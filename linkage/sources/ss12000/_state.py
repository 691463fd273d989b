"""What an extract's records were accepted as, by source id: the lookups that references are
checked against (a membership's person, a lesson's activity, an attendance record's lesson).

Rule: a resource is read only after every resource it refers to (``_reader.RESOURCES`` is in
dependency order), so a reference to an id that is not here is to an object the extract lacks
or that was set aside, and the record (or nested entry) that makes it is set aside too.

A weekly delivery whose other resources are unchanged reads none of them again: its lookups
come from the reference map of the snapshot it is added onto (``_references``), keyed source
ids. ``references`` then resolves the ids a page refers to, all at once, into the same
dictionaries a full read fills (``prime``): a page read record by record before it is read
(``prime_page``), a page taken whole as its columns are looked up (``student_pids``, …). Every
check below is the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

# What a bulk record refers to, by resource: the kind of object and the path to its reference
# object (a list on the way is walked: every exception of a lesson).
REFERRED: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "calendarEvents": (
        ("activity", ("activity",)),
        ("student", ("studentExceptions", "student")),
        ("duty", ("teacherExceptions", "duty")),
    ),
    "attendances": (("student", ("student",)),),
    "absences": (("student", ("student",)), ("organisation", ("organisation",))),
}
# what a source id resolves to: its pseudonym, a duty's teacher, an organisation's school code
Resolved = tuple[int | None, int | None, str | None]


@dataclass
class ReferenceMap:
    """The reference map of the snapshot a delivery is added onto: per kind, the key of each
    source id (``key(kind, ids)``) to what it resolves to; ``tried``: ids keyed already."""

    key: Callable[[str, list[str]], list[int]]
    by_kind: dict[str, dict[int, Resolved]]
    tried: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class Accepted:
    """The accepted objects of the extract being read, by source id."""

    schools: dict[str, str] = field(default_factory=dict)  # school unit → school code
    organisations: set[str] = field(default_factory=set)
    students: dict[str, int] = field(default_factory=dict)  # person id → student_pid
    staff: dict[str, int] = field(default_factory=dict)  # person id → teacher_pid
    duties: dict[str, tuple[int, int]] = field(default_factory=dict)  # → (duty_pid, teacher_pid)
    person_duties: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # → (duty, at)
    groups: dict[str, int] = field(default_factory=dict)
    syllabuses: dict[str, int] = field(default_factory=dict)
    activities: dict[str, int] = field(default_factory=dict)
    lessons: set[int] = field(default_factory=set)  # lesson_pid (a delivery: earlier ones too)
    references: ReferenceMap | None = None  # a delivery that reads no other resource again
    # the accepted lessons as a sorted array, built when the attendance pages first ask (every
    # lesson is read by then)
    _lesson_array: np.ndarray | None = None

    def prime(self, kind: str, ids: Iterable[object]) -> None:
        """With ``references``: resolve the source ids of ``kind`` not tried yet, all at once,
        and add those the snapshot holds to the lookups (a full read has added every one). An
        id is matched by its 64-bit key: an id the map does not hold is unknown unless its key
        is another's (a chance of about one in 2⁶³ per pair of ids)."""
        if self.references is None:
            return
        tried = self.references.tried.setdefault(kind, set())
        new = list({i for i in ids if isinstance(i, str) and i not in tried})
        if not new:
            return
        tried.update(new)
        found = self.references.by_kind.get(kind, {})
        for rid, key in zip(new, self.references.key(kind, new), strict=True):
            resolved = found.get(key)
            if resolved is None:
                continue
            pid, teacher_pid, school_code = resolved
            if kind == "student" and pid is not None:
                self.students[rid] = pid
            elif kind == "activity" and pid is not None:
                self.activities[rid] = pid
            elif kind == "duty" and pid is not None and teacher_pid is not None:
                self.duties[rid] = (pid, teacher_pid)
            elif kind == "organisation":
                self.organisations.add(rid)
                if school_code is not None:
                    self.schools[rid] = school_code

    def prime_page(self, resource: str, records: list[Any]) -> None:
        """With ``references``: resolve every id the records of a page of ``resource`` refer
        to."""
        if self.references is None:
            return
        for kind, path in REFERRED.get(resource, ()):
            self.prime(kind, _ids(records, path))

    def student_pids(self, ids: pl.Series) -> pl.Series:
        """The ``student_pid`` of each pupil in ``ids`` (null where not accepted)."""
        return pl.Series(self._found("student", self.students, ids), dtype=pl.Int64)

    def activity_pids(self, ids: pl.Series) -> pl.Series:
        """The ``activity_pid`` of each activity in ``ids`` (null where not accepted)."""
        return pl.Series(self._found("activity", self.activities, ids), dtype=pl.Int64)

    def duty_pids(self, ids: pl.Series) -> tuple[pl.Series, pl.Series]:
        """The ``duty_pid`` and ``teacher_pid`` of each duty in ``ids`` (null where not
        accepted)."""
        found = self._found("duty", self.duties, ids)
        return (
            pl.Series([None if d is None else d[0] for d in found], dtype=pl.Int64),
            pl.Series([None if d is None else d[1] for d in found], dtype=pl.Int64),
        )

    def _found(self, kind: str, lookup: dict[str, Any], ids: pl.Series) -> list[Any]:
        """What each of ``ids`` resolves to in ``lookup`` (None where not accepted), one by
        one: a page's ids against a dictionary cost less than a join, which would hash every
        accepted id again for each page. With ``references``, the page's distinct ids are
        resolved first (``prime``: those not tried yet, all at once), so the page's ids are
        looked up once."""
        if self.references is not None:
            self.prime(kind, ids.unique().to_list())
        return [lookup.get(i) for i in ids.to_list()]

    def known_lessons(self, pids: np.ndarray) -> np.ndarray:
        """Whether each lesson pseudonym is of an accepted lesson (a boolean array)."""
        if self._lesson_array is None:
            self._lesson_array = np.sort(np.fromiter(self.lessons, dtype=np.int64))
        known = self._lesson_array
        if len(known) == 0:
            return np.zeros(len(pids), dtype=bool)
        position = np.minimum(np.searchsorted(known, pids), len(known) - 1)
        return np.asarray(known[position] == pids)


def _ids(records: list[Any], path: tuple[str, ...]) -> list[object]:
    """The ``id`` of the reference object at ``path`` in each record (lists walked), where
    there is one: what a page may refer to, for ``Accepted.prime``."""
    level: list[Any] = list(records)
    for key in path:
        step: list[Any] = []
        for item in level:
            value = item.get(key) if isinstance(item, dict) else None
            step.extend(value if isinstance(value, list) else [value])
        level = step
    return [item.get("id") for item in level if isinstance(item, dict)]
