"""The control plane on SQLite and on PostgreSQL: budgets at three levels, a race of 50 processes
for the last of a budget, crash safety of a reservation, and an audit chain that catches
tampering done directly in the database."""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import JSON, Connection, bindparam, create_engine, text
from sqlalchemy.pool import NullPool

from release.governance import (
    DATASET,
    AuditChainBroken,
    BudgetExhausted,
    BudgetScope,
    Ledger,
    anchor_path,
    append_audit,
    audit_head,
    connect_control_plane,
    epsilon,
    verify_audit,
)
from release.governance._audit import GENESIS, _content
from release.governance._seal import keys_for, write_anchor
from tests.control_plane import control_url

__all__ = ["control_url"]

RACERS = 50
COST = 0.03
WRITERS, APPENDS = 20, 5

# Forked processes (a fresh interpreter per process would spend minutes importing) touch only
# the database, never Polars, whose fork warning is about its own thread pool; each opens its
# own engine, since a connection must not be shared across a fork.
POLARS_FORK = pytest.mark.filterwarnings("ignore:Using fork\\(\\) can cause Polars:RuntimeWarning")
THREADED_FORK = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)


def _ledger(
    url: str, *, dataset: float = 1.0, project: float = 10.0, researcher: float = 10.0
) -> Ledger:
    ledger = Ledger(connect_control_plane(url))
    ledger.set_cap(DATASET, dataset, actor="office")
    ledger.set_cap(BudgetScope.of_project("p"), project, actor="office")
    for who in ("alice", "bob"):
        ledger.set_cap(BudgetScope.of_researcher("p", who), researcher, actor="office")
    return ledger


def test_every_level_caps_the_charge(control_url: str) -> None:
    """The researcher's, the project's and the data set's caps each refuse a charge that would
    pass them, and a refused charge charges nothing anywhere."""
    ledger = _ledger(control_url, dataset=0.6, project=0.5, researcher=0.3)
    ledger.reserve("p", "alice", 0.3, "a")
    with pytest.raises(BudgetExhausted, match="researcher budget has ρ 0 left"):
        ledger.reserve("p", "alice", 0.01, "b")
    ledger.reserve("p", "bob", 0.2, "c")
    with pytest.raises(BudgetExhausted, match="project budget has ρ 0 left"):
        ledger.reserve("p", "bob", 0.01, "d")
    ledger.set_cap(BudgetScope.of_project("q"), 1.0, actor="office")
    ledger.set_cap(BudgetScope.of_researcher("q", "carol"), 1.0, actor="office")
    with pytest.raises(BudgetExhausted, match=r"dataset budget has ρ 0\.1 left"):
        ledger.reserve("q", "carol", 0.2, "e")  # another project, but the same pupils
    with pytest.raises(BudgetExhausted, match="no budget is set for researcher:q:dave"):
        ledger.reserve("q", "dave", 0.01, "f")
    totals = {t.scope: t for t in ledger.totals()}
    assert totals[DATASET].spent == pytest.approx(0.5)  # refused charges charged nothing
    assert totals[BudgetScope.of_project("q")].spent == 0.0
    assert totals[DATASET].reserved == pytest.approx(0.5)  # nothing marked released yet
    # six caps and two charges, each an audit record the tables agree with; no refused one
    assert verify_audit(ledger.engine) == 6 + 2


def test_a_reservation_is_never_refunded(control_url: str) -> None:
    """A crash between reserving and releasing leaves the charge: noise may have been drawn."""
    ledger = _ledger(control_url)
    entry = ledger.reserve("p", "alice", 0.2, "a")
    ledger.engine.dispose()  # the process died; a new one starts
    reopened = Ledger(connect_control_plane(control_url))
    totals = {t.scope: t for t in reopened.totals()}
    assert totals[DATASET].spent == pytest.approx(0.2)
    assert totals[DATASET].reserved == pytest.approx(0.2)
    reopened.mark_released(entry)
    totals = {t.scope: t for t in reopened.totals()}
    assert (totals[DATASET].spent, totals[DATASET].reserved) == (pytest.approx(0.2), 0.0)


def _race(url: str, who: str, barrier: Any) -> bool:
    ledger = Ledger(connect_control_plane(url))
    barrier.wait()
    try:
        ledger.reserve("p", who, COST, "race")
    except BudgetExhausted:
        return False
    finally:
        ledger.engine.dispose()
    return True


@POLARS_FORK
@THREADED_FORK
def test_fifty_processes_racing_never_overspend(control_url: str) -> None:
    """50 processes, released at once, each try to spend 0.03 of a cap of 1.0: exactly 33 get
    it, and the total never passes the cap (row locks on PostgreSQL, immediate transactions on
    SQLite)."""
    _ledger(control_url, dataset=1.0).engine.dispose()  # no connection of ours is forked
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager:
        barrier = manager.Barrier(RACERS)
        with context.Pool(RACERS) as pool:
            won = pool.starmap(
                _race, [(control_url, ("alice", "bob")[i % 2], barrier) for i in range(RACERS)]
            )
    engine = connect_control_plane(control_url)
    try:
        totals = {t.scope: t for t in Ledger(engine).totals()}
        assert sum(won) == int(1.0 / COST)  # 33 fit under the cap, and all of them got it
        assert totals[DATASET].spent == pytest.approx(sum(won) * COST)
        assert totals[DATASET].spent <= 1.0
        assert totals[BudgetScope.of_project("p")].spent == pytest.approx(totals[DATASET].spent)
        assert verify_audit(engine) == 4 + sum(won)  # the caps and each charge that won
    finally:
        engine.dispose()  # an engine left to the collector closes its connections unasked


def test_rho_as_epsilon_delta() -> None:
    """ρ-zCDP reported as (ε, δ)-DP: ε = ρ + 2·sqrt(ρ·ln(1/δ)), and no cost is no cost."""
    assert epsilon(0.0, 1e-6) == 0.0
    assert epsilon(0.1, 1e-6) == pytest.approx(0.1 + 2 * (0.1 * 13.815510557964274) ** 0.5)


# --- the audit chain ----------------------------------------------------------------------------


def _chain(url: str, n: int = 5) -> None:
    """Append ``n`` records to the chain, which must verify."""
    engine = connect_control_plane(url)
    start = audit_head(engine)[0]
    for i in range(start, start + n):
        append_audit(
            engine,
            actor="alice",
            action="released",
            project="p",
            body={"spec_digest": f"d{i}", "rho": 0.01 * i},
        )
    assert verify_audit(engine) == start + n
    engine.dispose()


@contextmanager
def _tamper(url: str) -> Iterator[Connection]:
    """A plain connection to the database, outside medler: what someone with write access to
    the database could do. Commits on leaving."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as db:
            yield db
    finally:
        engine.dispose()


RECORDS = text(
    "SELECT seq, at, actor, project, action, body, prev_hash, hash, key_id FROM audit ORDER BY seq"
).columns(body=JSON)
REWRITE = text(
    "UPDATE audit SET body = :body, prev_hash = :prev, hash = :hash WHERE seq = :seq"
).bindparams(bindparam("body", type_=JSON))
Seal = Callable[[str, str, str], str]  # (key id, previous hash, content) -> hash


def _plain_sha256(_key_id: str, prev: str, content: str) -> str:
    """What a forger without the audit key can compute: the record's exact content, chained
    with SHA-256 as an unkeyed hash chain would be."""
    return hashlib.sha256((prev + content).encode()).hexdigest()


def _with_the_key(url: str) -> Seal:
    """What a forger who also stole the audit key file can compute."""
    engine = connect_control_plane(url)
    keys = keys_for(engine)
    engine.dispose()
    return lambda key_id, prev, content: keys.mac(key_id, prev + content)


def _rewrite_from(db: Connection, first: int, seal: Seal) -> str:
    """Edit every record from ``first`` on and recompute the hashes with ``seal`` so that the
    chain and its head are consistent again: a careful forger with write access. Returns the
    new head's hash."""
    prev = GENESIS
    for r in db.execute(RECORDS).mappings().all():
        if r["seq"] < first:
            prev = r["hash"]
            continue
        body = {**r["body"], "rho": 0.0}
        content = _content(
            r["seq"], r["at"], r["actor"], r["project"], r["action"], body, r["key_id"]
        )
        digest = seal(r["key_id"], prev, content)
        db.execute(REWRITE, {"body": body, "prev": prev, "hash": digest, "seq": r["seq"]})
        prev = digest
    db.execute(text("UPDATE audit_head SET hash = :hash WHERE id = 1"), {"hash": prev})
    return str(prev)


def _forge_anchors(url: str) -> None:
    """A forger who can also write the anchor file replaces it by one that ends at the new
    head (the anchors of the untouched records, and the current head)."""
    engine = connect_control_plane(url)
    path = anchor_path(engine)
    path.unlink()
    seq, digest = audit_head(engine)
    write_anchor(engine, seq, digest)
    engine.dispose()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (["UPDATE audit SET body = '{\"rho\": 0}' WHERE seq = 3"], "record 3 was changed"),
        (["UPDATE audit SET actor = 'mallory' WHERE seq = 2"], "record 2 was changed"),
        (["DELETE FROM audit WHERE seq = 2"], "record 2 is missing"),
        (["UPDATE audit SET seq = seq + 10 WHERE seq >= 3"], "record 3 is missing"),
        (
            [
                "UPDATE audit SET seq = 0 WHERE seq = 2",
                "UPDATE audit SET seq = 2 WHERE seq = 3",
                "UPDATE audit SET seq = 3 WHERE seq = 0",
            ],
            "record 2 does not follow record 1",
        ),
        (
            ["DELETE FROM audit WHERE seq >= 4"],
            r"record 4 is missing: the log ends at record 3 but 5 were written \(the tail was "
            r"cut\)",
        ),
    ],
    ids=["edited body", "edited actor", "deleted", "renumbered", "reordered", "cut tail"],
)
def test_tampering_is_caught_at_the_first_bad_record(
    control_url: str, tamper: list[str], message: str
) -> None:
    """Every change made directly in the database breaks the chain at the first record it
    touches, or leaves a chain that no longer ends at its head."""
    _chain(control_url)
    with _tamper(control_url) as db:
        for statement in tamper:
            db.execute(text(statement))
    with pytest.raises(AuditChainBroken, match=message):
        verify_audit(connect_control_plane(control_url))


@pytest.mark.parametrize(
    ("keyed", "message"),
    [
        (True, "record 3 was changed after it was written"),
        (False, "record 3 is not authenticated, though records before it are"),
    ],
    ids=["claiming the current key", "claiming to be from before keyed audit"],
)
def test_a_forged_record_in_the_middle_is_caught(
    control_url: str, keyed: bool, message: str
) -> None:
    """A record inserted between 2 and 3, chained on record 2 with a plain SHA-256 over its
    exact content (the forger has the database but not the audit key): it is caught at
    itself, whether it names the key its neighbours were sealed with or none."""
    _chain(control_url)
    with _tamper(control_url) as db:
        # two steps: a unique key is checked row by row on PostgreSQL
        db.execute(text("UPDATE audit SET seq = seq + 100 WHERE seq >= 3"))
        db.execute(text("UPDATE audit SET seq = seq - 99 WHERE seq >= 100"))
        prev, key_id = db.execute(text("SELECT hash, key_id FROM audit WHERE seq = 2")).one()
        key_id = key_id if keyed else None
        at, body = "2020-01-01T00:00:00.000000+00:00", {"spec_digest": "forged", "rho": 0.0}
        content = _content(3, at, "alice", "p", "released", body, key_id)
        db.execute(
            text(
                "INSERT INTO audit (seq, at, actor, project, action, body, prev_hash, hash, "
                "key_id) VALUES (3, :at, 'alice', 'p', 'released', :body, :prev, :hash, "
                ":key_id)"
            ).bindparams(bindparam("body", type_=JSON)),
            {
                "at": at,
                "body": body,
                "prev": prev,
                "key_id": key_id,
                "hash": _plain_sha256("", prev, content),
            },
        )
    with pytest.raises(AuditChainBroken, match=message):
        verify_audit(connect_control_plane(control_url))


def test_a_consistent_rewrite_with_a_plain_hash_chain_is_caught(control_url: str) -> None:
    """A forger with the database but not the audit key rewrites records 4 and 5 and
    recomputes a plain SHA-256 chain after them, head included: the first rewritten record's
    authenticator does not verify."""
    _chain(control_url)
    engine = connect_control_plane(control_url)
    head = audit_head(engine)
    with _tamper(control_url) as db:
        _rewrite_from(db, 4, _plain_sha256)
    assert audit_head(engine) != head  # the chain and its head are consistent ...
    with pytest.raises(AuditChainBroken, match="record 4 was changed after it was written"):
        verify_audit(engine)  # ... but not authentic


def test_the_anchors_catch_a_rewrite_by_someone_with_the_key(control_url: str) -> None:
    """A forger who also holds the audit key recomputes an authentic chain from record 4 on:
    the anchor written outside the database after record 4 no longer matches."""
    _chain(control_url)
    engine = connect_control_plane(control_url)
    with _tamper(control_url) as db:
        _rewrite_from(db, 4, _with_the_key(control_url))
    with pytest.raises(
        AuditChainBroken,
        match="record 4 no longer matches the anchor written outside the database",
    ):
        verify_audit(engine)


def test_a_witness_catches_a_consistent_rewrite_before_it(control_url: str) -> None:
    """A forger with the key and the anchor file rewrites records, recomputes every hash after
    them, head included, and replaces the anchors: the chain verifies. A witness (the head
    written down after record 3) still passes when only records after it were rewritten, and
    catches a rewrite from record 2 on."""
    _chain(control_url, 3)
    engine = connect_control_plane(control_url)
    witness = audit_head(engine)
    assert witness[0] == 3
    _chain(control_url, 2)
    seal = _with_the_key(control_url)

    head = audit_head(engine)
    with _tamper(control_url) as db:
        _rewrite_from(db, 4, seal)
    _forge_anchors(control_url)
    assert audit_head(engine) != head  # records 4 and 5 and the head are new
    assert verify_audit(engine) == 5
    assert verify_audit(engine, witness=witness) == 5  # record 3 is as it was written

    with _tamper(control_url) as db:
        _rewrite_from(db, 2, seal)
    _forge_anchors(control_url)
    assert verify_audit(engine) == 5  # consistent: nothing the forger could reach tells
    with pytest.raises(
        AuditChainBroken, match="record 3 no longer matches the witness written down earlier"
    ):
        verify_audit(engine, witness=witness)


def test_a_tail_cut_with_its_head_is_caught_by_the_anchors_and_a_witness(
    control_url: str,
) -> None:
    """The last record deleted and the head moved back onto the one before: the shorter chain
    is consistent, but the anchor written after record 5 names a record the log no longer
    has; and when the forger trims the anchor file too, the witness written down after record 5
    still does."""
    _chain(control_url)
    engine = connect_control_plane(control_url)
    witness = audit_head(engine)
    with _tamper(control_url) as db:
        db.execute(text("DELETE FROM audit WHERE seq = 5"))
        db.execute(
            text(
                "UPDATE audit_head SET seq = 4, "
                "hash = (SELECT hash FROM audit WHERE seq = 4) WHERE id = 1"
            )
        )
    with pytest.raises(
        AuditChainBroken, match="record 5 is missing: the anchor written outside the database"
    ):
        verify_audit(engine)
    _forge_anchors(control_url)
    assert verify_audit(engine) == 4
    with pytest.raises(
        AuditChainBroken, match="record 5 is missing: the witness written down earlier names it"
    ):
        verify_audit(engine, witness=witness)


def _append(url: str, writer: int, barrier: Any) -> list[int]:
    engine = connect_control_plane(url)
    barrier.wait()
    try:
        return [
            append_audit(engine, actor=f"w{writer}", action="released", project="p", body={"i": i})
            for i in range(APPENDS)
        ]
    finally:
        engine.dispose()


@POLARS_FORK
@THREADED_FORK
def test_concurrent_appends_leave_one_unbroken_chain(control_url: str) -> None:
    """20 processes appending 5 records each at once: 100 records, numbered 1 to 100 without a
    gap or a repeat, in one chain that verifies."""
    connect_control_plane(control_url).dispose()
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager:
        barrier = manager.Barrier(WRITERS)
        with context.Pool(WRITERS) as pool:
            seqs = pool.starmap(_append, [(control_url, w, barrier) for w in range(WRITERS)])
    assert sorted(s for per_writer in seqs for s in per_writer) == list(range(1, 101))
    assert verify_audit(connect_control_plane(control_url)) == WRITERS * APPENDS
