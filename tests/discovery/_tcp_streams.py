"""Reassemble the TCP streams of a small fixture pcap into :class:`Payload` objects (tests only, via dpkt).

The production reader is ``wardwatch.ingest.pcap``; the dissector tests stay independent of it on purpose.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dpkt

from wardwatch.discovery._base import Payload
from wardwatch.domain.observations import Endpoint

PCAPS = Path(__file__).parent.parent / "fixtures" / "pcap"
_LIMIT = 8192  # the flow table hands dissectors at most the first 8 KiB of each direction


@dataclass
class _Direction:
    source: tuple[str, int]
    destination: tuple[str, int]
    from_client: bool
    isn: int | None = None
    segments: dict[int, bytes] = field(default_factory=dict)
    first: tuple[int, float] | None = None  # (packet number, timestamp) of the first data byte


def _mac(raw: bytes) -> str | None:
    return None if raw == bytes(6) else ":".join(f"{b:02x}" for b in raw)


def streams(name: str, *, tls: bool = False) -> list[Payload]:
    """One payload per direction with data, in the order their first data packet appears."""
    directions: dict[tuple[str, int, str, int], _Direction] = {}
    macs: dict[str, str | None] = {}
    with (PCAPS / name).open("rb") as handle:
        for number, (timestamp, frame) in enumerate(dpkt.pcap.Reader(handle), start=1):
            ether = dpkt.ethernet.Ethernet(frame)
            ip = ether.data
            if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.tcp.TCP):
                continue
            tcp = ip.data
            src, dst = socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst)
            macs[src] = _mac(ether.src)
            key = (src, tcp.sport, dst, tcp.dport)
            if key not in directions:
                syn_only = tcp.flags & dpkt.tcp.TH_SYN and not tcp.flags & dpkt.tcp.TH_ACK
                reverse = directions.get((dst, tcp.dport, src, tcp.sport))
                from_client = bool(syn_only) if reverse is None else not reverse.from_client
                directions[key] = _Direction((src, tcp.sport), (dst, tcp.dport), from_client)
            direction = directions[key]
            if tcp.flags & dpkt.tcp.TH_SYN:
                direction.isn = tcp.seq
            if tcp.data and direction.isn is not None:
                direction.segments.setdefault((tcp.seq - direction.isn - 1) % 2**32, bytes(tcp.data))
                direction.first = direction.first or (number, timestamp)
    payloads = []
    for direction in directions.values():
        if direction.first is None:
            continue
        data = bytearray()
        for offset, chunk in sorted(direction.segments.items()):
            if offset <= len(data):
                data += chunk[len(data) - offset :]
        payloads.append(
            Payload(
                source=Endpoint(mac=macs[direction.source[0]], ip=direction.source[0]),
                destination=Endpoint(mac=macs.get(direction.destination[0]), ip=direction.destination[0]),
                transport="tcp",
                source_port=direction.source[1],
                destination_port=direction.destination[1],
                from_client=direction.from_client,
                data=bytes(data[:_LIMIT]),
                seen_at=datetime.fromtimestamp(direction.first[1], tz=UTC),
                file=name,
                packet=direction.first[0],
                tls=tls,
            )
        )
    return sorted(payloads, key=lambda payload: payload.packet)
