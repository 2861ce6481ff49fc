"""Attack paths on a hand-built hospital: guest Wi-Fi -> Windows 7 workstation (MS17-010) -> infusion pump (telnet).

Expected paths and scores are derived by hand from the example and the catalog's likelihoods and impacts.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from wardwatch.domain.attack_paths import (
    AttackPath,
    catalog_from_mapping,
    entry_zones,
    find_paths,
    packaged_catalog,
)
from wardwatch.domain.net_reach import Reachability
from wardwatch.domain.netmodel import HostFacts, NetworkModel, ObservedFlow, PortRange, Rule, Zone

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
MONITOR = HostFacts(
    "10.3.0.30", name="MON-1", device_type="patient-monitor", criticality="monitoring",
    services=(("tcp", 23),), vulnerabilities=("default_credentials",),
)  # fmt: skip
HOSTS = [WORKSTATION, PUMP, MONITOR]

CATALOG = packaged_catalog()
KEV = CATALOG.exploits["CVE-2017-0144"].likelihood
CREDENTIAL = CATALOG.exploits["default_credentials"].likelihood


def hospital(*rules: Rule) -> NetworkModel:
    """The small example: guest, enterprise and pump zones, default deny, intra-zone allow."""
    return NetworkModel(zones=(GUEST, ENTERPRISE, PUMPS), rules=rules)


def route(path: AttackPath) -> tuple[str, tuple[str, ...]]:
    """The entry zone and the addresses a path steps on."""
    return path.entry, tuple(hop.target_host.address for hop in path.hops if hop.target_host)


def test_catalog_encodes_the_documented_levels() -> None:
    levels = {"kev": 0.9, "poc": 0.6, "credential": 0.5, "weakness": 0.3}
    assert (levels["kev"], levels["credential"]) == (KEV, CREDENTIAL)
    assert {CATALOG.exploits[c].services for c in ("CVE-2017-0143", "CVE-2017-0144", "CVE-2020-0796")} == {
        (("tcp", 445),)
    }
    assert CATALOG.exploits["CVE-2019-0708"].services == (("tcp", 3389),)
    assert CATALOG.impact["life-sustaining"] > CATALOG.impact["life-supporting"] > CATALOG.impact["therapeutic"]
    assert CATALOG.impact["therapeutic"] > CATALOG.impact["monitoring"] > CATALOG.impact["diagnostic"]


def test_host_exploits_keep_the_likeliest_per_served_service() -> None:
    host = HostFacts(
        "10.1.0.5", services=(("tcp", 445),), vulnerabilities=("cve-2017-0147", "CVE-2017-0144", "CVE-2019-0708"),
        smbv1=True,
    )  # fmt: skip

    found = CATALOG.host_exploits(host)

    # BlueKeep needs tcp/3389, which this host does not serve; on 445 the KEV exploit beats the PoC and SMBv1.
    assert {service: exploit.id for service, exploit in found.items()} == {("tcp", 445): "CVE-2017-0144"}
    assert CATALOG.host_exploits(HostFacts("10.1.0.6", services=(("tcp", 445),), smbv1=True))[("tcp", 445)].id == (
        "smbv1"
    )


def test_entry_zones_are_marked_or_of_an_entry_kind() -> None:
    vendor = Zone("jump", "other", ("10.8.0.0/16",), entry_point=True)
    reach = Reachability.build(NetworkModel(zones=(GUEST, ENTERPRISE, PUMPS, vendor)), [])

    assert entry_zones(reach, CATALOG) == ["guest", "enterprise", "jump"]


def test_guest_to_workstation_to_pump_explained_hop_by_hop() -> None:
    reach = Reachability.build(hospital(MISTAKE, ENTERPRISE_TO_PUMPS), HOSTS)

    paths = find_paths(reach, HOSTS, sources=["guest"], targets="life-sustaining", top=10)

    assert [route(p) for p in paths] == [("guest", ("10.1.0.10", "10.3.0.20"))]
    path = paths[0]
    assert path.likelihood == pytest.approx(KEV * CREDENTIAL)
    assert path.impact == CATALOG.impact["life-sustaining"]
    assert path.score == pytest.approx(KEV * CREDENTIAL * CATALOG.impact["life-sustaining"])
    first, second = path.hops
    assert (first.service, first.exploit.id, first.source_host) == (("tcp", 445), "CVE-2017-0144", None)
    assert first.source == "zone 'guest' (any host)"
    assert "guest-smb" in first.evidence and "core-fw.txt:12" in first.evidence
    assert (second.service, second.exploit.id, second.source_host) == (("tcp", 23), "default_credentials", WORKSTATION)
    assert "ent-pumps" in second.evidence and "core-fw.txt:20" in second.evidence
    lines = path.explain()
    assert len(lines) == 3
    assert "10.3.0.20" in lines[0] and "life-sustaining" in lines[0]
    assert "zone 'guest'" in lines[1] and "10.1.0.10 Windows 7 workstation" in lines[1] and "tcp/445" in lines[1]
    assert "CVE-2017-0144" in lines[1] and "tcp/23" in lines[2]


def test_removing_the_mistaken_rule_removes_the_guest_path() -> None:
    reach = Reachability.build(hospital(ENTERPRISE_TO_PUMPS), HOSTS)

    assert find_paths(reach, HOSTS, sources=["guest"]) == []
    remaining = find_paths(reach, HOSTS, targets="life-sustaining")
    # A phished enterprise workstation still reaches the pump: directly, or through the Windows 7 host.
    assert [route(p) for p in remaining] == [("enterprise", ("10.3.0.20",)), ("enterprise", ("10.1.0.10", "10.3.0.20"))]


def test_ranking_by_likelihood_times_impact() -> None:
    reach = Reachability.build(hospital(MISTAKE, ENTERPRISE_TO_PUMPS), HOSTS)

    paths = find_paths(reach, HOSTS, top=3, per_target=3)

    # The pump (impact 1.0) first: enterprise directly (cred), then through the workstation (kev x cred).  The
    # workstation is reached as easily from guest as from enterprise; the zone listed first in the model wins the
    # tie.  Then the monitor (impact 0.4) directly from enterprise (cred x 0.4 beats kev x cred x 0.4).
    assert [(route(p), p.target.name) for p in paths] == [
        (("enterprise", ("10.3.0.20",)), "PUMP-1"),
        (("guest", ("10.1.0.10", "10.3.0.20")), "PUMP-1"),
        (("enterprise", ("10.3.0.30",)), "MON-1"),
    ]
    assert [p.score for p in paths] == pytest.approx(
        [CREDENTIAL, KEV * CREDENTIAL, CREDENTIAL * CATALOG.impact["monitoring"]]
    )
    assert len(find_paths(reach, HOSTS, per_target=1, targets="life-sustaining")) == 1
    # One target kept (the most critical); its paths through distinct previous steps: enterprise, the workstation.
    assert [p.target.name for p in find_paths(reach, HOSTS, max_targets=1)] == ["PUMP-1"] * 2
    # Enterprise on its own still finds the way through the workstation (intra-zone SMB, then the pump rule).
    own = find_paths(reach, HOSTS, sources=["enterprise"], targets="life-sustaining")
    assert [route(p) for p in own] == [("enterprise", ("10.3.0.20",)), ("enterprise", ("10.1.0.10", "10.3.0.20"))]
    # Was "same zone 'enterprise'": the enterprise hosts share one subnet with the workstation, so the hop crosses no
    # firewall and the evidence now says so.
    assert "same subnet 10.1.0.0/16 of zone 'enterprise'" in own[1].hops[0].evidence


def test_a_dual_homed_host_bridges_zones() -> None:
    bridge = HostFacts(
        "10.1.0.50", name="MOD-WS", os="Windows 7", services=(("tcp", 445),), vulnerabilities=("CVE-2017-0143",),
        extra_addresses=("10.3.0.50",),
    )  # fmt: skip
    hosts = [bridge, PUMP]
    reach = Reachability.build(hospital(MISTAKE), hosts)  # no enterprise -> pumps rule at all

    paths = find_paths(reach, hosts, sources=["guest"], targets="life-sustaining")

    assert [route(p) for p in paths] == [("guest", ("10.1.0.50", "10.3.0.20"))]
    assert "same subnet 10.3.0.0/16 of zone 'pumps'" in paths[0].hops[1].evidence  # was "same zone": one subnet


def test_observed_flow_stands_in_where_no_rule_covers_the_pair() -> None:
    unzoned_pump = HostFacts(
        "192.168.7.7", criticality="life-sustaining", services=(("tcp", 23),), vulnerabilities=("default_credentials",)
    )
    twin = HostFacts("10.1.0.9", os="Windows 7", services=(("tcp", 445),), vulnerabilities=("CVE-2017-0144",))
    hosts = [twin, WORKSTATION, unzoned_pump]  # the twin shares the workstation's class and comes first
    flow = ObservedFlow("10.1.0.10", "192.168.7.7", "tcp", 23, "telnet", 12)

    without = Reachability.build(hospital(MISTAKE), hosts)
    with_flow = Reachability.build(hospital(MISTAKE), hosts, [flow])

    assert find_paths(without, hosts, sources=["guest"], targets="life-sustaining") == []
    paths = find_paths(with_flow, hosts, sources=["guest"], targets="life-sustaining")
    assert [route(p) for p in paths] == [("guest", ("10.1.0.10", "192.168.7.7"))]
    assert "observed flow 10.1.0.10 -> 192.168.7.7 tcp/23" in paths[0].hops[1].evidence
    # Only the flow's client is known to reach the pump: the path holds that host, not its twin.
    assert paths[0].hops[0].target_host is WORKSTATION and paths[0].hops[1].source_host is WORKSTATION


def test_identical_hosts_share_one_class_and_the_path_says_so() -> None:
    clones = [
        HostFacts(f"10.1.0.{i}", os="Windows 7", services=(("tcp", 445),), vulnerabilities=("CVE-2017-0144",))
        for i in (11, 12, 13)
    ]
    hosts = [*clones, PUMP]
    reach = Reachability.build(hospital(MISTAKE, ENTERPRISE_TO_PUMPS), hosts)

    paths = find_paths(reach, hosts, sources=["guest"], targets="life-sustaining")

    assert len(paths) == 1
    assert paths[0].hops[0].target.endswith("(or any of 2 like it)")
    assert paths[0].hops[1].source.endswith("(or any of 2 like it)")


def test_unknown_entry_zone_and_bad_catalog_are_refused() -> None:
    reach = Reachability.build(hospital(), HOSTS)
    with pytest.raises(ValueError, match="unknown entry zone"):
        find_paths(reach, HOSTS, sources=["wifi"])
    document = {
        "version": "x", "likelihood": {"kev": 0.9}, "impact": {}, "unknown_impact": 0.1, "entry_kinds": [],
        "cves": {"CVE-1": {"name": "n", "services": ["tcp/445"], "maturity": "rumour"}},
    }  # fmt: skip
    with pytest.raises(ValueError, match=r"cves\.CVE-1: maturity 'rumour'"):
        catalog_from_mapping(document)


def test_a_windows_host_never_seen_serving_is_assumed_to_serve_smb_and_rdp() -> None:
    silent = replace(WORKSTATION, services=())
    assert set(CATALOG.host_exploits(silent)) == {("tcp", 445)}  # MS17-010 needs SMB; the assumption provides it
    assert CATALOG.host_exploits(replace(silent, os="Linux 4.19")) == {}  # no assumption for other systems
    seen_elsewhere = replace(WORKSTATION, services=(("tcp", 80),))
    assert CATALOG.host_exploits(seen_elsewhere) == {}  # seen serving, but not SMB: no assumption
    paths = find_paths(Reachability.build(hospital(MISTAKE, ENTERPRISE_TO_PUMPS), [silent, PUMP, MONITOR]),
                       [silent, PUMP, MONITOR], sources=["guest"])  # fmt: skip
    assert any(path.hops[0].target_host == silent for path in paths)


def test_a_rule_cannot_cut_a_hop_inside_one_subnet() -> None:
    # "deny any -> the workstation tcp/445" first: it stops guest (the hop crosses the firewall), but the enterprise
    # hosts share the workstation's subnet 10.1.0.0/16 and reach it directly, so enterprise's way through the
    # workstation to the pump survives (before the same-subnet fix the rule would have cut it too).
    deny_ws = Rule("deny", ("any",), ("10.1.0.10",), "tcp", (PortRange(445, 445),), order=0, name="deny-ws-smb")
    reach = Reachability.build(hospital(deny_ws, MISTAKE, ENTERPRISE_TO_PUMPS), HOSTS)
    assert find_paths(reach, HOSTS, sources=["guest"], targets="life-sustaining") == []
    own = find_paths(reach, HOSTS, sources=["enterprise"], targets="life-sustaining")
    assert [route(p) for p in own] == [("enterprise", ("10.3.0.20",)), ("enterprise", ("10.1.0.10", "10.3.0.20"))]
    assert own[1].hops[0].rule is None and "no firewall in between" in own[1].hops[0].evidence
