"""``wardwatch users`` and ``wardwatch serve``: accounts from the command line, one-line errors."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from wardwatch.cli.app import app
from wardwatch.services.accounts import POLICY, AuthenticationFailed, authenticate
from wardwatch.settings import Settings
from wardwatch.store.database import connect


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path))
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    return tmp_path


def test_users_add_list_token_disable(home: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "Nina", "--role", "clinician", "--unit", "ICU East",
                                "--password-stdin", "--json"], input="a good long password\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["unit"] == "ICU East"
    listed = json.loads(runner.invoke(app, ["users", "list", "--json"]).stdout)
    assert [(u["username"], u["role"]) for u in listed["users"]] == [("nina", "clinician")]
    token = runner.invoke(app, ["users", "token", "nina", "--scopes", "devices:read", "--json"])
    assert token.exit_code == 0 and json.loads(token.stdout)["token"].startswith("ww_")
    assert runner.invoke(app, ["users", "disable", "nina"]).exit_code == 0
    assert json.loads(runner.invoke(app, ["users", "list", "--json"]).stdout)["users"][0]["disabled"] is True


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "add", "x1", "--role", "nurse", "--password-stdin"], "a good long password\n", "role 'nurse'"),
        (["users", "add", "x1", "--role", "biomed", "--password-stdin"], "short\n", "at least 12"),
        (["users", "add", "x1", "--role", "biomed", "--password-stdin"], "", "gave no password"),
        (["users", "add", "x1", "--role", "god"], None, "role 'god' is not one of"),  # no password prompt first
        (["users", "password", "ghost", "--password-stdin"], "a good long password\n", "no user is called 'ghost'"),
        (["users", "disable", "ghost"], None, "no user is called 'ghost'"),
        (["users", "token", "ghost"], None, "no user is called 'ghost'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(home: Path, args: list[str], stdin: str | None, message: str) -> None:
    result = CliRunner().invoke(app, args, input=stdin)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_password_is_never_an_argument(home: Path) -> None:
    result = CliRunner().invoke(app, ["users", "add", "x1", "--role", "biomed", "--password", "secret"])
    assert result.exit_code == 2  # no such option: passwords come from a prompt or stdin only


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_demo_serve_prints_logins_that_work_on_the_served_ui(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "WARDWATCH_HOME": str(tmp_path), "COLUMNS": "200"}
    env.pop("WARDWATCH_DATABASE_URL", None)
    wardwatch = Path(sys.executable).parent / "wardwatch"
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        [str(wardwatch), "demo", "--serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 180
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "is serving on" in line or process.poll() is not None:
                break
        output = "".join(lines)
        assert f"http://127.0.0.1:{port}/" in output, output
        logins = dict(re.findall(r"│ (\w+)\s+│ (\S+)\s+│", output))
        assert set(logins) == {"admin", "biomed", "itsec", "clinician", "compliance", "executive", "auditor"}
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    response = client.post(
                        "/api/auth/login", json={"username": "executive", "password": logins["executive"]}
                    )
                    break
                except httpx2.TransportError:
                    time.sleep(0.1)
            assert response.status_code == 200
            assert client.get("/api/dashboards/executive").json()["cards"][0]["value"] > 100
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()


def test_serve_refuses_an_uninitialised_database_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path))
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["serve", "--port", "8123"])
    assert result.exit_code == 2
    assert "wardwatch init" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert CliRunner().invoke(app, ["serve", "--port", "70000"]).exit_code == 2


def test_a_new_password_unlocks_a_locked_out_account(home: Path) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(
            app, ["users", "add", "nina", "--role", "biomed", "--password-stdin"], input="a good long password\n"
        ).exit_code
        == 0
    )
    engine = connect(Settings().resolved_database_url)
    for _ in range(POLICY.max_failures):
        with pytest.raises(AuthenticationFailed):
            authenticate(engine, "nina", "wrong password!!")
    assert json.loads(runner.invoke(app, ["users", "list", "--json"]).stdout)["users"][0]["locked"] is True
    result = runner.invoke(app, ["users", "password", "nina", "--password-stdin"], input="another long password\n")
    assert result.exit_code == 0, result.stderr
    assert json.loads(runner.invoke(app, ["users", "list", "--json"]).stdout)["users"][0]["locked"] is False
    assert authenticate(engine, "nina", "another long password").username == "nina"
    engine.dispose()
