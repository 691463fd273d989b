"""What an extract's records were accepted as, by source id: the lookups that references are
checked against (a membership's person, a lesson's activity, an attendance record's lesson).

Rule: a resource is read only after every resource it refers to (``_reader.RESOURCES`` is in
dependency order), so a reference to an id that is not here is to an object the extract lacks
or that was set aside, and the record (or nested entry) that makes it is set aside too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl


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
    # the accepted lessons as a sorted array, built when the attendance pages first ask (every
    # lesson is read by then)
    _lesson_array: np.ndarray | None = None

    def duty_pids(self, ids: pl.Series) -> tuple[pl.Series, pl.Series]:
        """The ``duty_pid`` and ``teacher_pid`` of each duty in ``ids`` (null where not
        accepted)."""
        found = [self.duties.get(i) for i in ids.to_list()]
        return (
            pl.Series([None if d is None else d[0] for d in found], dtype=pl.Int64),
            pl.Series([None if d is None else d[1] for d in found], dtype=pl.Int64),
        )

    def known_lessons(self, pids: np.ndarray) -> np.ndarray:
        """Whether each lesson pseudonym is of an accepted lesson (a boolean array)."""
        if self._lesson_array is None:
            self._lesson_array = np.sort(np.fromiter(self.lessons, dtype=np.int64))
        known = self._lesson_array
        if len(known) == 0:
            return np.zeros(len(pids), dtype=bool)
        position = np.minimum(np.searchsorted(known, pids), len(known) - 1)
        return np.asarray(known[position] == pids)


def pids_of(lookup: dict[str, int], ids: pl.Series) -> pl.Series:
    """The pseudonyms of source ``ids`` in ``lookup`` (``Accepted.students``, say; null where
    not accepted), one by one: a page's ids against a dictionary cost less than a join, which
    would hash every accepted id again for each page."""
    return pl.Series([lookup.get(i) for i in ids.to_list()], dtype=pl.Int64)
