"""The smallest set of additions that makes every alarm budget hold after any k failures.

Candidates are the additions the topology file declares plus the ones proposed from what breaks: a second copy of
a failing node (an alarm server, a switch, an AP) linked like the first but outside its shared-risk groups; a
fallback for the links of a failing RF group on another band (or wired); a copy of the members of a failing power,
switch or host group on independent infrastructure; a second link where the failing link leads to a node that cannot
fail.  Choosing the smallest set of additions is a set-cover problem (NP-hard), so the choice is **greedy**: each
round adds the candidate that makes the most failing flows pass (cheapest first on ties), or -- when no single
addition fixes a flow on its own, as when two failures must both be covered -- the one that removes the most
breaking failure sets; it stops when everything passes or nothing helps.  Every round re-verifies exactly.  To keep a
round cheap, candidates are scored on one flow per distinct pattern of breaking failure sets (flows failing the same
way are fixed the same way), weighted by how many flows share it.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from wardwatch.domain.alarm_model import AlarmSource, AlarmTopology, Budget, Candidate, Link, Node
from wardwatch.domain.alarm_verify import FlowResult, Verification, Verifier, flows_of

__all__ = ["Addition", "Recommendation", "apply_candidate", "propose", "recommend"]

_KIND_COST = {"alarm-server": 3.0, "middleware": 3.0, "server": 3.0, "paging": 2.0, "nurse-call": 2.0,
              "switch": 2.0, "router": 2.0, "firewall": 3.0, "wlc": 3.0, "gateway": 2.0, "ap": 1.0,
              "dect-base": 1.0}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Addition:
    """One chosen addition and the flows (``source@budget``) it made pass when it was added."""

    candidate: Candidate
    fixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The additions, in the order chosen, and what still fails after all of them."""

    additions: tuple[Addition, ...]
    failing_before: int
    still_failing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """Whether every budget holds once the additions are made."""
        return not self.still_failing


def _flow_key(result: FlowResult) -> str:
    return f"{result.source}@{result.budget_key}"


def apply_candidate(topology: AlarmTopology, candidate: Candidate) -> AlarmTopology:
    """The topology with ``candidate``'s nodes and links added and its group memberships joined."""
    groups = tuple(
        replace(g, members=g.members | candidate.groups[g.id]) if g.id in candidate.groups else g
        for g in topology.groups
    )
    return replace(topology, nodes=topology.nodes + candidate.nodes, links=topology.links + candidate.links,
                   groups=groups, candidates=())  # fmt: skip


class _Ids:
    """Fresh ids that collide with nothing in the topology."""

    def __init__(self, topology: AlarmTopology) -> None:
        self.used = {*topology.node_by_id, *topology.link_by_id, *topology.group_by_id}

    def fresh(self, base: str) -> str:
        n = 2
        while f"{base}-{n}" in self.used:
            n += 1
        name = f"{base}-{n}"
        self.used.add(name)
        return name


def _copy_nodes(topology: AlarmTopology, node_ids: Sequence[str], ids: _Ids) -> tuple[list[Node], list[Link]]:
    """Copies of nodes linked like the originals (links among the copied nodes join the copies)."""
    renamed = {nid: ids.fresh(nid) for nid in node_ids}
    nodes = [
        replace(topology.node_by_id[nid], id=new, name=f"Second {topology.node_by_id[nid].label}")
        for nid, new in renamed.items()
    ]
    links = [
        replace(link, id=ids.fresh(link.id), a=renamed.get(link.a, link.a), b=renamed.get(link.b, link.b))
        for link in topology.links
        if link.a in renamed or link.b in renamed
    ]
    return nodes, links


def propose(topology: AlarmTopology, verification: Verification) -> list[Candidate]:
    """Candidate additions for what breaks the failing flows, then the ones the topology declares."""
    ids = _Ids(topology)
    out: dict[str, Candidate] = {}
    elements: dict[str, None] = {}
    for result in verification.failing:
        for failure_set in result.breaking_sets:
            for element in failure_set:
                elements[element] = None
    for element in elements:
        kind = topology.kind_of(element)
        key = f"fix-{element}"
        if kind == "node":
            node = topology.node_by_id[element]
            nodes, links = _copy_nodes(topology, [element], ids)
            out[key] = Candidate(
                key, f"A second {node.label} ({node.kind}), linked like the first, on independent power and host",
                tuple(nodes), tuple(links), cost=_KIND_COST.get(node.kind, 2.0),
            )  # fmt: skip
        elif kind == "link":
            link = topology.link_by_id[element]
            out[key] = Candidate(key, f"A second connection {topology.label(element)}",
                                 links=(replace(link, id=ids.fresh(link.id)),), cost=1.0)  # fmt: skip
        else:
            group = topology.group_by_id[element]
            member_nodes = sorted(m for m in group.members if m in topology.node_by_id)
            member_links = [topology.link_by_id[m] for m in sorted(group.members) if m in topology.link_by_id]
            nodes, links = _copy_nodes(topology, member_nodes, ids)
            copied = {x.id for x in links}
            if group.kind == "rf":
                fallback = [replace(x, id=ids.fresh(x.id)) for x in member_links if x.id not in copied]
                what = f"A fallback outside {group.description or group.id}: its wireless links also on another "
                what += "band, DECT or a wired connection"
            else:
                fallback = []
                what = f"Independent copies of what {group.description or group.id} takes down "
                what += f"({', '.join(topology.label(m) for m in member_nodes) or 'its links'})"
                if not member_nodes:
                    fallback = [replace(x, id=ids.fresh(x.id)) for x in member_links]
            new_links = tuple(links) + tuple(fallback)
            out[key] = Candidate(key, what, tuple(nodes), new_links, cost=float(len(nodes) * 2 + len(fallback)))
    for declared in topology.candidates:
        out.setdefault(declared.id, declared)
    return list(out.values())


def _verify_pairs(topology: AlarmTopology, pairs: Sequence[tuple[AlarmSource, Budget]], k: int) -> list[FlowResult]:
    verifier = Verifier(topology)
    return [verifier.verify_flow(source, budget, k)[0] for source, budget in pairs]


def recommend(
    topology: AlarmTopology,
    k: int = 1,
    *,
    verification: Verification | None = None,
    budgets: Sequence[Budget] | None = None,
    max_additions: int = 12,
) -> Recommendation:
    """Greedily choose additions until every budget holds after any ``k`` failures (or nothing more helps)."""
    base = verification if verification is not None else Verifier(topology).verify(k, budgets)
    pairs = {f"{source.node}@{budget.key}": (source, budget) for source, budget in flows_of(topology, budgets)}
    failing = {_flow_key(r): r for r in base.failing}
    candidates = propose(topology, base)
    current = replace(topology, candidates=())
    chosen: list[Addition] = []
    while failing and candidates and len(chosen) < max_additions:
        patterns: dict[tuple[tuple[str, ...], ...], list[str]] = {}
        for key, result in sorted(failing.items()):
            patterns.setdefault(result.breaking_sets, []).append(key)
        representatives = [(keys[0], len(keys)) for keys in patterns.values()]
        best: tuple[tuple[float, float, float], Candidate] | None = None
        for candidate in candidates:
            trial = apply_candidate(current, candidate)
            results = _verify_pairs(trial, [pairs[key] for key, _ in representatives], k)
            fixed = sum(weight for (_, weight), r in zip(representatives, results, strict=True) if r.passed)
            removed = sum(
                weight * (len(failing[key].breaking_sets) - len(r.breaking_sets))
                for (key, weight), r in zip(representatives, results, strict=True)
            )
            score = (float(fixed), float(removed), -candidate.cost)
            if best is None or score > best[0]:
                best = (score, candidate)
        if best is None or (best[0][0] <= 0 and best[0][1] <= 0):
            break
        candidate = best[1]
        current = apply_candidate(current, candidate)
        candidates = [c for c in candidates if c.id != candidate.id]
        results = _verify_pairs(current, [pairs[key] for key in sorted(failing)], k)
        now_failing = {_flow_key(r): r for r in results if not r.passed}
        fixes = tuple(sorted(set(failing) - set(now_failing)))
        chosen.append(Addition(candidate, fixes))
        failing = now_failing
    if chosen:  # an addition can change a passing flow's nominal route: check every flow on the final topology
        final = _verify_pairs(current, list(pairs.values()), k)
        failing = {_flow_key(r): r for r in final if not r.passed}
    return Recommendation(tuple(chosen), len(base.failing), tuple(sorted(failing)))
