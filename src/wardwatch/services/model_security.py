"""Device-model security capabilities from MDS2 forms: linked to models, read per device, used by risk scoring.

An imported MDS2 form (``intel import FORM.xlsx``) is linked to the device model(s) it names — DOC-1 is the
manufacturer, DOC-3 the model, often a list ("MVR435, MVR436, MVR450") — or to ``--model``.  One form per model:
a newer import replaces the older one, and an explicit ``--model`` link is never replaced by a form's metadata.
Devices find their model's form by the same vendor and model keys as SBOM links (``domain.matching.model_key``),
so "BD" / "Alaris 8015 PC Unit" and "Becton Dickinson" / "alaris pc unit 8015" share one form.

What risk reads from a form (:func:`risk_traits`), each only where the inventory is silent or as a control:

* the rubric defaults of the model (:func:`wardwatch.domain.rubric.defaults_for`);
* compensating controls the form proves: application allow-listing (MLDP-4 Yes) and no remote service at all
  (RMOT-1..3 No) — :data:`CONTROLS`;
* the operating system and the end of support, when the device record has none;
* whether the device handles PHI (MPII-2.2/MPII-2 stores, MPII-3 transmits), when the device record has none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, select

from wardwatch.domain.intel import Mds2Form
from wardwatch.domain.matching import IntelIndex, model_key
from wardwatch.reference import manufacturer_catalog
from wardwatch.store.schema import devices, model_security, risk_scores

__all__ = [
    "CONTROLS",
    "ModelSecurity",
    "ModelSecurityIndex",
    "form_models",
    "link_form",
    "devices_of_models",
    "link_forms",
    "list_forms",
    "load_index",
    "rescore_models",
    "security_for",
]

#: Compensating control (risk policy name) -> (capability, value that proves it, evidence in words).
CONTROLS: dict[str, tuple[str, bool, str]] = {
    "application-allowlisting": ("application_allowlisting", True, "MDS2 MLDP-4: application allow-listing"),
    "remote-access-disabled": ("remote_service", False, "MDS2 RMOT-1..3: no remote service connections"),
}
_LIST = re.compile(r"\s*(?:,|;|/|\band\b|&)\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ModelSecurity:
    """One device model's MDS2 form as stored."""

    manufacturer: str
    model: str
    form: str
    """The stored form: ``mds2/<sha256>.<ext>``."""
    form_date: date | None
    version: str | None
    operating_system: str | None
    end_of_support: date | None
    capabilities: Mapping[str, bool | None]
    answers: Mapping[str, str]
    linked_by: str
    linked_at: datetime

    @property
    def controls(self) -> tuple[str, ...]:
        """Compensating controls the form proves (policy names)."""
        return tuple(name for name, (cap, value, _) in CONTROLS.items() if self.capabilities.get(cap) is value)

    @property
    def handles_phi(self) -> bool | None:
        """True if the form says the device stores or transmits PHI, False if it says neither, else None."""
        stores, transmits = self.capabilities.get("stores_phi"), self.capabilities.get("transmits_phi")
        if stores or transmits:
            return True
        return False if stores is False and transmits is False else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO text)."""
        return {
            "manufacturer": self.manufacturer,
            "model": self.model,
            "form": self.form,
            "form_date": self.form_date.isoformat() if self.form_date else None,
            "version": self.version,
            "operating_system": self.operating_system,
            "end_of_support": self.end_of_support.isoformat() if self.end_of_support else None,
            "capabilities": dict(self.capabilities),
            "controls": list(self.controls),
            "answers": len(self.answers),
            "linked_by": self.linked_by,
        }


def form_models(form: Mds2Form) -> list[str]:
    """The models a form names in DOC-3 (else DOC-2): a list like "MVR435, MVR436 and MVR450" gives three."""
    if not form.model:
        return []
    parts = [p.strip(" .") for p in _LIST.split(form.model) if p.strip(" .")]
    # "Alaris PC Unit 8015 / 8100" names models by their numbers: keep the shared words on the later parts
    if len(parts) > 1 and len(parts[0].split()) > 1 and all(len(p.split()) == 1 for p in parts[1:]):
        stem = " ".join(parts[0].split()[:-1])
        parts = [parts[0], *(f"{stem} {p}" for p in parts[1:])]
    return parts


def _index() -> IntelIndex:
    return IntelIndex(manufacturer_catalog().normalize)


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def link_form(
    connection: Connection, stored: str, form: Mds2Form, manufacturer: str, model: str, *, explicit: bool
) -> bool:
    """Link the stored form to one device model; True if written.  An explicit link is kept unless ``explicit``."""
    index = _index()
    key = (index.vendor_key(manufacturer), model_key(manufacturer, model))
    if not key[1]:
        return False
    where = (model_security.c.vendor_key == key[0], model_security.c.model_key == key[1])
    current = connection.execute(select(model_security.c.form, model_security.c.linked_by).where(*where)).first()
    linked_by = "explicit" if explicit else "metadata"
    if current is not None:
        if current.form == stored and current.linked_by == linked_by:
            return False
        if current.linked_by == "explicit" and not explicit:
            return False
        connection.execute(delete(model_security).where(*where))
    connection.execute(
        model_security.insert().values(
            vendor_key=key[0],
            model_key=key[1],
            manufacturer=manufacturer[:200],
            model=model[:200],
            form=stored,
            form_date=form.form_date,
            version=(form.version or None) and form.version[:100],
            operating_system=(form.operating_system or None) and form.operating_system[:200],
            end_of_support=form.end_of_support,
            capabilities=orjson.dumps(form.capabilities).decode(),
            answers=orjson.dumps(form.answers).decode(),
            linked_by=linked_by,
            linked_at=datetime.now(UTC),
        )
    )
    return True


def link_forms(
    engine: Engine, forms: Iterable[tuple[str, Mds2Form]], target: tuple[str, str] | None
) -> list[tuple[str, str, str]]:
    """Link each (stored name, form) to ``target`` (manufacturer, model) or to the models it names, in one
    transaction: (stored name, manufacturer, model) of every link written."""
    links: list[tuple[str, str, str]] = []
    with engine.begin() as connection:
        for stored, form in forms:
            pairs = [target] if target is not None else [(form.manufacturer or "", m) for m in form_models(form)]
            for manufacturer, model in pairs:
                if link_form(connection, stored, form, manufacturer, model, explicit=target is not None):
                    links.append((stored, manufacturer, model))
    return links


def _row(row: Any) -> ModelSecurity:
    return ModelSecurity(
        manufacturer=row.manufacturer,
        model=row.model,
        form=row.form,
        form_date=_day(row.form_date),
        version=row.version,
        operating_system=row.operating_system,
        end_of_support=_day(row.end_of_support),
        capabilities=orjson.loads(row.capabilities),
        answers=orjson.loads(row.answers),
        linked_by=row.linked_by,
        linked_at=row.linked_at,
    )


class ModelSecurityIndex:
    """Every linked form, looked up by a device's manufacturer and model (memoised per distinct pair)."""

    def __init__(self, forms: Mapping[tuple[str, str], ModelSecurity]) -> None:
        self.forms = forms
        self._index = _index()
        self._memo: dict[tuple[str | None, str | None], ModelSecurity | None] = {}

    def __bool__(self) -> bool:
        return bool(self.forms)

    def get(self, manufacturer: str | None, model: str | None) -> ModelSecurity | None:
        """The form of a device's model, if one is linked."""
        pair = (manufacturer, model)
        if pair not in self._memo:
            found = None
            if manufacturer and model:
                found = self.forms.get((self._index.vendor_key(manufacturer), model_key(manufacturer, model)))
            self._memo[pair] = found
        return self._memo[pair]


def load_index(connection: Connection) -> ModelSecurityIndex:
    """Every linked form."""
    rows = connection.execute(select(model_security))
    return ModelSecurityIndex({(row.vendor_key, row.model_key): _row(row) for row in rows})


def security_for(connection: Connection, manufacturer: str | None, model: str | None) -> ModelSecurity | None:
    """The form linked to one device model, if any."""
    return load_index(connection).get(manufacturer, model)


def list_forms(connection: Connection) -> list[ModelSecurity]:
    """Every linked form, by manufacturer and model."""
    rows = connection.execute(select(model_security).order_by(model_security.c.manufacturer, model_security.c.model))
    return [_row(row) for row in rows]


def devices_of_models(connection: Connection, models: Iterable[tuple[str, str]]) -> list[int]:
    """Ids of the devices of the given (manufacturer, model) pairs, matched by vendor and model keys."""
    index = _index()
    keys = {(index.vendor_key(maker), model_key(maker, name)) for maker, name in models}
    if not keys:
        return []
    memo: dict[tuple[str, str], bool] = {}
    out: list[int] = []
    query = select(devices.c.id, devices.c.manufacturer, devices.c.model).where(
        devices.c.manufacturer.is_not(None), devices.c.model.is_not(None)
    )
    for device_id, maker, name in connection.execute(query):
        pair = (maker, name)
        if pair not in memo:
            memo[pair] = (index.vendor_key(maker), model_key(maker, name)) in keys
        if memo[pair]:
            out.append(int(device_id))
    return out


def rescore_models(engine: Engine, models: Sequence[tuple[str, str]]) -> int:
    """Rescore the devices of newly linked models when scores exist (else the next full rescore reads the forms).

    Returns how many devices were rescored.
    """
    from wardwatch.services.risk import rescore  # noqa: PLC0415 - risk reads this module: import on use

    if not models:
        return 0
    with engine.connect() as connection:
        if connection.execute(select(risk_scores.c.device_id).limit(1)).first() is None:
            return 0
        ids = devices_of_models(connection, models)
    if ids:
        rescore(engine, ids)
    return len(ids)
