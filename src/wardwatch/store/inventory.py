"""Inventory repository: reads and writes devices, their identity keys, facts, interfaces and history.

Functions take an open :class:`~sqlalchemy.Connection` so the service decides the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from wardwatch.domain.reconcile import StoredFact
from wardwatch.store.bulk import bulk_insert
from wardwatch.store.schema import (
    device_history,
    device_keys,
    devices,
    facts,
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
FACT_COLUMNS = (
    "device_id",
    "attribute",
    "source_kind",
    "value",
    "source_id",
    "locator",
    "confidence",
    "observed_at",
)
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


def insert_devices(connection: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert devices (dicts with every column) and return their ids in order."""
    ids: list[int] = []
    statement = insert(devices).returning(devices.c.id, sort_by_parameter_order=True)
    for start in range(0, len(rows), 5_000):
        ids.extend(connection.execute(statement, list(rows[start : start + 5_000])).scalars())
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


def insert_facts(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert fact rows (in :data:`FACT_COLUMNS` order)."""
    bulk_insert(connection, facts, FACT_COLUMNS, rows)


def replace_facts(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Replace the value of existing facts, keyed by (device, attribute, source kind)."""
    if not rows:
        return
    statement = (
        update(facts)
        .where(
            facts.c.device_id == bindparam("b_device"),
            facts.c.attribute == bindparam("b_attribute"),
            facts.c.source_kind == bindparam("b_kind"),
        )
        .values(
            value=bindparam("value"),
            source_id=bindparam("source_id"),
            locator=bindparam("locator"),
            confidence=bindparam("confidence"),
            observed_at=bindparam("observed_at"),
        )
    )
    connection.execute(statement, list(rows))


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
    facts: dict[str, dict[str, StoredFact]]
    """attribute -> source kind -> fact."""
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
        if kind == "cmms" or not any(state.values.get(c) for c in INTERFACE_COLUMNS):
            for name, value in zip(INTERFACE_COLUMNS, cells, strict=True):
                state.values[name] = None if value is None else str(value)
    query_facts = select(
        facts.c.device_id, facts.c.attribute, facts.c.source_kind, facts.c.value, facts.c.confidence,
        facts.c.observed_at,
    ).where(facts.c.device_id.in_(ids))  # fmt: skip
    for device_id, attribute, kind, value, confidence, observed in connection.execute(query_facts):
        states[device_id].facts.setdefault(attribute, {})[kind] = StoredFact(value, confidence, aware(observed))
    return states


def device_count(connection: Connection) -> int:
    """Number of devices in the inventory."""
    return int(connection.execute(select(func.count()).select_from(devices)).scalar_one())
