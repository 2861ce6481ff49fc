"""The one compiled form of a :class:`~wardwatch.domain.netmodel.NetworkModel`, shared by every network analysis.

:meth:`NetworkModel.decide` is the reference: it parses every network reference of every rule on each call, which
is fine for one packet and far too slow for 200,000 hosts, 10,000 rules and five million flows.
:class:`CompiledModel` does the parsing once:

* An address is an integer on one line (:func:`address_key`: IPv4 as is, IPv6 shifted past 2**128, so the line
  holds a gap between the two families).  The line is cut at every zone-subnet and rule-CIDR boundary.  Inside
  one elementary interval every address has the same zone, the same most specific zone subnet (as
  :meth:`NetworkModel.zone_of` and :meth:`NetworkModel.subnet_of` decide) and the same answer to "does side X of
  rule i match?".  Intervals with the same answers share one :class:`CompiledClass` (:meth:`CompiledModel.locate`:
  one bisect); :meth:`CompiledModel.intervals` lists them for the analyses that need the addresses of a class.
* Each class carries two bit masks over the rules in evaluation order: the rules whose source side matches,
  and the rules whose destination side matches (a zone reference matches the addresses whose *most specific*
  zone it is).  A service (protocol, port) also maps to a mask, from the rules' port ranges cut into elementary
  port intervals.
* A packet between two addresses of one zone subnet crosses no firewall: it gets the intra-zone action whatever
  the rules say (:data:`SAME_SUBNET`; :meth:`NetworkModel.decide` step 1).  Classes never span two subnets, so
  this is a property of the (source class, destination class) pair.
* Otherwise the deciding rule of a packet is the lowest bit of ``src_mask & dst_mask & service_mask``, else the
  intra-zone action (same zone) or the default action; decisions are cached per (source class, destination
  class, service class).

The masks are Python integers used as bit sets: the operations are C loops over machine words, which is why
this is hand-written rather than built on ``netaddr.IPSet`` or a graph library: the analyses need *which* rule
decides, in order, and a per-rule set lookup would be as slow as ``decide``.  Users: :mod:`.net_reach`
(reachability and attack paths, per side classes with their address ranges), :mod:`.net_flows` (aggregated
flows for :mod:`.segmentation` and :mod:`.policy_sim`) and :mod:`.worm`.  Tests check it against
``NetworkModel.decide`` on random models and packets.
"""

from __future__ import annotations

import bisect
import ipaddress
import socket
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from wardwatch.domain.netmodel import ANY, ANY_INTERFACE, Action, Decision, NetworkModel, Rule, ip_int

__all__ = [
    "INTRA_ZONE",
    "LINE_END",
    "NO_RULE",
    "POINTS_ALLOW",
    "SAME_SUBNET",
    "V6_OFFSET",
    "Behind",
    "CompiledClass",
    "CompiledModel",
    "address_key",
    "merge_ranges",
]

#: :meth:`CompiledModel.rule_index` when no rule matched and the model's default action applies.
NO_RULE = -1
#: :meth:`CompiledModel.rule_index` when no rule matched and both ends are in the same zone.
INTRA_ZONE = -2
#: :meth:`CompiledModel.rule_index` when both ends are in one zone subnet: no firewall in between, the intra-zone
#: action applies whatever the rules say.
SAME_SUBNET = -3
#: :meth:`CompiledModel.rule_index` when no rule matched, there are no unbound rules and the enforcement points on
#: the way let the packet through by their default action.
POINTS_ALLOW = -4
_POINT_DEFAULT = -5
"""``_POINT_DEFAULT - p``: the implicit deny (default action) of enforcement point ``p`` decided the packet."""

_T = TypeVar("_T")

V6_OFFSET = 1 << 128
"""Where IPv6 starts on the address line (an IPv6 address sits at ``2**128 + value``)."""
LINE_END = 1 << 129
"""Exclusive end of the address line."""
_PORT_LIMIT = 65536


def address_key(address: str) -> int:
    """The integer of an address on the one line shared by IPv4 and IPv6; ``ValueError`` for bad text."""
    try:  # inet_pton (pure, no I/O) accepts exactly the dotted quads ipaddress does, ten times faster
        return int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big")
    except (OSError, ValueError):
        pass
    version, value = ip_int(address)
    return value if version == 4 else value + V6_OFFSET


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, merged inclusive intervals (touching intervals join)."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _network_span(ref: str) -> tuple[int, int] | None:
    """[first, last] keys of a CIDR/address reference, or ``None`` when ``decide`` would not read it as one."""
    if not ("/" in ref or ref[:1].isdigit() or ":" in ref):
        return None
    try:
        net = ipaddress.ip_network(ref, strict=False)
    except ValueError:
        return None
    offset = 0 if net.version == 4 else V6_OFFSET
    return offset + int(net.network_address), offset + int(net.broadcast_address)


@dataclass(frozen=True, slots=True)
class CompiledClass:
    """Addresses the model cannot tell apart, as the source or as the destination of a packet."""

    zone: str | None
    subnet: str | None
    """The most specific zone subnet holding the addresses (the CIDR as the zone writes it)."""
    source_mask: int
    destination_mask: int
    interfaces: tuple[int, ...] = ()
    """Per :attr:`CompiledModel.devices` entry, the index of the interface the addresses are behind (its
    longest-prefix route), ``-1`` when no route of that device covers them."""


class Behind:
    """Which destination classes (bit sets) are behind each interface of each filtering device, for
    :meth:`CompiledModel.points_filter`; the analyses add their classes as they create them."""

    def __init__(self, devices: int) -> None:
        self.by_interface: list[dict[int, int]] = [{} for _ in range(devices)]
        """Per device, interface -> classes behind it."""
        self.routed: list[int] = [0] * devices
        """Per device, the classes behind any of its interfaces."""

    def add(self, interfaces: tuple[int, ...], bit: int) -> None:
        """Record a class (``bit``) with its :attr:`CompiledClass.interfaces`."""
        for d, iface in enumerate(interfaces):
            if iface >= 0:
                self.by_interface[d][iface] = self.by_interface[d].get(iface, 0) | bit
                self.routed[d] |= bit


class CompiledModel:
    """A :class:`NetworkModel` compiled to integer ranges and rule bit masks (see the module docstring)."""

    def __init__(self, model: NetworkModel) -> None:
        self.model = model
        self.rules: tuple[Rule, ...] = model.ordered_rules
        """The model's rules in evaluation order; bit ``i`` of a mask is ``rules[i]``."""
        self.named: list[tuple[int, int]] = []
        """Merged intervals named by a CIDR or an address on a rule side without ``any``: the rules speak for
        these addresses even when no zone holds them."""
        self._build_points()
        self._build_addresses()
        self._build_ports()
        self._proto_masks: dict[str, int] = {}
        self.service_ids: dict[tuple[str, int | None], int] = {}
        """(protocol, port) -> :meth:`service_class` (a cache the hot loops read inline)."""
        self._service_masks: list[int] = []
        self._service_by_mask: dict[int, int] = {}
        self.decisions: dict[tuple[int, int, int], int] = {}
        """(source class, destination class, service class) -> :meth:`rule_index` (a cache read inline)."""
        self.located: dict[str, int] = {}
        """Address text -> :meth:`locate` (a cache read inline)."""

    # -- construction -------------------------------------------------------------------------------------------

    def _build_points(self) -> None:
        model = self.model
        self.points = model.points
        """The model's enforcement points; ``p`` in the lookups below indexes this."""
        index = {point.name: p for p, point in enumerate(self.points)}
        self.unbound_mask = 0
        """Rules bound to no point (the list every packet crossing subnets meets)."""
        self.point_masks = [0] * len(self.points)
        """Per point, the bits of its rules."""
        for i, rule in enumerate(self.rules):
            if not rule.point:
                self.unbound_mask |= 1 << i
            elif rule.point in index:
                self.point_masks[index[rule.point]] |= 1 << i
            else:
                raise ValueError(
                    f"rule {rule.origin or rule.order} names enforcement point {rule.point!r}, not in the model"
                )
        self.deny_mask = sum(1 << i for i, rule in enumerate(self.rules) if rule.action == "deny")
        self.devices = tuple(
            device.name for device in model.devices if any(p.device == device.name for p in self.points)
        )
        """Devices with at least one enforcement point (the others filter nothing)."""
        dev_index = {name: d for d, name in enumerate(self.devices)}
        self.interfaces: list[list[str]] = [[] for _ in self.devices]
        """Per device, its interface names (the indexes of :attr:`CompiledClass.interfaces`)."""
        self._routes: list[dict[tuple[int, int], int]] = [{} for _ in self.devices]
        for device in model.devices:
            d = dev_index.get(device.name)
            if d is None:
                continue
            names = self.interfaces[d]
            for route in device.routes:
                if route.interface not in names:
                    names.append(route.interface)
                self._routes[d][_strict_span(route.network)] = names.index(route.interface)
        self.bindings: dict[tuple[int, int, str], list[int]] = {}
        """(device, interface, ``in``/``out``) -> the points bound there, in model order."""
        self.through: dict[int, list[int]] = {}
        """Device -> its :data:`ANY_INTERFACE` points (every packet through the device meets them)."""
        for p, point in enumerate(self.points):
            d = dev_index.get(point.device)
            if d is None:
                continue
            if point.interface == ANY_INTERFACE:
                self.through.setdefault(d, []).append(p)
                continue
            names = self.interfaces[d]
            if point.interface not in names:
                names.append(point.interface)
            self.bindings.setdefault((d, names.index(point.interface), point.direction), []).append(p)
        self._outs: list[list[tuple[int, list[int]]]] = [[] for _ in self.devices]
        """Per device, (interface, its ``out`` points)."""
        for (d, iface, direction), points in self.bindings.items():
            if direction == "out":
                self._outs[d].append((iface, points))
        self._ways: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[int, ...]] = {}

    def _build_addresses(self) -> None:
        subnets: dict[tuple[int, int], tuple[str, str]] = {}
        for zone in self.model.zones:
            for cidr in zone.subnets:
                span = _strict_span(cidr)
                subnets[span] = (zone.name, cidr)  # the later zone wins a duplicate subnet, as in zone_of
        any_src = any_dst = 0
        zone_src: dict[str, int] = {}
        zone_dst: dict[str, int] = {}
        events: list[tuple[int, int, int]] = []  # (key, +1/-1, bit index * 2 + side)
        named: list[tuple[int, int]] = []
        parsed: dict[str, tuple[int, int] | None] = {}  # closing denies repeat the same blocks across many rules
        for i, rule in enumerate(self.rules):
            bit = 1 << i
            for side, refs in ((0, rule.source), (1, rule.destination)):
                spans: list[tuple[int, int]] = []
                for ref in refs:
                    if ref == ANY:
                        if side == 0:
                            any_src |= bit
                        else:
                            any_dst |= bit
                        continue
                    by_zone = zone_src if side == 0 else zone_dst
                    by_zone[ref] = by_zone.get(ref, 0) | bit
                    if ref in parsed:
                        ref_span = parsed[ref]
                    else:
                        ref_span = parsed[ref] = _network_span(ref)
                    if ref_span is not None:
                        spans.append(ref_span)
                        events.append((ref_span[0], 1, i * 2 + side))
                        events.append((ref_span[1] + 1, -1, i * 2 + side))
                if ANY not in refs:
                    named += spans
        self.named = merge_ranges(named)
        bounds = {0}
        for first, last in subnets:
            bounds.add(first)
            bounds.add(last + 1)
        for routes in self._routes:
            for first, last in routes:
                bounds.add(first)
                bounds.add(last + 1)
        bounds.update(key for key, _, _ in events)
        self._bounds: list[int] = sorted(bounds)
        zones = _interval_zones(self._bounds, subnets)
        behind = [_interval_owners(self._bounds, routes) for routes in self._routes]
        events.sort()
        counts: dict[int, int] = {}
        cidr_masks = [0, 0]
        e = 0
        classes: dict[tuple[str | None, str | None, int, int, tuple[int, ...]], int] = {}
        self.classes: list[CompiledClass] = []
        self._interval_class: list[int] = []
        for j, start in enumerate(self._bounds):
            while e < len(events) and events[e][0] == start:
                _, delta, slot = events[e]
                e += 1
                count = counts.get(slot, 0) + delta
                counts[slot] = count
                side, bit = slot & 1, 1 << (slot >> 1)
                if count > 0:
                    cidr_masks[side] |= bit
                else:
                    cidr_masks[side] &= ~bit
            zone_name, subnet = zones[j]
            src = any_src | cidr_masks[0] | (zone_src.get(zone_name, 0) if zone_name is not None else 0)
            dst = any_dst | cidr_masks[1] | (zone_dst.get(zone_name, 0) if zone_name is not None else 0)
            ifaces = tuple(-1 if (iface := b[j]) is None else iface for b in behind)
            signature = (zone_name, subnet, src, dst, ifaces)
            index = classes.get(signature)
            if index is None:
                index = classes[signature] = len(self.classes)
                self.classes.append(CompiledClass(zone_name, subnet, src, dst, ifaces))
            self._interval_class.append(index)

    def _build_ports(self) -> None:
        portless = 0
        events: list[tuple[int, int, int]] = []
        for i, rule in enumerate(self.rules):
            if not rule.ports:
                portless |= 1 << i
            for r in rule.ports:
                events.append((r.low, 1, i))
                events.append((r.high + 1, -1, i))
        self._portless = portless
        events.sort()
        bounds = sorted({0, _PORT_LIMIT} | {key for key, _, _ in events})
        masks: list[int] = []
        counts: dict[int, int] = {}
        mask = 0
        e = 0
        for start in bounds:
            while e < len(events) and events[e][0] == start:
                _, delta, i = events[e]
                e += 1
                counts[i] = counts.get(i, 0) + delta
                mask = mask | (1 << i) if counts[i] > 0 else mask & ~(1 << i)
            masks.append(mask)
        self._port_bounds = bounds
        self._port_masks = masks

    # -- lookups ------------------------------------------------------------------------------------------------

    def intervals(self) -> Iterator[tuple[int, int, int]]:
        """(first key, last key, class index) of every elementary interval of the address line, in order."""
        bounds, owner = self._bounds, self._interval_class
        for j, start in enumerate(bounds):
            if start >= LINE_END:
                break
            end = bounds[j + 1] - 1 if j + 1 < len(bounds) else LINE_END - 1
            yield start, min(end, LINE_END - 1), owner[j]

    def class_at(self, key: int) -> int:
        """The class index of an :func:`address_key` value."""
        return self._interval_class[bisect.bisect_right(self._bounds, key) - 1]

    def locate(self, address: str) -> int:
        """The address class of an address (index into :attr:`classes`); ``ValueError`` for bad text."""
        index = self.located.get(address)
        if index is None:
            index = self.located[address] = self.class_at(address_key(address))
        return index

    def zone_of(self, address: str) -> str | None:
        """Same answer as :meth:`NetworkModel.zone_of`, from the compiled intervals."""
        return self.classes[self.locate(address)].zone

    def subnet_of(self, address: str) -> str | None:
        """The most specific zone subnet holding the address, as its zone writes it."""
        return self.classes[self.locate(address)].subnet

    def _proto_mask(self, protocol: str) -> int:
        mask = self._proto_masks.get(protocol)
        if mask is None:
            mask = 0
            for i, rule in enumerate(self.rules):
                if rule.protocol in ("any", protocol):
                    mask |= 1 << i
            self._proto_masks[protocol] = mask
        return mask

    def service_class(self, protocol: str, port: int | None) -> int:
        """A small id shared by the services that the same rules cover (index of :meth:`service_mask`)."""
        key = (protocol, port)
        sid = self.service_ids.get(key)
        if sid is None:
            ports = self._portless
            if port is not None and 0 <= port < _PORT_LIMIT:
                ports |= self._port_masks[bisect.bisect_right(self._port_bounds, port) - 1]
            mask = self._proto_mask(protocol) & ports
            sid = self._service_by_mask.get(mask)
            if sid is None:
                sid = self._service_by_mask[mask] = len(self._service_masks)
                self._service_masks.append(mask)
            self.service_ids[key] = sid
        return sid

    def service_mask(self, protocol: str, port: int | None) -> int:
        """The rules whose protocol and ports cover the service (bit ``i`` = ``rules[i]``); the same rules as
        :meth:`Rule.matches_service`."""
        return self._service_masks[self.service_class(protocol, port)]

    def way(self, source: tuple[int, ...], destination: tuple[int, ...]) -> tuple[int, ...]:
        """The enforcement points (indexes of :attr:`points`, in model order) on the way of a packet between
        addresses behind these interfaces (:attr:`CompiledClass.interfaces`): on each device that has the two
        ends behind different interfaces, the ``in`` points of the source's and the ``out`` points of the
        destination's."""
        key = (source, destination)
        found = self._ways.get(key)
        if found is None:
            out: list[int] = []
            for d, (a, b) in enumerate(zip(source, destination, strict=True)):
                if a >= 0 and b >= 0 and a != b:
                    out += self.through.get(d, ())
                    out += self.bindings.get((d, a, "in"), ())
                    out += self.bindings.get((d, b, "out"), ())
            found = self._ways[key] = tuple(sorted(out))
        return found

    def decide_masks(
        self, hits: int, source: tuple[int, ...], destination: tuple[int, ...], *, same_subnet: bool, same_zone: bool
    ) -> int:
        """:meth:`rule_index` from ``hits`` (source mask & destination mask & service mask) and the two ends'
        interfaces: every point on the way must allow, then the unbound rules' first match, then the fallback
        (:meth:`NetworkModel.decide`)."""
        if same_subnet:
            return SAME_SUBNET
        if not self.points:
            if hits:
                return (hits & -hits).bit_length() - 1
            return INTRA_ZONE if same_zone else NO_RULE
        on_way = self.way(source, destination)
        first_allow = POINTS_ALLOW
        for p in on_way:
            bits = hits & self.point_masks[p]
            if bits:
                i = (bits & -bits).bit_length() - 1
                if (self.deny_mask >> i) & 1:
                    return i
                if first_allow == POINTS_ALLOW:
                    first_allow = i
            elif self.points[p].default_action == "deny":
                return _POINT_DEFAULT - p
        if self.unbound_mask:
            bits = hits & self.unbound_mask
            if bits:
                return (bits & -bits).bit_length() - 1
        elif on_way:
            return first_allow
        return INTRA_ZONE if same_zone else NO_RULE

    def allowing_rules(self, hits: int, source: tuple[int, ...], destination: tuple[int, ...]) -> list[int]:
        """Every rule that let an allowed packet through: the deciding rule of each point on the way and of the
        unbound list (a rule is *used* when it passed traffic, whichever point decided the packet last)."""
        out = []
        for p in self.way(source, destination):
            bits = hits & self.point_masks[p]
            if bits:
                out.append((bits & -bits).bit_length() - 1)
        bits = hits & self.unbound_mask
        if bits:
            out.append((bits & -bits).bit_length() - 1)
        return out

    def rules_used(self, source_class: int, destination_class: int, protocol: str, port: int | None) -> list[int]:
        """The rules a packet between the two classes *uses*: the deciding rule, and when it is allowed, the
        allowing rule of every point on its way too (a rule that passed traffic is not unused because a later
        point also had its say)."""
        index = self.rule_index(source_class, destination_class, protocol, port)
        if not self.points or self.action_of(index) == "deny" or index == SAME_SUBNET:
            return [index] if index >= 0 else []
        src, dst = self.classes[source_class], self.classes[destination_class]
        hits = src.source_mask & dst.destination_mask & self.service_mask(protocol, port)
        return self.allowing_rules(hits, src.interfaces, dst.interfaces)

    def rule_index(self, source_class: int, destination_class: int, protocol: str, port: int | None) -> int:
        """Index in :attr:`rules` of the deciding rule, else :data:`SAME_SUBNET`, :data:`INTRA_ZONE`,
        :data:`NO_RULE`, :data:`POINTS_ALLOW` or a point's implicit deny (negative: no rule decided; see
        :meth:`point_of`)."""
        sid = self.service_class(protocol, port)
        key = (source_class, destination_class, sid)
        index = self.decisions.get(key)
        if index is None:
            src, dst = self.classes[source_class], self.classes[destination_class]
            hits = src.source_mask & dst.destination_mask & self._service_masks[sid]
            index = self.decide_masks(
                hits, src.interfaces, dst.interfaces,
                same_subnet=src.subnet is not None and src.subnet == dst.subnet,  # one text per CIDR
                same_zone=src.zone is not None and src.zone == dst.zone,
            )  # fmt: skip
            self.decisions[key] = index
        return index

    def point_of(self, index: int) -> str:
        """The enforcement point whose implicit deny a :meth:`rule_index` result is, else ``""``."""
        return self.points[_POINT_DEFAULT - index].name if index <= _POINT_DEFAULT else ""

    def action_of(self, index: int) -> Action:
        """``allow``/``deny`` for a :meth:`rule_index` result."""
        if index >= 0:
            return self.rules[index].action
        if index <= _POINT_DEFAULT:
            return self.points[_POINT_DEFAULT - index].default_action
        if index == POINTS_ALLOW:
            return "allow"
        return self.model.intra_zone if index in (INTRA_ZONE, SAME_SUBNET) else self.model.default_action

    def points_filter(
        self,
        source_mask: int,
        source: tuple[int, ...],
        service_mask: int,
        candidates: int,
        by_rule: Mapping[int, int] | Sequence[int],
        behind: Behind,
    ) -> tuple[int, int]:
        """(denied, on way): among ``candidates`` (a bit set of destination classes, none in the source's subnet),
        those some enforcement point on the way refuses, and those with at least one point on the way.
        ``by_rule[i]`` is the bit set of destination classes whose destination side matches rule ``i``; ``behind``
        says which destination classes are behind which interface of each device.  The cost follows the bindings
        of the devices that route the source and the rules that match it, not the number of classes.
        """
        denied = on_way = 0
        for d, a in enumerate(source):
            if a < 0:
                continue
            here = behind.by_interface[d]
            routed = behind.routed[d] & ~here.get(a, 0) & candidates
            if not routed:
                continue
            sweeps = [(p, routed) for p in (*self.through.get(d, ()), *self.bindings.get((d, a, "in"), ()))]
            for iface, points in self._outs[d]:
                if iface != a:
                    way = here.get(iface, 0) & candidates
                    if way:
                        sweeps += [(p, way) for p in points]
            for p, way in sweeps:
                on_way |= way
                undecided = way
                rules = source_mask & service_mask & self.point_masks[p]
                while rules and undecided:
                    low = rules & -rules
                    i = low.bit_length() - 1
                    rules ^= low
                    taken = (by_rule.get(i, 0) if isinstance(by_rule, Mapping) else by_rule[i]) & undecided
                    if taken:
                        undecided ^= taken
                        if (self.deny_mask >> i) & 1:
                            denied |= taken
                if self.points[p].default_action == "deny":
                    denied |= undecided
        return denied, on_way

    def decide(self, source: str, destination: str, protocol: str, port: int | None) -> Decision:
        """Same answer as :meth:`NetworkModel.decide`."""
        index = self.rule_index(self.locate(source), self.locate(destination), protocol, port)
        return Decision(self.action_of(index), self.rules[index] if index >= 0 else None, self.point_of(index))


def _strict_span(cidr: str) -> tuple[int, int]:
    """Zone subnets are always networks (``zone_of`` parses them unconditionally): raise on bad text like it."""
    net = ipaddress.ip_network(cidr, strict=False)
    offset = 0 if net.version == 4 else V6_OFFSET
    return offset + int(net.network_address), offset + int(net.broadcast_address)


def _interval_zones(
    bounds: list[int], subnets: dict[tuple[int, int], tuple[str, str]]
) -> list[tuple[str | None, str | None]]:
    """(zone, subnet) of each elementary interval: the smallest zone subnet containing it (CIDRs nest)."""
    return [(None, None) if owner is None else owner for owner in _interval_owners(bounds, subnets)]


def _interval_owners(bounds: list[int], spans: Mapping[tuple[int, int], _T]) -> list[_T | None]:
    """The value of the smallest span containing each elementary interval (longest-prefix match: CIDRs nest)."""
    ordered = sorted(spans, key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[_T | None] = []
    stack: list[tuple[int, int]] = []
    s = 0
    for start in bounds:
        while stack and stack[-1][1] < start:
            stack.pop()
        while s < len(ordered) and ordered[s][0] <= start:
            span = ordered[s]
            s += 1
            while stack and stack[-1][1] < span[0]:
                stack.pop()
            if span[1] >= start:
                stack.append(span)
        out.append(spans[stack[-1]] if stack else None)
    return out
