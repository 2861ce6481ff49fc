"""The device inventory as values: sites, units, devices, their clinical profile and lifecycle.

Every attribute that several sources can assert (the CMMS, passive discovery, an analyst, an SBOM...) is kept
as a :class:`Fact` with its :class:`SourceRef` and confidence; the device's plain attribute is the
:func:`resolve`-d winner of those facts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import NewType

DeviceId = NewType("DeviceId", int)
SiteId = NewType("SiteId", int)
UnitId = NewType("UnitId", int)


class Criticality(StrEnum):
    """Clinical criticality of a device: what its failure or compromise does to a patient (most to least)."""

    LIFE_SUSTAINING = "life-sustaining"
    LIFE_SUPPORTING = "life-supporting"
    THERAPEUTIC = "therapeutic"
    DIAGNOSTIC = "diagnostic"
    MONITORING = "monitoring"
    NON_CLINICAL = "non-clinical"

    @property
    def rank(self) -> int:
        """0 for life-sustaining up to 5 for non-clinical; lower is more critical."""
        return list(Criticality).index(self)


LIFE_CRITICAL: tuple[str, ...] = (Criticality.LIFE_SUSTAINING.value, Criticality.LIFE_SUPPORTING.value)
"""The criticalities a dashboard or report counts as "life-sustaining or -supporting"."""


class LifecycleStatus(StrEnum):
    """Where a device is in its life at the hospital."""

    IN_SERVICE = "in-service"
    IN_STORAGE = "in-storage"
    IN_REPAIR = "in-repair"
    RETIRED = "retired"


class SourceKind(StrEnum):
    """The kind of source that asserted a fact."""

    CMMS = "cmms"
    DISCOVERY = "discovery"
    MANUAL = "manual"
    DERIVED = "derived"
    SBOM = "sbom"
    MDS2 = "mds2"


#: The attributes of a device that facts may assert, in display order.
ATTRIBUTES: tuple[str, ...] = (
    "site",
    "asset_tag",
    "serial",
    "manufacturer",
    "model",
    "device_type",
    "fda_product_code",
    "fda_class",
    "os_name",
    "os_version",
    "firmware_version",
    "software_version",
    "criticality",
    "patient_connected",
    "handles_phi",
    "high_risk",
    "owner_team",
    "lifecycle_status",
    "in_service_date",
    "end_of_support",
    "end_of_life",
    "building",
    "department",
    "location",
    "mac",
    "ip",
    "hostname",
    "vlan",
)


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a fact came from: the kind of source, its name (file, sensor, user) and a locator inside it."""

    kind: SourceKind
    """What sort of source this is."""
    name: str
    """The file name, sensor name or user name."""
    locator: str | None = None
    """Where inside the source, e.g. ``row 17``; ``None`` when the whole source says so."""

    def __str__(self) -> str:
        where = f" {self.locator}" if self.locator else ""
        return f"{self.kind.value}:{self.name}{where}"


@dataclass(frozen=True, slots=True)
class Fact:
    """One source's claim about one attribute of a device."""

    attribute: str
    """One of :data:`ATTRIBUTES`."""
    value: str
    """The claimed value, as normalised text."""
    source: SourceRef
    """Who said so."""
    confidence: float
    """How much we believe the source on this attribute, 0.0 to 1.0."""
    observed_at: datetime
    """When the source said so (timezone-aware UTC)."""


def resolve(facts: Iterable[Fact]) -> Fact | None:
    """The fact that wins for one attribute: highest confidence, then the most recent.

    >>> resolve([]) is None
    True
    """
    best: Fact | None = None
    for fact in facts:
        if best is None or (fact.confidence, fact.observed_at) > (best.confidence, best.observed_at):
            best = fact
    return best


@dataclass(frozen=True, slots=True)
class Site:
    """A hospital or campus."""

    name: str
    """Display name, unique in the installation."""
    code: str | None = None
    """Short code used by the CMMS, if any."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A department or clinical unit in a building of a site (e.g. ICU East in Tower B)."""

    site: str
    """The site's name."""
    department: str
    """Department or clinical unit name."""
    building: str | None = None
    """Building, if known."""


@dataclass(frozen=True, slots=True)
class NetworkInterface:
    """One network interface of a device."""

    mac: str | None = None
    """MAC address, lower case, colon separated; ``None`` when unknown."""
    ip: str | None = None
    """IPv4 or IPv6 address in canonical text form."""
    hostname: str | None = None
    """Host name as recorded (lower case)."""
    vlan: int | None = None
    """802.1Q VLAN id."""


@dataclass(frozen=True, slots=True)
class ClinicalProfile:
    """What the device means for patients.  ``None`` means not known, never a guess."""

    criticality: Criticality | None = None
    """Clinical criticality."""
    patient_connected: bool | None = None
    """Whether the device is connected to a patient when in use."""
    handles_phi: bool | None = None
    """Whether the device stores or transmits protected health information."""
    high_risk: bool | None = None
    """Joint Commission high-risk equipment (EC.02.04.01): failure could cause serious harm or death."""


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Where the device is in its life, with the manufacturer's support dates."""

    status: LifecycleStatus | None = None
    """Current lifecycle status."""
    in_service_date: date | None = None
    """When it entered service."""
    end_of_support: date | None = None
    """When the manufacturer stops providing security updates."""
    end_of_life: date | None = None
    """When the manufacturer stops supporting the device altogether."""

    def unsupported_on(self, day: date) -> bool:
        """True when the manufacturer no longer supports the device on ``day``."""
        ends = [d for d in (self.end_of_support, self.end_of_life) if d is not None]
        return any(d <= day for d in ends)


@dataclass(frozen=True, slots=True)
class Device:
    """A device as the inventory knows it: resolved attributes plus the facts behind them."""

    id: DeviceId | None
    """Stable id; ``None`` before it is stored."""
    site: str | None = None
    """Site name."""
    unit: Unit | None = None
    """Department/unit."""
    location: str | None = None
    """Room or bed location."""
    asset_tag: str | None = None
    """The CMMS asset tag / equipment number."""
    serial: str | None = None
    """Manufacturer serial number."""
    manufacturer: str | None = None
    """Canonical manufacturer name."""
    model: str | None = None
    """Model name as the manufacturer names it."""
    device_type: str | None = None
    """Wardwatch device type (e.g. ``infusion-pump``)."""
    fda_product_code: str | None = None
    """FDA three-letter product code."""
    fda_class: str | None = None
    """FDA device class: ``1``, ``2``, ``3``, or ``U``/``N`` (unclassified / not classified)."""
    os_name: str | None = None
    """Operating system name."""
    os_version: str | None = None
    """Operating system version."""
    firmware_version: str | None = None
    """Firmware version."""
    software_version: str | None = None
    """Application software version."""
    interfaces: tuple[NetworkInterface, ...] = ()
    """Network interfaces."""
    clinical: ClinicalProfile = field(default_factory=ClinicalProfile)
    """Clinical profile."""
    owner_team: str | None = None
    """The team responsible (e.g. Biomedical Engineering, Imaging IT)."""
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    """Lifecycle and support dates."""
    facts: tuple[Fact, ...] = ()
    """The evidence behind the attributes."""

    def facts_for(self, attribute: str) -> tuple[Fact, ...]:
        """The facts about one attribute, best first."""
        found = [f for f in self.facts if f.attribute == attribute]
        return tuple(sorted(found, key=lambda f: (f.confidence, f.observed_at), reverse=True))
