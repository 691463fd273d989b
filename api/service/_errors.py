"""Exceptions to HTTP answers, in one place. Every error answer is
``{"error": {"code": ..., "message": ...}, "data": "real" | "dummy"}``; the message says what
was wrong and what to do, and never quotes data."""

from __future__ import annotations

import logging
import math
import re
import traceback
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from medler.errors import MedlerUserError
from release import Gone, QueryRefused, UnknownName
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
    (Gone, 410, "gone"),
    (BudgetExhausted, 409, "budget_exhausted"),
    (Conflict, 409, "conflict"),
    (RequestTooLarge, 413, "request_too_large"),
    (RateLimited, 429, "rate_limited"),
    (MedlerUserError, 422, "invalid"),
)


UNREAD = (
    "the body could not be read as JSON (it is not UTF-8, is nested too deeply or has a number "
    "of more than 4300 digits); send a JSON object"
)
# the tag pydantic adds to the place of an error for each type of a union (str | int | ...)
_UNION_TAG = re.compile(r"^(str|int|float|bool|function-\w+\[.*\])$")
log = logging.getLogger("medler.service")


def error_body(code: str, message: str, label: str) -> dict[str, object]:
    """An error answer. A message that quotes a request's text with a lone surrogate in it
    shows it escaped (``\\ud800``), so that the answer is always UTF-8."""
    readable = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return {"error": {"code": code, "message": readable}, "data": label}


def internal_body(error: BaseException, label: str) -> dict[str, object]:
    """The answer to an unexpected exception, logged with its type and where it was raised:
    never its message, which may quote data."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    log.error("internal error: %s%s", type(error).__name__, where)
    message = f"internal error ({type(error).__name__}); this is a bug in medler"
    return error_body("internal", message, label)


def _surrogate(text: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in text)


def unreadable(body: Any) -> str | None:
    """What no field of medler's takes in a parsed JSON body, and where (``filters.0.values.1:
    …``), or None. Python's JSON reader takes ``NaN``, ``Infinity`` and numbers too large for
    a float, none of which JSON allows, and ``"\\ud800"``, a lone surrogate: text that is not
    Unicode, which no answer, log page or file could then show."""
    stack: list[tuple[tuple[str, ...], Any]] = [((), body)]
    while stack:
        where, value = stack.pop()
        place = ".".join(where) or "the body"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{place}: not a finite number (NaN, Infinity or too large); give a number"
        if isinstance(value, str) and _surrogate(value):
            return f"{place}: text with a lone surrogate, which is not Unicode; give valid text"
        if isinstance(value, dict) and any(_surrogate(str(k)) for k in value):
            return f"{place}: a field's name has a lone surrogate, which is not Unicode"
        if isinstance(value, dict | list):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend(((*where, str(k)), v) for k, v in reversed(list(items)))
    return None


def validation_message(errors: list[Any]) -> str:
    """The first error of a request that does not fit its schema, as ``where: what``. The
    errors of one value against each type of a union (a filter value is text, a number or
    true/false) are said once, together."""
    if not errors:
        return "request: invalid request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        why, at = first.get("ctx", {}).get("error", "unreadable"), first["loc"][-1]
        at = at + 1 if isinstance(at, int) else at  # counted from 1
        return f"the body is not valid JSON ({why} at character {at}); send JSON"

    def place(error: Any) -> list[str]:
        return [str(p) for p in error.get("loc", ()) if p != "body"]

    def tagged(error: Any) -> bool:  # its place ends in one type of a union
        return bool(place(error)) and _UNION_TAG.match(place(error)[-1]) is not None

    loc, what = place(first), str(first.get("msg", "invalid"))
    if tagged(first):
        kinds = [
            str(e.get("msg", "")).removeprefix("Input should be ")
            for e in errors
            if tagged(e) and place(e)[:-1] == loc[:-1]
        ]
        if len(kinds) > 1:
            loc, what = loc[:-1], f"Input should be {', '.join(kinds[:-1])} or {kinds[-1]}"
    return f"{'.'.join(loc) or 'request'}: {what}"


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
        message = validation_message(list(error.errors()))
        return JSONResponse(error_body("invalid", message, label), 422)

    async def http_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 400:  # a body FastAPI could not read: bad input, like the rest
            return JSONResponse(error_body("invalid", UNREAD, label), 422)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http")
        return JSONResponse(error_body(code, str(error.detail), label), error.status_code)

    async def internal(_request: Request, error: Exception) -> JSONResponse:
        # the message of an unexpected exception may quote data: only its type is answered
        return JSONResponse(internal_body(error, label), 500)

    app.add_exception_handler(MedlerUserError, user_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal)
