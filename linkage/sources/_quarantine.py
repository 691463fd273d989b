"""Records set aside at ingestion, with where they were and why: never their content.

An entry names the resource, the file, the record's position in it (1-based), the field and
the reason. ``shape`` is a redacted form of the offending value: every digit becomes ``9`` and
every letter ``A`` (``19990101-1234`` → ``99999999-9999``), so the kind of mistake shows
without the value. ``outcome`` says what happened to the record: ``quarantined`` (set aside),
``kept-local`` (kept, with a source-local pseudonym, because its person ID could not be
linked), or ``kept-unknown`` (a school unit kept whose organiser type could not be derived: it
is ``unknown``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa

from linkage._canonical import QUARANTINE_SCHEMA

QUARANTINED = "quarantined"
KEPT_LOCAL = "kept-local"
KEPT_UNKNOWN = "kept-unknown"
_DIGIT = re.compile(r"[0-9]")
_LETTER = re.compile(r"[^\W\d_]")


def shape_of(value: object) -> str:
    """A redacted form of a value: its type, or for text its length and character classes."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    text = str(value)[:40]
    return _LETTER.sub("A", _DIGIT.sub("9", text))


@dataclass
class Quarantine:
    """Collects quarantine entries and counts them per resource."""

    rows: list[tuple[str, str, int, str, str, str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        resource: str,
        source_file: str,
        position: int,
        field_name: str,
        reason: str,
        value: object = None,
        *,
        outcome: str = QUARANTINED,
    ) -> None:
        self.rows.append(
            (resource, source_file, position, field_name, reason, shape_of(value), outcome)
        )
        if outcome == QUARANTINED:
            self.counts[resource] = self.counts.get(resource, 0) + 1

    def table(self) -> pa.Table:
        names = QUARANTINE_SCHEMA.names
        columns = {name: [row[i] for row in self.rows] for i, name in enumerate(names)}
        return pa.table(columns, schema=QUARANTINE_SCHEMA)
