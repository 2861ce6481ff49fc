"""The findings worklist pages: ``/findings`` (vulnerabilities, end of support, insecure behaviour, internet
talkers — what the dashboard cards link to) and ``/findings/{vulnerability}`` (one vulnerability: KEV, EPSS, CVSS,
advisories, remediation, affected devices)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from wardwatch.domain.permissions import Permission, Principal, allows
from wardwatch.services.risk_views import PRIORITIES
from wardwatch.services.worklist import VIEWS, WorkFilter, finding_detail, known_types, worklist
from wardwatch.web.routes import _engine, _page, _render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_PAGE = 100
_KINDS = ("smbv1", "phi_cleartext", "cleartext_dicom", "cleartext_credentials", "telnet", "ftp",
          "snmp_default_community", "snmp_v1v2c", "old_tls", "external_peer")  # fmt: skip


@router.get("/findings")
def findings_page(request: Request) -> Response:
    """The worklist: one view at a time, with filters; the views the role may not open are not offered."""

    def build(principal: Principal) -> HTMLResponse:
        q = request.query_params
        views = [(name, title) for name, (title, permission) in VIEWS.items() if allows(principal, permission)]
        view = q.get("view") or (views[0][0] if views else "vulns")
        priority = q.get("priority") if q.get("priority") in PRIORITIES else None
        confidence = q.get("confidence") if q.get("confidence") in ("confirmed", "potential") else None
        where = WorkFilter(kev=q.get("kev") == "1", confidence=confidence, device_type=q.get("type") or None,
                           kind=q.get("kind") if q.get("kind") in _KINDS else None, priority=priority)  # fmt: skip
        offset_text = q.get("offset") or "0"
        offset = int(offset_text) if offset_text.isdigit() else 0
        found = worklist(_engine(request), principal, view, where, limit=_PAGE, offset=offset)
        kept = urlencode({k: v for k, v in q.items() if k != "offset" and v})
        return _render(
            request, "findings.html", user=principal, title=VIEWS.get(view, ("Findings",))[0], views=views,
            view=view, where=where, found=found, offset=offset, size=_PAGE, kept=kept, priorities=PRIORITIES,
            types=known_types(_engine(request)), kinds=_KINDS, may_devices=allows(principal, Permission.DEVICES_READ),
        )  # fmt: skip

    return _page(request, build)


@router.get("/findings/{vulnerability}")
def finding_page(request: Request, vulnerability: str) -> Response:
    """One vulnerability: KEV, EPSS, CVSS, advisories, how to fix it and the devices that have it."""

    def build(principal: Principal) -> HTMLResponse:
        detail = finding_detail(_engine(request), principal, vulnerability[:80])
        return _render(request, "finding.html", user=principal, title=detail["vulnerability"], f=detail,
                       may_devices=allows(principal, Permission.DEVICES_READ))  # fmt: skip

    return _page(request, build)
