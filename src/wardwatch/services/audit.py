"""The audit trail: services record who did what, when, to what, and with what outcome.

The ``audit_log`` table is append-only (triggers refuse UPDATE and DELETE), so the trail a compliance officer
verifies is the one written at the time.  Recording never raises into the caller's work: a refused action is
recorded in its own transaction, so the refusal is kept even though the action's transaction rolls back.

The entries form a hash chain: each entry stores the hash of the entry before it (``prev_hash``, 64 zeros for
the first) and its own ``entry_hash`` = SHA-256 of ``prev_hash`` followed by the canonical text of its fields
(:func:`chain_hash`).  :func:`verify_audit` recomputes the chain, so a row changed or deleted behind the
triggers' back (by someone who owns the database) is found, and the last hash it reports lets an auditor prove
later that nothing before it changed.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, insert, select, text

from wardwatch.domain.permissions import Permission, Principal, require
from wardwatch.store.database import ensure_ready
from wardwatch.store.inventory import aware
from wardwatch.store.schema import audit_log

__all__ = [
    "GENESIS",
    "AuditFilter",
    "AuditVerification",
    "chain_hash",
    "list_audit",
    "record",
    "record_now",
    "recent_verification",
    "verify_audit",
]

#: Outcomes of an audited action.
OUTCOMES = ("success", "denied", "failure")

#: The ``prev_hash`` of the first entry.
GENESIS = "0" * 64

#: The PostgreSQL advisory lock (transaction level) that serialises appends, so two writers never fork the chain.
CHAIN_LOCK = 0x7777_6175_6469_7431  # "wwaudit1"

#: The columns an entry's hash covers, in order (the id is not among them: the chain links entries by hash).
HASHED = ("at", "actor", "action", "target", "outcome", "detail", "address")

_STREAM_BATCH = 2000

#: Compact JSON, non-ASCII escaped: the entry's canonical text.
_CANONICAL = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def canonical_time(at: datetime) -> str:
    """A stored time as hashed: UTC, ISO 8601 with microseconds (SQLite hands back naive UTC times, PostgreSQL
    aware ones in the session's time zone: both give the same text)."""
    moment = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def chain_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    target: str | None,
    outcome: str,
    detail: str | None,
    address: str | None,
) -> str:
    """The hex SHA-256 of ``prev_hash`` followed by the entry's canonical text: the compact JSON array
    ``[at, actor, action, target, outcome, detail, address]`` (``at`` as :func:`canonical_time`, ``detail`` the
    stored JSON text, absent values ``null``, non-ASCII escaped), encoded as UTF-8."""
    canonical = _CANONICAL.encode([canonical_time(at), actor, action, target, outcome, detail, address])
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _lock_chain(connection: Connection) -> None:
    """Make this transaction the only appender until it ends, before it reads the last hash."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
        return
    if connection.dialect.name == "sqlite":
        # pysqlite opens a transaction only at the first write, so a plain read of the last hash would happen
        # outside it and two writers could read the same one.  Take the write lock first: BEGIN IMMEDIATE when
        # no transaction is open yet (an open one has written already, so it holds the lock).
        dbapi = connection.connection.dbapi_connection
        if dbapi is not None and not getattr(dbapi, "in_transaction", True):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


#: Statements built once: an append runs on every audited action.
_NEWEST = select(audit_log.c.entry_hash).order_by(audit_log.c.id.desc()).limit(1)
_APPEND = insert(audit_log)


def last_hash(connection: Connection) -> str:
    """The ``entry_hash`` of the newest entry, :data:`GENESIS` when there is none (one primary-key lookup)."""
    found = connection.execute(_NEWEST).scalar()
    return GENESIS if found is None else str(found)


def record(
    connection: Connection,
    actor: str,
    action: str,
    *,
    target: str | None = None,
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
    address: str | None = None,
) -> None:
    """Append one entry inside the caller's transaction (it is kept only if that transaction commits).

    The entry is chained to the newest one; appends are serialised until the caller's transaction ends (a
    PostgreSQL advisory lock, SQLite's write lock), so record late in a long transaction.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    _lock_chain(connection)
    prev_hash = last_hash(connection)
    values: dict[str, Any] = {
        "at": datetime.now(UTC),  # after the lock: times follow the chain's order
        "actor": actor[:100],
        "action": action[:60],
        "target": None if target is None else target[:300],
        "outcome": outcome,
        "detail": None if detail is None else json.dumps(detail, default=str, sort_keys=True),
        "address": address,
    }
    entry_hash = chain_hash(prev_hash, *(values[name] for name in HASHED))
    connection.execute(_APPEND, {**values, "prev_hash": prev_hash, "entry_hash": entry_hash})


def record_now(engine: Engine, actor: str, action: str, **kwargs: Any) -> None:
    """Append one entry in its own transaction (for refusals and failures the caller's work rolls back)."""
    with engine.begin() as connection:
        record(connection, actor, action, **kwargs)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Filters of the audit trail; ``None`` means no filter."""

    actor: str | None = None
    """Who acted (exact)."""
    action: str | None = None
    """What was done, e.g. ``login`` or ``users.add`` (exact)."""
    outcome: str | None = None
    """``success``, ``denied`` or ``failure``."""


#: The columns :func:`list_audit` returns (the hashes are for :func:`verify_audit`).
_LISTED = tuple(audit_log.c[name] for name in ("id", *HASHED))


def list_audit(
    engine: Engine, principal: Principal, where: AuditFilter, *, limit: int = 100, before_id: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The newest entries first (keyset: ``before_id``), and how many match; needs ``audit:read``."""
    require(principal, Permission.AUDIT_READ)
    ensure_ready(engine)
    query = select(*_LISTED)
    if where.actor:
        query = query.where(audit_log.c.actor == where.actor)
    if where.action:
        query = query.where(audit_log.c.action == where.action)
    if where.outcome:
        query = query.where(audit_log.c.outcome == where.outcome)
    with engine.connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        rows = connection.execute(query.order_by(audit_log.c.id.desc()).limit(limit)).all()
    entries = []
    for row in rows:
        entry = dict(row._mapping)
        entry["at"] = aware(entry["at"])
        entry["detail"] = json.loads(entry["detail"]) if entry["detail"] else None
        entries.append(entry)
    return entries, total


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The result of recomputing the audit trail's hash chain."""

    entries: int
    """How many entries were checked (all of them)."""
    ok: bool
    """Every entry matches its hash and links to the one before it."""
    last_id: int | None
    """The newest entry's id (``None``: the trail is empty)."""
    last_hash: str | None
    """The newest entry's ``entry_hash``: note it, and a later verification ending in the same chain proves that
    nothing up to it changed (deleting the newest entries shows only as a different last hash)."""
    broken_id: int | None = None
    """The first entry where the chain breaks."""
    reason: Literal["altered", "missing"] | None = None
    """``altered``: the entry's content no longer matches its hash; ``missing``: it does not link to the entry
    stored before it (entries were deleted, or one was inserted)."""
    problem: str | None = None
    """What is wrong at ``broken_id``, in one sentence."""
    breaks: int = 0
    """How many places the chain breaks at."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return asdict(self)

    @property
    def summary(self) -> str:
        """One line for people."""
        if self.ok:
            if self.last_hash is None:
                return "Audit trail verified: 0 entries (the trail is empty)"
            return f"Audit trail verified: {self.entries:,} entries, last hash {self.last_hash}"
        more = f" ({self.breaks} breaks in all)" if self.breaks > 1 else ""
        return f"Audit trail broken at entry #{self.broken_id}: {self.problem}{more}"


def verify_audit(engine: Engine, principal: Principal) -> AuditVerification:
    """Recompute the whole chain in id order, streaming (constant memory); needs ``audit:read``."""
    require(principal, Permission.AUDIT_READ)
    ensure_ready(engine)
    c = audit_log.c
    query = select(c.id, c.prev_hash, c.entry_hash, *(c[name] for name in HASHED)).order_by(c.id)
    entries = breaks = 0
    previous_id: int | None = None
    previous_hash = GENESIS
    first: tuple[int, Literal["altered", "missing"], str] | None = None
    with engine.connect() as connection:
        rows = connection.execution_options(stream_results=True, yield_per=_STREAM_BATCH).execute(query)
        for row_id, prev_hash, entry_hash, *fields in rows:
            entries += 1
            problem: tuple[Literal["altered", "missing"], str] | None = None
            if chain_hash(prev_hash or "", *fields) != entry_hash:
                problem = ("altered", "its content no longer matches its hash (the entry was changed)")
            elif prev_hash != previous_hash:
                if previous_id is None:
                    problem = ("missing", "it does not start the chain (entries before it were deleted)")
                else:
                    problem = (
                        "missing",
                        f"it does not link to entry #{previous_id} before it "
                        "(entries between them were deleted, or it was inserted)",
                    )
            if problem is not None:
                breaks += 1
                if first is None:
                    first = (row_id, *problem)
            previous_id, previous_hash = row_id, entry_hash
    last_hash = None if previous_id is None else previous_hash
    if first is None:
        return AuditVerification(entries=entries, ok=True, last_id=previous_id, last_hash=last_hash)
    return AuditVerification(
        entries=entries,
        ok=False,
        last_id=previous_id,
        last_hash=last_hash,
        broken_id=first[0],
        reason=first[1],
        problem=first[2],
        breaks=breaks,
    )


#: A full chain check that took longer than this (seconds) is reused for :data:`_CHAIN_REUSE` seconds by
#: :func:`recent_verification`: about a million entries take ten seconds to check, too long for every page view.
_CHAIN_SLOW = 1.0
_CHAIN_REUSE = 600.0
_chain_checks: dict[str, tuple[float, datetime, AuditVerification]] = {}


def recent_verification(engine: Engine, principal: Principal) -> tuple[AuditVerification, datetime]:
    """The chain's state and when it was checked, for pages and reports that show it (the /audit page, the
    governance evidence): a fresh :func:`verify_audit`, unless a slow one ran in the last ten minutes in this
    process.  ``wardwatch audit verify`` and ``GET /api/audit/verify`` always check afresh."""
    require(principal, Permission.AUDIT_READ)
    key = engine.url.render_as_string(hide_password=True)
    cached = _chain_checks.get(key)
    if cached is not None and time.monotonic() - cached[0] < _CHAIN_REUSE:
        return cached[2], cached[1]
    started, checked_at = time.monotonic(), datetime.now(UTC)
    chain = verify_audit(engine, principal)
    if time.monotonic() - started > _CHAIN_SLOW:
        _chain_checks[key] = (time.monotonic(), checked_at, chain)
    else:
        _chain_checks.pop(key, None)
    return chain, checked_at
