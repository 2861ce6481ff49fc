"""The heartbeat probe against real listeners on 127.0.0.1, and its configuration file.

The MLLP listeners are python-hl7's own asyncio MLLP server (``hl7.mllp.start_hl7_server``), so the framing and
the ORU^R01 heartbeat are read by an independent implementation; their ACKs are written by hand from the parsed
message (MSH sender/receiver swapped, MSA-1 code, MSA-2 the received MSH-10).  The echo listeners are plain asyncio
TCP and UDP servers.  Every listener runs on an ephemeral port in one event loop on a background thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hl7 as python_hl7  # type: ignore[import-untyped]
import hl7.mllp as python_mllp  # type: ignore[import-untyped]
import pytest

from wardwatch.domain.alarm_model import Priority
from wardwatch.ingest.alarm_probe_config import ProbeConfig, ProbeEndpoint, ProbeKind, read_probe_config
from wardwatch.ingest.errors import IngestError
from wardwatch.services.alarm_probe import (
    PROBE_SOURCE,
    ProbeResult,
    ack_problem,
    hl7_heartbeat,
    probe_once,
    run_probe,
)

LOCALHOST = "127.0.0.1"

# --- listeners -------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    """What an MLLP listener does with one message: wait ``delay`` s, then send an ACK with ``code`` (and MSA-3
    ``text``), acknowledging ``control_id`` instead of the received one when given; ``silent``: never answer;
    ``close``: hang up without answering."""

    code: str = "AA"
    delay: float = 0.0
    text: str = ""
    control_id: str | None = None
    silent: bool = False
    close: bool = False


@dataclass
class MllpListener:
    """Messages received (parsed by python-hl7) and the port it listens on."""

    port: int
    received: list[python_hl7.Message] = field(default_factory=list)

    def endpoint(self, name: str = "alarm-server-hl7", **extra: Any) -> ProbeEndpoint:
        return ProbeEndpoint(name=name, kind="hl7-mllp", host=LOCALHOST, port=self.port, **extra)


def ack_for(message: python_hl7.Message, answer: Answer) -> bytes:
    """An HL7 v2.5 ACK written from the parsed message, MLLP framing left to the writer."""
    msh = message.segment("MSH")
    acked = answer.control_id if answer.control_id is not None else str(msh[10])
    msa = f"MSA|{answer.code}|{acked}" + (f"|{answer.text}" if answer.text else "")
    text = f"MSH|^~\\&|ALARMSRV|HOSP|{msh[3]}|{msh[4]}|20261102090001||ACK^R01^ACK|A{acked}|T|2.5\r{msa}\r"
    return text.encode("ascii")


class Listeners:
    """An asyncio event loop on a daemon thread hosting the test's servers; everything is closed at the end."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: list[asyncio.AbstractServer] = []
        self.transports: list[asyncio.BaseTransport] = []

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=5)

    def mllp(self, behaviour: Callable[[int], Answer]) -> MllpListener:
        """An MLLP listener answering message number n (1, 2, ...) as ``behaviour(n)`` says."""
        listener = MllpListener(port=0)

        async def handle(reader: python_mllp.HL7StreamReader, writer: python_mllp.HL7StreamWriter) -> None:
            try:
                while True:
                    try:
                        message = await reader.readmessage()
                    except (asyncio.IncompleteReadError, ConnectionError):
                        return
                    listener.received.append(message)
                    answer = behaviour(len(listener.received))
                    if answer.close:
                        return
                    if answer.silent:
                        continue
                    await asyncio.sleep(answer.delay)
                    if reader.at_eof():
                        return
                    writer.writeblock(ack_for(message, answer))
                    await writer.drain()
            except ConnectionError:
                return
            finally:
                writer.close()

        async def start() -> asyncio.AbstractServer:
            server: asyncio.AbstractServer = await python_mllp.start_hl7_server(handle, LOCALHOST, 0)
            return server

        server = self.run(start())
        self.servers.append(server)
        listener.port = server.sockets[0].getsockname()[1]
        return listener

    def tcp_echo(self, transform: Callable[[bytes], bytes] = lambda data: data) -> int:
        """A TCP echo server sending back what it reads (``transform`` alters it); returns its port."""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(4096):
                    writer.write(transform(data))
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        async def start() -> asyncio.AbstractServer:
            return await asyncio.start_server(handle, LOCALHOST, 0)

        server = self.run(start())
        self.servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    def udp_echo(self, transform: Callable[[bytes], bytes] = lambda data: data) -> int:
        """A UDP echo server; returns its port."""

        class Echo(asyncio.DatagramProtocol):
            def connection_made(self, transport: Any) -> None:  # a DatagramTransport in all but its base class
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                self.transport.sendto(transform(data), addr)

        async def start() -> asyncio.BaseTransport:
            transport, _ = await self.loop.create_datagram_endpoint(Echo, local_addr=(LOCALHOST, 0))
            return transport

        transport = self.run(start())
        self.transports.append(transport)
        port: int = transport.get_extra_info("sockname")[1]
        return port

    def close(self) -> None:
        async def shutdown() -> None:
            for server in self.servers:
                server.close()
            for transport in self.transports:
                transport.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@pytest.fixture
def listeners() -> Iterator[Listeners]:
    hosted = Listeners()
    try:
        yield hosted
    finally:
        hosted.close()


def free_port(kind: int) -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once by the OS, then released)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
    return port


def endpoint(kind: ProbeKind, port: int, name: str = "target") -> ProbeEndpoint:
    return ProbeEndpoint(name=name, kind=kind, host=LOCALHOST, port=port)


def assert_delivered(result: ProbeResult) -> float:
    """The result is delivered with RTT/2 latency and ack at RTT; returns the RTT."""
    assert result.reason is None and result.delivered
    rtt = result.rtt_s
    assert rtt is not None
    record = result.record
    assert record.received_at is not None and record.acknowledged_at is not None
    assert abs((record.received_at - record.sent_at).total_seconds() - rtt / 2) < 2e-6
    assert abs((record.acknowledged_at - record.sent_at).total_seconds() - rtt) < 2e-6
    assert (record.heartbeat, record.origin) == (True, "probe")
    assert record.path is not None and record.path.endswith("latency RTT/2")
    return rtt


def assert_lost(result: ProbeResult, reason: str) -> None:
    assert not result.delivered
    assert (result.record.received_at, result.record.acknowledged_at, result.rtt_s) == (None, None, None)
    assert result.reason is not None and reason in result.reason, result.reason
    assert (result.record.heartbeat, result.record.origin) == (True, "probe")


# --- the HL7 heartbeat ------------------------------------------------------------------------------------------


def test_heartbeat_is_an_mllp_framed_hl7_v25_oru_test_message() -> None:
    now = datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=UTC)
    framed = hl7_heartbeat("WW0123456789abcdef", now, sending="WARDWATCH ICU")
    assert framed[:1] == b"\x0b" and framed[-2:] == b"\x1c\x0d" and framed.count(b"\x0b") == 1
    message = python_hl7.parse(framed[1:-2].decode("ascii"))
    assert [str(segment[0]) for segment in message] == ["MSH", "OBR", "OBX"]  # no PID: no patient to file under
    assert (message["MSH.F3"], message["MSH.F4"]) == ("WARDWATCH ICU", "WARDWATCH ICU")
    assert (message["MSH.F9.R1.C1"], message["MSH.F9.R1.C2"], message["MSH.F9.R1.C3"]) == ("ORU", "R01", "ORU_R01")
    assert (message["MSH.F10"], message["MSH.F11"], message["MSH.F12"]) == ("WW0123456789abcdef", "T", "2.5")
    assert python_hl7.parse_datetime(message["MSH.F7"]) == datetime(2026, 11, 2, 9, 0, 0, 123000, tzinfo=UTC)
    assert (message["OBX.F2"], message["OBX.F5"], message["OBX.F11"]) == ("ST", "WW0123456789abcdef", "F")
    assert message["OBX.F3.R1.C1"] == message["OBR.F4.R1.C1"] == "HEARTBEAT"
    assert python_hl7.parse_datetime(message["OBX.F14"]) == python_hl7.parse_datetime(message["OBR.F7"])


def test_heartbeat_keeps_the_callers_time_zone() -> None:
    from datetime import timezone

    cet = timezone(timedelta(hours=1))
    framed = hl7_heartbeat("WW1", datetime(2026, 11, 2, 10, 30, tzinfo=cet))
    assert b"|20261102103000.000+0100||ORU^R01" in framed


@pytest.mark.parametrize(
    ("control_id", "now", "sending"),
    [
        ("WW1", datetime(2026, 11, 2, 9, 0), "WARDWATCH"),  # noqa: DTZ001  # naive time
        ("WW|1", datetime(2026, 11, 2, 9, 0, tzinfo=UTC), "WARDWATCH"),  # separator in MSH-10
        ("W" * 21, datetime(2026, 11, 2, 9, 0, tzinfo=UTC), "WARDWATCH"),  # MSH-10 is at most 20 in v2.5
        ("WW1", datetime(2026, 11, 2, 9, 0, tzinfo=UTC), "WARD^WATCH"),  # component separator in MSH-3
        ("WW1", datetime(2026, 11, 2, 9, 0, tzinfo=UTC), "WARD\rWATCH"),  # segment separator
    ],
)
def test_heartbeat_refuses_values_that_would_break_the_message(control_id: str, now: datetime, sending: str) -> None:
    with pytest.raises(ValueError, match="control id|sending|time zone"):
        hl7_heartbeat(control_id, now, sending=sending)


def test_ack_problem_reads_msa() -> None:
    assert ack_problem(b"MSH|^~\\&|A|B|C|D|1||ACK|9|P|2.5\rMSA|AA|WW1\r", "WW1") is None
    assert ack_problem(b"MSH|^~\\&|A|B|C|D|1||ACK|9|P|2.5\nMSA|CA|WW1", "WW1") is None  # LF-separated, commit accept
    assert ack_problem(b"MSH#^~\\&#A\rMSA#AA#WW1\r", "WW1") is None  # the separator MSH declares
    assert "no MSA" in str(ack_problem(b"MSH|^~\\&|A|B\r", "WW1"))
    assert ack_problem(b"MSA|AR|WW1|busy\r", "WW1") == "negative acknowledgement AR (application reject: busy)"
    assert "control id WW2, expected WW1" in str(ack_problem(b"MSA|AA|WW2\r", "WW1"))
    assert "(empty)" in str(ack_problem(b"MSA\r", "WW1"))


# --- MLLP endpoints ---------------------------------------------------------------------------------------------


def test_mllp_listener_that_acks_receives_a_heartbeat(listeners: Listeners) -> None:
    listener = listeners.mllp(lambda n: Answer())
    target = listener.endpoint(source="icu-east-monitors", recipient="alarm-server-1", unit="ICU-East",
                               priority=Priority.HIGH)  # fmt: skip
    before = datetime.now(UTC)
    result = probe_once(target, timeout=2)
    after = datetime.now(UTC)
    rtt = assert_delivered(result)
    assert 0 < rtt < 1.0
    record = result.record
    assert before <= record.sent_at <= after
    assert (record.source, record.recipient, record.unit, record.priority) == (
        "icu-east-monitors", "alarm-server-1", "ICU-East", Priority.HIGH,
    )  # fmt: skip
    assert f"alarm-server-hl7 (hl7-mllp 127.0.0.1:{listener.port})" in str(record.path)
    [message] = listener.received
    assert (message["MSH.F9.R1.C1"], message["MSH.F9.R1.C2"], message["MSH.F11"]) == ("ORU", "R01", "T")
    assert message["MSH.F10"] == message["OBX.F5"]  # the control id the ACK had to echo


def test_each_heartbeat_has_a_new_control_id(listeners: Listeners) -> None:
    listener = listeners.mllp(lambda n: Answer())
    for _ in range(3):
        assert probe_once(listener.endpoint(), timeout=2).delivered
    assert len({m["MSH.F10"] for m in listener.received}) == 3


def test_late_answer_within_the_timeout_measures_the_delay(listeners: Listeners) -> None:
    listener = listeners.mllp(lambda n: Answer(delay=0.3))
    result = probe_once(listener.endpoint(), timeout=1.5)
    rtt = assert_delivered(result)
    assert 0.3 <= rtt < 1.5
    assert result.record.latency_s is not None and result.record.latency_s >= 0.15


def test_answer_after_the_timeout_is_lost(listeners: Listeners) -> None:
    listener = listeners.mllp(lambda n: Answer(delay=1.0))
    started = time.monotonic()
    result = probe_once(listener.endpoint(), timeout=0.3)
    assert time.monotonic() - started < 0.9  # gave up at the timeout, did not wait for the late ACK
    assert_lost(result, "no answer within 0.3 s")
    assert len(listener.received) == 1  # it was sent; only the answer was late


def test_listener_that_stops_answering_after_two_messages(listeners: Listeners) -> None:
    listener = listeners.mllp(lambda n: Answer() if n <= 2 else Answer(silent=True))
    config = ProbeConfig((listener.endpoint(),), interval_s=0.15, timeout_s=0.4)
    results = run_probe(config, rounds=4)
    assert [r.round_number for r in results] == [1, 2, 3, 4]
    assert [r.delivered for r in results] == [True, True, False, False]
    for lost in results[2:]:
        assert_lost(lost, "no answer within 0.4 s")
    assert len(listener.received) == 4  # the heartbeats still arrived: the listener was silent, not unreachable
    sent = [r.record.sent_at for r in results]
    assert sent == sorted(sent)
    assert (sent[1] - sent[0]).total_seconds() >= 0.1  # rounds are paced by the interval


def test_listener_that_hangs_up(listeners: Listeners) -> None:
    listener = listeners.mllp(lambda n: Answer() if n == 1 else Answer(close=True))
    assert probe_once(listener.endpoint(), timeout=1).delivered
    assert_lost(probe_once(listener.endpoint(), timeout=1), "connection closed before an answer")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(code="AE", text="heartbeat rejected"), "negative acknowledgement AE (application error: heartbeat"),
        (Answer(code="AR"), "negative acknowledgement AR (application reject)"),
        (Answer(code="CR"), "negative acknowledgement CR (commit reject)"),
        (Answer(control_id="WWsomeoneelse"), "acknowledgement is for control id WWsomeoneelse, expected WW"),
    ],
)
def test_negative_or_mismatched_ack_is_not_delivered(listeners: Listeners, answer: Answer, reason: str) -> None:
    listener = listeners.mllp(lambda n: answer)
    assert_lost(probe_once(listener.endpoint(), timeout=1), reason)
    assert len(listener.received) == 1


def test_commit_accept_counts_as_delivered(listeners: Listeners) -> None:
    listener = listeners.mllp(lambda n: Answer(code="CA"))
    assert_delivered(probe_once(listener.endpoint(), timeout=1))


def test_tcp_answer_that_is_not_mllp(listeners: Listeners) -> None:
    port = listeners.tcp_echo(lambda data: b"HTTP/1.0 400 Bad Request\x1c\r")  # ends like MLLP, never starts so
    assert_lost(probe_once(endpoint("hl7-mllp", port), timeout=1), "answer is not MLLP-framed")


def test_echo_server_is_not_an_hl7_acknowledgement(listeners: Listeners) -> None:
    port = listeners.tcp_echo()  # sends the ORU back: framed, but no MSA
    assert_lost(probe_once(endpoint("hl7-mllp", port), timeout=1), "answer has no MSA segment")


def test_refused_mllp_connection_is_lost() -> None:
    result = probe_once(endpoint("hl7-mllp", free_port(socket.SOCK_STREAM)), timeout=1)
    assert_lost(result, "connection refused")
    assert result.record.source == PROBE_SOURCE and result.record.recipient == "target"


def test_unresolvable_host_is_lost() -> None:
    result = probe_once(ProbeEndpoint("nowhere", "tcp-echo", "no-such-host.invalid", 7), timeout=1)
    assert_lost(result, "no-such-host.invalid")


# --- echo endpoints ---------------------------------------------------------------------------------------------


def test_tcp_echo(listeners: Listeners) -> None:
    port = listeners.tcp_echo()
    rtt = assert_delivered(probe_once(endpoint("tcp-echo", port), timeout=1))
    assert rtt < 1.0


def test_tcp_echo_of_something_else_is_not_delivered(listeners: Listeners) -> None:
    port = listeners.tcp_echo(lambda line: line.upper())
    assert_lost(probe_once(endpoint("tcp-echo", port), timeout=1), "echo differs from what was sent")


def test_tcp_echo_refused() -> None:
    assert_lost(probe_once(endpoint("tcp-echo", free_port(socket.SOCK_STREAM)), timeout=1), "connection refused")


def test_udp_echo(listeners: Listeners) -> None:
    port = listeners.udp_echo()
    rtt = assert_delivered(probe_once(endpoint("udp-echo", port), timeout=1))
    assert rtt < 1.0


def test_udp_port_with_nobody_listening_is_lost() -> None:
    started = time.monotonic()
    result = probe_once(endpoint("udp-echo", free_port(socket.SOCK_DGRAM)), timeout=1)
    assert_lost(result, "port unreachable (nothing listening for UDP)")  # loopback returns ICMP port unreachable
    assert time.monotonic() - started < 0.9


def test_udp_echo_of_something_else_is_not_delivered(listeners: Listeners) -> None:
    port = listeners.udp_echo(lambda data: b"pong")
    assert_lost(probe_once(endpoint("udp-echo", port), timeout=0.3), "no matching echo within 0.3 s (1 other")


# --- rounds -----------------------------------------------------------------------------------------------------


def test_a_round_probes_endpoints_concurrently(listeners: Listeners) -> None:
    slow = listeners.mllp(lambda n: Answer(delay=0.4))
    config = ProbeConfig(
        (slow.endpoint("a"), slow.endpoint("b"), slow.endpoint("c"), endpoint("udp-echo", listeners.udp_echo(), "d")),
        interval_s=1,
        timeout_s=1,
    )
    started = time.monotonic()
    results = run_probe(config, rounds=1)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0  # one after another would take at least 3 x 0.4 s
    assert [r.endpoint.name for r in results] == ["a", "b", "c", "d"]  # endpoint order, whatever finished first
    assert all(r.delivered for r in results)
    assert all(r.rtt_s is not None and r.rtt_s >= 0.4 for r in results[:3])


def test_duration_stops_before_the_round_that_would_start_past_it(listeners: Listeners) -> None:
    port = listeners.tcp_echo()
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    streamed: list[ProbeResult] = []
    config = ProbeConfig((endpoint("tcp-echo", port),), interval_s=0.2, timeout_s=0.2)
    results = run_probe(config, duration_s=0.5, on_record=streamed.append, clock=lambda: now[0], sleep=sleep)
    # rounds start at 0, 0.2 and 0.4; the next would start at 0.6 >= 0.5
    assert [r.round_number for r in results] == [1, 2, 3]
    assert sleeps == pytest.approx([0.2, 0.2])
    assert streamed == results and all(r.delivered for r in results)


def test_streaming_without_keeping_results(listeners: Listeners) -> None:
    port = listeners.udp_echo()
    streamed: list[ProbeResult] = []
    config = ProbeConfig((endpoint("udp-echo", port, "u1"), endpoint("udp-echo", port, "u2")), 0.1, 0.5)
    assert run_probe(config, rounds=2, on_record=streamed.append, keep_results=False) == []
    assert [(r.round_number, r.endpoint.name) for r in streamed] == [(1, "u1"), (1, "u2"), (2, "u1"), (2, "u2")]


def test_ctrl_c_returns_what_was_gathered(listeners: Listeners) -> None:
    port = listeners.tcp_echo()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    config = ProbeConfig((endpoint("tcp-echo", port),), interval_s=5, timeout_s=1)
    results = run_probe(config, sleep=interrupted)
    assert [(r.round_number, r.delivered) for r in results] == [(1, True)]


def test_run_probe_refuses_nonsense_limits() -> None:
    config = ProbeConfig((endpoint("tcp-echo", 7),))
    with pytest.raises(ValueError, match="rounds"):
        run_probe(config, rounds=0)
    with pytest.raises(ValueError, match="duration"):
        run_probe(config, duration_s=0)


# --- the configuration file -------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "probe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_the_documented_example(tmp_path: Path) -> None:
    config = read_probe_config(
        write(
            tmp_path,
            """
interval: 5          # seconds between rounds (default 5)
timeout: 3           # seconds to wait for an answer (default 3)
endpoints:
  - name: alarm-server-hl7
    kind: hl7-mllp    # hl7-mllp, tcp-echo, udp-echo
    host: 127.0.0.1
    port: 2575
    source: icu-east-monitors
    recipient: alarm-server-1
    unit: ICU-East
    priority: high
  - {name: paging-gw, kind: TCP-Echo, host: Paging-GW.hospital.local., port: 7}
  - {name: dect, kind: udp-echo, host: "[fd00::5]", port: 7}
""",
        )
    )
    assert (config.interval_s, config.timeout_s) == (5.0, 3.0)
    assert config.endpoints[0] == ProbeEndpoint(
        "alarm-server-hl7", "hl7-mllp", "127.0.0.1", 2575, "icu-east-monitors", "alarm-server-1", "ICU-East",
        Priority.HIGH,
    )  # fmt: skip
    assert config.endpoints[1] == ProbeEndpoint("paging-gw", "tcp-echo", "paging-gw.hospital.local", 7,
                                                recipient="paging-gw")  # fmt: skip
    assert config.endpoints[2].host == "fd00::5" and config.endpoints[2].target == "udp-echo [fd00::5]:7"


def test_defaults(tmp_path: Path) -> None:
    config = read_probe_config(write(tmp_path, "endpoints: [{name: e, kind: udp-echo, host: '::1', port: 7}]"))
    assert (config.interval_s, config.timeout_s) == (5.0, 3.0)
    assert config.endpoints[0].recipient == "e" and config.endpoints[0].source is None
    short = read_probe_config(write(tmp_path, "interval: 2\nendpoints: [{name: e, kind: udp-echo, host: a, port: 7}]"))
    assert (short.interval_s, short.timeout_s) == (2.0, 2.0)  # the default timeout never exceeds the interval


ONE = "endpoints:\n  - {name: e, kind: hl7-mllp, host: 127.0.0.1, port: 2575"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ONE.replace("2575", "0") + "}", "endpoints[0].port: 0 is not a port number (1-65535) — write e.g. port"),
        (ONE.replace("2575", "65536") + "}", "endpoints[0].port: 65536 is not a port number"),
        (ONE.replace("2575", "'2575'") + "}", "endpoints[0].port: '2575' is not a port number"),
        (ONE.replace("2575", "true") + "}", "endpoints[0].port: True is not a port number"),
        (ONE.replace("127.0.0.1", "'not a host!'") + "}", "endpoints[0].host: 'not a host!' is not an IP address"),
        (ONE.replace("127.0.0.1", "10.20.300.1") + "}", "endpoints[0].host: '10.20.300.1' is not an IP address"),
        (ONE.replace("127.0.0.1", "'alarm-1:2575'") + "}", "'alarm-1:2575' is not an IP address or host name"),
        (ONE.replace("127.0.0.1", "-bad.example") + "}", "'-bad.example' is not an IP address or host name"),
        (ONE.replace("127.0.0.1", "[1, 2]") + "}", "endpoints[0].host: should be an IP address or host name, not a"),
        (ONE.replace("hl7-mllp", "http") + "}", "endpoints[0].kind: is 'http'; write one of hl7-mllp, tcp-echo"),
        (ONE + ", prot: 1}", "endpoints[0]: unknown key 'prot' (expected one of name, kind, host, port"),
        (ONE + ", priority: urgent}", "endpoints[0].priority: is 'urgent'; write one of high, medium, low"),
        (ONE + "}\n  - {name: e, kind: tcp-echo, host: a, port: 7}", "endpoints[1].name: 'e' is used twice"),
        ("endpoints:\n  - {name: e, kind: tcp-echo, port: 7}", "endpoints[0].host: is missing"),
        ("endpoints:\n  - just-a-name", "endpoints[0]: should be a mapping"),
        ("interval: 5", "endpoints: is missing — list at least one endpoint"),
        ("endpoints: []", "endpoints: should be a list of endpoints, not a list"),
        ("endpoint: []", "unknown key 'endpoint'"),
        ("interval: -1\n" + ONE + "}", "interval: is -1 s; it should be at least 0.1 and at most 86400 s"),
        ("interval: fast\n" + ONE + "}", "interval: should be a number of seconds, not text"),
        ("interval: .nan\n" + ONE + "}", "interval: should be a number of seconds"),
        ("timeout: 0\n" + ONE + "}", "timeout: is 0 s; it should be more than 0"),
        ("interval: 2\ntimeout: 3\n" + ONE + "}", "timeout: is 3 s, longer than the interval (2 s) — a heartbeat"),
        ("", "the file is empty"),
        ("- a\n- b", "should be a mapping with keys interval, timeout, endpoints, not a list"),
    ],
)
def test_bad_fields_name_the_place_and_what_to_write(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(IngestError) as caught:
        read_probe_config(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert expected in message, message
    assert " — " in message  # every refusal carries a tip


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as caught:
        read_probe_config(write(tmp_path, "interval: 5\nendpoints:\n  - {name: e, kind: [\n"))
    assert caught.value.row is not None and caught.value.row >= 3
    assert "is not valid YAML" in str(caught.value)


def test_hostile_files(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"# " + b"x" * (2 * 1024 * 1024))
    with pytest.raises(IngestError, match="expands to more than 1 MiB"):
        read_probe_config(huge)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("endpoints: [{name: caf\xe9}]".encode("latin-1"))
    with pytest.raises(IngestError, match="not UTF-8"):
        read_probe_config(latin)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x00\x01")
    with pytest.raises(IngestError, match="NUL bytes"):
        read_probe_config(binary)
    many = tmp_path / "many.yaml"
    many.write_text("endpoints: [&e {name: e, kind: tcp-echo, host: a, port: 7}" + ", *e" * 1000 + "]\n")
    with pytest.raises(IngestError, match="lists 1,001 endpoints"):
        read_probe_config(many)
    laughs = tmp_path / "laughs.yaml"
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    laughs.write_text("\n".join(levels) + "\nendpoints: [{name: *i, kind: tcp-echo, host: a, port: 7}]\n")
    with pytest.raises(IngestError, match="unknown key 'a'"):
        read_probe_config(laughs)
    nested = tmp_path / "nested.yaml"
    nested.write_text("endpoints: [{name: " + "[" * 50_000 + "]" * 50_000 + "}]")
    with pytest.raises(IngestError):
        read_probe_config(nested)


def test_endpoint_cap(tmp_path: Path) -> None:
    rows = "".join(f"  - {{name: e{i}, kind: udp-echo, host: 127.0.0.1, port: 7}}\n" for i in range(1001))
    with pytest.raises(IngestError, match="lists 1,001 endpoints, more than 1,000"):
        read_probe_config(write(tmp_path, "endpoints:\n" + rows))
