"""Identification: what is this endpoint?  Declarative fingerprint rules turned into attributes with reasons.

A :class:`Rule` looks at one kind of observation (``dicom_implementation_uid`` starts with
``1.2.840.113619.``) and concludes :class:`Attribute` values (manufacturer, model, device type, category,
OS, OS version, software; ``manufacturer: GE HealthCare``).  The
:class:`IdentificationEngine` runs every rule on every observation of one endpoint and resolves, per
:class:`Attribute`, one chosen value with its confidence, rule and evidence, keeping the values that lost
as alternatives: conflicts are shown, never hidden.

Resolution, per attribute (deterministic, whatever the order of the observations):

1. higher rule ``priority`` wins;
2. then higher ``confidence``;
3. then more agreeing evidence (distinct rule and observation pairs concluding the same value);
4. then the value's text, so ties never depend on input order.

Some attributes depend on another: an ``os_version`` only wins if the firing that produced it agreed with
the chosen ``os`` (or said nothing about it), and likewise a ``model`` with the chosen ``manufacturer``.

The IEEE OUI of a MAC gives a manufacturer at :data:`CONFIDENCE_OUI` and :data:`PRIORITY_OUI` (a NIC maker
may differ from the device maker); locally administered (random) and group MACs never give a vendor.  The
category (``imaging-modality``, ``infusion``, ``pacs``, ``workstation``...) follows from each device-type
conclusion through the :class:`Category` table, or from rules that conclude it directly (DICOM roles).

The engine is pure: the OUI registry is passed in as two callables (see ``wardwatch.discovery.rules`` for
the ready-made engine on the shipped rules, netaddr's registry and the manufacturer catalog).

>>> rule = Rule(
...     id="t.uid", description="GE root", priority=80, confidence=0.9, source="doc",
...     when=Condition(ObservationKind.DICOM_IMPLEMENTATION_UID, MatchOp.PREFIX, "1.2.840.113619."),
...     then=(Conclusion(Attribute.MANUFACTURER, "GE HealthCare"),),
... )
>>> engine = IdentificationEngine(RuleSet(rules=(rule,), categories=()))
>>> from datetime import datetime, UTC
>>> obs = Observation(Endpoint(ip="10.0.0.5"), ObservationKind.DICOM_IMPLEMENTATION_UID,
...                   "1.2.840.113619.6.374", datetime(2025, 1, 1, tzinfo=UTC), Evidence("a.pcap", "packet 3", "dicom"))
>>> engine.identify([obs]).manufacturer.value
'GE HealthCare'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from wardwatch.domain.observations import Endpoint, Evidence, Observation, ObservationKind

__all__ = [
    "CONFIDENCE_OUI",
    "PRIORITY_OUI",
    "RULE_OUI",
    "Attribute",
    "Candidate",
    "Category",
    "Conclusion",
    "Condition",
    "Identification",
    "IdentificationEngine",
    "Match",
    "MatchOp",
    "Resolved",
    "Rule",
    "RuleSet",
    "is_vendor_mac",
    "normalize_mac",
]

#: Confidence of a manufacturer read from the IEEE OUI: the NIC maker is often not the device maker.
CONFIDENCE_OUI = 0.4
#: Priority of the OUI conclusion: below every protocol-level identifier.
PRIORITY_OUI = 10
#: Rule id recorded for OUI conclusions.
RULE_OUI = "oui.ieee-registry"

#: The firing number of matches that no rule fired (OUI look-ups): they never contradict an anchor.
_NO_FIRING = -1

_TEMPLATE_RE = re.compile(r"\{(\w+)\}")
_HEX_RE = re.compile(r"[^0-9a-f]")


class Attribute(StrEnum):
    """What a rule can conclude about an endpoint."""

    MANUFACTURER = "manufacturer"
    MODEL = "model"
    DEVICE_TYPE = "device_type"
    CATEGORY = "category"
    OS = "os"
    OS_VERSION = "os_version"
    SOFTWARE = "software"


#: Attributes that only win together with another attribute's chosen value (dependent -> anchor).
_ANCHORS = {Attribute.OS_VERSION: Attribute.OS, Attribute.MODEL: Attribute.MANUFACTURER}
#: Resolution order: anchors before the attributes that depend on them.
_ORDER = (
    Attribute.MANUFACTURER,
    Attribute.OS,
    Attribute.MODEL,
    Attribute.OS_VERSION,
    Attribute.DEVICE_TYPE,
    Attribute.CATEGORY,
    Attribute.SOFTWARE,
)


class MatchOp(StrEnum):
    """How a condition compares an observation value with its pattern."""

    EQUALS = "equals"
    PREFIX = "prefix"
    CONTAINS = "contains"
    REGEX = "regex"


@lru_cache(maxsize=65_536)
def normalize_mac(raw: str) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` for any common MAC spelling; ``None`` if ``raw`` is not 12 hex digits.

    >>> normalize_mac("00-40-97-AB-CD-EF"), normalize_mac("0040.97ab.cdef"), normalize_mac("n/a")
    ('00:40:97:ab:cd:ef', '00:40:97:ab:cd:ef', None)
    """
    digits = _HEX_RE.sub("", raw.casefold())
    if len(digits) != 12 or len(raw.strip()) > 17:
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def is_vendor_mac(mac: str) -> bool:
    """Whether the OUI of a normalised MAC names a vendor: not locally administered (bit 0x02, random
    MACs of phones and VMs) and not a group address (bit 0x01).

    >>> is_vendor_mac("00:40:97:00:00:01"), is_vendor_mac("da:a1:19:00:00:01")
    (True, False)
    """
    return int(mac[:2], 16) & 0x03 == 0


@dataclass(frozen=True, slots=True)
class Condition:
    """A test on the values of one observation kind; case-insensitive unless ``case_sensitive``."""

    kind: ObservationKind
    """The observation kind tested."""
    op: MatchOp
    """How the pattern is compared."""
    pattern: str
    """Literal text (``equals``, ``prefix``, ``contains``) or a Python regular expression (``regex``)."""
    case_sensitive: bool = False
    """Compare case as well."""
    min_distinct: int = 1
    """For a rule's ``requires``: how many distinct values of the kind must match (``3`` storage classes)."""
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    """The compiled form (every op compiles to one regular expression); ``re.error`` on a bad pattern."""

    def __post_init__(self) -> None:
        """Compile once; literal ops are escaped and anchored."""
        literal = re.escape(self.pattern)
        source = {
            MatchOp.EQUALS: rf"\A(?:{literal})\Z",
            MatchOp.PREFIX: rf"\A(?:{literal})",
            MatchOp.CONTAINS: literal,
            MatchOp.REGEX: self.pattern,
        }[self.op]
        if self.min_distinct < 1:
            raise ValueError(f"min_distinct must be at least 1, not {self.min_distinct}")
        object.__setattr__(self, "regex", re.compile(source, 0 if self.case_sensitive else re.IGNORECASE))

    def search(self, value: str) -> re.Match[str] | None:
        """The match of this condition in ``value``, or ``None``."""
        return self.regex.search(value)


@dataclass(frozen=True, slots=True)
class Conclusion:
    """One attribute value a rule concludes; ``{1}`` or ``{name}`` insert a regex group (``{0}`` all)."""

    attribute: Attribute
    """The attribute concluded."""
    template: str
    """The value, possibly with group references."""

    @property
    def is_literal(self) -> bool:
        """Whether the value has no group references (it can be checked against reference data)."""
        return _TEMPLATE_RE.search(self.template) is None

    def check_groups(self, regex: re.Pattern[str]) -> None:
        """``ValueError`` if the template refers to a group ``regex`` does not have."""
        for name in _TEMPLATE_RE.findall(self.template):
            known = int(name) <= regex.groups if name.isdigit() else name in regex.groupindex
            if not known:
                raise ValueError(f"{self.attribute} {self.template!r} refers to group {{{name}}}, not in the pattern")

    def render(self, match: re.Match[str]) -> str | None:
        """The value with groups filled in; ``None`` when a referenced group did not take part or is blank."""
        missing = False

        def group(ref: re.Match[str]) -> str:
            nonlocal missing
            name = ref.group(1)
            text = match.group(int(name) if name.isdigit() else name)
            if not text or not text.strip():
                missing = True
                return ""
            return text.strip()

        value = _TEMPLATE_RE.sub(group, self.template).strip()
        return None if missing or not value else value


@dataclass(frozen=True, slots=True)
class Rule:
    """A declarative fingerprint rule: when one observation matches (and the ``requires`` hold), conclude."""

    id: str
    """Stable identifier (``dicom.uid-root.ge``), recorded with every conclusion."""
    description: str
    """What the rule recognises, in words."""
    priority: int
    """Higher wins a conflict (see the module docstring for the bands the shipped rules use)."""
    confidence: float
    """How sure a match makes us, 0.0 to 1.0."""
    when: Condition
    """The observation that triggers the rule and supplies the evidence and regex groups."""
    then: tuple[Conclusion, ...]
    """What the rule concludes."""
    source: str
    """Where the identifier comes from (vendor document, DICOM conformance statement, Fingerbank...)."""
    requires: tuple[Condition, ...] = ()
    """Other observations of the same endpoint that must also be present (all of them)."""
    family: str = ""
    """The rule file family (``dicom``, ``dhcp``...)."""

    def __post_init__(self) -> None:
        """``ValueError`` on an empty id or conclusion list, a confidence out of range or a bad group."""
        if not self.id.strip():
            raise ValueError("a rule needs an id")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be between 0 and 1, not {self.confidence}")
        if not self.then:
            raise ValueError("a rule needs at least one conclusion")
        for conclusion in self.then:
            conclusion.check_groups(self.when.regex)


@dataclass(frozen=True, slots=True)
class Category:
    """A device category: a coarse grouping of device types with the domain it belongs to."""

    slug: str
    """Stable identifier (``imaging-modality``)."""
    label: str
    """Display name."""
    domain: str
    """``medical``, ``clinical-it`` or ``it``."""
    device_types: tuple[str, ...]
    """The device-type slugs in this category."""


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Rules and categories, validated and indexed by observation kind; build once, use for every endpoint."""

    rules: tuple[Rule, ...]
    """Every rule, in load order."""
    categories: tuple[Category, ...]
    """The category table."""
    version: str = "unversioned"
    """The policy version, recorded with every identification."""
    by_kind: dict[ObservationKind, tuple[Rule, ...]] = field(init=False, repr=False, compare=False)
    """Rules indexed by the kind of their ``when``."""
    category_of: dict[str, Category] = field(init=False, repr=False, compare=False)
    """Category by device-type slug."""

    def __post_init__(self) -> None:
        """Index, and ``ValueError`` on duplicate rule ids, a device type in two categories or an unknown
        literal category in a rule."""
        seen: set[str] = set()
        index: dict[ObservationKind, list[Rule]] = {}
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
            index.setdefault(rule.when.kind, []).append(rule)
        category_of: dict[str, Category] = {}
        for category in self.categories:
            for slug in category.device_types:
                if slug in category_of:
                    raise ValueError(
                        f"device type {slug!r} is in categories {category_of[slug].slug!r} and {category.slug!r}"
                    )
                category_of[slug] = category
        slugs = {c.slug for c in self.categories}
        for rule in self.rules:
            for conclusion in rule.then:
                if conclusion.attribute is Attribute.CATEGORY and conclusion.template not in slugs:
                    raise ValueError(f"rule {rule.id!r}: unknown category {conclusion.template!r}")
        object.__setattr__(self, "by_kind", {kind: tuple(rules) for kind, rules in index.items()})
        object.__setattr__(self, "category_of", category_of)

    def category(self, slug: str) -> Category | None:
        """The category with this slug."""
        return next((c for c in self.categories if c.slug == slug), None)


@dataclass(frozen=True, slots=True)
class Match:
    """One conclusion of one rule firing on one observation: the unit of evidence."""

    attribute: Attribute
    """What it says something about."""
    value: str
    """What it says."""
    confidence: float
    """The rule's confidence."""
    priority: int
    """The rule's priority."""
    rule_id: str
    """The rule (or :data:`RULE_OUI`)."""
    kind: ObservationKind
    """The kind of the observation that triggered it."""
    observed: str
    """The observation value that triggered it."""
    evidence: Evidence
    """Where that observation came from."""
    firing: int
    """Conclusions of one rule on one observation share this number."""
    via: str | None = None
    """How the value was derived when not literally by the rule (``IEEE registrant 'GE Healthcare'``)."""
    supporting: tuple[Evidence, ...] = ()
    """Evidence of the rule's ``requires`` observations."""


def _match_order(match: Match) -> tuple[float, float, str, str, str]:
    """Strongest first, then stable by rule id and observed value."""
    return (-match.priority, -match.confidence, match.rule_id, match.kind, match.observed)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One value of an attribute with every match that concluded it (strongest first)."""

    value: str
    """The value as the strongest rule wrote it."""
    matches: tuple[Match, ...]
    """Agreeing matches, strongest first."""
    eligible: bool = True
    """``False`` when the value came from firings that contradict an anchor attribute's chosen value."""

    @property
    def best(self) -> Match:
        """The strongest match."""
        return self.matches[0]

    @property
    def support(self) -> int:
        """How many distinct (rule, observation) pairs agree."""
        return len({(m.rule_id, m.kind, m.observed) for m in self.matches})


def _sort_key(candidate: Candidate) -> tuple[int, int, float, int, str]:
    """Ascending sort key: the winner first, ties broken by the value's text."""
    best = candidate.best
    return (
        0 if candidate.eligible else 1,
        -best.priority,
        -best.confidence,
        -candidate.support,
        candidate.value.casefold(),
    )


@dataclass(frozen=True, slots=True)
class Resolved:
    """The chosen value of one attribute, why, and the values that lost."""

    attribute: Attribute
    """The attribute."""
    chosen: Candidate
    """The winning value and its matches."""
    alternatives: tuple[Candidate, ...]
    """Losing values, strongest first; empty when the evidence agreed."""
    reason: str
    """Why the chosen value won, in words."""

    @property
    def value(self) -> str:
        """The chosen value."""
        return self.chosen.value

    @property
    def confidence(self) -> float:
        """Confidence of the strongest rule that concluded the chosen value."""
        return self.chosen.best.confidence

    @property
    def rule_id(self) -> str:
        """The strongest rule that concluded the chosen value."""
        return self.chosen.best.rule_id

    @property
    def evidence(self) -> Evidence:
        """The evidence of that rule's observation."""
        return self.chosen.best.evidence

    @property
    def conflicted(self) -> bool:
        """Whether other values were concluded too."""
        return bool(self.alternatives)


@dataclass(frozen=True, slots=True)
class Identification:
    """Everything identification found about one endpoint; ``None`` means nothing concluded it."""

    endpoints: tuple[Endpoint, ...]
    """The distinct endpoints of the observations (one device may show a MAC and IPs)."""
    manufacturer: Resolved | None
    """Canonical manufacturer name (``wardwatch.reference.manufacturer_catalog``)."""
    model: Resolved | None
    """Model or product family."""
    device_type: Resolved | None
    """Device-type taxonomy slug (``wardwatch.reference.device_types``)."""
    category: Resolved | None
    """Category slug (``imaging-modality``...)."""
    os: Resolved | None
    """Operating system product (``Windows 7``, ``Linux``, ``VxWorks``)."""
    os_version: Resolved | None
    """Operating system version, service pack or build, consistent with :attr:`os` (``None`` when only
    firings for another OS gave a version)."""
    software: Resolved | None
    """The main software stack or product seen (``DCMTK 3.6.7``, ``dcm4che 5.29``)."""
    domain: str | None
    """``medical``, ``clinical-it`` or ``it``: the domain of the chosen category."""
    matches: tuple[Match, ...]
    """Every conclusion of every rule that fired, strongest first."""
    notes: tuple[str, ...]
    """Things worth knowing that concluded nothing (a random MAC, an OUI registrant not in the catalog)."""
    rules_version: str
    """The version of the rule set used."""

    def get(self, attribute: Attribute) -> Resolved | None:
        """The resolved value of ``attribute``."""
        resolved: Resolved | None = getattr(self, attribute.value)
        return resolved

    @property
    def conflicts(self) -> tuple[Resolved, ...]:
        """The attributes where evidence disagreed."""
        found = (self.get(a) for a in _ORDER)
        return tuple(r for r in found if r is not None and r.conflicted)


_OuiRegistrants = Callable[[str], Sequence[str]]
_OrgToManufacturer = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class _Seen:
    """One distinct (kind, value) of an endpoint with its earliest evidence."""

    kind: ObservationKind
    value: str
    evidence: Evidence


class IdentificationEngine:
    """Runs a :class:`RuleSet` on the observations of one endpoint; cheap to call once per endpoint.

    ``oui_registrants(mac)`` gives the IEEE registrant names of a MAC's OUI and ``manufacturer_for_org``
    maps a registrant name to a canonical manufacturer; leave them out to skip OUI identification.
    """

    def __init__(
        self,
        rules: RuleSet,
        oui_registrants: _OuiRegistrants | None = None,
        manufacturer_for_org: _OrgToManufacturer | None = None,
    ) -> None:
        """Keep the rule set and the OUI look-ups."""
        self.rules = rules
        self._registrants = oui_registrants
        self._org_to_manufacturer = manufacturer_for_org

    def identify(self, observations: Iterable[Observation]) -> Identification:
        """Identify the endpoint the ``observations`` are about (all of them, for one device)."""
        seen, endpoints = _distinct(observations)
        by_kind: dict[ObservationKind, list[_Seen]] = {}
        for item in seen:
            by_kind.setdefault(item.kind, []).append(item)
        matches: list[Match] = []
        notes: list[str] = []
        firings: dict[int, dict[Attribute, str]] = {}
        requirements: dict[str, tuple[Evidence, ...] | None] = {}
        for item in seen:
            if item.kind is ObservationKind.MAC:
                if not is_vendor_mac(item.value):
                    notes.append(f"{item.value} is a locally administered or group MAC: its OUI names no vendor")
                    continue
                matches.extend(self._oui(item, notes))
            for rule in self.rules.by_kind.get(item.kind, ()):
                found = rule.when.search(item.value)
                if found is None:
                    continue
                if rule.id not in requirements:
                    requirements[rule.id] = _requirements(rule, by_kind)
                supporting = requirements[rule.id]
                if supporting is None:
                    continue
                firing = len(firings)
                firings[firing] = {}
                for conclusion in rule.then:
                    value = conclusion.render(found)
                    if value is None:
                        continue
                    firings[firing][conclusion.attribute] = value
                    matches.append(
                        Match(
                            conclusion.attribute,
                            value,
                            rule.confidence,
                            rule.priority,
                            rule.id,
                            item.kind,
                            item.value,
                            item.evidence,
                            firing,
                            supporting=supporting,
                        )
                    )
        matches.extend(self._derived_categories(matches))
        return self._resolve_all(tuple(sorted(matches, key=_match_order)), firings, endpoints, notes)

    def _oui(self, item: _Seen, notes: list[str]) -> list[Match]:
        """Manufacturer matches from the IEEE registrant of a vendor MAC."""
        if self._registrants is None or self._org_to_manufacturer is None:
            return []
        out = []
        for org in self._registrants(item.value):
            manufacturer = self._org_to_manufacturer(org)
            if manufacturer is None:
                notes.append(f"{item.value[:8]} is registered to {org!r}, not a catalog manufacturer")
                continue
            out.append(
                Match(
                    Attribute.MANUFACTURER,
                    manufacturer,
                    CONFIDENCE_OUI,
                    PRIORITY_OUI,
                    RULE_OUI,
                    item.kind,
                    item.value,
                    item.evidence,
                    _NO_FIRING,
                    via=f"IEEE registrant {org!r}",
                )
            )
        return out

    def _derived_categories(self, matches: Sequence[Match]) -> list[Match]:
        """A category match for each device-type match whose type is in the category table."""
        out = []
        for match in matches:
            if match.attribute is not Attribute.DEVICE_TYPE:
                continue
            category = self.rules.category_of.get(match.value)
            if category is not None:
                out.append(
                    Match(
                        Attribute.CATEGORY,
                        category.slug,
                        match.confidence,
                        match.priority,
                        match.rule_id,
                        match.kind,
                        match.observed,
                        match.evidence,
                        match.firing,
                        via=f"device type {match.value}",
                        supporting=match.supporting,
                    )
                )
        return out

    def _resolve_all(
        self,
        matches: tuple[Match, ...],
        firings: dict[int, dict[Attribute, str]],
        endpoints: tuple[Endpoint, ...],
        notes: list[str],
    ) -> Identification:
        """Resolve every attribute in dependency order."""
        resolved: dict[Attribute, Resolved | None] = {}
        for attribute in _ORDER:
            anchor = _ANCHORS.get(attribute)
            anchor_value = None
            if anchor is not None and (chosen := resolved.get(anchor)) is not None:
                anchor_value = chosen.value
            resolved[attribute] = _resolve(
                attribute, [m for m in matches if m.attribute is attribute], anchor, anchor_value, firings
            )
        category = resolved[Attribute.CATEGORY]
        known = self.rules.category(category.value) if category is not None else None
        return Identification(
            endpoints=endpoints,
            manufacturer=resolved[Attribute.MANUFACTURER],
            model=resolved[Attribute.MODEL],
            device_type=resolved[Attribute.DEVICE_TYPE],
            category=category,
            os=resolved[Attribute.OS],
            os_version=resolved[Attribute.OS_VERSION],
            software=resolved[Attribute.SOFTWARE],
            domain=known.domain if known is not None else None,
            matches=matches,
            notes=tuple(dict.fromkeys(notes)),
            rules_version=self.rules.version,
        )


def _distinct(observations: Iterable[Observation]) -> tuple[list[_Seen], tuple[Endpoint, ...]]:
    """Distinct (kind, value) pairs with their earliest evidence; MACs of the endpoints count as MAC values."""
    earliest: dict[tuple[ObservationKind, str], tuple[tuple[datetime, str, str], _Seen]] = {}
    endpoints: dict[Endpoint, None] = {}

    def add(kind: ObservationKind, value: str, observation: Observation) -> None:
        order = (observation.seen_at, observation.evidence.source, observation.evidence.locator)
        key = (kind, value.casefold())
        current = earliest.get(key)
        if current is None or order < current[0]:
            earliest[key] = (order, _Seen(kind, value, observation.evidence))

    for observation in observations:
        endpoints[observation.endpoint] = None
        value = observation.value.strip()
        if observation.kind is ObservationKind.MAC:
            if (mac := normalize_mac(value)) is not None:
                add(ObservationKind.MAC, mac, observation)
        elif value:
            add(observation.kind, value, observation)
        if observation.endpoint.mac is not None and (mac := normalize_mac(observation.endpoint.mac)) is not None:
            add(ObservationKind.MAC, mac, observation)
    items = sorted((entry for _, entry in earliest.values()), key=lambda s: (s.kind, s.value.casefold()))
    return items, tuple(endpoints)


def _requirements(rule: Rule, by_kind: dict[ObservationKind, list[_Seen]]) -> tuple[Evidence, ...] | None:
    """The evidence of the rule's ``requires`` observations, or ``None`` when one is not met."""
    evidence: list[Evidence] = []
    for condition in rule.requires:
        hits = [s for s in by_kind.get(condition.kind, ()) if condition.search(s.value) is not None]
        if len({s.value.casefold() for s in hits}) < condition.min_distinct:
            return None
        evidence.extend(s.evidence for s in hits)
    return tuple(evidence)


def _resolve(
    attribute: Attribute,
    matches: list[Match],
    anchor: Attribute | None,
    anchor_value: str | None,
    firings: dict[int, dict[Attribute, str]],
) -> Resolved | None:
    """Choose one value among ``matches`` (already strongest first) and explain the choice."""
    if not matches:
        return None
    groups: dict[str, list[Match]] = {}
    for match in matches:
        groups.setdefault(match.value.casefold(), []).append(match)

    def eligible(group: list[Match]) -> bool:
        if anchor is None or anchor_value is None:
            return True
        said = [firings.get(m.firing, {}).get(anchor) for m in group]
        return any(s is None or s.casefold() == anchor_value.casefold() for s in said)

    candidates = sorted(
        (Candidate(group[0].value, tuple(group), eligible(group)) for group in groups.values()), key=_sort_key
    )
    chosen, alternatives = candidates[0], tuple(candidates[1:])
    if not chosen.eligible:
        # Every value came with another anchor value (a version of an OS that lost): none is chosen; the
        # matches stay in Identification.matches.
        return None
    return Resolved(attribute, chosen, alternatives, _reason(chosen, alternatives, anchor))


def _reason(chosen: Candidate, alternatives: tuple[Candidate, ...], anchor: Attribute | None) -> str:
    """Why ``chosen`` beat the strongest alternative, in words."""
    best = chosen.best
    agreeing = f"{chosen.support} agreeing observation{'s' if chosen.support != 1 else ''}"
    if not alternatives:
        return f"{best.rule_id} (priority {best.priority}, confidence {best.confidence:g}); {agreeing}"
    other = alternatives[0]
    if not other.eligible and anchor is not None:
        return f"{other.value!r} came with a different {anchor} than the one chosen"
    if best.priority != other.best.priority:
        return f"priority {best.priority} ({best.rule_id}) over {other.best.priority} ({other.best.rule_id})"
    if best.confidence != other.best.confidence:
        return (
            f"same priority {best.priority}; confidence {best.confidence:g} ({best.rule_id}) over "
            f"{other.best.confidence:g} ({other.best.rule_id})"
        )
    if chosen.support != other.support:
        return f"same priority and confidence; {agreeing} against {other.support}"
    return f"a tie with {other.value!r} broken by name order"
