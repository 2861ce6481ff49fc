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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from wardwatch.domain.netmodel import ANY, Action, Decision, NetworkModel, Rule, ip_int

__all__ = [
    "INTRA_ZONE",
    "LINE_END",
    "NO_RULE",
    "SAME_SUBNET",
    "V6_OFFSET",
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


class CompiledModel:
    """A :class:`NetworkModel` compiled to integer ranges and rule bit masks (see the module docstring)."""

    def __init__(self, model: NetworkModel) -> None:
        self.model = model
        self.rules: tuple[Rule, ...] = model.ordered_rules
        """The model's rules in evaluation order; bit ``i`` of a mask is ``rules[i]``."""
        self.named: list[tuple[int, int]] = []
        """Merged intervals named by a CIDR or an address on a rule side without ``any``: the rules speak for
        these addresses even when no zone holds them."""
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
        bounds.update(key for key, _, _ in events)
        self._bounds: list[int] = sorted(bounds)
        zones = _interval_zones(self._bounds, subnets)
        events.sort()
        counts: dict[int, int] = {}
        cidr_masks = [0, 0]
        e = 0
        classes: dict[tuple[str | None, str | None, int, int], int] = {}
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
            signature = (zone_name, subnet, src, dst)
            index = classes.get(signature)
            if index is None:
                index = classes[signature] = len(self.classes)
                self.classes.append(CompiledClass(zone_name, subnet, src, dst))
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

    def rule_index(self, source_class: int, destination_class: int, protocol: str, port: int | None) -> int:
        """Index in :attr:`rules` of the deciding rule, else :data:`SAME_SUBNET`, :data:`INTRA_ZONE` or
        :data:`NO_RULE` (negative: no rule decided)."""
        sid = self.service_class(protocol, port)
        key = (source_class, destination_class, sid)
        index = self.decisions.get(key)
        if index is None:
            src, dst = self.classes[source_class], self.classes[destination_class]
            hits = src.source_mask & dst.destination_mask & self._service_masks[sid]
            if src.subnet is not None and src.subnet == dst.subnet:  # one subnet text per CIDR: see _build_addresses
                index = SAME_SUBNET
            elif hits:
                index = (hits & -hits).bit_length() - 1
            elif src.zone is not None and src.zone == dst.zone:
                index = INTRA_ZONE
            else:
                index = NO_RULE
            self.decisions[key] = index
        return index

    def action_of(self, index: int) -> Action:
        """``allow``/``deny`` for a :meth:`rule_index` result."""
        if index >= 0:
            return self.rules[index].action
        return self.model.intra_zone if index in (INTRA_ZONE, SAME_SUBNET) else self.model.default_action

    def decide(self, source: str, destination: str, protocol: str, port: int | None) -> Decision:
        """Same answer as :meth:`NetworkModel.decide`."""
        index = self.rule_index(self.locate(source), self.locate(destination), protocol, port)
        return Decision(self.action_of(index), self.rules[index] if index >= 0 else None)


def _strict_span(cidr: str) -> tuple[int, int]:
    """Zone subnets are always networks (``zone_of`` parses them unconditionally): raise on bad text like it."""
    net = ipaddress.ip_network(cidr, strict=False)
    offset = 0 if net.version == 4 else V6_OFFSET
    return offset + int(net.network_address), offset + int(net.broadcast_address)


def _interval_zones(
    bounds: list[int], subnets: dict[tuple[int, int], tuple[str, str]]
) -> list[tuple[str | None, str | None]]:
    """(zone, subnet) of each elementary interval: the smallest zone subnet containing it (CIDRs nest)."""
    spans = sorted(subnets, key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[tuple[str | None, str | None]] = []
    stack: list[tuple[int, int]] = []
    s = 0
    for start in bounds:
        while stack and stack[-1][1] < start:
            stack.pop()
        while s < len(spans) and spans[s][0] <= start:
            span = spans[s]
            s += 1
            while stack and stack[-1][1] < span[0]:
                stack.pop()
            if span[1] >= start:
                stack.append(span)
        out.append(subnets[stack[-1]] if stack else (None, None))
    return out
