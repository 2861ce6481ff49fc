"""``/api/observations`` and ``/api/network-findings``: what passive discovery saw and proved."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from wardwatch.api.deps import EngineDep, allow
from wardwatch.api.schemas import NetworkFinding, NetworkFindingPage, Observation, ObservationPage
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services.browse import network_findings, observation_page

router = APIRouter(tags=["discovery"])
Reader = Annotated[Principal, Depends(allow(Permission.OBSERVATIONS_READ))]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**63 - 1)]


@router.get("/api/observations", response_model=ObservationPage, summary="List observations")
def list_observations(
    engine: EngineDep,
    principal: Reader,
    device_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ObservationPage:
    """Identifiers and facts seen in traffic (DHCP vendor class, DICOM AE title, HL7 application...)."""
    rows, total = observation_page(engine, principal, device_id=device_id, kind=kind, limit=limit, offset=offset)
    return ObservationPage(items=[Observation(**r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/api/network-findings", response_model=NetworkFindingPage, summary="List network findings")
def list_network_findings(
    engine: EngineDep,
    principal: Reader,
    kind: Annotated[str | None, Query(max_length=40, description="e.g. smbv1, phi_cleartext, external_peer")] = None,
    device_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> NetworkFindingPage:
    """Insecure behaviour proven from traffic: SMBv1, PHI in cleartext, external peers..."""
    rows, total = network_findings(engine, principal, kind=kind, device_id=device_id, limit=limit, offset=offset)
    return NetworkFindingPage(items=[NetworkFinding(**r) for r in rows], total=total, limit=limit, offset=offset)
