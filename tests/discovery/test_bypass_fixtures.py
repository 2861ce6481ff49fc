"""The reader's bypass (one combined header unpack, one dictionary lookup per packet) on real captures: the same
result as feeding every packet to the flow table, in either pcap byte order."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from wardwatch.discovery import dicom, hl7, http, smb, tls
from wardwatch.discovery.flows import CaptureResult, FlowConfig, FlowTable
from wardwatch.ingest.pcap import PcapReader

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pcap"
# The pcap (not pcapng: the bypass is the pcap reader's) fixtures, all little-endian with microseconds.
CAPTURES = sorted(p.name for p in FIXTURES.glob("*.pcap") if p.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1")
SPECS = [m.SPEC for m in (dicom, hl7, http, smb, tls)]


def _run(path: Path, config: FlowConfig, bypass: bool) -> tuple[CaptureResult, int]:
    table = FlowTable(SPECS, "capture.pcap", config)
    reader = PcapReader(path, None, table.enable_bypass() if bypass else None)
    table.stats.read = reader.stats
    yielded = 0
    for packet in reader:
        yielded += 1
        table.add(packet)
    return table.finish(), yielded


def _big_endian(data: bytes) -> bytes:
    """The same little-endian pcap written in big-endian byte order (as a big-endian host's tcpdump does)."""
    magic, major, minor, zone, sigfigs, snap, link = struct.unpack_from("<IHHiIII", data)
    out = [struct.pack(">IHHiIII", magic, major, minor, zone, sigfigs, snap, link)]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack_from("<IIII", data, off)
        out.append(struct.pack(">IIII", sec, frac, incl, orig) + data[off + 16 : off + 16 + incl])
        off += 16 + incl
    return b"".join(out)


@pytest.mark.parametrize("name", CAPTURES)
@pytest.mark.parametrize("config", [FlowConfig(), FlowConfig(stream_cap=600, sweep_interval=0.01, tcp_idle=0.05)])
def test_bypass_same_result_on_fixture_captures(tmp_path: Path, name: str, config: FlowConfig) -> None:
    path = FIXTURES / name
    slow, slow_yielded = _run(path, config, bypass=False)
    fast, fast_yielded = _run(path, config, bypass=True)
    swapped_path = tmp_path / "big-endian.pcap"
    swapped_path.write_bytes(_big_endian(path.read_bytes()))
    swapped, swapped_yielded = _run(swapped_path, config, bypass=True)
    assert slow_yielded == slow.stats.read.packets
    for result in (fast, swapped):
        assert result.observations == slow.observations
        assert result.findings == slow.findings
        assert result.conversations == slow.conversations
        assert result.stats == slow.stats
    assert swapped_yielded == fast_yielded


def test_bypass_takes_packets_on_fixture_captures() -> None:
    assert len(CAPTURES) >= 6
    # The equality above is only worth something if the bypass did take packets off the flow table's hands.
    taken = 0
    for name in CAPTURES:
        fast, yielded = _run(FIXTURES / name, FlowConfig(), bypass=True)
        taken += fast.stats.read.packets - yielded
    assert taken > 100
