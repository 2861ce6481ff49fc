"""The sample hospital's clinical alarm-delivery network (METHODS.md section 5): an alarm topology with two
deliberate flaws, a week (small: a day) of observed deliveries, and a synthetic health system for the benchmark.

**The topology** (:func:`build_alarm_topology`, docs/alarms.md) derives from the hospital plan.  Every clinical unit
with alarm-raising devices (patient monitors, telemetry, infusion/syringe/PCA pumps, ventilators, nurse call; the
Biomed Shop's bench devices raise no clinical alarms) gets one alarm source per device kind, two access switches,
one or two APs of its own (two where it has more than :data:`TWO_AP_DEVICES` alarm devices), a nurse phone group, a
charge-nurse pager and a central station.  An alarm travels::

    devices --Wi-Fi 5 GHz--> unit AP --> access switch --> distribution --> core (--> WAN --> main site core)
      --> device gateway pair --> ALARM SERVER --> middleware pair --> paging/phone gateway pair
      --> WLC pair --(CAPWAP tunnel, then the AP's radio)--> the unit's nurse phones
    (escalation: paging gateway --> on-site paging transmitter --> the charge-nurse pager, after 30 s)

Bedside devices fall back to 2.4 GHz, which only the building's corridor AP radiates (2.4 GHz radios are off on
the room APs to limit co-channel interference); nurse call is wired to both access switches.  The application hops
and the radio hops are *directed* links, so a route cannot skip a server; the physical cabling is bidirectional.
The hop from the WLC to the phones is one link per (WLC, AP) -- a separate link, not through the AP node, which
would let an alarm go from a monitor to a phone through the AP without the servers -- listed in the RF group of its
band and in the power group of the AP's switch, so losing the AP's power or its band also silences the phones behind
it (an AP failing alone is seen by the devices; its phones' hop stays, which changes no verdict: every unit has a
second way).

Shared-risk groups: per unit and band the RF groups ``rf-<unit>-5ghz`` / ``rf-<unit>-2.4ghz`` (jamming), per switch
``power-<switch>`` (its circuit, with the APs it powers and their phone hops; each WLC shares the circuit of one core
switch), and the two VM hosts of the servers.

**The flaws** (what ``alarms verify`` must find with k=1):

1. one alarm server (:data:`ALARM_SERVER`, on VM host ``vmhost-1``): every unit's alarms stop when it fails.
   Everything else is duplicated, so with the candidate ``second-alarm-server`` applied every other unit passes;
2. in one ICU (the first unit whose name contains "ICU", else the first with ventilators) the patient monitors
   *and* the nurse phones use only the 5 GHz band of the same APs: jamming ``rf-<icu>-5ghz`` cuts both.
   Candidates: a 2.4 GHz fallback on the corridor AP, or wired bedside ports plus DECT.

Latencies are drawn from the seed inside realistic ranges (Wi-Fi 0.1-0.5 s, wired 1-10 ms bounds, alarm server
1-1.2 s, middleware and paging gateway 0.5 s, phone 0.5 s) and kept low enough that one failover (at most the
servers' 5 s ack timeout + 1 s retry) still fits the 10 s high-priority budget.

**Deliveries** (:func:`write_alarms`, ``alarms/deliveries.csv``): heartbeats from every high-priority source to its
unit's phones (every 60 s, or the smallest multiple of 60 s that keeps the file within :data:`HEARTBEAT_ROWS`; from
medium on, a week of them would need more than :data:`MAX_HEARTBEAT_S`, so only the first sources are probed),
with one silence of about 10 minutes on the flawed ICU's monitors, and :data:`TEST_ALARMS` test alarms of which a few
are late and two are lost.  Heartbeats carry no priority: they are probes, not IEC 60601-1-8 alarms, and their
60 s sampling must not be judged against the 2 s heartbeat the budgets claim.

Everything is deterministic: the same hospital (size, seed) gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from wardwatch.domain.alarm_model import (
    GROUP_KINDS,
    AlarmSource,
    AlarmTopology,
    Budget,
    Candidate,
    Failover,
    Latency,
    Link,
    Medium,
    Node,
    Priority,
    RiskGroup,
)
from wardwatch.simulate._devices import TODAY
from wardwatch.simulate._model import Hospital, Site, Unit
from wardwatch.simulate._network import BIOMED_UNIT

__all__ = [
    "ALARMS_DIR",
    "ALARM_SERVER",
    "DELIVERIES_CSV",
    "DELIVERY_COLUMNS",
    "HEARTBEAT_ROWS",
    "MAX_HEARTBEAT_S",
    "TEST_ALARMS",
    "TOPOLOGY_YAML",
    "TWO_AP_DEVICES",
    "SampleAlarms",
    "bench_topology",
    "build_alarm_topology",
    "render_yaml",
    "sample_alarms",
    "write_alarms",
]

ALARMS_DIR, TOPOLOGY_YAML, DELIVERIES_CSV = "alarms", "topology.yaml", "deliveries.csv"
ALARM_SERVER = "alarm-server-1"
"""The single alarm server: the single point of failure of every unit."""
TWO_AP_DEVICES = 10
"""A unit with more alarm devices than this has two APs of its own (the flawed ICU always has two)."""
TEST_ALARMS = 50
"""Test alarms in deliveries.csv."""
HEARTBEAT_ROWS: dict[str, int] = {"small": 20_000, "medium": 60_000, "large": 100_000, "xl": 150_000}
"""At most how many heartbeat rows deliveries.csv holds per size: the interval grows in steps of 60 s to fit, up to
:data:`MAX_HEARTBEAT_S`; past that only the first high-priority sources (main site first) are probed."""
MAX_HEARTBEAT_S = 240
"""The longest heartbeat interval written, so that a silence of about 10 minutes is still three missed beats."""
DELIVERY_COLUMNS = (
    "source", "recipient", "sent", "received", "acknowledged", "unit", "priority", "alarm_type", "heartbeat", "path",
)  # fmt: skip

#: Alarm type -> IEC 60601-1-8 priority (local policy of the sample hospital).
PRIORITY_OF: dict[str, Priority] = {
    "arrhythmia": Priority.HIGH, "apnea": Priority.HIGH, "occlusion": Priority.HIGH, "disconnect": Priority.HIGH,
    "code-blue": Priority.HIGH, "spo2-low": Priority.MEDIUM, "high-pressure": Priority.MEDIUM,
    "staff-assist": Priority.MEDIUM, "infusion-complete": Priority.LOW, "patient-call": Priority.LOW,
}  # fmt: skip
#: Priority -> the longest acceptable delivery to the nurse phones (METHODS.md 5.3 defaults, local policy).
BUDGET_S: dict[Priority, float] = {Priority.HIGH: 10.0, Priority.MEDIUM: 30.0, Priority.LOW: 120.0}
ESCALATE_AFTER_S = 30.0
HEARTBEAT_S, HEARTBEAT_MISSES = 2.0, 3
_RATIONALE = {
    Priority.HIGH: "Life-threatening onset: the nurse's phone within 10 s, the charge nurse after 30 s unanswered "
    "(local policy, not a number from a standard)",
    Priority.MEDIUM: "Prompt onset: the nurse's phone within 30 s (local policy)",
    Priority.LOW: "Delayed onset: the nurse's phone within 2 minutes (local policy)",
}
_CLINICIANS = (
    "Dr. Amara Okafor", "Dr. Lucas Brennan", "Dr. Mei Tanaka", "Dr. Rafael Ortiz", "Dr. Hannah Weiss",
    "Dr. Samuel Adeyemi", "Dr. Ingrid Larsen", "Dr. Priya Natarajan", "Dr. Tomasz Nowak", "Dr. Leila Haddad",
)  # fmt: skip
_SITE_SUFFIXES = (" General Hospital", " Community Health Center")


@dataclass(frozen=True, slots=True)
class _Kind:
    """An alarm source kind: the generator kinds it groups and the alarms it raises."""

    device_kind: str
    suffix: str
    label: str
    alarms: tuple[str, ...]
    wifi: bool
    generator_kinds: frozenset[str]


_KINDS: tuple[_Kind, ...] = (
    _Kind("monitor", "monitors", "patient monitors", ("arrhythmia", "apnea", "spo2-low"), True,
          frozenset({"patient_monitor", "hemodynamic_monitor"})),
    _Kind("telemetry", "telemetry", "telemetry transmitters", ("arrhythmia", "spo2-low"), True,
          frozenset({"telemetry"})),
    _Kind("pump", "pumps", "infusion pumps", ("occlusion", "infusion-complete"), True,
          frozenset({"infusion_pump", "syringe_pump", "pca_pump"})),
    _Kind("ventilator", "ventilators", "ventilators", ("disconnect", "high-pressure"), True,
          frozenset({"ventilator"})),
    _Kind("nurse-call", "nurse-call", "nurse call system", ("code-blue", "staff-assist", "patient-call"), False,
          frozenset({"nurse_call"})),
)  # fmt: skip
_FLAWED_KINDS = frozenset({"monitor", "telemetry"})
"""In the flawed ICU these use 5 GHz only (pumps and ventilators keep their 2.4 GHz fallback)."""

# Failover: (detection, retry) seconds of the node before a broken hop.
_ROAM = Failover(3.0, 1.0)
"""A Wi-Fi client noticing its AP is gone (beacon loss) and re-associating elsewhere."""
_ACK = Failover(5.0, 1.0)
"""A server waiting for the next hop's acknowledgement, then resending to its partner."""
_SWITCH = Failover(1.0, 0.5)
"""Link down / LACP: traffic moves to the other uplink."""
_WIRED_SOURCE = Failover(1.0, 1.0)
_NO_FAILOVER = Failover()


# --- small helpers ------------------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _r(value: float) -> float:
    return round(value, 4)


def _range(rng: random.Random, low: float, high: float, typical_share: float = 0.25) -> Latency:
    """A delay whose upper bound is drawn from [low, high] seconds."""
    top = _r(rng.uniform(low, high))
    typical = _r(top * typical_share)
    return Latency(0.0, typical, top)


def _wifi(rng: random.Random, band: str) -> Latency:
    return _range(rng, 0.1, 0.2, 0.15) if band == "5ghz" else _range(rng, 0.25, 0.5, 0.15)


def _wired(rng: random.Random, wan: bool = False) -> Latency:
    return _range(rng, 0.005, 0.01, 0.4) if wan else _range(rng, 0.001, 0.005, 0.3)


def _internal(rng: random.Random) -> Latency:
    return _range(rng, 0.001, 0.002, 0.3)


def _place(site: Site) -> str:
    name = site.name
    for suffix in _SITE_SUFFIXES:
        name = name.removesuffix(suffix)
    return name


# --- the builder ----------------------------------------------------------------------------------------------


class _Builder:
    """Collects nodes, links and groups in order, with the section (a YAML comment) each starts under."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.links: list[Link] = []
        self.groups: dict[str, tuple[str, str, list[str]]] = {}
        self.sources: list[AlarmSource] = []
        self.budgets: list[Budget] = []
        self.candidates: list[Candidate] = []
        self.section = ""
        self.node_sections: dict[str, str] = {}
        self.link_sections: dict[str, str] = {}
        self.group_sections: dict[str, str] = {}
        self.ids: set[str] = set()
        self.corridor_of: dict[str, tuple[str, str]] = {}
        """Unit slug -> its building's corridor AP and the switch that powers it."""

    def _claim(self, element_id: str) -> None:
        if element_id in self.ids:
            raise ValueError(f"id {element_id!r} used twice")  # a bug of this generator, never user input
        self.ids.add(element_id)

    def node(self, node_id: str, kind: str, name: str, processing: Latency, *, unit: str | None = None,
             site: str | None = None, failover: Failover = _NO_FAILOVER,
             failable: bool | None = None) -> str:  # fmt: skip
        self._claim(node_id)
        self.nodes.append(
            Node(
                node_id,
                kind,
                name,
                unit,
                site,
                processing,
                failover,
                kind not in GROUP_KINDS if failable is None else failable,
            )
        )
        self.node_sections[node_id] = self.section
        return node_id

    def link(self, a: str, b: str, latency: Latency, medium: Medium = Medium.WIRED, *, link_id: str | None = None,
             directed: bool = False, capacity: float | None = None) -> str:  # fmt: skip
        element_id = link_id or f"{a}--{b}"
        self._claim(element_id)
        self.links.append(Link(element_id, a, b, latency, medium, capacity, not directed))
        self.link_sections[element_id] = self.section
        return element_id

    def group(self, group_id: str, kind: str, description: str) -> str:
        if group_id not in self.groups:
            self._claim(group_id)
            self.groups[group_id] = (kind, description, [])
            self.group_sections[group_id] = self.section
        return group_id

    def join(self, group_id: str, *members: str) -> None:
        self.groups[group_id][2].extend(members)

    def topology(self, name: str) -> AlarmTopology:
        groups = tuple(
            RiskGroup(gid, kind, frozenset(members), description)
            for gid, (kind, description, members) in self.groups.items()
            if members
        )
        return AlarmTopology(
            tuple(self.nodes), tuple(self.links), groups, tuple(self.sources), tuple(self.budgets),
            tuple(self.candidates), name,
        )  # fmt: skip


# --- the sample hospital --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AlarmUnit:
    unit: Unit
    site: Site
    label: str
    """The unit's name in the topology (the site's place name in front outside the main site)."""
    slug: str
    """Id prefix: ``riv-icue``, ``lak-uc``."""
    building: str
    kinds: tuple[tuple[_Kind, int], ...]
    aps: int
    flawed: bool

    @property
    def devices(self) -> int:
        return sum(count for _, count in self.kinds)


@dataclass(frozen=True, slots=True)
class SampleAlarms:
    """The sample hospital's alarm topology and the facts tests and the demo need about it."""

    topology: AlarmTopology
    flawed_unit: str
    """The ICU whose monitors and phones share the 5 GHz band (its topology unit name)."""
    flawed_group: str
    """Its RF group id: jamming it cuts monitors and phones at once."""
    flawed_slug: str
    """Id prefix of the flawed unit's nodes (``riv-icue``)."""
    alarm_server: str
    units: tuple[str, ...]
    """Every unit with alarm sources, in topology order."""
    sections: tuple[dict[str, str], dict[str, str], dict[str, str]]
    """Node, link and group id -> the YAML comment it is listed under."""


def _alarm_units(hospital: Hospital) -> list[_AlarmUnit]:
    main = hospital.sites[0].site_id
    sites = {s.site_id: s for s in hospital.sites}
    found: list[tuple[Unit, tuple[tuple[_Kind, int], ...]]] = []
    for unit, plan in zip(hospital.units, hospital.plans, strict=True):
        if unit.name == BIOMED_UNIT:
            continue
        counts = dict(plan.type_counts)
        kinds = tuple(
            (kind, total) for kind in _KINDS if (total := sum(counts.get(k, 0) for k in kind.generator_kinds)) > 0
        )
        if kinds:
            found.append((unit, kinds))
    if not found:
        return []
    icu = next((u for u, _ in found if "ICU" in u.name), None)
    if icu is None:
        icu = next((u for u, kinds in found if any(k.device_kind == "ventilator" for k, _ in kinds)), found[0][0])
    out: list[_AlarmUnit] = []
    for unit, kinds in found:
        site = sites[unit.site_id]
        label = unit.name.replace("/", " and ")
        slug = f"{site.code.lower()}-{unit.code}" if unit.site_id == main else unit.code
        flawed = unit is icu
        devices = sum(c for _, c in kinds)
        aps = 2 if devices > TWO_AP_DEVICES or flawed else 1
        out.append(
            _AlarmUnit(unit, site, label if unit.site_id == main else f"{_place(site)} {label}", slug,
                       unit.building, kinds, aps, flawed)
        )  # fmt: skip
    return out


def sample_alarms(hospital: Hospital) -> SampleAlarms:
    """The sample hospital's alarm topology with the facts about its flaws (see the module docstring)."""
    rng = random.Random(f"wardwatch-alarms/{hospital.size}/{hospital.seed}")  # noqa: S311 - simulation
    units = _alarm_units(hospital)
    if not units:  # every planned size has clinical units; a guard for hand-made plans
        raise ValueError("the hospital has no unit with alarm-raising devices")
    main_site = hospital.sites[0]
    b = _Builder()
    dc = _data_centre(b, rng, main_site)
    sites = [s for s in hospital.sites if any(u.site.site_id == s.site_id for u in units)]
    for site in sites:
        _site_network(b, rng, site, main_site, units, dc)
    approved = datetime.combine(date(2024, 12, 2) + timedelta(days=hospital.seed % 14), time(9, 0), UTC)
    for i, unit in enumerate(units):
        clinician = _CLINICIANS[rng.randrange(len(_CLINICIANS))]
        _budgets(b, unit.label, unit.slug, [k for k, _ in unit.kinds], clinician, approved + timedelta(minutes=10 * i))
    flawed = next(u for u in units if u.flawed)
    _candidates(b, rng, flawed, main_site)
    name = f"{main_site.name} alarm network (Wardwatch sample hospital, size {hospital.size}, seed {hospital.seed})"
    return SampleAlarms(
        topology=b.topology(name),
        flawed_unit=flawed.label,
        flawed_group=f"rf-{flawed.slug}-5ghz",
        flawed_slug=flawed.slug,
        alarm_server=ALARM_SERVER,
        units=tuple(u.label for u in units),
        sections=(b.node_sections, b.link_sections, b.group_sections),
    )


def build_alarm_topology(hospital: Hospital) -> AlarmTopology:
    """The sample hospital's alarm-delivery topology (module docstring: what is in it and its two flaws)."""
    return sample_alarms(hospital).topology


@dataclass(frozen=True, slots=True)
class _DataCentre:
    gateways: tuple[str, str]
    middleware: tuple[str, str]
    paging: tuple[str, str]
    wlcs: tuple[str, str]
    paging_tx: str


def _pair(items: Iterator[str]) -> tuple[str, str]:
    first, second = items
    return first, second


def _data_centre(b: _Builder, rng: random.Random, site: Site) -> _DataCentre:
    where = site.name
    b.section = f"Data centre ({where}): gateways, the one alarm server, middleware, paging, WLCs"
    vm = [b.group(f"vmhost-{i}", "server", f"VM host {i} in the {_place(site)} data centre") for i in (1, 2)]
    gateways = _pair(
        b.node(f"dev-gw-{i}", "gateway", f"Device gateway {i} (monitor, pump, ventilator and nurse-call interfaces)",
               Latency(0.0, 0.05, _r(rng.uniform(0.1, 0.2))), site=where, failover=_ACK)
        for i in (1, 2)
    )  # fmt: skip
    server = b.node(ALARM_SERVER, "alarm-server", "Alarm server",
                    Latency(0.0, 0.3, _r(rng.uniform(1.0, 1.2))), site=where, failover=_ACK)  # fmt: skip
    middleware = _pair(
        b.node(f"middleware-{i}", "middleware", f"Alarm notification middleware {i}", Latency(0.0, 0.15, 0.5),
               site=where, failover=_ACK)
        for i in (1, 2)
    )  # fmt: skip
    paging = _pair(
        b.node(f"paging-gw-{i}", "paging", f"Paging and phone gateway {i}", Latency(0.0, 0.2, 0.5), site=where,
               failover=_ACK)
        for i in (1, 2)
    )  # fmt: skip
    wlcs = _pair(
        b.node(f"wlc-{i}", "wlc", f"Wireless LAN controller {i} (HA pair)", Latency(0.0, 0.002, 0.01), site=where,
               failover=_ROAM)
        for i in (1, 2)
    )  # fmt: skip
    tx = b.node("paging-tx", "paging", "On-site paging transmitter", Latency(0.0, 0.5, 1.0), site=where)
    for i in (0, 1):
        b.join(vm[i], gateways[i], middleware[i], paging[i])
    b.join(vm[0], server)
    for gateway in gateways:
        b.link(gateway, server, _internal(rng), Medium.INTERNAL, directed=True)
    for mw in middleware:
        b.link(server, mw, _internal(rng), Medium.INTERNAL, directed=True)
    for mw in middleware:
        for pg in paging:
            b.link(mw, pg, _internal(rng), Medium.INTERNAL, directed=True)
    for pg in paging:
        for wlc in wlcs:
            b.link(pg, wlc, _wired(rng), directed=True)
        b.link(pg, tx, _wired(rng), directed=True)
    return _DataCentre(gateways, middleware, paging, wlcs, tx)


def _site_network(b: _Builder, rng: random.Random, site: Site, main: Site, units: Sequence[_AlarmUnit],
                  dc: _DataCentre) -> None:  # fmt: skip
    code = site.code.lower()
    place = _place(site)
    b.section = f"{site.name}: core switches" + ("" if site is main else f" and the WAN to {_place(main)}")
    cores = tuple(
        b.node(f"{code}-core-{i}", "switch", f"{place} core switch {i}", Latency(0.0, 0.0001, 0.0005), site=site.name,
               failover=_SWITCH)
        for i in (1, 2)
    )  # fmt: skip
    powers = {c: b.group(f"power-{c}", "power", f"Power circuit of {place} core switch {i}")
              for i, c in enumerate(cores, 1)}  # fmt: skip
    for core in cores:
        b.join(powers[core], core)
    b.link(cores[0], cores[1], _wired(rng), capacity=40_000)
    if site is main:
        for core in cores:
            for gateway in dc.gateways:
                b.link(core, gateway, _wired(rng), directed=True)
        for core, wlc in zip(cores, dc.wlcs, strict=True):
            b.join(powers[core], wlc)  # each WLC sits in the rack of one core switch
    else:
        main_code = main.code.lower()
        for i, core in enumerate(cores, 1):
            b.link(core, f"{main_code}-core-{i}", _wired(rng, wan=True), capacity=10_000)
    site_units = [u for u in units if u.site.site_id == site.site_id]
    for building in dict.fromkeys(u.building for u in site_units):
        prefix = f"{code}-{_slug(building)}"
        b.section = f"{site.name}, {building}: distribution switches and the corridor AP (2.4 GHz)"
        dists = tuple(
            b.node(f"{prefix}-dist-{i}", "switch", f"{place} {building} distribution switch {i}",
                   Latency(0.0, 0.0001, 0.0005), site=site.name, failover=_SWITCH)
            for i in (1, 2)
        )  # fmt: skip
        for dist in dists:
            b.join(b.group(f"power-{dist}", "power", f"Power circuit of {dist} and the APs it powers"), dist)
            for core in cores:
                b.link(dist, core, _wired(rng), capacity=10_000)
        b.link(dists[0], dists[1], _wired(rng), capacity=10_000)
        corridor = b.node(f"{prefix}-corridor-ap", "ap", f"{place} {building} corridor AP (2.4 GHz)",
                          Latency(0.0, 0.001, 0.005), site=site.name, failover=_ROAM)  # fmt: skip
        b.link(corridor, dists[1], _wired(rng))
        b.join(f"power-{dists[1]}", corridor)
        for unit in (u for u in site_units if u.building == building):
            _unit(b, rng, unit, dists, corridor, dc)


def _unit(b: _Builder, rng: random.Random, unit: _AlarmUnit, dists: tuple[str, ...], corridor: str,
          dc: _DataCentre) -> None:  # fmt: skip
    u, name = unit.slug, unit.label  # the unit's nodes carry the unit, whose name says the site
    flaw = " -- THE FLAW: monitors and phones on 5 GHz only" if unit.flawed else ""
    b.section = f"{name}{flaw}"
    b.corridor_of[u] = (corridor, dists[1])
    accs = tuple(
        b.node(f"{u}-acc-{i}", "switch", f"{name} access switch {i}", Latency(0.0, 0.0001, 0.0005), unit=name,
               failover=_SWITCH)
        for i in (1, 2)
    )  # fmt: skip
    for acc in accs:
        b.join(b.group(f"power-{acc}", "power", f"Power circuit of {name} access switch {acc[-1]} and its APs"), acc)
        for dist in dists:
            b.link(acc, dist, _wired(rng), capacity=10_000)
    aps: list[tuple[str, str]] = []  # (ap id, its switch)
    for i in range(1, unit.aps + 1):
        acc = accs[(i - 1) % 2]
        ap = b.node(f"{u}-ap{i}", "ap", f"{name} AP {i}", Latency(0.0, 0.001, 0.005), unit=name,
                    failover=_ROAM)  # fmt: skip
        b.link(ap, acc, _wired(rng))
        b.join(f"power-{acc}", ap)
        aps.append((ap, acc))
    rf5 = b.group(f"rf-{u}-5ghz", "rf", f"5 GHz band in {name} (jamming, interference)")
    rf24 = b.group(f"rf-{u}-2.4ghz", "rf", f"2.4 GHz band in {name} (on the corridor AP)")
    for kind, count in unit.kinds:
        source = b.node(f"{u}-{kind.suffix}", "source", f"{name} {kind.label}", Latency(0.0, 0.05, 0.2), unit=name,
                        failover=_ROAM if kind.wifi else _WIRED_SOURCE)  # fmt: skip
        b.sources.append(AlarmSource(source, name, kind.device_kind, kind.alarms, count))
        if not kind.wifi:  # nurse call: wired to both access switches
            for acc in accs:
                b.link(source, acc, _wired(rng), directed=True)
            continue
        for ap, _ in aps:
            b.join(rf5, b.link(source, ap, _wifi(rng, "5ghz"), Medium.WIFI, directed=True))
        if not (unit.flawed and kind.device_kind in _FLAWED_KINDS):
            b.join(rf24, b.link(source, corridor, _wifi(rng, "2.4ghz"), Medium.WIFI, directed=True))
    # a group of handsets (not failable: docs/alarms.md); the charge nurse's pager is one device
    phones = b.node(f"{u}-phones", "phone", f"{name} nurse phones", Latency(0.0, 0.2, 0.5), unit=name)
    paths = [(acc, "ap" + ap.rsplit("-ap", 1)[1], "5ghz") for ap, acc in aps]
    if not unit.flawed:
        paths.append((dists[1], "corridor", "2.4ghz"))
    for switch, tag, band in paths:
        for wlc in dc.wlcs:
            hop = b.link(wlc, phones, _wifi(rng, band), Medium.WIFI, link_id=f"{wlc}--{phones}.{tag}", directed=True)
            b.join(rf5 if band == "5ghz" else rf24, hop)
            b.join(f"power-{switch}", hop)
    pager = b.node(f"{u}-charge-pager", "pager", f"{name} charge-nurse pager", Latency(0.0, 1.0, 2.0), unit=name,
                   failable=True)  # fmt: skip
    b.link(dc.paging_tx, pager, Latency(0.0, 1.5, 4.0), Medium.CELLULAR, directed=True)
    central = b.node(f"{u}-central", "central-station", f"{name} central station (shows the monitors directly)",
                     Latency(0.0, 0.1, 0.3), unit=name)  # fmt: skip
    b.link(accs[0], central, _wired(rng), directed=True)


def _budgets(b: _Builder, label: str, slug: str, kinds: Sequence[_Kind], clinician: str, approved: datetime) -> None:
    """One budget per alarm type the unit's sources raise, approved by ``clinician`` at ``approved``."""
    alarms = dict.fromkeys(a for kind in kinds for a in kind.alarms)
    order = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}
    for alarm in sorted(alarms, key=lambda a: order[PRIORITY_OF[a]]):
        priority = PRIORITY_OF[alarm]
        high = priority is Priority.HIGH
        b.budgets.append(
            Budget(
                unit=label, alarm_type=alarm, priority=priority, max_delivery_s=BUDGET_S[priority],
                primary=(f"{slug}-phones",), escalation=(f"{slug}-charge-pager",) if high else (),
                escalate_after_s=ESCALATE_AFTER_S if high else None,
                confirmed=high, heartbeat_interval_s=HEARTBEAT_S if high else None, heartbeat_misses=HEARTBEAT_MISSES,
                approved_by=clinician, approved_at=approved, rationale=_RATIONALE[priority],
            )
        )  # fmt: skip


def _candidates(b: _Builder, rng: random.Random, icu: _AlarmUnit, main: Site) -> None:
    server2 = Node("alarm-server-2", "alarm-server", "Second alarm server (on VM host 2)",
                   processing=Latency(0.0, 0.3, 1.0), site=main.name, failover=_ACK)  # fmt: skip
    b.candidates.append(
        Candidate(
            id="second-alarm-server",
            description="A second alarm server on VM host 2, fed by both device gateways and feeding both middleware "
            "servers (removes the single point of failure of every unit)",
            nodes=(server2,),
            links=tuple(Link(f"{g}--alarm-server-2", g, "alarm-server-2", _internal(rng), Medium.INTERNAL,
                             bidirectional=False) for g in ("dev-gw-1", "dev-gw-2"))
            + tuple(Link(f"alarm-server-2--{m}", "alarm-server-2", m, _internal(rng), Medium.INTERNAL,
                         bidirectional=False) for m in ("middleware-1", "middleware-2")),
            groups={"vmhost-2": frozenset({"alarm-server-2"})},
            cost=3.0,
        )
    )  # fmt: skip
    u = icu.slug
    corridor, dist2 = b.corridor_of[u]
    flawed_sources = [f"{u}-{k.suffix}" for k, _ in icu.kinds if k.device_kind in _FLAWED_KINDS]
    phones = f"{u}-phones"
    up = tuple(Link(f"{s}--{corridor}", s, corridor, _wifi(rng, "2.4ghz"), Medium.WIFI, bidirectional=False)
               for s in flawed_sources)  # fmt: skip
    down = tuple(Link(f"{w}--{phones}.corridor", w, phones, _wifi(rng, "2.4ghz"), Medium.WIFI, bidirectional=False)
                 for w in ("wlc-1", "wlc-2"))  # fmt: skip
    rf24 = f"rf-{u}-2.4ghz"
    joins: dict[str, frozenset[str]] = {f"power-{dist2}": frozenset(d.id for d in down)}
    if b.groups[rf24][2]:  # the group exists (the ICU's pumps or ventilators use 2.4 GHz)
        joins[rf24] = frozenset(link.id for link in up + down)
    b.candidates.append(
        Candidate(
            id=f"{u}-2.4ghz-fallback",
            description=f"Let the {icu.label} monitors and nurse phones fall back to 2.4 GHz on the corridor AP, "
            "so jamming 5 GHz no longer cuts both",
            links=up + down,
            groups=joins,
            cost=1.0,
        )
    )  # fmt: skip
    dect = tuple(
        Node(f"{u}-dect-base-{i}", "dect-base", f"{icu.label} DECT base station {i}",
             processing=Latency(0.0, 0.02, 0.05),
             unit=icu.label, failover=_ROAM)
        for i in (1, 2)
    )  # fmt: skip
    wired = tuple(Link(f"{s}--{u}-acc-{i}", s, f"{u}-acc-{i}", _wired(rng), bidirectional=False)
                  for s in flawed_sources for i in (1, 2))  # fmt: skip
    feeds = tuple(Link(f"{pg}--{d.id}", pg, d.id, _wired(rng), bidirectional=False)
                  for pg in ("paging-gw-1", "paging-gw-2") for d in dect)  # fmt: skip
    air = tuple(Link(f"{d.id}--{phones}", d.id, phones, Latency(0.0, 0.05, 0.15), Medium.DECT, bidirectional=False)
                for d in dect)  # fmt: skip
    b.candidates.append(
        Candidate(
            id=f"{u}-wired-and-dect",
            description=f"Wire the {icu.label} monitors to the bedside ports and add DECT base stations for the nurse "
            "handsets (Wi-Fi jamming then touches neither)",
            nodes=dect,
            links=wired + feeds + air,
            groups={f"power-{u}-acc-1": frozenset({dect[0].id}), f"power-{u}-acc-2": frozenset({dect[1].id})},
            cost=4.0,
        )
    )  # fmt: skip


# --- YAML -----------------------------------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z][\w .()/&+'-]*[\w.)]|[A-Za-z]")
_RESERVED = frozenset({"yes", "no", "true", "false", "on", "off", "null", "y", "n"})


def _num(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return format(Decimal(repr(float(value))), "f")


def _text(value: str) -> str:
    if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _latency(value: Latency) -> str:
    if value.min_s == value.typical_s == value.max_s:
        return _num(value.max_s)
    low = f"min: {_num(value.min_s)}, " if value.min_s else ""
    return f"{{{low}typical: {_num(value.typical_s)}, max: {_num(value.max_s)}}}"


def _node_yaml(node: Node) -> str:
    parts = [f"id: {node.id}", f"kind: {node.kind}", f"name: {_text(node.name)}"]
    if node.unit:
        parts.append(f"unit: {_text(node.unit)}")
    if node.site:
        parts.append(f"site: {_text(node.site)}")
    parts.append(f"processing: {_latency(node.processing)}")
    if node.failover != Failover():
        parts.append(
            f"failover: {{detection: {_num(node.failover.detection_s)}, retry: {_num(node.failover.retry_s)}}}"
        )
    if node.failable != (node.kind not in GROUP_KINDS):
        parts.append(f"failable: {'true' if node.failable else 'false'}")
    return "{" + ", ".join(parts) + "}"


def _link_yaml(link: Link) -> str:
    parts = [] if link.id == f"{link.a}--{link.b}" else [f"id: {link.id}"]
    parts += [f"a: {link.a}", f"b: {link.b}"]
    if link.medium is not Medium.WIRED:
        parts.append(f"medium: {link.medium.value}")
    parts.append(f"latency: {_latency(link.latency)}")
    if link.capacity_mbps is not None:
        parts.append(f"capacity_mbps: {_num(link.capacity_mbps)}")
    if not link.bidirectional:
        parts.append("directed: true")
    return "{" + ", ".join(parts) + "}"


def _with_sections(items: Sequence[str], ids: Sequence[str], sections: dict[str, str], indent: str) -> list[str]:
    out: list[str] = []
    current: str | None = None
    for item, element_id in zip(items, ids, strict=True):
        section = sections.get(element_id, "")
        if section and section != current:
            out.append(f"{indent}# {section}")
        current = section
        out.append(f"{indent}- {item}")
    return out


def render_yaml(topology: AlarmTopology, header: Sequence[str] = (),
                sections: tuple[dict[str, str], dict[str, str], dict[str, str]] = ({}, {}, {})) -> str:  # fmt: skip
    """The topology as docs/alarms.md YAML, with ``header`` as leading comments and a comment before each section."""
    node_sections, link_sections, group_sections = sections
    lines = [f"# {line}" if line else "#" for line in header]
    lines.append(f"name: {_text(topology.name)}")
    lines.append("nodes:")
    lines += _with_sections([_node_yaml(n) for n in topology.nodes], [n.id for n in topology.nodes],
                            node_sections, "  ")  # fmt: skip
    lines.append("links:                  # no id: the id is a--b; directed: one way only (alarms flow a -> b)")
    lines += _with_sections([_link_yaml(x) for x in topology.links], [x.id for x in topology.links],
                            link_sections, "  ")  # fmt: skip
    lines.append("groups:                 # shared-risk groups: their members fail together")
    current: str | None = None
    for group in topology.groups:
        section = group_sections.get(group.id, "")
        if section and section != current:
            lines.append(f"  # {section}")
        current = section
        lines.append(f"  - id: {group.id}")
        lines.append(f"    kind: {group.kind}")
        if group.description:
            lines.append(f"    description: {_text(group.description)}")
        lines.append(f"    members: [{', '.join(sorted(group.members))}]")
    lines.append("sources:")
    for source in topology.sources:
        node = topology.node_by_id[source.node]
        unit = "" if source.unit == node.unit else f"unit: {_text(source.unit)}, "  # the node's unit by default
        lines.append(f"  - {{node: {source.node}, {unit}devices: {source.devices}, device_kind: {source.device_kind}, "
                     f"alarms: [{', '.join(source.alarm_types)}]}}")  # fmt: skip
    lines.append("budgets:")
    for budget in topology.budgets:
        lines += _budget_yaml(budget)
    if topology.candidates:
        lines.append("candidates:             # additions the recommendations may choose from")
        for candidate in topology.candidates:
            lines += _candidate_yaml(candidate)
    return "\n".join(lines) + "\n"


def _budget_yaml(budget: Budget) -> list[str]:
    out = [
        f"  - unit: {_text(budget.unit)}",
        f"    alarm: {_text(budget.alarm_type)}",
        f"    priority: {budget.priority.value}",
        f"    max_delivery: {_num(budget.max_delivery_s)}",
        f"    primary: [{', '.join(budget.primary)}]",
    ]
    if budget.escalation:
        out.append(f"    escalation: [{', '.join(budget.escalation)}]")
    if budget.escalate_after_s is not None:
        out.append(f"    escalate_after: {_num(budget.escalate_after_s)}")
    if budget.confirmed:
        out.append("    confirmed: true")
    if budget.heartbeat_interval_s is not None:
        misses = "" if budget.heartbeat_misses == 3 else f", misses: {budget.heartbeat_misses}"  # 3 by default
        out.append(f"    heartbeat: {{interval: {_num(budget.heartbeat_interval_s)}{misses}}}")
    if budget.approved_by:
        out.append(f"    approved_by: {_text(budget.approved_by)}")
    if budget.approved_at is not None:
        out.append(f"    approved_at: {budget.approved_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}")
    if budget.version != 1:
        out.append(f"    version: {budget.version}")
    if budget.rationale:
        out.append(f"    rationale: {_text(budget.rationale)}")
    return out


def _candidate_yaml(candidate: Candidate) -> list[str]:
    out = [
        f"  - id: {candidate.id}",
        f"    description: {_text(candidate.description)}",
        f"    cost: {_num(candidate.cost)}",
    ]
    if candidate.nodes:
        out.append("    nodes:")
        out += [f"      - {_node_yaml(n)}" for n in candidate.nodes]
    if candidate.links:
        out.append("    links:")
        out += [f"      - {_link_yaml(x)}" for x in candidate.links]
    if candidate.groups:
        out.append("    groups:")
        out += [f"      {gid}: [{', '.join(sorted(members))}]" for gid, members in candidate.groups.items()]
    return out


def _header(hospital: Hospital, sample: SampleAlarms, main: str) -> list[str]:
    u = sample.flawed_slug
    return [
        f"Alarm-delivery topology of the Wardwatch sample hospital (size {hospital.size}, seed {hospital.seed}), in "
        "the format of docs/alarms.md.",
        "Generated by `wardwatch simulate`; deliveries.csv next to it holds observed heartbeats and test alarms.",
        "",
        "An alarm travels: bedside devices --Wi-Fi 5 GHz--> unit AP -> access switch -> distribution -> core",
        f"  (-> WAN -> {main} core) -> device gateway pair -> alarm server -> middleware pair -> paging/phone gateway",
        "  pair -> WLC pair -> AP -> the unit's nurse phones; unanswered for 30 s: the charge-nurse pager.",
        "Devices fall back to 2.4 GHz on the building's corridor AP; nurse call is wired to both access switches.",
        "Radio and application hops are one-way links (an alarm cannot skip a server); cables work both ways.",
        "",
        "Deliberate flaws (`wardwatch alarms verify --k 1` finds them):",
        f"  1. ONE alarm server ({ALARM_SERVER}, on vmhost-1): when it fails no unit's alarm reaches a phone.",
        "     Everything else is duplicated; candidate second-alarm-server fixes it for every unit but one:",
        f"  2. In {sample.flawed_unit} the patient monitors AND the nurse phones use only the 5 GHz band of the",
        f"     same APs: jamming {sample.flawed_group} cuts both. Candidates {u}-2.4ghz-fallback and",
        f"     {u}-wired-and-dect fix it.",
        "Budgets (local policy, approved by each unit's clinical lead): high 10 s to the nurse phones with",
        "escalation to the charge-nurse pager after 30 s and confirmed delivery (heartbeat 2 s x 3); medium 30 s;",
        "low 120 s.",
    ]


# --- deliveries ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Stream:
    source: str
    phones: str
    unit: str
    path: str
    alarms: tuple[str, ...]
    flawed: bool


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _streams(sample: SampleAlarms) -> list[_Stream]:
    topology = sample.topology
    phones_of = {budget.unit: budget.primary[0] for budget in topology.budgets}
    return [
        _Stream(s.node, phones_of[s.unit], s.unit, f"{s.node} -> {sample.alarm_server} -> {phones_of[s.unit]}",
                s.alarm_types, s.unit == sample.flawed_unit)
        for s in topology.sources
    ]  # fmt: skip


def _deliveries(hospital: Hospital, sample: SampleAlarms) -> Iterator[tuple[str, ...]]:
    rng = random.Random(f"wardwatch-alarm-deliveries/{hospital.size}/{hospital.seed}")  # noqa: S311 - simulation
    end = datetime.combine(TODAY, time(0), UTC)
    days = 1 if hospital.size == "small" else 7
    start = end - timedelta(days=days)
    streams = _streams(sample)
    beating = [s for s in streams if any(PRIORITY_OF[a] is Priority.HIGH for a in s.alarms)]
    span = int((end - start).total_seconds())
    cap = HEARTBEAT_ROWS[hospital.size]
    per_stream = max(1, cap // max(1, len(beating)))
    interval = 60 * max(1, -(-span // (60 * per_stream)))
    if interval > MAX_HEARTBEAT_S:  # probes on the first sources only (main site first), each stream kept dense
        interval = MAX_HEARTBEAT_S
        beating = beating[: max(1, cap // (span // interval))]
    silent = next((s for s in beating if s.flawed), beating[0])  # the flawed ICU's first source: its monitors
    silence_s = max(600, 3 * interval)
    silence_start = start + timedelta(seconds=interval * (span // interval // 2) + interval // 2)
    rows: list[tuple[datetime, tuple[str, ...]]] = []
    for n, stream in enumerate(beating):
        base = rng.uniform(0.6, 1.6)
        offset = (n * 7919) % interval + rng.randrange(1000) / 1000
        sent = start + timedelta(seconds=offset)
        while sent < end:
            lost = stream is silent and silence_start <= sent < silence_start + timedelta(seconds=silence_s)
            latency = min(6.0, base * rng.lognormvariate(0.0, 0.25))
            received = "" if lost else _iso(sent + timedelta(milliseconds=round(latency * 1000)))
            rows.append((sent, (stream.source, stream.phones, _iso(sent), received, "", stream.unit, "", "", "true",
                                stream.path)))  # fmt: skip
            sent += timedelta(seconds=interval)
    rows += _test_alarms(rng, streams, start, span)
    rows.sort(key=lambda r: (r[0], r[1][0]))
    yield DELIVERY_COLUMNS
    for _, row in rows:
        yield row


def _test_alarms(rng: random.Random, streams: Sequence[_Stream], start: datetime,
                 span: int) -> list[tuple[datetime, tuple[str, ...]]]:  # fmt: skip
    """:data:`TEST_ALARMS` test alarms, spread over the window: three late (over budget), two lost."""
    late = {7, 23, 41}
    lost = {15, 33}
    flawed = [s for s in streams if s.flawed] or list(streams)
    out: list[tuple[datetime, tuple[str, ...]]] = []
    for i in range(TEST_ALARMS):
        # every fifth test is in the flawed ICU (the drill the clinical engineers run most there)
        stream = flawed[i % len(flawed)] if i % 5 == 0 else streams[(i * 7) % len(streams)]
        alarm = stream.alarms[i % len(stream.alarms)]
        priority = PRIORITY_OF[alarm]
        budget = BUDGET_S[priority]
        sent = start + timedelta(seconds=span * (i + 0.5) / TEST_ALARMS + rng.uniform(-600, 600))
        sent = sent.replace(microsecond=rng.randrange(1000) * 1000)
        if i in lost:
            received, acknowledged = "", ""
        else:
            latency = budget * rng.uniform(1.2, 2.5) if i in late else rng.uniform(0.8, min(4.0, budget * 0.4))
            got = sent + timedelta(milliseconds=round(latency * 1000))
            received = _iso(got)
            acknowledged = _iso(got + timedelta(milliseconds=rng.randrange(3000, 45000)))
        out.append((sent, (stream.source, stream.phones, _iso(sent), received, acknowledged, stream.unit,
                           priority.value, alarm, "false", stream.path)))  # fmt: skip
    return out


def write_alarms(hospital: Hospital, out_dir: Path) -> list[Path]:
    """Write ``alarms/topology.yaml`` and ``alarms/deliveries.csv`` under ``out_dir``; return the paths."""
    sample = sample_alarms(hospital)
    folder = out_dir / ALARMS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    topology_path = folder / TOPOLOGY_YAML
    text = render_yaml(sample.topology, _header(hospital, sample, _place(hospital.sites[0])), sample.sections)
    topology_path.write_text(text, encoding="utf-8", newline="\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(_deliveries(hospital, sample))
    deliveries_path = folder / DELIVERIES_CSV
    deliveries_path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    return [topology_path, deliveries_path]


# --- the benchmark health system --------------------------------------------------------------------------------

_BENCH_UNITS = ("ICU", "Med-Surg", "Telemetry", "Step-Down", "Emergency", "PACU", "Oncology", "Cardiology")
_BENCH_BUILDINGS = 3


@dataclass(slots=True)
class _BenchUnit:
    hospital: int
    slug: str
    label: str
    building: int
    floor: str
    kinds: tuple[_Kind, ...]
    flawed: bool
    accs: tuple[str, str] = ("", "")
    aps: int = 0


def bench_topology(nodes: int = 5000, links: int = 20000, groups: int = 500, seed: int = 1) -> AlarmTopology:
    """A synthetic health system's alarm topology with exactly ``nodes`` nodes, ``links`` links and ``groups``
    shared-risk groups (the benchmark of ``alarms verify``), about one alarm source per five nodes.

    Several hospitals, each with its own data centre (device gateways, alarm servers, middleware, paging gateways
    and WLCs in pairs), cores, per-building distribution pairs and corridor APs, and units with two access switches,
    APs, four alarm sources, nurse phones, a charge-nurse pager and a central station; the hospitals' cores are
    joined in a WAN ring.  Redundant, so most budgets hold for k=1, but not all: the last hospital has one alarm
    server (of three or more), and the first of every four hospitals has one unit whose monitors and phones share the
    5 GHz band only.  The
    counts are met by giving units more APs and neighbouring units' APs (roaming) and by grouping switches onto
    shared power circuits (the two switches of a pair never share one).  Deterministic for its arguments; raises
    ``ValueError`` when the counts cannot be met (fewer than 200 nodes, fewer links than about four per node, or
    too few groups for the hospitals' power circuits and RF areas).
    """
    if nodes < 200:
        raise ValueError(f"nodes must be at least 200, got {nodes}")
    rng = random.Random(f"wardwatch-alarm-bench/{nodes}/{links}/{groups}/{seed}")  # noqa: S311 - simulation
    n_units = max(2, nodes // 20)
    n_hospitals = max(1, round(n_units / 25))
    # RF areas: floors of consecutive units of one building, as few per floor as the group count allows
    max_floors = (groups - 4 * n_hospitals) // 2
    if max_floors < n_hospitals * _BENCH_BUILDINGS:
        raise ValueError(f"{groups} groups are too few for {n_hospitals} hospitals' power circuits and RF areas")
    per_floor = max(1, -(-n_units // max_floors))
    b = _Builder()
    units: list[_BenchUnit] = []
    counts = [n_units // n_hospitals + (1 if h < n_units % n_hospitals else 0) for h in range(n_hospitals)]
    for h, count in enumerate(counts):
        for i in range(count):
            name = _BENCH_UNITS[i % len(_BENCH_UNITS)]
            building = i % _BENCH_BUILDINGS
            floor_index = (i // _BENCH_BUILDINGS) // per_floor
            kinds = (_KINDS[0], _KINDS[2], _KINDS[3] if name in ("ICU", "PACU", "Emergency") else _KINDS[1], _KINDS[4])
            flawed = h % 4 == 0 and i == 0  # monitors and phones on 5 GHz only
            units.append(_BenchUnit(h, f"h{h + 1:02d}-u{i + 1:03d}", f"H{h + 1:02d} {name} {i // 8 + 1}", building,
                                    f"h{h + 1:02d}-b{building + 1}-f{floor_index + 1}", kinds, flawed))  # fmt: skip
    corridors: dict[tuple[int, int], tuple[str, str]] = {}
    side_a: dict[int, list[str]] = {}
    side_b: dict[int, list[str]] = {}
    pulls: dict[str, list[str]] = {}  # switch -> APs and phone hops it powers
    wlcs_of: dict[int, tuple[str, str]] = {}
    for h in range(n_hospitals):
        _bench_hospital(b, rng, h, n_hospitals, units, corridors, side_a, side_b, pulls, wlcs_of)
    floors = list(dict.fromkeys(u.floor for u in units))
    for floor in floors:
        b.group(f"rf-{floor}-5ghz", "rf", f"5 GHz band on floor {floor}")
        b.group(f"rf-{floor}-2.4ghz", "rf", f"2.4 GHz band on floor {floor}")
    for unit in units:
        _bench_unit(b, rng, unit, corridors, pulls, wlcs_of)
    # fill the node count with more APs per unit (each brings about six links), then the rest with leaf displays
    missing = nodes - len(b.nodes)
    if missing < 0:
        raise ValueError(f"{nodes} nodes are too few for {n_units} units")
    per_ap = 6
    spare = links - len(b.links)
    aps = max(0, min(missing, (spare - missing) // (per_ap - 1)))
    for i in range(aps):
        _bench_ap(b, rng, units[i % len(units)], pulls, wlcs_of)
    for i in range(missing - aps):
        unit = units[i % len(units)]
        display = b.node(f"{unit.slug}-display-{i // len(units) + 1}", "central-station",
                         f"{unit.label} hallway display {i // len(units) + 1}", Latency(0.0, 0.1, 0.3),
                         unit=unit.label)  # fmt: skip
        b.link(unit.accs[1], display, _wired(rng), directed=True)
    _bench_pad_links(b, rng, units, links - len(b.links))
    _bench_power(b, groups - len(b.groups), side_a, side_b, pulls)
    for unit in units:
        clinician = _CLINICIANS[rng.randrange(len(_CLINICIANS))]
        _budgets(b, unit.label, unit.slug, unit.kinds, clinician, datetime(2024, 12, 2, 9, 0, tzinfo=UTC))
    return b.topology(f"Benchmark health system ({nodes} nodes, {links} links, {groups} groups, seed {seed})")


def _bench_hospital(b: _Builder, rng: random.Random, h: int, n_hospitals: int, units: Sequence[_BenchUnit],
                    corridors: dict[tuple[int, int], tuple[str, str]], side_a: dict[int, list[str]],
                    side_b: dict[int, list[str]], pulls: dict[str, list[str]],
                    wlcs_of: dict[int, tuple[str, str]]) -> None:  # fmt: skip
    p = f"h{h + 1:02d}"
    servers = 1 if h == n_hospitals - 1 and n_hospitals >= 3 else 2  # the last one has a single alarm server
    vm = [b.group(f"{p}-vmhost-{i}", "server", f"Hospital {h + 1} VM host {i}") for i in (1, 2)]
    gws = [b.node(f"{p}-dev-gw-{i}", "gateway", f"H{h + 1:02d} device gateway {i}", Latency(0.0, 0.05, 0.15),
                  failover=_ACK) for i in (1, 2)]  # fmt: skip
    alarm = [b.node(f"{p}-alarm-server-{i}", "alarm-server", f"H{h + 1:02d} alarm server {i}",
                    Latency(0.0, 0.3, _r(rng.uniform(1.0, 1.2))), failover=_ACK)
             for i in range(1, servers + 1)]  # fmt: skip
    mws = [b.node(f"{p}-middleware-{i}", "middleware", f"H{h + 1:02d} middleware {i}", Latency(0.0, 0.15, 0.5),
                  failover=_ACK) for i in (1, 2)]  # fmt: skip
    pgs = [b.node(f"{p}-paging-gw-{i}", "paging", f"H{h + 1:02d} paging gateway {i}", Latency(0.0, 0.2, 0.5),
                  failover=_ACK) for i in (1, 2)]  # fmt: skip
    wlcs = _pair(b.node(f"{p}-wlc-{i}", "wlc", f"H{h + 1:02d} WLC {i}", Latency(0.0, 0.002, 0.01), failover=_ROAM)
                 for i in (1, 2))  # fmt: skip
    wlcs_of[h] = wlcs
    tx = b.node(f"{p}-paging-tx", "paging", f"H{h + 1:02d} paging transmitter", Latency(0.0, 0.5, 1.0))
    for i in (0, 1):
        b.join(vm[i], gws[i], mws[i], pgs[i])
    for i, server in enumerate(alarm):
        b.join(vm[i], server)
        for gw in gws:
            b.link(gw, server, _internal(rng), Medium.INTERNAL, directed=True)
        for mw in mws:
            b.link(server, mw, _internal(rng), Medium.INTERNAL, directed=True)
    for mw in mws:
        for pg in pgs:
            b.link(mw, pg, _internal(rng), Medium.INTERNAL, directed=True)
    for pg in pgs:
        for wlc in wlcs:
            b.link(pg, wlc, _wired(rng), directed=True)
        b.link(pg, tx, _wired(rng), directed=True)
    cores = [b.node(f"{p}-core-{i}", "switch", f"H{h + 1:02d} core {i}", Latency(0.0, 0.0001, 0.0005),
                    failover=_SWITCH) for i in (1, 2)]  # fmt: skip
    side_a[h], side_b[h] = [cores[0]], [cores[1]]
    pulls[cores[0]], pulls[cores[1]] = [wlcs[0]], [wlcs[1]]
    b.link(cores[0], cores[1], _wired(rng))
    for core in cores:
        for gw in gws:
            b.link(core, gw, _wired(rng), directed=True)
    if n_hospitals > 1 and (h < n_hospitals - 1 or n_hospitals > 2):  # the WAN ring (its cores are built later)
        nxt = f"h{(h + 1) % n_hospitals + 1:02d}"
        for i in (1, 2):
            b.link(f"{p}-core-{i}", f"{nxt}-core-{i}", _wired(rng, wan=True))
    for building in range(_BENCH_BUILDINGS):
        if not any(u.hospital == h and u.building == building for u in units):
            continue
        q = f"{p}-b{building + 1}"
        dists = [b.node(f"{q}-dist-{i}", "switch", f"H{h + 1:02d} building {building + 1} distribution {i}",
                        Latency(0.0, 0.0001, 0.0005), failover=_SWITCH) for i in (1, 2)]  # fmt: skip
        side_a[h].append(dists[0])
        side_b[h].append(dists[1])
        for dist in dists:
            for core in cores:
                b.link(dist, core, _wired(rng))
        b.link(dists[0], dists[1], _wired(rng))
        corridor = b.node(f"{q}-corridor-ap", "ap", f"H{h + 1:02d} building {building + 1} corridor AP",
                          Latency(0.0, 0.001, 0.005), failover=_ROAM)  # fmt: skip
        b.link(corridor, dists[1], _wired(rng))
        pulls[dists[0]], pulls[dists[1]] = [], [corridor]
        corridors[(h, building)] = (corridor, dists[1])
        for unit in (u for u in units if u.hospital == h and u.building == building):
            accs = _pair(b.node(f"{unit.slug}-acc-{i}", "switch", f"{unit.label} access {i}",
                                Latency(0.0, 0.0001, 0.0005), unit=unit.label, failover=_SWITCH)
                         for i in (1, 2))  # fmt: skip
            unit.accs = accs
            side_a[h].append(accs[0])
            side_b[h].append(accs[1])
            for acc in accs:
                pulls[acc] = []
                for dist in dists:
                    b.link(acc, dist, _wired(rng))


def _bench_unit(b: _Builder, rng: random.Random, unit: _BenchUnit, corridors: dict[tuple[int, int], tuple[str, str]],
                pulls: dict[str, list[str]], wlcs_of: dict[int, tuple[str, str]]) -> None:  # fmt: skip
    corridor, dist2 = corridors[(unit.hospital, unit.building)]
    for kind in unit.kinds:
        source = b.node(f"{unit.slug}-{kind.suffix}", "source", f"{unit.label} {kind.label}",
                        Latency(0.0, 0.05, 0.2), unit=unit.label,
                        failover=_ROAM if kind.wifi else _WIRED_SOURCE)  # fmt: skip
        b.sources.append(AlarmSource(source, unit.label, kind.device_kind, kind.alarms, rng.randint(2, 24)))
        if not kind.wifi:
            for acc in unit.accs:
                b.link(source, acc, _wired(rng), directed=True)
        elif not (unit.flawed and kind.device_kind in _FLAWED_KINDS):
            b.join(
                f"rf-{unit.floor}-2.4ghz", b.link(source, corridor, _wifi(rng, "2.4ghz"), Medium.WIFI, directed=True)
            )
    phones = b.node(f"{unit.slug}-phones", "phone", f"{unit.label} nurse phones", Latency(0.0, 0.2, 0.5),
                    unit=unit.label)  # fmt: skip
    if not unit.flawed:
        for wlc in wlcs_of[unit.hospital]:
            hop = b.link(wlc, phones, _wifi(rng, "2.4ghz"), Medium.WIFI, link_id=f"{wlc}--{phones}.corridor",
                         directed=True)  # fmt: skip
            b.join(f"rf-{unit.floor}-2.4ghz", hop)
            pulls[dist2].append(hop)
    for _ in range(2):
        _bench_ap(b, rng, unit, pulls, wlcs_of)
    pager = b.node(f"{unit.slug}-charge-pager", "pager", f"{unit.label} charge-nurse pager", Latency(0.0, 1.0, 2.0),
                   unit=unit.label, failable=True)  # fmt: skip
    b.link(f"h{unit.hospital + 1:02d}-paging-tx", pager, Latency(0.0, 1.5, 4.0), Medium.CELLULAR, directed=True)
    central = b.node(f"{unit.slug}-central", "central-station", f"{unit.label} central station",
                     Latency(0.0, 0.1, 0.3), unit=unit.label)  # fmt: skip
    b.link(unit.accs[0], central, _wired(rng), directed=True)


def _bench_ap(b: _Builder, rng: random.Random, unit: _BenchUnit, pulls: dict[str, list[str]],
              wlcs_of: dict[int, tuple[str, str]]) -> None:  # fmt: skip
    """One more AP of ``unit`` (alternating access switches): its uplink, its sources' 5 GHz links, two phone hops."""
    unit.aps += 1
    acc = unit.accs[(unit.aps - 1) % 2]
    ap = b.node(f"{unit.slug}-ap{unit.aps}", "ap", f"{unit.label} AP {unit.aps}", Latency(0.0, 0.001, 0.005),
                unit=unit.label, failover=_ROAM)  # fmt: skip
    b.link(ap, acc, _wired(rng))
    pulls[acc].append(ap)
    rf5 = f"rf-{unit.floor}-5ghz"
    for kind in unit.kinds:
        if kind.wifi:
            b.join(rf5, b.link(f"{unit.slug}-{kind.suffix}", ap, _wifi(rng, "5ghz"), Medium.WIFI, directed=True))
    for wlc in wlcs_of[unit.hospital]:
        hop = b.link(wlc, f"{unit.slug}-phones", _wifi(rng, "5ghz"), Medium.WIFI,
                     link_id=f"{wlc}--{unit.slug}-phones.ap{unit.aps}", directed=True)  # fmt: skip
        b.join(rf5, hop)
        pulls[acc].append(hop)


def _bench_pad_links(b: _Builder, rng: random.Random, units: Sequence[_BenchUnit], count: int) -> None:
    """``count`` more links: sources roaming to the APs of the next unit on their floor, then access switches
    cross-connected inside a building; raises ValueError when even these run out."""
    if count <= 0:
        if count < 0:
            raise ValueError(f"the structure already needs {len(b.links)} links, more than asked")
        return
    by_floor: dict[str, list[_BenchUnit]] = {}
    for unit in units:
        by_floor.setdefault(unit.floor, []).append(unit)

    def candidates() -> Iterator[tuple[str, str, bool, str | None]]:
        for round_ in range(1, 64):
            for unit in units:
                mates = by_floor[unit.floor]
                if len(mates) < 2:
                    continue
                other = mates[(mates.index(unit) + round_) % len(mates)]
                if other is unit:
                    continue
                for i in range(1, other.aps + 1):
                    for kind in unit.kinds:
                        if kind.wifi:
                            yield f"{unit.slug}-{kind.suffix}", f"{other.slug}-ap{i}", True, f"rf-{unit.floor}-5ghz"
        for i, unit in enumerate(units):
            for other in units[i + 1 :]:
                if other.hospital == unit.hospital and other.building == unit.building:
                    yield unit.accs[0], other.accs[0], False, None
                    yield unit.accs[1], other.accs[1], False, None

    added = 0
    for a, z, wifi, rf in candidates():
        if f"{a}--{z}" in b.ids or f"{z}--{a}" in b.ids:
            continue
        if wifi:
            b.join(str(rf), b.link(a, z, _wifi(rng, "5ghz"), Medium.WIFI, directed=True))
        else:
            b.link(a, z, _wired(rng))
        added += 1
        if added == count:
            return
    raise ValueError(f"cannot add {count} links to this structure (only {added}); ask for fewer links")


def _bench_power(b: _Builder, count: int, side_a: dict[int, list[str]], side_b: dict[int, list[str]],
                 pulls: dict[str, list[str]]) -> None:  # fmt: skip
    """``count`` power circuits: each hospital's A-side switches (core 1, distribution 1, access 1) round-robin on
    its A circuits and B-side ones on its B circuits, each switch with the APs and phone hops it powers."""
    hospitals = sorted(side_a)
    if count < 2 * len(hospitals):
        raise ValueError("too few groups left for two power circuits per hospital")
    per = [count // len(hospitals) + (1 if i < count % len(hospitals) else 0) for i in range(len(hospitals))]
    for h, circuits in zip(hospitals, per, strict=True):
        for side, switches, n in (("a", side_a[h], -(-circuits // 2)), ("b", side_b[h], circuits // 2)):
            if n > len(switches):
                raise ValueError("more power circuits asked than switches to put on them")
            ids = [b.group(f"power-h{h + 1:02d}-{side}{i + 1}", "power",
                           f"Hospital {h + 1} circuit {side.upper()}{i + 1}") for i in range(n)]  # fmt: skip
            for i, switch in enumerate(switches):
                b.join(ids[i % n], switch, *pulls.get(switch, ()))
