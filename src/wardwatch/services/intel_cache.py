"""Parsed-record cache of the stored intelligence files: each file is parsed once, at import.

Reading 250,000 NVD records back from their JSON pages costs ~0.15 ms a record (the streaming reader checks every
field); a full re-match reads them all. The stored files are content-addressed (``<kind>/<sha256>.<ext>``), so
what a file parses to never changes: its parsed form is kept next to it, in
``<home>/cache/intel-parsed/<kind>/<sha256>.<ext>.<format>.pickle``, and loaded instead of parsing (about 4x faster).

* **Invalidation.** The name carries the stored file's name (its content's sha256) and a format tag: the
  :data:`FORMAT` number plus a digest of the field names of every parsed type, so a changed domain model never
  loads an old cache. A missing, stale or unreadable cache file is simply parsed again (and rewritten).
* **Compact.** Before pickling, equal sub-records of a file (CPE criteria with their ranges, configuration nodes,
  CVSS metrics, references, CWE lists) are made one object, which pickle then writes once.
* **Trust.** :mod:`pickle` is the fastest loader of these frozen dataclasses (a hand-written tuple form rebuilt
  through the constructors is no faster); the files are written by Wardwatch into its own data folder, which
  already holds the database: whoever can write there can change the findings anyway.

Writing is atomic (temp name, then rename): concurrent readers see either no cache file or a whole one.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from wardwatch.domain import intel as model
from wardwatch.domain.intel import ConfigNode, Vulnerability

__all__ = ["FORMAT", "cache_path", "load_or_parse", "store"]

log = logging.getLogger(__name__)

#: Bumped when what is cached changes in a way the field digest cannot see.
FORMAT = 2  # 2: MDS2 forms are intelligence files too
T = TypeVar("T")


def _model_digest() -> str:
    parts = [
        f"{name}:{','.join(f.name for f in dataclasses.fields(obj))}"
        for name, obj in sorted(vars(model).items())
        if isinstance(obj, type) and dataclasses.is_dataclass(obj)
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


_TAG = f"v{FORMAT}-{_model_digest()}"


def cache_path(stored: Path) -> Path:
    """Where the parsed form of the stored file ``<home>/intel/<kind>/<name>`` is kept (outside ``intel/``)."""
    return stored.parent.parent.parent / "cache" / "intel-parsed" / stored.parent.name / f"{stored.name}.{_TAG}.pickle"


def _intern(vuln: Vulnerability, memo: dict[Any, Any]) -> Vulnerability:
    def same(value: T) -> T:
        found: T = memo.setdefault(value, value)
        return found

    def node(item: ConfigNode) -> ConfigNode:
        return same(
            dataclasses.replace(
                item,
                matches=tuple(same(m) for m in item.matches),
                children=tuple(node(c) for c in item.children),
            )
        )

    return dataclasses.replace(
        vuln,
        configurations=tuple(node(n) for n in vuln.configurations),
        cvss=tuple(same(c) for c in vuln.cvss),
        references=tuple(same(r) for r in vuln.references),
        cwes=same(vuln.cwes),
    )


def store(stored: Path, parsed: Any) -> None:
    """Write the parsed form of a stored file (its ``vulnerabilities`` interned); failures only log."""
    target = cache_path(stored)
    vulns = getattr(parsed, "vulnerabilities", None)
    if vulns:
        memo: dict[Any, Any] = {}
        parsed = dataclasses.replace(parsed, vulnerabilities=[_intern(v, memo) for v in vulns])
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp.write_bytes(pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(temp, target)
    except (OSError, pickle.PicklingError, TypeError, AttributeError) as error:
        log.warning("could not cache the parsed form of %s: %s", stored, error)
    finally:
        temp.unlink(missing_ok=True)


def _load(target: Path) -> Any | None:
    try:
        raw = target.read_bytes()
    except OSError:
        return None
    enabled = gc.isenabled()
    gc.disable()  # tens of thousands of small objects: the collector would walk them again and again
    try:
        return pickle.loads(raw)  # noqa: S301 - written by Wardwatch into its own data folder (see module doc)
    except Exception as error:  # noqa: BLE001 - any unreadable cache is parsed again
        log.warning("ignoring the unreadable parse cache %s: %s", target, error)
        return None
    finally:
        if enabled:
            gc.enable()


def load_or_parse(stored: Path, parse: Callable[[Path], T], expected: type[T]) -> T:
    """The parsed form of a stored file: from the cache when there is a valid one, else parsed (and cached)."""
    cached = _load(cache_path(stored))
    if isinstance(cached, expected):
        return cached
    parsed = parse(stored)
    store(stored, parsed)
    return parsed
