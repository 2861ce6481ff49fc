"""Capture reader: pcap and pcapng files (plain or gzip-compressed) in, light per-packet records out.

The reader streams: it holds one read buffer (about 1 MiB) and one packet at a time, whatever the file size.
Decoding is hand-written with :mod:`struct` on the hot path (it measured faster than dpkt's object model).

Supported: pcap (both byte orders, micro- and nanosecond timestamps), pcapng (SHB/IDB/EPB/SPB/OPB, several
sections and interfaces, per-interface link type, ``if_tsresol`` and ``if_tsoffset``); link types Ethernet
(with stacked 802.1Q/802.1ad tags and 802.3 LLC/SNAP frames), Linux SLL and SLL2, raw IPv4/IPv6, BSD
null/loopback.  Network layer: IPv4 (fragments after the first are counted and skipped), IPv6 (extension
headers walked), ARP; transport: TCP and UDP.

Damage never stops a read: truncated or malformed packets are counted in :class:`ReadStats` and skipped.  A
file that is not a capture at all (wrong magic, empty, gzip of something else, a first record with an absurd
length) raises :class:`~wardwatch.ingest.errors.IngestError` with one line naming the file.  When framing is
lost in the middle of a file (a record length no reader could trust) the rest of the file cannot be
resynchronised: the reader stops there and counts it in ``ReadStats.corrupt``.
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from wardwatch.ingest.errors import IngestError

__all__ = [
    "ETHERTYPE_ARP",
    "ETHERTYPE_IPV4",
    "ETHERTYPE_IPV6",
    "MAX_RECORD",
    "Packet",
    "PcapReader",
    "BYPASS_ANY",
    "BYPASS_DATA",
    "BYPASS_EMPTY",
    "BYPASS_FIN",
    "BypassDirection",
    "FlowCounters",
    "ReadStats",
    "TcpBypass",
    "read_packets",
]

logger = logging.getLogger(__name__)

ETHERTYPE_IPV4 = 0x0800
"""IPv4 EtherType."""
ETHERTYPE_IPV6 = 0x86DD
"""IPv6 EtherType."""
ETHERTYPE_ARP = 0x0806
"""ARP EtherType."""

MAX_RECORD = 1 << 20
"""Largest packet (or pcapng block) the reader accepts; anything longer is corruption, never an allocation."""

_CHUNK = 1 << 20
_VLAN_TPIDS = frozenset((0x8100, 0x88A8, 0x9100))
_IPV6_EXT = frozenset((0, 43, 60, 135, 139, 140))  # hop-by-hop, routing, destination, mobility, HIP, shim6

_LINK_ETHERNET = 1
_LINK_NULL = 0
_LINK_LOOP = 108
_LINK_RAW = frozenset((101, 12, 14))
_LINK_IPV4 = 228
_LINK_IPV6 = 229
_LINK_SLL = 113
_LINK_SLL2 = 276

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"

_ETH_IP4 = struct.Struct("!6s6s4xH2xH1xB2x4s4s")
_TCP = struct.Struct("!HHIIBB")
_SEQ = struct.Struct("!I")
_UDP = struct.Struct("!HHH")


@dataclass(slots=True)
class ReadStats:
    """What the reader saw and skipped.  Counts are in packets unless named otherwise."""

    packets: int = 0
    """Packet records read (decoded or not); also the number of the last packet."""
    bytes: int = 0
    """Captured bytes of all packet records."""
    truncated: int = 0
    """Packets cut short (snap length or damage) whose layers could not be fully decoded."""
    malformed: int = 0
    """Packets with impossible header values (bad IP version, header length...)."""
    fragments: int = 0
    """IP fragments after the first: counted and skipped (no transport header in them)."""
    unsupported_link: int = 0
    """Packets on a link type the reader does not decode."""
    corrupt: int = 0
    """Records or blocks with impossible lengths; the read stops at the first one (framing is lost)."""
    truncated_file: bool = False
    """The file ended in the middle of a record."""
    skipped_blocks: int = 0
    """pcapng blocks that carry no packet and were skipped (name resolution, statistics, custom...)."""
    link_types: dict[int, int] = field(default_factory=dict)
    """Packets per link type."""


class Packet:
    """One decoded packet.  Addresses are raw bytes (4 or 16 for IP, 6 for MAC) so they hash cheaply.

    For IP packets ``proto`` is the transport protocol number (6 TCP, 17 UDP...); ports, ``tcp_flags`` and
    ``seq`` are 0 when not applicable.  For ARP, ``ethertype`` is 0x0806, ``src_mac``/``src_ip`` are the
    sender hardware/protocol addresses and ``dst_ip`` the target.  For any other frame, ``payload`` holds the
    bytes after the Ethernet header (after the LLC/SNAP header for 802.3 SNAP frames, whose ``ethertype`` is
    then the SNAP protocol id, e.g. CDP 0x2000).
    """

    __slots__ = (
        "dst_ip",
        "dst_mac",
        "dport",
        "ethertype",
        "ip_len",
        "number",
        "payload",
        "proto",
        "seq",
        "sport",
        "src_ip",
        "src_mac",
        "tcp_flags",
        "ts",
        "vlans",
    )

    def __init__(
        self,
        number: int,
        ts: float,
        src_mac: bytes | None,
        dst_mac: bytes | None,
        vlans: tuple[int, ...],
        ethertype: int,
        src_ip: bytes | None,
        dst_ip: bytes | None,
        ip_len: int,
        proto: int,
        sport: int,
        dport: int,
        tcp_flags: int,
        seq: int,
        payload: bytes,
    ) -> None:
        self.number = number
        """1-based packet number in the capture (as Wireshark numbers frames)."""
        self.ts = ts
        """Capture timestamp, seconds since the Unix epoch (UTC)."""
        self.src_mac = src_mac
        """Source MAC (6 bytes), ``None`` on links without one (raw IP, null)."""
        self.dst_mac = dst_mac
        """Destination MAC."""
        self.vlans = vlans
        """VLAN ids, outermost first (empty when untagged)."""
        self.ethertype = ethertype
        """EtherType after VLAN tags (or SNAP protocol id; 0 for other 802.3 frames)."""
        self.src_ip = src_ip
        """Source IP address (4 or 16 bytes) or ``None``."""
        self.dst_ip = dst_ip
        """Destination IP address or ``None``."""
        self.ip_len = ip_len
        """IP length (header and payload, as the IP header says, bounded by what was captured)."""
        self.proto = proto
        """IP protocol number, 0 when not IP."""
        self.sport = sport
        """TCP/UDP source port, 0 otherwise."""
        self.dport = dport
        """TCP/UDP destination port, 0 otherwise."""
        self.tcp_flags = tcp_flags
        """TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16)."""
        self.seq = seq
        """TCP sequence number."""
        self.payload = payload
        """Transport payload (TCP/UDP), ARP body, or layer-2 payload for other frames."""

    def __repr__(self) -> str:
        return f"Packet(number={self.number}, proto={self.proto}, {self.sport}->{self.dport}, {len(self.payload)}B)"


class FlowCounters(Protocol):
    """The counters a bypassed packet updates (the flow table's flow objects)."""

    packets: int
    bytes: int
    last_ts: float
    closed: bool


BYPASS_EMPTY = 1
""":attr:`BypassDirection.mode` bit: count its segments without payload."""
BYPASS_ANY = 2
"""Mode bit: count its segments with payload too (always set together with :data:`BYPASS_EMPTY`)."""
BYPASS_FIN = 4
"""Mode bit: a FIN segment (without SYN or RST) is counted too and closes the flow."""
BYPASS_DATA = 8
"""Mode bit: the direction collects its stream prefix; the reader appends in-order segments to ``buf``."""


class BypassDirection(Protocol):
    """One TCP direction listed in :attr:`TcpBypass.dirs` (the flow table's per-direction state)."""

    mode: int
    """``BYPASS_*`` bits: what the reader may do with this direction's segments."""
    buf: bytearray | None
    """The stream prefix collected so far (used with :data:`BYPASS_DATA`)."""
    next_seq: int | None
    """The next expected sequence number (used with :data:`BYPASS_DATA`)."""

    @property
    def flow(self) -> FlowCounters:
        """The flow whose counters a counted or appended segment updates."""


class TcpBypass:
    """Packets a consumer only needs counted or appended, so the reader never builds a :class:`Packet` for them.

    The consumer lists TCP directions in :attr:`dirs`, keyed by the 12 bytes ``src_ip + dst_ip + sport + dport``
    as they sit in an IPv4 header followed by a TCP header, each with its ``mode`` bits.  For an untagged
    Ethernet IPv4 TCP packet (no IP options) of a listed direction with a timestamp before :attr:`until`:

    * a segment without payload and without SYN, FIN or RST, when the mode has :data:`BYPASS_EMPTY`, and one
      with payload when it has :data:`BYPASS_ANY`, is only counted: 1 is added to the flow's ``packets``, the IP
      length to its ``bytes``, and its ``last_ts`` is set;
    * a FIN segment (without SYN or RST) is counted the same way, and sets the flow's ``closed``, when the mode
      also has :data:`BYPASS_FIN`;
    * with :data:`BYPASS_DATA` (and not :data:`BYPASS_ANY`), a segment with payload, no SYN/FIN/RST, whose
      sequence number is ``next_seq`` and whose payload fits without filling the prefix
      (``len(buf) + len(payload) < stream_cap``) is appended to ``buf``, ``next_seq`` advanced and the flow
      counted, exactly what the consumer would do with it.

    Every other packet is yielded as usual.  Used by the pcap (not pcapng) reader; read statistics count
    bypassed packets too.  One dictionary, so that the reader pays one lookup per packet.
    """

    __slots__ = ("dirs", "stream_cap", "until")

    def __init__(self) -> None:
        self.dirs: dict[bytes, BypassDirection] = {}
        """Listed directions (see the class documentation); a direction with no mode bit is not listed."""
        self.stream_cap = 0
        """Prefix size at which the consumer hands the prefix over (the reader never reaches it)."""
        self.until = -math.inf
        """Packets at or after this capture time are always yielded (the consumer has timed work due)."""


class PcapReader:
    """Streams the packets of one capture file.

    Iterate it once; :attr:`stats` is complete when iteration ends.  ``progress`` is called with
    ``(bytes_read, total_bytes)`` of the file on disk after each chunk (compressed bytes for gzip).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        progress: Callable[[int, int], None] | None = None,
        bypass: TcpBypass | None = None,
    ) -> None:
        self.path = Path(path)
        """The capture file."""
        self.stats = ReadStats()
        """Counters, complete after iteration."""
        self.progress = progress
        """Progress callback ``(bytes_read, total_bytes)``."""
        self.total_bytes = 0
        """Size of the file on disk."""
        self.bypass = bypass
        """Packets the consumer only needs counted (see :class:`TcpBypass`)."""
        self._raw: BinaryIO | None = None

    # -- opening --------------------------------------------------------------------------------------------
    def _error(self, message: str, tip: str | None = None) -> IngestError:
        return IngestError(str(self.path), message, tip=tip)

    def _open(self) -> tuple[BinaryIO, bytes]:
        try:
            raw = self.path.open("rb")
        except OSError as e:
            raise self._error(f"cannot be opened ({e.strerror or e})") from e
        self._raw = raw
        self.total_bytes = os.fstat(raw.fileno()).st_size
        head = raw.read(2)
        raw.seek(0)
        stream: BinaryIO = raw
        if head == b"\x1f\x8b":
            stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        try:
            first = stream.read(_CHUNK)
        except (OSError, EOFError, zlib.error) as e:
            raw.close()
            raise self._error(
                "is gzip-compressed but cannot be decompressed", "check the download or decompress it first"
            ) from e
        if self.progress is not None:
            self.progress(raw.tell(), self.total_bytes)
        if not first:
            raw.close()
            raise self._error("is empty", "give a pcap or pcapng capture (tcpdump -w, Wireshark, dumpcap)")
        return stream, first

    def __iter__(self) -> Iterator[Packet]:
        """Yield the decoded packets, in file order."""
        stream, first = self._open()
        try:
            magic = first[:4]
            if magic in _PCAP_MAGICS:
                yield from self._pcap(stream, first)
            elif magic == _PCAPNG_SHB:
                yield from self._pcapng(stream, first)
            else:
                raise self._error(
                    "is not a pcap or pcapng capture (unknown magic number)",
                    "give a file written by tcpdump -w, Wireshark or dumpcap (optionally gzip-compressed)",
                )
            if self.progress is not None and self._raw is not None:
                self.progress(self._raw.tell(), self.total_bytes)
        finally:
            stream.close()
            if self._raw is not None:
                self._raw.close()

    # -- buffered reading -----------------------------------------------------------------------------------
    def _fill(self, stream: BinaryIO, buf: bytes, off: int, need: int) -> tuple[bytes, int]:
        """Return a buffer holding at least ``need`` bytes from ``off`` (fewer only at the end of the file)."""
        if stream is self._raw:
            # A plain file: step back over the unread tail and read afresh, rather than copying every chunk
            # once more to glue the tail on.
            rest = len(buf) - off
            try:
                if rest:
                    stream.seek(-rest, os.SEEK_CUR)
                fresh = stream.read(max(_CHUNK, need))
            except OSError as e:
                logger.warning("%s: read failed after %d packets: %s", self.path, self.stats.packets, e)
                self.stats.truncated_file = True
                return buf[off:], 0
            if self.progress is not None:
                self.progress(stream.tell(), self.total_bytes)
            return fresh, 0
        parts = [buf[off:]]
        have = len(parts[0])
        while have < need:
            try:
                more = stream.read(max(_CHUNK, need - have))
            except (OSError, EOFError, zlib.error) as e:
                # A damaged gzip stream: what was decompressed so far is still good.
                logger.warning("%s: compressed stream damaged after %d packets: %s", self.path, self.stats.packets, e)
                self.stats.truncated_file = True
                break
            if not more:
                break
            parts.append(more)
            have += len(more)
            if self.progress is not None and self._raw is not None:
                self.progress(self._raw.tell(), self.total_bytes)
        return b"".join(parts), 0

    def _bad_length(self, what: str, length: int) -> None:
        if self.stats.packets == 0:
            raise self._error(
                f"has a first {what} claiming {length} bytes, which no capture contains",
                "the file is corrupt or not a capture",
            )
        logger.warning(
            "%s: %s after packet %d claims %d bytes; stopping there", self.path, what, self.stats.packets, length
        )
        self.stats.corrupt += 1

    # -- pcap -----------------------------------------------------------------------------------------------
    def _pcap(self, stream: BinaryIO, buf: bytes) -> Iterator[Packet]:
        endian, tick = _PCAP_MAGICS[buf[:4]]
        buf, off = self._fill(stream, buf, 0, 24)
        if len(buf) < 24:
            raise self._error("has a truncated pcap header", "the capture was cut short")
        linktype = struct.unpack_from(endian + "I", buf, 20)[0] & 0x0FFFFFFF
        off = 24
        unpack = struct.Struct(endian + "IIII").unpack_from
        # One unpack per packet: the record header and, assuming an untagged Ethernet frame with a 20-byte IPv4
        # header and TCP, the fields the bypass and the fast path test.  It reads 64 bytes whatever the
        # record's length; a record shorter than that has its garbage fields ignored (``incl < 54``).  The
        # network fields come out in the file's byte order: EtherType and fragment bits are compared with
        # swapped constants and the IP total length is read as two bytes.
        record_hdr = struct.Struct(endian + "IIII12xHBxBB2xHxB2x12s8xBB").unpack_from
        swapped = endian == "<"
        decode = _decoder(linktype)
        stats = self.stats
        stats.link_types.setdefault(linktype, 0)
        # The packet and byte counts live in locals on the hot path; ``stats`` is brought up to date before
        # every yield and every call that reads it, so a consumer never sees it behind.
        number = stats.packets
        nbytes = stats.bytes
        fast = linktype == _LINK_ETHERNET
        # EtherType IPv4 as ``record_hdr`` reads it; on other link types a value no 16-bit field can have.
        ipv4_type = (0x0008 if swapped else 0x0800) if fast else -1
        frag_bits = 0xFF1F if swapped else 0x1FFF  # fragment offset bits of the flags/offset field
        eth_ip4 = _ETH_IP4.unpack_from
        tcp_hdr = _TCP.unpack_from
        udp_hdr = _UDP.unpack_from
        bypass = self.bypass if fast else None
        dirs_get = (bypass.dirs if bypass is not None else {}).get
        cap = bypass.stream_cap if bypass is not None else 0
        seq_at = _SEQ.unpack_from
        # The consumer only runs while we are suspended in a yield: refreshed after each one.
        until = bypass.until if bypass is not None else -math.inf
        max_record = MAX_RECORD
        buflen = len(buf)
        while True:
            if buflen - off < 64:
                stats.packets, stats.bytes = number, nbytes
                buf, off = self._fill(stream, buf, off, 64)
                buflen = len(buf)
                if buflen < 16:
                    if buf:
                        stats.truncated_file = True
                    break
            if buflen - off >= 64:
                sec, frac, incl, _orig, etype, vihl, tot_hi, tot_lo, frag, proto, key, doff, flags = record_hdr(
                    buf, off
                )
            else:  # the last bytes of the file: too short for a frame the bypass or the fast path takes
                sec, frac, incl, _orig = unpack(buf, off)
                etype = -2
            if incl > max_record:
                stats.packets, stats.bytes = number, nbytes
                self._bad_length("pcap record", incl)
                break
            end = off + 16 + incl
            if end > buflen:
                stats.packets, stats.bytes = number, nbytes
                buf, off = self._fill(stream, buf, off, 16 + incl)
                buflen = len(buf)
                end = 16 + incl
                if end > buflen:
                    stats.truncated_file = True
                    break
            number += 1
            nbytes += incl
            if etype == ipv4_type and vihl == 0x45 and incl >= 54:
                # Untagged Ethernet, IPv4 without options (``fast`` link type only).
                direction = dirs_get(key)
                if direction is not None and proto == 6 and not frag & frag_bits and doff >= 0x50:
                    # Bypass (see TcpBypass): src ip, dst ip, sport, dport sit at fixed offsets in such a frame;
                    # the lookup comes first, the checks after a hit.
                    ip_len = incl - 14
                    total = tot_hi << 8 | tot_lo
                    if total < ip_len:
                        ip_len = total
                    start = 20 + (doff >> 4) * 4  # IP header + TCP header
                    flags &= 7  # FIN, SYN, RST
                    mode = direction.mode
                    if (start == ip_len and mode & 1 or start < ip_len and mode & 2) and (
                        not flags or flags == 1 and mode & 4
                    ):
                        ts = sec + frac * tick
                        if ts < until:
                            flow = direction.flow
                            flow.packets += 1
                            flow.bytes += ip_len
                            flow.last_ts = ts
                            if flags:
                                flow.closed = True
                            off = end
                            continue
                    elif mode & 10 == 8 and start < ip_len and not flags:
                        # A direction collecting its prefix (BYPASS_DATA): append in-order data here.
                        held = direction.buf
                        seq = direction.next_seq
                        size = ip_len - start
                        if held is not None and seq_at(buf, off + 54)[0] == seq and len(held) + size < cap:
                            ts = sec + frac * tick
                            if ts < until:
                                held += buf[off + 30 + start : off + 30 + ip_len]
                                direction.next_seq = (seq + size) & 0xFFFFFFFF
                                flow = direction.flow
                                flow.packets += 1
                                flow.bytes += ip_len
                                flow.last_ts = ts
                                off = end
                                continue
                # Fast path: first fragment, TCP or UDP.
                dmac, smac, total, frag, proto, src, dst = eth_ip4(buf, off + 16)
                if not frag & 0x1FFF and total >= 28 and (proto == 6 or proto == 17):
                    ip_start = off + 30
                    ip_end = ip_start + total
                    if ip_end > end:
                        ip_end = end
                    l4 = ip_start + 20
                    if proto == 6:
                        if l4 + 20 <= ip_end:
                            sport, dport, seq, _ack, doff, flags = tcp_hdr(buf, l4)
                            start = l4 + (doff >> 4) * 4
                            if doff >= 0x50 and start <= ip_end:
                                off = end
                                stats.packets, stats.bytes = number, nbytes
                                yield Packet(
                                    number, sec + frac * tick, smac, dmac, (), 0x0800, src, dst, ip_end - ip_start,
                                    6, sport, dport, flags, seq, buf[start:ip_end],
                                )  # fmt: skip
                                if bypass is not None:
                                    until = bypass.until
                                continue
                    else:
                        sport, dport, ulen = udp_hdr(buf, l4)
                        stop = l4 + ulen if ulen >= 8 and l4 + ulen < ip_end else ip_end
                        off = end
                        stats.packets, stats.bytes = number, nbytes
                        yield Packet(
                            number, sec + frac * tick, smac, dmac, (), 0x0800, src, dst, ip_end - ip_start,
                            17, sport, dport, 0, 0, buf[l4 + 8 : stop],
                        )  # fmt: skip
                        if bypass is not None:
                            until = bypass.until
                        continue
            data = buf[off + 16 : end]
            off = end
            stats.packets, stats.bytes = number, nbytes
            if decode is None:
                stats.unsupported_link += 1
                continue
            pkt = decode(data, number, sec + frac * tick, stats)
            if pkt is not None:
                yield pkt
                if bypass is not None:
                    until = bypass.until
        stats.packets, stats.bytes = number, nbytes
        stats.link_types[linktype] = number

    # -- pcapng ---------------------------------------------------------------------------------------------
    def _pcapng(self, stream: BinaryIO, buf: bytes) -> Iterator[Packet]:
        stats = self.stats
        off = 0
        endian = "<"
        ifaces: list[tuple[Callable[[bytes, int, float, ReadStats], Packet | None] | None, int, float, int]] = []
        number = 0
        while True:
            if len(buf) - off < 12:
                buf, off = self._fill(stream, buf, off, 12)
                if len(buf) < 12:
                    if buf:
                        stats.truncated_file = True
                    break
            btype_raw = buf[off : off + 4]
            if btype_raw == _PCAPNG_SHB:
                bom = buf[off + 8 : off + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    endian = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    endian = ">"
                else:
                    if number == 0:
                        raise self._error("is not a pcapng capture (bad byte-order magic)", "the file is corrupt")
                    stats.corrupt += 1
                    break
                ifaces = []
            btype, blen = struct.unpack_from(endian + "II", buf, off)
            if blen < 12 or blen % 4 or blen > MAX_RECORD + 64:
                self._bad_length("pcapng block", blen)
                break
            if len(buf) - off < blen:
                buf, off = self._fill(stream, buf, off, blen)
                if len(buf) < blen:
                    stats.truncated_file = True
                    break
            block = buf[off : off + blen]
            off += blen
            if btype in (6, 3, 2):  # EPB, SPB, OPB
                number += 1
                stats.packets = number
                pkt = self._pcapng_packet(btype, block, endian, ifaces, number)
                if pkt is not None:
                    yield pkt
            elif btype == 1:
                ifaces.append(self._idb(block, endian))
            elif btype != 0x0A0D0D0A:
                stats.skipped_blocks += 1

    def _idb(
        self, block: bytes, endian: str
    ) -> tuple[Callable[[bytes, int, float, ReadStats], Packet | None] | None, int, float, int]:
        if len(block) < 20:
            self.stats.malformed += 1
            return (None, -1, 1e-6, 0)
        linktype, _reserved, snaplen = struct.unpack_from(endian + "HHI", block, 8)
        tick = 1e-6
        offset = 0
        pos, end = 16, len(block) - 4
        while pos + 4 <= end:
            code, olen = struct.unpack_from(endian + "HH", block, pos)
            if code == 0:
                break
            value = block[pos + 4 : pos + 4 + olen]
            if code == 9 and olen >= 1:  # if_tsresol
                res = value[0]
                tick = 2.0 ** -(res & 0x7F) if res & 0x80 else 10.0 ** -(res & 0x7F)
            elif code == 14 and olen == 8:  # if_tsoffset
                offset = struct.unpack_from(endian + "q", value)[0]
            pos += 4 + ((olen + 3) & ~3)
        self.stats.link_types.setdefault(linktype, 0)
        del snaplen
        return (_decoder(linktype), linktype, tick, offset)

    def _pcapng_packet(
        self,
        btype: int,
        block: bytes,
        endian: str,
        ifaces: list[tuple[Callable[[bytes, int, float, ReadStats], Packet | None] | None, int, float, int]],
        number: int,
    ) -> Packet | None:
        stats = self.stats
        blen = len(block)
        if btype == 6:
            if blen < 32:
                stats.malformed += 1
                return None
            iface, hi, lo, caplen, _orig = struct.unpack_from(endian + "IIIII", block, 8)
            start = 28
        elif btype == 3:
            if blen < 16:
                stats.malformed += 1
                return None
            iface, hi, lo = 0, 0, 0
            caplen = min(struct.unpack_from(endian + "I", block, 8)[0], blen - 16)
            start = 12
        else:
            if blen < 32:
                stats.malformed += 1
                return None
            iface, _drops, hi, lo, caplen, _orig = struct.unpack_from(endian + "HHIIII", block, 8)
            start = 28
        if iface >= len(ifaces) or start + caplen > blen - 4:
            stats.malformed += 1
            return None
        decode, linktype, tick, offset = ifaces[iface]
        stats.bytes += caplen
        stats.link_types[linktype] = stats.link_types.get(linktype, 0) + 1
        if decode is None:
            stats.unsupported_link += 1
            return None
        ts: float = ((hi << 32) | lo) * tick + offset
        packet: Packet | None = decode(block[start : start + caplen], number, ts, stats)
        return packet


def read_packets(
    path: str | os.PathLike[str], progress: Callable[[int, int], None] | None = None
) -> tuple[Iterator[Packet], ReadStats]:
    """Open a capture: an iterator of its packets and the stats object it fills as it goes."""
    reader = PcapReader(path, progress)
    return iter(reader), reader.stats


# -- layer decoding ---------------------------------------------------------------------------------------------


def _decoder(linktype: int) -> Callable[[bytes, int, float, ReadStats], Packet | None] | None:
    """The decode function for a link type, ``None`` when unsupported."""
    if linktype == _LINK_ETHERNET:
        return _decode_ethernet
    if linktype in _LINK_RAW or linktype in (_LINK_IPV4, _LINK_IPV6):
        return _decode_raw
    if linktype in (_LINK_NULL, _LINK_LOOP):
        return _decode_null
    if linktype == _LINK_SLL:
        return _decode_sll
    if linktype == _LINK_SLL2:
        return _decode_sll2
    return None


def _decode_ethernet(data: bytes, number: int, ts: float, stats: ReadStats) -> Packet | None:
    if len(data) < 14:
        stats.truncated += 1
        return None
    etype = (data[12] << 8) | data[13]
    off = 14
    vlans: tuple[int, ...] = ()
    while etype in _VLAN_TPIDS:
        if len(data) < off + 4:
            stats.truncated += 1
            return None
        vlans += (((data[off] << 8) | data[off + 1]) & 0x0FFF,)
        etype = (data[off + 2] << 8) | data[off + 3]
        off += 4
    return _decode_l3(data, off, etype, data[6:12], data[0:6], vlans, number, ts, stats)


def _decode_sll(data: bytes, number: int, ts: float, stats: ReadStats) -> Packet | None:
    if len(data) < 16:
        stats.truncated += 1
        return None
    hatype = (data[2] << 8) | data[3]
    halen = (data[4] << 8) | data[5]
    mac = data[6:12] if hatype == 1 and halen == 6 else None
    return _decode_l3(data, 16, (data[14] << 8) | data[15], mac, None, (), number, ts, stats)


def _decode_sll2(data: bytes, number: int, ts: float, stats: ReadStats) -> Packet | None:
    if len(data) < 20:
        stats.truncated += 1
        return None
    hatype = (data[8] << 8) | data[9]
    mac = data[12:18] if hatype == 1 and data[11] == 6 else None
    return _decode_l3(data, 20, (data[0] << 8) | data[1], mac, None, (), number, ts, stats)


def _decode_raw(data: bytes, number: int, ts: float, stats: ReadStats) -> Packet | None:
    if not data:
        stats.truncated += 1
        return None
    version = data[0] >> 4
    etype = ETHERTYPE_IPV4 if version == 4 else ETHERTYPE_IPV6 if version == 6 else -1
    if etype < 0:
        stats.malformed += 1
        return None
    return _decode_l3(data, 0, etype, None, None, (), number, ts, stats)


def _decode_null(data: bytes, number: int, ts: float, stats: ReadStats) -> Packet | None:
    # The 4-byte address family is in the writer's byte order and its value differs between BSDs for IPv6:
    # the IP version nibble says more reliably what follows.
    if len(data) < 5:
        stats.truncated += 1
        return None
    version = data[4] >> 4
    etype = ETHERTYPE_IPV4 if version == 4 else ETHERTYPE_IPV6 if version == 6 else -1
    if etype < 0:
        stats.malformed += 1
        return None
    return _decode_l3(data, 4, etype, None, None, (), number, ts, stats)


def _decode_l3(
    data: bytes,
    off: int,
    etype: int,
    src_mac: bytes | None,
    dst_mac: bytes | None,
    vlans: tuple[int, ...],
    number: int,
    ts: float,
    stats: ReadStats,
) -> Packet | None:
    n = len(data)
    if etype == ETHERTYPE_IPV4:
        if n < off + 20:
            stats.truncated += 1
            return None
        b0 = data[off]
        ihl = (b0 & 0x0F) * 4
        if b0 >> 4 != 4 or ihl < 20:
            stats.malformed += 1
            return None
        total = (data[off + 2] << 8) | data[off + 3]
        if total < ihl:
            if total != 0:  # 0 is what TSO/offloaded captures show: trust the frame
                stats.malformed += 1
                return None
            total = n - off
        end = off + total
        if end > n:
            end = n
        frag = ((data[off + 6] << 8) | data[off + 7]) & 0x1FFF
        if frag:
            stats.fragments += 1
            return None
        proto = data[off + 9]
        src_ip = data[off + 12 : off + 16]
        dst_ip = data[off + 16 : off + 20]
        l4 = off + ihl
        ip_len = end - off
    elif etype == ETHERTYPE_IPV6:
        if n < off + 40:
            stats.truncated += 1
            return None
        if data[off] >> 4 != 6:
            stats.malformed += 1
            return None
        end = off + 40 + ((data[off + 4] << 8) | data[off + 5])
        if end > n:
            end = n
        proto = data[off + 6]
        src_ip = data[off + 8 : off + 24]
        dst_ip = data[off + 24 : off + 40]
        l4 = off + 40
        ip_len = end - off
        hops = 0
        while proto in _IPV6_EXT or proto == 44 or proto == 51:
            hops += 1
            if l4 + 8 > end or hops > 8:
                stats.truncated += 1
                return None
            nxt = data[l4]
            if proto == 44:  # fragment header
                if ((data[l4 + 2] << 8) | data[l4 + 3]) & 0xFFF8:
                    stats.fragments += 1
                    return None
                l4 += 8
            elif proto == 51:  # AH counts 4-byte words
                l4 += (data[l4 + 1] + 2) * 4
            else:
                l4 += (data[l4 + 1] + 1) * 8
            proto = nxt
    elif etype == ETHERTYPE_ARP:
        if n < off + 28:
            stats.truncated += 1
            return None
        if data[off + 4] != 6 or data[off + 5] != 4:  # Ethernet/IPv4 ARP only
            return Packet(number, ts, src_mac, dst_mac, vlans, etype, None, None, 0, 0, 0, 0, 0, 0, data[off:])
        return Packet(
            number,
            ts,
            data[off + 8 : off + 14],
            dst_mac,
            vlans,
            etype,
            data[off + 14 : off + 18],
            data[off + 24 : off + 28],
            0,
            0,
            0,
            0,
            0,
            0,
            data[off : off + 28],
        )
    else:
        if etype <= 1500:  # 802.3 length: LLC, maybe SNAP
            if data[off : off + 3] == b"\xaa\xaa\x03" and n >= off + 8:
                etype = (data[off + 6] << 8) | data[off + 7]
                off += 8
            else:
                etype = 0
        return Packet(number, ts, src_mac, dst_mac, vlans, etype, None, None, 0, 0, 0, 0, 0, 0, data[off:])

    if proto == 6:
        if l4 + 20 > end:
            stats.truncated += 1
            return None
        sport, dport, seq, _ack, doff, flags = _TCP.unpack_from(data, l4)
        hl = (doff >> 4) * 4
        if hl < 20:
            stats.malformed += 1
            return None
        start = l4 + hl
        payload = data[start:end] if start < end else b""
        return Packet(
            number, ts, src_mac, dst_mac, vlans, etype, src_ip, dst_ip, ip_len, 6, sport, dport, flags, seq, payload
        )
    if proto == 17:
        if l4 + 8 > end:
            stats.truncated += 1
            return None
        sport, dport, ulen = _UDP.unpack_from(data, l4)
        stop = l4 + ulen if ulen >= 8 and l4 + ulen < end else end
        return Packet(
            number,
            ts,
            src_mac,
            dst_mac,
            vlans,
            etype,
            src_ip,
            dst_ip,
            ip_len,
            17,
            sport,
            dport,
            0,
            0,
            data[l4 + 8 : stop],
        )
    return Packet(number, ts, src_mac, dst_mac, vlans, etype, src_ip, dst_ip, ip_len, proto, 0, 0, 0, 0, data[l4:end])
