"""Discovery on the generated sample hospital: every simulated networked device is found by a real protocol,
identified, and reconciled with the CMMS export of the same hospital."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from wardwatch import simulate
from wardwatch.services.devices import DeviceFilter, list_devices
from wardwatch.services.discovery import discover
from wardwatch.services.inventory_import import import_cmms


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hospital")
    simulate.write(simulate.generate("small", 7), out)
    return out


def truth(hospital: Path) -> dict[str, Any]:
    return json.loads((hospital / "truth.json").read_text())


def test_every_networked_device_is_seen_and_identified_from_the_capture(hospital: Path) -> None:
    expected = truth(hospital)
    networked = expected["traffic"]["devices"]
    document = discover([hospital / "traffic.pcap"]).as_dict()
    by_mac = {d["mac"]: d for d in document["devices"] if d["mac"]}
    missing = [tag for tag, device in networked.items() if device["mac"] not in by_mac]
    assert missing == []
    right_vendor = sum(
        1
        for tag, device in networked.items()
        if by_mac[device["mac"]]["vendor"] == expected["devices"][tag]["manufacturer"]
    )
    assert right_vendor / len(networked) >= 0.95
    # Every conclusion carries its evidence: the packet and the rule.
    for device in by_mac.values():
        for item in device["evidence"]:
            assert item["locator"].startswith("packet ")
            assert item["rule"]
    assert {"phi_cleartext", "smbv1", "cleartext_dicom"} <= set(document["stats"]["findings"])


def test_zeek_logs_of_the_same_day_reveal_the_same_hosts(hospital: Path) -> None:
    networked = truth(hospital)["traffic"]["devices"]
    document = discover([hospital / "zeek"]).as_dict()
    seen_ips = {ip for d in document["devices"] for ip in d["ips"]}
    assert {d["ip"] for d in networked.values()} <= seen_ips
    hostnames = {h for d in document["devices"] for h in d["hostnames"]}
    assert len(hostnames) >= 0.9 * len(networked)


def test_after_discovery_no_networked_cmms_device_is_silent(hospital: Path, sqlite_engine: Engine) -> None:
    import_cmms(sqlite_engine, hospital / "cmms_export.csv")
    silent_before = list_devices(sqlite_engine, DeviceFilter(seen="silent"))[1]
    report = discover([hospital / "traffic.pcap"], sqlite_engine)
    assert report.stored is not None
    assert silent_before > 100
    assert list_devices(sqlite_engine, DeviceFilter(seen="silent"))[1] == 0
    unknown = list_devices(sqlite_engine, DeviceFilter(seen="unknown"), limit=None)[0]
    # What the CMMS does not know: the routers' gateway addresses and a few devices whose CMMS row has no address.
    assert 0 < len(unknown) < 0.1 * report.stored.matched
