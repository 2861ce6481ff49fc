"""The network analysis page of the web UI (``/network``): one view per question, chosen by ``?view=``.

``violations`` and ``recommend`` are rendered here from :mod:`wardwatch.services.network_analysis`; ``paths``,
``blast`` and ``simulate`` are forms whose results ``static/js/network.js`` fetches from ``/api/network`` and draws
(a Cytoscape graph of the hosts involved, never the whole hospital).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from wardwatch.domain.attack_paths import packaged_catalog
from wardwatch.domain.permissions import Permission, Principal, allows, require
from wardwatch.services import network_analysis as analysis
from wardwatch.services.network import load_model, stored_network_files
from wardwatch.web.routes import _engine, _page, _render

__all__ = ["VIEWS", "router"]

router = APIRouter(include_in_schema=False)

#: The page's views: (query value, tab label).
VIEWS: tuple[tuple[str, str], ...] = (
    ("violations", "Violations"),
    ("paths", "Attack paths"),
    ("blast", "Blast radius"),
    ("recommend", "Recommendation"),
    ("simulate", "Policy simulation"),
)
_SEVERITIES = ("high", "medium", "low")


@router.get("/network")
def network_page(request: Request) -> Response:
    """Violations, attack paths, blast radius, recommendation and policy simulation of the stored network model."""

    def build(principal: Principal) -> HTMLResponse:
        require(principal, Permission.NETWORK_READ)
        engine = _engine(request)
        names = [v for v, _ in VIEWS]
        view = request.query_params.get("view") or "violations"
        view = view if view in names else "violations"
        may_write = allows(principal, Permission.NETWORK_WRITE)
        model = load_model(engine)
        context: dict[str, Any] = {}
        if model is not None:
            catalog = packaged_catalog()
            entry = [z.name for z in model.zones if z.entry_point or z.kind in catalog.entry_kinds]
            context.update(
                zones=model.zones, entry_zones=entry, criticalities=list(catalog.impact),
                files=stored_network_files(engine), rules=len(model.rules), bindings=model.points,
                binding_entries=model.point_rule_counts(), notes=model.notes,
            )  # fmt: skip
            if view == "violations":
                report = analysis.check(engine)
                kind = request.query_params.get("kind") or ""
                kind = kind if kind in report["by_kind"] else ""
                shown = [v for v in report["violations"] if not kind or v["kind"] == kind]
                rank = {s: i for i, s in enumerate(_SEVERITIES)}
                shown.sort(key=lambda v: rank.get(v["severity"], len(rank)))
                context.update(report=report, kind=kind, shown=shown, severities=_SEVERITIES)
            elif view == "recommend":
                context.update(recommendation=analysis.recommend(engine, "json"))
        return _render(
            request, "network.html", user=principal, title="Network analysis", view=view, views=VIEWS, model=model,
            may_write=may_write, **context,
        )  # fmt: skip

    return _page(request, build)
