"""Vulnerability intelligence as values: what the feeds say, independent of their wire formats.

Readers in ``wardwatch.ingest`` (nvd, cve5, kev, epss, csaf, cyclonedx, spdx, openvex, openfda, mds2) convert
each feed's own schema (mirrored in ``ingest/_wire`` where useful) into these types once; matching
(``domain.matching``) and risk only ever see these.  Missing means ``None`` — never a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

__all__ = [
    "Advisory",
    "AdvisoryProduct",
    "AdvisoryVulnerability",
    "Component",
    "ConfigNode",
    "CpeMatch",
    "Cvss",
    "EpssScore",
    "KevEntry",
    "Mds2Form",
    "ProductStatus",
    "Recall",
    "Reference",
    "Remediation",
    "RemediationCategory",
    "Sbom",
    "VexStatement",
    "VexStatus",
    "Vulnerability",
]


@dataclass(frozen=True, slots=True)
class Cvss:
    """One CVSS assessment of a vulnerability."""

    version: str
    """``2.0``, ``3.0``, ``3.1`` or ``4.0``."""
    vector: str
    """The full vector string, with its ``CVSS:3.1/`` prefix where the version has one."""
    base_score: float | None
    """Base score as published (``None`` if the source gave only a vector)."""
    source: str | None = None
    """Who scored it (``nvd@nist.gov``, a CNA, ``CISA-ADP``, an advisory)."""
    type: str | None = None
    """``Primary`` or ``Secondary`` (NVD), when given."""


@dataclass(frozen=True, slots=True)
class Reference:
    """A link about a vulnerability."""

    url: str
    """The address."""
    tags: tuple[str, ...] = ()
    """Tags such as ``Exploit``, ``Patch``, ``Vendor Advisory``."""


@dataclass(frozen=True, slots=True)
class CpeMatch:
    """One CPE match criterion of an NVD configuration, with its version range (bounds are text, as published)."""

    criteria: str
    """A CPE 2.3 formatted string, e.g. ``cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*``."""
    vulnerable: bool
    """True when matching products are vulnerable (False: a platform condition)."""
    version_start_including: str | None = None
    """Lowest affected version, inclusive."""
    version_start_excluding: str | None = None
    """Lowest bound, exclusive."""
    version_end_including: str | None = None
    """Highest affected version, inclusive."""
    version_end_excluding: str | None = None
    """Highest bound, exclusive (the first fixed version)."""


@dataclass(frozen=True, slots=True)
class ConfigNode:
    """An NVD configuration node: CPE matches and child nodes combined with AND/OR (optionally negated)."""

    operator: str
    """``OR`` or ``AND``."""
    negate: bool = False
    """True when the node's result is inverted."""
    matches: tuple[CpeMatch, ...] = ()
    """CPE criteria of this node."""
    children: tuple[ConfigNode, ...] = ()
    """Nested nodes (NVD 1.1 style trees and 2.0 multi-node configurations)."""


@dataclass(frozen=True, slots=True)
class Vulnerability:
    """A CVE (or another identified vulnerability) as the NVD / CVE 5 records describe it."""

    id: str
    """``CVE-2017-0144``."""
    description: str | None = None
    """English description."""
    published: datetime | None = None
    """First published (UTC)."""
    modified: datetime | None = None
    """Last modified (UTC): drives incremental sync."""
    cvss: tuple[Cvss, ...] = ()
    """Every CVSS assessment given, all versions and sources."""
    cwes: tuple[str, ...] = ()
    """Weakness ids (``CWE-787``); ``NVD-CWE-Other``/``noinfo`` kept as published."""
    references: tuple[Reference, ...] = ()
    """Links."""
    configurations: tuple[ConfigNode, ...] = ()
    """Applicability (NVD): each element is one configuration (its nodes ANDed/ORed as published)."""
    status: str | None = None
    """NVD ``vulnStatus`` or CVE ``state`` (``Analyzed``, ``PUBLISHED``, ``REJECTED``...)."""
    ssvc: dict[str, str] = field(default_factory=dict)
    """SSVC decision points from CISA's ADP container (``Exploitation``, ``Automatable``,
    ``Technical Impact``) as published."""
    kev_date_added: date | None = None
    """When CISA's ADP container says the CVE was added to KEV, if it says so."""
    affected: tuple[tuple[str, str, str], ...] = ()
    """CVE 5 ``affected`` entries flattened: (vendor, product, version range text)."""
    source: str | None = None
    """Which reader produced it (``nvd``, ``cve5``)."""


@dataclass(frozen=True, slots=True)
class KevEntry:
    """An entry of CISA's Known Exploited Vulnerabilities catalog."""

    cve: str
    """The CVE id."""
    vendor: str
    """``vendorProject``."""
    product: str
    """``product``."""
    name: str
    """``vulnerabilityName``."""
    date_added: date
    """When CISA added it."""
    due_date: date | None
    """Federal remediation due date."""
    required_action: str
    """What CISA requires."""
    ransomware: str | None
    """``Known`` / ``Unknown`` use in ransomware campaigns."""
    notes: str | None = None
    """Notes and links."""
    cwes: tuple[str, ...] = ()
    """CWE ids."""


@dataclass(frozen=True, slots=True)
class EpssScore:
    """FIRST EPSS probability of exploitation in the next 30 days, with the model that produced it."""

    cve: str
    """The CVE id."""
    epss: float
    """Probability, 0–1."""
    percentile: float
    """Percentile among all scored CVEs, 0–1."""
    model_version: str | None
    """E.g. ``v2025.03.14`` (from the file's first line)."""
    score_date: date | None
    """The date the scores are for."""


class ProductStatus(StrEnum):
    """CSAF product status groups (with the VEX profile's meaning)."""

    KNOWN_AFFECTED = "known_affected"
    FIRST_AFFECTED = "first_affected"
    LAST_AFFECTED = "last_affected"
    FIXED = "fixed"
    FIRST_FIXED = "first_fixed"
    KNOWN_NOT_AFFECTED = "known_not_affected"
    UNDER_INVESTIGATION = "under_investigation"
    RECOMMENDED = "recommended"


class RemediationCategory(StrEnum):
    """CSAF remediation categories."""

    VENDOR_FIX = "vendor_fix"
    MITIGATION = "mitigation"
    WORKAROUND = "workaround"
    NONE_AVAILABLE = "none_available"
    NO_FIX_PLANNED = "no_fix_planned"


@dataclass(frozen=True, slots=True)
class AdvisoryProduct:
    """A product of a CSAF product tree, flattened from its branches."""

    product_id: str
    """The advisory's product id (``CSAFPID-0001``)."""
    vendor: str | None
    """Vendor branch name."""
    name: str | None
    """Product name branch (``Alaris PC Unit``)."""
    version: str | None
    """Version or version-range text exactly as published (``9.19``, ``<=9.33``, ``vers:all/*``...)."""
    full_name: str
    """The product's full name."""
    cpe: str | None = None
    """Product identification helper CPE, if any."""
    purls: tuple[str, ...] = ()
    """Product identification helper purls."""
    model_numbers: tuple[str, ...] = ()
    """Model numbers, if given."""


@dataclass(frozen=True, slots=True)
class Remediation:
    """What to do about a vulnerability for some products."""

    category: RemediationCategory
    """Kind of remediation."""
    details: str
    """The text."""
    product_ids: tuple[str, ...] = ()
    """Products it applies to."""
    url: str | None = None
    """Link, if any."""


@dataclass(frozen=True, slots=True)
class AdvisoryVulnerability:
    """One vulnerability of an advisory, with the status of each product."""

    cve: str | None
    """CVE id (some advisory entries have none)."""
    title: str | None
    """Title."""
    status: dict[ProductStatus, tuple[str, ...]]
    """Product status group -> product ids."""
    remediations: tuple[Remediation, ...] = ()
    """Remediations."""
    cvss: tuple[tuple[Cvss, tuple[str, ...]], ...] = ()
    """Scores, each with the product ids it applies to."""
    cwes: tuple[str, ...] = ()
    """CWE ids."""
    notes: tuple[str, ...] = ()
    """Summary and other notes (text)."""
    threats: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    """(category, details, product ids) — e.g. ``impact``, ``exploit_status``."""
    flags: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """VEX justifications as CSAF flags: (label, product ids), e.g. ``vulnerable_code_not_present``."""


@dataclass(frozen=True, slots=True)
class Advisory:
    """A CSAF 2.0 advisory (security advisory or VEX profile)."""

    id: str
    """Tracking id (``ICSMA-20-170-06``)."""
    title: str
    """Title."""
    publisher: str
    """Publisher name."""
    category: str
    """``csaf_security_advisory``, ``csaf_vex``..."""
    initial_release: datetime | None
    """First released."""
    current_release: datetime | None
    """Latest revision."""
    version: str | None
    """Tracking version."""
    products: tuple[AdvisoryProduct, ...]
    """Flattened product tree."""
    vulnerabilities: tuple[AdvisoryVulnerability, ...]
    """Vulnerabilities."""
    references: tuple[Reference, ...] = ()
    """Document references."""


class VexStatus(StrEnum):
    """VEX status, common to CycloneDX, OpenVEX and CSAF (mapped)."""

    NOT_AFFECTED = "not_affected"
    AFFECTED = "affected"
    FIXED = "fixed"
    UNDER_INVESTIGATION = "under_investigation"


@dataclass(frozen=True, slots=True)
class VexStatement:
    """A supplier's statement about one vulnerability in one product or component."""

    vulnerability: str
    """CVE (or other) id."""
    product: str
    """The product or component it is about: a purl, a CPE, a bom-ref or an advisory product id."""
    status: VexStatus
    """The status."""
    justification: str | None = None
    """Why not affected (``code_not_reachable``, ``vulnerable_code_not_present``...)."""
    impact: str | None = None
    """Impact statement / detail."""
    action: str | None = None
    """Action statement / response (``update``, ``workaround_available``...)."""
    author: str | None = None
    """Who says so."""
    timestamp: datetime | None = None
    """When."""
    fixed_version: str | None = None
    """Where a ``fixed`` statement names it."""


@dataclass(frozen=True, slots=True)
class Component:
    """A software component of a device, from its SBOM."""

    ref: str
    """The SBOM's own id for it (bom-ref, SPDXID)."""
    name: str
    """Name."""
    version: str | None
    """Version."""
    purl: str | None = None
    """Package URL."""
    cpe: str | None = None
    """CPE 2.3 string."""
    supplier: str | None = None
    """Supplier or author."""
    type: str | None = None
    """``library``, ``operating-system``, ``firmware``, ``application``..."""
    hashes: tuple[tuple[str, str], ...] = ()
    """(algorithm, value)."""


@dataclass(frozen=True, slots=True)
class Sbom:
    """A software bill of materials of one product (device model and version)."""

    format: str
    """``CycloneDX 1.4``…``1.6`` or ``SPDX 2.3``."""
    name: str | None
    """The described product's name (metadata.component / SPDX document describes)."""
    version: str | None
    """Its version."""
    supplier: str | None
    """Manufacturer / supplier."""
    components: tuple[Component, ...]
    """Components."""
    vex: tuple[VexStatement, ...] = ()
    """VEX statements embedded in the SBOM (CycloneDX vulnerabilities)."""
    serial: str | None = None
    """Serial number / document namespace."""
    created: datetime | None = None
    """When the SBOM was made."""


@dataclass(frozen=True, slots=True)
class Recall:
    """An FDA device recall (openFDA ``device/recall``)."""

    recall_number: str
    """``Z-1234-2023`` (product_res_number) or the recall's id."""
    product_code: str | None
    """FDA product code."""
    manufacturer: str | None
    """Recalling firm."""
    product_description: str
    """What was recalled."""
    reason: str | None
    """Reason for recall."""
    classification: str | None
    """``Class 1``… (openFDA ``openfda.device_class`` or event classification)."""
    status: str | None
    """``Open``, ``Terminated``…"""
    posted: date | None
    """Date posted / initiated."""
    model_numbers: tuple[str, ...] = ()
    """Model or catalog numbers named, when extractable."""
    k_numbers: tuple[str, ...] = ()
    """510(k) numbers."""


@dataclass(frozen=True, slots=True)
class Mds2Form:
    """A manufacturer's MDS2 form (2019 question set) for one device model, answers and derived capabilities."""

    manufacturer: str | None
    """Manufacturer."""
    model: str | None
    """Device model."""
    version: str | None
    """Software/firmware version the form covers."""
    form_date: date | None
    """Date of the form."""
    answers: dict[str, str]
    """Question id (``AUTH-1``, ``MLDP-2``…) -> answer as written (``Yes``, ``No``, ``N/A``, text)."""
    capabilities: dict[str, bool | None]
    """Derived: ``authentication``, ``encryption_at_rest``, ``encryption_in_transit``, ``audit_logging``,
    ``remote_service``, ``malware_protection``, ``sbom_available``, ``stores_phi``, ``transmits_phi``… — ``None``
    when the form does not say."""
    operating_system: str | None = None
    """OS named by the form."""
    end_of_support: date | None = None
    """Support end date named by the form."""
