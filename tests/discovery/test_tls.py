"""TLS dissector: real handshakes (selfsigned.pcap, tls_malicious_sha1.pcapng) and synthetic old versions."""

from __future__ import annotations

import struct

from tests.discovery._fixtures import assert_never_raises, load, run, synthetic, values
from wardwatch.discovery import tls
from wardwatch.domain.observations import FindingKind, ObservationKind


def test_client_hello_sni_and_version() -> None:
    results = run(tls.dissect, load("tls_selfsigned_client"))
    assert values(results, ObservationKind.TLS_SNI) == ["localhost"]  # nDPI: Hostname/SNI localhost
    assert values(results, ObservationKind.TLS_VERSION) == ["TLS 1.2"]


def test_self_signed_certificate_subject_and_issuer() -> None:
    # nDPI: Issuer: C=IT, ST=Some-State, O=ntop.org; Subject: the same
    results = run(tls.dissect, load("tls_selfsigned_server"))
    assert values(results, ObservationKind.TLS_CERT_SUBJECT) == ["O=ntop.org,ST=Some-State,C=IT"]
    assert values(results, ObservationKind.TLS_CERT_ISSUER) == ["O=ntop.org,ST=Some-State,C=IT"]
    assert values(results, FindingKind.OLD_TLS) == []


def test_certificate_reassembled_across_segments_ipv6() -> None:
    # nDPI: Issuer: C=US, O=Google Trust Services LLC, CN=GTS CA 1D4; Subject: CN=www.prbtest.dev
    results = run(tls.dissect, load("tls_sha1_server"))
    assert values(results, ObservationKind.TLS_CERT_SUBJECT) == ["CN=www.prbtest.dev"]
    assert values(results, ObservationKind.TLS_CERT_ISSUER) == ["CN=GTS CA 1D4,O=Google Trust Services LLC,C=US"]
    assert results[0].endpoint.ip == "2a00:1450:4002:414::2013"


def _handshake(msg_type: int, body: bytes, record_version: int = 0x0301) -> bytes:
    message = bytes([msg_type]) + len(body).to_bytes(3, "big") + body
    return b"\x16" + struct.pack("!HH", record_version, len(message)) + message


def test_synthetic_server_hello_tls10_is_old() -> None:
    body = b"\x03\x01" + bytes(32) + b"\x00" + b"\x00\x2f" + b"\x00"
    results = run(tls.dissect, synthetic(_handshake(2, body), 443, 50000, from_client=False, transport="tcp"))
    assert values(results, ObservationKind.TLS_VERSION) == ["TLS 1.0"]
    (detail,) = values(results, FindingKind.OLD_TLS)
    assert detail == "TLS 1.0 negotiated with 192.0.2.2"
    assert results[1].endpoint.ip == "192.0.2.1"


def test_synthetic_tls13_supported_versions() -> None:
    versions = b"\x06\x0a\x0a\x03\x04\x03\x03"  # GREASE, TLS 1.3, TLS 1.2
    extensions = struct.pack("!HH", 43, len(versions)) + versions
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + struct.pack("!H", len(extensions))
    results = run(tls.dissect, synthetic(_handshake(1, body + extensions), 50000, 2762, transport="tcp"))
    assert values(results, ObservationKind.TLS_VERSION) == ["TLS 1.3"]
    hello = b"\x03\x03" + bytes(32) + b"\x00\x13\x01\x00" + b"\x00\x06\x00\x2b\x00\x02\x03\x04"
    server = run(tls.dissect, synthetic(_handshake(2, hello), 2762, 50000, from_client=False, transport="tcp"))
    assert values(server, ObservationKind.TLS_VERSION) == ["TLS 1.3"]
    assert values(server, FindingKind.OLD_TLS) == []


def test_heuristic() -> None:
    assert tls.looks_like_tls(load("tls_selfsigned_client").data)
    assert not tls.looks_like_tls(b"GET / HTTP/1.1")


def test_fuzz() -> None:
    seeds = [load("tls_selfsigned_client"), load("tls_selfsigned_server"), load("tls_sha1_server")]
    assert_never_raises(tls.dissect, seeds)
