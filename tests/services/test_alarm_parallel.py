"""Verification on several processes gives exactly the verdicts of one process."""

from __future__ import annotations

from wardwatch.domain.alarm_verify import Verifier
from wardwatch.services.alarm_parallel import verify_parallel
from wardwatch.simulate._alarms import bench_topology


def test_parallel_equals_serial() -> None:
    topology = bench_topology(nodes=1200, links=4000, groups=120, seed=3)
    serial = Verifier(topology).verify(1)
    assert len(serial.results) >= 400  # enough flows for the worker processes to be used
    parallel = verify_parallel(topology, 1, workers=2)
    assert parallel.results == serial.results
    assert parallel.single_points_of_failure == serial.single_points_of_failure
    assert parallel.searches == serial.searches
    assert parallel.failing  # the comparison covers failing verdicts, not only passing ones
