"""``wardwatch intel import|sync|match`` and ``wardwatch findings`` (stored device × vulnerability findings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from sqlalchemy import Engine

from wardwatch.cli._context import UsageError, engine, fail, handled, run, settings, stdout
from wardwatch.cli._output import print_json, print_table
from wardwatch.domain.intel import VexStatus
from wardwatch.domain.matching import Confidence
from wardwatch.feeds import SOURCES, FeedError, sync
from wardwatch.services.intel import FindingFilter
from wardwatch.services.vuln_findings import RematchReport, import_and_match, rematch, stored_findings
from wardwatch.store.database import ensure_ready
from wardwatch.store.errors import StoreError

app = typer.Typer(help="Import vulnerability intelligence (CSAF, NVD, CVE 5, KEV, EPSS, SBOM, VEX, recalls).",
                  no_args_is_help=True)  # fmt: skip

_STATUSES = ", ".join(s.value for s in VexStatus)
_CONFIDENCES = ", ".join(c.value for c in Confidence)
_SOURCE_HELP = f"Only this source (repeatable): {', '.join(SOURCES)}."
_COLUMNS = ("device", "vulnerability", "confidence", "vex", "kev", "epss", "cvss", "remediation")


def _engine_or_none() -> Engine | None:
    """The database if it is initialised (files can be imported before ``wardwatch init``; matching needs it)."""
    try:
        database = engine()
        ensure_ready(database)
    except StoreError:
        return None
    return database


def _print_match(report: RematchReport) -> None:
    stdout.print(
        f"matched ({report.mode}): {report.found:,} finding(s) in scope on {report.devices:,} device(s) "
        f"({report.profiles:,} profiles) — {report.new:,} new, {report.updated:,} updated, "
        f"{report.resolved:,} resolved, {report.reopened:,} back, {report.unchanged:,} unchanged "
        f"in {report.seconds:.1f} s",
        markup=False,
    )


@app.command("import")
def import_(
    paths: list[Path] = typer.Argument(..., metavar="PATH...", help="Files or folders of intelligence files."),
    model: str | None = typer.Option(
        None,
        "--model",
        help='Link the SBOM(s) or MDS2 form(s) to this device model ("Manufacturer Model"): its devices get them.',
    ),
    manufacturer: str | None = typer.Option(
        None, "--manufacturer", help="The manufacturer, when --model is just the model."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check and store intelligence files (recognised by content), then re-match; a bad file stores nothing."""
    report, links, matched = run(import_and_match, _engine_or_none(), run(settings), paths, model=model,
                                 manufacturer=manufacturer)  # fmt: skip
    if as_json:
        document = report.as_dict()
        document["sbom_links"] = [
            {"sbom": s, "manufacturer": m, "model": n} for s, m, n in links if not s.startswith("mds2/")
        ]
        document["mds2_links"] = [
            {"form": s, "manufacturer": m, "model": n} for s, m, n in links if s.startswith("mds2/")
        ]
        document["match"] = matched.as_dict() if matched else None
        print_json(document)
        return
    for kind, counts in report.by_kind().items():
        stdout.print(
            f"{kind}: {counts['files']} file(s), {counts['new']} new, {counts['records']:,} record(s)",
            markup=False,
        )
    for path in report.skipped:
        stdout.print(f"skipped (not an intelligence file): {path}", markup=False)
    for stored, maker, name in links:
        what = "the MDS2 form" if stored.startswith("mds2/") else "the SBOM"
        stdout.print(f"linked {what} {stored} to every {maker} {name}", markup=False)
    if matched is not None:
        _print_match(matched)


@app.command("match")
def match_command(
    full: bool = typer.Option(False, "--full", help="Recompute everything, not only what changed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Match the inventory against the stored intelligence and store the findings (only what changed)."""
    report = run(rematch, run(engine), run(settings), full=full)
    if as_json:
        print_json(report.as_dict())
    else:
        _print_match(report)


@app.command("sync")
def sync_command(
    source: list[str] = typer.Option([], "--source", help=_SOURCE_HELP),
    mirror: str | None = typer.Option(None, "--mirror", help="Base URL of an internal mirror (same paths)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Download, verify and import the feeds; a source that fails stores nothing and keeps its sync state."""
    config = run(settings)
    with handled():
        try:
            report = sync(config, source, mirror)
        except FeedError as e:
            fail(str(e))
    database = _engine_or_none() if any(item.error is None for item in report.sources) else None
    matched = run(rematch, database, config) if database is not None else None
    if as_json:
        print_json(report.as_dict() | {"match": matched.as_dict() if matched else None})
    else:
        for item in report.sources:
            if item.error is None:
                stdout.print(
                    f"{item.source}: {item.fetched} file(s) fetched, {item.not_modified} not modified, "
                    f"{item.bytes:,} bytes, {item.new} new file(s), {item.records:,} record(s)",
                    markup=False,
                )
        if matched is not None:
            _print_match(matched)
    failed = [item for item in report.sources if item.error is not None]
    if failed:
        tip = "check --mirror" if mirror else "check the network, or use --mirror"
        fail("; ".join(f"{item.source}: {item.error}" for item in failed) + f" — {tip}")


def _filter(
    kev: bool, min_cvss: float | None, status: str | None, confidence: str | None, show_all: bool
) -> FindingFilter:
    if status is not None and status not in {s.value for s in VexStatus}:
        raise UsageError(f"--status {status!r} is not one of: {_STATUSES}")
    if confidence is not None and confidence not in {c.value for c in Confidence}:
        raise UsageError(f"--confidence {confidence!r} is not one of: {_CONFIDENCES}")
    if min_cvss is not None and not 0.0 <= min_cvss <= 10.0:
        raise UsageError(f"--min-cvss {min_cvss:g} is not between 0 and 10")
    return FindingFilter(kev=kev, min_cvss=min_cvss, status=status, confidence=confidence,
                         include_suppressed=show_all)  # fmt: skip


def _summary(finding: dict[str, Any]) -> str | None:
    remediations = finding["remediation"]
    if not remediations:
        return None
    first = remediations[0]
    details = " ".join(str(first["details"]).split())
    text = f"{first['category']}: {details[:40]}{'…' if len(details) > 40 else ''}"
    return text + (f" (+{len(remediations) - 1})" if len(remediations) > 1 else "")


def _row(finding: dict[str, Any]) -> dict[str, Any]:
    device = finding["device"]
    name = " ".join(str(device[k]) for k in ("manufacturer", "model") if device.get(k))
    version = device.get("software_version") or device.get("firmware_version")
    cvss, epss = finding["cvss"], finding["epss"]
    return {
        "device": f"{device['id']} {name}" + (f" {version}" if version else ""),
        "vulnerability": finding["vulnerability"],
        "confidence": finding["confidence"],
        "vex": (finding["vex_status"] or "–") + (" (suppressed)" if finding["suppressed"] else ""),
        "kev": finding["kev"] is not None,
        "epss": f"{epss['score']:.3f}" if epss else None,
        "cvss": cvss["score"] if cvss else None,
        "remediation": _summary(finding),
    }


def findings_command(
    device: str | None = typer.Option(None, "--device", help="Only this device (id, asset tag, MAC, IP, serial)."),
    kev: bool = typer.Option(False, "--kev", help="Only vulnerabilities in CISA KEV."),
    min_cvss: float | None = typer.Option(None, "--min-cvss", help="Only findings with a CVSS base score ≥ X."),
    status: str | None = typer.Option(None, "--status", help=f"Only this VEX status: {_STATUSES}."),
    confidence: str | None = typer.Option(None, "--confidence", help=f"Only this confidence: {_CONFIDENCES}."),
    show_all: bool = typer.Option(False, "--all", help="Also show findings suppressed by a trusted not_affected."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Which devices are affected by which vulnerabilities, with confidence, VEX, KEV, EPSS and CVSS."""
    where = run(_filter, kev, min_cvss, status, confidence, show_all)
    rows = run(stored_findings, run(engine), run(settings), device, where)
    if as_json:
        print_json({"findings": rows, "total": len(rows)})
        return
    print_table([_row(f) for f in rows], _COLUMNS)
    stdout.print(f"[dim]{len(rows):,} findings[/]")
