"""Matching: which vulnerabilities, advisories and recalls concern one device, with confidence and evidence.

Pure: takes a :class:`DeviceProfile` and an :class:`IntelIndex` (built once from the intelligence values of
``domain.intel``) and returns :class:`Match` values.  No I/O; the manufacturer catalog is passed in as a
``normalize_vendor`` function.  The index groups everything by normalised vendor key, product token, purl or
CVE id, so one device only ever looks at the handful of entries that can concern it.

Rules
-----

**Names.**  Vendors compare by key: ``normalize_vendor(raw)`` (e.g. ``manufacturer_catalog().normalize``, so
"Becton, Dickinson and Company (BD)" and "BD" agree), falling back to ``name_key``.  Product names compare as
*token sets*: lower case, split on anything but letters, digits and dots; vendor words and the generic words
:data:`GENERIC_WORDS` (``firmware``, ``software``…) are dropped.

**CSAF products** (source ``csaf:<tracking id>``).  A product entry concerns the device when the vendor keys
are equal and either every product-name token is in the model (product "Alaris PC Unit" ⊆ model "Alaris 8015
PC Unit"), or every model token is in the product name (model "Alaris PC Unit" ⊆ product "Alaris 8015 PC unit")
— in that second, less specific case the finding is at most ``potential``.  Guard against false positives: the
contained side must keep at least one *distinctive* token (three or more characters, or with a digit) once
vendor and generic words are dropped, so "BD Unit" or "PC" alone never match.  The version is
``parse_range(product version).contains(software or firmware version)``: ``True`` → ``confirmed``, ``None``
(version unknown, range not understood, other series) → ``potential``, ``False`` → no finding.  Only the
``known_affected``/``first_affected``/``last_affected``/``under_investigation`` groups produce findings;
``fixed``/``first_fixed``/``known_not_affected`` entries that contain the device's version turn the finding into
VEX context (``fixed``, or ``not_affected`` — suppressed, kept visible), and fixed entries of the same product
add a "fixed in <version>" remediation pointer.

**NVD configurations** (source ``nvd``).  Configurations are evaluated three-valued (``True``/``False``/
``None`` = cannot decide) over OR/AND trees with ``negate``.  A CPE criterion is tested against the device's
facts: the CPEs of the profile (attribute matching, :func:`wardwatch.domain.cpe.matches`), the operating system
(``os_name`` + ``os_version``; any vendor, CPE part ``o``) and the device itself (manufacturer + model,
``firmware_version``/``software_version``).  A text fact matches a criterion when the criterion's product tokens
are all in the fact and the fact's name tokens are all in the criterion's product (both ways, so
``windows_10_1607`` needs "1607" and "Windows 7" never matches ``windows_7_embedded``… only when the names
agree).  OS names are read by :mod:`wardwatch.domain.os_names`: edition words ("Enterprise", "IoT", "LTSC"…)
never block a match (NVD's Windows products cover every edition), "Embedded" on the desktop product is at most
undecided, and the release a version names ("1809", "2016 LTSB", build ``10.0.17763.x``) joins the fact's words,
so "Windows 10 Enterprise" + "1809" finds ``windows_10_1809``; a release id that chose the product is not compared
with its build-number bounds (undecided), a build number is.  Versions: NVD bounds and the CPE version via
:meth:`VersionRange.from_nvd`; a CPE with no version but an ``update`` (``windows_7:-:sp1``) needs the update's
words in the fact.  A finding needs the configuration to
be ``True`` (``confirmed``) or ``None`` (``potential``) *and* a ``vulnerable`` criterion to be involved.
*Platform-bundled rule*: in "running on" configurations (EternalBlue: SMB 1.0 AND Windows 7 SP1), a vulnerable
criterion the device's facts do not name, whose vendor is the vendor of a platform criterion the device does
match (``microsoft`` SMB on ``microsoft`` Windows), counts as *unknown* (→ ``potential``), not as absent: the
OS ships it, whether it is enabled is not known.

**SBOM components** (source ``sbom:<component ref>``).  A component matches a vulnerable NVD criterion by its
CPE (version from the CPE, else the component's), and a CVE 5 ``affected`` entry by purl (``pkg:`` product:
type/namespace/name equal, ranges ``vers:<type>/…`` compared with :func:`compare_ecosystem`) or by vendor key +
product name.  Platform conditions are not evaluated for components (the component runs on the device).

**VEX** statements apply per (vulnerability, product): the product is a component ref, a purl (equal
type/namespace/name, and version when the statement names one) or a CPE of the device or component.  A
statement about component A never touches component B.  ``not_affected`` suppresses (kept with its
justification) when its author is the manufacturer, the component's supplier, or not named; a third party's
``not_affected`` stays visible with a note.  ``fixed`` adds a remediation pointer; ``under_investigation`` and
``affected`` stay visible.

**Speed.**  An index is built once and read many times; it memoises what does not depend on the device: the
records each device fact can name (by vendor and product tokens, not by scanning), each NVD record's result per
set of facts that can match it (every device running Windows 10 21H2 shares its Windows findings), each distinct
SBOM component's matches and each SBOM's findings per manufacturer; parsed criteria, NVD version ranges and
range checks are cached.  Results are the same as without the caches (``tests/domain/test_matching.py``).

**Enrichment** by CVE id: KEV entry, EPSS score, best CVSS (the advisory's when it gave one, else NVD's primary
3.x, else any 3.x, then 4.0, then 2.0).  **Recalls** (source ``fda-recall``) via :func:`recalls_for` when the
profile has an FDA product code.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cmp_to_key, lru_cache
from urllib.parse import unquote

from wardwatch.domain.cpe import ANY, NA, Cpe, CpeError, matches, parse_cpe, product_key, unescape
from wardwatch.domain.intel import (
    Advisory,
    AdvisoryProduct,
    AdvisoryVulnerability,
    Component,
    ConfigNode,
    CpeMatch,
    Cvss,
    EpssScore,
    KevEntry,
    ProductStatus,
    Recall,
    Remediation,
    RemediationCategory,
    VexStatement,
    VexStatus,
    Vulnerability,
)
from wardwatch.domain.manufacturers import NormalizedManufacturer, name_key
from wardwatch.domain.os_names import is_build, os_words
from wardwatch.domain.recalls import recalls_for
from wardwatch.domain.versions import VersionRange, compare_ecosystem, parse_range

__all__ = [
    "GENERIC_WORDS",
    "Confidence",
    "DeviceProfile",
    "IntelIndex",
    "Match",
    "VendorNormalizer",
    "match_device",
    "model_key",
]

VendorNormalizer = Callable[[str], NormalizedManufacturer | str | None]
"""Raw vendor text -> canonical manufacturer (``manufacturer_catalog().normalize``) or a key; ``None``: unknown."""

GENERIC_WORDS = frozenset(
    {"firmware", "software", "os", "system", "device", "series", "model", "unit", "module", "the"}
)
"""Words that never identify a product on their own."""

_TOKEN_SPLIT = re.compile(r"[^0-9a-z.]+")
_AFFECTED_GROUPS = (
    ProductStatus.KNOWN_AFFECTED,
    ProductStatus.FIRST_AFFECTED,
    ProductStatus.LAST_AFFECTED,
    ProductStatus.UNDER_INVESTIGATION,
)
_FIXED_GROUPS = (ProductStatus.FIXED, ProductStatus.FIRST_FIXED)
_VERS = re.compile(r"^vers:([a-z0-9.+-]+)/(.*)$", re.IGNORECASE)
_OPS = ("<=", ">=", "!=", "<", ">", "=")


class Confidence(StrEnum):
    """How sure a match is."""

    CONFIRMED = "confirmed"
    """Exact product and version."""
    POTENTIAL = "potential"
    """The product matches; the version is unknown or cannot be decided."""


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """What matching needs to know about one device."""

    device_id: str
    """The inventory id."""
    manufacturer: str | None
    """Manufacturer as recorded (normalised by the index)."""
    model: str | None
    """Model as recorded (``Alaris 8015 PC Unit``)."""
    device_type: str | None = None
    """Device type (informative)."""
    os_name: str | None = None
    """Operating system (``Windows 7``)."""
    os_version: str | None = None
    """Its version or service pack (``SP1``, ``1607``)."""
    firmware_version: str | None = None
    """Firmware version."""
    software_version: str | None = None
    """Application software version (``9.19``)."""
    components: tuple[Component, ...] = ()
    """SBOM components of the device, if known."""
    cpes: tuple[str, ...] = ()
    """CPE 2.3 names known for the device (its hardware, firmware, OS or software)."""
    product_code: str | None = None
    """FDA product code, for recalls."""
    vex: tuple[VexStatement, ...] = ()
    """VEX statements that came with the device's SBOM: they apply to this device's components only."""


@dataclass(frozen=True, slots=True)
class Match:
    """One finding: a vulnerability (or recall) that concerns a device, and why."""

    device_id: str
    """The device."""
    vulnerability_id: str
    """CVE id; the advisory id when the entry has no CVE; the recall number for recalls."""
    source: str
    """``csaf:<advisory id>``, ``nvd``, ``cve5``, ``sbom:<component ref>`` or ``fda-recall``."""
    confidence: Confidence
    """Confirmed or potential."""
    evidence: tuple[str, ...]
    """What matched, in words: the product entry / CPE / component and the version rule."""
    vex_status: VexStatus | None = None
    """The applicable VEX status, if any statement or status group says one."""
    vex_justification: str | None = None
    """Why (for ``not_affected``), or the statement's impact text."""
    vex_author: str | None = None
    """Who said so."""
    suppressed: bool = False
    """True when a trusted ``not_affected`` applies (the match is kept, with the reason)."""
    remediations: tuple[Remediation, ...] = ()
    """What to do (category, details, url)."""
    kev: KevEntry | None = None
    """The KEV entry (date added, ransomware use)."""
    epss: EpssScore | None = None
    """EPSS score, percentile and model version."""
    cvss: Cvss | None = None
    """The best CVSS assessment."""
    advisories: tuple[str, ...] = ()
    """Ids of the advisories that name this vulnerability for the device."""
    component_ref: str | None = None
    """The SBOM component concerned (``None``: the device itself)."""


def _tokens(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    return frozenset(t.strip(".") for t in _TOKEN_SPLIT.split(text.casefold()) if t.strip("."))


def model_key(manufacturer: str | None, model: str | None) -> str:
    """The comparison key of a device model: its identifying words, sorted (vendor and generic words dropped).

    "BD", "Alaris 8015 PC Unit" and "BD", "alaris pc unit 8015" share ``"8015 alaris pc"``.
    """
    return " ".join(sorted(_tokens(model) - _tokens(manufacturer) - GENERIC_WORDS))


def _distinctive(tokens: frozenset[str]) -> bool:
    return any(len(t) >= 3 or any(c.isdigit() for c in t) for t in tokens)


@dataclass(frozen=True, slots=True)
class _Purl:
    type: str
    namespace: str
    name: str
    version: str | None

    @property
    def base(self) -> str:
        return f"{self.type}/{self.namespace}/{self.name}"


def _purl(text: str | None) -> _Purl | None:
    if not text or not text.startswith("pkg:"):
        return None
    body = text[4:].split("#", 1)[0].split("?", 1)[0]
    body, _, version = body.partition("@")
    parts = [unquote(p) for p in body.strip("/").split("/")]
    if len(parts) < 2:
        return None
    return _Purl(parts[0].lower(), "/".join(parts[1:-1]).lower(), parts[-1].lower(), unquote(version) or None)


@dataclass(frozen=True, slots=True)
class _Fact:
    """One thing the device is known to run or be, for CPE matching."""

    label: str
    vendor: str | None
    tokens: frozenset[str]
    name_tokens: frozenset[str]
    versions: tuple[str, ...]
    cpe: Cpe | None = None
    variants: frozenset[str] = frozenset()
    releases: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _Eval:
    state: bool | None
    absent: bool
    evidence: tuple[str, ...]
    vulnerable: bool


def _or(values: Iterable[bool | None]) -> bool | None:
    result: bool | None = False
    for value in values:
        if value is True:
            return True
        if value is None:
            result = None
    return result


def _and(values: Iterable[bool | None]) -> bool | None:
    result: bool | None = True
    for value in values:
        if value is False:
            return False
        if value is None:
            result = None
    return result


def _contains_any(vrange: VersionRange, versions: tuple[str, ...]) -> bool | None:
    return _or(vrange.contains(v) for v in versions) if versions else None


def _vers_contains(scheme: str, body: str, version: str) -> bool | None:
    """``vers:<scheme>/<constraints>`` semantics with :func:`compare_ecosystem` (``None``: cannot compare)."""
    constraints: list[tuple[str, str]] = []
    for part in body.split("|"):
        part = part.strip()
        op = next((o for o in _OPS if part.startswith(o)), "=")
        constraints.append((op, part[len(op) :].strip() if part.startswith(op) else part))
    results = [compare_ecosystem(scheme, version, value) for _, value in constraints]
    if any(r is None for r in results):
        return None
    cmp = dict(zip(range(len(constraints)), results, strict=True))
    if any(op == "=" and cmp[i] == 0 for i, (op, _) in enumerate(constraints)):
        return True
    if any(op == "!=" and cmp[i] == 0 for i, (op, _) in enumerate(constraints)):
        return False
    ranged = [(op, value, cmp[i]) for i, (op, value) in enumerate(constraints) if op not in ("=", "!=")]

    def order(a: tuple[str, str, int | None], b: tuple[str, str, int | None]) -> int:
        return compare_ecosystem(scheme, a[1], b[1]) or 0

    ranged.sort(key=cmp_to_key(order))

    def ok(op: str, c: int | None) -> bool:
        return {"<": c == -1, "<=": c in (-1, 0), ">": c == 1, ">=": c in (0, 1)}[op]

    if ranged and ranged[0][0] in ("<", "<=") and ok(ranged[0][0], ranged[0][2]):
        return True
    if ranged and ranged[-1][0] in (">", ">=") and ok(ranged[-1][0], ranged[-1][2]):
        return True
    for (op1, _, c1), (op2, _, c2) in zip(ranged, ranged[1:], strict=False):
        if op1 in (">", ">=") and op2 in ("<", "<=") and ok(op1, c1) and ok(op2, c2):
            return True
    return False


def _best_cvss(scores: Iterable[Cvss]) -> Cvss | None:
    """NVD primary 3.x, else any 3.x, else 4.0, else 2.0 (highest version first within each)."""
    return _best_of(tuple(scores))


@lru_cache(maxsize=1 << 16)
def _best_of(scores: tuple[Cvss, ...]) -> Cvss | None:
    if len(scores) < 2:
        return scores[0] if scores else None
    ranked = sorted(
        scores,
        key=lambda c: (
            c.version.startswith("3") and c.type == "Primary",
            c.version.startswith("3"),
            c.version.startswith("4"),
            c.version,
        ),
        reverse=True,
    )
    return ranked[0] if ranked else None


class IntelIndex:
    """All intelligence, grouped for per-device lookups.  Build once with :meth:`build`; read-only after."""

    __slots__ = (
        "_advisories_by_vendor",
        "_affected_by_purl",
        "_affected_by_vendor",
        "_by_product",
        "_component_memo",
        "_cpe_by_vendor",
        "_criteria",
        "_epss",
        "_fact_memo",
        "_kev",
        "_normalize",
        "_nvd_memo",
        "_recalls",
        "_os_products",
        "_products_by_vendor",
        "_sbom_memo",
        "_vendor_memo",
        "_vex",
        "_vulnerabilities",
    )

    def __init__(self, normalize_vendor: VendorNormalizer | None = None) -> None:
        """An empty index; use :meth:`build`."""
        self._normalize = normalize_vendor
        self._advisories_by_vendor: dict[str, list[tuple[Advisory, AdvisoryProduct]]] = defaultdict(list)
        self._cpe_by_vendor: dict[str, dict[str, Vulnerability]] = defaultdict(dict)
        # (vendor key, vendor tokens, product tokens, part is "o" or any) -> the records naming that product
        self._by_product: dict[_ProductKey, dict[str, Vulnerability]] = defaultdict(dict)
        # Caches filled while matching (derived, deterministic): candidates per fact, NVD results per
        # (record, facts that can match it), component matches before VEX.
        self._fact_memo: dict[_Fact, dict[str, Vulnerability]] = {}
        self._nvd_memo: dict[tuple[str, str, tuple[_Fact, ...]], Match | None] = {}
        self._component_memo: dict[Component, list[Match]] = {}
        self._sbom_memo: dict[tuple[object, ...], list[Match]] = {}
        self._vendor_memo: dict[str, str] = {}
        self._criteria: dict[str, tuple[Cpe, frozenset[str], frozenset[str], str]] = {}
        self._products_by_vendor: dict[str, list[_ProductKey]] = defaultdict(list)
        self._os_products: list[_ProductKey] = []
        self._affected_by_vendor: dict[str, list[tuple[Vulnerability, str, str, str]]] = defaultdict(list)
        self._affected_by_purl: dict[str, list[tuple[Vulnerability, _Purl, str]]] = defaultdict(list)
        self._vex: dict[str, list[VexStatement]] = defaultdict(list)
        self._vulnerabilities: dict[str, Vulnerability] = {}
        self._kev: dict[str, KevEntry] = {}
        self._epss: Mapping[str, EpssScore] = {}
        self._recalls: tuple[Recall, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        advisories: Iterable[Advisory] = (),
        vulnerabilities: Iterable[Vulnerability] = (),
        vex: Iterable[VexStatement] = (),
        kev: Iterable[KevEntry] = (),
        epss: Mapping[str, EpssScore] | Iterable[EpssScore] = (),
        recalls: Iterable[Recall] = (),
        normalize_vendor: VendorNormalizer | None = None,
    ) -> IntelIndex:
        """Index the intelligence by vendor key, product token, purl and CVE id."""
        index = cls(normalize_vendor)
        latest: dict[tuple[str, str | None], Vulnerability] = {}
        for vuln in vulnerabilities:  # a record seen twice (an NVD delta): the most recently modified wins
            previous = latest.get((vuln.id, vuln.source))
            if previous is None or _modified(vuln) >= _modified(previous):
                latest[(vuln.id, vuln.source)] = vuln
        for advisory in advisories:
            for product in advisory.products:
                if product.vendor and product.name:
                    index._advisories_by_vendor[index.vendor_key(product.vendor)].append((advisory, product))
        for vuln in latest.values():
            index._vulnerabilities[vuln.id] = vuln
            for match in _walk_matches(vuln.configurations):
                try:
                    cpe = parse_cpe(match.criteria)
                except CpeError:
                    continue
                vendor = index.vendor_key(unescape(cpe.vendor))
                index._cpe_by_vendor[vendor][vuln.id] = vuln
                ptokens = _tokens(product_key(cpe.product)) - GENERIC_WORDS
                if ptokens:
                    key = (vendor, _tokens(unescape(cpe.vendor)), ptokens, cpe.part in ("o", ANY))
                    if key not in index._by_product:
                        index._products_by_vendor[vendor].append(key)
                        if key[3]:
                            index._os_products.append(key)
                    index._by_product[key][vuln.id] = vuln
            for vendor, name, text in vuln.affected:
                purl = _purl(name)
                if purl is not None:
                    index._affected_by_purl[purl.base].append((vuln, purl, text))
                else:
                    index._affected_by_vendor[index.vendor_key(vendor)].append((vuln, vendor, name, text))
        for statement in vex:
            index._vex[statement.vulnerability].append(statement)
        index._kev = {entry.cve: entry for entry in kev}
        index._epss = epss if isinstance(epss, Mapping) else {score.cve: score for score in epss}
        index._recalls = tuple(recalls)
        return index

    def vendor_key(self, raw: str) -> str:
        """The comparison key of a vendor name (through ``normalize_vendor`` when given; memoised)."""
        known = self._vendor_memo.get(raw)
        if known is not None:
            return known
        text = " ".join(raw.replace("_", " ").split())
        key = name_key(text)
        if self._normalize is not None:
            found = self._normalize(text)
            if isinstance(found, NormalizedManufacturer):
                key = found.key
            elif isinstance(found, str) and found:
                key = name_key(found)
        self._vendor_memo[raw] = key
        return key

    def vulnerability(self, vuln_id: str) -> Vulnerability | None:
        """The NVD/CVE 5 record of a vulnerability, if indexed."""
        return self._vulnerabilities.get(vuln_id)

    def vex_for(self, vuln_id: str) -> list[VexStatement]:
        """The VEX statements about one vulnerability."""
        return self._vex.get(vuln_id, [])


_ProductKey = tuple[str, frozenset[str], frozenset[str], bool]


def _modified(vuln: Vulnerability) -> float:
    return vuln.modified.timestamp() if vuln.modified is not None else float("-inf")


def _walk_matches(nodes: Iterable[ConfigNode]) -> Iterable[CpeMatch]:
    for node in nodes:
        yield from node.matches
        yield from _walk_matches(node.children)


# ---------------------------------------------------------------------------------------------------- facts


def _facts(profile: DeviceProfile, index: IntelIndex) -> list[_Fact]:
    facts: list[_Fact] = []
    for text in profile.cpes:
        try:
            cpe = parse_cpe(text)
        except CpeError:
            continue
        version = unescape(cpe.version) if cpe.version not in (ANY, NA) else None
        facts.append(_Fact(f"CPE {text}", None, frozenset(), frozenset(), (version,) if version else (), cpe))
    if profile.os_name:
        name, version_words = _tokens(profile.os_name), _tokens(profile.os_version)
        words = os_words(name, version_words, profile.os_version)
        versions: tuple[str, ...] = (profile.os_version,) if profile.os_version else ()
        label = f"os {' '.join(filter(None, (profile.os_name, profile.os_version)))!r}"
        tokens = name | version_words | words.releases
        facts.append(_Fact(label, None, tokens, words.name, versions, None, words.variants, words.releases))
    if profile.manufacturer and profile.model:
        vendor = index.vendor_key(profile.manufacturer)
        name = _tokens(profile.model) - _tokens(profile.manufacturer)
        versions = tuple(v for v in (profile.firmware_version, profile.software_version) if v)
        shown = f" {'/'.join(versions)}" if versions else " (no version)"
        label = f"device {profile.manufacturer} {profile.model!r}{shown}"
        facts.append(_Fact(label, vendor, name, name, versions))
    return facts


def _criterion(index: IntelIndex, criteria: str) -> tuple[Cpe, frozenset[str], frozenset[str], str]:
    """A criterion's CPE, product tokens (generic words dropped), vendor tokens and vendor key; memoised."""
    found = index._criteria.get(criteria)
    if found is None:
        cpe = parse_cpe(criteria)
        vendor = unescape(cpe.vendor)
        found = (cpe, _tokens(product_key(cpe.product)) - GENERIC_WORDS, _tokens(vendor), index.vendor_key(vendor))
        index._criteria[criteria] = found
    return found


@lru_cache(maxsize=1 << 18)
def _nvd_range(version: str | None, si: str | None, se: str | None, ei: str | None, ee: str | None) -> VersionRange:
    """NVD bounds as a range; memoised (the same bounds recur across records and device facts)."""
    return VersionRange.from_nvd(
        version=version, start_including=si, start_excluding=se, end_including=ei, end_excluding=ee
    )


@lru_cache(maxsize=1 << 20)
def _range_contains(vrange: VersionRange, version: str) -> bool | None:
    return vrange.contains(version)


def _version_check(cpe: Cpe, match: CpeMatch, versions: tuple[str, ...], tokens: frozenset[str]) -> bool | None:
    bounded = any(
        (
            match.version_start_including,
            match.version_start_excluding,
            match.version_end_including,
            match.version_end_excluding,
        )
    )
    if bounded or cpe.version not in (ANY, NA):
        vrange = _nvd_range(
            unescape(cpe.version) if cpe.version not in (ANY, NA) else None,
            match.version_start_including,
            match.version_start_excluding,
            match.version_end_including,
            match.version_end_excluding,
        )
        return _or(_range_contains(vrange, v) for v in versions) if versions else None
    if cpe.update not in (ANY, NA):
        if _tokens(product_key(cpe.update)) <= tokens:
            return True
        return None if not versions else False
    return True


def _eval_match(match: CpeMatch, facts: list[_Fact], index: IntelIndex, bundled: frozenset[str]) -> _Eval:
    try:
        cpe, ptokens, vendor_tokens, vendor = _criterion(index, match.criteria)
    except CpeError:
        return _Eval(False, True, (), match.vulnerable)
    best = _Eval(False, True, (), match.vulnerable)
    for fact in facts:
        if fact.cpe is not None:
            product = cpe.product  # different products, no wildcard: the usual case, decided without ``matches``
            if product != fact.cpe.product and product != ANY and "*" not in product and "?" not in product:
                continue
            if not matches(cpe, fact.cpe, compare_version=False):
                continue
            state = _version_check(cpe, match, fact.versions, frozenset())
        else:
            if fact.vendor is not None and fact.vendor != vendor:
                continue
            if fact.vendor is None and cpe.part not in ("o", ANY):
                continue
            name = fact.name_tokens - vendor_tokens - GENERIC_WORDS
            if not ptokens or not name or not ptokens <= fact.tokens or not name <= ptokens:
                continue
            versions = fact.versions
            if fact.releases & ptokens:  # windows_10_1809: "1809" chose the product; only a build can be compared
                versions = tuple(v for v in versions if is_build(v))
            state = _version_check(cpe, match, versions, fact.tokens)
            if state is True and fact.variants - ptokens:
                state = None  # "Windows 7 Embedded" on windows_7: the sibling product shares its code, maybe the flaw
        rule = _rule_text(match)
        words = f"{fact.label} matched {match.criteria}{rule}: " + {True: "yes", False: "no", None: "undecided"}[state]
        if state is True or (state is None and best.state is False) or best.absent:
            best = _Eval(state, False, (words,), match.vulnerable)
    if best.absent and match.vulnerable and vendor in bundled:
        words = (
            f"{match.criteria} is not among the device's facts; assumed possibly present as part of the "
            f"{unescape(cpe.vendor)} platform the device runs"
        )
        return _Eval(None, True, (words,), True)
    return best


def _rule_text(match: CpeMatch) -> str:
    bounds = [
        f"{op}{value}"
        for op, value in (
            (">=", match.version_start_including),
            (">", match.version_start_excluding),
            ("<=", match.version_end_including),
            ("<", match.version_end_excluding),
        )
        if value
    ]
    return f" (versions {' '.join(bounds)})" if bounds else ""


def _eval_node(
    node: ConfigNode, facts: list[_Fact], index: IntelIndex, bundled: frozenset[str]
) -> tuple[bool | None, list[_Eval]]:
    evals = [_eval_match(m, facts, index, bundled) for m in node.matches]
    children = [_eval_node(c, facts, index, bundled) for c in node.children]
    values = [e.state for e in evals] + [state for state, _ in children]
    state = _and(values) if node.operator.upper() == "AND" else _or(values)
    if node.negate:
        state = None if state is None else not state
    used = [e for e in evals if e.state is not False]
    for child_state, child_used in children:
        if child_state is not False:
            used.extend(child_used)
    return state, used


def _platform_vendors(node: ConfigNode, facts: list[_Fact], index: IntelIndex) -> set[str]:
    found: set[str] = set()
    for match in node.matches:
        if not match.vulnerable and _eval_match(match, facts, index, frozenset()).state is True:
            found.add(_criterion(index, match.criteria)[3])
    for child in node.children:
        found |= _platform_vendors(child, facts, index)
    return found


def _fact_candidates(index: IntelIndex, fact: _Fact) -> dict[str, Vulnerability]:
    """The records with a criterion this fact can match by name (a superset for CPE facts); memoised per fact.

    Exactly the records :func:`_eval_match` could find the fact in: same vendor (or an OS criterion for an OS
    fact), product tokens within the fact's tokens, the fact's name tokens within the product's.
    """
    found = index._fact_memo.get(fact)
    if found is not None:
        return found
    found = {}
    if fact.cpe is not None:
        found.update(index._cpe_by_vendor.get(index.vendor_key(unescape(fact.cpe.vendor)), {}))
    else:
        keys = index._os_products if fact.vendor is None else index._products_by_vendor.get(fact.vendor, [])
        for key in keys:
            _, vendor_tokens, ptokens, _ = key
            name = fact.name_tokens - vendor_tokens - GENERIC_WORDS
            if name and ptokens <= fact.tokens and name <= ptokens:
                found.update(index._by_product[key])
    index._fact_memo[fact] = found
    return found


def _nvd_state(
    vuln: Vulnerability, facts: list[_Fact], index: IntelIndex
) -> tuple[bool | None, tuple[str, ...]] | None:
    """(state, evidence) of the best configuration of one record for these facts; ``None``: no finding."""
    best: tuple[bool | None, list[_Eval]] | None = None
    for config in vuln.configurations:
        bundled = frozenset(_platform_vendors(config, facts, index))
        state, used = _eval_node(config, facts, index, bundled)
        if state is False or not any(e.vulnerable for e in used):
            continue
        if best is None or (state is True and best[0] is not True):
            best = (state, used)
    if best is None:
        return None
    return best[0], tuple(w for e in best[1] for w in e.evidence)


def _nvd_matches(profile: DeviceProfile, index: IntelIndex, facts: list[_Fact]) -> list[Match]:
    """NVD findings.  A record's result depends only on the facts that can match one of its criteria, so it is
    computed once per (record, those facts) — every Windows 10 21H2 device shares its Windows findings."""
    by_fact = [(fact, _fact_candidates(index, fact)) for fact in facts]
    candidates: dict[str, Vulnerability] = {}
    for _, found in by_fact:
        candidates.update(found)
    matches: list[Match] = []
    for vuln in candidates.values():
        relevant = tuple(fact for fact, found in by_fact if vuln.id in found)
        key = (profile.device_id, vuln.id, relevant)
        if key in index._nvd_memo:
            match = index._nvd_memo[key]
        else:
            result = _nvd_state(vuln, list(relevant), index)
            match = None
            if result is not None:
                confidence = Confidence.CONFIRMED if result[0] is True else Confidence.POTENTIAL
                cvss = _best_cvss(vuln.cvss)
                match = _enrich(index, Match(profile.device_id, vuln.id, "nvd", confidence, result[1], cvss=cvss))
            index._nvd_memo[key] = match
        if match is not None:
            matches.append(match)
    return matches


# ---------------------------------------------------------------------------------------------------- CSAF


def _product_fits(index: IntelIndex, profile: DeviceProfile, product: AdvisoryProduct) -> tuple[bool, bool]:
    """(fits, exact): whether the product entry names the device's model, and whether it is not less specific."""
    if not profile.model or not product.name:
        return False, False
    vendor_words = _tokens(product.vendor) | _tokens(profile.manufacturer)
    wanted = _tokens(product.name) - vendor_words - GENERIC_WORDS
    model = _tokens(profile.model) - vendor_words - GENERIC_WORDS
    if wanted and _distinctive(wanted) and wanted <= model:
        return True, True
    if model and _distinctive(model) and model <= wanted:
        return True, False
    return False, False


def _device_versions(profile: DeviceProfile) -> tuple[str, ...]:
    return tuple(v for v in (profile.software_version, profile.firmware_version) if v)


def _csaf_matches(profile: DeviceProfile, index: IntelIndex) -> list[Match]:
    if not profile.manufacturer:
        return []
    versions = _device_versions(profile)
    shown_version = versions[0] if versions else "unknown version"
    by_advisory: dict[str, tuple[Advisory, dict[str, tuple[AdvisoryProduct, bool, bool | None]]]] = {}
    for advisory, product in index._advisories_by_vendor.get(index.vendor_key(profile.manufacturer), []):
        fits, exact = _product_fits(index, profile, product)
        if not fits:
            continue
        state = _contains_any(parse_range(product.version), versions) if product.version else None
        entry = by_advisory.setdefault(advisory.id, (advisory, {}))
        entry[1][product.product_id] = (product, exact, state)
    found: list[Match] = []
    for advisory, fitting in by_advisory.values():
        for vuln in advisory.vulnerabilities:
            match = _csaf_vulnerability(profile, advisory, vuln, fitting, shown_version)
            if match is not None:
                found.append(match)
    return found


def _csaf_vulnerability(
    profile: DeviceProfile,
    advisory: Advisory,
    vuln: AdvisoryVulnerability,
    fitting: dict[str, tuple[AdvisoryProduct, bool, bool | None]],
    shown_version: str,
) -> Match | None:
    def within(groups: Iterable[ProductStatus]) -> list[tuple[AdvisoryProduct, bool, bool | None]]:
        ids = {pid for group in groups for pid in vuln.status.get(group, ())}
        return [fitting[pid] for pid in sorted(ids) if pid in fitting]

    affected = [f for f in within(_AFFECTED_GROUPS) if f[2] is not False]
    fixed = within(_FIXED_GROUPS)
    not_affected = [f for f in within((ProductStatus.KNOWN_NOT_AFFECTED,)) if f[2] is True]
    fixed_here = [f for f in fixed if f[2] is True]
    if not affected and not not_affected and not fixed_here:
        return None
    relevant = affected or not_affected or fixed_here
    relevant.sort(key=lambda f: (f[2] is True and f[1], f[2] is True), reverse=True)
    product, exact, state = relevant[0]
    confidence = Confidence.CONFIRMED if state is True and exact else Confidence.POTENTIAL
    rule = {True: "∈", None: "undecided for", False: "∉"}[state]
    evidence = [
        f"{product.name} {shown_version} {rule} {product.version!r} in {advisory.id} ({product.product_id}: "
        f"{product.full_name})"
    ]
    if not exact:
        evidence.append(f"the device model {profile.model!r} is less specific than the product {product.name!r}")
    ids = {f[0].product_id for f in relevant}
    remediations = [r for r in vuln.remediations if not r.product_ids or ids & set(r.product_ids)]
    remediations += [
        Remediation(RemediationCategory.VENDOR_FIX, f"fixed in {f[0].version} ({advisory.id})", (f[0].product_id,))
        for f in fixed
        if f[0].version and f[2] is not True
    ]
    vex_status: VexStatus | None = VexStatus.AFFECTED
    justification: str | None = None
    if not_affected:
        vex_status = VexStatus.NOT_AFFECTED
        justification = next((label for label, pids in vuln.flags if ids & set(pids)), None)
    elif fixed_here:
        vex_status = VexStatus.FIXED
    elif any(pid in vuln.status.get(ProductStatus.UNDER_INVESTIGATION, ()) for pid in ids):
        vex_status = VexStatus.UNDER_INVESTIGATION
    scores = [c for c, pids in vuln.cvss if not pids or ids & set(pids)]
    return Match(
        device_id=profile.device_id,
        vulnerability_id=vuln.cve or advisory.id,
        source=f"csaf:{advisory.id}",
        confidence=confidence,
        evidence=tuple(evidence),
        vex_status=vex_status,
        vex_justification=justification,
        vex_author=advisory.publisher,
        suppressed=vex_status is VexStatus.NOT_AFFECTED,
        remediations=tuple(remediations),
        cvss=_best_cvss(scores),
        advisories=(advisory.id,),
    )


# ---------------------------------------------------------------------------------------------------- SBOM


def _component_matches(profile: DeviceProfile, index: IntelIndex, component: Component) -> list[Match]:
    """The component's findings (computed once per distinct component, then VEX per device and component)."""
    raw = index._component_memo.get(component)
    if raw is None:
        raw = index._component_memo[component] = [_enrich(index, m) for m in _component_raw(index, component)]
    ids = _component_ids(component)
    return [
        _apply_vex(profile, index, m if not profile.device_id else replace(m, device_id=profile.device_id), ids,
                   component.supplier)
        for m in raw
    ]  # fmt: skip


def _component_raw(index: IntelIndex, component: Component) -> list[Match]:
    source = f"sbom:{component.ref}"
    found: dict[str, Match] = {}
    cpe: Cpe | None = None
    if component.cpe:
        try:
            cpe = parse_cpe(component.cpe)
        except CpeError:
            cpe = None
    if cpe is not None:
        version = unescape(cpe.version) if cpe.version not in (ANY, NA) else component.version
        versions = (version,) if version else ()
        fact = _Fact(
            f"component {component.name!r} {version or '(no version)'} ({component.ref})",
            None,
            frozenset(),
            frozenset(),
            versions,
            cpe,
        )
        for vuln in index._cpe_by_vendor.get(index.vendor_key(unescape(cpe.vendor)), {}).values():
            evals = [_eval_match(m, [fact], index, frozenset()) for m in _walk_matches(vuln.configurations)]
            hits = [e for e in evals if e.vulnerable and e.state is not False]
            if hits:
                state = _or(e.state for e in hits)
                confidence = Confidence.CONFIRMED if state is True else Confidence.POTENTIAL
                evidence = tuple(w for e in hits for w in e.evidence)
                found[vuln.id] = Match("", vuln.id, source, confidence, evidence, component_ref=component.ref)
    purl = _purl(component.purl)
    version = component.version or (purl.version if purl else None)
    ranges: list[tuple[Vulnerability, str, str]] = []
    if purl is not None:
        for vuln, target, text in index._affected_by_purl.get(purl.base, []):
            ranges.append((vuln, f"purl {target.base}", text))
    vendors = {component.supplier} | ({unescape(cpe.vendor)} if cpe else set())
    names = {product_key(component.name)} | ({product_key(cpe.product)} if cpe else set())
    for vendor in filter(None, vendors):
        for vuln, _, product, text in index._affected_by_vendor.get(index.vendor_key(vendor), []):
            if product_key(product) in names:
                ranges.append((vuln, f"product {product!r}", text))
    for vuln, what, text in ranges:
        state = _component_version(purl, text, version)
        if state is False:
            continue
        confidence = Confidence.CONFIRMED if state is True else Confidence.POTENTIAL
        rule = {True: "∈", None: "undecided for"}[state]
        words = f"component {component.name} {version or 'unknown version'} {rule} {text!r} ({what}, {vuln.id})"
        previous = found.get(vuln.id)
        if previous is None or (confidence is Confidence.CONFIRMED and previous.confidence is Confidence.POTENTIAL):
            found[vuln.id] = Match("", vuln.id, source, confidence, (words,), component_ref=component.ref)
    return list(found.values())


def _component_version(purl: _Purl | None, text: str, version: str | None) -> bool | None:
    if not version:
        return None
    vers = _VERS.match(text.strip())
    if vers is not None and vers.group(1).lower() != "generic":
        body = vers.group(2).strip()
        return True if body == "*" else _vers_contains(vers.group(1), body, version)
    if purl is not None and purl.type not in ("generic", "github") and text.strip()[:1] in "<>=!":
        return _vers_contains(purl.type, text.replace(",", "|"), version)
    return parse_range(text).contains(version)


def _component_ids(component: Component) -> tuple[str, ...]:
    return tuple(filter(None, (component.ref, component.purl, component.cpe)))


# ---------------------------------------------------------------------------------------------------- VEX


def _vex_applies(statement_product: str, ids: tuple[str, ...]) -> bool:
    if statement_product in ids:
        return True
    wanted = _purl(statement_product)
    if wanted is not None:
        for candidate in ids:
            have = _purl(candidate)
            same = have is not None and have.base == wanted.base
            if same and (wanted.version is None or (have is not None and wanted.version == have.version)):
                return True
    if statement_product.startswith("cpe:2.3:"):
        for candidate in ids:
            if candidate.startswith("cpe:2.3:"):
                try:
                    if matches(statement_product, candidate):
                        return True
                except CpeError:
                    continue
    return False


def _apply_vex(
    profile: DeviceProfile, index: IntelIndex, match: Match, ids: tuple[str, ...], supplier: str | None
) -> Match:
    own = [s for s in profile.vex if s.vulnerability == match.vulnerability_id]
    statements = [s for s in (*index.vex_for(match.vulnerability_id), *own) if _vex_applies(s.product, ids)]
    if not statements:
        return match
    statements.sort(key=lambda s: (s.timestamp is not None, s.timestamp.timestamp() if s.timestamp else 0.0))
    statement = statements[-1]  # the latest statement wins
    trusted_keys = {index.vendor_key(v) for v in (profile.manufacturer, supplier) if v}
    trusted = statement.author is None or index.vendor_key(statement.author) in trusted_keys
    evidence = list(match.evidence)
    evidence.append(
        f"VEX {statement.status.value} for {statement.product} by {statement.author or 'an unnamed author'}"
        + (f" ({statement.justification})" if statement.justification else "")
    )
    suppressed = statement.status is VexStatus.NOT_AFFECTED and trusted
    if statement.status is VexStatus.NOT_AFFECTED and not trusted:
        evidence.append("not suppressed: the statement's author is not the manufacturer or supplier")
    remediations = list(match.remediations)
    if statement.status is VexStatus.FIXED or statement.action:
        details = f"fixed in {statement.fixed_version}" if statement.fixed_version else (statement.action or "fixed")
        remediations.append(Remediation(RemediationCategory.VENDOR_FIX, details))
    return replace(
        match,
        evidence=tuple(evidence),
        vex_status=statement.status,
        vex_justification=statement.justification or statement.impact,
        vex_author=statement.author,
        suppressed=suppressed,
        remediations=tuple(remediations),
    )


# ---------------------------------------------------------------------------------------------------- entry point


@dataclass(slots=True)
class _Merged:
    matches: dict[tuple[str, str | None], Match] = field(default_factory=dict)

    def add(self, match: Match) -> None:
        key = (match.vulnerability_id, match.component_ref)
        previous = self.matches.get(key)
        if previous is None:
            self.matches[key] = match
            return
        first, second = (
            (match, previous)
            if match.confidence is Confidence.CONFIRMED and previous.confidence is Confidence.POTENTIAL
            else (previous, match)
        )
        self.matches[key] = replace(
            first,
            evidence=first.evidence + tuple(e for e in second.evidence if e not in first.evidence),
            remediations=first.remediations + tuple(r for r in second.remediations if r not in first.remediations),
            advisories=first.advisories + tuple(a for a in second.advisories if a not in first.advisories),
            cvss=next((m.cvss for m in (first, second) if m.source.startswith("csaf:") and m.cvss), None)
            or first.cvss
            or second.cvss,
            vex_status=first.vex_status or second.vex_status,
            vex_justification=first.vex_justification or second.vex_justification,
            vex_author=first.vex_author or second.vex_author,
            suppressed=first.suppressed or second.suppressed,
        )


def _enrich(index: IntelIndex, match: Match) -> Match:
    if match.source == "fda-recall":
        return match
    vuln = index.vulnerability(match.vulnerability_id)
    cvss = match.cvss or (_best_cvss(vuln.cvss) if vuln is not None else None)
    kev, epss = index._kev.get(match.vulnerability_id), index._epss.get(match.vulnerability_id)
    if kev is match.kev and epss is match.epss and cvss is match.cvss:
        return match  # already enriched (a memoised NVD match shared by devices with the same facts)
    return replace(match, kev=kev, epss=epss, cvss=cvss)


def match_device(profile: DeviceProfile, index: IntelIndex, *, ordered: bool = True) -> list[Match]:
    """Every finding for one device (see the module docstring for the rules), sorted by vulnerability id.

    Suppressed matches are included (``suppressed=True``) so the reason stays visible.  ``ordered=False`` skips
    the sort (for callers that store the findings: a device of a large SBOM has thousands).
    """
    merged = _Merged()
    device_ids = tuple(profile.cpes)
    for match in _csaf_matches(profile, index):
        merged.add(_apply_vex(profile, index, match, device_ids, None) if device_ids else match)
    for match in _nvd_matches(profile, index, _facts(profile, index)):
        merged.add(_apply_vex(profile, index, match, device_ids, None) if device_ids else match)
    if profile.model:
        for recall, reason in recalls_for(profile.model, profile.manufacturer, profile.product_code, index._recalls):
            merged.add(
                Match(
                    profile.device_id,
                    recall.recall_number,
                    "fda-recall",
                    Confidence.CONFIRMED,
                    (reason,) + ((f"reason: {recall.reason}",) if recall.reason else ()),
                )
            )
    found = [_enrich(index, m) for m in merged.matches.values()]
    found += _components_part(profile, index)  # never merged with the above: their component_ref differs
    if ordered:
        found.sort(key=lambda m: (m.vulnerability_id, m.component_ref or "", m.source))
    return found


def _components_part(profile: DeviceProfile, index: IntelIndex) -> list[Match]:
    """The SBOM component findings, enriched; the same for every device of one model (memoised per SBOM)."""
    if not profile.components:
        return []
    key = (profile.device_id, profile.manufacturer, profile.components, profile.vex)
    found = index._sbom_memo.get(key)
    if found is None:
        merged = _Merged()
        for component in profile.components:
            for match in _component_matches(profile, index, component):
                merged.add(match)
        found = index._sbom_memo[key] = [_enrich(index, m) for m in merged.matches.values()]
    return found
