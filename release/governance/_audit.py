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
from release.governance._models import AuditHead, AuditRecord

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
    """Append one record (in its own transaction, after the last one). Returns its number.

    The head row is locked first, so concurrent appends queue behind each other on
    PostgreSQL as on SQLite, and the head moves with the record in one transaction."""
    body = json.loads(json.dumps(body, sort_keys=True, default=str))
    with Session(engine) as session, session.begin():
        head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
        seq, prev = head.seq + 1, head.hash
        at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        digest = _digest(prev, seq, at, actor, project, action, body)
        session.add(AuditRecord(seq=seq, at=at, actor=actor, project=project, action=action,
                                body=body, prev_hash=prev, hash=digest))  # fmt: skip
        head.seq, head.hash = seq, digest
    return seq


def audit_head(engine: Engine) -> tuple[int, str]:
    """The number and hash of the last record: written down outside medler (a witness), it
    lets a later verification prove that nothing was cut off or rewritten since."""
    with Session(engine) as session:
        head = session.scalars(select(AuditHead).where(AuditHead.id == 1)).one()
        return head.seq, head.hash


def parse_witness(text: str) -> tuple[int, str]:
    """A witness as ``medler audit head`` prints it: ``SEQ:HASH``."""
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise MedlerUserError(
            f"a witness is SEQ:HASH as 'medler audit head' prints it (a number, a colon and 64 "
            f"hex digits), not {text.strip()[:80]!r}"
        )
    return int(seq), digest


def verify_audit(engine: Engine, *, witness: tuple[int, str] | None = None) -> int:
    """Check the whole chain; return how many records verified, or raise
    ``AuditChainBroken`` naming the first bad record. The chain must end at the recorded
    head (a cut tail is caught), and, given a ``witness`` (a head written down earlier), it
    must still pass through that record unchanged."""
    if engine.dialect.name == "postgresql":
        # the records and the head are read in one snapshot, so appends made meanwhile do not
        # look like a cut tail
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    expected_prev, expected_seq = GENESIS, 1
    seen: dict[int, str] = {}
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
            if witness is not None and r.seq == witness[0]:
                seen[r.seq] = r.hash
        head = session.scalars(select(AuditHead).where(AuditHead.id == 1)).one()
    last = expected_seq - 1
    if (head.seq, head.hash) != (last, expected_prev):
        if head.seq > last:
            raise AuditChainBroken(
                f"audit record {last + 1} is missing: the log ends at record {last} but "
                f"{head.seq} were written (the tail was cut)"
            )
        raise AuditChainBroken(
            f"the audit log's head says record {head.seq}, but the chain ends at record "
            f"{last}: the head or the tail was altered"
        )
    if witness is not None and seen.get(witness[0]) != witness[1]:
        raise AuditChainBroken(
            f"audit record {witness[0]} no longer matches the witness hash written down "
            "earlier: the log was rewritten from there on"
        )
    return last
