"""Playbook runs and incident records on real databases (SQLite and PostgreSQL): a small inventory stored by hand,
a stored openFDA recall file, and the incident lifecycle with its audit trail."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from wardwatch.domain.permissions import SYSTEM, PermissionDenied, Principal, Role
from wardwatch.services import incidents
from wardwatch.services.intel import import_intel
from wardwatch.services.playbooks import load_playbook, run_playbook
from wardwatch.settings import Settings
from wardwatch.store.schema import audit_log, devices, interfaces, sites, units, vulnerability_findings
from wardwatch.store.schema import incidents as incidents_table

RECALL = "Z-0999-2025"
ITSEC = Principal("sam", Role.ITSEC)
NURSE = Principal("nora", Role.CLINICIAN, unit="ICU")
EXEC = Principal("eve", Role.EXECUTIVE)


def _hospital(engine: Engine) -> None:
    """Four devices: an XP monitor in the ICU with SMBv1 (found as an MS17-010 finding), a Windows 7 x-ray in
    Radiology with MS17-010 but no address, a Linux pump in the ICU matched to an FDA recall, a Windows 10 PC."""
    now = datetime.now(UTC)
    rows = [
        (1, "MON-1", "patient-monitor", "life-supporting", "Windows", "XP", "ICU", "10.0.3.10"),
        (2, "XR-1", "x-ray", "diagnostic", "Windows", "7", "Radiology", None),
        (3, "PUMP-1", "infusion-pump", "life-sustaining", "Linux", None, "ICU", "10.0.4.10"),
        (4, "PC-1", "workstation", "non-clinical", "Windows", "10", "Admin", "10.0.1.10"),
    ]
    with engine.begin() as connection:
        connection.execute(insert(sites).values(id=1, name="Main", created_at=now))
        unit_ids = {"ICU": 1, "Radiology": 2, "Admin": 3}
        for name, unit_id in unit_ids.items():
            connection.execute(insert(units).values(id=unit_id, site_id=1, department=name))
        for device_id, tag, kind, criticality, os_name, os_version, unit, ip in rows:
            connection.execute(insert(devices).values(
                id=device_id, site_id=1, unit_id=unit_ids[unit], asset_tag=tag, manufacturer="Example", model="M",
                device_type=kind, criticality=criticality, os_name=os_name, os_version=os_version, created_at=now,
                updated_at=now,
            ))  # fmt: skip
            if ip:
                connection.execute(insert(interfaces).values(device_id=device_id, ip=ip, source_kind="cmms"))
        for device_id, finding, source in ((1, "CVE-2017-0144", "nvd"), (2, "CVE-2017-0143", "nvd"),
                                           (3, RECALL, "fda-recall")):  # fmt: skip
            detail = {"evidence": ["product code FRN; model number 'EVP-200' named by recall"]}
            connection.execute(insert(vulnerability_findings).values(
                device_id=device_id, vulnerability_id=finding, component_ref="", source=source,
                confidence="confirmed", suppressed=False, in_kev=False, detail=json.dumps(detail),
                cvss_vector="CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H" if source == "nvd" else None,
                first_seen=now, last_seen=now,
            ))  # fmt: skip


@pytest.fixture
def settings(engine: Engine, tmp_path: Path, fixtures: Path) -> Settings:
    _hospital(engine)
    home = tmp_path / "home"
    home.mkdir()
    configured = Settings(home=home, database_url=str(engine.url))
    import_intel(configured, [fixtures / "intel" / "openfda" / "openfda_device_recall_synthetic.json"])
    return configured


def test_wannacry_without_a_model_lists_the_vulnerable_devices_with_and_without_an_address(
    engine: Engine, settings: Settings
) -> None:
    report = run_playbook(engine, SYSTEM, "wannacry", settings=settings)
    assert {a["name"]: a["status"] for a in report["affected"]} == {"MON-1": "vulnerable", "XR-1": "vulnerable"}
    assert report["severity"] == "critical"
    assert {u["unit"]: u["devices"] for u in report["by_unit"]} == {"ICU": 1, "Radiology": 1}
    assert [d["category"] for d in report["downtime"]] == ["imaging", "monitoring"]
    assert report["downtime"][1]["procedures"] == list(load_playbook("wannacry").downtime["monitoring"])
    assert any(c["role"] == "Manufacturer support: Example" and c["devices"] == 2 for c in report["contacts"])
    assert any("no network model" in n for n in report["notes"])
    seeded = run_playbook(engine, SYSTEM, "wannacry", seed="10.0.3.10", settings=settings)
    assert any("--seed 10.0.3.10 ignored" in n for n in seeded["notes"])


def test_the_recall_playbook_reads_the_stored_recall_and_its_action(engine: Engine, settings: Settings) -> None:
    report = run_playbook(engine, SYSTEM, "recall", settings=settings)
    assert [a["name"] for a in report["affected"]] == ["PUMP-1"]
    why = report["affected"][0]["why"]
    assert RECALL in why and "Install software version 3.2." in why and "unauthenticated commands" in why
    assert report["isolation"][0]["id"] == f"recall:{RECALL}"
    assert report["severity"] == "critical"
    with pytest.raises(LookupError, match="Z-0000-1999"):
        run_playbook(engine, SYSTEM, "recall", recall="Z-0000-1999", settings=settings)
    with pytest.raises(ValueError, match="takes no --seed"):
        run_playbook(engine, SYSTEM, "recall", seed="x", settings=settings)


def test_a_clinician_sees_their_units_devices_only(engine: Engine, settings: Settings) -> None:
    report = run_playbook(engine, NURSE, "wannacry", settings=settings)
    assert [a["name"] for a in report["affected"]] == ["MON-1"] and report["unit"] == "ICU"
    assert [d["category"] for d in report["downtime"]] == ["monitoring"]


def test_the_hospitals_copy_of_a_playbook_replaces_the_packaged_one(engine: Engine, settings: Settings) -> None:
    folder = settings.home / "playbooks"
    folder.mkdir()
    text = (Path(__file__).parents[2] / "src/wardwatch/data/playbooks/recall.yaml").read_text()
    (folder / "recall.yaml").write_text(text.replace("<name>", "Dr. Example", 1))
    assert load_playbook("recall", settings).contacts[0].name == "Dr. Example"
    (folder / "recall.yaml").write_text(text.replace("phase: identify", "phase: panic", 1))
    from wardwatch.ingest.errors import IngestError  # noqa: PLC0415

    with pytest.raises(IngestError, match=r"recall\.yaml.*steps\[0\]\.phase"):
        load_playbook("recall", settings)


def test_an_incident_is_opened_worked_contained_and_closed_with_an_audit_trail(
    engine: Engine, settings: Settings
) -> None:
    opened = incidents.open_incident(engine, ITSEC, "wannacry", title="Ransom notes in the ICU", settings=settings)
    number = opened["id"]
    assert opened["status"] == "open" and opened["opened_by"] == "sam" and opened["severity"] == "critical"
    assert {a["name"] for a in opened["snapshot"]["affected"]} == {"MON-1", "XR-1"}
    checklist = [c["id"] for c in opened["checklist"]]
    assert checklist[: len(load_playbook("wannacry").steps)] == [s.id for s in load_playbook("wannacry").steps]
    assert "block-445" in checklist and not any(c["done"] for c in opened["checklist"])

    worked = incidents.log_action(engine, ITSEC, number, "block-445", "ACL 445 deny on core-fw", done=True,
                                  contained=True)  # fmt: skip
    assert worked["status"] == "contained"
    item = next(c for c in worked["checklist"] if c["id"] == "block-445")
    assert item["done"] and item["by"] == "sam" and item["note"] == "ACL 445 deny on core-fw"
    incidents.log_action(engine, SYSTEM, number, "called Philips", "ticket 123")
    assert [i["actions"] for i in incidents.list_incidents(engine, EXEC)] == [2]
    assert incidents.list_incidents(engine, EXEC, status="open") == []

    with pytest.raises(PermissionDenied, match="incidents:write"):
        incidents.log_action(engine, NURSE, number, "x", "y")
    with pytest.raises(PermissionDenied, match="incidents:write"):
        incidents.open_incident(engine, EXEC, "recall", settings=settings)
    with pytest.raises(ValueError, match="give the step"):
        incidents.log_action(engine, ITSEC, number, "  ", "")

    closed = incidents.close_incident(engine, ITSEC, number, note="all clean")
    assert closed["status"] == "closed" and closed["closed_at"]
    assert [(a["actor"], a["step"], a["done"]) for a in closed["actions"]] == [
        ("sam", "block-445", True), ("system", "called Philips", False), ("sam", "close", True)]  # fmt: skip
    with pytest.raises(incidents.IncidentClosed):
        incidents.log_action(engine, ITSEC, number, "late", "")
    with pytest.raises(incidents.IncidentClosed):
        incidents.close_incident(engine, ITSEC, number)
    with pytest.raises(LookupError, match="no incident 999"):
        incidents.get_incident(engine, EXEC, 999)

    # the clinician reads the incident with their unit's devices only
    assert [a["name"] for a in incidents.get_incident(engine, NURSE, number)["snapshot"]["affected"]] == ["MON-1"]
    with engine.connect() as connection:
        trail = connection.execute(
            select(audit_log.c.actor, audit_log.c.action).where(audit_log.c.action.like("incidents.%"))
            .order_by(audit_log.c.id)
        ).all()  # fmt: skip
        stored = connection.execute(select(incidents_table.c.snapshot)).scalar_one()
    assert trail == [("sam", "incidents.open"), ("sam", "incidents.action"), ("system", "incidents.action"),
                     ("sam", "incidents.close")]  # fmt: skip
    assert len(json.loads(stored)["affected"]) == 2, "the snapshot keeps every device; reading narrows it"
