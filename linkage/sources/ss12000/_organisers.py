"""The organiser (huvudman) of each school unit, and its kind, from SS 12000 organisations.

SS 12000 v2.1 has no field for the kind of organiser. Each organisation may name its
``parentOrganisation``; the chain from a school unit upwards reaches the organisation of type
``Huvudman``, whose ``organisationNumber`` says the kind (``pseudonymise.organisation_numbers``:
municipal, independent, regional or state). The first ``Huvudman`` met going up is the
organiser (the school unit itself, if it is one). Where the chain breaks (no parent, a parent
that is not in the extract or was set aside, a cycle) or the number is missing or malformed,
the kind is ``unknown`` and the reason is kept: the school unit is still accepted, and the
ingest counts and reports it. A cycle ends the walk when an organisation recurs, so it never
hangs. Only the kind is kept; the number itself is not stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linkage.sources.ss12000 import _fields as f
from pseudonymise import OrganiserType, classify_organisation_number

ORGANISER = "Huvudman"


@dataclass(frozen=True)
class OrgNode:
    """What the walk needs of one accepted organisation."""

    organisation_type: str
    parent: str | None  # the parentOrganisation's id, if any
    organisation_number: object  # as the source wrote it; read only by pseudonymise
    parent_problem: str | None = None  # why parentOrganisation could not be read


def org_node(record: dict[str, Any], organisation_type: str) -> OrgNode:
    """An accepted organisation record's node. A malformed ``parentOrganisation`` does not set
    the organisation aside (nothing else needs it): the walk through it reports the reason."""
    try:
        parent = f.reference(record, "parentOrganisation", required=False)
        problem = None
    except f.BadField as error:
        parent, problem = None, f"{error.field}: {error.reason}"
    return OrgNode(organisation_type, parent, record.get("organisationNumber"), problem)


@dataclass(frozen=True)
class OrganiserFinding:
    """A school unit's organiser kind; when unknown, the field and the reason."""

    organiser_type: OrganiserType
    field: str | None = None
    reason: str | None = None


def find_organiser_type(start: str, nodes: dict[str, OrgNode]) -> OrganiserFinding:
    """The kind of the organiser of organisation ``start`` (an accepted id of ``nodes``)."""
    seen: set[str] = set()
    current: str | None = start
    while current is not None:
        if current in seen:
            return OrganiserFinding(
                OrganiserType.UNKNOWN,
                "parentOrganisation",
                "the parentOrganisation chain is a cycle, with no Huvudman on it",
            )
        seen.add(current)
        node = nodes.get(current)
        if node is None:
            return OrganiserFinding(
                OrganiserType.UNKNOWN,
                "parentOrganisation",
                "the parentOrganisation chain names an organisation the extract does not hold "
                "(or that was set aside)",
            )
        if node.organisation_type == ORGANISER:
            reading = classify_organisation_number(node.organisation_number)
            if reading.reason is not None:
                return OrganiserFinding(
                    OrganiserType.UNKNOWN,
                    "organisationNumber",
                    f"the organiser's (Huvudman's) organisationNumber: {reading.reason}",
                )
            return OrganiserFinding(reading.organiser_type)
        if node.parent_problem is not None:
            return OrganiserFinding(
                OrganiserType.UNKNOWN, "parentOrganisation", node.parent_problem
            )
        current = node.parent
    return OrganiserFinding(
        OrganiserType.UNKNOWN,
        "parentOrganisation",
        "no organisation of type Huvudman above it in the parentOrganisation chain",
    )
