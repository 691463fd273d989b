"""What the readers of people (``_people``) and classes (``_classes``) need of the ingest that
runs them (``_ingest.OneRosterIngest``): the organisations and courses read so far, the loop over
a file's rows, and where accepted rows, notes and set-aside rows go. A protocol, so that those
modules depend on it and not on the ingest, which imports them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from linkage.sources._quarantine import Quarantine
from linkage.sources.oneroster import _fields as f
from linkage.sources.oneroster._reader import Row
from pseudonymise import Domain, IdPolicy, Pseudonymiser

Handler = Callable[[int, Row], None]  # (1-based position, row): accepts it or raises BadField


@dataclass(frozen=True)
class Org:
    type: str
    code: str
    parent: str | None


class Reading(Protocol):
    """The reading of one OneRoster set, as its people and classes see it."""

    pseudonymiser: Pseudonymiser
    quarantine: Quarantine
    source: str
    policy: IdPolicy
    warnings: list[str]
    orgs: dict[str, Org]
    sessions: dict[str, tuple[dt.date | None, dt.date | None]]  # sourcedId → (start, end)
    courses: dict[str, tuple[list[str], list[str]]]  # sourcedId → (subject codes, subjects)

    def each_row(
        self, stem: str, handler: Handler, progress: Callable[[str, int], None] | None = None
    ) -> None:
        """``handler`` on every row of a file that is not a duplicate, deleted or superseded."""

    def unaccept(self, stem: str, position: int, sid: str, error: f.BadField) -> None:
        """A row accepted earlier, set aside after all (its sourcedId forgotten)."""

    def note(self, where: str, stem: str, position: int, error: f.BadField) -> None:
        """A field of an accepted row that was left out, named in the quarantine table."""

    def missing(self, stem: str, noun: str, sid: str | None) -> str:
        """The reason for a reference to ``sid`` that is not among the rows accepted."""

    def pids(self, domain: Domain, ids: list[str], *, scope: str) -> list[int]:
        """Pseudonyms of new objects of ``domain`` (ids already deduplicated)."""

    def write(self, table: str, rows: list[dict[str, Any]], source_file: str) -> None:
        """Rows of canonical ``table`` read from ``source_file``, with their lineage."""

    def school_of(self, org: str | None) -> str | None:
        """The school unit an organisation is or belongs to (its sourcedId), if any."""

    def school_code(self, org: str | None) -> str | None:
        """The school code of the school unit ``org`` is or belongs to, if any."""
