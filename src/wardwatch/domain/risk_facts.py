"""The inputs of device risk (:mod:`wardwatch.domain.risk`): a device's facts, its open vulnerability findings
and the risk acceptances that concern it.  Pure values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from wardwatch.domain.ssvc import Derived, SystemExposure

__all__ = ["Acceptance", "AcceptanceStatus", "DeviceFacts", "VulnerabilityFinding", "unknown_exposure"]

AcceptanceStatus = Literal["active", "expired", "revoked"]


_UNKNOWN_EXPOSURE = Derived(
    SystemExposure.OPEN, "network exposure unknown: SSVC default exposure = open (docs/risk.md)", defaulted=True
)


def unknown_exposure() -> Derived[SystemExposure]:
    """System Exposure when nothing is known about the device's network: SSVC's default, *open*."""
    return _UNKNOWN_EXPOSURE


@dataclass(frozen=True, slots=True)
class VulnerabilityFinding:
    """One open finding of a device (a row of ``vulnerability_findings``) as the scorer needs it."""

    vulnerability_id: str
    component_ref: str = ""
    in_kev: bool = False
    epss: float | None = None
    cvss_score: float | None = None
    cvss_vector: str | None = None
    public_exploit: bool = False
    """A public exploit or proof of concept is known (from the intelligence detail)."""
    automatable: str | None = None
    """CISA ADP (Vulnrichment) SSVC Automatable value, when published."""
    cvss_note: str | None = None
    """Where the CVSS assessment comes from when not the supplier's, e.g. the medical-device rubric."""


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What the scorer needs to know about a device, plus the attributes scenarios and rollups select on."""

    id: int
    name: str
    """How the explanation names the device, e.g. ``infusion pump``."""
    device_type: str | None = None
    criticality: str | None = None
    handles_phi: bool | None = None
    os: str | None = None
    """``os_name os_version``."""
    end_of_support: date | None = None
    """The earlier of the manufacturer's end of support and end of life."""
    exposure: Derived[SystemExposure] = field(default_factory=unknown_exposure)
    """Pluggable: discovery evidence today, the network model's zones later."""
    weaknesses: tuple[str, ...] = ()
    """Kinds of insecure behaviour proven by passive discovery (``findings.kind``)."""
    controls: tuple[str, ...] = ()
    """Compensating controls in place (policy control names)."""
    site: str | None = None
    unit: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    version: str | None = None
    vlans: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Acceptance:
    """A risk acceptance (exception): a device, or one vulnerability on it, accepted until ``expires_on``."""

    id: int | None
    device_id: int
    vulnerability_id: str | None
    """``None``: every finding of the device."""
    approver: str
    justification: str
    controls: tuple[str, ...]
    expires_on: date
    """The first day the acceptance no longer applies."""
    created_at: datetime
    revoked_at: datetime | None = None

    def status(self, day: date) -> AcceptanceStatus:
        """``active``, ``expired`` (on or after ``expires_on``) or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        return "active" if day < self.expires_on else "expired"

    def covers(self, finding: VulnerabilityFinding) -> bool:
        """True when this acceptance is about ``finding`` (its device is checked by the caller)."""
        return self.vulnerability_id is None or self.vulnerability_id == finding.vulnerability_id

    def describe(self) -> str:
        """One line: what, by whom, until when, why."""
        what = self.vulnerability_id or "all findings"
        controls = f"; controls: {', '.join(self.controls)}" if self.controls else ""
        return f"{what} accepted by {self.approver} until {self.expires_on.isoformat()}: {self.justification}{controls}"
