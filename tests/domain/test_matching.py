"""Matching a device against real advisories, NVD configurations, SBOMs with VEX, KEV and EPSS."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from wardwatch.domain.intel import (
    ConfigNode,
    CpeMatch,
    Recall,
    RemediationCategory,
    VexStatement,
    VexStatus,
    Vulnerability,
)
from wardwatch.domain.matching import Confidence, DeviceProfile, IntelIndex, Match, match_device
from wardwatch.ingest.csaf import read_csaf
from wardwatch.ingest.cyclonedx import read_cyclonedx
from wardwatch.ingest.epss import read_epss
from wardwatch.ingest.kev import read_kev
from wardwatch.ingest.nvd import read_nvd
from wardwatch.reference import manufacturer_catalog

INTEL = Path(__file__).parent.parent / "fixtures" / "intel"
ALARIS_CVES = {"CVE-2016-8375", "CVE-2016-9355", "CVE-2019-11479"}


@pytest.fixture(scope="module")
def index() -> IntelIndex:
    """Real BD Alaris advisories, the real EternalBlue NVD record, the real KEV and EPSS samples."""
    return IntelIndex.build(
        advisories=[read_csaf(INTEL / "csaf" / f"{name}.json") for name in ("icsma-20-170-06", "icsma-17-017-02")],
        vulnerabilities=read_nvd(INTEL / "nvd" / "CVE-2017-0144.json"),
        kev=read_kev(INTEL / "kev" / "kev_2025-08-25_trimmed.csv").entries,
        epss=read_epss(INTEL / "epss" / "epss_sample.csv"),
        normalize_vendor=manufacturer_catalog().normalize,
    )


def alaris(software: str | None, *, manufacturer: str = "BD", model: str = "Alaris 8015 PC Unit") -> DeviceProfile:
    return DeviceProfile("pump-1", manufacturer, model, device_type="infusion pump", software_version=software)


def by_id(matches: list[Match]) -> dict[str, Match]:
    return {m.vulnerability_id: m for m in matches}


# ---------------------------------------------------------------------------------------------- CSAF (BD Alaris)


def test_alaris_9_19_gets_the_advisories_cves_confirmed_with_remediation(index: IntelIndex) -> None:
    found = by_id(match_device(alaris("9.19"), index))
    assert set(found) == ALARIS_CVES
    assert all(m.confidence is Confidence.CONFIRMED and not m.suppressed for m in found.values())
    linux = found["CVE-2019-11479"]
    assert linux.source == "csaf:ICSMA-20-170-06"
    assert linux.advisories == ("ICSMA-20-170-06",)
    assert any("9.19 ∈ '9.13 | 9.19 | 9.33 | 12.1' in ICSMA-20-170-06" in e for e in linux.evidence)
    assert linux.cvss is not None and linux.cvss.base_score == 5.3  # the advisory's own score
    assert linux.vex_status is VexStatus.AFFECTED and linux.vex_author == "CISA"
    fixes = [r for r in linux.remediations if r.category is RemediationCategory.VENDOR_FIX]
    assert any(r.url and "bd.com" in r.url for r in fixes)
    old = found["CVE-2016-9355"]
    # of the three product entries (9.7, <= 9.33, <= 9.5) only "<= 9.33" contains 9.19
    assert old.evidence[0].startswith("Alaris 8015 PC unit 9.19 ∈ '<= 9.33' in ICSMA-17-017-02 (CSAFPID-0002")
    assert old.cvss is not None and old.cvss.base_score == 6.8


def test_manufacturer_alias_is_normalised(index: IntelIndex) -> None:
    device = alaris("9.19", manufacturer="Becton, Dickinson and Company")
    assert set(by_id(match_device(device, index))) == ALARIS_CVES


def test_unknown_software_version_gives_potential_findings(index: IntelIndex) -> None:
    found = by_id(match_device(alaris(None), index))
    assert set(found) == ALARIS_CVES
    assert {m.confidence for m in found.values()} == {Confidence.POTENTIAL}


@pytest.mark.parametrize("version", ["12.2", "9.34"])
def test_version_outside_every_range_gives_nothing(index: IntelIndex, version: str) -> None:
    assert match_device(alaris(version), index) == []


def test_version_range_decides_per_advisory(index: IntelIndex) -> None:
    # 12.1 is named by ICSMA-20-170-06 only; ICSMA-17-017-02 stops at 9.33
    assert set(by_id(match_device(alaris("12.1"), index))) == {"CVE-2019-11479"}


def test_less_specific_model_is_at_most_potential(index: IntelIndex) -> None:
    found = by_id(match_device(alaris("9.19", model="Alaris PC Unit"), index))
    assert found["CVE-2019-11479"].confidence is Confidence.CONFIRMED  # "Alaris PC Unit" ⊆ model
    assert found["CVE-2016-9355"].confidence is Confidence.POTENTIAL  # model ⊂ "Alaris 8015 PC unit"
    assert any("less specific" in e for e in found["CVE-2016-9355"].evidence)


@pytest.mark.parametrize(
    ("manufacturer", "model"),
    [("Baxter", "Alaris 8015 PC Unit"), ("BD", "Unit"), ("BD", "Alaris Syringe Module 8110"), ("BD", "")],
)
def test_false_positive_guards(index: IntelIndex, manufacturer: str, model: str) -> None:
    assert match_device(alaris("9.19", manufacturer=manufacturer, model=model), index) == []


# ---------------------------------------------------------------------------------------------- NVD (EternalBlue)


def windows(os_name: str, os_version: str | None, *, cpes: tuple[str, ...] = ()) -> DeviceProfile:
    return DeviceProfile(
        "ws-1", "GE Healthcare", "CARESCAPE Central Station", os_name=os_name, os_version=os_version, cpes=cpes
    )


def test_eternalblue_on_windows_7_sp1_is_potential_and_in_kev(index: IntelIndex) -> None:
    found = by_id(match_device(windows("Windows 7", "SP1"), index))
    assert set(found) == {"CVE-2017-0144"}
    match = found["CVE-2017-0144"]
    assert match.source == "nvd"
    # the configuration is "SMB 1.0 AND running on Windows 7 SP1": the OS matches, SMBv1 is assumed, not known
    assert match.confidence is Confidence.POTENTIAL
    assert any("windows_7:-:sp1" in e and "yes" in e for e in match.evidence)
    assert any("server_message_block" in e and "assumed" in e for e in match.evidence)
    assert match.kev is not None and match.kev.date_added == date(2022, 2, 10) and match.kev.ransomware == "Known"
    assert match.cvss is not None and match.cvss.version == "3.1" and match.cvss.type == "Primary"


def test_eternalblue_confirmed_when_smb1_is_a_known_fact(index: IntelIndex) -> None:
    device = windows("Windows 7", "SP1", cpes=("cpe:2.3:a:microsoft:server_message_block:1.0:*:*:*:*:*:*:*",))
    assert by_id(match_device(device, index))["CVE-2017-0144"].confidence is Confidence.CONFIRMED


@pytest.mark.parametrize(("os_name", "os_version"), [("Windows 10", "22H2"), ("Windows 7", "RTM"), ("Linux", "5.4")])
def test_eternalblue_not_on_platforms_outside_the_configuration(
    index: IntelIndex, os_name: str, os_version: str
) -> None:
    assert match_device(windows(os_name, os_version), index) == []


def test_eternalblue_on_windows_10_1607_which_the_configuration_names(index: IntelIndex) -> None:
    assert set(by_id(match_device(windows("Windows 10", "1607"), index))) == {"CVE-2017-0144"}


@pytest.mark.parametrize(
    ("firmware", "expected"),
    [("13.02", Confidence.CONFIRMED), ("13.21", Confidence.CONFIRMED), (None, Confidence.POTENTIAL), ("13.10", None)],
)
def test_siemens_firmware_and_hardware_configuration(
    index: IntelIndex, firmware: str | None, expected: Confidence | None
) -> None:
    device = DeviceProfile("us-1", "Siemens Healthineers", "ACUSON P300", firmware_version=firmware)
    found = by_id(match_device(device, index))
    assert (found["CVE-2017-0144"].confidence if found else None) is expected


# ---------------------------------------------------------------------------------------------- SBOM + VEX

SBOM = read_cyclonedx(INTEL / "sbom" / "extended.sbom.json")
WOLFSSL = next(c for c in SBOM.components if c.name == "WolfSSL")
CORE = next(c for c in SBOM.components if c.name == "NAudio.Core")
WASAPI = next(c for c in SBOM.components if c.name == "NAudio.Wasapi")
# synthetic CVEs (the ids are reserved-looking, the components and versions are the real SBOM's)
WOLF_CVE = Vulnerability(
    "CVE-2099-0001",
    configurations=(
        ConfigNode(
            "OR", matches=(CpeMatch("cpe:2.3:a:wolfssl:wolfssl:*:*:*:*:*:*:*:*", True, version_end_excluding="5.0.0"),)
        ),
    ),
)
NAUDIO_CVE = Vulnerability(
    "CVE-2099-0002",
    affected=(("", "pkg:nuget/NAudio.Core", "vers:nuget/<2.2.0"), ("", "pkg:nuget/NAudio.Wasapi", "vers:nuget/<2.2.0")),
)


def sbom_device() -> DeviceProfile:
    return DeviceProfile("mon-1", "Acme Medical", "Vitals Monitor 3", components=SBOM.components)


def sbom_index(*vex: VexStatement) -> IntelIndex:
    return IntelIndex.build(vulnerabilities=[WOLF_CVE, NAUDIO_CVE], vex=vex)


def test_sbom_component_by_cpe_range() -> None:
    found = [m for m in match_device(sbom_device(), sbom_index()) if m.vulnerability_id == "CVE-2099-0001"]
    assert [(m.component_ref, m.source, m.confidence) for m in found] == [
        (WOLFSSL.ref, f"sbom:{WOLFSSL.ref}", Confidence.CONFIRMED)
    ]
    assert "4.8.1" in found[0].evidence[0]


def test_sbom_component_outside_range_gives_nothing() -> None:
    fixed = Vulnerability(
        "CVE-2099-0001",
        configurations=(
            ConfigNode(
                "OR",
                matches=(CpeMatch("cpe:2.3:a:wolfssl:wolfssl:*:*:*:*:*:*:*:*", True, version_end_excluding="4.8.1"),),
            ),
        ),
    )
    index = IntelIndex.build(vulnerabilities=[fixed])
    assert match_device(sbom_device(), index) == []


def test_sbom_components_by_purl_with_ecosystem_range() -> None:
    found = [m for m in match_device(sbom_device(), sbom_index()) if m.vulnerability_id == "CVE-2099-0002"]
    assert {m.component_ref for m in found} == {CORE.ref, WASAPI.ref}
    assert all(m.confidence is Confidence.CONFIRMED and not m.suppressed for m in found)


def test_vex_not_affected_suppresses_only_its_own_component() -> None:
    statement = VexStatement(
        "CVE-2099-0002",
        CORE.ref,
        VexStatus.NOT_AFFECTED,
        justification="code_not_reachable",
        author="Acme Medical Inc.",
    )
    found = {
        m.component_ref: m
        for m in match_device(sbom_device(), sbom_index(statement))
        if m.vulnerability_id == "CVE-2099-0002"
    }
    core, wasapi = found[CORE.ref], found[WASAPI.ref]
    assert core.suppressed and core.vex_status is VexStatus.NOT_AFFECTED
    assert core.vex_justification == "code_not_reachable" and core.vex_author == "Acme Medical Inc."
    assert not wasapi.suppressed and wasapi.vex_status is None  # same CVE, other component: untouched


def test_vex_by_purl_and_fixed_pointer() -> None:
    statement = VexStatement(
        "CVE-2099-0002",
        "pkg:nuget/NAudio.Wasapi@2.0.0",
        VexStatus.FIXED,
        author="Acme Medical",
        fixed_version="2.0.0-acme1",
    )
    found = {
        m.component_ref: m
        for m in match_device(sbom_device(), sbom_index(statement))
        if m.vulnerability_id == "CVE-2099-0002"
    }
    assert found[WASAPI.ref].vex_status is VexStatus.FIXED and not found[WASAPI.ref].suppressed
    assert [r.details for r in found[WASAPI.ref].remediations] == ["fixed in 2.0.0-acme1"]
    assert found[CORE.ref].vex_status is None


def test_vex_purl_for_another_version_does_not_apply() -> None:
    statement = VexStatement("CVE-2099-0002", "pkg:nuget/NAudio.Core@2.1.0", VexStatus.NOT_AFFECTED, author=None)
    found = {
        m.component_ref: m
        for m in match_device(sbom_device(), sbom_index(statement))
        if m.vulnerability_id == "CVE-2099-0002"
    }
    assert not found[CORE.ref].suppressed


def test_third_party_not_affected_stays_visible() -> None:
    statement = VexStatement("CVE-2099-0001", WOLFSSL.ref, VexStatus.NOT_AFFECTED, author="Some Scanner Vendor")
    match = next(m for m in match_device(sbom_device(), sbom_index(statement)) if m.vulnerability_id == "CVE-2099-0001")
    assert match.vex_status is VexStatus.NOT_AFFECTED and not match.suppressed
    assert any("not suppressed" in e for e in match.evidence)


def test_under_investigation_stays_visible() -> None:
    statement = VexStatement("CVE-2099-0001", WOLFSSL.ref, VexStatus.UNDER_INVESTIGATION, author="Acme Medical")
    match = next(m for m in match_device(sbom_device(), sbom_index(statement)) if m.vulnerability_id == "CVE-2099-0001")
    assert match.vex_status is VexStatus.UNDER_INVESTIGATION and not match.suppressed


# ---------------------------------------------------------------------------------------------- enrichment, recalls


def test_epss_enrichment_from_the_real_file() -> None:
    # the real EPSS sample scores CVE-1999-0001; its applicability here is synthetic
    vuln = Vulnerability(
        "CVE-1999-0001",
        configurations=(ConfigNode("OR", matches=(CpeMatch("cpe:2.3:a:wolfssl:wolfssl:4.8.1:*:*:*:*:*:*:*", True),)),),
    )
    index = IntelIndex.build(vulnerabilities=[vuln], epss=read_epss(INTEL / "epss" / "epss_sample.csv"))
    (match,) = match_device(sbom_device(), index)
    assert match.epss is not None and match.epss.epss == pytest.approx(0.00383)
    assert match.epss.percentile == pytest.approx(0.73075) and match.epss.model_version == "v2023.03.01"
    assert match.kev is None


def test_recall_by_product_code_and_model() -> None:
    recall = Recall(
        "Z-0001-2099",
        "FRN",
        "Becton, Dickinson and Company (BD)",
        "BD Alaris PC Unit, Model 8015",
        "software",
        "Class 2",
        "Open",
        None,
        model_numbers=("8015",),
    )
    index = IntelIndex.build(recalls=[recall])
    device = DeviceProfile("pump-1", "BD", "8015", product_code="FRN")
    (match,) = match_device(device, index)
    assert (match.vulnerability_id, match.source, match.confidence) == (
        "Z-0001-2099",
        "fda-recall",
        Confidence.CONFIRMED,
    )
    assert match_device(DeviceProfile("pump-2", "BD", "8015", product_code="MEA"), index) == []


def _profiles() -> list[DeviceProfile]:
    """Devices that share facts (same OS, same model, same SBOM) with different ids, versions and vendors."""
    return [
        alaris("9.19"), alaris("12.2"), alaris(None), alaris("9.19", manufacturer="Becton Dickinson"),
        windows("Windows 7", "SP1"), windows("Windows 7", "SP1"), windows("Windows 10", "1607"),
        DeviceProfile("ws-9", "Philips", "IntelliSpace", os_name="Windows 7", os_version="SP1",
                      components=SBOM.components),
        DeviceProfile("mon-1", "Acme Medical", "Vitals Monitor 3", components=SBOM.components),
        DeviceProfile("mon-2", "Acme Medical", "Vitals Monitor 3", components=SBOM.components),
        DeviceProfile("", "Acme Medical", "Vitals Monitor 3", components=SBOM.components),
    ]  # fmt: skip


def test_memoised_index_gives_the_same_matches_as_a_fresh_one() -> None:
    def build() -> IntelIndex:
        return IntelIndex.build(
            advisories=[read_csaf(INTEL / "csaf" / f"{n}.json") for n in ("icsma-20-170-06", "icsma-17-017-02")],
            vulnerabilities=[*read_nvd(INTEL / "nvd" / "CVE-2017-0144.json"), WOLF_CVE, NAUDIO_CVE],
            kev=read_kev(INTEL / "kev" / "kev_2025-08-25_trimmed.csv").entries,
            epss=read_epss(INTEL / "epss" / "epss_sample.csv"),
            vex=[VexStatement("CVE-2099-0001", WOLFSSL.ref, VexStatus.NOT_AFFECTED, author="Acme Medical")],
            normalize_vendor=manufacturer_catalog().normalize,
        )

    shared = build()
    warm = [match_device(p, shared) for p in _profiles() + _profiles()]
    fresh = [match_device(p, build()) for p in _profiles() + _profiles()]
    assert warm == fresh
    assert all(m.device_id == p.device_id for p, found in zip(_profiles(), warm, strict=False) for m in found)
    assert sum(len(found) for found in warm) > 20  # the profiles do have findings to compare


def test_the_most_recently_modified_record_wins() -> None:
    old = Vulnerability(
        "CVE-2099-0003",
        modified=datetime(2025, 1, 1, tzinfo=UTC),
        configurations=(ConfigNode("OR", matches=(CpeMatch("cpe:2.3:a:wolfssl:wolfssl:*:*:*:*:*:*:*:*", True,
                                                           version_end_excluding="5.0.0"),)),),
        source="nvd",
    )  # fmt: skip
    withdrawn = replace(
        old,
        modified=datetime(2025, 8, 26, tzinfo=UTC),
        configurations=(ConfigNode("OR", matches=(CpeMatch("cpe:2.3:a:wolfssl:wolfssl:*:*:*:*:*:*:*:*", False),)),),
    )
    for order in ([old, withdrawn], [withdrawn, old]):
        found = match_device(sbom_device(), IntelIndex.build(vulnerabilities=order))
        assert [m for m in found if m.vulnerability_id == "CVE-2099-0003"] == []
    found = match_device(sbom_device(), IntelIndex.build(vulnerabilities=[old]))
    assert [m.component_ref for m in found if m.vulnerability_id == "CVE-2099-0003"] == [WOLFSSL.ref]
