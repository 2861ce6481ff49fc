"""Device risk on real SQLite and PostgreSQL: rescore (all / affected), acceptances, what-if, rollups, rubric."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from wardwatch.services.risk import devices_affected_by, explain, list_risks, rescore, rollup, snapshot
from wardwatch.services.risk_acceptance import (
    AcceptanceError,
    accept,
    list_acceptances,
    revoke,
    set_rubric_answers,
)
from wardwatch.services.risk_simulate import ScenarioFileError, simulate
from wardwatch.store.schema import (
    device_keys,
    devices,
    findings,
    interfaces,
    risk_acceptances,
    risk_explanations,
    risk_scores,
    risk_snapshots,
    rubric_answers,
    sites,
    sources,
    units,
    vulnerability_findings,
)

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 28)
RCE = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
LOCAL = "CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:U/C:H/I:H/A:H"

# id: (site, unit, type, criticality, manufacturer, model, handles_phi, os, vlan)
DEVICES = {
    1: ("North", "ICU", "infusion-pump", "therapeutic", "BD", "Alaris 8015", False, None, 30),
    2: ("North", "ICU", "infusion-pump", "therapeutic", "BD", "Alaris 8015", False, None, 30),
    3: ("North", "Radiology", "ct-scanner", "diagnostic", "GE", "Revolution", True, "Windows 7", 50),
    4: ("South", "Ward 3", "workstation", "non-clinical", "Dell", "OptiPlex", True, "Windows 10", 60),
    5: ("South", "Ward 3", "patient-monitor", "monitoring", "Philips", "MX450", False, None, 40),
}


def finding_row(device: int, vid: str, **values: Any) -> dict[str, Any]:
    row = {"device_id": device, "vulnerability_id": vid, "component_ref": "", "source": "test",
           "confidence": "confirmed", "vex_status": None, "suppressed": False, "in_kev": False, "epss": None,
           "epss_percentile": None, "cvss_score": 7.8, "cvss_vector": LOCAL, "detail": "{}", "first_seen": NOW,
           "last_seen": NOW, "resolved_at": None}  # fmt: skip
    row.update(values)
    return row


@pytest.fixture
def hospital(engine: Engine) -> Engine:
    with engine.begin() as c:
        c.execute(
            insert(sites),
            [{"id": 1, "name": "North", "created_at": NOW}, {"id": 2, "name": "South", "created_at": NOW}],
        )
        names = sorted({(v[0], v[1]) for v in DEVICES.values()})
        c.execute(insert(units), [{"id": i, "site_id": 1 if s == "North" else 2, "department": u}
                                  for i, (s, u) in enumerate(names, 1)])  # fmt: skip
        unit_id = {n: i for i, n in enumerate(names, 1)}
        for i, (site, unit, kind, crit, man, model, phi, os, vlan) in DEVICES.items():
            c.execute(insert(devices).values(
                id=i, site_id=1 if site == "North" else 2, unit_id=unit_id[(site, unit)], device_type=kind,
                criticality=crit, manufacturer=man, model=model, handles_phi=phi, os_name=os, asset_tag=f"T{i}",
                created_at=NOW, updated_at=NOW))  # fmt: skip
            c.execute(insert(interfaces).values(device_id=i, vlan=vlan, ip=f"10.0.0.{i}", source_kind="cmms"))
            c.execute(insert(device_keys).values(kind="tag", value=f"T{i}", device_id=i))
        c.execute(insert(vulnerability_findings), [
            finding_row(1, "CVE-2024-1000", in_kev=True, epss=0.6, cvss_score=9.8, cvss_vector=RCE),
            finding_row(2, "CVE-2024-1000", in_kev=True, epss=0.6, cvss_score=9.8, cvss_vector=RCE),
            finding_row(1, "CVE-2023-2000", epss=0.02),
            finding_row(3, "CVE-2023-2000", epss=0.02),
            finding_row(3, "CVE-2017-0144", epss=0.97, cvss_score=8.1, cvss_vector=RCE),
            # Not open: resolved, suppressed by a trusted VEX, or VEX not_affected.
            finding_row(5, "CVE-2022-1", in_kev=True, resolved_at=NOW),
            finding_row(5, "CVE-2022-2", in_kev=True, suppressed=True),
            finding_row(5, "CVE-2022-3", in_kev=True, vex_status="not_affected"),
        ])  # fmt: skip
        c.execute(insert(sources).values(id=1, kind="pcap", name="span.pcap", imported_at=NOW))
        c.execute(insert(findings), [
            {"device_id": 4, "kind": "external_peer", "detail": "93.184.216.34:443", "protocol": "tls", "source_id": 1,
             "locator": "frame 9", "first_seen": NOW, "last_seen": NOW, "count": 3},
            {"device_id": 4, "kind": "smbv1", "detail": "SMBv1 dialect offered", "protocol": "smb", "source_id": 1,
             "locator": "frame 12", "first_seen": NOW, "last_seen": NOW, "count": 1},
        ])  # fmt: skip
    return engine


def scores(engine: Engine) -> dict[int, Any]:
    """Stored scores with their explanation text."""
    query = select(risk_scores, risk_explanations.c.explanation).join(
        risk_explanations, risk_explanations.c.id == risk_scores.c.explanation_id
    )
    with engine.connect() as c:
        return {r.device_id: r for r in c.execute(query)}


def dump(engine: Engine) -> dict[str, list[Any]]:
    tables = (risk_scores, risk_explanations, risk_snapshots, risk_acceptances, rubric_answers, vulnerability_findings,
              devices)  # fmt: skip
    with engine.connect() as c:
        return {t.name: sorted(map(tuple, c.execute(select(t))), key=repr) for t in tables}


def test_rescore_scores_every_device_with_policy_and_explanation(hospital: Engine) -> None:
    report = rescore(hospital, today=TODAY)
    assert report.devices == 5
    stored = scores(hospital)
    assert set(stored) == set(DEVICES)
    assert {r.policy_version for r in stored.values()} == {"2026.1"}
    pump = json.loads(stored[1].explanation)
    assert stored[1].ssvc == "immediate"
    assert stored[1].ssvc_vulnerability == "CVE-2024-1000"
    assert (
        "Immediate because: listed in CISA's Known Exploited Vulnerabilities catalog (active)"
        in pump["ssvc"]["because"]
    )
    assert "(open)" in pump["ssvc"]["because"] and "infusion pump (catastrophic)" in pump["ssvc"]["because"]
    assert {f["vulnerability"] for f in pump["finding_list"]} == {"CVE-2024-1000", "CVE-2023-2000"}
    # Closed findings (resolved, suppressed, not_affected) do not count: the monitor has nothing open.
    assert stored[5].ssvc == "defer"
    assert json.loads(stored[5].explanation)["findings"] == {"open": 0, "accepted": 0, "reopened": 0}
    # Discovery: an Internet peer is the exposure evidence, SMBv1 raises the likelihood.
    workstation = json.loads(stored[4].explanation)
    assert any("Internet hosts" in r for r in workstation["likelihood"]["because"])
    assert stored[4].likelihood == 3
    # End-of-support OS adds to the CT scanner's likelihood.
    assert any("out of vendor support" in r for r in json.loads(stored[3].explanation)["likelihood"]["because"])
    # Today's snapshot was recorded.
    with hospital.connect() as c:
        snap = {(r.dimension, r.key): r for r in c.execute(select(risk_snapshots))}
    assert snap[("all", "all")].devices == 5
    assert snap[("site", "North")].devices == 3
    assert json.loads(snap[("site", "North")].priorities)["immediate"] == 2


def test_devices_with_the_same_inputs_share_one_stored_explanation(hospital: Engine) -> None:
    vf = vulnerability_findings.c
    with hospital.begin() as c:  # pumps 1 and 2 now have the same single open finding
        c.execute(update(vulnerability_findings).where(vf.device_id == 1, vf.vulnerability_id == "CVE-2023-2000")
                  .values(resolved_at=NOW))  # fmt: skip
    rescore(hospital, today=TODAY)
    stored = scores(hospital)
    assert stored[1].explanation_id == stored[2].explanation_id  # two identical pumps
    assert stored[1].explanation_id != stored[3].explanation_id
    with hospital.connect() as c:
        used = {r.explanation_id for r in stored.values()}
        assert set(c.execute(select(risk_explanations.c.id)).scalars()) == used  # no orphans
    with hospital.begin() as c:
        c.execute(update(vulnerability_findings).where(vulnerability_findings.c.device_id == 2).values(in_kev=False))
    rescore(hospital, [2], today=TODAY)
    again = scores(hospital)
    assert again[2].explanation_id != again[1].explanation_id
    with hospital.connect() as c:
        assert set(c.execute(select(risk_explanations.c.id)).scalars()) == {r.explanation_id for r in again.values()}


def test_rescore_after_a_new_kev_entry_touches_only_affected_devices(hospital: Engine) -> None:
    rescore(hospital, today=TODAY)
    before = scores(hospital)
    with hospital.begin() as c:
        c.execute(update(vulnerability_findings).where(vulnerability_findings.c.vulnerability_id == "CVE-2023-2000")
                  .values(in_kev=True))  # fmt: skip
    affected = devices_affected_by(hospital, ["CVE-2023-2000"])
    assert affected == [1, 3]
    report = rescore(hospital, affected, today=TODAY)
    assert report.devices == 2
    after = scores(hospital)
    assert after[3].ssvc != before[3].ssvc or after[3].score > before[3].score
    assert after[3].likelihood == 5
    for untouched in (2, 4, 5):
        assert after[untouched] == before[untouched]
    assert after[3].scored_at != before[3].scored_at
    # A full rescore with nothing new rewrites nothing.
    assert rescore(hospital, today=TODAY).changed == 0
    assert scores(hospital) == after


def test_acceptance_excludes_then_expiry_reopens(hospital: Engine) -> None:
    rescore(hospital, today=TODAY)
    before = scores(hospital)[1]
    new_id = accept(hospital, "T1", vulnerability_id="CVE-2024-1000", approver="CMIO", justification="pump replaced Q1",
                    controls=["network-segmentation"], expires_on=date(2027, 1, 31), today=TODAY)  # fmt: skip
    during = scores(hospital)[1]
    assert during.score < before.score
    assert during.ssvc_vulnerability == "CVE-2023-2000"
    [listed] = list_acceptances(hospital, today=TODAY)
    assert (listed["id"], listed["status"], listed["scope"]) == (new_id, "active", "finding")
    # After expiry the finding counts again and shows as re-opened.
    rescore(hospital, [1], today=date(2027, 2, 1))
    after = scores(hospital)[1]
    assert after.score == before.score
    stored = json.loads(after.explanation)
    assert {f["vulnerability"]: f["status"] for f in stored["finding_list"]}["CVE-2024-1000"] == "reopened"
    assert list_acceptances(hospital, today=date(2027, 2, 1))[0]["status"] == "expired"
    revoke(hospital, new_id, today=TODAY)
    assert list_acceptances(hospital, today=TODAY) == []
    assert list_acceptances(hospital, include_revoked=True, today=TODAY)[0]["status"] == "revoked"
    with pytest.raises(AcceptanceError, match="not in the future"):
        accept(hospital, "T1", vulnerability_id=None, approver="x", justification="y", controls=[],
               expires_on=TODAY, today=TODAY)  # fmt: skip
    with pytest.raises(AcceptanceError, match="unknown control"):
        accept(hospital, "T1", vulnerability_id=None, approver="x", justification="y", controls=["luck"],
               expires_on=date(2027, 1, 1), today=TODAY)  # fmt: skip


def test_what_if_shows_before_and_after_and_writes_nothing(hospital: Engine, tmp_path: Path) -> None:
    rescore(hospital, today=TODAY)
    scenario = tmp_path / "plan.yaml"
    scenario.write_text(
        "name: Patch the pumps, isolate radiology\nchanges:\n"
        "  - patch: {model: Alaris 8015, version: '12.1.3'}\n"
        "  - isolate: {unit: Radiology}\n"
        "  - accept: {device: 4, justification: replaced next month, expires_on: 2027-01-01}\n",
        encoding="utf-8",
    )
    stored = dump(hospital)
    result = simulate(hospital, scenario, today=TODAY)
    assert dump(hospital) == stored  # nothing written
    changed = {b.device_id: (b, a) for b, a in result.changed()}
    assert set(changed) == {1, 2, 3, 4}
    before, after = changed[1]
    assert (before.ssvc.value, after.ssvc.value) == ("immediate", "defer")
    assert after.score < before.score
    assert changed[3][1].likelihood < changed[3][0].likelihood  # isolated → exposure small
    overall = result.as_dict()["overall"]
    assert overall["after"]["mean_score"] < overall["before"]["mean_score"]
    assert overall["before"]["priorities"]["immediate"] == 2
    assert "immediate" not in overall["after"]["priorities"]
    assert len(result.notes) == 3


def test_bad_scenario_file_is_one_named_line(hospital: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("changes:\n  - isolate: {vlann: 30}\n", encoding="utf-8")
    with pytest.raises(ScenarioFileError, match=r"bad.yaml: changes\[0\].isolate: unknown key 'vlann'"):
        simulate(hospital, bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("changes: [\n", encoding="utf-8")
    with pytest.raises(ScenarioFileError, match="broken.yaml: line .* not valid YAML"):
        simulate(hospital, broken)


def test_rollups_top_and_explain(hospital: Engine) -> None:
    rescore(hospital, today=TODAY)
    by_site = {g["key"]: g for g in rollup(hospital, "site")}
    assert by_site["North"]["devices"] == 3 and by_site["South"]["devices"] == 2
    assert by_site["North"]["priorities"]["immediate"] == 2
    by_model = {g["key"] for g in rollup(hospital, "model")}
    assert "BD Alaris 8015" in by_model
    assert {g["key"] for g in rollup(hospital, "unit")} >= {"North / ICU", "South / Ward 3"}
    with pytest.raises(LookupError, match="--by 'color'"):
        rollup(hospital, "color")
    top = list_risks(hospital, top=2)
    assert len(top) == 2
    assert top[0]["score"] >= top[1]["score"]
    all_risks = list_risks(hospital)
    assert all(r["score"] <= top[1]["score"] for r in all_risks[2:])
    assert set(top[0]) >= {"device", "score", "level", "ssvc", "explanation", "policy_version", "findings"}
    detail = explain(hospital, "T3", today=TODAY)
    assert detail["device"]["id"] == 3
    assert {f["vulnerability"] for f in detail["findings"]} == {"CVE-2023-2000", "CVE-2017-0144"}
    assert "decision_points" in detail["findings"][0]
    # The snapshot a full rescore writes from memory equals the one computed in SQL from the stored scores.
    with hospital.connect() as c:
        in_memory = sorted((r.dimension, r.key, r.devices, r.mean_score, r.max_score, json.loads(r.levels),
                            json.loads(r.priorities)) for r in c.execute(select(risk_snapshots)))  # fmt: skip
    assert snapshot(hospital, TODAY) == len(in_memory)
    with hospital.connect() as c:
        from_sql = sorted((r.dimension, r.key, r.devices, r.mean_score, r.max_score, json.loads(r.levels),
                           json.loads(r.priorities)) for r in c.execute(select(risk_snapshots)))  # fmt: skip
    assert from_sql == in_memory
    assert {d for d, *_ in in_memory} == {"all", "site", "unit", "type", "manufacturer", "model"}


def test_rubric_answers_adjust_the_model_cvss(hospital: Engine) -> None:
    rescore(hospital, today=TODAY)
    before = json.loads(scores(hospital)[3].explanation)
    # Radiology CT: the rubric says the attack needs physical contact, and no scope change.
    set_rubric_answers(hospital, "GE", "Revolution", {"XAVN": "NO", "XAVP": "YES", "XS": "NO"}, answered_by="biomed")
    rescore(hospital, today=TODAY)
    after = json.loads(scores(hospital)[3].explanation)
    cvss_before = {f["vulnerability"]: f["cvss"] for f in before["finding_list"]}
    cvss_after = {f["vulnerability"]: f for f in after["finding_list"]}
    assert cvss_after["CVE-2017-0144"]["cvss"] < cvss_before["CVE-2017-0144"]
    assert "medical-device rubric" in cvss_after["CVE-2017-0144"]["note"]
    assert "AV:P" in cvss_after["CVE-2017-0144"]["note"]
    with pytest.raises(AcceptanceError, match="unknown rubric question"):
        set_rubric_answers(hospital, "GE", "Revolution", {"XFOO": "YES"}, answered_by="biomed")
