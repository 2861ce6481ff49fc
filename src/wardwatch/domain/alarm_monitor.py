"""Live monitoring of alarm deliveries against the clinicians' budgets (METHODS.md section 5.4, "Live monitoring").

:func:`summarize` turns observed :class:`~wardwatch.domain.alarm_model.DeliveryRecord` values (test alarms,
heartbeats, real alarms exported by middleware) into a :class:`MonitorReport`:

* **paths**: per path label (the record's ``path``, else ``"source -> recipient"``), unit and priority -- "per
  flow and priority" -- the count, the lost, the late, p50/p95/p99 and the largest latency, and the first and last
  send.  Percentiles use the **nearest-rank** method (:func:`percentile`): the smallest observed latency with at
  least p % of the delivered latencies at or below it, so a p99 is always a latency that really happened and is
  never interpolated below a slow outlier.  Lost deliveries have no latency: they are counted, not ranked;
* **units**: the same figures per clinical unit;
* **breaches**: every record whose latency exceeds the budget that applies to it, and every lost record;
* **silences**: per heartbeat stream (source, recipient), every stretch longer than ``interval x misses`` in which
  no heartbeat *arrived* -- between consecutive arrivals, from the stream's first send to its first arrival, and
  from the last arrival to ``now`` (or, without ``now``, to the stream's last send).  Arrivals, not sends, are
  used: a heartbeat that was sent but lost does not show that the path is up;
* **alerts**: sentences for people: a path whose p99 is over its budget less ``margin_s``, breaches, silences, and
  confirmed budgets whose silence detection time (``interval x misses``) is not shorter than the budget itself --
  a real alarm raised just after a silent failure would be late before anyone noticed the silence.

**Which budget applies to a record.**  Only the latest ``version`` of each budget key counts.  A budget applies when
its priority equals the record's (a record without a priority cannot be judged), its unit is ``"*"`` or the
record's unit, and its alarm type is ``"*"`` or the record's alarm type (a record without an alarm type -- an
untyped probe or heartbeat -- stands for every alarm type of its unit and priority).  When several apply, the
strictest (smallest ``max_delivery_s``, then the key) is the one that applies: a patient-safety requirement is never
relaxed by a looser, more general one.

**Heartbeat interval of a stream**: the ``heartbeat_interval_s`` (and ``heartbeat_misses``) of a budget that applies
to the stream's heartbeat records (the one with the shortest detection time when several do), else the
``heartbeat_interval_s`` argument (with ``heartbeat_misses``), else the median gap between the stream's consecutive
sends.

Pure: no I/O, no clock (``now`` is an argument; without it there is no "silent until now" check).  Naive times are
taken as UTC.  Every output is sorted, so equal inputs give equal reports.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Literal

from wardwatch.domain.alarm_model import Budget, DeliveryRecord, Priority

__all__ = [
    "Alert",
    "AlertKind",
    "Breach",
    "MonitorReport",
    "PathStats",
    "Severity",
    "Silence",
    "UnitStats",
    "applicable_budget",
    "latest_budgets",
    "path_label",
    "percentile",
    "summarize",
]

Severity = Literal["high", "medium"]
AlertKind = Literal["latency", "breach", "loss", "silence", "detection"]

_BudgetOf = Callable[[DeliveryRecord], Budget | None]
_PRIORITY_ORDER: Mapping[Priority | None, int] = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2, None: 3}
_KIND_ORDER: Mapping[str, int] = {"silence": 0, "loss": 1, "breach": 2, "latency": 3, "detection": 4}


@dataclass(frozen=True, slots=True)
class PathStats:
    """Delivery figures of one path label, unit and priority."""

    path: str
    unit: str | None
    priority: Priority | None
    count: int
    """Deliveries sent (heartbeats included: they are the path's probes)."""
    lost: int
    """Sent, never received."""
    late: int
    """Received later than the budget that applies to the record allows."""
    p50_s: float | None
    """Nearest-rank percentiles of the delivered latencies (``None`` when nothing was delivered)."""
    p95_s: float | None
    p99_s: float | None
    max_s: float | None
    first_sent: datetime
    last_sent: datetime
    budget_key: str | None
    """The strictest budget that applies to any of the path's records (compared with the p99)."""
    budget_s: float | None


@dataclass(frozen=True, slots=True)
class UnitStats:
    """Delivery figures of one clinical unit (``None``: records that name no unit)."""

    unit: str | None
    count: int
    lost: int
    late: int
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None
    max_s: float | None
    first_sent: datetime
    last_sent: datetime


@dataclass(frozen=True, slots=True)
class Breach:
    """A delivery that was lost, or arrived later than its budget allows."""

    origin: str
    """The record's origin (``deliveries.csv:row 7``)."""
    path: str
    source: str
    recipient: str
    sent_at: datetime
    latency_s: float | None
    """``None``: lost."""
    budget_key: str | None
    """``None`` for a lost delivery no budget governs."""
    budget_s: float | None

    @property
    def lost(self) -> bool:
        """True when the delivery never arrived."""
        return self.latency_s is None


@dataclass(frozen=True, slots=True)
class Silence:
    """A stretch in which no heartbeat of one stream arrived for longer than ``interval_s x misses``."""

    source: str
    recipient: str
    start: datetime
    """The last arrival before the silence (or the stream's first send when nothing had arrived yet)."""
    end: datetime
    """The next arrival, or ``now`` / the last send when the silence had not ended."""
    seconds: float
    interval_s: float
    """The expected heartbeat interval."""
    misses: int
    ongoing: bool
    """True when no heartbeat arrived after ``start`` at all."""
    budget_key: str | None
    """The budget that set the interval, if one did."""

    @property
    def stream(self) -> str:
        """``source -> recipient``."""
        return f"{self.source} -> {self.recipient}"


@dataclass(frozen=True, slots=True)
class Alert:
    """One sentence for the people who keep alarms flowing."""

    severity: Severity
    kind: AlertKind
    subject: str
    """A path label, heartbeat stream or budget key."""
    message: str


@dataclass(frozen=True, slots=True)
class MonitorReport:
    """What :func:`summarize` found."""

    paths: tuple[PathStats, ...]
    units: tuple[UnitStats, ...]
    breaches: tuple[Breach, ...]
    silences: tuple[Silence, ...]
    alerts: tuple[Alert, ...]
    now: datetime | None = None


def percentile(values: Iterable[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p <= 100): rank ``ceil(p / 100 * n)`` of the sorted values.

    For ``[0.2, 0.4, 0.5, 0.9, 14.2]`` the p50 is rank 3 (0.5) and the p95 rank 5 (14.2).  The rank is computed in
    exact arithmetic, so the p95 of 20 values is exactly rank 19.  Raises ValueError for no values or p out of range.
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    rank = math.ceil(Fraction(str(p)) * len(ordered) / 100)
    return ordered[max(rank, 1) - 1]


def path_label(record: DeliveryRecord) -> str:
    """The record's path label, else ``source -> recipient``."""
    return record.path or f"{record.source} -> {record.recipient}"


def latest_budgets(budgets: Iterable[Budget]) -> tuple[Budget, ...]:
    """The highest version of each budget key, sorted by key."""
    latest: dict[str, Budget] = {}
    for budget in budgets:
        known = latest.get(budget.key)
        if known is None or budget.version > known.version:
            latest[budget.key] = budget
    return tuple(latest[key] for key in sorted(latest))


def applicable_budget(record: DeliveryRecord, budgets: Iterable[Budget]) -> Budget | None:
    """The strictest of ``budgets`` that governs ``record`` (see the module docstring), or ``None``."""
    if record.priority is None:
        return None
    matching = [
        b
        for b in budgets
        if b.priority == record.priority
        and b.unit in ("*", record.unit)
        and (b.alarm_type == "*" or record.alarm_type is None or b.alarm_type == record.alarm_type)
    ]
    return min(matching, key=lambda b: (b.max_delivery_s, b.key), default=None)


def summarize(
    records: Sequence[DeliveryRecord],
    budgets: Sequence[Budget],
    *,
    now: datetime | None = None,
    margin_s: float = 0.0,
    heartbeat_interval_s: float | None = None,
    heartbeat_misses: int = 3,
) -> MonitorReport:
    """Latency figures, breaches, heartbeat silences and alerts for ``records`` judged against ``budgets``.

    ``margin_s``: alert when a path's p99 exceeds its budget less this margin.  ``heartbeat_interval_s`` and
    ``heartbeat_misses``: the heartbeat schedule of streams no budget sets one for.
    """
    if margin_s < 0 or not math.isfinite(margin_s):
        raise ValueError(f"margin_s must be a finite number >= 0, got {margin_s}")
    if heartbeat_interval_s is not None and not heartbeat_interval_s > 0:
        raise ValueError(f"heartbeat_interval_s must be > 0, got {heartbeat_interval_s}")
    if heartbeat_misses < 1:
        raise ValueError(f"heartbeat_misses must be >= 1, got {heartbeat_misses}")
    now = _utc(now) if now is not None else None
    current = latest_budgets(budgets)
    cache: dict[tuple[str | None, str | None, Priority | None], Budget | None] = {}

    def budget_of(record: DeliveryRecord) -> Budget | None:
        key = (record.unit, record.alarm_type, record.priority)
        if key not in cache:
            cache[key] = applicable_budget(record, current)
        return cache[key]

    breaches = tuple(sorted(_breaches(records, budget_of), key=lambda b: (b.sent_at, b.origin, b.path)))
    late_ids = _late_ids(records, budget_of)
    paths = _path_stats(records, budget_of, late_ids)
    units = _unit_stats(records, late_ids)
    silences = _silences(records, budget_of, now, heartbeat_interval_s, heartbeat_misses)
    alerts = _alerts(paths, breaches, silences, current, margin_s, heartbeat_interval_s, heartbeat_misses)
    return MonitorReport(paths, units, breaches, silences, alerts, now)


# --- figures ----------------------------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _latency(record: DeliveryRecord) -> float | None:
    if record.received_at is None:
        return None
    return (_utc(record.received_at) - _utc(record.sent_at)).total_seconds()


def _is_late(record: DeliveryRecord, budget: Budget | None) -> bool:
    latency = _latency(record)
    return budget is not None and latency is not None and latency > budget.max_delivery_s


def _breaches(records: Sequence[DeliveryRecord], budget_of: _BudgetOf) -> Iterable[Breach]:
    for record in records:
        budget = budget_of(record)
        latency = _latency(record)
        if latency is None or _is_late(record, budget):
            yield Breach(
                origin=record.origin,
                path=path_label(record),
                source=record.source,
                recipient=record.recipient,
                sent_at=_utc(record.sent_at),
                latency_s=latency,
                budget_key=budget.key if budget else None,
                budget_s=budget.max_delivery_s if budget else None,
            )


def _late_ids(records: Sequence[DeliveryRecord], budget_of: _BudgetOf) -> frozenset[int]:
    return frozenset(i for i, record in enumerate(records) if _is_late(record, budget_of(record)))


@dataclass(frozen=True, slots=True)
class _Figures:
    count: int
    lost: int
    late: int
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None
    max_s: float | None
    first_sent: datetime
    last_sent: datetime


def _figures(indexed: Sequence[tuple[int, DeliveryRecord]], late_ids: frozenset[int]) -> _Figures:
    latencies = [lat for _, r in indexed if (lat := _latency(r)) is not None]
    sends = [_utc(r.sent_at) for _, r in indexed]
    return _Figures(
        count=len(indexed),
        lost=len(indexed) - len(latencies),
        late=sum(1 for i, _ in indexed if i in late_ids),
        p50_s=percentile(latencies, 50) if latencies else None,
        p95_s=percentile(latencies, 95) if latencies else None,
        p99_s=percentile(latencies, 99) if latencies else None,
        max_s=max(latencies) if latencies else None,
        first_sent=min(sends),
        last_sent=max(sends),
    )


def _path_stats(
    records: Sequence[DeliveryRecord], budget_of: _BudgetOf, late_ids: frozenset[int]
) -> tuple[PathStats, ...]:
    groups: dict[tuple[str, str | None, Priority | None], list[tuple[int, DeliveryRecord]]] = {}
    for i, record in enumerate(records):
        groups.setdefault((path_label(record), record.unit, record.priority), []).append((i, record))
    out: list[PathStats] = []
    for (label, unit, priority), members in groups.items():
        figures = _figures(members, late_ids)
        applying = [b for _, r in members if (b := budget_of(r)) is not None]
        budget = min(applying, key=lambda b: (b.max_delivery_s, b.key), default=None)
        out.append(
            PathStats(
                path=label,
                unit=unit,
                priority=priority,
                count=figures.count,
                lost=figures.lost,
                late=figures.late,
                p50_s=figures.p50_s,
                p95_s=figures.p95_s,
                p99_s=figures.p99_s,
                max_s=figures.max_s,
                first_sent=figures.first_sent,
                last_sent=figures.last_sent,
                budget_key=budget.key if budget else None,
                budget_s=budget.max_delivery_s if budget else None,
            )
        )
    return tuple(sorted(out, key=lambda s: (s.path, s.unit is None, s.unit or "", _PRIORITY_ORDER[s.priority])))


def _unit_stats(records: Sequence[DeliveryRecord], late_ids: frozenset[int]) -> tuple[UnitStats, ...]:
    groups: dict[str | None, list[tuple[int, DeliveryRecord]]] = {}
    for i, record in enumerate(records):
        groups.setdefault(record.unit, []).append((i, record))
    out = []
    for unit, members in groups.items():
        f = _figures(members, late_ids)
        out.append(
            UnitStats(unit, f.count, f.lost, f.late, f.p50_s, f.p95_s, f.p99_s, f.max_s, f.first_sent, f.last_sent)
        )
    return tuple(sorted(out, key=lambda s: (s.unit is None, s.unit or "")))


# --- heartbeats -------------------------------------------------------------------------------------------------


def _silences(
    records: Sequence[DeliveryRecord],
    budget_of: _BudgetOf,
    now: datetime | None,
    default_interval: float | None,
    default_misses: int,
) -> tuple[Silence, ...]:
    streams: dict[tuple[str, str], list[DeliveryRecord]] = {}
    for record in records:
        if record.heartbeat:
            streams.setdefault((record.source, record.recipient), []).append(record)
    out: list[Silence] = []
    for (source, recipient), beats in sorted(streams.items()):
        sends = sorted(_utc(r.sent_at) for r in beats)
        arrivals = sorted(_utc(r.received_at) for r in beats if r.received_at is not None)
        configured = [b for r in beats if (b := budget_of(r)) is not None and b.heartbeat_interval_s is not None]
        budget = min(configured, key=lambda b: (_detection_s(b), b.key), default=None)
        if budget is not None and budget.heartbeat_interval_s is not None:
            interval, misses = budget.heartbeat_interval_s, budget.heartbeat_misses
        elif default_interval is not None:
            interval, misses = default_interval, default_misses
        else:
            gaps = [(b - a).total_seconds() for a, b in zip(sends, sends[1:], strict=False) if b > a]
            if not gaps:
                continue  # one send, no schedule known: nothing to compare a gap with
            interval, misses = statistics.median(gaps), default_misses
        limit = interval * misses
        end = now if now is not None else sends[-1]
        marks = [sends[0], *arrivals]
        for i, start in enumerate(marks):
            ongoing = i == len(marks) - 1
            stop = end if ongoing else marks[i + 1]
            seconds = (stop - start).total_seconds()
            if seconds > limit:
                out.append(
                    Silence(
                        source=source,
                        recipient=recipient,
                        start=start,
                        end=stop,
                        seconds=seconds,
                        interval_s=interval,
                        misses=misses,
                        ongoing=ongoing,
                        budget_key=budget.key if budget else None,
                    )
                )
    return tuple(sorted(out, key=lambda s: (s.source, s.recipient, s.start)))


def _detection_s(budget: Budget) -> float:
    return (budget.heartbeat_interval_s or 0.0) * budget.heartbeat_misses


# --- alerts -----------------------------------------------------------------------------------------------------


def _alerts(
    paths: Sequence[PathStats],
    breaches: Sequence[Breach],
    silences: Sequence[Silence],
    budgets: Sequence[Budget],
    margin_s: float,
    default_interval: float | None,
    default_misses: int,
) -> tuple[Alert, ...]:
    alerts: list[Alert] = []
    for stats in paths:
        if stats.p99_s is None or stats.budget_s is None or stats.p99_s <= stats.budget_s - margin_s:
            continue
        if stats.p99_s > stats.budget_s:
            alerts.append(
                Alert(
                    "high",
                    "latency",
                    stats.path,
                    f"{_flow(stats)}: p99 delivery time {stats.p99_s:.2f} s is over the {stats.budget_key} "
                    f"budget of {stats.budget_s:g} s.",
                )
            )
        else:
            alerts.append(
                Alert(
                    "medium",
                    "latency",
                    stats.path,
                    f"{_flow(stats)}: p99 delivery time {stats.p99_s:.2f} s is within {margin_s:g} s of "
                    f"the {stats.budget_key} budget of {stats.budget_s:g} s.",
                )
            )
    late: dict[tuple[str, str | None], list[Breach]] = {}
    lost: dict[str, list[Breach]] = {}
    for breach in breaches:
        if breach.lost:
            lost.setdefault(breach.path, []).append(breach)
        else:
            late.setdefault((breach.path, breach.budget_key), []).append(breach)
    sent = _counts(paths)
    for (path, key), items in late.items():
        worst = max(b.latency_s or 0.0 for b in items)
        alerts.append(
            Alert(
                "high",
                "breach",
                path,
                f"{path}: {len(items)} {'delivery' if len(items) == 1 else 'deliveries'} arrived later than the "
                f"{key} budget of {items[0].budget_s:g} s (slowest {worst:.2f} s; "
                f"first sent {_when(items[0].sent_at)}).",
            )
        )
    for path, items in lost.items():
        alerts.append(
            Alert(
                "high",
                "loss",
                path,
                f"{path}: {len(items)} of {sent[path]} deliveries never arrived "
                f"(first sent {_when(items[0].sent_at)}, {items[0].origin or 'no origin'}).",
            )
        )
    for silence in silences:
        if silence.ongoing:
            text = (
                f"{silence.stream}: no heartbeat has arrived since {_when(silence.start)} "
                f"({silence.seconds:.1f} s; one expected every {silence.interval_s:g} s): the path may be down."
            )
        else:
            text = (
                f"{silence.stream}: no heartbeat arrived for {silence.seconds:.1f} s, from {_when(silence.start)} "
                f"to {_when(silence.end)} (one expected every {silence.interval_s:g} s, silence after "
                f"{silence.misses} misses)."
            )
        alerts.append(Alert("high" if silence.ongoing else "medium", "silence", silence.stream, text))
    for budget in budgets:
        if budget.confirmed:
            alerts.extend(_detection_alert(budget, default_interval, default_misses))
    order = {"high": 0, "medium": 1}
    return tuple(sorted(alerts, key=lambda a: (order[a.severity], _KIND_ORDER[a.kind], a.subject, a.message)))


def _detection_alert(budget: Budget, default_interval: float | None, default_misses: int) -> Iterable[Alert]:
    interval, misses = budget.heartbeat_interval_s, budget.heartbeat_misses
    if interval is None:
        interval, misses = default_interval, default_misses
    if interval is None:
        yield Alert(
            "medium",
            "detection",
            budget.key,
            f"{budget.key} claims confirmed delivery but sets no heartbeat interval, so nothing bounds how "
            f"long a silent path goes unnoticed.",
        )
        return
    detection = interval * misses
    if detection >= budget.max_delivery_s:
        yield Alert(
            "high",
            "detection",
            budget.key,
            f"{budget.key} claims confirmed delivery within {budget.max_delivery_s:g} s, but a silent path is "
            f"only noticed after {misses} missed heartbeats x {interval:g} s = {detection:g} s: an alarm "
            f"raised just after a silent failure would be late (METHODS 5.4: interval x misses + failover "
            f"must stay below the budget).",
        )


def _flow(stats: PathStats) -> str:
    details = ", ".join(x for x in (stats.unit, stats.priority.value if stats.priority else None) if x)
    return f"{stats.path} ({details})" if details else stats.path


def _counts(paths: Sequence[PathStats]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stats in paths:
        counts[stats.path] = counts.get(stats.path, 0) + stats.count
    return counts


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") + "Z"
