"""From the release layer's objects to the wire schemas."""

from __future__ import annotations

from api.service._schemas import (
    BudgetLevelOut,
    CellOut,
    CheckOut,
    DataLabel,
    LogEntryOut,
    PlanOut,
    PreviewOut,
    ProjectOut,
    ReleaseOut,
    RequestOut,
)
from release import AccuracyPlan, Cell, LogEntry, Preview, Release, RequestInfo
from release.governance import LedgerTotals, ProjectInfo, epsilon


def cell_out(cell: Cell, dp: bool) -> CellOut:
    return CellOut(
        keys=cell.keys,
        margin=cell.margin,
        status=cell.status,
        values=dict(cell.values),
        lower=dict(cell.lower) if dp else {},
        upper=dict(cell.upper) if dp else {},
    )


def release_out(release: Release, label: DataLabel) -> ReleaseOut:
    return ReleaseOut(
        release_id=release.release_id,
        mode=release.mode,
        snapshot=release.snapshot,
        policy_version=release.policy_version,
        rho=release.rho,
        cached=release.cached,
        notes=list(release.notes),
        spec=release.spec,
        cells=[cell_out(c, release.mode == "dp") for c in release.cells],
        data=label,
    )


def preview_out(preview: Preview, label: DataLabel) -> PreviewOut:
    return PreviewOut(
        mode=preview.mode,
        rho=preview.rho,
        policy_version=preview.policy_version,
        accuracy=preview.accuracy,
        notes=list(preview.notes),
        cells=[cell_out(c, False) for c in preview.cells],
        data=label,
    )


def plan_out(plan: AccuracyPlan, label: DataLabel) -> PlanOut:
    return PlanOut(
        rho=plan.rho,
        persons=plan.persons,
        half_width=plan.half_width,
        measure=plan.measure,
        half_widths=plan.half_widths,
        remaining_rho=plan.remaining_rho,
        questions=plan.questions,
        data=label,
    )


def request_out(info: RequestInfo) -> RequestOut:
    return RequestOut(
        id=info.id,
        at=info.at,
        project=info.project,
        requester=info.requester,
        spec=info.spec,
        snapshot=info.snapshot,
        status=info.status,
        checks=[CheckOut(check=c["check"], reason=c["reason"]) for c in info.checks],
        justification=info.justification,
        reviewer=info.reviewer,
        review_reason=info.review_reason,
        release_id=info.release_id,
    )


def log_entry_out(entry: LogEntry) -> LogEntryOut:
    return LogEntryOut(
        at=entry.at,
        project=entry.project,
        requester=entry.requester,
        status=entry.status,
        mode=entry.mode,
        table=entry.table,
        snapshot=entry.snapshot,
        policy_version=entry.policy_version,
        rho=entry.rho,
        spec=entry.spec,
        spec_digest=entry.spec_digest,
        release_id=entry.release_id,
        result_digest=entry.result_digest,
        reason=entry.reason,
    )


def project_out(info: ProjectInfo) -> ProjectOut:
    return ProjectOut(
        id=info.id,
        purpose=info.purpose,
        legal_basis=info.legal_basis,
        organisation=info.organisation,
        status=info.status,
        valid_from=info.valid_from,
        valid_to=info.valid_to,
        tables=info.tables,
        members=info.members,
    )


def budget_level_out(
    totals: LedgerTotals, delta: float, exact: tuple[int, int] = (0, 0)
) -> BudgetLevelOut:
    return BudgetLevelOut(
        scope=totals.scope.key,
        level=totals.scope.level,  # type: ignore[arg-type]
        cap_rho=totals.cap,
        spent_rho=totals.spent,
        reserved_rho=totals.reserved,
        remaining_rho=totals.remaining,
        spent_epsilon=epsilon(totals.spent, delta),
        cap_epsilon=epsilon(totals.cap, delta),
        sdc_releases=exact[0],
        sdc_previews=exact[1],
    )
