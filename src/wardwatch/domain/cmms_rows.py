"""Turning one CMMS row's raw cells into a :class:`~wardwatch.domain.candidates.Candidate`.

Cells are normalised (``domain.values``); the manufacturer is canonicalised and the device type classified by
the reference services passed in; clinical defaults are derived from the device type when the row is silent,
marked as derived with their confidence.  A cell that can't be read raises :class:`RowError` naming its field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date
from typing import Protocol

from wardwatch.domain.candidates import CMMS_CONFIDENCE, Candidate, Value
from wardwatch.domain.inventory import ClinicalProfile, Criticality, LifecycleStatus
from wardwatch.domain.values import (
    InvalidValue,
    normalize_asset_tag,
    normalize_bool,
    normalize_date,
    normalize_hostname,
    normalize_ip,
    normalize_mac,
    normalize_serial,
    normalize_text,
    normalize_vlan,
)

__all__ = ["RowError", "RowNormalizer", "parse_criticality", "parse_lifecycle_status"]


class RowError(ValueError):
    """A cell of a row can't be read; ``field`` names the Wardwatch field, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class _Manufacturer(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def known(self) -> bool: ...
    @property
    def confidence(self) -> float: ...


class _Classification(Protocol):
    @property
    def device_type(self) -> str | None: ...
    @property
    def fda_product_code(self) -> str | None: ...
    @property
    def fda_class(self) -> str | None: ...
    @property
    def confidence(self) -> float: ...
    @property
    def reason(self) -> str: ...


_CRITICALITY_WORDS: dict[str, Criticality] = {
    "life sustaining": Criticality.LIFE_SUSTAINING,
    "life support": Criticality.LIFE_SUSTAINING,
    "life supporting": Criticality.LIFE_SUPPORTING,
    "therapeutic": Criticality.THERAPEUTIC,
    "treatment": Criticality.THERAPEUTIC,
    "diagnostic": Criticality.DIAGNOSTIC,
    "monitoring": Criticality.MONITORING,
    "non clinical": Criticality.NON_CLINICAL,
    "nonclinical": Criticality.NON_CLINICAL,
    "non medical": Criticality.NON_CLINICAL,
}

_STATUS_WORDS: dict[str, LifecycleStatus] = {
    **dict.fromkeys(
        ("in service", "active", "in use", "operational", "deployed", "installed", "available"),
        LifecycleStatus.IN_SERVICE,
    ),
    **dict.fromkeys(("in storage", "storage", "inactive", "spare", "stock", "loaner"), LifecycleStatus.IN_STORAGE),
    **dict.fromkeys(
        ("in repair", "repair", "out for repair", "out of service", "down", "broken", "awaiting parts"),
        LifecycleStatus.IN_REPAIR,
    ),
    **dict.fromkeys(
        ("retired", "disposed", "decommissioned", "salvage", "scrapped", "removed"), LifecycleStatus.RETIRED
    ),
}


def _words(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def parse_criticality(raw: str) -> Criticality:
    """A criticality from its name or a common synonym ("Life Support", "non-clinical"...)."""
    words = _words(raw)
    found = _CRITICALITY_WORDS.get(words)
    if found is None:
        allowed = ", ".join(c.value for c in Criticality)
        raise InvalidValue(f"{raw!r} is not a clinical criticality (expected one of: {allowed})")
    return found


def parse_lifecycle_status(raw: str) -> LifecycleStatus:
    """A lifecycle status from the words CMMS products use ("Active", "Out for repair", "Disposed"...)."""
    found = _STATUS_WORDS.get(_words(raw))
    if found is None:
        raise InvalidValue(
            f"{raw!r} is not a known equipment status (expected e.g. Active, In storage, In repair, Retired)"
        )
    return found


# Joint Commission EC.02.04.01 asks hospitals to identify high-risk equipment; CMMS products record it as the
# equipment's risk level, where only "high" is high-risk.
_RISK_LEVELS: dict[str, bool] = {
    **dict.fromkeys(("high", "high risk", "life support", "critical", "3"), True),
    **dict.fromkeys(("medium", "moderate", "low", "minimal", "non high risk", "not high risk", "1", "2"), False),
}

_TEXT_FIELDS = ("model", "os_name", "os_version", "firmware_version", "software_version", "owner_team",
                "building", "department", "location")  # fmt: skip
_DATE_FIELDS = ("in_service_date", "end_of_support", "end_of_life")
_BOOL_FIELDS = ("patient_connected", "handles_phi", "high_risk")
_SIMPLE: dict[str, Callable[[str | None], Value | None]] = {
    "asset_tag": normalize_asset_tag,
    "serial": normalize_serial,
    "mac": normalize_mac,
    "ip": normalize_ip,
    "hostname": normalize_hostname,
    "vlan": normalize_vlan,
}


class RowNormalizer:
    """Normalises raw CMMS rows; holds per-import caches (the same model text recurs thousands of times)."""

    def __init__(
        self,
        manufacturer: Callable[[str], _Manufacturer | None],
        classify: Callable[[str | None, str | None, str | None], _Classification | None],
        clinical_defaults: Callable[[str], ClinicalProfile | None],
        *,
        default_site: str | None = None,
        date_format: str | None = None,
    ) -> None:
        self._manufacturer = manufacturer
        self._classify = classify
        self._defaults = clinical_defaults
        self._site = default_site
        self._date_formats = (date_format,) if date_format else None
        self._texts: dict[str, str] = {}
        self.unknown_manufacturers: Counter[str] = Counter()
        """Manufacturer names not in the catalogue -> rows naming them."""

    def _intern(self, text: str) -> str:
        return self._texts.setdefault(text, text)

    def normalize(self, locator: str, cells: Mapping[str, str | date | None]) -> Candidate:
        """The candidate for one row; raises :class:`RowError` for the first unreadable cell."""
        values: dict[str, Value] = {}
        derived: dict[str, tuple[float, str]] = {}
        for field, parse in _SIMPLE.items():
            raw = cells.get(field)
            if raw is None:
                continue
            try:
                value = parse(str(raw))
            except InvalidValue as e:
                raise RowError(field, str(e)) from e
            if value is not None:
                values[field] = value
        for field in _TEXT_FIELDS:
            raw = cells.get(field)
            text = normalize_text(str(raw)) if raw is not None else None
            if text is not None:
                values[field] = self._intern(text)
        for field in _DATE_FIELDS:
            try:
                day = normalize_date(cells.get(field), self._date_formats)
            except InvalidValue as e:
                raise RowError(field, str(e)) from e
            if day is not None:
                values[field] = day
        for field in _BOOL_FIELDS:
            raw = cells.get(field)
            try:
                flag = normalize_bool(str(raw)) if raw is not None else None
            except InvalidValue as e:
                raise RowError(field, str(e)) from e
            if flag is not None:
                values[field] = flag
        self._parse_enum(cells, "criticality", parse_criticality, values)
        self._risk_level(cells, values)
        self._parse_enum(cells, "lifecycle_status", parse_lifecycle_status, values)

        raw_maker = cells.get("manufacturer")
        if raw_maker is not None:
            maker = self._manufacturer(str(raw_maker))
            if maker is not None:
                values["manufacturer"] = self._intern(maker.name)
                if not maker.known:
                    self.unknown_manufacturers[maker.name] += 1
                elif maker.confidence < CMMS_CONFIDENCE:
                    derived["manufacturer"] = (maker.confidence, f"closest known name to {str(raw_maker)!r}")

        self._classify_row(cells, values, derived)
        if not any(k in values for k in ("asset_tag", "serial", "mac")):
            raise RowError("asset_tag", "the row has no asset tag, serial number or MAC address to identify the device")
        site = normalize_text(str(cells["site"])) if cells.get("site") is not None else None
        site = self._site or site
        return Candidate(locator, values, derived, self._intern(site) if site else None)

    @staticmethod
    def _risk_level(cells: Mapping[str, str | date | None], values: dict[str, Value]) -> None:
        """A CMMS equipment risk level (High/Medium/Low) says whether the device is high-risk equipment."""
        text = normalize_text(str(cells["risk_level"])) if cells.get("risk_level") is not None else None
        if text is None:
            return
        level = _RISK_LEVELS.get(_words(text))
        if level is None:
            raise RowError("risk_level", f"{text!r} is not a risk level (expected High, Medium or Low)")
        values.setdefault("high_risk", level)

    def _parse_enum(
        self,
        cells: Mapping[str, str | date | None],
        field: str,
        parse: Callable[[str], Criticality | LifecycleStatus],
        values: dict[str, Value],
    ) -> None:
        text = normalize_text(str(cells[field])) if cells.get(field) is not None else None
        if text is None:
            return
        try:
            values[field] = parse(text).value
        except InvalidValue as e:
            raise RowError(field, str(e)) from e

    def _classify_row(
        self,
        cells: Mapping[str, str | date | None],
        values: dict[str, Value],
        derived: dict[str, tuple[float, str]],
    ) -> None:
        description = normalize_text(str(cells["description"])) if cells.get("description") is not None else None
        code_raw = normalize_text(str(cells["fda_product_code"])) if cells.get("fda_product_code") is not None else None
        code = code_raw.upper() if code_raw else None
        model = values.get("model")
        found = self._classify(description, code, str(model) if model is not None else None)
        if code is not None and (found is None or found.fda_product_code != code):
            raise RowError(
                "fda_product_code",
                f"{code!r} is not an FDA product code (three letters from the FDA product "
                "classification, e.g. FRN for infusion pumps)",
            )
        if found is None or found.device_type is None:
            return
        values["device_type"] = found.device_type
        derived["device_type"] = (found.confidence, found.reason)
        for field, value in (("fda_product_code", found.fda_product_code), ("fda_class", found.fda_class)):
            if value is not None:
                values[field] = value
                if not (field == "fda_product_code" and code == value):
                    derived[field] = (found.confidence, found.reason)
        defaults = self._defaults(found.device_type)
        if defaults is None:
            return
        reason = f"usual for a {found.device_type}"
        confidence = round(min(found.confidence, 0.6), 2)
        for field, default in (
            ("criticality", defaults.criticality.value if defaults.criticality else None),
            ("patient_connected", defaults.patient_connected),
            ("handles_phi", defaults.handles_phi),
            ("high_risk", defaults.high_risk),
        ):
            if field not in values and default is not None:
                values[field] = default
                derived[field] = (confidence, reason)
