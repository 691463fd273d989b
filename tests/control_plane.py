"""The control plane's database for a test, on SQLite and on PostgreSQL.

``control_url`` (import it into the test module) runs a test once per database: a fresh SQLite
file in the test's directory, and a fresh PostgreSQL database created for the test on the server
that ``MEDLER_TEST_POSTGRES_URL`` names (``scripts/test.sh`` starts one) and dropped after it.
Without that variable the PostgreSQL run is skipped, with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.pool import NullPool

from release.governance._db import default_url

POSTGRES_URL = "MEDLER_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def control_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty control-plane database, on SQLite and then on PostgreSQL."""
    if request.param == "sqlite":
        yield default_url(tmp_path)
        return
    server = os.environ.get(POSTGRES_URL)
    if not server:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL} (scripts/test.sh starts a server)")
    with fresh_database(server) as url:
        yield url


@contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """A new, uniquely named database on the server at ``server``; afterwards every engine that
    connected meanwhile is disposed of (no connection is left open) and the database dropped."""
    url = make_url(server)
    name = f"medler_test_{uuid.uuid4().hex[:16]}"
    # held strongly: an engine a test drops unused would otherwise reach the collector with
    # its pooled connection open, and psycopg's warning about it would fail whichever test
    # happened to be running then
    engines: dict[int, Engine] = {}

    def track(connection: Connection) -> None:
        engines.setdefault(id(connection.engine), connection.engine)

    _admin(url, f'CREATE DATABASE "{name}"')
    event.listen(Engine, "engine_connect", track)
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        event.remove(Engine, "engine_connect", track)
        for engine in list(engines.values()):
            engine.dispose()
        # FORCE: a killed process's connection may not have been noticed by the server yet
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(server: URL, statement: str) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()
