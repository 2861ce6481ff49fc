"""``wardwatch report``: writes the board and audit reports; bad ``--out`` is one clear line and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wardwatch.cli.app import app

CMMS = Path(__file__).parents[1] / "fixtures" / "cmms"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    return runner


def invoke(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("out", ["report.docx", "report", "report.pdf.txt"])
def test_a_bad_out_extension_is_one_line_and_writes_nothing(cli: CliRunner, tmp_path: Path, out: str) -> None:
    code, stdout, stderr = invoke(cli, "report", "board", "--out", str(tmp_path / out))
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1
    assert ".pdf or .html" in stderr and out in stderr
    assert "Traceback" not in stdout + stderr
    assert not list(tmp_path.glob("report*"))


def test_a_missing_folder_and_a_missing_out_are_one_line(cli: CliRunner, tmp_path: Path) -> None:
    code, _, stderr = invoke(cli, "report", "audit", "--out", str(tmp_path / "nowhere" / "a.pdf"))
    assert code == 2 and "does not exist" in stderr and len(stderr.strip().splitlines()) == 1
    code, _, stderr = invoke(cli, "report", "board")
    assert code == 2 and "--out" in stderr


def test_the_board_report_counts_the_imported_devices(cli: CliRunner, tmp_path: Path) -> None:
    code, out, _ = invoke(cli, "report", "board", "--json")
    assert code == 0
    assert json.loads(out)["posture"]["devices"] == 0
    assert invoke(cli, "inventory", "import", str(CMMS / "messy.csv"))[0] == 0
    figures = json.loads(invoke(cli, "report", "board", "--json")[1])
    assert figures["posture"]["devices"] > 0
    assert figures["risk"]["note"].startswith("not scored yet")
    target = tmp_path / "board.html"
    code, out, _ = invoke(cli, "report", "board", "--out", str(target), "--json")
    assert code == 0 and json.loads(out)["format"] == "html"
    html = target.read_text(encoding="utf-8")
    assert (
        f'<span class="value">{figures["posture"]["devices"]:,}</span><span class="label">Devices in the inventory'
        in html
    )
    assert not list(tmp_path.glob("*.partial"))


def test_the_audit_report_as_pdf_names_the_imported_file(cli: CliRunner, tmp_path: Path) -> None:
    assert invoke(cli, "inventory", "import", str(CMMS / "messy.csv"))[0] == 0
    target = tmp_path / "audit.pdf"
    code, out, _ = invoke(cli, "report", "audit", "--out", str(target))
    assert code == 0 and "Wrote the audit report" in out
    assert target.read_bytes().startswith(b"%PDF-")
