"""``wardwatch report board|audit --out FILE.pdf|FILE.html``: the board and audit reports; and
``wardwatch report schedule add|list|disable|delete|run-due``: their scheduled delivery (e-mail and/or a folder).

``run-due`` delivers what is due now (for cron where no ``wardwatch serve`` runs; a running server does it every
minute by itself) and exits 1 when a delivery failed (it is retried at the next run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from wardwatch.cli._context import EXIT_FINDINGS, UsageError, engine, run, run_checked, settings, stdout
from wardwatch.cli._output import print_json, print_table
from wardwatch.domain.permissions import SYSTEM, PermissionDenied

app = typer.Typer(
    help="The board and audit reports as PDF or HTML, and their scheduled delivery.", no_args_is_help=True
)
schedule_app = typer.Typer(help="Deliver a report on a cadence by e-mail and/or into a folder.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")

# The report services import matplotlib and WeasyPrint (~0.6 s): loaded by the command, not by every CLI start.


def _checked(out: Path) -> Path:
    from wardwatch.services.report_render import ReportError, format_for  # noqa: PLC0415

    try:
        format_for(out)
    except ReportError as e:
        raise UsageError(str(e)) from None
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: the folder {out.parent} does not exist; create it or choose another path")
    return out


def _write(report: dict[str, object], out: Path) -> int:
    from wardwatch.services.report_render import ReportError, write_report  # noqa: PLC0415

    try:
        return write_report(report, out)
    except ReportError as e:
        raise UsageError(str(e)) from None


_OUT = typer.Option(None, "--out", "-o", help="File to write: .pdf or .html.")
_JSON = typer.Option(False, "--json", help="Print the report's figures as JSON (with --out: a summary).")


@app.command("board")
def board(out: Path | None = _OUT, as_json: bool = _JSON) -> None:
    """Write the board report (posture, risk, trend) as PDF or self-contained HTML."""
    report("board", out, as_json)


@app.command("audit")
def audit(out: Path | None = _OUT, as_json: bool = _JSON) -> None:
    """Write the audit report (accounts, audit trail, sources) as PDF or self-contained HTML."""
    report("audit", out, as_json)


def report(name: str, out: Path | None, as_json: bool) -> None:
    """Write the board report or the audit report as PDF or self-contained HTML."""
    from wardwatch.services.report_render import format_for  # noqa: PLC0415
    from wardwatch.services.reports import build_report, json_ready  # noqa: PLC0415

    if out is None and not as_json:
        run(_raise, UsageError("give --out FILE.pdf or --out FILE.html (or --json for the figures)"))
    target = run(_checked, out) if out is not None else None
    figures = run(build_report, run(engine), SYSTEM, name)
    if target is None:
        print_json(json_ready(figures))
        return
    size = run(_write, figures, target)
    if as_json:
        print_json({"report": name, "out": str(target), "bytes": size, "format": format_for(target)})
    else:
        stdout.print(f"Wrote the {name} report to {target} ({size:,} bytes).")


def _raise(error: Exception) -> None:
    raise error


# --- scheduled delivery ---------------------------------------------------------------------------------------------

_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS = {**{n: i for i, n in enumerate(_NAMES)}, **{n[:3]: i for i, n in enumerate(_NAMES)}}
_COLUMNS = ["id", "report", "format", "when", "recipients", "folder", "enabled", "next_run_at", "last_status",
            "last_error"]  # fmt: skip


def _weekday(text: str | None) -> int | None:
    if text is None:
        return None
    value = text.strip().lower()
    if value.isdigit() and 0 <= int(value) <= 6:
        return int(value)
    if value in _DAYS:
        return _DAYS[value]
    raise UsageError(f"--weekday {text!r}: give 0 (Monday) - 6 (Sunday) or a day name like mon or monday")


def _refused(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a schedule service; a refusal becomes a one-line usage error."""
    try:
        return function(*args, **kwargs)
    except PermissionDenied as e:
        raise UsageError(str(e)) from None


def _shown(schedule: dict[str, Any]) -> dict[str, Any]:
    return {**schedule, "recipients": ", ".join(schedule["recipients"]) or None}


@schedule_app.command("add")
def schedule_add(
    name: str = typer.Argument(..., metavar="board|audit", help="The report to deliver."),
    fmt: str = typer.Option("pdf", "--format", help="pdf or html."),
    cadence: str = typer.Option(..., "--cadence", help="daily, weekly or monthly."),
    hour: int = typer.Option(..., "--hour", help="The hour it runs at, 0-23 (UTC)."),
    weekday: str | None = typer.Option(None, "--weekday", help="Weekly: 0-6 or mon … sun."),
    day: int | None = typer.Option(None, "--day", help="Monthly: the day of the month, 1-28."),
    to: list[str] = typer.Option([], "--to", help="An e-mail recipient (repeat for more)."),
    folder: str | None = typer.Option(None, "--folder", help="Also write it into this folder under WARDWATCH_HOME."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Schedule the delivery of a report by e-mail (SMTP: WARDWATCH_SMTP_*) and/or into a folder."""
    from wardwatch.services.report_schedules import create_schedule  # noqa: PLC0415

    schedule = run_checked(
        _refused, create_schedule, run(engine), settings(), SYSTEM, report=name, fmt=fmt, cadence=cadence,
        at_hour=hour, weekday=run(_weekday, weekday), day=day, recipients=to, folder=folder,
    )  # fmt: skip
    if as_json:
        print_json(schedule)
        return
    where = " and ".join(
        part for part in (", ".join(schedule["recipients"]), schedule["folder"] and f"{schedule['folder']}/") if part
    )
    stdout.print(
        f"Schedule {schedule['id']}: the {name} report ({schedule['format']}) {schedule['when']} to {where}; "
        f"first run {schedule['next_run_at']:%Y-%m-%d %H:%M} UTC.",
        markup=False,
    )


@schedule_app.command("list")
def schedule_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the report schedules, their next run and how the newest one went."""
    from wardwatch.services.report_schedules import list_schedules  # noqa: PLC0415

    schedules = run(list_schedules, run(engine), SYSTEM)
    if as_json:
        print_json({"schedules": schedules, "total": len(schedules)})
        return
    print_table([_shown(s) for s in schedules], _COLUMNS)


@schedule_app.command("disable")
def schedule_disable(
    schedule_id: int = typer.Argument(..., help="The schedule's id (see `list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Stop a schedule (it stays listed)."""
    from wardwatch.services.report_schedules import disable_schedule  # noqa: PLC0415

    schedule = run(_refused, disable_schedule, run(engine), SYSTEM, schedule_id)
    if as_json:
        print_json(schedule)
        return
    stdout.print(f"Disabled schedule {schedule_id} ({schedule['report']} report, {schedule['when']}).")


@schedule_app.command("delete")
def schedule_delete(schedule_id: int = typer.Argument(..., help="The schedule's id (see `list`).")) -> None:
    """Delete a schedule."""
    from wardwatch.services.report_schedules import delete_schedule  # noqa: PLC0415

    run(_refused, delete_schedule, run(engine), SYSTEM, schedule_id)
    stdout.print(f"Deleted schedule {schedule_id}.")


@schedule_app.command("run-due")
def schedule_run_due(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Deliver every schedule that is due now; exit 1 if a delivery failed (it is retried at the next run)."""
    from wardwatch.services.report_schedules import run_due  # noqa: PLC0415

    results = run(run_due, run(engine), settings())
    failed = [r for r in results if r["status"] != "delivered"]
    if as_json:
        print_json({"runs": results, "delivered": len(results) - len(failed), "failed": len(failed)})
    else:
        for r in results:
            where = " and ".join(part for part in (", ".join(r["recipients"]), r["file"]) if part)
            line = f"delivered to {where}" if r["status"] == "delivered" else f"failed: {r['error']}"
            stdout.print(f"Schedule {r['id']} ({r['report']}, {r['format']}): {line}", markup=False)
        if not results:
            stdout.print("No schedule is due.")
    if failed:
        raise typer.Exit(EXIT_FINDINGS)
