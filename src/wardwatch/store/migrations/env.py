"""Alembic environment: migrations run on the connection Wardwatch hands over (see ``store.database``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from wardwatch.settings import Settings
from wardwatch.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    # Run from the `alembic` command line (developers): connect to the configured database.
    engine = create_engine(Settings().resolved_database_url)
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    context.run_migrations()
