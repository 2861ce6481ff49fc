"""CVE JSON 5.x records (the CVE Record Format, as in CVEProject/cvelistV5 and cisagov/vulnrichment).

Mapping to :class:`~wardwatch.domain.intel.Vulnerability`:

* ``cveMetadata``: ``cveId`` -> ``id``, ``state`` -> ``status``, ``datePublished``/``dateUpdated`` -> aware UTC
  datetimes (timestamps written without an offset are UTC).
* ``containers.cna``: English ``descriptions`` (``rejectedReasons`` for rejected records); ``affected`` ->
  ``(vendor, product, range)`` for every version entry with status ``affected`` — the range reads ``1.0``,
  ``>= 0, < 2024.2`` or ``>= 5.0, <= 5.4.11``, texts as published — plus ``(vendor, product, "*")`` when the
  entry's ``defaultStatus`` is ``affected`` and no version entry is; ``metrics`` -> ``cvss`` (cvssV4_0,
  cvssV3_1, cvssV3_0, cvssV2_0; source = the container's ``providerMetadata.shortName``);
  ``problemTypes`` -> ``cwes``; ``references``.
* ``containers.adp``: the CVSS, CWEs and references ADPs add (CISA's vulnrichment container among them),
  and from ``metrics[].other``: ``type == "ssvc"`` -> ``ssvc`` (``content.options``, e.g.
  ``{"Exploitation": "active", "Automatable": "yes", "Technical Impact": "total"}``) and ``type == "kev"`` ->
  ``kev_date_added`` (``content.dateAdded``).  When several containers carry SSVC, ``CISA-ADP`` wins.

Not mapped: ``versions[].changes``, ``cpes``/``platforms``/``modules`` of ``affected`` and other metric
formats (text severities).  Errors are all or nothing: a bad file raises one
:class:`~wardwatch.ingest.errors.IngestError` naming the file and the JSON path; :func:`read_cve5_dir`
fails on the first bad file.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from wardwatch.domain.intel import Cvss, Reference, Vulnerability
from wardwatch.ingest._jsonread import Fields, Invalid, load_document
from wardwatch.ingest.errors import IngestError

logger = logging.getLogger(__name__)

__all__ = ["iter_cve5_dir", "read_cve5", "read_cve5_dir", "vulnerability_from_record"]

#: CVE 5 metric key -> CVSS version, newest first.
METRIC_VERSIONS: dict[str, str] = {"cvssV4_0": "4.0", "cvssV3_1": "3.1", "cvssV3_0": "3.0", "cvssV2_0": "2.0"}
#: The ADP whose SSVC decision points are preferred.
CISA_ADP = "CISA-ADP"
#: File names :func:`read_cve5_dir` reads (cvelistV5 also holds ``delta.json`` and ``deltaLog.json``).
RECORD_GLOB = "CVE-*.json"
_CVE_ID_RE = re.compile(r"CVE-\d{4}-\d{4,}")
_CWE_RE = re.compile(r"CWE-\d+")
_TIP = "check that the file is a CVE JSON 5.x record (CVE_RECORD, dataVersion 5.x)"


def read_cve5(path: str | Path) -> Vulnerability:
    """The vulnerability of one CVE JSON 5.x record file (plain or gzip); :class:`IngestError` on bad input."""
    file = Path(path)
    document: object = None
    try:
        document = load_document(file)
        return vulnerability_from_record(Fields(document, ""))
    except Invalid as e:
        message = e.message if not e.path else f"{e.path}: {e.message}"
        if not e.path and message.startswith("expected"):
            message = f"is not a CVE record: {message} at the top level"
        record_id = _record_id(document)
        if record_id and e.path:
            message = f"record {record_id}: {message}"
        raise IngestError(str(file), message, tip=_TIP) from None
    except (OSError, EOFError, zlib.error) as e:
        raise IngestError(str(file), f"cannot be read: {e}", tip="check the path and permissions") from None


def _record_id(document: object) -> str | None:
    """The ``cveMetadata.cveId`` of a parsed document, if it has one, for error messages."""
    if isinstance(document, dict):
        metadata = document.get("cveMetadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("cveId"), str):
            return str(metadata["cveId"])[:40]
    return None


def iter_cve5_dir(folder: str | Path) -> Iterator[Vulnerability]:
    """Stream the records of every ``CVE-*.json`` file under ``folder`` (recursively, in path order)."""
    root = Path(folder)
    if not root.is_dir():
        raise IngestError(str(root), "is not a folder", tip="pass the folder that holds the CVE-*.json files")
    for file in sorted(root.rglob(RECORD_GLOB)):
        if file.is_file():
            yield read_cve5(file)


def read_cve5_dir(folder: str | Path) -> list[Vulnerability]:
    """The records of every ``CVE-*.json`` file under ``folder``; the first bad file raises :class:`IngestError`."""
    records = list(iter_cve5_dir(folder))
    logger.debug("read %d CVE 5 records from %s", len(records), folder)
    return records


def vulnerability_from_record(record: Fields) -> Vulnerability:
    """Convert one parsed CVE 5 record; :class:`Invalid` names the JSON path of a malformed value."""
    data_version = record.text("dataVersion")
    if data_version is None or not data_version.startswith("5."):
        found = "no dataVersion" if data_version is None else f"dataVersion {data_version[:20]!r}"
        raise Invalid("", f"is not a CVE JSON 5.x record ({found})")
    metadata = record.child("cveMetadata")
    containers = record.child("containers")
    if metadata is None or containers is None:
        raise Invalid("", "is not a CVE JSON 5.x record (no cveMetadata or containers)")
    cve_id = metadata.required_text("cveId")
    if not _CVE_ID_RE.fullmatch(cve_id):
        raise Invalid(metadata.at("cveId"), f"{cve_id[:40]!r} is not a CVE id")
    cna = containers.child("cna")
    if cna is None:
        raise Invalid(containers.at("cna"), "is missing")
    adps = containers.objects("adp")
    everyone = [cna, *adps]

    cvss: list[Cvss] = []
    cwes: dict[str, None] = {}
    references: dict[str, Reference] = {}
    ssvc_by_provider: dict[str, dict[str, str]] = {}
    kev: list[Fields] = []
    for container in everyone:
        provider = _provider(container)
        for metric in container.objects("metrics"):
            cvss.extend(_cvss(metric, provider))
            other = metric.child("other")
            if other is None:
                continue
            kind = other.text("type")
            if kind == "ssvc":
                ssvc_by_provider.setdefault(provider or "", {}).update(_ssvc(other))
            elif kind == "kev":
                content = other.child("content")
                if content is not None:
                    kev.append(content)
        for problem in container.objects("problemTypes"):
            for description in problem.objects("descriptions"):
                cwe = description.text("cweId")
                if cwe is None and description.text("type") == "CWE":
                    match = _CWE_RE.search(description.text("description") or "")
                    cwe = match.group(0) if match else None
                if cwe:
                    cwes[cwe] = None
        for ref in container.objects("references"):
            url = ref.required_text("url")
            known = references.get(url)
            tags = tuple(dict.fromkeys((*(known.tags if known else ()), *ref.strings("tags"))))
            references[url] = Reference(url=url, tags=tags)

    ssvc = ssvc_by_provider.get(CISA_ADP) or next(iter(ssvc_by_provider.values()), {})
    return Vulnerability(
        id=cve_id,
        description=_english(cna.objects("descriptions")) or _english(cna.objects("rejectedReasons")),
        published=metadata.datetime("datePublished"),
        modified=metadata.datetime("dateUpdated"),
        cvss=tuple(cvss),
        cwes=tuple(cwes),
        references=tuple(references.values()),
        status=metadata.text("state"),
        ssvc=ssvc,
        kev_date_added=next((d for d in (c.date("dateAdded") for c in kev) if d is not None), None),
        affected=tuple(_affected(cna.objects("affected"))),
        source="cve5",
    )


def _provider(container: Fields) -> str | None:
    """The container's ``providerMetadata.shortName`` (``CISA-ADP``, ``icscert``, ``mitre``…)."""
    metadata = container.child("providerMetadata")
    return None if metadata is None else metadata.text("shortName")


def _english(descriptions: list[Fields]) -> str | None:
    """The first English description's text."""
    for description in descriptions:
        if (description.text("lang") or "").lower().startswith("en"):
            return description.text("value")
    return None


def _cvss(metric: Fields, provider: str | None) -> Iterator[Cvss]:
    """The CVSS assessments of one ``metrics[]`` entry."""
    for key, version in METRIC_VERSIONS.items():
        data = metric.child(key)
        if data is None:
            continue
        yield Cvss(
            version=data.text("version") or version,
            vector=data.required_text("vectorString"),
            base_score=data.number("baseScore"),
            source=provider,
        )


def _ssvc(other: Fields) -> dict[str, str]:
    """SSVC decision points of an ``other`` metric: ``content.options`` merged into one mapping."""
    content = other.child("content")
    if content is None:
        raise Invalid(other.at("content"), "is missing (expected SSVC content with options)")
    points: dict[str, str] = {}
    for option in content.objects("options"):
        for name, value in option.data.items():
            if not isinstance(value, str):
                raise Invalid(option.at(name), "expected a string SSVC value")
            points[name] = value
    return points


def _affected(entries: list[Fields]) -> Iterator[tuple[str, str, str]]:
    """``(vendor, product, range text)`` for every affected version entry of ``affected``."""
    for entry in entries:
        vendor = entry.text("vendor") or entry.text("collectionURL") or ""
        product = entry.text("product") or entry.text("packageName") or ""
        any_affected = False
        for version in entry.objects("versions"):
            if version.text("status", required=True) != "affected":
                continue
            any_affected = True
            yield vendor, product, _range_text(version)
        if not any_affected and entry.text("defaultStatus") == "affected":
            yield vendor, product, "*"


def _range_text(version: Fields) -> str:
    """A version entry as range text: ``1.0``, ``>= 1.0, < 2.0`` or ``>= 1.0, <= 1.9``."""
    start = version.required_text("version").strip()
    less_than = version.text("lessThan")
    less_equal = version.text("lessThanOrEqual")
    if less_than is not None:
        return f">= {start}" if less_than.strip() == "*" else f">= {start}, < {less_than.strip()}"
    if less_equal is not None:
        return f">= {start}" if less_equal.strip() == "*" else f">= {start}, <= {less_equal.strip()}"
    return start
