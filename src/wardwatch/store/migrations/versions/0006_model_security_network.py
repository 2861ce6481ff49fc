"""model_security and network_files

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 21:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _bytewise(length: int) -> sa.String:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "model_security",
        sa.Column("vendor_key", _bytewise(200), nullable=False),
        sa.Column("model_key", _bytewise(300), nullable=False),
        sa.Column("manufacturer", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("form", sa.String(length=300), nullable=False),
        sa.Column("form_date", sa.Date(), nullable=True),
        sa.Column("version", sa.String(length=100), nullable=True),
        sa.Column("operating_system", sa.String(length=200), nullable=True),
        sa.Column("end_of_support", sa.Date(), nullable=True),
        sa.Column("capabilities", sa.Text(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("linked_by", sa.String(length=20), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vendor_key", "model_key", name=op.f("pk_model_security")),
    )
    op.create_table(
        "network_files",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("original", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_network_files")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("network_files")
    op.drop_table("model_security")
