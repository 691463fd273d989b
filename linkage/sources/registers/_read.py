"""Reading a register file: every row becomes canonical rows or a quarantine entry.

Teacher register columns: ``civic_no, school_unit_code, legitimated, certified_in,
experience_years, arrival_year``. ``certified_in`` lists ``SUBJECT:BAND`` pairs separated by
``;`` (bands ``F-3``, ``4-6``, ``7-9``); ``legitimated`` is ``ja``/``nej`` (or true/false).

Student register columns: ``civic_no, parents_education, migration_background, merit_value``
and any number of ``grade_<SUBJECT>`` columns (A–F, or empty).

The national ID is pseudonymised under the ID policy with unlinkable IDs quarantined: a
register row that cannot be linked to a person is useless and is set aside with its reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from linkage.sources._adapter import ResourceCount
from linkage.sources._errors import BadField
from linkage.sources._quarantine import Quarantine
from medler.errors import InputFileError
from pseudonymise import Domain, IdPolicy, IdStatus, Pseudonymiser, Unlinkable

REGISTER_KINDS = ("teachers", "students")
RESOURCE = {"teachers": "teacher_register", "students": "student_register"}
BANDS = frozenset({"F-3", "4-6", "7-9"})
GRADES = frozenset({"A", "B", "C", "D", "E", "F"})
_REQUIRED = {
    "teachers": (
        "civic_no",
        "school_unit_code",
        "legitimated",
        "certified_in",
        "experience_years",
        "arrival_year",
    ),
    "students": ("civic_no", "parents_education", "migration_background", "merit_value"),
}
_YES = {
    "ja": True,
    "j": True,
    "true": True,
    "1": True,
    "nej": False,
    "n": False,
    "false": False,
    "0": False,
}


@dataclass
class RegisterRows:
    """Canonical rows from one register file, table by table."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    count: ResourceCount = field(default_factory=ResourceCount)


def _frame(path: Path) -> pl.DataFrame:
    try:
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path).cast(pl.String)
        return pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as error:
        raise InputFileError(
            f"{path.name} cannot be read as a register file ({type(error).__name__}); a register "
            "is a UTF-8 CSV file with a header row, or a Parquet file"
        ) from error


def _int(row: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = (row.get(key) or "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError as error:
        raise BadField(key, "not a whole number", value) from error
    if not low <= number <= high:
        raise BadField(key, f"outside {low}–{high}", value)
    return number


def _teacher(pid: int, row: dict[str, Any], year: int) -> dict[str, list[dict[str, Any]]]:
    legitimated = _YES.get((row.get("legitimated") or "").strip().lower())
    if legitimated is None:
        raise BadField("legitimated", "not ja/nej", row.get("legitimated"))
    certifications = []
    for entry in filter(None, (row.get("certified_in") or "").split(";")):
        subject, _, band = entry.strip().partition(":")
        if not subject or band not in BANDS:
            raise BadField("certified_in", "not SUBJECT:BAND with band F-3, 4-6 or 7-9", entry)
        certifications.append({"teacher_pid": pid, "subject_code": subject, "grade_band": band})
    return {
        "teacher_register": [
            {
                "teacher_pid": pid,
                "school_code": (row.get("school_unit_code") or None),
                "legitimated": legitimated,
                "experience_years": _int(row, "experience_years", 0, 60),
                "arrival_year": _int(row, "arrival_year", 1950, year + 1),
            }
        ],
        "teacher_certifications": certifications,
    }


def _student(pid: int, row: dict[str, Any], _year: int) -> dict[str, list[dict[str, Any]]]:
    merit_text = (row.get("merit_value") or "").strip()
    merit = None
    if merit_text:
        try:
            merit = float(merit_text.replace(",", "."))
        except ValueError as error:
            raise BadField("merit_value", "not a number", merit_text) from error
        if not 0 <= merit <= 340:
            raise BadField("merit_value", "outside 0–340", merit_text)
    grades = []
    for key, value in row.items():
        if key.startswith("grade_") and value:
            if value.strip() not in GRADES:
                raise BadField(key, "not a grade A–F", value)
            grades.append({"student_pid": pid, "subject_code": key[6:], "grade": value.strip()})
    return {
        "student_register": [
            {
                "student_pid": pid,
                "parents_education": row.get("parents_education") or None,
                "migration_background": row.get("migration_background") or None,
                "merit_value": merit,
            }
        ],
        "student_grades": grades,
    }


def read_register(
    kind: str, path: Path, pseudonymiser: Pseudonymiser, quarantine: Quarantine, policy: IdPolicy
) -> RegisterRows:
    """Check and pseudonymise every row of a register file."""
    frame = _frame(path)
    missing = [c for c in _REQUIRED[kind] if c not in frame.columns]
    if missing:
        raise InputFileError(
            f"{path.name} lacks the column(s) {', '.join(missing)} of a {kind} register; the "
            f"header must name {', '.join(_REQUIRED[kind])}"
        )
    domain = Domain.TEACHER if kind == "teachers" else Domain.STUDENT
    strict = IdPolicy(
        policy.country, Unlinkable.QUARANTINE, policy.allow_interim, policy.allow_coordination
    )
    ids = pseudonymiser.pseudonymise_people(domain, frame["civic_no"], policy=strict)
    convert = _teacher if kind == "teachers" else _student
    year = dt.date.today().year
    out = RegisterRows({name: [] for name in _TABLES[kind]})
    seen: set[int] = set()
    for position, (row, pid, status, reason) in enumerate(
        zip(
            frame.iter_rows(named=True),
            ids[domain.column].to_list(),
            ids["id_status"].to_list(),
            ids["id_reason"].to_list(),
            strict=True,
        ),
        start=2,
    ):  # row 1 is the header
        out.count.read += 1
        try:
            if status != IdStatus.LINKED.value:
                raise BadField("civic_no", f"national ID: {reason}", row.get("civic_no"))
            if pid in seen:
                raise BadField(
                    "civic_no", "the same person twice (first row kept)", row.get("civic_no")
                )
            converted = convert(int(pid), row, year)
        except BadField as bad:
            out.count.quarantined += 1
            quarantine.add(RESOURCE[kind], path.name, position, bad.field, bad.reason, bad.value)
            continue
        seen.add(int(pid))
        out.count.accepted += 1
        for table, rows in converted.items():
            out.tables[table] += rows
    return out


_TABLES = {
    "teachers": ("teacher_register", "teacher_certifications"),
    "students": ("student_register", "student_grades"),
}
