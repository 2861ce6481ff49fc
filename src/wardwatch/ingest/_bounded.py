"""Size-bounded file access for the intelligence readers (KEV, EPSS, openFDA, MDS2).

Feed files come from the internet or from a user's download folder, so a reader must survive hostile ones:
huge files, truncated or corrupt gzip streams, and compression bombs.  These helpers open a file (plain or
gzip, detected by its magic bytes, whatever its name) and never hold more than ``limit`` decompressed bytes;
going over raises :class:`~wardwatch.ingest.errors.IngestError`.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from wardwatch.ingest.errors import IngestError

__all__ = ["GIB", "MIB", "is_gzip", "open_binary", "read_capped"]

MIB = 1 << 20
GIB = 1 << 30
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20


def _size_text(limit: int) -> str:
    return f"{limit / GIB:g} GiB" if limit >= GIB else f"{limit / MIB:g} MiB"


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes."""
    with path.open("rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def open_binary(path: Path) -> BinaryIO:
    """Open ``path`` for reading bytes, transparently decompressing gzip; raises IngestError if unreadable."""
    try:
        if is_gzip(path):
            return gzip.open(path, "rb")  # type: ignore[return-value]  # GzipFile is a BinaryIO in practice
        return path.open("rb")
    except OSError as e:
        raise IngestError(str(path), f"cannot be opened ({e.strerror or e})", tip="check the path") from e


def read_capped(path: Path, *, limit: int, what: str) -> bytes:
    """Read the whole (decompressed) content of a plain, gzip or single-member zip file, at most ``limit`` bytes.

    ``what`` names the expected content in error tips (``a KEV catalog``).  A zip member's declared size is
    trusted as a bound: :mod:`zipfile` never yields more bytes than a member declares.
    """
    name = str(path)
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as e:
        raise IngestError(name, f"cannot be opened ({e.strerror or e})", tip="check the path") from e
    too_big = IngestError(name, f"expands to more than {_size_text(limit)}", tip=f"this is not a plausible {what}")
    if magic.startswith(_GZIP_MAGIC):
        return _read_gzip(path, limit, too_big)
    if magic == _ZIP_MAGIC:
        return _read_zip(path, limit, too_big, what)
    if path.stat().st_size > limit:
        raise too_big
    return path.read_bytes()


def _read_gzip(path: Path, limit: int, too_big: IngestError) -> bytes:
    parts: list[bytes] = []
    total = 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise too_big
                parts.append(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise IngestError(str(path), f"is a truncated or corrupt gzip file ({e})", tip="download it again") from e
    return b"".join(parts)


def _read_zip(path: Path, limit: int, too_big: IngestError, what: str) -> bytes:
    name = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) != 1:
                raise IngestError(name, f"is a zip archive with {len(members)} files, expected one",
                                  tip=f"extract {what} from it first")  # fmt: skip
            if members[0].file_size > limit:
                raise too_big
            return archive.read(members[0])
    except (zipfile.BadZipFile, EOFError, zlib.error) as e:
        raise IngestError(name, f"is a damaged zip archive ({e})", tip="download it again") from e
