"""Hardening headers: on every answer of the API (``/v1``), and Strict-Transport-Security on
every answer that went over TLS.

- Every ``/v1`` answer: ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'``
  (JSON and files load nothing and go in no frame; the docs page sets its own, allowing this
  service only), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and
  ``X-Frame-Options: DENY``; ``Cache-Control: no-store`` on every answer to a request that
  carried credentials (an ``Authorization`` header), so no cache keeps a released table.
- ``Strict-Transport-Security`` when the request came over TLS: its scheme is ``https`` (as
  the server sees it; behind a proxy, uvicorn's ``--proxy-headers`` takes it from the proxy), or
  ``MEDLER_BEHIND_TLS_PROXY=true`` says a TLS-terminating proxy is in front. Never over plain
  HTTP otherwise: a browser ignores it there, and a development server must stay reachable.

The DPO pages (``/dpo``) set their own, stricter set (``_pages.HEADERS``).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000"


class SecurityHeaders:
    """The headers above, added to answers as they leave (an answer's own value is kept, but
    an authenticated answer is always ``no-store``)."""

    def __init__(self, app: ASGIApp, *, behind_tls_proxy: bool) -> None:
        self.app, self.behind_tls_proxy = app, behind_tls_proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        api = path == "/v1" or path.startswith("/v1/")
        tls = scope.get("scheme") == "https" or self.behind_tls_proxy
        authenticated = any(name.lower() == b"authorization" for name, _ in scope["headers"])

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if api:
                    for name, value in API_HEADERS.items():
                        headers.setdefault(name, value)
                    if authenticated:
                        headers["Cache-Control"] = "no-store"
                if tls:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, sending)
