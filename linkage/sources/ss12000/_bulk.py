"""The bulk resources (lessons, attendance, absence notices): one row per record, many
records; references are checked against what was accepted before, pseudonymised per page with
each distinct identifier hashed once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from linkage._canonical import SCHEMAS
from linkage.sources.ss12000 import _fields as f
from linkage.sources.ss12000._reader import STANDARD
from pseudonymise import Domain

if TYPE_CHECKING:
    from linkage.sources._adapter import ResourceCount
    from linkage.sources.ss12000._ingest import Ss12000Ingest
    from linkage.sources.ss12000._reader import Page


def _pid_column(ingest: Ss12000Ingest, domain: Domain, ids: list[str]) -> np.ndarray:
    if not ids:
        return np.zeros(0, dtype=np.int64)
    return ingest.pseudonymiser.pseudonymise(domain, pl.Series(ids, dtype=pl.String)).to_numpy()


def lessons_page(ingest: Ss12000Ingest, page: Page, count: ResourceCount) -> None:
    rows, ids, student_ex, teacher_ex = [], [], [], []
    for position, record in ingest._records(page, count, "calendarEvents"):
        try:
            rid = f.record_id(record)
            activity = f.reference(record, "activity")
            if activity not in ingest.activities:
                raise f.BadField("activity", "unknown activity")
            start = f.timestamp(record, "startTime", required=True)
            end = f.timestamp(record, "endTime", required=True)
            assert start is not None and end is not None
            if end <= start:
                raise f.BadField("endTime", "not after startTime", record.get("endTime"))
            row = {
                "activity_pid": ingest.activities[str(activity)],
                "start_time": start,
                "end_time": end,
                "local_date": f.local_date(record, "startTime"),
                "local_start_minute": f.local_minute(record, "startTime"),
                "minutes": int((end - start).total_seconds() // 60),
                "teaching_length_student": f.integer(record, "teachingLengthStudent"),
                "teaching_length_teacher": f.integer(record, "teachingLengthTeacher"),
                "cancelled": bool(f.boolean(record, "cancelled")),
            }
            exceptions = _exceptions(ingest, page, position, record)
        except f.BadField as error:
            ingest._bad(count, "calendarEvents", page, position, error)
            continue
        rows.append(row)
        ids.append(rid)
        student_ex.append(exceptions[0])
        teacher_ex.append(exceptions[1])
    pids = _pid_column(ingest, Domain.LESSON, ids)
    ingest.refuse_collisions(Domain.LESSON, pids.tolist())
    students_out, teachers_out = [], []
    for row, pid, s_ex, t_ex in zip(rows, pids.tolist(), student_ex, teacher_ex, strict=True):
        row["lesson_pid"] = pid
        ingest.lessons.add(pid)
        students_out += [{**e, "lesson_pid": pid} for e in s_ex]
        teachers_out += [{**e, "lesson_pid": pid} for e in t_ex]
    count.accepted += len(rows)
    ingest._write("lessons", rows, page)
    ingest._write("lesson_student_exceptions", students_out, page)
    ingest._write("lesson_teacher_exceptions", teachers_out, page)


def _exceptions(
    ingest: Ss12000Ingest, page: Page, position: int, record: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    students: list[dict[str, Any]] = []
    teachers: list[dict[str, Any]] = []
    for key, out in (("studentExceptions", students), ("teacherExceptions", teachers)):
        entries = record.get(key) or []
        if not isinstance(entries, list):
            raise f.BadField(key, "not a list", entries)
        for i, entry in enumerate(entries):
            try:
                if not isinstance(entry, dict):
                    raise f.BadField(f"{key}[{i}]", "not an object", entry)
                participates = f.boolean(entry, "participates", required=True)
                if key == "studentExceptions":
                    person = f.reference(entry, "student")
                    if person not in ingest.students:
                        raise f.BadField(f"{key}[{i}].student", "unknown pupil")
                    out.append(
                        {
                            "student_pid": ingest.students[str(person)],
                            "participates": participates,
                            "teaching_length": f.integer(entry, "teachingLength"),
                        }
                    )
                else:
                    duty = f.reference(entry, "duty")
                    if duty not in ingest.duties:
                        raise f.BadField(f"{key}[{i}].duty", "unknown duty")
                    duty_pid, teacher_pid = ingest.duties[str(duty)]
                    out.append(
                        {
                            "duty_pid": duty_pid,
                            "teacher_pid": teacher_pid,
                            "participates": participates,
                        }
                    )
            except f.BadField as error:
                ingest._nested(f"calendarEvents.{key}", page, position, error)
    return students, teachers


_MINUTES = (
    "attendanceMinutes",
    "validAbsenceMinutes",
    "invalidAbsenceMinutes",
    "otherAttendanceMinutes",
)


_ID_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z._:-]{0,127}$"


def _attendance_fast(ingest: Ss12000Ingest, page: Page) -> pa.Table | None:
    """The whole page column-wise, when every record is well formed and every reference is
    known; otherwise None, and the page goes record by record (which says what is wrong)."""
    records = page.records
    try:
        frame = pl.DataFrame(
            {
                "id": [r["id"] for r in records],
                "lesson": [r["calendarEvent"]["id"] for r in records],
                "student": [r["student"]["id"] for r in records],
                "reported": [r["isReported"] for r in records],
                **{key: [r.get(key) for r in records] for key in _MINUTES},
                "stamp": [r.get("reportedTimestamp") for r in records],
            },
            schema={
                "id": pl.String,
                "lesson": pl.String,
                "student": pl.String,
                "reported": pl.Boolean,
                **dict.fromkeys(_MINUTES, pl.Int64),
                "stamp": pl.String,
            },
            strict=True,
        )
    except (KeyError, TypeError, pl.exceptions.PolarsError):
        return None
    if ingest.shadowed(frame["id"]):
        return None
    if ingest.student_frame is None:
        ingest.student_frame = pl.DataFrame(
            {"student": list(ingest.students), "student_pid": list(ingest.students.values())},
            schema={"student": pl.String, "student_pid": pl.Int64},
        )
    if ingest.lesson_array is None:
        ingest.lesson_array = np.sort(np.fromiter(ingest.lessons, dtype=np.int64))
    checked = frame.with_columns(
        reported_at=pl.col("stamp").str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC", strict=False
        ),
        any_minutes=pl.any_horizontal(pl.col(list(_MINUTES[:3])).is_not_null()),
    ).join(ingest.student_frame, on="student", how="left", maintain_order="left")
    bad = checked.select(
        ~pl.col("id").str.contains(_ID_PATTERN).all()
        | ~pl.col("lesson").str.contains(_ID_PATTERN).all()
        | pl.col("reported").is_null().any()
        | pl.col("student_pid").is_null().any()
        | (pl.col("stamp").is_not_null() & pl.col("reported_at").is_null()).any()
        | (pl.col("reported") & ~pl.col("any_minutes")).any()
        | pl.any_horizontal(pl.col(list(_MINUTES)) < 0).any()
    ).item()
    if bad:
        return None
    lesson_pid = _pid_column(ingest, Domain.LESSON, checked["lesson"].to_list())
    position = np.searchsorted(ingest.lesson_array, lesson_pid)
    inside = position < len(ingest.lesson_array)
    if not (inside.all() and (ingest.lesson_array[position] == lesson_pid).all()):
        return None
    return checked.select(
        pl.Series("lesson_pid", lesson_pid),
        "student_pid",
        "reported",
        pl.col("attendanceMinutes").alias("present_minutes"),
        pl.col("validAbsenceMinutes").alias("valid_absence_minutes"),
        pl.col("invalidAbsenceMinutes").alias("invalid_absence_minutes"),
        pl.col("otherAttendanceMinutes").alias("other_minutes"),
        pl.col("reported_at").dt.cast_time_unit("ms"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("source_position"),
        pl.lit(STANDARD).alias("source_standard"),
        pl.lit(page.source_file).alias("source_file"),
        pl.lit(ingest.ingested_at).alias("ingested_at"),
    ).to_arrow()


def attendance_page(ingest: Ss12000Ingest, page: Page, count: ResourceCount) -> None:
    fast = _attendance_fast(ingest, page) if page.records else None
    if fast is not None:
        count.read += fast.num_rows
        count.accepted += fast.num_rows
        ingest.writer.write("attendance", fast.cast(SCHEMAS["attendance"]))
        return
    rows: list[dict[str, Any]] = []
    positions, lesson_ids = [], []
    for position, record in ingest._records(page, count, "attendances"):
        try:
            f.record_id(record)
            lesson = f.reference(record, "calendarEvent")
            student = f.reference(record, "student")
            if student not in ingest.students:
                raise f.BadField("student", "unknown pupil")
            reported = f.boolean(record, "isReported", required=True)
            minutes = [f.integer(record, key) for key in _MINUTES]
            if reported and minutes[0] is None and minutes[1] is None and minutes[2] is None:
                raise f.BadField("attendanceMinutes", "a reported lesson without any minutes")
            rows.append(
                {
                    "student_pid": ingest.students[str(student)],
                    "reported": reported,
                    "present_minutes": minutes[0],
                    "valid_absence_minutes": minutes[1],
                    "invalid_absence_minutes": minutes[2],
                    "other_minutes": minutes[3],
                    "reported_at": f.timestamp(record, "reportedTimestamp"),
                    "source_position": position,
                }
            )
        except f.BadField as error:
            ingest._bad(count, "attendances", page, position, error)
            continue
        positions.append(position)
        lesson_ids.append(str(lesson))
    pids = _pid_column(ingest, Domain.LESSON, lesson_ids)
    known = np.fromiter((p in ingest.lessons for p in pids.tolist()), dtype=bool, count=len(pids))
    kept = []
    for row, pid, ok, position in zip(rows, pids.tolist(), known.tolist(), positions, strict=True):
        if not ok:
            ingest._reject(count, "attendances", page, position, "calendarEvent", "unknown lesson")
            continue
        row["lesson_pid"] = pid
        kept.append(row)
    count.accepted += len(kept)
    ingest._write("attendance", kept, page)


def absences_page(ingest: Ss12000Ingest, page: Page, count: ResourceCount) -> None:
    rows = []
    for position, record in ingest._records(page, count, "absences"):
        try:
            f.record_id(record)
            student = f.reference(record, "student")
            if student not in ingest.students:
                raise f.BadField("student", "unknown pupil")
            org = f.reference(record, "organisation", required=False)
            if org is not None and org not in ingest.organisations:
                raise f.BadField("organisation", "unknown organisation")
            start = f.timestamp(record, "startTime", required=True)
            end = f.timestamp(record, "endTime", required=True)
            rows.append(
                {
                    "student_pid": ingest.students[str(student)],
                    "school_code": ingest.schools.get(org) if org else None,
                    "absence_type": f.text(record, "type", required=True),
                    "start_time": start,
                    "end_time": end,
                }
            )
        except f.BadField as error:
            ingest._bad(count, "absences", page, position, error)
    count.accepted += len(rows)
    ingest._write("absence_notices", rows, page)
