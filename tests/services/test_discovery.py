"""Discovery end to end on real captures: identification with evidence, findings, and the inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from wardwatch.ingest.errors import IngestError
from wardwatch.services.devices import DeviceFilter, device_detail, list_devices
from wardwatch.services.discovery import discover
from wardwatch.services.inventory_import import import_cmms

PCAP = Path(__file__).parents[1] / "fixtures" / "pcap"
ZEEK = Path(__file__).parents[1] / "fixtures" / "zeek"


def by_ip(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["ip"]: d for d in document["devices"] if d["ip"]}


def test_real_dicom_association_identifies_modality_and_archive_with_evidence() -> None:
    devices = by_ip(discover([PCAP / "dicom_cleartext.pcap"]).as_dict())
    scanner, pacs = devices["127.0.0.11"], devices["127.0.0.21"]
    assert scanner["identifiers"]["dicom_ae_titles"] == ["CT_SCANNER_01"]
    assert scanner["device_type"] == "ct-scanner"
    assert pacs["identifiers"]["dicom_ae_titles"] == ["PACS_MAIN"]
    assert [f["kind"] for f in pacs["findings"]] == ["cleartext_dicom"]
    assert pacs["findings"][0]["source"] == "dicom_cleartext.pcap"
    assert pacs["findings"][0]["locator"].startswith("packet ")
    evidence = {e["attribute"]: e for e in scanner["evidence"]}
    assert evidence["device_type"]["protocol"] == "dicom"
    assert evidence["device_type"]["rule"]


def test_dicom_over_tls_is_not_flagged_as_cleartext() -> None:
    document = discover([PCAP / "dicom_tls.pcap"]).as_dict()
    assert all(f["kind"] != "cleartext_dicom" for d in document["devices"] for f in d["findings"])


def test_smbv1_and_cleartext_phi_are_flagged_on_real_traffic() -> None:
    devices = by_ip(discover([PCAP / "smbv1.pcap", PCAP / "hl7.pcap"]).as_dict())
    windows = devices["10.128.0.243"]
    assert [f["kind"] for f in windows["findings"]] == ["smbv1"]
    assert windows["os"] == "Windows 7 SP1"
    sender = devices["10.0.0.155"]
    assert "phi_cleartext" in {f["kind"] for f in sender["findings"]}
    assert sender["identifiers"]["hl7_applications"] == ["SENDING_APPLICATION"]


def test_external_peers_and_dhcp_hostnames() -> None:
    devices = by_ip(discover([PCAP / "http.pcapng", PCAP / "dhcp-fuzz.pcapng"]).as_dict())
    assert any(f["kind"] == "external_peer" for d in devices.values() for f in d["findings"])
    assert "MK03862" in devices["192.168.1.104"]["hostnames"]


def test_zeek_logs_and_captures_in_one_run() -> None:
    document = discover([PCAP / "hl7.pcap", ZEEK / "synthetic"]).as_dict()
    assert "zeek" in document["stats"]["inputs"]
    assert document["stats"]["devices"] >= 2


def test_a_file_that_is_neither_capture_nor_zeek_log_is_one_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    with pytest.raises(IngestError, match="notes.txt"):
        discover([junk])
    with pytest.raises(IngestError, match="no such file"):
        discover([tmp_path / "missing.pcap"])


def test_discovered_devices_join_the_inventory_and_unknowns_are_listed(engine: Engine) -> None:
    report = discover([PCAP / "dicom_cleartext.pcap", PCAP / "smbv1.pcap"], engine)
    assert report.stored is not None
    assert report.stored.created == len(report.devices)
    unknown, total = list_devices(engine, DeviceFilter(seen="unknown"))
    assert total == len(report.devices)
    windows = device_detail(engine, "00:50:56:e8:0a:b1")
    assert windows["os_name"] == "Windows 7"
    assert [f["kind"] for f in windows["findings"]] == ["smbv1"]
    assert windows["findings"][0]["source"].startswith("dicom_cleartext.pcap, smbv1.pcap")
    assert {o["kind"] for o in windows["observations"]} >= {"smb_native_os", "smb_dialect"}
    scanner = device_detail(engine, "127.0.0.11")
    assert [(t["direction"], t["peer"], t["port"], t["protocol"]) for t in scanner["talks_to"]] == [
        ("to", "127.0.0.21", 11112, "dicom")
    ]
    assert {e["source_kind"] for e in windows["evidence"]} == {"discovery"}
    again = discover([PCAP / "dicom_cleartext.pcap", PCAP / "smbv1.pcap"], engine)
    assert again.stored is not None
    assert again.stored.already_stored


def test_a_cmms_device_seen_on_the_wire_is_matched_not_duplicated(engine: Engine, tmp_path: Path) -> None:
    export = tmp_path / "cmms.csv"
    export.write_text(
        "Asset Tag,Manufacturer,Model,Serial Number,Device Type,MAC Address\n"
        "IMG-7,Dell,OptiPlex 7010,DL7,Workstation,00:50:56:e8:0a:b1\n"
    )
    import_cmms(engine, export)
    report = discover([PCAP / "smbv1.pcap"], engine)
    assert report.stored is not None
    assert report.stored.matched >= 1
    detail = device_detail(engine, "IMG-7")
    assert detail["os_name"] == "Windows 7"
    assert detail["ip"] == "10.128.0.243"
    kinds = {e["source_kind"] for e in detail["evidence"]}
    assert {"cmms", "discovery"} <= kinds
    assert list_devices(engine, DeviceFilter(seen="silent"))[1] == 0
