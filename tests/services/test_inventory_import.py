"""Importing CMMS exports into a real database (SQLite and PostgreSQL): counts, merging, idempotence,
history, dry runs, and all-or-nothing failure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, update

from wardwatch.domain.claims import Claim, ClaimedValue, Provenance
from wardwatch.ingest.errors import IngestError
from wardwatch.services.devices import DeviceFilter, device_detail, list_devices
from wardwatch.services.inventory_import import import_cmms
from wardwatch.store.inventory import insert_claims
from wardwatch.store.schema import claims, device_history, devices, sources

CMMS = Path(__file__).parents[1] / "fixtures" / "cmms"


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            t.name: connection.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (devices, claims, device_history, sources)
        }


def by_tag(engine: Engine) -> dict[str, dict[str, object]]:
    rows, _ = list_devices(engine, DeviceFilter(), limit=None)
    return {str(r["asset_tag"]): r for r in rows}


def test_messy_export_gives_the_right_devices(engine: Engine) -> None:
    report = import_cmms(engine, CMMS / "messy.csv")
    assert (report.rows_read, report.devices_in_file, report.duplicate_rows, report.created) == (13, 11, 2, 11)
    devices_by_tag = by_tag(engine)
    assert len(devices_by_tag) == 11
    # bme-1001 (lower case, trailing space) is BME-1001; BME-2001 was re-tagged BME-7788 (same BD serial).
    assert "BME-2001" not in devices_by_tag and "BME-7788" in devices_by_tag
    # Vendor spellings are one manufacturer each; unknown vendors are cleaned consistently.
    makers = {t: d["manufacturer"] for t, d in devices_by_tag.items()}
    assert makers["BME-1001"] == makers["BME-1002"] == "GE HealthCare"
    assert {makers["BME-3001"], makers["BME-3002"], makers["BME-3003"]} == {"Drägerwerk"}
    assert makers["BME-4001"] == "Baxter"
    assert makers["BME-5001"] == makers["BME-5002"]
    assert report.unknown_manufacturers == {makers["BME-5001"]: 2}
    # Two devices claiming one MAC stay two devices; the clash is reported.
    assert devices_by_tag["BME-4002"]["mac"] == devices_by_tag["BME-4099"]["mac"] == "00:09:fb:01:02:03"
    assert any("different serial numbers" in c for c in report.conflicts)
    # The device type and its clinical defaults are derived, with the evidence marked as derived.
    assert devices_by_tag["BME-3001"]["device_type"] == "ventilator"
    assert devices_by_tag["BME-3001"]["criticality"] == "life-sustaining"


def test_evidence_names_the_rows_and_the_alias_tags_still_find_the_device(engine: Engine) -> None:
    import_cmms(engine, CMMS / "messy.csv")
    detail = device_detail(engine, "BME-2001")  # the old tag
    assert detail["asset_tag"] == "BME-7788"
    assert {"tag:BME-2001", "tag:BME-7788"} <= set(detail["identifiers"])
    evidence = {e["attribute"]: e for e in detail["evidence"]}
    assert evidence["serial"]["locator"] == "row 5, row 6"
    assert evidence["serial"]["source"] == "messy.csv"
    assert evidence["criticality"]["source_kind"] == "derived"
    assert evidence["criticality"]["confidence"] < evidence["serial"]["confidence"]
    assert device_detail(engine, "00-1C-2C-55-01-01")["id"] == detail["id"]


def test_reimport_is_idempotent(engine: Engine) -> None:
    import_cmms(engine, CMMS / "messy.csv")
    before = counts(engine)
    again = import_cmms(engine, CMMS / "messy.csv")
    assert (again.created, again.updated, again.unchanged, again.change_count) == (0, 0, 11, 0)
    after = counts(engine)
    assert after["sources"] == before["sources"] + 1  # the import itself is recorded
    assert {k: v for k, v in after.items() if k != "sources"} == {k: v for k, v in before.items() if k != "sources"}


def test_a_changed_field_is_recorded_in_history(engine: Engine, tmp_path: Path) -> None:
    import_cmms(engine, CMMS / "messy.csv")
    changed = tmp_path / "messy.csv"
    text = (CMMS / "messy.csv").read_text()
    changed.write_text(text.replace("ICU-W 05", "ICU-W 09").replace("BME-5002,ACME MEDICAL", "BME-5003,ACME MEDICAL"))
    report = import_cmms(engine, changed)
    assert report.created == 0  # BME-5003 is BME-5002 re-tagged: same serial
    assert report.updated == 2
    detail = device_detail(engine, "BME-3001")
    assert detail["location"] == "ICU-W 09"
    history = [(h["attribute"], h["old_value"], h["new_value"]) for h in detail["history"]]
    assert history[-1] == ("location", "ICU-W 05", "ICU-W 09")
    assert device_detail(engine, "BME-5003")["id"] == device_detail(engine, "BME-5002")["id"]


def test_a_bad_row_writes_nothing_and_names_row_and_column(engine: Engine) -> None:
    import_cmms(engine, CMMS / "messy.csv")
    before = counts(engine)
    with pytest.raises(IngestError) as caught:
        import_cmms(engine, CMMS / "bad_mac.csv")
    message = str(caught.value)
    assert "bad_mac.csv" in message
    assert "row 4" in message
    assert "column 'MAC Address'" in message
    assert "nothing was imported" in message
    assert counts(engine) == before


def test_skip_bad_rows_imports_the_rest_and_lists_the_skipped(engine: Engine) -> None:
    report = import_cmms(engine, CMMS / "bad_mac.csv", skip_bad_rows=True)
    assert report.created == 3
    assert len(report.rows_skipped) == 1
    assert "row 4" in report.rows_skipped[0]


def test_dry_run_reports_but_writes_nothing(engine: Engine) -> None:
    before = counts(engine)
    report = import_cmms(engine, CMMS / "messy.csv", dry_run=True)
    assert report.created == 11
    assert report.source_id is None
    assert counts(engine) == before


def test_failure_in_the_middle_of_writing_rolls_everything_back(engine: Engine) -> None:
    import_cmms(engine, CMMS / "messy.csv")
    before = counts(engine)

    def explode(stage: str, done: int, total: int | None) -> None:
        if stage == "updated":
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        import_cmms(engine, CMMS / "messy.csv", progress=explode)
    assert counts(engine) == before


def test_site_option_and_mapping_file(engine: Engine) -> None:
    report = import_cmms(engine, CMMS / "german.csv", mapping_path=CMMS / "mapping.yaml")
    assert report.created == 2
    rows, total = list_devices(engine, DeviceFilter(site="klinikum nord"))
    assert total == 2
    detail = device_detail(engine, "K-1")
    assert detail["manufacturer"] == "Drägerwerk"
    assert detail["in_service_date"].isoformat() == "2019-03-04"  # day-first, per the mapping's date_format
    import_cmms(engine, CMMS / "messy.csv", site="North Campus")
    assert list_devices(engine, DeviceFilter(site="North Campus"))[1] == 11


def test_a_more_confident_source_is_not_overwritten_by_a_reimport(engine: Engine, tmp_path: Path) -> None:
    import_cmms(engine, CMMS / "messy.csv")
    device_id = device_detail(engine, "BME-3001")["id"]
    now = datetime.now(UTC)
    with engine.begin() as connection:
        source = connection.execute(
            insert(sources).values(kind="manual", name="biomed", imported_at=now).returning(sources.c.id)
        ).scalar_one()
        claim = Claim(
            "manual", Provenance(source, "biomed walk-round", now), {"location": ClaimedValue("ICU-W 05 (bay)", 0.99)}
        )
        insert_claims(connection, [(device_id, claim)])
        connection.execute(update(devices).where(devices.c.id == device_id).values(location="ICU-W 05 (bay)"))
    changed = tmp_path / "messy.csv"
    changed.write_text((CMMS / "messy.csv").read_text().replace("ICU-W 05", "ICU-W 07"))
    import_cmms(engine, changed)
    detail = device_detail(engine, "BME-3001")
    assert detail["location"] == "ICU-W 05 (bay)"
    claims = {(e["source_kind"], e["value"]) for e in detail["evidence"] if e["attribute"] == "location"}
    assert claims == {("manual", "ICU-W 05 (bay)"), ("cmms", "ICU-W 07")}


def test_filters_and_search(engine: Engine) -> None:
    import_cmms(engine, CMMS / "messy.csv")
    assert list_devices(engine, DeviceFilter(device_type="ventilator"))[1] == 3
    assert list_devices(engine, DeviceFilter(criticality="life-sustaining"))[1] == 3
    assert list_devices(engine, DeviceFilter(search="carescape"))[1] == 2
    assert list_devices(engine, DeviceFilter(search="10.2.40.5"))[1] == 1
    page, total = list_devices(engine, DeviceFilter(), limit=4, offset=8)
    assert total == 11
    assert len(page) == 3
