"""Maintenance-system (CMMS) exports: CSV (any common delimiter, UTF-8 or Windows-1252) and XLSX.

The reader finds the header row, maps the export's column names onto Wardwatch fields (auto-detecting the
headers common CMMS products write, overridable by a mapping file), and streams rows of raw cell text.
Turning cells into values (MACs, dates, manufacturers...) is the domain's job (``domain.cmms_rows``).
"""

from __future__ import annotations

import csv
import logging
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import yaml

from wardwatch.ingest.errors import IngestError, MappingError

logger = logging.getLogger(__name__)

__all__ = ["FIELDS", "CmmsFile", "ColumnMapping", "RawRow", "load_mapping", "open_cmms"]

#: Wardwatch fields a CMMS export can fill, with the header spellings recognised for each (compared after
#: lower-casing and dropping everything but letters and digits, so "Serial #" and "serial_no" both match).
FIELDS: dict[str, tuple[str, ...]] = {
    "asset_tag": (
        "asset tag", "asset", "asset #", "asset no", "asset number", "asset id", "assetid", "tag", "tag number",
        "tag #", "equipment #", "equipment", "equipment no", "equipment number", "equipment id", "equip #",
        "equip no", "equipment tag", "control number", "control #", "control no", "ce number", "device id",
        "inventory number", "inventory #", "property tag",
    ),
    "serial": ("serial", "serial #", "serial no", "serial number", "sn", "s/n", "serialnumber", "mfr serial"),
    "manufacturer": ("manufacturer", "mfr", "mfg", "make", "vendor", "manufacturer name", "oem", "brand"),
    "model": ("model", "model #", "model no", "model number", "model name", "mfr model"),
    "description": (
        "description", "device type", "equipment type", "type", "asset type", "category", "equipment class",
        "device description", "equipment description", "nomenclature", "device category", "model description",
    ),
    "fda_product_code": ("product code", "fda product code", "fda code", "procode"),
    "site": ("site", "facility", "campus", "hospital", "site name", "facility name"),
    "building": ("building", "bldg", "building name"),
    "department": ("department", "dept", "unit", "nursing unit", "clinical unit", "department name", "ward"),
    "location": ("location", "room", "loc", "room number", "bed", "location description"),
    "mac": ("mac", "mac address", "mac addr", "macaddress", "hardware address", "ethernet address", "wifi mac"),
    "ip": ("ip", "ip address", "ipaddress", "ip addr", "ipv4", "ipv4 address", "network address"),
    "hostname": ("hostname", "host name", "network name", "dns name", "device name", "computer name"),
    "vlan": ("vlan", "vlan id", "vlan #"),
    "os_name": ("os", "operating system", "os name"),
    "os_version": ("os version", "operating system version", "os ver"),
    "firmware_version": ("firmware", "firmware version", "fw version", "fw", "firmware rev"),
    "software_version": ("software version", "sw version", "software", "software rev", "version", "sw"),
    "owner_team": ("owner", "owner team", "responsible", "responsible group", "support group", "service group",
                   "responsible shop", "shop", "owner group"),
    "lifecycle_status": ("status", "equipment status", "lifecycle status", "asset status", "life cycle status"),
    "in_service_date": ("in service date", "install date", "installation date", "installed", "acceptance date",
                        "acquisition date", "date in service", "in service"),
    "end_of_support": ("end of support", "eos", "end of support date", "end of service", "eos date",
                       "end of service date", "support end date"),
    "end_of_life": ("end of life", "eol", "end of life date", "eol date", "retirement date"),
    "criticality": ("criticality", "clinical criticality", "criticality level", "clinical impact"),
    "risk_level": ("risk level", "risk", "risk class", "equipment risk", "risk category", "risk rating"),
    "patient_connected": ("patient connected", "patient contact", "patient connection", "connected to patient"),
    "handles_phi": ("phi", "handles phi", "stores phi", "ephi", "contains phi"),
    "high_risk": ("high risk", "high risk equipment", "jc high risk", "life support", "high-risk"),
}  # fmt: skip

IDENTITY_FIELDS = ("asset_tag", "serial", "mac")

_MAX_UNCOMPRESSED_XLSX = 1 << 30  # 1 GiB: more than any real export, less than a zip bomb
_HEADER_SCAN_ROWS = 15


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


_SYNONYMS: dict[str, str] = {_key(s): f for f, spellings in FIELDS.items() for s in spellings}


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """How to read one export: explicit column names per field and reader options (from a mapping file)."""

    columns: Mapping[str, str] = field(default_factory=dict)
    """Field -> the export's column header, overriding auto-detection."""
    site: str | None = None
    """Site for rows that name none."""
    sheet: str | None = None
    """XLSX sheet to read (default: the first sheet)."""
    header_row: int | None = None
    """1-based row of the header (default: found automatically)."""
    date_format: str | None = None
    """``strptime`` format for dates when the export writes them ambiguously (e.g. ``%d/%m/%Y``)."""


def load_mapping(path: Path) -> ColumnMapping:
    """Read a YAML mapping file; raise :class:`MappingError` naming the problem."""
    name = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise MappingError(name, f"cannot read the mapping file ({e.strerror})") from e
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise MappingError(name, "is not valid YAML", tip="see docs/cmms-import.md for the format") from e
    if not isinstance(data, dict):
        raise MappingError(name, "must be a YAML mapping with a 'columns:' section")
    unknown_keys = set(data) - {"columns", "site", "sheet", "header_row", "date_format"}
    if unknown_keys:
        raise MappingError(name, f"unknown setting {sorted(unknown_keys)[0]!r}",
                           tip="allowed: columns, site, sheet, header_row, date_format")  # fmt: skip
    columns = data.get("columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise MappingError(name, "'columns' must map Wardwatch fields to column headers (text)")
    for fld in columns:
        if fld not in FIELDS:
            raise MappingError(name, f"unknown field {fld!r} under 'columns'", tip=f"fields: {', '.join(FIELDS)}")
    header_row = data.get("header_row")
    if header_row is not None and (not isinstance(header_row, int) or header_row < 1):
        raise MappingError(name, "'header_row' must be a row number (1 or more)")
    date_format = data.get("date_format")
    if date_format is not None:
        try:
            datetime.strptime(datetime(2019, 3, 4).strftime(str(date_format)), str(date_format))  # noqa: DTZ001,DTZ007
        except ValueError as e:
            raise MappingError(name, f"'date_format' {date_format!r} is not a strptime format") from e
    return ColumnMapping(
        columns=dict(columns),
        site=_opt_str(data.get("site")),
        sheet=_opt_str(data.get("sheet")),
        header_row=header_row,
        date_format=_opt_str(date_format),
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row: its spreadsheet row number and the raw cells of the mapped fields."""

    number: int
    """Row number as a spreadsheet shows it (the header row counts)."""
    cells: dict[str, str | date | None]
    """Field -> cell content; text is stripped of surrounding whitespace, absent cells are ``None``."""


@dataclass(slots=True)
class CmmsFile:
    """An opened export: its column assignment and a stream of rows.  Use as a context manager."""

    path: Path
    """The file."""
    columns: dict[str, str]
    """Field -> header of the column it is read from."""
    ignored_columns: list[str]
    """Headers that map to no field."""
    header_row: int
    """Row number of the header."""
    mapping: ColumnMapping
    """The mapping options in force."""
    _rows: Iterator[tuple[int, list[Any]]]
    _indexes: dict[str, int]
    _width: int
    _closer: IO[Any] | Any | None = None
    truncated_tail: bool = False
    """True for a CSV whose last byte is not a line end (a sign of a cut-off copy)."""

    def rows(self) -> Iterator[RawRow]:
        """Stream the data rows, skipping blank ones; raise :class:`IngestError` on a malformed row."""
        indexes = self._indexes
        for number, cells in self._checked_end(self._rows):
            if not any(c not in (None, "") and (not isinstance(c, str) or c.strip()) for c in cells):
                continue
            if len(cells) > self._width and any(c not in (None, "") for c in cells[self._width :]):
                raise IngestError(
                    str(self.path),
                    f"has {len(cells)} cells but the header has {self._width}",
                    row=number,
                    tip="a value probably contains an unquoted delimiter; re-export with quoting",
                )
            values: dict[str, str | date | None] = {}
            width = len(cells)
            for fld, index in indexes.items():
                cell = cells[index] if index < width else None
                values[fld] = (cell.strip() or None) if type(cell) is str else _cell(cell)
            yield RawRow(number, values)

    def _checked_end(self, rows: Iterator[tuple[int, list[Any]]]) -> Iterator[tuple[int, list[Any]]]:
        """Pass rows through; a CSV whose last row is short and lacks its line end was cut off in transfer."""
        previous: tuple[int, list[Any]] | None = None
        for row in rows:
            if previous is not None:
                yield previous
            previous = row
        if previous is None:
            return
        number, cells = previous
        if self.truncated_tail and 0 < len(cells) < self._width:
            raise IngestError(
                str(self.path),
                f"ends in the middle of row {number} ({len(cells)} of {self._width} cells, no line end)",
                row=number,
                tip="the file looks truncated; copy or export it again",
            )
        yield previous

    def close(self) -> None:
        """Release the file."""
        if self._closer is not None:
            self._closer.close()
            self._closer = None

    def __enter__(self) -> CmmsFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _cell(value: Any) -> str | date | None:
    if type(value) is str:  # the common case first: this runs for every cell of every row
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def open_cmms(path: Path, mapping: ColumnMapping | None = None) -> CmmsFile:
    """Open a CSV or XLSX export and work out its columns; raise :class:`IngestError` if it can't be read."""
    mapping = mapping or ColumnMapping()
    name = str(path)
    if not path.is_file():
        raise IngestError(name, "no such file", tip="check the path")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        rows, closer = _xlsx_rows(path, mapping)
    elif suffix in (".csv", ".txt", ".tsv", ""):
        rows, closer = _csv_rows(path)
    elif suffix == ".xls":
        raise IngestError(name, "is an old binary Excel file", tip="save it as .xlsx or .csv and import that")
    else:
        raise IngestError(name, f"is not a CSV or XLSX file ({suffix})", tip="export the CMMS report as CSV or XLSX")
    try:
        header_row, headers, rows = _find_header(name, rows, mapping)
        columns, indexes, ignored = _assign(name, headers, mapping)
    except BaseException:
        closer.close()
        raise
    logger.debug("%s: header on row %d, columns %s", name, header_row, columns)
    export = CmmsFile(path, columns, ignored, header_row, mapping, rows, indexes, len(headers), closer)
    if suffix not in (".xlsx", ".xlsm"):
        with path.open("rb") as handle:
            handle.seek(-1, 2)
            export.truncated_tail = handle.read(1) not in (b"\n", b"\r")
    return export


def _csv_rows(path: Path) -> tuple[Iterator[tuple[int, list[Any]]], IO[str]]:
    name = str(path)
    with path.open("rb") as probe:
        sample = probe.read(1 << 16)
    if not sample.strip():
        raise IngestError(name, "is empty", tip="export the CMMS report again")
    if sample.startswith(b"PK\x03\x04"):
        raise IngestError(name, "is a zip/XLSX file with a .csv name", tip="rename it to .xlsx")
    if b"\x00" in sample:
        raise IngestError(name, "is not a text file (it contains NUL bytes)", tip="export the report as CSV")
    encoding = "utf-8-sig"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(sample) - 4:  # not merely a character cut by the sample boundary
            encoding = "cp1252"
    handle = path.open("r", encoding=encoding, newline="")
    first_line = sample.split(b"\n", 1)[0].decode(encoding.replace("-sig", ""), errors="replace")
    delimiter = max(",;\t|", key=first_line.count)
    reader = csv.reader(handle, delimiter=delimiter, strict=True)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):  # noqa: B007 - number is used after the loop
                yield number, cells
        except csv.Error as e:
            tip = "the file may be truncated or have a stray quote; re-export the report"
            raise IngestError(name, f"is not valid CSV ({e})", row=number + 1, tip=tip) from e
        except UnicodeDecodeError as e:
            raise IngestError(name, f"is not valid {encoding.replace('-sig', '').upper()} text", row=number + 1,
                              tip="save the export as UTF-8 CSV") from e  # fmt: skip

    return rows(), handle


def _xlsx_rows(path: Path, mapping: ColumnMapping) -> tuple[Iterator[tuple[int, list[Any]]], Any]:
    name = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > _MAX_UNCOMPRESSED_XLSX:
                raise IngestError(name, "expands to more than 1 GiB", tip="this is not a plausible CMMS export")
    except zipfile.BadZipFile as e:
        raise IngestError(name, "is not a valid XLSX file (not a zip archive)", tip="re-save it from Excel") from e
    import openpyxl  # noqa: PLC0415 - slow import, only needed for XLSX

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for damaged files
        raise IngestError(name, f"is not a readable XLSX file ({type(e).__name__})",
                          tip="open and re-save it in Excel, or export as CSV") from e  # fmt: skip
    if mapping.sheet is not None:
        if mapping.sheet not in book.sheetnames:
            book.close()
            raise MappingError(name, f"has no sheet {mapping.sheet!r}", tip=f"sheets: {', '.join(book.sheetnames)}")
        sheet: Any = book[mapping.sheet]
    else:
        sheet = book.worksheets[0]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(cells)
        except Exception as e:  # a damaged sheet part surfaces while streaming
            raise IngestError(name, f"is damaged ({type(e).__name__})", tip="re-save it from Excel") from e

    return rows(), book


def _find_header(
    name: str, rows: Iterator[tuple[int, list[Any]]], mapping: ColumnMapping
) -> tuple[int, list[str], Iterator[tuple[int, list[Any]]]]:
    """The header row and the rows after it.  Without a mapping, the first row that names two known fields."""
    wanted = {_key(h) for h in mapping.columns.values()}
    seen: list[tuple[int, list[Any]]] = []
    for number, cells in rows:
        headers = ["" if c is None else str(c).strip() for c in cells]
        if mapping.header_row is not None:
            if number == mapping.header_row:
                return number, headers, rows
            continue
        keys = {_key(h) for h in headers if h}
        known = sum(1 for k in keys if k in _SYNONYMS or k in wanted)
        if known >= 2:
            return number, headers, rows
        seen.append((number, cells))
        if len(seen) >= _HEADER_SCAN_ROWS:
            break
    if mapping.header_row is not None:
        raise IngestError(name, f"has no row {mapping.header_row} (header_row in the mapping)")
    if not seen:
        raise IngestError(name, "has no rows", tip="export the CMMS report again")
    first = ", ".join(repr(str(c)) for c in seen[0][1][:8] if c not in (None, ""))
    raise IngestError(
        name,
        f"has no recognisable header row in its first {len(seen)} rows (first row: {first or 'blank'})",
        tip="pass --mapping FILE naming the columns (see docs/cmms-import.md)",
    )


def _assign(name: str, headers: list[str], mapping: ColumnMapping) -> tuple[dict[str, str], dict[str, int], list[str]]:
    by_key: dict[str, int] = {}
    for index, header in enumerate(headers):
        if header:
            by_key.setdefault(_key(header), index)
    columns: dict[str, str] = {}
    indexes: dict[str, int] = {}
    for fld, header in mapping.columns.items():
        found = by_key.get(_key(header))
        if found is None:
            raise MappingError(name, f"has no column {header!r} (mapped to {fld})",
                               tip=f"columns: {', '.join(h for h in headers if h)}")  # fmt: skip
        columns[fld], indexes[fld] = headers[found], found
    taken = set(indexes.values())
    for index, header in enumerate(headers):
        field_name = _SYNONYMS.get(_key(header)) if header else None
        if field_name is not None and field_name not in indexes and index not in taken:
            columns[field_name], indexes[field_name] = header, index
            taken.add(index)
    if not any(f in indexes for f in IDENTITY_FIELDS):
        raise IngestError(
            name,
            "has no column for the asset tag, serial number or MAC address, so devices can't be identified "
            f"(columns: {', '.join(h for h in headers if h)})",
            tip="pass --mapping FILE naming the asset tag column",
        )
    ignored = [h for i, h in enumerate(headers) if h and i not in taken]
    return columns, indexes, ignored
