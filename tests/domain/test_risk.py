"""Device risk (domain): likelihood × severity, the matrix, the score, SSVC of the worst finding, acceptances."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from wardwatch.domain.risk import Acceptance, DeviceFacts, RiskScorer, VulnerabilityFinding
from wardwatch.domain.risk_policy import RiskPolicy
from wardwatch.domain.ssvc import Derived, HumanImpactTable, Priority, SystemExposure
from wardwatch.services.risk_policy import load_policy
from wardwatch.services.ssvc_reference import deployer_table, published_human_impact

TODAY = date(2026, 11, 28)
RCE = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
LOCAL = "CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:U/C:H/I:H/A:H"
GUEST_WIFI = Derived(SystemExposure.OPEN, "reachable from the guest Wi-Fi")


def scorer(policy: RiskPolicy | None = None) -> RiskScorer:
    return RiskScorer(policy or load_policy(), deployer_table(), TODAY, published_human_impact())


def pump(**changes: object) -> DeviceFacts:
    base = DeviceFacts(1, "infusion pump", "infusion-pump", "therapeutic", False, exposure=GUEST_WIFI)
    return replace(base, **changes)  # type: ignore[arg-type]


def vuln(vid: str = "CVE-2024-0001", **changes: object) -> VulnerabilityFinding:
    return replace(VulnerabilityFinding(vid, cvss_score=7.8, cvss_vector=LOCAL), **changes)  # type: ignore[arg-type]


def test_kev_listed_pump_on_guest_wifi_is_immediate_and_says_why() -> None:
    risk = scorer().score(pump(), [vuln(in_kev=True, epss=0.4)])
    assert risk.ssvc is Priority.IMMEDIATE
    because = risk.explanation["ssvc"]["because"]
    assert because.startswith("Immediate because: listed in CISA's Known Exploited Vulnerabilities catalog (active)")
    assert "reachable from the guest Wi-Fi (open)" in because
    assert "infusion pump (catastrophic)" in because
    assert (risk.likelihood, risk.severity, risk.level) == (5, 5, "critical")
    assert risk.policy_version == "2026.1"
    assert "device-type policy" in risk.explanation["severity"]["because"][0]
    assert risk.explanation["score"].endswith(f"= {risk.score:g}")


@pytest.mark.parametrize(
    ("finding", "level"),
    [
        (vuln(), 2),  # exploitation none, local vector
        (vuln(epss=0.2), 3),  # EPSS band
        (vuln(cvss_vector=RCE), 3),  # AV:N/PR:N/UI:N
        (vuln(epss=0.8), 4),  # EPSS ≥ SSVC threshold → public poc
        (vuln(public_exploit=True), 4),
        (vuln(in_kev=True), 5),
    ],
)
def test_likelihood_of_one_vulnerability(finding: VulnerabilityFinding, level: int) -> None:
    assert scorer().score(pump(), [finding]).likelihood == level


def test_exposure_end_of_support_and_controls_adjust_likelihood() -> None:
    s = scorer()
    kev = [vuln(in_kev=True)]
    small = Derived(SystemExposure.SMALL, "isolated VLAN")
    assert s.score(pump(exposure=small), kev).likelihood == 3
    controlled = Derived(SystemExposure.CONTROLLED, "behind the clinical firewall")
    assert s.score(pump(exposure=controlled), kev).likelihood == 4
    # Three controls worth 3 are capped at the policy's 2.
    controls = ("network-segmentation", "application-allowlisting", "service-disabled")
    risk = s.score(pump(controls=controls), kev)
    assert risk.likelihood == 3
    assert "capped at 2" in risk.explanation["likelihood"]["because"][-1]
    old = s.score(pump(os="Windows 7 SP1"), [vuln()])
    assert old.likelihood == 3
    assert "out of vendor support" in old.explanation["likelihood"]["because"][-1]
    past = s.score(pump(end_of_support=date(2025, 1, 1)), [vuln()])
    assert past.likelihood == 3
    assert s.score(pump(end_of_support=date(2027, 1, 1)), [vuln()]).likelihood == 2
    # Clamped: never below 1 nor above 5.
    assert s.score(pump(exposure=small, controls=controls), []).likelihood == 1
    assert s.score(pump(os="Windows XP"), kev).likelihood == 5


def test_discovery_weaknesses_raise_likelihood_and_phi_severity() -> None:
    s = scorer()
    ws = DeviceFacts(2, "workstation", "workstation", "non-clinical", True, exposure=GUEST_WIFI)
    plain = s.score(ws, [])
    assert (plain.likelihood, plain.severity) == (1, 3)
    seen = s.score(replace(ws, weaknesses=("phi_cleartext", "smbv1")), [])
    assert seen.likelihood == 3
    assert seen.severity == 4
    assert any("clear text" in r for r in seen.explanation["severity"]["because"])


def test_severity_from_criticality_type_phi_and_operations() -> None:
    s = scorer()
    unknown = DeviceFacts(3, "device")
    assert s.score(unknown, []).severity == 3  # SSVC default safety: marginal ≈ serious
    monitor = DeviceFacts(4, "patient monitor", "patient-monitor", "monitoring")
    assert s.score(monitor, []).severity == 4  # device-type policy beats criticality 3
    pacs = DeviceFacts(5, "pacs server", "pacs-server", "diagnostic", True)
    risk = s.score(pacs, [])
    assert risk.severity == 4  # 5 units depend on it: mission failure (4), PHI of many patients (4)
    assert any("mission failure" in r for r in risk.explanation["severity"]["because"])
    vent = DeviceFacts(6, "ventilator", "ventilator", "life-sustaining")
    assert s.score(vent, []).severity == 5


def test_matrix_level_and_score_rank_within_a_cell() -> None:
    s = scorer()
    low = s.score(pump(), [vuln(cvss_score=4.0)])
    high = s.score(pump(), [vuln(cvss_score=9.0)])
    assert low.level == high.level
    assert low.likelihood == high.likelihood
    assert high.score > low.score
    policy = load_policy()
    assert low.level == policy.cell(low.severity, low.likelihood).name
    assert 0 < low.score < high.score <= 100


def test_no_findings_defers_with_a_reason() -> None:
    risk = scorer().score(pump(), [])
    assert risk.ssvc is Priority.DEFER
    assert risk.ssvc_vulnerability is None
    assert "no open vulnerability" in risk.explanation["ssvc"]["because"]
    assert risk.likelihood == 1


def test_worst_finding_gives_the_priority() -> None:
    risk = scorer().score(pump(), [vuln("CVE-A"), vuln("CVE-B", in_kev=True), vuln("CVE-C", epss=0.3)])
    assert risk.ssvc_vulnerability == "CVE-B"
    assert {f.vulnerability_id: f.priority for f in risk.findings}["CVE-A"] is not Priority.IMMEDIATE


def _acceptance(expires: date, vulnerability: str | None = "CVE-B", **changes: object) -> Acceptance:
    a = Acceptance(None, 1, vulnerability, "Dr. CISO", "vendor patch due Q2", (), expires,
                   datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    return replace(a, **changes)  # type: ignore[arg-type]


def test_an_active_acceptance_excludes_the_finding_and_an_expired_one_reopens_it() -> None:
    s = scorer()
    findings = [vuln("CVE-A"), vuln("CVE-B", in_kev=True)]
    today = s.score(pump(), findings)
    accepted = s.score(pump(), findings, [_acceptance(date(2027, 1, 1))])
    assert accepted.score < today.score
    assert accepted.ssvc_vulnerability == "CVE-A"
    status = {f.vulnerability_id: f.status for f in accepted.findings}
    assert status == {"CVE-A": "open", "CVE-B": "accepted"}
    assert "accepted by Dr. CISO" in (accepted.findings[1].note or "")
    expired = s.score(pump(), findings, [_acceptance(TODAY)])  # expires today: no longer applies
    assert expired.score == today.score
    assert expired.ssvc is Priority.IMMEDIATE
    reopened = next(f for f in expired.findings if f.vulnerability_id == "CVE-B")
    assert reopened.status == "reopened"
    assert "expired on 2026-11-28" in (reopened.note or "")
    assert any(line.startswith("expired on") for line in expired.explanation["acceptances"])
    revoked = s.score(pump(), findings, [_acceptance(date(2027, 1, 1), revoked_at=datetime(2026, 11, 2, tzinfo=UTC))])
    assert revoked.score == today.score
    other_device = s.score(pump(), findings, [_acceptance(date(2027, 1, 1), device_id=99)])
    assert other_device.score == today.score


def test_a_device_acceptance_covers_every_finding_and_its_controls_count() -> None:
    s = scorer()
    findings = [vuln("CVE-A", in_kev=True), vuln("CVE-B", epss=0.5)]
    accepted = s.score(
        pump(), findings, [_acceptance(date(2027, 1, 1), vulnerability=None, controls=("network-segmentation",))]
    )
    assert all(f.status == "accepted" for f in accepted.findings)
    assert accepted.ssvc is Priority.DEFER
    assert any("network-segmentation" in r for r in accepted.explanation["likelihood"]["because"])


def test_human_impact_table_is_a_policy_setting() -> None:
    """Safety marginal × mission MEF failure: H by the definitions, M in the published table (METHODS.md 2.4)."""
    policy = load_policy()
    assert policy.ssvc.human_impact_table is HumanImpactTable.DEFINITION_CONSISTENT
    published = replace(policy, ssvc=replace(policy.ssvc, human_impact_table=HumanImpactTable.PUBLISHED))
    ct = DeviceFacts(7, "ct scanner", "ct-scanner", "diagnostic", False,
                     exposure=Derived(SystemExposure.SMALL, "isolated imaging VLAN"))  # fmt: skip
    finding = [vuln(in_kev=True, cvss_vector=LOCAL + "/AU:N")]
    consistent = scorer().score(ct, finding)
    shipped = scorer(published).score(ct, finding)
    assert consistent.ssvc is Priority.OUT_OF_CYCLE
    assert shipped.ssvc is Priority.SCHEDULED
    assert "human impact high" in consistent.explanation["ssvc"]["because"]
    assert "human impact medium" in shipped.explanation["ssvc"]["because"]


def test_decision_points_carry_their_evidence() -> None:
    risk = scorer().score(pump(exposure=Derived(SystemExposure.OPEN, "x", defaulted=True)), [vuln()])
    points = risk.findings[0].decision_points
    assert set(points) >= {"exploitation", "system_exposure", "automatable", "human_impact", "table_row"}
    assert points["automatable"]["defaulted"] is True
    assert points["exploitation"]["value"] == "none"
    assert "row" in points["table_row"]["value"]
