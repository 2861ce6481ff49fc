"""``wardwatch governance`` and ``wardwatch training``: exit codes, JSON, one-line errors, the risk-file export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from wardwatch.cli.app import app
from wardwatch.domain.permissions import SYSTEM
from wardwatch.services.accounts import add_user
from wardwatch.store.database import connect, migrate
from wardwatch.store.schema import devices

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A migrated SQLite database the CLI is pointed at: five devices (four with a model and version), one biomed
    account."""
    url = f"sqlite:///{tmp_path / 'wardwatch.db'}"
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path))
    monkeypatch.setenv("WARDWATCH_DATABASE_URL", url)
    engine = connect(url)
    migrate(engine)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for i in range(5):
            model, version = ("Alaris 8015", "9.19") if i < 4 else (None, None)
            connection.execute(insert(devices).values(manufacturer="BD", model=model, software_version=version,
                                                      created_at=now, updated_at=now))  # fmt: skip
    add_user(engine, SYSTEM, "bea", "biomed", "b" * 16)
    yield engine
    engine.dispose()


def test_governance_json_has_every_framework_and_the_inventory_figures(database: Engine) -> None:
    result = runner.invoke(app, ["governance", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [f["key"] for f in report["frameworks"]] == ["csf", "hicp", "80001", "tjc"]
    inventory = next(c for c in report["controls"] if c["id"] == "inventory-identified")
    assert inventory["status"] == "partial"  # 4 of 5 = 80 %
    assert inventory["evidence"] == {"devices": 5, "identified": 4, "unknown": 1}


def test_one_framework_as_a_table_lists_its_gaps(database: Engine) -> None:
    result = runner.invoke(app, ["governance", "--framework", "tjc"])
    assert result.exit_code == 0, result.output
    assert "EC.02.04.01" in result.stdout  # the table (its layout follows the terminal's width)
    listed = json.loads(runner.invoke(app, ["governance", "--framework", "tjc", "--json"]).stdout)
    (tjc,) = listed["frameworks"]
    assert tjc["name"].startswith("Joint Commission EC.02.04.01")
    ranks = {"gap": 0, "partial": 1, "met": 2}
    assert [ranks[i["status"]] for i in tjc["items"]] == sorted(ranks[i["status"]] for i in tjc["items"])  # gaps first
    assert any(i["reason"] == "not covered by Wardwatch: a process the hospital must document" for i in tjc["items"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["governance", "--framework", "iso"], "--framework 'iso': choose one of csf, hicp, 80001, tjc"),
        (["governance", "--framework", "csf", "--export", "x.html"], "use it with --framework 80001"),
        (["training", "add", "bea", "cyber-awareness", "--completed", "2026-13-01"], "is not a date"),
        (["training", "add", "Ann Lee", "cyber-awareness", "--completed", "2026-01-01"], "give the role"),
        (["training", "add", "bea", "x", "--completed", "2026-01-01", "--expires", "2025-01-01"], "before completion"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(database: Engine, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_training_add_then_list_and_expiring(database: Engine) -> None:
    added = runner.invoke(app, ["training", "add", "bea", "medical-device-security", "--completed", "2026-01-10",
                                "--valid-days", "10", "--json"])  # fmt: skip
    assert added.exit_code == 0, added.output
    record = json.loads(added.stdout)
    assert (record["username"], record["role"], record["expires_on"]) == ("bea", "biomed", "2026-01-20")
    runner.invoke(app, ["training", "add", "Ann Lee", "cyber-awareness", "--completed", "2026-01-10",
                        "--role", "clinician"])  # fmt: skip
    listing = json.loads(runner.invoke(app, ["training", "list", "--json"]).stdout)
    assert [r["username"] for r in listing["records"]] == ["Ann Lee", "bea"]
    people = {p["username"]: p for p in listing["people"]}
    assert people["bea"]["missing"] == ["cyber-awareness", "medical-device-security"]  # never / expired
    expiring = json.loads(runner.invoke(app, ["training", "list", "--expiring-days", "0", "--json"]).stdout)
    assert [r["course"] for r in expiring["records"]] == ["medical-device-security"]  # expired, not renewed
    table = runner.invoke(app, ["training", "list"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "Current per role: biomed 0/1, clinician" in table.stdout


def test_export_writes_the_risk_file(database: Engine, tmp_path: Path) -> None:
    target = tmp_path / "risk-file.html"
    result = runner.invoke(app, ["governance", "--framework", "80001", "--export", str(target)])
    assert result.exit_code == 0, result.output
    assert "IEC 80001-1 risk-management file written to" in result.stdout
    html = target.read_text(encoding="utf-8")
    assert "<h1>IEC 80001-1 risk-management file</h1>" in html and "bea" in html
    data_file = tmp_path / "risk-file.json"
    assert runner.invoke(app, ["governance", "--export", str(data_file)]).exit_code == 0
    data = json.loads(data_file.read_text(encoding="utf-8"))
    assert data["facts"]["devices"] == 5
    assert data["facts"]["risk_file_exported"] is not None  # the first export is already evidence
