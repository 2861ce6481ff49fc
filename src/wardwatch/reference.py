"""Reference data shipped in ``wardwatch/data``, loaded once per process.

This is the one module that reads those package data files; the domain services it builds are pure.

* ``manufacturers.json``: canonical manufacturers, aliases and IEEE OUI registrants
  (:func:`manufacturer_catalog`).
* ``fda_product_codes.csv.gz``: the FDA product classification table (:func:`fda_product_codes`), built by
  ``scripts/build_fda_table.py``; origin in ``data/NOTICE.md``.
* ``device_types.json``: the Wardwatch device-type taxonomy (:func:`device_types`,
  :func:`device_type_classifier`).

Every loader is cached with :func:`functools.cache`; the results are immutable or must be treated as such.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from functools import cache
from importlib import resources
from typing import Any

from wardwatch.domain.device_types import DeviceType, DeviceTypeClassifier, FdaProductCode
from wardwatch.domain.manufacturers import ManufacturerCatalog

__all__ = [
    "device_type_classifier",
    "device_types",
    "device_types_version",
    "fda_product_codes",
    "manufacturer_catalog",
]

_PACKAGE = "wardwatch.data"


def _read_bytes(name: str) -> bytes:
    """The bytes of one package data file."""
    return resources.files(_PACKAGE).joinpath(name).read_bytes()


def _json(name: str) -> Any:
    """One package data file parsed as JSON."""
    return json.loads(_read_bytes(name).decode("utf-8"))


@cache
def _fda_rows() -> tuple[dict[str, str], ...]:
    """The rows of ``fda_product_codes.csv.gz`` as dictionaries keyed by column name."""
    text = gzip.decompress(_read_bytes("fda_product_codes.csv.gz")).decode("utf-8")
    return tuple(csv.DictReader(io.StringIO(text)))


@cache
def _device_types_document() -> dict[str, Any]:
    """The parsed ``device_types.json`` (``version``, ``comment``, ``types``)."""
    document: dict[str, Any] = _json("device_types.json")
    return document


@cache
def manufacturer_catalog() -> ManufacturerCatalog:
    """The manufacturer catalog built from ``manufacturers.json``."""
    return ManufacturerCatalog.from_entries(_json("manufacturers.json"))


@cache
def fda_product_codes() -> dict[str, FdaProductCode]:
    """The FDA product classification table by three-letter product code (do not mutate the result)."""
    return {row.code: row for row in map(FdaProductCode.from_row, _fda_rows())}


@cache
def device_types() -> tuple[DeviceType, ...]:
    """The Wardwatch device types, in priority order (specific before generic)."""
    return device_type_classifier().types


def device_types_version() -> str:
    """The version of the device-type taxonomy, to record next to classifications made with it."""
    return str(_device_types_document()["version"])


@cache
def device_type_classifier() -> DeviceTypeClassifier:
    """The classifier built from ``device_types.json`` and the FDA table."""
    return DeviceTypeClassifier(
        types=tuple(DeviceType.from_entry(t) for t in _device_types_document()["types"]),
        fda=fda_product_codes(),
    )
