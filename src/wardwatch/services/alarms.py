"""Clinical alarm assurance: the stored alarm topology, clinicians' versioned budgets, verification runs (the V&V
evidence) and observed deliveries.

* ``import_topology`` checks a topology YAML (a bad field fails before anything is stored) and keeps it as a new
  version; budgets the file carries are taken only for keys Wardwatch has no budget for yet (a clinician's approval
  is never overwritten by a file).
* Budgets are versioned: ``propose_budget`` adds a draft version, ``approve_budget`` puts it in force (the previous
  approved version becomes *superseded*) and re-verifies.  Clinicians may only set and approve their own unit's.
* ``verify`` runs :mod:`wardwatch.domain.alarm_verify` on the current topology with the budgets in force, adds the
  recommendations, and stores the report with the topology version, who ran it and when.
* ``import_deliveries`` stores delivery records (idempotent: a record is one source, recipient and send time);
  ``monitoring`` summarises them against the budgets in force.

Every function takes the acting :class:`~wardwatch.domain.permissions.Principal` and checks its permission, and
every change is written to the audit trail in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from wardwatch.domain.alarm_model import AlarmTopology, Budget, DeliveryRecord, Priority
from wardwatch.domain.alarm_monitor import summarize
from wardwatch.domain.alarm_recommend import Recommendation, recommend
from wardwatch.domain.alarm_verify import FlowResult, Route, Verification, describe
from wardwatch.domain.permissions import SYSTEM, Permission, PermissionDenied, Principal, require
from wardwatch.ingest.alarm_deliveries import read_delivery_records
from wardwatch.ingest.alarm_topology import parse_alarm_topology
from wardwatch.ingest.errors import IngestError
from wardwatch.services import audit
from wardwatch.services.alarm_parallel import verify_parallel
from wardwatch.store.database import ensure_ready
from wardwatch.store.schema import alarm_budgets, alarm_deliveries, alarm_topologies, alarm_verifications

__all__ = [
    "BudgetConflict",
    "BudgetError",
    "BudgetInvalid",
    "BudgetNotFound",
    "approve_budget",
    "budgets_in_force",
    "current_topology",
    "import_deliveries",
    "import_topology",
    "latest_verification",
    "list_budgets",
    "monitoring",
    "propose_budget",
    "report_json",
    "verify",
    "verify_topology",
]

_MAX_TOPOLOGY_BYTES = 16 * 1024 * 1024


class BudgetError(LookupError):
    """A budget that does not exist, is not a draft, or names recipients the topology does not have."""


class BudgetNotFound(BudgetError):
    """No budget has that id."""


class BudgetConflict(BudgetError):
    """The budget is no longer a draft, or another version was proposed at the same moment."""


class BudgetInvalid(BudgetError):
    """The budget's content is unusable (no recipient, an unknown one, escalation without a delay...)."""


# -- topology ---------------------------------------------------------------------------------------------------


def import_topology(engine: Engine, path: str | Path, principal: Principal = SYSTEM) -> dict[str, Any]:
    """Check ``path`` and store it as the current alarm topology; returns what was stored."""
    require(principal, Permission.ALARMS_WRITE)
    ensure_ready(engine)
    file = Path(path)
    if not file.is_file():
        raise IngestError(str(file), "does not exist", tip="check the path")
    if file.stat().st_size > _MAX_TOPOLOGY_BYTES:
        raise IngestError(str(file), "is larger than 16 MiB", tip="an alarm topology is a hand-sized YAML file")
    data = file.read_bytes()
    topology = parse_alarm_topology(data, str(file))
    if not topology.sources:
        raise IngestError(str(file), "has no alarm sources, so there is nothing to verify",
                          tip="add a sources: section (is the file cut short?)")  # fmt: skip
    if not topology.links:
        raise IngestError(str(file), "has no links, so no alarm can reach anyone",
                          tip="add a links: section (is the file cut short?)")  # fmt: skip
    digest = hashlib.sha256(data).hexdigest()
    now = datetime.now(UTC)
    with engine.begin() as connection:
        latest = connection.execute(
            select(alarm_topologies.c.id, alarm_topologies.c.sha256).order_by(alarm_topologies.c.id.desc()).limit(1)
        ).first()
        changed = latest is None or latest.sha256 != digest
        version = latest.id if latest is not None else None
        warnings = []
        if latest is not None and changed:
            before = connection.execute(
                select(alarm_topologies.c.nodes, alarm_topologies.c.sources).where(alarm_topologies.c.id == latest.id)
            ).one()
            if len(topology.nodes) < before.nodes / 2 or len(topology.sources) < before.sources / 2:
                warnings.append(
                    f"this topology has {len(topology.nodes)} nodes and {len(topology.sources)} alarm sources; the "
                    f"previous version had {before.nodes} and {before.sources}: check nothing was cut off"
                )
        if changed:
            version = connection.execute(
                insert(alarm_topologies).values(
                    name=topology.name[:300],
                    original=file.name[:300],
                    sha256=digest,
                    content=data.decode("utf-8"),
                    nodes=len(topology.nodes),
                    links=len(topology.links),
                    groups=len(topology.groups),
                    sources=len(topology.sources),
                    imported_by=principal.username,
                    imported_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        existing = {
            (r.unit, r.alarm_type, r.priority)
            for r in connection.execute(
                select(alarm_budgets.c.unit, alarm_budgets.c.alarm_type, alarm_budgets.c.priority)
            )  # fmt: skip
        }
        taken = kept = 0
        for budget in topology.budgets:
            key = (budget.unit, budget.alarm_type, budget.priority.value)
            if key in existing:
                kept += 1
                continue
            row = _budget_row(budget, version=1, created_by=f"{principal.username} (from {file.name})", now=now)
            if budget.approved_by:
                row |= {"status": "approved", "approved_by": budget.approved_by[:200],
                        "approved_at": budget.approved_at or now}  # fmt: skip
            connection.execute(insert(alarm_budgets).values(**row))
            existing.add(key)
            taken += 1
        audit.record(connection, principal.username, "alarms.topology.import", target=file.name,
                     detail={"version": version, "changed": changed, "budgets_taken": taken})  # fmt: skip
    return {
        "version": version, "changed": changed, "name": topology.name, "nodes": len(topology.nodes),
        "links": len(topology.links), "groups": len(topology.groups), "sources": len(topology.sources),
        "budgets_taken": taken, "budgets_kept": kept, "warnings": warnings,
    }  # fmt: skip


_TOPOLOGY_CACHE: dict[tuple[str, int], AlarmTopology] = {}


def current_topology(engine: Engine) -> tuple[int, AlarmTopology] | None:
    """The latest imported topology (its version and model) with the budgets in force; ``None`` before an import."""
    ensure_ready(engine)
    with engine.connect() as connection:
        row = connection.execute(
            select(alarm_topologies.c.id, alarm_topologies.c.content, alarm_topologies.c.original)
            .order_by(alarm_topologies.c.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    key = (str(engine.url), int(row.id))
    topology = _TOPOLOGY_CACHE.get(key)
    if topology is None:
        topology = parse_alarm_topology(row.content, row.original)
        _TOPOLOGY_CACHE.clear()
        _TOPOLOGY_CACHE[key] = topology
    return int(row.id), replace(topology, budgets=_verifiable(topology, budgets_in_force(engine))[0])


def _verifiable(topology: AlarmTopology, budgets: Sequence[Budget]) -> tuple[tuple[Budget, ...], tuple[str, ...]]:
    """The budgets whose recipients are all in ``topology``, and the keys of the others (a newer topology may
    have renamed or removed a recipient an approved budget names: that budget cannot be verified until a clinician
    approves a new version)."""
    ok: list[Budget] = []
    stale: list[str] = []
    for budget in budgets:
        if all(r in topology.node_by_id for r in (*budget.primary, *budget.escalation)):
            ok.append(budget)
        else:
            stale.append(budget.key)
    return tuple(ok), tuple(stale)


# -- budgets ----------------------------------------------------------------------------------------------------


def _budget_row(budget: Budget, *, version: int, created_by: str, now: datetime) -> dict[str, Any]:
    return {
        "unit": budget.unit[:200], "alarm_type": budget.alarm_type[:100], "priority": budget.priority.value,
        "version": version, "max_delivery_s": budget.max_delivery_s,
        "primary_recipients": json.dumps(list(budget.primary)),
        "escalation_recipients": json.dumps(list(budget.escalation)),
        "escalate_after_s": budget.escalate_after_s, "confirmed": budget.confirmed,
        "heartbeat_interval_s": budget.heartbeat_interval_s, "heartbeat_misses": budget.heartbeat_misses,
        "rationale": budget.rationale, "status": "draft", "created_by": created_by[:200], "created_at": now,
        "approved_by": None, "approved_at": None,
    }  # fmt: skip


def _budget_of(row: Any) -> Budget:
    return Budget(
        unit=row.unit, alarm_type=row.alarm_type, priority=Priority(row.priority),
        max_delivery_s=float(row.max_delivery_s), primary=tuple(json.loads(row.primary_recipients)),
        escalation=tuple(json.loads(row.escalation_recipients)), escalate_after_s=row.escalate_after_s,
        confirmed=bool(row.confirmed), heartbeat_interval_s=row.heartbeat_interval_s,
        heartbeat_misses=int(row.heartbeat_misses), approved_by=row.approved_by, approved_at=row.approved_at,
        version=int(row.version), rationale=row.rationale,
    )  # fmt: skip


def _budget_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "key": f"{row.unit}/{row.alarm_type}/{row.priority}", "unit": row.unit,
        "alarm_type": row.alarm_type, "priority": row.priority, "version": row.version,
        "max_delivery_s": row.max_delivery_s, "primary": json.loads(row.primary_recipients),
        "escalation": json.loads(row.escalation_recipients), "escalate_after_s": row.escalate_after_s,
        "confirmed": bool(row.confirmed), "heartbeat_interval_s": row.heartbeat_interval_s,
        "heartbeat_misses": row.heartbeat_misses, "rationale": row.rationale, "status": row.status,
        "created_by": row.created_by, "created_at": _iso(row.created_at), "approved_by": row.approved_by,
        "approved_at": _iso(row.approved_at),
    }  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def budgets_in_force(engine: Engine) -> tuple[Budget, ...]:
    """The approved budgets (one version per unit, alarm type and priority)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(alarm_budgets).where(alarm_budgets.c.status == "approved").order_by(
                alarm_budgets.c.unit, alarm_budgets.c.alarm_type, alarm_budgets.c.priority)
        ).all()  # fmt: skip
    return tuple(_budget_of(r) for r in rows)


def list_budgets(
    engine: Engine, principal: Principal, *, unit: str | None = None, history: bool = False
) -> list[dict[str, Any]]:
    """Budgets (newest version first per key; every version with ``history``); clinicians see their unit's."""
    require(principal, Permission.ALARMS_READ)
    ensure_ready(engine)
    if principal.unit_scoped:
        unit = principal.unit or "\x00none"
    query = select(alarm_budgets).order_by(
        alarm_budgets.c.unit, alarm_budgets.c.alarm_type, alarm_budgets.c.priority, alarm_budgets.c.version.desc()
    )
    if unit is not None:
        query = query.where(alarm_budgets.c.unit.in_([unit, "*"]))
    if not history:
        query = query.where(alarm_budgets.c.status.in_(("draft", "approved")))
    with engine.connect() as connection:
        return [_budget_dict(r) for r in connection.execute(query)]


def _check_unit(principal: Principal, unit: str) -> None:
    if principal.unit_scoped and unit != principal.unit:
        raise PermissionDenied(
            f"{principal.username} may set budgets only for their unit ({principal.unit or 'none assigned'}), "
            f"not {unit!r}"
        )


def propose_budget(engine: Engine, principal: Principal, budget: Budget) -> dict[str, Any]:
    """Add ``budget`` as a new draft version of its key (unit, alarm type, priority)."""
    require(principal, Permission.ALARMS_BUDGET)
    _check_unit(principal, budget.unit)
    if not (budget.max_delivery_s > 0 and math.isfinite(budget.max_delivery_s)):
        raise BudgetInvalid("the maximum delivery time must be a positive number of seconds")
    if not budget.primary:
        raise BudgetInvalid("name at least one primary recipient")
    if budget.escalation and budget.escalate_after_s is None:
        raise BudgetInvalid("escalation recipients need an escalation delay (escalate after N seconds)")
    current = current_topology(engine)
    if current is not None:
        unknown = [r for r in (*budget.primary, *budget.escalation) if r not in current[1].node_by_id]
        if unknown:
            raise BudgetInvalid(f"recipient {unknown[0]!r} is not in the alarm topology; choose one of its recipients")
        nodes = current[1].node_by_id
        foreign = [r for r in (*budget.primary, *budget.escalation)
                   if budget.unit != "*" and nodes[r].unit not in (None, budget.unit)]  # fmt: skip
        if foreign:
            raise BudgetInvalid(
                f"recipient {nodes[foreign[0]].label!r} belongs to {nodes[foreign[0]].unit}, not {budget.unit}; "
                "choose the unit's own recipients (or shared ones without a unit)"
            )
    try:
        return _insert_draft(engine, principal, budget)
    except IntegrityError as e:  # two proposals for one key at the same moment: the unique version refused one
        raise BudgetConflict(
            f"another version of {budget.key} was proposed at the same moment; reload the budgets and try again"
        ) from e


def _insert_draft(engine: Engine, principal: Principal, budget: Budget) -> dict[str, Any]:
    now = datetime.now(UTC)
    with engine.begin() as connection:
        version = connection.execute(
            select(func.max(alarm_budgets.c.version)).where(
                alarm_budgets.c.unit == budget.unit, alarm_budgets.c.alarm_type == budget.alarm_type,
                alarm_budgets.c.priority == budget.priority.value)
        ).scalar()  # fmt: skip
        connection.execute(
            update(alarm_budgets)
            .where(alarm_budgets.c.unit == budget.unit, alarm_budgets.c.alarm_type == budget.alarm_type,
                   alarm_budgets.c.priority == budget.priority.value, alarm_budgets.c.status == "draft")
            .values(status="withdrawn")
        )  # fmt: skip
        row = _budget_row(budget, version=int(version or 0) + 1, created_by=principal.username, now=now)
        budget_id = connection.execute(insert(alarm_budgets).values(**row)).inserted_primary_key[0]  # type: ignore[index]
        audit.record(
            connection,
            principal.username,
            "alarms.budget.propose",
            target=budget.key,
            detail={"id": budget_id, "version": row["version"], "max_delivery_s": budget.max_delivery_s},
        )
        stored = connection.execute(select(alarm_budgets).where(alarm_budgets.c.id == budget_id)).one()
    return _budget_dict(stored)


def approve_budget(engine: Engine, principal: Principal, budget_id: int) -> dict[str, Any]:
    """Put the draft ``budget_id`` in force (the approved version before it is superseded) and re-verify."""
    require(principal, Permission.ALARMS_BUDGET)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        row = connection.execute(select(alarm_budgets).where(alarm_budgets.c.id == budget_id)).first()
        if row is None:
            raise BudgetNotFound(f"no budget {budget_id}")
        _check_unit(principal, row.unit)
        if row.status != "draft":
            raise BudgetConflict(f"budget {budget_id} is {row.status}, not a draft; propose a new version to change it")
        same_key = and_(alarm_budgets.c.unit == row.unit, alarm_budgets.c.alarm_type == row.alarm_type,
                        alarm_budgets.c.priority == row.priority)  # fmt: skip
        connection.execute(
            update(alarm_budgets).where(same_key, alarm_budgets.c.status == "approved").values(status="superseded")
        )
        connection.execute(
            update(alarm_budgets).where(alarm_budgets.c.id == budget_id)
            .values(status="approved", approved_by=principal.username, approved_at=now)
        )  # fmt: skip
        audit.record(
            connection,
            principal.username,
            "alarms.budget.approve",
            target=f"{row.unit}/{row.alarm_type}/{row.priority}",
            detail={"id": budget_id, "version": row.version, "max_delivery_s": row.max_delivery_s},
        )
        stored = connection.execute(select(alarm_budgets).where(alarm_budgets.c.id == budget_id)).one()
    out = _budget_dict(stored)
    if current_topology(engine) is not None:
        out["verification"] = _summary(verify(engine, SYSTEM, actor=principal.username))
    return out


# -- verification -----------------------------------------------------------------------------------------------


def _route(route: Route | None, topology: AlarmTopology) -> dict[str, Any] | None:
    if route is None:
        return None
    return {
        "nodes": list(route.nodes), "labels": [topology.label(n) for n in route.nodes], "links": list(route.links),
        "seconds": route.seconds, "recipient": route.recipient, "escalated": route.escalated,
    }  # fmt: skip


def _seconds(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 6)


def _result(result: FlowResult, topology: AlarmTopology) -> dict[str, Any]:
    return {
        "source": result.source, "source_name": topology.label(result.source), "unit": result.unit,
        "alarm_type": result.alarm_type, "priority": result.priority, "budget": result.budget_key,
        "budget_s": result.budget_s, "nominal_s": _seconds(result.nominal_s),
        "worst_case_s": _seconds(result.worst_case_s), "reachable": result.worst is not None,
        "failure_set": list(result.failure_set), "failure_labels": [topology.label(e) for e in result.failure_set],
        "passed": result.passed, "route": _route(result.worst, topology),
        "nominal_route": _route(result.nominal, topology), "breaking_sets": [list(b) for b in result.breaking_sets],
        "devices": result.devices, "explanation": describe(result, topology),
    }  # fmt: skip


def report_json(
    topology: AlarmTopology, verification: Verification, recommendation: Recommendation | None, **extra: Any
) -> dict[str, Any]:
    """The verification report (the ``alarms verify --json`` contract; docs/alarms.md)."""
    results = sorted(verification.results, key=lambda r: (r.passed, r.unit, r.source, r.budget_key))
    out: dict[str, Any] = {
        "topology": topology.name, **extra, "k": verification.k, "flows": len(verification.results),
        "failing": len(verification.failing), "passed": verification.passed, "searches": verification.searches,
        "results": [_result(r, topology) for r in results],
        "single_points_of_failure": [
            {"element": p.element, "kind": p.kind, "label": p.label, "flows": list(p.flows), "units": list(p.units),
             "devices": p.devices} for p in verification.single_points_of_failure
        ],
        "unbudgeted_sources": list(verification.unbudgeted_sources),
        "units": _units(verification),
    }  # fmt: skip
    if recommendation is not None:
        out["recommendations"] = {
            "complete": recommendation.complete, "failing_before": recommendation.failing_before,
            "still_failing": list(recommendation.still_failing),
            "additions": [
                {"id": a.candidate.id, "description": a.candidate.description, "cost": a.candidate.cost,
                 "fixes": list(a.fixes), "nodes": [n.id for n in a.candidate.nodes],
                 "links": [{"id": x.id, "a": x.a, "b": x.b, "medium": x.medium.value} for x in a.candidate.links]}
                for a in recommendation.additions
            ],
        }  # fmt: skip
    return out


def _units(verification: Verification) -> list[dict[str, Any]]:
    units: dict[str, dict[str, Any]] = {}
    for r in verification.results:
        entry = units.setdefault(r.unit, {"unit": r.unit, "flows": 0, "failing": 0, "worst_margin_s": None})
        entry["flows"] += 1
        entry["failing"] += not r.passed
        margin = r.budget_s - r.worst_case_s
        if not math.isinf(margin) and (entry["worst_margin_s"] is None or margin < entry["worst_margin_s"]):
            entry["worst_margin_s"] = round(margin, 3)
    return sorted(units.values(), key=lambda u: (-u["failing"], u["unit"]))


def verify_topology(topology: AlarmTopology, k: int = 1, *, with_recommendations: bool = True) -> dict[str, Any]:
    """Verify a topology as given (its own budgets) and return the report."""
    if k < 0 or k > 3:
        raise ValueError("--k must be between 0 and 3 (the web page offers the same; the search grows as L^k)")
    verification = verify_parallel(topology, k)
    advice = recommend(topology, k, verification=verification) if with_recommendations and k > 0 else None
    report = report_json(topology, verification, advice)
    # A budget no alarm source of this topology raises was not verified: never report it as holding.
    unmatched = [b.key for b in topology.budgets if not any(b.applies_to(src) for src in topology.sources)]
    report["unmatched_budgets"] = unmatched
    report["passed"] = report["passed"] and not unmatched
    return report


def verify(engine: Engine, principal: Principal, k: int = 1, *, actor: str | None = None) -> dict[str, Any]:
    """Verify the current topology with the budgets in force, store the report, and return it."""
    require(principal, Permission.ALARMS_READ if actor else Permission.ALARMS_WRITE)
    current = current_topology(engine)
    if current is None:
        raise ValueError("no alarm topology has been imported yet; run `wardwatch alarms import TOPOLOGY.yaml`")
    version, topology = current
    report = verify_topology(topology, k)
    stale = _verifiable(topology, budgets_in_force(engine))[1]
    report = {"version": version, **report, "unverifiable_budgets": list(stale)}
    report["passed"] = report["passed"] and not stale
    now = datetime.now(UTC)
    who = actor or principal.username
    with engine.begin() as connection:
        verification_id = connection.execute(
            insert(alarm_verifications).values(
                topology_id=version,
                k=k,
                flows=report["flows"],
                failing=report["failing"],
                report=json.dumps(report, default=str),
                created_by=who,
                created_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        audit.record(connection, who, "alarms.verify", target=f"topology {version}",
                     detail={"k": k, "flows": report["flows"], "failing": report["failing"]})  # fmt: skip
    report["verification_id"] = verification_id
    report["verified_at"] = now.isoformat()
    report["verified_by"] = who
    return report


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {key: report[key] for key in ("verification_id", "k", "flows", "failing", "passed") if key in report}


def latest_verification(engine: Engine, principal: Principal, *, unit: str | None = None) -> dict[str, Any] | None:
    """The newest stored verification report (a clinician's: their unit's results only)."""
    require(principal, Permission.ALARMS_READ)
    ensure_ready(engine)
    with engine.connect() as connection:
        row = connection.execute(select(alarm_verifications).order_by(alarm_verifications.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    report: dict[str, Any] = dict(orjson.loads(row.report))
    report |= {"verification_id": row.id, "verified_at": _iso(row.created_at), "verified_by": row.created_by}
    if principal.unit_scoped:
        unit = principal.unit or "\x00none"
    if unit is not None:
        report["results"] = [r for r in report["results"] if r["unit"] == unit]
        report["single_points_of_failure"] = [p for p in report["single_points_of_failure"] if unit in p["units"]]
        report["units"] = [u for u in report["units"] if u["unit"] == unit]
        own = {f"{r['source']}@{r['budget']}" for r in report["results"]}
        current = current_topology(engine)
        units_of = {s.node: s.unit for s in current[1].sources} if current is not None else {}
        report["unbudgeted_sources"] = [s for s in report.get("unbudgeted_sources", []) if units_of.get(s) == unit]
        advice = report.get("recommendations")
        if advice:  # additions up to the last one that completes a flow of this unit (earlier ones may be needed
            # together with it, e.g. a second alarm server before the unit's own Wi-Fi fix), with only its flows
            additions = [dict(a, fixes=[f for f in a["fixes"] if f in own]) for a in advice["additions"]]
            last = max((i for i, a in enumerate(additions) if a["fixes"]), default=-1)
            advice["additions"] = additions[: last + 1]
            advice["still_failing"] = [f for f in advice["still_failing"] if f in own]
            advice["complete"] = not advice["still_failing"]
        report["flows"] = len(report["results"])
        report["failing"] = sum(not r["passed"] for r in report["results"])
        report["passed"] = report["failing"] == 0 and not report.get("unverifiable_budgets")
    return report


# -- deliveries -------------------------------------------------------------------------------------------------


def import_deliveries(engine: Engine, principal: Principal, paths: Sequence[str | Path]) -> dict[str, Any]:
    """Read every file (a bad row stops everything), then store the records not stored before, in one transaction."""
    require(principal, Permission.ALARMS_WRITE)
    ensure_ready(engine)
    records: list[DeliveryRecord] = []
    for path in paths:
        records.extend(read_delivery_records(Path(path)))
    stored = store_records(engine, principal, records, what=", ".join(Path(p).name for p in paths))
    return {"files": [str(p) for p in paths], "records": len(records), "new": stored,
            "summary": summarize_records(records, budgets_in_force(engine))}  # fmt: skip


def store_records(engine: Engine, principal: Principal, records: Sequence[DeliveryRecord], *, what: str) -> int:
    """Store delivery records (skipping ones already stored); returns how many were new."""
    require(principal, Permission.ALARMS_WRITE)
    now = datetime.now(UTC)
    new = 0
    with engine.begin() as connection:
        if records:
            first = min(r.sent_at for r in records)
            last = max(r.sent_at for r in records)
            known = {
                (row.source, row.recipient, _utc(row.sent_at))
                for row in connection.execute(
                    select(alarm_deliveries.c.source, alarm_deliveries.c.recipient, alarm_deliveries.c.sent_at).where(
                        alarm_deliveries.c.sent_at >= first, alarm_deliveries.c.sent_at <= last
                    )
                )
            }
            rows = []
            for r in records:
                key = (r.source[:200], r.recipient[:200], _utc(r.sent_at))
                if key in known:
                    continue
                known.add(key)
                rows.append({
                    "source": key[0], "recipient": key[1], "sent_at": key[2], "received_at": r.received_at,
                    "acknowledged_at": r.acknowledged_at, "latency_s": r.latency_s, "unit": r.unit,
                    "priority": r.priority.value if r.priority else None, "alarm_type": r.alarm_type,
                    "heartbeat": r.heartbeat, "path": (r.path or None) and r.path[:300], "origin": r.origin[:300],
                    "imported_at": now,
                })  # fmt: skip
            for start in range(0, len(rows), 5_000):
                connection.execute(insert(alarm_deliveries), rows[start : start + 5_000])
            new = len(rows)
        audit.record(connection, principal.username, "alarms.deliveries.import", target=what[:300],
                     detail={"records": len(records), "new": new})  # fmt: skip
    return new


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def summarize_records(
    records: Sequence[DeliveryRecord], budgets: Sequence[Budget], *, now: datetime | None = None
) -> dict[str, Any]:
    """The monitoring summary of ``records`` against ``budgets`` as JSON-ready data."""
    out: dict[str, Any] = _jsonable(summarize(records, budgets, now=now))
    return out


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {name: _jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value
    return value


def monitoring(
    engine: Engine, principal: Principal, *, unit: str | None = None, days: int = 7, now: datetime | None = None
) -> dict[str, Any]:
    """Stored deliveries of the last ``days`` (up to the newest record) against the budgets in force."""
    require(principal, Permission.ALARMS_READ)
    ensure_ready(engine)
    if principal.unit_scoped:
        unit = principal.unit or "\x00none"
    with engine.connect() as connection:
        newest = connection.execute(select(func.max(alarm_deliveries.c.sent_at))).scalar()
        if newest is None:
            return {"records": 0, "window_days": days, "summary": None}
        end = _utc(now or newest)
        query = select(alarm_deliveries).where(alarm_deliveries.c.sent_at >= end - timedelta(days=days))
        if unit is not None:
            query = query.where(alarm_deliveries.c.unit == unit)
        rows = connection.execute(query.order_by(alarm_deliveries.c.sent_at)).all()
    records = [
        DeliveryRecord(
            source=r.source, recipient=r.recipient, sent_at=_utc(r.sent_at),
            received_at=_utc(r.received_at) if r.received_at else None,
            acknowledged_at=_utc(r.acknowledged_at) if r.acknowledged_at else None, unit=r.unit,
            priority=Priority(r.priority) if r.priority else None, alarm_type=r.alarm_type,
            heartbeat=bool(r.heartbeat), path=r.path, origin=r.origin,
        )
        for r in rows
    ]  # fmt: skip
    return {
        "records": len(records), "window_days": days, "until": _iso(end),
        "summary": summarize_records(records, budgets_in_force(engine), now=end),
    }  # fmt: skip
