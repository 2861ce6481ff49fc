"""`wardwatch alarms`: verify a file (JSON contract, exit codes), import, budgets, monitor — as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wardwatch.cli.app import app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "alarms"
runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path))
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path


def test_verify_file_json_contract_and_exit_code() -> None:
    result = runner.invoke(app, ["alarms", "verify", str(FIXTURES / "hand.yaml"), "--json"])
    assert result.exit_code == 1, result.output  # budgets are missed
    report = json.loads(result.stdout)
    high = next(r for r in report["results"] if r["budget"] == "ICU/arrhythmia/high")
    assert high["source"] == "mon" and high["budget_s"] == 8.0
    assert high["worst_case_s"] is None and high["failure_set"] == ["rf5"] and high["passed"] is False
    assert {p["element"] for p in report["single_points_of_failure"]} == {"rf5", "sw", "srv1", "srv1--phones"}
    assert report["recommendations"]["complete"] is True


def test_verify_k0_passes_and_prints_a_sentence() -> None:
    result = runner.invoke(app, ["alarms", "verify", str(FIXTURES / "hand.yaml"), "--k", "0"])
    assert result.exit_code == 0, result.output
    assert "every budget holds" in result.stdout


def test_verify_bad_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes:\n  - {id: a, kind: source}\nlinks:\n  - {a: a, b: zz}\n")
    result = runner.invoke(app, ["alarms", "verify", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.stderr and "zz" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_import_verify_stored_budgets_and_monitor(home: Path, tmp_path: Path) -> None:
    imported = runner.invoke(app, ["alarms", "import", str(FIXTURES / "hand.yaml")])
    assert imported.exit_code == 0, imported.output
    assert "stored as version 1" in imported.stdout
    stored = runner.invoke(app, ["alarms", "verify", "--json"])
    assert stored.exit_code == 1
    assert json.loads(stored.stdout)["flows"] == 1  # only the approved budget is in force
    budgets = runner.invoke(app, ["alarms", "budgets", "--json"])
    assert {(b["key"], b["status"]) for b in json.loads(budgets.stdout)} == {
        ("ICU/arrhythmia/high", "approved"), ("ICU/*/low", "draft"),
    }  # fmt: skip
    csv = tmp_path / "d.csv"
    csv.write_text(
        "source,recipient,sent,received,unit,priority,alarm_type,heartbeat\n"
        "mon,phones,2026-11-30T08:00:00Z,2026-11-30T08:00:03Z,ICU,high,arrhythmia,false\n"
        "mon,phones,2026-11-30T08:01:00Z,2026-11-30T08:01:09Z,ICU,high,arrhythmia,false\n"
    )
    monitored = runner.invoke(app, ["alarms", "monitor", str(csv), "--json"])
    assert monitored.exit_code == 0, monitored.output
    report = json.loads(monitored.stdout)
    assert report["new"] == 2 and len(report["summary"]["breaches"]) == 1  # 9 s > the approved 8 s
    again = runner.invoke(app, ["alarms", "monitor", str(csv), "--json"])
    assert json.loads(again.stdout)["new"] == 0


def test_evidence_record_as_html_and_pdf(home: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["alarms", "import", str(FIXTURES / "hand.yaml")]).exit_code == 0
    assert runner.invoke(app, ["alarms", "verify"]).exit_code == 1
    html = tmp_path / "icu.html"
    result = runner.invoke(app, ["alarms", "evidence", "--unit", "ICU", "--out", str(html)])
    assert result.exit_code == 0, result.output
    text = html.read_text()
    assert "Dr. Ada Byron" in text and "ICU monitors" in text
    pdf = tmp_path / "icu.pdf"
    assert runner.invoke(app, ["alarms", "evidence", "--unit", "ICU", "--out", str(pdf)]).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    wrong = runner.invoke(app, ["alarms", "evidence", "--unit", "ICU", "--out", str(tmp_path / "x.docx")])
    assert wrong.exit_code == 2


def test_draft_from_the_inventory_reads_back_and_counts_the_devices(home: Path, tmp_path: Path) -> None:
    cmms = Path(__file__).parents[1] / "fixtures" / "cmms" / "messy.csv"
    assert runner.invoke(app, ["inventory", "import", str(cmms)]).exit_code == 0
    out = tmp_path / "draft.yaml"
    result = runner.invoke(app, ["alarms", "draft", "--out", str(out)])
    assert result.exit_code == 0, result.output
    from wardwatch.ingest.alarm_topology import read_alarm_topology  # noqa: PLC0415

    topology = read_alarm_topology(out)
    by_unit = {(s.unit, s.device_kind): s.devices for s in topology.sources}
    # messy.csv: ICU East has two monitors (BME-1001 twice is one device, BME-1002); Med-Surg 3N an Alaris pump
    assert by_unit[("ICU East", "monitor")] == 2
    assert ("Med-Surg 3N", "pump") in by_unit
    assert all(b.approved_by is None for b in topology.budgets)  # defaults, for a clinician to approve
    assert "(EDIT)" in out.read_text()
    imported = runner.invoke(app, ["alarms", "import", str(out)])
    assert imported.exit_code == 0, imported.output
    assert runner.invoke(app, ["alarms", "verify", "--json"]).exit_code in (0, 1)


def test_draft_without_alarm_devices_is_one_line(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["alarms", "draft", "--out", str(tmp_path / "d.yaml")])
    assert result.exit_code == 2
    assert "no unit has alarm-raising devices" in result.stderr


def test_evidence_for_an_unknown_unit_is_refused(home: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["alarms", "import", str(FIXTURES / "hand.yaml")]).exit_code == 0
    result = runner.invoke(app, ["alarms", "evidence", "--unit", "Nowhere", "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2 and "no unit 'Nowhere'" in result.stderr and "ICU" in result.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_monitor_without_storing_judges_by_the_budgets_in_force(home: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["alarms", "import", str(FIXTURES / "hand.yaml")]).exit_code == 0
    csv = tmp_path / "d.csv"
    csv.write_text(
        "source,recipient,sent,received,unit,priority,alarm_type,heartbeat\n"
        "mon,phones,2026-11-30T08:00:00Z,2026-11-30T08:00:09Z,ICU,high,arrhythmia,false\n"
    )
    result = runner.invoke(app, ["alarms", "monitor", str(csv), "--no-store", "--json"])
    assert result.exit_code == 0, result.output
    (breach,) = json.loads(result.stdout)["summary"]["breaches"]
    assert breach["budget_key"] == "ICU/arrhythmia/high" and breach["latency_s"] == 9.0  # over the approved 8 s


def test_probe_records_real_heartbeats_and_exits_1_when_one_is_lost(home: Path, tmp_path: Path) -> None:
    import socket  # noqa: PLC0415
    import socketserver  # noqa: PLC0415
    import threading  # noqa: PLC0415

    class Echo(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.sendall(self.request.recv(4096))

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
        closed.close()  # nothing listens there any more
        config = tmp_path / "probe.yaml"
        config.write_text(
            "interval: 0.5\ntimeout: 0.4\nendpoints:\n"
            f"  - {{name: echo, kind: tcp-echo, host: 127.0.0.1, port: {server.server_address[1]}}}\n"
            f"  - {{name: gone, kind: tcp-echo, host: 127.0.0.1, port: {dead_port}}}\n"
        )
        result = runner.invoke(app, ["alarms", "probe", str(config), "--rounds", "1"])
        server.shutdown()
    assert result.exit_code == 1, result.output
    assert "echo: NOT DELIVERED" not in result.stdout and "gone: NOT DELIVERED" in result.stdout
    assert "2 heartbeat record(s) stored" in result.stdout and "1 of 2 heartbeat(s) not delivered" in result.stdout
    import sqlite3  # noqa: PLC0415

    with sqlite3.connect(home / "wardwatch.db") as db:
        stored = db.execute(
            "SELECT recipient, received_at IS NOT NULL FROM alarm_deliveries ORDER BY recipient"
        ).fetchall()
    assert stored == [("echo", 1), ("gone", 0)]  # the lost heartbeat is kept as lost, the delivered one as received
