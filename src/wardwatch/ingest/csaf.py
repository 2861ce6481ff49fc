"""CSAF 2.0 advisories (CISA ICSMA/ICSA, vendor advisories, the VEX profile) -> ``Advisory`` values.

The file is read with size and nesting caps, validated against the wire models in ``ingest/_wire/csaf.py`` and
converted once: the product tree's branch paths are flattened to ``AdvisoryProduct`` (vendor, product name and
version text exactly as published), relationship products (``default_component_of``...) are recorded with their
component's names, product groups are resolved to product ids, and CVSS scores keep their full vector.
``vex_statements`` then reads an advisory as VEX (the ``csaf_vex`` profile, but any category works).

Every failure is an ``IngestError`` naming the file and, for schema errors, the JSON path
(``$.vulnerabilities[0].remediations[2].category``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wardwatch.domain.intel import (
    Advisory,
    AdvisoryProduct,
    AdvisoryVulnerability,
    Cvss,
    ProductStatus,
    Reference,
    Remediation,
    RemediationCategory,
    VexStatement,
    VexStatus,
)
from wardwatch.ingest._wire import csaf as wire
from wardwatch.ingest.errors import IngestError

logger = logging.getLogger(__name__)

__all__ = ["CsafBatch", "CsafConfig", "read_csaf", "read_csaf_many", "vex_statements"]

_TIP = "check that it is a CSAF 2.0 JSON document (validate it with `csaf validate --spec-version v20`)"

#: Branch categories whose name is the product's version; the innermost one on a path wins.
_VERSION_BRANCHES = frozenset({"product_version", "product_version_range", "service_pack", "patch_level"})

#: CSAF product status group -> VEX status (``recommended`` is not a VEX status).
_VEX_STATUS: dict[ProductStatus, VexStatus] = {
    ProductStatus.KNOWN_NOT_AFFECTED: VexStatus.NOT_AFFECTED,
    ProductStatus.FIXED: VexStatus.FIXED,
    ProductStatus.FIRST_FIXED: VexStatus.FIXED,
    ProductStatus.KNOWN_AFFECTED: VexStatus.AFFECTED,
    ProductStatus.FIRST_AFFECTED: VexStatus.AFFECTED,
    ProductStatus.LAST_AFFECTED: VexStatus.AFFECTED,
    ProductStatus.UNDER_INVESTIGATION: VexStatus.UNDER_INVESTIGATION,
}


@dataclass(frozen=True, slots=True)
class CsafConfig:
    """Limits that keep a hostile file from exhausting memory or the stack."""

    max_bytes: int = 16 * 1024 * 1024
    """Largest file read (CSAF 2.0 recommends documents stay under 15 MB)."""
    max_depth: int = 64
    """Deepest JSON nesting accepted (real advisories stay under 12 levels)."""
    max_references: int = 1_000_000
    """Most product ids that status groups, scores and resolved product groups may add up to."""


@dataclass(frozen=True, slots=True)
class CsafBatch:
    """What ``read_csaf_many`` read: the advisories, and each file it skipped with the reason."""

    advisories: tuple[Advisory, ...]
    """Advisories read, in input order."""
    failed: tuple[IngestError, ...] = ()
    """Files that could not be read (each error names its file)."""


def read_csaf(path: str | Path, config: CsafConfig | None = None) -> Advisory:
    """Read one CSAF 2.0 JSON file as an ``Advisory``; raise ``IngestError`` naming the file and JSON path."""
    config = config or CsafConfig()
    name = str(path)
    data = _load_json(Path(path), name, config)
    try:
        doc = wire.CsafDocument.model_validate(data)
    except ValidationError as e:
        raise _schema_error(name, e) from e
    except RecursionError as e:  # pragma: no cover - the depth cap stops this first
        raise IngestError(name, "is nested too deeply", tip=_TIP) from e
    if not doc.document.csaf_version.startswith("2."):
        raise IngestError(
            name,
            f"$.document.csaf_version: CSAF {doc.document.csaf_version} is not supported",
            tip="Wardwatch reads CSAF 2.0",
        )
    return _Converter(name, doc, config).advisory()


def read_csaf_many(paths: Iterable[str | Path], config: CsafConfig | None = None) -> CsafBatch:
    """Read many CSAF files; a bad file is skipped and reported in ``CsafBatch.failed``, never silently."""
    advisories: list[Advisory] = []
    failed: list[IngestError] = []
    for path in paths:
        try:
            advisories.append(read_csaf(path, config))
        except IngestError as e:
            logger.warning("skipped %s", e)
            failed.append(e)
    return CsafBatch(tuple(advisories), tuple(failed))


# --- reading -------------------------------------------------------------------------------------------------


def _load_json(path: Path, name: str, config: CsafConfig) -> Any:
    """The file's JSON value, within the size and depth caps."""
    try:
        with path.open("rb") as f:
            raw = f.read(config.max_bytes + 1)
    except FileNotFoundError as e:
        raise IngestError(name, "no such file", tip="check the path") from e
    except OSError as e:
        raise IngestError(name, f"cannot be read ({e.strerror or type(e).__name__})") from e
    if len(raw) > config.max_bytes:
        raise IngestError(name, f"is larger than {config.max_bytes} bytes", tip="this is not a plausible advisory")
    if not raw.strip():
        raise IngestError(name, "is empty", tip=_TIP)
    try:
        data = json.loads(raw)
    except RecursionError as e:
        raise IngestError(name, "is nested too deeply", tip=_TIP) from e
    except json.JSONDecodeError as e:
        raise IngestError(
            name, f"is not valid JSON ({e.msg}, column {e.colno}; truncated?)", row=e.lineno, tip=_TIP
        ) from e
    except UnicodeDecodeError as e:
        raise IngestError(name, "is not UTF-8 text", tip=_TIP) from e
    _check_depth(data, name, config.max_depth)
    if not isinstance(data, dict) or not isinstance(data.get("document"), dict):
        raise IngestError(name, "is not a CSAF document (no 'document' object at the top)", tip=_TIP)
    return data


def _check_depth(data: Any, name: str, max_depth: int) -> None:
    """Refuse JSON nested deeper than ``max_depth`` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            raise IngestError(name, f"is nested deeper than {max_depth} levels", tip=_TIP)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))


def _json_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a JSON path: ``('document', 'tracking', 'id')`` -> ``$.document.tracking.id``."""
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def _schema_error(name: str, error: ValidationError) -> IngestError:
    """The first schema violation as an ``IngestError`` naming its JSON path."""
    first = error.errors()[0]
    more = error.error_count() - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return IngestError(name, f"{_json_path(first['loc'])}: {first['msg']}{suffix}", tip=_TIP)


def _utc(value: datetime | None) -> datetime | None:
    """An aware datetime in UTC."""
    return value.astimezone(UTC) if value is not None else None


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    """Ids in first-seen order, without repeats."""
    return tuple(dict.fromkeys(ids))


# --- conversion ----------------------------------------------------------------------------------------------


class _Converter:
    """Turns one validated wire document into an ``Advisory``, counting product references against the cap."""

    def __init__(self, name: str, doc: wire.CsafDocument, config: CsafConfig) -> None:
        self.name = name
        self.doc = doc
        self.config = config
        self.references = 0
        tree = doc.product_tree or wire.ProductTree()
        self.groups: dict[str, tuple[str, ...]] = {g.group_id: _unique(g.product_ids) for g in tree.product_groups}

    def advisory(self) -> Advisory:
        """The converted advisory."""
        document = self.doc.document
        tracking = document.tracking
        products = self._products()
        return Advisory(
            id=tracking.id,
            title=document.title,
            publisher=document.publisher.name,
            category=document.category,
            initial_release=_utc(tracking.initial_release_date),
            current_release=_utc(tracking.current_release_date),
            version=tracking.version,
            products=products,
            vulnerabilities=tuple(self._vulnerability(i, v) for i, v in enumerate(self.doc.vulnerabilities)),
            references=tuple(_reference(r) for r in document.references),
        )

    def _count(self, ids: tuple[str, ...], where: str) -> tuple[str, ...]:
        """Pass ``ids`` through, refusing files whose product references expand beyond the cap."""
        self.references += len(ids)
        if self.references > self.config.max_references:
            raise IngestError(
                self.name,
                f"expands to more than {self.config.max_references} product references (at {where})",
                tip="this is not a plausible advisory",
            )
        return ids

    def _resolve(self, product_ids: Sequence[str], group_ids: Sequence[str], where: str) -> tuple[str, ...]:
        """Product ids plus the members of the named product groups (unknown groups are logged and skipped)."""
        ids = list(product_ids)
        for group_id in group_ids:
            members = self.groups.get(group_id)
            if members is None:
                logger.debug("%s: %s names undefined product group %s", self.name, where, group_id)
                continue
            ids.extend(self._count(members, where))
        return _unique(ids)

    # products

    def _products(self) -> tuple[AdvisoryProduct, ...]:
        """Every product of the tree: branch leaves, full product names, then relationship products."""
        tree = self.doc.product_tree
        if tree is None:
            return ()
        by_id: dict[str, AdvisoryProduct] = {}

        def add(product: AdvisoryProduct) -> None:
            if product.product_id in by_id:
                logger.debug("%s: product %s defined twice; keeping the first", self.name, product.product_id)
                return
            by_id[product.product_id] = product

        for product in _flatten(tree.branches):
            add(product)
        for full in tree.full_product_names:
            add(_product(full, vendor=None, name=None, version=None))
        for relationship in tree.relationships:
            add(_composite(relationship, by_id))
        return tuple(by_id.values())

    # vulnerabilities

    def _vulnerability(self, index: int, vuln: wire.Vulnerability) -> AdvisoryVulnerability:
        """One vulnerability with its statuses, remediations, scores, threats and flags."""
        where = f"$.vulnerabilities[{index}]"
        status: dict[ProductStatus, tuple[str, ...]] = {}
        if vuln.product_status is not None:
            for group in ProductStatus:
                ids = _unique(getattr(vuln.product_status, group.value))
                if ids:
                    status[group] = self._count(ids, f"{where}.product_status.{group.value}")
        source = self.doc.document.tracking.id
        cvss: list[tuple[Cvss, tuple[str, ...]]] = []
        for score in vuln.scores:
            products = self._count(_unique(score.products), f"{where}.scores")
            if score.cvss_v3 is not None:
                cvss.append((_cvss3(score.cvss_v3, source), products))
            if score.cvss_v2 is not None:
                v2 = score.cvss_v2
                cvss.append((Cvss(v2.version, v2.vector_string, v2.base_score, source=source), products))
        return AdvisoryVulnerability(
            cve=vuln.cve,
            title=vuln.title,
            status=status,
            remediations=tuple(
                Remediation(
                    category=RemediationCategory(r.category),
                    details=r.details,
                    product_ids=self._resolve(r.product_ids, r.group_ids, f"{where}.remediations[{i}]"),
                    url=r.url,
                )
                for i, r in enumerate(vuln.remediations)
            ),
            cvss=tuple(cvss),
            cwes=(vuln.cwe.id,) if vuln.cwe is not None else (),
            notes=tuple(note.text for note in vuln.notes),
            threats=tuple(
                (t.category, t.details, self._resolve(t.product_ids, t.group_ids, f"{where}.threats[{i}]"))
                for i, t in enumerate(vuln.threats)
            ),
            flags=tuple(
                (f.label, self._resolve(f.product_ids, f.group_ids, f"{where}.flags[{i}]"))
                for i, f in enumerate(vuln.flags)
            ),
        )


def _reference(ref: wire.Reference) -> Reference:
    """A document reference; its CSAF category (``self``/``external``) becomes the tag."""
    return Reference(url=ref.url, tags=(ref.category,) if ref.category else ())


def _cvss3(score: wire.Cvss3, source: str) -> Cvss:
    """A CVSS v3 score, its vector always carrying the ``CVSS:3.x/`` prefix."""
    vector = score.vector_string
    if not vector.startswith("CVSS:"):
        vector = f"CVSS:{score.version}/{vector}"
    return Cvss(score.version, vector, score.base_score, source=source)


def _product(
    full: wire.FullProductName,
    *,
    vendor: str | None,
    name: str | None,
    version: str | None,
) -> AdvisoryProduct:
    """An ``AdvisoryProduct`` from a full product name and the branch path that leads to it."""
    helper = full.product_identification_helper or wire.ProductIdentificationHelper()
    purls = _unique([*([helper.purl] if helper.purl else []), *helper.purls])
    return AdvisoryProduct(
        product_id=full.product_id,
        vendor=vendor,
        name=name,
        version=version,
        full_name=full.name,
        cpe=helper.cpe,
        purls=purls,
        model_numbers=tuple(helper.model_numbers),
    )


@dataclass(frozen=True, slots=True)
class _Path:
    """What the branches above a node say: vendor, product family, product name and version."""

    vendor: str | None = None
    family: str | None = None
    name: str | None = None
    version: str | None = None

    def down(self, branch: wire.Branch) -> _Path:
        """The path extended by ``branch`` (inner branches override outer ones of the same kind)."""
        category, value = branch.category, branch.name
        if category == "vendor":
            return _Path(value, self.family, self.name, self.version)
        if category == "product_family":
            return _Path(self.vendor, value, self.name, self.version)
        if category == "product_name":
            return _Path(self.vendor, self.family, value, self.version)
        if category in _VERSION_BRANCHES:
            return _Path(self.vendor, self.family, self.name, value)
        return self  # architecture, language, host_name, legacy, specification: not part of our identity


def _flatten(branches: Sequence[wire.Branch]) -> Iterator[AdvisoryProduct]:
    """Each product in the branches, in document order, with its path (iterative: no recursion)."""
    stack: list[tuple[wire.Branch, _Path]] = [(b, _Path()) for b in reversed(branches)]
    while stack:
        branch, above = stack.pop()
        path = above.down(branch)
        if branch.product is not None:
            yield _product(branch.product, vendor=path.vendor, name=path.name or path.family, version=path.version)
        stack.extend((child, path) for child in reversed(branch.branches))


def _composite(relationship: wire.Relationship, known: Mapping[str, AdvisoryProduct]) -> AdvisoryProduct:
    """A relationship's product: its own id and full name (``X as a component of Y``), the component's vendor,
    name and version, and the component's identifiers unless the relationship gives its own."""
    full = relationship.full_product_name
    component = known.get(relationship.product_reference)
    if component is None:
        logger.debug("relationship %s names undefined product %s", full.product_id, relationship.product_reference)
        return _product(full, vendor=None, name=None, version=None)
    own = _product(full, vendor=component.vendor, name=component.name, version=component.version)
    if full.product_identification_helper is not None:
        return own
    return AdvisoryProduct(
        product_id=own.product_id,
        vendor=own.vendor,
        name=own.name,
        version=own.version,
        full_name=own.full_name,
        cpe=component.cpe,
        purls=component.purls,
        model_numbers=component.model_numbers,
    )


# --- VEX -----------------------------------------------------------------------------------------------------


def vex_statements(advisory: Advisory) -> list[VexStatement]:
    """The advisory read as VEX: one statement per vulnerability, product and status.

    ``known_not_affected`` -> ``not_affected`` (justification: the product's flag label; impact: ``impact``
    threats); ``fixed``/``first_fixed`` -> ``fixed`` (with the product's version); ``known_affected``,
    ``first_affected``, ``last_affected`` -> ``affected`` (action: the remediations' details, in published
    order); ``under_investigation`` -> itself.  ``recommended`` has no VEX meaning and is skipped, as are
    vulnerabilities without a CVE id.  Products are named by their advisory product id.
    """
    versions = {p.product_id: p.version for p in advisory.products}
    statements: dict[tuple[str, str, VexStatus], VexStatement] = {}
    for vuln in advisory.vulnerabilities:
        if vuln.cve is None:
            logger.debug("%s: vulnerability %r has no CVE id; no VEX statement", advisory.id, vuln.title)
            continue
        for group, product_ids in vuln.status.items():
            status = _VEX_STATUS.get(group)
            if status is None:
                continue
            for product_id in product_ids:
                key = (vuln.cve, product_id, status)
                if key in statements:
                    continue
                statements[key] = VexStatement(
                    vulnerability=vuln.cve,
                    product=product_id,
                    status=status,
                    justification=_first(label for label, ids in vuln.flags if product_id in ids)
                    if status is VexStatus.NOT_AFFECTED
                    else None,
                    impact=_joined(
                        d for category, d, ids in vuln.threats if category == "impact" and product_id in ids
                    ),
                    action=_joined(r.details for r in vuln.remediations if product_id in r.product_ids)
                    if status is VexStatus.AFFECTED
                    else None,
                    author=advisory.publisher,
                    timestamp=advisory.current_release,
                    fixed_version=versions.get(product_id) if status is VexStatus.FIXED else None,
                )
    return list(statements.values())


def _first(values: Iterable[str]) -> str | None:
    """The first value, or ``None``."""
    return next(iter(values), None)


def _joined(values: Iterable[str]) -> str | None:
    """Distinct values joined by newlines, or ``None`` when there are none."""
    unique = _unique(values)
    return "\n".join(unique) if unique else None
