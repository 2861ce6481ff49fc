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

_CACHE_LIMIT = 50_000
_Assignment = tuple[str, "Value", "tuple[float, str] | None"]
_Classified = tuple[tuple[_Assignment, ...], tuple[tuple[str, "Value", "tuple[float, str]"], ...]]
_UNCACHED = frozenset({"asset_tag", "serial", "mac", "ip", "hostname", "location"})

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
        self._field_parsers = self._parsers()
        self._classified: dict[tuple[object, object, object], _Classified | RowError] = {}
        # Values that recur across rows are parsed once per import; identifiers are parsed every time.
        self._caches: dict[str, dict[str | date, Value | None]] = {
            f: {} for f in self._field_parsers if f not in _UNCACHED
        }
        self.unknown_manufacturers: Counter[str] = Counter()
        """Manufacturer names not in the catalogue -> rows naming them."""

    def _intern(self, text: str) -> str:
        return self._texts.setdefault(text, text)

    def _parsers(self) -> dict[str, Callable[[str | date], Value | None]]:
        formats = self._date_formats

        def text(raw: str | date) -> Value | None:
            return normalize_text(str(raw))

        def day(raw: str | date) -> Value | None:
            return normalize_date(raw, formats)

        def flag(raw: str | date) -> Value | None:
            return normalize_bool(str(raw))

        def enum(parse: Callable[[str], Criticality | LifecycleStatus]) -> Callable[[str | date], Value | None]:
            def parse_enum(raw: str | date) -> Value | None:
                found = normalize_text(str(raw))
                return None if found is None else parse(found).value

            return parse_enum

        def risk(raw: str | date) -> Value | None:
            found = normalize_text(str(raw))
            if found is None:
                return None
            level = _RISK_LEVELS.get(_words(found))
            if level is None:
                raise InvalidValue(f"{found!r} is not a risk level (expected High, Medium or Low)")
            return level

        def as_text(parse: Callable[[str | None], Value | None]) -> Callable[[str | date], Value | None]:
            def parse_text(raw: str | date) -> Value | None:
                return parse(str(raw))

            return parse_text

        parsers = {field: as_text(parse) for field, parse in _SIMPLE.items()}
        parsers.update(dict.fromkeys(_TEXT_FIELDS, text))
        parsers.update(dict.fromkeys(_DATE_FIELDS, day))
        parsers.update(dict.fromkeys(_BOOL_FIELDS, flag))
        parsers["criticality"] = enum(parse_criticality)
        parsers["lifecycle_status"] = enum(parse_lifecycle_status)
        parsers["risk_level"] = risk
        return parsers

    def normalize(self, locator: str, cells: Mapping[str, str | date | None]) -> Candidate:
        """The candidate for one row; raises :class:`RowError` for the first unreadable cell."""
        values: dict[str, Value] = {}
        derived: dict[str, tuple[float, str]] = {}
        parsers, caches, texts = self._field_parsers, self._caches, self._texts
        for field, raw in cells.items():
            if raw is None:
                continue
            parse = parsers.get(field)
            if parse is None:
                continue
            cache = caches.get(field)
            value: Value | None
            if cache is not None and raw in cache:
                value = cache[raw]
            else:
                try:
                    value = parse(raw)
                except InvalidValue as e:
                    raise RowError(field, str(e)) from e
                if isinstance(value, str):
                    value = texts.setdefault(value, value)
                if cache is not None and len(cache) < _CACHE_LIMIT:
                    cache[raw] = value
            if value is not None:
                values[field] = value
        risk_level = values.pop("risk_level", None)
        if risk_level is not None:
            values.setdefault("high_risk", risk_level)

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

    def _classify_row(
        self,
        cells: Mapping[str, str | date | None],
        values: dict[str, Value],
        derived: dict[str, tuple[float, str]],
    ) -> None:
        raw_description, raw_code = cells.get("description"), cells.get("fda_product_code")
        model = values.get("model")
        key = (raw_description, raw_code, model)
        outcome = self._classified.get(key)
        if outcome is None:
            outcome = self._classify_uncached(raw_description, raw_code, model)
            if len(self._classified) < _CACHE_LIMIT:
                self._classified[key] = outcome
        if isinstance(outcome, RowError):
            raise outcome
        found, defaults = outcome
        for field, value, info in found:
            values[field] = value
            if info is not None:
                derived[field] = info
        for field, value, info in defaults:
            if field not in values:
                values[field] = value
                derived[field] = info

    def _classify_uncached(
        self, raw_description: str | date | None, raw_code: str | date | None, model: Value | None
    ) -> _Classified | RowError:
        """What the description, product code and model say: (type and FDA values, clinical defaults)."""
        description = normalize_text(str(raw_description)) if raw_description is not None else None
        code_raw = normalize_text(str(raw_code)) if raw_code is not None else None
        code = code_raw.upper() if code_raw else None
        found = self._classify(description, code, str(model) if model is not None else None)
        if code is not None and (found is None or found.fda_product_code != code):
            return RowError(
                "fda_product_code",
                f"{code!r} is not an FDA product code (three letters from the FDA product "
                "classification, e.g. FRN for infusion pumps)",
            )
        if found is None or found.device_type is None:
            return ((), ())
        info = (found.confidence, found.reason)
        written: list[tuple[str, Value, tuple[float, str] | None]] = [("device_type", found.device_type, info)]
        if found.fda_product_code is not None:
            written.append(
                ("fda_product_code", found.fda_product_code, None if code == found.fda_product_code else info)
            )
        if found.fda_class is not None:
            written.append(("fda_class", found.fda_class, info))
        profile = self._defaults(found.device_type)
        if profile is None:
            return (tuple(written), ())
        usual = (round(min(found.confidence, 0.6), 2), f"usual for a {found.device_type}")
        defaults = tuple(
            (field, default, usual)
            for field, default in (
                ("criticality", profile.criticality.value if profile.criticality else None),
                ("patient_connected", profile.patient_connected),
                ("handles_phi", profile.handles_phi),
                ("high_risk", profile.high_risk),
            )
            if default is not None
        )
        return (tuple(written), defaults)
