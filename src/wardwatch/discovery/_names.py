"""Reading DNS-style domain names (RFC 1035 §4.1.4), shared by DNS, mDNS, NetBIOS-NS and DHCP FQDN options.

Compression pointers are followed safely: each pointer must go strictly backwards from where it was read
(so loops cannot happen), the name is limited to 255 bytes and every read is bounds-checked.
"""

from __future__ import annotations

__all__ = ["name_text", "read_name"]

_MAX_NAME = 255


def read_name(data: bytes, offset: int, *, compression: bool = True) -> tuple[list[bytes], int] | None:
    """The labels of the name at ``offset`` and the offset just after it; ``None`` if malformed.

    >>> read_name(b"\\x03www\\x07example\\x03com\\x00", 0)
    ([b'www', b'example', b'com'], 17)
    >>> read_name(b"\\xc0\\x00", 0) is None  # a pointer to itself
    True
    """
    labels: list[bytes] = []
    total = 0
    end: int | None = None
    pos = offset
    limit = len(data)  # a pointer must point strictly before the previous one
    while True:
        if pos >= len(data):
            return None
        length = data[pos]
        if length == 0:
            return labels, (end if end is not None else pos + 1)
        if length & 0xC0 == 0xC0:
            if not compression or pos + 1 >= len(data):
                return None
            target = ((length & 0x3F) << 8) | data[pos + 1]
            if end is None:
                end = pos + 2
            if target >= min(pos, limit):
                return None
            limit = target
            pos = target
            continue
        if length & 0xC0:
            return None  # 0x40 / 0x80: extended or reserved label types
        label = data[pos + 1 : pos + 1 + length]
        if len(label) != length:
            return None
        total += length + 1
        if total > _MAX_NAME:
            return None
        labels.append(label)
        pos += 1 + length


def name_text(labels: list[bytes]) -> str:
    """Dotted text for labels (bytes decoded as UTF-8 with replacement)."""
    return ".".join(label.decode("utf-8", errors="replace") for label in labels)
