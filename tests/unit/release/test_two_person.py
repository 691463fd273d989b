"""Identities and the two-person rules, cell by cell: who may propose each act, who may confirm
it (never the proposer), what a principal nobody registered may do (nothing), and the limits
that hold whoever acts (a researcher's cap within their project's; no project enumeration)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from release.governance import (
    DATASET,
    TWO_PERSON,
    BudgetScope,
    Governance,
    NotAllowed,
    NotFound,
    Principal,
    connect_control_plane,
    default_url,
    set_up_office,
)
from release.governance._access import Action, Conflict

ROLES = ("researcher", "statistician", "dpo", "admin")


@dataclass
class People:
    gov: Governance
    by_role: dict[str, list[Principal]]  # two registered people of every role


@pytest.fixture
def people(tmp_path: Path) -> Iterator[People]:
    engine = connect_control_plane(default_url(tmp_path))
    gov = Governance(engine)
    office = set_up_office(gov, "o", "Office")
    second_admin = gov.add_person(
        office.admin, "o-admin-2", role="admin", name="A2", organisation="Office"
    )
    assert second_admin is not None  # an admin exists: a second one is a proposal
    with pytest.raises(NotAllowed, match="a second person confirms it"):
        gov.decide(office.admin, second_admin, confirm=True)
    gov.decide(office.dpo, second_admin, confirm=True)  # the only admin: the DPO confirms
    proposal = gov.add_person(office.admin, "o-dpo-2", role="dpo", name="D2", organisation="O")
    assert proposal is not None
    gov.decide(office.dpo, proposal, confirm=True)
    gov.add_person(office.registrar, "r1", role="researcher", name="R1", organisation="Uni")
    gov.add_person(office.registrar, "r2", role="researcher", name="R2", organisation="Uni")
    by_role = {
        "researcher": [gov.person("r1"), gov.person("r2")],
        "statistician": [office.registrar, office.approver],
        "dpo": [office.dpo, gov.person("o-dpo-2")],
        "admin": [office.admin, gov.person("o-admin-2")],
    }
    yield People(gov, by_role)
    engine.dispose()


def test_every_act_under_the_rule_has_a_rule() -> None:
    assert set(TWO_PERSON) == {
        "raise cap",
        "add person:statistician",
        "add person:dpo",
        "add person:admin",
        "rotate key",
        "delete data",
        "shred key",
    }
    for rule in TWO_PERSON.values():
        assert "researcher" not in rule.proposers | rule.confirmers


@pytest.mark.parametrize("proposer", ROLES)
def test_who_may_propose_raising_a_cap(people: People, proposer: str) -> None:
    actor = people.by_role[proposer][0]
    if proposer != "statistician":
        with pytest.raises(NotAllowed):
            people.gov.set_budget(actor, DATASET, 3.0)
        return
    assert people.gov.set_budget(actor, DATASET, 3.0) is not None  # a proposal, not done
    assert people.gov.ledger.cap(DATASET) is None


@pytest.mark.parametrize("confirmer", ROLES)
def test_who_may_confirm_raising_a_cap(people: People, confirmer: str) -> None:
    proposer = people.by_role["statistician"][0]
    proposal = people.gov.set_budget(proposer, DATASET, 3.0)
    assert proposal is not None
    actor = people.by_role[confirmer][-1]
    if confirmer in ("statistician", "dpo"):
        people.gov.decide(actor, proposal, confirm=True)
        assert people.gov.ledger.cap(DATASET) == 3.0
    else:
        with pytest.raises(NotAllowed):
            people.gov.decide(actor, proposal, confirm=True)
        assert people.gov.ledger.cap(DATASET) is None


def test_the_proposer_never_confirms_and_a_decided_proposal_is_final(people: People) -> None:
    first, second = people.by_role["statistician"]
    proposal = people.gov.set_budget(first, DATASET, 3.0)
    assert proposal is not None
    with pytest.raises(NotAllowed, match="a second person confirms it"):
        people.gov.decide(first, proposal, confirm=True)
    people.gov.decide(second, proposal, confirm=False)
    with pytest.raises(Conflict, match="rejected already"):
        people.gov.decide(people.by_role["dpo"][0], proposal, confirm=True)
    assert people.gov.ledger.cap(DATASET) is None


def test_lowering_a_cap_needs_one_person_and_raising_it_again_two(people: People) -> None:
    first, second = people.by_role["statistician"]
    proposal = people.gov.set_budget(first, DATASET, 3.0)
    assert proposal is not None
    people.gov.decide(second, proposal, confirm=True)
    assert people.gov.set_budget(first, DATASET, 2.0) is None  # lowered at once
    assert people.gov.ledger.cap(DATASET) == 2.0
    assert people.gov.set_budget(first, DATASET, 2.5) is not None  # a raise again
    assert people.gov.ledger.cap(DATASET) == 2.0


@pytest.mark.parametrize("role", ["statistician", "dpo", "admin"])
@pytest.mark.parametrize("confirmer", ROLES)
def test_adding_an_oversight_role_needs_a_second_person_of_that_role(
    people: People, role: str, confirmer: str
) -> None:
    admin = people.by_role["admin"][0]
    proposal = people.gov.add_person(admin, f"new-{role}", role=role, name="N", organisation="O")
    assert proposal is not None
    with pytest.raises(NotFound):
        people.gov.person(f"new-{role}")
    actor = people.by_role[confirmer][-1]
    allowed = (confirmer == role or (role == "admin" and confirmer == "dpo")) and actor != admin
    if not allowed:
        with pytest.raises(NotAllowed):
            people.gov.decide(actor, proposal, confirm=True)
        with pytest.raises(NotFound):
            people.gov.person(f"new-{role}")
        return
    people.gov.decide(actor, proposal, confirm=True)
    assert people.gov.person(f"new-{role}").role == role


@pytest.mark.parametrize("proposer", ["researcher", "statistician", "dpo"])
def test_only_an_admin_proposes_an_oversight_role(people: People, proposer: str) -> None:
    with pytest.raises(NotAllowed):
        people.gov.add_person(
            people.by_role[proposer][0], "x", role="dpo", name="X", organisation="O"
        )


@pytest.mark.parametrize("confirmer", ROLES)
def test_a_key_rotation_needs_a_second_person_and_is_spent_once(
    people: People, confirmer: str
) -> None:
    proposer = people.by_role["admin"][0]
    proposal = people.gov.propose_rotation(proposer, "audit")
    with pytest.raises(NotAllowed, match="is proposed"):
        people.gov.use_rotation(proposer, proposal, "audit")
    actor = people.by_role[confirmer][-1]
    if confirmer not in ("statistician", "admin") or actor == proposer:
        with pytest.raises(NotAllowed):
            people.gov.decide(actor, proposal, confirm=True)
        return
    people.gov.decide(actor, proposal, confirm=True)
    with pytest.raises(NotFound):
        people.gov.use_rotation(proposer, proposal, "pseudonymisation")  # another key
    people.gov.use_rotation(proposer, proposal, "audit")
    with pytest.raises(NotAllowed, match="is used"):
        people.gov.use_rotation(proposer, proposal, "audit")


def _project(people: People, rho: float = 1.0) -> None:
    first, second = people.by_role["statistician"]
    today = dt.date.today()
    people.gov.create_project(
        first,
        "p",
        purpose="P",
        legal_basis="L",
        organisation="O",
        valid_from=today,
        valid_to=today,
        tables={"student_terms": ["*"]},
    )
    with pytest.raises(NotAllowed, match="someone else approves it"):
        people.gov.approve_project(first, "p", rho=rho)
    people.gov.approve_project(second, "p", rho=rho)


def test_a_researchers_cap_never_exceeds_the_projects(people: People) -> None:
    _project(people, rho=1.0)
    first = people.by_role["statistician"][0]
    with pytest.raises(Exception, match=r"cannot exceed their project's \(ρ 1 for p\)"):
        people.gov.add_member(first, "p", "r1", rho=1.5)
    people.gov.add_member(first, "p", "r1", rho=0.5)
    with pytest.raises(Exception, match=r"cannot exceed their project's"):
        people.gov.set_budget(first, BudgetScope.of_researcher("p", "r1"), 2.0)


@pytest.mark.parametrize("role", ROLES)
def test_a_principal_nobody_registered_may_do_nothing(people: People, role: str) -> None:
    """A name and a role, made up: refused for every act its role would allow."""
    ghost = Principal("anna", role)
    for action in Action:
        if ghost.may(action):
            with pytest.raises(NotAllowed, match="is not a registered"):
                people.gov.require(ghost, action)
    impostor = Principal(people.by_role["researcher"][0].id, "statistician")
    with pytest.raises(NotAllowed, match="is not a registered statistician"):
        people.gov.set_budget(impostor, DATASET, 0.1)


def test_a_project_one_is_not_in_answers_like_one_that_does_not_exist(people: People) -> None:
    _project(people)
    outsider = people.by_role["researcher"][1]
    with pytest.raises(NotFound) as exists:
        people.gov.project_access(outsider, "p", Action.SUBMIT)
    with pytest.raises(NotFound) as missing:
        people.gov.project_access(outsider, "q", Action.SUBMIT)
    assert str(exists.value).replace("'p'", "'x'") == str(missing.value).replace("'q'", "'x'")


def test_tokens_are_listed_by_id_without_secrets_and_revoked_by_id(people: People) -> None:
    admin = people.by_role["admin"][0]
    issued = people.gov.issue_token(admin, "r1")
    listed = {t.id: t for t in people.gov.tokens(admin)}
    assert listed[issued.token_id].person == "r1"
    assert issued.token.split("_", 2)[2] not in repr(listed)
    people.gov.revoke_token(admin, issued.token_id)
    assert people.gov.tokens(admin, person="r1")[-1].revoked_at is not None
    with pytest.raises(NotAllowed):
        people.gov.tokens(people.by_role["statistician"][0])
