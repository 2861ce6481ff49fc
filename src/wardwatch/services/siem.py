"""Security events to a SIEM over syslog (RFC 5424), as CEF or JSON (docs/integrations.md).

What is sent, each once (checkpoints in ``intel_state``):

* ``finding.kev``: an open, unsuppressed finding of a vulnerability in CISA's KEV catalogue.  The checkpoint is the
  set of such findings already sent (``siem.kev_sent``), not a first-seen time: a CVE added to KEV after its finding
  was first seen is a new KEV hit too.  The set holds only findings still open and in KEV, so it stays as small as
  the KEV exposure itself.
* ``audit.denied`` / ``audit.failure``: audit entries refused or failed; ``remediation.step``: work items moving
  from state to state (``remediation.advance``).  Checkpoint: the last audit id read (``siem.audit_id``).
* ``remediation.overdue``: a work item past its SLA, once while it stays overdue (``siem.overdue_sent``: the ids of
  the items overdue at the last send).
* ``acceptance.expired``: a risk acceptance that has expired and was not revoked (``siem.acceptance_day``: the day
  of the last send).

Delivery is at least once: the checkpoints move only after every message of a send went out, so a failed send
(the collector unreachable, a connection dropped half-way) leaves them where they were and the next send repeats the
events.  Each event's id is stable (``kev-12``, ``audit-345``…): the SIEM can drop repeats.  UDP cannot tell whether
anything arrived; use TCP (RFC 6587 octet counting) where losing an event matters.
"""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select

from wardwatch import __version__
from wardwatch.domain.permissions import Permission, Principal, require
from wardwatch.domain.remediation import CLOSED, Sla, State
from wardwatch.domain.siem import (
    FORMATS,
    UDP_MAX_BYTES,
    Event,
    Target,
    bounded,
    format_event,
    parse_target,
    syslog_level,
)
from wardwatch.services import audit
from wardwatch.store.database import ensure_ready
from wardwatch.store.inventory import aware
from wardwatch.store.schema import (
    audit_log,
    devices,
    intel_state,
    interfaces,
    remediation_items,
    risk_acceptances,
    units,
    vulnerability_findings,
)
from wardwatch.store.vuln_findings import get_state, set_state

__all__ = [
    "APP_NAME",
    "CHECKPOINTS",
    "Batch",
    "SiemError",
    "checkpoints",
    "collect",
    "frames",
    "preview",
    "send",
]

logger = logging.getLogger(__name__)

APP_NAME = "wardwatch"
AUDIT_ID, KEV_SENT, OVERDUE_SENT, ACCEPTANCE_DAY = (
    "siem.audit_id", "siem.kev_sent", "siem.overdue_sent", "siem.acceptance_day",
)  # fmt: skip
#: The names of the checkpoints in ``intel_state``.
CHECKPOINTS = (AUDIT_ID, KEV_SENT, OVERDUE_SENT, ACCEPTANCE_DAY)

#: The most audit entries and KEV findings one send reads (a first send on a large trail goes in rounds).
DEFAULT_LIMIT = 10_000

#: Syslog facility 4, security/authorisation messages.
FACILITY = 4

_LIFE = {"life-sustaining", "life-supporting"}
_PRIORITY_SEVERITY = {"immediate": 8, "out-of-cycle": 7, "scheduled": 5, "defer": 3}


class SiemError(Exception):
    """A send failed; the message is one line naming the collector and the reason."""


@dataclass(frozen=True, slots=True)
class Batch:
    """What a send would deliver and the checkpoints to store once it has."""

    events: list[Event]
    checkpoints: dict[str, str]


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _ids(text: str | None) -> set[int]:
    if not text:
        return set()
    try:
        loaded = json.loads(text)
    except ValueError:
        return set()
    return {int(i) for i in loaded if isinstance(i, int)} if isinstance(loaded, list) else set()


def _device_ips(connection: Connection, device_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(device_ids))
    out: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = connection.execute(
            select(interfaces.c.device_id, func.min(interfaces.c.ip))
            .where(interfaces.c.device_id.in_(chunk), interfaces.c.ip.is_not(None))
            .group_by(interfaces.c.device_id)
        )
        out.update({int(device): str(ip) for device, ip in rows if ip})
    return out


def _model(manufacturer: str | None, model: str | None) -> str:
    return " ".join(p for p in ((manufacturer or "").strip(), (model or "").strip()) if p)


# -- the sources ---------------------------------------------------------------------------------------------------


def _kev(connection: Connection, sent: set[int], limit: int) -> tuple[list[Event], set[int]]:
    f, d = vulnerability_findings.c, devices.c
    rows = connection.execute(
        select(f.id, f.vulnerability_id, f.first_seen, f.cvss_score, f.device_id, d.asset_tag, d.manufacturer,
               d.model, d.device_type, d.criticality, units.c.department)
        .join(devices, d.id == f.device_id)
        .outerjoin(units, units.c.id == d.unit_id)
        .where(f.in_kev.is_(True), f.suppressed.is_(False), f.resolved_at.is_(None))
        .order_by(f.id)
    ).all()  # fmt: skip
    current = {int(r.id) for r in rows}
    fresh = [r for r in rows if r.id not in sent][:limit]
    ips = _device_ips(connection, (r.device_id for r in fresh))
    events = []
    for r in fresh:
        device = r.asset_tag or f"#{r.device_id}"
        model = _model(r.manufacturer, r.model)
        severity = 10 if r.criticality in _LIFE else 8 if r.criticality == "non-clinical" else 9
        where = ", ".join(p for p in (model, r.department) if p)
        events.append(Event(
            id=f"kev-{r.id}", time=aware(r.first_seen), kind="finding.kev", severity=severity,
            message=f"{r.vulnerability_id} is known exploited (CISA KEV) and affects {device}"
                    + (f" ({where})" if where else ""),
            fields={"cve": r.vulnerability_id, "device": device, "device_id": r.device_id,
                    "device_ip": ips.get(r.device_id), "model": model or None, "unit": r.department,
                    "cvss": r.cvss_score, "criticality": r.criticality, "device_type": r.device_type},
        ))  # fmt: skip
    return events, (sent & current) | {int(r.id) for r in fresh}


def _audit(connection: Connection, after: int, limit: int) -> tuple[list[Event], int]:
    c = audit_log.c
    newest = connection.execute(select(func.max(c.id))).scalar()
    if newest is None or newest <= after:
        return [], after
    rows = connection.execute(
        select(c.id, c.at, c.actor, c.action, c.target, c.outcome, c.detail, c.address)
        .where(c.id > after, c.id <= newest,
               or_(c.outcome.in_(["denied", "failure"]),
                   (c.action == "remediation.advance") & (c.outcome == "success")))
        .order_by(c.id)
        .limit(limit)
    ).all()  # fmt: skip
    checkpoint = int(rows[-1].id) if len(rows) >= limit else int(newest)
    events = []
    for r in rows:
        try:
            detail = json.loads(r.detail) if r.detail else {}
        except ValueError:
            detail = {}
        detail = detail if isinstance(detail, dict) else {}
        fields: dict[str, Any] = {"actor": r.actor, "action": r.action, "outcome": r.outcome, "target": r.target,
                                  "source_ip": r.address, "audit_id": r.id}  # fmt: skip
        on = f" on {r.target}" if r.target else ""
        item = r.target[5:] if (r.target or "").startswith("item ") else None
        if item and item.isdigit():
            fields["item"] = f"WW-{item}"
        if r.outcome == "success":  # remediation.advance
            fields.update({"from": detail.get("from"), "to": detail.get("to")})
            kind, severity = "remediation.step", 4 if detail.get("to") == State.ACCEPTED.value else 3
            message = f"{r.actor} moved work item #{item or '?'} from {detail.get('from')} to {detail.get('to')}"
        elif r.outcome == "denied":
            why = detail.get("why") or detail.get("reason")
            kind, severity = "audit.denied", 5
            message = f"{r.actor} was denied {r.action}{on}" + (f": {why}" if why else "")
        else:
            why = detail.get("error") or detail.get("reason") or detail.get("why")
            kind, severity = "audit.failure", 6
            message = f"{r.action}{on} by {r.actor} failed" + (f": {why}" if why else "")
        events.append(Event(id=f"audit-{r.id}", time=aware(r.at), kind=kind, severity=severity, message=message,
                            fields={k: v for k, v in fields.items() if v is not None}))  # fmt: skip
    return events, checkpoint


def _overdue(connection: Connection, sent: set[int], moment: datetime) -> tuple[list[Event], set[int]]:
    r = remediation_items.c
    rows = connection.execute(
        select(remediation_items)
        .where(r.state.not_in([s.value for s in CLOSED]), r.due_at.is_not(None), r.due_at < moment)
        .order_by(r.id)
    ).all()
    overdue = [row for row in rows if Sla.overdue(aware(row.due_at), State(row.state), moment)]
    events = []
    for row in overdue:
        if row.id in sent:
            continue
        due = aware(row.due_at)
        model = _model(row.manufacturer, row.model)
        events.append(Event(
            id=f"overdue-{row.id}", time=due, kind="remediation.overdue",
            severity=_PRIORITY_SEVERITY.get(row.priority, 5),
            message=f"Work item #{row.id} ({row.title}) is overdue: due {due:%Y-%m-%d %H:%M} UTC, SSVC "
                    f"{row.priority}, {row.devices} device(s), {row.state}",
            fields={k: v for k, v in {
                "item": f"WW-{row.id}", "cve": row.vulnerability_id, "model": model or None,
                "priority": row.priority, "due_at": due, "devices": row.devices, "assignee": row.assignee,
                "state": row.state, "device_id": row.device_id,
            }.items() if v is not None},
        ))  # fmt: skip
    return events, {int(row.id) for row in overdue}


def _expired(connection: Connection, since: date | None, today: date) -> list[Event]:
    a, d = risk_acceptances.c, devices.c
    query = (
        select(a.id, a.device_id, a.vulnerability_id, a.approver, a.expires_on, d.asset_tag, d.manufacturer,
               d.model, units.c.department)
        .join(devices, d.id == a.device_id)
        .outerjoin(units, units.c.id == d.unit_id)
        .where(a.revoked_at.is_(None), a.expires_on <= today)
        .order_by(a.expires_on, a.id)
    )  # fmt: skip
    if since is not None:
        query = query.where(a.expires_on > since)
    events = []
    for r in connection.execute(query):
        expires = r.expires_on if isinstance(r.expires_on, date) else date.fromisoformat(str(r.expires_on))
        device = r.asset_tag or f"#{r.device_id}"
        what = r.vulnerability_id or "all findings"
        events.append(Event(
            id=f"acceptance-{r.id}", time=datetime.combine(expires, time(), tzinfo=UTC), kind="acceptance.expired",
            severity=6,
            message=f"Risk acceptance #{r.id} of {what} on {device} expired on {expires.isoformat()} "
                    f"(approved by {r.approver}); the finding counts again",
            fields={k: v for k, v in {
                "cve": r.vulnerability_id, "device": device, "device_id": r.device_id,
                "model": _model(r.manufacturer, r.model) or None, "unit": r.department, "actor": r.approver,
                "acceptance_id": r.id,
            }.items() if v is not None},
        ))  # fmt: skip
    return events


def collect(engine: Engine, principal: Principal, *, now: datetime | None = None, limit: int = DEFAULT_LIMIT) -> Batch:
    """The events not sent yet, oldest first, and the checkpoints that mark them sent; reads only."""
    require(principal, Permission.AUDIT_READ)
    ensure_ready(engine)
    moment = _now(now)
    today = moment.date()
    with engine.connect() as connection:
        audit_after = get_state(connection, AUDIT_ID)
        acceptance_day = get_state(connection, ACCEPTANCE_DAY)
        after = int(audit_after) if audit_after and audit_after.isdigit() else 0
        audit_events, audit_id = _audit(connection, after, limit)
        kev_events, kev_sent = _kev(connection, _ids(get_state(connection, KEV_SENT)), limit)
        overdue_events, overdue_sent = _overdue(connection, _ids(get_state(connection, OVERDUE_SENT)), moment)
        try:
            since = date.fromisoformat(acceptance_day) if acceptance_day else None
        except ValueError:
            since = None
        expired = _expired(connection, since, today)
    events = sorted([*audit_events, *kev_events, *overdue_events, *expired], key=lambda e: (e.time, e.id))
    checkpoints = {
        AUDIT_ID: str(audit_id),
        KEV_SENT: json.dumps(sorted(kev_sent), separators=(",", ":")),
        OVERDUE_SENT: json.dumps(sorted(overdue_sent), separators=(",", ":")),
        ACCEPTANCE_DAY: today.isoformat(),
    }
    return Batch(events, checkpoints)


# -- syslog framing and transport -----------------------------------------------------------------------------------


def _hostname(hostname: str | None) -> str:
    return hostname or socket.gethostname() or "-"


def _builder(hostname: str) -> Any:
    """The RFC 5424 handler of ``rfc5424-logging-handler``, used to build messages only (on a memory stream, no
    socket): its ``emit`` swallows errors (``logging`` reports them on stderr), and a send must know it failed."""
    from rfc5424logging import Rfc5424SysLogHandler  # type: ignore[import-untyped]  # noqa: PLC0415

    return Rfc5424SysLogHandler(
        stream=io.BytesIO(),
        facility=FACILITY,
        hostname=hostname,
        appname=APP_NAME,
        procid="-",
        msg_as_utf8=False,  # MSG-ANY: no byte-order mark before "CEF:0|", which several collectors do not expect
        utc_timestamp=True,
        # Only the registered SD-ID "origin" is sent, which needs no enterprise number; version 1.4.3 still reads
        # one for every SD element, so a placeholder is given (it is never written).
        enterprise_id="0",
        structured_data={"origin": {"software": "Wardwatch", "swVersion": __version__}},
    )


def frames(
    events: Sequence[Event], fmt: str, *, hostname: str | None = None, max_bytes: int | None = None
) -> list[bytes]:
    """One RFC 5424 message per event (without transport framing): facility 4, the severity from the event's
    (:func:`~wardwatch.domain.siem.syslog_level`), TIMESTAMP the event's time in UTC, APP-NAME ``wardwatch``,
    MSGID the event's kind, ``[origin software="Wardwatch" swVersion=…]``, MSG the CEF or JSON payload.  With
    ``max_bytes`` (UDP) the payload is shortened so that the whole message fits."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; write cef or json")
    host = _hostname(hostname)
    builder = _builder(host)
    out = []
    for event in events:
        record = logging.makeLogRecord({
            "msg": "", "levelname": syslog_level(event.severity), "created": event.time.timestamp(),
            "msgid": event.kind,
        })  # fmt: skip
        if max_bytes is None:
            record.msg = format_event(event, fmt, host=host)
        else:
            prefix = len(builder.build_msg(record)) + 1  # header, structured data and the space before MSG
            record.msg = bounded(event, fmt, max_bytes - prefix, host=host)
        out.append(bytes(builder.build_msg(record)))
    return out


def _open(target: Target, timeout: float) -> Any:
    from rfc5424logging import FRAMING_OCTET_COUNTING  # noqa: PLC0415
    from rfc5424logging.transport import TCPSocketTransport, UDPSocketTransport  # type: ignore[import-untyped]  # noqa: PLC0415

    address = (target.host, target.port)
    if target.transport == "tcp":
        return TCPSocketTransport(address, timeout, FRAMING_OCTET_COUNTING)
    return UDPSocketTransport(address, timeout)


def _reason(error: OSError) -> str:
    if isinstance(error, socket.gaierror):
        return f"the host name does not resolve ({error.strerror or error})"
    if isinstance(error, TimeoutError):
        return "no answer (timed out)"
    return error.strerror or str(error) or type(error).__name__


def preview(
    engine: Engine, principal: Principal, fmt: str = "cef", *, hostname: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The events a send would deliver, each with its payload, without sending or moving a checkpoint."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; write cef or json")
    batch = collect(engine, principal, now=now)
    host = _hostname(hostname)
    return [
        {"id": e.id, "time": e.time, "kind": e.kind, "severity": e.severity, "message": e.message,
         "payload": format_event(e, fmt, host=host)}
        for e in batch.events
    ]  # fmt: skip


def send(
    engine: Engine,
    principal: Principal,
    target: str,
    fmt: str = "cef",
    *,
    dry_run: bool = False,
    hostname: str | None = None,
    timeout: float = 10.0,
    now: datetime | None = None,
) -> int:
    """Send the events not sent yet to ``target`` (``udp://HOST:PORT`` or ``tcp://HOST:PORT``) and return how many;
    the checkpoints move (with an audit entry) only once every message is out.  ``dry_run`` sends nothing and moves
    nothing.  Raises ``ValueError`` on a bad target or format, :class:`SiemError` when the collector cannot be
    reached or the connection fails."""
    where = parse_target(target)
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r}: write cef or json")
    batch = collect(engine, principal, now=now)
    messages = frames(batch.events, fmt, hostname=hostname,
                      max_bytes=UDP_MAX_BYTES if where.transport == "udp" else None)  # fmt: skip
    if dry_run:
        return len(messages)
    done = 0
    try:
        connection = _open(where, timeout)
        try:
            for message in messages:
                connection.transmit(message)
                done += 1
        finally:
            connection.close()
    except OSError as e:
        reason = _reason(e)
        problem = f"cannot connect to {where}: {reason}" if done == 0 else (
            f"sending to {where} failed after {done} of {len(messages)} events: {reason}")  # fmt: skip
        audit.record_now(engine, principal.username, "integrations.siem", target=str(where), outcome="failure",
                         detail={"error": problem, "events": len(messages), "sent": done})  # fmt: skip
        raise SiemError(problem + "; nothing was marked as sent, the next send repeats these events") from e
    with engine.begin() as connection_db:
        for name, value in batch.checkpoints.items():
            set_state(connection_db, name, value)
        audit.record(connection_db, principal.username, "integrations.siem", target=str(where),
                     detail={"events": len(messages), "format": fmt})  # fmt: skip
    return len(messages)


def checkpoints(engine: Engine) -> dict[str, str]:
    """The stored checkpoints (for tests and support)."""
    with engine.connect() as connection:
        rows = connection.execute(select(intel_state.c.name, intel_state.c.value).where(
            intel_state.c.name.in_(CHECKPOINTS)))  # fmt: skip
        return {str(n): str(v) for n, v in rows}
