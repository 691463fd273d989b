"""The audit log: every request (released, refused, held, approved, rejected) appends a record
— when, who, project, what was asked, under which policy and snapshot, at what privacy cost,
and a digest of the result; never result values, never anything identifying. Each record's
hash covers its content and the previous record's hash, so an edit, a deletion, an insertion
or a reordering breaks the chain at the first record it touches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from medler.errors import MedlerUserError
from release.governance._models import AuditRecord

GENESIS = "0" * 64


class AuditChainBroken(MedlerUserError):
    """The audit log was altered. The message names the first record that does not verify."""


def _digest(prev_hash: str, seq: int, at: str, actor: str, project: str | None, action: str,
            body: dict[str, Any]) -> str:  # fmt: skip
    content = json.dumps([seq, at, actor, project, action, body], sort_keys=True,
                         separators=(",", ":"), default=str)  # fmt: skip
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


def append_audit(
    engine: Engine, *, actor: str, action: str, project: str | None, body: dict[str, Any]
) -> int:
    """Append one record (in its own transaction, after the last one). Returns its number."""
    body = json.loads(json.dumps(body, sort_keys=True, default=str))
    with Session(engine) as session, session.begin():
        last = session.scalars(
            select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1).with_for_update()
        ).first()
        seq = 1 if last is None else last.seq + 1
        prev = GENESIS if last is None else last.hash
        at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        record = AuditRecord(
            seq=seq, at=at, actor=actor, project=project, action=action, body=body,
            prev_hash=prev, hash=_digest(prev, seq, at, actor, project, action, body),
        )  # fmt: skip
        session.add(record)
    return seq


def verify_audit(engine: Engine) -> int:
    """Check the whole chain; return how many records verified, or raise
    ``AuditChainBroken`` naming the first bad record."""
    expected_prev, expected_seq = GENESIS, 1
    with Session(engine) as session:
        for r in session.scalars(select(AuditRecord).order_by(AuditRecord.seq)):
            if r.seq != expected_seq:
                raise AuditChainBroken(
                    f"audit record {expected_seq} is missing (the next one is {r.seq})"
                )
            if r.prev_hash != expected_prev:
                raise AuditChainBroken(
                    f"audit record {r.seq} does not follow record {r.seq - 1}: a record was "
                    "deleted, inserted or reordered"
                )
            if _digest(r.prev_hash, r.seq, r.at, r.actor, r.project, r.action, r.body) != r.hash:
                raise AuditChainBroken(f"audit record {r.seq} was changed after it was written")
            expected_prev, expected_seq = r.hash, r.seq + 1
    return expected_seq - 1
