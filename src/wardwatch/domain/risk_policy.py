"""The device-risk policy as a value: weights, thresholds and level names, under a version.

Pure: :func:`policy_from_mapping` checks a plain mapping (the parsed ``data/risk/policy-<version>.yaml``, which
:mod:`wardwatch.services.risk_policy` reads) and returns a frozen :class:`RiskPolicy`.  Every problem is one
:class:`RiskPolicyError` naming the field and what is allowed.

Errors::

    RiskPolicyError (ValueError)   a field is missing, of the wrong type, or out of range
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wardwatch.domain.ssvc import (
    Exploitation,
    HumanImpactTable,
    MissionImpact,
    SafetyImpact,
    SsvcPolicy,
    SystemExposure,
)

__all__ = ["Control", "Level", "RiskPolicy", "RiskPolicyError", "policy_from_mapping"]

_LEVELS = range(1, 6)


class RiskPolicyError(ValueError):
    """The policy data is unusable; the message names the field."""


@dataclass(frozen=True, slots=True)
class Control:
    """A compensating control the policy knows."""

    name: str
    """Key, e.g. ``network-segmentation``."""
    reduction: int
    """Likelihood levels it removes (before the policy's cap)."""
    text: str
    """What it means, in words."""


@dataclass(frozen=True, slots=True)
class Level:
    """A named cell value of the risk matrix."""

    name: str
    """e.g. ``critical``."""
    rank: int
    """Higher is worse."""
    acceptability: str
    """ISO 14971 wording: acceptable, investigate (ALARP), unacceptable."""


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """All weights and thresholds of the device-risk method (see ``data/risk/policy-2026.1.yaml``)."""

    version: str
    ssvc: SsvcPolicy
    likelihood_names: Mapping[int, str]
    exploitation_levels: Mapping[Exploitation, int]
    epss_bands: tuple[tuple[float, int], ...]
    """(minimum EPSS, level), highest minimum first."""
    cvss_network_unauthenticated: int
    weaknesses: Mapping[str, int]
    baseline: int
    exposure_adjustment: Mapping[SystemExposure, int]
    end_of_support_adjustment: int
    unsupported_os: tuple[str, ...]
    max_control_reduction: int
    controls: Mapping[str, Control]
    severity_names: Mapping[int, str]
    criticality_severity: Mapping[str, int]
    criticality_unknown: int
    device_type_severity: Mapping[str, int]
    phi_handles: int
    phi_cleartext: int
    phi_volume: int
    phi_volume_types: frozenset[str]
    mission_severity: Mapping[MissionImpact, int]
    units_depending: Mapping[str, int]
    ssvc_safety: Mapping[int, SafetyImpact]
    matrix: tuple[tuple[str, ...], ...]
    """``matrix[severity - 1][likelihood - 1]`` is a level name."""
    levels: Mapping[str, Level]
    likelihood_exponent: float
    severity_exponent: float
    note: str = ""

    def cell(self, severity: int, likelihood: int) -> Level:
        """The matrix level of a severity and a likelihood (both 1..5)."""
        return self.levels[self.matrix[severity - 1][likelihood - 1]]


def _get(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise RiskPolicyError(f"risk policy: field {path!r} is missing")
        node = node[part]
    return node


def _level(value: Any, path: str, low: int = 1, high: int = 5) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RiskPolicyError(f"risk policy: {path} = {value!r} must be a whole number from {low} to {high}")
    return value


def _int(value: Any, path: str) -> int:
    return _level(value, path, -5, 5)


def _mapping(data: Mapping[str, Any], path: str) -> Mapping[Any, Any]:
    value = _get(data, path)
    if not isinstance(value, Mapping):
        raise RiskPolicyError(f"risk policy: {path} must be a mapping")
    return value


def _enum_map(data: Mapping[str, Any], path: str, enum: Any, check: Any = _level) -> dict[Any, int]:
    raw = _mapping(data, path)
    out: dict[Any, int] = {}
    for member in enum:
        if member.value not in raw:
            raise RiskPolicyError(f"risk policy: {path} has no value for {member.value!r}")
        out[member] = check(raw[member.value], f"{path}.{member.value}")
    return out


def _names(data: Mapping[str, Any], path: str) -> dict[int, str]:
    raw = _mapping(data, path)
    names = {int(k): str(v) for k, v in raw.items()}
    if set(names) != set(_LEVELS):
        raise RiskPolicyError(f"risk policy: {path} must name levels 1 to 5")
    return names


def _ssvc(data: Mapping[str, Any], version: str) -> SsvcPolicy:
    threshold = _get(data, "ssvc.epss_threshold")
    if not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise RiskPolicyError(f"risk policy: ssvc.epss_threshold = {threshold!r} must be between 0 and 1")
    table = _get(data, "ssvc.human_impact_table")
    try:
        choice = HumanImpactTable(table)
    except ValueError as e:
        allowed = ", ".join(t.value for t in HumanImpactTable)
        raise RiskPolicyError(f"risk policy: ssvc.human_impact_table = {table!r}; allowed: {allowed}") from e
    thresholds = _get(data, "ssvc.mission_thresholds")
    if not (isinstance(thresholds, list) and len(thresholds) == 2 and all(isinstance(t, int) for t in thresholds)):
        raise RiskPolicyError("risk policy: ssvc.mission_thresholds must be two whole numbers, e.g. [2, 5]")
    return SsvcPolicy(
        version=version,
        epss_threshold=float(threshold),
        human_impact_table=choice,
        mission_thresholds=(thresholds[0], thresholds[1]),
    )


def _matrix(data: Mapping[str, Any]) -> tuple[tuple[tuple[str, ...], ...], dict[str, Level]]:
    levels: dict[str, Level] = {}
    for name, spec in _mapping(data, "matrix.levels").items():
        if not isinstance(spec, Mapping) or "rank" not in spec or "acceptability" not in spec:
            raise RiskPolicyError(f"risk policy: matrix.levels.{name} needs rank and acceptability")
        levels[str(name)] = Level(str(name), _level(spec["rank"], f"matrix.levels.{name}.rank", 1, 99),
                                  str(spec["acceptability"]))  # fmt: skip
    rows = _get(data, "matrix.rows")
    if not isinstance(rows, list) or len(rows) != 5 or any(not isinstance(r, list) or len(r) != 5 for r in rows):
        raise RiskPolicyError("risk policy: matrix.rows must be 5 rows (severity 1..5) of 5 level names")
    for i, row in enumerate(rows, 1):
        for j, cell in enumerate(row, 1):
            if cell not in levels:
                raise RiskPolicyError(f"risk policy: matrix.rows[{i}][{j}] = {cell!r} is not a level in matrix.levels")
    return tuple(tuple(str(c) for c in row) for row in rows), levels


def _controls(data: Mapping[str, Any]) -> dict[str, Control]:
    out: dict[str, Control] = {}
    for name, spec in _mapping(data, "controls").items():
        if not isinstance(spec, Mapping) or "reduction" not in spec:
            raise RiskPolicyError(f"risk policy: controls.{name} needs a reduction")
        out[str(name)] = Control(str(name), _level(spec["reduction"], f"controls.{name}.reduction", 0, 4),
                                 str(spec.get("text", name)))  # fmt: skip
    return out


def policy_from_mapping(data: Mapping[str, Any]) -> RiskPolicy:
    """Check the parsed policy file and build the policy; raise :class:`RiskPolicyError` naming the bad field."""
    version = str(_get(data, "version"))
    matrix, levels = _matrix(data)
    epss = _get(data, "likelihood.epss")
    if not isinstance(epss, list) or any(not isinstance(b, Mapping) or {"min", "level"} - set(b) for b in epss):
        raise RiskPolicyError("risk policy: likelihood.epss must be a list of {min, level}")
    bands = sorted(((float(b["min"]), _level(b["level"], "likelihood.epss.level")) for b in epss), reverse=True)
    weak = _mapping(data, "likelihood.weaknesses")
    criticality = _mapping(data, "severity.criticality")
    ssvc_safety = _mapping(data, "ssvc_safety")
    try:
        safety = {int(k): SafetyImpact(v) for k, v in ssvc_safety.items()}
    except ValueError as e:
        raise RiskPolicyError(f"risk policy: ssvc_safety: {e}") from e
    if set(safety) != set(_LEVELS):
        raise RiskPolicyError("risk policy: ssvc_safety must map severities 1 to 5")
    return RiskPolicy(
        version=version,
        note=str(data.get("note", "")),
        ssvc=_ssvc(data, version),
        likelihood_names=_names(data, "likelihood.names"),
        exploitation_levels=_enum_map(data, "likelihood.exploitation", Exploitation),
        epss_bands=tuple(bands),
        cvss_network_unauthenticated=_level(
            _get(data, "likelihood.cvss_network_unauthenticated"), "likelihood.cvss_network_unauthenticated"
        ),
        weaknesses={str(k): _level(v, f"likelihood.weaknesses.{k}") for k, v in weak.items()},
        baseline=_level(_get(data, "likelihood.baseline"), "likelihood.baseline"),
        exposure_adjustment=_enum_map(data, "likelihood.exposure", SystemExposure, _int),
        end_of_support_adjustment=_int(_get(data, "likelihood.end_of_support"), "likelihood.end_of_support"),
        unsupported_os=tuple(str(s).casefold() for s in _get(data, "likelihood.unsupported_os")),
        max_control_reduction=_level(
            _get(data, "likelihood.max_control_reduction"), "likelihood.max_control_reduction", 0, 4
        ),
        controls=_controls(data),
        severity_names=_names(data, "severity.names"),
        criticality_severity={str(k): _level(v, f"severity.criticality.{k}") for k, v in criticality.items()},
        criticality_unknown=_level(_get(data, "severity.criticality_unknown"), "severity.criticality_unknown"),
        device_type_severity={
            str(k): _level(v, f"severity.device_types.{k}") for k, v in _mapping(data, "severity.device_types").items()
        },
        phi_handles=_level(_get(data, "severity.phi.handles"), "severity.phi.handles"),
        phi_cleartext=_level(_get(data, "severity.phi.cleartext"), "severity.phi.cleartext"),
        phi_volume=_level(_get(data, "severity.phi.volume"), "severity.phi.volume"),
        phi_volume_types=frozenset(str(t) for t in _get(data, "severity.phi_volume_types")),
        mission_severity=_enum_map(data, "severity.mission", MissionImpact),
        units_depending={
            str(k): _level(v, f"severity.units_depending.{k}", 0, 10_000)
            for k, v in _mapping(data, "severity.units_depending").items()
        },
        ssvc_safety=safety,
        matrix=matrix,
        levels=levels,
        likelihood_exponent=float(_get(data, "score.likelihood_exponent")),
        severity_exponent=float(_get(data, "score.severity_exponent")),
    )
