"""A release killed between reserving its charge and releasing its values, on SQLite and on
PostgreSQL: the charge stays spent (noise may have been drawn), nothing is refunded or cached,
and the ledger and audit log stay consistent."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import release._releaser
from release import FileStore, QuerySpec, Releaser
from release.governance import DATASET, BudgetScope, Ledger, connect_control_plane, verify_audit
from release.governance._models import AuditRecord
from tests.control_plane import control_url
from tests.research_data import research_dir

__all__ = ["control_url", "research_dir"]

DP = QuerySpec.model_validate(
    {
        "table": "exposure",
        "group_by": ["school_code"],
        "mode": "dp",
        "rho": 0.2,
        "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
    }
)
SCOPES = (DATASET, BudgetScope.of_project("p"), BudgetScope.of_researcher("p", "alice"))
CHILD_SECONDS = 120


def _killed_mid_release(data_dir: Path, store: Path, url: str) -> None:
    """In the child: the process dies (SIGKILL: no cleanup, no ``finally``) as soon as the
    measurement, which draws the noise, starts."""

    def die(*_: Any) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    release._releaser.run_measurement = die  # type: ignore[assignment]
    engine = Releaser(data_dir, store=FileStore(store), control=connect_control_plane(url))
    engine.release(DP, "alice", project="p")


# The child is a fresh interpreter (spawned), as a server's worker would be: a forked child
# could not use Polars, whose thread pool the session's snapshot build has already started.
def test_a_release_killed_after_reserving_stays_charged(
    research_dir: Path, control_url: str, tmp_path: Path
) -> None:
    ledger = Ledger(connect_control_plane(control_url))
    for scope in SCOPES:
        ledger.set_cap(scope, 1.0, actor="office")
    store = tmp_path / "release"
    child = multiprocessing.get_context("spawn").Process(
        target=_killed_mid_release, args=(research_dir, store, control_url)
    )
    child.start()
    try:
        child.join(CHILD_SECONDS)
    finally:
        if child.is_alive():
            child.kill()
            child.join()
    assert child.exitcode == -signal.SIGKILL

    totals = {t.scope: t for t in ledger.totals()}
    for scope in SCOPES:  # charged at every level, and never marked released
        assert (totals[scope].spent, totals[scope].reserved) == (pytest.approx(0.2),) * 2
    audited = verify_audit(ledger.engine)
    assert audited == len(SCOPES) + 1  # the caps, and the charge the child committed
    assert _actions(ledger)[-1] == "budget charged"  # and nothing after it

    engine = Releaser(research_dir, store=FileStore(store), control=ledger.engine)
    again = engine.release(DP, "alice", project="p")
    assert not again.cached and again.rho == pytest.approx(0.2)  # no earlier release to reuse
    totals = {t.scope: t for t in ledger.totals()}
    for scope in SCOPES:  # charged again: the killed release's charge was not refunded
        assert totals[scope].spent == pytest.approx(0.4)
        assert totals[scope].reserved == pytest.approx(0.2)
    assert verify_audit(ledger.engine) == audited + 3
    assert _actions(ledger)[audited:] == ["budget charged", "charge released", "released"]


def _actions(ledger: Ledger) -> list[str]:
    with Session(ledger.engine) as session:
        return list(session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))
