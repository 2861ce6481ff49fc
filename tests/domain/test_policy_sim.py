"""Policy simulation on the hand-built hospital of ``test_segmentation``.

The proposal keeps img-to-pacs and block-ent-ls, adds ent-ls-https (enterprise → life-sustaining tcp/443, before
the block), and drops mon-to-apps and vendor-any.  By hand, over the baseline:

* mon1 → cs1 tcp/2575 hl7: allowed today by mon-to-apps, default-denied tomorrow → broken, clinical (HL7);
* jump → ct1 tcp/3389 rdp: allowed today by vendor-any, default-denied → broken, not clinical (the jump host is
  neither a medical device nor in a clinical zone);
* ws7 → ct1 tcp/445 inside imaging's one subnet: no firewall in between, the intra-zone allow both days → unchanged
  (this once read "vendor-any today": a rule cannot decide traffic that stays inside one subnet);
* ct → pacs tcp/104 (img-to-pacs) and office-pc → vent1 tcp/445 (block-ent-ls): unchanged;
* office-pc → vent1 tcp/443: block-ent-ls today, ent-ls-https tomorrow → newly allowed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.domain.test_segmentation import BLOCK_ENT_LS, CURRENT, FLOWS, HOSTS, IMG_TO_PACS, MON_TO_APPS, VENDOR_ANY
from wardwatch.domain.netmodel import HostFacts, NetworkModel, ObservedFlow, PortRange, Rule
from wardwatch.domain.policy_sim import PolicyImpact, clinical_reason, simulate

ENT_LS_HTTPS = Rule(
    "allow", ("enterprise",), ("life-sustaining",), "tcp", (PortRange(443, 443),), order=25, name="ent-ls-https"
)
PROPOSED = replace(CURRENT, rules=(IMG_TO_PACS, BLOCK_ENT_LS, ENT_LS_HTTPS))
BASELINE = (*FLOWS, ObservedFlow("10.10.0.8", "10.60.0.9", "tcp", 443, packets=2))


@pytest.fixture(scope="module")
def impact() -> PolicyImpact:
    return simulate(CURRENT, PROPOSED, BASELINE, HOSTS)


def test_dropping_monitor_to_central_station_breaks_a_clinical_hl7_flow(impact: PolicyImpact) -> None:
    (hl7,) = impact.broken_clinical
    assert (hl7.client, hl7.server, hl7.protocol, hl7.port) == ("10.40.0.21", "10.50.0.7", "tcp", 2575)
    assert hl7.clinical == "HL7 v2 (MLLP)"
    assert hl7.flows == 3
    assert hl7.packets == 30
    assert hl7.rule_now == MON_TO_APPS
    assert hl7.rule_proposed is None  # the proposal's default deny
    assert (hl7.source_zone, hl7.destination_zone) == ("monitoring", "clinical-apps")


def test_removing_any_any_breaks_vendor_rdp_which_is_not_clinical(impact: PolicyImpact) -> None:
    assert [(f.client, f.port) for f in impact.broken] == [("10.40.0.21", 2575), ("10.90.0.4", 3389)]  # clinical first
    rdp = impact.broken[1]
    assert not rdp.legitimate_clinical
    assert rdp.rule_now == VENDOR_ANY


def test_newly_allowed(impact: PolicyImpact) -> None:
    (opened,) = impact.newly_allowed
    assert (opened.client, opened.server, opened.port) == ("10.10.0.8", "10.60.0.9", 443)
    assert opened.rule_now == BLOCK_ENT_LS
    assert opened.rule_proposed == ENT_LS_HTTPS


def test_counts_per_zone_pair(impact: PolicyImpact) -> None:
    counts = {pair: (c.broken, c.broken_clinical, c.newly_allowed) for pair, c in impact.zone_pairs.items()}
    assert counts == {
        ("monitoring", "clinical-apps"): (1, 1, 0),
        ("vendor", "imaging"): (1, 0, 0),
        ("enterprise", "life-sustaining"): (0, 0, 1),
    }


def test_same_policy_changes_nothing() -> None:
    impact = simulate(CURRENT, CURRENT, BASELINE, HOSTS)
    assert impact.broken == ()
    assert impact.newly_allowed == ()
    assert impact.paths is None


def test_paths_hook_counts() -> None:
    impact = simulate(CURRENT, PROPOSED, BASELINE, HOSTS, paths=lambda m: sum(r.action == "allow" for r in m.rules))
    assert impact.paths is not None
    assert (impact.paths.before, impact.paths.after, impact.paths.cut) == (4, 2, 2)


def test_paths_hook_lists_unhashable_paths() -> None:
    def paths(model: NetworkModel) -> list[object]:
        return [["10.90.0.4", r.name] for r in model.rules if r.action == "allow"]

    impact = simulate(CURRENT, PROPOSED, BASELINE, HOSTS, paths=paths)
    assert impact.paths is not None
    assert impact.paths.cut == [
        ["10.90.0.4", "vendor-any"],
        ["10.90.0.4", "mon-to-apps"],
        ["10.90.0.4", "apps-to-mon-hl7"],
    ]


def test_paths_hook_mixing_counts_and_lists_is_refused() -> None:
    with pytest.raises(TypeError, match="count for both"):
        simulate(CURRENT, PROPOSED, [], [], paths=lambda m: 1 if m is CURRENT else [])


def test_flow_between_medical_devices_on_an_unknown_port_is_clinical() -> None:
    # A pump talking to its (medical) server on a vendor port: no clinical app or port, but both ends are medical.
    pump = HostFacts("10.60.0.20", device_type="infusion-pump")
    server = HostFacts("10.50.0.30", device_type=None)
    assert clinical_reason("tcp", 9292, None, (pump, server), ("life-sustaining", "clinical-apps")) is not None
    assert clinical_reason("tcp", 9292, None, (pump, None), ("life-sustaining", "guest")) is None
    assert clinical_reason("tcp", 104, None, (None, None), (None, None)) == "DICOM (IANA acr-nema)"


def test_unreadable_addresses_are_skipped_and_counted() -> None:
    impact = simulate(CURRENT, PROPOSED, [ObservedFlow("not-an-ip", "10.50.0.7", "tcp", 2575)], [])
    assert impact.skipped == 1
    assert impact.broken == ()


def test_a_deny_inside_one_subnet_breaks_nothing() -> None:
    # ws7 (10.30.0.50) and ct1 (10.30.0.11) share imaging's one subnet 10.30.0.0/24: their SMB never crosses the
    # firewall, so a proposed deny between them changes no decision (it would need intra_zone: deny or a new VLAN).
    deny = Rule("deny", ("10.30.0.50",), ("10.30.0.11",), "tcp", (PortRange(445, 445),), order=-1, name="ws7-ct1")
    same_vlan = simulate(CURRENT, replace(CURRENT, rules=(deny, *CURRENT.rules)), BASELINE, HOSTS)
    assert (same_vlan.broken, same_vlan.newly_allowed) == ((), ())
    isolated = simulate(CURRENT, replace(CURRENT, intra_zone="deny"), BASELINE, HOSTS)
    assert [(f.client, f.server, f.port, f.rule_proposed) for f in isolated.broken] == [
        ("10.30.0.50", "10.30.0.11", 445, None)
    ]
