"""The DPO's routes (the release log, held requests and their review, budgets, the audit
chain) and the statistics office's (build status, projects, people, tokens). The command line
stays the office's main tool; these routes let it work from elsewhere."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.service._convert import budget_level_out, log_entry_out, project_out, request_out
from api.service._deps import CurrentDpo, CurrentOffice, CurrentOverseer, ServicesDep
from api.service._researchers import DEFAULT_DELTA, ERRORS
from api.service._schemas import (
    ApproveIn,
    AuditOut,
    BudgetOut,
    DoneOut,
    LogOut,
    MemberIn,
    PersonIn,
    ProjectIn,
    ProjectsOut,
    RequestOut,
    RequestsOut,
    ReviewIn,
    StatusOut,
    TokenIn,
    TokenOut,
)
from release import approvable_tables, exact_outputs
from release.governance import AuditChainBroken, audit_head, parse_witness, verify_audit

dpo = APIRouter(prefix="/dpo", tags=["dpo"], responses=ERRORS)
office = APIRouter(prefix="/office", tags=["office"], responses=ERRORS)

Status = Literal["released", "refused"]
RequestStatus = Literal["held", "approved", "released", "rejected", "refused"]


# --- the DPO ----------------------------------------------------------------------------------


@dpo.get("/releases", response_model=LogOut, summary="The release log, filtered, newest first")
def release_log(
    actor: CurrentDpo,
    svc: ServicesDep,
    project: str | None = None,
    researcher: str | None = None,
    status: Status | None = None,
    since: Annotated[dt.date | None, Query(description="From this day (UTC).")] = None,
    until: Annotated[dt.date | None, Query(description="To this day (UTC).")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> LogOut:
    entries = svc.releases.release_log(
        actor, project=project, requester=researcher, status=status, since=since, until=until
    )
    return LogOut(
        total=len(entries),
        offset=offset,
        limit=limit,
        entries=[log_entry_out(e) for e in entries[offset : offset + limit]],
        data=svc.label,
    )


@dpo.get("/requests", response_model=RequestsOut, summary="Requests (held ones by default)")
def requests(
    actor: CurrentDpo,
    svc: ServicesDep,
    status: RequestStatus | None = "held",
    project: str | None = None,
) -> RequestsOut:
    found = svc.releases.requests(actor, status=status, project=project)
    return RequestsOut(requests=[request_out(r) for r in found], data=svc.label)


@dpo.get("/requests/{request_id}", response_model=RequestOut, summary="One request")
def request(request_id: int, actor: CurrentDpo, svc: ServicesDep) -> RequestOut:
    return request_out(svc.releases.request(request_id))


def _review(
    request_id: int, body: ReviewIn, actor: CurrentDpo, svc: ServicesDep, approve: bool
) -> RequestOut:
    with svc.lock:
        info = svc.releases.review(actor, request_id, approve=approve, reason=body.reason)
    return request_out(info)


@dpo.post(
    "/requests/{request_id}/approve",
    response_model=RequestOut,
    summary="Approve a held request: released with the checks it failed waived",
)
def approve(request_id: int, body: ReviewIn, actor: CurrentDpo, svc: ServicesDep) -> RequestOut:
    return _review(request_id, body, actor, svc, True)


@dpo.post(
    "/requests/{request_id}/reject",
    response_model=RequestOut,
    summary="Reject a held request, with a reason",
)
def reject(request_id: int, body: ReviewIn, actor: CurrentDpo, svc: ServicesDep) -> RequestOut:
    return _review(request_id, body, actor, svc, False)


@dpo.get("/budgets", response_model=BudgetOut, summary="Every budget, as ρ and as (ε, δ)")
def budgets(
    actor: CurrentOverseer,
    svc: ServicesDep,
    delta: Annotated[float, Query(gt=0, lt=1, description="δ for the ε figures.")] = DEFAULT_DELTA,
) -> BudgetOut:
    exact = exact_outputs(svc.releaser.store.all())
    levels = [
        budget_level_out(t, delta, exact.get(t.scope, (0, 0)))
        for t in svc.governance.ledger.totals()
    ]
    return BudgetOut(delta=delta, data=svc.label, levels=levels)


@dpo.get("/audit", response_model=AuditOut, summary="Verify the audit chain")
def audit(
    actor: CurrentDpo,
    svc: ServicesDep,
    witness: Annotated[str | None, Query(description="SEQ:HASH written down earlier.")] = None,
) -> AuditOut:
    seen = parse_witness(witness) if witness is not None else None
    seq, digest = audit_head(svc.governance.engine)
    try:
        count = verify_audit(svc.governance.engine, witness=seen, store=svc.releaser.store.all())
    except AuditChainBroken as broken:
        return AuditOut(
            ok=False, records=0, head_seq=seq, head_hash=digest, problem=str(broken), data=svc.label
        )
    return AuditOut(
        ok=True, records=count, head_seq=seq, head_hash=digest, problem=None, data=svc.label
    )


# --- the office -------------------------------------------------------------------------------


@office.get("/status", response_model=StatusOut, summary="The research snapshot and its tables")
def status(actor: CurrentOffice, svc: ServicesDep) -> StatusOut:
    with svc.lock:
        found = svc.releaser.status()
    return StatusOut(**found, data=svc.label)


@office.get("/projects", response_model=ProjectsOut, summary="Every project")
def projects(actor: CurrentOverseer, svc: ServicesDep) -> ProjectsOut:
    return ProjectsOut(
        projects=[project_out(p) for p in svc.governance.projects(actor)], data=svc.label
    )


@office.post("/projects", response_model=DoneOut, status_code=201, summary="Register a project")
def create_project(body: ProjectIn, actor: CurrentOffice, svc: ServicesDep) -> DoneOut:
    svc.governance.create_project(
        actor,
        body.id,
        purpose=body.purpose,
        legal_basis=body.legal_basis,
        organisation=body.organisation,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        tables=approvable_tables(svc.releaser.policies.catalogue, body.tables),
    )
    return DoneOut(message=f"project {body.id}: proposed", data=svc.label)


@office.post("/projects/{project}/approve", response_model=DoneOut, summary="Approve a project")
def approve_project(
    project: str, body: ApproveIn, actor: CurrentOffice, svc: ServicesDep
) -> DoneOut:
    svc.governance.approve_project(actor, project, rho=body.rho)
    return DoneOut(message=f"project {project}: approved", data=svc.label)


@office.post("/projects/{project}/close", response_model=DoneOut, summary="Close a project")
def close_project(project: str, actor: CurrentOffice, svc: ServicesDep) -> DoneOut:
    svc.governance.close_project(actor, project)
    return DoneOut(message=f"project {project}: closed", data=svc.label)


@office.post(
    "/projects/{project}/members",
    response_model=DoneOut,
    status_code=201,
    summary="Add a researcher to a project, with their budget",
)
def add_member(project: str, body: MemberIn, actor: CurrentOffice, svc: ServicesDep) -> DoneOut:
    svc.governance.add_member(actor, project, body.researcher, rho=body.rho)
    return DoneOut(message=f"project {project}: {body.researcher} added", data=svc.label)


@office.post("/people", response_model=DoneOut, status_code=201, summary="Register a person")
def add_person(body: PersonIn, actor: CurrentOffice, svc: ServicesDep) -> DoneOut:
    svc.governance.add_person(
        actor, body.id, role=body.role, name=body.name, organisation=body.organisation
    )
    return DoneOut(message=f"{body.role} {body.id}: added", data=svc.label)


@office.post(
    "/tokens",
    response_model=TokenOut,
    status_code=201,
    summary="Issue a token (shown once; only its hash is kept)",
)
def issue_token(body: TokenIn, actor: CurrentOffice, svc: ServicesDep) -> TokenOut:
    issued = svc.governance.issue_token(actor, body.person, days=body.days)
    return TokenOut(
        token=issued.token,
        token_id=issued.token_id,
        person=issued.person,
        expires_at=issued.expires_at,
        data=svc.label,
    )


@office.post("/tokens/{token_id}/revoke", response_model=DoneOut, summary="Revoke a token")
def revoke_token(token_id: str, actor: CurrentOffice, svc: ServicesDep) -> DoneOut:
    svc.governance.revoke_token(actor, token_id)
    return DoneOut(message=f"token {token_id}: revoked", data=svc.label)
