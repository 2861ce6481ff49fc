"""SNMP dissector: real v1/v2c/v3 messages from snmp.pcap, a synthetic sysDescr response and private community."""

from __future__ import annotations

from tests.discovery._fixtures import assert_never_raises, load, run, synthetic, values
from wardwatch.discovery import snmp
from wardwatch.domain.observations import FindingKind, ObservationKind

AGENT = "97.0.115.163"


def test_request_attributes_community_to_the_agent() -> None:
    results = run(snmp.dissect, load("snmp_v1_get"))
    assert values(results, ObservationKind.SNMP_COMMUNITY) == ["public"]
    assert len(values(results, FindingKind.SNMP_V1V2C)) == 1
    assert values(results, FindingKind.SNMP_DEFAULT_COMMUNITY) == []  # not proven until the agent answers
    assert {r.endpoint.ip for r in results} == {AGENT}


def test_response_sysname_and_default_community() -> None:
    results = run(snmp.dissect, load("snmp_v1_response"))
    assert values(results, ObservationKind.HOSTNAME) == ["R1.lab.local"]
    assert len(values(results, FindingKind.SNMP_DEFAULT_COMMUNITY)) == 1
    assert {r.endpoint.ip for r in results} == {AGENT}


def test_snmpv3_is_ignored() -> None:
    assert run(snmp.dissect, load("snmp_v3_get")) == []


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag, len(value)]) + value


def test_synthetic_sysdescr_with_private_community_masked() -> None:
    descr = b"Philips IntelliVue MX800"
    varbind = _tlv(0x30, _tlv(0x06, bytes.fromhex("2b06010201010100")) + _tlv(0x04, descr))
    pdu = _tlv(0xA2, _tlv(0x02, b"\x01") + _tlv(0x02, b"\x00") + _tlv(0x02, b"\x00") + _tlv(0x30, varbind))
    message = _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, b"icu-s3cret") + pdu)
    results = run(snmp.dissect, synthetic(message, 161, 40000, from_client=False))
    assert values(results, ObservationKind.SNMP_SYSDESCR) == ["Philips IntelliVue MX800"]
    assert values(results, ObservationKind.SNMP_COMMUNITY) == ["i*********"]
    assert values(results, FindingKind.SNMP_DEFAULT_COMMUNITY) == []
    assert "s3cret" not in repr(results)


def test_fuzz() -> None:
    assert_never_raises(snmp.dissect, [load("snmp_v1_get"), load("snmp_v1_response"), load("snmp_v3_get")])
