"""DNS / mDNS dissector: real queries from nDPI's dns.pcap, synthetic mDNS announcements and pointer attacks."""

from __future__ import annotations

import struct

from tests.discovery._fixtures import assert_never_raises, load, run, synthetic, values
from wardwatch.discovery import dns
from wardwatch.discovery._names import read_name
from wardwatch.domain.observations import Endpoint, ObservationKind


def test_real_query_for_the_client() -> None:
    results = run(dns.dissect, load("dns_query"))
    assert values(results, ObservationKind.DNS_QUERY) == ["www.example.com"]
    assert results[0].endpoint == Endpoint(mac="00:e0:18:b1:0c:ad", ip="192.168.170.8")
    assert results[0].evidence.detail == "question type 28"


def test_real_query_over_pppoe() -> None:
    # nDPI: Hostname/SNI e7.whatsapp.net
    results = run(dns.dissect, load("dns_query_pppoe"))
    assert values(results, ObservationKind.DNS_QUERY) == ["e7.whatsapp.net"]
    assert results[0].endpoint.ip == "82.178.113.245"


def _rr(name: bytes, rtype: int, rdata: bytes) -> bytes:
    return name + struct.pack("!HHIH", rtype, 0x8001, 120, len(rdata)) + rdata


def test_synthetic_mdns_announcement() -> None:
    header = struct.pack("!6H", 0, 0x8400, 0, 4, 0, 0)
    ptr_owner = b"\x04_ipp\x04_tcp\x05local\x00"  # at offset 12
    instance = b"\x0bInfusionHub\xc0\x0c"  # "InfusionHub._ipp._tcp.local"
    first = _rr(ptr_owner, 12, instance)
    instance_at = 12 + len(ptr_owner) + 10
    pointer = struct.pack("!H", 0xC000 | instance_at)
    host = b"\x05hub01\xc0\x16"  # hub01.local (offset 22 is "local")
    srv = _rr(pointer, 33, struct.pack("!HHH", 0, 0, 631) + host)
    txt = _rr(pointer, 16, b"\x0cty=Model 500")
    a_record = _rr(b"\x05hub01\xc0\x16", 1, bytes([192, 0, 2, 1]))
    other = _rr(b"\x05other\xc0\x16", 1, bytes([192, 0, 2, 9]))
    data = header[:6] + struct.pack("!H", 5) + header[8:] + first + srv + txt + a_record + other
    results = run(dns.dissect, synthetic(data, 5353, 5353, src_ip="192.0.2.1"))
    assert values(results, ObservationKind.MDNS_SERVICE) == ["InfusionHub._ipp._tcp.local"]
    hostnames = [(r.endpoint, r.value) for r in results if r.kind == ObservationKind.HOSTNAME]  # type: ignore[union-attr]
    announcer = Endpoint(mac="02:00:00:00:00:01", ip="192.0.2.1")
    assert hostnames == [(announcer, "hub01.local"), (Endpoint(ip="192.0.2.9"), "other.local")]
    assert results[0].evidence.protocol == "mdns"


def test_pointer_loops_and_out_of_bounds() -> None:
    assert read_name(b"\xc0\x00", 0) is None
    assert read_name(b"\x01a\xc0\x02", 0) is None  # points forward onto itself
    assert read_name(b"\x01a\xc0\x00", 0) is None  # loops back to the start
    assert read_name(b"\x05ab", 0) is None
    assert read_name(b"\x01a\x00\xc0\x00", 3) == ([b"a"], 5)
    header = struct.pack("!6H", 1, 0, 1, 0, 0, 0)
    assert run(dns.dissect, synthetic(header + b"\xc0\x0c\x00\x01\x00\x01", 40000, 53)) == []


def test_responses_are_not_queries() -> None:
    assert (
        run(dns.dissect, synthetic(load("dns_query").data[:2] + b"\x81\x80" + load("dns_query").data[4:], 53, 1)) == []
    )


def test_fuzz() -> None:
    assert_never_raises(dns.dissect, [load("dns_query"), load("dns_query_pppoe")])
