"""The hash-chained audit trail on real SQLite and PostgreSQL: the chain, tampering found, concurrent writers,
the 0008 backfill, and the chain's state on the /audit page."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, delete, inspect, select, text, update
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from wardwatch.api.app import create_app
from wardwatch.domain.permissions import SYSTEM, PermissionDenied, Principal, Role
from wardwatch.services import audit
from wardwatch.services.accounts import add_user, authenticate, create_session
from wardwatch.settings import Settings
from wardwatch.store.database import MIGRATIONS, connect, migrate
from wardwatch.store.schema import audit_log

ZEROS = "0" * 64


def documented_hash(prev_hash: str, at_iso: str, *fields: str | None) -> str:
    """The entry hash as docs/audit.md tells an auditor to compute it, written out independently of the code."""
    canonical = json.dumps([at_iso, *fields], separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def rows(engine: Engine) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as connection:
        return list(connection.execute(select(audit_log).order_by(audit_log.c.id)).all())


def unguard(engine: Engine) -> None:
    """What a database owner can do: switch off the append-only triggers."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_append_only_UPDATE"))
            connection.execute(text("DROP TRIGGER audit_log_append_only_DELETE"))


def fill(engine: Engine, count: int) -> None:
    for i in range(count):
        audit.record_now(engine, f"user{i % 3}", "users.add", target=f"u{i}", detail={"i": i, "name": "Zoë"},
                         address="10.0.0.1" if i % 2 else None, outcome=audit.OUTCOMES[i % 3])  # fmt: skip


def test_every_entry_links_to_the_one_before_and_hashes_as_documented(engine: Engine) -> None:
    fill(engine, 40)
    with engine.begin() as connection:  # two entries in one transaction chain to each other
        audit.record(connection, "erin", "risk accept", target="device 7")
        audit.record(connection, "erin", "risk revoke", target="device 7")
    stored = rows(engine)
    assert len(stored) == 42
    assert stored[0].prev_hash == ZEROS
    for before, after in zip(stored, stored[1:], strict=False):
        assert after.prev_hash == before.entry_hash
    assert len({r.entry_hash for r in stored}) == 42
    first = stored[0]
    at = first.at.replace(tzinfo=UTC) if first.at.tzinfo is None else first.at.astimezone(UTC)
    iso = at.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    assert first.detail == '{"i": 0, "name": "Zo\\u00eb"}'
    expected = documented_hash(ZEROS, iso, "user0", "users.add", "u0", "success", first.detail, None)
    assert first.entry_hash == expected

    result = audit.verify_audit(engine, SYSTEM)
    assert result.ok and result.entries == 42 and result.breaks == 0
    assert (result.last_id, result.last_hash) == (stored[-1].id, stored[-1].entry_hash)
    assert result.summary == f"Audit trail verified: 42 entries, last hash {stored[-1].entry_hash}"


def test_an_empty_trail_verifies_and_a_rolled_back_entry_leaves_no_gap(engine: Engine) -> None:
    empty = audit.verify_audit(engine, SYSTEM)
    assert (empty.ok, empty.entries, empty.last_hash) == (True, 0, None)
    fill(engine, 2)

    def failed_action() -> None:
        with engine.begin() as connection:
            audit.record(connection, "x", "users.add")
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        failed_action()
    fill(engine, 1)
    result = audit.verify_audit(engine, SYSTEM)
    assert result.ok and result.entries == 3


def test_verifying_needs_audit_read(engine: Engine) -> None:
    with pytest.raises(PermissionDenied, match="audit:read"):
        audit.verify_audit(engine, Principal(username="c", role=Role.CLINICIAN, unit="ICU"))
    assert audit.verify_audit(engine, Principal(username="a", role=Role.AUDITOR)).ok


def test_a_changed_entry_is_named(engine: Engine) -> None:
    fill(engine, 10)
    noted = audit.verify_audit(engine, SYSTEM).last_hash
    victim = rows(engine)[4].id
    unguard(engine)
    with engine.begin() as connection:
        connection.execute(update(audit_log).where(audit_log.c.id == victim).values(detail='{"i": 999}'))
    result = audit.verify_audit(engine, SYSTEM)
    assert not result.ok
    assert (result.broken_id, result.reason, result.breaks) == (victim, "altered", 1)
    assert result.entries == 10 and result.last_hash == noted  # later entries still link to the stored hash
    assert result.summary.startswith(f"Audit trail broken at entry #{victim}: its content no longer matches")


@pytest.mark.parametrize("change", ["time", "prev_hash", "rehash"])
def test_a_shifted_time_a_relinked_or_a_rehashed_entry_is_found(engine: Engine, change: str) -> None:
    fill(engine, 6)
    victim = rows(engine)[2]
    unguard(engine)
    values: dict[str, object]
    if change == "time":  # one microsecond: the time round-trips exactly, so even this shows
        values = {"at": victim.at + timedelta(microseconds=1)}
    elif change == "prev_hash":
        values = {"prev_hash": "f" * 64}
    else:  # a forger who recomputes the changed entry's own hash still breaks the link to the next one
        forged = audit.chain_hash(victim.prev_hash, victim.at, "mallory", victim.action, victim.target,
                                  victim.outcome, victim.detail, victim.address)  # fmt: skip
        values = {"actor": "mallory", "entry_hash": forged}
    with engine.begin() as connection:
        connection.execute(update(audit_log).where(audit_log.c.id == victim.id).values(**values))
    result = audit.verify_audit(engine, SYSTEM)
    assert not result.ok
    if change == "rehash":
        assert (result.broken_id, result.reason) == (victim.id + 1, "missing")
    else:
        assert (result.broken_id, result.reason) == (victim.id, "altered")


def test_deleted_entries_are_found_at_the_next_one(engine: Engine) -> None:
    fill(engine, 8)
    stored = rows(engine)
    noted = audit.verify_audit(engine, SYSTEM).last_hash
    unguard(engine)
    with engine.begin() as connection:
        connection.execute(delete(audit_log).where(audit_log.c.id == stored[3].id))
    result = audit.verify_audit(engine, SYSTEM)
    assert (result.ok, result.broken_id, result.reason, result.entries) == (False, stored[4].id, "missing", 7)
    assert f"entry #{stored[2].id}" in (result.problem or "")

    with engine.begin() as connection:  # the first entry too: its successor no longer starts the chain
        connection.execute(delete(audit_log).where(audit_log.c.id == stored[0].id))
    result = audit.verify_audit(engine, SYSTEM)
    assert (result.broken_id, result.breaks) == (stored[1].id, 2)
    assert "does not start the chain" in (result.problem or "")

    # Deleting the newest entry leaves a shorter chain that is intact: the last hash noted earlier shows it.
    with engine.begin() as connection:
        connection.execute(delete(audit_log).where(audit_log.c.id == stored[-1].id))
    assert audit.verify_audit(engine, SYSTEM).last_hash != noted


@contextmanager
def _other_time_zone(database_url: str) -> Iterator[Engine]:
    """The same database seen through a session in UTC+12:45/+13:45 (PostgreSQL hands times back in that zone)."""
    url = database_url.replace("options=-csearch_path", "options=-ctimezone%3DPacific%2FChatham%20-csearch_path")
    database = connect(url)
    try:
        yield database
    finally:
        database.dispose()


def test_times_hash_the_same_whatever_the_session_time_zone(engine: Engine, database_url: str) -> None:
    fill(engine, 3)
    with _other_time_zone(database_url) as other:
        if other.dialect.name == "postgresql":
            with other.connect() as connection:
                assert connection.execute(text("SHOW timezone")).scalar() == "Pacific/Chatham"
                offset = connection.execute(select(audit_log.c.at).limit(1)).scalar_one().utcoffset()
                assert offset in (timedelta(hours=12, minutes=45), timedelta(hours=13, minutes=45))
        fill(other, 3)  # written through the other zone, verified through both
        assert audit.verify_audit(other, SYSTEM).ok
    result = audit.verify_audit(engine, SYSTEM)
    assert result.ok and result.entries == 6


def test_concurrent_writers_keep_one_linear_chain(engine: Engine) -> None:
    threads, each = 6, 15
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with engine.begin() as connection:  # its own pooled connection per thread
                    connection.execute(select(audit_log.c.id).limit(1)).all()  # a read first, as services do
                    audit.record(connection, f"writer{n}", "jobs.cmms", target=f"{n}-{i}")
                    time.sleep(0.001)  # hold the transaction open a little: others must wait, not fork
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            failures.append(e)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    stored = rows(engine)
    assert len(stored) == threads * each
    assert len({r.prev_hash for r in stored}) == threads * each, "two entries share a predecessor: a fork"
    result = audit.verify_audit(engine, SYSTEM)
    assert result.ok and result.entries == threads * each
    times = [r.at for r in stored]
    assert times == sorted(times), "entries are timed after they take the chain"


def _alembic(engine: Engine, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def test_the_migration_chains_existing_entries_and_downgrades(database_url: str) -> None:
    engine = connect(database_url)
    migrate(engine, "0007")
    old = sa.table("audit_log", *(sa.column(n) for n in ("at", "actor", "action", "target", "outcome", "detail",
                                                         "address")))  # fmt: skip
    first_at = datetime(2026, 11, 28, 9, 30, 15, 678901, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(old),
            [
                {"at": first_at + timedelta(seconds=i), "actor": "nina" if i else "Zoë", "action": "login",
                 "target": None, "outcome": "success", "detail": None if i % 2 else json.dumps({"n": i}),
                 "address": "192.0.2.7"}
                for i in range(2500)  # more than one batch of the backfill
            ],
        )  # fmt: skip
    migrate(engine)
    result = audit.verify_audit(engine, SYSTEM)
    assert result.ok and result.entries == 2500
    first = rows(engine)[0]
    expected = documented_hash(ZEROS, "2026-11-28T09:30:15.678901+00:00", "Zoë", "login", None, "success",
                               '{"n": 0}', "192.0.2.7")  # fmt: skip
    assert (first.prev_hash, first.entry_hash) == (ZEROS, expected)
    columns = {c["name"]: c for c in inspect(engine).get_columns("audit_log")}
    assert columns["entry_hash"]["nullable"] is False and columns["prev_hash"]["nullable"] is False
    audit.record_now(engine, "system", "after.migration")
    assert audit.verify_audit(engine, SYSTEM).entries == 2501

    for statement in (update(audit_log).values(actor="someone else"), delete(audit_log)):  # triggers are back
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)

    _alembic(engine, "downgrade", "0007")
    assert {"prev_hash", "entry_hash"}.isdisjoint(c["name"] for c in inspect(engine).get_columns("audit_log"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(delete(old))
    _alembic(engine, "upgrade", "head")
    assert audit.verify_audit(engine, SYSTEM).entries == 2501 and audit.verify_audit(engine, SYSTEM).ok
    engine.dispose()


def test_the_audit_page_shows_the_state_of_the_chain(engine: Engine, database_url: str, tmp_path: Path) -> None:
    add_user(engine, SYSTEM, "ann", "auditor", "a long enough password")
    session = create_session(engine, authenticate(engine, "ann", "a long enough password"))[0]
    application = create_app(Settings(home=tmp_path, database_url=database_url))
    with TestClient(application) as browser:
        browser.cookies.set("ww_session", session)
        page = browser.get("/audit")
        assert page.status_code == 200
        entries = audit.verify_audit(engine, SYSTEM).entries
        assert entries >= 2  # the account and the login
        assert f"Chain verified: {entries} entries" in page.text and "Chain broken" not in page.text
        api = browser.get("/api/audit/verify").json()
        assert api["ok"] is True and api["entries"] == entries and len(api["last_hash"]) == 64

        victim = rows(engine)[0].id
        unguard(engine)
        with engine.begin() as connection:
            connection.execute(update(audit_log).where(audit_log.c.id == victim).values(outcome="denied"))
        page = browser.get("/audit")
        assert f"Chain broken at entry #{victim}: its content no longer matches its hash" in page.text
        api = browser.get("/api/audit/verify").json()
        assert (api["ok"], api["broken_id"], api["reason"]) == (False, victim, "altered")
    application.state.engine.dispose()  # the application leaves its pool to the process's end
