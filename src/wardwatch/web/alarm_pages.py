"""The clinical alarm assurance page of the web UI (``/alarms``).

Rendered here from :mod:`wardwatch.services.alarms` as the logged-in user: the status of the latest verification,
its results (failing first), single points of failure and recommended additions, the budgets with who approved them,
and the monitoring of observed deliveries (a latency chart per path drawn as inline SVG, breaches, silences, alerts).
``static/js/alarms.js`` draws the topology (an SVG graph, layered by node kind) from ``/api/alarms/topology``,
highlights a result's routes and failed elements when it is clicked, and sends the forms (verify, propose and
approve budgets, uploads) to ``/api/alarms``.  A clinician sees their unit and sets their unit's budgets.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from wardwatch.api.routers.alarms import RECIPIENT_KINDS
from wardwatch.domain.alarm_model import Priority
from wardwatch.domain.permissions import Permission, Principal, allows, require
from wardwatch.services import alarms
from wardwatch.web.routes import _engine, _page, _render

__all__ = ["latency_chart", "router"]

router = APIRouter(include_in_schema=False)

_CHART_ROWS = 30
"""Paths drawn in the latency chart (the table lists every path)."""
_LABEL_W = 250
_PLOT_W = 330
_ROW_H = 62
_BAR_H = 14
_LABEL_CHARS = 32


def _middle(text: str, size: int) -> str:
    """``text`` shortened in the middle to ``size`` characters (both ends of a path name matter)."""
    if len(text) <= size:
        return text
    head = (size - 1) // 2
    return f"{text[:head]}…{text[len(text) - (size - 1 - head) :]}"


def _days(text: str | None) -> int:
    return min(int(text), 3660) if text and text.isdigit() and int(text) >= 1 else 7


def latency_chart(paths: list[dict[str, Any]]) -> dict[str, Any]:
    """The geometry of the latency chart: per path with deliveries, bars for p50/p95/p99 and the budget line on one
    scale (seconds to x: the largest p99 or budget, plus 10 %)."""
    delivered = [p for p in paths if p.get("p50_s") is not None]
    shown = delivered[:_CHART_ROWS]
    top = max([p["p99_s"] or 0.0 for p in shown] + [p["budget_s"] or 0.0 for p in shown] + [0.001]) * 1.1

    def x(seconds: float) -> float:
        return round(_LABEL_W + _PLOT_W * seconds / top, 1)

    rows = []
    for index, p in enumerate(shown):
        y = index * _ROW_H
        budget = p.get("budget_s")
        bars = [
            {"name": name, "seconds": p[key], "x": _LABEL_W, "y": y + 6 + i * (_BAR_H + 2),
             "width": round(x(p[key]) - _LABEL_W, 1), "over": budget is not None and p[key] > budget}
            for i, (name, key) in enumerate((("p50", "p50_s"), ("p95", "p95_s"), ("p99", "p99_s")))
        ]  # fmt: skip
        priority = p["priority"] or "no priority"
        rows.append({
            "label": f"{p['path']} ({priority})", "short": _middle(p["path"], _LABEL_CHARS), "priority": priority,
            "y": y, "bars": bars,
            "budget_x": x(budget) if budget is not None else None, "budget_s": budget, "count": p["count"],
            "lost": p["lost"], "late": p["late"],
        })  # fmt: skip
    return {"rows": rows, "height": max(len(rows) * _ROW_H + 4, 1), "width": _LABEL_W + _PLOT_W + 60,
            "label_x": _LABEL_W - 8, "hidden": len(delivered) - len(rows)}  # fmt: skip


def _highlight(result: dict[str, Any]) -> dict[str, Any]:
    """What the graph highlights for one result: its nominal and worst-case routes and the failed elements."""

    def route(value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return {"nodes": value["nodes"], "links": value["links"], "seconds": value["seconds"]}

    return {"nominal": route(result.get("nominal_route")), "worst": route(result.get("route")),
            "failed": result["failure_set"], "passed": result["passed"], "source": result["source"]}  # fmt: skip


@router.get("/alarms")
def alarms_page(request: Request) -> Response:
    """Verification status and results, the topology graph, budgets, monitoring and uploads."""

    def build(principal: Principal) -> HTMLResponse:
        require(principal, Permission.ALARMS_READ)
        engine = _engine(request)
        query = request.query_params
        may_write = allows(principal, Permission.ALARMS_WRITE)
        may_budget = allows(principal, Permission.ALARMS_BUDGET)
        current = alarms.current_topology(engine)
        version, topology = current if current is not None else (None, None)
        units = list(topology.units()) if topology is not None else []
        if principal.unit_scoped:
            unit = principal.unit or ""
        else:
            unit = query.get("unit") or ""
            unit = unit if unit in units else ""
        history = query.get("history") == "1"
        days = _days(query.get("days"))
        report = alarms.latest_verification(engine, principal, unit=unit or None)
        if report is not None:
            for result in report["results"]:
                result["highlight"] = _highlight(result)
        budgets = alarms.list_budgets(engine, principal, unit=unit or None, history=history)
        for budget in budgets:
            budget["approvable"] = (
                may_budget
                and budget["status"] == "draft"
                and (not principal.unit_scoped or budget["unit"] == principal.unit)
            )
        monitoring = alarms.monitoring(engine, principal, unit=unit or None, days=days)
        summary = monitoring["summary"]
        chart = latency_chart(summary["paths"]) if summary else None
        recipients: list[dict[str, Any]] = []
        alarm_types: list[str] = []
        if topology is not None:
            mine = principal.unit or unit
            recipients = sorted(
                ({"id": n.id, "label": n.label, "kind": n.kind, "unit": n.unit} for n in topology.nodes
                 if n.kind in RECIPIENT_KINDS),
                key=lambda r: (bool(mine) and r["unit"] != mine, r["unit"] or "", r["label"]),
            )  # fmt: skip
            alarm_types = sorted({t for s in topology.sources for t in s.alarm_types})
        budget_units = [principal.unit or ""] if principal.unit_scoped else [*units, "*"]
        labels = {n.id: n.label for n in topology.nodes} if topology is not None else {}
        element_labels = (
            {e: topology.label(e) for e in (*topology.node_by_id, *topology.link_by_id, *topology.group_by_id)}
            if topology is not None
            else {}
        )
        return _render(
            request, "alarms.html", user=principal, title="Clinical alarms", topology=topology, version=version,
            report=report, budgets=budgets, monitoring=monitoring, summary=summary, chart=chart, units=units,
            principal_unit=principal.unit if principal.unit_scoped else None,
            unit=unit, history=history, days=days, may_write=may_write, may_budget=may_budget,
            recipients=recipients, alarm_types=alarm_types, budget_units=budget_units, labels=labels,
            element_labels=element_labels,
            priorities=[p.value for p in Priority], stale=report is not None and report.get("version") != version,
        )  # fmt: skip

    return _page(request, build)
