"""One hand-written YAML file read safely: size-capped, text only, parsed with PyYAML's safe loader (its C version
when available); any problem is one :class:`~wardwatch.ingest.errors.IngestError` naming the file (and the line, for
a syntax error).  The callers then check the document's fields and bound the entries they visit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from wardwatch.ingest._bounded import read_capped
from wardwatch.ingest.errors import IngestError

__all__ = ["read_yaml_document"]


def read_yaml_document(path: Path, *, limit: int, what: str, tip: str) -> Any:
    """The parsed YAML document of ``path`` (at most ``limit`` bytes); ``tip`` says where the format is described."""
    raw = read_capped(path, limit=limit, what=what)
    if b"\x00" in raw:
        raise IngestError(str(path), "is not a text file (it contains NUL bytes)", tip=tip)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise IngestError(str(path), f"is not UTF-8 text (byte {e.start})", tip="save it as UTF-8") from e
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506  # CSafeLoader/SafeLoader are safe_load's loaders
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise IngestError(str(path), f"is not valid YAML ({e.problem})", row=line, tip=tip) from e
    except (yaml.YAMLError, RecursionError) as e:
        raise IngestError(str(path), f"is not valid YAML ({type(e).__name__})", tip=tip) from e
