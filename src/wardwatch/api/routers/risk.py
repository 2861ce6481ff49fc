"""``/api/risk``: device risk rankings, explanations, rollups, what-if simulation and risk acceptances.

Every route goes through :mod:`wardwatch.services.risk_views` (the risk services seen through the permission
matrix).  Reading needs ``risk:read``; accepting and revoking need ``risk:accept`` and are audited.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from wardwatch.api.deps import EngineDep, allow, client_address
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services.risk_views import (
    AcceptanceError,
    RiskFilter,
    acceptance_rows,
    create_acceptance,
    device_risk,
    policy_controls,
    revoke_acceptance,
    risk_page,
    risk_rollup,
    what_if,
)

router = APIRouter(tags=["risk"])
Reader = Annotated[Principal, Depends(allow(Permission.RISK_READ))]
Accepter = Annotated[Principal, Depends(allow(Permission.RISK_ACCEPT))]
Dimension = Literal["site", "unit", "type", "manufacturer", "model"]


class RiskDevice(BaseModel):
    """The device a risk belongs to."""

    id: int
    asset_tag: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    device_type: str | None = None
    criticality: str | None = None
    site: str | None = None
    unit: str | None = None


class RiskRow(BaseModel):
    """One device's stored risk."""

    device: RiskDevice
    score: float
    level: str
    ssvc: str
    ssvc_vulnerability: str | None = None
    kev: int = Field(description="Open known-exploited (KEV) findings on the device.")
    summary: str


class RiskPage(BaseModel):
    """A page of device risks."""

    items: list[RiskRow]
    total: int
    limit: int
    offset: int


class RollupRow(BaseModel):
    """One group of a rollup."""

    key: str
    devices: int
    mean_score: float
    max_score: float
    levels: dict[str, int]
    priorities: dict[str, int]


class ScenarioIn(BaseModel):
    """A what-if scenario: the same mapping as a ``risk simulate`` YAML file (see ``domain/risk_scenario.py``)."""

    model_config = ConfigDict(json_schema_extra={"example": {"name": "Isolate VLAN 30", "changes": [
        {"isolate": {"vlan": 30}}]}})  # fmt: skip
    name: str = Field("What-if", max_length=200)
    changes: list[dict[str, Any]] = Field(min_length=1, max_length=50)


class AcceptanceIn(BaseModel):
    """Accept a device's risk (or one vulnerability's on it) until a date; the approver is the caller."""

    device: str = Field(min_length=1, max_length=200, description="Device id, asset tag, MAC, IP or serial.")
    vulnerability: str | None = Field(None, max_length=80)
    justification: str = Field(min_length=1, max_length=2000)
    controls: list[str] = Field(default_factory=list, max_length=20)
    expires_on: date


class AcceptanceOut(BaseModel):
    """A risk acceptance with its status today."""

    id: int
    device_id: int
    device: dict[str, Any]
    vulnerability: str | None
    scope: str
    status: str
    expiring: bool
    approver: str
    justification: str
    controls: list[str]
    expires_on: date
    created_at: Any
    revoked_at: Any = None


class Created(BaseModel):
    """The id of what was created."""

    id: int


@router.get("/api/risk/devices", response_model=RiskPage, summary="Device risks, riskiest first")
def list_device_risks(
    engine: EngineDep,
    principal: Reader,
    level: Annotated[Literal["critical", "high", "medium", "low"] | None, Query()] = None,
    ssvc: Annotated[Literal["immediate", "out-of-cycle", "scheduled", "defer"] | None, Query()] = None,
    site: Annotated[str | None, Query(max_length=200)] = None,
    device_type: Annotated[str | None, Query(alias="type", max_length=50)] = None,
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    sort: Annotated[Literal["score", "level", "ssvc", "kev", "device", "site"], Query()] = "score",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> RiskPage:
    """Stored scores (``wardwatch risk rescore``) with filters; a clinician sees their unit only."""
    where = RiskFilter(level=level, ssvc=ssvc, site=site, device_type=device_type, min_score=min_score)
    rows, total = risk_page(engine, principal, where, sort=sort, descending=order == "desc", limit=limit,
                            offset=offset)  # fmt: skip
    return RiskPage(items=[RiskRow.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/api/risk/top", response_model=list[RiskRow], summary="The N riskiest devices")
def top_risks(engine: EngineDep, principal: Reader, n: Annotated[int, Query(ge=1, le=100)] = 10) -> list[RiskRow]:
    """The ``n`` highest stored scores."""
    rows, _ = risk_page(engine, principal, limit=n)
    return [RiskRow.model_validate(r) for r in rows]


@router.get("/api/devices/{reference}/risk", summary="One device's risk, explained")
def explain_device(reference: str, engine: EngineDep, principal: Reader) -> dict[str, Any]:
    """Score, level, SSVC priority and the explanation of every number, computed now (``risk explain --json``)."""
    return device_risk(engine, principal, reference)


@router.get("/api/risk/rollup", response_model=list[RollupRow], summary="Risk grouped by a dimension")
def rollup(engine: EngineDep, principal: Reader, by: Annotated[Dimension, Query()] = "site") -> list[RollupRow]:
    """Devices, mean and max score, and counts per level and SSVC priority per site, unit, type, vendor or model."""
    return [RollupRow.model_validate(g) for g in risk_rollup(engine, principal, by)]


@router.post("/api/risk/simulate", summary="What-if: before and after a scenario (nothing stored)")
def simulate(scenario: ScenarioIn, engine: EngineDep, principal: Reader) -> dict[str, Any]:
    """Scores today and under the scenario's changes (patch, fix, isolate, accept, control); read-only."""
    return what_if(engine, principal, scenario.model_dump())


@router.get("/api/risk/controls", response_model=list[str], summary="Compensating controls of the risk policy")
def controls(principal: Reader) -> list[str]:
    """The control names a scenario or an acceptance may use."""
    return policy_controls()


@router.get("/api/risk/acceptances", response_model=list[AcceptanceOut], summary="Risk acceptances")
def list_risk_acceptances(engine: EngineDep, principal: Reader, include_revoked: bool = False) -> list[AcceptanceOut]:
    """Active acceptances first, soonest expiry first; ``expiring`` marks those ending within 30 days."""
    rows = acceptance_rows(engine, principal, include_revoked=include_revoked)
    return [AcceptanceOut.model_validate(a) for a in rows]


@router.post("/api/risk/acceptances", response_model=Created, status_code=201, summary="Accept a risk")
def accept_risk(body: AcceptanceIn, request: Request, engine: EngineDep, principal: Accepter) -> Created:
    """Store the acceptance (approver: the caller), rescore the device and record it in the audit trail."""
    try:
        new_id = create_acceptance(
            engine, principal, body.device, vulnerability_id=body.vulnerability, justification=body.justification,
            controls=body.controls, expires_on=body.expires_on, address=client_address(request),
        )  # fmt: skip
    except AcceptanceError as e:
        raise ValueError(str(e)) from e
    return Created(id=new_id)


@router.post("/api/risk/acceptances/{acceptance_id}/revoke", status_code=204, summary="Revoke a risk acceptance")
def revoke_risk(
    acceptance_id: Annotated[int, Path(ge=1, le=2**63 - 1)], request: Request, engine: EngineDep, principal: Accepter
) -> Response:
    """Revoke it (kept for the record), rescore its device, and record it in the audit trail."""
    revoke_acceptance(engine, principal, acceptance_id, address=client_address(request))
    return Response(status_code=204)
