"""Fingerprint rules as data: load ``wardwatch/data/fingerprints/*.yaml`` into a validated rule set.

One file per family (``oui_overrides``, ``hostname``, ``dhcp``, ``dicom``, ``hl7``, ``http``, ``tls``,
``snmp``, ``os``) plus ``categories.yaml`` (device type -> category -> domain).  A rule file reads::

    family: dicom
    rules:
      - id: dicom.uid-root.ge                # unique across all files
        description: GE HealthCare implementation class UID root
        source: "DICOM conformance statements of GE products; ..."
        priority: 80                         # see the bands below
        confidence: 0.9
        when: {kind: dicom_implementation_uid, prefix: "1.2.840.113619."}   # or equals / contains / regex
        requires: [{kind: dicom_role, equals: scu}]                          # optional, all must hold
        then: {manufacturer: GE HealthCare}

``when`` takes exactly one of ``equals``, ``prefix``, ``contains`` or ``regex`` and optionally
``case_sensitive: true``; a ``requires`` entry may add ``min_distinct: N``.  ``then`` concludes any of
``manufacturer`` (a canonical catalog name), ``model``, ``device_type`` (a taxonomy slug), ``category``
(a ``categories.yaml`` slug), ``os`` and ``os_version``; ``model``, ``os`` and ``os_version`` may insert
regex groups as ``{1}`` or ``{name}``.

Priority bands used by the shipped rules (higher wins a conflict):

* 90 a vendor's own protocol identifier for a model (HL7 sending application, SNMP sysDescr model string);
* 80 a vendor root or name (DICOM implementation UID root / version name, vendor TLS names, User-Agent);
* 60 the operating system said by the system itself (SMB native OS, User-Agent OS token, sysDescr);
* 50 protocol behaviour (DICOM roles and SOP classes, DHCP vendor class);
* 40 generic software stacks (DCMTK, pynetdicom...) and DHCP option-55 fingerprints;
* 20 names chosen by people (hostnames, NetBIOS names, AE titles);
* 10 the IEEE OUI (computed by the engine, not a rule file), 15 for ``oui_overrides`` entries.

Every problem is reported as one :class:`RuleFileError` naming the file and the rule.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Collection, Mapping
from functools import cache
from importlib import resources
from typing import Any

import netaddr
import yaml

from wardwatch.domain.identification import (
    Attribute,
    Category,
    Conclusion,
    Condition,
    IdentificationEngine,
    MatchOp,
    Rule,
    RuleSet,
)
from wardwatch.domain.observations import ObservationKind
from wardwatch.reference import device_types, manufacturer_catalog

__all__ = [
    "CATEGORIES_FILE",
    "RuleFileError",
    "default_engine",
    "ieee_registrants",
    "load_rule_set",
    "parse_categories",
    "parse_rule_file",
    "read_rule_files",
    "shipped_rule_set",
]

logger = logging.getLogger(__name__)

#: The file of the category table, in the fingerprints folder.
CATEGORIES_FILE = "categories.yaml"
_PACKAGE = "wardwatch.data"
_FOLDER = "fingerprints"
_RULE_KEYS = frozenset({"id", "description", "source", "priority", "confidence", "when", "requires", "then"})
_CONDITION_KEYS = frozenset({"kind", "case_sensitive", "min_distinct", *(op.value for op in MatchOp)})
#: Attributes whose values are checked against reference data, so they may not use regex groups.
_LITERAL_ONLY = frozenset({Attribute.MANUFACTURER, Attribute.DEVICE_TYPE, Attribute.CATEGORY})


class RuleFileError(ValueError):
    """A fingerprint file or rule is malformed: the message names the file, the rule and what to fix."""

    def __init__(self, file: str, rule_id: str | None, problem: str) -> None:
        """Build the one-line message from its parts."""
        where = f"{file}, rule {rule_id!r}" if rule_id else file
        super().__init__(f"{where}: {problem}")
        self.file = file
        """The file name."""
        self.rule_id = rule_id
        """The rule id, ``None`` for a file-level problem."""


def read_rule_files() -> dict[str, str]:
    """The shipped fingerprint files by name (``dicom.yaml``...), in name order."""
    folder = resources.files(_PACKAGE).joinpath(_FOLDER)
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    return {f.name: f.read_text(encoding="utf-8") for f in files}


def _load_yaml(file: str, text: str) -> Mapping[str, Any]:
    """The YAML document as a mapping; :class:`RuleFileError` otherwise."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        detail = " ".join(str(e).split())
        raise RuleFileError(file, None, f"not valid YAML ({detail}). Tip: check indentation and quoting") from e
    if not isinstance(document, Mapping):
        raise RuleFileError(file, None, "expected a mapping with a 'rules' or 'categories' list")
    return document


def _condition(raw: Any, where: str) -> Condition:
    """A :class:`Condition` from its YAML mapping; ``ValueError`` saying what is wrong."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be a mapping like {{kind: hostname, prefix: 'pump-'}}")
    unknown = set(raw) - _CONDITION_KEYS
    if unknown:
        raise ValueError(f"{where} has unknown keys {sorted(unknown)}")
    try:
        kind = ObservationKind(str(raw.get("kind")))
    except ValueError:
        raise ValueError(
            f"{where} kind {raw.get('kind')!r} is not an observation kind "
            f"({', '.join(k.value for k in ObservationKind)})"
        ) from None
    ops = [op for op in MatchOp if op.value in raw]
    if len(ops) != 1:
        raise ValueError(f"{where} needs exactly one of equals, prefix, contains, regex")
    pattern = raw[ops[0].value]
    if not isinstance(pattern, str | int | float) or isinstance(pattern, bool) or str(pattern) == "":
        raise ValueError(f"{where} {ops[0].value} must be non-empty text")
    try:
        return Condition(
            kind,
            ops[0],
            str(pattern),
            case_sensitive=bool(raw.get("case_sensitive", False)),
            min_distinct=int(raw.get("min_distinct", 1)),
        )
    except re.error as e:
        raise ValueError(f"{where} regex {pattern!r} does not compile: {e}") from e


def _conclusions(raw: Any) -> tuple[Conclusion, ...]:
    """The ``then`` mapping as conclusions; ``ValueError`` on unknown attributes or non-text values."""
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError("'then' must be a non-empty mapping like {manufacturer: GE HealthCare}")
    out = []
    for key, value in raw.items():
        try:
            attribute = Attribute(key)
        except ValueError:
            raise ValueError(f"'then' key {key!r} is not one of {', '.join(a.value for a in Attribute)}") from None
        if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value).strip():
            raise ValueError(f"'then' {key} must be non-empty text")
        conclusion = Conclusion(attribute, str(value))
        if attribute in _LITERAL_ONLY and not conclusion.is_literal:
            raise ValueError(f"'then' {key} must be literal text, without regex groups")
        out.append(conclusion)
    return tuple(out)


def _rule(raw: Any, family: str, index: int) -> Rule:
    """One rule from its YAML mapping; ``ValueError`` saying what is wrong (the caller adds file and id)."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"rule #{index + 1} must be a mapping")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)} (allowed: {', '.join(sorted(_RULE_KEYS))})")
    for key in ("description", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ValueError(f"'{key}' is required (say what the rule recognises and where that comes from)")
    priority, confidence = raw.get("priority"), raw.get("confidence")
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise ValueError(f"'priority' must be an integer, not {priority!r}")
    if not isinstance(confidence, int | float) or isinstance(confidence, bool):
        raise ValueError(f"'confidence' must be a number between 0 and 1, not {confidence!r}")
    requires = raw.get("requires") or []
    if not isinstance(requires, list):
        raise ValueError("'requires' must be a list of conditions")
    return Rule(
        id=str(raw["id"]),
        description=raw["description"].strip(),
        priority=priority,
        confidence=float(confidence),
        when=_condition(raw.get("when"), "'when'"),
        then=_conclusions(raw.get("then")),
        source=raw["source"].strip(),
        requires=tuple(_condition(r, f"'requires' #{i + 1}") for i, r in enumerate(requires)),
        family=family,
    )


def parse_rule_file(
    file: str,
    text: str,
    manufacturers: Collection[str] | None = None,
    device_type_slugs: Collection[str] | None = None,
) -> tuple[Rule, ...]:
    """The rules of one fingerprint file, checked; :class:`RuleFileError` naming the file and rule otherwise.

    When given, ``manufacturers`` (canonical names) and ``device_type_slugs`` are the only values a rule
    may conclude for those attributes.
    """
    document = _load_yaml(file, text)
    family = str(document.get("family") or file.removesuffix(".yaml"))
    raw_rules = document.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RuleFileError(file, None, "expected a non-empty 'rules' list")
    rules = []
    for index, raw in enumerate(raw_rules):
        rule_id = raw.get("id") if isinstance(raw, Mapping) else None
        if not isinstance(rule_id, str) or not rule_id.strip():
            raise RuleFileError(file, f"#{index + 1}", "every rule needs a text 'id'")
        try:
            rule = _rule(raw, family, index)
        except ValueError as e:
            raise RuleFileError(file, rule_id, str(e)) from e
        for conclusion in rule.then:
            allowed = {Attribute.MANUFACTURER: manufacturers, Attribute.DEVICE_TYPE: device_type_slugs}
            known = allowed.get(conclusion.attribute)
            if known is not None and conclusion.template not in known:
                raise RuleFileError(
                    file,
                    rule_id,
                    f"unknown {conclusion.attribute} {conclusion.template!r}. Tip: use a canonical "
                    "name from data/manufacturers.json or a slug from data/device_types.json",
                )
        rules.append(rule)
    return tuple(rules)


def parse_categories(file: str, text: str, device_type_slugs: Collection[str] | None = None) -> tuple[Category, ...]:
    """The category table; :class:`RuleFileError` on a malformed entry or an unknown device type."""
    raw = _load_yaml(file, text).get("categories")
    if not isinstance(raw, list) or not raw:
        raise RuleFileError(file, None, "expected a non-empty 'categories' list")
    out = []
    for entry in raw:
        slug = entry.get("slug") if isinstance(entry, Mapping) else None
        if not isinstance(slug, str) or not slug:
            raise RuleFileError(file, None, f"category without a slug: {entry!r}")
        domain, label = entry.get("domain"), entry.get("label")
        if domain not in ("medical", "clinical-it", "it") or not isinstance(label, str):
            raise RuleFileError(file, slug, "needs a 'label' and a 'domain' of medical, clinical-it or it")
        types = tuple(str(t) for t in entry.get("device_types") or ())
        unknown = [t for t in types if device_type_slugs is not None and t not in device_type_slugs]
        if unknown:
            raise RuleFileError(file, slug, f"unknown device types {unknown}")
        out.append(Category(slug=slug, label=label, domain=domain, device_types=types))
    return tuple(out)


def load_rule_set(
    files: Mapping[str, str],
    manufacturers: Collection[str] | None = None,
    device_type_slugs: Collection[str] | None = None,
) -> RuleSet:
    """A rule set from fingerprint files by name (``categories.yaml`` plus rule files).

    The version is a digest of the files, so any change to the rules changes it.
    """
    categories: tuple[Category, ...] = ()
    rules: list[Rule] = []
    owner: dict[str, str] = {}
    for file, text in sorted(files.items()):
        if file == CATEGORIES_FILE:
            categories = parse_categories(file, text, device_type_slugs)
            continue
        for rule in parse_rule_file(file, text, manufacturers, device_type_slugs):
            if rule.id in owner:
                raise RuleFileError(file, rule.id, f"the id is already used in {owner[rule.id]}")
            owner[rule.id] = file
            rules.append(rule)
    digest = hashlib.sha256()
    for file, text in sorted(files.items()):
        digest.update(file.encode() + b"\0" + text.encode() + b"\0")
    try:
        rule_set = RuleSet(rules=tuple(rules), categories=categories, version=f"fp-{digest.hexdigest()[:12]}")
    except ValueError as e:
        raise RuleFileError(", ".join(sorted(files)), None, str(e)) from e
    logger.debug("loaded %d fingerprint rules, version %s", len(rules), rule_set.version)
    return rule_set


@cache
def shipped_rule_set() -> RuleSet:
    """The shipped rules, checked against the manufacturer catalog and the device-type taxonomy."""
    catalog = manufacturer_catalog()
    return load_rule_set(
        read_rule_files(),
        manufacturers={m.name for m in catalog.manufacturers},
        device_type_slugs={t.slug for t in device_types()},
    )


def ieee_registrants(mac: str) -> tuple[str, ...]:
    """The IEEE MA-L registrant names of a MAC's OUI from netaddr's bundled registry (empty if unassigned)."""
    try:
        oui = netaddr.EUI(mac).oui
        return tuple(str(oui.registration(i).org) for i in range(oui.reg_count))
    except (netaddr.NotRegisteredError, netaddr.AddrFormatError, ValueError, TypeError):
        return ()


def _manufacturer_for_org() -> Callable[[str], str | None]:
    """The catalog's registrant-name mapping."""
    return manufacturer_catalog().by_oui_org


@cache
def default_engine() -> IdentificationEngine:
    """The engine on the shipped rules, netaddr's OUI registry and the manufacturer catalog (built once)."""
    return IdentificationEngine(shipped_rule_set(), ieee_registrants, _manufacturer_for_org())
