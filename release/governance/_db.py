"""The control plane's database: a SQLite file by default, PostgreSQL by URL. Opening it
migrates it to the newest schema (Alembic), so a service never runs on an old one.

Concurrency: every write transaction on SQLite begins ``IMMEDIATE`` (it takes the database's
write lock at once, so two ledgers cannot both read a balance and both spend it); on
PostgreSQL the ledger locks the budget rows it reads (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from medler.errors import MedlerUserError

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_TIMEOUT_SECONDS = 60
MIGRATION_LOCK = 7297010001  # any fixed number: the advisory lock held while migrating


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'control.db').resolve()}"


POSTGRES_EXTRA_FIX = (
    "pip install 'medler[postgres]' "
    "(from a clone: pip install -c requirements/constraints.txt -e '.[postgres]')"
)


def _check_driver(url: str) -> None:
    """Refuse, as a user error, a URL that is not one or whose driver cannot be imported.
    Messages name the driver (``postgresql+psycopg``), never the URL: it may hold a password."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise MedlerUserError(
            "the control-plane URL (MEDLER_CONTROL_URL) is not a database URL; write it as "
            "postgresql+psycopg://USER@HOST/DATABASE, or leave it unset for the SQLite file "
            "in the data directory"
        ) from None
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise MedlerUserError(
            f"the control-plane URL (MEDLER_CONTROL_URL) names the driver "
            f"'{parsed.drivername}', which is not one SQLAlchemy knows; medler's control plane "
            "runs on sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE"
        ) from None
    except ImportError as error:
        module = f" ({error.name})" if error.name else ""
        fix = f"install medler with its postgres extra: {POSTGRES_EXTRA_FIX}"
        if parsed.drivername != "postgresql+psycopg":
            fix = f"write the URL as postgresql+psycopg://… and {fix}"
        raise MedlerUserError(
            f"the control-plane URL (MEDLER_CONTROL_URL) uses the driver "
            f"'{parsed.drivername}', but its Python module{module} cannot be imported; {fix}"
        ) from error


def connect_control_plane(url: str) -> Engine:
    """An engine on the control plane at ``url``, migrated to the newest schema."""
    _check_driver(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA foreign_keys=ON")

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        engine = create_engine(url, pool_pre_ping=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # processes starting together on an empty database migrate one at a time
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return engine
