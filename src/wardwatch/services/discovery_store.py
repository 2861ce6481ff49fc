"""Storing what discovery found: devices reconciled with the inventory, plus evidence, findings, conversations.

Each discovered device is matched to the inventory by MAC (the identity index), else by an IP that only one
inventory device has; matched devices get a ``discovery`` claim (IP, host name, OS, vendor...), unmatched ones
become devices of their own — the *unknown* devices (seen on the network, not in the CMMS).  Storing the same
capture twice changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from wardwatch.domain.candidates import Value
from wardwatch.domain.observations import Conversation, Finding, Observation
from wardwatch.services.inventory_import import ImportReport, InventoryWriter
from wardwatch.store import inventory as repo
from wardwatch.store.database import ensure_ready
from wardwatch.store.schema import conversations, findings, interfaces, observations, sources

__all__ = ["DiscoveredRecord", "StoreReport", "store_discovery"]


@dataclass(frozen=True, slots=True)
class DiscoveredRecord:
    """One device as discovery describes it, ready to reconcile (see ``services.inventory_import.Incoming``)."""

    locators: tuple[str, ...]
    """Where it was seen first (``capture.pcap packet 12``)."""
    keys: tuple[str, ...]
    """Identity keys: ``mac:…`` (strong) or ``ip:…`` (for devices seen only by address)."""
    values: Mapping[str, Value]
    """Attribute values for a new device's columns."""
    claims: dict[str, dict[str, tuple[str, float]]]
    """``{"discovery": {attribute: (text, confidence)}}``."""
    observations: Sequence[Observation] = ()
    """The evidence."""
    findings: Sequence[Finding] = ()
    """Insecure behaviour seen."""
    site: str | None = None
    """Site (from the sensor), if known."""


@dataclass(slots=True)
class StoreReport:
    """What storing a discovery run did."""

    source_id: int | None = None
    """The discovery source record; ``None`` when the capture was already stored."""
    already_stored: bool = False
    """True when these exact files were stored before (nothing written)."""
    matched: int = 0
    """Discovered devices that matched inventory devices."""
    created: int = 0
    """Unknown devices added to the inventory."""
    changed_values: int = 0
    """Inventory values that changed."""
    observations: int = 0
    """Distinct observations written or updated."""
    findings: int = 0
    """Distinct findings written or updated."""
    conversations: int = 0
    """Conversations written or updated."""
    device_ids: dict[str, int] = field(default_factory=dict)
    """Endpoint key -> inventory device id."""


def store_discovery(
    engine: Engine,
    name: str,
    sha256: str,
    records: Sequence[DiscoveredRecord],
    talk: Iterable[Conversation],
) -> StoreReport:
    """Reconcile discovered devices with the inventory and store their evidence, in one transaction."""
    ensure_ready(engine)
    report = StoreReport()
    now = datetime.now(UTC)
    with engine.begin() as connection:
        seen = connection.execute(
            select(func.count()).select_from(sources).where(sources.c.kind == "discovery", sources.c.sha256 == sha256)
        ).scalar_one()
        if seen:
            report.already_stored = True
            return report
        source_id = repo.create_source(connection, "discovery", name, sha256, now)
        report.source_id = source_id
        records = _match_by_ip(connection, records)
        writer_report = ImportReport(name, dry_run=False)
        writer = InventoryWriter(connection, now, writer_report, 0, None, claims_of=lambda r: r.claims)
        writer.apply(source_id, records)
        report.created = writer_report.created
        report.matched = writer_report.updated + writer_report.unchanged
        report.changed_values = writer_report.change_count
        key_index = repo.load_key_index(connection)
        for record in records:
            device_id = next((key_index[k] for k in record.keys if k in key_index), None)
            if device_id is not None:
                report.device_ids[record.keys[0]] = device_id
        _store_evidence(connection, source_id, records, report)
        _store_conversations(connection, talk, key_index, report)
        repo.finish_source(connection, source_id, len(records), {"created": report.created, "matched": report.matched})
    return report


def _match_by_ip(connection: Connection, records: Sequence[DiscoveredRecord]) -> list[DiscoveredRecord]:
    """Link a discovered device whose identifiers the inventory does not know to the one inventory device recorded
    with its IP (else its host name) — the CMMS often has the address but not the MAC.  Never to a device whose
    recorded MAC is a different one."""
    key_index = repo.load_key_index(connection)
    unmatched = [r for r in records if not any(k in key_index for k in r.keys)]
    if not unmatched:
        return list(records)
    owners: dict[tuple[str, str], set[int]] = {}
    rows = connection.execute(select(interfaces.c.ip, interfaces.c.hostname, interfaces.c.device_id))
    for ip, hostname, device_id in rows:
        if ip:
            owners.setdefault(("ip", ip), set()).add(device_id)
        if hostname:
            owners.setdefault(("hostname", hostname.lower()), set()).add(device_id)
    keys_by_device: dict[int, list[str]] = {}
    for key, device_id in key_index.items():
        keys_by_device.setdefault(device_id, []).append(key)
    linked: dict[int, DiscoveredRecord] = {}
    for record in unmatched:
        own_macs = {k for k in record.keys if k.startswith("mac:")}
        for by in ("ip", "hostname"):
            value = record.values.get(by)
            found = owners.get((by, str(value).lower() if by == "hostname" else str(value)), set())
            if len(found) != 1:
                continue
            device_id = next(iter(found))
            theirs = keys_by_device.get(device_id, [])
            their_macs = {k for k in theirs if k.startswith("mac:")}
            if not theirs or (own_macs and their_macs and not own_macs & their_macs):
                break
            linked[id(record)] = dataclasses.replace(record, keys=(theirs[0], *record.keys))
            break
    return [linked.get(id(r), r) for r in records]


def _store_evidence(
    connection: Connection, source_id: int, records: Sequence[DiscoveredRecord], report: StoreReport
) -> None:
    existing_obs = {
        (d, k, v): (i, c)
        for i, d, k, v, c in connection.execute(
            select(
                observations.c.id,
                observations.c.device_id,
                observations.c.kind,
                observations.c.value,
                observations.c.count,
            )  # fmt: skip
        )
    }
    existing_findings = {
        (d, k, t): (i, c)
        for i, d, k, t, c in connection.execute(
            select(findings.c.id, findings.c.device_id, findings.c.kind, findings.c.detail, findings.c.count)
        )
    }
    new_obs: dict[tuple[int, str, str], dict[str, Any]] = {}
    new_findings: dict[tuple[int, str, str], dict[str, Any]] = {}
    bumps: dict[int, tuple[int, datetime]] = {}
    finding_bumps: dict[int, tuple[int, datetime]] = {}
    for record in records:
        device_id = report.device_ids.get(record.keys[0])
        if device_id is None:
            continue
        for item in record.observations:
            key = (device_id, item.kind.value, item.value)
            _collect(key, item.seen_at, existing_obs, bumps, new_obs, {
                "device_id": device_id, "kind": item.kind.value, "value": item.value,
                "protocol": item.evidence.protocol, "source_id": source_id, "locator": item.evidence.locator,
                "detail": item.evidence.detail,
            })  # fmt: skip
        for finding in record.findings:
            key = (device_id, finding.kind.value, finding.detail)
            _collect(key, finding.seen_at, existing_findings, finding_bumps, new_findings, {
                "device_id": device_id, "kind": finding.kind.value, "detail": finding.detail,
                "protocol": finding.evidence.protocol, "source_id": source_id, "locator": finding.evidence.locator,
            })  # fmt: skip
    _write(connection, observations, new_obs, bumps)
    _write(connection, findings, new_findings, finding_bumps)
    report.observations = len(new_obs) + len(bumps)
    report.findings = len(new_findings) + len(finding_bumps)


def _collect(
    key: tuple[int, str, str],
    seen_at: datetime,
    existing: Mapping[tuple[int, str, str], tuple[int, int]],
    bumps: dict[int, tuple[int, datetime]],
    new: dict[tuple[int, str, str], dict[str, Any]],
    row_if_new: dict[str, Any],
) -> None:
    found = existing.get(key)
    if found is not None:
        count, last = bumps.get(found[0], (found[1], seen_at))
        bumps[found[0]] = (count + 1, max(last, seen_at))
        return
    row = new.get(key)
    if row is None:
        new[key] = {**row_if_new, "first_seen": seen_at, "last_seen": seen_at, "count": 1}
    else:
        row["count"] += 1
        row["first_seen"] = min(row["first_seen"], seen_at)
        row["last_seen"] = max(row["last_seen"], seen_at)


def _write(connection: Connection, table: Any, new: Mapping[Any, dict[str, Any]], bumps: Mapping[int, Any]) -> None:
    if new:
        connection.execute(table.insert(), list(new.values()))
    for row_id, (count, last) in bumps.items():
        connection.execute(table.update().where(table.c.id == row_id).values(count=count, last_seen=last))


def _store_conversations(
    connection: Connection, talk: Iterable[Conversation], key_index: Mapping[str, int], report: StoreReport
) -> None:
    def device(mac: str | None, ip: str | None) -> int | None:
        for key in (f"mac:{mac}" if mac else None, f"ip:{ip}" if ip else None):
            if key is not None and key in key_index:
                return key_index[key]
        return None

    existing = {
        (c, s, t, p): (i, packets, size, first, last)
        for i, c, s, t, p, packets, size, first, last in connection.execute(
            select(
                conversations.c.id,
                conversations.c.client_ip,
                conversations.c.server_ip,
                conversations.c.transport,
                conversations.c.port,
                conversations.c.packets,
                conversations.c.bytes,
                conversations.c.first_seen,
                conversations.c.last_seen,
            )  # fmt: skip
        )
    }
    inserts: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    for item in talk:
        if not item.client.ip or not item.server.ip:
            continue
        key = (item.client.ip, item.server.ip, item.transport, item.port or 0)
        found = existing.get(key)
        if found is not None:
            row_id, packets, size, _first, _last = found
            connection.execute(
                conversations.update()
                .where(conversations.c.id == row_id)
                .values(packets=packets + item.packets, bytes=size + item.bytes, last_seen=item.last_seen)
            )
            report.conversations += 1
            continue
        row = inserts.get(key)
        if row is not None:
            row["packets"] += item.packets
            row["bytes"] += item.bytes
            row["last_seen"] = max(row["last_seen"], item.last_seen)
            continue
        inserts[key] = {
            "client_ip": item.client.ip, "server_ip": item.server.ip, "transport": item.transport,
            "port": item.port or 0, "protocol": item.protocol, "packets": item.packets, "bytes": item.bytes,
            "first_seen": item.first_seen, "last_seen": item.last_seen,
            "client_device_id": device(item.client.mac, item.client.ip),
            "server_device_id": device(item.server.mac, item.server.ip),
        }  # fmt: skip
    if inserts:
        connection.execute(conversations.insert(), list(inserts.values()))
    report.conversations += len(inserts)
