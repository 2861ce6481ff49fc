"""``wardwatch simulate`` (a sample hospital) and ``wardwatch demo`` (the whole product on it)."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import typer

from wardwatch.cli._context import UsageError, run, settings, stdout
from wardwatch.services.devices import DeviceFilter, iter_devices
from wardwatch.services.inventory_import import import_cmms
from wardwatch.store.database import connect, migrate

Size = Literal["small", "medium", "large", "xl"]
_SIZES = ("small", "medium", "large", "xl")


def _generate(size: str, seed: int, out: Path) -> list[Path]:
    from wardwatch import simulate as generator  # noqa: PLC0415 - only these commands need it

    if size not in _SIZES:
        raise UsageError(f"--size {size!r} is not one of {', '.join(_SIZES)}")
    hospital = generator.generate(size, seed)  # type: ignore[arg-type]
    out.mkdir(parents=True, exist_ok=True)
    return generator.write(hospital, out)


def simulate(
    size: str = typer.Option("small", "--size", help="small (~200 devices), medium (~5k), large (~50k), xl (~200k)."),
    seed: int = typer.Option(1, "--seed", help="Same seed, same hospital."),
    out: Path = typer.Option(..., "--out", help="Folder to write the sample hospital's files to."),
) -> None:
    """Write a realistic, deterministic sample hospital (CMMS export and ground truth)."""
    with stdout.status(f"Generating a {size} hospital (seed {seed})…"):
        files = run(_generate, size, seed, out)
    for path in files:
        stdout.print(f"  wrote {path}")


def demo(
    keep: bool = typer.Option(False, "--keep", help="Keep an existing demo database instead of starting afresh."),
    seed: int = typer.Option(7, "--seed", help="Seed of the sample hospital."),
) -> None:
    """Generate the small sample hospital, import it into a fresh embedded database, and summarise it."""
    home = settings().home / "demo"
    if home.exists() and not keep:
        run(shutil.rmtree, home)
    sample = home / "sample-hospital"
    stdout.print(f"[bold]Wardwatch demo[/] in {home}")
    with stdout.status("1/3 Generating the sample hospital…"):
        run(_generate, "small", seed, sample)
    stdout.print("  ✓ sample hospital generated (2 sites, CMMS export with the usual mess)")
    database = run(connect, f"sqlite:///{home / 'wardwatch.db'}")
    with stdout.status("2/3 Creating the database…"):
        run(migrate, database)
    stdout.print("  ✓ database created")
    with stdout.status("3/3 Importing the CMMS export…"):
        report = run(import_cmms, database, sample / "cmms_export.csv")
        again = run(import_cmms, database, sample / "cmms_export.csv")
    stdout.print(
        f"  ✓ {report.rows_read} CMMS rows → {report.created} devices "
        f"({report.duplicate_rows} duplicate rows merged, {len(report.unknown_manufacturers)} unknown vendors); "
        f"re-import changed {again.change_count} values"
    )
    devices = list(iter_devices(database, DeviceFilter()))
    today = datetime.now(UTC).date()
    by_criticality = Counter(d["criticality"] or "unknown" for d in devices)
    unsupported = [d for d in devices if d["end_of_support"] is not None and d["end_of_support"] <= today]
    unsupported_critical = [d for d in unsupported if d["criticality"] in ("life-sustaining", "life-supporting")]
    networked = [d for d in devices if d["mac"] or d["ip"]]
    stdout.print()
    stdout.print("[bold]What Wardwatch sees[/]")
    stdout.print(f"  {len(devices)} devices, {len(networked)} with a network address")
    stdout.print("  by criticality: " + ", ".join(f"{k} {v}" for k, v in by_criticality.most_common()))
    stdout.print(
        f"  [bold red]{len(unsupported)} devices are past their manufacturer's end of support[/]"
        f" — {len(unsupported_critical)} of them life-sustaining or life-supporting"
    )
    stdout.print()
    stdout.print("Explore it:")
    stdout.print(f"  export WARDWATCH_HOME={home}")
    stdout.print("  .venv/bin/wardwatch devices list --criticality life-sustaining")
    stdout.print("  .venv/bin/wardwatch devices show 1")
