"""DHCP dissector: a real (fuzzed-type) DHCP request from nDPI, plus synthetic DHCPv4/DHCPv6 messages."""

from __future__ import annotations

import struct

from tests.discovery._fixtures import assert_never_raises, load, run, synthetic, values
from wardwatch.discovery import dhcp
from wardwatch.domain.observations import Endpoint, ObservationKind


def test_real_request_hostname_and_client_id() -> None:
    # nDPI: "PLAIN TEXT (MK03862)"; option 60 of this fuzzed packet overruns the datagram and is dropped.
    results = run(dhcp.dissect, load("dhcp_request_fuzzed"))
    assert values(results, ObservationKind.HOSTNAME) == ["MK03862"]
    assert values(results, ObservationKind.DHCP_CLIENT_ID) == ["01:00:1f:29:da:2d:79"]
    assert values(results, ObservationKind.DHCP_VENDOR_CLASS) == []
    assert all(r.endpoint == Endpoint(mac="00:1f:29:da:2d:79", ip="192.168.1.104") for r in results)
    assert results[0].evidence.locator == "packet 1"
    assert results[0].evidence.source == "dhcp-fuzz.pcapng"


def _v4(op: int, options: bytes, yiaddr: bytes = bytes(4)) -> bytes:
    """Synthetic BOOTP header (RFC 2131) + magic cookie + options."""
    chaddr = bytes.fromhex("0011223344aa") + bytes(10)
    header = bytes([op, 1, 6, 0]) + b"\x12\x34\x56\x78" + bytes(4) + bytes(4) + yiaddr + bytes(8) + chaddr
    return header + bytes(192) + b"\x63\x82\x53\x63" + options + b"\xff"


def test_synthetic_request_all_options() -> None:
    options = (
        b"\x35\x01\x03"
        + b"\x0c\x07INFUSE1"
        + b"\x3c\x08MSFT 5.0"
        + b"\x37\x04\x01\x03\x06\x0f"
        + b"\x32\x04\xc0\xa8\x01\x0a"
        + b"\x3d\x07\x01\x00\x11\x22\x33\x44\xaa"
        + b"\x51\x0f\x05\x00\x00\x05pump1\x04ward\x00"  # E flag: DNS wire format
    )
    results = run(dhcp.dissect, synthetic(_v4(1, options), 68, 67))
    assert values(results, ObservationKind.DHCP_FINGERPRINT) == ["1,3,6,15"]
    assert values(results, ObservationKind.HOSTNAME) == ["INFUSE1", "pump1.ward"]
    assert values(results, ObservationKind.DHCP_VENDOR_CLASS) == ["MSFT 5.0"]
    assert values(results, ObservationKind.DHCP_REQUESTED_IP) == ["192.168.1.10"]
    assert {r.endpoint for r in results} == {Endpoint(mac="00:11:22:33:44:aa")}
    assert results[0].evidence.detail == "DHCPREQUEST chaddr"


def test_synthetic_ack_gives_ip_to_client_mac() -> None:
    results = run(dhcp.dissect, synthetic(_v4(2, b"\x35\x01\x05", b"\x0a\x00\x00\x07"), 67, 68, from_client=False))
    assert [(r.endpoint, r.kind, r.value) for r in results] == [  # type: ignore[union-attr]
        (Endpoint(mac="00:11:22:33:44:aa"), ObservationKind.IP, "10.0.0.7")
    ]


def _v6_option(code: int, value: bytes) -> bytes:
    return struct.pack("!HH", code, len(value)) + value


def test_synthetic_dhcpv6_solicit() -> None:
    duid = b"\x00\x01\x00\x01" + b"\x2a\x00\x00\x01" + bytes.fromhex("0011223344aa")
    vendor = struct.pack("!I", 311) + struct.pack("!H", 8) + b"MSFT 5.0"
    data = (
        b"\x01\xab\xcd\xef"
        + _v6_option(1, duid)
        + _v6_option(16, vendor)
        + _v6_option(39, b"\x01\x07monitor\x03icu\x00")
        + _v6_option(6, b"\x00\x17\x00\x18")
    )
    results = run(dhcp.dissect, synthetic(data, 546, 547, src_ip="fe80::1"))
    assert values(results, ObservationKind.DHCP_CLIENT_ID) == [duid.hex(":")]
    assert values(results, ObservationKind.DHCP_VENDOR_CLASS) == ["311:MSFT 5.0"]
    assert values(results, ObservationKind.HOSTNAME) == ["monitor.icu"]
    assert values(results, ObservationKind.DHCP_FINGERPRINT) == ["23,24"]
    assert results[0].evidence.detail == "DHCPv6 SOLICIT option 1 client DUID"
    # a server's ADVERTISE is not about the client
    assert run(dhcp.dissect, synthetic(b"\x02" + data[1:], 547, 546, from_client=False)) == []


def test_garbage_is_ignored() -> None:
    assert run(dhcp.dissect, synthetic(b"\x01" * 100, 68, 67)) == []
    assert run(dhcp.dissect, synthetic(b"", 546, 547)) == []


def test_fuzz() -> None:
    v6 = synthetic(b"\x01\xab\xcd\xef" + _v6_option(39, b"\x01\x03abc\x00"), 546, 547)
    assert_never_raises(dhcp.dissect, [load("dhcp_request_fuzzed"), synthetic(_v4(1, b"\x35\x01\x01"), 68, 67), v6])
