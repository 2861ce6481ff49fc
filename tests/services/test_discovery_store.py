"""Storing discovery results against the real databases: matching, unknown devices, evidence, idempotence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from wardwatch.domain.observations import Conversation, Endpoint, Evidence, Finding, FindingKind, Observation
from wardwatch.domain.observations import ObservationKind as K
from wardwatch.services.devices import DeviceFilter, device_detail, list_devices
from wardwatch.services.discovery_store import DiscoveredRecord, store_discovery
from wardwatch.services.inventory_import import import_cmms
from wardwatch.store.schema import conversations, findings, observations

CMMS = Path(__file__).parents[1] / "fixtures" / "cmms"
NOW = datetime(2026, 11, 28, 9, tzinfo=UTC)


def record(key: str, ip: str, hostname: str, mac: str | None = None) -> DiscoveredRecord:
    endpoint = Endpoint(mac, ip)
    evidence = Evidence("day.pcap", "packet 7", "dhcp", "option 12 host name")
    return DiscoveredRecord(
        locators=("day.pcap packet 7",),
        keys=(key,),
        values={"ip": ip, "hostname": hostname, **({"mac": mac} if mac else {})},
        claims={"discovery": {"ip": (ip, 0.95), "hostname": (hostname, 0.9), **({"mac": (mac, 0.95)} if mac else {})}},
        observations=[Observation(endpoint, K.HOSTNAME, hostname, NOW, evidence)],
        findings=[Finding(endpoint, FindingKind.SMBV1, "offers SMB1 (NT LM 0.12)", NOW, evidence)],
    )


def count(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_matched_devices_get_discovery_claims_and_unknown_ones_are_added(engine: Engine) -> None:
    import_cmms(engine, CMMS / "messy.csv")
    known_mac = "00:30:e6:aa:bb:02"  # BME-3002 in the CMMS export, which had no IP
    records = [
        record(f"mac:{known_mac}", "10.1.41.21", "icuw-vent-06", known_mac),
        record("mac:02:00:00:00:00:99", "10.1.99.9", "mystery-box", "02:00:00:00:00:99"),
    ]
    talk = [
        Conversation(
            Endpoint(known_mac, "10.1.41.21"), Endpoint(None, "10.1.1.10"), "tcp", 2575, "hl7", 10, 900, NOW, NOW
        )
    ]
    report = store_discovery(engine, "day.pcap", "sha-1", records, talk)
    assert (report.matched, report.created) == (1, 1)
    vent = device_detail(engine, "BME-3002")
    assert vent["ip"] == "10.1.41.21"
    assert {e["source_kind"] for e in vent["evidence"] if e["attribute"] == "hostname"} == {"discovery"}
    assert vent["history"][-1]["attribute"] in {"ip", "hostname"}
    unknown = device_detail(engine, "02:00:00:00:00:99")
    assert unknown["asset_tag"] is None  # seen on the network, not in the CMMS
    assert count(engine, observations) == 2
    assert count(engine, findings) == 2
    assert count(engine, conversations) == 1
    unknown, total_unknown = list_devices(engine, DeviceFilter(seen="unknown"))
    assert total_unknown == 1
    assert unknown[0]["hostname"] == "mystery-box"
    silent, total_silent = list_devices(engine, DeviceFilter(seen="silent"), limit=None)
    # CMMS devices with a MAC or IP recorded, never seen: all of messy.csv's networked ones but BME-3002.
    assert {d["asset_tag"] for d in silent} == {"BME-1001", "BME-1002", "BME-7788", "BME-3001", "BME-4002", "BME-4099"}
    assert total_silent == 6


def test_storing_the_same_capture_twice_changes_nothing(engine: Engine) -> None:
    records = [record("mac:02:00:00:00:00:01", "10.1.99.1", "a")]
    first = store_discovery(engine, "day.pcap", "sha-2", records, [])
    second = store_discovery(engine, "day.pcap", "sha-2", records, [])
    assert first.created == 1
    assert second.already_stored
    assert count(engine, observations) == 1


def test_a_second_capture_adds_to_counts_without_duplicating(engine: Engine) -> None:
    records = [record("mac:02:00:00:00:00:01", "10.1.99.1", "a")]
    store_discovery(engine, "mon.pcap", "sha-3", records, [])
    report = store_discovery(engine, "tue.pcap", "sha-4", records, [])
    assert report.created == 0
    with engine.connect() as connection:
        assert connection.execute(select(observations.c.count)).scalar_one() == 2
