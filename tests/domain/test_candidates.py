"""Merging rows of one device: keys, serial vetoes, value choice and derived attributes."""

from __future__ import annotations

from wardwatch.domain.candidates import Candidate, group_candidates, keys_of


def row(locator: str, derived: dict[str, tuple[float, str]] | None = None, **values: str) -> Candidate:
    return Candidate(locator, values, derived or {})


def test_keys_are_tag_manufacturer_serial_and_mac() -> None:
    assert keys_of({"asset_tag": "A1", "serial": "S1", "manufacturer": "BD", "mac": "00:11:22:33:44:55"}) == [
        "tag:A1",
        "sn:bd|S1",
        "mac:00:11:22:33:44:55",
    ]
    assert keys_of({"model": "x"}) == []


def test_rows_sharing_any_key_merge_transitively() -> None:
    rows = [
        row("row 2", asset_tag="A1", serial="S1", manufacturer="BD"),
        row("row 3", asset_tag="A9", serial="S1", manufacturer="BD", mac="00:11:22:33:44:55"),
        row("row 4", asset_tag="A7", mac="00:11:22:33:44:55"),
        row("row 5", asset_tag="B1"),
    ]
    groups, clashes = group_candidates(rows)
    assert [g.locators for g in groups] == [("row 2", "row 3", "row 4"), ("row 5",)]
    assert set(groups[0].keys) == {"tag:A1", "tag:A9", "tag:A7", "sn:bd|S1", "mac:00:11:22:33:44:55"}
    assert clashes == []


def test_same_mac_with_different_serials_stays_two_devices_and_is_reported() -> None:
    rows = [
        row("row 2", asset_tag="A1", serial="S1", manufacturer="Philips", mac="00:09:fb:01:02:03"),
        row("row 3", asset_tag="A2", serial="S2", manufacturer="Philips", mac="00:09:fb:01:02:03"),
    ]
    groups, clashes = group_candidates(rows)
    assert len(groups) == 2
    assert "mac:00:09:fb:01:02:03" in groups[0].keys
    assert "mac:00:09:fb:01:02:03" not in groups[1].keys
    assert len(clashes) == 1
    assert "row 2 and row 3" in clashes[0]


def test_reused_asset_tag_on_a_different_serial_is_not_merged() -> None:
    groups, clashes = group_candidates(
        [
            row("row 2", asset_tag="A1", serial="OLD", manufacturer="BD"),
            row("row 3", asset_tag="A1", serial="NEW", manufacturer="BD"),
        ]
    )
    assert len(groups) == 2
    assert clashes


def test_most_frequent_value_wins_then_the_last_row() -> None:
    groups, _ = group_candidates(
        [
            row("row 2", asset_tag="A1", model="X", location="ICU 1"),
            row("row 3", asset_tag="A1", model="X", location="ICU 2"),
            row("row 4", asset_tag="A1", model="Y", location="ICU 3"),
        ]
    )
    (group,) = groups
    assert group.values["model"] == "X"
    assert group.values["location"] == "ICU 3"
    conflicts = {c.attribute: c for c in group.conflicts}
    assert conflicts["model"].others == ("Y",)
    assert set(conflicts["location"].others) == {"ICU 1", "ICU 2"}


def test_a_written_value_beats_a_derived_one_from_another_row() -> None:
    groups, _ = group_candidates(
        [
            row("row 2", {"criticality": (0.6, "usual")}, asset_tag="A1", criticality="therapeutic"),
            row("row 3", asset_tag="A1", criticality="life-sustaining"),
        ]
    )
    (group,) = groups
    assert group.values["criticality"] == "life-sustaining"
    assert "criticality" not in group.derived
    assert group.confidence("criticality") == 0.9
