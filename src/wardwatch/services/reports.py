"""The figures of the board report and the audit report (data only; ``report_render`` turns them into HTML/PDF).

* **Board report** (``reports:read``): posture (devices by criticality and type, past end of support), open
  vulnerability findings (``vulnerability_findings`` rows not resolved and not suppressed by VEX) by KEV,
  confidence and CVSS severity, insecure behaviour seen on the network (discovery ``findings``), unknown and
  silent devices, the risk trend from ``risk_snapshots`` and the top risks explained (``services.risk``).
* **Audit report** (``audit:read`` and ``reports:read``): accounts and what their roles may do, a summary of the
  audit trail and its recent entries, the data sources imported with their SHA-256, risk acceptances and how
  much of the inventory each kind of evidence covers.

Both are plain dicts (JSON-ready apart from dates) so the API can return them as JSON too.  Later capabilities
(remediation SLA compliance, alarm assurance, framework coverage) add a section by extending a builder.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Select, and_, case, distinct, func, or_, select

from wardwatch.domain.inventory import LIFE_CRITICAL, Criticality
from wardwatch.domain.observations import finding_label
from wardwatch.domain.permissions import ROLE_PERMISSIONS, Permission, Principal, require
from wardwatch.services import risk
from wardwatch.services.devices import seen_clause
from wardwatch.store.database import ensure_ready
from wardwatch.store.inventory import aware
from wardwatch.store.schema import (
    alarm_verifications,
    api_tokens,
    audit_log,
    claims,
    devices,
    findings,
    risk_acceptances,
    risk_scores,
    risk_snapshots,
    sources,
    users,
    vulnerability_findings,
)

__all__ = ["NOT_SCORED", "REPORTS", "audit_report", "board_report", "build_report", "json_ready"]

#: Shown where risk figures would be when nothing has been scored yet.
NOT_SCORED = "not scored yet — run `wardwatch risk rescore`"
#: How many top risks the board report explains.
TOP_RISKS = 10
#: How many recent audit entries the audit report lists.
RECENT_AUDIT = 50

#: CVSS base score bands (FIRST's qualitative severity scale).
_BANDS = (("critical (9.0–10)", 9.0), ("high (7.0–8.9)", 7.0), ("medium (4.0–6.9)", 4.0), ("low (0.1–3.9)", 0.1))
_PRIORITY_ORDER = ("immediate", "out-of-cycle", "scheduled", "defer")


def _scalar(connection: Connection, query: Select[Any]) -> int:
    return int(connection.execute(query).scalar() or 0)


def _bars(rows: Any) -> list[dict[str, Any]]:
    return [{"label": str(label if label is not None else "unknown"), "value": int(value)} for label, value in rows]


def _open() -> Any:
    vf = vulnerability_findings.c
    return and_(vf.suppressed.is_(False), vf.resolved_at.is_(None))


def _posture(connection: Connection) -> dict[str, Any]:
    d = devices.c
    ranks = {c.value: c.rank for c in Criticality}
    rank = case(ranks, value=d.criticality, else_=len(ranks))
    by_criticality = connection.execute(
        select(d.criticality, func.count()).group_by(d.criticality).order_by(func.min(rank))
    )
    by_type = connection.execute(
        select(d.device_type, func.count()).group_by(d.device_type).order_by(func.count().desc(), d.device_type)
    ).all()
    today = datetime.now(UTC).date()
    return {
        "devices": _scalar(connection, select(func.count()).select_from(devices)),
        "critical": _scalar(connection, select(func.count()).where(d.criticality.in_(LIFE_CRITICAL))),
        "unsupported": _scalar(connection, select(func.count()).where(d.end_of_support <= today)),
        "by_criticality": _bars(by_criticality),
        "by_type": _bars(by_type[:12])
        + (
            [{"label": "other types", "value": sum(int(n) for _t, n in by_type[12:])}] if len(by_type) > 12 else []
        ),  # fmt: skip
    }


def _vulnerabilities(connection: Connection) -> dict[str, Any]:
    """Two passes over the open findings: distinct devices (all, KEV), then counts per (band, confidence, KEV)."""
    vf = vulnerability_findings.c
    band = case(*((vf.cvss_score >= low, label) for label, low in _BANDS), else_="no CVSS score").label("band")
    kev_device = case((vf.in_kev.is_(True), vf.device_id), else_=None)
    devices_all, devices_kev = connection.execute(
        select(func.count(distinct(vf.device_id)), func.count(distinct(kev_device))).where(_open())
    ).one()
    by_band: dict[str, int] = {}
    by_confidence: dict[str, int] = {}
    total = kev = 0
    for label, confidence, in_kev, count in connection.execute(
        select(band, vf.confidence, vf.in_kev, func.count()).where(_open()).group_by(band, vf.confidence, vf.in_kev)
    ):
        by_band[label] = by_band.get(label, 0) + count
        by_confidence[confidence] = by_confidence.get(confidence, 0) + count
        total += count
        kev += count if in_kev else 0
    order = [label for label, _low in _BANDS] + ["no CVSS score"]
    return {
        "open": total,
        "devices": int(devices_all or 0),
        "kev": kev,
        "kev_devices": int(devices_kev or 0),
        "by_severity": [{"label": k, "value": by_band[k]} for k in order if by_band.get(k)],
        "by_confidence": [{"label": k, "value": v} for k, v in sorted(by_confidence.items())],
        "kev_split": [
            {"label": "known exploited (CISA KEV)", "value": kev},
            {"label": "not known exploited", "value": total - kev},
        ],
    }


def _network(connection: Connection) -> dict[str, Any]:
    f = findings.c
    rows = connection.execute(
        select(f.kind, func.count(distinct(f.device_id)))
        .group_by(f.kind)
        .order_by(func.count(distinct(f.device_id)).desc(), f.kind)
    )
    behaviours = [{"label": finding_label(str(k)), "value": int(n)} for k, n in rows]
    return {
        "behaviours": behaviours,
        "devices": _scalar(connection, select(func.count(distinct(f.device_id)))),
        # select_from(devices): without it the EXISTS subqueries would not correlate to the counted devices
        "unknown": _scalar(connection, select(func.count()).select_from(devices).where(seen_clause("unknown"))),
        "silent": _scalar(connection, select(func.count()).select_from(devices).where(seen_clause("silent"))),
    }


def _risk(connection: Connection, engine: Engine) -> dict[str, Any]:
    scored = _scalar(connection, select(func.count()).select_from(risk_scores))
    if not scored:
        return {"scored": 0, "note": NOT_SCORED, "top": [], "levels": [], "priorities": [], "trend": [], "sites": []}
    rs = risk_scores.c
    levels = _bars(connection.execute(select(rs.level, func.count()).group_by(rs.level).order_by(func.max(rs.score))))
    by_priority: dict[str, int] = dict(connection.execute(select(rs.ssvc, func.count()).group_by(rs.ssvc)).all())
    priorities = [{"label": p, "value": int(by_priority.get(p, 0))} for p in _PRIORITY_ORDER if p in by_priority]
    snaps = risk_snapshots.c
    trend = [
        {"day": day, "devices": int(n), "mean_score": float(mean), "max_score": float(top),
         "levels": orjson.loads(levels_json)}
        for day, n, mean, top, levels_json in connection.execute(
            select(snaps.day, snaps.devices, snaps.mean_score, snaps.max_score, snaps.levels)
            .where(snaps.dimension == "all")
            .order_by(snaps.day)
        )
    ]  # fmt: skip
    top = [
        {
            "device": r["device"],
            "score": r["score"],
            "level": r["level"],
            "ssvc": r["ssvc"],
            "summary": r["explanation"].get("summary", ""),
            "because": [
                *r["explanation"].get("likelihood", {}).get("because", [])[:3],
                *r["explanation"].get("severity", {}).get("because", [])[:2],
            ],
            "worst": [f.get("vulnerability") for f in r["findings"][:3]],
        }  # fmt: skip
        for r in risk.list_risks(engine, top=TOP_RISKS)
    ]
    sites = [
        {"label": g["key"], "value": g["mean_score"], "devices": g["devices"], "max": g["max_score"]}
        for g in risk.rollup(engine, "site")[:10]
    ]
    return {"scored": scored, "note": None, "top": top, "levels": levels, "priorities": priorities,
            "trend": trend, "sites": sites}  # fmt: skip


def board_report(engine: Engine, principal: Principal) -> dict[str, Any]:
    """The board report's figures: posture, vulnerabilities, network behaviour, risk and its trend."""
    require(principal, Permission.REPORTS_READ)
    ensure_ready(engine)
    with engine.connect() as connection:
        posture = _posture(connection)
        return {
            "name": "board",
            "title": "Medical device cybersecurity — board report",
            "generated_at": datetime.now(UTC),
            "generated_by": principal.username,
            "posture": posture,
            "vulnerabilities": _vulnerabilities(connection),
            "network": _network(connection),
            "risk": _risk(connection, engine),
            "alarms": _alarm_assurance(connection),
            "remediation": _remediation(connection),
            "governance": _framework_coverage(engine),
        }


def _framework_coverage(engine: Engine) -> list[dict[str, Any]]:
    """Framework coverage (met, partial, gap per framework) from live data, as the Governance page shows it."""
    from wardwatch.domain.permissions import SYSTEM  # noqa: PLC0415
    from wardwatch.services.governance import governance  # noqa: PLC0415 - services import each other lazily

    found = governance(engine, SYSTEM)  # the report's own permission was checked; coverage is part of it
    return [{"name": f["name"], "counts": f["counts"]} for f in found["frameworks"]]


def _remediation(connection: Connection) -> dict[str, Any]:
    """The remediation programme's figures (SLA compliance, overdue items, mean time to remediate)."""
    from wardwatch.services.remediation import figures  # noqa: PLC0415 - services import each other lazily

    return figures(connection)


def _alarm_assurance(connection: Connection) -> dict[str, Any] | None:
    """The newest alarm verification: flows, how many miss their budget after k failures, the units they are in."""
    row = connection.execute(
        select(alarm_verifications.c.k, alarm_verifications.c.flows, alarm_verifications.c.failing,
               alarm_verifications.c.report, alarm_verifications.c.created_at)
        .order_by(alarm_verifications.c.id.desc()).limit(1)
    ).first()  # fmt: skip
    if row is None:
        return None
    report = orjson.loads(row.report)
    units = [u for u in report.get("units", []) if u.get("failing")]
    points = report.get("single_points_of_failure", [])[:3]
    return {
        "k": row.k, "flows": row.flows, "failing": row.failing, "verified_at": row.created_at,
        "units_failing": [u["unit"] for u in units], "units": len(report.get("units", [])),
        "single_points": [p["label"] for p in points],
    }  # fmt: skip


def _accounts(connection: Connection) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    live = and_(
        api_tokens.c.revoked_at.is_(None), or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now)
    )
    tokens: dict[int, int] = dict(
        connection.execute(select(api_tokens.c.user_id, func.count()).where(live).group_by(api_tokens.c.user_id)).all()
    )
    u = users.c
    query = select(u.id, u.username, u.display_name, u.role, u.unit, u.auth_provider, u.disabled, u.last_login_at)
    return [
        {"username": row.username, "name": row.display_name, "role": row.role, "unit": row.unit,
         "provider": row.auth_provider, "disabled": bool(row.disabled),
         "last_login": aware(row.last_login_at) if row.last_login_at else None, "tokens": int(tokens.get(row.id, 0))}
        for row in connection.execute(query.order_by(u.username))
    ]  # fmt: skip


def _audit_trail(connection: Connection) -> dict[str, Any]:
    a = audit_log.c
    since = datetime.now(UTC) - timedelta(days=30)
    recent = [
        {**dict(r._mapping), "at": aware(r.at)}
        for r in connection.execute(
            select(a.id, a.at, a.actor, a.action, a.target, a.outcome, a.address)
            .order_by(a.id.desc())
            .limit(RECENT_AUDIT)
        )
    ]
    first = connection.execute(select(func.min(a.at))).scalar()
    return {
        "entries": _scalar(connection, select(func.count()).select_from(audit_log)),
        "last_30_days": _scalar(connection, select(func.count()).where(a.at >= since)),
        "first_at": aware(first) if first else None,
        "by_outcome": _bars(
            connection.execute(select(a.outcome, func.count()).group_by(a.outcome).order_by(a.outcome))
        ),
        "by_action": _bars(
            connection.execute(
                select(a.action, func.count()).group_by(a.action).order_by(func.count().desc(), a.action).limit(15)
            )
        ),
        "recent": recent,
    }


def _sources(connection: Connection) -> list[dict[str, Any]]:
    s = sources.c
    return [
        {**dict(r._mapping), "imported_at": aware(r.imported_at)}
        for r in connection.execute(
            select(s.id, s.kind, s.name, s.sha256, s.row_count, s.imported_at).order_by(
                s.imported_at.desc(), s.id.desc()
            )
        )
    ]


def _coverage(connection: Connection) -> list[dict[str, Any]]:
    total = _scalar(connection, select(func.count()).select_from(devices))

    def share(label: str, count: int) -> dict[str, Any]:
        return {"label": label, "devices": count, "percent": round(100.0 * count / total, 1) if total else 0.0}

    by_kind: dict[str, int] = dict(
        connection.execute(select(claims.c.source_kind, func.count(distinct(claims.c.device_id))).group_by(
            claims.c.source_kind)).all()
    )  # fmt: skip
    rows = [share(f"evidence from {kind}", int(n)) for kind, n in sorted(by_kind.items())]
    vf = vulnerability_findings.c
    rows.append(share("matched against vulnerability intelligence (any finding)",
                      _scalar(connection, select(func.count(distinct(vf.device_id))))))  # fmt: skip
    rows.append(share("risk scored", _scalar(connection, select(func.count()).select_from(risk_scores))))
    return [{"label": "devices in the inventory", "devices": total, "percent": 100.0 if total else 0.0}, *rows]


def _acceptances(connection: Connection) -> list[dict[str, Any]]:
    ra = risk_acceptances.c
    today = datetime.now(UTC).date()
    return [
        {**dict(r._mapping), "expired": r.expires_on < today}
        for r in connection.execute(
            select(ra.id, ra.device_id, ra.vulnerability_id, ra.approver, ra.justification, ra.expires_on)
            .where(ra.revoked_at.is_(None))
            .order_by(ra.expires_on, ra.id)
        )
    ]


def audit_report(engine: Engine, principal: Principal) -> dict[str, Any]:
    """The audit report's figures: accounts and roles, the audit trail, data sources, acceptances, coverage."""
    require(principal, Permission.AUDIT_READ)
    require(principal, Permission.REPORTS_READ)
    ensure_ready(engine)
    with engine.connect() as connection:
        return {
            "name": "audit",
            "title": "Wardwatch — audit report",
            "generated_at": datetime.now(UTC),
            "generated_by": principal.username,
            "accounts": _accounts(connection),
            "roles": [
                {"role": role.value, "permissions": sorted(p.value for p in granted)}
                for role, granted in ROLE_PERMISSIONS.items()
            ],
            "audit": _audit_trail(connection),
            "sources": _sources(connection),
            "acceptances": _acceptances(connection),
            "coverage": _coverage(connection),
        }


#: Reports: name -> builder.
REPORTS = {"board": board_report, "audit": audit_report}


def build_report(engine: Engine, principal: Principal, name: str) -> dict[str, Any]:
    """The figures of report ``name``; ``LookupError`` for an unknown one, refusal without its permissions."""
    if name not in REPORTS:
        raise LookupError(f"no report {name!r}; known: {', '.join(REPORTS)}")
    return REPORTS[name](engine, principal)


def json_ready(value: Any) -> Any:
    """The report with dates as ISO text (for JSON output)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
