"""Passive discovery, end to end: captures and Zeek logs in, identified devices (and optionally the inventory) out.

``collect`` reads every path (a capture file, a Zeek log, or a folder of Zeek logs) into observations, findings
and conversations; ``describe`` groups them into endpoints and identifies each with the fingerprint rules;
``discover`` does both and, unless told not to, stores the result (``services.discovery_store``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from wardwatch.discovery.registry import DISSECTORS
from wardwatch.discovery.rules import default_engine
from wardwatch.domain.endpoints import EndpointRecord, group_endpoints
from wardwatch.domain.identification import Identification, Resolved
from wardwatch.domain.observations import Conversation, Finding, Observation, ObservationKind
from wardwatch.ingest.errors import IngestError
from wardwatch.services.discovery_store import DiscoveredRecord, StoreReport, store_discovery

logger = logging.getLogger(__name__)

__all__ = ["Collected", "DiscoveryReport", "collect", "describe", "discover"]

_CAPTURE_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)

#: Identifier kinds reported per device in ``--json`` under ``identifiers`` (name -> kind).
IDENTIFIERS: dict[str, ObservationKind] = {
    "dicom_ae_titles": ObservationKind.DICOM_AE_TITLE,
    "dicom_implementation_uids": ObservationKind.DICOM_IMPLEMENTATION_UID,
    "dicom_implementation_versions": ObservationKind.DICOM_IMPLEMENTATION_VERSION,
    "hl7_applications": ObservationKind.HL7_APPLICATION,
    "hl7_facilities": ObservationKind.HL7_FACILITY,
    "hl7_device_ids": ObservationKind.HL7_DEVICE_ID,
    "dhcp_vendor_class": ObservationKind.DHCP_VENDOR_CLASS,
    "dhcp_fingerprint": ObservationKind.DHCP_FINGERPRINT,
    "http_user_agents": ObservationKind.HTTP_USER_AGENT,
    "http_servers": ObservationKind.HTTP_SERVER,
    "tls_server_names": ObservationKind.TLS_SNI,
    "tls_certificates": ObservationKind.TLS_CERT_SUBJECT,
    "smb_dialects": ObservationKind.SMB_DIALECT,
    "snmp_sysdescr": ObservationKind.SNMP_SYSDESCR,
    "netbios_names": ObservationKind.NETBIOS_NAME,
    "mdns_services": ObservationKind.MDNS_SERVICE,
    "lldp_system_names": ObservationKind.LLDP_SYSTEM_NAME,
    "services": ObservationKind.SERVICE,
    "software": ObservationKind.SOFTWARE,
}


@dataclass(slots=True)
class Collected:
    """Everything the inputs said."""

    observations: list[Observation] = field(default_factory=list)
    """Observations."""
    findings: list[Finding] = field(default_factory=list)
    """Findings."""
    conversations: list[Conversation] = field(default_factory=list)
    """Conversations."""
    files: list[tuple[str, str]] = field(default_factory=list)
    """(path, sha256) of every file read."""
    stats: dict[str, Any] = field(default_factory=dict)
    """Per input: the reader's counters."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_capture(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(4)
    if head[:2] == b"\x1f\x8b":  # gzip: a compressed capture unless it is named like a Zeek log
        return ".log" not in path.name
    return head in _CAPTURE_MAGICS or path.suffix.lower() in (".pcap", ".pcapng", ".cap")


def collect(paths: Sequence[Path], progress: Callable[[str, int, int], None] | None = None) -> Collected:
    """Read captures and Zeek logs; raise :class:`IngestError` for a path that is neither."""
    from wardwatch.discovery.flows import run_capture  # noqa: PLC0415 - heavy, only for this use case
    from wardwatch.ingest.zeek import read_zeek  # noqa: PLC0415

    collected = Collected()
    zeek: list[Path] = []
    for path in paths:
        if not path.exists():
            raise IngestError(str(path), "no such file or folder", tip="give a capture file or a Zeek log folder")
        if path.is_dir():
            logs = sorted(p for p in path.iterdir() if p.is_file() and ".log" in p.name)
            if not logs:
                raise IngestError(str(path), "is a folder without Zeek logs (*.log, *.log.gz)")
            zeek.extend(logs)
            continue
        if not _is_capture(path):
            zeek.append(path)
            continue

        def bytes_done(done: int, total: int, name: str = path.name) -> None:
            if progress is not None:
                progress(name, done, total)

        result = run_capture(path, DISSECTORS, bytes_done)
        collected.observations.extend(result.observations)
        collected.findings.extend(result.findings)
        collected.conversations.extend(result.conversations)
        collected.files.append((str(path), _sha256(path)))
        collected.stats[path.name] = _plain(result.stats)
    if zeek:
        result_zeek = read_zeek(zeek)
        collected.observations.extend(result_zeek.observations)
        collected.findings.extend(result_zeek.findings)
        collected.conversations.extend(result_zeek.conversations)
        collected.files.extend((str(p), _sha256(p)) for p in zeek)
        collected.stats["zeek"] = _plain(result_zeek.stats)
    return collected


def _plain(stats: object) -> Any:
    """Counters as plain JSON-ready data (readers' stats objects nest)."""
    if isinstance(stats, dict):
        return {str(k): _plain(v) for k, v in stats.items()}
    if isinstance(stats, list | tuple | set | frozenset):
        return [_plain(v) for v in stats]
    if isinstance(stats, str | int | float | bool) or stats is None:
        return stats
    names = getattr(stats, "__dataclass_fields__", None) or getattr(stats, "__slots__", ())
    if names:
        return {name: _plain(getattr(stats, name)) for name in names if not name.startswith("_")}
    return str(stats)


@dataclass(frozen=True, slots=True)
class DeviceView:
    """One discovered device: the endpoint record and its identification."""

    record: EndpointRecord
    """What was seen."""
    identification: Identification
    """What it is, with reasons."""

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` form: ip, mac, vendor, model, category, os, hostnames, protocols, identifiers,
        findings, evidence."""
        record, ident = self.record, self.identification

        def value(resolved: Resolved | None) -> str | None:
            return resolved.value if resolved is not None else None

        os_name = value(ident.os)
        os_version = value(ident.os_version)
        hostnames = record.values(ObservationKind.HOSTNAME) + [
            n for n in record.values(ObservationKind.NETBIOS_NAME) if n not in record.values(ObservationKind.HOSTNAME)
        ]
        identifiers = {name: record.values(kind) for name, kind in IDENTIFIERS.items() if record.values(kind)}
        evidence = [
            {
                "attribute": resolved.attribute.value, "value": resolved.value, "confidence": resolved.confidence,
                "rule": resolved.rule_id, "source": resolved.evidence.source, "locator": resolved.evidence.locator,
                "protocol": resolved.evidence.protocol, "reason": resolved.reason,
                "alternatives": [a.value for a in resolved.alternatives],
            }
            for resolved in (ident.manufacturer, ident.model, ident.device_type, ident.category, ident.os,
                             ident.os_version)
            if resolved is not None
        ]  # fmt: skip
        return {
            "key": record.key,
            "ip": sorted(record.ips)[0] if record.ips else None,
            "ips": sorted(record.ips),
            "mac": record.mac,
            "vendor": value(ident.manufacturer),
            "model": value(ident.model),
            "device_type": value(ident.device_type),
            "category": value(ident.category),
            "os": " ".join(v for v in (os_name, os_version) if v) or None,
            "hostnames": hostnames,
            "protocols": record.protocols,
            "identifiers": identifiers,
            "findings": [
                {
                    "kind": f.kind.value,
                    "detail": f.detail,
                    "source": f.evidence.source,
                    "locator": f.evidence.locator,
                    "protocol": f.evidence.protocol,
                }  # fmt: skip
                for f in record.findings
            ],
            "evidence": evidence,
            "conversations": record.conversations,
        }


def describe(collected: Collected) -> list[DeviceView]:
    """Group what was collected into endpoints and identify each."""
    engine = default_engine()
    records = group_endpoints(collected.observations, collected.findings, collected.conversations)
    return [DeviceView(record, engine.identify(record.observations)) for record in records]


@dataclass(slots=True)
class DiscoveryReport:
    """What a discovery run found (and stored)."""

    devices: list[DeviceView]
    """Discovered devices."""
    collected: Collected
    """The raw material."""
    stored: StoreReport | None = None
    """What was written to the inventory; ``None`` with ``--no-store``."""

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` document: ``{"devices": [...], "stats": {...}}``."""
        findings: dict[str, int] = {}
        for view in self.devices:
            for finding in view.record.findings:
                findings[finding.kind.value] = findings.get(finding.kind.value, 0) + 1
        stats: dict[str, Any] = {
            "files": [name for name, _ in self.collected.files],
            "devices": len(self.devices),
            "identified": sum(1 for v in self.devices if v.identification.manufacturer or v.identification.device_type),
            "observations": len(self.collected.observations),
            "findings": findings,
            "conversations": len(self.collected.conversations),
            "inputs": self.collected.stats,
        }
        if self.stored is not None:
            stats["inventory"] = {
                "matched": self.stored.matched, "unknown_added": self.stored.created,
                "changed_values": self.stored.changed_values, "already_stored": self.stored.already_stored,
            }  # fmt: skip
        return {"devices": [v.as_dict() for v in self.devices], "stats": stats}


_DISCOVERY_CONFIDENCE = 0.95  # a value read from the device's own traffic (its IP, its DHCP host name)


def _to_record(view: DeviceView) -> DiscoveredRecord:
    record, ident = view.record, view.identification
    claimed: dict[str, tuple[str, float]] = {}
    if record.mac:
        claimed["mac"] = (record.mac, _DISCOVERY_CONFIDENCE)
    if record.ips:
        claimed["ip"] = (sorted(record.ips)[0], _DISCOVERY_CONFIDENCE)
    hostnames = record.values(ObservationKind.HOSTNAME)
    if hostnames:
        claimed["hostname"] = (hostnames[0].lower().rstrip("."), 0.9)
    for attribute, resolved in (
        ("manufacturer", ident.manufacturer), ("model", ident.model), ("device_type", ident.device_type),
        ("os_name", ident.os), ("os_version", ident.os_version),
    ):  # fmt: skip
        if resolved is not None:
            claimed[attribute] = (resolved.value, round(resolved.confidence, 3))
    keys = (record.key,)
    locator = next((f"{o.evidence.source} {o.evidence.locator}" for o in record.observations), record.key)
    values = {a: v for a, (v, _c) in claimed.items()}
    return DiscoveredRecord((locator,), keys, values, {"discovery": claimed}, record.observations, record.findings)


def discover(
    paths: Sequence[Path],
    engine: Engine | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> DiscoveryReport:
    """Collect, identify and — when ``engine`` is given — store into the inventory."""
    collected = collect(paths, progress)
    devices = describe(collected)
    report = DiscoveryReport(devices, collected)
    if engine is not None:
        name = ", ".join(Path(p).name for p, _ in collected.files)
        combined = hashlib.sha256("".join(sorted(sha for _, sha in collected.files)).encode()).hexdigest()
        report.stored = store_discovery(
            engine, name[:500], combined, [_to_record(v) for v in devices], collected.conversations
        )
    return report
