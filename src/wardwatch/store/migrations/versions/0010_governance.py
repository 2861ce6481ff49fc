"""governance evidence: training records

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 00:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "training_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("course", sa.String(length=100), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_records")),
    )
    op.create_index(op.f("ix_training_records_username"), "training_records", ["username"])
    op.create_index(op.f("ix_training_records_course_expires_on"), "training_records", ["course", "expires_on"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_training_records_course_expires_on"), table_name="training_records")
    op.drop_index(op.f("ix_training_records_username"), table_name="training_records")
    op.drop_table("training_records")
