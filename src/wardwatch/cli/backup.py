"""``wardwatch backup OUT`` and ``wardwatch restore FILE [--yes]``: consistent online backups (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import typer

from wardwatch.cli._context import run, settings, stdout
from wardwatch.cli._output import print_json
from wardwatch.services.backup import backup, restore


def backup_command(
    out: Path = typer.Argument(..., help="The backup file to write (a tar: manifest.json and the database)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Back up the database while Wardwatch runs: one consistent snapshot, written atomically to OUT."""
    report = run(backup, settings(), out)
    if as_json:
        print_json(report.as_dict())
        return
    manifest = report.manifest
    stdout.print(
        f"Backed up the {manifest.database} database (schema {manifest.schema_revision}) to {report.path}: "
        f"{manifest.size:,} bytes, SHA-256 {manifest.sha256[:16]}…, {report.seconds:.1f} s."
    )


def restore_command(
    file: Path = typer.Argument(..., help="A backup made by `wardwatch backup`."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Replace the data the database holds now."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON."),
) -> None:
    """Replace the database with a backup (one transaction), then migrate it to this version's schema."""
    report = run(restore, settings(), file, replace=yes)
    if as_json:
        print_json(report.as_dict())
        return
    migrated = (
        f", migrated to {report.schema_revision}" if report.schema_revision != report.manifest.schema_revision else ""
    )
    stdout.print(
        f"Restored {report.path} (made {report.manifest.created_at}, schema {report.manifest.schema_revision}"
        f"{migrated}) in {report.seconds:.1f} s."
    )


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to the root command."""
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
