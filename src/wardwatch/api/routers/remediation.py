"""``/api/remediation``: the remediation workflow (docs/remediation.md).

Reading needs ``remediation:read`` (a clinician sees their unit's items).  Each step is checked by the service
against the role whose job it is: a step that is not the caller's answers 403 naming the permission, a step that
does not follow from the item's state 409 naming the states that can, a step missing what it needs (the fix, the
manufacturer's validation, a clinician's sign-off, controls, a justification) 422.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from pydantic import Field

from wardwatch.api.deps import EngineDep, allow
from wardwatch.api.schemas import Schema
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services import remediation

router = APIRouter(prefix="/api/remediation", tags=["remediation"])

Reader = Annotated[Principal, Depends(allow(Permission.REMEDIATION_READ))]
Triager = Annotated[Principal, Depends(allow(Permission.REMEDIATION_TRIAGE))]
SignOff = Annotated[Principal, Depends(allow(Permission.REMEDIATION_SIGNOFF))]
ItemId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


class AdvanceIn(Schema):
    """One step of a work item."""

    to: str = Field(description="The next state: triaged, awaiting-validation, approved, scheduled, applied, "
                    "verified, mitigated, accepted, open.")  # fmt: skip
    note: str = Field("", max_length=2000)
    fix: str | None = Field(None, max_length=200, description="The patch or version (awaiting-validation).")
    scheduled_for: datetime | None = Field(None, description="When the patch is applied (scheduled).")
    controls: list[str] = Field(default_factory=list, max_length=10, description="Compensating controls.")
    justification: str | None = Field(None, max_length=2000, description="Why the risk is accepted (accepted).")
    expires_on: date | None = Field(None, description="When the acceptance ends (accepted).")


class SignOffIn(Schema):
    """A clinician's sign-off of the downtime of a scheduled patch."""

    note: str = Field(..., min_length=1, max_length=2000, description="What the unit arranged.")


class ValidationIn(Schema):
    """What a manufacturer said of a patch or version for one model."""

    manufacturer: str = Field(..., min_length=1, max_length=200)
    model: str = Field(..., min_length=1, max_length=200)
    fix: str = Field(..., min_length=1, max_length=200)
    status: str = Field("validated", description="validated, not-validated or rejected.")
    document: str = Field(..., min_length=1, max_length=2000, description="The bulletin, letter or URL.")
    note: str = Field("", max_length=2000)


class WindowIn(Schema):
    """A unit's maintenance window."""

    unit: str = Field(..., min_length=1, max_length=200)
    starts_at: datetime
    ends_at: datetime
    note: str = Field("", max_length=2000)


@router.get("", summary="Work items, most urgent first")
def list_items(
    engine: EngineDep,
    principal: Reader,
    state: Annotated[str | None, Query(max_length=30)] = None,
    overdue: bool = False,
    open_only: Annotated[bool, Query(alias="open")] = False,
    unit: Annotated[str | None, Query(max_length=200, description="Items with a device of this unit.")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Words of the title: CVE, manufacturer, model.")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    """Overdue first, then SSVC priority, then due date."""
    return remediation.list_items(engine, principal, state=state, overdue=overdue, open_only=open_only, unit=unit,
                                  search=q, limit=limit)  # fmt: skip


@router.get("/metrics", summary="Open and overdue items, SLA compliance, mean time to remediate")
def metrics(engine: EngineDep, principal: Reader) -> dict[str, Any]:
    """The programme's figures (the board report and the compliance officer read these)."""
    return remediation.metrics(engine, principal)


@router.post("/sync", summary="Create work items from open findings")
def sync(engine: EngineDep, principal: Triager) -> dict[str, int]:
    """One item per device model × vulnerability with open findings; idempotent."""
    return remediation.sync(engine, principal)


@router.get("/validations", summary="Manufacturer validations")
def validations(
    engine: EngineDep,
    principal: Reader,
    manufacturer: Annotated[str | None, Query(max_length=200)] = None,
    model: Annotated[str | None, Query(max_length=200)] = None,
) -> list[dict[str, Any]]:
    """Newest first."""
    return remediation.list_validations(engine, principal, manufacturer, model)


@router.post("/validations", status_code=201, summary="Record a manufacturer's validation of a fix")
def record_validation(engine: EngineDep, principal: Triager, body: ValidationIn) -> dict[str, Any]:
    """Replaces an earlier answer for the same model and fix; audited."""
    return remediation.record_validation(engine, principal, body.manufacturer, body.model, body.fix, body.status,
                                         body.document, body.note)  # fmt: skip


@router.get("/windows", summary="Maintenance windows that have not ended")
def windows(engine: EngineDep, principal: Reader) -> list[dict[str, Any]]:
    """Soonest first."""
    return remediation.list_windows(engine, principal)


@router.post("/windows", status_code=201, summary="Record a unit's maintenance window")
def add_window(engine: EngineDep, principal: Triager, body: WindowIn) -> dict[str, int]:
    """Audited."""
    return {"id": remediation.add_window(engine, principal, body.unit, body.starts_at, body.ends_at, body.note)}


@router.get("/{item_id}", summary="One work item with its devices, history and next steps")
def get_item(engine: EngineDep, principal: Reader, item_id: ItemId) -> dict[str, Any]:
    """``next`` lists the steps the caller may take."""
    return remediation.get_item(engine, principal, item_id)


@router.post("/{item_id}/advance", summary="Take a step")
def advance(engine: EngineDep, principal: Reader, item_id: ItemId, body: AdvanceIn) -> dict[str, Any]:
    """403 when the step is not the caller's role's, 409 when it does not follow, 422 when something is missing."""
    return remediation.advance(
        engine, principal, item_id, body.to, note=body.note, fix=body.fix, scheduled_for=body.scheduled_for,
        controls=body.controls, justification=body.justification, expires_on=body.expires_on,
    )  # fmt: skip


@router.post("/{item_id}/sign-off", summary="Sign off the downtime of a scheduled patch")
def sign_off(engine: EngineDep, principal: SignOff, item_id: ItemId, body: SignOffIn) -> dict[str, Any]:
    """A clinician of one of the item's units."""
    remediation.sign_off(engine, principal, item_id, body.note)
    return remediation.get_item(engine, principal, item_id)


@router.get("/{item_id}/plan", summary="Patch rounds by unit")
def plan(engine: EngineDep, principal: Reader, item_id: ItemId) -> dict[str, Any]:
    """Never all devices of one clinical function of a unit at once; idle devices first."""
    return remediation.plan(engine, principal, item_id)
