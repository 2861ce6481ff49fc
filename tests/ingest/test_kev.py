"""CISA KEV reader: real trimmed catalog (JSON and CSV), the full catalog when available, bad and hostile files."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from wardwatch.domain.intel import KevEntry
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.kev import KevCatalog, read_kev

KEV = Path(__file__).parent.parent / "fixtures" / "intel" / "kev"
JSON_FIXTURE = KEV / "kev_2025-08-25_trimmed.json"
CSV_FIXTURE = KEV / "kev_2025-08-25_trimmed.csv"
FULL = Path("/work/shared/data/cisa-kev")

MIRTH = KevEntry(
    cve="CVE-2023-43208",
    vendor="NextGen Healthcare",
    product="Mirth Connect",
    name="NextGen Healthcare Mirth Connect Deserialization of Untrusted Data Vulnerability",
    date_added=date(2024, 5, 20),
    due_date=date(2024, 6, 10),
    required_action="Apply mitigations per vendor instructions or discontinue use of the product if mitigations "
    "are unavailable.",
    ransomware="Known",
    notes=None,  # compared separately
    cwes=("CWE-502",),
)


def _by_cve(catalog: KevCatalog) -> dict[str, KevEntry]:
    return {entry.cve: entry for entry in catalog.entries}


def test_json_catalog_header_and_entries() -> None:
    catalog = read_kev(JSON_FIXTURE)
    assert catalog.catalog_version == "2025.08.25"
    assert catalog.released == datetime(2025, 8, 25, 17, 4, 19, 979600, tzinfo=UTC)
    assert catalog.title == "CISA Catalog of Known Exploited Vulnerabilities"
    assert len(catalog.entries) == 20
    assert catalog.entries[0].cve == "CVE-2025-48384"
    assert catalog.entries[0].cwes == ("CWE-59", "CWE-436")
    mirth = _by_cve(catalog)["CVE-2023-43208"]
    assert mirth.notes is not None and "github.com/nextgenhealthcare" in mirth.notes
    assert replace(mirth, notes=None) == MIRTH
    eternalblue = _by_cve(catalog)["CVE-2017-0144"]
    assert (eternalblue.vendor, eternalblue.product, eternalblue.date_added) == (
        "Microsoft",
        "SMBv1",
        date(2022, 2, 10),
    )
    assert eternalblue.notes == "https://nvd.nist.gov/vuln/detail/CVE-2017-0144"
    assert _by_cve(catalog)["CVE-2020-25078"].cwes == ()


def test_csv_form_gives_the_same_entries() -> None:
    from_csv = read_kev(CSV_FIXTURE)
    assert from_csv.catalog_version is None and from_csv.released is None
    assert from_csv.entries == read_kev(JSON_FIXTURE).entries


def test_gzip_json_is_read(tmp_path: Path) -> None:
    packed = tmp_path / "kev.json.gz"
    packed.write_bytes(gzip.compress(JSON_FIXTURE.read_bytes()))
    assert len(read_kev(packed).entries) == 20


@pytest.mark.skipif(not FULL.is_dir(), reason="the shared real-data folder is not available")
def test_full_catalog_all_entries_load_and_count_matches() -> None:
    catalog = read_kev(FULL / "known_exploited_vulnerabilities.json")
    assert len(catalog.entries) == 1404
    assert len({entry.cve for entry in catalog.entries}) == 1404
    assert sum(entry.ransomware == "Known" for entry in catalog.entries) == 293
    from_csv = read_kev(FULL / "known_exploited_vulnerabilities.csv")
    assert from_csv.entries == catalog.entries


def _document() -> dict[str, object]:
    document: dict[str, object] = json.loads(JSON_FIXTURE.read_text(encoding="utf-8"))
    return document


def _write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "kev.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_count_mismatch_raises(tmp_path: Path) -> None:
    document = _document()
    document["count"] = 1404
    with pytest.raises(IngestError, match=r"column 'count': says count 1404 but lists 20 vulnerabilities"):
        read_kev(_write(tmp_path, document))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cveID", "CVE-17-1", r"row 3, column 'cveID': 'CVE-17-1' is not a CVE id"),
        ("dateAdded", "25/08/2025", r"row 3, column 'dateAdded': '25/08/2025' is not a date"),
        ("vendorProject", "", r"row 3, column 'vendorProject': missing or empty value"),
        ("cwes", "CWE-79", r"row 3, column 'cwes'"),
        ("dueDate", 20250101, r"row 3, column 'dueDate'"),
    ],
)
def test_bad_entry_names_row_and_field(tmp_path: Path, field: str, value: object, message: str) -> None:
    document = _document()
    entries = document["vulnerabilities"]
    assert isinstance(entries, list)
    entries[2][field] = value
    with pytest.raises(IngestError, match=message):
        read_kev(_write(tmp_path, document))


def test_missing_due_date_is_none(tmp_path: Path) -> None:
    document = _document()
    entries = document["vulnerabilities"]
    assert isinstance(entries, list)
    del entries[0]["dueDate"]
    assert read_kev(_write(tmp_path, document)).entries[0].due_date is None


def test_duplicate_cve_raises(tmp_path: Path) -> None:
    document = _document()
    entries = document["vulnerabilities"]
    assert isinstance(entries, list)
    entries.append(entries[0])
    document["count"] = 21
    with pytest.raises(IngestError, match=r"row 21, column 'cveID': lists CVE-2025-48384 again \(first at row 1\)"):
        read_kev(_write(tmp_path, document))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"count": 1, "vulnerabilities": [', "is not valid JSON"),
        (b"[1, 2]", "is not a KEV catalog CSV"),
        (b'{"count": 0}', "has no 'vulnerabilities' list"),
        (b'{"count": 0, "dateReleased": "yesterday", "vulnerabilities": []}', "column 'dateReleased'"),
        (b"\xff\xfe\x00junk", "is not UTF-8 text"),
    ],
)
def test_bad_files_raise(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "kev.json"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message):
        read_kev(path)


def test_csv_with_bad_row_names_the_line(tmp_path: Path) -> None:
    lines = CSV_FIXTURE.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace(",2025-08-", ",2025-13-", 1)
    path = tmp_path / "kev.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(IngestError, match=r"row 5, column 'dateAdded'"):
        read_kev(path)


def test_gzip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "kev.json.gz"
    bomb.write_bytes(gzip.compress(b" " * (1 << 20)) * 300)  # 300 gzip members of 1 MiB of spaces each
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(IngestError, match="expands to more than 256 MiB"):
        read_kev(bomb)


def test_truncated_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kev.json.gz"
    path.write_bytes(gzip.compress(JSON_FIXTURE.read_bytes())[:2000])
    with pytest.raises(IngestError, match="truncated or corrupt gzip"):
        read_kev(path)
