"""Governance evidence: the programme's controls judged on live facts, and framework coverage with its gaps.

Pure.  :func:`catalogue_from_mapping` checks the parsed ``data/governance/controls.yaml`` (which
:mod:`wardwatch.services.governance` reads) and returns a :class:`Catalogue`: four frameworks (NIST CSF 2.0, HICP
practice 9, IEC 80001-1, Joint Commission) as lists of reference items, and Wardwatch's controls, each with an
evidence rule (:data:`RULES`), its thresholds and the items it gives evidence for.

:func:`assess` runs every control's rule on one :class:`Facts` (counts and dates the service collects from the
database): each gives ``met`` / ``partial`` / ``gap``, a one-line reason and its evidence figures.
:func:`coverage` then gives each framework item the best status of the controls mapped to it; an item no control
maps to is a gap "not covered by Wardwatch".  Training currency (who holds which required course) is computed by
:func:`people_status` from :class:`TrainingPolicy` (``data/governance/training.yaml``) and the records.

Errors::

    GovernanceDataError (ValueError)   the catalogue or training policy data is unusable (names the field)
    TrainingInputError (ValueError)    a training record's dates or validity make no sense
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "NOT_COVERED",
    "RULES",
    "Assessment",
    "Catalogue",
    "Control",
    "Course",
    "Facts",
    "Framework",
    "FrameworkCoverage",
    "FrameworkItem",
    "GovernanceDataError",
    "ItemCoverage",
    "PersonTraining",
    "Status",
    "TrainingInputError",
    "TrainingPolicy",
    "TrainingRecord",
    "assess",
    "catalogue_from_mapping",
    "coverage",
    "expiry_for",
    "outlasts",
    "people_status",
    "record_state",
    "training_policy_from_mapping",
]

#: The reason of a framework item no Wardwatch control maps to.
NOT_COVERED = "not covered by Wardwatch: a process the hospital must document"


class GovernanceDataError(ValueError):
    """The catalogue or training policy data is unusable; the message names the field."""


class TrainingInputError(ValueError):
    """A training record's dates or validity make no sense; the message says what to give instead."""


class Status(StrEnum):
    """How well a control (or a framework item) is evidenced."""

    MET = "met"
    PARTIAL = "partial"
    GAP = "gap"

    @property
    def rank(self) -> int:
        """Higher is better: gap 0, partial 1, met 2."""
        return {"gap": 0, "partial": 1, "met": 2}[self.value]


# ------------------------------------------------------------------------------------------------------ catalogue


@dataclass(frozen=True, slots=True)
class FrameworkItem:
    """One reference item of a framework (a CSF subcategory, a HICP sub-practice, a clause, an EP)."""

    ref: str
    """Its id, e.g. ``ID.AM-01``, ``9.M.E``, ``EC.02.04.01 EP2``."""
    title: str
    """What it asks for, in words."""
    group: str | None = None
    """The CSF function (Govern ... Recover); ``None`` for the other frameworks."""
    verified: bool = True
    """``False``: the id or wording was not checked against the published text (see the data file's header)."""


@dataclass(frozen=True, slots=True)
class Framework:
    """A framework as a list of items."""

    key: str
    """``csf``, ``hicp``, ``80001`` or ``tjc``."""
    name: str
    """Its full name."""
    source: str
    """The document it is taken from."""
    items: tuple[FrameworkItem, ...]
    """Its items, in the document's order."""


@dataclass(frozen=True, slots=True)
class Control:
    """A Wardwatch control or record with the rule that judges it."""

    id: str
    """Key, e.g. ``inventory-identified``."""
    title: str
    """Name for people."""
    about: str
    """What it checks, in one sentence."""
    rule: str
    """The evidence rule (a key of :data:`RULES`)."""
    params: Mapping[str, Any]
    """The rule's thresholds."""
    refs: Mapping[str, tuple[str, ...]]
    """Framework key -> the items it gives evidence for."""


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Frameworks and controls, under a version."""

    version: str
    """The data file's version."""
    frameworks: Mapping[str, Framework]
    """By key, in the file's order."""
    controls: tuple[Control, ...]
    """Every control, in the file's order."""


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value).strip():
        raise GovernanceDataError(f"{where}: expected a non-empty text, got {value!r}")
    return str(value).strip()


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise GovernanceDataError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise GovernanceDataError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def catalogue_from_mapping(document: Mapping[str, Any]) -> Catalogue:
    """Check the parsed catalogue and build it; :class:`GovernanceDataError` names the first bad field."""
    version = _text(document.get("version"), "version")
    frameworks: dict[str, Framework] = {}
    for key, body in _mapping(document.get("frameworks"), "frameworks").items():
        where = f"frameworks.{key}"
        spec = _mapping(body, where)
        items: list[FrameworkItem] = []
        for index, raw in enumerate(_list(spec.get("items"), f"{where}.items")):
            item = _mapping(raw, f"{where}.items[{index}]")
            ref = _text(item.get("ref"), f"{where}.items[{index}].ref")
            if any(i.ref == ref for i in items):
                raise GovernanceDataError(f"{where}.items[{index}]: item {ref!r} is listed twice")
            group = item.get("function")
            items.append(FrameworkItem(ref=ref, title=_text(item.get("title"), f"{where}.items[{index}].title"),
                                       group=None if group is None else _text(group, f"{where}.{ref}.function"),
                                       verified=item.get("verified", True) is not False))  # fmt: skip
        frameworks[str(key)] = Framework(
            key=str(key), name=_text(spec.get("name"), f"{where}.name"),
            source=_text(spec.get("source"), f"{where}.source"), items=tuple(items),
        )  # fmt: skip
    controls: list[Control] = []
    for index, raw in enumerate(_list(document.get("controls"), "controls")):
        spec = _mapping(raw, f"controls[{index}]")
        control_id = _text(spec.get("id"), f"controls[{index}].id")
        where = f"controls.{control_id}"
        if any(c.id == control_id for c in controls):
            raise GovernanceDataError(f"{where}: the id is used twice")
        rule = _text(spec.get("rule"), f"{where}.rule")
        if rule not in RULES:
            raise GovernanceDataError(f"{where}.rule: unknown rule {rule!r}; known: {', '.join(sorted(RULES))}")
        refs: dict[str, tuple[str, ...]] = {}
        for key, listed in _mapping(spec.get("refs"), f"{where}.refs").items():
            framework = frameworks.get(str(key))
            if framework is None:
                raise GovernanceDataError(f"{where}.refs: unknown framework {key!r}; known: {', '.join(frameworks)}")
            known = {i.ref for i in framework.items}
            names = tuple(_text(r, f"{where}.refs.{key}") for r in _list(listed, f"{where}.refs.{key}"))
            for name in names:
                if name not in known:
                    raise GovernanceDataError(f"{where}.refs.{key}: {name!r} is not an item of {framework.name}")
            refs[str(key)] = names
        controls.append(Control(
            id=control_id, title=_text(spec.get("title"), f"{where}.title"),
            about=_text(spec.get("about"), f"{where}.about"), rule=rule,
            params=dict(_mapping(spec.get("params", {}) or {}, f"{where}.params")), refs=refs,
        ))  # fmt: skip
    return Catalogue(version=version, frameworks=frameworks, controls=tuple(controls))


# ---------------------------------------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class Facts:
    """What the service counted in the database, as of one day.  ``None`` means not known (never collected)."""

    as_of: date
    """The day the facts describe (ages are counted from it)."""
    devices: int = 0
    """Devices in the inventory."""
    devices_identified: int = 0
    """... with a model and a software, firmware or OS version."""
    devices_classified: int = 0
    """... with a clinical criticality other than unknown."""
    devices_seen: int = 0
    """... seen on the network by passive discovery."""
    last_discovery: date | None = None
    """When a capture or Zeek log was last imported."""
    intel_matched: date | None = None
    """When the inventory was last matched against the intelligence."""
    intel_kinds: frozenset[str] = frozenset()
    """The kinds of intelligence file matched (``kev``, ``nvd``, ``csaf``, ``openfda``, ...)."""
    open_findings: int = 0
    """Open vulnerability findings (not resolved, not suppressed)."""
    devices_scored: int = 0
    """Devices with a risk score."""
    last_scored: date | None = None
    """When the newest score was computed."""
    policy_version: str | None = None
    """The risk policy version of the newest score."""
    rubric_models: int = 0
    """Device models with medical CVSS rubric answers."""
    acceptances: int = 0
    """Risk acceptances ever recorded."""
    acceptances_active: int = 0
    """... not revoked and not expired."""
    acceptances_lapsed: int = 0
    """... expired and neither revoked nor renewed."""
    remediation_items: int = 0
    """Remediation work items."""
    remediation_open: int = 0
    """... not closed."""
    remediation_overdue: int = 0
    """... open past their SLA due time."""
    remediation_closed_late: int = 0
    """... closed after their SLA due time."""
    network_files: int = 0
    """Files of the imported network model."""
    network_imported: date | None = None
    """When the network model was imported."""
    violations: int | None = None
    """Segmentation violations of the model (``None``: no model)."""
    violations_severe: int | None = None
    """... of severity high or critical."""
    attack_paths_life: int | None = None
    """Attack paths from entry zones to life-sustaining devices (``None``: no model)."""
    alarm_budgets_approved: int = 0
    """Alarm delivery budgets approved and in force."""
    alarm_verified: date | None = None
    """When the alarm network was last verified."""
    alarm_flows: int | None = None
    """Flows the last verification checked."""
    alarm_failing: int | None = None
    """... that miss their budget."""
    audit_entries: int = 0
    """Entries of the audit trail."""
    audit_ok: bool | None = None
    """The hash chain recomputed intact (``None``: not checked)."""
    audit_broken_id: int | None = None
    """The first entry where it breaks."""
    risk_file_exported: date | None = None
    """When the IEC 80001-1 risk-management file was last exported."""
    incidents_available: bool = False
    """This installation keeps incident records."""
    incidents: int = 0
    """Incidents (or exercises) recorded."""
    last_incident: date | None = None
    """When the newest was opened."""
    people: int = 0
    """People who must hold training (enabled accounts and people with training records)."""
    people_current: int = 0
    """... holding every required course, not expired."""
    training_records: int = 0
    """Training records kept."""
    roles_lacking: Mapping[str, int] = field(default_factory=dict)
    """Role -> people of that role whose training is not current."""
    accounts_by_role: Mapping[str, int] = field(default_factory=dict)
    """Role -> enabled accounts."""
    tokens_active: int = 0
    """API tokens neither revoked nor expired."""
    tokens_without_expiry: int = 0
    """... that never expire."""
    models: int = 0
    """Distinct device models in the inventory."""
    models_with_mds2: int = 0
    """... with an MDS2 form linked."""
    models_with_sbom: int = 0
    """... with an SBOM linked."""
    vex_statements: int = 0
    """Findings a VEX statement settled (affected, not affected, fixed, under investigation)."""
    recall_findings: int = 0
    """Recalls matched to devices."""


# ---------------------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Assessment:
    """A control judged on the facts."""

    control: Control
    """The control."""
    status: Status
    """met, partial or gap."""
    reason: str
    """Why, in one line with the figures."""
    evidence: Mapping[str, Any]
    """The figures (counts, dates, ages) the status was decided from."""


Verdict = tuple[Status, str, dict[str, Any]]
Rule = Callable[[Facts, Mapping[str, Any]], Verdict]


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def _age(facts: Facts, day: date | None) -> int | None:
    return None if day is None else (facts.as_of - day).days


def _ago(days: int) -> str:
    """``today``, ``1 day ago``, ``N days ago`` (a future date, from clock skew, reads as today)."""
    return "today" if days <= 0 else ("1 day ago" if days == 1 else f"{days} days ago")


def _by_share(share: float, params: Mapping[str, Any]) -> Status:
    if share >= float(params.get("met", 1.0)):
        return Status.MET
    if share >= float(params.get("partial", 0.0)) and share > 0:
        return Status.PARTIAL
    return Status.GAP


def _inventory_identified(f: Facts, p: Mapping[str, Any]) -> Verdict:
    if f.devices == 0:
        return Status.GAP, "no devices in the inventory yet: import a CMMS export", {"devices": 0}
    unknown = f.devices - f.devices_identified
    reason = (f"{f.devices_identified} of {f.devices} devices identified with model and software version "
              f"({_pct(f.devices_identified, f.devices)}); {unknown} unknown")  # fmt: skip
    evidence = {"devices": f.devices, "identified": f.devices_identified, "unknown": unknown}
    return _by_share(f.devices_identified / f.devices, p), reason, evidence


def _criticality_classified(f: Facts, p: Mapping[str, Any]) -> Verdict:
    if f.devices == 0:
        return Status.GAP, "no devices in the inventory yet: import a CMMS export", {"devices": 0}
    unknown = f.devices - f.devices_classified
    reason = f"{f.devices_classified} of {f.devices} devices have a clinical criticality; {unknown} unknown"
    evidence = {"devices": f.devices, "classified": f.devices_classified, "unknown": unknown}
    return _by_share(f.devices_classified / f.devices, p), reason, evidence


def _passive_discovery(f: Facts, p: Mapping[str, Any]) -> Verdict:
    age = _age(f, f.last_discovery)
    evidence = {"devices": f.devices, "seen": f.devices_seen, "last_import": f.last_discovery, "age_days": age}
    if age is None or f.devices == 0:
        return Status.GAP, "no network capture or Zeek log imported: devices are not confirmed on the network", evidence
    reason = (f"{f.devices_seen} of {f.devices} devices seen on the network ({_pct(f.devices_seen, f.devices)}); "
              f"last capture imported {_ago(age)}")  # fmt: skip
    fresh = age <= int(p.get("max_age_days", 30))
    if f.devices_seen / f.devices >= float(p.get("met", 0.8)) and fresh:
        return Status.MET, reason, evidence
    return Status.PARTIAL, reason + ("" if fresh else " (stale)"), evidence


def _intel_freshness(f: Facts, p: Mapping[str, Any]) -> Verdict:
    age = _age(f, f.intel_matched)
    evidence = {"matched": f.intel_matched, "age_days": age, "kinds": sorted(f.intel_kinds),
                "open_findings": f.open_findings}  # fmt: skip
    if age is None:
        return Status.GAP, "the inventory was never matched against vulnerability intelligence", evidence
    missing = [] if "kev" in f.intel_kinds else ["CISA KEV"]
    if not f.intel_kinds & {"nvd", "cve5", "csaf"}:
        missing.append("advisories or CVE records (NVD, CVE 5 or CSAF)")
    kinds = ", ".join(sorted(f.intel_kinds)) or "nothing"
    reason = f"matched {_ago(age)} against {kinds}; {f.open_findings} open findings"
    if missing:
        reason += f"; missing {' and '.join(missing)}"
    if age <= int(p.get("met_days", 7)) and not missing:
        return Status.MET, reason, evidence
    if age <= int(p.get("partial_days", 30)):
        return Status.PARTIAL, reason, evidence
    return Status.GAP, reason + " (stale)", evidence


def _risk_scoring(f: Facts, p: Mapping[str, Any]) -> Verdict:
    age = _age(f, f.last_scored)
    evidence = {"devices": f.devices, "scored": f.devices_scored, "last_scored": f.last_scored, "age_days": age,
                "policy_version": f.policy_version, "rubric_models": f.rubric_models}  # fmt: skip
    if f.devices == 0 or f.devices_scored == 0 or age is None:
        return Status.GAP, "no device has a risk score yet: run `wardwatch risk score`", evidence
    reason = (f"{f.devices_scored} of {f.devices} devices scored under policy {f.policy_version} {_ago(age)}; "
              f"{f.rubric_models} models with medical rubric answers")  # fmt: skip
    if f.devices_scored / f.devices >= float(p.get("met", 0.95)) and age <= int(p.get("max_age_days", 7)):
        if f.rubric_models > 0:
            return Status.MET, reason, evidence
        return Status.PARTIAL, reason + " (SSVC only: answer the medical rubric for the key models)", evidence
    return Status.PARTIAL, reason, evidence


def _risk_acceptances(f: Facts, p: Mapping[str, Any]) -> Verdict:
    evidence = {"recorded": f.acceptances, "active": f.acceptances_active, "lapsed": f.acceptances_lapsed}
    if f.acceptances == 0:
        return Status.GAP, "no residual risk accepted by an approver yet", evidence
    reason = f"{f.acceptances_active} active risk acceptances with approver and expiry; {f.acceptances_lapsed} lapsed"
    if f.acceptances_lapsed:
        return Status.PARTIAL, reason + " without review (renew or revoke them)", evidence
    return Status.MET, reason, evidence


def _remediation_sla(f: Facts, p: Mapping[str, Any]) -> Verdict:
    evidence = {"items": f.remediation_items, "open": f.remediation_open, "overdue": f.remediation_overdue,
                "closed_late": f.remediation_closed_late}  # fmt: skip
    if f.remediation_items == 0:
        return Status.GAP, "no remediation work items yet: no evidence of remediation within SLA", evidence
    late = f.remediation_overdue + f.remediation_closed_late
    reason = (f"{f.remediation_items - late} of {f.remediation_items} work items within SLA; "
              f"{f.remediation_overdue} open past due, {f.remediation_closed_late} closed late")  # fmt: skip
    if late == 0:
        return Status.MET, reason, evidence
    share = (f.remediation_items - late) / f.remediation_items
    return (Status.PARTIAL if share >= float(p.get("partial", 0.8)) else Status.GAP), reason, evidence


def _network_segmentation(f: Facts, p: Mapping[str, Any]) -> Verdict:
    age = _age(f, f.network_imported)
    evidence = {"files": f.network_files, "imported": f.network_imported, "age_days": age,
                "violations": f.violations, "severe": f.violations_severe}  # fmt: skip
    if f.network_files == 0 or age is None:
        return Status.GAP, "no network model (zones, ACLs) imported: segmentation is not checked", evidence
    if f.violations is None:
        return Status.PARTIAL, f"network model imported {_ago(age)}, but it could not be checked", evidence
    reason = (f"network model ({f.network_files} files) imported {_ago(age)}; {f.violations} segmentation "
              f"violations, {f.violations_severe or 0} high or critical")  # fmt: skip
    if f.violations == 0 and age <= int(p.get("max_age_days", 90)):
        return Status.MET, reason, evidence
    return Status.PARTIAL, reason, evidence


def _attack_paths(f: Facts, p: Mapping[str, Any]) -> Verdict:
    evidence = {"paths_to_life_sustaining": f.attack_paths_life}
    if f.attack_paths_life is None:
        return Status.GAP, "no network model imported: attack paths are not analysed", evidence
    if f.attack_paths_life == 0:
        return Status.MET, "no attack path from an entry zone reaches a life-sustaining device", evidence
    return (Status.PARTIAL, f"{f.attack_paths_life} attack paths from entry zones reach life-sustaining devices: "
            "review and cut them (`wardwatch network recommend`)", evidence)  # fmt: skip


def _alarm_assurance(f: Facts, p: Mapping[str, Any]) -> Verdict:
    age = _age(f, f.alarm_verified)
    evidence = {"budgets_approved": f.alarm_budgets_approved, "verified": f.alarm_verified, "age_days": age,
                "flows": f.alarm_flows, "failing": f.alarm_failing}  # fmt: skip
    if f.alarm_budgets_approved == 0:
        return Status.GAP, "no approved alarm delivery budget: clinicians have not set the requirement", evidence
    if age is None:
        return Status.PARTIAL, f"{f.alarm_budgets_approved} approved budgets, never verified", evidence
    failing, flows = f.alarm_failing or 0, f.alarm_flows or 0
    reason = (f"{f.alarm_budgets_approved} approved budgets; verified {_ago(age)}: "
              f"{flows - failing} of {flows} flows within budget")  # fmt: skip
    if failing == 0 and age <= int(p.get("max_age_days", 90)):
        return Status.MET, reason, evidence
    return Status.PARTIAL, reason, evidence


def _audit_integrity(f: Facts, p: Mapping[str, Any]) -> Verdict:
    evidence = {"entries": f.audit_entries, "intact": f.audit_ok, "broken_id": f.audit_broken_id}
    if f.audit_ok is None:
        return Status.GAP, "the audit trail was not verified", evidence
    if not f.audit_ok:
        return Status.GAP, f"audit trail broken at entry #{f.audit_broken_id}: investigate", evidence
    if f.audit_entries == 0:
        return Status.PARTIAL, "the audit trail is intact but empty", evidence
    return Status.MET, f"audit trail intact: {f.audit_entries} entries, hash chain recomputed", evidence


def _risk_file(f: Facts, p: Mapping[str, Any]) -> Verdict:
    age = _age(f, f.risk_file_exported)
    evidence = {"exported": f.risk_file_exported, "age_days": age}
    if age is None:
        return Status.GAP, "the IEC 80001-1 risk-management file was never exported", evidence
    reason = f"risk-management file last exported {_ago(age)}"
    return (Status.MET if age <= int(p.get("max_age_days", 90)) else Status.PARTIAL), reason, evidence


def _incident_records(f: Facts, p: Mapping[str, Any]) -> Verdict:
    age = _age(f, f.last_incident)
    evidence = {"incidents": f.incidents, "last": f.last_incident, "age_days": age}
    if not f.incidents_available:
        return Status.GAP, "incident records are not kept by this installation yet", evidence
    if f.incidents == 0 or age is None:
        return Status.GAP, "no incident or exercise recorded from the playbooks", evidence
    reason = f"{f.incidents} incidents or exercises recorded; the newest {_ago(age)}"
    return (Status.MET if age <= int(p.get("max_age_days", 365)) else Status.PARTIAL), reason, evidence


def _training_current(f: Facts, p: Mapping[str, Any]) -> Verdict:
    lacking = {role: n for role, n in sorted(f.roles_lacking.items()) if n}
    evidence = {"people": f.people, "current": f.people_current, "records": f.training_records, "lacking": lacking}
    if f.people == 0:
        return Status.GAP, "nobody to train: no enabled account and no training record", evidence
    if f.training_records == 0:
        return Status.GAP, f"no training recorded for the {f.people} people who need it", evidence
    reason = f"{f.people_current} of {f.people} people hold every required course"
    if lacking:
        reason += "; not current: " + ", ".join(f"{role} {n}" for role, n in lacking.items())
    return _by_share(f.people_current / f.people, {"met": 1.0, "partial": p.get("partial", 0.8)}), reason, evidence


def _roles_assigned(f: Facts, p: Mapping[str, Any]) -> Verdict:
    wanted = [str(r) for r in p.get("roles", ())]
    missing = [r for r in wanted if not f.accounts_by_role.get(r)]
    evidence = {"accounts": dict(f.accounts_by_role), "missing": missing}
    held = ", ".join(f"{r} {f.accounts_by_role.get(r, 0)}" for r in wanted)
    if not missing:
        return Status.MET, f"every owning role has an enabled account ({held})", evidence
    status = Status.GAP if len(missing) == len(wanted) else Status.PARTIAL
    return status, f"no enabled account for {', '.join(missing)} ({held})", evidence


def _access_control(f: Facts, p: Mapping[str, Any]) -> Verdict:
    accounts = sum(f.accounts_by_role.values())
    evidence = {
        "accounts": accounts,
        "tokens_active": f.tokens_active,
        "tokens_without_expiry": f.tokens_without_expiry,
    }
    if accounts == 0:
        return Status.GAP, "no enabled account", evidence
    if f.tokens_without_expiry:
        return (Status.PARTIAL, f"{accounts} accounts, one role each; {f.tokens_without_expiry} of "
                f"{f.tokens_active} active API tokens never expire", evidence)  # fmt: skip
    return Status.MET, f"{accounts} accounts, one role each; all {f.tokens_active} active API tokens expire", evidence


def _models_share(f: Facts, held: int, p: Mapping[str, Any], what: str) -> Verdict:
    evidence = {"models": f.models, "with": held, "vex_statements": f.vex_statements}
    if f.models == 0:
        return Status.GAP, "no device models in the inventory", evidence
    reason = f"{held} of {f.models} device models have {what} on file ({_pct(held, f.models)})"
    return _by_share(held / f.models, {"met": p.get("met", 0.8), "partial": 0.0}), reason, evidence


def _mds2_collected(f: Facts, p: Mapping[str, Any]) -> Verdict:
    return _models_share(f, f.models_with_mds2, p, "an MDS2 form")


def _sbom_vex_collected(f: Facts, p: Mapping[str, Any]) -> Verdict:
    status, reason, evidence = _models_share(f, f.models_with_sbom, p, "an SBOM")
    if f.models == 0:
        return status, reason, evidence
    reason += f"; {f.vex_statements} findings settled by VEX"
    if status is Status.MET and f.vex_statements == 0:
        return Status.PARTIAL, reason, evidence
    if status is Status.GAP and f.vex_statements:
        return Status.PARTIAL, reason, evidence
    return status, reason, evidence


def _recalls_monitored(f: Facts, p: Mapping[str, Any]) -> Verdict:
    age = _age(f, f.intel_matched)
    evidence = {"recall_data": "openfda" in f.intel_kinds, "matched": f.intel_matched, "age_days": age,
                "recalls_matched": f.recall_findings}  # fmt: skip
    if "openfda" not in f.intel_kinds or age is None:
        return Status.GAP, "no openFDA recall data imported: recalls are not matched to devices", evidence
    reason = f"openFDA recalls matched {_ago(age)}; {f.recall_findings} recalls concern devices in the inventory"
    return (Status.MET if age <= int(p.get("max_age_days", 30)) else Status.PARTIAL), reason, evidence


#: The evidence rules, by the name the catalogue uses.
RULES: dict[str, Rule] = {
    "inventory_identified": _inventory_identified,
    "criticality_classified": _criticality_classified,
    "passive_discovery": _passive_discovery,
    "intel_freshness": _intel_freshness,
    "risk_scoring": _risk_scoring,
    "risk_acceptances": _risk_acceptances,
    "remediation_sla": _remediation_sla,
    "network_segmentation": _network_segmentation,
    "attack_paths": _attack_paths,
    "alarm_assurance": _alarm_assurance,
    "audit_integrity": _audit_integrity,
    "risk_file": _risk_file,
    "incident_records": _incident_records,
    "training_current": _training_current,
    "roles_assigned": _roles_assigned,
    "access_control": _access_control,
    "mds2_collected": _mds2_collected,
    "sbom_vex_collected": _sbom_vex_collected,
    "recalls_monitored": _recalls_monitored,
}


def assess(catalogue: Catalogue, facts: Facts) -> tuple[Assessment, ...]:
    """Every control judged on ``facts``, in the catalogue's order."""
    judged = []
    for control in catalogue.controls:
        status, reason, evidence = RULES[control.rule](facts, control.params)
        judged.append(Assessment(control=control, status=status, reason=reason, evidence=evidence))
    return tuple(judged)


# ------------------------------------------------------------------------------------------------------- coverage


@dataclass(frozen=True, slots=True)
class ItemCoverage:
    """A framework item and the evidence for it."""

    item: FrameworkItem
    """The item."""
    status: Status
    """The best status of the controls mapped to it; gap when none is."""
    reason: str
    """The reason of that control, or :data:`NOT_COVERED`."""
    controls: tuple[Assessment, ...]
    """Every control mapped to it, best first."""


@dataclass(frozen=True, slots=True)
class FrameworkCoverage:
    """One framework's items with their status."""

    framework: Framework
    """The framework."""
    items: tuple[ItemCoverage, ...]
    """In the framework's order."""

    @property
    def counts(self) -> dict[str, int]:
        """Items per status (met, partial, gap)."""
        return {s.value: sum(1 for i in self.items if i.status is s) for s in Status}


def coverage(catalogue: Catalogue, framework: str, assessments: Iterable[Assessment]) -> FrameworkCoverage:
    """Each item of ``framework`` with the best status of the controls mapped to it (:class:`KeyError` if the
    framework is unknown)."""
    chosen = catalogue.frameworks[framework]
    judged = list(assessments)
    items = []
    for item in chosen.items:
        mapped = [a for a in judged if item.ref in a.control.refs.get(framework, ())]
        mapped.sort(key=lambda a: -a.status.rank)  # stable: catalogue order among equals
        if mapped:
            items.append(ItemCoverage(item, mapped[0].status, mapped[0].reason, tuple(mapped)))
        else:
            items.append(ItemCoverage(item, Status.GAP, NOT_COVERED, ()))
    return FrameworkCoverage(framework=chosen, items=tuple(items))


# ------------------------------------------------------------------------------------------------------- training


@dataclass(frozen=True, slots=True)
class Course:
    """A training course the policy knows."""

    id: str
    """Key, e.g. ``cyber-awareness``."""
    title: str
    """Name for people."""
    valid_days: int | None
    """How long a completion counts (``None``: it does not expire)."""


@dataclass(frozen=True, slots=True)
class TrainingPolicy:
    """Courses and the roles that must hold them."""

    version: str
    """The data file's version."""
    courses: Mapping[str, Course]
    """By id."""
    required: Mapping[str, tuple[str, ...]]
    """Role (or ``*`` for everyone) -> course ids."""

    def required_for(self, role: str) -> tuple[str, ...]:
        """The courses a person of ``role`` must hold: everyone's, then the role's own."""
        everyone = self.required.get("*", ())
        return everyone + tuple(c for c in self.required.get(role, ()) if c not in everyone)


def training_policy_from_mapping(document: Mapping[str, Any], roles: Iterable[str]) -> TrainingPolicy:
    """Check the parsed training policy; ``roles`` are the role names it may require courses of."""
    version = _text(document.get("version"), "version")
    courses: dict[str, Course] = {}
    for key, body in _mapping(document.get("courses"), "courses").items():
        spec = _mapping(body, f"courses.{key}")
        days = spec.get("valid_days")
        if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
            raise GovernanceDataError(f"courses.{key}.valid_days: expected a whole number of days >= 1, got {days!r}")
        courses[str(key)] = Course(id=str(key), title=_text(spec.get("title"), f"courses.{key}.title"),
                                   valid_days=days)  # fmt: skip
    known_roles = {*roles, "*"}
    required: dict[str, tuple[str, ...]] = {}
    for role, listed in _mapping(document.get("required"), "required").items():
        if role not in known_roles:
            raise GovernanceDataError(f"required: unknown role {role!r}; known: {', '.join(sorted(known_roles))}")
        ids = tuple(_text(c, f"required.{role}") for c in _list(listed, f"required.{role}"))
        for course in ids:
            if course not in courses:
                raise GovernanceDataError(f"required.{role}: unknown course {course!r}")
        required[str(role)] = ids
    return TrainingPolicy(version=version, courses=courses, required=required)


@dataclass(frozen=True, slots=True)
class TrainingRecord:
    """Who completed which course, when, until when."""

    id: int
    """The record's id."""
    username: str
    """An account's login or a person's name."""
    role: str
    """The role the course counts for."""
    course: str
    """The course id (or free text)."""
    completed_on: date
    """When it was completed."""
    expires_on: date | None
    """When it stops counting (``None``: never)."""
    evidence: str = ""
    """Certificate reference or note."""
    recorded_by: str = ""
    """Who recorded it."""


def expiry_for(
    policy: TrainingPolicy, course: str, completed_on: date, *, expires_on: date | None, valid_days: int | None
) -> date | None:
    """When a completion stops counting: ``expires_on`` if given, else ``completed_on`` + ``valid_days``, else the
    course's validity, else never.  :class:`TrainingInputError` for an expiry before completion or ``valid_days``
    below 1, and when both are given."""
    if expires_on is not None and valid_days is not None:
        raise TrainingInputError("give either an expiry date or a validity in days, not both")
    if valid_days is not None and valid_days < 1:
        raise TrainingInputError(f"validity of {valid_days} days: give 1 or more")
    if expires_on is not None:
        if expires_on < completed_on:
            raise TrainingInputError(f"expiry {expires_on} is before completion {completed_on}")
        return expires_on
    known = policy.courses.get(course)
    days = valid_days if valid_days is not None else (known.valid_days if known else None)
    if days is None:
        return None
    try:
        return completed_on + timedelta(days=days)
    except OverflowError:
        raise TrainingInputError(f"{completed_on} + {days} days is past the last date there is") from None


def record_state(record: TrainingRecord, today: date, soon_days: int) -> str:
    """``expired``, ``expiring`` (within ``soon_days``), ``current``, or ``future`` (completed after today)."""
    if record.completed_on > today:
        return "future"
    if record.expires_on is None:
        return "current"
    if record.expires_on < today:
        return "expired"
    return "expiring" if (record.expires_on - today).days <= soon_days else "current"


def outlasts(record: TrainingRecord, held: TrainingRecord | None) -> bool:
    """Whether ``record`` counts longer than ``held`` (no expiry beats any date; ``None`` is beaten by anything)."""
    if held is None:
        return True
    if held.expires_on is None:
        return False
    return record.expires_on is None or record.expires_on > held.expires_on


@dataclass(frozen=True, slots=True)
class PersonTraining:
    """One person's standing against the courses their role requires."""

    username: str
    """Who."""
    role: str
    """Their role."""
    required: tuple[str, ...]
    """The courses they must hold."""
    missing: tuple[str, ...]
    """Required courses with no valid completion today (never done, or expired)."""
    expiring: tuple[str, ...]
    """Required courses held but expiring within the window."""

    @property
    def current(self) -> bool:
        """Every required course held today."""
        return not self.missing


def people_status(
    policy: TrainingPolicy,
    people: Sequence[tuple[str, str]],
    records: Iterable[TrainingRecord],
    today: date,
    soon_days: int = 30,
) -> list[PersonTraining]:
    """Each person's standing: ``people`` are (username, role) pairs; a course counts when one of the person's
    records of it was completed by ``today`` and has not expired (the latest expiry wins)."""
    best: dict[tuple[str, str], TrainingRecord] = {}
    for record in records:
        if record.completed_on > today:
            continue
        key = (record.username, record.course)
        if outlasts(record, best.get(key)):
            best[key] = record
    standing = []
    for username, role in people:
        required = policy.required_for(role)
        missing, expiring = [], []
        for course in required:
            found = best.get((username, course))
            state = "expired" if found is None else record_state(found, today, soon_days)
            if state == "expired":
                missing.append(course)
            elif state == "expiring":
                expiring.append(course)
        standing.append(PersonTraining(username, role, required, tuple(missing), tuple(expiring)))
    return standing
