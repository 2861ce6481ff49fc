"""Reachability: which addresses can reach which services, compiled from a :class:`NetworkModel` for scale.

:meth:`NetworkModel.decide` is the reference; the rules are compiled once by
:class:`~wardwatch.domain.net_compiled.CompiledModel` (the one compiled evaluator: addresses as integers on one line,
rule sides as bit masks, decisions as the lowest set bit).  This module views it per side of a packet:

* the line's elementary intervals with the same zone, the same most specific zone subnet and the same set of
  matching rules *for this side* (a bit mask in rule order) form one :class:`AddressClass` with its address
  ranges: the network cannot tell its addresses apart.  Sources and destinations get their own classes (a rule
  naming one host as a source does not split the destination side);
* a packet between two classes of the same subnet crosses no firewall and gets the intra-zone action
  (:meth:`NetworkModel.decide` step 1, basis ``same-subnet``); otherwise its decision is the lowest set bit of
  ``source mask & destination mask & service mask``, else intra-zone (same zone) or the default action.

The masks are Python integers used as bit sets: the operations are C loops over machine words, which is why
this is hand-written rather than a graph library (a graph over 200,000 squared host pairs cannot be built).

Observed flows count as evidence only where the rules cannot speak for the pair: when one end is *unmodelled*
(in no zone and named by no rule).  There they add reachability (``basis="observed"``); they never remove it.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from wardwatch.domain.net_compiled import (
    INTRA_ZONE,
    NO_RULE,
    SAME_SUBNET,
    V6_OFFSET,
    Behind,
    CompiledModel,
    address_key,
    merge_ranges,
)
from wardwatch.domain.netmodel import Decision, HostFacts, NetworkModel, ObservedFlow, Rule

__all__ = [
    "Access",
    "AddressClass",
    "Reachability",
    "Service",
    "address_key",
    "decision_text",
    "iter_bits",
    "service_text",
]

Service = tuple[str, int]
"""(protocol, port), e.g. ``("tcp", 445)``."""

Basis = Literal["rule", "same-subnet", "intra-zone", "default", "point", "observed"]

_MODELLED, _NOT_IP, _UNSEEN = -1, -2, -3
"""Flow address states (keys are never negative)."""


def service_text(service: Service) -> str:
    """``tcp/445``."""
    return f"{service[0]}/{service[1]}"


def _key_text(key: int) -> str:
    return str(ipaddress.IPv4Address(key)) if key < V6_OFFSET else str(ipaddress.IPv6Address(key - V6_OFFSET))


def _range_texts(low: int, high: int) -> list[str]:
    """CIDRs of an interval, IPv4 and IPv6 parts apart (the gap between them holds no address)."""
    out: list[str] = []
    if low < 1 << 32:
        first4, last4 = ipaddress.IPv4Address(low), ipaddress.IPv4Address(min(high, (1 << 32) - 1))
        out += [str(n) for n in ipaddress.summarize_address_range(first4, last4)]
    if high >= V6_OFFSET:
        first6 = ipaddress.IPv6Address(max(low, V6_OFFSET) - V6_OFFSET)
        out += [str(n) for n in ipaddress.summarize_address_range(first6, ipaddress.IPv6Address(high - V6_OFFSET))]
    return out


def iter_bits(mask: int) -> Iterator[int]:
    """Indexes of the set bits of a bit set, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _mask_of(indexes: Iterable[int], size: int) -> int:
    buffer = bytearray((size + 7) // 8)
    for i in indexes:
        buffer[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buffer, "little")


@dataclass(frozen=True, slots=True, eq=False)
class AddressClass:
    """Addresses the rules cannot tell apart on one side of a packet (source or destination).

    Interned by its partition, so identity is equality (hashing thousands of ranges would be slow).
    """

    id: int
    zone: str | None
    mask: int
    """Bit ``i`` set: ``ordered_rules[i]`` matches this side."""
    ranges: tuple[tuple[int, int], ...]
    """Inclusive intervals of :func:`address_key` values."""
    subnet: str | None = None
    """The most specific zone subnet of the addresses (CIDR as the zone writes it); ``None`` when in no zone."""
    interfaces: tuple[int, ...] = ()
    """Which interface of each filtering device the addresses are behind (:attr:`CompiledClass.interfaces`)."""


@dataclass(frozen=True, slots=True)
class Access:
    """One way in to a service: who (a set of sources), on which service, and why it is allowed."""

    source: str
    """``zone 'guest' (any host)``, ``zone 'vendor' 10.9.0.5/32``, or an observed client address."""
    source_zone: str | None
    service: Service
    basis: Basis
    rule: Rule | None = None
    flow: ObservedFlow | None = None
    evidence: str = ""


def decision_text(
    decision: Decision, basis: Basis, model: NetworkModel, zone: str | None, subnet: str | None = None
) -> str:
    """Evidence for a decision: the rule with its origin, the same subnet, or the intra-zone/default action."""
    if decision.rule is not None:
        rule = decision.rule
        label = f"'{rule.name}'" if rule.name else f"#{rule.order}"
        origin = f" {rule.origin}" if rule.origin else ""
        return f"{'allowed' if rule.action == 'allow' else 'denied'} by rule {label}{origin}"
    if decision.point:
        return f"denied by {decision.point}: no entry of its ACL matches (implicit deny)"
    if basis == "point":
        return "allowed by the ACLs on the way (their default action)"
    if basis == "same-subnet":
        where = f"subnet {subnet}" if subnet else "subnet"
        return f"same {where} of zone '{zone}': no firewall in between (intra-zone {model.intra_zone})"
    if basis == "intra-zone":
        return f"same zone '{zone}' (intra-zone {model.intra_zone})"
    return f"no rule matches (default {model.default_action})"


class _Partition:
    """One side's address classes and the sorted piece starts that find them."""

    def __init__(self, starts: list[int], piece_class: list[int], classes: list[AddressClass]) -> None:
        self.starts = starts
        self.piece_class = piece_class
        self.classes = classes

    def lookup(self, key: int) -> AddressClass:
        return self.classes[self.piece_class[bisect.bisect_right(self.starts, key) - 1]]


def _partition(compiled: CompiledModel, source: bool) -> _Partition:
    """One side's classes: the compiled intervals interned by (zone, subnet, this side's mask), neighbours joined."""
    interned: dict[tuple[str | None, str | None, int, tuple[int, ...]], int] = {}
    class_ranges: list[list[tuple[int, int]]] = []
    class_keys: list[tuple[str | None, str | None, int, tuple[int, ...]]] = []
    piece_starts: list[int] = []
    piece_class: list[int] = []
    for low, high, index in compiled.intervals():
        compiled_class = compiled.classes[index]
        mask = compiled_class.source_mask if source else compiled_class.destination_mask
        key = (compiled_class.zone, compiled_class.subnet, mask, compiled_class.interfaces)
        cid = interned.setdefault(key, len(interned))
        if cid == len(class_ranges):
            class_ranges.append([])
            class_keys.append(key)
        if piece_class and piece_class[-1] == cid:
            class_ranges[cid][-1] = (class_ranges[cid][-1][0], high)
            continue
        piece_starts.append(low)
        piece_class.append(cid)
        class_ranges[cid].append((low, high))
    classes = [
        AddressClass(i, zone, mask, tuple(ranges), subnet, interfaces)
        for i, ((zone, subnet, mask, interfaces), ranges) in enumerate(zip(class_keys, class_ranges, strict=True))
    ]
    return _Partition(piece_starts, piece_class, classes)


class Reachability:
    """The compiled rules plus the hosts and the observed flows that stand in for missing rules."""

    def __init__(
        self,
        model: NetworkModel,
        hosts: Sequence[HostFacts],
        flows: Sequence[ObservedFlow],
        compiled: CompiledModel | None = None,
    ) -> None:
        self.model = model
        if compiled is not None and compiled.model is not model:
            raise ValueError("compiled must be a CompiledModel of the same model")
        self.compiled = compiled if compiled is not None else CompiledModel(model)
        """The compiled rules this view rests on."""
        self.rules: tuple[Rule, ...] = self.compiled.rules
        by_zone: dict[str, list[tuple[int, int]]] = {}
        for low, high, index in self.compiled.intervals():
            zone = self.compiled.classes[index].zone
            if zone is not None:
                by_zone.setdefault(zone, []).append((low, high))
        self._zone_ranges = {zone: merge_ranges(ranges) for zone, ranges in by_zone.items()}
        self._named = self.compiled.named
        self._named_starts = [low for low, _ in self._named]
        self.sources = _partition(self.compiled, source=True)
        self.destinations = _partition(self.compiled, source=False)
        self._zone_sources: dict[str | None, list[AddressClass]] = {}
        self._served: dict[Service, int] | None = None
        self._rule_destinations: list[int] | None = None
        self._zone_destinations: dict[str | None, int] | None = None
        self._subnet_destinations: dict[str, int] | None = None
        self._behind = Behind(len(self.compiled.devices))
        self.hosts: tuple[HostFacts, ...] = tuple(hosts)
        self.host_keys: list[tuple[int, ...]] = []
        self.host_at: dict[int, int] = {}
        skipped: list[str] = []
        for index, host in enumerate(self.hosts):
            keys: list[int] = []
            for address in (host.address, *host.extra_addresses):
                try:
                    key = address_key(address)
                except ValueError:
                    skipped.append(address)
                    continue
                if key not in keys:
                    keys.append(key)
                self.host_at.setdefault(key, index)
            self.host_keys.append(tuple(keys))
        self.skipped: tuple[str, ...] = tuple(skipped)
        """Host addresses that are not IP addresses (left out, never guessed)."""
        self.observed: dict[int, dict[tuple[int, Service], ObservedFlow]] = {}
        """Server key -> (client key, service) -> the first flow seen: evidence where the rules are silent."""
        self._add_flows(flows)

    @classmethod
    def build(
        cls,
        model: NetworkModel,
        hosts: Sequence[HostFacts],
        flows: Sequence[ObservedFlow] = (),
        *,
        compiled: CompiledModel | None = None,
    ) -> Reachability:
        """Compile the rules (or reuse ``compiled``, a :class:`CompiledModel` of ``model``) and index the hosts and
        the flows that stand in for unknown rules."""
        return cls(model, hosts, flows, compiled)

    # --- packets -------------------------------------------------------------------------------------------

    def service_mask(self, protocol: str, port: int | None) -> int:
        """Bits of the rules whose protocol and ports cover this service."""
        return self.compiled.service_mask(protocol, port)

    def decide_classes(
        self, source: AddressClass, destination: AddressClass, protocol: str, port: int | None
    ) -> tuple[Decision, Basis]:
        """The decision for any packet between the two classes, and what it rests on (module docstring)."""
        compiled = self.compiled
        index = compiled.decide_masks(
            source.mask & destination.mask & self.service_mask(protocol, port),
            source.interfaces, destination.interfaces,
            same_subnet=source.subnet is not None and source.subnet == destination.subnet,
            same_zone=source.zone is not None and source.zone == destination.zone,
        )  # fmt: skip
        decision = Decision(compiled.action_of(index), self.rules[index] if index >= 0 else None,
                            compiled.point_of(index))  # fmt: skip
        basis: Basis = (
            "rule" if index >= 0 else "same-subnet" if index == SAME_SUBNET
            else "intra-zone" if index == INTRA_ZONE else "default" if index == NO_RULE else "point"
        )  # fmt: skip
        return decision, basis

    def reachable(self, source: str, destination: str, protocol: str, port: int | None) -> Decision:
        """What the rules decide for one packet; agrees with :meth:`NetworkModel.decide`."""
        src = self.sources.lookup(address_key(source))
        dst = self.destinations.lookup(address_key(destination))
        return self.decide_classes(src, dst, protocol, port)[0]

    # --- class-level sweeps --------------------------------------------------------------------------------

    def _destination_masks(self) -> tuple[list[int], dict[str | None, int], dict[str, int]]:
        if self._rule_destinations is None or self._zone_destinations is None or self._subnet_destinations is None:
            count = len(self.destinations.classes)
            per_rule: list[list[int]] = [[] for _ in self.rules]
            per_zone: dict[str | None, list[int]] = {}
            per_subnet: dict[str, list[int]] = {}
            for cls in self.destinations.classes:
                for bit in iter_bits(cls.mask):
                    per_rule[bit].append(cls.id)
                per_zone.setdefault(cls.zone, []).append(cls.id)
                if cls.subnet is not None:
                    per_subnet.setdefault(cls.subnet, []).append(cls.id)
            behind: dict[tuple[int, int], list[int]] = {}
            for cls in self.destinations.classes:
                for d, iface in enumerate(cls.interfaces):
                    if iface >= 0:
                        behind.setdefault((d, iface), []).append(cls.id)
            for (d, iface), ids in behind.items():
                mask = _mask_of(ids, count)
                self._behind.by_interface[d][iface] = mask
                self._behind.routed[d] |= mask
            self._rule_destinations = [_mask_of(ids, count) for ids in per_rule]
            self._zone_destinations = {zone: _mask_of(ids, count) for zone, ids in per_zone.items()}
            self._subnet_destinations = {subnet: _mask_of(ids, count) for subnet, ids in per_subnet.items()}
        return self._rule_destinations, self._zone_destinations, self._subnet_destinations

    def allowed_destinations(self, source: AddressClass, service: Service, candidates: int) -> int:
        """Among ``candidates`` (a bit set of destination class ids), those ``source`` may reach on ``service``.

        The candidates in the source's own subnet are decided first (no firewall in between: the intra-zone
        action).  Then it walks only the rules that match the source and the service, in order, and stops once
        every candidate is decided: the cost follows the rules that concern this source, not the number of classes.
        """
        per_rule, per_zone, per_subnet = self._destination_masks()
        compiled = self.compiled
        undecided, allowed = candidates, 0
        if source.subnet is not None:
            same = undecided & per_subnet.get(source.subnet, 0)
            undecided ^= same
            if self.model.intra_zone == "allow":
                allowed |= same
        denied = 0
        service_mask = self.service_mask(*service)
        if compiled.points and undecided:
            denied, on_way = compiled.points_filter(
                source.mask, source.interfaces, service_mask, undecided, per_rule, self._behind
            )
            if not compiled.unbound_mask:  # the points on the way decide alone
                allowed |= on_way & ~denied
                undecided &= ~on_way
            else:
                undecided &= ~denied
        for bit in iter_bits(source.mask & service_mask & compiled.unbound_mask):
            if not undecided:
                break
            covered = per_rule[bit] & undecided
            if covered:
                undecided ^= covered
                if self.rules[bit].action == "allow":
                    allowed |= covered
        if undecided and source.zone is not None:
            same = undecided & per_zone.get(source.zone, 0)
            undecided ^= same
            if self.model.intra_zone == "allow":
                allowed |= same
        if self.model.default_action == "allow":
            allowed |= undecided
        return allowed

    def destination_mask(self, class_ids: Iterable[int]) -> int:
        """A bit set of destination class ids."""
        return _mask_of(class_ids, len(self.destinations.classes))

    def source_classes_in(self, zone: str | None) -> list[AddressClass]:
        """The source classes of a zone (``None``: addresses in no zone)."""
        if zone not in self._zone_sources:
            self._zone_sources[zone] = [c for c in self.sources.classes if c.zone == zone and _real(c.ranges)]
        return self._zone_sources[zone]

    def describe_sources(self, zone: str | None, classes: Sequence[AddressClass], limit: int = 3) -> str:
        """``zone 'guest' (any host)`` when the classes cover the zone, ``zone 'x' except 10.0.0.5/32`` when
        they nearly do, else the zone and its first ranges."""
        ranges = merge_ranges(r for c in classes for r in c.ranges)
        where = f"zone '{zone}'" if zone is not None else "outside the zones"
        texts = [text for lo, hi in ranges for text in _range_texts(lo, hi)]
        if zone is not None:
            missing = _subtract(merge_ranges(self._zone_ranges.get(zone, [])), ranges)
            if not missing:
                return f"{where} (any host)"
            gaps = [text for lo, hi in missing for text in _range_texts(lo, hi)]
            if len(gaps) < len(texts):
                where, texts = f"{where} except", gaps
        more = f" and {len(texts) - limit} more" if len(texts) > limit else ""
        return f"{where} {', '.join(texts[:limit])}{more}" if texts else where

    def describe_access(self, zone: str, destination: AddressClass, service: Service) -> str:
        """Which addresses of ``zone`` may reach ``destination`` on ``service``, in words."""
        allowed = [
            src
            for src in self.source_classes_in(zone)
            if self.decide_classes(src, destination, *service)[0].action == "allow"
        ]
        return self.describe_sources(zone, allowed)

    # --- flows ---------------------------------------------------------------------------------------------

    def modelled(self, key: int) -> bool:
        """In a zone, or named by a rule (CIDR or address): the rules speak for this address."""
        if self.sources.lookup(key).zone is not None:
            return True
        i = bisect.bisect_right(self._named_starts, key) - 1
        return i >= 0 and key <= self._named[i][1]

    def _add_flows(self, flows: Sequence[ObservedFlow]) -> None:
        known: dict[str, int] = {}  # address -> its key when unmodelled, _MODELLED, or _NOT_IP

        def state(address: str) -> int:
            try:
                key = address_key(address)
            except ValueError:
                return _NOT_IP
            return _MODELLED if self.modelled(key) else key

        get = known.get
        for flow in flows:  # hot: 5 million flows; most have two modelled ends and stop at the first test
            c, s = get(flow.client, _UNSEEN), get(flow.server, _UNSEEN)
            if c == _MODELLED == s:
                continue
            if c == _UNSEEN:
                c = known[flow.client] = state(flow.client)
            if s == _UNSEEN:
                s = known[flow.server] = state(flow.server)
            if c == _NOT_IP or s == _NOT_IP or c == _MODELLED == s or flow.port is None:
                continue
            c_key = address_key(flow.client) if c == _MODELLED else c
            s_key = address_key(flow.server) if s == _MODELLED else s
            by_pair = self.observed.setdefault(s_key, {})
            service = (flow.protocol, flow.port)
            if (c_key, service) in by_pair:
                continue
            src, dst = self.sources.lookup(c_key), self.destinations.lookup(s_key)
            if self.decide_classes(src, dst, flow.protocol, flow.port)[0].action != "allow":
                by_pair[(c_key, service)] = flow
        self.observed = {server: pairs for server, pairs in self.observed.items() if pairs}

    def observed_from(self) -> dict[int, list[tuple[int, Service, ObservedFlow]]]:
        """Client key -> (server key, service, flow) for the flows kept as evidence."""
        out: dict[int, list[tuple[int, Service, ObservedFlow]]] = {}
        for server, pairs in self.observed.items():
            for (client, service), flow in pairs.items():
                out.setdefault(client, []).append((server, service, flow))
        return out

    # --- queries -------------------------------------------------------------------------------------------

    def host(self, address: str) -> HostFacts | None:
        """The host with this address on any interface."""
        index = self.host_at.get(address_key(address))
        return None if index is None else self.hosts[index]

    def exposed_services(self, address: str) -> tuple[Service, ...]:
        """The services the host at ``address`` was seen serving (host facts and observed flows), sorted."""
        key = address_key(address)
        found: set[Service] = {service for _, service in self.observed.get(key, {})}
        index = self.host_at.get(key)
        if index is not None:
            found.update(self.hosts[index].services)
        return tuple(sorted(found))

    def who_can_reach(self, address: str, services: Sequence[Service] | None = None) -> list[Access]:
        """Every way in to the services at ``address`` (its exposed services unless given), grouped by source
        zone, service and deciding rule; observed flows where the rules are silent."""
        key = address_key(address)
        dst = self.destinations.lookup(key)
        wanted = self.exposed_services(address) if services is None else tuple(services)
        out: list[Access] = []
        for service in wanted:
            groups: dict[tuple[str | None, Basis, int, str | None], list[AddressClass]] = {}
            decisions: dict[tuple[str | None, Basis, int, str | None], Decision] = {}
            for src in self.sources.classes:
                if not _real(src.ranges):
                    continue
                decision, basis = self.decide_classes(src, dst, *service)
                if decision.action != "allow":
                    continue
                rule_id = -1 if decision.rule is None else id(decision.rule)
                group = (src.zone, basis, rule_id, src.subnet if basis == "same-subnet" else None)
                groups.setdefault(group, []).append(src)
                decisions[group] = decision
            for group, members in groups.items():
                zone, basis, _, subnet = group
                decision = decisions[group]
                evidence = decision_text(decision, basis, self.model, zone, subnet)
                source = self.describe_sources(zone, members)
                out.append(Access(source, zone, service, basis, decision.rule, None, evidence))
            for (client, observed_service), flow in self.observed.get(key, {}).items():
                if observed_service == service:
                    zone = self.sources.lookup(client).zone
                    text = f"observed {flow.client} -> {flow.server} {service_text(service)} (no rule covers the pair)"
                    out.append(Access(_key_text(client), zone, service, "observed", None, flow, text))
        out.sort(key=lambda a: (a.service, a.source_zone or "", a.basis, a.source))
        return out

    def zone_reach(self, zone: str) -> dict[str | None, frozenset[Service]]:
        """What any host in ``zone`` can reach: destination zone (``None`` = no zone) -> services exposed there."""
        if self._served is None:
            by_service: dict[Service, set[int]] = {}
            for index, keys in enumerate(self.host_keys):
                for key in keys:
                    dst_id = self.destinations.lookup(key).id
                    for service in self.hosts[index].services:
                        by_service.setdefault(service, set()).add(dst_id)
            self._served = {service: self.destination_mask(ids) for service, ids in by_service.items()}
        found: dict[str | None, set[Service]] = {}
        sources = self.source_classes_in(zone)
        for service, candidates in self._served.items():
            for src in sources:
                for dst_id in iter_bits(self.allowed_destinations(src, service, candidates)):
                    found.setdefault(self.destinations.classes[dst_id].zone, set()).add(service)
        for server, pairs in self.observed.items():
            for client, service in pairs:
                if self.sources.lookup(client).zone == zone:
                    found.setdefault(self.destinations.lookup(server).zone, set()).add(service)
        return {z: frozenset(s) for z, s in found.items()}


def _real(ranges: Sequence[tuple[int, int]]) -> bool:
    """Whether any range holds real addresses (not only the unused gap between IPv4 and IPv6)."""
    return any(lo < 1 << 32 or hi >= V6_OFFSET for lo, hi in ranges)


def _subtract(ranges: list[tuple[int, int]], minus: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merged ``ranges`` without merged ``minus`` (both sorted)."""
    out: list[tuple[int, int]] = []
    j = 0
    for low, high in ranges:
        while j < len(minus) and minus[j][1] < low:
            j += 1
        cursor, k = low, j
        while k < len(minus) and minus[k][0] <= high:
            if minus[k][0] > cursor:
                out.append((cursor, minus[k][0] - 1))
            cursor = max(cursor, minus[k][1] + 1)
            k += 1
        if cursor <= high:
            out.append((cursor, high))
    return out
