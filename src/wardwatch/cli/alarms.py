"""``wardwatch alarms``: prove that clinical alarms arrive within the clinicians' budgets after failures, and
monitor real deliveries (docs/alarms.md)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer

from wardwatch.cli._context import UsageError, engine, run, run_checked, settings, stdout
from wardwatch.cli._output import print_json, print_table

app = typer.Typer(
    help="Clinical alarm assurance: delivery budgets verified under failures and jamming, monitored live.",
    no_args_is_help=True,
)


def _secs(value: float | None) -> str:
    return "no route" if value is None or (isinstance(value, float) and math.isinf(value)) else f"{value:.2f} s"


@app.command("import")
def import_command(
    path: Path = typer.Argument(..., metavar="TOPOLOGY.yaml", help="The alarm topology (docs/alarms.md)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check the topology file and store it as the current alarm topology (budgets it carries are taken only for
    units, alarm types and priorities that have none yet)."""
    from wardwatch.services.alarms import import_topology  # noqa: PLC0415 - keep `--help` fast

    report = run(import_topology, run(engine), path)
    if as_json:
        print_json(report)
        return
    state = f"stored as version {report['version']}" if report["changed"] else "unchanged (already the current one)"
    stdout.print(
        f"alarm topology {state}: {report['nodes']} nodes, {report['links']} links, {report['groups']} shared-risk "
        f"groups, {report['sources']} alarm sources; {report['budgets_taken']} budget(s) taken from the file, "
        f"{report['budgets_kept']} already set in Wardwatch (kept)",
        markup=False,
    )
    for warning in report.get("warnings", []):
        stdout.print(f"[bold yellow]warning:[/] {warning}")


def _print_report(report: dict[str, Any], limit: int) -> None:
    failing = [r for r in report["results"] if not r["passed"]]
    if report["passed"]:
        verdict = "every budget holds"
    elif report["failing"]:
        verdict = f"{report['failing']} of {report['flows']} miss"
    else:
        verdict = "some budgets could not be verified (below)"
    stdout.print(
        f"{report['topology']}: {report['flows']} alarm flow(s) checked against every failure of up to "
        f"{report['k']} element(s) — {verdict} ({report['searches']:,} route searches)",
        markup=False,
    )
    if failing:
        rows = [
            {"unit": r["unit"], "source": r["source_name"], "alarm": f"{r['priority']} {r['alarm_type']}",
             "budget": _secs(r["budget_s"]), "worst": _secs(r["worst_case_s"]),
             "after": " + ".join(r["failure_labels"]) or "-"}
            for r in failing[: limit or None]
        ]  # fmt: skip
        print_table(rows, ["unit", "source", "alarm", "budget", "worst", "after"], title="Budgets missed")
        if limit and len(failing) > limit:
            stdout.print(f"[dim]{len(failing) - limit} more: --limit 0 or --json[/]")
    for key, what in (("unmatched_budgets", "no alarm source of this topology raises its alarms"),
                      ("unverifiable_budgets", "it names a recipient this topology lacks")):  # fmt: skip
        for budget in report.get(key, []):
            stdout.print(f"[bold red]not verified[/]: budget {budget} — {what}", highlight=False)
    points = report["single_points_of_failure"]
    if points:
        print_table(
            [{"element": p["label"], "kind": p["kind"], "units": ", ".join(p["units"][:4]) +
              (f" +{len(p['units']) - 4}" if len(p["units"]) > 4 else ""), "devices": p["devices"],
              "flows": len(p["flows"])} for p in points[: limit or None]],
            ["element", "kind", "units", "devices", "flows"], title="Single points of failure",
        )  # fmt: skip
    advice = report.get("recommendations")
    if advice and advice["additions"]:
        stdout.print("[bold]Recommended additions[/] (in order):")
        for number, addition in enumerate(advice["additions"], 1):
            stdout.print(f"  {number}. {addition['description']} — fixes {len(addition['fixes'])} flow(s)",
                         markup=False)  # fmt: skip
        rest = "every budget then holds" if advice["complete"] else f"{len(advice['still_failing'])} still miss"
        stdout.print(f"  → {rest}", markup=False)


@app.command("verify")
def verify_command(
    path: Path | None = typer.Argument(
        None,
        metavar="[TOPOLOGY.yaml]",
        help="Verify this file with its own budgets (default: the stored topology "
        "with the budgets in force, kept as evidence).",
    ),  # fmt: skip
    k: int = typer.Option(1, "--k", min=0, max=3, help="Failures to survive (nodes, links or shared-risk groups)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (results, single_points_of_failure, …)."),
    limit: int = typer.Option(20, "--limit", min=0, help="Rows per table (0: all)."),
) -> None:
    """The worst-case delivery time of every alarm source and budget after any k failures; exit 1 when a budget
    is missed."""
    from wardwatch.domain.permissions import SYSTEM  # noqa: PLC0415
    from wardwatch.ingest.alarm_topology import read_alarm_topology  # noqa: PLC0415
    from wardwatch.services import alarms  # noqa: PLC0415

    if path is not None:
        topology = run(read_alarm_topology, path)
        if not topology.budgets:
            raise_usage = f"{path} has no budgets; add a budgets: section or run `wardwatch alarms verify` on the "
            raise_usage += "stored topology with the budgets approved in Wardwatch"
            run(_raise, raise_usage)
        report = run_checked(alarms.verify_topology, topology, k)
    else:
        report = run_checked(alarms.verify, run(engine), SYSTEM, k)
    if as_json:
        print_json(report)
    else:
        _print_report(report, limit)
    if not report["passed"]:
        raise typer.Exit(1)


def _raise(message: str) -> None:
    raise UsageError(message)


@app.command("budgets")
def budgets_command(
    unit: str | None = typer.Option(None, "--unit", help="Only this unit (and '*' budgets)."),
    history: bool = typer.Option(False, "--history", help="Every version, superseded ones included."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The clinicians' delivery budgets: who approved each and when."""
    from wardwatch.domain.permissions import SYSTEM  # noqa: PLC0415
    from wardwatch.services.alarms import list_budgets  # noqa: PLC0415

    rows = run(list_budgets, run(engine), SYSTEM, unit=unit, history=history)
    if as_json:
        print_json(rows)
        return
    print_table(
        [{"id": r["id"], "budget": r["key"], "v": r["version"], "max": _secs(r["max_delivery_s"]),
          "primary": ", ".join(r["primary"]), "escalation": ", ".join(r["escalation"]) +
          (f" after {r['escalate_after_s']:g} s" if r["escalation"] else ""), "status": r["status"],
          "approved": f"{r['approved_by']} {(r['approved_at'] or '')[:10]}" if r["approved_by"] else "-"}
         for r in rows],
        ["id", "budget", "v", "max", "primary", "escalation", "status", "approved"], title="Alarm delivery budgets",
    )  # fmt: skip


@app.command("monitor")
def monitor_command(
    paths: list[Path] = typer.Argument(..., metavar="FILE...", help="Delivery records: CSV, JSON lines or syslog."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    store: bool = typer.Option(True, "--store/--no-store", help="Keep the records in the database (for the UI)."),
) -> None:
    """Latency percentiles per path and unit, budget breaches and missing heartbeats in delivery records."""
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from wardwatch.domain.permissions import SYSTEM  # noqa: PLC0415
    from wardwatch.ingest.alarm_deliveries import read_delivery_records  # noqa: PLC0415
    from wardwatch.services import alarms  # noqa: PLC0415
    from wardwatch.store.database import ensure_ready  # noqa: PLC0415
    from wardwatch.store.errors import StoreError  # noqa: PLC0415

    if store:
        report = run(alarms.import_deliveries, run(engine), SYSTEM, paths)
        summary = report["summary"]
    else:
        records = [record for p in paths for record in run(read_delivery_records, p)]
        try:  # read-only: the budgets in force judge the records when there is a database
            url = settings().resolved_database_url
            if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
                raise StoreError("no database")  # do not create an empty one as a side effect
            database = engine()
            ensure_ready(database)
            budgets = alarms.budgets_in_force(database)
        except (StoreError, SQLAlchemyError):  # no database: the records alone (lost ones still count)
            budgets = ()
            stdout.print("no database with approved budgets: only lost deliveries count as breaches", markup=False)
        summary = alarms.summarize_records(records, budgets)
        report = {"records": len(records), "summary": summary}
    if as_json:
        print_json(report)
        return
    _print_summary(report, summary)


def _print_summary(report: dict[str, Any], summary: dict[str, Any]) -> None:
    stored = f", {report['new']} new in the database" if "new" in report else ""
    stdout.print(f"{report['records']:,} delivery record(s){stored}", markup=False)

    def pct(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f} s"

    print_table(
        [{"path": p.get("path"), "unit": p.get("unit") or "", "priority": p.get("priority") or "heartbeat",
          "count": p.get("count"), "lost": p.get("lost"), "late": p.get("late"), "p50": pct(p.get("p50_s")),
          "p95": pct(p.get("p95_s")), "p99": pct(p.get("p99_s")), "max": pct(p.get("max_s"))}
         for p in summary.get("paths", [])],
        ["path", "unit", "priority", "count", "lost", "late", "p50", "p95", "p99", "max"], title="Latency per path",
    )  # fmt: skip
    for key, title in (("breaches", "Budget breaches"), ("silences", "Missing heartbeats"), ("alerts", "Alerts")):
        items = summary.get(key) or []
        if items:
            stdout.print(f"[bold]{title}[/]: {len(items)}")
            for item in items[:10]:
                stdout.print("  " + _sentence(item), markup=False)


def _sentence(item: dict[str, Any]) -> str:
    if isinstance(item.get("message"), str):  # an alert
        return f"[{item.get('severity', '')}] {item['message']}"
    if "sent_at" in item:  # a breach
        took = "lost" if item.get("latency_s") is None else f"{item['latency_s']:.1f} s"
        budget = f"budget {item['budget_s']:g} s ({item['budget_key']})" if item.get("budget_s") else "no budget"
        return f"{str(item['sent_at'])[:19]} {item.get('path')}: {took}, {budget} — {item.get('origin')}"
    if "interval_s" in item:  # a silence
        end = "still silent" if item.get("ongoing") else f"until {str(item.get('end'))[:19]}"
        return (f"{item.get('source')} -> {item.get('recipient')}: no heartbeat for {item['seconds']:.0f} s from "
                f"{str(item.get('start'))[:19]} {end} (one expected every {item['interval_s']:g} s)")  # fmt: skip
    return ", ".join(f"{k}={v}" for k, v in item.items() if v is not None)


@app.command("probe")
def probe_command(
    config: Path = typer.Argument(..., metavar="CONFIG.yaml", help="Endpoints to send heartbeats to."),
    rounds: int | None = typer.Option(None, "--rounds", min=1, help="Stop after N rounds (default: until Ctrl-C)."),
    duration: float | None = typer.Option(None, "--duration", min=0.1, help="Stop after S seconds."),
    store: bool = typer.Option(True, "--store/--no-store", help="Keep the results in the database."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines, one per heartbeat."),
) -> None:
    """Send real heartbeat alarms (HL7 ORU over MLLP, TCP or UDP echo) at an interval and record their delivery;
    exit 1 when any was not delivered."""
    from wardwatch.domain.permissions import SYSTEM  # noqa: PLC0415
    from wardwatch.ingest.alarm_probe_config import read_probe_config  # noqa: PLC0415
    from wardwatch.services import alarm_probe, alarms  # noqa: PLC0415

    probe_config = run(read_probe_config, config)
    database = run(engine) if store else None

    def show(result: Any) -> None:
        record = result.record
        if as_json:
            import json  # noqa: PLC0415

            typer.echo(
                json.dumps(
                    {
                        "endpoint": record.recipient,
                        "sent": record.sent_at.isoformat(),
                        "latency_s": record.latency_s,
                        "reason": getattr(result, "reason", None),
                    }
                )
            )
            return
        state = f"{record.latency_s:.3f} s" if record.latency_s is not None else "NOT DELIVERED"
        reason = getattr(result, "reason", None)
        stdout.print(f"{record.sent_at:%H:%M:%S} {record.recipient}: {state}" + (f" ({reason})" if reason else ""),
                     markup=False)  # fmt: skip

    if rounds is None and duration is None:
        stdout.print("probing until Ctrl-C…", markup=False)
    results = run(alarm_probe.run_probe, probe_config, rounds=rounds, duration_s=duration, on_record=show)
    if database is not None and results:
        new = run(alarms.store_records, database, SYSTEM, [r.record for r in results], what=f"probe {config.name}")
        if not as_json:
            stdout.print(f"{new} heartbeat record(s) stored", markup=False)
    lost = sum(not r.delivered for r in results)
    if lost:  # a monitoring job (cron, a service check) sees the path is down
        if not as_json:
            stdout.print(f"{lost} of {len(results)} heartbeat(s) not delivered", markup=False)
        raise typer.Exit(1)


@app.command("evidence")
def evidence_command(
    unit: str = typer.Option(..., "--unit", help="The clinical unit the record is for."),
    out: Path = typer.Option(..., "--out", help="Where to write it: .pdf or .html."),
    days: int = typer.Option(30, "--days", min=1, max=3660, help="Monitoring window, back from the newest record."),
) -> None:
    """The unit's verification & validation record (budgets, topology version, results, approvals, monitoring)
    for the IEC 80001-1 risk-management file."""
    from wardwatch.domain.permissions import SYSTEM  # noqa: PLC0415
    from wardwatch.services.alarm_evidence import evidence  # noqa: PLC0415

    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".html", ".htm"):
        raise typer.BadParameter("--out must end in .pdf or .html")
    data = run_checked(evidence, run(engine), SYSTEM, unit, fmt="pdf" if suffix == ".pdf" else "html", days=days)
    run(out.write_bytes, data)
    stdout.print(f"written {out} ({len(data):,} bytes)", markup=False)


@app.command("draft")
def draft_command(
    out: Path = typer.Option(..., "--out", help="Where to write the draft topology YAML."),
    site: str | None = typer.Option(None, "--site", help="Only this site's units."),
) -> None:
    """A first alarm topology from the inventory: a source per unit and alarm-raising device kind (with counts) and
    placeholders marked (EDIT) for the network design; budgets are unapproved local-policy defaults."""
    from wardwatch.domain.permissions import SYSTEM  # noqa: PLC0415
    from wardwatch.services.alarm_draft import draft_topology  # noqa: PLC0415

    text = run_checked(draft_topology, run(engine), SYSTEM, site=site)
    run(out.write_text, text, encoding="utf-8")
    sources = text.count("device_kind:")
    stdout.print(f"written {out}: {sources} alarm source group(s) from the inventory; edit the (EDIT) placeholders, "
                 f"then `wardwatch alarms import {out}`", markup=False)  # fmt: skip
