"""The researcher's routes: the catalogue, their projects and budgets, preview and submit, and
their releases, downloadable as CSV, JSON or Parquet."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.service._convert import (
    budget_level_out,
    log_entry_out,
    plan_out,
    preview_out,
    project_out,
    release_out,
    request_out,
)
from api.service._deps import CurrentResearcher, ServicesDep
from api.service._schemas import (
    BudgetOut,
    CatalogueOut,
    ColumnOut,
    ErrorOut,
    LogOut,
    PlanIn,
    PlanOut,
    PreviewOut,
    ProjectsOut,
    ReleaseOut,
    RequestsOut,
    SubmitIn,
    SubmitOut,
    TableOut,
)
from release import FORMATS, QuerySpec, export_release
from release.governance import Action, BudgetScope

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (401, "No valid token."),
        (403, "Not allowed, or refused."),
        (404, "Not found."),
        (409, "Budget exhausted."),
        (410, "Gone: kept no longer under the retention policy."),
        (422, "Invalid."),
        (429, "Rate limited."),
    )
}
router = APIRouter(tags=["researcher"], responses=ERRORS)
DEFAULT_DELTA = 1e-9


@router.get("/projects", response_model=ProjectsOut, summary="Your projects")
def projects(actor: CurrentResearcher, svc: ServicesDep) -> ProjectsOut:
    return ProjectsOut(
        projects=[project_out(p) for p in svc.governance.projects(actor)], data=svc.label
    )


@router.get(
    "/projects/{project}/catalogue",
    response_model=CatalogueOut,
    summary="The tables, columns and public keys your project may use",
)
def catalogue(project: str, actor: CurrentResearcher, svc: ServicesDep) -> CatalogueOut:
    approval = svc.governance.project_access(actor, project, Action.READ_CATALOGUE)
    with svc.lock:
        keys = svc.releaser.public_keys()
    tables = []
    for name, table in sorted(svc.releaser.policies.catalogue.tables.items()):
        if not table.releasable:
            continue
        approved = list(approval.tables.get(name, ()))
        columns = [
            ColumnOut(
                name=col,
                kind=c.kind,
                keys=keys.get(c.keys) if c.keys else None,
                bounds=tuple(c.bounds) if c.bounds else None,  # type: ignore[arg-type]
            )
            for col, c in table.columns.items()
            if c.kind != "identifier"
        ]
        tables.append(
            TableOut(
                name=name, description=table.description, approved_columns=approved, columns=columns
            )
        )
    return CatalogueOut(
        project=project, policy_version=svc.releaser.policies.version, tables=tables, data=svc.label
    )


@router.get(
    "/projects/{project}/budget",
    response_model=BudgetOut,
    summary="Spent and remaining privacy budget, as ρ and as (ε, δ)",
)
def budget(
    project: str,
    actor: CurrentResearcher,
    svc: ServicesDep,
    delta: Annotated[float, Query(gt=0, lt=1, description="δ for the ε figures.")] = DEFAULT_DELTA,
) -> BudgetOut:
    svc.governance.project_access(actor, project, Action.READ_OWN_RELEASES)
    wanted = {
        BudgetScope.dataset(),
        BudgetScope.of_project(project),
        BudgetScope.of_researcher(project, actor.id),
    }
    levels = [
        budget_level_out(t, delta) for t in svc.governance.ledger.totals() if t.scope in wanted
    ]
    return BudgetOut(delta=delta, levels=levels, data=svc.label)


@router.post(
    "/projects/{project}/preview",
    response_model=PreviewOut,
    summary="Preview a spec, free: dp accuracy or sdc suppression",
)
def preview(
    project: str, spec: QuerySpec, actor: CurrentResearcher, svc: ServicesDep
) -> PreviewOut:
    with svc.lock:
        return preview_out(svc.releases.preview(actor, project, spec), svc.label)


@router.post(
    "/projects/{project}/plan",
    response_model=PlanOut,
    summary="Price a dp question: the ρ for the accuracy wanted, free",
)
def plan(project: str, body: PlanIn, actor: CurrentResearcher, svc: ServicesDep) -> PlanOut:
    with svc.lock:
        planned = svc.releases.plan(
            actor,
            project,
            body.spec,
            persons=body.persons,
            half_width=body.half_width,
            measure=body.measure,
        )
    return plan_out(planned, svc.label)


@router.post(
    "/projects/{project}/releases",
    response_model=SubmitOut,
    summary="Submit a spec: released, or held for the DPO's review",
)
def submit(project: str, body: SubmitIn, actor: CurrentResearcher, svc: ServicesDep) -> SubmitOut:
    with svc.lock:
        outcome = svc.releases.submit(actor, project, body.spec, justification=body.justification)
    if outcome.release is not None:
        return SubmitOut(
            status="released",
            release=release_out(outcome.release, svc.label),
            request=None,
            data=svc.label,
        )
    assert outcome.request_id is not None
    info = svc.releases.request(outcome.request_id)
    return SubmitOut(status="held", release=None, request=request_out(info), data=svc.label)


@router.get("/releases", response_model=LogOut, summary="Your releases, newest first")
def releases(
    actor: CurrentResearcher,
    svc: ServicesDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> LogOut:
    entries = svc.releases.releases(actor)
    return LogOut(
        total=len(entries),
        offset=offset,
        limit=limit,
        entries=[log_entry_out(e) for e in entries[offset : offset + limit]],
        data=svc.label,
    )


@router.get("/releases/{release_id}", response_model=ReleaseOut, summary="One of your releases")
def release(release_id: str, actor: CurrentResearcher, svc: ServicesDep) -> ReleaseOut:
    return release_out(svc.releases.release(actor, release_id), svc.label)


@router.get(
    "/releases/{release_id}/download",
    summary="One of your releases as CSV, JSON or Parquet",
    response_class=Response,
    responses={
        200: {
            "content": {t: {} for t in FORMATS.values()},
            "description": "The release as a file, one row per cell.",
        }
    },
)
def download(
    release_id: str,
    actor: CurrentResearcher,
    svc: ServicesDep,
    format: Annotated[Literal["csv", "json", "parquet"], Query()] = "csv",
) -> Response:
    body = export_release(svc.releases.release(actor, release_id), format)
    return Response(
        body,
        media_type=FORMATS[format],
        headers={
            "Content-Disposition": f'attachment; filename="{release_id}.{format}"',
            "X-Medler-Data": svc.label,
        },
    )


@router.get("/requests", response_model=RequestsOut, summary="Your held and reviewed requests")
def requests(actor: CurrentResearcher, svc: ServicesDep) -> RequestsOut:
    return RequestsOut(
        requests=[request_out(r) for r in svc.releases.requests(actor)], data=svc.label
    )
