"""The device catalog the generator draws from (``wardwatch/data/device_catalog.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

#: Generator kinds (:attr:`CatalogModel.kind`) that are IT or communication equipment, not medical devices.
NON_MEDICAL_KINDS: tuple[str, ...] = (
    "workstation",
    "server",
    "printer",
    "mobile_computer",
    "network_switch",
    "access_point",
    "phone",
)


@dataclass(frozen=True, slots=True)
class CatalogModel:
    """One device model with everything the CMMS and the network would show about it."""

    key: str
    """Stable identifier of the entry."""
    device_type: str
    """Wardwatch taxonomy slug (``device_types.json``) the importer should classify the model as
    (``infusion-pump``, ``ct-scanner``...)."""
    kind: str
    """The generator's own, finer grouping (``infusion_pump``, ``ct``, ``linac``, ``aed``...): unit mixes, site
    model families and room names are planned per kind. Used only inside the generator."""
    family: str
    """Product family; a site standardises on one family per type."""
    weight: int
    """Relative frequency within its family and type."""
    manufacturer: str
    """Canonical manufacturer name."""
    model: str
    """Model name."""
    description: str
    """Description as a CMMS writes it."""
    fda_product_code: str | None
    """Real FDA product code, if the model has one."""
    os: str | None
    """Operating system."""
    os_versions: tuple[str, ...]
    """Operating-system versions seen in the field."""
    firmware_versions: tuple[str, ...]
    """Firmware versions seen in the field."""
    software_versions: tuple[str, ...]
    """Software versions seen in the field."""
    release_year: int
    """Year the model came to market; earliest install year."""
    end_of_support: date | None
    """Manufacturer end of support."""
    end_of_life: date | None
    """Manufacturer end of life."""
    networked: bool
    """Whether installed units are on the network."""
    wireless: bool
    """Whether it connects over Wi-Fi."""
    risk_level: str
    """Default risk level."""
    patient_connected: bool
    """Connects to a patient."""
    phi: bool
    """Handles protected health information."""
    high_risk: bool
    """High-risk equipment."""
    ouis: tuple[str, ...]
    """IEEE OUIs (``AA-BB-CC``) its network interfaces use."""
    nic_maker: str | None
    """Canonical maker of the network interface when not the manufacturer (OEM PCs in consoles)."""
    vlan_role: str
    """Network function: clinical, imaging, lab, pharmacy, voice, facilities or it."""
    host_abbr: str
    """Host-name abbreviation (``mon``, ``pump``...)."""
    icsma_advisories: tuple[str, ...]
    """CISA ICSMA advisories that name this model or its family."""

    @property
    def is_medical(self) -> bool:
        """False for IT and communication equipment."""
        return self.kind not in NON_MEDICAL_KINDS


def _date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(str(value))


def _model(raw: dict[str, Any]) -> CatalogModel:
    return CatalogModel(
        key=raw["key"],
        device_type=raw["device_type"],
        kind=raw["kind"],
        family=raw["family"],
        weight=int(raw["weight"]),
        manufacturer=raw["manufacturer"],
        model=raw["model"],
        description=raw["description"],
        fda_product_code=raw["fda_product_code"],
        os=raw["os"],
        os_versions=tuple(raw["os_versions"]),
        firmware_versions=tuple(raw["firmware_versions"]),
        software_versions=tuple(raw["software_versions"]),
        release_year=int(raw["release_year"]),
        end_of_support=_date(raw["end_of_support"]),
        end_of_life=_date(raw["end_of_life"]),
        networked=bool(raw["networked"]),
        wireless=bool(raw["wireless"]),
        risk_level=raw["risk_level"],
        patient_connected=bool(raw["patient_connected"]),
        phi=bool(raw["phi"]),
        high_risk=bool(raw["high_risk"]),
        ouis=tuple(raw["ouis"]),
        nic_maker=raw["nic_maker"],
        vlan_role=raw["vlan_role"],
        host_abbr=raw["host_abbr"],
        icsma_advisories=tuple(raw["icsma_advisories"]),
    )


@cache
def load_catalog() -> tuple[CatalogModel, ...]:
    """Return every catalog model, in file order."""
    text = resources.files("wardwatch").joinpath("data", "device_catalog.json").read_text(encoding="utf-8")
    return tuple(_model(raw) for raw in json.loads(text)["models"])


@cache
def models_by_kind() -> dict[str, tuple[CatalogModel, ...]]:
    """Return the catalog grouped by generator kind, in first-appearance order."""
    grouped: dict[str, list[CatalogModel]] = {}
    for model in load_catalog():
        grouped.setdefault(model.kind, []).append(model)
    return {kind: tuple(models) for kind, models in grouped.items()}
