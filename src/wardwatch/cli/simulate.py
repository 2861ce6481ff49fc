"""``wardwatch simulate`` (a sample hospital) and ``wardwatch demo`` (the whole product on it)."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import typer
from sqlalchemy import Engine

from wardwatch.cli._context import UsageError, run, settings, stdout
from wardwatch.domain.inventory import LIFE_CRITICAL
from wardwatch.services.devices import DeviceFilter, iter_devices
from wardwatch.services.inventory_import import import_cmms
from wardwatch.settings import Settings
from wardwatch.store.database import connect, migrate

Size = Literal["small", "medium", "large", "xl"]
_DEMO_CVES = 3_000  # enough for real hits on the sample hospital, quick to match
_SIZES = ("small", "medium", "large", "xl")


def _generate(size: str, seed: int, out: Path, feeds: bool | None = None, cves: int | None = None) -> list[Path]:
    from wardwatch import simulate as generator  # noqa: PLC0415 - only these commands need it
    from wardwatch.simulate._alarms import write_alarms  # noqa: PLC0415 - alarms/ topology and deliveries
    from wardwatch.simulate._network import write_network  # noqa: PLC0415 - network/ model and configs

    if size not in _SIZES:
        raise UsageError(f"--size {size!r} is not one of {', '.join(_SIZES)}")
    hospital = generator.generate(size, seed)  # type: ignore[arg-type]
    out.mkdir(parents=True, exist_ok=True)
    written = generator.write(hospital, out, feeds=feeds, cves=cves) + write_network(hospital, out)
    return written + write_alarms(hospital, out)


def simulate(
    size: str = typer.Option("small", "--size", help="small (~200 devices), medium (~5k), large (~50k), xl (~200k)."),
    seed: int = typer.Option(1, "--seed", help="Same seed, same hospital."),
    out: Path = typer.Option(..., "--out", help="Folder to write the sample hospital's files to."),
    feeds: bool = typer.Option(
        False,
        "--feeds/--no-feeds",
        help="Also write vulnerability feeds (NVD, EPSS, KEV, CSAF, SBOMs) in real formats.",
    ),
    cves: int | None = typer.Option(
        None, "--cves", min=1, help="CVE records in the feeds (default by size: 2k, 20k, 100k, 250k)."
    ),
) -> None:
    """Write a realistic, deterministic sample hospital: CMMS export, traffic, Zeek logs, feeds, ground truth."""
    with stdout.status(f"Generating a {size} hospital (seed {seed})…"):
        files = run(_generate, size, seed, out, feeds, cves)
    folders: dict[Path, int] = {}
    for path in files:
        folders[path.parent] = folders.get(path.parent, 0) + 1
    for path in files:
        if folders[path.parent] <= 12:
            stdout.print(f"  wrote {path}")
    for folder, count in folders.items():
        if count > 12:
            stdout.print(f"  wrote {count} files in {folder}")


def demo(
    keep: bool = typer.Option(False, "--keep", help="Keep an existing demo database instead of starting afresh."),
    seed: int = typer.Option(7, "--seed", help="Seed of the sample hospital."),
    serve_after: bool = typer.Option(False, "--serve", help="Then serve the web UI and API on it (until Ctrl+C)."),
    port: int = typer.Option(8000, "--port", help="Port of --serve (on 127.0.0.1)."),
) -> None:
    """Generate the small sample hospital and run every capability on it in a fresh embedded database."""
    from wardwatch.services.discovery import discover  # noqa: PLC0415 - heavy imports
    from wardwatch.services.vuln_findings import import_and_match, stored_findings  # noqa: PLC0415

    home = settings().home / "demo"
    if home.exists() and not keep:
        run(shutil.rmtree, home)
    sample = home / "sample-hospital"
    stdout.print(f"[bold]Wardwatch demo[/] in {home}")
    with stdout.status("1/5 Generating the sample hospital (CMMS export, a day of traffic, Zeek logs, feeds)…"):
        run(_generate, "small", seed, sample, True, _DEMO_CVES)
    stdout.print(
        "  ✓ sample hospital generated: 2 sites, a messy CMMS export, traffic.pcap, Zeek logs and vulnerability "
        "feeds (NVD, EPSS, KEV, CSAF, SBOMs)"
    )
    database = run(connect, f"sqlite:///{home / 'wardwatch.db'}")
    with stdout.status("2/5 Creating the database…"):
        run(migrate, database)
    stdout.print("  ✓ database created")
    with stdout.status("3/5 Importing the CMMS export…"):
        report = run(import_cmms, database, sample / "cmms_export.csv")
        again = run(import_cmms, database, sample / "cmms_export.csv")
    stdout.print(
        f"  ✓ {report.rows_read} CMMS rows → {report.created} devices "
        f"({report.duplicate_rows} duplicate rows merged, {len(report.unknown_manufacturers)} unknown vendors); "
        f"re-import changed {again.change_count} values"
    )
    with stdout.status("4/5 Discovering devices from the day's traffic…"):
        found = run(discover, [sample / "traffic.pcap"], database)
    stored = found.stored
    findings: Counter[str] = Counter(kind for v in found.devices for kind in {f.kind.value for f in v.record.findings})
    stdout.print(
        f"  ✓ {len(found.devices)} devices seen on the network, "
        f"{sum(1 for v in found.devices if v.identification.manufacturer)} identified; "
        f"{stored.matched if stored else 0} matched the CMMS, {stored.created if stored else 0} unknown"
    )
    with stdout.status("5/5 Matching the devices against the vulnerability feeds…"):
        feeds = sample / "feeds"
        demo_settings = Settings(home=home)
        _, links, _ = run(
            import_and_match,
            database,
            demo_settings,
            [
                feeds / "csaf",
                feeds / "known_exploited_vulnerabilities.json",
                feeds / "epss_scores.csv.gz",
                feeds / "nvd",
                feeds / "sbom",
                feeds / "mds2",
            ],
        )
        matched = run(stored_findings, database, demo_settings)
    confirmed = [f for f in matched if f["confidence"] == "confirmed"]
    stdout.print(
        f"  ✓ {len(matched)} device × vulnerability findings ({len(confirmed)} confirmed) on "
        f"{len({f['device']['id'] for f in matched})} devices, "
        f"{sum(1 for f in matched if f['component'])} of them in SBOM components "
        f"({sum(1 for s, _, _ in links if not s.startswith('mds2/'))} models' SBOMs and "
        f"{sum(1 for s, _, _ in links if s.startswith('mds2/'))} MDS2 forms linked)"
    )
    from wardwatch.services import network_analysis  # noqa: PLC0415 - heavy imports
    from wardwatch.services.network import import_network  # noqa: PLC0415
    from wardwatch.services.risk import rescore  # noqa: PLC0415

    with stdout.status("Importing the network model (zones and firewall rules) and checking it…"):
        network = run(import_network, database, [sample / "network" / "network.yaml"])
        checked = run(network_analysis.check, database)
        paths = run(network_analysis.attack_paths, database, top=10)
    stdout.print(
        f"  ✓ network model: {network.zones} zones, {network.rules} rules; {len(checked['violations'])} violations "
        f"({checked['by_severity'].get('high', 0)} high); {paths['total']} attack paths among the top 10"
    )
    if paths["paths"]:
        best = paths["paths"][0]
        hop = best["hops"][-1]
        exploit = f"{hop['exploit']['id']} {hop['exploit']['name']}"
        stdout.print(
            f"  [bold red]riskiest path[/]: from zone {best['entry']} to {best['target']['name']} "
            f"({best['target']['device_type']}) over {hop['service']} ({exploit})",
            highlight=False,
        )
    clinician_unit = _demo_alarms(database, sample)
    with stdout.status("Scoring the risk of every device…"):
        scored = run(rescore, database)
    levels = ", ".join(f"{level} {count}" for level, count in sorted(scored.levels.items(), key=lambda i: -i[1]))
    stdout.print(f"  ✓ risk scored for {scored.devices} devices ({levels})")
    _demo_remediation(database)
    _summary(database, findings)
    kev = [f for f in confirmed if f["kev"]]
    if kev:
        devices_kev = {f["device"]["id"]: f["device"] for f in kev}
        stdout.print(
            f"  [bold red]{len(kev)}[/] confirmed findings are on CISA's Known Exploited list, on {len(devices_kev)} "
            "devices — e.g. "
            + "; ".join(
                list(
                    dict.fromkeys(
                        " ".join(str(d.get(k) or "") for k in ("manufacturer", "model")).strip()
                        for d in devices_kev.values()
                    )
                )[:3]
            )
        )
    stdout.print()
    stdout.print(f"Explore it (the demo's data is in {home}, so point WARDWATCH_HOME there first):")
    stdout.print(f"  export WARDWATCH_HOME={home}")
    stdout.print("  .venv/bin/wardwatch devices list --criticality life-sustaining")
    stdout.print("  .venv/bin/wardwatch devices list --seen unknown")
    stdout.print("  .venv/bin/wardwatch devices show 1")
    stdout.print(f"  .venv/bin/wardwatch discover {sample / 'zeek'} --no-store")
    stdout.print("  .venv/bin/wardwatch findings --kev --confidence confirmed")
    stdout.print("  .venv/bin/wardwatch risk --top 10")
    stdout.print("  .venv/bin/wardwatch network check")
    stdout.print("  .venv/bin/wardwatch network paths --top 3")
    stdout.print("  .venv/bin/wardwatch network blast-radius --seed vendor-remote --worst-case")
    stdout.print("  .venv/bin/wardwatch alarms verify")
    stdout.print("  .venv/bin/wardwatch remediation list --open --limit 10")
    stdout.print(f"  .venv/bin/wardwatch alarms monitor {sample / 'alarms' / 'deliveries.csv'} --no-store")
    from wardwatch.cli.serve import announce_demo_users, serve_settings  # noqa: PLC0415 - web stack on demand

    announce_demo_users(database, port, keep=keep, unit=clinician_unit)
    if serve_after:
        serve_settings(demo_settings, "127.0.0.1", port)


def _summary(database: Engine, findings: Counter[str]) -> None:
    devices = list(iter_devices(database, DeviceFilter()))
    today = datetime.now(UTC).date()
    by_criticality = Counter(d["criticality"] or "unknown" for d in devices)
    unsupported = [d for d in devices if d["end_of_support"] is not None and d["end_of_support"] <= today]
    unsupported_critical = [d for d in unsupported if d["criticality"] in LIFE_CRITICAL]
    stdout.print()
    stdout.print("[bold]What Wardwatch sees[/]")
    stdout.print(
        f"  {len(devices)} devices; by criticality: " + ", ".join(f"{k} {v}" for k, v in by_criticality.most_common())
    )
    stdout.print(
        f"  [bold red]{len(unsupported)} devices are past their manufacturer's end of support[/]"
        f" — {len(unsupported_critical)} of them life-sustaining or life-supporting"
    )
    words = {
        "phi_cleartext": (
            "send patient data (HL7 with PID) in cleartext",
            "sends patient data (HL7 with PID) in cleartext",
        ),
        "cleartext_dicom": ("accept DICOM images without TLS", "accepts DICOM images without TLS"),
        "smbv1": (
            "still speak SMBv1 (the protocol WannaCry spread by)",
            "still speaks SMBv1 (the protocol WannaCry spread by)",
        ),
        "snmp_default_community": ("answer SNMP with a default community", "answers SNMP with a default community"),
        "external_peer": ("talk to the internet", "talks to the internet"),
        "cleartext_credentials": ("send passwords in cleartext", "sends passwords in cleartext"),
        "telnet": ("offer Telnet", "offers Telnet"),
    }
    for kind, count in findings.most_common():
        if kind in words:
            plural, singular = words[kind]
            stdout.print(f"  [bold red]{count}[/] {'devices ' + plural if count != 1 else 'device ' + singular}")


def _demo_remediation(database: Engine) -> None:
    """Work items from the findings (one per device model and vulnerability), due by their SSVC priority."""
    from wardwatch.domain.permissions import SYSTEM  # noqa: PLC0415
    from wardwatch.services import remediation  # noqa: PLC0415

    made = run(remediation.sync, database, SYSTEM)
    items = run(remediation.list_items, database, SYSTEM, open_only=True, limit=1_000_000)
    urgent = sum(1 for i in items if i["priority"] in ("immediate", "out-of-cycle"))
    stdout.print(f"  ✓ remediation: {made['items']} work items from the findings ({urgent} immediate or "
                 "out-of-cycle under their SLA)")  # fmt: skip


def _demo_alarms(database: Engine, sample: Path) -> str | None:
    """Import the sample alarm network and its delivery records, verify every budget after one failure, print what
    fails and what fixes it; returns the unit whose own Wi-Fi design fails (the demo clinician's unit)."""
    from wardwatch.domain.permissions import SYSTEM  # noqa: PLC0415
    from wardwatch.services import alarms  # noqa: PLC0415

    with stdout.status("Verifying clinical alarm delivery after any single failure, and reading delivery records…"):
        run(alarms.import_topology, database, sample / "alarms" / "topology.yaml")
        report = run(alarms.verify, database, SYSTEM, 1)
        delivered = run(alarms.import_deliveries, database, SYSTEM, [sample / "alarms" / "deliveries.csv"])
    summary = delivered["summary"]
    stdout.print(
        f"  ✓ alarm assurance: {report['flows']} alarm flows checked after any single failure — "
        f"[bold red]{report['failing']}[/] miss their budget; {delivered['records']:,} delivery records, "
        f"{len(summary['breaches'])} breaches, {len(summary['silences'])} heartbeat silence(s)",
        highlight=False,
    )
    points = report["single_points_of_failure"]
    if points:
        stdout.print(f"  [bold red]single point of failure[/]: {points[0]['label']} (delays alarms of "
                     f"{len(points[0]['units'])} units)", highlight=False)  # fmt: skip
    labels = {p["element"]: p["label"] for p in points}
    wireless = next(
        (
            (r, failure[0])
            for r in report["results"]
            if not r["passed"]
            for failure in r["breaking_sets"]
            if len(failure) == 1 and failure[0].startswith("rf-")
        ),
        None,
    )
    if wireless is not None:
        result, group = wireless
        stdout.print(
            f"  [bold red]{result['unit']}[/]: {result['priority']}-priority {result['alarm_type']} alarms also miss "
            f"their {result['budget_s']:g} s budget when one thing fails: {labels.get(group, group)}",
            highlight=False,
        )
    advice = report.get("recommendations") or {}
    if advice.get("additions"):
        fixes = "; ".join(a["description"] for a in advice["additions"][:3])
        stdout.print(f"  fix: {fixes}", markup=False)
    return str(wireless[0]["unit"]) if wireless is not None else None
