"""The root ``wardwatch`` command and its sub-commands."""

from __future__ import annotations

import os
import sys

import typer

from wardwatch import __version__
from wardwatch.cli import (
    alarms,
    audit,
    backup,
    devices,
    discover,
    governance,
    integrations,
    intel,
    inventory,
    network,
    playbook,
    remediation,
    report,
    risk,
    serve,
    simulate,
    users,
    worker,
)
from wardwatch.cli._context import configure_logging, engine, run, settings, stderr, stdout
from wardwatch.store.database import head_revision, migrate

app = typer.Typer(
    name="wardwatch",
    help="Wardwatch: see and reduce the patient-safety risk of medical devices and clinical networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(inventory.app, name="inventory")
app.add_typer(devices.app, name="devices")
app.command("simulate")(simulate.simulate)
app.command("demo")(simulate.demo)
app.command("discover")(discover.discover)
app.add_typer(intel.app, name="intel")
app.command("findings")(intel.findings_command)
app.add_typer(risk.app, name="risk")
app.add_typer(network.app, name="network")
app.add_typer(alarms.app, name="alarms")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(remediation.app, name="remediation")
app.add_typer(governance.app, name="governance")
app.add_typer(governance.training_app, name="training")
app.add_typer(playbook.app, name="playbook")
app.add_typer(playbook.incident_app, name="incident")
app.add_typer(integrations.app, name="integrations")
app.command("serve")(serve.serve)
app.add_typer(report.app, name="report")
backup.register(app)
worker.register(app)


def _version(value: bool) -> None:
    if value:
        stdout.print(f"wardwatch {__version__}")
        raise typer.Exit


@app.callback()
def root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages to stderr."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Wardwatch — data lives in WARDWATCH_HOME (default ~/.local/share/wardwatch), or WARDWATCH_DATABASE_URL."""
    del version
    configure_logging(verbose)


@app.command()
def init() -> None:
    """Create the data folder and the database, or migrate it to this version's schema."""
    config = settings()
    if config.is_sqlite:
        run(config.home.mkdir, parents=True, exist_ok=True)
    database = run(engine)
    run(migrate, database)
    where = database.url.render_as_string(hide_password=True)
    stdout.print(f"Database ready at {where} (schema {head_revision()}).")


def main() -> None:
    """Console-script entry point: an unexpected error is one line and exit code 3, never a traceback."""
    try:
        app()
    except Exception as e:  # the last line of defence; commands handle the expected errors themselves
        if os.environ.get("WARDWATCH_DEBUG"):
            raise
        stderr.print(
            f"[bold red]error:[/] internal error ({type(e).__name__}: {e}); please report it with the output of the "
            "same command run with WARDWATCH_DEBUG=1",
            highlight=False,
        )
        sys.exit(3)
