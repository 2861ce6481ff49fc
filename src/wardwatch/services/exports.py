"""Writing exports (CSV, JSON, XLSX) that are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell value that a spreadsheet will not run as a formula (CSV injection), dates as ISO text.

    >>> safe_cell("=HYPERLINK(1)"), safe_cell("-5"), safe_cell(3)
    ("'=HYPERLINK(1)", '-5', 3)
    """
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def write_export(rows: Iterable[Mapping[str, Any]], path: Path, fmt: str, columns: Sequence[str]) -> int:
    """Write rows to ``path`` as csv, json or xlsx; return how many.  Written to a temporary file first."""
    partial = path.with_name(path.name + ".partial")
    count = 0
    try:
        if fmt == "csv":
            with partial.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(columns)
                for row in rows:
                    writer.writerow([safe_cell(row.get(c)) for c in columns])
                    count += 1
        elif fmt == "json":
            with partial.open("w", encoding="utf-8") as handle:
                handle.write("[")
                for row in rows:
                    handle.write(
                        ("," if count else "") + "\n" + json.dumps({c: safe_json(row.get(c)) for c in columns})
                    )
                    count += 1
                handle.write("\n]\n")
        elif fmt == "xlsx":
            import openpyxl  # noqa: PLC0415 - slow import, only for XLSX

            book = openpyxl.Workbook(write_only=True)
            sheet = book.create_sheet("devices")
            sheet.append(list(columns))
            for row in rows:
                sheet.append([safe_cell(row.get(c)) for c in columns])
                count += 1
            book.save(partial)
        else:
            raise ValueError(f"unknown export format {fmt!r}")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return count


def safe_json(value: Any) -> Any:
    """A JSON-ready value (dates as ISO text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
