"""Security events for a SIEM: the event model and its two payload formats, CEF and JSON (docs/integrations.md).

Pure: no I/O.  The RFC 5424 syslog framing and the sockets are in :mod:`wardwatch.services.siem`; this module gives
the MSG part of each syslog message, bounded in bytes where the transport needs it (UDP).

CEF (ArcSight Common Event Format, revision 25)::

    CEF:0|Wardwatch|Wardwatch|<version>|<signature id>|<name>|<severity>|<extension>

Header fields escape backslash and pipe (``\\\\``, ``\\|``); a line break cannot be escaped there and becomes a
space.  Extension values escape backslash, equals and line breaks (``\\\\``, ``\\=``, ``\\n``, ``\\r``); other
control characters become spaces.  The keys are those of the CEF dictionary (:data:`CEF_KEYS`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from wardwatch import __version__

__all__ = [
    "CEF_KEYS",
    "FORMATS",
    "KINDS",
    "UDP_MAX_BYTES",
    "Event",
    "Target",
    "bounded",
    "cef",
    "cef_extension_value",
    "cef_header_value",
    "format_event",
    "json_payload",
    "parse_target",
    "syslog_level",
]

Format = Literal["cef", "json"]

#: The payload formats.
FORMATS: tuple[Format, ...] = ("cef", "json")

#: What an event is about -> its CEF name (the signature id is the kind itself).
KINDS: dict[str, str] = {
    "finding.kev": "Known exploited vulnerability on a medical device",
    "remediation.overdue": "Remediation work item overdue",
    "remediation.step": "Remediation work item changed state",
    "audit.denied": "Action denied",
    "audit.failure": "Action failed",
    "acceptance.expired": "Risk acceptance expired",
}

#: The largest syslog message sent over UDP (RFC 5424 section 6.1 says every receiver takes 480 octets and
#: should take 2,048; larger ones may be cut or dropped on the way).  The MSG is shortened to fit.
UDP_MAX_BYTES = 2048

#: Event field -> CEF extension key (and, for the custom fields, the label sent beside it).  Fields not listed are
#: sent in JSON only.
CEF_KEYS: dict[str, tuple[str, str | None]] = {
    "id": ("externalId", None),
    "kind": ("cat", None),
    "action": ("act", None),
    "outcome": ("outcome", None),
    "actor": ("suser", None),
    "assignee": ("duser", None),
    "source_ip": ("src", None),
    "device_ip": ("dst", None),
    "device": ("dhost", None),
    "devices": ("cnt", None),
    "cve": ("cs1", "CVE"),
    "model": ("cs2", "Device model"),
    "item": ("cs3", "Work item"),
    "priority": ("cs4", "SSVC priority"),
    "target": ("cs5", "Target"),
    "unit": ("cs6", "Unit"),
    "device_id": ("cn1", "Device id"),
    "cvss": ("cfp1", "CVSS"),
    "due_at": ("deviceCustomDate1", "Due"),
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Event:
    """One security event."""

    id: str
    """Stable across re-sends (``kev-12``, ``audit-345``, ``overdue-7``, ``acceptance-3``): a SIEM can deduplicate
    the repeats of at-least-once delivery by it."""
    time: datetime
    """When it happened (aware)."""
    kind: str
    """One of :data:`KINDS`."""
    severity: int
    """0 (lowest) to 10, as CEF counts."""
    message: str
    """One sentence for people."""
    fields: Mapping[str, Any] = field(default_factory=dict)
    """Details: see :data:`CEF_KEYS` for the names that map onto CEF keys."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}; kinds: {', '.join(KINDS)}")
        if not 0 <= self.severity <= 10:
            raise ValueError(f"event severity {self.severity} is not between 0 and 10")
        if self.time.tzinfo is None:
            raise ValueError("an event's time must carry its time zone")


def syslog_level(severity: int) -> str:
    """The syslog severity (as a ``logging`` level name the RFC 5424 handler knows) of a 0-10 event severity:
    9-10 critical, 7-8 error, 4-6 warning, 1-3 notice, 0 informational."""
    if severity >= 9:
        return "CRITICAL"
    if severity >= 7:
        return "ERROR"
    if severity >= 4:
        return "WARNING"
    return "NOTICE" if severity >= 1 else "INFO"


# -- CEF -----------------------------------------------------------------------------------------------------------


def cef_header_value(value: object) -> str:
    """A CEF header field: backslash and pipe escaped; line breaks and control characters become spaces."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " "))


def cef_extension_value(value: object) -> str:
    """A CEF extension value: backslash, equals sign and line breaks escaped; other control characters become
    spaces (a pipe needs no escaping here)."""
    text = str(value).replace("\\", "\\\\").replace("=", "\\=").replace("\r", "\\r").replace("\n", "\\n")
    return _CONTROL.sub(" ", text)


def _millis(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def _cef_value(value: Any) -> str:
    if isinstance(value, datetime):
        return str(_millis(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def cef(event: Event, *, host: str | None = None, version: str = __version__) -> str:
    """The event as one CEF line (no line break inside or at the end)."""
    header = [
        "CEF:0",
        "Wardwatch",
        "Wardwatch",
        cef_header_value(version),
        cef_header_value(event.kind),
        cef_header_value(KINDS[event.kind]),
        str(event.severity),
    ]
    pairs: list[tuple[str, str]] = [("rt", str(_millis(event.time)))]
    values = {"id": event.id, "kind": event.kind, **event.fields}
    for name, (key, label) in CEF_KEYS.items():
        value = values.get(name)
        if value is None or value == "":
            continue
        if label is not None:
            pairs.append((f"{key}Label", label))
        pairs.append((key, _cef_value(value)))
    if host:
        pairs.append(("dvchost", host))
    pairs.append(("msg", event.message))
    extension = " ".join(f"{key}={cef_extension_value(value)}" for key, value in pairs)
    return "|".join(header) + "|" + extension


# -- JSON ----------------------------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str)
    return str(value)


def json_payload(event: Event, *, host: str | None = None, version: str = __version__) -> str:
    """The event as compact JSON with sorted keys (one line: control characters are escaped)."""
    document: dict[str, Any] = {
        "id": event.id,
        "time": event.time,
        "kind": event.kind,
        "name": KINDS[event.kind],
        "severity": event.severity,
        "message": event.message,
        "fields": dict(event.fields),
        "product": "Wardwatch",
        "version": version,
    }
    if host:
        document["host"] = host
    return json.dumps(document, default=_json_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_event(event: Event, fmt: str, *, host: str | None = None, version: str = __version__) -> str:
    """The payload of ``event`` in ``fmt`` (``cef`` or ``json``)."""
    if fmt == "cef":
        return cef(event, host=host, version=version)
    if fmt == "json":
        return json_payload(event, host=host, version=version)
    raise ValueError(f"unknown format {fmt!r}; write cef or json")


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` UTF-8 bytes (never half a character)."""
    return text.encode("utf-8")[: max(limit, 0)].decode("utf-8", errors="ignore")


def bounded(event: Event, fmt: str, limit: int, *, host: str | None = None, version: str = __version__) -> str:
    """:func:`format_event`, at most ``limit`` UTF-8 bytes: the message is shortened first (ending in "…"), then
    long field values; the payload stays well-formed.  Only when even that does not fit is the text cut (a CEF line
    never ends in half an escape; JSON falls back to the event's id, kind, time and severity)."""
    text = format_event(event, fmt, host=host, version=version)
    if _size(text) <= limit:
        return text

    def attempt(candidate: Event) -> str:
        return format_event(candidate, fmt, host=host, version=version)

    short_fields = {k: (v[:64] + "…" if isinstance(v, str) and len(v) > 65 else v) for k, v in event.fields.items()}
    for fields in (event.fields, short_fields):
        base = replace(event, fields=fields)
        if _size(attempt(replace(base, message="…"))) > limit:
            continue
        low, high = 0, len(event.message)  # the longest message prefix that fits
        while low < high:
            middle = (low + high + 1) // 2
            if _size(attempt(replace(base, message=event.message[:middle] + "…"))) <= limit:
                low = middle
            else:
                high = middle - 1
        return attempt(replace(base, message=event.message[:low] + "…"))
    if fmt == "json":
        minimal = json.dumps(
            {"id": event.id, "kind": event.kind, "severity": event.severity, "time": _json_default(event.time),
             "truncated": True},
            sort_keys=True, separators=(",", ":"), ensure_ascii=False,
        )  # fmt: skip
        return _cut_bytes(minimal, limit)
    cut = _cut_bytes(attempt(replace(event, message="…", fields=short_fields)), limit)
    trailing = len(cut) - len(cut.rstrip("\\"))
    return cut[:-1] if trailing % 2 else cut  # an odd run of backslashes at the end is half an escape


# -- where to send -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A syslog collector."""

    transport: Literal["udp", "tcp"]
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}://{host}:{self.port}"


def parse_target(text: str) -> Target:
    """``udp://HOST:PORT`` or ``tcp://HOST:PORT`` (port 514 when left out; IPv6 in brackets); ``ValueError`` with
    what to write otherwise."""
    example = "write udp://HOST:PORT or tcp://HOST:PORT, e.g. udp://siem.example.org:514 or tcp://10.0.0.5:6514"
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"--to {text!r} is not a syslog address; {example}") from None
    if (parts.scheme not in ("udp", "tcp") or not parts.hostname or parts.path not in ("", "/") or parts.query
            or port == 0):  # fmt: skip
        raise ValueError(f"--to {text!r} is not a syslog address; {example}")
    if parts.username or parts.password:
        raise ValueError(f"--to {text!r}: a syslog address has no user or password; {example}")
    transport: Literal["udp", "tcp"] = "udp" if parts.scheme == "udp" else "tcp"
    return Target(transport, parts.hostname, 514 if port is None else port)
