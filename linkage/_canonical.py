"""The canonical tables: what ingestion writes, pseudonymised, one table per kind of object.

Columns ending in ``_pid`` hold pseudonyms (Int64). A negative ``student_pid`` or ``teacher_pid``
is a source-local pseudonym: that person had no linkable national ID and cannot join to a
register. School unit codes, subject codes and grades are public keys and are kept as they are.
Every table carries the lineage columns ``source_standard``, ``source_file`` and ``ingested_at``.

``activity_teachers.primary_teacher`` is the source's own mark of a class's primary teacher
(OneRoster ``enrollments.primary``); null where the source has no such mark (SS 12000).
"""

from __future__ import annotations

import pyarrow as pa

_TS = pa.timestamp("s", tz="UTC")
LINEAGE: list[tuple[str, pa.DataType]] = [
    ("source_standard", pa.string()),
    ("source_file", pa.string()),
    ("ingested_at", _TS),
]

_COLUMNS: dict[str, list[tuple[str, pa.DataType]]] = {
    "schools": [
        ("school_code", pa.string()),
        ("municipality_code", pa.string()),
        ("organisation_type", pa.string()),
        ("school_types", pa.string()),
        ("organiser_type", pa.string()),
    ],
    "students": [
        ("student_pid", pa.int64()),
        ("id_status", pa.string()),
        ("birth_year", pa.int16()),
        ("sex", pa.string()),
        ("protected_identity", pa.bool_()),
    ],
    "enrolments": [
        ("student_pid", pa.int64()),
        ("school_code", pa.string()),
        ("school_type", pa.string()),
        ("grade", pa.int8()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
    ],
    "staff": [
        ("duty_pid", pa.int64()),
        ("teacher_pid", pa.int64()),
        ("id_status", pa.string()),
        ("school_code", pa.string()),
        ("duty_role", pa.string()),
        ("duty_percent", pa.int16()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
    ],
    "groups": [
        ("group_pid", pa.int64()),
        ("school_code", pa.string()),
        ("group_type", pa.string()),
        ("school_type", pa.string()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
    ],
    "group_memberships": [
        ("group_pid", pa.int64()),
        ("student_pid", pa.int64()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
    ],
    "syllabuses": [
        ("syllabus_pid", pa.int64()),
        ("subject_code", pa.string()),
        ("school_type", pa.string()),
        ("language_code", pa.string()),
        ("official", pa.bool_()),
    ],
    "activities": [
        ("activity_pid", pa.int64()),
        ("school_code", pa.string()),
        ("syllabus_pid", pa.int64()),
        ("activity_type", pa.string()),
        ("minutes_planned", pa.int32()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
    ],
    "activity_groups": [("activity_pid", pa.int64()), ("group_pid", pa.int64())],
    "activity_teachers": [
        ("activity_pid", pa.int64()),
        ("duty_pid", pa.int64()),
        ("teacher_pid", pa.int64()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
        ("primary_teacher", pa.bool_()),
    ],
    "lessons": [
        ("lesson_pid", pa.int64()),
        ("activity_pid", pa.int64()),
        ("start_time", _TS),
        ("end_time", _TS),
        ("local_date", pa.date32()),
        ("local_start_minute", pa.int16()),
        ("minutes", pa.int32()),
        ("teaching_length_student", pa.int32()),
        ("teaching_length_teacher", pa.int32()),
        ("cancelled", pa.bool_()),
    ],
    "lesson_student_exceptions": [
        ("lesson_pid", pa.int64()),
        ("student_pid", pa.int64()),
        ("participates", pa.bool_()),
        ("teaching_length", pa.int32()),
    ],
    "lesson_teacher_exceptions": [
        ("lesson_pid", pa.int64()),
        ("duty_pid", pa.int64()),
        ("teacher_pid", pa.int64()),
        ("participates", pa.bool_()),
    ],
    "attendance": [
        ("lesson_pid", pa.int64()),
        ("student_pid", pa.int64()),
        ("reported", pa.bool_()),
        ("present_minutes", pa.int32()),
        ("valid_absence_minutes", pa.int32()),
        ("invalid_absence_minutes", pa.int32()),
        ("other_minutes", pa.int32()),
        ("reported_at", _TS),
        ("source_position", pa.int32()),
    ],
    "absence_notices": [
        ("student_pid", pa.int64()),
        ("school_code", pa.string()),
        ("absence_type", pa.string()),
        ("start_time", _TS),
        ("end_time", _TS),
    ],
    "grades": [
        ("student_pid", pa.int64()),
        ("school_code", pa.string()),
        ("syllabus_pid", pa.int64()),
        ("group_pid", pa.int64()),
        ("grading_teacher_pid", pa.int64()),
        ("grade", pa.string()),
        ("final_grade", pa.bool_()),
        ("trial", pa.bool_()),
        ("registered_date", pa.date32()),
        ("semester", pa.string()),
        ("year", pa.int16()),
    ],
    "aggregated_attendance": [
        ("activity_pid", pa.int64()),
        ("student_pid", pa.int64()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
        ("present_minutes", pa.int32()),
        ("valid_absence_minutes", pa.int32()),
        ("invalid_absence_minutes", pa.int32()),
        ("other_minutes", pa.int32()),
        ("reported_minutes", pa.int32()),
        ("offered_minutes", pa.int32()),
    ],
    "teacher_register": [
        ("teacher_pid", pa.int64()),
        ("school_code", pa.string()),
        ("legitimated", pa.bool_()),
        ("experience_years", pa.int16()),
        ("arrival_year", pa.int16()),
    ],
    "teacher_certifications": [
        ("teacher_pid", pa.int64()),
        ("subject_code", pa.string()),
        ("grade_band", pa.string()),
    ],
    "student_register": [
        ("student_pid", pa.int64()),
        ("parents_education", pa.string()),
        ("migration_background", pa.string()),
        ("merit_value", pa.float32()),
    ],
    "student_grades": [
        ("student_pid", pa.int64()),
        ("subject_code", pa.string()),
        ("grade", pa.string()),
    ],
}

# the names, for what must not load pyarrow (a build), are the same (tests/unit/linkage)
SCHEMAS: dict[str, pa.Schema] = {
    name: pa.schema([*columns, *LINEAGE]) for name, columns in _COLUMNS.items()
}

QUARANTINE_SCHEMA = pa.schema(
    [
        ("resource", pa.string()),
        ("source_file", pa.string()),
        ("position", pa.int64()),
        ("field", pa.string()),
        ("reason", pa.string()),
        ("shape", pa.string()),
        ("outcome", pa.string()),
    ]
)

# The reference map: not a canonical table (a build never reads it), the lookups a weekly
# delivery resolves its references with when the other resources are unchanged, so that they
# are not read again (``linkage._deliveries``). One row per object a bulk record may refer to:
# ``kind`` (``student``, ``activity``, ``duty``, ``organisation``), ``reference`` (the source id
# keyed by ``Pseudonymiser.reference_keys``, scoped by the source and the kind: no source id is
# kept), and what the id resolves to: the object's pseudonym (``pid``), a duty's
# ``teacher_pid``, an organisation's ``school_code`` (null for one that is no school unit).
REFERENCES = "source_references"
REFERENCE_KINDS = ("student", "activity", "duty", "organisation")
REFERENCE_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("reference", pa.int64()),
        ("pid", pa.int64()),
        ("teacher_pid", pa.int64()),
        ("school_code", pa.string()),
    ]
)
