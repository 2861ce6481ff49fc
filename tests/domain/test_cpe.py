"""CPE 2.3 parsing, matching and name keys, checked against the `cpe` library and real NVD criteria."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wardwatch.domain.cpe import ANY, NA, Cpe, CpeError, matches, parse_cpe, product_key, unescape, vendor_key
from wardwatch.reference import manufacturer_catalog

NVD = Path(__file__).parent.parent / "fixtures" / "intel" / "nvd"


def _criteria(node: object) -> list[str]:
    """Every ``criteria`` string anywhere in a parsed JSON value."""
    if isinstance(node, dict):
        found = [node["criteria"]] if isinstance(node.get("criteria"), str) else []
        return found + [c for value in node.values() for c in _criteria(value)]
    if isinstance(node, list):
        return [c for value in node for c in _criteria(value)]
    return []


REAL_CRITERIA = sorted(
    {c for name in ("CVE-2017-0144.json", "page-trimmed.json") for c in _criteria(json.loads((NVD / name).read_text()))}
)


def test_parse_siemens_firmware_cpe() -> None:
    cpe = parse_cpe("cpe:2.3:o:siemens:acuson_p300_firmware:13.02:*:*:*:*:*:*:*")
    assert cpe == Cpe("o", "siemens", "acuson_p300_firmware", "13.02")
    assert cpe.update == ANY and cpe.other == ANY
    assert str(cpe) == "cpe:2.3:o:siemens:acuson_p300_firmware:13.02:*:*:*:*:*:*:*"


def test_parse_na_and_target_hw() -> None:
    cpe = parse_cpe("cpe:2.3:o:microsoft:windows_10_1607:-:*:*:*:*:*:x64:*")
    assert cpe.version == NA
    assert cpe.target_hw == "x64"


def test_escapes_are_kept_and_unescaped_for_display() -> None:
    cpe = parse_cpe(r"cpe:2.3:a:acme:big\:app:1.0\-beta:*:*:*:*:*:*:*")
    assert cpe.product == r"big\:app"
    assert cpe.version == r"1.0\-beta"
    assert unescape(cpe.product) == "big:app"
    assert str(cpe) == r"cpe:2.3:a:acme:big\:app:1.0\-beta:*:*:*:*:*:*:*"


def test_literal_star_is_not_any() -> None:
    cpe = parse_cpe(r"cpe:2.3:a:acme:app:\*:*:*:*:*:*:*:*")
    assert cpe.version != ANY
    assert not matches(cpe, "cpe:2.3:a:acme:app:1.0:*:*:*:*:*:*:*")


@pytest.mark.parametrize(
    "text",
    [
        "cpe:/a:microsoft:windows",  # CPE 2.2 URI binding
        "cpe:2.3:a:acme:app:1.0",  # too few attributes
        "cpe:2.3:a:acme:app:1.0:*:*:*:*:*:*:*:extra",
        "cpe:2.3:x:acme:app:1.0:*:*:*:*:*:*:*",  # bad part
        "cpe:2.3:a:acme::1.0:*:*:*:*:*:*:*",  # empty product
        "cpe:2.3:a:acme:my app:1.0:*:*:*:*:*:*:*",  # unescaped space
        "cpe:2.3:a:acme:app:1.0:*:*:*:*:*:*:*\\",  # lone escape
        "cpe:2.3:a:acme:" + "x" * 5000 + ":1.0:*:*:*:*:*:*:*",  # huge
        "",
    ],
)
def test_malformed_cpes_raise_cpe_error(text: str) -> None:
    with pytest.raises(CpeError):
        parse_cpe(text)


def test_non_text_raises_cpe_error() -> None:
    with pytest.raises(CpeError, match="must be text"):
        parse_cpe(None)  # type: ignore[arg-type]


def test_case_is_folded() -> None:
    assert parse_cpe("CPE:2.3:O:Siemens:ACUSON_X700_Firmware:1.0:*:*:*:*:*:*:*").vendor == "siemens"


@pytest.mark.parametrize(
    ("pattern", "cpe", "expected"),
    [
        # ANY in the pattern covers anything; NA only NA.
        ("cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*", "cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:x64:*", True),
        ("cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*", "cpe:2.3:o:microsoft:windows_7:-:-:*:*:*:*:*:*", False),
        ("cpe:2.3:o:microsoft:windows_7:-:*:*:*:*:*:*:*", "cpe:2.3:o:microsoft:windows_7:1.0:*:*:*:*:*:*:*", False),
        ("cpe:2.3:h:siemens:acuson_p300:-:*:*:*:*:*:*:*", "cpe:2.3:h:siemens:acuson_p300:-:*:*:*:*:*:*:*", True),
        # A specific pattern value does not cover an unknown (ANY) target value.
        (
            "cpe:2.3:o:siemens:acuson_p300_firmware:13.02:*:*:*:*:*:*:*",
            "cpe:2.3:o:siemens:acuson_p300_firmware:*:*:*:*:*:*:*:*",
            False,
        ),
        (
            "cpe:2.3:o:siemens:acuson_p300_firmware:13.02:*:*:*:*:*:*:*",
            "cpe:2.3:o:siemens:acuson_p300_firmware:13.03:*:*:*:*:*:*:*",
            False,
        ),
        (
            "cpe:2.3:o:siemens:acuson_p300_firmware:13.0?:*:*:*:*:*:*:*",
            "cpe:2.3:o:siemens:acuson_p300_firmware:13.03:*:*:*:*:*:*:*",
            True,
        ),
        (
            "cpe:2.3:a:ibm:security_verify_*:*:*:*:*:*:*:*:*",
            "cpe:2.3:a:ibm:security_verify_privilege_on-premises:11.4:*:*:*:*:*:*:*",
            True,
        ),
        ("cpe:2.3:a:ibm:security_verify_*:*:*:*:*:*:*:*:*", "cpe:2.3:a:ibm:other:11.4:*:*:*:*:*:*:*", False),
    ],
)
def test_matches(pattern: str, cpe: str, expected: bool) -> None:
    assert matches(pattern, cpe) is expected


def test_matches_can_leave_the_version_to_range_checks() -> None:
    pattern = "cpe:2.3:o:siemens:acuson_sc2000_firmware:5.0a:*:*:*:*:*:*:*"
    device = "cpe:2.3:o:siemens:acuson_sc2000_firmware:4.0c:*:*:*:*:*:*:*"
    assert not matches(pattern, device)
    assert matches(pattern, device, compare_version=False)
    assert not matches(pattern, "cpe:2.3:o:siemens:acuson_x700_firmware:4.0c:*:*:*:*:*:*:*", compare_version=False)


def test_vendor_key_folds_spellings() -> None:
    assert vendor_key("ge_healthcare") == vendor_key("GE Healthcare") == vendor_key("GE Healthcare, Inc.")
    assert vendor_key("siemens") == vendor_key("Siemens AG")
    assert vendor_key("siemens") != vendor_key("philips")


def test_vendor_key_with_catalog_uses_known_names() -> None:
    catalog = manufacturer_catalog()
    known = catalog.normalize("GE Healthcare")
    assert known is not None and known.known
    assert vendor_key("ge_healthcare", catalog) == known.key
    assert vendor_key("an_unknown_vendor_xyz", catalog) == vendor_key("an_unknown_vendor_xyz")


def test_product_key() -> None:
    assert product_key("acuson_p300_firmware") == product_key("ACUSON  P300 Firmware") == "acuson p300 firmware"
    assert product_key(r"windows_8\.1") == "windows 8.1"


def test_real_nvd_criteria_round_trip() -> None:
    assert len(REAL_CRITERIA) > 20
    for text in REAL_CRITERIA:
        cpe = parse_cpe(text)
        assert str(cpe) == text
        assert matches(cpe, cpe)


def test_agrees_with_the_cpe_library() -> None:
    cpe_lib = pytest.importorskip("cpe")
    samples = [
        *REAL_CRITERIA,
        r"cpe:2.3:a:acme:big\:app:1.0\-beta:*:*:*:*:*:*:*",
        "cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*",
    ]
    for text in samples:
        reference = cpe_lib.CPE(text)
        ours = parse_cpe(text)
        assert reference.get_part()[0] == ours.part, text
        assert reference.get_vendor()[0] == ours.vendor, text
        assert reference.get_product()[0] == ours.product, text
        assert reference.get_version()[0] == ours.version, text
        assert reference.get_update()[0] == ours.update, text
        assert reference.get_target_hardware()[0] == ours.target_hw, text
        assert reference.get_target_software()[0] == ours.target_sw, text
