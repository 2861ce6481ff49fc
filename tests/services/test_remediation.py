"""The remediation workflow on real SQLite and PostgreSQL: a hand-built hospital of two units.

    ICU:  pumps P1, P2, P3 (Acme Pump 9, CVE-2024-0001), monitor M1 (Acme Mon 2, CVE-2024-0002)
    Ward: pump P4 (Acme Pump 9, CVE-2024-0001), a device of unknown model X1 (CVE-2024-0003)

Expected by hand: three work items (Acme Pump 9 × CVE-0001 covering 4 pumps, Acme Mon 2 × CVE-0002, device X1 ×
CVE-0003); every state reached by the role whose job it is, and refused to the others.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, update

from wardwatch.domain.permissions import SYSTEM, Principal, Role
from wardwatch.domain.remediation import TransitionRefused
from wardwatch.services import remediation
from wardwatch.services.remediation import ItemNotFound, RemediationError
from wardwatch.store.database import migrate
from wardwatch.store.schema import (
    audit_log,
    devices,
    remediation_items,
    risk_acceptances,
    sites,
    units,
    vulnerability_findings,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BIOMED = Principal("bea", Role.BIOMED, 1)
ITSEC = Principal("ivan", Role.ITSEC, 2)
ICU_NURSE = Principal("nina", Role.CLINICIAN, 3, unit="ICU")
WARD_NURSE = Principal("walt", Role.CLINICIAN, 4, unit="Ward")
COMPLIANCE = Principal("cora", Role.COMPLIANCE, 5)
EXECUTIVE = Principal("ed", Role.EXECUTIVE, 6)

DEVICES = [  # (asset tag, unit, manufacturer, model, type, vulnerability)
    ("P1", "ICU", "Acme", "Pump 9", "infusion-pump", "CVE-2024-0001"),
    ("P2", "ICU", "Acme", "Pump 9", "infusion-pump", "CVE-2024-0001"),
    ("P3", "ICU", "Acme", "Pump 9", "infusion-pump", "CVE-2024-0001"),
    ("M1", "ICU", "Acme", "Mon 2", "patient-monitor", "CVE-2024-0002"),
    ("P4", "Ward", "Acme", "Pump 9", "infusion-pump", "CVE-2024-0001"),
    ("X1", "Ward", None, None, "unknown", "CVE-2024-0003"),
]


@pytest.fixture
def hospital(engine: Engine) -> dict[str, int]:
    migrate(engine)
    ids: dict[str, int] = {}
    with engine.begin() as connection:
        site = connection.execute(
            insert(sites).values(name="General", created_at=NOW).returning(sites.c.id)
        ).scalar_one()
        unit_ids = {
            name: connection.execute(
                insert(units).values(site_id=site, department=name).returning(units.c.id)
            ).scalar_one()
            for name in ("ICU", "Ward")
        }
        for tag, unit, maker, model, kind, cve in DEVICES:
            ids[tag] = connection.execute(insert(devices).values(
                site_id=site, unit_id=unit_ids[unit], asset_tag=tag, manufacturer=maker, model=model,
                device_type=kind, created_at=NOW, updated_at=NOW,
            ).returning(devices.c.id)).scalar_one()  # fmt: skip
            connection.execute(insert(vulnerability_findings).values(
                device_id=ids[tag], vulnerability_id=cve, component_ref="", source="test", confidence="confirmed",
                suppressed=False, in_kev=False, detail="{}", first_seen=NOW, last_seen=NOW,
            ))  # fmt: skip
    return ids


def _items(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {row.key: row.id for row in connection.execute(select(remediation_items.c.key, remediation_items.c.id))}


def test_sync_groups_findings_by_model_and_is_idempotent(engine: Engine, hospital: dict[str, int]) -> None:
    assert remediation.sync(engine, BIOMED, now=NOW) == {"created": 3, "updated": 0, "reopened": 0, "items": 3}
    assert remediation.sync(engine, BIOMED, now=NOW) == {"created": 0, "updated": 0, "reopened": 0, "items": 3}
    keys = _items(engine)
    assert set(keys) == {"model|Acme|Pump 9|CVE-2024-0001", "model|Acme|Mon 2|CVE-2024-0002",
                         f"device|{hospital['X1']}|CVE-2024-0003"}  # fmt: skip
    pumps = remediation.get_item(engine, BIOMED, keys["model|Acme|Pump 9|CVE-2024-0001"], now=NOW)
    assert pumps["devices"] == 4 and [d["name"] for d in pumps["devices_list"]] == ["P1", "P2", "P3", "P4"]
    assert pumps["units"] == ["ICU", "Ward"] and pumps["state"] == "open"
    # No risk score yet: the SLA of "scheduled" (90 days, data/remediation/sla.yaml)
    assert (pumps["priority"], pumps["due_at"]) == ("scheduled", NOW + timedelta(days=90))
    # A clinician sees only the items with a device in their unit
    assert {i["title"] for i in remediation.list_items(engine, ICU_NURSE, now=NOW)} == {
        "CVE-2024-0001 on Acme Pump 9", "CVE-2024-0002 on Acme Mon 2"}  # fmt: skip
    with pytest.raises(ItemNotFound):
        remediation.get_item(engine, ICU_NURSE, keys[f"device|{hospital['X1']}|CVE-2024-0003"])
    with pytest.raises(Exception, match="remediation:triage"):
        remediation.sync(engine, ITSEC)


def test_a_patch_goes_through_every_state_by_the_right_roles(engine: Engine, hospital: dict[str, int]) -> None:
    remediation.sync(engine, BIOMED, now=NOW)
    item = _items(engine)["model|Acme|Pump 9|CVE-2024-0001"]

    with pytest.raises(TransitionRefused, match="needs remediation:triage"):
        remediation.advance(engine, ITSEC, item, "triaged", now=NOW)
    assert remediation.advance(engine, BIOMED, item, "triaged", note="affects ICU pumps", now=NOW)["assignee"] == "bea"
    with pytest.raises(RemediationError, match="--fix"):
        remediation.advance(engine, BIOMED, item, "awaiting-validation", now=NOW)
    remediation.advance(engine, BIOMED, item, "awaiting-validation", fix="9.41", now=NOW)
    # Approval needs the manufacturer's validation of exactly this fix for this model
    with pytest.raises(RemediationError, match="no validation is recorded"):
        remediation.advance(engine, BIOMED, item, "approved", now=NOW)
    remediation.record_validation(engine, BIOMED, "Acme", "Pump 9", "9.41", "not-validated", "Acme PSB-2024-17")
    with pytest.raises(RemediationError, match="the manufacturer's answer is not-validated"):
        remediation.advance(engine, BIOMED, item, "approved", now=NOW)
    remediation.record_validation(engine, BIOMED, "Acme", "Pump 9", "9.41", "validated", "Acme PSB-2024-17 rev 2")
    approved = remediation.advance(engine, BIOMED, item, "approved", now=NOW)
    assert approved["events"][-1]["detail"]["validation"]["document"] == "Acme PSB-2024-17 rev 2"
    with pytest.raises(RemediationError, match="--date"):
        remediation.advance(engine, BIOMED, item, "scheduled", now=NOW)
    remediation.advance(engine, BIOMED, item, "scheduled", scheduled_for=NOW + timedelta(days=3), now=NOW)

    # Applying needs a clinician's sign-off of the downtime; only a clinician of one of the item's units may give it
    with pytest.raises(RemediationError, match="signed off by a clinician"):
        remediation.advance(engine, BIOMED, item, "applied", now=NOW)
    with pytest.raises(Exception, match="remediation:signoff"):
        remediation.sign_off(engine, BIOMED, item, "n/a")
    remediation.sign_off(engine, ICU_NURSE, item, "spare pumps from the Ward, double checks", now=NOW)
    assert remediation.get_item(engine, BIOMED, item)["signed_off"]["by"] == "nina"
    remediation.advance(engine, BIOMED, item, "applied", now=NOW + timedelta(days=3))
    done = remediation.advance(engine, BIOMED, item, "verified", now=NOW + timedelta(days=4))
    assert done["state"] == "verified" and done["closed_at"] == NOW + timedelta(days=4)
    assert [e["to"] for e in done["events"]] == ["triaged", "awaiting-validation", "approved", "scheduled",
                                                 "scheduled", "applied", "verified"]  # fmt: skip
    figures = remediation.metrics(engine, COMPLIANCE, now=NOW + timedelta(days=5))
    assert (figures["closed"], figures["sla_compliance"], figures["mean_time_to_remediate_days"]) == (1, 1.0, 4.0)
    with engine.connect() as connection:
        actions = [(r.action, r.outcome) for r in connection.execute(select(audit_log.c.action, audit_log.c.outcome))]
    assert actions.count(("remediation.advance", "success")) == 6 and ("remediation.signoff", "success") in actions
    assert actions.count(("remediation.advance", "denied")) == 1  # IT security's attempt to triage


def test_a_clinician_of_another_unit_cannot_sign_off(engine: Engine, hospital: dict[str, int]) -> None:
    remediation.sync(engine, BIOMED, now=NOW)
    monitor = _items(engine)["model|Acme|Mon 2|CVE-2024-0002"]  # ICU only
    for target, extra in (("triaged", {}), ("awaiting-validation", {"fix": "2.1"})):
        remediation.advance(engine, BIOMED, monitor, target, now=NOW, **extra)  # type: ignore[arg-type]
    remediation.record_validation(engine, BIOMED, "Acme", "Mon 2", "2.1", "validated", "letter 2024-03")
    remediation.advance(engine, BIOMED, monitor, "approved", now=NOW)
    remediation.advance(engine, BIOMED, monitor, "scheduled", scheduled_for=NOW, now=NOW)
    with pytest.raises(TransitionRefused, match="no device in that unit"):
        remediation.sign_off(engine, WARD_NURSE, monitor, "ok")


def test_mitigation_by_it_security_and_acceptance_by_compliance(engine: Engine, hospital: dict[str, int]) -> None:
    remediation.sync(engine, BIOMED, now=NOW)
    keys = _items(engine)
    unknown = keys[f"device|{hospital['X1']}|CVE-2024-0003"]
    with pytest.raises(TransitionRefused, match="needs remediation:mitigate"):
        remediation.advance(engine, BIOMED, unknown, "mitigated", controls=["isolation"], now=NOW)
    with pytest.raises(RemediationError, match="--control"):
        remediation.advance(engine, ITSEC, unknown, "mitigated", controls=["prayer"], now=NOW)
    mitigated = remediation.advance(engine, ITSEC, unknown, "mitigated", controls=["isolation", "acl"], now=NOW)
    assert (mitigated["state"], mitigated["controls"]) == ("mitigated", ["isolation", "acl"])

    monitor = keys["model|Acme|Mon 2|CVE-2024-0002"]
    with pytest.raises(TransitionRefused, match="compliance or an executive"):
        remediation.advance(engine, ITSEC, monitor, "accepted", justification="x", expires_on=date(2027, 3, 1))
    with pytest.raises(RemediationError, match="--expires"):
        remediation.advance(engine, COMPLIANCE, monitor, "accepted", justification="x", expires_on=date(2026, 1, 1),
                            now=NOW)  # fmt: skip
    accepted = remediation.advance(engine, EXECUTIVE, monitor, "accepted", justification="replacement ordered",
                                   expires_on=date(2027, 3, 1), now=NOW)  # fmt: skip
    assert accepted["state"] == "accepted"
    with engine.connect() as connection:
        rows = connection.execute(select(risk_acceptances.c.device_id, risk_acceptances.c.approver,
                                         risk_acceptances.c.vulnerability_id)).all()  # fmt: skip
    assert rows == [(hospital["M1"], "ed", "CVE-2024-0002")]
    # Nothing half-written: a refused step leaves the item as it was
    assert remediation.get_item(engine, BIOMED, keys["model|Acme|Pump 9|CVE-2024-0001"])["events"] == []

    # The acceptance expires: the next sync opens the item again, due anew under its SLA
    assert remediation.sync(engine, BIOMED, now=NOW + timedelta(days=60))["reopened"] == 0
    expired = datetime(2027, 3, 1, 0, 5, tzinfo=UTC)
    assert remediation.sync(engine, BIOMED, now=expired)["reopened"] == 1
    again = remediation.get_item(engine, BIOMED, monitor, now=expired)
    assert (again["state"], again["closed_at"], again["due_at"]) == ("open", None, expired + timedelta(days=90))
    assert again["events"][-1]["note"] == "the risk acceptance expired on 2027-03-01: open again"


def test_overdue_items_come_first_and_count(engine: Engine, hospital: dict[str, int]) -> None:
    remediation.sync(engine, BIOMED, now=NOW)
    keys = _items(engine)
    late = keys["model|Acme|Mon 2|CVE-2024-0002"]
    with engine.begin() as connection:
        connection.execute(update(remediation_items).where(remediation_items.c.id == late)
                           .values(priority="immediate", due_at=NOW + timedelta(hours=72)))  # fmt: skip
    later = NOW + timedelta(days=4)
    listed = remediation.list_items(engine, COMPLIANCE, now=later)
    assert listed[0]["id"] == late and listed[0]["overdue"] and not listed[1]["overdue"]
    assert [i["id"] for i in remediation.list_items(engine, COMPLIANCE, overdue=True, now=later)] == [late]
    assert remediation.metrics(engine, COMPLIANCE, now=later)["overdue"] == 1


def test_patch_rounds_never_take_a_units_whole_function_down(engine: Engine, hospital: dict[str, int]) -> None:
    remediation.sync(engine, BIOMED, now=NOW)
    pumps = _items(engine)["model|Acme|Pump 9|CVE-2024-0001"]
    remediation.add_window(engine, BIOMED, "ICU", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=4), "night")
    rounds = remediation.plan(engine, BIOMED, pumps, now=NOW)["rounds"]
    # ICU has 3 pumps: at most 2 per round; the Ward has 1 pump: alone (it needs a loaner), flagged
    per_round = [{slot["unit"]: [d["name"] for d in slot["devices"]] for slot in r["units"]} for r in rounds]
    assert per_round == [{"ICU": ["P1", "P2"], "Ward": ["P4"]}, {"ICU": ["P3"]}]
    first = {slot["unit"]: slot for slot in rounds[0]["units"]}
    assert first["ICU"]["window"]["note"] == "night" and first["Ward"]["window"] is None
    assert first["Ward"]["devices"][0]["alone"] is True
    with pytest.raises(RemediationError, match="end after it starts"):
        remediation.add_window(engine, BIOMED, "ICU", NOW, NOW)
    assert SYSTEM.role is Role.ADMIN  # the CLI's operator may do every step


def test_a_devices_remediation_history(engine: Engine, hospital: dict[str, int]) -> None:
    remediation.sync(engine, BIOMED, now=NOW)
    keys = _items(engine)
    pumps = keys["model|Acme|Pump 9|CVE-2024-0001"]
    remediation.advance(engine, BIOMED, pumps, "triaged", note="ICU first", now=NOW)
    history = remediation.items_for_device(engine, ICU_NURSE, hospital["P1"])
    assert [(i["id"], i["state"]) for i in history] == [(pumps, "triaged")]
    assert [(e["actor"], e["to"], e["note"]) for e in history[0]["events"]] == [("bea", "triaged", "ICU first")]
    assert [i["id"] for i in remediation.items_for_device(engine, BIOMED, hospital["M1"])] == [
        keys["model|Acme|Mon 2|CVE-2024-0002"]]  # fmt: skip
    assert remediation.items_for_device(engine, Principal("x", Role.AUDITOR), hospital["P1"])  # read-only sees it
    no_remediation = Principal("t", Role.BIOMED, scopes=frozenset())  # a token without remediation:read
    assert remediation.items_for_device(engine, no_remediation, hospital["P1"]) == []


def test_the_board_filters_by_unit_and_words(engine: Engine, hospital: dict[str, int]) -> None:
    remediation.sync(engine, BIOMED, now=NOW)
    titles = lambda **kw: sorted(i["title"] for i in remediation.list_items(engine, BIOMED, now=NOW, **kw))  # noqa: E731
    # The Ward has pump P4 (Acme Pump 9) and the unknown X1; the ICU the other pumps and the monitor
    assert titles(unit="Ward") == ["CVE-2024-0001 on Acme Pump 9", f"CVE-2024-0003 on device #{hospital['X1']}"]
    assert titles(unit="ICU") == ["CVE-2024-0001 on Acme Pump 9", "CVE-2024-0002 on Acme Mon 2"]
    assert titles(unit="Nowhere") == []
    assert titles(search="pump 9") == ["CVE-2024-0001 on Acme Pump 9"]  # every word, any case
    assert titles(search="acme 0002") == ["CVE-2024-0002 on Acme Mon 2"]
    assert titles(search="100%_") == []  # LIKE wildcards are taken literally
    # A clinician's own unit always applies: the Ward's items seen by an ICU nurse are the ones in both
    assert [i["title"] for i in remediation.list_items(engine, ICU_NURSE, unit="Ward", now=NOW)] == [
        "CVE-2024-0001 on Acme Pump 9"]  # fmt: skip
