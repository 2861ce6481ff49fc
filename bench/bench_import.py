"""Benchmark: import of the generated CMMS export (default: the xl hospital, ~200,000 rows) on SQLite and PostgreSQL.

Each measurement runs in its own process and reports its wall time and peak resident memory.  The anchors are the
budget the foundation issue sets (60 s, 1 GiB) and, as a floor, Python's csv module reading the same file.

    .venv/bin/python bench/bench_import.py [--size xl] [--seed 1] [--postgres URL] [--out bench/out]

Results are printed as a Markdown table and written to bench/out/import-<size>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, url, path = sys.argv[1], sys.argv[2], Path(sys.argv[3])
started = time.perf_counter()
result = {}
if mode == "csv-floor":
    import csv
    with path.open(encoding="utf-8-sig", newline="") as handle:
        result["rows"] = sum(1 for _ in csv.reader(handle)) - 1
else:
    from wardwatch.services.inventory_import import import_cmms
    from wardwatch.store.database import connect, migrate
    engine = connect(url)
    if mode == "import":
        migrate(engine)
    report = import_cmms(engine, path)
    result = {k: getattr(report, k) for k in ("rows_read", "devices_in_file", "duplicate_rows", "created",
              "updated", "unchanged", "change_count")}
result["seconds"] = round(time.perf_counter() - started, 2)
result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(result))
"""


def measure(mode: str, url: str, export: Path) -> dict[str, object]:
    completed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", CHILD, mode, url, str(export)], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"{mode} on {url} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="xl", choices=["small", "medium", "large", "xl"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default=os.environ.get(
        "WARDWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()

    from wardwatch import simulate

    args.out.mkdir(parents=True, exist_ok=True)
    hospital_dir = args.out / f"hospital-{args.size}-{args.seed}"
    export = hospital_dir / "cmms_export.csv"
    started = time.perf_counter()
    if not export.exists():
        simulate.write(simulate.generate(args.size, args.seed), hospital_dir)
    generated = round(time.perf_counter() - started, 2)
    results: dict[str, object] = {"size": args.size, "seed": args.seed, "generate_seconds": generated,
                                  "export_mb": round(export.stat().st_size / 1e6, 1), "runs": {}}  # fmt: skip
    runs: dict[str, dict[str, object]] = {}
    runs["csv module floor"] = measure("csv-floor", "", export)

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        runs["SQLite first import"] = measure("import", url, export)
        runs["SQLite re-import"] = measure("reimport", url, export)

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{args.postgres}?options=-csearch_path%3D{schema}"
        runs["PostgreSQL first import"] = measure("import", url, export)
        runs["PostgreSQL re-import"] = measure("reimport", url, export)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    results["runs"] = runs
    (args.out / f"import-{args.size}.json").write_text(json.dumps(results, indent=2))

    print(f"CMMS export: {args.size}, seed {args.seed}, {results['export_mb']} MB (generated in {generated} s)")
    print()
    print("| run | rows | devices | created | unchanged | seconds | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|")
    for name, run in runs.items():
        cells = [run.get("rows_read", run.get("rows", "")), run.get("devices_in_file", ""), run.get("created", ""),
                 run.get("unchanged", ""), run["seconds"], run["peak_rss_mb"]]  # fmt: skip
        print(f"| {name} | " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
