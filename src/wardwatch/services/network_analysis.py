"""The network analyses on the stored model, the inventory and the observed baseline, as JSON-ready documents.

One function per question a network engineer asks (``wardwatch network …``, ``/api/network/…``):
:func:`check` (placement and conformance), :func:`attack_paths`, :func:`blast_radius` (the worm),
:func:`recommend` (min-cut rule changes and the baseline allow-list) and :func:`simulate_policy` (a proposed
policy replayed against the observed baseline before it is enforced).  The domain does the work
(``domain.segmentation``, ``net_reach``, ``attack_paths``, ``worm``, ``net_recommend``, ``policy_sim``,
``policy_export``); this layer loads the inputs, resolves names to addresses and shapes the output.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from wardwatch.domain import attack_paths as paths_domain
from wardwatch.domain import net_recommend, policy_export, policy_sim, segmentation, worm
from wardwatch.domain.net_reach import Reachability, service_text
from wardwatch.domain.netmodel import HostFacts, NetworkModel, ObservedFlow, Rule
from wardwatch.ingest.network_files import read_network
from wardwatch.services.devices import find_device_id
from wardwatch.services.network import load_flows, load_hosts, load_model
from wardwatch.store.errors import StoreError

__all__ = [
    "NoNetworkModel",
    "attack_paths",
    "blast_radius",
    "check",
    "load_context",
    "recommend",
    "simulate_policy",
]

_FORMATS = ("iptables", "cisco", "doc", "json")


class NoNetworkModel(LookupError):
    """No network model was imported yet."""

    def __init__(self) -> None:
        super().__init__("no network model yet: import one with `wardwatch network import network.yaml [CONFIG...]`")


@dataclass(frozen=True, slots=True)
class Context:
    """Everything an analysis reads."""

    model: NetworkModel
    hosts: list[HostFacts]
    flows: list[ObservedFlow]

    def reach(self) -> Reachability:
        """The compiled reachability of the model over the hosts and flows."""
        return Reachability.build(self.model, self.hosts, self.flows)


def load_context(engine: Engine) -> Context:
    """The stored model, hosts and flows; :class:`NoNetworkModel` when no model was imported."""
    model = load_model(engine)
    if model is None:
        raise NoNetworkModel
    return Context(model, load_hosts(engine), load_flows(engine))


def _host_json(host: HostFacts | None, address: str | None = None) -> dict[str, Any]:
    if host is None:
        return {"address": address, "device_id": None, "name": None}
    return {
        "address": host.address,
        "device_id": host.device_id,
        "name": host.name,
        "device_type": host.device_type,
        "criticality": host.criticality,
        "unit": host.unit,
    }


def _plain(value: Any) -> Any:
    """Evidence values as JSON: tuples to lists, rules to their names, anything else as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# --------------------------------------------------------------------------------------------------------- check


def check(engine: Engine, context: Context | None = None) -> dict[str, Any]:
    """Placement and conformance violations, most severe first within each kind, with counts."""
    ctx = context or load_context(engine)
    found = segmentation.check(ctx.model, ctx.hosts, ctx.flows)
    items = [
        {"kind": v.kind, "severity": v.severity, "subject": v.subject, "detail": v.detail,
         "evidence": _plain(dict(v.evidence))}
        for v in found
    ]  # fmt: skip
    return {
        "violations": items,
        "by_kind": dict(Counter(v.kind for v in found)),
        "by_severity": dict(Counter(v.severity for v in found)),
        "zones": len(ctx.model.zones),
        "rules": len(ctx.model.rules),
        "hosts": len(ctx.hosts),
        "flows": len(ctx.flows),
    }


# ---------------------------------------------------------------------------------------------------- attack paths


def _path_json(path: paths_domain.AttackPath) -> dict[str, Any]:
    return {
        "entry": path.entry,
        "target": _host_json(path.target),
        "likelihood": round(path.likelihood, 4),
        "impact": path.impact,
        "score": round(path.score, 4),
        "hops": [
            {
                "from": hop.source,
                "to": hop.target,
                "to_host": _host_json(hop.target_host) if hop.target_host is not None else None,
                "service": service_text(hop.service),
                "exploit": {
                    "id": hop.exploit.id,
                    "name": hop.exploit.name,
                    "maturity": hop.exploit.maturity,
                    "likelihood": hop.exploit.likelihood,
                },
                "evidence": hop.evidence,
                "explanation": hop.explain(),
            }
            for hop in path.hops
        ],  # fmt: skip
        "explanation": path.explain(),
    }


def find_attack_paths(
    ctx: Context, *, sources: Sequence[str] | None = None, to: str | None = None, top: int = 20
) -> list[paths_domain.AttackPath]:
    """The ranked attack paths (domain objects)."""
    return paths_domain.find_paths(ctx.reach(), ctx.hosts, sources=sources, targets=to, top=top)


def attack_paths(
    engine: Engine, *, sources: Sequence[str] | None = None, to: str | None = None, top: int = 20
) -> dict[str, Any]:
    """Attack paths from entry zones (``sources``, default every entry zone) to targets (a criticality or device
    type, default every host), best first: likelihood × impact, each hop explained."""
    ctx = load_context(engine)
    found = find_attack_paths(ctx, sources=sources, to=to, top=top)
    return {"paths": [_path_json(p) for p in found], "total": len(found), "top": top,
            "from": list(sources) if sources else None, "to": to}  # fmt: skip


# ----------------------------------------------------------------------------------------------------- blast radius


def _seed(engine: Engine, ctx: Context, seed: str) -> tuple[list[str], str | None]:
    """(seed addresses, seed zone) of a zone name, a device reference (id, asset tag, MAC, serial) or an address."""
    zone = ctx.model.zone(seed)
    if zone is not None:
        # "the worm enters zone X": an infected machine joins it (a visitor's laptop, a phished workstation), and
        # every vulnerable host already in it is infected too
        used = {a for h in ctx.hosts for a in (h.address, *h.extra_addresses)}
        for cidr in zone.subnets:
            network = ipaddress.ip_network(cidr, strict=False)
            for offset, address in enumerate(reversed(list(itertools.islice(network.hosts(), 4096)))):
                if str(address) not in used and offset < 4096:
                    return [str(address)], seed
        return [], seed
    by_device = {h.device_id: h for h in ctx.hosts if h.device_id is not None}
    try:
        device_id = find_device_id(engine, seed)
    except (LookupError, StoreError):
        device_id = None
    if device_id is not None:
        host = by_device.get(device_id)
        if host is None:
            raise LookupError(f"device {seed!r} has no IP address: the worm needs a host on the network")
        return [host.address], None
    try:
        ipaddress.ip_address(seed)
    except ValueError:
        zones = ", ".join(z.name for z in ctx.model.zones[:8])
        raise LookupError(f"--seed {seed!r} is not a zone ({zones}…), a device or an IP address") from None
    return [seed], None


def blast_radius(
    engine: Engine,
    seed: str,
    *,
    steps: int = 10,
    rng_seed: int = 0,
    p_random: float = 0.05,
    worst_case: bool = False,
    block_445_between_zones: bool = False,
    disable_smbv1: bool = False,
) -> dict[str, Any]:
    """A WannaCry-style spread from a host or zone, step by step, with what falls per zone, unit and clinical
    function; deterministic for ``rng_seed``."""
    ctx = load_context(engine)
    seeds, zone = _seed(engine, ctx, seed)
    params = worm.WormParameters(steps=steps, seed=rng_seed, p_random=p_random)
    what_if = worm.Mitigation(block_445_between_zones=block_445_between_zones,
                              disable_smbv1="all" if disable_smbv1 else frozenset())  # fmt: skip
    run = worm.worst_case if worst_case else worm.simulate
    result = run(ctx.model, ctx.hosts, seeds, zone, parameters=params, mitigation=what_if)
    by_address = {h.address: h for h in ctx.hosts}
    return {
        "seed": seed,
        "seed_addresses": list(result.seeds),
        "parameters": {"steps": result.parameters.steps, "step_minutes": result.parameters.step_minutes,
                       "p_local": result.parameters.p_local, "p_random": result.parameters.p_random,
                       "seed": result.parameters.seed, "worst_case": worst_case},
        "mitigation": {"block_445_between_zones": block_445_between_zones, "disable_smbv1": disable_smbv1},
        "vulnerable": result.vulnerable,
        "infected": len(result.infected_at),
        "saturated": result.saturated,
        "steps": [
            {"step": s.step, "minutes": s.minutes, "cumulative": s.cumulative,
             "infected": [_host_json(by_address.get(a), a) for a in s.infected]}
            for s in result.steps
        ],
        "by_zone": [{"zone": g.name, "hosts": g.hosts, "vulnerable": g.vulnerable, "infected": g.infected}
                    for g in result.by_zone],
        "by_unit": [{"unit": g.name, "hosts": g.hosts, "vulnerable": g.vulnerable, "infected": g.infected}
                    for g in result.by_unit],
        "by_criticality": [{"criticality": g.name, "hosts": g.hosts, "infected": g.infected}
                           for g in result.by_criticality],
        "functions_stopped": [
            {"function": f.function, "devices": f.devices, "infected": f.infected, "fraction": round(f.fraction, 3),
             "first_step": f.first_step, "first_minutes": f.first_minutes}
            for f in result.functions_stopped
        ],
    }  # fmt: skip


# ------------------------------------------------------------------------------------------------------- recommend


def _node(hop: paths_domain.Hop) -> str:
    """A hop's source as a min-cut node: the entry zone's name, else the foothold host's address."""
    if hop.source_host is not None:
        return hop.source_host.address
    return hop.entry_zone or hop.source


def reach_edges(found: Sequence[paths_domain.AttackPath]) -> list[net_recommend.ReachEdge]:
    """The attack paths' hops as weighted reach edges between entry zones and host addresses (the weight: the
    summed score of the paths through the hop)."""
    weights: dict[tuple[str, str, str], float] = {}
    rules: dict[tuple[str, str, str], Rule | None] = {}
    for path in found:
        for hop in path.hops:
            target = hop.target_host.address if hop.target_host is not None else hop.target
            key = (_node(hop), target, service_text(hop.service))
            weights[key] = weights.get(key, 0.0) + path.score
            rules[key] = hop.rule
    return [net_recommend.ReachEdge(a, b, service, rules[(a, b, service)], weight)
            for (a, b, service), weight in weights.items()]  # fmt: skip


def recommend(engine: Engine, fmt: str = "json", *, top: int = 200) -> dict[str, Any] | str:
    """Rule changes that cut the most risk-weighted attack paths (min cut), and an allow-list policy derived from
    the observed baseline — as JSON, or the policy as ``iptables`` / ``cisco`` rules or a ``doc``ument."""
    if fmt not in _FORMATS:
        raise ValueError(f"--format {fmt!r} is not one of: {', '.join(_FORMATS)}")
    ctx = load_context(engine)
    policy = net_recommend.baseline_policy(ctx.flows, ctx.hosts, ctx.model)
    policy = replace(policy, conduits=ctx.model.conduits)
    if fmt == "iptables":
        return policy_export.to_iptables(policy)
    if fmt == "cisco":
        return policy_export.to_cisco(policy)
    if fmt == "doc":
        return policy_export.to_document(policy)
    found = find_attack_paths(ctx, top=top)
    edges = reach_edges(found)
    entries = sorted({p.entry for p in found})
    targets = sorted({p.target.address for p in found})
    cut = net_recommend.min_cut_recommendation(ctx.model, edges, entries, targets) if edges else None
    return {
        "paths_considered": len(found),
        "changes": [
            {"action": c.action, "rule": c.rule.name if c.rule else None,
             "origin": c.rule.origin if c.rule else None, "reason": c.reason,
             "paths_cut_weight": round(c.paths_cut_weight, 4)}
            for c in (cut.changes if cut is not None else ())
        ],
        "weight_before": round(cut.weight_before, 4) if cut else 0.0,
        "weight_cut": round(cut.weight_cut, 4) if cut else 0.0,
        "uncuttable": list(cut.uncuttable) if cut else [],
        "baseline_rules": len(policy.rules),
    }  # fmt: skip


# -------------------------------------------------------------------------------------------------------- simulate


def _proposed(current: NetworkModel, paths: Sequence[str | Path]) -> NetworkModel:
    """The proposed policy: its own zones when it has some, else the current zones with its rules."""
    proposed = read_network(paths)
    if proposed.zones:
        return proposed
    return replace(proposed, zones=current.zones, conduits=current.conduits, placement=current.placement,
                   intra_zone=current.intra_zone)  # fmt: skip


def _flow_json(flow: policy_sim.ChangedFlow) -> dict[str, Any]:
    return {
        "client": flow.client, "server": flow.server, "protocol": flow.protocol, "port": flow.port,
        "application": flow.application, "from_zone": flow.source_zone, "to_zone": flow.destination_zone,
        "flows": flow.flows, "packets": flow.packets, "clinical": flow.clinical,
        "rule_now": _rule_text(flow.rule_now, flow.point_now),
        "rule_proposed": _rule_text(flow.rule_proposed, flow.point_proposed),
    }  # fmt: skip


def simulate_policy(engine: Engine, paths: Sequence[str | Path]) -> dict[str, Any]:
    """Replay the observed baseline through a proposed policy: the legitimate clinical flows it would break, the
    flows it would newly allow, and the attack paths it would cut."""
    ctx = load_context(engine)
    proposed = _proposed(ctx.model, paths)

    def count(model: NetworkModel) -> int:
        return len(paths_domain.find_paths(Reachability.build(model, ctx.hosts, ctx.flows), ctx.hosts, top=1000))

    impact = policy_sim.simulate(ctx.model, proposed, ctx.flows, ctx.hosts, paths=count)
    change = impact.paths
    return {
        "broken": [_flow_json(f) for f in impact.broken],
        "broken_clinical": len(impact.broken_clinical),
        "newly_allowed": [_flow_json(f) for f in impact.newly_allowed],
        "zone_pairs": [
            {"from": a, "to": b, "broken": z.broken, "broken_clinical": z.broken_clinical,
             "newly_allowed": z.newly_allowed}
            for (a, b), z in sorted(impact.zone_pairs.items(), key=lambda i: (str(i[0][0]), str(i[0][1])))
        ],
        "paths_before": change.before if change else None,
        "paths_after": change.after if change else None,
        "paths_cut": change.cut if change else None,
        "skipped": impact.skipped,
    }  # fmt: skip


def _rule_text(rule: Rule | None, point: str) -> str | None:
    """A rule's name (or origin), an ACL's implicit deny, or ``None`` for the intra-zone/default action."""
    if rule is not None:
        return rule.name or rule.origin
    return f"{point} (implicit deny)" if point else None
