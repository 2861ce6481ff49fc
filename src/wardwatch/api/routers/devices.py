"""``/api/devices``: the inventory, filtered, sorted and paginated; one device with its evidence."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from wardwatch.api.deps import EngineDep, SearchIndexDep, allow
from wardwatch.api.schemas import DeviceDetail, DevicePage, DeviceRow
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services.browse import device_page, device_view
from wardwatch.services.devices import DeviceFilter

router = APIRouter(prefix="/api/devices", tags=["devices"])
Reader = Annotated[Principal, Depends(allow(Permission.DEVICES_READ))]
SortKey = Literal[
    "id", "asset_tag", "manufacturer", "model", "device_type", "criticality", "site", "department", "risk_score", "kev"
]


@router.get("", response_model=DevicePage, summary="List devices")
def list_devices(
    engine: EngineDep,
    principal: Reader,
    index: SearchIndexDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in tag, serial, vendor, model, host, IP, MAC.")
    ] = None,
    site: Annotated[str | None, Query(max_length=200)] = None,
    device_type: Annotated[str | None, Query(alias="type", max_length=50)] = None,
    criticality: Annotated[
        str | None, Query(max_length=100, description="One or more, comma-separated; `unknown`: not set.")
    ] = None,
    manufacturer: Annotated[str | None, Query(max_length=200)] = None,
    seen: Annotated[Literal["unknown", "silent"] | None, Query()] = None,
    sort: Annotated[SortKey, Query()] = "id",
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="Keyset: the `next_after` of the previous page.")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=100_000, description="For sorts other than id.")] = 0,
) -> DevicePage:
    """Devices matching every filter; a clinician sees their unit only."""
    where = DeviceFilter(
        site=site, device_type=device_type, criticality=criticality, search=q, manufacturer=manufacturer, seen=seen
    )
    page = device_page(
        engine,
        principal,
        where,
        sort=sort,
        descending=order == "desc",
        limit=limit,
        after=after,
        offset=offset,
        index=index,
    )
    return DevicePage(
        items=[DeviceRow(**row) for row in page.devices],
        total=page.total,
        total_capped=page.total_capped,
        next_after=page.next_after,
        limit=limit,
    )


@router.get("/{reference}", response_model=DeviceDetail, summary="One device with its evidence")
def get_device(
    reference: Annotated[str, "Device id, asset tag, MAC, IP or serial."], engine: EngineDep, principal: Reader
) -> DeviceDetail:
    """Attributes with the evidence behind each, network findings, flows, vulnerabilities and history."""
    return DeviceDetail.model_validate(device_view(engine, principal, reference))
