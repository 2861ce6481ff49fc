"""Live alarm monitoring: nearest-rank percentiles, budgets, breaches, heartbeat silences and alerts, by hand."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from wardwatch.domain.alarm_model import Budget, DeliveryRecord, Priority
from wardwatch.domain.alarm_monitor import (
    Breach,
    Silence,
    applicable_budget,
    latest_budgets,
    percentile,
    summarize,
)

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def rec(
    sent_s: float,
    latency_s: float | None,
    *,
    source: str = "mon",
    recipient: str = "phone",
    unit: str | None = "ICU",
    priority: Priority | None = Priority.HIGH,
    alarm_type: str | None = "arrhythmia",
    heartbeat: bool = False,
    path: str | None = None,
    origin: str = "",
) -> DeliveryRecord:
    sent = T0 + timedelta(seconds=sent_s)
    return DeliveryRecord(
        source=source,
        recipient=recipient,
        sent_at=sent,
        received_at=None if latency_s is None else sent + timedelta(seconds=latency_s),
        unit=unit,
        priority=priority,
        alarm_type=alarm_type,
        heartbeat=heartbeat,
        path=path,
        origin=origin or f"t:{sent_s}",
    )


def budget(
    max_s: float,
    *,
    unit: str = "ICU",
    alarm_type: str = "arrhythmia",
    priority: Priority = Priority.HIGH,
    confirmed: bool = False,
    interval: float | None = None,
    misses: int = 3,
    version: int = 1,
) -> Budget:
    return Budget(
        unit=unit,
        alarm_type=alarm_type,
        priority=priority,
        max_delivery_s=max_s,
        primary=("phone",),
        confirmed=confirmed,
        heartbeat_interval_s=interval,
        heartbeat_misses=misses,
        version=version,
    )


def beat(
    sent_s: float,
    latency_s: float | None = 0.2,
    *,
    source: str = "probe",
    recipient: str = "phone",
    unit: str | None = "ICU",
) -> DeliveryRecord:
    return rec(sent_s, latency_s, source=source, recipient=recipient, unit=unit, alarm_type=None, heartbeat=True)


# --- percentiles -------------------------------------------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    values = [0.9, 0.2, 14.2, 0.5, 0.4]  # sorted: 0.2 0.4 0.5 0.9 14.2
    # p50: rank ceil(0.50 * 5) = ceil(2.5) = 3 -> 0.5; p95: ceil(4.75) = 5 -> 14.2; p20: ceil(1.0) = 1 -> 0.2
    assert percentile(values, 50) == 0.5
    assert percentile(values, 95) == 14.2
    assert percentile(values, 99) == 14.2
    assert percentile(values, 20) == 0.2
    assert percentile(values, 21) == 0.4  # ceil(1.05) = 2
    assert percentile(values, 100) == 14.2


def test_percentile_ranks_are_exact_not_interpolated() -> None:
    one_to_twenty = [float(v) for v in range(1, 21)]
    # p50: rank 10 (linear interpolation would give 10.5); p95: 0.95 * 20 = 19 exactly -> rank 19 (not 19.05, not 20)
    assert percentile(one_to_twenty, 50) == 10.0
    assert percentile(one_to_twenty, 95) == 19.0
    assert percentile(one_to_twenty, 99) == 20.0  # ceil(19.8)
    hundred = [float(v) for v in range(100, 0, -1)]
    assert (percentile(hundred, 50), percentile(hundred, 95), percentile(hundred, 99)) == (50.0, 95.0, 99.0)
    assert percentile([3.0], 50) == 3.0


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="must be in"):
        percentile([1.0], 0)
    with pytest.raises(ValueError, match="must be in"):
        percentile([1.0], 101)


# --- path and unit figures ---------------------------------------------------------------------------------------


def test_path_figures_by_hand() -> None:
    records = [
        rec(0, 1.0),
        rec(60, 3.0),
        rec(120, None),  # lost
        rec(180, 2.0),
        rec(240, 12.0),  # late against 10 s
        rec(30, 0.5, priority=Priority.MEDIUM, alarm_type="spo2-low"),  # same path, other priority
        rec(45, 4.0, source="pump", recipient="pager", unit="Ward-3", path="pumps -> pagers"),
    ]
    report = summarize(records, [budget(10)])

    assert [(p.path, p.unit, p.priority) for p in report.paths] == [
        ("mon -> phone", "ICU", Priority.HIGH),
        ("mon -> phone", "ICU", Priority.MEDIUM),
        ("pumps -> pagers", "Ward-3", Priority.HIGH),
    ]
    high = report.paths[0]
    # delivered latencies 1, 3, 2, 12 -> sorted 1 2 3 12: p50 rank 2 = 2; p95 rank ceil(3.8) = 4 = 12
    assert (high.count, high.lost, high.late) == (5, 1, 1)
    assert (high.p50_s, high.p95_s, high.p99_s, high.max_s) == (2.0, 12.0, 12.0, 12.0)
    assert (high.first_sent, high.last_sent) == (T0, T0 + timedelta(seconds=240))
    assert (high.budget_key, high.budget_s) == ("ICU/arrhythmia/high", 10)
    medium = report.paths[1]
    assert (medium.count, medium.p50_s, medium.budget_key) == (1, 0.5, None)  # no medium budget
    pumps = report.paths[2]
    assert pumps.budget_key is None  # the ICU budget does not govern Ward-3

    icu, ward = report.units
    # ICU: latencies 1 3 2 12 0.5 -> sorted 0.5 1 2 3 12: p50 rank 3 = 2; lost 1; late 1
    assert (icu.unit, icu.count, icu.lost, icu.late, icu.p50_s, icu.max_s) == ("ICU", 6, 1, 1, 2.0, 12.0)
    assert (ward.unit, ward.count, ward.p50_s) == ("Ward-3", 1, 4.0)


def test_a_path_with_only_lost_deliveries_has_no_percentiles() -> None:
    report = summarize([rec(0, None), rec(5, None, unit=None)], [])

    assert [(p.unit, p.count, p.lost, p.p50_s, p.max_s) for p in report.paths] == [
        ("ICU", 1, 1, None, None),
        (None, 1, 1, None, None),
    ]
    assert [u.unit for u in report.units] == ["ICU", None]  # records without a unit sort last


# --- budgets and breaches ----------------------------------------------------------------------------------------


def test_which_budget_applies() -> None:
    general = budget(30, unit="*", alarm_type="*")
    icu_any = budget(15, alarm_type="*")
    arrhythmia = budget(10)
    medium = budget(5, priority=Priority.MEDIUM)
    budgets = [general, icu_any, arrhythmia, medium]

    assert applicable_budget(rec(0, 1), budgets) is arrhythmia  # the strictest of three that match
    assert applicable_budget(rec(0, 1, alarm_type="apnea"), budgets) is icu_any
    assert applicable_budget(rec(0, 1, unit="Ward-3"), budgets) is general
    assert applicable_budget(rec(0, 1, alarm_type=None), budgets) is arrhythmia  # an untyped probe: every type
    assert applicable_budget(rec(0, 1, priority=None), budgets) is None  # cannot judge without a priority
    assert applicable_budget(rec(0, 1, priority=Priority.LOW), budgets) is None
    # a looser specific budget does not relax a stricter general one
    loose = budget(60, unit="Ward-3")
    assert applicable_budget(rec(0, 1, unit="Ward-3"), [general, loose]) is general


def test_only_the_latest_version_of_a_budget_counts() -> None:
    old, new = budget(5, version=1), budget(20, version=2)

    assert latest_budgets([new, old]) == (new,)
    report = summarize([rec(0, 12.0)], [old, new])  # late against v1 (5 s), in time against v2 (20 s)
    assert report.breaches == ()


def test_breaches_are_late_and_lost_deliveries() -> None:
    records = [
        rec(0, 10.0, origin="f:row 2"),  # exactly the budget: in time
        rec(10, 10.5, origin="f:row 3"),  # late
        rec(20, None, origin="f:row 4"),  # lost
        rec(30, None, priority=None, origin="f:row 5"),  # lost, no budget governs it
        rec(40, 50.0, priority=None, origin="f:row 6"),  # slow, but no budget to judge it by
    ]
    report = summarize(list(reversed(records)), [budget(10)])

    assert report.breaches == (
        Breach("f:row 3", "mon -> phone", "mon", "phone", T0 + timedelta(seconds=10), 10.5, "ICU/arrhythmia/high", 10),
        Breach("f:row 4", "mon -> phone", "mon", "phone", T0 + timedelta(seconds=20), None, "ICU/arrhythmia/high", 10),
        Breach("f:row 5", "mon -> phone", "mon", "phone", T0 + timedelta(seconds=30), None, None, None),
    )  # fmt: skip
    assert [b.lost for b in report.breaches] == [False, True, True]


# --- silences ----------------------------------------------------------------------------------------------------


def test_silence_between_arrivals_with_the_budget_interval() -> None:
    # heartbeats every 5 s; nothing sent between 15 and 45 s; 3 misses -> silence after 15 s
    beats = [beat(s, 0.3) for s in (0, 5, 10, 15, 45, 50)]
    report = summarize(beats, [budget(10, interval=5, misses=3)])

    # last arrival before the gap 15.3 s, next 45.3 s: 30 s > 15 s
    assert report.silences == (
        Silence("probe", "phone", T0 + timedelta(seconds=15.3), T0 + timedelta(seconds=45.3), 30.0, 5, 3, False,
                "ICU/arrhythmia/high"),
    )  # fmt: skip
    assert report.silences[0].stream == "probe -> phone"


def test_gap_of_exactly_interval_times_misses_is_not_a_silence() -> None:
    beats = [beat(0, 0.0), beat(15, 0.0), beat(20, 0.0)]  # 15 s = 5 s x 3 misses: the limit, not over it

    assert summarize(beats, [], heartbeat_interval_s=5).silences == ()
    assert len(summarize(beats, [], heartbeat_interval_s=4.9).silences) == 1


def test_lost_heartbeats_are_silence_and_now_extends_it() -> None:
    # sent every 2 s from 0 to 20 s; everything after the one sent at 6 s was lost
    beats = [beat(s, 0.1 if s <= 6 else None) for s in range(0, 22, 2)]

    without_now = summarize(beats, [], heartbeat_interval_s=2, heartbeat_misses=3)
    (silence,) = without_now.silences
    # from the last arrival (6.1 s) to the last send (20 s): 13.9 s > 6 s, and it had not ended
    assert (silence.start, silence.end, silence.ongoing) == (
        T0 + timedelta(seconds=6.1),
        T0 + timedelta(seconds=20),
        True,
    )
    assert silence.seconds == pytest.approx(13.9)
    assert silence.budget_key is None

    with_now = summarize(beats, [], now=T0 + timedelta(seconds=60), heartbeat_interval_s=2, heartbeat_misses=3)
    assert with_now.silences[0].end == T0 + timedelta(seconds=60)
    assert with_now.silences[0].seconds == pytest.approx(53.9)
    assert with_now.now == T0 + timedelta(seconds=60)


def test_now_reveals_a_stream_gone_quiet() -> None:
    beats = [beat(s, 0.5) for s in (0, 10, 20)]
    now = T0 + timedelta(seconds=45)

    assert summarize(beats, [], heartbeat_interval_s=10, heartbeat_misses=2).silences == ()
    # the last arrival was 20.5 s; at 45 s that is 24.5 s > 10 s x 2
    (silence,) = summarize(beats, [], now=now, heartbeat_interval_s=10, heartbeat_misses=2).silences
    assert (silence.start, silence.end, silence.seconds, silence.ongoing) == (
        T0 + timedelta(seconds=20.5),
        now,
        24.5,
        True,
    )


def test_interval_falls_back_to_the_median_send_gap() -> None:
    # send gaps 4, 4, 4, 20, 4 -> median 4; x 3 misses = 12 s: the 20 s gap (arrivals 12.1 -> 32.1) is a silence
    beats = [beat(s, 0.1) for s in (0, 4, 8, 12, 32, 36)]
    (silence,) = summarize(beats, []).silences

    assert (silence.interval_s, silence.misses, silence.seconds) == (4, 3, 20.0)
    # a budget's interval wins over the argument, the argument over the median
    assert summarize(beats, [], heartbeat_interval_s=7).silences == ()  # 7 x 3 = 21 > 20
    assert len(summarize(beats, [budget(10, interval=4)], heartbeat_interval_s=7).silences) == 1


def test_heartbeat_streams_are_separate_and_single_beats_are_not_judged() -> None:
    beats = [beat(0), beat(30), beat(0, recipient="pager"), beat(100, recipient="pager", unit="Ward-3")]
    lone = [beat(0, source="lone")]

    report = summarize(beats + lone, [], heartbeat_interval_s=5)
    assert [(s.source, s.recipient, s.seconds) for s in report.silences] == [
        ("probe", "pager", 100.0),
        ("probe", "phone", 30.0),
    ]
    assert summarize(lone, []).silences == ()  # one send and no interval known: nothing to compare


# --- alerts ------------------------------------------------------------------------------------------------------


def test_p99_alerts_with_margin() -> None:
    records = [rec(s, 8.5) for s in range(5)]  # p99 8.5 s

    assert summarize(records, [budget(10)]).alerts == ()
    (near,) = summarize(records, [budget(10)], margin_s=2).alerts  # 8.5 > 10 - 2
    assert (near.severity, near.kind, near.subject) == ("medium", "latency", "mon -> phone")
    assert near.message == (
        "mon -> phone (ICU, high): p99 delivery time 8.50 s is within 2 s of the ICU/arrhythmia/high budget of 10 s."
    )
    late = summarize([*records, rec(9, 11.0)], [budget(10)]).alerts
    assert [(a.severity, a.kind) for a in late] == [("high", "breach"), ("high", "latency")]
    assert late[0].message == (
        "mon -> phone: 1 delivery arrived later than the ICU/arrhythmia/high budget of 10 s "
        "(slowest 11.00 s; first sent 2026-11-30 08:00:09Z)."
    )
    assert "p99 delivery time 11.00 s is over" in late[1].message


def test_loss_and_silence_alerts() -> None:
    records = [rec(0, None, origin="f.csv:row 2"), beat(0), beat(40)]

    past = summarize(records, [], heartbeat_interval_s=5).alerts
    assert [(a.severity, a.kind, a.subject) for a in past] == [
        ("high", "loss", "mon -> phone"),
        ("medium", "silence", "probe -> phone"),
    ]
    assert "1 of 1 deliveries never arrived (first sent 2026-11-30 08:00:00Z, f.csv:row 2)" in past[0].message
    assert "no heartbeat arrived for 40.0 s" in past[1].message

    ongoing = summarize(records, [], now=T0 + timedelta(minutes=5), heartbeat_interval_s=5).alerts
    silences = [a for a in ongoing if a.kind == "silence"]
    assert [a.severity for a in silences] == ["high", "medium"]  # silent until now, and the past gap
    assert "no heartbeat has arrived since 2026-11-30 08:00:40Z" in silences[0].message


@pytest.mark.parametrize(
    ("interval", "misses", "expected"),
    [
        (2.0, 3, None),  # 6 s < 10 s: a silent path is noticed in time
        (5.0, 3, "high"),  # 15 s >= 10 s
        (2.5, 4, "high"),  # exactly 10 s: not shorter than the budget
        (None, 3, "medium"),  # confirmed, but nothing bounds the detection time
    ],
)
def test_confirmed_budget_detection_time(interval: float | None, misses: int, expected: str | None) -> None:
    confirmed = budget(10, confirmed=True, interval=interval, misses=misses)

    alerts = [a for a in summarize([], [confirmed]).alerts if a.kind == "detection"]

    assert [a.severity for a in alerts] == ([expected] if expected else [])
    if expected == "high":
        assert interval is not None
        assert alerts[0].subject == "ICU/arrhythmia/high"
        assert f"{misses} missed heartbeats x {interval:g} s = {interval * misses:g} s" in alerts[0].message


def test_detection_uses_the_argument_interval_and_ignores_unconfirmed_budgets() -> None:
    confirmed = budget(10, confirmed=True)

    assert [a.severity for a in summarize([], [confirmed], heartbeat_interval_s=4).alerts] == ["high"]  # 12 >= 10
    assert summarize([], [confirmed], heartbeat_interval_s=3).alerts == ()  # 9 < 10
    assert summarize([], [budget(10, interval=60)]).alerts == ()  # not confirmed: no claim to check


# --- determinism and input checks --------------------------------------------------------------------------------


def test_report_does_not_depend_on_record_order() -> None:
    records = [rec(s, (s % 7) * 2.0 if s % 5 else None) for s in range(40)]
    records += [beat(s) for s in (0, 3, 6, 30, 33)]
    records += [rec(s, 1.0, source="pump", unit="Ward-3", priority=Priority.MEDIUM) for s in range(3)]
    budgets = [budget(10, confirmed=True, interval=3), budget(20, unit="*", alarm_type="*", priority=Priority.MEDIUM)]
    shuffled = records[:]
    random.Random(7).shuffle(shuffled)
    now = T0 + timedelta(minutes=2)

    assert summarize(shuffled, budgets[::-1], now=now, margin_s=1) == summarize(records, budgets, now=now, margin_s=1)


def test_naive_times_are_utc() -> None:
    eight = datetime(2026, 11, 30, 8, 0)  # noqa: DTZ001 - naive on purpose
    naive = DeliveryRecord("probe", "phone", eight, eight + timedelta(seconds=1), heartbeat=True)
    aware = beat(10, 1.0)

    report = summarize([naive, aware], [], now=eight + timedelta(minutes=1), heartbeat_interval_s=5)

    assert [(p.unit, p.first_sent) for p in report.paths] == [("ICU", T0 + timedelta(seconds=10)), (None, T0)]
    assert report.silences[-1].end == T0 + timedelta(minutes=1)


@pytest.mark.parametrize(
    "kwargs",
    [{"margin_s": -1.0}, {"margin_s": float("nan")}, {"heartbeat_interval_s": 0.0}, {"heartbeat_misses": 0}],
)
def test_bad_arguments_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        summarize([], [], **kwargs)  # type: ignore[arg-type]
