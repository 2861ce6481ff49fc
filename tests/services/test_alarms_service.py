"""The alarm-assurance service on both databases: topology versions, versioned budgets with approvals, stored
verifications, idempotent delivery imports, unit scoping and the audit trail."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from wardwatch.domain.alarm_model import Budget, Priority
from wardwatch.domain.permissions import PermissionDenied, Principal, Role
from wardwatch.ingest.errors import IngestError
from wardwatch.services import alarms
from wardwatch.store.database import migrate
from wardwatch.store.schema import alarm_budgets, alarm_topologies, audit_log

HAND = Path(__file__).parents[1] / "fixtures" / "alarms" / "hand.yaml"
ICU_NURSE = Principal("nurse.icu", Role.CLINICIAN, unit="ICU")
WARD_NURSE = Principal("nurse.ward", Role.CLINICIAN, unit="Ward 4")
BIOMED = Principal("biomed", Role.BIOMED)


@pytest.fixture
def db(engine: Engine) -> Engine:
    migrate(engine)
    return engine


def test_import_keeps_versions_and_file_budgets_only_where_none_exist(db: Engine, tmp_path: Path) -> None:
    first = alarms.import_topology(db, HAND, BIOMED)
    assert first["changed"] and first["version"] == 1 and first["budgets_taken"] == 2
    again = alarms.import_topology(db, HAND, BIOMED)
    assert not again["changed"] and again["version"] == 1 and again["budgets_kept"] == 2
    # the file's approved budget is in force, the one without an approver is a draft
    in_force = alarms.budgets_in_force(db)
    assert [(b.key, b.approved_by) for b in in_force] == [("ICU/arrhythmia/high", "Dr. Ada Byron")]
    changed = tmp_path / "hand.yaml"
    changed.write_text(HAND.read_text().replace("max_delivery: 8", "max_delivery: 3"))
    second = alarms.import_topology(db, changed, BIOMED)
    assert second["changed"] and second["version"] == 2 and second["budgets_taken"] == 0
    assert alarms.budgets_in_force(db)[0].max_delivery_s == 8.0  # a file never overwrites an approval
    with db.connect() as c:
        assert c.execute(select(alarm_topologies.c.id)).scalars().all() == [1, 2]


def test_bad_topology_stores_nothing(db: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(HAND.read_text().replace("b: srv1, latency: 0.01", "b: nowhere, latency: 0.01"))
    with pytest.raises(IngestError, match="nowhere"):
        alarms.import_topology(db, bad, BIOMED)
    with db.connect() as c:
        assert c.execute(select(alarm_topologies.c.id)).first() is None
        assert c.execute(select(alarm_budgets.c.id)).first() is None


def test_clinician_proposes_and_approves_a_new_version(db: Engine) -> None:
    alarms.import_topology(db, HAND, BIOMED)
    draft = alarms.propose_budget(
        db, ICU_NURSE,
        Budget("ICU", "arrhythmia", Priority.HIGH, 20.0, ("phones",), ("pager",), 30.0, rationale="telemetry ward"),
    )  # fmt: skip
    assert draft["version"] == 2 and draft["status"] == "draft" and draft["created_by"] == "nurse.icu"
    approved = alarms.approve_budget(db, ICU_NURSE, draft["id"])
    assert approved["status"] == "approved" and approved["approved_by"] == "nurse.icu"
    # approving re-verifies: with 20 s the high budget still fails (no route after the band is jammed)
    assert approved["verification"]["flows"] == 1 and approved["verification"]["failing"] == 1
    history = alarms.list_budgets(db, ICU_NURSE, history=True)
    statuses = {(b["key"], b["version"]): b["status"] for b in history}
    assert statuses[("ICU/arrhythmia/high", 1)] == "superseded"
    assert statuses[("ICU/arrhythmia/high", 2)] == "approved"
    assert [b.max_delivery_s for b in alarms.budgets_in_force(db) if b.priority is Priority.HIGH] == [20.0]
    with db.connect() as c:
        actions = c.execute(select(audit_log.c.action, audit_log.c.actor)).all()
    assert ("alarms.budget.approve", "nurse.icu") in actions
    assert ("alarms.verify", "nurse.icu") in actions


def test_unit_scoping_and_roles(db: Engine) -> None:
    alarms.import_topology(db, HAND, BIOMED)
    budget = Budget("ICU", "apnea", Priority.HIGH, 10.0, ("phones",))
    with pytest.raises(PermissionDenied, match="only for their unit"):
        alarms.propose_budget(db, WARD_NURSE, budget)
    with pytest.raises(PermissionDenied, match="alarms:budget"):
        alarms.propose_budget(db, BIOMED, budget)
    draft = alarms.propose_budget(db, ICU_NURSE, budget)
    with pytest.raises(PermissionDenied):
        alarms.approve_budget(db, WARD_NURSE, draft["id"])
    assert alarms.list_budgets(db, WARD_NURSE) == []
    with pytest.raises(alarms.BudgetError, match="not in the alarm topology"):
        alarms.propose_budget(db, ICU_NURSE, Budget("ICU", "apnea", Priority.HIGH, 10.0, ("ghost-phone",)))
    in_force = next(b for b in alarms.list_budgets(db, ICU_NURSE) if b["status"] == "approved")
    with pytest.raises(alarms.BudgetError, match="not a draft"):
        alarms.approve_budget(db, ICU_NURSE, in_force["id"])


def test_verification_is_stored_and_scoped(db: Engine) -> None:
    alarms.import_topology(db, HAND, BIOMED)
    report = alarms.verify(db, BIOMED, k=1)
    # only the approved high budget is in force (the low one is a draft): one flow
    assert report["flows"] == 1 and report["failing"] == 1 and report["version"] == 1
    (result,) = report["results"]
    assert result["worst_case_s"] is None and not result["reachable"]
    assert {p["element"] for p in report["single_points_of_failure"]} == {"rf5", "sw", "srv1", "srv1--phones"}
    assert report["recommendations"]["complete"]
    latest = alarms.latest_verification(db, WARD_NURSE)
    assert latest is not None and latest["results"] == [] and latest["verified_by"] == "biomed"
    assert alarms.latest_verification(db, ICU_NURSE)["results"][0]["source"] == "mon"  # type: ignore[index]
    with pytest.raises(PermissionDenied):
        alarms.verify(db, ICU_NURSE, k=1)


def test_deliveries_import_is_idempotent(db: Engine, tmp_path: Path) -> None:
    csv = tmp_path / "deliveries.csv"
    csv.write_text(
        "source,recipient,sent,received,acknowledged,unit,priority,alarm_type,heartbeat,path\n"
        "mon,phones,2026-11-30T08:00:00.000Z,2026-11-30T08:00:02.000Z,,ICU,high,arrhythmia,false,mon-phones\n"
        "mon,phones,2026-11-30T08:01:00.000Z,2026-11-30T08:01:12.500Z,,ICU,high,arrhythmia,false,mon-phones\n"
        "mon,phones,2026-11-30T08:02:00.000Z,,,ICU,high,arrhythmia,false,mon-phones\n"
    )
    alarms.import_topology(db, HAND, BIOMED)
    first = alarms.import_deliveries(db, BIOMED, [csv])
    assert first["records"] == 3 and first["new"] == 3
    again = alarms.import_deliveries(db, BIOMED, [shutil.copy(csv, tmp_path / "copy.csv")])
    assert again["new"] == 0
    seen = alarms.monitoring(db, ICU_NURSE)
    assert seen["records"] == 3
    # the 12.5 s delivery and the lost one miss the approved 8 s budget
    assert len(seen["summary"]["breaches"]) == 2
    assert alarms.monitoring(db, WARD_NURSE)["records"] == 0


def test_a_topology_without_a_budgets_recipient_does_not_lock_verification(db: Engine, tmp_path: Path) -> None:
    alarms.import_topology(db, HAND, BIOMED)
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(HAND.read_text().replace("id: phones", "id: icu-phones").replace("b: phones", "b: icu-phones")
                       .replace("primary: [phones]", "primary: [icu-phones]"))  # fmt: skip
    alarms.import_topology(db, renamed, BIOMED)
    current = alarms.current_topology(db)
    assert current is not None and current[1].budgets == ()  # the approved budget names the old recipient
    report = alarms.verify(db, BIOMED, k=1)
    assert report["flows"] == 0 and report["unverifiable_budgets"] == ["ICU/arrhythmia/high"]


def test_a_budget_may_not_send_a_units_alarms_to_another_units_phones(db: Engine, tmp_path: Path) -> None:
    other = tmp_path / "two-units.yaml"
    text = HAND.read_text().replace(
        "  - {id: pager, kind: pager",
        "  - {id: ward-phones, kind: phone, name: Ward 4 phones, unit: Ward 4}\n  - {id: pager, kind: pager",
    )
    other.write_text(
        text.replace("  - {a: srv1, b: pager", "  - {a: srv1, b: ward-phones, latency: 1.0}\n  - {a: srv1, b: pager")
    )
    alarms.import_topology(db, other, BIOMED)
    with pytest.raises(alarms.BudgetInvalid, match="belongs to Ward 4, not ICU"):
        alarms.propose_budget(db, ICU_NURSE, Budget("ICU", "apnea", Priority.HIGH, 10.0, ("ward-phones",)))


def test_a_topology_with_no_sources_or_no_links_is_refused(db: Engine, tmp_path: Path) -> None:
    cut = tmp_path / "cut.yaml"
    cut.write_text(HAND.read_text().split("links:")[0])  # cut at a line end: nodes only
    with pytest.raises(IngestError, match="no alarm sources"):
        alarms.import_topology(db, cut, BIOMED)
    no_links = tmp_path / "no-links.yaml"
    text = HAND.read_text()
    no_links.write_text(text.split("links:")[0] + "sources:" + text.split("sources:")[1])
    with pytest.raises(IngestError, match="no links"):
        alarms.import_topology(db, no_links, BIOMED)
    with db.connect() as c:
        assert c.execute(select(alarm_topologies.c.id)).first() is None


def test_a_budget_no_source_raises_is_not_reported_as_holding(db: Engine, tmp_path: Path) -> None:
    alarms.import_topology(db, HAND, BIOMED)
    draft = alarms.propose_budget(db, ICU_NURSE, Budget("ICU", "apnea", Priority.HIGH, 60.0, ("phones",)))
    approved = alarms.approve_budget(db, ICU_NURSE, draft["id"])
    assert approved["status"] == "approved"
    report = alarms.verify(db, BIOMED, k=0)  # nothing fails at k = 0, but the monitors raise no apnea alarm
    assert report["failing"] == 0 and report["unmatched_budgets"] == ["ICU/apnea/high"]
    assert report["passed"] is False


def _two_units(tmp_path: Path) -> Path:
    """The hand example plus a wired Ward unit sharing the ICU's switch and alarm server (and their single points)."""
    text = HAND.read_text()
    text = text.replace(
        "  - {id: pager, kind: pager",
        "  - {id: ward-pumps, kind: source, name: Ward pumps, unit: Ward, processing: 0.2}\n"
        "  - {id: ward-phones, kind: phone, name: Ward phones, unit: Ward, processing: 0.5}\n"
        "  - {id: pager, kind: pager",
    )
    text = text.replace(
        "  - {a: srv1, b: pager",
        "  - {a: ward-pumps, b: sw, latency: 0.01}\n  - {a: srv1, b: ward-phones, latency: 1.0}\n"
        "  - {a: srv1, b: pager",
    )
    text = text.replace(
        "budgets:\n",
        "  - {node: ward-pumps, unit: Ward, devices: 8, device_kind: pump, alarms: [occlusion]}\nbudgets:\n"
        "  - {unit: Ward, alarm: occlusion, priority: high, max_delivery: 8, primary: [ward-phones],"
        " approved_by: Dr. Ward, approved_at: 2026-11-02T09:00:00Z}\n",
    )
    path = tmp_path / "two-units.yaml"
    path.write_text(text)
    return path


def test_a_units_view_keeps_the_shared_additions_its_own_fix_depends_on(db: Engine, tmp_path: Path) -> None:
    alarms.import_topology(db, _two_units(tmp_path), BIOMED)
    whole = alarms.verify(db, BIOMED, k=1)
    chosen = [a["id"] for a in whole["recommendations"]["additions"]]
    assert whole["recommendations"]["complete"] and chosen[-1] == "fix-rf5"  # the ICU's own band fix comes last
    icu = alarms.latest_verification(db, ICU_NURSE)
    assert icu is not None
    # the ICU's flows need the shared server and switch fixes first: they are kept, though they fix no ICU flow alone
    assert [a["id"] for a in icu["recommendations"]["additions"]] == chosen
    assert icu["recommendations"]["complete"] and icu["flows"] == 1 and icu["failing"] == 1
    assert all(f.startswith("mon@") for a in icu["recommendations"]["additions"] for f in a["fixes"])
