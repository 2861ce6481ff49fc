"""The alarm V&V record of one unit (services/alarm_evidence.py) on a real database, from a hand-written topology
(tests/fixtures/alarms/evidence_topology.yaml) and delivery log (evidence_deliveries.csv).

Expected figures, worked out by hand from the fixtures:

* **ICU-East monitors -> nurse phones** (budget 10 s): nominal route monitors (0.2) + mon-ap (0.1) + AP (0) +
  ap-srv1 (0.01) + alarm server 1 (0.5) + srv1-dect (0.02) + DECT base (0) + dect-phones (0.2) = 1.03 s.  The AP,
  the DECT base, the DECT link to the phones (the phones cannot fail) and the 5 GHz group each cut every route:
  those four are the single points of failure, and the worst failure set is the alphabetically first, ap-icu-1
  ("ICU-East AP 1").  Alarm server 1 is *not* one: the route over server 2 takes 0.2 + 0.1 + 0.01 + 0.8 + 0.02 +
  0.2 = 1.33 s plus the AP's 1.5 s failover = 2.83 s.
* **ICU-East ventilators -> central station** (budget 5 s): nominal 0.1 + 0.001 + 0.001 + 0.5 + 0.01 = 0.612 s;
  worst is switch A failing: 0.1 + 0.001 + 0.001 + 0.8 + 0.01 = 0.912 s plus the ventilators' 3 s failover =
  3.912 s: PASS.
* **Deliveries of ICU-East**: "monitors -> phones" has 21 records, one lost; the 20 latencies sorted are 0.4 ...
  1.3 (rank 10) ... 2.5, 6.0 (rank 19), 11.0 (rank 20): nearest-rank p50 = 1.3, p95 = 6.0, p99 = 11.0, and 11.0 is
  one late delivery.  "vents -> central" has 0.3, 0.35, 0.4, 0.9: p50 = rank 2 = 0.35, p95 = p99 = rank 4 = 0.9.
  The heartbeat every 2 s loses the sends at :04, :06 and :08: arrivals at 02.2 and 10.2 are 8.0 s apart, more
  than 2 s x 3 misses, so one silence.  31 records, 4 lost (1 + 3 heartbeats), 1 late, 5 breaches (the late one
  and the four lost).  Ward-5's two records (3.0 s, 4.0 s) belong to Ward-5 only.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from wardwatch import __version__
from wardwatch.domain.alarm_model import Budget, Priority
from wardwatch.domain.permissions import SYSTEM, Permission, PermissionDenied, Principal, Role
from wardwatch.services import alarms
from wardwatch.services.alarm_evidence import evidence, evidence_data
from wardwatch.services.report_render import ReportError
from wardwatch.store.schema import sites, units

FIXTURES = Path(__file__).parent.parent / "fixtures" / "alarms"
TOPOLOGY = FIXTURES / "evidence_topology.yaml"
DELIVERIES = FIXTURES / "evidence_deliveries.csv"

DOCTOR = Principal(username="dr.hopper", role=Role.CLINICIAN, user_id=7, unit="ICU-East")
BIOMED = Principal(username="biomed.bob", role=Role.BIOMED, user_id=8)
IT = Principal(username="it.ivy", role=Role.ITSEC, user_id=9)
RATIONALE = "Arrhythmia needs a nurse at the bedside within 10 s (ICU protocol 4.2)."
MONITOR_FLOW = "icu-east-monitors@ICU-East/arrhythmia/high"


@pytest.fixture
def ward(engine: Engine) -> Engine:
    """Topology imported, two ICU-East budgets approved and one left as a draft, verified at k=1, deliveries in."""
    with engine.begin() as c:
        c.execute(insert(sites).values(id=1, name="St Elsewhere General", created_at=datetime.now(UTC)))
        c.execute(insert(units).values(id=1, site_id=1, department="ICU-East"))
    alarms.import_topology(engine, TOPOLOGY, BIOMED)
    arrhythmia = alarms.propose_budget(engine, DOCTOR, Budget(
        unit="ICU-East", alarm_type="arrhythmia", priority=Priority.HIGH, max_delivery_s=10.0,
        primary=("icu-east-phones",), confirmed=True, heartbeat_interval_s=2.0, heartbeat_misses=3,
        rationale=RATIONALE))  # fmt: skip
    alarms.approve_budget(engine, DOCTOR, arrhythmia["id"])
    vents = alarms.propose_budget(engine, DOCTOR, Budget(
        unit="ICU-East", alarm_type="vent-disconnect", priority=Priority.HIGH, max_delivery_s=5.0,
        primary=("icu-central",)))  # fmt: skip
    alarms.approve_budget(engine, DOCTOR, vents["id"])
    alarms.propose_budget(engine, DOCTOR, Budget(
        unit="ICU-East", alarm_type="spo2-low", priority=Priority.MEDIUM, max_delivery_s=30.0,
        primary=("icu-east-phones",)))  # fmt: skip  # a draft: never approved
    alarms.verify(engine, IT, k=1)
    alarms.import_deliveries(engine, BIOMED, [DELIVERIES])
    return engine


def squeeze(text: str) -> str:
    """Text without whitespace (PDF text extraction breaks table cells at any width)."""
    return re.sub(r"\s+", "", text)


def test_the_record_holds_budgets_topology_results_and_monitoring(ward: Engine) -> None:
    data = evidence_data(ward, DOCTOR, "ICU-East")
    assert data["sites"] == ["St Elsewhere General"] and data["generated_by"] == "dr.hopper"
    topology = data["topology"]
    assert (topology["id"], topology["nodes"], topology["links"], topology["groups"]) == (1, 12, 14, 1)
    assert topology["sha256"] == hashlib.sha256(TOPOLOGY.read_bytes()).hexdigest()
    assert topology["imported_by"] == "biomed.bob"
    assert [s["node"] for s in topology["unit_sources"]] == ["icu-east-monitors", "icu-east-vents"]

    by_key = {(b["key"], b["status"]): b for b in data["budgets"]}
    assert set(by_key) == {("ICU-East/arrhythmia/high", "approved"), ("ICU-East/vent-disconnect/high", "approved"),
                           ("ICU-East/spo2-low/medium", "draft")}  # fmt: skip
    approved = by_key[("ICU-East/arrhythmia/high", "approved")]
    assert approved["approved_by"] == "dr.hopper" and approved["rationale"] == RATIONALE
    assert approved["approved_at"] is not None and approved["approved_at"].tzinfo is not None
    assert not by_key[("ICU-East/spo2-low/medium", "draft")]["in_force"]

    v = data["verification"]
    assert (v["verified_by"], v["k"], v["topology_version"], v["flows"], v["failing"]) == ("it.ivy", 1, 1, 2, 1)
    assert v["stale"] == []
    results = {r["source"]: r for r in v["results"]}
    monitors, vents = results["icu-east-monitors"], results["icu-east-vents"]
    assert not monitors["passed"] and monitors["nominal_s"] == pytest.approx(1.03)
    assert monitors["worst_case_s"] is None and monitors["failure_set"] == ["ap-icu-1"]
    assert vents["passed"] and vents["nominal_s"] == pytest.approx(0.612)
    assert vents["worst_case_s"] == pytest.approx(3.912) and vents["failure_set"] == ["sw-icu-1"]
    assert {p["element"] for p in v["single_points_of_failure"]} == {
        "ap-icu-1", "dect-icu", "dect-phones", "rf-icu-east-5ghz"}  # fmt: skip
    rec = v["recommendations"]
    assert rec["complete"] and MONITOR_FLOW in rec["additions"][-1]["fixes"]

    m = data["monitoring"]
    assert (m["records"], m["lost"], m["late"], m["breach_count"]) == (31, 4, 1, 5)
    paths = {p["path"]: p for p in m["paths"]}
    assert set(paths) == {"monitors -> phones", "vents -> central", "heartbeat ICU-East"}  # Ward-5's are not here
    assert (paths["monitors -> phones"]["p50_s"], paths["monitors -> phones"]["p95_s"],
            paths["monitors -> phones"]["p99_s"]) == pytest.approx((1.3, 6.0, 11.0))  # fmt: skip
    assert (paths["vents -> central"]["p50_s"], paths["vents -> central"]["p95_s"],
            paths["vents -> central"]["p99_s"]) == pytest.approx((0.35, 0.9, 0.9))  # fmt: skip
    assert [s["seconds"] for s in m["silences"]] == pytest.approx([8.0])
    assert any("NOT APPROVED" in w and "ICU-East/spo2-low/medium v1" in w for w in data["warnings"])
    assert not any("no approved budget" in w for w in data["warnings"])


def test_the_html_names_the_approver_topology_failure_set_and_percentiles(ward: Engine) -> None:
    html = evidence(ward, DOCTOR, "ICU-East", fmt="html").decode("utf-8")
    # header
    assert "St Elsewhere General" in html and "ICU-East" in html
    assert f"Wardwatch {__version__}" in html and "by dr.hopper" in html
    assert "IEC 80001-1" in html and "METHODS.md section 5" in html and "docs/alarms.md" in html
    # topology version: id, file, who imported it, node/link/group/source counts
    assert "1 (current)" in html and "evidence_topology.yaml" in html and "biomed.bob" in html
    assert hashlib.sha256(TOPOLOGY.read_bytes()).hexdigest() in html
    assert re.search(r'<td class="num">12</td><td class="num">14</td><td class="num">1</td><td class="num">3</td>',
                     html)  # fmt: skip
    # budgets: the approver and rationale; the draft is marked
    assert "dr.hopper" in html and RATIONALE in html
    assert "NOT APPROVED (draft, not in force)" in html
    # the failing source with its failure set, and who verified when
    row = next(r for r in html.split("<tr>") if "ICU-East patient monitors<br>" in r)
    assert "FAIL" in row and "ICU-East AP 1" in row and "ap-icu-1" in row
    assert "1.030 s" in row and "no route" in row
    vents = next(r for r in html.split("<tr>") if "ICU-East ventilators<br>" in r)
    assert "PASS" in vents and "0.612 s" in vents and "3.912 s" in vents and "ICU switch A" in vents
    assert "by it.ivy on topology version 1" in html
    assert "5 GHz band in ICU-East (jamming)" in html and "ICU-East DECT base" in html
    assert "makes every budget of this unit hold" in html
    # monitoring: the hand-computed percentiles of each path
    monitors = next(r for r in html.split("<tr>") if r.startswith("<td>monitors -&gt; phones</td>"))
    assert re.findall(r"\d+\.\d{3} s", monitors)[:3] == ["1.300 s", "6.000 s", "11.000 s"]
    vents_row = next(r for r in html.split("<tr>") if r.startswith("<td>vents -&gt; central</td>"))
    assert re.findall(r"\d+\.\d{3} s", vents_row)[:3] == ["0.350 s", "0.900 s", "0.900 s"]
    assert "pumps -&gt; phones" not in html  # Ward-5's deliveries
    assert "8.0 s" in html  # the heartbeat silence
    assert "p99 delivery time 11.00 s is over the ICU-East/arrhythmia/high budget of 10 s" in html
    # sign-off
    for role in ("Clinical lead of the unit", "Biomedical / clinical engineering", "IT / network"):
        assert role in html
    # the chart: an SVG image of the three paths' percentiles against the budget
    encoded = re.search(r'alt="Observed delivery-time percentiles[^"]*" src="data:image/svg\+xml;base64,([^"]+)"',
                        html)  # fmt: skip
    assert encoded is not None
    svg = base64.b64decode(encoded.group(1)).decode("utf-8")
    assert "monitors -&gt; phones" in svg and "vents -&gt; central" in svg
    assert "budget" in svg and "p99" in svg
    # self-contained
    assert "<script" not in html and not re.search(r'(?:src|href)="(?!data:)', html)


def test_the_pdf_holds_the_same_key_facts(ward: Engine) -> None:
    pypdf = pytest.importorskip("pypdf")
    pdf = evidence(ward, DOCTOR, "ICU-East", fmt="pdf")
    assert pdf.startswith(b"%PDF-")
    text = squeeze("\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages))
    for fact in ("St Elsewhere General", "dr.hopper", "evidence_topology.yaml", "1 (current)", "ICU-East AP 1",
                 "FAIL", "PASS", "it.ivy", "NOT APPROVED", "1.300 s", "6.000 s", "11.000 s", "0.350 s",
                 "Clinical lead of the unit", f"Wardwatch {__version__}"):  # fmt: skip
        assert squeeze(fact) in text, fact


def test_a_clinician_of_another_unit_is_refused(ward: Engine) -> None:
    other = Principal(username="dr.ward5", role=Role.CLINICIAN, unit="Ward-5")
    with pytest.raises(PermissionDenied, match="their unit only"):
        evidence(ward, other, "ICU-East", fmt="html")
    with pytest.raises(PermissionDenied, match="their unit only"):
        evidence_data(ward, Principal(username="dr.none", role=Role.CLINICIAN), "ICU-East")
    token = Principal(username="bot", role=Role.BIOMED, scopes=frozenset({Permission.DEVICES_READ}))
    with pytest.raises(PermissionDenied, match="alarms:read"):
        evidence(ward, token, "ICU-East", fmt="pdf")
    assert evidence_data(ward, other, "Ward-5")["unit"] == "Ward-5"  # their own unit is fine


def test_a_unit_without_budgets_says_no_approved_budget(ward: Engine) -> None:
    data = evidence_data(ward, Principal(username="dr.ward5", role=Role.CLINICIAN, unit="Ward-5"), "Ward-5")
    assert data["budgets"] == [] and not data["approved"]
    assert data["verification"]["results"] == [] and data["verification"]["unbudgeted_sources"] == ["ward5-pumps"]
    assert data["sites"] == []
    paths = data["monitoring"]["paths"]
    assert [(p["path"], p["p50_s"], p["p95_s"]) for p in paths] == [("pumps -> phones", 3.0, 4.0)]
    html = evidence(ward, SYSTEM, "Ward-5", fmt="html").decode("utf-8")
    assert "NOT APPROVED: Ward-5 has no approved budget" in html
    assert "no approved budget" in html and "ward5-pumps" in html
    assert "covered no flow of Ward-5" in html
    assert "not recorded in the inventory" in html
    assert "ICU-East AP 1" not in html and "dr.hopper" not in html  # nothing of ICU-East


def test_an_empty_database_gives_a_record_that_says_so(sqlite_engine: Engine) -> None:
    data = evidence_data(sqlite_engine, SYSTEM, "ICU-East")
    assert data["topology"] is None and data["verification"] is None and data["monitoring"]["records"] == 0
    html = evidence(sqlite_engine, SYSTEM, "ICU-East", fmt="html").decode("utf-8")
    assert "No alarm topology has been imported" in html
    assert "No verification has been run" in html
    assert "No delivery of ICU-East has been recorded" in html
    assert "no approved budget" in html


def test_a_newer_topology_makes_the_verification_out_of_date(ward: Engine, tmp_path: Path) -> None:
    changed = tmp_path / "evidence_topology_v2.yaml"
    shutil.copyfile(TOPOLOGY, changed)
    with changed.open("a") as f:
        f.write("# version 2: a comment changes the file, so it is stored as a new version\n")
    assert alarms.import_topology(ward, changed, BIOMED)["version"] == 2
    data = evidence_data(ward, SYSTEM, "ICU-East")
    assert data["topology"]["id"] == 2 and data["verified_topology"]["id"] == 1
    assert data["verification"]["stale"] == ["It checked topology version 1; the current version is 2."]
    html = evidence(ward, SYSTEM, "ICU-East", fmt="html").decode("utf-8")
    assert "1 (verified)" in html and "2 (current)" in html
    assert "Run the verification again before filing this record" in html


def test_an_unknown_format_is_refused(ward: Engine) -> None:
    with pytest.raises(ReportError, match="use html or pdf"):
        evidence(ward, SYSTEM, "ICU-East", fmt="docx")  # type: ignore[arg-type]
