"""``wardwatch playbook`` and ``wardwatch incident`` (issue 9): run an incident playbook on the live data (the
affected devices, isolation, steps, downtime procedures, contacts), open an incident from it and record what was
done.  The CLI acts as the local operator (every permission); refusals and bad input are one line and exit 2."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import typer

from wardwatch.cli._context import engine, fail, run, run_checked, settings, stdout
from wardwatch.cli._output import print_json, print_table
from wardwatch.domain.permissions import SYSTEM


def _playbooks() -> ModuleType:
    """The playbook service, imported when a command runs (it pulls in the worm and the network analyses)."""
    from wardwatch.services import playbooks  # noqa: PLC0415

    return playbooks


def _incidents() -> ModuleType:
    """The incident service, imported when a command runs."""
    from wardwatch.services import incidents  # noqa: PLC0415

    return incidents


app = typer.Typer(help="Incident playbooks run on live data (WannaCry-like outbreak, vendor account, recall).",
                  no_args_is_help=True)  # fmt: skip
incident_app = typer.Typer(help="Incident records: what was done, by whom, when.", no_args_is_help=True)

_JSON = typer.Option(False, "--json", help="Print JSON.")


@app.command("list")
def list_command(as_json: bool = _JSON) -> None:
    """The playbooks and the parameters each takes."""
    books = run(_playbooks().list_playbooks, settings())
    if as_json:
        print_json(books)
        return
    print_table([{**b, "parameters": ", ".join(f"--{p}" for p in b["parameters"])} for b in books],
                ["name", "title", "steps", "parameters", "when"], title="Playbooks")  # fmt: skip


def _print_run(report: dict[str, Any]) -> None:
    stdout.print(f"[bold]{report['title']}[/]: {report['total']} affected device(s), severity {report['severity']}",
                 highlight=False)  # fmt: skip
    for note in report["notes"]:
        stdout.print(f"note: {note}", markup=False)
    if report["affected"]:
        print_table(report["affected"], ["name", "type", "unit", "criticality", "address", "status", "why"],
                    title="Affected devices")  # fmt: skip
        print_table([{**u, "categories": ", ".join(f"{k} {n}" for k, n in u["categories"].items())}
                     for u in report["by_unit"]], ["unit", "devices", "categories"], title="By unit")  # fmt: skip
    if report["isolation"]:
        print_table(report["isolation"], ["id", "action", "detail"], title="Isolation")
    print_table(report["steps"], ["id", "phase", "who", "text"], title="Steps")
    for block in report["downtime"]:
        stdout.print(f"[bold]Downtime: {block['category']}[/] ({block['devices']} device(s))", highlight=False)
        for line in block["procedures"]:
            stdout.print(f"  - {line}", markup=False)
    print_table(report["contacts"], ["role", "name", "reach"], title="Contacts")


@app.command("run")
def run_command(
    name: str = typer.Argument(..., help="wannacry, vendor-account or recall."),
    seed: str | None = typer.Option(
        None, "--seed", help="wannacry: where it starts (zone, device or IP); default: every vulnerable host."
    ),  # fmt: skip
    manufacturer: str | None = typer.Option(None, "--manufacturer", help="vendor-account: only this vendor."),
    recall: str | None = typer.Option(None, "--recall", help="recall: one recall number (default: every open one)."),
    open_incident: bool = typer.Option(False, "--open", help="Open an incident with this run as its snapshot."),
    title: str | None = typer.Option(None, "--title", help="With --open: the incident's title."),
    as_json: bool = _JSON,
) -> None:
    """Run a playbook on the live data: affected devices (with why), isolation steps, the playbook's steps,
    downtime procedures for the categories affected and contacts.  Changes nothing unless --open."""
    kwargs: dict[str, Any] = {"seed": seed, "manufacturer": manufacturer, "recall": recall, "settings": settings()}
    database = run(engine)
    if open_incident:
        record = run_checked(_incidents().open_incident, database, SYSTEM, name, title=title, **kwargs)
        if as_json:
            print_json(record)
            return
        _print_run(record["snapshot"])
        stdout.print(f"opened incident {record['id']}: {record['title']} "
                     f"(log actions with `wardwatch incident log {record['id']} --step ID --note TEXT`)",
                     markup=False)  # fmt: skip
        return
    if title is not None:
        fail("--title is for --open (a run alone records nothing)")
    report = run_checked(_playbooks().run_playbook, database, SYSTEM, name, **kwargs)
    if as_json:
        print_json(report)
        return
    _print_run(report)


@incident_app.command("list")
def incident_list(
    status: str | None = typer.Option(None, "--status", help="open, contained or closed."), as_json: bool = _JSON
) -> None:
    """The incidents, newest first."""
    rows = run_checked(_incidents().list_incidents, run(engine), SYSTEM, status=status)
    if as_json:
        print_json(rows)
        return
    if not rows:
        stdout.print("no incident yet: open one with `wardwatch playbook run NAME --open`", markup=False)
        return
    print_table(rows, ["id", "status", "severity", "playbook", "title", "opened_by", "opened_at", "actions"],
                title="Incidents")  # fmt: skip


def _print_incident(record: dict[str, Any]) -> None:
    stdout.print(f"[bold]incident {record['id']}[/]: {record['title']} — {record['status']}, severity "
                 f"{record['severity']}; opened by {record['opened_by']} at {record['opened_at']}"
                 + (f", closed at {record['closed_at']}" if record["closed_at"] else ""), highlight=False)  # fmt: skip
    snapshot = record["snapshot"]
    stdout.print(f"{snapshot['total']} affected device(s) at opening", markup=False)
    print_table([{**c, "done": "yes" if c["done"] else ""} for c in record["checklist"]],
                ["id", "kind", "who", "text", "done", "by", "note"], title="Checklist")  # fmt: skip
    if record["actions"]:
        print_table(record["actions"], ["at", "actor", "step", "done", "note"], title="What was done")


@incident_app.command("show")
def incident_show(incident_id: int = typer.Argument(..., metavar="ID"), as_json: bool = _JSON) -> None:
    """One incident: its checklist, what was done by whom, and the affected devices at opening."""
    record = run_checked(_incidents().get_incident, run(engine), SYSTEM, incident_id)
    if as_json:
        print_json(record)
        return
    _print_incident(record)


@incident_app.command("log")
def incident_log(
    incident_id: int = typer.Argument(..., metavar="ID"),
    step: str = typer.Option(..., "--step", help="A playbook or isolation step id, or what was done."),
    note: str = typer.Option("", "--note", help="What was done, found or decided."),
    done: bool = typer.Option(False, "--done", help="The step is done."),
    contained: bool = typer.Option(False, "--contained", help="The incident is contained now."),
    as_json: bool = _JSON,
) -> None:
    """Record an action on an incident."""
    record = run_checked(_incidents().log_action, run(engine), SYSTEM, incident_id, step, note, done=done,
                         contained=contained)  # fmt: skip
    if as_json:
        print_json(record)
        return
    stdout.print(f"incident {incident_id}: recorded {step!r}{' (done)' if done else ''}; status {record['status']}",
                 markup=False)  # fmt: skip


@incident_app.command("close")
def incident_close(
    incident_id: int = typer.Argument(..., metavar="ID"),
    note: str = typer.Option("", "--note", help="Why it is closed."),
    as_json: bool = _JSON,
) -> None:
    """Close an incident."""
    record = run_checked(_incidents().close_incident, run(engine), SYSTEM, incident_id, note=note)
    if as_json:
        print_json(record)
        return
    stdout.print(f"incident {incident_id} closed at {record['closed_at']}", markup=False)
