"""``/api/reports/{board,audit}`` (JSON, HTML or PDF), ``/api/reports/schedules`` (scheduled delivery) and
``/api/exports/{devices,findings}`` (CSV, JSON, XLSX).

Schedules: listing needs ``reports:read`` (audit-report schedules also ``audit:read``); creating, disabling and
deleting need ``users:admin`` plus the report's own permissions (see ``services.report_schedules``).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from pydantic import Field
from starlette.background import BackgroundTask

from wardwatch.api.deps import CurrentUser, EngineDep, SettingsDep, allow, client_address
from wardwatch.api.schemas import Schema
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.services import report_schedules
from wardwatch.services.export_data import export_rows
from wardwatch.services.exports import write_export
from wardwatch.services.report_render import render
from wardwatch.services.reports import build_report, json_ready

router = APIRouter(tags=["reports"])

#: The HTML report is one self-contained document: inline CSS, charts as data: images, no script at all.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
_EXPORT_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M")


ScheduleReader = Annotated[Principal, Depends(allow(Permission.REPORTS_READ))]
Scheduler = Annotated[Principal, Depends(allow(Permission.USERS_ADMIN))]
ScheduleId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="The schedule's id.")]


class ScheduleIn(Schema):
    """A report delivered on a cadence (UTC) to e-mail recipients and/or a folder under the Wardwatch home."""

    report: Literal["board", "audit"]
    format: Literal["pdf", "html"] = "pdf"
    cadence: Literal["daily", "weekly", "monthly"]
    at_hour: int = Field(ge=0, le=23, description="The hour (UTC) it runs at.")
    weekday: int | None = Field(default=None, ge=0, le=6, description="Weekly: 0 Monday … 6 Sunday.")
    day: int | None = Field(default=None, ge=1, le=28, description="Monthly: the day of the month.")
    recipients: list[Annotated[str, Field(max_length=254)]] = Field(default_factory=list, max_length=50)
    folder: str | None = Field(default=None, max_length=500, description="A folder under the Wardwatch home.")


class ScheduleOut(Schema):
    """A report schedule and how its newest run went."""

    id: int
    report: str
    format: str
    cadence: str
    at_hour: int
    weekday: int | None
    day: int | None
    when: str = Field(description="The cadence in words.")
    recipients: list[str]
    folder: str | None = Field(description="Relative to the Wardwatch home.")
    created_by: str
    created_at: datetime
    last_run_at: datetime | None
    next_run_at: datetime
    last_status: str | None = Field(description="delivered or failed; null before the first run.")
    last_error: str | None
    enabled: bool


@router.get("/api/reports/schedules", response_model=list[ScheduleOut], summary="Scheduled report deliveries")
def get_schedules(engine: EngineDep, principal: ScheduleReader) -> list[dict[str, Any]]:
    """Every schedule of a report the caller may read, with its next run and how its newest run went."""
    return report_schedules.list_schedules(engine, principal)


@router.post(
    "/api/reports/schedules", response_model=ScheduleOut, status_code=201, summary="Schedule a report's delivery"
)
def post_schedule(
    request: Request, engine: EngineDep, settings: SettingsDep, principal: Scheduler, body: ScheduleIn
) -> dict[str, Any]:
    """Deliver the report on a cadence by e-mail (the report attached) and/or into a folder; audited."""
    return report_schedules.create_schedule(
        engine, settings, principal, report=body.report, fmt=body.format, cadence=body.cadence,
        at_hour=body.at_hour, weekday=body.weekday, day=body.day, recipients=body.recipients, folder=body.folder,
        address=client_address(request),
    )  # fmt: skip


@router.post(
    "/api/reports/schedules/{schedule_id}/disable", response_model=ScheduleOut, summary="Stop a schedule (kept)"
)
def post_disable_schedule(
    schedule_id: ScheduleId, request: Request, engine: EngineDep, principal: Scheduler
) -> dict[str, Any]:
    """The schedule delivers nothing more; it stays listed with its history.  Audited."""
    return report_schedules.disable_schedule(engine, principal, schedule_id, address=client_address(request))


@router.delete(
    "/api/reports/schedules/{schedule_id}", status_code=204, response_class=Response, summary="Delete a schedule"
)
def delete_schedule(schedule_id: ScheduleId, request: Request, engine: EngineDep, principal: Scheduler) -> Response:
    """Remove the schedule.  Audited."""
    report_schedules.delete_schedule(engine, principal, schedule_id, address=client_address(request))
    return Response(status_code=204)


@router.get(
    "/api/reports/{name}",
    summary="The board or audit report",
    responses={200: {"content": {"application/json": {}, "text/html": {}, "application/pdf": {}}}},
)
def get_report(
    name: Literal["board", "audit"],
    engine: EngineDep,
    principal: CurrentUser,
    fmt: Annotated[Literal["json", "html", "pdf"], Query(alias="format")] = "json",
) -> Any:
    """The board report (``reports:read``) or the audit report (``audit:read``): figures as JSON, or the document.

    PDF comes as a download (``Content-Disposition: attachment``); HTML is shown in the browser.
    """
    report = build_report(engine, principal, name)
    if fmt == "json":
        return json_ready(report)
    body = render(report, fmt)
    filename = f"wardwatch-{name}-report-{_stamp()}.{fmt}"
    disposition = "attachment" if fmt == "pdf" else "inline"
    headers = {"Content-Disposition": f'{disposition}; filename="{filename}"', "Content-Security-Policy": REPORT_CSP}
    return Response(body, media_type=_MEDIA[fmt], headers=headers)


@router.get(
    "/api/exports/{what}",
    summary="Export devices or findings",
    response_class=Response,
    responses={200: {"content": {media: {} for media in _EXPORT_MEDIA.values()}}},
)
def get_export(
    what: Literal["devices", "findings"],
    engine: EngineDep,
    principal: CurrentUser,
    fmt: Annotated[Literal["csv", "json", "xlsx"], Query(alias="format")] = "csv",
) -> Response:
    """Every device (``devices:read``) or every open vulnerability finding (``findings:read``) the caller may
    read, as a CSV, JSON or XLSX download (cells that a spreadsheet would run as formulas are quoted)."""
    columns, rows = export_rows(engine, principal, what)
    folder = Path(tempfile.mkdtemp(prefix="wardwatch-export-"))
    path = folder / f"wardwatch-{what}-{_stamp()}.{fmt}"

    def cleanup() -> None:
        path.unlink(missing_ok=True)
        folder.rmdir()

    try:
        write_export(rows, path, fmt, columns)
    except BaseException:
        cleanup()
        raise
    return FileResponse(path, media_type=_EXPORT_MEDIA[fmt], filename=path.name, background=BackgroundTask(cleanup))
