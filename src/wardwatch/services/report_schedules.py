"""Scheduled delivery of the board and audit reports: by e-mail (SMTP, the report attached) and/or into a folder.

A schedule is a row of ``report_schedules``: which report, PDF or HTML, a cadence (``domain.schedules``), the
recipients and/or a folder under the Wardwatch home.  :func:`run_due` delivers every schedule whose
``next_run_at`` has come; the job runner of ``wardwatch serve`` calls it on every tick (``Settings.
schedule_tick_seconds``) on its worker thread, so a slow PDF render never holds up a request, and
``wardwatch report schedule run-due`` calls it from cron where no server runs.

Permissions: seeing schedules needs ``reports:read`` (a schedule of the audit report also ``audit:read``).
Creating, disabling and deleting one needs ``users:admin`` — a schedule sends a report to addresses outside
Wardwatch and writes files on the server, which is administration, not reading — plus the report's own
permissions (board: ``reports:read``; audit: ``reports:read`` and ``audit:read``).  A run builds the report as
the schedule's creator with their rights at that moment: a creator who was disabled or lost a permission makes
the run fail, saying so, and nothing is sent.

Exactly once per period: a run first moves ``next_run_at`` to the next period (a conditional update, so two
runners never both take it); a failed delivery puts it back, so the next tick retries, and the schedule is
never lost.  The audit trail gets every delivery and the first failure of a streak (retries every minute would
otherwise flood it); ``last_status`` / ``last_error`` always show the newest attempt.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from wardwatch.domain.permissions import SYSTEM, Permission, PermissionDenied, Principal, Role, allows, require
from wardwatch.domain.schedules import FORMATS, REPORTS, Cadence, next_run, validate_recipients
from wardwatch.services import audit
from wardwatch.settings import Settings
from wardwatch.store.database import ensure_ready
from wardwatch.store.inventory import aware
from wardwatch.store.schema import report_schedules, users

__all__ = [
    "PASSWORD_VARIABLE",
    "DeliveryError",
    "ScheduleNotFound",
    "create_schedule",
    "delete_schedule",
    "disable_schedule",
    "get_schedule",
    "list_schedules",
    "resolve_folder",
    "run_due",
    "send_report",
]

logger = logging.getLogger(__name__)

#: The environment variable holding the SMTP password (read when sending, never stored).
PASSWORD_VARIABLE = "WARDWATCH_SMTP_PASSWORD"  # noqa: S105 - the variable's name, not a password
_SMTP_TIMEOUT = 30.0
_MEDIA = {"pdf": ("application", "pdf"), "html": ("text", "html")}
_TITLES = {"board": "board report", "audit": "audit report"}


class ScheduleNotFound(LookupError):
    """No schedule has this id (or the principal may not see it)."""


class DeliveryError(Exception):
    """A report could not be delivered; the message says why in one line."""


def _may_read(principal: Principal, report: str) -> bool:
    return allows(principal, Permission.REPORTS_READ) and (
        report != "audit" or allows(principal, Permission.AUDIT_READ)
    )


def _require_scheduler(principal: Principal, report: str | None) -> None:
    """``users:admin`` first (so a refusal names it), then the report's own permissions (none for ``None``)."""
    require(principal, Permission.USERS_ADMIN)
    if report is not None:
        require(principal, Permission.REPORTS_READ)
    if report == "audit":
        require(principal, Permission.AUDIT_READ)


def _authorize(engine: Engine, principal: Principal, report: str | None, action: str, address: str | None) -> None:
    try:
        _require_scheduler(principal, report)
    except PermissionDenied:
        audit.record_now(engine, principal.username, action, outcome="denied", address=address)
        raise


def resolve_folder(settings: Settings, folder: str) -> tuple[str, Path]:
    """A delivery folder checked to lie under the Wardwatch home: (its path relative to the home, absolute path).

    Relative folders are taken from the home; symbolic links are followed before the check; the home itself is
    refused too (reports go in a folder of their own).  ``ValueError`` says what to give instead.
    """
    text = folder.strip()
    if not text or "\x00" in text:
        raise ValueError("an empty folder; give a folder under the Wardwatch home, e.g. reports/board")
    try:
        home = settings.home.expanduser().resolve()
        given = Path(text).expanduser()
        target = (given if given.is_absolute() else home / given).resolve()
    except (OSError, RuntimeError) as e:  # a name too long, a symlink loop
        raise ValueError(f"folder {text!r} cannot be used ({e}); give a folder under the Wardwatch home") from e
    if target == home or not target.is_relative_to(home):
        raise ValueError(
            f"folder {text!r} is not inside the Wardwatch home {home}; reports are written only to a folder under "
            "it, e.g. reports/board"
        )
    return target.relative_to(home).as_posix(), target


def _public(row: Any) -> dict[str, Any]:
    schedule = dict(row._mapping)
    for name in ("created_at", "last_run_at", "next_run_at"):
        schedule[name] = aware(schedule[name]) if schedule[name] is not None else None
    schedule["recipients"] = json.loads(schedule["recipients"] or "[]")
    schedule["enabled"] = bool(schedule["enabled"])
    schedule["when"] = _cadence(row).describe()
    return schedule


def _cadence(row: Any) -> Cadence:
    return Cadence(row.cadence, row.at_hour, row.weekday, row.day)


def _get(engine: Engine, schedule_id: int) -> Any:
    with engine.connect() as connection:
        row = connection.execute(select(report_schedules).where(report_schedules.c.id == schedule_id)).first()
    if row is None:
        raise ScheduleNotFound(f"no report schedule {schedule_id}; `wardwatch report schedule list` shows them")
    return row


def create_schedule(
    engine: Engine,
    settings: Settings,
    principal: Principal,
    *,
    report: str,
    fmt: str,
    cadence: str,
    at_hour: int,
    weekday: int | None = None,
    day: int | None = None,
    recipients: Iterable[str] = (),
    folder: str | None = None,
    now: datetime | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    """Schedule ``report`` as ``fmt`` on a cadence, to ``recipients`` and/or ``folder``; the new schedule.

    ``ValueError`` for a bad value (named), :class:`PermissionDenied` (audited) without the permissions above.
    """
    if report not in REPORTS:
        raise ValueError(f"report {report!r} is not one of {', '.join(REPORTS)}")
    _authorize(engine, principal, report, "reports.schedule_add", address)
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    when = Cadence(cadence, at_hour, weekday, day)
    addresses = validate_recipients(recipients)
    stored_folder = resolve_folder(settings, folder)[0] if folder is not None and folder.strip() else None
    if not addresses and stored_folder is None:
        raise ValueError("give recipients (e-mail addresses) or a folder, or both: a schedule must deliver somewhere")
    ensure_ready(engine)
    created = now or datetime.now(UTC)
    with engine.begin() as connection:
        schedule_id = connection.execute(
            insert(report_schedules)
            .values(
                report=report, format=fmt, cadence=cadence, at_hour=at_hour, weekday=weekday, day=day,
                recipients=json.dumps(addresses), folder=stored_folder, created_by=principal.username,
                created_at=created, next_run_at=next_run(when, created), enabled=True,
            )
            .returning(report_schedules.c.id)
        ).scalar_one()  # fmt: skip
        audit.record(
            connection, principal.username, "reports.schedule_add", target=f"report schedule {schedule_id}",
            detail={"report": report, "format": fmt, "when": when.describe(), "recipients": addresses,
                    "folder": stored_folder},
            address=address,
        )  # fmt: skip
    return _public(_get(engine, int(schedule_id)))


def list_schedules(engine: Engine, principal: Principal) -> list[dict[str, Any]]:
    """Every schedule of a report the principal may read (``reports:read``), oldest first."""
    require(principal, Permission.REPORTS_READ)
    ensure_ready(engine)
    with engine.connect() as connection:
        rows = connection.execute(select(report_schedules).order_by(report_schedules.c.id)).all()
    return [_public(row) for row in rows if _may_read(principal, row.report)]


def get_schedule(engine: Engine, principal: Principal, schedule_id: int) -> dict[str, Any]:
    """One schedule (``ScheduleNotFound`` also when the principal may not read its report)."""
    require(principal, Permission.REPORTS_READ)
    ensure_ready(engine)
    row = _get(engine, schedule_id)
    if not _may_read(principal, row.report):
        raise ScheduleNotFound(f"no report schedule {schedule_id}")
    return _public(row)


def disable_schedule(
    engine: Engine, principal: Principal, schedule_id: int, *, address: str | None = None
) -> dict[str, Any]:
    """Stop delivering the schedule (it is kept, with its history); the schedule.  Audited."""
    ensure_ready(engine)
    _authorize(engine, principal, None, "reports.schedule_disable", address)
    row = _get(engine, schedule_id)
    _authorize(engine, principal, row.report, "reports.schedule_disable", address)
    with engine.begin() as connection:
        connection.execute(update(report_schedules).where(report_schedules.c.id == schedule_id).values(enabled=False))
        audit.record(connection, principal.username, "reports.schedule_disable",
                     target=f"report schedule {schedule_id}", address=address)  # fmt: skip
    return _public(_get(engine, schedule_id))


def delete_schedule(engine: Engine, principal: Principal, schedule_id: int, *, address: str | None = None) -> None:
    """Remove the schedule.  Audited (the audit trail keeps what it was)."""
    ensure_ready(engine)
    _authorize(engine, principal, None, "reports.schedule_delete", address)
    row = _get(engine, schedule_id)
    _authorize(engine, principal, row.report, "reports.schedule_delete", address)
    with engine.begin() as connection:
        connection.execute(delete(report_schedules).where(report_schedules.c.id == schedule_id))
        audit.record(
            connection, principal.username, "reports.schedule_delete", target=f"report schedule {schedule_id}",
            detail={"report": row.report, "format": row.format, "when": _cadence(row).describe(),
                    "recipients": json.loads(row.recipients or "[]"), "folder": row.folder},
            address=address,
        )  # fmt: skip


# --- delivery -------------------------------------------------------------------------------------------------------


def _creator(engine: Engine, username: str) -> Principal:
    """The principal a scheduled run acts as: the creator's account now (the CLI's operator: ``system``)."""
    with engine.connect() as connection:
        row = connection.execute(
            select(users.c.id, users.c.username, users.c.role, users.c.unit, users.c.disabled).where(
                users.c.username == username
            )
        ).first()
    if row is None:
        if username == SYSTEM.username:
            return SYSTEM
        raise DeliveryError(f"the schedule's creator {username!r} has no account any more; create the schedule again")
    if row.disabled:
        raise DeliveryError(
            f"the schedule's creator {username!r} is disabled; create the schedule again as another admin"
        )
    return Principal(username=row.username, role=Role(row.role), user_id=row.id, unit=row.unit)


def _filename(report: str, fmt: str, at: datetime) -> str:
    return f"wardwatch-{report}-report-{at.astimezone(UTC):%Y%m%d-%H%M%S}.{fmt}"


def _write_into(settings: Settings, folder: str, name: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/name`` (checked again: the folder may have become a link), never half-written."""
    target_folder = resolve_folder(settings, folder)[1]
    target_folder.mkdir(parents=True, exist_ok=True)
    target = target_folder / name
    stem, suffix, n = target.stem, target.suffix, 1
    while target.exists():
        n += 1
        target = target_folder / f"{stem}-{n}{suffix}"
    partial = target.with_name(target.name + ".partial")
    try:
        partial.write_bytes(data)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def send_report(
    settings: Settings, recipients: list[str], subject: str, text: str, filename: str, fmt: str, data: bytes
) -> None:
    """Send one message with the report attached to ``recipients`` through the configured SMTP server.

    :class:`DeliveryError` (one line) when SMTP is not configured, the server cannot be reached, STARTTLS is
    wanted but not offered, login fails or the server refuses a recipient.
    """
    if not settings.smtp_host:
        raise DeliveryError("e-mail is not configured: set WARDWATCH_SMTP_HOST and WARDWATCH_SMTP_FROM")
    if not settings.smtp_from:
        raise DeliveryError("e-mail is not configured: set WARDWATCH_SMTP_FROM (the sender address)")
    password = os.environ.get(PASSWORD_VARIABLE)
    if settings.smtp_username and not password:
        raise DeliveryError(f"WARDWATCH_SMTP_USERNAME is set but {PASSWORD_VARIABLE} is not; set it for the server")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    message.set_content(text)
    maintype, subtype = _MEDIA[fmt]
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=_SMTP_TIMEOUT) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls:
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(
                        f"the mail server {where} does not offer STARTTLS; set WARDWATCH_SMTP_STARTTLS=false only if "
                        "the network to it is trusted"
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_username and password:
                smtp.login(settings.smtp_username, password)
            refused = smtp.send_message(message, to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as e:
        raise DeliveryError(f"the mail server {where} refused every recipient: {', '.join(e.recipients)}") from e
    except smtplib.SMTPAuthenticationError as e:
        raise DeliveryError(f"the mail server {where} refused the login of {settings.smtp_username!r}") from e
    except (smtplib.SMTPException, OSError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DeliveryError(f"cannot send through the mail server {where}: {reason}") from e
    if refused:
        raise DeliveryError(f"the mail server {where} refused: {', '.join(sorted(refused))} (the others were sent)")


@dataclass(slots=True)
class _Rendered:
    data: bytes
    generated_at: datetime


def _render(engine: Engine, row: Any, cache: dict[tuple[str, str, str], _Rendered]) -> _Rendered:
    """The report of ``row`` built as its creator and rendered (once per creator, report and format per tick)."""
    from wardwatch.services.report_render import render  # noqa: PLC0415 - matplotlib and WeasyPrint load slowly
    from wardwatch.services.reports import build_report  # noqa: PLC0415

    key = (row.created_by, row.report, row.format)
    if key not in cache:
        principal = _creator(engine, row.created_by)
        _require_scheduler(principal, row.report)
        figures = build_report(engine, principal, row.report)
        cache[key] = _Rendered(render(figures, row.format), figures["generated_at"])
    return cache[key]


def _deliver(engine: Engine, settings: Settings, row: Any, rendered: _Rendered) -> dict[str, Any]:
    """Deliver one rendered report to the schedule's folder and recipients; what was delivered."""
    name = _filename(row.report, row.format, rendered.generated_at)
    delivered: dict[str, Any] = {"file": None, "recipients": []}
    if row.folder:
        delivered["file"] = _write_into(settings, row.folder, name, rendered.data).name
    recipients = json.loads(row.recipients or "[]")
    if recipients:
        title = _TITLES[row.report]
        stamp = f"{rendered.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        body = (
            f"The Wardwatch {title} generated at {stamp} is attached ({row.format.upper()}).\n\n"
            f"Report schedule {row.id}: {_cadence(row).describe()}, created by {row.created_by}.\n"
            "To stop it, disable the schedule on the Reports page or with `wardwatch report schedule disable "
            f"{row.id}`.\n"
        )
        send_report(settings, recipients, f"Wardwatch {title} — {stamp}", body, name, row.format, rendered.data)
        delivered["recipients"] = recipients
    return delivered


def _one_line(error: BaseException) -> str:
    text = str(error).strip().strip("'\"")
    return (text.splitlines()[0] if text else type(error).__name__)[:2000]


def run_due(engine: Engine, settings: Settings, now: datetime | None = None) -> list[dict[str, Any]]:
    """Deliver every enabled schedule whose time has come (``next_run_at <= now``); one result per schedule run.

    Each result: ``id``, ``report``, ``format``, ``status`` (``delivered`` or ``failed``), ``error``, ``file``
    (the name written in the folder), ``recipients`` and ``next_run_at``.  Never raises for one schedule's
    failure: it is recorded on the schedule and retried at the next call.
    """
    ensure_ready(engine)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    rs = report_schedules.c
    with engine.connect() as connection:
        due = connection.execute(
            select(report_schedules)
            .where(rs.enabled.is_(True), rs.next_run_at <= moment)
            .order_by(rs.next_run_at, rs.id)
        ).all()
    cache: dict[tuple[str, str, str], _Rendered] = {}
    results: list[dict[str, Any]] = []
    for row in due:
        following = next_run(_cadence(row), moment)
        with engine.begin() as connection:  # claim the period: a second runner finds next_run_at moved and skips
            claimed = connection.execute(
                update(report_schedules)
                .where(rs.id == row.id, rs.enabled.is_(True), rs.next_run_at == row.next_run_at)
                .values(next_run_at=following)
            ).rowcount
        if not claimed:
            continue
        result: dict[str, Any] = {"id": row.id, "report": row.report, "format": row.format}
        try:
            delivered = _deliver(engine, settings, row, _render(engine, row, cache))
        except Exception as e:  # one schedule's failure never stops the others, nor loses the schedule
            if not isinstance(e, DeliveryError | PermissionDenied | ValueError | LookupError | OSError):
                logger.exception("report schedule %s failed", row.id)
            error = _one_line(e)
            with engine.begin() as connection:
                connection.execute(
                    update(report_schedules)
                    .where(rs.id == row.id)
                    .values(next_run_at=row.next_run_at, last_run_at=moment, last_status="failed", last_error=error)
                )
                if row.last_status != "failed":  # the first failure of a streak; retries are not audited again
                    audit.record(connection, row.created_by, "reports.schedule_run", target=f"report schedule {row.id}",
                                 outcome="failure", detail={"error": error, "retry": "at the next tick"})  # fmt: skip
            results.append({**result, "status": "failed", "error": error, "file": None, "recipients": [],
                            "next_run_at": aware(row.next_run_at)})  # fmt: skip
            continue
        with engine.begin() as connection:
            connection.execute(
                update(report_schedules)
                .where(rs.id == row.id)
                .values(last_run_at=moment, last_status="delivered", last_error=None)
            )
            audit.record(connection, row.created_by, "reports.schedule_run", target=f"report schedule {row.id}",
                         detail={"report": row.report, "format": row.format, **delivered})  # fmt: skip
        results.append({**result, "status": "delivered", "error": None, **delivered, "next_run_at": following})
    return results
