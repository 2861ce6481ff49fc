"""Windows OS facts against real NVD Windows CPEs (PrintNightmare, EternalBlue): editions, releases, builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from wardwatch.domain.matching import Confidence, DeviceProfile, IntelIndex, Match, match_device
from wardwatch.domain.os_names import os_words
from wardwatch.ingest.nvd import read_nvd

NVD = Path(__file__).parent.parent / "fixtures" / "intel" / "nvd"
PRINTNIGHTMARE = "CVE-2021-34527"


@pytest.fixture(scope="module")
def index() -> IntelIndex:
    """Real NVD records: PrintNightmare (windows_10_1809 … with build bounds, windows_7 sp1) and EternalBlue."""
    return IntelIndex.build(
        vulnerabilities=[*read_nvd(NVD / "CVE-2021-34527-trimmed.json"), *read_nvd(NVD / "CVE-2017-0144.json")]
    )


def workstation(os_name: str, os_version: str | None) -> DeviceProfile:
    return DeviceProfile("ws-1", "Siemens Healthineers", "syngo.via", os_name=os_name, os_version=os_version)


def found(index: IntelIndex, os_name: str, os_version: str | None) -> dict[str, Match]:
    return {m.vulnerability_id: m for m in match_device(workstation(os_name, os_version), index)}


@pytest.mark.parametrize("os_name", ["Windows 7", "Windows 7 Professional", "Windows 7 Enterprise"])
def test_windows_7_sp1_in_any_edition_is_matched_by_windows_7_sp1(index: IntelIndex, os_name: str) -> None:
    match = found(index, os_name, "SP1")[PRINTNIGHTMARE]
    assert match.confidence is Confidence.CONFIRMED
    assert any("windows_7:-:sp1" in e and e.endswith("yes") for e in match.evidence)


def test_windows_7_without_the_service_pack_is_not_matched(index: IntelIndex) -> None:
    assert found(index, "Windows 7 Enterprise", "RTM") == {}


def test_windows_7_embedded_is_at_most_potential_on_the_desktop_product(index: IntelIndex) -> None:
    match = found(index, "Windows 7 Embedded", "SP1")[PRINTNIGHTMARE]
    assert match.confidence is Confidence.POTENTIAL


@pytest.mark.parametrize(("os_name", "os_version"), [("Windows 10", "1809"), ("Windows 10 Enterprise", "1809")])
def test_windows_10_release_is_matched_by_its_release_product(index: IntelIndex, os_name: str, os_version: str) -> None:
    match = found(index, os_name, os_version)[PRINTNIGHTMARE]
    # "1809" names the product windows_10_1809; without a build number the fix level is unknown
    assert match.confidence is Confidence.POTENTIAL
    assert any("windows_10_1809" in e for e in match.evidence)
    assert not any("windows_10_21h2" in e or "windows_server_2019" in e for e in match.evidence)


@pytest.mark.parametrize(("build", "expected"), [("10.0.17763.1935", True), ("10.0.17763.2029", False)])
def test_windows_10_build_number_is_compared_with_the_bounds(index: IntelIndex, build: str, expected: bool) -> None:
    matches = found(index, "Windows 10 Enterprise", build)
    if expected:
        assert matches[PRINTNIGHTMARE].confidence is Confidence.CONFIRMED
        assert any("windows_10_1809" in e and e.endswith("yes") for e in matches[PRINTNIGHTMARE].evidence)
    else:
        assert PRINTNIGHTMARE not in matches  # the July 2021 fix is installed


def test_windows_10_iot_ltsb_2016_is_release_1607(index: IntelIndex) -> None:
    matches = found(index, "Windows 10 IoT Enterprise", "2016 LTSB")
    assert any("windows_10_1607" in e for e in matches[PRINTNIGHTMARE].evidence)
    assert "CVE-2017-0144" in matches  # EternalBlue names windows_10_1607 too


@pytest.mark.parametrize(("os_name", "os_version"), [("Windows 10 Enterprise", "1909"), ("Windows 8", None)])
def test_other_releases_and_editions_are_not_matched(index: IntelIndex, os_name: str, os_version: str | None) -> None:
    assert found(index, os_name, os_version) == {}


def test_windows_server_2019_release_name_is_not_compared_with_build_bounds(index: IntelIndex) -> None:
    match = found(index, "Windows Server", "2019")[PRINTNIGHTMARE]
    assert match.confidence is Confidence.POTENTIAL
    assert any("windows_server_2019" in e for e in match.evidence)


def test_os_words_split_editions_variants_and_releases() -> None:
    words = os_words(frozenset({"windows", "7", "embedded", "professional"}), frozenset({"sp1"}), "SP1")
    assert words.name == {"windows", "7"} and words.variants == {"embedded"} and not words.releases
    assert os_words(frozenset({"windows", "10"}), frozenset({"10.0.19044.1415"}), "10.0.19044.1415").releases == {
        "21h2"
    }
