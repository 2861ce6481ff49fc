"""Governance evidence rules, framework coverage and training currency, on hand-computed facts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from wardwatch.domain import governance as gov
from wardwatch.domain.governance import Facts, Status
from wardwatch.domain.permissions import Role
from wardwatch.services.governance import FRAMEWORKS, load_catalogue, load_training_policy

TODAY = date(2026, 12, 8)


def _judge(rule: str, params: dict[str, Any] | None = None, **facts: Any) -> tuple[Status, str, dict[str, Any]]:
    return gov.RULES[rule](Facts(as_of=TODAY, **facts), params or {})


# --------------------------------------------------------------------------------------------------- the catalogue


def test_the_packaged_catalogue_maps_every_control_to_known_items_of_the_four_frameworks() -> None:
    catalogue = load_catalogue()
    assert tuple(catalogue.frameworks) == FRAMEWORKS
    assert {c.rule for c in catalogue.controls} == set(gov.RULES)  # every rule is used, none is missing
    csf_functions = {i.group for i in catalogue.frameworks["csf"].items}
    assert csf_functions == {"Govern", "Identify", "Protect", "Detect", "Respond", "Recover"}
    inventory = next(c for c in catalogue.controls if c.id == "inventory-identified")
    assert inventory.refs["csf"] == ("ID.AM-01", "ID.AM-02", "ID.AM-08")
    assert "EC.02.04.01 EP2" in inventory.refs["tjc"]
    # HICP sub-practice ids are not verified (METHODS.md section 8, item 4): every one says so
    assert all(not i.verified for i in catalogue.frameworks["hicp"].items)


def _document(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "version": "t1",
        "frameworks": {"csf": {"name": "CSF", "source": "NIST", "items": [{"ref": "ID.AM-01", "title": "inventory"}]}},
        "controls": [{"id": "inv", "title": "Inventory", "about": "a", "rule": "inventory_identified",
                      "params": {"met": 0.9, "partial": 0.7}, "refs": {"csf": ["ID.AM-01"]}}],
    }  # fmt: skip
    document.update(overrides)
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rule": "no_such_rule"}, "controls.inv.rule: unknown rule 'no_such_rule'"),
        ({"refs": {"csf": ["ID.AM-99"]}}, "controls.inv.refs.csf: 'ID.AM-99' is not an item of CSF"),
        ({"refs": {"iso": ["A.5"]}}, "controls.inv.refs: unknown framework 'iso'"),
        ({"title": ""}, "controls.inv.title: expected a non-empty text"),
    ],
)
def test_a_bad_catalogue_names_the_field(change: dict[str, Any], message: str) -> None:
    control = {**_document()["controls"][0], **change}
    with pytest.raises(gov.GovernanceDataError, match=message.replace("(", r"\(").replace(".", r"\.")):
        gov.catalogue_from_mapping(_document(controls=[control]))


def test_a_control_id_used_twice_is_refused() -> None:
    control = _document()["controls"][0]
    with pytest.raises(gov.GovernanceDataError, match="the id is used twice"):
        gov.catalogue_from_mapping(_document(controls=[control, control]))


# ------------------------------------------------------------------------------------------------------ the rules


def test_inventory_completeness_by_share_identified() -> None:
    status, reason, evidence = _judge("inventory_identified", {"met": 0.95, "partial": 0.7}, devices=200,
                                      devices_identified=182)  # fmt: skip
    assert status is Status.PARTIAL  # 182/200 = 91 %: below 95 %, above 70 %
    assert reason == "182 of 200 devices identified with model and software version (91%); 18 unknown"
    assert evidence == {"devices": 200, "identified": 182, "unknown": 18}
    params = {"met": 0.95, "partial": 0.7}
    assert _judge("inventory_identified", params, devices=200, devices_identified=190)[0] is Status.MET  # 95 %
    assert _judge("inventory_identified", params, devices=200, devices_identified=139)[0] is Status.GAP  # 69.5 %
    assert _judge("inventory_identified", params)[0] is Status.GAP  # no devices at all


def test_passive_discovery_needs_coverage_and_a_recent_capture() -> None:
    params = {"met": 0.8, "max_age_days": 30}
    recent = TODAY - timedelta(days=3)
    assert _judge("passive_discovery", params, devices=100, devices_seen=80, last_discovery=recent)[0] is Status.MET
    stale = _judge("passive_discovery", params, devices=100, devices_seen=95, last_discovery=TODAY - timedelta(40))
    assert stale[0] is Status.PARTIAL and stale[1].endswith("last capture imported 40 days ago (stale)")
    assert _judge("passive_discovery", params, devices=100, devices_seen=79, last_discovery=recent)[0] is Status.PARTIAL
    assert _judge("passive_discovery", params, devices=100)[0] is Status.GAP  # never captured


def test_intel_freshness_by_age_and_sources() -> None:
    params = {"met_days": 7, "partial_days": 30}
    kinds = frozenset({"kev", "nvd"})
    three = _judge("intel_freshness", params, intel_matched=TODAY - timedelta(3), intel_kinds=kinds, open_findings=12)
    assert three[0] is Status.MET and three[1] == "matched 3 days ago against kev, nvd; 12 open findings"
    ten = TODAY - timedelta(10)
    assert _judge("intel_freshness", params, intel_matched=ten, intel_kinds=kinds)[0] is Status.PARTIAL
    forty = TODAY - timedelta(40)
    assert _judge("intel_freshness", params, intel_matched=forty, intel_kinds=kinds)[0] is Status.GAP
    no_kev = _judge("intel_freshness", params, intel_matched=TODAY, intel_kinds=frozenset({"csaf"}))
    assert no_kev[0] is Status.PARTIAL and no_kev[1].endswith("missing CISA KEV")
    assert _judge("intel_freshness", params)[0] is Status.GAP


def test_risk_scoring_needs_every_device_recent_scores_and_rubric_answers() -> None:
    params = {"met": 0.95, "max_age_days": 7}
    scored = {"devices": 10, "devices_scored": 10, "last_scored": TODAY, "policy_version": "2026.1"}
    assert _judge("risk_scoring", params, **scored, rubric_models=2)[0] is Status.MET
    ssvc_only = _judge("risk_scoring", params, **scored)
    assert ssvc_only[0] is Status.PARTIAL and "answer the medical rubric" in ssvc_only[1]
    assert _judge("risk_scoring", params, devices=10)[0] is Status.GAP


def test_risk_acceptances_lapsed_ones_are_partial() -> None:
    assert _judge("risk_acceptances")[0] is Status.GAP
    assert _judge("risk_acceptances", acceptances=3, acceptances_active=3)[0] is Status.MET
    status, reason, _ = _judge("risk_acceptances", acceptances=4, acceptances_active=3, acceptances_lapsed=1)
    assert status is Status.PARTIAL and reason.startswith(
        "3 active risk acceptances with approver and expiry; 1 lapsed"
    )


def test_remediation_sla_share_within_due_date() -> None:
    params = {"partial": 0.8}
    assert _judge("remediation_sla", params)[0] is Status.GAP  # no items: no evidence yet
    assert _judge("remediation_sla", params, remediation_items=10, remediation_open=4)[0] is Status.MET
    one = _judge("remediation_sla", params, remediation_items=10, remediation_overdue=1, remediation_closed_late=1)
    assert one[0] is Status.PARTIAL  # 8 of 10 on time = 80 %
    assert one[1] == "8 of 10 work items within SLA; 1 open past due, 1 closed late"
    assert _judge("remediation_sla", params, remediation_items=10, remediation_overdue=3)[0] is Status.GAP  # 70 %


def test_network_alarm_audit_and_training_rules() -> None:
    network = {"network_files": 2, "network_imported": TODAY - timedelta(5), "violations": 0, "violations_severe": 0}
    assert _judge("network_segmentation", {"max_age_days": 90}, **network)[0] is Status.MET
    assert _judge("network_segmentation", {"max_age_days": 90}, **{**network, "violations": 4})[0] is Status.PARTIAL
    assert _judge("network_segmentation", {"max_age_days": 90})[0] is Status.GAP
    assert _judge("attack_paths", attack_paths_life=0)[0] is Status.MET
    assert _judge("attack_paths", attack_paths_life=3)[1].startswith("3 attack paths from entry zones reach")
    alarms = {"alarm_budgets_approved": 4, "alarm_verified": TODAY, "alarm_flows": 10, "alarm_failing": 2}
    assert _judge("alarm_assurance", {"max_age_days": 90}, **alarms)[1].endswith("8 of 10 flows within budget")
    assert _judge("alarm_assurance", {"max_age_days": 90}, **{**alarms, "alarm_failing": 0})[0] is Status.MET
    assert (
        _judge("audit_integrity", audit_ok=False, audit_broken_id=7)[1] == "audit trail broken at entry #7: investigate"
    )
    assert _judge("audit_integrity", audit_ok=True, audit_entries=5)[0] is Status.MET
    people = {"people": 5, "people_current": 4, "training_records": 9, "roles_lacking": {"itsec": 1, "biomed": 0}}
    status, reason, _ = _judge("training_current", {"partial": 0.8}, **people)
    assert status is Status.PARTIAL and reason == "4 of 5 people hold every required course; not current: itsec 1"
    assert _judge("training_current", {"partial": 0.8}, **{**people, "people_current": 5})[0] is Status.MET
    assert _judge("training_current", {"partial": 0.8}, **{**people, "people_current": 3})[0] is Status.GAP


def test_roles_models_and_recalls() -> None:
    roles = {"roles": ["biomed", "itsec"]}
    assert _judge("roles_assigned", roles, accounts_by_role={"biomed": 1, "itsec": 2})[0] is Status.MET
    partial = _judge("roles_assigned", roles, accounts_by_role={"biomed": 1})
    assert partial[0] is Status.PARTIAL and partial[1] == "no enabled account for itsec (biomed 1, itsec 0)"
    assert _judge("roles_assigned", roles)[0] is Status.GAP
    assert _judge("mds2_collected", {"met": 0.8}, models=10, models_with_mds2=8)[0] is Status.MET
    assert _judge("mds2_collected", {"met": 0.8}, models=10, models_with_mds2=1)[0] is Status.PARTIAL
    assert _judge("mds2_collected", {"met": 0.8}, models=10)[0] is Status.GAP
    sbom = _judge("sbom_vex_collected", {"met": 0.8}, models=10, models_with_sbom=9)
    assert sbom[0] is Status.PARTIAL and sbom[1].endswith("0 findings settled by VEX")  # SBOMs without VEX
    recalls = {"intel_kinds": frozenset({"openfda"}), "intel_matched": TODAY - timedelta(2), "recall_findings": 3}
    assert _judge("recalls_monitored", {"max_age_days": 30}, **recalls)[0] is Status.MET
    assert _judge("recalls_monitored", {"max_age_days": 30}, intel_matched=TODAY)[0] is Status.GAP


# -------------------------------------------------------------------------------------------------------- coverage


def test_an_item_takes_the_best_status_of_its_controls_and_an_uncovered_item_is_a_gap() -> None:
    document = _document()
    document["frameworks"]["csf"]["items"].append({"ref": "GV.OC-01", "title": "mission"})
    document["controls"].append({"id": "disc", "title": "Discovery", "about": "b", "rule": "passive_discovery",
                                 "params": {"met": 0.5}, "refs": {"csf": ["ID.AM-01"]}})  # fmt: skip
    catalogue = gov.catalogue_from_mapping(document)
    facts = Facts(as_of=TODAY, devices=10, devices_identified=5, devices_seen=6, last_discovery=TODAY)
    judged = gov.assess(catalogue, facts)
    assert [a.status for a in judged] == [Status.GAP, Status.MET]  # 50 % identified < 70 %; 60 % seen >= 50 %
    found = gov.coverage(catalogue, "csf", judged)
    inventory, mission = found.items
    assert inventory.status is Status.MET and inventory.reason.startswith("6 of 10 devices seen on the network")
    assert [a.control.id for a in inventory.controls] == ["disc", "inv"]  # best first
    assert mission.status is Status.GAP and mission.reason == gov.NOT_COVERED and mission.controls == ()
    assert found.counts == {"met": 1, "partial": 0, "gap": 1}


# -------------------------------------------------------------------------------------------------------- training


def test_the_training_policy_requires_awareness_of_everyone_and_role_courses() -> None:
    policy = load_training_policy()
    assert policy.required_for("biomed") == ("cyber-awareness", "medical-device-security")
    assert policy.required_for("executive") == ("cyber-awareness",)
    with pytest.raises(gov.GovernanceDataError, match="required: unknown role 'nurse'"):
        gov.training_policy_from_mapping({"version": "1", "courses": {}, "required": {"nurse": []}}, ["biomed"])


def test_expiry_from_date_validity_or_course() -> None:
    policy = load_training_policy()
    done = date(2026, 1, 10)
    assert gov.expiry_for(policy, "cyber-awareness", done, expires_on=None, valid_days=None) == date(2027, 1, 10)
    assert gov.expiry_for(policy, "cyber-awareness", done, expires_on=None, valid_days=30) == date(2026, 2, 9)
    assert gov.expiry_for(policy, "a vendor webinar", done, expires_on=None, valid_days=None) is None
    assert gov.expiry_for(policy, "x", done, expires_on=date(2026, 6, 1), valid_days=None) == date(2026, 6, 1)
    with pytest.raises(gov.TrainingInputError, match="before completion"):
        gov.expiry_for(policy, "x", done, expires_on=date(2025, 1, 1), valid_days=None)
    with pytest.raises(gov.TrainingInputError, match="not both"):
        gov.expiry_for(policy, "x", done, expires_on=date(2027, 1, 1), valid_days=3)
    with pytest.raises(gov.TrainingInputError, match="past the last date"):
        gov.expiry_for(policy, "x", date(9999, 12, 1), expires_on=None, valid_days=365)


def _record(i: int, user: str, course: str, done: date, expires: date | None, role: str = "biomed") -> Any:
    return gov.TrainingRecord(i, user, role, course, done, expires)


def test_people_are_current_when_every_required_course_is_held_today() -> None:
    policy = load_training_policy()
    records = [
        _record(1, "ana", "cyber-awareness", date(2025, 1, 1), date(2026, 1, 1)),  # expired...
        _record(2, "ana", "cyber-awareness", date(2026, 1, 5), date(2026, 12, 20)),  # ...renewed, expires in 12 days
        _record(3, "ana", "medical-device-security", date(2025, 3, 1), None),
        _record(4, "bo", "cyber-awareness", date(2024, 1, 1), date(2025, 1, 1), role="itsec"),
        _record(5, "cy", "cyber-awareness", date(2026, 12, 20), None, role="executive"),  # not completed yet
    ]
    ana, bo, cy = gov.people_status(policy, [("ana", "biomed"), ("bo", "itsec"), ("cy", "executive")], records, TODAY)
    assert ana.current and ana.expiring == ("cyber-awareness",) and ana.missing == ()
    assert not bo.current and bo.missing == ("cyber-awareness", "incident-response")
    assert cy.missing == ("cyber-awareness",)
    assert gov.record_state(records[0], TODAY, 30) == "expired"
    assert gov.record_state(records[1], TODAY, 30) == "expiring"
    assert gov.record_state(records[1], TODAY, 5) == "current"
    assert gov.record_state(records[4], TODAY, 30) == "future"
    assert gov.outlasts(records[2], records[1]) and not gov.outlasts(records[1], records[2])


def test_role_names_of_the_policy_are_wardwatch_roles() -> None:
    assert set(load_training_policy().required) - {"*"} <= {r.value for r in Role}
