"""Exceptions to HTTP answers, in one place. Every error answer is
``{"error": {"code": ..., "message": ...}, "data": "real" | "dummy"}``; the message says what
was wrong and what to do, and never quotes data."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from medler.errors import MedlerUserError
from release import QueryRefused, UnknownName
from release.governance import BudgetExhausted, Conflict, NotAllowed, NotAuthenticated, NotFound


class RateLimited(MedlerUserError):
    """Too many requests with one token; the answer says when to try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestTooLarge(MedlerUserError):
    """A request body over the service's limit."""


# Most specific class first: the first match wins.
STATUS: tuple[tuple[type[BaseException], int, str], ...] = (
    (NotAuthenticated, 401, "not_authenticated"),
    (NotAllowed, 403, "not_allowed"),
    (UnknownName, 422, "invalid"),  # a typo in a table or column name: the request is wrong
    (QueryRefused, 403, "refused"),
    (NotFound, 404, "not_found"),
    (BudgetExhausted, 409, "budget_exhausted"),
    (Conflict, 409, "conflict"),
    (RequestTooLarge, 413, "request_too_large"),
    (RateLimited, 429, "rate_limited"),
    (MedlerUserError, 422, "invalid"),
)


def error_body(code: str, message: str, label: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message}, "data": label}


def status_for(error: BaseException) -> tuple[int, str]:
    for error_type, status, code in STATUS:
        if isinstance(error, error_type):
            return status, code
    return 500, "internal"


def install(app: FastAPI, label: str) -> None:
    """Register the handlers on ``app``."""

    async def user_error(_request: Request, error: Exception) -> JSONResponse:
        status, code = status_for(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        if isinstance(error, RateLimited):
            headers["Retry-After"] = str(error.retry_after)
        return JSONResponse(error_body(code, str(error), label), status, headers=headers)

    async def invalid(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
        return JSONResponse(error_body("invalid", f"{where}: {first.get('msg')}", label), 422)

    async def http_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http")
        return JSONResponse(error_body(code, str(error.detail), label), error.status_code)

    async def internal(_request: Request, error: Exception) -> JSONResponse:
        # the message of an unexpected exception may quote data: only its type is answered
        return JSONResponse(error_body("internal", f"internal error ({type(error).__name__}); "
                                       "this is a bug in medler", label), 500)  # fmt: skip

    app.add_exception_handler(MedlerUserError, user_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal)
