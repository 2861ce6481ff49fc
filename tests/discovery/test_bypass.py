"""Shortcuts that must change nothing: the reader's TCP bypass (packets only counted, in-order prefix segments
appended by the reader) gives exactly what feeding every packet to the flow table gives, and dissectors told
that a fact is already recorded (``Payload.recorded``) skip building exactly that fact."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.discovery._tcp_streams import streams
from wardwatch.discovery import dicom, hl7
from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.discovery.flows import CaptureResult, FlowConfig, FlowTable
from wardwatch.domain.observations import Observation
from wardwatch.ingest.pcap import PcapReader

from .test_flows import Recorder, frame, pcap, tcp, udp


def _mac(n: int) -> bytes:
    return bytes((2, 0, 0, 0, n >> 8 & 255, n & 255))


def _ip(n: int) -> bytes:
    return bytes((10, 0, n >> 8 & 255, n & 255))


class _Flow:
    """The frames of one TCP conversation, in order."""

    def __init__(self, n: int) -> None:
        self.c, self.s = 10 + n, 1000 + n % 3
        self.cport, self.sport = 20000 + n, (104, 2575, 80)[n % 3]
        self.seq = {True: 1000 * n, False: 500_000 + 1000 * n}
        self.frames: list[bytes] = []

    def seg(self, fwd: bool, flags: int, data: bytes = b"", seq_delta: int = 0) -> None:
        src, dst = (self.c, self.s) if fwd else (self.s, self.c)
        sport, dport = (self.cport, self.sport) if fwd else (self.sport, self.cport)
        l4 = tcp(sport, dport, (self.seq[fwd] + seq_delta) & 0xFFFFFFFF, flags, data)
        self.frames.append(frame(_mac(src), _mac(dst), _ip(src), _ip(dst), 6, l4))

    def advance(self, fwd: bool, size: int) -> None:
        self.seq[fwd] += size


def _capture(seed: int) -> bytes:
    """Interleaved TCP flows with multi-segment prefixes, holes, retransmissions, FIN/RST; some UDP."""
    rng = random.Random(seed)
    flows = []
    for n in range(40):
        f = _Flow(n)
        f.seg(True, 0x02)
        f.advance(True, 1)
        f.seg(False, 0x12)
        f.advance(False, 1)
        f.seg(True, 0x10)
        request = bytes([n]) * rng.randrange(1, 3000)
        f.seg(True, 0x18, request)
        f.advance(True, len(request))
        bulk_fwd = rng.random() < 0.5
        for i in range(rng.randrange(0, 14)):
            size = rng.choice((1, 500, 1448))
            data = bytes([i]) * size
            kind = rng.random()
            if kind < 0.1:  # retransmission of the previous bytes
                f.seg(bulk_fwd, 0x10, data, -size)
            elif kind < 0.2:  # a hole, filled right after
                f.seg(bulk_fwd, 0x10, data, size)
                f.seg(bulk_fwd, 0x10, data)
                f.advance(bulk_fwd, 2 * size)
                continue
            else:
                f.seg(bulk_fwd, 0x10, data)
            f.advance(bulk_fwd, size)
            if i % 2:
                f.seg(not bulk_fwd, 0x10)
        if rng.random() < 0.2:
            f.seg(True, 0x04)
        else:
            f.seg(True, 0x11)
            f.seg(False, 0x11)
            f.seg(True, 0x10)
        flows.append(iter(f.frames))
    frames = []
    while flows:
        i = rng.randrange(len(flows))
        step = next(flows[i], None)
        if step is None:
            flows.pop(i)
            continue
        frames.append(step)
        if rng.random() < 0.05:
            frames.append(frame(_mac(1), _mac(2), _ip(1), _ip(2), 17, udp(5353, 5353, b"x")))
    return pcap(frames, step=0.05)


def _run(path: Path, config: FlowConfig, bypass: bool) -> tuple[CaptureResult, list[tuple[int, bytes]], int]:
    recorders = [Recorder(name) for name in ("dicom", "hl7", "http")]
    specs = [
        DissectorSpec(r.name, r, "tcp", ports=frozenset({port}))
        for r, port in zip(recorders, (104, 2575, 80), strict=True)
    ]
    table = FlowTable(specs, path.name, config)
    reader = PcapReader(path, None, table.enable_bypass() if bypass else None)
    table.stats.read = reader.stats
    yielded = 0
    for packet in reader:
        yielded += 1
        table.add(packet)
    result = table.finish()
    handed = sorted((p.packet, p.data) for r in recorders for p in r.payloads)
    return result, handed, yielded


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    "config",
    [FlowConfig(), FlowConfig(stream_cap=3000, sweep_interval=0.5, tcp_idle=3.0, closed_linger=0.2, max_flows=8)],
)
def test_bypass_changes_nothing(tmp_path: Path, seed: int, config: FlowConfig) -> None:
    path = tmp_path / "mix.pcap"
    path.write_bytes(_capture(seed))
    fast, fast_payloads, fast_yielded = _run(path, config, bypass=True)
    slow, slow_payloads, slow_yielded = _run(path, config, bypass=False)
    assert fast_payloads == slow_payloads
    assert fast.observations == slow.observations
    assert fast.findings == slow.findings
    assert fast.conversations == slow.conversations
    assert fast.stats == slow.stats
    # ...while the reader did take packets off the table's hands (counted and appended ones).
    assert fast_yielded < slow_yielded == fast.stats.read.packets


def _check_recorded(dissect: Callable[[Payload], Result], payload: Payload) -> None:
    full = list(dissect(payload))
    keys = [(r.endpoint, r.kind, r.value if isinstance(r, Observation) else r.detail) for r in full]
    # Nothing recorded yet: the same results as without the callback; every observation was asked about.
    asked: set[tuple[object, ...]] = set()
    fresh = dataclasses.replace(payload, recorded=lambda e, k, v: asked.add((e, k, v)) is not None)
    assert list(dissect(fresh)) == full
    assert {k for r, k in zip(full, keys, strict=True) if isinstance(r, Observation)} <= asked <= set(keys)
    # Everything recorded: only what was never asked about is built.
    everything = dataclasses.replace(payload, recorded=lambda e, k, v: True)
    assert list(dissect(everything)) == [r for r, k in zip(full, keys, strict=True) if k not in asked]
    # Half of the facts recorded: exactly the others are built, in order.
    known = set(keys[::2]) & asked
    half = dataclasses.replace(payload, recorded=lambda e, k, v: (e, k, v) in known)
    assert list(dissect(half)) == [r for r, k in zip(full, keys, strict=True) if k not in known]


@pytest.mark.parametrize(("module", "capture"), [("hl7", "hl7_v25_oru.pcap"), ("dicom", "dicom_cleartext.pcap")])
def test_recorded_facts_are_asked_about_and_not_built(module: str, capture: str) -> None:
    dissect = {"hl7": hl7.dissect, "dicom": dicom.dissect}[module]
    for payload in streams(capture):
        if list(dissect(payload)):
            _check_recorded(dissect, payload)
