"""Value types of the simulated hospital: its sites, units, plan and the devices drawn from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

#: The sizes :func:`wardwatch.simulate.generate` knows.
Size = Literal["small", "medium", "large", "xl"]

#: Target device count and site count for each size.
SIZES: dict[Size, tuple[int, int]] = {
    "small": (200, 2),
    "medium": (5_000, 3),
    "large": (50_000, 12),
    "xl": (200_000, 40),
}


@dataclass(frozen=True, slots=True)
class Site:
    """One campus of the simulated health system."""

    site_id: int
    """1-based; also the second octet of the site's 10.x.0.0/16 network."""
    code: str
    """Short code used in host names of non-main sites (e.g. ``LAK``)."""
    name: str
    """Display name as the CMMS writes it."""
    kind: Literal["hospital", "outpatient"]
    """A full acute-care hospital or a smaller outpatient/community site."""
    buildings: tuple[str, ...]
    """Building names on this campus."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A clinical or support department of one site."""

    unit_id: int
    """1-based, unique across the whole hospital."""
    site_id: int
    """The :class:`Site` it belongs to."""
    name: str
    """Department name as the CMMS writes it (e.g. ``ICU East``)."""
    code: str
    """Lower-case host-name prefix (e.g. ``icue``, or ``lak-icue`` on non-main sites)."""
    building: str
    """Building the unit is in."""
    location_prefix: str
    """Prefix of bed/room locations (e.g. ``ICU-E``, ``CT Room``)."""


@dataclass(frozen=True, slots=True)
class UnitPlan:
    """How many devices of each generator kind a unit gets (computed once, drawn lazily)."""

    unit_id: int
    """The planned :class:`Unit`."""
    type_counts: tuple[tuple[str, int], ...]
    """``(kind, count)`` in unit-mix order; kinds are the generator's own grouping
    (:attr:`~wardwatch.simulate.CatalogModel.kind`: ``infusion_pump``, ``ct``, ``linac``...), not taxonomy slugs."""


@dataclass(frozen=True, slots=True)
class Hospital:
    """A generated sample hospital: the plan from which devices and CMMS rows are drawn deterministically.

    Devices are not materialised (an ``xl`` hospital has 200,000); iterate them with
    :func:`wardwatch.simulate.iter_devices`.
    """

    size: Size
    """The requested size."""
    seed: int
    """The seed everything is drawn from."""
    sites: tuple[Site, ...]
    """All sites, main hospital first."""
    units: tuple[Unit, ...]
    """All units of all sites."""
    plans: tuple[UnitPlan, ...]
    """One plan per unit, same order as :attr:`units`."""
    site_families: tuple[tuple[tuple[str, str], ...], ...]
    """Per site (same order as :attr:`sites`): ``(kind, preferred model family)``."""
    device_count: int
    """Number of unique physical devices."""
    duplicate_devices: tuple[int, ...]
    """0-based indexes of the devices the CMMS lists twice, ascending."""

    @property
    def cmms_row_count(self) -> int:
        """Data rows in the CMMS export (devices plus duplicate rows)."""
        return self.device_count + len(self.duplicate_devices)


@dataclass(frozen=True, slots=True)
class SimDevice:
    """The ground truth about one simulated physical device."""

    index: int
    """0-based position in :func:`~wardwatch.simulate.iter_devices` order."""
    asset_tag: str
    """The CMMS equipment number (clean form)."""
    serial: str
    """Manufacturer serial number, unique."""
    model_key: str
    """Key of the catalog model."""
    manufacturer: str
    """Canonical manufacturer name."""
    model: str
    """Model name."""
    description: str
    """CMMS description (e.g. ``Pump, Infusion, Large Volume``)."""
    device_type: str
    """Wardwatch taxonomy slug (``device_types.json``) the importer should classify it as (e.g.
    ``infusion-pump``)."""
    is_medical: bool
    """False for IT and communication equipment."""
    fda_product_code: str | None
    """FDA product code, where the model has one."""
    site_id: int
    """The device's :class:`Site`."""
    unit_id: int
    """The device's :class:`Unit`."""
    location: str
    """Bed or room (e.g. ``ICU-E 12``)."""
    networked: bool
    """Whether the device has a network interface in use."""
    mac: str | None
    """Lower-case colon-separated MAC, None when not networked."""
    ip: str | None
    """IPv4 address, None when not networked."""
    hostname: str | None
    """Host name, None when not networked."""
    vlan: int | None
    """VLAN id by function, None when not networked."""
    os_name: str | None
    """Operating system, if any."""
    os_version: str | None
    """Operating-system version."""
    firmware_version: str | None
    """Firmware version."""
    software_version: str | None
    """Application software version."""
    responsible_group: str
    """Team that maintains it (Biomed, IT, ...)."""
    status: str
    """Lifecycle status: ``in-service``, ``in-repair``, ``in-storage``."""
    install_date: date
    """Date placed in service."""
    end_of_support: date | None
    """Manufacturer end of support."""
    end_of_life: date | None
    """Manufacturer end of life."""
    risk_level: str
    """Default risk level (High, Medium, Low)."""
    patient_connected: bool
    """Connects to a patient."""
    phi: bool
    """Stores or transmits protected health information."""
    high_risk: bool
    """Flagged high-risk by the hospital's equipment-management programme."""
    smb1_disabled: bool = False
    """SMBv1 turned off on a legacy Windows device (its vendor's hardening applied): one in five of them, see
    :func:`~wardwatch.simulate._identity.smb_server_dialect`."""
