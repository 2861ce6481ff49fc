"""CEF and JSON payloads of SIEM events: expected lines written by hand from the CEF rules (ArcSight CEF rev. 25)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from wardwatch.domain.siem import (
    Event,
    Target,
    bounded,
    cef,
    cef_extension_value,
    cef_header_value,
    json_payload,
    parse_target,
    syslog_level,
)

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 1796115600 s since the epoch (date -u -d ... +%s)


def test_header_values_escape_backslash_and_pipe_and_drop_line_breaks() -> None:
    assert cef_header_value("a|b\\c") == "a\\|b\\\\c"
    assert cef_header_value("line1\r\nline2") == "line1  line2"
    assert cef_header_value("x=y") == "x=y"  # an equals sign needs no escape in the header


def test_extension_values_escape_backslash_equals_and_line_breaks() -> None:
    assert cef_extension_value("a=b") == "a\\=b"
    assert cef_extension_value("C:\\temp") == "C:\\\\temp"
    assert cef_extension_value("one\ntwo\rthree") == "one\\ntwo\\rthree"
    assert cef_extension_value("pipe|stays") == "pipe|stays"
    assert cef_extension_value("bell\x07tab\x1b") == "bell tab "
    # an escaped backslash before an equals sign stays two escapes, not one
    assert cef_extension_value("\\=") == "\\\\\\="


def test_a_denied_action_with_hostile_values_as_one_cef_line() -> None:
    event = Event(
        id="audit-7", time=AT, kind="audit.denied", severity=5,
        message="eve=admin? denied|retry\\now\nsecond line",
        fields={"actor": "eve|x", "action": "remediation.advance", "outcome": "denied", "target": "item 7",
                "source_ip": "10.0.0.9", "item": "WW-7", "detail": "not in CEF"},
    )  # fmt: skip
    line = cef(event, host="ww1", version="1.2|beta\\3")
    assert line == (
        "CEF:0|Wardwatch|Wardwatch|1.2\\|beta\\\\3|audit.denied|Action denied|5|"
        "rt=1796115600000 externalId=audit-7 cat=audit.denied act=remediation.advance outcome=denied suser=eve|x "
        "src=10.0.0.9 cs3Label=Work item cs3=WW-7 cs5Label=Target cs5=item 7 dvchost=ww1 "
        "msg=eve\\=admin? denied|retry\\\\now\\nsecond line"
    )
    assert "\n" not in line and "\r" not in line


def test_a_kev_finding_maps_cve_device_and_cvss() -> None:
    event = Event(
        id="kev-3", time=AT + timedelta(milliseconds=250), kind="finding.kev", severity=10, message="CVE on P1",
        fields={"cve": "CVE-2024-0001", "device": "P1", "device_id": 12, "device_ip": "10.30.1.5",
                "model": "Acme Pump 9", "unit": "ICU", "cvss": 9.8, "criticality": "life-sustaining"},
    )  # fmt: skip
    assert cef(event, version="0.1.0") == (
        "CEF:0|Wardwatch|Wardwatch|0.1.0|finding.kev|Known exploited vulnerability on a medical device|10|"
        "rt=1796115600250 externalId=kev-3 cat=finding.kev dst=10.30.1.5 dhost=P1 cs1Label=CVE cs1=CVE-2024-0001 "
        "cs2Label=Device model cs2=Acme Pump 9 cs6Label=Unit cs6=ICU cn1Label=Device id cn1=12 cfp1Label=CVSS "
        "cfp1=9.8 msg=CVE on P1"
    )


def test_json_is_compact_with_sorted_keys_and_utc_times() -> None:
    event = Event(
        id="overdue-4", time=datetime(2026, 12, 1, 10, 0, tzinfo=timezone(timedelta(hours=1))),
        kind="remediation.overdue", severity=8, message='due "yesterday"\n',
        fields={"item": "WW-4", "due_at": AT, "devices": 2},
    )  # fmt: skip
    text = json_payload(event, host="ww1", version="0.1.0")
    assert text == (
        '{"fields":{"devices":2,"due_at":"2026-12-01T09:00:00Z","item":"WW-4"},"host":"ww1","id":"overdue-4",'
        '"kind":"remediation.overdue","message":"due \\"yesterday\\"\\n","name":"Remediation work item overdue",'
        '"product":"Wardwatch","severity":8,"time":"2026-12-01T09:00:00Z","version":"0.1.0"}'
    )
    assert json.loads(text)["message"] == 'due "yesterday"\n'


def test_events_refuse_unknown_kinds_severities_and_naive_times() -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        Event(id="x", time=AT, kind="finding.new", severity=1, message="")
    with pytest.raises(ValueError, match="between 0 and 10"):
        Event(id="x", time=AT, kind="finding.kev", severity=11, message="")
    with pytest.raises(ValueError, match="time zone"):
        Event(id="x", time=datetime(2026, 1, 1), kind="finding.kev", severity=1, message="")  # noqa: DTZ001


def test_bounded_shortens_the_message_and_keeps_the_payload_well_formed() -> None:
    event = Event(id="audit-9", time=AT, kind="audit.failure", severity=6, message="é" * 3000 + "=end",
                  fields={"actor": "bea", "target": "t" * 500})  # fmt: skip
    for fmt in ("cef", "json"):
        text = bounded(event, fmt, 1000, host="ww1")
        assert len(text.encode("utf-8")) <= 1000
        assert len(text.encode("utf-8")) > 900  # as much of the message as fits, not a blunt cut
        if fmt == "json":
            document = json.loads(text)
            assert document["message"].endswith("…") and document["message"].startswith("éé")
            assert document["fields"]["target"] == "t" * 500  # the message gave way first
        else:
            assert text.startswith("CEF:0|Wardwatch|") and text.endswith("…") and "cs5=" + "t" * 500 in text
    small = bounded(event, "json", 400)
    assert len(small.encode()) <= 400 and json.loads(small)["fields"]["target"] == "t" * 64 + "…"
    assert (
        bounded(event, "json", 90)
        == ('{"id":"audit-9","kind":"audit.failure","severity":6,"time":"2026-12-01T09:00:00Z","truncated":true}'[:90])
    )
    fits = Event(id="a", time=AT, kind="audit.failure", severity=6, message="short")
    assert bounded(fits, "cef", 2048) == cef(fits)


def test_a_cef_line_cut_hard_never_ends_in_half_an_escape() -> None:
    event = Event(id="audit-1", time=AT, kind="audit.failure", severity=6, message="m",
                  fields={"target": "\\" * 400})  # fmt: skip
    for limit in range(120, 200):
        text = bounded(event, "cef", limit)
        assert len(text.encode()) <= limit
        trailing = len(text) - len(text.rstrip("\\"))
        assert trailing % 2 == 0, (limit, text[-10:])


def test_targets() -> None:
    assert parse_target("udp://siem.example.org:514") == Target("udp", "siem.example.org", 514)
    assert parse_target("tcp://10.0.0.5:6514") == Target("tcp", "10.0.0.5", 6514)
    assert parse_target("udp://collector") == Target("udp", "collector", 514)
    assert str(parse_target("tcp://[::1]:601")) == "tcp://[::1]:601"
    for bad in (
        "siem:514",
        "http://siem:514",
        "udp://:514",
        "tcp://siem:99999",
        "tcp://siem:0",
        "udp://u:p@siem",
        "tcp://siem:514/path",
        "tcp://siem:abc",
    ):
        with pytest.raises(ValueError, match="udp://HOST:PORT or tcp://HOST:PORT"):
            parse_target(bad)


def test_syslog_levels() -> None:
    assert [syslog_level(s) for s in (10, 9, 8, 7, 6, 4, 3, 1, 0)] == [
        "CRITICAL", "CRITICAL", "ERROR", "ERROR", "WARNING", "WARNING", "NOTICE", "NOTICE", "INFO"]  # fmt: skip
