"""SPDX 2.2 / 2.3 documents, JSON or tag-value -> :class:`~wardwatch.domain.intel.Sbom`.

Read: every package (SPDXID, name, versionInfo, supplier or else originator, checksums, 2.3
``primaryPackagePurpose``, external refs ``PACKAGE-MANAGER purl`` and ``SECURITY cpe23Type``), and the product
the document describes (``documentDescribes`` or ``SPDXRef-DOCUMENT DESCRIBES x`` / ``x DESCRIBED_BY
SPDXRef-DOCUMENT`` relationships).  The first described package is the product; every other package is a
component.  Files and snippets are not components.

Why not spdx-tools: tried on the shared examples it read them all, but tag-value parsing through PLY takes
0.3–1 s per 2 KB file, the package ships no type information (``mypy --strict`` would need an ignore), and it
brings rdflib, beartype, ply and more for the dozen fields used here.  SPDX 2.x JSON is a flat document, and
tag-value is ``Tag: value`` lines with ``<text>…</text>`` blocks, so this module reads both by hand into the
JSON shape and converts once.  SPDX 3 (JSON-LD) is recognised and refused with a clear message.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from packageurl import PackageURL

from wardwatch.domain.intel import Component, Sbom
from wardwatch.ingest._sbomfile import MAX_BYTES, Json, load_json, looks_like, parse_time, read_capped
from wardwatch.ingest.errors import IngestError

logger = logging.getLogger(__name__)

__all__ = ["read_spdx"]

_NO_VALUE = {"NOASSERTION", "NONE"}
_TIP = "export the SBOM as SPDX 2.3 JSON or tag-value, or use the reader for the format it is in"
_TAG_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9]*):\s?(.*)$")


def read_spdx(path: str | Path, *, max_bytes: int = MAX_BYTES) -> Sbom:
    """Read an SPDX 2.2/2.3 document (JSON or tag-value, told apart by content) into an :class:`Sbom`.

    Raises :class:`IngestError` naming the file and the element for anything else; never a partial result.
    """
    file = Path(path)
    where = str(file)
    data = read_capped(file, max_bytes)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        document = load_json(file, data, "an SPDX document")
    elif re.match(rb"\s*(#[^\n]*\n\s*)*SPDXVersion:", data.lstrip(b"\xef\xbb\xbf")):
        document = _tag_value(where, data)
    else:
        seems = looks_like(data) or ("empty" if not data.strip() else None)
        raise IngestError(where, f"is not an SPDX document{f': it looks like {seems}' if seems else ''}", tip=_TIP)
    if not isinstance(document, dict) or not isinstance(document.get("spdxVersion"), str):
        seems = looks_like(document)
        raise IngestError(where, f"is not an SPDX 2 document{f': it looks like {seems}' if seems else ''}", tip=_TIP)
    return _document(Json(document, where, ""))


def _document(doc: Json) -> Sbom:
    version = doc.text("spdxVersion") or ""
    if not re.fullmatch(r"SPDX-2\.[0-3]", version):
        raise doc.fail("spdxVersion", f"{version!r} is not SPDX 2.x (2.2 and 2.3 are read)")
    packages = list(doc.objects("packages"))
    ids = [_required(package, "SPDXID") for package in packages]
    described = _described(doc)
    product_id = next((spdx_id for spdx_id in described if spdx_id in ids), None)
    product = packages[ids.index(product_id)] if product_id is not None else None
    creation = doc.obj("creationInfo")
    created = creation.text("created") if creation else None
    return Sbom(
        format=f"SPDX {version.removeprefix('SPDX-')}",
        name=product.text("name") if product else None,
        version=_value(product, "versionInfo") if product else None,
        supplier=_supplier(product) if product else None,
        components=tuple(_component(p, i) for p, i in zip(packages, ids, strict=True) if i != product_id),
        serial=doc.text("documentNamespace"),
        created=parse_time(created, doc.where, "creationInfo.created") if created else None,
    )


def _described(doc: Json) -> list[str]:
    described = list(doc.texts("documentDescribes"))
    document_id = doc.text("SPDXID") or "SPDXRef-DOCUMENT"
    for relationship in doc.objects("relationships"):
        kind = relationship.text("relationshipType")
        left, right = relationship.text("spdxElementId"), relationship.text("relatedSpdxElement")
        if kind == "DESCRIBES" and left == document_id and right:
            described.append(right)
        elif kind == "DESCRIBED_BY" and right == document_id and left:
            described.append(left)
    return described


def _component(package: Json, spdx_id: str) -> Component:
    purl = cpe = None
    for ref in package.objects("externalRefs"):
        category = (ref.text("referenceCategory") or "").replace("_", "-")
        kind, locator = ref.text("referenceType"), ref.text("referenceLocator")
        if category == "PACKAGE-MANAGER" and kind == "purl" and locator and purl is None:
            try:
                PackageURL.from_string(locator)
            except ValueError as e:
                raise ref.fail("referenceLocator", f"{locator!r} is not a valid package URL ({e})") from e
            purl = locator
        elif category == "SECURITY" and kind == "cpe23Type" and locator and cpe is None:
            if not locator.startswith("cpe:2.3:"):
                raise ref.fail("referenceLocator", f"{locator!r} is not a CPE 2.3 formatted string")
            cpe = locator
    hashes = [(_required(c, "algorithm"), _required(c, "checksumValue")) for c in package.objects("checksums")]
    purpose = package.text("primaryPackagePurpose")
    return Component(
        ref=spdx_id,
        name=_required(package, "name"),
        version=_value(package, "versionInfo"),
        purl=purl,
        cpe=cpe,
        supplier=_supplier(package),
        type=purpose.lower().replace("_", "-") if purpose else None,
        hashes=tuple(hashes),
    )


def _supplier(package: Json) -> str | None:
    """``Organization: Acme Inc. (psirt@acme.example)`` -> ``Acme Inc.``; NOASSERTION is ``None``."""
    for key in ("supplier", "originator"):
        value = _value(package, key)
        if value:
            name = re.sub(r"^(Organization|Person|Tool):\s*", "", value)
            name = re.sub(r"\s*\([^()]*@[^()]*\)\s*$", "", name).strip()
            if name and name not in _NO_VALUE:
                return name
    return None


def _value(item: Json, key: str) -> str | None:
    value = item.text(key)
    return None if value is None or value in _NO_VALUE else value


def _required(item: Json, key: str) -> str:
    value = item.text(key)
    if value is None:
        raise item.fail(key, "is missing")
    return value


# --- tag-value: read into the JSON shape ----------------------------------------------------------------------

_DOCUMENT_TAGS = {
    "SPDXVersion": "spdxVersion",
    "DocumentName": "name",
    "DocumentNamespace": "documentNamespace",
}
_PACKAGE_TAGS = {
    "PackageVersion": "versionInfo",
    "PackageSupplier": "supplier",
    "PackageOriginator": "originator",
    "PrimaryPackagePurpose": "primaryPackagePurpose",
}
_OTHER_SECTIONS = ("FileName", "SnippetSPDXID", "LicenseID")  # tags that end a package section


def _tag_value(where: str, data: bytes) -> dict[str, Any]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise IngestError(where, f"is not UTF-8 text (byte {e.start}), so not an SPDX tag-value document") from e
    document: dict[str, Any] = {"packages": [], "relationships": [], "creationInfo": {}}
    section: dict[str, Any] | None = document  # where SPDXID lines go; None inside files, snippets, licences
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _TAG_LINE.match(line)
        if match is None:
            raise IngestError(where, f"line {number}: {line[:60]!r} is not a 'Tag: value' line", tip=_TIP)
        tag, value = match.group(1), match.group(2).strip()
        if value.startswith("<text>"):
            start = number
            while "</text>" not in value and number < len(lines):
                value += "\n" + lines[number]
                number += 1
            if "</text>" not in value:
                raise IngestError(where, f"line {start}: <text> block of {tag} is never closed (truncated file?)")
            value = value.removeprefix("<text>").split("</text>", 1)[0].strip()
        if tag == "PackageName":
            section = {"name": value, "externalRefs": [], "checksums": []}
            document["packages"].append(section)
        elif tag in _OTHER_SECTIONS:
            section = None
        elif tag == "SPDXID":
            if section is not None and "SPDXID" not in section:
                section["SPDXID"] = value
        elif tag in _DOCUMENT_TAGS:
            document[_DOCUMENT_TAGS[tag]] = value
        elif tag == "Created":
            document["creationInfo"]["created"] = value
        elif tag == "Relationship":
            parts = value.split()
            if len(parts) != 3:
                raise IngestError(where, f"line {number}: Relationship {value!r} is not 'A TYPE B'")
            document["relationships"].append(
                {"spdxElementId": parts[0], "relationshipType": parts[1], "relatedSpdxElement": parts[2]}
            )
        elif section is not None and section is not document:
            _package_tag(where, number, section, tag, value)
    return document


def _package_tag(where: str, number: int, package: dict[str, Any], tag: str, value: str) -> None:
    if tag in _PACKAGE_TAGS:
        package[_PACKAGE_TAGS[tag]] = value
    elif tag == "ExternalRef":
        parts = value.split(maxsplit=2)
        if len(parts) != 3:
            raise IngestError(where, f"line {number}: ExternalRef {value!r} is not 'CATEGORY TYPE LOCATOR'")
        package["externalRefs"].append(
            {"referenceCategory": parts[0], "referenceType": parts[1], "referenceLocator": parts[2]}
        )
    elif tag == "PackageChecksum":
        algorithm, _, checksum = value.partition(":")
        if not checksum.strip():
            raise IngestError(where, f"line {number}: PackageChecksum {value!r} is not 'ALGORITHM: value'")
        package["checksums"].append({"algorithm": algorithm.strip(), "checksumValue": checksum.strip()})
