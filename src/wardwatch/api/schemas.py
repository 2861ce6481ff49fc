"""Request and response schemas: the API's contract (OpenAPI 3.1), separate from tables and domain types."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Schema(BaseModel):
    """Base of every schema: unknown input fields are refused."""

    model_config = ConfigDict(extra="forbid")


class LoginIn(Schema):
    """Credentials for a browser session."""

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class Me(Schema):
    """Who is logged in and what they may do."""

    username: str
    role: str
    unit: str | None
    permissions: list[str]
    home: str = Field(description="The dashboard this role lands on.")


class SessionOut(Schema):
    """A new session: the CSRF token to send in ``X-CSRF-Token`` on state-changing requests."""

    user: Me
    csrf_token: str


class UserOut(Schema):
    """An account (never its password hash)."""

    id: int
    username: str
    display_name: str | None
    role: str
    unit: str | None
    auth_provider: str
    disabled: bool
    locked: bool
    created_at: datetime
    last_login_at: datetime | None


class UserIn(Schema):
    """A new local account."""

    username: str = Field(min_length=2, max_length=100)
    role: str
    password: str = Field(min_length=1, max_length=1000)
    unit: str | None = Field(default=None, max_length=200)
    display_name: str | None = Field(default=None, max_length=200)


class UserList(Schema):
    """Every account."""

    items: list[UserOut]
    total: int


class TokenIn(Schema):
    """A new API token."""

    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] | None = Field(default=None, description="Permissions; default: everything the role has.")
    expires_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(Schema):
    """A new API token: ``token`` is shown once."""

    token: str
    name: str
    user: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None


class DeviceRow(Schema):
    """A device in a listing."""

    id: int
    asset_tag: str | None
    site: str | None
    department: str | None
    manufacturer: str | None
    model: str | None
    device_type: str | None
    criticality: str | None
    software_version: str | None
    end_of_support: date | None
    mac: str | None
    ip: str | None
    hostname: str | None
    risk_score: float | None = Field(None, description="The stored risk score (0-100), if scored.")
    risk_level: str | None = None
    kev: int = Field(0, description="Open known-exploited (KEV) findings.")


class DevicePage(Schema):
    """A page of devices.  Follow ``next_after`` (id order) for the next page."""

    items: list[DeviceRow]
    total: int
    total_capped: bool = Field(description="True when more than `total` match (counts stop at 10,000).")
    next_after: int | None
    limit: int


class Evidence(Schema):
    """One source's claim about one attribute: why Wardwatch believes a value."""

    attribute: str
    value: Any
    source_kind: str
    confidence: float
    observed_at: datetime | None
    locator: str | None
    source_id: int | None
    source: str | None


class SeenItem(Schema):
    """An observation or a network finding of a device, with its first evidence."""

    kind: str
    detail: str | None = None
    value: str | None = None
    protocol: str
    locator: str
    count: int
    first_seen: datetime
    last_seen: datetime
    source: str | None = None


class Peer(Schema):
    """A conversation of a device."""

    direction: str
    peer: str
    peer_device: int | None
    transport: str
    port: int
    protocol: str | None
    packets: int
    bytes: int
    first_seen: datetime
    last_seen: datetime


class HistoryItem(Schema):
    """A change of an attribute."""

    changed_at: datetime
    attribute: str
    old_value: str | None
    new_value: str | None
    source: str | None


class Interface(Schema):
    """A network interface of a device."""

    mac: str | None
    ip: str | None
    hostname: str | None
    vlan: int | None
    source_kind: str


class VulnerabilityFinding(Schema):
    """A device × vulnerability (or recall) finding."""

    id: int
    device_id: int
    asset_tag: str | None
    manufacturer: str | None
    model: str | None
    vulnerability_id: str
    component_ref: str
    source: str
    confidence: str
    vex_status: str | None
    suppressed: bool
    in_kev: bool
    epss: float | None
    epss_percentile: float | None
    cvss_score: float | None
    cvss_vector: str | None
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    advisories: list[Any]
    remediation: list[Any]


class ModelSecurity(Schema):
    """The device model's security capabilities from its manufacturer's MDS2 form."""

    manufacturer: str
    model: str
    form: str = Field(description="The stored form, mds2/<sha256>.<ext>.")
    form_date: date | None
    version: str | None
    operating_system: str | None
    end_of_support: date | None
    capabilities: dict[str, bool | None] = Field(description="Capability -> yes (true), no (false), not stated.")
    controls: list[str] = Field(description="Compensating controls the form proves, as risk counts them.")
    answers: int = Field(description="How many questions the form answers.")
    linked_by: str = Field(description="metadata (the form's DOC-1/DOC-3) or explicit (--model).")


class DeviceDetail(Schema):
    """One device: attributes, evidence per attribute, network facts, vulnerabilities, history."""

    model_config = ConfigDict(extra="ignore")

    id: int
    asset_tag: str | None
    serial: str | None
    site: str | None
    building: str | None
    department: str | None
    location: str | None
    manufacturer: str | None
    model: str | None
    device_type: str | None
    criticality: str | None
    fda_product_code: str | None
    fda_class: str | None
    os_name: str | None
    os_version: str | None
    firmware_version: str | None
    software_version: str | None
    patient_connected: bool | None
    handles_phi: bool | None
    owner_team: str | None
    lifecycle_status: str | None
    end_of_support: date | None
    end_of_life: date | None
    mac: str | None
    ip: str | None
    hostname: str | None
    created_at: datetime
    updated_at: datetime
    interfaces: list[Interface]
    identifiers: list[str]
    evidence: list[Evidence]
    findings: list[SeenItem]
    observations: list[SeenItem]
    talks_to: list[Peer]
    vulnerabilities: list[VulnerabilityFinding]
    history: list[HistoryItem]
    security: ModelSecurity | None = None


class VulnerabilityPage(Schema):
    """A page of vulnerability findings, KEV first, then by CVSS."""

    items: list[VulnerabilityFinding]
    total: int
    limit: int
    offset: int


class NetworkFinding(Schema):
    """Insecure behaviour proven from traffic."""

    id: int
    device_id: int
    asset_tag: str | None
    manufacturer: str | None
    model: str | None
    kind: str
    detail: str
    protocol: str
    locator: str
    count: int
    first_seen: datetime
    last_seen: datetime


class NetworkFindingPage(Schema):
    """A page of network findings."""

    items: list[NetworkFinding]
    total: int
    limit: int
    offset: int


class Observation(Schema):
    """What discovery saw about a device."""

    id: int
    device_id: int
    kind: str
    value: str
    protocol: str
    locator: str
    count: int
    first_seen: datetime
    last_seen: datetime


class ObservationPage(Schema):
    """A page of observations."""

    items: list[Observation]
    total: int
    limit: int
    offset: int


class Flow(Schema):
    """A conversation: who talks to whom on which service, summed over every capture and log."""

    id: int
    client_ip: str
    server_ip: str
    transport: str
    port: int
    client_device_id: int | None
    server_device_id: int | None
    protocol: str | None
    packets: int
    bytes: int
    first_seen: datetime
    last_seen: datetime


class FlowPage(Schema):
    """A page of flows, largest first."""

    items: list[Flow]
    total: int
    limit: int
    offset: int


class MapNode(Schema):
    """A zone (compound node) or an endpoint of the network map."""

    id: str
    label: str
    parent: str | None = None
    zone: bool = False
    device_id: int | None = None
    criticality: str | None = None
    type: str | None = None
    ip: str | None = None


class MapEdge(Schema):
    """Traffic from a client to a server."""

    source: str
    target: str
    bytes: int
    services: list[str]


class NetworkMap(Schema):
    """The observed flows as a graph (for Cytoscape.js)."""

    nodes: list[MapNode]
    edges: list[MapEdge]
    flows_shown: int


class Job(Schema):
    """A background job and its progress."""

    id: int
    kind: str
    status: str = Field(description="queued, running, succeeded, failed or cancelled")
    progress: float
    message: str | None
    file: str | None
    result: dict[str, Any] | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = Field(description="runs started so far (a queued job is retried after a transient failure)")
    error: str | None = Field(description="the last failure, also when a later attempt succeeded")
    cancel_requested: bool = Field(description="someone asked the job to stop; it ends cancelled")


class JobPage(Schema):
    """The newest jobs."""

    items: list[Job]
    total: int


class AuditEntry(Schema):
    """One entry of the audit trail."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    outcome: str
    detail: Any
    address: str | None


class AuditPage(Schema):
    """Audit entries, newest first; follow ``next_before`` for older ones."""

    items: list[AuditEntry]
    total: int
    next_before: int | None


class Card(Schema):
    """A headline figure."""

    label: str
    value: int
    tone: str
    href: str | None
    note: str


class Dashboard(Schema):
    """A role's dashboard."""

    name: str
    title: str
    cards: list[Card]
    bars: dict[str, list[dict[str, Any]]]
    rows: dict[str, list[dict[str, Any]]]
    later: str = ""
    """What a capability still to come will add here (empty when nothing is pending)."""
