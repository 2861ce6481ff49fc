"""Next run times (hand-checked on the calendar: 2026-03-01 is a Sunday, 2026-12-31 a Thursday) and e-mail checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from wardwatch.domain.schedules import Cadence, next_run, validate_email, validate_recipients


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cadence", "after", "expected"),
    [
        # daily: later the same day, or the next day once the hour has come (strictly after)
        (Cadence("daily", 7), utc(2026, 3, 10, 6, 59, 59), utc(2026, 3, 10, 7)),
        (Cadence("daily", 7), utc(2026, 3, 10, 7), utc(2026, 3, 11, 7)),
        (Cadence("daily", 0), utc(2026, 2, 28, 23, 30), utc(2026, 3, 1, 0)),  # across a month end
        (Cadence("daily", 7), utc(2026, 12, 31, 23, 30), utc(2027, 1, 1, 7)),  # across a year end
        # weekly: 2026-03-01 is a Sunday, so Monday is 2026-03-02
        (Cadence("weekly", 7, weekday=0), utc(2026, 3, 1, 12), utc(2026, 3, 2, 7)),
        (Cadence("weekly", 7, weekday=0), utc(2026, 3, 2, 6), utc(2026, 3, 2, 7)),
        (Cadence("weekly", 7, weekday=0), utc(2026, 3, 2, 7), utc(2026, 3, 9, 7)),
        (Cadence("weekly", 23, weekday=6), utc(2026, 3, 2, 0), utc(2026, 3, 8, 23)),
        (Cadence("weekly", 9, weekday=4), utc(2026, 12, 31, 10), utc(2027, 1, 1, 9)),  # Thu -> Fri, new year
        # monthly: day 28 exists in every month; past it, the next month (and the next year after December)
        (Cadence("monthly", 0, day=28), utc(2026, 1, 31, 10), utc(2026, 2, 28, 0)),
        (Cadence("monthly", 0, day=28), utc(2026, 2, 28, 0), utc(2026, 3, 28, 0)),
        (Cadence("monthly", 6, day=1), utc(2026, 12, 15), utc(2027, 1, 1, 6)),
        (Cadence("monthly", 9, day=15), utc(2026, 12, 15, 8, 59), utc(2026, 12, 15, 9)),
        (Cadence("monthly", 0, day=28), utc(2028, 2, 28, 1), utc(2028, 3, 28, 0)),  # a leap February
        (Cadence("monthly", 12, day=10), utc(2026, 1, 31, 12), utc(2026, 2, 10, 12)),
    ],
)
def test_next_run(cadence: Cadence, after: datetime, expected: datetime) -> None:
    found = next_run(cadence, after)
    assert found == expected
    assert found.tzinfo is UTC


def test_times_are_utc_without_daylight_saving_jumps() -> None:
    # 03:30 CEST on the night the clocks go forward in Europe is 01:30 UTC: the daily 02:00 UTC run is 30 min later
    cest = timezone(timedelta(hours=2))
    assert next_run(Cadence("daily", 2), datetime(2026, 3, 29, 3, 30, tzinfo=cest)) == utc(2026, 3, 29, 2)
    # every daily run is exactly 24 h after the one before, across both European and US switch dates
    run = utc(2026, 3, 1, 2)
    for _ in range(300):
        following = next_run(Cadence("daily", 2), run)
        assert following - run == timedelta(hours=24)
        run = following
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run(Cadence("daily", 2), datetime(2026, 3, 1, 2))  # noqa: DTZ001 - the refusal under test


def test_a_late_run_is_made_once_not_once_per_missed_period() -> None:
    # the server was down three days: the run made on 2026-03-05 at 10:00 is followed by the 2026-03-06 one
    assert next_run(Cadence("daily", 7), utc(2026, 3, 5, 10)) == utc(2026, 3, 6, 7)


@pytest.mark.parametrize(
    ("kind", "hour", "weekday", "day", "message"),
    [
        ("hourly", 7, None, None, "cadence 'hourly'"),
        ("daily", 24, None, None, "not 0-23"),
        ("daily", -1, None, None, "not 0-23"),
        ("weekly", 7, None, None, "needs a weekday"),
        ("weekly", 7, 7, None, "needs a weekday"),
        ("daily", 7, 1, None, "only a weekly schedule takes a weekday"),
        ("monthly", 7, None, 29, "day 1-28"),
        ("monthly", 7, None, 0, "day 1-28"),
        ("monthly", 7, None, None, "day 1-28"),
        ("weekly", 7, 1, 3, "only a monthly schedule takes a day"),
    ],
)
def test_a_bad_cadence_is_refused(kind: str, hour: int, weekday: int | None, day: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Cadence(kind, hour, weekday, day)


def test_cadences_in_words() -> None:
    assert Cadence("weekly", 7, weekday=0).describe() == "weekly on Monday at 07:00 UTC"
    assert Cadence("monthly", 18, day=28).describe() == "monthly on day 28 at 18:00 UTC"
    assert Cadence("daily", 0).describe() == "daily at 00:00 UTC"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("board@hospital.org", "board@hospital.org"),
        ("  Board.Secretary+wardwatch@Hospital.ORG ", "Board.Secretary+wardwatch@hospital.org"),
        ("ciso@it.st-mary.nhs.uk", "ciso@it.st-mary.nhs.uk"),
        ("o'brien@example.com", "o'brien@example.com"),
    ],
)
def test_good_addresses_are_kept_with_the_domain_lower_cased(given: str, kept: str) -> None:
    assert validate_email(given) == kept


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "board",
        "board@",
        "@hospital.org",
        "board@localhost",  # one label
        "board@hospital.o",  # a one-letter top-level domain
        "board@hospital.123",
        "board@-hospital.org",
        "board@hospital-.org",
        "board@hospital..org",
        ".board@hospital.org",
        "board.@hospital.org",
        "bo..ard@hospital.org",
        "bo ard@hospital.org",
        "a@b@hospital.org",
        '"quoted"@hospital.org',
        "board@[10.0.0.1]",
        "büro@hospital.org",
        "board@hospital.org\r\nBcc: all@elsewhere.org",  # header injection
        "x" * 65 + "@hospital.org",
        "board@" + "a" * 250 + ".org",
    ],
)
def test_bad_addresses_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="e-mail address"):
        validate_email(bad)


def test_recipients_are_checked_and_duplicates_dropped_in_order() -> None:
    assert validate_recipients(["b@x.org", "a@X.org", "b@x.ORG"]) == ["b@x.org", "a@x.org"]
    with pytest.raises(ValueError, match="not-an-address"):
        validate_recipients(["a@x.org", "not-an-address"])
    with pytest.raises(ValueError, match="at most 50"):
        validate_recipients([f"r{i}@x.org" for i in range(51)])
