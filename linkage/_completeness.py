"""Whether an ingest lost something as a whole: loud warnings (alerts), decided once.

Record by record, nothing is lost: every record read is accepted or quarantined. But a source
can be readable record by record and still useless for research: when every teacher link of an
extract is set aside (a vendor writing them in another shape, say), each record is accounted
for, the ingest succeeds, and exposure, student_teachers and teacher_terms come out empty. These
checks look at the whole:

- a **resource** whose every record read was quarantined;
- a **relation** that came out empty though the tables it links are not (activities without a
  single teacher or group, groups without a single pupil, lessons without a single registration);
  the alert names the commonest reason its entries were set aside, from the quarantine.

The command line prints alerts loudly; ``medler ingest --strict`` refuses to switch in a snapshot
that has any.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from linkage.sources._adapter import ResourceCount
from linkage.sources._quarantine import QUARANTINED, Quarantine


@dataclass(frozen=True)
class Relation:
    table: str  # the canonical table of links
    parent: str  # the canonical table whose rows it links
    what: str  # what an empty relation means, in words
    consequence: str  # what the research tables lose
    sources: tuple[str, ...]  # quarantine resources where its entries are set aside


RELATIONS = (
    Relation(
        "activity_teachers",
        "activities",
        "no activity has a teacher",
        "exposure, student_teachers and teacher_terms will be empty",
        ("activities.teachers", "enrollments"),
    ),
    Relation(
        "activity_groups",
        "activities",
        "no activity has a group",
        "no lesson has a pupil: every research table will be empty",
        ("activities.groups", "activities"),
    ),
    Relation(
        "group_memberships",
        "groups",
        "no group has a pupil",
        "no lesson has a pupil: every research table will be empty",
        ("groups.groupMemberships", "enrollments"),
    ),
    Relation(
        "attendance",
        "lessons",
        "no lesson has a registration",
        "absence indicators will be empty",
        ("attendances",),
    ),
)

_INDEX = re.compile(r"\[\d+\]")


def find_alerts(
    counts: Mapping[str, ResourceCount], rows: Callable[[str], int], quarantine: Quarantine
) -> list[str]:
    """The alerts of an ingest: ``counts`` per resource, ``rows(table)`` written per canonical
    table, and the quarantine."""
    alerts = []
    for name, c in counts.items():
        if c.read and not c.accepted and c.quarantined:
            alerts.append(
                f"every one of the {c.quarantined:,} records of {name} was quarantined"
                f"{_commonest(quarantine, (name,))}"
            )
    for r in RELATIONS:
        if rows(r.parent) and not rows(r.table):
            alerts.append(
                f"{r.what} ({r.table} is empty, {r.parent} has {rows(r.parent):,} rows): "
                f"{r.consequence}{_commonest(quarantine, r.sources)}"
            )
    return alerts


def _commonest(quarantine: Quarantine, resources: tuple[str, ...]) -> str:
    """``; N entries of R were set aside, most as 'field: reason'`` (or "" when none)."""
    found: Counter[tuple[str, str]] = Counter()
    where: Counter[str] = Counter()
    for resource, _file, _position, field, reason, _shape, outcome in quarantine.rows:
        if resource in resources and (outcome == QUARANTINED or "." in resource):
            found[(_INDEX.sub("[]", field), reason)] += 1
            where[resource] += 1
    if not found:
        return ""
    (field, reason), _ = found.most_common(1)[0]
    resource, _ = where.most_common(1)[0]
    return (
        f"; {sum(where.values()):,} entries of {resource} were set aside, most as "
        f"'{field}: {reason}' (see the quarantine table)"
    )
