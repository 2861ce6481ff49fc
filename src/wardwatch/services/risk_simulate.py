"""What-if simulation: score today's inputs and the scenario's changed copies side by side; nothing is written.

The scenario file format is documented in :mod:`wardwatch.domain.risk_scenario`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from wardwatch.domain.risk import PRIORITY_RANK, DeviceRisk
from wardwatch.domain.risk_scenario import Scenario, ScenarioError, apply_scenario, scenario_from_mapping
from wardwatch.services.devices import DeviceNotFound, find_device_id
from wardwatch.services.network_exposure import exposure_source
from wardwatch.services.risk import pause_gc, score_inputs, scorer
from wardwatch.services.risk_inputs import ExposureSource, RiskInputs, load_inputs
from wardwatch.services.risk_policy import load_policy
from wardwatch.store.database import ensure_ready

__all__ = ["ScenarioFileError", "Simulation", "load_scenario", "resolve_devices", "simulate", "simulate_scenario"]


class ScenarioFileError(LookupError):
    """A scenario file cannot be read or used; the message names the file and the change."""


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario YAML file; :class:`ScenarioFileError` names the file and the problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ScenarioFileError(f"{path}: cannot read the scenario ({e.strerror})") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ScenarioFileError(f"{path}:{where} is not valid YAML ({getattr(e, 'problem', e)})") from e
    try:
        return scenario_from_mapping(data, load_policy().controls)
    except ScenarioError as e:
        raise ScenarioFileError(f"{path}: {e}") from e


@dataclass(frozen=True, slots=True)
class Simulation:
    """Before and after, per changed device and overall."""

    scenario: str
    notes: tuple[str, ...]
    before: dict[int, DeviceRisk]
    after: dict[int, DeviceRisk]
    names: dict[int, str]

    def changed(self) -> list[tuple[DeviceRisk, DeviceRisk]]:
        """Devices whose score, level or priority changed, largest drop first."""
        pairs = [(self.before[i], self.after[i]) for i in self.before]
        moved = [(b, a) for b, a in pairs if (b.score, b.level, b.ssvc) != (a.score, a.level, a.ssvc)]
        return sorted(moved, key=lambda p: (p[1].score - p[0].score, p[0].device_id))

    def overall(self) -> dict[str, Any]:
        """Totals before and after: mean and max score, devices per level and per SSVC priority."""

        def summary(risks: Sequence[DeviceRisk]) -> dict[str, Any]:
            n = len(risks) or 1
            return {
                "devices": len(risks),
                "mean_score": round(sum(r.score for r in risks) / n, 1),
                "max_score": max((r.score for r in risks), default=0.0),
                "levels": dict(Counter(r.level for r in risks)),
                "priorities": dict(sorted(Counter(r.ssvc.value for r in risks).items())),
            }

        return {"before": summary(list(self.before.values())), "after": summary(list(self.after.values()))}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""

        def side(r: DeviceRisk) -> dict[str, Any]:
            return {"score": r.score, "level": r.level, "ssvc": r.ssvc.value, "summary": r.explanation["summary"]}

        return {
            "scenario": self.scenario,
            "changes": list(self.notes),
            "overall": self.overall(),
            "devices": [
                {
                    "device": {"id": b.device_id, "name": self.names.get(b.device_id)},
                    "before": side(b),
                    "after": side(a),
                    "score_change": round(a.score - b.score, 1),
                    "priority_change": PRIORITY_RANK[a.ssvc] - PRIORITY_RANK[b.ssvc],
                }  # fmt: skip
                for b, a in self.changed()
            ],
        }


def _by_device(pairs: Sequence[tuple[int, DeviceRisk]]) -> dict[int, DeviceRisk]:
    return {i: r if r.device_id == i else replace(r, device_id=i) for i, r in pairs}


def simulate(
    engine: Engine,
    path: Path,
    *,
    today: date | None = None,
    exposure: ExposureSource | None = None,
) -> Simulation:
    """Score every device today and under the scenario in ``path``; read-only (one read transaction)."""
    scenario = load_scenario(path)
    ensure_ready(engine)
    try:
        scenario = resolve_devices(engine, scenario)
    except DeviceNotFound as e:
        raise ScenarioFileError(f"{path}: {e.args[0]}") from e
    return simulate_scenario(engine, scenario, today=today, exposure=exposure)


def resolve_devices(engine: Engine, scenario: Scenario) -> Scenario:
    """The scenario with each ``device`` selector given as a reference (asset tag, serial, MAC, IP) turned into
    the device's id, by the same lookup as every other command; :class:`DeviceNotFound` when one matches none."""
    changes = tuple(
        replace(c, selector={**c.selector, "device": find_device_id(engine, ref)})
        if isinstance(ref := c.selector.get("device"), str)
        else c
        for c in scenario.changes
    )
    return replace(scenario, changes=changes)


def simulate_scenario(
    engine: Engine,
    scenario: Scenario,
    *,
    device_ids: Sequence[int] | None = None,
    today: date | None = None,
    exposure: ExposureSource | None = None,
) -> Simulation:
    """Score the devices (all, or ``device_ids``) today and under ``scenario``; nothing is stored."""
    day = today or datetime.now(UTC).date()
    with pause_gc():
        return _simulate(engine, scenario, day, exposure or exposure_source(engine), device_ids)


def _simulate(
    engine: Engine, scenario: Scenario, day: date, exposure: ExposureSource, device_ids: Sequence[int] | None
) -> Simulation:
    with engine.connect() as connection:
        inputs = load_inputs(connection, exposure, device_ids)
    risk_scorer = scorer(day)
    before = _by_device(score_inputs(inputs, risk_scorer))
    devices, findings, acceptances, notes = apply_scenario(scenario, inputs.devices, inputs.findings,
                                                           inputs.acceptances, day)  # fmt: skip
    after = _by_device(score_inputs(RiskInputs(devices, findings, acceptances), risk_scorer))
    names = {d.id: " ".join(x for x in (d.manufacturer, d.model) if x) or d.name for d in inputs.devices}
    return Simulation(scenario.name, tuple(notes), before, after, names)
