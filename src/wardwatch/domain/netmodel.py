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
2. **Rules.**  Otherwise the first matching rule in evaluation order decides.
3. **Fallback.**  Otherwise ``intra_zone`` when both ends are in the same zone (different subnets of one zone),
   else ``default_action``.

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
    "Action",
    "Conduit",
    "Decision",
    "HostFacts",
    "NetworkModel",
    "ObservedFlow",
    "PlacementRule",
    "PortRange",
    "Protocol",
    "Rule",
    "Zone",
    "ip_int",
]

ANY = "any"
Action = Literal["allow", "deny"]
Protocol = Literal["tcp", "udp", "icmp", "any"]

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
    """What the rules decide for one packet, and which rule decided (``None`` = the default action)."""

    action: Action
    rule: Rule | None


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

    def decide(self, source: str, destination: str, protocol: str, port: int | None) -> Decision:
        """What the network does with one packet (module docstring): same zone subnet -> the intra-zone action
        (no firewall in between), else the first matching rule, else intra-zone (same zone) or the default."""
        src, dst = self._locate(source), self._locate(destination)
        if src is not None and dst is not None and src[1] == dst[1]:
            return Decision(self.intra_zone, None)
        src_zone, dst_zone = (src[0] if src else None), (dst[0] if dst else None)
        for rule in self.ordered_rules:
            if not _service_matches(rule, protocol, port):
                continue
            if self._side_matches(rule.source, source, src_zone) and self._side_matches(
                rule.destination, destination, dst_zone
            ):
                return Decision(rule.action, rule)
        if src_zone is not None and src_zone == dst_zone:
            return Decision(self.intra_zone, None)
        return Decision(self.default_action, None)


def _service_matches(rule: Rule, protocol: str, port: int | None) -> bool:
    if rule.protocol != "any" and rule.protocol != protocol:
        return False
    if not rule.ports:
        return True
    return port is not None and any(port in r for r in rule.ports)
