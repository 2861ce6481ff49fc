"""Accounts, tokens, sessions, the audit trail and jobs on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError

from wardwatch.domain.permissions import ROLE_PERMISSIONS, SYSTEM, Permission, PermissionDenied, Principal, Role
from wardwatch.services import accounts, audit
from wardwatch.services.accounts import LoginPolicy
from wardwatch.services.jobs import JobRunner, get_job, list_jobs, save_upload, submit
from wardwatch.settings import Settings
from wardwatch.store.schema import audit_log, users

PASSWORD = "a long enough password"


def test_add_list_and_disable_users(engine: Engine) -> None:
    user = accounts.add_user(engine, SYSTEM, "Alice", "biomed", PASSWORD, display_name="Alice B")
    assert user["username"] == "alice" and user["role"] == "biomed" and not user["disabled"]
    with engine.connect() as connection:
        stored = connection.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(accounts.UserExists):
        accounts.add_user(engine, SYSTEM, "alice", "biomed", PASSWORD)
    with pytest.raises(accounts.InvalidAccount, match="at least 12"):
        accounts.add_user(engine, SYSTEM, "bob", "biomed", "short")
    with pytest.raises(accounts.InvalidAccount, match="not one of"):
        accounts.add_user(engine, SYSTEM, "bob", "nurse", PASSWORD)
    with pytest.raises(accounts.InvalidAccount, match="--unit"):
        accounts.add_user(engine, SYSTEM, "bob", "clinician", PASSWORD)
    assert [u["username"] for u in accounts.list_users(engine, SYSTEM)] == ["alice"]
    principal = accounts.authenticate(engine, "alice", PASSWORD)
    assert principal.role is Role.BIOMED
    with pytest.raises(PermissionDenied, match="users:admin"):
        accounts.add_user(engine, principal, "carol", "admin", PASSWORD)
    assert accounts.disable_user(engine, SYSTEM, "alice")["disabled"]
    with pytest.raises(accounts.AuthenticationFailed):
        accounts.authenticate(engine, "alice", PASSWORD)


def test_repeated_failures_lock_the_account_and_are_audited(engine: Engine) -> None:
    accounts.add_user(engine, SYSTEM, "dave", "itsec", PASSWORD)
    policy = LoginPolicy(max_failures=3, lockout=timedelta(minutes=5))
    for _ in range(3):
        with pytest.raises(accounts.AuthenticationFailed):
            accounts.authenticate(engine, "dave", "wrong password!!", policy=policy)
    with pytest.raises(accounts.AuthenticationFailed):  # locked: even the right password is refused
        accounts.authenticate(engine, "dave", PASSWORD, policy=policy)
    assert accounts.list_users(engine, SYSTEM)[0]["locked"]
    with engine.begin() as connection:  # the lock-out ends
        connection.execute(update(users).values(locked_until=None))
    assert accounts.authenticate(engine, "dave", PASSWORD, policy=policy).username == "dave"
    entries, total = audit.list_audit(engine, SYSTEM, audit.AuditFilter(action="login"))
    assert total == 5
    assert [e["outcome"] for e in reversed(entries)] == ["failure", "failure", "failure", "denied", "success"]
    assert entries[-1]["detail"] == {"reason": "wrong password", "failures": 1, "locked": False}
    with pytest.raises(accounts.AuthenticationFailed):
        accounts.authenticate(engine, "nobody", PASSWORD)


def test_guessing_across_accounts_from_one_address_is_throttled(engine: Engine) -> None:
    for name in ("fay", "gil"):
        accounts.add_user(engine, SYSTEM, name, "biomed", PASSWORD)
    policy = LoginPolicy(max_failures=10, max_address_failures=4, address_window=timedelta(minutes=15))
    for name in ("fay", "gil", "fay", "nobody"):  # four failures from one address, never enough to lock an account
        with pytest.raises(accounts.AuthenticationFailed) as refused:
            accounts.authenticate(engine, name, "wrong password!!", address="203.0.113.9", policy=policy)
        assert not isinstance(refused.value, accounts.LoginThrottled)
    with pytest.raises(accounts.LoginThrottled) as throttled:  # even the right password: no password is checked
        accounts.authenticate(engine, "gil", PASSWORD, address="203.0.113.9", policy=policy)
    assert 0 < throttled.value.retry_after <= 15 * 60
    assert not any(u["locked"] for u in accounts.list_users(engine, SYSTEM))
    # another address is not affected; failures older than the window do not count
    assert accounts.authenticate(engine, "gil", PASSWORD, address="198.51.100.7", policy=policy).username == "gil"
    later = LoginPolicy(max_failures=10, max_address_failures=4, address_window=timedelta(0))
    assert accounts.authenticate(engine, "gil", PASSWORD, address="203.0.113.9", policy=later).username == "gil"
    entries, _ = audit.list_audit(engine, SYSTEM, audit.AuditFilter(action="login"))
    assert sum((e["detail"] or {}).get("reason", "").startswith("throttled") for e in entries) == 1


def test_tokens_are_hashed_scoped_and_revocable(engine: Engine) -> None:
    accounts.add_user(engine, SYSTEM, "erin", "compliance", PASSWORD)
    token, info = accounts.create_token(engine, SYSTEM, "erin", "siem", scopes="devices:read audit:read")
    assert info["scopes"] == ["audit:read", "devices:read"]
    with engine.connect() as connection:
        assert token not in str(connection.execute(text("SELECT * FROM api_tokens")).all())
    principal = accounts.principal_from_token(engine, token)
    assert principal is not None and principal.permissions == {Permission.DEVICES_READ, Permission.AUDIT_READ}
    assert accounts.principal_from_token(engine, token + "x") is None
    with pytest.raises(accounts.InvalidAccount, match="does not have: users:admin"):
        accounts.create_token(engine, SYSTEM, "erin", "x", scopes="users:admin")
    with pytest.raises(accounts.InvalidAccount, match="unknown scope"):
        accounts.create_token(engine, SYSTEM, "erin", "x", scopes="everything")
    other = Principal(username="frank", role=Role.BIOMED, user_id=99)
    with pytest.raises(PermissionDenied):  # only for yourself unless users:admin
        accounts.create_token(engine, other, "erin", "x")
    full, _ = accounts.create_token(engine, principal, "erin", "mine")  # for yourself: the whole role
    assert accounts.principal_from_token(engine, full).permissions == ROLE_PERMISSIONS[Role.COMPLIANCE]  # type: ignore[union-attr]
    accounts.disable_user(engine, SYSTEM, "erin")
    assert accounts.principal_from_token(engine, token) is None


def test_sessions_carry_a_csrf_token_and_end(engine: Engine) -> None:
    accounts.add_user(engine, SYSTEM, "gina", "clinician", PASSWORD, unit="ICU East")
    principal = accounts.authenticate(engine, "gina", PASSWORD)
    cookie, csrf = accounts.create_session(engine, principal)
    found = accounts.principal_from_session(engine, cookie)
    assert found is not None and found[1] == csrf and found[0].unit == "ICU East" and found[0].unit_scoped
    accounts.end_session(engine, cookie)
    assert accounts.principal_from_session(engine, cookie) is None
    with pytest.raises(accounts.InvalidAccount):
        accounts.create_session(engine, SYSTEM)


def test_the_audit_log_is_append_only(engine: Engine) -> None:
    audit.record_now(engine, "system", "test", target="x")
    for statement in (update(audit_log).values(actor="someone else"), delete(audit_log)):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)
    entries, _ = audit.list_audit(engine, SYSTEM, audit.AuditFilter())
    assert [(e["actor"], e["action"], e["target"]) for e in entries] == [("system", "test", "x")]
    with pytest.raises(PermissionDenied):
        audit.list_audit(engine, Principal(username="x", role=Role.BIOMED), audit.AuditFilter())


def test_a_job_runs_in_the_background_and_reports_failure_in_one_line(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    biomed = Principal(username="hank", role=Role.BIOMED, user_id=1)
    executive = Principal(username="ivy", role=Role.EXECUTIVE, user_id=2)
    bad = tmp_path / "bad.csv"
    bad.write_text("nothing,useful\n1,2\n")
    with bad.open("rb") as stream:
        saved = save_upload(settings, "../../etc/bad file.csv", stream)
    assert saved.parent.parent == tmp_path / "uploads" and saved.name == "bad_file.csv"
    with pytest.raises(PermissionDenied):
        submit(engine, executive, "cmms_import", {"path": str(saved)})
    job = submit(engine, biomed, "cmms_import", {"path": str(saved)})
    assert job["status"] == "queued" and job["file"] == "bad_file.csv"
    runner = JobRunner(engine, settings)
    runner.enqueue(job["id"])
    runner.wait(60)
    runner.shutdown()
    done = get_job(engine, biomed, job["id"])
    assert done["status"] == "failed" and "bad_file.csv" in done["message"] and "\n" not in done["message"]
    assert list_jobs(engine, executive)[1] == 0  # not theirs, no jobs:read
    denied = audit.list_audit(engine, SYSTEM, audit.AuditFilter(outcome="denied"))[0]
    assert [(e["actor"], e["action"]) for e in denied] == [("ivy", "jobs.cmms_import")]
