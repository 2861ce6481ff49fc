"""Scheduled report delivery on real parts: a real SMTP server on 127.0.0.1 (aiosmtpd), real files, both databases,
and the job runner of a running application delivering on its own tick."""

from __future__ import annotations

import email
import email.policy
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from starlette.testclient import TestClient

from wardwatch.api.app import create_app
from wardwatch.domain.permissions import SYSTEM, PermissionDenied, Principal, Role
from wardwatch.services import report_schedules as service
from wardwatch.services.accounts import add_user, disable_user
from wardwatch.settings import Settings
from wardwatch.store.database import connect, migrate
from wardwatch.store.schema import audit_log, report_schedules

controller_module: Any = pytest.importorskip("aiosmtpd.controller")

MONDAY_0630 = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)  # 2026-03-02 is a Monday
MONDAY_0700 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Inbox:
    """What the SMTP server received: (envelope sender, envelope recipients, parsed message)."""

    port: int
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    """A real SMTP server on a free loopback port (no STARTTLS, no login)."""
    inbox = Inbox(free_port())
    controller = controller_module.Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def settings_for(tmp_path: Path, port: int, **extra: Any) -> Settings:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return Settings(home=home, smtp_host="127.0.0.1", smtp_port=port, smtp_from="wardwatch@hospital.org",
                    smtp_starttls=False, **extra)  # fmt: skip


def attachments(message: EmailMessage) -> list[tuple[str, str, bytes]]:
    return [(part.get_filename() or "", part.get_content_type(), part.get_payload(decode=True))
            for part in message.iter_attachments()]  # fmt: skip


def schedule_row(engine: Engine, schedule_id: int) -> Any:
    with engine.connect() as connection:
        return connection.execute(select(report_schedules).where(report_schedules.c.id == schedule_id)).one()


def audit_entries(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as connection:
        return connection.execute(select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)).all()


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_weekly_pdf_is_mailed_once_with_the_attachment_to_every_recipient(
    engine: Engine, tmp_path: Path, smtp: Inbox
) -> None:
    settings = settings_for(tmp_path, smtp.port)
    made = service.create_schedule(
        engine, settings, SYSTEM, report="board", fmt="pdf", cadence="weekly", at_hour=7, weekday=0,
        recipients=["board@hospital.org", "CISO@Hospital.org"], now=MONDAY_0630,
    )  # fmt: skip
    assert made["next_run_at"] == MONDAY_0700
    assert made["recipients"] == ["board@hospital.org", "CISO@hospital.org"]
    assert made["when"] == "weekly on Monday at 07:00 UTC"

    assert service.run_due(engine, settings, MONDAY_0700 - timedelta(seconds=1)) == []  # not yet
    runs = service.run_due(engine, settings, MONDAY_0700 + timedelta(seconds=5))
    assert [(r["id"], r["status"]) for r in runs] == [(made["id"], "delivered")]
    assert service.run_due(engine, settings, MONDAY_0700 + timedelta(minutes=1)) == []  # once per period
    assert service.run_due(engine, settings, MONDAY_0700 + timedelta(days=6)) == []

    assert len(smtp.received) == 1
    sender, recipients, message = smtp.received[0]
    assert sender == "wardwatch@hospital.org"
    assert recipients == ["board@hospital.org", "CISO@hospital.org"]
    assert message["To"] == "board@hospital.org, CISO@hospital.org"
    assert message["Subject"].startswith("Wardwatch board report — ")
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and f"schedule disable {made['id']}" in body.get_content()
    (name, media, data), *others = attachments(message)
    assert others == []
    assert media == "application/pdf" and name.startswith("wardwatch-board-report-") and name.endswith(".pdf")
    assert data.startswith(b"%PDF-") and len(data) > 5000

    row = schedule_row(engine, made["id"])
    assert (row.last_status, row.last_error) == ("delivered", None)
    assert aware(row.next_run_at) == MONDAY_0700 + timedelta(days=7)
    assert aware(row.last_run_at) == MONDAY_0700 + timedelta(seconds=5)
    runs_audited = audit_entries(engine, "reports.schedule_run")
    assert [(e.outcome, e.target) for e in runs_audited] == [("success", f"report schedule {made['id']}")]
    assert '"CISO@hospital.org"' in runs_audited[0].detail


def test_a_folder_delivery_writes_a_timestamped_html_file_each_day(engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, free_port())  # no mail: the schedule has no recipients
    made = service.create_schedule(engine, settings, SYSTEM, report="audit", fmt="html", cadence="daily", at_hour=7,
                                   folder="reports/audit", now=MONDAY_0630)  # fmt: skip
    assert made["folder"] == "reports/audit"
    first = service.run_due(engine, settings, MONDAY_0700)
    second = service.run_due(engine, settings, MONDAY_0700 + timedelta(days=1, minutes=1))
    assert [r["status"] for r in first + second] == ["delivered", "delivered"]
    folder = settings.home / "reports" / "audit"
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == sorted({first[0]["file"], second[0]["file"]})
    assert len(files) == 2
    for written in files:
        assert written.name.startswith("wardwatch-audit-report-") and written.suffix == ".html"
        html = written.read_text(encoding="utf-8")
        assert html.lstrip().lower().startswith("<!doctype html") and "audit report" in html
        assert "<script" not in html


def test_folders_outside_the_home_are_refused(engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, free_port())
    outside = tmp_path / "outside"
    outside.mkdir()
    (settings.home / "link").symlink_to(outside)
    for folder in ("../outside", str(outside), "/etc", "reports/../../outside", "link/board", ".", str(settings.home)):
        with pytest.raises(ValueError, match="not inside the Wardwatch home"):
            service.create_schedule(engine, settings, SYSTEM, report="board", fmt="html", cadence="daily",
                                    at_hour=7, folder=folder)  # fmt: skip
    inside = service.create_schedule(engine, settings, SYSTEM, report="board", fmt="html", cadence="daily",
                                     at_hour=7, folder=str(settings.home / "reports" / "board"))  # fmt: skip
    assert inside["folder"] == "reports/board"  # kept relative to the home
    assert service.list_schedules(engine, SYSTEM) == [inside]


def test_a_closed_smtp_port_records_the_error_and_the_next_tick_retries(
    engine: Engine, tmp_path: Path, smtp: Inbox
) -> None:
    closed = settings_for(tmp_path, free_port())  # nothing listens there
    made = service.create_schedule(engine, closed, SYSTEM, report="board", fmt="html", cadence="daily", at_hour=7,
                                   recipients=["board@hospital.org"], now=MONDAY_0630)  # fmt: skip
    for minute in (0, 1):  # two ticks, both failing
        runs = service.run_due(engine, closed, MONDAY_0700 + timedelta(minutes=minute))
        assert [r["status"] for r in runs] == ["failed"]
        assert f"cannot send through the mail server 127.0.0.1:{closed.smtp_port}" in runs[0]["error"]
    row = schedule_row(engine, made["id"])
    assert row.last_status == "failed" and "cannot send through the mail server" in row.last_error
    assert aware(row.next_run_at) == MONDAY_0700  # still due: nothing was lost
    assert aware(row.last_run_at) == MONDAY_0700 + timedelta(minutes=1)
    assert [e.outcome for e in audit_entries(engine, "reports.schedule_run")] == ["failure"]  # once per streak

    working = settings_for(tmp_path, smtp.port)  # the mail server is back
    runs = service.run_due(engine, working, MONDAY_0700 + timedelta(minutes=2))
    assert [r["status"] for r in runs] == ["delivered"]
    assert [r for _s, r, _m in smtp.received] == [["board@hospital.org"]]
    (name, media, data), *_ = attachments(smtp.received[0][2])
    assert media == "text/html" and name.endswith(".html") and b"board report" in data
    row = schedule_row(engine, made["id"])
    assert (row.last_status, row.last_error) == ("delivered", None)
    assert aware(row.next_run_at) == MONDAY_0700 + timedelta(days=1)
    assert [e.outcome for e in audit_entries(engine, "reports.schedule_run")] == ["failure", "success"]


def test_starttls_is_required_unless_turned_off_and_the_password_comes_from_the_environment(
    engine: Engine, tmp_path: Path, smtp: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not any("password" in name for name in Settings.model_fields)  # never a setting, never stored
    strict = settings_for(tmp_path, smtp.port).model_copy(update={"smtp_starttls": True})
    service.create_schedule(engine, strict, SYSTEM, report="board", fmt="html", cadence="daily", at_hour=7,
                            recipients=["board@hospital.org"], now=MONDAY_0630)  # fmt: skip
    runs = service.run_due(engine, strict, MONDAY_0700)
    assert runs[0]["status"] == "failed" and "does not offer STARTTLS" in runs[0]["error"]
    assert smtp.received == []  # nothing went out in clear text

    login = settings_for(tmp_path, smtp.port, smtp_username="wardwatch")
    monkeypatch.delenv(service.PASSWORD_VARIABLE, raising=False)
    runs = service.run_due(engine, login, MONDAY_0700 + timedelta(minutes=1))
    assert runs[0]["status"] == "failed" and "WARDWATCH_SMTP_PASSWORD is not" in runs[0]["error"]
    unconfigured = Settings(home=login.home)
    runs = service.run_due(engine, unconfigured, MONDAY_0700 + timedelta(minutes=2))
    assert runs[0]["status"] == "failed" and "WARDWATCH_SMTP_HOST" in runs[0]["error"]
    assert smtp.received == []


def test_who_may_see_and_who_may_schedule(engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, free_port())
    executive = Principal("exec", Role.EXECUTIVE)
    with pytest.raises(PermissionDenied, match="users:admin"):
        service.create_schedule(engine, settings, executive, report="board", fmt="pdf", cadence="daily", at_hour=7,
                                folder="reports")  # fmt: skip
    assert [(e.actor, e.outcome) for e in audit_entries(engine, "reports.schedule_add")] == [("exec", "denied")]
    board = service.create_schedule(engine, settings, SYSTEM, report="board", fmt="pdf", cadence="daily", at_hour=7,
                                    folder="reports")  # fmt: skip
    audit = service.create_schedule(engine, settings, SYSTEM, report="audit", fmt="pdf", cadence="monthly",
                                    at_hour=1, day=1, folder="reports")  # fmt: skip
    compliance = Principal("cmp", Role.COMPLIANCE)
    assert [s["id"] for s in service.list_schedules(engine, compliance)] == [board["id"], audit["id"]]
    assert [s["id"] for s in service.list_schedules(engine, executive)] == [board["id"]]  # no audit:read
    with pytest.raises(PermissionDenied, match="reports:read"):
        service.list_schedules(engine, Principal("nurse", Role.CLINICIAN, unit="ICU"))
    with pytest.raises(PermissionDenied, match="users:admin"):
        service.disable_schedule(engine, Principal("aud", Role.AUDITOR), board["id"])
    with pytest.raises(service.ScheduleNotFound):
        service.delete_schedule(engine, SYSTEM, 999_999)

    disabled = service.disable_schedule(engine, SYSTEM, board["id"])
    assert disabled["enabled"] is False
    assert [r["id"] for r in service.run_due(engine, settings, datetime.now(UTC) + timedelta(days=40))] == [
        audit["id"]
    ]  # the disabled one delivers nothing
    service.delete_schedule(engine, SYSTEM, audit["id"])
    assert [s["id"] for s in service.list_schedules(engine, SYSTEM)] == [board["id"]]
    disables = [(e.actor, e.outcome) for e in audit_entries(engine, "reports.schedule_disable")]
    assert disables == [("aud", "denied"), ("system", "success")]
    deletes = [(e.outcome, e.target) for e in audit_entries(engine, "reports.schedule_delete")]
    assert deletes == [("success", f"report schedule {audit['id']}")]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"recipients": [], "folder": None}, "must deliver somewhere"),
        ({"recipients": ["board@hospital"]}, "not a domain name"),
        ({"weekday": 2}, "only a weekly schedule takes a weekday"),
        ({"fmt": "docx"}, "format 'docx'"),
        ({"report": "payroll"}, "report 'payroll'"),
    ],
)
def test_bad_schedules_are_refused_and_nothing_is_stored(
    engine: Engine, tmp_path: Path, values: dict[str, Any], message: str
) -> None:
    given: dict[str, Any] = {"report": "board", "fmt": "pdf", "cadence": "daily", "at_hour": 7, "folder": "reports",
                             **values}  # fmt: skip
    with pytest.raises(ValueError, match=message):
        service.create_schedule(engine, settings_for(tmp_path, free_port()), SYSTEM, **given)
    assert service.list_schedules(engine, SYSTEM) == []


def test_a_run_acts_with_the_creators_rights_now(engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, free_port())
    add_user(engine, SYSTEM, "ada", "admin", "a-long-password-1")
    ada = Principal("ada", Role.ADMIN)
    made = service.create_schedule(engine, settings, ada, report="board", fmt="html", cadence="daily", at_hour=7,
                                   folder="reports", now=MONDAY_0630)  # fmt: skip
    assert made["created_by"] == "ada"
    disable_user(engine, SYSTEM, "ada")
    runs = service.run_due(engine, settings, MONDAY_0700)
    assert runs[0]["status"] == "failed" and "'ada' is disabled" in runs[0]["error"]
    assert not (settings.home / "reports").exists()  # nothing delivered


def test_the_running_apps_job_runner_delivers_on_its_tick(database_url: str, tmp_path: Path, smtp: Inbox) -> None:
    database = connect(database_url)
    migrate(database)
    settings = settings_for(tmp_path, smtp.port, database_url=database_url, schedule_tick_seconds=0.2)
    made = service.create_schedule(database, settings, SYSTEM, report="board", fmt="html", cadence="weekly",
                                   at_hour=7, weekday=0, recipients=["board@ward.org"], folder="reports")  # fmt: skip
    application = create_app(settings)
    with TestClient(application):
        runner = application.state.runner
        assert runner.ticking
        time.sleep(0.5)  # the runner's first ticks find nothing due
        assert smtp.received == []
        due = datetime.now(UTC) + timedelta(seconds=1)
        with database.begin() as connection:  # its time comes in a second, while the application runs
            connection.execute(
                update(report_schedules).where(report_schedules.c.id == made["id"]).values(next_run_at=due)
            )
        deadline = time.monotonic() + 60
        while not smtp.received and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.6)  # a few more ticks: still one delivery
    application.state.engine.dispose()
    assert not runner.ticking  # stopped with the application
    assert len(smtp.received) == 1 and smtp.received[0][1] == ["board@ward.org"]
    assert [f.suffix for f in (settings.home / "reports").iterdir()] == [".html"]
    row = schedule_row(database, made["id"])
    assert row.last_status == "delivered"
    assert aware(row.next_run_at) > datetime.now(UTC)
    database.dispose()
