"""The sample hospital end to end: generate it, import its CMMS export into SQLite, compare with truth.json.

The generator knows what every row really is (``truth.json``); the importer has only the messy export. These
tests hold the importer (manufacturer normalisation, device-type classification, duplicate merging,
idempotence) to that truth, for the CSV and the XLSX copy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from wardwatch.domain.values import normalize_asset_tag
from wardwatch.services.devices import DeviceFilter, device_detail, iter_devices, list_devices
from wardwatch.services.inventory_import import import_cmms
from wardwatch.simulate import Size, generate, write
from wardwatch.store.database import connect, migrate

_VOLATILE = ("id", "created_at", "updated_at")


def _hospital(out: Path, size: Size, seed: int) -> dict[str, Any]:
    write(generate(size, seed), out)
    truth: dict[str, Any] = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    return truth


def _assert_matches_truth(engine: Engine, truth: dict[str, Any]) -> None:
    """One stored device per true device, each with the canonical manufacturer and the true type."""
    entries: dict[str, dict[str, str]] = truth["devices"]
    rows, total = list_devices(engine, DeviceFilter(), limit=None)
    assert total == len(rows) == truth["device_count"]

    seen: set[str] = set()
    wrong: list[str] = []
    for row in rows:
        tag = normalize_asset_tag(row["asset_tag"])
        assert tag in entries, f"stored asset tag {row['asset_tag']!r} is in no CMMS row"
        entry = entries[tag]
        assert entry["asset_tag"] not in seen, f"{entry['asset_tag']} was stored twice"
        seen.add(entry["asset_tag"])
        assert row["manufacturer"] == entry["manufacturer"], (tag, row["manufacturer"], entry["manufacturer"])
        assert row["model"] == entry["model"]
        assert row["site"] == entry["site"]
        if row["device_type"] != entry["device_type"]:
            wrong.append(f"{tag} {entry['model']!r}: {row['device_type']} != {entry['device_type']}")
    assert not wrong, f"{len(wrong)} devices misclassified: {wrong[:10]}"
    assert len(seen) == truth["device_count"]

    # Every tag a duplicate group's rows carry (a re-typed or a new tag) finds the same single device.
    tags_by_device: dict[str, list[str]] = {}
    for tag, entry in entries.items():
        tags_by_device.setdefault(entry["asset_tag"], []).append(tag)
    regrouped = [tags for tags in tags_by_device.values() if len(tags) > 1]
    assert regrouped, "the export has re-tagged duplicates"
    for tags in regrouped:
        found = {device_detail(engine, tag)["id"] for tag in tags}
        assert len(found) == 1, f"{tags} are one device but were stored as {len(found)}"


def _stored(engine: Engine) -> list[dict[str, Any]]:
    """Everything the inventory holds about each device, without ids and timestamps, in asset-tag order."""
    records = [{k: v for k, v in d.items() if k not in _VOLATILE} for d in iter_devices(engine, DeviceFilter())]
    return sorted(records, key=lambda d: str(d["asset_tag"]))


@pytest.fixture
def second_engine(tmp_path: Path) -> Iterator[Engine]:
    """Another migrated SQLite database, next to ``sqlite_engine``'s."""
    database = connect(f"sqlite:///{tmp_path / 'second.db'}")
    migrate(database)
    yield database
    database.dispose()


def test_small_hospital_imports_as_its_truth(tmp_path: Path, sqlite_engine: Engine, second_engine: Engine) -> None:
    out = tmp_path / "small"
    truth = _hospital(out, "small", 7)

    report = import_cmms(sqlite_engine, out / "cmms_export.csv")
    assert report.rows_read == truth["cmms_row_count"]
    assert report.created == report.devices_in_file == truth["device_count"]
    assert report.duplicate_rows == len(truth["duplicate_rows"])
    assert report.unknown_manufacturers == {}
    _assert_matches_truth(sqlite_engine, truth)

    from_xlsx = import_cmms(second_engine, out / "cmms_export.xlsx")
    assert from_xlsx.created == truth["device_count"]
    _assert_matches_truth(second_engine, truth)
    assert _stored(second_engine) == _stored(sqlite_engine)


def test_reimporting_the_same_export_changes_nothing(tmp_path: Path, sqlite_engine: Engine) -> None:
    out = tmp_path / "small"
    truth = _hospital(out, "small", 7)
    import_cmms(sqlite_engine, out / "cmms_export.csv")
    before = _stored(sqlite_engine)

    again = import_cmms(sqlite_engine, out / "cmms_export.csv")
    assert again.change_count == 0
    assert (again.created, again.updated, again.unchanged) == (0, 0, truth["device_count"])
    assert _stored(sqlite_engine) == before


@pytest.mark.slow
def test_medium_hospital_imports_as_its_truth(tmp_path: Path, sqlite_engine: Engine) -> None:
    out = tmp_path / "medium"
    truth = _hospital(out, "medium", 3)
    report = import_cmms(sqlite_engine, out / "cmms_export.csv")
    assert report.created == truth["device_count"]
    assert report.unknown_manufacturers == {}
    _assert_matches_truth(sqlite_engine, truth)
