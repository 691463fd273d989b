"""Reading one cell of a OneRoster row, or saying exactly what is wrong with it.

Cells are text; a blank cell is missing. Lists (``orgSourcedIds``, ``subjectCodes``,
``termSourcedIds``, ``grades``) are comma-separated inside one cell.
"""

from __future__ import annotations

import datetime as dt
import re

from linkage.sources._errors import BadField
from linkage.sources.oneroster._reader import Row

__all__ = ["ACTIVE", "DELETED", "BadField", "date", "grade", "listed", "sourced_id", "status"]

ACTIVE = "active"
DELETED = "tobedeleted"


_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,255}$")
# CEDS grade levels that are not a number: kindergarten is year 0; the rest have no year.
_GRADE_WORDS = {"KG": 0}


def sourced_id(row: Row, key: str = "sourcedId", *, required: bool = True) -> str | None:
    value = row.get(key, "").strip()
    if not value:
        if required:
            raise BadField(key, "missing")
        return None
    if not _ID.match(value):
        raise BadField(key, "not an identifier", value)
    return value


def status(row: Row) -> str:
    """``active`` or ``tobedeleted``; blank means active (bulk files often leave it blank)."""
    value = row.get("status", "").strip().lower()
    if value in ("", ACTIVE):
        return ACTIVE
    if value == DELETED:
        return DELETED
    raise BadField("status", "not active or tobedeleted", value)


def listed(row: Row, key: str) -> list[str]:
    return [part.strip() for part in row.get(key, "").split(",") if part.strip()]


def date(row: Row, key: str) -> dt.date | None:
    value = row.get(key, "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError as error:
        raise BadField(key, "not a date (YYYY-MM-DD)", value) from error


def grade(values: list[str]) -> int | None:
    """The school year of the first grade listed: ``09`` → 9, ``KG`` → 0; ``PK``, ``Other``
    and the like have none."""
    for value in values:
        if value.isdigit() and 0 <= int(value) <= 13:
            return int(value)
        if value.upper() in _GRADE_WORDS:
            return _GRADE_WORDS[value.upper()]
    return None
