"""Reading the audit log: its records listed, filtered and paged, for the data protection
officer's pages. Read-only: nothing here writes, and verification stays in ``_audit``.

A record's body is summarised from an allow-list of metadata (what was asked, which release,
request or check, the cost, who was added or reviewed); anything else it holds, and the
result digest, is left out, so a summary never carries a result value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from release.governance._access import TOKEN_PREFIX
from release.governance._models import AuditRecord

# the body fields a summary may name, in the order it names them
SUMMARISED = (
    "release_id",
    "preview",
    "request",
    "check",
    "checks",
    "waived",
    "exception_asked",
    "cached",
    "rho",
    "reviewer",
    "reason",
    "person",
    "role",
    "researcher",
    "scope",
    "token_id",
    "entry",
    "proposal",
    "kind",
    "confirmed_by",
)
MAX_SUMMARY = 240  # characters


@dataclass(frozen=True)
class AuditEntry:
    """One audit record as the DPO sees it: number, time (ISO, UTC), actor, action, project
    and a short summary of its body (metadata only)."""

    seq: int
    at: str
    actor: str
    action: str
    project: str | None
    summary: str


@dataclass(frozen=True)
class AuditPage:
    """Some records of the log, newest first, and how many match the filters in all."""

    entries: tuple[AuditEntry, ...]
    total: int


def list_audit(
    engine: Engine,
    *,
    action: str | None = None,
    actor: str | None = None,
    project: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    offset: int = 0,
    limit: int = 25,
) -> AuditPage:
    """The audit records that match every filter given (``since`` and ``until``: UTC days,
    both included), newest first, ``limit`` of them from ``offset``."""
    query = select(AuditRecord)
    if action is not None:
        query = query.where(AuditRecord.action == action)
    if actor is not None:
        query = query.where(AuditRecord.actor == actor)
    if project is not None:
        query = query.where(AuditRecord.project == project)
    if since is not None:  # times are ISO text in UTC, so they order as text
        query = query.where(AuditRecord.at >= since.isoformat())
    if until is not None:
        query = query.where(AuditRecord.at < (until + dt.timedelta(days=1)).isoformat())
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(
            query.order_by(AuditRecord.seq.desc()).offset(max(offset, 0)).limit(max(limit, 0))
        ).all()
        entries = tuple(
            AuditEntry(r.seq, r.at, r.actor, r.action, r.project, summarise(dict(r.body)))
            for r in rows
        )
    return AuditPage(entries, int(total))


def audit_actions(engine: Engine) -> list[str]:
    """Every action the log holds, sorted: the choices of a filter."""
    with Session(engine) as session:
        return sorted(session.scalars(select(AuditRecord.action).distinct()))


def summarise(body: dict[str, Any]) -> str:
    """A short description of a record's body from its metadata only: the spec (mode, table,
    grouping), then the allow-listed fields (``SUMMARISED``) it holds."""
    parts = []
    spec = body.get("spec")
    if isinstance(spec, dict):
        by = ", ".join(str(c) for c in spec.get("group_by") or []) or "one cell"
        parts.append(f"{spec.get('mode', 'sdc')} {spec.get('table', '?')} by {by}")
    for name in SUMMARISED:
        if name not in body or body[name] in (None, "", [], {}):
            continue
        value = body[name]
        if name == "checks" and isinstance(value, list):
            value = ", ".join(str(c.get("check")) for c in value if isinstance(c, dict))
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, dict):
            continue  # nested structures are not summarised
        if name == "token_id":  # as the token shows it: a bare id of 16 digits reads as a pseudonym
            parts.append(f"token {TOKEN_PREFIX}_{value}")
            continue
        parts.append(f"{name.replace('_', ' ')} {value}")
    text = "; ".join(parts)
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"
