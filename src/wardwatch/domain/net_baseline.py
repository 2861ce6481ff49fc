"""Baseline policy: an allow-list derived from the observed flows (METHODS.md 6.1, HICP "allow-listed pathways").

:func:`baseline_policy` turns observed flows into one allow rule per (source group, destination group, protocol,
server port), merges adjacent ports into ranges, collapses a side to its zone when every known host of the zone is
involved, and ends with a deny any/any.  :func:`derive_baseline` also lists the flows that could not become rules.
(Split from :mod:`wardwatch.domain.net_recommend`, which re-exports these names.)
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from wardwatch.domain.netmodel import ANY, HostFacts, NetworkModel, ObservedFlow, PortRange, Protocol, Rule, ip_int

__all__ = [
    "EPHEMERAL_FROM",
    "Baseline",
    "GroupBy",
    "baseline_policy",
    "derive_baseline",
]

EPHEMERAL_FROM = 49152
"""First port of the IANA dynamic range: a flow on such a port is a client port, never a rule."""

GroupBy = Literal["zone", "device-type"]


@dataclass(frozen=True, slots=True)
class Baseline:
    """An allow-list policy derived from observed flows, and the flows that could not become rules."""

    model: NetworkModel
    skipped: tuple[tuple[ObservedFlow, str], ...] = ()


@dataclass(slots=True)
class _Evidence:
    clients: set[str] = field(default_factory=set)
    servers: set[str] = field(default_factory=set)
    flows: int = 0
    packets: int = 0
    applications: set[str] = field(default_factory=set)


def _host_net(address: str) -> str:
    prefix = 24 if ipaddress.ip_address(address).version == 4 else 64
    return str(ipaddress.ip_interface(f"{address}/{prefix}").network)


def _flow_key(flow: ObservedFlow, ephemeral_from: int) -> tuple[Protocol, int | None] | str:
    """(protocol, server port) of a flow that can become a rule, else why not."""
    protocol = next((p for p in ("tcp", "udp", "icmp") if p == flow.protocol.lower()), None)
    if protocol is None:
        return f"protocol {flow.protocol!r} has no rule syntax here"
    try:
        ip_int(flow.client), ip_int(flow.server)
    except ValueError:
        return "bad address"
    if protocol == "icmp":
        return protocol, None
    if flow.port is None:
        return "no server port"
    if flow.port >= ephemeral_from:
        return f"port {flow.port} is in the ephemeral range (a client port): not made a rule"
    return protocol, flow.port


def derive_baseline(
    flows: Sequence[ObservedFlow],
    hosts: Sequence[HostFacts],
    model: NetworkModel,
    group_by: GroupBy = "zone",
    *,
    ephemeral_from: int = EPHEMERAL_FROM,
) -> Baseline:
    """The allow-list of :func:`baseline_policy` and the flows left out, each with its reason."""
    device_types = {a: h.device_type for h in hosts for a in (h.address, *h.extra_addresses)}
    use_zones = group_by == "zone" and bool(model.zones)

    def group(address: str) -> tuple[str, str]:
        """(group name, network reference for the whole group)."""
        zone = model.zone_of(address) if use_zones else None
        if zone is not None:
            return zone, zone
        net = _host_net(address)
        return f"{device_types.get(address) or 'unknown'}@{net}", net

    known: dict[str, set[str]] = defaultdict(set)  # whole-group reference -> known addresses in it
    for address in [*device_types, *(a for f in flows for a in (f.client, f.server))]:
        try:
            known[group(address)[1]].add(address)
        except ValueError:
            continue
    evidence: dict[tuple[str, str, str, str, Protocol, int | None], _Evidence] = defaultdict(_Evidence)
    skipped: list[tuple[ObservedFlow, str]] = []
    for flow in flows:
        key = _flow_key(flow, ephemeral_from)
        if isinstance(key, str):
            skipped.append((flow, key))
            continue
        (src_group, src_ref), (dst_group, dst_ref) = group(flow.client), group(flow.server)
        ev = evidence[(src_group, dst_group, src_ref, dst_ref, *key)]
        ev.clients.add(flow.client)
        ev.servers.add(flow.server)
        ev.flows += 1
        ev.packets += flow.packets
        if flow.application:
            ev.applications.add(flow.application)

    def side(involved: set[str], whole: str) -> tuple[str, ...]:
        if known[whole] <= involved:
            return (whole,)
        return tuple(sorted(involved, key=ip_int))

    runs: dict[tuple[str, str, tuple[str, ...], tuple[str, ...], Protocol], list[tuple[int | None, _Evidence]]]
    runs = defaultdict(list)
    for (sg, dg, sref, dref, protocol, port), ev in evidence.items():
        runs[(sg, dg, side(ev.clients, sref), side(ev.servers, dref), protocol)].append((port, ev))
    rules: list[tuple[tuple[str, str, str, int], Rule]] = []
    for (sg, dg, srcs, dsts, protocol), items in runs.items():
        for low, high, ev in _merge_ports(items):
            ports = () if low is None or high is None else (PortRange(low, high),)
            service = f"{protocol}/{ports[0]}" if ports else protocol
            apps = f" ({', '.join(sorted(ev.applications))})" if ev.applications else ""
            description = (
                f"observed {ev.flows} flow(s), {ev.packets} packet(s): {len(ev.clients)} client(s) in {sg} → "
                f"{len(ev.servers)} server(s) in {dg} on {service}{apps}"
            )
            name = f"allow-{sg}-{dg}-{service.replace('/', '-')}"
            rule = Rule("allow", srcs, dsts, protocol, ports, 0, "wardwatch baseline", name, description)
            rules.append(((sg, dg, protocol, -1 if low is None else low), rule))
    rules.sort(key=lambda r: r[0])
    ordered = [replace(r, order=(i + 1) * 10) for i, (_, r) in enumerate(rules)]
    deny_all = Rule(
        "deny", (ANY,), (ANY,), "any", (), (len(ordered) + 1) * 10, "wardwatch baseline", "deny-all",
        "everything the baseline did not observe",
    )  # fmt: skip
    out = NetworkModel(
        zones=model.zones,
        rules=(*ordered, deny_all),
        default_action="deny",
        intra_zone=model.intra_zone,
        conduits=model.conduits,
        placement=model.placement,
        sources=model.sources,
    )
    return Baseline(out, tuple(skipped))


def _merge_ports(items: list[tuple[int | None, _Evidence]]) -> list[tuple[int | None, int | None, _Evidence]]:
    """Runs of adjacent ports with their evidence added up."""
    out: list[tuple[int | None, int | None, _Evidence]] = []
    for port, ev in sorted(items, key=lambda t: -1 if t[0] is None else t[0]):
        last = out[-1] if out else None
        if port is not None and last is not None and last[1] is not None and last[1] + 1 == port:
            merged = last[2]
            merged.clients |= ev.clients
            merged.servers |= ev.servers
            merged.flows += ev.flows
            merged.packets += ev.packets
            merged.applications |= ev.applications
            out[-1] = (last[0], port, merged)
        else:
            out.append(
                (port, port, _Evidence(set(ev.clients), set(ev.servers), ev.flows, ev.packets, set(ev.applications)))
            )
    return out


def baseline_policy(
    flows: Sequence[ObservedFlow],
    hosts: Sequence[HostFacts],
    model: NetworkModel,
    group_by: GroupBy = "zone",
    *,
    ephemeral_from: int = EPHEMERAL_FROM,
) -> NetworkModel:
    """An allow-list from the observed baseline: one allow per (source group, destination group, protocol, server
    port) seen, adjacent ports merged into ranges, sorted, the flow count as evidence in the description, then a
    final deny any/any.

    Groups are zones when the model has zones (``group_by="zone"``), else device type + /24 (/64 for IPv6).  A side
    is the whole zone (or /24) when every known host of it is involved, else the addresses themselves.  Flows on
    ephemeral ports (≥ ``ephemeral_from``) never become rules; :func:`derive_baseline` lists them.
    """
    return derive_baseline(flows, hosts, model, group_by, ephemeral_from=ephemeral_from).model
