"""``/api/findings``: device × vulnerability findings from the intelligence (the ``vulnerability_findings`` table)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from wardwatch.api.deps import EngineDep, allow
from wardwatch.api.schemas import VulnerabilityFinding, VulnerabilityPage
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services.browse import vulnerability_page

router = APIRouter(tags=["findings"])
Reader = Annotated[Principal, Depends(allow(Permission.FINDINGS_READ))]


@router.get("/api/findings", response_model=VulnerabilityPage, summary="List vulnerability findings")
def list_findings(
    engine: EngineDep,
    principal: Reader,
    device_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    kev: Annotated[bool, Query(description="Only CISA known-exploited vulnerabilities.")] = False,
    min_cvss: Annotated[float | None, Query(ge=0, le=10)] = None,
    confidence: Annotated[Literal["confirmed", "potential"] | None, Query()] = None,
    vulnerability: Annotated[str | None, Query(max_length=80, description="e.g. CVE-2024-1234")] = None,
    include_resolved: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> VulnerabilityPage:
    """Open findings (not suppressed by VEX, not resolved), known-exploited first, then by CVSS."""
    rows, total = vulnerability_page(
        engine, principal, device_id=device_id, kev=kev, min_cvss=min_cvss, confidence=confidence,
        vulnerability=vulnerability, include_resolved=include_resolved, limit=limit, offset=offset,
    )  # fmt: skip
    return VulnerabilityPage(items=[VulnerabilityFinding(**r) for r in rows], total=total, limit=limit, offset=offset)
