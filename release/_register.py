"""The public register: who uses the data and why, and what has left, for anyone to read.

The register lists every approved project (its title, organisation, purpose, legal basis,
approved tables with their regimes, period, privacy budget and what it has spent) and, for
each, its releases (the day, the table, the regime, the privacy cost). It shows no value, no
pseudonym, no token and no person: not the researchers, not the office's staff.

It is made from the audit chain alone (``build_register``: a pure function of the records),
up to a head that it publishes as its **anchor** (the number of records and the last one's
authenticator, as ``medler audit head`` prints them). So whoever holds the chain can rebuild
the register up to that anchor and compare (``compare_register``): the register neither
leaves out nor invents a project or a release, and a later chain that no longer holds the
anchor was rewritten (``medler audit verify --witness``).

What is listed, and what is not:

- a project once it is approved (a proposed one is not), shown ``active``, ``not started``,
  ``expired`` (its period is over) or ``closed``;
- a release once, on the day it was first released (a repeat of an identical query, answered
  from the cache at no cost, is not listed again). A held request is listed only if and when
  it is released, on that day; refused and held requests and previews are not listed: in
  ``sdc`` mode whether a request is refused depends on the data, and the register is public;
- a release whose values were deleted under the retention policy stays listed, with the day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from medler.errors import InputFileError
from release.governance import DATASET, BudgetScope
from release.governance._audit import read_chain
from release.governance._models import AuditRecord, Project
from release.governance._reconcile import BUDGET_CHARGED, BUDGET_SET

FORMAT = 1  # the feed's format version
STATUSES = ("active", "not started", "expired", "closed")


@dataclass(frozen=True)
class RegisterRelease:
    """One release as the register shows it: never a value, never who asked."""

    release_id: str
    date: str  # YYYY-MM-DD, UTC
    table: str
    regime: str  # sdc | dp | ckm
    rho: float  # the privacy cost charged (0 for sdc and ckm: they spend no ρ)
    audit_record: int  # the number of its ``released`` record in the chain
    values_deleted: str | None = None  # the day its values were deleted (retention)


@dataclass(frozen=True)
class RegisterProject:
    id: str
    title: str
    organisation: str
    purpose: str
    legal_basis: str
    tables: dict[str, str | None]  # approved table -> its regime (None: set by its first output)
    valid_from: str
    valid_to: str
    approved: str
    closed: str | None
    status: str
    budget_rho: float | None
    spent_rho: float
    releases: tuple[RegisterRelease, ...] = ()


@dataclass(frozen=True)
class Anchor:
    """The audit chain's head the register was made up to: ``records`` (the last record's
    number) and ``head`` (its authenticator)."""

    records: int
    head: str

    @property
    def witness(self) -> str:
        """``SEQ:HASH``, as ``medler audit head`` prints it."""
        return f"{self.records}:{self.head}"


@dataclass(frozen=True)
class Register:
    as_of: str  # the day the statuses are for (YYYY-MM-DD, UTC)
    anchor: Anchor
    dataset_budget_rho: float | None
    dataset_spent_rho: float
    projects: tuple[RegisterProject, ...] = field(default=())

    @property
    def releases(self) -> int:
        return sum(len(p.releases) for p in self.projects)

    def to_json(self) -> dict[str, Any]:
        """The feed: plain JSON, the same for the web page, the API and the command line."""
        body = asdict(self)
        body["anchor"]["witness"] = self.anchor.witness
        return {"format": FORMAT, **body}


def _day(at: object) -> str:
    return str(at)[:10]


def _status(as_of: dt.date, valid_from: str, valid_to: str, closed: str | None) -> str:
    if closed is not None:
        return "closed"
    if as_of > dt.date.fromisoformat(valid_to[:10]):
        return "expired"
    if as_of < dt.date.fromisoformat(valid_from[:10]):
        return "not started"
    return "active"


@dataclass
class _Reading:
    """What the chain says, record by record: only what the register publishes."""

    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    approved: dict[str, str] = field(default_factory=dict)
    closed: dict[str, str] = field(default_factory=dict)
    caps: dict[str, float] = field(default_factory=dict)
    spent: dict[str, float] = field(default_factory=dict)
    releases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)

    def read(self, r: AuditRecord) -> None:
        body: dict[str, Any] = dict(r.body)
        if r.action == BUDGET_SET:
            self.caps[str(body["scope"])] = float(body["rho"])
        elif r.action == BUDGET_CHARGED:
            for scope in body["scopes"]:
                self.spent[scope] = self.spent.get(scope, 0.0) + float(body["rho"])
        elif r.action == "deleted" and body.get("kind") == "released tables":
            for release_id in body.get("releases") or []:
                self.deleted.setdefault(str(release_id), _day(r.at))
        elif r.project is None:
            return
        elif r.action == "project created":
            self.created[r.project] = body
        elif r.action == "project approved":
            self.approved[r.project] = _day(r.at)
        elif r.action == "project closed":
            self.closed[r.project] = _day(r.at)
        elif r.action == "released":
            self._release(r, body)

    def _release(self, r: AuditRecord, body: dict[str, Any]) -> None:
        release_id = str(body.get("release_id") or "")
        listed = {x["release_id"] for x in self.releases.get(str(r.project), [])}
        if not release_id or body.get("cached") or release_id in listed:
            return  # a repeat answered from the cache: listed once, when first released
        spec = body.get("spec") or {}
        self.releases.setdefault(str(r.project), []).append(
            {
                "release_id": release_id,
                "date": _day(r.at),
                "table": str(spec.get("table", "")),
                "regime": str(body.get("mode", "sdc")),
                "rho": float(body.get("rho") or 0.0),
                "audit_record": r.seq,
            }
        )

    def project(self, project: str, as_of: dt.date, organisation: str) -> RegisterProject:
        facts = self.created[project]
        regimes = facts.get("regimes") or {}
        tables = {str(t): regimes.get(t) for t in sorted(facts.get("tables") or {})}
        period = (_day(facts["valid_from"]), _day(facts["valid_to"]))
        closed = self.closed.get(project)
        listed = tuple(
            RegisterRelease(**r, values_deleted=self.deleted.get(r["release_id"]))
            for r in self.releases.get(project, [])
        )
        scope = BudgetScope.of_project(project).key
        return RegisterProject(
            id=project,
            title=str(facts.get("title") or project),
            organisation=str(facts.get("organisation") or organisation),
            purpose=str(facts["purpose"]),
            legal_basis=str(facts["legal_basis"]),
            tables=tables,
            valid_from=period[0],
            valid_to=period[1],
            approved=self.approved[project],
            closed=closed,
            status=_status(as_of, *period, closed),
            budget_rho=self.caps.get(scope),
            spent_rho=self.spent.get(scope, 0.0),
            releases=listed,
        )


def build_register(
    records: Iterable[AuditRecord],
    anchor: Anchor,
    as_of: dt.date,
    organisations: Mapping[str, str] | None = None,
) -> Register:
    """The register that the audit ``records`` (in order, up to ``anchor``) make, with each
    project's status on ``as_of``. Reads only what it publishes from each record.
    ``organisations``: each project's organisation, for projects created before the chain
    recorded it."""
    reading = _Reading()
    for record in records:
        reading.read(record)
    # approved, and created while the chain said what a project is
    listed = [p for p in sorted(reading.approved) if p in reading.created]
    projects = tuple(reading.project(p, as_of, (organisations or {}).get(p, "")) for p in listed)
    return Register(
        as_of.isoformat(),
        anchor,
        reading.caps.get(DATASET.key),
        reading.spent.get(DATASET.key, 0.0),
        projects,
    )


def register_of(engine: Engine, *, as_of: dt.date | None = None) -> Register:
    """The register of the control plane at ``engine``, up to its audit chain's head now."""
    records, (seq, digest) = read_chain(engine)
    today = as_of or dt.datetime.now(dt.UTC).date()
    return build_register(records, Anchor(seq, digest), today, _organisations(engine))


def _organisations(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return dict(session.execute(select(Project.id, Project.organisation)).tuples().all())


def compare_register(engine: Engine, published: Mapping[str, Any]) -> tuple[Anchor, list[str]]:
    """Rebuild the register from the chain at ``engine`` up to ``published``'s anchor and name
    every difference (``[]``: they agree). Raises ``InputFileError`` for a feed that is not a
    register."""
    anchor, as_of = _anchor_of(published)
    records, (seq, _) = read_chain(engine)
    if anchor.records > seq:
        return anchor, [
            f"the register's anchor is record {anchor.records}, but this audit "
            f"chain has {seq} records: it is not this chain, or its tail was "
            "cut"
        ]
    held = next((r.hash for r in records if r.seq == anchor.records), None)
    if anchor.records and held != anchor.head:
        return anchor, [
            f"record {anchor.records} of this audit chain is not the register's "
            f"anchor ({anchor.witness}): the register is not this chain's, or the "
            "chain was rewritten"
        ]
    before = [r for r in records if r.seq <= anchor.records]
    rebuilt = build_register(before, anchor, as_of, _organisations(engine)).to_json()
    return anchor, _differences(rebuilt, dict(published))


def _anchor_of(published: Mapping[str, Any]) -> tuple[Anchor, dt.date]:
    try:
        if published.get("format") != FORMAT:
            raise ValueError(f"format {published.get('format')!r}, not {FORMAT}")
        anchor = published["anchor"]
        records, head = int(anchor["records"]), str(anchor["head"])
        if records < 0 or len(head) != 64:
            raise ValueError(f"anchor {records}:{head[:70]}")
        return Anchor(records, head), dt.date.fromisoformat(str(published["as_of"]))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InputFileError(
            f"this is not a medler register feed ({error}); give the JSON of GET /v1/register "
            "or of 'medler register show --json'"
        ) from None


def _differences(rebuilt: dict[str, Any], published: dict[str, Any]) -> list[str]:
    out = []
    for name in ("dataset_budget_rho", "dataset_spent_rho"):
        if rebuilt[name] != published.get(name):
            out.append(
                f"{name}: the register says {published.get(name)!r}, the chain {rebuilt[name]!r}"
            )
    ours = {p["id"]: p for p in rebuilt["projects"]}
    theirs = {p.get("id"): p for p in published.get("projects") or [] if isinstance(p, dict)}
    for project in sorted(set(ours) - set(theirs)):
        out.append(f"project {project} is in the chain but not in the register")
    for project in sorted(set(theirs) - set(ours), key=str):
        out.append(f"project {project} is in the register but not in the chain")
    for project in sorted(set(ours) & set(theirs)):
        mine, shown = ours[project], theirs[project]
        for name in sorted(mine):
            if name != "releases" and mine[name] != shown.get(name):
                out.append(
                    f"project {project}: {name} is {shown.get(name)!r} in the register, "
                    f"{mine[name]!r} in the chain"
                )
        chain = {r["release_id"]: r for r in mine["releases"]}
        listed = {
            r.get("release_id"): r for r in shown.get("releases") or [] if isinstance(r, dict)
        }
        for release in sorted(set(chain) - set(listed)):
            out.append(f"release {release} of {project} is in the chain but not in the register")
        for release in sorted(set(listed) - set(chain), key=str):
            out.append(f"release {release} of {project} is in the register but not in the chain")
        for release in sorted(set(chain) & set(listed)):
            for name in sorted(chain[release]):
                if chain[release][name] != listed[release].get(name):
                    out.append(
                        f"release {release} of {project}: {name} is "
                        f"{listed[release].get(name)!r} in the register, "
                        f"{chain[release][name]!r} in the chain"
                    )
    return out
