"""CVE JSON 5.x reader: real CNA and CISA-ADP (vulnrichment) content, and hostile input."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from wardwatch.domain.intel import Cvss, Reference
from wardwatch.ingest.cve5 import iter_cve5_dir, read_cve5, read_cve5_dir
from wardwatch.ingest.errors import IngestError

CVE5 = Path(__file__).parent.parent / "fixtures" / "intel" / "cve5"
SHARED = Path("/work/shared/data/cve-records")


def test_mirth_connect_adp_ssvc_kev_cvss() -> None:
    record = read_cve5(CVE5 / "CVE-2023-43208.json")
    assert record.id == "CVE-2023-43208"
    assert record.source == "cve5"
    assert record.status == "PUBLISHED"
    assert record.description is not None and record.description.startswith("NextGen Healthcare Mirth Connect")
    assert record.ssvc == {"Exploitation": "active", "Automatable": "yes", "Technical Impact": "total"}
    assert record.kev_date_added == date(2024, 5, 20)
    assert record.cvss == (Cvss("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, source="CISA-ADP"),)
    assert record.cwes == ("CWE-502",)  # from the ADP's problemTypes; the CNA's is text "n/a"
    assert record.published == datetime(2023, 10, 26, tzinfo=UTC)  # written without an offset
    assert record.modified == datetime(2024, 8, 2, 19, 37, 23, 378_000, tzinfo=UTC)
    assert record.affected == (("n/a", "n/a", "n/a"),)
    # The CVE Program ADP repeats the CNA's links with a tag: one reference each, tags merged.
    assert record.references[0] == Reference(
        "https://www.horizon3.ai/nextgen-mirth-connect-remote-code-execution-vulnerability-cve-2023-43208/",
        ("x_transferred",),
    )
    assert len(record.references) == 2
    assert record.configurations == ()


def test_microdicom_cvss4_and_range() -> None:
    record = read_cve5(CVE5 / "CVE-2024-33606.json")
    assert Cvss("4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.6, "icscert") in record.cvss
    assert Cvss("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8, "icscert") in record.cvss
    assert record.affected == (("MicroDicom", "DICOM Viewer", ">= 0, < 2024.2"),)
    assert record.ssvc == {"Exploitation": "none", "Automatable": "no", "Technical Impact": "total"}
    assert record.kev_date_added is None
    assert record.cwes == ("CWE-939",)
    assert record.published == datetime(2024, 6, 11, 20, 17, 57, 49_000, tzinfo=UTC)


def test_bluekeep_without_adp() -> None:
    record = read_cve5(CVE5 / "CVE-2019-0708.json")
    assert record.ssvc == {} and record.kev_date_added is None and record.cvss == ()
    assert ("Microsoft", "Windows", "7 for x64-based Systems Service Pack 1") in record.affected
    assert record.published is not None and record.published.tzinfo is UTC


def test_read_dir_reads_only_cve_files(tmp_path: Path) -> None:
    for name in ("CVE-2023-43208.json", "CVE-2024-33606.json"):
        target = tmp_path / "2023" / name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(CVE5 / name, target)
    (tmp_path / "delta.json").write_text('{"new": []}')  # cvelistV5 bookkeeping, not a record
    assert [r.id for r in read_cve5_dir(tmp_path)] == ["CVE-2023-43208", "CVE-2024-33606"]


def test_read_dir_fails_whole_on_a_bad_file(tmp_path: Path) -> None:
    shutil.copy(CVE5 / "CVE-2023-43208.json", tmp_path / "CVE-2023-43208.json")
    (tmp_path / "CVE-2024-0001.json").write_text("{")
    with pytest.raises(IngestError, match="CVE-2024-0001.json"):
        read_cve5_dir(tmp_path)
    with pytest.raises(IngestError, match="is not a folder"):
        list(iter_cve5_dir(tmp_path / "absent"))


def test_gzip_record(tmp_path: Path) -> None:
    path = tmp_path / "CVE-2023-43208.json.gz"
    path.write_bytes(gzip.compress((CVE5 / "CVE-2023-43208.json").read_bytes()))
    assert read_cve5(path) == read_cve5(CVE5 / "CVE-2023-43208.json")


def _record(**cna: object) -> dict[str, object]:
    return {
        "dataType": "CVE_RECORD",
        "dataVersion": "5.1",
        "cveMetadata": {"cveId": "CVE-2099-0001", "state": "PUBLISHED", "datePublished": "2099-01-01T00:00:00Z"},
        "containers": {"cna": {"providerMetadata": {"orgId": "x", "shortName": "acme"}, **cna}},
    }


def test_affected_ranges_and_default_status(tmp_path: Path) -> None:
    affected = [
        {
            "vendor": "Acme",
            "product": "Pump",
            "versions": [
                {"version": "5.0", "lessThanOrEqual": "5.4.11", "status": "affected", "versionType": "custom"},
                {"version": "6.0", "lessThan": "*", "status": "affected"},
                {"version": "5.4.12", "status": "unaffected"},
            ],
        },
        {"vendor": "Acme", "product": "Monitor", "defaultStatus": "affected"},
        {"vendor": "Acme", "product": "Gateway", "defaultStatus": "unaffected"},
    ]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_record(affected=affected)))
    assert read_cve5(path).affected == (
        ("Acme", "Pump", ">= 5.0, <= 5.4.11"),
        ("Acme", "Pump", ">= 6.0"),
        ("Acme", "Monitor", "*"),
    )


def test_rejected_record(tmp_path: Path) -> None:
    record = _record(rejectedReasons=[{"lang": "en", "value": "Duplicate of CVE-2099-0002."}])
    record["cveMetadata"] = {"cveId": "CVE-2099-0001", "state": "REJECTED"}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(record))
    result = read_cve5(path)
    assert result.status == "REJECTED" and result.description == "Duplicate of CVE-2099-0002."


def _error_for(tmp_path: Path, content: str) -> IngestError:
    path = tmp_path / "CVE-bad.json"
    path.write_text(content)
    with pytest.raises(IngestError) as info:
        read_cve5(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    return info.value


def test_truncated(tmp_path: Path) -> None:
    text = (CVE5 / "CVE-2023-43208.json").read_text()
    assert "is not valid JSON" in str(_error_for(tmp_path, text[:-40]))


@pytest.mark.parametrize("content", ["[]", '"CVE-2023-43208"', "1"])
def test_wrong_top_level_type(tmp_path: Path, content: str) -> None:
    assert "not a CVE record: expected an object" in str(_error_for(tmp_path, content))


def test_deep_nesting(tmp_path: Path) -> None:
    nested = '{"a":' * 100 + "1" + "}" * 100
    assert "not a CVE JSON 5.x record" in str(_error_for(tmp_path, nested))
    assert "nested too deeply" in str(_error_for(tmp_path, "[" * 200_000 + "]" * 200_000))


def test_non_cve5_json(tmp_path: Path) -> None:
    nvd = (Path(__file__).parent.parent / "fixtures" / "intel" / "nvd" / "CVE-2017-0144.json").read_text()
    assert "not a CVE JSON 5.x record (no dataVersion)" in str(_error_for(tmp_path, nvd))
    assert "dataVersion '4.0'" in str(_error_for(tmp_path, json.dumps({"dataVersion": "4.0"})))


@pytest.mark.parametrize(
    ("cna", "expected"),
    [
        (
            {"metrics": [{"cvssV3_1": {"baseScore": 9.8}}]},
            "containers.cna.metrics[0].cvssV3_1.vectorString: is missing",
        ),
        (
            {"metrics": [{"cvssV3_1": {"vectorString": "CVSS:3.1/AV:N", "baseScore": "9.8"}}]},
            "baseScore: expected a number",
        ),
        ({"metrics": [{"other": {"type": "ssvc", "content": {"options": [{"Exploitation": 1}]}}}]}, "Exploitation"),
        ({"affected": [{"vendor": "Acme", "versions": [{"version": "1"}]}]}, "versions[0].status: is missing"),
        ({"references": "https://example.org"}, "references: expected an array"),
        ({"descriptions": [{"lang": "en", "value": ["x"]}]}, "descriptions[0].value"),
    ],
)
def test_malformed_values_name_record_and_path(tmp_path: Path, cna: dict[str, object], expected: str) -> None:
    error = str(_error_for(tmp_path, json.dumps(_record(**cna))))
    assert "record CVE-2099-0001" in error and expected in error


def test_bad_metadata(tmp_path: Path) -> None:
    record = _record()
    record["cveMetadata"] = {"cveId": "CVE-2099-0001", "datePublished": "soon"}
    assert "datePublished" in str(_error_for(tmp_path, json.dumps(record)))
    record["cveMetadata"] = {"cveId": "GHSA-xxxx"}
    assert "is not a CVE id" in str(_error_for(tmp_path, json.dumps(record)))


def test_huge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "CVE-huge.json"
    with path.open("w") as handle:
        handle.write('{"x": "')
        chunk = "a" * 1_000_000
        for _ in range(34):
            handle.write(chunk)
        handle.write('"}')
    with pytest.raises(IngestError, match="larger than"):
        read_cve5(path)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared real-data folder is absent")
def test_all_shared_cve5_records_parse() -> None:
    vulnrichment = read_cve5_dir(SHARED / "cve5-vulnrichment")
    assert len(vulnrichment) == 656
    assert all(set(r.ssvc) == {"Exploitation", "Automatable", "Technical Impact"} for r in vulnrichment)
    assert sum(r.kev_date_added is not None for r in vulnrichment) == 222
    assert sum(any(c.version == "4.0" for c in r.cvss) for r in vulnrichment) == 21
    assert all(r.published is not None and r.published.tzinfo is UTC for r in vulnrichment)
    cvelist = read_cve5_dir(SHARED / "cve5-cvelistV5")
    assert {r.id for r in cvelist} == {"CVE-2019-0708", "CVE-2019-12256", "CVE-2020-11896"}
