"""What-if scenarios (domain): checking the file's data and applying changes to copies of the inputs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from wardwatch.domain.risk import Acceptance, DeviceFacts, VulnerabilityFinding
from wardwatch.domain.risk_scenario import ScenarioError, apply_scenario, scenario_from_mapping
from wardwatch.domain.ssvc import SystemExposure

CONTROLS = ("network-segmentation", "monitoring")
TODAY = date(2026, 11, 28)
DEVICES = [
    DeviceFacts(1, "infusion pump", "infusion-pump", site="North", unit="ICU", manufacturer="BD", model="8015",
                version="9.19", vlans=(30,)),
    DeviceFacts(2, "infusion pump", "infusion-pump", site="North", unit="Ward 3", manufacturer="BD", model="8015",
                vlans=(40,)),
    DeviceFacts(3, "ct scanner", "ct-scanner", site="South", unit="Radiology", manufacturer="GE", model="Revolution"),
]  # fmt: skip
FINDINGS = {
    1: [VulnerabilityFinding("CVE-1"), VulnerabilityFinding("CVE-2")],
    2: [VulnerabilityFinding("CVE-1")],
    3: [VulnerabilityFinding("CVE-3")],
}


def run(
    changes: list[Any],
) -> tuple[list[DeviceFacts], dict[int, list[VulnerabilityFinding]], list[Acceptance], list[str]]:
    scenario = scenario_from_mapping({"name": "t", "changes": changes}, CONTROLS)
    return apply_scenario(scenario, DEVICES, FINDINGS, [], TODAY)


def test_patch_a_model_fixes_its_findings_and_leaves_the_inputs_alone() -> None:
    devices, findings, _, notes = run([{"patch": {"model": "8015", "version": "12.1.3"}}])
    assert findings[1] == [] and findings[2] == []
    assert findings[3] == FINDINGS[3]
    assert devices[0].version == "12.1.3"
    assert len(FINDINGS[1]) == 2 and DEVICES[0].version == "9.19"  # the originals are untouched
    assert "2 device(s) selected, 3 finding(s) changed" in notes[0]


def test_patch_with_fixes_and_fix_remove_only_the_named_findings() -> None:
    _, findings, _, _ = run([{"patch": {"device": 1, "version": "10", "fixes": ["CVE-2"]}}])
    assert [f.vulnerability_id for f in findings[1]] == ["CVE-1"]
    _, findings, _, _ = run([{"fix": {"vulnerability": "CVE-1", "site": "north"}}])
    assert [f.vulnerability_id for f in findings[1]] == ["CVE-2"]
    assert findings[2] == []


def test_isolate_a_vlan_control_and_accept() -> None:
    devices, _, acceptances, _ = run([
        {"isolate": {"vlan": 30}},
        {"control": {"name": "network-segmentation", "unit": "Ward 3"}},
        {"accept": {"vulnerability": "CVE-1", "expires_on": "2027-03-01", "justification": "patch in Q1"}},
    ])  # fmt: skip
    assert devices[0].exposure.value is SystemExposure.SMALL
    assert "what-if" in devices[0].exposure.evidence
    assert devices[1].exposure.value is SystemExposure.OPEN
    assert devices[1].controls == ("network-segmentation",)
    assert sorted(a.device_id for a in acceptances) == [1, 2]
    assert all(a.expires_on == date(2027, 3, 1) and a.status(TODAY) == "active" for a in acceptances)
    assert acceptances[0].created_at == datetime(2026, 11, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"changes": []}, "needs `changes:`"),
        ({"changes": [{"reboot": {"device": 1}}]}, r"changes\[0\]: unknown change 'reboot'"),
        ({"changes": [{"isolate": {"vlann": 30}}]}, r"changes\[0\].isolate: unknown key 'vlann'"),
        ({"changes": [{"isolate": {}}]}, "needs a selector"),
        ({"changes": [{"isolate": {"vlan": "thirty"}}]}, "vlan must be a whole number"),
        ({"changes": [{"patch": {"model": "x"}}]}, "needs a version"),
        ({"changes": [{"control": {"name": "prayer", "site": "x"}}]}, "'prayer' is not a policy control"),
        ({"changes": [{"accept": {"vulnerability": "CVE-1", "expires_on": "soon"}}]}, "not a date"),
        ({"changes": [{"fix": {"site": "x"}}]}, "needs a vulnerability"),
        ({"changes": [{"isolate": {"vlan": 1}}], "extra": 1}, "unknown top-level key"),
    ],
)
def test_bad_scenarios_are_named(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario_from_mapping(data, CONTROLS)
