"""The register as a function of the audit records: what each kind of record adds, and what
it never takes from them (who asked, the spec's grouping and filters, a result's digest)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from release._register import Anchor, build_register
from release.governance._models import AuditRecord

ANCHOR = Anchor(9, "c" * 64)
TODAY = dt.date(2027, 3, 1)


def _records(*rows: tuple[str, str | None, dict[str, Any], str]) -> list[AuditRecord]:
    return [
        AuditRecord(
            seq=n,
            at=f"{at}T10:00:00.000000+00:00",
            actor="someone-secret",
            project=project,
            action=action,
            body=body,
            prev_hash="",
            hash="",
        )
        for n, (action, project, body, at) in enumerate(rows, 1)
    ]


def _created(title: str | None, start: str, end: str, **more: Any) -> dict[str, Any]:
    return {
        "title": title,
        "purpose": "Absence",
        "legal_basis": "Statistics Act",
        "organisation": "Uni",
        "tables": {"exposure": ["*"], "student_terms": ["grade"]},
        "regimes": {"exposure": "dp"},
        "valid_from": start,
        "valid_to": end,
        **more,
    }


def _released(release_id: str, rho: float, **more: Any) -> dict[str, Any]:
    spec = {"table": "exposure", "group_by": ["school_code"], "filters": [], "mode": "dp"}
    return {
        "spec": spec,
        "spec_digest": "d" * 64,
        "mode": "dp",
        "rho": rho,
        "release_id": release_id,
        "result": "e" * 64,
        "snapshot": "s1",
        **more,
    }


def test_each_record_adds_what_the_register_shows() -> None:
    records = _records(
        ("budget set", None, {"scope": "dataset", "rho": 4.0}, "2027-01-01"),
        (
            "project created",
            "p",
            _created("Absence study", "2027-01-01", "2027-12-31"),
            "2027-01-01",
        ),
        ("project approved", "p", {"rho": 1.0}, "2027-01-02"),
        ("budget set", None, {"scope": "project:p", "rho": 1.0}, "2027-01-02"),
        (
            "budget charged",
            "p",
            {
                "rho": 0.25,
                "scopes": ["dataset", "project:p", "researcher:p:x"],
                "researcher": "x",
                "entry": 1,
            },
            "2027-01-05",
        ),
        ("released", "p", _released("r-1", 0.25), "2027-01-05"),
        ("released", "p", _released("r-1", 0.0, cached=True), "2027-01-06"),
        ("held", "p", {"spec": {"table": "exposure"}, "request": 1}, "2027-01-07"),
        ("refused", "p", {"spec": {"table": "exposure"}, "reason": "r"}, "2027-01-07"),
    )
    register = build_register(records, ANCHOR, TODAY)
    (project,) = register.projects
    assert (register.dataset_budget_rho, register.dataset_spent_rho) == (4.0, 0.25)
    assert (project.title, project.organisation, project.status) == (
        "Absence study",
        "Uni",
        "active",
    )
    assert project.tables == {"exposure": "dp", "student_terms": None}
    assert (project.budget_rho, project.spent_rho, project.approved) == (1.0, 0.25, "2027-01-02")
    assert [
        (r.release_id, r.date, r.table, r.regime, r.rho, r.audit_record) for r in project.releases
    ] == [("r-1", "2027-01-05", "exposure", "dp", 0.25, 6)]
    text = json.dumps(register.to_json())
    for hidden in ("someone-secret", "school_code", "d" * 64, "e" * 64, "grade", '"x"'):
        assert hidden not in text, hidden


@pytest.mark.parametrize(
    ("start", "end", "closed", "status"),
    [
        ("2027-04-01", "2027-12-31", False, "not started"),
        ("2026-01-01", "2027-02-28", False, "expired"),
        ("2027-01-01", "2027-03-01", False, "active"),  # its last day
        ("2027-01-01", "2027-12-31", True, "closed"),
    ],
)
def test_a_project_s_status_on_the_register_s_day(
    start: str, end: str, closed: bool, status: str
) -> None:
    rows: list[tuple[str, str | None, dict[str, Any], str]] = [
        ("project created", "p", _created(None, start, end), "2026-01-01"),
        ("project approved", "p", {"rho": 1.0}, "2026-01-01"),
    ]
    if closed:
        rows.append(("project closed", "p", {"tokens_ended": 2}, "2027-02-01"))
    (project,) = build_register(_records(*rows), ANCHOR, TODAY).projects
    assert (project.status, project.title) == (status, "p")
    assert project.closed == ("2027-02-01" if closed else None)


def test_proposed_projects_are_left_out_and_deleted_values_are_dated() -> None:
    records = _records(
        ("project created", "p", _created(None, "2027-01-01", "2027-12-31"), "2027-01-01"),
        ("project created", "q", _created(None, "2027-01-01", "2027-12-31"), "2027-01-01"),
        ("project approved", "p", {"rho": 1.0}, "2027-01-02"),
        ("released", "p", _released("r-1", 0.1), "2027-01-05"),
        ("released", "p", _released("r-2", 0.1), "2027-01-06"),
        (
            "deleted",
            None,
            {"kind": "released tables", "name": "p", "releases": ["r-1"]},
            "2027-02-10",
        ),
        ("deleted", None, {"kind": "key version", "name": "mk-1"}, "2027-02-11"),
    )
    (project,) = build_register(records, ANCHOR, TODAY).projects
    assert project.id == "p"
    assert [(r.release_id, r.values_deleted) for r in project.releases] == [
        ("r-1", "2027-02-10"),
        ("r-2", None),
    ]


def test_an_organisation_the_chain_did_not_record_comes_from_the_project() -> None:
    facts = _created(None, "2027-01-01", "2027-12-31")
    del facts["organisation"]
    records = _records(
        ("project created", "p", facts, "2027-01-01"),
        ("project approved", "p", {"rho": 1.0}, "2027-01-02"),
    )
    (project,) = build_register(records, ANCHOR, TODAY, {"p": "Old Uni"}).projects
    assert project.organisation == "Old Uni"
