"""Reading the inventory: lists with filters, one device with its evidence and history, exports."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, exists, func, or_, select

from wardwatch.domain.values import normalize_ip, normalize_mac
from wardwatch.services.model_security import security_for
from wardwatch.store.database import ensure_ready
from wardwatch.store.inventory import DEVICE_COLUMNS, aware, load_claims
from wardwatch.store.schema import (
    claims,
    conversations,
    device_history,
    device_keys,
    devices,
    findings,
    interfaces,
    observations,
    sites,
    sources,
    units,
)

__all__ = ["DeviceFilter", "DeviceNotFound", "device_detail", "iter_devices", "list_devices", "LIST_COLUMNS"]

#: Columns of a device listing, in order.
LIST_COLUMNS: tuple[str, ...] = (
    "id", "asset_tag", "site", "department", "manufacturer", "model", "device_type", "criticality",
    "mac", "ip", "hostname",
)  # fmt: skip
#: Columns of an export: everything the inventory knows in plain columns.
EXPORT_COLUMNS: tuple[str, ...] = (
    "id", "site", "building", "department", *DEVICE_COLUMNS, "mac", "ip", "hostname", "vlan",
    "created_at", "updated_at",
)  # fmt: skip


class DeviceNotFound(LookupError):
    """No device has the given id, asset tag, serial or MAC."""


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    """Filters of a device listing; ``None`` means no filter."""

    site: str | None = None
    """Site name (exact, case-insensitive)."""
    device_type: str | None = None
    """Device type slug, e.g. ``infusion-pump``."""
    criticality: str | None = None
    """Criticality value, e.g. ``life-sustaining``."""
    search: str | None = None
    """Text found in asset tag, serial, manufacturer, model, host name, IP or MAC."""
    manufacturer: str | None = None
    """Manufacturer (exact, case-insensitive)."""
    seen: str | None = None
    """``unknown``: on the network but not in the CMMS; ``silent``: in the CMMS with an address, never seen."""


def _primary_interface(device_id: int | None = None) -> Any:
    query = select(interfaces.c.device_id, func.min(interfaces.c.id).label("if_id"))
    if device_id is not None:  # SQLite does not push an outer id filter into the grouped subquery
        query = query.where(interfaces.c.device_id == device_id)
    return query.group_by(interfaces.c.device_id).subquery("primary_if")


def _base_query(columns: Sequence[str], device_id: int | None = None) -> Select[Any]:
    primary = _primary_interface(device_id)
    chosen = {
        "id": devices.c.id,
        "site": sites.c.name.label("site"),
        "building": units.c.building,
        "department": units.c.department,
        "mac": interfaces.c.mac,
        "ip": interfaces.c.ip,
        "hostname": interfaces.c.hostname,
        "vlan": interfaces.c.vlan,
        "created_at": devices.c.created_at,
        "updated_at": devices.c.updated_at,
        **{c: devices.c[c] for c in DEVICE_COLUMNS},
    }
    joined = (
        devices.outerjoin(sites, devices.c.site_id == sites.c.id)
        .outerjoin(units, devices.c.unit_id == units.c.id)
        .outerjoin(primary, primary.c.device_id == devices.c.id)
        .outerjoin(interfaces, interfaces.c.id == primary.c.if_id)
    )
    return select(*(chosen[c] for c in columns)).select_from(joined)


SEEN_CHOICES = ("unknown", "silent")


def seen_clause(seen: str) -> ColumnElement[bool]:
    """The one definition of ``unknown`` (seen on the network, not in the CMMS) and ``silent`` (in the CMMS with a
    recorded MAC or IP — so expected on the network — and never seen there), for lists, dashboards and reports."""
    cmms = exists().where(claims.c.device_id == devices.c.id, claims.c.source_kind == "cmms")
    discovered = exists().where(claims.c.device_id == devices.c.id, claims.c.source_kind == "discovery")
    if seen == "unknown":
        return and_(discovered, ~cmms)
    if seen == "silent":
        own = interfaces.alias("addressed_if")  # not the listing's joined primary interface
        addressed = exists().where(own.c.device_id == devices.c.id, or_(own.c.mac.is_not(None), own.c.ip.is_not(None)))
        return and_(cmms, ~discovered, addressed)
    raise ValueError(f"seen {seen!r} is not one of: {', '.join(SEEN_CHOICES)}")


def _filtered(query: Select[Any], where: DeviceFilter) -> Select[Any]:
    if where.site:
        query = query.where(func.lower(sites.c.name) == where.site.lower())
    if where.device_type:
        query = query.where(devices.c.device_type == where.device_type)
    if where.criticality:
        query = query.where(devices.c.criticality == where.criticality)
    if where.manufacturer:
        query = query.where(func.lower(devices.c.manufacturer) == where.manufacturer.lower())
    if where.seen is not None:
        query = query.where(seen_clause(where.seen))
    if where.search:
        pattern = f"%{where.search.lower()}%"
        fields = (devices.c.asset_tag, devices.c.serial, devices.c.manufacturer, devices.c.model,
                  interfaces.c.hostname, interfaces.c.ip, interfaces.c.mac)  # fmt: skip
        query = query.where(or_(*(func.lower(f).like(pattern) for f in fields)))
    return query


def list_devices(
    engine: Engine, where: DeviceFilter, *, limit: int | None = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """A page of devices (dicts of :data:`LIST_COLUMNS`) and the total that match."""
    ensure_ready(engine)
    query = _filtered(_base_query(LIST_COLUMNS), where)
    with engine.connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        page = query.order_by(devices.c.id).offset(offset)
        if limit is not None:
            page = page.limit(limit)
        rows = [dict(r._mapping) for r in connection.execute(page)]
    return rows, total


def iter_devices(
    engine: Engine, where: DeviceFilter, columns: Sequence[str] = EXPORT_COLUMNS
) -> Iterator[dict[str, Any]]:
    """Every matching device as a dict of ``columns``, streamed in id order (for exports)."""
    ensure_ready(engine)
    query = _filtered(_base_query(columns), where).order_by(devices.c.id)
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=5_000).execute(query)
        for row in result:
            record = dict(row._mapping)
            for name in ("created_at", "updated_at"):
                if record.get(name) is not None:
                    record[name] = aware(record[name])
            yield record


def find_device_id(engine: Engine, reference: str) -> int:
    """The id of the device named by an id, asset tag, MAC, IP or serial; raise :class:`DeviceNotFound`."""
    ensure_ready(engine)
    text = reference.strip()
    with engine.connect() as connection:
        if text.isdigit():
            found = connection.execute(select(devices.c.id).where(devices.c.id == int(text))).scalar()
            if found is not None:
                return int(found)
        candidates = [("tag", text.upper().replace(" ", ""))]
        try:
            mac = normalize_mac(text)
        except ValueError:
            mac = None
        if mac:
            candidates.append(("mac", mac))
        for kind, value in candidates:
            found = connection.execute(
                select(device_keys.c.device_id).where(device_keys.c.kind == kind, device_keys.c.value == value)
            ).scalar()
            if found is not None:
                return int(found)
        try:
            ip = normalize_ip(text)
        except ValueError:
            ip = None
        if ip:
            owners = set(connection.execute(select(interfaces.c.device_id).where(interfaces.c.ip == ip)).scalars())
            owners |= set(
                connection.execute(
                    select(device_keys.c.device_id).where(device_keys.c.kind == "ip", device_keys.c.value == ip)
                ).scalars()
            )
            if len(owners) == 1:
                return int(next(iter(owners)))
            if len(owners) > 1:
                raise DeviceNotFound(
                    f"several devices have the IP {ip} ({', '.join(map(str, sorted(owners)))}); use an id"
                )
        serial = text.upper().replace(" ", "")
        found = connection.execute(
            select(device_keys.c.device_id).where(device_keys.c.kind == "sn", device_keys.c.value.like(f"%|{serial}"))
        ).first()
        if found is not None:
            return int(found[0])
    raise DeviceNotFound(f"no device has the id, asset tag, serial or MAC {reference!r}")


def _evidence(connection: Connection, device_id: int) -> list[dict[str, Any]]:
    """Every claimed value of a device with its source: the answer to "why does Wardwatch think so?"."""
    claims = load_claims(connection, [device_id]).get(device_id, {})
    facts: list[dict[str, Any]] = []
    for kind, claim in claims.items():
        for attribute, claimed in claim.values.items():
            provenance = claim.provenance_of(attribute)
            facts.append({
                "attribute": attribute, "value": claimed.value, "source_kind": kind,
                "confidence": claimed.confidence, "observed_at": provenance.observed_at,
                "locator": provenance.locator, "source_id": provenance.source_id,
            })  # fmt: skip
    wanted = select(sources.c.id, sources.c.name).where(sources.c.id.in_({f["source_id"] for f in facts}))
    names = {row.id: row.name for row in connection.execute(wanted)}
    for fact in facts:
        fact["source"] = names.get(fact["source_id"])
    return sorted(facts, key=lambda f: (f["attribute"], -f["confidence"], f["source_kind"]))


def _seen_rows(connection: Connection, table: Any, text: Any, device_id: int) -> Any:
    """A device's discovery findings or observations (kind, text, protocol, where, count, when, source)."""
    return connection.execute(
        select(
            table.c.kind,
            text,
            table.c.protocol,
            table.c.locator,
            table.c.count,
            table.c.first_seen,
            table.c.last_seen,
            sources.c.name.label("source"),
        )  # fmt: skip
        .join(sources, sources.c.id == table.c.source_id)
        .where(table.c.device_id == device_id)
        .order_by(table.c.kind, table.c.id)
    )


def _network(connection: Connection, device_id: int) -> dict[str, Any]:
    """What discovery saw of a device: findings, observations and its communication baseline."""
    found = _seen_rows(connection, findings, findings.c.detail, device_id)
    seen = _seen_rows(connection, observations, observations.c.value, device_id)
    talk = connection.execute(
        select(conversations)
        .where(or_(conversations.c.client_device_id == device_id, conversations.c.server_device_id == device_id))
        .order_by(conversations.c.bytes.desc())
        .limit(200)
    )
    peers = []
    for row in talk:
        outbound = row.client_device_id == device_id
        peers.append({
            "direction": "to" if outbound else "from",
            "peer": row.server_ip if outbound else row.client_ip,
            "peer_device": row.server_device_id if outbound else row.client_device_id,
            "transport": row.transport, "port": row.port, "protocol": row.protocol,
            "packets": row.packets, "bytes": row.bytes,
            "first_seen": aware(row.first_seen), "last_seen": aware(row.last_seen),
        })  # fmt: skip

    def rows(result: Any) -> list[dict[str, Any]]:
        out = []
        for row in result:
            record = dict(row._mapping)
            record["first_seen"], record["last_seen"] = aware(record["first_seen"]), aware(record["last_seen"])
            out.append(record)
        return out

    return {"findings": rows(found), "observations": rows(seen), "talks_to": peers}


def device_detail(engine: Engine, reference: str) -> dict[str, Any]:
    """One device: its attributes, interfaces, identity keys, evidence (facts with sources) and history."""
    device_id = find_device_id(engine, reference)
    query = _base_query(EXPORT_COLUMNS, device_id).where(devices.c.id == device_id)
    with engine.connect() as connection:
        row = connection.execute(query).one()
        detail: dict[str, Any] = dict(row._mapping)
        for name in ("created_at", "updated_at"):
            detail[name] = aware(detail[name])
        detail["interfaces"] = [
            dict(r._mapping)
            for r in connection.execute(
                select(
                    interfaces.c.mac,
                    interfaces.c.ip,
                    interfaces.c.hostname,
                    interfaces.c.vlan,
                    interfaces.c.source_kind,
                )  # fmt: skip
                .where(interfaces.c.device_id == device_id)
                .order_by(interfaces.c.id)
            )
        ]
        detail["identifiers"] = [
            f"{k}:{v}"
            for k, v in connection.execute(
                select(device_keys.c.kind, device_keys.c.value)
                .where(device_keys.c.device_id == device_id)
                .order_by(device_keys.c.kind, device_keys.c.value)
            )
        ]
        detail["evidence"] = _evidence(connection, device_id)
        detail.update(_network(connection, device_id))
        history = (
            select(
                device_history.c.changed_at,
                device_history.c.attribute,
                device_history.c.old_value,
                device_history.c.new_value,
                sources.c.name.label("source"),
            )  # fmt: skip
            .outerjoin(sources, sources.c.id == device_history.c.source_id)
            .where(device_history.c.device_id == device_id)
            .order_by(device_history.c.id)
        )
        detail["history"] = [
            {**dict(r._mapping), "changed_at": aware(r.changed_at)} for r in connection.execute(history)
        ]
        form = security_for(connection, detail.get("manufacturer"), detail.get("model"))
        detail["security"] = form.as_dict() if form is not None else None
    return detail
