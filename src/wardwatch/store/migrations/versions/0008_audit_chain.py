"""audit chain: prev_hash and entry_hash on audit_log, backfilled in id order

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 00:30:00
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The append-only triggers of 0005 refuse the UPDATE that fills the new columns (and SQLite's batch mode
# rebuilds the table without them): drop them first, create them again last.
_APPEND_ONLY_SQLITE = """
CREATE TRIGGER audit_log_append_only_{verb} BEFORE {verb} ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
"""
_APPEND_ONLY_POSTGRES = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
"""

_GENESIS = "0" * 64
_BATCH = 1000


def _chain_hash(prev_hash: str, row: sa.Row[tuple[object, ...]]) -> str:
    """``wardwatch.services.audit.chain_hash`` as of this revision (a migration does not follow later code)."""
    at = row.at if isinstance(row.at, datetime) else datetime.fromisoformat(str(row.at))
    moment = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    fields = [moment.isoformat(timespec="microseconds"), row.actor, row.action, row.target, row.outcome,
              row.detail, row.address]  # fmt: skip
    canonical = json.dumps(fields, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only_UPDATE")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only_DELETE")


def _create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_APPEND_ONLY_POSTGRES)
    else:
        op.execute(_APPEND_ONLY_SQLITE.format(verb="UPDATE"))
        op.execute(_APPEND_ONLY_SQLITE.format(verb="DELETE"))


def _backfill() -> None:
    """Chain the existing entries in id order, a batch at a time (constant memory)."""
    bind = op.get_bind()
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        *(sa.column(name, sa.String()) for name in ("actor", "action", "target", "outcome", "detail", "address")),
        sa.column("prev_hash", sa.String()),
        sa.column("entry_hash", sa.String()),
    )
    fill = (
        sa.update(log)
        .where(log.c.id == sa.bindparam("row_id"))
        .values(prev_hash=sa.bindparam("prev"), entry_hash=sa.bindparam("entry"))
    )
    prev_hash, after = _GENESIS, None
    while True:
        query = sa.select(log).order_by(log.c.id).limit(_BATCH)
        if after is not None:
            query = query.where(log.c.id > after)
        rows = bind.execute(query).all()
        if not rows:
            return
        updates = []
        for row in rows:
            entry_hash = _chain_hash(prev_hash, row)
            updates.append({"row_id": row.id, "prev": prev_hash, "entry": entry_hash})
            prev_hash = entry_hash
        bind.execute(fill, updates)
        after = rows[-1].id


def upgrade() -> None:
    """Apply this revision."""
    _drop_triggers()
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
    _backfill()
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=False)
    _create_triggers()


def downgrade() -> None:
    """Revert this revision."""
    _drop_triggers()
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
    _create_triggers()
