"""Cisco IOS/ASA ACL bindings and routes: which interface and direction each ACL filters, and what the model then
decides.  Expectations are worked out by hand from tests/fixtures/network/bound-ios.cfg (CORE-SW1, a layer-3 core
switch: pumps on Vlan20, clinical servers on Vlan30, workstations on Vlan40, uplink Gi1/0/48 to the firewall) and
bound-asa.cfg (EDGE-FW: outside, inside towards CORE-SW1, vendor jump hosts), not copied from the reader's output.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from wardwatch.domain.netmodel import ANY, Decision, NetworkModel, Route
from wardwatch.ingest.cisco_acl import read_cisco_acls
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.network_files import read_network

NET = Path(__file__).parents[1] / "fixtures" / "network"
BOUND_IOS, BOUND_ASA = NET / "bound-ios.cfg", NET / "bound-asa.cfg"

PUMP, PUMP_NEW, PUMP_SERVER, HL7, PORTAL = "10.20.20.7", "10.20.21.7", "10.20.30.10", "10.20.30.20", "10.20.30.80"
WORKSTATION, VENDOR, INTERNET = "10.20.40.15", "10.70.0.20", "198.51.100.7"

ZONES = """
zones:
  - {name: pumps, kind: life-sustaining, subnets: [10.20.20.0/24, 10.20.21.0/24], vlans: [20]}
  - {name: clinical-apps, kind: clinical-apps, subnets: [10.20.30.0/24], vlans: [30]}
  - {name: enterprise, kind: enterprise, subnets: [10.20.40.0/24], vlans: [40], entry_point: true}
  - {name: imaging, kind: imaging, subnets: [10.50.0.0/16]}
  - {name: vendor-remote, kind: vendor-remote, subnets: [10.70.0.0/24], entry_point: true}
# CORE-SW1 routes between its VLANs whatever its ACLs do not stop
default: allow
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _model(tmp_path: Path, ios: Path = BOUND_IOS) -> NetworkModel:
    # the firewall first: inbound packets meet its points before the core switch's, as on the wire
    return read_network([_write(tmp_path, "zones.yaml", ZONES), BOUND_ASA, ios])


# -- what the reader finds ---------------------------------------------------------------------------------------


def test_ios_device_routes_points_and_bound_rules() -> None:
    acls = read_cisco_acls(BOUND_IOS)
    (device,) = acls.devices
    assert (device.name, device.origin) == ("CORE-SW1", "bound-ios.cfg")
    assert set(device.routes) == {
        Route("10.255.255.1/32", "Loopback0"),
        Route("10.255.0.0/30", "GigabitEthernet1/0/48"),
        Route("10.20.20.0/24", "Vlan20"),
        Route("10.20.21.0/24", "Vlan20"),  # the secondary address
        Route("10.20.30.0/24", "Vlan30"),
        Route("10.20.40.0/24", "Vlan40"),
        Route("0.0.0.0/0", "GigabitEthernet1/0/48"),  # next hop 10.255.0.1 is on the uplink's /30
        Route("10.50.0.0/16", "GigabitEthernet1/0/48"),
        Route("10.60.0.0/24", "Vlan40"),  # interface given: ip route ... Vlan40 10.20.40.254
    }
    assert len(device.routes) == 9  # no repeats; Vlan99 (shut down) and 172.16/12 (next hop nowhere) left out
    points = [(p.name, p.device, p.interface, p.direction, p.acl, p.default_action, p.origin) for p in acls.points]
    assert points == [
        ("CORE-SW1 Vlan20 in", "CORE-SW1", "Vlan20", "in", "CLIN-IN", "deny", "bound-ios.cfg:38"),
        ("CORE-SW1 Vlan30 out", "CORE-SW1", "Vlan30", "out", "SERVERS-OUT", "deny", "bound-ios.cfg:43"),
    ]
    summary = [(r.point, r.name, r.action, r.origin) for r in acls.rules]
    clin = [("CORE-SW1 Vlan20 in", "CLIN-IN", a, f"bound-ios.cfg:{n}") for a, n in
            [("allow", 57), ("allow", 59), ("allow", 61), ("deny", 62)]]  # fmt: skip
    servers = [("CORE-SW1 Vlan30 out", "SERVERS-OUT", a, f"bound-ios.cfg:{n}") for a, n in
               [("allow", 66), ("allow", 67), ("allow", 69), ("allow", 71), ("deny", 72)]]  # fmt: skip
    assert summary == clin + servers  # OLD-GUEST and the vty ACL 99 are bound nowhere: left out
    assert [r.order for r in acls.rules] == list(range(9))
    assert acls.rules[0].source == ("10.20.20.0/23",) and acls.rules[0].description.startswith("Pumps fetch")
    notes = "\n".join(acls.notes)
    assert "bound to no interface" in notes and "OLD-GUEST, 99" in notes
    assert "bound-ios.cfg:84" in notes and "192.0.2.1" in notes  # unresolvable next hop: skipped, not guessed
    assert "bound-ios.cfg:53: interface Vlan99 is shut down" in notes
    assert "Vlan1 " not in notes  # shut, but no address and no binding: nothing to say


def test_asa_nameif_bindings_and_routes() -> None:
    acls = read_cisco_acls(BOUND_ASA)
    (device,) = acls.devices
    assert device.name == "EDGE-FW"
    assert set(device.routes) == {
        Route("203.0.113.0/29", "outside"),  # "standby 203.0.113.3" is the failover unit's address
        Route("10.255.0.0/30", "inside"),
        Route("10.70.0.0/24", "vendor"),
        Route("192.168.1.0/24", "management"),
        Route("0.0.0.0/0", "outside"),
        Route("10.0.0.0/8", "inside"),
    }
    assert [(p.name, p.interface, p.acl, p.origin) for p in acls.points] == [
        ("EDGE-FW outside in", "outside", "OUTSIDE-IN", "bound-asa.cfg:61"),
        ("EDGE-FW vendor in", "vendor", "VENDOR-IN", "bound-asa.cfg:62"),
    ]
    assert [(r.point, r.origin) for r in acls.rules] == [
        ("EDGE-FW outside in", "bound-asa.cfg:47"),
        ("EDGE-FW outside in", "bound-asa.cfg:48"),
        ("EDGE-FW vendor in", "bound-asa.cfg:50"),
        ("EDGE-FW vendor in", "bound-asa.cfg:51"),
        ("EDGE-FW vendor in", "bound-asa.cfg:53"),
    ]
    assert acls.rules[0].destination == (PORTAL,) and acls.rules[4].is_any_any
    assert any("NAT-EXEMPT" in n and "bound to no interface" in n for n in acls.notes)


def test_a_file_without_bindings_keeps_every_acl_unbound(tmp_path: Path) -> None:
    text = "".join(line for line in BOUND_IOS.read_text().splitlines(keepends=True) if "access-group" not in line)
    acls = read_cisco_acls(_write(tmp_path, "nobind.cfg", text))
    assert acls.devices == () and acls.points == ()
    assert {r.point for r in acls.rules} == {""}
    lines = [int(r.origin.split(":")[1]) for r in acls.rules]  # every ACL, as they appear (line numbers shift by 3)
    assert lines == [54, 56, 58, 59, 63, 64, 66, 68, 69, 73, 74, 76]
    assert [r.name for r in acls.rules][-3:] == ["OLD-GUEST", "OLD-GUEST", "99"]
    assert not any("192.0.2.1" in n or "shut down" in n for n in acls.notes)  # no device, so no device notes


def test_an_acl_bound_twice_yields_two_copies(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "wards.cfg",
        """hostname WARD-SW
interface Vlan20
 ip address 10.20.20.1 255.255.255.0
 ip access-group PUMPS in
interface Vlan21
 ip address 10.20.21.1 255.255.255.0
 ip access-group PUMPS in
ip access-list extended PUMPS
 permit tcp any host 10.20.30.10 eq 443
 deny ip any any
""",
    )
    acls = read_cisco_acls(path)
    assert [p.name for p in acls.points] == ["WARD-SW Vlan20 in", "WARD-SW Vlan21 in"]
    assert [(r.point, r.origin) for r in acls.rules] == [
        ("WARD-SW Vlan20 in", "wards.cfg:9"),
        ("WARD-SW Vlan20 in", "wards.cfg:10"),
        ("WARD-SW Vlan21 in", "wards.cfg:9"),
        ("WARD-SW Vlan21 in", "wards.cfg:10"),
    ]
    assert [r.order for r in acls.rules] == [0, 1, 2, 3]


def test_ios_replaced_missing_and_unreached_bindings_and_ipv6(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "r6.cfg",  # no hostname: the device is named after the file
        """interface GigabitEthernet0/0
 ip address 10.1.0.1 255.255.255.0
 ipv6 address 2001:db8:10::1/64
 ipv6 address FE80::1 link-local
 ip access-group OLD-IN in
 ip access-group V4-IN in
 ipv6 traffic-filter V6-IN in
 ip access-group NOPE out
interface GigabitEthernet0/1
 ipv6 address 2001:db8:20::1/64
 ipv6 address 2001:db8:21::/64 eui-64
interface Tunnel5
 ip access-group V4-IN out
ipv6 route ::/0 2001:db8:20::fe
ipv6 route 2001:db8:99::/48 GigabitEthernet0/1 FE80::2
ipv6 access-list V6-IN
 permit tcp 2001:db8:10::/64 any eq 443
ip access-list extended V4-IN
 permit tcp 10.1.0.0 0.0.0.255 any eq 443
ip access-list extended OLD-IN
 permit ip any any
ip route static bfd GigabitEthernet0/0 10.1.0.2
""",
    )
    acls = read_cisco_acls(path)
    (device,) = acls.devices
    assert device.name == "r6"
    assert set(device.routes) == {
        Route("10.1.0.0/24", "GigabitEthernet0/0"),
        Route("2001:db8:10::/64", "GigabitEthernet0/0"),
        Route("2001:db8:20::/64", "GigabitEthernet0/1"),
        Route("2001:db8:21::/64", "GigabitEthernet0/1"),
        Route("::/0", "GigabitEthernet0/1"),  # next hop 2001:db8:20::fe is on Gi0/1's subnet
        Route("2001:db8:99::/48", "GigabitEthernet0/1"),
    }
    assert [(p.name, p.acl, p.origin) for p in acls.points] == [
        ("r6 GigabitEthernet0/0 in", "V4-IN + V6-IN", "r6.cfg:6"),  # OLD-IN replaced; IPv4 and IPv6 filters
        ("r6 Tunnel5 out", "V4-IN", "r6.cfg:13"),  # kept, though nothing is known to go through it
    ]
    assert [(r.point, r.origin) for r in acls.rules] == [
        ("r6 GigabitEthernet0/0 in", "r6.cfg:19"),  # the IPv4 ACL's entry, then the IPv6 one
        ("r6 GigabitEthernet0/0 in", "r6.cfg:17"),
        ("r6 Tunnel5 out", "r6.cfg:19"),
    ]
    notes = "\n".join(acls.notes)
    assert "r6.cfg:6: ACL V4-IN replaces OLD-IN (line 5)" in notes
    assert "r6.cfg:8: ACL NOPE" in notes and "not defined" in notes  # no point: IOS filters nothing there
    assert "r6.cfg:4" in notes and "link-local" in notes
    assert "r6 Tunnel5 out: interface Tunnel5 has no address and no route" in notes
    assert any("bound to no interface" in n and n.endswith(": OLD-IN") for n in acls.notes)


def test_asa_global_acl_follows_each_interface_acl(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "fw.cfg",
        """hostname FW
interface GigabitEthernet0/0
 nameif outside
 ip address 192.0.2.2 255.255.255.0
interface GigabitEthernet0/1
 nameif inside
 ip address 10.1.0.1 255.255.0.0
interface GigabitEthernet0/2
 nameif dmz
access-list GLOBAL-IN extended deny tcp any any eq 445
access-list INSIDE-IN extended permit tcp 10.1.0.0 255.255.0.0 any eq 443
access-group INSIDE-IN in interface inside
access-group GLOBAL-IN global
route outside 0 0 192.0.2.1
""",
    )
    acls = read_cisco_acls(path)
    assert [(p.name, p.acl, p.origin) for p in acls.points] == [
        ("FW inside in", "INSIDE-IN + GLOBAL-IN", "fw.cfg:12"),
        ("FW outside in", "GLOBAL-IN", "fw.cfg:13"),
        ("FW dmz in", "GLOBAL-IN", "fw.cfg:13"),
    ]
    assert Route("0.0.0.0/0", "outside") in acls.devices[0].routes  # ASA's "0 0"
    model = NetworkModel(rules=acls.rules, devices=acls.devices, points=acls.points)
    # inside -> outside: INSIDE-IN first, then the global ACL, then the implicit deny (ASA's order)
    assert model.decide("10.1.2.3", "192.0.2.50", "tcp", 443).rule.origin == "fw.cfg:11"  # type: ignore[union-attr]
    smb = model.decide("10.1.2.3", "192.0.2.50", "tcp", 445)
    assert smb.action == "deny" and smb.rule is not None and smb.rule.origin == "fw.cfg:10"
    assert model.decide("10.1.2.3", "192.0.2.50", "tcp", 22) == Decision("deny", None, "FW inside in")
    assert any("FW dmz in" in n and "no traffic is known" in n for n in acls.notes)


# -- what the model decides --------------------------------------------------------------------------------------


def test_read_network_carries_devices_and_points(tmp_path: Path) -> None:
    model = _model(tmp_path)
    assert [d.name for d in model.devices] == ["EDGE-FW", "CORE-SW1"]
    assert [p.name for p in model.points] == [
        "EDGE-FW outside in",
        "EDGE-FW vendor in",
        "CORE-SW1 Vlan20 in",
        "CORE-SW1 Vlan30 out",
    ]
    assert len(model.rules) == 5 + 9 and [r.order for r in model.rules] == list(range(14))
    assert all(r.point for r in model.rules) and not model.has_unbound_rules


def test_an_acl_filters_only_the_packets_through_its_interface(tmp_path: Path) -> None:
    model = _model(tmp_path)
    clin_deny = next(r for r in model.rules if r.origin == "bound-ios.cfg:62")
    assert clin_deny.action == "deny" and (clin_deny.source, clin_deny.destination) == ((ANY,), (ANY,))
    # Read as one unbound list (the old reading), CLIN-IN's "deny ip any any" decided server -> workstation:
    ios_rules = read_cisco_acls(BOUND_IOS).rules
    flat = NetworkModel(model.zones, tuple(replace(r, point="") for r in ios_rules), "allow")
    old_reading = flat.decide(PUMP_SERVER, WORKSTATION, "tcp", 445)
    assert old_reading.action == "deny" and old_reading.rule is not None
    assert old_reading.rule.origin == "bound-ios.cfg:62"
    # Bound: server (Vlan30) -> workstation (Vlan40) goes in Vlan30 and out Vlan40, where nothing is bound.
    assert model.points_on_way(PUMP_SERVER, WORKSTATION) == ()
    assert model.decide(PUMP_SERVER, WORKSTATION, "tcp", 445) == Decision("allow", None)
    # The two pump subnets are both behind Vlan20: CORE-SW1 is not in between, CLIN-IN never sees it.
    assert model.decide(PUMP, PUMP_NEW, "tcp", 22) == Decision("allow", None)


def test_a_packet_must_pass_every_point_on_its_way(tmp_path: Path) -> None:
    model = _model(tmp_path)
    way = [p.name for p in model.points_on_way(PUMP, HL7)]
    assert way == ["CORE-SW1 Vlan20 in", "CORE-SW1 Vlan30 out"]
    # CLIN-IN line 59 lets pumps send HL7 to the engine, but SERVERS-OUT has no entry for 2575: its line 72 denies
    hl7 = model.decide(PUMP, HL7, "tcp", 2575)
    assert hl7.action == "deny" and hl7.rule is not None and hl7.rule.origin == "bound-ios.cfg:72"
    # Drug library: CLIN-IN line 57 and SERVERS-OUT line 66 both allow; the first point's rule is the evidence
    library = model.decide(PUMP, PUMP_SERVER, "tcp", 443)
    assert library.action == "allow" and library.rule is not None and library.rule.origin == "bound-ios.cfg:57"
    # Workstation RDP to the servers: nothing bound on Vlan40 in, SERVERS-OUT line 71 allows, 445 hits line 72
    assert model.decide(WORKSTATION, PUMP_SERVER, "tcp", 3389).rule.origin == "bound-ios.cfg:71"  # type: ignore[union-attr]
    assert model.decide(WORKSTATION, PUMP_SERVER, "tcp", 445).rule.origin == "bound-ios.cfg:72"  # type: ignore[union-attr]
    # A pump to the internet: CLIN-IN's explicit final deny (line 62), before the firewall is reached
    out = model.decide(PUMP, "8.8.8.8", "tcp", 443)
    assert out.action == "deny" and out.rule is not None and out.rule.origin == "bound-ios.cfg:62"


def test_two_devices_on_the_way(tmp_path: Path) -> None:
    model = _model(tmp_path)
    assert [p.name for p in model.points_on_way(INTERNET, PORTAL)] == ["EDGE-FW outside in", "CORE-SW1 Vlan30 out"]
    portal = model.decide(INTERNET, PORTAL, "tcp", 443)  # OUTSIDE-IN line 47, then SERVERS-OUT line 69
    assert portal.action == "allow" and portal.rule is not None and portal.rule.origin == "bound-asa.cfg:47"
    web = model.decide(INTERNET, PORTAL, "tcp", 80)
    assert web.action == "deny" and web.rule is not None and web.rule.origin == "bound-asa.cfg:48"
    # The TEMP vendor any-any reaches the pumps: VENDOR-IN line 53, and nothing on Gi1/0/48 in or Vlan20 out
    assert [p.name for p in model.points_on_way(VENDOR, PUMP)] == ["EDGE-FW vendor in"]
    vendor = model.decide(VENDOR, PUMP, "tcp", 22)
    assert vendor.action == "allow" and vendor.rule is not None and vendor.rule.origin == "bound-asa.cfg:53"


def test_no_matching_entry_is_the_points_implicit_deny(tmp_path: Path) -> None:
    text = BOUND_IOS.read_text()
    header = "!\nip access-list extended SERVERS-OUT"
    implicit = text.replace(" 40 deny   ip any any log\n" + header, header)  # CLIN-IN without its final deny
    assert implicit != text
    model = _model(tmp_path, _write(tmp_path, "bound-ios.cfg", implicit))
    assert model.decide(PUMP, "8.8.8.8", "tcp", 443) == Decision("deny", None, "CORE-SW1 Vlan20 in")
    assert model.decide(PUMP, PUMP_SERVER, "tcp", 443).action == "allow"  # CLIN-IN's permits still apply


# -- errors ------------------------------------------------------------------------------------------------------


def test_a_bad_netmask_names_its_line(tmp_path: Path) -> None:
    text = BOUND_IOS.read_text().replace("10.20.30.1 255.255.255.0", "10.20.30.1 255.255.0.255")
    with pytest.raises(IngestError) as caught:
        read_cisco_acls(_write(tmp_path, "bound-ios.cfg", text))
    message = str(caught.value)
    assert "bound-ios.cfg, row 42" in message and "netmask 255.255.0.255 is not contiguous" in message
    assert "—" in message  # a tip follows


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("interface Vlan20\n ip address 10.20.20.300 255.255.255.0\n", ["row 2", "Vlan20"]),
        ("interface Vlan20\n ip address 10.20.20.1\n", ["row 2", "is not `ip address"]),
        ("interface Vlan20\n ip access-group CLIN-IN\n", ["row 2", "in|out"]),
        ("interface Vlan20\n ipv6 address 2001:db8::1\n", ["row 2", "no prefix length"]),
        ("access-group OUTSIDE-IN interface outside\n", ["row 1", "lacks its direction or interface"]),
        ("hostname FW\naccess-group OUTSIDE-IN in\n", ["row 2", "lacks its direction or interface"]),
        ("route outside 10.1.1.0 255.255.0.0 10.0.0.1\n", ["row 1", "route prefix '10.1.1.0 255.255.0.0'"]),
        ("ip route 10.0.0.0 255.0.255.0 10.255.0.1\n", ["row 1", "not contiguous"]),
        ("ip route 10.0.0.0 255.0.0.0\n", ["row 1", "ip route should be"]),
        ("ipv6 route 2001:db8::/129 2001:db8::1\n", ["row 1", "route prefix"]),
        ("route outside 0.0.0.0 0.0.0.0 gateway\n", ["row 1", "not an IPv4 address"]),
    ],
)
def test_bad_binding_address_and_route_lines(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = _write(tmp_path, "bad.cfg", text)
    with pytest.raises(IngestError) as caught:
        read_cisco_acls(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message


def test_two_configurations_of_one_device_are_refused(tmp_path: Path) -> None:
    backup = _write(tmp_path, "core-sw1-backup.cfg", BOUND_IOS.read_text())
    with pytest.raises(IngestError) as caught:
        read_network([BOUND_IOS, backup])
    message = str(caught.value)
    assert "two configurations are both hostname CORE-SW1" in message
    assert str(BOUND_IOS) in message and str(backup) in message and "give each device once" in message
    # a configuration that binds nothing has no device, so it cannot clash
    unbound = _write(tmp_path, "lab.cfg", "hostname CORE-SW1\nip access-list extended X\n permit ip any any\n")
    assert [d.name for d in read_network([BOUND_IOS, unbound]).devices] == ["CORE-SW1"]


def test_bindings_without_addresses_or_routes_are_read_as_one_unbound_list(tmp_path: Path) -> None:
    # An ACL-only excerpt: access-groups name interfaces the file never describes.  Which traffic crosses each
    # binding is unknown, so the bound ACLs are read as from a file that binds none (in order), and the ACL bound
    # nowhere (a vty access-class list) is left out.
    path = _write(tmp_path, "excerpt.cfg", "\n".join([
        "hostname EXCERPT-FW",
        "access-list VTY standard permit host 10.0.0.5",
        "access-list VENDOR-IN extended permit tcp 10.70.0.0 255.255.255.0 any eq 3389",
        "access-list OUTSIDE-IN extended deny ip any any",
        "access-group OUTSIDE-IN in interface outside",
        "access-group VENDOR-IN in interface vendor",
    ]) + "\n")  # fmt: skip
    acls = read_cisco_acls(path)
    assert (acls.devices, acls.points) == ((), ())
    assert [(r.name, r.action, r.point, r.origin) for r in acls.rules] == [
        ("VENDOR-IN", "allow", "", "excerpt.cfg:3"),
        ("OUTSIDE-IN", "deny", "", "excerpt.cfg:4"),
    ]
    assert any("no interface has an address and there is no route" in note for note in acls.notes)
