"""Grades and aggregated attendance: per pupil, not per lesson.

``grades``: one row per grade (the final grade of a subject, or a term grade), with the
grading teacher as a pseudonym. Free text (remarks, adapted study plans) is dropped.

``aggregatedAttendance``: minutes per pupil, activity and period. The research-table build
uses it only where a school reports no per-lesson attendance. The resource has no ``id``, so
rows are not deduplicated; a later extract adds to, not replaces, what an earlier one held.
"""

from __future__ import annotations

from typing import Any

from linkage.sources._adapter import ResourceCount
from linkage.sources.ss12000 import _fields as f
from linkage.sources.ss12000._reader import Page
from linkage.sources.ss12000._sink import PageSink
from linkage.sources.ss12000._state import Accepted

GRADE_VALUES = frozenset(
    {
        "A",
        "B",
        "C",
        "D",
        "E",
        "F",
        "-",
        "2",
        "3",
        "4",
        "5",
        "G",
        "VG",
        "MVG",
        "IG",
        "Godkänd",
        "Icke godkänd",
    }
)


def _known(
    record: dict[str, Any],
    key: str,
    pool: dict[str, Any],
    what: str,
    *,
    required: bool,
) -> Any:
    ref = f.reference(record, key, required=required)
    if ref is None:
        return None
    if ref not in pool:
        raise f.BadField(key, f"unknown {what}")
    return pool[ref]


def grades_page(sink: PageSink, accepted: Accepted, page: Page, count: ResourceCount) -> None:
    rows = []
    for position, record in sink.records(page, count, "grades"):
        try:
            f.record_id(record)
            value = f.text(record, "gradeValue", required=True)
            if value not in GRADE_VALUES:
                raise f.BadField("gradeValue", "not a grade of the Swedish grading scales", value)
            semester = f.text(record, "semester")
            if semester not in (None, "HT", "VT"):
                raise f.BadField("semester", "not HT or VT", semester)
            rows.append(
                {
                    "student_pid": _known(
                        record, "student", accepted.students, "pupil", required=True
                    ),
                    "school_code": _known(
                        record,
                        "organisation",
                        accepted.schools,
                        "school unit",
                        required=False,
                    ),
                    "syllabus_pid": _known(
                        record, "syllabus", accepted.syllabuses, "syllabus", required=True
                    ),
                    "group_pid": _known(record, "group", accepted.groups, "group", required=False),
                    "grading_teacher_pid": _known(
                        record,
                        "gradingTeacher",
                        accepted.staff,
                        "member of staff",
                        required=False,
                    ),
                    "grade": value,
                    "final_grade": bool(f.boolean(record, "finalGrade")),
                    "trial": bool(f.boolean(record, "trial")),
                    "registered_date": f.date(record, "registeredDate"),
                    "semester": semester,
                    "year": f.integer(record, "year", minimum=1900),
                }
            )
        except f.BadField as error:
            sink.bad(count, "grades", page, position, error)
    count.accepted += len(rows)
    sink.write("grades", rows, page)


_SUMS = {
    "attendanceSum": "present_minutes",
    "validAbsenceSum": "valid_absence_minutes",
    "invalidAbsenceSum": "invalid_absence_minutes",
    "otherAttendanceSum": "other_minutes",
    "reportedSum": "reported_minutes",
    "offeredSum": "offered_minutes",
}


def aggregated_page(sink: PageSink, accepted: Accepted, page: Page, count: ResourceCount) -> None:
    rows = []
    for position, record in sink.records(page, count, "aggregatedAttendance"):
        try:
            if not isinstance(record, dict):
                raise f.BadField("(record)", "not a JSON object", record)
            start = f.date(record, "startDate", required=True)
            end = f.date(record, "endDate", required=True)
            assert start is not None and end is not None
            if end < start:
                raise f.BadField("endDate", "before startDate", record.get("endDate"))
            if f.integer(record, "attendanceSum") is None:
                raise f.BadField("attendanceSum", "missing")
            rows.append(
                {
                    "activity_pid": _known(
                        record, "activity", accepted.activities, "activity", required=True
                    ),
                    "student_pid": _known(
                        record, "student", accepted.students, "pupil", required=True
                    ),
                    "start_date": start,
                    "end_date": end,
                    **{column: f.integer(record, key) for key, column in _SUMS.items()},
                }
            )
        except f.BadField as error:
            sink.bad(count, "aggregatedAttendance", page, position, error)
    count.accepted += len(rows)
    sink.write("aggregated_attendance", rows, page)
