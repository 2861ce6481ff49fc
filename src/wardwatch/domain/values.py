"""Normalising the cell values that maintenance systems and sensors write: identifiers, addresses, flags, dates.

Each function returns the canonical value, ``None`` for a blank or a placeholder (``N/A``, ``unknown``, ``-``...),
or raises :class:`InvalidValue` with a message that says what was expected.  Missing means ``None``: nothing
here invents a value.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime

__all__ = [
    "InvalidValue",
    "is_placeholder",
    "normalize_asset_tag",
    "normalize_bool",
    "normalize_date",
    "normalize_hostname",
    "normalize_ip",
    "normalize_mac",
    "normalize_serial",
    "normalize_text",
    "normalize_vlan",
]


class InvalidValue(ValueError):
    """A cell holds something that is not a valid value of its kind; the message says what was expected."""


_PLACEHOLDERS = frozenset(
    {
        "",
        "-",
        "--",
        "?",
        "n/a",
        "na",
        "n.a.",
        "none",
        "null",
        "nil",
        "unknown",
        "unk",
        "tbd",
        "tba",
        "not available",
        "not applicable",
        "see it",
        "see notes",
        "#n/a",
        "0",
    }
)

_SPACES = re.compile(r"\s+")


def is_placeholder(raw: str | None) -> bool:
    """True for blanks and the usual stand-ins for "no value".

    >>> is_placeholder(" N/A "), is_placeholder("TBD"), is_placeholder("Alaris")
    (True, True, False)
    """
    return raw is None or raw.strip().lower() in _PLACEHOLDERS


def normalize_text(raw: str | None) -> str | None:
    """Trim and collapse whitespace; ``None`` for placeholders."""
    if is_placeholder(raw):
        return None
    assert raw is not None  # noqa: S101 - narrowed by is_placeholder
    return _SPACES.sub(" ", raw.strip())


_MAC_SEPARATORS = re.compile(r"[:\-.\s]")
_HEX12 = re.compile(r"[0-9a-f]{12}")


def normalize_mac(raw: str | None) -> str | None:
    """A MAC address as ``aa:bb:cc:dd:ee:ff``, from any of the usual notations.

    All-zero and broadcast addresses count as placeholders.

    >>> normalize_mac("00-1E-A4-3B-0C-11"), normalize_mac("001e.a43b.0c11"), normalize_mac("N/A")
    ('00:1e:a4:3b:0c:11', '00:1e:a4:3b:0c:11', None)
    """
    if is_placeholder(raw):
        return None
    assert raw is not None  # noqa: S101
    hexdigits = _MAC_SEPARATORS.sub("", raw.strip().lower())
    if not _HEX12.fullmatch(hexdigits):
        raise InvalidValue(f"{raw.strip()!r} is not a MAC address (expected 12 hex digits, e.g. 00:1e:a4:3b:0c:11)")
    if hexdigits in ("000000000000", "ffffffffffff"):
        return None
    return ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def normalize_ip(raw: str | None) -> str | None:
    """An IPv4 or IPv6 address in canonical form; ``0.0.0.0`` counts as a placeholder.

    >>> normalize_ip(" 10.1.40.7 "), normalize_ip("FE80::1")
    ('10.1.40.7', 'fe80::1')
    """
    if is_placeholder(raw):
        return None
    assert raw is not None  # noqa: S101
    text = raw.strip()
    if _IPV4.fullmatch(text):  # the common case, without the ipaddress module's cost
        return None if text == "0.0.0.0" else text  # noqa: S104 - a placeholder, not a bind address
    try:
        address = ipaddress.ip_address(text)
    except ValueError as e:
        raise InvalidValue(f"{text!r} is not an IP address (expected e.g. 10.1.40.7)") from e
    if address.is_unspecified:
        return None
    return str(address)


def normalize_serial(raw: str | None) -> str | None:
    """A serial number for matching: upper case, inner whitespace removed.

    >>> normalize_serial(" sn 1234-ab ")
    'SN1234-AB'
    """
    if is_placeholder(raw):
        return None
    assert raw is not None  # noqa: S101
    serial = _SPACES.sub("", raw).upper()
    return serial or None


def normalize_asset_tag(raw: str | None) -> str | None:
    """An asset tag / equipment number for matching: trimmed, upper case, inner whitespace removed.

    >>> normalize_asset_tag(" bme 004512")
    'BME004512'
    """
    return normalize_serial(raw)


def normalize_hostname(raw: str | None) -> str | None:
    """A host name in lower case without a trailing dot."""
    text = normalize_text(raw)
    if text is None:
        return None
    text = text.lower().rstrip(".")
    if not re.fullmatch(r"[a-z0-9_]([a-z0-9_\-.]*[a-z0-9_])?", text) or len(text) > 253:
        raise InvalidValue(f"{raw!r} is not a host name (letters, digits, '-', '.')")
    return text


def normalize_vlan(raw: str | None) -> int | None:
    """An 802.1Q VLAN id (1-4094); ``VLAN 40`` and ``40`` both give 40."""
    text = normalize_text(raw)
    if text is None:
        return None
    digits = re.fullmatch(r"(?i)(?:vlan\s*)?(\d{1,4})(?:\.0)?", text)
    if digits is None or not 1 <= int(digits.group(1)) <= 4094:
        raise InvalidValue(f"{text!r} is not a VLAN id (expected a number from 1 to 4094)")
    return int(digits.group(1))


_TRUE = frozenset({"y", "yes", "true", "t", "1", "x", "ja", "oui", "si"})
_FALSE = frozenset({"n", "no", "false", "f", "0"})


def normalize_bool(raw: str | None) -> bool | None:
    """Yes/No in the usual spellings; blank means not known.

    >>> normalize_bool("Y"), normalize_bool("no"), normalize_bool("")
    (True, False, None)
    """
    if raw is None:
        return None
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if is_placeholder(text):
        return None
    raise InvalidValue(f"{raw.strip()!r} is not yes or no (expected Yes, No, Y, N, True, False or blank)")


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%b-%Y",
    "%b %d, %Y",
    "%Y%m%d",
)


def normalize_date(raw: str | date | None, formats: tuple[str, ...] | None = None) -> date | None:
    """A calendar date from ISO, US (``03/04/2019`` is March 4th), European dotted and a few other forms.

    Spreadsheet cells may already hold a date or datetime; a time of day is dropped.

    >>> normalize_date("03/04/2019"), normalize_date("2019-03-04 00:00:00")
    (datetime.date(2019, 3, 4), datetime.date(2019, 3, 4))
    """
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if is_placeholder(raw):
        return None
    assert raw is not None  # noqa: S101
    text = raw.strip()
    if len(text) >= 19 and text[10] in " T":  # an ISO timestamp, as spreadsheets export dates
        text = text[:10]
    for fmt in formats or _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time zone involved
        except ValueError:
            continue
    raise InvalidValue(f"{text!r} is not a date (expected e.g. 2019-03-04 or 03/04/2019)")
