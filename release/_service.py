"""The release service: the releaser behind the control plane's rules. This is what the
command line and the HTTP service call.

A researcher previews and submits a spec within a project they belong to that is approved and
valid today, and only over the tables and columns the project is approved for. A submitted
spec that fails an automatic check the policy marks as reviewable, or that comes with a
request for an exception (a justification), is *held*, not released; the data protection
officer approves or rejects it with a reason, and nobody reviews their own request::

    submit --(passes every check, no exception asked)--> released
    submit --(fails a check that is not reviewable)----> refused
    submit --(fails a reviewable check, or asks)-------> held
    held   --(reviewer rejects, with a reason)---------> rejected
    held   --(reviewer approves, with a reason)--------> approved
    approved --(computed, the checks it failed waived)-> released
    approved --(cannot be computed now: budget, a new
                snapshot, the project closed)-----------> refused

Every transition is appended to the audit log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from medler.errors import MedlerUserError
from release._errors import QueryRefused
from release._releaser import AccuracyPlan, Assessment, Preview, Release, Releaser
from release._retention import check_download
from release._spec import QuerySpec
from release._store import release_from_record
from release.governance import BudgetExhausted, append_audit
from release.governance._access import (
    Action,
    Conflict,
    Governance,
    NotAllowed,
    NotFound,
    Principal,
)
from release.governance._models import Request


@dataclass(frozen=True)
class Outcome:
    """What became of a submitted spec: ``released`` (with the release) or ``held`` (with the
    request's number and the checks it failed: check and reason, never the DPO's detail)."""

    status: str
    release: Release | None = None
    request_id: int | None = None
    checks: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class RequestInfo:
    """A held (or reviewed) request, as the DPO sees it: never a result value."""

    id: int
    at: dt.datetime
    project: str
    requester: str
    spec: dict[str, Any]
    snapshot: str
    status: str
    checks: list[dict[str, Any]]  # check, reason and the DPO's ``detail`` (numbers)
    justification: str | None
    reviewer: str | None
    review_reason: str | None
    release_id: str | None


@dataclass(frozen=True)
class LogEntry:
    """One line of the release log: who asked what, when, with what outcome and cost; never a
    value."""

    at: str
    project: str
    requester: str
    status: str
    mode: str
    table: str
    snapshot: str
    policy_version: str
    rho: float
    spec: dict[str, Any]
    spec_digest: str
    release_id: str | None
    result_digest: str | None
    reason: str | None


def _entry(record: dict[str, Any]) -> LogEntry:
    return LogEntry(
        record["at"],
        record["project"],
        record["requester"],
        record["status"],
        record["mode"],
        record["spec"]["table"],
        record["snapshot"],
        record["policy_version"],
        float(record.get("rho", 0.0)),
        record["spec"],
        record["digest"],
        record.get("release_id"),
        record.get("result_digest"),
        record.get("reason"),
    )


class ReleaseService:
    def __init__(self, releaser: Releaser, governance: Governance) -> None:
        if releaser.control is None:
            raise MedlerUserError("the release service needs the releaser on the control plane")
        self.releaser = releaser
        self.governance = governance

    # --- researchers ------------------------------------------------------------------------

    def preview(self, actor: Principal, project: str, spec: QuerySpec) -> Preview:
        """Free: what a release would show (dp: the interval half-widths; sdc: which cells
        would be suppressed), within the project's approval."""
        approval = self.governance.project_access(actor, project, Action.PREVIEW)
        return self.releaser.preview(spec, approval, project=project, requester=actor.id)

    def plan(
        self,
        actor: Principal,
        project: str,
        spec: QuerySpec,
        *,
        persons: int,
        half_width: float,
        measure: str | None = None,
    ) -> AccuracyPlan:
        """Free and data-free: the ρ a dp question costs for the accuracy wanted, and how many
        such questions the actor's remaining budget in the project holds."""
        approval = self.governance.project_access(actor, project, Action.PREVIEW)
        return self.releaser.plan(
            spec,
            persons=persons,
            half_width=half_width,
            measure=measure,
            approval=approval,
            project=project,
            requester=actor.id,
        )

    def submit(
        self,
        actor: Principal,
        project: str,
        spec: QuerySpec,
        *,
        justification: str | None = None,
    ) -> Outcome:
        """Release ``spec``, hold it for review, or raise ``QueryRefused`` (or
        ``BudgetExhausted``)."""
        try:
            approval = self.governance.project_access(actor, project, Action.SUBMIT)
        except (NotAllowed, NotFound) as refusal:
            self._audit(actor.id, "refused", project, spec, reason=str(refusal))
            raise
        if justification is not None and not justification.strip():
            raise MedlerUserError("an exception request needs a justification")
        try:
            assessment = self.releaser.assess(spec, project=project, approval=approval)
            failed = self._failed_checks(assessment)
        except QueryRefused as refusal:  # a check that no reviewer may waive
            self.releaser.record_refusal(spec, actor.id, project, refusal)
            raise
        if not failed and justification is None:
            return Outcome(
                "released",
                self.releaser.release(
                    spec, actor.id, project=project, approval=approval, assessment=assessment
                ),
            )
        with Session(self.governance.engine) as session, session.begin():
            row = Request(
                project=project,
                requester=actor.id,
                spec=spec.model_dump(mode="json"),
                spec_digest=spec.digest(),
                snapshot=self.releaser.snapshot.name,
                status="held",
                checks=failed,
                justification=justification,
            )
            session.add(row)
            session.flush()
            request_id = int(row.id)
        named = [{"check": str(c["check"]), "reason": str(c["reason"])} for c in failed]
        self._audit(
            actor.id,
            "held",
            project,
            spec,
            request=request_id,
            checks=named,
            exception_asked=justification is not None,
        )
        return Outcome("held", request_id=request_id, checks=tuple(named))

    def _failed_checks(self, assessment: Assessment) -> list[dict[str, Any]]:
        """The reviewable checks the assessed request fails, as the request keeps them (with
        the numbers behind each for the DPO); a failed check that the policy does not let a
        reviewer waive is raised."""
        reviewable = set(self.releaser.policies.release.review.reviewable)
        final = [f for f in assessment.findings if f.check is None or f.check not in reviewable]
        if final:
            raise final[0].refusal()
        return [f.for_review() for f in assessment.findings if f.check]

    def releases(self, actor: Principal) -> list[LogEntry]:
        """The actor's own releases, newest first."""
        self.governance.require(actor, Action.READ_OWN_RELEASES)
        records = [
            r
            for r in self.releaser.store.all()
            if r["requester"] == actor.id and r["status"] == "released"
        ]
        return [_entry(r) for r in reversed(records)]

    def release(self, actor: Principal, release_id: str) -> Release:
        """One of the actor's own releases, with its values; ``Gone`` once the retention
        policy no longer keeps them (its project closed long enough ago)."""
        self.governance.require(actor, Action.READ_OWN_RELEASES)
        for record in self.releaser.store.all():
            if record.get("release_id") == release_id and record["requester"] == actor.id:
                check_download(self.governance, record)
                return release_from_record(record, cached=False)
        raise NotFound(f"there is no release {release_id!r} of yours")

    # --- the data protection officer --------------------------------------------------------

    def release_log(
        self,
        actor: Principal,
        *,
        project: str | None = None,
        requester: str | None = None,
        status: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> list[LogEntry]:
        """Every release and refusal, newest first, filtered; never a value."""
        self.governance.require(actor, Action.READ_RELEASE_LOG)
        out = []
        for record in reversed(self.releaser.store.all()):
            day = dt.date.fromisoformat(record["at"][:10])
            if (
                (project is None or record["project"] == project)
                and (requester is None or record["requester"] == requester)
                and (status is None or record["status"] == status)
                and (since is None or day >= since)
                and (until is None or day <= until)
            ):
                out.append(_entry(record))
        return out

    def requests(
        self, actor: Principal, *, status: str | None = None, project: str | None = None
    ) -> list[RequestInfo]:
        """Held and reviewed requests: all of them for the DPO, a researcher's own for them."""
        if not actor.may(Action.REVIEW):
            self.governance.require(actor, Action.READ_OWN_RELEASES)
        with Session(self.governance.engine) as session:
            query = select(Request).order_by(Request.id)
            if status is not None:
                query = query.where(Request.status == status)
            if project is not None:
                query = query.where(Request.project == project)
            if not actor.may(Action.REVIEW):
                query = query.where(Request.requester == actor.id)
            return [_info(r) for r in session.scalars(query)]

    def review(
        self, actor: Principal, request_id: int, *, approve: bool, reason: str
    ) -> RequestInfo:
        """Approve (and release, the failed checks waived) or reject a held request."""
        self.governance.require(actor, Action.REVIEW)
        if not reason.strip():
            raise MedlerUserError("a review needs a reason")
        decision = "approved" if approve else "rejected"
        with Session(self.governance.engine) as session, session.begin():
            row = session.get(Request, request_id)
            if row is None:
                raise NotFound(f"there is no request {request_id}")
            if row.requester == actor.id:
                raise NotAllowed("nobody reviews their own request")
            # the move out of "held" is one conditional update: two reviewers cannot both act
            moved = session.execute(
                update(Request)
                .where(Request.id == request_id, Request.status == "held")
                .values(
                    status=decision,
                    reviewer=actor.id,
                    review_reason=reason,
                    reviewed_at=dt.datetime.now(dt.UTC),
                )
            ).rowcount  # type: ignore[attr-defined]
            if moved != 1:
                raise Conflict(f"request {request_id} is {row.status}, not held")
            spec = QuerySpec.model_validate(row.spec)
            project, requester, snapshot = row.project, row.requester, row.snapshot
            waive = frozenset(c["check"] for c in row.checks)
        self._audit(actor.id, decision, project, spec, request=request_id, reason=reason)
        if approve:
            self._release_approved(actor, request_id, spec, project, requester, snapshot, waive)
        return self.request(request_id)

    def _release_approved(
        self,
        actor: Principal,
        request_id: int,
        spec: QuerySpec,
        project: str,
        requester: str,
        snapshot: str,
        waive: frozenset[str],
    ) -> None:
        status, release_id, note = "refused", None, None
        try:
            if self.releaser.snapshot.name != snapshot:
                raise QueryRefused(
                    f"the research snapshot changed since the request ({snapshot} -> "
                    f"{self.releaser.snapshot.name}); the researcher submits it again"
                )
            approval = self.governance.project_access(
                self.governance.person(requester), project, Action.SUBMIT
            )
            release = self.releaser.release(
                spec,
                requester,
                project=project,
                approval=approval,
                waive=waive,
                audit={"request": request_id, "reviewer": actor.id},
            )
            status, release_id = "released", release.release_id
        except (QueryRefused, BudgetExhausted, NotAllowed, NotFound) as refusal:
            note = str(refusal)
        with Session(self.governance.engine) as session, session.begin():
            row = session.get(Request, request_id)
            assert row is not None
            row.status, row.release_id = status, release_id
            if note is not None:
                row.review_reason = f"{row.review_reason} (not released: {note})"
        if note is not None:
            self._audit(actor.id, "refused", project, spec, request=request_id, reason=note)

    def request(self, request_id: int) -> RequestInfo:
        with Session(self.governance.engine) as session:
            row = session.get(Request, request_id)
            if row is None:
                raise NotFound(f"there is no request {request_id}")
            return _info(row)

    def _audit(self, actor: str, action: str, project: str, spec: QuerySpec, **more: Any) -> None:
        body = {
            "spec": spec.model_dump(mode="json"),
            "spec_digest": spec.digest(),
            "mode": spec.mode,
            "policy_version": self.releaser.policies.version,
            **more,
        }
        append_audit(self.governance.engine, actor=actor, action=action, project=project, body=body)


def _info(row: Request) -> RequestInfo:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=dt.UTC)  # SQLite: naive
    return RequestInfo(
        row.id,
        at,
        row.project,
        row.requester,
        dict(row.spec),
        row.snapshot,
        row.status,
        list(row.checks),
        row.justification,
        row.reviewer,
        row.review_reason,
        row.release_id,
    )
