"""The command line as a user runs it: exit codes, one-line errors, JSON output, exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from wardwatch.cli.app import app

CMMS = Path(__file__).parents[1] / "fixtures" / "cmms"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    return CliRunner()


def invoke(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_commands_before_init_say_what_to_do(cli: CliRunner) -> None:
    code, out, err = invoke(cli, "devices", "list")
    assert code == 2
    assert "wardwatch init" in err
    assert "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1


def test_init_import_list_show(cli: CliRunner) -> None:
    assert invoke(cli, "init")[0] == 0
    code, out, _ = invoke(cli, "inventory", "import", str(CMMS / "messy.csv"), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["created"] == 11
    code, out, _ = invoke(cli, "devices", "list", "--json", "--type", "ventilator")
    listing = json.loads(out)
    assert listing["total"] == 3
    assert {d["manufacturer"] for d in listing["devices"]} == {"Drägerwerk"}
    code, out, _ = invoke(cli, "devices", "show", "BME-2001", "--json")
    detail = json.loads(out)
    assert detail["asset_tag"] == "BME-7788"
    assert detail["history"] == []  # created, never changed: the claims say where each value came from
    assert detail["created_at"] is not None
    code, out, _ = invoke(cli, "devices", "show", "BME-1001")
    assert code == 0
    assert "Evidence" in out and "messy.csv" in out


def test_bad_input_exits_2_with_one_line_and_changes_nothing(cli: CliRunner) -> None:
    invoke(cli, "init")
    code, out, err = invoke(cli, "inventory", "import", str(CMMS / "bad_mac.csv"))
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "row 4" in lines[0] and "MAC Address" in lines[0]
    assert json.loads(invoke(cli, "devices", "list", "--json")[1])["total"] == 0
    code, _, err = invoke(cli, "devices", "show", "no[pe]'")
    assert code == 2
    assert err.strip().endswith('"no[pe]\'"')  # the whole reference, brackets and closing quote included
    assert invoke(cli, "devices", "list", "--criticality", "scary")[0] == 2
    assert invoke(cli, "inventory", "import", "/does/not/exist.csv")[0] == 2


def test_dry_run_prints_and_writes_nothing(cli: CliRunner) -> None:
    invoke(cli, "init")
    code, out, _ = invoke(cli, "inventory", "import", str(CMMS / "messy.csv"), "--dry-run")
    assert code == 0
    assert "Dry run" in out and "11 new" in out
    assert json.loads(invoke(cli, "devices", "list", "--json")[1])["total"] == 0


def test_exports_in_three_formats(cli: CliRunner, tmp_path: Path) -> None:
    invoke(cli, "init")
    invoke(cli, "inventory", "import", str(CMMS / "messy.csv"))
    code, out, _ = invoke(cli, "devices", "export", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 11
    assert rows[0]["manufacturer"] == "GE HealthCare"
    json_path = tmp_path / "devices.json"
    assert invoke(cli, "devices", "export", "--format", "json", "--output", str(json_path))[0] == 0
    assert len(json.loads(json_path.read_text())) == 11
    xlsx_path = tmp_path / "devices.xlsx"
    assert (
        invoke(cli, "devices", "export", "--format", "xlsx", "--output", str(xlsx_path), "--type", "ventilator")[0] == 0
    )
    book = openpyxl.load_workbook(xlsx_path, read_only=True)
    assert len(list(book.worksheets[0].iter_rows())) == 1 + 3
    book.close()
    assert invoke(cli, "devices", "export", "--format", "pdf")[0] == 2


def test_exported_cells_cannot_become_formulas(cli: CliRunner, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.csv"
    hostile.write_text('Asset Tag,Manufacturer,Model\nA1,BD,"=HYPERLINK(""http://x"",""y"")"\n')
    invoke(cli, "init")
    assert invoke(cli, "inventory", "import", str(hostile))[0] == 0
    out = invoke(cli, "devices", "export")[1]
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["model"].startswith("'=")
