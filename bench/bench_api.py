"""Benchmark: the API under load — device list/search and device page at 50 concurrent users (wrk on loopback).

Builds the inventory of the generated hospital (default xl, ~200,000 devices) in a temporary SQLite database,
serves it with ``wardwatch serve`` (one uvicorn process), and drives it with wrk.  The anchors are the budgets
of issue 6 (list/search p95 < 200 ms, device page p95 < 300 ms at 50 concurrent users) and, as a floor in the
same run, the same server returning a small static file.

    .venv/bin/python bench/bench_api.py [--size xl] [--seed 1] [--duration 15] [--connections 50]

Needs ``wrk`` (``apt-get install wrk``).  Results: a Markdown table, and bench/out/api-<size>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LUA = r"""
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%.2f, "non2xx": %%d, "errors": %%d, ' ..
    '"p50_ms": %%.1f, "p95_ms": %%.1f, "p99_ms": %%.1f, "max_ms": %%.1f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(size: str, seed: int, out: Path, home: Path) -> tuple[str, dict[str, object]]:
    """Generate and import the hospital; return an admin token and what it took."""
    from wardwatch import simulate
    from wardwatch.domain.permissions import SYSTEM
    from wardwatch.services.accounts import add_user, create_token
    from wardwatch.services.inventory_import import import_cmms
    from wardwatch.store.database import connect, migrate

    folder = out / f"hospital-{size}-{seed}-cmms"
    export = folder / "cmms_export.csv"
    if not export.exists():
        simulate.write(simulate.generate(size, seed), folder, traffic=False, feeds=False)  # type: ignore[arg-type]
    engine = connect(f"sqlite:///{home / 'wardwatch.db'}")
    migrate(engine)
    started = time.perf_counter()
    report = import_cmms(engine, export)
    facts: dict[str, object] = {"devices": report.created, "import_seconds": round(time.perf_counter() - started, 1)}
    add_user(engine, SYSTEM, "bench", "admin", "benchmark-password")
    token, _ = create_token(engine, SYSTEM, "bench", "bench")
    engine.dispose()
    return token, facts


def workloads(home: Path) -> dict[str, list[str]]:
    """Request paths of each workload, drawn from the real data (searches that hit and that miss)."""
    import sqlite3

    connection = sqlite3.connect(home / "wardwatch.db")
    rng = random.Random(1)
    ids = [r[0] for r in connection.execute("SELECT id FROM devices ORDER BY random() LIMIT 2000")]
    tags = [r[0] for r in connection.execute("SELECT asset_tag FROM devices WHERE asset_tag IS NOT NULL LIMIT 50000")]
    models = [r[0] for r in connection.execute("SELECT DISTINCT model FROM devices WHERE model IS NOT NULL")]
    vendors = [
        r[0] for r in connection.execute("SELECT DISTINCT manufacturer FROM devices WHERE manufacturer IS NOT NULL")
    ]
    hosts = [r[0] for r in connection.execute("SELECT hostname FROM interfaces WHERE hostname IS NOT NULL LIMIT 20000")]
    connection.close()
    quote = urllib.request.quote
    listing = ["/api/devices?limit=50"] * 20
    listing += [f"/api/devices?limit=50&after={i}" for i in rng.sample(ids, 100)]
    listing += ["/api/devices?limit=50&criticality=life-sustaining", "/api/devices?limit=50&type=infusion-pump",
                "/api/devices?limit=50&criticality=monitoring&type=patient-monitor"] * 10  # fmt: skip
    listing += [f"/api/devices?limit=50&q={quote(t)}" for t in rng.sample(tags, 100)]  # one device each
    listing += [f"/api/devices?limit=50&q={quote(m.lower())}" for m in rng.sample(models, min(60, len(models)))]
    listing += [
        f"/api/devices?limit=50&q={quote(v.split()[0].lower())}" for v in rng.sample(vendors, min(30, len(vendors)))
    ]
    listing += [f"/api/devices?limit=50&q={quote(h[:6])}" for h in rng.sample(hosts, min(60, len(hosts)))]
    listing += ["/api/devices?limit=50&q=zz-no-such-device"] * 10
    return {
        "static file (floor)": ["/static/css/app.css"],
        "device list and search": listing,
        "device page": [f"/api/devices/{i}" for i in ids[:1000]],
    }


def run_wrk(url: str, token: str, paths: list[str], duration: int, connections: int, work: Path) -> dict[str, float]:
    listing = work / f"paths-{abs(hash(tuple(paths)))}.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = work / "bench.lua"
    script.write_text(LUA % {"paths": listing, "token": token})
    completed = subprocess.run(  # noqa: S603 - wrk from the system
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in completed.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["requests_per_s"] = round(result["requests"] / result["seconds"], 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="xl", choices=["small", "medium", "large", "xl"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench_api needs wrk: apt-get install wrk")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        token, facts = prepare(args.size, args.seed, args.out, home)
        port = free_port()
        env = {**os.environ, "WARDWATCH_HOME": str(home)}
        env.pop("WARDWATCH_DATABASE_URL", None)
        server = subprocess.Popen(  # noqa: S603 - our own entry point
            [str(Path(sys.executable).parent / "wardwatch"), "serve", "--port", str(port)], env=env,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"{url}/login", timeout=1).close()  # noqa: S310 - loopback
                    break
                except OSError:
                    time.sleep(0.1)
            # The server builds its search index in the background at start; wait for it before measuring.
            request = urllib.request.Request(
                f"{url}/api/devices?q=warm-up", headers={"Authorization": f"Bearer {token}"}
            )
            urllib.request.urlopen(request, timeout=120).close()  # noqa: S310 - loopback
            runs = {name: run_wrk(url, token, paths, args.duration, args.connections, home)
                    for name, paths in workloads(home).items()}  # fmt: skip
        finally:
            server.terminate()
            server.wait(30)
    results = {"size": args.size, "seed": args.seed, "connections": args.connections, **facts, "runs": runs}
    (args.out / f"api-{args.size}.json").write_text(json.dumps(results, indent=2))
    print(f"{facts['devices']:,} devices (SQLite), {args.connections} connections, {args.duration} s per run")
    print()
    print("| workload | requests/s | p50 ms | p95 ms | p99 ms | non-2xx | errors |")
    print("|---|---|---|---|---|---|---|")
    for name, run in runs.items():
        cells = [run["requests_per_s"], run["p50_ms"], run["p95_ms"], run["p99_ms"], run["non2xx"], run["errors"]]
        print(f"| {name} | " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
