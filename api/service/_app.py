"""The FastAPI application: ``/v1`` for researchers, the DPO and the office, with bearer-token
auth (the public register, ``/register`` and ``/v1/register``, needs none), a request-size
limit, per-token rate limits, a limit on failed logins, hardening headers (``_headers``),
errors mapped in one module, and its documentation served from its own files (``_docs``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from pydantic import ConfigDict, Field
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.service import _docs, _errors, _pages, _register
from api.service._deps import RateLimiter, Services, ServicesDep, readable_json
from api.service._headers import SecurityHeaders
from api.service._overseers import dpo, office
from api.service._researchers import router as researchers
from api.service._schemas import DataLabel, Labelled
from api.service._settings import Settings
from medler.errors import MedlerUserError
from release import FileStore, Releaser, ReleaseService
from release.governance import Governance, connect_control_plane, default_url

API_VERSION = "1"
DESCRIPTION = """\
medler's HTTP service. Researchers preview and submit query specs for their projects and
download released tables; the data protection officer reviews the release log, held requests,
budgets and the audit chain; the statistics office administers projects, people and tokens.

Only aggregates leave: every answer is a released table, its accuracy, or metadata about
requests; never a row or a pseudonym. Authenticate with `Authorization: Bearer <token>`;
the public register (`GET /v1/register`: approved projects and their releases) needs none.
Every answer says whether it is about `real` data or `dummy` data (a synthetic snapshot for
writing queries).
"""


class HealthOut(Labelled):
    """The service is up."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "data": "real"}]})
    status: str = Field(description="ok.")


class _BodyLimit:
    """Refuse request bodies over ``limit`` bytes (413), whatever the Content-Length says."""

    def __init__(self, app: ASGIApp, limit: int, label: DataLabel) -> None:
        self.app, self.limit, self.label = app, limit, label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"the request body is larger than {self.limit} bytes"
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send, message)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            got = await receive()
            if got["type"] == "http.request":
                seen += len(got.get("body", b""))
                if seen > self.limit:
                    raise _errors.RequestTooLarge(message)
            return got

        await self.app(scope, counted, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, message: str) -> None:
        body = _errors.error_body("request_too_large", message, self.label)
        await JSONResponse(body, 413)(scope, receive, send)


class _Internal:
    """An unexpected exception becomes the 500 answer here and goes no further. Starlette's
    own last handler answers and then raises again, and the server then drops the connection
    (the client's next request on it fails), logging the message, which may quote data."""

    def __init__(self, app: ASGIApp, label: DataLabel) -> None:
        self.app, self.label = app, label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:
            if started:  # too late for an answer of its own
                raise
            body = _errors.internal_body(error, self.label)
            answer = JSONResponse(body, 500, headers={"X-Medler-Data": self.label})
            await answer(scope, receive, send)


class _Label(BaseHTTPMiddleware):
    """``X-Medler-Data: real | dummy`` on every answer, pages and files included."""

    def __init__(self, app: ASGIApp, label: DataLabel) -> None:
        super().__init__(app)
        self.label = label

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["X-Medler-Data"] = self.label
        return response


def make_services(settings: Settings) -> Services:
    if not settings.data_dir.exists():
        raise MedlerUserError(
            f"{settings.data_dir}: no such data directory; run `medler "
            "build` first, or serve the dummy mode"
        )
    control = connect_control_plane(settings.control_url or default_url(settings.data_dir))
    governance = Governance(control)
    releaser = Releaser(
        settings.data_dir, store=FileStore(settings.data_dir / "release"), control=control
    )
    return Services(
        settings,
        releaser,
        governance,
        ReleaseService(releaser, governance),
        RateLimiter(settings.rate_limit_per_minute),
    )


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The application over ``settings`` (default: the environment)."""
    svc = services or make_services(settings or Settings())
    label = svc.label
    title = "medler" + (" (dummy data)" if label == "dummy" else "")
    app = FastAPI(
        title=title,
        version=API_VERSION,
        description=DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(readable_json)],
    )
    app.state.medler = svc
    _errors.install(app, label)
    app.add_middleware(_Label, label=label)
    app.add_middleware(_BodyLimit, limit=svc.settings.max_request_bytes, label=label)
    app.add_middleware(_Internal, label=label)  # it sees every exception
    app.add_middleware(SecurityHeaders, behind_tls_proxy=svc.settings.behind_tls_proxy)

    v1 = APIRouter(prefix="/v1")

    @v1.get("/health", response_model=HealthOut, tags=["service"], summary="Is it up?")
    def health(svc: ServicesDep) -> HealthOut:
        return HealthOut(status="ok", data=svc.label)

    v1.include_router(researchers)
    v1.include_router(dpo)
    v1.include_router(office)
    v1.include_router(_register.feed)
    app.include_router(v1)
    app.include_router(_register.page)
    _docs.install(app)
    _pages.install(app)
    return app
