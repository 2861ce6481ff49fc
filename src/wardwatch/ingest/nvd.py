"""NVD CVE API 2.0 JSON -> :class:`~wardwatch.domain.intel.Vulnerability`.

Accepted inputs (plain or gzip, detected by content):

* a response page: ``{"resultsPerPage", "startIndex", "totalResults", "format": "NVD_CVE", "version": "2.0",
  "timestamp", "vulnerabilities": [{"cve": {...}}, ...]}``;
* one record: ``{"cve": {...}}``, or the bare ``cve`` object (``{"id": "CVE-…", ...}``), as mirrors such as
  fkie-cad/nvd-json-data-feeds store them.

:func:`iter_nvd` streams the ``vulnerabilities`` array element by element (bounded memory whatever the file
size); :func:`read_nvd` returns the whole list.

Mapping: ``descriptions`` (English) -> ``description``; ``published``/``lastModified`` -> aware UTC datetimes
(NVD writes them without an offset: they are UTC); ``metrics.cvssMetricV2/V30/V31/V40`` -> ``cvss`` (vector
as published — V2 vectors have no prefix — with base score, source and Primary/Secondary type);
``weaknesses`` -> ``cwes`` (``NVD-CWE-noinfo`` kept); ``references`` -> url + tags; ``vulnStatus`` ->
``status``; ``cisaExploitAdd`` (NVD's copy of the KEV date) -> ``kev_date_added``.  Each element of
``configurations`` becomes one :class:`~wardwatch.domain.intel.ConfigNode` whose operator is the
configuration's (``OR`` when absent, as NVD omits it for single-node configurations) and whose children are
the configuration's nodes; nested ``children`` of a node (1.1-style trees) are kept.

Errors: all or nothing.  A malformed record inside an otherwise good page fails the file with one
:class:`~wardwatch.ingest.errors.IngestError` naming the file, the record's CVE id and index and the JSON
path of the bad value — skipping it would silently drop a vulnerability from risk results.  Because
:func:`iter_nvd` streams, records before a bad one have already been yielded when it raises: callers that
store records must do so in one transaction (or use :func:`read_nvd`).
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wardwatch.domain.cpe import CpeError, parse_cpe
from wardwatch.domain.intel import ConfigNode, CpeMatch, Cvss, Reference, Vulnerability
from wardwatch.ingest._jsonread import MAX_VALUE_CHARS, Fields, Invalid, JsonStream, open_text
from wardwatch.ingest.errors import IngestError

logger = logging.getLogger(__name__)

__all__ = ["iter_nvd", "read_nvd", "vulnerability_from_cve"]

#: metrics key -> CVSS version, in the order assessments are listed.
METRIC_VERSIONS: dict[str, str] = {
    "cvssMetricV40": "4.0",
    "cvssMetricV31": "3.1",
    "cvssMetricV30": "3.0",
    "cvssMetricV2": "2.0",
}
#: Page keys kept while streaming (others are decoded and dropped, so memory stays bounded).
_PAGE_KEYS = frozenset({"resultsPerPage", "startIndex", "totalResults", "format", "version", "timestamp"})
#: Keys of a bare ``cve`` object, kept so such a file can be read as one record.
_CVE_KEYS = frozenset(
    {
        "id",
        "sourceIdentifier",
        "published",
        "lastModified",
        "vulnStatus",
        "descriptions",
        "metrics",
        "weaknesses",
        "configurations",
        "references",
        "cisaExploitAdd",
    }
)
_CVE_ID_RE = re.compile(r"CVE-\d{4}-\d{4,}")
#: NVD nests configuration nodes at most two levels deep; this bounds recursion on hostile input.
MAX_NODE_DEPTH = 16
_TIP = "check that the file is NVD CVE API 2.0 JSON (a /rest/json/cves/2.0 response page or one 'cve' record)"


def read_nvd(path: str | Path, *, max_record_chars: int = MAX_VALUE_CHARS) -> list[Vulnerability]:
    """Every vulnerability of an NVD API 2.0 file; :class:`IngestError` (nothing returned) on bad input."""
    return list(iter_nvd(path, max_record_chars=max_record_chars))


def iter_nvd(path: str | Path, *, max_record_chars: int = MAX_VALUE_CHARS) -> Iterator[Vulnerability]:
    """Stream the vulnerabilities of an NVD API 2.0 file in bounded memory.

    ``max_record_chars`` bounds one record (and any other top-level value): a larger one is refused, so a
    hostile file cannot exhaust memory.  Raises :class:`IngestError` for unreadable, truncated or malformed
    files — possibly after earlier records were yielded (see the module docstring).
    """
    file = Path(path)
    count = 0
    try:
        with open_text(file) as handle:
            for vulnerability in _records(JsonStream(handle, max_record_chars), str(file)):
                count += 1
                yield vulnerability
    except Invalid as e:
        raise _file_error(file, e) from None
    except (OSError, EOFError, zlib.error) as e:
        tip = "check the path, and that a .gz file is complete"
        raise IngestError(str(file), f"cannot be read: {e}", tip=tip) from None
    logger.debug("read %d NVD records from %s", count, file)


def _file_error(file: Path, error: Invalid) -> IngestError:
    """The one-line error for a problem with the file as a whole."""
    message = error.message if not error.path else f"{error.path}: {error.message}"
    return IngestError(str(file), message, tip=_TIP)


def _records(stream: JsonStream, name: str) -> Iterator[Vulnerability]:
    """Walk the top-level object, yielding each record of ``vulnerabilities`` (or the single record)."""
    header: dict[str, Any] = {}
    saw_page = False
    for key in stream.object_items():
        if key == "vulnerabilities":
            saw_page = True
            _check_header(header)
            for index, element in enumerate(stream.array_items()):
                yield _convert(element, name, index)
        elif key in _PAGE_KEYS or key in _CVE_KEYS or key == "cve":
            header[key] = stream.value()
            if key in ("format", "version"):
                _check_header(header)
        else:
            stream.value()  # unknown keys are skipped; decoding them keeps the stream in step
    if saw_page:
        return
    if "cve" in header:
        yield _convert({"cve": header["cve"]}, name, None)
    elif "id" in header:
        yield _convert({"cve": header}, name, None)
    else:
        raise Invalid("", "is not NVD CVE API 2.0 JSON: it has no 'vulnerabilities' array, 'cve' object or CVE 'id'")


def _check_header(header: dict[str, Any]) -> None:
    """Refuse pages that declare another format or major version."""
    fmt = header.get("format")
    if fmt is not None and fmt != "NVD_CVE":
        raise Invalid("format", f"is {str(fmt)[:40]!r}, expected 'NVD_CVE'")
    version = header.get("version")
    if version is not None and not str(version).startswith("2."):
        raise Invalid("version", f"is {str(version)[:40]!r}, expected 2.x (NVD CVE API 2.0)")


def _convert(element: object, name: str, index: int | None) -> Vulnerability:
    """One ``{"cve": {...}}`` element as a Vulnerability, or an IngestError naming the record."""
    where = "" if index is None else f"vulnerabilities[{index}]"
    record_id: str | None = None
    try:
        wrapper = Fields(element, where)
        cve = wrapper.child("cve")
        if cve is None:
            raise Invalid(wrapper.at("cve"), "is missing: each element must be {'cve': {...}}")
        raw_id = cve.data.get("id")
        record_id = raw_id[:40] if isinstance(raw_id, str) else None
        return vulnerability_from_cve(cve)
    except Invalid as e:
        label = f"record {record_id}" if record_id else "a record"
        if index is not None:
            label += f" (#{index + 1})"
        raise IngestError(name, f"{label}: {e.path or 'cve'}: {e.message}", tip=_TIP) from None
    except RecursionError:
        raise IngestError(name, f"record {record_id or where}: nested too deeply", tip=_TIP) from None


def vulnerability_from_cve(cve: Fields) -> Vulnerability:
    """Convert one NVD ``cve`` object; :class:`Invalid` names the JSON path of a malformed value."""
    cve_id = cve.required_text("id")
    if not _CVE_ID_RE.fullmatch(cve_id):
        raise Invalid(cve.at("id"), f"{cve_id[:40]!r} is not a CVE id")
    return Vulnerability(
        id=cve_id,
        description=_english(cve.objects("descriptions")),
        published=cve.datetime("published"),
        modified=cve.datetime("lastModified"),
        cvss=_cvss(cve.child("metrics")),
        cwes=_cwes(cve.objects("weaknesses")),
        references=tuple(
            Reference(url=ref.required_text("url"), tags=ref.strings("tags")) for ref in cve.objects("references")
        ),
        configurations=tuple(_configuration(c) for c in cve.objects("configurations")),
        status=cve.text("vulnStatus"),
        kev_date_added=cve.date("cisaExploitAdd"),
        source="nvd",
    )


def _english(descriptions: list[Fields]) -> str | None:
    """The English description text (the first ``en`` one), if any."""
    for description in descriptions:
        lang = description.text("lang") or ""
        if lang.lower().startswith("en"):
            return description.text("value")
    return None


def _cvss(metrics: Fields | None) -> tuple[Cvss, ...]:
    """Every CVSS assessment of ``metrics``, newest CVSS version first."""
    if metrics is None:
        return ()
    found: list[Cvss] = []
    for key, version in METRIC_VERSIONS.items():
        for metric in metrics.objects(key):
            data = metric.child("cvssData")
            if data is None:
                raise Invalid(metric.at("cvssData"), "is missing")
            found.append(
                Cvss(
                    version=data.text("version") or version,
                    vector=data.required_text("vectorString"),
                    base_score=data.number("baseScore"),
                    source=metric.text("source"),
                    type=metric.text("type"),
                )
            )
    return tuple(found)


def _cwes(weaknesses: list[Fields]) -> tuple[str, ...]:
    """Weakness ids of every source, in order, without repeats."""
    seen: dict[str, None] = {}
    for weakness in weaknesses:
        for description in weakness.objects("description"):
            value = description.text("value")
            if value:
                seen[value] = None
    return tuple(seen)


def _configuration(configuration: Fields) -> ConfigNode:
    """One NVD configuration as a node whose children are its nodes."""
    return ConfigNode(
        operator=_operator(configuration, default="OR"),
        negate=configuration.flag("negate") or False,
        children=tuple(_node(node, 1) for node in configuration.objects("nodes")),
    )


def _node(node: Fields, depth: int) -> ConfigNode:
    """One configuration node with its CPE matches and nested children."""
    if depth > MAX_NODE_DEPTH:
        raise Invalid(node.path, f"configuration nodes are nested more than {MAX_NODE_DEPTH} levels deep")
    return ConfigNode(
        operator=_operator(node, default=None),
        negate=node.flag("negate") or False,
        matches=tuple(_match(m) for m in node.objects("cpeMatch")),
        children=tuple(_node(child, depth + 1) for child in node.objects("children")),
    )


def _operator(fields: Fields, default: str | None) -> str:
    """``AND`` or ``OR``; ``default`` when absent (required when ``default`` is None)."""
    operator = fields.text("operator", required=default is None)
    if operator is None and default is not None:
        return default
    if operator == "AND" or operator == "OR":
        return operator
    raise Invalid(fields.at("operator"), f"is {str(operator)[:20]!r}, expected 'AND' or 'OR'")


def _match(match: Fields) -> CpeMatch:
    """One ``cpeMatch`` entry; its criteria must be a CPE 2.3 formatted string."""
    criteria = match.required_text("criteria")
    try:
        parse_cpe(criteria)
    except CpeError as e:
        raise Invalid(match.at("criteria"), str(e)) from None
    vulnerable = match.flag("vulnerable")
    if vulnerable is None:
        raise Invalid(match.at("vulnerable"), "is missing (expected true or false)")
    return CpeMatch(
        criteria=criteria,
        vulnerable=vulnerable,
        version_start_including=match.text("versionStartIncluding"),
        version_start_excluding=match.text("versionStartExcluding"),
        version_end_including=match.text("versionEndIncluding"),
        version_end_excluding=match.text("versionEndExcluding"),
    )
