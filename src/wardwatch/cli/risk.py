"""``wardwatch risk``: device risk scores, rollups, explanations, what-if simulation and risk acceptances."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from wardwatch.cli._context import UsageError, engine, run, stderr, stdout
from wardwatch.cli._output import cell, print_json, print_table
from wardwatch.services.devices import find_device_id
from wardwatch.services.risk import DIMENSIONS, devices_affected_by, explain, list_risks, rescore, rollup
from wardwatch.services.risk_acceptance import accept, list_acceptances, revoke, set_rubric_answers
from wardwatch.services.risk_simulate import simulate

app = typer.Typer(
    help="Device risk: score, explain, roll up, simulate what-ifs, accept risks.",
    invoke_without_command=True,
    no_args_is_help=False,
)

_BY_HELP = f"Roll up by {', '.join(DIMENSIONS)}."
_LEVEL_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "green"}
_PRIORITY_STYLE = {"immediate": "bold red", "out-of-cycle": "red", "scheduled": "yellow", "defer": "green"}


def _styled(value: str, styles: dict[str, str]) -> str:
    style = styles.get(value)
    return f"[{style}]{value}[/]" if style else value


def _name(device: dict[str, Any]) -> str:
    words = " ".join(str(device[k]) for k in ("manufacturer", "model") if device.get(k))
    return f"{device['id']} {words}".strip()


def _ensure_scored() -> list[dict[str, Any]]:
    database = run(engine)
    risks = run(list_risks, database, 1)
    if not risks:
        stderr.print("[dim]no stored risk scores yet: scoring every device now[/]")
        run(rescore, database)
    return risks


@app.callback()
def risk(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    by: str | None = typer.Option(None, "--by", help=_BY_HELP),
    top: int = typer.Option(20, "--top", min=0, help="Show the N riskiest devices (0: all)."),
) -> None:
    """The riskiest devices (score, level, SSVC priority), or rollups with --by."""
    if ctx.invoked_subcommand is not None:
        return
    if by is not None and by not in DIMENSIONS:
        run(_raise, UsageError(f"--by {by!r} is not one of: {', '.join(DIMENSIONS)}"))
    _ensure_scored()
    database = run(engine)
    if by is not None:
        groups = run(rollup, database, by)
        if as_json:
            print_json({"by": by, "groups": groups})
            return
        rows = [
            {by: g["key"], "devices": g["devices"], "mean": g["mean_score"], "max": g["max_score"],
             **{lvl: g["levels"].get(lvl, 0) for lvl in _LEVEL_STYLE},
             "immediate": g["priorities"].get("immediate", 0), "out-of-cycle": g["priorities"].get("out-of-cycle", 0)}
            for g in groups
        ]  # fmt: skip
        print_table(rows, [by, "devices", "mean", "max", *_LEVEL_STYLE, "immediate", "out-of-cycle"])
        return
    risks = run(list_risks, database, top or None)
    if as_json:
        version = risks[0]["policy_version"] if risks else None
        print_json({"policy_version": version, "total": len(risks), "devices": risks})
        return
    rows = [
        {"device": _name(r["device"]), "type": r["device"]["device_type"],
         "where": " / ".join(str(x) for x in (r["device"]["site"], r["device"]["unit"]) if x) or None,
         "score": f"{r['score']:.1f}", "level": _styled(r["level"], _LEVEL_STYLE),
         "ssvc": _styled(r["ssvc"], _PRIORITY_STYLE), "worst": r["explanation"]["ssvc"]["vulnerability"]}
        for r in risks
    ]  # fmt: skip
    _table(rows, ["device", "type", "where", "score", "level", "ssvc", "worst"])
    if risks:
        stdout.print(f"[dim]policy {risks[0]['policy_version']}; `wardwatch risk explain ID` says why[/]")


def _raise(error: Exception) -> None:
    raise error


def _table(rows: list[dict[str, Any]], columns: list[str], title: str | None = None) -> None:
    """Like print_table, but the level/priority cells keep their markup."""
    table = Table(title=title, header_style="bold")
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in rows:
        table.add_row(*(row[c] if c in ("level", "ssvc", "before", "after") else cell(row.get(c)) for c in columns))
    stdout.print(table)


@app.command("explain")
def explain_command(
    reference: str = typer.Argument(..., metavar="DEVICE", help="Device id, asset tag, MAC, IP or serial."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    limit: int = typer.Option(20, "--limit", min=1, help="Findings to show in the table (JSON has all)."),
) -> None:
    """Why a device has its score, level and SSVC priority: every number in words."""
    detail = run(explain, run(engine), reference)
    if as_json:
        print_json(detail)
        return
    e = detail["explanation"]
    stdout.print(f"[bold]{cell(_name(detail['device']))}[/]: {cell(e['summary'])}")
    stdout.print(f"  matrix: {cell(e['matrix'])}")
    stdout.print(f"  score: {cell(e['score'])}")
    stdout.print(f"  likelihood {e['likelihood']['level']} ({e['likelihood']['name']}) because:")
    for line in e["likelihood"]["because"]:
        stdout.print(f"    - {cell(line)}")
    stdout.print(f"  severity {e['severity']['level']} ({e['severity']['name']}) because:")
    for line in e["severity"]["because"]:
        stdout.print(f"    - {cell(line)}")
    stdout.print(f"  SSVC: {cell(e['ssvc']['because'])}")
    for line in e.get("acceptances", []):
        stdout.print(f"  acceptance: {cell(line)}")
    stdout.print(f"  [dim]policy {detail['policy_version']}[/]")
    found = detail["findings"]
    if found:
        rows = [
            {"vulnerability": f["vulnerability"], "status": f["status"], "likelihood": f["likelihood"],
             "ssvc": _styled(f["ssvc"], _PRIORITY_STYLE), "cvss": f["cvss"],
             "epss": None if f["epss"] is None else f"{f['epss']:.4f}", "kev": f["kev"], "note": f["note"]}
            for f in found[:limit]
        ]  # fmt: skip
        _table(rows, ["vulnerability", "status", "likelihood", "ssvc", "cvss", "epss", "kev", "note"], "Findings")
        if len(found) > limit:
            stdout.print(f"[dim]{len(found) - limit:,} more finding(s): --limit N or --json[/]")


@app.command("simulate")
def simulate_command(
    scenario: Path = typer.Argument(..., metavar="SCENARIO.yaml", help="The what-if changes (see docs/risk.md)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    limit: int = typer.Option(30, "--limit", min=1, help="Devices to show in the table."),
) -> None:
    """Show scores and priorities before and after a what-if scenario; nothing is stored."""
    result = run(simulate, run(engine), scenario)
    document = result.as_dict()
    if as_json:
        print_json(document)
        return
    stdout.print(f"[bold]What if: {cell(result.scenario)}[/]")
    for note in result.notes:
        stdout.print(f"  - {cell(note)}")

    def side(s: dict[str, Any]) -> str:
        return f"{s['score']:.1f} {_styled(s['level'], _LEVEL_STYLE)} {_styled(s['ssvc'], _PRIORITY_STYLE)}"

    rows = [
        {"device": f"{d['device']['id']} {d['device']['name'] or ''}", "before": side(d["before"]),
         "after": side(d["after"]), "change": f"{d['score_change']:+.1f}"}
        for d in document["devices"][:limit]
    ]  # fmt: skip
    _table(rows, ["device", "before", "after", "change"], "Devices that change")
    o = document["overall"]
    for label in ("before", "after"):
        s = o[label]
        priorities = ", ".join(f"{k} {v}" for k, v in s["priorities"].items())
        stdout.print(f"  {label:>6}: mean {s['mean_score']:.1f}, max {s['max_score']:.1f}; {cell(priorities)}")
    shown = min(limit, len(document["devices"]))
    stdout.print(f"[dim]{len(document['devices']):,} device(s) change; {shown} shown; nothing was stored[/]")


@app.command("rescore")
def rescore_command(
    device: list[str] = typer.Option([], "--device", help="Only this device (repeatable)."),
    vulnerability: list[str] = typer.Option([], "--vulnerability", help="Only devices with this CVE (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Score every device (or only some) with the current policy and store the scores."""
    database = run(engine)
    ids: list[int] | None = None
    if device or vulnerability:
        chosen = {run(find_device_id, database, ref) for ref in device}
        chosen |= set(run(devices_affected_by, database, vulnerability))
        ids = sorted(chosen)
    report = run(rescore, database, ids)
    if as_json:
        print_json(report.as_dict())
        return
    levels = ", ".join(f"{k} {v:,}" for k, v in sorted(report.levels.items()))
    stdout.print(f"{report.devices:,} device(s) scored in {report.seconds:.1f} s, {report.changed:,} changed "
        f"(policy {report.policy_version}): "
                 f"{levels}", markup=False)  # fmt: skip


@app.command("accept")
def accept_command(
    reference: str = typer.Argument(..., metavar="DEVICE", help="Device id, asset tag, MAC, IP or serial."),
    vulnerability: str | None = typer.Option(None, "--vulnerability", help="Accept only this finding (default: all)."),
    approver: str = typer.Option(..., "--approver", help="Who accepts the risk."),
    justification: str = typer.Option(..., "--justification", help="Why."),
    control: list[str] = typer.Option([], "--control", help="Compensating control in place (repeatable)."),
    expires: str = typer.Option(..., "--expires", help="Expiry date, YYYY-MM-DD (the finding re-opens that day)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Accept a device's risk, or one finding's, until an expiry date."""
    expires_on = run(_date, expires)
    new_id = run(accept, run(engine), reference, vulnerability_id=vulnerability, approver=approver,
                 justification=justification, controls=control, expires_on=expires_on)  # fmt: skip
    if as_json:
        print_json({"id": new_id, "expires_on": expires_on})
        return
    stdout.print(f"acceptance {new_id} stored until {expires_on.isoformat()}; the device was rescored", markup=False)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise UsageError(f"--expires {text!r} is not a date; use YYYY-MM-DD") from e


@app.command("acceptances")
def acceptances_command(
    show_all: bool = typer.Option(False, "--all", help="Also show revoked acceptances."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Risk acceptances with their status: active, expired (finding re-opened) or revoked."""
    rows = run(list_acceptances, run(engine), include_revoked=show_all)
    if as_json:
        print_json({"acceptances": rows, "total": len(rows)})
        return
    print_table(rows, ["id", "device_id", "vulnerability", "status", "approver", "expires_on", "controls",
                       "justification"])  # fmt: skip


@app.command("revoke")
def revoke_command(acceptance_id: int = typer.Argument(..., metavar="ID", help="Acceptance id.")) -> None:
    """Revoke an acceptance (kept for the record); the device is rescored."""
    run(revoke, run(engine), acceptance_id)
    stdout.print(f"acceptance {acceptance_id} revoked; the device was rescored", markup=False)


@app.command("rubric")
def rubric_command(
    manufacturer: str = typer.Argument(..., help="Manufacturer, as in the inventory."),
    model: str = typer.Argument(..., help="Model, as in the inventory."),
    answers: list[str] = typer.Argument(..., metavar="CODE=ANSWER...", help="e.g. XAVN=YES XAVT=NO XCT=HIGH."),
    vulnerability: str = typer.Option("", "--vulnerability", help="Answers for this vulnerability only."),
    answered_by: str = typer.Option(..., "--by", help="Who answered."),
) -> None:
    """Store medical-device CVSS rubric answers for a model (or one vulnerability on it); rescore to apply."""
    parsed: dict[str, str] = {}
    for item in answers:
        code, sep, value = item.partition("=")
        if not sep:
            run(_raise, UsageError(f"rubric answer {item!r} is not CODE=ANSWER, e.g. XAVN=YES"))
        parsed[code] = value
    stored = run(set_rubric_answers, run(engine), manufacturer, model, parsed, vulnerability_id=vulnerability,
                 answered_by=answered_by)  # fmt: skip
    stdout.print(f"{len(stored)} answer(s) stored for {manufacturer} {model}; run `wardwatch risk rescore`",
                 markup=False)  # fmt: skip
