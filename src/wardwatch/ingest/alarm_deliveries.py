"""Observed alarm deliveries (test alarms, heartbeats, middleware exports) as :class:`DeliveryRecord` values.

:func:`read_delivery_records` reads one file and detects its format from the first non-blank line:

* **JSON lines** (the line starts with ``{``): one object per line;
* **syslog** (the line starts with ``<PRI>``, an RFC 3164 ``Mmm dd hh:mm:ss`` time or an RFC 3339 time, as
  rsyslog writes files): RFC 5424 or RFC 3164 lines whose message carries the fields as ``key=value`` pairs
  (``path="a -> b"`` may be quoted; RFC 5424 structured-data parameters count too).  Lines of other programs
  (no ``sent=`` key) are skipped; a file with no delivery line at all is refused;
* otherwise **CSV** with a header row (comma, semicolon or tab separated), which must name the ``source``,
  ``recipient``, ``sent`` and ``received`` columns; other columns are ignored.

Field names are compared case-insensitively, ignoring everything but letters and digits, and common aliases are
accepted (``sent_at``, ``received_at``, ``acked_at``, ``alarm``...: see :data:`FIELDS`).  ``source``,
``recipient`` and ``sent`` are required; an empty ``received`` (or ``-``, ``null``) means the alarm was lost.
Times are ISO 8601 (``Z`` or an offset; without one, UTC) or epoch seconds, and are returned in UTC.
``heartbeat`` is true/false, 1/0 or yes/no; ``priority`` is high/medium/low (IEC 60601-1-8 colours red/yellow/cyan
and the words crisis/warning/advisory are accepted too).

Any bad row raises :class:`~wardwatch.ingest.errors.IngestError` naming the file, the row (CSV) or line, and the
field, with a tip; nothing partial is returned.  A received time earlier than the sent time, or an acknowledgement
earlier than the receipt, is an error: the clocks disagree and the latency would be a lie.

Memory is bounded: the file (plain or gzip, decompressed) may be at most :data:`MAX_FILE_BYTES`, is streamed one
line at a time with each line capped at :data:`MAX_LINE_BYTES`, and at most :data:`MAX_RECORDS` records are kept.
A binary file is refused with one line before any parsing.
"""

from __future__ import annotations

import csv
import gzip
import math
import re
import sys
import zlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import orjson

from wardwatch.domain.alarm_model import DeliveryRecord, Priority
from wardwatch.ingest._bounded import MIB, is_gzip, open_binary
from wardwatch.ingest.errors import IngestError

__all__ = [
    "FIELDS",
    "MAX_FILE_BYTES",
    "MAX_LINE_BYTES",
    "MAX_RECORDS",
    "parse_delivery_lines",
    "read_delivery_records",
]

MAX_FILE_BYTES: Final = 512 * MIB
"""Largest delivery log accepted (after gzip decompression)."""

MAX_LINE_BYTES: Final = 64 * 1024
"""Longest line accepted: a delivery is a few hundred bytes."""

MAX_RECORDS: Final = 1_000_000
"""Most records kept from one file (a heartbeat every 2 s on ten paths for a day is 432,000)."""

#: Delivery fields with the names recognised for each (compared lower-cased, letters and digits only).
FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "source": ("source", "src", "sender", "from", "source_id", "source_node", "probe", "device"),
    "recipient": ("recipient", "dst", "dest", "destination", "to", "target", "receiver", "sink", "recipient_id"),
    "sent": ("sent", "sent_at", "sent_time", "time_sent", "send_time", "tx_time"),
    "received": ("received", "received_at", "received_time", "time_received", "recv", "recv_at", "recv_time",
                 "delivered", "delivered_at", "rx_time"),
    "acknowledged": ("acknowledged", "acknowledged_at", "acknowledged_time", "ack", "acked", "acked_at", "ack_at",
                     "ack_time"),
    "unit": ("unit", "ward", "department", "dept", "care_unit"),
    "priority": ("priority", "prio", "alarm_priority"),
    "alarm_type": ("alarm_type", "alarm", "alarm_kind"),
    "heartbeat": ("heartbeat", "hb", "is_heartbeat"),
    "path": ("path", "route", "flow"),
}  # fmt: skip

_REQUIRED_CSV: Final = ("source", "recipient", "sent", "received")
_SNIFF_BYTES: Final = 8192
_TIP: Final = "write one delivery per row or line: CSV with a header row, JSON lines, or syslog key=value messages"
_TIME_TIP: Final = "write an ISO 8601 time such as 2026-11-30T08:00:01.150Z, or epoch seconds"
_BLANK: Final = frozenset({"", "-", "null", "none", "n/a"})
_TRUE: Final = frozenset({"true", "1", "yes", "y", "t"})
_FALSE: Final = frozenset({"false", "0", "no", "n", "f"})
_PRIORITIES: Final[Mapping[str, Priority]] = {
    **dict.fromkeys(("high", "hi", "h", "red", "crisis"), Priority.HIGH),
    **dict.fromkeys(("medium", "med", "m", "yellow", "warning"), Priority.MEDIUM),
    **dict.fromkeys(("low", "lo", "l", "cyan", "advisory"), Priority.LOW),
}
_EPOCH = re.compile(r"\d+(?:\.\d*)?")
_EPOCH_MS_FROM: Final = 1e11  # epoch seconds beyond this are in the year 5138: milliseconds were meant

# Syslog: RFC 5424 header up to STRUCTURED-DATA; RFC 3164 (or an RFC 3339 time, as rsyslog writes files) with an
# optional PRI, a host, and a TAG[pid]: before the message.
_RFC5424 = re.compile(r"<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) ?(.*)", re.DOTALL)
_RFC3164 = re.compile(
    r"(?:<(\d{1,3})>)?(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+)(?: (\S+))?"
    r"(?: ([^\s:\[]+)(?:\[[^\]]*\])?:)? ?(.*)",
    re.DOTALL,
)
_SYSLOG_START = re.compile(r"<\d{1,3}>|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d |\d{4}-\d\d-\d\dT\S+ ")
_SD_ELEMENT = re.compile(r'\[([^\s\]=]+)((?:\s+[^\s=\]"]+="(?:[^"\\]|\\.)*")*)\s*\]')
_SD_PARAM = re.compile(r'([^\s=\]"]+)="((?:[^"\\]|\\.)*)"')
_KEY_VALUE = re.compile(r'(?<![^\s,;])([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|[^\s,;]*)')
_UNESCAPE = re.compile(r"\\(.)")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_FIELD_BY_NAME: Final[Mapping[str, str]] = {_norm(alias): field for field, names in FIELDS.items() for alias in names}


def read_delivery_records(path: Path) -> list[DeliveryRecord]:
    """Read a CSV, JSON lines or syslog delivery log (plain or gzip); raises IngestError on any bad row."""
    path = Path(path)
    _refuse_binary(path)
    return _parse(_file_lines(path), str(path))


def parse_delivery_lines(lines: Iterable[str], path: str) -> list[DeliveryRecord]:
    """Parse already-read text lines (line endings optional) as :func:`read_delivery_records` parses a file.

    ``path`` names the source in errors and in each record's ``origin``.
    """
    return _parse(_text_lines(lines, path), path)


# --- lines ------------------------------------------------------------------------------------------------------


def _refuse_binary(path: Path) -> None:
    name = str(path)
    try:
        if not path.exists():
            raise IngestError(name, "the file does not exist", tip="check the path")
        if not path.is_file():
            raise IngestError(name, "is not a file", tip="give the path of a delivery log")
        with open_binary(path) as stream:
            head = stream.read(_SNIFF_BYTES)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise IngestError(name, f"is a truncated or corrupt gzip file ({e})", tip="copy the log again") from e
    except OSError as e:
        raise IngestError(name, f"cannot be read ({e.strerror or e})", tip="check the path and permissions") from e
    if b"\x00" in head:
        raise IngestError(name, "is not a text file (it contains NUL bytes)", tip=_TIP)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 3:  # not merely a character cut in two by the sniff window
            raise IngestError(name, f"is not UTF-8 text (byte {e.start})", tip="save it as UTF-8") from e


def _file_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without the line ending), bounded in line length and total size."""
    name = str(path)
    if not is_gzip(path) and path.stat().st_size > MAX_FILE_BYTES:
        raise IngestError(name, f"is larger than {MAX_FILE_BYTES // MIB} MiB", tip="split it (by day or unit)")
    total = 0
    number = 0
    try:
        with open_binary(path) as stream:
            while data := stream.readline(MAX_LINE_BYTES + 2):
                number += 1
                total += len(data)
                if total > MAX_FILE_BYTES:
                    raise IngestError(
                        name, f"expands to more than {MAX_FILE_BYTES // MIB} MiB", tip="split it (by day or unit)"
                    )
                body = data.rstrip(b"\r\n")
                if len(body) > MAX_LINE_BYTES:
                    raise _too_long(name, number)
                if b"\x00" in body:
                    raise IngestError(
                        name, "the line contains NUL bytes: this is not a text file", row=number, tip=_TIP
                    )
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise IngestError(
                        name, f"the line is not UTF-8 text (byte {e.start})", row=number, tip="save it as UTF-8"
                    ) from e
                yield number, text.removeprefix("\ufeff") if number == 1 else text
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise IngestError(
            name, f"is a truncated or corrupt gzip file ({e})", row=number + 1, tip="copy the log again"
        ) from e
    except OSError as e:
        raise IngestError(name, f"cannot be read ({e.strerror or e})", tip="check the path and permissions") from e


def _text_lines(lines: Iterable[str], path: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(lines, start=1):
        text = line.rstrip("\r\n")
        if len(text) > MAX_LINE_BYTES:
            raise _too_long(path, number)
        if "\x00" in text:
            raise IngestError(path, "the line contains NUL bytes: this is not a text file", row=number, tip=_TIP)
        yield number, text.removeprefix("\ufeff") if number == 1 else text


def _too_long(path: str, number: int) -> IngestError:
    return IngestError(
        path,
        f"the line is longer than {MAX_LINE_BYTES // 1024} KiB (a delivery is one short line)",
        row=number,
        tip=_TIP,
    )


# --- formats ----------------------------------------------------------------------------------------------------


def _parse(lines: Iterator[tuple[int, str]], path: str) -> list[DeliveryRecord]:
    first = next(((n, t) for n, t in lines if t.strip()), None)
    if first is None:
        raise IngestError(path, "is empty", tip=_TIP)
    origin = Path(path).name or path
    text = first[1].lstrip()
    if text.startswith("{"):
        records = _jsonl(first, lines, path, origin)
    elif _SYSLOG_START.match(text):
        records = _syslog(first, lines, path, origin)
    else:
        records = _csv(first, lines, path, origin)
    out: list[DeliveryRecord] = []
    for record in records:
        if len(out) >= MAX_RECORDS:
            raise IngestError(path, f"has more than {MAX_RECORDS:,} delivery records", tip="split it (by day or unit)")
        out.append(record)
    return out


def _csv(first: tuple[int, str], lines: Iterator[tuple[int, str]], path: str, origin: str) -> Iterator[DeliveryRecord]:
    header_row, header_text = first
    delimiter = max(",;\t", key=header_text.count)
    reader = csv.reader(_chain_text(first, lines), delimiter=delimiter, strict=True)
    row = header_row - 1  # the row the reader last returned
    try:
        header = next(reader)
        row += 1
        columns: dict[str, tuple[int, str]] = {}
        for index, cell in enumerate(header):
            field = _FIELD_BY_NAME.get(_norm(cell))
            if field is None:
                continue
            if field in columns:
                raise IngestError(
                    path,
                    f"columns '{columns[field][1]}' and '{cell.strip()}' both give the {field}",
                    row=row,
                    tip="keep one of them",
                )
            columns[field] = (index, cell.strip())
        missing = [f for f in _REQUIRED_CSV if f not in columns]
        if missing:
            found = ", ".join(repr(c.strip()) for c in header[:8] if c.strip())
            raise IngestError(
                path,
                f"is not a delivery log: its first line has no '{missing[0]}' column (it starts {found or 'empty'})",
                row=row,
                tip="name the columns source, recipient, sent, received (optional: acknowledged, unit, priority, "
                "alarm_type, heartbeat, path), or write JSON lines or syslog",
            )
        for cells in reader:
            row += 1
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                raise IngestError(
                    path,
                    f"the row has {len(cells)} values but the header names {len(header)} columns",
                    row=row,
                    tip=f"quote values that contain '{delimiter}'",
                )
            values = {f: (name, cells[i] if i < len(cells) else "") for f, (i, name) in columns.items()}
            yield _record(values, path, row, f"{origin}:row {row}")
    except csv.Error as e:
        raise IngestError(
            path, f"the row is not valid CSV ({e})", row=row + 1, tip="check the quoting of this row"
        ) from e


def _chain_text(first: tuple[int, str], lines: Iterator[tuple[int, str]]) -> Iterator[str]:
    yield first[1] + "\n"
    for _, text in lines:
        yield text + "\n"


def _jsonl(
    first: tuple[int, str], lines: Iterator[tuple[int, str]], path: str, origin: str
) -> Iterator[DeliveryRecord]:
    for number, text in _chain(first, lines):
        if not text.strip():
            continue
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            raise IngestError(
                path, f"the line is not valid JSON ({e})", row=number, tip="write one JSON object per line (JSON lines)"
            ) from e
        if not isinstance(obj, dict):
            raise IngestError(
                path,
                f"the line is {_json_kind(obj)}, not an object",
                row=number,
                tip="write one JSON object per line (JSON lines)",
            )
        yield _record(_by_field(obj.items(), path, number), path, number, f"{origin}:line {number}")


def _syslog(
    first: tuple[int, str], lines: Iterator[tuple[int, str]], path: str, origin: str
) -> Iterator[DeliveryRecord]:
    found = False
    for number, text in _chain(first, lines):
        if not text.strip():
            continue
        pairs = _syslog_pairs(text, path, number)
        values = _by_field(pairs, path, number)
        if "sent" not in values:
            names = {_norm(key) for key, _ in pairs}
            if "source" in names and "recipient" in names:
                raise IngestError(
                    path,
                    "the message names source and recipient but no sent time",
                    row=number,
                    column="sent",
                    tip="add sent=<ISO 8601 time or epoch seconds> to the message",
                )
            continue  # another program's message
        found = True
        yield _record(values, path, number, f"{origin}:line {number}")
    if not found:
        raise IngestError(
            path,
            "has no alarm delivery lines (no syslog message carries sent=...)",
            tip="check that this is the alarm delivery log",
        )


def _chain(first: tuple[int, str], lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield first
    yield from lines


def _syslog_pairs(text: str, path: str, number: int) -> list[tuple[str, object]]:
    """The key=value pairs of one syslog line: RFC 5424 structured-data parameters, then the message's pairs."""
    pairs: list[tuple[str, object]] = []
    match = _RFC5424.fullmatch(text)
    if match is not None:
        rest = match.group(8)
        if rest.startswith("-"):
            message = rest[1:]
        else:
            position = 0
            while element := _SD_ELEMENT.match(rest, position):
                pairs.extend((k, _unquote(v)) for k, v in _SD_PARAM.findall(element.group(2)))
                position = element.end()
            if position == 0:
                raise IngestError(
                    path,
                    "the structured data of this RFC 5424 line is malformed",
                    row=number,
                    tip="write '-' or [id key=\"value\"] before the message",
                )
            message = rest[position:]
    else:
        match = _RFC3164.fullmatch(text)
        if match is None or not _SYSLOG_START.match(text):
            raise IngestError(
                path,
                "the line is not in syslog format (the file's first line is)",
                row=number,
                tip="keep one format per file",
            )
        message = match.group(4)
    message = message.lstrip().removeprefix("\ufeff")
    pairs.extend((k, _unquote(v) if v.startswith('"') else v) for k, v in _KEY_VALUE.findall(message))
    return pairs


def _unquote(value: str) -> str:
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        value = value[1:-1]
    return _UNESCAPE.sub(r"\1", value)


def _by_field(items: Iterable[tuple[str, object]], path: str, number: int) -> dict[str, tuple[str, object]]:
    """Delivery field -> (name as written, value); unknown names are ignored, two names for one field refused."""
    values: dict[str, tuple[str, object]] = {}
    for key, value in items:
        field = _FIELD_BY_NAME.get(_norm(key))
        if field is None:
            continue
        if field in values:
            raise IngestError(
                path,
                f"the {field} is given twice ('{values[field][0]}' and '{key}')",
                row=number,
                column=key,
                tip="keep one of them",
            )
        values[field] = (key, value)
    return values


# --- values -----------------------------------------------------------------------------------------------------


def _record(values: Mapping[str, tuple[str, object]], path: str, row: int, origin: str) -> DeliveryRecord:
    cell = _Cells(values, path, row)
    sent = cell.required_time("sent")
    received = cell.time("received")
    acknowledged = cell.time("acknowledged")
    if received is not None and received < sent:
        raise cell.error(
            "received",
            f"received {(sent - received).total_seconds():g} s before it was sent",
            "check the clocks of sender and recipient (NTP) and the time zones",
        )
    if acknowledged is not None:
        if received is None:
            raise cell.error(
                "acknowledged",
                "acknowledged but never received",
                "fill in the received time, or leave acknowledged empty",
            )
        if acknowledged < received:
            raise cell.error(
                "acknowledged", "acknowledged before it was received", "check the clocks and the time zones"
            )
    return DeliveryRecord(
        source=cell.required_text("source"),
        recipient=cell.required_text("recipient"),
        sent_at=sent,
        received_at=received,
        acknowledged_at=acknowledged,
        unit=cell.text("unit"),
        priority=cell.priority(),
        alarm_type=cell.text("alarm_type"),
        heartbeat=cell.flag("heartbeat"),
        path=cell.text("path"),
        origin=origin,
    )


class _Cells:
    """Typed access to one row's fields; errors name the file, row and the column as the file wrote it."""

    def __init__(self, values: Mapping[str, tuple[str, object]], path: str, row: int) -> None:
        self.values = values
        self.path = path
        self.row = row

    def error(self, field: str, message: str, tip: str) -> IngestError:
        column = self.values[field][0] if field in self.values else field
        return IngestError(self.path, message, row=self.row, column=column, tip=tip)

    def raw(self, field: str) -> object:
        """The value, or ``None`` when absent or blank."""
        if field not in self.values:
            return None
        value = self.values[field][1]
        if isinstance(value, str):
            value = value.strip()
            if value.lower() in _BLANK:
                return None
        return value

    def missing(self, field: str, tip: str) -> IngestError:
        return self.error(field, "empty value" if field in self.values else "no value (the field is missing)", tip)

    def required_text(self, field: str) -> str:
        value = self.text(field)
        if value is None:
            raise self.missing(field, f"every delivery needs a {field}")
        return value

    def required_time(self, field: str) -> datetime:
        value = self.time(field)
        if value is None:
            raise self.missing(field, _TIME_TIP)
        return value

    def text(self, field: str) -> str | None:
        value = self.raw(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(field, f"expected text, found {_json_kind(value)}", f"write the {field} as a string")
        return sys.intern(str(value))  # names repeat on every row: one copy each

    def time(self, field: str) -> datetime | None:
        value = self.raw(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(field, f"expected a time, found {_json_kind(value)}", _TIME_TIP)
        if isinstance(value, str) and not _EPOCH.fullmatch(value):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise self.error(field, f"{_short(value)!r} is not a time", _TIME_TIP) from None
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0:
            raise self.error(field, f"{_short(str(value))!r} is not a time", _TIME_TIP)
        if seconds >= _EPOCH_MS_FROM:
            raise self.error(
                field,
                f"{_short(str(value))} is not plausible as epoch seconds",
                "this looks like milliseconds: divide by 1000, or write ISO 8601",
            )
        return datetime.fromtimestamp(seconds, UTC)

    def priority(self) -> Priority | None:
        value = self.raw("priority")
        if value is None:
            return None
        priority = _PRIORITIES.get(value.lower()) if isinstance(value, str) else None
        if priority is None:
            raise self.error(
                "priority",
                f"{_short(str(value))!r} is not an alarm priority",
                "write high, medium or low (IEC 60601-1-8)",
            )
        return priority

    def flag(self, field: str) -> bool:
        value = self.raw(field)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        text = str(value).lower() if isinstance(value, str | int) else None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self.error(field, f"{_short(str(value))!r} is not true or false", "write true/false, 1/0 or yes/no")


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "a string"
    return "a number" if isinstance(value, int | float) else "null"


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
