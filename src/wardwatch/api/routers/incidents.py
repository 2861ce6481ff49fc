"""``/api/incidents``: incident playbooks run on live data, and the incident records opened from them (issue 9).

Every route calls :mod:`wardwatch.services.playbooks` or :mod:`wardwatch.services.incidents`, which check the
permission again.  Listing and running a playbook (a run changes nothing) and reading incidents need
``incidents:read``; opening an incident, recording an action and closing one need ``incidents:write`` and are
written to the audit trail.  A clinician sees the affected devices of their own unit only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from wardwatch.api.deps import EngineDep, SettingsDep, allow, client_address
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services import incidents as service
from wardwatch.services.playbooks import list_playbooks, run_playbook

__all__ = ["ActionIn", "CloseIn", "OpenIn", "RunIn", "router"]

router = APIRouter(prefix="/api/incidents", tags=["incidents"])
Reader = Annotated[Principal, Depends(allow(Permission.INCIDENTS_READ))]
Writer = Annotated[Principal, Depends(allow(Permission.INCIDENTS_WRITE))]
IncidentId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="The incident's id.")]
PlaybookName = Annotated[str, PathParam(max_length=40, description="wannacry, vendor-account or recall.")]
_Text = Annotated[str | None, Field(default=None, max_length=200)]


class RunIn(BaseModel):
    """The parameters of a playbook run (each playbook takes one; all are optional)."""

    model_config = ConfigDict(extra="forbid")
    seed: _Text = None
    """wannacry: where the worm starts (zone, device, IP address); default every vulnerable host."""
    manufacturer: _Text = None
    """vendor-account: only this manufacturer's devices."""
    recall: _Text = None
    """recall: one recall number; default every open recall."""


class OpenIn(RunIn):
    """Open an incident from a playbook run."""

    playbook: str = Field(max_length=40, description="wannacry, vendor-account or recall.")
    title: str | None = Field(default=None, max_length=300)
    severity: Literal["critical", "high", "medium", "low"] | None = None


class ActionIn(BaseModel):
    """What was done for one step."""

    model_config = ConfigDict(extra="forbid")
    step: str = Field(min_length=1, max_length=200, description="A playbook or isolation step id, or free text.")
    note: str = Field(default="", max_length=4000)
    done: bool = False
    contained: bool = Field(default=False, description="The incident is contained now.")


class CloseIn(BaseModel):
    """Why the incident is closed."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=4000)


@router.get("/playbooks", summary="The incident playbooks")
def get_playbooks(settings: SettingsDep, principal: Reader) -> list[dict[str, Any]]:
    """Name, title, when to use it, its number of steps and the parameters it takes."""
    return list_playbooks(settings)


@router.post("/playbooks/{name}/run", summary="Run a playbook on the live data (changes nothing)")
def post_run(
    name: PlaybookName, engine: EngineDep, settings: SettingsDep, principal: Reader, body: RunIn | None = None
) -> dict[str, Any]:
    """The affected devices with why, counts by unit and clinical category, isolation steps, the playbook's steps,
    downtime procedures for the categories affected, and contacts."""
    given = body or RunIn()
    return run_playbook(engine, principal, name, seed=given.seed, manufacturer=given.manufacturer,
                        recall=given.recall, settings=settings)  # fmt: skip


@router.post("", status_code=201, summary="Open an incident from a playbook run")
def post_incident(
    request: Request, engine: EngineDep, settings: SettingsDep, principal: Writer, body: OpenIn
) -> dict[str, Any]:
    """Run the playbook and keep the run as the incident's snapshot; audited."""
    return service.open_incident(
        engine, principal, body.playbook, seed=body.seed, manufacturer=body.manufacturer, recall=body.recall,
        title=body.title, severity=body.severity, settings=settings, address=client_address(request),
    )  # fmt: skip


@router.get("", summary="The incidents, newest first")
def get_incidents(
    engine: EngineDep,
    principal: Reader,
    status: Annotated[Literal["open", "contained", "closed"] | None, Query(description="Only these.")] = None,
) -> list[dict[str, Any]]:
    """Each with its status, severity, who opened it when, and how many actions were recorded."""
    return service.list_incidents(engine, principal, status=status)


@router.get("/{incident_id}", summary="One incident")
def get_incident(incident_id: IncidentId, engine: EngineDep, principal: Reader) -> dict[str, Any]:
    """Its snapshot at opening, the checklist (steps and isolation, each with its newest action) and every action."""
    return service.get_incident(engine, principal, incident_id)


@router.post("/{incident_id}/actions", summary="Record what was done")
def post_action(
    incident_id: IncidentId, request: Request, engine: EngineDep, principal: Writer, body: ActionIn
) -> dict[str, Any]:
    """One action on a step (done or not, with a note); ``contained`` marks the incident contained.  Audited."""
    return service.log_action(engine, principal, incident_id, body.step, body.note, done=body.done,
                              contained=body.contained, address=client_address(request))  # fmt: skip


@router.post("/{incident_id}/close", summary="Close an incident")
def post_close(
    incident_id: IncidentId, request: Request, engine: EngineDep, principal: Writer, body: CloseIn | None = None
) -> dict[str, Any]:
    """Closed incidents take no more actions.  Audited."""
    note = body.note if body is not None else ""
    return service.close_incident(engine, principal, incident_id, note=note, address=client_address(request))
