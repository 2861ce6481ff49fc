"""The alarm-delivery model: how an alarm travels from a bedside device group to a nurse's phone, what can fail
on the way, and how fast clinicians require it to arrive (METHODS.md section 5).

A :class:`AlarmTopology` is a graph.  **Nodes** are alarm sources (a device group of one unit: the ICU-East
monitors), intermediaries (device gateways, alarm servers, middleware, paging gateways, Wi-Fi APs, DECT bases,
switches, controllers) and recipients (phone groups, pagers, central stations).  **Links** join two nodes with a
latency bound, a medium and a capacity.  A **shared-risk group** is a set of nodes and links that fail together
(one switch stack, one power circuit, one RF band in one area -- "jam the 5 GHz band in ICU-East" -- one VM host).

**Budgets** are set and approved by clinicians: per unit, alarm type and IEC 60601-1-8 priority, the longest
acceptable delivery time to the primary recipients, and who is escalated to after how long.

How long a delivery takes along a route (the number verification compares with a budget):

* every node on the route adds its processing bound (:attr:`Node.processing`), the source and recipient included;
* every link adds its latency bound (:attr:`Link.latency`; the upper bound ``max_s`` -- a p99 when a
  distribution was given);
* a recipient reached by escalation adds the budget's ``escalate_after_s``;
* when failures break the route the network would use without them (the *nominal* route), the delivery also
  waits for the failover of the node before the slowest-to-recover broken hop: its ``detection_s`` (how long until
  it notices: an ack timeout, beacon loss) plus ``retry_s`` (until it resends on another route).

Identifiers are shared by nodes, links and groups (one namespace), so a failure set is a tuple of ids.  Pure data:
no I/O.  The YAML that describes it is read by :mod:`wardwatch.ingest.alarm_topology` (docs/alarms.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property

__all__ = [
    "GROUP_KINDS",
    "NODE_KINDS",
    "SOURCE_KINDS",
    "AlarmSource",
    "AlarmTopology",
    "Budget",
    "Candidate",
    "DeliveryRecord",
    "Failover",
    "Latency",
    "Link",
    "Medium",
    "Node",
    "Priority",
    "RiskGroup",
]


class Priority(StrEnum):
    """IEC 60601-1-8 alarm priority."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Medium(StrEnum):
    """What a link travels over."""

    WIRED = "wired"
    WIFI = "wifi"
    DECT = "dect"
    CELLULAR = "cellular"
    INTERNAL = "internal"
    """Inside one host or data centre (a service on a VM talking to another)."""


#: Node kinds (a node may use another word; these are the ones the UI and recommendations know).
NODE_KINDS: tuple[str, ...] = (
    "source", "gateway", "alarm-server", "middleware", "nurse-call", "paging", "phone", "pager",
    "central-station", "ap", "wlc", "dect-base", "switch", "router", "firewall", "server", "other",
)  # fmt: skip

#: Node kinds that stand for a group of devices or handsets: not one failure, so not failable unless a file says so.
GROUP_KINDS: frozenset[str] = frozenset({"source", "phone", "pager"})

#: Device groups an alarm source stands for.
SOURCE_KINDS: tuple[str, ...] = ("monitor", "pump", "ventilator", "nurse-call", "telemetry", "other")


@dataclass(frozen=True, slots=True)
class Latency:
    """A delay in seconds: verification uses the upper bound ``max_s``; ``typical_s`` is for display."""

    min_s: float = 0.0
    typical_s: float = 0.0
    max_s: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_s <= self.typical_s <= self.max_s:
            raise ValueError(f"latency must satisfy 0 <= min <= typical <= max, got {self}")

    @classmethod
    def fixed(cls, seconds: float) -> Latency:
        """The same delay every time."""
        return cls(seconds, seconds, seconds)


@dataclass(frozen=True, slots=True)
class Failover:
    """How a node recovers when its next hop fails: it notices after ``detection_s`` and resends after ``retry_s``."""

    detection_s: float = 0.0
    retry_s: float = 0.0

    @property
    def total_s(self) -> float:
        """Time lost before the resend."""
        return self.detection_s + self.retry_s


@dataclass(frozen=True, slots=True)
class Node:
    """A device group, intermediary or recipient on the alarm path."""

    id: str
    kind: str
    name: str = ""
    unit: str | None = None
    """The clinical unit it serves (sources and recipients always have one; a core switch has none)."""
    site: str | None = None
    processing: Latency = Latency()
    failover: Failover = Failover()
    failable: bool = True
    """False for alarm sources: the failure of the bedside device itself is not a network failure."""

    @property
    def label(self) -> str:
        """The name when given, else the id."""
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class Link:
    """A connection between two nodes; ``bidirectional`` links carry traffic both ways."""

    id: str
    a: str
    b: str
    latency: Latency = Latency()
    medium: Medium = Medium.WIRED
    capacity_mbps: float | None = None
    bidirectional: bool = True


@dataclass(frozen=True, slots=True)
class RiskGroup:
    """Nodes and links that fail together; counts as one failure."""

    id: str
    kind: str
    """``switch``, ``power``, ``rf`` (a band or channel in an area, e.g. jamming), ``server`` (a VM host), ``site``…"""
    members: frozenset[str]
    description: str = ""


@dataclass(frozen=True, slots=True)
class AlarmSource:
    """A group of bedside devices of one unit that raise alarms, attached to the graph at node ``node``."""

    node: str
    unit: str
    device_kind: str
    """One of :data:`SOURCE_KINDS` (or another word)."""
    alarm_types: tuple[str, ...]
    """Alarm types it raises, e.g. ``("arrhythmia", "spo2-low")``; budgets are matched on these."""
    devices: int = 1
    """How many devices the group stands for."""


@dataclass(frozen=True, slots=True)
class Budget:
    """A clinician's delivery requirement for one alarm type and priority in one unit (``unit="*"``: every unit)."""

    unit: str
    alarm_type: str
    """An alarm type, or ``"*"`` for every type the unit's sources raise at this priority."""
    priority: Priority
    max_delivery_s: float
    primary: tuple[str, ...]
    """Recipient node ids that satisfy the budget directly."""
    escalation: tuple[str, ...] = ()
    """Recipient node ids reached when the primary does not acknowledge within ``escalate_after_s``."""
    escalate_after_s: float | None = None
    confirmed: bool = False
    """Delivery is claimed to be *confirmed* (IEC 60601-1-8 DAS): heartbeats must detect a silent path in time."""
    heartbeat_interval_s: float | None = None
    heartbeat_misses: int = 3
    approved_by: str | None = None
    approved_at: datetime | None = None
    version: int = 1
    rationale: str = ""

    @property
    def key(self) -> str:
        """``unit/alarm_type/priority``: one budget per key per version."""
        return f"{self.unit}/{self.alarm_type}/{self.priority.value}"

    def applies_to(self, source: AlarmSource) -> bool:
        """Whether this budget governs alarms of ``source``."""
        unit_ok = self.unit == "*" or self.unit == source.unit
        return unit_ok and (self.alarm_type == "*" or self.alarm_type in source.alarm_types)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A possible addition to the topology that the recommendations may choose (declared in the YAML, or
    proposed by verification): new nodes and links, and the groups the new elements join."""

    id: str
    description: str
    nodes: tuple[Node, ...] = ()
    links: tuple[Link, ...] = ()
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Existing group id -> ids of new elements that join it (a second AP still on the same power circuit)."""
    cost: float = 1.0


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One observed alarm delivery (a test or heartbeat alarm, or a real one exported by middleware)."""

    source: str
    """The alarm source or probe that sent it (a node id where it maps to one)."""
    recipient: str
    """Where it was delivered (a node id, phone extension or endpoint)."""
    sent_at: datetime
    received_at: datetime | None
    """``None``: never received (lost)."""
    acknowledged_at: datetime | None = None
    unit: str | None = None
    priority: Priority | None = None
    alarm_type: str | None = None
    heartbeat: bool = False
    path: str | None = None
    """A label for the route or probe target (``ICU-East monitors -> alarm server -> phones``)."""
    origin: str = ""
    """Where the record came from: file and row/line, or ``probe``."""

    @property
    def latency_s(self) -> float | None:
        """Seconds from sent to received; ``None`` when lost."""
        if self.received_at is None:
            return None
        return (self.received_at - self.sent_at).total_seconds()


@dataclass(frozen=True)
class AlarmTopology:
    """The whole model: validated on construction (unknown ids, duplicate ids, links to nowhere raise ValueError)."""

    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    groups: tuple[RiskGroup, ...] = ()
    sources: tuple[AlarmSource, ...] = ()
    budgets: tuple[Budget, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    name: str = "alarm topology"

    def __post_init__(self) -> None:
        seen: set[str] = set()
        all_ids = [n.id for n in self.nodes] + [x.id for x in self.links] + [g.id for g in self.groups]
        for element_id in all_ids:
            if element_id in seen:
                raise ValueError(f"id {element_id!r} is used twice (nodes, links and groups share one namespace)")
            seen.add(element_id)
        nodes = self.node_by_id
        for link in self.links:
            for end in (link.a, link.b):
                if end not in nodes:
                    raise ValueError(f"link {link.id!r} joins unknown node {end!r}")
            if link.a == link.b:
                raise ValueError(f"link {link.id!r} joins node {link.a!r} to itself")
        group_ids = {g.id for g in self.groups}
        for group in self.groups:
            unknown = sorted(m for m in group.members if m not in seen or m in group_ids)
            if unknown:
                raise ValueError(f"group {group.id!r} names unknown node or link {unknown[0]!r}")
        for source in self.sources:
            if source.node not in nodes:
                raise ValueError(f"alarm source names unknown node {source.node!r}")
        for budget in self.budgets:
            for recipient in (*budget.primary, *budget.escalation):
                if recipient not in nodes:
                    raise ValueError(f"budget {budget.key} names unknown recipient {recipient!r}")
            if budget.escalation and budget.escalate_after_s is None:
                raise ValueError(f"budget {budget.key} has escalation recipients but no escalate_after_s")

    @cached_property
    def node_by_id(self) -> Mapping[str, Node]:
        """Nodes by id."""
        return {node.id: node for node in self.nodes}

    @cached_property
    def link_by_id(self) -> Mapping[str, Link]:
        """Links by id."""
        return {link.id: link for link in self.links}

    @cached_property
    def group_by_id(self) -> Mapping[str, RiskGroup]:
        """Shared-risk groups by id."""
        return {group.id: group for group in self.groups}

    @cached_property
    def groups_of(self) -> Mapping[str, tuple[str, ...]]:
        """Element id -> ids of the groups it belongs to."""
        out: dict[str, list[str]] = {}
        for group in self.groups:
            for member in sorted(group.members):
                out.setdefault(member, []).append(group.id)
        return {k: tuple(v) for k, v in out.items()}

    def units(self) -> tuple[str, ...]:
        """Every unit a source or budget names, sorted."""
        names = {s.unit for s in self.sources} | {b.unit for b in self.budgets if b.unit != "*"}
        return tuple(sorted(names))

    def kind_of(self, element_id: str) -> str:
        """``node``, ``link`` or ``group`` for an id of this topology; ``KeyError`` otherwise."""
        if element_id in self.node_by_id:
            return "node"
        if element_id in self.link_by_id:
            return "link"
        if element_id in self.group_by_id:
            return "group"
        raise KeyError(element_id)

    def label(self, element_id: str) -> str:
        """A readable name for a node, link or group id."""
        if element_id in self.node_by_id:
            return self.node_by_id[element_id].label
        if element_id in self.group_by_id:
            group = self.group_by_id[element_id]
            return group.description or group.id
        link = self.link_by_id.get(element_id)
        if link is not None:
            return f"{self.label(link.a)} – {self.label(link.b)} ({link.medium.value})"
        return element_id
