"""Placement and conformance checks on a small hand-built hospital, and the compiled evaluator against
``NetworkModel.decide``.

The example (expectations derived by hand below):

* zones: enterprise 10.10/16, imaging 10.30.0/24 (VLAN 30, flat: two CT scanners, a misplaced infusion pump and
  a Windows 7 workstation), monitoring 10.40.0/24, clinical-apps 10.50.0/24 (PACS, central station),
  life-sustaining 10.60.0/24 (a ventilator), vendor-remote 10.90.0/24; a printer at 172.16.5.5 is in no zone;
* rules, in order: mon-to-apps (monitoring → clinical-apps, tcp, every port), img-to-pacs (imaging → PACS tcp/104),
  block-ent-ls (deny enterprise → life-sustaining), apps-to-mon-hl7 (never used), vendor-any (any/any);
* conduits: monitoring → clinical-apps tcp/2575, imaging → clinical-apps tcp/104.
"""

from __future__ import annotations

import gc
import json
import random
from dataclasses import replace
from importlib import resources

import pytest

from wardwatch.domain.net_compiled import SAME_SUBNET, CompiledModel
from wardwatch.domain.netmodel import (
    Conduit,
    Decision,
    HostFacts,
    NetworkModel,
    ObservedFlow,
    PlacementRule,
    PortRange,
    Rule,
    Zone,
)
from wardwatch.domain.segmentation import (
    MEDICAL_DEVICE_TYPES,
    Violation,
    categories,
    check,
    is_it_workstation,
    is_medical,
)

ZONES = (
    Zone("enterprise", "enterprise", ("10.10.0.0/16",), entry_point=True),
    Zone("imaging", "imaging", ("10.30.0.0/24",), vlans=(30,)),
    Zone("monitoring", "monitoring", ("10.40.0.0/24",), vlans=(40,)),
    Zone("clinical-apps", "clinical-apps", ("10.50.0.0/24",)),
    Zone("life-sustaining", "life-sustaining", ("10.60.0.0/24",)),
    Zone("vendor", "vendor-remote", ("10.90.0.0/24",), entry_point=True),
)

MON_TO_APPS = Rule("allow", ("monitoring",), ("clinical-apps",), "tcp", (), order=10, name="mon-to-apps")
IMG_TO_PACS = Rule("allow", ("imaging",), ("10.50.0.5",), "tcp", (PortRange(104, 104),), order=20, name="img-to-pacs")
BLOCK_ENT_LS = Rule("deny", ("enterprise",), ("life-sustaining",), order=30, name="block-ent-ls")
UNUSED = Rule(
    "allow", ("clinical-apps",), ("monitoring",), "tcp", (PortRange(2575, 2575),), order=40, name="apps-to-mon-hl7"
)
VENDOR_ANY = Rule("allow", order=90, name="vendor-any", origin="core-fw.txt:90")

CURRENT = NetworkModel(
    zones=ZONES,
    rules=(VENDOR_ANY, MON_TO_APPS, IMG_TO_PACS, BLOCK_ENT_LS, UNUSED),  # out of order on purpose
    conduits=(
        Conduit("monitoring", "clinical-apps", "tcp", (PortRange(2575, 2575),)),
        Conduit("imaging", "clinical-apps", "tcp", (PortRange(104, 104),)),
    ),
    placement=(
        PlacementRule("infusion-pump", ("life-sustaining",)),
        PlacementRule("workstation", ("enterprise",)),
        PlacementRule("ct-scanner", ("imaging",)),
    ),
)

CT1 = HostFacts("10.30.0.11", name="ct1", device_type="ct-scanner", criticality="diagnostic", os="Windows 7")
CT2 = HostFacts("10.30.0.12", name="ct2", device_type="ct-scanner", criticality="diagnostic")
WS7 = HostFacts("10.30.0.50", name="ws7", device_type="workstation", criticality="non-clinical", os="Windows 7 Pro")
PUMP = HostFacts("10.30.0.77", name="pump1", device_type="infusion-pump", criticality="therapeutic")
MONITOR = HostFacts("10.40.0.21", name="mon1", device_type="patient-monitor", criticality="monitoring")
CENTRAL = HostFacts("10.50.0.7", name="cs1", device_type="central-station", criticality="monitoring")
PACS = HostFacts("10.50.0.5", name="pacs", device_type="pacs-server", criticality="diagnostic")
VENT = HostFacts("10.60.0.9", name="vent1", device_type="ventilator", criticality="life-sustaining")
OFFICE = HostFacts("10.10.0.8", name="office-pc", device_type="workstation", os="Windows 10")
JUMP = HostFacts("10.90.0.4", name="jump")
PRINTER = HostFacts("172.16.5.5", name="printer", device_type="printer", criticality="non-clinical")
HOSTS = (CT1, CT2, WS7, PUMP, MONITOR, CENTRAL, PACS, VENT, OFFICE, JUMP, PRINTER)

FLOWS = (
    *[ObservedFlow("10.40.0.21", "10.50.0.7", "tcp", 2575, "hl7", packets=10)] * 3,  # via mon-to-apps
    ObservedFlow("10.30.0.11", "10.50.0.5", "tcp", 104, "dicom", packets=500),  # via img-to-pacs
    ObservedFlow("10.30.0.12", "10.50.0.5", "tcp", 104, "dicom", packets=400),
    ObservedFlow("10.10.0.8", "10.60.0.9", "tcp", 445, "smb", packets=4),  # denied by block-ent-ls, yet seen
    ObservedFlow("10.90.0.4", "10.30.0.11", "tcp", 3389, "rdp", packets=90),  # via vendor-any, no conduit
    ObservedFlow("10.30.0.50", "10.30.0.11", "tcp", 445, "smb", packets=7),  # inside imaging: no firewall
)


def of_kind(violations: list[Violation], kind: str) -> list[Violation]:
    return [v for v in violations if v.kind == kind]


@pytest.fixture(scope="module")
def violations() -> list[Violation]:
    return check(CURRENT, HOSTS, FLOWS)


# -- placement -----------------------------------------------------------------------------------------------------


def test_host_in_no_zone_is_unplaced(violations: list[Violation]) -> None:
    (unplaced,) = of_kind(violations, "unplaced")
    assert unplaced.subject == "printer (172.16.5.5)"
    assert unplaced.severity == "low"  # a printer: neither medical nor life-critical


def test_pump_and_workstation_outside_their_zones_are_misplaced(violations: list[Violation]) -> None:
    misplaced = {v.subject: v for v in of_kind(violations, "misplaced")}
    # The CT scanners are in imaging as required, the ventilator's type and criticality are not constrained,
    # and office-pc is a workstation in enterprise: only the pump and ws7 are out of place.
    assert set(misplaced) == {"pump1 (10.30.0.77)", "ws7 (10.30.0.50)"}
    pump = misplaced["pump1 (10.30.0.77)"]
    assert pump.evidence["categories"] == ["infusion-pump"]
    assert pump.evidence["expected_zones"] == ["life-sustaining"]
    assert pump.severity == "medium"  # therapeutic, not life-sustaining
    assert misplaced["ws7 (10.30.0.50)"].evidence["categories"] == ["workstation"]


def test_placement_rule_may_name_a_zone_kind() -> None:
    model = NetworkModel(zones=ZONES, placement=(PlacementRule("life-sustaining", ("life-sustaining",)),))
    vent_in_monitoring = HostFacts("10.40.0.30", name="vent2", device_type="ventilator", criticality="life-sustaining")
    found = of_kind(check(model, [VENT, vent_in_monitoring], []), "misplaced")
    assert [v.subject for v in found] == ["vent2 (10.40.0.30)"]
    assert found[0].severity == "high"


def test_dual_homed_workstation_is_misplaced_on_its_second_interface() -> None:
    model = NetworkModel(zones=ZONES, placement=(PlacementRule("workstation", ("enterprise",)),))
    dual = HostFacts("10.10.0.9", name="modality-pc", device_type="workstation", extra_addresses=("10.30.0.60",))
    (found,) = of_kind(check(model, [dual], []), "misplaced")
    assert found.evidence["zone"] == "imaging"
    assert found.evidence["address"] == "10.30.0.60"


# -- mixed VLANs ---------------------------------------------------------------------------------------------------


def test_flat_imaging_vlan_mixing_ct_and_windows7_workstation(violations: list[Violation]) -> None:
    (mixed,) = of_kind(violations, "mixed-vlan")  # monitoring, apps, life-sustaining, enterprise are not mixed
    assert "10.30.0.0/24" in mixed.subject
    assert mixed.evidence["vlans"] == [30]
    assert mixed.evidence["medical_devices"] == 3  # ct1, ct2, pump1
    assert mixed.evidence["workstations"] == 1  # ws7
    assert any("ws7" in e and "Windows 7" in e for e in mixed.evidence["workstation_examples"])  # type: ignore[attr-defined]
    assert mixed.severity == "medium"


def test_zone_mixing_across_subnets_and_life_critical_severity() -> None:
    zones = (Zone("icu", "clinical-devices", ("10.70.1.0/24", "10.70.2.0/24")),)
    vent = HostFacts("10.70.1.5", name="vent", device_type="ventilator")  # no criticality: life-critical by type
    pc = HostFacts("10.70.2.5", name="pc", os="Windows 10 Enterprise")  # untyped desktop Windows: a workstation
    (mixed,) = of_kind(check(NetworkModel(zones=zones), [vent, pc], []), "mixed-vlan")
    assert mixed.subject == "zone icu (across subnets)"
    assert mixed.severity == "high"


# -- flows ---------------------------------------------------------------------------------------------------------


def test_denied_but_observed_flow(violations: list[Violation]) -> None:
    denied = [v for v in of_kind(violations, "flow-not-allowed") if v.evidence["reason"] == "denied"]
    (flow,) = denied
    assert flow.subject == "enterprise → life-sustaining tcp/445"
    assert flow.evidence["rule"] == "block-ent-ls"
    assert flow.evidence["examples"] == ["office-pc (10.10.0.8) → vent1 (10.60.0.9)"]
    assert flow.severity == "high"  # the ventilator is life-sustaining


def test_allowed_flow_without_conduit(violations: list[Violation]) -> None:
    # mon→cs tcp/2575 and ct→pacs tcp/104 have conduits; ws7→ct1 stays inside imaging.
    unintended = [v for v in of_kind(violations, "flow-not-allowed") if v.evidence["reason"] == "no-conduit"]
    assert [v.subject for v in unintended] == ["vendor → imaging tcp/3389"]
    assert unintended[0].severity == "low"


def test_flows_aggregate_per_zone_pair_and_service() -> None:
    model = NetworkModel(zones=ZONES)  # no rules: everything between zones is denied by default
    flows = [
        ObservedFlow("10.30.0.11", "10.50.0.5", "tcp", 104, packets=1),
        ObservedFlow("10.30.0.12", "10.50.0.5", "tcp", 104, packets=2),
        ObservedFlow("10.30.0.12", "10.50.0.5", "tcp", 104, packets=3),
    ]
    (flow,) = of_kind(check(model, [], flows), "flow-not-allowed")
    assert flow.evidence["host_pairs"] == 2
    assert flow.evidence["flows"] == 3
    assert flow.evidence["packets"] == 6
    assert flow.evidence["rule"] is None


def test_without_conduits_allowed_flows_are_not_reported() -> None:
    model = NetworkModel(zones=ZONES, rules=(VENDOR_ANY,))
    assert of_kind(check(model, [], FLOWS), "flow-not-allowed") == []


# -- rules ---------------------------------------------------------------------------------------------------------


def test_any_any_rule_is_high(violations: list[Violation]) -> None:
    broad = {v.subject: v for v in of_kind(violations, "over-broad-rule")}
    vendor = broad["vendor-any"]
    assert vendor.severity == "high"
    assert vendor.evidence["any_any"] is True
    # It decides jump→ct1 rdp; every other flow is decided by an earlier rule.  (It used to "decide" ws7→ct1 smb
    # too, but both sit in imaging's one subnet 10.30.0.0/24: that traffic never crosses a firewall, so no rule
    # can decide it.)
    assert vendor.evidence["used_services"] == ["tcp/3389"]


def test_all_ports_rule_used_only_for_hl7_suggests_2575(violations: list[Violation]) -> None:
    broad = {v.subject: v for v in of_kind(violations, "over-broad-rule")}
    assert set(broad) == {"vendor-any", "mon-to-apps"}  # img-to-pacs allows exactly what is used
    rule = broad["mon-to-apps"]
    assert rule.evidence["allowed_ports"] == 65536
    assert rule.evidence["used_services"] == ["tcp/2575"]
    assert rule.evidence["suggested"] == "allow tcp/2575 from monitoring to clinical-apps"
    assert rule.severity == "medium"


def test_unused_allow_rule(violations: list[Violation]) -> None:
    assert [v.subject for v in of_kind(violations, "unused-rule")] == ["apps-to-mon-hl7"]


def test_no_baseline_means_no_unused_rules() -> None:
    assert of_kind(check(CURRENT, HOSTS, []), "unused-rule") == []


def test_unused_any_any_rule_is_still_reported() -> None:
    (found,) = of_kind(check(NetworkModel(zones=ZONES, rules=(VENDOR_ANY,)), [], []), "over-broad-rule")
    assert found.severity == "high"
    assert found.evidence["suggested"] == "remove it"


def test_violations_are_ordered_by_kind_then_severity(violations: list[Violation]) -> None:
    kinds = [v.kind for v in violations]
    expected = ["unplaced", "misplaced", "misplaced", "mixed-vlan", "flow-not-allowed", "flow-not-allowed"]
    assert kinds == [*expected, "over-broad-rule", "over-broad-rule", "unused-rule"]
    assert [v.subject for v in of_kind(violations, "over-broad-rule")] == ["vendor-any", "mon-to-apps"]


# -- host categories -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "workstation"),
    [
        (HostFacts("10.0.0.1", os="Windows 10 Enterprise"), True),
        (HostFacts("10.0.0.1", device_type="other", os="Windows XP"), True),
        (HostFacts("10.0.0.1", os="Windows 10 IoT Enterprise"), False),  # an appliance, not a desktop
        (HostFacts("10.0.0.1", os="Windows Server 2016"), False),
        (HostFacts("10.0.0.1", device_type="ct-scanner", os="Windows 7"), False),  # a medical device
        (HostFacts("10.0.0.1", device_type="laptop"), True),
        (HostFacts("10.0.0.1", device_type="printer", os="Windows 10"), False),
    ],
)
def test_it_workstation(host: HostFacts, workstation: bool) -> None:
    assert is_it_workstation(host) is workstation


def test_categories_and_medical() -> None:
    assert categories(WS7) == ("workstation", "non-clinical")
    assert categories(PUMP) == ("infusion-pump", "therapeutic")
    assert is_medical(HostFacts("10.0.0.1", device_type="ct-scanner", criticality="non-clinical"))
    assert not is_medical(PRINTER)


def test_medical_types_follow_the_packaged_taxonomy() -> None:
    data = json.loads(resources.files("wardwatch.data").joinpath("device_types.json").read_text())
    clinical = {t["slug"] for t in data["types"] if t.get("criticality") not in (None, "non-clinical")}
    assert clinical == MEDICAL_DEVICE_TYPES


# -- compiled evaluator --------------------------------------------------------------------------------------------

_SUBNETS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.128/25", "10.2.0.0/16", "192.168.1.0/24",
            "192.168.1.0/24", "fd00::/64", "fd00::/120", "10.1.3.7/32"]  # fmt: skip
_REFS = ["any", "z0", "z1", "z2", "z9", "10.1.0.0/16", "10.1.2.5", "10.1.2.64/26", "192.168.0.0/16", "fd00::/64",
         "fd00::5", "bogus", "1bad", "10.1.2.7/33", "::/0", "0.0.0.0/0"]  # fmt: skip
_PORTS = [0, 22, 80, 104, 443, 445, 1024, 2575, 11112, 65535]


def _random_model(rng: random.Random) -> NetworkModel:
    zones = tuple(
        Zone(f"z{i}", subnets=tuple(rng.sample(_SUBNETS, rng.randint(0, 3)))) for i in range(rng.randint(1, 5))
    )
    rules = []
    for _ in range(rng.randint(0, 12)):
        ports: tuple[PortRange, ...] = ()
        if rng.random() < 0.6:
            ports = tuple(PortRange(*sorted(rng.sample(_PORTS, 2))) for _ in range(rng.randint(1, 2)))
        rules.append(
            Rule(
                rng.choice(["allow", "deny"]),
                tuple(rng.sample(_REFS, rng.randint(1, 2))),
                tuple(rng.sample(_REFS, rng.randint(1, 2))),
                rng.choice(["tcp", "udp", "icmp", "any"]),
                ports,
                order=rng.randint(0, 5),  # ties keep declaration order, as in decide
            )
        )
    return NetworkModel(
        zones=zones,
        rules=tuple(rules),
        default_action=rng.choice(["allow", "deny"]),
        intra_zone=rng.choice(["allow", "deny"]),
    )


def _random_address(rng: random.Random) -> str:
    fixed = ["10.1.2.5", "10.1.2.127", "10.1.2.128", "10.1.3.7", "10.9.9.9", "192.168.1.1", "8.8.8.8", "fd00::5",
             "fd00::1:0", "2001:db8::1", "0.0.0.0", "255.255.255.255"]  # fmt: skip
    if rng.random() < 0.5:
        return rng.choice(fixed)
    return f"10.{rng.randint(0, 3)}.{rng.randint(0, 3)}.{rng.randint(0, 255)}"


def test_compiled_evaluator_agrees_with_decide_on_random_packets() -> None:
    rng = random.Random(20261128)
    same_subnet = 0
    for _ in range(400):
        model = _random_model(rng)
        compiled = CompiledModel(model)
        for _ in range(30):
            src, dst = _random_address(rng), _random_address(rng)
            protocol = rng.choice(["tcp", "udp", "icmp", "any"])
            port = rng.choice([None, 22, 104, 445, 2575, 11112, 0, 65535, 1023, 70000])
            assert compiled.decide(src, dst, protocol, port) == model.decide(src, dst, protocol, port), (
                model,
                src,
                dst,
            )
            assert compiled.zone_of(src) == model.zone_of(src)
            assert compiled.subnet_of(src) == model.subnet_of(src)
            subnet = model.subnet_of(src)
            same_subnet += subnet is not None and subnet == model.subnet_of(dst)
    assert same_subnet > 200  # nested and repeated subnets: the same-subnet step (before the rules) is exercised


def test_compiled_evaluator_on_the_example() -> None:
    compiled = CompiledModel(CURRENT)
    assert compiled.decide("10.40.0.21", "10.50.0.7", "tcp", 2575).rule == MON_TO_APPS
    assert compiled.decide("10.30.0.11", "10.50.0.5", "tcp", 104).rule == IMG_TO_PACS
    assert compiled.decide("10.30.0.11", "10.50.0.6", "tcp", 104).rule == VENDOR_ANY  # not the PACS address
    assert compiled.decide("10.10.0.8", "10.60.0.9", "udp", None).action == "deny"
    assert compiled.subnet_of("10.30.0.50") == "10.30.0.0/24"
    assert compiled.zone_of("172.16.5.5") is None


def test_compiled_same_subnet_comes_before_the_rules() -> None:
    # By hand: one zone with a /16 and a nested /24; a deny-all rule.  Inside one subnet no firewall sees the packet
    # (SAME_SUBNET, intra-zone action); between the zone's two subnets the rule decides; intra_zone "deny" isolates.
    deny_all = Rule("deny", ("any",), ("any",), order=1, name="deny-all")
    model = NetworkModel(zones=(Zone("ent", subnets=("10.10.0.0/16", "10.10.9.0/24")),), rules=(deny_all,))
    compiled = CompiledModel(model)
    same = compiled.rule_index(compiled.locate("10.10.4.4"), compiled.locate("10.10.200.1"), "tcp", 445)
    assert same == SAME_SUBNET and compiled.action_of(same) == "allow"
    assert compiled.decide("10.10.4.4", "10.10.9.9", "tcp", 445) == Decision("deny", deny_all)
    assert compiled.decide("10.10.9.1", "10.10.9.9", "tcp", 445) == Decision("allow", None)
    isolated = CompiledModel(replace(model, intra_zone="deny"))
    assert isolated.decide("10.10.4.4", "10.10.4.5", "tcp", 445) == Decision("deny", None)
    assert model.subnet_of("10.10.9.9") == "10.10.9.0/24" and model.subnet_of("10.10.4.4") == "10.10.0.0/16"
    assert model.subnet_of("192.168.0.1") is None


def test_conduits_may_name_zone_kinds() -> None:
    zones = (Zone("icu-mon", "monitoring", ("10.41.0.0/24",)), Zone("apps", "clinical-apps", ("10.51.0.0/24",)))
    model = NetworkModel(
        zones=zones,
        rules=(Rule("allow", ("icu-mon",), ("apps",), "tcp"),),
        conduits=(Conduit("monitoring", "clinical-apps", "tcp", (PortRange(2575, 2575),)),),
    )
    flows = [ObservedFlow("10.41.0.2", "10.51.0.2", "tcp", 2575), ObservedFlow("10.41.0.2", "10.51.0.2", "tcp", 22)]
    found = of_kind(check(model, [], flows), "flow-not-allowed")
    assert [v.subject for v in found] == ["icu-mon → apps tcp/22"]  # 2575 is intended by the kind-level conduit


def test_rule_with_any_source_used_from_one_zone_is_over_broad_but_low() -> None:
    rule = Rule("allow", ("any",), ("10.50.0.5",), "tcp", (PortRange(104, 104),), name="any-to-pacs")
    flows = [ObservedFlow("10.30.0.11", "10.50.0.5", "tcp", 104)]
    (found,) = of_kind(check(NetworkModel(zones=ZONES, rules=(rule,)), HOSTS, flows), "over-broad-rule")
    assert found.severity == "low"  # one port allowed, one used: only the source is too wide
    assert found.evidence["suggested"] == "allow tcp/104 from imaging to clinical-apps"


def test_servers_next_to_pacs_do_not_make_a_mixed_vlan() -> None:
    engine = HostFacts("10.50.0.9", name="hl7-engine", device_type="server", os="Windows Server 2019")
    assert not is_it_workstation(engine)
    assert of_kind(check(NetworkModel(zones=ZONES), [PACS, CENTRAL, engine], []), "mixed-vlan") == []


def test_check_restores_the_garbage_collector_state() -> None:
    assert gc.isenabled()
    check(CURRENT, HOSTS, FLOWS)
    assert gc.isenabled()
    gc.disable()
    try:
        check(CURRENT, HOSTS, FLOWS)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_allow_from_one_zone_to_anything_is_over_broad_even_unused() -> None:
    vendor_anything = Rule("allow", ("vendor",), order=5, name="vendor-anything", origin="edge.cfg:12")
    narrow = Rule("allow", ("vendor",), ("10.50.0.5",), "tcp", (PortRange(22, 22),), 6, "edge.cfg:13", "vendor-ssh")
    flows = [ObservedFlow("10.10.0.9", "10.50.0.6", "tcp", 104)]  # a baseline exists; neither rule carries it
    found = check(NetworkModel(zones=ZONES, rules=(vendor_anything, narrow)), HOSTS, flows)
    (broad,) = of_kind(found, "over-broad-rule")
    assert broad.subject == "vendor-anything" and broad.severity == "high"
    assert "lets vendor reach any host on any service" in broad.detail
    assert broad.evidence["suggested"] == "remove it"
    assert [v.subject for v in of_kind(found, "unused-rule")] == ["vendor-ssh"]  # narrow and unused: only unused
