"""The bulk resources (lessons, attendance, absence notices): one row per record, many
records; references are checked against what was accepted before (``Accepted``), pseudonymised
per page with each distinct identifier hashed once.

Attendance pages come parsed and checked column-wise by workers (``_parallel``); a page that
is clean there and whose references are all known is written whole, and any other page goes
record by record, which names each bad record's field. Both ways give the same rows.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from linkage.sources._adapter import ResourceCount
from linkage.sources.ss12000 import _fields as f
from linkage.sources.ss12000._columns import MINUTES, Columns
from linkage.sources.ss12000._reader import STANDARD, Page
from linkage.sources.ss12000._sink import PageSink
from linkage.sources.ss12000._state import Accepted
from pseudonymise import Domain


def lessons_page(sink: PageSink, accepted: Accepted, page: Page, count: ResourceCount) -> None:
    rows, ids, student_ex, teacher_ex = [], [], [], []
    for position, record in sink.records(page, count, "calendarEvents"):
        try:
            rid = f.record_id(record)
            activity = f.reference(record, "activity")
            if activity not in accepted.activities:
                raise f.BadField("activity", "unknown activity")
            start = f.timestamp(record, "startTime", required=True)
            end = f.timestamp(record, "endTime", required=True)
            assert start is not None and end is not None
            if end <= start:
                raise f.BadField("endTime", "not after startTime", record.get("endTime"))
            row = {
                "activity_pid": accepted.activities[str(activity)],
                "start_time": start,
                "end_time": end,
                "local_date": f.local_date(record, "startTime"),
                "local_start_minute": f.local_minute(record, "startTime"),
                "minutes": int((end - start).total_seconds() // 60),
                "teaching_length_student": f.integer(record, "teachingLengthStudent"),
                "teaching_length_teacher": f.integer(record, "teachingLengthTeacher"),
                "cancelled": bool(f.boolean(record, "cancelled")),
            }
            exceptions = _exceptions(sink, accepted, page, position, record)
        except f.BadField as error:
            sink.bad(count, "calendarEvents", page, position, error)
            continue
        rows.append(row)
        ids.append(rid)
        student_ex.append(exceptions[0])
        teacher_ex.append(exceptions[1])
    pids = sink.pid_column(Domain.LESSON, ids)
    sink.refuse_collisions(Domain.LESSON, pids.tolist())
    students_out, teachers_out = [], []
    for row, pid, s_ex, t_ex in zip(rows, pids.tolist(), student_ex, teacher_ex, strict=True):
        row["lesson_pid"] = pid
        accepted.lessons.add(pid)
        students_out += [{**e, "lesson_pid": pid} for e in s_ex]
        teachers_out += [{**e, "lesson_pid": pid} for e in t_ex]
    count.accepted += len(rows)
    sink.write("lessons", rows, page)
    sink.write("lesson_student_exceptions", students_out, page)
    sink.write("lesson_teacher_exceptions", teachers_out, page)


def _exceptions(
    sink: PageSink, accepted: Accepted, page: Page, position: int, record: dict[str, Any]
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
                    if person not in accepted.students:
                        raise f.BadField(f"{key}[{i}].student", "unknown pupil")
                    out.append(
                        {
                            "student_pid": accepted.students[str(person)],
                            "participates": participates,
                            "teaching_length": f.integer(entry, "teachingLength"),
                        }
                    )
                else:
                    duty = f.reference(entry, "duty")
                    if duty not in accepted.duties:
                        raise f.BadField(f"{key}[{i}].duty", "unknown duty")
                    duty_pid, teacher_pid = accepted.duties[str(duty)]
                    out.append(
                        {
                            "duty_pid": duty_pid,
                            "teacher_pid": teacher_pid,
                            "participates": participates,
                        }
                    )
            except f.BadField as error:
                sink.nested(f"calendarEvents.{key}", page, position, error)
    return students, teachers


def _lineage(sink: PageSink, page_name: str) -> list[pl.Expr]:
    return [
        pl.lit(STANDARD).alias("source_standard"),
        pl.lit(page_name).alias("source_file"),
        sink.ingested_at_column,
    ]


def lesson_columns_page(
    sink: PageSink, accepted: Accepted, page_name: str, columns: Columns, count: ResourceCount
) -> bool:
    """A page of lessons checked column-wise by a worker (``_columns``): written whole when no
    id is shadowed (superseded or deleted by a newer extract) or met before and every
    activity, pupil and duty is known (True);
    otherwise nothing is written or counted (False), and the page goes record by record."""
    lessons, students, teachers = columns["lessons"], columns["students"], columns["teachers"]
    if sink.shadowed(lessons["id"]):
        return False
    lessons = lessons.with_columns(activity_pid=accepted.activity_pids(lessons["activity"]))
    students = students.with_columns(student_pid=accepted.student_pids(students["student"]))
    duty_pid, teacher_pid = accepted.duty_pids(teachers["duty"])
    teachers = teachers.with_columns(duty_pid=duty_pid, teacher_pid=teacher_pid)
    if (
        lessons["activity_pid"].null_count()
        or students["student_pid"].null_count()
        or teachers["duty_pid"].null_count()
        or not sink.claim("calendarEvents", lessons["id"])
    ):
        return False
    sink.remember(lessons["id"], lessons["modified"])
    pids = sink.pid_column(Domain.LESSON, lessons["id"])
    sink.refuse_collisions(Domain.LESSON, pids.tolist())
    accepted.lessons.update(pids.tolist())
    lesson_pid = pl.Series("lesson_pid", pids)
    sink.write_table(
        "lessons",
        lessons.select(
            lesson_pid,
            "activity_pid",
            "start_time",
            "end_time",
            "local_date",
            "local_start_minute",
            "minutes",
            "teaching_length_student",
            "teaching_length_teacher",
            "cancelled",
            *_lineage(sink, page_name),
        ).to_arrow(),
    )
    for table, entries, kept in (
        ("lesson_student_exceptions", students, ("student_pid", "participates", "teaching_length")),
        ("lesson_teacher_exceptions", teachers, ("duty_pid", "teacher_pid", "participates")),
    ):
        if entries.height:
            sink.write_table(
                table,
                entries.select(
                    lesson_pid.gather(entries["record"]), *kept, *_lineage(sink, page_name)
                ).to_arrow(),
            )
    count.read += lessons.height
    count.accepted += lessons.height
    return True


def attendance_columns_page(
    sink: PageSink, accepted: Accepted, page_name: str, columns: Columns, count: ResourceCount
) -> bool:
    """A page of attendance checked column-wise by a worker (``_columns``): written whole when
    no id is shadowed and every pupil and lesson is known (True); otherwise nothing is
    written or counted (False), and the page goes record by record."""
    frame = columns["attendance"]
    if sink.shadowed(frame["id"]):
        return False
    joined = frame.with_columns(student_pid=accepted.student_pids(frame["student"]))
    if joined["student_pid"].null_count():
        return False
    distinct = sink.pid_column(Domain.LESSON, columns["lessons"]["lesson"])
    if not accepted.known_lessons(distinct).all():
        return False
    sink.remember(frame["id"], frame["modified"])
    lesson_pid = distinct[joined["lesson_code"].to_numpy()]
    sink.write_table(
        "attendance",
        joined.select(
            pl.Series("lesson_pid", lesson_pid),
            "student_pid",
            "reported",
            pl.col("attendanceMinutes").alias("present_minutes"),
            pl.col("validAbsenceMinutes").alias("valid_absence_minutes"),
            pl.col("invalidAbsenceMinutes").alias("invalid_absence_minutes"),
            pl.col("otherAttendanceMinutes").alias("other_minutes"),
            "reported_at",
            "source_position",
            *_lineage(sink, page_name),
        ).to_arrow(),
    )
    count.read += joined.height
    count.accepted += joined.height
    return True


def attendance_page(sink: PageSink, accepted: Accepted, page: Page, count: ResourceCount) -> None:
    """A page record by record."""
    rows: list[dict[str, Any]] = []
    positions, lesson_ids = [], []
    for position, record in sink.records(page, count, "attendances"):
        try:
            f.record_id(record)
            lesson = f.reference(record, "calendarEvent")
            student = f.reference(record, "student")
            if student not in accepted.students:
                raise f.BadField("student", "unknown pupil")
            reported = f.boolean(record, "isReported", required=True)
            minutes = [f.integer(record, key) for key in MINUTES]
            if reported and minutes[0] is None and minutes[1] is None and minutes[2] is None:
                raise f.BadField("attendanceMinutes", "a reported lesson without any minutes")
            rows.append(
                {
                    "student_pid": accepted.students[str(student)],
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
            sink.bad(count, "attendances", page, position, error)
            continue
        positions.append(position)
        lesson_ids.append(str(lesson))
    pids = sink.pid_column(Domain.LESSON, lesson_ids)
    known = accepted.known_lessons(pids)
    kept = []
    for row, pid, ok, position in zip(rows, pids.tolist(), known.tolist(), positions, strict=True):
        if not ok:
            sink.reject(count, "attendances", page, position, "calendarEvent", "unknown lesson")
            continue
        row["lesson_pid"] = pid
        kept.append(row)
    count.accepted += len(kept)
    sink.write("attendance", kept, page)


def absences_page(sink: PageSink, accepted: Accepted, page: Page, count: ResourceCount) -> None:
    rows = []
    for position, record in sink.records(page, count, "absences"):
        try:
            f.record_id(record)
            student = f.reference(record, "student")
            if student not in accepted.students:
                raise f.BadField("student", "unknown pupil")
            org = f.reference(record, "organisation", required=False)
            if org is not None and org not in accepted.organisations:
                raise f.BadField("organisation", "unknown organisation")
            start = f.timestamp(record, "startTime", required=True)
            end = f.timestamp(record, "endTime", required=True)
            rows.append(
                {
                    "student_pid": accepted.students[str(student)],
                    "school_code": accepted.schools.get(org) if org else None,
                    "absence_type": f.text(record, "type", required=True),
                    "start_time": start,
                    "end_time": end,
                }
            )
        except f.BadField as error:
            sink.bad(count, "absences", page, position, error)
    count.accepted += len(rows)
    sink.write("absence_notices", rows, page)
