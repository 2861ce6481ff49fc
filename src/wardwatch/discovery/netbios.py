"""NetBIOS name service (RFC 1002, UDP 137).

- A name registration, refresh or release (opcode 5, 8/9, 6) is the sender claiming a name: the name (its
  16th byte, the suffix, stripped and noted in the evidence: ``<20>`` file server...) becomes a
  ``NETBIOS_NAME`` of the address in the NB record (with the sender's MAC when that address is the sender's).
- A positive name query response attributes the name to each address it lists.
- A node status response lists the responder's own names; each becomes a ``NETBIOS_NAME`` of the responder.
- A name query is a lookup, not a claim: the name becomes a ``DNS_QUERY`` of the asking client.

Group names (workgroups, domains) are kept and marked ``group`` in the evidence.
"""

from __future__ import annotations

import ipaddress
import struct

from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.discovery._common import observation, text
from wardwatch.discovery._names import read_name
from wardwatch.domain.observations import Endpoint, Observation, ObservationKind

__all__ = ["SPEC", "dissect"]

_PROTO = "netbios"
_NB, _NBSTAT = 0x20, 0x21
_SUFFIXES = {
    0x00: "workstation",
    0x03: "messenger",
    0x06: "RAS server",
    0x1B: "domain master browser",
    0x1C: "domain controllers",
    0x1D: "master browser",
    0x1E: "browser election",
    0x20: "file server",
}
_CLAIMS = {5: "registration", 6: "release", 8: "refresh", 9: "refresh"}


def dissect(payload: Payload) -> Result:
    """Observations from one NetBIOS name service packet; nothing if it is malformed."""
    data = payload.data
    if len(data) < 12:
        return []
    _, flags, qdcount, ancount, _, arcount = struct.unpack_from("!6H", data, 0)
    response, opcode, rcode = bool(flags & 0x8000), (flags >> 11) & 0x0F, flags & 0x0F
    pos = 12
    out: list[Observation] = []
    if not response and qdcount >= 1:
        question = _question(data, pos)
        if question is None:
            return out
        name, suffix, pos = question
        if opcode == 0:
            if name.startswith("*"):  # the wildcard of a node status request names nobody
                return out
            out.append(_name(payload, payload.source, ObservationKind.DNS_QUERY, name, suffix, "name query"))
            return out
        if opcode in _CLAIMS and arcount >= 1:
            for rtype, rdata in _records(data, pos, 1):
                out.extend(_nb_entries(payload, rtype, rdata, name, suffix, _CLAIMS[opcode]))
        return out
    if response and rcode == 0 and opcode == 0 and ancount >= 1:
        question = _question(data, pos)
        if question is None:
            return out
        name, suffix, _ = question
        for rtype, rdata in _records(data, pos, 1):
            if rtype == _NB:
                out.extend(_nb_entries(payload, rtype, rdata, name, suffix, "positive query response"))
            elif rtype == _NBSTAT:
                out.extend(_node_status(payload, rdata))
    return out


def _question(data: bytes, pos: int) -> tuple[str, int, int] | None:
    """(name, suffix, next offset) of the encoded name at ``pos``; skips the 4 bytes of type/class."""
    parsed = read_name(data, pos)
    if parsed is None or not parsed[0] or parsed[1] + 4 > len(data):
        return None
    decoded = _decode(parsed[0][0])
    if decoded is None:
        return None
    return decoded[0], decoded[1], parsed[1] + 4


def _decode(label: bytes) -> tuple[str, int] | None:
    """First-level decoding: 32 letters ``A``..``P`` -> 15 name bytes + the suffix byte."""
    if len(label) != 32 or any(not 0x41 <= c <= 0x50 for c in label):
        return None
    raw = bytes(((label[i] - 0x41) << 4) | (label[i + 1] - 0x41) for i in range(0, 32, 2))
    name = text(raw[:15], "latin-1")
    return (name, raw[15]) if name else None


def _records(data: bytes, pos: int, count: int) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    for _ in range(count):
        parsed = read_name(data, pos)
        if parsed is None or parsed[1] + 10 > len(data):
            break
        pos = parsed[1]
        rtype, _, _, rdlength = struct.unpack_from("!HHIH", data, pos)
        rdata = data[pos + 10 : pos + 10 + rdlength]
        if len(rdata) != rdlength:
            break
        out.append((rtype, rdata))
        pos += 10 + rdlength
    return out


def _nb_entries(payload: Payload, rtype: int, rdata: bytes, name: str, suffix: int, what: str) -> list[Observation]:
    """One ``NETBIOS_NAME`` per (flags, IPv4) entry of an NB record."""
    if rtype != _NB:
        return []
    out = []
    for i in range(0, len(rdata) - len(rdata) % 6, 6):
        (nb_flags,) = struct.unpack_from("!H", rdata, i)
        raw = rdata[i + 2 : i + 6]
        if raw in (bytes(4), b"\xff" * 4):  # unspecified or broadcast: nobody's address
            continue
        address = str(ipaddress.IPv4Address(raw))
        endpoint = payload.source if address == payload.source.ip else Endpoint(ip=address)
        label = f"{what}, group" if nb_flags & 0x8000 else what
        out.append(_name(payload, endpoint, ObservationKind.NETBIOS_NAME, name, suffix, label))
    return out


def _node_status(payload: Payload, rdata: bytes) -> list[Observation]:
    """Names listed in a node status response (18 bytes each after a count byte)."""
    if not rdata:
        return []
    out = []
    for i in range(rdata[0]):
        entry = rdata[1 + 18 * i : 1 + 18 * (i + 1)]
        if len(entry) != 18:
            break
        name = text(entry[:15], "latin-1")
        if name:
            label = "node status, group" if entry[16] & 0x80 else "node status"
            out.append(_name(payload, payload.source, ObservationKind.NETBIOS_NAME, name, entry[15], label))
    return out


def _name(
    payload: Payload, endpoint: Endpoint, kind: ObservationKind, name: str, suffix: int, what: str
) -> Observation:
    role = _SUFFIXES.get(suffix)
    detail = f"{what}, suffix <{suffix:02X}>" + (f" {role}" if role else "")
    return observation(payload, endpoint, kind, name, _PROTO, detail)


SPEC = DissectorSpec(name=_PROTO, dissect=dissect, transport="udp", ports=frozenset({137}))
"""NetBIOS name service, UDP 137."""
