"""SS 12000 v2.1 JSON text for the bulk resources (CalendarEvent, Attendance, Absence).

Records are rendered as compact JSON, one per line, inside the API's list envelope by the
writer. Attendance, one record per pupil and lesson, is rendered column-wise with polars
string formatting; the rest with orjson.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import polars as pl

from linkage.sources.synthetic._uuids import uuids_of

if TYPE_CHECKING:
    from linkage.sources.synthetic._lessons import ChunkContext

_ATTENDANCE_REPORTED = (
    '{"id":"{}","meta":{"created":"{}","modified":"{}"},"calendarEvent":{"id":"{}"},'
    '"student":{"id":"{}"},"isReported":true,"attendanceMinutes":{},'
    '"validAbsenceMinutes":{},"invalidAbsenceMinutes":{},"otherAttendanceMinutes":{},'
    '"reportedTimestamp":"{}"}'
)
_ATTENDANCE_UNREPORTED = (
    '{"id":"{}","meta":{"created":"{}","modified":"{}"},"calendarEvent":{"id":"{}"},'
    '"student":{"id":"{}"},"isReported":false}'
)


def dumps(record: dict[str, Any]) -> str:
    return orjson.dumps(record).decode()


def calendar_events(
    ctx: ChunkContext,
    l_uuid: np.ndarray,
    l_act: np.ndarray,
    l_day: np.ndarray,
    l_length: np.ndarray,
    length_given: np.ndarray,
    cancelled: np.ndarray,
    start_text: list[str],
    end_text: list[str],
    teacher_events: list[list[tuple[int, bool]]],
    pupil_events: list[list[tuple[int, bool, int | None]]],
) -> str:
    m = ctx.m
    published = ctx.stamp(0, 8 * 60)
    lines = []
    for i in range(len(l_uuid)):
        day = int(l_day[i])
        changed = bool(cancelled[i]) or bool(teacher_events[i]) or bool(pupil_events[i])
        record: dict[str, Any] = {
            "id": str(l_uuid[i]),
            "meta": {
                "created": published,
                "modified": ctx.stamp(day, 7 * 60) if changed else published,
            },
            "activity": {"id": m.activities[int(l_act[i])].uuid},
            "startTime": start_text[i],
            "endTime": end_text[i],
            "cancelled": bool(cancelled[i]),
        }
        if length_given[i]:
            record["teachingLengthTeacher"] = int(l_length[i])
            record["teachingLengthStudent"] = int(l_length[i])
        if cancelled[i]:
            record["comment"] = "Lektionen är inställd."
        if pupil_events[i]:
            record["studentExceptions"] = [
                {"student": {"id": m.pupils.uuid[p]}, "participates": part}
                | ({"teachingLength": length} if length is not None else {})
                for p, part, length in pupil_events[i]
            ]
        if teacher_events[i]:
            record["teacherExceptions"] = [
                {"duty": {"id": ctx.teacher[t].duty_uuid}, "participates": part}
                for t, part in teacher_events[i]
            ]
        lines.append(dumps(record))
    return ",\n".join(lines)


def attendances(
    att_uuid: np.ndarray,
    l_uuid: np.ndarray,
    p_lesson: np.ndarray,
    pupil_uuid: np.ndarray,
    reported: np.ndarray,
    attend_min: np.ndarray,
    valid_min: np.ndarray,
    invalid_min: np.ndarray,
    other_min: np.ndarray,
    end_text: list[str],
    reported_text: list[str],
) -> str:
    if len(att_uuid) == 0:
        return ""
    lessons = pl.DataFrame(
        {"lesson_id": l_uuid, "end": end_text, "reported_at": reported_text}
    ).with_row_index("lesson")
    frame = pl.DataFrame(
        {
            "id": att_uuid,
            "lesson": p_lesson.astype(np.uint32),
            "student": pupil_uuid,
            "reported": reported,
            "att": attend_min,
            "valid": valid_min,
            "invalid": invalid_min,
            "other": other_min,
        }
    ).join(lessons, on="lesson", how="left", maintain_order="left")
    line = (
        pl.when(pl.col("reported"))
        .then(
            pl.format(
                _ATTENDANCE_REPORTED,
                "id",
                "end",
                "reported_at",
                "lesson_id",
                "student",
                "att",
                "valid",
                "invalid",
                "other",
                "reported_at",
            )
        )
        .otherwise(pl.format(_ATTENDANCE_UNREPORTED, "id", "end", "end", "lesson_id", "student"))
    )
    return str(frame.select(line.str.join(",\n")).item())


def absences(
    ctx: ChunkContext,
    school_uuid: str,
    notice_pupil: np.ndarray,
    notice_day: np.ndarray,
    leaves: list[tuple[int, int, int]],
) -> tuple[str, int]:
    """Absence notices: a guardian's report of a day away (valid absence) and granted leave."""
    m = ctx.m
    keys = (notice_pupil * ctx.n_days + notice_day).astype(np.uint64)
    ids = uuids_of(m.seed, "absence", keys)
    leave_ids = uuids_of(
        m.seed, "leave", np.array([p * ctx.n_days + a for p, a, _ in leaves], dtype=np.uint64)
    )
    lines = []
    for i in range(len(keys)):
        day = int(notice_day[i])
        lines.append(
            dumps(
                {
                    "id": str(ids[i]),
                    "meta": {
                        "created": ctx.stamp(day, 7 * 60 + 5),
                        "modified": ctx.stamp(day, 7 * 60 + 5),
                    },
                    "startTime": ctx.stamp(day, 7 * 60),
                    "endTime": ctx.stamp(day, 17 * 60),
                    "type": "Anmäld frånvaro",
                    "student": {"id": m.pupils.uuid[int(notice_pupil[i])]},
                    "organisation": {"id": school_uuid},
                }
            )
        )
    for j, (p, first, last) in enumerate(leaves):
        applied = ctx.stamp(max(first - 10, 0), 10 * 60)
        lines.append(
            dumps(
                {
                    "id": str(leave_ids[j]),
                    "meta": {"created": applied, "modified": applied},
                    "startTime": ctx.stamp(first, 7 * 60),
                    "endTime": ctx.stamp(last, 17 * 60),
                    "type": "Beviljad ledighet",
                    "student": {"id": m.pupils.uuid[p]},
                    "organisation": {"id": school_uuid},
                }
            )
        )
    return ",\n".join(lines), len(lines)
