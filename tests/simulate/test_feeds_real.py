"""Real records in the simulated feeds: EternalBlue's NVD record and KEV entry, counts kept, matched like any record.

Expectations come from the project's own real fixtures (``tests/fixtures/intel``), copied independently of the
package data, so a trimmed or altered packaged record fails here.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from wardwatch.domain.matching import Confidence, DeviceProfile, IntelIndex, match_device
from wardwatch.ingest.epss import iter_epss
from wardwatch.ingest.kev import read_kev
from wardwatch.ingest.nvd import read_nvd
from wardwatch.simulate import generate
from wardwatch.simulate._feeds import write_feeds
from wardwatch.simulate._feeds_real import real_kev_entries, real_records

INTEL = Path(__file__).parent.parent / "fixtures" / "intel"
CVES = 100
ETERNALBLUE = "CVE-2017-0144"


def _fixture_kev(cve: str) -> dict[str, Any]:
    catalog = json.loads((INTEL / "kev" / "kev_2025-08-25_trimmed.json").read_text(encoding="utf-8"))
    return next(e for e in catalog["vulnerabilities"] if e["cveID"] == cve)


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("real")
    write_feeds(generate("small", 1), out, cves=CVES, seed=1)
    return out / "feeds"


def _page(feeds: Path) -> dict[str, Any]:
    page: dict[str, Any] = json.loads(gzip.decompress((feeds / "nvd" / "nvdcve-2.0-001.json.gz").read_bytes()))
    return page


def test_packaged_records_are_the_real_ones() -> None:
    fixture = json.loads((INTEL / "nvd" / "CVE-2017-0144.json").read_text(encoding="utf-8"))
    assert real_records() == [fixture]
    # the KEV entries carried for those records, as CISA publishes them (BlueKeep has an entry but no NVD record)
    assert real_kev_entries({ETERNALBLUE, "CVE-2019-0708"}) == [
        _fixture_kev(ETERNALBLUE),
        _fixture_kev("CVE-2019-0708"),
    ]
    assert real_kev_entries({"CVE-1999-0001"}) == []


def test_real_ids_sit_below_every_synthetic_sequence() -> None:
    # synthetic NVD ids count up from 1,001 in each year: a real id at or below 1,000 cannot collide
    assert all(int(str(r["id"]).split("-")[2]) <= 1_000 for r in real_records())


def test_last_record_of_the_feed_is_real_and_the_counts_hold(feeds: Path) -> None:
    page = _page(feeds)
    records = page["vulnerabilities"]
    assert (page["totalResults"], page["resultsPerPage"], len(records)) == (CVES, CVES, CVES)
    fixture = json.loads((INTEL / "nvd" / "CVE-2017-0144.json").read_text(encoding="utf-8"))
    assert records[-1] == {"cve": fixture}
    ids = [r["cve"]["id"] for r in records]
    assert len(set(ids)) == CVES and ids.count(ETERNALBLUE) == 1
    parsed = {v.id: v for v in read_nvd(feeds / "nvd" / "nvdcve-2.0-001.json.gz")}
    assert parsed[ETERNALBLUE].kev_date_added is not None


def test_kev_lists_the_real_entry_with_its_real_fields(feeds: Path) -> None:
    raw = json.loads((feeds / "known_exploited_vulnerabilities.json").read_text(encoding="utf-8"))
    assert raw["count"] == len(raw["vulnerabilities"])
    real = [e for e in raw["vulnerabilities"] if e["cveID"].startswith(("CVE-2017-014", "CVE-2019-0708"))]
    assert real == [_fixture_kev(ETERNALBLUE)]  # entries only for the records the pages carry
    entries = read_kev(feeds / "known_exploited_vulnerabilities.json").entries
    assert [e.date_added for e in entries] == sorted((e.date_added for e in entries), reverse=True)
    assert next(e for e in entries if e.cve == ETERNALBLUE).vendor == "Microsoft"


def test_epss_has_a_row_for_the_real_record(feeds: Path) -> None:
    rows = [s.cve for s in iter_epss(feeds / "epss_scores.csv.gz")]
    assert rows.count(ETERNALBLUE) == 1
    assert len(rows) == CVES + CVES // 5  # one row per NVD record plus a fifth more, as before


def test_output_is_deterministic(feeds: Path, tmp_path: Path) -> None:
    write_feeds(generate("small", 1), tmp_path, cves=CVES, seed=1)
    for name in ("nvd/nvdcve-2.0-001.json.gz", "known_exploited_vulnerabilities.json", "epss_scores.csv.gz"):
        assert (tmp_path / "feeds" / name).read_bytes() == (feeds / name).read_bytes()


def test_a_feed_too_small_for_the_real_records_stays_synthetic(tmp_path: Path) -> None:
    write_feeds(generate("small", 1), tmp_path, cves=1, seed=1)
    assert [v.id for v in read_nvd(tmp_path / "feeds" / "nvd" / "nvdcve-2.0-001.json.gz")] != [ETERNALBLUE]


@pytest.mark.parametrize(
    ("os_name", "os_version", "expected"),
    [
        # release 1607 is a platform of the record: SMB 1.0 on it is unknown -> potential
        ("Windows 10 IoT Enterprise", "2016 LTSB", Confidence.POTENTIAL),
        ("Windows 7", "SP1", Confidence.POTENTIAL),
        # "Embedded" is a sibling of windows_7: the platform is undecided, so the SMB criterion is absent
        ("Windows 7 Embedded", "SP1", None),
        ("Windows XP Embedded", "SP3", None),  # the NVD record names no Windows XP product
        ("Windows Server", "2019", None),
    ],
)
def test_the_feed_record_is_matched_like_a_real_import(
    feeds: Path, os_name: str, os_version: str, expected: Confidence | None
) -> None:
    index = IntelIndex.build(
        vulnerabilities=read_nvd(feeds / "nvd" / "nvdcve-2.0-001.json.gz"),
        kev=read_kev(feeds / "known_exploited_vulnerabilities.json").entries,
    )
    device = DeviceProfile("d-1", "Contoso", "Imaging Workstation", os_name=os_name, os_version=os_version)
    found = {m.vulnerability_id: m for m in match_device(device, index)}
    assert (found[ETERNALBLUE].confidence if ETERNALBLUE in found else None) is expected
