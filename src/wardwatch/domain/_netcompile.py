"""A compiled form of a :class:`~wardwatch.domain.netmodel.NetworkModel` for analyses over millions of flows.

:meth:`NetworkModel.decide` parses every network reference of every rule on each call, which is fine for one
packet and far too slow for five million.  :class:`CompiledModel` does the parsing once:

* The address space (IPv4 and IPv6 folded into one integer line) is cut at every zone-subnet and rule-CIDR
  boundary.  Inside one elementary interval every address has the same zone, the same most specific zone
  subnet, and the same answer to "does side X of rule i match?".  Intervals with the same answers share one
  *address class* (:meth:`CompiledModel.locate`: one bisect).
* Each class carries two bit masks over the rules in evaluation order: the rules whose source side matches,
  and the rules whose destination side matches.  A service (protocol, port) also maps to a mask, from the
  rules' port ranges cut into elementary port intervals.
* A packet between two addresses of one zone subnet crosses no firewall: it gets the intra-zone action whatever
  the rules say (:data:`SAME_SUBNET`; :meth:`NetworkModel.decide` step 1).  Classes never span two subnets, so
  this is a property of the (source class, destination class) pair.
* Otherwise the deciding rule of a packet is the lowest bit of ``src_mask & dst_mask & service_mask``; decisions are
  cached per (source class, destination class, service class), so a whole baseline costs one bisect per
  distinct address and one ``&`` per distinct (class, class, service).

Hand-written rather than built on ``netaddr.IPSet``: the analyses need *which* rule decides, in order, and a
per-rule set lookup would be as slow as ``decide``.  ``tests/test_segmentation.py`` checks it against
``NetworkModel.decide`` on random models and packets.
"""

from __future__ import annotations

import bisect
import gc
import ipaddress
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from wardwatch.domain.netmodel import ANY, Action, Conduit, Decision, HostFacts, NetworkModel, ObservedFlow, Rule

__all__ = [
    "INTRA_ZONE",
    "NO_RULE",
    "SAME_SUBNET",
    "AddressClass",
    "CompiledModel",
    "ConduitIndex",
    "EvaluatedFlow",
    "FlowKey",
    "FlowTotals",
    "address_key",
    "aggregate_flows",
    "evaluate_flows",
    "gc_paused",
    "index_hosts",
    "rule_label",
    "service_label",
]

#: :meth:`CompiledModel.rule_index` when no rule matched and the model's default action applies.
NO_RULE = -1
#: :meth:`CompiledModel.rule_index` when no rule matched and both ends are in the same zone.
INTRA_ZONE = -2
#: :meth:`CompiledModel.rule_index` when both ends are in one zone subnet: no firewall in between, the intra-zone
#: action applies whatever the rules say.
SAME_SUBNET = -3

_V6_OFFSET = 1 << 32
_PORT_LIMIT = 65536

FlowKey = tuple[str, str, str, int | None]
"""(client, server, protocol, port) of an aggregated flow."""


@dataclass(slots=True)
class FlowTotals:
    """What the baseline holds for one (client, server, protocol, port)."""

    flows: int = 0
    """Observed flow records."""
    packets: int = 0
    application: str | None = None
    """The first application identified on it."""


def aggregate_flows(flows: Iterable[ObservedFlow]) -> dict[FlowKey, FlowTotals]:
    """Observed flows summed per (client, server, protocol, port), in first-seen order."""
    out: dict[FlowKey, FlowTotals] = {}
    for flow in flows:
        key = (flow.client, flow.server, flow.protocol, flow.port)
        totals = out.get(key)
        if totals is None:
            totals = out[key] = FlowTotals()
        totals.flows += 1
        totals.packets += flow.packets
        if totals.application is None and flow.application:
            totals.application = flow.application
    return out


def address_key(address: str) -> int:
    """One integer line for both families: IPv4 in [0, 2**32), IPv6 above; ``ValueError`` for bad text.

    Plain dotted quads are read by hand (``ipaddress`` takes ~6 µs an address, a quarter of a 200,000-host
    check); anything else, including what the fast path refuses (leading zeros), goes to ``ipaddress``.
    """
    parts = address.split(".")
    if len(parts) == 4:
        value = 0
        for part in parts:
            if not (part.isascii() and part.isdigit() and len(part) <= 3) or (part[0] == "0" and len(part) > 1):
                break
            octet = int(part)
            if octet > 255:
                break
            value = value << 8 | octet
        else:
            return value
    ip = ipaddress.ip_address(address.strip())
    return int(ip) if ip.version == 4 else _V6_OFFSET + int(ip)


def _network_span(ref: str) -> tuple[int, int] | None:
    """[first, last] keys of a CIDR/address reference, or ``None`` when ``decide`` would not read it as one."""
    if not ("/" in ref or ref[:1].isdigit() or ":" in ref):
        return None
    try:
        net = ipaddress.ip_network(ref, strict=False)
    except ValueError:
        return None
    offset = 0 if net.version == 4 else _V6_OFFSET
    return offset + int(net.network_address), offset + int(net.broadcast_address)


@dataclass(frozen=True, slots=True)
class AddressClass:
    """Addresses the model cannot tell apart."""

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
        self._build_addresses()
        self._build_ports()
        self._proto_masks: dict[str, int] = {}
        self._service_ids: dict[tuple[str, int | None], int] = {}
        self._service_masks: list[int] = []
        self._service_by_mask: dict[int, int] = {}
        self._decisions: dict[tuple[int, int, int], int] = {}
        self._locate_cache: dict[str, int] = {}

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
        for i, rule in enumerate(self.rules):
            bit = 1 << i
            for side, refs in ((0, rule.source), (1, rule.destination)):
                for ref in refs:
                    if ref == ANY:
                        if side == 0:
                            any_src |= bit
                        else:
                            any_dst |= bit
                        continue
                    by_zone = zone_src if side == 0 else zone_dst
                    by_zone[ref] = by_zone.get(ref, 0) | bit
                    ref_span = _network_span(ref)
                    if ref_span is not None:
                        events.append((ref_span[0], 1, i * 2 + side))
                        events.append((ref_span[1] + 1, -1, i * 2 + side))
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
        self.classes: list[AddressClass] = []
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
                self.classes.append(AddressClass(zone_name, subnet, src, dst))
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

    def locate(self, address: str) -> int:
        """The address class of an address (index into :attr:`classes`); ``ValueError`` for bad text."""
        index = self._locate_cache.get(address)
        if index is None:
            j = bisect.bisect_right(self._bounds, address_key(address)) - 1
            index = self._locate_cache[address] = self._interval_class[j]
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
        sid = self._service_ids.get(key)
        if sid is None:
            ports = self._portless
            if port is not None and 0 <= port < _PORT_LIMIT:
                ports |= self._port_masks[bisect.bisect_right(self._port_bounds, port) - 1]
            mask = self._proto_mask(protocol) & ports
            sid = self._service_by_mask.get(mask)
            if sid is None:
                sid = self._service_by_mask[mask] = len(self._service_masks)
                self._service_masks.append(mask)
            self._service_ids[key] = sid
        return sid

    def service_mask(self, protocol: str, port: int | None) -> int:
        """The rules whose protocol and ports cover the service (bit ``i`` = ``rules[i]``)."""
        return self._service_masks[self.service_class(protocol, port)]

    def rule_index(self, source_class: int, destination_class: int, protocol: str, port: int | None) -> int:
        """Index in :attr:`rules` of the deciding rule, else :data:`SAME_SUBNET`, :data:`INTRA_ZONE` or
        :data:`NO_RULE` (negative: no rule decided)."""
        sid = self.service_class(protocol, port)
        key = (source_class, destination_class, sid)
        index = self._decisions.get(key)
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
            self._decisions[key] = index
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
    offset = 0 if net.version == 4 else _V6_OFFSET
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


@dataclass(frozen=True, slots=True)
class EvaluatedFlow:
    """One aggregated flow with the address classes of its ends and the index of the rule that decides it."""

    key: FlowKey
    totals: FlowTotals
    source_class: int
    destination_class: int
    rule_index: int
    """Index into :attr:`CompiledModel.rules`, or :data:`SAME_SUBNET` / :data:`INTRA_ZONE` / :data:`NO_RULE`."""


def evaluate_flows(compiled: CompiledModel, flows: dict[FlowKey, FlowTotals]) -> tuple[list[EvaluatedFlow], int]:
    """Decide every aggregated flow; also returns how many were skipped for an unreadable address.

    The hot loop of every analysis: the class and decision caches are read inline (one dict lookup each)
    and only a miss calls :meth:`CompiledModel.locate` / :meth:`CompiledModel.rule_index`.
    """
    out: list[EvaluatedFlow] = []
    skipped = 0
    located = compiled._locate_cache
    services = compiled._service_ids
    decisions = compiled._decisions
    for key, totals in flows.items():
        client, server, protocol, port = key
        src = located.get(client)
        dst = located.get(server)
        if src is None or dst is None:
            try:
                src, dst = compiled.locate(client), compiled.locate(server)
            except ValueError:
                skipped += 1
                continue
        sid = services.get((protocol, port))
        index = decisions.get((src, dst, sid)) if sid is not None else None
        if index is None:
            index = compiled.rule_index(src, dst, protocol, port)
        out.append(EvaluatedFlow(key, totals, src, dst, index))
    return out, skipped


class ConduitIndex:
    """The model's conduits by (source, destination) zone reference; a reference is a zone name or a zone kind."""

    def __init__(self, model: NetworkModel) -> None:
        self.model = model
        self._by_pair: dict[tuple[str, str], list[Conduit]] = {}
        for conduit in model.conduits:
            self._by_pair.setdefault((conduit.source_zone, conduit.destination_zone), []).append(conduit)

    def _refs(self, zone_name: str) -> tuple[str, ...]:
        zone = self.model.zone(zone_name)
        return (zone_name, zone.kind) if zone is not None else (zone_name,)

    def covers(self, source_zone: str, destination_zone: str, protocol: str, port: int | None) -> bool:
        """Whether a conduit between the two zones (by name or kind) intends the service."""
        for a in self._refs(source_zone):
            for b in self._refs(destination_zone):
                for c in self._by_pair.get((a, b), ()):
                    if c.protocol in ("any", protocol) and (
                        not c.ports or (port is not None and any(port in r for r in c.ports))
                    ):
                        return True
        return False


def index_hosts(hosts: Iterable[HostFacts]) -> dict[str, HostFacts]:
    """Hosts by each of their addresses (the first host listed wins an address claimed twice)."""
    out: dict[str, HostFacts] = {}
    for host in hosts:
        for address in (host.address, *host.extra_addresses):
            out.setdefault(address, host)
    return out


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while an analysis builds millions of acyclic objects.

    Measured on 5 million flows: the collector rescanning the ever-growing heap took a third of a check's
    time (67 s against 44 s).  Nothing built here forms reference cycles; plain reference counting frees it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def service_label(protocol: str, port: int | None) -> str:
    """``tcp/2575``, or the protocol alone when there is no port."""
    return protocol if port is None else f"{protocol}/{port}"


def rule_label(rule: Rule) -> str:
    """How a report names a rule: its name, else where it was defined, else its order."""
    return rule.name or rule.origin or f"rule #{rule.order}"
