"""Device risk: likelihood × severity on an ISO 14971-style 5 × 5 matrix, a 0–100 score, the SSVC priority of the
worst finding, and every number explained in words (METHODS.md sections 2–4, ``docs/risk.md``).

Pure: :class:`RiskScorer` takes a device's facts, its open vulnerability findings and the risk acceptances that
concern it, and returns a :class:`DeviceRisk`.  Weights and thresholds come from a versioned
:class:`~wardwatch.domain.risk_policy.RiskPolicy`; the SSVC tables are passed in.

* **Likelihood** (1–5): the worst open finding's exploitability (SSVC Exploitation from KEV / public exploit /
  EPSS, EPSS bands, an unauthenticated network CVSS vector) or the worst insecure behaviour discovery proved,
  then adjusted for System Exposure, end of support and compensating controls (capped), clamped to 1–5.
* **Severity** (1–5): the largest of patient safety (criticality, device type), PHI and clinical operations
  (SSVC Mission Impact from how many units depend on the device).
* **Score**: ``100 × (likelihood value / 5)^a × (severity / 5)^b``; the likelihood value is the level minus up to
  0.5, less the higher the worst CVSS score and EPSS, so devices in one matrix cell still rank.
* **Acceptances**: an active acceptance removes its findings from the score; an expired one re-opens them.

The score is computed for many devices with the same few vulnerabilities: per-vulnerability and per-profile
results are cached on the scorer (200,000 devices are scored in seconds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from wardwatch.domain.risk_facts import (
    Acceptance,
    DeviceFacts,
    VulnerabilityFinding,
    unknown_exposure,
)
from wardwatch.domain.risk_policy import RiskPolicy
from wardwatch.domain.ssvc import (
    Automatable,
    Decision,
    DeployerTable,
    Derived,
    Exploitation,
    HumanImpact,
    HumanImpactMapping,
    MissionImpact,
    Priority,
    SafetyImpact,
    SystemExposure,
    automatable_from,
    exploitation_from,
    human_impact,
    mission_from,
)

__all__ = [
    "PRIORITY_RANK",
    "Acceptance",
    "DeviceFacts",
    "DeviceRisk",
    "FindingRisk",
    "RiskScorer",
    "VulnerabilityFinding",
    "unknown_exposure",
]

PRIORITY_RANK: Mapping[Priority, int] = {p: i for i, p in enumerate(Priority)}
"""Defer 0 … Immediate 3."""

_MEMO_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class FindingRisk:
    """One finding's likelihood and SSVC decision, and whether it counts; the words are built when asked for."""

    vulnerability_id: str
    component_ref: str
    status: Literal["open", "accepted", "reopened"]
    likelihood: int
    priority: Priority
    cvss: float | None
    epss: float | None
    kev: bool
    note: str | None
    why: _Why = field(repr=False, compare=False)

    @property
    def because(self) -> str:
        """``Immediate because: …`` naming each decision point's evidence and value."""
        return self.why.because()

    @property
    def decision_points(self) -> dict[str, dict[str, Any]]:
        """Each SSVC decision point: value, evidence, whether it is SSVC's default; and the table row."""
        return self.why.points()

    @property
    def likelihood_because(self) -> str:
        """Why the finding has its likelihood level."""
        return self.why.vuln.reason

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "vulnerability": self.vulnerability_id,
            "component": self.component_ref or None,
            "status": self.status,
            "likelihood": self.likelihood,
            "likelihood_because": self.likelihood_because,
            "ssvc": self.priority.value,
            "because": self.because,
            "decision_points": self.decision_points,
            "cvss": self.cvss,
            "epss": self.epss,
            "kev": self.kev,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class DeviceRisk:
    """A device's risk: score, level, SSVC priority and the explanation of every number."""

    device_id: int
    score: float
    level: str
    acceptability: str
    likelihood: int
    severity: int
    ssvc: Priority
    ssvc_vulnerability: str | None
    explanation: Mapping[str, Any]
    findings: tuple[FindingRisk, ...]
    policy_version: str


@dataclass(frozen=True, slots=True)
class _Vuln:
    exploitation: Derived[Exploitation]
    automatable: Derived[Automatable]
    level: int
    reason: str
    tiebreak: float


@dataclass(frozen=True, slots=True)
class _Impact:
    severity: int
    reasons: tuple[str, ...]
    safety: Derived[SafetyImpact]
    mission: Derived[MissionImpact]
    human: Derived[HumanImpact]
    short: str


@dataclass(frozen=True, slots=True)
class _Why:
    vuln: _Vuln
    exposure: Derived[SystemExposure]
    impact: _Impact
    decision: Decision

    def because(self) -> str:
        v, e = self.vuln, self.exposure
        return (
            f"{self.decision.priority.value.capitalize()} because: {_short(v.exploitation)}, {_short(e)}, "
            f"{_short(v.automatable)}, {self.impact.short}"
        )

    def points(self) -> dict[str, dict[str, Any]]:
        def point(d: Derived[Any]) -> dict[str, Any]:
            return {"value": d.value.value, "evidence": d.evidence, "defaulted": d.defaulted}

        return {
            "exploitation": point(self.vuln.exploitation),
            "system_exposure": point(self.exposure),
            "automatable": point(self.vuln.automatable),
            "safety_impact": point(self.impact.safety),
            "mission_impact": point(self.impact.mission),
            "human_impact": point(self.impact.human),
            "table_row": {"value": self.decision.explain(), "evidence": "official CERT/CC deployer table",
                          "defaulted": False},
        }  # fmt: skip


@lru_cache(maxsize=4096)
def _metrics(vector: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in vector.split("/"):
        key, sep, value = part.partition(":")
        if sep:
            out[key.upper()] = value.upper()
    return out


def _short(derived: Derived[Any]) -> str:
    return f"{derived.evidence} ({derived.value})"


class RiskScorer:
    """Scores devices under one policy, on one day; caches per-vulnerability and per-profile work."""

    def __init__(
        self,
        policy: RiskPolicy,
        deployer: DeployerTable,
        today: date,
        published_human_impact: HumanImpactMapping | None = None,
    ) -> None:
        self.policy = policy
        self.deployer = deployer
        self.today = today
        self._published = published_human_impact
        self._vulns: dict[tuple[Any, ...], _Vuln] = {}
        self._impacts: dict[tuple[Any, ...], _Impact] = {}
        self._decisions: dict[tuple[Any, ...], _Why] = {}
        self._devices: dict[tuple[Any, ...], tuple[DeviceRisk, tuple[VulnerabilityFinding, ...]]] = {}

    # --- likelihood of one vulnerability -------------------------------------------------------------------

    def _vuln(self, f: VulnerabilityFinding) -> _Vuln:
        key = (f.in_kev, f.public_exploit, f.epss, f.cvss_vector, f.cvss_score, f.automatable)
        cached = self._vulns.get(key)
        if cached is not None:
            return cached
        p = self.policy
        exploitation = exploitation_from(f.in_kev, f.public_exploit, f.epss, p.ssvc.epss_threshold)
        level = p.exploitation_levels[exploitation.value]
        reason = f"{exploitation.evidence} → exploitation {exploitation.value} (level {level})"
        if f.epss is not None:
            for minimum, band in p.epss_bands:
                if f.epss >= minimum:
                    if band > level:
                        level, reason = band, f"EPSS {f.epss:.3f} ≥ {minimum:g} (level {band})"
                    break
        if f.cvss_vector:
            m = _metrics(f.cvss_vector)
            if m.get("AV") == "N" and m.get("PR") == "N" and m.get("UI") == "N":
                floor = p.cvss_network_unauthenticated
                if floor > level:
                    level = floor
                    reason = (
                        "attackable from the network without privileges or user action "
                        f"(CVSS AV:N/PR:N/UI:N, level {floor})"
                    )
        tiebreak = ((f.cvss_score or 0.0) / 10.0 + (f.epss or 0.0)) / 2.0
        result = _Vuln(exploitation, automatable_from(f.automatable, f.cvss_vector), level, reason, tiebreak)
        self._vulns[key] = result
        return result

    # --- severity of a device profile ----------------------------------------------------------------------

    def _impact(self, d: DeviceFacts) -> _Impact:
        phi_cleartext = "phi_cleartext" in d.weaknesses
        key = (d.device_type, d.criticality, d.handles_phi, phi_cleartext, d.name)
        cached = self._impacts.get(key)
        if cached is not None:
            return cached
        p = self.policy
        names = p.severity_names
        if d.criticality is not None and d.criticality in p.criticality_severity:
            safety, why = p.criticality_severity[d.criticality], f"{d.criticality} device"
        else:
            safety, why = p.criticality_unknown, "criticality unknown (SSVC default: marginal)"
        by_type = p.device_type_severity.get(d.device_type or "")
        if by_type is not None and by_type > safety:
            safety, why = by_type, f"{d.name}: device-type policy"
        reasons = [f"patient safety {safety} ({names[safety]}): {why}"]
        phi, phi_why = 0, "PHI handling unknown" if d.handles_phi is None else "handles no PHI"
        if d.handles_phi:
            phi, phi_why = p.phi_handles, "handles PHI"
        if d.handles_phi is not False and d.device_type in p.phi_volume_types and p.phi_volume > phi:
            phi, phi_why = p.phi_volume, f"{d.name} holds PHI of many patients"
        if phi_cleartext and p.phi_cleartext > phi:
            phi, phi_why = p.phi_cleartext, "sends PHI in clear text (seen by discovery)"
        reasons.append(f"PHI {phi} ({names[phi]}): {phi_why}" if phi else f"PHI: {phi_why}")
        units = p.units_depending.get(d.device_type or "")
        mission = mission_from(units, p.ssvc.mission_thresholds)
        operations = p.mission_severity[mission.value]
        said = "mission impact" in mission.evidence.casefold()
        reasons.append(f"clinical operations {operations} ({names[operations]}): {mission.evidence}"
                       + ("" if said else f", mission impact {mission.value}"))  # fmt: skip
        severity = max(safety, phi, operations)
        ssvc_safety = p.ssvc_safety[safety]
        safety_derived = Derived(
            ssvc_safety,
            f"{d.name}: patient-safety severity {names[safety]} → safety impact {ssvc_safety}"
            + (" (several patients: fleet-wide attack assumed)" if ssvc_safety is SafetyImpact.CATASTROPHIC else ""),
            defaulted=d.criticality is None and by_type is None,
        )
        human = human_impact(ssvc_safety, mission.value, p.ssvc.human_impact_table, self._published)
        result = _Impact(
            severity=severity,
            reasons=tuple(reasons),
            safety=safety_derived,
            mission=mission,
            human=human,
            short=f"{d.name} ({ssvc_safety}) × mission impact {mission.value} → human impact {human.value}",
        )
        self._impacts[key] = result
        return result

    # --- one device ----------------------------------------------------------------------------------------

    def score(
        self, device: DeviceFacts, findings: Sequence[VulnerabilityFinding], acceptances: Sequence[Acceptance] = ()
    ) -> DeviceRisk:
        """The risk of one device from its open findings and the acceptances concerning it."""
        risk = self.assess(device, findings, acceptances)
        return risk if risk.device_id == device.id else replace(risk, device_id=device.id)

    def assess(
        self, device: DeviceFacts, findings: Sequence[VulnerabilityFinding], acceptances: Sequence[Acceptance] = ()
    ) -> DeviceRisk:
        """Like :meth:`score`, but the result may be shared with another device with the same inputs, so its
        ``device_id`` may be that other device's: pair it with ``device.id`` yourself.

        Devices with the same inputs (the same model with the same findings, exposure, weaknesses and support
        status) get the same risk: it is computed once and shared (hand-written memo: a fleet of 200,000 devices
        has a few thousand distinct cases, and this is the hot loop of a full rescore).
        """
        if acceptances and any(a.device_id == device.id for a in acceptances):
            return self._score(device, findings, acceptances)
        unsupported = device.end_of_support is not None and device.end_of_support <= self.today
        exposure = device.exposure
        # Findings by identity: the loader interns them, and the memo keeps them alive so no id is reused.
        kept = tuple(findings)
        key = (device.device_type, device.criticality, device.handles_phi, device.name, exposure.value,
               exposure.evidence, exposure.defaulted, device.weaknesses, device.controls, unsupported, device.os,
               tuple(sorted(map(id, kept))))  # fmt: skip
        memo = self._devices.get(key)
        if memo is None:
            memo = (self._score(device, findings, ()), kept)
            if len(self._devices) < _MEMO_LIMIT:
                self._devices[key] = memo
        return memo[0]

    def _score(
        self, device: DeviceFacts, findings: Sequence[VulnerabilityFinding], acceptances: Sequence[Acceptance]
    ) -> DeviceRisk:
        impact = self._impact(device)
        exposure = device.exposure
        mine = [a for a in acceptances if a.device_id == device.id]
        active = [a for a in mine if a.status(self.today) == "active"]
        expired = [a for a in mine if a.status(self.today) == "expired"]
        results: list[FindingRisk] = []
        best: tuple[tuple[int, int, float], FindingRisk] | None = None
        for finding in findings:
            vuln = self._vuln(finding)
            why = self._why(vuln, exposure, impact)
            priority = why.decision.priority
            status: Literal["open", "accepted", "reopened"] = "open"
            note = finding.cvss_note
            if active or expired:
                status, note = self._acceptance_status(finding, active, expired)
                if finding.cvss_note is not None:
                    note = "; ".join(filter(None, [note, finding.cvss_note]))
            risk = FindingRisk(finding.vulnerability_id, finding.component_ref, status, vuln.level, priority,
                               finding.cvss_score, finding.epss, finding.in_kev, note, why)  # fmt: skip
            results.append(risk)
            if status != "accepted":
                rank = (PRIORITY_RANK[priority], vuln.level, vuln.tiebreak)
                if best is None or rank > best[0]:
                    best = (rank, risk)
        return self._combine(device, impact, results, best, active, expired)

    def _why(self, vuln: _Vuln, exposure: Derived[SystemExposure], impact: _Impact) -> _Why:
        """The SSVC decision of a finding (cached: few combinations of vulnerability, exposure and impact recur)."""
        key = (id(vuln), exposure.value, exposure.evidence, exposure.defaulted, id(impact))
        cached = self._decisions.get(key)
        if cached is None:
            decision = self.deployer.decide(vuln.exploitation.value, exposure.value, vuln.automatable.value,
                                            impact.human.value)  # fmt: skip
            cached = self._decisions[key] = _Why(vuln, exposure, impact, decision)
        return cached

    @staticmethod
    def _acceptance_status(
        finding: VulnerabilityFinding, active: Sequence[Acceptance], expired: Sequence[Acceptance]
    ) -> tuple[Literal["open", "accepted", "reopened"], str | None]:
        accepted = next((a for a in active if a.covers(finding)), None)
        if accepted is not None:
            return "accepted", accepted.describe()
        lapsed = next((a for a in expired if a.covers(finding)), None)
        if lapsed is not None:
            return "reopened", f"acceptance expired on {lapsed.expires_on.isoformat()}: re-opened ({lapsed.describe()})"
        return "open", None

    def _likelihood(
        self,
        device: DeviceFacts,
        counted: Sequence[FindingRisk],
        active: Sequence[Acceptance],
    ) -> tuple[int, float, list[str]]:
        p = self.policy
        level, reasons = p.baseline, [f"no open vulnerability or proven weakness (baseline {p.baseline})"]
        top = max(counted, key=lambda r: (r.likelihood, (r.cvss or 0.0) + (r.epss or 0.0)), default=None)
        if top is not None:
            level, reasons = top.likelihood, [f"{top.vulnerability_id}: {top.likelihood_because}"]
        whole = next((a for a in active if a.vulnerability_id is None), None)
        for kind in device.weaknesses:
            floor = p.weaknesses.get(kind)
            if floor is not None and floor > level:
                if whole is not None:
                    reasons.append(
                        f"discovery proved {kind.replace('_', ' ')}, accepted with the device ({whole.approver})"
                    )
                    continue
                level, reasons = floor, [f"discovery proved {kind.replace('_', ' ')} (level {floor})"]
        adjust = p.exposure_adjustment[device.exposure.value]
        reasons.append(f"system exposure {device.exposure.value}: {device.exposure.evidence} ({adjust:+d})")
        total = level + adjust
        unsupported = device.end_of_support is not None and device.end_of_support <= self.today
        os_text = (device.os or "").casefold()
        old_os = next((o for o in p.unsupported_os if os_text.startswith(o)), None) if os_text else None
        if unsupported or old_os:
            why = (f"operating system {device.os} is out of vendor support" if old_os
                   else f"past end of support since {device.end_of_support}")  # fmt: skip
            total += p.end_of_support_adjustment
            reasons.append(f"{why} ({p.end_of_support_adjustment:+d})")
        names = {*device.controls, *(c for a in active for c in a.controls)}
        controls = [p.controls[n] for n in sorted(names) if n in p.controls]
        if controls:
            reduction = min(sum(c.reduction for c in controls), p.max_control_reduction)
            total -= reduction
            listed = ", ".join(f"{c.name} ({c.text})" for c in controls)
            cap = f", capped at {p.max_control_reduction}" if reduction < sum(c.reduction for c in controls) else ""
            reasons.append(f"compensating controls: {listed} (-{reduction}{cap})")
        final = min(5, max(1, total))
        tiebreak = ((top.cvss or 0.0) / 10.0 + (top.epss or 0.0)) / 2.0 if top is not None else 0.0
        return final, final - 0.5 + 0.5 * tiebreak, reasons

    def _combine(
        self,
        device: DeviceFacts,
        impact: _Impact,
        results: list[FindingRisk],
        best: tuple[tuple[int, int, float], FindingRisk] | None,
        active: Sequence[Acceptance],
        expired: Sequence[Acceptance],
    ) -> DeviceRisk:
        p = self.policy
        counted = [r for r in results if r.status != "accepted"]
        likelihood, value, l_reasons = self._likelihood(device, counted, active)
        severity = impact.severity
        level = p.cell(severity, likelihood)
        score = round(100.0 * (value / 5.0) ** p.likelihood_exponent * (severity / 5.0) ** p.severity_exponent, 1)
        if best is None:
            priority, vulnerability = Priority.DEFER, None
            because = "Defer because: no open vulnerability finding (nothing to patch)"
        else:
            priority, vulnerability, because = best[1].priority, best[1].vulnerability_id, best[1].because
        lname, sname = p.likelihood_names[likelihood], p.severity_names[severity]
        explanation: dict[str, Any] = {
            "summary": f"{level.name} risk, score {score:g}/100: likelihood {likelihood} ({lname}) × severity "
            f"{severity} ({sname}); SSVC {priority.value}",
            "matrix": f"severity {severity} ({sname}) × likelihood {likelihood} ({lname}) → {level.name} "
            f"({level.acceptability})",
            "score": f"100 × ({value:.2f}/5)^{p.likelihood_exponent:g} × ({severity}/5)^{p.severity_exponent:g} = "
            f"{score:g}",
            "likelihood": {"level": likelihood, "name": lname, "value": round(value, 3), "because": l_reasons},
            "severity": {"level": severity, "name": sname, "because": list(impact.reasons)},
            "ssvc": {"priority": priority.value, "vulnerability": vulnerability, "because": because},
            "findings": {
                "open": sum(1 for r in results if r.status == "open"),
                "accepted": sum(1 for r in results if r.status == "accepted"),
                "reopened": sum(1 for r in results if r.status == "reopened"),
            },
        }
        if active or expired:
            explanation["acceptances"] = [f"active: {a.describe()}" for a in active] + [
                f"expired on {a.expires_on.isoformat()}: {a.describe()}" for a in expired
            ]
        return DeviceRisk(
            device_id=device.id,
            score=score,
            level=level.name,
            acceptability=level.acceptability,
            likelihood=likelihood,
            severity=severity,
            ssvc=priority,
            ssvc_vulnerability=vulnerability,
            explanation=explanation,
            findings=tuple(results),
            policy_version=p.version,
        )
