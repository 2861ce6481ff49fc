"""Engines and migrations: connect to SQLite or PostgreSQL and bring the schema to the current revision."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from wardwatch.store.errors import DatabaseUnavailable, NotInitialised

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite connection waits for another's write lock before giving up."""


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-131072")  # up to 128 MiB of page cache: large imports build big indexes
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def connect(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout.

    Raises :class:`DatabaseUnavailable` for an unusable URL or an unreachable folder.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise DatabaseUnavailable(
            f"WARDWATCH_DATABASE_URL {url!r} is not a database URL "
            "(expected e.g. postgresql+psycopg://user@host/db or sqlite:///path/wardwatch.db)"
        ) from e
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not Path(database).parent.is_dir():
            raise DatabaseUnavailable(
                f"the folder of the SQLite database {database} does not exist; run `wardwatch init` first"
            )
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseUnavailable(f"{parsed.get_backend_name()} is not supported; use SQLite or PostgreSQL")
    return create_engine(url, pool_pre_ping=True)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache  # reading the migration scripts costs ~13 ms; they cannot change while the process runs
def head_revision() -> str:
    """The revision this version of Wardwatch needs."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise NotInitialised("no migrations are packaged")
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, ``None`` if it has no Wardwatch schema."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as e:
        raise DatabaseUnavailable(_describe(engine, e)) from e


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade (or create) the schema to ``revision`` in one transaction."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                # pysqlite opens a transaction only before INSERT/UPDATE/DELETE: without an explicit BEGIN every
                # CREATE TABLE commits by itself, and a crash mid-migration leaves a half-made schema that no later
                # `migrate` can finish (tests/store/test_crash_safety.py)
                connection.exec_driver_sql("BEGIN")
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as e:
        raise DatabaseUnavailable(_describe(engine, e)) from e


def ensure_ready(engine: Engine) -> None:
    """Raise :class:`NotInitialised` unless the schema is at the current revision."""
    current = current_revision(engine)
    if current is None:
        raise NotInitialised(
            f"no Wardwatch database at {engine.url.render_as_string(hide_password=True)}; "
            "run `wardwatch init` to create it"
        )
    if current != head_revision():
        raise NotInitialised(
            f"the database schema is at revision {current} but this Wardwatch needs {head_revision()}; "
            "run `wardwatch init` to migrate it"
        )


def _describe(engine: Engine, error: OperationalError) -> str:
    where = engine.url.render_as_string(hide_password=True)
    reason = str(error.orig).strip().splitlines()[0] if error.orig else "unknown error"
    return f"cannot open the database {where}: {reason}; check WARDWATCH_DATABASE_URL and that the server runs"
