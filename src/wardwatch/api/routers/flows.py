"""``/api/flows`` and ``/api/network-map``: the communication baseline, as a list and as a graph."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from wardwatch.api.deps import EngineDep, allow
from wardwatch.api.schemas import Flow, FlowPage, NetworkMap
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services.browse import flow_page
from wardwatch.services.dashboards import network_map

router = APIRouter(tags=["flows"])
Reader = Annotated[Principal, Depends(allow(Permission.FLOWS_READ))]


@router.get("/api/flows", response_model=FlowPage, summary="List flows")
def list_flows(
    engine: EngineDep,
    principal: Reader,
    device_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    protocol: Annotated[str | None, Query(max_length=40)] = None,
    port: Annotated[int | None, Query(ge=0, le=65535)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> FlowPage:
    """Conversations, largest first."""
    rows, total = flow_page(
        engine, principal, device_id=device_id, protocol=protocol, port=port, limit=limit, offset=offset
    )
    return FlowPage(items=[Flow(**r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/api/network-map", response_model=NetworkMap, summary="The network map")
def get_network_map(
    engine: EngineDep, principal: Reader, limit: Annotated[int, Query(ge=1, le=5000)] = 400
) -> NetworkMap:
    """Zones holding devices, and the largest flows between them, for Cytoscape.js."""
    return NetworkMap.model_validate(network_map(engine, principal, limit=limit))
