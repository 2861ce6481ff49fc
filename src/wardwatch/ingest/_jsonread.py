"""JSON reading shared by the vulnerability-record readers (``nvd``, ``cve5``): bounded, typed, one-line errors.

* :func:`open_text` opens plain or gzip files (by magic bytes) as UTF-8 text.
* :func:`load_document` parses a whole, size-capped file.
* :class:`JsonStream` reads one top-level object key by key and an array element by element with
  :meth:`json.JSONDecoder.raw_decode` over a buffered stream, so a 250,000-record NVD feed is read in
  bounded memory.
* :class:`Fields` gives typed access to a parsed object and raises :class:`Invalid` with the JSON path of a
  wrong value; the readers turn that into an :class:`~wardwatch.ingest.errors.IngestError` naming the file
  and record.

Deep nesting raises :class:`RecursionError` inside :mod:`json`; every entry point here turns it into
:class:`Invalid`.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

__all__ = [
    "MAX_VALUE_CHARS",
    "Fields",
    "Invalid",
    "JsonStream",
    "load_document",
    "open_text",
    "parse_date",
    "parse_datetime",
]

T = TypeVar("T")

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16
#: One record (or one whole small document) may not exceed this many characters.
MAX_VALUE_CHARS = 32 * 1024 * 1024
_WHITESPACE = " \t\n\r"


class Invalid(Exception):
    """A value is missing or has the wrong type; ``path`` is its JSON path inside the record."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


def open_text(path: Path) -> TextIO:
    """``path`` opened as UTF-8 text, decompressing gzip transparently (``OSError`` when unreadable)."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == _GZIP_MAGIC:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open(encoding="utf-8")


def load_document(path: Path, max_chars: int = MAX_VALUE_CHARS) -> Any:
    """The parsed JSON of a whole file of at most ``max_chars`` characters (decompressed).

    Raises :class:`Invalid` for a file too large, not UTF-8, not JSON or nested too deeply; ``OSError`` and
    ``EOFError``/``gzip.BadGzipFile`` pass through for the caller to translate.
    """
    with open_text(path) as handle:
        try:
            text = handle.read(max_chars + 1)
        except UnicodeDecodeError as e:
            raise Invalid("", f"is not UTF-8 text ({e.reason} at byte {e.start})") from e
    if len(text) > max_chars:
        raise Invalid("", f"is larger than {max_chars:,} characters")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise Invalid("", f"is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    except RecursionError as e:
        raise Invalid("", "is nested too deeply to be a vulnerability record") from e


class JsonStream:
    """An incremental reader of one JSON document from a text stream: values are decoded one at a time.

    Only a top-level object is walked token by token (:meth:`object_items`); every value inside it is decoded
    whole with ``raw_decode``, except an array the caller streams with :meth:`array_items`.
    """

    def __init__(self, handle: TextIO, max_value_chars: int = MAX_VALUE_CHARS) -> None:
        self._handle = handle
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._max = max_value_chars
        self._decoder = json.JSONDecoder()

    def _fill(self, at_least: int = _CHUNK) -> bool:
        """Read at least ``at_least`` more characters (fewer at the end); False when nothing was left."""
        if self._eof:
            return False
        if self._pos:
            self._buf = self._buf[self._pos :]
            self._pos = 0
        try:
            more = self._handle.read(max(at_least, _CHUNK))
        except UnicodeDecodeError as e:
            raise Invalid("", f"is not UTF-8 text ({e.reason})") from e
        if not more:
            self._eof = True
            return False
        self._buf += more
        return True

    def _skip_whitespace(self) -> None:
        """Move past whitespace, reading more as needed."""
        while True:
            buf, pos, n = self._buf, self._pos, len(self._buf)
            while pos < n and buf[pos] in _WHITESPACE:
                pos += 1
            self._pos = pos
            if pos < n or not self._fill():
                return

    def peek(self) -> str:
        """The next non-whitespace character, or ``""`` at the end of the input."""
        self._skip_whitespace()
        return self._buf[self._pos] if self._pos < len(self._buf) else ""

    def expect(self, allowed: str, what: str) -> str:
        """Consume the next non-whitespace character, which must be one of ``allowed``."""
        c = self.peek()
        if not c or c not in allowed:
            found = repr(c) if c else "the end of the file"
            raise Invalid("", f"is not valid JSON: expected {what}, found {found}")
        self._pos += 1
        return c

    def value(self) -> Any:
        """Decode the next complete JSON value."""
        self._skip_whitespace()
        while True:
            try:
                obj, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as e:
                if self._eof:
                    raise Invalid("", f"is not valid JSON or is truncated: {e.msg}") from e
            except RecursionError as e:
                raise Invalid("", "is nested too deeply to be a vulnerability record") from e
            else:
                # A number at the very end of the buffer may continue in the next chunk.
                if end < len(self._buf) or self._eof:
                    self._pos = end
                    return obj
            pending = len(self._buf) - self._pos
            if pending > self._max:
                raise Invalid("", f"has a value larger than {self._max:,} characters (or is not valid JSON)")
            self._fill(pending)  # doubling keeps re-decoding of a large value linear overall

    def object_items(self) -> Iterator[str]:
        """Walk the top-level object: yields each key; the caller must consume its value before resuming."""
        self.expect("{", "a JSON object at the top level")
        if self.peek() == "}":
            self._pos += 1
        else:
            while True:
                key = self.value()
                if not isinstance(key, str):
                    raise Invalid("", "is not valid JSON: an object key is not a string")
                self.expect(":", "':' after a key")
                yield key
                if self.expect(",}", "',' or '}'") == "}":
                    break
        if self.peek():
            raise Invalid("", "has data after the end of the JSON document")

    def array_items(self) -> Iterator[Any]:
        """Decode the array at the current position element by element."""
        self.expect("[", "an array")
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            yield self.value()
            if self.expect(",]", "',' or ']'") == "]":
                return


class Fields:
    """Typed access to one parsed JSON object, raising :class:`Invalid` with the JSON path of bad values.

    The path is built only when an error needs it: converting a large feed creates many of these.
    """

    __slots__ = ("_key", "_parent", "data")

    def __init__(self, data: object, path: str = "", *, parent: Fields | None = None, key: str = "") -> None:
        self._parent = parent
        self._key = key if parent is not None else path
        if not isinstance(data, dict):
            raise Invalid(self.path, f"expected an object, found {_kind(data)}")
        self.data: dict[str, Any] = data

    @property
    def path(self) -> str:
        """The JSON path of this object inside the record."""
        if self._parent is None:
            return self._key
        return self._parent.at(self._key) if not self._key.startswith("[") else self._parent.path + self._key

    def at(self, key: str) -> str:
        """The JSON path of ``key``."""
        path = self.path
        return f"{path}.{key}" if path else key

    def _typed(self, key: str, kind: type[T] | tuple[type, ...], name: str, required: bool) -> Any:
        """The value of ``key`` checked against ``kind``; ``None`` when absent/null and not ``required``."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise Invalid(self.at(key), f"is missing (expected {name})")
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise Invalid(self.at(key), f"expected {name}, found {_kind(value)}")
        return value

    def text(self, key: str, *, required: bool = False) -> str | None:
        """A string field."""
        value = self.data.get(key)
        if value.__class__ is str:
            return value
        checked: str | None = self._typed(key, str, "a string", required)
        return checked

    def required_text(self, key: str) -> str:
        """A string field that must be present."""
        value = self.data.get(key)
        if value.__class__ is str:
            return value
        checked: str = self._typed(key, str, "a string", True)
        return checked

    def number(self, key: str) -> float | None:
        """A numeric field, as ``float``."""
        value = self._typed(key, (int, float), "a number", False)
        return None if value is None else float(value)

    def flag(self, key: str) -> bool | None:
        """A boolean field."""
        value = self.data.get(key)
        if value.__class__ is bool:
            return value
        checked: bool | None = self._typed(key, bool, "true or false", False)
        return checked

    def objects(self, key: str) -> list[Fields]:
        """An array of objects (empty when absent)."""
        items: list[Any] = self._typed(key, list, "an array", False) or []
        if not items:
            return []
        holder = Fields({}, parent=self, key=key)
        return [Fields(item, parent=holder, key=f"[{i}]") for i, item in enumerate(items)]

    def strings(self, key: str) -> tuple[str, ...]:
        """An array of strings (empty when absent)."""
        items: list[Any] = self._typed(key, list, "an array", False) or []
        for i, item in enumerate(items):
            if item.__class__ is not str:
                raise Invalid(f"{self.at(key)}[{i}]", f"expected a string, found {_kind(item)}")
        return tuple(items)

    def child(self, key: str) -> Fields | None:
        """A nested object, or ``None`` when absent."""
        value = self.data.get(key)
        return None if value is None else Fields(value, parent=self, key=key)

    def datetime(self, key: str) -> datetime | None:
        """An ISO 8601 timestamp as an aware UTC datetime (timestamps without an offset are UTC)."""
        value = self.text(key)
        return None if value is None else parse_datetime(value, self.at(key))

    def date(self, key: str) -> date | None:
        """An ISO 8601 date (a timestamp's date part is accepted)."""
        value = self.text(key)
        return None if value is None else parse_date(value, self.at(key))


def parse_datetime(value: str, path: str) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime; naive timestamps (NVD, many CVE records) are UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as e:
        raise Invalid(path, f"{value[:40]!r} is not an ISO 8601 timestamp") from e
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(value: str, path: str) -> date:
    """An ISO 8601 date (``2024-05-20``; a full timestamp gives its UTC date)."""
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        return parse_datetime(text, path).date()


def _kind(value: object) -> str:
    """A JSON-ish name of the type of ``value``, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__
