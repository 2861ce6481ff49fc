"""Remediation work items as tickets: a CSV in the shape of a ServiceNow import set, and webhooks (JSON) to any
ticketing system (docs/integrations.md).

The CSV columns are the incident table's (``number``, ``short_description``, ``urgency``, ``impact``, ``priority``,
``state``, ``assignment_group``, ``cmdb_ci``, ``due_date``…) plus ``u_`` fields for what has no place there; a
transform map in ServiceNow maps them onto the target table.  Every cell is quoted, and a cell that a spreadsheet
would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading
apostrophe.

Webhooks POST one JSON document per work item created or changed since the last delivery to that URL.  The
checkpoint is, per URL, the version (a digest of the ticket's content) last delivered for each item
(``intel_state`` ``tickets.webhook.<hash of the URL>``): an item is sent again only when something in its ticket
changed, whatever changed it.  Items are delivered in id order and each delivered item is remembered at once, so a
failure (a status that is not 2xx, no connection) stops the run at the failing item: it and the items after it are
sent again next time, those before it are not.  Headers: ``Idempotency-Key`` (the item and its version: the same for
a repeat of the same content, new for a change), ``X-Wardwatch-Item`` (the item's id) and, with a shared secret,
``X-Wardwatch-Signature: sha256=<hex HMAC-SHA256 of the body>``.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import orjson
from sqlalchemy import Connection, Engine, select

from wardwatch import __version__
from wardwatch.domain.permissions import Permission, Principal, require
from wardwatch.domain.remediation import State
from wardwatch.services import audit
from wardwatch.services.remediation import list_items
from wardwatch.store.database import ensure_ready
from wardwatch.store.schema import devices, vulnerability_findings
from wardwatch.store.vuln_findings import get_state, set_state

__all__ = [
    "COLUMNS",
    "TicketError",
    "neutralise",
    "push_webhooks",
    "ticket_rows",
    "tickets_csv",
    "webhook_state_name",
    "write_csv",
]

#: The import-set columns, in order.
COLUMNS: tuple[str, ...] = (
    "number", "short_description", "description", "urgency", "impact", "priority", "state", "assignment_group",
    "assigned_to", "cmdb_ci", "category", "opened_at", "due_date", "closed_at", "u_wardwatch_id",
    "u_wardwatch_state", "u_ssvc_priority", "u_cve", "u_devices", "u_device_count", "u_units", "u_overdue", "u_fix",
)  # fmt: skip

#: SSVC priority -> ServiceNow urgency (1 high, 2 medium, 3 low).
URGENCY = {"immediate": 1, "out-of-cycle": 2, "scheduled": 3, "defer": 3}

#: Clinical criticality of the most critical device -> ServiceNow impact (unknown counts as medium).
IMPACT = {"life-sustaining": 1, "life-supporting": 1, "therapeutic": 2, "diagnostic": 2, "monitoring": 2,
          "non-clinical": 3}  # fmt: skip

#: Work item state -> ServiceNow incident state (1 New, 2 In Progress, 3 On Hold, 6 Resolved).
STATE = {
    State.OPEN: 1, State.TRIAGED: 2, State.AWAITING_VALIDATION: 3, State.APPROVED: 2, State.SCHEDULED: 2,
    State.APPLIED: 2, State.VERIFIED: 6, State.MITIGATED: 6, State.ACCEPTED: 6,
}  # fmt: skip

#: Who works the item in its state: IT security applies network mitigations, compliance owns accepted risks,
#: biomedical engineering everything else (triage, the manufacturer's validation, patching).
GROUP_BIOMED, GROUP_ITSEC, GROUP_COMPLIANCE = "Biomedical Engineering", "IT Security", "Compliance"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DUE_FORMAT = "%Y-%m-%d %H:%M:%S"  # ServiceNow's date-time import format (UTC)
USER_AGENT = f"wardwatch/{__version__} (webhooks)"


class TicketError(Exception):
    """A ticket export or delivery failed; the message is one line naming the URL or file and the reason."""


def neutralise(value: str) -> str:
    """A cell a spreadsheet will not run as a formula: one starting with ``= + - @``, a tab or a carriage return
    gets a leading apostrophe."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime(_DUE_FORMAT)


def _group(state: str) -> str:
    if state == State.MITIGATED.value:
        return GROUP_ITSEC
    if state == State.ACCEPTED.value:
        return GROUP_COMPLIANCE
    return GROUP_BIOMED


def _item_devices(connection: Connection, items: Sequence[dict[str, Any]]) -> dict[int, list[tuple[str, str]]]:
    """item id -> [(device name, criticality)] of the devices with the item's open finding (one query)."""
    wanted = {item["vulnerability"] for item in items}
    if not wanted:
        return {}
    f, d = vulnerability_findings.c, devices.c
    by_vulnerability: dict[str, list[Any]] = {}
    rows = connection.execute(
        select(f.vulnerability_id, d.id, d.asset_tag, d.manufacturer, d.model, d.criticality)
        .join(devices, d.id == f.device_id)
        .where(f.suppressed.is_(False), f.resolved_at.is_(None), f.vulnerability_id.in_(sorted(wanted)))
        .distinct()
        .order_by(d.id)
    )
    for row in rows:
        by_vulnerability.setdefault(row.vulnerability_id, []).append(row)
    out: dict[int, list[tuple[str, str]]] = {}
    for item in items:
        found = []
        for row in by_vulnerability.get(item["vulnerability"], []):
            if item["scope"] == "model":
                match = (row.manufacturer or "").strip() == (item["manufacturer"] or "") and (
                    row.model or ""
                ).strip() == (item["model"] or "")
            else:
                match = row.id == item.get("device_id")
            if match:
                found.append((row.asset_tag or f"#{row.id}", row.criticality or ""))
        out[item["id"]] = found
    return out


def _device_scope_ids(engine: Engine, items: Sequence[dict[str, Any]]) -> dict[int, int | None]:
    from wardwatch.store.schema import remediation_items  # noqa: PLC0415

    ids = [i["id"] for i in items if i["scope"] != "model"]
    if not ids:
        return {}
    with engine.connect() as connection:
        rows = connection.execute(
            select(remediation_items.c.id, remediation_items.c.device_id).where(remediation_items.c.id.in_(ids))
        )
        return {int(i): d for i, d in rows}


def ticket_rows(engine: Engine, principal: Principal, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """One ticket per work item the principal may see (closed ones too, so the ticket system can close them), in
    id order: the :data:`COLUMNS` as text, and under ``"item"`` the work item itself."""
    require(principal, Permission.REMEDIATION_READ)
    ensure_ready(engine)
    items = sorted(list_items(engine, principal, limit=10**9, now=now), key=lambda i: i["id"])
    device_ids = _device_scope_ids(engine, items)
    for item in items:
        item["device_id"] = device_ids.get(item["id"])
    with engine.connect() as connection:
        covered = _item_devices(connection, items)
    out = []
    for item in items:
        found = covered.get(item["id"], [])
        names = [name for name, _ in found]
        impact = min((IMPACT.get(c, 2) for _, c in found), default=2)
        urgency = URGENCY.get(item["priority"], 3)
        model = " ".join(p for p in (item["manufacturer"], item["model"]) if p)
        units = item.get("units") or []
        lines = [
            f"Wardwatch work item #{item['id']}: {item['title']}",
            f"Vulnerability: {item['vulnerability']}",
            f"SSVC priority: {item['priority']}" + (f", due {_when(item['due_at'])} UTC" if item["due_at"] else ""),
            f"Devices ({item['devices']}): {', '.join(names) or 'none open'}",
        ]
        if item["fix"]:
            lines.append(f"Fix: {item['fix']}")
        if item["controls"]:
            lines.append(f"Compensating controls: {', '.join(item['controls'])}")
        row = {
            "number": f"WW-{item['id']}", "short_description": item["title"][:160],
            "description": "\n".join(lines), "urgency": str(urgency), "impact": str(impact),
            "priority": str(min(5, urgency + impact - 1)), "state": str(STATE[State(item["state"])]),
            "assignment_group": _group(item["state"]), "assigned_to": item["assignee"] or "",
            "cmdb_ci": model or (names[0] if names else ""), "category": "Medical device vulnerability",
            "opened_at": _when(item["opened_at"]), "due_date": _when(item["due_at"]),
            "closed_at": _when(item["closed_at"]), "u_wardwatch_id": str(item["id"]),
            "u_wardwatch_state": item["state"], "u_ssvc_priority": item["priority"], "u_cve": item["vulnerability"],
            "u_devices": ", ".join(names), "u_device_count": str(item["devices"]), "u_units": ", ".join(units),
            "u_overdue": "true" if item["overdue"] else "false", "u_fix": item["fix"] or "",
        }  # fmt: skip
        out.append({**row, "item": item})
    return out


def _csv(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([neutralise(row[c]) for c in COLUMNS])
    return buffer.getvalue()


def tickets_csv(engine: Engine, principal: Principal, *, now: datetime | None = None) -> str:
    """The import-set CSV: a header row, then one row per work item; every cell quoted, formulas neutralised."""
    return _csv(ticket_rows(engine, principal, now=now))


def write_csv(engine: Engine, principal: Principal, path: Path, *, now: datetime | None = None) -> int:
    """Write the CSV to ``path`` (UTF-8) and return how many tickets; audited."""
    rows = ticket_rows(engine, principal, now=now)
    try:
        path.write_text(_csv(rows), encoding="utf-8", newline="")
    except OSError as e:
        raise TicketError(f"{path}: cannot write the CSV ({e.strerror or e})") from e
    with engine.begin() as connection:
        audit.record(connection, principal.username, "integrations.tickets", target=str(path),
                     detail={"format": "csv", "tickets": len(rows)})  # fmt: skip
    return len(rows)


# -- webhooks ------------------------------------------------------------------------------------------------------


def webhook_state_name(url: str) -> str:
    """The ``intel_state`` name of a URL's delivery checkpoint."""
    return "tickets.webhook." + hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def _check_url(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--webhook {_shown(url)!r} is not an http(s) URL; write e.g. "
                         "https://tickets.example.org/hook")  # fmt: skip
    return url.strip()


def _shown(url: str) -> str:
    """The URL as messages and the audit trail show it: without a user, password or query (which may carry a
    token)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return url.strip().split("?")[0].split("@")[-1][:200]
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else url.strip().split("?")[0][:200]


def _document(row: dict[str, Any]) -> dict[str, Any]:
    item = row["item"]
    ticket = {c: row[c] for c in COLUMNS}
    return {
        "source": "wardwatch",
        "item": {
            "id": item["id"], "number": row["number"], "title": item["title"], "state": item["state"],
            "priority": item["priority"], "vulnerability": item["vulnerability"],
            "manufacturer": item["manufacturer"], "model": item["model"], "devices": item["devices"],
            "device_names": [n for n in row["u_devices"].split(", ") if n], "units": item.get("units") or [],
            "assignee": item["assignee"], "fix": item["fix"], "controls": item["controls"],
            "opened_at": item["opened_at"], "due_at": item["due_at"], "closed_at": item["closed_at"],
            "overdue": item["overdue"],
        },
        "servicenow": ticket,
    }  # fmt: skip


def _dumps(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)


def push_webhooks(
    engine: Engine,
    principal: Principal,
    url: str,
    *,
    secret: bytes | None = None,
    timeout: float = 10.0,
    now: datetime | None = None,
    transport: httpx2.BaseTransport | None = None,
) -> dict[str, int]:
    """POST each work item created or changed since the last delivery to ``url``; returns ``sent`` and
    ``unchanged``.  Raises ``ValueError`` on a bad URL, :class:`TicketError` naming the URL and the status (or the
    connection problem) on a failure, after remembering the items delivered before it."""
    require(principal, Permission.REMEDIATION_READ)
    target = _check_url(url)
    shown = _shown(target)
    rows = ticket_rows(engine, principal, now=now)
    name = webhook_state_name(target)
    with engine.connect() as connection:
        stored = get_state(connection, name)
    try:
        delivered: dict[str, str] = json.loads(stored) if stored else {}
    except ValueError:
        delivered = {}
    if not isinstance(delivered, dict):
        delivered = {}
    pending = []
    for row in rows:
        document = _document(row)
        version = hashlib.sha256(_dumps(document)).hexdigest()[:16]
        key = str(row["item"]["id"])
        if delivered.get(key) != version:
            event = "work_item.updated" if key in delivered else "work_item.created"
            pending.append((key, version, _dumps({"event": event, "version": version, **document})))
    sent = 0
    failure: str | None = None
    client = httpx2.Client(
        timeout=httpx2.Timeout(timeout),
        headers={"User-Agent": USER_AGENT},
        transport=transport or httpx2.HTTPTransport(retries=2),  # retries connecting, never a sent request
    )
    try:
        for key, version, body in pending:
            headers = {"Content-Type": "application/json", "Idempotency-Key": f"wardwatch-{key}-{version}",
                       "X-Wardwatch-Item": key}  # fmt: skip
            if secret:
                headers["X-Wardwatch-Signature"] = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            try:
                response = client.post(target, content=body, headers=headers)
            except httpx2.HTTPError as e:
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                failure = f"cannot connect to {shown}: {reason}" if isinstance(e, httpx2.ConnectError) else (
                    f"webhook {shown} failed: {reason}")  # fmt: skip
                break
            if not response.is_success:
                failure = (
                    f"webhook {shown} answered {response.status_code} {response.reason_phrase} for work item #{key}"
                )
                break
            delivered[key] = version
            sent += 1
            with engine.begin() as connection:  # remembered at once: a later failure does not resend it
                set_state(connection, name, json.dumps(delivered, sort_keys=True, separators=(",", ":")))
    finally:
        client.close()
    detail: dict[str, Any] = {"sent": sent, "pending": len(pending)}
    if failure:
        detail["error"] = failure
    with engine.begin() as connection:  # a run with nothing to deliver leaves no entry
        if pending:
            audit.record(connection, principal.username, "integrations.webhook", target=shown[:300],
                         outcome="failure" if failure else "success", detail=detail)  # fmt: skip
    if failure:
        left = len(pending) - sent
        raise TicketError(f"{failure}; {sent} delivered, {left} left for the next run")
    return {"sent": sent, "unchanged": len(rows) - len(pending)}
