"""The wire schemas: one per purpose. Every route declares its ``response_model``, so nothing
internal (a pseudonym, a row, a token hash) can leak by accident. Every answer carries
``data``: ``real``, or ``dummy`` when the service runs over a synthetic snapshot."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from release import QuerySpec

DataLabel = Literal["real", "dummy"]
Key = str | int | float | bool | None


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class Labelled(BaseModel):
    data: DataLabel = Field(
        description="real, or dummy when the service runs over a synthetic snapshot for query "
        "development: dummy results say nothing about real pupils."
    )


class ErrorDetail(BaseModel):
    """What went wrong."""

    model_config = _examples(
        {
            "code": "budget_exhausted",
            "message": "the project budget has ρ 0.01 left, and this query costs ρ 0.05",
        }
    )
    code: str = Field(
        description="not_authenticated, not_allowed, refused, not_found, "
        "budget_exhausted, conflict, request_too_large, rate_limited, invalid, "
        "internal."
    )
    message: str = Field(description="What was wrong and what to do; never data.")


class ErrorOut(Labelled):
    """Every error answer."""

    model_config = _examples(
        {
            "error": {"code": "refused", "message": "exposure.student_pid identifies a person"},
            "data": "real",
        }
    )
    error: ErrorDetail


# --- the catalogue ----------------------------------------------------------------------------


class ColumnOut(BaseModel):
    """A column that may be grouped by, filtered, counted or measured."""

    model_config = _examples(
        {"name": "grade", "kind": "public_key", "keys": [0, 1, 2], "bounds": None}
    )
    name: str = Field(description="The column's name.")
    kind: str = Field(
        description="public_key, category, flag or measure (identifiers are never listed)."
    )
    keys: list[Key] | None = Field(
        default=None, description="A public key's values, from public sources (not the data)."
    )
    bounds: tuple[float, float] | None = Field(
        default=None, description="A measure's bounds: every value is clamped to them."
    )


class TableOut(BaseModel):
    """A research table with the columns that may be asked about."""

    model_config = _examples(
        {
            "name": "student_terms",
            "description": "Absence per pupil and term.",
            "approved_columns": ["*"],
            "columns": [],
        }
    )
    name: str = Field(description="The research table.")
    description: str = Field(description="What one row is.")
    approved_columns: list[str] = Field(description="The columns your project may use (* for all).")
    columns: list[ColumnOut] = Field(description="Every column that may be asked about.")


class CatalogueOut(Labelled):
    """The research tables a project may query, with their columns and public keys."""

    model_config = _examples(
        {
            "project": "absence-2027",
            "policy_version": "catalogue 2026.11.1",
            "tables": [],
            "data": "real",
        }
    )
    project: str = Field(description="The project the catalogue is for.")
    policy_version: str = Field(description="The policy files' versions and digest.")
    tables: list[TableOut]


# --- projects and budgets ---------------------------------------------------------------------


class ProjectOut(BaseModel):
    """A research project."""

    model_config = _examples(
        {
            "id": "absence-2027",
            "purpose": "Absence and turnover",
            "legal_basis": "Official statistics",
            "organisation": "Uni",
            "status": "approved",
            "valid_from": "2027-01-01",
            "valid_to": "2027-12-31",
            "tables": {"student_terms": ["*"]},
            "members": ["eva"],
        }
    )
    id: str = Field(description="The project's id.")
    purpose: str = Field(description="The registered statistical purpose.")
    legal_basis: str = Field(description="The legal basis.")
    organisation: str = Field(description="The owner organisation.")
    status: str = Field(description="proposed, approved or closed.")
    valid_from: dt.date | None = Field(default=None, description="First day of access.")
    valid_to: dt.date | None = Field(default=None, description="Last day of access.")
    tables: dict[str, list[str]] = Field(description="Approved tables and columns.")
    members: list[str] = Field(description="The researchers in it.")


class ProjectsOut(Labelled):
    """Projects."""

    model_config = _examples({"projects": [], "data": "real"})
    projects: list[ProjectOut]


class BudgetLevelOut(BaseModel):
    """One budget: its cap, what is spent and reserved, what remains."""

    model_config = _examples(
        {
            "scope": "project:absence-2027",
            "level": "project",
            "cap_rho": 1.0,
            "spent_rho": 0.2,
            "reserved_rho": 0.0,
            "remaining_rho": 0.8,
            "spent_epsilon": 4.5,
            "cap_epsilon": 10.1,
            "sdc_releases": 3,
            "sdc_previews": 5,
        }
    )
    scope: str = Field(description="dataset, project:<id> or researcher:<project>:<id>.")
    level: Literal["dataset", "project", "researcher"]
    cap_rho: float = Field(description="The cap (zCDP ρ).")
    spent_rho: float = Field(description="Charged so far, reservations included.")
    reserved_rho: float = Field(
        description="Of which only reserved (a release under way or cut off: never refunded)."
    )
    remaining_rho: float
    spent_epsilon: float = Field(description="spent_rho as ε of (ε, δ)-DP at the stated δ.")
    cap_epsilon: float = Field(description="cap_rho as ε at the stated δ.")
    sdc_releases: int = Field(
        0, description="Exact (sdc) tables released at this level: no ρ counts them."
    )
    sdc_previews: int = Field(
        0,
        description="Exact (sdc) previews at this level (each shows "
        "which cells the data suppress).",
    )


class BudgetOut(Labelled):
    """Budgets per level, as ρ and as (ε, δ)."""

    model_config = _examples({"delta": 1e-9, "levels": [], "data": "real"})
    delta: float = Field(description="The δ the ε figures are stated for.")
    levels: list[BudgetLevelOut]


# --- queries and releases ---------------------------------------------------------------------


class SubmitIn(BaseModel):
    """A spec to release; with a justification it is held for the DPO even when every check
    passes (an exception request)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "spec": {
                        "table": "student_terms",
                        "group_by": ["grade"],
                        "measures": [{"kind": "count_students"}],
                    },
                    "justification": None,
                }
            ]
        },
    )
    spec: QuerySpec
    justification: str | None = Field(
        default=None,
        min_length=1,
        max_length=4000,
        description="Ask for an exception: why this release is needed.",
    )


class CellOut(BaseModel):
    """One cell of a table: its keys, status and values, with 95 % intervals in dp mode."""

    model_config = _examples(
        {
            "keys": {"grade": 7},
            "margin": False,
            "status": "released",
            "values": {"count_students": 119},
            "lower": {},
            "upper": {},
        }
    )
    keys: dict[str, Key] = Field(description="The cell's group-by values (null in a margin).")
    margin: bool = Field(description="A total over one or more keys.")
    status: str = Field(description="released, suppressed or rounded.")
    values: dict[str, float | None] = Field(description="Per measure; null when suppressed.")
    lower: dict[str, float | None] = Field(description="dp: each value's 95 % interval, low.")
    upper: dict[str, float | None] = Field(description="dp: each value's 95 % interval, high.")


class ReleaseOut(Labelled):
    """A released table."""

    model_config = _examples(
        {
            "release_id": "r-20270114T101500-1a2b3c4d",
            "mode": "sdc",
            "snapshot": "20270110T020000-abcdef",
            "policy_version": "…",
            "rho": 0.0,
            "cached": False,
            "notes": [],
            "spec": {},
            "cells": [],
            "data": "real",
        }
    )
    release_id: str
    mode: str = Field(description="sdc or dp.")
    snapshot: str = Field(description="The research snapshot it was computed on.")
    policy_version: str
    rho: float = Field(description="The privacy loss charged (0 for sdc).")
    cached: bool = Field(description="The earlier release of an identical query, at no cost.")
    notes: list[str]
    spec: dict[str, Any] = Field(description="The spec as released.")
    cells: list[CellOut]


class PreviewOut(Labelled):
    """Free: dp accuracy (95 % half-widths) or which sdc cells would be suppressed; no values."""

    model_config = _examples(
        {
            "mode": "dp",
            "rho": 0.05,
            "policy_version": "…",
            "accuracy": {"count_students": {"half_width": 12.3}},
            "cells": [],
            "notes": [],
            "data": "real",
        }
    )
    mode: str
    rho: float = Field(description="What a release would cost.")
    policy_version: str
    accuracy: dict[str, dict[str, float | None]] = Field(description="dp: half-widths.")
    cells: list[CellOut] = Field(description="sdc: cells with their status, no values.")
    notes: list[str]


class PlanIn(BaseModel):
    """A dp question to price: the spec (its rho is ignored), the persons in a typical cell,
    and the 95 % half-width wanted for one measure (or every measure)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "spec": {
                        "table": "student_terms",
                        "group_by": ["grade"],
                        "mode": "dp",
                        "rho": 0.01,
                        "measures": [{"kind": "mean", "column": "absence_rate_planned"}],
                    },
                    "persons": 120,
                    "half_width": 0.05,
                    "measure": None,
                }
            ]
        },
    )
    spec: QuerySpec
    persons: int = Field(ge=1, description="The persons in a typical cell.")
    half_width: float = Field(gt=0, allow_inf_nan=False, description="The 95 % half-width wanted.")
    measure: str | None = Field(default=None, description="The measure it is for (default: all).")


class PlanOut(Labelled):
    """What a dp question costs for the accuracy wanted, from the spec and public keys alone."""

    model_config = _examples(
        {
            "rho": 0.012,
            "persons": 120,
            "half_width": 0.05,
            "measure": None,
            "half_widths": {"mean_absence_rate_planned": 0.05},
            "remaining_rho": 0.8,
            "questions": 66,
            "data": "real",
        }
    )
    rho: float = Field(description="The ρ the question costs.")
    persons: int
    half_width: float
    measure: str | None = Field(default=None, description="The measure it is for (null: all).")
    half_widths: dict[str, float | None] = Field(
        description="Each measure's 95 % half-width at that ρ in such a cell (null: a "
        "quantile's, which depends on the data)."
    )
    remaining_rho: float | None = Field(default=None, description="Your smallest remaining budget.")
    questions: int | None = Field(default=None, description="How many such questions it holds.")


class CheckOut(BaseModel):
    """An automatic check a request failed, and why."""

    model_config = _examples(
        {"check": "teachers", "reason": "some cells would describe fewer than 3 teachers"}
    )
    check: str = Field(description="The automatic check that failed.")
    reason: str


class RequestOut(BaseModel):
    """A request held for review, or reviewed; never a value."""

    model_config = _examples(
        {
            "id": 7,
            "at": "2027-01-14T10:15:00Z",
            "project": "absence-2027",
            "requester": "eva",
            "spec": {},
            "snapshot": "…",
            "status": "held",
            "checks": [],
            "justification": None,
            "reviewer": None,
            "review_reason": None,
            "release_id": None,
        }
    )
    id: int
    at: dt.datetime
    project: str
    requester: str
    spec: dict[str, Any]
    snapshot: str
    status: str = Field(description="held, approved, released, rejected or refused.")
    checks: list[CheckOut] = Field(description="The checks it failed.")
    justification: str | None = None
    reviewer: str | None = None
    review_reason: str | None = None
    release_id: str | None = None


class RequestsOut(Labelled):
    """Requests, oldest first."""

    model_config = _examples({"requests": [], "data": "real"})
    requests: list[RequestOut]


class SubmitOut(Labelled):
    """released (with the release) or held (with the request)."""

    model_config = _examples({"status": "held", "release": None, "request": None, "data": "real"})
    status: Literal["released", "held"]
    release: ReleaseOut | None = None
    request: RequestOut | None = None


class LogEntryOut(BaseModel):
    """One release or refusal; never a value."""

    model_config = _examples(
        {
            "at": "2027-01-14T10:15:00+00:00",
            "project": "absence-2027",
            "requester": "eva",
            "status": "released",
            "mode": "dp",
            "table": "exposure",
            "snapshot": "…",
            "policy_version": "…",
            "rho": 0.05,
            "spec": {},
            "spec_digest": "…",
            "release_id": "r-…",
            "result_digest": "…",
            "reason": None,
        }
    )
    at: str
    project: str
    requester: str
    status: str = Field(description="released or refused.")
    mode: str
    table: str
    snapshot: str
    policy_version: str
    rho: float
    spec: dict[str, Any]
    spec_digest: str
    release_id: str | None = None
    result_digest: str | None = Field(
        default=None, description="A digest of the values, never the values."
    )
    reason: str | None = Field(default=None, description="Why it was refused.")


class LogOut(Labelled):
    """A page of the release log."""

    model_config = _examples({"total": 1, "offset": 0, "limit": 50, "entries": [], "data": "real"})
    total: int
    offset: int
    limit: int
    entries: list[LogEntryOut]


class ReviewIn(BaseModel):
    """A reviewer's decision needs a reason."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "Class-level counts serve the registered purpose"}]
        },
    )
    reason: str = Field(min_length=1, max_length=4000, description="Why; kept in the audit log.")


class AuditOut(Labelled):
    """Whether the audit chain verifies, and the first bad record if not."""

    model_config = _examples(
        {
            "ok": True,
            "records": 42,
            "head_seq": 42,
            "head_hash": "…",
            "problem": None,
            "data": "real",
        }
    )
    ok: bool
    records: int = Field(description="Records verified (0 when broken).")
    head_seq: int
    head_hash: str = Field(description="Write SEQ:HASH down outside medler: a witness.")
    problem: str | None = Field(default=None, description="The first bad record, when broken.")


# --- the office -------------------------------------------------------------------------------


class StatusOut(Labelled):
    """The snapshots: what the research tables were built from, and their sizes."""

    model_config = _examples(
        {
            "research_snapshot": "…",
            "built_from": "…",
            "period": {},
            "tables": {"exposure": 11768},
            "data": "real",
        }
    )
    research_snapshot: str | None = None
    built_from: str | None = Field(
        default=None, description="The canonical snapshot the tables came from."
    )
    period: dict[str, Any] = Field(description="The school year and terms covered.")
    tables: dict[str, int] = Field(description="Rows per research table.")


class ProjectIn(BaseModel):
    """Register a project (proposed until a second person of the office approves it)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "absence-2027",
                    "purpose": "Absence and teacher turnover",
                    "legal_basis": "Official statistics",
                    "organisation": "Uppsala University",
                    "valid_from": "2027-01-01",
                    "valid_to": "2027-12-31",
                    "tables": {"student_terms": ["*"]},
                }
            ]
        },
    )
    id: str
    purpose: str = Field(min_length=1)
    legal_basis: str = Field(min_length=1)
    organisation: str = Field(min_length=1)
    valid_from: dt.date
    valid_to: dt.date
    tables: dict[str, list[str]] = Field(description="Table -> columns, or ['*'].")


class ApproveIn(BaseModel):
    """Approve a proposed project with its budget."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rho": 1.0}]})
    rho: float = Field(ge=0, description="The project's budget (ρ).")


class MemberIn(BaseModel):
    """Add a researcher to a project with their own budget."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"researcher": "eva", "rho": 0.5}]}
    )
    researcher: str
    rho: float = Field(ge=0, description="Their budget within the project (ρ).")


class PersonIn(BaseModel):
    """Register a person with one role."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"id": "eva", "role": "researcher", "name": "Eva Ek", "organisation": "Uni"}
            ]
        },
    )
    id: str
    role: Literal["researcher", "statistician", "dpo", "admin"]
    name: str = Field(min_length=1)
    organisation: str = Field(min_length=1)


class TokenIn(BaseModel):
    """Issue a token for a person, valid for some days."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"person": "eva", "days": 90}]}
    )
    person: str
    days: int = Field(default=90, ge=1, le=366)


class TokenOut(Labelled):
    """The token, shown this once; medler keeps only a hash of it."""

    model_config = _examples(
        {
            "token": "medler_0123456789abcdef_…",
            "token_id": "0123456789abcdef",
            "person": "eva",
            "expires_at": "2027-04-14T10:15:00Z",
            "data": "real",
        }
    )
    token: str
    token_id: str
    person: str
    expires_at: dt.datetime


class DoneOut(Labelled):
    """A change was made."""

    model_config = _examples({"message": "project absence-2027: approved", "data": "real"})
    message: str
