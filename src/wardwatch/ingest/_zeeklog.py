"""A small streaming reader for Zeek log files: TSV (``LogAscii`` default) and JSON lines, plain or gzip.

It turns each data line into a :class:`Record` of field name -> raw text, keeping Zeek's three states apart:
an unset field (``-`` in TSV, a missing key in JSON) is ``None``; an empty field (``(empty)``) is ``""`` or an
empty tuple; anything else is the text as logged (``\\xHH`` and ``\\\\`` escapes undone).  Nothing is invented
(see STYLE 5: the counter-example is zat's ``dash_mapper``).  Meaning is the mappers' job (``ingest.zeek``).

Error policy:

- a file with no recognisable header (first line neither ``#separator`` nor a JSON object, or TSV data before
  ``#fields``), a truncated or corrupt gzip stream, or an unreadable file raises
  :class:`~wardwatch.ingest.errors.IngestError` naming the file and line;
- a bad line in the middle of a log (wrong number of fields, invalid UTF-8, invalid JSON, longer than
  ``max_line_bytes``) is yielded as a :class:`BadLine` so the caller can count and skip it.

Memory is bounded: one line at a time, each capped at ``max_line_bytes`` (an over-long line is skipped in
chunks, never held).
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from wardwatch.ingest.errors import IngestError

__all__ = ["MAX_LINE_BYTES", "BadLine", "FieldValue", "Record", "ZeekLogFile"]

MAX_LINE_BYTES = 1 << 20
"""Longest line accepted (1 MiB): far above any real Zeek line, far below a memory problem."""

FieldValue = str | tuple[str, ...] | None
"""One field: text, a set/vector's elements, or ``None`` when Zeek left it unset."""

_GZIP_MAGIC = b"\x1f\x8b"
_SKIP_CHUNK = 1 << 16
_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|\\)")
_CONTAINER_TYPES = ("set[", "vector[", "table[")
_TIP = "check that this is a Zeek log (TSV with #fields headers, or JSON lines from LogAscii::use_json=T)"


@dataclass(frozen=True, slots=True)
class Record:
    """One log line's fields by Zeek name (``id.orig_h``, ``certificate.subject``...)."""

    line: int
    """1-based physical line number in the file (header lines count, so ``sed -n Np`` finds it)."""
    fields: dict[str, FieldValue]
    """Field name -> value; a field the log does not have is simply absent."""

    def text(self, *names: str) -> str | None:
        """The first of ``names`` that is set and not empty, as text (a container's elements comma-joined)."""
        for name in names:
            value = self.fields.get(name)
            if isinstance(value, tuple):
                value = ",".join(value)
            if value:
                return value
        return None

    def items(self, name: str) -> tuple[str, ...]:
        """A set/vector field's elements (a scalar becomes one element; unset or empty gives ``()``)."""
        value = self.fields.get(name)
        if value is None or value == "":
            return ()
        return value if isinstance(value, tuple) else (value,)

    def number(self, name: str) -> float | None:
        """A numeric field (count, port, time, interval); ``None`` when unset or not a number."""
        value = self.fields.get(name)
        if not isinstance(value, str):
            return None
        try:
            return float(value)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be read; the caller counts and skips it."""

    line: int
    """1-based line number."""
    reason: str
    """Why (``wrong number of fields (12, expected 21)``...)."""


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    # Zeek writes non-printable bytes as \xHH (one byte each, so multi-byte UTF-8 arrives split) and a
    # backslash as \\; undo both in one pass, then decode the bytes as UTF-8.
    out = bytearray()
    pos = 0
    for match in _ESCAPE.finditer(value):
        out += value[pos : match.start()].encode()
        out += bytes((int(match.group(1), 16),)) if match.group(1) else b"\\"
        pos = match.end()
    out += value[pos:].encode()
    return out.decode("utf-8", errors="backslashreplace")


def _json_text(value: object) -> str:
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode() if isinstance(value, dict) else str(value)


class ZeekLogFile:
    """One Zeek log file, opened: its format and log path known, its records streamed by :meth:`records`.

    Use as a context manager.  Opening reads the header (TSV) or the first object (JSON) and raises
    :class:`IngestError` when the file is not a Zeek log.
    """

    def __init__(self, path: Path, *, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.file = path
        """The file."""
        self.max_line_bytes = max_line_bytes
        """Longest line accepted."""
        self.format = ""
        """``tsv`` or ``json`` once opened."""
        self.log_path = ""
        """Zeek's log path (``conn``, ``dns``...): the ``#path`` header, the JSON ``_path`` or the file name."""
        self.empty = False
        """True when the file holds no lines at all (nothing to read, not an error)."""
        self._stream: BinaryIO | None = None
        self._raw: BinaryIO | None = None
        self._lines: Iterator[tuple[int, bytes | None]] = iter(())
        self._pending: tuple[int, bytes | None] | None = None
        self._sep = "\t"
        self._set_sep = ","
        self._empty = "(empty)"
        self._unset = "-"
        self._fields: list[str] = []
        self._containers: list[bool] = []
        self._line = 0

    def error(self, message: str, line: int | None = None, tip: str | None = _TIP) -> IngestError:
        """An :class:`IngestError` about this file."""
        return IngestError(str(self.file), message, row=line, tip=tip)

    def __enter__(self) -> ZeekLogFile:
        """Open the file and read its header."""
        try:
            raw: BinaryIO = open(self.file, "rb")  # noqa: SIM115 - closed in __exit__
        except OSError as e:
            raise self.error(f"cannot be read ({e.strerror})", tip="check the path and permissions") from e
        self._raw = stream = raw
        if raw.read(2) == _GZIP_MAGIC:
            stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        raw.seek(0)
        self._stream = stream
        self._lines = self._read_lines(stream)
        try:
            self._read_header()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *_: object) -> None:
        """Close the file."""
        for stream in (self._stream, self._raw):  # GzipFile.close() leaves the file it wraps open
            if stream is not None:
                stream.close()
        self._stream = self._raw = None

    def _read_lines(self, stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
        """(line number, bytes without the newline) or ``None`` bytes for an over-long line."""
        limit = self.max_line_bytes
        while True:
            self._line += 1
            try:
                data = stream.readline(limit + 1)
                if len(data) > limit and not data.endswith(b"\n"):
                    while (chunk := stream.readline(_SKIP_CHUNK)) and not chunk.endswith(b"\n"):
                        pass
                    yield self._line, None
                    continue
            except (EOFError, gzip.BadGzipFile, zlib.error) as e:
                raise self.error(
                    f"is a truncated or corrupt gzip file ({e})",
                    self._line,
                    tip="copy the log again; lines before this one were read",
                ) from e
            except OSError as e:
                raise self.error(f"cannot be read ({e})", self._line, tip="check the file") from e
            if not data:
                return
            yield self._line, data.rstrip(b"\r\n")

    def _next(self) -> tuple[int, bytes | None] | None:
        return next(self._lines, None)

    def _read_header(self) -> None:
        first = self._next()
        while first is not None and first[1] is not None and not first[1].strip():
            first = self._next()
        if first is None:
            self.empty = True
            return
        line, data = first
        if data is not None and data.startswith(b"#separator"):
            self.format = "tsv"
            self._read_tsv_header(line, data)
        elif data is not None and data.lstrip().startswith(b"{"):
            self.format = "json"
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError as e:
                raise self.error(f"starts like JSON but is not ({e})", line) from e
            path = obj.get("_path") if isinstance(obj, dict) else None
            self.log_path = path if isinstance(path, str) and path else self.file.name.split(".")[0]
            self._pending = first
        else:
            raise self.error("is not a Zeek log (no #separator/#fields header and not JSON lines)", line)

    def _read_tsv_header(self, line: int, data: bytes) -> None:
        item: tuple[int, bytes | None] | None = (line, data)
        while item is not None:
            line, payload = item
            if payload is None or not payload.startswith(b"#"):
                break
            self._header_line(line, payload)
            item = self._next()
        if not self._fields:
            raise self.error("has no #fields header before its first data line", line)
        self._pending = item

    def _header_line(self, line: int, data: bytes) -> None:
        try:
            text = data.decode()
        except UnicodeDecodeError as e:
            raise self.error("has a header line that is not UTF-8", line) from e
        if text.startswith("#separator"):
            self._sep = _unescape(text[len("#separator") :].strip()) or "\t"
            return
        key, _, value = text[1:].partition(self._sep)
        if key == "set_separator":
            self._set_sep = _unescape(value)
        elif key == "empty_field":
            self._empty = value
        elif key == "unset_field":
            self._unset = value
        elif key == "path":
            self.log_path = value
        elif key == "fields":
            self._fields = value.split(self._sep)
            self._containers = [False] * len(self._fields)
        elif key == "types":
            types = value.split(self._sep)
            if len(types) == len(self._fields):
                self._containers = [t.startswith(_CONTAINER_TYPES) for t in types]

    def records(self) -> Iterator[Record | BadLine]:
        """Stream the data lines as records (or :class:`BadLine` for a line to count and skip)."""
        item = self._pending
        self._pending = None
        if item is None:
            item = self._next()
        while item is not None:
            line, data = item
            if data is None:
                yield BadLine(line, f"longer than {self.max_line_bytes} bytes")
            elif not data.strip():
                pass  # blank lines carry nothing
            elif self.format == "json":
                yield self._json_record(line, data)
            elif data.startswith(b"#"):
                # #close, or a new header block where logs were concatenated: follow it.
                if data.startswith(b"#separator"):
                    self._fields = []
                self._header_line(line, data)
            else:
                yield self._tsv_record(line, data)
            item = self._next()

    def _tsv_record(self, line: int, data: bytes) -> Record | BadLine:
        if not self._fields:
            return BadLine(line, "data line after a #separator without #fields")
        try:
            text = data.decode()
        except UnicodeDecodeError:
            return BadLine(line, "not valid UTF-8")
        values = text.split(self._sep)
        if len(values) != len(self._fields):
            return BadLine(line, f"wrong number of fields ({len(values)}, expected {len(self._fields)})")
        fields: dict[str, FieldValue] = {}
        for name, value, container in zip(self._fields, values, self._containers, strict=True):
            if value == self._unset:
                fields[name] = None
            elif container:
                elements = () if value == self._empty else value.split(self._set_sep)
                fields[name] = tuple(_unescape(v) for v in elements)
            else:
                fields[name] = "" if value == self._empty else _unescape(value)
        return Record(line, fields)

    def _json_record(self, line: int, data: bytes) -> Record | BadLine:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return BadLine(line, "not valid JSON (or not UTF-8)")
        if not isinstance(obj, dict):
            return BadLine(line, "not a JSON object")
        fields: dict[str, FieldValue] = {}
        for name, value in obj.items():
            if value is None:
                fields[name] = None
            elif isinstance(value, list):
                fields[name] = tuple(_json_text(v) for v in value)
            else:
                fields[name] = _json_text(value)
        return Record(line, fields)
