"""risk

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 18:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _bytewise(length: int) -> sa.String:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "risk_explanations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_explanations")),
        sa.UniqueConstraint("digest", name=op.f("uq_risk_explanations_digest")),
    )
    op.create_table(
        "risk_scores",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("ssvc", sa.String(length=20), nullable=False),
        sa.Column("ssvc_vulnerability", sa.String(length=80), nullable=True),
        sa.Column("explanation_id", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.String(length=20), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_risk_scores_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_risk_scores")),
    )
    op.create_index("ix_risk_scores_score", "risk_scores", ["score"], unique=False)
    op.create_index(op.f("ix_risk_scores_explanation_id"), "risk_scores", ["explanation_id"], unique=False)
    op.create_table(
        "risk_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("mean_score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("levels", sa.Text(), nullable=False),
        sa.Column("priorities", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_snapshots")),
        sa.UniqueConstraint("day", "dimension", "key", name=op.f("uq_risk_snapshots_day_dimension_key")),
    )
    op.create_table(
        "rubric_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("manufacturer", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("vulnerability_id", _bytewise(80), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("answered_by", sa.String(length=200), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubric_answers")),
        sa.UniqueConstraint(
            "manufacturer",
            "model",
            "vulnerability_id",
            name=op.f("uq_rubric_answers_manufacturer_model_vulnerability_id"),
        ),
    )
    op.create_table(
        "risk_acceptances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("vulnerability_id", _bytewise(80), nullable=True),
        sa.Column("approver", sa.String(length=200), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("controls", sa.Text(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_risk_acceptances_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_acceptances")),
    )
    op.create_index(op.f("ix_risk_acceptances_device_id"), "risk_acceptances", ["device_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_risk_acceptances_device_id"), table_name="risk_acceptances")
    op.drop_table("risk_acceptances")
    op.drop_table("rubric_answers")
    op.drop_table("risk_snapshots")
    op.drop_index(op.f("ix_risk_scores_explanation_id"), table_name="risk_scores")
    op.drop_index("ix_risk_scores_score", table_name="risk_scores")
    op.drop_table("risk_scores")
    op.drop_table("risk_explanations")
