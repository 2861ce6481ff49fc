"""Benchmark: the board report as PDF on the xl hospital (200,000 devices, ~1.2 million findings).

The budget comes from issue 6: the board report PDF in under 30 s.  The database is the synthetic xl hospital of
``bench_risk.py`` (same generator, same seed), scored (``rescore``) and with a second, older snapshot so the
report draws its trend.  Measured: the figures alone (SQL), HTML, PDF in-process, and ``wardwatch report board
--out FILE.pdf`` as a user runs it (a fresh process: imports, figures, charts, layout).  Anchor in the same run:
WeasyPrint laying out a one-page document (the fixed cost of the PDF engine on this machine).

    .venv/bin/python bench/bench_report.py [--devices 200000] [--seed 1]

Results: a Markdown table, and bench/out/report-<devices>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_risk import generate  # noqa: E402
from sqlalchemy import text  # noqa: E402

from wardwatch.domain.permissions import SYSTEM  # noqa: E402
from wardwatch.services.report_render import render_html, render_pdf  # noqa: E402
from wardwatch.services.reports import board_report  # noqa: E402
from wardwatch.services.risk import rescore, snapshot  # noqa: E402
from wardwatch.store.database import connect, migrate  # noqa: E402


def timed(label: str, fn, *args):  # type: ignore[no-untyped-def]
    started, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    print(f"  {label}: {seconds:.2f} s (CPU {cpu_s:.2f} s) load {os.getloadavg()[0]:.1f}", flush=True)
    return result, round(seconds, 2), round(cpu_s, 2)


def floor_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<h1>Wardwatch</h1><p>one page</p>").write_pdf()  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    results: dict[str, object] = {"devices": args.devices}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        engine = connect(url)
        migrate(engine)
        info, results["generate_s"], _ = timed("generate", generate, engine, args.devices, 6, args.seed)
        results["findings"] = info["findings"]
        with engine.begin() as c:
            c.execute(text("ANALYZE"))
        _, results["rescore_s"], _ = timed("rescore (not part of the report)", rescore, engine)
        snapshot(engine, date.today() - timedelta(days=7))  # noqa: DTZ011 - a trend needs two days
        _, results["floor_pdf_s"], _ = timed("floor: WeasyPrint, one page", floor_pdf)
        report, results["figures_s"], results["figures_cpu_s"] = timed("figures", board_report, engine, SYSTEM)
        _, results["html_s"], _ = timed("HTML (charts + template)", render_html, report)
        pdf, results["pdf_s"], results["pdf_cpu_s"] = timed("PDF (charts + template + layout)", render_pdf, report)
        results["pdf_bytes"] = len(pdf)
        engine.dispose()
        target = Path(folder) / "board.pdf"
        env = {**os.environ, "WARDWATCH_DATABASE_URL": url, "WARDWATCH_HOME": folder}
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 - our own command
            [str(ROOT / ".venv" / "bin" / "wardwatch"), "report", "board", "--out", str(target)], env=env, check=True
        )
        results["cli_s"] = round(time.perf_counter() - started, 2)
        print(f"  wardwatch report board --out board.pdf: {results['cli_s']:.2f} s", flush=True)
        results["load_average"] = round(os.getloadavg()[0], 1)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"report-{args.devices}.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n| step | seconds |\n|---|---|")
    for key in ("floor_pdf_s", "figures_s", "html_s", "pdf_s", "cli_s"):
        print(f"| {key} | {results[key]} |")


if __name__ == "__main__":
    main()
