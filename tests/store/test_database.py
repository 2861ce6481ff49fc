"""The storage layer on real SQLite and PostgreSQL: migrations, readiness checks, bulk writes, clear errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select

from wardwatch.store.bulk import bulk_insert
from wardwatch.store.database import connect, current_revision, ensure_ready, head_revision, migrate
from wardwatch.store.errors import DatabaseUnavailable, NotInitialised
from wardwatch.store.schema import device_history, devices, metadata, sources


def test_migration_creates_every_table_and_is_repeatable(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= tables
    migrate(engine)  # a second run is a no-op
    assert current_revision(engine) == head_revision()


def test_migrated_schema_matches_the_table_definitions(engine: Engine) -> None:
    """Autogenerate finds nothing to do: the migration and schema.py agree (on both databases)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def ours(name: str | None, type_: str, _parents: object) -> bool:
        # procrastinate's queue tables (revision 0013, PostgreSQL) are the queue library's, not schema.py's
        return not (type_ == "table" and name and name.startswith("procrastinate_") and name not in metadata.tables)

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"include_name": ours}), metadata)
    assert differences == []


def test_an_empty_database_is_not_ready(database_url: str) -> None:
    engine = connect(database_url)
    with pytest.raises(NotInitialised, match="wardwatch init"):
        ensure_ready(engine)
    engine.dispose()


def test_a_missing_sqlite_folder_and_an_unreachable_server_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="run `wardwatch init`"):
        connect(f"sqlite:///{tmp_path / 'nowhere' / 'ww.db'}")
    unreachable = connect("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(DatabaseUnavailable, match="cannot open the database"):
        current_revision(unreachable)
    with pytest.raises(DatabaseUnavailable, match="not a database URL"):
        connect("not a url")
    with pytest.raises(DatabaseUnavailable, match="not supported"):
        connect("mysql://root@127.0.0.1/test")


def test_bulk_insert_round_trips_dates_times_and_booleans(engine: Engine) -> None:
    now = datetime(2026, 11, 28, 9, 30, 15, tzinfo=UTC)
    with engine.begin() as connection:
        bulk_insert(connection, sources, ("id", "kind", "name", "imported_at"), [(1, "cmms", "a.csv", now)])
        bulk_insert(
            connection,
            devices,
            ("id", "asset_tag", "handles_phi", "end_of_support", "created_at", "updated_at"),
            [(i, f"T{i}", i % 2 == 0, date(2030, 1, i % 28 + 1), now, now) for i in range(1, 2501)],
        )
        bulk_insert(
            connection, device_history, ("device_id", "attribute", "old_value", "new_value", "source_id", "changed_at"),
            [(1, "model", None, "X", 1, now)],
        )  # fmt: skip
    with engine.connect() as connection:
        rows = connection.execute(select(devices).order_by(devices.c.id)).all()
    assert len(rows) == 2500
    assert rows[1].handles_phi is True
    assert rows[0].handles_phi is False
    assert rows[0].end_of_support == date(2030, 1, 2)
    stored = rows[0].created_at
    assert stored.replace(tzinfo=UTC) == now


def test_a_failed_transaction_leaves_nothing(engine: Engine) -> None:
    now = datetime.now(UTC)

    def interrupted_import() -> None:
        with engine.begin() as connection:
            bulk_insert(connection, sources, ("kind", "name", "imported_at"), [("cmms", "a.csv", now)])
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted_import()
    with engine.connect() as connection:
        assert connection.execute(select(sources)).all() == []
