"""What a build's research tables rest on: lessons, or only classes; and why a table is empty.

- **lessons** (SS 12000, the synthetic municipality): every table is built from the held
  lessons, their pupils and teachers (``linkage/research/``).
- **classes** (OneRoster, or any snapshot with class links but not one lesson): the lessons
  are unknown. ``exposure``, ``student_teachers`` (and so ``student_term_teachers``) and
  ``teacher_terms`` are built per class and term instead (``linkage/research/_classes.py``),
  with the same columns: shares are of classes, minutes and lessons are null. The tables that
  need lessons or attendance stay empty, and the build says why (``EMPTY_WITHOUT_LESSONS``).

The build summary and the research snapshot's manifest carry the basis and, for every empty
table, the reason: a table is never empty without a word.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from linkage._snapshot import parquet_rows

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from linkage._backends import ComputeBackend

LESSONS = "lessons"
CLASSES = "classes"

BASIS_NOTE = (
    "the source has classes but no lessons (lessons unknown): exposure, student_teachers, "
    "student_term_teachers and teacher_terms are built per class and term; their shares are "
    "of classes, not minutes, and lessons, minutes, substitutes, the two-teacher share and "
    "absence are null"
)
_NO_ATTENDANCE = "no lessons and no attendance: absence cannot be measured"
NO_LESSON_TIMES = "the source has no lessons (lesson times unknown)"  # student_lessons, if built
EMPTY_WITHOUT_LESSONS = {
    "student_months": _NO_ATTENDANCE,
    "student_terms": _NO_ATTENDANCE,
    "student_profiles": "one row per pupil and term of student_terms, which needs attendance",
    "quality": "no lessons and no registrations to measure",
    "turnover_basis": "kept for incremental builds; a build from classes is always a full one",
}


def table_rows(files: dict[str, list[Path]], name: str) -> int:
    """Rows of a canonical table, over its parts (``linkage._snapshot``)."""
    return parquet_rows(files.get(name, []))


def build_basis(files: dict[str, list[Path]]) -> str:
    """``classes`` when the canonical snapshot has class links (pupils in groups, teachers of
    activities) but not one lesson, else ``lessons``."""
    if table_rows(files, "lessons") == 0 and all(
        table_rows(files, name) for name in ("group_memberships", "activity_teachers")
    ):
        return CLASSES
    return LESSONS


def _dated(files: dict[str, list[Path]]) -> tuple[pa.Table, int]:
    """The activities with both dates, and how many activities there are."""
    import pyarrow as pa  # a build from classes only
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if "activities" not in files:
        empty = {"start_date": pa.date32(), "end_date": pa.date32(), "school_code": pa.string()}
        return pa.table({name: pa.array([], kind) for name, kind in empty.items()}), 0
    columns = ["start_date", "end_date", "school_code"]
    a = pa.concat_tables([pq.read_table(p, columns=columns) for p in files["activities"]])
    both = pc.and_(pc.is_valid(a["start_date"]), pc.is_valid(a["end_date"]))
    return a.filter(both), a.num_rows


@dataclass(frozen=True)
class ClassBuild:
    """What a class-level build adds: the tables (by research-table name, to be written in
    place of the lesson-level ones), the notes the summary prints, and the period the classes
    span (the first and last day of their dated terms: the calendar keys of a release)."""

    tables: dict[str, ir.Table]
    notes: list[str]
    period: tuple[dt.date | None, dt.date | None]


def class_tables(
    e: ComputeBackend, t: dict[str, ir.Table], files: dict[str, list[Path]], scratch: Path
) -> ClassBuild:
    """The class-level tables (``linkage/research/_classes.py``), the build's notes and its
    period."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from linkage.research._class_tables import class_exposure, class_teacher_terms, class_turnover
    from linkage.research._classes import (
        class_links,
        class_pupils,
        class_student_teachers,
        class_teachers,
        class_windows,
        term_calendar,
    )

    dated, total = _dated(files)
    first = pc.min(dated["start_date"]).as_py() if dated.num_rows else None
    last = pc.max(dated["end_date"]).as_py() if dated.num_rows else None
    rows = term_calendar(first, last) if first and last else []
    path = scratch / "term_calendar.parquet"
    schema = pa.schema(
        [("term", pa.string()), ("first_day", pa.date32()), ("last_day", pa.date32())]
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    calendar = e.read_parquet(path, "term_calendar")
    windows = e.keep("class_windows", class_windows(t, calendar))
    pupils = e.keep("class_pupils", class_pupils(t, windows))
    teachers = e.keep("class_teachers", class_teachers(t, windows))
    links = e.keep("class_links", class_links(pupils, teachers))
    tables = {
        "student_teachers": class_student_teachers(links),
        "exposure": class_exposure(
            t, pupils, links, class_turnover(windows, teachers, pupils, links)
        ),
        "teacher_terms": class_teacher_terms(t, windows, teachers, pupils),
    }
    notes = [BASIS_NOTE]
    if total - dated.num_rows:
        notes.append(
            f"{total - dated.num_rows:,} of {total:,} classes have no dated term (no known "
            "academic session with start and end dates): they are in no term and no table"
        )
    schoolless = dated["school_code"].null_count
    if schoolless:
        notes.append(
            f"{schoolless:,} of {dated.num_rows:,} dated classes are at no known school (their "
            "organisation is not a school and has none above it): their rows have no "
            "school_code"
        )
    return ClassBuild(tables, notes, (first, last))


def empty_reasons(basis: str, rows: dict[str, int], files: dict[str, list[Path]]) -> dict[str, str]:
    """Why each empty research table is empty (``rows``: the research tables' row counts,
    ``files``: the canonical tables)."""
    reasons: dict[str, str] = {}
    for name, count in rows.items():
        if count:
            continue
        if basis == CLASSES:
            reasons[name] = (
                NO_LESSON_TIMES
                if name == "student_lessons"
                else EMPTY_WITHOUT_LESSONS.get(
                    name, "no class with a dated term has both a pupil and a teacher"
                )
            )
        elif not table_rows(files, "lessons"):
            reasons[name] = (
                "the canonical snapshot has no lessons, and no class links (pupils in groups "
                "and teachers of activities) to build class-level tables from"
            )
        elif not rows.get("student_months"):  # a pupil in a held lesson has a month
            reasons[name] = "no held lesson has a pupil (see the ingest's alerts and quarantine)"
        elif name in ("student_teachers", "student_term_teachers", "teacher_terms"):
            reasons[name] = "no held lesson has a teacher (see the ingest's alerts and quarantine)"
        elif name == "turnover_basis":
            reasons[name] = (
                "no pupil had a regular teacher (one who took a lesson as the activity's own)"
            )
        else:
            reasons[name] = "no rows came out of the lessons (see the ingest's quarantine)"
    return reasons
