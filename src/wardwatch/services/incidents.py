"""Incident records: opened from a playbook run (with a snapshot of what it found), the actions taken step by step,
containment and closing (``wardwatch incident``, ``/api/incidents``).

Opening, logging an action and closing need ``incidents:write`` and are written to the audit trail in the same
transaction; reading needs ``incidents:read`` (a clinician sees the affected devices of their own unit only).  An
incident moves ``open`` -> ``contained`` (an action that says so) -> ``closed``; a closed incident takes no more
actions.  The checklist of an incident is its playbook's steps and the isolation steps of its snapshot, each with
the newest action that names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, func, insert, select, update

from wardwatch.domain.permissions import Permission, Principal, require
from wardwatch.services import audit
from wardwatch.services.playbooks import run_playbook, scoped
from wardwatch.settings import Settings
from wardwatch.store.database import ensure_ready
from wardwatch.store.schema import incident_actions, incidents

__all__ = [
    "STATUSES",
    "IncidentClosed",
    "close_incident",
    "get_incident",
    "list_incidents",
    "log_action",
    "open_incident",
]

STATUSES = ("open", "contained", "closed")
SEVERITIES = ("critical", "high", "medium", "low")
_MAX_STEP = 200
_MAX_NOTE = 4000
_MAX_TITLE = 300


class IncidentClosed(ValueError):
    """The incident is closed: it takes no more actions."""


def _when(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat(timespec="seconds")


def open_incident(
    engine: Engine,
    principal: Principal,
    playbook: str,
    *,
    seed: str | None = None,
    manufacturer: str | None = None,
    recall: str | None = None,
    title: str | None = None,
    severity: str | None = None,
    settings: Settings | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    """Run the playbook and open an incident with the run as its snapshot; audited.  ``severity`` overrides the
    one the affected devices give (critical, high, medium, low)."""
    require(principal, Permission.INCIDENTS_WRITE)
    if severity is not None and severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    if title is not None and len(title) > _MAX_TITLE:
        raise ValueError(f"the title is too long (at most {_MAX_TITLE} characters)")
    run = run_playbook(engine, principal, playbook, seed=seed, manufacturer=manufacturer, recall=recall,
                       settings=settings)  # fmt: skip
    name = (title or "").strip() or f"{run['title']} ({run['total']} device(s))"
    now = datetime.now(UTC)
    with engine.begin() as connection:
        incident_id = connection.execute(
            insert(incidents).values(
                playbook=playbook, title=name, status="open", severity=severity or run["severity"],
                opened_by=principal.username, opened_at=now, closed_at=None,
                parameters=orjson.dumps(run["parameters"]).decode(), snapshot=orjson.dumps(run).decode(),
            ).returning(incidents.c.id)
        ).scalar_one()  # fmt: skip
        audit.record(connection, principal.username, "incidents.open", target=f"incident {incident_id}",
                     detail={"playbook": playbook, "parameters": run["parameters"], "devices": run["total"]},
                     address=address)  # fmt: skip
    return get_incident(engine, principal, incident_id)


def _summary(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "playbook": row.playbook, "title": row.title, "status": row.status, "severity": row.severity,
        "opened_by": row.opened_by, "opened_at": _when(row.opened_at), "closed_at": _when(row.closed_at),
        "parameters": orjson.loads(row.parameters),
    }  # fmt: skip


def list_incidents(engine: Engine, principal: Principal, *, status: str | None = None) -> list[dict[str, Any]]:
    """The incidents, newest first (``status``: only those), with how many actions each has."""
    require(principal, Permission.INCIDENTS_READ)
    if status is not None and status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    ensure_ready(engine)
    counts = (
        select(incident_actions.c.incident_id, func.count().label("n"))
        .group_by(incident_actions.c.incident_id)
        .subquery()
    )
    query = (
        select(incidents.c.id, incidents.c.playbook, incidents.c.title, incidents.c.status, incidents.c.severity,
               incidents.c.opened_by, incidents.c.opened_at, incidents.c.closed_at, incidents.c.parameters,
               func.coalesce(counts.c.n, 0).label("actions"))
        .select_from(incidents.outerjoin(counts, counts.c.incident_id == incidents.c.id))
        .order_by(incidents.c.id.desc())
    )  # fmt: skip
    if status is not None:
        query = query.where(incidents.c.status == status)
    with engine.connect() as connection:
        return [{**_summary(row), "actions": int(row.actions)} for row in connection.execute(query)]


def get_incident(engine: Engine, principal: Principal, incident_id: int) -> dict[str, Any]:
    """One incident: its summary, the snapshot of the run (as ``principal`` may see it), the actions in order and
    the checklist.  ``LookupError`` when there is no such incident."""
    require(principal, Permission.INCIDENTS_READ)
    ensure_ready(engine)
    with engine.connect() as connection:
        row = connection.execute(select(incidents).where(incidents.c.id == incident_id)).first()
        if row is None:
            raise LookupError(f"no incident {incident_id}: `wardwatch incident list` shows them")
        actions = [
            {"id": a.id, "at": _when(a.at), "actor": a.actor, "step": a.step, "note": a.note, "done": a.done}
            for a in connection.execute(
                select(incident_actions).where(incident_actions.c.incident_id == incident_id)
                .order_by(incident_actions.c.id)
            )
        ]  # fmt: skip
    snapshot = scoped(orjson.loads(row.snapshot), principal)
    return {**_summary(row), "snapshot": snapshot, "actions": actions, "checklist": _checklist(snapshot, actions)}


def _checklist(snapshot: Mapping[str, Any], actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for action in actions:
        latest[action["step"]] = action
    items = [{"id": s["id"], "kind": "step", "phase": s["phase"], "who": s["who"], "text": s["text"]}
             for s in snapshot.get("steps", [])]  # fmt: skip
    named = {item["id"] for item in items}
    items += [{"id": s["id"], "kind": "isolation", "phase": "contain", "who": "itsec", "text": s["action"]}
              for s in snapshot.get("isolation", []) if s["id"] not in named]  # fmt: skip
    for item in items:
        last = latest.get(item["id"])
        item.update(done=bool(last and last["done"]), by=last["actor"] if last else None,
                    at=last["at"] if last else None, note=last["note"] if last else None)  # fmt: skip
    return items


def _check_open(engine: Engine, incident_id: int) -> str:
    with engine.connect() as connection:
        status = connection.execute(select(incidents.c.status).where(incidents.c.id == incident_id)).scalar()
    if status is None:
        raise LookupError(f"no incident {incident_id}: `wardwatch incident list` shows them")
    if status == "closed":
        raise IncidentClosed(f"incident {incident_id} is closed: it takes no more actions")
    return str(status)


def log_action(
    engine: Engine,
    principal: Principal,
    incident_id: int,
    step: str,
    note: str,
    *,
    done: bool = False,
    contained: bool = False,
    address: str | None = None,
) -> dict[str, Any]:
    """Record what was done for a step (a playbook or isolation step id, or free text); ``contained`` marks the
    incident contained.  Audited; returns the incident."""
    require(principal, Permission.INCIDENTS_WRITE)
    ensure_ready(engine)
    step, note = step.strip(), note.strip()
    if not step:
        raise ValueError("give the step: a playbook step id (e.g. block-445) or what was done in a few words")
    if len(step) > _MAX_STEP or len(note) > _MAX_NOTE:
        raise ValueError(f"the step is at most {_MAX_STEP} and the note at most {_MAX_NOTE} characters")
    status = _check_open(engine, incident_id)
    with engine.begin() as connection:
        connection.execute(insert(incident_actions).values(
            incident_id=incident_id, at=datetime.now(UTC), actor=principal.username, step=step, note=note, done=done,
        ))  # fmt: skip
        if contained and status == "open":
            connection.execute(update(incidents).where(incidents.c.id == incident_id).values(status="contained"))
        audit.record(connection, principal.username, "incidents.action", target=f"incident {incident_id}",
                     detail={"step": step, "done": done, "contained": contained}, address=address)  # fmt: skip
    return get_incident(engine, principal, incident_id)


def close_incident(
    engine: Engine, principal: Principal, incident_id: int, *, note: str = "", address: str | None = None
) -> dict[str, Any]:
    """Close an incident (an action ``close`` records who and why); audited.  :class:`IncidentClosed` when it is
    closed already."""
    require(principal, Permission.INCIDENTS_WRITE)
    ensure_ready(engine)
    if len(note) > _MAX_NOTE:
        raise ValueError(f"the note is at most {_MAX_NOTE} characters")
    _check_open(engine, incident_id)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        changed = connection.execute(
            update(incidents).where(incidents.c.id == incident_id, incidents.c.status != "closed")
            .values(status="closed", closed_at=now)
        ).rowcount  # fmt: skip
        if not changed:
            raise IncidentClosed(f"incident {incident_id} is closed already")
        connection.execute(insert(incident_actions).values(
            incident_id=incident_id, at=now, actor=principal.username, step="close", note=note.strip() or "closed",
            done=True,
        ))  # fmt: skip
        audit.record(connection, principal.username, "incidents.close", target=f"incident {incident_id}",
                     detail={"note": note.strip()[:500]}, address=address)  # fmt: skip
    return get_incident(engine, principal, incident_id)
