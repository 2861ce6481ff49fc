"""Reconciling a merged source record with what the inventory already holds about a device.

Each kind of source keeps one current fact per attribute; the device's value of an attribute is the winning fact
(:func:`~wardwatch.domain.inventory.resolve` rule: confidence, then recency).  A value that is absent from a
new record is unknown, not deleted: a blank CMMS cell never erases what another import or sensor said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from wardwatch.domain.candidates import CMMS_CONFIDENCE, CandidateGroup, Value
from wardwatch.domain.claims import Claim

__all__ = ["Change", "DevicePlan", "FactWrite", "from_text", "group_claims", "plan_device", "to_text"]

_BOOL_ATTRIBUTES = frozenset({"patient_connected", "handles_phi", "high_risk"})
_DATE_ATTRIBUTES = frozenset({"in_service_date", "end_of_support", "end_of_life"})
_INT_ATTRIBUTES = frozenset({"vlan"})


def to_text(value: Value) -> str:
    """The stored text of a value: ``true``/``false``, ISO dates, decimal integers.

    >>> to_text(True), to_text(date(2019, 3, 4)), to_text(40)
    ('true', '2019-03-04', '40')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def from_text(attribute: str, text: str | None) -> Value | None:
    """The typed value of an attribute from its stored text (inverse of :func:`to_text`).

    >>> from_text("handles_phi", "true"), from_text("vlan", "40"), from_text("model", "Plum 360")
    (True, 40, 'Plum 360')
    """
    if text is None:
        return None
    if attribute in _BOOL_ATTRIBUTES:
        return text == "true"
    if attribute in _DATE_ATTRIBUTES:
        return date.fromisoformat(text)
    if attribute in _INT_ATTRIBUTES:
        return int(text)
    return text


@dataclass(frozen=True, slots=True)
class FactWrite:
    """A fact to insert or replace: (attribute, source kind) gets a new value."""

    attribute: str
    """The attribute."""
    source_kind: str
    """The kind of source (``cmms``, ``derived``...)."""
    value: str
    """Stored text of the new value."""
    confidence: float
    """Confidence."""
    replaces: bool
    """True when a fact of this kind already exists for the attribute (update, not insert)."""


@dataclass(frozen=True, slots=True)
class Change:
    """A change of a device's resolved attribute, for the history."""

    attribute: str
    """The attribute."""
    old: str | None
    """Previous stored text, ``None`` if unknown before."""
    new: str | None
    """New stored text."""


@dataclass(frozen=True, slots=True)
class DevicePlan:
    """What one record changes on one device."""

    facts: tuple[FactWrite, ...]
    """Facts to write."""
    changes: tuple[Change, ...]
    """Resolved attributes that change."""


def group_claims(group: CandidateGroup, site: str | None = None) -> dict[str, dict[str, tuple[str, float]]]:
    """What a merged record claims, by source kind: ``{kind: {attribute: (text, confidence)}}``."""
    derived = group.derived
    values = group.values
    written = {a: (v if type(v) is str else to_text(v), CMMS_CONFIDENCE) for a, v in values.items() if a not in derived}
    if site is not None:
        written["site"] = (site, CMMS_CONFIDENCE)
    claims = {"cmms": written} if written else {}
    if derived:
        claims["derived"] = {
            a: (v if type(v) is str else to_text(v), info[0])
            for a, info in derived.items()
            if (v := values.get(a)) is not None
        }
    return claims


def plan_device(
    current: Mapping[str, str | None],
    claims: Mapping[str, Claim],
    new_claims: Mapping[str, Mapping[str, tuple[str, float]]],
    now: datetime,
) -> DevicePlan:
    """The writes and attribute changes that ``new_claims`` (see :func:`group_claims`) make to a device.

    ``current`` holds the device's resolved attribute texts; ``claims`` its stored claims by source kind.
    Pure: the caller writes the plan.
    """
    writes: list[FactWrite] = []
    changes: list[Change] = []
    for kind, values in new_claims.items():
        own = claims.get(kind)
        for attribute, (text, confidence) in values.items():
            existing = own.values.get(attribute) if own is not None else None
            if existing is None or existing.value != text or existing.confidence != confidence:
                writes.append(FactWrite(attribute, kind, text, confidence, replaces=existing is not None))
            # The winner among this attribute's claims, with the new one in place of its kind's old one.
            best_text, best_rank = text, (confidence, now)
            for other_kind, other in claims.items():
                if other_kind == kind:
                    continue
                claimed = other.values.get(attribute)
                if claimed is None:
                    continue
                rank = (claimed.confidence, other.provenance_of(attribute).observed_at)
                if rank > best_rank:
                    best_text, best_rank = claimed.value, rank
            if current.get(attribute) != best_text:
                changes.append(Change(attribute, current.get(attribute), best_text))
    return DevicePlan(tuple(writes), tuple(changes))
