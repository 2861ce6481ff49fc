"""``wardwatch discover``: identify devices from captures and Zeek logs, and add them to the inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from wardwatch.cli._context import engine, run, stderr, stdout
from wardwatch.cli._output import print_json, print_table


def discover(
    paths: list[Path] = typer.Argument(..., help="Capture files (pcap, pcapng, .gz) and/or Zeek log folders or files."),
    as_json: bool = typer.Option(False, "--json", help='Print {"devices": [...], "stats": {...}} as JSON.'),
    no_store: bool = typer.Option(False, "--no-store", help="Only report; do not add to the inventory."),
) -> None:
    """Identify every device that the traffic reveals, with evidence; flag insecure behaviour."""
    from wardwatch.services.discovery import discover as run_discovery  # noqa: PLC0415 - heavy imports

    database = None if no_store else run(engine)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=stderr, transient=True, disable=as_json or not stderr.is_terminal,
    ) as bar:  # fmt: skip
        tasks: dict[str, Any] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"Reading {name}", total=total)
            bar.update(tasks[name], completed=done)

        report = run(run_discovery, paths, database, progress)
    document = report.as_dict()
    if as_json:
        print_json(document)
        return
    devices = document["devices"]
    rows = [
        {
            "ip": d["ip"], "mac": d["mac"], "vendor": d["vendor"], "model": d["model"],
            "type": d["device_type"] or d["category"], "os": d["os"],
            "hostname": ", ".join(d["hostnames"][:2]), "protocols": ", ".join(d["protocols"]),
            "findings": ", ".join(sorted({f["kind"] for f in d["findings"]})),
        }
        for d in devices
    ]  # fmt: skip
    print_table(rows, ["ip", "mac", "vendor", "model", "type", "os", "hostname", "protocols", "findings"])
    stats = document["stats"]
    stdout.print(
        f"{stats['devices']} devices ({stats['identified']} identified) from {len(stats['files'])} file(s); "
        f"{stats['observations']:,} observations, {stats['conversations']:,} conversations"
    )
    if stats["findings"]:
        stdout.print("[bold red]Findings:[/] " + ", ".join(f"{k} {v}" for k, v in sorted(stats["findings"].items())))
    inventory = stats.get("inventory")
    if inventory:
        if inventory["already_stored"]:
            stdout.print("[dim]These files were stored before; the inventory is unchanged.[/]")
        else:
            stdout.print(
                f"Inventory: {inventory['matched']} matched, {inventory['unknown_added']} unknown devices added, "
                f"{inventory['changed_values']} values changed."
            )
