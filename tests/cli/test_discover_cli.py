"""``wardwatch discover`` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wardwatch.cli.app import app

PCAP = Path(__file__).parents[1] / "fixtures" / "pcap"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    return CliRunner()


def test_json_document_has_devices_and_stats_with_the_contract_fields(cli: CliRunner) -> None:
    result = cli.invoke(app, ["discover", str(PCAP / "hl7_v25_oru.pcap"), "--json", "--no-store"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"devices", "stats"}
    required = {"ip", "mac", "vendor", "model", "category", "os", "hostnames", "protocols", "identifiers", "findings",
                "evidence"}  # fmt: skip
    assert all(required <= set(d) for d in document["devices"])
    sender = next(d for d in document["devices"] if "hl7_applications" in d["identifiers"]
                  and "PATIENT_MONITOR" in d["identifiers"]["hl7_applications"])  # fmt: skip
    assert "phi_cleartext" in {f["kind"] for f in sender["findings"]}


def test_store_then_list_unknown_devices(cli: CliRunner) -> None:
    assert cli.invoke(app, ["init"]).exit_code == 0
    result = cli.invoke(app, ["discover", str(PCAP / "smbv1.pcap")])
    assert result.exit_code == 0, result.stderr
    assert "smbv1" in result.stdout
    assert "unknown devices added" in result.stdout
    listing = json.loads(cli.invoke(app, ["devices", "list", "--seen", "unknown", "--json"]).stdout)
    assert listing["total"] >= 2


def test_bad_capture_is_one_line_and_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "broken.pcap"
    bad.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 5)
    result = cli.invoke(app, ["discover", str(bad), "--no-store"])
    assert result.exit_code == 2
    assert "broken.pcap" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
