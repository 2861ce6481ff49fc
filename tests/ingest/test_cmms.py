"""Reading CMMS exports: header detection, column mapping, encodings, XLSX, and clear errors for bad files."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from wardwatch.ingest.cmms import ColumnMapping, load_mapping, open_cmms
from wardwatch.ingest.errors import IngestError, MappingError

CMMS = Path(__file__).parents[1] / "fixtures" / "cmms"


def read(
    path: Path, mapping: ColumnMapping | None = None
) -> tuple[dict[str, str], list[tuple[int, dict[str, object]]]]:
    with open_cmms(path, mapping) as export:
        return export.columns, [(r.number, r.cells) for r in export.rows()]


def test_common_headers_are_detected_and_blank_rows_skipped() -> None:
    columns, rows = read(CMMS / "messy.csv")
    assert columns["asset_tag"] == "Control No"
    assert columns["manufacturer"] == "Mfr"
    assert columns["serial"] == "S/N"
    assert columns["description"] == "Equipment Type"
    assert columns["mac"] == "MAC Addr"
    assert columns["site"] == "Facility"
    assert len(rows) == 13
    assert rows[0][0] == 2
    assert rows[2][1]["asset_tag"] == "bme-1001"  # cells are stripped, not yet normalised


def test_header_below_a_title_block_is_found(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text("Equipment Inventory Report\nPrinted 2026-11-01\n\nAsset Tag,Manufacturer,Model\nA1,BD,Alaris\n")
    with open_cmms(path) as export:
        assert export.header_row == 4
        assert [r.number for r in export.rows()] == [5]


def test_semicolon_delimited_windows_1252_export(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("Asset Tag;Manufacturer;Model\r\nA1;Dräger;Evita V500\r\n".encode("cp1252"))
    _, rows = read(path)
    assert rows[0][1]["manufacturer"] == "Dräger"


def test_mapping_file_names_unusual_columns(tmp_path: Path) -> None:
    mapping = load_mapping(CMMS / "mapping.yaml")
    assert mapping.site == "Klinikum Nord"
    columns, rows = read(CMMS / "german.csv", mapping)
    assert columns["asset_tag"] == "Gerätenummer"
    assert rows[1][1]["in_service_date"] == "31.12.2020"


def test_mapping_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("columns:\n  asset_tags: Tag\n")
    with pytest.raises(MappingError, match="unknown field 'asset_tags'"):
        load_mapping(bad)
    bad.write_text("columns:\n  asset_tag: Nope\n")
    with pytest.raises(MappingError, match="no column 'Nope'"):
        read(CMMS / "messy.csv", load_mapping(bad))
    bad.write_text("columns: [\n")
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping(bad)


def test_xlsx_export_with_typed_cells(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Equipment #", "Manufacturer", "Serial #", "Install Date", "VLAN"])
    sheet.append(["E1", "Philips", 123456.0, datetime(2019, 3, 4), 40])  # noqa: DTZ001 - spreadsheets are naive
    book.save(path)
    _, rows = read(path)
    assert rows == [
        (
            2,
            {
                "asset_tag": "E1",
                "manufacturer": "Philips",
                "serial": "123456",
                "in_service_date": date(2019, 3, 4),
                "vlan": "40",
            },
        )
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"PK\x03\x04rest", "zip/XLSX file with a .csv name"),
        (b"Asset Tag,Model\x00\nA1,X\n", "NUL bytes"),
        (b"Manufacturer,Model,Department\nBD,Alaris,ICU\n", "no column for the asset tag"),
        (b"foo,bar\n1,2\n", "no recognisable header"),
        (b'Asset Tag,Model\nA1,"Alaris\n', "not valid CSV"),
        (b"Asset Tag,Model\nA1,Alaris,extra,cells\n", "has 4 cells but the header has 2"),
    ],
)
def test_bad_files_get_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as caught:
        read(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_cut_off_last_row_is_refused_not_half_imported(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Asset Tag,Manufacturer,Model,Serial\nA1,BD,Alaris,S1\nA2,Bax")
    with pytest.raises(IngestError, match="ends in the middle of row 3"):
        read(path)
    path.write_text("Asset Tag,Manufacturer,Model,Serial\nA1,BD,Alaris,S1\nA2,Baxter\n")  # short but complete
    assert len(read(path)[1]) == 2


def test_other_file_types_are_refused(tmp_path: Path) -> None:
    for name, message in (
        ("a.xls", "old binary Excel"),
        ("a.pdf", "not a CSV or XLSX"),
        ("a.xlsx", "not a valid XLSX"),
    ):
        path = tmp_path / name
        path.write_bytes(b"garbage")
        with pytest.raises(IngestError, match=message):
            open_cmms(path)
    with pytest.raises(IngestError, match="no such file"):
        open_cmms(tmp_path / "missing.csv")


def test_an_xlsx_that_expands_too_far_is_refused_without_unpacking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real limit is 1 GiB; a 4 MiB limit shows the same check without compressing a gigabyte here.
    monkeypatch.setattr("wardwatch.ingest.cmms._MAX_UNCOMPRESSED_XLSX", 4 << 20)
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (5 << 20))
    assert path.stat().st_size < 100 << 10
    with pytest.raises(IngestError, match="expands to more than"):
        open_cmms(path)
