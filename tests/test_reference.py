"""The shipped reference data: loadable, consistent with each other and with their real sources."""

from __future__ import annotations

import gzip
import importlib.util
import json
from importlib import resources
from pathlib import Path

import pytest

from wardwatch import reference
from wardwatch.domain.inventory import Criticality
from wardwatch.domain.manufacturers import CONFIDENCE_ALIAS

FOICLASS = Path("/work/shared/data/fda-product-classification/foiclass.txt")
BUILD_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "build_fda_table.py"

REQUIRED_MANUFACTURERS = [
    "GE HealthCare", "Philips", "Siemens Healthineers", "Baxter", "BD", "ICU Medical", "B. Braun",
    "Medtronic", "Drägerwerk", "Mindray", "Nihon Kohden", "Spacelabs Healthcare", "Fresenius",
    "Canon Medical Systems", "Fujifilm", "Hologic", "Stryker", "Hillrom", "Masimo", "Welch Allyn",
    "ZOLL Medical", "Abbott", "Roche Diagnostics", "Beckman Coulter", "Olympus", "Carestream",
    "Agfa HealthCare", "Varian", "Elekta", "Getinge", "Hamilton Medical", "Vyaire Medical", "Ascom",
    "Vocera", "Cisco", "Dell", "HP", "Lenovo", "Zebra Technologies", "Smiths Medical", "Hospira",
    "CareFusion", "Natus Medical", "Edwards Lifesciences", "Boston Scientific", "Intuitive Surgical",
    "Sysmex", "Bio-Rad", "Cerner", "Epic",
]  # fmt: skip

REQUIRED_TYPES = [
    "infusion-pump", "patient-monitor", "telemetry-transmitter", "ventilator", "anesthesia-machine",
    "defibrillator", "ct-scanner", "mri-scanner", "x-ray", "ultrasound", "mammography", "nuclear-medicine",
    "radiation-therapy", "lab-analyzer", "blood-gas-analyzer", "glucose-meter", "ecg", "dialysis-machine",
    "syringe-pump", "pca-pump", "insulin-pump", "imaging-workstation", "pacs-server", "medication-dispensing",
    "nurse-call", "smart-bed", "surgical-robot", "endoscopy", "ophthalmic", "sterilizer",
    "clinical-workstation", "workstation", "server", "printer", "phone", "network-device", "other",
]  # fmt: skip


def ieee_registrants() -> set[str]:
    """Every registrant name in netaddr's bundled IEEE MA-L data, read the way netaddr reads it."""
    text = resources.files("netaddr.eui").joinpath("oui.txt").read_text(encoding="utf-8")
    return {line.split(None, 2)[2].strip() for line in text.splitlines() if "(hex)" in line}


def test_every_oui_org_exists_in_netaddr_ieee_data() -> None:
    registrants = ieee_registrants()
    listed = [org for m in reference.manufacturer_catalog().manufacturers for org in m.oui_orgs]
    assert listed
    missing = [org for org in listed if org.strip() not in registrants]
    assert missing == []


def test_oui_orgs_map_back_to_their_manufacturer() -> None:
    catalog = reference.manufacturer_catalog()
    for manufacturer in catalog.manufacturers:
        for org in manufacturer.oui_orgs:
            assert catalog.by_oui_org(org) == manufacturer.name


def test_required_manufacturers_are_present_exactly() -> None:
    names = [m.name for m in reference.manufacturer_catalog().manufacturers]
    assert [n for n in REQUIRED_MANUFACTURERS if n not in names] == []
    assert len(names) == len(set(names))


def test_no_parent_is_a_spelling_of_its_own_child() -> None:
    catalog = reference.manufacturer_catalog()
    for manufacturer in catalog.manufacturers:
        if manufacturer.parent is not None:
            result = catalog.normalize(manufacturer.parent)
            # Leading-words matches are fine ("Roche Holding" starts like "Roche"); a full match is not.
            assert result is None or result.confidence < CONFIDENCE_ALIAS or result.name != manufacturer.name


def test_every_device_type_product_code_exists_in_the_fda_table() -> None:
    fda = reference.fda_product_codes()
    document = json.loads(resources.files("wardwatch.data").joinpath("device_types.json").read_text("utf-8"))
    codes = [c for t in document["types"] for c in t["fda_product_codes"]]
    assert codes
    assert [c for c in codes if c not in fda] == []
    assert len(codes) == len(set(codes))


def test_required_device_types_and_profiles() -> None:
    types = reference.device_types()
    slugs = [t.slug for t in types]
    assert [s for s in REQUIRED_TYPES if s not in slugs] == []
    assert slugs[-1] == "other"
    for device_type in types:
        assert device_type.why, device_type.slug
        assert device_type.profile.criticality is None or isinstance(device_type.profile.criticality, Criticality)
    assert reference.device_types_version()


def test_fda_table_rows_are_well_formed() -> None:
    fda = reference.fda_product_codes()
    assert len(fda) > 6000
    assert all(len(code) == 3 and code.isalpha() and code.isupper() for code in fda)
    assert {row.device_class for row in fda.values()} <= {"1", "2", "3", "U", "N", "F"}
    ventilator = fda["CBK"]
    assert (ventilator.device_class, ventilator.regulation_number, ventilator.life_sustain_support) == (
        "2",
        "868.5895",
        True,
    )


def test_loaders_are_cached() -> None:
    assert reference.manufacturer_catalog() is reference.manufacturer_catalog()
    assert reference.fda_product_codes() is reference.fda_product_codes()
    assert reference.device_type_classifier() is reference.device_type_classifier()


@pytest.mark.skipif(not FOICLASS.exists(), reason="the FDA source file is not available here")
def test_shipped_table_is_what_the_script_builds(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_fda_table", BUILD_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    output = tmp_path / "fda.csv.gz"
    assert module.main([str(FOICLASS), str(output)]) == 0
    shipped = resources.files("wardwatch.data").joinpath("fda_product_codes.csv.gz").read_bytes()
    assert gzip.decompress(output.read_bytes()) == gzip.decompress(shipped)
    source_rows = FOICLASS.read_bytes().count(b"\n") - 1
    assert len(reference.fda_product_codes()) == source_rows
