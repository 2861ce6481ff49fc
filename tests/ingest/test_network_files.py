"""Network model import: the YAML model, iptables-save, Cisco IOS/ASA ACLs, and combining them.

Expectations are worked out by hand from the fixtures in tests/fixtures/network (a hospital core firewall, a
distribution switch, a vendor-access ASA and the zone model), not copied from the readers' output.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wardwatch.domain.netmodel import ANY, Decision, NetworkModel, PortRange, Rule
from wardwatch.ingest.cisco_acl import read_cisco_acls
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.iptables import read_iptables
from wardwatch.ingest.network_files import detect_network_kind, read_network
from wardwatch.ingest.netyaml import read_network_yaml

NET = Path(__file__).parents[1] / "fixtures" / "network"
YAML, CORE_FW, DIST_SW, ASA = NET / "network.yaml", NET / "core-fw.rules", NET / "dist-sw01.cfg", NET / "vendor-asa.cfg"

GUEST, PUMP, MONITOR, BIOMED_PC, VENDOR, EHR_WS = (
    "10.90.1.5",
    "10.30.1.7",
    "10.40.1.5",
    "10.60.0.20",
    "10.70.0.20",
    "10.10.4.4",
)


def _ports(rule: Rule) -> list[tuple[int, int]]:
    return [(p.low, p.high) for p in rule.ports]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _iptables(tmp_path: Path, body: str, policy: str = "DROP", chains: str = "") -> Path:
    text = f"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD {policy} [0:0]\n:OUTPUT ACCEPT [0:0]\n{chains}{body}COMMIT\n"
    return _write(tmp_path, "fw.rules", text)


# -- YAML ------------------------------------------------------------------------------------------------------


def test_yaml_fixture_zones_rules_conduits_placement() -> None:
    model = read_network_yaml(YAML)
    assert [z.name for z in model.zones][:3] == ["enterprise", "security", "clinical-apps"]
    guest = model.zone("guest")
    assert guest is not None
    assert (guest.subnets, guest.vlans, guest.entry_point, guest.kind) == (("10.90.0.0/16",), (900,), True, "guest")
    assert model.zone("security") is not None and model.zone("security").entry_point is False  # type: ignore[union-attr]
    first, second = model.rules
    assert first.source == ("biomed",) and first.destination == ("life-sustaining",)
    assert _ports(first) == [(22, 22), (443, 443), (8443, 8443)]  # ssh, https, 8443
    assert (first.order, first.origin, first.name) == (0, "network.yaml rules[0]", "biomed-manages-pumps")
    assert second.source == ("guest",) and second.destination == (ANY,) and _ports(second) == [(3389, 3389)]
    assert second.action == "deny" and second.origin == "network.yaml rules[1]"
    dicom = model.conduits[1]
    assert (dicom.source_zone, dicom.protocol, _ports_of(dicom.ports)) == (
        "imaging",
        "tcp",
        [(104, 104), (11112, 11112)],
    )
    placement = {p.category: p.zones for p in model.placement}
    assert placement["ventilator"] == ("life-sustaining",)  # a single zone written as text
    assert placement["workstation"] == ("enterprise", "biomed")
    assert (model.default_action, model.intra_zone) == ("deny", "allow")
    assert model.zone_of("10.90.200.1") == "guest"


def _ports_of(ports: tuple[PortRange, ...]) -> list[tuple[int, int]]:
    return [(p.low, p.high) for p in ports]


def test_yaml_rule_references_and_port_forms(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "n.yaml",
        """
zones:
  - {name: a, subnets: [10.1.0.0/16]}
default: allow
intra_zone: deny
rules:
  - {action: deny, from: [a, 192.168.1.7, 172.16.0.0/12], to: [any, a], protocol: udp, ports: ["5000-5010", "53", 161]}
""",
    )
    model = read_network_yaml(path)
    (rule,) = model.rules
    assert rule.source == ("a", "192.168.1.7", "172.16.0.0/12")
    assert rule.destination == (ANY,)  # any swallows the rest
    assert _ports(rule) == [(5000, 5010), (53, 53), (161, 161)]
    assert (model.default_action, model.intra_zone) == ("allow", "deny")
    assert model.decide("10.1.2.3", "10.1.9.9", "tcp", 80).action == "deny"  # intra_zone deny, no rule for tcp
    # One subnet: the udp rule never sees the packet (no firewall in between); intra_zone decides, with no rule.
    assert model.decide("10.1.2.3", "10.1.9.9", "udp", 161) == Decision("deny", None)
    assert model.decide("10.1.2.3", "8.8.8.8", "udp", 161) == Decision("deny", rule)  # leaves the subnet: the rule


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("rules:\n  - {action: allow, ports: [80, hl8]}\n", ["rules[0].ports[1]", "'hl8'", "hl7"]),
        ("rules:\n  - {action: allow, ports: ['90-80']}\n", ["rules[0].ports[0]"]),
        (
            "zones: [{name: a}]\nrules:\n  - {action: allow, from: [a]}\n  - {action: deny, to: [b]}\n",
            ["rules[1].to[0]", "unknown zone 'b'", "zones: a"],
        ),
        ("rules:\n  - {action: allow, from: any, prots: 5}\n", ["rules[0]", "unknown key 'prots'"]),
        ("rules:\n  - {action: allow, protocol: icmp, ports: [1]}\n", ["rules[0].ports", "ICMP has no ports"]),
        ("rules:\n  - {from: any}\n", ["rules[0].action", "is missing"]),
        ("rules:\n  - {action: permit}\n", ["rules[0].action", "allow, deny"]),
        ("zones:\n  - {name: a, subnets: [10.1.1.5/24]}\n", ["zones[0].subnets[0]", "write 10.1.1.0/24"]),
        ("zones:\n  - {name: a}\n  - {name: a}\n", ["zones[1].name", "defined twice"]),
        ("zones:\n  - {name: a, vlans: [5000]}\n", ["zones[0].vlans[0]", "VLAN"]),
        ("zones:\n  - {name: 10.0.0.0/8}\n", ["zones[0].name", "cannot be a zone name"]),
        ("conduits:\n  - {from: x, to: y}\n", ["conduits[0].from", "unknown zone 'x'"]),
        ("placement:\n  infusion-pump: []\n", ["placement.infusion-pump", "no zones"]),
        ("- just\n- a list\n", ["should be a mapping"]),
        ("zonez: []\n", ["unknown key 'zonez'"]),
        ("rules:\n  - {action: allow\n", ["not valid YAML", "row"]),
        ("default: maybe\n", ["default", "'maybe'"]),
    ],
)
def test_yaml_errors_name_the_place(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = _write(tmp_path, "bad.yaml", text)
    with pytest.raises(IngestError) as caught:
        read_network_yaml(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    ports = ", ".join(["1"] * 1000)
    aliases = "\n".join(["  - *r"] * 2000)
    path = _write(tmp_path, "bomb.yaml", f"rules:\n  - &r {{action: allow, ports: [{ports}]}}\n{aliases}\n")
    with pytest.raises(IngestError, match="more than 200,000 entries"):
        read_network_yaml(path)


# -- iptables --------------------------------------------------------------------------------------------------


def test_iptables_core_firewall() -> None:
    fw = read_iptables(CORE_FW)
    assert fw.default_action == "deny"  # :FORWARD DROP
    assert fw.origin == "core-fw.rules"
    rules = fw.rules
    # FORWARD line 23 jumps to GUEST (4 rules, all limited to the guest source), line 24 to MEDDEV (3 rules to
    # the pump network, then RETURN), 8 FORWARD rules (2 conntrack-only ones skipped), LOGDROP's DROP (LOG skipped).
    assert len(rules) == 4 + 3 + 7 + 1
    assert [r.order for r in rules] == list(range(len(rules)))
    guest = rules[:4]
    assert all(r.source == ("10.90.0.0/16",) and r.name == "GUEST" for r in guest)
    assert (guest[0].action, guest[0].destination, guest[0].origin) == ("deny", ("10.0.0.0/8",), "core-fw.rules:33")
    assert (guest[1].action, guest[1].protocol, _ports(guest[1])) == ("allow", "tcp", [(80, 80), (443, 443)])
    assert (guest[3].action, guest[3].destination, guest[3].protocol) == ("deny", (ANY,), "any")
    assert "via FORWARD line 23" in guest[0].description
    pump_server, biomed, smb = rules[4:7]
    assert pump_server.source == ("10.20.3.10",) and pump_server.destination == ("10.30.0.0/16",)
    assert "pump server pushes drug library" in pump_server.description
    assert _ports(biomed) == [(22, 22), (443, 443)]
    # ! -s 10.20.0.0/16: every IPv4 network except the clinical-apps /16, to the pumps, tcp/445
    assert smb.action == "deny" and smb.destination == ("10.30.0.0/16",) and _ports(smb) == [(445, 445)]
    assert "10.20.0.0/16" not in smb.source and "10.21.0.0/16" in smb.source and "0.0.0.0/5" in smb.source
    hl7 = rules[7]
    assert (hl7.source, hl7.destination, hl7.protocol, _ports(hl7)) == (
        ("10.40.0.0/16",),
        ("10.20.1.20",),
        "tcp",
        [(2575, 2575)],
    )
    assert hl7.description == "HL7 ORU from monitors to engine" and hl7.name == "FORWARD"
    assert _ports(rules[8]) == [(104, 104), (11112, 11112)]
    assert rules[10].action == "deny" and rules[10].origin == "core-fw.rules:28"  # REJECT
    vendor = rules[12]
    assert vendor.source == ("10.70.0.0/24",) and vendor.protocol == "any" and "in vpn0" in vendor.description
    icmp = rules[13]
    assert icmp.protocol == "icmp" and "--icmp-type 8" in icmp.description  # kept, broader than written
    assert rules[-1].action == "deny" and rules[-1].source == (ANY,) and rules[-1].name == "LOGDROP"
    notes = "\n".join(fw.notes)
    assert "core-fw.rules:21" in notes and "ESTABLISHED" in notes
    assert "core-fw.rules:22" in notes and "INVALID" in notes
    assert "core-fw.rules:37" in notes and "LOG" in notes
    assert not any(r.origin in ("core-fw.rules:18", "core-fw.rules:20") for r in rules)  # INPUT is not between zones


def test_iptables_decisions() -> None:
    fw = read_iptables(CORE_FW)
    model = NetworkModel(rules=fw.rules, default_action="allow")  # every packet is decided by a rule anyway
    guest_smb = model.decide(GUEST, PUMP, "tcp", 445)
    assert guest_smb.action == "deny" and guest_smb.rule is not None and guest_smb.rule.origin == "core-fw.rules:33"
    assert model.decide(GUEST, "8.8.8.8", "tcp", 443).action == "allow"
    monitor_smb = model.decide(MONITOR, PUMP, "tcp", 445)
    assert monitor_smb.rule is not None and monitor_smb.rule.origin == "core-fw.rules:41"
    clinical_smb = model.decide("10.20.5.5", PUMP, "tcp", 445)  # not under ! -s 10.20.0.0/16: falls to LOGDROP
    assert clinical_smb.action == "deny" and clinical_smb.rule is not None
    assert clinical_smb.rule.origin == "core-fw.rules:38"
    assert model.decide(MONITOR, "10.20.1.20", "tcp", 2575).action == "allow"
    assert model.decide(MONITOR, "10.20.1.21", "tcp", 2575).action == "deny"
    assert model.decide(VENDOR, PUMP, "tcp", 8443).action == "allow"  # the TEMP vendor rule
    assert model.decide(EHR_WS, "10.50.3.3", "tcp", 445).rule.origin == "core-fw.rules:28"  # type: ignore[union-attr]


def test_iptables_jump_conditions_are_intersected(tmp_path: Path) -> None:
    path = _iptables(
        tmp_path,
        chains=":WEB - [0:0]\n",
        body=(
            "-A FORWARD -s 10.1.0.0/16 -p tcp -m multiport --dports 1:1000 -j WEB\n"
            "-A WEB -s 10.1.2.0/24 -p tcp --dport 443:8443 -j ACCEPT\n"
            "-A WEB -s 10.2.0.0/16 -j ACCEPT\n"  # disjoint from the jump's source: no packet gets here
            "-A WEB -p udp -j ACCEPT\n"  # the jump only sends tcp
            "-A WEB -j REJECT\n"
        ),
    )
    fw = read_iptables(path)
    assert [(r.action, r.source, r.protocol, _ports(r)) for r in fw.rules] == [
        ("allow", ("10.1.2.0/24",), "tcp", [(443, 1000)]),
        ("deny", ("10.1.0.0/16",), "tcp", [(1, 1000)]),
    ]


def test_iptables_negation_ranges_and_unmodelled_conditions(tmp_path: Path) -> None:
    path = _iptables(
        tmp_path,
        policy="ACCEPT",
        body=(
            "-A FORWARD -p tcp -m tcp ! --dport 22 -j DROP\n"
            "-A FORWARD -m iprange --src-range 10.0.0.5-10.0.0.8 -d 10.9.9.9/32 -j ACCEPT\n"
            "-A FORWARD -p udp -m udp --sport 53 -j ACCEPT\n"
            "-A FORWARD -p udp -m udp --sport 53 -j DROP\n"
            "-A FORWARD -p gre -j ACCEPT\n"
            "-A FORWARD ! -p tcp -j DROP\n"
            "-A FORWARD -d 10.0.0.0/255.255.0.0 -p tcp -m tcp --syn -j ACCEPT\n"
        ),
    )
    fw = read_iptables(path)
    assert fw.default_action == "allow"
    not_ssh, hosts, dns = fw.rules[:3]
    assert _ports(not_ssh) == [(0, 21), (23, 65535)]
    assert hosts.source == ("10.0.0.5", "10.0.0.6/31", "10.0.0.8") and hosts.destination == ("10.9.9.9",)
    assert dns.action == "allow" and "--sport 53" in dns.description
    assert fw.rules[3].destination == ("10.0.0.0/16",) and len(fw.rules) == 4
    notes = "\n".join(fw.notes)
    assert "fw.rules:8: deny skipped" in notes and "gre" in notes and "! -p tcp" in notes


def test_iptables_ip6tables(tmp_path: Path) -> None:
    path = _iptables(tmp_path, body="-A FORWARD -s 2001:db8:10::/48 -d 2001:db8:20::5/128 -p ipv6-icmp -j ACCEPT\n")
    (rule,) = read_iptables(path).rules
    assert (rule.source, rule.destination, rule.protocol) == (("2001:db8:10::/48",), ("2001:db8:20::5",), "icmp")


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("-A FORWARD -s 10.1.0.0/16 -j\n", ["row 5", "-j needs a value"]),
        ("-A FORWARD -s 10.1.0.0/16 -d 10.4 -j ACCEPT\n", ["row 5", "--destination 10.4"]),
        ("-A FORWARD -p tcp --dport 70000 -j ACCEPT\n", ["row 5", "not a port"]),
        ("-A FORWARD -x foo -j ACCEPT\n", ["row 5", "unknown option -x"]),
        ("-A NOPE -j ACCEPT\n", ["row 5", "NOPE is not declared"]),
        ("-A FORWARD -j NOWHERE\n", ["row 5", "unknown target NOWHERE"]),
        ('-A FORWARD -m comment --comment "unterminated -j ACCEPT\n', ["row 5", "truncated"]),
        ("iptables -A FORWARD -j ACCEPT\n", ["row 5", "not iptables-save syntax"]),
        ("-A FORWARD -d 10.0.0.0/255.0.255.0 -j ACCEPT\n", ["row 5"]),
    ],
)
def test_iptables_bad_lines(tmp_path: Path, body: str, fragments: list[str]) -> None:
    path = _iptables(tmp_path, body)
    with pytest.raises(IngestError) as caught:
        read_iptables(path)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_iptables_chain_loop(tmp_path: Path) -> None:
    path = _iptables(
        tmp_path, chains=":A - [0:0]\n:B - [0:0]\n", body=("-A FORWARD -j A\n-A A -p tcp -j B\n-A B -j A\n")
    )
    with pytest.raises(IngestError, match=r"row 9.*chain loop A -> B -> A"):
        read_iptables(path)


def test_iptables_exponential_jumps_are_capped(tmp_path: Path) -> None:
    chains = "".join(f":C{i} - [0:0]\n" for i in range(30))
    body = "-A FORWARD -j C0\n" + "".join(f"-A C{i} -j C{i + 1}\n-A C{i} -j C{i + 1}\n" for i in range(29))
    body += "-A C29 -j ACCEPT\n"
    with pytest.raises(IngestError, match="visits more than 100,000 rules"):
        read_iptables(_iptables(tmp_path, body, chains=chains))


def test_iptables_truncated_file(tmp_path: Path) -> None:
    text = CORE_FW.read_text()
    path = _write(tmp_path, "cut.rules", text[: text.index("-A GUEST -p tcp")])
    with pytest.raises(IngestError, match=r"row 11: .*\*filter has no COMMIT"):
        read_iptables(path)


# -- Cisco -----------------------------------------------------------------------------------------------------


def test_ios_distribution_switch() -> None:
    acls = read_cisco_acls(DIST_SW)
    rules = acls.rules
    summary = [(r.name, r.action, r.source, r.destination, r.protocol, _ports(r), r.origin) for r in rules]
    assert summary == [
        ("MONITORING-IN", "allow", ("10.40.0.0/16",), ("10.20.1.20",), "tcp", [(2575, 2575)], "dist-sw01.cfg:28"),
        ("MONITORING-IN", "allow", ("10.40.0.0/16",), ("10.5.0.10",), "udp", [(53, 53)], "dist-sw01.cfg:30"),
        ("MONITORING-IN", "allow", (ANY,), ("10.5.0.11",), "udp", [(123, 123)], "dist-sw01.cfg:31"),
        ("MONITORING-IN", "deny", (ANY,), (ANY,), "tcp", [(445, 445)], "dist-sw01.cfg:34"),  # seq 40 before 50
        ("MONITORING-IN", "deny", (ANY,), (ANY,), "tcp", [(135, 139)], "dist-sw01.cfg:33"),
        ("MONITORING-IN", "deny", (ANY,), (ANY,), "any", [], "dist-sw01.cfg:36"),
        # standard ACL 10 (line 39) is bound to no interface (only vty access-class and SNMP use it): left out
        (
            "110",
            "allow",
            ("10.60.0.0/24",),
            ("10.30.0.0/16",),
            "tcp",
            [(22, 22), (80, 80), (443, 443)],
            "dist-sw01.cfg:41",
        ),
        ("110", "allow", ("10.60.0.0/24",), (ANY,), "icmp", [], "dist-sw01.cfg:42"),
        ("110", "deny", (ANY,), (ANY,), "any", [], "dist-sw01.cfg:44"),
    ]
    assert [r.order for r in rules] == list(range(9))
    assert rules[0].description == "Central stations send HL7 to the interface engine"
    assert rules[1].description == "DNS and NTP from the security zone"
    assert "icmp type echo" in rules[7].description
    assert {r.point for r in rules} == {"DIST-SW01 Vlan400 in", "DIST-SW01 Vlan600 in"}
    notes = "\n".join(acls.notes)
    assert "bound to no interface" in notes and notes.endswith(": 10")
    assert "dist-sw01.cfg:35" in notes and "established" in notes
    assert "dist-sw01.cfg:43" in notes and "gre" in notes


def test_asa_vendor_firewall_object_groups() -> None:
    acls = read_cisco_acls(ASA)
    rules = acls.rules
    jump_hosts = ("10.70.0.10/31", "10.70.0.12/31")  # range 10.70.0.10-10.70.0.13
    dicom = rules[0]
    assert dicom.source == jump_hosts
    assert set(dicom.destination) == {"10.50.10.0/24", "10.50.20.15", "10.20.2.10"}  # nested group + object
    assert (dicom.protocol, _ports(dicom)) == ("tcp", [(104, 104), (11112, 11113)])
    assert dicom.description == "GE/Philips remote service through the jump hosts only"
    mgmt = rules[1:4]  # one ACL line, a service group of three services
    assert [(r.protocol, _ports(r)) for r in mgmt] == [
        ("tcp", [(443, 443)]),
        ("tcp", [(3389, 3389)]),
        ("udp", [(161, 161)]),
    ]
    assert all(r.destination == ("10.20.3.10",) and r.origin == "vendor-asa.cfg:45" for r in mgmt)
    assert (rules[4].action, _ports(rules[4])) == ("deny", [(445, 445)])
    any_any = rules[5]
    assert any_any.is_any_any and any_any.name == "VENDOR-IN" and "TEMP" in any_any.description
    assert (rules[6].action, rules[6].origin) == ("deny", "vendor-asa.cfg:51")  # "log 6 interval 300" understood
    assert len(rules) == 7
    assert any("vendor-asa.cfg:50" in n and "inactive" in n for n in acls.notes)


def test_cisco_object_forms_and_port_operators(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "r.cfg",
        """hostname R1
object-group network IOS-STYLE
 host 10.1.1.1
 10.2.0.0 255.255.0.0
 10.3.0.0 /24
 range 10.4.0.1 10.4.0.2
object-group service WEB
 tcp eq www
 tcp-udp eq domain
ip access-list extended EDGE
 permit tcp any gt 1023 10.9.0.0 0.0.0.255 neq 23
 permit tcp any 10.9.1.0 0.0.0.255 lt 1024
 deny tcp any gt 1023 any eq 80
 permit object-group WEB object-group IOS-STYLE any time-range WORKHOURS
ipv6 access-list V6-IN
 sequence 20 deny tcp any 2001:DB8:1::/48 eq 445
 sequence 10 permit tcp host 2001:DB8::1 any eq 22
""",
    )
    acls = read_cisco_acls(path)
    by_line = {r.origin.split(":")[1]: r for r in acls.rules}
    first = by_line["11"]
    assert _ports(first) == [(0, 22), (24, 65535)] and "source ports gt 1023" in first.description
    assert first.destination == ("10.9.0.0/24",)
    assert _ports(by_line["12"]) == [(0, 1023)]
    assert "12" in by_line and "13" not in by_line  # a deny with a source-port condition is skipped
    web = [r for r in acls.rules if r.origin.endswith(":14")]
    assert [(r.protocol, _ports(r)) for r in web] == [("tcp", [(80, 80)]), ("tcp", [(53, 53)]), ("udp", [(53, 53)])]
    assert web[0].source == ("10.1.1.1", "10.2.0.0/16", "10.3.0.0/24", "10.4.0.1", "10.4.0.2")
    assert "time-range WORKHOURS" in web[0].description
    v6 = [r for r in acls.rules if r.name == "V6-IN"]
    assert [(r.action, r.origin) for r in v6] == [("allow", "r.cfg:17"), ("deny", "r.cfg:16")]  # sequence order
    assert v6[1].destination == ("2001:db8:1::/48",)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("access-list 101 permit tcp 10.1.0.0 0.0.255.0 any\n", ["row 1", "wildcard 0.0.255.0 is not contiguous"]),
        ("ip access-list extended X\n permit tcp any host\n", ["row 2", "missing the host address"]),
        ("ip access-list extended X\n permit tcp any any eq\n", ["row 2", "missing a port"]),
        ("ip access-list extended X\n permit tcp any any eq hl7\n", ["row 2", "'hl7' is not a port"]),
        ("ip access-list extended X\n permit tcp any 10.1.1.0\n", ["row 2", "has no wildcard"]),
        ("ip access-list extended X\n permit tcp any any eq 80 bogus\n", ["row 2", "unexpected 'bogus'"]),
        ("ip access-list extended X\n allow tcp any any\n", ["row 2", "expected permit, deny or remark"]),
        ("ip access-list extended X\n permit tpc any any\n", ["row 2", "'tpc' is not a protocol"]),
        ("access-list IN extended permit tcp any object-group NOPE\n", ["row 1", "object NOPE is not defined"]),
        ("access-list IN extended permit tcp any 10.1.0.0 0.255.255.255\n", ["row 1", "netmask 0.255.255.255"]),
        ("access-list IN frobnicate\n", ["row 1", "unexpected 'frobnicate'"]),
        ("object network A\n host 10.1.1.300\naccess-list IN extended permit ip object A any\n", ["row 2"]),
    ],
)
def test_cisco_bad_lines(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = _write(tmp_path, "bad.cfg", text)
    with pytest.raises(IngestError) as caught:
        read_cisco_acls(path)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_cisco_group_object_loop(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "loop.cfg",
        """object-group network A
 network-object host 10.1.1.1
 group-object B
object-group network B
 group-object A
access-list IN extended permit ip object-group A any
""",
    )
    with pytest.raises(IngestError, match=r"row 1: object-group loop A -> B -> A"):
        read_cisco_acls(path)


# -- combining files -------------------------------------------------------------------------------------------


def test_detect_kinds(tmp_path: Path) -> None:
    assert [detect_network_kind(p) for p in (YAML, CORE_FW, DIST_SW, ASA)] == ["yaml", "iptables", "cisco", "cisco"]
    assert detect_network_kind(_write(tmp_path, "notes.txt", "meeting notes\nrules are rules\n")) is None
    binary = tmp_path / "blob.bin"
    binary.write_bytes(os.urandom(4096) + b"\x00")
    assert detect_network_kind(binary) is None


def test_read_network_combines_all_files() -> None:
    model = read_network([YAML, CORE_FW, DIST_SW, ASA])
    assert len(model.zones) == 9 and len(model.conduits) == 3 and len(model.placement) == 4
    assert model.sources == tuple(str(p) for p in (YAML, CORE_FW, DIST_SW, ASA))
    assert len(model.rules) == 2 + 15 + 9 + 7  # dist-sw01's ACL 10 is bound to no interface
    assert [r.order for r in model.rules] == list(range(33))
    assert [r.origin for r in model.rules[:3]] == ["network.yaml rules[0]", "network.yaml rules[1]", "core-fw.rules:33"]
    assert model.default_action == "deny"  # the YAML sets none: the FORWARD policy
    guest_smb = model.decide(GUEST, PUMP, "tcp", 445)
    assert guest_smb.action == "deny" and guest_smb.rule is not None and guest_smb.rule.origin == "core-fw.rules:33"
    vendor = model.decide(VENDOR, PUMP, "tcp", 8443)
    assert vendor.action == "allow" and vendor.rule is not None and "TEMP vendor support" in vendor.rule.description
    biomed = model.decide(BIOMED_PC, PUMP, "tcp", 8443)  # the YAML rule names zones, resolved by subnet
    assert biomed.action == "allow" and biomed.rule is not None and biomed.rule.name == "biomed-manages-pumps"
    rdp = model.decide(GUEST, EHR_WS, "tcp", 3389)
    assert rdp.action == "deny" and rdp.rule is not None and rdp.rule.name == "no-rdp-from-guest"
    # core-fw.rules:28 rejects tcp/445 from 10.10.0.0/16, but two hosts of that one subnet talk without the firewall
    assert model.decide("10.10.4.4", "10.10.4.5", "tcp", 445) == Decision("allow", None)
    smb_out = model.decide("10.10.4.4", "10.50.3.3", "tcp", 445).rule
    assert smb_out is not None and smb_out.origin == "core-fw.rules:28"
    assert any(r.is_any_any and r.origin == "vendor-asa.cfg:49" for r in model.rules)


def test_default_action_precedence(tmp_path: Path) -> None:
    zones = "zones:\n  - {name: a, subnets: [10.1.0.0/16]}\n"
    accept = _iptables(tmp_path, "", policy="ACCEPT")
    plain = _write(tmp_path, "plain.yaml", zones)
    chosen = _write(tmp_path, "chosen.yaml", zones.replace("a,", "b,").replace("10.1.", "10.2.") + "default: deny\n")
    assert read_network([plain, accept]).default_action == "allow"
    assert read_network([plain, chosen, accept]).default_action == "deny"
    assert read_network([DIST_SW]).default_action == "deny"


def test_rules_may_name_zones_of_another_yaml(tmp_path: Path) -> None:
    zones = _write(tmp_path, "zones.yaml", "zones:\n  - {name: a, subnets: [10.1.0.0/16]}\n")
    rules = _write(tmp_path, "rules.yaml", "rules:\n  - {action: deny, from: a, to: b}\n")
    with pytest.raises(IngestError, match=r"rules\[0\]\.to: unknown zone 'b'"):
        read_network([zones, rules])
    fixed = _write(tmp_path, "rules2.yaml", "rules:\n  - {action: deny, from: a, to: any}\n")
    assert read_network([zones, fixed]).rules[0].source == ("a",)
    with pytest.raises(IngestError, match="zone 'a' is already defined"):
        read_network([zones, zones])


def test_one_bad_file_fails_the_import(tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.cfg", "hostname X\naccess-list 101 permit tcp any any eq\n")
    with pytest.raises(IngestError, match="bad.cfg, row 2"):
        read_network([YAML, CORE_FW, bad])
    with pytest.raises(IngestError, match="not a recognised network file"):
        read_network([YAML, _write(tmp_path, "x.txt", "hello\n")])


# -- hostile input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [read_network_yaml, read_iptables, read_cisco_acls])
def test_huge_file_is_refused_without_reading_it(tmp_path: Path, reader: object) -> None:
    path = tmp_path / "huge.cfg"
    with path.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)  # sparse: nothing is written
    with pytest.raises(IngestError, match="more than 16 MiB"):
        reader(path)  # type: ignore[operator]


@pytest.mark.parametrize("reader", [read_network_yaml, read_iptables, read_cisco_acls])
def test_binary_garbage(tmp_path: Path, reader: object) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(IngestError, match="not a text file"):
        reader(path)  # type: ignore[operator]


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.cfg"
    path.write_bytes(b"hostname caf\xe9\n")
    with pytest.raises(IngestError, match="not UTF-8"):
        read_cisco_acls(path)


def test_truncated_lines(tmp_path: Path) -> None:
    asa = ASA.read_text()
    cut = asa[: asa.index("object-group DICOM-PORTS") + len("object-gr")]
    with pytest.raises(IngestError, match=r"vendor-asa.cfg, row 44"):
        read_cisco_acls(_write(tmp_path, "vendor-asa.cfg", cut))
    yaml_text = YAML.read_text()
    with pytest.raises(IngestError, match="network.yaml"):
        read_network_yaml(_write(tmp_path, "network.yaml", yaml_text[: yaml_text.index("ports: [ssh") + 9]))


def test_documented_yaml_example_reads(tmp_path: Path) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "network.md").read_text()
    example = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    model = read_network_yaml(_write(tmp_path, "example.yaml", example))
    assert len(model.zones) == 6 and [r.name for r in model.rules] == ["biomed-manages-pumps", "no-smb-from-guest"]
    smb = model.rules[1]
    assert smb.destination == ("10.20.0.0/16", "10.30.1.15") and _ports(smb) == [(139, 139), (445, 445)]
    assert model.decide("10.90.0.9", "10.30.1.15", "tcp", 445).rule == smb
    assert model.decide("10.90.0.9", "10.30.1.16", "tcp", 445).rule is None  # the default action decides


def test_an_iptables_file_without_a_filter_table_is_refused(tmp_path: Path) -> None:
    # cut after the nat table: syntactically whole, but it says nothing about forwarding
    text = (NET / "core-fw.rules").read_text(encoding="utf-8")
    cut = tmp_path / "core-fw.rules"
    cut.write_text(text[: text.index("*filter")], encoding="utf-8")
    with pytest.raises(IngestError, match=r"core-fw.rules: .*no \*filter table"):
        read_iptables(cut)
