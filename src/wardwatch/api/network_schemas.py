"""Response models of ``/api/network`` (the documents of :mod:`wardwatch.services.network_analysis`, described).

Kept apart from :mod:`wardwatch.api.schemas` because they are many and belong to one capability.  Keys that are
Python keywords in the documents (``from``) are fields with an alias.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AclBinding",
    "AttackPathOut",
    "BlastRadiusOut",
    "CheckOut",
    "NetworkImportOut",
    "NetworkModelOut",
    "PathsOut",
    "RecommendOut",
    "SimulateOut",
]


class _Aliased(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class NetworkFile(BaseModel):
    """One stored file of the model, in evaluation order."""

    position: int
    file: str
    kind: str = Field(description="yaml, iptables or cisco.")
    sha256: str
    imported_at: datetime | None = None


class NetworkZone(BaseModel):
    """A zone of the model."""

    name: str
    kind: str
    subnets: list[str]
    vlans: list[int]
    site: str | None = None
    entry_point: bool
    description: str = ""


class AclBinding(BaseModel):
    """An ACL bound to one interface of a device in one direction: it filters only the traffic through there."""

    name: str = Field(description="The enforcement point: device, interface and direction.")
    device: str
    interface: str
    direction: str = Field(description="in or out")
    acl: str
    entries: int = Field(description="Rules of the ACL at this binding.")
    origin: str = Field(description="Where the binding is written (file:line).")


class NetworkModelOut(BaseModel):
    """The stored network model: its files, zones and rule count."""

    files: list[NetworkFile]
    zones: list[NetworkZone]
    rules: int
    conduits: int
    default_action: str
    intra_zone: str
    bindings: list[AclBinding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="What the readers skipped or approximated.")


class NetworkImportOut(BaseModel):
    """What an import did."""

    files: list[NetworkFile]
    zones: int
    rules: int
    default_action: str
    changed: bool = Field(description="False when the same files in the same order were already the model.")
    bindings: int = Field(0, description="ACLs bound to an interface and direction.")
    devices: int = Field(0, description="Devices whose bindings are placed by their routes.")
    notes: list[str] = Field(default_factory=list, description="What the readers skipped or approximated.")


class Violation(BaseModel):
    """A placement or conformance violation."""

    kind: str = Field(description="unplaced, misplaced, flow-not-allowed, over-broad-rule, unused-rule, …")
    severity: str
    subject: str
    detail: str
    evidence: dict[str, Any]


class CheckOut(BaseModel):
    """Placement and conformance violations, with counts."""

    violations: list[Violation]
    by_kind: dict[str, int]
    by_severity: dict[str, int]
    zones: int
    rules: int
    hosts: int
    flows: int


class NetHost(BaseModel):
    """A host as the analyses name it; ``zone`` is the model's zone of its address."""

    address: str | None
    device_id: int | None = None
    name: str | None = None
    device_type: str | None = None
    criticality: str | None = None
    unit: str | None = None
    zone: str | None = None


class ExploitOut(BaseModel):
    """The exploit a hop uses."""

    id: str
    name: str
    maturity: str
    likelihood: float


class HopOut(_Aliased):
    """One hop of an attack path."""

    from_: str = Field(alias="from")
    to: str
    to_host: NetHost | None = None
    service: str
    exploit: ExploitOut
    evidence: str
    explanation: str


class AttackPathOut(BaseModel):
    """An attack path from an entry zone to a target host, hop by hop."""

    entry: str
    target: NetHost
    likelihood: float
    impact: float
    score: float
    hops: list[HopOut]
    explanation: list[str]


class PathsOut(_Aliased):
    """Attack paths, best first (likelihood × impact)."""

    paths: list[AttackPathOut]
    total: int
    top: int
    from_: list[str] | None = Field(None, alias="from")
    to: str | None = None


class SpreadStep(BaseModel):
    """The hosts that fell at one step."""

    step: int
    minutes: float
    cumulative: int
    infected: list[NetHost]


class GroupCount(BaseModel):
    """Hosts of one zone, unit or criticality and how many fell."""

    zone: str | None = None
    unit: str | None = None
    criticality: str | None = None
    hosts: int
    vulnerable: int | None = None
    infected: int


class FunctionStopped(BaseModel):
    """A clinical function with devices down."""

    function: str
    devices: int
    infected: int
    fraction: float
    first_step: int | None = None
    first_minutes: float | None = None


class BlastRadiusOut(BaseModel):
    """A WannaCry-style spread step by step."""

    seed: str
    seed_addresses: list[str]
    parameters: dict[str, Any]
    mitigation: dict[str, bool]
    vulnerable: int
    infected: int
    saturated: bool
    steps: list[SpreadStep]
    by_zone: list[GroupCount]
    by_unit: list[GroupCount]
    by_criticality: list[GroupCount]
    functions_stopped: list[FunctionStopped]


class RuleChange(BaseModel):
    """One recommended rule change."""

    action: str
    rule: str | None = None
    origin: str | None = None
    reason: str
    paths_cut_weight: float


class RecommendOut(BaseModel):
    """The min-cut rule changes and the size of the baseline allow-list."""

    paths_considered: int
    changes: list[RuleChange]
    weight_before: float
    weight_cut: float
    uncuttable: list[str]
    baseline_rules: int


class ChangedFlowOut(BaseModel):
    """An observed service a proposed policy would break or newly allow."""

    client: str
    server: str
    protocol: str
    port: int | None = None
    application: str | None = None
    from_zone: str | None = None
    to_zone: str | None = None
    flows: int
    packets: int
    clinical: str | None = Field(None, description="The clinical function of the flow (e.g. HL7 results), if any.")
    rule_now: str | None = None
    rule_proposed: str | None = None


class ZonePairOut(_Aliased):
    """Changes between two zones."""

    from_: str | None = Field(None, alias="from")
    to: str | None = None
    broken: int
    broken_clinical: int
    newly_allowed: int


class SimulateOut(BaseModel):
    """A proposed policy replayed against the observed baseline."""

    broken: list[ChangedFlowOut]
    broken_clinical: int
    newly_allowed: list[ChangedFlowOut]
    zone_pairs: list[ZonePairOut]
    paths_before: int | None = None
    paths_after: int | None = None
    paths_cut: int | None = None
    skipped: int = Field(0, description="Aggregated flows skipped for an unreadable address.")
