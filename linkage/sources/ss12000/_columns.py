"""A page of lessons or attendance records, column-wise, checked for what a record can be
checked for on its own; run by the workers of ``_parallel``.

Rule: a page comes back column-wise only when every record would pass the record-by-record
checks of ``_bulk`` (save the references, which need the rest of the extract): the same
types, strictly (``true`` is not a whole number, ``5.0`` is not one either, ``1`` is not true),
the same formats and the same bounds. Anything else gives None, and the page goes record by
record, which names each bad record's field. A date-time is taken column-wise only in its
plain RFC 3339 form with whole seconds and an offset (``2026-08-17T08:15:00+02:00``); any other
form goes record by record, where Python reads it.

A page is first decoded straight into typed records (msgspec; ``decode_page``), which is where
those types are checked, at about twice the speed of parsing it into Python objects and
checking them after. A page that does not decode so (a wrong type, a missing field, a byte-order
mark, another shape of response) is parsed as any other page (``_reader.read_page``) and
checked field by field: the outcome is the same either way. msgspec skips the fields medler
does not read without checking them, so ``_parallel`` first checks that the page is UTF-8 (the
reader refuses a page that is not). One difference is left: a number too large for a double
(beyond 1.8e308) in a field medler does not read is skipped here, where the reader refuses the
page as not JSON.
"""

from __future__ import annotations

from typing import Any

import msgspec
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

# The raw columns of a page's records, before the checks that need more than a type.
_ATTENDANCE_SCHEMA = {
    "id": pl.String,
    "lesson": pl.String,
    "student": pl.String,
    "reported": pl.Boolean,
    **dict.fromkeys(MINUTES, pl.Int64),
    "stamp": pl.String,
    "modified": pl.String,
}
_LESSON_SCHEMA = {
    "id": pl.String,
    "activity": pl.String,
    "start": pl.String,
    "end": pl.String,
    "teaching_length_student": pl.Int64,
    "teaching_length_teacher": pl.Int64,
    "cancelled": pl.Boolean,
    "modified": pl.String,
}
_STUDENT_EXCEPTIONS = {
    "record": pl.Int64,
    "student": pl.String,
    "participates": pl.Boolean,
    "teaching_length": pl.Int64,
}
_TEACHER_EXCEPTIONS = {"record": pl.Int64, "duty": pl.String, "participates": pl.Boolean}


# The records as msgspec decodes them: strictly typed (a whole number is not true, nor 5.0),
# unknown fields ignored, as the field-by-field checks do. Not tracked by Python's garbage
# collector (``gc=False``): they hold only text, numbers, flags and each other, never a cycle,
# and a page's tens of thousands of tracked objects would set off collections that cost more
# than the decoding itself (30 pages of attendance: 0.44 s of CPU tracked, 0.15 s not).
class _Ref(msgspec.Struct, gc=False):
    id: str


class _Meta(msgspec.Struct, gc=False):
    modified: object = None


class _Attendance(msgspec.Struct, gc=False):
    id: str
    calendarEvent: _Ref
    student: _Ref
    isReported: bool
    attendanceMinutes: int | None = None
    validAbsenceMinutes: int | None = None
    invalidAbsenceMinutes: int | None = None
    otherAttendanceMinutes: int | None = None
    reportedTimestamp: str | None = None
    meta: _Meta | None = None


class _StudentException(msgspec.Struct, gc=False):
    student: _Ref
    participates: bool | None = None
    teachingLength: int | None = None


class _TeacherException(msgspec.Struct, gc=False):
    duty: _Ref
    participates: bool | None = None


class _Lesson(msgspec.Struct, gc=False):
    id: str
    activity: _Ref
    startTime: str
    endTime: str
    teachingLengthStudent: int | None = None
    teachingLengthTeacher: int | None = None
    cancelled: bool | None = None
    studentExceptions: list[_StudentException] | None = None
    teacherExceptions: list[_TeacherException] | None = None
    meta: _Meta | None = None


class _AttendancePage(msgspec.Struct, gc=False):
    data: list[_Attendance]


class _LessonPage(msgspec.Struct, gc=False):
    data: list[_Lesson]


_ATTENDANCE_PAGE = msgspec.json.Decoder(_AttendancePage)
_LESSON_PAGE = msgspec.json.Decoder(_LessonPage)


def decode_page(resource: str, data: bytes) -> Columns | None:
    """A page's bytes (a ``{"data": [...]}`` response of ``attendances`` or
    ``calendarEvents``), decoded into typed records and checked column-wise: as
    ``attendance_columns`` or ``lesson_columns`` would give for the parsed page. Raises
    ``msgspec.MsgspecError`` where the page does not decode so; it is then parsed as any
    other."""
    if resource == "attendances":
        records = _ATTENDANCE_PAGE.decode(data).data
        if not records:
            return None
        try:
            raw = pl.DataFrame(
                {
                    "id": [r.id for r in records],
                    "lesson": [r.calendarEvent.id for r in records],
                    "student": [r.student.id for r in records],
                    "reported": [r.isReported for r in records],
                    "attendanceMinutes": [r.attendanceMinutes for r in records],
                    "validAbsenceMinutes": [r.validAbsenceMinutes for r in records],
                    "invalidAbsenceMinutes": [r.invalidAbsenceMinutes for r in records],
                    "otherAttendanceMinutes": [r.otherAttendanceMinutes for r in records],
                    "stamp": [r.reportedTimestamp for r in records],
                    "modified": [_stamp_of(r.meta) for r in records],
                },
                schema=_ATTENDANCE_SCHEMA,
            )
        except _UNCLEAN:
            return None
        return _attendance(raw)
    lessons = _LESSON_PAGE.decode(data).data
    if not lessons:
        return None
    s_rows = [(i, e) for i, r in enumerate(lessons) for e in r.studentExceptions or ()]
    t_rows = [(i, e) for i, r in enumerate(lessons) for e in r.teacherExceptions or ()]
    try:
        raw = pl.DataFrame(
            {
                "id": [r.id for r in lessons],
                "activity": [r.activity.id for r in lessons],
                "start": [r.startTime for r in lessons],
                "end": [r.endTime for r in lessons],
                "teaching_length_student": [r.teachingLengthStudent for r in lessons],
                "teaching_length_teacher": [r.teachingLengthTeacher for r in lessons],
                "cancelled": [r.cancelled for r in lessons],
                "modified": [_stamp_of(r.meta) for r in lessons],
            },
            schema=_LESSON_SCHEMA,
        )
        students = pl.DataFrame(
            {
                "record": [i for i, _ in s_rows],
                "student": [e.student.id for _, e in s_rows],
                "participates": [e.participates for _, e in s_rows],
                "teaching_length": [e.teachingLength for _, e in s_rows],
            },
            schema=_STUDENT_EXCEPTIONS,
        )
        teachers = pl.DataFrame(
            {
                "record": [i for i, _ in t_rows],
                "duty": [e.duty.id for _, e in t_rows],
                "participates": [e.participates for _, e in t_rows],
            },
            schema=_TEACHER_EXCEPTIONS,
        )
    except _UNCLEAN:
        return None
    return _lessons(raw, students, teachers)


def _modified(record: dict[str, Any]) -> str | None:
    """A record's ``meta.modified`` as written, where it is a string."""
    meta = record.get("meta")
    value = meta.get("modified") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def _stamp_of(meta: _Meta | None) -> str | None:
    value = None if meta is None else meta.modified
    return value if isinstance(value, str) else None


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
    ``reported_at`` (UTC), ``source_position`` (1-based) and ``modified`` (``meta.modified``
    as written). ``lessons``: ``lesson``, each lesson's source id once, in the order first
    met."""
    if not records:
        return None
    try:
        raw = pl.DataFrame(
            {
                "id": _text([r["id"] for r in records]),
                "lesson": _text([r["calendarEvent"]["id"] for r in records]),
                "student": _text([r["student"]["id"] for r in records]),
                "reported": _flag([r["isReported"] for r in records]),
                **{key: _whole([r.get(key) for r in records]) for key in MINUTES},
                "stamp": _text([r.get("reportedTimestamp") for r in records]),
                "modified": pl.Series([_modified(r) for r in records], dtype=pl.String),
            }
        )
    except _UNCLEAN:
        return None
    return _attendance(raw)


def _attendance(raw: pl.DataFrame) -> Columns | None:
    """The checks and the shape of ``attendance_columns``, on its raw columns."""
    try:
        frame = raw.with_columns(reported_at=_stamp("stamp"))
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
            "modified",
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
        raw = pl.DataFrame(
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
                "modified": pl.Series([_modified(r) for r in records], dtype=pl.String),
            }
        )
        students, teachers = _exceptions(records)
    except _UNCLEAN:
        return None
    return _lessons(raw, students, teachers)


def _lessons(raw: pl.DataFrame, students: pl.DataFrame, teachers: pl.DataFrame) -> Columns | None:
    """The checks and the shape of ``lesson_columns``, on its raw columns."""
    try:
        lessons = raw.with_columns(start_time=_stamp("start"), end_time=_stamp("end"))
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
        "modified",
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
