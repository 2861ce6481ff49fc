"""DHCPv4 (RFC 2131/2132) and DHCPv6 (RFC 8415) client fingerprints.

From a DHCPv4 client message (BOOTREQUEST) about the client hardware address (``chaddr``): the MAC, option 12
host name, option 81 client FQDN, option 60 vendor class, option 55 parameter request list (the classic DHCP
fingerprint, comma-separated decimals), option 50 requested IP and option 61 client identifier.  From a
server DHCPACK: the IP address given to that MAC (``yiaddr``).  Evidence names the message type.

From a DHCPv6 client message (sent from port 546): option 1 client DUID, option 16 vendor class (enterprise
number and data), option 39 client FQDN and option 6 option request (the DHCPv6 fingerprint), about the
sending endpoint.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator

from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.discovery._common import mac_text, observation, text
from wardwatch.discovery._names import name_text, read_name
from wardwatch.domain.observations import Endpoint, Observation, ObservationKind

__all__ = ["SPEC", "dissect"]

_PROTO = "dhcp"
_MAGIC = b"\x63\x82\x53\x63"
_V4_MESSAGE_TYPES = {
    1: "DHCPDISCOVER",
    2: "DHCPOFFER",
    3: "DHCPREQUEST",
    4: "DHCPDECLINE",
    5: "DHCPACK",
    6: "DHCPNAK",
    7: "DHCPRELEASE",
    8: "DHCPINFORM",
}
_V6_CLIENT_MESSAGES = {
    1: "SOLICIT",
    3: "REQUEST",
    4: "CONFIRM",
    5: "RENEW",
    6: "REBIND",
    8: "RELEASE",
    9: "DECLINE",
    11: "INFORMATION-REQUEST",
}


def dissect(payload: Payload) -> Result:
    """Observations from one DHCP datagram; nothing if it is not well-formed DHCP."""
    ports = {payload.source_port, payload.destination_port}
    if ports & {546, 547}:
        return list(_dhcpv6(payload))
    return list(_dhcpv4(payload))


def _v4_options(data: bytes) -> dict[int, bytes]:
    """Options after the magic cookie, up to the end option or the first truncated one.

    Repeated options are concatenated (RFC 3396).  A truncated option ends the list but keeps what came before
    it: a client's host name is still its host name when a later option is garbled.
    """
    options: dict[int, bytes] = {}
    pos = 240
    while pos < len(data):
        code = data[pos]
        if code == 255:
            break
        if code == 0:
            pos += 1
            continue
        if pos + 1 >= len(data):
            break
        length = data[pos + 1]
        value = data[pos + 2 : pos + 2 + length]
        if len(value) != length:
            break
        options[code] = options.get(code, b"") + value
        pos += 2 + length
    return options


def _dhcpv4(payload: Payload) -> Iterator[Observation]:
    data = payload.data
    if len(data) < 240 or data[236:240] != _MAGIC or data[0] not in (1, 2):
        return
    options = _v4_options(data)
    mac = mac_text(data[28:34]) if data[1] == 1 and data[2] == 6 else None
    ciaddr = data[12:16]
    msg_type = options.get(53, b"")[:1]
    name = _V4_MESSAGE_TYPES.get(msg_type[0], f"type {msg_type[0]}") if msg_type else "BOOTP"
    ip = str(ipaddress.IPv4Address(ciaddr)) if any(ciaddr) else None
    if mac is None and ip is None:
        return
    client = Endpoint(mac=mac, ip=ip)

    if data[0] == 2:
        yiaddr = data[16:20]
        if name == "DHCPACK" and any(yiaddr) and mac is not None:
            yield observation(
                payload,
                Endpoint(mac=mac),
                ObservationKind.IP,
                str(ipaddress.IPv4Address(yiaddr)),
                _PROTO,
                f"{name} yiaddr",
            )
        return

    def obs(kind: ObservationKind, value: str | None, what: str) -> Iterator[Observation]:
        if value:
            yield observation(payload, client, kind, value, _PROTO, f"{name} {what}")

    if mac is not None:
        yield from obs(ObservationKind.MAC, mac, "chaddr")
    if 12 in options:
        yield from obs(ObservationKind.HOSTNAME, text(options[12]), "option 12 host name")
    if 81 in options:
        yield from obs(ObservationKind.HOSTNAME, _fqdn_v4(options[81]), "option 81 client FQDN")
    if 60 in options:
        yield from obs(ObservationKind.DHCP_VENDOR_CLASS, text(options[60]), "option 60 vendor class")
    if 55 in options:
        prl = ",".join(str(b) for b in options[55])
        yield from obs(ObservationKind.DHCP_FINGERPRINT, prl, "option 55 parameter request list")
    if len(options.get(50, b"")) == 4:
        requested = str(ipaddress.IPv4Address(options[50]))
        yield from obs(ObservationKind.DHCP_REQUESTED_IP, requested, "option 50 requested IP")
    if options.get(61):
        yield from obs(ObservationKind.DHCP_CLIENT_ID, options[61].hex(":"), "option 61 client identifier")


def _fqdn_v4(value: bytes) -> str | None:
    """Option 81: flags, two RCODE bytes, then the name (DNS wire format when the E flag is set)."""
    if len(value) < 4:
        return None
    if value[0] & 0x04:
        parsed = read_name(value, 3, compression=False)
        return text(name_text(parsed[0]).encode()) if parsed else None
    return text(value[3:])


def _v6_options(data: bytes, start: int) -> dict[int, bytes] | None:
    options: dict[int, bytes] = {}
    pos = start
    while pos + 4 <= len(data):
        code, length = struct.unpack_from("!HH", data, pos)
        value = data[pos + 4 : pos + 4 + length]
        if len(value) != length:
            return None
        options.setdefault(code, value)
        pos += 4 + length
    return options if pos == len(data) else None


def _dhcpv6(payload: Payload) -> Iterator[Observation]:
    data = payload.data
    if len(data) < 4 or data[0] not in _V6_CLIENT_MESSAGES or payload.source_port != 546:
        return
    options = _v6_options(data, 4)
    if options is None:
        return
    name = _V6_CLIENT_MESSAGES[data[0]]
    client = payload.source

    def obs(kind: ObservationKind, value: str | None, what: str) -> Iterator[Observation]:
        if value:
            yield observation(payload, client, kind, value, _PROTO, f"DHCPv6 {name} {what}")

    if options.get(1):
        yield from obs(ObservationKind.DHCP_CLIENT_ID, options[1].hex(":"), "option 1 client DUID")
    if 16 in options:
        yield from obs(ObservationKind.DHCP_VENDOR_CLASS, _vendor_class_v6(options[16]), "option 16 vendor class")
    if 39 in options and len(options[39]) >= 2:
        parsed = read_name(options[39], 1, compression=False)
        if parsed is not None:
            yield from obs(ObservationKind.HOSTNAME, text(name_text(parsed[0]).encode()), "option 39 client FQDN")
    oro = options.get(6, b"")
    if oro and len(oro) % 2 == 0:
        codes = ",".join(str(c) for (c,) in struct.iter_unpack("!H", oro))
        yield from obs(ObservationKind.DHCP_FINGERPRINT, codes, "option 6 option request")


def _vendor_class_v6(value: bytes) -> str | None:
    """``<enterprise>:<data>[,<data>...]`` (e.g. ``311:MSFT 5.0``); ``None`` if malformed."""
    if len(value) < 4:
        return None
    (enterprise,) = struct.unpack_from("!I", value, 0)
    parts: list[str] = []
    pos = 4
    while pos + 2 <= len(value):
        (length,) = struct.unpack_from("!H", value, pos)
        item = value[pos + 2 : pos + 2 + length]
        if len(item) != length:
            return None
        part = text(item)
        if part:
            parts.append(part)
        pos += 2 + length
    return f"{enterprise}:{','.join(parts)}" if parts else None


SPEC = DissectorSpec(name=_PROTO, dissect=dissect, transport="udp", ports=frozenset({67, 68, 546, 547}))
"""DHCPv4 on 67/68, DHCPv6 on 546/547."""
