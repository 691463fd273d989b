"""The audit log: every request (released, refused, held, approved, rejected), every
governance act and every budget change appends a record — when, who, project, what was asked,
under which policy and snapshot, at what privacy cost, and a digest of the result; never result
values, never anything identifying.

Each record is authenticated with HMAC-SHA256 under the audit key (``_seal``: a file the
database does not hold) over its content and the previous record's authenticator, so an edit,
a deletion, an insertion or a reordering breaks the chain at the first record it touches, and
recomputing the chain needs the key. After each record the head is anchored outside the
database (``_seal``), so a cut tail or a log rolled back to an older state is caught too.
Verification also reconciles the budgets, the ledger and the release store with the chain
(``_reconcile``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from medler.errors import MedlerUserError
from pseudonymise import AuditKeys, audit_key_path
from release.governance._models import AuditHead, AuditRecord
from release.governance._seal import keys_for, read_anchors, write_anchor

GENESIS = "0" * 64
log = logging.getLogger(__name__)


class AuditChainBroken(MedlerUserError):
    """The audit log, or a table it accounts for, was altered. The message names every
    mismatch found (the first bad record of the chain)."""


def _content(
    seq: int,
    at: str,
    actor: str,
    project: str | None,
    action: str,
    body: dict[str, Any],
    key_id: str | None,
) -> str:
    fields: list[Any] = [seq, at, actor, project, action, body]
    if key_id is not None:
        fields.append(key_id)
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)


def _seal(keys: AuditKeys | None, prev: str, record: AuditRecord) -> str:
    """The record's authenticator: an HMAC under its key version; a record from before keyed
    audit (no ``key_id``) has a plain hash, which only the anchors protect."""
    content = _content(
        record.seq,
        record.at,
        record.actor,
        record.project,
        record.action,
        record.body,
        record.key_id,
    )
    if record.key_id is None:
        return hashlib.sha256((prev + content).encode()).hexdigest()
    assert keys is not None
    return keys.mac(record.key_id, prev + content)


def append_audit(
    engine: Engine,
    *,
    actor: str,
    action: str,
    project: str | None,
    body: dict[str, Any],
    session: Session | None = None,
) -> int:
    """Append one record after the last one, authenticated with the current audit key, and
    anchor the new head once it is committed. Returns its number.

    With ``session`` the record joins the caller's transaction (a ledger charge and its record
    commit together or not at all); otherwise it has a transaction of its own. The head row is
    locked first, so concurrent appends queue behind each other on PostgreSQL as on SQLite,
    and the head moves with the record in one transaction."""
    body = json.loads(json.dumps(body, sort_keys=True, default=str))
    if session is None:
        with Session(engine) as own, own.begin():
            seq, digest = _append(engine, own, actor, action, project, body)
        _anchor(engine, seq, digest)
        return seq
    seq, digest = _append(engine, session, actor, action, project, body)
    event.listen(session, "after_commit", lambda _s: _anchor(engine, seq, digest), once=True)
    return seq


def _append(
    engine: Engine,
    session: Session,
    actor: str,
    action: str,
    project: str | None,
    body: dict[str, Any],
) -> tuple[int, str]:
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    keys = keys_for(engine, create=head.seq == 0)
    seq, prev = head.seq + 1, head.hash
    at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    record = AuditRecord(
        seq=seq,
        at=at,
        actor=actor,
        project=project,
        action=action,
        body=body,
        prev_hash=prev,
        key_id=keys.current,
        hash="",
    )
    record.hash = _seal(keys, prev, record)
    session.add(record)
    head.seq, head.hash = seq, record.hash
    session.flush()
    return seq, record.hash


def current_keys(engine: Engine) -> AuditKeys:
    """The audit keys, made on a control plane whose log is still empty. Every token check
    reads them: the database is asked only when there is no key file yet."""
    if audit_key_path().exists():
        return keys_for(engine)
    with Session(engine) as session:
        head = session.scalars(select(AuditHead).where(AuditHead.id == 1)).one()
        return keys_for(engine, create=head.seq == 0)


def _anchor(engine: Engine, seq: int, digest: str) -> None:
    try:
        write_anchor(engine, seq, digest)
    except OSError as error:  # the record stands; the next anchor covers it
        log.error("the audit head %d could not be anchored: %s", seq, error.strerror)


def audit_head(engine: Engine) -> tuple[int, str]:
    """The number and authenticator of the last record (what an anchor holds)."""
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


def read_chain(engine: Engine) -> tuple[list[AuditRecord], tuple[int, str]]:
    """Every record in order and the recorded head, read in one snapshot."""
    if engine.dialect.name == "postgresql":
        # the records and the head are read in one snapshot, so appends made meanwhile do not
        # look like a cut tail
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    with Session(engine) as session:
        records = list(session.scalars(select(AuditRecord).order_by(AuditRecord.seq)))
        head = session.scalars(select(AuditHead).where(AuditHead.id == 1)).one()
        session.expunge_all()
        return records, (head.seq, head.hash)


def verify_audit(
    engine: Engine,
    *,
    witness: tuple[int, str] | None = None,
    store: Iterable[dict[str, Any]] | None = None,
) -> int:
    """Check the whole chain and return how many records verified, or raise
    ``AuditChainBroken`` naming what is wrong.

    The chain: every record's authenticator under the audit key, its link to the one before,
    an unbroken numbering that ends at the recorded head, and every anchor written outside the
    database (the newest included: a cut tail or a rollback is caught). A ``witness`` (a head
    written down by hand) is checked too. Then the budgets, the ledger and, given ``store``
    (the release store's records), the releases are reconciled with the chain."""
    from release.governance._reconcile import reconcile

    records, head = read_chain(engine)
    _check_chain(engine, records, head, witness)
    problems = reconcile(engine, records, store)
    if problems:
        shown = problems[:20]
        more = f"; and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise AuditChainBroken(
            f"the audit chain is intact, but {len(problems)} thing(s) disagree with it: "
            + "; ".join(shown)
            + more
        )
    return len(records)


def _check_chain(
    engine: Engine,
    records: list[AuditRecord],
    head: tuple[int, str],
    witness: tuple[int, str] | None,
) -> None:
    keys = keys_for(engine) if any(r.key_id is not None for r in records) else None
    expected_prev, expected_seq, keyed = GENESIS, 1, False
    hashes: dict[int, str] = {}
    for r in records:
        if r.seq != expected_seq:
            raise AuditChainBroken(
                f"audit record {expected_seq} is missing (the next one is {r.seq})"
            )
        if r.prev_hash != expected_prev:
            raise AuditChainBroken(
                f"audit record {r.seq} does not follow record {r.seq - 1}: a record was "
                "deleted, inserted or reordered"
            )
        if r.key_id is None and keyed:
            raise AuditChainBroken(
                f"audit record {r.seq} is not authenticated, though records before it are: "
                "it was written or rewritten without the audit key"
            )
        keyed = keyed or r.key_id is not None
        if not secrets.compare_digest(_seal(keys, r.prev_hash, r), r.hash):
            raise AuditChainBroken(
                f"audit record {r.seq} was changed after it was written (its authenticator "
                "does not verify under the audit key)"
            )
        hashes[r.seq] = r.hash
        expected_prev, expected_seq = r.hash, r.seq + 1
    last = expected_seq - 1
    if head != (last, expected_prev):
        if head[0] > last:
            raise AuditChainBroken(
                f"audit record {last + 1} is missing: the log ends at record {last} but "
                f"{head[0]} were written (the tail was cut)"
            )
        raise AuditChainBroken(
            f"the audit log's head says record {head[0]}, but the chain ends at record "
            f"{last}: the head or the tail was altered"
        )
    checks = [
        (a.seq, a.hash, "the anchor written outside the database") for a in read_anchors(engine)
    ]
    if witness is not None:
        checks.append((witness[0], witness[1], "the witness written down earlier"))
    for seq, digest, source in checks:
        if seq > last:
            raise AuditChainBroken(
                f"audit record {seq} is missing: {source} names it, but the log ends at record "
                f"{last} (records were cut off or the log was rolled back)"
            )
        if hashes.get(seq) != digest:
            raise AuditChainBroken(
                f"audit record {seq} no longer matches {source}: the log was rewritten from "
                "there on"
            )
