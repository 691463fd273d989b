"""The data protection officer's web sessions, kept in the control plane (``web_sessions``).

A login with a token opens a session named by a random id that only the browser's cookie
holds; the table keeps the id's SHA-256 hash, so reading the database gives no usable session,
and the cookie is not a token (it is worth nothing on the bearer API). A session is valid
while all of these hold:

- it was not ended: by logging out, or by a new login from the same browser (each login
  opens a new session, so an id known before the login is worth nothing after it);
- it was used within the idle timeout, and it is younger than its lifetime;
- the token it was opened with is neither revoked nor expired, and belongs to the same person.

Each session has its own random form value (``csrf``), which every form that changes
something must send back; it is compared in constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, delete, or_
from sqlalchemy.orm import Session

from release.governance._access import Principal
from release.governance._models import Person, Token, WebSession

DEFAULT_IDLE = dt.timedelta(minutes=15)
DEFAULT_LIFETIME = dt.timedelta(hours=8)


@dataclass(frozen=True)
class WebSessionInfo:
    """A valid session: who (with their role now), the token it was opened with, its form
    value."""

    principal: Principal
    token_id: str
    csrf: str


@dataclass(frozen=True)
class OpenedSession:
    """A new session: ``id`` goes into the cookie and is never stored."""

    id: str
    info: WebSessionInfo


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every time here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "backslashreplace")).hexdigest()


class WebSessions:
    """Sessions on the control plane ``engine``, ending after ``idle`` without a request and
    ``lifetime`` after the login."""

    def __init__(
        self,
        engine: Engine,
        *,
        idle: dt.timedelta = DEFAULT_IDLE,
        lifetime: dt.timedelta = DEFAULT_LIFETIME,
    ) -> None:
        if idle <= dt.timedelta(0) or lifetime <= dt.timedelta(0):
            raise ValueError("a session's idle timeout and lifetime are positive")
        self.engine, self.idle, self.lifetime = engine, idle, lifetime

    def open(
        self,
        principal: Principal,
        token_id: str,
        *,
        replacing: str | None = None,
        now: dt.datetime | None = None,
    ) -> OpenedSession:
        """A new session for ``principal``, who logged in with the token ``token_id``. The
        session ``replacing`` (the browser's earlier one, if any) ends. Sessions that can no
        longer be valid are deleted on the way."""
        moment = _aware(now or _now())
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with Session(self.engine) as db, db.begin():
            if replacing:
                self._end(db, replacing, moment)
            db.execute(
                delete(WebSession).where(
                    or_(
                        WebSession.ended_at.is_not(None),
                        WebSession.created_at <= moment - self.lifetime,
                        WebSession.seen_at <= moment - self.idle,
                    )
                )
            )
            db.add(
                WebSession(
                    id_hash=_digest(session_id),
                    token_id=token_id,
                    person=principal.id,
                    csrf=csrf,
                    created_at=moment,
                    seen_at=moment,
                )
            )
        return OpenedSession(session_id, WebSessionInfo(principal, token_id, csrf))

    def find(self, session_id: str, *, now: dt.datetime | None = None) -> WebSessionInfo | None:
        """The valid session named ``session_id``, marked as used now; or None."""
        moment = _aware(now or _now())
        with Session(self.engine) as db, db.begin():
            row = db.get(WebSession, _digest(session_id))
            if row is None or row.ended_at is not None:
                return None
            if (
                _aware(row.created_at) + self.lifetime <= moment
                or _aware(row.seen_at) + self.idle <= moment
            ):
                row.ended_at = moment
                return None
            token = db.get(Token, row.token_id)
            person = db.get(Person, row.person)
            if (
                token is None
                or person is None
                or token.person != row.person
                or token.revoked_at is not None
                or _aware(token.expires_at) <= moment
            ):
                row.ended_at = moment
                return None
            row.seen_at = moment
            return WebSessionInfo(Principal(person.id, person.role), row.token_id, row.csrf)

    def end(self, session_id: str, *, now: dt.datetime | None = None) -> None:
        """End the session named ``session_id`` (logout); an unknown one is no error."""
        with Session(self.engine) as db, db.begin():
            self._end(db, session_id, _aware(now or _now()))

    @staticmethod
    def _end(db: Session, session_id: str, moment: dt.datetime) -> None:
        row = db.get(WebSession, _digest(session_id))
        if row is not None and row.ended_at is None:
            row.ended_at = moment


def csrf_matches(info: WebSessionInfo, sent: str) -> bool:
    """Whether a form's ``sent`` value is the session's own (in constant time)."""
    return secrets.compare_digest(sent.encode("utf-8", "backslashreplace"), info.csrf.encode())
