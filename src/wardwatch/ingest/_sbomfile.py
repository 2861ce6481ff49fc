"""Shared, hostile-input-safe plumbing of the SBOM and VEX readers (cyclonedx, spdx, openvex).

Every reader goes through :func:`read_capped` (a size cap checked before anything is parsed),
:func:`load_json` (truncation and nesting bombs become :class:`IngestError`), and the typed accessors of
:class:`Json`, which name the element that is wrong (``components[3].purl``) so that the single error line
points at the problem.  :func:`looks_like` names what a file seems to be when it is given to the wrong reader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wardwatch.ingest.errors import IngestError

__all__ = ["MAX_BYTES", "Json", "load_json", "looks_like", "parse_time", "read_capped"]

#: Largest SBOM / VEX file read (bytes).  Real device SBOMs are kilobytes to a few megabytes; container-image
#: SBOMs reach tens of megabytes.  Anything larger is refused before it is parsed.
MAX_BYTES = 128 * 1024 * 1024

#: Deepest nesting of components (CycloneDX) followed; real BOMs nest a handful of levels.
MAX_DEPTH = 64


def read_capped(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing files over ``max_bytes`` before reading them."""
    where = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(
                where,
                f"is {size:,} bytes, over the {max_bytes:,}-byte limit for SBOM/VEX files",
                tip="check that this is the right file, or raise max_bytes if it really is one SBOM",
            )
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as e:
        raise IngestError(where, f"cannot be read: {e.strerror or e}") from e
    if len(data) > max_bytes:  # grew while we read it
        raise IngestError(where, f"is over the {max_bytes:,}-byte limit for SBOM/VEX files")
    return data


def load_json(path: Path, data: bytes, what: str) -> Any:
    """Parse ``data`` as JSON; truncated, non-UTF-8 or absurdly nested input becomes an :class:`IngestError`."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise IngestError(str(path), f"is not UTF-8 text (byte {e.start}), so not {what}") from e
    except json.JSONDecodeError as e:
        raise IngestError(
            str(path),
            f"is not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}",
            tip="the file may be truncated or not JSON at all",
        ) from e
    except RecursionError as e:
        raise IngestError(str(path), "has JSON nested too deeply to be an SBOM (refused)") from e


def looks_like(data: bytes | Any) -> str | None:
    """A short description of what a file or parsed JSON document appears to be, or ``None`` if unknown.

    >>> looks_like({"spdxVersion": "SPDX-2.3"})
    'an SPDX 2.3 JSON document'
    >>> looks_like(b"SPDXVersion: SPDX-2.2")
    'an SPDX 2.2 tag-value document'
    """
    if isinstance(data, bytes):
        head = data[:4096].decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
        if head.startswith("<"):
            return "a CycloneDX XML BOM" if "cyclonedx.org/schema/bom" in head else "an XML document"
        match = re.search(r"^SPDXVersion:\s*SPDX-(\S+)", head, re.MULTILINE)
        if match:
            return f"an SPDX {match.group(1)} tag-value document"
        return None
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}" if not isinstance(data, list) else "a JSON array"
    if data.get("bomFormat") == "CycloneDX":
        return f"a CycloneDX {data.get('specVersion', '')} JSON BOM".replace("  ", " ")
    if isinstance(data.get("spdxVersion"), str):
        return f"an SPDX {data['spdxVersion'].removeprefix('SPDX-')} JSON document"
    context = json.dumps(data.get("@context", ""))
    if "openvex" in context:
        return "an OpenVEX document"
    if "spdx.org/rdf/3" in context:
        return "an SPDX 3 JSON-LD document"
    document = data.get("document")
    if isinstance(document, dict) and "csaf_version" in document:
        return "a CSAF advisory"
    if "vulnerabilities" in data and "resultsPerPage" in data:
        return "an NVD API response"
    return None


def parse_time(value: str, where: str, element: str) -> datetime:
    """An ISO 8601 timestamp as an aware datetime.

    SBOM and VEX specifications require UTC or an offset; a naive value is read as UTC (the specifications'
    intent) rather than as local time.  Nanosecond fractions (OpenVEX examples carry them) are cut to
    microseconds.
    """
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        raise IngestError(where, f"element {element}: {value!r} is not an ISO 8601 timestamp") from e
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Json:
    """Typed, path-naming access to one parsed JSON object of a file."""

    __slots__ = ("element", "value", "where")

    def __init__(self, value: Any, where: str, element: str) -> None:
        if not isinstance(value, dict):
            raise IngestError(where, f"element {element or 'document'} should be an object, not {_kind(value)}")
        self.value: dict[str, Any] = value
        self.where = where
        self.element = element

    def _path(self, key: str) -> str:
        return f"{self.element}.{key}" if self.element else key

    def fail(self, key: str, message: str, tip: str | None = None) -> IngestError:
        """An error about ``key`` of this object."""
        return IngestError(self.where, f"element {self._path(key)}: {message}", tip=tip)

    def text(self, key: str) -> str | None:
        """A string member; absent, null or blank means ``None``; numbers are accepted as text."""
        value = self.value.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(key, f"should be a string, not {_kind(value)}")
        text = str(value).strip()
        return text or None

    def obj(self, key: str) -> Json | None:
        """An object member, or ``None`` when absent."""
        value = self.value.get(key)
        return None if value is None else Json(value, self.where, self._path(key))

    def items(self, key: str) -> list[Any]:
        """An array member (empty when absent)."""
        value = self.value.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"should be an array, not {_kind(value)}")
        return value

    def objects(self, key: str) -> Iterator[Json]:
        """The objects of an array member, each knowing its own path (``components[3]``)."""
        for index, item in enumerate(self.items(key)):
            yield Json(item, self.where, f"{self._path(key)}[{index}]")

    def texts(self, key: str) -> tuple[str, ...]:
        """The non-blank strings of an array member."""
        values = []
        for index, item in enumerate(self.items(key)):
            if not isinstance(item, str):
                raise self.fail(f"{key}[{index}]", f"should be a string, not {_kind(item)}")
            if item.strip():
                values.append(item.strip())
        return tuple(values)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
