"""The worm simulation's parameters, what-ifs and results, and the summary of a run by zone, unit, criticality and
clinical function (split from :mod:`wardwatch.domain.worm`, which runs the simulation and re-exports these names).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from wardwatch.domain.netmodel import HostFacts

__all__ = [
    "CLINICAL_FUNCTIONS",
    "FunctionImpact",
    "GroupImpact",
    "HostRow",
    "Mitigation",
    "StepResult",
    "WormParameters",
    "WormResult",
    "summarize",
]

#: Device type (``device_types.json`` slug) -> the clinical function it serves.  A function "stops" when at least
#: one of its devices falls.
CLINICAL_FUNCTIONS: Mapping[str, str] = {
    **dict.fromkeys(
        ("ct-scanner", "mri-scanner", "x-ray", "mammography", "ultrasound", "nuclear-medicine", "pacs-server",
         "imaging-workstation"),
        "imaging",
    ),
    **dict.fromkeys(("infusion-pump", "pca-pump", "syringe-pump", "insulin-pump"), "infusion"),
    **dict.fromkeys(("patient-monitor", "central-station", "telemetry-transmitter", "pulse-oximeter"), "monitoring"),
    **dict.fromkeys(("lab-analyzer", "blood-gas-analyzer"), "lab"),
    "medication-dispensing": "pharmacy",
    "ventilator": "ventilation",
    "anesthesia-machine": "anaesthesia",
    "dialysis-machine": "dialysis",
    "radiation-therapy": "radiotherapy",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class WormParameters:
    """How the worm behaves (defaults from METHODS.md 6.2)."""

    steps: int = 10
    """Most steps to run."""
    step_minutes: float = 5.0
    """Minutes per step (an assumption: LAN scanning is seconds to minutes)."""
    p_local: float = 1.0
    """Chance per step that one infected address infects a reachable vulnerable host in its own /24."""
    p_random: float = 0.05
    """Chance per step that one infected address infects a reachable vulnerable host outside its /24."""
    seed: int = 0
    """Seed of the random draws."""
    ports: tuple[int, ...] = (445, 139)
    """TCP ports the worm exploits (445; some reports also 139)."""
    assume_smb_on_windows: bool = True
    """A Windows host with no services seen is assumed to serve the worm ports."""

    def __post_init__(self) -> None:
        if self.steps < 0 or self.step_minutes < 0:
            raise ValueError("steps and step_minutes must not be negative")
        if not (0.0 <= self.p_local <= 1.0 and 0.0 <= self.p_random <= 1.0):
            raise ValueError("p_local and p_random are probabilities between 0 and 1")
        if not self.ports:
            raise ValueError("the worm needs at least one port")


@dataclass(frozen=True, slots=True)
class Mitigation:
    """A what-if to recompute the spread with (METHODS.md 6.2: block 445 at zone boundaries, disable SMBv1, patch)."""

    block_445_between_zones: bool = False
    """Deny the worm ports (445 and the others of :attr:`WormParameters.ports`) between different zones, whatever
    the rules say (an address in no zone is in a zone of its own)."""
    disable_smbv1: frozenset[str] | Literal["all"] = frozenset()
    """Hosts (any of their addresses) whose SMBv1 server is turned off, or ``"all"``: they are no longer
    vulnerable (EternalBlue needs SMBv1)."""
    patched: frozenset[str] = frozenset()
    """Hosts (any of their addresses) with MS17-010 installed: no longer vulnerable."""


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step of the spread."""

    step: int
    minutes: float
    infected: tuple[str, ...]
    """Hosts (their address) that fell at this step, in address order."""
    cumulative: int
    """Hosts infected so far, seeds included."""


@dataclass(frozen=True, slots=True)
class GroupImpact:
    """Hosts of one zone, unit or criticality (``None`` = not known), and how many are vulnerable and fell."""

    name: str | None
    hosts: int
    vulnerable: int
    infected: int


@dataclass(frozen=True, slots=True)
class FunctionImpact:
    """One clinical function: its devices, how many fell and when the first one fell."""

    function: str
    devices: int
    infected: int
    first_step: int | None
    """Step at which its first device fell (``None`` when none did)."""
    first_minutes: float | None

    @property
    def stopped(self) -> bool:
        """At least one device of the function fell."""
        return self.infected > 0

    @property
    def fraction(self) -> float:
        """Share of the function's devices that fell."""
        return self.infected / self.devices if self.devices else 0.0


@dataclass(frozen=True, slots=True)
class WormResult:
    """The spread from one seed set under one set of parameters and what-ifs."""

    seeds: tuple[str, ...]
    parameters: WormParameters
    mitigation: Mitigation
    steps: tuple[StepResult, ...]
    """Step 0 (the seeds) first."""
    infected_at: Mapping[str, int]
    """Host address -> step at which it fell."""
    vulnerable: int
    """Vulnerable hosts in the input."""
    saturated: bool
    """The run ended because no vulnerable host was reachable any more (more steps would change nothing)."""
    by_zone: tuple[GroupImpact, ...] = ()
    by_unit: tuple[GroupImpact, ...] = ()
    by_criticality: tuple[GroupImpact, ...] = ()
    functions: tuple[FunctionImpact, ...] = ()
    """Every clinical function with at least one device in the input, by name."""

    @property
    def infected(self) -> frozenset[str]:
        """Every host that fell, seeds included."""
        return frozenset(self.infected_at)

    @property
    def functions_stopped(self) -> tuple[FunctionImpact, ...]:
        """Clinical functions with at least one device down."""
        return tuple(f for f in self.functions if f.stopped)


HostRow = tuple[HostFacts, str | None, bool]
"""(facts, zone of its first address, vulnerable) of one host of a run."""


def summarize(
    hosts: Sequence[HostRow],
    steps: Sequence[Sequence[int]],
    infected_at: Mapping[int, int],
    saturated: bool,
    params: WormParameters,
    what_if: Mitigation,
    functions: Mapping[str, str],
) -> WormResult:
    """The result of a run: ``steps`` holds the indexes (into ``hosts``) of the hosts that fell at each step, in
    address order, the seeds first; ``infected_at`` maps a host index to its step."""
    step_results: list[StepResult] = []
    cumulative = 0
    for number, fallen in enumerate(steps):
        cumulative += len(fallen)
        addresses = tuple(hosts[i][0].address.strip() for i in fallen)
        step_results.append(StepResult(number, number * params.step_minutes, addresses, cumulative))
    groups: dict[str, dict[str | None, list[int]]] = {"zone": {}, "unit": {}, "criticality": {}}
    func: dict[str, list[int]] = {}
    first: dict[str, int] = {}
    for i, (facts, zone, vulnerable) in enumerate(hosts):
        hit = i in infected_at
        values = {"zone": zone, "unit": facts.unit, "criticality": facts.criticality}
        for kind, value in values.items():
            row = groups[kind].setdefault(value, [0, 0, 0])
            row[0] += 1
            row[1] += vulnerable
            row[2] += hit
        name = functions.get(facts.device_type or "")
        if name is not None:
            counts = func.setdefault(name, [0, 0])
            counts[0] += 1
            counts[1] += hit
            if hit:
                first[name] = min(first.get(name, infected_at[i]), infected_at[i])

    def impacts(kind: str) -> tuple[GroupImpact, ...]:
        rows = sorted(groups[kind].items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        return tuple(GroupImpact(name, *row) for name, row in rows)

    return WormResult(
        seeds=tuple(hosts[i][0].address.strip() for i in steps[0]),
        parameters=params,
        mitigation=what_if,
        steps=tuple(step_results),
        infected_at={hosts[i][0].address.strip(): s for i, s in sorted(infected_at.items())},
        vulnerable=sum(1 for _, _, vulnerable in hosts if vulnerable),
        saturated=saturated,
        by_zone=impacts("zone"),
        by_unit=impacts("unit"),
        by_criticality=impacts("criticality"),
        functions=tuple(
            FunctionImpact(
                name, devices, hit, first.get(name), first[name] * params.step_minutes if name in first else None
            )
            for name, (devices, hit) in sorted(func.items())
        ),
    )
