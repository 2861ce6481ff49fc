"""The incident pages of the web UI (issue 9): ``/incidents`` (the playbooks, a run with its parameters, the
incidents) and ``/incidents/{id}`` (one incident: its checklist, what was done by whom, the devices at opening).

A run is rendered here from :func:`wardwatch.services.playbooks.run_playbook` (``/incidents?run=NAME&seed=...``:
a GET form, changes nothing).  ``static/js/incidents.js`` sends the writes to ``/api/incidents``: opening an
incident from the run shown, recording an action on a step, closing.  A clinician sees their unit's devices only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from wardwatch.domain.permissions import Permission, Principal, allows, require
from wardwatch.services import incidents
from wardwatch.services.playbooks import list_playbooks, run_playbook
from wardwatch.web.routes import _engine, _page, _render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_PARAMETER_LABELS = {
    "seed": ("Start from (zone, device or IP)", "every vulnerable host"),
    "manufacturer": ("Manufacturer", "every vendor"),
    "recall": ("Recall number", "every open recall"),
}


def _settings(request: Request) -> Any:
    return request.app.state.settings


@router.get("/incidents")
def incidents_page(request: Request) -> Response:
    """The playbooks (cards with a run form), the run asked for, and the incidents."""

    def build(principal: Principal) -> HTMLResponse:
        require(principal, Permission.INCIDENTS_READ)
        engine = _engine(request)
        settings = _settings(request)
        query = request.query_params
        books = list_playbooks(settings)
        names = [b["name"] for b in books]
        name = query.get("run") or ""
        report = None
        error = None
        parameters: dict[str, str] = {}
        if name in names:
            book = next(b for b in books if b["name"] == name)
            parameters = {p: (query.get(p) or "").strip() for p in book["parameters"] if (query.get(p) or "").strip()}
            try:
                report = run_playbook(
                    engine,
                    principal,
                    name,
                    settings=settings,
                    seed=parameters.get("seed"),
                    manufacturer=parameters.get("manufacturer"),
                    recall=parameters.get("recall"),
                )
            except (LookupError, ValueError) as e:
                error = str(e).strip("'\"")
        status = query.get("status") or None
        status = status if status in incidents.STATUSES else None
        listed = incidents.list_incidents(engine, principal, status=status)
        return _render(
            request, "incidents.html", user=principal, title="Incidents", books=books, running=name, report=report,
            error=error, parameters=parameters, labels=_PARAMETER_LABELS, incidents=listed, shown_status=status,
            statuses=incidents.STATUSES, may_write=allows(principal, Permission.INCIDENTS_WRITE),
        )  # fmt: skip

    return _page(request, build)


@router.get("/incidents/{incident_id}")
def incident_page(request: Request, incident_id: str) -> Response:
    """One incident: checklist with who did what, the action log, the devices affected at opening."""

    def build(principal: Principal) -> HTMLResponse:
        require(principal, Permission.INCIDENTS_READ)
        if not incident_id.isdigit() or not 1 <= int(incident_id) < 2**31:
            raise LookupError(f"no incident {incident_id!r}")
        record = incidents.get_incident(_engine(request), principal, int(incident_id))
        may_write = allows(principal, Permission.INCIDENTS_WRITE) and record["status"] != "closed"
        return _render(request, "incident.html", user=principal, title=f"Incident {record['id']}", incident=record,
                       report=record["snapshot"], may_write=may_write)  # fmt: skip

    return _page(request, build)
