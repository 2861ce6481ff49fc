"""The figures behind each role's dashboard, and the network map of observed flows.

A dashboard is data: headline figures (``cards``) and ranked lists (``bars`` for a bar chart, ``rows`` for a
table) that the web UI renders and the API returns as JSON.  Each dashboard needs its ``dashboard:<name>``
permission from the matrix.  Later capabilities (risk, alarm assurance, remediation, governance) add their
figures by extending the builder of the dashboards they concern.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Select, and_, case, distinct, func, or_, select

from wardwatch.domain.inventory import LIFE_CRITICAL, Criticality
from wardwatch.domain.observations import finding_label
from wardwatch.domain.permissions import Permission, Principal, allows, require
from wardwatch.services.devices import seen_clause
from wardwatch.services.worklist import VIEWS, WorkFilter, count_devices, is_internet
from wardwatch.store.database import ensure_ready
from wardwatch.store.schema import (
    alarm_verifications,
    audit_log,
    conversations,
    devices,
    findings,
    risk_acceptances,
    units,
    vulnerability_findings,
)

__all__ = ["DASHBOARDS", "dashboard", "network_map"]


def _criticality_rank() -> Any:
    """Most critical first (life-sustaining ... non-clinical), unknown last."""
    ranks = {c.value: c.rank for c in Criticality}
    return case(ranks, value=devices.c.criticality, else_=len(ranks))


def _exposure_cards(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The three cards the biomed and IT/security dashboards share: KEV, open vulnerabilities, network behaviour."""
    return [
        _card("Devices with known-exploited (KEV) vulnerabilities", figures["kev_devices"], tone="bad", href=_KEV,
              note=_POTENTIAL),
        _card("Devices with open vulnerabilities", figures["vuln_devices"], tone="warn", href=_VULNS, note=_POTENTIAL),
        _card("Devices with insecure behaviour on the network", figures["network_findings"], tone="warn", href=_NET),
    ]  # fmt: skip


def _card(label: str, value: int, *, tone: str = "neutral", href: str | None = None, note: str = "") -> dict[str, Any]:
    """A headline figure; a zero is never styled as an alarm."""
    return {"label": label, "value": value, "tone": tone if value else "neutral", "href": href, "note": note}


_POTENTIAL = "includes potential matches (version not confirmed)"


def _scalar(connection: Connection, query: Select[Any]) -> int:
    return int(connection.execute(query).scalar() or 0)


def _open_vulns() -> Any:
    vf = vulnerability_findings
    return and_(vf.c.suppressed.is_(False), vf.c.resolved_at.is_(None))


def _common(connection: Connection, principal: Principal) -> dict[str, int]:
    """Device counts, each from the worklist query its card links to."""
    return {
        "devices": _scalar(connection, select(func.count()).select_from(devices)),
        "critical": _scalar(connection, select(func.count()).where(devices.c.criticality.in_(LIFE_CRITICAL))),
        "unsupported": count_devices(connection, principal, "eos"),
        "kev_devices": count_devices(connection, principal, "vulns", WorkFilter(kev=True)),
        "vuln_devices": count_devices(connection, principal, "vulns"),
        "network_findings": count_devices(connection, principal, "network"),
        "internet": count_devices(connection, principal, "internet"),
    }


#: Worklist links of the cards.
_KEV, _VULNS, _EOS, _NET, _NET_OUT = (
    "/findings?view=vulns&kev=1", "/findings?view=vulns", "/findings?view=eos", "/findings?view=network",
    "/findings?view=internet",
)  # fmt: skip


def _bars(connection: Connection, query: Select[Any]) -> list[dict[str, Any]]:
    return [{"label": str(label or "unknown"), "value": int(value)} for label, value in connection.execute(query)]


def _seen_counts(connection: Connection) -> tuple[int, int]:
    unknown = _scalar(connection, select(func.count()).select_from(devices).where(seen_clause("unknown")))
    silent = _scalar(connection, select(func.count()).select_from(devices).where(seen_clause("silent")))
    return unknown, silent


def _executive(connection: Connection, principal: Principal) -> dict[str, Any]:
    figures = _common(connection, principal)
    by_criticality = _bars(
        connection,
        select(devices.c.criticality, func.count()).group_by(devices.c.criticality).order_by(func.count().desc()),
    )
    return {
        "title": "Posture",
        "cards": [
            _card("Devices", figures["devices"], href="/devices"),
            _card(
                "Life-sustaining or -supporting",
                figures["critical"],
                href="/devices?criticality=life-sustaining,life-supporting",
            ),
            _card("Devices past end of support", figures["unsupported"], tone="warn", href=_EOS),
            *_exposure_cards(figures),
            *_alarm_cards(connection, None),
            *_remediation_cards(connection),
        ],
        "bars": {"Devices by clinical criticality": by_criticality},
        "rows": {},
    }


def _biomed(connection: Connection, principal: Principal) -> dict[str, Any]:
    figures = _common(connection, principal)
    unknown, silent = _seen_counts(connection)
    vf = vulnerability_findings
    by_model = _bars(
        connection,
        select(
            func.coalesce(devices.c.manufacturer, "?") + " " + func.coalesce(devices.c.model, "?"),
            func.count(distinct(vf.c.vulnerability_id)),
        )
        .join(devices, devices.c.id == vf.c.device_id)
        .where(_open_vulns())
        .group_by(devices.c.manufacturer, devices.c.model)
        .order_by(func.count(distinct(vf.c.vulnerability_id)).desc())
        .limit(10),
    )
    by_type = _bars(
        connection,
        select(devices.c.device_type, func.count())
        .group_by(devices.c.device_type)
        .order_by(func.count().desc())
        .limit(12),
    )
    return {
        "title": "Biomedical engineering",
        "cards": [
            _card("Devices", figures["devices"], href="/devices"),
            _card(
                "Unknown devices (on the network, not in the CMMS)", unknown, tone="warn", href="/devices?seen=unknown"
            ),
            _card(
                "Silent devices (in the CMMS with an address, never seen on the network)",
                silent,
                tone="warn",
                href="/devices?seen=silent",
            ),
            _card("Devices past end of support", figures["unsupported"], tone="warn", href=_EOS),
            _card(
                "Devices with open vulnerabilities", figures["vuln_devices"], tone="warn", href=_VULNS, note=_POTENTIAL
            ),
            *_remediation_cards(connection),
        ],
        "bars": {"Vulnerabilities by model (top 10)": by_model, "Devices by type": by_type},
        "rows": {},
    }


def _itsec(connection: Connection, principal: Principal) -> dict[str, Any]:
    figures = _common(connection, principal)
    insecure = [
        {"label": finding_label(str(kind)), "value": int(count), "kind": kind}
        for kind, count in connection.execute(
            select(findings.c.kind, func.count(distinct(findings.c.device_id)))
            .group_by(findings.c.kind)
            .order_by(func.count(distinct(findings.c.device_id)).desc())
        )
    ]
    external = [
        dict(r._mapping)
        for r in connection.execute(
            select(
                findings.c.device_id, findings.c.detail, devices.c.asset_tag, devices.c.manufacturer, devices.c.model
            )
            .join(devices, devices.c.id == findings.c.device_id)
            .where(findings.c.kind == "external_peer")
            .order_by(findings.c.count.desc())
            .limit(20)
        )
    ]
    return {
        "title": "IT and security",
        "cards": [
            *_exposure_cards(figures),
            _card("Devices talking to the internet", figures["internet"], tone="bad", href=_NET_OUT),
        ],
        "bars": {"Devices per insecure protocol": insecure},
        "rows": {"External peers": external},
        "later": "Attack paths, the worm's spread and policy simulation are on the Network analysis page; SSVC "
        "priorities and what-if are on the Risk page.",
    }


def _clinician(connection: Connection, principal: Principal) -> dict[str, Any]:
    unit = principal.unit or ""
    in_unit = select(devices.c.id).join(units, devices.c.unit_id == units.c.id).where(units.c.department == unit)
    vf = vulnerability_findings
    kev_count = func.sum(case((vf.c.in_kev.is_(True), 1), else_=0))
    listed = [
        dict(r._mapping)
        for r in connection.execute(
            select(
                devices.c.id,
                devices.c.asset_tag,
                devices.c.manufacturer,
                devices.c.model,
                devices.c.device_type,
                devices.c.criticality,
                func.count(vf.c.id).label("vulnerabilities"),
                kev_count.label("kev"),
            )  # fmt: skip
            .outerjoin(vf, and_(vf.c.device_id == devices.c.id, _open_vulns()))
            .where(devices.c.id.in_(in_unit), devices.c.criticality != "non-clinical")
            .group_by(devices.c.id)
            .order_by(_criticality_rank(), devices.c.id)
            .limit(200)
        )
    ]
    return {
        "title": f"Clinical devices of {unit or 'your unit'}",
        "cards": [
            _card(
                "Devices in your unit",
                _scalar(connection, select(func.count()).where(devices.c.id.in_(in_unit))),
                href="/devices",
            ),
            _card(
                "With open vulnerabilities",
                count_devices(connection, principal, "vulns"),
                tone="warn",
                href=_VULNS,
                note=_POTENTIAL,
            ),
            _card(
                "With known-exploited (KEV) vulnerabilities",
                count_devices(connection, principal, "vulns", WorkFilter(kev=True)),
                tone="bad",
                href=_KEV,
                note=_POTENTIAL,
            ),
            *_alarm_cards(connection, unit),
        ],
        "bars": {},
        "rows": {"Devices": listed},
    }


def _remediation_cards(connection: Connection) -> list[dict[str, Any]]:
    """The remediation programme: overdue work items, SLA compliance and mean time to remediate."""
    from wardwatch.services.remediation import figures  # noqa: PLC0415 - services import each other lazily

    found = figures(connection)
    compliance = "n/a" if found["sla_compliance"] is None else f"{found['sla_compliance']:.0%}"
    mttr = found["mean_time_to_remediate_days"]
    return [
        _card("Remediation items past their SLA", found["overdue"], tone="bad", href="/remediation?overdue=1",
              note=f"of {found['open']} open; SLA compliance {compliance}; mean time to remediate "
                   f"{'n/a' if mttr is None else f'{mttr} days'}"),
    ]  # fmt: skip


def _alarm_cards(connection: Connection, unit: str | None) -> list[dict[str, Any]]:
    """The alarm-assurance status from the newest verification (the whole hospital, or one unit's flows)."""
    row = connection.execute(
        select(alarm_verifications.c.k, alarm_verifications.c.flows, alarm_verifications.c.failing,
               alarm_verifications.c.report).order_by(alarm_verifications.c.id.desc()).limit(1)
    ).first()  # fmt: skip
    if row is None:
        return [_card("Alarm flows verified", 0, href="/alarms", note="no alarm network verified yet")]
    flows, failing = int(row.flows), int(row.failing)
    if unit is not None:
        mine = [u for u in orjson.loads(row.report).get("units", []) if u.get("unit") == unit]
        flows, failing = (int(mine[0]["flows"]), int(mine[0]["failing"])) if mine else (0, 0)
    after = f"after any {row.k} failure{'s' if row.k != 1 else ''}"
    return [
        _card("Alarm flows that miss their delivery budget", failing, tone="bad",
              href="/alarms", note=f"of {flows} verified {after} (nodes, links, jamming)"),
    ]  # fmt: skip


def _compliance(connection: Connection, principal: Principal) -> dict[str, Any]:
    entries = _scalar(connection, select(func.count()).select_from(audit_log))
    denied = _scalar(connection, select(func.count()).where(audit_log.c.outcome != "success"))
    today = datetime.now(UTC).date()
    ra = risk_acceptances.c
    live = and_(ra.revoked_at.is_(None), ra.expires_on > today)
    active = _scalar(connection, select(func.count()).where(live))
    expiring = _scalar(connection, select(func.count()).where(live, ra.expires_on <= today + timedelta(days=30)))
    return {
        "title": "Compliance",
        "cards": [
            _card("Audit trail entries", entries, href="/audit"),
            _card(
                "Refused or failed actions", denied, tone="warn" if denied else "neutral", href="/audit?outcome=denied"
            ),
            _card("Active risk acceptances", active, href="/risk/acceptances"),
            _card(
                "Risk acceptances expiring within 30 days",
                expiring,
                tone="warn" if expiring else "neutral",
                href="/risk/acceptances",
            ),
        ],
        "bars": {},
        "rows": {},
        "later": "Risk acceptances and their expiry are on the Risk page; framework coverage arrives with governance.",
    }


#: Dashboards: name -> (permission, builder).
DASHBOARDS: dict[str, tuple[Permission, Callable[[Connection, Principal], dict[str, Any]]]] = {
    "executive": (Permission.DASHBOARD_EXECUTIVE, _executive),
    "biomed": (Permission.DASHBOARD_BIOMED, _biomed),
    "itsec": (Permission.DASHBOARD_ITSEC, _itsec),
    "clinician": (Permission.DASHBOARD_CLINICIAN, _clinician),
    "compliance": (Permission.DASHBOARD_COMPLIANCE, _compliance),
}


def dashboard(engine: Engine, principal: Principal, name: str) -> dict[str, Any]:
    """The figures of dashboard ``name``; ``LookupError`` for an unknown one, refusal without its permission."""
    if name not in DASHBOARDS:
        raise LookupError(f"no dashboard {name!r}; known: {', '.join(DASHBOARDS)}")
    permission, build = DASHBOARDS[name]
    require(principal, permission)
    ensure_ready(engine)
    with engine.connect() as connection:
        board = {"name": name, **build(connection, principal)}
    for card in board["cards"]:
        if card["href"] and not allows(principal, _link_permission(card["href"])):
            card["href"] = None  # a card links only where its reader may go
    return board


def _link_permission(href: str) -> Permission:
    """The permission the page at ``href`` needs."""
    path, _, query = href.partition("?")
    if path == "/findings":
        view = dict(p.partition("=")[::2] for p in query.split("&")).get("view", "vulns")
        return VIEWS[view][1]
    pages = {"/devices": Permission.DEVICES_READ, "/audit": Permission.AUDIT_READ, "/map": Permission.FLOWS_READ,
             "/alarms": Permission.ALARMS_READ, "/remediation": Permission.REMEDIATION_READ}  # fmt: skip
    return pages.get(path, Permission.RISK_READ)


#: Addresses that are not a peer (DHCP discovery, broadcast); multicast is left out too.
_NOT_PEERS = ("0.0.0.0", "255.255.255.255", "::")  # noqa: S104 - addresses compared, not bound


def network_map(engine: Engine, principal: Principal, *, limit: int = 400) -> dict[str, Any]:
    """The observed flows as a graph: zones (departments, "internet", hosts not in the inventory), edges by bytes.

    ``limit`` keeps the largest conversations only, so the map stays readable and fast on a big hospital;
    broadcast and multicast traffic (DHCP discovery, mDNS) is left out: it connects everything to everything.
    """
    require(principal, Permission.FLOWS_READ)
    ensure_ready(engine)
    noise = or_(
        conversations.c.server_ip.in_(_NOT_PEERS),
        conversations.c.client_ip.in_(_NOT_PEERS),
        conversations.c.server_ip.like("224.%"),
        conversations.c.server_ip.like("239.%"),
        conversations.c.server_ip.like("ff0%"),
    )
    with engine.connect() as connection:
        flows = connection.execute(
            select(conversations).where(~noise).order_by(conversations.c.bytes.desc(), conversations.c.id).limit(limit)
        ).all()
        ids = {i for f in flows for i in (f.client_device_id, f.server_device_id) if i is not None}
        known = {
            r.id: r
            for r in connection.execute(
                select(
                    devices.c.id,
                    devices.c.asset_tag,
                    devices.c.manufacturer,
                    devices.c.model,
                    devices.c.device_type,
                    devices.c.criticality,
                    units.c.department,
                )  # fmt: skip
                .outerjoin(units, devices.c.unit_id == units.c.id)
                .where(devices.c.id.in_(ids))
            )
        }
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str], dict[str, Any]] = {}

    def node(device_id: int | None, ip: str) -> str:
        if device_id is not None and device_id in known:
            row = known[device_id]
            zone = row.department or "unassigned"
            key = f"d{device_id}"
            label = row.asset_tag or " ".join(x for x in (row.manufacturer, row.model) if x) or ip
            nodes.setdefault(key, {"id": key, "label": label, "parent": f"z:{zone}", "device_id": device_id,
                                   "criticality": row.criticality, "type": row.device_type, "ip": ip})  # fmt: skip
        else:
            zone = "internet" if is_internet(ip) else "hosts not in the inventory"
            key = f"ip:{ip}"
            nodes.setdefault(key, {"id": key, "label": ip, "parent": f"z:{zone}", "device_id": None,
                                   "criticality": None, "type": None, "ip": ip})  # fmt: skip
        nodes.setdefault(f"z:{zone}", {"id": f"z:{zone}", "label": zone, "zone": True})
        return key

    for flow in flows:
        source, target = node(flow.client_device_id, flow.client_ip), node(flow.server_device_id, flow.server_ip)
        edge = edges.setdefault((source, target), {"source": source, "target": target, "bytes": 0, "services": []})
        edge["bytes"] += int(flow.bytes)
        service = f"{flow.protocol or flow.transport}/{flow.port}"
        if service not in edge["services"]:
            edge["services"].append(service)
    return {"nodes": list(nodes.values()), "edges": list(edges.values()), "flows_shown": len(flows)}
