"""DNS (port 53) and multicast DNS / DNS-SD (port 5353).

DNS: each question of a query (QR=0) becomes a ``DNS_QUERY`` for the sender, the client.

mDNS: questions become ``DNS_QUERY`` for the sender; in answers and announcements (QR=1) every record is
read: PTR targets and SRV/TXT owner names (service instances such as ``Printer._ipp._tcp.local``) become
``MDNS_SERVICE`` for the announcer; SRV targets become its ``HOSTNAME``; and the owner of an A/AAAA record
becomes the ``HOSTNAME`` of the address in that record (with the sender's MAC only when the address is the
sender's own: sleep proxies announce for others).

Names are read with :func:`wardwatch.discovery._names.read_name`, which refuses pointer loops and reads out of
bounds.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable, Iterator

from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.discovery._common import observation, text
from wardwatch.discovery._names import name_text, read_name
from wardwatch.domain.observations import Endpoint, Observation, ObservationKind

__all__ = ["SPEC", "dissect"]

_A, _PTR, _TXT, _AAAA, _SRV = 1, 12, 16, 28, 33
_MAX_RECORDS = 512

_Add = Callable[[Endpoint, ObservationKind, "str | None", str], None]
"""Records one observation (deduplicated)."""


def dissect(payload: Payload) -> Result:
    """Observations from one DNS or mDNS message; nothing if it is malformed."""
    data = payload.data
    if len(data) < 12:
        return []
    _, flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!6H", data, 0)
    if flags & 0x7800:  # opcode other than QUERY
        return []
    mdns = 5353 in (payload.source_port, payload.destination_port)
    protocol = "mdns" if mdns else "dns"
    out: list[Observation] = []
    seen: set[tuple[ObservationKind, str, Endpoint]] = set()

    def add(endpoint: Endpoint, kind: ObservationKind, value: str | None, detail: str) -> None:
        value = text(value.rstrip(".").encode()) if value else None
        if value and (kind, value.lower(), endpoint) not in seen:
            seen.add((kind, value.lower(), endpoint))
            out.append(observation(payload, endpoint, kind, value, protocol, detail))

    pos = 12
    for _ in range(min(qdcount, _MAX_RECORDS)):
        parsed = read_name(data, pos)
        if parsed is None or parsed[1] + 4 > len(data):
            return out
        labels, pos = parsed
        (qtype,) = struct.unpack_from("!H", data, pos)
        pos += 4
        if not flags & 0x8000:
            add(payload.source, ObservationKind.DNS_QUERY, name_text(labels), f"question type {qtype}")
    if not (mdns and flags & 0x8000):
        return out
    for rtype, owner, rdata_at, rdlength in _records(data, pos, ancount + nscount + arcount):
        _mdns_record(payload, add, rtype, name_text(owner), data, rdata_at, rdlength)
    return out


def _records(data: bytes, pos: int, count: int) -> Iterator[tuple[int, list[bytes], int, int]]:
    """(type, owner labels, rdata offset, rdata length) of each resource record, until one is malformed."""
    for _ in range(min(count, _MAX_RECORDS)):
        parsed = read_name(data, pos)
        if parsed is None or parsed[1] + 10 > len(data):
            return
        owner, pos = parsed
        rtype, _, _, rdlength = struct.unpack_from("!HHIH", data, pos)
        pos += 10
        if pos + rdlength > len(data):
            return
        yield rtype, owner, pos, rdlength
        pos += rdlength


def _mdns_record(payload: Payload, add: _Add, rtype: int, owner: str, data: bytes, at: int, length: int) -> None:
    announcer = payload.source
    if rtype == _PTR:
        target = read_name(data, at)
        if target is not None and not owner.lower().startswith("_services._dns-sd."):
            add(announcer, ObservationKind.MDNS_SERVICE, name_text(target[0]), "PTR record")
    elif rtype == _SRV and length >= 7:
        add(announcer, ObservationKind.MDNS_SERVICE, owner, "SRV record")
        target = read_name(data, at + 6)
        if target is not None:
            add(announcer, ObservationKind.HOSTNAME, name_text(target[0]), "SRV record target")
    elif rtype == _TXT:
        add(announcer, ObservationKind.MDNS_SERVICE, owner, "TXT record")
    elif (rtype, length) in ((_A, 4), (_AAAA, 16)):
        address = str(ipaddress.ip_address(data[at : at + length]))
        endpoint = announcer if address == announcer.ip else Endpoint(ip=address)
        add(endpoint, ObservationKind.HOSTNAME, owner, "A record" if rtype == _A else "AAAA record")


SPEC = DissectorSpec(name="dns", dissect=dissect, transport="udp", ports=frozenset({53, 5353}))
"""DNS on 53 and mDNS on 5353 (UDP)."""
