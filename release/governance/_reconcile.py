"""What the audit chain says must be in the other tables, checked against them.

The chain is authenticated; the budgets, the ledger and the release store are not. So every
cap, every charge and every release is also an audit record, and verification replays the
chain:

- **budgets**: each budget's cap is the last ``budget set`` record of its scope, and its spent
  ρ the sum of the ``budget charged`` records that cover it;
- **ledger**: each charge is one ledger row with the same project, researcher and ρ, marked
  released when a ``charge released`` record says so;
- **release store** (when given): every release and preview the chain records is in the store
  with the same result digest and ρ, and the store holds nothing the chain does not; a
  release's values are missing only where a ``deleted`` record (retention) says so.

Every disagreement is named; nothing is repaired.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from release.governance._models import AuditRecord, Budget, LedgerEntry

BUDGET_SET = "budget set"
BUDGET_CHARGED = "budget charged"
CHARGE_RELEASED = "charge released"
RELATIVE = 1e-9


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RELATIVE, abs_tol=1e-12)


def reconcile(
    engine: Engine, records: list[AuditRecord], store: Iterable[dict[str, Any]] | None
) -> list[str]:
    """Every disagreement between the chain and the budgets, the ledger and ``store``."""
    caps: dict[str, float] = {}
    spent: dict[str, float] = {}
    charges: dict[int, dict[str, Any]] = {}
    for r in records:
        if r.key_id is None:  # from before budgets were recorded in the chain
            continue
        if r.action == BUDGET_SET:
            caps[str(r.body["scope"])] = float(r.body["rho"])  # type: ignore[arg-type]
        elif r.action == BUDGET_CHARGED:
            rho = float(r.body["rho"])  # type: ignore[arg-type]
            for scope in r.body["scopes"]:  # type: ignore[attr-defined]
                spent[scope] = spent.get(scope, 0.0) + rho
            charges[int(r.body["entry"])] = {  # type: ignore[call-overload]
                "project": r.project,
                "researcher": r.body["researcher"],
                "rho": rho,
                "state": "reserved",
                "record": r.seq,
            }
        elif r.action == CHARGE_RELEASED:
            entry = charges.get(int(r.body["entry"]))  # type: ignore[call-overload]
            if entry is not None:
                entry["state"] = "released"
    keyed = any(r.key_id is not None for r in records)
    with Session(engine) as session:
        budgets = {b.scope: b for b in session.scalars(select(Budget))}
        ledger = {e.id: e for e in session.scalars(select(LedgerEntry))}
        problems = _budgets(budgets, caps, spent, keyed) + _ledger(ledger, charges, keyed)
    if store is not None:
        problems += _store(records, list(store))
    return problems


def _budgets(
    rows: dict[str, Budget], caps: dict[str, float], spent: dict[str, float], keyed: bool
) -> list[str]:
    out = []
    for scope in sorted(set(rows) | set(caps)):
        row = rows.get(scope)
        if row is None:
            out.append(f"budget {scope} is set in the audit log but missing from the budgets table")
            continue
        if scope not in caps:
            if keyed:
                out.append(f"budget {scope} (cap ρ {row.cap:g}) has no 'budget set' record")
            continue
        if not _same(row.cap, caps[scope]):
            out.append(
                f"budget {scope}: the table says cap ρ {row.cap:.6g}, the audit log "
                f"{caps[scope]:.6g}"
            )
        if not _same(row.spent, spent.get(scope, 0.0)):
            out.append(
                f"budget {scope}: the table says ρ {row.spent:.6g} spent, the audit log "
                f"{spent.get(scope, 0.0):.6g}"
            )
    return out


def _ledger(
    rows: dict[int, LedgerEntry], charges: dict[int, dict[str, Any]], keyed: bool
) -> list[str]:
    out = []
    for entry_id in sorted(set(rows) | set(charges)):
        row, charge = rows.get(entry_id), charges.get(entry_id)
        if row is None:
            assert charge is not None
            out.append(
                f"ledger entry {entry_id} (audit record {charge['record']}) is missing "
                "from the ledger table"
            )
            continue
        if charge is None:
            if keyed:
                out.append(f"ledger entry {entry_id} has no 'budget charged' audit record")
            continue
        found = {
            "project": row.project,
            "researcher": row.researcher,
            "rho": row.rho,
            "state": row.state,
        }
        for field, value in found.items():
            expected = charge[field]
            same = _same(float(value), expected) if field == "rho" else value == expected  # type: ignore[arg-type]
            if not same:
                out.append(
                    f"ledger entry {entry_id}: the table says {field} {value!r}, the "
                    f"audit log {expected!r}"
                )
    return out


def result_digest(record: dict[str, Any]) -> str:
    """The digest of a stored release's cells, as ``Release.digest`` computes it."""
    cells = record.get("release", {}).get("cells", [])
    body = json.dumps(cells, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _audited(records: list[AuditRecord]) -> dict[str, dict[str, Any]]:
    """The releases (with their result digest and ρ) and previews the chain records."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        body = r.body
        if r.action == "released" and not body.get("cached") and body.get("release_id"):
            out[str(body["release_id"])] = {
                "result": body.get("result"),
                "rho": body.get("rho"),
                "project": r.project,
            }
        elif r.action == "previewed" and body.get("preview"):
            out[str(body["preview"])] = {"project": r.project}
        elif r.action == "deleted" and body.get("kind") == "released tables":
            for name in body.get("releases") or []:  # type: ignore[attr-defined]
                if str(name) in out:
                    out[str(name)]["values_deleted"] = True
    return out


def _store(records: list[AuditRecord], stored: list[dict[str, Any]]) -> list[str]:
    out = []
    audited = _audited(records)
    kept: dict[str, dict[str, Any]] = {}
    for number, record in enumerate(stored, start=1):
        name = record.get("release_id") or record.get("preview_id")
        if record.get("status") not in ("released", "previewed") or not name:
            continue
        if name in kept:
            out.append(f"the release store holds {name} twice (line {number})")
        kept[str(name)] = record
    for name in sorted(set(audited) | set(kept)):
        expected, found = audited.get(name), kept.get(name)
        if found is None:
            out.append(f"{name} is in the audit log but missing from the release store")
        elif expected is None:
            out.append(f"the release store holds {name}, which the audit log never recorded")
        else:
            out += _compare(name, found, expected)
    return out


def _compare(name: str, found: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    if found.get("project") != expected["project"]:
        return [
            f"{name}: the release store says project {found.get('project')!r}, the audit "
            f"log {expected['project']!r}"
        ]
    out = []
    if "release" not in found and found.get("status") == "released":
        if not expected.get("values_deleted"):
            out.append(
                f"{name}: the release store holds no values, and the audit log records "
                "no deletion of them"
            )
        return out
    if "result" in expected:
        if result_digest(found) != expected["result"]:
            out.append(
                f"{name}: the released values in the release store are not the ones "
                "the audit log recorded"
            )
        if not _same(float(found.get("rho") or 0.0), float(expected["rho"] or 0.0)):
            out.append(
                f"{name}: the release store says ρ {found.get('rho')}, the audit log "
                f"{expected['rho']}"
            )
    return out
