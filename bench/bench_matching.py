"""Benchmark: full-scale vulnerability matching — 250,000 CVEs × the xl hospital (200,000 devices) + SBOM components.

Phases, each in its own process (wall time and peak RSS of that process):

* ``engine``    — read every stored feed file, index it, match every device (each distinct profile once) and
                  count the device × vulnerability findings, SBOM component findings included (nothing stored).
* ``read-uncached`` — the engine's read without the parsed-record cache (``services/intel_cache.py``): every
                  stored file parsed from its JSON/CSV, as before the cache (same run, same files).
* ``baseline``  — the straightforward way, in the same run: every device checked against every CPE configuration
                  of its vendor (and every linked SBOM component against every configuration of the component's
                  CPE vendor) with ``packaging.version``.  Run on a sample of devices and extrapolated.
* ``delta``     — a one-day NVD delta (``--delta`` changed records) matched incrementally as ``rematch`` does:
                  only the delta file and the small feeds are read, every distinct profile is matched against
                  the changed records, and the device findings of the changed ids are counted.
* ``store-full`` / ``store-delta`` — the same through ``rematch`` into the database (stored rows), on the
                  ``--store-size`` hospital (the xl hospital's rows do not fit a 60-second write, see the docs).

    .venv/bin/python bench/bench_matching.py [--size xl] [--cves 250000] [--delta 300] [--sample 2000]
        [--store-size medium] [--work /tmp/wardwatch-bench-matching] [--keep]

Generated files go to ``--work`` and are deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PREPARE = r"""
import json, sys, time
from pathlib import Path
from wardwatch import simulate
from wardwatch.services.inventory_import import import_cmms
from wardwatch.services.vuln_findings import import_and_match
from wardwatch.settings import Settings
from wardwatch.store.database import connect, migrate
size, seed, cves, work = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
reuse = Path(sys.argv[5]) if len(sys.argv) > 5 else None  # feeds of the same seed and CVE count: the same files
sample, home = work / "sample", work / "home"
started = time.perf_counter()
hospital = simulate.generate(size, seed)
simulate.write(hospital, sample, feeds=reuse is None, cves=cves)
generated = time.perf_counter() - started
home.mkdir(parents=True, exist_ok=True)
engine = connect(f"sqlite:///{home / 'wardwatch.db'}")
migrate(engine)
import_cmms(engine, sample / "cmms_export.csv")
imported = time.perf_counter() - started - generated
feeds = reuse or sample / "feeds"
report, links, _ = import_and_match(engine, Settings(home=home), [feeds / "nvd", feeds / "csaf", feeds / "sbom",
    feeds / "known_exploited_vulnerabilities.json", feeds / "epss_scores.csv.gz"], match=False)
print(json.dumps({"generate_s": round(generated, 1), "cmms_import_s": round(imported, 1),
    "intel_import_s": round(time.perf_counter() - started - generated - imported, 1),
    "files": len(report.files), "sbom_links": len(links)}))
"""

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
phase, work, extra = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
sys.path.insert(0, str(Path(sys.argv[0]).parent))
from wardwatch.settings import Settings
from wardwatch.store.database import connect
import bench_matching as bench
home = work / "home"
engine = connect(f"sqlite:///{home / 'wardwatch.db'}")
started = time.perf_counter()
result = getattr(bench, "phase_" + phase.replace("-", "_"))(engine, Settings(home=home), work, extra)
result["seconds"] = round(time.perf_counter() - started, 2)
result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(result))
"""


# ------------------------------------------------------------------------------------------------ phases


def _devices_and_links(engine, settings, data, index):  # type: ignore[no-untyped-def]
    from wardwatch.services import vuln_findings as service  # noqa: PLC0415
    from wardwatch.store import vuln_findings as repo  # noqa: PLC0415

    with engine.connect() as connection:
        devices = repo.load_devices(connection)
        links = service.sbom_links_for(connection, data, index)
    return devices, service.group_profiles(devices), links


def phase_engine(engine, settings, work, extra):  # type: ignore[no-untyped-def]
    """Read, index, match every profile; count device findings (nothing stored)."""
    from wardwatch.domain.matching import match_device  # noqa: PLC0415
    from wardwatch.services import vuln_findings as service  # noqa: PLC0415
    from wardwatch.services.intel import read_intel  # noqa: PLC0415

    timings = {}
    step = time.perf_counter()
    data = read_intel(settings)
    timings["read_s"] = time.perf_counter() - step
    step = time.perf_counter()
    index = data.index()
    timings["index_s"] = time.perf_counter() - step
    step = time.perf_counter()
    devices, groups, links = _devices_and_links(engine, settings, data, index)
    timings["devices_s"] = time.perf_counter() - step
    step = time.perf_counter()
    findings = component_findings = components = confirmed = 0
    for key, members in groups.items():
        sbom = links.sbom_for(key[0], key[1])
        matches = match_device(service.profile_of(key, sbom), index, ordered=False)
        findings += len(matches) * len(members)
        for match in matches:
            component_findings += len(members) if match.component_ref else 0
            confirmed += len(members) if match.confidence.value == "confirmed" else 0
        components += (len(sbom.components) if sbom else 0) * len(members)
    timings["match_s"] = time.perf_counter() - step
    return {
        "cves": len(index._vulnerabilities),
        "devices": len(devices),
        "profiles": len(groups),
        "device_components": components,
        "distinct_components": len({c for s in data.sboms.values() for c in s.components}),
        "device_findings": findings,
        "confirmed": confirmed,
        "component_findings": component_findings,
        **{k: round(v, 2) for k, v in timings.items()},
        "match_only_s": round(timings["index_s"] + timings["devices_s"] + timings["match_s"], 2),
    }


def phase_read_uncached(engine, settings, work, extra):  # type: ignore[no-untyped-def]
    """The read of the engine phase without the parsed-record cache: every stored file parsed from its JSON/CSV."""
    from wardwatch.services.intel import _PARSERS, stored_files  # noqa: PLC0415

    step = time.perf_counter()
    records = sum(_PARSERS[kind](path).records for kind, path in stored_files(settings))
    return {"records": records, "read_s": round(time.perf_counter() - step, 2)}


def _baseline_device(device, sbom, by_vendor, vendor_key, version_cls, invalid):  # type: ignore[no-untyped-def]
    """The straightforward check: every configuration of the vendor, every criterion, packaging versions."""
    from wardwatch.domain.cpe import parse_cpe, unescape  # noqa: PLC0415

    def version(text):  # type: ignore[no-untyped-def]
        try:
            return version_cls(text)
        except invalid:
            return None

    def hit(match, have):  # type: ignore[no-untyped-def]
        cpe = parse_cpe(match.criteria)
        if have is None:
            return False
        pinned = unescape(cpe.version) if cpe.version not in ("*", "-") else None
        if pinned is not None:
            return version(pinned) == have
        for bound, ok in ((match.version_start_including, lambda b: have >= b),
                          (match.version_start_excluding, lambda b: have > b),
                          (match.version_end_including, lambda b: have <= b),
                          (match.version_end_excluding, lambda b: have < b)):  # fmt: skip
            if bound is not None:
                parsed = version(bound)
                if parsed is None or not ok(parsed):
                    return False
        return True

    def nodes(config):  # type: ignore[no-untyped-def]
        stack = [config]
        while stack:
            node = stack.pop()
            yield from node.matches
            stack.extend(node.children)

    found = set()
    checks = [(device.get("manufacturer"), device.get("software_version") or device.get("firmware_version"))]
    checks += [(unescape(parse_cpe(c.cpe).vendor), c.version) for c in (sbom.components if sbom else ()) if c.cpe]
    for vendor, raw in checks:
        if not vendor:
            continue
        have = version(raw) if raw else None
        for vuln in by_vendor.get(vendor_key(vendor), {}).values():
            for config in vuln.configurations:
                if any(m.vulnerable and hit(m, have) for m in nodes(config)):
                    found.add(vuln.id)
    return len(found)


def phase_baseline(engine, settings, work, extra):  # type: ignore[no-untyped-def]
    """The straightforward baseline on every n-th device, extrapolated to all devices."""
    from packaging.version import InvalidVersion, Version  # noqa: PLC0415

    from wardwatch.services.intel import read_intel  # noqa: PLC0415

    data = read_intel(settings)
    index = data.index()
    devices, _, links = _devices_and_links(engine, settings, data, index)
    step = max(1, len(devices) // extra["sample"])
    sample = devices[::step]
    started = time.perf_counter()
    found = 0
    for device in sample:
        sbom = links.sbom_for(device["manufacturer"], device["model"])
        found += _baseline_device(device, sbom, index._cpe_by_vendor, index.vendor_key, Version, InvalidVersion)
    seconds = time.perf_counter() - started
    return {
        "sampled_devices": len(sample),
        "sample_match_s": round(seconds, 2),
        "sample_findings": found,
        "extrapolated_match_s": round(seconds * len(devices) / len(sample), 1),
    }


def phase_delta(engine, settings, work, extra):  # type: ignore[no-untyped-def]
    """A one-day NVD delta matched incrementally (what ``rematch`` reads and computes), counted, not stored."""
    from wardwatch.domain.matching import match_device  # noqa: PLC0415
    from wardwatch.services import vuln_findings as service  # noqa: PLC0415
    from wardwatch.services.intel import read_intel, read_vulnerabilities, stored_files, stored_name  # noqa: PLC0415

    delta = Path(extra["delta_name"])
    started = time.perf_counter()
    changed = {v.id: v for v in read_vulnerabilities(settings, [delta.as_posix()])}
    data = read_intel(settings, skip=[stored_name(k, p) for k, p in stored_files(settings) if k == "nvd"])
    index = data.index(list(changed.values()))
    read_s = time.perf_counter() - started
    devices, groups, links = _devices_and_links(engine, settings, data, index)
    findings = 0
    for key, members in groups.items():
        matches = match_device(service.profile_of(key, links.sbom_for(key[0], key[1])), index, ordered=False)
        findings += sum(1 for m in matches if m.vulnerability_id in changed) * len(members)
    return {"changed_records": len(changed), "read_s": round(read_s, 2), "devices": len(devices),
            "device_findings_of_changed_ids": findings}  # fmt: skip


def phase_store_full(engine, settings, work, extra):  # type: ignore[no-untyped-def]
    """``rematch(full=True)`` into the database."""
    from wardwatch.services.vuln_findings import rematch  # noqa: PLC0415

    return rematch(engine, settings, full=True).as_dict()


def phase_store_delta(engine, settings, work, extra):  # type: ignore[no-untyped-def]
    """``rematch()`` after the delta file was imported: the incremental path, stored."""
    from wardwatch.services.vuln_findings import rematch  # noqa: PLC0415

    return rematch(engine, settings).as_dict()


# ------------------------------------------------------------------------------------------------ driver


def run(code: str, *args: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; its last stdout line is the JSON result."""
    completed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False, cwd=ROOT / "bench"
    )
    if completed.returncode != 0:
        raise SystemExit(f"failed:\n{completed.stderr[-4000:]}")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def phase(name: str, work: Path, **extra: object) -> dict[str, object]:
    """One measured phase in its own process."""
    script = str(ROOT / "bench" / "bench_matching.py")
    result = run(CHILD.replace("Path(sys.argv[0])", f"Path({script!r})"), name, str(work), json.dumps(extra))
    print(f"{name}: {json.dumps(result)}", flush=True)
    return result


def make_delta(work: Path, records: int, seed: int, pages_from: Path | None = None) -> str:
    """Write the one-day delta from a few NVD pages and import it into ``work``; returns its stored name."""
    from wardwatch.services.intel import import_intel  # noqa: PLC0415
    from wardwatch.settings import Settings  # noqa: PLC0415
    from wardwatch.simulate._feeds import write_nvd_delta  # noqa: PLC0415

    pages = sorted(((pages_from or work) / "sample" / "feeds" / "nvd").glob("*.json.gz"))
    chosen = pages[:: max(1, len(pages) // 10)]
    path = write_nvd_delta(chosen, work / "delta", records=records, seed=seed)
    report = import_intel(Settings(home=work / "home"), [path])
    return report.files[0].name


def main() -> None:
    """Parse arguments, run every phase, print and save the results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="xl")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cves", type=int, default=250_000)
    parser.add_argument("--delta", type=int, default=300, help="changed records in the one-day NVD delta")
    parser.add_argument("--sample", type=int, default=2_000, help="devices the baseline checks (extrapolated)")
    parser.add_argument("--store-size", default="medium", help="hospital size of the stored phases ('' to skip)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/wardwatch-bench-matching"))  # noqa: S108
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--phases", default="engine,read-uncached,baseline,delta,store", help="which phases to run")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    results: dict[str, object] = {"size": args.size, "cves": args.cves}
    try:
        main_work = args.work / args.size
        if not (main_work / "home" / "wardwatch.db").exists():
            results["prepare"] = run(PREPARE, args.size, str(args.seed), str(args.cves), str(main_work))
            print(f"prepare: {json.dumps(results['prepare'])}", flush=True)
        phases = set(args.phases.split(","))
        if "engine" in phases:
            results["engine"] = phase("engine", main_work)
        if "read-uncached" in phases:
            results["read_uncached"] = phase("read-uncached", main_work)
        if "baseline" in phases:
            results["baseline"] = phase("baseline", main_work, sample=args.sample)
        if "delta" in phases:
            delta = make_delta(main_work, args.delta, args.seed)
            results["delta"] = phase("delta", main_work, delta_name=delta)
        if args.store_size and phases & {"store", "store-delta"}:
            store_work = args.work / f"store-{args.store_size}"
            if not (store_work / "home" / "wardwatch.db").exists():
                feeds = main_work / "sample" / "feeds"  # the feeds depend on the seed and CVE count only
                results["store_prepare"] = run(PREPARE, args.store_size, str(args.seed), str(args.cves),
                                               str(store_work), *([str(feeds)] if feeds.is_dir() else []))  # fmt: skip
            if "store-delta" not in phases:
                results["store_full"] = phase("store-full", store_work)
            make_delta(store_work, args.delta, args.seed, pages_from=main_work)
            results["store_delta"] = phase("store-delta", store_work)
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / f"matching-{args.size}-{'-'.join(sorted(phases))}.json").write_text(
        json.dumps(results, indent=2) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
