"""Benchmark: rescore the xl hospital (200,000 devices and their findings), then rescore after one new KEV entry.

The budgets come from issue 5: a full rescore under 30 s; after one new KEV entry, rescoring only the affected
devices under 1 s.  As a floor, the same run times reading the scoring inputs alone (no scoring, no writing).

The inventory and the findings are generated synthetically in the database (devices, units, VLANs, discovery
findings, ``vulnerability_findings``): matching the xl hospital's SBOMs against the xl feeds is its own benchmark.
Findings are assigned per model (devices of one model share their vulnerabilities, as the matcher does), from a
pool of CVEs with a realistic share of KEV entries, EPSS scores and CVSS vectors.

    .venv/bin/python bench/bench_risk.py [--devices 200000] [--findings-per-model 6] [--postgres URL] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, text, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wardwatch.domain.matching import IntelIndex, model_key  # noqa: E402
from wardwatch.reference import manufacturer_catalog  # noqa: E402
from wardwatch.services.risk import devices_affected_by, pause_gc, rescore  # noqa: E402
from wardwatch.services.risk_inputs import DiscoveryExposure, load_inputs  # noqa: E402
from wardwatch.store.bulk import bulk_insert  # noqa: E402
from wardwatch.store.database import connect, migrate  # noqa: E402
from wardwatch.store.schema import (  # noqa: E402
    devices,
    findings,
    interfaces,
    model_security,
    sites,
    sources,
    units,
    vulnerability_findings,
)

NOW = datetime(2026, 11, 28, tzinfo=UTC)
VENDORS = IntelIndex(manufacturer_catalog().normalize)
TYPES = [  # (device type, criticality, handles PHI, share)
    ("infusion-pump", "therapeutic", False, 0.22), ("patient-monitor", "monitoring", True, 0.15),
    ("workstation", "non-clinical", True, 0.14), ("telemetry-transmitter", "monitoring", False, 0.08),
    ("printer", "non-clinical", False, 0.06), ("phone", "non-clinical", False, 0.06),
    ("ventilator", "life-sustaining", False, 0.03), ("ultrasound", "diagnostic", True, 0.04),
    ("x-ray", "diagnostic", True, 0.03), ("lab-analyzer", "diagnostic", True, 0.04),
    ("smart-bed", "monitoring", False, 0.05), ("central-station", "monitoring", True, 0.02),
    ("ct-scanner", "diagnostic", True, 0.01), ("pacs-server", "diagnostic", True, 0.005),
    ("network-device", "non-clinical", False, 0.04), ("server", "non-clinical", True, 0.025),
    ("other", None, None, 0.02),
]  # fmt: skip
VECTORS = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:A/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/AU:Y",
]  # fmt: skip


def generate(engine: Engine, n_devices: int, per_model: int, seed: int) -> dict[str, object]:
    """Write the synthetic xl hospital: 40 sites, 400 units, 2,000 models, ``n_devices`` devices, findings."""
    rng = random.Random(seed)
    cves = [f"CVE-20{rng.randint(14, 26)}-{i:05d}" for i in range(20_000)]
    pool = [(c, rng.random() < 0.03, round(rng.betavariate(0.4, 6), 5), rng.choice(VECTORS),
             rng.choice((5.3, 7.5, 8.8, 9.8))) for c in cves]  # fmt: skip
    weights = [t[3] for t in TYPES]
    models = []
    for m in range(2_000):
        kind = rng.choices(TYPES, weights)[0]
        vulns = rng.sample(pool, rng.randint(0, per_model * 2))
        models.append((f"Vendor {m % 150}", f"Model {m}", kind, vulns))
    with engine.begin() as c:
        bulk_insert(c, sources, ("id", "kind", "name", "imported_at"), [(1, "pcap", "bench.pcap", NOW)])
        bulk_insert(c, sites, ("id", "name", "created_at"), [(i, f"Site {i}", NOW) for i in range(1, 41)])
        bulk_insert(
            c, units, ("id", "site_id", "department"), [(u, (u - 1) // 10 + 1, f"Unit {u}") for u in range(1, 401)]
        )
        device_rows, iface_rows, finding_rows, discovery_rows = [], [], [], []
        for d in range(1, n_devices + 1):
            manufacturer, model, (kind, crit, phi, _), vulns = models[rng.randrange(len(models))]
            unit = rng.randint(1, 400)
            eos = date(2024, 6, 30) if rng.random() < 0.08 else None
            device_rows.append((d, (unit - 1) // 10 + 1, unit, f"A{d:07d}", manufacturer, model, kind, crit, phi,
                                "Windows 7" if rng.random() < 0.05 else None, eos, NOW, NOW))  # fmt: skip
            iface_rows.append((d, f"10.{d >> 16}.{(d >> 8) & 255}.{d & 255}", 100 + unit % 50, "cmms"))
            for cve, kev, epss, vector, cvss in vulns:
                finding_rows.append((d, cve, "", "bench", "confirmed", None, False, kev, epss, None, cvss, vector,
                                     "{}", NOW, NOW, None))  # fmt: skip
            if rng.random() < 0.02:
                discovery_rows.append((d, "external_peer", f"203.0.113.{d % 250}:443", "tls", 1, "bench", NOW, NOW, 1))
            if rng.random() < 0.03:
                discovery_rows.append((d, "phi_cleartext", "HL7 PID without TLS", "hl7", 1, "bench", NOW, NOW, 1))
        bulk_insert(c, devices, ("id", "site_id", "unit_id", "asset_tag", "manufacturer", "model", "device_type",
                                 "criticality", "handles_phi", "os_name", "end_of_support", "created_at",
                                 "updated_at"), device_rows)  # fmt: skip
        bulk_insert(c, interfaces, ("device_id", "ip", "vlan", "source_kind"), iface_rows)
        columns = ("device_id", "vulnerability_id", "component_ref", "source", "confidence", "vex_status", "suppressed",
                   "in_kev", "epss", "epss_percentile", "cvss_score", "cvss_vector", "detail", "first_seen",
                   "last_seen", "resolved_at")  # fmt: skip
        bulk_insert(c, vulnerability_findings, columns, finding_rows)
        bulk_insert(c, findings, ("device_id", "kind", "detail", "protocol", "source_id", "locator", "first_seen",
                                  "last_seen", "count"), discovery_rows)  # fmt: skip
        # MDS2 forms for two models in three (as in the simulated feeds): risk reads them for every device
        forms = []
        for manufacturer, model, _, _ in models:
            if rng.random() < 0.65:
                offline = rng.random() < 0.2
                caps = {"remote_service": not offline and rng.random() < 0.6, "external_network": not offline,
                        "wireless": False if offline else rng.random() < 0.3, "application_allowlisting":
                        rng.random() < 0.2, "authentication": rng.random() < 0.7, "stores_phi": rng.random() < 0.5,
                        "transmits_phi": not offline and rng.random() < 0.5}  # fmt: skip
                forms.append((VENDORS.vendor_key(manufacturer), model_key(manufacturer, model), manufacturer, model,
                              f"mds2/{len(forms):064d}.csv", json.dumps(caps), "{}", "metadata", NOW))  # fmt: skip
        bulk_insert(c, model_security, ("vendor_key", "model_key", "manufacturer", "model", "form", "capabilities",
                                        "answers", "linked_by", "linked_at"), forms)  # fmt: skip
    # The "new KEV entry": a CVE not yet in KEV with the median reach; the worst case is the widest one.
    reach: dict[str, int] = {}
    for row in finding_rows:
        reach[row[1]] = reach.get(row[1], 0) + 1
    kev = {c for c, k, _, _, _ in pool if k}
    candidates = sorted((c for c in reach if c not in kev), key=lambda c: (reach[c], c))
    target = candidates[len(candidates) // 2]  # a typical reach: the median
    widest = candidates[-1]
    return {"devices": n_devices, "findings": len(finding_rows), "discovery_findings": len(discovery_rows),
            "new_kev": target, "new_kev_devices": reach[target], "widest": widest,
            "widest_devices": reach[widest]}  # fmt: skip


CPU: dict[str, float] = {}


def timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run, print wall time and this process's CPU time (on a shared machine the CPU time varies far less)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    seconds, CPU[label] = time.perf_counter() - started, time.process_time() - cpu
    print(f"  {label}: {seconds:.2f} s (CPU {CPU[label]:.2f} s) load {os.getloadavg()[0]:.1f}", flush=True)
    return result, seconds


def run(url: str, n_devices: int, per_model: int, seed: int) -> dict[str, object]:
    engine = connect(url)
    migrate(engine)
    info, gen_s = timed("generate", generate, engine, n_devices, per_model, seed)
    print(f"  {info}", flush=True)
    with engine.begin() as c:  # a database in steady state has statistics (autovacuum / ANALYZE after imports)
        c.execute(text("ANALYZE"))

    def load_only() -> int:
        with pause_gc(), engine.connect() as connection:  # as rescore reads them
            return len(load_inputs(connection, DiscoveryExposure()).devices)

    load_before = os.getloadavg()[0]
    _, floor_s = timed("floor", load_only)
    report, full_s = timed("full", rescore, engine)
    with engine.begin() as c:
        c.execute(update(vulnerability_findings).where(vulnerability_findings.c.vulnerability_id == info["new_kev"])
                  .values(in_kev=True))  # fmt: skip
    started = time.perf_counter()
    affected = devices_affected_by(engine, [str(info["new_kev"])])
    partial = rescore(engine, affected)
    kev_s = time.perf_counter() - started
    # Steady state: the next day's full rescore over stored scores (replaced, not first written).
    _, again_s = timed("full again", rescore, engine)
    print(f"  new KEV entry → {len(affected)} devices rescored: {kev_s:.2f} s", flush=True)
    # Worst case: the most widespread vulnerability becomes known-exploited.
    with engine.begin() as c:
        c.execute(update(vulnerability_findings).where(vulnerability_findings.c.vulnerability_id == info["widest"])
                  .values(in_kev=True))  # fmt: skip
    started = time.perf_counter()
    widest = rescore(engine, devices_affected_by(engine, [str(info["widest"])]))
    widest_s = time.perf_counter() - started
    print(f"  widest KEV entry → {widest.devices} devices rescored: {widest_s:.2f} s", flush=True)
    engine.dispose()
    return {**info, "generate_s": round(gen_s, 1), "load_average": round(load_before, 1), "floor_s": round(floor_s, 2),
            "floor_cpu_s": round(CPU["floor"], 2), "full_rescore_s": round(full_s, 2),
            "full_rescore_cpu_s": round(CPU["full"], 2), "full_again_s": round(again_s, 2),
            "levels": report.levels, "priorities": report.priorities, "kev_devices": partial.devices,
            "kev_rescore_s": round(kev_s, 3), "widest_kev_devices": widest.devices,
            "widest_kev_rescore_s": round(widest_s, 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=200_000)
    parser.add_argument("--findings-per-model", type=int, default=6, help="mean vulnerabilities per model")
    parser.add_argument("--postgres", help="also run on this PostgreSQL database (a scratch schema is used)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite", flush=True)
        results["sqlite"] = run(f"sqlite:///{folder}/bench.db", args.devices, args.findings_per_model, args.seed)
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            print("PostgreSQL", flush=True)
            sep = "&" if "?" in args.postgres else "?"
            url = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
            results["postgresql"] = run(url, args.devices, args.findings_per_model, args.seed)
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"risk-{args.devices}.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
