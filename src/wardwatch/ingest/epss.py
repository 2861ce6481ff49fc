"""FIRST EPSS scores: the daily CSV (``epss_scores-YYYY-MM-DD.csv.gz``, gzip or plain) -> :class:`EpssScore`.

The file looks like::

    #model_version:v2025.03.14,score_date:2025-03-15T00:00:00+0000
    cve,epss,percentile
    CVE-1999-0001,0.00383,0.73075

The comment line is optional (files before 2022 lack it; then model version and date are ``None``).
:func:`iter_epss` streams one line at a time, so memory stays bounded whatever the file size; the
decompressed size is capped (2 GiB by default; today's file is ~10 MB) and so is a line's length, so gzip
bombs fail fast.  A row that is not ``CVE id, number in [0,1], number in [0,1]`` raises
:class:`~wardwatch.ingest.errors.IngestError` naming its line (``row``, 1-based, counting the comment line).
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from wardwatch.domain.intel import EpssScore
from wardwatch.ingest._bounded import GIB, open_binary
from wardwatch.ingest.errors import IngestError

__all__ = ["iter_epss", "read_epss"]

#: Decompressed bytes read at most (the full 2025 file is ~10 MB, 300,000 rows).
MAX_BYTES = 2 * GIB
#: Rows :func:`read_epss` keeps in memory at most (about 30 times today's file).
MAX_ROWS = 10_000_000
_MAX_LINE = 4096
_BLOCK = 1 << 20
_UNIT = r"(0(?:\.\d*)?|1(?:\.0*)?|\.\d+)"  # a plain decimal in [0, 1]
_ROW = re.compile(rf"^(CVE-\d{{4}}-\d{{4,19}}),{_UNIT},{_UNIT}\r?$", re.MULTILINE)
_CVE = re.compile(r"CVE-\d{4}-\d{4,19}")
_HEADER = "cve,epss,percentile"
_TIP = "download the file again from https://epss.cyentia.com/epss_scores-current.csv.gz"


def iter_epss(path: Path, *, max_bytes: int = MAX_BYTES) -> Iterator[EpssScore]:
    """Stream the scores of an EPSS file, each carrying the model version and score date of its first line."""
    for batch in _batches(path, max_bytes):
        yield from batch


def read_epss(path: Path, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> dict[str, EpssScore]:
    """All scores of an EPSS file by CVE id; a CVE listed twice raises (the file is not a daily snapshot)."""
    scores: dict[str, EpssScore] = {}
    count = 0
    for batch in _batches(path, max_bytes):
        count += len(batch)
        if count > max_rows:
            raise IngestError(str(path), f"has more than {max_rows:,} scores", tip="use iter_epss to stream it")
        fresh = {score.cve: score for score in batch}
        if len(fresh) != len(batch) or not scores.keys().isdisjoint(fresh):
            counts = Counter(score.cve for score in batch)
            duplicate = next((cve for cve, n in counts.items() if n > 1), None) or next(c for c in fresh if c in scores)
            raise IngestError(str(path), f"lists {duplicate} twice", column="cve", tip=_TIP)
        scores.update(fresh)
    return scores


def _batches(path: Path, max_bytes: int) -> Iterator[list[EpssScore]]:
    """The scores of each block of the file (about 30,000 rows), after its comment and header lines."""
    name = str(path)
    model_version: str | None = None
    score_date: date | None = None
    in_body = False
    with open_binary(path) as stream:
        for row, block in _blocks(name, stream, max_bytes):
            text = block
            while not in_body and text:
                line, _, text = text.partition("\n")
                if row == 1 and line.startswith("#"):
                    model_version, score_date = _comment(name, line)
                elif line.strip().lstrip("\ufeff").lower() == _HEADER:
                    in_body = True
                else:
                    raise IngestError(name, f"has header {line.strip()[:60]!r}, expected {_HEADER!r}", row=row,
                                      tip="only EPSS v2+ files (with percentiles) are supported; " + _TIP)  # fmt: skip
                row += 1
            if not text:
                continue
            # Fast path: one regex pass over the block (C speed) that also checks both numbers are in [0, 1];
            # a block with any other line (blank, exponent notation, or bad) is read line by line.
            fields = _ROW.findall(text)
            if len(fields) != text.count("\n") + (not text.endswith("\n")):
                fields = [_fields(name, number, line) for number, line in enumerate(text.splitlines(), start=row)]
                fields = [field for field in fields if field[0]]
            yield [EpssScore(cve, float(epss), float(pct), model_version, score_date) for cve, epss, pct in fields]
    if not in_body:
        raise IngestError(name, "is empty" if model_version is None else "has no header line", tip=_TIP)


def _blocks(name: str, stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, str]]:
    """(number of its first line, text of whole lines) for each block of the file, size and line length capped."""
    row = 1
    total = 0
    pending = b""
    while True:
        try:
            chunk = stream.read(_BLOCK)
        except (EOFError, gzip.BadGzipFile, zlib.error) as e:
            raise IngestError(name, f"is a truncated or corrupt gzip file ({e})", row=row, tip=_TIP) from e
        total += len(chunk)
        if total > max_bytes:
            raise IngestError(name, f"expands to more than {max_bytes:,} bytes", row=row,
                              tip="this is not a plausible EPSS file")  # fmt: skip
        data = pending + chunk
        cut = data.rfind(b"\n") + 1 if chunk else len(data)
        whole, pending = data[:cut], data[cut:]
        if len(pending) > _MAX_LINE:
            raise IngestError(name, f"line is longer than {_MAX_LINE} bytes", row=row + whole.count(b"\n"),
                              tip=_TIP)  # fmt: skip
        if whole:
            try:
                text = whole.decode("utf-8")
            except UnicodeDecodeError as e:
                bad_row = row + whole.count(b"\n", 0, e.start)
                raise IngestError(name, f"line is not UTF-8 text (byte {e.start})", row=bad_row, tip=_TIP) from e
            yield row, text
            row += text.count("\n")
        if not chunk:
            return


def _fields(name: str, row: int, line: str) -> tuple[str, str, str]:
    """The three fields of one line, or ``("", "", "")`` for a blank line; raises on anything else."""
    if not line.strip():
        return "", "", ""
    fields = line.rstrip("\r").split(",")
    if len(fields) != 3:
        raise IngestError(name, f"line has {len(fields)} fields, expected 3 (cve,epss,percentile)", row=row, tip=_TIP)
    cve, epss_text, percentile_text = fields
    if not _CVE.fullmatch(cve):
        raise IngestError(name, f"{cve[:40]!r} is not a CVE id", row=row, column="cve", tip=_TIP)
    _probability(name, row, "epss", epss_text)
    _probability(name, row, "percentile", percentile_text)
    return cve, epss_text, percentile_text


def _probability(name: str, row: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise IngestError(name, f"{text[:40]!r} is not a number between 0 and 1", row=row, column=column, tip=_TIP)
    return value


def _comment(name: str, line: str) -> tuple[str | None, date | None]:
    """Parse ``#model_version:v2025.03.14,score_date:2025-03-15T00:00:00+0000``."""
    fields: dict[str, str] = {}
    for part in line.lstrip("#").strip().split(","):
        key, _, value = part.partition(":")
        fields[key.strip()] = value.strip()
    model_version = fields.get("model_version") or None
    text = fields.get("score_date")
    if not text:
        return model_version, None
    for parse in (lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%S%z"), datetime.fromisoformat):
        try:
            return model_version, parse(text).date()
        except ValueError:
            continue
    raise IngestError(name, f"score_date {text[:40]!r} is not a date", row=1, column="score_date", tip=_TIP)
