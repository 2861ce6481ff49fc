"""Governance evidence: framework coverage judged on live data, training records, the IEC 80001-1 risk file.

* :func:`collect_facts` counts what the other capabilities stored (inventory, discovery, intelligence, risk,
  acceptances, remediation, the network model and its analyses, alarm assurance, the audit chain, accounts,
  tokens, MDS2 forms, SBOMs, VEX, recalls, incidents and training) into a :class:`~wardwatch.domain.governance.Facts`;
  :func:`governance` judges every control of ``data/governance/controls.yaml`` on them and gives each framework's
  coverage, gaps first (``governance:read``).
* :func:`add_training` records a completed course (``training:write``, audited); :func:`list_training` lists the
  records and each person's standing against ``data/governance/training.yaml`` (``governance:read``).
* :func:`risk_file_data` gathers the IEC 80001-1 risk-management file and :func:`risk_file` renders it as one
  self-contained HTML document (``templates/governance_80001.html``); each export is audited, and the audit entry
  is the evidence of the ``risk-file`` control.

The audit chain is recomputed in full for every assessment (it streams the table: about ten seconds per million
entries); only its state is reported, never its entries, so ``governance:read`` is enough to see it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Connection, Engine, func, insert, inspect, select

from wardwatch import __version__
from wardwatch.domain import governance as gov
from wardwatch.domain.matching import IntelIndex, model_key
from wardwatch.domain.permissions import SYSTEM, Permission, Principal, Role, require
from wardwatch.reference import manufacturer_catalog
from wardwatch.services import audit
from wardwatch.services.network_analysis import NoNetworkModel, check, find_attack_paths, load_context
from wardwatch.store import schema as s
from wardwatch.store.database import ensure_ready
from wardwatch.store.inventory import aware
from wardwatch.store.vuln_findings import matched_at

__all__ = [
    "FRAMEWORKS",
    "RISK_FILE_ACTION",
    "add_training",
    "collect_facts",
    "governance",
    "json_ready",
    "list_training",
    "load_catalogue",
    "load_training_policy",
    "risk_file",
    "risk_file_data",
]

#: The framework keys, in display order.
FRAMEWORKS = ("csf", "hicp", "80001", "tjc")
#: The audit action of an export of the risk-management file (the evidence of the ``risk-file`` control).
RISK_FILE_ACTION = "governance.risk_file"
#: Days ahead a training record counts as expiring.
EXPIRING_DAYS = 30
_PACKAGE = "wardwatch.data"
_LIFE = "life-sustaining"
_TOP_RISKS = 20
_LISTED = 50

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    auto_reload=False,
)


def _yaml(name: str) -> dict[str, Any]:
    text = resources.files(_PACKAGE).joinpath("governance").joinpath(name).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise gov.GovernanceDataError(f"data/governance/{name} is not a mapping")
    return data


@cache
def load_catalogue() -> gov.Catalogue:
    """The packaged control catalogue (checked once per process)."""
    return gov.catalogue_from_mapping(_yaml("controls.yaml"))


@cache
def load_training_policy() -> gov.TrainingPolicy:
    """The packaged training policy (checked once per process)."""
    return gov.training_policy_from_mapping(_yaml("training.yaml"), [r.value for r in Role])


def json_ready(value: Any) -> Any:
    """JSON-ready: dates as ISO text, mappings and sequences recursively."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_ready(v) for v in value]
    return value


def _day(value: datetime | None) -> date | None:
    return None if value is None else aware(value).date()


# ---------------------------------------------------------------------------------------------------------- facts


def _count(connection: Connection, table: Any, *where: Any) -> int:
    return int(connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _inventory_facts(connection: Connection) -> dict[str, Any]:
    d = s.devices.c
    versioned = d.software_version.is_not(None) | d.firmware_version.is_not(None) | d.os_version.is_not(None)
    seen = select(func.count(func.distinct(s.observations.c.device_id)))
    pairs = connection.execute(select(d.manufacturer, d.model).where(d.model.is_not(None), d.model != "").distinct())
    index = IntelIndex(manufacturer_catalog().normalize)
    models = {(index.vendor_key(m or ""), model_key(m, n)) for m, n in pairs}
    mds2 = set(connection.execute(select(s.model_security.c.vendor_key, s.model_security.c.model_key)))
    sboms = set(connection.execute(select(s.sbom_links.c.vendor_key, s.sbom_links.c.model_key)))
    return {
        "devices": _count(connection, s.devices),
        "devices_identified": _count(connection, s.devices, d.model.is_not(None), d.model != "", versioned),
        "devices_classified": _count(connection, s.devices, d.criticality.is_not(None), d.criticality != "unknown"),
        "devices_seen": int(connection.execute(seen).scalar_one()),
        "last_discovery": _day(connection.execute(
            select(func.max(s.sources.c.imported_at)).where(s.sources.c.kind == "discovery")).scalar()),
        "models": len(models),
        "models_with_mds2": len(models & mds2),
        "models_with_sbom": len(models & sboms),
    }  # fmt: skip


def _intel_risk_facts(connection: Connection, now: datetime) -> dict[str, Any]:
    v, r, a = s.vulnerability_findings.c, s.risk_scores.c, s.risk_acceptances.c
    open_finding = (v.resolved_at.is_(None), v.suppressed.is_(False))
    newest = connection.execute(select(r.scored_at, r.policy_version).order_by(r.scored_at.desc()).limit(1)).first()
    today = now.date()
    return {
        "intel_matched": _day(matched_at(connection)),
        "intel_kinds": frozenset(str(k) for k in connection.execute(select(s.intel_files.c.kind).distinct()).scalars()),
        "open_findings": _count(connection, s.vulnerability_findings, *open_finding),
        "vex_statements": _count(connection, s.vulnerability_findings, v.vex_status.is_not(None)),
        "recall_findings": _count(connection, s.vulnerability_findings, v.source == "fda-recall", *open_finding),
        "devices_scored": _count(connection, s.risk_scores),
        "last_scored": None if newest is None else _day(newest.scored_at),
        "policy_version": None if newest is None else newest.policy_version,
        "rubric_models": int(connection.execute(select(func.count()).select_from(
            select(s.rubric_answers.c.manufacturer, s.rubric_answers.c.model).distinct().subquery())).scalar_one()),
        "acceptances": _count(connection, s.risk_acceptances),
        "acceptances_active": _count(connection, s.risk_acceptances, a.revoked_at.is_(None), a.expires_on >= today),
        "acceptances_lapsed": _count(connection, s.risk_acceptances, a.revoked_at.is_(None), a.expires_on < today),
    }  # fmt: skip


def _remediation_facts(connection: Connection, now: datetime) -> dict[str, Any]:
    m = s.remediation_items.c
    return {
        "remediation_items": _count(connection, s.remediation_items),
        "remediation_open": _count(connection, s.remediation_items, m.closed_at.is_(None)),
        "remediation_overdue": _count(connection, s.remediation_items, m.closed_at.is_(None), m.due_at < now),
        "remediation_closed_late": _count(connection, s.remediation_items, m.closed_at.is_not(None),
                                          m.due_at.is_not(None), m.closed_at > m.due_at),
    }  # fmt: skip


def _alarm_facts(connection: Connection) -> dict[str, Any]:
    w = s.alarm_verifications.c
    last = connection.execute(select(w.created_at, w.flows, w.failing).order_by(w.id.desc()).limit(1)).first()
    return {
        "alarm_budgets_approved": _count(connection, s.alarm_budgets, s.alarm_budgets.c.status == "approved"),
        "alarm_verified": None if last is None else _day(last.created_at),
        "alarm_flows": None if last is None else int(last.flows),
        "alarm_failing": None if last is None else int(last.failing),
    }


def _incident_facts(connection: Connection) -> dict[str, Any]:
    """Incident records, when this installation keeps them (the ``incidents`` table of revision 0011)."""
    table = s.metadata.tables.get("incidents")
    if table is None or "opened_at" not in table.c or not inspect(connection).has_table(table.name):
        return {"incidents_available": False}
    last = connection.execute(select(func.max(table.c.opened_at))).scalar()
    return {"incidents_available": True, "incidents": _count(connection, table), "last_incident": _day(last)}


def _accounts(connection: Connection) -> list[tuple[str, str]]:
    u = s.users.c
    rows = connection.execute(select(u.username, u.role).where(u.disabled.is_(False)).order_by(u.username))
    return [(str(name), str(role)) for name, role in rows]


def _records(connection: Connection) -> list[gov.TrainingRecord]:
    t = s.training_records.c
    rows = connection.execute(select(t.id, t.username, t.role, t.course, t.completed_on, t.expires_on, t.evidence,
                                     t.recorded_by).order_by(t.completed_on.desc(), t.id.desc()))  # fmt: skip
    return [gov.TrainingRecord(r.id, r.username, r.role, r.course, r.completed_on, r.expires_on, str(r.evidence),
                               str(r.recorded_by)) for r in rows]  # fmt: skip


def _people(accounts: Sequence[tuple[str, str]], records: Sequence[gov.TrainingRecord]) -> list[tuple[str, str]]:
    """Enabled accounts, then people known only from training records (with their newest record's role)."""
    people = list(accounts)
    known = {name for name, _ in accounts}
    for record in records:  # newest first
        if record.username not in known:
            known.add(record.username)
            people.append((record.username, record.role))
    return people


def _people_facts(connection: Connection, now: datetime) -> dict[str, Any]:
    accounts = _accounts(connection)
    records = _records(connection)
    standing = gov.people_status(load_training_policy(), _people(accounts, records), records, now.date())
    tokens = s.api_tokens.c
    live = (tokens.revoked_at.is_(None), (tokens.expires_at.is_(None)) | (tokens.expires_at > now))
    return {
        "people": len(standing),
        "people_current": sum(1 for p in standing if p.current),
        "training_records": len(records),
        "roles_lacking": dict(Counter(p.role for p in standing if not p.current)),
        "accounts_by_role": dict(Counter(role for _, role in accounts)),
        "tokens_active": _count(connection, s.api_tokens, *live),
        "tokens_without_expiry": _count(connection, s.api_tokens, *live, tokens.expires_at.is_(None)),
        "audit_entries": _count(connection, s.audit_log),
        "risk_file_exported": _day(connection.execute(select(func.max(s.audit_log.c.at)).where(
            s.audit_log.c.action == RISK_FILE_ACTION, s.audit_log.c.outcome == "success")).scalar()),
    }  # fmt: skip


#: The network facts last computed per database, with the state of their inputs: the conformance check and the
#: attack paths take tens of seconds on a big hospital, and /governance and the board report read them on every view.
_network_memo: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}


def _network_inputs(connection: Connection) -> tuple[Any, ...]:
    """What the network analyses read: the model's files, the hosts (devices and their findings) and the flows."""
    nf, d, f, c = s.network_files.c, s.devices.c, s.vulnerability_findings.c, s.conversations.c
    parts = [
        select(func.count()).select_from(s.network_files), select(func.max(nf.imported_at)),
        select(func.count()).select_from(s.devices), select(func.max(d.updated_at)),
        select(func.count()).where(f.resolved_at.is_(None), f.suppressed.is_(False)), select(func.max(f.last_seen)),
        select(func.count()).select_from(s.conversations), select(func.max(c.last_seen)),
    ]  # fmt: skip
    return tuple(connection.execute(select(*(part.scalar_subquery() for part in parts))).one())


def _network_facts(engine: Engine) -> dict[str, Any]:
    """Violations and attack paths to life-critical devices, recomputed only when their inputs changed."""
    with engine.connect() as connection:
        inputs = _network_inputs(connection)
    files, imported = inputs[0], inputs[1]
    if not files:
        return {}
    key = engine.url.render_as_string(hide_password=True)
    memo = _network_memo.get(key)
    if memo is not None and memo[0] == inputs:
        return dict(memo[1])
    try:
        context = load_context(engine)
    except NoNetworkModel:
        return {"network_files": files, "network_imported": _day(imported)}
    found = check(engine, context)
    severe = sum(n for level, n in found["by_severity"].items() if level in ("high", "critical"))
    paths = find_attack_paths(context, to=_LIFE, top=1000)
    facts = {"network_files": files, "network_imported": _day(imported), "violations": len(found["violations"]),
             "violations_severe": severe, "attack_paths_life": len(paths)}  # fmt: skip
    _network_memo[key] = (inputs, facts)
    return dict(facts)


def collect_facts(engine: Engine, *, now: datetime | None = None) -> gov.Facts:
    """Count the live data into :class:`~wardwatch.domain.governance.Facts` (no permission check: callers do)."""
    ensure_ready(engine)
    moment = now or datetime.now(UTC)
    values: dict[str, Any] = {"as_of": moment.date()}
    with engine.connect() as connection:
        values.update(_inventory_facts(connection))
        values.update(_intel_risk_facts(connection, moment))
        values.update(_remediation_facts(connection, moment))
        values.update(_alarm_facts(connection))
        values.update(_incident_facts(connection))
        values.update(_people_facts(connection, moment))
    values.update(_network_facts(engine))
    chain, _ = audit.recent_verification(engine, SYSTEM)  # only its state is reported (reused when slow)
    values.update(audit_ok=chain.ok, audit_broken_id=chain.broken_id, audit_entries=chain.entries)
    return gov.Facts(**values)


# ------------------------------------------------------------------------------------------------------- coverage


def _assessment_json(a: gov.Assessment) -> dict[str, Any]:
    return {"id": a.control.id, "title": a.control.title, "about": a.control.about, "status": a.status.value,
            "reason": a.reason, "evidence": json_ready(a.evidence)}  # fmt: skip


def _coverage_json(found: gov.FrameworkCoverage) -> dict[str, Any]:
    items = sorted(found.items, key=lambda i: i.status.rank)  # gaps first, the framework's order within
    return {
        "key": found.framework.key,
        "name": found.framework.name,
        "source": found.framework.source,
        "counts": found.counts,
        "items": [
            {"ref": i.item.ref, "title": i.item.title, "group": i.item.group, "verified": i.item.verified,
             "status": i.status.value, "reason": i.reason, "covered": bool(i.controls),
             "controls": [{"id": a.control.id, "title": a.control.title, "status": a.status.value} for a in i.controls]}
            for i in items
        ],
    }  # fmt: skip


def _check_framework(framework: str | None) -> None:
    if framework is not None and framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}")


def governance(
    engine: Engine, principal: Principal, framework: str | None = None, *, now: datetime | None = None
) -> dict[str, Any]:
    """Every control judged on live data, and the coverage of ``framework`` (default: all four), gaps first;
    needs ``governance:read``.  ``ValueError`` names the frameworks when ``framework`` is unknown."""
    require(principal, Permission.GOVERNANCE_READ)
    _check_framework(framework)
    catalogue = load_catalogue()
    facts = collect_facts(engine, now=now)
    judged = gov.assess(catalogue, facts)
    keys = [framework] if framework else list(FRAMEWORKS)
    return {
        "catalogue_version": catalogue.version,
        "as_of": facts.as_of.isoformat(),
        "frameworks": [_coverage_json(gov.coverage(catalogue, key, judged)) for key in keys],
        "controls": [_assessment_json(a) for a in judged],
    }


# ------------------------------------------------------------------------------------------------------- training


def _record_json(record: gov.TrainingRecord, today: date, soon: int) -> dict[str, Any]:
    known = load_training_policy().courses.get(record.course)
    return {**json_ready(asdict(record)), "course_title": known.title if known else record.course,
            "state": gov.record_state(record, today, soon)}  # fmt: skip


def add_training(
    engine: Engine,
    principal: Principal,
    username: str,
    course: str,
    completed_on: date,
    *,
    expires_on: date | None = None,
    valid_days: int | None = None,
    role: str | None = None,
    evidence: str = "",
    address: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Record that ``username`` (an account's login or a person's name) completed ``course``; needs
    ``training:write``; audited.  The role defaults to the account's; the expiry to the course's validity
    (:func:`wardwatch.domain.governance.expiry_for`).  ``ValueError`` says what to fix."""
    require(principal, Permission.TRAINING_WRITE)
    ensure_ready(engine)
    name, course_id = " ".join(username.split()), course.strip()
    if not name or len(name) > 200:
        raise ValueError("the person's name or login must be 1 to 200 characters")
    if not course_id or len(course_id) > 100:
        raise ValueError("the course must be 1 to 100 characters (a course id of training.yaml, or a title)")
    if completed_on > (today or datetime.now(UTC).date()):
        raise ValueError(f"completion date {completed_on} is in the future; record training once it is completed")
    policy = load_training_policy()
    expiry = gov.expiry_for(policy, course_id, completed_on, expires_on=expires_on, valid_days=valid_days)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        account = connection.execute(
            select(s.users.c.username, s.users.c.role).where(s.users.c.username == name.lower())
        ).first()  # fmt: skip
        if account is not None:
            name = str(account.username)
        chosen = role or (str(account.role) if account is not None else None)
        if chosen is None:
            raise ValueError(f"{name!r} is not a Wardwatch account: give the role the training counts for (--role)")
        if chosen not in {r.value for r in Role}:
            raise ValueError(f"unknown role {chosen!r}; choose one of {', '.join(r.value for r in Role)}")
        note = evidence.strip()[:2000]
        values = {"username": name, "role": chosen, "course": course_id, "completed_on": completed_on,
                  "expires_on": expiry, "evidence": note, "recorded_by": principal.username,
                  "recorded_at": now}  # fmt: skip
        record_id = int(connection.execute(insert(s.training_records).values(**values).returning(
            s.training_records.c.id)).scalar_one())  # fmt: skip
        audit.record(connection, principal.username, "training.add", target=f"{name}: {course_id}"[:300],
                     detail={"id": record_id, "role": chosen, "completed_on": completed_on, "expires_on": expiry},
                     address=address)  # fmt: skip
    record = gov.TrainingRecord(record_id, name, chosen, course_id, completed_on, expiry, note,
                                principal.username)  # fmt: skip
    return _record_json(record, now.date(), EXPIRING_DAYS)


def list_training(
    engine: Engine, principal: Principal, *, expiring_days: int | None = None, today: date | None = None
) -> dict[str, Any]:
    """The training records (newest first) with their state, each person's standing and the summary per role;
    needs ``governance:read``.  With ``expiring_days`` only the records that count today and expire within that many
    days, or that expired and were not renewed."""
    require(principal, Permission.GOVERNANCE_READ)
    ensure_ready(engine)
    if expiring_days is not None and expiring_days < 0:
        raise ValueError("--expiring-days must be 0 or more")
    day = today or datetime.now(UTC).date()
    soon = EXPIRING_DAYS if expiring_days is None else expiring_days
    policy = load_training_policy()
    with engine.connect() as connection:
        accounts, records = _accounts(connection), _records(connection)
    standing = gov.people_status(policy, _people(accounts, records), records, day, soon)
    shown = records
    if expiring_days is not None:
        latest: dict[tuple[str, str], gov.TrainingRecord] = {}
        for record in records:
            if gov.outlasts(record, latest.get((record.username, record.course))):
                latest[(record.username, record.course)] = record
        wanted = {r.id for r in latest.values() if gov.record_state(r, day, soon) in ("expiring", "expired")}
        shown = [r for r in records if r.id in wanted]
    roles: dict[str, dict[str, int]] = {}
    for person in standing:
        summary = roles.setdefault(person.role, {"people": 0, "current": 0})
        summary["people"] += 1
        summary["current"] += int(person.current)
    return {
        "as_of": day.isoformat(),
        "policy_version": policy.version,
        "expiring_days": soon,
        "courses": {c.id: {"title": c.title, "valid_days": c.valid_days} for c in policy.courses.values()},
        "required": {role: list(ids) for role, ids in policy.required.items()},
        "records": [_record_json(r, day, soon) for r in shown],
        "people": [
            {
                "username": p.username,
                "role": p.role,
                "required": list(p.required),
                "missing": list(p.missing),
                "expiring": list(p.expiring),
                "current": p.current,
            }
            for p in standing
        ],  # fmt: skip
        "roles": dict(sorted(roles.items())),
    }


# -------------------------------------------------------------------------------------------- IEC 80001-1 file


def _top_risks(connection: Connection, top: int) -> list[dict[str, Any]]:
    r, d, u = s.risk_scores.c, s.devices.c, s.units.c
    query = (
        select(r.device_id, r.score, r.level, r.ssvc, r.ssvc_vulnerability, r.policy_version, d.asset_tag,
               d.manufacturer, d.model, d.device_type, d.criticality, u.department, s.risk_explanations.c.explanation)
        .join(s.devices, s.devices.c.id == r.device_id)
        .outerjoin(s.units, s.units.c.id == d.unit_id)
        .join(s.risk_explanations, s.risk_explanations.c.id == r.explanation_id)
        .order_by(r.score.desc(), r.device_id)
        .limit(top)
    )  # fmt: skip
    risks = []
    for row in connection.execute(query):
        explanation = json.loads(row.explanation)
        risks.append({
            "device_id": row.device_id, "device": row.asset_tag or f"device {row.device_id}",
            "what": " ".join(x for x in (row.manufacturer, row.model) if x) or "unknown model",
            "device_type": row.device_type, "criticality": row.criticality, "unit": row.department,
            "score": round(float(row.score), 1), "level": row.level, "ssvc": row.ssvc,
            "vulnerability": row.ssvc_vulnerability, "summary": explanation.get("summary", ""),
            "likelihood": list(explanation.get("likelihood", {}).get("because", [])),
            "severity": list(explanation.get("severity", {}).get("because", [])),
        })  # fmt: skip
    return risks


def _controls_in_place(connection: Connection, today: date) -> dict[str, Any]:
    a, m, d = s.risk_acceptances.c, s.remediation_items.c, s.devices.c
    acceptances = connection.execute(
        select(a.id, a.vulnerability_id, a.approver, a.justification, a.controls, a.expires_on, a.created_at,
               d.asset_tag, a.device_id)
        .join(s.devices, s.devices.c.id == a.device_id)
        .where(a.revoked_at.is_(None), a.expires_on >= today).order_by(a.expires_on).limit(_LISTED)
    ).all()  # fmt: skip
    items = connection.execute(
        select(m.title, m.manufacturer, m.model, m.vulnerability_id, m.devices, m.state, m.priority, m.due_at,
               m.controls, m.fix).where(m.closed_at.is_(None)).order_by(m.due_at.is_(None), m.due_at).limit(_LISTED)
    ).all()  # fmt: skip
    network = connection.execute(
        select(
            s.network_files.c.kind, s.network_files.c.original, s.network_files.c.sha256, s.network_files.c.imported_at
        ).order_by(s.network_files.c.position)
    ).all()
    by_state: dict[str, int] = dict(connection.execute(select(m.state, func.count()).group_by(m.state)).all())
    return {
        "acceptances": [{"device": r.asset_tag or f"device {r.device_id}", "vulnerability": r.vulnerability_id or
                         "whole device", "approver": r.approver, "justification": r.justification,
                         "controls": json.loads(r.controls or "[]"), "expires_on": r.expires_on} for r in acceptances],
        "remediation": [{**r._asdict(), "controls": json.loads(r.controls) if r.controls else [],
                         "due_at": None if r.due_at is None else aware(r.due_at)} for r in items],
        "remediation_by_state": by_state,
        "network_files": [{**r._asdict(), "imported_at": aware(r.imported_at)} for r in network],
    }  # fmt: skip


def _tally(connection: Connection, column: Any) -> dict[str, int]:
    """Rows per value of ``column`` (absent: ``unknown``), most first."""
    counts: Counter[str] = Counter()
    for value, n in connection.execute(select(column, func.count()).group_by(column)):
        counts[value or "unknown"] += int(n)
    return dict(counts.most_common())


def _scope(connection: Connection) -> dict[str, Any]:
    d = s.devices.c
    accounts = connection.execute(
        select(s.users.c.username, s.users.c.display_name, s.users.c.role)
        .where(s.users.c.disabled.is_(False))
        .order_by(s.users.c.role, s.users.c.username)
    )
    return {
        "sites": [str(n) for n in connection.execute(select(s.sites.c.name).order_by(s.sites.c.name)).scalars()],
        "units": _count(connection, s.units),
        "by_criticality": _tally(connection, d.criticality),
        "by_type": dict(list(_tally(connection, d.device_type).items())[:12]),
        "levels": _tally(connection, s.risk_scores.c.level),
        "accounts": [{"username": u, "name": n, "role": r} for u, n, r in accounts],
    }


def risk_file_data(engine: Engine, principal: Principal, *, now: datetime | None = None) -> dict[str, Any]:
    """The IEC 80001-1 risk-management file from live data: scope, responsibilities and competence, the inventory,
    the top risks with their explanation, the risk controls (remediation, acceptances, network model), residual
    risk, and the record of verification (audit chain, alarm verification, 80001 coverage); ``governance:read``."""
    require(principal, Permission.GOVERNANCE_READ)
    moment = now or datetime.now(UTC)
    catalogue = load_catalogue()
    facts = collect_facts(engine, now=moment)
    judged = gov.assess(catalogue, facts)
    with engine.connect() as connection:
        scope = _scope(connection)
        risks = _top_risks(connection, _TOP_RISKS)
        controls = _controls_in_place(connection, moment.date())
        chain_hash = audit.last_hash(connection)
    training = list_training(engine, principal, today=moment.date())
    policy = load_training_policy()
    return {
        "title": "IEC 80001-1 risk-management file",
        "generated_at": moment,
        "generated_by": principal.username,
        "version": __version__,
        "catalogue_version": catalogue.version,
        "scope": scope,
        "facts": json_ready(asdict(facts)),
        "training": [
            {"role": role, "courses": [policy.courses[c].title for c in policy.required_for(role)], **counts}
            for role, counts in training["roles"].items()
        ],  # fmt: skip
        "risks": risks,
        "controls": controls,
        "assessments": [_assessment_json(a) for a in judged],
        "coverage": _coverage_json(gov.coverage(catalogue, "80001", judged)),
        "audit": {
            "ok": facts.audit_ok,
            "entries": facts.audit_entries,
            "broken_id": facts.audit_broken_id,
            "last_hash": None if chain_hash == audit.GENESIS else chain_hash,
        },  # fmt: skip
    }


def risk_file(
    engine: Engine, principal: Principal, *, address: str | None = None, now: datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """The risk-management file as self-contained HTML (and its data); the export is audited."""
    data = risk_file_data(engine, principal, now=now)
    html = _templates.get_template("governance_80001.html").render(r=data, version=__version__)
    audit.record_now(engine, principal.username, RISK_FILE_ACTION, target="IEC 80001-1 risk-management file",
                     detail={"risks": len(data["risks"]), "catalogue": data["catalogue_version"]},
                     address=address)  # fmt: skip
    return html, data
