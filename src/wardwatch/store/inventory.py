"""Inventory repository: reads and writes devices, their identity keys, facts, interfaces and history.

Functions take an open :class:`~sqlalchemy.Connection` so the service decides the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, insert, select, text, update

from wardwatch.domain.claims import Claim, Provenance
from wardwatch.store.bulk import bulk_insert
from wardwatch.store.schema import (
    claims,
    device_history,
    device_keys,
    devices,
    interfaces,
    sites,
    sources,
    units,
)

#: Attributes stored as columns of ``devices`` (the rest live on units, sites and interfaces).
DEVICE_COLUMNS: tuple[str, ...] = (
    "asset_tag", "serial", "manufacturer", "model", "device_type", "fda_product_code", "fda_class", "os_name",
    "os_version", "firmware_version", "software_version", "criticality", "patient_connected", "handles_phi",
    "high_risk", "owner_team", "lifecycle_status", "in_service_date", "end_of_support", "end_of_life", "location",
)  # fmt: skip
INTERFACE_COLUMNS: tuple[str, ...] = ("mac", "ip", "hostname", "vlan")
CLAIM_COLUMNS = ("device_id", "source_kind", "source_id", "locator", "observed_at", "payload", "digest")
HISTORY_COLUMNS = ("device_id", "attribute", "old_value", "new_value", "source_id", "changed_at")
CHUNK = 2_000


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def load_key_index(connection: Connection) -> dict[str, int]:
    """Every identity key -> device id."""
    rows = connection.execute(select(device_keys.c.kind, device_keys.c.value, device_keys.c.device_id))
    return {f"{kind}:{value}": device_id for kind, value, device_id in rows}


def insert_keys(connection: Connection, rows: Sequence[tuple[str, int]]) -> None:
    """Add identity keys (``kind:value``, device id)."""
    bulk_insert(connection, device_keys, ("kind", "value", "device_id"), [(*k.split(":", 1), d) for k, d in rows])


def site_ids(connection: Connection) -> dict[str, int]:
    """Site name -> id."""
    return {name: id_ for id_, name in connection.execute(select(sites.c.id, sites.c.name))}


def create_site(connection: Connection, name: str, now: datetime) -> int:
    """Add a site and return its id."""
    return int(connection.execute(insert(sites).values(name=name, created_at=now).returning(sites.c.id)).scalar_one())


def unit_ids(connection: Connection) -> dict[tuple[int, str | None, str], int]:
    """(site id, building, department) -> unit id."""
    rows = connection.execute(select(units.c.id, units.c.site_id, units.c.building, units.c.department))
    return {(site, building, department): id_ for id_, site, building, department in rows}


def create_unit(connection: Connection, site_id: int, building: str | None, department: str) -> int:
    """Add a unit and return its id."""
    statement = insert(units).values(site_id=site_id, building=building, department=department).returning(units.c.id)
    return int(connection.execute(statement).scalar_one())


def create_source(connection: Connection, kind: str, name: str, sha256: str | None, now: datetime) -> int:
    """Record an import batch (or another source) and return its id."""
    statement = insert(sources).values(kind=kind, name=name, sha256=sha256, imported_at=now).returning(sources.c.id)
    return int(connection.execute(statement).scalar_one())


def finish_source(connection: Connection, source_id: int, row_count: int, summary: dict[str, Any]) -> None:
    """Store the row count and summary of a finished import."""
    connection.execute(update(sources).where(sources.c.id == source_id).values(row_count=row_count, summary=summary))


def reserve_device_ids(connection: Connection, count: int) -> list[int]:
    """``count`` new device ids: from the PostgreSQL sequence (safe beside other writers), or after the largest
    id on SQLite (the caller's transaction already holds SQLite's write lock)."""
    if count == 0:
        return []
    if connection.dialect.name == "postgresql":
        statement = text("SELECT nextval(pg_get_serial_sequence('devices', 'id')) FROM generate_series(1, :n)")
        return [int(v) for v in connection.execute(statement, {"n": count}).scalars()]
    start = int(connection.execute(select(func.coalesce(func.max(devices.c.id), 0))).scalar_one()) + 1
    return list(range(start, start + count))


def insert_device_rows(connection: Connection, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert devices as tuples in ``columns`` order (ids from :func:`reserve_device_ids`)."""
    bulk_insert(connection, devices, columns, rows)


def insert_devices(connection: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert devices (dicts with every column but ``id``) in bulk and return their new ids in order."""
    ids = reserve_device_ids(connection, len(rows))
    columns = ("id", *rows[0].keys()) if rows else ()
    bulk_insert(connection, devices, columns, [(i, *row.values()) for i, row in zip(ids, rows, strict=True)])
    return ids


def update_devices(connection: Connection, changes: Iterable[tuple[int, dict[str, Any]]]) -> None:
    """Apply column changes, batched by the set of columns they touch."""
    batches: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for device_id, values in changes:
        batches.setdefault(tuple(sorted(values)), []).append({"b_id": device_id, **values})
    for columns, params in batches.items():
        statement = (
            update(devices)
            .where(devices.c.id == bindparam("b_id"))
            .values({c: bindparam(c) for c in columns})
            .execution_options(synchronize_session=False)
        )
        connection.execute(statement, params)


def _payload_param(claim: Claim) -> str:
    return orjson.dumps(claim.to_payload()).decode("utf-8")


def insert_claims(connection: Connection, rows: Sequence[tuple[int, Claim]]) -> None:
    """Insert new claims (device id, claim)."""
    bulk_insert(
        connection,
        claims,
        CLAIM_COLUMNS,
        [
            (device_id, c.source_kind, c.provenance.source_id, c.provenance.locator, c.provenance.observed_at,
             orjson.dumps(c.to_payload()).decode("utf-8"), c.digest())
            for device_id, c in rows
        ],
    )  # fmt: skip


def insert_claim_rows(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert new claims already in row form (:data:`CLAIM_COLUMNS` order, payload as JSON text)."""
    bulk_insert(connection, claims, CLAIM_COLUMNS, rows)


def replace_claims(connection: Connection, rows: Sequence[tuple[int, Claim]]) -> None:
    """Replace existing claims, keyed by (device, source kind)."""
    if not rows:
        return
    statement = (
        update(claims)
        .where(claims.c.device_id == bindparam("b_device"), claims.c.source_kind == bindparam("b_kind"))
        .values(
            source_id=bindparam("source_id"),
            locator=bindparam("locator"),
            observed_at=bindparam("observed_at"),
            payload=bindparam("payload"),
            digest=bindparam("digest"),
        )
    )
    params = [
        {"b_device": device_id, "b_kind": c.source_kind, "source_id": c.provenance.source_id,
         "locator": c.provenance.locator, "observed_at": c.provenance.observed_at,
         "payload": _payload_param(c), "digest": c.digest()}
        for device_id, c in rows
    ]  # fmt: skip
    connection.execute(statement, params)


def load_digests(connection: Connection, ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """The claim digests of the given devices: device id -> source kind -> digest."""
    found: dict[int, dict[str, str]] = {}
    query = select(claims.c.device_id, claims.c.source_kind, claims.c.digest).where(claims.c.device_id.in_(ids))
    for device_id, kind, value in connection.execute(query):
        found.setdefault(device_id, {})[kind] = value
    return found


def load_claims(connection: Connection, ids: Sequence[int]) -> dict[int, dict[str, Claim]]:
    """The claims of the given devices: device id -> source kind -> claim."""
    found: dict[int, dict[str, Claim]] = {}
    query = select(
        claims.c.device_id, claims.c.source_kind, claims.c.source_id, claims.c.locator, claims.c.observed_at,
        claims.c.payload,
    ).where(claims.c.device_id.in_(ids))  # fmt: skip
    for device_id, kind, source_id, locator, observed, payload in connection.execute(query):
        data = orjson.loads(payload)
        claim = Claim.from_payload(kind, Provenance(source_id, locator, aware(observed)), data)
        found.setdefault(device_id, {})[kind] = claim
    return found


def insert_history(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert history rows (in :data:`HISTORY_COLUMNS` order)."""
    bulk_insert(connection, device_history, HISTORY_COLUMNS, rows)


def insert_interfaces(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert interfaces: (device_id, mac, ip, hostname, vlan, source_kind)."""
    bulk_insert(connection, interfaces, ("device_id", "mac", "ip", "hostname", "vlan", "source_kind"), rows)


def update_interfaces(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Update the interface a kind of source recorded for a device (``b_device``, ``b_kind`` + columns)."""
    if not rows:
        return
    statement = (
        update(interfaces)
        .where(interfaces.c.device_id == bindparam("b_device"), interfaces.c.source_kind == bindparam("b_kind"))
        .values({c: bindparam(c) for c in INTERFACE_COLUMNS})
    )
    connection.execute(statement, list(rows))


@dataclass(slots=True)
class DeviceState:
    """What reconciliation needs of a stored device."""

    values: dict[str, str | None]
    """Resolved attribute texts (device columns, site, unit, primary interface)."""
    claims: dict[str, Claim]
    """source kind -> claim."""
    interface_kinds: set[str]
    """Source kinds that recorded an interface for the device."""


def load_states(connection: Connection, ids: Sequence[int]) -> dict[int, DeviceState]:
    """Current values and facts of the given devices (ask for a few thousand at a time)."""
    from wardwatch.domain.reconcile import to_text  # noqa: PLC0415 - keeps store's import surface small

    states: dict[int, DeviceState] = {}
    columns = [devices.c.id, *(devices.c[c] for c in DEVICE_COLUMNS), sites.c.name, units.c.building,
               units.c.department]  # fmt: skip
    query = (
        select(*columns)
        .select_from(
            devices.outerjoin(sites, devices.c.site_id == sites.c.id).outerjoin(units, devices.c.unit_id == units.c.id)
        )
        .where(devices.c.id.in_(ids))
    )
    names = (*DEVICE_COLUMNS, "site", "building", "department")
    for row in connection.execute(query):
        values = {n: (None if v is None else to_text(v)) for n, v in zip(names, row[1:], strict=True)}
        states[row[0]] = DeviceState(values, {}, set())
    query_if = select(interfaces.c.device_id, interfaces.c.source_kind, *(interfaces.c[c] for c in INTERFACE_COLUMNS))
    for device_id, kind, *cells in connection.execute(query_if.where(interfaces.c.device_id.in_(ids))):
        state = states[device_id]
        state.interface_kinds.add(kind)
        if kind == "primary":
            for name, value in zip(INTERFACE_COLUMNS, cells, strict=True):
                state.values[name] = None if value is None else str(value)
    for device_id, by_kind in load_claims(connection, ids).items():
        states[device_id].claims = by_kind
    return states


def device_count(connection: Connection) -> int:
    """Number of devices in the inventory."""
    return int(connection.execute(select(func.count()).select_from(devices)).scalar_one())
