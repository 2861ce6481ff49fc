"""``/api/audit``: the append-only audit trail."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from wardwatch.api.deps import EngineDep, allow
from wardwatch.api.schemas import AuditEntry, AuditPage, Schema
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services.audit import AuditFilter, list_audit, verify_audit

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditVerificationOut(Schema):
    """The audit trail's hash chain, recomputed: intact, or where it first breaks."""

    ok: bool = Field(description="Every entry matches its hash and links to the entry before it.")
    entries: int = Field(description="How many entries were checked (all of them).")
    last_id: int | None = Field(description="The newest entry's id; null when the trail is empty.")
    last_hash: str | None = Field(
        description="The newest entry's hash: note it; a later verification whose chain still contains it proves "
        "that nothing up to it changed."
    )
    broken_id: int | None = Field(description="The first entry where the chain breaks.")
    reason: Literal["altered", "missing"] | None = Field(
        description="altered: the entry no longer matches its hash; missing: it does not link to the entry stored "
        "before it (entries were deleted, or it was inserted)."
    )
    problem: str | None = Field(description="What is wrong at broken_id, in one sentence.")
    breaks: int = Field(description="How many places the chain breaks at.")
    summary: str = Field(description="One line for people.")


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


@router.get("/verify", response_model=AuditVerificationOut, summary="Verify the audit trail's hash chain")
def audit_verify(
    engine: EngineDep, principal: Annotated[Principal, Depends(allow(Permission.AUDIT_READ))]
) -> AuditVerificationOut:
    """Recompute every entry's hash and its link to the entry before; 200 either way, ``ok`` says which."""
    result = verify_audit(engine, principal)
    return AuditVerificationOut(**result.as_dict(), summary=result.summary)
