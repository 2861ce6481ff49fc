"""Incident playbooks: what a playbook says (steps, downtime procedures, contacts) and which devices an incident
affects, computed from live data.  Pure: the service reads the files, the inventory and the network model.

Three playbooks (``data/playbooks/*.yaml``), each with its own rule for the affected devices:

* ``wannacry`` -- :func:`wannacry`: the hosts a WannaCry-like worm reaches in the worst case
  (:func:`wardwatch.domain.worm.worst_case`) from a seed host or zone (default: every vulnerable host), plus every
  vulnerable host (:func:`wardwatch.domain.worm.is_vulnerable`) even when the worm does not reach it or there is
  no network model.  Isolation: block the worm ports between zones and isolate the VLANs of the zones hit, naming
  the rules that let tcp/445 into them today.
* ``vendor-account`` -- :func:`vendor_account`: the devices an address of a vendor remote-access zone (kind
  ``vendor-remote``) may reach on a remote-service port (:data:`REMOTE_SERVICES`) or a service it was seen
  serving; without such a zone, the devices whose MDS2 form says they take remote service connections.
  Isolation: disable the account and the rules that let the zone in.
* ``recall`` -- :func:`recall`: the devices an FDA recall matched (``fda-recall`` findings), with the recall's
  class, reason and the manufacturer's action.

A device's clinical category (:func:`category_of`) is its clinical function (``worm.CLINICAL_FUNCTIONS``) or
``other``; the downtime procedures shown are those of the categories present.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from wardwatch.domain import worm
from wardwatch.domain.net_reach import Reachability, address_key, service_text
from wardwatch.domain.netmodel import HostFacts, NetworkModel, Rule

__all__ = [
    "CATEGORIES",
    "PHASES",
    "PLAYBOOK_NAMES",
    "REMOTE_SERVICES",
    "Affected",
    "Contact",
    "DeviceInfo",
    "IsolationStep",
    "Outcome",
    "Playbook",
    "RecallInfo",
    "Step",
    "Severity",
    "by_unit_and_category",
    "category_of",
    "parse_playbook",
    "recall",
    "severity_of",
    "vendor_account",
    "wannacry",
]

PLAYBOOK_NAMES: tuple[str, ...] = ("wannacry", "vendor-account", "recall")
PHASES: tuple[str, ...] = ("identify", "contain", "eradicate", "recover", "communicate")
ROLES: tuple[str, ...] = ("admin", "biomed", "itsec", "clinician", "compliance", "executive", "auditor")
#: Clinical categories of the downtime procedures: the clinical functions and ``other``.
CATEGORIES: tuple[str, ...] = (*sorted(set(worm.CLINICAL_FUNCTIONS.values())), "other")
#: Ports of remote service tools a vendor account uses (SSH, telnet, HTTP(S), RDP, VNC, TeamViewer, SMB).
REMOTE_SERVICES: tuple[tuple[str, int], ...] = (
    ("tcp", 22), ("tcp", 23), ("tcp", 80), ("tcp", 443), ("tcp", 445), ("tcp", 3389), ("tcp", 5900), ("tcp", 5938),
    ("tcp", 8080),
)  # fmt: skip
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_CRITICAL = frozenset({"life-sustaining", "life-supporting"})

Severity = Literal["critical", "high", "medium", "low"]


# --------------------------------------------------------------------------------------------------- the playbook


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a playbook."""

    id: str
    phase: str
    """One of :data:`PHASES`."""
    text: str
    who: str
    """The role that does it (one of the Wardwatch roles)."""


@dataclass(frozen=True, slots=True)
class Contact:
    """Someone to call (placeholders the hospital fills in)."""

    role: str
    name: str = ""
    reach: str = ""


@dataclass(frozen=True, slots=True)
class Playbook:
    """A playbook as written in its YAML file."""

    name: str
    title: str
    when: str
    steps: tuple[Step, ...]
    downtime: Mapping[str, tuple[str, ...]]
    """Clinical category (:data:`CATEGORIES`) -> what the units do while its devices are out."""
    contacts: tuple[Contact, ...]
    manufacturer_support: Mapping[str, str] = field(default_factory=dict)
    """Manufacturer -> how to reach its support (filled in by the hospital)."""


def _text(value: object, where: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"{where}: expected text")
    return value.strip()


def parse_playbook(name: str, document: object) -> Playbook:
    """A playbook from its parsed YAML document; ``ValueError`` naming the field (``steps[2].phase: ...``)."""
    if not isinstance(document, Mapping):
        raise ValueError("the document is not a mapping (title, when, steps, downtime, contacts)")
    unknown = set(document) - {"title", "when", "steps", "downtime", "contacts", "manufacturer_support"}
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ValueError("steps: expected a non-empty list of {id, phase, who, text}")
    steps: list[Step] = []
    for i, raw in enumerate(raw_steps):
        where = f"steps[{i}]"
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: expected a mapping of id, phase, who, text")
        step_id = _text(raw.get("id"), f"{where}.id")
        if not _ID.match(step_id):
            raise ValueError(f"{where}.id: {step_id!r} is not a short lower-case id (letters, digits, '-')")
        if any(s.id == step_id for s in steps):
            raise ValueError(f"{where}.id: {step_id!r} is used twice")
        phase = _text(raw.get("phase"), f"{where}.phase")
        if phase not in PHASES:
            raise ValueError(f"{where}.phase: {phase!r} is not one of {', '.join(PHASES)}")
        who = _text(raw.get("who"), f"{where}.who")
        if who not in ROLES:
            raise ValueError(f"{where}.who: {who!r} is not one of {', '.join(ROLES)}")
        steps.append(Step(step_id, phase, _text(raw.get("text"), f"{where}.text"), who))
    raw_downtime = document.get("downtime") or {}
    if not isinstance(raw_downtime, Mapping):
        raise ValueError("downtime: expected a mapping of category -> list of procedures")
    downtime: dict[str, tuple[str, ...]] = {}
    for category, items in raw_downtime.items():
        if category not in CATEGORIES:
            raise ValueError(f"downtime.{category}: not one of {', '.join(CATEGORIES)}")
        if not isinstance(items, list) or not items:
            raise ValueError(f"downtime.{category}: expected a non-empty list of procedures")
        downtime[category] = tuple(_text(item, f"downtime.{category}[{k}]") for k, item in enumerate(items))
    raw_contacts = document.get("contacts") or []
    if not isinstance(raw_contacts, list):
        raise ValueError("contacts: expected a list of {role, name, reach}")
    contacts = []
    for i, raw in enumerate(raw_contacts):
        if not isinstance(raw, Mapping):
            raise ValueError(f"contacts[{i}]: expected a mapping of role, name, reach")
        contacts.append(Contact(_text(raw.get("role"), f"contacts[{i}].role"),
                                _text(raw.get("name"), f"contacts[{i}].name", required=False),
                                _text(raw.get("reach"), f"contacts[{i}].reach", required=False)))  # fmt: skip
    support = document.get("manufacturer_support") or {}
    if not isinstance(support, Mapping):
        raise ValueError("manufacturer_support: expected a mapping of manufacturer -> phone or address")
    return Playbook(
        name=name,
        title=_text(document.get("title"), "title"),
        when=_text(document.get("when"), "when"),
        steps=tuple(steps),
        downtime=downtime,
        contacts=tuple(contacts),
        manufacturer_support={str(k): _text(v, f"manufacturer_support.{k}") for k, v in support.items()},
    )


# ------------------------------------------------------------------------------------------------- the outcome


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What the inventory says about a device (for the affected list)."""

    id: int
    name: str
    device_type: str | None = None
    unit: str | None = None
    site: str | None = None
    criticality: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Affected:
    """One affected device and why."""

    device: DeviceInfo
    why: str
    status: str
    """``seed``, ``reached``, ``vulnerable`` (wannacry); ``reachable``, ``remote-service`` (vendor); ``recalled``."""
    zone: str | None = None
    step: int | None = None
    """Worm step at which it falls (wannacry)."""
    minutes: float | None = None

    @property
    def category(self) -> str:
        """Its clinical category (:func:`category_of`)."""
        return category_of(self.device.device_type)


@dataclass(frozen=True, slots=True)
class IsolationStep:
    """A containment action derived from the live data (a zone to isolate, a rule to disable)."""

    id: str
    """``isolate:riv-img``, ``rule:vendor-any-any``... (what an incident action names)."""
    action: str
    detail: str
    zone: str | None = None
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The affected devices and the isolation steps of one playbook run."""

    affected: tuple[Affected, ...]
    isolation: tuple[IsolationStep, ...]
    notes: tuple[str, ...] = ()
    """What the run could not use (no network model...), one line each."""
    facts: Mapping[str, Any] = field(default_factory=dict)
    """Numbers the run found (vulnerable hosts, reached, with 445 blocked...)."""

    @property
    def severity(self) -> Severity:
        """:func:`severity_of` the affected devices."""
        return severity_of((a.device.criticality, a.category) for a in self.affected)


def category_of(device_type: str | None) -> str:
    """The clinical category of a device type: its clinical function, else ``other``."""
    return worm.CLINICAL_FUNCTIONS.get(device_type or "", "other")


def by_unit_and_category(
    devices: Iterable[tuple[str | None, str]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Counts of (unit, clinical category) pairs by unit (with its categories) and by category, most first."""
    units: dict[str | None, Counter[str]] = {}
    categories: Counter[str] = Counter()
    for unit, category in devices:
        units.setdefault(unit, Counter())[category] += 1
        categories[category] += 1
    counted = sorted(units.items(), key=lambda u: (-sum(u[1].values()), u[0] is None, u[0] or ""))
    by_unit = [{"unit": unit, "devices": sum(c.values()), "categories": dict(sorted(c.items()))}
               for unit, c in counted]  # fmt: skip
    by_category = [{"category": k, "devices": n} for k, n in sorted(categories.items(), key=lambda i: (-i[1], i[0]))]
    return by_unit, by_category


def severity_of(devices: Iterable[tuple[str | None, str]]) -> Severity:
    """The severity of an incident from its affected devices' (criticality, clinical category): ``critical`` when
    a life-sustaining or life-supporting device is affected, ``high`` for any other clinical device, ``medium`` for
    other devices, ``low`` when none is affected."""
    pairs = list(devices)
    if any(criticality in _CRITICAL for criticality, _ in pairs):
        return "critical"
    if any(category != "other" for _, category in pairs):
        return "high"
    return "medium" if pairs else "low"


def _info(host: HostFacts, devices: Mapping[int, DeviceInfo]) -> DeviceInfo:
    if host.device_id is not None and host.device_id in devices:
        found = devices[host.device_id]
        return found if found.address else replace(found, address=host.address)
    return DeviceInfo(host.device_id or 0, host.name or host.address, host.device_type, host.unit, host.site,
                      host.criticality, address=host.address)  # fmt: skip


def _order(item: Affected) -> tuple[Any, ...]:
    rank = {"seed": 0, "reached": 1}.get(item.status, 2)
    return rank, item.step if item.step is not None else 1 << 30, item.device.unit or "\uffff", item.device.name


def _zone_text(model: NetworkModel, zone: str) -> str:
    found = model.zone(zone)
    if found is None:
        return zone
    parts = []
    if found.vlans:
        parts.append("VLAN " + ", ".join(map(str, found.vlans)))
    if found.subnets:
        more = f" and {len(found.subnets) - 4} more" if len(found.subnets) > 4 else ""
        parts.append(", ".join(found.subnets[:4]) + more)
    return f"{zone} ({'; '.join(parts)})" if parts else zone


# ------------------------------------------------------------------------------------------------------ wannacry


def _why_vulnerable(host: HostFacts) -> str:
    reasons = []
    if host.smbv1:
        reasons.append("offers SMBv1")
    cves = sorted(worm.MS17_010 & {v.upper() for v in host.vulnerabilities})
    if cves:
        reasons.append(f"MS17-010 not installed ({', '.join(cves)})")
    return f"{host.os or 'Windows'}: {' and '.join(reasons)}"


def wannacry(
    model: NetworkModel | None,
    hosts: Sequence[HostFacts],
    devices: Mapping[int, DeviceInfo],
    *,
    seeds: Sequence[str] = (),
    seed_zone: str | None = None,
    extra: Iterable[HostFacts] = (),
) -> Outcome:
    """The devices a WannaCry-like worm affects: those the worst case reaches from the seeds (default: every
    vulnerable host is a seed) plus every vulnerable host; ``extra`` are vulnerable devices with no address (never
    reached by the worm, listed all the same).  ``ValueError`` for an unknown seed zone or a bad address."""
    vulnerable = [h for h in hosts if worm.is_vulnerable(h)]
    vulnerable_extra = [h for h in extra if worm.is_vulnerable(h)]
    default = not seeds and seed_zone is None
    start = [h.address for h in vulnerable] if default else list(seeds)
    affected: dict[str, Affected] = {}
    notes: list[str] = []
    facts: dict[str, Any] = {"vulnerable": len(vulnerable) + len(vulnerable_extra), "seeds": list(start)}
    zone_of = model.zone_of if model is not None else (lambda _address: None)
    by_address = {a: h for h in hosts for a in (h.address, *h.extra_addresses)}
    isolation: list[IsolationStep] = []
    if model is not None:
        result = worm.worst_case(model, hosts, start, seed_zone)
        blocked = worm.worst_case(model, hosts, start, seed_zone,
                                  mitigation=worm.Mitigation(block_445_between_zones=True))  # fmt: skip
        facts.update(reached=len(result.infected_at), reached_if_445_blocked=len(blocked.infected_at))
        seed_set = set(result.seeds)
        for address, step in result.infected_at.items():
            if address not in by_address and seed_zone is not None:
                continue  # the infected visitor the service puts in the seed zone: no device of the inventory
            host = by_address.get(address) or HostFacts(address=address)
            minutes = step * result.parameters.step_minutes
            if step == 0 and address in seed_set and not default:
                why, status = f"patient zero ({'seed zone ' + seed_zone if seed_zone else 'seed host'})", "seed"
            elif step == 0:
                why, status = f"vulnerable ({_why_vulnerable(host)}); a seed of the worst case", "seed"
            else:
                why, status = (
                    f"reached by the worm at step {step} (~{minutes:g} min): {_why_vulnerable(host)}",
                    "reached",
                )
            affected[host.address] = Affected(_info(host, devices), why, status, zone_of(host.address), step, minutes)
    else:
        notes.append("no network model: listing the vulnerable devices only (import one with `wardwatch network "
                     "import` to see how far the worm spreads)")  # fmt: skip
    for host in vulnerable:
        if host.address not in affected:
            why = f"vulnerable ({_why_vulnerable(host)})"
            if model is not None:
                why += "; not reachable from the seed under today's rules: patch it before it is"
            affected[host.address] = Affected(_info(host, devices), why, "vulnerable", zone_of(host.address))
    for host in vulnerable_extra:
        info = devices.get(host.device_id or -1) or DeviceInfo(host.device_id or 0, host.name)
        affected[f"device:{info.id}"] = Affected(
            info, f"vulnerable ({_why_vulnerable(host)}); no address known: find it on the network by hand",
            "vulnerable")  # fmt: skip
    items = tuple(sorted(affected.values(), key=_order))
    if model is not None:
        isolation = _wannacry_isolation(model, items)
    elif items:
        isolation = [IsolationStep(
            "block-445", "Block tcp/445 and tcp/139 between every network segment",
            "no network model: block SMB at every router and firewall between VLANs",
        )]  # fmt: skip
    return Outcome(items, tuple(isolation), tuple(notes), facts)


def _wannacry_isolation(model: NetworkModel, items: Sequence[Affected]) -> list[IsolationStep]:
    if not items:
        return []
    by_zone: dict[str, list[str]] = {}
    for item in items:
        if item.zone is not None and item.device.address:
            by_zone.setdefault(item.zone, []).append(item.device.address)
    out = [IsolationStep("block-445", "Block tcp/445 and tcp/139 between zones",
                         "deny SMB (tcp/445, tcp/139) between every pair of zones at the core firewall and the "
                         "distribution switches; inside a VLAN the worm still spreads")]  # fmt: skip
    smb = [r for r in model.ordered_rules if r.action == "allow" and r.matches_service("tcp", 445) and r.name]
    for zone, addresses in sorted(by_zone.items(), key=lambda z: (-len(z[1]), z[0])):
        letting = [r.name for r in smb if _covers(r.destination, zone, addresses)]
        detail = f"{len(addresses)} affected device(s) in it"
        if letting:
            detail += "; rules letting tcp/445 in today: " + ", ".join(letting)
        out.append(IsolationStep(f"isolate:{zone}", f"Isolate {_zone_text(model, zone)}", detail, zone=zone))
    for rule in smb:
        if any(_covers(rule.destination, zone, addresses) for zone, addresses in by_zone.items()):
            detail = f"allows {_rule_text(rule)} ({rule.origin or 'the model'})"
            out.append(IsolationStep(f"rule:{rule.name}", f"Disable or narrow rule {rule.name}", detail,
                                     rule=rule.name))  # fmt: skip
    return out


def _covers(refs: Sequence[str], zone: str, addresses: Sequence[str]) -> bool:
    """Whether a rule side names the zone, ``any``, or a network holding one of the addresses."""
    for ref in refs:
        if ref in ("any", zone):
            return True
        if "/" in ref or ref[:1].isdigit() or ":" in ref:
            try:
                network = ipaddress.ip_network(ref, strict=False)
                if any(ipaddress.ip_address(a) in network for a in addresses):
                    return True
            except ValueError:
                continue
    return False


def _rule_text(rule: Rule) -> str:
    ports = ",".join(str(p) for p in rule.ports) or "any port"
    return f"{'/'.join(rule.source)} -> {'/'.join(rule.destination)} {rule.protocol} {ports}"


# ------------------------------------------------------------------------------------------------ vendor account


def vendor_account(
    model: NetworkModel | None,
    hosts: Sequence[HostFacts],
    devices: Mapping[int, DeviceInfo],
    *,
    remote_service: Mapping[int, bool | None] | None = None,
    keep: Iterable[int] | None = None,
) -> Outcome:
    """The devices a compromised vendor remote-access account reaches.

    With a model that has zones of kind ``vendor-remote``: every host an address of such a zone may reach on a
    :data:`REMOTE_SERVICES` port or a service it was seen serving (the first such service and the deciding rule
    are the evidence).  Otherwise: the devices whose MDS2 form says they take remote service connections
    (``remote_service``: device id -> the form's answer).  ``keep`` narrows to these device ids (one
    manufacturer)."""
    kept = None if keep is None else set(keep)
    zones = [z.name for z in model.zones if z.kind == "vendor-remote"] if model is not None else []
    notes: list[str] = []
    affected: list[Affected] = []
    isolation: list[IsolationStep] = [
        IsolationStep("disable-account", "Disable the vendor's remote-access account(s)",
                      "VPN account, certificates, tokens and jump-host logins of the vendor")]  # fmt: skip
    facts: dict[str, Any] = {"vendor_zones": zones}
    if model is not None and zones:
        reach = Reachability.build(model, hosts)
        sources = [c for z in zones for c in reach.source_classes_in(z)]
        rules: Counter[str] = Counter()
        memo: dict[tuple[int, tuple[str, int]], tuple[str, str | None] | None] = {}
        for host in hosts:
            if kept is not None and host.device_id not in kept:
                continue
            found = _vendor_reach(reach, sources, host, memo)
            if found is None:
                continue
            service, rule = found
            why = f"reachable from the vendor zone on {service}"
            why += f" (rule {rule})" if rule else " (no rule: the zone default)"
            if rule:
                rules[rule] += 1
            affected.append(Affected(_info(host, devices), why, "reachable", model.zone_of(host.address)))
        by_name = {r.name: r for r in model.rules if r.name}
        for name, count in sorted(rules.items(), key=lambda r: (-r[1], r[0])):
            named = by_name.get(name)
            detail = f"lets the vendor zone reach {count} device(s)"
            if named is not None:
                detail += f": {_rule_text(named)} ({named.origin or 'the model'})"
                if named.is_any_any:
                    detail += "; an any/any rule: remove it, do not narrow it"
            isolation.append(IsolationStep(f"rule:{name}", f"Disable rule {name}", detail, rule=name))
        isolation.extend(
            IsolationStep(f"isolate:{zone}", f"Shut the vendor zone {_zone_text(model, zone)}",
                          "no traffic from the vendor pool until the account is re-issued", zone=zone)
            for zone in zones
        )  # fmt: skip
    else:
        notes.append(
            "no vendor remote-access zone in the network model: listing the devices whose MDS2 form says they take "
            "remote service connections" if model is not None else
            "no network model: listing the devices whose MDS2 form says they take remote service connections"
        )  # fmt: skip
        answers = remote_service or {}
        for device_id, info in devices.items():
            if kept is not None and device_id not in kept:
                continue
            answer = answers.get(device_id)
            if answer is True:
                why = "its MDS2 form says it takes remote service connections (RMOT)"
            elif answer is None and kept is not None:
                why = "a device of this manufacturer; no MDS2 form rules out remote service"
            else:
                continue
            affected.append(Affected(info, why, "remote-service"))
    items = tuple(sorted(affected, key=_order))
    facts["devices"] = len(items)
    return Outcome(items, tuple(isolation) if items or zones else (), tuple(notes), facts)


def _vendor_reach(
    reach: Reachability,
    sources: Sequence[Any],
    host: HostFacts,
    memo: dict[tuple[int, tuple[str, int]], tuple[str, str | None] | None],
) -> tuple[str, str | None] | None:
    """(service, deciding rule name) of the first service a vendor address may reach on the host, or ``None``."""
    services = list(dict.fromkeys([*REMOTE_SERVICES, *((p, n) for p, n in host.services if p in ("tcp", "udp"))]))
    for address in (host.address, *host.extra_addresses):
        try:
            target = reach.destinations.lookup(address_key(address))
        except ValueError:
            continue
        for service in services:
            key = (target.id, service)
            if key not in memo:
                memo[key] = None
                for source in sources:
                    decision, _ = reach.decide_classes(source, target, *service)
                    if decision.action == "allow":
                        rule = decision.rule
                        memo[key] = (service_text(service), (rule.name or rule.origin) if rule else None)
                        break
            if memo[key] is not None:
                return memo[key]
    return None


# ------------------------------------------------------------------------------------------------------- recall


@dataclass(frozen=True, slots=True)
class RecallInfo:
    """What the stored openFDA record says about a recall (``None`` fields: not known)."""

    number: str
    classification: str | None = None
    status: str | None = None
    reason: str | None = None
    action: str | None = None
    """The manufacturer's action (openFDA ``action``)."""
    firm: str | None = None
    product: str | None = None
    posted: str | None = None

    @property
    def open(self) -> bool:
        """Not terminated or completed (an unknown status counts as open)."""
        return not (self.status or "").strip().lower().startswith(("terminated", "completed", "closed"))


def recall(
    matches: Iterable[tuple[int, str, Sequence[str]]],
    devices: Mapping[int, DeviceInfo],
    recalls: Mapping[str, RecallInfo],
    *,
    only: str | None = None,
) -> Outcome:
    """The devices matched to recalls: ``matches`` are (device id, recall number, evidence lines); ``only`` one
    recall number (``LookupError`` when no device matches it and no record names it), else every open recall."""
    wanted = None if only is None else only.strip().upper()
    affected: list[Affected] = []
    per_recall: Counter[str] = Counter()
    for device_id, number, evidence in matches:
        info = recalls.get(number) or RecallInfo(number)
        if wanted is not None and number.upper() != wanted:
            continue
        if wanted is None and not info.open:
            continue
        device = devices.get(device_id)
        if device is None:
            continue
        parts = [f"recall {number}"]
        if info.classification:
            parts.append(info.classification)
        why = " ".join(parts) + (f": {evidence[0]}" if evidence else "")
        if info.reason:
            why += f"; reason: {info.reason}"
        if info.action:
            why += f"; manufacturer's action: {info.action}"
        per_recall[number] += 1
        affected.append(Affected(device, why, "recalled"))
    if wanted is not None and not per_recall and wanted not in {k.upper() for k in recalls}:
        known = ", ".join(sorted({n for _, n, _ in matches})[:8]) or "none matched the inventory"
        raise LookupError(f"recall {only!r} matches no device and no stored recall (known: {known})")
    isolation = []
    for number, count in sorted(per_recall.items()):
        info = recalls.get(number) or RecallInfo(number)
        action = info.action or "see the recall notice"
        isolation.append(IsolationStep(f"recall:{number}", f"Carry out recall {number} on {count} device(s)",
                                       f"manufacturer's action: {action}"))  # fmt: skip
    facts = {"recalls": sorted(per_recall), "devices": len(affected)}
    notes = [] if per_recall else ["no open recall matches a device in the inventory (import openFDA recalls with "
                                   "`wardwatch intel import recalls.json`)"]  # fmt: skip
    return Outcome(tuple(sorted(affected, key=_order)), tuple(isolation), tuple(notes), facts)
