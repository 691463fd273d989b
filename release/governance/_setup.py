"""A statistics office for a synthetic setup (the demo, dummy mode): the people a working
control plane has, registered through the same rules as anyone (the first admin on an empty
control plane, a second statistician confirmed by the first), reused when they exist."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from release.governance._access import Conflict, Governance, NotFound, Principal


@dataclass(frozen=True)
class Office:
    admin: Principal
    registrar: Principal  # a statistician who registers projects and proposes caps
    approver: Principal  # a second statistician who approves and confirms
    dpo: Principal


def set_up_office(gov: Governance, prefix: str, organisation: str) -> Office:
    """``{prefix}-admin``, ``-registrar``, ``-approver`` and ``-dpo``, registered (or found)."""
    admin = f"{prefix}-admin"
    with contextlib.suppress(Conflict):  # else people are registered: the admin is one
        gov.bootstrap(admin, name="Administrator", organisation=organisation)
    office_admin = gov.person(admin)
    wanted = [("registrar", "statistician"), ("approver", "statistician"), ("dpo", "dpo")]
    found: dict[str, Principal] = {}
    for name, role in wanted:
        person = f"{prefix}-{name}"
        try:
            found[name] = gov.person(person)
            continue
        except NotFound:
            pass
        proposal = gov.add_person(
            office_admin, person, role=role, name=name.title(), organisation=organisation
        )
        if proposal is not None:  # a second person of the role confirms
            holder = next(p for p in found.values() if p.role == role)
            gov.decide(holder, proposal, confirm=True)
        found[name] = gov.person(person)
    return Office(office_admin, found["registrar"], found["approver"], found["dpo"])


def raise_cap(gov: Governance, office: Office, scope: str, rho: float) -> None:
    """Set a cap as the registrar, confirmed by the approver when it is a raise."""
    proposal = gov.set_budget(office.registrar, scope, rho)
    if proposal is not None:
        gov.decide(office.approver, proposal, confirm=True)
