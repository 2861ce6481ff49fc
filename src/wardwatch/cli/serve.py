"""``wardwatch serve``: the API and the web UI (uvicorn) on the configured database."""

from __future__ import annotations

import typer
from sqlalchemy import Engine

from wardwatch.cli._context import UsageError, run, settings, stdout
from wardwatch.settings import Settings
from wardwatch.store.database import connect, ensure_ready


def _check(host: str, port: int) -> None:
    if not 0 < port < 65536:
        raise UsageError(f"--port {port} is not a TCP port (1-65535)")
    config = settings()
    ensure_ready(connect(config.resolved_database_url))


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
) -> None:
    """Serve the REST API (/api, OpenAPI at /api/openapi.json) and the web UI until interrupted."""
    run(_check, host, port)
    serve_settings(settings(), host, port)


def serve_settings(config: Settings, host: str, port: int) -> None:
    """Serve the API and UI for ``config`` (``wardwatch demo --serve`` uses the demo's data folder)."""
    import uvicorn  # noqa: PLC0415 - only serving needs the server

    from wardwatch.api.app import create_app  # noqa: PLC0415

    application = run(create_app, config)
    stdout.print(
        f"Wardwatch is serving on [bold]http://{host}:{port}/[/] (OpenAPI at /api/openapi.json); Ctrl+C stops it."
    )
    uvicorn.run(application, host=host, port=port, log_level="warning", proxy_headers=False)


def announce_demo_users(database: Engine, port: int, *, keep: bool, unit: str | None = None) -> None:
    """Create one demo user per role (random passwords) and print how to log in; with ``--keep``, keep them.
    The clinician's unit is ``unit`` when given, else the busiest clinical unit."""
    from wardwatch.cli._output import print_table  # noqa: PLC0415
    from wardwatch.domain.permissions import SYSTEM  # noqa: PLC0415
    from wardwatch.services.accounts import create_demo_users, list_users  # noqa: PLC0415

    if keep and run(list_users, database, SYSTEM):
        stdout.print("Demo users kept from the previous run (their passwords were printed then).")
        return
    users = run(create_demo_users, database, SYSTEM, unit=unit)
    stdout.print()
    stdout.print(f"[bold]Log in[/] at http://127.0.0.1:{port}/ with one user per role (new random passwords each run):")
    print_table(users, ["username", "password", "role", "unit"])
