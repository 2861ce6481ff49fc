"""The worm simulation on a hand-built hospital (expectations derived by hand below) and against an independent
breadth-first search over ``NetworkModel.decide`` with networkx."""

from __future__ import annotations

import random
from dataclasses import replace

import networkx as nx
import pytest

from wardwatch.domain.netmodel import (
    EnforcementPoint,
    FilterDevice,
    HostFacts,
    NetworkModel,
    PortRange,
    Route,
    Rule,
    Zone,
)
from wardwatch.domain.worm import (
    MS17_010,
    GroupImpact,
    Mitigation,
    WormParameters,
    is_vulnerable,
    simulate,
    worst_case,
)

# The example.  Zones: imaging (two /24s, flat), pumps, clinical-apps.  Default deny between zones, intra allow.
#   r1 allow 10.2.1.50 -> imaging tcp/445       (the pump-zone XP workstation reads imaging shares)
#   r2 deny 10.1.2.0/24 -> 10.1.1.0/24 tcp/445  (inside imaging: B may not reach A on 445, but 139 falls through)
#   r3 allow imaging -> clinical-apps any       (modalities to PACS)
# Vulnerable: CT .1.10 (Win7 SMBv1, services unknown: 445+139), MR .1.11 (Win7, CVE-2017-0144, serves 445 only),
#   X-ray .2.20 (Win7 SMBv1, 445), XP workstation 10.2.1.50 (SMBv1, unknown services), PACS 10.3.1.5 (2008, 445).
# Not vulnerable: Linux X-ray .1.12, Win10 workstation .2.21 without SMBv1/CVE, Win7 ultrasound .2.22 serving only
#   104 (host firewall), pumps 10.2.1.5 (Linux) and 10.2.1.6 (OS unknown).
CT, MR, XRAY_LINUX = "10.1.1.10", "10.1.1.11", "10.1.1.12"
XRAY, WS10, US = "10.1.2.20", "10.1.2.21", "10.1.2.22"
PUMP, PCA, XP = "10.2.1.5", "10.2.1.6", "10.2.1.50"
PACS = "10.3.1.5"

MODEL = NetworkModel(
    zones=(
        Zone("imaging", "imaging", ("10.1.1.0/24", "10.1.2.0/24")),
        Zone("pumps", "life-sustaining", ("10.2.1.0/24",)),
        Zone("clinical-apps", "clinical-apps", ("10.3.1.0/24",)),
    ),
    rules=(
        Rule("allow", (XP,), ("imaging",), "tcp", (PortRange(445, 445),), order=1),
        Rule("deny", ("10.1.2.0/24",), ("10.1.1.0/24",), "tcp", (PortRange(445, 445),), order=2),
        Rule("allow", ("imaging",), ("clinical-apps",), order=3),
    ),
)


def _host(address: str, os: str | None, dtype: str, unit: str | None, **kw: object) -> HostFacts:
    return HostFacts(address=address, os=os, device_type=dtype, unit=unit, **kw)  # type: ignore[arg-type]


HOSTS = (
    _host(CT, "Windows 7", "ct-scanner", "Radiology", smbv1=True, criticality="diagnostic"),
    _host(MR, "Windows 7", "mri-scanner", "Radiology", vulnerabilities=("cve-2017-0144",), services=(("tcp", 445),)),
    _host(XRAY_LINUX, "Linux", "x-ray", "Radiology", smbv1=True),
    _host(XRAY, "Windows 7 SP1", "x-ray", "Emergency", smbv1=True, services=(("tcp", 445), ("tcp", 104))),
    _host(WS10, "Windows 10", "imaging-workstation", None, services=(("tcp", 445),)),
    _host(US, "Windows 7", "ultrasound", "Radiology", smbv1=True, services=(("tcp", 104),)),
    _host(PUMP, "Linux", "infusion-pump", "ICU", criticality="life-sustaining"),
    _host(PCA, None, "pca-pump", "ICU", criticality="life-sustaining"),
    _host(XP, "Windows XP", "clinical-workstation", "ICU", smbv1=True),
    _host(PACS, "Windows Server 2008", "pacs-server", "IT", smbv1=True, services=(("tcp", 445),)),
)
LOCAL_ONLY = WormParameters(p_random=0.0)


def _layers(result_steps: object) -> list[set[str]]:
    return [set(step.infected) for step in result_steps]  # type: ignore[attr-defined]


def test_vulnerability_rule() -> None:
    assert [is_vulnerable(h) for h in HOSTS] == [True, True, False, True, False, False, False, False, True, True]
    win = HostFacts(address="10.0.0.1", os="Windows 7", smbv1=True)
    assert not is_vulnerable(win, assume_smb_on_windows=False)
    assert is_vulnerable(HostFacts(address="10.0.0.1", os="windows 8", services=(("tcp", 139),), smbv1=True))
    assert not is_vulnerable(HostFacts(address="10.0.0.1", os="Windows 7", services=(("udp", 445),), smbv1=True))
    assert {f"CVE-2017-014{n}" for n in range(3, 9)} == MS17_010


def test_worst_case_from_the_pump_zone_workstation() -> None:
    # Step 1: XP reaches every imaging host on 445 (r1): CT, MR, X-ray; nothing in its own /24 is vulnerable.
    # Step 2: imaging reaches PACS (r3).  Step 3: PACS reaches nothing (no rule out of clinical-apps): saturated.
    result = worst_case(MODEL, HOSTS, [XP])
    assert _layers(result.steps) == [{XP}, {CT, MR, XRAY}, {PACS}]
    assert [s.minutes for s in result.steps] == [0, 5, 10]
    assert [s.cumulative for s in result.steps] == [1, 4, 5]
    assert result.saturated
    assert result.vulnerable == 5
    assert result.infected_at == {XP: 0, CT: 1, MR: 1, XRAY: 1, PACS: 2}
    assert result.by_zone == (
        GroupImpact("clinical-apps", 1, 1, 1),
        GroupImpact("imaging", 6, 3, 3),
        GroupImpact("pumps", 3, 1, 1),
    )
    assert result.by_unit == (
        GroupImpact("Emergency", 1, 1, 1),
        GroupImpact("ICU", 3, 1, 1),
        GroupImpact("IT", 1, 1, 1),
        GroupImpact("Radiology", 4, 2, 2),
        GroupImpact(None, 1, 0, 0),
    )
    crit = {g.name: (g.hosts, g.infected) for g in result.by_criticality}
    assert crit == {"diagnostic": (1, 1), "life-sustaining": (2, 0), None: (7, 4)}
    functions = {f.function: f for f in result.functions}
    assert set(functions) == {"imaging", "infusion"}
    imaging = functions["imaging"]
    assert (imaging.devices, imaging.infected, imaging.first_step, imaging.first_minutes) == (7, 4, 1, 5.0)
    assert imaging.fraction == pytest.approx(4 / 7)
    assert not functions["infusion"].stopped
    assert [f.function for f in result.functions_stopped] == ["imaging"]


def test_rule_on_445_only_leaves_139_open() -> None:
    # From X-ray (subnet B): r2 denies 445 to subnet A, so MR (445 only) is out of reach; CT is assumed to serve
    # 139, which falls through to the intra-zone allow.  PACS via r3.  Step 2: CT infects MR from inside A.
    result = worst_case(MODEL, HOSTS, [XRAY])
    assert _layers(result.steps) == [{XRAY}, {CT, PACS}, {MR}]
    only_445 = worst_case(MODEL, HOSTS, [XRAY], parameters=WormParameters(ports=(445,)))
    assert _layers(only_445.steps) == [{XRAY}, {PACS}]


def test_local_subnet_first_and_no_random_scanning() -> None:
    # p_random = 0: only the local /24 falls.  CT infects MR (same /24) at step 1; X-ray (other /24) and PACS are
    # reachable but never scanned, so the run goes on to the last step without saturating.
    result = simulate(MODEL, HOSTS, [CT], parameters=WormParameters(p_random=0.0, steps=3))
    assert _layers(result.steps) == [{CT}, {MR}, set(), set()]
    assert not result.saturated
    # From the XP workstation nothing vulnerable shares its /24: nothing ever falls.
    assert simulate(MODEL, HOSTS, [XP], parameters=LOCAL_ONLY).infected == {XP}


def test_non_vulnerable_seed_still_infects_its_neighbours() -> None:
    # The Linux X-ray is no target, but a seed is infected by assumption: it reaches CT, MR (local), X-ray (intra
    # zone, r2 covers only subnet B as source) and PACS (r3) in one step.
    result = worst_case(MODEL, HOSTS, [XRAY_LINUX])
    assert _layers(result.steps) == [{XRAY_LINUX}, {CT, MR, XRAY, PACS}]
    # An address no host has (a visiting laptop in imaging subnet A) behaves the same.
    laptop = worst_case(MODEL, HOSTS, ["10.1.1.200"])
    assert _layers(laptop.steps) == [{"10.1.1.200"}, {CT, MR, XRAY, PACS}]


def test_seed_zone_is_every_vulnerable_host_of_the_zone() -> None:
    result = worst_case(MODEL, HOSTS, seed_zone="imaging")
    assert _layers(result.steps) == [{CT, MR, XRAY}, {PACS}]
    with pytest.raises(ValueError, match="unknown seed zone"):
        simulate(MODEL, HOSTS, seed_zone="radiology")
    with pytest.raises(ValueError, match="not an IP address"):
        simulate(MODEL, HOSTS, ["ct-01"])


def test_blocking_445_between_zones_contains_the_worm() -> None:
    open_result = worst_case(MODEL, HOSTS, [CT])
    assert open_result.infected == {CT, MR, XRAY, PACS}
    blocked = worst_case(MODEL, HOSTS, [CT], mitigation=Mitigation(block_445_between_zones=True))
    assert blocked.infected == {CT, MR, XRAY}  # the imaging zone only
    assert {g.name for g in blocked.by_zone if g.infected} == {"imaging"}
    assert worst_case(MODEL, HOSTS, [XP], mitigation=Mitigation(block_445_between_zones=True)).infected == {XP}


def test_patch_and_disable_smbv1_what_ifs() -> None:
    # CT without SMBv1 (it has no CVE listed) and MR patched: XP reaches X-ray only, which reaches PACS.
    what_if = Mitigation(disable_smbv1=frozenset({CT}), patched=frozenset({MR}))
    result = worst_case(MODEL, HOSTS, [XP], mitigation=what_if)
    assert _layers(result.steps) == [{XP}, {XRAY}, {PACS}]
    assert result.vulnerable == 3
    everywhere = worst_case(MODEL, HOSTS, [XP], mitigation=Mitigation(disable_smbv1="all"))
    assert everywhere.infected == {XP}
    assert everywhere.vulnerable == 0


def test_dual_homed_host_bridges_zones() -> None:
    # A Windows 7 workstation on clinical-apps (10.3.1.9) and the pump VLAN (10.2.1.99): CT reaches it over r3 at
    # step 1; at step 2 it scans the pump /24 from its second address and infects the XP workstation.
    bridge = _host("10.3.1.9", "Windows 7", "workstation", "ICU", smbv1=True, extra_addresses=("10.2.1.99",))
    result = worst_case(MODEL, (*HOSTS, bridge), [CT])
    assert _layers(result.steps) == [{CT}, {MR, XRAY, PACS, "10.3.1.9"}, {XP}]
    assert XP not in worst_case(MODEL, HOSTS, [CT]).infected


def _flat_hospital(n_subnets: int = 6, per_subnet: int = 5) -> tuple[NetworkModel, list[HostFacts]]:
    model = NetworkModel(zones=(Zone("flat", subnets=("10.9.0.0/16",)),))
    hosts = [
        HostFacts(address=f"10.9.{s}.{h + 1}", os="Windows 7", smbv1=True)
        for s in range(n_subnets)
        for h in range(per_subnet)
    ]
    return model, hosts


def test_same_seed_same_result_and_seeds_differ() -> None:
    model, hosts = _flat_hospital()
    params = WormParameters(p_random=0.05, steps=6, seed=7)
    first = simulate(model, hosts, ["10.9.0.1"], parameters=params)
    again = simulate(model, list(reversed(hosts)), ["10.9.0.1"], parameters=params)
    assert first.steps == again.steps
    assert first.infected_at == again.infected_at
    # Step 1 holds the seed's whole /24 whatever the seed; the random draws decide the rest.
    assert set(first.steps[1].infected) >= {f"10.9.0.{h}" for h in range(2, 6)}
    outcomes = {
        tuple(s.infected for s in simulate(model, hosts, ["10.9.0.1"], parameters=WormParameters(seed=k)).steps)
        for k in range(10)
    }
    assert len(outcomes) > 1


def test_random_scanning_probability_counts_infected_addresses() -> None:
    # One far target: it falls at step 1 with p_random from one infected address, 1 - (1 - p)^2 from two.
    model = NetworkModel(zones=(Zone("flat", subnets=("10.9.0.0/16",)),))
    target = HostFacts(address="10.9.5.5", os="Windows 7", smbv1=True)
    sources = [HostFacts(address="10.9.1.1"), HostFacts(address="10.9.2.1")]
    for seeds, expected in ((["10.9.1.1"], 0.3), (["10.9.1.1", "10.9.2.1"], 0.51)):
        hits = sum(
            "10.9.5.5"
            in simulate(model, [target, *sources], seeds, parameters=WormParameters(p_random=0.3, seed=k, steps=1))
            .steps[1]
            .infected
            for k in range(2000)
        )
        assert hits / 2000 == pytest.approx(expected, abs=0.04)


def _random_network(rng: random.Random, bound: bool = False) -> tuple[NetworkModel, list[HostFacts]]:
    # Several subnets per zone, nested ones (z0's /24 inside its /23, z4 inside z3's /23), so the same-subnet step
    # of NetworkModel.decide (no firewall inside one subnet) matters as well as the rules.
    zones = (
        Zone("z0", subnets=("10.0.0.0/23", "10.0.1.0/24")),
        Zone("z1", subnets=("10.1.0.0/23",)),
        Zone("z2", subnets=("10.2.0.0/23", "10.2.1.0/28")),
        Zone("z3", subnets=("10.3.0.0/23",)),
        Zone("z4", subnets=("10.3.1.0/24",)),
    )
    refs = ["any", "z0", "z1", "z2", "z3", "z4", "10.0.0.0/24", "10.1.1.0/24", "10.2.0.7", "10.3.0.0/16", "10.0.1.3",
            "10.0.1.0/24"]  # fmt: skip
    ports = [(), (PortRange(445, 445),), (PortRange(139, 139),), (PortRange(100, 200),), (PortRange(80, 80),)]
    rules = tuple(
        Rule(
            rng.choice(("allow", "allow", "deny")),
            (rng.choice(refs),),
            tuple(rng.sample(refs, rng.randint(1, 2))),
            rng.choice(("tcp", "any", "udp")),
            rng.choice(ports),
            order=i,
        )
        for i in range(24 if bound else 12)
    )
    devices: tuple[FilterDevice, ...] = ()
    points: tuple[EnforcementPoint, ...] = ()
    if bound:  # a core switch routing z0-z2 and z3 (z4 behind a /24 route), ACLs bound in and out
        devices = (FilterDevice("core", (Route("10.0.0.0/23", "v0"), Route("10.1.0.0/23", "v1"),
                                         Route("10.2.0.0/23", "v2"), Route("10.3.0.0/23", "v3"),
                                         Route("10.3.1.0/24", "v4"))),)  # fmt: skip
        points = tuple(
            EnforcementPoint(f"core {iface} {way}", "core", iface, way, default_action=rng.choice(("deny", "allow")))
            for iface, way in [("v0", "in"), ("v1", "in"), ("v2", "out"), ("v3", "in"), ("v4", "out"), ("*", "in")]
        )
        names = [point.name for point in points] + ([""] if rng.random() < 0.5 else [])
        rules = tuple(replace(rule, point=rng.choice(names)) for rule in rules)
    model = NetworkModel(
        zones=zones, rules=rules, default_action=rng.choice(("allow", "deny")),
        intra_zone=rng.choice(("allow", "allow", "deny")), devices=devices, points=points,
    )  # fmt: skip
    hosts = []
    for n in range(30):
        address = f"10.{rng.randrange(5)}.{rng.randrange(2)}.{rng.randint(1, 9)}"
        extra = (f"10.{rng.randrange(4)}.{rng.randrange(2)}.{rng.randint(20, 29)}",) if n % 7 == 0 else ()
        services = rng.choice(((), (("tcp", 445),), (("tcp", 139),), (("tcp", 80),)))
        hosts.append(
            HostFacts(
                address=address,
                os=rng.choice(("Windows 7", "Windows XP", "Windows 10", "Linux", None)),
                smbv1=rng.random() < 0.7,
                services=services,
                extra_addresses=extra,
            )
        )
    return model, hosts


def _bfs_reference(
    model: NetworkModel, hosts: list[HostFacts], seeds: list[str], block: bool = False
) -> list[set[str]]:
    """Independent: one decide() per (address, address, port) pair, networkx BFS layers."""
    first: dict[str, HostFacts] = {}  # the first host with an address wins
    for h in hosts:
        first.setdefault(h.address, h)
    graph = nx.DiGraph()
    graph.add_nodes_from(first)
    for v in first.values():
        windows = (v.os or "").startswith("Windows")
        exploitable = v.smbv1 or bool(set(v.vulnerabilities) & MS17_010)
        served = [p for p in (445, 139) if not v.services or ("tcp", p) in v.services]
        if not (windows and exploitable and served):
            continue
        for u in first.values():
            if u is v:
                continue
            if any(
                model.decide(a, b, "tcp", p).action == "allow"
                and (not block or model.zone_of(a) is not None and model.zone_of(a) == model.zone_of(b))
                for a in (u.address, *u.extra_addresses)
                for b in (v.address, *v.extra_addresses)
                for p in served
            ):
                graph.add_edge(u.address, v.address)
    return [set(layer) for layer in nx.bfs_layers(graph, seeds)]


@pytest.mark.parametrize("bound", [False, True])
@pytest.mark.parametrize("block", [False, True])
@pytest.mark.parametrize("case", range(12))
def test_worst_case_equals_networkx_bfs(case: int, block: bool, bound: bool) -> None:
    rng = random.Random(case)
    model, hosts = _random_network(rng, bound)
    seeds = sorted({h.address for h in rng.sample(hosts, 1)})
    result = worst_case(model, hosts, seeds, mitigation=Mitigation(block_445_between_zones=block))
    assert _layers(result.steps) == _bfs_reference(model, hosts, seeds, block)
    assert result.saturated


def test_a_rule_cannot_stop_the_worm_inside_one_subnet() -> None:
    # The core firewall's "deny 10.10.0.0/16 tcp/445" (the zone's own subnet as source) sits between subnets, not
    # inside one: A, B and C share 10.10.0.0/16, so A reaches both at step 1 (the intra-zone allow).  C moved into
    # its own nested subnet 10.10.9.0/24 of the same zone is behind the firewall: the rule applies and C is safe.
    # With intra_zone "deny" (private VLAN / host isolation) nothing spreads inside the subnet.
    a, b, c = "10.10.4.4", "10.10.4.5", "10.10.9.9"
    deny = Rule("deny", ("10.10.0.0/16",), ("any",), "tcp", (PortRange(445, 445),), order=1)
    flat = NetworkModel(zones=(Zone("ent", "enterprise", ("10.10.0.0/16",)),), rules=(deny,))
    hosts = [HostFacts(x, os="Windows 7", smbv1=True, services=(("tcp", 445),)) for x in (a, b, c)]
    assert _layers(worst_case(flat, hosts, [a]).steps) == [{a}, {b, c}]
    nested = replace(flat, zones=(Zone("ent", "enterprise", ("10.10.0.0/16", "10.10.9.0/24")),))
    assert _layers(worst_case(nested, hosts, [a]).steps) == [{a}, {b}]
    isolated = replace(flat, intra_zone="deny")
    assert _layers(worst_case(isolated, hosts, [a]).steps) == [{a}]
