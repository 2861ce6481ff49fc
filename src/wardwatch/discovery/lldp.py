"""LLDP (IEEE 802.1AB, EtherType 0x88CC) and Cisco CDP (802.3 + LLC/SNAP, protocol id 0x2000) frames.

Everything is about the sender of the frame (its source MAC: the switch port, phone or device announcing
itself):

- LLDP: system name -> ``LLDP_SYSTEM_NAME``; port ID and port description -> ``LLDP_PORT``; 802.1 port VLAN
  ID and VLAN names -> ``LLDP_VLAN``; system description -> ``SOFTWARE``; IPv4/IPv6 management address -> ``IP``.
- CDP: device ID -> ``LLDP_SYSTEM_NAME``; port ID -> ``LLDP_PORT``; native VLAN -> ``LLDP_VLAN``; software
  version (first line) and platform -> ``SOFTWARE``; IPv4 addresses -> ``IP``.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator

from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.discovery._common import mac_text, observation, text
from wardwatch.domain.observations import Observation, ObservationKind

__all__ = ["SPEC", "dissect"]

LLDP_ETHERTYPE = 0x88CC
CDP_SNAP_ID = 0x2000
_CDP_SNAP = b"\xaa\xaa\x03\x00\x00\x0c\x20\x00"
_IEEE_8021 = b"\x00\x80\xc2"


def dissect(payload: Payload) -> Result:
    """Observations from one LLDP or CDP frame (bytes after the Ethernet header); nothing if malformed."""
    data = payload.data
    if data.startswith(_CDP_SNAP):
        return list(_cdp(payload, data[len(_CDP_SNAP) :]))
    if payload.ethertype == CDP_SNAP_ID:
        return list(_cdp(payload, data))
    if payload.ethertype == LLDP_ETHERTYPE:
        return list(_lldp(payload, data))
    return []


def _lldp(payload: Payload, data: bytes) -> Iterator[Observation]:
    sender = payload.source

    def obs(kind: ObservationKind, value: str | None, detail: str) -> Iterator[Observation]:
        if value:
            yield observation(payload, sender, kind, value, "lldp", detail)

    pos = 0
    while pos + 2 <= len(data):
        (header,) = struct.unpack_from("!H", data, pos)
        tlv_type, length = header >> 9, header & 0x1FF
        value = data[pos + 2 : pos + 2 + length]
        if tlv_type == 0 or len(value) != length:
            return
        pos += 2 + length
        if tlv_type == 2 and length >= 2:
            port = mac_text(value[1:]) if value[0] == 3 else _address(value[1:]) if value[0] == 4 else text(value[1:])
            yield from obs(ObservationKind.LLDP_PORT, port, "port ID")
        elif tlv_type == 4:
            yield from obs(ObservationKind.LLDP_PORT, text(value), "port description")
        elif tlv_type == 5:
            yield from obs(ObservationKind.LLDP_SYSTEM_NAME, text(value), "system name")
        elif tlv_type == 6:
            yield from obs(ObservationKind.SOFTWARE, text(value), "system description")
        elif tlv_type == 8 and length >= 2:
            yield from obs(ObservationKind.IP, _address(value[1 : 1 + value[0]]), "management address")
        elif tlv_type == 127 and length >= 4 and value[:3] == _IEEE_8021:
            if value[3] == 1 and length >= 6:
                (vid,) = struct.unpack_from("!H", value, 4)
                yield from obs(ObservationKind.LLDP_VLAN, str(vid) if vid else None, "802.1 port VLAN ID")
            elif value[3] == 3 and length >= 7:
                (vid,) = struct.unpack_from("!H", value, 4)
                name = text(value[7 : 7 + value[6]])
                yield from obs(ObservationKind.LLDP_VLAN, f"{vid} {name}" if name else str(vid), "802.1 VLAN name")


def _address(value: bytes) -> str | None:
    """An IANA address-family-prefixed address (1 = IPv4, 2 = IPv6) as text."""
    if len(value) == 5 and value[0] == 1:
        return str(ipaddress.IPv4Address(value[1:]))
    if len(value) == 17 and value[0] == 2:
        return str(ipaddress.IPv6Address(value[1:]))
    return None


def _cdp(payload: Payload, data: bytes) -> Iterator[Observation]:
    if len(data) < 4 or data[0] not in (1, 2):
        return
    sender = payload.source

    def obs(kind: ObservationKind, value: str | None, detail: str) -> Iterator[Observation]:
        if value:
            yield observation(payload, sender, kind, value, "cdp", detail)

    pos = 4
    while pos + 4 <= len(data):
        tlv_type, length = struct.unpack_from("!HH", data, pos)
        value = data[pos + 4 : pos + length]
        if length < 4 or len(value) != length - 4:
            return
        pos += length
        if tlv_type == 0x0001:
            yield from obs(ObservationKind.LLDP_SYSTEM_NAME, text(value), "CDP device ID")
        elif tlv_type == 0x0003:
            yield from obs(ObservationKind.LLDP_PORT, text(value), "CDP port ID")
        elif tlv_type == 0x0005:
            yield from obs(ObservationKind.SOFTWARE, text(value.split(b"\n", 1)[0]), "CDP software version")
        elif tlv_type == 0x0006:
            yield from obs(ObservationKind.SOFTWARE, text(value), "CDP platform")
        elif tlv_type == 0x000A and len(value) == 2:
            yield from obs(ObservationKind.LLDP_VLAN, str(struct.unpack("!H", value)[0]), "CDP native VLAN")
        elif tlv_type == 0x0002:
            for address in _cdp_addresses(value):
                yield from obs(ObservationKind.IP, address, "CDP address")


def _cdp_addresses(value: bytes) -> Iterator[str]:
    """IPv4 addresses of a CDP Addresses TLV (NLPID 0xCC entries)."""
    if len(value) < 4:
        return
    (count,) = struct.unpack_from("!I", value, 0)
    pos = 4
    for _ in range(min(count, 64)):
        if pos + 2 > len(value):
            return
        proto_len = value[pos + 1]
        proto = value[pos + 2 : pos + 2 + proto_len]
        pos += 2 + proto_len
        if pos + 2 > len(value):
            return
        (addr_len,) = struct.unpack_from("!H", value, pos)
        address = value[pos + 2 : pos + 2 + addr_len]
        pos += 2 + addr_len
        if proto == b"\xcc" and len(address) == 4:
            yield str(ipaddress.IPv4Address(address))


SPEC = DissectorSpec(name="lldp", dissect=dissect, transport="l2", ethertypes=frozenset({LLDP_ETHERTYPE, CDP_SNAP_ID}))
"""LLDP by EtherType, CDP by its SNAP protocol id; evidence names ``lldp`` or ``cdp``."""
