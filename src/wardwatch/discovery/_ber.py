"""A minimal, bounds-checked BER/DER reader (X.690) for SNMP messages and X.509 certificates.

Only definite lengths and low tag numbers (< 31) are supported: that is all SNMP and X.509 use.  Every
function returns ``None`` instead of raising on malformed input.
"""

from __future__ import annotations

__all__ = ["Tlv", "children", "oid_text", "read_tlv"]

Tlv = tuple[int, int, int]
"""(tag byte, start of the value, end of the value) within the buffer."""


def read_tlv(data: bytes, pos: int, end: int | None = None) -> Tlv | None:
    """The TLV at ``pos`` that must end by ``end`` (default: the end of ``data``); ``None`` if malformed.

    >>> read_tlv(b"\\x04\\x06public", 0)
    (4, 2, 8)
    >>> read_tlv(b"\\x04\\x86public", 0) is None
    True
    """
    limit = len(data) if end is None else min(end, len(data))
    if pos + 2 > limit:
        return None
    tag, first = data[pos], data[pos + 1]
    if tag & 0x1F == 0x1F:
        return None
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > limit:
            return None
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > limit:
        return None
    return tag, pos, pos + length


def children(data: bytes, start: int, end: int, limit: int = 4096) -> list[Tlv] | None:
    """The TLVs packed in ``data[start:end]`` (the value of a constructed TLV); ``None`` if any is malformed."""
    out: list[Tlv] = []
    pos = start
    while pos < end:
        tlv = read_tlv(data, pos, end)
        if tlv is None or len(out) >= limit:
            return None
        out.append(tlv)
        pos = tlv[2]
    return out


def oid_text(raw: bytes) -> str | None:
    """Dotted text of a BER OBJECT IDENTIFIER value; ``None`` if malformed.

    >>> oid_text(bytes.fromhex("2b06010201010100"))
    '1.3.6.1.2.1.1.1.0'
    """
    if not raw or raw[-1] & 0x80:
        return None
    arcs: list[int] = []
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])
