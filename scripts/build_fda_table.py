"""Rebuild ``src/wardwatch/data/fda_product_codes.csv.gz`` from the FDA product classification file.

Usage::

    .venv/bin/python scripts/build_fda_table.py /path/to/foiclass.txt [output.csv.gz]

``foiclass.txt`` is the pipe-separated file inside ``foiclass.zip`` from the FDA product classification
database (https://www.fda.gov/medical-devices/classify-your-medical-device/download-product-code-classification-files).
The output keeps eight columns, sorted by product code, and is written reproducibly (gzip mtime 0), so
rebuilding from the same input gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import logging
import sys
from pathlib import Path

logger = logging.getLogger("build_fda_table")

#: Output column -> column of foiclass.txt.
COLUMNS: dict[str, str] = {
    "product_code": "PRODUCTCODE",
    "device_name": "DEVICENAME",
    "device_class": "DEVICECLASS",
    "review_panel": "REVIEW_PANEL",
    "medical_specialty": "MEDICALSPECIALTY",
    "regulation_number": "REGULATIONNUMBER",
    "implant_flag": "Implant_Flag",
    "life_sustain_support_flag": "Life_Sustain_support_flag",
}

#: FDA publishes the file in Windows-1252 (curly quotes in the definitions), not UTF-8.
SOURCE_ENCODING = "cp1252"

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "src" / "wardwatch" / "data" / "fda_product_codes.csv.gz"


def read_rows(source: Path) -> list[dict[str, str]]:
    """The kept columns of every row of ``source``, whitespace trimmed, sorted by product code."""
    with source.open(encoding=SOURCE_ENCODING, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="|", quoting=csv.QUOTE_NONE)
        missing = [c for c in COLUMNS.values() if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"{source}: missing columns {missing}; is this foiclass.txt?")
        rows = [{out: (row[col] or "").strip() for out, col in COLUMNS.items()} for row in reader]
    rows = [r for r in rows if r["product_code"]]
    codes = [r["product_code"] for r in rows]
    if len(codes) != len(set(codes)):
        raise SystemExit(f"{source}: duplicate product codes; the table expects one row per code")
    return sorted(rows, key=lambda r: r["product_code"])


def write_table(rows: list[dict[str, str]], output: Path) -> None:
    """Write ``rows`` as a gzip CSV (UTF-8, LF line ends, gzip mtime 0 for reproducible bytes)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with output.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.getvalue().encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build the table, log what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="path to foiclass.txt")
    parser.add_argument("output", type=Path, nargs="?", default=DEFAULT_OUTPUT, help="output .csv.gz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    rows = read_rows(args.source)
    write_table(rows, args.output)
    logger.info("wrote %d product codes to %s", len(rows), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
