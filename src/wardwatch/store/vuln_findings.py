"""Vulnerability findings repository: stored findings, the match bookkeeping and SBOM links.

Functions take an open :class:`~sqlalchemy.Connection` so the service decides the transaction.  Large id sets are
sent in chunks (SQLite's and psycopg's parameter limits).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, delete, false, or_, select, true, update

from wardwatch.store.bulk import bulk_insert
from wardwatch.store.inventory import aware
from wardwatch.store.schema import devices, intel_files, intel_records, intel_state, sbom_links, vulnerability_findings

__all__ = [
    "DEVICE_COLUMNS",
    "FINDING_COLUMNS",
    "Existing",
    "Key",
]

CHUNK = 900
#: Device columns matching reads.
DEVICE_COLUMNS: tuple[str, ...] = (
    "id", "asset_tag", "manufacturer", "model", "os_name", "os_version", "firmware_version", "software_version",
    "fda_product_code",
)  # fmt: skip
#: Columns written for each finding (besides id, first_seen, last_seen, resolved_at).
FINDING_COLUMNS: tuple[str, ...] = (
    "device_id", "vulnerability_id", "component_ref", "source", "confidence", "vex_status", "suppressed", "in_kev",
    "epss", "epss_percentile", "cvss_score", "cvss_vector", "detail", "digest",
)  # fmt: skip

Key = tuple[int, str, str]
"""(device id, vulnerability id, component ref)."""
Existing = tuple[int, str | None, bool]
"""(row id, digest, resolved)."""

_vf = vulnerability_findings


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def load_devices(connection: Connection, ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """The devices (all, or these ids) with the columns matching needs, in id order."""
    query = select(*(devices.c[name] for name in DEVICE_COLUMNS)).order_by(devices.c.id)
    if ids is None:
        return [dict(zip(DEVICE_COLUMNS, row, strict=True)) for row in connection.execute(query)]
    found: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(set(ids))):
        rows = connection.execute(query.where(devices.c.id.in_(chunk)))
        found += [dict(zip(DEVICE_COLUMNS, row, strict=True)) for row in rows]
    return sorted(found, key=lambda d: int(d["id"]))


def changed_device_ids(connection: Connection, since: datetime) -> list[int]:
    """Devices created or updated after ``since``."""
    return [int(i) for i in connection.execute(select(devices.c.id).where(devices.c.updated_at > since)).scalars()]


def _scope(device_ids: Sequence[int] | None, vulnerability_ids: Sequence[str] | None) -> Iterator[ColumnElement[bool]]:
    """WHERE clauses covering the scope (one per chunk); everything when both are ``None``."""
    if device_ids is not None:
        for chunk in _chunks(sorted(set(device_ids))):
            yield _vf.c.device_id.in_(chunk)
    elif vulnerability_ids is not None:
        for chunk in _chunks(sorted(set(vulnerability_ids))):
            yield _vf.c.vulnerability_id.in_(chunk)
    else:
        yield true()


def existing(
    connection: Connection, device_ids: Sequence[int] | None, vulnerability_ids: Sequence[str] | None
) -> dict[Key, Existing]:
    """Every stored finding in scope: key -> (row id, digest, resolved)."""
    found: dict[Key, Existing] = {}
    columns = (_vf.c.device_id, _vf.c.vulnerability_id, _vf.c.component_ref, _vf.c.id, _vf.c.digest,
               _vf.c.resolved_at)  # fmt: skip
    for where in _scope(device_ids, vulnerability_ids):
        for device_id, vuln_id, ref, row_id, digest, resolved in connection.execute(select(*columns).where(where)):
            found[(int(device_id), str(vuln_id), str(ref))] = (int(row_id), digest, resolved is not None)
    return found


def insert_findings(connection: Connection, rows: Sequence[tuple[Any, ...]], now: datetime) -> None:
    """Insert new findings (tuples in :data:`FINDING_COLUMNS` order), first and last seen now."""
    bulk_insert(connection, _vf, (*FINDING_COLUMNS, "first_seen", "last_seen"), [(*r, now, now) for r in rows])


def update_findings(connection: Connection, rows: Sequence[tuple[int, tuple[Any, ...]]], now: datetime) -> None:
    """Rewrite changed or returning findings: (row id, values in :data:`FINDING_COLUMNS` order); reopens them."""
    if not rows:
        return
    names = FINDING_COLUMNS[3:]  # the key columns never change
    statement = (
        update(_vf)
        .where(_vf.c.id == bindparam("row_id"))
        .values({name: bindparam(f"v_{name}") for name in names} | {"last_seen": now, "resolved_at": None})
    )
    for chunk in _chunks(rows, 5_000):
        params = [{"row_id": row_id} | {f"v_{n}": v for n, v in zip(names, values[3:], strict=True)}
                  for row_id, values in chunk]  # fmt: skip
        connection.execute(statement, params)


def resolve_findings(connection: Connection, row_ids: Sequence[int], now: datetime) -> None:
    """Mark findings no longer found as resolved."""
    for chunk in _chunks(sorted(row_ids)):
        connection.execute(update(_vf).where(_vf.c.id.in_(chunk)).values(resolved_at=now))


def touch_rows(connection: Connection, row_ids: Sequence[int], now: datetime) -> None:
    """Set ``last_seen`` of these findings."""
    for chunk in _chunks(sorted(row_ids)):
        connection.execute(update(_vf).where(_vf.c.id.in_(chunk)).values(last_seen=now))


def touch_open(
    connection: Connection, device_ids: Sequence[int] | None, vulnerability_ids: Sequence[str] | None, now: datetime
) -> None:
    """Set ``last_seen`` of every open finding in scope (call after resolving the ones that went away)."""
    for where in _scope(device_ids, vulnerability_ids):
        connection.execute(update(_vf).where(where, _vf.c.resolved_at.is_(None)).values(last_seen=now))


def query_findings(
    connection: Connection,
    *,
    device_ids: Sequence[int] | None = None,
    kev: bool = False,
    min_cvss: float | None = None,
    status: str | None = None,
    confidence: str | None = None,
    include_suppressed: bool = False,
    include_resolved: bool = False,
) -> Iterator[str]:
    """The ``detail`` JSON of the stored findings that pass the filters, by device, vulnerability, component."""
    clauses: list[ColumnElement[bool]] = []
    if not include_resolved:
        clauses.append(_vf.c.resolved_at.is_(None))
    if not include_suppressed and status != "not_affected":
        clauses.append(_vf.c.suppressed == false())
    if status == "affected":
        clauses.append(or_(_vf.c.vex_status.is_(None), _vf.c.vex_status == status))
    elif status is not None:
        clauses.append(_vf.c.vex_status == status)
    if confidence is not None:
        clauses.append(_vf.c.confidence == confidence)
    if kev:
        clauses.append(_vf.c.in_kev == true())
    if min_cvss is not None:
        clauses.append(_vf.c.cvss_score >= min_cvss)
    query = select(_vf.c.detail).order_by(_vf.c.device_id, _vf.c.vulnerability_id, _vf.c.component_ref)
    if device_ids is None:
        yield from connection.execute(query.where(and_(true(), *clauses))).scalars()
        return
    for chunk in _chunks(sorted(set(device_ids))):
        yield from connection.execute(query.where(_vf.c.device_id.in_(chunk), *clauses)).scalars()


# --------------------------------------------------------------------------------------------- bookkeeping


def record_digests(connection: Connection, ids: Sequence[str]) -> dict[str, str]:
    """Stored content digests of these vulnerability records."""
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(set(ids))):
        query = select(intel_records.c.vulnerability_id, intel_records.c.digest)
        found.update(
            (str(k), str(v)) for k, v in connection.execute(query.where(intel_records.c.vulnerability_id.in_(chunk)))
        )
    return found


def replace_digests(connection: Connection, digests: dict[str, str], *, everything: bool) -> None:
    """Store record digests: replace all (``everything``) or just these ids."""
    if everything:
        connection.execute(delete(intel_records))
    else:
        for chunk in _chunks(sorted(digests)):
            connection.execute(delete(intel_records).where(intel_records.c.vulnerability_id.in_(chunk)))
    bulk_insert(connection, intel_records, ("vulnerability_id", "digest"), sorted(digests.items()))


def matched_files(connection: Connection) -> set[str]:
    """Names of the stored files the findings were matched against."""
    return {str(name) for name in connection.execute(select(intel_files.c.name)).scalars()}


def record_files(connection: Connection, names: Iterable[tuple[str, str]], now: datetime, *, everything: bool) -> None:
    """Record (name, kind) of files matched: replacing the list (``everything``) or adding to it."""
    rows = sorted(set(names))
    if everything:
        connection.execute(delete(intel_files))
    else:
        for chunk in _chunks([name for name, _ in rows]):
            connection.execute(delete(intel_files).where(intel_files.c.name.in_(chunk)))
    bulk_insert(connection, intel_files, ("name", "kind", "matched_at"), [(n, k, now) for n, k in rows])


def get_state(connection: Connection, name: str) -> str | None:
    """A bookkeeping value."""
    found = connection.execute(select(intel_state.c.value).where(intel_state.c.name == name)).scalar()
    return None if found is None else str(found)


def set_state(connection: Connection, name: str, value: str | None) -> None:
    """Set (or, with ``None``, remove) a bookkeeping value."""
    connection.execute(delete(intel_state).where(intel_state.c.name == name))
    if value is not None:
        connection.execute(intel_state.insert().values(name=name, value=value))


def matched_at(connection: Connection) -> datetime | None:
    """When the inventory was last matched."""
    value = get_state(connection, "matched_at")
    return aware(datetime.fromisoformat(value)) if value else None


# --------------------------------------------------------------------------------------------- SBOM links


def sbom_link_rows(connection: Connection) -> list[dict[str, Any]]:
    """Every SBOM link."""
    query = select(sbom_links).order_by(sbom_links.c.vendor_key, sbom_links.c.model_key)
    return [dict(row._mapping) for row in connection.execute(query)]


def upsert_link(connection: Connection, row: dict[str, Any], *, override: bool) -> bool:
    """Link a model to an SBOM; an existing explicit link is only replaced with ``override``.  True if written."""
    key = (sbom_links.c.vendor_key == row["vendor_key"], sbom_links.c.model_key == row["model_key"])
    current = connection.execute(select(sbom_links.c.linked_by, sbom_links.c.sbom).where(*key)).first()
    if current is not None:
        if current.sbom == row["sbom"] and current.linked_by == row["linked_by"]:
            return False
        if current.linked_by == "explicit" and not override:
            return False
        connection.execute(delete(sbom_links).where(*key))
    connection.execute(sbom_links.insert().values(**row))
    return True
