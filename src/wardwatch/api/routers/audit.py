"""``/api/audit``: the append-only audit trail."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from wardwatch.api.deps import EngineDep, allow
from wardwatch.api.schemas import AuditEntry, AuditPage
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services.audit import AuditFilter, list_audit

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=AuditPage, summary="Read the audit trail")
def audit_list(
    engine: EngineDep,
    principal: Annotated[Principal, Depends(allow(Permission.AUDIT_READ))],
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    outcome: Annotated[Literal["success", "denied", "failure"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Keyset: the `next_before` of the previous page.")
    ] = None,
) -> AuditPage:
    """Who did what, when, to what, and the outcome — newest first."""
    rows, total = list_audit(
        engine, principal, AuditFilter(actor=actor, action=action, outcome=outcome), limit=limit, before_id=before
    )
    next_before = rows[-1]["id"] if len(rows) == limit else None
    return AuditPage(items=[AuditEntry(**r) for r in rows], total=total, next_before=next_before)
