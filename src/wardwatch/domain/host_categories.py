"""Placement categories of a host: medical device, life-critical device, general-purpose IT workstation.

Used by the conformance check (:mod:`wardwatch.domain.segmentation`, which re-exports these names) and the policy
simulation (:mod:`wardwatch.domain.policy_sim`).
"""

from __future__ import annotations

import re

from wardwatch.domain.inventory import LIFE_CRITICAL, Criticality
from wardwatch.domain.netmodel import HostFacts

__all__ = [
    "IT_DEVICE_TYPES",
    "LIFE_CRITICAL_TYPES",
    "MEDICAL_DEVICE_TYPES",
    "WORKSTATION",
    "categories",
    "host_label",
    "is_it_workstation",
    "is_life_critical",
    "is_medical",
]

WORKSTATION = "workstation"
"""The placement category of general-purpose IT machines."""

IT_DEVICE_TYPES = frozenset({"workstation", "clinical-workstation", "laptop", "pc", "desktop", "thin-client", "kiosk"})
"""Device types that are general-purpose user machines (category :data:`WORKSTATION`).  Servers are left out on
purpose: an interface engine next to the PACS in the clinical-apps zone is the design, not a mixed VLAN."""

MEDICAL_DEVICE_TYPES = frozenset(
    {
        "pca-pump", "insulin-pump", "syringe-pump", "infusion-pump", "anesthesia-machine", "ventilator",
        "dialysis-machine", "infant-incubator", "defibrillator", "implant-programmer", "central-station",
        "telemetry-transmitter", "blood-gas-analyzer", "glucose-meter", "ecg", "eeg", "pulse-oximeter",
        "patient-monitor", "surgical-robot", "electrosurgical-unit", "radiation-therapy", "mammography",
        "ct-scanner", "mri-scanner", "nuclear-medicine", "ultrasound", "x-ray", "endoscopy", "ophthalmic",
        "lab-analyzer", "pacs-server", "imaging-workstation", "medication-dispensing", "nurse-call", "smart-bed",
    }
)  # fmt: skip
"""The types of ``data/device_types.json`` with a clinical criticality (a test keeps the two in step)."""

LIFE_CRITICAL_TYPES = frozenset(
    {"ventilator", "defibrillator", "anesthesia-machine", "dialysis-machine", "infant-incubator"}
)
"""Types whose default criticality is life-sustaining or life-supporting (used when a host has none)."""

#: A Windows client release (not Server, not Embedded/IoT): what an IT desktop runs.
_WINDOWS_DESKTOP = re.compile(r"\bwindows\s*(?:xp|vista|7|8(?:\.1)?|10|11)\b(?!.*\b(?:embedded|iot)\b)", re.I)
_UNTYPED = frozenset({"other"})


def is_medical(host: HostFacts) -> bool:
    """A clinical criticality (anything but non-clinical), or a medical device type."""
    clinical = host.criticality is not None and host.criticality != Criticality.NON_CLINICAL.value
    return clinical or host.device_type in MEDICAL_DEVICE_TYPES


def is_life_critical(host: HostFacts) -> bool:
    """Life-sustaining or life-supporting, by criticality or (without one) by device type."""
    if host.criticality is not None:
        return host.criticality in LIFE_CRITICAL
    return host.device_type in LIFE_CRITICAL_TYPES


def is_it_workstation(host: HostFacts) -> bool:
    """A general-purpose IT machine: an IT device type, or an untyped non-medical host running desktop Windows."""
    if is_medical(host):
        return False
    if host.device_type in IT_DEVICE_TYPES:
        return True
    untyped = host.device_type is None or host.device_type in _UNTYPED
    return untyped and host.os is not None and _WINDOWS_DESKTOP.search(host.os) is not None


def categories(host: HostFacts) -> tuple[str, ...]:
    """The placement categories of a host: its device type, its criticality, and :data:`WORKSTATION`."""
    out = [c for c in (host.device_type, host.criticality) if c]
    if is_it_workstation(host) and WORKSTATION not in out:
        out.append(WORKSTATION)
    return tuple(out)


def host_label(host: HostFacts | None, address: str) -> str:
    """``name (address)``, or the address alone."""
    return f"{host.name} ({address})" if host is not None and host.name else address
