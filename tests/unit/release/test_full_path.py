"""spec → preview → reserve → release → audit, for both modes, with the control plane."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from release import MemoryStore, QuerySpec, Releaser
from release.governance import (
    DATASET,
    BudgetExhausted,
    BudgetScope,
    Ledger,
    connect_control_plane,
    verify_audit,
)
from release.governance._db import default_url
from release.governance._models import AuditRecord
from tests.research_data import research_dir

__all__ = ["research_dir"]

DP = QuerySpec.model_validate(
    {
        "table": "exposure",
        "group_by": ["school_code"],
        "mode": "dp",
        "rho": 0.2,
        "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
    }
)
SDC = QuerySpec.model_validate(
    {
        "table": "student_terms",
        "group_by": ["grade"],
        "margins": True,
        "measures": [{"kind": "count_students"}],
    }
)


@pytest.fixture
def control(research_dir: Path, tmp_path: Path) -> tuple[Releaser, Ledger]:
    engine = connect_control_plane(default_url(tmp_path))
    ledger = Ledger(engine)
    ledger.set_cap(DATASET, 1.0, actor="office")
    ledger.set_cap(BudgetScope.of_project("p"), 0.5, actor="office")
    ledger.set_cap(BudgetScope.of_researcher("p", "alice"), 0.5, actor="office")
    return Releaser(research_dir, store=MemoryStore(), control=engine), ledger


def test_the_full_path_charges_dp_once_and_audits_every_request(
    control: tuple[Releaser, Ledger],
) -> None:
    e, ledger = control
    assert e.preview(DP).rho == pytest.approx(0.2)
    assert ledger.totals()[0].spent == 0.0  # a preview is free
    first = e.release(DP, "alice", project="p")
    e.release(DP, "alice", project="p")  # identical: the cached release, no new charge
    e.release(SDC, "alice", project="p")
    spent = {t.scope: t.spent for t in ledger.totals()}
    assert spent[DATASET] == pytest.approx(first.rho)
    with pytest.raises(BudgetExhausted, match="budget has ρ"):
        e.release(QuerySpec.model_validate({**DP.model_dump(), "rho": 0.4}), "alice", project="p")
    assert {t.scope: t.spent for t in ledger.totals()}[DATASET] == pytest.approx(first.rho)
    assert verify_audit(e.control) == 3 + 6  # type: ignore[arg-type]
    with Session(e.control) as session:
        records = session.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
        actions = [r.action for r in records]
        bodies = [json.dumps(r.body) for r in records]
    assert actions[:3] == ["budget set"] * 3  # the fixture's caps
    # the dp release's charge and its release, each in the chain; the refusal charges nothing
    assert actions[3:] == [
        "budget charged",
        "charge released",
        "released",
        "released",
        "released",
        "refused",
    ]
    charged = records[3].body
    assert (charged["researcher"], charged["rho"]) == ("alice", pytest.approx(first.rho))
    assert charged["scopes"] == ["dataset", "project:p", "researcher:p:alice"]
    requests = records[5:]
    assert [requests[1].body.get("cached"), requests[1].body["rho"]] == [True, 0.0]
    for body in bodies[5:]:
        assert '"values"' not in body and '"cells"' not in body and "_pid" not in body
        assert "policy_version" in body and "spec_digest" in body
