"""The flow table: reassembly, dispatch, eviction, bindings, findings and conversations."""

from __future__ import annotations

import struct
from pathlib import Path

from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.discovery.flows import FlowConfig, run_capture
from wardwatch.domain.observations import Endpoint, FindingKind, Observation, ObservationKind

PCAPS = Path(__file__).parent.parent / "fixtures" / "pcap"

MAC_C, MAC_S, MAC_R = bytes.fromhex("020000000001"), bytes.fromhex("020000000002"), bytes.fromhex("02000000ffff")
IP_C, IP_S = bytes((10, 0, 0, 1)), bytes((10, 0, 0, 2))


def tcp(sport: int, dport: int, seq: int, flags: int, data: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 0x50, flags, 1024, 0, 0) + data


def udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def frame(smac: bytes, dmac: bytes, src: bytes, dst: bytes, proto: int, l4: bytes) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0, src, dst) + l4
    return dmac + smac + b"\x08\x00" + ip


def pcap(frames: list[bytes], step: float = 0.001) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, f in enumerate(frames):
        ts = 1_700_000_000 + i * step
        out.append(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(f), len(f)) + f)
    return b"".join(out)


class Recorder:
    """A fake dissector that keeps what it was given."""

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.payloads: list[Payload] = []

    def __call__(self, payload: Payload) -> Result:
        self.payloads.append(payload)
        return [
            Observation(
                payload.source,
                ObservationKind.SOFTWARE,
                payload.data[:8].hex(),
                payload.seen_at,
                payload.evidence(self.name),
            )
        ]


def c2s(seq: int, flags: int, data: bytes = b"") -> bytes:
    return frame(MAC_C, MAC_S, IP_C, IP_S, 6, tcp(40000, 104, seq, flags, data))


def s2c(seq: int, flags: int, data: bytes = b"") -> bytes:
    return frame(MAC_S, MAC_C, IP_S, IP_C, 6, tcp(104, 40000, seq, flags, data))


def test_tcp_reassembly_out_of_order_with_retransmission(tmp_path: Path) -> None:
    rec = Recorder()
    spec = DissectorSpec("fake", rec, "tcp", heuristic=lambda b: b.startswith(b"\x01\x00"))
    frames = [
        c2s(100, 0x02),
        s2c(900, 0x12),
        c2s(101, 0x10),
        c2s(101, 0x18, b"\x01\x00AAAA"),  # packet 4: first segment
        c2s(111, 0x18, b"CCCC"),  # packet 5: arrives before the middle one
        c2s(101, 0x18, b"\x01\x00AAAA"),  # retransmission
        c2s(107, 0x18, b"BBBB"),  # packet 7: fills the hole
        s2c(901, 0x18, b"answer"),  # the server answers: the request is complete
        c2s(115, 0x11),
        s2c(907, 0x11),
    ]
    path = tmp_path / "ooo.pcap"
    path.write_bytes(pcap(frames))
    result = run_capture(path, [spec])
    client, server = rec.payloads
    assert client.data == b"\x01\x00AAAABBBBCCCC"
    assert (client.from_client, client.packet, client.source_port, client.destination_port) == (True, 4, 40000, 104)
    assert (server.data, server.from_client, server.packet) == (b"answer", False, 8)
    assert client.source == Endpoint(mac="02:00:00:00:00:01", ip="10.0.0.1")
    service = [o for o in result.observations if o.kind is ObservationKind.SERVICE]
    assert [(o.endpoint.ip, o.value, o.evidence.locator) for o in service] == [("10.0.0.2", "tcp/104", "packet 2")]
    [conv] = result.conversations
    assert (conv.client.ip, conv.server.ip, conv.port, conv.protocol, conv.packets) == (
        "10.0.0.1",
        "10.0.0.2",
        104,
        "fake",
        10,
    )


def test_stream_cap_stops_buffering(tmp_path: Path) -> None:
    rec = Recorder()
    spec = DissectorSpec("fake", rec, "tcp", ports=frozenset({104}))
    frames = [c2s(100, 0x02), s2c(900, 0x12)] + [c2s(101 + i * 1000, 0x10, bytes(1000)) for i in range(20)]
    path = tmp_path / "big.pcap"
    path.write_bytes(pcap(frames))
    run_capture(path, [spec], config=FlowConfig(stream_cap=4096))
    [payload] = rec.payloads
    assert len(payload.data) == 4096
    assert payload.packet == 3


def test_real_hl7_capture_goes_to_a_heuristic_dissector_on_any_port() -> None:
    rec = Recorder("hl7")
    spec = DissectorSpec("hl7", rec, "tcp", heuristic=lambda b: b[:4] == b"\x0bMSH")
    result = run_capture(PCAPS / "hl7.pcap", [spec])
    first = rec.payloads[0]
    assert first.destination_port == 6661  # not a port the spec names
    assert first.data.startswith(b"\x0bMSH|")
    assert first.from_client
    assert result.stats.read.packets == 9
    [conv] = result.conversations
    assert (conv.packets, conv.protocol, conv.port) == (9, "hl7", 6661)


def test_http_capture_external_peer_service_and_binding() -> None:
    rec = Recorder("http")
    result = run_capture(PCAPS / "http.pcapng", [DissectorSpec("http", rec, "tcp", ports=frozenset({80}))])
    assert rec.payloads[0].data.startswith(b"GET / HTTP/1.1")
    [finding] = result.findings
    assert finding.kind is FindingKind.EXTERNAL_PEER
    assert finding.endpoint.ip == "192.168.1.128"
    assert "216.58.208.142" in finding.detail
    # The public server's frames carry the router's MAC: never bound to the remote IP.
    remote = [o for o in result.observations if o.endpoint.ip == "216.58.208.142"]
    assert remote
    assert all(o.endpoint.mac is None for o in remote)
    [conv] = result.conversations
    assert (conv.packets, conv.transport, conv.port) == (10, "tcp", 80)


def test_router_mac_is_not_bound_to_the_addresses_it_forwards(tmp_path: Path) -> None:
    arp = (
        MAC_S
        + MAC_R
        + b"\x08\x06"
        + struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, MAC_R, bytes((10, 0, 0, 254)), MAC_C, IP_C)
    )
    frames = [arp]
    for remote in (bytes((10, 9, 0, 1)), bytes((10, 9, 0, 2)), bytes((8, 8, 8, 8))):
        frames.append(frame(MAC_R, MAC_C, remote, IP_C, 17, udp(53, 5353, b"x")))
    frames.append(frame(MAC_C, MAC_S, IP_C, IP_S, 17, udp(1234, 161, b"x")))
    path = tmp_path / "r.pcap"
    path.write_bytes(pcap(frames))
    result = run_capture(path, [])
    bound = {(o.endpoint.ip, o.endpoint.mac) for o in result.observations if o.kind is ObservationKind.MAC}
    assert ("10.0.0.254", "02:00:00:00:ff:ff") in bound  # ARP
    assert ("10.0.0.1", "02:00:00:00:00:01") in bound  # one address per MAC, unrouted
    assert not any(ip and ip.startswith(("10.9.", "8.8.")) for ip, _ in bound)


def test_udp_every_datagram_and_dissector_errors_are_counted(tmp_path: Path) -> None:
    rec = Recorder("snmp")
    calls = {"n": 0}

    def broken(payload: Payload) -> Result:
        calls["n"] += 1
        raise ValueError("boom")

    frames = [frame(MAC_C, MAC_S, IP_C, IP_S, 17, udp(40000, 161, bytes([i]))) for i in range(5)]
    frames += [frame(MAC_C, MAC_S, IP_C, IP_S, 17, udp(40001, 9999, b"x"))]
    path = tmp_path / "u.pcap"
    path.write_bytes(pcap(frames))
    result = run_capture(
        path,
        [
            DissectorSpec("snmp", rec, "udp", ports=frozenset({161})),
            DissectorSpec("bad", broken, "udp", ports=frozenset({9999})),
        ],
    )
    assert [p.data for p in rec.payloads] == [bytes([i]) for i in range(5)]
    assert all(p.from_client and p.transport == "udp" for p in rec.payloads)
    assert result.stats.dissector_errors == {"bad": 1}
    assert result.stats.payloads == {"snmp": 5, "bad": 1}


def test_l2_frames_go_to_l2_specs_once_per_sender(tmp_path: Path) -> None:
    rec = Recorder("lldp")
    lldp = MAC_C + MAC_S + b"\x88\xcc" + b"lldp-tlvs"
    cdp_body = b"\xaa\xaa\x03\x00\x00\x0c\x20\x00" + b"cdp"
    cdp = MAC_C + MAC_S + struct.pack("!H", len(cdp_body)) + cdp_body
    path = tmp_path / "l2.pcap"
    path.write_bytes(pcap([lldp, lldp, cdp]))
    run_capture(path, [DissectorSpec("lldp", rec, "l2", ethertypes=frozenset({0x88CC, 0x2000}))])
    assert [(p.ethertype, p.data, p.packet) for p in rec.payloads] == [(0x88CC, b"lldp-tlvs", 1), (0x2000, b"cdp", 3)]
    assert rec.payloads[0].source.mac == "02:00:00:00:00:02"


def test_idle_eviction_keeps_the_table_small(tmp_path: Path) -> None:
    # 100k one-datagram flows, 10 ms apart (1000 s of capture): with a 60 s UDP timeout at most ~7k are alive.
    frames = [
        frame(MAC_C, MAC_S, IP_C, bytes((10, 1, i >> 8 & 255, i & 255)), 17, udp(1024 + i % 50000, 7000, b""))
        for i in range(100_000)
    ]
    path = tmp_path / "many.pcap"
    path.write_bytes(pcap(frames, step=0.01))
    result = run_capture(path, [])
    assert result.stats.flows == 100_000
    assert result.stats.peak_flows < 8_000
    assert result.stats.evicted_idle > 90_000


def test_table_cap_evicts_under_pressure(tmp_path: Path) -> None:
    frames = [frame(MAC_C, MAC_S, IP_C, IP_S, 17, udp(1024 + i, 7000, b"")) for i in range(5000)]
    path = tmp_path / "burst.pcap"
    path.write_bytes(pcap(frames, step=0.0))
    result = run_capture(path, [], config=FlowConfig(max_flows=1000))
    assert result.stats.peak_flows <= 1000
    assert result.stats.evicted_pressure > 0
    assert sum(c.packets for c in result.conversations) == 5000


def test_progress_callback_reaches_the_file_size() -> None:
    calls: list[tuple[int, int]] = []
    run_capture(PCAPS / "telnet.pcap", [], progress=lambda done, total: calls.append((done, total)))
    size = (PCAPS / "telnet.pcap").stat().st_size
    assert calls[-1] == (size, size)
