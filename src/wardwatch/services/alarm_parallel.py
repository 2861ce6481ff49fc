"""Alarm verification on every core: flows are split by unit (each unit's flows share their search trees) among
worker processes, each holding its own copy of the topology; the verdicts are assembled exactly as a single
process would (:func:`wardwatch.domain.alarm_verify.assemble`).

Used only above :data:`MIN_FLOWS` flows (a health system's topology): below it, starting workers costs more than it
saves.  Workers are started with ``forkserver`` (never ``fork``: the web server has threads).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor

from wardwatch.domain.alarm_model import AlarmSource, AlarmTopology, Budget
from wardwatch.domain.alarm_verify import FlowResult, Verification, Verifier, assemble, flows_of

__all__ = ["MIN_FLOWS", "verify_parallel"]

MIN_FLOWS = 400
"""Fewer flows than this are verified in the calling process."""

_WORKER: dict[str, object] = {}


def _init(topology: AlarmTopology) -> None:
    _WORKER["verifier"] = Verifier(topology)


def _run(
    chunk: Sequence[tuple[AlarmSource, Budget]], k: int
) -> tuple[list[tuple[FlowResult, Mapping[str, float]]], int]:
    verifier = _WORKER["verifier"]
    assert isinstance(verifier, Verifier)
    start = verifier.searches
    outcomes: list[tuple[FlowResult, Mapping[str, float]]] = [verifier.verify_flow(s, b, k) for s, b in chunk]
    return outcomes, verifier.searches - start


def verify_parallel(
    topology: AlarmTopology, k: int, budgets: Sequence[Budget] | None = None, *, workers: int | None = None
) -> Verification:
    """Verify every flow of ``topology`` with ``workers`` processes (default: the usable cores)."""
    flows = flows_of(topology, budgets)
    count = workers or len(os.sched_getaffinity(0))
    if count < 2 or len(flows) < MIN_FLOWS:
        return Verifier(topology).verify(k, budgets)
    by_unit: dict[str, list[int]] = {}
    for index, (source, _budget) in enumerate(flows):
        by_unit.setdefault(source.unit, []).append(index)
    # Several chunks per worker, largest first, so one slow unit does not leave a core idle at the end.
    chunks: list[list[int]] = [[] for _ in range(count * 4)]
    for indexes in sorted(by_unit.values(), key=len, reverse=True):
        min(chunks, key=len).extend(indexes)
    chunks = [c for c in chunks if c]
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=_init, initargs=(topology,)) as pool:
        done = list(pool.map(_run, [[flows[i] for i in c] for c in chunks], [k] * len(chunks)))
    outcomes: list[tuple[FlowResult, Mapping[str, float]] | None] = [None] * len(flows)
    for chunk, (results, _searches) in zip(chunks, done, strict=True):
        for index, outcome in zip(chunk, results, strict=True):
            outcomes[index] = outcome
    complete = [outcome for outcome in outcomes if outcome is not None]
    return assemble(topology, k, flows, complete, sum(searches for _, searches in done))
