"""``/api/reports/{board,audit}`` (JSON, HTML or PDF) and ``/api/exports/{devices,findings}`` (CSV, JSON, XLSX)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from wardwatch.api.deps import CurrentUser, EngineDep
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
