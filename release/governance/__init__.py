"""The control plane: projects, people, the privacy-budget ledger and the authenticated
audit log, in SQLAlchemy 2 (SQLite file by default, PostgreSQL by URL), with Alembic
migrations.

Modules
- ``_db``: the engine and sessions, migrations to the newest schema at start-up.
- ``_models``: the tables.
- ``_ledger``: budgets at three levels (the data set across its snapshots, the project, the
  researcher); a charge is reserved in one transaction before noise is drawn and never refunded.
- ``_access``: people and roles (the role x action matrix), the two-person rules (proposals),
  projects and memberships, API tokens (only keyed hashes are stored; people's rows sealed).
- ``_audit``: the append-only, authenticated chain of every request, act and budget change,
  and its verification.
- ``_seal``: the audit chain's anchors outside the database (its key lives in
  ``pseudonymise``, with the other key material).
- ``_reconcile``: the budgets, the ledger and the release store, checked against the chain.
- ``_audit_view``: the audit records as the DPO browses them (read only).
- ``_sessions``: the DPO's server-side web sessions.
- ``_setup``: an office registered under the rules, for synthetic setups (demo, dummy mode).
"""

from typing import TYPE_CHECKING

from medler._lazy import lazy_exports

if TYPE_CHECKING:
    from release.governance._access import (
        PERMISSIONS,
        ROLES,
        TWO_PERSON,
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
        ProposalInfo,
        TokenInfo,
    )
    from release.governance._audit import (
        AuditChainBroken,
        append_audit,
        audit_head,
        parse_witness,
        verify_audit,
    )
    from release.governance._audit_view import AuditEntry, AuditPage, audit_actions, list_audit
    from release.governance._db import connect_control_plane, default_url
    from release.governance._ledger import (
        DATASET,
        BudgetExhausted,
        BudgetScope,
        Ledger,
        LedgerTotals,
        epsilon,
    )
    from release.governance._seal import ANCHOR_ENV, anchor_path, database_folder
    from release.governance._sessions import (
        OpenedSession,
        WebSessionInfo,
        WebSessions,
        csrf_matches,
    )
    from release.governance._setup import Office, raise_cap, set_up_office

# Where each public name lives. The package loads its modules on first use (PEP 562), so that
# the command line starts without SQLAlchemy and Alembic for the commands that need neither.
_HOME = {
    "ANCHOR_ENV": "_seal",
    "Action": "_access",
    "AuditChainBroken": "_audit",
    "AuditEntry": "_audit_view",
    "AuditPage": "_audit_view",
    "BudgetExhausted": "_ledger",
    "BudgetScope": "_ledger",
    "Conflict": "_access",
    "DATASET": "_ledger",
    "Governance": "_access",
    "IssuedToken": "_access",
    "Ledger": "_ledger",
    "LedgerTotals": "_ledger",
    "NotAllowed": "_access",
    "NotAuthenticated": "_access",
    "NotFound": "_access",
    "Office": "_setup",
    "OpenedSession": "_sessions",
    "PERMISSIONS": "_access",
    "Principal": "_access",
    "ProjectApproval": "_access",
    "ProjectInfo": "_access",
    "ProposalInfo": "_access",
    "ROLES": "_access",
    "TWO_PERSON": "_access",
    "TokenInfo": "_access",
    "WebSessionInfo": "_sessions",
    "WebSessions": "_sessions",
    "anchor_path": "_seal",
    "append_audit": "_audit",
    "audit_actions": "_audit_view",
    "audit_head": "_audit",
    "connect_control_plane": "_db",
    "csrf_matches": "_sessions",
    "database_folder": "_seal",
    "default_url": "_db",
    "epsilon": "_ledger",
    "list_audit": "_audit_view",
    "parse_witness": "_audit",
    "raise_cap": "_setup",
    "set_up_office": "_setup",
    "verify_audit": "_audit",
}

__getattr__ = lazy_exports(__name__, _HOME)

__all__ = [
    "ANCHOR_ENV",
    "DATASET",
    "PERMISSIONS",
    "ROLES",
    "TWO_PERSON",
    "Action",
    "AuditChainBroken",
    "AuditEntry",
    "AuditPage",
    "BudgetExhausted",
    "BudgetScope",
    "Conflict",
    "Governance",
    "IssuedToken",
    "Ledger",
    "LedgerTotals",
    "NotAllowed",
    "NotAuthenticated",
    "NotFound",
    "Office",
    "OpenedSession",
    "Principal",
    "ProjectApproval",
    "ProjectInfo",
    "ProposalInfo",
    "TokenInfo",
    "WebSessionInfo",
    "WebSessions",
    "anchor_path",
    "append_audit",
    "audit_actions",
    "audit_head",
    "connect_control_plane",
    "csrf_matches",
    "database_folder",
    "default_url",
    "epsilon",
    "list_audit",
    "parse_witness",
    "raise_cap",
    "set_up_office",
    "verify_audit",
]
