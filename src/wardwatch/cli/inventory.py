"""``wardwatch inventory``: import maintenance-system (CMMS) exports."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from wardwatch.cli._context import engine, run, stderr, stdout
from wardwatch.cli._output import print_json
from wardwatch.services.inventory_import import ImportReport, import_cmms

app = typer.Typer(help="Import the device inventory from CMMS exports.", no_args_is_help=True)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CMMS export: .csv (any delimiter, UTF-8 or Windows-1252) or .xlsx."),
    mapping: Path | None = typer.Option(None, "--mapping", "-m", help="YAML column mapping for unusual headers."),
    site: str | None = typer.Option(None, "--site", "-s", help="Site of these devices (overrides a Site column)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; write nothing."),
    skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows", help="Import the readable rows; list the others."),
    as_json: bool = typer.Option(False, "--json", help="Print the import report as JSON."),
) -> None:
    """Import (or re-import) a CMMS export.  Idempotent; the whole file is one transaction."""
    database = run(engine)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=stderr, transient=True, disable=as_json or not stderr.is_terminal,
    ) as bar:  # fmt: skip
        task = bar.add_task(f"Importing {file.name}", total=None)

        def progress(stage: str, done: int, total: int | None) -> None:
            bar.update(
                task,
                description=f"Importing {file.name}: {stage} {done:,}" + (f"/{total:,}" if total else ""),
            )

        report = run(
            import_cmms, database, file, mapping_path=mapping, site=site, dry_run=dry_run,
            skip_bad_rows=skip_bad_rows, progress=progress,
        )  # fmt: skip
    if as_json:
        print_json(report.as_dict())
        return
    _print_report(report)


def _print_report(report: ImportReport) -> None:
    if report.dry_run:
        stdout.print("[bold yellow]Dry run[/] — nothing was written. This import would:")
    stdout.print(
        f"[bold]{Path(report.file).name}[/]: {report.rows_read:,} rows → {report.devices_in_file:,} devices"
        + (f" ({report.duplicate_rows:,} duplicate rows merged)" if report.duplicate_rows else "")
    )
    stdout.print(
        f"  [green]{report.created:,} new[/], [cyan]{report.updated:,} updated[/] "
        f"({report.change_count:,} changed values), {report.unchanged:,} unchanged   [dim]{report.seconds:.1f} s[/]"
    )
    if report.rows_skipped:
        stdout.print(f"[yellow]{len(report.rows_skipped)} rows skipped:[/]")
        for line in report.rows_skipped[:20]:
            stdout.print(f"  {line}", markup=False)
    if report.changes:
        stdout.print("Changes:" if not report.dry_run else "Would change:")
        for change in report.changes[:20]:
            stdout.print(
                f"  device {change['device']}: {change['attribute']} {change['old']!r} → {change['new']!r}",
                markup=False,
            )
        if report.change_count > 20:
            stdout.print(f"  … and {report.change_count - 20:,} more (--json lists up to 200)")
    if report.conflicts:
        stdout.print(f"[yellow]Merging notes ({len(report.conflicts)}):[/]")
        for line in report.conflicts[:10]:
            stdout.print(f"  {line}", markup=False)
    if report.unknown_manufacturers:
        names = ", ".join(f"{n} ({c})" for n, c in sorted(report.unknown_manufacturers.items())[:10])
        stdout.print(f"[dim]Manufacturers not in the catalogue (kept as written): {names}[/]")
    if report.ignored_columns:
        stdout.print(f"[dim]Columns not imported: {', '.join(report.ignored_columns)}[/]")
