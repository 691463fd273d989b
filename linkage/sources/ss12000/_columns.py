"""A page of lessons or attendance records, column-wise, checked for what a record can be
checked for on its own; run by the workers of ``_parallel``.

Rule: a page comes back column-wise only when every record would pass the record-by-record
checks of ``_bulk`` (save the references, which need the rest of the extract): the same
types, strictly (``true`` is not a whole number, ``5.0`` is not one either, ``1`` is not true),
the same formats and the same bounds. Anything else gives None, and the page goes record by
record, which names each bad record's field. A date-time is taken column-wise only in its
plain RFC 3339 form with whole seconds and an offset (``2026-08-17T08:15:00+02:00``); any other
form goes record by record, where Python reads it.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa

MINUTES = (
    "attendanceMinutes",
    "validAbsenceMinutes",
    "invalidAbsenceMinutes",
    "otherAttendanceMinutes",
)
ID_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z._:-]{0,127}$"  # as ``_fields.identifier``
_STAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"
_STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%:z"
_UNCLEAN = (KeyError, TypeError, AttributeError, OverflowError, pa.ArrowException)

Columns = dict[str, pl.DataFrame]


def _text(values: list[Any]) -> pl.Series:
    return pl.Series(pa.array(values, type=pa.string()))  # refuses numbers, objects


def _flag(values: list[Any]) -> pl.Series:
    return pl.Series(pa.array(values, type=pa.bool_()))  # refuses 0 and 1


def _whole(values: list[Any]) -> pl.Series:
    pl.Series(values, dtype=pl.Int64, strict=True)  # refuses 5.0
    return pl.Series(pa.array(values, type=pa.int64()))  # refuses true and false


def _stamp(column: str) -> pl.Expr:
    """A plain RFC 3339 date-time in UTC (null where not one)."""
    text = pl.col(column)
    return (
        pl.when(text.str.contains(_STAMP_PATTERN))
        .then(text.str.to_datetime(_STAMP_FORMAT, time_zone="UTC", strict=False))
        .dt.cast_time_unit("ms")
    )


def _flawed(frame: pl.DataFrame, *conditions: pl.Expr) -> bool:
    """Whether any row meets any of ``conditions``."""
    return bool(frame.select(pl.any_horizontal(conditions).any()).item())


def attendance_columns(records: list[Any]) -> Columns | None:
    """A page's attendance records, when every one is well formed on its own: an object with an
    id, a lesson and a pupil reference, ``isReported`` true or false, whole minutes not below 0
    (some, when reported) and a ``reportedTimestamp`` if any.

    ``attendance``: ``id``, ``lesson_code`` (the row of the lesson's source id in ``lessons``),
    ``student`` (source id), ``reported``, the four minutes under their SS 12000 names,
    ``reported_at`` (UTC) and ``source_position`` (1-based). ``lessons``: ``lesson``, each
    lesson's source id once, in the order first met."""
    if not records:
        return None
    try:
        frame = pl.DataFrame(
            {
                "id": _text([r["id"] for r in records]),
                "lesson": _text([r["calendarEvent"]["id"] for r in records]),
                "student": _text([r["student"]["id"] for r in records]),
                "reported": _flag([r["isReported"] for r in records]),
                **{key: _whole([r.get(key) for r in records]) for key in MINUTES},
                "stamp": _text([r.get("reportedTimestamp") for r in records]),
            }
        ).with_columns(reported_at=_stamp("stamp"))
    except _UNCLEAN:
        return None
    minutes = pl.col(list(MINUTES))
    if _flawed(
        frame,
        pl.any_horizontal(pl.col("id", "lesson", "student", "reported").is_null()),
        ~pl.col("id").str.contains(ID_PATTERN),
        ~pl.col("lesson").str.contains(ID_PATTERN),
        pl.col("stamp").is_not_null() & pl.col("reported_at").is_null(),
        pl.col("reported") & pl.all_horizontal(pl.col(list(MINUTES[:3])).is_null()),
        pl.any_horizontal(minutes < 0),
    ):
        return None
    # each lesson once (a page holds a few thousand lessons and tens of thousands of records)
    lessons = frame["lesson"].unique(maintain_order=True)
    code = pl.DataFrame({"lesson": lessons}).with_row_index("lesson_code")
    frame = frame.join(code, on="lesson", how="left", maintain_order="left")
    return {
        "lessons": pl.DataFrame({"lesson": lessons}),
        "attendance": frame.select(
            "id",
            "lesson_code",
            "student",
            "reported",
            *MINUTES,
            "reported_at",
            pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("source_position"),
        ),
    }


def lesson_columns(records: list[Any]) -> Columns | None:
    """A page's lessons (``{"lessons": …, "students": …, "teachers": …}``), when every one is
    well formed on its own: an object with an id, an activity reference, a start and an end
    after it, lengths not below 0, ``cancelled`` true or false if given; and every exception
    an object with a pupil (or duty) reference, ``participates`` true or false and a length not
    below 0. Exceptions name their lesson by ``record`` (0-based, in page order)."""
    if not records:
        return None
    try:
        lessons = pl.DataFrame(
            {
                "id": _text([r["id"] for r in records]),
                "activity": _text([r["activity"]["id"] for r in records]),
                "start": _text([r["startTime"] for r in records]),
                "end": _text([r["endTime"] for r in records]),
                "teaching_length_student": _whole(
                    [r.get("teachingLengthStudent") for r in records]
                ),
                "teaching_length_teacher": _whole(
                    [r.get("teachingLengthTeacher") for r in records]
                ),
                "cancelled": _flag([r.get("cancelled") for r in records]),
            }
        ).with_columns(start_time=_stamp("start"), end_time=_stamp("end"))
        students, teachers = _exceptions(records)
    except _UNCLEAN:
        return None
    lengths = pl.col("teaching_length_student", "teaching_length_teacher")
    if (
        _flawed(
            lessons,
            pl.any_horizontal(pl.col("id", "activity", "start_time", "end_time").is_null()),
            ~pl.col("id").str.contains(ID_PATTERN),
            ~pl.col("activity").str.contains(ID_PATTERN),
            pl.col("end_time") <= pl.col("start_time"),
            pl.any_horizontal(lengths < 0),
        )
        or _flawed(
            students,
            pl.col("student").is_null(),
            pl.col("participates").is_null(),
            pl.col("teaching_length") < 0,
        )
        or _flawed(teachers, pl.col("duty").is_null(), pl.col("participates").is_null())
    ):
        return None
    start = pl.col("start")
    lessons = lessons.select(
        "id",
        "activity",
        "start_time",
        "end_time",
        start.str.slice(0, 10).str.to_date("%Y-%m-%d").alias("local_date"),
        (start.str.slice(11, 2).cast(pl.Int16) * 60 + start.str.slice(14, 2).cast(pl.Int16)).alias(
            "local_start_minute"
        ),
        ((pl.col("end_time") - pl.col("start_time")).dt.total_seconds() // 60)
        .cast(pl.Int32)
        .alias("minutes"),
        "teaching_length_student",
        "teaching_length_teacher",
        pl.col("cancelled").fill_null(False),
    )
    return {"lessons": lessons, "students": students, "teachers": teachers}


def _exceptions(records: list[Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The pupils' and the teachers' exceptions of every lesson, one row per entry."""
    s_record: list[int] = []
    s_entries: list[Any] = []
    t_record: list[int] = []
    t_entries: list[Any] = []
    for i, record in enumerate(records):
        for key, into, entries in (
            ("studentExceptions", s_record, s_entries),
            ("teacherExceptions", t_record, t_entries),
        ):
            listed = record.get(key) or []
            if not isinstance(listed, list):
                raise TypeError(key)
            into.extend([i] * len(listed))
            entries.extend(listed)
    students = pl.DataFrame(
        {
            "record": pl.Series(s_record, dtype=pl.Int64),
            "student": _text([e["student"]["id"] for e in s_entries]),
            "participates": _flag([e.get("participates") for e in s_entries]),
            "teaching_length": _whole([e.get("teachingLength") for e in s_entries]),
        }
    )
    teachers = pl.DataFrame(
        {
            "record": pl.Series(t_record, dtype=pl.Int64),
            "duty": _text([e["duty"]["id"] for e in t_entries]),
            "participates": _flag([e.get("participates") for e in t_entries]),
        }
    )
    return students, teachers
