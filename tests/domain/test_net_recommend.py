"""Min-cut and greedy recommendations, and the observed-baseline allow-list, on small hand-built networks.

Every expectation below is derived by hand in the comments from the example, not copied from the output.
"""

from __future__ import annotations

import pytest

from wardwatch.domain.net_recommend import (
    ReachEdge,
    apply_changes,
    baseline_policy,
    derive_baseline,
    greedy_recommendation,
    min_cut_recommendation,
    parse_service,
)
from wardwatch.domain.netmodel import Decision, HostFacts, NetworkModel, ObservedFlow, PortRange, Rule, Zone


def _zone(name: str, cidr: str, *, entry: bool = False) -> Zone:
    return Zone(name, subnets=(cidr,), entry_point=entry)


ZONES = (
    _zone("guest", "10.50.0.0/24", entry=True),
    _zone("enterprise", "10.10.0.0/24", entry=True),
    _zone("imaging", "10.30.0.0/24"),
    _zone("pacs", "10.31.0.0/24"),
    _zone("pumps", "10.40.0.0/24"),
    _zone("lab", "10.60.0.0/24"),
)
DICOM = Rule("allow", ("imaging",), ("pacs",), "tcp", (PortRange(104, 104),), 1, "core-fw.txt:5", "imaging-pacs-dicom")
ENT_PUMPS = Rule("allow", ("enterprise",), ("pumps",), "any", (), 2, "core-fw.txt:7", "ent-pumps-any")  # the mistake
VENDOR_SMB = Rule(
    "allow", ("guest", "lab"), ("imaging",), "tcp", (PortRange(445, 445),), 3, "core-fw.txt:12", "vendor-smb"
)
RDP = Rule(
    "allow", ("enterprise",), ("imaging",), "tcp", (PortRange(3389, 3389),), 4, "core-fw.txt:15", "ent-imaging-rdp"
)
MODEL = NetworkModel(zones=ZONES, rules=(DICOM, ENT_PUMPS, VENDOR_SMB, RDP))
EDGES = (
    ReachEdge("guest", "imaging", "tcp/445", VENDOR_SMB, 4),
    ReachEdge("lab", "imaging", "tcp/445", VENDOR_SMB, 1),  # lab is no entry: never on an attack path
    ReachEdge("enterprise", "imaging", "tcp/3389", RDP, 2),
    ReachEdge("enterprise", "pumps", "any", ENT_PUMPS, 5),
    ReachEdge("imaging", "pacs", "tcp/104", DICOM, 3),
)
SOURCES = ("guest", "enterprise")
TARGETS = ("pumps", "pacs")
PROTECTED = {"imaging-pacs-dicom"}


def test_min_cut_picks_the_mistaken_rule_and_spares_the_protected_one() -> None:
    # Pumps: only enterprise->pumps (cost 1).  PACS: cut imaging->pacs (protected, 100) or both guest->imaging and
    # enterprise->imaging (1 + 1).  Minimum: 3 edges, cost 3.  ent-pumps-any and ent-imaging-rdp carry nothing else
    # -> removed; vendor-smb also carries lab->imaging -> narrowed to lab.  Ranked by weight: 5, 4, 2.
    rec = min_cut_recommendation(MODEL, EDGES, SOURCES, TARGETS, protected=PROTECTED)
    assert rec.cost == 3
    assert [(c.action, c.rule, c.paths_cut_weight) for c in rec.changes] == [
        ("remove", ENT_PUMPS, 5),
        ("narrow", VENDOR_SMB, 4),
        ("remove", RDP, 2),
    ]
    assert rec.changes[1].new_rule is not None and rec.changes[1].new_rule.source == ("lab",)
    assert all(c.rule != DICOM for c in rec.changes)
    assert rec.weight_before == 4 + 2 + 5 + 3  # lab->imaging is on no entry -> target path
    assert rec.weight_left == 0
    assert rec.weight_cut == 11
    assert rec.uncuttable == ()


def test_applied_changes_block_the_attack_and_keep_clinical_traffic() -> None:
    rec = min_cut_recommendation(MODEL, EDGES, SOURCES, TARGETS, protected=PROTECTED)
    after = apply_changes(MODEL, rec.changes)
    assert after.decide("10.10.0.5", "10.40.0.7", "tcp", 8080).action == "deny"  # enterprise -> pump
    assert after.decide("10.50.0.5", "10.30.0.7", "tcp", 445).action == "deny"  # guest -> imaging SMB
    assert after.decide("10.10.0.5", "10.30.0.7", "tcp", 3389).action == "deny"
    assert after.decide("10.60.0.5", "10.30.0.7", "tcp", 445).action == "allow"  # lab keeps its SMB
    assert after.decide("10.30.0.7", "10.31.0.2", "tcp", 104).action == "allow"  # DICOM untouched
    assert [r.order for r in after.ordered_rules] == [10, 20]


def test_without_protection_the_cut_goes_through_the_dicom_rule() -> None:
    # Cutting imaging->pacs (1) beats guest->imaging + enterprise->imaging (2): cost 1 + 1 for the pumps edge.
    rec = min_cut_recommendation(MODEL, EDGES, SOURCES, TARGETS)
    assert rec.cost == 2
    assert [(c.action, c.rule) for c in rec.changes] == [("remove", ENT_PUMPS), ("remove", DICOM)]


def test_a_later_any_any_rule_turns_removal_into_a_deny_in_front() -> None:
    vendor_any = Rule("allow", order=9, origin="core-fw.txt:12", name="vendor-any")
    model = NetworkModel(zones=ZONES, rules=(ENT_PUMPS, vendor_any))
    edges = (
        ReachEdge("enterprise", "pumps", "any", ENT_PUMPS, 5),
        ReachEdge("guest", "imaging", "tcp/445", vendor_any, 4),
        ReachEdge("lab", "imaging", "tcp/445", vendor_any, 1),
    )
    rec = min_cut_recommendation(model, edges, SOURCES, ("pumps", "imaging"))
    # Removing ent-pumps-any would let vendor-any allow enterprise->pumps: deny in front instead.  vendor-any
    # also carries lab->imaging and its source is `any`: it cannot be narrowed, so a deny goes in front.
    assert [c.reason for c in rec.changes] == [
        "deny any from enterprise to pumps (replaces part of rule 'ent-pumps-any' core-fw.txt:7)",
        "deny tcp/445 from guest to imaging (replaces part of rule 'vendor-any' core-fw.txt:12)",
    ]
    assert [c.action for c in rec.changes] == ["add-deny", "add-deny"]
    after = apply_changes(model, rec.changes)
    assert after.decide("10.10.0.5", "10.40.0.7", "udp", 53).action == "deny"
    assert after.decide("10.50.0.5", "10.30.0.7", "tcp", 445).action == "deny"
    assert after.decide("10.50.0.5", "10.30.0.7", "tcp", 443).action == "allow"  # only the cut service
    assert [r.name for r in after.ordered_rules][:2] == ["ww-deny-enterprise-pumps-any", "ent-pumps-any"]


def test_default_allowed_edge_gets_a_deny_and_same_zone_target_is_uncuttable() -> None:
    model = NetworkModel(zones=ZONES, default_action="allow")
    edges = (
        ReachEdge("guest", "10.50.0.9", "tcp/445", None, 2),  # a critical device on guest Wi-Fi: no firewall
        ReachEdge("guest", "pumps", "tcp/80", None, 3),
    )
    rec = min_cut_recommendation(model, edges, ("guest",), ("10.50.0.9", "pumps"))
    assert rec.uncuttable == ("10.50.0.9",)
    assert [(c.action, c.rule) for c in rec.changes] == [("add-deny", None)]
    assert "default action" in rec.changes[0].reason
    assert any("10.50.0.9" in s and "no rule change" in s for s in rec.steps)
    after = apply_changes(model, rec.changes)
    assert after.decide("10.50.0.5", "10.40.0.7", "tcp", 80).action == "deny"
    assert after.decide("10.50.0.5", "10.40.0.7", "tcp", 443).action == "allow"


def test_only_same_subnet_traffic_is_uncuttable() -> None:
    # Zone "ward" has two subnets.  10.60.0.5 -> 10.60.0.9 stays in 10.60.0.0/24: no firewall, no rule change cuts it.
    # 10.60.0.5 -> 10.61.0.9 crosses from one subnet of the zone to the other: the firewall sees it and a deny cuts
    # it (before the fix every same-zone edge with no rule counted as uncuttable).
    model = NetworkModel(zones=(Zone("ward", subnets=("10.60.0.0/24", "10.61.0.0/24"), entry_point=True),))
    edges = (
        ReachEdge("10.60.0.5", "10.60.0.9", "tcp/445", None, 1),
        ReachEdge("10.60.0.5", "10.61.0.9", "tcp/445", None, 1),
    )
    rec = min_cut_recommendation(model, edges, ("10.60.0.5",), ("10.60.0.9", "10.61.0.9"))
    assert rec.uncuttable == ("10.60.0.9",)
    assert [(c.action, c.new_rule.source, c.new_rule.destination) for c in rec.changes if c.new_rule] == [
        ("add-deny", ("10.60.0.5",), ("10.61.0.9",))
    ]
    assert "intra-zone action allows it" in rec.changes[0].reason
    after = apply_changes(model, rec.changes)
    assert after.decide("10.60.0.5", "10.61.0.9", "tcp", 445).action == "deny"
    assert after.decide("10.60.0.5", "10.60.0.9", "tcp", 445) == Decision("allow", None)  # still: same subnet


def test_greedy_explains_each_step_heaviest_first() -> None:
    # Weight per unit cost: ent-pumps-any 5, vendor-smb 4, dicom 3/100, rdp 2.
    rec = greedy_recommendation(MODEL, EDGES, SOURCES, TARGETS, protected=PROTECTED)
    assert [c.rule for c in rec.changes] == [ENT_PUMPS, VENDOR_SMB, RDP]
    assert len(rec.steps) == 3
    assert "ent-pumps-any" in rec.steps[0] and "still reachable: pacs" in rec.steps[0]
    assert "vendor-smb" in rec.steps[1] and "still reachable: pacs" in rec.steps[1]
    assert "no critical target is reachable" in rec.steps[2]
    assert rec.weight_left == 0


def test_greedy_with_a_budget_of_one_cuts_the_heaviest_rule() -> None:
    rec = greedy_recommendation(MODEL, EDGES, SOURCES, TARGETS, protected=PROTECTED, max_steps=1)
    assert [(c.action, c.rule) for c in rec.changes] == [("remove", ENT_PUMPS)]
    assert rec.weight_left == 14 - 5


def test_parse_service() -> None:
    assert parse_service("tcp/100-200,443") == ("tcp", (PortRange(100, 200), PortRange(443, 443)))
    assert parse_service("ICMP") == ("icmp", ())
    assert parse_service("any") == ("any", ())
    for bad in ("gre/1", "tcp/x", "tcp/70000"):
        with pytest.raises(ValueError, match=r"bad"):
            parse_service(bad)


# -- baseline ---------------------------------------------------------------------------------------------------

BZONES = (
    _zone("enterprise", "10.10.0.0/24"),
    _zone("monitoring", "10.20.0.0/24"),
    _zone("imaging", "10.30.0.0/24"),
    _zone("pacs", "10.31.0.0/24"),
)
HOSTS = (
    HostFacts("10.30.0.5", device_type="ct"),
    HostFacts("10.30.0.6", device_type="mri"),
    HostFacts("10.31.0.10", device_type="pacs"),
    HostFacts("10.10.0.20", device_type="workstation"),
    HostFacts("10.10.0.21", device_type="workstation"),
    HostFacts("10.20.0.2", device_type="central-station"),
    HostFacts("10.20.0.3", device_type="patient-monitor"),
)
FLOWS = (
    ObservedFlow("10.30.0.5", "10.31.0.10", "tcp", 104, "dicom", 10),
    ObservedFlow("10.30.0.6", "10.31.0.10", "tcp", 104, "dicom", 5),
    ObservedFlow("10.30.0.5", "10.31.0.10", "tcp", 104, "dicom", 7),
    ObservedFlow("10.30.0.6", "10.31.0.10", "tcp", 105, None, 1),
    ObservedFlow("10.10.0.20", "10.31.0.10", "tcp", 443, "https", 3),
    ObservedFlow("10.10.0.21", "10.31.0.10", "tcp", 443, "https", 4),
    ObservedFlow("10.10.0.20", "10.31.0.10", "tcp", 55000, None, 3),
    ObservedFlow("10.20.0.3", "10.20.0.2", "tcp", 2575, "hl7", 9),
    ObservedFlow("10.20.0.2", "10.31.0.10", "tcp", 2575, "hl7", 2),
    ObservedFlow("10.20.0.2", "10.31.0.10", "tcp", 2576, "hl7", 2),
    ObservedFlow("10.10.0.20", "10.31.0.10", "icmp", None, None, 2),
    ObservedFlow("10.10.0.20", "10.31.0.10", "sctp", 9, None, 1),
)


def tcp(low: int, high: int | None = None) -> tuple[PortRange, ...]:
    return (PortRange(low, high or low),)


def _shape(rule: Rule) -> tuple[str, tuple[str, ...], tuple[str, ...], str, tuple[PortRange, ...]]:
    return rule.action, rule.source, rule.destination, rule.protocol, rule.ports


def test_baseline_policy_by_zone() -> None:
    # Both imaging hosts send DICOM -> the zone; only the MRI used 105 -> its address (not merged with 104 because
    # the sides differ).  Both workstations used 443 -> enterprise; only .20 pinged.  Only the monitor sends HL7
    # to the central station (2 known monitoring hosts).  The central station used 2575 and 2576 -> one range.
    # 55000 is a client port and sctp has no rule syntax -> skipped.  Sorted by source zone, destination, protocol.
    model = baseline_policy(FLOWS, HOSTS, NetworkModel(zones=BZONES))
    assert [_shape(r) for r in model.ordered_rules] == [
        ("allow", ("10.10.0.20",), ("pacs",), "icmp", ()),
        ("allow", ("enterprise",), ("pacs",), "tcp", tcp(443)),
        ("allow", ("imaging",), ("pacs",), "tcp", tcp(104)),
        ("allow", ("10.30.0.6",), ("pacs",), "tcp", tcp(105)),
        ("allow", ("10.20.0.3",), ("10.20.0.2",), "tcp", tcp(2575)),
        ("allow", ("10.20.0.2",), ("pacs",), "tcp", tcp(2575, 2576)),
        ("deny", ("any",), ("any",), "any", ()),
    ]
    dicom = model.ordered_rules[2]
    assert dicom.description.startswith("observed 3 flow(s), 22 packet(s)") and "dicom" in dicom.description
    assert "observed 2 flow(s)" in model.ordered_rules[5].description
    assert model.default_action == "deny" and model.zones == BZONES


def test_baseline_allows_what_was_seen_and_nothing_else() -> None:
    baseline = derive_baseline(FLOWS, HOSTS, NetworkModel(zones=BZONES))
    assert [(f.port, f.protocol) for f, _ in baseline.skipped] == [(55000, "tcp"), (9, "sctp")]
    assert "ephemeral" in baseline.skipped[0][1]
    model = baseline.model
    for flow in FLOWS:
        if flow.protocol in ("tcp", "icmp") and (flow.port or 0) < 49152:
            assert model.decide(flow.client, flow.server, flow.protocol, flow.port).action == "allow", flow
    assert model.decide("10.30.0.5", "10.31.0.10", "tcp", 445).action == "deny"
    assert model.decide("10.10.0.21", "10.31.0.10", "icmp", None).action == "deny"  # only .20 pinged
    assert model.decide("10.30.0.5", "10.31.0.10", "tcp", 105).action == "deny"  # only the MRI used 105
    # HL7 goes one way: between zones the reverse direction is denied...
    assert model.decide("10.31.0.10", "10.30.0.5", "tcp", 104).action == "deny"
    # ...but inside one subnet no firewall can enforce a direction (this used to expect "deny" for
    # 10.20.0.2 -> 10.20.0.3 tcp/2575; both are in monitoring's one subnet, so the intra-zone action applies).
    assert model.decide("10.20.0.2", "10.20.0.3", "tcp", 2575).action == "allow"
    assert model.decide("10.20.0.2", "10.20.0.3", "tcp", 2575).rule is None


def test_baseline_by_device_type_without_zones() -> None:
    # No zones: groups are device type + /24.  10.30.0.0/24 holds a CT and an MRI, so each side stays an address;
    # the PACS is the only host of 10.31.0.0/24 -> the whole /24.
    flows = FLOWS[:2]
    model = baseline_policy(flows, HOSTS, NetworkModel())
    assert [(r.name, r.source, r.destination) for r in model.ordered_rules[:-1]] == [
        ("allow-ct@10.30.0.0/24-pacs@10.31.0.0/24-tcp-104", ("10.30.0.5",), ("10.31.0.0/24",)),
        ("allow-mri@10.30.0.0/24-pacs@10.31.0.0/24-tcp-104", ("10.30.0.6",), ("10.31.0.0/24",)),
    ]
    zoned = baseline_policy(flows, HOSTS, NetworkModel(zones=BZONES), group_by="device-type")
    assert [_shape(r) for r in zoned.rules] == [_shape(r) for r in model.rules]
