"""Verification of alarm delivery budgets: the worst-case delivery time of every (alarm source, budget) after every
combination of up to *k* failures of nodes, links or shared-risk groups (METHODS.md 5.4).

**Cost of a delivery** (:mod:`wardwatch.domain.alarm_model` says the same): the processing bound of every node on the
route plus the latency bound of every link, plus ``escalate_after_s`` when the recipient is an escalation one, plus --
when the failures break the *nominal* route (the one used with no failure) -- the failover time (detection + retry)
of the node before the broken hop, the slowest one when several hops are broken.  Then
``delivered(flow, F)  <=>  cost(F) <= budget``.

**Exact search, branching on the best route** (METHODS.md 5.4): a failure that touches neither the current best
route nor the nominal route changes neither the distance nor the failover term, so the worst failure set of size
``<= k`` is found by adding, one at a time, only elements on those routes.  Two refinements keep it small and exact:

* *dominance*: failing a node removes everything failing one of its links removes (and breaks at least the same
  hops); failing a shared-risk group removes everything failing one of its members does.  Below the first level only
  non-dominated elements are tried (the first level tries every node too, to list single points of failure);
* *A\\* with an exact heuristic*: each search over the damaged graph uses the failure-free distance to the
  recipients as its heuristic -- admissible because failures only remove routes -- so a search visits little more
  than the route it returns.

The number of searches per flow is at most ``1 + L + L^2 + … + L^k`` for routes of ``L`` candidate elements, and
results are memoised per failure set.  Pure: no I/O.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from wardwatch.domain.alarm_model import AlarmSource, AlarmTopology, Budget

__all__ = [
    "FailurePoint",
    "FlowResult",
    "Route",
    "Verification",
    "Verifier",
    "assemble",
    "flows_of",
    "verify",
]

INF = math.inf
_MAX_BREAKING = 10
"""Failure sets kept per flow as counterexamples (the worst is always kept)."""


@dataclass(frozen=True, slots=True)
class Route:
    """A delivery route: node ids from source to recipient, the link ids between them, and its cost."""

    nodes: tuple[str, ...]
    links: tuple[str, ...]
    seconds: float
    """Delivery time along it, failover and escalation included."""
    recipient: str
    escalated: bool


@dataclass(frozen=True, slots=True)
class FlowResult:
    """The verdict for one alarm source under one budget."""

    source: str
    unit: str
    priority: str
    alarm_type: str
    budget_key: str
    budget_s: float
    nominal: Route | None
    """The route with no failure (``None``: the recipients cannot be reached at all)."""
    worst: Route | None
    """The route after the worst failure set (``None``: no route survives it)."""
    failure_set: tuple[str, ...]
    """The worst failure set of at most k elements (empty when nothing can make it worse)."""
    breaking_sets: tuple[tuple[str, ...], ...]
    """Failure sets (minimal, at most ten) after which the budget is missed."""
    devices: int = 1

    @property
    def nominal_s(self) -> float:
        """Delivery time with no failure (``inf`` when unreachable)."""
        return self.nominal.seconds if self.nominal else INF

    @property
    def worst_case_s(self) -> float:
        """Worst-case delivery time over the failure sets checked (``inf`` when some set cuts every route)."""
        return self.worst.seconds if self.worst else INF

    @property
    def passed(self) -> bool:
        """Whether the budget holds after every failure set of at most k elements."""
        return self.worst_case_s <= self.budget_s + 1e-9


@dataclass(frozen=True, slots=True)
class FailurePoint:
    """A single element whose failure alone makes some budget miss."""

    element: str
    kind: str
    """``node``, ``link`` or ``group``."""
    label: str
    flows: tuple[str, ...]
    """``source@budget`` of the flows it breaks."""
    units: tuple[str, ...]
    devices: int
    """Bedside devices whose alarms it can delay past their budget."""


@dataclass(frozen=True, slots=True)
class Verification:
    """Every flow's verdict, the single points of failure, and counts."""

    k: int
    results: tuple[FlowResult, ...]
    single_points_of_failure: tuple[FailurePoint, ...]
    searches: int
    """Shortest-route searches run (the work done)."""
    unbudgeted_sources: tuple[str, ...] = ()
    """Alarm sources no budget applies to."""
    failing: tuple[FlowResult, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failing", tuple(r for r in self.results if not r.passed))

    @property
    def passed(self) -> bool:
        """Every budget holds."""
        return not self.failing


def flows_of(topology: AlarmTopology, budgets: Sequence[Budget] | None = None) -> list[tuple[AlarmSource, Budget]]:
    """Every (source, budget) pair where the budget governs the source's alarms, in a stable order.

    A unit-specific budget replaces a ``"*"`` one for the same alarm type and priority, and an alarm-type-specific
    one replaces a ``"*"`` type for the same unit and priority.
    """
    chosen = topology.budgets if budgets is None else tuple(budgets)
    out: list[tuple[AlarmSource, Budget]] = []
    for source in topology.sources:
        applicable = [b for b in chosen if b.applies_to(source)]
        for budget in applicable:
            if _overridden(budget, source, applicable):
                continue
            out.append((source, budget))
    return out


def _overridden(budget: Budget, source: AlarmSource, applicable: Sequence[Budget]) -> bool:
    def specificity(b: Budget) -> int:
        return (b.unit != "*") * 2 + (b.alarm_type != "*")

    mine = specificity(budget)
    types = source.alarm_types if budget.alarm_type == "*" else (budget.alarm_type,)
    # A more specific budget for the same priority covering every type this one covers replaces it.
    covered = set()
    for other in applicable:
        if other is budget or other.priority is not budget.priority or specificity(other) <= mine:
            continue
        covered |= set(source.alarm_types) if other.alarm_type == "*" else {other.alarm_type}
    return bool(types) and set(types) <= covered


class _Graph:
    """The topology compiled to integer ids: arcs (head, link index, weight), processing bounds, members."""

    def __init__(self, topology: AlarmTopology) -> None:
        self.topology = topology
        self.node_ids = [n.id for n in topology.nodes]
        self.index = {nid: i for i, nid in enumerate(self.node_ids)}
        self.link_ids = [link.id for link in topology.links]
        self.link_index = {lid: i for i, lid in enumerate(self.link_ids)}
        self.processing = [n.processing.max_s for n in topology.nodes]
        self.failover = [n.failover.total_s for n in topology.nodes]
        self.failable = [n.failable for n in topology.nodes]
        self.out: list[list[tuple[int, int, float]]] = [[] for _ in self.node_ids]
        self.into: list[list[tuple[int, int, float]]] = [[] for _ in self.node_ids]
        for li, link in enumerate(topology.links):
            a, b = self.index[link.a], self.index[link.b]
            self._arc(a, b, li, link.latency.max_s)
            if link.bidirectional:
                self._arc(b, a, li, link.latency.max_s)
        # element id -> (node indexes, link indexes) it removes
        self.removes: dict[str, tuple[frozenset[int], frozenset[int]]] = {}
        for i, nid in enumerate(self.node_ids):
            self.removes[nid] = (frozenset({i}), frozenset())
        for li, lid in enumerate(self.link_ids):
            self.removes[lid] = (frozenset(), frozenset({li}))
        for group in topology.groups:
            nodes = frozenset(self.index[m] for m in group.members if m in self.index)
            links = frozenset(self.link_index[m] for m in group.members if m in self.link_index)
            self.removes[group.id] = (nodes, links)
        self.groups_of_node: list[tuple[str, ...]] = [topology.groups_of.get(nid, ()) for nid in self.node_ids]
        self.groups_of_link: list[tuple[str, ...]] = [topology.groups_of.get(lid, ()) for lid in self.link_ids]

    def _arc(self, tail: int, head: int, link: int, latency: float) -> None:
        weight = latency + self.processing[head]
        self.out[tail].append((head, link, weight))
        self.into[head].append((tail, link, weight))


_Targets = tuple[tuple[int, float], ...]
"""Recipient node index -> extra seconds (0 for primary, the escalation delay for escalation recipients)."""


@dataclass(frozen=True, slots=True)
class _Tree:
    """Shortest-route tree toward a set of recipients: distance and next (node, link) per node (``None`` at roots)."""

    dist: list[float]
    next: list[tuple[int, int] | None]


@dataclass(frozen=True, slots=True)
class _Explored:
    """What the search from one source to one set of recipients found: the nominal route, every failure set
    visited with its cost, single-failure costs, and the worst set."""

    nominal: _Found | None
    costs: list[tuple[frozenset[str], float]]
    singles: dict[str, float]
    worst_set: frozenset[str]
    worst_cost: float
    worst_found: _Found | None


@dataclass(slots=True)
class _Found:
    seconds: float
    nodes: list[int]
    links: list[int]
    recipient: int


class Verifier:
    """Verifies flows of one topology; reusable (heuristics and graph are computed once)."""

    def __init__(self, topology: AlarmTopology) -> None:
        self.topology = topology
        self.graph = _Graph(topology)
        self._heuristics: dict[_Targets, _Tree] = {}
        self._explored: dict[tuple[str, _Targets, int], _Explored] = {}
        self._cut_off: dict[tuple[_Targets, frozenset[int], frozenset[int]], frozenset[int]] = {}
        """(recipients, dead nodes, dead links) -> nodes proven unable to reach a recipient."""
        self.searches = 0

    # -- searches ---------------------------------------------------------------------------------------------

    def _heuristic(self, targets: _Targets) -> _Tree:
        """Failure-free distance from every node to the best recipient (reverse Dijkstra from a super-sink), with
        each node's next hop on one such shortest route: the shortest-route tree toward the recipients."""
        cached = self._heuristics.get(targets)
        if cached is not None:
            return cached
        graph = self.graph
        dist = [INF] * len(graph.node_ids)
        nxt: list[tuple[int, int] | None] = [None] * len(graph.node_ids)
        heap: list[tuple[float, int]] = []
        roots = {node for node, _ in targets}
        for node, extra in targets:
            if extra < dist[node]:
                dist[node] = extra
                heap.append((extra, node))
        heapq.heapify(heap)
        while heap:
            d, v = heapq.heappop(heap)
            if d > dist[v]:
                continue
            # arc (u -> v) costs its weight, which already includes v's processing
            for u, link, weight in graph.into[v]:
                nd = d + weight
                if nd < dist[u] and u not in roots:  # a recipient is where an alarm ends, never a relay
                    dist[u] = nd
                    nxt[u] = (v, link)
                    heapq.heappush(heap, (nd, u))
        tree = _Tree(dist, nxt)
        self._heuristics[targets] = tree
        return tree

    def _search(
        self, source: int, targets: _Targets, dead_nodes: frozenset[int], dead_links: frozenset[int]
    ) -> _Found | None:
        """The best route from ``source`` to a recipient avoiding the dead elements; ``None`` when none is left.

        A* with the failure-free distance ``h`` as heuristic, plus one exact shortcut: a node whose tree route to the
        recipients avoids every dead element (*unaffected*) still has exactly ``h`` to go -- failures only remove
        routes -- so reaching it ends that branch with ``g + h``, and only the affected region around the failure is
        searched.
        """
        self.searches += 1
        tree = self._heuristic(targets)
        h, nxt = tree.dist, tree.next
        if h[source] == INF or source in dead_nodes:
            return None
        memo: dict[int, bool] = {}

        def affected(v: int) -> bool:
            chain: list[int] = []
            x = v
            while True:
                known = memo.get(x)
                if known is not None:
                    result = known
                    break
                if x in dead_nodes:
                    result = True
                    break
                step = nxt[x]
                if step is None:  # a recipient: the root of the tree
                    result = False
                    break
                chain.append(x)
                if step[1] in dead_links:
                    result = True
                    break
                x = step[0]
            memo[x] = result
            for y in chain:
                memo[y] = result
            return result

        graph = self.graph
        start = graph.processing[source]
        if not affected(source):
            return self._tree_route(source, start + h[source], [source], [], tree)
        cut_off = self._cut_off.get((targets, dead_nodes, dead_links))
        if cut_off is not None and source in cut_off:  # an earlier search proved nothing here reaches a recipient
            return None
        best_g = {source: start}
        parent: dict[int, tuple[int, int]] = {}
        closed: set[int] = set()
        sink = -1
        heap: list[tuple[float, float, int]] = [(start + h[source], start, source)]
        sink_cost = INF
        sink_at = -1
        sink_parent = (-1, -1)
        pop, push, known, best = heapq.heappop, heapq.heappush, memo.get, best_g.get
        out = graph.out
        while heap:
            _f, g, v = pop(heap)
            if v == sink:
                break
            if v in closed:
                continue
            closed.add(v)
            for head, link, weight in out[v]:
                if head in closed or head in dead_nodes or link in dead_links:
                    continue
                hh = h[head]
                ng = g + weight
                if ng + hh >= sink_cost:  # cannot beat the best found (an unreachable node has hh = inf)
                    continue
                hit = known(head)
                if hit is None:
                    hit = affected(head)
                if not hit:  # exact remaining cost: this branch ends here
                    sink_cost, sink_at, sink_parent = ng + hh, head, (v, link)
                    push(heap, (sink_cost, sink_cost, sink))
                    continue
                if ng < best(head, INF):
                    best_g[head] = ng
                    parent[head] = (v, link)
                    push(heap, (ng + hh, ng, head))
        if sink_at < 0:
            self._cut_off[(targets, dead_nodes, dead_links)] = frozenset(closed)
            return None
        nodes = [sink_parent[0]]
        links: list[int] = []
        while nodes[-1] != source:
            prev, link = parent[nodes[-1]]
            links.append(link)
            nodes.append(prev)
        nodes.reverse()
        links.reverse()
        nodes.append(sink_at)
        links.append(sink_parent[1])
        return self._tree_route(sink_at, sink_cost, nodes, links, tree)

    @staticmethod
    def _tree_route(at: int, cost: float, nodes: list[int], links: list[int], tree: _Tree) -> _Found:
        """Complete a route that has reached ``at`` along the tree to its recipient."""
        step = tree.next[at]
        while step is not None:
            nodes.append(step[0])
            links.append(step[1])
            step = tree.next[step[0]]
        return _Found(cost, nodes, links, nodes[-1])

    # -- one flow ---------------------------------------------------------------------------------------------

    def verify_flow(self, source: AlarmSource, budget: Budget, k: int) -> tuple[FlowResult, dict[str, float]]:
        """The verdict for one flow, and the cost after each single failure tried (element id -> seconds).

        The search depends on the source and the recipients (with their escalation delays), not on the budget's
        number, so budgets of one source that share recipients reuse one exploration.
        """
        graph = self.graph
        targets_map: dict[int, float] = {}
        for r in budget.escalation:
            targets_map[graph.index[r]] = float(budget.escalate_after_s or 0.0)
        for r in budget.primary:
            targets_map[graph.index[r]] = 0.0
        targets: _Targets = tuple(sorted(targets_map.items()))
        key = (source.node, targets, k)
        explored = self._explored.get(key)
        if explored is None:
            explored = self._explore(graph.index[source.node], targets, k)
            self._explored[key] = explored
        primary = {graph.index[r] for r in budget.primary}
        limit = budget.max_delivery_s + 1e-9
        breaking = [failed for failed, cost in explored.costs if cost > limit]
        minimal = [b for b in breaking if not any(other < b for other in breaking)]
        ordered = sorted(minimal, key=lambda b: (len(b), sorted(b)))[:_MAX_BREAKING]
        if explored.nominal is None:
            ordered = [frozenset()]

        def route(found: _Found | None, cost: float) -> Route | None:
            if found is None or cost == INF:
                return None
            return Route(
                nodes=tuple(graph.node_ids[i] for i in found.nodes),
                links=tuple(graph.link_ids[i] for i in found.links),
                seconds=round(cost, 6),
                recipient=graph.node_ids[found.recipient],
                escalated=found.recipient not in primary,
            )

        nominal = explored.nominal
        result = FlowResult(
            source=source.node,
            unit=source.unit,
            priority=budget.priority.value,
            alarm_type=budget.alarm_type,
            budget_key=budget.key,
            budget_s=budget.max_delivery_s,
            nominal=route(nominal, nominal.seconds) if nominal is not None else None,
            worst=route(explored.worst_found, explored.worst_cost),
            failure_set=tuple(sorted(explored.worst_set)),
            breaking_sets=tuple(tuple(sorted(b)) for b in ordered),
            devices=source.devices,
        )
        return result, dict(explored.singles)

    def _explore(self, s: int, targets: _Targets, k: int) -> _Explored:
        """Every failure set the exact search visits from ``s`` to ``targets``, with its cost."""
        graph = self.graph
        nominal = self._search(s, targets, frozenset(), frozenset())
        if nominal is None:
            return _Explored(None, [], {}, frozenset(), INF, None)
        costs: dict[frozenset[str], tuple[float, _Found | None]] = {}
        singles: dict[str, float] = {}
        hops = list(zip(nominal.nodes, nominal.nodes[1:], nominal.links, strict=False))

        def evaluate(failed: frozenset[str]) -> tuple[float, _Found | None]:
            known = costs.get(failed)
            if known is not None:
                return known
            dead_nodes: set[int] = set()
            dead_links: set[int] = set()
            for element in failed:
                n, li = graph.removes[element]
                dead_nodes |= n
                dead_links |= li
            penalty = 0.0
            for tail, head, link in hops:
                if head in dead_nodes or link in dead_links:
                    penalty = max(penalty, graph.failover[tail])
            found = self._search(s, targets, frozenset(dead_nodes), frozenset(dead_links))
            value = (INF, None) if found is None else (found.seconds + penalty, found)
            costs[failed] = value
            return value

        def candidates(found: _Found | None, first_level: bool) -> list[str]:
            route_nodes: list[int] = list(nominal.nodes[1:])
            route_links: list[int] = list(nominal.links)
            if found is not None:
                route_nodes += found.nodes[1:]
                route_links += found.links
            out: dict[str, None] = {}
            for v in route_nodes:
                for g in graph.groups_of_node[v]:
                    out[g] = None
            for li in route_links:
                for g in graph.groups_of_link[li]:
                    out[g] = None
            for v in route_nodes:
                if graph.failable[v] and (first_level or not graph.groups_of_node[v]):
                    out[graph.node_ids[v]] = None
            for head, li in zip(route_nodes, route_links, strict=True):
                # a link is dominated by the node it leads to, unless that node cannot fail
                if not graph.failable[head] and (first_level or not graph.groups_of_link[li]):
                    out[graph.link_ids[li]] = None
            return list(out)

        worst_set: frozenset[str] = frozenset()
        worst_cost: float = nominal.seconds
        worst_found: _Found | None = nominal
        visited: list[tuple[frozenset[str], float]] = []
        costs[frozenset()] = (nominal.seconds, nominal)
        seen: set[frozenset[str]] = {frozenset()}
        # Level by level: every single failure first (they give the single points of failure), then pairs from the
        # most damaging single failure down, ...  Once some set leaves no route at all the worst case is known
        # (nothing is worse than no route), so the search stops there.
        level: list[tuple[frozenset[str], _Found | None]] = [(frozenset(), nominal)]
        while level and worst_cost < INF:
            following: list[tuple[float, frozenset[str], _Found | None]] = []
            for failed, found in level:
                if len(failed) >= k or found is None or worst_cost == INF:
                    continue
                for element in candidates(found, first_level=not failed):
                    if element in failed:
                        continue
                    bigger = failed | {element}
                    if bigger in seen:
                        continue
                    seen.add(bigger)
                    cost, found2 = evaluate(bigger)
                    if len(bigger) == 1:
                        singles[element] = cost
                    if _worse(cost, bigger, worst_cost, worst_set):
                        worst_cost, worst_found, worst_set = cost, found2, bigger
                    visited.append((bigger, cost))
                    following.append((cost, bigger, found2))
                    if cost == INF and len(bigger) > 1:
                        break
            following.sort(key=lambda item: (-item[0], sorted(item[1])))
            level = [(failed, found) for _cost, failed, found in following]
        return _Explored(nominal, visited, singles, worst_set, worst_cost, worst_found)

    # -- everything -------------------------------------------------------------------------------------------

    def verify(self, k: int = 1, budgets: Sequence[Budget] | None = None) -> Verification:
        """Verify every flow of the topology (with ``budgets`` instead of the topology's own when given)."""
        if k < 0:
            raise ValueError("k must be 0 or more")
        start = self.searches
        flows = flows_of(self.topology, budgets)
        outcomes = [self.verify_flow(source, budget, k) for source, budget in flows]
        return assemble(self.topology, k, flows, outcomes, self.searches - start)


def assemble(
    topology: AlarmTopology,
    k: int,
    flows: Sequence[tuple[AlarmSource, Budget]],
    outcomes: Sequence[tuple[FlowResult, Mapping[str, float]]],
    searches: int,
) -> Verification:
    """The verification of ``flows`` from each flow's verdict and single-failure costs (computed in any order or
    process): the single points of failure are the elements whose failure alone breaks some flow."""
    spof: dict[str, list[FlowResult]] = {}
    for (_source, budget), (result, singles) in zip(flows, outcomes, strict=True):
        for element, cost in singles.items():
            if cost > budget.max_delivery_s + 1e-9:
                spof.setdefault(element, []).append(result)
    budgeted = {source.node for source, _ in flows}
    points = [
        FailurePoint(
            element=element,
            kind=topology.kind_of(element),
            label=topology.label(element),
            flows=tuple(f"{r.source}@{r.budget_key}" for r in broken),
            units=tuple(sorted({r.unit for r in broken})),
            devices=sum({r.source: r.devices for r in broken}.values()),
        )
        for element, broken in spof.items()
    ]
    points.sort(key=lambda p: (-p.devices, -len(p.flows), p.element))
    return Verification(
        k=k,
        results=tuple(result for result, _ in outcomes),
        single_points_of_failure=tuple(points) if k >= 1 else (),
        searches=searches,
        unbudgeted_sources=tuple(sorted(s.node for s in topology.sources if s.node not in budgeted)),
    )


def _worse(cost: float, failed: frozenset[str], best_cost: float, best_set: frozenset[str]) -> bool:
    """Whether ``failed`` is a worse (or equally bad but smaller / earlier-named) failure set than the best so far."""
    if cost != best_cost:
        return cost > best_cost
    if len(failed) != len(best_set):
        return bool(best_set) and len(failed) < len(best_set)
    return sorted(failed) < sorted(best_set)


def verify(topology: AlarmTopology, k: int = 1, budgets: Sequence[Budget] | None = None) -> Verification:
    """Verify every alarm flow of ``topology`` against its budgets after every failure set of at most ``k``."""
    return Verifier(topology).verify(k, budgets)


def describe(result: FlowResult, topology: AlarmTopology) -> str:
    """One sentence a clinician can read: the verdict and the failure set that causes it."""
    what = f"{result.priority}-priority {result.alarm_type} alarms from {topology.label(result.source)}"
    if result.nominal is None:
        return f"{what} cannot reach any recipient even with nothing failed."
    if result.passed:
        return f"{what} arrive within {_secs(result.worst_case_s)} in the worst case (budget {_secs(result.budget_s)})."
    failed = " + ".join(topology.label(e) for e in result.failure_set) or "nothing"
    if result.worst is None:
        return f"{what} are not delivered at all after {failed} fails (budget {_secs(result.budget_s)})."
    return (
        f"{what} take {_secs(result.worst_case_s)} after {failed} fails, over the budget of {_secs(result.budget_s)}."
    )


def _secs(value: float) -> str:
    return "no route" if value == INF else f"{value:.1f} s"


def merged(values: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Element -> worst cost over several single-failure maps (helper for callers aggregating flows)."""
    out: dict[str, float] = {}
    for mapping in values:
        for key, value in mapping.items():
            out[key] = max(out.get(key, -INF), value)
    return out
