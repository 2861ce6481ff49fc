"""OpenVEX documents (v0.0.1 and v0.2.x JSON) -> :class:`~wardwatch.domain.intel.VexStatement` values.

One statement per (vulnerability, product) — or per (vulnerability, product, subcomponent) when the statement
names subcomponents, in which case the statement's ``product`` is the subcomponent's id: it is the
subcomponent that carries (or not) the vulnerable code, and it is what a device's SBOM component matches.
The enclosing product id has no place in :class:`VexStatement` and is logged at debug level.

Read: ``vulnerability`` (``name``, else ``@id``; v0.0.1 plain string), ``products`` (``@id``, else
``identifiers.purl`` / ``cpe23`` / ``cpe22``; v0.0.1 plain strings), ``subcomponents``, ``status``,
``justification``, ``impact_statement``, ``action_statement``, the statement's ``timestamp`` (else the
document's) and the document ``author``.  The document is small JSON with a fixed shape: read by hand with
the same typed, element-naming accessors as the other SBOM readers (no OpenVEX library is maintained on PyPI).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from wardwatch.domain.intel import VexStatement, VexStatus
from wardwatch.ingest._sbomfile import MAX_BYTES, Json, load_json, looks_like, parse_time, read_capped
from wardwatch.ingest.errors import IngestError

logger = logging.getLogger(__name__)

__all__ = ["read_openvex"]

_TIP = "use the reader for the format it is in (CycloneDX VEX, CSAF VEX, OpenVEX)"


def read_openvex(path: str | Path, *, max_bytes: int = MAX_BYTES) -> list[VexStatement]:
    """Read an OpenVEX JSON document into VEX statements, in document order.

    Raises :class:`IngestError` naming the file and the element for anything that is not a valid OpenVEX
    document; never a partial result.
    """
    file = Path(path)
    where = str(file)
    data = read_capped(file, max_bytes)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"["):
        seems = looks_like(data) or ("empty" if not data.strip() else None)
        raise IngestError(where, f"is not an OpenVEX document{f': it looks like {seems}' if seems else ''}", tip=_TIP)
    document = load_json(file, data, "an OpenVEX document")
    if not isinstance(document, dict) or "openvex" not in json.dumps(document.get("@context", "")):
        seems = looks_like(document)
        detail = f": it looks like {seems}" if seems else " (no openvex @context)"
        raise IngestError(where, f"is not an OpenVEX document{detail}", tip=_TIP)
    doc = Json(document, where, "")
    author = doc.text("author")
    doc_time = doc.text("timestamp")
    statements: list[VexStatement] = []
    for statement in doc.objects("statements"):
        statements.extend(_statement(statement, author, doc_time))
    return statements


def _statement(statement: Json, author: str | None, doc_time: str | None) -> list[VexStatement]:
    vulnerability = _vulnerability(statement)
    status_text = statement.text("status")
    try:
        status = VexStatus(status_text or "")
    except ValueError as e:
        allowed = ", ".join(s.value for s in VexStatus)
        raise statement.fail("status", f"{status_text!r} is not an OpenVEX status ({allowed})") from e
    when = statement.text("timestamp") or doc_time
    timestamp = parse_time(when, statement.where, f"{statement.element}.timestamp") if when else None
    products = statement.items("products")
    if not products:
        raise statement.fail("products", "is missing or empty: a statement must name at least one product")
    targets: list[str] = []
    for index, item in enumerate(products):
        element = f"{statement.element}.products[{index}]"
        if isinstance(item, str):  # v0.0.1: products and subcomponents are plain ids
            product, subcomponents = item, []
        else:
            entry = Json(item, statement.where, element)
            product = _identifier(entry)
            subcomponents = [
                s if isinstance(s, str) else _identifier(Json(s, statement.where, f"{element}.subcomponents[{i}]"))
                for i, s in enumerate(entry.items("subcomponents"))
            ]
        if subcomponents:
            logger.debug("%s: %s subcomponents of %s stated individually", statement.where, element, product)
        targets.extend(subcomponents or [product])
    justification, impact = statement.text("justification"), statement.text("impact_statement")
    action = statement.text("action_statement")
    return [
        VexStatement(
            vulnerability=vulnerability,
            product=target,
            status=status,
            justification=justification,
            impact=impact,
            action=action,
            author=author,
            timestamp=timestamp,
        )
        for target in targets
    ]


def _vulnerability(statement: Json) -> str:
    value = statement.value.get("vulnerability")
    if isinstance(value, str) and value.strip():  # v0.0.1
        return value.strip()
    entry = statement.obj("vulnerability")
    name = (entry.text("name") or entry.text("@id")) if entry else None
    if name is None:
        raise statement.fail("vulnerability", "is missing a name or @id")
    return name


def _identifier(entry: Json) -> str:
    identifier = entry.text("@id")
    identifiers = entry.obj("identifiers")
    if identifier is None and identifiers is not None:
        identifier = identifiers.text("purl") or identifiers.text("cpe23") or identifiers.text("cpe22")
    if identifier is None:
        raise entry.fail("@id", "is missing (and no identifiers purl/cpe23/cpe22 is given)")
    return identifier
