"""``wardwatch demo`` — what ``make demo`` runs — works on a fresh data folder and says true things."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wardwatch.cli.app import app


def test_demo_runs_every_capability_on_the_sample_hospital(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path))
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "206 CMMS rows → 200 devices" in out
    assert re.search(r"\d+ devices seen on the network, \d+ identified", out)
    assert re.search(r"\d+ device × vulnerability findings \(\d+ confirmed\)", out)
    assert "send patient data (HL7 with PID) in cleartext" in out
    assert (tmp_path / "demo" / "wardwatch.db").exists()
    assert re.search(r"risk scored for \d+ devices", out)  # the UI has scores at once
    # The demo's data is not in WARDWATCH_HOME itself: the error says where it is and what to export.
    stray = CliRunner().invoke(app, ["devices", "list"])
    assert stray.exit_code != 0
    assert f"export WARDWATCH_HOME={tmp_path / 'demo'}" in " ".join(stray.stderr.split())
    assert f"export WARDWATCH_HOME={tmp_path / 'demo'}" in out
    # Explore it: the printed commands work against the demo database.
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path / "demo"))
    risk = CliRunner().invoke(app, ["risk", "--top", "3", "--json"])
    assert risk.exit_code == 0 and '"score"' in risk.stdout
    listing = CliRunner().invoke(app, ["devices", "list", "--seen", "unknown", "--json"])
    assert listing.exit_code == 0
    findings = CliRunner().invoke(app, ["findings", "--kev", "--confidence", "confirmed", "--json"])
    assert findings.exit_code == 0
    assert '"total"' in findings.stdout
