"""Cell normalisation: identifiers, addresses, flags and dates as CMMS exports write them."""

from __future__ import annotations

import contextlib
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wardwatch.domain.values import (
    InvalidValue,
    normalize_asset_tag,
    normalize_bool,
    normalize_date,
    normalize_hostname,
    normalize_ip,
    normalize_mac,
    normalize_serial,
    normalize_vlan,
)

octets = st.lists(st.integers(0, 255), min_size=6, max_size=6).filter(lambda o: o != [0] * 6 and o != [255] * 6)


@given(octets)
def test_every_mac_notation_gives_the_same_canonical_address(parts: list[int]) -> None:
    hexes = [f"{p:02x}" for p in parts]
    canonical = ":".join(hexes)
    joined = "".join(hexes)
    notations = [
        canonical.upper(),
        "-".join(hexes),
        f"{joined[0:4]}.{joined[4:8]}.{joined[8:12]}",
        joined.upper(),
        f"  {canonical}  ",
    ]
    assert {normalize_mac(n) for n in notations} == {canonical}


@pytest.mark.parametrize("raw", ["", " ", "N/A", "unknown", "TBD", "-", "00:00:00:00:00:00", "FF-FF-FF-FF-FF-FF"])
def test_placeholder_macs_are_unknown(raw: str) -> None:
    assert normalize_mac(raw) is None


@pytest.mark.parametrize("raw", ["zz:11:22:33:44:55", "00:11:22:33:44", "00:11:22:33:44:55:66", "see label"])
def test_malformed_macs_are_rejected_with_an_example(raw: str) -> None:
    with pytest.raises(InvalidValue, match="not a MAC address.*e.g."):
        normalize_mac(raw)


def test_ip_addresses_are_canonical_and_validated() -> None:
    assert normalize_ip(" 10.1.40.007 ".replace("007", "7")) == "10.1.40.7"
    assert normalize_ip("2001:DB8:0:0::1") == "2001:db8::1"
    assert normalize_ip("0.0.0.0") is None
    with pytest.raises(InvalidValue, match="not an IP address"):
        normalize_ip("10.1.40.300")


def test_serials_and_tags_ignore_case_and_spacing_but_keep_punctuation() -> None:
    assert normalize_serial(" sf 123-4 ") == normalize_serial("SF123-4") == "SF123-4"
    assert normalize_asset_tag("bme-1001 ") == "BME-1001"
    assert normalize_serial("N/A") is None
    assert normalize_serial("0") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Y", True), ("yes", True), ("TRUE", True), ("x", True), ("N", False), ("No", False), ("", None), ("n/a", None)],
)
def test_booleans_in_the_usual_spellings(raw: str, expected: bool | None) -> None:
    assert normalize_bool(raw) is expected


def test_a_word_that_is_not_yes_or_no_is_rejected() -> None:
    with pytest.raises(InvalidValue, match="not yes or no"):
        normalize_bool("maybe")


@pytest.mark.parametrize(
    "raw", ["2019-03-04", "03/04/2019", "3/4/2019", "04.03.2019", "2019/03/04", "04-Mar-2019", "2019-03-04 00:00:00"]
)
def test_dates_in_common_export_forms(raw: str) -> None:
    assert normalize_date(raw) == date(2019, 3, 4)


def test_dates_from_spreadsheet_cells_and_custom_formats() -> None:
    assert normalize_date(datetime(2019, 3, 4, 13, 5)) == date(2019, 3, 4)  # noqa: DTZ001 - as openpyxl returns
    assert normalize_date("04/03/2019", ("%d/%m/%Y",)) == date(2019, 3, 4)
    with pytest.raises(InvalidValue, match="not a date"):
        normalize_date("31/31/2019")


def test_vlans_and_hostnames() -> None:
    assert normalize_vlan("VLAN 40") == normalize_vlan("40") == 40
    with pytest.raises(InvalidValue):
        normalize_vlan("5000")
    assert normalize_hostname("ICUE-MON-012.hospital.local.") == "icue-mon-012.hospital.local"
    with pytest.raises(InvalidValue):
        normalize_hostname("bad host!")


@given(st.text(max_size=30))
def test_normalisers_never_fail_with_anything_but_invalid_value(text: str) -> None:
    for function in (normalize_mac, normalize_ip, normalize_bool, normalize_date, normalize_vlan, normalize_hostname):
        with contextlib.suppress(InvalidValue):
            function(text)
