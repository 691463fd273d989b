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
    """One request, in order. ``hash`` covers the record's content and the previous hash."""

    __tablename__ = "audit"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    project: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    body: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False)
    organisation: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="proposed")
    valid_from: Mapped[dt.date | None] = mapped_column()
    valid_to: Mapped[dt.date | None] = mapped_column()
    approved: Mapped[dict[str, list[str]]] = mapped_column(JSON, nullable=False, default=dict)


class Membership(Base):
    __tablename__ = "memberships"
    project: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    researcher: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="researcher")
