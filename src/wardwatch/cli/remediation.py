"""``wardwatch remediation``: the remediation workflow (docs/remediation.md).

The CLI acts as the local operator (every role's steps); on the web and through the API each step is allowed only
to the role whose job it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import typer

from wardwatch.cli._context import UsageError, engine, fail, run, stdout
from wardwatch.cli._output import print_json, print_table

app = typer.Typer(help="Remediation work items: triage, manufacturer validation, scheduling, mitigation, acceptance.",
                  no_args_is_help=True)  # fmt: skip

T = TypeVar("T")


def _call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A service call whose refusals (wrong state, missing validation…) are one line and exit 2."""
    from wardwatch.domain.permissions import PermissionDenied  # noqa: PLC0415 - keep `--help` fast
    from wardwatch.domain.remediation import TransitionRefused  # noqa: PLC0415

    def guarded() -> T:
        try:
            return function(*args, **kwargs)
        except (ValueError, TransitionRefused, PermissionDenied) as e:
            raise UsageError(str(e)) from e

    return run(guarded)


def _when(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date or time like 2026-12-14 or 2026-12-14T22:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _system() -> Any:
    from wardwatch.domain.permissions import SYSTEM  # noqa: PLC0415

    return SYSTEM


def _short(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    return "" if value is None else str(value)


@app.command("sync")
def sync_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Create a work item for each device model × vulnerability with open findings; refresh the others."""
    from wardwatch.services import remediation  # noqa: PLC0415

    report = _call(remediation.sync, run(engine), _system())
    if as_json:
        print_json(report)
        return
    reopened = f", {report['reopened']} open again (risk acceptance expired)" if report["reopened"] else ""
    stdout.print(f"{report['items']} work item(s) from open findings: {report['created']} new, {report['updated']} "
                 f"updated{reopened}", markup=False)  # fmt: skip


@app.command("list")
def list_command(
    state: str | None = typer.Option(None, "--state", help="Only this state (open, triaged, …)."),
    overdue: bool = typer.Option(False, "--overdue", help="Only items past their SLA."),
    open_only: bool = typer.Option(False, "--open", help="Only items that still need work."),
    unit: str | None = typer.Option(None, "--unit", help="Only items with a device of this unit."),
    search: str | None = typer.Option(None, "--search", help="Words of the title: CVE, manufacturer, model."),
    limit: int = typer.Option(50, "--limit", min=0, help="How many (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Work items, most urgent first: overdue, then SSVC priority, then due date."""
    from wardwatch.services import remediation  # noqa: PLC0415

    items = _call(remediation.list_items, run(engine), _system(), state=state, overdue=overdue, open_only=open_only,
                  unit=unit, search=search, limit=limit or 1_000_000)  # fmt: skip
    if as_json:
        print_json(items)
        return
    rows = [{**i, "due": _short(i["due_at"]), "overdue": "OVERDUE" if i["overdue"] else ""} for i in items]
    print_table(rows, ["id", "state", "priority", "due", "overdue", "devices", "title"], title="Remediation")


@app.command("show")
def show_command(
    item_id: int = typer.Argument(..., metavar="ID", min=1, max=2**31 - 1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One work item: its devices, history, the manufacturer's validations and the steps that can follow."""
    from wardwatch.services import remediation  # noqa: PLC0415

    item = _call(remediation.get_item, run(engine), _system(), item_id)
    if as_json:
        print_json(item)
        return
    due = f", due {_short(item['due_at'])}" + (" (OVERDUE)" if item["overdue"] else "") if item["due_at"] else ""
    stdout.print(f"#{item['id']} {item['title']}: {item['state']}, SSVC {item['priority']}{due}", markup=False)
    stdout.print(f"  {item['devices']} device(s) in {', '.join(item['units']) or 'no unit'}; fix: "
                 f"{item['fix'] or 'not chosen'}", markup=False)  # fmt: skip
    for event in item["events"]:
        stdout.print(f"  {_short(event['at'])} {event['actor']} ({event['role']}): {event['from']} → {event['to']}"
                     f"{' — ' + event['note'] if event['note'] else ''}", markup=False)  # fmt: skip
    nexts = ", ".join(f"{n['to']}" + (f" (needs {n['requires']})" if n["requires"] else "") for n in item["next"])
    stdout.print(f"  next: {nexts or 'nothing'}", markup=False)


@app.command("advance")
def advance_command(
    item_id: int = typer.Argument(..., metavar="ID", min=1, max=2**31 - 1),
    state: str = typer.Argument(
        ...,
        metavar="STATE",
        help="triaged, awaiting-validation, approved, scheduled, applied, verified, mitigated, accepted or open.",
    ),  # fmt: skip
    note: str = typer.Option("", "--note", help="Why, for the record."),
    fix: str | None = typer.Option(None, "--fix", help="The patch or version (awaiting-validation)."),
    when: str | None = typer.Option(None, "--date", help="When the patch is applied (scheduled)."),
    controls: list[str] = typer.Option([], "--control", help="Compensating control (mitigated; repeatable)."),
    justification: str | None = typer.Option(None, "--justification", help="Why the risk is accepted (accepted)."),
    expires: str | None = typer.Option(None, "--expires", help="When the acceptance ends (accepted)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Move a work item to its next state (refused with the reason when the step is not allowed yet)."""
    from wardwatch.services import remediation  # noqa: PLC0415

    item = _call(
        remediation.advance, run(engine), _system(), item_id, state, note=note, fix=fix,
        scheduled_for=_when(when, "--date") if when else None, controls=controls, justification=justification,
        expires_on=_when(expires, "--expires").date() if expires else None,
    )  # fmt: skip
    if as_json:
        print_json(item)
        return
    stdout.print(f"#{item['id']} is now {item['state']}", markup=False)


@app.command("accept")
def accept_command(
    item_id: int = typer.Argument(..., metavar="ID", min=1, max=2**31 - 1),
    justification: str = typer.Option(..., "--justification", help="Why the risk is accepted."),
    expires: str = typer.Option(..., "--expires", help="When the acceptance ends (a date)."),
    controls: list[str] = typer.Option([], "--control", help="A compensating control of the risk policy."),
) -> None:
    """Accept the risk of a work item until a date (one acceptance per device it covers)."""
    from wardwatch.services import remediation  # noqa: PLC0415

    until: date = _when(expires, "--expires").date()
    item = _call(remediation.advance, run(engine), _system(), item_id, "accepted", justification=justification,
                 expires_on=until, controls=controls)  # fmt: skip
    stdout.print(f"#{item['id']} accepted until {until.isoformat()}", markup=False)


@app.command("validate")
def validate_command(
    manufacturer: str = typer.Option(..., "--manufacturer"),
    model: str = typer.Option(..., "--model"),
    fix: str = typer.Option(..., "--fix", help="The patch or version."),
    status: str = typer.Option("validated", "--status", help="validated, not-validated or rejected."),
    document: str = typer.Option(..., "--document", help="The manufacturer's bulletin, letter or URL."),
    note: str = typer.Option("", "--note"),
) -> None:
    """Record what the manufacturer said of a patch for one model (approval needs `validated`)."""
    from wardwatch.services import remediation  # noqa: PLC0415

    found = _call(remediation.record_validation, run(engine), _system(), manufacturer, model, fix, status, document,
                  note)  # fmt: skip
    stdout.print(f"{found['manufacturer']} {found['model']} {found['fix']}: {found['status']} ({found['document']})",
                 markup=False)  # fmt: skip


@app.command("sign-off")
def sign_off_command(
    item_id: int = typer.Argument(..., metavar="ID", min=1, max=2**31 - 1),
    note: str = typer.Option(..., "--note", help="What the unit arranged for the downtime."),
) -> None:
    """Sign off the clinical downtime of a scheduled patch (a clinician of the unit, on the web)."""
    from wardwatch.services import remediation  # noqa: PLC0415

    _call(remediation.sign_off, run(engine), _system(), item_id, note)
    stdout.print(f"#{item_id}: downtime signed off", markup=False)


@app.command("window")
def window_command(
    unit: str = typer.Option(..., "--unit"),
    start: str = typer.Option(..., "--start", help="2026-12-14T22:00"),
    end: str = typer.Option(..., "--end", help="2026-12-15T02:00"),
    note: str = typer.Option("", "--note"),
) -> None:
    """Record a unit's maintenance window (when it can spare devices)."""
    from wardwatch.services import remediation  # noqa: PLC0415

    new_id = _call(remediation.add_window, run(engine), _system(), unit, _when(start, "--start"),
                   _when(end, "--end"), note)  # fmt: skip
    stdout.print(f"maintenance window #{new_id} for {unit}", markup=False)


@app.command("plan")
def plan_command(
    item_id: int = typer.Argument(..., metavar="ID", min=1, max=2**31 - 1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Patch rounds by unit: never all devices of one clinical function of a unit at once, idle devices first."""
    from wardwatch.services import remediation  # noqa: PLC0415

    result = _call(remediation.plan, run(engine), _system(), item_id)
    if as_json:
        print_json(result)
        return
    for patch_round in result["rounds"]:
        for slot in patch_round["units"]:
            window = slot["window"]
            when = (f"{_short(window['starts_at'])} {window['starts_at']:%H:%M}-{window['ends_at']:%H:%M}"
                    if window else "no window yet")  # fmt: skip
            names = ", ".join(d["name"] + (" (last one: loaner needed)" if d["alone"] else "") for d in slot["devices"])
            stdout.print(f"round {patch_round['round']}, {slot['unit']} ({when}): {names}", markup=False)


@app.command("metrics")
def metrics_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Open and overdue items, SLA compliance and mean time to remediate."""
    from wardwatch.services import remediation  # noqa: PLC0415

    figures = _call(remediation.metrics, run(engine), _system())
    if as_json:
        print_json(figures)
        return
    compliance = "n/a" if figures["sla_compliance"] is None else f"{figures['sla_compliance']:.0%}"
    mttr = figures["mean_time_to_remediate_days"]
    mean = "n/a" if mttr is None else f"{mttr} days"
    stdout.print(f"{figures['open']} open ({figures['overdue']} overdue), {figures['closed']} closed; SLA compliance "
                 f"{compliance}; mean time to remediate {mean}", markup=False)  # fmt: skip
