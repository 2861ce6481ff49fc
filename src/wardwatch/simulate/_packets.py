"""Ethernet, 802.1Q, ARP, IPv4, UDP and TCP frames with correct checksums, and TCP conversations.

Timestamps are integer microseconds since the epoch, so the same inputs always give the same bytes.
A :class:`Link` says how one conversation looks on the capture point (a trunk port carrying every VLAN):
frames from the simulated device go to its next hop (the peer on the same subnet, or the VLAN's gateway),
frames towards it come from that next hop.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

#: ``(timestamp in microseconds, frame bytes)``.
Frame = tuple[int, bytes]

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_VLAN = 0x8100
PROTO_TCP = 6
PROTO_UDP = 17
_MSS = 1460
_MIN_FRAME = 60  # Ethernet minimum without FCS; shorter frames are padded as a switch would send them

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def mac_bytes(mac: str) -> bytes:
    """``aa:bb:cc:dd:ee:ff`` -> 6 bytes."""
    return bytes.fromhex(mac.replace(":", ""))


def ip_bytes(ip: str) -> bytes:
    """Dotted quad -> 4 bytes."""
    return socket.inet_aton(ip)


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``.

    >>> hex(checksum(bytes.fromhex("45000073000040004011") + bytes(2) + bytes.fromhex("c0a80001c0a800c7")))
    '0xb861'
    """
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(src: bytes, dst: bytes, vlan: int | None, ethertype: int, payload: bytes) -> bytes:
    """An Ethernet II frame, 802.1Q-tagged when ``vlan`` is set, padded to the 60-byte minimum."""
    if vlan is None:
        frame = dst + src + struct.pack("!H", ethertype) + payload
    else:
        frame = dst + src + struct.pack("!HHH", ETH_VLAN, vlan & 0x0FFF, ethertype) + payload
    return frame.ljust(_MIN_FRAME, b"\x00")


def arp(op: int, sender_mac: bytes, sender_ip: bytes, target_mac: bytes, target_ip: bytes) -> bytes:
    """An ARP payload for Ethernet/IPv4 (``op`` 1 request, 2 reply)."""
    return struct.pack("!HHBBH", 1, ETH_IPV4, 6, 4, op) + sender_mac + sender_ip + target_mac + target_ip


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int, ttl: int = 64) -> bytes:
    """An IPv4 packet with Don't Fragment set and a correct header checksum."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, ttl, proto, 0, src, dst)
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + payload


def _pseudo(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    return src + dst + struct.pack("!BBH", 0, proto, length)


def udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    """A UDP datagram with its checksum over the IPv4 pseudo-header."""
    length = 8 + len(payload)
    segment = struct.pack("!HHHH", sport, dport, length, 0) + payload
    value = checksum(_pseudo(src, dst, PROTO_UDP, length) + segment) or 0xFFFF
    return segment[:6] + struct.pack("!H", value) + segment[8:]


def tcp(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes) -> bytes:
    """A TCP segment (SYNs carry an MSS option) with its checksum over the IPv4 pseudo-header."""
    options = struct.pack("!BBH", 2, 4, _MSS) if flags & SYN else b""
    offset = (20 + len(options)) // 4
    header = struct.pack(
        "!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, offset << 4, flags, 64240, 0, 0
    )
    segment = header + options + payload
    value = checksum(_pseudo(src, dst, PROTO_TCP, len(segment)) + segment)
    return segment[:16] + struct.pack("!H", value) + segment[18:]


@dataclass(slots=True)
class Link:
    """How one conversation between a simulated device and a far end appears at the capture point."""

    vlan: int | None
    """802.1Q tag of the device's VLAN, or None for an untagged capture."""
    local_mac: bytes
    """The simulated device's MAC."""
    local_ip: bytes
    """The simulated device's IPv4 address."""
    hop_mac: bytes
    """Next hop from the device: the far end itself on the same subnet, else the VLAN gateway."""
    remote_ip: bytes
    """The far end's IPv4 address."""
    ident: int = 0
    """Next IPv4 identification value (the far end's packets use ``ident + 0x4000``)."""

    def ip_frame(self, from_local: bool, proto: int, transport: bytes) -> bytes:
        """Wrap a transport segment in IPv4 and Ethernet in the given direction."""
        self.ident += 1
        if from_local:
            packet = ipv4(self.local_ip, self.remote_ip, proto, transport, self.ident)
            return ethernet(self.local_mac, self.hop_mac, self.vlan, ETH_IPV4, packet)
        packet = ipv4(self.remote_ip, self.local_ip, proto, transport, self.ident + 0x4000, ttl=63)
        return ethernet(self.hop_mac, self.local_mac, self.vlan, ETH_IPV4, packet)

    def udp_frame(self, from_local: bool, local_port: int, remote_port: int, payload: bytes) -> bytes:
        """A UDP datagram between the two ends, in the given direction."""
        if from_local:
            segment = udp(self.local_ip, self.remote_ip, local_port, remote_port, payload)
        else:
            segment = udp(self.remote_ip, self.local_ip, remote_port, local_port, payload)
        return self.ip_frame(from_local, PROTO_UDP, segment)


@dataclass(slots=True)
class TcpConversation:
    """A TCP connection with a real handshake, in-order data with correct seq/ack, and a FIN close.

    ``orig`` is the side that connects: the simulated device when ``local_is_orig``, else the far end.
    Counters mirror what Zeek's conn.log reports.
    """

    link: Link
    local_is_orig: bool
    orig_port: int
    resp_port: int
    now: int
    """Current time (microseconds); every frame advances it."""
    orig_seq: int
    resp_seq: int
    rtt: int = 400
    """Half a round trip, in microseconds."""
    frames: list[Frame] = field(default_factory=list)
    orig_bytes: int = 0
    resp_bytes: int = 0
    orig_pkts: int = 0
    resp_pkts: int = 0
    orig_ip_bytes: int = 0
    resp_ip_bytes: int = 0
    history: str = ""
    start: int = 0

    def _emit(self, from_orig: bool, flags: int, payload: bytes, letter: str) -> None:
        src_seq, dst_seq = (self.orig_seq, self.resp_seq) if from_orig else (self.resp_seq, self.orig_seq)
        from_local = from_orig == self.local_is_orig
        sport, dport = (self.orig_port, self.resp_port) if from_orig else (self.resp_port, self.orig_port)
        src, dst = (
            (self.link.local_ip, self.link.remote_ip) if from_local else (self.link.remote_ip, self.link.local_ip)
        )
        segment = tcp(src, dst, sport, dport, src_seq, dst_seq if flags & ACK else 0, flags, payload)
        self.frames.append((self.now, self.link.ip_frame(from_local, PROTO_TCP, segment)))
        advance = len(payload) + (1 if flags & (SYN | FIN) else 0)
        if from_orig:
            self.orig_seq += advance
            self.orig_pkts += 1
            self.orig_bytes += len(payload)
            self.orig_ip_bytes += 20 + len(segment)
        else:
            self.resp_seq += advance
            self.resp_pkts += 1
            self.resp_bytes += len(payload)
            self.resp_ip_bytes += 20 + len(segment)
        mark = letter if from_orig else letter.lower()
        if mark not in self.history:
            self.history += mark
        self.now += self.rtt

    def open(self) -> None:
        """SYN, SYN-ACK, ACK."""
        self.start = self.now
        self._emit(True, SYN, b"", "S")
        self._emit(False, SYN | ACK, b"", "H")
        self._emit(True, ACK, b"", "A")

    def send(self, from_orig: bool, data: bytes) -> None:
        """Send ``data`` in MSS-sized PSH/ACK segments; the receiver acknowledges once."""
        for i in range(0, len(data), _MSS):
            self._emit(from_orig, PSH | ACK, data[i : i + _MSS], "D")
        self._emit(not from_orig, ACK, b"", "A")

    def close(self) -> None:
        """FIN from the originator, FIN-ACK from the responder, final ACK."""
        self._emit(True, FIN | ACK, b"", "F")
        self._emit(False, FIN | ACK, b"", "F")
        self._emit(True, ACK, b"", "A")

    @property
    def duration(self) -> int:
        """Microseconds from SYN to the last frame."""
        return self.frames[-1][0] - self.start if self.frames else 0
