"""The contract between the capture reader / flow table and the protocol dissectors.

The flow table (``discovery.flows``) hands each dissector a :class:`Payload`: the first application bytes of
one direction of a TCP stream (reassembled, up to a limit) or one UDP datagram (or one layer-2 frame for
LLDP/CDP).  A dissector returns the observations and findings it can prove from those bytes.  Dissectors are
pure functions: no I/O, no state between calls, never raise on malformed input (they return nothing instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from sys import intern

from wardwatch.domain.observations import Endpoint, Evidence, Finding, FindingKind, Observation, ObservationKind

__all__ = ["Dissector", "DissectorSpec", "Payload", "Result"]


@dataclass(slots=True)
class Payload:
    """Application bytes of one direction of one conversation, with who sent them to whom.

    Read-only by contract (dissectors never change it).  Not a frozen dataclass only because the flow table
    builds one per payload and a frozen one costs five times as much to construct.
    """

    source: Endpoint
    """The sender."""
    destination: Endpoint
    """The receiver."""
    transport: str
    """``tcp``, ``udp`` or ``l2`` (a raw frame: LLDP, CDP)."""
    source_port: int | None
    """Sender port (``None`` for ``l2``)."""
    destination_port: int | None
    """Receiver port."""
    from_client: bool
    """True when the sender opened the conversation (TCP SYN side; for UDP, the side with the higher port)."""
    data: bytes
    """The bytes: stream prefix (TCP), datagram (UDP) or frame after the Ethernet header (``l2``)."""
    seen_at: datetime
    """Timestamp of the first packet of these bytes."""
    file: str
    """Capture file name, for evidence."""
    packet: int
    """1-based number of the first packet of these bytes in the capture."""
    ethertype: int | None = None
    """EtherType or 802.3 length/SNAP type for ``l2`` payloads."""
    tls: bool = False
    """True when the flow table saw a TLS handshake on this conversation."""
    recorded: Callable[[Endpoint, ObservationKind | FindingKind, str], bool] | None = None
    """Set by the flow table: ``recorded(endpoint, kind, value)`` is True when the table already holds that
    observation (``value``) or finding (``value`` is the detail) and will drop a repeat (it counts it).  A
    dissector may then skip building the result (its evidence is never used); the output is the same."""

    def evidence(self, protocol: str, detail: str | None = None) -> Evidence:
        """Evidence pointing at this payload's first packet.

        ``detail`` is interned: the same few explanations recur in thousands of kept results.
        """
        return Evidence(self.file, f"packet {self.packet}", protocol, intern(detail) if detail else detail)

    @property
    def client(self) -> Endpoint:
        """The endpoint that opened the conversation."""
        return self.source if self.from_client else self.destination

    @property
    def server(self) -> Endpoint:
        """The endpoint that answered."""
        return self.destination if self.from_client else self.source


Result = Iterable[Observation | Finding]
"""What a dissector returns."""

Dissector = Callable[[Payload], Result]
"""A protocol dissector."""


@dataclass(frozen=True, slots=True)
class DissectorSpec:
    """How the flow table chooses a dissector for a payload."""

    name: str
    """Protocol name (``dhcp``, ``dicom``...), also used in evidence."""
    dissect: Dissector
    """The function."""
    transport: str
    """``tcp``, ``udp`` or ``l2``."""
    ports: frozenset[int] = frozenset()
    """Well-known ports (either side); empty for heuristic-only dissectors."""
    heuristic: Callable[[bytes], bool] | None = None
    """Recognises the protocol from the first bytes, whatever the port (DICOM and HL7 run on any port)."""
    ethertypes: frozenset[int] = frozenset()
    """For ``l2``: EtherTypes (LLDP 0x88CC) or SNAP protocol ids (CDP 0x2000)."""
