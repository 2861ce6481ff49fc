"""Reading what device risk is computed from: devices, their OPEN vulnerability findings, discovery findings,
risk acceptances, rubric answers, and each device's System Exposure (a pluggable :class:`ExposureSource`).

Only open findings count: ``resolved_at IS NULL``, not suppressed by a trusted VEX, and no VEX status
``not_affected`` or ``fixed``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, and_, func, or_, select

from wardwatch.domain.inventory import ClinicalProfile, Criticality
from wardwatch.domain.risk import Acceptance, DeviceFacts, VulnerabilityFinding, unknown_exposure
from wardwatch.domain.rubric import (
    RubricError,
    answers_of,
    apply_rubric,
    default_caps,
    defaults_for,
    exceeds_caps,
    layer_answers,
)
from wardwatch.domain.ssvc import Derived, SystemExposure
from wardwatch.services.model_security import ModelSecurityIndex
from wardwatch.services.model_security import load_index as load_security
from wardwatch.store.inventory import aware
from wardwatch.store.schema import (
    devices,
    findings,
    interfaces,
    risk_acceptances,
    rubric_answers,
    sites,
    units,
    vulnerability_findings,
)

__all__ = [
    "DiscoveryExposure",
    "ExposureSource",
    "RiskInputs",
    "chunks",
    "fetch_rows",
    "load_acceptances",
    "load_inputs",
]

_CHUNK = 5_000
_CLOSED_VEX = ("not_affected", "fixed")


def chunks(ids: Sequence[int], size: int = _CHUNK) -> Iterator[Sequence[int]]:
    """``ids`` in slices small enough for an ``IN (...)`` list on both databases."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class ExposureSource(Protocol):
    """Where System Exposure comes from (discovery evidence today; the network model's zones later)."""

    def exposures(
        self, connection: Connection, device_ids: Sequence[int] | None
    ) -> Mapping[int, Derived[SystemExposure]]:
        """Exposure of the devices that have evidence; the others get SSVC's default (open)."""
        ...


class DiscoveryExposure:
    """Exposure from passive discovery: a device seen talking to Internet hosts (``external_peer``) is *open*.

    Without a zone model nothing proves *controlled* or *small*, so every other device keeps the SSVC default,
    *open* (METHODS.md 2.2).
    """

    def exposures(
        self, connection: Connection, device_ids: Sequence[int] | None
    ) -> Mapping[int, Derived[SystemExposure]]:
        """``external_peer`` findings → open, with the peer in the evidence."""
        query = select(findings.c.device_id, func.min(findings.c.detail)).where(findings.c.kind == "external_peer")
        out: dict[int, Derived[SystemExposure]] = {}
        for part in [None] if device_ids is None else chunks(device_ids):
            q = query if part is None else query.where(findings.c.device_id.in_(part))
            for device_id, detail in connection.execute(q.group_by(findings.c.device_id)):
                out[int(device_id)] = Derived(
                    SystemExposure.OPEN, f"talks to Internet hosts (discovery: external_peer, {detail})"
                )
        return out


@dataclass(slots=True)
class RiskInputs:
    """Everything the scorer reads, keyed by device id."""

    devices: list[DeviceFacts]
    findings: dict[int, list[VulnerabilityFinding]] = field(default_factory=dict)
    acceptances: list[Acceptance] = field(default_factory=list)

    def acceptances_by_device(self) -> dict[int, list[Acceptance]]:
        """Acceptances grouped by device."""
        out: dict[int, list[Acceptance]] = defaultdict(list)
        for a in self.acceptances:
            out[a.device_id].append(a)
        return out


def _in(column: Any, ids: Sequence[int] | None) -> Iterator[Any]:
    if ids is None:
        yield None
        return
    for part in chunks(ids):
        yield column.in_(part)


def _extras(detail: str) -> tuple[bool, str | None]:
    """(public exploit known, CISA ADP Automatable) from a finding's detail JSON, when the intelligence has them."""
    try:
        data = orjson.loads(detail)
    except orjson.JSONDecodeError:
        return False, None
    if not isinstance(data, dict):
        return False, None
    exploit = bool(data.get("public_exploit") or data.get("exploit"))
    ssvc = data.get("ssvc")
    automatable = ssvc.get("automatable") if isinstance(ssvc, dict) else data.get("automatable")
    return exploit, automatable if isinstance(automatable, str) else None


def _open_findings() -> Any:
    vf = vulnerability_findings.c
    return and_(
        vf.resolved_at.is_(None),
        vf.suppressed.is_(False),
        or_(vf.vex_status.is_(None), vf.vex_status.not_in(_CLOSED_VEX)),
    )


def fetch_rows(connection: Connection, statement: Any) -> list[tuple[Any, ...]]:
    """All rows of a Core ``select`` as plain tuples, fetched with the driver's own cursor.

    Hand-written because it is the hot path of a full rescore: SQLAlchemy's result processing costs more than
    the query itself for 1,200,000 finding rows.  Values are the driver's: on SQLite booleans are 0/1 and dates
    ISO text (see :func:`_day`).
    """
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    args: Any = [params[name] for name in compiled.positiontup or ()] if compiled.positional else params
    raw = connection.connection.driver_connection
    assert raw is not None  # noqa: S101 - an open connection always has its driver connection
    cursor = raw.cursor()
    try:
        cursor.execute(str(compiled), args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _device_rows(connection: Connection, ids: Sequence[int] | None) -> list[tuple[Any, ...]]:
    d = devices.c
    query = (
        select(d.id, d.device_type, d.criticality, d.handles_phi, d.os_name, d.os_version, d.end_of_support,
               d.end_of_life, d.manufacturer, d.model, d.software_version, d.firmware_version, sites.c.name,
               units.c.department)
        .select_from(devices.outerjoin(sites, d.site_id == sites.c.id).outerjoin(units, d.unit_id == units.c.id))
        .order_by(d.id)
    )  # fmt: skip
    rows: list[tuple[Any, ...]] = []
    for where in _in(d.id, ids):
        rows.extend(fetch_rows(connection, query if where is None else query.where(where)))
    return rows


def _device_facts(
    rows: Sequence[tuple[Any, ...]],
    vlans: Mapping[int, list[int]],
    weaknesses: Mapping[int, set[str]],
    exposures: Mapping[int, Derived[SystemExposure]],
    security: ModelSecurityIndex,
) -> list[DeviceFacts]:
    """Device facts; where the record is silent, its model's MDS2 form gives the OS, end of support and PHI, and
    the form's proven compensating controls always count."""
    default = unknown_exposure()
    out: list[DeviceFacts] = []
    for (device_id, kind, criticality, phi, os_name, os_version, eos, eol, manufacturer, model, software, firmware,
         site, unit) in rows:  # fmt: skip
        ends = [x for x in (_day(eos), _day(eol)) if x is not None]
        kinds = weaknesses.get(device_id)
        form = security.get(manufacturer, model) if security else None
        os_text = " ".join(x for x in (os_name, os_version) if x) or None
        if form is not None:
            os_text = os_text or form.operating_system
            if not ends and form.end_of_support is not None:
                ends = [form.end_of_support]
            if phi is None:
                phi = form.handles_phi
        out.append(
            DeviceFacts(
                device_id,
                kind.replace("-", " ") if kind and kind != "other" else (model or "device"),
                kind,
                criticality,
                None if phi is None else bool(phi),
                os_text,
                min(ends) if ends else None,
                exposures.get(device_id, default),
                tuple(sorted(kinds)) if kinds else (),
                form.controls if form is not None else (),
                site,
                unit,
                manufacturer,
                model,
                software or firmware,
                tuple(vlans.get(device_id, ())),
            )
        )
    return out


def _rubric(connection: Connection) -> dict[tuple[str, str], dict[str, dict[str, str]]]:
    """(manufacturer, model) -> vulnerability id ("" = model-wide) -> answers."""
    out: dict[tuple[str, str], dict[str, dict[str, str]]] = defaultdict(dict)
    for row in connection.execute(select(rubric_answers)):
        out[(row.manufacturer, row.model)][row.vulnerability_id] = orjson.loads(row.answers)
    return out


def _acceptance(row: Any) -> Acceptance:
    expires = row.expires_on if isinstance(row.expires_on, date) else date.fromisoformat(row.expires_on)
    return Acceptance(
        id=row.id,
        device_id=row.device_id,
        vulnerability_id=row.vulnerability_id,
        approver=row.approver,
        justification=row.justification,
        controls=tuple(orjson.loads(row.controls)),
        expires_on=expires,
        created_at=aware(row.created_at),
        revoked_at=aware(row.revoked_at) if row.revoked_at is not None else None,
    )


def load_acceptances(
    connection: Connection, ids: Sequence[int] | None = None, include_revoked: bool = False
) -> list[Acceptance]:
    """Risk acceptances (of some devices), revoked ones only when asked."""
    a = risk_acceptances.c
    out: list[Acceptance] = []
    for where in _in(a.device_id, ids):
        q = select(risk_acceptances).order_by(a.id)
        if not include_revoked:
            q = q.where(a.revoked_at.is_(None))
        out.extend(_acceptance(row) for row in connection.execute(q if where is None else q.where(where)))
    return out


_DeviceRubric = tuple[Mapping[str, Mapping[str, str]] | None, dict[str, str], dict[str, str], tuple[Any, ...]]
"""A device's rubric inputs: its model's answers by vulnerability, default answers, caps and their key."""


class _RubricCache:
    """Rubric-adjusted findings: an analyst's answers (``risk rubric``) decide; a model's defaults (from its MDS2
    form and the device's clinical profile) fill the questions left open, and alone can only lower a metric the
    device rules out (``domain.rubric.apply_rubric``).  Everything is memoised per distinct input."""

    def __init__(
        self, answers: Mapping[tuple[str, str], Mapping[str, Mapping[str, str]]], security: ModelSecurityIndex
    ) -> None:
        self.answers = answers
        self.security = security
        self.defaults: dict[tuple[Any, ...], tuple[dict[str, str], dict[str, str], tuple[Any, ...]]] = {}
        self.cache: dict[tuple[Any, ...], tuple[float, str, str] | None] = {}
        self.exceeds: dict[tuple[Any, ...], bool] = {}
        self.per_device: dict[int, _DeviceRubric] = {}
        self.made: dict[tuple[Any, ...], VulnerabilityFinding] = {}
        """Adjusted findings by (key, id of the interned original): the originals live as long as the load."""

    @property
    def active(self) -> bool:
        """Whether anything can adjust a finding."""
        return bool(self.answers) or bool(self.security)

    def _defaults(self, device: DeviceFacts) -> tuple[dict[str, str], dict[str, str], tuple[Any, ...]]:
        form = self.security.get(device.manufacturer, device.model) if self.security else None
        key = (form.form if form else None, device.criticality, device.handles_phi)
        if key not in self.defaults:
            try:
                criticality = Criticality(device.criticality) if device.criticality else None
            except ValueError:
                criticality = None
            profile = ClinicalProfile(criticality=criticality, handles_phi=device.handles_phi)
            answers = answers_of(defaults_for(profile, form.capabilities if form else {}).values())
            self.defaults[key] = (answers, default_caps(answers) if form else {}, tuple(sorted(answers.items())))
        return self.defaults[key]

    def _device(self, device: DeviceFacts) -> _DeviceRubric:
        found = self.per_device.get(device.id)
        if found is None:
            by_vuln = self.answers.get((device.manufacturer or "", device.model or ""))
            defaults, caps, defaults_key = self._defaults(device)
            found = self.per_device[device.id] = (by_vuln, defaults, caps, defaults_key)
        return found

    def adjust(self, device: DeviceFacts, f: VulnerabilityFinding) -> VulnerabilityFinding:
        """The finding as the rubric sees it on this device (the same object when nothing changes)."""
        by_vuln, defaults, caps, defaults_key = self._device(device)
        if not by_vuln and not caps:
            return f  # the common case: no answers, and the defaults cannot lower anything
        base = f.cvss_vector if f.cvss_vector and not f.cvss_vector.upper().startswith("CVSS:4") else None
        if not by_vuln:
            if base is None:
                return f
            probe = (defaults_key, base)
            lowers = self.exceeds.get(probe)
            if lowers is None:
                lowers = self.exceeds[probe] = exceeds_caps(base, caps)
            if not lowers:
                return f
        who = (device.manufacturer, device.model, f.vulnerability_id) if by_vuln else None
        key = (who, defaults_key, f.cvss_vector)
        made = self.made.get((key, id(f)))
        if made is not None:
            return made  # one object per distinct adjusted finding: devices of a model share it (score memo)
        if key not in self.cache:
            layers = [by_vuln.get("", {}), by_vuln.get(f.vulnerability_id, {})] if by_vuln else []
            try:
                result = apply_rubric(layer_answers(*layers), base, defaults=defaults)
            except RubricError:
                self.cache[key] = None
            else:
                if by_vuln:
                    note = f"CVSS {result.score.base:g} from the medical-device rubric ({result.extended_vector})"
                else:
                    lowered = "; ".join(t for t in result.explanations.values() if ", lowered from" in t)
                    note = (
                        f"CVSS {result.score.base:g} by the medical-device rubric and the model's MDS2 form: {lowered}"
                    )
                self.cache[key] = (result.score.base, result.vector, note)
        adjusted = self.cache[key]
        if adjusted is None:
            made = f
        else:
            score, vector, note = adjusted
            made = VulnerabilityFinding(f.vulnerability_id, f.component_ref, f.in_kev, f.epss, score, vector,
                                        f.public_exploit, f.automatable, note)  # fmt: skip
        self.made[(key, id(f))] = made
        return made


def load_inputs(connection: Connection, exposure: ExposureSource, ids: Sequence[int] | None = None) -> RiskInputs:
    """The scoring inputs of every device, or of ``ids``."""
    vlans: dict[int, list[int]] = defaultdict(list)
    for where in _in(interfaces.c.device_id, ids):
        q = select(interfaces.c.device_id, interfaces.c.vlan).where(interfaces.c.vlan.is_not(None))
        for device_id, vlan in fetch_rows(connection, q if where is None else q.where(where)):
            vlans[device_id].append(int(vlan))
    weaknesses: dict[int, set[str]] = defaultdict(set)
    for where in _in(findings.c.device_id, ids):
        q = select(findings.c.device_id, findings.c.kind).distinct()
        for device_id, kind in fetch_rows(connection, q if where is None else q.where(where)):
            weaknesses[device_id].add(kind)
    security = load_security(connection)
    facts = _device_facts(
        _device_rows(connection, ids), vlans, weaknesses, exposure.exposures(connection, ids), security
    )
    vf = vulnerability_findings.c
    rows: list[Any] = []
    for where in _in(vf.device_id, ids):
        q = (
            select(vf.device_id, vf.vulnerability_id, vf.component_ref, vf.in_kev, vf.epss, vf.cvss_score,
                   vf.cvss_vector, vf.id)
            .where(_open_findings())
        )  # fmt: skip
        rows.extend(fetch_rows(connection, q if where is None else q.where(where)))
    # The intelligence detail is per vulnerability: read one row's detail per vulnerability, not 600,000 of them.
    first = {row[1]: row[7] for row in reversed(rows)}  # the first row's id of each vulnerability
    extras: dict[str, tuple[bool, str | None]] = {}
    for part in chunks(sorted(first.values())):
        for vulnerability_id, detail in fetch_rows(
            connection, select(vf.vulnerability_id, vf.detail).where(vf.id.in_(part))
        ):
            extras[vulnerability_id] = _extras(detail)
    rubric = _RubricCache(_rubric(connection), security)
    # devices whose findings the rubric can change: the model has analyst answers, or defaults that lower something
    adjustable = {d.id for d in facts if rubric.active and any(rubric._device(d)[i] for i in (0, 2))}
    by_id = {d.id: d for d in facts}
    out_findings: dict[int, list[VulnerabilityFinding]] = defaultdict(list)
    # Devices of one model share their findings: one object per distinct finding keeps memory and hashing low.
    interned: dict[tuple[Any, ...], VulnerabilityFinding] = {}
    for device_id, vulnerability_id, component, kev, epss, cvss, vector, _ in rows:
        key = (vulnerability_id, component, kev, epss, cvss, vector)
        finding = interned.get(key)
        if finding is None:
            exploit, automatable = extras.get(vulnerability_id, (False, None))
            finding = VulnerabilityFinding(vulnerability_id, component, bool(kev), epss, cvss, vector, exploit,
                                           automatable)  # fmt: skip
            interned[key] = finding
        if device_id in adjustable:
            finding = rubric.adjust(by_id[device_id], finding)
        out_findings[device_id].append(finding)
    return RiskInputs(facts, dict(out_findings), load_acceptances(connection, ids))
