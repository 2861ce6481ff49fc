"""Real NVD records and CISA KEV entries the simulated feeds carry next to the synthetic ones.

The synthetic records never use the CVE ids of the exploits the network analyses know (MS17-010, BlueKeep:
``data/network/exploits.yaml``), so the sample hospital's old Windows hosts get those findings only from real
records.  The package holds them (``data/simulate/real_nvd_records.json``: NVD API 2.0 ``cve`` objects, unmodified;
``data/simulate/real_kev_entries.json``: catalog entries as CISA publishes them; origin in ``data/NOTICE.md``).

The real ids all have a sequence number of at most 1,000, below every synthetic id (:func:`cve_years` starts the
NVD stream at 1,001 and the EPSS-only stream at 900,001), so they never collide with a simulated record.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["real_kev_entries", "real_records"]

_FOLDER = ("data", "simulate")


def _load(name: str) -> list[dict[str, Any]]:
    text = resources.files("wardwatch").joinpath(*_FOLDER, name).read_text(encoding="utf-8")
    loaded: list[dict[str, Any]] = json.loads(text)
    return loaded


@cache
def _records() -> tuple[str, ...]:
    # cached as JSON text: every caller gets fresh dicts it may change
    return tuple(json.dumps(r, separators=(",", ":")) for r in sorted(_load("real_nvd_records.json"), key=_id_key))


@cache
def _entries() -> tuple[str, ...]:
    return tuple(json.dumps(e, separators=(",", ":")) for e in _load("real_kev_entries.json"))


def _id_key(record: dict[str, Any]) -> tuple[int, int]:
    _, year, seq = str(record["id"]).split("-")
    return int(year), int(seq)


def real_records() -> list[dict[str, Any]]:
    """The packaged real NVD ``cve`` objects, in CVE id order (a fresh copy on each call)."""
    return [json.loads(r) for r in _records()]


def real_kev_entries(cve_ids: set[str] | frozenset[str]) -> list[dict[str, Any]]:
    """The packaged real KEV entries of ``cve_ids`` (ids without an entry are skipped), in CVE id order."""
    entries = [json.loads(e) for e in _entries()]
    return sorted((e for e in entries if e["cveID"] in cve_ids), key=lambda e: _id_key({"id": e["cveID"]}))
