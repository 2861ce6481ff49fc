"""Write a simulated hospital to disk: the CMMS export (CSV, XLSX) and the ground truth for tests."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from wardwatch.simulate._cmms import CMMS_HEADERS, PLACEHOLDERS, iter_rows
from wardwatch.simulate._devices import VLANS
from wardwatch.simulate._model import Hospital

logger = logging.getLogger(__name__)

#: ``progress(stage, done, total)``; stages are the file names being written.
Progress = Callable[[str, int, int], None]

#: Sizes for which an XLSX copy of the export is written (XLSX of 200,000 rows is slow and pointless).
XLSX_SIZES: tuple[str, ...] = ("small", "medium")
_PROGRESS_EVERY = 5_000


def _write_csv(hospital: Hospital, path: Path, progress: Progress | None, keep: bool) -> dict[str, Any]:
    """Stream the CSV; collect the truth about it on the way (one pass over the devices)."""
    total = hospital.cmms_row_count
    first_row: dict[int, int] = {}
    manufacturers: dict[str, str] = {}
    groups: list[list[int]] = []
    kept: list[tuple[str, ...]] = []
    by_type: dict[str, int] = {}
    networked = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(CMMS_HEADERS)
        for done, row in enumerate(iter_rows(hospital), start=1):
            writer.writerow(row.cells)
            if keep:
                kept.append(row.cells)
            device = row.device
            if row.is_duplicate:
                groups.append([first_row[device.index], row.row_number])
            else:
                first_row[device.index] = row.row_number
                manufacturers[row.cells[0].strip()] = device.manufacturer
                by_type[device.device_type] = by_type.get(device.device_type, 0) + 1
                networked += device.networked
            if progress is not None and (done % _PROGRESS_EVERY == 0 or done == total):
                progress(path.name, done, total)
    groups.sort()
    return {
        "duplicate_rows": groups,
        "manufacturers": manufacturers,
        "rows": kept,
        "device_types": dict(sorted(by_type.items())),
        "networked": networked,
    }


def _write_xlsx(path: Path, rows: list[tuple[str, ...]], progress: Progress | None) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Equipment")
    sheet.append(list(CMMS_HEADERS))
    for done, cells in enumerate(rows, start=1):
        sheet.append(list(cells))
        if progress is not None and (done % _PROGRESS_EVERY == 0 or done == len(rows)):
            progress(path.name, done, len(rows))
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_without_timestamps(buffer.getvalue()))


_FIXED_ZIP_TIME = (2025, 1, 1, 0, 0, 0)
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _without_timestamps(xlsx: bytes) -> bytes:
    """Pin the save time openpyxl and zipfile take from the clock, so equal rows give equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(rb"\g<1>2025-01-01T00:00:00Z\g<2>", data)
            info = zipfile.ZipInfo(entry.filename, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    return out.getvalue()


def _truth(hospital: Hospital, csv_facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "size": hospital.size,
        "seed": hospital.seed,
        "sites": [
            {
                "site_id": s.site_id,
                "code": s.code,
                "name": s.name,
                "kind": s.kind,
                "buildings": list(s.buildings),
            }
            for s in hospital.sites
        ],
        "units": [
            {
                "unit_id": u.unit_id,
                "site_id": u.site_id,
                "name": u.name,
                "building": u.building,
                "code": u.code,
            }
            for u in hospital.units
        ],
        "device_count": hospital.device_count,
        "cmms_row_count": hospital.cmms_row_count,
        "networked_device_count": csv_facts["networked"],
        "device_types": csv_facts["device_types"],
        "vlans": VLANS,
        "placeholders": list(PLACEHOLDERS),
        "duplicate_rows": csv_facts["duplicate_rows"],
        "manufacturers": csv_facts["manufacturers"],
    }


def write(hospital: Hospital, out_dir: Path, progress: Progress | None = None) -> list[Path]:
    """Write ``cmms_export.csv``, ``cmms_export.xlsx`` (small, medium) and ``truth.json`` to ``out_dir``.

    The CSV is UTF-8 with a BOM and CRLF line endings, streamed row by row. Writing the same hospital twice
    gives byte-identical files. Returns the paths written, in that order.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "cmms_export.csv"
    want_xlsx = hospital.size in XLSX_SIZES
    logger.debug("writing %d CMMS rows to %s", hospital.cmms_row_count, csv_path)
    facts = _write_csv(hospital, csv_path, progress, keep=want_xlsx)
    paths = [csv_path]
    if want_xlsx:
        xlsx_path = out_dir / "cmms_export.xlsx"
        _write_xlsx(xlsx_path, facts["rows"], progress)
        paths.append(xlsx_path)
    truth_path = out_dir / "truth.json"
    truth = _truth(hospital, facts)
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if progress is not None:
        progress(truth_path.name, 1, 1)
    paths.append(truth_path)
    return paths
