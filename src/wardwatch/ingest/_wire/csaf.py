"""The parts of CSAF 2.0 (OASIS, JSON schema ``csaf_json_schema.json``) that Wardwatch reads, as pydantic models.

Only ``wardwatch.ingest.csaf`` uses these; it converts them into ``wardwatch.domain.intel`` values once.

Lenient where real files deviate: unknown properties are ignored, and free-text categories (branch, note,
reference, threat, flag) are plain strings.  Strict where we rely on a field: ``document.category``, ``title``,
``publisher.name`` and ``tracking.id`` are required strings (no number-to-text coercion), release dates must be
timezone-aware, every product has a ``product_id``, remediation categories are the five CSAF 2.0 defines, and
a CVSS score has a vector.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "Branch",
    "CsafDocument",
    "Cvss2",
    "Cvss3",
    "Cwe",
    "Document",
    "Flag",
    "FullProductName",
    "Note",
    "ProductGroup",
    "ProductIdentificationHelper",
    "ProductStatus",
    "ProductTree",
    "Publisher",
    "Reference",
    "Relationship",
    "Remediation",
    "Score",
    "Threat",
    "Tracking",
    "Vulnerability",
    "VulnerabilityId",
]


class _Wire(BaseModel):
    """Base: immutable, unknown properties ignored, no text coercion of numbers."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=False)


class Note(_Wire):
    """``/$defs/notes_t`` item."""

    category: str
    """``summary``, ``description``, ``general``, ``legal_disclaimer``, ``other``..."""
    text: str
    """The note."""
    title: str | None = None
    """Its title."""


class Reference(_Wire):
    """``/$defs/references_t`` item."""

    url: str
    """The link."""
    summary: str | None = None
    """What it is."""
    category: str | None = None
    """``self`` or ``external``."""


class Publisher(_Wire):
    """``/document/publisher``."""

    name: str
    """Publisher name (``CISA``)."""
    category: str | None = None
    """``coordinator``, ``vendor``, ``discoverer``..."""
    namespace: str | None = None
    """Publisher URL."""


class Tracking(_Wire):
    """``/document/tracking``."""

    id: str
    """Tracking id (``ICSMA-20-170-06``)."""
    version: str | None = None
    """Document version (``1``, ``2.0.0``)."""
    initial_release_date: AwareDatetime | None = None
    """First released."""
    current_release_date: AwareDatetime | None = None
    """Latest revision."""
    status: str | None = None
    """``draft``, ``interim``, ``final``."""


class Document(_Wire):
    """``/document``: the advisory's metadata."""

    category: str
    """``csaf_security_advisory``, ``csaf_vex``, ``csaf_informational_advisory``, ``csaf_base`` or another."""
    csaf_version: str
    """``2.0``."""
    title: str
    """Title."""
    publisher: Publisher
    """Who publishes it."""
    tracking: Tracking
    """Id, version, dates."""
    references: list[Reference] = Field(default_factory=list)
    """Document references."""
    notes: list[Note] = Field(default_factory=list)
    """Document notes."""


class ProductIdentificationHelper(_Wire):
    """``/$defs/full_product_name_t/product_identification_helper`` (the parts we read)."""

    cpe: str | None = None
    """CPE 2.2 or 2.3 string."""
    purl: str | None = None
    """Package URL (CSAF 2.0: one)."""
    purls: list[str] = Field(default_factory=list)
    """Package URLs (CSAF 2.1: a list)."""
    model_numbers: list[str] = Field(default_factory=list)
    """Model numbers."""
    serial_numbers: list[str] = Field(default_factory=list)
    """Serial numbers."""
    skus: list[str] = Field(default_factory=list)
    """Stock keeping units."""


class FullProductName(_Wire):
    """``/$defs/full_product_name_t``: a product with its id."""

    name: str
    """Full name."""
    product_id: str
    """Id referenced by the vulnerabilities (``CSAFPID-0001``)."""
    product_identification_helper: ProductIdentificationHelper | None = None
    """CPE, purl, model numbers..."""


class Branch(_Wire):
    """``/$defs/branches_t`` item: one level of the product tree (vendor, product name, version...)."""

    category: str
    """``vendor``, ``product_family``, ``product_name``, ``product_version``, ``product_version_range``,
    ``service_pack``, ``patch_level``, ``architecture``..."""
    name: str
    """The branch's value, exactly as published (``Alaris PC Unit``, ``<= 9.33``, ``vers:all/*``)."""
    branches: list[Branch] = Field(default_factory=list)
    """Child branches."""
    product: FullProductName | None = None
    """The product at a leaf."""


class Relationship(_Wire):
    """``/product_tree/relationships`` item: a product made of two others (component of, installed on...)."""

    category: str
    """``default_component_of``, ``external_component_of``, ``installed_on``, ``installed_with``,
    ``optional_component_of``."""
    full_product_name: FullProductName
    """The composite product."""
    product_reference: str
    """The component's product id."""
    relates_to_product_reference: str
    """The platform's product id."""


class ProductGroup(_Wire):
    """``/product_tree/product_groups`` item."""

    group_id: str
    """Id referenced by remediations, threats and flags."""
    product_ids: list[str]
    """Members."""
    summary: str | None = None
    """Description."""


class ProductTree(_Wire):
    """``/product_tree``."""

    branches: list[Branch] = Field(default_factory=list)
    """Vendor → product → version branches."""
    full_product_names: list[FullProductName] = Field(default_factory=list)
    """Products outside the branches."""
    relationships: list[Relationship] = Field(default_factory=list)
    """Composite products."""
    product_groups: list[ProductGroup] = Field(default_factory=list)
    """Named sets of product ids."""


class Cwe(_Wire):
    """``/vulnerabilities[]/cwe`` (one per vulnerability in CSAF 2.0)."""

    id: str
    """``CWE-522``."""
    name: str | None = None
    """Its name."""


class ProductStatus(_Wire):
    """``/vulnerabilities[]/product_status``: product ids per status group."""

    first_affected: list[str] = Field(default_factory=list)
    """First affected versions."""
    first_fixed: list[str] = Field(default_factory=list)
    """First fixed versions."""
    fixed: list[str] = Field(default_factory=list)
    """Fixed."""
    known_affected: list[str] = Field(default_factory=list)
    """Known affected."""
    known_not_affected: list[str] = Field(default_factory=list)
    """Known not affected."""
    last_affected: list[str] = Field(default_factory=list)
    """Last affected versions."""
    recommended: list[str] = Field(default_factory=list)
    """Recommended versions."""
    under_investigation: list[str] = Field(default_factory=list)
    """Under investigation."""


class Remediation(_Wire):
    """``/vulnerabilities[]/remediations`` item."""

    category: Literal["mitigation", "no_fix_planned", "none_available", "vendor_fix", "workaround"]
    """The CSAF 2.0 remediation categories."""
    details: str
    """What to do."""
    product_ids: list[str] = Field(default_factory=list)
    """Products it applies to."""
    group_ids: list[str] = Field(default_factory=list)
    """Product groups it applies to."""
    url: str | None = None
    """Link."""


class Cvss3(_Wire):
    """``cvss_v3`` (FIRST CVSS v3.x JSON schema; the parts we read)."""

    version: str
    """``3.0`` or ``3.1``."""
    vector_string: str = Field(alias="vectorString")
    """``CVSS:3.1/AV:N/...``."""
    base_score: float = Field(alias="baseScore")
    """0.0–10.0."""


class Cvss2(_Wire):
    """``cvss_v2`` (FIRST CVSS v2.0 JSON schema; the parts we read)."""

    version: str
    """``2.0``."""
    vector_string: str = Field(alias="vectorString")
    """``AV:N/AC:L/Au:N/C:P/I:P/A:P``."""
    base_score: float = Field(alias="baseScore")
    """0.0–10.0."""


class Score(_Wire):
    """``/vulnerabilities[]/scores`` item."""

    products: list[str]
    """Products scored."""
    cvss_v2: Cvss2 | None = None
    """CVSS v2 assessment."""
    cvss_v3: Cvss3 | None = None
    """CVSS v3 assessment."""


class Threat(_Wire):
    """``/vulnerabilities[]/threats`` item."""

    category: str
    """``impact``, ``exploit_status``, ``target_set``."""
    details: str
    """The text."""
    product_ids: list[str] = Field(default_factory=list)
    """Products."""
    group_ids: list[str] = Field(default_factory=list)
    """Product groups."""


class Flag(_Wire):
    """``/vulnerabilities[]/flags`` item: a VEX justification."""

    label: str
    """``component_not_present``, ``vulnerable_code_not_present``,
    ``vulnerable_code_cannot_be_controlled_by_adversary``, ``vulnerable_code_not_in_execute_path``,
    ``inline_mitigations_already_exist``."""
    product_ids: list[str] = Field(default_factory=list)
    """Products."""
    group_ids: list[str] = Field(default_factory=list)
    """Product groups."""


class VulnerabilityId(_Wire):
    """``/vulnerabilities[]/ids`` item: a non-CVE id."""

    system_name: str
    """Tracking system (``Cisco Bug ID``)."""
    text: str
    """The id."""


class Vulnerability(_Wire):
    """``/vulnerabilities`` item."""

    cve: str | None = None
    """CVE id."""
    ids: list[VulnerabilityId] = Field(default_factory=list)
    """Other ids."""
    title: str | None = None
    """Title."""
    cwe: Cwe | None = None
    """Weakness."""
    notes: list[Note] = Field(default_factory=list)
    """Notes."""
    product_status: ProductStatus | None = None
    """Status groups."""
    remediations: list[Remediation] = Field(default_factory=list)
    """Remediations."""
    scores: list[Score] = Field(default_factory=list)
    """CVSS scores."""
    threats: list[Threat] = Field(default_factory=list)
    """Threats (impact, exploit status...)."""
    flags: list[Flag] = Field(default_factory=list)
    """VEX justifications."""
    references: list[Reference] = Field(default_factory=list)
    """Links."""


class CsafDocument(_Wire):
    """A CSAF 2.0 document: the top level."""

    document: Document
    """Metadata."""
    product_tree: ProductTree | None = None
    """Products (absent in some informational advisories)."""
    vulnerabilities: list[Vulnerability] = Field(default_factory=list)
    """Vulnerabilities (absent in informational advisories)."""
