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
    # column-wise views for the attendance pages, built once when first asked for (pupils and
    # lessons are all read by then)
    _student_frame: pl.DataFrame | None = None
    _lesson_array: np.ndarray | None = None

    def student_frame(self) -> pl.DataFrame:
        """Pupils as a frame: ``student`` (source id) and ``student_pid``."""
        if self._student_frame is None:
            self._student_frame = pl.DataFrame(
                {"student": list(self.students), "student_pid": list(self.students.values())},
                schema={"student": pl.String, "student_pid": pl.Int64},
            )
        return self._student_frame

    def known_lessons(self, pids: np.ndarray) -> np.ndarray:
        """Whether each lesson pseudonym is of an accepted lesson (a boolean array)."""
        if self._lesson_array is None:
            self._lesson_array = np.sort(np.fromiter(self.lessons, dtype=np.int64))
        known = self._lesson_array
        if len(known) == 0:
            return np.zeros(len(pids), dtype=bool)
        position = np.minimum(np.searchsorted(known, pids), len(known) - 1)
        return np.asarray(known[position] == pids)
