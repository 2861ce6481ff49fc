"""accounts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 18:15:00
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401 - used once the revision has tables
from alembic import op  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
