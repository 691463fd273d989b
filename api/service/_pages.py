"""The data protection officer's web pages under ``/dpo``: server-rendered HTML (Jinja2,
autoescaped) and one stylesheet, with no JavaScript, behind a login by token.

- ``/dpo/login``: the DPO posts their token once and gets a server-side session (``_sessions``:
  its random id in an HttpOnly, SameSite=Strict cookie scoped to ``/dpo``, Secure unless
  ``MEDLER_SECURE_COOKIES=false``; 15 minutes idle, 8 hours at most, ended by logout and with
  the token). Only the ``dpo`` role may log in; failed logins are limited (``_failures``);
  every other page sends a visitor without a valid session to the login page.
- ``/dpo/``: an overview; ``/dpo/releases``: the release log, filtered and paged;
  ``/dpo/requests`` and ``/dpo/requests/{id}``: requests and the review of a held one;
  ``/dpo/budgets``: budget use as a chart and as a table; ``/dpo/audit``: the audit chain.

Every form that changes something is a POST carrying ``csrf``, the session's own random value
that another site cannot know; a POST without the right one is refused (403), and so is a login
post without the login form's own value. The pages show metadata only: never a released value,
never a pseudonym.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from api.service import _errors, _sessions
from api.service._deps import Services, ServicesDep
from api.service._describe import (
    CheckRow,
    ReleaseView,
    check_rows,
    filters_of,
    measures_of,
    merged_risk,
    release_view,
)
from api.service._researchers import DEFAULT_DELTA
from api.service._sessions import COOKIE, LoginNeeded, Session
from medler.errors import MedlerUserError
from release import LogEntry, RequestInfo, exact_outputs, governance
from release.governance import (
    AuditChainBroken,
    BudgetScope,
    LedgerTotals,
    NotAuthenticated,
    NotFound,
    audit_head,
    epsilon,
    parse_witness,
    verify_audit,
)

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 25
LOG_STATUSES = ("released", "refused")
REQUEST_STATUSES = ("held", "approved", "released", "rejected", "refused")
# pages are same-origin only: no script, no frames, forms post back here
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


_LoginNeeded = LoginNeeded


class _PageError(Exception):
    """An error shown as a page, with its status."""

    def __init__(self, status: int, title: str, message: str, session: Session | None) -> None:
        super().__init__(message)
        self.status, self.title, self.message, self.session = status, title, message, session


def _render(
    request: Request,
    svc: Services,
    template: str,
    *,
    status: int = 200,
    session: Session | None = None,
    **context: Any,
) -> HTMLResponse:
    body = _templates.get_template(template).render(
        label=svc.label, session=session, path=request.url.path, **context
    )
    return HTMLResponse(body, status, headers=HEADERS)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, 303, headers={"Cache-Control": "no-store"})


def _current(request: Request, svc: ServicesDep) -> Session:
    try:
        return _sessions.current(request, svc)
    except _errors.RateLimited as limited:
        raise _PageError(429, "Too many requests", str(limited), None) from None


CurrentSession = Annotated[Session, Depends(_current)]


def _check_csrf(session: Session, sent: str) -> None:
    if not _sessions.csrf_ok(session, sent):
        raise _PageError(
            403,
            "Form refused",
            "This form did not come from these pages, or it "
            "belongs to an earlier session: open the page again and resend it.",
            session,
        )


pages = APIRouter(prefix="/dpo", include_in_schema=False)


# --- login and logout -------------------------------------------------------------------------


def _login_page(
    request: Request,
    svc: Services,
    *,
    status: int = 200,
    notice: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    """The login form, with its own value in a hidden field and in the login cookie."""
    value = _sessions.login_value(request)
    response = _render(
        request, svc, "login.html", status=status, notice=notice, error=error, login_csrf=value
    )
    _sessions.offer_login(response, svc, value)
    return response


@pages.get("/login", response_class=HTMLResponse)
def login_form(request: Request, svc: ServicesDep, out: str = "") -> HTMLResponse:
    return _login_page(request, svc, notice="You are logged out." if out else None)


@pages.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    svc: ServicesDep,
    token: Annotated[str, Form()] = "",
    login_csrf: Annotated[str, Form()] = "",
) -> Response:
    if not _sessions.login_allowed(request, login_csrf):
        return _login_page(
            request,
            svc,
            status=403,
            error="Not logged in: this form did not come from this page, or it "
            "was open too long. Log in again here (the browser must accept this "
            "page's cookie).",
        )
    token = token.strip()
    if not token:
        return _login_page(request, svc, status=422, error="Enter your token.")
    try:
        principal = _sessions.authenticate(request, svc, token)
        svc.limiter.hit(token.split("_")[1])
    except _errors.RateLimited as limited:
        waiting = _login_page(request, svc, status=429, error=f"Not logged in: {limited}.")
        waiting.headers["Retry-After"] = str(limited.retry_after)
        return waiting
    except NotAuthenticated as refused:
        return _login_page(
            request,
            svc,
            status=401,
            error=f"Not logged in: {refused}. Check it, or ask the administrator for a new one.",
        )
    if principal.role != "dpo":
        return _login_page(
            request,
            svc,
            status=403,
            error=f"Not logged in: these pages are for the data protection "
            f"officer, and this is a {principal.role}'s token.",
        )
    response = _redirect("/dpo/")
    _sessions.start(request, response, svc, principal, token)
    return response


@pages.post("/logout")
def logout(
    request: Request, session: CurrentSession, svc: ServicesDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    _check_csrf(session, csrf)
    response = _redirect("/dpo/login?out=1")
    _sessions.end(request, response, svc)
    return response


def _forget(response: Response, svc: Services) -> None:
    _sessions.forget(response, svc)


# --- the overview -----------------------------------------------------------------------------


@pages.get("/", response_class=HTMLResponse)
def overview(request: Request, session: CurrentSession, svc: ServicesDep) -> HTMLResponse:
    held = svc.releases.requests(session.principal, status="held")
    log = svc.releases.release_log(session.principal)
    return _render(
        request,
        svc,
        "overview.html",
        session=session,
        held=len(held),
        released=sum(e.status == "released" for e in log),
        refused=sum(e.status == "refused" for e in log),
        budgets=len(svc.governance.ledger.totals()),
        audit=_audit_state(svc, None),
    )


# --- the release log --------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRow:
    at: str
    project: str
    requester: str
    status: str
    mode: str
    table: str
    group_by: str
    filters: str
    measures: str
    rho: str
    release_id: str | None
    reason: str | None


def _log_row(entry: LogEntry) -> LogRow:
    group_by = entry.spec.get("group_by") or []
    return LogRow(
        at=_when(entry.at),
        project=entry.project,
        requester=entry.requester,
        status=entry.status,
        mode=entry.mode,
        table=entry.table,
        group_by=", ".join(str(c) for c in group_by) or "(one cell)",
        filters="; ".join(filters_of(entry.spec)) or "none",
        measures="; ".join(measures_of(entry.spec)),
        rho=_number(entry.rho) if entry.mode == "dp" else "–",
        release_id=entry.release_id,
        reason=entry.reason,
    )


def _day(text: str, name: str, errors: list[str]) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors.append(f"{name}: {text!r} is not a date; write it as YYYY-MM-DD.")
        return None


@pages.get("/releases", response_class=HTMLResponse)
def release_log(
    request: Request,
    session: CurrentSession,
    svc: ServicesDep,
    project: str = "",
    researcher: str = "",
    status: str = "",
    since: str = "",
    until: str = "",
    page: str = "1",
) -> HTMLResponse:
    filters = {
        "project": project,
        "researcher": researcher,
        "status": status,
        "since": since,
        "until": until,
    }
    filters = {k: v.strip() for k, v in filters.items()}
    errors: list[str] = []
    if filters["status"] and filters["status"] not in LOG_STATUSES:
        errors.append(f"status: choose one of {', '.join(LOG_STATUSES)}, or any.")
    first, last = _day(filters["since"], "since", errors), _day(filters["until"], "until", errors)
    if first is not None and last is not None and first > last:
        errors.append("since: the first day is after the last day.")
    context: dict[str, Any] = {
        "filters": filters,
        "statuses": LOG_STATUSES,
        "errors": errors,
        "rows": [],
        "total": 0,
        "start": 0,
        "end": 0,
        "previous": None,
        "next": None,
        "page": 1,
        "pages": 1,
    }
    if errors:
        return _render(request, svc, "releases.html", status=422, session=session, **context)
    entries = svc.releases.release_log(
        session.principal,
        project=filters["project"] or None,
        requester=filters["researcher"] or None,
        status=filters["status"] or None,
        since=first,
        until=last,
    )
    pages_count = max(1, math.ceil(len(entries) / PAGE_SIZE))
    number = int(page) if page.isdigit() else 1
    number = min(max(number, 1), pages_count)
    offset = (number - 1) * PAGE_SIZE
    shown = entries[offset : offset + PAGE_SIZE]
    kept = {k: v for k, v in filters.items() if v}

    def link(n: int) -> str:
        return "/dpo/releases?" + urlencode({**kept, "page": n})

    context.update(
        rows=[_log_row(e) for e in shown],
        total=len(entries),
        start=offset + 1 if shown else 0,
        end=offset + len(shown),
        page=number,
        pages=pages_count,
        previous=link(number - 1) if number > 1 else None,
        next=link(number + 1) if number < pages_count else None,
    )
    return _render(request, svc, "releases.html", session=session, **context)


@pages.get("/releases/{release_id}", response_class=HTMLResponse)
def release_page(
    request: Request, release_id: str, session: CurrentSession, svc: ServicesDep
) -> HTMLResponse:
    """One release: its spec, checks, cost, snapshot, requester and review; never a value."""
    view = _release_view(svc, session, release_id)
    return _render(request, svc, "release.html", session=session, item=view, delta=DEFAULT_DELTA)


def _release_view(svc: Services, session: Session, release_id: str) -> ReleaseView:
    found = [
        e
        for e in svc.releases.release_log(session.principal)
        if e.release_id == release_id and e.status == "released"
    ]
    if not found:
        raise _PageError(404, "Not found", f"There is no release {release_id!r}.", session)
    entry = found[0]
    record = next(
        (
            r
            for r in svc.releaser.store.all()
            if r.get("release_id") == release_id and r["status"] == "released" and "release" in r
        ),
        None,
    )
    reviewed = [r for r in svc.releases.requests(session.principal) if r.release_id == release_id]
    return release_view(
        entry,
        record,
        reviewed[0] if reviewed else None,
        svc.releaser.policies.release.sdc,
        DEFAULT_DELTA,
    )


# --- requests and their review ----------------------------------------------------------------


@pages.get("/requests", response_class=HTMLResponse)
def requests(
    request: Request, session: CurrentSession, svc: ServicesDep, status: str = "held"
) -> HTMLResponse:
    chosen = status.strip()
    errors = []
    if chosen and chosen not in (*REQUEST_STATUSES, "all"):
        errors.append(f"status: choose one of {', '.join(REQUEST_STATUSES)}, or all.")
        chosen = "held"
    found = svc.releases.requests(
        session.principal, status=None if chosen in ("", "all") else chosen
    )
    rows = [_request_view(r) for r in found]
    return _render(
        request,
        svc,
        "requests.html",
        status=422 if errors else 200,
        session=session,
        rows=rows,
        chosen=chosen or "all",
        statuses=REQUEST_STATUSES,
        errors=errors,
    )


@dataclass(frozen=True)
class RequestView:
    """A request as the pages show it: the spec described, the checks it failed; no value."""

    id: int
    at: str
    project: str
    requester: str
    status: str
    snapshot: str
    table: str
    mode: str
    group_by: list[str]
    filters: list[str]
    measures: list[str]
    rho: str | None
    epsilon: str | None
    margins: bool
    checks: list[CheckRow]
    risk: list[str]
    justification: str | None
    reviewer: str | None
    review_reason: str | None
    release_id: str | None
    spec_json: str


def _request_view(info: RequestInfo) -> RequestView:
    spec = info.spec
    rho = spec.get("rho")
    return RequestView(
        id=info.id,
        at=_when(info.at.isoformat()),
        project=info.project,
        requester=info.requester,
        status=info.status,
        snapshot=info.snapshot,
        table=str(spec.get("table", "")),
        mode=str(spec.get("mode", "sdc")),
        group_by=[str(c) for c in spec.get("group_by") or []],
        filters=filters_of(spec),
        measures=measures_of(spec),
        rho=_number(float(rho)) if rho is not None else None,
        epsilon=_number(epsilon(float(rho), DEFAULT_DELTA)) if rho is not None else None,
        margins=bool(spec.get("margins")),
        checks=check_rows(info.checks),
        risk=merged_risk(info.checks),
        justification=info.justification,
        reviewer=info.reviewer,
        review_reason=info.review_reason,
        release_id=info.release_id,
        spec_json=json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False),
    )


def _request_id(text: str, session: Session) -> int:
    if not text.isdigit():
        raise _PageError(404, "Not found", f"There is no request {text!r}.", session)
    return int(text)


def _request_page(
    request: Request,
    svc: Services,
    session: Session,
    request_id: int,
    *,
    status: int = 200,
    reviewed: bool = False,
    error: str | None = None,
    reasons: dict[str, str] | None = None,
) -> HTMLResponse:
    try:
        info = svc.releases.request(request_id)
    except NotFound as missing:
        raise _PageError(404, "Not found", f"{missing}.", session) from None
    notice = f"Your review is recorded: request {info.id} is {info.status}." if reviewed else None
    return _render(
        request,
        svc,
        "request.html",
        status=status,
        session=session,
        item=_request_view(info),
        notice=notice,
        error=error,
        reasons=reasons or {"approve": "", "reject": ""},
    )


@pages.get("/requests/{request_id}", response_class=HTMLResponse)
def request_detail(
    request: Request, request_id: str, session: CurrentSession, svc: ServicesDep, reviewed: str = ""
) -> HTMLResponse:
    number = _request_id(request_id, session)
    return _request_page(request, svc, session, number, reviewed=bool(reviewed))


def _review(
    request: Request,
    svc: Services,
    session: Session,
    request_id: str,
    csrf: str,
    reason: str,
    approve: bool,
) -> Response:
    _check_csrf(session, csrf)
    number = _request_id(request_id, session)
    try:
        with svc.lock:
            svc.releases.review(session.principal, number, approve=approve, reason=reason)
    except NotFound as missing:
        raise _PageError(404, "Not found", f"{missing}.", session) from None
    except MedlerUserError as refused:
        status, _ = _errors.status_for(refused)
        kept = {"approve": reason if approve else "", "reject": "" if approve else reason}
        return _request_page(
            request,
            svc,
            session,
            number,
            status=status,
            error=f"Not {'approved' if approve else 'rejected'}: {refused}.",
            reasons=kept,
        )
    return _redirect(f"/dpo/requests/{number}?reviewed=1")


@pages.post("/requests/{request_id}/approve", response_class=HTMLResponse)
def approve(
    request: Request,
    request_id: str,
    session: CurrentSession,
    svc: ServicesDep,
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _review(request, svc, session, request_id, csrf, reason, True)


@pages.post("/requests/{request_id}/reject", response_class=HTMLResponse)
def reject(
    request: Request,
    request_id: str,
    session: CurrentSession,
    svc: ServicesDep,
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _review(request, svc, session, request_id, csrf, reason, False)


# --- budgets ----------------------------------------------------------------------------------

CHART_WIDTH, ROW, BAR = 640, 46, 18  # the chart's width, one budget's height, a bar's


@dataclass(frozen=True)
class BudgetBar:
    """One budget: its figures for the table, and its bar's geometry for the chart."""

    scope: str
    level: str
    name: str
    cap: str
    spent: str
    reserved: str
    remaining: str
    spent_epsilon: str
    cap_epsilon: str
    share: str
    y: float
    spent_width: float
    reserved_x: float
    reserved_width: float
    over: bool
    exact_tables: int = 0
    exact_previews: int = 0


def _budget_name(scope: BudgetScope) -> str:
    if scope.project is None:
        return "The data set (every snapshot)"
    if scope.researcher is None:
        return f"Project {scope.project}"
    return f"Researcher {scope.researcher} in {scope.project}"


def _budget_order(totals: LedgerTotals) -> tuple[int, str, int, str]:
    scope = totals.scope
    if scope.project is None:
        return (0, "", 0, "")
    return (1, scope.project, 0 if scope.researcher is None else 1, scope.researcher or "")


def _budget_bars(
    totals: list[LedgerTotals],
    delta: float,
    exact: dict[BudgetScope, tuple[int, int]] | None = None,
) -> list[BudgetBar]:
    exact = exact or {}
    bars = []
    for i, t in enumerate(sorted(totals, key=_budget_order)):
        scale = CHART_WIDTH / t.cap if t.cap > 0 else 0.0
        spent = min(t.spent * scale, CHART_WIDTH)
        reserved = min(t.reserved * scale, spent)
        bars.append(
            BudgetBar(
                scope=t.scope.key,
                level=t.scope.level,
                name=_budget_name(t.scope),
                cap=_number(t.cap),
                spent=_number(t.spent),
                reserved=_number(t.reserved),
                remaining=_number(t.remaining),
                spent_epsilon=_number(epsilon(t.spent, delta)),
                cap_epsilon=_number(epsilon(t.cap, delta)),
                share=f"{t.spent / t.cap:.0%}" if t.cap > 0 else "no cap",
                y=i * ROW,
                spent_width=round(spent, 2),
                reserved_x=round(spent - reserved, 2),
                reserved_width=round(reserved, 2),
                over=t.spent > t.cap,
                exact_tables=exact.get(t.scope, (0, 0))[0],
                exact_previews=exact.get(t.scope, (0, 0))[1],
            )
        )
    return bars


@pages.get("/budgets", response_class=HTMLResponse)
def budgets(request: Request, session: CurrentSession, svc: ServicesDep) -> HTMLResponse:
    bars = _budget_bars(
        svc.governance.ledger.totals(), DEFAULT_DELTA, exact_outputs(svc.releaser.store.all())
    )
    return _render(
        request,
        svc,
        "budgets.html",
        session=session,
        bars=bars,
        delta=DEFAULT_DELTA,
        width=CHART_WIDTH,
        bar=BAR,
        height=max(len(bars), 1) * ROW,
        exact=_exact_by_project(svc, session),
    )


def _exact_by_project(svc: Services, session: Session) -> list[tuple[str, int, int]]:
    """Per project, its exact (sdc) tables released and previewed: outputs that spend no ρ
    but count toward the project's linked audit."""
    counts: dict[str, list[int]] = {}
    for entry in svc.releases.release_log(session.principal):
        if entry.mode == "sdc" and entry.status in ("released", "previewed"):
            counts.setdefault(entry.project, [0, 0])[entry.status == "previewed"] += 1
    return [(project, n[0], n[1]) for project, n in sorted(counts.items())]


# --- the audit chain --------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditState:
    ok: bool
    records: int
    head: str
    problem: str | None
    witness: str | None
    witness_error: str | None = None


def _audit_state(svc: Services, witness: str | None) -> AuditState:
    """The chain's state; a mistyped witness is said to be mistyped, not taken for tampering."""
    seen, mistyped = None, None
    if witness:
        try:
            seen = parse_witness(witness)
        except MedlerUserError as error:
            mistyped, witness = str(error), None
    seq, digest = audit_head(svc.governance.engine)
    try:
        count = verify_audit(svc.governance.engine, witness=seen, store=svc.releaser.store.all())
    except AuditChainBroken as broken:
        return AuditState(False, 0, f"{seq}:{digest}", str(broken), witness, mistyped)
    return AuditState(True, count, f"{seq}:{digest}", None, witness, mistyped)


@pages.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    session: CurrentSession,
    svc: ServicesDep,
    witness: str = "",
    action: str = "",
    actor: str = "",
    project: str = "",
    since: str = "",
    until: str = "",
    page: str = "1",
) -> HTMLResponse:
    """The chain's state, and its records, filtered and paged, newest first."""
    state = _audit_state(svc, witness.strip() or None)
    filters = {"action": action, "actor": actor, "project": project, "since": since, "until": until}
    filters = {k: v.strip() for k, v in filters.items()}
    errors: list[str] = []
    first, last = _day(filters["since"], "since", errors), _day(filters["until"], "until", errors)
    if first is not None and last is not None and first > last:
        errors.append("since: the first day is after the last day.")
    control = svc.governance.engine
    context: dict[str, Any] = {
        "filters": filters,
        "errors": errors,
        "rows": [],
        "total": 0,
        "start": 0,
        "end": 0,
        "previous": None,
        "next": None,
        "page": 1,
        "pages": 1,
        "actions": governance.audit_actions(control),
    }
    if errors:
        return _render(
            request, svc, "audit.html", status=422, session=session, audit=state, **context
        )
    wanted: dict[str, Any] = {k: filters[k] or None for k in ("action", "actor", "project")}
    wanted |= {"since": first, "until": last}
    number = max(int(page) if page.isdigit() else 1, 1)
    listed = governance.list_audit(
        control, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE, **wanted
    )
    pages_count = max(1, math.ceil(listed.total / PAGE_SIZE))
    if number > pages_count:
        number = pages_count
        listed = governance.list_audit(
            control, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE, **wanted
        )
    kept = {k: v for k, v in {**filters, "witness": witness.strip()}.items() if v}

    def link(n: int) -> str:
        return "/dpo/audit?" + urlencode({**kept, "page": n})

    offset = (number - 1) * PAGE_SIZE
    context.update(
        rows=[replace(e, at=_when(e.at)) for e in listed.entries],
        total=listed.total,
        start=offset + 1 if listed.entries else 0,
        end=offset + len(listed.entries),
        page=number,
        pages=pages_count,
        previous=link(number - 1) if number > 1 else None,
        next=link(number + 1) if number < pages_count else None,
    )
    return _render(request, svc, "audit.html", session=session, audit=state, **context)


@pages.get("/{rest:path}", response_class=HTMLResponse)
def not_found(rest: str, session: CurrentSession) -> HTMLResponse:
    raise _PageError(404, "Not found", f"There is no page /dpo/{rest}.", session)


# --- helpers and installation -----------------------------------------------------------------


def _when(at: str) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    return at[:19].replace("T", " ")


def _number(value: float) -> str:
    return f"{value:.6g}"


def install(app: FastAPI) -> None:
    """Add the DPO's pages (``/dpo``) and their stylesheet (``/static``) to ``app``."""

    async def login_needed(request: Request, _error: Exception) -> Response:
        response = _redirect("/dpo/login")
        if request.cookies.get(COOKIE):  # a session that ended (expired, revoked): forget it
            _forget(response, request.app.state.medler)
        return response

    async def page_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, _PageError)
        return _render(
            request,
            request.app.state.medler,
            "error.html",
            status=error.status,
            session=error.session,
            title=error.title,
            message=error.message,
        )

    app.add_exception_handler(_LoginNeeded, login_needed)
    app.add_exception_handler(_PageError, page_error)
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
