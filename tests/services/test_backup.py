"""Backups and restores on real SQLite and PostgreSQL: a round trip gives back exactly the backed-up data (and an
intact audit chain); an older backup is migrated; a restore refuses what it must, in one line with exit code 2."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, insert, inspect, select, text
from typer.testing import CliRunner

from wardwatch.cli.app import app
from wardwatch.domain.permissions import SYSTEM
from wardwatch.services.audit import record_now, verify_audit
from wardwatch.services.backup import BackupError, backup, read_manifest, restore
from wardwatch.services.inventory_import import import_cmms
from wardwatch.settings import Settings
from wardwatch.store.database import MIGRATIONS, connect, current_revision, head_revision, migrate
from wardwatch.store.schema import audit_log, devices, vulnerability_findings

CMMS = Path(__file__).parents[1] / "fixtures" / "cmms"


def add_findings(engine: Engine, tags: dict[str, str]) -> None:
    """One finding per (asset tag -> vulnerability id)."""
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    with engine.begin() as connection:
        ids = {str(row[0]): int(row[1]) for row in connection.execute(select(devices.c.asset_tag, devices.c.id))}
        for tag, vulnerability in tags.items():
            detail = json.dumps({"id": vulnerability, "device": tag})
            connection.execute(
                insert(vulnerability_findings).values(
                    device_id=ids[tag], vulnerability_id=vulnerability, component_ref="", source="nvd",
                    confidence="high", suppressed=False, in_kev=vulnerability.endswith("1"), cvss_score=9.8,
                    detail=detail, first_seen=now, last_seen=now,
                )
            )  # fmt: skip


def two_more(folder: Path) -> Path:
    """A CMMS export of two devices that are not in ``messy.csv``."""
    path = folder / "two-more.csv"
    path.write_text(
        "Asset Tag,Manufacturer,Model,Serial Number\nK-1,Draeger,Infinity Delta,X1\nK-2,B. Braun,Space,X2\n"
    )
    return path


def contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the devices, findings and audit trail, in id order."""
    with engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(select(table).order_by(table.c.id))]
            for table in (devices, vulnerability_findings, audit_log)
        }


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings (and the CLI's environment) pointing at the test database."""
    monkeypatch.setenv("WARDWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WARDWATCH_DATABASE_URL", database_url)
    return Settings(home=tmp_path / "home", database_url=database_url)


@pytest.fixture
def filled(settings: Settings) -> Iterator[Engine]:
    """A migrated database with eleven devices, two findings and two audit entries."""
    engine = connect(settings.resolved_database_url)
    migrate(engine)
    import_cmms(engine, CMMS / "messy.csv")
    add_findings(engine, {"BME-1001": "CVE-2024-0001", "BME-1002": "CVE-2024-0002"})
    record_now(engine, "nina", "users.add", target="omar", detail={"role": "biomed"})
    record_now(engine, "omar", "findings.accept", target="CVE-2024-0002", outcome="denied")
    yield engine
    engine.dispose()


def test_a_round_trip_gives_back_the_backed_up_data(filled: Engine, settings: Settings, tmp_path: Path) -> None:
    saved = contents(filled)
    out = tmp_path / "wardwatch-backup.tar"
    report = backup(settings, out)
    manifest = read_manifest(out)
    assert manifest == report.manifest
    assert manifest.schema_revision == head_revision() and len(manifest.sha256) == 64
    with tarfile.open(out) as archive:
        assert sorted(archive.getnames()) == sorted(["manifest.json", manifest.payload])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    assert out.stat().st_mode & 0o077 == 0  # the whole database: readable by its owner only

    # Change everything the backup holds: more devices, a finding gone, another audit entry.
    import_cmms(filled, two_more(tmp_path))
    with filled.begin() as connection:
        connection.execute(delete(vulnerability_findings).where(vulnerability_findings.c.vulnerability_id.like("%1")))
    record_now(filled, "nina", "users.disable", target="omar")
    changed = contents(filled)
    assert changed != saved and len(changed["devices"]) == 13 and len(changed["audit_log"]) == 3

    with pytest.raises(BackupError, match=r"holds .*13 devices.*add --yes"):
        restore(settings, out)
    assert contents(filled) == changed  # refused: nothing touched
    done = restore(settings, out, replace=True)
    assert done.replaced["devices"] == 13 and done.schema_revision == head_revision()
    filled.dispose()
    assert contents(filled) == saved
    check = verify_audit(filled, SYSTEM)
    assert check.ok and check.entries == 2
    # The restored database takes new work: the chain goes on from the restored entries.
    record_now(filled, "nina", "users.enable", target="omar")
    assert verify_audit(filled, SYSTEM).ok and verify_audit(filled, SYSTEM).entries == 3


def wipe(engine: Engine) -> None:
    """Remove the whole schema (tables, triggers, functions): an empty database again."""
    engine.dispose()
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            for name in inspect(connection).get_table_names():
                connection.execute(text(f'DROP TABLE "{name}"'))
        else:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))


def _previous_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    down = ScriptDirectory.from_config(config).get_revision(head_revision()).down_revision
    assert isinstance(down, str)
    return down


def test_an_older_backup_is_migrated_to_this_versions_schema(
    filled: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_tables = set(inspect(filled).get_table_names())
    older = _previous_revision()
    # Make a backup of a database at the revision before head, with one device in it.
    wipe(filled)
    migrate(filled, older)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    with filled.begin() as connection:
        connection.execute(insert(devices).values(asset_tag="OLD-1", model="Sigma", created_at=now, updated_at=now))
    out = tmp_path / "older.tar"
    assert backup(settings, out).manifest.schema_revision == older
    # Back to a current database holding other data, then restore the older backup over it.
    wipe(filled)
    migrate(filled)
    import_cmms(filled, two_more(tmp_path))
    report = restore(settings, out, replace=True)
    filled.dispose()
    assert report.manifest.schema_revision == older and report.schema_revision == head_revision()
    assert current_revision(filled) == head_revision()
    assert set(inspect(filled).get_table_names()) == clean_tables
    with filled.connect() as connection:
        assert connection.execute(select(devices.c.asset_tag)).scalars().all() == ["OLD-1"]


def _rewrite(source: Path, target: Path, **changes: Any) -> Path:
    """A copy of a backup whose manifest has ``changes`` (the payload as it was)."""
    with tarfile.open(source) as archive, tarfile.open(target, "w") as out:
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        body = json.dumps({**manifest, **changes}).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        out.addfile(info, io.BytesIO(body))
        member = archive.getmember(manifest["payload"])
        out.addfile(member, archive.extractfile(member))
    return target


def test_the_cli_backs_up_restores_and_refuses_in_one_line(filled: Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "nightly.tar"
    made = runner.invoke(app, ["backup", str(out)])
    assert made.exit_code == 0, made.output
    assert f"schema {head_revision()}" in made.output and str(out) in made.output
    saved = contents(filled)
    record_now(filled, "nina", "users.disable", target="omar")

    def refused(args: list[str], *expected: str) -> None:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        line = result.stderr.strip()
        assert "\n" not in line and "Traceback" not in result.output and line.startswith("error:")
        for text_ in expected:
            assert text_ in line

    not_backup = tmp_path / "notes.tar"
    with tarfile.open(not_backup, "w") as archive:
        archive.add(CMMS / "messy.csv", arcname="messy.csv")
    refused(["restore", str(not_backup), "--yes"], "is not a Wardwatch backup")
    refused(["restore", str(CMMS / "messy.csv"), "--yes"], "is not a Wardwatch backup")
    refused(["restore", str(tmp_path / "missing.tar"), "--yes"], "no such file")
    newer = _rewrite(out, tmp_path / "newer.tar", schema_revision="9999_from_the_future")
    refused(["restore", str(newer), "--yes"], "newer Wardwatch", "9999_from_the_future", "upgrade Wardwatch first")
    damaged = _rewrite(out, tmp_path / "damaged.tar", sha256="0" * 64)
    refused(["restore", str(damaged), "--yes"], "is damaged", "SHA-256")
    refused(["restore", str(out)], "holds 11 devices, 2 vulnerability_findings, 3 audit_log", "add --yes")
    assert len(contents(filled)["audit_log"]) == 3  # every refusal left the database alone

    restored = runner.invoke(app, ["restore", str(out), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "Restored" in restored.output
    filled.dispose()
    assert contents(filled) == saved
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_a_failed_backup_leaves_the_old_file(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "backup.tar"
    out.write_bytes(b"yesterday's backup")
    with pytest.raises(BackupError, match="no Wardwatch database"):
        backup(settings, out)  # the database was never initialised
    assert out.read_bytes() == b"yesterday's backup"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
