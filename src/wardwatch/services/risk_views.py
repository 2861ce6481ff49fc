"""Risk for the API and the web UI: the risk services (``services/risk*.py``) seen through the permission matrix.

A thin adapter: the risk services take no acting user, so every function here requires its permission first,
limits a clinician to the devices of their unit, and records acceptance changes in the audit trail.  The what-if
simulation takes the scenario as data (the CLI reads it from a file) and scores it with the same public pieces
as ``risk simulate``; nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, Select, case, func, select

from wardwatch.domain.permissions import Permission, PermissionDenied, Principal, require
from wardwatch.domain.risk_scenario import ScenarioError, scenario_from_mapping
from wardwatch.services import audit
from wardwatch.services.browse import _visible_device
from wardwatch.services.devices import DeviceNotFound
from wardwatch.services.risk import DIMENSIONS, explain, rollup
from wardwatch.services.risk_acceptance import AcceptanceError, accept, list_acceptances, revoke
from wardwatch.services.risk_policy import load_policy
from wardwatch.services.risk_simulate import resolve_devices, simulate_scenario
from wardwatch.store.database import ensure_ready
from wardwatch.store.schema import devices, risk_explanations, risk_scores, sites, units, vulnerability_findings

__all__ = [
    "DIMENSIONS",
    "AcceptanceError",
    "EXPIRING_DAYS",
    "LEVELS",
    "PRIORITIES",
    "RiskFilter",
    "acceptance_rows",
    "create_acceptance",
    "device_risk",
    "policy_controls",
    "revoke_acceptance",
    "risk_page",
    "risk_rollup",
    "what_if",
]

#: Risk levels of the policy, worst first (the sort of ``level``).
LEVELS = ("critical", "high", "medium", "low")
#: SSVC deployer priorities, most urgent first.
PRIORITIES = ("immediate", "out-of-cycle", "scheduled", "defer")
#: An acceptance expiring within this many days is highlighted.
EXPIRING_DAYS = 30
_SORTS = {"score", "level", "ssvc", "kev", "device", "site"}


@dataclass(frozen=True, slots=True)
class RiskFilter:
    """Filters of the device risk list; ``None`` means no filter."""

    level: str | None = None
    ssvc: str | None = None
    site: str | None = None
    device_type: str | None = None
    min_score: float | None = None


def _kev_count() -> Any:
    vf = vulnerability_findings.c
    return (
        select(func.count())
        .where(
            vf.device_id == risk_scores.c.device_id,
            vf.in_kev.is_(True),
            vf.suppressed.is_(False),
            vf.resolved_at.is_(None),
        )  # fmt: skip
        .correlate(risk_scores)
        .scalar_subquery()
    )


def _rank(column: Any, order: Sequence[str]) -> Any:
    return case({v: i for i, v in enumerate(order)}, value=func.lower(column), else_=len(order))


def _risk_query(principal: Principal, where: RiskFilter) -> Select[Any]:
    rs, d = risk_scores.c, devices.c
    kev = _kev_count().label("kev")
    query = select(
        rs.device_id,
        rs.score,
        rs.level,
        rs.ssvc,
        rs.ssvc_vulnerability,
        rs.likelihood,
        rs.severity,
        risk_explanations.c.explanation,
        d.asset_tag,
        d.manufacturer,
        d.model,
        d.device_type,
        d.criticality,
        sites.c.name.label("site"),
        units.c.department.label("unit"),
        kev,
    ).select_from(  # fmt: skip
        risk_scores.join(devices, d.id == rs.device_id)
        .join(risk_explanations, risk_explanations.c.id == rs.explanation_id)
        .outerjoin(sites, d.site_id == sites.c.id)
        .outerjoin(units, d.unit_id == units.c.id)
    )
    if principal.unit_scoped:
        query = query.where(units.c.department == (principal.unit or ""))
    if where.level:
        query = query.where(func.lower(rs.level) == where.level.lower())
    if where.ssvc:
        query = query.where(func.lower(rs.ssvc) == where.ssvc.lower())
    if where.site:
        query = query.where(func.lower(sites.c.name) == where.site.lower())
    if where.device_type:
        query = query.where(d.device_type == where.device_type)
    if where.min_score is not None:
        query = query.where(rs.score >= where.min_score)
    return query


def _order(query: Select[Any], sort: str, descending: bool) -> Select[Any]:
    rs = risk_scores.c
    keys: dict[str, list[Any]] = {
        "score": [rs.score],
        "level": [-_rank(rs.level, LEVELS), rs.score],
        "ssvc": [-_rank(rs.ssvc, PRIORITIES), rs.score],
        "kev": [query.selected_columns.kev, rs.score],
        "device": [devices.c.manufacturer, devices.c.model],
        "site": [sites.c.name],
    }
    if sort not in _SORTS:
        raise ValueError(f"sort {sort!r} is not one of: {', '.join(sorted(_SORTS))}")
    columns = [c.desc() if descending else c.asc() for c in keys[sort]]
    return query.order_by(*columns, rs.device_id)


def _row(row: Any) -> dict[str, Any]:
    explanation = orjson.loads(row.explanation)
    return {
        "device": {
            "id": row.device_id,
            "asset_tag": row.asset_tag,
            "manufacturer": row.manufacturer,
            "model": row.model,
            "device_type": row.device_type,
            "criticality": row.criticality,
            "site": row.site,
            "unit": row.unit,
        },  # fmt: skip
        "score": row.score,
        "level": row.level,
        "ssvc": row.ssvc,
        "ssvc_vulnerability": row.ssvc_vulnerability,
        "kev": int(row.kev or 0),
        "summary": explanation.get("summary", ""),
    }


def risk_page(
    engine: Engine,
    principal: Principal,
    where: RiskFilter | None = None,
    *,
    sort: str = "score",
    descending: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Stored device risks (riskiest first by default) and how many match; a clinician sees their unit only."""
    require(principal, Permission.RISK_READ)
    ensure_ready(engine)
    query = _risk_query(principal, where or RiskFilter())
    with engine.connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        rows = connection.execute(_order(query, sort, descending).limit(limit).offset(offset)).all()
    return [_row(r) for r in rows], total


def device_risk(engine: Engine, principal: Principal, reference: str) -> dict[str, Any]:
    """One device's risk computed now with every finding's SSVC decision points (``risk explain``)."""
    require(principal, Permission.RISK_READ)
    if principal.unit_scoped:
        _visible_device(engine, principal, reference)  # refuses devices outside the unit
    return explain(engine, reference)


def risk_rollup(engine: Engine, principal: Principal, by: str) -> list[dict[str, Any]]:
    """Devices, mean and max score, counts per level and SSVC priority per ``by`` (site|unit|type|manufacturer|model).

    A clinician's rollup covers their unit only (computed from their devices' stored scores).
    """
    require(principal, Permission.RISK_READ)
    if by not in DIMENSIONS:
        raise ValueError(f"by {by!r} is not one of: {', '.join(DIMENSIONS)}")
    if not principal.unit_scoped:
        return rollup(engine, by)
    rows, _ = risk_page(engine, principal, limit=100_000)
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        d = r["device"]
        u = "(unknown)"
        keys = {"site": d["site"], "unit": f"{d['site'] or u} / {d['unit'] or u}", "type": d["device_type"],
                "manufacturer": d["manufacturer"], "model": f"{d['manufacturer'] or u} {d['model'] or u}"}  # fmt: skip
        key = keys[by] or u
        g = groups.setdefault(key, {"key": key, "devices": 0, "total": 0.0, "max_score": 0.0, "levels": {},
                                    "priorities": {}})  # fmt: skip
        g["devices"] += 1
        g["total"] += r["score"]
        g["max_score"] = max(g["max_score"], r["score"])
        g["levels"][r["level"]] = g["levels"].get(r["level"], 0) + 1
        g["priorities"][r["ssvc"]] = g["priorities"].get(r["ssvc"], 0) + 1
    for g in groups.values():
        g["mean_score"] = round(g.pop("total") / g["devices"], 1)
    return sorted(groups.values(), key=lambda g: (-g["mean_score"], g["key"]))


def policy_controls() -> list[str]:
    """The compensating controls the risk policy knows (for forms)."""
    return sorted(load_policy().controls)


def what_if(
    engine: Engine, principal: Principal, scenario: Mapping[str, Any], *, today: date | None = None
) -> dict[str, Any]:
    """Score every device today and under ``scenario`` (the YAML file's mapping as data); nothing is stored.

    Raises ``ValueError`` naming the change and key when the scenario cannot be used.
    """
    require(principal, Permission.RISK_READ)
    ensure_ready(engine)
    try:
        parsed = resolve_devices(engine, scenario_from_mapping(dict(scenario), load_policy().controls))
    except (ScenarioError, DeviceNotFound) as e:
        raise ValueError(str(e.args[0])) from e
    ids = None
    if principal.unit_scoped:
        with engine.connect() as connection:
            ids = list(connection.execute(
                select(devices.c.id).join(units, devices.c.unit_id == units.c.id)
                .where(units.c.department == (principal.unit or ""))
            ).scalars())  # fmt: skip
    return simulate_scenario(engine, parsed, device_ids=ids, today=today).as_dict()


def _device_names(engine: Engine, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    d = devices.c
    query = (
        select(d.id, d.asset_tag, d.manufacturer, d.model, units.c.department)
        .outerjoin(units, d.unit_id == units.c.id)
        .where(d.id.in_(sorted(set(ids))))
    )
    with engine.connect() as connection:
        return {
            r.id: {
                "id": r.id,
                "asset_tag": r.asset_tag,
                "name": " ".join(x for x in (r.manufacturer, r.model) if x) or f"device {r.id}",
                "unit": r.department,
            }  # fmt: skip
            for r in connection.execute(query)
        }


def acceptance_rows(
    engine: Engine, principal: Principal, *, include_revoked: bool = False, today: date | None = None
) -> list[dict[str, Any]]:
    """Every acceptance with its status, device and ``expiring`` (active and ending within 30 days)."""
    require(principal, Permission.RISK_READ)
    day = today or datetime.now(UTC).date()
    found = list_acceptances(engine, include_revoked=include_revoked, today=day)
    names = _device_names(engine, [a["device_id"] for a in found])
    out = []
    for a in found:
        device = names.get(a["device_id"], {"id": a["device_id"], "asset_tag": None, "name": None, "unit": None})
        if principal.unit_scoped and device["unit"] != principal.unit:
            continue
        a["device"] = device
        a["expiring"] = a["status"] == "active" and a["expires_on"] <= day + timedelta(days=EXPIRING_DAYS)
        out.append(a)
    return sorted(out, key=lambda a: (a["status"] != "active", a["expires_on"], a["id"]))


def create_acceptance(
    engine: Engine,
    principal: Principal,
    device_ref: str,
    *,
    vulnerability_id: str | None,
    justification: str,
    controls: Sequence[str],
    expires_on: date,
    address: str | None = None,
) -> int:
    """Accept a device's risk (or one finding's) until ``expires_on``; the approver is the acting user; audited.

    Raises :class:`AcceptanceError` (a ``LookupError``) naming what to change.
    """
    try:
        require(principal, Permission.RISK_ACCEPT)
    except PermissionDenied:
        audit.record_now(engine, principal.username, "risk accept", outcome="denied", target=device_ref,
                         address=address)  # fmt: skip
        raise
    new_id = accept(
        engine, device_ref, vulnerability_id=vulnerability_id or None, approver=principal.username,
        justification=justification, controls=controls, expires_on=expires_on,
    )  # fmt: skip
    audit.record_now(
        engine, principal.username, "risk accept", target=device_ref, address=address,
        detail={"acceptance": new_id, "vulnerability": vulnerability_id, "expires_on": expires_on.isoformat(),
                "controls": list(controls)},
    )  # fmt: skip
    return new_id


def revoke_acceptance(engine: Engine, principal: Principal, acceptance_id: int, *, address: str | None = None) -> None:
    """Revoke an active acceptance (kept for the record; the device is rescored); audited."""
    require(principal, Permission.RISK_ACCEPT)
    revoke(engine, acceptance_id)
    audit.record_now(engine, principal.username, "risk revoke", target=str(acceptance_id), address=address)
