"""The remediation workflow on the database: work items from findings, their steps, manufacturer validations,
maintenance windows, patch plans and the programme's figures (SLA compliance, mean time to remediate).

Every change checks the principal's role through :func:`wardwatch.domain.remediation.check_transition` (or the
permission of the action) before anything is written, and writes the item, its event and the audit entry in one
transaction, so a refused or failed step leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

import orjson
import yaml
from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from wardwatch.domain.permissions import Permission, Principal, Role, require
from wardwatch.domain.remediation import (
    CLOSED,
    CONTROLS,
    RoleRefused,
    Sla,
    State,
    TransitionRefused,
    allowed_next,
    batches,
    check_transition,
    item_key,
    mean_time_to_remediate,
)
from wardwatch.services import audit
from wardwatch.services.risk import rescore
from wardwatch.services.risk_policy import load_policy
from wardwatch.store.database import ensure_ready
from wardwatch.store.inventory import aware
from wardwatch.store.schema import (
    conversations,
    devices,
    maintenance_windows,
    manufacturer_validations,
    remediation_events,
    remediation_items,
    risk_acceptances,
    risk_explanations,
    risk_scores,
    units,
    vulnerability_findings,
)

__all__ = [
    "ItemNotFound",
    "RemediationError",
    "add_window",
    "advance",
    "figures",
    "get_item",
    "items_for_device",
    "list_items",
    "list_validations",
    "list_windows",
    "load_sla",
    "metrics",
    "plan",
    "record_validation",
    "sign_off",
    "sync",
]

_PRIORITY_RANK = {"defer": 0, "scheduled": 1, "out-of-cycle": 2, "immediate": 3}
_VALIDATION_STATUSES = ("validated", "not-validated", "rejected")
_MAX_TEXT = 2000


class RemediationError(ValueError):
    """A step cannot be taken as asked: the message says what is missing or wrong and what to do."""


class ItemNotFound(LookupError):
    """No work item (or one the principal may not see) has this id."""


def load_sla() -> Sla:
    """The SLA policy packaged in ``data/remediation/sla.yaml``."""
    text = resources.files("wardwatch.data").joinpath("remediation/sla.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    hours = {str(k): (None if v is None else float(v)) for k, v in data["hours"].items()}
    return Sla(hours, str(data.get("version", "")))


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _text(value: str | None, what: str, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise RemediationError(f"{what} is required")
    if len(text) > _MAX_TEXT:
        raise RemediationError(f"{what} is longer than {_MAX_TEXT} characters; shorten it")
    return text


# -- work items from findings ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Group:
    manufacturer: str
    model: str
    vulnerability: str
    device_ids: list[int]
    priority: str = "scheduled"


def _finding_priorities(connection: Connection) -> dict[tuple[int, str], str]:
    """(device, vulnerability) -> SSVC priority from each device's stored risk explanation (its worst findings)."""
    out: dict[tuple[int, str], str] = {}
    by_explanation: dict[int, list[int]] = {}
    for device_id, explanation_id in connection.execute(select(risk_scores.c.device_id, risk_scores.c.explanation_id)):
        by_explanation.setdefault(explanation_id, []).append(device_id)
    if not by_explanation:
        return out
    rows = connection.execute(
        select(risk_explanations.c.id, risk_explanations.c.explanation).where(
            risk_explanations.c.id.in_(list(by_explanation))
        )
    )
    for explanation_id, text in rows:
        for finding in orjson.loads(text).get("finding_list", []):
            vulnerability, priority = finding.get("vulnerability"), finding.get("ssvc")
            if vulnerability and priority in _PRIORITY_RANK:
                for device_id in by_explanation[explanation_id]:
                    out[(device_id, vulnerability)] = priority
    return out


def sync(engine: Engine, principal: Principal, *, now: datetime | None = None) -> dict[str, int]:
    """Create a work item for every (device model, vulnerability) with open findings (per device when the model is
    unknown) and refresh the device counts and priorities of the existing ones; idempotent.  Due dates are set when
    an item is created (a later, higher priority brings its due date forward, never back)."""
    require(principal, Permission.REMEDIATION_TRIAGE)
    ensure_ready(engine)
    moment, sla = _now(now), load_sla()
    f, d = vulnerability_findings.c, devices.c
    query = (
        select(f.device_id, f.vulnerability_id, d.manufacturer, d.model)
        .join(devices, devices.c.id == f.device_id)
        .where(f.suppressed.is_(False), f.resolved_at.is_(None))
        .distinct()
    )
    created = updated = 0
    with engine.begin() as connection:
        priorities = _finding_priorities(connection)
        groups: dict[str, _Group] = {}
        for device_id, vulnerability, manufacturer, model in connection.execute(query):
            maker, name = (manufacturer or "").strip(), (model or "").strip()
            key = item_key(vulnerability, maker, name, device_id)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(maker, name, vulnerability, [])
            group.device_ids.append(device_id)
            found = priorities.get((device_id, vulnerability), "scheduled")
            if _PRIORITY_RANK[found] > _PRIORITY_RANK[group.priority]:
                group.priority = found
        existing = {
            row.key: row
            for row in connection.execute(
                select(remediation_items.c.id, remediation_items.c.key, remediation_items.c.devices,
                       remediation_items.c.priority, remediation_items.c.opened_at, remediation_items.c.due_at)
            )
        }  # fmt: skip
        for key, group in groups.items():
            row = existing.get(key)
            count = len(set(group.device_ids))
            if row is None:
                title = (f"{group.vulnerability} on {group.manufacturer} {group.model}" if group.manufacturer
                         else f"{group.vulnerability} on device #{group.device_ids[0]}")  # fmt: skip
                connection.execute(insert(remediation_items).values(
                    key=key, scope="model" if group.manufacturer and group.model else "device",
                    manufacturer=group.manufacturer, model=group.model,
                    device_id=None if group.manufacturer and group.model else group.device_ids[0],
                    vulnerability_id=group.vulnerability, title=title[:500], devices=count,
                    state=State.OPEN.value, priority=group.priority, opened_at=moment,
                    due_at=sla.due(group.priority, moment), updated_at=moment,
                ))  # fmt: skip
                created += 1
            elif row.devices != count or row.priority != group.priority:
                values: dict[str, Any] = {"devices": count, "priority": group.priority}
                due = sla.due(group.priority, aware(row.opened_at))
                if due is not None and (row.due_at is None or due < aware(row.due_at)):
                    values["due_at"] = due
                connection.execute(update(remediation_items).where(remediation_items.c.id == row.id).values(**values))
                updated += 1
        for key, row in existing.items():  # no open finding left: no device to patch
            if key not in groups and row.devices:
                connection.execute(update(remediation_items).where(remediation_items.c.id == row.id).values(devices=0))
                updated += 1
        reopened = _reopen_expired(connection, principal, moment, sla)
        if created or updated or reopened:
            audit.record(connection, principal.username, "remediation.sync", detail={"created": created,
                         "updated": updated, "reopened": reopened})  # fmt: skip
    return {"created": created, "updated": updated, "reopened": reopened, "items": len(groups)}


def _reopen_expired(connection: Connection, principal: Principal, moment: datetime, sla: Sla) -> int:
    """Accepted items whose acceptance has expired (or was revoked) are open again, due anew under their SLA."""
    r, a = remediation_items.c, risk_acceptances.c
    rows = connection.execute(
        select(r.id, r.priority, a.expires_on, a.revoked_at)
        .join(risk_acceptances, a.id == r.acceptance_id, isouter=True)
        .where(r.state == State.ACCEPTED.value)
    ).all()
    reopened = 0
    for row in rows:
        if row.revoked_at is not None:
            why = "the risk acceptance was revoked"
        elif row.expires_on is None or row.expires_on <= moment.date():
            why = f"the risk acceptance expired{' on ' + row.expires_on.isoformat() if row.expires_on else ''}"
        else:
            continue
        connection.execute(update(remediation_items).where(r.id == row.id).values(
            state=State.OPEN.value, closed_at=None, updated_at=moment, opened_at=moment,
            due_at=sla.due(row.priority, moment),
        ))  # fmt: skip
        _event(connection, principal, row.id, State.ACCEPTED.value, State.OPEN.value, f"{why}: open again",
               {"expired": True}, moment)  # fmt: skip
        reopened += 1
    return reopened


# -- reading -------------------------------------------------------------------------------------------------------


def _item_devices(connection: Connection, item: Any) -> list[dict[str, Any]]:
    """The devices a work item covers now (those with the open finding), with their unit."""
    f, d = vulnerability_findings.c, devices.c
    query = (
        select(d.id, d.asset_tag, d.device_type, d.software_version, d.firmware_version, units.c.department)
        .join(vulnerability_findings, f.device_id == d.id)
        .outerjoin(units, units.c.id == d.unit_id)
        .where(f.vulnerability_id == item.vulnerability_id, f.suppressed.is_(False), f.resolved_at.is_(None))
        .distinct()
        .order_by(d.id)
    )
    if item.scope == "model":
        query = query.where(d.manufacturer == item.manufacturer, d.model == item.model)
    else:
        query = query.where(d.id == item.device_id)
    return [
        {"id": r.id, "name": r.asset_tag or f"#{r.id}", "asset_tag": r.asset_tag, "type": r.device_type,
         "version": r.software_version or r.firmware_version, "unit": r.department}
        for r in connection.execute(query)
    ]  # fmt: skip


def _unit_item_ids(connection: Connection, unit: str) -> set[int]:
    """Items with at least one device of ``unit`` that has the item's open finding (what a clinician sees), in one
    query: the same devices :func:`_item_devices` lists."""
    r, f, d = remediation_items.c, vulnerability_findings.c, devices.c
    covers = or_(
        and_(r.scope == "model", d.manufacturer == r.manufacturer, d.model == r.model),
        and_(r.scope == "device", d.id == r.device_id),
    )
    query = (
        select(r.id).distinct()
        .join(vulnerability_findings, and_(f.vulnerability_id == r.vulnerability_id, f.suppressed.is_(False),
                                           f.resolved_at.is_(None)))
        .join(devices, d.id == f.device_id)
        .join(units, units.c.id == d.unit_id)
        .where(units.c.department == unit, covers)
    )  # fmt: skip
    return {int(i) for i in connection.execute(query).scalars()}


def _row(row: Any, now: datetime) -> dict[str, Any]:
    state = State(row.state)
    due = aware(row.due_at) if row.due_at is not None else None
    return {
        "id": row.id, "title": row.title, "scope": row.scope, "manufacturer": row.manufacturer or None,
        "model": row.model or None, "vulnerability": row.vulnerability_id, "devices": row.devices,
        "state": state.value, "priority": row.priority, "opened_at": aware(row.opened_at), "due_at": due,
        "overdue": Sla.overdue(due, state, now), "closed_at": aware(row.closed_at) if row.closed_at else None,
        "assignee": row.assignee, "fix": row.fix,
        "scheduled_for": aware(row.scheduled_for) if row.scheduled_for else None,
        "controls": orjson.loads(row.controls) if row.controls else [],
    }  # fmt: skip


def list_items(
    engine: Engine,
    principal: Principal,
    *,
    state: str | None = None,
    overdue: bool = False,
    open_only: bool = False,
    unit: str | None = None,
    search: str | None = None,
    limit: int = 500,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Work items, most urgent first (overdue, then priority, then due date); a clinician sees their unit's.
    ``unit`` keeps the items with a device of that unit, ``search`` those whose title (vulnerability, manufacturer,
    model) contains the words."""
    require(principal, Permission.REMEDIATION_READ)
    ensure_ready(engine)
    moment = _now(now)
    if state is not None and state not in {s.value for s in State}:
        raise RemediationError(f"unknown state {state!r}; states: {', '.join(s.value for s in State)}")
    query = select(remediation_items)
    if state is not None:
        query = query.where(remediation_items.c.state == state)
    if open_only:
        query = query.where(remediation_items.c.state.not_in([s.value for s in CLOSED]))
    for word in (search or "").split()[:10]:
        query = query.where(remediation_items.c.title.ilike(f"%{_escape_like(word[:100])}%", escape="\\"))
    with engine.connect() as connection:
        rows = [_row(r, moment) for r in connection.execute(query)]
        for scope in (principal.unit if principal.unit_scoped else None, unit):
            if scope is not None:
                mine = _unit_item_ids(connection, scope)
                rows = [r for r in rows if r["id"] in mine]
    if overdue:
        rows = [r for r in rows if r["overdue"]]
    far = datetime.max.replace(tzinfo=UTC)
    rows.sort(key=lambda r: (not r["overdue"], r["state"] in {s.value for s in CLOSED},
                             -_PRIORITY_RANK.get(r["priority"], 0), r["due_at"] or far, r["id"]))  # fmt: skip
    return rows[:limit]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _load(connection: Connection, item_id: int) -> Any:
    row = connection.execute(select(remediation_items).where(remediation_items.c.id == item_id)).first()
    if row is None:
        raise ItemNotFound(f"no remediation item #{item_id}; `wardwatch remediation list` shows them")
    return row


def get_item(engine: Engine, principal: Principal, item_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """One item with its devices, history, the manufacturer validations of its model and what the principal may
    do next."""
    require(principal, Permission.REMEDIATION_READ)
    ensure_ready(engine)
    moment = _now(now)
    with engine.connect() as connection:
        row = _load(connection, item_id)
        item_devices = _item_devices(connection, row)
        if principal.unit_scoped and not any(dev["unit"] == principal.unit for dev in item_devices):
            raise ItemNotFound(f"no remediation item #{item_id} for unit {principal.unit}")
        events = _events(connection, [item_id]).get(item_id, [])
        validations = _validations(connection, row.manufacturer, row.model) if row.scope == "model" else []
    out = _row(row, moment)
    state = State(row.state)
    out.update(
        devices_list=item_devices, events=events, validations=validations,
        signed_off=_signed_off(events), units=sorted({d["unit"] for d in item_devices if d["unit"]}),
        next=[{"to": t.target.value, "requires": t.requires} for t in allowed_next(principal, state)],
        may_sign_off=state is State.SCHEDULED and _may_sign_off(principal, item_devices),
    )  # fmt: skip
    return out


def _events(connection: Connection, item_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The steps of these items, oldest first, by item."""
    out: dict[int, list[dict[str, Any]]] = {}
    if not item_ids:
        return out
    c = remediation_events.c
    for e in connection.execute(select(remediation_events).where(c.item_id.in_(list(item_ids))).order_by(c.id)):
        out.setdefault(e.item_id, []).append({
            "at": aware(e.at), "actor": e.actor, "role": e.role, "from": e.from_state, "to": e.to_state,
            "note": e.note, "detail": orjson.loads(e.detail) if e.detail else None,
        })  # fmt: skip
    return out


def _signed_off(events: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The sign-off in force: the last one recorded since the item was last scheduled."""
    found: dict[str, Any] | None = None
    for event in events:
        if event["to"] == State.SCHEDULED.value and event["from"] != State.SCHEDULED.value:
            found = None  # a new schedule needs a new sign-off
        detail = event.get("detail") or {}
        if detail.get("signoff"):
            found = {"by": event["actor"], "at": event["at"], "note": event["note"]}
    return found


def _may_sign_off(principal: Principal, item_devices: Sequence[dict[str, Any]]) -> bool:
    if Permission.REMEDIATION_SIGNOFF not in principal.permissions:
        return False
    return principal.role is not Role.CLINICIAN or any(d["unit"] == principal.unit for d in item_devices)


def items_for_device(engine: Engine, principal: Principal, device_id: int) -> list[dict[str, Any]]:
    """The work items that cover one device (its model's items for the vulnerabilities it has, or its own), each
    with its steps: the device page's remediation history.  Empty without ``remediation:read``."""
    if Permission.REMEDIATION_READ not in principal.permissions:
        return []
    ensure_ready(engine)
    moment, r, f = _now(None), remediation_items.c, vulnerability_findings.c
    with engine.connect() as connection:
        device = connection.execute(
            select(devices.c.manufacturer, devices.c.model).where(devices.c.id == device_id)
        ).first()
        if device is None:
            return []
        mine = select(f.vulnerability_id).where(f.device_id == device_id)
        query = select(remediation_items).where(
            (r.device_id == device_id)
            | ((r.scope == "model") & (r.manufacturer == (device.manufacturer or "").strip())
               & (r.model == (device.model or "").strip()) & r.vulnerability_id.in_(mine))
        ).order_by(r.id)  # fmt: skip
        rows = list(connection.execute(query))
        events = _events(connection, [row.id for row in rows])
    return [{**_row(row, moment), "events": events.get(row.id, [])} for row in rows]


# -- steps ---------------------------------------------------------------------------------------------------------


def _event(connection: Connection, principal: Principal, item_id: int, source: str | None, target: str, note: str,
           detail: dict[str, Any] | None, moment: datetime) -> None:  # fmt: skip
    connection.execute(insert(remediation_events).values(
        item_id=item_id, at=moment, actor=principal.username, role=principal.role.value, from_state=source,
        to_state=target, note=note, detail=orjson.dumps(detail).decode() if detail else None,
    ))  # fmt: skip


def advance(
    engine: Engine,
    principal: Principal,
    item_id: int,
    target: str,
    *,
    note: str = "",
    fix: str | None = None,
    scheduled_for: datetime | None = None,
    controls: Sequence[str] = (),
    justification: str | None = None,
    expires_on: date | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move an item to ``target`` if the principal's role may and what the step needs is given (see
    :data:`wardwatch.domain.remediation.TRANSITIONS`); raise :class:`TransitionRefused` or
    :class:`RemediationError` otherwise, with nothing written.  Returns the item as :func:`get_item` does."""
    ensure_ready(engine)
    moment = _now(now)
    try:
        wanted = State(target)
    except ValueError:
        raise RemediationError(f"unknown state {target!r}; states: {', '.join(s.value for s in State)}") from None
    note = _text(note, "the note")
    acceptance_ids: list[int] = []
    with engine.begin() as connection:
        row = _load(connection, item_id)
        current = State(row.state)
        try:
            step = check_transition(principal, current, wanted)
        except TransitionRefused as refused:
            audit.record_now(engine, principal.username, "remediation.advance", target=f"item {item_id}",
                             outcome="denied", detail={"from": current.value, "to": wanted.value,
                                                       "why": str(refused)})  # fmt: skip
            raise
        values: dict[str, Any] = {"state": wanted.value, "updated_at": moment}
        detail: dict[str, Any] = {}
        if step.requires == "fix":
            chosen = _text(fix or row.fix, "--fix (the patch or version the manufacturer must validate)",
                           required=True)  # fmt: skip
            values["fix"] = detail["fix"] = chosen
        elif step.requires == "validation":
            validation = _validated(connection, row)
            values["validation_id"] = validation["id"]
            detail["validation"] = validation
        elif step.requires == "schedule":
            if scheduled_for is None:
                raise RemediationError("scheduling needs --date (when the patch is applied)")
            if scheduled_for.tzinfo is None:
                scheduled_for = scheduled_for.replace(tzinfo=UTC)
            values["scheduled_for"] = scheduled_for
            detail["scheduled_for"] = scheduled_for.isoformat()
        elif step.requires == "signoff":
            signed = _signed_off(_events(connection, [item_id]).get(item_id, []))
            if signed is None:
                raise RemediationError(
                    "the patch needs the clinical downtime signed off by a clinician of the unit first "
                    "(`wardwatch remediation sign-off`, or the Sign off button on the item's page)"
                )
            detail["signed_off_by"] = signed["by"]
        elif step.requires == "controls":
            chosen_controls = [c.strip() for c in controls if c.strip()]
            unknown = [c for c in chosen_controls if c not in CONTROLS]
            if not chosen_controls or unknown:
                raise RemediationError(f"mitigating needs --control, one or more of {', '.join(CONTROLS)}"
                                       + (f" (unknown: {', '.join(unknown)})" if unknown else ""))  # fmt: skip
            values["controls"] = orjson.dumps(chosen_controls).decode()
            detail["controls"] = chosen_controls
        elif step.requires == "acceptance":
            why = _text(justification, "--justification", required=True)
            if expires_on is None or expires_on <= moment.date():
                raise RemediationError("accepting a risk needs --expires, a date in the future")
            known = load_policy().controls
            kept = [c for c in controls if c in known]
            acceptance_ids.extend(
                int(connection.execute(insert(risk_acceptances).values(
                    device_id=dev["id"], vulnerability_id=row.vulnerability_id, approver=principal.username,
                    justification=why, controls=orjson.dumps(kept).decode(), expires_on=expires_on,
                    created_at=moment,
                ).returning(risk_acceptances.c.id)).scalar_one())
                for dev in _item_devices(connection, row)
            )  # fmt: skip
            values["acceptance_id"] = acceptance_ids[0] if acceptance_ids else None
            detail.update(justification=why, expires_on=expires_on.isoformat(), acceptances=len(acceptance_ids))
        if wanted in CLOSED:
            values["closed_at"] = moment
        elif current in CLOSED:
            values["closed_at"] = None
        if wanted is State.TRIAGED and not row.assignee:
            values["assignee"] = principal.username
        connection.execute(update(remediation_items).where(remediation_items.c.id == item_id).values(**values))
        _event(connection, principal, item_id, current.value, wanted.value, note, detail or None, moment)
        audit.record(connection, principal.username, "remediation.advance", target=f"item {item_id}",
                     detail={"from": current.value, "to": wanted.value, **detail})  # fmt: skip
    if acceptance_ids:  # the accepted findings no longer count in the devices' risk
        rescore(engine, sorted(set(_acceptance_devices(engine, acceptance_ids))))
    return get_item(engine, principal, item_id, now=now)


def _acceptance_devices(engine: Engine, ids: Sequence[int]) -> list[int]:
    with engine.connect() as connection:
        return [int(i) for i in connection.execute(
            select(risk_acceptances.c.device_id).where(risk_acceptances.c.id.in_(list(ids)))
        ).scalars()]  # fmt: skip


def _validated(connection: Connection, row: Any) -> dict[str, Any]:
    if row.scope != "model" or not row.fix:
        raise RemediationError("approval needs the item's fix and its model (a device-scoped item has no model)")
    found = connection.execute(
        select(manufacturer_validations).where(
            manufacturer_validations.c.manufacturer == row.manufacturer,
            manufacturer_validations.c.model == row.model, manufacturer_validations.c.fix == row.fix,
        )
    ).first()  # fmt: skip
    if found is None or found.status != "validated":
        state = "no validation is recorded" if found is None else f"the manufacturer's answer is {found.status}"
        raise RemediationError(
            f"{row.manufacturer} {row.model} {row.fix}: {state}; record the manufacturer's validation first "
            "(`wardwatch remediation validate`)"
        )
    return {"id": found.id, "fix": found.fix, "document": found.document, "recorded_by": found.recorded_by}


def sign_off(engine: Engine, principal: Principal, item_id: int, note: str, *, now: datetime | None = None) -> None:
    """A clinician of the unit signs off the clinical downtime of a scheduled patch."""
    require(principal, Permission.REMEDIATION_SIGNOFF)
    ensure_ready(engine)
    moment = _now(now)
    note = _text(note, "the note (what the unit arranged for the downtime)", required=True)
    with engine.begin() as connection:
        row = _load(connection, item_id)
        if row.state != State.SCHEDULED.value:
            raise RemediationError(f"only a scheduled item can be signed off; #{item_id} is {row.state}")
        if not _may_sign_off(principal, _item_devices(connection, row)):
            raise RoleRefused(f"{principal.username} is a clinician of {principal.unit}, and item #{item_id} "
                                    "has no device in that unit")  # fmt: skip
        _event(connection, principal, item_id, row.state, row.state, note, {"signoff": True}, moment)
        audit.record(connection, principal.username, "remediation.signoff", target=f"item {item_id}",
                     detail={"note": note})  # fmt: skip


# -- manufacturer validations, windows, plans ----------------------------------------------------------------------


def _validations(connection: Connection, manufacturer: str | None, model: str | None) -> list[dict[str, Any]]:
    query = select(manufacturer_validations).order_by(manufacturer_validations.c.recorded_at.desc())
    if manufacturer:
        query = query.where(manufacturer_validations.c.manufacturer == manufacturer)
    if model:
        query = query.where(manufacturer_validations.c.model == model)
    return [
        {"id": v.id, "manufacturer": v.manufacturer, "model": v.model, "fix": v.fix, "status": v.status,
         "document": v.document, "note": v.note, "recorded_by": v.recorded_by, "recorded_at": aware(v.recorded_at)}
        for v in connection.execute(query)
    ]  # fmt: skip


def record_validation(
    engine: Engine, principal: Principal, manufacturer: str, model: str, fix: str, status: str, document: str,
    note: str = "", *, now: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Record (or correct) what a manufacturer said of a fix for one model, with the source document."""
    require(principal, Permission.REMEDIATION_TRIAGE)
    ensure_ready(engine)
    if status not in _VALIDATION_STATUSES:
        raise RemediationError(f"status {status!r}; write one of {', '.join(_VALIDATION_STATUSES)}")
    maker, name = (
        _text(manufacturer, "--manufacturer", required=True)[:200],
        _text(model, "--model", required=True)[:200],
    )
    values = {"manufacturer": maker,
              "model": name, "fix": _text(fix, "--fix", required=True)[:200],
              "status": status, "document": _text(document, "--document (the bulletin, letter or URL)", required=True),
              "note": _text(note, "--note"), "recorded_by": principal.username, "recorded_at": _now(now)}  # fmt: skip
    v = manufacturer_validations.c
    with engine.begin() as connection:
        existing = connection.execute(
            select(v.id).where(v.manufacturer == maker, v.model == name, v.fix == values["fix"])
        ).first()
        if existing is None:
            connection.execute(insert(manufacturer_validations).values(**values))
        else:
            connection.execute(update(manufacturer_validations).where(v.id == existing.id).values(**values))
        audit.record(connection, principal.username, "remediation.validation",
                     target=f"{values['manufacturer']} {values['model']} {values['fix']}",
                     detail={"status": status, "document": values["document"]})  # fmt: skip
        return _validations(connection, maker, name)[0]


def list_validations(engine: Engine, principal: Principal, manufacturer: str | None = None,
                     model: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Recorded manufacturer validations, newest first."""
    require(principal, Permission.REMEDIATION_READ)
    ensure_ready(engine)
    with engine.connect() as connection:
        return _validations(connection, manufacturer, model)


def add_window(engine: Engine, principal: Principal, unit: str, starts_at: datetime, ends_at: datetime,
               note: str = "", *, now: datetime | None = None) -> int:  # fmt: skip
    """Record a maintenance window of a unit (when it can spare devices)."""
    require(principal, Permission.REMEDIATION_TRIAGE)
    ensure_ready(engine)
    starts_at, ends_at = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (starts_at, ends_at))
    if ends_at <= starts_at:
        raise RemediationError("a maintenance window must end after it starts")
    with engine.begin() as connection:
        new_id = connection.execute(insert(maintenance_windows).values(
            unit=_text(unit, "--unit", required=True)[:200], starts_at=starts_at, ends_at=ends_at,
            note=_text(note, "--note"), created_by=principal.username, created_at=_now(now),
        ).returning(maintenance_windows.c.id)).scalar_one()  # fmt: skip
        audit.record(connection, principal.username, "remediation.window", target=unit,
                     detail={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})  # fmt: skip
    return int(new_id)


def list_windows(engine: Engine, principal: Principal, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Maintenance windows that have not ended, soonest first."""
    require(principal, Permission.REMEDIATION_READ)
    ensure_ready(engine)
    w = maintenance_windows.c
    with engine.connect() as connection:
        return [
            {"id": r.id, "unit": r.unit, "starts_at": aware(r.starts_at), "ends_at": aware(r.ends_at), "note": r.note}
            for r in connection.execute(select(maintenance_windows).where(w.ends_at > _now(now)).order_by(w.starts_at))
        ]  # fmt: skip


def plan(engine: Engine, principal: Principal, item_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """Patch rounds for an item: per unit, never all devices of one clinical function (device type) down at once,
    devices idle in the traffic baseline first, each round in the unit's next free maintenance window."""
    item = get_item(engine, principal, item_id, now=now)
    moment = _now(now)
    targets = item["devices_list"]
    ids = [d["id"] for d in targets]
    with engine.connect() as connection:
        in_service: dict[tuple[str, str], int] = {}
        unit_types = {(d["unit"] or "(no unit)", d["type"] or "device") for d in targets}
        counts = connection.execute(
            select(units.c.department, devices.c.device_type, func.count())
            .select_from(devices).outerjoin(units, units.c.id == devices.c.unit_id)
            .group_by(units.c.department, devices.c.device_type)
        )  # fmt: skip
        for unit, device_type, count in counts:
            key = (unit or "(no unit)", device_type or "device")
            if key in unit_types:
                in_service[key] = int(count)
        since = moment - timedelta(days=1)
        busy = set(connection.execute(
            select(conversations.c.client_device_id).where(conversations.c.client_device_id.in_(ids),
                                                           conversations.c.last_seen >= since)
        ).scalars()) if ids else set()  # fmt: skip
        windows: dict[str, list[Any]] = {}
        for w in connection.execute(select(maintenance_windows).where(maintenance_windows.c.ends_at > moment)
                                    .order_by(maintenance_windows.c.starts_at)):  # fmt: skip
            windows.setdefault(w.unit, []).append(w)
    ordered = sorted(targets, key=lambda d: (d["id"] in busy, d["id"]))
    rounds = batches([(d["id"], d["unit"] or "(no unit)", d["type"] or "device") for d in ordered], in_service)
    by_id = {d["id"]: d for d in targets}
    used: dict[str, int] = {}
    out_rounds = []
    for number, members in enumerate(rounds, start=1):
        per_unit: dict[str, list[dict[str, Any]]] = {}
        for device_id in members:
            dev = by_id[device_id]
            per_unit.setdefault(dev["unit"] or "(no unit)", []).append(
                {**dev, "idle": device_id not in busy,
                 "alone": in_service.get((dev["unit"] or "(no unit)", dev["type"] or "device"), 1) <= 1}
            )  # fmt: skip
        slots = []
        for unit, members_of_unit in sorted(per_unit.items()):
            k = used.get(unit, 0)
            free = windows.get(unit, [])
            window = free[k] if k < len(free) else None
            used[unit] = k + 1
            when = None
            if window is not None:
                when = {"starts_at": aware(window.starts_at), "ends_at": aware(window.ends_at), "note": window.note}
            slots.append({"unit": unit, "devices": members_of_unit, "window": when})
        out_rounds.append({"round": number, "units": slots})
    return {"item": item_id, "rounds": out_rounds, "devices": len(targets)}


# -- the programme's figures ---------------------------------------------------------------------------------------


def metrics(engine: Engine, principal: Principal, *, now: datetime | None = None) -> dict[str, Any]:
    """Counts by state, overdue items, SLA compliance of closed items, mean time to remediate."""
    require(principal, Permission.REMEDIATION_READ)
    ensure_ready(engine)
    with engine.connect() as connection:
        return figures(connection, now=now)


def figures(connection: Connection, *, now: datetime | None = None) -> dict[str, Any]:
    """:func:`metrics` inside a caller's connection (the dashboards and the board report check the permission)."""
    moment = _now(now)
    r = remediation_items.c
    by_state = dict.fromkeys((s.value for s in State), 0)
    overdue = closed = closed_in_time = 0
    spans: list[tuple[datetime, datetime]] = []
    for row in connection.execute(select(r.state, r.opened_at, r.due_at, r.closed_at)):
        state = State(row.state)
        by_state[state.value] += 1
        due = aware(row.due_at) if row.due_at is not None else None
        if Sla.overdue(due, state, moment):
            overdue += 1
        if state in CLOSED and row.closed_at is not None:
            closed += 1
            finished = aware(row.closed_at)
            closed_in_time += due is None or finished <= due
            spans.append((aware(row.opened_at), finished))
    mttr = mean_time_to_remediate(spans)
    return {
        "by_state": by_state, "open": sum(n for s, n in by_state.items() if State(s) not in CLOSED),
        "overdue": overdue, "closed": closed,
        "sla_compliance": None if not closed else round(closed_in_time / closed, 3),
        "mean_time_to_remediate_days": None if mttr is None else round(mttr.total_seconds() / 86400, 1),
        "sla": load_sla().hours,
    }  # fmt: skip
