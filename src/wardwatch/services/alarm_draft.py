"""A first alarm topology drawn from the inventory: what Wardwatch knows (which units have which alarm-raising
devices, how many, and their central stations) with placeholders for what only the hospital's design knows (access
points, switches, the alarm server, paging, phones, latencies).

Every placeholder is named ``… (EDIT)`` and carries cautious latencies, so the draft verifies as it is (it checks
itself with the parser) but proves nothing until the biomed and network teams replace them with the real design.
Budgets are the local-policy defaults of METHODS.md 5.3, unapproved: imported, they are drafts a clinician must
approve.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import yaml
from sqlalchemy import Engine, select

from wardwatch.domain.permissions import Permission, Principal, require
from wardwatch.ingest.alarm_topology import parse_alarm_topology
from wardwatch.store.database import ensure_ready
from wardwatch.store.schema import devices, sites, units

__all__ = ["ALARM_DEVICE_TYPES", "draft_topology"]

#: Inventory device types that raise alarms: (source kind, plural label, alarm types).
ALARM_DEVICE_TYPES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "patient-monitor": ("monitor", "patient monitors", ("arrhythmia", "apnea", "spo2-low")),
    "telemetry-transmitter": ("telemetry", "telemetry transmitters", ("arrhythmia", "spo2-low")),
    "pulse-oximeter": ("monitor", "pulse oximeters", ("spo2-low",)),
    "infusion-pump": ("pump", "infusion pumps", ("occlusion", "infusion-complete")),
    "syringe-pump": ("pump", "infusion pumps", ("occlusion", "infusion-complete")),
    "pca-pump": ("pump", "infusion pumps", ("occlusion", "infusion-complete")),
    "ventilator": ("ventilator", "ventilators", ("disconnect", "high-pressure")),
}
#: METHODS.md 5.3 local-policy defaults: priority -> (seconds, escalate after seconds or None).
_DEFAULT_BUDGETS = {"high": (10.0, 30.0), "medium": (30.0, None), "low": (120.0, None)}
#: Which alarm types are high priority by default (the rest are medium): a clinician decides in the end.
_HIGH = frozenset({"arrhythmia", "apnea", "disconnect", "spo2-low"})
_RETIRED = ("retired", "disposed", "inactive")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unit"


def draft_topology(engine: Engine, principal: Principal, *, site: str | None = None) -> str:
    """The draft topology YAML for the inventory (one ``site`` or all); ``ValueError`` when no unit has
    alarm-raising devices."""
    require(principal, Permission.ALARMS_WRITE)
    ensure_ready(engine)
    query = (
        select(sites.c.name.label("site"), units.c.department.label("unit"), devices.c.device_type)
        .select_from(devices.join(units, devices.c.unit_id == units.c.id).join(sites, units.c.site_id == sites.c.id))
        .where(devices.c.device_type.in_([*ALARM_DEVICE_TYPES, "central-station"]))
        .where((devices.c.lifecycle_status.is_(None)) | (devices.c.lifecycle_status.notin_(_RETIRED)))
    )
    if site is not None:
        query = query.where(sites.c.name == site)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    groups: Counter[tuple[str, str, str]] = Counter()
    stations: Counter[tuple[str, str]] = Counter()
    for row in rows:
        if row.device_type == "central-station":
            stations[(row.site, row.unit)] += 1
        else:
            groups[(row.site, row.unit, ALARM_DEVICE_TYPES[row.device_type][0])] += 1
    if not groups:
        where = f" at site {site!r}" if site else ""
        raise ValueError(f"no unit{where} has alarm-raising devices (monitors, pumps, ventilators) in the inventory")
    return _render(groups, stations)


def _render(groups: Counter[tuple[str, str, str]], stations: Counter[tuple[str, str]]) -> str:
    nodes: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    rf: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    budgets: list[dict[str, Any]] = []
    by_key: dict[tuple[str, str, str], dict[str, Any]] = {}
    labels = {kind: (label, alarms) for kind, label, alarms in ALARM_DEVICE_TYPES.values()}
    site_names = sorted({s for s, _u, _k in groups})
    nodes.append(
        {
            "id": "alarm-server",
            "kind": "alarm-server",
            "name": "Alarm server (EDIT)",
            "processing": {"typical": 0.5, "max": 1.5},
            "failover": {"detection": 5, "retry": 1},
        }
    )
    nodes.append(
        {
            "id": "paging-gateway",
            "kind": "paging",
            "name": "Paging / phone gateway (EDIT)",
            "processing": {"typical": 0.3, "max": 1.0},
            "failover": {"detection": 5, "retry": 1},
        }
    )
    links.append({"a": "alarm-server", "b": "paging-gateway", "latency": 0.01})
    for site_name in site_names:
        switch = f"{_slug(site_name)}-core"
        nodes.append({"id": switch, "kind": "switch", "name": f"{site_name} core switch (EDIT)", "site": site_name})
        links.append({"a": switch, "b": "alarm-server", "latency": 0.005})
    for site_name, unit in sorted({(s, u) for s, u, _k in groups}):
        base = f"{_slug(site_name)}-{_slug(unit)}" if len(site_names) > 1 else _slug(unit)
        ap, phones, pager = f"{base}-ap", f"{base}-phones", f"{base}-charge-pager"
        nodes += [
            {"id": ap, "kind": "ap", "name": f"{unit} access point (EDIT)", "unit": unit, "site": site_name},
            {"id": phones, "kind": "phone", "name": f"{unit} nurse phones (EDIT)", "unit": unit,
             "processing": 0.5},
            {"id": pager, "kind": "pager", "name": f"{unit} charge nurse pager (EDIT)", "unit": unit,
             "processing": 0.5, "failable": True},
        ]  # fmt: skip
        links += [
            {"a": ap, "b": f"{_slug(site_name)}-core", "latency": 0.005},
            {"a": "paging-gateway", "b": phones, "medium": "wifi", "latency": {"typical": 0.1, "max": 0.5},
             "directed": True},
            {"a": "paging-gateway", "b": pager, "latency": {"typical": 0.5, "max": 2.0}, "directed": True},
        ]  # fmt: skip
        members = [f"paging-gateway--{phones}"]
        if stations[(site_name, unit)]:
            station = f"{base}-central-station"
            nodes.append({"id": station, "kind": "central-station", "name": f"{unit} central station",
                          "unit": unit, "processing": 0.2})  # fmt: skip
            links.append({"a": "alarm-server", "b": station, "latency": 0.01, "directed": True})
        unit_alarms: set[str] = set()
        for (s, u, kind), count in sorted(groups.items()):
            if (s, u) != (site_name, unit):
                continue
            label, alarms = labels[kind]
            source = f"{base}-{kind}s"
            nodes.append({"id": source, "kind": "source", "name": f"{unit} {label}", "unit": unit,
                          "processing": 0.5, "failover": {"detection": 3, "retry": 1}})  # fmt: skip
            links.append({"a": source, "b": ap, "medium": "wifi", "latency": {"typical": 0.05, "max": 0.3}})
            members.append(f"{source}--{ap}")
            sources.append({"node": source, "unit": unit, "devices": count, "device_kind": kind,
                            "alarms": list(alarms)})  # fmt: skip
            unit_alarms |= set(alarms)
        rf.append({"id": f"rf-{base}", "kind": "rf", "description": f"Wi-Fi in {unit} (jamming, interference)",
                   "members": members})  # fmt: skip
        for priority in ("high", "medium"):
            types = sorted(t for t in unit_alarms if (t in _HIGH) == (priority == "high"))
            seconds, escalate = _DEFAULT_BUDGETS[priority]
            for alarm in types:
                # one budget per unit name: a department of the same name at two sites shares it (both sites'
                # phones and pagers are its recipients)
                budget = by_key.get((unit, alarm, priority))
                if budget is None:
                    budget = by_key[(unit, alarm, priority)] = {
                        "unit": unit, "alarm": alarm, "priority": priority, "max_delivery": seconds, "primary": [],
                        "rationale": "local-policy default (METHODS.md 5.3): a clinician decides",
                    }  # fmt: skip
                    if escalate is not None:
                        budget |= {"escalation": [], "escalate_after": escalate}
                    budgets.append(budget)
                budget["primary"].append(phones)
                if escalate is not None:
                    budget["escalation"].append(pager)
    document = {"name": "Draft alarm network from the inventory", "nodes": nodes, "links": links, "groups": rf,
                "sources": sources, "budgets": budgets}  # fmt: skip
    header = [
        f"# Drafted by `wardwatch alarms draft` on {datetime.now(UTC):%Y-%m-%d} from the inventory.",
        "# The alarm sources (device groups per unit, with their counts) come from the inventory. Every node named",
        "# '(EDIT)' is a placeholder with cautious latencies: replace it with the real design (access points,",
        "# switches, alarm servers, paging, phones; shared-risk groups; failover times) before trusting a verdict.",
        "# The budgets are local-policy defaults, not approved: a clinician approves them in Wardwatch.",
    ]
    text = "\n".join(header) + "\n" + yaml.safe_dump(document, sort_keys=False, width=120, allow_unicode=True)
    parse_alarm_topology(text, "the draft")  # the draft always reads back
    return text
