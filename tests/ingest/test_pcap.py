"""The capture reader on real nDPI captures and on tiny synthetic ones written here with struct."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest

from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.pcap import MAX_RECORD, Packet, PcapReader

PCAPS = Path(__file__).parent.parent / "fixtures" / "pcap"

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
IP_A = bytes((10, 0, 0, 1))
IP_B = bytes((10, 0, 0, 2))


# -- builders -----------------------------------------------------------------------------------------------------


def tcp(sport: int, dport: int, seq: int, flags: int, data: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 0x50, flags, 1024, 0, 0) + data


def udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def ipv4(src: bytes, dst: bytes, proto: int, l4: bytes, frag: int = 0x4000) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, frag, 64, proto, 0, src, dst) + l4


def ipv6(src: bytes, dst: bytes, nxt: int, l4: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(l4), nxt, 64, src, dst) + l4


def ether(etype: int, body: bytes, vlans: tuple[int, ...] = ()) -> bytes:
    head = MAC_B + MAC_A
    for i, vid in enumerate(vlans):
        head += struct.pack("!HH", 0x88A8 if i == 0 and len(vlans) > 1 else 0x8100, vid)
    return head + struct.pack("!H", etype) + body


def pcap(frames: list[bytes], linktype: int = 1, magic: int = 0xA1B2C3D4, endian: str = "<") -> bytes:
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for i, f in enumerate(frames):
        out += struct.pack(endian + "IIII", 1_700_000_000 + i, 500, len(f), len(f)) + f
    return out


def pcapng_block(btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def write(tmp_path: Path, data: bytes, name: str = "c.pcap") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def packets(path: Path) -> tuple[list[Packet], PcapReader]:
    reader = PcapReader(path)
    return list(reader), reader


# -- real captures --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "count"),
    # Counts are `tshark -r FILE | wc -l` (tshark 4.0.17), computed once when writing this test.
    [
        ("dns.pcap", 5),
        ("http.pcapng", 10),
        ("hl7.pcap", 9),
        ("smbv1.pcap", 7),
        ("telnet.pcap", 92),
        ("dhcp-fuzz.pcapng", 1),
    ],
)
def test_real_captures_packet_counts(name: str, count: int) -> None:
    pkts, reader = packets(PCAPS / name)
    assert len(pkts) == count
    assert reader.stats.packets == count
    assert [p.number for p in pkts] == list(range(1, count + 1))
    assert reader.stats.truncated == reader.stats.malformed == reader.stats.corrupt == 0


def test_telnet_ports_and_directions() -> None:
    # tshark -T fields -e tcp.srcport -e tcp.dstport: 48 packets 1550->23, 44 packets 23->1550.
    pkts, _ = packets(PCAPS / "telnet.pcap")
    assert sum(1 for p in pkts if (p.sport, p.dport) == (1550, 23)) == 48
    assert sum(1 for p in pkts if (p.sport, p.dport) == (23, 1550)) == 44
    assert all(p.proto == 6 and p.src_mac is not None for p in pkts)


def test_pcapng_http_payload_and_gzip_give_the_same_packets(tmp_path: Path) -> None:
    plain, _ = packets(PCAPS / "http.pcapng")
    request = next(p for p in plain if p.payload.startswith(b"GET "))
    assert request.dport == 80
    assert b"User-Agent: curl/7.68.0" in request.payload
    gz = write(tmp_path, gzip.compress((PCAPS / "http.pcapng").read_bytes()), "http.pcapng.gz")
    zipped, _ = packets(gz)
    assert [(p.number, p.ts, p.payload) for p in zipped] == [(p.number, p.ts, p.payload) for p in plain]


def test_smb_payload_is_trimmed_to_ip_length() -> None:
    pkts, _ = packets(PCAPS / "smbv1.pcap")
    first = pkts[0]
    # Frame 1 is 191 bytes: 14 Ethernet + 20 IP + 20/32 TCP; the NetBIOS header says how long SMB is.
    assert first.payload[4:8] == b"\xffSMB"
    assert len(first.payload) == 4 + int.from_bytes(first.payload[1:4], "big")


# -- synthetic link and network layers ------------------------------------------------------------------------------


def test_qinq_vlans_and_ethernet_padding(tmp_path: Path) -> None:
    frame = ether(0x0800, ipv4(IP_A, IP_B, 17, udp(5000, 53, b"abc")), vlans=(100, 200)) + bytes(20)
    [p], _ = packets(write(tmp_path, pcap([frame])))
    assert p.vlans == (100, 200)
    assert p.ethertype == 0x0800
    assert (p.src_mac, p.dst_mac, p.src_ip, p.dst_ip) == (MAC_A, MAC_B, IP_A, IP_B)
    assert (p.proto, p.sport, p.dport, p.payload) == (17, 5000, 53, b"abc")  # padding not in payload
    assert p.ip_len == 20 + 8 + 3


def test_linux_sll_and_sll2(tmp_path: Path) -> None:
    body = ipv4(IP_A, IP_B, 6, tcp(40000, 104, 7, 0x18, b"hello"))
    sll = struct.pack("!HHH8sH", 0, 1, 6, MAC_A + b"\0\0", 0x0800) + body
    [p], _ = packets(write(tmp_path, pcap([sll], linktype=113)))
    assert (p.src_mac, p.dport, p.seq, p.payload) == (MAC_A, 104, 7, b"hello")
    sll2 = struct.pack("!HHIHBB8s", 0x0800, 0, 3, 1, 0, 6, MAC_A + b"\0\0") + body
    [p2], _ = packets(write(tmp_path, pcap([sll2], linktype=276), "b.pcap"))
    assert (p2.src_mac, p2.dport, p2.payload) == (MAC_A, 104, b"hello")


def test_ipv6_extension_headers_and_fragments(tmp_path: Path) -> None:
    src, dst = bytes.fromhex("fe80" + "00" * 13 + "01"), bytes.fromhex("fd00" + "00" * 13 + "02")
    hop_by_hop = bytes((60, 0)) + bytes(6)  # next: destination options
    dest_opts = bytes((17, 0)) + bytes(6)  # next: UDP
    first = ether(0x86DD, ipv6(src, dst, 0, hop_by_hop + dest_opts + udp(546, 547, b"dhcpv6")))
    later_fragment = ether(0x86DD, ipv6(src, dst, 44, bytes((17, 0)) + struct.pack("!HI", 8 << 3, 1) + b"rest"))
    pkts, reader = packets(write(tmp_path, pcap([first, later_fragment])))
    assert len(pkts) == 1
    assert (pkts[0].src_ip, pkts[0].dst_ip, pkts[0].sport, pkts[0].payload) == (src, dst, 546, b"dhcpv6")
    assert reader.stats.fragments == 1


def test_ipv4_later_fragment_is_counted_and_skipped(tmp_path: Path) -> None:
    frames = [
        ether(0x0800, ipv4(IP_A, IP_B, 17, udp(1, 2, b"x" * 16), frag=0x2000)),
        ether(0x0800, ipv4(IP_A, IP_B, 17, b"y" * 16, frag=3)),
    ]
    pkts, reader = packets(write(tmp_path, pcap(frames)))
    assert [p.number for p in pkts] == [1]
    assert reader.stats.fragments == 1
    assert reader.stats.packets == 2


def test_raw_and_null_links_nanosecond_big_endian(tmp_path: Path) -> None:
    body = ipv4(IP_A, IP_B, 6, tcp(1, 2, 0, 0x02))
    data = pcap([body], linktype=101, magic=0xA1B23C4D, endian=">")
    [p], _ = packets(write(tmp_path, data))
    assert p.src_mac is None
    assert p.ts == pytest.approx(1_700_000_000 + 500e-9)
    null = struct.pack("<I", 2) + body
    [q], _ = packets(write(tmp_path, pcap([null], linktype=0), "n.pcap"))
    assert (q.src_ip, q.tcp_flags) == (IP_A, 0x02)


def test_arp_and_snap_frames(tmp_path: Path) -> None:
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_A, IP_A, bytes(6), IP_B)
    cdp = b"\xaa\xaa\x03\x00\x00\x0c\x20\x00" + b"cdp-body"
    snap = MAC_B + MAC_A + struct.pack("!H", len(cdp)) + cdp
    lldp = ether(0x88CC, b"lldp-body")
    pkts, _ = packets(write(tmp_path, pcap([ether(0x0806, arp), snap, lldp])))
    assert (pkts[0].ethertype, pkts[0].src_mac, pkts[0].src_ip, pkts[0].dst_ip) == (0x0806, MAC_A, IP_A, IP_B)
    assert (pkts[1].ethertype, pkts[1].payload) == (0x2000, b"cdp-body")
    assert (pkts[2].ethertype, pkts[2].payload) == (0x88CC, b"lldp-body")


def test_pcapng_two_interfaces_with_their_own_link_and_resolution(tmp_path: Path) -> None:
    shb = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb_eth = pcapng_block(1, struct.pack("<HHI", 1, 0, 0))
    tsresol_ns = struct.pack("<HH", 9, 1) + bytes((9, 0, 0, 0)) + struct.pack("<HH", 0, 0)
    idb_raw = pcapng_block(1, struct.pack("<HHI", 101, 0, 0) + tsresol_ns)
    frame = ether(0x0800, ipv4(IP_A, IP_B, 17, udp(68, 67, b"eth")))
    raw = ipv4(IP_B, IP_A, 17, udp(67, 68, b"raw"))
    ts_us, ts_ns = 1_700_000_000_000_000, 1_700_000_000_000_000_123

    def epb(iface: int, ts: int, data: bytes) -> bytes:
        return pcapng_block(6, struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data)) + data)

    nrb = pcapng_block(4, bytes(4))
    data = shb + idb_eth + idb_raw + epb(0, ts_us, frame) + nrb + epb(1, ts_ns, raw)
    pkts, reader = packets(write(tmp_path, data, "c.pcapng"))
    assert [(p.number, p.payload) for p in pkts] == [(1, b"eth"), (2, b"raw")]
    assert pkts[0].src_mac == MAC_A
    assert pkts[1].src_mac is None
    assert pkts[1].ts == pytest.approx(1_700_000_000.000000123)
    assert reader.stats.link_types == {1: 1, 101: 1}
    assert reader.stats.skipped_blocks == 1


# -- hostile files --------------------------------------------------------------------------------------------------


def test_truncated_last_record_is_counted(tmp_path: Path) -> None:
    data = (PCAPS / "telnet.pcap").read_bytes()[:-10]
    pkts, reader = packets(write(tmp_path, data))
    assert len(pkts) == 91
    assert reader.stats.truncated_file


def test_short_and_garbage_frames_are_counted_and_skipped(tmp_path: Path) -> None:
    good = ether(0x0800, ipv4(IP_A, IP_B, 17, udp(1, 2, b"ok")))
    bad_version = ether(0x0800, b"\x95" + bytes(30))
    short_tcp = ether(0x0800, ipv4(IP_A, IP_B, 6, b"\x00\x01"))
    pkts, reader = packets(write(tmp_path, pcap([b"\x01\x02", bad_version, short_tcp, good])))
    assert [p.number for p in pkts] == [4]
    assert reader.stats.truncated == 2
    assert reader.stats.malformed == 1


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "is empty"),
        (b"GIF89a" + bytes(100), "not a pcap or pcapng"),
        (gzip.compress(b"hello, this is not a capture" * 10, mtime=0), "not a pcap or pcapng"),
        (b"\x1f\x8b" + b"garbage that is not deflate", "cannot be decompressed"),
        (pcap([]) + struct.pack("<IIII", 0, 0, 0x7FFFFFFF, 0x7FFFFFFF), "claiming 2147483647 bytes"),
    ],
)
def test_not_a_capture_is_one_clear_error(tmp_path: Path, content: bytes, words: str) -> None:
    path = write(tmp_path, content, "upload.bin")
    with pytest.raises(IngestError) as info:
        list(PcapReader(path))
    message = str(info.value)
    assert "upload.bin" in message
    assert words in message
    assert "\n" not in message


def test_absurd_length_after_good_packets_stops_and_counts(tmp_path: Path) -> None:
    good = ether(0x0800, ipv4(IP_A, IP_B, 17, udp(1, 2, b"ok")))
    data = pcap([good, good]) + struct.pack("<IIII", 0, 0, MAX_RECORD + 1, 10) + bytes(64)
    pkts, reader = packets(write(tmp_path, data))
    assert len(pkts) == 2
    assert reader.stats.corrupt == 1


def test_pcapng_absurd_block_length(tmp_path: Path) -> None:
    shb = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    data = shb + struct.pack("<II", 6, 0x80000000) + bytes(32)
    with pytest.raises(IngestError, match="claiming"):
        list(PcapReader(write(tmp_path, data, "x.pcapng")))


def test_missing_file_is_an_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot be opened"):
        list(PcapReader(tmp_path / "nope.pcap"))


def test_progress_reports_file_size(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    list(PcapReader(PCAPS / "telnet.pcap", progress=lambda done, total: calls.append((done, total))))
    size = (PCAPS / "telnet.pcap").stat().st_size
    assert calls
    assert calls[-1] == (size, size)
