"""TLS handshakes in the clear (RFC 5246, RFC 8446), on TLS ports or recognised by their first record header.

- ClientHello (about the client): server name indication -> ``TLS_SNI``; the highest version offered
  (``supported_versions`` when present, else the legacy version) -> ``TLS_VERSION``.
- ServerHello (about the server): the negotiated version -> ``TLS_VERSION``; SSL 3.0, TLS 1.0 or TLS 1.1
  negotiated -> an ``OLD_TLS`` finding on the server, which accepted it.
- Certificate (TLS 1.2 and older, where it is not encrypted): subject and issuer of the first (leaf)
  certificate -> ``TLS_CERT_SUBJECT`` / ``TLS_CERT_ISSUER`` of the sender, as RFC 4514 strings.

Handshake messages are reassembled across the records of the stream prefix; parsing stops at the first
non-handshake record (after ChangeCipherSpec everything is encrypted).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.discovery._ber import children, oid_text, read_tlv
from wardwatch.discovery._common import MAX_VALUE, finding, observation, text
from wardwatch.domain.observations import Finding, FindingKind, Observation, ObservationKind

__all__ = ["SPEC", "dissect", "looks_like_tls", "version_name"]

_PROTO = "tls"
_VERSIONS = {0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}
_OLD = {0x0300, 0x0301, 0x0302}
_ATTRIBUTES = {
    "2.5.4.3": "CN",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "STREET",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "title",
    "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
    "1.2.840.113549.1.9.1": "emailAddress",
}
_STRING_CODECS = {12: "utf-8", 19: "ascii", 20: "latin-1", 22: "ascii", 26: "ascii", 28: "utf-32-be", 30: "utf-16-be"}


def looks_like_tls(data: bytes) -> bool:
    """Heuristic: a TLS handshake record header (``16 03 0x``).

    >>> looks_like_tls(bytes.fromhex("160301020001"))
    True
    """
    return len(data) >= 5 and data[0] == 0x16 and data[1] == 3 and data[2] <= 4


def version_name(version: int) -> str:
    """``TLS 1.2`` for 0x0303; hex for anything unknown.

    >>> version_name(0x0301)
    'TLS 1.0'
    """
    return _VERSIONS.get(version, f"0x{version:04x}")


def dissect(payload: Payload) -> Result:
    """Observations and findings from the handshake at the start of one direction of a TLS conversation."""
    out: list[Observation | Finding] = []
    for msg_type, body in _handshakes(payload.data):
        if msg_type == 1:
            out.extend(_client_hello(payload, body))
        elif msg_type == 2:
            out.extend(_server_hello(payload, body))
        elif msg_type == 11:
            out.extend(_certificate(payload, body))
    return out


def _handshakes(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Handshake messages (type, body) from the leading handshake records."""
    stream = bytearray()
    pos = 0
    while pos + 5 <= len(data) and looks_like_tls(data[pos : pos + 5]):
        (length,) = struct.unpack_from("!H", data, pos + 3)
        stream += data[pos + 5 : pos + 5 + length]
        pos += 5 + length
    pos = 0
    while pos + 4 <= len(stream):
        msg_type = stream[pos]
        length = int.from_bytes(stream[pos + 1 : pos + 4], "big")
        body = bytes(stream[pos + 4 : pos + 4 + length])
        if len(body) != length:
            return
        yield msg_type, body
        pos += 4 + length


def _extensions(body: bytes, pos: int) -> dict[int, bytes]:
    """Extensions starting at ``pos`` (a 2-byte total length then type/length/value entries)."""
    out: dict[int, bytes] = {}
    if pos + 2 > len(body):
        return out
    (total,) = struct.unpack_from("!H", body, pos)
    end = min(pos + 2 + total, len(body))
    pos += 2
    while pos + 4 <= end:
        ext_type, length = struct.unpack_from("!HH", body, pos)
        out.setdefault(ext_type, body[pos + 4 : pos + 4 + length])
        pos += 4 + length
    return out


def _skip_vector(body: bytes, pos: int, size: int) -> int | None:
    """Offset after a vector with a ``size``-byte length prefix; ``None`` if it overruns."""
    if pos + size > len(body):
        return None
    pos += size + int.from_bytes(body[pos : pos + size], "big")
    return pos if pos <= len(body) else None


def _client_hello(payload: Payload, body: bytes) -> Iterator[Observation]:
    if len(body) < 35:
        return
    (legacy,) = struct.unpack_from("!H", body, 0)
    pos: int | None = 34
    for size in (1, 2, 1):  # session id, cipher suites, compression methods
        pos = _skip_vector(body, pos, size) if pos is not None else None
    extensions = _extensions(body, pos) if pos is not None else {}
    sni = _server_name(extensions.get(0, b""))
    if sni:
        yield observation(payload, payload.source, ObservationKind.TLS_SNI, sni, _PROTO, "ClientHello server_name")
    offered = [v for v in _supported_versions(extensions.get(43, b"")) if v in _VERSIONS]
    detail = "ClientHello highest supported_versions" if offered else "ClientHello legacy_version"
    highest = max(offered) if offered else legacy
    yield observation(payload, payload.source, ObservationKind.TLS_VERSION, version_name(highest), _PROTO, detail)


def _server_name(ext: bytes) -> str | None:
    pos = 2
    while pos + 3 <= len(ext):
        name_type = ext[pos]
        (length,) = struct.unpack_from("!H", ext, pos + 1)
        if name_type == 0:
            return text(ext[pos + 3 : pos + 3 + length], "ascii")
        pos += 3 + length
    return None


def _supported_versions(ext: bytes) -> list[int]:
    if not ext:
        return []
    return [v for (v,) in struct.iter_unpack("!H", ext[1 : 1 + ext[0] - ext[0] % 2])]


def _server_hello(payload: Payload, body: bytes) -> Iterator[Observation | Finding]:
    if len(body) < 35:
        return
    (version,) = struct.unpack_from("!H", body, 0)
    pos = _skip_vector(body, 34, 1)
    selected = _extensions(body, pos + 3) if pos is not None else {}  # + cipher suite (2) + compression (1)
    detail = "ServerHello negotiated version"
    if len(selected.get(43, b"")) == 2:
        (version,) = struct.unpack("!H", selected[43])
        detail = "ServerHello supported_versions"
    name = version_name(version)
    yield observation(payload, payload.source, ObservationKind.TLS_VERSION, name, _PROTO, detail)
    if version in _OLD:
        peer = payload.destination.ip or payload.destination.mac or "a client"
        yield finding(payload, payload.source, FindingKind.OLD_TLS, f"{name} negotiated with {peer}", _PROTO, detail)


def _certificate(payload: Payload, body: bytes) -> Iterator[Observation]:
    if len(body) < 6:
        return
    length = int.from_bytes(body[3:6], "big")
    der = body[6 : 6 + length]
    names = _subject_issuer(der)
    if names is None:
        return
    whose = "server" if not payload.from_client else "client"
    subject, issuer = names
    if subject:
        detail = f"{whose} certificate subject"
        yield observation(payload, payload.source, ObservationKind.TLS_CERT_SUBJECT, subject, _PROTO, detail)
    if issuer:
        detail = f"{whose} certificate issuer"
        yield observation(payload, payload.source, ObservationKind.TLS_CERT_ISSUER, issuer, _PROTO, detail)


def _subject_issuer(der: bytes) -> tuple[str, str] | None:
    """RFC 4514 subject and issuer of a DER X.509 certificate; ``None`` if it does not parse."""
    cert = read_tlv(der, 0)
    tbs = read_tlv(der, cert[1], cert[2]) if cert and cert[0] == 0x30 else None
    fields = children(der, tbs[1], tbs[2]) if tbs and tbs[0] == 0x30 else None
    if not fields:
        return None
    if fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject
    if len(fields) < 5 or fields[2][0] != 0x30 or fields[4][0] != 0x30:
        return None
    issuer, subject = _name(der, fields[2]), _name(der, fields[4])
    if issuer is None or subject is None:
        return None
    return subject, issuer


def _name(der: bytes, tlv: tuple[int, int, int]) -> str | None:
    """RFC 4514 rendering of a Name (last RDN first)."""
    rdns = children(der, tlv[1], tlv[2])
    if rdns is None:
        return None
    parts: list[str] = []
    for _, start, end in rdns:
        attributes = children(der, start, end) or []
        values: list[str] = []
        for _, a_start, a_end in attributes:
            pair = children(der, a_start, a_end)
            if not pair or len(pair) != 2 or pair[0][0] != 0x06:
                return None
            oid = oid_text(der[pair[0][1] : pair[0][2]]) or "?"
            codec = _STRING_CODECS.get(pair[1][0], "latin-1")
            value = der[pair[1][1] : pair[1][2]].decode(codec, errors="replace")
            values.append(f"{_ATTRIBUTES.get(oid, oid)}={_escape(value)}")
        parts.append("+".join(values))
    return ",".join(reversed(parts))[:MAX_VALUE]


def _escape(value: str) -> str:
    """RFC 4514 §2.4 escaping of an attribute value."""
    out = "".join("\\" + c if c in ',+"\\<>;' else c for c in value)
    if out.startswith(("#", " ")):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return "".join(c for c in out if c.isprintable())


SPEC = DissectorSpec(
    name=_PROTO,
    dissect=dissect,
    transport="tcp",
    ports=frozenset({443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 2762, 5061, 5671, 6443, 8443, 8883}),
    heuristic=looks_like_tls,
)
"""TLS on the usual TLS ports (2762 is DICOM over TLS) and anywhere a handshake record starts the stream."""
