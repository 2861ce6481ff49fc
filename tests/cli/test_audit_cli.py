"""``wardwatch audit verify`` on real SQLite and PostgreSQL: exit 0 and the last hash when intact, exit 1 and one
line naming the first broken entry when tampered with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update
from typer.testing import CliRunner

from wardwatch.cli.app import app
from wardwatch.services.audit import record_now
from wardwatch.store.database import connect, migrate
from wardwatch.store.schema import audit_log


@pytest.fixture
def database(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A migrated empty database that the CLI is pointed at, and five audit entries in it."""
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path))
    monkeypatch.setenv("WARDWATCH_DATABASE_URL", database_url)
    engine = connect(database_url)
    migrate(engine)
    for i in range(5):
        record_now(engine, "nina", "users.add", target=f"user{i}", detail={"role": "biomed"})
    yield engine
    engine.dispose()


def _newest(engine: Engine) -> tuple[int, str]:
    with engine.connect() as connection:
        row = connection.execute(select(audit_log.c.id, audit_log.c.entry_hash).order_by(audit_log.c.id.desc())).first()
    assert row is not None
    return int(row.id), str(row.entry_hash)


def _tamper(engine: Engine) -> int:
    """As the database's owner: switch off the append-only trigger and change the third entry's detail."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_append_only_UPDATE"))
        victim = connection.execute(select(audit_log.c.id).order_by(audit_log.c.id).offset(2).limit(1)).scalar_one()
        connection.execute(update(audit_log).where(audit_log.c.id == victim).values(detail='{"role": "admin"}'))
    return int(victim)


def test_an_intact_trail_exits_0_with_its_last_hash(database: Engine) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    last_id, last_hash = _newest(database)
    assert result.stdout.strip() == f"Audit trail verified: 5 entries, last hash {last_hash}"
    as_json = runner.invoke(app, ["audit", "verify", "--json"])
    assert as_json.exit_code == 0
    document = json.loads(as_json.stdout)
    assert document | {"last_hash": None} == {
        "entries": 5, "ok": True, "last_id": last_id, "last_hash": None, "broken_id": None, "reason": None,
        "problem": None, "breaks": 0,
    }  # fmt: skip
    assert document["last_hash"] == last_hash


def test_a_tampered_trail_exits_1_naming_the_entry(database: Engine) -> None:
    victim = _tamper(database)
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert lines == [
        f"Audit trail broken at entry #{victim}: its content no longer matches its hash (the entry was changed)"
    ]
    as_json = runner.invoke(app, ["audit", "verify", "--json"])
    assert as_json.exit_code == 1
    document = json.loads(as_json.stdout)
    assert (document["ok"], document["broken_id"], document["reason"], document["entries"]) == (
        False, victim, "altered", 5,
    )  # fmt: skip


def test_the_installed_command_exits_1_on_tampering(database: Engine) -> None:
    victim = _tamper(database)
    database.dispose()
    command = [str(Path(sys.executable).parent / "wardwatch"), "audit", "verify"]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert f"entry #{victim}" in done.stdout and "Traceback" not in done.stderr


def test_no_database_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path))
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 2
    assert "wardwatch init" in result.stderr and len(result.stderr.strip().splitlines()) == 1
