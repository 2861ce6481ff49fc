"""The heartbeat probe behind ``wardwatch alarms probe``: real heartbeats to the endpoints of the alarm path, and a
:class:`~wardwatch.domain.alarm_model.DeliveryRecord` for each, delivered or lost (METHODS.md 5.4, live monitoring).

Three kinds of heartbeat (:data:`~wardwatch.ingest.alarm_probe_config.PROBE_KINDS`):

* ``hl7-mllp``: an HL7 v2.5 ORU^R01 *test* message (MSH-11 processing id ``T``; no PID, so it can never be filed
  against a patient) carrying one heartbeat observation, framed in MLLP.  It counts as delivered only when an
  MLLP-framed ACK comes back whose MSA-1 is ``AA`` or ``CA`` and whose MSA-2 is the message's control id; a
  negative (``AE``/``AR``/``CE``/``CR``) or mismatched ACK is *not delivered*, and :attr:`ProbeResult.reason` says why.
* ``tcp-echo``: one line ``WARDWATCH-HEARTBEAT <nonce>`` that must come back unchanged.
* ``udp-echo``: one datagram with the same text that must come back unchanged.

Every heartbeat uses a new connection (or UDP socket), so each also proves the endpoint still accepts connections.
Timeouts, refused or reset connections and unresolvable names make a lost record with a reason; :func:`probe_once`
never raises them.

**Timing.**  The probe only sees the round trip (RTT): one-way latency needs synchronised clocks at both ends, which
a probe cannot assume.  As METHODS.md 5.4 says for untrusted clocks, a delivered record has

* ``sent_at``: the wall-clock time (UTC) the heartbeat was written to the socket (after the TCP connection was set
  up, so connecting is not counted, as a sender holding a connection open would not pay it);
* ``received_at = sent_at + RTT/2``: the estimated arrival, so ``latency_s`` is RTT/2;
* ``acknowledged_at = sent_at + RTT``: when the ACK or echo came back.

The RTT itself is measured on the monotonic clock (:attr:`ProbeResult.rtt_s`), and each record's ``path`` ends in
``latency RTT/2`` to flag the estimate.  Records have ``heartbeat=True`` and ``origin="probe"``.
"""

from __future__ import annotations

import logging
import re
import secrets
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from wardwatch.domain.alarm_model import DeliveryRecord
from wardwatch.ingest.alarm_probe_config import ProbeConfig, ProbeEndpoint

logger = logging.getLogger(__name__)

__all__ = [
    "MLLP_END",
    "MLLP_START",
    "PROBE_SOURCE",
    "ProbeResult",
    "ack_problem",
    "hl7_heartbeat",
    "new_control_id",
    "probe_once",
    "run_probe",
]

MLLP_START: Final = b"\x0b"
MLLP_END: Final = b"\x1c\x0d"
PROBE_SOURCE: Final = "wardwatch-probe"
"""The record's ``source`` when an endpoint names no alarm source."""

_MAX_ANSWER: Final = 64 * 1024
"""Longest ACK or echo read; a longer answer is not an acknowledgement."""
_MAX_WORKERS: Final = 64
_SAFE_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,20}")
"""MSH-10 is at most 20 characters in HL7 v2.5; no separators or escapes."""
_SAFE_NAME: Final = re.compile(r"[A-Za-z0-9 ._-]{1,180}")
_ACCEPT: Final = frozenset({"AA", "CA"})
_ACK_CODES: Final = {
    "AE": "application error",
    "AR": "application reject",
    "CE": "commit error",
    "CR": "commit reject",
}
_OBSERVATION: Final = "HEARTBEAT^Wardwatch heartbeat^L"
_ECHO_PREFIX: Final = "WARDWATCH-HEARTBEAT"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One heartbeat: the delivery record, the measured round trip and, when it was not delivered, why."""

    endpoint: ProbeEndpoint
    record: DeliveryRecord
    rtt_s: float | None
    """Seconds from sending to the full answer (monotonic clock); ``None`` when no acceptable answer came."""
    reason: str | None = None
    """``None`` when delivered; otherwise one line: ``no answer within 3 s``, ``connection refused``…"""
    round_number: int = 0
    """1 for the first round of :func:`run_probe`; 0 from :func:`probe_once`."""

    @property
    def delivered(self) -> bool:
        """The endpoint answered correctly in time."""
        return self.record.received_at is not None


def new_control_id() -> str:
    """A fresh message control id / echo nonce: ``WW`` and 16 random hex digits (18 characters)."""
    return f"WW{secrets.token_hex(8)}"


def hl7_heartbeat(control_id: str, now: datetime, sending: str = "WARDWATCH") -> bytes:
    """An HL7 v2.5 ORU^R01 test heartbeat framed in MLLP (``0x0B`` message ``0x1C 0x0D``), segments ending in CR.

    MSH-3/4 (sending application and facility) are ``sending``, MSH-7 and OBR-7/OBX-14 are ``now`` (which must
    carry a time zone), MSH-10 is ``control_id``, MSH-11 is ``T`` (test) and MSH-12 ``2.5``.  There is no PID (it is
    optional in ORU_R01): the OBR and one OBX (``ST``, final) carry the heartbeat, the OBX value is the control id.
    ``control_id`` must be 1-20 letters, digits, ``.``, ``_`` or ``-``; ``sending`` the same plus spaces, so
    neither can break the message's structure (``ValueError`` otherwise).
    """
    if not _SAFE_ID.fullmatch(control_id):
        raise ValueError(f"control id must be 1-20 letters, digits, '.', '_' or '-', got {control_id!r}")
    if not _SAFE_NAME.fullmatch(sending):
        raise ValueError(f"sending application must be letters, digits, spaces, '.', '_' or '-', got {sending!r}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the heartbeat time must carry a time zone")
    stamp = f"{now:%Y%m%d%H%M%S}.{now.microsecond // 1000:03d}{now:%z}"
    segments = (
        f"MSH|^~\\&|{sending}|{sending}|||{stamp}||ORU^R01^ORU_R01|{control_id}|T|2.5",
        f"OBR|1|{control_id}||{_OBSERVATION}|||{stamp}",
        f"OBX|1|ST|{_OBSERVATION}||{control_id}||||||F|||{stamp}",
    )
    message = "".join(segment + "\r" for segment in segments)
    return MLLP_START + message.encode("ascii") + MLLP_END


class _Failed(Exception):
    """The heartbeat was not delivered, for the reason given."""


class _Attempt:
    """The deadline and timestamps of one heartbeat."""

    __slots__ = ("answered", "deadline", "sent_at", "sent_mono", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.sent_at: datetime | None = None
        self.sent_mono = 0.0
        self.answered: float | None = None

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    def mark_sent(self) -> None:
        self.sent_at = datetime.now(UTC)
        self.sent_mono = time.monotonic()

    def mark_answered(self) -> None:
        self.answered = time.monotonic()


def probe_once(endpoint: ProbeEndpoint, *, timeout: float) -> ProbeResult:
    """Send one heartbeat to ``endpoint`` and wait up to ``timeout`` seconds (connecting included) for the answer.

    Never raises for network trouble: a lost heartbeat is a result with ``received_at=None`` and a reason.
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    started = datetime.now(UTC)
    attempt = _Attempt(timeout)
    reason: str | None = None
    try:
        if endpoint.kind == "hl7-mllp":
            _probe_mllp(endpoint, attempt)
        elif endpoint.kind == "tcp-echo":
            _probe_tcp_echo(endpoint, attempt)
        else:
            _probe_udp_echo(endpoint, attempt)
    except _Failed as e:
        reason = str(e)
    except TimeoutError:
        reason = (
            f"no answer within {timeout:g} s"
            if attempt.sent_at is not None
            else f"could not connect within {timeout:g} s"
        )
    except ConnectionRefusedError:
        reason = "port unreachable (nothing listening for UDP)" if endpoint.kind == "udp-echo" else "connection refused"
    except ConnectionResetError:
        reason = "connection reset by the endpoint"
    except socket.gaierror as e:
        reason = f"cannot resolve {endpoint.host} ({e.strerror or e})"
    except OSError as e:
        reason = f"network error: {e.strerror or e}"
    except Exception as e:  # a probe must report, not crash the run; the cause is logged
        logger.exception("heartbeat to %s failed unexpectedly", endpoint.name)
        reason = f"probe failed: {type(e).__name__}"
    if reason is not None:
        logger.debug("heartbeat to %s (%s) not delivered: %s", endpoint.name, endpoint.target, reason)
    return _result(endpoint, attempt, started, reason)


def _result(endpoint: ProbeEndpoint, attempt: _Attempt, started: datetime, reason: str | None) -> ProbeResult:
    sent_at = attempt.sent_at or started
    received_at = acknowledged_at = None
    rtt: float | None = None
    if reason is None and attempt.answered is not None:
        rtt = max(0.0, attempt.answered - attempt.sent_mono)
        received_at = sent_at + timedelta(seconds=rtt / 2)
        acknowledged_at = sent_at + timedelta(seconds=rtt)
    record = DeliveryRecord(
        source=endpoint.source or PROBE_SOURCE,
        recipient=endpoint.recipient or endpoint.name,
        sent_at=sent_at,
        received_at=received_at,
        acknowledged_at=acknowledged_at,
        unit=endpoint.unit,
        priority=endpoint.priority,
        heartbeat=True,
        path=f"probe -> {endpoint.name} ({endpoint.target}), latency RTT/2",
        origin="probe",
    )
    return ProbeResult(endpoint, record, rtt, reason)


def _exchange(endpoint: ProbeEndpoint, attempt: _Attempt, payload: bytes, terminator: bytes) -> bytes:
    """Connect, send ``payload`` and read until ``terminator``; returns the answer up to and including it."""
    with socket.create_connection((endpoint.host, endpoint.port), timeout=attempt.remaining()) as sock:
        sock.settimeout(attempt.remaining())
        attempt.mark_sent()
        sock.sendall(payload)
        answer = bytearray()
        while (end := answer.find(terminator)) < 0:
            if len(answer) > _MAX_ANSWER:
                raise _Failed(f"answer longer than {_MAX_ANSWER} bytes without an end")
            sock.settimeout(attempt.remaining())
            chunk = sock.recv(4096)
            if not chunk:
                raise _Failed("connection closed before an answer" if not answer else "connection closed mid-answer")
            answer += chunk
        attempt.mark_answered()
        return bytes(answer[: end + len(terminator)])


def _probe_mllp(endpoint: ProbeEndpoint, attempt: _Attempt) -> None:
    control_id = new_control_id()
    answer = _exchange(endpoint, attempt, hl7_heartbeat(control_id, datetime.now(UTC)), MLLP_END)
    start = answer.find(MLLP_START)
    if start < 0:
        raise _Failed("answer is not MLLP-framed (no start block 0x0B)")
    problem = ack_problem(answer[start + 1 : -len(MLLP_END)], control_id)
    if problem is not None:
        raise _Failed(problem)


def ack_problem(message: bytes, control_id: str) -> str | None:
    """Why an HL7 acknowledgement (without MLLP framing) does not confirm message ``control_id``; ``None`` if it
    does (MSA-1 ``AA`` or ``CA`` and MSA-2 the control id)."""
    text = message.decode("latin-1")
    segments = [s for s in re.split(r"[\r\n]+", text) if s]
    separator = segments[0][3] if segments and segments[0].startswith("MSH") and len(segments[0]) > 3 else "|"
    msa = next((s.split(separator) for s in segments if s.startswith("MSA")), None)
    if msa is None:
        return "answer has no MSA segment (not an HL7 acknowledgement)"
    code = msa[1].strip().upper() if len(msa) > 1 else ""
    acked = msa[2].strip() if len(msa) > 2 else ""
    if code not in _ACCEPT:
        meaning = _ACK_CODES.get(code, "unknown acknowledgement code")
        detail = _printable(msa[3]) if len(msa) > 3 else ""
        return f"negative acknowledgement {_printable(code) or '(empty)'} ({meaning}{': ' + detail if detail else ''})"
    if acked != control_id:
        return f"acknowledgement is for control id {_printable(acked) or '(empty)'}, expected {control_id}"
    return None


def _printable(text: str, limit: int = 120) -> str:
    cleaned = "".join(c if c.isprintable() else " " for c in text).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _echo_payload() -> bytes:
    return f"{_ECHO_PREFIX} {new_control_id()}\n".encode("ascii")


def _probe_tcp_echo(endpoint: ProbeEndpoint, attempt: _Attempt) -> None:
    payload = _echo_payload()
    answer = _exchange(endpoint, attempt, payload, b"\n")
    if answer.rstrip(b"\r\n") != payload.rstrip(b"\n"):
        raise _Failed(f"echo differs from what was sent ({_printable(answer.decode('latin-1'), 60)!r})")


def _probe_udp_echo(endpoint: ProbeEndpoint, attempt: _Attempt) -> None:
    payload = _echo_payload()
    family, kind, proto, _, address = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, kind, proto) as sock:
        sock.connect(address)  # a connected socket hears ICMP port-unreachable as ConnectionRefusedError
        attempt.mark_sent()
        sock.send(payload)
        others = 0
        while True:
            try:
                sock.settimeout(attempt.remaining())
                datagram = sock.recv(65535)
            except TimeoutError:
                if others:
                    raise _Failed(f"no matching echo within {attempt.timeout:g} s ({others} other datagrams)") from None
                raise
            if datagram == payload:
                attempt.mark_answered()
                return
            others += 1


def run_probe(
    config: ProbeConfig,
    *,
    rounds: int | None = None,
    duration_s: float | None = None,
    on_record: Callable[[ProbeResult], None] | None = None,
    keep_results: bool = True,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[ProbeResult]:
    """Every ``config.interval_s`` seconds, probe all endpoints concurrently (one thread each, at most 64).

    Stops after ``rounds`` rounds, or before the first round that would start ``duration_s`` or more seconds after
    the first, or on Ctrl-C (KeyboardInterrupt), whichever comes first; with neither limit it runs until
    interrupted.  Rounds start on a fixed schedule; one that overruns its interval delays the next instead of
    bunching up.  ``on_record`` is called for every result as each round completes, in endpoint order; the results
    are also returned unless ``keep_results`` is false (for long runs that only stream them).  ``clock`` and
    ``sleep`` pace the rounds (monotonic seconds).
    """
    if rounds is not None and rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    if duration_s is not None and not duration_s > 0:
        raise ValueError(f"duration must be positive, got {duration_s}")
    results: list[ProbeResult] = []
    workers = max(1, min(len(config.endpoints), _MAX_WORKERS))
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alarm-probe")
    start = due = clock()
    number = 0
    try:
        while True:
            number += 1
            futures = [executor.submit(probe_once, e, timeout=config.timeout_s) for e in config.endpoints]
            for future in futures:
                result = replace(future.result(), round_number=number)
                if on_record is not None:
                    on_record(result)
                if keep_results:
                    results.append(result)
            if rounds is not None and number >= rounds:
                break
            due = max(due + config.interval_s, clock())
            if duration_s is not None and due - start >= duration_s:
                break
            wait = due - clock()
            if wait > 0:
                sleep(wait)
    except KeyboardInterrupt:
        logger.info("heartbeat probe interrupted after %d rounds", number)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    return results
