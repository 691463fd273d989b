"""The DPO pages' login, logout and sessions: the web side of the control plane's web sessions
(``release.governance.WebSessions``, which say when a session ends).

Two cookies, both HttpOnly (no script reads them), SameSite=Strict (no other site's page makes
the browser send them) and Secure unless ``MEDLER_SECURE_COOKIES=false``:

- ``medler_dpo`` (path ``/dpo``): a logged-in session's random id. It is not the token, and it
  is worth nothing on the bearer API. Every login opens a new session and ends the browser's
  earlier one; logging out ends it on the server, not only in the browser.
- ``medler_dpo_login`` (path ``/dpo/login``): the login form's own random value, which the
  form sends back in its hidden field ``login_csrf``. A login post whose field does not match
  the cookie is refused (403) before its token is read, so another site cannot log a browser
  in with a token of its choosing: it can neither read nor set the cookie.

Every form of a session carries the session's own random ``csrf`` value; a post with any
other value is refused. Logins count towards the failed-login limit (``_failures``).
"""

from __future__ import annotations

import secrets

from fastapi import Request, Response

from api.service._deps import Services, client_address
from api.service._failures import token_id
from release.governance import NotAuthenticated, Principal, WebSessionInfo, csrf_matches

COOKIE = "medler_dpo"
LOGIN_COOKIE = "medler_dpo_login"
LOGIN_COOKIE_SECONDS = 3600  # a login form left open longer is sent again
_VALUE_LENGTH = 43  # secrets.token_urlsafe(32)


# a logged-in DPO: who (``principal``), the token they logged in with (``token_id``) and the
# session's form value (``csrf``)
Session = WebSessionInfo


class LoginNeeded(Exception):
    """No valid DPO session: the visitor is sent to the login page."""


def current(request: Request, svc: Services) -> Session:
    """The request's valid DPO session (marked as used now), or ``LoginNeeded``. The per-token
    rate limit applies to pages as to the API (``RateLimited``)."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        raise LoginNeeded
    info = svc.sessions.find(session_id)
    if info is None or info.principal.role != "dpo":
        raise LoginNeeded
    svc.limiter.hit(info.token_id)
    return info


def csrf_ok(session: Session, sent: str) -> bool:
    """Whether a form's ``csrf`` value is this session's own (in constant time)."""
    return bool(sent) and csrf_matches(session, sent)


def login_value(request: Request) -> str:
    """The login form's value: the browser's login cookie when it has a well-formed one (two
    open login tabs both work), else a new random one."""
    kept = request.cookies.get(LOGIN_COOKIE, "")
    if len(kept) == _VALUE_LENGTH and kept.replace("-", "").replace("_", "").isalnum():
        return kept
    return secrets.token_urlsafe(32)


def offer_login(response: Response, svc: Services, value: str) -> None:
    """Set the login cookie that goes with a login form carrying ``value``."""
    response.set_cookie(
        LOGIN_COOKIE,
        value,
        max_age=LOGIN_COOKIE_SECONDS,
        path="/dpo/login",
        httponly=True,
        samesite="strict",
        secure=svc.settings.secure_cookies,
    )


def login_allowed(request: Request, sent: str) -> bool:
    """Whether a login post came from this service's own login form: its ``login_csrf`` field
    matches the browser's login cookie (in constant time)."""
    kept = request.cookies.get(LOGIN_COOKIE, "")
    if not kept or not sent:
        return False
    return secrets.compare_digest(
        kept.encode("utf-8", "backslashreplace"), sent.encode("utf-8", "backslashreplace")
    )


def authenticate(request: Request, svc: Services, token: str) -> Principal:
    """The token's person, within the failed-login limit: ``NotAuthenticated`` (counted) or
    ``RateLimited`` (the token not even checked)."""
    with svc.failures.attempt(client_address(request), token):
        return svc.governance.authenticate(token)


def start(
    request: Request, response: Response, svc: Services, principal: Principal, token: str
) -> None:
    """Open a new session for ``principal`` (ending the browser's earlier one) and put its id
    in the cookie; the login cookie has served its purpose."""
    found = token_id(token)
    if found is None:  # authenticate accepted it, so it is shaped as a token
        raise NotAuthenticated("this is a bug in medler: an accepted token without an id")
    opened = svc.sessions.open(principal, found, replacing=request.cookies.get(COOKIE))
    response.set_cookie(
        COOKIE,
        opened.id,
        path="/dpo",
        httponly=True,
        samesite="strict",
        secure=svc.settings.secure_cookies,
    )
    response.delete_cookie(
        LOGIN_COOKIE,
        path="/dpo/login",
        httponly=True,
        samesite="strict",
        secure=svc.settings.secure_cookies,
    )


def end(request: Request, response: Response, svc: Services) -> None:
    """End the request's session on the server and forget its cookie."""
    session_id = request.cookies.get(COOKIE)
    if session_id:
        svc.sessions.end(session_id)
    forget(response, svc)


def forget(response: Response, svc: Services) -> None:
    """Tell the browser to drop the session cookie."""
    response.delete_cookie(
        COOKIE, path="/dpo", httponly=True, samesite="strict", secure=svc.settings.secure_cookies
    )
