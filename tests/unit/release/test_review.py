"""The review workflow of the release service: a request that fails a reviewable check, or asks
for an exception, is held; the DPO (never the requester) approves it, and it is released with
exactly those checks waived and charged then, or rejects it; every step is audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from medler.errors import MedlerUserError
from release import MemoryStore, QueryRefused, QuerySpec, Releaser, ReleaseService
from release._policy import Policies, ReviewPolicy, load_policies
from release._rules import resolve
from release.governance import (
    Conflict,
    Governance,
    Ledger,
    NotAllowed,
    Principal,
    connect_control_plane,
    verify_audit,
)
from release.governance._db import default_url
from release.governance._ledger import DATASET
from release.governance._models import AuditRecord, Request
from tests.research_data import research_dir

__all__ = ["research_dir"]

BY_CLASS = ["school_code", "subject_code", "grade"]
# cells taught by fewer than 3 teachers: refused in dp mode unless a reviewer waives the check
FEW_TEACHERS = QuerySpec.model_validate(
    {
        "table": "exposure",
        "group_by": BY_CLASS,
        "mode": "dp",
        "rho": 0.1,
        "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
    }
)
BY_GRADE = QuerySpec.model_validate(
    {
        "table": "student_terms",
        "group_by": ["grade"],
        "measures": [{"kind": "count_students"}],
    }
)
OFFICE_A, OFFICE_B = Principal("registrar", "statistician"), Principal("approver", "statistician")


@dataclass
class World:
    service: ReleaseService
    gov: Governance
    ann: Principal
    bob: Principal
    dora: Principal

    def actions(self) -> list[str]:
        with Session(self.gov.engine) as session:
            return [
                r.action for r in session.scalars(select(AuditRecord).order_by(AuditRecord.seq))
            ]

    def last_body(self, action: str) -> dict[str, Any]:
        with Session(self.gov.engine) as session:
            rows = session.scalars(
                select(AuditRecord)
                .where(AuditRecord.action == action)
                .order_by(AuditRecord.seq.desc())
            ).all()
            return dict(rows[0].body)

    def spent(self) -> float:
        return {t.scope: t.spent for t in Ledger(self.gov.engine).totals()}[DATASET]


def _world(research_dir: Path, tmp_path: Path, policies: Policies | None = None) -> World:
    control = connect_control_plane(default_url(tmp_path))
    gov = Governance(control)
    gov.bootstrap("root", name="Root", organisation="Uni")
    for person in (OFFICE_A, OFFICE_B):  # the second statistician confirmed by the first
        proposal = gov.add_person(
            gov.person("root"),
            person.id,
            role=person.role,
            name=person.id.title(),
            organisation="Uni",
        )
        if proposal is not None:
            gov.decide(OFFICE_A, proposal, confirm=True)
    raised = gov.set_budget(OFFICE_A, DATASET, 1.0)
    assert raised is not None  # setting a cap where there was none: a second person confirms
    gov.decide(OFFICE_B, raised, confirm=True)
    today = dt.datetime.now(dt.UTC).date()
    gov.create_project(
        OFFICE_A,
        "p",
        purpose="Teachers and absence",
        legal_basis="Statistics",
        organisation="Uni",
        valid_from=today - dt.timedelta(days=1),
        valid_to=today + dt.timedelta(days=30),
        tables={"exposure": ["*"], "student_terms": ["*"]},
    )
    gov.approve_project(OFFICE_B, "p", rho=1.0)
    for person, role in (("ann", "researcher"), ("bob", "researcher"), ("dora", "dpo")):
        actor = OFFICE_A if role == "researcher" else Principal("root", "admin")
        gov.add_person(actor, person, role=role, name=person.title(), organisation="Uni")
    gov.add_member(OFFICE_A, "p", "ann", rho=0.5)
    gov.add_member(OFFICE_A, "p", "bob", rho=0.5)
    engine = Releaser(research_dir, policies=policies, store=MemoryStore(), control=control)
    service = ReleaseService(engine, gov)
    return World(service, gov, gov.person("ann"), gov.person("bob"), gov.person("dora"))


@pytest.fixture
def world(research_dir: Path, tmp_path: Path) -> World:
    return _world(research_dir, tmp_path)


def test_a_failed_reviewable_check_holds_the_request_and_approval_releases_it(
    world: World,
) -> None:
    held = world.service.submit(world.ann, "p", FEW_TEACHERS)
    assert held.status == "held" and held.release is None and held.request_id is not None
    assert [c["check"] for c in held.checks] == ["teachers"]
    assert world.spent() == 0.0  # nothing is charged while a request is held
    with pytest.raises(NotAllowed, match="'ann' is not a registered dpo"):
        world.service.review(Principal("ann", "dpo"), held.request_id, approve=True, reason="x")
    with pytest.raises(NotAllowed, match="a researcher may not review"):
        world.service.review(world.bob, held.request_id, approve=True, reason="x")
    with pytest.raises(MedlerUserError, match="a review needs a reason"):
        world.service.review(world.dora, held.request_id, approve=True, reason="  ")
    done = world.service.review(
        world.dora,
        held.request_id,
        approve=True,
        reason="Class-level means are the project's purpose",
    )
    assert (done.status, done.reviewer) == ("released", "dora")
    assert done.release_id is not None
    assert world.spent() == pytest.approx(0.1)  # charged once, when released
    assert world.actions()[-5:] == [
        "held",
        "approved",
        "budget charged",
        "charge released",
        "released",
    ]
    released = world.last_body("released")
    assert released["waived"] == ["teachers"]
    assert (released["request"], released["reviewer"]) == (held.request_id, "dora")
    assert verify_audit(world.gov.engine) == len(world.actions())


def test_nobody_reviews_their_own_request(world: World) -> None:
    """A person has one role, so a researcher cannot review as a DPO (above); should a held
    request ever name its reviewer as its requester, the review is still refused."""
    held = world.service.submit(world.ann, "p", FEW_TEACHERS)
    with Session(world.gov.engine) as session, session.begin():
        row = session.get(Request, held.request_id)
        assert row is not None
        row.requester = "dora"
    with pytest.raises(NotAllowed, match="nobody reviews their own request"):
        world.service.review(world.dora, held.request_id, approve=True, reason="x")
    assert world.actions()[-1] == "held"


def test_a_rejected_request_releases_nothing_and_is_reviewed_once(world: World) -> None:
    held = world.service.submit(world.ann, "p", FEW_TEACHERS)
    assert held.request_id is not None
    done = world.service.review(
        world.dora,
        held.request_id,
        approve=False,
        reason="Cells this small describe single teachers",
    )
    assert (done.status, done.release_id) == ("rejected", None)
    with pytest.raises(Conflict, match="is rejected, not held"):
        world.service.review(world.dora, held.request_id, approve=True, reason="changed my mind")
    assert world.spent() == 0.0
    assert world.actions()[-2:] == ["held", "rejected"]


def test_a_check_the_policy_does_not_mark_reviewable_is_final(
    research_dir: Path, tmp_path: Path
) -> None:
    base = load_policies()
    strict = Policies(
        base.catalogue,
        base.release.model_copy(update={"review": ReviewPolicy(reviewable=())}),
        base.digest,
    )
    w = _world(research_dir, tmp_path, strict)
    with pytest.raises(QueryRefused, match="fewer than 3 teachers"):
        w.service.submit(w.ann, "p", FEW_TEACHERS, justification="please")
    assert w.actions()[-1] == "refused"
    assert w.last_body("refused")["check"] == "teachers"
    assert w.service.requests(w.dora) == []


def test_a_refusal_no_reviewer_may_waive_is_final_even_with_a_justification(
    world: World,
) -> None:
    identifying = QuerySpec.model_validate({**BY_GRADE.model_dump(), "group_by": ["student_pid"]})
    with pytest.raises(QueryRefused, match="identifies a person"):
        world.service.submit(world.ann, "p", identifying, justification="I need it")
    assert world.service.requests(world.dora) == []
    assert world.actions()[-1] == "refused"


def test_an_exception_asked_for_is_held_even_when_every_check_passes(world: World) -> None:
    with pytest.raises(MedlerUserError, match="needs a justification"):
        world.service.submit(world.ann, "p", BY_GRADE, justification=" ")
    held = world.service.submit(world.ann, "p", BY_GRADE, justification="Grade 0 separately")
    assert (held.status, held.checks) == ("held", ())
    assert held.request_id is not None
    info = world.service.request(held.request_id)
    assert (info.justification, info.status) == ("Grade 0 separately", "held")
    done = world.service.review(world.dora, held.request_id, approve=True, reason="Fine")
    assert done.status == "released"


def test_a_project_outside_its_approval_holds_the_request(world: World) -> None:
    months = QuerySpec.model_validate(
        {"table": "student_months", "group_by": ["month"], "measures": [{"kind": "count_students"}]}
    )
    held = world.service.submit(world.ann, "p", months)
    assert [c["check"] for c in held.checks] == ["approval"]
    assert "not approved for table student_months" in held.checks[0]["reason"]
    # the preview obeys the approval too, and holds nothing
    with pytest.raises(QueryRefused, match="outside the project's approval"):
        world.service.preview(world.ann, "p", months)


def test_approval_after_the_project_closed_is_refused(world: World) -> None:
    held = world.service.submit(world.ann, "p", FEW_TEACHERS)
    assert held.request_id is not None
    world.gov.close_project(OFFICE_A, "p")
    done = world.service.review(world.dora, held.request_id, approve=True, reason="ok")
    assert done.status == "refused" and done.release_id is None
    assert "project p is closed, not approved" in (done.review_reason or "")
    assert world.actions()[-2:] == ["approved", "refused"]
    assert world.spent() == 0.0


def test_approval_beyond_the_budget_is_refused_and_charges_nothing(world: World) -> None:
    held = world.service.submit(world.ann, "p", FEW_TEACHERS)
    assert held.request_id is not None
    world.gov.set_budget(OFFICE_A, "researcher:p:ann", 0.05)
    done = world.service.review(world.dora, held.request_id, approve=True, reason="ok")
    assert done.status == "refused"
    assert "researcher budget has ρ 0.05 left" in (done.review_reason or "")
    assert world.spent() == 0.0


def test_researchers_see_their_own_requests_and_the_dpo_sees_all(world: World) -> None:
    world.service.submit(world.ann, "p", FEW_TEACHERS)
    world.service.submit(world.bob, "p", BY_GRADE, justification="why not")
    assert [r.requester for r in world.service.requests(world.dora)] == ["ann", "bob"]
    assert [r.requester for r in world.service.requests(world.bob)] == ["bob"]
    assert [r.requester for r in world.service.requests(world.dora, status="held")] == [
        "ann",
        "bob",
    ]
    with pytest.raises(NotAllowed):
        world.service.requests(OFFICE_A)


def test_a_request_never_stores_a_value(world: World) -> None:
    """What the DPO sees of a held request: the spec, the checks and their reasons; never a
    count or a pseudonym."""
    held = world.service.submit(world.ann, "p", FEW_TEACHERS)
    assert held.request_id is not None
    world.service.review(world.dora, held.request_id, approve=True, reason="ok")
    with Session(world.gov.engine) as session:
        row = session.get(Request, held.request_id)
        assert row is not None
        text = repr((row.spec, row.checks, row.review_reason, row.justification))
    assert "_pid" not in text and "'cells':" not in text and "'values':" not in text


def test_more_rho_than_one_query_may_spend_is_refused_unless_reviewable(
    world: World, research_dir: Path, tmp_path: Path
) -> None:
    greedy = QuerySpec.model_validate(
        {**FEW_TEACHERS.model_dump(), "group_by": ["school_code"], "rho": 0.6}
    )
    with pytest.raises(QueryRefused, match=r"rho 0\.6 is more than one query may spend \(0\.5\)"):
        world.service.submit(world.ann, "p", greedy)
    assert world.spent() == 0.0
    base = load_policies()
    lenient = Policies(
        base.catalogue,
        base.release.model_copy(update={"review": ReviewPolicy(reviewable=("rho_per_query",))}),
        base.digest,
    )
    (tmp_path / "lenient").mkdir()
    w = _world(research_dir, tmp_path / "lenient", lenient)
    held = w.service.submit(w.ann, "p", greedy)
    assert [c["check"] for c in held.checks] == ["rho_per_query"]


def test_filters_that_leave_fewer_than_10_pupils_are_refused(world: World) -> None:
    few = QuerySpec.model_validate(
        {
            **BY_GRADE.model_dump(),
            "filters": [
                {"column": "grade", "op": "in", "values": [3]},
                {"column": "days_absent", "op": "between", "values": [50, 100]},
            ],
        }
    )
    with pytest.raises(QueryRefused, match="the filters leave fewer than 10 persons"):
        world.service.submit(world.ann, "p", few, justification="only a few")
    assert world.service.requests(world.dora) == []


def test_a_submit_computes_its_protected_table_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submit is assessed once: the checks (the linked audit needs the protected table) and
    the release read the same assessment; what a caller does with its cells never reaches
    what the engine keeps."""
    computed: list[str] = []
    original = Releaser._sdc_cells

    def counted(engine: Releaser, resolved: Any, frame: Any, *more: Any) -> Any:
        computed.append(resolved.spec.digest())
        return original(engine, resolved, frame, *more)

    monkeypatch.setattr(Releaser, "_sdc_cells", counted)
    first = world.service.submit(world.ann, "p", BY_GRADE)
    assert first.status == "released" and first.release is not None
    assert computed == [BY_GRADE.digest()]
    by_grade_and_school = QuerySpec.model_validate(
        {**BY_GRADE.model_dump(), "group_by": ["school_code"]}
    )
    world.service.preview(world.ann, "p", by_grade_and_school)
    second = world.service.submit(world.ann, "p", by_grade_and_school)
    assert second.release is not None
    # the preview is an output of its own, assessed once; the submit once more
    assert computed == [BY_GRADE.digest(), *[by_grade_and_school.digest()] * 2]
    second.release.cells[0].values.clear()
    again = world.service.release(world.ann, second.release.release_id)
    assert again.cells[0].values != {}


def test_a_history_from_a_snapshot_no_longer_current_is_never_kept(world: World) -> None:
    """A request that opened its frame before a new snapshot was switched in builds the
    project's history from that frame, but that history is never kept for the new snapshot's
    requests; one from a current frame is."""
    engine = world.service.releaser
    world.service.submit(world.ann, "p", BY_GRADE)
    snapshot = engine.snapshot.name
    resolved = resolve(BY_GRADE, engine.policies, engine._frame("student_terms").schema())
    stale = engine._frame("student_terms")
    engine._frames.clear()  # what switching in a new snapshot does to the open frames
    engine._histories.clear()
    built = engine._history("p", resolved, stale, snapshot)
    assert len(built.outputs) == 1 and engine._histories == {}
    current = engine._frame("student_terms")
    assert engine._history("p", resolved, current, snapshot).outputs == built.outputs
    assert list(engine._histories) == [("p", "student_terms")]


def test_a_dp_plan_from_a_snapshot_no_longer_current_is_never_kept(world: World) -> None:
    engine = world.service.releaser
    spec = QuerySpec.model_validate({**BY_GRADE.model_dump(), "mode": "dp", "rho": 0.1})
    frame = engine._frame(spec.table)
    resolved = resolve(spec, engine.policies, frame.schema())
    engine._frames.clear()  # a new snapshot switched in while the request was under way
    assert engine._plan(resolved, frame).rho == pytest.approx(0.1)
    assert spec.digest() not in engine._plans
    frame = engine._frame(spec.table)
    plan = engine._plan(resolved, frame)
    assert engine._plans[spec.digest()] is plan
    assert engine._plan(resolved, frame) is plan
    released = world.service.submit(world.ann, "p", spec)
    assert released.release is not None and released.release.rho == plan.rho
    assert world.spent() == pytest.approx(plan.rho)
