"""Who may do what on the control plane: the role x action matrix, its enforcement through every
``Governance`` method, projects (four-eyes approval, validity, closing), project access and the
columns a project may touch, API tokens (hash-only storage, expiry, revocation) and the audit
record of every change."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select
from sqlalchemy.orm import Session

from medler.errors import MedlerUserError
from release.governance import (
    PERMISSIONS,
    ROLES,
    Action,
    BudgetScope,
    Conflict,
    Governance,
    NotAllowed,
    NotAuthenticated,
    NotFound,
    Principal,
    ProjectApproval,
    connect_control_plane,
    verify_audit,
)
from release.governance._db import default_url
from release.governance._models import AuditRecord, Membership, Token
from release.governance._seal import keys_for

TODAY = dt.date(2025, 6, 1)
VALID_FROM = dt.date(2025, 1, 1)
VALID_TO = dt.date(2025, 12, 31)
T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
P1, ALICE_IN_P1 = BudgetScope.of_project("p1"), BudgetScope.of_researcher("p1", "alice")

# --- the role x action matrix, written out by hand ----------------------------------------------
#
# The design's matrix, independent of ``PERMISSIONS``: a change to who may do what has to be
# made deliberately here as well as in the code.

COLUMNS = ("researcher", "statistician", "dpo", "admin")
Y, N = True, False
EXPECTED: dict[Action, tuple[bool, bool, bool, bool]] = {
    #                                researcher statistician dpo admin
    Action.READ_CATALOGUE: (Y, Y, Y, N),
    Action.PREVIEW: (Y, N, N, N),
    Action.SUBMIT: (Y, N, N, N),
    Action.READ_OWN_RELEASES: (Y, N, N, N),
    Action.CREATE_PROJECT: (N, Y, N, N),
    Action.APPROVE_PROJECT: (N, Y, N, N),
    Action.CLOSE_PROJECT: (N, Y, N, N),
    Action.ADD_MEMBER: (N, Y, N, N),
    Action.SET_BUDGET: (N, Y, N, N),
    Action.READ_BUILD_STATUS: (N, Y, N, Y),
    Action.ADD_PERSON: (N, N, N, Y),
    Action.ADD_RESEARCHER: (N, Y, N, Y),
    Action.ISSUE_TOKEN: (N, N, N, Y),
    Action.ISSUE_RESEARCHER_TOKEN: (N, Y, N, Y),
    Action.REVOKE_TOKEN: (N, Y, N, Y),
    Action.READ_RELEASE_LOG: (N, N, Y, N),
    Action.REVIEW: (N, N, Y, N),
    Action.READ_BUDGETS: (N, Y, Y, N),
    Action.VERIFY_AUDIT: (N, N, Y, Y),
    Action.LIST_PROJECTS: (N, Y, Y, N),
    Action.LIST_TOKENS: (N, N, N, Y),
    Action.PROPOSE: (N, Y, Y, Y),
    Action.ROTATE_KEY: (N, Y, N, Y),
    Action.DELETE_DATA: (N, Y, N, N),
}


def _expected(role: str, action: Action) -> bool:
    return EXPECTED[action][COLUMNS.index(role)]


def test_the_roles_are_exactly_the_four_of_the_design() -> None:
    assert ROLES == COLUMNS
    assert set(PERMISSIONS) == set(COLUMNS)


def test_the_expected_matrix_covers_every_action() -> None:
    """A new action must be given a row above before the matrix test can pass."""
    assert set(EXPECTED) == set(Action)


@pytest.fixture(scope="module")
def one_of_each(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Governance]:
    """A control plane with one registered person of every role, named for the role."""
    engine = connect_control_plane(default_url(tmp_path_factory.mktemp("one-of-each")))
    gov = Governance(engine)
    gov.bootstrap("admin", name="Admin", organisation="Office")
    admin = gov.person("admin")
    for role in ("statistician", "dpo", "researcher"):  # the first of each: added at once
        assert gov.add_person(admin, role, role=role, name=role, organisation="Office") is None
    yield gov
    engine.dispose()


@pytest.mark.parametrize(
    ("role", "action"),
    list(product(COLUMNS, Action)),
    ids=[f"{role}-{action.name.lower()}" for role, action in product(COLUMNS, Action)],
)
def test_each_role_may_exactly_what_the_matrix_says(
    one_of_each: Governance, role: str, action: Action
) -> None:
    actor = Principal(role, role)
    assert one_of_each.person(role) == actor  # a registered person of that role
    assert actor.may(action) is _expected(role, action)
    assert (action in PERMISSIONS[role]) is _expected(role, action)
    if _expected(role, action):
        one_of_each.require(actor, action)
    else:
        with pytest.raises(NotAllowed, match=f"a {role} may not {re.escape(action.value)}"):
            one_of_each.require(actor, action)


def test_a_role_outside_the_matrix_may_nothing(one_of_each: Governance) -> None:
    stranger = Principal("someone", "superuser")
    assert not any(stranger.may(action) for action in Action)
    with pytest.raises(NotAllowed, match="a superuser may not read the catalogue"):
        one_of_each.require(stranger, Action.READ_CATALOGUE)


@pytest.mark.parametrize(
    ("actor", "message"),
    [
        (Principal("office", "statistician"), "'office' is not a registered statistician"),
        (Principal("researcher", "statistician"), "'researcher' is not a registered statistician"),
        (Principal("dpo", "admin"), "'dpo' is not a registered admin"),
    ],
    ids=["nobody registered", "a researcher claiming the office", "a dpo claiming admin"],
)
def test_a_principal_is_only_what_the_register_says(
    one_of_each: Governance, actor: Principal, message: str
) -> None:
    """There is no built-in office: a principal that names nobody registered, or a registered
    person with a role they do not hold, is refused whatever the role may do."""
    assert actor.may(Action.PROPOSE)  # the claimed role may; the register says who is who
    with pytest.raises(NotAllowed, match=re.escape(message)):
        one_of_each.require(actor, Action.PROPOSE)


# --- a small world: people of every role -----------------------------------------------------


@dataclass(frozen=True)
class World:
    engine: Engine
    gov: Governance
    admin: Principal  # adam
    registrar: Principal  # sara, a statistician who registers projects
    approver: Principal  # olof, a second statistician
    dpo: Principal  # dina
    alice: Principal  # researchers
    bob: Principal
    admin_token: str  # the token the first admin was given with their registration


# The audit records the ``world`` fixture leaves: (actor, action, project).
WORLD_AUDIT = [
    ("adam", "person added", None),  # the first admin, on the empty control plane
    ("adam", "token issued", None),  # ... with their token
    ("adam", "person added", None),  # sara, the first statistician: at once
    ("adam", "proposed", None),  # olof, a second statistician: proposed ...
    ("adam", "person added", None),  # ... and added when sara confirms
    ("sara", "proposal confirmed", None),
    ("adam", "person added", None),  # dina, the first DPO: at once
    ("sara", "person added", None),
    ("sara", "person added", None),
]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    engine = connect_control_plane(default_url(tmp_path))
    gov = Governance(engine)
    issued = gov.bootstrap("adam", name="Adam Admin", organisation="Office", days=30)
    admin = gov.person("adam")
    for person, role in (("sara", "statistician"), ("olof", "statistician"), ("dina", "dpo")):
        proposal = gov.add_person(
            admin, person, role=role, name=person.title(), organisation="Office"
        )
        if proposal is not None:  # a second statistician: the first one confirms
            gov.decide(gov.person("sara"), proposal, confirm=True)
    registrar = gov.person("sara")
    for person in ("alice", "bob"):
        gov.add_person(
            registrar, person, role="researcher", name=person.title(), organisation="University"
        )
    yield World(
        engine,
        gov,
        admin,
        registrar,
        gov.person("olof"),
        gov.person("dina"),
        gov.person("alice"),
        gov.person("bob"),
        issued.token,
    )
    engine.dispose()


def _create(
    w: World, project: str = "p1", *, actor: Principal | None = None, **overrides: Any
) -> None:
    args: dict[str, Any] = {
        "purpose": "school attendance and results",
        "legal_basis": "public interest research",
        "organisation": "University",
        "valid_from": VALID_FROM,
        "valid_to": VALID_TO,
        "tables": {"student_terms": ["*"], "exposure": ["school_code", "certified_share"]},
    }
    args.update(overrides)
    w.gov.create_project(actor or w.registrar, project, **args)


def _approved(w: World, project: str = "p1", *, member: Principal | None = None) -> None:
    """Register ``project``, have the second statistician approve it and add ``member``."""
    _create(w, project)
    w.gov.approve_project(w.approver, project, rho=1.0)
    w.gov.add_member(w.registrar, project, (member or w.alice).id, rho=0.5)


def _status(w: World, project: str) -> str:
    return {p.id: p.status for p in w.gov.projects(w.registrar)}[project]


def _caps(w: World) -> dict[BudgetScope, float]:
    return {t.scope: t.cap for t in w.gov.ledger.totals()}


def _token_ids(w: World) -> list[str]:
    with Session(w.engine) as session:
        return [t.id for t in session.scalars(select(Token).order_by(Token.id))]


def _admin_token_id(w: World) -> str:
    return w.admin_token.split("_", 2)[1]


def _audit_count(w: World) -> int:
    return verify_audit(w.engine)


def test_people_are_stored_with_their_roles(world: World) -> None:
    w = world
    assert [(p.id, p.role) for p in (w.admin, w.registrar, w.approver, w.dpo, w.alice, w.bob)] == [
        ("adam", "admin"),
        ("sara", "statistician"),
        ("olof", "statistician"),
        ("dina", "dpo"),
        ("alice", "researcher"),
        ("bob", "researcher"),
    ]
    with pytest.raises(NotFound, match="no person 'nobody'"):
        w.gov.person("nobody")


# --- the matrix is enforced by the methods, not only by ``may`` ----------------------------------

Call = Callable[[World], object]


REFUSED: dict[str, Call] = {
    "researcher registers a project": lambda w: _create(w, actor=w.alice),
    "researcher approves a project": lambda w: w.gov.approve_project(w.alice, "p0", rho=1.0),
    "researcher closes a project": lambda w: w.gov.close_project(w.alice, "p0"),
    "researcher adds a member": lambda w: w.gov.add_member(w.alice, "p0", "bob", rho=0.1),
    "researcher sets a budget": lambda w: w.gov.set_budget(w.alice, "project:p0", 9.0),
    "researcher adds a researcher": lambda w: w.gov.add_person(
        w.alice, "carl", role="researcher", name="Carl", organisation="University"
    ),
    "researcher adds an admin": lambda w: w.gov.add_person(
        w.alice, "carl", role="admin", name="Carl", organisation="University"
    ),
    "researcher issues their own token": lambda w: w.gov.issue_token(w.alice, "alice"),
    "researcher issues another's token": lambda w: w.gov.issue_token(w.alice, "bob"),
    "dpo registers a project": lambda w: _create(w, actor=w.dpo),
    "dpo approves a project": lambda w: w.gov.approve_project(w.dpo, "p0", rho=1.0),
    "dpo adds a researcher": lambda w: w.gov.add_person(
        w.dpo, "carl", role="researcher", name="Carl", organisation="University"
    ),
    "dpo issues a researcher's token": lambda w: w.gov.issue_token(w.dpo, "alice"),
    "admin registers a project": lambda w: _create(w, actor=w.admin),
    "admin approves a project": lambda w: w.gov.approve_project(w.admin, "p0", rho=1.0),
    "admin closes a project": lambda w: w.gov.close_project(w.admin, "p0"),
    "admin adds a member": lambda w: w.gov.add_member(w.admin, "p0", "alice", rho=0.1),
    "admin sets a budget": lambda w: w.gov.set_budget(w.admin, "project:p0", 9.0),
    "statistician adds a dpo": lambda w: w.gov.add_person(
        w.registrar, "carl", role="dpo", name="Carl", organisation="Office"
    ),
    "statistician adds an admin": lambda w: w.gov.add_person(
        w.registrar, "carl", role="admin", name="Carl", organisation="Office"
    ),
    "statistician adds a statistician": lambda w: w.gov.add_person(
        w.registrar, "carl", role="statistician", name="Carl", organisation="Office"
    ),
    "statistician issues a dpo's token": lambda w: w.gov.issue_token(w.registrar, "dina"),
    "statistician issues an admin's token": lambda w: w.gov.issue_token(w.registrar, "adam"),
    "statistician issues a statistician's token": lambda w: w.gov.issue_token(w.registrar, "olof"),
}


@pytest.mark.parametrize(("case", "call"), REFUSED.items(), ids=REFUSED.keys())
def test_a_refused_call_raises_not_allowed_and_changes_nothing(
    world: World, case: str, call: Call
) -> None:
    """The refusal names the actor's role, and leaves no person, project, token, membership,
    budget or audit record behind."""
    _create(world, "p0")  # something for the project calls to aim at
    before = _audit_count(world)
    caps = _caps(world)
    role = case.split(maxsplit=1)[0]
    with pytest.raises(NotAllowed, match=f"^a {role} may not "):
        call(world)
    assert _audit_count(world) == before
    assert _caps(world) == caps
    assert [p.id for p in world.gov.projects(world.registrar)] == ["p0"]
    assert _status(world, "p0") == "proposed"
    with pytest.raises(NotFound):
        world.gov.person("carl")
    assert _token_ids(world) == [_admin_token_id(world)]  # the first admin's, and no other
    with Session(world.engine) as session:
        assert session.scalars(select(Membership)).all() == []


def test_a_statistician_adds_researchers_and_an_admin_adds_anyone(world: World) -> None:
    """A researcher is added at once; a DPO, statistician or admin, when someone of that
    role is registered already, once a second person confirms the admin's proposal."""
    assert (
        world.gov.add_person(
            world.registrar, "carl", role="researcher", name="Carl", organisation="University"
        )
        is None
    )
    assert world.gov.person("carl") == Principal("carl", "researcher")
    confirmer = {
        "dpo": world.dpo,
        "statistician": world.registrar,
        "admin": world.dpo,
        "researcher": None,
    }
    for person, role in (
        ("dora", "dpo"),
        ("stig", "statistician"),
        ("ada", "admin"),
        ("rita", "researcher"),
    ):
        proposal = world.gov.add_person(
            world.admin, person, role=role, name=person, organisation="Office"
        )
        second = confirmer[role]
        if second is None:
            assert proposal is None
        else:
            assert proposal is not None
            with pytest.raises(NotFound):  # not added until a second person confirms
                world.gov.person(person)
            world.gov.decide(second, proposal, confirm=True)
        assert world.gov.person(person) == Principal(person, role)


def test_a_statistician_issues_a_researchers_token_and_an_admin_issues_anyones(
    world: World,
) -> None:
    issued = world.gov.issue_token(world.registrar, "alice", now=T0)
    assert world.gov.authenticate(issued.token, now=T0) == world.alice
    for person in ("alice", "sara", "dina", "adam"):
        token = world.gov.issue_token(world.admin, person, now=T0).token
        assert world.gov.authenticate(token, now=T0) == world.gov.person(person)


def test_a_statistician_revokes_a_researchers_token_but_not_an_admins(world: World) -> None:
    researchers = world.gov.issue_token(world.registrar, "alice", now=T0)
    admins = world.gov.issue_token(world.admin, "adam", now=T0)
    world.gov.revoke_token(world.registrar, researchers.token_id)
    with pytest.raises(NotAuthenticated, match="revoked"):
        world.gov.authenticate(researchers.token, now=T0)
    before = _audit_count(world)
    with pytest.raises(NotAllowed, match="only researchers' tokens"):
        world.gov.revoke_token(world.registrar, admins.token_id)
    assert world.gov.authenticate(admins.token, now=T0) == world.admin  # still valid
    assert _audit_count(world) == before


@pytest.mark.parametrize("holder", ["dina", "olof"])
def test_a_statistician_may_not_revoke_a_dpos_or_another_statisticians_token(
    world: World, holder: str
) -> None:
    issued = world.gov.issue_token(world.admin, holder, now=T0)
    with pytest.raises(NotAllowed, match="only researchers' tokens"):
        world.gov.revoke_token(world.registrar, issued.token_id)
    assert world.gov.authenticate(issued.token, now=T0).id == holder


@pytest.mark.parametrize("actor", ["alice", "dina"])
def test_a_researcher_or_dpo_may_not_revoke_any_token(world: World, actor: str) -> None:
    issued = world.gov.issue_token(world.registrar, "alice", now=T0)
    with pytest.raises(NotAllowed, match="may not revoke a token"):
        world.gov.revoke_token(world.gov.person(actor), issued.token_id)
    assert world.gov.authenticate(issued.token, now=T0) == world.alice


def test_an_admin_revokes_any_token(world: World) -> None:
    for person in ("alice", "dina", "adam"):
        issued = world.gov.issue_token(world.admin, person, now=T0)
        world.gov.revoke_token(world.admin, issued.token_id)
        with pytest.raises(NotAuthenticated, match="revoked"):
            world.gov.authenticate(issued.token, now=T0)


@pytest.mark.parametrize("role", ["superuser", "Researcher", "", "office"])
def test_an_unknown_role_is_refused_naming_the_roles(world: World, role: str) -> None:
    message = f"role must be one of researcher, statistician, dpo, admin, not {role!r}"
    with pytest.raises(MedlerUserError, match=re.escape(message)):
        world.gov.add_person(world.admin, "carl", role=role, name="Carl", organisation="Office")
    with pytest.raises(NotFound):
        world.gov.person("carl")


BAD_IDS = {
    "uppercase": "Carl",
    "a space": "carl svensson",
    "empty": "",
    "64 characters": "c" * 64,
    "a leading dot": ".carl",
    "a leading dash": "-carl",
    "a slash": "carl/x",
    "a colon": "carl:x",  # would collide with the ledger's scope syntax
    "a non-ASCII letter": "åsa",
}


@pytest.mark.parametrize("bad", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_a_bad_person_id_is_refused(world: World, bad: str) -> None:
    before = _audit_count(world)
    message = f"a person id is .* characters of a-z.*{re.escape(repr(bad))} is not"
    with pytest.raises(MedlerUserError, match=message):
        world.gov.add_person(world.admin, bad, role="researcher", name="C", organisation="U")
    assert _audit_count(world) == before


@pytest.mark.parametrize("bad", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_a_bad_project_id_is_refused(world: World, bad: str) -> None:
    with pytest.raises(MedlerUserError, match=r"a project id is .* characters of a-z"):
        _create(world, bad)
    assert world.gov.projects(world.registrar) == []


def test_an_id_with_a_trailing_newline_is_refused(world: World) -> None:
    """An id is only the characters the rule names: "carl\\n" is not "carl"."""
    with pytest.raises(MedlerUserError, match=r"a person id is .* characters of a-z"):
        world.gov.add_person(world.admin, "carl\n", role="researcher", name="C", organisation="U")


@pytest.mark.parametrize("good", ["c", "7", "ab", "c" * 63, "carl.svensson", "c_s-2", "0carl"])
def test_ids_at_the_edges_of_the_rule_are_accepted(world: World, good: str) -> None:
    world.gov.add_person(world.admin, good, role="researcher", name="C", organisation="U")
    assert world.gov.person(good).id == good


def test_a_person_id_is_added_only_once(world: World) -> None:
    with pytest.raises(Conflict, match="already a person 'alice'"):
        world.gov.add_person(world.admin, "alice", role="admin", name="A", organisation="O")
    assert world.gov.person("alice").role == "researcher"


# --- projects ------------------------------------------------------------------------------------


def test_the_registrar_may_not_approve_their_own_project(world: World) -> None:
    _create(world)
    with pytest.raises(NotAllowed, match="sara registered project p1; someone else approves it"):
        world.gov.approve_project(world.registrar, "p1", rho=1.0)
    assert _status(world, "p1") == "proposed"
    assert P1 not in _caps(world)

    world.gov.approve_project(world.approver, "p1", rho=1.0)
    (info,) = world.gov.projects(world.registrar)
    assert (info.status, info.created_by, info.approved_by) == ("approved", "sara", "olof")


def test_a_new_project_is_proposed_with_what_was_registered(world: World) -> None:
    _create(world)
    (info,) = world.gov.projects(world.registrar)
    assert info.id == "p1"
    assert info.status == "proposed"
    assert (info.valid_from, info.valid_to) == (VALID_FROM, VALID_TO)
    assert info.purpose == "school attendance and results"
    assert info.legal_basis == "public interest research"
    assert info.organisation == "University"
    assert info.tables == {"student_terms": ["*"], "exposure": ["school_code", "certified_share"]}
    assert info.members == []
    assert (info.created_by, info.approved_by) == ("sara", None)


def test_a_project_is_approved_once_and_closed_once(world: World) -> None:
    _create(world)
    world.gov.approve_project(world.approver, "p1", rho=1.0)
    with pytest.raises(Conflict, match="p1 is approved; only a proposed one is approved"):
        world.gov.approve_project(world.approver, "p1", rho=5.0)
    assert _caps(world)[P1] == 1.0  # the second approval changed nothing
    world.gov.close_project(world.registrar, "p1")
    assert _status(world, "p1") == "closed"
    with pytest.raises(Conflict, match="p1 is already closed"):
        world.gov.close_project(world.registrar, "p1")
    with pytest.raises(Conflict, match="p1 is closed; only a proposed one is approved"):
        world.gov.approve_project(world.approver, "p1", rho=1.0)
    with pytest.raises(Conflict, match="project p1 is closed"):
        world.gov.add_member(world.registrar, "p1", "alice", rho=0.1)


def test_a_proposed_project_may_be_closed_without_approval(world: World) -> None:
    _create(world)
    world.gov.close_project(world.approver, "p1")
    assert _status(world, "p1") == "closed"


def test_calls_on_an_unknown_project_raise_not_found(world: World) -> None:
    with pytest.raises(NotFound, match="no project 'p9'"):
        world.gov.approve_project(world.approver, "p9", rho=1.0)
    with pytest.raises(NotFound, match="no project 'p9'"):
        world.gov.close_project(world.registrar, "p9")
    assert _caps(world) == {}


def test_adding_a_member_to_an_unknown_project_raises_not_found(world: World) -> None:
    with pytest.raises(NotFound, match="no project 'p9'"):
        world.gov.add_member(world.registrar, "p9", "alice", rho=0.1)
    assert _caps(world) == {}


INVALID_PROJECTS: dict[str, tuple[dict[str, Any], str]] = {
    "ends before it starts": (
        {"valid_from": VALID_TO, "valid_to": VALID_FROM},
        "ends \\(2025-01-01\\) before it starts \\(2025-12-31\\)",
    ),
    "no purpose": ({"purpose": "   "}, "needs a statistical purpose and a legal basis"),
    "no legal basis": ({"legal_basis": ""}, "needs a statistical purpose and a legal basis"),
    "no tables": ({"tables": {}}, "needs at least one approved research table"),
}


@pytest.mark.parametrize(
    ("overrides", "message"), INVALID_PROJECTS.values(), ids=INVALID_PROJECTS.keys()
)
def test_an_invalid_project_is_refused(
    world: World, overrides: dict[str, Any], message: str
) -> None:
    before = _audit_count(world)
    with pytest.raises(MedlerUserError, match=message):
        _create(world, **overrides)
    assert world.gov.projects(world.registrar) == []
    assert _audit_count(world) == before


def test_a_one_day_project_is_valid(world: World) -> None:
    _create(world, valid_from=TODAY, valid_to=TODAY)
    world.gov.approve_project(world.approver, "p1", rho=1.0)
    world.gov.add_member(world.registrar, "p1", "alice", rho=0.5)
    assert world.gov.project_access(world.alice, "p1", Action.SUBMIT, today=TODAY).project == "p1"


def test_a_project_id_is_registered_only_once(world: World) -> None:
    _create(world)
    with pytest.raises(Conflict, match="already a project 'p1'"):
        _create(world, purpose="something else")
    (info,) = world.gov.projects(world.registrar)
    assert info.purpose == "school attendance and results"


def test_approval_sets_the_project_cap_and_membership_the_researcher_cap(world: World) -> None:
    _create(world)
    assert _caps(world) == {}
    world.gov.approve_project(world.approver, "p1", rho=0.8)
    assert _caps(world) == {P1: 0.8}
    assert P1.key == "project:p1"
    world.gov.add_member(world.registrar, "p1", "alice", rho=0.3)
    assert ALICE_IN_P1.key == "researcher:p1:alice"
    totals = {t.scope.key: t for t in world.gov.ledger.totals()}
    assert set(totals) == {"project:p1", "researcher:p1:alice"}
    assert (totals["project:p1"].cap, totals["project:p1"].spent) == (0.8, 0.0)
    assert (totals["researcher:p1:alice"].cap, totals["researcher:p1:alice"].spent) == (0.3, 0.0)


def test_adding_a_member_again_changes_their_cap_not_the_membership(world: World) -> None:
    _approved(world)
    world.gov.add_member(world.registrar, "p1", "alice", rho=0.2)
    assert _caps(world)[ALICE_IN_P1] == 0.2
    assert world.gov.projects(world.registrar)[0].members == ["alice"]


def test_only_a_researcher_may_be_a_member(world: World) -> None:
    _create(world)
    with pytest.raises(MedlerUserError, match="dina is not a researcher"):
        world.gov.add_member(world.registrar, "p1", "dina", rho=0.1)
    with pytest.raises(NotFound, match="no person 'carl'"):
        world.gov.add_member(world.registrar, "p1", "carl", rho=0.1)
    assert world.gov.projects(world.registrar)[0].members == []


def test_an_approval_with_an_invalid_budget_approves_nothing(world: World) -> None:
    """A refused budget must leave the project proposed (and unaudited), so it can be approved
    properly; it must not leave an approved project without a cap or an audit record."""
    _create(world)
    before = _audit_count(world)
    with pytest.raises(MedlerUserError, match="budget cap must be a finite"):
        world.gov.approve_project(world.approver, "p1", rho=-1.0)
    assert _status(world, "p1") == "proposed"
    assert _audit_count(world) == before
    world.gov.approve_project(world.approver, "p1", rho=1.0)
    assert _caps(world)[P1] == 1.0


def test_a_membership_with_an_invalid_budget_adds_nobody(world: World) -> None:
    _create(world)
    world.gov.approve_project(world.approver, "p1", rho=1.0)
    before = _audit_count(world)
    with pytest.raises(MedlerUserError, match="budget cap must be a finite"):
        world.gov.add_member(world.registrar, "p1", "alice", rho=float("nan"))
    assert world.gov.projects(world.registrar)[0].members == []
    assert _audit_count(world) == before


def test_the_office_and_dpo_list_every_project_and_a_researcher_their_own(world: World) -> None:
    _approved(world, "p1", member=world.alice)
    _approved(world, "p2", member=world.bob)
    _create(world, "p3")
    everything = ["p1", "p2", "p3"]
    assert [p.id for p in world.gov.projects(world.registrar)] == everything
    assert [p.id for p in world.gov.projects(world.approver)] == everything
    assert [p.id for p in world.gov.projects(world.dpo)] == everything
    assert [p.id for p in world.gov.projects(world.alice)] == ["p1"]
    assert [p.id for p in world.gov.projects(world.bob)] == ["p2"]
    assert world.gov.projects(world.admin) == []  # an admin touches nothing about data
    world.gov.approve_project(world.approver, "p3", rho=1.0)  # a member needs its budget
    world.gov.add_member(world.registrar, "p3", "alice", rho=0.1)
    assert [p.id for p in world.gov.projects(world.alice)] == ["p1", "p3"]
    assert world.gov.projects(world.registrar)[2].members == ["alice"]


def test_set_budget_is_the_office_s_and_audited(world: World) -> None:
    """Setting a cap where there was none is a raise: proposed by one statistician, done when
    a second confirms (a proposal, the cap and the confirmation are each audited). Lowering
    one is done at once, with one record."""
    before = _audit_count(world)
    for scope, rho in (("dataset", 2.0), ("project:p1", 1.0), ("researcher:p1:alice", 0.5)):
        proposal = world.gov.set_budget(world.registrar, scope, rho)
        assert proposal is not None
        assert BudgetScope.parse(scope) not in _caps(world)  # nothing set until confirmed
        world.gov.decide(world.approver, proposal, confirm=True)
    assert _caps(world) == {BudgetScope.dataset(): 2.0, P1: 1.0, ALICE_IN_P1: 0.5}
    assert _audit_count(world) == before + 3 * 3
    assert world.gov.set_budget(world.registrar, ALICE_IN_P1, 0.25) is None
    assert _caps(world)[ALICE_IN_P1] == 0.25
    assert _audit_count(world) == before + 3 * 3 + 1


@pytest.mark.parametrize(
    "scope", ["", "datasets", "project", "project:", "researcher:p1", "researcher:p1:", "p1"]
)
def test_set_budget_refuses_a_scope_the_ledger_does_not_know(world: World, scope: str) -> None:
    before = _audit_count(world)
    with pytest.raises(
        MedlerUserError, match=f"a budget is 'dataset'.*not {re.escape(repr(scope))}"
    ):
        world.gov.set_budget(world.registrar, scope, 1.0)
    assert _caps(world) == {}
    assert _audit_count(world) == before


# --- project access ------------------------------------------------------------------------------


def test_a_member_of_an_approved_valid_project_gets_its_approval(world: World) -> None:
    _approved(world)
    approval = world.gov.project_access(world.alice, "p1", Action.SUBMIT, today=TODAY)
    assert approval == ProjectApproval(
        "p1", {"student_terms": ("*",), "exposure": ("school_code", "certified_share")}
    )
    for action in (Action.READ_CATALOGUE, Action.PREVIEW, Action.READ_OWN_RELEASES):
        assert world.gov.project_access(world.alice, "p1", action, today=TODAY) == approval


NOT_A_MEMBER = "there is no project 'p1' that you are a member of"


def test_project_access_is_refused_to_a_non_member(world: World) -> None:
    """In the very words used for a project that does not exist: a non-member learns nothing
    about which projects there are."""
    _approved(world, "p1", member=world.alice)
    with pytest.raises(NotFound, match=f"^{re.escape(NOT_A_MEMBER)}$"):
        world.gov.project_access(world.bob, "p1", Action.SUBMIT, today=TODAY)


def test_project_access_is_refused_before_approval(world: World) -> None:
    """Nobody can be added before approval (there is no budget to share yet); and a member's
    row made some other way still gets no access to a proposed project."""
    _create(world)
    with pytest.raises(MedlerUserError, match="project p1 has no budget yet"):
        world.gov.add_member(world.registrar, "p1", "alice", rho=0.5)
    with Session(world.engine) as session, session.begin():
        session.add(Membership(project="p1", researcher="alice", role="researcher"))
    with pytest.raises(NotAllowed, match="project p1 is proposed, not approved"):
        world.gov.project_access(world.alice, "p1", Action.SUBMIT, today=TODAY)


def test_closing_a_project_ends_access_at_once(world: World) -> None:
    _approved(world)
    world.gov.project_access(world.alice, "p1", Action.SUBMIT, today=TODAY)
    world.gov.close_project(world.registrar, "p1")
    with pytest.raises(NotAllowed, match="project p1 is closed, not approved"):
        world.gov.project_access(world.alice, "p1", Action.SUBMIT, today=TODAY)
    with pytest.raises(NotAllowed, match="closed"):
        world.gov.project_access(world.alice, "p1", Action.READ_OWN_RELEASES, today=TODAY)


def test_project_access_holds_only_within_the_validity_dates(world: World) -> None:
    _approved(world)
    one_day = dt.timedelta(days=1)

    def access(today: dt.date) -> ProjectApproval:
        return world.gov.project_access(world.alice, "p1", Action.SUBMIT, today=today)

    assert access(VALID_FROM).project == "p1"  # both ends are inclusive
    assert access(VALID_TO).project == "p1"
    with pytest.raises(NotAllowed, match="project p1 is valid from 2025-01-01"):
        access(VALID_FROM - one_day)
    with pytest.raises(NotAllowed, match="project p1 expired on 2025-12-31"):
        access(VALID_TO + one_day)


def test_project_access_to_an_unknown_project_raises_not_found(world: World) -> None:
    with pytest.raises(NotFound, match=r"^there is no project 'p9' that you are a member of$"):
        world.gov.project_access(world.alice, "p9", Action.SUBMIT, today=TODAY)
    with pytest.raises(NotFound, match=f"^{re.escape(NOT_A_MEMBER)}$"):  # the same words
        world.gov.project_access(world.alice, "p1", Action.SUBMIT, today=TODAY)


def test_project_access_checks_the_role_first(world: World) -> None:
    """A member whose role lacks the action is refused; so is the office, which is no member."""
    _approved(world)
    with pytest.raises(NotAllowed, match="a researcher may not approve a project"):
        world.gov.project_access(world.alice, "p1", Action.APPROVE_PROJECT, today=TODAY)
    with pytest.raises(NotAllowed, match="a statistician may not submit a query"):
        world.gov.project_access(world.registrar, "p1", Action.SUBMIT, today=TODAY)
    with pytest.raises(NotAllowed, match="a dpo may not preview a query"):
        world.gov.project_access(world.dpo, "p1", Action.PREVIEW, today=TODAY)
    with pytest.raises(NotFound, match=re.escape(NOT_A_MEMBER)):
        world.gov.project_access(world.registrar, "p1", Action.READ_CATALOGUE, today=TODAY)


APPROVAL = ProjectApproval(
    "p1", {"student_terms": ("*",), "exposure": ("school_code", "certified_share")}
)


def test_a_table_outside_the_project_is_refused_by_name() -> None:
    assert APPROVAL.check("grades", {"grade"}) == "project p1 is not approved for table grades"
    assert APPROVAL.check("grades", set()) == "project p1 is not approved for table grades"


def test_a_star_allows_every_column() -> None:
    assert APPROVAL.check("student_terms", {"grade", "school_code", "anything_at_all"}) is None
    assert APPROVAL.check("student_terms", set()) is None


def test_listed_columns_allow_a_subset_and_name_the_columns_outside() -> None:
    assert APPROVAL.check("exposure", {"school_code"}) is None
    assert APPROVAL.check("exposure", {"school_code", "certified_share"}) is None
    assert APPROVAL.check("exposure", set()) is None
    assert APPROVAL.check("exposure", {"school_code", "pupil_age"}) == (
        "project p1 is not approved for exposure.pupil_age"
    )
    assert APPROVAL.check("exposure", {"zeta", "alpha", "school_code"}) == (
        "project p1 is not approved for exposure.alpha, zeta"
    )


def test_the_approval_from_project_access_checks_the_registered_columns(world: World) -> None:
    _approved(world)
    approval = world.gov.project_access(world.alice, "p1", Action.SUBMIT, today=TODAY)
    assert approval.check("exposure", {"certified_share"}) is None
    assert approval.check("exposure", {"grade"}) == "project p1 is not approved for exposure.grade"
    assert approval.check("grades", {"grade"}) == "project p1 is not approved for table grades"


# --- tokens --------------------------------------------------------------------------------------


def _secret(token: str) -> str:
    return token.split("_", 2)[2]


def test_a_token_authenticates_its_holder_with_their_role(world: World) -> None:
    issued = world.gov.issue_token(world.registrar, "alice", now=T0)
    prefix, token_id, secret = issued.token.split("_", 2)
    assert (prefix, token_id) == ("medler", issued.token_id)
    assert re.fullmatch(r"[0-9a-f]{16}", token_id)
    assert len(secret) >= 32
    assert issued.person == "alice"
    assert world.gov.authenticate(issued.token, now=T0) == Principal("alice", "researcher")
    dpo_token = world.gov.issue_token(world.admin, "dina", now=T0).token
    assert world.gov.authenticate(dpo_token, now=T0) == Principal("dina", "dpo")


def test_a_wrong_secret_with_the_right_id_is_refused(world: World) -> None:
    issued = world.gov.issue_token(world.registrar, "alice", now=T0)
    other = world.gov.issue_token(world.registrar, "bob", now=T0)
    for secret in (
        "x" * len(_secret(issued.token)),
        _secret(other.token),
        "",
        _secret(issued.token)[:-1],
    ):
        with pytest.raises(NotAuthenticated, match="the token is not valid"):
            world.gov.authenticate(f"medler_{issued.token_id}_{secret}", now=T0)


@pytest.mark.parametrize(
    "token", ["", "medler", "medler_abc", "bearer_0123456789abcdef_secret", "MEDLER_a_b", "x y"]
)
def test_a_malformed_token_is_refused(world: World, token: str) -> None:
    with pytest.raises(NotAuthenticated, match="not a medler token"):
        world.gov.authenticate(token, now=T0)


def test_a_token_with_an_unknown_id_is_refused(world: World) -> None:
    issued = world.gov.issue_token(world.registrar, "alice", now=T0)
    unknown = "0" * 16 if issued.token_id != "0" * 16 else "1" * 16
    with pytest.raises(NotAuthenticated, match="the token is not valid"):
        world.gov.authenticate(f"medler_{unknown}_{_secret(issued.token)}", now=T0)


def test_a_token_expires_after_its_days(world: World) -> None:
    issued = world.gov.issue_token(world.registrar, "alice", days=1, now=T0)
    assert issued.expires_at == T0 + dt.timedelta(days=1)
    assert world.gov.authenticate(issued.token, now=T0 + dt.timedelta(hours=23)) == world.alice
    with pytest.raises(NotAuthenticated, match="the token has expired"):
        world.gov.authenticate(issued.token, now=T0 + dt.timedelta(days=1, seconds=1))
    with pytest.raises(NotAuthenticated, match="expired"):
        world.gov.authenticate(issued.token, now=issued.expires_at)  # the instant it ends


def test_a_token_expires_at_the_same_instant_whatever_the_clock_s_zone(world: World) -> None:
    """``now`` given in another time zone is the same instant: the expiry must not move."""
    stockholm_summer = dt.timezone(dt.timedelta(hours=2))
    issued = world.gov.issue_token(
        world.registrar, "alice", days=1, now=T0.astimezone(stockholm_summer)
    )
    assert issued.expires_at == T0 + dt.timedelta(days=1)
    with pytest.raises(NotAuthenticated, match="expired"):
        world.gov.authenticate(issued.token, now=T0 + dt.timedelta(days=1, hours=1))


def test_a_token_lasts_ninety_days_by_default(world: World) -> None:
    issued = world.gov.issue_token(world.registrar, "alice", now=T0)
    assert issued.expires_at == T0 + dt.timedelta(days=90)


def test_revoking_a_token_takes_effect_at_once(world: World) -> None:
    issued = world.gov.issue_token(world.registrar, "alice", now=T0)
    kept = world.gov.issue_token(world.registrar, "alice", now=T0)
    assert world.gov.authenticate(issued.token, now=T0) == world.alice
    world.gov.revoke_token(world.registrar, issued.token_id)
    with pytest.raises(NotAuthenticated, match="the token was revoked"):
        world.gov.authenticate(issued.token, now=T0)
    assert world.gov.authenticate(kept.token, now=T0) == world.alice  # only that token


def test_revoking_an_unknown_token_raises_not_found(world: World) -> None:
    with pytest.raises(NotFound, match="no token '0123456789abcdef'"):
        world.gov.revoke_token(world.admin, "0123456789abcdef")


@pytest.mark.parametrize("days", [0, -1, 367, 10_000])
def test_a_token_s_days_must_be_1_to_366(world: World, days: int) -> None:
    with pytest.raises(MedlerUserError, match=f"valid 1 to 366 days, not {days}"):
        world.gov.issue_token(world.registrar, "alice", days=days, now=T0)
    assert _token_ids(world) == [_admin_token_id(world)]


@pytest.mark.parametrize("days", [1, 366])
def test_a_token_s_days_at_the_edges_are_accepted(world: World, days: int) -> None:
    issued = world.gov.issue_token(world.registrar, "alice", days=days, now=T0)
    assert issued.expires_at == T0 + dt.timedelta(days=days)


def test_issuing_a_token_for_an_unknown_person_raises_not_found(world: World) -> None:
    with pytest.raises(NotFound, match="no person 'carl'"):
        world.gov.issue_token(world.admin, "carl", now=T0)


def test_two_tokens_differ(world: World) -> None:
    first = world.gov.issue_token(world.registrar, "alice", now=T0)
    second = world.gov.issue_token(world.registrar, "alice", now=T0)
    assert first.token != second.token
    assert first.token_id != second.token_id
    assert _secret(first.token) != _secret(second.token)
    assert world.gov.authenticate(first.token, now=T0) == world.alice
    assert world.gov.authenticate(second.token, now=T0) == world.alice


def test_only_a_keyed_hash_of_the_secret_is_stored(world: World) -> None:
    """An HMAC of the id and secret under the audit key, not a plain SHA-256: whoever holds
    the database alone cannot make a row that a secret of theirs matches."""
    issued = world.gov.issue_token(world.registrar, "alice", now=T0)
    secret = _secret(issued.token)
    keys = keys_for(world.engine)
    with Session(world.engine) as session:
        row = session.get(Token, issued.token_id)
        assert row is not None
        assert row.person == "alice"
        assert re.fullmatch(r"[0-9a-f]{64}", row.secret_hash)
        assert row.key_id == keys.current
        assert row.secret_hash == keys.mac(keys.current, f"token:{issued.token_id}:{secret}")
        assert row.secret_hash != hashlib.sha256(secret.encode()).hexdigest()
        assert row.revoked_at is None


def _every_row(engine: Engine) -> dict[str, str]:
    """Every table's rows, as text, by table name."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: "\n".join(repr(tuple(row)) for row in connection.execute(table.select()))
            for name, table in metadata.tables.items()
        }


def test_neither_the_token_nor_its_secret_is_anywhere_in_the_database(
    world: World, tmp_path: Path
) -> None:
    issued = world.gov.issue_token(world.registrar, "alice", now=T0)
    world.gov.revoke_token(world.registrar, issued.token_id)
    another = world.gov.issue_token(world.admin, "dina", now=T0)
    hidden = [
        issued.token,
        _secret(issued.token),
        another.token,
        _secret(another.token),
        world.admin_token,
        _secret(world.admin_token),
    ]

    rows = _every_row(world.engine)
    assert issued.token_id in rows["tokens"]  # the dump does reach the tokens ...
    assert issued.token_id in rows["audit"]  # ... and the audit bodies
    for secret in hidden:
        assert all(secret not in text for text in rows.values())

    world.engine.dispose()  # close every connection, so the write-ahead log is checkpointed
    files = sorted(tmp_path.glob("control.db*"))
    assert files
    stored = b"".join(path.read_bytes() for path in files)
    keys = keys_for(world.engine)
    stored_hash = keys.mac(keys.current, f"token:{issued.token_id}:{_secret(issued.token)}")
    assert stored_hash.encode() in stored  # the files do hold what is kept of the token
    for secret in hidden:
        assert secret.encode() not in stored


# --- the audit log ---------------------------------------------------------------------------


def _audit(engine: Engine) -> list[AuditRecord]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all())


def test_every_change_is_audited_in_order_by_its_actor(world: World) -> None:
    w = world
    _create(w)
    with pytest.raises(NotAllowed):  # a refused change leaves no record
        w.gov.approve_project(w.registrar, "p1", rho=1.0)
    w.gov.approve_project(w.approver, "p1", rho=1.0)
    w.gov.add_member(w.registrar, "p1", "alice", rho=0.5)
    issued = w.gov.issue_token(w.registrar, "alice", now=T0)
    w.gov.revoke_token(w.admin, issued.token_id)
    raise_dataset = w.gov.set_budget(w.registrar, "dataset", 2.0)
    assert raise_dataset is not None
    w.gov.decide(w.approver, raise_dataset, confirm=True)
    w.gov.close_project(w.approver, "p1")
    add_carl = w.gov.add_person(w.admin, "carl", role="dpo", name="Carl", organisation="Office")
    assert add_carl is not None
    w.gov.decide(w.dpo, add_carl, confirm=True)

    expected = [
        *WORLD_AUDIT,
        ("sara", "project created", "p1"),
        ("olof", "budget set", "p1"),  # the project's cap, in the approval
        ("olof", "project approved", "p1"),
        ("sara", "budget set", "p1"),  # alice's cap, in her membership
        ("sara", "member added", "p1"),
        ("sara", "token issued", None),
        ("adam", "token revoked", None),
        ("sara", "proposed", None),  # the data set's cap: a raise from none ...
        ("sara", "budget set", None),  # ... set when olof confirms
        ("olof", "proposal confirmed", None),
        ("olof", "project closed", "p1"),
        ("adam", "proposed", None),  # a second DPO ...
        ("adam", "person added", None),  # ... added when dina confirms
        ("dina", "proposal confirmed", None),
    ]
    assert verify_audit(w.engine) == len(expected)
    records = _audit(w.engine)
    assert [(r.actor, r.action, r.project) for r in records] == expected
    assert [r.seq for r in records] == list(range(1, len(expected) + 1))

    bodies = {r.action: r.body for r in records}  # the last of each action
    assert bodies["person added"] == {"person": "carl", "role": "dpo", "confirmed_by": "dina"}
    assert bodies["proposed"] == {
        "proposal": add_carl,
        "kind": "add person",
        "person": "carl",
        "role": "dpo",
        "name": "Carl",
        "organisation": "Office",
    }
    assert bodies["proposal confirmed"] == {"proposal": add_carl, "kind": "add person"}
    assert [r.body for r in records if r.action == "budget set"][-3:] == [
        {"scope": "project:p1", "rho": 1.0},
        {"scope": "researcher:p1:alice", "rho": 0.5},
        {"scope": "dataset", "rho": 2.0, "confirmed_by": "olof"},
    ]
    assert bodies["project approved"] == {"rho": 1.0}
    assert bodies["member added"] == {"researcher": "alice", "rho": 0.5}
    assert bodies["token issued"] == {
        "person": "alice",
        "token_id": issued.token_id,
        "expires_at": issued.expires_at.isoformat(),
    }
    assert bodies["token revoked"] == {"token_id": issued.token_id}
    assert bodies["project closed"] == {"tokens_ended": 0}
    created = bodies["project created"]
    assert created["purpose"] == "school attendance and results"
    assert created["legal_basis"] == "public interest research"
    assert created["valid_from"] == "2025-01-01"
    assert created["valid_to"] == "2025-12-31"


def test_the_people_of_the_fixture_are_audited_by_who_added_them(world: World) -> None:
    records = _audit(world.engine)
    assert [(r.actor, r.action, r.project) for r in records] == WORLD_AUDIT
    (proposal,) = [r.body["proposal"] for r in records if r.action == "proposed"]
    issued = records[1].body
    assert [r.body for r in records] == [
        {"person": "adam", "role": "admin", "bootstrap": True},
        {"person": "adam", "token_id": _admin_token_id(world), "expires_at": issued["expires_at"]},
        {"person": "sara", "role": "statistician"},
        {
            "proposal": proposal,
            "kind": "add person",
            "person": "olof",
            "role": "statistician",
            "name": "Olof",
            "organisation": "Office",
        },
        {"person": "olof", "role": "statistician", "confirmed_by": "sara"},
        {"proposal": proposal, "kind": "add person"},
        {"person": "dina", "role": "dpo"},
        {"person": "alice", "role": "researcher"},
        {"person": "bob", "role": "researcher"},
    ]
