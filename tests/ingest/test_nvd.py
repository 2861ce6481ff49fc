"""NVD CVE API 2.0 reader: real records, streaming, and hostile input."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from wardwatch.domain.intel import ConfigNode, CpeMatch, Cvss, Vulnerability
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.nvd import iter_nvd, read_nvd

NVD = Path(__file__).parent.parent / "fixtures" / "intel" / "nvd"
SHARED = Path("/work/shared/data/cve-records")


@pytest.fixture(scope="module")
def eternalblue() -> Vulnerability:
    (record,) = read_nvd(NVD / "CVE-2017-0144.json")
    return record


def test_eternalblue_scalars(eternalblue: Vulnerability) -> None:
    assert eternalblue.id == "CVE-2017-0144"
    assert eternalblue.source == "nvd"
    assert eternalblue.status == "Deferred"
    assert eternalblue.description is not None and "SMBv1" in eternalblue.description
    assert eternalblue.published == datetime(2017, 3, 17, 0, 59, 4, 10_000, tzinfo=UTC)
    assert eternalblue.modified is not None and eternalblue.modified.tzinfo is UTC
    assert eternalblue.cwes == ("NVD-CWE-noinfo",)
    assert eternalblue.kev_date_added == date(2022, 2, 10)  # NVD's cisaExploitAdd


def test_eternalblue_cvss(eternalblue: Vulnerability) -> None:
    # NVD's current CVSS 3.1 assessment is 8.8 (PR:L), not the 8.1 some older sources quote.
    assert eternalblue.cvss[0] == Cvss(
        version="3.1",
        vector="CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
        base_score=8.8,
        source="nvd@nist.gov",
        type="Primary",
    )
    assert eternalblue.cvss[1].type == "Secondary"
    v2 = [c for c in eternalblue.cvss if c.version == "2.0"]
    assert v2 == [Cvss("2.0", "AV:N/AC:M/Au:N/C:C/I:C/A:C", 9.3, "nvd@nist.gov", "Primary")]


def test_eternalblue_references(eternalblue: Vulnerability) -> None:
    assert len(eternalblue.references) > 10
    first = eternalblue.references[0]
    assert first.url == "http://packetstormsecurity.com/files/154690/DOUBLEPULSAR-Payload-Execution-Neutralization.html"
    assert first.tags == ("Exploit", "Third Party Advisory", "VDB Entry")


def test_eternalblue_configurations(eternalblue: Vulnerability) -> None:
    configs = eternalblue.configurations
    assert len(configs) == 9
    smb = configs[0]
    assert smb.operator == "AND" and not smb.negate and smb.matches == ()
    assert [node.operator for node in smb.children] == ["OR", "OR"]
    assert smb.children[0].matches == (
        CpeMatch("cpe:2.3:a:microsoft:server_message_block:1.0:*:*:*:*:*:*:*", vulnerable=True),
    )
    platforms = smb.children[1].matches
    assert len(platforms) == 15 and not any(m.vulnerable for m in platforms)
    assert CpeMatch("cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*", vulnerable=False) in platforms


def test_eternalblue_siemens_version_bounds(eternalblue: Vulnerability) -> None:
    sc2000 = next(c for c in eternalblue.configurations if "acuson_sc2000" in c.children[0].matches[0].criteria)
    firmware, hardware = sc2000.children
    assert firmware.matches[0] == CpeMatch(
        criteria="cpe:2.3:o:siemens:acuson_sc2000_firmware:*:*:*:*:*:*:*:*",
        vulnerable=True,
        version_start_including="4.0",
        version_end_excluding="4.0e",
    )
    assert firmware.matches[1].criteria == "cpe:2.3:o:siemens:acuson_sc2000_firmware:5.0a:*:*:*:*:*:*:*"
    assert hardware.matches == (CpeMatch("cpe:2.3:h:siemens:acuson_sc2000:-:*:*:*:*:*:*:*", vulnerable=False),)


def test_page_reads_every_record_in_order() -> None:
    records = read_nvd(NVD / "page-trimmed.json")
    assert [r.id for r in records] == [
        "CVE-2022-22385",
        "CVE-2022-43893",
        "CVE-2023-45901",
        "CVE-2023-45906",
        "CVE-2023-46009",
    ]
    ibm = records[0]
    assert ibm.configurations[0].operator == "AND"
    assert ibm.configurations[0].children[0].matches[0].version_end_excluding == "11.5"
    single = records[2].configurations
    assert len(single) == 1 and single[0].operator == "OR" and len(single[0].children) == 1
    assert records[4].cvss == () and records[4].configurations == ()
    assert all(r.published is not None and r.published.tzinfo is UTC for r in records)


def test_single_entry_page() -> None:
    (record,) = read_nvd(NVD / "single-entry.json")
    assert record.id == "CVE-2022-1576"
    assert [c.version for c in record.cvss] == ["3.1", "2.0"]
    assert record.published == datetime(2022, 7, 11, 13, 15, 8, 503_000, tzinfo=UTC)


def test_wrapped_single_record_and_gzip(tmp_path: Path) -> None:
    cve = json.loads((NVD / "CVE-2017-0144.json").read_text())
    wrapped = tmp_path / "wrapped.json.gz"
    wrapped.write_bytes(gzip.compress(json.dumps({"cve": cve}).encode()))
    (record,) = read_nvd(wrapped)
    assert record == read_nvd(NVD / "CVE-2017-0144.json")[0]


def test_negate_and_nested_children(tmp_path: Path) -> None:
    cve = {
        "id": "CVE-2099-0001",
        "configurations": [
            {
                "operator": "AND",
                "negate": True,
                "nodes": [
                    {
                        "operator": "OR",
                        "negate": True,
                        "cpeMatch": [{"vulnerable": False, "criteria": "cpe:2.3:h:acme:pump:-:*:*:*:*:*:*:*"}],
                        "children": [{"operator": "AND", "cpeMatch": []}],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "negate.json"
    path.write_text(json.dumps(cve))
    (record,) = read_nvd(path)
    assert record.configurations == (
        ConfigNode(
            operator="AND",
            negate=True,
            children=(
                ConfigNode(
                    operator="OR",
                    negate=True,
                    matches=(CpeMatch("cpe:2.3:h:acme:pump:-:*:*:*:*:*:*:*", vulnerable=False),),
                    children=(ConfigNode(operator="AND"),),
                ),
            ),
        ),
    )
    assert record.published is None and record.cvss == ()


def test_streaming_large_page_in_small_pieces(tmp_path: Path) -> None:
    """A page far larger than the read chunk streams correctly (values straddle chunk boundaries)."""
    base = json.loads((NVD / "CVE-2017-0144.json").read_text())
    elements = [{"cve": {**base, "id": f"CVE-2017-{i:05d}"}} for i in range(60)]
    page = {"resultsPerPage": 60, "startIndex": 0, "totalResults": 60, "format": "NVD_CVE", "version": "2.0"}
    path = tmp_path / "big.json"
    path.write_text(json.dumps({**page, "vulnerabilities": elements}, indent=1))
    assert path.stat().st_size > 1_000_000
    ids = [v.id for v in iter_nvd(path)]
    assert ids == [f"CVE-2017-{i:05d}" for i in range(60)]


def test_header_after_vulnerabilities_and_empty_page(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text('{"vulnerabilities": [], "format": "NVD_CVE", "version": "2.0", "totalResults": 0}')
    assert read_nvd(path) == []


def _error_for(tmp_path: Path, content: str | bytes, name: str = "bad.json") -> IngestError:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(IngestError) as info:
        read_nvd(path)
    error = info.value
    assert str(path) in str(error) and "\n" not in str(error)
    return error


def test_truncated_file(tmp_path: Path) -> None:
    text = (NVD / "page-trimmed.json").read_text()
    error = _error_for(tmp_path, text[: len(text) // 2])
    assert "truncated" in str(error)


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress((NVD / "page-trimmed.json").read_bytes())
    error = _error_for(tmp_path, data[: len(data) // 2], "bad.json.gz")
    assert "cannot be read" in str(error)


@pytest.mark.parametrize("content", ["[]", '"text"', "42", "null", ""])
def test_wrong_top_level_type(tmp_path: Path, content: str) -> None:
    assert "top level" in str(_error_for(tmp_path, content))


def test_deeply_nested_object(tmp_path: Path) -> None:
    nested = '{"a":' * 100 + "1" + "}" * 100
    assert "is not NVD CVE API 2.0 JSON" in str(_error_for(tmp_path, nested))
    inside = '{"vulnerabilities": [{"cve": ' + '{"a":' * 100 + "1" + "}" * 100 + "}]}"
    assert "record" in str(_error_for(tmp_path, inside))


def test_very_deeply_nested_json_does_not_crash(tmp_path: Path) -> None:
    bomb = '{"vulnerabilities": [' + "[" * 200_000 + "]" * 200_000 + "]}"
    assert "nested too deeply" in str(_error_for(tmp_path, bomb))


def test_non_nvd_json(tmp_path: Path) -> None:
    kev_like = {"title": "CISA Catalog", "vulnerabilities": [{"cveID": "CVE-2021-44228"}]}
    error = _error_for(tmp_path, json.dumps(kev_like))
    assert "vulnerabilities[0].cve: is missing" in str(error)
    assert "is not NVD" in str(_error_for(tmp_path, json.dumps({"dataType": "CVE_RECORD"})))
    assert "expected 'NVD_CVE'" in str(_error_for(tmp_path, json.dumps({"format": "CSAF", "vulnerabilities": []})))


def test_bad_record_names_its_id_and_path(tmp_path: Path) -> None:
    page = json.loads((NVD / "page-trimmed.json").read_text())
    page["vulnerabilities"][2]["cve"]["metrics"]["cvssMetricV31"][0]["cvssData"]["baseScore"] = "high"
    error = _error_for(tmp_path, json.dumps(page))
    assert "record CVE-2023-45901 (#3)" in str(error)
    assert "cvssMetricV31[0].cvssData.baseScore: expected a number, found a string" in str(error)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"id": 7}, "id: expected a string"),
        ({"id": "not-a-cve"}, "is not a CVE id"),
        ({"published": "yesterday"}, "is not an ISO 8601 timestamp"),
        ({"configurations": [{"nodes": [{"operator": "XOR", "cpeMatch": []}]}]}, "expected 'AND' or 'OR'"),
        (
            {
                "configurations": [
                    {"nodes": [{"operator": "OR", "cpeMatch": [{"criteria": "cpe:/a:x", "vulnerable": True}]}]}
                ]
            },
            "criteria",
        ),
        (
            {
                "configurations": [
                    {"nodes": [{"operator": "OR", "cpeMatch": [{"criteria": "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*"}]}]}
                ]
            },
            "vulnerable: is missing",
        ),
        ({"references": [{"tags": []}]}, "references[0].url: is missing"),
    ],
)
def test_malformed_values(tmp_path: Path, change: dict[str, object], expected: str) -> None:
    cve = {"id": "CVE-2099-0002", **change}
    assert expected in str(_error_for(tmp_path, json.dumps({"vulnerabilities": [{"cve": cve}]})))


def test_too_deep_configuration_nodes(tmp_path: Path) -> None:
    node: dict[str, object] = {"operator": "OR"}
    for _ in range(30):
        node = {"operator": "AND", "children": [node]}
    cve = {"id": "CVE-2099-0003", "configurations": [{"nodes": [node]}]}
    assert "nested more than" in str(_error_for(tmp_path, json.dumps(cve)))


def test_huge_string_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_text('{"vulnerabilities": [{"cve": {"id": "CVE-2099-0004", "x": "' + "a" * 1_000_000 + '"}}]}')
    with pytest.raises(IngestError, match="larger than 100,000 characters") as info:
        read_nvd(path, max_record_chars=100_000)
    assert str(path) in str(info.value)
    assert read_nvd(path)[0].id == "CVE-2099-0004"  # the default limit (32 Mi characters) allows it


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    assert "UTF-8" in str(_error_for(tmp_path, b'{"vulnerabilities": ["\xff\xfe"]}'))
    with pytest.raises(IngestError, match="cannot be read"):
        read_nvd(tmp_path / "absent.json")


def test_trailing_garbage(tmp_path: Path) -> None:
    assert "data after the end" in str(_error_for(tmp_path, '{"vulnerabilities": []} {}'))


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared real-data folder is absent")
def test_all_shared_nvd_files_parse(tmp_path: Path) -> None:
    files = sorted(SHARED.glob("nvd-api2-*/*.json"))
    assert len(files) == 3
    records = [v for f in files for v in read_nvd(f)]
    assert len(records) == 40
    page = SHARED / "nvd-api2-vunnel-fixtures" / "full-page.json"
    gz = tmp_path / "full-page.json.gz"
    with page.open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert read_nvd(gz) == read_nvd(page)
