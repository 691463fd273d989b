"""Reading one field of an SS 12000 record, or saying exactly what is wrong with it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from linkage.sources._errors import BadField

_UUID_LIKE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._:-]{0,127}$")


def _present(record: dict[str, Any], key: str, required: bool) -> Any:
    """The value at ``key``; None when absent, unless it is required."""
    value = record.get(key)
    if value is None and required:
        raise BadField(key, "missing")
    return value


def record_id(record: Any) -> str:
    if not isinstance(record, dict):
        raise BadField("(record)", "not a JSON object", record)
    return identifier(record.get("id"), "id")


def identifier(value: object, field: str) -> str:
    if value is None:
        raise BadField(field, "missing")
    if not isinstance(value, str) or not _UUID_LIKE.match(value):
        raise BadField(field, "not an identifier", value)
    return value


def reference(record: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    """The ``id`` of a reference object such as ``{"activity": {"id": "…"}}``."""
    ref = _present(record, key, required)
    if ref is None:
        return None
    if not isinstance(ref, dict):
        raise BadField(key, "not a reference object", ref)
    return identifier(ref.get("id"), f"{key}.id")


def text(record: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = _present(record, key, required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadField(key, "not text", value)
    return value


def integer(record: dict[str, Any], key: str, *, minimum: int | None = 0) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadField(key, "not a whole number", value)
    if minimum is not None and value < minimum:
        raise BadField(key, f"below {minimum}", value)
    return value


def boolean(record: dict[str, Any], key: str, *, required: bool = False) -> bool | None:
    value = _present(record, key, required)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise BadField(key, "not true or false", value)
    return value


def date(record: dict[str, Any], key: str, *, required: bool = False) -> dt.date | None:
    value = _present(record, key, required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadField(key, "not a date", value)
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError as error:
        raise BadField(key, "not a date (YYYY-MM-DD)", value) from error


def timestamp(record: dict[str, Any], key: str, *, required: bool = False) -> dt.datetime | None:
    """An RFC 3339 date-time, converted to UTC. A time without an offset is refused: the
    offset decides the day of a lesson near midnight and the length of one across a DST change."""
    value = _present(record, key, required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadField(key, "not a date-time", value)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise BadField(key, "not an RFC 3339 date-time", value) from error
    if parsed.tzinfo is None:
        raise BadField(key, "date-time without a UTC offset", value)
    return parsed.astimezone(dt.UTC)


def local_date(record: dict[str, Any], key: str) -> dt.date | None:
    """The calendar date as written (before conversion to UTC): the school day of a lesson."""
    value = record.get(key)
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def local_minute(record: dict[str, Any], key: str) -> int | None:
    """Minutes after midnight of the clock time as written (before conversion to UTC): when in
    the school's day a lesson starts."""
    value = record.get(key)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.hour * 60 + parsed.minute
    return None
