"""The control plane: projects, researchers, the privacy-budget ledger and the hash-chained
audit log, in SQLAlchemy 2 (SQLite file by default, PostgreSQL by URL), with Alembic
migrations.

Modules
- ``_db``: the engine and sessions, migrations to the newest schema at start-up.
- ``_models``: the tables.
- ``_ledger``: budgets at three levels (the data set across its snapshots, the project, the
  researcher); a charge is reserved in one transaction before noise is drawn and never refunded.
- ``_access``: people and roles (the role x action matrix), projects and memberships, API
  tokens (only their hashes are stored).
- ``_audit``: the append-only, hash-chained record of every request, and its verification.
"""

from release.governance._access import (
    PERMISSIONS,
    ROLES,
    Action,
    Conflict,
    Governance,
    IssuedToken,
    NotAllowed,
    NotAuthenticated,
    NotFound,
    Principal,
    ProjectApproval,
    ProjectInfo,
)
from release.governance._audit import (
    AuditChainBroken,
    append_audit,
    audit_head,
    parse_witness,
    verify_audit,
)
from release.governance._db import connect_control_plane
from release.governance._ledger import BudgetExhausted, Ledger, LedgerTotals, epsilon
from release.governance._sessions import OpenedSession, WebSessionInfo, WebSessions, csrf_matches

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "Action",
    "AuditChainBroken",
    "BudgetExhausted",
    "Conflict",
    "Governance",
    "IssuedToken",
    "Ledger",
    "LedgerTotals",
    "NotAllowed",
    "NotAuthenticated",
    "NotFound",
    "OpenedSession",
    "Principal",
    "ProjectApproval",
    "ProjectInfo",
    "WebSessionInfo",
    "WebSessions",
    "append_audit",
    "audit_head",
    "connect_control_plane",
    "csrf_matches",
    "epsilon",
    "parse_witness",
    "verify_audit",
]  # fmt: skip
