"""The audit trail: services record who did what, when, to what, and with what outcome.

The ``audit_log`` table is append-only (triggers refuse UPDATE and DELETE), so the trail a compliance officer
verifies is the one written at the time.  Recording never raises into the caller's work: a refused action is
recorded in its own transaction, so the refusal is kept even though the action's transaction rolls back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from wardwatch.domain.permissions import Permission, Principal, require
from wardwatch.store.database import ensure_ready
from wardwatch.store.inventory import aware
from wardwatch.store.schema import audit_log

__all__ = ["AuditFilter", "list_audit", "record", "record_now"]

#: Outcomes of an audited action.
OUTCOMES = ("success", "denied", "failure")


def record(
    connection: Connection,
    actor: str,
    action: str,
    *,
    target: str | None = None,
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
    address: str | None = None,
) -> None:
    """Append one entry inside the caller's transaction (it is kept only if that transaction commits)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    connection.execute(
        insert(audit_log).values(
            at=datetime.now(UTC),
            actor=actor[:100],
            action=action[:60],
            target=None if target is None else target[:300],
            outcome=outcome,
            detail=None if detail is None else json.dumps(detail, default=str, sort_keys=True),
            address=address,
        )
    )


def record_now(engine: Engine, actor: str, action: str, **kwargs: Any) -> None:
    """Append one entry in its own transaction (for refusals and failures the caller's work rolls back)."""
    with engine.begin() as connection:
        record(connection, actor, action, **kwargs)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Filters of the audit trail; ``None`` means no filter."""

    actor: str | None = None
    """Who acted (exact)."""
    action: str | None = None
    """What was done, e.g. ``login`` or ``users.add`` (exact)."""
    outcome: str | None = None
    """``success``, ``denied`` or ``failure``."""


def list_audit(
    engine: Engine, principal: Principal, where: AuditFilter, *, limit: int = 100, before_id: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The newest entries first (keyset: ``before_id``), and how many match; needs ``audit:read``."""
    require(principal, Permission.AUDIT_READ)
    ensure_ready(engine)
    query = select(audit_log)
    if where.actor:
        query = query.where(audit_log.c.actor == where.actor)
    if where.action:
        query = query.where(audit_log.c.action == where.action)
    if where.outcome:
        query = query.where(audit_log.c.outcome == where.outcome)
    with engine.connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        rows = connection.execute(query.order_by(audit_log.c.id.desc()).limit(limit)).all()
    entries = []
    for row in rows:
        entry = dict(row._mapping)
        entry["at"] = aware(entry["at"])
        entry["detail"] = json.loads(entry["detail"]) if entry["detail"] else None
        entries.append(entry)
    return entries, total
