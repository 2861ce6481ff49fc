"""Blast radius of a WannaCry-style worm (METHODS.md 6.2): from a seed host or zone, step by step, which devices
and units fall, how fast, and which clinical functions stop.  Pure and deterministic for a given ``seed``.

**Vulnerable host** (the "v is vulnerable" of the outbreak model).  All of:

* its OS is Windows (``HostFacts.os`` starts with ``Windows``, any version; an unknown OS is *not* assumed to be);
* it offers SMBv1 (``smbv1``) or has an MS17-010 CVE (:data:`MS17_010`, CVE-2017-0143..0148) among its findings;
* it serves a worm port (:attr:`WormParameters.ports`, tcp/445 and tcp/139).  A Windows host seen serving other
  ports but none of these is not vulnerable (a host firewall or no SMB server); one whose services are unknown is
  assumed to serve them all when :attr:`WormParameters.assume_smb_on_windows` (the default);
* no what-if made it safe (:attr:`Mitigation.patched`, :attr:`Mitigation.disable_smbv1`).

**Edges.**  An infected host u infects a vulnerable host v when, for some worm port p that v serves, the network
lets tcp/p from one of u's addresses reach one of v's addresses, with :meth:`NetworkModel.decide`'s semantics
(the intra-zone action inside one zone subnet, where no firewall sits between them; else the first matching rule,
else the intra-zone action inside one zone, else the default action).  A dual-homed host
(``extra_addresses``) scans from, and can be reached on, every address: it bridges its networks.

Decisions are not computed per pair.  The rule that decides tcp/p from u to v is the lowest set bit of
``src(u) & dst(v) & service(p)``, where ``src(u)`` is the mask of rules whose source side matches u (it depends
only on u's address and zone) and ``dst(v)`` the same for destinations (:mod:`wardwatch.domain.net_compiled`);
before the rules, "are u and v in the same zone subnet" decides, and when no bit is set, "are they in the same
zone".  So every source address with the same (zone, subnet, source mask) and every target address with the same
(zone, subnet, destination mask) behave alike: the
simulation counts infected addresses per source group and computes once per source group which target
groups it reaches (:class:`_Network`); the /24 of an address matters only for local scanning.

**Steps.**  Step 0 is the seed set: the seed hosts (infected by assumption, vulnerable or not) or every vulnerable
host of the seed zone.  At each step every host infected *before* the step scans; a not-yet-infected vulnerable
host v falls with probability ``1 - (1 - p_local)^a * (1 - p_random)^b``, where a counts the reachable (infected
address, v address) pairs in one local subnet (/24; /64 for IPv6: the worm's "local LAN" thread, ``p_local``
1 by default) and b the other reachable pairs (the random-scanning threads, ``p_random`` per infected address
per step).  Hosts are visited in address order with one ``random.Random(seed)`` draw each time the probability
is strictly between 0 and 1, so a seed fixes the result.  With ``p_random = 1`` (:func:`worst_case`) step k is
exactly the k-th breadth-first layer of the reachability graph.  The run stops after ``steps`` steps or as soon
as no vulnerable host is reachable any more (``saturated``).

**Time.**  One step is ``step_minutes`` (5 by default): METHODS.md 6.2 says LAN scanning and exploitation take
"seconds to minutes"; the number is an assumption to show the pace, not a measurement.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from wardwatch.domain.net_compiled import Behind, CompiledModel
from wardwatch.domain.netmodel import HostFacts, NetworkModel
from wardwatch.domain.worm_report import (
    CLINICAL_FUNCTIONS,
    FunctionImpact,
    GroupImpact,
    Mitigation,
    StepResult,
    WormParameters,
    WormResult,
    summarize,
)

__all__ = [
    "CLINICAL_FUNCTIONS",
    "MS17_010",
    "FunctionImpact",
    "GroupImpact",
    "Mitigation",
    "StepResult",
    "WormParameters",
    "WormResult",
    "is_vulnerable",
    "simulate",
    "worst_case",
]

#: The CVEs of Microsoft bulletin MS17-010 (EternalBlue is CVE-2017-0144).
MS17_010 = frozenset(f"CVE-2017-{n:04d}" for n in range(143, 149))


def is_vulnerable(host: HostFacts, ports: Sequence[int] = (445, 139), *, assume_smb_on_windows: bool = True) -> bool:
    """Whether the worm can exploit the host (the rule in the module docstring, without what-ifs)."""
    return _served_ports(host, ports, assume_smb_on_windows) != 0


def _served_ports(host: HostFacts, ports: Sequence[int], assume: bool) -> int:
    """Bit k set when the host is vulnerable and serves ``ports[k]``; 0 when not vulnerable."""
    if not (host.os or "").casefold().startswith("windows"):
        return 0
    if not host.smbv1 and MS17_010.isdisjoint(v.upper() for v in host.vulnerabilities):
        return 0
    if not host.services:
        return (1 << len(ports)) - 1 if assume else 0
    served = {port for protocol, port in host.services if protocol.lower() == "tcp"}
    return sum(1 << k for k, port in enumerate(ports) if port in served)


def _order(address: str) -> tuple[int, int]:
    """(version, integer) of an address for sorting; ``socket.inet_pton`` is ten times faster than ``ipaddress``."""
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        try:
            return version, int.from_bytes(socket.inet_pton(family, address), "big")
        except OSError:
            continue
    raise ValueError(f"{address!r} is not an IP address: give hosts and seeds as IPv4/IPv6 text")


def _local_net(address: str) -> tuple[int, int]:
    """The worm's "local LAN" of an address: its /24 (IPv4) or /64 (IPv6)."""
    version, value = _order(address)
    return version, value >> (8 if version == 4 else 64)


#: Most target-class numbers kept in :meth:`_Network.reached`'s cache (about 8 bytes each).
_LIST_CACHE_LIMIT = 20_000_000

_Source = tuple[str | None, str | None, int, tuple[int, ...]]
"""(zone, zone subnet, source mask, interfaces behind the filtering devices): the source group of an address."""
_Iface = tuple[str | None, _Source, int, tuple[int, int]]
"""(zone, source group, target class or -1, local net) of one address."""


@dataclass(slots=True)
class _Host:
    facts: HostFacts
    addresses: tuple[str, ...]
    served: int = 0
    """Bit mask over the worm ports; 0 = not vulnerable."""
    ifaces: list[_Iface] = field(default_factory=list)

    @property
    def order(self) -> tuple[int, int]:
        return _order(self.addresses[0])


class _Network:
    """Which target classes (zone, subnet, destination mask) an address of (zone, subnet, source mask) reaches on
    each worm port.

    Computed once per source group: the target classes of the source's own subnet get the intra-zone action (no
    firewall in between); then the rules that match the source are "painted" in evaluation order over bit sets of
    the other target classes: a class takes the action of the first rule whose destination side matches it, and
    the classes no rule took get the intra-zone or default action.  Hand-written because it is the hot path: one
    ``&`` over all target classes per matching rule instead of one decision per (source, target) pair.
    """

    def __init__(self, model: NetworkModel, ports: Sequence[int], block_between_zones: bool) -> None:
        self.compiled = CompiledModel(model)
        self.services = [self.compiled.service_mask("tcp", port) for port in ports]
        self.relevant = 0
        """Rules that can decide a worm port: masks keep only these bits, so addresses that differ only in
        rules about other services share one group."""
        for service in self.services:
            self.relevant |= service
        self.allow = sum(1 << i for i, rule in enumerate(self.compiled.rules) if rule.action == "allow")
        self.intra = model.intra_zone == "allow"
        self.default = model.default_action == "allow" and not block_between_zones
        self.block = block_between_zones
        self.classes: dict[tuple[str | None, str | None, int, tuple[int, ...]], int] = {}
        self._by_rule: dict[int, int] = {}
        self._behind = Behind(len(self.compiled.devices))
        self._same_zone: dict[str, int] = {}
        self._same_subnet: dict[str, int] = {}
        self._reach: dict[_Source, tuple[int, ...]] = {}
        self._lists: dict[tuple[_Source, int], list[int]] = {}
        self._cached = 0

    def iface(self, address: str, target: bool) -> _Iface:
        """The :data:`_Iface` of one address; a target address gets (or joins) a target class."""
        cls = self.compiled.classes[self.compiled.locate(address)]
        tid = -1
        if target:
            key = (cls.zone, cls.subnet, cls.destination_mask & self.relevant, cls.interfaces)
            known = self.classes.get(key)
            if known is None:
                known = self.classes[key] = len(self.classes)
                bit, mask = 1 << known, key[2]
                self._behind.add(cls.interfaces, bit)
                while mask:
                    low = mask & -mask
                    i = low.bit_length() - 1
                    self._by_rule[i] = self._by_rule.get(i, 0) | bit
                    mask ^= low
                if cls.zone is not None:
                    self._same_zone[cls.zone] = self._same_zone.get(cls.zone, 0) | bit
                if cls.subnet is not None:
                    self._same_subnet[cls.subnet] = self._same_subnet.get(cls.subnet, 0) | bit
            tid = known
        source = (cls.zone, cls.subnet, cls.source_mask & self.relevant, cls.interfaces)
        return cls.zone, source, tid, _local_net(address)

    def reach(self, source: _Source, served: int) -> int:
        """Target classes (bit set) reached from a source group on at least one port of ``served``."""
        per_port = self._reach.get(source)
        if per_port is None:
            zone, subnet, src, interfaces = source
            compiled = self.compiled
            every = (1 << len(self.classes)) - 1
            same = self._same_zone.get(zone, 0) if zone is not None else 0
            local = self._same_subnet.get(subnet, 0) if subnet is not None else 0  # no firewall in between
            fallback = (same if self.intra else 0) | (every & ~same if self.default else 0)
            out = []
            for service in self.services:
                undecided, allowed = every & ~local, local if self.intra else 0
                if compiled.points and undecided:  # every ACL on the way must let it through
                    denied, on_way = compiled.points_filter(src, interfaces, service, undecided, self._by_rule,
                                                            self._behind)  # fmt: skip
                    if not compiled.unbound_mask:
                        allowed |= on_way & ~denied
                        undecided &= ~on_way
                    else:
                        undecided &= ~denied
                rules = src & service & compiled.unbound_mask
                while rules and undecided:
                    low = rules & -rules
                    i = low.bit_length() - 1
                    rules ^= low
                    taken = self._by_rule.get(i, 0) & undecided
                    if taken:
                        undecided ^= taken
                        if (self.allow >> i) & 1:
                            allowed |= taken
                allowed |= undecided & fallback
                out.append(allowed & same if self.block else allowed)
            per_port = self._reach[source] = tuple(out)
        reached = 0
        for k, bits in enumerate(per_port):
            if (served >> k) & 1:
                reached |= bits
        return reached

    def reached(self, source: _Source, served: int) -> list[int]:
        """:meth:`reach` as a list of target classes (cached: the hot loop adds counts over it)."""
        key = (source, served)
        out = self._lists.get(key)
        if out is None:
            bits = bin(self.reach(source, served))[:1:-1]
            out = [t for t, bit in enumerate(bits) if bit == "1"]
            if self._cached < _LIST_CACHE_LIMIT:  # bounded: groups x classes can be large on host-by-host rules
                self._cached += len(out)
                self._lists[key] = out
        return out


def simulate(
    model: NetworkModel,
    hosts: Iterable[HostFacts],
    seeds: Iterable[str] = (),
    seed_zone: str | None = None,
    *,
    parameters: WormParameters | None = None,
    mitigation: Mitigation | None = None,
    functions: Mapping[str, str] = CLINICAL_FUNCTIONS,
) -> WormResult:
    """Run the worm from ``seeds`` (host addresses, any of a host's addresses; an address that is no host's is a
    host of its own) and/or every vulnerable host of ``seed_zone``.  Raises ``ValueError`` for a bad address or an
    unknown zone.  Hosts repeating an earlier host's address are ignored.  ``functions`` maps device types to
    clinical functions (:data:`CLINICAL_FUNCTIONS`)."""
    params = parameters or WormParameters()
    what_if = mitigation or Mitigation()
    if seed_zone is not None and model.zone(seed_zone) is None:
        raise ValueError(f"unknown seed zone {seed_zone!r}: name one of the model's zones")
    net = _Network(model, params.ports, what_if.block_445_between_zones)
    table, by_address = _hosts(hosts)
    seed_ids: set[int] = set()
    for address in seeds:
        address = address.strip()
        index = by_address.get(address)
        if index is None:
            index = by_address[address] = len(table)
            _order(address)
            table.append(_Host(HostFacts(address=address), (address,)))
        seed_ids.add(index)
    safe = _safe_hosts(table, by_address, what_if)
    for index, host in enumerate(table):
        if index not in safe:
            host.served = _served_ports(host.facts, params.ports, params.assume_smb_on_windows)
        if host.served or index in seed_ids:
            host.ifaces = [net.iface(a, bool(host.served)) for a in host.addresses]
    if seed_zone is not None:
        seed_ids.update(i for i, h in enumerate(table) if h.served and any(f[0] == seed_zone for f in h.ifaces))
    infected_at, steps, saturated = _spread(net, table, seed_ids, params)
    ordered = [sorted(fallen, key=lambda i: table[i].order) for fallen in steps]
    rows = [(host.facts, net.compiled.zone_of(host.addresses[0]), bool(host.served)) for host in table]
    return summarize(rows, ordered, infected_at, saturated, params, what_if, functions)


def worst_case(
    model: NetworkModel,
    hosts: Iterable[HostFacts],
    seeds: Iterable[str] = (),
    seed_zone: str | None = None,
    *,
    parameters: WormParameters | None = None,
    mitigation: Mitigation | None = None,
    functions: Mapping[str, str] = CLINICAL_FUNCTIONS,
) -> WormResult:
    """The deterministic worst case: every reachable vulnerable host falls one step after its first infected
    neighbour (``p_local = p_random = 1``), run to saturation: the blast radius of METHODS.md 6.2 (BFS)."""
    hosts = list(hosts)
    params = replace(parameters or WormParameters(), steps=len(hosts) + 1, p_local=1.0, p_random=1.0)
    return simulate(model, hosts, seeds, seed_zone, parameters=params, mitigation=mitigation, functions=functions)


def _hosts(hosts: Iterable[HostFacts]) -> tuple[list[_Host], dict[str, int]]:
    """The hosts (first of each primary address) and address -> host (a primary address before another's extra)."""
    table: list[_Host] = []
    primaries: dict[str, int] = {}
    for facts in hosts:
        primary = facts.address.strip()
        if primary not in primaries:
            addresses = tuple(dict.fromkeys([primary, *(a.strip() for a in facts.extra_addresses)]))
            primaries[primary] = len(table)
            table.append(_Host(facts, addresses))
    by_address = dict(primaries)
    for index, host in enumerate(table):
        for address in host.addresses[1:]:
            by_address.setdefault(address, index)
    return table, by_address


def _safe_hosts(table: list[_Host], by_address: Mapping[str, int], what_if: Mitigation) -> set[int]:
    if what_if.disable_smbv1 == "all":
        return set(range(len(table)))
    named = what_if.patched | what_if.disable_smbv1
    return {by_address[a.strip()] for a in named if a.strip() in by_address}


def _spread(
    net: _Network, table: list[_Host], seed_ids: set[int], params: WormParameters
) -> tuple[dict[int, int], list[list[int]], bool]:
    """Run the steps: (host index -> step, the hosts of each step, saturated)."""
    rng = random.Random(params.seed)  # noqa: S311 - a reproducible simulation, not cryptography
    infected_at = dict.fromkeys(seed_ids, 0)
    steps: list[list[int]] = [sorted(seed_ids, key=lambda i: table[i].order)]
    targets = sorted((i for i, h in enumerate(table) if h.served and i not in seed_ids), key=lambda i: table[i].order)
    # Pressure on a target address = infected addresses reaching its (class, served ports), all and local.
    total = {served: [0] * len(net.classes) for served in {table[i].served for i in targets}}
    local_keys: dict[tuple[int, int], set[tuple[int, int]]] = {}
    for i in targets:
        for _, _, tid, local in table[i].ifaces:
            local_keys.setdefault(local, set()).add((tid, table[i].served))
    local_total: dict[tuple[tuple[int, int], int, int], int] = {}
    # Targets with the same (served ports, classes and local nets of their addresses) feel the same pressure.
    shapes = {i: (table[i].served, tuple((tid, local) for _, _, tid, local in table[i].ifaces)) for i in targets}
    saturated = False
    for step in range(1, params.steps + 2):
        _add_sources(net, table, steps[-1], total, local_keys, local_total)
        felt: dict[tuple[int, tuple[tuple[int, tuple[int, int]], ...]], tuple[int, int]] = {}
        pressure: list[tuple[int, int, int]] = []
        for i in targets:
            shape = shapes[i]
            near_far = felt.get(shape)
            if near_far is None:
                served, near, far = shape[0], 0, 0
                for tid, local in shape[1]:
                    here = local_total.get((local, tid, served), 0)
                    near += here
                    far += total[served][tid] - here
                near_far = felt[shape] = (near, far)
            if near_far[0] or near_far[1]:
                pressure.append((i, *near_far))
        if not pressure or step > params.steps:
            saturated = not pressure
            break
        fallen = [i for i, near, far in pressure if _falls(near, far, params, rng)]
        for i in fallen:
            infected_at[i] = step
        steps.append(fallen)
        done = set(fallen)
        targets = [i for i in targets if i not in done]
    return infected_at, steps, saturated


def _add_sources(
    net: _Network,
    table: list[_Host],
    new: list[int],
    total: dict[int, list[int]],
    local_keys: Mapping[tuple[int, int], set[tuple[int, int]]],
    local_total: dict[tuple[tuple[int, int], int, int], int],
) -> None:
    """Add the addresses of newly infected hosts to the pressure on every target class, and on their local nets."""
    groups: dict[_Source, int] = {}
    local_groups: dict[tuple[tuple[int, int], _Source], int] = {}
    for i in new:
        for _, src, _, local in table[i].ifaces:
            groups[src] = groups.get(src, 0) + 1
            if local in local_keys:
                local_groups[(local, src)] = local_groups.get((local, src), 0) + 1
    for src, count in groups.items():
        for served, counts in total.items():
            for tid in net.reached(src, served):
                counts[tid] += count
    for (local, src), count in local_groups.items():
        for tid, served in local_keys[local]:
            if (net.reach(src, served) >> tid) & 1:
                key = (local, tid, served)
                local_total[key] = local_total.get(key, 0) + count


def _falls(near: int, far: int, params: WormParameters, rng: random.Random) -> bool:
    if (near and params.p_local >= 1.0) or (far and params.p_random >= 1.0):
        return True
    survive = (1.0 - params.p_local) ** near * (1.0 - params.p_random) ** far
    if survive >= 1.0:
        return False
    return rng.random() < 1.0 - survive
