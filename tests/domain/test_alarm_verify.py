"""Alarm budget verification: a hand-calculated topology, and the exact search against brute force."""

from __future__ import annotations

import itertools
import math
import random

import networkx as nx
import pytest

from wardwatch.domain.alarm_model import (
    AlarmSource,
    AlarmTopology,
    Budget,
    Failover,
    Latency,
    Link,
    Medium,
    Node,
    Priority,
    RiskGroup,
)
from wardwatch.domain.alarm_verify import flows_of, verify


def _node(nid: str, kind: str, proc: float = 0.0, failover: tuple[float, float] = (0, 0), **kw: object) -> Node:
    return Node(nid, kind, processing=Latency.fixed(proc), failover=Failover(*failover), **kw)  # type: ignore[arg-type]


def _link(a: str, b: str, seconds: float, medium: Medium = Medium.WIRED) -> Link:
    return Link(f"{a}--{b}", a, b, Latency(0, seconds / 2, seconds), medium)


def hand_topology(*, second_server: bool = True, budget_s: float = 5.0) -> AlarmTopology:
    """The example of docs/alarms.md "A worked example":

    monitors (0.5 s, roam 3 + 1 s) --wifi 0.1--> ap1 --0.01--> sw --0.01--> srv1 (1.0 s) --1.0--> phones (0.5 s)
             \\--wifi 0.3--> ap2 --0.01--/         \\--0.01--> srv2 (1.5 s) --1.0--/
    srv1 and srv2 reach the pager (0.5 s) over 0.5 s links; the pager is escalated to after 30 s.
    """
    nodes = [
        _node("mon", "source", 0.5, (3, 1), failable=False, unit="ICU"),
        _node("ap1", "ap"),
        _node("ap2", "ap"),
        _node("sw", "switch"),
        _node("srv1", "alarm-server", 1.0, (2, 0.5)),
        _node("phones", "phone", 0.5, failable=False, unit="ICU"),
        _node("pager", "pager", 0.5, failable=False, unit="ICU"),
    ]
    links = [
        _link("mon", "ap1", 0.1, Medium.WIFI),
        _link("mon", "ap2", 0.3, Medium.WIFI),
        _link("ap1", "sw", 0.01),
        _link("ap2", "sw", 0.01),
        _link("sw", "srv1", 0.01),
        _link("srv1", "phones", 1.0),
        _link("srv1", "pager", 0.5),
    ]
    if second_server:
        nodes.append(_node("srv2", "alarm-server", 1.5))
        links += [_link("sw", "srv2", 0.01), _link("srv2", "phones", 1.0), _link("srv2", "pager", 0.5)]
    groups = (RiskGroup("rf5", "rf", frozenset({"mon--ap1", "mon--ap2"}), "5 GHz band in the ICU"),)
    budgets = (
        Budget("ICU", "arrhythmia", Priority.HIGH, budget_s, ("phones",), ("pager",), 30.0),
        Budget("ICU", "*", Priority.LOW, 120.0, ("phones",), ("pager",), 30.0),
    )
    source = AlarmSource("mon", "ICU", "monitor", ("arrhythmia", "spo2-low"), devices=12)
    return AlarmTopology(tuple(nodes), tuple(links), groups, (source,), budgets)


def test_hand_calculation_k1() -> None:
    result = verify(hand_topology(), k=1)
    high = next(r for r in result.results if r.priority == "high")
    # nominal: 0.5 (monitor) + 0.1 + 0.01 + (0.01 + 1.0 srv1) + (1.0 + 0.5 phones) = 3.12 s
    assert high.nominal_s == pytest.approx(3.12)
    assert high.nominal is not None and high.nominal.nodes == ("mon", "ap1", "sw", "srv1", "phones")
    # worst single failure: the 5 GHz band (both Wi-Fi links) or the one switch -> no route at all
    assert high.worst_case_s == math.inf
    assert not high.passed
    # ap1 alone: route via ap2 = 0.5 + 0.3 + 0.01 + 1.01 + 1.5 = 3.32, plus the monitor's roam 3 + 1 = 7.32 > 5;
    # the srv1 -> phones link alone: via srv2 = 3.62, plus srv1's ack timeout and retry 2 + 0.5 = 6.12 > 5
    assert set(high.breaking_sets) == {("rf5",), ("sw",), ("ap1",), ("srv1--phones",)}
    low = next(r for r in result.results if r.priority == "low")
    assert low.passed is False  # no route after rf5 or sw, whatever the budget
    points = {p.element: p for p in result.single_points_of_failure}
    assert set(points) == {"rf5", "sw", "ap1", "srv1--phones"}
    assert points["ap1"].flows == ("mon@ICU/arrhythmia/high",)
    assert points["sw"].devices == 12


def test_hand_calculation_single_failures_are_costed_exactly() -> None:
    topology = hand_topology(budget_s=8.0)
    from wardwatch.domain.alarm_verify import Verifier

    verifier = Verifier(topology)
    source = topology.sources[0]
    result, singles = verifier.verify_flow(source, topology.budgets[0], k=1)
    assert singles["ap1"] == pytest.approx(7.32)
    # srv1 fails: via srv2 = 0.5 + 0.1 + 0.01 + (0.01 + 1.5) + (1.0 + 0.5) = 3.62; the switch notices nothing (0 s)
    assert singles["srv1"] == pytest.approx(3.62)
    assert singles["srv1--phones"] == pytest.approx(6.12)
    assert singles["sw"] == math.inf and singles["rf5"] == math.inf
    assert result.failure_set == ("rf5",)  # ties at "no route" go to the first name


def test_escalation_counts_its_delay() -> None:
    # With the phones link of both servers cut (k=2), the pager is reached after the 30 s escalation.
    topology = hand_topology()
    topology = AlarmTopology(
        topology.nodes, topology.links, (), topology.sources,
        (Budget("ICU", "*", Priority.MEDIUM, 40.0, ("phones",), ("pager",), 30.0),),
    )  # fmt: skip
    from wardwatch.domain.alarm_verify import Verifier

    verifier = Verifier(topology)
    result, _ = verifier.verify_flow(topology.sources[0], topology.budgets[0], k=2)
    # worst finite case: sw is a single point -> no route; so the worst is inf
    assert result.worst_case_s == math.inf
    # both phone links cut: the pager is reached after the 30 s escalation
    g = verifier.graph
    targets = ((g.index["phones"], 0.0), (g.index["pager"], 30.0))
    dead = frozenset({g.link_index["srv1--phones"], g.link_index["srv2--phones"]})
    found = verifier._search(g.index["mon"], targets, frozenset(), dead)  # noqa: SLF001 - the search under test
    assert found is not None and found.recipient == g.index["pager"]
    # mon 0.5 + 0.1 + 0.01 + 0.01 + 1.0 (srv1) + 0.5 + 0.5 (pager) + 30 = 32.62
    assert found.seconds == pytest.approx(32.62)


def test_second_server_removes_the_server_as_single_point() -> None:
    without = verify(hand_topology(second_server=False), k=1)
    assert "srv1" in {p.element for p in without.single_points_of_failure}
    with_two = verify(hand_topology(second_server=True), k=1)
    assert "srv1" not in {p.element for p in with_two.single_points_of_failure}


def test_k0_is_the_nominal_route() -> None:
    result = verify(hand_topology(), k=0)
    assert all(r.passed for r in result.results)
    assert result.single_points_of_failure == ()


def test_specific_budget_overrides_wildcard() -> None:
    topology = hand_topology()
    pairs = flows_of(topology)
    keys = sorted(b.key for _, b in pairs)
    assert keys == ["ICU/*/low", "ICU/arrhythmia/high"]
    extra = Budget("*", "*", Priority.HIGH, 20.0, ("phones",))
    keys2 = sorted(b.key for _, b in flows_of(topology, (*topology.budgets, extra)))
    # the unit's own arrhythmia budget replaces "*" for arrhythmia, but spo2-low is still only covered by "*"
    assert keys2 == ["*/*/high", "ICU/*/low", "ICU/arrhythmia/high"]


# -- the exact search agrees with brute force over every failure set ---------------------------------------------


def _brute_force(topology: AlarmTopology, budget: Budget, source: str, k: int) -> float:
    elements = [n.id for n in topology.nodes if n.failable] + [x.id for x in topology.links]
    elements += [g.id for g in topology.groups]
    members = {g.id: g.members for g in topology.groups}

    def cost(failed: set[str]) -> tuple[float, list[str] | None]:
        dead = set()
        for e in failed:
            dead |= members.get(e, {e})
        graph = nx.DiGraph()
        recipients = {*budget.primary, *budget.escalation}
        for link in topology.links:
            if link.id in dead or link.a in dead or link.b in dead:
                continue
            pairs = [(link.a, link.b)] + ([(link.b, link.a)] if link.bidirectional else [])
            for a, b in pairs:
                if a in recipients:  # an alarm ends at a recipient: recipients never relay
                    continue
                w = link.latency.max_s + topology.node_by_id[b].processing.max_s
                if graph.has_edge(a, b) and graph[a][b]["weight"] <= w:
                    continue
                graph.add_edge(a, b, weight=w, link=link.id)
        targets = dict.fromkeys(budget.primary, 0.0)
        for r in budget.escalation:
            targets.setdefault(r, float(budget.escalate_after_s or 0))
        for r, extra in targets.items():
            if r not in dead:
                graph.add_edge(r, "SINK", weight=extra)
        if source not in graph or "SINK" not in graph:
            return math.inf, None
        try:
            d, path = nx.single_source_dijkstra(graph, source, "SINK")
        except nx.NetworkXNoPath:
            return math.inf, None
        return d + topology.node_by_id[source].processing.max_s, path

    _, nominal = cost(set())
    if nominal is None:
        return math.inf
    hops = []
    for a, b in itertools.pairwise(nominal[:-1]):
        link = next(x for x in topology.links if {x.a, x.b} == {a, b} and (x.a == a or x.bidirectional))
        hops.append((a, b, link.id))
    worst = -1.0
    for size in range(k + 1):
        for combo in itertools.combinations(elements, size):
            failed = set(combo)
            dead = set()
            for e in failed:
                dead |= members.get(e, {e})
            value, _ = cost(failed)
            penalty = max(
                (topology.node_by_id[a].failover.total_s for a, b, li in hops if b in dead or li in dead), default=0.0
            )
            worst = max(worst, value + penalty)
    return worst


def _random_topology(rng: random.Random) -> AlarmTopology:
    n = rng.randint(5, 9)
    nodes = [_node("s", "source", rng.uniform(0.1, 0.5), (rng.choice([0, 2]), 1), failable=False, unit="U")]
    # latencies are drawn continuously: equal-cost routes (whose nominal choice is arbitrary) almost never occur
    for i in range(n):
        nodes.append(_node(f"n{i}", "switch", rng.uniform(0.0, 1.0), (rng.choice([0, 1, 4]), rng.choice([0, 1]))))
    nodes += [_node("t1", "phone", 0.3, failable=False, unit="U"), _node("t2", "pager", 0.3, unit="U")]
    ids = [x.id for x in nodes]
    links: dict[str, Link] = {}
    for a, b in itertools.combinations(ids, 2):
        if rng.random() < 0.35:
            link = Link(
                f"{a}-{b}", a, b, Latency.fixed(rng.choice([0.01, 0.1, 0.5, 1.0])), bidirectional=rng.random() < 0.8
            )
            links[link.id] = link
    pool = [x for x in ids if x != "s"] + list(links)
    groups = tuple(
        RiskGroup(f"g{i}", "power", frozenset(rng.sample(pool, rng.randint(2, 3)))) for i in range(rng.randint(0, 3))
    )
    budget = Budget("U", "*", Priority.HIGH, rng.choice([2.0, 3.0, 5.0]), ("t1",), ("t2",), rng.choice([1.0, 4.0]))
    return AlarmTopology(
        tuple(nodes), tuple(links.values()), groups, (AlarmSource("s", "U", "monitor", ("a",)),), (budget,)
    )


@pytest.mark.parametrize("seed", range(60))
def test_exact_search_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    topology = _random_topology(rng)
    k = 1 + seed % 2
    result = verify(topology, k=k)
    (flow,) = result.results
    expected = _brute_force(topology, topology.budgets[0], "s", k)
    if flow.nominal is None:
        assert expected == math.inf
        return
    assert flow.worst_case_s == pytest.approx(expected), (seed, flow.failure_set)
