"""``/api/alarms``: clinical alarm assurance -- the alarm topology (read, import), verification runs, the
clinicians' versioned delivery budgets (propose, approve) and the monitoring of observed deliveries.

Every route calls :mod:`wardwatch.services.alarms`, which checks the permission again and writes the audit trail.
Reading needs ``alarms:read``; importing a topology or delivery records and running a verification need
``alarms:write``; proposing and approving budgets need ``alarms:budget`` (clinicians: their own unit only).
Without an imported topology the topology and verification routes answer 404 "no alarm topology yet".

Uploads are saved under ``<home>/uploads`` for the import and removed after it; a refused file is named by the
name it was uploaded with, never by the server's path.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy import Engine

from wardwatch.api.alarm_schemas import (
    AlarmTopologyImportOut,
    AlarmTopologyOut,
    BudgetIn,
    BudgetOut,
    DeliveriesImportOut,
    MonitoringOut,
    VerificationOut,
)
from wardwatch.api.deps import EngineDep, SettingsDep, allow, client_address
from wardwatch.api.routers.reports import REPORT_CSP
from wardwatch.domain.alarm_model import AlarmTopology, Budget, Latency
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.ingest.errors import IngestError
from wardwatch.services import alarm_evidence, alarms, audit
from wardwatch.services.jobs import save_upload
from wardwatch.settings import Settings

__all__ = ["RECIPIENT_KINDS", "BudgetConflict", "NoAlarmTopology", "NoVerification", "router", "topology_document"]

router = APIRouter(prefix="/api/alarms", tags=["alarms"])
Reader = Annotated[Principal, Depends(allow(Permission.ALARMS_READ))]
Writer = Annotated[Principal, Depends(allow(Permission.ALARMS_WRITE))]
Budgeter = Annotated[Principal, Depends(allow(Permission.ALARMS_BUDGET))]

#: Largest accepted topology (as the service) and delivery log upload, and most delivery files per upload.
MAX_TOPOLOGY_BYTES = 16 * 1024**2
MAX_DELIVERY_BYTES = 512 * 1024**2
MAX_FILES = 20

#: Node kinds a budget may name as recipients.
RECIPIENT_KINDS = ("phone", "pager", "central-station")
_NO_FILES = "no files uploaded: send one or more delivery logs in the multipart field `files`"


class NoAlarmTopology(LookupError):
    """No alarm topology was imported yet."""

    def __init__(self) -> None:
        super().__init__("no alarm topology yet: import one (POST /api/alarms/topology or `wardwatch alarms import`)")


class NoVerification(LookupError):
    """No verification was run yet."""

    def __init__(self) -> None:
        super().__init__("no verification yet: run one (POST /api/alarms/verification or `wardwatch alarms verify`)")


class BudgetConflict(HTTPException):
    """The budget is not a draft any more (409)."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=409, detail=detail)


def _renamed(error: IngestError, saved: dict[str, str]) -> IngestError:
    """The same error naming the uploaded file by its upload name instead of the server's path."""
    name = saved.get(error.path, Path(error.path).name)
    return IngestError(name, error.message, row=error.row, column=error.column, tip=error.tip)


@contextmanager
def _saved(settings: Settings, uploads: list[UploadFile], *, limit: int, default: str) -> Iterator[list[Path]]:
    """The uploaded files saved under ``<home>/uploads`` (one folder each), removed after; ingest errors renamed."""
    if not uploads:
        raise ValueError(_NO_FILES)
    if len(uploads) > MAX_FILES:
        raise ValueError(f"{len(uploads)} files uploaded; send at most {MAX_FILES} at a time")
    paths: list[Path] = []
    names: dict[str, str] = {}
    try:
        for upload in uploads:  # one at a time: each saved path must be known to the cleanup below
            name = Path(upload.filename or default).name or default
            path = save_upload(settings, name, upload.file, limit=limit)
            paths.append(path)
            names[str(path)] = name
        try:
            yield paths
        except IngestError as e:
            raise _renamed(e, names) from None
    finally:
        for path in paths:
            shutil.rmtree(path.parent, ignore_errors=True)


def _audit_refusal(
    engine: Engine, principal: Principal, request: Request, action: str, files: list[UploadFile], error: Exception
) -> None:
    names = ", ".join(f.filename or "?" for f in files)[:300]
    audit.record_now(engine, principal.username, action, target=names, outcome="failure",
                     detail={"error": str(error)[:500]}, address=client_address(request))  # fmt: skip


def _current(engine: Engine) -> tuple[int, AlarmTopology]:
    current = alarms.current_topology(engine)
    if current is None:
        raise NoAlarmTopology
    return current


def topology_document(version: int, topology: AlarmTopology) -> dict[str, Any]:
    """The topology as the drawing needs it (the ``GET /api/alarms/topology`` document)."""

    def latency(value: Latency) -> dict[str, float]:
        return {"min_s": value.min_s, "typical_s": value.typical_s, "max_s": value.max_s}

    return {
        "version": version,
        "name": topology.name,
        "nodes": [
            {"id": n.id, "kind": n.kind, "name": n.name, "label": n.label, "unit": n.unit, "site": n.site,
             "processing": latency(n.processing), "failable": n.failable,
             "failover": {"detection_s": n.failover.detection_s, "retry_s": n.failover.retry_s}}
            for n in topology.nodes
        ],
        "links": [
            {"id": x.id, "a": x.a, "b": x.b, "medium": x.medium.value, "latency": latency(x.latency),
             "capacity_mbps": x.capacity_mbps, "bidirectional": x.bidirectional}
            for x in topology.links
        ],
        "groups": [
            {"id": g.id, "kind": g.kind, "description": g.description, "members": sorted(g.members)}
            for g in topology.groups
        ],
        "sources": [
            {"node": s.node, "unit": s.unit, "device_kind": s.device_kind, "alarm_types": list(s.alarm_types),
             "devices": s.devices}
            for s in topology.sources
        ],
        "units": list(topology.units()),
        "recipients": [n.id for n in topology.nodes if n.kind in RECIPIENT_KINDS],
    }  # fmt: skip


# -- topology ---------------------------------------------------------------------------------------------------


@router.get("/topology", response_model=AlarmTopologyOut, summary="The current alarm topology")
def get_topology(
    engine: EngineDep,
    principal: Reader,
    unit: Annotated[
        str | None, Query(max_length=200, description="Only what this unit's alarms travel through.")
    ] = None,
) -> AlarmTopologyOut:
    """Nodes (with kind, unit and label), links, shared-risk groups and alarm sources of the latest import.

    With ``unit`` (always, for a clinician: their own) only the unit's nodes, their neighbours and the nodes its
    alarms' routes of the newest verification pass through (nothing failed and worst case) are kept, with the links
    among them."""
    version, topology = _current(engine)
    if principal.unit_scoped:
        unit = principal.unit or ""
    if unit:
        report = alarms.latest_verification(engine, principal, unit=unit)
        if report is not None and report["results"]:
            own = {n.id for n in topology.nodes if n.unit == unit}
            keep = own | {x.b for x in topology.links if x.a in own} | {x.a for x in topology.links if x.b in own}
            for result in report["results"]:
                for route in (result["nominal_route"], result["route"]):
                    if route:
                        keep.update(route["nodes"])
            topology = _restricted(topology, keep)
    return AlarmTopologyOut.model_validate(topology_document(version, topology))


def _restricted(topology: AlarmTopology, keep: set[str]) -> AlarmTopology:
    """The part of ``topology`` made of the ``keep`` nodes (links between two of them; groups' members in it)."""
    links = tuple(x for x in topology.links if x.a in keep and x.b in keep)
    kept = keep | {x.id for x in links}
    groups = tuple(replace(g, members=g.members & kept) for g in topology.groups if g.members & kept)
    return AlarmTopology(
        nodes=tuple(n for n in topology.nodes if n.id in keep), links=links, groups=groups,
        sources=tuple(s for s in topology.sources if s.node in keep), name=topology.name,
    )  # fmt: skip


@router.post("/topology", response_model=AlarmTopologyImportOut, summary="Import an alarm topology (YAML)")
def post_topology(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: Writer,
    file: Annotated[UploadFile, File(description="The alarm topology YAML (docs/alarms.md).")],
) -> AlarmTopologyImportOut:
    """Check the file and store it as the current topology (a new version unless it is the current one already);
    budgets it carries are taken only for keys that have none yet.  Audited (also when the file is refused)."""
    try:
        with _saved(settings, [file], limit=MAX_TOPOLOGY_BYTES, default="topology.yaml") as paths:
            report = alarms.import_topology(engine, paths[0], principal)
    except (IngestError, ValueError) as e:
        _audit_refusal(engine, principal, request, "alarms.topology.import", [file], e)
        raise
    return AlarmTopologyImportOut.model_validate(report)


# -- verification -----------------------------------------------------------------------------------------------


@router.get("/verification", response_model=VerificationOut, summary="The latest verification report")
def get_verification(
    engine: EngineDep,
    principal: Reader,
    unit: Annotated[str | None, Query(max_length=200, description="Only this unit's results.")] = None,
) -> VerificationOut:
    """Every flow's worst case after up to k failures, failing first; single points of failure and recommended
    additions.  A clinician gets their unit's results."""
    report = alarms.latest_verification(engine, principal, unit=unit or None)
    if report is None:
        raise NoVerification
    return VerificationOut.model_validate(report)


@router.post("/verification", response_model=VerificationOut, summary="Verify the current topology now")
def post_verification(
    engine: EngineDep,
    principal: Writer,
    k: Annotated[int, Query(ge=0, le=3, description="Failures to survive (nodes, links or shared-risk groups).")] = 1,
) -> VerificationOut:
    """Run the verification with the budgets in force and store the report (the V&V evidence)."""
    _current(engine)
    return VerificationOut.model_validate(alarms.verify(engine, principal, k))


# -- budgets ----------------------------------------------------------------------------------------------------


def _budget_refused(error: alarms.BudgetError) -> Exception | None:
    """A budget error as its status: an unknown id 404 (``None``: raise it as it is), a budget that is no longer a
    draft (or a version proposed at the same moment) 409, bad content (no recipient, an unknown recipient, escalation
    without a delay) 422."""
    message = str(error).strip("'\"")
    if isinstance(error, alarms.BudgetNotFound):
        return None
    if isinstance(error, alarms.BudgetConflict):
        return BudgetConflict(message)
    return ValueError(message)


@router.get("/budgets", response_model=list[BudgetOut], summary="Alarm delivery budgets")
def get_budgets(
    engine: EngineDep,
    principal: Reader,
    unit: Annotated[str | None, Query(max_length=200, description='This unit (and "*" budgets) only.')] = None,
    history: Annotated[bool, Query(description="Every version, superseded and withdrawn ones included.")] = False,
) -> list[BudgetOut]:
    """Drafts and budgets in force (newest version first per key), who approved each and when; a clinician sees
    their unit's."""
    rows = alarms.list_budgets(engine, principal, unit=unit or None, history=history)
    return [BudgetOut.model_validate(r) for r in rows]


@router.post("/budgets", response_model=BudgetOut, status_code=201, summary="Propose a budget (a draft)")
def post_budget(body: BudgetIn, engine: EngineDep, principal: Budgeter) -> BudgetOut:
    """Add a draft version of the unit, alarm type and priority (a draft before it is withdrawn); it is in force
    only once approved.  Recipients must be nodes of the current topology.  Audited."""
    budget = Budget(
        unit=body.unit, alarm_type=body.alarm_type, priority=body.priority,
        max_delivery_s=body.max_delivery_s, primary=tuple(body.primary), escalation=tuple(body.escalation),
        escalate_after_s=body.escalate_after_s, confirmed=body.confirmed,
        heartbeat_interval_s=body.heartbeat_interval_s, heartbeat_misses=body.heartbeat_misses,
        rationale=body.rationale,
    )  # fmt: skip
    try:
        return BudgetOut.model_validate(alarms.propose_budget(engine, principal, budget))
    except alarms.BudgetError as e:
        refused = _budget_refused(e)
        if refused is None:
            raise
        raise refused from e


@router.post("/budgets/{budget_id}/approve", response_model=BudgetOut, summary="Approve a draft budget")
def approve_budget(
    budget_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)], engine: EngineDep, principal: Budgeter
) -> BudgetOut:
    """Put the draft in force (the approver is the caller; the version in force before is superseded) and
    re-verify the topology with it.  Audited."""
    try:
        return BudgetOut.model_validate(alarms.approve_budget(engine, principal, budget_id))
    except alarms.BudgetError as e:
        refused = _budget_refused(e)
        if refused is None:
            raise
        raise refused from e


# -- monitoring -------------------------------------------------------------------------------------------------


@router.get("/monitoring", response_model=MonitoringOut, summary="Observed deliveries against the budgets")
def get_monitoring(
    engine: EngineDep,
    principal: Reader,
    unit: Annotated[str | None, Query(max_length=200, description="Only this unit's deliveries.")] = None,
    days: Annotated[int, Query(ge=1, le=3660, description="The window, ending at the newest record.")] = 7,
) -> MonitoringOut:
    """Per path and priority: count, lost, late, p50/p95/p99 against the budget; breaches, heartbeat silences and
    alerts.  A clinician gets their unit's."""
    return MonitoringOut.model_validate(alarms.monitoring(engine, principal, unit=unit or None, days=days))


@router.get(
    "/evidence",
    summary="A unit's verification & validation record (IEC 80001-1)",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def get_evidence(
    engine: EngineDep,
    principal: Reader,
    unit: Annotated[str, Query(min_length=1, max_length=200, description="The clinical unit.")],
    fmt: Annotated[Literal["html", "pdf"], Query(alias="format")] = "pdf",
    days: Annotated[int, Query(ge=1, le=3660, description="Monitoring window, ending at the newest record.")] = 30,
) -> Response:
    """The unit's V&V record for the risk-management file: budgets and approvals, the topology version verified,
    every result, single points of failure, recommendations and the monitoring summary.  A clinician may ask only
    for their own unit.  PDF comes as a download; HTML is shown in the browser."""
    body = alarm_evidence.evidence(engine, principal, unit, fmt=fmt, days=days)
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in unit)[:60]
    disposition = "attachment" if fmt == "pdf" else "inline"
    headers = {"Content-Disposition": f'{disposition}; filename="wardwatch-alarm-evidence-{safe}.{fmt}"',
               "Content-Security-Policy": REPORT_CSP}  # fmt: skip
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    return Response(body, media_type=media, headers=headers)


@router.post("/deliveries", response_model=DeliveriesImportOut, summary="Import delivery records")
def post_deliveries(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: Writer,
    files: Annotated[list[UploadFile], File(description="Delivery logs: CSV, JSON lines or syslog (gzip too).")],
) -> DeliveriesImportOut:
    """Read every file (a bad row refuses the whole upload, naming the file and row), then store the records not
    stored before.  Audited (also when a file is refused)."""
    try:
        with _saved(settings, files, limit=MAX_DELIVERY_BYTES, default="deliveries.csv") as paths:
            report = alarms.import_deliveries(engine, principal, paths)
    except (IngestError, ValueError) as e:
        _audit_refusal(engine, principal, request, "alarms.deliveries.import", files, e)
        raise
    report["files"] = [Path(f.filename or "deliveries.csv").name for f in files]
    return DeliveriesImportOut.model_validate(report)
