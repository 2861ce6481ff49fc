"""Risk acceptances (exceptions with approver, justification, compensating controls and expiry) and the
medical-device rubric answers stored per model and per (model, vulnerability).

Accepting or revoking rescoring the device at once, in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, delete, insert, select, update

from wardwatch.domain.rubric import RubricError, normalise_answers
from wardwatch.services.devices import find_device_id
from wardwatch.services.risk import rescore
from wardwatch.services.risk_inputs import load_acceptances
from wardwatch.services.risk_policy import load_policy
from wardwatch.store.database import ensure_ready
from wardwatch.store.schema import risk_acceptances, rubric_answers

__all__ = ["AcceptanceError", "accept", "list_acceptances", "revoke", "set_rubric_answers"]


class AcceptanceError(LookupError):
    """An acceptance request that cannot be stored; the message says what to change."""


def accept(
    engine: Engine,
    device_ref: str,
    *,
    vulnerability_id: str | None,
    approver: str,
    justification: str,
    controls: Sequence[str],
    expires_on: date,
    today: date | None = None,
) -> int:
    """Store an acceptance of a device (``vulnerability_id`` None) or one of its findings; rescore the device."""
    ensure_ready(engine)
    day = today or datetime.now(UTC).date()
    if not approver.strip() or not justification.strip():
        raise AcceptanceError("an acceptance needs --approver and --justification")
    if expires_on <= day:
        raise AcceptanceError(f"--expires {expires_on.isoformat()} is not in the future; give a later date")
    known = load_policy().controls
    unknown = [c for c in controls if c not in known]
    if unknown:
        raise AcceptanceError(f"unknown control(s) {', '.join(unknown)}; policy controls: {', '.join(sorted(known))}")
    device_id = find_device_id(engine, device_ref)
    with engine.begin() as connection:
        new_id = connection.execute(
            insert(risk_acceptances).values(
                device_id=device_id, vulnerability_id=vulnerability_id, approver=approver.strip(),
                justification=justification.strip(), controls=orjson.dumps(list(controls)).decode(),
                expires_on=expires_on, created_at=datetime.now(UTC),
            ).returning(risk_acceptances.c.id)
        ).scalar_one()  # fmt: skip
    rescore(engine, [device_id], today=day)
    return int(new_id)


def revoke(engine: Engine, acceptance_id: int, *, today: date | None = None) -> None:
    """Revoke an acceptance (kept for the record) and rescore its device."""
    ensure_ready(engine)
    with engine.begin() as connection:
        device_id = connection.execute(
            select(risk_acceptances.c.device_id).where(
                risk_acceptances.c.id == acceptance_id, risk_acceptances.c.revoked_at.is_(None)
            )
        ).scalar()
        if device_id is None:
            raise AcceptanceError(f"no active acceptance has the id {acceptance_id}; see `wardwatch risk acceptances`")
        connection.execute(
            update(risk_acceptances).where(risk_acceptances.c.id == acceptance_id).values(revoked_at=datetime.now(UTC))
        )
    rescore(engine, [int(device_id)], today=today)


def list_acceptances(
    engine: Engine, *, include_revoked: bool = False, today: date | None = None
) -> list[dict[str, Any]]:
    """Every acceptance with its status on ``today``: active, expired (the finding is re-opened) or revoked."""
    ensure_ready(engine)
    day = today or datetime.now(UTC).date()
    with engine.connect() as connection:
        found = load_acceptances(connection, None, include_revoked)
    return [
        {
            "id": a.id,
            "device_id": a.device_id,
            "vulnerability": a.vulnerability_id,
            "scope": "device" if a.vulnerability_id is None else "finding",
            "status": a.status(day),
            "approver": a.approver,
            "justification": a.justification,
            "controls": list(a.controls),
            "expires_on": a.expires_on,
            "created_at": a.created_at,
            "revoked_at": a.revoked_at,
        }  # fmt: skip
        for a in found
    ]


def set_rubric_answers(
    engine: Engine,
    manufacturer: str,
    model: str,
    answers: Mapping[str, str],
    *,
    vulnerability_id: str = "",
    answered_by: str,
) -> dict[str, str]:
    """Store (replace) the rubric answers of a model, or of one vulnerability on it; returns the normalised answers.

    Raises :class:`AcceptanceError` for an unknown question code or answer.
    """
    ensure_ready(engine)
    try:
        normalised = normalise_answers(answers)
    except RubricError as e:
        raise AcceptanceError(str(e)) from e
    r = rubric_answers.c
    with engine.begin() as connection:
        connection.execute(
            delete(rubric_answers).where(
                r.manufacturer == manufacturer, r.model == model, r.vulnerability_id == vulnerability_id
            )
        )
        connection.execute(
            insert(rubric_answers).values(
                manufacturer=manufacturer, model=model, vulnerability_id=vulnerability_id,
                answers=orjson.dumps(normalised).decode(), answered_by=answered_by, answered_at=datetime.now(UTC),
            )
        )  # fmt: skip
    return normalised
