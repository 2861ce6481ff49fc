"""The risk pages of the web UI: rankings, rollups and what-if (``/risk``) and risk acceptances
(``/risk/acceptances``).  They call :mod:`wardwatch.services.risk_views` as the logged-in user; the what-if form and
the acceptance buttons post to the API from ``static/js/risk.js``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from wardwatch.domain.permissions import Permission, Principal, allows, require
from wardwatch.services.risk_views import (
    DIMENSIONS,
    EXPIRING_DAYS,
    LEVELS,
    PRIORITIES,
    RiskFilter,
    acceptance_rows,
    policy_controls,
    risk_page,
    risk_rollup,
)
from wardwatch.web.routes import _engine, _page, _render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_PAGE = 50
_SORTS = ("score", "level", "ssvc", "kev", "device", "site")


def _pick(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


@router.get("/risk")
def risk_overview(request: Request) -> Response:
    """Device risk rankings with filters, a rollup table and the what-if form."""

    def build(principal: Principal) -> HTMLResponse:
        require(principal, Permission.RISK_READ)
        q = request.query_params
        level, ssvc = _pick(q.get("level"), LEVELS), _pick(q.get("ssvc"), PRIORITIES)
        sort = _pick(q.get("sort"), _SORTS) or "score"
        by = _pick(q.get("by"), DIMENSIONS) or "site"
        offset_text = q.get("offset") or "0"
        offset = int(offset_text) if offset_text.isdigit() else 0
        rows, total = risk_page(_engine(request), principal, RiskFilter(level=level, ssvc=ssvc), sort=sort,
                                limit=_PAGE, offset=offset)  # fmt: skip
        kept = urlencode({k: v for k, v in (("level", level), ("ssvc", ssvc), ("sort", sort), ("by", by)) if v})
        return _render(
            request, "risk.html", user=principal, title="Risk", rows=rows, total=total, offset=offset, size=_PAGE,
            level=level, ssvc=ssvc, sort=sort, by=by, kept=kept, levels=LEVELS, priorities=PRIORITIES,
            sorts=_SORTS, dimensions=DIMENSIONS, rollup=risk_rollup(_engine(request), principal, by),
            controls=policy_controls(), may_devices=allows(principal, Permission.DEVICES_READ),
        )  # fmt: skip

    return _page(request, build)


@router.get("/risk/acceptances")
def acceptances_page(request: Request) -> Response:
    """Risk acceptances with their status; those expiring within 30 days highlighted."""

    def build(principal: Principal) -> HTMLResponse:
        require(principal, Permission.RISK_READ)
        include_revoked = request.query_params.get("all") == "1"
        rows = acceptance_rows(_engine(request), principal, include_revoked=include_revoked)
        return _render(
            request, "acceptances.html", user=principal, title="Risk acceptances", rows=rows,
            include_revoked=include_revoked, expiring_days=EXPIRING_DAYS, controls=policy_controls(),
            may_accept=allows(principal, Permission.RISK_ACCEPT),
            may_devices=allows(principal, Permission.DEVICES_READ),
        )  # fmt: skip

    return _page(request, build)
