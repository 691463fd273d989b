"""The public register, without login: ``/register`` (a page: server-rendered HTML, one
stylesheet, no script) and ``/v1/register`` (the same as JSON, in the OpenAPI document).

Both show what ``release._register`` makes from the audit chain: the approved projects (title,
organisation, purpose, legal basis, tables and regimes, period, budget) and each one's releases
(day, table, regime, privacy cost), with the chain's anchor (its number of records and head).
Never a value, a pseudonym, a token or a person. The register is made again only when the
chain's head or the day changes, so a visitor's request costs one read of the head.
"""

from __future__ import annotations

import datetime as dt
import threading

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.service._deps import Services, ServicesDep
from api.service._pages import _number, _render
from api.service._schemas import Labelled, _examples
from release import Register, register_of
from release.governance import audit_head

REGIMES = {
    "sdc": "exact, disclosure-controlled",
    "dp": "differentially private",
    "ckm": "cell-key method",
}


HEAD = "ab" * 32
RELEASE = {
    "release_id": "r-20270110T101500-1a2b3c4d5e6f7a",
    "date": "2027-01-10",
    "table": "exposure",
    "regime": "dp",
    "rho": 0.1,
    "audit_record": 40,
    "values_deleted": None,
}
PROJECT = {
    "id": "absence-2027",
    "title": "Absence and certified teaching",
    "organisation": "Uni",
    "purpose": "Absence and certification",
    "legal_basis": "Official Statistics Act",
    "tables": {"exposure": "dp"},
    "valid_from": "2027-01-01",
    "valid_to": "2027-12-31",
    "approved": "2027-01-02",
    "closed": None,
    "status": "active",
    "budget_rho": 1.0,
    "spent_rho": 0.1,
    "releases": [RELEASE],
}


class AnchorOut(BaseModel):
    """The audit chain's head the register was made up to."""

    model_config = _examples({"records": 42, "head": HEAD, "witness": f"42:{HEAD}"})
    records: int = Field(
        description="How many records the audit chain held (the last one's number)."
    )
    head: str = Field(description="The last record's authenticator (64 hex digits).")
    witness: str = Field(description="records:head, as 'medler audit head' prints it.")


class RegisterReleaseOut(BaseModel):
    """One release: when, from which table, how protected, at what cost; never a value."""

    model_config = _examples(RELEASE)
    release_id: str
    date: str = Field(description="The day it was released (YYYY-MM-DD, UTC).")
    table: str = Field(description="The research table it was computed from.")
    regime: str = Field(
        description="sdc (exact, disclosure-controlled), dp (differentially "
        "private) or ckm (cell-key method)."
    )
    rho: float = Field(description="The privacy cost charged, as zCDP ρ (0 for sdc and ckm).")
    audit_record: int = Field(description="The number of its 'released' audit record.")
    values_deleted: str | None = Field(
        default=None,
        description="The day its values were deleted under the retention policy, if they were.",
    )


class RegisterProjectOut(BaseModel):
    """An approved project, and its releases; never a person."""

    model_config = _examples(PROJECT)
    id: str
    title: str
    organisation: str
    purpose: str = Field(description="The registered statistical purpose.")
    legal_basis: str
    tables: dict[str, str | None] = Field(
        description="Each approved research table and its "
        "regime (null: set by the first output on it)."
    )
    valid_from: str
    valid_to: str
    approved: str = Field(description="The day it was approved.")
    closed: str | None = Field(default=None, description="The day it was closed, if it was.")
    status: str = Field(
        description="active, not started, expired (its period is over) or "
        "closed, on the register's day."
    )
    budget_rho: float | None = Field(description="The project's privacy budget (zCDP ρ).")
    spent_rho: float = Field(description="ρ charged to it so far.")
    releases: list[RegisterReleaseOut]


class RegisterOut(Labelled):
    """The public register: approved projects and their releases, never a value or a person,
    with the audit chain's anchor it was made up to."""

    model_config = _examples(
        {
            "format": 1,
            "as_of": "2027-03-01",
            "data": "real",
            "anchor": {"records": 42, "head": HEAD, "witness": f"42:{HEAD}"},
            "dataset_budget_rho": 5.0,
            "dataset_spent_rho": 0.1,
            "projects": [PROJECT],
        }
    )

    format: int = Field(description="The feed's format version.")
    as_of: str = Field(description="The day the statuses are for (YYYY-MM-DD, UTC).")
    anchor: AnchorOut
    dataset_budget_rho: float | None = Field(
        description="The data set's privacy budget, across its snapshots (zCDP ρ)."
    )
    dataset_spent_rho: float
    projects: list[RegisterProjectOut]


_lock = threading.Lock()


def current_register(request: Request, svc: Services) -> Register:
    """The register now: made again when the chain's head or the day has moved (the last one
    is kept on the application's state)."""
    seq, digest = audit_head(svc.governance.engine)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    with _lock:
        kept: Register | None = getattr(request.app.state, "register", None)
    if kept is not None and (kept.anchor.records, kept.anchor.head, kept.as_of) == (
        seq,
        digest,
        today,
    ):
        return kept
    made = register_of(svc.governance.engine)
    with _lock:
        request.app.state.register = made
    return made


feed = APIRouter(tags=["public"])
page = APIRouter(include_in_schema=False)


@feed.get(
    "/register",
    response_model=RegisterOut,
    summary="The public register (no token): approved projects and their releases",
)
def register_feed(request: Request, svc: ServicesDep) -> RegisterOut:
    """Every approved project and each one's releases (day, table, regime, privacy cost),
    never a value or a person, with the audit chain's anchor: compare it with `medler audit
    head`, or check the whole feed with `medler register verify`."""
    return RegisterOut.model_validate(
        {**current_register(request, svc).to_json(), "data": svc.label}
    )


@page.get("/register", response_class=HTMLResponse)
def register_page(request: Request, svc: ServicesDep) -> HTMLResponse:
    register = current_register(request, svc)
    return _render(
        request, svc, "register.html", register=register, regimes=REGIMES, number=_number
    )
