"""Which FDA recalls concern a device model: a pure, explainable match.

A recall concerns a model when **both** hold:

1. its FDA product code equals the device's (case-insensitive), and
2. the model is named: one of the recall's extracted model/catalog numbers equals the model once separators
   are dropped (``ASP-CAN-2`` = ``aspcan2``), or the model's words appear, in order and as whole words, in the
   product description (``HeartStart MRx`` in "HeartStart MRx Monitor/Defibrillator").  Models shorter than
   three letters/digits only match a model number, never the description (``X`` would match anything).

When a manufacturer is given and the recall names its firm, the firm must also contain the manufacturer's
first significant word (``Philips`` matches "Philips Medical Systems (Cleveland) Inc."), so two makers'
models with the same name in one product code do not get each other's recalls.  Without a product code
nothing matches: a model name alone is too weak evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from wardwatch.domain.intel import Recall

__all__ = ["recalls_for"]

_NON_ALNUM = re.compile(r"[^0-9A-Z]+")
_FIRM_NOISE = frozenset({"THE", "INC", "CORP", "CORPORATION", "CO", "LLC", "LTD", "GMBH", "AG", "SA", "COMPANY"})
_MIN_NAME = 3


def _words(text: str) -> list[str]:
    return [word for word in _NON_ALNUM.split(text.upper()) if word]


def _compact(text: str) -> str:
    return "".join(_words(text))


def _contains(haystack: list[str], needle: list[str]) -> bool:
    size = len(needle)
    return any(haystack[start : start + size] == needle for start in range(len(haystack) - size + 1))


def _firm_matches(manufacturer: str, firm: str) -> bool:
    significant = [word for word in _words(manufacturer) if word not in _FIRM_NOISE]
    return not significant or significant[0] in _words(firm)


def recalls_for(
    model: str, manufacturer: str | None, product_code: str | None, recalls: Iterable[Recall]
) -> list[tuple[Recall, str]]:
    """The recalls that concern ``model`` (see the module docstring), each with the reason it matched.

    >>> from wardwatch.domain.intel import Recall
    >>> recall = Recall("Z-1792-2012", "MUU", "MicroAire", "Lipofilter 3000, model ASP-CAN-2", None, None, None,
    ...                 None, model_numbers=("ASP-CAN-2",))
    >>> recalls_for("ASPCAN2", None, "muu", [recall])[0][1]
    "product code MUU; model number 'ASP-CAN-2' named by recall Z-1792-2012"
    """
    if not product_code or not product_code.strip():
        return []
    code = product_code.strip().upper()
    compact = _compact(model)
    words = _words(model)
    if not compact:
        return []
    matches: list[tuple[Recall, str]] = []
    for recall in recalls:
        if recall.product_code is None or recall.product_code.strip().upper() != code:
            continue
        if manufacturer and recall.manufacturer and not _firm_matches(manufacturer, recall.manufacturer):
            continue
        named = next((number for number in recall.model_numbers if _compact(number) == compact), None)
        if named is not None:
            reason = f"model number {named!r} named by recall {recall.recall_number}"
        elif len(compact) >= _MIN_NAME and _contains(_words(recall.product_description), words):
            reason = f"model name {model.strip()!r} in the product description of recall {recall.recall_number}"
        else:
            continue
        matches.append((recall, f"product code {code}; {reason}"))
    return matches
