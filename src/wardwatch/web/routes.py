"""The pages of the web UI.  They call the same services as the API, as the logged-in user.

Authentication is the session cookie of :mod:`wardwatch.api.routers.auth`.  The two form posts (log in, log
out) carry a CSRF token in a hidden field; every other change goes through the API from the page's scripts
with the ``X-CSRF-Token`` header.  A page the role may not see answers 403 with an explanation, never data.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine

from wardwatch.api.deps import client_address, session_principal
from wardwatch.api.routers.auth import clear_session_cookies, set_session_cookies
from wardwatch.domain.permissions import HOME_DASHBOARD, Permission, PermissionDenied, Principal, Role, allows
from wardwatch.services.accounts import (
    AuthenticationFailed,
    LoginThrottled,
    authenticate,
    busiest_clinical_unit,
    create_session,
    end_session,
    unit_names,
)
from wardwatch.services.audit import AuditFilter, list_audit, recent_verification
from wardwatch.services.browse import SORTS, device_page, device_view
from wardwatch.services.dashboards import DASHBOARDS, dashboard
from wardwatch.services.devices import DeviceFilter
from wardwatch.services.jobs import list_jobs
from wardwatch.services.risk_views import device_risk, risk_page
from wardwatch.services.worklist import known_types

__all__ = ["STATIC", "router"]

HERE = Path(__file__).parent
STATIC = HERE / "static"
LOGIN_CSRF_COOKIE = "ww_login_csrf"
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True), auto_reload=False
)
router = APIRouter(include_in_schema=False)


def _component(ref: str | None) -> str:
    """A component reference in words: ``sbom:pkg:generic/glibc@2.31`` -> ``glibc 2.31``."""
    if not ref:
        return "–"
    text = ref.removeprefix("sbom:").removeprefix("pkg:")
    kind, _, rest = text.partition("/")
    text = rest if rest and kind.isalpha() else text
    return text.split("?", 1)[0].replace("@", " ")


_templates.filters["component"] = _component

#: How the dashboards are named on their tabs.
TAB_LABELS = {"executive": "Executive", "biomed": "Biomed", "itsec": "IT / security", "clinician": "Clinician",
              "compliance": "Compliance"}  # fmt: skip

#: Navigation: (label, path, permission needed to see the link).
NAV: tuple[tuple[str, str, Permission | None], ...] = (
    ("Dashboard", "/", None),
    ("Devices", "/devices", Permission.DEVICES_READ),
    ("Risk", "/risk", Permission.RISK_READ),
    ("Findings", "/findings", Permission.FINDINGS_READ),
    ("Network map", "/map", Permission.FLOWS_READ),
    ("Network analysis", "/network", Permission.NETWORK_READ),
    ("Alarms", "/alarms", Permission.ALARMS_READ),
    ("Remediation", "/remediation", Permission.REMEDIATION_READ),
    ("Incidents", "/incidents", Permission.INCIDENTS_READ),
    ("Uploads", "/uploads", None),
    ("Audit trail", "/audit", Permission.AUDIT_READ),
    ("Governance", "/governance", Permission.GOVERNANCE_READ),
    ("Reports", "/reports", Permission.REPORTS_READ),
    ("Users", "/users", Permission.USERS_ADMIN),
)


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    principal: Principal | None = context.get("user")
    nav = [
        (label, path)
        for label, path, permission in NAV
        if principal is not None and (permission is None or allows(principal, permission))
    ]
    page = _templates.get_template(name).render(
        request=request, nav=nav, path=request.url.path, csrf=request.cookies.get("ww_csrf", ""), **context
    )
    return HTMLResponse(page, status_code=status)


def _page(request: Request, build: Callable[[Principal], Response]) -> Response:
    """Run a page as the session's user: log in first if needed; refusals and unknown things as HTML pages."""
    found = session_principal(request, _engine(request))
    if found is None:
        return RedirectResponse(f"/login?next={quote(request.url.path + _query(request))}", status_code=303)
    principal = found[0]
    try:
        return build(principal)
    except PermissionDenied as e:
        return _render(request, "error.html", 403, user=principal, title="Not allowed",
                       message=_refusal(principal, str(e)))  # fmt: skip
    except LookupError as e:
        return _render(request, "error.html", 404, user=principal, title="Not found", message=str(e).strip("'\""))
    except ValueError as e:
        return _render(request, "error.html", 422, user=principal, title="Cannot show this", message=str(e))


#: What each permission lets a user see or do, in words (for refusal pages).
_WORDS = {
    Permission.DEVICES_READ: "the device inventory", Permission.OBSERVATIONS_READ: "what was seen on the network",
    Permission.FLOWS_READ: "the network map and traffic", Permission.FINDINGS_READ: "vulnerability findings",
    Permission.RISK_READ: "device risk", Permission.RISK_ACCEPT: "accepting risks",
    Permission.JOBS_READ: "everyone's upload jobs", Permission.AUDIT_READ: "the audit trail",
    Permission.USERS_READ: "the user list", Permission.USERS_ADMIN: "managing users",
    Permission.REPORTS_READ: "reports", Permission.INVENTORY_WRITE: "uploading CMMS exports",
    Permission.DISCOVERY_WRITE: "uploading captures", Permission.INTEL_WRITE: "uploading advisories and feeds",
    Permission.NETWORK_READ: "the network analysis (zones, attack paths, worm spread)",
    Permission.ALARMS_READ: "clinical alarm delivery (budgets, verification, monitoring)",
}  # fmt: skip


def _refusal(principal: Principal, message: str) -> str:
    """A refusal in plain words: what the page shows, that the role does not include it, whom to ask."""
    needed = next((p for p in Permission if p.value in message), None)
    if needed is None:
        return message
    what = _WORDS.get(needed) or f"the {needed.value.split(':', 1)[1]} dashboard"
    return (f"This page shows {what}, which your role ({principal.role.value}) does not include. "
            f"If you need it for your work, ask a Wardwatch administrator (permission {needed.value}).")  # fmt: skip


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the conventional name
    """The login page (sets the CSRF cookie its form posts back)."""
    token = secrets.token_urlsafe(24)
    response = _render(request, "login.html", user=None, login_csrf=token, next=_safe_next(next) or "", error=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login", max_age=3600)
    return response


@router.post("/login")
def login_submit(
    request: Request,
    username: str = Form(..., max_length=100),
    password: str = Form(..., max_length=1000),
    csrf_token: str = Form(..., max_length=100),
    next: str = Form("", max_length=500),  # noqa: A002
) -> Response:
    """Check the credentials, start a session and go to the user's dashboard (or where they were going)."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _render(request, "error.html", 403, user=None, title="Expired form",
                       message="The login form expired; reload the page and try again.")  # fmt: skip
    engine = _engine(request)
    try:
        principal = authenticate(engine, username, password, address=client_address(request))
    except AuthenticationFailed as e:
        token = secrets.token_urlsafe(24)
        status = 429 if isinstance(e, LoginThrottled) else 401
        refused = _render(request, "login.html", status, user=None, login_csrf=token, next=_safe_next(next) or "",
                          error=str(e), username=username)  # fmt: skip
        refused.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login", max_age=3600)
        return refused
    session, csrf = create_session(engine, principal)
    target = _safe_next(next) or f"/dashboard/{HOME_DASHBOARD[principal.role]}"
    response = RedirectResponse(target, status_code=303)
    set_session_cookies(request, response, session, csrf)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("", max_length=100)) -> Response:
    """End the session (the form carries the session's CSRF token)."""
    engine = _engine(request)
    found = session_principal(request, engine)
    token = request.cookies.get("ww_session")
    if found is not None and token and hmac.compare_digest(found[1], csrf_token):
        end_session(engine, token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookies(response)
    return response


@router.get("/")
def home(request: Request) -> Response:
    """The user's own dashboard."""
    return _page(request, lambda p: RedirectResponse(f"/dashboard/{HOME_DASHBOARD[p.role]}", status_code=303))


@router.get("/dashboard/{name}")
def dashboard_page(request: Request, name: str) -> Response:
    """A role's dashboard; tabs show the other dashboards this user may see."""

    def build(principal: Principal) -> HTMLResponse:
        engine = _engine(request)
        viewer, units, unit = principal, [], None
        if name == "clinician" and not principal.unit_scoped and allows(principal, Permission.DASHBOARD_CLINICIAN):
            # Admin and auditor look at one unit's clinician dashboard: as a clinician of that unit (fewer rights).
            units = unit_names(engine)
            unit = request.query_params.get("unit") or busiest_clinical_unit(engine) or (units[0] if units else "")
            if unit not in units:
                raise LookupError(f"no unit {unit!r}; choose one of the list")
            viewer = replace(principal, role=Role.CLINICIAN, unit=unit, scopes=None)
        figures = dashboard(engine, viewer, name)
        tabs = [(n, TAB_LABELS.get(n, n.capitalize())) for n, (p, _b) in DASHBOARDS.items() if allows(principal, p)]
        top_risks = risk_page(engine, viewer, limit=5)[0] if allows(viewer, Permission.RISK_READ) else None
        return _render(request, "dashboard.html", user=principal, board=figures, tabs=tabs, title=figures["title"],
                       may_reports=allows(principal, Permission.REPORTS_READ), top_risks=top_risks,
                       may_devices=allows(principal, Permission.DEVICES_READ), units=units, unit=unit)  # fmt: skip

    return _page(request, build)


_FILTERS = ("q", "type", "criticality", "site", "manufacturer", "seen")
_DEVICE_PAGE = 50
_CRITICALITIES = ("life-sustaining", "life-supporting", "therapeutic", "diagnostic", "monitoring", "non-clinical",
                  "unknown")  # fmt: skip


@router.get("/devices")
def devices_page(request: Request) -> Response:
    """The device list with search and filters (the page's script searches as you type)."""

    def build(principal: Principal) -> HTMLResponse:
        q = request.query_params
        given = {k: (q.get(k) or None) for k in _FILTERS}
        sort = str(q.get("sort")) if q.get("sort") in SORTS else "id"
        descending = q.get("order") == "desc"
        offset_text = q.get("offset") or "0"
        offset = min(int(offset_text), 100_000) if offset_text.isdigit() else 0
        where = DeviceFilter(
            site=given["site"], device_type=given["type"], criticality=given["criticality"], search=given["q"],
            manufacturer=given["manufacturer"], seen=given["seen"],
        )  # fmt: skip
        index = request.app.state.search_index
        page = device_page(_engine(request), principal, where, sort=sort, descending=descending, limit=_DEVICE_PAGE,
                           offset=offset, index=index)  # fmt: skip
        kept = "&".join(f"{k}={quote(v)}" for k, v in given.items() if v)
        return _render(request, "devices.html", user=principal, page=page, filters=given, kept=kept, sort=sort,
                       descending=descending, offset=offset, size=_DEVICE_PAGE, types=known_types(_engine(request)),
                       criticalities=_CRITICALITIES, title="Devices")  # fmt: skip

    return _page(request, build)


@router.get("/devices/{reference}")
def device_page_view(request: Request, reference: str) -> Response:
    """One device: identity with the evidence per attribute, findings, observations, flows, history."""

    def build(principal: Principal) -> HTMLResponse:
        detail = device_view(_engine(request), principal, reference)
        evidence: dict[str, list[dict[str, Any]]] = {}
        for fact in detail["evidence"]:
            evidence.setdefault(fact["attribute"], []).append(fact)
        title = " ".join(str(detail[k]) for k in ("manufacturer", "model") if detail.get(k)) or f"Device {detail['id']}"
        risk = (
            device_risk(_engine(request), principal, str(detail["id"]))
            if allows(principal, Permission.RISK_READ)
            else None
        )
        today = datetime.now(UTC).date().isoformat()
        return _render(request, "device.html", user=principal, d=detail, evidence=evidence, title=title, risk=risk,
                       today=today,
                       may_flows=allows(principal, Permission.FLOWS_READ),
                       may_observations=allows(principal, Permission.OBSERVATIONS_READ),
                       may_findings=allows(principal, Permission.FINDINGS_READ),
                       may_remediation=allows(principal, Permission.REMEDIATION_READ))  # fmt: skip

    return _page(request, build)


@router.get("/uploads")
def uploads_page(request: Request) -> Response:
    """Upload a CMMS export, a capture or an intelligence file and watch its job."""

    def build(principal: Principal) -> HTMLResponse:
        kinds = [
            (kind, label)
            for kind, label, permission in (
                ("cmms", "CMMS export (CSV or XLSX)", Permission.INVENTORY_WRITE),
                ("capture", "Network capture (pcap, pcapng)", Permission.DISCOVERY_WRITE),
                ("intel", "Advisory, feed, SBOM or MDS2 form", Permission.INTEL_WRITE),
            )
            if allows(principal, permission)
        ]
        jobs, _total = list_jobs(_engine(request), principal, limit=20)
        return _render(request, "uploads.html", user=principal, kinds=kinds, jobs=jobs, title="Uploads")

    return _page(request, build)


@router.get("/map")
def map_page(request: Request) -> Response:
    """The network map of observed flows (Cytoscape.js; the page's script loads ``/api/network-map``)."""

    def build(principal: Principal) -> HTMLResponse:
        if not allows(principal, Permission.FLOWS_READ):
            raise PermissionDenied(f"{principal.username} ({principal.role.value}) is not allowed flows:read")
        return _render(request, "map.html", user=principal, title="Network map")

    return _page(request, build)


@router.get("/audit")
def audit_page(request: Request) -> Response:
    """The audit trail, newest first, under the state of its hash chain (recomputed on every view)."""

    def build(principal: Principal) -> HTMLResponse:
        outcome = request.query_params.get("outcome") or None
        entries, total = list_audit(_engine(request), principal, AuditFilter(outcome=outcome), limit=200)
        chain, checked_at = recent_verification(_engine(request), principal)
        return _render(
            request, "audit.html", user=principal, entries=entries, total=total, chain=chain, checked_at=checked_at,
            title="Audit trail",
        )  # fmt: skip

    return _page(request, build)


#: The reports on the reports page: (name, title, what it holds, permissions needed).
_REPORTS = (
    (
        "board",
        "Board report",
        "Posture, top risks explained, trend, vulnerability findings by severity and KEV, insecure network behaviour.",
        (Permission.REPORTS_READ,),
    ),
    (
        "audit",
        "Audit report",
        "Accounts and roles, the audit trail, data sources with their SHA-256, risk acceptances, evidence coverage.",
        (Permission.REPORTS_READ, Permission.AUDIT_READ),
    ),
)
_EXPORTS = (
    ("devices", "Devices (every plain attribute)", Permission.DEVICES_READ),
    ("findings", "Open vulnerability findings", Permission.FINDINGS_READ),
)


@router.get("/reports")
def reports_page(request: Request) -> Response:
    """The board and audit reports (PDF, HTML, JSON) and the exports this user may download."""

    def build(principal: Principal) -> HTMLResponse:
        if not allows(principal, Permission.REPORTS_READ):
            raise PermissionDenied(f"{principal.username} ({principal.role.value}) is not allowed reports:read")
        reports = [
            {"name": name, "title": title, "about": about}
            for name, title, about, needed in _REPORTS
            if all(allows(principal, p) for p in needed)
        ]
        exports = [{"name": n, "title": t} for n, t, p in _EXPORTS if allows(principal, p)]
        return _render(request, "reports.html", user=principal, reports=reports, exports=exports, title="Reports")

    return _page(request, build)
