"""TLS 1.2 handshake records and a well-formed (unsigned) X.509 certificate, without real cryptography.

Enough for a passive reader: the ClientHello carries the SNI, the server answers ServerHello, Certificate and
ServerHelloDone; key exchange, Finished and application data are random-looking bytes. The certificate is
valid DER (RSA key, sha256WithRSAEncryption) with a placeholder signature, so its fingerprint is stable.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from wardwatch.simulate._payloads import ber, ber_int, ber_oid

TLS12 = 0x0303
CIPHER = 0x009C  # TLS_RSA_WITH_AES_128_GCM_SHA256: no ServerKeyExchange needed, plausible on older devices
CIPHER_NAME = "TLS_RSA_WITH_AES_128_GCM_SHA256"
_OFFERED = (0xC02B, 0xC02F, 0xC02C, 0xC030, 0x009C, 0x009D, 0x002F, 0x0035)
_HANDSHAKE, _CCS, _APPDATA = 22, 20, 23


def _record(content_type: int, body: bytes) -> bytes:
    return struct.pack("!BHH", content_type, TLS12, len(body)) + body


def _handshake(msg_type: int, body: bytes) -> bytes:
    return struct.pack("!B", msg_type) + len(body).to_bytes(3, "big") + body


def _ext(ext_type: int, body: bytes) -> bytes:
    return struct.pack("!HH", ext_type, len(body)) + body


def filler(seed: str, n: int) -> bytes:
    """``n`` deterministic pseudo-random bytes (stand-in for key material and ciphertext)."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return out[:n]


def client_hello(server_name: str, seed: str) -> bytes:
    """A TLS 1.2 ClientHello record with server_name, supported_groups, ec_point_formats and
    signature_algorithms extensions."""
    name = server_name.encode("ascii")
    sni = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    extensions = (
        _ext(0x0000, sni)
        + _ext(0x000A, struct.pack("!HHHH", 6, 0x001D, 0x0017, 0x0018))
        + _ext(0x000B, b"\x01\x00")
        + _ext(0x000D, struct.pack("!HHHHH", 8, 0x0401, 0x0501, 0x0804, 0x0403))
        + _ext(0xFF01, b"\x00")
    )
    suites = b"".join(struct.pack("!H", c) for c in _OFFERED)
    body = (
        struct.pack("!H", TLS12)
        + filler(seed + ":cr", 32)
        + b"\x00"
        + struct.pack("!H", len(suites))
        + suites
        + b"\x01\x00"
        + struct.pack("!H", len(extensions))
        + extensions
    )
    return _record(_HANDSHAKE, _handshake(1, body))


def server_flight(certificate: bytes, seed: str) -> bytes:
    """ServerHello, Certificate and ServerHelloDone in one handshake record."""
    hello = struct.pack("!H", TLS12) + filler(seed + ":sr", 32) + b"\x20" + filler(seed + ":sid", 32)
    hello += struct.pack("!HB", CIPHER, 0) + struct.pack("!H", 5) + _ext(0xFF01, b"\x00")
    chain = len(certificate).to_bytes(3, "big") + certificate
    cert_msg = len(chain).to_bytes(3, "big") + chain
    return _record(_HANDSHAKE, _handshake(2, hello) + _handshake(11, cert_msg) + _handshake(14, b""))


def client_finish(seed: str) -> bytes:
    """ClientKeyExchange (RSA-encrypted premaster), ChangeCipherSpec and the encrypted Finished."""
    exchange = _record(_HANDSHAKE, _handshake(16, struct.pack("!H", 256) + filler(seed + ":pms", 256)))
    return exchange + _record(_CCS, b"\x01") + _record(_HANDSHAKE, filler(seed + ":cfin", 40))


def server_finish(seed: str) -> bytes:
    """ChangeCipherSpec and the encrypted Finished."""
    return _record(_CCS, b"\x01") + _record(_HANDSHAKE, filler(seed + ":sfin", 40))


def application_data(seed: str, n: int) -> bytes:
    """One application-data record of ``n`` opaque bytes."""
    return _record(_APPDATA, filler(seed + ":app", n))


# --- X.509 ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Certificate:
    """A server certificate and the facts Zeek's x509.log reports about it."""

    der: bytes
    """DER encoding."""
    fingerprint: str
    """SHA-256 of the DER, lower-case hex (Zeek's default fingerprint)."""
    serial: str
    """Serial number, upper-case hex."""
    subject: str
    """Subject in Zeek's RFC 2253 form (``CN=...,O=...``)."""
    issuer: str
    """Issuer in the same form."""
    not_before: int
    """Validity start, epoch seconds."""
    not_after: int
    """Validity end, epoch seconds."""
    dns_name: str
    """The one subjectAltName dNSName."""


def _seq(*parts: bytes) -> bytes:
    return ber(0x30, b"".join(parts))


def _name(common_name: str, organization: str) -> bytes:
    cn = ber(0x31, _seq(ber_oid("2.5.4.3"), ber(0x0C, common_name.encode("utf-8"))))
    org = ber(0x31, _seq(ber_oid("2.5.4.10"), ber(0x0C, organization.encode("utf-8"))))
    return _seq(org, cn)


def _utc(moment: datetime) -> bytes:
    return ber(0x17, moment.strftime("%y%m%d%H%M%SZ").encode("ascii"))


@cache
def certificate(dns_name: str, organization: str, issuer_cn: str) -> Certificate:
    """A deterministic certificate for ``dns_name`` issued by ``issuer_cn`` (cached per name)."""
    digest = hashlib.sha256(dns_name.encode()).digest()
    serial = int.from_bytes(digest[:8], "big") >> 1
    before, after = datetime(2024, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    sig_alg = _seq(ber_oid("1.2.840.113549.1.1.11"), b"\x05\x00")
    modulus = b"\x00\xc1" + filler(dns_name + ":n", 255)
    public_key = _seq(ber(0x02, modulus), ber_int(65537))
    spki = _seq(_seq(ber_oid("1.2.840.113549.1.1.1"), b"\x05\x00"), ber(0x03, b"\x00" + public_key))
    san = _seq(ber(0x82, dns_name.encode("ascii")))
    extensions = ber(0xA3, _seq(_seq(ber_oid("2.5.29.17"), ber(0x04, san))))
    tbs = _seq(
        ber(0xA0, ber_int(2)),
        ber_int(serial),
        sig_alg,
        _name(issuer_cn, organization),
        _seq(_utc(before), _utc(after)),
        _name(dns_name, organization),
        spki,
        extensions,
    )
    der = _seq(tbs, sig_alg, ber(0x03, b"\x00" + filler(dns_name + ":sig", 256)))
    return Certificate(
        der=der,
        fingerprint=hashlib.sha256(der).hexdigest(),
        serial=f"{serial:X}",
        subject=f"CN={dns_name},O={organization}",
        issuer=f"CN={issuer_cn},O={organization}",
        not_before=int(before.timestamp()),
        not_after=int(after.timestamp()),
        dns_name=dns_name,
    )
