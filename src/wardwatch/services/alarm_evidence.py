"""The verification and validation (V&V) record of one clinical unit's alarm delivery, for the IEC 80001-1
risk-management file, as self-contained HTML or as PDF.

:func:`evidence_data` gathers, through :mod:`wardwatch.services.alarms` (and the permission checks it makes):

* the **header**: the hospital site(s) the unit belongs to in the inventory, the unit, when and by whom the record
  was generated, and the Wardwatch version;
* the **scope**: what is verified and how (worst case after every failure set of up to *k* nodes, links or
  shared-risk groups, exact search branching on the best route: METHODS.md section 5.4, docs/alarms.md);
* the **topology version** in force (and the one the verification checked, when they differ): id, file, SHA-256,
  who imported it and when, and its node, link and group counts;
* the **budgets** that govern the unit (its own and the ``"*"`` ones) with version, approver, approval time and
  rationale -- a draft is marked *NOT APPROVED*, and a unit without an approved budget says so at the top;
* the **verification results** of the unit's flows (nominal and worst-case delivery time, the worst failure set,
  pass/fail and a sentence), who ran it and when, the unit's single points of failure and the additions the
  recommendation chose for it;
* the **monitoring summary** of the unit's observed deliveries (records, lost, nearest-rank p50/p95/p99 per path,
  breaches, heartbeat silences, alerts) with a chart of the percentiles against the budgets;
* a **sign-off** block for the clinical lead, biomedical engineering and IT.

A missing topology, verification or delivery log is stated plainly in the record, never an error; a stale
verification (older topology version, or a budget approved after it) is flagged.  :func:`evidence` renders it with
``templates/alarm_evidence.html`` (the look of the board and audit reports) and, for PDF, WeasyPrint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine, select

from wardwatch import __version__
from wardwatch.domain.permissions import Permission, PermissionDenied, Principal, require
from wardwatch.services import alarms

# The same figure settings and SVG-as-image embedding as the board and audit reports' charts.
from wardwatch.services.report_charts import _figure, _svg
from wardwatch.services.report_render import ReportError
from wardwatch.store.database import ensure_ready
from wardwatch.store.schema import alarm_topologies, sites, units

__all__ = ["BREACHES_LISTED", "MONITORING_DAYS", "evidence", "evidence_data", "percentile_chart"]

#: Days of observed deliveries the monitoring summary covers (up to the newest stored record).
MONITORING_DAYS = 30
#: How many breaches the record lists one by one (all are counted).
BREACHES_LISTED = 50

_SCOPE = (
    "This record is part of the IEC 80001-1 risk-management file for the clinical alarm network of the unit named "
    "above. It documents the delivery-time requirements (budgets) clinicians set and approved for the unit's "
    "alarms, the model of the alarm network they were verified on, the verification results, and the deliveries "
    "observed in operation."
)
_WHAT = (
    "For every alarm source of the unit and every approved budget that governs its alarms, the time an alarm takes "
    "to reach the budget's primary recipients (or its escalation recipients, after the escalation delay) is "
    "bounded from the model: the processing bound of every node on the route, the latency bound of every link, and, "
    "when failures break the route used with nothing failed, the failover time (detection + retry) of the node "
    "before the broken hop. A budget passes when that bound stays within the clinicians' maximum after every "
    "failure set of up to k elements (a node, a link, or a shared-risk group that fails as one: a switch stack, a "
    "power circuit, a host, the jamming of a Wi-Fi band)."
)
_METHOD = (
    "Exact worst-case search branching on the best route: only failures of elements on the current best route or "
    "the nominal route can change the delivery time, so the worst failure set of up to k elements is found by "
    "failing those elements one at a time (with dominance pruning and an A* search per failure set), not by "
    "sampling. The single points of failure are the elements whose failure alone misses a budget. Observed "
    "percentiles are nearest-rank: always a latency that really happened."
)
_REFERENCES = (
    "METHODS.md section 5 (5.4: verification and live monitoring)",
    "docs/alarms.md (the topology file and budgets)",
    "IEC 80001-1:2021 (risk management of health IT networks)",
    "IEC 60601-1-8 (alarm priorities; distributed alarm systems)",
)
_SIGNOFF = (
    ("Clinical lead of the unit", "approves the budgets as the clinical requirement"),
    ("Biomedical / clinical engineering", "confirms the topology matches the installed alarm system"),
    ("IT / network", "confirms the network elements, failover settings and monitoring"),
)

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    auto_reload=False,
)


# -- data -------------------------------------------------------------------------------------------------------


def _when(value: datetime | str | None) -> datetime | None:
    """An aware UTC datetime from a datetime or ISO text (the services return both)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _check_unit(principal: Principal, unit: str) -> None:
    require(principal, Permission.ALARMS_READ)
    if principal.unit_scoped and unit != principal.unit:
        raise PermissionDenied(
            f"{principal.username} may see the alarm evidence of their unit only "
            f"({principal.unit or 'none assigned'}), not {unit!r}"
        )


def _sites(engine: Engine, unit: str) -> list[str]:
    query = (
        select(sites.c.name)
        .join(units, units.c.site_id == sites.c.id)
        .where(units.c.department == unit)
        .distinct()
        .order_by(sites.c.name)
    )
    with engine.connect() as connection:
        return [str(name) for name in connection.execute(query).scalars()]


def _topology_rows(engine: Engine, versions: set[int]) -> dict[int, dict[str, Any]]:
    if not versions:
        return {}
    t = alarm_topologies.c
    query = select(t.id, t.name, t.original, t.sha256, t.nodes, t.links, t.groups, t.sources, t.imported_by,
                   t.imported_at).where(t.id.in_(sorted(versions)))  # fmt: skip
    with engine.connect() as connection:
        return {
            int(row.id): {**dict(row._mapping), "id": int(row.id), "imported_at": _when(row.imported_at)}
            for row in connection.execute(query)
        }


def _topology(engine: Engine, unit: str) -> dict[str, Any] | None:
    """The current topology's version, stored details and the unit's alarm sources (``None`` before an import)."""
    current = alarms.current_topology(engine)
    if current is None:
        return None
    version, model = current
    rows = _topology_rows(engine, {version})
    sources = [
        {"node": s.node, "name": model.label(s.node), "device_kind": s.device_kind, "devices": s.devices,
         "alarm_types": list(s.alarm_types)}
        for s in model.sources if s.unit == unit
    ]  # fmt: skip
    return {**rows[version], "unit_sources": sources, "units": list(model.units())}


def _budgets(engine: Engine, principal: Principal, unit: str) -> list[dict[str, Any]]:
    out = []
    current = alarms.current_topology(engine)
    labels = {n.id: n.label for n in current[1].nodes} if current is not None else {}
    for budget in alarms.list_budgets(engine, principal, unit=unit):
        approved = budget["status"] == "approved"
        out.append({
            **budget, "in_force": approved, "approved_at": _when(budget["approved_at"]),
            "primary": [labels.get(r, r) for r in budget["primary"]],
            "escalation": [labels.get(r, r) for r in budget["escalation"]],
            "created_at": _when(budget["created_at"]),
            "status_text": "approved, in force" if approved else f"NOT APPROVED ({budget['status']}, not in force)",
        })  # fmt: skip
    return out


def _flow_key(result: Mapping[str, Any]) -> str:
    return f"{result['source']}@{result['budget']}"


def _recommendations(report: Mapping[str, Any], flows: set[str], failing: set[str]) -> dict[str, Any] | None:
    """The additions chosen for the whole network, up to the last one that makes a flow of the unit pass.

    The choice is greedy over every unit: an earlier addition may be needed only in combination with a later one
    (two failures that must both be covered), so every step up to the last one fixing this unit is kept; the flows
    each one fixes are narrowed to this unit's.
    """
    advice = report.get("recommendations")
    if advice is None or not failing:
        return None
    additions = list(advice["additions"])
    last = max((i for i, a in enumerate(additions) if set(a["fixes"]) & flows), default=-1)
    chosen = [{**a, "fixes": [f for f in a["fixes"] if f in flows]} for a in additions[: last + 1]]
    still = [f for f in advice["still_failing"] if f in flows]
    return {"additions": chosen, "still_failing": still, "complete": not still and last >= 0}


def _verification(
    engine: Engine, principal: Principal, unit: str, budgets: Sequence[Mapping[str, Any]],
    topology: Mapping[str, Any] | None,
) -> dict[str, Any] | None:  # fmt: skip
    report = alarms.latest_verification(engine, principal, unit=unit)
    if report is None:
        return None
    verified_at = _when(report["verified_at"])
    results = report["results"]
    flows = {_flow_key(r) for r in results}
    failing = {_flow_key(r) for r in results if not r["passed"]}
    unit_sources = {s["node"] for s in topology["unit_sources"]} if topology else {r["source"] for r in results}
    stale: list[str] = []
    if topology is not None and report["version"] != topology["id"]:
        stale.append(f"It checked topology version {report['version']}; the current version is {topology['id']}.")
    for budget in budgets:
        if not budget["in_force"]:
            continue
        if verified_at is not None and budget["approved_at"] is not None and budget["approved_at"] > verified_at:
            stale.append(f"Budget {budget['key']} version {budget['version']} was approved after it.")
        elif any(r["budget"] == budget["key"] and r["budget_s"] != budget["max_delivery_s"] for r in results):
            stale.append(f"It used another maximum for {budget['key']} than the version in force.")
    return {
        "id": report["verification_id"], "k": report["k"], "verified_at": verified_at,
        "verified_by": report["verified_by"], "topology_version": report["version"],
        "flows": len(results), "failing": len(failing), "passed": not failing,
        "results": results, "single_points_of_failure": report["single_points_of_failure"],
        "unbudgeted_sources": [s for s in report["unbudgeted_sources"] if s in unit_sources],
        "recommendations": _recommendations(report, flows, failing), "stale": stale,
    }  # fmt: skip


def _monitoring(engine: Engine, principal: Principal, unit: str, days: int) -> dict[str, Any]:
    observed = alarms.monitoring(engine, principal, unit=unit, days=days)
    summary = observed.get("summary")
    base = {"records": observed["records"], "window_days": days, "until": _when(observed.get("until"))}
    if not observed["records"] or summary is None:
        return {**base, "records": 0, "lost": 0, "late": 0, "paths": [], "unit": None, "breaches": [],
                "breach_count": 0, "silences": [], "alerts": []}  # fmt: skip
    paths = [{**p, "first_sent": _when(p["first_sent"]), "last_sent": _when(p["last_sent"])} for p in summary["paths"]]
    breaches = [{**b, "sent_at": _when(b["sent_at"])} for b in summary["breaches"]]
    silences = [{**s, "start": _when(s["start"]), "end": _when(s["end"])} for s in summary["silences"]]
    # Detection alerts are about budgets (of every unit): keep this unit's and the every-unit ones.
    alerts = [a for a in summary["alerts"] if a["kind"] != "detection" or a["subject"].split("/")[0] in (unit, "*")]
    totals = next(
        ({**u, "first_sent": _when(u["first_sent"]), "last_sent": _when(u["last_sent"])}
         for u in summary["units"] if u["unit"] == unit),
        None,
    )  # fmt: skip
    return {
        **base, "lost": sum(p["lost"] for p in paths), "late": sum(p["late"] for p in paths), "paths": paths,
        "unit": totals, "breaches": breaches[:BREACHES_LISTED], "breach_count": len(breaches),
        "silences": silences, "alerts": alerts,
    }  # fmt: skip


def _warnings(data: Mapping[str, Any]) -> list[str]:
    unit = data["unit"]
    out: list[str] = []
    if not any(b["in_force"] for b in data["budgets"]):
        out.append(f"NOT APPROVED: {unit} has no approved budget. No clinician has approved a delivery time for "
                   "its alarms, so nothing in this record is verified against a clinical requirement.")  # fmt: skip
    drafts = [b for b in data["budgets"] if not b["in_force"]]
    if drafts:
        keys = ", ".join(f"{b['key']} v{b['version']}" for b in drafts)
        out.append(f"NOT APPROVED: {len(drafts)} budget version(s) are drafts and not in force ({keys}).")
    if data["topology"] is None:
        out.append("No alarm topology has been imported, so nothing could be verified.")
    if data["verification"] is None:
        out.append("No verification has been run.")
    elif data["verification"]["stale"]:
        out.append("The latest verification is out of date: " + " ".join(data["verification"]["stale"])
                   + " Run the verification again before filing this record.")  # fmt: skip
    elif not data["verification"]["passed"]:
        v = data["verification"]
        out.append(f"{v['failing']} of {v['flows']} budgets of {unit} are not met after some failure of up to "
                   f"{v['k']} element(s).")  # fmt: skip
    unbudgeted = data["verification"]["unbudgeted_sources"] if data["verification"] else []
    if unbudgeted:
        out.append(f"No approved budget governs the alarms of: {', '.join(unbudgeted)}.")
    return out


def evidence_data(engine: Engine, principal: Principal, unit: str, *, days: int = MONITORING_DAYS) -> dict[str, Any]:
    """The V&V record of ``unit`` as a plain dict (JSON-ready apart from dates); see the module docstring.

    Needs ``alarms:read``; a clinician may ask for their own unit only (PermissionDenied otherwise).
    """
    _check_unit(principal, unit)
    if days < 1:
        raise ValueError("the monitoring window must be at least one day")
    ensure_ready(engine)
    current = alarms.current_topology(engine)
    if current is not None and not principal.unit_scoped:
        known = set(current[1].units()) | {b.unit for b in alarms.budgets_in_force(engine)} - {"*"}
        if unit not in known:
            raise ValueError(
                f"no unit {unit!r} in the alarm topology or its budgets; units: {', '.join(sorted(known))}"
            )
    topology = _topology(engine, unit)
    budgets = _budgets(engine, principal, unit)
    verification = _verification(engine, principal, unit, budgets, topology)
    verified_topology = None
    if verification is not None and (topology is None or verification["topology_version"] != topology["id"]):
        verified_topology = _topology_rows(engine, {verification["topology_version"]}).get(
            verification["topology_version"]
        )
    data: dict[str, Any] = {
        "name": "alarm_evidence",
        "title": f"Alarm delivery verification and validation record — {unit}",
        "unit": unit,
        "sites": _sites(engine, unit),
        "generated_at": datetime.now(UTC),
        "generated_by": principal.username,
        "version": __version__,
        "scope": {
            "statement": _SCOPE,
            "what": _WHAT,
            "method": _METHOD,
            "references": list(_REFERENCES),
            "k": verification["k"] if verification else None,
        },  # fmt: skip
        "topology": topology,
        "verified_topology": verified_topology,
        "budgets": budgets,
        "verification": verification,
        "monitoring": _monitoring(engine, principal, unit, days),
        "signoff": [{"role": role, "meaning": meaning} for role, meaning in _SIGNOFF],
    }
    data["approved"] = any(b["in_force"] for b in budgets)
    data["warnings"] = _warnings(data)
    return data


# -- chart ------------------------------------------------------------------------------------------------------


def percentile_chart(paths: Sequence[Mapping[str, Any]], label: str) -> str | None:
    """Grouped bars of p50/p95/p99 per path with each path's budget as a red line, as an ``<img>``; ``None``
    when no path has a delivered latency."""
    shown = [p for p in paths if p.get("p50_s") is not None]
    if not shown:
        return None
    figure = _figure(6.5, 2.8)
    axes = figure.add_subplot()
    width = 0.26
    for offset, (key, name, colour) in enumerate(
        (("p50_s", "p50", "#93c5fd"), ("p95_s", "p95", "#3b82f6"), ("p99_s", "p99", "#1e3a8a"))
    ):
        xs = [i + (offset - 1) * width for i in range(len(shown))]
        axes.bar(xs, [float(p[key]) for p in shown], width=width, color=colour, label=name)
    budgeted = [(i, float(p["budget_s"])) for i, p in enumerate(shown) if p.get("budget_s") is not None]
    for n, (i, budget) in enumerate(budgeted):
        axes.hlines(budget, i - 0.45, i + 0.45, colors="#dc2626", linestyles="--", linewidth=1.5,
                    label="budget" if n == 0 else "_nolegend_")  # fmt: skip
    top = max([float(p["p99_s"]) for p in shown] + [b for _i, b in budgeted])
    axes.set_ylim(0, top * 1.15 if top > 0 and math.isfinite(top) else 1)
    axes.set_xticks(range(len(shown)), [_short(str(p["path"])) for p in shown], rotation=15, ha="right")
    axes.set_ylabel("delivery time (s)")
    axes.grid(axis="y", color="#e5e7eb")
    axes.set_axisbelow(True)
    axes.legend(frameon=False, fontsize=8, ncols=4, loc="lower left", bbox_to_anchor=(0, 1.0))
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _svg(figure, label)


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- rendering --------------------------------------------------------------------------------------------------


def render_html(data: Mapping[str, Any]) -> str:
    """The record as one self-contained HTML document."""
    chart = percentile_chart(data["monitoring"]["paths"], "Observed delivery-time percentiles per path vs budget")
    return _templates.get_template("alarm_evidence.html").render(r=data, chart=chart, version=__version__)


def evidence(
    engine: Engine, principal: Principal, unit: str, *, fmt: Literal["html", "pdf"], days: int = MONITORING_DAYS
) -> bytes:
    """The V&V record of ``unit`` as HTML (UTF-8) or PDF bytes; :class:`ReportError` when the PDF engine cannot
    load or ``fmt`` is neither."""
    if fmt not in ("html", "pdf"):
        raise ReportError(f"unknown format {fmt!r}; use html or pdf")
    html = render_html(evidence_data(engine, principal, unit, days=days))
    if fmt == "html":
        return html.encode("utf-8")
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]  # noqa: PLC0415 - slow import, only for PDF
    except OSError as e:  # pango missing: WeasyPrint raises OSError from cffi's dlopen
        raise ReportError(
            f"cannot make a PDF: WeasyPrint could not load pango ({e}); install libpango-1.0-0 and "
            "libpangoft2-1.0-0, or write .html instead"
        ) from e
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
