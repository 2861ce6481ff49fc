"""Recommendations: the fewest rule changes that cut the risk-weighted paths from entry zones to critical targets,
and an allow-list policy derived from the observed baseline (METHODS.md 6.1, HICP "allow-listed pathways").

**Cutting.**  The input is a reachability graph whose nodes are zones, host classes or addresses and whose edges
(:class:`ReachEdge`) are the services a rule lets through, each weighted by the risk of the attack paths that use
it (other analyses compute them).  :func:`min_cut_recommendation` adds a super-source before the entry nodes and a
super-sink after the critical targets and runs ``networkx.minimum_cut``: an edge costs 1 to cut (one rule change),
an edge carried by a *protected* rule (one that carries legitimate observed clinical flows) costs
``protected_cost``, and an edge that crosses no firewall (inside one zone subnet, no rule) cannot be cut.  Each reach
edge is its own node in the flow network so parallel services between the same two nodes stay distinct.  The cut is
mapped back to rule changes (edges of one rule count one each in the cut, then merge into one change): remove a
rule when every edge it carries is cut, narrow its source or destination list when that is enough, else add a deny
in front of it (also when a later, broader allow would let the traffic through again).
:func:`greedy_recommendation` cuts the heaviest rule first, explains each step and can stop after a budget of
steps, which a min cut cannot.

**Baseline** (:mod:`wardwatch.domain.net_baseline`, re-exported here).  :func:`baseline_policy` turns observed
flows into one allow rule per (source group, destination group, protocol, server port), merges adjacent ports into
ranges, collapses a side to its zone when every known host of the zone is involved, and ends with a deny any/any.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import networkx as nx

from wardwatch.domain.net_baseline import EPHEMERAL_FROM, Baseline, baseline_policy, derive_baseline
from wardwatch.domain.netmodel import ANY, NetworkModel, PortRange, Protocol, Rule

__all__ = [
    "DEFAULT_PROTECTED_COST",
    "EPHEMERAL_FROM",
    "Baseline",
    "ChangeAction",
    "ReachEdge",
    "Recommendation",
    "RuleChange",
    "apply_changes",
    "baseline_policy",
    "derive_baseline",
    "greedy_recommendation",
    "min_cut_recommendation",
    "parse_service",
]

DEFAULT_PROTECTED_COST = 100.0
"""Cost of cutting an edge whose rule carries legitimate clinical flows (an ordinary change costs 1)."""

ChangeAction = Literal["add-deny", "remove", "narrow"]
_PROTOCOLS: tuple[Protocol, ...] = ("tcp", "udp", "icmp", "any")


@dataclass(frozen=True, slots=True)
class ReachEdge:
    """One step an attacker can take: ``source`` reaches ``target`` on ``service`` because ``rule`` allows it.

    Nodes are zone names, ``zone:class`` host classes, CIDRs or addresses.  ``service`` is ``tcp/445``,
    ``udp/161``, ``tcp/104,11112``, ``icmp`` or ``any``.  ``rule`` ``None`` means no rule decided (the default
    action or intra-zone traffic).  ``weight`` is the risk weight of the attack paths through this edge.
    """

    source: str
    target: str
    service: str
    rule: Rule | None
    weight: float


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One recommended change to the rule set."""

    action: ChangeAction
    rule: Rule | None
    """The existing rule changed (``None``: the traffic was allowed by the default action)."""
    new_rule: Rule | None
    """The deny to insert before ``rule`` (add-deny), the narrowed rule (narrow); ``None`` for remove."""
    reason: str
    paths_cut_weight: float
    """Sum of the weights of the reach edges this change cuts."""
    edges: tuple[ReachEdge, ...] = ()


@dataclass(frozen=True, slots=True)
class Recommendation:
    """Rule changes ranked by the weight they cut, with the reasoning."""

    method: Literal["min-cut", "greedy"]
    changes: tuple[RuleChange, ...]
    cost: float
    """Min-cut: the capacities of the cut edges (1 per edge, ``protected_cost`` per protected edge); greedy: the
    price of its steps (1 per rule, ``protected_cost`` per protected rule)."""
    weight_before: float
    """Weight of the reach edges on some entry → target path before the changes."""
    weight_left: float
    """Weight of the reach edges still on such a path after the changes."""
    uncuttable: tuple[str, ...] = ()
    """Targets an entry reaches without crossing any rule (same zone): no rule change protects them."""
    steps: tuple[str, ...] = ()

    @property
    def weight_cut(self) -> float:
        """Total weight of the edges the changes cut."""
        return sum(c.paths_cut_weight for c in self.changes)


def parse_service(service: str) -> tuple[Protocol, tuple[PortRange, ...]]:
    """``tcp/445`` → (``tcp``, (445,)); ``tcp/100-200,443``, ``icmp`` and ``any`` too; ``ValueError`` otherwise."""
    proto, _, ports = service.strip().lower().partition("/")
    protocol = next((p for p in _PROTOCOLS if p == proto), None)
    if protocol is None:
        raise ValueError(f"bad service {service!r}: expected tcp/N, udp/N, icmp or any")
    if not ports or ports == ANY:
        return protocol, ()
    ranges: list[PortRange] = []
    for part in ports.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or not (high or low).isdigit():
            raise ValueError(f"bad port {part!r} in service {service!r}")
        ranges.append(PortRange(int(low), int(high or low)))
    return protocol, tuple(ranges)


def _node_ref(model: NetworkModel, node: str) -> str:
    """The network reference a rule can use for a node: the zone, the CIDR/address, or the zone of ``zone:class``."""
    if model.zone(node) is not None:
        return node
    try:
        ipaddress.ip_network(node, strict=False)
    except ValueError:
        head = node.split(":", 1)[0]
        return head if model.zone(head) is not None else node
    return node


def _node_zone(model: NetworkModel, node: str) -> str | None:
    ref = _node_ref(model, node)
    if model.zone(ref) is not None:
        return ref
    try:
        return model.zone_of(str(ipaddress.ip_network(ref, strict=False).network_address))
    except ValueError:
        return None


def _probe(model: NetworkModel, node: str) -> str | None:
    """An address standing for a node: itself, or the first host of its (zone's first) network."""
    ref = _node_ref(model, node)
    zone = model.zone(ref)
    for cidr in zone.subnets if zone is not None else (ref,):
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        return str(net.network_address + 1 if net.num_addresses > 2 else net.network_address)
    return None


def _still_allowed(model: NetworkModel, edge: ReachEdge) -> bool:
    """Whether a later rule would still let the edge through (probed with one address and port per side)."""
    src, dst = _probe(model, edge.source), _probe(model, edge.target)
    if src is None or dst is None:
        return False
    protocol, ports = parse_service(edge.service)
    return model.decide(src, dst, protocol, ports[0].low if ports else None).action == "allow"


def _protected(rule: Rule | None, protected: Collection[str]) -> bool:
    return rule is not None and any(key and key in protected for key in (rule.name, rule.origin))


def _cuttable(model: NetworkModel, edge: ReachEdge) -> bool:
    """Traffic inside one zone subnet never crosses a firewall (:meth:`NetworkModel.decide` step 1): no rule change
    can cut it.  An edge no rule decides inside one zone is taken for such traffic unless both ends are addresses
    or CIDRs in two different subnets of the zone (then a firewall sits between them and a deny can cut it)."""
    if edge.rule is not None:
        return True
    zone = _node_zone(model, edge.source)
    if zone is None or zone != _node_zone(model, edge.target):
        return True
    src, dst = _node_subnet(model, edge.source), _node_subnet(model, edge.target)
    return src is not None and dst is not None and src != dst


def _node_subnet(model: NetworkModel, node: str) -> str | None:
    """The zone subnet of an address/CIDR node (that of its first address); ``None`` for zone and class nodes."""
    ref = _node_ref(model, node)
    if model.zone(ref) is not None:
        return None
    try:
        return model.subnet_of(str(ipaddress.ip_network(ref, strict=False).network_address))
    except ValueError:
        return None


def _rule_label(rule: Rule) -> str:
    label = f"rule '{rule.name}'" if rule.name else f"rule #{rule.order}"
    return f"{label} {rule.origin}" if rule.origin else label


def _edge_label(edge: ReachEdge) -> str:
    return f"{edge.source}→{edge.target} {edge.service}"


def _live(edges: Sequence[ReachEdge], sources: Iterable[str], targets: Iterable[str]) -> list[ReachEdge]:
    """Edges on some source → target path."""
    graph = nx.DiGraph()
    graph.add_edges_from((e.source, e.target) for e in edges)
    forward: set[str] = set()
    backward: set[str] = set()
    for s in sources:
        if s in graph:
            forward |= {s, *nx.descendants(graph, s)}
    for t in targets:
        if t in graph:
            backward |= {t, *nx.ancestors(graph, t)}
    return [e for e in edges if e.source in forward and e.target in backward]


def _uncuttable_targets(
    model: NetworkModel, edges: Sequence[ReachEdge], sources: Sequence[str], targets: Sequence[str]
) -> list[str]:
    free = [e for e in edges if not _cuttable(model, e)]
    reach = set(sources)
    for e in _live(free, sources, targets):
        reach.add(e.target)
    return sorted(t for t in set(targets) if t in reach)


def _add_deny(model: NetworkModel, rule: Rule | None, edges: list[ReachEdge]) -> RuleChange:
    first = edges[0]
    src, dst = _node_ref(model, first.source), _node_ref(model, first.target)
    protocol, ports = parse_service(first.service)
    what = f"deny {first.service} from {src} to {dst}"
    if rule is None:
        zone = _node_zone(model, first.source)
        same_zone = zone is not None and zone == _node_zone(model, first.target)
        reason = f"{what} (no rule decides it: the {'intra-zone' if same_zone else 'default'} action allows it)"
    else:
        reason = f"{what} (replaces part of {_rule_label(rule)})"
    new = Rule(
        action="deny",
        source=(src,),
        destination=(dst,),
        protocol=protocol,
        ports=ports,
        order=rule.order if rule is not None else 0,
        origin="wardwatch recommendation",
        name=f"ww-deny-{src}-{dst}-{first.service.replace('/', '-')}",
        description=reason,
    )
    return RuleChange("add-deny", rule, new, reason, sum(e.weight for e in edges), tuple(edges))


def _narrow(model: NetworkModel, rule: Rule, cut: list[ReachEdge], carried: list[ReachEdge]) -> RuleChange | None:
    """Drop the cut edges' explicit references from one side of the rule when that spares its other edges."""
    kept = [e for e in carried if e not in cut]
    for side in ("source", "destination"):
        refs: tuple[str, ...] = rule.source if side == "source" else rule.destination
        drop = {_node_ref(model, e.source if side == "source" else e.target) for e in cut}
        spared = {_node_ref(model, e.source if side == "source" else e.target) for e in kept}
        remaining = tuple(r for r in refs if r not in drop)
        if drop <= set(refs) and not drop & spared and remaining:
            new = replace(rule, source=remaining) if side == "source" else replace(rule, destination=remaining)
            reason = f"narrow {_rule_label(rule)}: drop {', '.join(sorted(drop))} from its {side}s"
            return RuleChange("narrow", rule, new, reason, sum(e.weight for e in cut), tuple(cut))
    return None


def _changes(
    model: NetworkModel, cut: Sequence[ReachEdge], edges: Sequence[ReachEdge], protected: Collection[str]
) -> list[RuleChange]:
    """Map cut edges to rule changes, heaviest first."""
    by_rule: dict[Rule | None, list[ReachEdge]] = defaultdict(list)
    for e in cut:
        by_rule[e.rule].append(e)
    out: list[RuleChange] = []
    for rule, cut_edges in by_rule.items():
        if rule is not None:
            carried = [e for e in edges if e.rule == rule]
            change: RuleChange | None = None
            if set(carried) <= set(cut_edges) and not _protected(rule, protected):
                labels = ", ".join(_edge_label(e) for e in cut_edges)
                reason = f"remove {_rule_label(rule)}: every edge it carries is on an attack path ({labels})"
                change = RuleChange("remove", rule, None, reason, sum(e.weight for e in cut_edges), tuple(cut_edges))
            elif not _protected(rule, protected):
                change = _narrow(model, rule, cut_edges, carried)
            # A later, broader allow (a vendor any/any) would let the traffic through again: deny in front instead.
            if change is not None and not any(_still_allowed(apply_changes(model, [change]), e) for e in cut_edges):
                out.append(change)
                continue
        same: dict[tuple[str, str, str], list[ReachEdge]] = defaultdict(list)
        for e in cut_edges:
            same[(_node_ref(model, e.source), _node_ref(model, e.target), e.service)].append(e)
        out.extend(_add_deny(model, rule, group) for group in same.values())
    out.sort(key=lambda c: (-c.paths_cut_weight, c.reason))
    return out


def _capacity(model: NetworkModel, edge: ReachEdge, protected: Collection[str], protected_cost: float) -> float | None:
    if not _cuttable(model, edge):
        return None
    return protected_cost if _protected(edge.rule, protected) else 1.0


def min_cut_recommendation(
    model: NetworkModel,
    edges: Sequence[ReachEdge],
    sources: Sequence[str],
    targets: Sequence[str],
    *,
    protected: Collection[str] = frozenset(),
    protected_cost: float = DEFAULT_PROTECTED_COST,
) -> Recommendation:
    """The cheapest set of rule changes that separates every entry node in ``sources`` from every critical
    node in ``targets`` (a minimum s-t cut), ranked by the path weight each change cuts.

    ``protected`` names rules (by name or origin) that carry legitimate clinical flows; cutting one of their edges
    costs ``protected_cost`` instead of 1.  Targets reachable without crossing a rule are reported as
    ``uncuttable`` and left out of the cut.
    """
    uncuttable = _uncuttable_targets(model, edges, sources, targets)
    cut_targets = [t for t in dict.fromkeys(targets) if t not in uncuttable]
    live = _live(edges, sources, cut_targets)
    super_source, super_sink = ("super-source",), ("super-sink",)  # tuples never collide with node names
    graph = nx.DiGraph()
    for i, edge in enumerate(live):
        capacity = _capacity(model, edge, protected, protected_cost)
        graph.add_edge(edge.source, ("edge", i), **({} if capacity is None else {"capacity": capacity}))
        graph.add_edge(("edge", i), edge.target)  # no capacity attribute = infinite
    graph.add_edges_from((super_source, s) for s in sources)
    graph.add_edges_from((t, super_sink) for t in cut_targets)
    cut: list[ReachEdge] = []
    cost = 0.0
    if super_sink in graph and nx.has_path(graph, super_source, super_sink):
        cost, (reachable, _) = nx.minimum_cut(graph, super_source, super_sink)
        cut = [e for i, e in enumerate(live) if e.source in reachable and ("edge", i) not in reachable]
    changes = _changes(model, cut, edges, protected)
    left = _live([e for e in edges if e not in cut], sources, targets)
    steps = [
        f"entry nodes: {', '.join(sources) or 'none'}; critical targets: {', '.join(targets) or 'none'}",
        f"minimum cut: {len(cut)} edge(s), cost {cost:g} (1 per rule change, {protected_cost:g} per protected edge)",
        *(f"{n}. {c.reason} — cuts weight {c.paths_cut_weight:g}" for n, c in enumerate(changes, 1)),
    ]
    if any(_protected(e.rule, protected) for e in cut):
        steps.append("the cut breaks protected clinical flows: no cheaper separation exists; consider host controls")
    steps.extend(f"{t} is reachable inside an entry zone: no rule change protects it" for t in uncuttable)
    return Recommendation(
        "min-cut",
        tuple(changes),
        float(cost),
        sum(e.weight for e in live),
        sum(e.weight for e in left),
        tuple(uncuttable),
        tuple(steps),
    )


def greedy_recommendation(
    model: NetworkModel,
    edges: Sequence[ReachEdge],
    sources: Sequence[str],
    targets: Sequence[str],
    *,
    protected: Collection[str] = frozenset(),
    protected_cost: float = DEFAULT_PROTECTED_COST,
    max_steps: int | None = None,
) -> Recommendation:
    """Cut, one rule at a time, the rule whose live edges carry the most weight per unit of cost, until no
    target is reachable through a rule or ``max_steps`` steps are taken; every step is explained.

    A step cuts all live edges of one rule (or one edge that no rule decides).  Use it when only a few changes
    can be made now: the first steps cut the most weight.
    """
    uncuttable = _uncuttable_targets(model, edges, sources, targets)
    cut_targets = [t for t in dict.fromkeys(targets) if t not in uncuttable]
    before = _live(edges, sources, cut_targets)
    cut: list[ReachEdge] = []
    steps: list[str] = []
    cost = 0.0
    remaining = list(edges)
    while max_steps is None or len(steps) < max_steps:
        live = [e for e in _live(remaining, sources, cut_targets) if _cuttable(model, e)]
        if not live:
            break
        groups: dict[object, list[ReachEdge]] = defaultdict(list)
        for e in live:
            groups[e.rule if e.rule is not None else (e.source, e.target, e.service)].append(e)

        def score(group: list[ReachEdge]) -> tuple[float, float]:
            price = protected_cost if _protected(group[0].rule, protected) else 1.0
            weight = sum(e.weight for e in group)
            return weight / price, weight

        best = max(groups.values(), key=score)  # first among equals: stable in edge order
        price = protected_cost if _protected(best[0].rule, protected) else 1.0
        cost += price
        cut.extend(best)
        remaining = [e for e in remaining if e not in best]
        what = _rule_label(best[0].rule) if best[0].rule is not None else _edge_label(best[0])
        still = sorted({e.target for e in _live(remaining, sources, cut_targets)} & set(cut_targets))
        steps.append(
            f"step {len(steps) + 1}: cut {what} ({len(best)} edge(s): {', '.join(_edge_label(e) for e in best)}), "
            f"weight {sum(e.weight for e in best):g}, cost {price:g}; "
            + (f"still reachable: {', '.join(still)}" if still else "no critical target is reachable any more")
        )
    changes = _changes(model, cut, edges, protected)
    left = _live([e for e in edges if e not in cut], sources, targets)
    steps.extend(f"{t} is reachable inside an entry zone: no rule change protects it" for t in uncuttable)
    return Recommendation(
        "greedy",
        tuple(changes),
        cost,
        sum(e.weight for e in before),
        sum(e.weight for e in left),
        tuple(uncuttable),
        tuple(steps),
    )


def apply_changes(model: NetworkModel, changes: Iterable[RuleChange]) -> NetworkModel:
    """The model with the changes made (denies inserted before the rule they split), renumbered 10, 20, ..."""
    removed: set[Rule] = set()
    narrowed: dict[Rule, Rule] = {}
    before: dict[Rule, list[Rule]] = defaultdict(list)
    tail: list[Rule] = []
    for change in changes:
        if change.action == "remove" and change.rule is not None:
            removed.add(change.rule)
        elif change.action == "narrow" and change.rule is not None and change.new_rule is not None:
            narrowed[change.rule] = change.new_rule
        elif change.action == "add-deny" and change.new_rule is not None:
            (before[change.rule] if change.rule is not None else tail).append(change.new_rule)
    rules: list[Rule] = []
    for rule in model.ordered_rules:
        rules.extend(before.get(rule, ()))
        if rule not in removed:
            rules.append(narrowed.get(rule, rule))
    rules.extend(tail)
    return replace(model, rules=tuple(replace(r, order=(i + 1) * 10) for i, r in enumerate(rules)))
