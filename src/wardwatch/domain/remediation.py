"""The remediation workflow: work items, their states, who may move them, and their SLAs.

A work item covers one vulnerability on one device model (all the devices of that manufacturer and model that
have it) or, when the model is unknown, on one device.  It moves through the states a hospital's process runs:

    open → triaged → awaiting-validation → approved → scheduled → applied → verified
                 ↘ mitigated (compensating controls: isolation, ACL, disabled service, monitoring)
                 ↘ accepted  (risk accepted by compliance or an executive, with justification and expiry)

Each step is allowed only to the role whose job it is (:data:`TRANSITIONS`): biomed triages, records the
manufacturer's validation and schedules, applies and verifies the patch; IT security applies network mitigations;
a clinician of the unit signs off the downtime before a patch is applied; compliance or an executive accepts a
risk.  The services check :func:`check_transition` before they write anything, so the UI, the API and the CLI
refuse the same way.

SLAs come from the SSVC priority (policy data, ``data/remediation/sla.yaml``): an item is due ``opened + SLA`` and
overdue after that while it is still open.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from wardwatch.domain.permissions import Permission, PermissionDenied, Principal, allows

__all__ = [
    "CLOSED",
    "CONTROLS",
    "TRANSITIONS",
    "Sla",
    "State",
    "RoleRefused",
    "Transition",
    "TransitionRefused",
    "allowed_next",
    "batches",
    "check_transition",
    "item_key",
    "mean_time_to_remediate",
]


class State(StrEnum):
    """The states of a work item."""

    OPEN = "open"
    TRIAGED = "triaged"
    AWAITING_VALIDATION = "awaiting-validation"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    APPLIED = "applied"
    VERIFIED = "verified"
    MITIGATED = "mitigated"
    ACCEPTED = "accepted"


#: States in which the item needs no more work (its clock stops).
CLOSED: frozenset[State] = frozenset({State.VERIFIED, State.MITIGATED, State.ACCEPTED})

#: Compensating controls IT security can record when an item is mitigated.
CONTROLS: tuple[str, ...] = ("isolation", "acl", "disable-service", "monitoring")

_WORKING = (State.OPEN, State.TRIAGED, State.AWAITING_VALIDATION, State.APPROVED, State.SCHEDULED)
_P = Permission


@dataclass(frozen=True, slots=True)
class Transition:
    """One allowed step: from a state to another, by whoever holds ``permission``, needing ``requires``."""

    source: State
    target: State
    permission: Permission
    requires: str = ""
    """What the step must record: ``validation`` (a manufacturer validation of the fix, status validated),
    ``schedule`` (a date, and a clinician's sign-off before it is applied), ``signoff`` (a clinician signed off the
    downtime), ``controls`` (at least one compensating control), ``acceptance`` (approver, justification, expiry)."""


#: Every allowed step.  Reopening (any closed state back to ``open``) happens when an acceptance expires or a
#: verified fix turns out not to hold: :data:`State.OPEN` is reachable from the closed states by biomed.
TRANSITIONS: tuple[Transition, ...] = (
    Transition(State.OPEN, State.TRIAGED, _P.REMEDIATION_TRIAGE),
    Transition(State.TRIAGED, State.AWAITING_VALIDATION, _P.REMEDIATION_TRIAGE, "fix"),
    Transition(State.AWAITING_VALIDATION, State.APPROVED, _P.REMEDIATION_TRIAGE, "validation"),
    Transition(State.APPROVED, State.SCHEDULED, _P.REMEDIATION_TRIAGE, "schedule"),
    Transition(State.SCHEDULED, State.APPLIED, _P.REMEDIATION_TRIAGE, "signoff"),
    Transition(State.APPLIED, State.VERIFIED, _P.REMEDIATION_TRIAGE),
    Transition(State.MITIGATED, State.AWAITING_VALIDATION, _P.REMEDIATION_TRIAGE, "fix"),
    *(Transition(s, State.MITIGATED, _P.REMEDIATION_MITIGATE, "controls") for s in _WORKING),
    *(Transition(s, State.ACCEPTED, _P.REMEDIATION_ACCEPT, "acceptance") for s in (*_WORKING, State.MITIGATED)),
    *(Transition(s, State.OPEN, _P.REMEDIATION_TRIAGE) for s in (State.VERIFIED, State.ACCEPTED, State.APPLIED)),
)

_BY_PAIR: dict[tuple[State, State], Transition] = {(t.source, t.target): t for t in TRANSITIONS}


class TransitionRefused(Exception):
    """The step does not follow from the item's state (the message names the states that can follow)."""


class RoleRefused(TransitionRefused, PermissionDenied):
    """The step is not the principal's to take (the message names the permission and whose job it is)."""


def check_transition(principal: Principal, source: State, target: State) -> Transition:
    """The transition from ``source`` to ``target`` if ``principal`` may take it; else :class:`TransitionRefused`
    naming what is wrong (the states that can follow, or the permission missing)."""
    step = _BY_PAIR.get((source, target))
    if step is None:
        nexts = ", ".join(t.target.value for t in TRANSITIONS if t.source is source) or "none"
        raise TransitionRefused(f"an item that is {source.value} cannot become {target.value} (next: {nexts})")
    if not allows(principal, step.permission):
        raise RoleRefused(
            f"{principal.username} ({principal.role.value}) may not move an item from {source.value} to "
            f"{target.value}: that needs {step.permission.value} ({_WHO[step.permission]})"
        )
    return step


_WHO: Mapping[Permission, str] = {
    _P.REMEDIATION_TRIAGE: "biomedical engineering",
    _P.REMEDIATION_MITIGATE: "IT security",
    _P.REMEDIATION_ACCEPT: "compliance or an executive",
    _P.REMEDIATION_SIGNOFF: "a clinician of the unit",
}


def allowed_next(principal: Principal, source: State) -> list[Transition]:
    """The steps ``principal`` may take from ``source`` (what the UI offers)."""
    return [t for t in TRANSITIONS if t.source is source and allows(principal, t.permission)]


@dataclass(frozen=True, slots=True)
class Sla:
    """How long each SSVC priority may stay open (policy data)."""

    hours: Mapping[str, float | None]
    """SSVC priority (``immediate``, ``out-of-cycle``, ``scheduled``, ``defer``) -> hours; ``None`` = no deadline."""
    version: str = ""

    def due(self, priority: str, opened: datetime) -> datetime | None:
        """When an item of ``priority`` opened at ``opened`` is due; ``None`` without a deadline."""
        hours = self.hours.get(priority)
        return None if hours is None else opened + timedelta(hours=hours)

    @staticmethod
    def overdue(due_at: datetime | None, state: State, now: datetime) -> bool:
        """Past its due time and not closed."""
        return due_at is not None and state not in CLOSED and now > due_at


def item_key(vulnerability: str, manufacturer: str, model: str, device_id: int | None) -> str:
    """The identity of a work item: per model when it is known, else per device."""
    if manufacturer and model:
        return f"model|{manufacturer}|{model}|{vulnerability}"
    return f"device|{device_id}|{vulnerability}"


def mean_time_to_remediate(spans: Iterable[tuple[datetime, datetime]]) -> timedelta | None:
    """The mean of (closed - opened) over closed items; ``None`` when none is closed."""
    total, count = timedelta(), 0
    for opened, closed in spans:
        total += closed - opened
        count += 1
    return total / count if count else None


def batches(devices: Iterable[tuple[int, str, str]], in_service: Mapping[tuple[str, str], int]) -> list[list[int]]:
    """Patch batches that never take all devices of one clinical function of one unit down at once.

    ``devices`` are (device id, unit, function) to patch; ``in_service[(unit, function)]`` how many devices of
    that function the unit has in all (patched or not).  A batch takes at most ``in_service - 1`` devices of a
    (unit, function) (at least one stays in service), and at least one (a unit with a single device of that
    function can only patch it alone, flagged by the caller as needing a loaner).  Batches are filled in the
    order the devices are given (callers put idle devices first)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for device_id, unit, function in devices:
        groups.setdefault((unit, function), []).append(device_id)
    rounds: list[list[int]] = []
    for key, ids in groups.items():
        size = max(1, in_service.get(key, len(ids)) - 1)
        for k in range(0, len(ids), size):
            index = k // size
            while len(rounds) <= index:
                rounds.append([])
            rounds[index].extend(ids[k : k + size])
    return rounds
