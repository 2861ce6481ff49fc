"""``wardwatch governance`` and ``wardwatch training`` (issue 9).

``wardwatch governance`` judges every control on the live data and prints each framework's coverage (gaps
first); ``--export FILE`` writes the IEC 80001-1 risk-management file (HTML, or its data as JSON for a ``.json``
file).  ``wardwatch training add`` records a completed course; ``wardwatch training list`` shows the records,
each person's standing and the expiring ones.  The CLI acts as the local operator (``system``).
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import typer
from rich.markup import escape

from wardwatch.cli._context import UsageError, engine, run, run_checked, stdout
from wardwatch.cli._output import dumps, print_json, print_table
from wardwatch.domain.permissions import SYSTEM


def _service() -> ModuleType:
    """The governance service, imported when a command runs (it pulls in the network analyses: keeps `--help` and
    every other command fast)."""
    from wardwatch.services import governance  # noqa: PLC0415

    return governance


app = typer.Typer(help="Framework coverage and gaps (NIST CSF 2.0, HICP, IEC 80001-1, Joint Commission).",
                  invoke_without_command=True)  # fmt: skip
training_app = typer.Typer(help="Cybersecurity training records per person and role.", no_args_is_help=True)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date: give YYYY-MM-DD") from None


def _write(path: Path, text: str) -> None:
    """Write atomically (temp file in the same folder, then rename)."""
    if path.is_dir():
        raise UsageError(f"--export {path} is a folder: give a file name, e.g. risk-file.html")
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)


def _export(path: Path, as_json: bool) -> None:
    database = run(engine)
    try:
        html, data = run(_service().risk_file, database, SYSTEM)
    finally:
        database.dispose()
    run(_write, path, dumps(data) if path.suffix.lower() == ".json" else html)
    if as_json:
        print_json({"exported": str(path), "risks": len(data["risks"]), "coverage": data["coverage"]["counts"]})
    else:
        counts = data["coverage"]["counts"]
        stdout.print(f"IEC 80001-1 risk-management file written to {escape(str(path))} "
                     f"({len(data['risks'])} top risks; {counts['met']} met, {counts['partial']} partial, "
                     f"{counts['gap']} gaps)")  # fmt: skip


def _print_coverage(report: dict[str, Any], detailed: bool) -> None:
    if not detailed:
        rows = [{"status": c["status"], "control": c["title"], "reason": c["reason"]} for c in report["controls"]]
        print_table(rows, ("status", "control", "reason"), title=f"Controls on live data ({report['as_of']})")
    for framework in report["frameworks"]:
        counts = framework["counts"]
        stdout.print(f"[bold]{escape(framework['name'])}[/]: {counts['met']} met, {counts['partial']} partial, "
                     f"{counts['gap']} gaps", markup=True)  # fmt: skip
        if detailed:
            rows = [{"status": i["status"], "ref": i["ref"] + ("" if i["verified"] else " (?)"), "item": i["title"],
                     "reason": i["reason"]} for i in framework["items"]]  # fmt: skip
            print_table(rows, ("status", "ref", "item", "reason"))
    if not detailed:
        stdout.print("Items per framework: wardwatch governance --framework csf|hicp|80001|tjc")
    else:
        stdout.print("(?) = id or wording not verified against the published text (docs/governance.md)")


@app.callback()
def governance(
    ctx: typer.Context,
    framework: str | None = typer.Option(None, "--framework", help="csf, hicp, 80001 or tjc (default: all)."),
    export: Path | None = typer.Option(
        None,
        "--export",
        help="Write the IEC 80001-1 risk-management file here (HTML; JSON data when the name ends in .json).",
        dir_okay=False,
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Each control judged on live data (met / partial / gap) and each framework's coverage, gaps first."""
    if ctx.invoked_subcommand is not None:
        return
    if framework is not None and framework not in _service().FRAMEWORKS:
        run(_refuse, f"--framework {framework!r}: choose one of {', '.join(_service().FRAMEWORKS)}")
    if export is not None:
        if framework not in (None, "80001"):
            run(_refuse, "--export writes the IEC 80001-1 risk-management file: use it with --framework 80001")
        _export(export, as_json)
        return
    database = run(engine)
    try:
        report = run_checked(_service().governance, database, SYSTEM, framework)
    finally:
        database.dispose()
    if as_json:
        print_json(report)
    else:
        _print_coverage(report, detailed=framework is not None)


def _refuse(message: str) -> None:
    raise UsageError(message)


@training_app.command("add")
def training_add(
    username: str = typer.Argument(..., help="The account's login, or the person's name."),
    course: str = typer.Argument(..., help="A course id of training.yaml (e.g. cyber-awareness) or a title."),
    completed: str = typer.Option(..., "--completed", help="Completion date, YYYY-MM-DD."),
    expires: str | None = typer.Option(None, "--expires", help="Expiry date, YYYY-MM-DD."),
    valid_days: int | None = typer.Option(None, "--valid-days", help="Valid this many days after completion."),
    role: str | None = typer.Option(None, "--role", help="The role it counts for (default: the account's)."),
    evidence: str = typer.Option("", "--evidence", help="Certificate reference or note."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record that someone completed a cybersecurity course (expiry: --expires, --valid-days or the course's)."""
    completed_on = run(_date, completed, "--completed")
    expires_on = run(_date, expires, "--expires")
    database = run(engine)
    try:
        record = run_checked(_service().add_training, database, SYSTEM, username, course, completed_on,
                             expires_on=expires_on, valid_days=valid_days, role=role, evidence=evidence)  # fmt: skip
    finally:
        database.dispose()
    if as_json:
        print_json(record)
        return
    until = f"until {record['expires_on']}" if record["expires_on"] else "with no expiry"
    stdout.print(f"Recorded {escape(record['username'])} ({record['role']}): {escape(record['course_title'])}, "
                 f"completed {record['completed_on']}, valid {until}.")  # fmt: skip


@training_app.command("list")
def training_list(
    expiring_days: int | None = typer.Option(
        None, "--expiring-days", min=0, help="Only what expires within N days (or expired, not renewed)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Training records with their state, and who is current per role."""
    database = run(engine)
    try:
        listing = run_checked(_service().list_training, database, SYSTEM, expiring_days=expiring_days)
    finally:
        database.dispose()
    if as_json:
        print_json(listing)
        return
    rows = listing["records"]
    title = f"Expiring within {listing['expiring_days']} days or expired" if expiring_days is not None else None
    print_table(rows, ("username", "role", "course", "completed_on", "expires_on", "state"), title=title)
    if expiring_days is None:
        people = [{**p, "missing": ", ".join(p["missing"]) or None, "expiring": ", ".join(p["expiring"]) or None}
                  for p in listing["people"]]  # fmt: skip
        print_table(people, ("username", "role", "current", "missing", "expiring"), title="Required training")
        summary = ", ".join(f"{role} {n['current']}/{n['people']}" for role, n in listing["roles"].items())
        stdout.print(f"Current per role: {summary or 'nobody holds a role'}")
