"""MDS2 reader: a synthetic form as CSV and as the published XLSX layout, the real form when available, bad files."""

from __future__ import annotations

import csv
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from wardwatch.ingest import mds2
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.mds2 import CAPABILITIES, read_mds2

CSV_FIXTURE = Path(__file__).parent.parent / "fixtures" / "intel" / "mds2" / "example_pump_mds2.csv"
REAL = Path("/work/shared/data/mds2/medicapture-mvr-mds2-2019.parsed.csv")

EXPECTED_CAPABILITIES = {
    "authentication": True,  # AUTH-1 Yes
    "unique_user_accounts": False,
    "multi_factor": False,
    "auto_logoff": None,  # ALOF-1 N/A
    "encryption_at_rest": False,
    "encryption_in_transit": True,
    "audit_logging": True,
    "remote_service": False,  # RMOT-1..3 all No
    "malware_protection": None,  # MLDP-2 No, MLDP-4 blank, MLDP-5 No: not known
    "anti_malware": False,
    "application_allowlisting": None,  # MLDP-4 blank
    "sbom_available": True,  # "Yes, on request"
    "stores_phi": False,  # MPII-2.2 No wins over MPII-2 Yes (first answered)
    "transmits_phi": True,
    "wireless": True,
    "external_network": False,
    "node_authentication": True,
    "network_access_control": None,  # not asked
    "has_operating_system": True,
    "remote_patching": True,
    "owner_can_patch": None,
    "hardened": None,
    "vulnerability_disclosure": True,
    "emergency_access": None,
}


def _rows() -> list[dict[str, str]]:
    with CSV_FIXTURE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write_xlsx(path: Path, rows: list[dict[str, str]], *, release: object = datetime(2024, 11, 5)) -> None:  # noqa: DTZ001 - a cell date
    """The layout of the published 2019 form: metadata repeated on each row, then id, question, answer, note."""
    book = openpyxl.Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Instructions"
    cover["A1"] = "Manufacturer Disclosure Statement for Medical Device Security -- MDS2"
    cover["A3"] = "Answer each question Yes, No or N/A; see note DOC-1 for examples like AUTH-1."
    sheet = book.create_sheet("MDS2 2019")
    sheet.append(["Manufacturer Disclosure Statement for Medical Device Security -- MDS2"])
    sheet.append([])
    sheet.append(["Software Version:", "4.2.1"])
    sheet.append([])
    sheet.append(["Manufacturer Name", "Device Description", "Device Model", "Document ID", "Document Release Date",
                  "Question ID", "Question", "", "See note", "IEC TR 80001-2-2:2012", "NIST SP 800-53 Rev. 4",
                  "ISO 27002:2013"])  # fmt: skip
    section = None
    for row in rows:
        prefix = row["id"].split("-")[0]
        if prefix != section:
            section = prefix
            sheet.append([None] * 5 + [None, f"{prefix} SECTION"])
        answer: object = row["answer"] or None
        if row["id"] == "DOC-7":
            answer = release
        sheet.append(["Example Infusion Systems Inc.", "Volumetric infusion pump", "EVP-200", "EIS-MDS2-0042",
                      release, row["id"], row["question"], answer, row["note"] or None, "Section 5.1", "AC-3",
                      "A.9.2.1"])  # fmt: skip
    book.save(path)


def test_synthetic_csv() -> None:
    form = read_mds2(CSV_FIXTURE)
    assert (form.manufacturer, form.model, form.version) == ("Example Infusion Systems Inc.", "EVP-200", None)
    assert form.form_date == date(2024, 11, 5)
    assert form.answers["SBOM-1"] == "Yes, on request"
    assert form.answers["ALOF-1"] == "N/A"
    assert "MLDP-4" not in form.answers  # blank answers are left out
    assert len(form.answers) == 32
    assert form.capabilities == EXPECTED_CAPABILITIES
    assert form.operating_system == "Embedded Linux 4.19"
    assert form.end_of_support == date(2029, 12, 31)


def test_capability_table_covers_the_documented_names() -> None:
    assert set(CAPABILITIES) == set(EXPECTED_CAPABILITIES)


def test_xlsx_in_the_published_layout_reads_like_the_csv(tmp_path: Path) -> None:
    path = tmp_path / "EVP-200 MDS2.xlsx"
    _write_xlsx(path, _rows())
    form = read_mds2(path)
    from_csv = read_mds2(CSV_FIXTURE)
    assert form.answers == from_csv.answers
    assert form.capabilities == EXPECTED_CAPABILITIES
    assert (form.version, form.form_date, form.operating_system) == ("4.2.1", date(2024, 11, 5), "Embedded Linux 4.19")


def test_csv_without_header_and_with_other_column_order(tmp_path: Path) -> None:
    rows = _rows()
    bare = tmp_path / "bare.csv"
    with bare.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([row["id"], row["question"], row["answer"], row["note"]] for row in rows)
    reordered = tmp_path / "reordered.csv"
    with reordered.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Section", "Notes", "Answer", "Question ID"])
        writer.writerows(["x", row["note"], row["answer"], row["id"]] for row in rows)
    expected = read_mds2(CSV_FIXTURE)
    assert read_mds2(bare) == expected
    assert read_mds2(reordered) == expected


@pytest.mark.skipif(not REAL.is_file(), reason="the shared real-data folder is not available")
def test_real_form() -> None:
    form = read_mds2(REAL)
    assert form.manufacturer == "MediCapture Inc."
    assert form.model == "MVR435, MVR436, MVR450, MVR460, MTR133, MTR156, MTR245"
    assert form.form_date == date(2026, 3, 20)
    assert len(form.answers) == 238  # 240 questions, CONN-1 and CONN-1.1 unanswered
    assert form.answers["AUTH-1.1"] == "Yes"
    assert form.answers["AUDT-2.8.1"] == "No"
    caps = form.capabilities
    assert caps["authentication"] is True
    assert caps["encryption_at_rest"] is False  # STCF-1 No
    assert caps["encryption_in_transit"] is True  # TXCF-2 Yes
    assert caps["remote_service"] is True  # RMOT-1 Yes
    assert caps["malware_protection"] is True  # MLDP-2 No but MLDP-4 (allow-listing) Yes
    assert caps["anti_malware"] is False
    assert caps["sbom_available"] is False  # SBOM-1 No
    assert caps["stores_phi"] is True and caps["transmits_phi"] is True
    assert caps["wireless"] is False
    assert form.operating_system is None and form.end_of_support is None  # the form names neither


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "form.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_csv_files(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="has no 'id' and 'answer' columns"):
        read_mds2(_csv(tmp_path, "question,reply\nx,y\n"))
    body = "".join(f"AUTH-{i},q,Yes,\n" for i in range(1, 7))
    with pytest.raises(IngestError, match=r"row 3, column 'id': 'AUTH 7' is not an MDS2 question id"):
        read_mds2(_csv(tmp_path, "id,question,answer,note\nAUTH-0,q,No,\nAUTH 7,q,Yes,\n" + body))
    with pytest.raises(IngestError, match=r"row 8, column 'answer': answers AUTH-1 twice, differently"):
        read_mds2(_csv(tmp_path, "id,question,answer,note\n" + body + "AUTH-1,q,No,\n"))
    with pytest.raises(IngestError, match="has 2 MDS2 question ids"):
        read_mds2(_csv(tmp_path, "id,question,answer,note\nAUTH-1,q,Yes,\nAUTH-2,q,No,\n"))
    with pytest.raises(IngestError, match="the file is empty"):
        read_mds2(_csv(tmp_path, ""))


def test_unparseable_release_date_is_none(tmp_path: Path) -> None:
    body = "".join(f"AUTH-{i},q,Yes,\n" for i in range(1, 7))
    form = read_mds2(_csv(tmp_path, "id,question,answer,note\nDOC-7,Release,sometime in spring,\n" + body))
    assert form.form_date is None


def test_bad_and_hostile_xlsx(tmp_path: Path) -> None:
    no_ids = tmp_path / "no_ids.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["just", "a", "table"])
    book.save(no_ids)
    with pytest.raises(IngestError, match="has no sheet with MDS2 question ids"):
        read_mds2(no_ids)
    no_answers = tmp_path / "no_answers.xlsx"
    _write_xlsx(no_answers, [{**row, "answer": "maybe"} for row in _rows()])
    with pytest.raises(IngestError, match="column 'answer': the file has no column of Yes/No answers"):
        read_mds2(no_answers)
    damaged = tmp_path / "damaged.xlsx"
    good = tmp_path / "good.xlsx"
    _write_xlsx(good, _rows())
    damaged.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(IngestError, match="not a valid XLSX file"):
        read_mds2(damaged)


def test_zip_bomb_xlsx_is_refused_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mds2, "MAX_XLSX_BYTES", 1 << 20)  # the real cap is 256 MiB; same check, smaller bomb
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<" * (4 << 20))
    assert bomb.stat().st_size < 64 << 10
    with pytest.raises(IngestError, match="expands to more than 1 MiB"):
        read_mds2(bomb)


def test_huge_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(17 << 20)  # sparse: no disk used
    with pytest.raises(IngestError, match="is larger than 16 MiB"):
        read_mds2(path)
