"""Policy simulation: before enforcing a proposed policy, replay the observed baseline through it.

:func:`simulate` decides every observed flow under the current and the proposed model and reports

* **broken flows** — allowed today, denied by the proposal — each with the rule that now denies it (``None``:
  the proposal's default action) and whether it is a legitimate clinical flow (monitor → central station HL7,
  modality → PACS DICOM): a clinical application or well-known clinical port (:data:`CLINICAL_PORTS`), or
  two clinical ends (medical devices, or hosts in clinical zones);
* **newly allowed flows** — denied today, allowed by the proposal;
* counts per (source zone, destination zone) of the proposal;
* before/after of a ``paths`` callable (the attack-path analysis, plugged in by its caller).

Flows are aggregated per (client, server, protocol, port) and decided with compiled models, so a baseline of
millions of records costs one decision per distinct (address class, address class, service).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from wardwatch.domain.host_categories import is_medical
from wardwatch.domain.net_compiled import CompiledModel
from wardwatch.domain.net_flows import FlowTotals, aggregate_flows, evaluate_flows, gc_paused, index_hosts
from wardwatch.domain.netmodel import HostFacts, NetworkModel, ObservedFlow, Rule

__all__ = [
    "CLINICAL_APPLICATIONS",
    "CLINICAL_PORTS",
    "CLINICAL_ZONE_KINDS",
    "ChangedFlow",
    "PathsChange",
    "PathsFunction",
    "PolicyImpact",
    "ZonePairImpact",
    "clinical_reason",
    "simulate",
]

CLINICAL_APPLICATIONS: Mapping[str, str] = {
    "hl7": "HL7 v2 (MLLP)",
    "dicom": "DICOM",
    "fhir": "HL7 FHIR",
}
"""Application names (as discovery identifies them) that carry clinical data."""

CLINICAL_PORTS: Mapping[tuple[str, int], str] = {
    ("tcp", 104): "DICOM (IANA acr-nema)",
    ("tcp", 2575): "HL7 v2 MLLP (IANA hl7)",
    ("tcp", 2761): "DICOM ISCL (IANA dicom-iscl)",
    ("tcp", 2762): "DICOM over TLS (IANA dicom-tls)",
    ("tcp", 11112): "DICOM (IANA dicom)",
}
"""Well-known clinical services (IANA registrations; METHODS.md 6.1 conduits: HL7/MLLP 2575, DICOM 104/11112)."""

CLINICAL_ZONE_KINDS = frozenset(
    {"clinical-apps", "life-sustaining", "monitoring", "imaging", "lab", "clinical-devices", "biomed"}
)
"""Zone kinds whose hosts count as clinical systems when their device type is not known to be medical."""

PathsResult = int | Sequence[object]
PathsFunction = Callable[[NetworkModel], PathsResult]
"""The attack-path hook: a count of paths, or the paths themselves, for one model."""


@dataclass(frozen=True, slots=True)
class ChangedFlow:
    """An observed (client, server, protocol, port) whose decision the proposal changes."""

    client: str
    server: str
    protocol: str
    port: int | None
    application: str | None
    source_zone: str | None
    """Zone of the client in the proposed model."""
    destination_zone: str | None
    flows: int
    """Observed flow records it stands for."""
    packets: int
    rule_now: Rule | None
    """The rule that decides it today (``None``: intra-zone or default action)."""
    rule_proposed: Rule | None
    """The proposed rule that decides it (``None``: the proposal's intra-zone or default action)."""
    clinical: str | None = None
    """Why it is a legitimate clinical flow (``HL7 v2 MLLP (IANA hl7)``...), ``None`` when it is not one."""
    point_now: str = ""
    """The ACL binding whose implicit deny decides it today (``rule_now`` is then ``None``)."""
    point_proposed: str = ""
    """The same under the proposal."""

    @property
    def legitimate_clinical(self) -> bool:
        """Whether cutting it interrupts clinical work."""
        return self.clinical is not None


@dataclass(slots=True)
class ZonePairImpact:
    """Counts of changed host-to-host services between two zones of the proposal."""

    broken: int = 0
    broken_clinical: int = 0
    newly_allowed: int = 0


@dataclass(frozen=True, slots=True)
class PathsChange:
    """What the attack-path hook returned for the current and the proposed model."""

    before: PathsResult
    after: PathsResult
    cut: PathsResult
    """``before - after`` for counts; for lists, the paths of ``before`` missing from ``after``."""


@dataclass(frozen=True, slots=True)
class PolicyImpact:
    """What enforcing the proposed policy would do to the observed baseline."""

    broken: tuple[ChangedFlow, ...]
    """Allowed today, denied by the proposal; legitimate clinical flows first."""
    newly_allowed: tuple[ChangedFlow, ...]
    zone_pairs: Mapping[tuple[str | None, str | None], ZonePairImpact] = field(default_factory=dict)
    paths: PathsChange | None = None
    skipped: int = 0
    """Aggregated flows skipped for an unreadable address."""

    @property
    def broken_clinical(self) -> tuple[ChangedFlow, ...]:
        """The broken flows that are legitimate clinical flows."""
        return tuple(f for f in self.broken if f.legitimate_clinical)


def clinical_reason(
    protocol: str,
    port: int | None,
    application: str | None,
    ends: tuple[HostFacts | None, HostFacts | None],
    zone_kinds: tuple[str | None, str | None],
) -> str | None:
    """Why a flow is a legitimate clinical flow, or ``None``: clinical application, port, or clinical ends."""
    if application is not None and application.lower() in CLINICAL_APPLICATIONS:
        return CLINICAL_APPLICATIONS[application.lower()]
    if port is not None and (protocol, port) in CLINICAL_PORTS:
        return CLINICAL_PORTS[(protocol, port)]
    if all(_clinical_end(h, k) for h, k in zip(ends, zone_kinds, strict=True)):
        return "between clinical systems"
    return None


def _clinical_end(host: HostFacts | None, zone_kind: str | None) -> bool:
    return (host is not None and is_medical(host)) or zone_kind in CLINICAL_ZONE_KINDS


def simulate(
    current: NetworkModel,
    proposed: NetworkModel,
    flows: Sequence[ObservedFlow],
    hosts: Sequence[HostFacts],
    *,
    paths: PathsFunction | None = None,
) -> PolicyImpact:
    """Replay the observed ``flows`` through ``current`` and ``proposed`` and report what would change.

    ``paths`` (the attack-path analysis) is called once per model, after the replay.
    """
    with gc_paused():
        impact = _replay(current, proposed, flows, hosts)
    if paths is None:
        return impact
    return replace(impact, paths=_paths_change(paths, current, proposed))


def _replay(
    current: NetworkModel, proposed: NetworkModel, flows: Sequence[ObservedFlow], hosts: Sequence[HostFacts]
) -> PolicyImpact:
    now, new = CompiledModel(current), CompiledModel(proposed)
    aggregated = aggregate_flows(flows)
    evaluated_now, skipped = evaluate_flows(now, aggregated)
    evaluated_new, _ = evaluate_flows(new, aggregated)  # skips the same unreadable addresses, keeps the order
    by_address = index_hosts(hosts)
    broken: list[ChangedFlow] = []
    opened: list[ChangedFlow] = []
    pairs: dict[tuple[str | None, str | None], ZonePairImpact] = {}
    for flow, proposed_flow in zip(evaluated_now, evaluated_new, strict=True):
        index = proposed_flow.rule_index
        after = new.action_of(index)
        if now.action_of(flow.rule_index) == after:
            continue
        client, server, protocol, port = flow.key
        zones = (new.classes[proposed_flow.source_class].zone, new.classes[proposed_flow.destination_class].zone)
        changed = _changed(flow.key, flow.totals, zones, now, flow.rule_index, new, index)
        pair = pairs.get(zones)
        if pair is None:
            pair = pairs[zones] = ZonePairImpact()
        if after == "deny":
            kinds = (_zone_kind(proposed, zones[0]), _zone_kind(proposed, zones[1]))
            ends = (by_address.get(client), by_address.get(server))
            reason = clinical_reason(protocol, port, flow.totals.application, ends, kinds)
            broken.append(replace(changed, clinical=reason))
            pair.broken += 1
            pair.broken_clinical += reason is not None
        else:
            opened.append(changed)
            pair.newly_allowed += 1
    broken.sort(key=lambda f: not f.legitimate_clinical)
    return PolicyImpact(tuple(broken), tuple(opened), pairs, skipped=skipped)


def _zone_kind(model: NetworkModel, name: str | None) -> str | None:
    zone = model.zone(name) if name is not None else None
    return zone.kind if zone is not None else None


def _changed(
    key: tuple[str, str, str, int | None],
    totals: FlowTotals,
    zones: tuple[str | None, str | None],
    now: CompiledModel,
    index_now: int,
    new: CompiledModel,
    index_new: int,
) -> ChangedFlow:
    client, server, protocol, port = key
    return ChangedFlow(
        client=client,
        server=server,
        protocol=protocol,
        port=port,
        application=totals.application,
        source_zone=zones[0],
        destination_zone=zones[1],
        flows=totals.flows,
        packets=totals.packets,
        rule_now=now.rules[index_now] if index_now >= 0 else None,
        rule_proposed=new.rules[index_new] if index_new >= 0 else None,
        point_now=now.point_of(index_now),
        point_proposed=new.point_of(index_new),
    )


def _paths_change(paths: PathsFunction, current: NetworkModel, proposed: NetworkModel) -> PathsChange:
    before, after = paths(current), paths(proposed)
    if isinstance(before, int) and isinstance(after, int):
        return PathsChange(before, after, before - after)
    if isinstance(before, int) or isinstance(after, int):
        raise TypeError("the paths hook must return a count for both models or a list for both")
    try:
        remaining: set[object] | list[object] = set(after)
    except TypeError:  # unhashable paths (lists of nodes): compare them one by one
        remaining = list(after)
    return PathsChange(before, after, [p for p in before if p not in remaining])
