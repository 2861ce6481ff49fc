"""job queue: attempts, last error and cancellation of jobs; procrastinate's queue tables on PostgreSQL

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-09 00:30:00

On PostgreSQL this also creates the schema of procrastinate (the queue that ``wardwatch worker`` processes take
jobs from, ``WARDWATCH_QUEUE=postgres``): its ``procrastinate_*`` tables, types and functions, from the SQL file
the installed procrastinate ships.  They are procrastinate's, not Wardwatch's tables: schema.py does not declare
them and the store tests leave them out of the comparison.  A database that already has them is left as it is.
On SQLite (no queue: jobs run in the server's process) that part does nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("cancel_requested_by", sa.String(length=100), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if bind.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
        return  # applied by hand or by procrastinate's own command: keep it
    from procrastinate.schema import SchemaManager  # noqa: PLC0415 - only PostgreSQL databases need it

    driver = bind.connection.driver_connection  # psycopg: the file has several statements and no parameters
    driver.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def downgrade() -> None:
    """Revert this revision (procrastinate's tables stay: they may hold other applications' jobs)."""
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("cancel_requested_by")
        batch.drop_column("error")
        batch.drop_column("attempts")
