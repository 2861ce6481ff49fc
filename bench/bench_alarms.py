"""Benchmark: alarm-delivery verification of a health system's topology (issue 8).

Budget: 5,000 nodes, 20,000 links and 500 shared-risk groups, k = 2, under 60 s.  The topology is the simulator's
``bench_topology`` (ten hospitals' worth of units, 1,000 alarm sources, 2,200 budgets -> 2,500 flows).

Anchor in the same run (``baseline``): the exhaustive method the issue names -- recompute shortest paths for every
failure set.  For each of ``--baseline-flows`` flows, a plain networkx graph (node processing folded into arc
weights, recipients joined to a super-sink) is searched with ``nx.single_source_dijkstra`` after each of
``--baseline-sets`` failure sets drawn at random from every set of at most k elements (nodes, links, groups); the
mean time per search times the number of failure sets (1 + E + E(E-1)/2 for k = 2) times the flows gives the
extrapolated exhaustive time.  It cannot finish at this size (about 3 * 10^8 failure sets per flow).

    .venv/bin/python bench/bench_alarms.py [--k 2] [--nodes 5000 --links 20000 --groups 500] [--flows N]
        [--workers 2] [--baseline-flows 3] [--baseline-sets 300] [--seed 1]

Timed twice: in one process (``Verifier``), and the product's path (``services.alarm_parallel.verify_parallel``:
flows split by unit among ``--workers`` processes, which must give the same verdicts).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import resource
import sys
import time
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wardwatch.domain.alarm_model import AlarmTopology, Budget  # noqa: E402
from wardwatch.domain.alarm_verify import Verifier, flows_of  # noqa: E402
from wardwatch.services.alarm_parallel import verify_parallel  # noqa: E402
from wardwatch.simulate._alarms import bench_topology  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline_graph(topology: AlarmTopology, dead: set[str], budget: Budget) -> nx.DiGraph:
    graph = nx.DiGraph()
    recipients = {*budget.primary, *budget.escalation}
    for link in topology.links:
        if link.id in dead or link.a in dead or link.b in dead:
            continue
        pairs = [(link.a, link.b)] + ([(link.b, link.a)] if link.bidirectional else [])
        for a, b in pairs:
            if a in recipients:
                continue
            weight = link.latency.max_s + topology.node_by_id[b].processing.max_s
            if not graph.has_edge(a, b) or graph[a][b]["weight"] > weight:
                graph.add_edge(a, b, weight=weight)
    for r in budget.primary:
        if r not in dead:
            graph.add_edge(r, "SINK", weight=0.0)
    for r in budget.escalation:
        if r not in dead and not graph.has_edge(r, "SINK"):
            graph.add_edge(r, "SINK", weight=float(budget.escalate_after_s or 0))
    return graph


def baseline(topology: AlarmTopology, k: int, flows: int, sets: int, seed: int) -> dict[str, float]:
    """Time exhaustive recomputation on a sample of failure sets; extrapolate to every set and flow."""
    rng = random.Random(seed)
    members = {g.id: set(g.members) for g in topology.groups}
    elements = [n.id for n in topology.nodes if n.failable] + [x.id for x in topology.links] + list(members)
    pairs = flows_of(topology)
    sample = rng.sample(pairs, min(flows, len(pairs)))
    searches = 0
    start = time.perf_counter()
    for source, budget in sample:
        for _ in range(sets):
            size = rng.randint(0, k)
            failed = rng.sample(elements, size)
            dead: set[str] = set()
            for element in failed:
                dead |= members.get(element, {element})
            graph = _baseline_graph(topology, dead, budget)  # the whole graph is rebuilt per failure set
            with contextlib.suppress(nx.NetworkXNoPath, nx.NodeNotFound):
                nx.single_source_dijkstra(graph, source.node, "SINK")
            searches += 1
    per_search = (time.perf_counter() - start) / searches
    e = len(elements)
    total_sets = sum(math.comb(e, i) for i in range(k + 1))
    return {
        "per_search_s": per_search,
        "failure_sets_per_flow": float(total_sets),
        "extrapolated_s": per_search * total_sets * len(pairs),
        "sampled_searches": float(searches),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--links", type=int, default=20000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--flows", type=int, default=0, help="Verify only the first N flows (0: all).")
    parser.add_argument("--workers", type=int, default=2, help="Worker processes of the product's path.")
    parser.add_argument("--baseline-flows", type=int, default=3)
    parser.add_argument("--baseline-sets", type=int, default=300)
    args = parser.parse_args()

    t0 = time.perf_counter()
    topology = bench_topology(args.nodes, args.links, args.groups, args.seed)
    built = time.perf_counter() - t0
    pairs = flows_of(topology)
    if args.flows:
        pairs = pairs[: args.flows]
    print(
        f"topology: {len(topology.nodes):,} nodes, {len(topology.links):,} links, {len(topology.groups):,} groups, "
        f"{len(topology.sources):,} sources, {len(topology.budgets):,} budgets, {len(pairs):,} flows "
        f"(built in {built:.1f} s)",
        flush=True,
    )
    results: dict[str, object] = {"nodes": len(topology.nodes), "links": len(topology.links),
                                  "groups": len(topology.groups), "flows": len(pairs)}  # fmt: skip
    for k in sorted({1, args.k}):
        verifier = Verifier(topology)
        wall, cpu = time.perf_counter(), time.process_time()
        failing = 0
        for source, budget in pairs:
            result, _ = verifier.verify_flow(source, budget, k)
            failing += not result.passed
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"verify k={k}, one process: {wall:.1f} s wall, {cpu:.1f} s CPU, {verifier.searches:,} route searches, "
            f"{failing:,} of {len(pairs):,} flows fail, peak RSS {_rss_mb():.0f} MB",
            flush=True,
        )
        entry: dict[str, object] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "searches": verifier.searches,
                                    "failing": failing, "peak_rss_mb": round(_rss_mb())}  # fmt: skip
        if not args.flows:  # the product's path: every flow, split among worker processes by unit
            wall = time.perf_counter()
            parallel = verify_parallel(topology, k, workers=args.workers)
            wall = time.perf_counter() - wall
            assert len(parallel.failing) == failing, "the workers disagree with the single process"
            print(f"verify k={k}, {args.workers} worker processes: {wall:.1f} s wall (same verdicts)", flush=True)
            entry |= {"parallel_wall_s": round(wall, 2), "workers": args.workers}
        results[f"k{k}"] = entry
    base = baseline(topology, args.k, args.baseline_flows, args.baseline_sets, args.seed)
    ours = results[f"k{args.k}"]
    assert isinstance(ours, dict)
    best = float(ours.get("parallel_wall_s", ours["wall_s"]))  # type: ignore[arg-type]
    ratio = base["extrapolated_s"] / best if best else math.inf
    print(
        f"baseline (exhaustive, networkx, rebuild + Dijkstra per failure set): {base['per_search_s'] * 1000:.1f} ms "
        f"per search over {int(base['sampled_searches'])} sampled sets; {base['failure_sets_per_flow']:.3g} failure "
        f"sets per flow -> extrapolated {base['extrapolated_s']:.3g} s for k={args.k} ({ratio:.3g}x ours)",
        flush=True,
    )
    results["baseline"] = base | {"ratio": ratio}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
