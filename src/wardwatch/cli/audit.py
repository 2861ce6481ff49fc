"""``wardwatch audit verify``: recompute the audit trail's hash chain; exit 1 when it was tampered with."""

from __future__ import annotations

import typer
from rich.markup import escape

from wardwatch.cli._context import EXIT_FINDINGS, engine, run, stdout
from wardwatch.cli._output import print_json
from wardwatch.domain.permissions import SYSTEM
from wardwatch.services.audit import verify_audit

app = typer.Typer(help="Check the audit trail.", no_args_is_help=True)


@app.command("verify")
def verify(as_json: bool = typer.Option(False, "--json", help="Print the verification as JSON.")) -> None:
    """Recompute every entry's hash and its link to the one before; exit 0 intact, 1 tampered with."""
    database = run(engine)
    try:
        result = run(verify_audit, database, SYSTEM)
    finally:
        database.dispose()
    if as_json:
        print_json(result.as_dict())
    elif result.ok:
        stdout.print(result.summary)
    else:
        stdout.print(f"[bold red]{escape(result.summary)}[/]", markup=True)
    if not result.ok:
        raise typer.Exit(EXIT_FINDINGS)
