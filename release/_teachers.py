"""The teacher rules of a request: how many teachers stand behind each cell, and in ``sdc``
mode how their minutes are shared. Pupils are the privacy unit of the pupil tables; a cell that
describes teachers must also not single out a teacher (see ``docs/explanation/privacy-promise.md``).

- ``sdc``: the threshold on the whole filtered population (a finding the DPO may waive), and
  each teacher's minutes behind each interior cell for the table rules (``_sdc``), which sum
  them for every margin.
- ``dp``: the threshold on the cells of the spec's *public-key* filters and grouping only: the
  schedule's teachers, which no pupil-level filter can move, so the rule is never an exact
  oracle about pupils.

What these compute depends only on a spec's filters and grouping, so it is kept for the
snapshot's lifetime (never released).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import polars as pl

from release import _sdc
from release._errors import Finding
from release._frames import PrivateFrame, TeacherLink, teacher_cells, teacher_minutes
from release._policy import Policies
from release._rules import Resolved

KEPT = 64  # findings and minutes kept per snapshot


class TeacherRules:
    """The teacher rules over the snapshot that ``frame_of`` opens tables of; ``current``
    says whether a frame is of the current snapshot (nothing computed from an earlier one is
    kept)."""

    def __init__(
        self,
        policies: Policies,
        frame_of: Callable[[str], PrivateFrame],
        current: Callable[[PrivateFrame], bool],
    ) -> None:
        self.policies = policies
        self._frame_of = frame_of
        self._current = current
        self._kept: dict[tuple[Any, ...], Any] = {}

    def reset(self) -> None:
        """Forget what was kept (a new snapshot)."""
        self._kept = {}

    def link(self, resolved: Resolved, *, minutes: bool) -> TeacherLink | None:
        source = resolved.table.teachers_from
        if source is None:
            return None
        return TeacherLink(
            self._frame_of(source.table),
            tuple(source.on),
            source.column,
            "minutes" if minutes else None,
        )

    def threshold(self, per_teacher: pl.DataFrame | None, by: tuple[str, ...]) -> list[Finding]:
        """The teacher threshold on the cells of ``by``, from each teacher's minutes behind
        each interior cell (``_frames.teacher_minutes``)."""
        if per_teacher is None:
            return []
        teachers = teacher_cells(per_teacher.lazy(), by, 1).collect()[_sdc.TEACHERS]
        counts = teachers.fill_null(0).cast(pl.Float64)
        fewest = float(counts.min()) if counts.len() else 0.0  # type: ignore[arg-type]
        minimum = self.policies.release.sdc.min_teachers
        if fewest < minimum:
            where = "some cells of this grouping" if by else "the filters"
            # for the DPO: how many cells fall under the threshold, and how far
            detail = {
                "cells_checked": float(max(counts.len(), 1)),
                "cells_under_min_teachers": float(max((counts < minimum).sum(), 1)),
                "fewest_teachers": fewest,
                "min_teachers": float(minimum),
            }
            return [
                Finding(
                    "teachers",
                    (
                        f"{where} would describe fewer than {minimum} teachers, so the result "
                        "would describe identifiable teachers; widen the filters or group more "
                        "coarsely"
                    ),
                    detail,
                )
            ]
        return []

    def minutes(self, resolved: Resolved, frame: PrivateFrame) -> pl.DataFrame | None:
        """Each teacher's minutes behind each interior cell of an sdc spec."""
        link = self.link(resolved, minutes=True)
        if link is None:
            return None
        spec = resolved.spec
        key = ("minutes", spec.table, _filters(resolved, public=False), spec.keys)
        return self._keep(key, frame, lambda: teacher_minutes(frame, resolved.collapse, link))

    def dp_findings(
        self, resolved: Resolved, frame: PrivateFrame, waive: frozenset[str]
    ) -> list[Finding]:
        """The threshold in dp mode: on the public-key cells only (the schedule's teachers)."""
        link = self.link(resolved, minutes=False)
        if link is None or "teachers" in waive:
            return []
        public = resolved.public_collapse
        key = ("dp", resolved.spec.table, _filters(resolved, public=True), public.by)
        found = self._keep(
            key, frame, lambda: self.threshold(teacher_minutes(frame, public, link), public.by)
        )
        return list(found)

    def _keep(self, key: tuple[Any, ...], frame: PrivateFrame, compute: Callable[[], Any]) -> Any:
        if key in self._kept and self._current(frame):
            return self._kept[key]
        found = compute()
        if self._current(frame):
            if len(self._kept) >= KEPT:
                self._kept.pop(next(iter(self._kept)))
            self._kept[key] = found
        return found


def _filters(resolved: Resolved, *, public: bool) -> str:
    columns = resolved.table.columns
    kept = [
        f.model_dump(mode="json")
        for f in resolved.spec.filters
        if not public or columns[f.column].kind == "public_key"
    ]
    return json.dumps(kept, sort_keys=True)
