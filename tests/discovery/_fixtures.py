"""Load the real payload fixtures (``tests/fixtures/payloads``) as :class:`Payload` objects, and fuzz helpers."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wardwatch.discovery._base import Dissector, Payload
from wardwatch.domain.observations import Endpoint, Finding, Observation

FIXTURES = Path(__file__).parent.parent / "fixtures" / "payloads"


def load(name: str) -> Payload:
    """The payload saved as ``<name>.bin`` with its JSON sidecar."""
    meta = json.loads((FIXTURES / f"{name}.json").read_text())
    return Payload(
        source=Endpoint(mac=meta["src_mac"], ip=meta["src_ip"]),
        destination=Endpoint(mac=meta["dst_mac"], ip=meta["dst_ip"]),
        transport=meta["transport"],
        source_port=meta["src_port"],
        destination_port=meta["dst_port"],
        from_client=meta["from_client"],
        data=(FIXTURES / f"{name}.bin").read_bytes(),
        seen_at=datetime.fromisoformat(meta["timestamp"]),
        file=meta["origin"],
        packet=meta["packet"],
        ethertype=meta["ethertype"],
    )


def synthetic(data: bytes, sport: int | None, dport: int | None, *, from_client: bool = True, **kw: object) -> Payload:
    """A payload around hand-built bytes (labelled ``synthetic`` in its evidence file name)."""
    return Payload(
        source=Endpoint(mac=str(kw.get("src_mac", "02:00:00:00:00:01")), ip=kw.get("src_ip", "192.0.2.1")),  # type: ignore[arg-type]
        destination=Endpoint(mac="02:00:00:00:00:02", ip=kw.get("dst_ip", "192.0.2.2")),  # type: ignore[arg-type]
        transport=str(kw.get("transport", "udp")),
        source_port=sport,
        destination_port=dport,
        from_client=from_client,
        data=data,
        seen_at=datetime.fromisoformat("2024-01-01T00:00:00+00:00"),
        file="synthetic",
        packet=1,
        ethertype=kw.get("ethertype"),  # type: ignore[arg-type]
    )


def run(dissect: Dissector, payload: Payload) -> list[Observation | Finding]:
    """The dissector's results as a list."""
    return list(dissect(payload))


def values(results: list[Observation | Finding], kind: object) -> list[str]:
    """Values (observations) or details (findings) of one kind, in order."""
    return [r.value if isinstance(r, Observation) else r.detail for r in results if r.kind == kind]


def assert_never_raises(dissect: Dissector, seeds: list[Payload]) -> None:
    """Random bytes, and truncations / single-byte corruptions of real payloads, never raise or hang."""

    @settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
    @given(
        index=st.integers(min_value=0, max_value=len(seeds) - 1),
        cut=st.integers(min_value=0, max_value=9000),
        flip=st.tuples(st.integers(min_value=0, max_value=9000), st.integers(min_value=0, max_value=255)),
        noise=st.binary(max_size=600),
        mode=st.sampled_from(["truncate", "corrupt", "random", "append"]),
    )
    def check(index: int, cut: int, flip: tuple[int, int], noise: bytes, mode: str) -> None:
        seed = seeds[index]
        data = seed.data
        if mode == "truncate":
            data = data[: cut % (len(data) + 1)]
        elif mode == "corrupt" and data:
            pos = flip[0] % len(data)
            data = data[:pos] + bytes([flip[1]]) + data[pos + 1 :]
        elif mode == "random":
            data = noise
        else:
            data = data[: cut % (len(data) + 1)] + noise
        fuzzed = Payload(
            seed.source,
            seed.destination,
            seed.transport,
            seed.source_port,
            seed.destination_port,
            seed.from_client,
            data,
            seed.seen_at,
            seed.file,
            seed.packet,
            seed.ethertype,
        )
        for result in dissect(fuzzed):
            assert isinstance(result, Observation | Finding)

    check()
