"""Attack paths: from where an attacker starts to the clinical devices that matter most, one exploit at a time.

A *hop* u → v exists when v serves a service that u may reach (:class:`Reachability`) and v has an exploit for
that service (a catalogued CVE or weakness, ``data/network/exploits.yaml``).  Attackers start in *entry zones*:
zones marked ``entry_point`` or of an entry kind (internet, guest Wi-Fi, vendor remote access, enterprise for a
phished workstation), from any address there.  A path's likelihood is the product of its hops' likelihoods, its
impact comes from the target's criticality, and paths rank by likelihood × impact.

The search runs on *host classes*: hosts with the same address classes and the same exploits are one node, so
200,000 hosts collapse to the few thousand the rules can tell apart.  One Dijkstra from all entry zones at once
on ``-log(likelihood)`` finds the best path to every class; the k paths kept per target are the best ones
through distinct previous nodes (pass ``sources`` to see one entry zone's own best paths).  The Dijkstra is
hand-written because the edges are generated lazily from the compiled rules as nodes are reached; a networkx
graph would need every edge built first.
Paths are then told on concrete hosts: the target itself, and one representative of each intermediate class.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from wardwatch.domain.net_reach import (
    AddressClass,
    Reachability,
    Service,
    address_key,
    decision_text,
    iter_bits,
    service_text,
)
from wardwatch.domain.netmodel import HostFacts, ObservedFlow, Rule

__all__ = [
    "WINDOWS_SERVICES",
    "AttackPath",
    "Exploit",
    "ExploitCatalog",
    "Hop",
    "catalog_from_mapping",
    "entry_zones",
    "find_paths",
    "packaged_catalog",
]


#: Services a Windows host with no observed services is assumed to offer (SMB, NetBIOS session, RDP).
WINDOWS_SERVICES: tuple[Service, ...] = (("tcp", 445), ("tcp", 139), ("tcp", 3389))


@dataclass(frozen=True, slots=True)
class Exploit:
    """A way to take over a host through one of its services."""

    id: str
    """A CVE id or a weakness kind (``default_credentials``)."""
    name: str
    services: tuple[Service, ...]
    maturity: str
    """``kev``, ``poc``, ``credential`` or ``weakness`` (see the yaml)."""
    likelihood: float

    def __str__(self) -> str:
        return f"{self.id} {self.name}"


@dataclass(frozen=True, slots=True)
class ExploitCatalog:
    """The exploits, per-hop likelihoods, criticality impacts and entry kinds of one data version."""

    version: str
    exploits: Mapping[str, Exploit]
    impact: Mapping[str, float]
    unknown_impact: float
    entry_kinds: tuple[str, ...]

    def host_exploits(self, host: HostFacts) -> dict[Service, Exploit]:
        """The most likely exploit for each service the host serves (CVE ids, weakness kinds, ``smbv1``).

        A Windows host never seen serving anything is assumed to serve SMB and RDP (:data:`WINDOWS_SERVICES`), as
        Windows does by default and as the worm model assumes: passive discovery only sees services that are used.
        """
        served = set(host.services)
        if not served and (host.os or "").lower().startswith("windows"):
            served = set(WINDOWS_SERVICES)
        found: dict[Service, Exploit] = {}
        for finding in (*host.vulnerabilities, *(("smbv1",) if host.smbv1 else ())):
            text = finding.strip()
            exploit = self.exploits.get(text.upper() if text[:4].upper() == "CVE-" else text.lower())
            if exploit is None:
                continue
            for service in exploit.services:
                current = found.get(service)
                if service in served and (
                    current is None or (-exploit.likelihood, exploit.id) < (-current.likelihood, current.id)
                ):
                    found[service] = exploit
        return found

    def impact_of(self, host: HostFacts) -> float:
        """Impact of reaching the host, from its criticality."""
        return self.impact.get(host.criticality or "", self.unknown_impact)


def _service(text: object, where: str) -> Service:
    protocol, _, port = str(text).partition("/")
    if protocol not in ("tcp", "udp") or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{where}: bad service {text!r}; write protocol/port, e.g. tcp/445")
    return protocol, int(port)


def catalog_from_mapping(document: Mapping[str, Any]) -> ExploitCatalog:
    """Check a parsed ``exploits.yaml`` and build the catalog; ``ValueError`` names the bad entry."""
    levels = {str(k): float(v) for k, v in dict(document["likelihood"]).items()}
    if not all(0 < p <= 1 for p in levels.values()):
        raise ValueError("exploits.yaml likelihood: every level must be in (0, 1]")
    exploits: dict[str, Exploit] = {}
    for section, normalise in (("cves", str.upper), ("weaknesses", str.lower)):
        for key, entry in dict(document.get(section) or {}).items():
            where = f"exploits.yaml {section}.{key}"
            maturity = str(entry["maturity"])
            if maturity not in levels:
                raise ValueError(f"{where}: maturity {maturity!r} is not one of {sorted(levels)}")
            services = tuple(_service(s, where) for s in entry["services"])
            exploits[normalise(str(key))] = Exploit(str(key), str(entry["name"]), services, maturity, levels[maturity])
    impact = {str(k): float(v) for k, v in dict(document["impact"]).items()}
    return ExploitCatalog(
        str(document["version"]),
        exploits,
        impact,
        float(document["unknown_impact"]),
        tuple(str(k) for k in document["entry_kinds"]),
    )


@cache
def packaged_catalog() -> ExploitCatalog:
    """The catalog shipped in ``wardwatch/data/network/exploits.yaml`` (read once per process)."""
    text = resources.files("wardwatch.data").joinpath("network").joinpath("exploits.yaml").read_text("utf-8")
    return catalog_from_mapping(yaml.safe_load(text))


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a path: from a foothold to the next host, over a service, with an exploit."""

    source: str
    target: str
    service: Service
    exploit: Exploit
    evidence: str
    """Why the service is reachable: the rule and its origin, the intra-zone/default action, or a flow."""
    source_host: HostFacts | None = None
    """``None``: the attacker's starting zone."""
    target_host: HostFacts | None = None
    rule: Rule | None = None
    """The rule that lets the hop through (``None``: same subnet or zone, the default action or an observed flow)."""
    entry_zone: str | None = None
    """The attacker's starting zone, on a path's first hop."""

    def explain(self) -> str:
        """``from zone 'guest' (any host) to 10.1.0.10 ... over tcp/445 (CVE-2017-0144 ..., ...)``."""
        return (
            f"from {self.source} to {self.target} over {service_text(self.service)} "
            f"({self.exploit}, likelihood {self.exploit.likelihood:.2f}; {self.evidence})"
        )


@dataclass(frozen=True, slots=True)
class AttackPath:
    """A ranked path from an entry zone to a target host."""

    hops: tuple[Hop, ...]
    likelihood: float
    impact: float
    score: float
    """likelihood × impact."""
    target: HostFacts
    entry: str
    """The entry zone."""

    def explain(self) -> list[str]:
        """A headline and one line per hop."""
        head = (
            f"{_describe(self.target)} [{self.target.criticality or 'criticality unknown'}] from zone "
            f"'{self.entry}': likelihood {self.likelihood:.3f} x impact {self.impact:.2f} = score {self.score:.3f}"
        )
        return [head, *(f"  {n}. {hop.explain()}" for n, hop in enumerate(self.hops, 1))]


def _describe(host: HostFacts, address: str | None = None) -> str:
    words = [address or host.address, *(w for w in (host.os, host.device_type) if w)]
    return " ".join(words) + (f" '{host.name}'" if host.name else "")


def entry_zones(reach: Reachability, catalog: ExploitCatalog) -> list[str]:
    """Zones an attacker may start from: marked ``entry_point`` or of an entry kind."""
    return [z.name for z in reach.model.zones if z.entry_point or z.kind in catalog.entry_kinds]


@dataclass(frozen=True, slots=True)
class _Edge:
    """How one class takes over the next: for telling a path, not for the search (which keeps only weights)."""

    likelihood: float
    service: Service
    exploit: Exploit
    source_class: AddressClass | None
    destination_class: AddressClass | None
    flow: ObservedFlow | None


class _ClassGraph:
    """Host classes of the exploitable hosts, entry-zone nodes after them, and lazily generated edges."""

    def __init__(self, reach: Reachability, hosts: Sequence[HostFacts], catalog: ExploitCatalog, zones: list[str]):
        self.reach, self.hosts = reach, hosts
        observed_from = reach.observed_from()
        # Observed flows are host-level evidence.  A modelled client keeps its class (every member is reached
        # alike, so a path may hold the flow's client); the flow's server and unmodelled hosts stand alone.
        servers = set(reach.observed)
        interned: dict[tuple[object, ...], int] = {}
        self.members: list[list[int]] = []
        self.src: list[tuple[AddressClass, ...]] = []
        self.dst: list[tuple[int, ...]] = []
        self.exploits: list[dict[Service, Exploit]] = []
        self.host_class: dict[int, int] = {}
        self.index_at: dict[int, int] = {}
        class_at: dict[int, int] = {}
        pairs: dict[Service, dict[int, list[tuple[int, float]]]] = {}
        for index, host in enumerate(hosts):
            exploits = catalog.host_exploits(host)
            keys = tuple(_keys(host))
            if not exploits or not keys:
                continue
            srcs = tuple(sorted({reach.sources.lookup(k) for k in keys}, key=lambda c: c.id))
            dsts = tuple(sorted({reach.destinations.lookup(k).id for k in keys}))
            own = keys if any(k in servers or not reach.modelled(k) for k in keys) else ()
            signature = (tuple(c.id for c in srcs), dsts, tuple(sorted((s, e.id) for s, e in exploits.items())), own)
            cid = interned.setdefault(signature, len(interned))
            if cid == len(self.members):
                self.members.append([])
                self.src.append(srcs)
                self.dst.append(dsts)
                self.exploits.append(exploits)
                for service, exploit in exploits.items():
                    for dst in dsts:
                        pairs.setdefault(service, {}).setdefault(dst, []).append((cid, -math.log(exploit.likelihood)))
            self.members[cid].append(index)
            self.host_class[index] = cid
            for key in keys:
                class_at.setdefault(key, cid)
                self.index_at.setdefault(key, index)
        self.pairs = pairs
        self.candidates = {s: reach.destination_mask(d) for s, d in pairs.items()}
        self.zones = zones
        self.entry_src = [reach.source_classes_in(z) for z in zones]
        self.observed: dict[int, list[tuple[int, Service, ObservedFlow]]] = {}
        for client, found in observed_from.items():
            usable = [(class_at[s], svc, f) for s, svc, f in found if s in class_at]
            zone = reach.sources.lookup(client).zone
            nodes = ([class_at[client]] if client in class_at else []) + [
                len(self.members) + i for i, z in enumerate(zones) if z == zone
            ]
            for node in nodes:
                self.observed.setdefault(node, []).extend(usable)
        self._edges: dict[int, dict[int, float]] = {}
        self._access: dict[tuple[str, int, Service], str] = {}

    def access_text(self, zone: str, destination: AddressClass, service: Service) -> str:
        """Which addresses of an entry zone reach ``destination`` on ``service`` (cached: paths share hops)."""
        key = (zone, destination.id, service)
        if key not in self._access:
            self._access[key] = self.reach.describe_access(zone, destination, service)
        return self._access[key]

    def sources(self, node: int) -> Sequence[AddressClass]:
        """The source classes an attacker holding ``node`` sends from."""
        entry = node - len(self.members)
        return self.entry_src[entry] if entry >= 0 else self.src[node]

    def edges(self, node: int) -> dict[int, float]:
        """Out-edges of a node: next class -> least ``-log(likelihood)`` over its services (computed once)."""
        cached = self._edges.get(node)
        if cached is not None:
            return cached
        best: dict[int, float] = {}
        get = best.get
        for service, candidates in self.candidates.items():
            allowed = 0
            for src in self.sources(node):
                allowed |= self.reach.allowed_destinations(src, service, candidates)
            per_dst = self.pairs[service]
            for dst in iter_bits(allowed):  # hot: one pass per reachable (class, service)
                for target, weight in per_dst[dst]:
                    if weight < get(target, math.inf):
                        best[target] = weight  # noqa: PERF403 - keeps the least weight, not a mapping
        for target, service, _ in self.observed.get(node, ()):
            exploit = self.exploits[target].get(service)
            if exploit and -math.log(exploit.likelihood) < get(target, math.inf):
                best[target] = -math.log(exploit.likelihood)
        best.pop(node, None)
        self._edges[node] = best
        return best

    def detail(self, node: int, target: int) -> _Edge:
        """The most likely way from ``node`` into ``target``: the service, exploit and what allows it."""
        ranked = sorted(self.exploits[target].items(), key=lambda item: (-item[1].likelihood, item[0]))
        for service, exploit in ranked:
            for dst in self.dst[target]:
                dst_class = self.reach.destinations.classes[dst]
                for src in self.sources(node):
                    if self.reach.decide_classes(src, dst_class, *service)[0].action == "allow":
                        return _Edge(exploit.likelihood, service, exploit, src, dst_class, None)
            for to, observed_service, flow in self.observed.get(node, ()):
                if to == target and observed_service == service:
                    return _Edge(exploit.likelihood, service, exploit, None, None, flow)
        raise LookupError(f"no edge from {node} to {target}")  # pragma: no cover - edges() found one

    def dijkstra(self, starts: Sequence[int]) -> tuple[dict[int, float], dict[int, int]]:
        """Least ``-log(likelihood)`` from any of ``starts`` to every reachable class, with the previous node."""
        dist: dict[int, float] = dict.fromkeys(starts, 0.0)
        prev: dict[int, int] = {}
        heap = [(0.0, start) for start in starts]
        while heap:
            d, node = heapq.heappop(heap)
            if d > dist[node]:
                continue
            for target, weight in self.edges(node).items():
                nd = d + weight
                if nd < dist.get(target, math.inf):
                    dist[target] = nd
                    prev[target] = node
                    heapq.heappush(heap, (nd, target))
        return dist, prev

    def incoming(self, targets: set[int]) -> dict[int, list[tuple[int, float]]]:
        """(previous node, weight) into each of ``targets``, from every node expanded so far."""
        out: dict[int, list[tuple[int, float]]] = {}
        for node, edges in self._edges.items():
            for target in targets.intersection(edges):
                out.setdefault(target, []).append((node, edges[target]))
        return out


def _keys(host: HostFacts) -> list[int]:
    keys: list[int] = []
    for address in (host.address, *host.extra_addresses):
        try:
            key = address_key(address)
        except ValueError:
            continue
        if key not in keys:
            keys.append(key)
    return keys


def _chain(prev: dict[int, int], node: int) -> list[int]:
    """The nodes from the start to ``node``."""
    nodes = [node]
    while node in prev:
        node = prev[node]
        nodes.append(node)
    nodes.reverse()
    return nodes


def find_paths(
    reach: Reachability,
    hosts: Sequence[HostFacts],
    *,
    sources: Sequence[str] | None = None,
    targets: str | None = None,
    top: int = 100,
    per_target: int = 3,
    max_targets: int | None = None,
    catalog: ExploitCatalog | None = None,
) -> list[AttackPath]:
    """The ``top`` attack paths by likelihood × impact, at most ``per_target`` per target host.

    ``sources``: entry zone names (default :func:`entry_zones`).  ``targets``: a criticality or a device type
    (default: every host); ``max_targets`` keeps the most critical.  ``ValueError`` for an unknown zone.
    """
    catalog = catalog or packaged_catalog()
    zones = list(sources) if sources is not None else entry_zones(reach, catalog)
    unknown = [z for z in zones if reach.model.zone(z) is None]
    if unknown:
        raise ValueError(f"unknown entry zone(s) {', '.join(unknown)}; use the zone names of the network model")
    graph = _ClassGraph(reach, hosts, catalog, zones)
    first_entry = len(graph.members)
    dist, prev = graph.dijkstra(range(first_entry, first_entry + len(zones)))
    chosen = [i for i, h in enumerate(hosts) if targets is None or targets in (h.criticality, h.device_type)]
    chosen.sort(key=lambda i: (-catalog.impact_of(hosts[i]), hosts[i].address))
    chosen = chosen[:max_targets] if max_targets is not None else chosen
    incoming = graph.incoming({graph.host_class[i] for i in chosen if i in graph.host_class})
    paths: list[AttackPath] = []
    for index in chosen:
        cls = graph.host_class.get(index)
        if cls is None:
            continue
        options = sorted((dist[before] + weight, before) for before, weight in incoming.get(cls, ()) if before in dist)
        kept = 0
        for _, before in options:
            if kept >= per_target:
                break
            nodes = [*_chain(prev, before), cls]
            if cls in nodes[:-1]:
                continue  # the best way to the previous node passes through the target's class
            kept += 1
            steps = [(a, b, graph.detail(a, b)) for a, b in itertools.pairwise(nodes)]
            likelihood = math.prod(edge.likelihood for _, _, edge in steps)
            impact = catalog.impact_of(hosts[index])
            hops = _hops(graph, steps, index)
            entry = zones[nodes[0] - first_entry]
            paths.append(AttackPath(hops, likelihood, impact, likelihood * impact, hosts[index], entry))
    paths.sort(key=lambda p: (-p.score, len(p.hops), p.target.address, p.entry))
    return paths[:top]


def _hops(graph: _ClassGraph, steps: list[tuple[int, int, _Edge]], target_index: int) -> tuple[Hop, ...]:
    """Tell class-level steps on concrete hosts: one member per class, the flow's ends on observed steps."""
    held: dict[int, int] = {steps[-1][1]: target_index}
    for before, after, edge in steps:
        if edge.flow is not None:
            client = graph.index_at.get(address_key(edge.flow.client))
            if client is not None and before < len(graph.members):
                held.setdefault(before, client)
            held.setdefault(after, graph.index_at[address_key(edge.flow.server)])
    return tuple(
        _hop(graph, before, after, edge, held.get(before), held.get(after, graph.members[after][0]), after in held)
        for before, after, edge in steps
    )


def _hop(
    graph: _ClassGraph, node: int, target_node: int, edge: _Edge, source: int | None, target: int, exact: bool
) -> Hop:
    """One step on concrete hosts (``exact``: the target host itself, not a representative of its class)."""
    reach, hosts = graph.reach, graph.hosts
    source_host: HostFacts | None = None
    zone: str | None = None
    rule: Rule | None = None
    if node >= len(graph.members):
        zone = graph.zones[node - len(graph.members)]
        if edge.destination_class is not None:
            source_text = graph.access_text(zone, edge.destination_class, edge.service)
        else:
            source_text = f"zone '{zone}' host {edge.flow.client if edge.flow else ''}"
    else:
        source_host = hosts[graph.members[node][0] if source is None else source]
        source_text = _describe(source_host) + ("" if source is not None else _others(len(graph.members[node])))
    target_host = hosts[target]
    address = target_host.address
    if edge.destination_class is not None:
        for candidate in (target_host.address, *target_host.extra_addresses):
            try:
                if reach.destinations.lookup(address_key(candidate)).id == edge.destination_class.id:
                    address = candidate
                    break
            except ValueError:
                continue
    target_text = _describe(target_host, address) + ("" if exact else _others(len(graph.members[target_node])))
    if edge.source_class is None or edge.destination_class is None:
        flow = edge.flow
        evidence = (
            f"observed flow {flow.client} -> {flow.server} {service_text(edge.service)}"
            f" ({flow.packets} packets; no rule covers the pair)"
            if flow
            else "observed"
        )
    else:
        decision, basis = reach.decide_classes(edge.source_class, edge.destination_class, *edge.service)
        evidence = decision_text(decision, basis, reach.model, edge.source_class.zone, edge.source_class.subnet)
        rule = decision.rule
    return Hop(source_text, target_text, edge.service, edge.exploit, evidence, source_host, target_host, rule, zone)


def _others(count: int) -> str:
    return f" (or any of {count - 1} like it)" if count > 1 else ""
