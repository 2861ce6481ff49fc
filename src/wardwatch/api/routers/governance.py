"""``/api/governance``: framework coverage judged on live data, the IEC 80001-1 risk-management file, and the
cybersecurity training records.

Reading needs ``governance:read`` (compliance, executive, auditor, admin); recording training needs
``training:write`` (compliance, admin).  Every route calls :mod:`wardwatch.services.governance`, which checks the
permission again; recording training and exporting the risk file are audited there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from wardwatch.api.deps import EngineDep, allow, client_address
from wardwatch.api.routers.reports import REPORT_CSP
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services import governance as service

__all__ = ["TrainingIn", "router"]

router = APIRouter(prefix="/api/governance", tags=["governance"])
Reader = Annotated[Principal, Depends(allow(Permission.GOVERNANCE_READ))]
Trainer = Annotated[Principal, Depends(allow(Permission.TRAINING_WRITE))]
#: ``services.governance.FRAMEWORKS`` as a type (a test keeps the two equal).
Framework = Literal["csf", "hicp", "80001", "tjc"]


class TrainingIn(BaseModel):
    """A completed training course."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=200, description="The account's login, or the person's name.")
    course: str = Field(min_length=1, max_length=100, description="A course id of training.yaml, or a title.")
    completed_on: date = Field(description="When it was completed (not in the future).")
    expires_on: date | None = Field(None, description="When it stops counting (default: the course's validity).")
    valid_days: int | None = Field(None, ge=1, le=3650, description="Valid this many days after completion.")
    role: str | None = Field(None, max_length=20, description="The role it counts for (default: the account's).")
    evidence: str = Field("", max_length=2000, description="Certificate reference or note.")


@router.get("", summary="Framework coverage and control evidence")
def get_governance(
    engine: EngineDep,
    principal: Reader,
    framework: Annotated[Framework | None, Query(description="One framework (default: all four).")] = None,
) -> dict[str, Any]:
    """Every control judged on live data (met / partial / gap, a reason and its figures) and, per framework, each
    item's status (the best of the controls mapped to it; a gap when none is), gaps first."""
    return service.governance(engine, principal, framework)


@router.get(
    "/80001-file",
    summary="The IEC 80001-1 risk-management file",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/json": {}}}},
)
def get_risk_file(
    request: Request,
    engine: EngineDep,
    principal: Reader,
    fmt: Annotated[Literal["html", "json"], Query(alias="format")] = "html",
) -> Response:
    """Scope, responsibilities and training, the inventory, the top risks explained, risk controls, residual risk
    and the record of verification, from live data.  HTML comes as a download (one self-contained document, no
    script); JSON is its data.  Each export is audited (the evidence of the ``risk-file`` control)."""
    html, data = service.risk_file(engine, principal, address=client_address(request))
    if fmt == "json":
        return JSONResponse(service.json_ready(data))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": f'attachment; filename="wardwatch-iec80001-risk-file-{stamp}.html"',
               "Content-Security-Policy": REPORT_CSP}  # fmt: skip
    return Response(html, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/training", summary="Training records and who is current per role")
def get_training(
    engine: EngineDep,
    principal: Reader,
    expiring_days: Annotated[int | None, Query(ge=0, le=3650, description="Only what expires within N days.")] = None,
) -> dict[str, Any]:
    """The records (newest first) with their state, each person's standing against the required courses, and the
    summary per role."""
    return service.list_training(engine, principal, expiring_days=expiring_days)


@router.post("/training", status_code=201, summary="Record a completed training course")
def post_training(request: Request, engine: EngineDep, principal: Trainer, body: TrainingIn) -> dict[str, Any]:
    """Record that someone completed a course; the role defaults to the account's, the expiry to the course's
    validity.  Audited."""
    return service.add_training(
        engine, principal, body.username, body.course, body.completed_on, expires_on=body.expires_on,
        valid_days=body.valid_days, role=body.role, evidence=body.evidence, address=client_address(request),
    )  # fmt: skip
