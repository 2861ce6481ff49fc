"""Request and response models of ``/api/alarms`` (the documents of :mod:`wardwatch.services.alarms`, described).

Kept apart from :mod:`wardwatch.api.schemas` because they are many and belong to one capability.  Seconds are
floats; a worst case of ``null`` means no route survives the failure set (the alarm is not delivered at all).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from wardwatch.domain.alarm_model import Priority

__all__ = [
    "AlarmTopologyImportOut",
    "AlarmTopologyOut",
    "BudgetIn",
    "BudgetOut",
    "DeliveriesImportOut",
    "MonitoringOut",
    "VerificationOut",
]

NodeId = Annotated[str, Field(min_length=1, max_length=200)]
_SECONDS_MAX = 86_400.0
"""A budget, delay or heartbeat interval of more than a day is not an alarm requirement."""


# -- topology ---------------------------------------------------------------------------------------------------


class AlarmTopologyImportOut(BaseModel):
    """What an import did."""

    version: int = Field(description="The topology's version (the current one after the import).")
    changed: bool = Field(description="False when the same file was already the current topology.")
    name: str
    nodes: int
    links: int
    groups: int
    sources: int
    budgets_taken: int = Field(description="Budgets of the file stored because Wardwatch had none for their key.")
    budgets_kept: int = Field(description="Budgets of the file ignored: Wardwatch already has one for their key.")
    warnings: list[str] = Field(default_factory=list, description="Things to check (e.g. far fewer nodes than before).")


class LatencyOut(BaseModel):
    """A delay bound in seconds (verification uses ``max_s``)."""

    min_s: float
    typical_s: float
    max_s: float


class FailoverOut(BaseModel):
    """How a node recovers when its next hop fails."""

    detection_s: float
    retry_s: float


class AlarmNodeOut(BaseModel):
    """A device group, intermediary or recipient."""

    id: str
    kind: str = Field(description="source, ap, dect-base, switch, wlc, alarm-server, middleware, paging, phone, …")
    name: str
    label: str = Field(description="The name, else the id.")
    unit: str | None = None
    site: str | None = None
    processing: LatencyOut
    failover: FailoverOut
    failable: bool


class AlarmLinkOut(BaseModel):
    """A connection between two nodes."""

    id: str
    a: str
    b: str
    medium: str = Field(description="wired, wifi, dect, cellular or internal.")
    latency: LatencyOut
    capacity_mbps: float | None = None
    bidirectional: bool


class RiskGroupOut(BaseModel):
    """Nodes and links that fail together (one failure)."""

    id: str
    kind: str = Field(description="rf, power, switch, server, site or other.")
    description: str
    members: list[str]


class AlarmSourceOut(BaseModel):
    """A group of bedside devices of one unit that raise alarms."""

    node: str
    unit: str
    device_kind: str
    alarm_types: list[str]
    devices: int


class AlarmTopologyOut(BaseModel):
    """The current alarm topology, for drawing: nodes, links, shared-risk groups and alarm sources."""

    version: int
    name: str
    nodes: list[AlarmNodeOut]
    links: list[AlarmLinkOut]
    groups: list[RiskGroupOut]
    sources: list[AlarmSourceOut]
    units: list[str] = Field(description="Every unit a source or budget names.")
    recipients: list[str] = Field(description="Ids of the phone, pager and central-station nodes (budget recipients).")


# -- verification -----------------------------------------------------------------------------------------------


class RouteOut(BaseModel):
    """A delivery route from source to recipient."""

    nodes: list[str]
    labels: list[str]
    links: list[str]
    seconds: float
    recipient: str
    escalated: bool


class FlowResultOut(BaseModel):
    """The verdict for one alarm source under one budget."""

    source: str
    source_name: str
    unit: str
    alarm_type: str
    priority: str
    budget: str = Field(description="The budget's key: unit/alarm type/priority.")
    budget_s: float
    nominal_s: float | None = Field(description="Delivery time with nothing failed (null: unreachable).")
    worst_case_s: float | None = Field(description="After the worst failure set (null: no route survives it).")
    reachable: bool
    failure_set: list[str] = Field(description="The worst failure set: node, link or shared-risk group ids.")
    failure_labels: list[str]
    passed: bool
    route: RouteOut | None = Field(description="The route after the worst failure set.")
    nominal_route: RouteOut | None
    breaking_sets: list[list[str]]
    devices: int
    explanation: str


class FailurePointOut(BaseModel):
    """A single element whose failure alone makes some budget miss."""

    element: str
    kind: str
    label: str
    flows: list[str]
    units: list[str]
    devices: int


class UnitVerdictOut(BaseModel):
    """Flows and failures of one unit."""

    unit: str
    flows: int
    failing: int
    worst_margin_s: float | None = None


class AdditionOut(BaseModel):
    """One recommended addition and the flows it makes pass."""

    id: str
    description: str
    cost: float
    fixes: list[str]
    nodes: list[str]
    links: list[dict[str, Any]]


class RecommendationsOut(BaseModel):
    """The additions that make every budget hold (greedy, in order)."""

    complete: bool
    failing_before: int
    still_failing: list[str]
    additions: list[AdditionOut]


class VerificationOut(BaseModel):
    """A stored verification report (clinicians: their unit's results only)."""

    verification_id: int
    version: int = Field(description="The topology version verified.")
    topology: str
    k: int = Field(description="Failures of up to k elements were checked.")
    flows: int
    failing: int
    passed: bool
    searches: int
    results: list[FlowResultOut] = Field(description="Failing first.")
    single_points_of_failure: list[FailurePointOut]
    unbudgeted_sources: list[str]
    unmatched_budgets: list[str] = Field(
        default_factory=list,
        description="Budgets in force that no alarm source raises: not verified (passed is false).",
    )
    unverifiable_budgets: list[str] = Field(
        default_factory=list, description="Budgets in force naming a recipient the topology lacks: not verified."
    )
    units: list[UnitVerdictOut]
    recommendations: RecommendationsOut | None = None
    verified_at: datetime
    verified_by: str


class VerificationSummaryOut(BaseModel):
    """The counts of a verification run."""

    verification_id: int
    k: int
    flows: int
    failing: int
    passed: bool


# -- budgets ----------------------------------------------------------------------------------------------------


class BudgetIn(BaseModel):
    """A proposed budget (a new draft version of its unit, alarm type and priority); the proposer is the caller."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"example": {
            "unit": "ICU-East", "alarm_type": "arrhythmia", "priority": "high", "max_delivery_s": 10,
            "primary": ["icu-east-phones"], "escalation": ["charge-nurse-pager"], "escalate_after_s": 30,
            "confirmed": True, "heartbeat_interval_s": 2, "heartbeat_misses": 3,
            "rationale": "A missed arrhythmia must reach a nurse within 10 s.",
        }},
    )  # fmt: skip
    unit: str = Field(min_length=1, max_length=200, description='A clinical unit, or "*" for every unit.')
    alarm_type: str = Field(min_length=1, max_length=100, description='An alarm type, or "*" for every type.')
    priority: Priority
    max_delivery_s: float = Field(gt=0, le=_SECONDS_MAX, allow_inf_nan=False)
    primary: list[NodeId] = Field(min_length=1, max_length=50, description="Recipient node ids of the topology.")
    escalation: list[NodeId] = Field(default_factory=list, max_length=50)
    escalate_after_s: float | None = Field(None, ge=0, le=_SECONDS_MAX, allow_inf_nan=False)
    confirmed: bool = False
    heartbeat_interval_s: float | None = Field(None, gt=0, le=_SECONDS_MAX, allow_inf_nan=False)
    heartbeat_misses: int = Field(3, ge=1, le=1000)
    rationale: str = Field("", max_length=2000)


class BudgetOut(BaseModel):
    """One version of a budget."""

    id: int
    key: str
    unit: str
    alarm_type: str
    priority: str
    version: int
    max_delivery_s: float
    primary: list[str]
    escalation: list[str]
    escalate_after_s: float | None = None
    confirmed: bool
    heartbeat_interval_s: float | None = None
    heartbeat_misses: int
    rationale: str
    status: str = Field(description="draft, approved (in force), superseded or withdrawn.")
    created_by: str
    created_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    verification: VerificationSummaryOut | None = Field(
        None, description="After an approval: the re-verification with the new budget in force."
    )


# -- monitoring -------------------------------------------------------------------------------------------------


class PathStatsOut(BaseModel):
    """Delivery figures of one path, unit and priority (nearest-rank percentiles)."""

    path: str
    unit: str | None = None
    priority: str | None = None
    count: int
    lost: int
    late: int
    p50_s: float | None = None
    p95_s: float | None = None
    p99_s: float | None = None
    max_s: float | None = None
    first_sent: datetime
    last_sent: datetime
    budget_key: str | None = None
    budget_s: float | None = None


class UnitStatsOut(BaseModel):
    """Delivery figures of one unit."""

    unit: str | None = None
    count: int
    lost: int
    late: int
    p50_s: float | None = None
    p95_s: float | None = None
    p99_s: float | None = None
    max_s: float | None = None
    first_sent: datetime
    last_sent: datetime


class BreachOut(BaseModel):
    """A delivery that was lost (``latency_s`` null) or later than its budget."""

    origin: str
    path: str
    source: str
    recipient: str
    sent_at: datetime
    latency_s: float | None = None
    budget_key: str | None = None
    budget_s: float | None = None


class SilenceOut(BaseModel):
    """A stretch without heartbeats longer than interval × misses."""

    source: str
    recipient: str
    start: datetime
    end: datetime
    seconds: float
    interval_s: float
    misses: int
    ongoing: bool
    budget_key: str | None = None


class AlertOut(BaseModel):
    """One sentence for the people who keep alarms flowing."""

    severity: str
    kind: str = Field(description="latency, breach, loss, silence or detection.")
    subject: str
    message: str


class MonitorSummaryOut(BaseModel):
    """Deliveries against the budgets in force."""

    paths: list[PathStatsOut]
    units: list[UnitStatsOut]
    breaches: list[BreachOut]
    silences: list[SilenceOut]
    alerts: list[AlertOut]
    now: datetime | None = None


class MonitoringOut(BaseModel):
    """The stored deliveries of the window (up to the newest record) summarised."""

    records: int
    window_days: int
    until: datetime | None = None
    summary: MonitorSummaryOut | None = Field(description="null before any delivery record is stored.")


class DeliveriesImportOut(BaseModel):
    """What a delivery-records upload stored, and the summary of the uploaded records alone."""

    files: list[str]
    records: int
    new: int = Field(description="Records not stored before (a record is one source, recipient and send time).")
    summary: MonitorSummaryOut
