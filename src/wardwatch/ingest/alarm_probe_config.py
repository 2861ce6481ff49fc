"""The heartbeat probe's configuration: which alarm-path endpoints ``wardwatch alarms probe`` sends heartbeats to,
how often, and how long it waits for each answer (docs/alarms.md).

```yaml
interval: 5          # seconds between rounds (default 5)
timeout: 3           # seconds to wait for an answer (default 3, at most the interval)
endpoints:
  - name: alarm-server-hl7
    kind: hl7-mllp    # hl7-mllp, tcp-echo, udp-echo
    host: 127.0.0.1
    port: 2575
    source: icu-east-monitors    # optional: the alarm source node this heartbeat stands for
    recipient: alarm-server-1    # optional, default the name
    unit: ICU-East               # optional
    priority: high               # optional: high, medium, low
```

:func:`read_probe_config` reads one file into a :class:`ProbeConfig`.  Every field is checked; a bad one raises
:class:`~wardwatch.ingest.errors.IngestError` naming the file, the place in the YAML (``endpoints[2].port``) and
what to write instead.  Like :mod:`wardwatch.ingest.netyaml`, the file is size-checked before PyYAML's safe loader
reads it, and the number of endpoints is capped, so a hostile file cannot exhaust memory or threads.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, cast

from wardwatch.domain.alarm_model import Priority
from wardwatch.ingest._bounded import MIB
from wardwatch.ingest._yamlread import read_yaml_document
from wardwatch.ingest.errors import IngestError

__all__ = [
    "DEFAULT_INTERVAL_S",
    "DEFAULT_TIMEOUT_S",
    "MAX_ENDPOINTS",
    "MAX_PROBE_YAML_BYTES",
    "PROBE_KINDS",
    "ProbeConfig",
    "ProbeEndpoint",
    "ProbeKind",
    "read_probe_config",
]

ProbeKind = Literal["hl7-mllp", "tcp-echo", "udp-echo"]

PROBE_KINDS: Final[tuple[ProbeKind, ...]] = ("hl7-mllp", "tcp-echo", "udp-echo")
"""``hl7-mllp``: an HL7 v2.5 ORU^R01 test message over MLLP, answered by an ACK; ``tcp-echo`` / ``udp-echo``: a
line or datagram with a nonce that the endpoint sends back unchanged."""

DEFAULT_INTERVAL_S: Final = 5.0
DEFAULT_TIMEOUT_S: Final = 3.0
MAX_PROBE_YAML_BYTES: Final = 1 * MIB
"""Largest probe configuration accepted: far above any hand-written one."""
MAX_ENDPOINTS: Final = 1000
"""Endpoints one probe may watch (each round probes them all concurrently)."""

_MIN_INTERVAL_S: Final = 0.1
_MAX_INTERVAL_S: Final = 86_400.0
_MAX_TIMEOUT_S: Final = 300.0
_TOP_KEYS: Final = ("interval", "timeout", "endpoints")
_ENDPOINT_KEYS: Final = ("name", "kind", "host", "port", "source", "recipient", "unit", "priority")
_TIP: Final = "see the probe configuration in docs/alarms.md"
_LABEL: Final = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


@dataclass(frozen=True, slots=True)
class ProbeEndpoint:
    """One place heartbeats are sent to."""

    name: str
    kind: ProbeKind
    host: str
    """An IP address (``10.20.1.5``, ``fd00::5``) or a host name."""
    port: int
    source: str | None = None
    """The alarm source node the heartbeat stands for (the record's ``source``); ``None``: the probe itself."""
    recipient: str | None = None
    """The node the heartbeat proves reachable (the record's ``recipient``); ``None``: :attr:`name`."""
    unit: str | None = None
    priority: Priority | None = None

    def __post_init__(self) -> None:
        if self.kind not in PROBE_KINDS:
            raise ValueError(f"probe kind must be one of {', '.join(PROBE_KINDS)}, got {self.kind!r}")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port must be 1-65535, got {self.port}")

    @property
    def target(self) -> str:
        """``kind host:port`` (IPv6 addresses in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.kind} {host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    """What the probe watches: every ``interval_s`` seconds one heartbeat to each endpoint, answered within
    ``timeout_s`` or counted lost."""

    endpoints: tuple[ProbeEndpoint, ...]
    interval_s: float = DEFAULT_INTERVAL_S
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if not (math.isfinite(self.interval_s) and self.interval_s > 0):
            raise ValueError(f"interval must be a positive number of seconds, got {self.interval_s}")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout_s}")
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError("endpoint names must be unique")


def read_probe_config(path: Path) -> ProbeConfig:
    """Read and check one probe configuration YAML file; raises :class:`IngestError` on any bad field."""
    path = Path(path)
    document = read_yaml_document(path, limit=MAX_PROBE_YAML_BYTES, what="probe configuration", tip=_TIP)
    return _Checker(path).document(document)


class _Checker:
    """Validates the parsed document."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, where: str, message: str, tip: str = _TIP) -> IngestError:
        return IngestError(str(self.path), f"{where}: {message}" if where else message, tip=tip)

    def mapping(self, value: object, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, f"should be a mapping with keys {', '.join(keys)}, not {_kind(value)}")
        for key in value:
            if key not in keys:
                raise self.error(where, f"unknown key '{key}' (expected one of {', '.join(keys)})")
        return cast(dict[str, Any], value)

    def text(self, value: object, where: str, *, required: bool = False) -> str | None:
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
            raise self.error(where, f"should be text, not {_kind(value)}")
        return str(value).strip()

    def seconds(self, value: object, where: str, low: float, high: float, *, low_inclusive: bool = True) -> float:
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if number is None or not math.isfinite(number):
            raise self.error(where, f"should be a number of seconds, not {_kind(value)}", tip=f"write e.g. {where}: 5")
        ok_low = number >= low if low_inclusive else number > low
        if not ok_low or number > high:
            bound = f"at least {low:g}" if low_inclusive else f"more than {low:g}"
            raise self.error(where, f"is {number:g} s; it should be {bound} and at most {high:g} s")
        return float(number)

    def document(self, document: object) -> ProbeConfig:
        if document is None:
            raise IngestError(str(self.path), "is empty", tip=_TIP)
        top = self.mapping(document, "", _TOP_KEYS)
        interval = DEFAULT_INTERVAL_S
        if top.get("interval") is not None:
            interval = self.seconds(top["interval"], "interval", _MIN_INTERVAL_S, _MAX_INTERVAL_S)
        if top.get("timeout") is None:
            timeout = min(DEFAULT_TIMEOUT_S, interval)
        else:
            timeout = self.seconds(top["timeout"], "timeout", 0.0, _MAX_TIMEOUT_S, low_inclusive=False)
            if timeout > interval:
                raise self.error(
                    "timeout",
                    f"is {timeout:g} s, longer than the interval ({interval:g} s)",
                    tip="a heartbeat must be answered before the next one is due: lower timeout or raise interval",
                )
        listed = top.get("endpoints")
        if not isinstance(listed, list) or not listed:
            what = "is missing" if listed is None else f"should be a list of endpoints, not {_kind(listed)}"
            raise self.error("endpoints", what, tip="list at least one endpoint with name, kind, host and port")
        if len(listed) > MAX_ENDPOINTS:
            raise self.error("endpoints", f"lists {len(listed):,} endpoints, more than {MAX_ENDPOINTS:,}",
                             tip="split them across several probes")  # fmt: skip
        endpoints: list[ProbeEndpoint] = []
        seen: set[str] = set()
        for index, value in enumerate(listed):
            endpoint = self.endpoint(value, f"endpoints[{index}]")
            if endpoint.name in seen:
                raise self.error(f"endpoints[{index}].name", f"'{endpoint.name}' is used twice", tip="rename one")
            seen.add(endpoint.name)
            endpoints.append(endpoint)
        return ProbeConfig(tuple(endpoints), interval, timeout)

    def endpoint(self, value: object, where: str) -> ProbeEndpoint:
        fields = self.mapping(value, where, _ENDPOINT_KEYS)
        for key in ("name", "kind", "host", "port"):
            if fields.get(key) is None:
                raise self.error(f"{where}.{key}", "is missing", tip=f"every endpoint needs {key}:")
        name = cast(str, self.text(fields["name"], f"{where}.name", required=True))
        kind = fields["kind"]
        if not isinstance(kind, str) or kind.strip().lower() not in PROBE_KINDS:
            raise self.error(f"{where}.kind", f"is {kind!r}; write one of {', '.join(PROBE_KINDS)}")
        priority: Priority | None = None
        if fields.get("priority") is not None:
            word = fields["priority"]
            choices = [p.value for p in Priority]
            if not isinstance(word, str) or word.strip().lower() not in choices:
                raise self.error(f"{where}.priority", f"is {word!r}; write one of {', '.join(choices)}")
            priority = Priority(word.strip().lower())
        return ProbeEndpoint(
            name=name,
            kind=cast(ProbeKind, kind.strip().lower()),
            host=self.host(fields["host"], f"{where}.host"),
            port=self.port(fields["port"], f"{where}.port"),
            source=self.text(fields.get("source"), f"{where}.source"),
            recipient=self.text(fields.get("recipient"), f"{where}.recipient") or name,
            unit=self.text(fields.get("unit"), f"{where}.unit"),
            priority=priority,
        )

    def host(self, value: object, where: str) -> str:
        tip = "write an IP address (10.20.1.5, fd00::5) or a host name (alarm-server-1.hospital.local), without a port"
        if not isinstance(value, str) or not value.strip():
            raise self.error(where, f"should be an IP address or host name, not {_kind(value)}", tip=tip)
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):  # [fd00::5], as in URLs
            text = text[1:-1]
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            pass
        if _is_hostname(text):
            return text.rstrip(".").lower()
        raise self.error(where, f"'{value}' is not an IP address or host name", tip=tip)

    def port(self, value: object, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise self.error(where, f"{value!r} is not a port number (1-65535)", tip="write e.g. port: 2575")
        return value


def _is_hostname(text: str) -> bool:
    """RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens; not all-numeric at the end."""
    if not text or len(text.rstrip(".")) > 253:
        return False
    labels = text.rstrip(".").split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return False
    return not labels[-1].isdigit()  # 10.20.300.1 is a mistyped address, not a name


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    return {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
