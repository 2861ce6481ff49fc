"""``/api/integrations``: remediation tickets for a ServiceNow import set, and a preview of the SIEM events
(docs/integrations.md).

The tickets CSV needs ``remediation:read`` (a clinician gets their unit's items); the SIEM preview needs
``audit:read`` and shows the events the next ``wardwatch integrations siem`` would send, formatted, without sending
anything or moving a checkpoint (sending is the CLI's: it runs where the collector can be reached).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from wardwatch.api.deps import EngineDep, allow
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services import siem, tickets

__all__ = ["router"]

router = APIRouter(prefix="/api/integrations", tags=["integrations"])

Reader = Annotated[Principal, Depends(allow(Permission.REMEDIATION_READ))]
Auditor = Annotated[Principal, Depends(allow(Permission.AUDIT_READ))]


@router.get(
    "/tickets.csv",
    summary="Remediation work items as a ServiceNow import-set CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def tickets_csv(engine: EngineDep, principal: Reader) -> Response:
    """One row per work item (number WW-<id>, urgency from SSVC, impact from the devices' criticality, state,
    assignment group, configuration item, due date…); every cell quoted, spreadsheet formulas neutralised."""
    body = tickets.tickets_csv(engine, principal)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    headers = {"Content-Disposition": f'attachment; filename="wardwatch-tickets-{stamp}.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/siem/preview", summary="The SIEM events the next send would deliver (nothing is sent)")
def siem_preview(
    engine: EngineDep,
    principal: Auditor,
    fmt: Annotated[Literal["cef", "json"], Query(alias="format", description="The payload format.")] = "cef",
) -> list[dict[str, Any]]:
    """Each event with its id, time, kind, severity (0-10), message and payload (a CEF line or compact JSON)."""
    return siem.preview(engine, principal, fmt)
