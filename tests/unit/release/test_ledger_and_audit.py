"""The control plane on SQLite: budgets at three levels, a race of 50 processes for the last of
a budget, crash safety of a reservation, and an audit chain that catches tampering."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from release.governance import (
    AuditChainBroken,
    BudgetExhausted,
    Ledger,
    append_audit,
    connect_control_plane,
    verify_audit,
)
from release.governance._db import default_url
from release.governance._ledger import DATASET, epsilon, project_scope, researcher_scope

RACERS = 50
COST = 0.03


def _ledger(tmp_path: Path, *, dataset: float = 1.0, project: float = 10.0,
            researcher: float = 10.0) -> tuple[Ledger, str]:  # fmt: skip
    url = default_url(tmp_path)
    ledger = Ledger(connect_control_plane(url))
    ledger.set_cap(DATASET, dataset)
    ledger.set_cap(project_scope("p"), project)
    for who in ("alice", "bob"):
        ledger.set_cap(researcher_scope("p", who), researcher)
    return ledger, url


def test_every_level_caps_the_charge(tmp_path: Path) -> None:
    ledger, _ = _ledger(tmp_path, dataset=1.0, project=0.5, researcher=0.3)
    ledger.reserve("p", "alice", 0.3, "a")
    with pytest.raises(BudgetExhausted, match="researcher budget has ρ 0 left"):
        ledger.reserve("p", "alice", 0.01, "b")
    ledger.reserve("p", "bob", 0.2, "c")
    with pytest.raises(BudgetExhausted, match="project budget has ρ 0 left"):
        ledger.reserve("p", "bob", 0.01, "d")
    totals = {t.scope: t for t in ledger.totals()}
    assert totals[DATASET].spent == pytest.approx(0.5)
    assert totals[DATASET].reserved == pytest.approx(0.5)  # nothing marked released yet


def test_a_reservation_is_never_refunded(tmp_path: Path) -> None:
    """A crash between reserving and releasing leaves the charge: noise may have been drawn."""
    ledger, url = _ledger(tmp_path)
    entry = ledger.reserve("p", "alice", 0.2, "a")
    reopened = Ledger(connect_control_plane(url))  # the process died; a new one starts
    totals = {t.scope: t for t in reopened.totals()}
    assert totals[DATASET].spent == pytest.approx(0.2)
    assert totals[DATASET].reserved == pytest.approx(0.2)
    reopened.mark_released(entry)
    totals = {t.scope: t for t in reopened.totals()}
    assert (totals[DATASET].spent, totals[DATASET].reserved) == (pytest.approx(0.2), 0.0)


def _race(url: str, who: str, barrier: multiprocessing.synchronize.Barrier) -> bool:
    ledger = Ledger(connect_control_plane(url))
    barrier.wait()
    try:
        ledger.reserve("p", who, COST, "race")
    except BudgetExhausted:
        return False
    return True


# The racers are forked (a fresh interpreter per racer would spend minutes importing); they
# touch only the database, never Polars, whose fork warning is about its own thread pool.
@pytest.mark.filterwarnings("ignore:Using fork\\(\\) can cause Polars:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_fifty_processes_racing_never_overspend(tmp_path: Path) -> None:
    _, url = _ledger(tmp_path, dataset=1.0)
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager:
        barrier = manager.Barrier(RACERS)
        with context.Pool(RACERS) as pool:
            won = pool.starmap(_race, [(url, ("alice", "bob")[i % 2], barrier)
                                       for i in range(RACERS)])  # fmt: skip
    totals = {t.scope: t for t in Ledger(connect_control_plane(url)).totals()}
    assert sum(won) == int(1.0 / COST)  # 33 fit under the cap, and all of them got it
    assert totals[DATASET].spent == pytest.approx(sum(won) * COST)
    assert totals[DATASET].spent <= 1.0


def test_rho_as_epsilon_delta() -> None:
    assert epsilon(0.0, 1e-6) == 0.0
    assert epsilon(0.1, 1e-6) == pytest.approx(0.1 + 2 * (0.1 * 13.815510557964274) ** 0.5)


def _chain(tmp_path: Path, n: int = 5) -> tuple[str, Path]:
    url = default_url(tmp_path)
    engine = connect_control_plane(url)
    for i in range(n):
        append_audit(engine, actor="alice", action="released", project="p",
                     body={"spec_digest": f"d{i}", "rho": 0.01 * i})  # fmt: skip
    assert verify_audit(engine) == n
    return url, tmp_path / "control.db"


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("UPDATE audit SET body = '{\"rho\": 0}' WHERE seq = 3", "record 3 was changed"),
        ("UPDATE audit SET actor = 'mallory' WHERE seq = 2", "record 2 was changed"),
        ("DELETE FROM audit WHERE seq = 2", "record 2 is missing"),
        ("UPDATE audit SET seq = seq + 10 WHERE seq >= 3", "record 3 is missing"),
    ],
    ids=["edited body", "edited actor", "deleted", "renumbered"],
)
def test_tampering_is_caught_at_the_first_bad_record(
    tmp_path: Path, tamper: str, message: str
) -> None:
    url, path = _chain(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute(tamper)
    with pytest.raises(AuditChainBroken, match=message):
        verify_audit(connect_control_plane(url))


def test_a_forged_record_in_the_middle_is_caught(tmp_path: Path) -> None:
    """Swap two records' contents (a reordering): the chain no longer follows."""
    url, path = _chain(tmp_path)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT seq, at, actor, project, action, body, prev_hash, hash "
                          "FROM audit WHERE seq IN (2, 3) ORDER BY seq").fetchall()  # fmt: skip
        db.execute("DELETE FROM audit WHERE seq IN (2, 3)")
        for (seq, *_), (_, *rest) in zip(rows, reversed(rows), strict=True):
            db.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (seq, *rest))
    with pytest.raises(AuditChainBroken, match=r"record 2 (does not follow|was changed)"):
        verify_audit(connect_control_plane(url))
