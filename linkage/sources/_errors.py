"""The one exception every source adapter raises for a field it cannot use.

A reader raises ``BadField`` where a record (a JSON object, a CSV row, a register row) holds a
field that is missing or malformed; the adapter catches it and sets the record aside in the
quarantine (``_quarantine``) with the field, the reason and the value's redacted shape. It never
leaves the adapter: the office sees it only as a quarantine entry.
"""

from __future__ import annotations

__all__ = ["BadField"]


class BadField(Exception):
    """A field that cannot be used: ``field`` names it (a JSON key, a column, or a path such
    as ``enrolments[0].enroledAt``), ``reason`` says why, and ``value`` is kept only to record
    its redacted shape, never its content."""

    def __init__(self, field: str, reason: str, value: object = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.value = value
