"""The governance page of the web UI (``/governance``): framework coverage with its gaps, training records, and the
IEC 80001-1 risk-management file.

Rendered from :mod:`wardwatch.services.governance` as the logged-in user (``governance:read``): a framework selector,
the met / partial / gap counts with a bar, the framework's items (gaps first) with their reasons, the controls
judged on live data, and the training records (expiring ones highlighted) with each role's currency.  A user with
``training:write`` gets the form to record a completed course; ``static/js/governance.js`` sends it to
``/api/governance/training`` (the API checks and audits it) and switches framework without a button.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from wardwatch.domain.permissions import Permission, Principal, Role, allows
from wardwatch.services import governance as service
from wardwatch.web.routes import _engine, _page, _render

__all__ = ["coverage_bar", "router"]

router = APIRouter(include_in_schema=False)

#: Short names of the frameworks for the selector.
LABELS = {"csf": "NIST CSF 2.0", "hicp": "HICP practice 9", "80001": "IEC 80001-1", "tjc": "Joint Commission"}
_BAR_W = 600
_COLOURS = (("met", "#1b7a3a"), ("partial", "#e0a030"), ("gap", "#b42318"))


def coverage_bar(counts: dict[str, int]) -> list[dict[str, Any]]:
    """The segments of the coverage bar: met, partial, gap side by side, widths in proportion to the counts."""
    total = sum(counts.values()) or 1
    x, segments = 0.0, []
    for status, colour in _COLOURS:
        width = round(_BAR_W * counts.get(status, 0) / total, 1)
        segments.append({"status": status, "count": counts.get(status, 0), "x": x, "width": width, "fill": colour})
        x = round(x + width, 1)
    return segments


@router.get("/governance")
def governance_page(request: Request) -> Response:
    """Framework coverage (``?framework=csf|hicp|80001|tjc``), control evidence and training records."""

    def build(principal: Principal) -> HTMLResponse:
        if not allows(principal, Permission.GOVERNANCE_READ):
            return _render(request, "error.html", 403, user=principal, title="Not allowed", message=(
                "This page shows governance evidence (framework coverage, training records, the IEC 80001-1 risk "
                f"file), which your role ({principal.role.value}) does not include. If you need it for your work, "
                f"ask a Wardwatch administrator (permission {Permission.GOVERNANCE_READ.value})."))  # fmt: skip
        chosen = request.query_params.get("framework") or "csf"
        if chosen not in service.FRAMEWORKS:
            raise ValueError(f"unknown framework {chosen!r}; choose one of {', '.join(LABELS.values())}")
        engine = _engine(request)
        report = service.governance(engine, principal, chosen)
        framework = report["frameworks"][0]
        training = service.list_training(engine, principal)
        return _render(request, "governance.html", user=principal, title="Governance", report=report,
                       framework=framework, chosen=chosen, labels=LABELS, bar=coverage_bar(framework["counts"]),
                       bar_width=_BAR_W, training=training, roles=[r.value for r in Role],
                       may_train=allows(principal, Permission.TRAINING_WRITE))  # fmt: skip

    return _page(request, build)
