"""What every route depends on: the service's parts, the bearer token's person, their role,
the per-token rate limit and the limit on failed logins (``_failures``). Permission checks
live here, not in the handlers."""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.service._errors import RateLimited, unreadable
from api.service._failures import LoginFailures
from api.service._schemas import DataLabel
from api.service._settings import Settings
from medler.errors import MedlerUserError
from release import Releaser, ReleaseService
from release.governance import Governance, NotAllowed, NotAuthenticated, Principal, WebSessions


class RateLimiter:
    """At most ``per_minute`` requests per token in any sliding minute."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                wait = max(1, math.ceil(hits[0] + 60 - now))
                raise RateLimited(
                    f"more than {self.per_minute} requests a minute with this "
                    f"token; try again in {wait} s",
                    wait,
                )
            hits.append(now)


@dataclass
class Services:
    """The service's parts, made once at start-up (``app.state.medler``)."""

    settings: Settings
    releaser: Releaser
    governance: Governance
    releases: ReleaseService
    limiter: RateLimiter
    # the releaser keeps per-snapshot caches: one computation at a time (the ledger and the
    # audit log are safe across processes on their own, by their database transactions)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # failed logins (bearer API and login form) and the DPO's web sessions, from the settings
    failures: LoginFailures = field(init=False)
    sessions: WebSessions = field(init=False)

    def __post_init__(self) -> None:
        self.failures = LoginFailures(
            self.settings.login_failures, self.settings.login_window_seconds
        )
        self.sessions = WebSessions(
            self.governance.engine,
            idle=dt.timedelta(minutes=self.settings.session_idle_minutes),
            lifetime=dt.timedelta(hours=self.settings.session_hours),
        )

    @property
    def label(self) -> DataLabel:
        return "dummy" if self.settings.mode == "dummy" else "real"


def services(request: Request) -> Services:
    found: Services = request.app.state.medler
    return found


ServicesDep = Annotated[Services, Depends(services)]


async def readable_json(request: Request) -> None:
    """Refuse a JSON body with a value no field takes (422), naming the field: NaN or an
    infinity (a budget, a ρ or a filter bound must never be one) or text that is not Unicode.
    Runs on every route, before its body is validated."""
    if "json" not in request.headers.get("content-type", "") or not await request.body():
        return
    try:
        body = await request.json()
    except (ValueError, RecursionError):  # not JSON: the route's own reading says so
        return
    problem = unreadable(body)
    if problem is not None:
        raise MedlerUserError(problem)


_bearer = HTTPBearer(auto_error=False, description="medler_<id>_<secret>, from the office.")


def client_address(request: Request) -> str:
    """The client's address as the server reports it (see ``_failures`` behind a proxy)."""
    return request.client.host if request.client is not None else "unknown"


def current_principal(
    request: Request,
    svc: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise NotAuthenticated("send the header 'Authorization: Bearer <token>'")
    with svc.failures.attempt(client_address(request), credentials.credentials):
        principal = svc.governance.authenticate(credentials.credentials)
    svc.limiter.hit(credentials.credentials.split("_")[1])
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _role(*roles: str) -> Callable[[Principal], Principal]:
    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise NotAllowed(
                f"this is for the {' or '.join(roles)} role; you are a {principal.role}"
            )
        return principal

    return check


CurrentResearcher = Annotated[Principal, Depends(_role("researcher"))]
CurrentDpo = Annotated[Principal, Depends(_role("dpo"))]
CurrentOffice = Annotated[Principal, Depends(_role("statistician", "admin"))]
CurrentOverseer = Annotated[Principal, Depends(_role("dpo", "statistician"))]
