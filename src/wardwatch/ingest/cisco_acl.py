"""Cisco IOS and ASA configurations -> ordered :class:`~wardwatch.domain.netmodel.Rule` values, and where they apply.

ACL and object lines: IOS named/numbered/IPv6 ACLs with wildcards, sequence numbers and remarks; ASA
``access-list NAME extended`` with netmasks, ``object network|service`` and ``object-group
network|service|protocol``; ports by number or Cisco keyword (docs/network.md, "Formats", lists the forms).  Each
ACL's entries come out in order (IOS sequence numbers sorted), with the ACL name in :attr:`Rule.name`, the line in
:attr:`Rule.origin` and the remark in force in the description.

Bindings and routes: the device (``hostname``, else the file's stem) is a
:class:`~wardwatch.domain.netmodel.FilterDevice` whose routes are the connected subnets of its ``interface``
blocks (``ip address``/``ipv6 address``; on an ASA the interface is known by its ``nameif``) and its static routes
(IOS ``ip route``/``ipv6 route``, ASA ``route``/``ipv6 route``; a route given only a next hop goes out of the
interface whose subnet holds it).  Each binding -- IOS ``ip access-group``/``ipv6 traffic-filter`` under an
interface, ASA ``access-group NAME in|out interface NAMEIF`` or ``global`` (inbound on every named interface,
after that interface's own ACL) -- is an :class:`~wardwatch.domain.netmodel.EnforcementPoint` named
``"DEVICE INTERFACE in|out"``, and the bound ACL's rules are copied to it (:attr:`Rule.point`).  In a file that
binds at least one ACL, ACLs bound nowhere filter nothing and are left out; a ``shutdown`` interface's bindings
and subnets are left out; a binding naming an undefined ACL filters nothing.  A file that binds no ACL gives every
ACL's rules unbound (point ``""``), ACLs as they first appear, and no device.  VRFs are not told apart.

As for iptables the rule is *when unsure, let the packet through*: ``established`` and ``inactive`` entries and
other protocols are skipped; a condition the model cannot express (source ports, ``time-range``, ICMP types,
TCP flags, FQDN objects, ``interface``) is dropped from a permit and makes a deny skipped; a route whose interface
cannot be worked out is skipped; the notes say so.  A malformed ACL, object, address, route or ``access-group``
line, an undefined or looping object group, or a non-contiguous wildcard or netmask raises
:class:`~wardwatch.ingest.errors.IngestError` with its line number.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import netaddr

from wardwatch.domain.netmodel import Action, Direction, EnforcementPoint, FilterDevice, PortRange, Route, Rule
from wardwatch.ingest._bounded import MIB
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.iptables import (
    AddressSet,
    PortSet,
    address_set,
    complement_ports,
    normalise_ports,
    read_config_lines,
    refs,
)

__all__ = ["CISCO_PORTS", "CiscoRules", "read_cisco_acls"]

MAX_BYTES: Final = 16 * MIB
_MAX_DEPTH: Final = 64
_MAX_SERVICES: Final = 10_000
_TIP = "check the line against `show running-config`"
_ADDRESS_TIP = "write it as `ip address A.B.C.D MASK` with a contiguous netmask, as `show running-config` does"
_ROUTE_TIP = "write the route as in `show running-config`: prefix and contiguous netmask (or P/len), then the next hop"
_BIND_TIP = "write `access-group ACL in|out interface NAMEIF` (ASA) or `ip access-group ACL in|out` (IOS interface)"
_DYNAMIC_ADDRESS: Final = frozenset({"dhcp", "negotiated", "pool", "pppoe", "auto", "autoconfig"})

CISCO_PORTS: Final[dict[str, int]] = {
    "bgp": 179, "biff": 512, "bootpc": 68, "bootps": 67, "chargen": 19, "citrix-ica": 1494, "cifs": 3020,
    "cmd": 514, "ctiqbe": 2748, "daytime": 13, "discard": 9, "dnsix": 195, "domain": 53, "echo": 7, "exec": 512,
    "finger": 79, "ftp": 21, "ftp-data": 20, "gopher": 70, "h323": 1720, "hostname": 101, "http": 80,
    "https": 443, "ident": 113, "imap4": 143, "irc": 194, "isakmp": 500, "kerberos": 750, "klogin": 543,
    "kshell": 544, "ldap": 389, "ldaps": 636, "login": 513, "lotusnotes": 1352, "lpd": 515,
    "microsoft-ds": 445, "mobile-ip": 434, "nameserver": 42, "netbios-dgm": 138, "netbios-ns": 137,
    "netbios-ss": 139, "netbios-ssn": 139, "nfs": 2049, "nntp": 119, "non500-isakmp": 4500, "ntp": 123,
    "pcanywhere-data": 5631, "pim-auto-rp": 496, "pop2": 109, "pop3": 110, "pptp": 1723, "rip": 520,
    "rsh": 514, "rtsp": 554, "sip": 5060, "smtp": 25, "snmp": 161, "snmptrap": 162, "sqlnet": 1521, "ssh": 22,
    "sunrpc": 111, "syslog": 514, "tacacs": 49, "talk": 517, "telnet": 23, "tftp": 69, "time": 37, "uucp": 540,
    "who": 513, "whois": 43, "www": 80, "xdmcp": 177,
}  # fmt: skip
"""IOS and ASA port keywords (IOS has none for 445; ``microsoft-ds`` is accepted anyway)."""

_PROTOCOLS: Final = {"ip": "any", "tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmp6": "icmp", "ipv6": "any",
                     "6": "tcp", "17": "udp", "1": "icmp", "58": "icmp", "0": "any"}  # fmt: skip
_OTHER_PROTOCOLS: Final = frozenset(
    {"ah", "ahp", "eigrp", "esp", "gre", "igmp", "igrp", "ipinip", "ipsec", "l2tp", "nos", "ospf", "pcp", "pim",
     "pptp", "sctp", "snp"}
)  # fmt: skip
_PORT_OPS: Final = ("eq", "neq", "lt", "gt", "range")
_LOG_WORDS: Final = frozenset(
    {"emergencies", "alerts", "critical", "errors", "warnings", "notifications", "informational", "debugging",
     "disable", "default"}
)  # fmt: skip
_UNMODELLED_1: Final = frozenset({"precedence", "dscp", "tos", "time-range", "option", "reflect", "timeout"})
_FLAGS: Final = frozenset({"ack", "fin", "psh", "rst", "syn", "urg", "fragments", "match-any", "match-all"})

Service = tuple[str, PortSet | None]
"""(tcp/udp/icmp/any or other:NAME, destination ports or ``None`` for any)."""


@dataclass(frozen=True, slots=True)
class CiscoRules:
    """The ACL entries of one Cisco configuration, in order, and what was skipped or approximated."""

    rules: tuple[Rule, ...]
    origin: str
    notes: tuple[str, ...] = ()
    devices: tuple[FilterDevice, ...] = ()
    """The device, when the file binds at least one ACL to an interface (else empty)."""
    points: tuple[EnforcementPoint, ...] = ()
    """Its ACL bindings, ``in`` ones first; :attr:`rules` then carry their point's name."""


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(slots=True)
class _Interface:
    name: str
    line: int
    nameif: str | None = None
    """ASA: the name routes and ``access-group`` use."""
    networks: list[IPNetwork] = field(default_factory=list)
    shutdown: int | None = None
    """Line of ``shutdown``."""
    vrf: str | None = None

    @property
    def key(self) -> str:
        return self.nameif or self.name


@dataclass(frozen=True, slots=True)
class _Binding:
    acl: str
    interface: str
    """The interface name (IOS, written under the interface) or nameif (ASA ``access-group``)."""
    direction: Direction
    line: int
    family: str
    """``ip`` (IOS ``ip access-group``, ASA), ``ipv6`` (IOS ``ipv6 traffic-filter``), ``global`` (ASA)."""
    by_nameif: bool


@dataclass(frozen=True, slots=True)
class _RouteLine:
    network: IPNetwork
    interface: str | None
    next_hop: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    line: int
    by_nameif: bool


@dataclass(slots=True)
class _Object:
    kind: str
    """network, service (typed port group or untyped service group), protocol."""
    line: int
    protocol: str | None = None
    """A typed service group's protocol (tcp, udp, tcp-udp)."""
    body: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass(slots=True)
class _Entry:
    acl: str
    line: int
    words: list[str]
    asa: bool
    standard: bool
    seq: int | None
    remark: str


def read_cisco_acls(path: str | Path) -> CiscoRules:
    """Read every ACL of an IOS or ASA configuration (see the module docstring)."""
    path = Path(path)
    reader = _Reader(path)
    reader.scan(read_config_lines(path, limit=MAX_BYTES, what="a Cisco configuration"))
    return reader.build()


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.objects: dict[str, _Object] = {}
        self.acls: dict[str, list[_Entry]] = {}
        self.remarks: dict[str, str] = {}
        self.notes: list[str] = []
        self.networks: dict[str, AddressSet | None] = {}
        self.services: dict[str, list[Service]] = {}
        self.declared: set[str] = set()
        """ACLs with at least one entry (an empty or undefined ACL bound to an interface filters nothing)."""
        self.hostname: str | None = None
        self.interfaces: dict[str, _Interface] = {}
        self.bindings: list[_Binding] = []
        self.routes: list[_RouteLine] = []
        self.device_notes: list[str] = []
        """Notes about interfaces and routes, kept only when the file binds an ACL (else there is no device)."""

    def error(self, line: int, message: str, tip: str = _TIP) -> IngestError:
        return IngestError(str(self.path), message, row=line, tip=tip)

    # -- pass 1: find ACL entries and object definitions --------------------------------------------------

    def scan(self, lines: list[str]) -> None:
        block: _Object | _Interface | tuple[str, bool, bool] | None = None  # or (ACL name, asa, standard)
        for number, raw in enumerate(lines, start=1):
            words = raw.split()
            if not words or words[0] in ("!", ":"):
                block = None if raw[:1] in ("!", ":") else block
                continue
            if raw[:1].isspace():
                if isinstance(block, _Object):
                    if words[0] != "description":
                        block.body.append((number, words))
                elif isinstance(block, _Interface):
                    self.interface_line(block, number, words)
                elif block is not None:
                    self.entry(block[0], number, words, asa=block[1], standard=block[2])
                continue
            block = self.top(number, words)

    def top(self, number: int, words: list[str]) -> _Object | _Interface | tuple[str, bool, bool] | None:
        head = words[0]
        if head == "hostname" and len(words) == 2:
            self.hostname = words[1].strip('"')
            return None
        if head == "interface" and len(words) >= 2:
            spaced = len(words) > 2 and words[2][:1].isdigit()  # "interface GigabitEthernet 0/1"
            name = words[1] + words[2] if spaced else words[1]
            return self.interfaces.setdefault(name, _Interface(name, number))
        if head == "access-group":
            self.asa_binding(number, words)
            return None
        if (head == "ip" and words[1:2] == ["route"]) or head == "route":
            self.ipv4_route(number, words[1:] if head == "route" else words[2:], asa=head == "route")
            return None
        if head == "ipv6" and words[1:2] == ["route"]:
            self.ipv6_route(number, words[2:])
            return None
        if head in ("ip", "ipv6") and words[1:2] == ["access-list"]:
            rest = words[2:]
            if head == "ip" and rest[:1] in (["extended"], ["standard"]):
                if len(rest) != 2:
                    raise self.error(number, f"ACL header '{' '.join(words)}' should name one ACL")
                return rest[1], False, rest[0] == "standard"
            if head == "ipv6" and len(rest) == 1:
                return rest[0], False, False
            return None  # ip access-list resequence/logging...
        if head == "access-list" and len(words) >= 3:
            name, kind = words[1], words[2]
            if kind == "line" and len(words) >= 5:  # ASA: access-list NAME line N extended ...
                kind, words = words[4], [*words[:2], *words[4:]]
            if kind in ("extended", "standard"):
                self.entry(name, number, words[3:], asa=True, standard=kind == "standard")
            elif kind == "remark":
                self.remarks[name] = " ".join(words[3:])
            elif kind in ("permit", "deny", "dynamic") and name.isdigit():
                number_ = int(name)
                self.entry(name, number, words[2:], asa=False, standard=number_ < 100 or 1300 <= number_ < 2000)
            elif kind in ("webtype", "ethertype", "rename", "alert-interval", "deny-flow-max"):
                pass
            else:
                raise self.error(number, f"access-list {name}: unexpected '{kind}'")
            return None
        if head in ("object", "object-group") and len(words) >= 3:
            kind, name = words[1], words[2]
            if kind not in ("network", "service", "protocol"):
                return None
            if name in self.objects:
                raise self.error(number, f"object {name} is defined twice (first on line {self.objects[name].line})")
            typed = words[3] if head == "object-group" and kind == "service" and len(words) > 3 else None
            if typed is not None and typed not in ("tcp", "udp", "tcp-udp"):
                raise self.error(number, f"object-group service {name}: '{typed}' is not tcp, udp or tcp-udp")
            obj = _Object(kind, number, typed)
            self.objects[name] = obj
            return obj
        return None

    def entry(self, acl: str, number: int, words: list[str], *, asa: bool, standard: bool) -> None:
        seq = None
        if words[:1] == ["sequence"] and len(words) > 1:
            words = words[1:]
        if words and words[0].isdigit():
            seq, words = int(words[0]), words[1:]
        if not words:
            raise self.error(number, f"ACL {acl}: entry is empty (truncated line?)")
        if words[0] in ("exit", "statistics"):
            return
        if words[0] == "remark":
            self.remarks[acl] = " ".join(words[1:])
            return
        self.declared.add(acl)
        if words[0] in ("evaluate", "dynamic"):
            self.notes.append(f"{self.path.name}:{number}: skipped {words[0]} entry of ACL {acl}")
            return
        if words[0] not in ("permit", "deny"):
            raise self.error(number, f"ACL {acl}: expected permit, deny or remark, not '{words[0]}'")
        remark = self.remarks.get(acl, "")
        self.acls.setdefault(acl, []).append(_Entry(acl, number, words, asa, standard, seq, remark))

    # -- interfaces, bindings and routes ------------------------------------------------------------------

    def note(self, line: int, text: str) -> None:
        self.device_notes.append(f"{self.path.name}:{line}: {text}")

    def interface_line(self, iface: _Interface, number: int, words: list[str]) -> None:
        """One line under ``interface NAME``: nameif, shutdown, addresses, ACL bindings, VRF."""
        head, rest = words[0], words[1:]
        if head == "nameif" and len(rest) == 1:
            iface.nameif = rest[0]
        elif words == ["shutdown"]:
            iface.shutdown = number
        elif head == "ip" and rest[:1] == ["address"]:
            self.ipv4_address(iface, number, words)
        elif head == "ipv6" and rest[:1] == ["address"]:
            self.ipv6_address(iface, number, words)
        elif (head, rest[:1]) in (("ip", ["access-group"]), ("ipv6", ["traffic-filter"])):
            if len(rest) != 3 or rest[2] not in ("in", "out"):
                raise self.error(number, f"'{' '.join(words)}' should be `{head} {rest[0]} ACL in|out`", _BIND_TIP)
            direction: Direction = "in" if rest[2] == "in" else "out"
            family = "ip" if head == "ip" else "ipv6"
            self.bindings.append(_Binding(rest[1], iface.name, direction, number, family, by_nameif=False))
        elif (head == "vrf" and rest[:1] == ["forwarding"]) or (head == "ip" and rest[:2] == ["vrf", "forwarding"]):
            iface.vrf = words[-1]

    def ipv4_address(self, iface: _Interface, number: int, words: list[str]) -> None:
        """IOS ``ip address A MASK [secondary]``, ASA ``ip address A MASK [standby B]``, or a dynamic address."""
        rest = words[2:]
        if rest[:1] and rest[0] in _DYNAMIC_ADDRESS:
            self.note(number, f"interface {iface.name}: address from {rest[0]} is not known, so no subnet")
            return
        tail_ok = len(rest) == 2 or rest[2:] == ["secondary"] or (len(rest) == 4 and rest[2] == "standby")
        if len(rest) < 2 or not tail_ok:
            raise self.error(number, f"'{' '.join(words)}' is not `ip address A.B.C.D MASK`", _ADDRESS_TIP)
        try:
            prefix = _prefix(rest[1], wildcard=False)
            if prefix == 0:
                raise ValueError(f"netmask {rest[1]} covers every address")
            network = ipaddress.IPv4Interface(f"{rest[0]}/{prefix}").network
            if len(rest) == 4:
                ipaddress.IPv4Address(rest[3])
        except ValueError as e:
            raise self.error(number, f"interface {iface.name}: '{' '.join(words)}': {e}", _ADDRESS_TIP) from e
        iface.networks.append(network)

    def ipv6_address(self, iface: _Interface, number: int, words: list[str]) -> None:
        """``ipv6 address X/len [eui-64|anycast|standby Y]``; link-local, general-prefix and dynamic forms noted."""
        rest = words[2:]
        given = " ".join(words)
        if not rest:
            raise self.error(number, f"'{given}' names no address", _ADDRESS_TIP)
        if rest[0] in _DYNAMIC_ADDRESS or rest[0] == "dhcp":
            self.note(number, f"interface {iface.name}: IPv6 address from {rest[0]} is not known, so no subnet")
            return
        if "link-local" in rest:
            self.note(number, f"interface {iface.name}: link-local address {rest[0]} is not routed, so no subnet")
            return
        if "/" not in rest[0]:
            if len(rest) >= 2 and "/" in rest[1]:  # general prefix: ipv6 address PREFIX-NAME ::1/64
                self.note(number, f"interface {iface.name}: general prefix {rest[0]} cannot be resolved, so no subnet")
                return
            raise self.error(number, f"'{given}' has no prefix length (X/len)", _ADDRESS_TIP)
        try:
            network = ipaddress.IPv6Interface(rest[0]).network
        except ValueError as e:
            raise self.error(number, f"interface {iface.name}: '{given}': {e}", _ADDRESS_TIP) from e
        iface.networks.append(network)

    def asa_binding(self, number: int, words: list[str]) -> None:
        """ASA ``access-group ACL in|out interface NAMEIF [...]`` or ``access-group ACL global``."""
        given = " ".join(words)
        if len(words) >= 3 and words[2] == "global":
            self.bindings.append(_Binding(words[1], "", "in", number, "global", by_nameif=True))
            return
        if len(words) < 5 or words[2] not in ("in", "out") or words[3] != "interface":
            raise self.error(number, f"'{given}' lacks its direction or interface", _BIND_TIP)
        direction: Direction = "in" if words[2] == "in" else "out"
        self.bindings.append(_Binding(words[1], words[4], direction, number, "ip", by_nameif=True))

    def ipv4_route(self, number: int, words: list[str], *, asa: bool) -> None:
        """IOS ``ip route [vrf V] P MASK (NEXTHOP | IFACE [NEXTHOP]) ...``; ASA ``route NAMEIF P MASK NEXTHOP ...``."""
        if words[:1] == ["vrf"]:
            self.note(
                number, f"skipped the static route of VRF {words[1] if len(words) > 1 else '?'} (VRFs are not modelled)"
            )
            return
        if not asa and words[:1] and words[0].replace("-", "").isalpha():  # ip route static bfd, ip route profile
            return
        interface: str | None = None
        if asa:
            if len(words) < 4:
                raise self.error(number, "route should be `route NAMEIF PREFIX MASK NEXTHOP`", _ROUTE_TIP)
            interface, words = words[0], words[1:]
        elif len(words) < 3:
            raise self.error(number, "ip route should be `ip route PREFIX MASK NEXTHOP|INTERFACE`", _ROUTE_TIP)
        network = self.route_network(number, f"{_zero(words[0])}/{words[1]}", f"{words[0]} {words[1]}", words[1])
        target = words[2]
        next_hop = _address(target)
        if interface is None and next_hop is None:
            if target == "dhcp":
                self.note(number, f"skipped route {network}: its next hop comes from DHCP")
                return
            interface = target
            next_hop = _address(words[3]) if len(words) > 3 else None
        elif asa and next_hop is None:
            raise self.error(number, f"route: next hop '{target}' is not an IPv4 address", _ROUTE_TIP)
        self.routes.append(_RouteLine(network, interface, next_hop, number, by_nameif=asa))

    def ipv6_route(self, number: int, words: list[str]) -> None:
        """IOS ``ipv6 route P/len (NEXTHOP | IFACE [NEXTHOP])``; ASA ``ipv6 route NAMEIF P/len NEXTHOP``."""
        if words[:1] == ["vrf"]:
            self.note(
                number, f"skipped the static route of VRF {words[1] if len(words) > 1 else '?'} (VRFs are not modelled)"
            )
            return
        asa = len(words) >= 3 and "/" not in words[0] and "/" in words[1]
        if not asa and words[:1] and words[0].replace("-", "").isalpha():  # ipv6 route static bfd ...: no route
            return
        interface: str | None = words[0] if asa else None
        words = words[1:] if asa else words
        if len(words) < 2 or "/" not in words[0]:
            raise self.error(number, "ipv6 route should be `ipv6 route P/len NEXTHOP|INTERFACE`", _ROUTE_TIP)
        network = self.route_network(number, words[0], words[0], None)
        next_hop = _address(words[1])
        if interface is None and next_hop is None:
            interface = words[1]
            next_hop = _address(words[2]) if len(words) > 2 else None
        self.routes.append(_RouteLine(network, interface, next_hop, number, by_nameif=asa))

    def route_network(self, number: int, text: str, given: str, mask: str | None) -> IPNetwork:
        try:
            if mask is not None:
                text = f"{text.split('/')[0]}/{_prefix(_zero(mask), wildcard=False)}"
            return ipaddress.ip_network(text)
        except ValueError as e:
            raise self.error(number, f"route prefix '{given}': {e}", _ROUTE_TIP) from e

    # -- pass 2: turn entries into rules ------------------------------------------------------------------

    def build(self) -> CiscoRules:
        by_acl: dict[str, list[Rule]] = {}
        acl_notes: dict[str, list[str]] = {}
        for name, entries in self.acls.items():
            if all(e.seq is not None for e in entries):
                entries = sorted(entries, key=lambda e: e.seq or 0)
            start = len(self.notes)
            by_acl[name] = [rule for entry in entries for rule in self.rules(entry)]
            acl_notes[name] = self.notes[start:]
        if not self.bindings:
            rules = [replace(rule, order=i) for i, rule in enumerate(r for rs in by_acl.values() for r in rs)]
            return CiscoRules(tuple(rules), self.path.name, tuple(self.notes))
        return self.build_bound(by_acl, acl_notes)

    def build_bound(self, by_acl: dict[str, list[Rule]], acl_notes: dict[str, list[str]]) -> CiscoRules:
        """The device, its routes and points, and the bound ACLs' rules copied to each point."""
        file, device = self.path.name, self.hostname or self.path.stem
        bound = {b.interface for b in self.bindings}
        for iface in self.interfaces.values():
            if iface.shutdown is not None and (iface.networks or iface.name in bound or iface.nameif in bound):
                self.note(
                    iface.shutdown, f"interface {iface.key} is shut down: its ACL bindings and subnets are left out"
                )
            elif iface.vrf is not None:
                self.note(iface.line, f"interface {iface.key} is in VRF {iface.vrf}; VRFs are not told apart")
        routes = self.device_routes()
        if not routes:
            return self.build_unplaced(by_acl, acl_notes)
        points: list[tuple[EnforcementPoint, list[str]]] = []
        for (key, direction), slot in self.chosen_bindings().items():
            acls: list[str] = []
            for family in ("ip", "ipv6", "global"):
                binding = slot.get(family)
                if binding is not None and binding.acl not in self.declared:
                    self.note(
                        binding.line,
                        f"ACL {binding.acl} bound to {key} {direction} is not defined: nothing is filtered there",
                    )
                elif binding is not None and binding.acl not in acls:
                    acls.append(binding.acl)
            if not acls:
                continue
            if "ip" in slot and "ipv6" in slot:
                self.note(
                    slot["ipv6"].line,
                    f"{key} {direction}: IPv6 ACL {slot['ipv6'].acl} follows IPv4 ACL "
                    f"{slot['ip'].acl} in one point (their `any` entries meet both IP versions)",
                )
            first = min((b for b in slot.values() if b.acl in acls), key=lambda b: b.line)
            name = f"{device} {key} {direction}"
            points.append(
                (EnforcementPoint(name, device, key, direction, " + ".join(acls), "deny", f"{file}:{first.line}"), acls)
            )
            if not any(route.interface == key for route in routes):
                self.note(
                    first.line, f"{name}: interface {key} has no address and no route, so no traffic is known to use it"
                )
        points.sort(key=lambda p: (p[0].direction != "in", int(p[0].origin.rsplit(":", 1)[1])))
        rules: list[Rule] = []
        for point, acls in points:
            for acl in acls:
                for rule in by_acl.get(acl, []):
                    rules.append(replace(rule, order=len(rules), point=point.name))
        used = {acl for _, acls in points for acl in acls}
        notes = [note for acl, texts in acl_notes.items() if acl in used for note in texts]
        unbound = [acl for acl in self.acls if acl not in used]
        if unbound:
            notes.append(f"{file}: left out the ACLs bound to no interface (they filter nothing): {', '.join(unbound)}")
        return CiscoRules(
            tuple(rules),
            file,
            (*notes, *self.device_notes),
            (FilterDevice(device, routes, file),),
            tuple(p for p, _ in points),
        )

    def build_unplaced(self, by_acl: dict[str, list[Rule]], acl_notes: dict[str, list[str]]) -> CiscoRules:
        """Bindings but no interface address and no route (an ACL-only excerpt): which traffic crosses each
        binding is unknown, so the bound ACLs are read as one unbound list, as from a file that binds none."""
        bound = {b.acl for b in self.bindings if b.acl in self.declared}
        used = [acl for acl in self.acls if acl in bound]
        rules = [replace(rule, order=i) for i, rule in enumerate(r for acl in used for r in by_acl.get(acl, []))]
        notes = [note for acl in used for note in acl_notes.get(acl, [])]
        notes.append(
            f"{self.path.name}: ACLs are bound to interfaces, but no interface has an address and there is no route, "
            "so which traffic crosses each binding is unknown: the bound ACLs are read as one unbound list "
            "(give the whole running configuration to apply each ACL to its own interface)"
        )
        return CiscoRules(tuple(rules), self.path.name, tuple(notes))

    def device_routes(self) -> tuple[Route, ...]:
        """Connected subnets of the interfaces that are up, then static routes, without repeats."""
        by_name = {i.name: i for i in self.interfaces.values()}
        by_nameif = {i.nameif: i for i in self.interfaces.values() if i.nameif}
        live = [i for i in self.interfaces.values() if i.shutdown is None]
        routes: dict[Route, None] = {Route(str(n), i.key): None for i in live for n in i.networks}
        for line in self.routes:
            route = self.route(line, by_nameif if line.by_nameif else by_name, live)
            if route is not None:
                routes.setdefault(route)
        return tuple(routes)

    def chosen_bindings(self) -> dict[tuple[str, Direction], dict[str, _Binding]]:
        """(interface, direction) -> family -> the binding in force (a later one replaces an earlier one)."""
        by_name = {i.name: i for i in self.interfaces.values()}
        by_nameif = {i.nameif: i for i in self.interfaces.values() if i.nameif}
        chosen: dict[tuple[str, Direction], dict[str, _Binding]] = {}
        for binding in self.bindings:
            if binding.family == "global":
                self.note(
                    binding.line,
                    f"global ACL {binding.acl} applies inbound on every named interface, after its own ACL",
                )
                targets = [i.key for i in self.interfaces.values() if i.nameif and i.shutdown is None]
            else:
                found = (by_nameif if binding.by_nameif else by_name).get(binding.interface)
                if found is not None and found.shutdown is not None:
                    continue
                targets = [found.key if found is not None else binding.interface]
            for key in targets:
                slot = chosen.setdefault((key, binding.direction), {})
                earlier = slot.get(binding.family)
                if earlier is not None:
                    self.note(
                        binding.line,
                        f"ACL {binding.acl} replaces {earlier.acl} (line {earlier.line}) on {key} {binding.direction}",
                    )
                slot[binding.family] = binding
        return chosen

    def route(self, line: _RouteLine, named: dict[str, _Interface], live: list[_Interface]) -> Route | None:
        """A static route's :class:`Route`: its interface as written, else the one whose subnet holds the next hop."""
        network = str(line.network)
        if line.interface is not None:
            iface = named.get(line.interface)
            if iface is None:
                if not line.interface.lower().startswith("null"):
                    self.note(line.line, f"route {network} names interface {line.interface}, which is not defined here")
                return Route(network, line.interface)
            if iface.shutdown is not None:
                self.note(line.line, f"route {network} goes out of shut-down interface {iface.key}: left out")
                return None
            return Route(network, iface.key)
        hop = line.next_hop
        best: tuple[int, _Interface] | None = None
        for iface in live:
            for subnet in iface.networks:
                inside = hop is not None and hop.version == subnet.version and hop in subnet
                if inside and (best is None or subnet.prefixlen > best[0]):
                    best = (subnet.prefixlen, iface)
        if best is None:
            self.note(line.line, f"skipped route {network}: next hop {hop} is in no connected subnet")
            return None
        return Route(network, best[1].key)

    def rules(self, entry: _Entry) -> list[Rule]:
        where = f"{self.path.name}:{entry.line}"
        cursor = _Cursor(self, entry)
        action: Action = "allow" if cursor.take() == "permit" else "deny"
        if entry.standard:
            if entry.asa:
                self.notes.append(f"{where}: skipped ASA standard ACL {entry.acl} (it selects routes, not traffic)")
                return []
            services: list[Service] = [("any", None)]
            src, dst = cursor.address(), None
        else:
            services = cursor.protocol()
            src = cursor.address()
            if cursor.port_ops_follow(source=True):
                cursor.ports("source")
            dst = cursor.address()
            if cursor.port_ops_follow(source=False):
                dst_ports = cursor.ports("destination")
                services = [(p, dst_ports) for p, _ in services]
        skip = cursor.trailing()
        if skip is not None:
            self.notes.append(f"{where}: skipped, {skip}")
            return []
        if cursor.unmodelled and action == "deny":
            self.notes.append(f"{where}: deny skipped, cannot model {', '.join(cursor.unmodelled)}")
            return []
        parts = [entry.remark] if entry.remark else []
        if cursor.unmodelled:
            parts.append(f"broader than the real entry: ignores {', '.join(cursor.unmodelled)}")
        out: list[Rule] = []
        for protocol, ports in services:
            if protocol.startswith("other:"):
                self.notes.append(f"{where}: skipped, protocol {protocol[6:]} is not tcp, udp or icmp")
                continue
            out.append(
                Rule(
                    action=action,
                    source=refs(src),
                    destination=refs(dst),
                    protocol=protocol,  # type: ignore[arg-type]  # tcp/udp/icmp/any once other: is skipped
                    ports=tuple(PortRange(low, high) for low, high in ports or ()),
                    origin=where,
                    name=entry.acl,
                    description="; ".join(parts),
                )
            )
        return out

    # -- objects ------------------------------------------------------------------------------------------

    def enter(self, name: str, kind: str, line: int, stack: tuple[str, ...]) -> _Object:
        """The object ``name`` referenced on ``line``, refusing undefined, mistyped, looping or too deep ones."""
        obj = self.objects.get(name)
        if obj is None:
            raise self.error(line, f"object {name} is not defined", tip="include its object/object-group lines")
        if obj.kind != kind:
            raise self.error(line, f"object {name} is a {obj.kind} object, not a {kind} one")
        if name in stack:
            raise self.error(obj.line, f"object-group loop {' -> '.join([*stack[stack.index(name) :], name])}")
        if len(stack) >= _MAX_DEPTH:
            raise self.error(obj.line, f"object groups nest more than {_MAX_DEPTH} deep")
        return obj

    def network(self, name: str, line: int, stack: tuple[str, ...] = ()) -> AddressSet | None:
        """The addresses of a network object or group; ``None`` when it holds something unmodellable (fqdn)."""
        if name in self.networks:
            return self.networks[name]
        obj = self.enter(name, "network", line, stack)
        result: AddressSet | None = netaddr.IPSet()
        for number, words in obj.body:
            if words[0] == "network-object":
                words = words[1:]
            if words[:1] in (["group-object"], ["object"]) and len(words) == 2:
                part = self.network(words[1], number, (*stack, name))
            elif words[:1] == ["fqdn"]:
                part = None
            elif words[:1] == ["nat"]:
                continue
            else:
                part = self.literal_network(number, words)
            result = None if part is None or result is None else result | part
        self.networks[name] = result
        return result

    def literal_network(self, number: int, words: list[str]) -> AddressSet:
        """``host A``, ``subnet A MASK``, ``A MASK``, ``A/len``, ``A /len``, ``range A B`` or ``any``."""
        given = " ".join(words)
        if words[0] == "subnet":
            words = words[1:]
        try:
            if words[:1] == ["host"] and len(words) == 2:
                return address_set([words[1]])
            if words[:1] == ["range"] and len(words) == 3:
                return address_set([f"{words[1]}-{words[2]}"], ranges=True)
            if words in (["any"], ["any4"]):
                return address_set(["0.0.0.0/0"])
            if words in (["any6"],):
                return address_set(["::/0"])
            if len(words) == 1 and "/" in words[0]:
                return address_set(words)
            if len(words) == 2 and words[1].startswith("/"):  # IOS: A /len
                return address_set([words[0] + words[1]])
            if len(words) == 2:
                return address_set([f"{words[0]}/{_prefix(words[1], wildcard=False)}"])
        except ValueError as e:
            raise self.error(number, f"'{given}': {e}") from e
        raise self.error(number, f"'{given}' is not a network object entry")

    def service(self, name: str, line: int, stack: tuple[str, ...] = ()) -> list[Service]:
        """The (protocol, ports) of a service object or group (a typed group: its protocol with each port set)."""
        if name in self.services:
            return self.services[name]
        obj = self.enter(name, "service", line, stack)
        out: list[Service] = []
        for number, words in obj.body:
            if words[0] == "group-object" and len(words) == 2:
                out.extend(self.service(words[1], number, (*stack, name)))
            elif words[0] == "port-object" and obj.protocol:
                ports = _Cursor(self, _Entry(name, number, words[1:], True, False, None, "")).ports("port-object")
                out.extend((p, ports) for p in _split_protocol(obj.protocol))
            elif words[0] in ("service-object", "service"):
                out.extend(self.service_line(number, words[1:], (*stack, name)))
            else:
                out.extend(self.service_line(number, words, (*stack, name)))
            if len(out) > _MAX_SERVICES:
                raise self.error(number, f"object {name} expands to more than {_MAX_SERVICES:,} services")
        self.services[name] = out
        return out

    def service_line(self, number: int, words: list[str], stack: tuple[str, ...]) -> list[Service]:
        """``tcp [source OP..] [destination] eq 443``, ``icmp echo``, ``object NAME``."""
        if words[:1] == ["object"] and len(words) == 2:
            return self.service(words[1], number, stack)
        cursor = _Cursor(self, _Entry("", number, words, True, False, None, ""))
        protocols = _split_protocol(cursor.take())
        ports: PortSet | None = None
        while cursor.more():
            word = cursor.take()
            if word == "source":
                cursor.ports("source")
            elif word == "destination" or word in _PORT_OPS:
                if word in _PORT_OPS:
                    cursor.i -= 1
                ports = cursor.ports("destination")
            # an ICMP type or similar: the service is broader than written, which errs toward reachability
        return [(_protocol(p, cursor), ports) for p in protocols]


class _Cursor:
    """Reads the words of one ACL entry (or object line) left to right."""

    def __init__(self, reader: _Reader, entry: _Entry) -> None:
        self.reader, self.entry, self.words, self.i = reader, entry, entry.words, 0
        self.unmodelled: list[str] = []

    def error(self, message: str) -> IngestError:
        text = " ".join(self.entry.words)
        return self.reader.error(self.entry.line, f"{message} in '{text[:80]}'")

    def more(self) -> bool:
        return self.i < len(self.words)

    def peek(self) -> str | None:
        return self.words[self.i] if self.more() else None

    def take(self, what: str = "a word") -> str:
        if not self.more():
            raise self.error(f"missing {what} (truncated line?)")
        self.i += 1
        return self.words[self.i - 1]

    def protocol(self) -> list[Service]:
        word = self.take("a protocol")
        if word in ("object-group", "object"):
            name = self.take("an object name")
            obj = self.reader.objects.get(name)
            if obj is not None and obj.kind == "protocol":
                return [(_protocol(w[-1], self), None) for _, w in obj.body if w[0] == "protocol-object"]
            return self.reader.service(name, self.entry.line)
        return [(_protocol(word, self), None)]

    def address(self) -> AddressSet | None:
        word = self.take("an address")
        line, asa = self.entry.line, self.entry.asa
        try:
            if word in ("any", "any4", "any6"):
                return None
            if word == "host":
                return address_set([self.take("the host address")])
            if word in ("object", "object-group"):
                addresses = self.reader.network(self.take("an object name"), line)
                if addresses is None:
                    self.unmodelled.append(f"{word} {self.words[self.i - 1]} (fqdn)")
                return addresses
            if word == "interface":
                self.unmodelled.append(f"interface {self.take('an interface name')}")
                return None
            if "/" in word:
                return address_set([word])
            mask = self.peek()
            if mask is None or mask.count(".") != 3:
                if self.entry.standard and not asa:  # IOS standard: a bare address is one host
                    return address_set([word])
                raise self.error(f"address {word} has no {'netmask' if asa else 'wildcard'}")
            self.i += 1
            return address_set([f"{word}/{_prefix(mask, wildcard=not asa)}"])
        except ValueError as e:
            raise self.error(str(e)) from e

    def port_ops_follow(self, *, source: bool) -> bool:
        word = self.peek()
        if word in _PORT_OPS:
            return True
        if word == "object-group" and self.i + 1 < len(self.words):
            obj = self.reader.objects.get(self.words[self.i + 1])
            return obj is not None and obj.kind == "service" and obj.protocol is not None
        return False

    def ports(self, side: str) -> PortSet:
        """One port operator and its operands; source ports are noted as unmodelled."""
        start = self.i
        op = self.take("a port operator")
        if op == "object-group":
            name = self.take("a service group name")
            ports = normalise_ports(r for _, p in self.reader.service(name, self.entry.line) for r in p or [(0, 65535)])
        elif op == "range":
            low, high = self.port(), self.port()
            if low > high:
                raise self.error(f"port range {low} {high} is backwards")
            ports = ((low, high),)
        elif op in ("lt", "gt", "neq"):
            port = self.port()
            if op == "lt":
                ports = ((0, port - 1),) if port > 0 else ()
            else:
                ports = ((port + 1, 65535),) if op == "gt" and port < 65535 else ()
                ports = complement_ports(((port, port),)) if op == "neq" else ports
            if not ports:
                raise self.error(f"{op} {port} matches no port")
        elif op == "eq":
            values = [self.port()]
            while not self.entry.asa and self.peek() is not None and _is_port(self.peek() or ""):
                values.append(self.port())
            ports = normalise_ports((v, v) for v in values)
        else:
            raise self.error(f"'{op}' is not a port operator (eq, neq, lt, gt, range)")
        if side == "source":
            self.unmodelled.append("source ports " + " ".join(self.words[start : self.i]))
        return ports

    def port(self) -> int:
        word = self.take("a port")
        if word.isdigit() and int(word) <= 65535:
            return int(word)
        if word in CISCO_PORTS:
            return CISCO_PORTS[word]
        raise self.error(f"'{word}' is not a port number or a known port name")

    def trailing(self) -> str | None:
        """Read what follows the addresses; return why the entry opens no new flow, if it does not."""
        skip: str | None = None
        while self.more():
            word = self.take()
            if word == "established":
                skip = "it matches only established TCP sessions (no new flows)"
            elif word == "inactive":
                skip = "it is inactive"
            elif word in ("log", "log-input"):
                while self.peek() is not None and (self.peek() in _LOG_WORDS or (self.peek() or "").isdigit()):
                    self.i += 1
                if self.peek() == "interval":
                    self.i += 2
            elif word in _UNMODELLED_1:
                self.unmodelled.append(f"{word} {self.take(f'a value after {word}')}")
            elif word == "ttl":
                op = self.take("a ttl operator")
                self.unmodelled.append(f"ttl {op} {self.take('a ttl')}")
                if op == "range":
                    self.take("a ttl")
            elif word in _FLAGS or word[:1] in "+-":
                self.unmodelled.append(word)
            elif self.entry.words[1:2] in (["icmp"], ["icmp6"]):
                self.unmodelled.append(f"icmp type {word}")
            else:
                raise self.error(f"unexpected '{word}'")
        return skip


def _zero(text: str) -> str:
    """ASA writes ``route outside 0 0 NEXTHOP`` for the default route."""
    return "0.0.0.0" if text == "0" else text  # noqa: S104  # a netmask/prefix, not a bind address


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _protocol(word: str, cursor: _Cursor) -> str:
    if word in _PROTOCOLS:
        return _PROTOCOLS[word]
    if (word.isdigit() and int(word) <= 255) or word in _OTHER_PROTOCOLS:
        return f"other:{word}"
    raise cursor.error(f"'{word}' is not a protocol")


def _split_protocol(word: str) -> tuple[str, ...]:
    return ("tcp", "udp") if word == "tcp-udp" else (word,)


def _is_port(word: str) -> bool:
    return (word.isdigit() and int(word) <= 65535) or word in CISCO_PORTS


def _prefix(mask: str, *, wildcard: bool) -> int:
    """Prefix length of a netmask or (IOS) wildcard; ``ValueError`` when the bits are not contiguous."""
    value = int(ipaddress.IPv4Address(mask))
    hosts = value if wildcard else value ^ 0xFFFFFFFF
    if hosts & (hosts + 1):
        kind = "wildcard" if wildcard else "netmask"
        raise ValueError(f"{kind} {mask} is not contiguous; Wardwatch models networks as CIDRs (split the entry)")
    return 32 - hosts.bit_length()
