"""The service's error answers as exceptions. Every error answer is
``{"error": {"code": ..., "message": ...}, "data": ...}``; the exception carries the HTTP status,
the code and the server's message, which says what was wrong and what to do."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx


class MedlerApiError(Exception):
    """An error answer from the service: ``status`` (HTTP), ``code`` and ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} ({self.status} {self.code})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.code!r}, {self.message!r})"


class NotAuthenticated(MedlerApiError):
    """401: no token, or one that is not valid, expired or revoked; ask the office for one."""


class NotAllowed(MedlerApiError):
    """403 ``not_allowed``: your role or project does not allow this."""


class Refused(MedlerApiError):
    """403 ``refused``: the spec may not be released (the message says why and what to do)."""


class NotFound(MedlerApiError):
    """404: no such project, release or request of yours."""


class Conflict(MedlerApiError):
    """409 ``conflict``: the request clashes with the state it would change."""


class BudgetExhausted(MedlerApiError):
    """409 ``budget_exhausted``: the query costs more privacy budget than is left."""


class RequestTooLarge(MedlerApiError):
    """413: the request body is over the service's limit."""


class Invalid(MedlerApiError):
    """422: the request is malformed (a spec the service cannot read, a bad parameter)."""


class RateLimited(MedlerApiError):
    """429: too many requests with this token; ``retry_after`` seconds until the next may go."""

    def __init__(
        self, status: int, code: str, message: str, retry_after: int | None = None
    ) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


# (status, code) -> class; a code of None matches any code with that status
_CLASSES: tuple[tuple[int, str | None, type[MedlerApiError]], ...] = (
    (401, None, NotAuthenticated),
    (403, "refused", Refused),
    (403, None, NotAllowed),
    (404, None, NotFound),
    (409, "budget_exhausted", BudgetExhausted),
    (409, None, Conflict),
    (413, None, RequestTooLarge),
    (422, None, Invalid),
    (429, None, RateLimited),
)


def error_from(response: httpx.Response) -> MedlerApiError:
    """The exception for an error answer (status 400 or above)."""
    status = response.status_code
    code, message = "http", ""
    body: Any = None
    with contextlib.suppress(ValueError):
        body = response.json()
    detail = body.get("error") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        code = str(detail.get("code") or code)
        message = str(detail.get("message") or "")
    if not message:
        text = response.text.strip()
        message = text[:300] if text else response.reason_phrase or f"HTTP {status}"
    for wanted_status, wanted_code, cls in _CLASSES:
        if status == wanted_status and wanted_code in (None, code):
            if cls is RateLimited:
                after = response.headers.get("Retry-After", "")
                return RateLimited(status, code, message, int(after) if after.isdigit() else None)
            return cls(status, code, message)
    return MedlerApiError(status, code, message)
