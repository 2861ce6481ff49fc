"""Manufacturer normalisation against the shipped catalog and small hand-made ones."""

from __future__ import annotations

import time

import netaddr
import pytest

from wardwatch.domain.manufacturers import (
    CONFIDENCE_ALIAS,
    CONFIDENCE_PREFIX,
    ManufacturerCatalog,
    clean_name,
    name_key,
)
from wardwatch.reference import manufacturer_catalog


@pytest.fixture(scope="module")
def catalog() -> ManufacturerCatalog:
    return manufacturer_catalog()


@pytest.mark.parametrize(
    "raw",
    [
        "GE Healthcare",
        "GE HEALTHCARE",
        "GE Medical Systems",
        "GE Medical Systems Information Technologies",
        "GE Medical Systems Information Technologies, Inc.",
        "General Electric Healthcare",
        "GE",
        "G.E. Medical",
        "  ge   healthcare  ",
        "GE HealthCare",
    ],
)
def test_ge_spellings_give_ge_healthcare(catalog: ManufacturerCatalog, raw: str) -> None:
    result = catalog.normalize(raw)
    assert result is not None
    assert (result.name, result.known) == ("GE HealthCare", True)


@pytest.mark.parametrize(
    "raw", ["Dräger", "Draeger", "DRAEGER", "Drager", "DRAEGER MEDICAL GmbH", "Drägerwerk AG & Co. KGaA"]
)
def test_draeger_spellings_give_draegerwerk(catalog: ManufacturerCatalog, raw: str) -> None:
    result = catalog.normalize(raw)
    assert result is not None
    assert result.name == "Drägerwerk"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Philips Medical Systems", "Philips"),
        ("Koninklijke Philips N.V.", "Philips"),
        ("PHILIPS", "Philips"),
        ("Siemens Medical Solutions", "Siemens Healthineers"),
        ("SIEMENS", "Siemens Healthineers"),
        ("Becton, Dickinson and Company", "BD"),
        ("Becton, Dickinson and Company (BD)", "BD"),
        ("BD (Becton Dickinson)", "BD"),
        ("Zoll", "ZOLL Medical"),
        ("B.Braun Melsungen AG", "B. Braun"),
        ("Hill-Rom Services, Inc.", "Hillrom"),
    ],
)
def test_messy_spellings(catalog: ManufacturerCatalog, raw: str, expected: str) -> None:
    result = catalog.normalize(raw)
    assert result is not None
    assert result.name == expected
    assert result.known


def test_exact_canonical_name_is_most_confident(catalog: ManufacturerCatalog) -> None:
    exact = catalog.normalize("Drägerwerk")
    alias = catalog.normalize("Draeger")
    assert exact is not None
    assert alias is not None
    assert exact.confidence > alias.confidence == CONFIDENCE_ALIAS


def test_leading_words_of_an_alias_match_with_less_confidence(catalog: ManufacturerCatalog) -> None:
    result = catalog.normalize("Philips Medical Systems Nederland B.V.")
    assert result is not None
    assert (result.name, result.confidence) == ("Philips", CONFIDENCE_PREFIX)


def test_unknown_vendor_spellings_meet_on_one_clean_name(catalog: ManufacturerCatalog) -> None:
    a = catalog.normalize("ACME MEDICAL, INC.")
    b = catalog.normalize("Acme Medical Inc")
    c = catalog.normalize("acme  medical llc")
    assert a is not None
    assert b is not None
    assert c is not None
    assert a.name == b.name == c.name
    assert a.key == b.key == c.key
    assert [a.known, b.known, c.known] == [False, False, False]
    assert "inc" not in a.name.casefold()


def test_unknown_mixed_case_name_keeps_its_casing(catalog: ManufacturerCatalog) -> None:
    result = catalog.normalize("bioMérieux SA")
    assert result is not None
    assert (result.name, result.known) == ("bioMérieux", False)


@pytest.mark.parametrize("raw", [None, "", "   ", "N/A", "n/a", "NA", "unknown", "UNKNOWN", "-", "--", "TBD", "?"])
def test_placeholders_give_none(catalog: ManufacturerCatalog, raw: str | None) -> None:
    assert catalog.normalize(raw) is None


def test_a_suffix_inside_a_word_is_not_stripped(catalog: ManufacturerCatalog) -> None:
    # "Cisco" ends in "co" and "Sysmex" in nothing, but only whole words are corporate forms.
    assert name_key("Cisco") == "cisco"
    assert clean_name("The Hamilton Company") == "The Hamilton Company"
    result = catalog.normalize("CISCO SYSTEMS, INC.")
    assert result is not None
    assert result.name == "Cisco"


@pytest.mark.parametrize(
    ("name", "parent"), [("Hospira", "ICU Medical"), ("Smiths Medical", "ICU Medical"), ("CareFusion", "BD")]
)
def test_acquired_brands_stay_distinct_with_their_parent(catalog: ManufacturerCatalog, name: str, parent: str) -> None:
    result = catalog.normalize(name.upper())
    assert result is not None
    assert (result.name, result.parent) == (name, parent)
    assert catalog.get(parent) is not None


def test_two_entries_sharing_a_key_are_rejected() -> None:
    with pytest.raises(ValueError, match="same key"):
        ManufacturerCatalog.from_entries([{"name": "Dräger", "aliases": []}, {"name": "Drager Inc", "aliases": []}])


def test_entry_without_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="without a name"):
        ManufacturerCatalog.from_entries([{"aliases": ["x"]}])


def test_by_oui_org_uses_real_ieee_registrations(catalog: ManufacturerCatalog) -> None:
    # Registrant names as netaddr reports them for real OUIs (the BD one has a double space upstream).
    assert catalog.by_oui_org(netaddr.OUI("9CC8AE").registration().org) == "BD"
    assert catalog.by_oui_org(netaddr.OUI("A0F217").registration().org) == "GE HealthCare"
    assert catalog.by_oui_org("SIEMENS AG") is None
    assert catalog.by_oui_org("Metanoia Technologies, Inc.") is None


def test_normalize_is_cached_and_fast(catalog: ManufacturerCatalog) -> None:
    first = catalog.normalize("GE Medical Systems")
    assert catalog.normalize("GE Medical Systems") is first
    rows = ["GE Medical Systems", "ACME MEDICAL, INC.", "Dräger", "N/A", "Baxter Healthcare"] * 40_000
    started = time.perf_counter()
    for raw in rows:
        catalog.normalize(raw)
    assert time.perf_counter() - started < 1.0
