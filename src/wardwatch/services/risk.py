"""Device risk use cases: rescore (all devices, or only those a new KEV entry affects), list, explain, roll up,
snapshot for trends, and the board's top risks.

Scores are written to ``risk_scores`` (one row per device, with its policy version and explanation); a full
rescore also records today's snapshot in ``risk_snapshots``.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, func, literal, select

from wardwatch.domain.risk import PRIORITY_RANK, DeviceFacts, DeviceRisk, FindingRisk, RiskScorer
from wardwatch.domain.risk_policy import RiskPolicy
from wardwatch.services.devices import find_device_id
from wardwatch.services.network_exposure import exposure_source
from wardwatch.services.risk_inputs import (
    ExposureSource,
    RiskInputs,
    chunks,
    fetch_rows,
    load_inputs,
)
from wardwatch.services.risk_policy import load_policy
from wardwatch.services.ssvc_reference import deployer_table, published_human_impact
from wardwatch.store.bulk import bulk_insert
from wardwatch.store.database import ensure_ready
from wardwatch.store.inventory import aware
from wardwatch.store.schema import (
    devices,
    risk_explanations,
    risk_scores,
    risk_snapshots,
    sites,
    units,
    vulnerability_findings,
)

__all__ = [
    "DIMENSIONS",
    "RescoreReport",
    "device_json",
    "ranked",
    "devices_affected_by",
    "explain",
    "pause_gc",
    "list_risks",
    "rescore",
    "rollup",
    "score_inputs",
    "scorer",
    "snapshot",
]

logger = logging.getLogger(__name__)

#: ``--by`` values and what they group on.
DIMENSIONS = ("site", "unit", "type", "manufacturer", "model")
#: How many findings (the worst) each stored score keeps in its JSON; ``risk explain`` lists them all.
STORED_FINDINGS = 5
_SCORE_COLUMNS = ("device_id", "score", "level", "likelihood", "severity", "ssvc", "ssvc_vulnerability",
                  "explanation_id", "policy_version", "scored_at")  # fmt: skip


@dataclass(slots=True)
class RescoreReport:
    """What a rescore did."""

    devices: int
    policy_version: str
    seconds: float
    changed: int = 0
    """Stored scores that changed (and were rewritten)."""
    levels: dict[str, int] = field(default_factory=dict)
    priorities: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"devices": self.devices, "changed": self.changed, "policy_version": self.policy_version,
                "seconds": round(self.seconds, 2), "levels": self.levels, "priorities": self.priorities}  # fmt: skip


def scorer(today: date | None = None, policy: RiskPolicy | None = None) -> RiskScorer:
    """A scorer with the packaged policy (default: newest) and the official SSVC tables."""
    chosen = policy or load_policy()
    return RiskScorer(chosen, deployer_table(), today or datetime.now(UTC).date(), published_human_impact())


def score_inputs(inputs: RiskInputs, risk_scorer: RiskScorer) -> list[tuple[int, DeviceRisk]]:
    """(device id, risk) of every device of ``inputs`` (pure; nothing is written).  Devices with the same inputs
    share one :class:`DeviceRisk` object, whose own ``device_id`` is then the first such device's."""
    accepted = inputs.acceptances_by_device()
    assess, findings = risk_scorer.assess, inputs.findings
    return [(d.id, assess(d, findings.get(d.id, ()), accepted.get(d.id, ()))) for d in inputs.devices]


def ranked(findings: Sequence[FindingRisk]) -> list[FindingRisk]:
    """Findings worst first: counted before accepted, then SSVC priority, likelihood, CVSS."""

    def key(f: FindingRisk) -> tuple[Any, ...]:
        return (f.status == "accepted", -PRIORITY_RANK[f.priority], -f.likelihood, -(f.cvss or 0.0),
                f.vulnerability_id, f.component_ref)  # fmt: skip

    return sorted(findings, key=key)


def _stored_findings(risk: DeviceRisk) -> list[dict[str, Any]]:
    """The worst :data:`STORED_FINDINGS` findings (SBOM matches can give a device hundreds; explain shows all)."""
    return [
        {"vulnerability": f.vulnerability_id, "component": f.component_ref or None, "status": f.status,
         "likelihood": f.likelihood, "ssvc": f.priority.value, "cvss": f.cvss, "epss": f.epss, "kev": f.kev,
         "note": f.note}
        for f in ranked(risk.findings)[:STORED_FINDINGS]
    ]  # fmt: skip


class _Explanations:
    """The explanation texts of a rescore, each distinct one once (devices sharing a memoised risk share it)."""

    def __init__(self) -> None:
        self._by_object: dict[int, tuple[Any, str]] = {}
        self.texts: dict[str, tuple[str, str]] = {}  # digest -> (text, policy version)

    def digest(self, risk: DeviceRisk) -> str:
        seen = self._by_object.get(id(risk.explanation))
        if seen is None or seen[0] is not risk.explanation:
            document = {**risk.explanation, "finding_list": _stored_findings(risk)}
            text = orjson.dumps(document).decode()
            digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
            self.texts.setdefault(digest, (text, risk.policy_version))
            seen = self._by_object[id(risk.explanation)] = (risk.explanation, digest)
        return seen[1]


def _explanation_ids(connection: Connection, explanations: _Explanations) -> dict[str, int]:
    """Store the texts not stored yet; digest -> id of every text of this rescore."""
    e = risk_explanations.c
    digests = sorted(explanations.texts)
    ids: dict[str, int] = {}
    for start in range(0, len(digests), 5_000):
        part = digests[start : start + 5_000]
        ids.update((d, i) for d, i in connection.execute(select(e.digest, e.id).where(e.digest.in_(part))))
    new = [d for d in digests if d not in ids]
    bulk_insert(connection, risk_explanations, ("digest", "explanation", "policy_version"),
                [(d, *explanations.texts[d]) for d in new])  # fmt: skip
    for start in range(0, len(new), 5_000):
        part = new[start : start + 5_000]
        ids.update((d, i) for d, i in connection.execute(select(e.digest, e.id).where(e.digest.in_(part))))
    return ids


def _write_scores(
    connection: Connection, risks: Sequence[tuple[int, DeviceRisk]], ids: Sequence[int] | None, now: datetime
) -> int:
    """Store the scores of ``risks`` (of ``ids``; None: every device), rewriting only the rows that changed, and
    delete the explanations no score uses any more.  Returns the number of rows written.

    A daily rescore changes few scores: rewriting 200,000 unchanged rows cost more than scoring them.
    ``scored_at`` is therefore when the device's stored score last changed.
    """
    rs, ex = risk_scores.c, risk_explanations.c
    stored: dict[int, tuple[Any, ...]] = {}
    columns = select(rs.device_id, rs.score, rs.level, rs.likelihood, rs.severity, rs.ssvc, rs.ssvc_vulnerability,
                     rs.explanation_id, rs.policy_version)  # fmt: skip
    for part in [None] if ids is None else chunks(ids):
        query = columns if part is None else columns.where(rs.device_id.in_(part))
        stored.update((row[0], tuple(row[1:])) for row in fetch_rows(connection, query))
    explanations = _Explanations()
    digests = [explanations.digest(r) for _, r in risks]
    by_digest = _explanation_ids(connection, explanations)
    rows: list[tuple[Any, ...]] = []
    replaced: list[int] = []
    before: set[int] = set()  # explanations the replaced rows used
    for (device_id, r), digest in zip(risks, digests, strict=True):
        values = (r.score, r.level, r.likelihood, r.severity, r.ssvc.value, r.ssvc_vulnerability, by_digest[digest],
                  r.policy_version)  # fmt: skip
        old = stored.pop(device_id, None)
        if old != values:
            rows.append((device_id, *values, now))
            if old is not None:
                replaced.append(device_id)
                before.add(old[6])
    replaced.extend(stored)  # scores of devices that are no longer scored
    before.update(old[6] for old in stored.values())
    for start in range(0, len(replaced), 5_000):
        connection.execute(delete(risk_scores).where(rs.device_id.in_(replaced[start : start + 5_000])))
    bulk_insert(connection, risk_scores, _SCORE_COLUMNS, rows)
    candidates = sorted(before - set(by_digest.values()))
    if ids is None:
        in_use = set(connection.execute(select(rs.explanation_id).distinct()).scalars())
        candidates = [i for i in connection.execute(select(ex.id)).scalars() if i not in in_use]
    for start in range(0, len(candidates), 5_000):
        part = candidates[start : start + 5_000]
        used = select(rs.explanation_id).where(rs.explanation_id == ex.id)
        connection.execute(delete(risk_explanations).where(ex.id.in_(part), ~used.exists()))
    return len(rows)


@contextmanager
def pause_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a whole fleet is scored.

    Scoring 200,000 devices keeps millions of small objects alive (rows, facts, findings); the collector would
    rescan them again and again for no garbage (measured: 43 s → 31 s for the xl hospital on a busy machine).
    Reference counting still frees everything; the collector resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def rescore(
    engine: Engine,
    device_ids: Sequence[int] | None = None,
    *,
    today: date | None = None,
    policy: RiskPolicy | None = None,
    exposure: ExposureSource | None = None,
) -> RescoreReport:
    """Score every device (or only ``device_ids``) and store the scores in one transaction.

    A full rescore replaces every stored score and records today's snapshot.
    """
    ensure_ready(engine)
    started = time.perf_counter()
    risk_scorer = scorer(today, policy)
    now = datetime.now(UTC)
    ids = sorted(set(device_ids)) if device_ids is not None else None
    source = exposure or exposure_source(engine)
    with pause_gc(), engine.begin() as connection:
        inputs = load_inputs(connection, source, ids)
        risks = score_inputs(inputs, risk_scorer)
        written = _write_scores(connection, risks, ids, now)
        if ids is None:
            groups = _groups_in_memory(inputs.devices, risks)
            _write_snapshot(connection, risk_scorer.today, risk_scorer.policy.version, groups)
    report = RescoreReport(len(risks), risk_scorer.policy.version, time.perf_counter() - started, written)
    for _, r in risks:
        report.levels[r.level] = report.levels.get(r.level, 0) + 1
        report.priorities[r.ssvc.value] = report.priorities.get(r.ssvc.value, 0) + 1
    logger.debug("rescored %d devices in %.2f s", report.devices, report.seconds)
    return report


def devices_affected_by(engine: Engine, vulnerability_ids: Sequence[str]) -> list[int]:
    """The devices with a finding (open or not) of any of ``vulnerability_ids``: what to rescore after a KEV entry."""
    vf = vulnerability_findings.c
    out: set[int] = set()
    with engine.connect() as connection:
        for start in range(0, len(vulnerability_ids), 1000):
            part = list(vulnerability_ids[start : start + 1000])
            out.update(
                connection.execute(select(vf.device_id).where(vf.vulnerability_id.in_(part)).distinct()).scalars()
            )
    return sorted(out)


def _dimension(by: str) -> Any:
    unknown = literal("(unknown)")
    if by == "site":
        return func.coalesce(sites.c.name, unknown)
    if by == "unit":
        return func.coalesce(sites.c.name, unknown).concat(" / ").concat(func.coalesce(units.c.department, unknown))
    if by == "type":
        return func.coalesce(devices.c.device_type, unknown)
    if by == "manufacturer":
        return func.coalesce(devices.c.manufacturer, unknown)
    if by == "model":
        return (
            func.coalesce(devices.c.manufacturer, unknown).concat(" ").concat(func.coalesce(devices.c.model, unknown))
        )
    if by == "all":
        return literal("all")
    raise LookupError(f"--by {by!r} is not one of: {', '.join(DIMENSIONS)}")


def _joined() -> Any:
    d = devices.c
    return (
        risk_scores.join(devices, d.id == risk_scores.c.device_id)
        .outerjoin(sites, d.site_id == sites.c.id)
        .outerjoin(units, d.unit_id == units.c.id)
    )


def _rollup(connection: Connection, by: str) -> list[dict[str, Any]]:
    key = _dimension(by).label("key")
    rs = risk_scores.c
    query = (
        select(key, rs.level, rs.ssvc, func.count(), func.sum(rs.score), func.max(rs.score))
        .select_from(_joined())
        .group_by(key, rs.level, rs.ssvc)
    )
    groups: dict[str, dict[str, Any]] = {}
    for name, level, ssvc, count, total, top in connection.execute(query):
        g = groups.setdefault(name, {"key": name, "devices": 0, "total": 0.0, "max_score": 0.0, "levels": {},
                                     "priorities": {}})  # fmt: skip
        g["devices"] += count
        g["total"] += float(total)
        g["max_score"] = max(g["max_score"], float(top))
        g["levels"][level] = g["levels"].get(level, 0) + count
        g["priorities"][ssvc] = g["priorities"].get(ssvc, 0) + count
    out = []
    for g in groups.values():
        g["mean_score"] = round(g.pop("total") / g["devices"], 1)
        out.append(g)
    return sorted(out, key=lambda g: (-g["mean_score"], g["key"]))


def rollup(engine: Engine, by: str) -> list[dict[str, Any]]:
    """Devices, mean and max score, and counts per level and SSVC priority, grouped by ``by`` (see DIMENSIONS)."""
    ensure_ready(engine)
    _dimension(by)
    with engine.connect() as connection:
        return _rollup(connection, by)


_SNAPSHOT_COLUMNS = ("day", "dimension", "key", "devices", "mean_score", "max_score", "levels", "priorities",
                     "policy_version")  # fmt: skip


def _write_snapshot(connection: Connection, day: date, version: str, groups: dict[str, list[dict[str, Any]]]) -> int:
    connection.execute(delete(risk_snapshots).where(risk_snapshots.c.day == day))
    rows = [
        (day, by, str(g["key"])[:300], g["devices"], g["mean_score"], g["max_score"],
         orjson.dumps(g["levels"]).decode(), orjson.dumps(g["priorities"]).decode(), version)
        for by, found in groups.items()
        for g in found
    ]  # fmt: skip
    bulk_insert(connection, risk_snapshots, _SNAPSHOT_COLUMNS, rows)
    return len(rows)


def _snapshot(connection: Connection, day: date, policy_version: str) -> int:
    groups = {by: _rollup(connection, by) for by in ("all", *DIMENSIONS)}
    return _write_snapshot(connection, day, policy_version, groups)


def _groups_in_memory(
    facts: Sequence[DeviceFacts], risks: Sequence[tuple[int, DeviceRisk]]
) -> dict[str, list[dict[str, Any]]]:
    """The same groups as :func:`_rollup`, from the scores just computed (a full rescore need not re-read them)."""
    unknown = "(unknown)"
    # First per (site, unit, type, manufacturer, model, level, priority): far fewer cells than devices.
    cells: dict[tuple[Any, ...], list[float]] = {}
    for d, (_, r) in zip(facts, risks, strict=True):
        cell = (d.site, d.unit, d.device_type, d.manufacturer, d.model, r.level, r.ssvc.value)
        acc = cells.get(cell)
        if acc is None:
            cells[cell] = [1, r.score, r.score]
        else:
            acc[0] += 1
            acc[1] += r.score
            if r.score > acc[2]:
                acc[2] = r.score
    groups: dict[str, dict[str, dict[str, Any]]] = {by: {} for by in ("all", *DIMENSIONS)}
    for (site, unit, kind, manufacturer, model, level, priority), (count, total, top) in cells.items():
        site = site or unknown
        keys = (("all", "all"), ("site", site), ("unit", f"{site} / {unit or unknown}"), ("type", kind or unknown),
                ("manufacturer", manufacturer or unknown),
                ("model", f"{manufacturer or unknown} {model or unknown}"))  # fmt: skip
        for by, key in keys:
            g = groups[by].get(key)
            if g is None:
                g = groups[by][key] = {"key": key, "devices": 0, "total": 0.0, "max_score": 0.0, "levels": {},
                                       "priorities": {}}  # fmt: skip
            g["devices"] += count
            g["total"] += total
            g["max_score"] = max(g["max_score"], top)
            g["levels"][level] = g["levels"].get(level, 0) + count
            g["priorities"][priority] = g["priorities"].get(priority, 0) + count
    out: dict[str, list[dict[str, Any]]] = {}
    for by, found in groups.items():
        for g in found.values():
            g["mean_score"] = round(g.pop("total") / g["devices"], 1)
        out[by] = sorted(found.values(), key=lambda g: (-g["mean_score"], g["key"]))
    return out


def snapshot(engine: Engine, day: date | None = None) -> int:
    """Record the rollups of the stored scores as ``day``'s snapshot (default today, replaced); rows written."""
    ensure_ready(engine)
    with engine.begin() as connection:
        version = connection.execute(select(risk_scores.c.policy_version).limit(1)).scalar() or load_policy().version
        return _snapshot(connection, day or datetime.now(UTC).date(), version)


def _device(row: Any) -> dict[str, Any]:
    return {"id": row.device_id, "asset_tag": row.asset_tag, "manufacturer": row.manufacturer, "model": row.model,
            "device_type": row.device_type, "site": row.site, "unit": row.department}  # fmt: skip


def device_json(device: dict[str, Any], risk: DeviceRisk) -> dict[str, Any]:
    """One device's risk as JSON: device, score, level, ssvc, explanation, policy_version and every finding
    (worst first, with its SSVC decision points)."""
    return {
        "device": device,
        "score": risk.score,
        "level": risk.level,
        "ssvc": risk.ssvc.value,
        "explanation": dict(risk.explanation),
        "policy_version": risk.policy_version,
        "findings": [f.as_dict() for f in ranked(risk.findings)],
    }


def list_risks(engine: Engine, top: int | None = None) -> list[dict[str, Any]]:
    """Stored scores, riskiest first (``top`` of them), each as :func:`device_json` (plus ``scored_at``)."""
    ensure_ready(engine)
    d, rs = devices.c, risk_scores.c
    query = (
        select(
            rs.device_id,
            rs.score,
            rs.level,
            rs.ssvc,
            risk_explanations.c.explanation,
            rs.policy_version,
            rs.scored_at,
            d.asset_tag,
            d.manufacturer,
            d.model,
            d.device_type,
            sites.c.name.label("site"),
            units.c.department,
        )  # fmt: skip
        .select_from(_joined().join(risk_explanations, risk_explanations.c.id == rs.explanation_id))
        .order_by(rs.score.desc(), rs.device_id)
    )
    if top:
        query = query.limit(top)
    out = []
    with engine.connect() as connection:
        for row in connection.execute(query):
            explanation = orjson.loads(row.explanation)
            finding_list = explanation.pop("finding_list", [])
            out.append({"device": _device(row), "score": row.score, "level": row.level, "ssvc": row.ssvc,
                        "explanation": explanation, "policy_version": row.policy_version,
                        "findings": finding_list, "scored_at": aware(row.scored_at)})  # fmt: skip
    return out


def explain(engine: Engine, reference: str, *, today: date | None = None) -> dict[str, Any]:
    """One device's risk computed now (nothing is written), with every finding's SSVC decision points."""
    device_id = find_device_id(engine, reference)
    risk_scorer = scorer(today)
    source = exposure_source(engine)
    with engine.connect() as connection:
        inputs = load_inputs(connection, source, [device_id])
        row = connection.execute(
            select(
                risk_scores.c.device_id,
                devices.c.asset_tag,
                devices.c.manufacturer,
                devices.c.model,
                devices.c.device_type,
                sites.c.name.label("site"),
                units.c.department,
            )  # fmt: skip
            .select_from(
                devices.outerjoin(risk_scores, risk_scores.c.device_id == devices.c.id)
                .outerjoin(sites, devices.c.site_id == sites.c.id)
                .outerjoin(units, devices.c.unit_id == units.c.id)
            )
            .where(devices.c.id == device_id)
        ).one()
    ((_, risk),) = score_inputs(inputs, risk_scorer)
    device = {**_device(row), "id": device_id}
    return device_json(device, risk)
