"""SSVC deployer decisions (CERT/CC): Exploitation × System Exposure × Automatable × Human Impact → priority.

Pure: the official tables arrive as data (rows of value names, as in the CERT/CC CSV files that
:mod:`wardwatch.services.ssvc_reference` loads); nothing here reads a file.

* :class:`DeployerTable` is the 72-row deployer patch-application tree (``ssvc:DT_DP`` 1.0.0);
  :meth:`DeployerTable.decide` returns the priority together with the table row that gave it.
* :func:`human_impact` maps Safety Impact × Mission Impact to Human Impact with one of two tables
  (:class:`HumanImpactTable`): the definition-consistent one (HI 2.0.2 value definitions and the v2.1
  calculator, the default) or the one published as ``human_impact_1_0_0``, which disagrees with those
  definitions in four cells (METHODS.md 2.4).  Which one applies is a policy setting.
* The ``*_from`` helpers derive each decision point from Wardwatch's evidence and say why, in words
  (:class:`Derived`).  Missing information falls back to SSVC's documented defaults (METHODS.md 2.2).
* :class:`SsvcPolicy` holds the local choices (EPSS threshold, Human Impact table, Mission Impact
  thresholds) under a version; :data:`POLICIES` lists every version and :data:`LATEST` is the newest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from wardwatch.domain.inventory import Criticality

__all__ = [
    "DEFINITION_CONSISTENT_HUMAN_IMPACT",
    "LATEST",
    "POLICIES",
    "Automatable",
    "Decision",
    "DeployerRow",
    "DeployerTable",
    "Derived",
    "Exploitation",
    "HumanImpact",
    "HumanImpactTable",
    "MissionImpact",
    "Priority",
    "SafetyImpact",
    "SsvcPolicy",
    "SystemExposure",
    "automatable_from",
    "decide",
    "exploitation_from",
    "exposure_from",
    "human_impact",
    "human_impact_table_from_rows",
    "mission_from",
    "safety_from_criticality",
]


class Exploitation(StrEnum):
    """``ssvc:E:1.1.0``; values are the names used in the official CSV."""

    NONE = "none"
    PUBLIC_POC = "public poc"
    ACTIVE = "active"


class SystemExposure(StrEnum):
    """``ssvc:EXP:1.0.1``."""

    SMALL = "small"
    CONTROLLED = "controlled"
    OPEN = "open"


class Automatable(StrEnum):
    """``ssvc:A:2.0.0``."""

    NO = "no"
    YES = "yes"


class HumanImpact(StrEnum):
    """``ssvc:HI:2.0.2``."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very high"


class SafetyImpact(StrEnum):
    """``ssvc:SI:2.0.1`` (IEC 61508 categories, with modifications)."""

    NEGLIGIBLE = "negligible"
    MARGINAL = "marginal"
    CRITICAL = "critical"
    CATASTROPHIC = "catastrophic"


class MissionImpact(StrEnum):
    """``ssvc:MI:2.0.0``."""

    DEGRADED = "degraded"
    MEF_SUPPORT_CRIPPLED = "mef support crippled"
    MEF_FAILURE = "mef failure"
    MISSION_FAILURE = "mission failure"


class Priority(StrEnum):
    """``ssvc:DSOI:1.0.0``: the deployer's outcome, least to most urgent."""

    DEFER = "defer"
    SCHEDULED = "scheduled"
    OUT_OF_CYCLE = "out-of-cycle"
    IMMEDIATE = "immediate"


class HumanImpactTable(StrEnum):
    """Which Safety × Mission → Human Impact table to use (METHODS.md 2.4)."""

    DEFINITION_CONSISTENT = "definition-consistent"
    """The HI 2.0.2 value definitions, equal to the v2.1 calculator; safety-conservative (default)."""
    PUBLISHED = "published"
    """The CERT/CC decision table ``human_impact_1_0_0`` as shipped (lower in four cells)."""


_V = TypeVar("_V", Exploitation, SystemExposure, Automatable, HumanImpact, SafetyImpact, MissionImpact)


@dataclass(frozen=True, slots=True)
class Derived(Generic[_V]):
    """A decision-point value and the evidence it was derived from, in words."""

    value: _V
    evidence: str
    defaulted: bool = False
    """True when the value is SSVC's documented default because the evidence was missing."""


@dataclass(frozen=True, slots=True)
class DeployerRow:
    """One row of the official deployer tree."""

    index: int
    exploitation: Exploitation
    exposure: SystemExposure
    automatable: Automatable
    human_impact: HumanImpact
    priority: Priority

    @property
    def key(self) -> tuple[Exploitation, SystemExposure, Automatable, HumanImpact]:
        return (self.exploitation, self.exposure, self.automatable, self.human_impact)


@dataclass(frozen=True, slots=True)
class Decision:
    """A deployer priority and the official table row it comes from."""

    priority: Priority
    row: DeployerRow
    table: str

    def explain(self) -> str:
        r = self.row
        return (
            f"{self.table} row {r.index}: exploitation {r.exploitation}, system exposure {r.exposure}, "
            f"automatable {r.automatable}, human impact {r.human_impact} → {r.priority}"
        )


class DeployerTable:
    """The deployer patch-application tree, built from the official rows.

    Every combination of the four decision points must appear exactly once (72 rows).  Build it from the
    official CSV rows with :meth:`from_rows`.
    """

    def __init__(self, rows: Iterable[DeployerRow], name: str = "SSVC deployer patch application priority 1.0.0"):
        self.name = name
        by_key: dict[tuple[Exploitation, SystemExposure, Automatable, HumanImpact], DeployerRow] = {}
        for row in rows:
            if row.key in by_key:
                raise ValueError(
                    f"{name}: combination {row.key} appears twice (rows {by_key[row.key].index}, {row.index})"
                )
            by_key[row.key] = row
        expected = len(Exploitation) * len(SystemExposure) * len(Automatable) * len(HumanImpact)
        if len(by_key) != expected:
            raise ValueError(f"{name}: {len(by_key)} combinations, expected {expected}")
        self._by_key = by_key

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]], name: str | None = None) -> DeployerTable:
        """From rows of value names keyed by column: the official CSV headers (``"System Exposure v1.0.1"``…)
        or the short names ``row``, ``exploitation``, ``exposure``, ``automatable``, ``human_impact``, ``priority``.
        """
        built = []
        for position, raw in enumerate(rows):
            cells = {_short_column(key): value.strip().lower() for key, value in raw.items() if key is not None}
            built.append(
                DeployerRow(
                    index=int(cells.get("row", position)),
                    exploitation=Exploitation(cells["exploitation"]),
                    exposure=SystemExposure(cells["exposure"]),
                    automatable=Automatable(cells["automatable"]),
                    human_impact=HumanImpact(cells["human_impact"]),
                    priority=Priority(cells["priority"]),
                )
            )
        return cls(built) if name is None else cls(built, name)

    @property
    def rows(self) -> tuple[DeployerRow, ...]:
        return tuple(sorted(self._by_key.values(), key=lambda row: row.index))

    def decide(
        self,
        exploitation: Exploitation,
        exposure: SystemExposure,
        automatable: Automatable,
        human_impact: HumanImpact,
    ) -> Decision:
        row = self._by_key[(exploitation, exposure, automatable, human_impact)]
        return Decision(priority=row.priority, row=row, table=self.name)


_COLUMN_PREFIXES = {
    "row": "row",
    "exploitation": "exploitation",
    "system exposure": "exposure",
    "exposure": "exposure",
    "automatable": "automatable",
    "human impact": "human_impact",
    "human_impact": "human_impact",
    "defer, scheduled, out-of-cycle, immediate": "priority",
    "priority": "priority",
    "safety impact": "safety",
    "safety": "safety",
    "mission impact": "mission",
    "mission": "mission",
}


def _short_column(header: str) -> str:
    """``"System Exposure v1.0.1"`` → ``"exposure"``; unknown headers are returned lower-cased."""
    name = header.strip().lower()
    words = name.rsplit(" ", 1)
    if len(words) == 2 and words[1].startswith("v") and words[1][1:2].isdigit():
        name = words[0]
    return _COLUMN_PREFIXES.get(name, name)


def decide(
    table: DeployerTable,
    exploitation: Exploitation,
    exposure: SystemExposure,
    automatable: Automatable,
    human_impact: HumanImpact,
) -> Decision:
    """The deployer priority for four decision-point values, with the row of ``table`` that gives it."""
    return table.decide(exploitation, exposure, automatable, human_impact)


# --- Human Impact ---------------------------------------------------------------------------------------

HumanImpactMapping = Mapping[tuple[SafetyImpact, MissionImpact], HumanImpact]


def _definition_consistent() -> dict[tuple[SafetyImpact, MissionImpact], HumanImpact]:
    """HI 2.0.2 definitions (METHODS.md 2.4); SI:Critical ∧ MI:MEF failure, undefined there, is H as in v2.1."""
    table: dict[tuple[SafetyImpact, MissionImpact], HumanImpact] = {}
    low_mission = {MissionImpact.DEGRADED, MissionImpact.MEF_SUPPORT_CRIPPLED}
    for safety in SafetyImpact:
        for mission in MissionImpact:
            if safety is SafetyImpact.CATASTROPHIC or mission is MissionImpact.MISSION_FAILURE:
                value = HumanImpact.VERY_HIGH
            elif safety is SafetyImpact.CRITICAL:
                value = HumanImpact.HIGH
            elif safety is SafetyImpact.MARGINAL:
                value = HumanImpact.MEDIUM if mission in low_mission else HumanImpact.HIGH
            else:  # negligible
                value = HumanImpact.LOW if mission in low_mission else HumanImpact.MEDIUM
            table[(safety, mission)] = value
    return table


DEFINITION_CONSISTENT_HUMAN_IMPACT: HumanImpactMapping = _definition_consistent()


def human_impact_table_from_rows(rows: Iterable[Mapping[str, str]]) -> HumanImpactMapping:
    """A Safety × Mission → Human Impact table from rows of value names (the official CSV's columns)."""
    table: dict[tuple[SafetyImpact, MissionImpact], HumanImpact] = {}
    for raw in rows:
        cells = {_short_column(key): value.strip().lower() for key, value in raw.items() if key is not None}
        table[(SafetyImpact(cells["safety"]), MissionImpact(cells["mission"]))] = HumanImpact(cells["human_impact"])
    if len(table) != len(SafetyImpact) * len(MissionImpact):
        raise ValueError(
            f"human impact table has {len(table)} cells, expected {len(SafetyImpact) * len(MissionImpact)}"
        )
    return table


def human_impact(
    safety: SafetyImpact,
    mission: MissionImpact,
    table_choice: HumanImpactTable = HumanImpactTable.DEFINITION_CONSISTENT,
    published: HumanImpactMapping | None = None,
) -> Derived[HumanImpact]:
    """Human Impact of a Safety Impact and a Mission Impact, using the chosen table.

    ``published`` is the official ``human_impact_1_0_0`` table (from the packaged CSV); it is needed only
    when ``table_choice`` is :attr:`HumanImpactTable.PUBLISHED`.
    """
    if table_choice is HumanImpactTable.PUBLISHED:
        if published is None:
            raise ValueError("the published Human Impact table was chosen but not given")
        value = published[(safety, mission)]
        source = "the published CERT/CC table human_impact_1_0_0"
    else:
        value = DEFINITION_CONSISTENT_HUMAN_IMPACT[(safety, mission)]
        source = "the HI 2.0.2 definitions (definition-consistent table)"
    return Derived(value, f"safety impact {safety} × mission impact {mission} → {value} by {source}")


# --- Derivations ----------------------------------------------------------------------------------------


def exploitation_from(
    kev: bool,
    public_exploit: bool,
    epss: float | None,
    epss_threshold: float,
) -> Derived[Exploitation]:
    """Exploitation: in CISA KEV → active; a public exploit, or EPSS at or above the threshold → public PoC."""
    if kev:
        return Derived(Exploitation.ACTIVE, "listed in CISA's Known Exploited Vulnerabilities catalog")
    if public_exploit:
        return Derived(Exploitation.PUBLIC_POC, "a public exploit or proof of concept is known")
    if epss is not None and epss >= epss_threshold:
        return Derived(
            Exploitation.PUBLIC_POC, f"EPSS {epss:.3f} is at or above the policy threshold {epss_threshold:g}"
        )
    reasons = ["not in KEV", "no public exploit known"]
    reasons.append(
        "no EPSS score" if epss is None else f"EPSS {epss:.3f} below the policy threshold {epss_threshold:g}"
    )
    return Derived(Exploitation.NONE, ", ".join(reasons))


def _cvss_metrics(vector: str) -> dict[str, str]:
    metrics: dict[str, str] = {}
    for part in vector.strip().split("/"):
        name, sep, value = part.partition(":")
        if sep and name and not name.startswith("CVSS"):
            metrics[name.upper()] = value.upper()
    return metrics


def automatable_from(adp_value: str | None, cvss_vector: str | None) -> Derived[Automatable]:
    """Automatable: CISA's ADP (Vulnrichment) value when present, else the CVSS v4 ``AU`` supplemental metric.

    Without either the SSVC default applies: *yes* (METHODS.md 2.2).  The base metrics of a vector are not
    used to guess it; only ``AU:Y``/``AU:N`` state it.
    """
    if adp_value is not None and adp_value.strip():
        word = adp_value.strip().lower()
        if word in {"yes", "y"}:
            return Derived(Automatable.YES, "CISA ADP (Vulnrichment) says Automatable: yes")
        if word in {"no", "n"}:
            return Derived(Automatable.NO, "CISA ADP (Vulnrichment) says Automatable: no")
    if cvss_vector:
        au = _cvss_metrics(cvss_vector).get("AU")
        if au == "Y":
            return Derived(Automatable.YES, "the CVSS v4 vector states AU:Y (automatable)")
        if au == "N":
            return Derived(Automatable.NO, "the CVSS v4 vector states AU:N (not automatable)")
    return Derived(
        Automatable.YES,
        "no CISA ADP value and no CVSS v4 AU metric: SSVC default automatable = yes",
        defaulted=True,
    )


def exposure_from(internet_reachable: bool | None, reachable_from_it_or_guest: bool | None) -> Derived[SystemExposure]:
    """System Exposure from the network model; *open* whenever Internet reachability is unknown."""
    if internet_reachable is None:
        return Derived(
            SystemExposure.OPEN, "Internet reachability unknown: SSVC default exposure = open", defaulted=True
        )
    if internet_reachable:
        return Derived(SystemExposure.OPEN, "reachable from the Internet")
    if reachable_from_it_or_guest is None:
        return Derived(
            SystemExposure.CONTROLLED,
            "not reachable from the Internet; reachability from IT/guest zones unknown, so assumed (controlled)",
            defaulted=True,
        )
    if reachable_from_it_or_guest:
        return Derived(
            SystemExposure.CONTROLLED, "not reachable from the Internet but reachable from IT or guest zones"
        )
    return Derived(SystemExposure.SMALL, "isolated: reachable neither from the Internet nor from IT or guest zones")


_WORST_HARM: dict[Criticality, tuple[str, SafetyImpact]] = {
    Criticality.LIFE_SUPPORTING: (
        "life-threatening or permanent impairment (ISO 14971 Critical)",
        SafetyImpact.CRITICAL,
    ),
    Criticality.THERAPEUTIC: ("serious injury (ISO 14971 Serious)", SafetyImpact.MARGINAL),
    Criticality.DIAGNOSTIC: (
        "serious injury through a wrong or missed diagnosis (ISO 14971 Serious)",
        SafetyImpact.MARGINAL,
    ),
    Criticality.MONITORING: ("serious injury through a missed alarm (ISO 14971 Serious)", SafetyImpact.MARGINAL),
    Criticality.NON_CLINICAL: ("minor at worst (ISO 14971 Negligible/Minor)", SafetyImpact.NEGLIGIBLE),
}


def safety_from_criticality(
    criticality: Criticality | None, patients_at_risk: int | None = None
) -> Derived[SafetyImpact]:
    """Safety Impact from device criticality, per the medical profile of METHODS.md 2.9.

    The criticality gives the worst credible patient harm (ISO 14971 severity), which maps to SSVC SI.  Death
    (a life-sustaining device) is *critical* for a single patient and *catastrophic* for several; when the
    number of patients at risk is unknown, several are assumed (a vulnerability hits a fleet).  Unknown
    criticality takes the SSVC default, *marginal*.
    """
    if criticality is None:
        return Derived(
            SafetyImpact.MARGINAL, "device criticality unknown: SSVC default safety impact = marginal", defaulted=True
        )
    if criticality is Criticality.LIFE_SUSTAINING:
        if patients_at_risk == 1:
            return Derived(
                SafetyImpact.CRITICAL,
                "life-sustaining device: worst credible harm is death (ISO 14971 Catastrophic) of a single patient",
            )
        who = "several patients" if patients_at_risk is not None else "several patients (fleet-wide attack assumed)"
        return Derived(
            SafetyImpact.CATASTROPHIC,
            f"life-sustaining device: worst credible harm is death (ISO 14971 Catastrophic) of {who}",
        )
    harm, value = _WORST_HARM[criticality]
    return Derived(value, f"{criticality} device: worst credible harm is {harm}")


_DEFAULT_MISSION_THRESHOLDS = (2, 5)


def mission_from(
    units_depending: int | None, thresholds: tuple[int, int] = _DEFAULT_MISSION_THRESHOLDS
) -> Derived[MissionImpact]:
    """Mission Impact from how many clinical units depend on the device.

    ``thresholds`` = (MEF failure from, mission failure from): with the default (2, 5), no unit → degraded,
    one unit → MEF support crippled, 2–4 units → MEF failure, 5 or more → mission failure.  Unknown takes the
    SSVC default, *MEF support crippled*.
    """
    mef_failure_from, mission_failure_from = thresholds
    if units_depending is None:
        return Derived(
            MissionImpact.MEF_SUPPORT_CRIPPLED,
            "dependent clinical units unknown: SSVC default mission impact = MEF support crippled",
            defaulted=True,
        )
    if units_depending >= mission_failure_from:
        return Derived(
            MissionImpact.MISSION_FAILURE, f"{units_depending} clinical units depend on it (≥ {mission_failure_from})"
        )
    if units_depending >= mef_failure_from:
        return Derived(
            MissionImpact.MEF_FAILURE, f"{units_depending} clinical units depend on it (≥ {mef_failure_from})"
        )
    if units_depending >= 1:
        return Derived(MissionImpact.MEF_SUPPORT_CRIPPLED, "1 clinical unit depends on it")
    return Derived(MissionImpact.DEGRADED, "no clinical unit depends on it")


# --- Policy ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SsvcPolicy:
    """Local SSVC choices, versioned: every decision should record the version it used."""

    version: str
    epss_threshold: float
    """EPSS probability at or above which a vulnerability without KEV or public exploit counts as public PoC."""
    human_impact_table: HumanImpactTable = HumanImpactTable.DEFINITION_CONSISTENT
    mission_thresholds: tuple[int, int] = _DEFAULT_MISSION_THRESHOLDS
    """(MEF failure from, mission failure from), in dependent clinical units."""
    note: str = ""


POLICIES: Mapping[str, SsvcPolicy] = {
    "2026.1": SsvcPolicy(
        version="2026.1",
        epss_threshold=0.75,
        human_impact_table=HumanImpactTable.DEFINITION_CONSISTENT,
        mission_thresholds=(2, 5),
        note=(
            "Local policy, not a standard. EPSS 0.75 is where CERT/CC's (unendorsed) EPSS how-to starts bumping "
            "Exploitation one level; Human Impact uses the definition-consistent table (METHODS.md 2.4)."
        ),
    ),
}

LATEST: SsvcPolicy = POLICIES["2026.1"]
