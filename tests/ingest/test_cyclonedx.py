"""Reading CycloneDX BOMs: the real medical-device SBOMs, VEX per (vulnerability, component), XML safety."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wardwatch.domain.intel import VexStatus
from wardwatch.ingest.cyclonedx import read_cyclonedx
from wardwatch.ingest.errors import IngestError

SBOM = Path(__file__).parents[1] / "fixtures" / "intel" / "sbom"
SHARED = Path(__file__).parents[3] / "shared" / "data" / "sbom"


def test_real_medical_device_sboms_load_with_every_component() -> None:
    extended = read_cyclonedx(SBOM / "extended.sbom.json")
    narrow = read_cyclonedx(SBOM / "narrow.sbom.json")
    assert len(extended.components) == 65
    assert len(narrow.components) == 55
    assert extended.format == "CycloneDX 1.4"
    assert extended.created == datetime(2025, 7, 23, 20, 23, 25, 191246, tzinfo=UTC)
    assert extended.serial is not None and extended.serial.startswith("urn:uuid:")
    wolfssl = next(c for c in narrow.components if c.name == "WolfSSL")
    assert wolfssl.version == "4.8.1"
    assert wolfssl.purl == "pkg:github/wolfssl/wolfssl"
    assert wolfssl.cpe == "cpe:2.3:a:wolfssl:wolfssl:4.8.1:*:*:*:*:*:*:*"
    assert wolfssl.supplier == "wolfSSL"  # from publisher
    assert wolfssl.type == "firmware"
    freertos = next(c for c in extended.components if c.name == "FreeRTOS")
    assert freertos.ref == "BomRef.9740521717940234.4029744837037744"
    assert freertos.cpe == "cpe:2.3:o:amazon:freertos:10.0.1:*:*:*:-:*:*:*"
    unifi = next(c for c in extended.components if c.name == "UniFi Network Application")
    assert unifi.purl == "pkg:generic/unifi_network_application@8.3.32"
    edgerouter = next(c for c in extended.components if c.name == "EdgeRouter X")
    assert edgerouter.version is None  # published as "": missing, not a version
    assert extended.vex == ()


def test_vex_is_per_vulnerability_and_component_never_per_vulnerability() -> None:
    # Case 13: one CVE; products 1 and 2 not affected, product 3 exploitable (Dependency-Track #3554).
    sbom = read_cyclonedx(SBOM / "cdx-vex-case-13.json")
    assert sbom.components == ()
    by_product = {s.product.rpartition("#")[2]: s for s in sbom.vex}
    assert len(sbom.vex) == 3
    assert {s.vulnerability for s in sbom.vex} == {"CVE-2020-25649"}
    assert by_product["acme-product-1"].status is VexStatus.NOT_AFFECTED
    assert by_product["acme-product-2"].status is VexStatus.NOT_AFFECTED
    assert by_product["acme-product-3"].status is VexStatus.AFFECTED
    # standalone VEX: the ref text is kept whole so matching can resolve the serial/version
    assert by_product["acme-product-3"].product.startswith("urn:cdx:")
    assert by_product["acme-product-1"].justification == "code_not_reachable"


def test_standalone_cisa_vex_maps_every_state_and_fixed_version() -> None:
    sbom = read_cyclonedx(SBOM / "cdx-vex-cisa-case-7.json")
    pairs = [(s.product.rpartition("#")[2], s.status) for s in sbom.vex]
    assert pairs == [
        ("product-ABC", VexStatus.AFFECTED),
        ("product-JKL", VexStatus.AFFECTED),
        ("product-ABC", VexStatus.NOT_AFFECTED),
        ("product-JKL", VexStatus.NOT_AFFECTED),
        ("product-JKL", VexStatus.FIXED),
    ]
    fixed = sbom.vex[-1]
    assert fixed.fixed_version == "5.1"
    assert sbom.vex[0].action == "will_not_fix, update"
    assert sbom.vex[0].impact is not None and sbom.vex[0].impact.startswith("Versions of Products ABC and JKL")


def test_json_and_xml_of_one_bom_agree() -> None:
    xml = read_cyclonedx(SBOM / "cdx-cern-lhc-vdm-editor.xml")
    assert xml.format == "CycloneDX 1.2"
    assert len(xml.components) == 43
    assert xml.name == "lhc-vdm-editor"
    assert all(c.purl and c.purl.startswith("pkg:") for c in xml.components)
    assert any(c.hashes for c in xml.components)


def _bom(tmp_path: Path, document: object, name: str = "bom.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_nested_components_hashes_and_product_supplier(tmp_path: Path) -> None:
    path = _bom(
        tmp_path,
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "metadata": {
                "component": {"type": "device", "name": "Infusion Pump", "version": "9.19"},
                "manufacturer": {"name": "PumpCo"},
            },
            "components": [
                {
                    "bom-ref": "os",
                    "type": "operating-system",
                    "name": "linux",
                    "version": "5.10",
                    "supplier": {"name": "Kernel.org"},
                    "components": [
                        {
                            "bom-ref": "ssl",
                            "name": "openssl",
                            "version": "1.1.1k",
                            "purl": "pkg:generic/openssl@1.1.1k",
                            "authors": [{"name": "OpenSSL Project"}],
                            "hashes": [{"alg": "SHA-256", "content": "ab" * 32}],
                        }
                    ],
                }
            ],
            "vulnerabilities": [
                {
                    "id": "CVE-2021-3711",
                    "analysis": {"state": "false_positive", "lastUpdated": "2024-05-01T00:00:00Z"},
                    "affects": [{"ref": "ssl"}, {"ref": "os"}],
                },
                {"id": "CVE-2021-9999", "affects": [{"ref": "ssl"}]},  # no analysis: not a VEX statement
            ],
        },
    )
    sbom = read_cyclonedx(path)
    assert (sbom.name, sbom.version, sbom.supplier) == ("Infusion Pump", "9.19", "PumpCo")
    assert [c.ref for c in sbom.components] == ["os", "ssl"]
    assert sbom.components[0].supplier == "Kernel.org"
    assert sbom.components[1].supplier == "OpenSSL Project"
    assert sbom.components[1].hashes == (("SHA-256", "ab" * 32),)
    assert [(s.product, s.status) for s in sbom.vex] == [
        ("ssl", VexStatus.NOT_AFFECTED),
        ("os", VexStatus.NOT_AFFECTED),
    ]
    assert sbom.vex[0].timestamp == datetime(2024, 5, 1, tzinfo=UTC)


XML_VEX = """<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6"
     serialNumber="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79" version="1">
  <metadata><supplier><name>PumpCo</name></supplier></metadata>
  <components>
    <component type="library" bom-ref="lib-a"><name>a</name><version>1.0</version>
      <hashes><hash alg="SHA-1">da39a3ee5e6b4b0d3255bfef95601890afd80709</hash></hashes>
      <components><component type="library" bom-ref="lib-b"><name>b</name></component></components>
    </component>
  </components>
  <vulnerabilities>
    <vulnerability bom-ref="v1">
      <id>CVE-2024-1111</id>
      <analysis><state>resolved</state><responses><response>update</response></responses></analysis>
      <affects><target><ref>lib-a</ref><versions><version><version>1.1</version><status>unaffected</status></version></versions></target></affects>
    </vulnerability>
    <vulnerability><id>CVE-2024-1111</id><analysis><state>in_triage</state></analysis>
      <affects><target><ref>lib-b</ref></target></affects></vulnerability>
  </vulnerabilities>
</bom>
"""


def test_xml_vex_and_nested_components(tmp_path: Path) -> None:
    path = tmp_path / "bom.xml"
    path.write_text(XML_VEX)
    sbom = read_cyclonedx(path)
    assert sbom.format == "CycloneDX 1.6"
    assert sbom.serial == "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    assert [c.ref for c in sbom.components] == ["lib-a", "lib-b"]
    assert sbom.components[0].hashes == (("SHA-1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),)
    assert [(s.product, s.status, s.fixed_version, s.action) for s in sbom.vex] == [
        ("lib-a", VexStatus.FIXED, "1.1", "update"),
        ("lib-b", VexStatus.UNDER_INVESTIGATION, None, None),
    ]
    assert sbom.vex[0].author == "PumpCo"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE bom [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components><component type="library">
<name>&lol9;</name></component></components></bom>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components><component type="library">
<name>&xxe;</name></component></components></bom>
"""


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_hostile_xml_is_refused_not_expanded(tmp_path: Path, text: str) -> None:
    path = tmp_path / "evil.xml"
    path.write_text(text)
    with pytest.raises(IngestError, match="DTD or entity declaration") as caught:
        read_cyclonedx(path)
    assert "lol" not in str(caught.value) and "root:" not in str(caught.value)


def test_deeply_nested_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.5", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(IngestError, match="nested too deeply"):
        read_cyclonedx(path)


def test_deeply_nested_components_are_refused(tmp_path: Path) -> None:
    component: dict[str, object] = {"name": "leaf"}
    for depth in range(100):
        component = {"name": f"level{depth}", "components": [component]}
    path = _bom(tmp_path, {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [component]})
    with pytest.raises(IngestError, match="nested over 64 levels"):
        read_cyclonedx(path)


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = _bom(tmp_path, {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []})
    with pytest.raises(IngestError, match="over the 10-byte limit"):
        read_cyclonedx(path, max_bytes=10)


def test_truncated_files_name_the_place(tmp_path: Path) -> None:
    text = (SBOM / "narrow.sbom.json").read_text()
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2])
    with pytest.raises(IngestError, match=r"cut\.json: the file is not valid JSON at line \d+"):
        read_cyclonedx(path)
    xml = tmp_path / "cut.xml"
    xml.write_text(XML_VEX[:300])
    with pytest.raises(IngestError, match="not well-formed XML at line"):
        read_cyclonedx(xml)


def test_wrong_format_says_what_it_looks_like() -> None:
    with pytest.raises(IngestError, match="not a CycloneDX BOM: it looks like an SPDX 2.3 JSON document"):
        read_cyclonedx(SBOM / "spdx-2.3-sbom-with-security.json")
    with pytest.raises(IngestError, match="it looks like an SPDX 2.2 tag-value document"):
        read_cyclonedx(SBOM / "spdx-2.2-example6-lib-with-refs.spdx")
    with pytest.raises(IngestError, match="it looks like an OpenVEX document"):
        read_cyclonedx(SBOM / "openvex-example.json")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"components": [{"type": "library"}]}, r"element components\[0\]\.name: is missing"),
        ({"components": [{"name": "x", "purl": "not-a-purl"}]}, r"components\[0\]\.purl: 'not-a-purl' is not a valid"),
        ({"components": {"name": "x"}}, "element components: should be an array, not an object"),
        (
            {"vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "maybe"}, "affects": [{"ref": "x"}]}]},
            r"vulnerabilities\[0\]\.analysis\.state: 'maybe' is not a CycloneDX analysis state",
        ),
        ({"specVersion": "2.0"}, "element specVersion: '2.0' is not a CycloneDX 1.x version"),
    ],
)
def test_bad_elements_are_named(tmp_path: Path, change: dict[str, object], message: str) -> None:
    path = _bom(tmp_path, {"bomFormat": "CycloneDX", "specVersion": "1.5", **change})
    with pytest.raises(IngestError, match=message):
        read_cyclonedx(path)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data folder not present")
def test_every_shared_cyclonedx_example_loads() -> None:
    files = sorted(SHARED.glob("cyclonedx-bom-examples/**/*.json")) + sorted(
        SHARED.glob("cyclonedx-bom-examples/**/*.xml")
    )
    files += sorted(SHARED.glob("medical-device-casestudy/*.json"))
    assert len(files) > 60
    statements = 0
    for file in files:
        statements += len(read_cyclonedx(file).vex)  # raises on any failure
    assert statements > 100
