"""openFDA device recalls (``/device/recall``): the API response or bulk download JSON -> :class:`Recall`.

The file is ``{"meta": ..., "results": [record, ...]}`` (plain, gzip, or the bulk download's single-file
zip) or a bare list of records.  Keys written with hyphens (the older enforcement-report extracts:
``product-description``) are read as their underscore spelling.  Per record:

================================  =========================================================================
Recall field                      openFDA
================================  =========================================================================
``recall_number``                 ``product_res_number`` (``Z-1234-2023``), else ``recall_number``, else
                                  ``Recall # Z-...`` in the description, else ``res_event_number``
``product_code``                  ``product_code`` (upper case)
``manufacturer``                  ``recalling_firm``
``product_description``           ``product_description`` (required)
``reason``                        ``reason_for_recall``
``classification``                ``classification`` (``Class II``), else ``openfda.device_class`` as
                                  ``Class 2`` (the *device* class: see the domain type's docstring)
``status``                        ``recall_status``, else ``status``
``posted``                        ``event_date_posted``, else ``event_date_initiated``, ``recall_initiation_date``
``model_numbers``                 numbers labelled "Model", "Catalog", "REF", "Part No." / "P/N" in
                                  ``product_description`` and ``code_info`` (see :func:`model_numbers`)
``k_numbers``                     ``k_numbers`` and ``openfda.k_number``
================================  =========================================================================

A record that cannot be read raises :class:`~wardwatch.ingest.errors.IngestError` naming it (``row``: its
1-based position in ``results``) and the field; no partial list is returned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from wardwatch.domain.intel import Recall
from wardwatch.ingest._bounded import GIB, read_capped
from wardwatch.ingest.errors import IngestError

__all__ = ["model_numbers", "read_recalls"]

#: The full bulk download (all device recalls since 2002) is ~0.5 GB of JSON.
MAX_BYTES = 1 * GIB
_TIP = "use the JSON of https://api.fda.gov/device/recall.json or the openFDA bulk download"

# A label that introduces a model or catalog number, then the number(s).  Conservative on purpose: a bare
# "Part" or "reference" is not enough, the value must contain a digit, and REF must be written in capitals.
_LABEL = (
    r"(?:(?i:\bmodels?|\bcatalog(?:ue)?s?|\bcat\.|\bpart)\s*(?i:nos?\.|numbers?|num\.|#)"
    r"|(?i:\bmodels?|\bcatalog(?:ue)?s?)\s*[#:]?"
    r"|(?i:\bP/N)|\bREF)"
)
_VALUE = r"(?=[A-Za-z0-9\-./]*\d)[A-Za-z0-9](?:[A-Za-z0-9\-./]*[A-Za-z0-9])?"
_LIST_VALUE = r"(?=[A-Za-z0-9\-./]*\d)[A-Za-z0-9](?:[A-Za-z0-9\-./]*[A-Za-z0-9]){2,}"  # 3+ characters
_MODEL = re.compile(
    rf"{_LABEL}\s*[:#]?\s*(?P<first>{_VALUE})(?P<rest>(?:\s*(?:,|;|/|\band\b|\bor\b|&)\s*{_LIST_VALUE})*)"
)
_SPLIT = re.compile(r"\s*(?:,|;|/|\band\b|\bor\b|&)\s*")
_DATE_LIKE = re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}$")
_RECALL_IN_TEXT = re.compile(r"Recall\s*#\s*(Z-\d{3,5}-\d{2,4})")


def model_numbers(text: str | None) -> tuple[str, ...]:
    """Model/catalog numbers a recall text names after a label, in order, without duplicates.

    >>> model_numbers("M/DN Humeral Nail. Catalog no. 00-2254-195-09. Recall # Z-1004-04.")
    ('00-2254-195-09',)
    >>> model_numbers("Brilliance iCT: Model# 728306 Brilliance iCT SP: Model# 728311.")
    ('728306', '728311')
    >>> model_numbers("Lot # 20118000, model year 2012")
    ()
    """
    if not text:
        return ()
    found: dict[str, None] = {}
    for match in _MODEL.finditer(text):
        for token in [match["first"], *_SPLIT.split(match["rest"].strip(" ,;/&"))]:
            if token and not _DATE_LIKE.match(token):
                found.setdefault(token, None)
    return tuple(found)


def read_recalls(path: Path, *, max_bytes: int = MAX_BYTES) -> list[Recall]:
    """Read an openFDA device recall file into :class:`Recall` values, in file order.

    ``max_bytes`` caps the decompressed size (the whole document is parsed at once: JSON has no streaming
    reader in the standard library, and the complete bulk file fits well under the default).
    """
    name = str(path)
    data = read_capped(path, limit=max_bytes, what="openFDA recall file")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise IngestError(name, f"is not valid JSON ({e})", tip=_TIP) from e
    if isinstance(document, Mapping):
        results = document.get("results")
        if not isinstance(results, list):
            raise IngestError(name, "has no 'results' list", column="results", tip=_TIP)
    elif isinstance(document, list):
        results = document
    else:
        raise IngestError(name, "is not an openFDA response (neither an object nor a list)", tip=_TIP)
    return [_recall(name, row, record) for row, record in enumerate(results, start=1)]


def _recall(name: str, row: int, raw: object) -> Recall:
    if not isinstance(raw, Mapping):
        raise IngestError(name, "record is not an object", row=row, tip=_TIP)
    record = {str(key).replace("-", "_"): value for key, value in raw.items()}
    openfda = record.get("openfda")
    if openfda is None:
        openfda = {}
    if not isinstance(openfda, Mapping):
        raise IngestError(name, "value is not an object", row=row, column="openfda", tip=_TIP)

    def text(key: str, source: Mapping[str, Any] = record) -> str | None:
        value = source.get(key)
        if value is None:
            return None
        if isinstance(value, list) and len(value) == 1:  # some openfda fields are one-element lists
            value = value[0]
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise IngestError(name, f"value is {type(value).__name__}, expected text", row=row, column=key, tip=_TIP)
        return str(value).strip() or None

    description = text("product_description")
    if description is None:
        raise IngestError(name, "missing or empty value", row=row, column="product_description", tip=_TIP)
    in_text = _RECALL_IN_TEXT.search(description)
    number = (
        text("product_res_number")
        or text("recall_number")
        or (in_text.group(1) if in_text else None)
        or text("res_event_number")
    )
    if number is None:
        raise IngestError(name, "record has no product_res_number, recall_number or res_event_number", row=row,
                          column="product_res_number", tip=_TIP)  # fmt: skip
    classification = text("classification")
    device_class = text("device_class", openfda)
    if classification is None and device_class is not None:
        classification = f"Class {device_class}"
    posted = None
    for key in ("event_date_posted", "event_date_initiated", "recall_initiation_date"):
        if (value := text(key)) is not None:
            posted = _date(name, row, key, value)
            break
    code = text("product_code")
    return Recall(
        recall_number=number,
        product_code=code.upper() if code else None,
        manufacturer=text("recalling_firm"),
        product_description=description,
        reason=text("reason_for_recall"),
        classification=classification,
        status=text("recall_status") or text("status"),
        posted=posted,
        model_numbers=tuple(dict.fromkeys(model_numbers(description) + model_numbers(text("code_info")))),
        k_numbers=_k_numbers(name, row, record.get("k_numbers"), openfda.get("k_number")),
    )


def _k_numbers(name: str, row: int, *values: object) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for value in values:
        items = value if isinstance(value, list) else [] if value is None else [value]
        for item in items:
            if not isinstance(item, str):
                raise IngestError(name, f"{item!r} is not a 510(k) number", row=row, column="k_numbers", tip=_TIP)
            if item.strip():
                found.setdefault(item.strip().upper(), None)
    return tuple(found)


def _date(name: str, row: int, column: str, value: str) -> date:
    for pattern in ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(value, pattern).date()  # noqa: DTZ007 - a calendar date, no time of day
        except ValueError:
            continue
    raise IngestError(name, f"{value!r} is not a date (YYYY-MM-DD)", row=row, column=column, tip=_TIP)
