"""What-if scenarios: "if we patch X / isolate VLAN Y / accept risk Z / apply compensating control C".

Pure: :func:`scenario_from_mapping` checks a parsed scenario file and :func:`apply_scenario` returns *changed
copies* of the scoring inputs; nothing stored is touched.  The file format (YAML)::

    name: Patch the pumps and isolate the ICU
    changes:
      - patch: {model: "8015", version: "12.1.3"}         # fixes every open finding, or only `fixes: [CVE-…]`
      - fix: {vulnerability: CVE-2024-1234, site: North} # mark findings fixed
      - isolate: {vlan: 30}                              # System Exposure → small
      - accept: {vulnerability: CVE-2023-9, unit: ICU, expires_on: 2027-06-30, justification: "vendor patch Q2"}
      - control: {name: network-segmentation, type: infusion-pump}

A change selects devices with any of ``device`` (id), ``site``, ``unit``, ``type``, ``manufacturer``, ``model``,
``vlan`` (all given must match; text is compared case-insensitively).

Errors::

    ScenarioError (ValueError)   the scenario names an unknown change, key or control, or a value of the wrong type
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from wardwatch.domain.risk import Acceptance, DeviceFacts, VulnerabilityFinding
from wardwatch.domain.ssvc import Derived, SystemExposure

__all__ = ["KINDS", "SELECTORS", "Change", "Scenario", "ScenarioError", "apply_scenario", "scenario_from_mapping"]

SELECTORS = ("device", "site", "unit", "type", "manufacturer", "model", "vlan")
#: Change kind -> its own keys (besides the selectors).
KINDS: Mapping[str, tuple[str, ...]] = {
    "patch": ("version", "fixes"),
    "fix": ("vulnerability",),
    "isolate": (),
    "accept": ("vulnerability", "approver", "justification", "expires_on", "controls"),
    "control": ("name",),
}
_NEEDS_SELECTOR = {"patch", "isolate", "control"}


class ScenarioError(ValueError):
    """The scenario cannot be used; the message names the change and the key."""


@dataclass(frozen=True, slots=True)
class Change:
    """One change of a scenario."""

    kind: str
    selector: Mapping[str, str | int]
    params: Mapping[str, Any]

    def describe(self) -> str:
        """In words, e.g. ``isolate vlan=30``."""
        where = " ".join(f"{k}={v}" for k, v in self.selector.items()) or "every device"
        extra = " ".join(f"{k}={v}" for k, v in self.params.items() if k not in {"justification"})
        return " ".join(filter(None, [self.kind, where, extra]))


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named list of changes."""

    name: str
    changes: tuple[Change, ...]


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float) or str(value).strip() == "":
        raise ScenarioError(f"{where} must be a non-empty text or number, not {value!r}")
    return str(value).strip()


def _change(index: int, raw: Any, controls: Iterable[str]) -> Change:
    where = f"changes[{index}]"
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise ScenarioError(f"{where} must be one of {', '.join(KINDS)} with its keys, e.g. - isolate: {{vlan: 30}}")
    ((kind, body),) = raw.items()
    if kind not in KINDS:
        raise ScenarioError(f"{where}: unknown change {kind!r}; allowed: {', '.join(KINDS)}")
    body = body or {}
    if not isinstance(body, Mapping):
        raise ScenarioError(f"{where}.{kind} must be a mapping of keys")
    allowed = (*SELECTORS, *KINDS[kind])
    selector: dict[str, str | int] = {}
    params: dict[str, Any] = {}
    for key, value in body.items():
        if key not in allowed:
            raise ScenarioError(f"{where}.{kind}: unknown key {key!r}; allowed: {', '.join(allowed)}")
        if key == "vlan" or (key == "device" and not isinstance(value, str)):
            if isinstance(value, bool) or not isinstance(value, int):
                what = "a whole number" if key == "vlan" else "a device id or reference (asset tag, serial, MAC, IP)"
                raise ScenarioError(f"{where}.{kind}.{key} must be {what}, not {value!r}")
            selector[key] = value
        elif key in SELECTORS:
            selector[key] = _text(value, f"{where}.{kind}.{key}")
        elif key in ("fixes", "controls"):
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list):
                raise ScenarioError(f"{where}.{kind}.{key} must be a list")
            params[key] = tuple(_text(v, f"{where}.{kind}.{key}") for v in items)
        elif key == "expires_on":
            try:
                params[key] = value if isinstance(value, date) else date.fromisoformat(str(value))
            except ValueError as e:
                raise ScenarioError(f"{where}.{kind}.expires_on {value!r} is not a date (YYYY-MM-DD)") from e
        else:
            params[key] = _text(value, f"{where}.{kind}.{key}")
    if kind in _NEEDS_SELECTOR and not selector:
        raise ScenarioError(f"{where}.{kind} needs a selector: one of {', '.join(SELECTORS)}")
    if kind == "patch" and "version" not in params:
        raise ScenarioError(f"{where}.patch needs a version")
    if kind == "fix" and "vulnerability" not in params:
        raise ScenarioError(f"{where}.fix needs a vulnerability")
    if kind == "accept" and not selector and "vulnerability" not in params:
        raise ScenarioError(f"{where}.accept needs a vulnerability or a selector")
    if kind == "control":
        known = sorted(controls)
        if params.get("name") not in known:
            raise ScenarioError(f"{where}.control.name {params.get('name')!r} is not a policy control; "
                                f"known: {', '.join(known)}")  # fmt: skip
    for key in params.get("controls", ()):
        if key not in set(controls):
            raise ScenarioError(f"{where}.accept.controls: {key!r} is not a policy control; known: "
                                f"{', '.join(sorted(controls))}")  # fmt: skip
    return Change(kind, selector, params)


def scenario_from_mapping(data: Any, controls: Iterable[str]) -> Scenario:
    """Check a parsed scenario file; ``controls`` are the policy's control names."""
    if not isinstance(data, Mapping) or not isinstance(data.get("changes"), list) or not data["changes"]:
        raise ScenarioError("a scenario needs `changes:`, a list of patch / fix / isolate / accept / control")
    unknown = set(data) - {"name", "changes", "description"}
    if unknown:
        raise ScenarioError(
            f"unknown top-level key(s) {', '.join(sorted(unknown))}; allowed: name, description, changes"
        )
    names = tuple(controls)
    changes = tuple(_change(i, raw, names) for i, raw in enumerate(data["changes"]))
    return Scenario(str(data.get("name") or "what-if"), changes)


def _selects(selector: Mapping[str, str | int], d: DeviceFacts) -> bool:
    for key, wanted in selector.items():
        if key == "device":
            ok = d.id == wanted
        elif key == "vlan":
            ok = wanted in d.vlans
        else:
            have = {"site": d.site, "unit": d.unit, "type": d.device_type, "manufacturer": d.manufacturer,
                    "model": d.model}[key]  # fmt: skip
            ok = have is not None and have.casefold() == str(wanted).casefold()
        if not ok:
            return False
    return True


def apply_scenario(
    scenario: Scenario,
    devices: Sequence[DeviceFacts],
    findings: Mapping[int, Sequence[VulnerabilityFinding]],
    acceptances: Sequence[Acceptance],
    today: date,
) -> tuple[list[DeviceFacts], dict[int, list[VulnerabilityFinding]], list[Acceptance], list[str]]:
    """Changed copies of the inputs, and one line per change saying how many devices/findings it touched."""
    out_devices = list(devices)
    out_findings = {k: list(v) for k, v in findings.items()}
    out_acceptances = list(acceptances)
    notes: list[str] = []
    created = datetime.combine(today, time(0), tzinfo=UTC)
    for change in scenario.changes:
        chosen = [i for i, d in enumerate(out_devices) if _selects(change.selector, d)]
        touched = 0
        p = change.params
        for i in chosen:
            d = out_devices[i]
            mine = out_findings.get(d.id, [])
            if change.kind in ("patch", "fix"):
                fixes = set(p.get("fixes", ())) | ({p["vulnerability"]} if "vulnerability" in p else set())
                kept = [f for f in mine if fixes and f.vulnerability_id not in fixes]
                touched += len(mine) - len(kept)
                out_findings[d.id] = kept
                if change.kind == "patch":
                    out_devices[i] = replace(d, version=str(p["version"]))
            elif change.kind == "isolate":
                evidence = f"isolated in the what-if scenario ({change.describe()})"
                out_devices[i] = replace(d, exposure=Derived(SystemExposure.SMALL, evidence))
                touched += 1
            elif change.kind == "control":
                out_devices[i] = replace(d, controls=(*d.controls, str(p["name"])))
                touched += 1
            else:  # accept
                vulnerability = p.get("vulnerability")
                if vulnerability is not None and not any(f.vulnerability_id == vulnerability for f in mine):
                    continue
                out_acceptances.append(
                    Acceptance(
                        id=None,
                        device_id=d.id,
                        vulnerability_id=vulnerability,
                        approver=str(p.get("approver", "what-if scenario")),
                        justification=str(p.get("justification", scenario.name)),
                        controls=tuple(p.get("controls", ())),
                        expires_on=p.get("expires_on", today + timedelta(days=365)),
                        created_at=created,
                    )
                )
                touched += 1
        unit = "finding(s)" if change.kind in ("patch", "fix") else "device(s)"
        notes.append(f"{change.describe()}: {len(chosen)} device(s) selected, {touched} {unit} changed")
    return out_devices, out_findings, out_acceptances, notes
