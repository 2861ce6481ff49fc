"""The hospital's network model: its configuration files stored and read back, and the hosts and observed flows
the network analyses run on (from the inventory, discovery and vulnerability findings).

``import_network`` reads every file first (``ingest.network_files.read_network``: a bad line fails with its file and
line number before anything is stored), then replaces the stored set (table ``network_files``, the files' text
with their names and order) in one transaction: the model is always the last complete import, and it travels with
the database (every worker of a deployment reads the same model).  Rules are evaluated file by file, as given.
"""

from __future__ import annotations

import hashlib
import ipaddress
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select

from wardwatch.domain.netmodel import HostFacts, NetworkModel, ObservedFlow
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.network_files import detect_network_kind, read_network
from wardwatch.store.database import ensure_ready
from wardwatch.store.schema import (
    conversations,
    devices,
    findings,
    interfaces,
    network_files,
    sites,
    units,
    vulnerability_findings,
)

__all__ = [
    "NetworkImport",
    "StoredNetworkFile",
    "import_network",
    "load_flows",
    "load_hosts",
    "load_model",
    "stored_network_files",
]

_CLOSED_VEX = ("not_affected", "fixed")
#: Weakness kinds from discovery that an attacker can use over the network (attack paths read them).
NETWORK_WEAKNESSES = frozenset({"smbv1", "cleartext_credentials", "telnet", "ftp", "snmp_default_community"})


@dataclass(frozen=True, slots=True)
class StoredNetworkFile:
    """One file of the stored model."""

    position: int
    kind: str
    original: str
    sha256: str
    imported_at: datetime


@dataclass(frozen=True, slots=True)
class NetworkImport:
    """What ``network import`` did."""

    files: tuple[StoredNetworkFile, ...]
    zones: int
    rules: int
    default_action: str
    changed: bool
    """False when the same files in the same order were already the model."""
    bindings: int = 0
    """ACLs bound to an interface and direction (enforcement points)."""
    devices: int = 0
    """Routers, switches and firewalls whose bindings were placed by their routes."""
    notes: tuple[str, ...] = ()
    """What the readers skipped or approximated."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "files": [{"file": f.original, "kind": f.kind, "sha256": f.sha256} for f in self.files],
            "zones": self.zones,
            "rules": self.rules,
            "default_action": self.default_action,
            "changed": self.changed,
            "bindings": self.bindings,
            "devices": self.devices,
            "notes": list(self.notes),
        }


def import_network(engine: Engine, paths: Sequence[str | Path]) -> NetworkImport:
    """Check every file, then store them as the network model (replacing the previous set) in one transaction."""
    ensure_ready(engine)
    files = [Path(p) for p in paths]
    if not files:
        raise IngestError("network import", "was given no files", tip="give a zones YAML and firewall configs")
    kinds = []
    for path in files:
        if not path.is_file():
            raise IngestError(str(path), "does not exist", tip="check the path")
        kind = detect_network_kind(path)
        if kind is None:
            raise IngestError(str(path), "is not a network model YAML, an iptables-save file or a Cisco config",
                              tip="see docs/network.md, Formats")  # fmt: skip
        kinds.append(kind)
    model = read_network(files)  # every file parsed: a bad line stops here, before anything is stored
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for position, (path, kind) in enumerate(zip(files, kinds, strict=True)):
        data = path.read_bytes()
        rows.append({
            "position": position, "kind": kind, "original": path.name[:300],
            "sha256": hashlib.sha256(data).hexdigest(), "content": data.decode("utf-8"), "imported_at": now,
        })  # fmt: skip
    before = [(f.original, f.sha256) for f in stored_network_files(engine)]
    changed = before != [(r["original"], r["sha256"]) for r in rows]
    if changed:
        with engine.begin() as connection:
            connection.execute(delete(network_files))
            connection.execute(network_files.insert(), rows)
    stored = tuple(stored_network_files(engine))
    return NetworkImport(stored, len(model.zones), len(model.rules), model.default_action, changed,
                         len(model.points), len(model.devices), model.notes)  # fmt: skip


def stored_network_files(engine: Engine) -> list[StoredNetworkFile]:
    """The stored model's files in evaluation order (without their content)."""
    ensure_ready(engine)
    nf = network_files.c
    with engine.connect() as connection:
        rows = connection.execute(
            select(nf.position, nf.kind, nf.original, nf.sha256, nf.imported_at).order_by(nf.position)
        )
        return [StoredNetworkFile(r.position, r.kind, r.original, r.sha256, r.imported_at) for r in rows]


def load_model(engine: Engine) -> NetworkModel | None:
    """The stored network model (read again from the stored files), or ``None`` when none was imported."""
    ensure_ready(engine)
    nf = network_files.c
    with engine.connect() as connection:
        rows = connection.execute(select(nf.position, nf.original, nf.content).order_by(nf.position)).all()
    if not rows:
        return None
    with tempfile.TemporaryDirectory(prefix="wardwatch-network-") as folder:
        paths = []
        for position, original, content in rows:
            # one folder per file keeps its own name, which the rules' evidence cites ("core-fw.iptables:42")
            target = Path(folder) / str(position) / (Path(original).name or "network.txt")
            target.parent.mkdir()
            target.write_text(content, encoding="utf-8")
            paths.append(target)
        return read_network(paths)


def load_hosts(engine: Engine) -> list[HostFacts]:
    """Every device with an address, as the network analyses need it.

    ``services``: what it was seen serving (server side of a conversation); ``vulnerabilities``: its open findings
    with a network or adjacent attack vector (CVSS AV:N/AV:A), plus the discovery weaknesses an attacker can use
    over the network (:data:`NETWORK_WEAKNESSES`, e.g. ``smbv1``, ``cleartext_credentials``).
    """
    ensure_ready(engine)
    addresses: dict[int, list[str]] = defaultdict(list)
    services: dict[int, set[tuple[str, int]]] = defaultdict(set)
    weaknesses: dict[int, set[str]] = defaultdict(set)
    vulns: dict[int, set[str]] = defaultdict(set)
    vf = vulnerability_findings.c
    with engine.connect() as connection:
        for device_id, ip in connection.execute(
            select(interfaces.c.device_id, interfaces.c.ip)
            .where(interfaces.c.ip.is_not(None))
            .order_by(interfaces.c.device_id, interfaces.c.id)
        ):
            if ip not in addresses[device_id]:
                addresses[device_id].append(ip)
        for device_id, transport, port in connection.execute(
            select(conversations.c.server_device_id, conversations.c.transport, conversations.c.port)
            .where(conversations.c.server_device_id.is_not(None))
            .distinct()
        ):
            services[device_id].add((transport, int(port)))
        for device_id, kind in connection.execute(
            select(findings.c.device_id, findings.c.kind).where(findings.c.kind.in_(NETWORK_WEAKNESSES)).distinct()
        ):
            weaknesses[device_id].add(kind)
        network_vector = vf.cvss_vector.like("%AV:N%") | vf.cvss_vector.like("%AV:A%")
        for device_id, vulnerability_id in connection.execute(
            select(vf.device_id, vf.vulnerability_id)
            .where(vf.resolved_at.is_(None), vf.suppressed.is_(False), network_vector)
            .where(vf.vex_status.is_(None) | vf.vex_status.not_in(_CLOSED_VEX))
            .distinct()
        ):
            vulns[device_id].add(vulnerability_id)
        rows = connection.execute(
            select(devices.c.id, devices.c.asset_tag, devices.c.manufacturer, devices.c.model, devices.c.device_type,
                   devices.c.criticality, devices.c.os_name, devices.c.os_version, units.c.department,
                   sites.c.name.label("site"))
            .select_from(devices.outerjoin(units, devices.c.unit_id == units.c.id)
                         .outerjoin(sites, devices.c.site_id == sites.c.id))
            .order_by(devices.c.id)
        ).all()  # fmt: skip
    hosts: list[HostFacts] = []
    for row in rows:
        ips = addresses.get(row.id)
        if not ips:
            continue
        name = row.asset_tag or " ".join(x for x in (row.manufacturer, row.model) if x) or f"device {row.id}"
        hosts.append(
            HostFacts(
                address=ips[0],
                device_id=row.id,
                name=name,
                device_type=row.device_type,
                criticality=row.criticality,
                os=" ".join(x for x in (row.os_name, row.os_version) if x) or None,
                services=tuple(sorted(services.get(row.id, ()))),
                vulnerabilities=tuple(sorted(vulns.get(row.id, set()) | weaknesses.get(row.id, set()))),
                smbv1="smbv1" in weaknesses.get(row.id, ()),
                unit=row.department,
                site=row.site,
                extra_addresses=tuple(ips[1:]),
            )
        )
    return hosts


def load_flows(engine: Engine) -> list[ObservedFlow]:
    """The observed baseline: one flow per (client, server, transport, port) seen by discovery, without the ends no
    rule can concern (DHCP's 0.0.0.0 -> 255.255.255.255, multicast, link-local)."""
    ensure_ready(engine)
    c = conversations.c
    with engine.connect() as connection:
        rows = connection.execute(
            select(c.client_ip, c.server_ip, c.transport, c.port, func.max(c.protocol), func.sum(c.packets))
            .group_by(c.client_ip, c.server_ip, c.transport, c.port)
            .order_by(c.client_ip, c.server_ip, c.transport, c.port)
        ).all()
    return [ObservedFlow(client, server, transport, int(port), protocol, int(packets or 0))
            for client, server, transport, port, protocol, packets in rows
            if _routable(client) and _routable(server)]  # fmt: skip


def _routable(address: str) -> bool:
    """Whether a flow end is a host a firewall could route to (not 0.0.0.0, broadcast, multicast, link-local)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    broadcast = ip.version == 4 and int(ip) == 0xFFFFFFFF
    return not (ip.is_unspecified or ip.is_multicast or ip.is_link_local or ip.is_loopback or broadcast)
