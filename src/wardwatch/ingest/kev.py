"""CISA Known Exploited Vulnerabilities (KEV) catalog: the JSON feed and its CSV form -> :class:`KevCatalog`.

JSON (``known_exploited_vulnerabilities.json``)::

    {"title", "catalogVersion", "dateReleased", "count",
     "vulnerabilities": [{"cveID", "vendorProject", "product", "vulnerabilityName", "dateAdded",
                          "shortDescription", "requiredAction", "dueDate", "knownRansomwareCampaignUse",
                          "notes", "cwes": [...]}]}

The CSV form has one row per vulnerability with the same column names (``cwes`` comma-separated) and no
catalog header, so its version and release date are ``None``.  Plain or gzip files are accepted (detected by
content).  The whole catalog is checked before anything is returned: a bad entry, a duplicate CVE or a
``count`` that disagrees with the entries raises :class:`~wardwatch.ingest.errors.IngestError` naming the
entry (1-based, ``row``) and field.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from wardwatch.domain.intel import KevEntry
from wardwatch.ingest._bounded import MIB, read_capped
from wardwatch.ingest.errors import IngestError

__all__ = ["KevCatalog", "read_kev"]

#: The real catalog is ~1.3 MB (2025); anything past this is not a KEV catalog.
MAX_BYTES = 256 * MIB

_CVE = re.compile(r"^CVE-\d{4}-\d{4,19}$")
_CWE = re.compile(r"^CWE-\d+$")
_REQUIRED = ("cveID", "vendorProject", "product", "vulnerabilityName", "dateAdded", "requiredAction")
_TIP = "download the catalog again from https://www.cisa.gov/known-exploited-vulnerabilities-catalog"


@dataclass(frozen=True, slots=True)
class KevCatalog:
    """One KEV catalog release."""

    catalog_version: str | None
    """``catalogVersion`` (``2025.08.25``); ``None`` for the CSV form, which does not carry it."""
    released: datetime | None
    """``dateReleased`` (UTC); ``None`` for the CSV form."""
    entries: tuple[KevEntry, ...]
    """The entries, in catalog order (newest first as CISA publishes it)."""
    title: str | None = None
    """The catalog's ``title``."""


def read_kev(path: Path) -> KevCatalog:
    """Read a KEV catalog, JSON or CSV (chosen by content: JSON starts with ``{``)."""
    data = read_capped(path, limit=MAX_BYTES, what="KEV catalog")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"{":
        return _read_json(str(path), data)
    return _read_csv(str(path), data)


def _read_json(name: str, data: bytes) -> KevCatalog:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise IngestError(name, f"is not valid JSON ({e})", tip=_TIP) from e
    if not isinstance(document, dict):
        raise IngestError(name, "is not a KEV catalog (the top level is not an object)", tip=_TIP)
    vulnerabilities = document.get("vulnerabilities")
    if not isinstance(vulnerabilities, list):
        raise IngestError(name, "has no 'vulnerabilities' list", column="vulnerabilities", tip=_TIP)
    entries = _entries(name, vulnerabilities)
    count = document.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count != len(entries)):
        raise IngestError(name, f"says count {count!r} but lists {len(entries)} vulnerabilities",
                          column="count", tip="the file is probably truncated or edited; " + _TIP)  # fmt: skip
    return KevCatalog(
        catalog_version=_optional_text(document.get("catalogVersion")),
        released=_released(name, document.get("dateReleased")),
        entries=entries,
        title=_optional_text(document.get("title")),
    )


def _read_csv(name: str, data: bytes) -> KevCatalog:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise IngestError(name, f"is not UTF-8 text (byte {e.start})", tip=_TIP) from e
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [column for column in _REQUIRED if column not in header]
    if missing:
        raise IngestError(name, f"is not a KEV catalog CSV (no column {', '.join(missing)})", row=1, tip=_TIP)
    try:
        rows = list(reader)
    except csv.Error as e:
        raise IngestError(name, f"is not valid CSV ({e})", row=reader.line_num, tip=_TIP) from e
    records: list[dict[str, Any]] = []
    for row in rows:
        record: dict[str, Any] = dict(row)
        cwes = row.get("cwes") or ""
        record["cwes"] = [part.strip() for part in cwes.split(",") if part.strip()]
        records.append(record)
    # CSV rows are numbered as a spreadsheet shows them: the header is row 1.
    return KevCatalog(catalog_version=None, released=None, entries=_entries(name, records, first_row=2))


def _entries(name: str, records: Iterable[Any], *, first_row: int = 1) -> tuple[KevEntry, ...]:
    entries: list[KevEntry] = []
    seen: dict[str, int] = {}
    for row, record in enumerate(records, start=first_row):
        entry = _entry(name, row, record)
        if entry.cve in seen:
            raise IngestError(name, f"lists {entry.cve} again (first at row {seen[entry.cve]})",
                              row=row, column="cveID", tip=_TIP)  # fmt: skip
        seen[entry.cve] = row
        entries.append(entry)
    return tuple(entries)


def _entry(name: str, row: int, record: Any) -> KevEntry:
    if not isinstance(record, Mapping):
        raise IngestError(name, "entry is not an object", row=row, tip=_TIP)
    for column in _REQUIRED:
        value = record.get(column)
        if not isinstance(value, str) or not value.strip():
            raise IngestError(name, "missing or empty value", row=row, column=column, tip=_TIP)
    cve = record["cveID"].strip()
    if not _CVE.match(cve):
        raise IngestError(name, f"{cve!r} is not a CVE id", row=row, column="cveID", tip=_TIP)
    cwes = record.get("cwes") or []
    if not isinstance(cwes, list) or not all(isinstance(cwe, str) and _CWE.match(cwe) for cwe in cwes):
        raise IngestError(name, f"{cwes!r} is not a list of CWE ids", row=row, column="cwes", tip=_TIP)
    return KevEntry(
        cve=cve,
        vendor=record["vendorProject"].strip(),
        product=record["product"].strip(),
        name=record["vulnerabilityName"].strip(),
        date_added=_date(name, row, "dateAdded", record["dateAdded"]),
        due_date=_optional_date(name, row, "dueDate", record.get("dueDate")),
        required_action=record["requiredAction"].strip(),
        ransomware=_optional_text(record.get("knownRansomwareCampaignUse")),
        notes=_optional_text(record.get("notes")),
        cwes=tuple(cwes),
    )


def _optional_text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _date(name: str, row: int, column: str, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as e:
        raise IngestError(name, f"{value!r} is not a date (YYYY-MM-DD)", row=row, column=column, tip=_TIP) from e


def _optional_date(name: str, row: int, column: str, value: object) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise IngestError(name, f"{value!r} is not a date (YYYY-MM-DD)", row=row, column=column, tip=_TIP)
    return _date(name, row, column, value)


def _released(name: str, value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            released = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if released.tzinfo is not None:
                return released
    raise IngestError(name, f"{value!r} is not a UTC date-time", column="dateReleased", tip=_TIP)
