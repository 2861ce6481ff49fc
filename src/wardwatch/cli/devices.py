"""``wardwatch devices``: list, show and export the inventory."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import typer

from wardwatch.cli._context import UsageError, engine, run, stdout
from wardwatch.cli._output import cell, dumps, print_json, print_table
from wardwatch.domain.inventory import Criticality
from wardwatch.services.devices import (
    EXPORT_COLUMNS,
    LIST_COLUMNS,
    DeviceFilter,
    device_detail,
    iter_devices,
    list_devices,
)
from wardwatch.services.exports import write_export

app = typer.Typer(help="List, show and export devices.", no_args_is_help=True)

_CRITICALITIES = ", ".join(c.value for c in Criticality)


def _filter(
    site: str | None, device_type: str | None, criticality: str | None, search: str | None, seen: str | None = None
) -> DeviceFilter:
    if criticality is not None and criticality not in {c.value for c in Criticality}:
        raise UsageError(f"--criticality {criticality!r} is not one of: {_CRITICALITIES}")
    if seen is not None and seen not in ("unknown", "silent"):
        raise UsageError(f"--seen {seen!r} is not one of: unknown, silent")
    return DeviceFilter(site=site, device_type=device_type, criticality=criticality, search=search, seen=seen)


@app.command("list")
def list_(
    site: str | None = typer.Option(None, "--site", help="Only this site."),
    device_type: str | None = typer.Option(None, "--type", help="Only this device type, e.g. infusion-pump."),
    criticality: str | None = typer.Option(None, "--criticality", help=f"Only this criticality: {_CRITICALITIES}."),
    search: str | None = typer.Option(None, "--search", help="Text in tag, serial, vendor, model, host, IP or MAC."),
    seen: str | None = typer.Option(
        None, "--seen", help="unknown: on the network, not in the CMMS; silent: in the CMMS, never seen."
    ),
    limit: int = typer.Option(50, "--limit", min=1, help="Rows to show."),
    offset: int = typer.Option(0, "--offset", min=0, help="Rows to skip."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List devices, filtered."""
    where = run(_filter, site, device_type, criticality, search, seen)
    rows, total = run(list_devices, run(engine), where, limit=limit, offset=offset)
    if as_json:
        print_json({"total": total, "offset": offset, "limit": limit, "devices": rows})
        return
    print_table(rows, LIST_COLUMNS)
    shown = f"{offset + 1:,}–{offset + len(rows):,}" if rows else "0"
    stdout.print(f"[dim]{shown} of {total:,} devices[/]")


@app.command("show")
def show(
    reference: str = typer.Argument(..., metavar="ID", help="Device id, asset tag, MAC, IP or serial."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one device with the source of every attribute and its history."""
    detail = run(device_detail, run(engine), reference)
    if as_json:
        print_json(detail)
        return
    title = " ".join(str(detail[k]) for k in ("manufacturer", "model") if detail.get(k)) or "Device"
    stdout.print(f"[bold]{title}[/] — device {detail['id']}, asset tag {cell(detail.get('asset_tag'))}")
    fields = [c for c in EXPORT_COLUMNS if c not in ("id",)]
    print_table([{"attribute": f, "value": detail.get(f)} for f in fields if detail.get(f) is not None],
                ["attribute", "value"])  # fmt: skip
    print_table(detail["evidence"], ["attribute", "value", "source_kind", "confidence", "source", "locator"],
                title="Evidence")  # fmt: skip
    print_table(detail["history"], ["changed_at", "attribute", "old_value", "new_value", "source"], title="History")
    if detail["findings"]:
        print_table(detail["findings"], ["kind", "detail", "protocol", "count", "source", "locator"], title="Findings")
    if detail["talks_to"]:
        print_table(
            detail["talks_to"][:20],
            ["direction", "peer", "transport", "port", "protocol", "packets", "bytes", "last_seen"],
            title="Talks to (top 20 by bytes)",
        )
    security = detail.get("security")
    if security:
        words = {True: "yes", False: "no", None: "not stated"}
        print_table(
            [{"capability": k.replace("_", " "), "answer": words[v]} for k, v in security["capabilities"].items()],
            ["capability", "answer"],
            title=f"Security capabilities (MDS2 form of {security['manufacturer']} {security['model']}, "
            f"{security['form_date'] or 'undated'})",
        )
    stdout.print(f"[dim]identifiers: {', '.join(detail['identifiers'])}[/]")


@app.command("export")
def export(
    fmt: str = typer.Option("csv", "--format", "-f", help="csv, json or xlsx."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (csv/json default: stdout)."),
    site: str | None = typer.Option(None, "--site", help="Only this site."),
    device_type: str | None = typer.Option(None, "--type", help="Only this device type."),
    criticality: str | None = typer.Option(None, "--criticality", help="Only this criticality."),
    search: str | None = typer.Option(None, "--search", help="Text filter."),
) -> None:
    """Export the inventory (every plain attribute) as CSV, JSON or XLSX."""
    if fmt not in ("csv", "json", "xlsx"):
        run(_raise, UsageError(f"--format {fmt!r} is not one of csv, json, xlsx"))
    if fmt == "xlsx" and output is None:
        run(_raise, UsageError("--format xlsx needs --output FILE.xlsx"))
    where = run(_filter, site, device_type, criticality, search)
    rows = iter_devices(run(engine), where)
    if output is None:
        if fmt == "json":
            stdout.out(dumps(run(list, rows)), highlight=False)
        else:
            run(_csv_to_stdout, rows)
        return
    count = run(write_export, rows, output, fmt, EXPORT_COLUMNS)
    stdout.print(f"Wrote {count:,} devices to {output}")


def _raise(error: Exception) -> None:
    raise error


def _csv_to_stdout(rows: Any) -> None:
    from wardwatch.services.exports import safe_cell  # noqa: PLC0415

    writer = csv.writer(sys.stdout)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) for c in EXPORT_COLUMNS])
