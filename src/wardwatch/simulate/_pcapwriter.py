"""Write frames to a classic pcap file (libpcap 2.4, Ethernet link type, microsecond timestamps)."""

from __future__ import annotations

import struct
from types import TracebackType
from typing import BinaryIO, Self

from wardwatch.simulate._packets import Frame

_MAGIC = 0xA1B2C3D4
_SNAPLEN = 65_535
_LINKTYPE_ETHERNET = 1


class PcapWriter:
    """Stream frames, in the order given, to a little-endian classic pcap file.

    Use as a context manager; frames must already be in time order (readers expect it).
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._last = 0
        self.count = 0
        """Frames written so far."""
        handle.write(struct.pack("<IHHiIII", _MAGIC, 2, 4, 0, 0, _SNAPLEN, _LINKTYPE_ETHERNET))

    def write(self, frame: Frame) -> None:
        """Append one frame; raises ``ValueError`` if it is older than the previous one."""
        ts, data = frame
        if ts < self._last:
            msg = f"frame at {ts} us written after one at {self._last} us"
            raise ValueError(msg)
        self._last = ts
        seconds, micros = divmod(ts, 1_000_000)
        self._handle.write(struct.pack("<IIII", seconds, micros, len(data), len(data)))
        self._handle.write(data)
        self.count += 1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._handle.flush()
