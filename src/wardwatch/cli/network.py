"""``wardwatch network``: import the network model, check it, find attack paths, replay a worm, recommend and
simulate a policy."""

from __future__ import annotations

from pathlib import Path

import typer

from wardwatch.cli._context import engine, run, run_checked, stdout
from wardwatch.cli._output import print_json, print_table
from wardwatch.services import network_analysis as analysis
from wardwatch.services.network import import_network

app = typer.Typer(
    help="The clinical network: zones, rules and flows; violations, attack paths, worm spread, policy.",
    no_args_is_help=True,
)


@app.command("import")
def import_command(
    paths: list[Path] = typer.Argument(..., metavar="FILE...", help="Zones YAML, iptables-save, Cisco IOS/ASA."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check every file, then make them the network model (replacing the previous one); rules apply in file order."""
    report = run(import_network, run(engine), paths)
    if as_json:
        print_json(report.as_dict())
        return
    state = "imported" if report.changed else "unchanged (the same files were already the model)"
    summary = f"{report.zones} zones, {report.rules:,} rules, default {report.default_action}"
    if report.bindings:
        summary += f", {report.bindings} ACLs bound to interfaces on {report.devices} device(s)"
    stdout.print(f"network model {state}: {summary}", markup=False)
    for item in report.files:
        stdout.print(f"  {item.position + 1}. {item.original} ({item.kind})", markup=False)
    if report.notes:
        stdout.print(f"{len(report.notes)} note(s) on what was skipped or approximated:", markup=False)
        for note in report.notes[:20]:
            stdout.print(f"  {note}", markup=False, highlight=False)
        if len(report.notes) > 20:
            stdout.print(f"  … {len(report.notes) - 20} more: --json lists them all", markup=False)


@app.command("check")
def check_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    limit: int = typer.Option(30, "--limit", min=0, help="Show at most N violations (0: all)."),
) -> None:
    """Placement and conformance: misplaced devices, mixed VLANs, flows the rules deny, over-broad rules."""
    report = run_checked(analysis.check, run(engine))
    if as_json:
        print_json(report)
        return
    items = report["violations"]
    shown = items[:limit] if limit else items
    print_table(
        shown,
        ["severity", "kind", "subject", "detail"],
        title=f"{len(items)} violation(s) on {report['zones']} zones, {report['rules']:,} rules, "
        f"{report['hosts']:,} hosts, {report['flows']:,} observed flows",
    )
    if len(shown) < len(items):
        stdout.print(f"[dim]{len(items) - len(shown)} more: --limit 0 or --json[/]")


@app.command("paths")
def paths_command(
    sources: list[str] = typer.Option([], "--from", help="Entry zone (repeatable; default: every entry zone)."),
    to: str | None = typer.Option(None, "--to", help="Target criticality or device type, e.g. life-sustaining."),
    top: int = typer.Option(10, "--top", min=1, help="How many paths."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Attack paths from entry points to clinical targets, ranked by likelihood × impact, hop by hop."""
    report = run_checked(analysis.attack_paths, run(engine), sources=sources or None, to=to, top=top)
    if as_json:
        print_json(report)
        return
    if not report["paths"]:
        stdout.print("no attack path found from the entry zones to those targets", markup=False)
    for number, path in enumerate(report["paths"], 1):
        stdout.print(f"[bold]{number}.[/] " + path["explanation"][0], highlight=False)
        for line in path["explanation"][1:]:
            stdout.print(line, markup=False, highlight=False)


@app.command("blast-radius")
def blast_radius_command(
    seed: str = typer.Option(..., "--seed", help="Where it starts: a zone, a device (tag, id) or an IP address."),
    steps: int = typer.Option(10, "--steps", min=0, help="Steps to run."),
    rng: int = typer.Option(0, "--rng-seed", help="Seed of the random scanning (same seed, same result)."),
    worst: bool = typer.Option(False, "--worst-case", help="Every reachable vulnerable host falls (BFS)."),
    block: bool = typer.Option(False, "--block-445", help="What if 445 is blocked between zones."),
    no_smbv1: bool = typer.Option(False, "--disable-smbv1", help="What if SMBv1 is disabled everywhere."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A WannaCry-style spread (SMBv1 / MS17-010 over tcp/445) step by step: what falls, how fast, which clinical
    functions stop."""
    report = run_checked(analysis.blast_radius, run(engine), seed, steps=steps, rng_seed=rng, worst_case=worst,
                   block_445_between_zones=block, disable_smbv1=no_smbv1)  # fmt: skip
    if as_json:
        print_json(report)
        return
    fallen = report["infected"] - len(report["seed_addresses"])
    stdout.print(
        f"from {seed}: {fallen:,} of {report['vulnerable']:,} vulnerable host(s) infected after the seed"
        + (" (no more are reachable)" if report["saturated"] else ""),
        markup=False,
    )
    print_table(
        [{"step": s["step"], "minutes": s["minutes"], "new": len(s["infected"]), "total": s["cumulative"],
          "examples": ", ".join(h["name"] or h["address"] for h in s["infected"][:4])} for s in report["steps"]],
        ["step", "minutes", "new", "total", "examples"], title="Spread",
    )  # fmt: skip
    if report["functions_stopped"]:
        print_table(report["functions_stopped"], ["function", "infected", "devices", "fraction", "first_minutes"],
                    title="Clinical functions hit")  # fmt: skip
    hit = [z for z in report["by_zone"] if z["infected"]]
    if hit:
        print_table(hit, ["zone", "infected", "vulnerable", "hosts"], title="Zones")


@app.command("recommend")
def recommend_command(
    fmt: str = typer.Option("json", "--format", "-f", help="json (rule changes), iptables, cisco or doc (policy)."),
    out: Path | None = typer.Option(None, "--out", help="Write to this file instead of the terminal."),
) -> None:
    """The smallest rule changes that cut the most risk-weighted attack paths (JSON), or the allow-list policy
    derived from the observed baseline as iptables rules, a Cisco ACL or a policy document."""
    result = run_checked(analysis.recommend, run(engine), fmt)
    if isinstance(result, str):
        if out is not None:
            run(out.write_text, result, encoding="utf-8")
            stdout.print(f"written {out}", markup=False)
        else:
            typer.echo(result, nl=False)
        return
    if out is not None:
        import json  # noqa: PLC0415 - only here

        run(out.write_text, json.dumps(result, indent=2) + "\n", encoding="utf-8")
        stdout.print(f"written {out}", markup=False)
        return
    print_json(result)


@app.command("simulate")
def simulate_command(
    policy: list[Path] = typer.Argument(..., metavar="POLICY...", help="The proposed policy's files."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Replay the observed baseline through a proposed policy before it is enforced: the clinical flows it would
    break, what it would newly allow, the attack paths it would cut."""
    report = run_checked(analysis.simulate_policy, run(engine), policy)
    if as_json:
        print_json(report)
        return
    broken = report["broken"]
    stdout.print(
        f"{len(broken)} observed service(s) would break ({report['broken_clinical']} legitimate clinical), "
        f"{len(report['newly_allowed'])} newly allowed; attack paths {report['paths_before']} → "
        f"{report['paths_after']}",
        markup=False,
    )
    if broken:
        print_table(broken[:30], ["client", "server", "protocol", "port", "application", "clinical", "rule_proposed"],
                    title="Would break")  # fmt: skip
