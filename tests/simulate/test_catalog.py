"""The device catalog: real FDA product codes, real OUIs, canonical manufacturer names, a public surface."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from netaddr import EUI, OUI

import wardwatch.simulate as simulate
from wardwatch.reference import device_types
from wardwatch.simulate import generate, iter_devices, load_catalog

FIXTURES = Path(__file__).parent.parent / "fixtures" / "simulate"

CANONICAL = {
    "GE HealthCare", "Philips", "Siemens Healthineers", "Baxter", "BD", "ICU Medical", "B. Braun", "Medtronic",
    "Drägerwerk", "Mindray", "Nihon Kohden", "Spacelabs Healthcare", "Fresenius", "Canon Medical Systems",
    "Fujifilm", "Hologic", "Stryker", "Hillrom", "Masimo", "Welch Allyn", "ZOLL Medical", "Abbott",
    "Roche Diagnostics", "Beckman Coulter", "Olympus", "Carestream", "Agfa HealthCare", "Varian", "Elekta",
    "Getinge", "Hamilton Medical", "Vyaire Medical", "Ascom", "Vocera", "Cisco", "Dell", "HP", "Lenovo",
    "Zebra Technologies", "Smiths Medical", "Hospira", "CareFusion", "Natus Medical", "Edwards Lifesciences",
    "Boston Scientific", "Intuitive Surgical", "Sysmex", "Bio-Rad",
}  # fmt: skip

# IEEE registrant names (netaddr) that are the manufacturer itself, a division, or the company it absorbed
# (Alaris and CareFusion are BD; Hospira's infusion business is ICU Medical; Maquet is Getinge; ZOLL Lifecor
# is ZOLL; HAMILTON Bonaduz AG is Hamilton Medical's parent in Bonaduz; Datex-Ohmeda is GE HealthCare).
REGISTRANTS = {
    "GE HealthCare": ("GE Healthcare", "GE Medical System", "DATEX DIVISION"),
    "Philips": ("Philips",),
    "Siemens Healthineers": ("Siemens AG, Healthcare Sector", "Siemens Healthcare"),
    "Baxter": ("Baxter International",),
    "BD": ("Becton, Dickinson", "Carefusion", "ALARIS MEDICAL SYSTEMS"),
    "ICU Medical": ("ICU Medical",),
    "Hospira": ("ICU Medical",),
    "B. Braun": ("B.Braun Melsungen",),
    "Smiths Medical": ("Smiths Medical",),
    "Drägerwerk": ("Drägerwerk", "Draeger Medical"),
    "Mindray": ("Mindray",),
    "Nihon Kohden": ("NIHON KOHDEN",),
    "Spacelabs Healthcare": ("SPACELABS MEDICAL",),
    "Masimo": ("Masimo",),
    "Welch Allyn": ("Welch Allyn",),
    "Edwards Lifesciences": ("Edwards Lifesciences",),
    "Hamilton Medical": ("HAMILTON Bonaduz",),
    "Getinge": ("Maquet Critical Care", "Getinge"),
    "Stryker": ("Stryker",),
    "ZOLL Medical": ("ZOLL",),
    "Fresenius": ("Fresenius Medical Care",),
    "Carestream": ("Carestream Health",),
    "Fujifilm": ("FUJIFILM Corporation",),
    "Varian": ("VARIAN",),
    "Roche Diagnostics": ("Roche Diagnostics",),
    "Abbott": ("Abbott Diagnostics", "Abbott Point of Care"),
    "Beckman Coulter": ("Beckman Coulter", "BECKMAN LAB. AUTOMATION"),
    "Sysmex": ("Sysmex",),
    "Bio-Rad": ("Bio-Rad Laboratories",),
    "Hillrom": ("Hill-Rom",),
    "Vocera": ("Vocera Communications",),
    "Ascom": ("Ascom",),
    "Cisco": ("Cisco Systems",),
    "Dell": ("Dell Inc.",),
    "HP": ("HP Inc.", "Hewlett Packard"),
    "Lenovo": ("Lenovo",),
    "Zebra Technologies": ("Zebra Technologies",),
}


def _registrant(oui: str) -> str:
    return str(OUI(oui).registration().org)


def test_public_surface_is_intended() -> None:
    assert set(simulate.__all__) == {
        "CMMS_HEADERS", "PLACEHOLDERS", "SIZES", "VENDOR_SPELLINGS", "VLANS", "CatalogModel", "CmmsRow",
        "Hospital", "Progress", "SimDevice", "Site", "Size", "Unit", "UnitPlan", "generate", "iter_devices",
        "iter_rows", "load_catalog", "write",
    }  # fmt: skip


def test_catalog_uses_only_canonical_manufacturer_names() -> None:
    catalog = load_catalog()
    assert {m.manufacturer for m in catalog} <= CANONICAL
    assert {m.nic_maker for m in catalog if m.nic_maker} <= CANONICAL
    assert len({m.key for m in catalog}) == len(catalog)


def test_every_fda_product_code_exists_in_the_fda_classification() -> None:
    with (FIXTURES / "foiclass_subset.txt").open(encoding="utf-8") as handle:
        real = {row["PRODUCTCODE"] for row in csv.DictReader(handle, delimiter="|")}
    codes = {m.fda_product_code for m in load_catalog() if m.fda_product_code}
    assert len(codes) > 20
    assert codes <= real


@pytest.mark.parametrize("model", load_catalog(), ids=lambda m: m.key)
def test_every_oui_is_registered_to_the_maker_of_the_network_interface(model: simulate.CatalogModel) -> None:
    assert bool(model.ouis) == model.networked or not model.networked
    maker = model.nic_maker or model.manufacturer
    for oui in model.ouis:
        registrant = _registrant(oui)
        assert any(name.lower() in registrant.lower() for name in REGISTRANTS[maker]), (oui, registrant)


def test_every_generated_mac_belongs_to_its_device_maker() -> None:
    catalog = {m.key: m for m in load_catalog()}
    macs: list[str] = []
    for device in iter_devices(generate("medium", 3)):
        if device.mac is None:
            assert not device.networked
            continue
        model = catalog[device.model_key]
        registrant = str(EUI(device.mac).oui.registration().org)
        maker = model.nic_maker or device.manufacturer
        assert any(name.lower() in registrant.lower() for name in REGISTRANTS[maker]), (device, registrant)
        macs.append(device.mac)
    assert len(macs) == len(set(macs)), "MAC addresses must be unique"


def test_catalog_names_models_from_cisa_medical_advisories() -> None:
    named = [m for m in load_catalog() if m.icsma_advisories]
    assert len(named) >= 30
    assert all(a.startswith("ICSMA-") for m in named for a in m.icsma_advisories)


def test_every_catalog_device_type_is_a_taxonomy_slug() -> None:
    slugs = {t.slug for t in device_types()}
    catalog = load_catalog()
    assert {m.device_type for m in catalog} <= slugs
    # Finer generator kinds map onto one taxonomy type each (e.g. aed and defibrillator -> defibrillator).
    kind_types: dict[str, set[str]] = {}
    for model in catalog:
        kind_types.setdefault(model.kind, set()).add(model.device_type)
    assert all(len(types) == 1 for types in kind_types.values()), kind_types
    assert kind_types["linac"] == {"radiation-therapy"}
    assert kind_types["aed"] == kind_types["defibrillator"] == {"defibrillator"}
