"""The control plane's tables. Budgets are ρ (zero-concentrated DP); money-like care: amounts
are stored as floats but every cap is checked inside one transaction that holds the lock."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Budget(Base):
    """One row per budget: scope ``dataset`` (the data set across all its snapshots),
    ``project:<id>`` or ``researcher:<project>:<id>``. ``spent`` includes reservations: a
    reservation is never given back once noise may have been drawn."""

    __tablename__ = "budgets"
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    cap: Mapped[float] = mapped_column(Float, nullable=False)
    spent: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)


class LedgerEntry(Base):
    """One charge: reserved before noise is drawn, marked released (or left reserved by a
    crash: still charged)."""

    __tablename__ = "ledger"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    project: Mapped[str] = mapped_column(String(100), nullable=False)
    researcher: Mapped[str] = mapped_column(String(100), nullable=False)
    rho: Mapped[float] = mapped_column(Float, nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False)  # reserved | released
    spec_digest: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditRecord(Base):
    """One record, in order. ``hash`` authenticates the record's content and the previous
    record's ``hash``: an HMAC under the audit key version ``key_id`` (a record written before
    keyed audit has no ``key_id`` and a plain SHA-256)."""

    __tablename__ = "audit"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    project: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    body: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    key_id: Mapped[str | None] = mapped_column(String(40))


class AuditHead(Base):
    """The last record of the audit chain (one row). It is moved in the same transaction as
    each append, and every append locks it first, so appends are serialised on any database;
    verification checks that the chain ends exactly here, so a cut tail is caught."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class Project(Base):
    """A registered research project: its statistical purpose and legal basis, the
    organisation that owns it, its validity dates and the research tables and columns it
    may use (``approved``: table -> columns, ``["*"]`` for all), with the regime each table is
    answered under (``regimes``: table -> ``sdc`` or ``dp``; a table not named takes the
    regime of its first output). ``title`` is the project's public name in the register (the
    id stands in for a project registered without one). ``status``: proposed -> approved ->
    closed."""

    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str | None] = mapped_column(String(300))  # public, in the register
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False)
    organisation: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="proposed")
    valid_from: Mapped[dt.date | None] = mapped_column()
    valid_to: Mapped[dt.date | None] = mapped_column()
    approved: Mapped[dict[str, list[str]]] = mapped_column(JSON, nullable=False, default=dict)
    regimes: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Proposal(Base):
    """An act that needs a second person (the two-person rules): proposed by one registered
    person, then ``confirmed`` (and done) or ``rejected`` by another of the right role.
    ``kind``: ``raise cap``, ``add person`` or ``rotate key``; ``params``: what is to be done.
    A confirmed ``rotate key`` is ``used`` once the key has been rotated."""

    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    params: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False)
    proposed_by: Mapped[str] = mapped_column(String(100), nullable=False)
    proposed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Membership(Base):
    __tablename__ = "memberships"
    project: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    researcher: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="researcher")


class Person(Base):
    """Someone who may use medler, with one role: ``researcher``, ``statistician`` (the
    statistics office), ``dpo`` or ``admin``. The id is a user name, never a national ID."""

    __tablename__ = "people"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    organisation: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    # an HMAC of the id and role under the audit key version ``key_id``: a row the database's
    # owner inserts or edits (a researcher made a DPO) does not verify
    key_id: Mapped[str | None] = mapped_column(String(40))
    seal: Mapped[str | None] = mapped_column(String(64))


class Token(Base):
    """An API token. Only an HMAC of its id and secret under the audit key version ``key_id``
    is stored (``secret_hash``), so the database neither holds a usable token nor lets its
    owner add one; the token is shown once."""

    __tablename__ = "tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person: Mapped[str] = mapped_column(ForeignKey("people.id"), nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    key_id: Mapped[str | None] = mapped_column(String(40))


class Request(Base):
    """A release request held for review: ``held`` -> ``released`` (approved, then computed)
    or ``refused`` (approved, but it could not be computed: budget, changed snapshot), or
    ``held`` -> ``rejected``. ``checks``: the automatic checks it failed, with their reasons."""

    __tablename__ = "requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    project: Mapped[str] = mapped_column(String(100), nullable=False)
    requester: Mapped[str] = mapped_column(String(100), nullable=False)
    spec: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False)
    spec_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    snapshot: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    checks: Mapped[list[dict[str, str]]] = mapped_column(JSON, nullable=False)
    justification: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str | None] = mapped_column(String(100))
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    release_id: Mapped[str | None] = mapped_column(String(100))


class WebSession(Base):
    """A data protection officer's session on the web pages. The cookie holds a random session
    id; only its SHA-256 hash is stored here, so the table holds no usable session. ``csrf``
    is the session's own random form value; ``token_id`` the token it was opened with (the
    session ends with it). Ended at logout or a new login (``ended_at``), after
    ``MEDLER_SESSION_IDLE_MINUTES`` without a request (``seen_at``) and after
    ``MEDLER_SESSION_HOURS`` whatever (``created_at``)."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("tokens.id"), nullable=False)
    person: Mapped[str] = mapped_column(ForeignKey("people.id"), nullable=False)
    csrf: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Deletion(Base):
    """One deletion under a confirmed proposal (``proposal``): an expired item under the
    retention policy (``kind``: ``raw extract``, ``canonical snapshot``, ``research snapshot``,
    ``released tables``) or a shredded key version (``key version``), named by ``name`` (a
    snapshot id, an extract's folder name, a project id, a key id and version: never anything
    about a person). ``rule``: why it goes. ``state``: ``started`` (the intent, written before
    anything is touched) -> ``done``; a deletion left ``started`` by a crash is finished by the
    next run, every step of it being safe to repeat."""

    __tablename__ = "deletions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    rule: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False)
    started_by: Mapped[str] = mapped_column(String(100), nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
