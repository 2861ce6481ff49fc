"""remediation workflow: manufacturer validations, work items and their events, maintenance windows

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 00:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _bytewise(length: int) -> sa.String:
    """Case-sensitive, byte-ordered text on every database (as ``schema._BYTEWISE``)."""
    return sa.String(length=length).with_variant(sa.String(length=length, collation="C"), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "manufacturer_validations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("manufacturer", _bytewise(200), nullable=False),
        sa.Column("model", _bytewise(200), nullable=False),
        sa.Column("fix", _bytewise(200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manufacturer_validations")),
        sa.UniqueConstraint(
            "manufacturer", "model", "fix", name=op.f("uq_manufacturer_validations_manufacturer_model_fix")
        ),
    )
    op.create_table(
        "remediation_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", _bytewise(400), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("manufacturer", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("vulnerability_id", _bytewise(80), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("opened_at", _TS, nullable=False),
        sa.Column("due_at", _TS, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("closed_at", _TS, nullable=True),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("fix", sa.String(length=200), nullable=True),
        sa.Column("validation_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_for", _TS, nullable=True),
        sa.Column("controls", sa.Text(), nullable=True),
        sa.Column("acceptance_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_remediation_items_device_id_devices"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["validation_id"], ["manufacturer_validations.id"],
                                name=op.f("fk_remediation_items_validation_id_manufacturer_validations"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["acceptance_id"], ["risk_acceptances.id"],
                                name=op.f("fk_remediation_items_acceptance_id_risk_acceptances"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_items")),
        sa.UniqueConstraint("key", name=op.f("uq_remediation_items_key")),
    )  # fmt: skip
    op.create_index(op.f("ix_remediation_items_device_id"), "remediation_items", ["device_id"])
    op.create_index(op.f("ix_remediation_items_state"), "remediation_items", ["state"])
    op.create_index(op.f("ix_remediation_items_vulnerability_id"), "remediation_items", ["vulnerability_id"])
    op.create_table(
        "remediation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=30), nullable=True),
        sa.Column("to_state", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["remediation_items.id"],
                                name=op.f("fk_remediation_events_item_id_remediation_items"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_events")),
    )  # fmt: skip
    op.create_index(op.f("ix_remediation_events_item_id"), "remediation_events", ["item_id"])
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        sa.Column("starts_at", _TS, nullable=False),
        sa.Column("ends_at", _TS, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    op.create_index(op.f("ix_maintenance_windows_unit"), "maintenance_windows", ["unit"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_maintenance_windows_unit"), table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
    op.drop_index(op.f("ix_remediation_events_item_id"), table_name="remediation_events")
    op.drop_table("remediation_events")
    for column in ("vulnerability_id", "state", "device_id"):
        op.drop_index(op.f(f"ix_remediation_items_{column}"), table_name="remediation_items")
    op.drop_table("remediation_items")
    op.drop_table("manufacturer_validations")
