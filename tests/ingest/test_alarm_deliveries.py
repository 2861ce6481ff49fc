"""Alarm delivery logs: CSV, JSON lines and syslog fixtures holding the same 20 deliveries, and every refusal.

The fixtures (tests/fixtures/alarms/deliveries.*) hold 7 heartbeats hb-icu-east -> icu-east-phones every 5 s with
nothing sent between 08:00:15 and 08:00:45, 9 ICU-East alarms (one arrhythmia alarm 14.2 s late, one lost) and
4 Ward-3 pump alarms (one 41.5 s late).  The JSON lines file writes the heartbeats' times as epoch seconds and the
pump alarms' times with a +01:00 offset; the syslog file mixes RFC 5424, RFC 3164, structured data and an sshd line.
"""

from __future__ import annotations

import dataclasses
import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wardwatch.domain.alarm_model import DeliveryRecord, Priority
from wardwatch.ingest import alarm_deliveries
from wardwatch.ingest.alarm_deliveries import parse_delivery_lines, read_delivery_records
from wardwatch.ingest.errors import IngestError

ALARMS = Path(__file__).parent.parent / "fixtures" / "alarms"
FORMATS = ("csv", "jsonl", "syslog")
T8 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
ICU_PATH = "ICU-East monitors -> alarm-server-1 -> phones"


def at(minute: int, second: float) -> datetime:
    return T8 + timedelta(minutes=minute, seconds=second)


def without_origin(records: list[DeliveryRecord]) -> list[DeliveryRecord]:
    return [dataclasses.replace(r, origin="") for r in records]


# --- the fixtures ------------------------------------------------------------------------------------------------


def test_csv_fixture_reads_every_row() -> None:
    records = read_delivery_records(ALARMS / "deliveries.csv")

    assert len(records) == 20
    assert sum(r.heartbeat for r in records) == 7
    assert [r.origin for r in records[:2]] == ["deliveries.csv:row 2", "deliveries.csv:row 3"]  # the header is row 1
    late = records[12]  # row 14: sent 08:05:10.000, received 08:05:24.200
    assert late.origin == "deliveries.csv:row 14"
    assert (late.source, late.recipient, late.unit) == ("icu-east-monitors", "icu-east-phones", "ICU-East")
    assert late.priority is Priority.HIGH  # written "High"
    assert late.alarm_type == "arrhythmia"  # column "Alarm"
    assert late.path == ICU_PATH
    assert late.sent_at == at(5, 10) and late.received_at == at(5, 24.2)
    assert late.latency_s == pytest.approx(14.2)
    lost = records[14]
    assert lost.origin == "deliveries.csv:row 16"
    assert lost.received_at is None and lost.latency_s is None
    acked = records[8]  # row 10
    assert acked.acknowledged_at == at(1, 20)
    pump = records[4]
    assert (pump.unit, pump.priority, pump.path, pump.heartbeat) == ("Ward-3", Priority.MEDIUM, None, False)
    heartbeat = records[0]
    assert heartbeat.heartbeat and heartbeat.alarm_type is None and heartbeat.path is None
    assert all(r.sent_at.tzinfo is UTC for r in records)


def test_the_three_formats_give_the_same_deliveries() -> None:
    by_format = {fmt: read_delivery_records(ALARMS / f"deliveries.{fmt}") for fmt in FORMATS}

    assert without_origin(by_format["csv"]) == without_origin(by_format["jsonl"])
    assert without_origin(by_format["csv"]) == without_origin(by_format["syslog"])
    assert by_format["jsonl"][14].origin == "deliveries.jsonl:line 15"
    # the syslog file has an sshd line (11) among the deliveries: the lost alarm is on line 16
    assert by_format["syslog"][14].origin == "deliveries.syslog:line 16"
    assert by_format["syslog"][10].origin == "deliveries.syslog:line 12"


def test_jsonl_epoch_seconds_and_offsets_become_utc() -> None:
    records = read_delivery_records(ALARMS / "deliveries.jsonl")

    # line 1: "sent_at": 1796025600.0 = 2026-11-30T08:00:00Z, "received_at": 1796025600.25
    assert records[0].sent_at == T8
    assert records[0].received_at == T8 + timedelta(milliseconds=250)
    # line 5: "2026-11-30T09:00:30.000+01:00" is 08:00:30 UTC
    assert records[4].sent_at == at(0, 30)
    assert records[4].sent_at.utcoffset() == timedelta(0)
    # line 16 mixes an offset (sent, received) with Z (acked_at): 08:08:00 -> 08:08:09.250 -> 08:09:00
    assert (records[15].sent_at, records[15].received_at, records[15].acknowledged_at) == (
        at(8, 0),
        at(8, 9.25),
        at(9, 0),
    )


def test_syslog_reads_rfc5424_rfc3164_and_structured_data() -> None:
    records = read_delivery_records(ALARMS / "deliveries.syslog")

    pump = records[4]  # source and recipient only in [delivery@32473 ...]
    assert (pump.source, pump.recipient) == ("ward3-pumps", "ward3-pagers")
    assert pump.latency_s == pytest.approx(12.0)
    spo2 = records[10]  # <134>Nov 30 08:03:02 alarmsrv01 wardwatch-alarm[812]: ...
    assert (spo2.alarm_type, spo2.priority, spo2.path) == ("spo2-low", Priority.MEDIUM, ICU_PATH)
    assert records[14].received_at is None  # received=-
    assert [r.heartbeat for r in records[:4]] == [True] * 4  # heartbeat=1 and heartbeat=yes


def test_gzip_file_is_read(tmp_path: Path) -> None:
    packed = tmp_path / "deliveries.csv.gz"
    packed.write_bytes(gzip.compress((ALARMS / "deliveries.csv").read_bytes()))

    records = read_delivery_records(packed)

    assert without_origin(records) == without_origin(read_delivery_records(ALARMS / "deliveries.csv"))
    assert records[0].origin == "deliveries.csv.gz:row 2"


# --- variants ----------------------------------------------------------------------------------------------------


def test_csv_aliases_semicolons_naive_and_epoch_times() -> None:
    lines = [
        "\ufeffSRC;To;Sent At;received_at;ACKED_AT;Ward;Prio;Alarm Type;HB;Route;Comment",
        "mon-1;phone-7;2026-11-30 08:00:00;2026-11-30T08:00:02.5;;ICU;red;asystole;no;;a; note",
        "mon-1;phone-7;1796025660;1796025661.5;1796025670;ICU;Yellow;;0;mon -> phone;",
    ]
    # the second data row has one value too many: "a; note" is split by the delimiter
    with pytest.raises(IngestError, match=r"row 2: the row has 12 values but the header names 11 columns"):
        parse_delivery_lines(lines, "x.csv")

    lines[1] = "mon-1;phone-7;2026-11-30 08:00:00;2026-11-30T08:00:02.5;;ICU;red;asystole;no;;note"
    first, second = parse_delivery_lines(lines, "exports/x.csv")

    assert first == DeliveryRecord(
        source="mon-1",
        recipient="phone-7",
        sent_at=T8,  # no offset: UTC
        received_at=T8 + timedelta(seconds=2.5),
        unit="ICU",
        priority=Priority.HIGH,  # IEC 60601-1-8 red
        alarm_type="asystole",
        origin="x.csv:row 2",
    )
    assert second.sent_at == T8 + timedelta(minutes=1)  # epoch 1796025660
    assert second.latency_s == pytest.approx(1.5)
    assert second.acknowledged_at == T8 + timedelta(seconds=70)
    assert (second.priority, second.alarm_type, second.path) == (Priority.MEDIUM, None, "mon -> phone")


def test_csv_quoted_values_and_crlf() -> None:
    lines = [
        "source,recipient,sent,received,path\r\n",
        '"mon, bed 4",phone-7,2026-11-30T08:00:00Z,2026-11-30T08:00:01Z,"mon -> ""core"" -> phone"\r\n',
    ]
    (record,) = parse_delivery_lines(lines, "x.csv")

    assert record.source == "mon, bed 4"
    assert record.path == 'mon -> "core" -> phone'


def test_syslog_without_pri_as_rsyslog_writes_files() -> None:
    lines = [
        "2026-11-30T08:00:01.200+00:00 alarmsrv01 wardwatch-alarm: source=a recipient=b sent=2026-11-30T08:00:00Z "
        "received=2026-11-30T08:00:01.100Z priority=low",
        "Nov 30 08:00:05 alarmsrv01 wardwatch-alarm[9]: src=a dst=b sent_at=1796025604 recv_at=1796025605.25 hb=true",
        "Nov 30 08:00:06 alarmsrv01 kernel: eth0: link up",
    ]
    first, second = parse_delivery_lines(lines, "messages")

    assert (first.source, first.recipient, first.priority) == ("a", "b", Priority.LOW)
    assert first.latency_s == pytest.approx(1.1)
    assert first.origin == "messages:line 1"
    assert second.heartbeat and second.sent_at == T8 + timedelta(seconds=4)
    assert second.latency_s == pytest.approx(1.25)


def test_rfc5424_with_bom_and_escaped_quotes() -> None:
    line = (
        '<134>1 2026-11-30T08:00:01Z host app 1 delivery [meta@1 note="x \\"y\\" ]"] \ufeffsource=a recipient=b '
        'sent=2026-11-30T08:00:00Z received=2026-11-30T08:00:00.5Z path="a \\"fast\\" path"'
    )
    (record,) = parse_delivery_lines([line], "x.log")

    assert record.path == 'a "fast" path'
    assert record.latency_s == pytest.approx(0.5)


def test_csv_with_only_a_header_has_no_records() -> None:
    assert parse_delivery_lines(["source,recipient,sent,received"], "x.csv") == []


# --- refusals ----------------------------------------------------------------------------------------------------

HEADER = "source,recipient,sent,received,acknowledged,priority,heartbeat"
GOOD = "a,b,2026-11-30T08:00:00Z,2026-11-30T08:00:01Z,,high,false"


def refusal(lines: list[str], name: str = "bad.csv") -> IngestError:
    with pytest.raises(IngestError) as caught:
        parse_delivery_lines(lines, name)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(name)
    return caught.value


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("a,b,,2026-11-30T08:00:01Z,,high,false", "sent", "empty value"),
        ("a,,2026-11-30T08:00:00Z,2026-11-30T08:00:01Z,,high,false", "recipient", "empty value"),
        ("a,b,yesterday,2026-11-30T08:00:01Z,,high,false", "sent", "'yesterday' is not a time"),
        ("a,b,2026-11-30T08:00:02Z,2026-11-30T08:00:01Z,,high,false", "received", "received 1 s before it was sent"),
        (
            "a,b,2026-11-30T08:00:00Z,,2026-11-30T08:00:05Z,high,false",
            "acknowledged",
            "acknowledged but never received",
        ),
        (
            "a,b,2026-11-30T08:00:00Z,2026-11-30T08:00:05Z,2026-11-30T08:00:01Z,high,false",
            "acknowledged",
            "acknowledged before it was received",
        ),
        (
            "a,b,2026-11-30T08:00:00Z,2026-11-30T08:00:01Z,,urgent,false",
            "priority",
            "'urgent' is not an alarm priority",
        ),
        ("a,b,2026-11-30T08:00:00Z,2026-11-30T08:00:01Z,,high,maybe", "heartbeat", "'maybe' is not true or false"),
        ("a,b,1796025600000,,,high,false", "sent", "looks like milliseconds"),
    ],
)
def test_bad_csv_value_names_row_and_column(row: str, column: str, message: str) -> None:
    error = refusal([HEADER, GOOD, row, GOOD])

    assert error.row == 3
    assert error.column == column
    assert f"bad.csv, row 3, column '{column}': " in str(error)
    assert message in str(error) or (error.tip and message in error.tip)
    assert error.tip


def test_csv_header_without_sent_column_is_refused() -> None:
    error = refusal(["source,recipient,time,received", GOOD])

    assert error.row == 1
    assert "has no 'sent' column" in str(error)
    assert "'time'" in str(error)


def test_csv_two_columns_for_one_field_are_refused() -> None:
    error = refusal(["source,recipient,sent,sent_at,received", GOOD])

    assert error.row == 1
    assert "columns 'sent' and 'sent_at' both give the sent" in str(error)


def test_csv_bad_quoting_names_the_row() -> None:
    error = refusal(["source,recipient,sent,received", 'a,b,2026-11-30T08:00:00Z,"2026"x'])

    assert error.row == 2
    assert "is not valid CSV" in str(error)


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ("{not json", None, "is not valid JSON"),
        ("[1, 2]", None, "the line is a list, not an object"),
        ('{"source": "a", "recipient": "b", "received": null}', "sent", "no value (the field is missing)"),
        ('{"source": ["a"], "recipient": "b", "sent": 1796025600}', "source", "expected text, found a list"),
        ('{"source": "a", "recipient": "b", "sent": true}', "sent", "expected a time, found true/false"),
        (
            '{"source": "a", "recipient": "b", "sent": 1796025600, "sent_at": 1796025600}',
            "sent_at",
            "the sent is given twice ('sent' and 'sent_at')",
        ),
        (
            '{"source": "a", "recipient": "b", "sent": 1796025600, "heartbeat": 2}',
            "heartbeat",
            "'2' is not true or false",
        ),
    ],
)
def test_bad_json_line_names_the_line(line: str, column: str | None, message: str) -> None:
    good = '{"source": "a", "recipient": 4711, "sent": 1796025600, "received": 1796025601, "heartbeat": 1}'
    assert parse_delivery_lines([good], "x.jsonl")[0].recipient == "4711"  # a phone extension written as a number

    error = refusal([good, "", line], "bad.jsonl")

    assert error.row == 3
    assert error.column == column
    assert message in str(error)


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ("<134>1 2026-11-30T08:00:01Z h app - - - source=a recipient=b sent=08:00", "sent", "is not a time"),
        ("<134>1 2026-11-30T08:00:01Z h app - - - source=a recipient=b received=2026-11-30T08:00:01Z", "sent",
         "names source and recipient but no sent time"),
        ("this is no syslog line sent=2026-11-30T08:00:00Z", None, "the line is not in syslog format"),
        ("<134>1 2026-11-30T08:00:01Z h app - - [broken source=a sent=1", None, "RFC 5424 line is malformed"),
    ],
)  # fmt: skip
def test_bad_syslog_line_names_the_line(line: str, column: str | None, message: str) -> None:
    good = "<134>1 2026-11-30T08:00:01Z h app - - - source=a recipient=b sent=2026-11-30T08:00:00Z received=-"

    error = refusal([good, line], "bad.log")

    assert error.row == 2
    assert error.column == column
    assert message in str(error)


def test_syslog_without_any_delivery_is_refused() -> None:
    error = refusal(["<38>1 2026-11-30T08:03:10Z alarmsrv01 sshd 2231 - - Accepted publickey"], "auth.log")

    assert "has no alarm delivery lines" in str(error)


def test_error_in_the_last_row_returns_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "deliveries.csv"
    text = (ALARMS / "deliveries.csv").read_text()
    bad.write_text(text + "x,y,2026-11-30T09:00:00Z,2026-11-30T08:59:00Z,,,,,,,\n")

    with pytest.raises(
        IngestError, match=r"deliveries.csv, row 22, column 'Received': received 60 s before it was sent"
    ):
        read_delivery_records(bad)


# --- hostile files -----------------------------------------------------------------------------------------------


def test_binary_file_is_refused_in_one_line(tmp_path: Path) -> None:
    image = tmp_path / "deliveries.csv"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 64)

    with pytest.raises(IngestError) as caught:
        read_delivery_records(image)

    assert str(caught.value).startswith(f"{image}: the file is not a text file (it contains NUL bytes)")
    assert "\n" not in str(caught.value)


def test_non_utf8_text_is_refused(tmp_path: Path) -> None:
    latin = tmp_path / "deliveries.csv"
    latin.write_bytes(b"source,recipient,sent,received\nStation \xe9t\xe9,b,1796025600,\n")

    with pytest.raises(IngestError, match=r"not UTF-8 text .* save it as UTF-8"):
        read_delivery_records(latin)


def test_empty_file_and_directory_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("\n  \n")

    with pytest.raises(IngestError, match="the file is empty"):
        read_delivery_records(empty)
    with pytest.raises(IngestError, match="is not a file"):
        read_delivery_records(tmp_path)
    with pytest.raises(IngestError, match="the file does not exist"):
        read_delivery_records(tmp_path / "missing.csv")


def test_overlong_line_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    long = tmp_path / "deliveries.jsonl"
    good = '{"source": "a", "recipient": "b", "sent": 1796025600}\n'
    long.write_text(good + '{"source": "' + "a" * (70 * 1024) + '"}\n' + good)

    with pytest.raises(IngestError, match=r"row 2: the line is longer than 64 KiB"):
        read_delivery_records(long)


def test_file_over_the_size_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alarm_deliveries, "MAX_FILE_BYTES", 1000)
    big = tmp_path / "big.csv"
    big.write_text("source,recipient,sent,received\n" + "a,b,1796025600,1796025601\n" * 100)  # 2,631 bytes
    packed = tmp_path / "big.csv.gz"
    packed.write_bytes(gzip.compress(big.read_bytes()))  # small on disk, over the cap once expanded

    with pytest.raises(IngestError, match="the file is larger than"):
        read_delivery_records(big)
    with pytest.raises(IngestError, match="the file expands to more than"):
        read_delivery_records(packed)


def test_record_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alarm_deliveries, "MAX_RECORDS", 3)
    rows = ["source,recipient,sent,received"] + ["a,b,1796025600,1796025601"] * 4

    assert len(parse_delivery_lines(rows[:4], "x.csv")) == 3
    with pytest.raises(IngestError, match="has more than 3 delivery records"):
        parse_delivery_lines(rows, "x.csv")


def test_truncated_gzip_is_refused(tmp_path: Path) -> None:
    packed = tmp_path / "deliveries.csv.gz"
    packed.write_bytes(gzip.compress((ALARMS / "deliveries.csv").read_bytes())[:-40])

    with pytest.raises(IngestError, match="truncated or corrupt gzip"):
        read_delivery_records(packed)
