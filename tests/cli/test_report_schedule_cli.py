"""``wardwatch report schedule add|list|disable|delete|run-due``: exit codes, one-line refusals, real deliveries."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from wardwatch.cli.app import app
from wardwatch.store.database import connect
from wardwatch.store.schema import report_schedules


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("WARDWATCH_HOME", str(folder))
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    for name in ("HOST", "PORT", "FROM", "STARTTLS", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"WARDWATCH_SMTP_{name}", raising=False)
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    return folder


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def make_due(home: Path, schedule_id: int) -> None:
    engine = connect(f"sqlite:///{home / 'wardwatch.db'}")
    with engine.begin() as connection:
        connection.execute(
            update(report_schedules)
            .where(report_schedules.c.id == schedule_id)
            .values(next_run_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    engine.dispose()


def test_add_list_run_due_disable_and_delete(home: Path) -> None:
    code, out, _ = invoke("report", "schedule", "add", "board", "--format", "html", "--cadence", "weekly",
                          "--hour", "7", "--weekday", "mon", "--folder", "reports/board")  # fmt: skip
    assert code == 0 and out.startswith("Schedule 1: the board report (html) weekly on Monday at 07:00 UTC")
    code, out, _ = invoke("report", "schedule", "list", "--json")
    listed = json.loads(out)
    assert code == 0 and listed["total"] == 1
    first = listed["schedules"][0]
    assert (first["folder"], first["weekday"], first["created_by"]) == ("reports/board", 0, "system")
    assert first["enabled"] is True
    next_run = datetime.fromisoformat(first["next_run_at"])
    assert next_run.weekday() == 0 and next_run.hour == 7 and next_run > datetime.now(UTC)

    code, out, _ = invoke("report", "schedule", "run-due")
    assert code == 0 and "No schedule is due." in out
    make_due(home, 1)
    code, out, _ = invoke("report", "schedule", "run-due", "--json")
    result = json.loads(out)
    assert code == 0 and (result["delivered"], result["failed"]) == (1, 0)
    written = home / "reports" / "board" / result["runs"][0]["file"]
    assert written.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert json.loads(invoke("report", "schedule", "run-due", "--json")[1])["runs"] == []  # once per period

    code, out, _ = invoke("report", "schedule", "disable", "1")
    assert code == 0 and "Disabled schedule 1" in out
    make_due(home, 1)
    assert json.loads(invoke("report", "schedule", "run-due", "--json")[1])["runs"] == []  # disabled: nothing
    code, out, _ = invoke("report", "schedule", "delete", "1")
    assert code == 0 and json.loads(invoke("report", "schedule", "list", "--json")[1])["total"] == 0


def test_a_failed_delivery_exits_1_and_names_the_mail_server(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again at once: nothing listens there
    monkeypatch.setenv("WARDWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("WARDWATCH_SMTP_PORT", str(port))
    monkeypatch.setenv("WARDWATCH_SMTP_FROM", "wardwatch@hospital.org")
    code, _, _ = invoke("report", "schedule", "add", "audit", "--cadence", "monthly", "--day", "28", "--hour", "23",
                        "--to", "audit@hospital.org")  # fmt: skip
    assert code == 0
    make_due(home, 1)
    code, out, _ = invoke("report", "schedule", "run-due")
    assert code == 1
    assert f"Schedule 1 (audit, pdf): failed: cannot send through the mail server 127.0.0.1:{port}" in out
    listed = json.loads(invoke("report", "schedule", "list", "--json")[1])["schedules"][0]
    assert listed["last_status"] == "failed" and datetime.fromisoformat(listed["next_run_at"]) < datetime.now(UTC)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cadence", "daily", "--hour", "7"], "give recipients (e-mail addresses) or a folder"),
        (["--cadence", "daily", "--hour", "7", "--to", "not-an-address"], "e-mail address 'not-an-address'"),
        (["--cadence", "daily", "--hour", "7", "--folder", "/etc"], "not inside the Wardwatch home"),
        (["--cadence", "daily", "--hour", "24", "--folder", "r"], "not 0-23"),
        (["--cadence", "daily", "--hour", "7", "--weekday", "mon", "--folder", "r"], "only a weekly schedule"),
        (["--cadence", "weekly", "--hour", "7", "--weekday", "someday", "--folder", "r"], "--weekday 'someday'"),
        (["--cadence", "fortnightly", "--hour", "7", "--folder", "r"], "cadence 'fortnightly'"),
        (["--format", "docx", "--cadence", "daily", "--hour", "7", "--folder", "r"], "format 'docx'"),
    ],
)
def test_a_bad_schedule_is_one_line_and_exit_2(home: Path, args: list[str], message: str) -> None:
    code, out, err = invoke("report", "schedule", "add", "board", *args)
    assert code == 2, out + err
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err
    assert json.loads(invoke("report", "schedule", "list", "--json")[1])["total"] == 0


def test_an_unknown_schedule_is_exit_2(home: Path) -> None:
    code, _, err = invoke("report", "schedule", "disable", "7")
    assert code == 2 and "no report schedule 7" in err
    code, _, err = invoke("report", "schedule", "delete", "7")
    assert code == 2 and "no report schedule 7" in err
