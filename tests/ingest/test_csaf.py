"""CSAF 2.0 reader: real CISA medical advisories and OASIS VEX examples (see tests/fixtures/intel/csaf/README.md)."""

from __future__ import annotations

import copy
import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wardwatch.domain.intel import (
    AdvisoryProduct,
    Cvss,
    ProductStatus,
    Remediation,
    RemediationCategory,
    VexStatement,
    VexStatus,
)
from wardwatch.ingest.csaf import CsafConfig, read_csaf, read_csaf_many, vex_statements
from wardwatch.ingest.errors import IngestError

CSAF = Path(__file__).parent.parent / "fixtures" / "intel" / "csaf"
ALARIS_PCU = CSAF / "icsma-20-170-06.json"
ALARIS_8015 = CSAF / "icsma-17-017-02.json"
SEC_VEX = CSAF / "sec-vex-2022-0001.json"
VEX_MULTI = CSAF / "2022-evd-uc-03-ms-001.json"
RHSA = CSAF / "rhsa-2021_5186.json"
SHARED = Path("/work/shared/data/cisa-csaf")
BD = "Becton, Dickinson and Company (BD)"


def write(tmp_path: Path, doc: object, name: str = "doc.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def alaris_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(ALARIS_PCU.read_text(encoding="utf-8"))
    return doc


# --- real advisories -----------------------------------------------------------------------------------------


def test_bd_alaris_pc_unit_advisory() -> None:
    advisory = read_csaf(ALARIS_PCU)

    assert advisory.id == "ICSMA-20-170-06"
    assert advisory.title == "BD Alaris PCU (Update A)"
    assert advisory.publisher == "CISA"
    assert advisory.category == "csaf_security_advisory"
    assert advisory.version == "2"
    assert advisory.initial_release == datetime(2020, 6, 18, tzinfo=UTC)
    assert advisory.current_release == datetime(2020, 6, 23, tzinfo=UTC)
    assert advisory.products == (
        AdvisoryProduct(
            product_id="CSAFPID-0001",
            vendor=BD,
            name="Alaris PC Unit",
            version="9.13 | 9.19 | 9.33 | 12.1",
            full_name="Alaris PC Unit: Versions 9.13 9.19 9.33 and 12.1",
        ),
    )
    assert [r.url for r in advisory.references][:2] == [
        "https://raw.githubusercontent.com/cisagov/CSAF/develop/csaf_files/OT/white/2020/icsma-20-170-06.json",
        "https://www.cisa.gov/news-events/ics-medical-advisories/icsma-20-170-06",
    ]
    assert advisory.references[0].tags == ("self",)

    (vuln,) = advisory.vulnerabilities
    assert vuln.cve == "CVE-2019-11479"
    assert vuln.cwes == ("CWE-400",)
    assert vuln.status == {ProductStatus.KNOWN_AFFECTED: ("CSAFPID-0001",)}
    assert vuln.cvss == (
        (Cvss("3.0", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3, source="ICSMA-20-170-06"), ("CSAFPID-0001",)),
    )
    assert vuln.remediations[1] == Remediation(
        category=RemediationCategory.VENDOR_FIX,
        details="For more information on this issue, please see the associated BD product security bulletin on the "
        "BD website.",
        product_ids=("CSAFPID-0001",),
        url="https://www.bd.com/en-us/support/product-security-and-privacy/product-security-bulletins/"
        "third-party-product-security-bulletin-for-linux-kernel-vulnerability-within-wi-fi-module-in-alaris-pcu",
    )
    assert vuln.notes[0].startswith("The affected products incorporate a vulnerable Linux kernel")


def test_bd_alaris_8015_version_ranges_kept_as_published() -> None:
    advisory = read_csaf(ALARIS_8015)

    assert advisory.id == "ICSMA-17-017-02"
    assert [(p.product_id, p.vendor, p.name, p.version) for p in advisory.products] == [
        ("CSAFPID-0001", BD, "Alaris 8015 PC unit", "9.7"),
        ("CSAFPID-0002", BD, "Alaris 8015 PC unit", "<= 9.33"),
        ("CSAFPID-0003", BD, "Alaris 8015 PC unit", "<= 9.5"),
    ]
    assert advisory.products[1].full_name == "Alaris 8015 PC unit: Versions 9.33 and prior"
    assert [v.cve for v in advisory.vulnerabilities] == ["CVE-2016-8375", "CVE-2016-9355"]
    assert [v.cwes for v in advisory.vulnerabilities] == [("CWE-522",), ("CWE-284",)]
    assert [[(c.vector, c.base_score) for c, _ in v.cvss] for v in advisory.vulnerabilities] == [
        [("CVSS:3.0/AV:P/AC:H/PR:N/UI:N/S:C/C:H/I:N/A:N", 4.9)],
        [("CVSS:3.0/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8)],
    ]
    every = ("CSAFPID-0001", "CSAFPID-0002", "CSAFPID-0003")
    assert all(v.status == {ProductStatus.KNOWN_AFFECTED: every} for v in advisory.vulnerabilities)
    end_of_life = advisory.vulnerabilities[0].remediations[1]
    assert end_of_life.category is RemediationCategory.VENDOR_FIX
    assert end_of_life.details.startswith("All Alaris System software versions less than 9.19 are end of life.")
    assert end_of_life.product_ids == every
    assert advisory.vulnerabilities[0].remediations[3].url == (
        "http://www.bd.com/en-us/support/product-security-and-privacy/"
        "product-security-bulletin-for-alaris-pc-unit-model-8015-update"
    )


def test_product_family_cpe_and_relationship_products() -> None:
    advisory = read_csaf(RHSA)
    by_id = {p.product_id: p for p in advisory.products}

    platform = by_id["8Base-RHOSE-4.6"]
    assert (platform.vendor, platform.name, platform.version) == (
        "Red Hat",
        "Red Hat OpenShift Container Platform 4.6",
        None,
    )
    assert platform.cpe == "cpe:/a:redhat:openshift:4.6::el8"
    component = "openshift4/ose-metering-hive:v4.6.0-202112160147.p0.gf139e12.assembly.stream"
    composite = by_id[f"8Base-RHOSE-4.6:{component}"]
    assert composite.full_name == f"{component} as a component of Red Hat OpenShift Container Platform 4.6"
    assert (composite.vendor, composite.version) == ("Red Hat", component)  # the component's branch path
    vuln = advisory.vulnerabilities[0]
    assert set(vuln.status) == {ProductStatus.FIXED, ProductStatus.KNOWN_NOT_AFFECTED}
    assert f"8Base-RHOSE-4.6:{component}" in vuln.status[ProductStatus.FIXED]


def test_product_groups_full_product_names_and_cvss_v2(tmp_path: Path) -> None:
    doc = alaris_doc()
    doc["product_tree"]["full_product_names"] = [
        {
            "name": "Alaris Gateway Workstation 1.6.1",
            "product_id": "AGW-161",
            "product_identification_helper": {"purl": "pkg:generic/bd/agw@1.6.1", "model_numbers": ["8000"]},
        }
    ]
    doc["product_tree"]["product_groups"] = [{"group_id": "G-ALL", "product_ids": ["CSAFPID-0001", "AGW-161"]}]
    vuln = doc["vulnerabilities"][0]
    vuln["remediations"] = [{"category": "workaround", "details": "Segment the pumps.", "group_ids": ["G-ALL"]}]
    vuln["flags"] = [{"label": "vulnerable_code_not_present", "group_ids": ["G-ALL", "G-UNKNOWN"]}]
    vuln["threats"] = [{"category": "exploit_status", "details": "None known.", "group_ids": ["G-ALL"]}]
    vuln["scores"] = [
        {
            "products": ["AGW-161"],
            "cvss_v2": {"version": "2.0", "vectorString": "AV:N/AC:L/Au:N/C:N/I:N/A:P", "baseScore": 5.0},
        }
    ]
    advisory = read_csaf(write(tmp_path, doc))

    assert advisory.products[1] == AdvisoryProduct(
        product_id="AGW-161",
        vendor=None,
        name=None,
        version=None,
        full_name="Alaris Gateway Workstation 1.6.1",
        purls=("pkg:generic/bd/agw@1.6.1",),
        model_numbers=("8000",),
    )
    (parsed,) = advisory.vulnerabilities
    assert parsed.remediations[0].product_ids == ("CSAFPID-0001", "AGW-161")
    assert parsed.flags == (("vulnerable_code_not_present", ("CSAFPID-0001", "AGW-161")),)
    assert parsed.threats == (("exploit_status", "None known.", ("CSAFPID-0001", "AGW-161")),)
    assert parsed.cvss == ((Cvss("2.0", "AV:N/AC:L/Au:N/C:N/I:N/A:P", 5.0, source="ICSMA-20-170-06"), ("AGW-161",)),)


def test_cvss3_vector_without_prefix_gets_it(tmp_path: Path) -> None:
    doc = alaris_doc()
    doc["vulnerabilities"][0]["scores"][0]["cvss_v3"]["vectorString"] = "AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"
    (vuln,) = read_csaf(write(tmp_path, doc)).vulnerabilities
    assert vuln.cvss[0][0].vector == "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"


def test_read_many_reports_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    batch = read_csaf_many([ALARIS_PCU, bad, ALARIS_8015])
    assert [a.id for a in batch.advisories] == ["ICSMA-20-170-06", "ICSMA-17-017-02"]
    assert [e.path for e in batch.failed] == [str(bad)]


# --- VEX -----------------------------------------------------------------------------------------------------


def test_vex_not_affected_takes_the_flag_label_as_justification() -> None:
    advisory = read_csaf(SEC_VEX)
    assert advisory.category == "csaf_vex"
    statements = vex_statements(advisory)
    assert [s.vulnerability for s in statements] == ["CVE-2021-44228", "CVE-2021-45046", "CVE-2021-45105"]
    assert statements[0] == VexStatement(
        vulnerability="CVE-2021-44228",
        product="CSAFPID-0001",
        status=VexStatus.NOT_AFFECTED,
        justification="component_not_present",
        impact="Secvisogram is written in JavaScript. No Java is included.",
        author="Secvisogram",
        timestamp=datetime(2022, 5, 27, 10, tzinfo=UTC),
    )


def test_vex_all_four_statuses() -> None:
    advisory = read_csaf(VEX_MULTI)
    statements = {s.vulnerability: s for s in vex_statements(advisory)}

    assert len(statements) == 19
    counts = {status: sum(s.status is status for s in statements.values()) for status in VexStatus}
    assert counts == {
        VexStatus.NOT_AFFECTED: 6,
        VexStatus.AFFECTED: 5,
        VexStatus.FIXED: 3,
        VexStatus.UNDER_INVESTIGATION: 5,
    }
    affected = statements["CVE-2020-11898"]
    assert affected.status is VexStatus.AFFECTED
    assert affected.action == "We are working to integrate the upstream patches in our code."
    assert statements["CVE-2020-11901"].status is VexStatus.FIXED
    assert statements["CVE-2020-11901"].fixed_version == "17.4"
    not_affected = statements["CVE-2020-11897"]
    assert (not_affected.status, not_affected.justification) == (VexStatus.NOT_AFFECTED, None)
    assert not_affected.impact == "IPv6 is not supported and code is not present."
    assert statements["CVE-2020-11896"].status is VexStatus.UNDER_INVESTIGATION


def test_vex_on_a_security_advisory_gives_affected_with_remediations() -> None:
    statements = vex_statements(read_csaf(ALARIS_PCU))
    assert [(s.vulnerability, s.product, s.status) for s in statements] == [
        ("CVE-2019-11479", "CSAFPID-0001", VexStatus.AFFECTED)
    ]
    assert statements[0].action is not None
    assert statements[0].action.splitlines()[0] == (
        "BD recommends the following to help reduce the risks associated with this third-party vulnerability:"
    )


# --- bad and hostile input -----------------------------------------------------------------------------------


def error_of(path: Path, config: CsafConfig | None = None) -> IngestError:
    with pytest.raises(IngestError) as info:
        read_csaf(path, config)
    assert info.value.path == str(path)
    return info.value


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "truncated.json"
    path.write_bytes(ALARIS_PCU.read_bytes()[:4000])
    error = error_of(path)
    assert "is not valid JSON" in error.message
    assert error.row is not None


def test_not_csaf(tmp_path: Path) -> None:
    cyclonedx = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}
    assert "is not a CSAF document" in error_of(write(tmp_path, cyclonedx)).message
    assert "is not a CSAF document" in error_of(write(tmp_path, [1, 2, 3], "list.json")).message


def test_wrong_category_type_names_the_json_path(tmp_path: Path) -> None:
    doc = alaris_doc()
    doc["document"]["category"] = 7
    error = error_of(write(tmp_path, doc))
    assert error.message.startswith("$.document.category: Input should be a valid string")
    assert "$.document.category" in str(error)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda d: d["vulnerabilities"][0]["remediations"][0].update(category="fix_someday"),
            "$.vulnerabilities[0].remediations[0].category",
        ),
        (
            lambda d: d["product_tree"]["branches"][0]["branches"][0]["branches"][0]["product"].pop("product_id"),
            "$.product_tree.branches[0].branches[0].branches[0].product.product_id",
        ),
        (
            lambda d: d["document"]["tracking"].update(current_release_date="2020-06-23T00:00:00"),
            "$.document.tracking.current_release_date",
        ),
        (
            lambda d: d["vulnerabilities"][0]["scores"][0]["cvss_v3"].pop("vectorString"),
            "$.vulnerabilities[0].scores[0].cvss_v3.vectorString",
        ),
    ],
)
def test_schema_errors_name_the_json_path(tmp_path: Path, change: Any, path: str) -> None:
    doc = copy.deepcopy(alaris_doc())
    change(doc)
    assert error_of(write(tmp_path, doc)).message.startswith(f"{path}: ")


def test_unsupported_csaf_version(tmp_path: Path) -> None:
    doc = alaris_doc()
    doc["document"]["csaf_version"] = "1.2"
    assert "$.document.csaf_version" in error_of(write(tmp_path, doc)).message


def test_deep_nesting(tmp_path: Path) -> None:
    doc = alaris_doc()
    branch: dict[str, Any] = {"category": "product_version", "name": "1", "product": {"name": "x", "product_id": "X"}}
    for _ in range(200):
        branch = {"category": "product_name", "name": "n", "branches": [branch]}
    doc["product_tree"]["branches"] = [branch]
    assert "nested deeper than 64 levels" in error_of(write(tmp_path, doc)).message


def test_nesting_beyond_the_json_parser(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert "nested" in error_of(path).message


def test_size_cap(tmp_path: Path) -> None:
    assert "is larger than 1000 bytes" in error_of(ALARIS_PCU, CsafConfig(max_bytes=1000)).message


def test_reference_expansion_cap(tmp_path: Path) -> None:
    doc = alaris_doc()
    doc["product_tree"]["product_groups"] = [{"group_id": "G", "product_ids": [f"P{i}" for i in range(1000)]}]
    doc["vulnerabilities"][0]["remediations"] = [{"category": "mitigation", "details": "x", "group_ids": ["G"]}] * 50
    error = error_of(write(tmp_path, doc), CsafConfig(max_references=10_000))
    assert error.message.startswith("expands to more than 10000 product references")
    assert "$.vulnerabilities[0].remediations[" in error.message


def test_empty_missing_and_binary_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert error_of(empty).message == "is empty"
    assert error_of(tmp_path / "absent.json").message == "no such file"
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00{\x80")
    assert error_of(binary).message.startswith("is not")


# --- the official validator agrees the fixtures are CSAF 2.0 -------------------------------------------------


def test_fixture_passes_the_csaf_validator() -> None:
    validator = pytest.importorskip("csaf.csaf.v20._validator")
    for path in (ALARIS_PCU, SEC_VEX):
        report = validator.validate(json.loads(path.read_text(encoding="utf-8")), path=str(path))
        assert report.overall_valid, [r for r in report.results if not r.passed and not r.skipped]


# --- every CISA medical advisory -----------------------------------------------------------------------------


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs the shared CISA CSAF corpus")
def test_all_cisa_medical_advisories_match_the_derived_index() -> None:
    with (SHARED / "_derived_icsma_index.csv").open(encoding="utf-8", newline="") as f:
        index = {row["file"]: row for row in csv.DictReader(f)}
    icsma = sorted((SHARED / "icsma").glob("*.json"))
    assert len(icsma) == len(index) == 144

    batch = read_csaf_many(icsma)
    assert batch.failed == ()
    assert len(batch.advisories) == 144
    for path, advisory in zip(icsma, batch.advisories, strict=True):
        row = index[path.name]
        assert advisory.id == row["advisory_id"], path.name
        assert {v.cve for v in advisory.vulnerabilities} == set(row["cves"].split(";")), path.name
        vendors = {p.vendor for p in advisory.products}
        assert row["vendors"] in vendors or set(row["vendors"].split(";")) <= vendors, path.name
        assert len({(p.vendor, p.name) for p in advisory.products}) == int(row["n_products"]), path.name
        assert all(p.version for p in advisory.products), path.name
        v3 = [c.base_score for v in advisory.vulnerabilities for c, _ in v.cvss if c.version.startswith("3")]
        if row["max_cvss_v3"]:
            assert max(s for s in v3 if s is not None) == float(row["max_cvss_v3"]), path.name
        assert advisory.initial_release is not None
        assert advisory.initial_release.date().isoformat() == row["initial_release"], path.name
        for vuln in advisory.vulnerabilities:
            defined = {p.product_id for p in advisory.products}
            assert {i for ids in vuln.status.values() for i in ids} <= defined, path.name

    sample = sorted((SHARED / "icsa-sample").glob("*.json"))
    batch = read_csaf_many(sample)
    assert batch.failed == ()
    for path, advisory in zip(sample, batch.advisories, strict=True):
        raw = json.loads(path.read_text(encoding="utf-8"))
        assert {v.cve for v in advisory.vulnerabilities} == {v.get("cve") for v in raw["vulnerabilities"]}
        assert advisory.products, path.name
