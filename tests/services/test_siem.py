"""SIEM events over real sockets, on real SQLite and PostgreSQL: a UDP and a TCP syslog listener on 127.0.0.1 (in
threads, ephemeral ports) receive what ``services.siem.send`` sends; the frames are parsed here (RFC 5424 header,
RFC 6587 octet counting, CEF) without Wardwatch's code.

The hand-built hospital (expected events worked out by hand):

    ICU:  pump P1 (Acme Pump 9, life-sustaining, 10.30.1.5), CVE-2024-0001 in KEV
          pump P2 (Acme Pump 9, life-sustaining), CVE-2024-0001 in KEV, suppressed (a VEX says not affected)
    Ward: workstation W1 (Dell OptiPlex, non-clinical), CVE-2017-0144 in KEV; CVE-2024-0009 not in KEV
          monitor M1 (Philips MX800, monitoring), CVE-2024-0002 not in KEV (until the catalogue adds it)
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, update

from wardwatch.domain.permissions import SYSTEM, Principal, Role
from wardwatch.domain.remediation import TransitionRefused
from wardwatch.services import remediation, siem
from wardwatch.services.siem import SiemError
from wardwatch.store.schema import (
    devices,
    interfaces,
    remediation_items,
    risk_acceptances,
    sites,
    units,
    vulnerability_findings,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BIOMED = Principal("bea", Role.BIOMED, 1)
ITSEC = Principal("ivan", Role.ITSEC, 2)
AUDITOR = Principal("ada", Role.AUDITOR, 3)

DEVICES = [  # tag, unit, manufacturer, model, criticality, ip, [(cve, in_kev, suppressed)]
    ("P1", "ICU", "Acme", "Pump 9", "life-sustaining", "10.30.1.5", [("CVE-2024-0001", True, False)]),
    ("P2", "ICU", "Acme", "Pump 9", "life-sustaining", None, [("CVE-2024-0001", True, True)]),
    ("W1", "Ward", "Dell", "OptiPlex", "non-clinical", None, [("CVE-2017-0144", True, False),
                                                             ("CVE-2024-0009", False, False)]),
    ("M1", "Ward", "Philips", "MX800", "monitoring", None, [("CVE-2024-0002", False, False)]),
]  # fmt: skip

# <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG (RFC 5424 section 6)
SYSLOG = re.compile(rb"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[[^\]]*\])+) (.*)$", re.DOTALL)


def build_hospital(engine: Engine) -> dict[str, int]:
    """The hospital above; returns the device ids by tag."""
    ids: dict[str, int] = {}
    with engine.begin() as connection:
        site = connection.execute(insert(sites).values(name="General", created_at=NOW).returning(sites.c.id))
        site_id = site.scalar_one()
        unit_ids = {
            name: connection.execute(
                insert(units).values(site_id=site_id, department=name).returning(units.c.id)
            ).scalar_one()
            for name in ("ICU", "Ward")
        }
        for tag, unit, maker, model, criticality, ip, findings in DEVICES:
            ids[tag] = connection.execute(insert(devices).values(
                site_id=site_id, unit_id=unit_ids[unit], asset_tag=tag, manufacturer=maker, model=model,
                criticality=criticality, device_type="infusion-pump", created_at=NOW, updated_at=NOW,
            ).returning(devices.c.id)).scalar_one()  # fmt: skip
            if ip:
                connection.execute(insert(interfaces).values(device_id=ids[tag], ip=ip, source_kind="cmms"))
            for cve, in_kev, suppressed in findings:
                connection.execute(insert(vulnerability_findings).values(
                    device_id=ids[tag], vulnerability_id=cve, component_ref="", source="test",
                    confidence="confirmed", suppressed=suppressed, in_kev=in_kev, cvss_score=9.8, detail="{}",
                    first_seen=NOW, last_seen=NOW,
                ))  # fmt: skip
    return ids


@pytest.fixture
def hospital(engine: Engine) -> dict[str, int]:
    return build_hospital(engine)


# -- listeners -----------------------------------------------------------------------------------------------------


class UdpListener:
    """A syslog collector on UDP: every datagram it gets."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.datagrams: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                self.datagrams.append(self.socket.recv(65535))
            except TimeoutError:
                continue

    def take(self, count: int, wait: float = 5.0) -> list[bytes]:
        """The datagrams received once ``count`` arrived (or ``wait`` passed), and a little more time for extras."""
        deadline = datetime.now(UTC) + timedelta(seconds=wait)
        while len(self.datagrams) < count and datetime.now(UTC) < deadline:
            self._stop.wait(0.02)
        self._stop.wait(0.2)
        got, self.datagrams = self.datagrams, []
        return got

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.socket.close()


class TcpListener:
    """A syslog collector on TCP: the bytes of each connection, read to its end."""

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(5)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.streams: list[bytes] = []
        self._done = threading.Semaphore(0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(10)
                chunks = []
                while chunk := connection.recv(65536):
                    chunks.append(chunk)
            self.streams.append(b"".join(chunks))
            self._done.release()

    def take(self, wait: float = 10.0) -> bytes:
        """The bytes of the next connection that ended."""
        assert self._done.acquire(timeout=wait), "no connection ended"
        return self.streams.pop(0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.close()


@pytest.fixture
def udp() -> Iterator[UdpListener]:
    listener = UdpListener()
    yield listener
    listener.close()


@pytest.fixture
def tcp() -> Iterator[TcpListener]:
    listener = TcpListener()
    yield listener
    listener.close()


def closed_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (bound, then released)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


def octet_counted(stream: bytes) -> list[bytes]:
    """Split an RFC 6587 octet-counted stream: MSG-LEN SP SYSLOG-MSG, repeated."""
    out, at = [], 0
    while at < len(stream):
        space = stream.index(b" ", at)
        length = int(stream[at:space])
        assert stream[at:space].isdigit() and not stream[at:space].startswith(b"0")
        out.append(stream[space + 1 : space + 1 + length])
        assert len(out[-1]) == length, "a frame is shorter than its count"
        at = space + 1 + length
    return out


def parse(message: bytes) -> dict[str, object]:
    match = SYSLOG.match(message)
    assert match, message[:200]
    pri, timestamp, host, app, procid, msgid, sd, msg = match.groups()
    return {"facility": int(pri) >> 3, "severity": int(pri) & 7, "time": datetime.fromisoformat(timestamp.decode()),
            "host": host.decode(), "app": app.decode(), "procid": procid.decode(), "msgid": msgid.decode(),
            "sd": sd.decode(), "msg": msg.decode("utf-8")}  # fmt: skip


def cef_fields(line: str) -> tuple[list[str], dict[str, str]]:
    """A CEF line's seven header fields and its extension, unescaped (a reader independent of the writer)."""
    header: list[str] = []
    current, i = "", 0
    while len(header) < 7:
        char = line[i]
        if char == "\\" and line[i + 1] in "\\|":
            current += line[i + 1]
            i += 2
            continue
        if char == "|":
            header.append(current)
            current = ""
        else:
            current += char
        i += 1
    extension = line[i:]
    pairs: dict[str, str] = {}
    for match in re.finditer(r"(\w+)=((?:\\.|[^\\=])*?)(?= \w+=|$)", extension):
        value = match.group(2)
        pairs[match.group(1)] = re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), value)
    return header, pairs


# -- what is collected ---------------------------------------------------------------------------------------------


def test_collects_kev_hits_steps_refusals_overdue_items_and_expired_acceptances(
    engine: Engine, hospital: dict[str, int]
) -> None:
    remediation.sync(engine, SYSTEM, now=NOW)
    with engine.connect() as connection:
        items = {r.vulnerability_id: r.id for r in connection.execute(select(remediation_items))}
    pump = items["CVE-2024-0001"]
    remediation.advance(engine, BIOMED, pump, "triaged", now=NOW)
    with pytest.raises(TransitionRefused):
        remediation.advance(engine, ITSEC, items["CVE-2024-0002"], "triaged", now=NOW)
    with engine.begin() as connection:  # the monitor's item was due yesterday; P1's acceptance ended on Nov 30
        connection.execute(update(remediation_items).where(remediation_items.c.id == items["CVE-2024-0002"])
                           .values(due_at=NOW - timedelta(days=1), priority="immediate"))  # fmt: skip
        connection.execute(insert(risk_acceptances).values(
            device_id=hospital["P1"], vulnerability_id="CVE-2024-0001", approver="cora", justification="patch soon",
            controls="[]", expires_on=date(2026, 11, 30), created_at=NOW - timedelta(days=60)))  # fmt: skip
        connection.execute(insert(risk_acceptances).values(  # still active: no event
            device_id=hospital["W1"], vulnerability_id=None, approver="cora", justification="isolated",
            controls="[]", expires_on=date(2027, 1, 30), created_at=NOW - timedelta(days=60)))  # fmt: skip

    batch = siem.collect(engine, AUDITOR, now=NOW)
    by_kind: dict[str, list[siem.Event]] = {}
    for event in batch.events:
        by_kind.setdefault(event.kind, []).append(event)
    assert sorted(by_kind) == ["acceptance.expired", "audit.denied", "finding.kev", "remediation.overdue",
                               "remediation.step"]  # fmt: skip
    kev = {e.fields["device"]: e for e in by_kind["finding.kev"]}
    assert set(kev) == {"P1", "W1"}  # P2's is suppressed; W1's other finding and M1's are not in KEV
    assert (kev["P1"].severity, kev["W1"].severity) == (10, 8)  # life-sustaining; non-clinical
    assert kev["P1"].fields["device_ip"] == "10.30.1.5" and kev["P1"].fields["model"] == "Acme Pump 9"
    assert kev["P1"].message == "CVE-2024-0001 is known exploited (CISA KEV) and affects P1 (Acme Pump 9, ICU)"
    (step,) = by_kind["remediation.step"]
    assert step.fields["actor"] == "bea" and step.fields["item"] == f"WW-{pump}"
    assert step.message == f"bea moved work item #{pump} from open to triaged"
    (denied,) = by_kind["audit.denied"]
    assert denied.fields["actor"] == "ivan" and denied.fields["outcome"] == "denied"
    assert "remediation:triage" in denied.message
    (overdue,) = by_kind["remediation.overdue"]
    assert overdue.id == f"overdue-{items['CVE-2024-0002']}" and overdue.severity == 8
    assert overdue.time == NOW - timedelta(days=1)
    (expired,) = by_kind["acceptance.expired"]
    assert expired.fields["device"] == "P1" and expired.time == datetime(2026, 11, 30, tzinfo=UTC)
    # Oldest first
    assert [e.time for e in batch.events] == sorted(e.time for e in batch.events)
    # Collecting reads only: nothing moved
    assert siem.checkpoints(engine) == {}
    with pytest.raises(Exception, match="audit:read"):
        siem.collect(engine, BIOMED)


# -- over the wire -------------------------------------------------------------------------------------------------


def test_udp_messages_are_rfc5424_with_cef_and_bounded(
    engine: Engine, hospital: dict[str, int], udp: UdpListener
) -> None:
    with engine.begin() as connection:  # long names of 4-byte characters make a message of over 2,048 bytes
        connection.execute(update(devices).where(devices.c.id == hospital["W1"])
                           .values(asset_tag="W1" + "𝄞" * 98, manufacturer="Dell" + "𝄞" * 196))  # fmt: skip
    sent = siem.send(engine, AUDITOR, f"udp://127.0.0.1:{udp.port}", "cef", hostname="ww-host", now=NOW)
    assert sent == 2
    datagrams = udp.take(2)
    assert len(datagrams) == 2 and all(len(d) <= 2048 for d in datagrams)
    messages = [parse(d) for d in datagrams]
    for m in messages:
        assert (m["facility"], m["host"], m["app"], m["msgid"]) == (4, "ww-host", "wardwatch", "finding.kev")
        assert m["sd"].startswith('[origin software="Wardwatch" swVersion="')
        assert m["time"] == NOW  # the event's time (when the finding was first seen), in UTC
    by_device = {cef_fields(str(m["msg"]))[1]["dhost"][:2]: m for m in messages}
    pump = by_device["P1"]
    header, extension = cef_fields(str(pump["msg"]))
    assert header[:3] == ["CEF:0", "Wardwatch", "Wardwatch"]
    assert header[4:] == ["finding.kev", "Known exploited vulnerability on a medical device", "10"]
    assert pump["severity"] == 2  # critical
    assert extension["cs1"] == "CVE-2024-0001" and extension["cs1Label"] == "CVE"
    assert extension["dst"] == "10.30.1.5" and extension["dvchost"] == "ww-host"
    assert extension["rt"] == str(int(NOW.timestamp() * 1000))
    assert extension["msg"] == "CVE-2024-0001 is known exploited (CISA KEV) and affects P1 (Acme Pump 9, ICU)"
    # The long one was shortened to fit a 2,048-byte datagram, and is still a CEF line ending in an ellipsis
    long_one = by_device["W1"]
    assert max(len(d) for d in datagrams) > 2000  # filled up to the bound, not cut short
    assert str(long_one["msg"]).endswith("…") and cef_fields(str(long_one["msg"]))[1]["cs1"] == "CVE-2017-0144"


def test_tcp_uses_octet_counting_and_json(engine: Engine, hospital: dict[str, int], tcp: TcpListener) -> None:
    sent = siem.send(engine, AUDITOR, f"tcp://127.0.0.1:{tcp.port}", "json", hostname="ww-host", now=NOW)
    assert sent == 2
    frames = octet_counted(tcp.take())
    assert len(frames) == 2
    documents = sorted((json.loads(str(parse(f)["msg"])) for f in frames), key=lambda d: d["id"])
    assert [d["fields"]["device"] for d in documents] == ["P1", "W1"]
    assert documents[0]["kind"] == "finding.kev" and documents[0]["severity"] == 10
    assert list(documents[0]) == sorted(documents[0])  # sorted keys
    assert documents[0]["time"] == "2026-12-01T09:00:00Z"


def test_checkpoints_send_each_event_once_and_a_failed_send_loses_nothing(
    engine: Engine, hospital: dict[str, int], tcp: TcpListener
) -> None:
    target = f"tcp://127.0.0.1:{tcp.port}"
    assert siem.send(engine, AUDITOR, target, "cef", now=NOW) == 2
    assert len(octet_counted(tcp.take())) == 2
    marks = siem.checkpoints(engine)
    assert set(marks) == {"siem.audit_id", "siem.kev_sent", "siem.overdue_sent", "siem.acceptance_day"}
    # Second send: nothing new
    assert siem.send(engine, AUDITOR, target, "cef", now=NOW) == 0
    assert tcp.take() == b""

    # New: the catalogue adds M1's CVE to KEV (its finding was first seen long ago), and a work item step
    with engine.begin() as connection:
        f = vulnerability_findings.c
        connection.execute(
            update(vulnerability_findings).where(f.vulnerability_id == "CVE-2024-0002").values(in_kev=True)
        )
    remediation.sync(engine, SYSTEM, now=NOW)
    first = remediation.list_items(engine, SYSTEM, now=NOW)[0]["id"]
    remediation.advance(engine, BIOMED, first, "triaged", now=NOW)
    before = siem.checkpoints(engine)

    # The collector is down: one error line, nothing marked as sent
    port = closed_port()
    with pytest.raises(SiemError, match=rf"cannot connect to tcp://127\.0\.0\.1:{port}: Connection refused"):
        siem.send(engine, AUDITOR, f"tcp://127.0.0.1:{port}", "cef", now=NOW)
    assert siem.checkpoints(engine) == before

    # Back up: the events are all there (and the failed send itself, from the audit trail)
    assert siem.send(engine, AUDITOR, target, "cef", now=NOW) == 3
    kinds = sorted(cef_fields(str(parse(f)["msg"]))[0][4] for f in octet_counted(tcp.take()))
    assert kinds == ["audit.failure", "finding.kev", "remediation.step"]
    assert siem.send(engine, AUDITOR, target, "cef", now=NOW) == 0
    tcp.take()


def test_dry_run_and_preview_send_and_move_nothing(engine: Engine, hospital: dict[str, int]) -> None:
    port = closed_port()  # a dry run does not even connect
    assert siem.send(engine, AUDITOR, f"tcp://127.0.0.1:{port}", "cef", dry_run=True, now=NOW) == 2
    shown = siem.preview(engine, AUDITOR, "json", hostname="ww-host", now=NOW)
    assert [e["kind"] for e in shown] == ["finding.kev", "finding.kev"]
    assert all(e["payload"].startswith('{"fields":') and '"host":"ww-host"' in e["payload"] for e in shown)
    assert siem.checkpoints(engine) == {}
    with pytest.raises(ValueError, match="udp://HOST:PORT"):
        siem.send(engine, AUDITOR, "syslog://x", "cef")
    with pytest.raises(ValueError, match="cef or json"):
        siem.send(engine, AUDITOR, f"udp://127.0.0.1:{port}", "leef")
