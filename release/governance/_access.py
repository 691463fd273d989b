"""Who may do what: people and their roles, projects, memberships and API tokens.

Roles (one per person):

- ``researcher`` reads the catalogue, previews and submits queries, and reads their own
  releases, within a project they belong to that is approved and valid today.
- ``statistician`` (the statistics office) registers and approves projects, adds researchers
  to them, sets budgets, issues researchers' tokens and sees the build status.
- ``dpo`` (the data protection officer, or an output checker) reads the release log, reviews
  held requests, watches budgets and verifies the audit chain.
- ``admin`` manages people and tokens of every role, and nothing that touches data.

Identities: every act is done by a registered person with the role the act needs (a
``Principal`` that names nobody registered, or the wrong role, is refused); the command line
and the service prove who it is by the person's token.

Separation of duties and two-person rules: nobody approves a project they registered, and
nobody reviews their own request. Raising any cap, adding a statistician, a DPO or an admin,
and rotating a key are *proposed* by one person and done only when a second registered person
of the right role confirms (``TWO_PERSON``); an admin cannot grant an oversight role alone.
The one exception is the first person of a role, who has nobody to confirm them. A
researcher's cap never exceeds their project's. Every change here is appended to the audit
log.

A token is ``medler_<id>_<secret>``: the id finds the row, and only an HMAC of the id and
secret under the audit key is stored, so the database never holds a usable token and its owner
cannot add one. Each person's row is sealed the same way (id and role), so a row inserted or
edited in the database (a researcher made a DPO) is nobody. A token is shown once, when issued.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from medler.errors import MedlerUserError
from pseudonymise import AuditKeys
from release.governance._audit import append_audit, current_keys
from release.governance._ledger import BudgetScope, Ledger, check_cap
from release.governance._models import Membership, Person, Project, Proposal, Token

ROLES = ("researcher", "statistician", "dpo", "admin")
# how a project may receive a table: disclosure control, DP or the cell-key method
REGIMES = ("sdc", "dp", "ckm")
TOKEN_PREFIX = "medler"
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class Action(StrEnum):
    READ_CATALOGUE = "read the catalogue"
    PREVIEW = "preview a query"
    SUBMIT = "submit a query"
    READ_OWN_RELEASES = "read own releases"
    CREATE_PROJECT = "register a project"
    APPROVE_PROJECT = "approve a project"
    CLOSE_PROJECT = "close a project"
    ADD_MEMBER = "add a researcher to a project"
    SET_BUDGET = "set a budget"
    READ_BUILD_STATUS = "read the build status"
    ADD_PERSON = "add a person"
    ADD_RESEARCHER = "add a researcher"
    ISSUE_TOKEN = "issue a token"
    ISSUE_RESEARCHER_TOKEN = "issue a researcher's token"
    REVOKE_TOKEN = "revoke a token"
    READ_RELEASE_LOG = "read the release log"
    REVIEW = "review a held request"
    READ_BUDGETS = "read budgets"
    VERIFY_AUDIT = "verify the audit log"
    LIST_PROJECTS = "list projects"
    LIST_TOKENS = "list tokens"
    PROPOSE = "propose an act that needs a second person"
    ROTATE_KEY = "rotate a key"
    DELETE_DATA = "delete data under the retention policy"


# The role x action matrix. Anything not listed is refused.
PERMISSIONS: Mapping[str, frozenset[Action]] = {
    "researcher": frozenset(
        {Action.READ_CATALOGUE, Action.PREVIEW, Action.SUBMIT, Action.READ_OWN_RELEASES}
    ),
    "statistician": frozenset(
        {
            Action.CREATE_PROJECT,
            Action.APPROVE_PROJECT,
            Action.CLOSE_PROJECT,
            Action.ADD_MEMBER,
            Action.SET_BUDGET,
            Action.READ_BUILD_STATUS,
            Action.ADD_RESEARCHER,
            Action.ISSUE_RESEARCHER_TOKEN,
            Action.REVOKE_TOKEN,
            Action.READ_BUDGETS,
            Action.LIST_PROJECTS,
            Action.READ_CATALOGUE,
            Action.PROPOSE,
            Action.ROTATE_KEY,
            Action.DELETE_DATA,
        }
    ),
    "dpo": frozenset(
        {
            Action.READ_RELEASE_LOG,
            Action.REVIEW,
            Action.READ_BUDGETS,
            Action.VERIFY_AUDIT,
            Action.LIST_PROJECTS,
            Action.READ_CATALOGUE,
            Action.PROPOSE,
        }
    ),
    "admin": frozenset(
        {
            Action.ADD_PERSON,
            Action.ADD_RESEARCHER,
            Action.ISSUE_TOKEN,
            Action.ISSUE_RESEARCHER_TOKEN,
            Action.REVOKE_TOKEN,
            Action.READ_BUILD_STATUS,
            Action.VERIFY_AUDIT,
            Action.LIST_TOKENS,
            Action.PROPOSE,
            Action.ROTATE_KEY,
        }
    ),
}

KEYS = ("audit", "pseudonymisation")


@dataclass(frozen=True)
class TwoPersonRule:
    """Who may propose an act and who may confirm it (never the proposer)."""

    proposers: frozenset[str]
    confirmers: frozenset[str]


# kind (and, for "add person", the role added) -> the rule
TWO_PERSON: Mapping[str, TwoPersonRule] = {
    "raise cap": TwoPersonRule(frozenset({"statistician"}), frozenset({"statistician", "dpo"})),
    "add person:statistician": TwoPersonRule(frozenset({"admin"}), frozenset({"statistician"})),
    "add person:dpo": TwoPersonRule(frozenset({"admin"}), frozenset({"dpo"})),
    # another admin, or the DPO (who must be able to confirm while there is one admin only)
    "add person:admin": TwoPersonRule(frozenset({"admin"}), frozenset({"admin", "dpo"})),
    "rotate key": TwoPersonRule(
        frozenset({"admin", "statistician"}), frozenset({"admin", "statistician"})
    ),
    # deleting what the retention policy expires, and shredding a pseudonymisation key
    # version: the office proposes, another statistician or the DPO confirms
    "delete data": TwoPersonRule(frozenset({"statistician"}), frozenset({"statistician", "dpo"})),
    "shred key": TwoPersonRule(
        frozenset({"admin", "statistician"}), frozenset({"admin", "statistician", "dpo"})
    ),
}


class NotAuthenticated(MedlerUserError):
    """No valid token (HTTP 401). An unknown id, a wrong secret and a malformed token all read
    "not valid"; only the holder of the right secret learns that it expired or was revoked."""


class NotAllowed(MedlerUserError):
    """The person is known but may not do this (role, project membership, project state)."""


class NotFound(MedlerUserError):
    """A project, person, token or request that does not exist."""


class Conflict(MedlerUserError):
    """The change conflicts with the current state (an existing id, a closed project)."""


@dataclass(frozen=True)
class Principal:
    """Someone acting: a registered person's id and role (checked against the register on
    every act)."""

    id: str
    role: str

    def may(self, action: Action) -> bool:
        return action in PERMISSIONS.get(self.role, frozenset())


@dataclass(frozen=True)
class ProjectApproval:
    """What a project may touch: table -> columns (``*`` for every column). Implements the
    release layer's ``Approval``."""

    project: str
    tables: Mapping[str, tuple[str, ...]]
    regimes: Mapping[str, str] = field(default_factory=dict)

    def regime(self, table: str) -> str | None:
        """The regime the approval names for ``table`` (``sdc`` or ``dp``), or None."""
        return self.regimes.get(table)

    def check(self, table: str, columns: set[str]) -> str | None:
        allowed = self.tables.get(table)
        if allowed is None:
            return f"project {self.project} is not approved for table {table}"
        if "*" in allowed:
            return None
        outside = sorted(columns - set(allowed))
        if outside:
            return f"project {self.project} is not approved for {table}.{', '.join(outside)}"
        return None


@dataclass(frozen=True)
class ProjectInfo:
    id: str
    purpose: str
    legal_basis: str
    organisation: str
    status: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    tables: dict[str, list[str]]
    members: list[str]
    created_by: str | None
    approved_by: str | None
    regimes: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    approved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None


@dataclass(frozen=True)
class ProposalInfo:
    id: int
    kind: str
    params: dict[str, object]
    proposed_by: str
    proposed_at: dt.datetime
    status: str  # proposed | confirmed | rejected | used
    decided_by: str | None


@dataclass(frozen=True)
class TokenInfo:
    """A token's metadata (never its secret)."""

    id: str
    person: str
    role: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, never stored
    token_id: str
    person: str
    expires_at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every time here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _rule_key(kind: str, params: Mapping[str, object]) -> str:
    return f"{kind}:{params['role']}" if kind == "add person" else kind


def _describe(kind: str, params: Mapping[str, object]) -> str:
    if kind == "add person":
        return f"add {params['person']} as {params['role']}"
    if kind == "raise cap":
        return f"raise the budget {params['scope']} to ρ {params['rho']}"
    if kind == "delete data":
        return f"delete {len(params['items'])} item(s) the retention policy expires"  # type: ignore[arg-type]
    if kind == "shred key":
        return f"shred version {params['version']} of the pseudonymisation key"
    return f"rotate the {params['key']} key"


def _proposal_info(row: Proposal) -> ProposalInfo:
    return ProposalInfo(
        row.id,
        row.kind,
        dict(row.params),
        row.proposed_by,
        _aware(row.proposed_at),
        row.status,
        row.decided_by,
    )


def _token_mac(keys: AuditKeys, key_id: str, token_id: str, secret: str) -> str:
    return keys.mac(key_id, f"token:{token_id}:{secret}")


def _person_mac(keys: AuditKeys, key_id: str, person: str, role: str) -> str:
    return keys.mac(key_id, f"person:{person}:{role}")


def _sealed_person(
    session: Session, keys: AuditKeys, person: str, name: str, role: str, organisation: str
) -> None:
    """A new person's row, sealed under the current audit key."""
    session.add(
        Person(
            id=person,
            role=role,
            name=name,
            organisation=organisation,
            key_id=keys.current,
            seal=_person_mac(keys, keys.current, person, role),
        )
    )


def _token_valid(keys: AuditKeys, row: Token, secret: str) -> bool:
    if row.key_id is None or row.key_id not in keys.keys:
        return False
    return secrets.compare_digest(row.secret_hash, _token_mac(keys, row.key_id, row.id, secret))


def _verified(keys: AuditKeys, row: Person) -> bool:
    """Whether a person's row is as medler registered it (not inserted or edited in the
    database). The keys are read before any session opens: on SQLite a second transaction
    inside one waits for the first."""
    if row.key_id is None or row.seal is None:
        return False
    if row.key_id not in keys.keys:
        return False
    return secrets.compare_digest(_person_mac(keys, row.key_id, row.id, row.role), row.seal)


def project_info(row: Project, members: list[str]) -> ProjectInfo:
    def moment(value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else _aware(value)

    return ProjectInfo(
        row.id,
        row.purpose,
        row.legal_basis,
        row.organisation,
        row.status,
        row.valid_from,
        row.valid_to,
        dict(row.approved),
        members,
        row.created_by,
        row.approved_by,
        dict(row.regimes or {}),
        row.title,
        moment(row.approved_at),
        moment(row.closed_at),
    )


def _project(session: Session, project: str) -> Project:
    """The project's row, or NotFound."""
    row = session.get(Project, project)
    if row is None:
        raise NotFound(f"there is no project {project!r}")
    return row


def _check_name(kind: str, name: str) -> None:
    if not _NAME.fullmatch(name):
        raise MedlerUserError(
            f"a {kind} id is 1-63 characters of a-z, 0-9, '.', '_' and '-', starting with a "
            f"letter or digit; {name!r} is not"
        )


class Governance:
    """Projects, people, memberships and tokens on the control plane ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ledger = Ledger(engine)

    # --- permission checks ------------------------------------------------------------------

    def require(self, actor: Principal, action: Action) -> None:
        """The actor is a registered person, with the role the principal claims, and that
        role may do ``action``."""
        if not actor.may(action):
            raise NotAllowed(f"a {actor.role} may not {action.value}")
        keys = current_keys(self.engine)
        with Session(self.engine) as session:
            row = session.get(Person, actor.id)
            if row is None or row.role != actor.role or not _verified(keys, row):
                raise NotAllowed(f"{actor.id!r} is not a registered {actor.role}")

    def project_access(
        self, actor: Principal, project: str, action: Action, *, today: dt.date | None = None
    ) -> ProjectApproval:
        """Check that ``actor`` may do ``action`` in ``project`` today: their role allows it,
        they belong to the project, and it is approved and within its validity dates."""
        self.require(actor, action)
        today = today or _now().date()
        with Session(self.engine) as session:
            row = session.get(Project, project)
            member = session.get(Membership, (project, actor.id))
            if row is None or member is None:
                # the same answer for a project that exists and one that does not: a caller
                # learns nothing about projects they are not in
                raise NotFound(f"there is no project {project!r} that you are a member of")
            if row.status != "approved":
                raise NotAllowed(f"project {project} is {row.status}, not approved")
            if row.valid_from is not None and today < row.valid_from:
                raise NotAllowed(f"project {project} is valid from {row.valid_from}")
            if row.valid_to is not None and today > row.valid_to:
                raise NotAllowed(f"project {project} expired on {row.valid_to}")
            return ProjectApproval(
                project, {t: tuple(c) for t, c in row.approved.items()}, dict(row.regimes or {})
            )

    # --- people -----------------------------------------------------------------------------

    def add_person(
        self, actor: Principal, person: str, *, role: str, name: str, organisation: str
    ) -> int | None:
        """Register a person. A researcher is added at once (by the office or an admin); a
        statistician, DPO or admin is proposed by an admin and added when a second person of
        that role confirms (returns the proposal's number), except the first of the role."""
        if role not in ROLES:
            raise MedlerUserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        self.require(actor, Action.ADD_RESEARCHER if role == "researcher" else Action.ADD_PERSON)
        _check_name("person", person)
        with Session(self.engine) as session:
            if session.get(Person, person) is not None:
                raise Conflict(f"there is already a person {person!r}")
            holders = session.scalars(select(Person.id).where(Person.role == role)).first()
        params: dict[str, object] = {
            "person": person,
            "role": role,
            "name": name,
            "organisation": organisation,
        }
        if role != "researcher" and holders is not None:
            return self._propose(actor, "add person", params)
        self._add_person(actor, params)
        return None

    def _add_person(
        self, actor: Principal, params: Mapping[str, object], confirmed_by: str | None = None
    ) -> None:
        keys = current_keys(self.engine)
        with Session(self.engine) as session, session.begin():
            if session.get(Person, str(params["person"])) is not None:
                raise Conflict(f"there is already a person {params['person']!r}")
            _sealed_person(
                session,
                keys,
                str(params["person"]),
                str(params["name"]),
                str(params["role"]),
                str(params["organisation"]),
            )
        body = {"person": params["person"], "role": params["role"]}
        if confirmed_by is not None:
            body["confirmed_by"] = confirmed_by
        self._audit(actor, "person added", None, body)

    def bootstrap(
        self, person: str, *, name: str, organisation: str, days: int = DEFAULT_TOKEN_DAYS
    ) -> IssuedToken:
        """The first person, an admin, with their token, on a control plane with nobody
        registered yet (whoever holds the service's files starts it); refused once anyone is
        registered."""
        _check_name("person", person)
        keys = current_keys(self.engine)
        with Session(self.engine) as session, session.begin():
            if session.scalars(select(Person.id)).first() is not None:
                raise Conflict(
                    "people are registered already: the first admin is made only on "
                    "an empty control plane; ask an admin"
                )
            _sealed_person(session, keys, person, name, "admin", organisation)
        first = Principal(person, "admin")
        self._audit(
            first, "person added", None, {"person": person, "role": "admin", "bootstrap": True}
        )
        return self.issue_token(first, person, days=days)

    # --- two-person rules -------------------------------------------------------------------

    def _propose(self, actor: Principal, kind: str, params: dict[str, object]) -> int:
        rule = TWO_PERSON[_rule_key(kind, params)]
        if actor.role not in rule.proposers:
            raise NotAllowed(f"a {actor.role} may not propose to {_describe(kind, params)}")
        with Session(self.engine) as session, session.begin():
            row = Proposal(
                kind=kind,
                params=params,
                proposed_by=actor.id,
                proposed_at=_now(),
                status="proposed",
            )
            session.add(row)
            session.flush()
            number = int(row.id)
        self._audit(
            actor,
            "proposed",
            params.get("project")
            if isinstance(  # type: ignore[arg-type]
                params.get("project"), str
            )
            else None,
            {"proposal": number, "kind": kind, **params},
        )
        return number

    def proposals(self, actor: Principal, *, status: str | None = "proposed") -> list[ProposalInfo]:
        """Proposals (those waiting for a second person, by default)."""
        self.require(actor, Action.PROPOSE)
        with Session(self.engine) as session:
            query = select(Proposal).order_by(Proposal.id)
            if status is not None:
                query = query.where(Proposal.status == status)
            return [_proposal_info(p) for p in session.scalars(query)]

    def decide(self, actor: Principal, proposal: int, *, confirm: bool) -> ProposalInfo:
        """Confirm (and do) or reject a proposal: by a registered person of a role the rule
        names, never the one who proposed it."""
        self.require(actor, Action.PROPOSE)
        with Session(self.engine) as session:
            row = session.get(Proposal, proposal)
            if row is None:
                raise NotFound(f"there is no proposal {proposal}")
            info = _proposal_info(row)
        if info.status != "proposed":
            raise Conflict(f"proposal {proposal} is {info.status} already")
        rule = TWO_PERSON[_rule_key(info.kind, info.params)]
        what = _describe(info.kind, info.params)
        if actor.id == info.proposed_by:
            raise NotAllowed(f"{actor.id} proposed to {what}; a second person confirms it")
        if actor.role not in rule.confirmers:
            raise NotAllowed(
                f"to {what} needs a {' or '.join(sorted(rule.confirmers))} to "
                f"confirm it, not a {actor.role}"
            )
        proposer = self.person(info.proposed_by)
        if confirm:
            if info.kind == "add person":
                self._add_person(proposer, info.params, confirmed_by=actor.id)
            elif info.kind == "raise cap":
                scope = BudgetScope.parse(str(info.params["scope"]))
                self._set_cap(
                    proposer,
                    scope,
                    float(info.params["rho"]),  # type: ignore[arg-type]
                    confirmed_by=actor.id,
                )
        status = "confirmed" if confirm else "rejected"
        with Session(self.engine) as session, session.begin():
            row = session.get(Proposal, proposal)
            assert row is not None
            if row.status != "proposed":  # decided meanwhile by someone else
                raise Conflict(f"proposal {proposal} is {row.status} already")
            row.status, row.decided_by, row.decided_at = status, actor.id, _now()
        self._audit(actor, f"proposal {status}", None, {"proposal": proposal, "kind": info.kind})
        return replace(info, status=status, decided_by=actor.id)

    def propose_rotation(self, actor: Principal, key: str) -> int:
        """Propose to rotate the ``audit`` or the ``pseudonymisation`` key."""
        self.require(actor, Action.ROTATE_KEY)
        if key not in KEYS:
            raise MedlerUserError(f"the key is {' or '.join(KEYS)}, not {key!r}")
        return self._propose(actor, "rotate key", {"key": key})

    def use_rotation(self, actor: Principal, proposal: int, key: str) -> None:
        """Spend a confirmed rotation of ``key`` (once): the caller rotates the key file."""
        self.require(actor, Action.ROTATE_KEY)
        with Session(self.engine) as session, session.begin():
            row = session.get(Proposal, proposal)
            if row is None or row.kind != "rotate key" or row.params.get("key") != key:
                raise NotFound(f"there is no proposal {proposal} to rotate the {key} key")
            if row.status != "confirmed":
                raise NotAllowed(
                    f"proposal {proposal} is {row.status}: a second person "
                    "confirms a rotation before it is done"
                )
            row.status = "used"
        self._audit(actor, "key rotated", None, {"proposal": proposal, "key": key})

    def propose_act(self, actor: Principal, kind: str, params: dict[str, object]) -> int:
        """Propose a ``delete data`` or ``shred key`` act (``params``: what is to be done); a
        second person confirms it, then the act is run with the proposal's number."""
        if kind not in ("delete data", "shred key"):
            raise MedlerUserError(f"{kind!r} is not an act proposed this way")
        self.require(actor, Action.DELETE_DATA if kind == "delete data" else Action.ROTATE_KEY)
        return self._propose(actor, kind, params)

    def use_approval(self, actor: Principal, proposal: int, kind: str) -> ProposalInfo:
        """Spend a confirmed ``kind`` proposal (once); returns it, with what was confirmed."""
        self.require(actor, Action.DELETE_DATA if kind == "delete data" else Action.ROTATE_KEY)
        with Session(self.engine) as session, session.begin():
            row = session.get(Proposal, proposal)
            if row is None or row.kind != kind:
                raise NotFound(f"there is no proposal {proposal} to {kind}")
            if row.status != "confirmed":
                raise NotAllowed(
                    f"proposal {proposal} is {row.status}: a second person "
                    f"confirms it before it is done"
                )
            row.status = "used"
            info = _proposal_info(row)
        return info

    def approval(self, proposal: int) -> ProposalInfo:
        """A proposal, as it stands."""
        with Session(self.engine) as session:
            row = session.get(Proposal, proposal)
            if row is None:
                raise NotFound(f"there is no proposal {proposal}")
            return _proposal_info(row)

    def person(self, person: str) -> Principal:
        keys = current_keys(self.engine)
        with Session(self.engine) as session:
            row = session.get(Person, person)
            if row is None or not _verified(keys, row):
                raise NotFound(f"there is no person {person!r}")
            return Principal(row.id, row.role)

    # --- tokens -----------------------------------------------------------------------------

    def issue_token(
        self,
        actor: Principal,
        person: str,
        *,
        days: int = DEFAULT_TOKEN_DAYS,
        now: dt.datetime | None = None,
    ) -> IssuedToken:
        """A new token for ``person``, valid ``days`` days. The token is returned once and
        only its hash is kept."""
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise MedlerUserError(f"a token is valid 1 to {MAX_TOKEN_DAYS} days, not {days}")
        if not (actor.may(Action.ISSUE_TOKEN) or actor.may(Action.ISSUE_RESEARCHER_TOKEN)):
            raise NotAllowed(f"a {actor.role} may not {Action.ISSUE_TOKEN.value}")
        holder = self.person(person)
        self.require(
            actor,
            Action.ISSUE_RESEARCHER_TOKEN if holder.role == "researcher" else Action.ISSUE_TOKEN,
        )
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        issued = _aware(now or _now()).astimezone(dt.UTC)
        expires = issued + dt.timedelta(days=days)
        keys = current_keys(self.engine)
        with Session(self.engine) as session, session.begin():
            session.add(
                Token(
                    id=token_id,
                    person=person,
                    key_id=keys.current,
                    secret_hash=_token_mac(keys, keys.current, token_id, secret),
                    created_at=issued,
                    expires_at=expires,
                )
            )
        self._audit(
            actor,
            "token issued",
            None,
            {"person": person, "token_id": token_id, "expires_at": expires.isoformat()},
        )
        return IssuedToken(f"{TOKEN_PREFIX}_{token_id}_{secret}", token_id, person, expires)

    def revoke_token(self, actor: Principal, token_id: str) -> None:
        self.require(actor, Action.REVOKE_TOKEN)
        with Session(self.engine) as session, session.begin():
            row = session.get(Token, token_id)
            if row is None:
                raise NotFound(f"there is no token {token_id!r}")
            holder = session.get(Person, row.person)
            if actor.role == "statistician" and (holder is None or holder.role != "researcher"):
                raise NotAllowed("a statistician may revoke only researchers' tokens")
            if row.revoked_at is None:
                row.revoked_at = _now()
        self._audit(actor, "token revoked", None, {"token_id": token_id})

    def tokens(self, actor: Principal, *, person: str | None = None) -> list[TokenInfo]:
        """Every token's metadata (an admin), or one person's; never a secret."""
        self.require(actor, Action.LIST_TOKENS)
        with Session(self.engine) as session:
            query = select(Token, Person.role).join(Person, Person.id == Token.person)
            if person is not None:
                query = query.where(Token.person == person)
            rows = session.execute(query.order_by(Token.created_at, Token.id)).all()
            return [
                TokenInfo(
                    t.id,
                    t.person,
                    role,
                    _aware(t.created_at),
                    _aware(t.expires_at),
                    None if t.revoked_at is None else _aware(t.revoked_at),
                )
                for t, role in rows
            ]

    def authenticate(self, token: str, *, now: dt.datetime | None = None) -> Principal:
        """The person a token belongs to, or ``NotAuthenticated``."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise NotAuthenticated("the token is not a medler token")
        _, token_id, secret = parts
        moment = _aware(now or _now())
        keys = current_keys(self.engine)
        with Session(self.engine) as session:
            row = session.get(Token, token_id)
            if row is None or not _token_valid(keys, row, secret):
                raise NotAuthenticated("the token is not valid")
            if row.revoked_at is not None:
                raise NotAuthenticated("the token was revoked")
            if _aware(row.expires_at) <= moment:
                raise NotAuthenticated("the token has expired")
            person = session.get(Person, row.person)
            if person is None or not _verified(keys, person):
                raise NotAuthenticated("the token is not valid")
            return Principal(person.id, person.role)

    # --- projects ---------------------------------------------------------------------------

    def create_project(
        self,
        actor: Principal,
        project: str,
        *,
        purpose: str,
        legal_basis: str,
        organisation: str,
        valid_from: dt.date,
        valid_to: dt.date,
        tables: Mapping[str, list[str]],
        regimes: Mapping[str, str] | None = None,
        title: str | None = None,
    ) -> None:
        """Register a project (status ``proposed``). ``tables``: research table -> approved
        columns (``["*"]`` for all); the caller checks them against the catalogue.
        ``regimes``: table -> ``sdc`` or ``dp``, the one regime the table is answered under
        (a table not named takes the regime of the project's first output on it). ``title``:
        the project's public name in the register (its id when there is none)."""
        self.require(actor, Action.CREATE_PROJECT)
        if title is not None and not title.strip():
            raise MedlerUserError("a project's title, when given, is not empty")
        _check_name("project", project)
        if valid_to < valid_from:
            raise MedlerUserError(f"the project ends ({valid_to}) before it starts ({valid_from})")
        if not purpose.strip() or not legal_basis.strip():
            raise MedlerUserError("a project needs a statistical purpose and a legal basis")
        if not tables:
            raise MedlerUserError("a project needs at least one approved research table")
        regimes = dict(regimes or {})
        for table, regime in regimes.items():
            if table not in tables:
                raise MedlerUserError(f"a regime is named for {table}, which is not approved")
            if regime not in REGIMES:
                raise MedlerUserError(f"the regime of {table} is sdc or dp, not {regime!r}")
        with Session(self.engine) as session, session.begin():
            if session.get(Project, project) is not None:
                raise Conflict(f"there is already a project {project!r}")
            session.add(
                Project(
                    id=project,
                    title=title,
                    purpose=purpose,
                    legal_basis=legal_basis,
                    organisation=organisation,
                    status="proposed",
                    valid_from=valid_from,
                    valid_to=valid_to,
                    approved={t: list(c) for t, c in tables.items()},
                    regimes=regimes,
                    created_by=actor.id,
                    created_at=_now(),
                )
            )
        self._audit(
            actor,
            "project created",
            project,
            {
                "title": title,
                "purpose": purpose,
                "legal_basis": legal_basis,
                "organisation": organisation,
                "tables": dict(tables),
                "regimes": regimes,
                "valid_from": valid_from,
                "valid_to": valid_to,
            },
        )

    def approve_project(self, actor: Principal, project: str, *, rho: float) -> None:
        """Approve a proposed project with a budget of ``rho`` (a second person of the office
        approves what one registered)."""
        self.require(actor, Action.APPROVE_PROJECT)
        check_cap(rho)
        with Session(self.engine) as session, session.begin():
            row = _project(session, project)
            if row.status != "proposed":
                raise Conflict(
                    f"project {project} is {row.status}; only a proposed one is approved"
                )
            if row.created_by == actor.id:
                raise NotAllowed(
                    f"{actor.id} registered project {project}; someone else approves it"
                )
            row.status, row.approved_by, row.approved_at = "approved", actor.id, _now()
        self.ledger.set_cap(BudgetScope.of_project(project), rho, actor=actor.id)
        self._audit(actor, "project approved", project, {"rho": rho})

    def close_project(self, actor: Principal, project: str) -> int:
        """Close a project: every member's access to it ends at once, and so do the tokens of
        its members who belong to no other open project (returns how many tokens ended). A
        member of another open project keeps their token, which no longer opens this one."""
        self.require(actor, Action.CLOSE_PROJECT)
        now = _now()
        with Session(self.engine) as session, session.begin():
            row = _project(session, project)
            if row.status == "closed":
                raise Conflict(f"project {project} is already closed")
            row.status, row.closed_at = "closed", now
            members = set(
                session.scalars(select(Membership.researcher).where(Membership.project == project))
            )
            elsewhere = set(
                session.scalars(
                    select(Membership.researcher)
                    .join(Project, Project.id == Membership.project)
                    .where(Membership.project != project, Project.status != "closed")
                )
            )
            ending = sorted(members - elsewhere)
            tokens = list(
                session.scalars(
                    select(Token).where(Token.person.in_(ending), Token.revoked_at.is_(None))
                )
            )
            for token in tokens:
                token.revoked_at = now
        self._audit(actor, "project closed", project, {"tokens_ended": len(tokens)})
        return len(tokens)

    def add_member(self, actor: Principal, project: str, researcher: str, *, rho: float) -> None:
        """Add a researcher to a project, with their own budget of ``rho`` within it."""
        self.require(actor, Action.ADD_MEMBER)
        check_cap(rho)
        if self.person(researcher).role != "researcher":
            raise MedlerUserError(f"{researcher} is not a researcher")
        with Session(self.engine) as session:
            _project(session, project)  # NotFound before anything about its budget
        self._within_project(BudgetScope.of_researcher(project, researcher), rho)
        with Session(self.engine) as session, session.begin():
            row = _project(session, project)
            if row.status == "closed":
                raise Conflict(f"project {project} is closed")
            if session.get(Membership, (project, researcher)) is None:
                session.add(Membership(project=project, researcher=researcher, role="researcher"))
        self.ledger.set_cap(BudgetScope.of_researcher(project, researcher), rho, actor=actor.id)
        self._audit(actor, "member added", project, {"researcher": researcher, "rho": rho})

    def projects(self, actor: Principal) -> list[ProjectInfo]:
        """Every project (the office and the DPO), or a researcher's own."""
        with Session(self.engine) as session:
            rows = session.scalars(select(Project).order_by(Project.id)).all()
            members = session.scalars(select(Membership)).all()
            by_project: dict[str, list[str]] = {}
            for m in members:
                by_project.setdefault(m.project, []).append(m.researcher)
            out = []
            for row in rows:
                people = sorted(by_project.get(row.id, []))
                if not actor.may(Action.LIST_PROJECTS) and actor.id not in people:
                    continue
                out.append(project_info(row, people))
            return out

    def set_budget(self, actor: Principal, scope: BudgetScope | str, rho: float) -> int | None:
        """Set a cap. Lowering one is done at once; raising one (or setting one where there
        was none) is proposed, and done when a second person confirms: returns the
        proposal's number then, None when it is done. A researcher's cap never exceeds their
        project's."""
        self.require(actor, Action.SET_BUDGET)
        scope = BudgetScope.parse(scope) if isinstance(scope, str) else scope
        check_cap(rho)
        self._within_project(scope, rho)
        current = self.ledger.cap(scope)
        if current is None or rho > current:
            return self._propose(
                actor, "raise cap", {"scope": scope.key, "rho": rho, "from": current}
            )
        self._set_cap(actor, scope, rho)
        return None

    def _set_cap(
        self, actor: Principal, scope: BudgetScope, rho: float, confirmed_by: str | None = None
    ) -> None:
        self._within_project(scope, rho)
        self.ledger.set_cap(scope, rho, actor=actor.id, confirmed_by=confirmed_by)

    def _within_project(self, scope: BudgetScope, rho: float) -> None:
        if scope.researcher is None or scope.project is None:
            return
        project_cap = self.ledger.cap(BudgetScope.of_project(scope.project))
        if project_cap is None:
            raise MedlerUserError(
                f"project {scope.project} has no budget yet; it is set when the project is approved"
            )
        if rho > project_cap:
            raise MedlerUserError(
                f"a researcher's budget (ρ {rho:g}) cannot exceed their project's (ρ "
                f"{project_cap:g} for {scope.project})"
            )

    def _audit(
        self, actor: Principal, action: str, project: str | None, body: dict[str, object]
    ) -> None:
        append_audit(self.engine, actor=actor.id, action=action, project=project, body=body)
