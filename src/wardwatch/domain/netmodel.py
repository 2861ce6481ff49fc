"""The clinical network model: zones with their subnets and VLANs, ordered firewall/ACL rules, the intended
zone policy, and the hosts and observed flows the analyses run on.  Pure data plus two lookups every analysis
needs: which zone (and zone subnet) an address is in (:meth:`NetworkModel.zone_of`, :meth:`NetworkModel.subnet_of`)
and what the network decides for one packet (:meth:`NetworkModel.decide`).

How a packet is decided (every evaluator -- the compiled models, reachability, the worm -- agrees with this):

1. **Same subnet.**  An address's subnet is the most specific subnet of any zone containing it (one L2 segment /
   VLAN).  When source and destination have the same subnet (the same CIDR), the packet never crosses a firewall,
   so no rule can allow or deny it: the model's ``intra_zone`` action decides (``allow`` by default; ``deny``
   models private VLANs / host isolation), with no rule.  An address in no zone subnet has no subnet and never
   takes this step.
2. **Enforcement points on the way.**  An ACL bound to an interface of a router or firewall (an
   :class:`EnforcementPoint` of a :class:`FilterDevice`) filters the packets that go through that device from
   (``in``) or to (``out``) that interface; a device is on a packet's way when its routes put the two ends behind
   different interfaces.  Every point on the way must allow the packet: its first matching rule decides, else
   its implicit deny.  The first point that denies decides the packet.
3. **Unbound rules.**  The rules bound to no point (a YAML rule list, an iptables FORWARD chain, Cisco ACLs in a
   file that binds none) are one ordered list every packet crossing subnets meets: its first match decides.
4. **Fallback.**  With no unbound rules, a packet that points on its way let through is allowed.  Otherwise
   ``intra_zone`` when both ends are in the same zone (different subnets of one zone), else ``default_action``.

Addresses are IPv4/IPv6 text; networks are CIDR text (``10.20.0.0/16``).  A rule side is a tuple of *network
references*: a zone name, a CIDR, a single address, or ``any``.  Ports are inclusive ranges; no range means any
port.  Everything is immutable so an analysis can share a model between threads.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

__all__ = [
    "ANY",
    "ANY_INTERFACE",
    "Action",
    "Conduit",
    "Decision",
    "Direction",
    "EnforcementPoint",
    "FilterDevice",
    "HostFacts",
    "NetworkModel",
    "ObservedFlow",
    "PlacementRule",
    "PortRange",
    "Protocol",
    "Route",
    "Rule",
    "Zone",
    "ip_int",
]

ANY = "any"
ANY_INTERFACE = "*"
"""The interface of an :class:`EnforcementPoint` that filters every packet through its device whatever interface it
enters by (a Linux firewall's FORWARD chain); its direction is ``in``."""
Action = Literal["allow", "deny"]
Protocol = Literal["tcp", "udp", "icmp", "any"]
Direction = Literal["in", "out"]

#: Zone kinds of the default zone model (METHODS.md 6.1); a zone may use any other word.
ZONE_KINDS: tuple[str, ...] = (
    "internet", "dmz", "enterprise", "clinical-apps", "life-sustaining", "monitoring", "imaging", "lab",
    "clinical-devices", "biomed", "vendor-remote", "building", "guest", "security", "servers",
)  # fmt: skip


def ip_int(address: str) -> tuple[int, int]:
    """(IP version, integer value) of an address; raises ``ValueError`` for bad text."""
    ip = ipaddress.ip_address(address.strip())
    return ip.version, int(ip)


@dataclass(frozen=True, slots=True)
class PortRange:
    """Inclusive port range."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high <= 65535:
            raise ValueError(f"bad port range {self.low}-{self.high}")

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.low <= port <= self.high

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


@dataclass(frozen=True, slots=True)
class Zone:
    """A network zone: where a kind of device lives."""

    name: str
    kind: str = "other"
    """One of :data:`ZONE_KINDS` or another word."""
    subnets: tuple[str, ...] = ()
    """CIDRs."""
    vlans: tuple[int, ...] = ()
    site: str | None = None
    description: str = ""
    entry_point: bool = False
    """An attacker may start here (internet, guest Wi-Fi, vendor remote access, user workstations)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One firewall/ACL entry.  ``source``/``destination`` are network references (zone, CIDR, address, any)."""

    action: Action
    source: tuple[str, ...] = (ANY,)
    destination: tuple[str, ...] = (ANY,)
    protocol: Protocol = "any"
    ports: tuple[PortRange, ...] = ()
    """Destination ports; empty = any."""
    order: int = 0
    """Evaluation order (lower first); importers number rules as they appear."""
    origin: str = ""
    """Where the rule was defined, for evidence: ``core-fw.txt:42`` or ``network.yaml rules[3]``."""
    name: str = ""
    description: str = ""
    point: str = ""
    """The :class:`EnforcementPoint` (an ACL bound to an interface in one direction) this rule belongs to; ``""``
    for the model's unbound rule list, which every packet crossing subnets meets."""

    def matches_service(self, protocol: str, port: int | None) -> bool:
        """Whether the protocol and destination port fall under this rule (no ports = any port)."""
        return _service_matches(self, protocol, port)

    @property
    def is_any_any(self) -> bool:
        """An allow from anywhere to anywhere on any service (the usual vendor mistake)."""
        return (
            self.action == "allow"
            and self.source == (ANY,)
            and self.destination == (ANY,)
            and self.protocol == "any"
            and not self.ports
        )


@dataclass(frozen=True, slots=True)
class Route:
    """A network a device reaches through one of its interfaces (connected subnet or static route)."""

    network: str
    """CIDR; ``0.0.0.0/0`` or ``::/0`` for a default route."""
    interface: str


@dataclass(frozen=True, slots=True)
class FilterDevice:
    """A router, layer-3 switch or firewall whose ACLs are bound to its interfaces.

    Which interface an address is behind is the longest-prefix match of its routes (connected subnets and static
    routes).  A packet goes through the device when its source and destination are behind two different
    interfaces; an address no route covers is not reached through this device."""

    name: str
    routes: tuple[Route, ...] = ()
    origin: str = ""
    """The configuration file, for evidence."""


@dataclass(frozen=True, slots=True)
class EnforcementPoint:
    """An ACL bound to one interface of a :class:`FilterDevice` in one direction (``ip access-group NAME in``,
    ``access-group NAME out interface inside``).  Its rules are those whose :attr:`Rule.point` is :attr:`name`;
    a packet that goes through the point and matches none of them gets :attr:`default_action` (Cisco's implicit
    deny)."""

    name: str
    """Unique in the model: ``dist-sw01 Vlan20 in``."""
    device: str
    interface: str
    """An interface of the device, or :data:`ANY_INTERFACE` (every packet through the device, direction ``in``)."""
    direction: Direction
    acl: str = ""
    default_action: Action = "deny"
    origin: str = ""
    """Where the binding is written: ``dist-sw01.cfg:88``."""


@dataclass(frozen=True, slots=True)
class Conduit:
    """An intended zone-to-zone service (IEC 62443 conduit): e.g. monitoring → clinical-apps tcp/2575 (HL7)."""

    source_zone: str
    destination_zone: str
    protocol: Protocol = "tcp"
    ports: tuple[PortRange, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class PlacementRule:
    """Which device categories (device types or criticalities) belong in which zones."""

    category: str
    """A device type (``infusion-pump``), a criticality (``life-sustaining``) or ``workstation``."""
    zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HostFacts:
    """A host as the network analyses need it (built from the inventory, discovery and findings)."""

    address: str
    device_id: int | None = None
    name: str = ""
    device_type: str | None = None
    criticality: str | None = None
    os: str | None = None
    """``Windows 7``, ``Linux``..."""
    services: tuple[tuple[str, int], ...] = ()
    """(protocol, port) the host was seen serving."""
    vulnerabilities: tuple[str, ...] = ()
    """Open findings exploitable over the network (CVE ids), e.g. ``CVE-2017-0144``."""
    smbv1: bool = False
    """Offers SMBv1 (discovery finding)."""
    unit: str | None = None
    site: str | None = None
    extra_addresses: tuple[str, ...] = ()
    """Other interfaces (dual-homed hosts bridge zones)."""


@dataclass(frozen=True, slots=True)
class ObservedFlow:
    """Traffic seen between two hosts on one service (from discovery conversations)."""

    client: str
    server: str
    protocol: str
    port: int | None
    application: str | None = None
    """``hl7``, ``dicom``, ``smb``... when identified."""
    packets: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules decide for one packet, and which rule decided (``None`` = no rule: the same-subnet,
    intra-zone or default action, or the implicit deny of :attr:`point`)."""

    action: Action
    rule: Rule | None
    point: str = ""
    """The enforcement point whose implicit deny (no rule matched) refused the packet; ``""`` otherwise."""


@dataclass(frozen=True)  # not slots: the lookups below are cached on the instance
class NetworkModel:
    """Zones, ordered rules and the intended policy of one hospital network."""

    zones: tuple[Zone, ...] = ()
    rules: tuple[Rule, ...] = ()
    default_action: Action = "deny"
    """What happens to traffic between zones that no rule matches."""
    intra_zone: Action = "allow"
    """Traffic inside one zone subnet (same VLAN) crosses no firewall and always gets this action; traffic between
    two subnets of one zone gets it when no rule matches.  ``deny`` models private VLANs / host isolation."""
    conduits: tuple[Conduit, ...] = ()
    placement: tuple[PlacementRule, ...] = ()
    sources: tuple[str, ...] = field(default=())
    """Files the model was read from."""
    devices: tuple[FilterDevice, ...] = ()
    """Devices whose ACLs are bound to interfaces (their routes say which packets go through them)."""
    points: tuple[EnforcementPoint, ...] = ()
    """ACL bindings; a packet must be allowed by every point on its way (module docstring)."""
    notes: tuple[str, ...] = ()
    """What the readers skipped or approximated, one line each (``core-fw.rules:31: ...``)."""

    def point_rule_counts(self) -> dict[str, int]:
        """How many rules each enforcement point holds."""
        counts = {point.name: 0 for point in self.points}
        for rule in self.rules:
            if rule.point in counts:
                counts[rule.point] += 1
        return counts

    @cached_property
    def _zones(self) -> Mapping[str, Zone]:
        return {z.name: z for z in self.zones}

    def zone(self, name: str) -> Zone | None:
        """A zone by name."""
        return self._zones.get(name)

    @cached_property
    def _prefixes(self) -> list[tuple[int, int, int, str]]:
        """(version, first, last, zone) sorted, smallest networks last among equal starts (longest prefix wins)."""
        out: list[tuple[int, int, int, str]] = []
        for zone in self.zones:
            for cidr in zone.subnets:
                net = ipaddress.ip_network(cidr, strict=False)
                out.append((net.version, int(net.network_address), int(net.broadcast_address), zone.name))
        out.sort(key=lambda t: (t[0], t[1], -(t[2] - t[1])))
        return out

    def zone_of(self, address: str) -> str | None:
        """The zone of an address: the most specific subnet containing it; ``None`` when in no zone."""
        found = self._locate(address)
        return found[0] if found else None

    @cached_property
    def _subnet_texts(self) -> Mapping[tuple[int, int, int], str]:
        """(version, first, last) -> the CIDR as its zone writes it (the later zone wins a duplicate, as in zone_of)."""
        out: dict[tuple[int, int, int], str] = {}
        for zone in self.zones:
            for cidr in zone.subnets:
                net = ipaddress.ip_network(cidr, strict=False)
                out[(net.version, int(net.network_address), int(net.broadcast_address))] = cidr
        return out

    def _locate(self, address: str) -> tuple[str, tuple[int, int, int]] | None:
        """(zone, (version, first, last) of the most specific zone subnet) of an address; ``None`` in no zone."""
        version, value = ip_int(address)
        prefixes = self._prefixes
        i = bisect.bisect_right(prefixes, (version, value, 1 << 130, "\uffff"))
        best: tuple[int, int, int, str] | None = None
        while i > 0:
            i -= 1
            v, first, last, name = prefixes[i]
            if v != version:
                break
            if first <= value <= last and (best is None or last - first < best[2] - best[1]):
                best = (v, first, last, name)
        return (best[3], best[:3]) if best else None

    def subnet_of(self, address: str) -> str | None:
        """The most specific zone subnet containing an address (its CIDR as the zone writes it); ``None`` when in
        no zone.  Two addresses with the same subnet talk without crossing a firewall (see :meth:`decide`)."""
        found = self._locate(address)
        return self._subnet_texts[found[1]] if found else None

    def _side_matches(self, refs: Iterable[str], address: str, zone: str | None) -> bool:
        for ref in refs:
            if ref in (ANY, zone):
                return True
            if "/" in ref or ref[:1].isdigit() or ":" in ref:
                try:
                    if ipaddress.ip_address(address) in ipaddress.ip_network(ref, strict=False):
                        return True
                except ValueError:
                    continue
        return False

    @cached_property
    def ordered_rules(self) -> tuple[Rule, ...]:
        """Rules in evaluation order."""
        return tuple(sorted(self.rules, key=lambda r: r.order))

    @cached_property
    def has_unbound_rules(self) -> bool:
        """Whether any rule belongs to no enforcement point (the unbound list every cross-subnet packet meets)."""
        return any(not rule.point for rule in self.rules)

    def interface_of(self, device: FilterDevice, address: str) -> str | None:
        """The interface of ``device`` an address is behind (longest-prefix match of its routes), or ``None``."""
        ip = ipaddress.ip_address(address)
        best: tuple[int, str] | None = None
        for route in device.routes:
            net = ipaddress.ip_network(route.network, strict=False)
            if net.version == ip.version and ip in net and (best is None or net.prefixlen > best[0]):
                best = (net.prefixlen, route.interface)
        return best[1] if best else None

    def points_on_way(self, source: str, destination: str) -> tuple[EnforcementPoint, ...]:
        """The enforcement points a packet goes through, in the model's order: on each device whose routes put
        the two ends behind different interfaces, the ``in`` binding of the source's interface and the ``out``
        binding of the destination's."""
        if not self.points:
            return ()
        sides: dict[str, tuple[str, str] | None] = {}
        for device in self.devices:
            src, dst = self.interface_of(device, source), self.interface_of(device, destination)
            sides[device.name] = (src, dst) if src is not None and dst is not None and src != dst else None
        out: list[EnforcementPoint] = []
        for point in self.points:
            way = sides.get(point.device)
            if way is not None and point.interface in (ANY_INTERFACE, way[0 if point.direction == "in" else 1]):
                out.append(point)
        return tuple(out)

    def _first_match(self, rules: Iterable[Rule], source: str, destination: str, zones: tuple[str | None, str | None],
                     protocol: str, port: int | None) -> Rule | None:  # fmt: skip
        for rule in rules:
            if not _service_matches(rule, protocol, port):
                continue
            if self._side_matches(rule.source, source, zones[0]) and self._side_matches(
                rule.destination, destination, zones[1]
            ):
                return rule
        return None

    def decide(self, source: str, destination: str, protocol: str, port: int | None) -> Decision:
        """What the network does with one packet (module docstring): same zone subnet -> the intra-zone action
        (no firewall in between); else every enforcement point on the way must allow it (its first matching rule,
        else its implicit deny); then the unbound rules' first match, else intra-zone (same zone) or the default
        -- unless there are no unbound rules and points on the way allowed it."""
        src, dst = self._locate(source), self._locate(destination)
        if src is not None and dst is not None and src[1] == dst[1]:
            return Decision(self.intra_zone, None)
        zones = (src[0] if src else None), (dst[0] if dst else None)
        first_allow: Rule | None = None
        on_way = self.points_on_way(source, destination)
        for point in on_way:
            rules = (rule for rule in self.ordered_rules if rule.point == point.name)
            rule = self._first_match(rules, source, destination, zones, protocol, port)
            if rule is None:
                if point.default_action == "deny":
                    return Decision("deny", None, point.name)
            elif rule.action == "deny":
                return Decision("deny", rule)
            elif first_allow is None:
                first_allow = rule
        if self.has_unbound_rules:
            unbound = (rule for rule in self.ordered_rules if not rule.point)
            rule = self._first_match(unbound, source, destination, zones, protocol, port)
            if rule is not None:
                return Decision(rule.action, rule)
        elif on_way:
            return Decision("allow", first_allow)
        if zones[0] is not None and zones[0] == zones[1]:
            return Decision(self.intra_zone, None)
        return Decision(self.default_action, None)


def _service_matches(rule: Rule, protocol: str, port: int | None) -> bool:
    if rule.protocol != "any" and rule.protocol != protocol:
        return False
    if not rule.ports:
        return True
    return port is not None and any(port in r for r in rule.ports)
