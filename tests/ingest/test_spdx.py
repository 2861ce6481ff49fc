"""Reading SPDX 2.2/2.3 JSON and tag-value: packages, purl and CPE refs, the described product, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.spdx import read_spdx

SBOM = Path(__file__).parents[1] / "fixtures" / "intel" / "sbom"
SHARED = Path(__file__).parents[3] / "shared" / "data" / "sbom" / "spdx-examples"


def test_spdx_23_json_product_and_component_purl() -> None:
    sbom = read_spdx(SBOM / "spdx-2.3-sbom-with-security.json")
    assert sbom.format == "SPDX 2.3"
    assert (sbom.name, sbom.version, sbom.supplier) == ("tools-java", "1.5.1", "SPDX")  # e-mail dropped
    assert sbom.created == datetime(2023, 5, 12, 18, 30, 22, tzinfo=UTC)
    assert sbom.serial == "http://spdx.org/spdxdocs/tools-java/v1.1.5-444504E0-4F89-41D3-9A0C-0305E82C3301"
    (xlsx,) = sbom.components  # the described package is the product, not a component
    assert xlsx.ref == "SPDXRef-xlsx"
    assert (xlsx.name, xlsx.version, xlsx.supplier) == ("xlsx", "0.16.6", "Webjar")
    assert xlsx.purl == "pkg:maven/org.webjars.npm/xlsx@0.16.6"
    assert xlsx.cpe is None  # the SECURITY ref is an advisory link, not a CPE
    assert xlsx.hashes == (("SHA1", "8f2715fa4ea3619b08615aa8f57828a80e6eb703"),)


def test_spdx_22_tag_value_packages_purl_and_cpe() -> None:
    sbom = read_spdx(SBOM / "spdx-2.2-example6-lib-with-refs.spdx")
    assert sbom.format == "SPDX 2.2"
    assert (sbom.name, sbom.version, sbom.supplier) == ("go-1.15", "1.15.4", "Canonical Ltd.")
    assert sbom.serial == "https://swinslow.net/spdx-examples/example6/go-lib-v2"
    refs = [c.ref for c in sbom.components]
    assert refs == ["SPDXRef-Package-go-compiler", "SPDXRef-Package-go.fmt", "SPDXRef-Package-go.reflect",
                    "SPDXRef-Package-go.strconv"]  # fmt: skip
    fmt = sbom.components[1]
    assert fmt.purl == "pkg:golang/fmt@1.15.4"
    assert fmt.cpe == "cpe:2.3:a:golang:go:1.15.4:*:*:*:*:*:*:*"
    assert fmt.supplier is None  # not stated
    assert sbom.components[0].hashes[0][0] == "SHA256"


def _write(tmp_path: Path, document: dict[str, object]) -> Path:
    path = tmp_path / "doc.spdx.json"
    path.write_text(json.dumps(document))
    return path


def test_described_by_relationship_underscore_category_and_purpose(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "spdxVersion": "SPDX-2.3",
            "SPDXID": "SPDXRef-DOCUMENT",
            "packages": [
                {"SPDXID": "SPDXRef-lib", "name": "zlib", "versionInfo": "1.2.11", "supplier": "NOASSERTION",
                 "originator": "Person: Jean-loup Gailly", "primaryPackagePurpose": "LIBRARY",
                 "externalRefs": [{"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl",
                                   "referenceLocator": "pkg:generic/zlib@1.2.11"}]},
                {"SPDXID": "SPDXRef-fw", "name": "pump-firmware", "versionInfo": "4.2",
                 "primaryPackagePurpose": "FIRMWARE"},
            ],
            "relationships": [
                {"spdxElementId": "SPDXRef-fw", "relationshipType": "DESCRIBED_BY",
                 "relatedSpdxElement": "SPDXRef-DOCUMENT"},
            ],
        },
    )  # fmt: skip
    sbom = read_spdx(path)
    assert (sbom.name, sbom.version) == ("pump-firmware", "4.2")
    (zlib,) = sbom.components
    assert (zlib.purl, zlib.supplier, zlib.type) == ("pkg:generic/zlib@1.2.11", "Jean-loup Gailly", "library")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"spdxVersion": "SPDX-2.3", "packages": [{"SPDXID": "SPDXRef-a"}]}, r"packages\[0\]\.name: is missing"),
        ({"spdxVersion": "SPDX-3.0"}, "'SPDX-3.0' is not SPDX 2.x"),
        (
            {"spdxVersion": "SPDX-2.3", "packages": [{"SPDXID": "SPDXRef-a", "name": "a", "externalRefs": [
                {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:/a:x:y"}]}]},
            r"packages\[0\]\.externalRefs\[0\]\.referenceLocator: 'cpe:/a:x:y' is not a CPE 2.3",
        ),
    ],
)  # fmt: skip
def test_bad_json_elements_are_named(tmp_path: Path, document: dict[str, object], message: str) -> None:
    with pytest.raises(IngestError, match=message):
        read_spdx(_write(tmp_path, document))


def test_wrong_format_truncation_and_size(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not an SPDX 2 document: it looks like a CycloneDX 1.4 JSON BOM"):
        read_spdx(SBOM / "narrow.sbom.json")
    with pytest.raises(IngestError, match="it looks like a CycloneDX XML BOM"):
        read_spdx(SBOM / "cdx-cern-lhc-vdm-editor.xml")
    spdx3 = _write(tmp_path, {"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []})
    with pytest.raises(IngestError, match="looks like an SPDX 3 JSON-LD document"):
        read_spdx(spdx3)
    cut = tmp_path / "cut.spdx"
    cut.write_text("SPDXVersion: SPDX-2.2\nPackageName: a\nSPDXID: SPDXRef-a\nPackageComment: <text>half a comm")
    with pytest.raises(IngestError, match="never closed"):
        read_spdx(cut)
    with pytest.raises(IngestError, match="over the 100-byte limit"):
        read_spdx(SBOM / "spdx-2.3-sbom-with-security.json", max_bytes=100)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data folder not present")
def test_every_shared_spdx2_example_loads_and_spdx3_is_refused_clearly() -> None:
    files = sorted(f for f in SHARED.rglob("*") if f.suffix in (".json", ".spdx"))
    spdx2 = [f for f in files if "spdx3" not in f.as_posix()]  # SPDX 3 examples live in spdx3.0/ folders
    assert len(spdx2) >= 29
    for file in spdx2:
        assert read_spdx(file).format in ("SPDX 2.2", "SPDX 2.3")
    for file in set(files) - set(spdx2):
        with pytest.raises(IngestError, match="SPDX 3"):
            read_spdx(file)
