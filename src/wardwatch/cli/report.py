"""``wardwatch report board|audit --out FILE.pdf|FILE.html``: the board and audit reports."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from wardwatch.cli._context import UsageError, engine, run, stdout
from wardwatch.cli._output import print_json
from wardwatch.domain.permissions import SYSTEM

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


def report(
    name: Literal["board", "audit"] = typer.Argument(
        ..., metavar="board|audit", help="board: posture, risk, trend; audit: accounts, trail, sources."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="File to write: .pdf or .html."),
    as_json: bool = typer.Option(False, "--json", help="Print the report's figures as JSON (with --out: a summary)."),
) -> None:
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
