"""LLDP / CDP dissector.  No real capture in the corpus has LLDP or CDP: all frames here are SYNTHETIC,
built from IEEE 802.1AB-2016 §8 (TLV layout) and the Cisco CDP TLV list."""

from __future__ import annotations

import struct

from tests.discovery._fixtures import assert_never_raises, run, synthetic, values
from wardwatch.discovery import lldp
from wardwatch.domain.observations import Endpoint, ObservationKind

SWITCH = "02:00:00:00:00:01"


def _tlv(tlv_type: int, value: bytes) -> bytes:
    return struct.pack("!H", (tlv_type << 9) | len(value)) + value


LLDP_FRAME = (
    _tlv(1, b"\x04" + bytes.fromhex("00259cabcdef"))
    + _tlv(2, b"\x05Gi1/0/12")
    + _tlv(3, b"\x00\x78")
    + _tlv(4, b"ICU bed 4 monitor")
    + _tlv(5, b"icu-access-sw1")
    + _tlv(6, b"Cisco IOS Software, C2960X")
    + _tlv(8, b"\x05\x01\x0a\x01\x02\x03" + b"\x02\x00\x00\x00\x01\x00")
    + _tlv(127, b"\x00\x80\xc2\x01\x00\x0a")
    + _tlv(127, b"\x00\x80\xc2\x03\x00\x0a\x08Clinical")
    + _tlv(0, b"")
)


def test_synthetic_lldp() -> None:
    results = run(lldp.dissect, synthetic(LLDP_FRAME, None, None, transport="l2", ethertype=0x88CC, src_ip=None))
    assert values(results, ObservationKind.LLDP_SYSTEM_NAME) == ["icu-access-sw1"]
    assert values(results, ObservationKind.LLDP_PORT) == ["Gi1/0/12", "ICU bed 4 monitor"]
    assert values(results, ObservationKind.LLDP_VLAN) == ["10", "10 Clinical"]
    assert values(results, ObservationKind.SOFTWARE) == ["Cisco IOS Software, C2960X"]
    assert values(results, ObservationKind.IP) == ["10.1.2.3"]
    assert {r.endpoint for r in results} == {Endpoint(mac=SWITCH)}
    assert results[0].evidence.protocol == "lldp"


def _cdp_tlv(tlv_type: int, value: bytes) -> bytes:
    return struct.pack("!HH", tlv_type, len(value) + 4) + value


CDP = (
    b"\xaa\xaa\x03\x00\x00\x0c\x20\x00"
    + b"\x02\xb4\x00\x00"
    + _cdp_tlv(1, b"core-sw2.hospital.local")
    + _cdp_tlv(2, struct.pack("!I", 1) + b"\x01\x01\xcc\x00\x04\x0a\x00\x00\x02")
    + _cdp_tlv(3, b"GigabitEthernet1/0/1")
    + _cdp_tlv(5, b"Cisco IOS Software, Version 15.2(2)E\nCopyright")
    + _cdp_tlv(6, b"cisco WS-C3750X-48P")
    + _cdp_tlv(10, b"\x00\x14")
)


def test_synthetic_cdp() -> None:
    results = run(lldp.dissect, synthetic(CDP, None, None, transport="l2", ethertype=0x2000, src_ip=None))
    assert values(results, ObservationKind.LLDP_SYSTEM_NAME) == ["core-sw2.hospital.local"]
    assert values(results, ObservationKind.LLDP_PORT) == ["GigabitEthernet1/0/1"]
    assert values(results, ObservationKind.LLDP_VLAN) == ["20"]
    assert values(results, ObservationKind.SOFTWARE) == ["Cisco IOS Software, Version 15.2(2)E", "cisco WS-C3750X-48P"]
    assert values(results, ObservationKind.IP) == ["10.0.0.2"]
    assert results[0].evidence.protocol == "cdp"


def test_other_ethertypes_are_ignored() -> None:
    assert run(lldp.dissect, synthetic(LLDP_FRAME, None, None, transport="l2", ethertype=0x0800)) == []


def test_fuzz() -> None:
    seeds = [
        synthetic(LLDP_FRAME, None, None, transport="l2", ethertype=0x88CC),
        synthetic(CDP, None, None, transport="l2", ethertype=0x2000),
    ]
    assert_never_raises(lldp.dissect, seeds)
