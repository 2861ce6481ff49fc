"""``wardwatch integrations``: security events to a SIEM (syslog) and remediation tickets (CSV, webhooks);
docs/integrations.md.

The CLI acts as the local operator.  A bad address, format or URL, an unreachable collector or a receiver that
refuses a webhook is one line on stderr and exit code 2; what was not delivered is sent again next time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from wardwatch.cli._context import UsageError, engine, fail, run, stdout

__all__ = ["app"]
from wardwatch.cli._output import print_json

app = typer.Typer(help="Send security events to a SIEM and remediation tickets to a ticketing system.",
                  no_args_is_help=True)  # fmt: skip

T = TypeVar("T")


def _call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A service call whose expected failures (bad input, unreachable receiver, refusal) are one line and exit 2."""
    from wardwatch.domain.permissions import PermissionDenied  # noqa: PLC0415 - keep `--help` fast
    from wardwatch.services.siem import SiemError  # noqa: PLC0415
    from wardwatch.services.tickets import TicketError  # noqa: PLC0415

    def guarded() -> T:
        try:
            return function(*args, **kwargs)
        except (ValueError, SiemError, TicketError, PermissionDenied) as e:
            raise UsageError(str(e)) from e

    return run(guarded)


def _system() -> Any:
    from wardwatch.domain.permissions import SYSTEM  # noqa: PLC0415

    return SYSTEM


@app.command("siem")
def siem_command(
    to: str = typer.Option(..., "--to", metavar="udp://HOST:PORT|tcp://HOST:PORT", help="The syslog collector."),
    fmt: str = typer.Option("cef", "--format", help="The payload: cef or json."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be sent; send and mark nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Send the security events not sent yet (KEV hits, overdue work items, remediation steps, denied and failed
    actions, expired risk acceptances) as RFC 5424 syslog; at least once (a failed send is repeated next time)."""
    from wardwatch.domain.siem import FORMATS, parse_target  # noqa: PLC0415
    from wardwatch.services import siem  # noqa: PLC0415

    if fmt not in FORMATS:
        fail(f"--format {fmt!r}: write cef or json")
    try:
        target = parse_target(to)
    except ValueError as e:
        fail(str(e))
    database = run(engine)
    if dry_run:
        events = _call(siem.preview, database, _system(), fmt)
        if as_json:
            print_json({"target": str(target), "format": fmt, "dry_run": True, "events": events})
            return
        for event in events:
            stdout.out(event["payload"], highlight=False)
        stdout.print(f"{len(events)} event(s) would be sent to {target} (dry run: nothing sent)", markup=False)
        return
    count = _call(siem.send, database, _system(), str(target), fmt)
    if as_json:
        print_json({"target": str(target), "format": fmt, "dry_run": False, "sent": count})
        return
    stdout.print(f"{count} event(s) sent to {target} as {fmt.upper()}", markup=False)


@app.command("tickets")
def tickets_command(
    csv_file: Path | None = typer.Option(None, "--csv", metavar="FILE", help="Write a ServiceNow import-set CSV."),
    webhook: str | None = typer.Option(None, "--webhook", metavar="URL", help="POST each new or changed item here."),
    secret_env: str | None = typer.Option(
        None,
        "--secret-env",
        metavar="VAR",
        help="The environment variable holding the shared secret that signs webhooks (X-Wardwatch-Signature).",
    ),  # fmt: skip
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Remediation work items as tickets: a CSV for a ServiceNow import set, or webhooks (JSON) to a URL."""
    from wardwatch.services import tickets  # noqa: PLC0415

    if (csv_file is None) == (webhook is None):
        fail("give --csv FILE or --webhook URL (one of them)")
    if secret_env is not None and webhook is None:
        fail("--secret-env signs webhooks; give --webhook URL with it")
    database = run(engine)
    if csv_file is not None:
        count = _call(tickets.write_csv, database, _system(), csv_file)
        if as_json:
            print_json({"csv": str(csv_file), "tickets": count})
            return
        stdout.print(f"{count} ticket(s) written to {csv_file}", markup=False)
        return
    secret: bytes | None = None
    if secret_env is not None:
        value = os.environ.get(secret_env)
        if not value:
            fail(f"--secret-env {secret_env}: that environment variable is not set or empty; export the shared "
                 "secret in it")  # fmt: skip
        secret = value.encode("utf-8")
    if webhook is None:
        fail("give --csv FILE or --webhook URL (one of them)")
    result = _call(tickets.push_webhooks, database, _system(), webhook, secret=secret)
    if as_json:
        print_json(result)
        return
    stdout.print(f"{result['sent']} ticket(s) delivered, {result['unchanged']} unchanged", markup=False)
