"""Benchmark: the network analyses on the xl hospital (200,000 devices, ~10,000 rules, 5 million observed flows).

Budgets (issue 7): reachability build, all attack paths to the 1,000 most critical devices, and a 10-step worm
simulation, each under 60 s and within 4 GB.  Also timed: the conformance check (``segmentation.check``) and a
policy simulation (the current rules against the same rules without one used rule).

Inputs are built without the database (the DB pipeline at xl takes far too long): the simulated hospital's
network model (``simulate._network.build_network``), one :class:`HostFacts` per networked device (criticality
from its device type, plausible services from its kind, SMBv1 and MS17-010 on a share of the old Windows
hosts) and ``--flows`` observed flows drawn with a fixed seed from the intended conduits and the usual clinical
traffic (monitor → HL7 engine tcp/2575, modality → PACS tcp/104, DNS, workstation → applications), with repeats.

Each step runs in a forked child of the process holding the inputs: its wall time and CPU time, and its peak RSS
(``ru_maxrss`` of the child, which starts at the parent's resident size at the fork, so it includes the inputs;
the inputs' own RSS is printed first).  tracemalloc is off.

Anchor in the same run (``baseline``): a plain networkx all-pairs approach on samples of hosts: a DiGraph with
an edge u → v when the rules allow u to reach any service v serves (the compiled decision of the class pair, checked
against ``NetworkModel.decide`` on a few pairs, whose cost per call is also measured), then
``nx.all_pairs_shortest_path_length``; extrapolated to every host by the growth measured between the two largest
samples (at least n²; n² when only one sample fits ``--baseline-budget``).

    .venv/bin/python bench/bench_network.py [--size xl] [--seed 1] [--flows 5000000]
        [--baseline-sample 1000,2000,5000] [--baseline-budget 150] [--only STEP] [--profile STEP]
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import json
import math
import os
import pstats
import random
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wardwatch import reference, simulate  # noqa: E402
from wardwatch.domain import attack_paths, policy_sim, segmentation, worm  # noqa: E402
from wardwatch.domain.net_reach import Reachability, address_key  # noqa: E402
from wardwatch.domain.netmodel import (  # noqa: E402
    EnforcementPoint,
    FilterDevice,
    HostFacts,
    NetworkModel,
    ObservedFlow,
    Route,
)
from wardwatch.simulate import load_catalog  # noqa: E402
from wardwatch.simulate._network import build_network  # noqa: E402

STEPS = ("reach", "paths", "worm", "check", "policy", "baseline")
BUDGET_S, BUDGET_MB = 60.0, 4096.0

Service = tuple[str, int]
_WEB: tuple[Service, ...] = (("tcp", 80), ("tcp", 443))
_SNMP: tuple[Service, ...] = (("udp", 161),)
_MODALITY = frozenset({"ct", "mri", "xray", "ultrasound", "mammography", "linac"})
_HL7_CLIENTS = frozenset(
    {"patient_monitor", "central_station", "telemetry", "vital_signs_monitor", "hemodynamic_monitor", "ecg", "eeg",
     "lab_analyzer", "poc_analyzer", "glucose_meter", "pulse_oximeter", "dispensing", "compounder"}
)  # fmt: skip
_PUMPS = frozenset({"infusion_pump", "syringe_pump", "pca_pump", "infusion_gateway", "ventilator", "anesthesia",
                    "dialysis", "crrt"})  # fmt: skip
#: Services a device of each generator kind serves (Windows hosts also serve SMB, see :func:`services_of`).
SERVICES: dict[str, tuple[Service, ...]] = {
    "workstation": (("tcp", 135), ("tcp", 3389)),
    "imaging_workstation": (("tcp", 104), ("tcp", 3389)),
    "server": (*_WEB, ("tcp", 2575), ("udp", 53)),
    "pacs": (("tcp", 104), ("tcp", 443), ("tcp", 11112)),
    "printer": (("tcp", 80), ("tcp", 9100), *_SNMP),
    "network_switch": (("tcp", 22), ("tcp", 443), *_SNMP),
    "access_point": (("tcp", 22), ("tcp", 443), *_SNMP),
    "phone": (("udp", 5060),),
    "mobile_computer": (),
    **dict.fromkeys(_MODALITY, (("tcp", 104), ("tcp", 22))),
    **dict.fromkeys(_PUMPS, (("tcp", 443), *_SNMP)),
    **dict.fromkeys(_HL7_CLIENTS, (("tcp", 80), *_SNMP)),
}
_DEFAULT_SERVICES: tuple[Service, ...] = (("tcp", 80),)


@dataclass(slots=True)
class Inputs:
    model: NetworkModel
    hosts: list[HostFacts]
    kinds: list[str]
    flows: list[ObservedFlow]
    info: dict[str, Any]


def rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def services_of(
    kind: str, os_name: str | None, rng: random.Random
) -> tuple[tuple[Service, ...], bool, tuple[str, ...]]:
    """(services, smbv1, vulnerabilities) of one device: SMB on Windows, old Windows with SMBv1/MS17-010."""
    services = list(SERVICES.get(kind, _DEFAULT_SERVICES))
    vulns: list[str] = []
    smbv1 = False
    os_text = os_name or ""
    if os_text.startswith("Windows") and not os_text.startswith("Windows CE"):
        services += [("tcp", 139), ("tcp", 445)]
        old = os_text.startswith(("Windows XP", "Windows 7"))
        smbv1 = rng.random() < (0.8 if old else 0.03)
        if old and rng.random() < 0.5:
            vulns.append("CVE-2017-0144")
        if old and ("tcp", 3389) in services and rng.random() < 0.2:
            vulns.append("CVE-2019-0708")
    if kind in _PUMPS and rng.random() < 0.05:  # a telnet service left on, with its factory password
        services.append(("tcp", 23))
        vulns.append("default_credentials")
    return tuple(sorted(set(services))), smbv1, tuple(vulns)


def build_inputs(size: str, seed: int, n_flows: int) -> Inputs:
    """The model, the hosts and the observed flows (see the module docstring)."""
    started = time.perf_counter()
    hospital = simulate.generate(size, seed)  # type: ignore[arg-type]
    network = build_network(hospital)
    model_s = time.perf_counter() - started
    catalog = {m.key: m for m in load_catalog()}
    criticality = {t.slug: t.profile.criticality for t in reference.device_types()}
    rng = random.Random(seed)
    hosts: list[HostFacts] = []
    kinds: list[str] = []
    servers: dict[int, list[str]] = {}
    pacs: dict[int, str] = {}
    site_of: list[int] = []
    for device in simulate.iter_devices(hospital):
        if device.ip is None:
            continue
        kind = catalog[device.model_key].kind
        os_name = " ".join(x for x in (device.os_name, device.os_version) if x) or None
        services, smbv1, vulns = services_of(kind, os_name, rng)
        crit = criticality.get(device.device_type)
        hosts.append(HostFacts(device.ip, device.index, device.hostname or device.asset_tag, device.device_type,
                               crit.value if crit else None, os_name, services, vulns, smbv1,
                               str(device.unit_id), str(device.site_id)))  # fmt: skip
        kinds.append(kind)
        site_of.append(device.site_id)
        if kind == "server" and len(servers.setdefault(device.site_id, [])) < 4:
            servers[device.site_id].append(device.ip)
        elif kind == "pacs":
            pacs.setdefault(device.site_id, device.ip)
    hosts_s = time.perf_counter() - started - model_s
    flows = _flows(hosts, kinds, site_of, servers, pacs, n_flows, rng)
    flows_s = time.perf_counter() - started - model_s - hosts_s
    info = {"devices": hospital.device_count, "hosts": len(hosts), "rules": len(network.model.rules),
            "zones": len(network.model.zones), "flows": len(flows),
            "distinct_flows": len({(f.client, f.server, f.protocol, f.port) for f in flows}),
            "windows_smbv1": sum(h.smbv1 for h in hosts),
            "ms17_010": sum("CVE-2017-0144" in h.vulnerabilities for h in hosts),
            "model_s": round(model_s, 1), "hosts_s": round(hosts_s, 1), "flows_s": round(flows_s, 1)}  # fmt: skip
    return Inputs(network.model, hosts, kinds, flows, info)


def _flows(
    hosts: list[HostFacts],
    kinds: list[str],
    site_of: list[int],
    servers: dict[int, list[str]],
    pacs: dict[int, str],
    n_flows: int,
    rng: random.Random,
) -> list[ObservedFlow]:
    """Distinct conversations per device, then ``n_flows`` records drawn from them with repeats."""
    main = next(iter(servers.values()), ["10.1.250.10"])
    main_pacs = next(iter(pacs.values()), "10.1.250.30")
    clinical = [i for i, k in enumerate(kinds) if k in _PUMPS or k in _HL7_CLIENTS or k in _MODALITY]
    convs: list[tuple[str, str, str, int, str | None]] = []
    for i, host in enumerate(hosts):
        own = servers.get(site_of[i]) or main
        dc, engine, files, apps = (own[k % len(own)] for k in range(4))
        kind, ip = kinds[i], host.address
        convs.append((ip, dc, "udp", 53, "dns"))
        if kind in _HL7_CLIENTS:
            convs.append((ip, engine, "tcp", 2575, "hl7"))
        if kind in _PUMPS or kind in _HL7_CLIENTS:
            convs.append((ip, apps, "tcp", 443, "tls"))
        if kind in _MODALITY:
            convs.append((ip, pacs.get(site_of[i], main_pacs), "tcp", 104, "dicom"))
        if kind in ("workstation", "imaging_workstation", "mobile_computer"):
            convs += [(ip, apps, "tcp", 443, "tls"), (ip, apps, "tcp", 80, "http"), (ip, files, "tcp", 445, "smb")]
            if rng.random() < 0.02 and clinical:  # the odd workstation poking a device: not in any conduit
                target = hosts[rng.choice(clinical)]
                convs.append((ip, target.address, "tcp", 80, "http"))
        if kind == "printer":
            convs.append((ip, files, "tcp", 445, "smb"))
    flows = [ObservedFlow(c, s, p, port, app, 1 + (n * 7919) % 500) for n, (c, s, p, port, app) in enumerate(convs)]
    extra = n_flows - len(flows)
    if extra > 0:  # repeats: a busy pair is seen again and again (skewed towards the first conversations)
        picks = [int(len(convs) * rng.random() ** 1.5) for _ in range(extra)]
        flows += [ObservedFlow(*convs[k][:4], convs[k][4], 1 + (n * 7919) % 500) for n, k in enumerate(picks)]
    return flows[:n_flows]


def bind_acls(model: NetworkModel) -> NetworkModel:
    """A stress variant with ACLs bound to interfaces: one core switch per site with an interface per zone (its
    subnets) and an uplink with the default route; each rule whose source is one zone moves into the ``in`` ACL of
    that zone's interface (an implicit deny closes it), the other rules stay unbound.  The decisions differ from
    the sample's intent (packets must now pass both lists): it measures what bindings cost, not what they allow."""
    by_site: dict[str, list[Route]] = {}
    zone_site: dict[str, str] = {}
    for zone in model.zones:
        site = zone.site or "main"
        zone_site[zone.name] = site
        by_site.setdefault(site, []).extend(Route(cidr, zone.name) for cidr in zone.subnets)
    devices = tuple(FilterDevice(f"core-{site}", (*routes, Route("0.0.0.0/0", "uplink")))
                    for site, routes in by_site.items())  # fmt: skip
    points: dict[str, EnforcementPoint] = {}
    rules = []
    for rule in model.rules:
        zone = rule.source[0] if len(rule.source) == 1 else None
        if zone in zone_site:
            name = f"core-{zone_site[zone]} {zone} in"
            points.setdefault(name, EnforcementPoint(name, f"core-{zone_site[zone]}", zone, "in", zone))
            rule = dataclasses.replace(rule, point=name)
        rules.append(rule)
    return dataclasses.replace(model, rules=tuple(rules), devices=devices, points=tuple(points.values()))


# ------------------------------------------------------------------------------------------------ steps


def step_reach(data: Inputs) -> dict[str, Any]:
    reach = Reachability.build(data.model, data.hosts, data.flows)
    return {"source_classes": len(reach.sources.classes), "destination_classes": len(reach.destinations.classes),
            "observed_servers": len(reach.observed)}  # fmt: skip


def step_paths(data: Inputs) -> dict[str, Any]:
    started = time.perf_counter()
    reach = Reachability.build(data.model, data.hosts, data.flows)
    build_s = time.perf_counter() - started
    paths = attack_paths.find_paths(reach, data.hosts, max_targets=1000, top=1000)
    best = paths[0] if paths else None
    return {"reach_build_s": round(build_s, 2), "paths": len(paths),
            "targets_with_paths": len({p.target.address for p in paths}),
            "best": f"{best.entry} -> {best.target.address} ({best.target.device_type}) in {len(best.hops)} hops, "
                    f"score {best.score:.3f}" if best else None}  # fmt: skip


def _worm_seed(data: Inputs) -> str:
    for host, kind in zip(data.hosts, data.kinds, strict=True):
        if kind == "workstation" and (host.os or "").startswith("Windows") and worm.is_vulnerable(host):
            return host.address
    return next(h.address for h, k in zip(data.hosts, data.kinds, strict=True) if k == "workstation")


def step_worm(data: Inputs) -> dict[str, Any]:
    seed = _worm_seed(data)
    result = worm.simulate(data.model, data.hosts, seeds=[seed], parameters=worm.WormParameters(steps=10))
    return {"seed": seed, "vulnerable": sum(worm.is_vulnerable(h) for h in data.hosts),
            "infected": len(result.infected), "steps": len(result.steps),
            "functions_stopped": len(result.functions_stopped)}  # fmt: skip


def step_check(data: Inputs) -> dict[str, Any]:
    violations = segmentation.check(data.model, data.hosts, data.flows)
    kinds: dict[str, int] = {}
    for v in violations:
        kinds[v.kind] = kinds.get(v.kind, 0) + 1
    return {"violations": len(violations), "by_kind": kinds}


def _proposal(model: NetworkModel) -> tuple[NetworkModel, str]:
    """The model without its first allow rule for HL7 (tcp/2575; a used rule: the replay must break flows)."""
    allows = [r for r in model.ordered_rules if r.action == "allow"]
    drop = next((r for r in allows if r.matches_service("tcp", 2575) and r.ports), allows[0])
    rules = tuple(r for r in model.rules if r is not drop)
    return NetworkModel(model.zones, rules, model.default_action, model.intra_zone, model.conduits,
                        model.placement, model.sources), drop.name  # fmt: skip


def step_policy(data: Inputs) -> dict[str, Any]:
    proposed, dropped = _proposal(data.model)
    impact = policy_sim.simulate(data.model, proposed, data.flows, data.hosts)
    return {"dropped_rule": dropped, "broken": len(impact.broken), "broken_clinical": len(impact.broken_clinical),
            "newly_allowed": len(impact.newly_allowed)}  # fmt: skip


def _served(host: HostFacts) -> tuple[Service, ...]:
    return host.services or (("tcp", 445),)


def step_baseline(data: Inputs, samples: Sequence[int], budget_s: float, seed: int) -> dict[str, Any]:
    """networkx all-pairs on host samples; edge = the rules allow u to reach a service v serves."""
    model, hosts = data.model, data.hosts
    reach = Reachability.build(model, hosts, ())
    rng = random.Random(seed)
    # What a truly plain edge test costs: NetworkModel.decide per (pair, service), measured on a few pairs,
    # and checked against the compiled decision the graph edges below use (same answer, ~10^5 times cheaper).
    probe = [(rng.choice(hosts), rng.choice(hosts)) for _ in range(60)]
    started = time.perf_counter()
    decided = [model.decide(u.address, v.address, *_served(v)[0]).action for u, v in probe]
    decide_s = (time.perf_counter() - started) / len(probe)
    compiled = [reach.reachable(u.address, v.address, *_served(v)[0]).action for u, v in probe]
    out: dict[str, Any] = {
        "decide_ms_per_call": round(decide_s * 1000, 2),
        "decide_agrees": decided == compiled,
        "mean_services": round(sum(len(_served(h)) for h in hosts) / len(hosts), 2),
        "runs": [],
    }
    for n in samples:
        runs = out["runs"]
        if runs:  # skip a sample the budget cannot hold (cost grows at least as n^2)
            last = runs[-1]
            guess = (last["edges_s"] + last["all_pairs_s"]) * (n / last["n"]) ** max(2.0, last.get("k", 2.0))
            if guess > budget_s:
                out["skipped"] = {"n": n, "predicted_s": round(guess, 1)}
                break
        if runs and min(n, len(hosts)) <= runs[-1]["n"]:
            break  # every host is sampled already (small sizes): a repeat would measure no growth
        sample = rng.sample(hosts, min(n, len(hosts)))
        started = time.perf_counter()
        src = [reach.sources.lookup(address_key(h.address)) for h in sample]
        dst = [reach.destinations.lookup(address_key(h.address)) for h in sample]
        memo: dict[tuple[int, int, tuple[Service, ...]], bool] = {}
        graph: nx.DiGraph[int] = nx.DiGraph()
        graph.add_nodes_from(range(len(sample)))
        for j, v in enumerate(sample):
            services, d = _served(v), dst[j]
            for i, s in enumerate(src):
                if i == j:
                    continue
                key = (s.id, d.id, services)
                allowed = memo.get(key)
                if allowed is None:
                    allowed = memo[key] = any(
                        reach.decide_classes(s, d, p, port)[0].action == "allow" for p, port in services
                    )
                if allowed:
                    graph.add_edge(i, j)
        edges_s = time.perf_counter() - started
        started = time.perf_counter()
        pairs = sum(len(lengths) for _, lengths in nx.all_pairs_shortest_path_length(graph))
        all_pairs_s = time.perf_counter() - started
        run = {"n": len(sample), "edges": graph.number_of_edges(), "reachable_pairs": pairs,
               "edges_s": round(edges_s, 2), "all_pairs_s": round(all_pairs_s, 2)}  # fmt: skip
        if runs:
            last = runs[-1]
            growth = max(all_pairs_s, 1e-3) / max(last["all_pairs_s"], 1e-3)
            run["k"] = round(math.log(growth) / math.log(run["n"] / last["n"]), 2)
        runs.append(run)
        print(f"    baseline n={run['n']}: {run}", flush=True)
    last = out["runs"][-1]
    total = len(hosts)
    k = max(last.get("k", 2.0), 2.0)  # BFS from every node over a graph whose edges grow with n^2: at least n^2
    scale = total / last["n"]
    out["extrapolated"] = {
        "hosts": total,
        "all_pairs_exponent": k,
        "all_pairs_s": round(last["all_pairs_s"] * scale**k, 2),
        "edges_compiled_s": round(last["edges_s"] * scale**2, 2),
        "edges_decide_s": round(total * (total - 1) * out["mean_services"] * decide_s),
    }
    return out


# ------------------------------------------------------------------------------------------------ driver


def profiled(fn: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """The step under cProfile (slower: figures only for where the time goes); prints the top functions."""

    def run() -> dict[str, Any]:
        profile = cProfile.Profile()
        figures = profile.runcall(fn)
        pstats.Stats(profile).sort_stats("tottime").print_stats(18)
        return figures

    return run


def in_child(label: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one step in a forked child: wall and CPU seconds, peak RSS, the step's own figures."""
    read_fd, write_fd = os.pipe()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_fd)
        try:
            cpu = time.process_time()
            t0 = time.perf_counter()
            figures = fn()
            result = {"seconds": round(time.perf_counter() - t0, 2), "cpu_s": round(time.process_time() - cpu, 2),
                      "peak_rss_mb": rss_mb(), **figures}  # fmt: skip
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            result = {"error": f"{type(error).__name__}: {error}"}
        with os.fdopen(write_fd, "w") as pipe:
            pipe.write(json.dumps(result))
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        text = pipe.read()
    _, status = os.waitpid(pid, 0)
    result = json.loads(text) if text else {"error": f"child ended with status {status}"}
    result["load_average"] = round(load, 1)
    result["wall_incl_fork_s"] = round(time.perf_counter() - started, 2)
    verdict = ""
    if "seconds" in result and label != "baseline":
        over = [f"{result['seconds']} s > {BUDGET_S:.0f} s"] if result["seconds"] > BUDGET_S else []
        over += [f"{result['peak_rss_mb']} MB > {BUDGET_MB:.0f} MB"] if result["peak_rss_mb"] > BUDGET_MB else []
        verdict = " OVER BUDGET: " + ", ".join(over) if over else " within budget"
    print(f"  {label}: {json.dumps(result)}{verdict}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=("small", "medium", "large", "xl"), default="xl")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--flows", type=int, default=5_000_000)
    parser.add_argument("--baseline-sample", default="1000,2000,5000",
                        help="comma-separated host sample sizes for the networkx baseline, run in order")  # fmt: skip
    parser.add_argument("--baseline-budget", type=float, default=150.0,
                        help="skip a baseline sample predicted to take longer than this (s)")  # fmt: skip
    parser.add_argument("--only", choices=STEPS, action="append", help="run only this step (repeatable)")
    parser.add_argument("--bound", action="store_true",
                        help="bind rules to per-site core switch interfaces first (what bindings cost)")  # fmt: skip
    parser.add_argument("--profile", choices=STEPS, action="append", help="run this step under cProfile")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    steps = args.only or list(STEPS)
    samples = [int(s) for s in args.baseline_sample.split(",") if s.strip()]
    print(f"size {args.size}, seed {args.seed}, load {os.getloadavg()}", flush=True)
    base_rss = rss_mb()
    started = time.perf_counter()
    data = build_inputs(args.size, args.seed, args.flows)
    if args.bound:
        data.model = bind_acls(data.model)
        data.info["bound"] = {"devices": len(data.model.devices), "points": len(data.model.points),
                              "bound_rules": sum(1 for r in data.model.rules if r.point)}  # fmt: skip
    gc.collect()
    info = {**data.info, "inputs_s": round(time.perf_counter() - started, 1), "python_rss_mb": base_rss,
            "inputs_peak_rss_mb": rss_mb()}  # fmt: skip
    print(f"  inputs: {json.dumps(info)}", flush=True)
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "reach": lambda: step_reach(data),
        "paths": lambda: step_paths(data),
        "worm": lambda: step_worm(data),
        "check": lambda: step_check(data),
        "policy": lambda: step_policy(data),
        "baseline": lambda: step_baseline(data, samples, args.baseline_budget, args.seed),
    }
    results: dict[str, Any] = {"inputs": info, "loads_at_start": os.getloadavg()}
    for step in steps:
        fn = profiled(runners[step]) if step in (args.profile or ()) else runners[step]
        results[step] = in_child(step, fn)
    base = results.get("baseline", {}).get("extrapolated")
    if base and "seconds" in results.get("reach", {}):
        ours = results["reach"]["seconds"]
        plain = base["edges_compiled_s"] + base["all_pairs_s"]
        results["ratio"] = {"baseline_compiled_edges_s": plain, "baseline_decide_edges_s": base["edges_decide_s"]
                            + base["all_pairs_s"], "reach_s": ours, "ratio_compiled": round(plain / ours, 1),
                            "ratio_decide": round((base["edges_decide_s"] + base["all_pairs_s"]) / ours)}  # fmt: skip
        print(f"  ratio: {json.dumps(results['ratio'])}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"network-{args.size}{'-bound' if args.bound else ''}.json"
    (args.out / name).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
