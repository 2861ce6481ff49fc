"""The flow table and dispatcher: capture packets in, observations, findings and conversations out.

:func:`run_capture` reads a capture with :mod:`wardwatch.ingest.pcap` and, in one streaming pass:

* TCP: reassembles each direction in sequence order from the SYN (or the first data seen when the capture
  starts mid-stream), tolerating retransmissions and out-of-order segments within a small window, up to
  ``FlowConfig.stream_cap`` bytes, then stops buffering.  A direction's prefix goes to a dissector when the cap
  is reached, when the other side starts talking (a request is complete once the answer starts), on FIN/RST,
  when the flow is evicted idle, or at the end of the file.
* UDP: every datagram (up to ``udp_payloads_per_flow`` per direction; broadcast and multicast flows are not
  capped, DHCP lives there) goes to the matching dissector.
* Layer 2: frames whose EtherType / SNAP id an ``l2`` spec names (LLDP, CDP), deduplicated per sender.

A dissector is chosen per flow: a spec whose ``ports`` contain either port and whose heuristic (if any)
accepts the bytes, else any spec whose heuristic accepts them (DICOM and HL7 run on any port), else the first
port-matching spec.  Dissector exceptions are caught and counted; the run never stops for one.

From the packets themselves it derives: MAC/IP bindings for endpoints on the local segment (ARP, IPv6
link-local, or a MAC that only ever carried one private IP: a router's MAC carries many and is never bound to
the remote addresses it forwards), SERVICE observations (``tcp/104`` for a SYN answered by SYN-ACK, ``udp/161``
for a UDP port that answered), EXTERNAL_PEER findings (private or ULA address talking to a public one), and
conversations summed per (client, server, transport, server port).

Memory stays bounded: flows are evicted when idle (capture time), the table has a hard cap, payload buffers
are capped, and repeated observations/findings are kept once (the first evidence wins; repeats are counted).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from sys import intern

from wardwatch.discovery._base import DissectorSpec, Payload
from wardwatch.domain.observations import (
    Conversation,
    Endpoint,
    Evidence,
    Finding,
    FindingKind,
    Observation,
    ObservationKind,
)
from wardwatch.ingest.pcap import (
    BYPASS_ANY,
    BYPASS_DATA,
    BYPASS_EMPTY,
    BYPASS_FIN,
    ETHERTYPE_ARP,
    Packet,
    PcapReader,
    ReadStats,
    TcpBypass,
)

__all__ = ["CaptureResult", "FlowConfig", "FlowStats", "FlowTable", "run_capture"]

logger = logging.getLogger(__name__)

_TCP, _UDP = 6, 17
_FIN, _SYN, _RST, _ACK = 1, 2, 4, 16
_MASK = 0xFFFFFFFF
_PUBLIC, _PRIVATE, _LINK, _OTHER = 1, 2, 3, 0
_MULTI = b"*"  # a MAC seen with several IPs of one family, or an IP seen behind several MACs
_TABLE_CAP = 1_000_000  # learning tables stop growing here (hostile or huge captures)


@dataclass(frozen=True, slots=True)
class FlowConfig:
    """Limits of the flow table.  Times are in capture seconds."""

    stream_cap: int = 8192
    """Bytes kept per TCP direction."""
    tcp_idle: float = 300.0
    """An open TCP flow with no packet for this long is evicted."""
    closed_linger: float = 10.0
    """A TCP flow closed by FIN or RST is evicted this long after its last packet."""
    udp_idle: float = 60.0
    """A UDP flow with no datagram for this long is evicted."""
    sweep_interval: float = 10.0
    """How often (capture time) idle flows are looked for."""
    max_flows: int = 200_000
    """Hard cap on live flows; beyond it the least recently seen are evicted."""
    udp_payloads_per_flow: int = 64
    """Datagrams per direction handed to dissectors (unicast flows)."""
    reorder_segments: int = 32
    """Out-of-order TCP segments held per direction."""
    reorder_window: int = 1 << 16
    """How far ahead of the expected sequence number a held segment may start."""


@dataclass(slots=True)
class FlowStats:
    """What the flow table did."""

    read: ReadStats = field(default_factory=ReadStats)
    """The reader's counters (packets, truncated, fragments...)."""
    flows: int = 0
    """Flows created (TCP and UDP)."""
    peak_flows: int = 0
    """Most flows alive at once."""
    evicted_idle: int = 0
    """Flows evicted because they were idle or closed."""
    evicted_pressure: int = 0
    """Flows evicted early because the table was full."""
    payloads: dict[str, int] = field(default_factory=dict)
    """Payloads handed to each dissector."""
    dissector_errors: dict[str, int] = field(default_factory=dict)
    """Exceptions raised by each dissector (or its heuristic); caught and skipped."""
    duplicates: int = 0
    """Observations and findings already known (same endpoint, kind and value), kept once."""


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """Everything one capture said."""

    observations: tuple[Observation, ...]
    """Distinct observations, in the order first seen (bindings and services last)."""
    findings: tuple[Finding, ...]
    """Distinct findings."""
    conversations: tuple[Conversation, ...]
    """Traffic summed per (client, server, transport, server port)."""
    stats: FlowStats
    """Counters."""


class _Half:
    """One direction of a TCP flow (and, listed in ``TcpBypass.dirs``, what the reader may do with it)."""

    __slots__ = (
        "buf",
        "bypass",
        "collecting",
        "done",
        "first_number",
        "first_ts",
        "flow",
        "mode",
        "next_seq",
        "packets",
        "pending",
    )

    def __init__(self, flow: _Flow) -> None:
        self.flow = flow
        """The flow this direction belongs to (the counters the reader updates)."""
        self.mode = 0
        """``BYPASS_*`` bits as listed in ``TcpBypass.dirs`` (0: not listed)."""
        self.next_seq: int | None = None
        self.buf: bytearray | None = None
        self.pending: dict[int, tuple[bytes, int, float]] | None = None
        self.first_number = 0
        self.first_ts = 0.0
        self.done = False
        self.packets = 0
        self.bypass = 0
        """What the reader may count without us: 0 nothing, 1 segments without payload, 2 any segment."""
        self.collecting = False
        """Has ``BYPASS_DATA``: the reader appends in-order segments to ``buf`` itself."""


class _Flow:
    """One TCP or UDP flow; ``c`` is the client side, ``s`` the server side."""

    __slots__ = (
        "bypass_keys",
        "bytes",
        "c",
        "c_ip",
        "c_mac",
        "c_port",
        "closed",
        "first_number",
        "first_ts",
        "key",
        "last_ts",
        "packets",
        "proto",
        "rkey",
        "s",
        "s_ip",
        "s_mac",
        "s_port",
        "spec",
        "tls",
        "uncapped",
        "unmatched",
    )

    def __init__(self, p: Packet, client_is_src: bool) -> None:
        if client_is_src:
            self.c_ip, self.c_port, self.c_mac = p.src_ip, p.sport, p.src_mac
            self.s_ip, self.s_port, self.s_mac = p.dst_ip, p.dport, p.dst_mac
        else:
            self.c_ip, self.c_port, self.c_mac = p.dst_ip, p.dport, p.dst_mac
            self.s_ip, self.s_port, self.s_mac = p.src_ip, p.sport, p.src_mac
        self.proto = p.proto
        self.key = (self.c_ip, self.c_port, self.s_ip, self.s_port, p.proto)
        self.rkey = (self.s_ip, self.s_port, self.c_ip, self.c_port, p.proto)
        self.first_ts = self.last_ts = p.ts
        self.first_number = p.number
        self.packets = 0
        self.bytes = 0
        self.c = _Half(self)
        self.s = _Half(self)
        self.spec: DissectorSpec | None = None
        self.unmatched = 0
        self.tls = False
        self.closed = False
        self.uncapped = False
        self.bypass_keys: tuple[bytes, bytes] | None = None
        """:class:`TcpBypass` keys (client to server, server to client), once the flow has some."""


class _Conv:
    """Sums of the flows of one conversation."""

    __slots__ = ("bytes", "c_mac", "first_ts", "last_ts", "name", "packets", "s_mac")

    def __init__(self, flow: _Flow) -> None:
        self.packets = flow.packets
        self.bytes = flow.bytes
        self.first_ts = flow.first_ts
        self.last_ts = flow.last_ts
        self.name = flow.spec.name if flow.spec is not None else None
        self.c_mac = flow.c_mac
        self.s_mac = flow.s_mac

    def add(self, flow: _Flow) -> None:
        """Fold another flow in."""
        self.packets += flow.packets
        self.bytes += flow.bytes
        self.first_ts = min(self.first_ts, flow.first_ts)
        self.last_ts = max(self.last_ts, flow.last_ts)
        if self.name is None and flow.spec is not None:
            self.name = flow.spec.name


class FlowTable:
    """Feed it packets with :meth:`add`, then call :meth:`finish` once for the result."""

    def __init__(self, specs: Sequence[DissectorSpec], file: str, config: FlowConfig | None = None) -> None:
        self.config = config or FlowConfig()
        """Limits."""
        self.file = file
        """Capture file name used in evidence."""
        self.stats = FlowStats()
        """Counters."""
        self._flows: dict[tuple[bytes | None, int, bytes | None, int, int], _Flow] = {}
        self._by_port: dict[tuple[str, int], list[DissectorSpec]] = {}
        self._heuristic: dict[str, list[DissectorSpec]] = {"tcp": [], "udp": []}
        self._l2: dict[int, DissectorSpec] = {}
        for spec in specs:
            if spec.transport == "l2":
                for et in spec.ethertypes:
                    self._l2.setdefault(et, spec)
                continue
            for port in sorted(spec.ports):
                self._by_port.setdefault((spec.transport, port), []).append(spec)
            if spec.heuristic is not None and spec.transport in self._heuristic:
                self._heuristic[spec.transport].append(spec)
        self._tcp_ports = {port for (t, port) in self._by_port if t == "tcp"}
        self._now = 0.0
        self._last_sweep = 0.0
        self._observations: dict[tuple[Endpoint, ObservationKind, str], Observation] = {}
        self._findings: dict[tuple[Endpoint, FindingKind, str], Finding] = {}
        self._conversations: dict[tuple[bytes | None, bytes | None, int, int], _Conv] = {}
        self._addr: dict[bytes, tuple[str, int]] = {}
        self._endpoints: dict[tuple[bytes | None, bytes | None], Endpoint] = {}
        self._bindings = 0  # bumped whenever a table _trusted_mac reads changes (invalidates _endpoint_cache)
        self._endpoint_cache: dict[tuple[bytes | None, bytes | None], tuple[int, Endpoint]] = {}
        self._mac_ip: dict[tuple[bytes, int], bytes] = {}
        self._ip_mac: dict[bytes, tuple[bytes, int, float]] = {}
        self._arp: dict[bytes, tuple[bytes, int, float]] = {}
        self._services: set[tuple[bytes, int, int]] = set()
        self._peers: set[tuple[bytes, bytes]] = set()
        self._l2_last: dict[tuple[bytes | None, int], int] = {}
        self._bypass: TcpBypass | None = None

    def enable_bypass(self) -> TcpBypass:
        """Let a :class:`~wardwatch.ingest.pcap.PcapReader` count packets that need nothing more.

        Once a TCP direction has been seen (and, for segments with payload, once its stream prefix has been
        handed over), its later segments without SYN, FIN or RST change nothing but the flow's counters: the
        table lists such directions in the returned object, and a reader given it counts those packets itself
        instead of building a :class:`Packet` for :meth:`add`.  Likewise, while a direction collects its stream
        prefix in order (no hole held, prefix not full), the reader appends its next in-order segments to the
        prefix itself (``BYPASS_DATA``).  The result is the same as feeding every packet.
        """
        if self._bypass is None:
            self._bypass = TcpBypass()
            self._bypass.stream_cap = self.config.stream_cap
            self._bypass_until()
        return self._bypass

    def _bypass_until(self) -> None:
        """Bypassed packets must stay before the next sweep (``add`` runs it on the packet that is due)."""
        if self._bypass is None:
            return
        last, interval = self._last_sweep, self.config.sweep_interval
        until = last + interval
        for _ in range(64):  # step below the rounding boundary so that ``ts < until`` implies no sweep due
            if until - last < interval:
                break
            until = math.nextafter(until, -math.inf)
        else:
            until = -math.inf
        self._bypass.until = until

    # -- per packet -----------------------------------------------------------------------------------------
    def add(self, p: Packet) -> None:
        """Account one packet."""
        ts = p.ts
        if ts > self._now:
            self._now = ts
            if ts - self._last_sweep >= self.config.sweep_interval:
                self._sweep()
        proto = p.proto
        if proto in (_TCP, _UDP):
            sport, src_ip = p.sport, p.src_ip
            flow = self._flows.get((src_ip, sport, p.dst_ip, p.dport, proto))
            if flow is None:
                flow = self._new_flow(p)
            flow.last_ts = ts
            flow.packets += 1
            flow.bytes += p.ip_len
            fwd = sport == flow.c_port and src_ip == flow.c_ip
            if proto == _TCP:
                self._tcp(flow, p, fwd)
            else:
                self._udp(flow, p, fwd)
        elif p.src_ip is not None:
            if p.ethertype == ETHERTYPE_ARP:
                self._arp_packet(p)
            elif p.src_mac is not None:
                self._learn(p.src_mac, p.src_ip, p.number, ts)
        elif self._l2 and p.ethertype in self._l2:
            self._l2_frame(p)

    def _new_flow(self, p: Packet) -> _Flow:
        if p.proto == _TCP:
            flags = p.tcp_flags
            if flags & _SYN:
                client_is_src = not flags & _ACK
            else:
                client_is_src = self._client_by_port(p.sport, p.dport, self._tcp_ports)
        else:
            client_is_src = p.sport >= p.dport
        flow = _Flow(p, client_is_src)
        if len(self._flows) >= 2 * self.config.max_flows:
            self._evict_oldest()
        self._flows[flow.key] = flow
        self._flows[flow.rkey] = flow
        self.stats.flows += 1
        live = len(self._flows) // 2
        if live > self.stats.peak_flows:
            self.stats.peak_flows = live
        if p.src_mac is not None and p.src_ip is not None:
            self._learn(p.src_mac, p.src_ip, p.number, p.ts)
        if p.proto == _UDP:
            dst = p.dst_ip
            flow.uncapped = dst is not None and (
                dst == b"\xff\xff\xff\xff" or dst[0] == 0xFF or (len(dst) == 4 and 224 <= dst[0] < 240)
            )
        self._external_peer(flow, p)
        return flow

    @staticmethod
    def _client_by_port(sport: int, dport: int, known: set[int]) -> bool:
        if dport in known and sport not in known:
            return True
        if sport in known and dport not in known:
            return False
        return sport >= dport

    def _tcp(self, flow: _Flow, p: Packet, fwd: bool) -> None:
        half = flow.c if fwd else flow.s
        if half.packets == 0 and not fwd and p.src_mac is not None and p.src_ip is not None:
            self._learn(p.src_mac, p.src_ip, p.number, p.ts)
        half.packets += 1
        flags = p.tcp_flags
        if flags & _SYN:
            if half.buf is None:
                half.next_seq = (p.seq + 1) & _MASK
            if not fwd and flags & _ACK and flow.s_ip is not None:
                self._service(flow.s_ip, flow.s_mac, "tcp", flow.s_port, p)
        elif p.payload and not half.done:
            self._segment(flow, half, p, fwd)
        if flags & (_FIN | _RST):
            if flags & _RST:
                flow.closed = True
                self._flush(flow)
            else:
                if half.buf is not None and not half.done:
                    self._dispatch_tcp(flow, fwd)
                half.done = True
                if flow.c.done and flow.s.done:
                    flow.closed = True
        if self._bypass is not None:
            c, s = flow.c, flow.s
            # A side's bypass state should be 1 + done once it has a packet (``_offer_bypass``).
            if (c.bypass <= c.done and c.packets) or (s.bypass <= s.done and s.packets):
                self._offer_bypass(flow, self._bypass)
            # While a side collects its prefix in order, the reader may append its next segments itself.
            collect = half.buf is not None and not half.done and half.next_seq is not None and not half.pending
            if collect != half.collecting and flow.bypass_keys is not None:
                half.collecting = collect
                _list(self._bypass, flow, half, flow.bypass_keys[0 if fwd else 1])

    @staticmethod
    def _offer_bypass(flow: _Flow, bypass: TcpBypass) -> None:
        """List the directions of ``flow`` whose next plain segments only need counting (see ``enable_bypass``).

        A direction qualifies once it has a packet (the first one may bind a MAC); its segments with payload
        qualify once it is done (prefix handed over or FIN); once both are done, a FIN only closes the flow.
        None of these conditions is ever undone; ``_end`` removes the entries with the flow.
        """
        keys = flow.bypass_keys
        if keys is None:
            c_ip, s_ip = flow.c_ip, flow.s_ip
            if c_ip is None or s_ip is None or len(c_ip) != 4 or len(s_ip) != 4:
                flow.c.bypass = flow.s.bypass = 2  # IPv6: never bypassed, nothing to offer again
                return
            c_port, s_port = flow.c_port.to_bytes(2, "big"), flow.s_port.to_bytes(2, "big")
            keys = flow.bypass_keys = (c_ip + s_ip + c_port + s_port, s_ip + c_ip + s_port + c_port)
        changed = False
        for half in (flow.c, flow.s):
            if half.packets:
                state = 2 if half.done else 1
                if state > half.bypass:
                    half.bypass = state
                    changed = True
        if changed:
            _list(bypass, flow, flow.c, keys[0])
            _list(bypass, flow, flow.s, keys[1])

    def _segment(self, flow: _Flow, half: _Half, p: Packet, fwd: bool) -> None:
        data = p.payload
        seq = p.seq
        if half.next_seq is None:  # no SYN seen: the capture started mid-stream
            half.next_seq = seq
        delta = (seq - half.next_seq) & _MASK
        if delta >= 0x80000000:
            delta -= 0x100000000
        if delta > 0:
            if delta <= self.config.reorder_window:
                if half.pending is None:
                    half.pending = {}
                held = half.pending.get(seq)
                if len(half.pending) < self.config.reorder_segments and (held is None or len(held[0]) < len(data)):
                    half.pending[seq] = (data, p.number, p.ts)
            return
        if delta < 0:
            if -delta >= len(data):
                return  # retransmission of bytes already kept
            data = data[-delta:]
        self._append(flow, half, data, p.number, p.ts, fwd)
        while half.pending and not half.done:
            progressed = False
            for pseq in list(half.pending):
                d = (pseq - (half.next_seq or 0)) & _MASK
                if d >= 0x80000000:
                    d -= 0x100000000
                if d <= 0:
                    pdata, pnum, pts = half.pending.pop(pseq)
                    if -d < len(pdata):
                        self._append(flow, half, pdata[-d:], pnum, pts, fwd)
                        progressed = True
                        break
            if not progressed:
                break

    def _append(self, flow: _Flow, half: _Half, data: bytes, number: int, ts: float, fwd: bool) -> None:
        if half.buf is None:
            half.buf = bytearray()
            half.first_number = number
            half.first_ts = ts
            other = flow.s if fwd else flow.c
            if other.buf is not None and not other.done:
                # The other side spoke first and this side answers: its message is complete.
                self._dispatch_tcp(flow, not fwd)
        buf, cap = half.buf, self.config.stream_cap
        room = cap - len(buf)
        buf += data[:room] if len(data) > room else data
        half.next_seq = ((half.next_seq or 0) + len(data)) & _MASK
        if len(buf) >= cap:
            self._dispatch_tcp(flow, fwd)

    def _flush(self, flow: _Flow) -> None:
        """Hand over whatever both directions of a TCP flow still hold."""
        if flow.proto != _TCP:
            return
        for fwd in (True, False):
            half = flow.c if fwd else flow.s
            if half.buf is not None and not half.done:
                self._dispatch_tcp(flow, fwd)
            half.done = True

    def _dispatch_tcp(self, flow: _Flow, fwd: bool) -> None:
        half = flow.c if fwd else flow.s
        half.done = True
        if half.collecting:
            half.collecting = False
            if self._bypass is not None and flow.bypass_keys is not None:
                _list(self._bypass, flow, half, flow.bypass_keys[0 if fwd else 1])
        data = bytes(half.buf) if half.buf else b""
        half.buf = bytearray()  # keeps "this side spoke" while releasing the bytes
        half.pending = None
        if not data:
            return
        if not flow.tls and len(data) > 5 and data[0] == 0x16 and data[1] == 3 and data[5] in (1, 2):
            flow.tls = True
        spec = self._choose(flow, data, "tcp")
        if spec is not None:
            self._run(spec, self._payload(flow, fwd, "tcp", data, half.first_number, half.first_ts))

    def _udp(self, flow: _Flow, p: Packet, fwd: bool) -> None:
        half = flow.c if fwd else flow.s
        half.packets += 1
        if half.packets == 1 and not fwd:
            if p.src_mac is not None and p.src_ip is not None:
                self._learn(p.src_mac, p.src_ip, p.number, p.ts)
            if flow.c.packets and flow.s_port < 49152 and flow.s_ip is not None:
                self._service(flow.s_ip, flow.s_mac, "udp", flow.s_port, p)
        data = p.payload
        if not data or (half.packets > self.config.udp_payloads_per_flow and not flow.uncapped):
            return
        if flow.spec is None and flow.unmatched >= 4:
            return
        spec = self._choose(flow, data, "udp")
        if spec is None:
            flow.unmatched += 1
            return
        self._run(spec, self._payload(flow, fwd, "udp", data, p.number, p.ts))

    # -- dissector choice and calls -------------------------------------------------------------------------
    def _choose(self, flow: _Flow, data: bytes, transport: str) -> DissectorSpec | None:
        if flow.spec is not None:
            return flow.spec
        by_port = self._by_port.get((transport, flow.s_port)) or self._by_port.get((transport, flow.c_port)) or []
        chosen = None
        for spec in by_port:
            if spec.heuristic is None or self._accepts(spec, spec.heuristic, data):
                chosen = spec
                break
        if chosen is None:
            for spec in self._heuristic[transport]:
                if spec.heuristic is not None and spec not in by_port and self._accepts(spec, spec.heuristic, data):
                    chosen = spec
                    break
        if chosen is None and by_port:
            chosen = by_port[0]
        flow.spec = chosen
        return chosen

    def _accepts(self, spec: DissectorSpec, heuristic: Callable[[bytes], bool], data: bytes) -> bool:
        try:
            return bool(heuristic(data))
        except Exception:  # a heuristic must never stop the run
            logger.debug("%s heuristic raised", spec.name, exc_info=True)
            self.stats.dissector_errors[spec.name] = self.stats.dissector_errors.get(spec.name, 0) + 1
            return False

    def _run(self, spec: DissectorSpec, payload: Payload) -> None:
        stats = self.stats
        stats.payloads[spec.name] = stats.payloads.get(spec.name, 0) + 1
        try:
            results = list(spec.dissect(payload))
        except Exception:  # a dissector must never stop the run
            logger.debug("%s dissector raised on packet %d", spec.name, payload.packet, exc_info=True)
            stats.dissector_errors[spec.name] = stats.dissector_errors.get(spec.name, 0) + 1
            return
        for item in results:
            if isinstance(item, Observation):
                self._observe(item)
            elif isinstance(item, Finding):
                self._find(item)

    def _payload(self, flow: _Flow, fwd: bool, transport: str, data: bytes, number: int, ts: float) -> Payload:
        client = self._endpoint(flow.c_ip, flow.c_mac)
        server = self._endpoint(flow.s_ip, flow.s_mac)
        if fwd:  # positional: this runs once per payload
            return Payload(client, server, transport, flow.c_port, flow.s_port, True, data, _when(ts), self.file,
                           number, None, flow.tls, self._recorded)  # fmt: skip
        return Payload(server, client, transport, flow.s_port, flow.c_port, False, data, _when(ts), self.file,
                       number, None, flow.tls, self._recorded)  # fmt: skip

    def _l2_frame(self, p: Packet) -> None:
        spec = self._l2[p.ethertype]
        key = (p.src_mac, p.ethertype)
        digest = hash(p.payload)
        if self._l2_last.get(key) == digest:
            return
        if len(self._l2_last) < _TABLE_CAP:
            self._l2_last[key] = digest
        payload = Payload(
            source=Endpoint(mac=_mac(p.src_mac)),
            destination=Endpoint(mac=_mac(p.dst_mac)),
            transport="l2",
            source_port=None,
            destination_port=None,
            from_client=True,
            data=p.payload,
            seen_at=_when(p.ts),
            file=self.file,
            packet=p.number,
            ethertype=p.ethertype,
        )
        self._run(spec, payload)

    # -- results --------------------------------------------------------------------------------------------
    def _recorded(self, endpoint: Endpoint, kind: ObservationKind | FindingKind, value: str) -> bool:
        """``Payload.recorded``: is this fact already kept?  A True answer counts the repeat."""
        known = self._observations if isinstance(kind, ObservationKind) else self._findings
        if (endpoint, kind, value) in known:
            self.stats.duplicates += 1
            return True
        return False

    def _observe(self, obs: Observation) -> None:
        key = (obs.endpoint, obs.kind, obs.value)
        if key in self._observations:
            self.stats.duplicates += 1
        else:
            self._observations[key] = obs

    def _find(self, finding: Finding) -> None:
        key = (finding.endpoint, finding.kind, finding.detail)
        if key in self._findings:
            self.stats.duplicates += 1
        else:
            self._findings[key] = finding

    def _evidence(self, number: int, protocol: str, detail: str | None = None) -> Evidence:
        return Evidence(self.file, f"packet {number}", protocol, intern(detail) if detail else detail)

    def _service(self, ip: bytes, mac: bytes | None, transport: str, port: int, p: Packet) -> None:
        key = (ip, 6 if transport == "tcp" else 17, port)
        if key in self._services or len(self._services) >= _TABLE_CAP:
            return
        self._services.add(key)
        detail = "answered a SYN with SYN-ACK" if transport == "tcp" else "answered a UDP datagram"
        self._observe(
            Observation(
                self._endpoint(ip, mac),
                ObservationKind.SERVICE,
                f"{transport}/{port}",
                _when(p.ts),
                self._evidence(p.number, transport, detail),
            )
        )

    def _external_peer(self, flow: _Flow, p: Packet) -> None:
        if flow.c_ip is None or flow.s_ip is None:
            return
        c_scope, s_scope = self._scope(flow.c_ip), self._scope(flow.s_ip)
        if not (c_scope == _PRIVATE and s_scope == _PUBLIC or c_scope == _PUBLIC and s_scope == _PRIVATE):
            return
        inside, outside, mac = (
            (flow.c_ip, flow.s_ip, flow.c_mac) if c_scope == _PRIVATE else (flow.s_ip, flow.c_ip, flow.s_mac)
        )
        if (inside, outside) in self._peers or len(self._peers) >= _TABLE_CAP:
            return
        self._peers.add((inside, outside))
        transport = "tcp" if flow.proto == _TCP else "udp"
        outside_text = self._text(outside)
        self._find(
            Finding(
                self._endpoint(inside, mac),
                FindingKind.EXTERNAL_PEER,
                intern(f"talks to public address {outside_text} ({transport}/{flow.s_port})"),
                _when(p.ts),
                self._evidence(p.number, transport, f"first packet to or from {outside_text}"),
            )
        )

    # -- addresses and MAC bindings -------------------------------------------------------------------------
    def _classify(self, ip: bytes) -> tuple[str, int]:
        found = self._addr.get(ip)
        if found is None:
            try:
                addr = ipaddress.ip_address(ip)
            except ValueError:
                return (ip.hex(), _OTHER)
            if addr.is_multicast or addr.is_unspecified or addr.is_loopback or ip == b"\xff\xff\xff\xff":
                scope = _OTHER
            elif addr.is_link_local:
                scope = _LINK
            elif addr.is_global:
                scope = _PUBLIC
            elif addr.is_private:
                scope = _PRIVATE
            else:
                scope = _OTHER
            found = (str(addr), scope)
            if len(self._addr) < _TABLE_CAP:
                self._addr[ip] = found
        return found

    def _text(self, ip: bytes) -> str:
        return self._classify(ip)[0]

    def _scope(self, ip: bytes) -> int:
        return self._classify(ip)[1]

    def _learn(self, mac: bytes, ip: bytes, number: int, ts: float) -> None:
        fam = len(ip)
        known = self._mac_ip.get((mac, fam))
        if known is None:
            if len(self._mac_ip) < _TABLE_CAP:
                self._mac_ip[(mac, fam)] = ip
                self._bindings += 1
        elif known != ip and known is not _MULTI:
            self._mac_ip[(mac, fam)] = _MULTI
            self._bindings += 1
        seen = self._ip_mac.get(ip)
        if seen is None:
            if len(self._ip_mac) < _TABLE_CAP:
                self._ip_mac[ip] = (mac, number, ts)
                self._bindings += 1
        elif seen[0] != mac and seen[0] is not _MULTI:
            self._ip_mac[ip] = (_MULTI, number, ts)
            self._bindings += 1

    def _arp_packet(self, p: Packet) -> None:
        mac, ip = p.src_mac, p.src_ip
        if mac is None or ip is None or ip == bytes(4) or mac in (bytes(6), b"\xff" * 6):
            return
        if ip not in self._arp and len(self._arp) < _TABLE_CAP:
            self._arp[ip] = (mac, p.number, p.ts)
            self._bindings += 1
        self._learn(mac, ip, p.number, p.ts)

    def _trusted_mac(self, ip: bytes | None, mac: bytes | None) -> bytes | None:
        """The MAC of ``ip`` if the traffic seen so far proves it is on the local segment."""
        if ip is None or mac is None:
            return None
        arp = self._arp.get(ip)
        if arp is not None:
            return arp[0] if arp[0] == mac else None
        scope = self._scope(ip)
        if scope == _LINK or ip == bytes(4):
            return mac
        if scope == _PRIVATE and self._mac_ip.get((mac, len(ip))) == ip:
            seen = self._ip_mac.get(ip)
            if seen is not None and seen[0] == mac:
                return mac
        return None

    def _endpoint(self, ip: bytes | None, mac: bytes | None) -> Endpoint:
        # What _trusted_mac says only changes when a binding table does: remember it until then.
        hit = self._endpoint_cache.get((ip, mac))
        if hit is not None and hit[0] == self._bindings:
            return hit[1]
        endpoint = self._endpoint_slow(ip, mac)
        if len(self._endpoint_cache) >= 100_000:
            self._endpoint_cache.clear()
        self._endpoint_cache[(ip, mac)] = (self._bindings, endpoint)
        return endpoint

    def _endpoint_slow(self, ip: bytes | None, mac: bytes | None) -> Endpoint:
        key = (ip, self._trusted_mac(ip, mac))
        found = self._endpoints.get(key)
        if found is None:
            found = Endpoint(mac=_mac(key[1]), ip=self._text(ip) if ip is not None else None)
            if len(self._endpoints) >= 100_000:
                self._endpoints.clear()
            self._endpoints[key] = found
        return found

    # -- eviction -------------------------------------------------------------------------------------------
    def _sweep(self) -> None:
        now = self._now
        self._last_sweep = now
        self._bypass_until()
        cfg = self.config
        stale = [
            flow
            for key, flow in self._flows.items()
            if key is flow.key
            and now - flow.last_ts
            > (cfg.closed_linger if flow.closed else cfg.tcp_idle if flow.proto == _TCP else cfg.udp_idle)
        ]
        for flow in stale:
            self._end(flow)
        self.stats.evicted_idle += len(stale)

    def _evict_oldest(self) -> None:
        flows = sorted((f for k, f in self._flows.items() if k is f.key), key=lambda f: f.last_ts)
        victims = flows[: max(1, len(flows) // 10)]
        for flow in victims:
            self._end(flow)
        self.stats.evicted_pressure += len(victims)

    def _end(self, flow: _Flow) -> None:
        self._flush(flow)
        self._flows.pop(flow.key, None)
        self._flows.pop(flow.rkey, None)
        if self._bypass is not None and flow.bypass_keys is not None:
            for bkey in flow.bypass_keys:
                self._bypass.dirs.pop(bkey, None)
        key = (flow.c_ip, flow.s_ip, flow.proto, flow.s_port)
        conv = self._conversations.get(key)
        if conv is None:
            self._conversations[key] = _Conv(flow)
        else:
            conv.add(flow)

    def finish(self) -> CaptureResult:
        """End every flow still open and return the result."""
        for flow in [f for k, f in self._flows.items() if k is f.key]:
            self._end(flow)
        for ip, (mac, number, ts) in self._arp.items():
            self._binding(ip, mac, number, ts, "arp", "ARP sender address")
        for ip, (mac, number, ts) in self._ip_mac.items():
            if ip not in self._arp and mac is not _MULTI and self._trusted_mac(ip, mac) == mac:
                self._binding(ip, mac, number, ts, "ip", "source MAC of unrouted traffic (one address per MAC)")
        conversations = []
        for (c_ip, s_ip, proto, port), conv in self._conversations.items():
            conversations.append(
                Conversation(
                    client=self._endpoint(c_ip, conv.c_mac),
                    server=self._endpoint(s_ip, conv.s_mac),
                    transport="tcp" if proto == _TCP else "udp",
                    port=port,
                    protocol=conv.name,
                    packets=conv.packets,
                    bytes=conv.bytes,
                    first_seen=_when(conv.first_ts),
                    last_seen=_when(conv.last_ts),
                )
            )
        return CaptureResult(
            observations=tuple(self._observations.values()),
            findings=tuple(self._findings.values()),
            conversations=tuple(conversations),
            stats=self.stats,
        )

    def _binding(self, ip: bytes, mac: bytes, number: int, ts: float, protocol: str, detail: str) -> None:
        mac_text, ip_text = mac.hex(":"), self._text(ip)
        endpoint = Endpoint(mac=mac_text, ip=ip_text)
        evidence = self._evidence(number, protocol, detail)
        when = _when(ts)
        self._observe(Observation(endpoint, ObservationKind.MAC, mac_text, when, evidence))
        self._observe(Observation(endpoint, ObservationKind.IP, ip_text, when, evidence))


def _list(bypass: TcpBypass, flow: _Flow, half: _Half, key: bytes) -> None:
    """List ``half`` in ``bypass.dirs`` under ``key`` with the mode its state allows (unlist it if none)."""
    mode = 0
    if half.bypass:
        mode = BYPASS_EMPTY
        if half.bypass == 2:
            mode |= BYPASS_ANY
            if flow.c.bypass == 2 and flow.s.bypass == 2:
                mode |= BYPASS_FIN
    if half.collecting and not mode & BYPASS_ANY:
        mode |= BYPASS_DATA
    half.mode = mode
    if mode:
        bypass.dirs[key] = half
    else:
        bypass.dirs.pop(key, None)


def _mac(raw: bytes | None) -> str | None:
    if raw is None or len(raw) != 6:
        return None
    return raw.hex(":")


def _when(ts: float) -> datetime:
    try:
        return datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.fromtimestamp(0, UTC)


def run_capture(
    path: str | os.PathLike[str],
    specs: Sequence[DissectorSpec],
    progress: Callable[[int, int], None] | None = None,
    config: FlowConfig | None = None,
) -> CaptureResult:
    """Read one capture and run the dissectors over it.

    ``specs`` is any list of :class:`DissectorSpec` (e.g. every module's ``SPEC``).  ``progress`` receives
    ``(bytes_read, total_bytes)`` as the file is read.  Raises
    :class:`~wardwatch.ingest.errors.IngestError` when the file is not a readable capture.
    """
    table = FlowTable(specs, Path(path).name, config)
    reader = PcapReader(path, progress, table.enable_bypass())
    table.stats.read = reader.stats
    add = table.add
    for packet in reader:
        add(packet)
    return table.finish()
