"""Reading the inventory for people and machines, with the permission matrix applied.

The API and the web UI call these; the CLI keeps using ``services.devices`` directly as the local operator.
Every function takes the acting :class:`Principal`, checks the permission it needs, and narrows a clinician to
their unit.  The device listing is built for 200,000 devices: keyset pagination on the id (``after``), the
primary interface of only the page's devices fetched in a second query, and a capped count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, func, or_, select

from wardwatch.domain.permissions import Permission, Principal, allows, require
from wardwatch.services.devices import DeviceFilter, DeviceNotFound, device_detail, find_device_id, seen_clause
from wardwatch.services.search_index import SearchIndex
from wardwatch.store.database import ensure_ready
from wardwatch.store.inventory import aware
from wardwatch.store.schema import (
    conversations,
    devices,
    findings,
    interfaces,
    observations,
    risk_scores,
    sites,
    units,
    vulnerability_findings,
)

__all__ = [
    "COUNT_CAP",
    "SORTS",
    "DevicePage",
    "device_page",
    "device_view",
    "flow_page",
    "network_findings",
    "observation_page",
    "vulnerability_page",
]

_IN_LIMIT = 5_000  # matched ids passed to SQL as a list up to this many; beyond, the LIKE scan stops early anyway
#: Counts stop here: "10,000+" is as useful as an exact figure and keeps a search fast on a large inventory.
COUNT_CAP = 10_000
#: Sortable columns of the device listing.
SORTS: dict[str, Any] = {
    "id": devices.c.id,
    "asset_tag": devices.c.asset_tag,
    "manufacturer": devices.c.manufacturer,
    "model": devices.c.model,
    "device_type": devices.c.device_type,
    "criticality": devices.c.criticality,
    "site": sites.c.name,
    "department": units.c.department,
}
_OPEN_KEV = (
    vulnerability_findings.c.in_kev.is_(True),
    vulnerability_findings.c.suppressed.is_(False),
    vulnerability_findings.c.resolved_at.is_(None),
)
_KEV = (
    select(func.count())
    .where(vulnerability_findings.c.device_id == devices.c.id, *_OPEN_KEV)
    .correlate(devices)
    .scalar_subquery()
    .label("kev")
)  # fmt: skip
SORTS["risk_score"] = risk_scores.c.score
SORTS["kev"] = _KEV
_LIST = (
    devices.c.id, devices.c.asset_tag, sites.c.name.label("site"), units.c.department, devices.c.manufacturer,
    devices.c.model, devices.c.device_type, devices.c.criticality, devices.c.software_version,
    devices.c.end_of_support, risk_scores.c.score.label("risk_score"), risk_scores.c.level.label("risk_level"), _KEV,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DevicePage:
    """One page of a device listing."""

    devices: list[dict[str, Any]]
    """The rows, each with its primary interface (mac, ip, hostname)."""
    total: int
    """How many match, up to :data:`COUNT_CAP`."""
    total_capped: bool
    """True when more than :data:`COUNT_CAP` match."""
    next_after: int | None
    """The ``after`` value of the next page (id order), ``None`` at the end."""


def _capped_count(connection: Connection, query: Select[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    limited = query.with_only_columns(devices.c.id).order_by(None).limit(cap + 1).subquery()
    count = int(connection.execute(select(func.count()).select_from(limited)).scalar_one())
    return min(count, cap), count > cap


def _unit_scope(principal: Principal, query: Select[Any]) -> Select[Any]:
    if principal.unit_scoped:
        return query.where(units.c.department == (principal.unit or ""))
    return query


def _criticality(text: str) -> ColumnElement[bool]:
    """``life-sustaining,life-supporting`` (any of them); ``unknown`` is a device without a criticality."""
    wanted = [c.strip() for c in text.split(",") if c.strip()]
    known = [c for c in wanted if c != "unknown"]
    parts = [devices.c.criticality.in_(known)] if known else []
    if "unknown" in wanted:
        parts.append(devices.c.criticality.is_(None))
    return or_(*parts)


def _simple(criticality: str | None) -> bool:
    return criticality is None or ("," not in criticality and criticality != "unknown")


def _device_filters(query: Select[Any], where: DeviceFilter) -> Select[Any]:
    if where.site:
        query = query.where(func.lower(sites.c.name) == where.site.lower())
    if where.device_type:
        query = query.where(devices.c.device_type == where.device_type)
    if where.criticality:
        query = query.where(_criticality(where.criticality))
    if where.manufacturer:
        query = query.where(func.lower(devices.c.manufacturer) == where.manufacturer.lower())
    if where.seen is not None:
        query = query.where(seen_clause(where.seen))
    for word in (where.search or "").lower().split():  # every word, each in any field
        pattern = f"%{word}%"
        own = (devices.c.asset_tag, devices.c.serial, devices.c.manufacturer, devices.c.model, devices.c.device_type)
        on_wire = devices.c.id.in_(
            select(interfaces.c.device_id).where(
                or_(*(func.lower(c).like(pattern) for c in (interfaces.c.hostname, interfaces.c.ip, interfaces.c.mac)))
            )
        )
        spaced = func.replace(func.lower(devices.c.device_type), "-", " ").like(pattern)
        query = query.where(or_(*(func.lower(c).like(pattern) for c in own), spaced, on_wire))
    return query


def device_page(
    engine: Engine,
    principal: Principal,
    where: DeviceFilter,
    *,
    sort: str = "id",
    descending: bool = False,
    limit: int = 50,
    after: int | None = None,
    offset: int = 0,
    index: SearchIndex | None = None,
) -> DevicePage:
    """A page of devices: keyset (``after``) in id order, ``offset`` for other sorts; needs ``devices:read``.

    With a :class:`SearchIndex` (the server keeps one), a text search is answered from memory and only the
    page is read from the database; without one (the CLI), it is a ``LIKE`` scan.
    """
    require(principal, Permission.DEVICES_READ)
    if sort not in SORTS:
        raise ValueError(f"sort {sort!r} is not one of: {', '.join(SORTS)}")
    ensure_ready(engine)
    joined = (
        devices.outerjoin(sites, devices.c.site_id == sites.c.id)
        .outerjoin(units, devices.c.unit_id == units.c.id)
        .outerjoin(risk_scores, risk_scores.c.device_id == devices.c.id)
    )
    query = _unit_scope(principal, select(*_LIST).select_from(joined))
    if where.search and index is not None and where.seen is None:
        others = replace(where, search=None)
        if sort == "id" and _simple(others.criticality) and not offset:  # from memory; the database reads the page
            filters = {
                name: value
                for name, value in (
                    ("site", others.site), ("device_type", others.device_type), ("criticality", others.criticality),
                    ("manufacturer", others.manufacturer), ("department", principal.unit or ""),
                )
                if value is not None and (name != "department" or principal.unit_scoped)
            }  # fmt: skip
            return _indexed_page(engine, query, index, where.search, filters, limit, after, descending)
        matched = index.matches(where.search)
        if len(matched) <= _IN_LIMIT:
            query, where = query.where(devices.c.id.in_(list(matched))), others
    query = _device_filters(query, where)
    column = SORTS[sort]
    with engine.connect() as connection:
        total, capped = _capped_count(connection, query)
        if sort == "id":
            if after is not None:
                query = query.where(devices.c.id < after if descending else devices.c.id > after)
            query = query.order_by(devices.c.id.desc() if descending else devices.c.id)
            if after is None and offset:
                query = query.offset(offset)
            rows = [dict(r._mapping) for r in connection.execute(query.limit(limit + 1))]
        elif sort in ("risk_score", "kev"):
            rows = _ranked_rows(connection, query, sort, descending, limit + 1, offset)
        else:
            order = column.desc() if descending else column.asc()
            query = query.order_by(order.nulls_last(), devices.c.id).offset(offset)
            rows = [dict(r._mapping) for r in connection.execute(query.limit(limit + 1))]
        more = len(rows) > limit
        rows = rows[:limit]
        primary = _primary_interfaces(connection, [r["id"] for r in rows])
    for row in rows:
        row.update(primary.get(row["id"], {"mac": None, "ip": None, "hostname": None}))
    next_after = rows[-1]["id"] if more and sort == "id" and rows else None
    return DevicePage(rows, total, capped, next_after)


def _ranked_rows(
    connection: Connection, query: Select[Any], sort: str, descending: bool, count: int, offset: int
) -> list[dict[str, Any]]:
    """``count`` rows from ``offset`` sorted on the risk score or KEV count, nulls (no score) last, then by id.

    Only the devices that have the value are sorted on it — none before a risk run, a few hundred with a KEV
    finding — and the rest follow (or, for KEV counts ascending, precede: their count is 0) in id order, which
    the primary key gives without sorting 200,000 rows.  The KEV count is computed only for devices that have one.
    """
    if sort == "risk_score":
        column: Any = risk_scores.c.score
        has = risk_scores.c.device_id.is_not(None)
    else:
        column = _KEV
        has = devices.c.id.in_(select(vulnerability_findings.c.device_id).where(*_OPEN_KEV))
    ranked = query.where(has).order_by(column.desc() if descending else column.asc(), devices.c.id)
    rest = query.where(~has).order_by(devices.c.id)
    parts = [ranked, rest] if descending or sort == "risk_score" else [rest, ranked]
    rows = [dict(r._mapping) for r in connection.execute(parts[0].offset(offset).limit(count))]
    if len(rows) < count:
        if rows or not offset:
            skip = 0
        else:  # the page starts in the second part: skip what of it the offset passes
            passed, _ = _capped_count(connection, parts[0], cap=offset)
            skip = offset - passed
        rows += [dict(r._mapping) for r in connection.execute(parts[1].offset(skip).limit(count - len(rows)))]
    return rows


def _indexed_page(
    engine: Engine, query: Select[Any], index: SearchIndex, text: str, filters: dict[str, str],
    limit: int, after: int | None, descending: bool,
) -> DevicePage:  # fmt: skip
    # The lowest COUNT_CAP + 1 matches answer the capped count and most first pages without scanning on; a page
    # beyond them (or from the end, descending) needs every match.
    matched = index.matches(text, filters, first=COUNT_CAP + 1)
    if len(matched) > COUNT_CAP and (descending or len(SearchIndex.page_after(matched, after, limit + 1)) <= limit):
        matched = index.matches(text, filters)
    page_ids = SearchIndex.page_after(matched, after, limit + 1, descending=descending)
    with engine.connect() as connection:
        found = {r.id: dict(r._mapping) for r in connection.execute(query.where(devices.c.id.in_(page_ids)))}
        primary = _primary_interfaces(connection, page_ids[:limit])
    rows = [found[i] for i in page_ids[:limit] if i in found]
    for row in rows:
        row.update(primary.get(row["id"], {"mac": None, "ip": None, "hostname": None}))
    next_after = rows[-1]["id"] if len(page_ids) > limit and rows else None
    return DevicePage(rows, min(len(matched), COUNT_CAP), len(matched) > COUNT_CAP, next_after)


def _primary_interfaces(connection: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    result: dict[int, dict[str, Any]] = {}
    query = (
        select(interfaces.c.device_id, interfaces.c.mac, interfaces.c.ip, interfaces.c.hostname)
        .where(interfaces.c.device_id.in_(ids))
        .order_by(interfaces.c.id)
    )
    for row in connection.execute(query):
        result.setdefault(row.device_id, {"mac": row.mac, "ip": row.ip, "hostname": row.hostname})
    return result


def _visible_device(engine: Engine, principal: Principal, reference: str) -> int:
    require(principal, Permission.DEVICES_READ)
    device_id = find_device_id(engine, reference)
    if principal.unit_scoped:
        with engine.connect() as connection:
            department = connection.execute(
                select(units.c.department)
                .join(devices, devices.c.unit_id == units.c.id)
                .where(devices.c.id == device_id)
            ).scalar()
        if department != principal.unit:
            raise DeviceNotFound(f"no device has the id, asset tag, serial or MAC {reference!r} in your unit")
    return device_id


def device_view(engine: Engine, principal: Principal, reference: str) -> dict[str, Any]:
    """One device with its evidence; network facts and vulnerability findings only if the role may read them."""
    device_id = _visible_device(engine, principal, reference)
    detail = device_detail(engine, str(device_id))
    if not allows(principal, Permission.OBSERVATIONS_READ):
        detail["findings"], detail["observations"] = [], []
    if not allows(principal, Permission.FLOWS_READ):
        detail["talks_to"] = []
    detail["vulnerabilities"] = (
        vulnerability_page(engine, principal, device_id=device_id, limit=500)[0]
        if allows(principal, Permission.FINDINGS_READ)
        else []
    )
    from wardwatch.services.remediation import items_for_device  # noqa: PLC0415 - services import each other lazily

    detail["remediation"] = items_for_device(engine, principal, device_id)
    return detail


def _aware_times(record: dict[str, Any]) -> dict[str, Any]:
    for name in ("first_seen", "last_seen", "resolved_at"):
        if record.get(name) is not None:
            record[name] = aware(record[name])
    return record


def _scoped_to_unit(principal: Principal, query: Select[Any], device_column: Any) -> Select[Any]:
    if not principal.unit_scoped:
        return query
    in_unit = (
        select(devices.c.id)
        .join(units, devices.c.unit_id == units.c.id)
        .where(units.c.department == (principal.unit or ""))
    )
    return query.where(device_column.in_(in_unit))


def _page(engine: Engine, query: Select[Any], limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    with engine.connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one())
        rows = [_aware_times(dict(r._mapping)) for r in connection.execute(query.limit(limit).offset(offset))]
    return rows, total


def network_findings(
    engine: Engine, principal: Principal, *, kind: str | None = None, device_id: int | None = None,
    limit: int = 100, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """Insecure behaviour seen on the network (SMBv1, PHI in clear, external peers...); ``observations:read``."""
    require(principal, Permission.OBSERVATIONS_READ)
    ensure_ready(engine)
    query: Select[Any] = select(
        findings.c.id, findings.c.device_id, findings.c.kind, findings.c.detail, findings.c.protocol,
        findings.c.locator, findings.c.count, findings.c.first_seen, findings.c.last_seen,
        devices.c.asset_tag, devices.c.manufacturer, devices.c.model,
    ).join(devices, devices.c.id == findings.c.device_id)  # fmt: skip
    if kind:
        query = query.where(findings.c.kind == kind)
    if device_id is not None:
        query = query.where(findings.c.device_id == device_id)
    return _page(engine, query.order_by(findings.c.kind, findings.c.id), limit, offset)


def observation_page(
    engine: Engine, principal: Principal, *, device_id: int | None = None, kind: str | None = None,
    limit: int = 100, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """What discovery saw about devices, each with its first evidence; ``observations:read``."""
    require(principal, Permission.OBSERVATIONS_READ)
    ensure_ready(engine)
    query: Select[Any] = select(
        observations.c.id, observations.c.device_id, observations.c.kind, observations.c.value,
        observations.c.protocol, observations.c.locator, observations.c.count, observations.c.first_seen,
        observations.c.last_seen,
    )  # fmt: skip
    if device_id is not None:
        query = query.where(observations.c.device_id == device_id)
    if kind:
        query = query.where(observations.c.kind == kind)
    return _page(engine, query.order_by(observations.c.id), limit, offset)


def flow_page(
    engine: Engine, principal: Principal, *, device_id: int | None = None, protocol: str | None = None,
    port: int | None = None, limit: int = 100, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """Observed conversations (who talks to whom on which service), largest first; ``flows:read``."""
    require(principal, Permission.FLOWS_READ)
    ensure_ready(engine)
    query = select(conversations)
    if device_id is not None:
        query = query.where(
            or_(conversations.c.client_device_id == device_id, conversations.c.server_device_id == device_id)
        )
    if protocol:
        query = query.where(conversations.c.protocol == protocol)
    if port is not None:
        query = query.where(conversations.c.port == port)
    return _page(engine, query.order_by(conversations.c.bytes.desc(), conversations.c.id), limit, offset)


def vulnerability_page(
    engine: Engine, principal: Principal, *, device_id: int | None = None, kev: bool = False,
    min_cvss: float | None = None, confidence: str | None = None, vulnerability: str | None = None,
    include_resolved: bool = False, limit: int = 100, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """Stored device × vulnerability findings (``vulnerability_findings``), most severe first; ``findings:read``."""
    require(principal, Permission.FINDINGS_READ)
    ensure_ready(engine)
    vf = vulnerability_findings
    query: Select[Any] = select(
        vf.c.id, vf.c.device_id, vf.c.vulnerability_id, vf.c.component_ref, vf.c.source, vf.c.confidence,
        vf.c.vex_status, vf.c.suppressed, vf.c.in_kev, vf.c.epss, vf.c.epss_percentile, vf.c.cvss_score,
        vf.c.cvss_vector, vf.c.first_seen, vf.c.last_seen, vf.c.resolved_at, vf.c.detail,
        devices.c.asset_tag, devices.c.manufacturer, devices.c.model,
    ).join(devices, devices.c.id == vf.c.device_id)  # fmt: skip
    query = _scoped_to_unit(principal, query, vf.c.device_id)
    conditions: list[ColumnElement[bool]] = [vf.c.suppressed.is_(False)]
    if not include_resolved:
        conditions.append(vf.c.resolved_at.is_(None))
    if device_id is not None:
        conditions.append(vf.c.device_id == device_id)
    if kev:
        conditions.append(vf.c.in_kev.is_(True))
    if min_cvss is not None:
        conditions.append(vf.c.cvss_score >= min_cvss)
    if confidence:
        conditions.append(vf.c.confidence == confidence)
    if vulnerability:
        conditions.append(vf.c.vulnerability_id == vulnerability)
    query = query.where(*conditions).order_by(vf.c.in_kev.desc(), vf.c.cvss_score.desc().nulls_last(), vf.c.id)
    rows, total = _page(engine, query, limit, offset)
    for row in rows:
        detail = json.loads(row.pop("detail") or "{}")
        row["advisories"] = list(detail.get("advisories") or [])
        row["remediation"] = list(detail.get("remediation") or [])
    return rows, total
