"""The findings worklist: what to act on, and the same queries the dashboards count with.

Each dashboard card that counts devices with a problem links to a view of this worklist, and both use the query
builders here, so a card's number is always the number of devices the page it links to lists:

- ``vulns``: open vulnerability findings (not suppressed by VEX, not resolved), known-exploited first, then CVSS;
  filters KEV, confidence (confirmed | potential), device type;
- ``eos``: devices past their manufacturer's end of support;
- ``network``: insecure behaviour seen on the network (SMBv1, cleartext PHI, default SNMP community …);
- ``internet``: devices that exchanged traffic with a public (global) internet address.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, distinct, func, or_, select, union

from wardwatch.domain.permissions import Permission, Principal, require
from wardwatch.store.database import ensure_ready
from wardwatch.store.schema import (
    conversations,
    devices,
    findings,
    risk_scores,
    sites,
    units,
    vulnerability_findings,
)

__all__ = [
    "VIEWS",
    "WorkFilter",
    "count_devices",
    "eos_query",
    "finding_detail",
    "internet_devices",
    "is_internet",
    "known_types",
    "network_query",
    "vuln_query",
    "worklist",
]

#: The views of the worklist: name -> (title, permission).
VIEWS: dict[str, tuple[str, Permission]] = {
    "vulns": ("Vulnerabilities", Permission.FINDINGS_READ),
    "eos": ("Past end of support", Permission.DEVICES_READ),
    "network": ("Insecure behaviour", Permission.OBSERVATIONS_READ),
    "internet": ("Talks to the internet", Permission.FLOWS_READ),
}


@dataclass(frozen=True, slots=True)
class WorkFilter:
    """Filters of the worklist; ``None`` or ``False`` means no filter."""

    kev: bool = False
    confidence: str | None = None
    device_type: str | None = None
    kind: str | None = None
    priority: str | None = None
    """The device's SSVC priority (from its stored risk score)."""


def _in_unit(principal: Principal, column: Any) -> Any:
    if not principal.unit_scoped:
        return None
    return column.in_(
        select(devices.c.id).join(units, devices.c.unit_id == units.c.id).where(units.c.department == principal.unit)
    )


def _where(query: Select[Any], *conditions: Any) -> Select[Any]:
    kept = [c for c in conditions if c is not None]
    return query.where(*kept) if kept else query


def vuln_query(principal: Principal, where: WorkFilter) -> Select[Any]:
    """Open vulnerability findings with their device, known-exploited first, then CVSS, then EPSS."""
    vf = vulnerability_findings.c
    query = select(
        vf.id, vf.device_id, vf.vulnerability_id, vf.component_ref, vf.confidence, vf.in_kev, vf.cvss_score, vf.epss,
        devices.c.asset_tag, devices.c.manufacturer, devices.c.model, devices.c.device_type, devices.c.criticality,
        risk_scores.c.ssvc.label("priority"),
    ).join(devices, devices.c.id == vf.device_id)  # fmt: skip
    query = query.outerjoin(risk_scores, risk_scores.c.device_id == vf.device_id)
    return _where(
        query,
        vf.suppressed.is_(False),
        vf.resolved_at.is_(None),
        vf.in_kev.is_(True) if where.kev else None,
        vf.confidence == where.confidence if where.confidence else None,
        devices.c.device_type == where.device_type if where.device_type else None,
        risk_scores.c.ssvc == where.priority if where.priority else None,
        _in_unit(principal, vf.device_id),
    ).order_by(vf.in_kev.desc(), vf.cvss_score.desc().nulls_last(), vf.epss.desc().nulls_last(), vf.id)


def finding_detail(engine: Engine, principal: Principal, vulnerability_id: str) -> dict[str, Any]:
    """One vulnerability as the stored findings describe it: KEV, CVSS, EPSS, advisories, remediation and the
    devices (the reader may see) that have it; ``LookupError`` when no open finding has it."""
    require(principal, Permission.FINDINGS_READ)
    ensure_ready(engine)
    vf = vulnerability_findings.c
    query = _where(
        select(
            vf.device_id,
            vf.component_ref,
            vf.confidence,
            vf.in_kev,
            vf.cvss_score,
            vf.cvss_vector,
            vf.epss,
            vf.epss_percentile,
            vf.vex_status,
            vf.detail,
            vf.first_seen,
            devices.c.asset_tag,
            devices.c.manufacturer,
            devices.c.model,
            devices.c.device_type,
        )  # fmt: skip
        .join(devices, devices.c.id == vf.device_id)
        .order_by(vf.device_id),
        vf.vulnerability_id == vulnerability_id,
        vf.suppressed.is_(False),
        vf.resolved_at.is_(None),
        _in_unit(principal, vf.device_id),
    )
    with engine.connect() as connection:
        rows = [dict(r._mapping) for r in connection.execute(query)]
    if not rows:
        raise LookupError(f"no open finding of {vulnerability_id} on a device you may see")
    advisories: list[str] = []
    remediation: list[dict[str, Any]] = []
    for row in rows:
        detail = json.loads(row.pop("detail") or "{}")
        for a in detail.get("advisories") or []:
            if a not in advisories:
                advisories.append(a)
        for r in detail.get("remediation") or []:
            if r not in remediation:
                remediation.append(r)
    first = rows[0]
    return {
        "vulnerability": vulnerability_id,
        "kev": any(r["in_kev"] for r in rows),
        "cvss": max((r["cvss_score"] for r in rows if r["cvss_score"] is not None), default=None),
        "cvss_vector": first["cvss_vector"],
        "epss": max((r["epss"] for r in rows if r["epss"] is not None), default=None),
        "advisories": advisories,
        "remediation": remediation,
        "devices": rows,
    }


def eos_query(principal: Principal, where: WorkFilter) -> Select[Any]:
    """Devices past their end of support, the longest past first."""
    today = datetime.now(UTC).date()
    d = devices.c
    query = (
        select(
            d.id.label("device_id"),
            d.asset_tag,
            d.manufacturer,
            d.model,
            d.device_type,
            d.criticality,
            d.end_of_support,
            sites.c.name.label("site"),
            units.c.department,
        )  # fmt: skip
        .select_from(devices.outerjoin(sites, d.site_id == sites.c.id).outerjoin(units, d.unit_id == units.c.id))
        .order_by(d.end_of_support, d.id)
    )
    return _where(
        query,
        d.end_of_support <= today,
        d.device_type == where.device_type if where.device_type else None,
        _in_unit(principal, d.id),
    )


def network_query(principal: Principal, where: WorkFilter) -> Select[Any]:
    """Insecure behaviour seen on the network, one row per device and kind."""
    f = findings.c
    query = (
        select(
            f.device_id,
            f.kind,
            f.detail,
            f.protocol,
            f.count,
            f.last_seen,
            devices.c.asset_tag,
            devices.c.manufacturer,
            devices.c.model,
            devices.c.device_type,
            devices.c.criticality,
        )  # fmt: skip
        .join(devices, devices.c.id == f.device_id)
        .order_by(f.kind, f.device_id, f.id)
    )
    return _where(
        query,
        f.kind == where.kind if where.kind else None,
        devices.c.device_type == where.device_type if where.device_type else None,
        _in_unit(principal, f.device_id),
    )


def is_internet(ip: str) -> bool:
    """Whether ``ip`` is a public internet address (not private, loopback, link-local, multicast or reserved)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return address.is_global and not address.is_multicast


def internet_devices(connection: Connection, principal: Principal) -> dict[int, dict[str, Any]]:
    """Devices that exchanged traffic with a public address: id -> peers, services, bytes.

    The distinct peer addresses are few (one per host talked to), so they are classified in Python.
    """
    c = conversations.c
    peers = union(select(c.server_ip.label("ip")), select(c.client_ip.label("ip"))).subquery()
    public = [ip for ip in connection.execute(select(peers.c.ip)).scalars() if is_internet(ip)]
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(public), 500):
        part = public[start : start + 500]
        rows = connection.execute(
            select(
                c.client_device_id,
                c.server_device_id,
                c.client_ip,
                c.server_ip,
                c.protocol,
                c.transport,
                c.port,
                c.bytes,
            ).where(  # fmt: skip
                or_(
                    and_(c.server_ip.in_(part), c.client_device_id.is_not(None)),
                    and_(c.client_ip.in_(part), c.server_device_id.is_not(None)),
                )
            )  # fmt: skip
        )
        for row in rows:
            inside, peer = (
                (row.client_device_id, row.server_ip)
                if row.server_ip in part
                else (row.server_device_id, row.client_ip)
            )
            entry = out.setdefault(int(inside), {"peers": set(), "services": set(), "bytes": 0})
            entry["peers"].add(peer)
            entry["services"].add(f"{row.protocol or row.transport}/{row.port}")
            entry["bytes"] += int(row.bytes)
    if principal.unit_scoped and out:
        allowed = set(
            connection.execute(
                select(devices.c.id)
                .join(units, devices.c.unit_id == units.c.id)
                .where(units.c.department == principal.unit, devices.c.id.in_(list(out)))
            ).scalars()
        )
        out = {k: v for k, v in out.items() if k in allowed}
    return out


def _devices_of(connection: Connection, query: Select[Any]) -> int:
    ids = query.with_only_columns(query.selected_columns.device_id).order_by(None).subquery()
    return int(connection.execute(select(func.count(distinct(ids.c.device_id)))).scalar_one())


def count_devices(connection: Connection, principal: Principal, view: str, where: WorkFilter | None = None) -> int:
    """How many devices the worklist ``view`` lists (what a dashboard card shows)."""
    where = where or WorkFilter()
    if view == "internet":
        return len(internet_devices(connection, principal))
    builders = {"vulns": vuln_query, "eos": eos_query, "network": network_query}
    return _devices_of(connection, builders[view](principal, where))


def worklist(
    engine: Engine, principal: Principal, view: str, where: WorkFilter, *, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """One view of the worklist: rows (a page), how many rows and how many devices match."""
    if view not in VIEWS:
        raise ValueError(f"view {view!r} is not one of: {', '.join(VIEWS)}")
    require(principal, VIEWS[view][1])
    ensure_ready(engine)
    with engine.connect() as connection:
        if view == "internet":
            found = internet_devices(connection, principal)
            names = {
                r.id: r
                for r in connection.execute(
                    select(
                        devices.c.id,
                        devices.c.asset_tag,
                        devices.c.manufacturer,
                        devices.c.model,
                        devices.c.device_type,
                        devices.c.criticality,
                    ).where(devices.c.id.in_(list(found)))
                )  # fmt: skip
            }
            rows = [
                {
                    "device_id": i,
                    "asset_tag": names[i].asset_tag,
                    "manufacturer": names[i].manufacturer,
                    "model": names[i].model,
                    "device_type": names[i].device_type,
                    "criticality": names[i].criticality,
                    "peers": sorted(v["peers"]),
                    "services": sorted(v["services"]),
                    "bytes": v["bytes"],
                }  # fmt: skip
                for i, v in sorted(found.items(), key=lambda kv: -kv[1]["bytes"])
                if i in names
            ]
            return {"rows": rows[offset : offset + limit], "total": len(rows), "devices": len(rows)}
        builders = {"vulns": vuln_query, "eos": eos_query, "network": network_query}
        query = builders[view](principal, where)
        total = int(connection.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one())
        rows = [dict(r._mapping) for r in connection.execute(query.limit(limit).offset(offset))]
        return {"rows": rows, "total": total, "devices": _devices_of(connection, query)}


def known_types(engine: Engine) -> list[str]:
    """The device types present in the inventory (for filter drop-downs)."""
    ensure_ready(engine)
    with engine.connect() as connection:
        found = connection.execute(
            select(devices.c.device_type).where(devices.c.device_type.is_not(None)).distinct()
        ).scalars()
        return sorted(str(t) for t in found)
