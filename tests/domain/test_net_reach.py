"""Reachability compiled from the rules: agreement with NetworkModel.decide, queries on a hand-built hospital."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import replace

import pytest

from wardwatch.domain import (
    host_categories,
    net_baseline,
    net_compiled,
    net_recommend,
    segmentation,
    worm,
    worm_report,
)
from wardwatch.domain.net_reach import Reachability, address_key
from wardwatch.domain.netmodel import (
    EnforcementPoint,
    FilterDevice,
    HostFacts,
    NetworkModel,
    ObservedFlow,
    PortRange,
    Route,
    Rule,
    Zone,
)

GUEST = Zone("guest", "guest", ("10.9.0.0/16",), entry_point=True)
ENTERPRISE = Zone("enterprise", "enterprise", ("10.1.0.0/16",))
PUMPS = Zone("pumps", "life-sustaining", ("10.3.0.0/16",))
MISTAKE = Rule("allow", ("guest",), ("enterprise",), "tcp", (PortRange(445, 445),), 1, "core-fw.txt:12", "guest-smb")
ENTERPRISE_TO_PUMPS = Rule("allow", ("enterprise",), ("pumps",), order=2, origin="core-fw.txt:20", name="ent-pumps")
WORKSTATION = HostFacts(
    "10.1.0.10", name="WS-7", device_type="workstation", os="Windows 7", services=(("tcp", 445),),
    vulnerabilities=("CVE-2017-0144",),
)  # fmt: skip
PUMP = HostFacts(
    "10.3.0.20", name="PUMP-1", device_type="infusion-pump", criticality="life-sustaining",
    services=(("tcp", 23),), vulnerabilities=("default_credentials",),
)  # fmt: skip


def hospital(*rules: Rule) -> NetworkModel:
    """The small example: guest, enterprise and pump zones, default deny, intra-zone allow."""
    return NetworkModel(zones=(GUEST, ENTERPRISE, PUMPS), rules=rules)


def test_who_can_reach_the_workstation_names_the_mistaken_rule() -> None:
    reach = Reachability.build(hospital(MISTAKE, ENTERPRISE_TO_PUMPS), [WORKSTATION, PUMP])

    access = reach.who_can_reach("10.1.0.10")

    # Guest by the mistaken rule, enterprise from inside its own subnet; pumps have no rule back (default deny).
    # (Was "intra-zone": the enterprise hosts share the workstation's subnet 10.1.0.0/16, so no firewall sits between
    # them and the basis is now "same-subnet", decided before any rule.)
    assert {(a.source_zone, a.basis) for a in access} == {("guest", "rule"), ("enterprise", "same-subnet")}
    own = next(a for a in access if a.source_zone == "enterprise")
    assert own.rule is None and "same subnet 10.1.0.0/16" in own.evidence
    guest = next(a for a in access if a.source_zone == "guest")
    assert guest.service == ("tcp", 445)
    assert guest.rule is MISTAKE
    assert guest.source == "zone 'guest' (any host)"
    assert "guest-smb" in guest.evidence and "core-fw.txt:12" in guest.evidence


def test_who_can_reach_the_pump() -> None:
    reach = Reachability.build(hospital(MISTAKE, ENTERPRISE_TO_PUMPS), [WORKSTATION, PUMP])

    access = reach.who_can_reach("10.3.0.20")

    assert {(a.source_zone, a.service, a.basis) for a in access} == {
        ("enterprise", ("tcp", 23), "rule"),
        ("pumps", ("tcp", 23), "same-subnet"),  # was "intra-zone": pumps share the pump's one subnet
    }
    assert reach.who_can_reach("10.3.0.20", services=[("udp", 161)]) != []  # enterprise -> pumps is any service
    assert reach.exposed_services("10.3.0.20") == (("tcp", 23),)


def test_zone_reach() -> None:
    reach = Reachability.build(hospital(MISTAKE, ENTERPRISE_TO_PUMPS), [WORKSTATION, PUMP])

    assert reach.zone_reach("guest") == {"enterprise": frozenset({("tcp", 445)})}
    assert reach.zone_reach("enterprise") == {
        "enterprise": frozenset({("tcp", 445)}),
        "pumps": frozenset({("tcp", 23)}),
    }
    assert reach.zone_reach("pumps") == {"pumps": frozenset({("tcp", 23)})}
    assert Reachability.build(hospital(ENTERPRISE_TO_PUMPS), [WORKSTATION, PUMP]).zone_reach("guest") == {}


def test_classes_do_not_grow_with_hosts_and_a_host_rule_splits_one_address() -> None:
    host_rule = Rule("allow", ("10.1.0.99",), ("pumps",), "tcp", (PortRange(23, 23),), 3)
    model = hospital(MISTAKE, ENTERPRISE_TO_PUMPS, host_rule)
    many = [HostFacts(f"10.1.{i // 250}.{i % 250 + 1}", services=(("tcp", 445),)) for i in range(1000)]

    empty, full = Reachability.build(model, []), Reachability.build(model, many)

    assert len(full.sources.classes) == len(empty.sources.classes)
    assert len(full.destinations.classes) == len(empty.destinations.classes)
    named = full.sources.lookup(address_key("10.1.0.99"))
    assert named.ranges == ((address_key("10.1.0.99"),) * 2,)
    others = {full.sources.lookup(address_key(h.address)).id for h in many if h.address != "10.1.0.99"}
    assert len(others) == 1
    # The host rule names a source only: destinations are not split by it.
    assert full.destinations.lookup(address_key("10.1.0.99")) == full.destinations.lookup(address_key("10.1.0.98"))


def test_observed_flows_count_only_where_the_rules_are_silent() -> None:
    printer = HostFacts("192.168.5.5", services=(("tcp", 9100),))
    flows = [
        ObservedFlow("10.1.0.10", "192.168.5.5", "tcp", 104, "dicom", 40),  # unzoned server: evidence
        ObservedFlow("10.9.0.7", "10.3.0.20", "tcp", 23, None, 3),  # both zoned, denied: the rules speak
        ObservedFlow("10.1.0.10", "192.168.5.5", "tcp", 104, "dicom", 2),  # duplicate pair and service
        ObservedFlow("not-an-ip", "10.3.0.20", "tcp", 23),
    ]
    reach = Reachability.build(hospital(MISTAKE, ENTERPRISE_TO_PUMPS), [WORKSTATION, PUMP, printer], flows)

    observed = [a for a in reach.who_can_reach("192.168.5.5") if a.basis == "observed"]
    assert [(a.source, a.source_zone, a.service, a.flow) for a in observed] == [
        ("10.1.0.10", "enterprise", ("tcp", 104), flows[0])
    ]
    assert reach.exposed_services("192.168.5.5") == (("tcp", 104), ("tcp", 9100))
    assert all(a.source_zone != "guest" for a in reach.who_can_reach("10.3.0.20"))
    assert reach.zone_reach("enterprise")[None] == frozenset({("tcp", 104)})


def test_bad_host_addresses_are_skipped_not_guessed() -> None:
    reach = Reachability.build(hospital(), [HostFacts("pump-7.local"), PUMP])

    assert reach.skipped == ("pump-7.local",)
    assert reach.host("10.3.0.20") is PUMP


def _random_model(rng: random.Random, bound: bool = False) -> NetworkModel:
    # Several subnets per zone and nested subnets (of the same zone and of other zones) so that the same-subnet step
    # of NetworkModel.decide (no firewall inside one subnet) is exercised next to the rules.
    zones = (
        GUEST, Zone("enterprise", "enterprise", ("10.1.0.0/16", "10.2.0.0/24", "10.2.0.64/26")), PUMPS,
        Zone("imaging", "imaging", ("10.4.0.0/16", "10.5.0.0/24", "10.4.32.0/24")),
        Zone("pacs", "clinical-apps", ("10.4.8.0/24",)),  # nested inside imaging: more specific wins
        Zone("pacs-core", "clinical-apps", ("10.4.8.128/25",)),
        Zone("dup-a", "lab", ("10.6.0.0/24",)),
        Zone("dup-b", "lab", ("10.6.0.0/24",)),  # same subnet as dup-a: the later zone wins in zone_of
        Zone("v6", "monitoring", ("fd00:1::/64",)),
    )  # fmt: skip
    refs = ["any", "guest", "enterprise", "pumps", "imaging", "pacs", "pacs-core", "dup-a", "dup-b", "v6", "nozone",
            "10.4.0.0/20", "10.4.8.5", "10.1.0.0/24", "10.3.0.20", "fd00:1::/80", "10.0.0.0/8", "192.168.0.0/16",
            "1bad", "10.4.8.130/31", "10.2.0.0/24", "10.4.32.0/24", "10.2.0.70"]  # fmt: skip
    rules = []
    for _ in range(rng.randint(60, 150) if bound else rng.randint(10, 40)):  # bound: spread over 8 ACLs
        ports: tuple[PortRange, ...] = ()
        if rng.random() < 0.4:
            low = rng.choice([22, 23, 80, 104, 443, 445, 3389, 1000])
            ports = (PortRange(low, low + rng.choice([0, 0, 5, 100])),)
            if rng.random() < 0.3:
                ports += (PortRange(8000, 8080),)
        rules.append(
            Rule(
                rng.choice(["allow", "deny"]),
                tuple(rng.sample(refs, rng.randint(1, 2))),
                tuple(rng.sample(refs, rng.randint(1, 2))),
                rng.choice(["tcp", "udp", "any", "any", "icmp"]),
                ports,
                order=rng.randint(0, 10),  # ties keep their listed order, as in ordered_rules
            )
        )
    devices: tuple[FilterDevice, ...] = ()
    points: tuple[EnforcementPoint, ...] = ()
    if bound:
        # Two filtering devices: a core L3 switch routing the zones (a host route and a v6 route among them, no
        # default route) and an edge firewall with inside/outside (default route); ACLs bound in and out.
        devices = (
            FilterDevice("core", (Route("10.1.0.0/16", "vl1"), Route("10.2.0.0/24", "vl1"),
                                  Route("10.3.0.0/24", "vl3"), Route("10.4.0.0/16", "vl4"), Route("10.4.8.0/24", "vl8"),
                                  Route("10.3.0.20/32", "vl8"), Route("10.6.0.0/24", "vl3"),
                                  Route("fd00:1::/64", "vl4"), Route("10.0.0.0/8", "up"))),
            FilterDevice("edge", (Route("10.0.0.0/8", "inside"), Route("0.0.0.0/0", "outside"),
                                  Route("192.168.0.0/16", "dmz"))),
            FilterDevice("idle", (Route("172.16.0.0/12", "a"),)),  # binds nothing: filters nothing
        )  # fmt: skip
        points = tuple(
            EnforcementPoint(f"{dev} {iface} {way}", dev, iface, way, default_action=rng.choice(["deny", "allow"]))
            for dev, iface, way in [("core", "vl1", "in"), ("core", "vl4", "out"), ("core", "vl8", "in"),
                                    ("core", "vl8", "out"), ("edge", "outside", "in"), ("edge", "inside", "in"),
                                    ("edge", "dmz", "out"), ("core", "gone", "in"), ("edge", "*", "in")]
        )  # fmt: skip
        names = [pt.name for pt in points] + ([""] if rng.random() < 0.5 else [])
        rules = [replace(rule, point=rng.choice(names)) for rule in rules]
    return NetworkModel(
        zones=zones, rules=tuple(rules), default_action=rng.choice(["allow", "deny"]),
        intra_zone=rng.choice(["allow", "deny"]), devices=devices, points=points,
    )  # fmt: skip


def _address_pool(rng: random.Random) -> list[str]:
    edges = ["10.9.0.0", "10.1.0.255", "10.1.1.0", "10.3.0.20", "10.3.0.21", "10.4.7.255", "10.4.8.0", "10.4.8.4",
             "10.4.8.5", "10.4.8.6", "10.4.8.127", "10.4.8.128", "10.4.8.130", "10.4.8.131", "10.4.8.255",
             "10.4.9.0", "10.4.15.255", "10.4.16.0", "10.5.0.9", "10.6.0.1", "10.255.255.255", "11.0.0.0",
             "192.168.1.1", "8.8.8.8", "0.0.0.0", "255.255.255.255", "fd00:1::1", "fd00:1::1:0:0:1", "fd00:2::1",
             "::1", "::ffff:10.1.0.1", "10.2.0.5", "10.2.0.6", "10.2.0.63", "10.2.0.64", "10.2.0.70", "10.2.0.71",
             "10.4.32.1", "10.4.32.2", "10.4.31.255", "10.4.33.0", "10.5.0.10", "10.1.0.1", "10.1.0.2"]  # fmt: skip
    edges += [str(ipaddress.IPv4Address(rng.randint(0x0A000000, 0x0AFFFFFF))) for _ in range(40)]
    return edges


@pytest.mark.parametrize("bound", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_reachable_agrees_with_decide_on_random_packets(seed: int, bound: bool) -> None:
    rng = random.Random(seed)
    model = _random_model(rng, bound)
    reach = Reachability.build(model, [])
    pool = _address_pool(rng)
    ports: list[int | None] = [None, 22, 23, 27, 80, 104, 105, 443, 445, 1100, 3389, 8000, 8042, 8080, 8081, 65535]

    by_rule = by_point = same_subnet = 0
    for _ in range(1200):
        source, destination = rng.choice(pool), rng.choice(pool)
        protocol, port = rng.choice(["tcp", "tcp", "udp", "icmp", "any"]), rng.choice(ports)
        expected = model.decide(source, destination, protocol, port)
        assert reach.reachable(source, destination, protocol, port) == expected, (source, destination, protocol, port)
        by_rule += expected.rule is not None
        by_point += bool(expected.point)
        subnet = model.subnet_of(source)
        same_subnet += subnet is not None and subnet == model.subnet_of(destination)
    assert by_rule > (3 if bound else 10)  # the packets exercise the rules, not only the fallback actions
    assert same_subnet > 10  # ... and the same-subnet step that comes before them
    assert not bound or by_point > 10  # ... and the implicit deny of the ACLs on the way


@pytest.mark.parametrize("bound", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_allowed_destinations_agrees_with_per_class_decisions(seed: int, bound: bool) -> None:
    rng = random.Random(100 + seed)
    model = _random_model(rng, bound)
    reach = Reachability.build(model, [])
    every = reach.destination_mask(c.id for c in reach.destinations.classes)

    for source in reach.sources.classes:
        for service in [("tcp", 445), ("udp", 104), ("tcp", 8042)]:
            allowed = reach.allowed_destinations(source, service, every)
            expected = {
                d.id
                for d in reach.destinations.classes
                if reach.decide_classes(source, d, *service)[0].action == "allow"
            }
            assert {i for i in range(len(reach.destinations.classes)) if allowed >> i & 1} == expected


# -- one compiled evaluator ------------------------------------------------------------------------------------------


def test_one_address_key_on_one_line() -> None:
    # By hand: IPv4 as its integer, IPv6 shifted past 2**128 (the gap in between holds no address).
    assert address_key("10.0.0.1") == 10 * 2**24 + 1
    assert address_key(" 10.0.0.1 ") == 10 * 2**24 + 1  # surrounding blanks are not part of the address
    assert address_key("::1") == 2**128 + 1
    assert address_key("255.255.255.255") < address_key("::")
    assert net_compiled.address_key is address_key  # the analyses share one line: keys are interchangeable
    with pytest.raises(ValueError, match="does not appear to be"):
        address_key("010.0.0.1")  # leading zeros are refused (ambiguous octal), as ipaddress does


@pytest.mark.parametrize("bound", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_reachability_classes_are_a_view_of_the_compiled_model(seed: int, bound: bool) -> None:
    # Every address's source and destination class in Reachability carries the same zone, subnet and rule mask as
    # the compiled class that worm, segmentation and policy_sim use, and the same decision as NetworkModel.decide.
    rng = random.Random(300 + seed)
    model = _random_model(rng, bound)
    compiled = net_compiled.CompiledModel(model)
    reach = Reachability.build(model, [], compiled=compiled)
    assert reach.compiled is compiled
    pool = _address_pool(rng)
    for address in pool:
        key = address_key(address)
        shared = compiled.classes[compiled.locate(address)]
        src, dst = reach.sources.lookup(key), reach.destinations.lookup(key)
        assert (src.zone, src.subnet, src.mask) == (shared.zone, shared.subnet, shared.source_mask)
        assert (dst.zone, dst.subnet, dst.mask) == (shared.zone, shared.subnet, shared.destination_mask)
        assert any(low <= key <= high for low, high in src.ranges)
        assert any(low <= key <= high for low, high in dst.ranges)
    for _ in range(200):
        a, b = rng.choice(pool), rng.choice(pool)
        port = rng.choice([22, 445, 8042, None])
        expected = model.decide(a, b, "tcp", port)
        assert reach.reachable(a, b, "tcp", port) == expected == compiled.decide(a, b, "tcp", port)


def test_a_compiled_model_of_another_model_is_refused() -> None:
    other = net_compiled.CompiledModel(hospital(MISTAKE))
    with pytest.raises(ValueError, match="same model"):
        Reachability.build(hospital(MISTAKE, ENTERPRISE_TO_PUMPS), [], compiled=other)


def test_split_modules_keep_their_import_paths() -> None:
    # worm, segmentation and net_recommend were split; their public names still import from the old paths.
    assert worm.WormResult is worm_report.WormResult and worm.CLINICAL_FUNCTIONS is worm_report.CLINICAL_FUNCTIONS
    assert segmentation.is_medical is host_categories.is_medical
    assert net_recommend.baseline_policy is net_baseline.baseline_policy
