"""HL7 v2 over MLLP dissector: which applications and facilities exchange which clinical messages, in clear.

MLLP frames each message as ``0x0B <message> 0x1C 0x0D``; a TCP stream carries several.  Each message is a
list of segments separated by carriage returns; the first, MSH, defines the field separator (MSH-1) and the
encoding characters (MSH-2: component, repetition, escape, subcomponent).  From every message this module
reports, for the sender of the bytes:

- MSH-3 sending application and MSH-4 sending facility (``HL7_APPLICATION`` / ``HL7_FACILITY``),
- MSH-9 message type (``HL7_MESSAGE_TYPE``, e.g. ``ORU^R01^ORU_R01``, ``ACK``) and MSH-12 version
  (``HL7_VERSION``),
- device identifiers (``HL7_DEVICE_ID``): PRT-10 participation device and PRT-16 participant device identifier
  (v2.7+, the UDI), and OBX-18 equipment instance identifiers;

and, for the receiver, MSH-5 receiving application and MSH-6 receiving facility.  A message with a PID segment
on a payload without TLS gives a ``PHI_CLEARTEXT`` finding on the sender; its detail names the message type and
never repeats patient data.  Composite values are reported with their components joined by ``^`` (trailing
empty components dropped), whatever the message's own separators; escape sequences are left as sent.

The last frame of a stream prefix may be cut short: its complete segments are still used.  Nothing here raises
on malformed bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from sys import intern
from typing import Final

from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.domain.observations import Endpoint, Finding, FindingKind, Observation, ObservationKind

__all__ = ["SPEC", "dissect", "heuristic"]

PROTOCOL: Final = "hl7"

_START_BLOCK: Final = b"\x0b"
_END_BLOCK: Final = b"\x1c"
_HEADERS: Final = (b"MSH", b"FHS", b"BHS")  # message, file batch and batch headers
_MAX_VALUE: Final = 200  # longer "values" are misparses or free text, not identifiers
_DEVICE_FIELDS: Final[dict[str, tuple[tuple[int, str], ...]]] = {
    "PRT": ((10, "PRT-10 participation device"), (16, "PRT-16 participant device identifier (UDI)")),
    "OBX": ((18, "OBX-18 equipment instance identifier"),),
}


def heuristic(first_bytes: bytes) -> bool:
    """True when ``first_bytes`` open an MLLP block with an HL7 header: ``0x0B`` then ``MSH|`` (or FHS/BHS)."""
    return (
        len(first_bytes) >= 5
        and first_bytes[:1] == _START_BLOCK
        and first_bytes[1:4] in _HEADERS
        and _is_separator(first_bytes[4])
    )


def _is_separator(byte: int) -> bool:
    """A plausible field separator: printable, not a letter, digit or space (``|`` in practice)."""
    return 0x21 <= byte <= 0x7E and not chr(byte).isalnum()


@dataclass(slots=True)
class _Message:
    """The parts of one HL7 message this dissector reports."""

    number: int
    """1-based position in the stream."""
    msh: list[str]
    """MSH fields, indexed so that ``msh[n]`` is MSH-n (``msh[0]`` is unused)."""
    component: str
    repetition: str
    has_pid: bool = False
    acknowledgement: str | None = None
    devices: list[tuple[str, str]] = field(default_factory=list)  # (value, where)

    def composite(self, raw: str) -> str | None:
        """A field's components joined by ``^``, trailing empty components dropped; ``None`` if empty."""
        parts = [part.strip() for part in raw.split(self.component)]
        while parts and not parts[-1]:
            parts.pop()
        value = "^".join(parts)
        return value if value and len(value) <= _MAX_VALUE else None

    def msh_field(self, number: int) -> str | None:
        """MSH-``number`` as a composite value, or ``None`` when absent or empty."""
        return self.composite(self.msh[number]) if number < len(self.msh) else None


def _frames(data: bytes) -> Iterator[bytes]:
    """The MLLP frames of a stream prefix (the last one possibly truncated); unframed HL7 as one frame."""
    if data[:3] in _HEADERS:
        yield data.split(_END_BLOCK, 1)[0]
        return
    for block in data.split(_START_BLOCK)[1:]:
        yield block.split(_END_BLOCK, 1)[0]


def _decode(frame: bytes) -> str:
    """Text of a frame: UTF-8 when it is valid, otherwise Latin-1 (byte for byte, never fails)."""
    try:
        return frame.decode("utf-8")
    except UnicodeDecodeError:
        return frame.decode("latin-1")


def _start_message(segment: str, number: int) -> _Message | None:
    """A message from its MSH segment, or ``None`` if the separators are unusable."""
    if len(segment) < 4 or not _is_separator(ord(segment[3])) or not segment[3].isascii():
        return None
    fields = segment.split(segment[3])
    encoding = fields[1] if len(fields) > 1 else ""
    component = encoding[0] if encoding else "^"
    repetition = encoding[1] if len(encoding) > 1 else "~"
    if component == segment[3] or repetition in (segment[3], component):
        return None
    return _Message(number, ["", segment[3], *fields[1:]], component, repetition)


def _messages(data: bytes) -> Iterator[_Message]:
    """The messages of a stream prefix, in order, with their PID flag, MSA code and device identifiers."""
    number = 0
    current: _Message | None = None
    for frame in _frames(data):
        for segment in _decode(frame).replace("\r\n", "\r").replace("\n", "\r").split("\r"):
            name = segment[:3]
            if name == "MSH":
                if current is not None:
                    yield current
                number += 1
                current = _start_message(segment, number)
            elif current is not None and segment[3:4] == current.msh[1]:
                _add_segment(current, name, segment.split(current.msh[1]))
    if current is not None:
        yield current


def _add_segment(message: _Message, name: str, fields: list[str]) -> None:
    """Record what a non-MSH segment says (``fields[n]`` is field n)."""
    if name == "PID":
        message.has_pid = True
    elif name == "MSA" and len(fields) > 1:
        message.acknowledgement = message.composite(fields[1])
    for number, where in _DEVICE_FIELDS.get(name, ()):
        if number < len(fields):
            for repeat in fields[number].split(message.repetition):
                value = message.composite(repeat)
                if value is not None:
                    message.devices.append((value, where))


def _results(
    payload: Payload, message: _Message, seen: set[tuple[Endpoint, str, str]]
) -> Iterator[Observation | Finding]:
    """What one message proves about its sender and receiver (facts already in ``seen`` are left out)."""
    message_type = message.msh_field(9)
    label = message_type or "message"
    ack = f", MSA-1 {message.acknowledgement}" if message.acknowledgement else ""
    recorded = payload.recorded

    def observe(endpoint: Endpoint, kind: ObservationKind, value: str | None, where: str) -> Iterator[Observation]:
        if value is None or (endpoint, kind, value) in seen:
            return
        seen.add((endpoint, kind, value))
        if recorded is not None and recorded(endpoint, kind, value):
            return  # the consumer has it already: skip building the evidence
        detail = f"{where} (message {message.number} in stream, {label}{ack})"
        yield Observation(endpoint, kind, intern(value), payload.seen_at, payload.evidence(PROTOCOL, detail))

    sender, receiver = payload.source, payload.destination
    yield from observe(sender, ObservationKind.HL7_APPLICATION, message.msh_field(3), "MSH-3 sending application")
    yield from observe(sender, ObservationKind.HL7_FACILITY, message.msh_field(4), "MSH-4 sending facility")
    yield from observe(receiver, ObservationKind.HL7_APPLICATION, message.msh_field(5), "MSH-5 receiving application")
    yield from observe(receiver, ObservationKind.HL7_FACILITY, message.msh_field(6), "MSH-6 receiving facility")
    yield from observe(sender, ObservationKind.HL7_MESSAGE_TYPE, message_type, "MSH-9 message type")
    version = message.msh_field(12)
    yield from observe(sender, ObservationKind.HL7_VERSION, version and version.split("^")[0], "MSH-12 version")
    for value, where in message.devices:
        yield from observe(sender, ObservationKind.HL7_DEVICE_ID, value, where)
    if message.has_pid and not payload.tls:
        detail = f"HL7 {label} message with a PID segment (patient identification) sent without TLS"
        if (sender, FindingKind.PHI_CLEARTEXT, detail) in seen:
            return
        seen.add((sender, FindingKind.PHI_CLEARTEXT, detail))
        if recorded is not None and recorded(sender, FindingKind.PHI_CLEARTEXT, detail):
            return
        yield Finding(
            sender,
            FindingKind.PHI_CLEARTEXT,
            intern(detail),
            payload.seen_at,
            payload.evidence(PROTOCOL, f"PID segment in message {message.number} in stream"),
        )


def dissect(payload: Payload) -> Result:
    """Observations and findings from the HL7 v2 messages at the start of ``payload.data``.

    Repeated facts (the same application in every message) are reported once per payload, and the
    ``PHI_CLEARTEXT`` finding once per message type.
    """
    data = payload.data
    if not (data[:1] == _START_BLOCK or data[:3] in _HEADERS):
        return []
    results: list[Observation | Finding] = []
    seen: set[tuple[Endpoint, str, str]] = set()
    for message in _messages(data):
        results.extend(_results(payload, message, seen))
    return results


SPEC: Final = DissectorSpec(
    name=PROTOCOL,
    dissect=dissect,
    transport="tcp",
    ports=frozenset({2575, 6661}),
    heuristic=heuristic,
)
"""HL7 over MLLP on the registered port 2575 and the common 6661 and, by the MLLP heuristic, on any port."""
