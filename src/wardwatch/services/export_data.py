"""What the API's exports contain: the devices and the open vulnerability findings a user may read.

Rows are streamed (200,000 devices fit in little memory) and written by :func:`services.exports.write_export`
(CSV, JSON, XLSX, safe to open in a spreadsheet).  A clinician's exports hold the devices of their unit only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, and_, select

from wardwatch.domain.permissions import Permission, Principal, require
from wardwatch.services.devices import EXPORT_COLUMNS, DeviceFilter, iter_devices
from wardwatch.store.database import ensure_ready
from wardwatch.store.inventory import aware
from wardwatch.store.schema import devices, units, vulnerability_findings

__all__ = ["EXPORTS", "FINDING_COLUMNS", "export_rows"]

#: Columns of the findings export.
FINDING_COLUMNS: tuple[str, ...] = (
    "device_id", "asset_tag", "manufacturer", "model", "department", "vulnerability_id", "component_ref",
    "confidence", "in_kev", "cvss_score", "cvss_vector", "epss", "epss_percentile", "vex_status", "source",
    "first_seen", "last_seen",
)  # fmt: skip
#: What can be exported: name -> (permission, columns).
EXPORTS: dict[str, tuple[Permission, tuple[str, ...]]] = {
    "devices": (Permission.DEVICES_READ, EXPORT_COLUMNS),
    "findings": (Permission.FINDINGS_READ, FINDING_COLUMNS),
}


def _devices(engine: Engine, principal: Principal) -> Iterator[dict[str, Any]]:
    for row in iter_devices(engine, DeviceFilter()):
        if not principal.unit_scoped or row.get("department") == principal.unit:
            yield row


def _findings(engine: Engine, principal: Principal) -> Iterator[dict[str, Any]]:
    vf, d = vulnerability_findings.c, devices.c
    query = (
        select(
            vf.device_id,
            d.asset_tag,
            d.manufacturer,
            d.model,
            units.c.department,
            vf.vulnerability_id,
            vf.component_ref,
            vf.confidence,
            vf.in_kev,
            vf.cvss_score,
            vf.cvss_vector,
            vf.epss,
            vf.epss_percentile,
            vf.vex_status,
            vf.source,
            vf.first_seen,
            vf.last_seen,
        )  # fmt: skip
        .join(devices, d.id == vf.device_id)
        .outerjoin(units, d.unit_id == units.c.id)
        .where(and_(vf.suppressed.is_(False), vf.resolved_at.is_(None)))
        .order_by(vf.device_id, vf.id)
    )
    if principal.unit_scoped:
        query = query.where(units.c.department == (principal.unit or ""))
    with engine.connect() as connection:
        for row in connection.execution_options(stream_results=True, yield_per=5_000).execute(query):
            record = dict(row._mapping)
            record["first_seen"], record["last_seen"] = aware(record["first_seen"]), aware(record["last_seen"])
            yield record


def export_rows(engine: Engine, principal: Principal, what: str) -> tuple[tuple[str, ...], Iterator[dict[str, Any]]]:
    """The columns and rows of export ``what`` (``devices`` or ``findings``), as ``principal`` may read them."""
    if what not in EXPORTS:
        raise LookupError(f"no export {what!r}; known: {', '.join(EXPORTS)}")
    permission, columns = EXPORTS[what]
    require(principal, permission)
    ensure_ready(engine)
    rows = _devices(engine, principal) if what == "devices" else _findings(engine, principal)
    return columns, rows
