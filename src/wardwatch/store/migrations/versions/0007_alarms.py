"""clinical alarm assurance: topologies, budgets, verifications, deliveries

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "alarm_topologies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("original", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("nodes", sa.Integer(), nullable=False),
        sa.Column("links", sa.Integer(), nullable=False),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.Column("sources", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("imported_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_topologies")),
    )
    op.create_table(
        "alarm_budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        sa.Column("alarm_type", sa.String(length=100), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("max_delivery_s", sa.Float(), nullable=False),
        sa.Column("primary_recipients", sa.Text(), nullable=False),
        sa.Column("escalation_recipients", sa.Text(), nullable=False),
        sa.Column("escalate_after_s", sa.Float(), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("heartbeat_interval_s", sa.Float(), nullable=True),
        sa.Column("heartbeat_misses", sa.Integer(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_budgets")),
        sa.UniqueConstraint(
            "unit", "alarm_type", "priority", "version", name=op.f("uq_alarm_budgets_unit_alarm_type_priority_version")
        ),
    )
    op.create_table(
        "alarm_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topology_id", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("flows", sa.Integer(), nullable=False),
        sa.Column("failing", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["topology_id"],
            ["alarm_topologies.id"],
            ondelete="CASCADE",
            name=op.f("fk_alarm_verifications_topology_id_alarm_topologies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_verifications")),
    )
    op.create_index(op.f("ix_alarm_verifications_topology_id"), "alarm_verifications", ["topology_id"])
    op.create_table(
        "alarm_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("sent_at", _TS, nullable=False),
        sa.Column("received_at", _TS, nullable=True),
        sa.Column("acknowledged_at", _TS, nullable=True),
        sa.Column("latency_s", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=200), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=True),
        sa.Column("alarm_type", sa.String(length=100), nullable=True),
        sa.Column("heartbeat", sa.Boolean(), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=True),
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("imported_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_deliveries")),
        sa.UniqueConstraint(
            "source", "recipient", "sent_at", name=op.f("uq_alarm_deliveries_source_recipient_sent_at")
        ),
    )
    op.create_index(op.f("ix_alarm_deliveries_sent_at"), "alarm_deliveries", ["sent_at"])
    op.create_index(op.f("ix_alarm_deliveries_unit"), "alarm_deliveries", ["unit"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("alarm_deliveries")
    op.drop_table("alarm_verifications")
    op.drop_table("alarm_budgets")
    op.drop_table("alarm_topologies")
