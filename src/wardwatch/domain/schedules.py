"""When a scheduled report runs next, and which e-mail addresses a schedule may send to (pure: no I/O).

Times are UTC throughout (no daylight-saving jumps): a schedule runs at ``at_hour``:00 UTC every day, every week
on ``weekday`` (0 Monday … 6 Sunday) or every month on ``day`` (1-28, so that every month has it).

E-mail addresses are checked with a strict, simple rule (the ``email-validator`` package is not installed):
an ASCII dot-atom local part (at most 64 characters), ``@``, and a domain of at least two DNS labels whose last
one is letters only; at most 254 characters in all.  Quoted local parts, IP-literal domains and international
(SMTPUTF8) addresses are refused; the domain is lower-cased.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "CADENCES",
    "FORMATS",
    "REPORTS",
    "Cadence",
    "next_run",
    "validate_email",
    "validate_recipients",
]

#: The reports a schedule can deliver.
REPORTS = ("board", "audit")
#: The formats a schedule can deliver.
FORMATS = ("pdf", "html")
#: How often a schedule runs.
CADENCES = ("daily", "weekly", "monthly")
#: The most recipients one schedule may have.
MAX_RECIPIENTS = 50

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TLD = re.compile(r"[A-Za-z]{2,63}")


@dataclass(frozen=True, slots=True)
class Cadence:
    """How often a schedule runs: ``kind`` daily/weekly/monthly at ``at_hour`` UTC, on ``weekday`` or ``day``.

    Construction checks the values (``ValueError`` naming the field): ``weekday`` only and always for weekly,
    ``day`` only and always for monthly.
    """

    kind: str
    at_hour: int
    weekday: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in CADENCES:
            raise ValueError(f"cadence {self.kind!r} is not one of {', '.join(CADENCES)}")
        if isinstance(self.at_hour, bool) or not 0 <= self.at_hour <= 23:
            raise ValueError(f"hour {self.at_hour!r} is not 0-23 (UTC)")
        if self.kind == "weekly":
            if self.weekday is None or not 0 <= self.weekday <= 6:
                raise ValueError(f"a weekly schedule needs a weekday 0 (Monday) - 6 (Sunday), not {self.weekday!r}")
        elif self.weekday is not None:
            raise ValueError(f"only a weekly schedule takes a weekday (this one is {self.kind})")
        if self.kind == "monthly":
            if self.day is None or not 1 <= self.day <= 28:
                raise ValueError(f"a monthly schedule needs a day 1-28 (every month has it), not {self.day!r}")
        elif self.day is not None:
            raise ValueError(f"only a monthly schedule takes a day of the month (this one is {self.kind})")

    def describe(self) -> str:
        """In words, e.g. ``weekly on Monday at 07:00 UTC``."""
        at = f"at {self.at_hour:02d}:00 UTC"
        if self.kind == "weekly" and self.weekday is not None:
            return f"weekly on {_WEEKDAYS[self.weekday]} {at}"
        if self.kind == "monthly":
            return f"monthly on day {self.day} {at}"
        return f"daily {at}"


def _aware_utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("a schedule time must be timezone-aware (UTC)")
    return when.astimezone(UTC)


def next_run(cadence: Cadence, after: datetime) -> datetime:
    """The first time the schedule runs strictly after ``after`` (aware; the result is UTC, on the hour).

    Called with the creation time it gives the first run; called with the time a run happened it gives the one
    after it, so a run that was late (the server was down) is made once, not once per missed period.
    """
    now = _aware_utc(after)
    at = now.replace(hour=cadence.at_hour, minute=0, second=0, microsecond=0)
    if cadence.weekday is not None:  # weekly (Cadence allows a weekday on nothing else)
        candidate = at + timedelta(days=(cadence.weekday - now.weekday()) % 7)
        return candidate if candidate > now else candidate + timedelta(days=7)
    if cadence.day is not None:  # monthly
        candidate = at.replace(day=cadence.day)
        if candidate > now:
            return candidate
        year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
        return candidate.replace(year=year, month=month)
    return at if at > now else at + timedelta(days=1)  # daily


def validate_email(address: str) -> str:
    """``address`` checked (see the module) with its domain lower-cased; ``ValueError`` saying what is wrong."""
    text = address.strip()
    shown = address if len(address) <= 80 else address[:77] + "..."
    if not text:
        raise ValueError("an empty e-mail address; remove it or write one like name@hospital.org")
    if len(text) > 254:
        raise ValueError(f"e-mail address {shown!r} is longer than 254 characters")
    if not text.isascii() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError(f"e-mail address {shown!r} has spaces, control or non-ASCII characters")
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"e-mail address {shown!r} is not name@domain")
    if len(local) > 64 or not _LOCAL.fullmatch(local):
        raise ValueError(f"e-mail address {shown!r}: the part before @ is not a plain name (letters, digits, . _ - +)")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or not _TLD.fullmatch(labels[-1]):
        raise ValueError(f"e-mail address {shown!r}: {domain!r} is not a domain name like hospital.org")
    return f"{local}@{domain.lower()}"


def validate_recipients(addresses: Iterable[str]) -> list[str]:
    """Each address checked, duplicates (after normalising) dropped, order kept; ``ValueError`` for a bad one."""
    seen: dict[str, None] = {}
    for address in addresses:
        seen.setdefault(validate_email(address), None)
    if len(seen) > MAX_RECIPIENTS:
        raise ValueError(f"{len(seen)} recipients; at most {MAX_RECIPIENTS} (use a mailing list address)")
    return list(seen)
