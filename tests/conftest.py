"""Shared fixtures: real databases (a SQLite file and a PostgreSQL schema of the `test` database)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from wardwatch.store.database import connect, migrate

FIXTURES = Path(__file__).parent / "fixtures"
POSTGRES_URL = os.environ.get("WARDWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def fixtures() -> Path:
    """The folder of test fixture files."""
    return FIXTURES


def _postgres_schema_url() -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as e:  # pragma: no cover - the environment, not the code
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required (start it; .ci/run does): {e}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh schema on the real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wardwatch.db'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a migrated, empty database (both SQLite and PostgreSQL)."""
    database = connect(database_url)
    migrate(database)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database only (for tests that are about something other than storage)."""
    database = connect(f"sqlite:///{tmp_path / 'wardwatch.db'}")
    migrate(database)
    yield database
    database.dispose()
