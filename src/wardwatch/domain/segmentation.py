"""Placement and conformance: is each device where the zone policy says it belongs, and does the traffic seen on
the network agree with the rules and the intended conduits?  (METHODS.md 6.1: HICP medical-device network
isolation, NHS imaging VLANs, IEC 62443 zones and conduits.)

:func:`check` reports :class:`Violation` values of these kinds:

* ``unplaced`` — a host none of whose addresses is in a zone;
* ``misplaced`` — a host whose category (device type, criticality, or ``workstation`` for IT machines) a
  placement rule names, sitting in a zone that rule does not list (rules only constrain categories they name;
  a rule's zones are zone names or zone kinds);
* ``mixed-vlan`` — a zone subnet (or, across its subnets, a zone) holding medical devices and IT workstations:
  a WannaCry-style worm on the workstation reaches the devices without crossing a firewall;
* ``flow-not-allowed`` — observed flows the rules deny (the firewall is not what the configuration says, or
  the configuration is stale) and, when the model has conduits, flows between zones that no conduit intends;
  aggregated per (source zone, destination zone, service);
* ``over-broad-rule`` — any/any allow rules, and allow rules far broader than the observed flows they decide
  (all ports where only tcp/2575 is used; ``any`` where one zone is ever seen), with the used services as the
  suggested narrowing;
* ``unused-rule`` — allow rules that decide no observed flow (reported only when there is a baseline).

Severity is ``high`` when a life-sustaining or life-supporting device is involved or the rule is any/any.
Cleartext clinical protocols are discovery's finding, not this module's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from wardwatch.domain.host_categories import (
    IT_DEVICE_TYPES,
    LIFE_CRITICAL_TYPES,
    MEDICAL_DEVICE_TYPES,
    WORKSTATION,
    categories,
    host_label,
    is_it_workstation,
    is_life_critical,
    is_medical,
)
from wardwatch.domain.net_compiled import INTRA_ZONE, CompiledModel
from wardwatch.domain.net_flows import (
    ConduitIndex,
    EvaluatedFlow,
    aggregate_flows,
    evaluate_flows,
    gc_paused,
    index_hosts,
    rule_label,
    service_label,
)
from wardwatch.domain.netmodel import ANY, HostFacts, NetworkModel, ObservedFlow, Rule, Zone

__all__ = [
    "IT_DEVICE_TYPES",
    "LIFE_CRITICAL_TYPES",
    "MEDICAL_DEVICE_TYPES",
    "WORKSTATION",
    "VIOLATION_KINDS",
    "Severity",
    "Violation",
    "ViolationKind",
    "categories",
    "check",
    "host_label",
    "is_it_workstation",
    "is_life_critical",
    "is_medical",
]

Severity = Literal["high", "medium", "low"]
ViolationKind = Literal["unplaced", "misplaced", "mixed-vlan", "flow-not-allowed", "over-broad-rule", "unused-rule"]
VIOLATION_KINDS: tuple[ViolationKind, ...] = (
    "unplaced", "misplaced", "mixed-vlan", "flow-not-allowed", "over-broad-rule", "unused-rule"
)  # fmt: skip
"""The kinds in report order."""

#: A rule is over-broad on ports when it allows at least this many ports ...
BROAD_MIN_PORTS = 16
#: ... and this many times the ports its flows use.
BROAD_PORT_RATIO = 8
#: Example hosts or flows kept per violation.
EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class Violation:
    """One departure from the zone policy, with what a reader needs to act on it."""

    kind: ViolationKind
    severity: Severity
    subject: str
    """What is wrong: a host, a subnet, a zone pair and service, or a rule."""
    detail: str
    """One or two sentences for a report."""
    evidence: Mapping[str, object] = field(default_factory=dict)
    """Counts, examples, rule origins and suggested narrowing, as plain values."""


# -- host descriptions -------------------------------------------------------------------------------------------------


def _describe(host: HostFacts, address: str) -> str:
    kind = host.device_type or "unknown type"
    os = f", {host.os}" if host.os else ""
    return f"{host_label(host, address)}: {kind}{os}"


def _zone_matches(zone: Zone | None, zone_name: str, refs: Sequence[str]) -> bool:
    """Whether a zone is listed by name or by kind."""
    return zone_name in refs or (zone is not None and zone.kind in refs)


# -- the check ----------------------------------------------------------------------------------------------------


def check(
    model: NetworkModel,
    hosts: Sequence[HostFacts],
    flows: Sequence[ObservedFlow],
    *,
    compiled: CompiledModel | None = None,
) -> list[Violation]:
    """All placement and conformance violations of ``model`` for these hosts and observed flows.

    Pass ``compiled`` to reuse a :class:`CompiledModel` of ``model`` across analyses.  A host with an unreadable
    address is ``unplaced``; a flow with one is skipped (discovery never produces them).  Order: the kinds as
    in :data:`VIOLATION_KINDS`, most severe first within a kind.
    """
    with gc_paused():
        compiled = compiled or CompiledModel(model)
        by_address = index_hosts(hosts)
        located = [(host, _locate(compiled, host)) for host in hosts]
        life_critical = {a for a, h in by_address.items() if is_life_critical(h)}
        evaluated, _ = evaluate_flows(compiled, aggregate_flows(flows))
        out = [
            *_placement(model, compiled, located),
            *_mixed(model, compiled, located),
            *_flows(model, compiled, evaluated, by_address, life_critical),
            *_rules(compiled, evaluated, life_critical),
        ]
    rank = {"high": 0, "medium": 1, "low": 2}
    order = {kind: i for i, kind in enumerate(VIOLATION_KINDS)}
    return sorted(out, key=lambda v: (order[v.kind], rank[v.severity]))


_Located = list[tuple[HostFacts, list[tuple[str, int]]]]
"""Each host with the address class of each of its readable addresses."""


def _locate(compiled: CompiledModel, host: HostFacts) -> list[tuple[str, int]]:
    out = []
    for address in (host.address, *host.extra_addresses):
        try:
            out.append((address, compiled.locate(address)))
        except ValueError:
            continue
    return out


def _placement(model: NetworkModel, compiled: CompiledModel, located: _Located) -> list[Violation]:
    allowed: dict[str, list[str]] = {}
    for rule in model.placement:
        allowed.setdefault(rule.category, []).extend(rule.zones)
    classes = compiled.classes
    out: list[Violation] = []
    for host, addresses in located:
        placed = [(a, z) for a, c in addresses if (z := classes[c].zone) is not None]
        if not placed:
            life = is_life_critical(host)
            severity: Severity = "high" if life else "medium" if is_medical(host) else "low"
            out.append(
                Violation(
                    "unplaced",
                    severity,
                    host_label(host, host.address),
                    f"{_describe(host, host.address)} is in no zone subnet: no policy applies to it.",
                    {"address": host.address, "device_type": host.device_type, "criticality": host.criticality},
                )
            )
            continue
        constrained = [c for c in categories(host) if c in allowed] if allowed else []
        for address, zone_name in placed if constrained else ():
            zone = model.zone(zone_name)
            wrong = [c for c in constrained if not _zone_matches(zone, zone_name, allowed[c])]
            if not wrong:
                continue
            expected = sorted({z for c in wrong for z in allowed[c]})
            out.append(
                Violation(
                    "misplaced",
                    "high" if is_life_critical(host) else "medium",
                    host_label(host, address),
                    f"{_describe(host, address)} is in zone {zone_name}; the placement policy puts "
                    f"{', '.join(wrong)} in {', '.join(expected)}.",
                    {"address": address, "zone": zone_name, "categories": wrong, "expected_zones": expected},
                )
            )
    return out


@dataclass(slots=True)
class _Mix:
    medical: int = 0
    workstations: int = 0
    life_critical: bool = False
    medical_examples: list[str] = field(default_factory=list)
    workstation_examples: list[str] = field(default_factory=list)


def _mixed(model: NetworkModel, compiled: CompiledModel, located: _Located) -> list[Violation]:
    groups: dict[tuple[str, str | None], _Mix] = {}
    for host, addresses in located:
        medical = is_medical(host)
        if not (medical or is_it_workstation(host)):
            continue
        life = is_life_critical(host)
        for address, c in addresses:
            zone_name, subnet = compiled.classes[c].zone, compiled.classes[c].subnet
            if zone_name is None:
                continue
            for key in ((zone_name, subnet), (zone_name, None)):
                mix = groups.get(key)
                if mix is None:
                    mix = groups[key] = _Mix()
                examples = mix.medical_examples if medical else mix.workstation_examples
                if len(examples) < EXAMPLES:
                    examples.append(_describe(host, address))
                if medical:
                    mix.medical += 1
                else:
                    mix.workstations += 1
                mix.life_critical = mix.life_critical or life
    mixed_zones = {zone for (zone, subnet), m in groups.items() if subnet is not None and m.medical and m.workstations}
    out: list[Violation] = []
    for (zone_name, subnet), m in groups.items():
        if not (m.medical and m.workstations) or (subnet is None and zone_name in mixed_zones):
            continue
        zone = model.zone(zone_name)
        vlans = list(zone.vlans) if zone is not None else []
        where = f"subnet {subnet} (zone {zone_name})" if subnet is not None else f"zone {zone_name} (across subnets)"
        out.append(
            Violation(
                "mixed-vlan",
                "high" if m.life_critical else "medium",
                where,
                f"{where} holds {m.medical} medical device(s) and {m.workstations} IT workstation(s) with no "
                f"firewall between them, e.g. {m.medical_examples[0]} next to {m.workstation_examples[0]}.",
                {
                    "zone": zone_name,
                    "subnet": subnet,
                    "vlans": vlans,
                    "medical_devices": m.medical,
                    "workstations": m.workstations,
                    "medical_examples": m.medical_examples,
                    "workstation_examples": m.workstation_examples,
                },
            )
        )
    return out


@dataclass(slots=True)
class _FlowGroup:
    flows: int = 0
    packets: int = 0
    pairs: int = 0
    life_critical: bool = False
    examples: list[str] = field(default_factory=list)
    applications: set[str] = field(default_factory=set)
    rule: str | None = None


def _flows(
    model: NetworkModel,
    compiled: CompiledModel,
    evaluated: list[EvaluatedFlow],
    by_address: Mapping[str, HostFacts],
    life_critical: set[str],
) -> list[Violation]:
    groups: dict[tuple[str, str, str, str, int | None], _FlowGroup] = {}
    intended: dict[tuple[str, str, str, int | None], bool] = {}
    conduits = ConduitIndex(model)
    zones = [c.zone or "(unplaced)" for c in compiled.classes]
    for flow in evaluated:
        client, server, protocol, port = flow.key
        src, dst = zones[flow.source_class], zones[flow.destination_class]
        if compiled.action_of(flow.rule_index) == "deny":
            reason = "denied"
        elif model.conduits and flow.rule_index != INTRA_ZONE and src != dst:
            key = (src, dst, protocol, port)
            ok = intended.get(key)
            if ok is None:
                ok = intended[key] = conduits.covers(src, dst, protocol, port)
            if ok:
                continue
            reason = "no-conduit"
        else:
            continue
        group_key = (reason, src, dst, protocol, port)
        group = groups.get(group_key)
        if group is None:
            group = groups[group_key] = _FlowGroup()
            if flow.rule_index >= 0:
                group.rule = rule_label(compiled.rules[flow.rule_index])
            elif point := compiled.point_of(flow.rule_index):
                group.rule = f"{point} (no entry matches: implicit deny)"
        group.flows += flow.totals.flows
        group.packets += flow.totals.packets
        group.pairs += 1
        group.life_critical = group.life_critical or client in life_critical or server in life_critical
        if len(group.examples) < EXAMPLES:
            ends = (by_address.get(client), by_address.get(server))
            group.examples.append(f"{host_label(ends[0], client)} → {host_label(ends[1], server)}")
        if flow.totals.application:
            group.applications.add(flow.totals.application)
    out: list[Violation] = []
    for (reason, src, dst, protocol, port), g in groups.items():
        service = service_label(protocol, port)
        subject = f"{src} → {dst} {service}"
        if reason == "denied":
            decided = f"rule {g.rule}" if g.rule else "the default action"
            detail = (
                f"{g.pairs} host pair(s) were seen on {service} from {src} to {dst}, which {decided} denies: "
                "the firewall does not enforce the configuration, or the configuration is stale."
            )
            severity: Severity = "high" if g.life_critical else "medium"
        else:
            detail = f"{g.pairs} host pair(s) use {service} from {src} to {dst}: allowed, but no conduit intends it."
            severity = "high" if g.life_critical else "low"
        out.append(
            Violation(
                "flow-not-allowed",
                severity,
                subject,
                detail,
                {
                    "reason": reason,
                    "source_zone": src,
                    "destination_zone": dst,
                    "service": service,
                    "host_pairs": g.pairs,
                    "flows": g.flows,
                    "packets": g.packets,
                    "applications": sorted(g.applications),
                    "rule": g.rule,
                    "examples": g.examples,
                },
            )
        )
    return out


@dataclass(slots=True)
class _RuleUse:
    flows: int = 0
    services: dict[tuple[str, int | None], int] = field(default_factory=dict)
    source_zones: set[str] = field(default_factory=set)
    destination_zones: set[str] = field(default_factory=set)
    life_critical: bool = False


def _allowed_ports(rule: Rule) -> int:
    return sum(r.high - r.low + 1 for r in rule.ports) if rule.ports else 65536


def _rules(compiled: CompiledModel, evaluated: list[EvaluatedFlow], life_critical: set[str]) -> list[Violation]:
    uses: dict[int, _RuleUse] = {}
    zones = [c.zone or "(unplaced)" for c in compiled.classes]
    for flow in evaluated:
        if flow.rule_index < 0 and not compiled.points:
            continue
        client, server, protocol, port = flow.key
        indexes = (
            compiled.rules_used(flow.source_class, flow.destination_class, protocol, port)
            if compiled.points
            else (flow.rule_index,)
        )
        for index in indexes:
            use = uses.get(index)
            if use is None:
                use = uses[index] = _RuleUse()
            use.flows += flow.totals.flows
            use.services[(protocol, port)] = use.services.get((protocol, port), 0) + flow.totals.flows
            use.source_zones.add(zones[flow.source_class])
            use.destination_zones.add(zones[flow.destination_class])
            use.life_critical = use.life_critical or client in life_critical or server in life_critical
    out: list[Violation] = []
    for i, rule in enumerate(compiled.rules):
        if rule.action != "allow":
            continue
        rule_use = uses.get(i)
        if rule_use is None and not (rule.is_any_any or _wide_open(rule)):
            if evaluated:
                out.append(
                    Violation(
                        "unused-rule",
                        "low",
                        rule_label(rule),
                        f"Allow rule {rule_label(rule)} decides none of the observed flows: remove it, or confirm "
                        "what it is for.",
                        {"rule": rule_label(rule), "origin": rule.origin},
                    )
                )
            continue
        violation = _over_broad(rule, rule_use or _RuleUse())
        if violation is not None:
            out.append(violation)
    return out


def _wide_open(rule: Rule) -> bool:
    """An allow to any destination on any service (e.g. a vendor's "permit ip VENDOR any"): over-broad whether or
    not a flow uses it — unused, it is an open door nobody watches."""
    return rule.action == "allow" and rule.destination == (ANY,) and rule.protocol == "any" and not rule.ports


def _over_broad(rule: Rule, use: _RuleUse) -> Violation | None:
    """An any/any rule, an allow to anything from one source, or one whose ports or sides are far broader than the
    flows it decides."""
    used = sorted(use.services, key=lambda s: (s[0], -1 if s[1] is None else s[1]))
    used_ports = {port for _, port in used if port is not None}
    allowed = _allowed_ports(rule)
    broad_ports = allowed >= BROAD_MIN_PORTS and allowed >= BROAD_PORT_RATIO * max(1, len(used_ports))
    broad_sides = [
        name for name, refs in (("source", rule.source), ("destination", rule.destination)) if refs == ("any",)
    ]
    if not (rule.is_any_any or broad_ports or broad_sides):
        return None
    services = [service_label(p, port) for p, port in used]
    reasons = []
    wide = _wide_open(rule) and not rule.is_any_any
    if rule.is_any_any:
        reasons.append("allows any service from anywhere to anywhere")
    elif wide:
        reasons.append(f"lets {', '.join(rule.source)} reach any host on any service")
    elif broad_ports:
        reasons.append(f"allows {allowed} port(s) where {len(used_ports)} are used")
    if broad_sides and not (rule.is_any_any or wide):
        reasons.append(f"has an 'any' {' and '.join(broad_sides)}")
    if use.flows:
        suggestion = (
            f"allow {', '.join(services)} from {', '.join(sorted(use.source_zones))} "
            f"to {', '.join(sorted(use.destination_zones))}"
        )
        detail = f"Rule {rule_label(rule)} {'; '.join(reasons)}; observed flows only use {', '.join(services)}."
    else:
        suggestion = "remove it"
        detail = f"Rule {rule_label(rule)} {'; '.join(reasons)}, and no observed flow uses it."
    severity: Severity = "high" if rule.is_any_any or wide or use.life_critical else "medium" if broad_ports else "low"
    return Violation(
        "over-broad-rule",
        severity,
        rule_label(rule),
        f"{detail} Suggested: {suggestion}.",
        {
            "rule": rule_label(rule),
            "origin": rule.origin,
            "any_any": rule.is_any_any,
            "allowed_ports": allowed,
            "used_services": services,
            "flows": use.flows,
            "source_zones": sorted(use.source_zones),
            "destination_zones": sorted(use.destination_zones),
            "suggested": suggestion,
        },
    )
