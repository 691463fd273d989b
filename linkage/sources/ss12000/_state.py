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
    _frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    _lesson_array: np.ndarray | None = None

    def frame(self, kind: str) -> pl.DataFrame:
        """``students``, ``activities`` or ``duties`` as a frame: ``id`` (source id) and the
        pseudonyms (``pid``; for duties ``duty_pid`` and ``teacher_pid``)."""
        if kind not in self._frames:
            if kind == "duties":
                pids = list(self.duties.values())
                data = {
                    "id": list(self.duties),
                    "duty_pid": [d for d, _ in pids],
                    "teacher_pid": [t for _, t in pids],
                }
            else:
                lookup: dict[str, int] = getattr(self, kind)
                data = {"id": list(lookup), "pid": list(lookup.values())}
            self._frames[kind] = pl.DataFrame(
                data, schema={"id": pl.String, **dict.fromkeys(list(data)[1:], pl.Int64)}
            )
        return self._frames[kind]

    def known_lessons(self, pids: np.ndarray) -> np.ndarray:
        """Whether each lesson pseudonym is of an accepted lesson (a boolean array)."""
        if self._lesson_array is None:
            self._lesson_array = np.sort(np.fromiter(self.lessons, dtype=np.int64))
        known = self._lesson_array
        if len(known) == 0:
            return np.zeros(len(pids), dtype=bool)
        position = np.minimum(np.searchsorted(known, pids), len(known) - 1)
        return np.asarray(known[position] == pids)
