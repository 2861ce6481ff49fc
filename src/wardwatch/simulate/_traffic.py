"""A day of the sample hospital's network in miniature: ``traffic.pcap`` and the Zeek logs of the same traffic.

The capture point is a trunk carrying every VLAN (frames are 802.1Q-tagged with the device's VLAN id) at the
devices' access side: frames to or from another subnet go through the VLAN's HSRP gateway MAC. The day has
three rounds, each visiting every networked device in :func:`~wardwatch.simulate.iter_devices` order inside
its own time slot:

* **boot** (06:00-06:30 UTC): DHCP DISCOVER/OFFER/REQUEST/ACK through the relay, gratuitous ARP and ARP for
  the gateway, one DNS query to the site's DNS server;
* **work** (08:00-14:00): what the device does: DICOM C-STORE to the PACS (a few over DICOM TLS on 2762),
  HL7 ORU/OUL over MLLP to the interface engine on 2575, HTTP with its User-Agent, TLS with SNI, SMB1
  negotiate, the poller's audit of its own SMB server on 445 (an SMB1 answer from legacy Windows with SMBv1
  on, SMB2/3 from the rest: :func:`~wardwatch.simulate._identity.smb_server_dialect`), answers to SNMP v2c
  ``public`` polls, a telnet banner, and for a couple of devices per site a TLS session to the vendor's
  remote-service cloud on a public address;
* **renew** (18:00-18:30): a unicast DHCP REQUEST/ACK.

Sessions come out in start order and their frames are merged through a small heap, so memory does not grow
with the hospital. Everything is drawn from the hospital's seed: the same hospital gives byte-identical files.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any

from wardwatch.simulate._activity import Activity, Node, SiteNet
from wardwatch.simulate._catalog import load_catalog
from wardwatch.simulate._devices import VLANS, iter_devices
from wardwatch.simulate._identity import DicomIdentity, identity_for
from wardwatch.simulate._model import Hospital, SimDevice
from wardwatch.simulate._pcapwriter import PcapWriter
from wardwatch.simulate._sessions import Host, Session
from wardwatch.simulate._zeekwriter import ZeekLogs

#: First microsecond of the capture: Monday 2025-01-06 06:00 UTC.
CAPTURE_START = int(datetime(2025, 1, 6, 6, 0, tzinfo=UTC).timestamp()) * 1_000_000
_MINUTE = 60 * 1_000_000
#: ``(round, offset from the capture start, length)``.
ROUNDS: tuple[tuple[str, int, int], ...] = (
    ("boot", 0, 30 * _MINUTE),
    ("work", 120 * _MINUTE, 360 * _MINUTE),
    ("renew", 720 * _MINUTE, 30 * _MINUTE),
)
#: How many devices per site reach their vendor's remote-service cloud.
REMOTE_PER_SITE = 2
_SERVER_ROLES = ("dc", "engine", "files", "apps")
#: The archive a hospital without a PACS in its CMMS sends images to: dcm4chee (dcm4che's real UID root).
_OFF_CMMS_PACS = DicomIdentity("scp", "DCM4CHEE", "1.2.40.0.13.1.3", "dcm4che-5.31.0", (), False)


@dataclass(frozen=True, slots=True)
class TrafficResult:
    """What :func:`write_traffic` wrote and what the traffic reveals about each device."""

    paths: list[Path]
    """``traffic.pcap`` then the Zeek logs."""
    packet_count: int
    """Frames in the pcap."""
    capture_end: int
    """Timestamp of the last frame, microseconds."""
    devices: dict[int, dict[str, Any]]
    """Device index -> what the traffic shows about it (see :mod:`wardwatch.simulate._writer`)."""
    infrastructure: list[dict[str, Any]]
    """The services each site's devices talk to."""
    zeek_rows: dict[str, int]
    """Rows per Zeek log."""


def _host(device: SimDevice) -> Host:
    if device.ip is None or device.mac is None or device.hostname is None:  # pragma: no cover - generator invariant
        msg = f"networked device {device.index} lacks an address"
        raise ValueError(msg)
    return Host(device.ip, device.mac, device.hostname, device.vlan)


def _synthetic_server(site_id: int, n: int, vlan: str = "it") -> Host:
    """A server outside the CMMS (locally administered MAC) for a hospital that lists none."""
    return Host(
        f"10.{site_id}.250.{10 + n}", f"02:00:5e:{site_id & 0xFF:02x}:00:{n:02x}", f"srv{n + 1:02d}", VLANS[vlan]
    )


def _infrastructure(hospital: Hospital) -> tuple[dict[int, SiteNet], int, list[dict[str, Any]]]:
    """One pass over the devices: each site's servers and PACS, and the number of networked devices."""
    kinds = {m.key: m.kind for m in load_catalog()}
    servers: dict[int, list[Host]] = {}
    pacs: dict[int, tuple[Host, DicomIdentity]] = {}
    codes = {s.site_id: s.code for s in hospital.sites}
    networked = 0
    for device in iter_devices(hospital):
        if not device.networked:
            continue
        networked += 1
        kind = kinds[device.model_key]
        if kind == "server" and len(servers.setdefault(device.site_id, [])) < len(_SERVER_ROLES):
            servers[device.site_id].append(_host(device))
        elif kind == "pacs" and device.site_id not in pacs:
            identity = identity_for(device, codes[device.site_id], hospital.seed)
            if identity is not None and identity.dicom is not None:
                pacs[device.site_id] = (_host(device), identity.dicom)
    main_servers = servers.get(1) or next(iter(servers.values()), None)
    fallback_pacs = pacs.get(1) or next(iter(pacs.values()), None)
    if fallback_pacs is None:
        fallback_pacs = (_synthetic_server(1, 20, "imaging"), _OFF_CMMS_PACS)
    nets: dict[int, SiteNet] = {}
    described: list[dict[str, Any]] = []
    for site in hospital.sites:
        own = servers.get(site.site_id) or main_servers or [_synthetic_server(site.site_id, 0)]
        roles = [own[i % len(own)] for i in range(len(_SERVER_ROLES))]
        site_pacs = pacs.get(site.site_id, fallback_pacs)
        nets[site.site_id] = SiteNet(
            domain=f"{site.code.lower()}.hospital.example",
            facility=site.code,
            dc=roles[0],
            engine=roles[1],
            files=roles[2],
            apps=roles[3],
            pacs=None if site_pacs is None else site_pacs[0],
            pacs_dicom=None if site_pacs is None else site_pacs[1],
        )
        for role, host in zip((*_SERVER_ROLES, "pacs"), (*roles, nets[site.site_id].pacs), strict=True):
            if host is not None:
                # Synthetic servers (locally administered MACs) are not simulated devices: no CMMS row.
                described.append(
                    {
                        "site_id": site.site_id,
                        "role": role,
                        "ip": host.ip,
                        "mac": host.mac,
                        "hostname": host.hostname,
                        "in_cmms": not host.mac.startswith("02:"),
                    }
                )
    return nets, networked, described


class _Day:
    """Generates the sessions of every round for one hospital."""

    def __init__(self, hospital: Hospital, nets: dict[int, SiteNet], networked: int, tagged: bool) -> None:
        self.hospital = hospital
        self.nets = nets
        self.networked = networked
        self.activity = Activity(hospital.seed, tagged)
        self.nodes: dict[int, dict[str, Any]] = {}
        self._units = {u.unit_id: u.code for u in hospital.units}
        self._codes = {s.site_id: s.code for s in hospital.sites}
        self._remote_used: dict[int, int] = {}
        self.visited = 0

    def _node(self, device: SimDevice) -> Node | None:
        identity = identity_for(device, self._codes[device.site_id], self.hospital.seed)
        if identity is None:
            return None
        node = Node(_host(device), identity, self.nets[device.site_id], self._units[device.unit_id])
        entry = self.nodes.setdefault(device.index, {"protocols": set(), "seen": {}})
        node.protocols, node.seen = entry["protocols"], entry["seen"]
        return node

    def sessions(self) -> Iterator[Session]:
        """Every session of the day, in start order."""
        return chain.from_iterable(self._round(*spec) for spec in ROUNDS)

    def _round(self, name: str, offset: int, length: int) -> Iterator[Session]:
        slot = max(length // max(self.networked, 1), 1_000)
        rank = 0
        for device in iter_devices(self.hospital):
            node = self._node(device) if device.networked else None
            if node is None:
                continue
            rng = random.Random(f"{self.hospital.seed}:{name}:{device.index}")  # noqa: S311 - simulation
            start = CAPTURE_START + offset + rank * length // max(self.networked, 1) + rng.randrange(slot // 4)
            yield from self._plan(name, node, device, start, slot // 2, rng)
            rank += 1
            self.visited += 1

    def _plan(
        self, name: str, node: Node, device: SimDevice, start: int, span: int, rng: random.Random
    ) -> Iterator[Session]:
        """The device's sessions in this round, spread over ``span`` microseconds from ``start``."""
        act = self.activity
        if name == "boot":
            step = span // 3
            yield act.dhcp(node, start, rng)
            yield act.arp(node, start + step)
            query, answer = self._dns_name(node)
            yield act.dns(node, start + 2 * step, rng, query, answer)
            return
        if name == "renew":
            yield act.dhcp(node, start, rng, renew=True)
            return
        builders = [act.dicom, act.pacs_echo, act.hl7, act.http, act.tls, act.smb, act.smb_server, act.snmp, act.telnet]
        remote = self._remote(node, device)
        step = span // (len(builders) + 2)
        for i, build in enumerate(builders):
            session = build(node, start + i * step, rng)
            if session is not None:
                yield session
        if remote is not None:
            session = act.tls(node, start + len(builders) * step, rng, remote)
            if session is not None:
                yield session

    def _remote(self, node: Node, device: SimDevice) -> Host | None:
        ident = node.identity
        if ident.remote_sni is None or ident.remote_address is None:
            return None
        used = self._remote_used.get(device.site_id, 0)
        if used >= REMOTE_PER_SITE:
            return None
        self._remote_used[device.site_id] = used + 1
        return Host(ident.remote_address, "00:00:00:00:00:00", ident.remote_sni, None)

    def _dns_name(self, node: Node) -> tuple[str, str]:
        ident, net = node.identity, node.net
        if ident.remote_sni is not None and ident.remote_address is not None:
            return ident.remote_sni, ident.remote_address
        if ident.tls_service is not None:
            return f"{ident.tls_service}.{net.domain}", net.apps.ip
        if ident.dicom is not None and ident.dicom.role == "scu" and net.pacs is not None:
            return f"pacs.{net.domain}", net.pacs.ip
        if ident.hl7_application is not None:
            return f"hl7.{net.domain}", net.engine.ip
        if ident.smb_dialects is not None:
            return f"files.{net.domain}", net.files.ip
        if ident.user_agent is not None:
            return f"intranet.{net.domain}", net.apps.ip
        return f"ntp.{net.domain}", net.dc.ip


def write_traffic(hospital: Hospital, out_dir: Path, tagged: bool = True) -> TrafficResult:
    """Write ``traffic.pcap`` and ``zeek/*.log`` for ``hospital`` into ``out_dir``; see the module docstring."""
    nets, networked, described = _infrastructure(hospital)
    day = _Day(hospital, nets, networked, tagged)
    zeek = ZeekLogs(out_dir / "zeek", CAPTURE_START)
    pcap_path = out_dir / "traffic.pcap"
    pending: list[tuple[int, int, bytes]] = []
    order = 0
    last = CAPTURE_START
    with pcap_path.open("wb") as handle, PcapWriter(handle) as pcap:
        for session in day.sessions():
            while pending and pending[0][0] <= session.start:
                ts, _, data = heapq.heappop(pending)
                pcap.write((ts, data))
            for ts, data in session.frames:
                heapq.heappush(pending, (ts, order, data))
                order += 1
            for log, values in session.rows:
                zeek.write(log, values)
        while pending:
            last, _, data = heapq.heappop(pending)
            pcap.write((last, data))
        count = pcap.count
    zeek.close(last)
    devices = {index: {"protocols": sorted(entry["protocols"]), **entry["seen"]} for index, entry in day.nodes.items()}
    return TrafficResult([pcap_path, *zeek.paths], count, last, devices, described, dict(zeek.rows))
