"""Governance on real SQLite and PostgreSQL: facts counted from the tables, coverage, training records (audited),
and the IEC 80001-1 risk-management file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from wardwatch.domain.permissions import SYSTEM, PermissionDenied, Principal, Role
from wardwatch.services import governance as service
from wardwatch.services.accounts import add_user
from wardwatch.store.schema import (
    audit_log,
    devices,
    remediation_items,
    risk_acceptances,
    risk_explanations,
    risk_scores,
    sites,
    units,
)

NOW = datetime.now(UTC)
TODAY = NOW.date()
COMPLIANCE = Principal("carla", Role.COMPLIANCE)


def _hospital(engine: Engine) -> None:
    """Four devices (three identified, three classified), one scored; an acceptance (one lapsed); two work items
    (one overdue); accounts for biomed and compliance."""
    with engine.begin() as c:
        site = c.execute(insert(sites).values(name="Riverside", created_at=NOW).returning(sites.c.id)).scalar_one()
        unit = c.execute(insert(units).values(site_id=site, department="ICU East").returning(units.c.id)).scalar_one()
        rows = [
            ("BME-1", "Alaris 8015", "9.19", "life-sustaining"),
            ("BME-2", "Alaris 8015", "9.33", "life-sustaining"),
            ("BME-3", "IntelliVue MX450", "M.00.03", "monitoring"),
            ("BME-4", None, None, None),
        ]
        for tag, model, version, criticality in rows:
            c.execute(insert(devices).values(site_id=site, unit_id=unit, asset_tag=tag, manufacturer="BD" if model and
                                             "Alaris" in model else "Philips", model=model, software_version=version,
                                             criticality=criticality, created_at=NOW, updated_at=NOW))  # fmt: skip
        explanation = {
            "summary": "critical risk, score 93.9/100: likelihood 5 × severity 5",
            "likelihood": {"because": ["CVE-2021-1001 in KEV"]},
            "severity": {"because": ["infusion pump"]},
        }
        explanation_id = c.execute(insert(risk_explanations).values(
            digest="d" * 32, explanation=json.dumps(explanation), policy_version="2026.1",
        ).returning(risk_explanations.c.id)).scalar_one()  # fmt: skip
        c.execute(insert(risk_scores).values(device_id=1, score=93.9, level="critical", likelihood=5, severity=5,
                                             ssvc="out-of-cycle", explanation_id=explanation_id,
                                             policy_version="2026.1", scored_at=NOW))  # fmt: skip
        for expires in (TODAY + timedelta(days=60), TODAY - timedelta(days=1)):
            c.execute(insert(risk_acceptances).values(device_id=2, vulnerability_id="CVE-2021-1001", approver="cmo",
                                                      justification="patch validated next quarter",
                                                      controls='["network-segmentation"]', expires_on=expires,
                                                      created_at=NOW))  # fmt: skip
        for key, due in (("a", NOW + timedelta(days=10)), ("b", NOW - timedelta(days=2))):
            c.execute(insert(remediation_items).values(key=key, scope="model", manufacturer="BD", model="Alaris 8015",
                                                       vulnerability_id="CVE-2021-1001", title=f"Patch {key}",
                                                       devices=2, state="triage", priority="immediate", opened_at=NOW,
                                                       due_at=due, updated_at=NOW))  # fmt: skip
    add_user(engine, SYSTEM, "bea", "biomed", "b" * 16)
    add_user(engine, SYSTEM, "carla", "compliance", "c" * 16)


@pytest.fixture
def hospital(engine: Engine) -> Engine:
    """The small hospital on a migrated database (SQLite and PostgreSQL)."""
    _hospital(engine)
    return engine


def test_facts_are_counted_from_the_tables(hospital: Engine) -> None:
    facts = service.collect_facts(hospital)
    assert (facts.devices, facts.devices_identified, facts.devices_classified, facts.devices_seen) == (4, 3, 3, 0)
    assert (facts.devices_scored, facts.policy_version, facts.last_scored) == (1, "2026.1", TODAY)
    assert (facts.acceptances, facts.acceptances_active, facts.acceptances_lapsed) == (2, 1, 1)
    assert (facts.remediation_items, facts.remediation_open, facts.remediation_overdue) == (2, 2, 1)
    assert facts.models == 2  # Alaris 8015 twice, IntelliVue once; the device without a model is not one
    assert facts.accounts_by_role == {"biomed": 1, "compliance": 1}
    assert (facts.people, facts.people_current, facts.training_records) == (2, 0, 0)
    assert facts.audit_ok is True and facts.audit_entries == 2  # the two accounts added
    assert facts.network_files == 0 and facts.attack_paths_life is None


def test_coverage_gives_each_item_the_best_control_and_lists_gaps_first(hospital: Engine) -> None:
    report = service.governance(hospital, COMPLIANCE, "csf")
    assert [f["key"] for f in report["frameworks"]] == ["csf"]
    items = report["frameworks"][0]["items"]
    ranks = [{"gap": 0, "partial": 1, "met": 2}[i["status"]] for i in items]
    assert ranks == sorted(ranks)  # gaps first
    inventory = next(i for i in items if i["ref"] == "ID.AM-01")
    # inventory 3/4 = 75 % (partial), discovery never ran (gap): the item is partial, for the inventory's reason
    assert inventory["status"] == "partial"
    assert inventory["reason"] == "3 of 4 devices identified with model and software version (75%); 1 unknown"
    assert [c["id"] for c in inventory["controls"]] == ["inventory-identified", "passive-discovery"]
    backups = next(i for i in items if i["ref"] == "PR.DS-11")
    assert backups["status"] == "gap" and not backups["covered"]
    acceptances = next(c for c in report["controls"] if c["id"] == "risk-acceptances")
    assert acceptances["status"] == "partial" and acceptances["evidence"] == {"recorded": 2, "active": 1, "lapsed": 1}
    sla = next(c for c in report["controls"] if c["id"] == "remediation-sla")
    assert sla["status"] == "gap" and sla["reason"].startswith("1 of 2 work items within SLA; 1 open past due")
    with pytest.raises(ValueError, match="unknown framework 'iso'"):
        service.governance(hospital, COMPLIANCE, "iso")
    with pytest.raises(PermissionDenied):
        service.governance(hospital, Principal("nina", Role.CLINICIAN, unit="ICU East"))


def test_training_is_recorded_audited_and_counted_per_role(hospital: Engine) -> None:
    record = service.add_training(hospital, COMPLIANCE, "Bea", "cyber-awareness", date(2026, 1, 10))
    assert (record["username"], record["role"], record["expires_on"]) == ("bea", "biomed", "2027-01-10")
    service.add_training(hospital, COMPLIANCE, "bea", "medical-device-security", TODAY - timedelta(days=10),
                         valid_days=20, evidence="cert 42")  # fmt: skip
    service.add_training(hospital, COMPLIANCE, "Dr Ann Lee", "cyber-awareness", TODAY, role="clinician")
    with hospital.connect() as c:
        actions = c.execute(select(audit_log.c.actor, audit_log.c.action, audit_log.c.target)
                            .where(audit_log.c.action == "training.add").order_by(audit_log.c.id)).all()  # fmt: skip
    assert [tuple(a) for a in actions] == [("carla", "training.add", "bea: cyber-awareness"),
                                           ("carla", "training.add", "bea: medical-device-security"),
                                           ("carla", "training.add", "Dr Ann Lee: cyber-awareness")]  # fmt: skip
    listing = service.list_training(hospital, COMPLIANCE)
    people = {p["username"]: p for p in listing["people"]}
    bea_current = date(2027, 1, 10) > TODAY
    assert people["bea"]["current"] is bea_current and people["bea"]["expiring"] == ["medical-device-security"]
    assert people["Dr Ann Lee"]["current"] and people["Dr Ann Lee"]["role"] == "clinician"
    assert people["carla"]["missing"] == ["cyber-awareness", "risk-management-80001"]
    assert listing["roles"]["compliance"] == {"people": 1, "current": 0}
    expiring = service.list_training(hospital, COMPLIANCE, expiring_days=15)
    assert [r["course"] for r in expiring["records"]] == ["medical-device-security"]  # 10 days left
    facts = service.collect_facts(hospital)
    assert (facts.people, facts.training_records) == (3, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "Someone Else", "course": "cyber-awareness"}, "not a Wardwatch account: give the role"),
        ({"username": "bea", "course": "x", "role": "nurse"}, "unknown role 'nurse'"),
        ({"username": "bea", "course": "x", "completed_on": TODAY + timedelta(days=1)}, "is in the future"),
        ({"username": "bea", "course": "x", "expires_on": date(2000, 1, 1)}, "is before completion"),
        ({"username": "  ", "course": "x"}, "1 to 200 characters"),
    ],
)
def test_bad_training_input_is_one_clear_error(hospital: Engine, kwargs: dict[str, object], message: str) -> None:
    args = {"completed_on": date(2026, 1, 10), **kwargs}
    with pytest.raises(ValueError, match=message):
        service.add_training(hospital, COMPLIANCE, args.pop("username"), args.pop("course"),  # type: ignore[arg-type]
                             args.pop("completed_on"), **args)  # type: ignore[arg-type]  # fmt: skip


def test_recording_training_needs_training_write(hospital: Engine) -> None:
    with pytest.raises(PermissionDenied, match="training:write"):
        service.add_training(hospital, Principal("eve", Role.EXECUTIVE), "bea", "cyber-awareness", TODAY)


def test_the_risk_file_holds_the_live_data_and_its_export_is_evidence(hospital: Engine) -> None:
    before = next(c for c in service.governance(hospital, COMPLIANCE)["controls"] if c["id"] == "risk-file")
    assert before["status"] == "gap"
    html, data = service.risk_file(hospital, COMPLIANCE)
    assert html.startswith("<!doctype html>") and "<script" not in html
    assert "IEC 80001-1 risk-management file" in html and "Riverside" in html
    assert "BME-1" in html and "critical risk, score 93.9/100" in html and "CVE-2021-1001 in KEV" in html
    assert "patch validated next quarter" in html  # the acceptance in force (the lapsed one is not listed)
    assert [a["expires_on"] for a in data["controls"]["acceptances"]] == [TODAY + timedelta(days=60)]
    assert data["scope"]["by_criticality"] == {"life-sustaining": 2, "monitoring": 1, "unknown": 1}
    assert data["audit"]["ok"] is True and data["audit"]["last_hash"] is not None
    after = next(c for c in service.governance(hospital, COMPLIANCE)["controls"] if c["id"] == "risk-file")
    assert after["status"] == "met" and after["reason"] == "risk-management file last exported today"


def test_the_network_evidence_is_recomputed_only_when_its_inputs_change(
    hospital: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The conformance check and the attack paths take tens of seconds on a big hospital; /governance and the board
    # report read them on every view.
    from wardwatch.services.network import import_network

    net = Path(__file__).parents[1] / "fixtures" / "network"
    import_network(hospital, [net / "network.yaml", net / "core-fw.rules"])
    calls: list[int] = []
    real = service.check

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "check", counted)
    first = service.collect_facts(hospital)
    assert first.network_files == 2 and first.violations is not None
    assert service.collect_facts(hospital).violations == first.violations and len(calls) == 1  # nothing changed: reused
    with hospital.begin() as connection:
        connection.execute(update(devices).values(updated_at=datetime.now(UTC)))  # an inventory change
    service.collect_facts(hospital)
    assert len(calls) == 2
    import_network(hospital, [net / "network.yaml"])  # another model
    assert service.collect_facts(hospital).network_files == 1 and len(calls) == 3
